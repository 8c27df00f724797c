"""Oracle for the CLIP towers (spec sections 3, 4.1, 4.4), written as plain tensor math in fp32.

Builds a CLIP model of the given shape with random weights (or runs an existing engine file given by --weights,
e.g. a converted checkpoint) and writes two files:
  * the weights, under the engine's tensor names (OpenAI CLIP state_dict names, see ClipTensorNames.cs) with the
    ClipConfig JSON in the metadata, next to --out as clip_weights.safetensors;
  * --out: the inputs and named intermediates, with metadata "weights" = the weights file's path:
      in.images [B,3,S,S]            out.tap.{l} [B,grid^2,W] (raw residual after 1-based block l, CLS dropped)
      out.global [B,E]               (ln_post(CLS after the last block) @ visual.proj)
      in.ids [n,77] int64            out.text [n,E]           (token-id prompts, EOT = argmax of the ids)
      in.splice_ids [77] int64       in.inject [m,J,Wt]       out.text_spliced [m,E] (spec 4.4 splice)
The text tower always runs the whole context (77): the engine's EOT truncation must reproduce that.
Attention is written out by hand; for widths <= 256, block 0 of the image tower is also checked against
torch.nn modules (nn.MultiheadAttention etc.) so that the hand-written math is known to be CLIP's.
"""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--image", type=int, default=28)
p.add_argument("--patch", type=int, default=14)
p.add_argument("--width", type=int, default=64)
p.add_argument("--layers", type=int, default=2)
p.add_argument("--heads", type=int, default=2)
p.add_argument("--text-width", type=int, default=64)
p.add_argument("--text-layers", type=int, default=2)
p.add_argument("--text-heads", type=int, default=2)
p.add_argument("--vocab", type=int, default=500)
p.add_argument("--context", type=int, default=77)
p.add_argument("--embed", type=int, default=32)
p.add_argument("--gelu", choices=["erf", "quick"], default="erf")
p.add_argument("--taps", default="1,2", help="1-based block indices, comma separated")
p.add_argument("--batch", type=int, default=1)
p.add_argument("--prompts", type=int, default=0, help="token-id prompts")
p.add_argument("--long-prompt", action="store_true", help="make the last token-id prompt fill the context (EOT at the end)")
p.add_argument("--spliced", type=int, default=0, help="spliced prompts sharing one class name")
p.add_argument("--inject-len", type=int, default=10, help="J = P+Q vectors replacing the X token")
p.add_argument("--name-len", type=int, default=3, help="class-name tokens in the spliced prompt")
p.add_argument("--weights", help="run an existing engine file (e.g. a converted checkpoint) instead of random weights; "
               "its config replaces the shape flags")
p.add_argument("--plain-matmul", action="store_true", help="use torch's own matmul instead of oneDNN")
a = p.parse_args()
torch.manual_seed(a.seed)
torch.set_grad_enabled(False)

if a.weights:
    loaded_w, loaded_meta = st.load(a.weights)
    cfg = json.loads(loaded_meta["bayespfl.clip_config"])
    vc, tc = cfg["vision"], cfg["text"]
    a.image, a.patch, a.width, a.layers, a.heads = vc["image_size"], vc["patch"], vc["width"], vc["layers"], vc["heads"]
    a.text_width, a.text_layers, a.text_heads = tc["width"], tc["layers"], tc["heads"]
    a.embed, a.vocab, a.context, a.gelu = cfg["embed_dim"], tc["vocab_size"], tc["context_length"], cfg["gelu"]
W, L, H, Wt, Lt, Ht, E, V, CTX = a.width, a.layers, a.heads, a.text_width, a.text_layers, a.text_heads, a.embed, a.vocab, a.context
grid = a.image // a.patch
N = grid * grid + 1
taps = [int(t) for t in a.taps.split(",") if t]


def gelu(x):
    return x * torch.sigmoid(1.702 * x) if a.gelu == "quick" else 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * w + b


# Debian's torch links the reference BLAS (~1 GFLOP/s), too slow for ViT-L (~1 TFLOP per image); oneDNN's
# fp32 GEMM is ~20x faster and still plain fp32 (only the summation order differs). --plain-matmul turns it off.
FAST = torch.backends.mkldnn.is_available() and not a.plain_matmul


def mm_t(x, w):
    """x[..., K] @ w[N, K]^T."""
    if not FAST:
        return x @ w.t()
    y = torch._C._nn.mkldnn_linear(x.reshape(-1, x.shape[-1]).contiguous().to_mkldnn(), w.contiguous().to_mkldnn(), None)
    return y.to_dense().reshape(*x.shape[:-1], w.shape[0])


def linear(x, w, b=None):
    y = mm_t(x, w)
    return y if b is None else y + b


def attention(x, wqkv, bqkv, wo, bo, heads, causal):
    B, T, C = x.shape
    D = C // heads
    q, k, v = linear(x, wqkv, bqkv).split(C, dim=-1)
    q, k, v = (t.reshape(B, T, heads, D).transpose(1, 2) for t in (q, k, v))   # [B,H,T,D]
    mask = torch.full((T, T), float("-inf")).triu(1) if causal else torch.zeros(T, T)
    o = torch.empty(B, heads, T, D, dtype=x.dtype)   # x.dtype: text_backward.py runs this in float64
    for b in range(B):
        for h in range(heads):
            s = mm_t(q[b, h], k[b, h]) / math.sqrt(D) + mask               # softmax(q k^T / sqrt(D)) v
            o[b, h] = mm_t(s.softmax(-1), v[b, h].t())
    return linear(o.transpose(1, 2).reshape(B, T, C), wo, bo)


def block(x, w, pre, heads, causal):
    g = lambda n: w[pre + n]
    x = x + attention(layer_norm(x, g("ln_1.weight"), g("ln_1.bias")), g("attn.in_proj_weight"), g("attn.in_proj_bias"),
                      g("attn.out_proj.weight"), g("attn.out_proj.bias"), heads, causal)
    h = gelu(linear(layer_norm(x, g("ln_2.weight"), g("ln_2.bias")), g("mlp.c_fc.weight"), g("mlp.c_fc.bias")))
    return x + linear(h, g("mlp.c_proj.weight"), g("mlp.c_proj.bias"))


def block_with_torch_modules(x, w, pre, heads):
    """The same block built from torch.nn (CLIP's own construction), for the self-check."""
    C = x.shape[-1]
    mha = torch.nn.MultiheadAttention(C, heads, batch_first=True)
    mha.in_proj_weight.copy_(w[pre + "attn.in_proj_weight"])
    mha.in_proj_bias.copy_(w[pre + "attn.in_proj_bias"])
    mha.out_proj.weight.copy_(w[pre + "attn.out_proj.weight"])
    mha.out_proj.bias.copy_(w[pre + "attn.out_proj.bias"])
    ln1 = torch.nn.LayerNorm(C)
    ln1.weight.copy_(w[pre + "ln_1.weight"]); ln1.bias.copy_(w[pre + "ln_1.bias"])
    ln2 = torch.nn.LayerNorm(C)
    ln2.weight.copy_(w[pre + "ln_2.weight"]); ln2.bias.copy_(w[pre + "ln_2.bias"])
    act = (lambda t: t * torch.sigmoid(1.702 * t)) if a.gelu == "quick" else torch.nn.GELU()
    h = ln1(x)
    x = x + mha(h, h, h, need_weights=False)[0]
    h = act(F.linear(ln2(x), w[pre + "mlp.c_fc.weight"], w[pre + "mlp.c_fc.bias"]))
    return x + F.linear(h, w[pre + "mlp.c_proj.weight"], w[pre + "mlp.c_proj.bias"])


def rand(*shape, scale=1.0):
    return torch.randn(*shape) * scale


def add_block(w, pre, C):
    F4 = 4 * C
    w[pre + "ln_1.weight"] = 1 + rand(C, scale=0.1)
    w[pre + "ln_1.bias"] = rand(C, scale=0.1)
    w[pre + "attn.in_proj_weight"] = rand(3 * C, C, scale=C ** -0.5)
    w[pre + "attn.in_proj_bias"] = rand(3 * C, scale=0.1)
    w[pre + "attn.out_proj.weight"] = rand(C, C, scale=C ** -0.5)
    w[pre + "attn.out_proj.bias"] = rand(C, scale=0.1)
    w[pre + "ln_2.weight"] = 1 + rand(C, scale=0.1)
    w[pre + "ln_2.bias"] = rand(C, scale=0.1)
    w[pre + "mlp.c_fc.weight"] = rand(F4, C, scale=C ** -0.5)
    w[pre + "mlp.c_fc.bias"] = rand(F4, scale=0.1)
    w[pre + "mlp.c_proj.weight"] = rand(C, F4, scale=F4 ** -0.5)
    w[pre + "mlp.c_proj.bias"] = rand(C, scale=0.1)


# ---- weights, in ClipTensorNames order ----
w = {}
w["visual.conv1.weight"] = rand(W, 3, a.patch, a.patch, scale=(3 * a.patch * a.patch) ** -0.5)
w["visual.class_embedding"] = rand(W, scale=0.5)
w["visual.positional_embedding"] = rand(N, W, scale=0.5)
w["visual.ln_pre.weight"] = 1 + rand(W, scale=0.1)
w["visual.ln_pre.bias"] = rand(W, scale=0.1)
for l in range(L):
    add_block(w, f"visual.transformer.resblocks.{l}.", W)
w["visual.ln_post.weight"] = 1 + rand(W, scale=0.1)
w["visual.ln_post.bias"] = rand(W, scale=0.1)
w["visual.proj"] = rand(W, E, scale=W ** -0.5)
w["token_embedding.weight"] = rand(V, Wt, scale=0.5)
w["positional_embedding"] = rand(CTX, Wt, scale=0.2)
for l in range(Lt):
    add_block(w, f"transformer.resblocks.{l}.", Wt)
w["ln_final.weight"] = 1 + rand(Wt, scale=0.1)
w["ln_final.bias"] = rand(Wt, scale=0.1)
w["text_projection"] = rand(Wt, E, scale=Wt ** -0.5)

# The JSON keys are ClipConfig's snake_case names; the C# test compares the parsed config with its own.
config = {
    "vision": {"image_size": a.image, "patch": a.patch, "width": W, "layers": L, "heads": H, "mlp_width": 4 * W},
    "text": {"context_length": CTX, "vocab_size": V, "width": Wt, "layers": Lt, "heads": Ht, "mlp_width": 4 * Wt},
    "embed_dim": E,
    "gelu": a.gelu,
}
if a.weights:
    w = {k: v.float() for k, v in loaded_w.items()}
    weights_path = os.path.abspath(a.weights)
else:
    weights_path = os.path.join(os.path.dirname(os.path.abspath(a.out)), "clip_weights.safetensors")
    st.save(weights_path, w, {"bayespfl.format": "bayespfl-clip/1", "bayespfl.clip_config": json.dumps(config)})

out = {}

# ---- image tower (spec 3) ----
B = a.batch
images = torch.randn(B, 3, a.image, a.image)
out["in.images"] = images
x = F.conv2d(images, w["visual.conv1.weight"], stride=a.patch)          # [B,W,grid,grid]
x = x.reshape(B, W, grid * grid).transpose(1, 2)                          # row-major patch order
x = torch.cat([w["visual.class_embedding"].expand(B, 1, W), x], dim=1) + w["visual.positional_embedding"]
x = layer_norm(x, w["visual.ln_pre.weight"], w["visual.ln_pre.bias"])
for l in range(L):
    pre = f"visual.transformer.resblocks.{l}."
    y = block(x, w, pre, H, causal=False)
    if l == 0 and W <= 256:   # torch.nn runs on the slow BLAS: check the small configs only
        ref = block_with_torch_modules(x, w, pre, H)
        err = (y - ref).abs().max().item()
        assert err < 1e-4 * max(1.0, ref.abs().max().item()), f"hand-written block differs from torch.nn by {err}"
    x = y
    if l + 1 in taps:
        out[f"out.tap.{l + 1}"] = x[:, 1:, :]
out["out.global"] = layer_norm(x[:, 0, :], w["visual.ln_post.weight"], w["visual.ln_post.bias"]) @ w["visual.proj"]


# ---- text tower (spec 4.1): always the full context ----
def text_features(seq, eot):
    x = seq + w["positional_embedding"]
    for l in range(Lt):
        x = block(x, w, f"transformer.resblocks.{l}.", Ht, causal=True)
    x = layer_norm(x, w["ln_final.weight"], w["ln_final.bias"])
    return x[torch.arange(x.shape[0]), eot] @ w["text_projection"]


SOT, EOT = V - 2, V - 1   # as in CLIP, EOT is the largest id, so argmax finds it


def prompt(body):
    ids = torch.zeros(CTX, dtype=torch.int64)
    ids[0] = SOT
    ids[1:1 + len(body)] = body
    ids[1 + len(body)] = EOT
    return ids


if a.prompts > 0:
    lengths = [int(torch.randint(0, min(12, CTX - 2) + 1, ()).item()) for _ in range(a.prompts)]
    if a.long_prompt:
        lengths[-1] = CTX - 2
    ids = torch.stack([prompt(torch.randint(1, V - 2, (n,))) for n in lengths])
    out["in.ids"] = ids
    out["out.text"] = text_features(w["token_embedding.weight"][ids], ids.argmax(-1))

if a.spliced > 0:
    J = a.inject_len
    ids = prompt(torch.randint(1, V - 2, (1 + a.name_len,)))             # "SOS X name... EOT"
    inject = rand(a.spliced, J, Wt, scale=0.5)
    emb = w["token_embedding.weight"][ids]
    seq = torch.cat([emb[0:1].expand(a.spliced, 1, Wt), inject, emb[2:CTX - J + 1].expand(a.spliced, CTX - J - 1, Wt)], dim=1)
    assert seq.shape[1] == CTX
    out["in.splice_ids"] = ids
    out["in.inject"] = inject
    out["out.text_spliced"] = text_features(seq, torch.full((a.spliced,), int(ids.argmax()) + J - 1))

st.save(a.out, out, {"weights": weights_path, "config": json.dumps(config)})

"""End-to-end oracle for AnomalyDetector (spec 0, 15): a tiny CLIP (clip_towers.py's builder) and the full-size
768-d head (bayes_head.py's builder) run the whole test-time pipeline on real image files with injected noise.

Both builders are imported as modules (their argv is set first), so the weights files they write are the ones
the engine loads. CLIP runs in fp32 with clip_towers.py's own math (vision, spliced text over the whole 77-token
context); the head runs in float64 as in bayes_head.py. Preprocessing is PIL's bicubic resize + CLIP mean/std.
Output (--out), per image i: {i}.g [1,E], {i}.taps [L,P,W], {i}.prompt_blocks [60,10,C], {i}.text [60,C]
(L2-normalised), {i}.p_img [1,1], {i}.map [S,S], {i}.s_map [1]; eps [n,3,R,C] (the injected noise, image
order; the state part of images after the first is unused: the state samples are cached, spec 5.5).
Metadata: clip (CLIP engine file), head (head file), topk (k of s_map). The inputs are stored too, so that
`bayespfl validate` can rerun the pipeline from the dump alone: in.images [n,3,S,S] (preprocessed), in.splice_ids [77].

--checkpoint-only: only build the head and torch.save it as the released checkpoints are stored (spec 12.1): a
dict {'MyModel': state_dict} of a module whose shared encoders/decoders are registered under several attribute
paths (PFL_context.encoder is context_encoder, PFL_normal.encoder and PFL_abnormal.encoder are state_encoder, ...),
so the state_dict lists aliases and the archive stores each storage once. Metadata: checkpoint (the .pth), head.

--spread-seeds K (seed-spread statistics): additionally, for K noise seeds (torch.manual_seed(seed + 1000 + k)),
redraw the first image's noise with torch.randn(3, R, C) (context, normal, abnormal: one image's slice of eps)
and rerun it with fresh image-agnostic samples; adds spread.maps [K,S,S] and spread.p_img [K].
"""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--checkpoint-only", action="store_true")
p.add_argument("--images", required=not any(x == "--checkpoint-only" for x in sys.argv), help="comma-separated image files")
p.add_argument("--ids", default="", help="the 77 token ids of 'X <name>', comma separated")
p.add_argument("--topk", type=int, default=20)
p.add_argument("--image", type=int, default=56)
p.add_argument("--patch", type=int, default=14)
p.add_argument("--width", type=int, default=64)
p.add_argument("--layers", type=int, default=4)
p.add_argument("--spread-seeds", type=int, default=0, help="K noise seeds for the first image's spread (0: off)")
a = p.parse_args()
out_dir = os.path.dirname(os.path.abspath(a.out))
torch.set_grad_enabled(False)


def save_checkpoint(weights, path):
    root = torch.nn.Module()
    for name, t in weights.items():
        m = root
        *parents, leaf = name.split(".")
        for part in parents:
            if not hasattr(m, part):
                m.add_module(part, torch.nn.Module())
            m = getattr(m, part)
        m.register_parameter(leaf, torch.nn.Parameter(t.clone(), requires_grad=False))
    for flow, enc, dec in (("PFL_context", "context_encoder", "context_decoder"), ("PFL_normal", "state_encoder", "state_decoder"),
                           ("PFL_abnormal", "state_encoder", "state_decoder")):
        getattr(root, flow).add_module("encoder", getattr(root, enc))
        getattr(root, flow).add_module("decoder", getattr(root, dec))
    torch.save({"MyModel": root.state_dict()}, path)


if a.checkpoint_only:
    sys.argv = ["bayes_head.py", "--out", os.path.join(out_dir, "head.safetensors"), "--seed", str(a.seed), "--vision-width", str(a.width)]
    import bayes_head as bh  # noqa: E402
    pth = os.path.join(out_dir, "train_head.pth")
    save_checkpoint(bh.W, pth)
    st.save(a.out, {"unused": torch.zeros(1)}, {"checkpoint": pth, "head": os.path.join(out_dir, "head.weights.safetensors")})
    sys.exit(0)

sys.argv = ["clip_towers.py", "--out", os.path.join(out_dir, "clip_debug.safetensors"), "--seed", str(a.seed),
            "--image", str(a.image), "--patch", str(a.patch), "--width", str(a.width), "--layers", str(a.layers), "--heads", "2",
            "--text-width", "768", "--text-layers", "1", "--text-heads", "4", "--vocab", "49408", "--embed", "768",
            "--taps", ",".join(str(j * a.layers // 4) for j in range(1, 5))]
import clip_towers as ct  # noqa: E402

grid = a.image // a.patch
sys.argv = ["bayes_head.py", "--out", os.path.join(out_dir, "head.safetensors"), "--seed", str(a.seed + 1),
            "--vision-width", str(a.width), "--grid", str(grid), "--side", str(a.image)]
import bayes_head as bh  # noqa: E402

torch.manual_seed(a.seed + 2)
w, d, C, R, B, K, M = ct.w, bh.d, bh.C, bh.R, bh.B, bh.K, bh.M
taps_at = [j * a.layers // 4 for j in range(1, 5)]
MEAN, STD = torch.tensor([0.48145466, 0.4578275, 0.40821073]), torch.tensor([0.26862954, 0.26130258, 0.27577711])


def preprocess(path):
    img = Image.open(path).convert("RGB").resize((a.image, a.image), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0)
    return ((x - MEAN) / STD).permute(2, 0, 1)[None].contiguous()


def vision(images):
    W = a.width
    x = F.conv2d(images, w["visual.conv1.weight"], stride=a.patch).reshape(1, W, grid * grid).transpose(1, 2)
    x = torch.cat([w["visual.class_embedding"].expand(1, 1, W), x], dim=1) + w["visual.positional_embedding"]
    x = ct.layer_norm(x, w["visual.ln_pre.weight"], w["visual.ln_pre.bias"])
    taps = []
    for l in range(a.layers):
        x = ct.block(x, w, f"visual.transformer.resblocks.{l}.", 2, causal=False)
        if l + 1 in taps_at:
            taps.append(x[0, 1:, :])
    g = ct.layer_norm(x[:, 0, :], w["visual.ln_post.weight"], w["visual.ln_post.bias"]) @ w["visual.proj"]
    return g, torch.stack(taps)


def amortised(g64, n):
    return g64 @ d(f"PFL_context.{n}.weight").T + d(f"PFL_context.{n}.bias")


def head_scores(g64, taps64, text64):
    """bayes_head.py's image branch and pixel branch, for one image."""
    X = torch.cat(list(taps64), dim=-1)
    Hf = X @ d("fuse.fuse_modules.weight").T + d("fuse.fuse_modules.bias")
    att = torch.softmax((Hf @ d("fuse.compress.weight").T + d("fuse.compress.bias"))[:, 0], dim=0)
    fuse = (att @ Hf)[None] @ d("fuse.post_process.weight").T + d("fuse.post_process.bias")
    tc = F.normalize(text64 @ d("class_mapping.weight").T + d("class_mapping.bias"), dim=-1)
    vimg = F.normalize((g64 + fuse) @ d("image_mapping.weight").T + d("image_mapping.bias"), dim=-1)
    logits = torch.exp(d("temperature_image")) * (vimg @ tc.T)
    p_img = torch.sigmoid(logits[0, M:] - logits[0, :M]).mean().view(1, 1)
    q = text64 @ d("RCA.q_proj_pre.weight")[:, :, 0].T + d("RCA.q_proj_pre.bias")
    hd, up = C // 4, []
    for j in range(4):
        keys = F.normalize(taps64[j] @ d(f"RCA.linear_proj.{j}.weight").T, dim=-1)
        heads = [torch.softmax(q[:, h * hd:(h + 1) * hd] @ keys[:, h * hd:(h + 1) * hd].T * C ** -0.5, dim=-1) @ keys[:, h * hd:(h + 1) * hd]
                 for h in range(4)]
        tp = F.normalize(torch.cat(heads, -1) + text64, dim=-1)
        s = (keys @ tp.T).T.reshape(2 * M, grid, grid)
        big = F.interpolate((torch.exp(d("temperature_pixel")) * s)[None], size=(a.image, a.image), mode="bilinear", align_corners=True)[0]
        up.append(torch.sigmoid(big[M:] - big[:M]).sum(0))
    return p_img, torch.stack(up).sum(0) / (4 * M)


ids = torch.tensor([int(t) for t in a.ids.split(",")], dtype=torch.int64)
assert ids.numel() == 77
J, CTX = 2 * bh.S, 77
eot = int(ids.argmax()) + J - 1
emb = w["token_embedding.weight"][ids]
paths = a.images.split(",")
eps = torch.randn(len(paths), 3, R, C)
out, states = {"eps": eps, "in.splice_ids": ids}, None
inputs = []


def state_samples(e64):
    return [bh.distribution(d(f"{s}.state"), "state_encoder", d(f"{s}.amor_u").view(K, C), d(f"{s}.amor_w").view(K, C),
                            d(f"{s}.amor_b").view(K), e64[k])["zK"] for k, s in ((1, "PFL_normal"), (2, "PFL_abnormal"))]


def run_image(g, taps, e64, states):
    g64 = g.double()
    ctx = bh.distribution(g64, "context_encoder", amortised(g64, "amor_u").view(K, C), amortised(g64, "amor_w").view(K, C),
                          amortised(g64, "amor_b").view(K), e64[0])["zK"]
    blocks = torch.stack([torch.cat([d("prompt_context")[b] + ctx[r], d(name)[b] + zs[r]], 0)
                          for name, zs in (("prompt_state_normal", states[0]), ("prompt_state_abnormal", states[1]))
                          for r in range(R) for b in range(B)])
    inject = blocks.float()
    seq = torch.cat([emb[0:1].expand(2 * M, 1, C), inject, emb[2:CTX - J + 1].expand(2 * M, CTX - J - 1, C)], dim=1)
    text = F.normalize(ct.text_features(seq, torch.full((2 * M,), eot)), dim=-1)
    p_img, amap = head_scores(g64, taps.double(), text.double())
    return blocks, text, p_img, amap


for i, path in enumerate(paths):
    inputs.append(preprocess(path))
    g, taps = vision(inputs[-1])
    e64 = eps[i].double()
    if states is None:   # image-agnostic samples: drawn at the first image, then cached
        states = state_samples(e64)
    blocks, text, p_img, amap = run_image(g, taps, e64, states)
    out.update({f"{i}.g": g, f"{i}.taps": taps, f"{i}.prompt_blocks": blocks, f"{i}.text": text, f"{i}.p_img": p_img, f"{i}.map": amap,
                f"{i}.s_map": amap.flatten().topk(min(a.topk, amap.numel())).values.mean().view(1)})
out["in.images"] = torch.cat(inputs)
if a.spread_seeds > 0:
    g, taps = vision(preprocess(paths[0]))
    maps, probs = [], []
    for k in range(a.spread_seeds):
        torch.manual_seed(a.seed + 1000 + k)
        e64 = torch.randn(3, R, C).double()
        _, _, p_img, amap = run_image(g, taps, e64, state_samples(e64))
        maps.append(amap)
        probs.append(p_img.view(()))
    out.update({"spread.maps": torch.stack(maps), "spread.p_img": torch.stack(probs)})
st.save(a.out, out, {"clip": os.path.join(out_dir, "clip_weights.safetensors"), "head": os.path.join(out_dir, "head.weights.safetensors"),
                     "topk": str(a.topk)})

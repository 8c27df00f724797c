"""Oracle for the Bayes-PFL head (spec 5, 6, 7): prompt flows, prompt blocks, image branch, RCA, similarity maps.

Random weights under the checkpoint names and shapes of spec 12.1 (plus a few dead decoder/p_mu tensors the
loader must skip) go to OUT with the suffix .weights.safetensors; OUT itself holds the inputs (g, taps, text,
eps), the injected noise and every named intermediate, computed in float64 from the float32 values stored.
The vision side is shrunk (--vision-width, --grid) while the head keeps its real widths; random unit vectors
stand in for the CLIP text outputs T (normal half first, index r*B + b).

Init scales keep every stage in its working range rather than copying PyTorch's inits: flow w vectors are
O(1/sqrt(C)) so that w.z = O(1) and the tanh is neither saturated nor linear.
"""
import argparse
import math

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--embed", type=int, default=768)
p.add_argument("--hidden", type=int, default=512)
p.add_argument("--fuse-hidden", type=int, default=512)
p.add_argument("--vision-width", type=int, default=64)
p.add_argument("--grid", type=int, default=5)
p.add_argument("--side", type=int, default=33)
p.add_argument("--bank", type=int, default=3)
p.add_argument("--tokens", type=int, default=5)
p.add_argument("--samples", type=int, default=10)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--taps", type=int, default=4)
p.add_argument("--heads", type=int, default=4)
a = p.parse_args()
torch.manual_seed(a.seed)
C, H, K, R, B, S = a.embed, a.hidden, a.steps, a.samples, a.bank, a.tokens
P, Cv, L, M = a.grid * a.grid, a.vision_width, a.taps, a.bank * a.samples


def lin(out, inp, scale=1.0):
    bound = scale / math.sqrt(inp)
    return (torch.rand(out, inp) * 2 - 1) * bound, (torch.rand(out) * 2 - 1) * bound


W = {}
for n, shape in (("prompt_context", (B, S, C)), ("prompt_state_normal", (B, S, C)), ("prompt_state_abnormal", (B, S, C))):
    W[n] = torch.randn(*shape) * 0.02
W["temperature_pixel"] = torch.tensor(math.log(1 / 0.07))
W["temperature_image"] = torch.tensor(math.log(1 / 0.07)) + 0.1
for enc in ("context_encoder", "state_encoder", "context_decoder", "state_decoder"):
    for head in ("weight_mean", "weight_log_variance"):
        if enc.endswith("decoder") and head != "weight_mean":
            continue
        for i, (o, n) in (("0", (H, C)), ("2", (H, H)), ("4", (C, H))):
            W[f"{enc}.{head}.module.{i}.weight"], W[f"{enc}.{head}.module.{i}.bias"] = lin(o, n)
W["PFL_context.amor_u.weight"], W["PFL_context.amor_u.bias"] = lin(K * C, C, 0.5)
W["PFL_context.amor_w.weight"], W["PFL_context.amor_w.bias"] = lin(K * C, C, 1 / math.sqrt(C))
W["PFL_context.amor_b.weight"], W["PFL_context.amor_b.bias"] = lin(K, C)
W["PFL_context.p_mu.0.weight"], W["PFL_context.p_mu.0.bias"] = lin(C, C)
for s in ("PFL_normal", "PFL_abnormal"):
    W[f"{s}.amor_u"] = torch.randn(1, K, C, 1) * 0.3
    W[f"{s}.amor_w"] = torch.randn(1, K, 1, C) / math.sqrt(C)
    W[f"{s}.amor_b"] = torch.randn(1, K, 1, 1)
    W[f"{s}.state"] = torch.randn(1, C)
    W[f"{s}.p_mu.0.weight"], W[f"{s}.p_mu.0.bias"] = lin(C, C)
W["fuse.fuse_modules.weight"], W["fuse.fuse_modules.bias"] = lin(a.fuse_hidden, L * Cv)
W["fuse.compress.weight"], W["fuse.compress.bias"] = lin(1, a.fuse_hidden)
W["fuse.post_process.weight"], W["fuse.post_process.bias"] = lin(C, a.fuse_hidden)
wq, W["RCA.q_proj_pre.bias"] = lin(C, C)
W["RCA.q_proj_pre.weight"] = wq[:, :, None]
for j in range(L):
    W[f"RCA.linear_proj.{j}.weight"] = lin(C, Cv)[0]
for m in ("class_mapping", "image_mapping"):
    W[f"{m}.weight"], W[f"{m}.bias"] = lin(C, C)
st.save(a.out[: -len(".safetensors")] + ".weights.safetensors" if a.out.endswith(".safetensors") else a.out + ".weights", W)

g = torch.randn(1, C) * 0.5
taps = torch.randn(L, P, Cv)
text = F.normalize(torch.randn(2 * M, C), dim=-1)
eps = torch.randn(3, R, C)

D = {k: v.double() for k, v in W.items()}
d = lambda n: D[n]  # noqa: E731


def mlp(x, prefix):
    x = F.softplus(x @ d(f"{prefix}.module.0.weight").T + d(f"{prefix}.module.0.bias"))
    x = F.softplus(x @ d(f"{prefix}.module.2.weight").T + d(f"{prefix}.module.2.bias"))
    return x @ d(f"{prefix}.module.4.weight").T + d(f"{prefix}.module.4.bias")


def distribution(x, enc, u, w, b, e):
    mu, v = mlp(x, f"{enc}.weight_mean"), torch.exp(0.5 * mlp(x, f"{enc}.weight_log_variance"))
    z0 = mu + torch.sqrt(v) * e
    z, logdet, pre = z0.clone(), torch.zeros(R, dtype=torch.float64), []
    for k in range(K):
        act = z @ w[k] + b[k]
        t = torch.tanh(act)
        z = z + u[k][None] * t[:, None]
        logdet = logdet + torch.log(torch.abs(1 + (1 - t * t) * (w[k] @ u[k])) + 1e-5)
        pre.append(act)
    return {"mu": mu, "v": v, "z0": z0, "zK": z, "logdet": logdet, "a": torch.stack(pre, 1)}


out = {"g": g, "taps": taps, "text": text, "eps": eps}
g64, taps64, text64, eps64 = g.double(), taps.double(), text.double(), eps.double()
amor = lambda n: g64 @ d(f"PFL_context.{n}.weight").T + d(f"PFL_context.{n}.bias")  # noqa: E731
dists = {"context": distribution(g64, "context_encoder", amor("amor_u").view(K, C), amor("amor_w").view(K, C), amor("amor_b").view(K), eps64[0])}
for i, s in ((1, "PFL_normal"), (2, "PFL_abnormal")):
    dists[s] = distribution(d(f"{s}.state"), "state_encoder", d(f"{s}.amor_u").view(K, C), d(f"{s}.amor_w").view(K, C),
                            d(f"{s}.amor_b").view(K), eps64[i])
for name, t in dists.items():
    for k, v in t.items():
        out[f"{name}.{k}"] = v

# Prompt blocks: index half*B*R + r*B + b, normal half first.
blocks = []
for st_name, zs in (("prompt_state_normal", dists["PFL_normal"]["zK"]), ("prompt_state_abnormal", dists["PFL_abnormal"]["zK"])):
    for r in range(R):
        for b in range(B):
            blocks.append(torch.cat([d("prompt_context")[b] + dists["context"]["zK"][r], d(st_name)[b] + zs[r]], 0))
out["prompt_blocks"] = torch.stack(blocks)

# Image branch (stage 2).
X = torch.cat(list(taps64), dim=-1)
Hf = X @ d("fuse.fuse_modules.weight").T + d("fuse.fuse_modules.bias")
att = torch.softmax((Hf @ d("fuse.compress.weight").T + d("fuse.compress.bias"))[:, 0], dim=0)
fuse = (att @ Hf)[None] @ d("fuse.post_process.weight").T + d("fuse.post_process.bias")
tc = F.normalize(text64 @ d("class_mapping.weight").T + d("class_mapping.bias"), dim=-1)
vimg = F.normalize((g64 + fuse) @ d("image_mapping.weight").T + d("image_mapping.bias"), dim=-1)
cos = vimg @ tc.T
logits = torch.exp(d("temperature_image")) * cos
out.update({"fuse": fuse, "cos": cos, "logits": logits, "p_img": torch.sigmoid(logits[0, M:] - logits[0, :M]).mean().view(1, 1)})
# Stage 1 ('epoch_post_*_1' checkpoints): v = normalise(g), no Fuse, no image_mapping.
cos1 = F.normalize(g64, dim=-1) @ tc.T
logits1 = torch.exp(d("temperature_image")) * cos1
out.update({"stage1.cos": cos1, "stage1.p_img": torch.sigmoid(logits1[0, M:] - logits1[0, :M]).mean().view(1, 1)})

# RCA and maps.
q = text64 @ d("RCA.q_proj_pre.weight")[:, :, 0].T + d("RCA.q_proj_pre.bias")
hd = C // a.heads
up = []
for j in range(L):
    keys = F.normalize(taps64[j] @ d(f"RCA.linear_proj.{j}.weight").T, dim=-1)
    heads = []
    for h in range(a.heads):
        sl = slice(h * hd, (h + 1) * hd)
        heads.append(torch.softmax(q[:, sl] @ keys[:, sl].T * C ** -0.5, dim=-1) @ keys[:, sl])
    tp = F.normalize(torch.cat(heads, -1) + text64, dim=-1)
    s = (keys @ tp.T).T.reshape(2 * M, a.grid, a.grid)
    out[f"rca.{j}.text"], out[f"rca.{j}.keys"], out[f"pixel.logits.{j}"] = tp, keys, s
    big = F.interpolate((torch.exp(d("temperature_pixel")) * s)[None], size=(a.side, a.side), mode="bilinear", align_corners=True)[0]
    up.append(torch.sigmoid(big[M:] - big[:M]).sum(0))
out["pixel.map"] = torch.stack(up).sum(0) / (L * M)
st.save(a.out, out)

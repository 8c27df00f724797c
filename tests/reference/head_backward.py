"""Oracle for the backward ops of the Bayes-PFL head (spec 4.4, 5.1, 5.2, 7.3): PyTorch autograd gradients.

For each op the inputs (and the upstream gradients) are drawn in float32 and stored as F32; the forward and
autograd's backward run in float64 on exactly those values and are stored as F64. Names are prefixed by case:
  pf_*   planar flow, per-sample parameter sets (P = R);  pfs_* the same with one shared set (P = 1)
  bs_*   base sample, per-sample mu/h;  bss_* shared mu/h, with a gradient on v as the KL gives it
  pb_*   prompt blocks;  sm_* similarity map (non-square grid and map);  em_* embedding splice
The formulas restate spec 5.2 (planar step, log-det with |.| + 1e-5), 5.1 (v = exp(0.5 h) used as the
variance), 4.4 (blocks [ctx + z_c; state + z_s], spliced at the ids -1-j), 7.3 (mean of sigmoid(scale * up(
abnormal - normal)) with bilinear align_corners=True).
"""
import argparse
import math

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--samples", type=int, default=3)
p.add_argument("--steps", type=int, default=10)
p.add_argument("--dim", type=int, default=33)
a = p.parse_args()
torch.manual_seed(a.seed)
out = {}


def leaf(name, *shape, scale=1.0):
    """A float32 input (stored) and its float64 copy that autograd differentiates."""
    x = ((torch.rand(*shape) * 2 - 1) * scale).float()
    out[name] = x
    return x.double().requires_grad_(True)


def grads(prefix, loss, named):
    loss.backward()
    for n, t in named.items():
        out[f"{prefix}_d{n}"] = t.grad


def planar(prefix, shared):
    R, K, D = a.samples, a.steps, a.dim
    P = 1 if shared else R
    z0 = leaf(f"{prefix}_z0", R, D)
    u = leaf(f"{prefix}_u", P, K, D, scale=0.5)
    w = leaf(f"{prefix}_w", P, K, D, scale=1 / math.sqrt(D))
    b = leaf(f"{prefix}_b", P, K)
    dzK, dld = leaf(f"{prefix}_dzK", R, D), leaf(f"{prefix}_dlogdet", R)
    z, logdet, acts = z0, torch.zeros(R, dtype=torch.float64), []
    uu, ww, bb = (t.expand(R, *t.shape[1:]) for t in (u, w, b))
    for k in range(K):
        act = (ww[:, k] * z).sum(1) + bb[:, k]
        t = torch.tanh(act)
        logdet = logdet + torch.log(torch.abs(1 + (1 - t * t) * (ww[:, k] * uu[:, k]).sum(1)) + 1e-5)
        z = z + uu[:, k] * t[:, None]
        acts.append(act)
    out[f"{prefix}_zK"], out[f"{prefix}_logdet"], out[f"{prefix}_a"] = z, logdet, torch.stack(acts, 1)
    grads(prefix, (z * dzK.detach()).sum() + (logdet * dld.detach()).sum(), {"z0": z0, "u": u, "w": w, "b": b})


def base_sample(prefix, shared):
    R, D = a.samples, a.dim
    P = 1 if shared else R
    mu, h = leaf(f"{prefix}_mu", P, D), leaf(f"{prefix}_h", P, D)
    eps, dz0 = leaf(f"{prefix}_eps", R, D), leaf(f"{prefix}_dz0", R, D)
    v = torch.exp(0.5 * h)
    z0 = mu + torch.sqrt(v) * eps.detach()
    out[f"{prefix}_v"], out[f"{prefix}_z0"] = v, z0
    loss = (z0 * dz0.detach()).sum()
    if shared:  # the KL's gradient on v, passed to the op as dv
        dv = leaf(f"{prefix}_dv", P, D)
        loss = loss + (v * dv.detach()).sum()
    grads(prefix, loss, {"mu": mu, "h": h})


def prompt_blocks(prefix, B=3, R=2, S=5, C=7):
    ctx, sn, sa = (leaf(f"{prefix}_{n}", B, S, C) for n in ("ctx", "stateNormal", "stateAbnormal"))
    zc, zn, za = (leaf(f"{prefix}_{n}", R, C) for n in ("zc", "zn", "za"))
    halves = []
    for st_, zs in ((sn, zn), (sa, za)):
        rows = [torch.cat([ctx + zc[r][None, None], st_ + zs[r][None, None]], 1) for r in range(R)]  # each [B,2S,C]
        halves.append(torch.cat(rows, 0))
    blocks = torch.cat(halves, 0)  # [2BR, 2S, C], block (half*R + r)*B + b
    dblocks = leaf(f"{prefix}_dblocks", 2 * B * R, 2 * S, C)
    out[f"{prefix}_blocks"] = blocks
    grads(prefix, (blocks * dblocks.detach()).sum(),
          {"ctx": ctx, "stateNormal": sn, "stateAbnormal": sa, "zc": zc, "zn": zn, "za": za})


def similarity_map(prefix, L=2, M=3, h=5, w=4, H=13, W=11):
    scale = float(torch.tensor(1 / 0.07, dtype=torch.float32))  # the engine's float scale, exactly
    s = leaf(f"{prefix}_s", L, 2 * M, h, w, scale=0.1)
    dmap = leaf(f"{prefix}_dmap", H, W)
    diff = scale * (s[:, M:] - s[:, :M])
    up = F.interpolate(diff.reshape(1, L * M, h, w), size=(H, W), mode="bilinear", align_corners=True)
    smap = torch.sigmoid(up).mean(1)[0]
    out[f"{prefix}_map"], out[f"{prefix}_scale"] = smap, torch.tensor([scale], dtype=torch.float32)
    grads(prefix, (smap * dmap.detach()).sum(), {"s": s})


def embedding(prefix, n=2, T=9, C=7, V=11, J=3):
    table, pos = leaf(f"{prefix}_table", V, C), leaf(f"{prefix}_pos", T + 2, C)
    inject, dy = leaf(f"{prefix}_inject", n, J, C), leaf(f"{prefix}_dy", n, T, C)
    ids = torch.randint(0, V, (n, T))
    ids[0, 1:1 + J] = -1 - torch.arange(J)           # the spec's splice: SOS, then the block
    ids[1, 2], ids[1, 5], ids[1, 7] = -3, -1, -3      # out of order and a slot used twice; slot 1 unused
    rows = [[inject[i, -1 - ids[i, t]] if ids[i, t] < 0 else table[ids[i, t]] for t in range(T)] for i in range(n)]
    y = torch.stack([torch.stack(r) for r in rows]) + pos[:T]
    out[f"{prefix}_ids"], out[f"{prefix}_y"] = ids.float(), y
    grads(prefix, (y * dy.detach()).sum(), {"inject": inject})


planar("pf", False)
planar("pfs", True)
base_sample("bs", False)
base_sample("bss", True)
prompt_blocks("pb")
similarity_map("sm")
embedding("em")
st.save(a.out, out, {"seed": a.seed})

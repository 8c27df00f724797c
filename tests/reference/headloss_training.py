"""Oracle for the head's training losses (spec 7.1-7.3, 9.2, 9.3): a random small head, its stage-1 and stage-2
losses restated in PyTorch, and float64 autograd gradients w.r.t. the text and every head parameter.

Writes two files: OUT holds the inputs (F32) and the losses/gradients (F64, engine shapes: RCA.q_proj_pre.weight
[E,E], fuse.fuse_modules.weight [Taps,Hf,Cv]); OUT with ".head.safetensors" in place of ".safetensors" is the
head in the engine's file format (checkpoint names, file shapes, metadata bayespfl.format = bayespfl-head/1,
stage 1) for HeadParameters.Load. Every parameter and input is drawn in float32, the forward runs in float64.
Stage 1: L = L_cls + sum_j (focal_j + dice_j) + L_orth; stage 2: L = L_cls with v = normalise(image_mapping(g +
Fuse(taps))). Names: s1.cls, s1.focal [4], s1.dice [4], s1.orth, s1.dtext, s1.grad.NAME; s2.cls, s2.grad.NAME.
"""
import argparse
import math

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--embed", type=int, default=0, help="0: random in 16..48 (a multiple of the 4 heads)")
p.add_argument("--width", type=int, default=0, help="vision width; 0: random in 8..24")
p.add_argument("--grid", type=int, default=0, help="patch grid side; 0: random in 3..5")
p.add_argument("--side", type=int, default=0, help="map side S; 0: random in 9..33")
p.add_argument("--images", type=int, default=0, help="N; 0: random in 2..3")
a = p.parse_args()
torch.manual_seed(a.seed)
gen = torch.Generator().manual_seed(a.seed)


def pick(v, lo, hi, mult=1):
    return v if v else mult * int(torch.randint(lo // mult, hi // mult + 1, (1,), generator=gen))


E, CV, G, S, N = pick(a.embed, 16, 48, 4), pick(a.width, 8, 24), pick(a.grid, 3, 5), pick(a.side, 9, 33), pick(a.images, 2, 3)
TAPS, HEADS, BANK, TOKENS, HID, STEPS, HF = 4, 4, 3, 2, 6, 2, 5
P = G * G


def rnd(*shape, scale=1.0):
    return (torch.randn(*shape) * scale).float()


# ---- the head, file shapes (HeadWeights.Table) ----
head = {}
for n in ("prompt_context", "prompt_state_normal", "prompt_state_abnormal"):
    head[n] = rnd(BANK, TOKENS, E, scale=0.1)
head["temperature_pixel"] = torch.tensor(math.log(1 / 0.07) + 0.1 * float(torch.randn(1)), dtype=torch.float32)
head["temperature_image"] = torch.tensor(math.log(1 / 0.07) + 0.1 * float(torch.randn(1)), dtype=torch.float32)
for enc in ("context_encoder", "state_encoder"):
    for h in ("weight_mean", "weight_log_variance"):
        m = f"{enc}.{h}.module"
        for i, (o, k) in enumerate(((HID, E), (HID, HID), (E, HID))):
            head[f"{m}.{2 * i}.weight"], head[f"{m}.{2 * i}.bias"] = rnd(o, k, scale=0.1), rnd(o, scale=0.1)
for n, (o, k) in {"amor_u": (STEPS * E, E), "amor_w": (STEPS * E, E), "amor_b": (STEPS, E)}.items():
    head[f"PFL_context.{n}.weight"], head[f"PFL_context.{n}.bias"] = rnd(o, k, scale=0.1), rnd(o, scale=0.1)
for s in ("PFL_normal", "PFL_abnormal"):
    head[f"{s}.amor_u"], head[f"{s}.amor_w"] = rnd(1, STEPS, E, 1), rnd(1, STEPS, 1, E)
    head[f"{s}.amor_b"], head[f"{s}.state"] = rnd(1, STEPS, 1, 1), rnd(1, E)
# Weights scaled ~1/sqrt(fan_in) so that every activation is O(1) and every gradient path carries signal.
head["fuse.fuse_modules.weight"], head["fuse.fuse_modules.bias"] = rnd(HF, TAPS * CV, scale=(TAPS * CV) ** -0.5), rnd(HF, scale=0.3)
head["fuse.compress.weight"], head["fuse.compress.bias"] = rnd(1, HF, scale=HF ** -0.5), rnd(1, scale=0.3)
head["fuse.post_process.weight"], head["fuse.post_process.bias"] = rnd(E, HF, scale=HF ** -0.5), rnd(E, scale=0.3)
head["RCA.q_proj_pre.weight"], head["RCA.q_proj_pre.bias"] = rnd(E, E, 1, scale=2 * E ** -0.5), rnd(E, scale=0.3)
for j in range(TAPS):
    head[f"RCA.linear_proj.{j}.weight"] = rnd(E, CV, scale=CV ** -0.5)
for m in ("class_mapping", "image_mapping"):
    head[f"{m}.weight"], head[f"{m}.bias"] = rnd(E, E, scale=E ** -0.5), rnd(E, scale=0.3)
st.save(a.out.replace(".safetensors", ".head.safetensors"), head,
        metadata={"bayespfl.format": "bayespfl-head/1", "bayespfl.head_stage": "1"})

# ---- inputs ----
text = F.normalize(torch.randn(2 * BANK * N, E), dim=-1).float()
g = rnd(N, E)
taps = [rnd(N, P, CV) for _ in range(TAPS)]
labels = torch.tensor([i % 2 for i in range(N)])[torch.randperm(N)]    # both classes (N >= 2)
masks = torch.zeros(N, S, S)                                            # normal images: all-zero masks
for i in range(N):
    if labels[i] == 1:
        masks[i] = (torch.rand(S, S) < 0.3).float()
bstar = int(torch.randint(0, BANK, (1,)))

out = {"text": text, "g": g, "labels": labels.to(torch.int32), "masks": masks, "bank_index": torch.tensor([bstar], dtype=torch.int32)}
for j, t in enumerate(taps):
    out[f"tap{j}"] = t


def seg_losses(logits, mask):
    prob = torch.softmax(logits, dim=1)
    gm = mask > 0.5
    pt = torch.where(gm, prob[:, 1], prob[:, 0])
    fl = -(1 - pt) ** 2 * torch.log(pt + 1e-8)
    focal = fl[gm].sum() / (gm.sum() + 1e-8) + fl[~gm].sum() / ((~gm).sum() + 1e-8)
    gf = gm.to(prob.dtype)
    dice = 1 - (2 * (prob[:, 1] * gf).sum() + 1e-5) / (prob[:, 1].sum() + gf.sum() + 1e-5)
    return focal, dice


def run(stage):
    w = {k: v.double().requires_grad_(True) for k, v in head.items()}
    tx = text.double().requires_grad_(True)
    gd, tp, md = g.double(), [t.double() for t in taps], masks.double()
    rows = [[h * BANK * N + i * BANK + bstar for h in (0, 1)] for i in range(N)]
    tsel = tx[torch.tensor(rows)]                                          # [N,2,E]
    tc = F.normalize(tsel @ w["class_mapping.weight"].T + w["class_mapping.bias"], dim=-1)
    if stage == 1:
        v = F.normalize(gd, dim=-1)
    else:
        x = torch.cat(tp, dim=-1)                                          # [N,P,TAPS*CV]
        hdn = x @ w["fuse.fuse_modules.weight"].T + w["fuse.fuse_modules.bias"]
        att = torch.softmax((hdn @ w["fuse.compress.weight"].T + w["fuse.compress.bias"])[..., 0], dim=-1)
        fuse = (att[..., None] * hdn).sum(1) @ w["fuse.post_process.weight"].T + w["fuse.post_process.bias"]
        v = F.normalize((gd + fuse) @ w["image_mapping.weight"].T + w["image_mapping.bias"], dim=-1)
    logits = torch.exp(w["temperature_image"]) * (tc * v[:, None]).sum(-1)
    cls = F.cross_entropy(logits, labels)
    res = {"cls": cls}
    total = cls
    if stage == 1:
        q = tsel @ w["RCA.q_proj_pre.weight"][..., 0].T + w["RCA.q_proj_pre.bias"]
        focal, dice = [], []
        for j in range(TAPS):
            k = F.normalize(tp[j] @ w[f"RCA.linear_proj.{j}.weight"].T, dim=-1)      # [N,P,E]
            qh, kh = q.view(N, 2, HEADS, E // HEADS), k.view(N, P, HEADS, E // HEADS)
            att = torch.softmax(torch.einsum("nmhd,nphd->nhmp", qh, kh) * E ** -0.5, dim=-1)
            o = torch.einsum("nhmp,nphd->nmhd", att, kh).reshape(N, 2, E)
            tpr = F.normalize(o + tsel, dim=-1)
            sm = torch.exp(w["temperature_pixel"]) * torch.einsum("npe,nme->nmp", k, tpr)
            up = F.interpolate(sm.reshape(N, 2, G, G), size=(S, S), mode="bilinear", align_corners=True)
            f_, d_ = seg_losses(up, md)
            focal.append(f_)
            dice.append(d_)
            total = total + f_ + d_
        halves = tx.view(2, N, BANK, E)
        cos = F.cosine_similarity(halves[:, :, :, None, :], halves[:, :, None, :, :], dim=-1)
        off = 1 - torch.eye(BANK, dtype=tx.dtype)
        orth = (cos[0] ** 2 * off).mean() + (cos[1] ** 2 * off).mean()
        total = total + orth
        res.update(focal=torch.stack(focal), dice=torch.stack(dice), orth=orth)
    total.backward()
    pre = f"s{stage}."
    for n_, t in res.items():
        out[pre + n_] = t.detach().reshape(-1)
    if stage == 1:
        out[pre + "dtext"] = tx.grad
    for n_, t in w.items():
        if t.grad is None or (stage == 2 and not n_.startswith(("class_mapping.", "image_mapping.", "fuse."))):
            continue  # stage 2 trains class_mapping, image_mapping and fuse only (spec 9.3)
        gr = t.grad
        if n_ == "RCA.q_proj_pre.weight":
            gr = gr[..., 0]
        if n_ == "fuse.fuse_modules.weight":
            gr = gr.view(HF, TAPS, CV).permute(1, 0, 2)
        out[pre + "grad." + n_] = gr.reshape(gr.shape if gr.dim() else (1,)).contiguous()


run(1)
run(2)
st.save(a.out, out, metadata={"seed": a.seed, "sizes": f"E={E} Cv={CV} g={G} S={S} N={N} b*={bstar}"})

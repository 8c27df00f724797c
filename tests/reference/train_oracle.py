"""Training oracle (spec 3, 4, 5.5, 5.6, 6, 7, 9.1-9.5, 14): PyTorch autograd trains the stage-1 Bayes-PFL head
from the same initial weights, data and injected noise that the engine's TrainStep gets.

Weights: the tiny CLIP comes from clip_towers.py itself (imported with its argv set, so clip_weights.safetensors
next to --out is exactly its engine file; vocabulary 49408, so SOS 49406, X 343 and EOT 49407 are real ids); the
head is random under the checkpoint names and file shapes of HeadWeights.Table (no dead decoder/p_mu tensors),
written as head.safetensors (bayespfl.format bayespfl-head/1, bayespfl.head_stage 1). Both are float32; the
training math runs in --dtype (float64 by default) on exactly those values, with bayes_torch.py's autograd math.

Head init is NOT spec 9.4's: its N(0, 0.02) Linear weights, zero biases and N(0,1) state flows would leave the
tiny 32-d head either nearly linear or with saturated tanh, and zero biases would hide a missing bias term.
Here every Linear weight and bias is U(+-s/sqrt(fan_in)) (s = 1; amortised u: 0.5, w: 1/sqrt(C)); state
flows: u N(0,0.3^2), w N(0,1/C), b and state N(0,1); prompts N(0 / +0.5 / -0.5, 0.3^2) instead of std 0.02,
which would make the three bank entries' text embeddings nearly equal (cos ~ 1, L_orth saturated at 4/3) and
so hide a wrong bank index; temperatures log(1/0.07) as spec 9.4 (tau_img + 0.1 so that the two differ).

Step t (stage 1, spec 9.2): vision tower (no grad) -> g, taps at HeadFile.TapLayers (j*layers/taps); one context
sample per image (eps row i), one normal and one abnormal sample for the batch (eps rows N, N+1); text
T [2BN,C] L2-normalised, row half*B*N + i*B + b; L_cls, per tap focal + dice at the image size, L_dist
(0.01 KL, 5.6 quirks), L_orth; Adam betas (0.5, 0.999), eps 1e-8, 4 groups, LambdaLR warm-up + cosine.

Output (--out), t = 0..steps-1:
  in.images.{t} [N,3,H,H] f32, in.labels.{t} [N] i64, in.masks.{t} [N,H,H] f32 0/1, in.ids.{t} [N,77] i64,
  in.classes.{t} [N] i64 (index into metadata classes), in.eps.{t} [N+2,C] f32, in.bank.{t} [1] i64 (b*)
  out.loss.{cls, focal.j, dice.j, dist, orth, total} [steps] (each step's forward, before its update)
  out.lr [steps,4] learning rates of update t (groups prompts, temperatures, flow, rest)
  out.grad0.{name} (ENGINE shapes of HeadWeights.Table; temperatures [1]; zeros where stage 1 gives none)
  out.step0.text [2BN,C], out.step0.g [N,C], out.step0.taps [taps,N,P,W]
  out.params.final.{name} (engine shapes) after the last update
  check.fd.{names: i64 index list, autograd, numeric} the finite-difference self-check (also asserted here)
  check.clip.err [4] max errors of this file's float64 towers against clip_towers.py's own outputs
Metadata: clip, head (paths), clip_bytes, head_bytes, classes (comma-separated prompt names), config (JSON of
the sizes), fd_names (comma-separated tensor names of the checked entries).
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

import bayes_torch as bt
import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--dtype", choices=["float64", "float32"], default="float64")
p.add_argument("--steps", type=int, default=10)
p.add_argument("--iters-per-epoch", type=int, default=1)
p.add_argument("--batch", type=int, default=3)
p.add_argument("--image", type=int, default=28)
p.add_argument("--patch", type=int, default=7)
p.add_argument("--width", type=int, default=32)
p.add_argument("--layers", type=int, default=4, help="vision layers (4 so that the 4 taps are distinct)")
p.add_argument("--heads", type=int, default=2)
p.add_argument("--embed", type=int, default=32, help="joint embedding = text width = head width")
p.add_argument("--text-layers", type=int, default=2)
p.add_argument("--text-heads", type=int, default=2)
p.add_argument("--taps", type=int, default=4)
p.add_argument("--hidden", type=int, default=24)
p.add_argument("--fuse-hidden", type=int, default=16)
p.add_argument("--flow-steps", type=int, default=10)
p.add_argument("--bank", type=int, default=3)
p.add_argument("--tokens", type=int, default=5)
p.add_argument("--rca-heads", type=int, default=4)
p.add_argument("--classes", default="bottle,metal nut", help="prompt names (spec 4.3), comma separated")
p.add_argument("--class-ids", default="5392;4044,6491", help="BPE ids of each name, ';' between names")
a = p.parse_args()
DT = torch.float64 if a.dtype == "float64" else torch.float32
out_dir = os.path.dirname(os.path.abspath(a.out))
N, C, K, B, S, L, Hs = a.batch, a.embed, a.flow_steps, a.bank, a.tokens, a.taps, a.image
J, CTX, SOS, X, EOT = 2 * a.tokens, 77, 49406, 343, 49407
TAP_LAYERS = [j * a.layers // L for j in range(1, L + 1)]   # HeadFile.TapLayers
assert TAP_LAYERS[0] >= 1, f"{L} taps need at least {L} vision layers"
classes = a.classes.split(",")
class_ids = [[int(t) for t in s.split(",")] for s in a.class_ids.split(";")]
assert len(classes) == len(class_ids) == 2 and len({len(c) for c in class_ids}) == 2, "two class names of different token lengths"

# ---- CLIP: clip_towers.py builds and writes the engine file; its own outputs feed the tower self-check ----
sys.argv = ["clip_towers.py", "--out", os.path.join(out_dir, "clip_towers_check.safetensors"), "--seed", str(a.seed),
            "--image", str(a.image), "--patch", str(a.patch), "--width", str(a.width), "--layers", str(a.layers),
            "--heads", str(a.heads), "--text-width", str(C), "--text-layers", str(a.text_layers), "--text-heads",
            str(a.text_heads), "--vocab", "49408", "--embed", str(C), "--taps", ",".join(map(str, TAP_LAYERS)),
            "--batch", "2", "--prompts", "2", "--spliced", "2", "--inject-len", str(J), "--plain-matmul"]
import clip_towers as ct  # noqa: E402

torch.set_grad_enabled(True)   # clip_towers turns autograd off globally
clip_path = ct.weights_path
clip = {dt: {k: v.to(dt) for k, v in ct.w.items()} for dt in (torch.float64, DT)}


def towers(images, w):
    return bt.vision(w, images, a.patch, a.layers, a.heads, TAP_LAYERS)


def text(w, seq, eot):
    return bt.text_features(w, seq, eot, a.text_layers, a.text_heads)


with torch.no_grad():   # this file's towers against clip_towers.py's (fp32, its own math)
    w64, co = clip[torch.float64], ct.out
    g_chk, taps_chk = towers(co["in.images"].double(), w64)
    ids_chk = co["in.ids"]
    seq_chk, eot_chk = bt.splice(w64, co["in.splice_ids"].expand(2, CTX), co["in.inject"].double())
    clip_err = torch.tensor([
        (g_chk - co["out.global"]).abs().max().item(),
        max((t - co[f"out.tap.{l}"]).abs().max().item() for t, l in zip(taps_chk, TAP_LAYERS)),
        (text(w64, w64["token_embedding.weight"][ids_chk], ids_chk.argmax(-1)) - co["out.text"]).abs().max().item(),
        (text(w64, seq_chk, eot_chk) - co["out.text_spliced"]).abs().max().item()], dtype=torch.float64)
    assert clip_err.max() < 1e-4, f"float64 towers differ from clip_towers.py: {clip_err.tolist()}"

# ---- head: random init, checkpoint names, file shapes (HeadWeights.Table) ----
torch.manual_seed(a.seed + 1)
Hd, Hf, Cv = a.hidden, a.fuse_hidden, a.width


def lin(o, i, scale=1.0):
    bound = scale / math.sqrt(i)
    return (torch.rand(o, i) * 2 - 1) * bound, (torch.rand(o) * 2 - 1) * bound


Wf = {}
Wf["prompt_context"] = torch.randn(B, S, C) * 0.3
Wf["prompt_state_normal"] = 0.5 + torch.randn(B, S, C) * 0.3
Wf["prompt_state_abnormal"] = -0.5 + torch.randn(B, S, C) * 0.3
Wf["temperature_pixel"] = torch.tensor(math.log(1 / 0.07))
Wf["temperature_image"] = torch.tensor(math.log(1 / 0.07) + 0.1)
for enc in ("context_encoder", "state_encoder"):
    for head in ("weight_mean", "weight_log_variance"):
        for i, (o, n) in (("0", (Hd, C)), ("2", (Hd, Hd)), ("4", (C, Hd))):
            Wf[f"{enc}.{head}.module.{i}.weight"], Wf[f"{enc}.{head}.module.{i}.bias"] = lin(o, n)
Wf["PFL_context.amor_u.weight"], Wf["PFL_context.amor_u.bias"] = lin(K * C, C, 0.5)
Wf["PFL_context.amor_w.weight"], Wf["PFL_context.amor_w.bias"] = lin(K * C, C, 1 / math.sqrt(C))
Wf["PFL_context.amor_b.weight"], Wf["PFL_context.amor_b.bias"] = lin(K, C)
for s in ("PFL_normal", "PFL_abnormal"):
    Wf[f"{s}.amor_u"] = torch.randn(1, K, C, 1) * 0.3
    Wf[f"{s}.amor_w"] = torch.randn(1, K, 1, C) / math.sqrt(C)
    Wf[f"{s}.amor_b"] = torch.randn(1, K, 1, 1)
    Wf[f"{s}.state"] = torch.randn(1, C)
Wf["fuse.fuse_modules.weight"], Wf["fuse.fuse_modules.bias"] = lin(Hf, L * Cv)
Wf["fuse.compress.weight"], Wf["fuse.compress.bias"] = lin(1, Hf)
Wf["fuse.post_process.weight"], Wf["fuse.post_process.bias"] = lin(C, Hf)
wq, bq = lin(C, C)
Wf["RCA.q_proj_pre.weight"], Wf["RCA.q_proj_pre.bias"] = wq[:, :, None], bq   # HeadWeights.Table order
for j in range(L):
    Wf[f"RCA.linear_proj.{j}.weight"] = lin(C, Cv)[0]
for m in ("class_mapping", "image_mapping"):
    Wf[f"{m}.weight"], Wf[f"{m}.bias"] = lin(C, C)
head_path = os.path.join(out_dir, "head.safetensors")
st.save(head_path, Wf, {"bayespfl.format": "bayespfl-head/1", "bayespfl.head_stage": "1"})


def to_engine(name, t):
    """File shape -> engine shape (HeadWeights.Table)."""
    if name.endswith((".amor_u", ".amor_w", ".amor_b")) and name.startswith(("PFL_normal.", "PFL_abnormal.")):
        return t.reshape(1, K, C) if not name.endswith("amor_b") else t.reshape(1, K)
    if name == "RCA.q_proj_pre.weight":
        return t[:, :, 0]
    if name == "fuse.fuse_modules.weight":
        return t.reshape(Hf, L, Cv).permute(1, 0, 2).contiguous()
    if name.startswith("temperature_"):
        return t.reshape(1)
    return t


NAMES = list(Wf)
INIT = {n: to_engine(n, Wf[n]) for n in NAMES}


def group(name):
    """ParamGroups.Of: 0 prompts, 1 temperatures, 2 flow parameters, 3 rest."""
    if name.startswith("prompt_"):
        return 0
    if name.startswith("temperature_"):
        return 1
    if name.startswith("PFL_") and name.split(".")[1] in ("amor_u", "amor_w", "amor_b", "state", "p_mu"):
        return 2
    return 3


# ---- the stage-1 step (spec 5.5, 6, 7, 9.2) ----
def step_losses(P, w, data):
    """P: head parameters (engine shapes), w: CLIP weights, both of one dtype. Returns the loss dict and extras."""
    dt = P["prompt_context"].dtype
    images, labels, masks, ids, eps, bank = (data[k] for k in ("images", "labels", "masks", "ids", "eps", "bank"))
    eps = eps.to(dt)
    with torch.no_grad():
        g, taps = towers(images.to(dt), w)
    # Distributions: context per image (eps rows 0..N-1), normal / abnormal once per batch (rows N, N+1).
    mu_c, v_c = bt.encoder(P, "context_encoder", g)
    z0_c = mu_c + torch.sqrt(v_c) * eps[:N]
    zK_c, ld_c = bt.planar_flow(z0_c, *bt.context_flow_params(P, g, K))
    kl = (bt.log_q0(mu_c, v_c, z0_c) + 0.5 * (zK_c ** 2).sum(-1) - ld_c).sum() / N
    states = []
    for row, s in ((N, "PFL_normal"), (N + 1, "PFL_abnormal")):
        mu, v = bt.encoder(P, "state_encoder", P[f"{s}.state"])
        z0 = mu + torch.sqrt(v) * eps[row:row + 1]
        zK, ld = bt.planar_flow(z0, P[f"{s}.amor_u"], P[f"{s}.amor_w"], P[f"{s}.amor_b"])
        kl = kl + (bt.log_q0(mu, v, z0) + 0.5 * (zK ** 2).sum(-1)).sum() - ld.sum() / N   # 5.6: only logdet / N
        states.append(zK[0])
    # Prompt blocks, row half*B*N + i*B + b: [ctx[b] + z_c[i] ; state_half[b] + z_half].
    ctx = P["prompt_context"][None] + zK_c[:, None, None, :]                                   # [N,B,S,C]
    halves = [torch.cat([ctx, (P[name][None] + z[None, None, None, :]).expand(N, B, S, C)], dim=2)
              for name, z in (("prompt_state_normal", states[0]), ("prompt_state_abnormal", states[1]))]
    blocks = torch.stack(halves).reshape(2 * N * B, J, C)
    row_ids = ids[None, :, None, :].expand(2, N, B, CTX).reshape(2 * N * B, CTX)
    T = F.normalize(text(w, *bt.splice(w, row_ids, blocks)), dim=-1)                          # [2BN,C]
    per_image = T.view(2, N, B, C).permute(1, 0, 2, 3).reshape(N, 2 * B, C)                  # half*B + b
    # L_cls on [normal b*, abnormal b*], stage-1 image embedding normalise(g).
    tc = F.normalize(per_image[:, [bank, B + bank]] @ P["class_mapping.weight"].T + P["class_mapping.bias"], dim=-1)
    logits = torch.exp(P["temperature_image"]) * (tc * F.normalize(g, dim=-1)[:, None]).sum(-1)
    losses = {"cls": F.cross_entropy(logits, labels)}
    grid = a.image // a.patch
    for j in range(L):
        tp, keys = bt.rca(P, per_image, taps[j], j, a.rca_heads)
        sim = torch.exp(P["temperature_pixel"]) * (keys @ tp[:, [bank, B + bank]].transpose(1, 2))   # [N,P,2]
        up = F.interpolate(sim.transpose(1, 2).reshape(N, 2, grid, grid), size=(Hs, Hs), mode="bilinear", align_corners=True)
        losses[f"focal.{j}"], losses[f"dice.{j}"] = bt.seg_losses(up, masks.to(dt))
    losses["dist"] = 0.01 * kl
    orth = 0
    off = 1 - torch.eye(B, dtype=dt)
    for half in (per_image[:, :B], per_image[:, B:]):
        cos = F.cosine_similarity(half[:, :, None, :], half[:, None, :, :], dim=-1)
        orth = orth + (cos ** 2 * off).mean()
    losses["orth"] = orth
    losses["total"] = sum(losses.values())
    return losses, {"text": T, "g": g, "taps": torch.stack(taps)}


# ---- data, one batch per step ----
torch.manual_seed(a.seed + 2)


def prompt_ids(body):
    ids = torch.zeros(CTX, dtype=torch.int64)
    ids[:len(body) + 3] = torch.tensor([SOS, X, *body, EOT])
    return ids


def batch(t):
    labels = torch.randint(0, 2, (N,))
    labels[0], labels[1] = 0, 1                      # both classes in every batch
    labels = labels[torch.randperm(N)]
    masks = torch.zeros(N, Hs, Hs)
    for i in range(N):
        if labels[i] == 1:
            h, w_ = (int(torch.randint(2, Hs // 2, ())) for _ in range(2))
            y, x = int(torch.randint(0, Hs - h + 1, ())), int(torch.randint(0, Hs - w_ + 1, ()))
            masks[i, y:y + h, x:x + w_] = 1
    cls = torch.tensor([(i + t) % 2 for i in range(N)], dtype=torch.int64)
    return {"images": torch.randn(N, 3, Hs, Hs), "labels": labels, "masks": masks, "classes": cls,
            "ids": torch.stack([prompt_ids(class_ids[c]) for c in cls.tolist()]), "eps": torch.randn(N + 2, C),
            "bank": int(torch.randint(0, B, ()))}


data = [batch(t) for t in range(a.steps)]
out = {}
for t, d in enumerate(data):
    for k in ("images", "labels", "masks", "ids", "classes", "eps"):
        out[f"in.{k}.{t}"] = d[k]
    out[f"in.bank.{t}"] = torch.tensor([d["bank"]], dtype=torch.int64)

# ---- finite-difference self-check at step 0, always in float64 ----
b0 = data[0]["bank"]
FD = [("prompt_context", b0 * S * C + 3), ("prompt_state_abnormal", (b0 * S + 2) * C + 1), ("temperature_pixel", 0),
      ("temperature_image", 0), ("context_encoder.weight_log_variance.module.0.weight", 5),
      ("state_encoder.weight_mean.module.4.bias", 1), ("PFL_context.amor_w.weight", 7), ("PFL_context.amor_b.bias", 2),
      ("PFL_normal.amor_u", 2), ("PFL_abnormal.amor_b", 0), ("PFL_normal.state", 0), ("RCA.linear_proj.2.weight", 3),
      ("RCA.q_proj_pre.bias", 4), ("class_mapping.weight", 6)]
P64 = {n: v.double().requires_grad_() for n, v in INIT.items()}
loss64, _ = step_losses(P64, clip[torch.float64], data[0])
loss64["total"].backward()
auto, numeric, h = [], [], 1e-5
with torch.no_grad():
    for name, i in FD:
        flat = P64[name].view(-1)
        auto.append(P64[name].grad.view(-1)[i].item())
        keep = flat[i].item()
        vals = []
        for sgn in (1, -1):
            flat[i] = keep + sgn * h
            vals.append(step_losses(P64, clip[torch.float64], data[0])[0]["total"].item())
        flat[i] = keep
        numeric.append((vals[0] - vals[1]) / (2 * h))
auto, numeric = torch.tensor(auto, dtype=torch.float64), torch.tensor(numeric, dtype=torch.float64)
# Central differences with h = 1e-5 on an O(1) loss: truncation ~h^2 and rounding ~1e-16/h, both far below 1e-7.
bad = ((auto - numeric).abs() > 1e-7 + 1e-5 * numeric.abs()).nonzero().view(-1).tolist()
assert not bad, "autograd vs finite differences: " + "; ".join(f"{FD[i]}: {auto[i]:.9g} vs {numeric[i]:.9g}" for i in bad)
out["check.fd.index"] = torch.tensor([i for _, i in FD], dtype=torch.int64)
out["check.fd.autograd"], out["check.fd.numeric"] = auto, numeric
out["check.clip.err"] = clip_err

# ---- training: Adam (betas 0.5, 0.999), 4 groups, LambdaLR warm-up + cosine (spec 9.4, 9.5) ----
P = {n: v.to(DT).clone().requires_grad_() for n, v in INIT.items()}
base = [1e-3, 1e-2, 1e-3, 1e-4]
opt = torch.optim.Adam([{"params": [P[n] for n in NAMES if group(n) == gi], "lr": base[gi]} for gi in range(4)],
                       betas=(0.5, 0.999), eps=1e-8, foreach=False)
total, warm = a.iters_per_epoch * 30, int(0.1 * a.iters_per_epoch * 30)


def lam(step):
    if step < warm:
        return step / max(1, warm)
    return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
curve, lrs = {}, []
for t, d in enumerate(data):
    opt.zero_grad(set_to_none=True)
    losses, extra = step_losses(P, clip[DT], d)
    losses["total"].backward()
    for k, v in losses.items():
        curve.setdefault(k, []).append(v.item())
    if t == 0:
        for n in NAMES:
            out[f"out.grad0.{n}"] = P[n].grad.detach().clone() if P[n].grad is not None else torch.zeros_like(P[n])
        for k, v in extra.items():
            out[f"out.step0.{k}"] = v.detach()
    lrs.append([grp["lr"] for grp in opt.param_groups])
    opt.step()
    sched.step()
for k, v in curve.items():
    out[f"out.loss.{k}"] = torch.tensor(v, dtype=torch.float64)
out["out.lr"] = torch.tensor(lrs, dtype=torch.float64)
for n in NAMES:
    out[f"out.params.final.{n}"] = P[n].detach()

config = {"batch": N, "image": a.image, "patch": a.patch, "width": a.width, "layers": a.layers, "embed": C,
          "text_layers": a.text_layers, "taps": L, "tap_layers": TAP_LAYERS, "hidden": Hd, "fuse_hidden": Hf,
          "flow_steps": K, "bank": B, "tokens": S, "rca_heads": a.rca_heads, "steps": a.steps,
          "iters_per_epoch": a.iters_per_epoch, "dtype": a.dtype}
st.save(a.out, out, {"clip": clip_path, "head": head_path, "clip_bytes": os.path.getsize(clip_path),
                     "head_bytes": os.path.getsize(head_path), "classes": ",".join(classes), "config": json.dumps(config),
                     "fd_names": ",".join(n for n, _ in FD)})

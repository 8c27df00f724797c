"""Oracle for the training losses and Adam (spec 5.6, 9.2, 9.4, 9.5), restated in PyTorch with autograd.

Losses run in float64 from float32 inputs; Adam runs in float32 exactly as training would.
--op seg:  logits[Bt,2,S,S], mask[Bt,S,S] -> focal, dice; dlogits = d(cf*focal + cd*dice)/dlogits.
--op ce:   logits[N,2], labels[N] -> loss (F.cross_entropy, mean), dlogits.
--op orth: t[N,3,C] -> loss = sum_{j!=k} cos^2 / (N*9), dt.
--op kl:   mu, v, z0, zK [M,C], logdet [M] with scales a, b -> kl, gradients of up*kl.
--op adam: 4 groups (base lr 1e-3, 1e-2, 1e-3, 1e-4), LambdaLR warm-up + cosine over --iters iterations/epoch
           (30 epochs), --steps updates with random gradients -> params after every step, lr per step.
"""
import argparse
import math

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--op", choices=["seg", "ce", "orth", "kl", "adam"], required=True)
p.add_argument("--batch", type=int, default=2)
p.add_argument("--side", type=int, default=7)
p.add_argument("--width", type=int, default=11)
p.add_argument("--rows", type=int, default=3)
p.add_argument("--iters", type=int, default=1)
p.add_argument("--steps", type=int, default=10)
a = p.parse_args()
torch.manual_seed(a.seed)


def seg_losses(logits, mask):
    prob = torch.softmax(logits, dim=1)
    g = mask > 0.5
    pt = torch.where(g, prob[:, 1], prob[:, 0])
    fl = -(1 - pt) ** 2 * torch.log(pt + 1e-8)
    n1, n0 = g.sum(), (~g).sum()
    focal = fl[g].sum() / (n1 + 1e-8) + fl[~g].sum() / (n0 + 1e-8)
    gf = g.to(prob.dtype)
    dice = 1 - (2 * (prob[:, 1] * gf).sum() + 1e-5) / (prob[:, 1].sum() + gf.sum() + 1e-5)
    return focal, dice


if a.op == "seg":
    logits = torch.randn(a.batch, 2, a.side, a.side) * 2
    mask = (torch.rand(a.batch, a.side, a.side) < 0.3).float()
    up = torch.rand(2) + 0.5
    x = logits.double().requires_grad_()
    focal, dice = seg_losses(x, mask.double())
    (up[0].double() * focal + up[1].double() * dice).backward()
    st.save(a.out, {"logits": logits, "mask": mask, "upstream": up, "focal": focal, "dice": dice, "dlogits": x.grad})
elif a.op == "ce":
    logits = torch.randn(a.batch, 2) * 3
    labels = torch.randint(0, 2, (a.batch,))
    x = logits.double().requires_grad_()
    loss = F.cross_entropy(x, labels)
    loss.backward()
    st.save(a.out, {"logits": logits, "labels": labels, "loss": loss, "dlogits": x.grad})
elif a.op == "orth":
    t = F.normalize(torch.randn(a.batch, 3, a.width), dim=-1)
    x = t.double().requires_grad_()
    cos = F.cosine_similarity(x[:, :, None, :], x[:, None, :, :], dim=-1)
    off = 1 - torch.eye(3, dtype=x.dtype)
    loss = (cos ** 2 * off).mean()
    loss.backward()
    st.save(a.out, {"t": t, "loss": loss, "dt": x.grad})
elif a.op == "kl":
    m, c = a.rows, a.width
    mu, z0, zk = torch.randn(m, c), torch.randn(m, c), torch.randn(m, c)
    v = torch.exp(0.5 * torch.randn(m, c))
    logdet = torch.randn(m)
    scale_a, scale_b = 1.0 / a.batch, 1.0 / a.batch
    if m == 1:
        scale_a = 1.0
    up = 0.01
    leaves = [t.double().requires_grad_() for t in (mu, v, z0, zk, logdet)]
    lmu, lv, lz0, lzk, lld = leaves
    logq = (-0.5 * (torch.log(lv) + (lz0 - lmu) ** 2 / lv)).sum()
    logp = (-0.5 * lzk ** 2).sum()
    kl = scale_a * (logq - logp) - scale_b * lld.sum()
    (up * kl).backward()
    st.save(a.out, {"mu": mu, "v": v, "z0": z0, "zK": zk, "logdet": logdet, "kl": kl,
                    "scales": torch.tensor([scale_a, scale_b, up], dtype=torch.float64),
                    "dmu": lmu.grad, "dv": lv.grad, "dz0": lz0.grad, "dzK": lzk.grad, "dlogdet": lld.grad})
else:
    sizes, lrs = [5, 2, 7, 13], [1e-3, 1e-2, 1e-3, 1e-4]
    params = [torch.nn.Parameter(torch.randn(n)) for n in sizes]
    init = {f"p{i}_init": q.detach().clone() for i, q in enumerate(params)}
    opt = torch.optim.Adam([{"params": [q], "lr": lr} for q, lr in zip(params, lrs)], betas=(0.5, 0.999), eps=1e-8, foreach=False)
    total = a.iters * 30
    warm = int(0.1 * a.iters * 30)

    def lam(step):
        if step < warm:
            return step / max(1, warm)
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
    out, lr_used = dict(init), []
    for s in range(a.steps):
        grads = [torch.randn(n) * 0.1 for n in sizes]
        for i, (q, g) in enumerate(zip(params, grads)):
            q.grad = g.clone()
            out[f"g{i}_step{s}"] = g
        lr_used.append([grp["lr"] for grp in opt.param_groups])
        opt.step()
        sched.step()
        for i, q in enumerate(params):
            out[f"p{i}_step{s}"] = q.detach().clone()
    out["lr"] = torch.tensor(lr_used, dtype=torch.float64)
    st.save(a.out, out)

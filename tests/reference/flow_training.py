"""Oracle for the training prompt flows (spec 4.4, 5.1-5.6, 6): PyTorch float64 autograd of
L = sum(blocks * dblocks) + dist_upstream * L_dist with respect to every flow and prompt parameter.

A random small head is drawn in float32 under the checkpoint names, in the engine's shapes (HeadWeights.Table:
PFL_*.amor_u/amor_w [1,K,C], amor_b [1,K]), with scales that keep the planar tanh and the Softplus away from
saturation so that every gradient is exercised; g, eps (rows 0..N-1 context, N normal, N+1 abnormal) and the
upstream dblocks likewise. Everything is then computed in float64 on exactly those values. Stored: the inputs
(F32), blocks and L_dist (F64), and the gradient of each parameter as d/<name> (F64).
The math is bayes_torch.py's (encoder, planar_flow, context_flow_params, log_q0), composed here as
the module does: Encoder mu = MLP3_m(x), v = exp(0.5 MLP3_h(x)) used as the variance; z0 = mu + sqrt(v) eps;
planar steps z += u tanh(w.z + b), logdet += log(|1 + (1 - tanh^2)(w.u)| + 1e-5); context u, w, b = Linear(g)
per image; states from the shared state_encoder on their own state vector with free u, w, b, one sample for the
batch; KL terms without the 2 pi constants, the states' log-det divided by N; L_dist = 0.01 (KL_ctx + KL_nrm +
KL_abn); block half*B*N + i*B + b = [ctx[b] + zc[i]; state_half[b] + z_half].
"""
import argparse
import math

import torch

import bayes_torch as bt
import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--embed", type=int, default=19)
p.add_argument("--hidden", type=int, default=11)
p.add_argument("--steps", type=int, default=4)
p.add_argument("--bank", type=int, default=3)
p.add_argument("--tokens", type=int, default=3)
p.add_argument("--batch", type=int, default=3)
p.add_argument("--dist-upstream", type=float, default=1.0, help="weight of L_dist in L (the module's distUpstream)")
p.add_argument("--dblocks-scale", type=float, default=1.0, help="scale of the upstream dblocks")
a = p.parse_args()
torch.manual_seed(a.seed)
C, H, K, B, S, N = a.embed, a.hidden, a.steps, a.bank, a.tokens, a.batch
out, params = {}, {}


def draw(*shape, scale=1.0, mean=0.0):
    return (mean + torch.randn(*shape) * scale).float()


def param(name, *shape, scale=1.0, mean=0.0):
    x = draw(*shape, scale=scale, mean=mean)
    out[name] = x
    params[name] = x.double().requires_grad_(True)
    return params[name]


def mlp3(prefix):
    for i, (o, n) in enumerate(((H, C), (H, H), (C, H))):
        param(f"{prefix}.module.{2 * i}.weight", o, n, scale=1 / math.sqrt(n))
        param(f"{prefix}.module.{2 * i}.bias", o, scale=0.1)


for enc in ("context_encoder", "state_encoder"):
    for head in ("weight_mean", "weight_log_variance"):
        mlp3(f"{enc}.{head}")
for name, mean in (("prompt_context", 0.0), ("prompt_state_normal", 0.5), ("prompt_state_abnormal", -0.5)):
    param(name, B, S, C, scale=0.02, mean=mean)
# Amortised layers: u ~ 0.3, w ~ 0.5/sqrt(C), b ~ 0.3 per entry for g ~ N(0, 1), so w.z stays O(1).
for name, rows, w_scale in (("amor_u", K * C, 0.3), ("amor_w", K * C, 0.5 / math.sqrt(C)), ("amor_b", K, 0.3)):
    param(f"PFL_context.{name}.weight", rows, C, scale=w_scale / math.sqrt(C))
    param(f"PFL_context.{name}.bias", rows, scale=0.1 * w_scale)
for s in ("PFL_normal", "PFL_abnormal"):
    param(f"{s}.state", 1, C)
    param(f"{s}.amor_u", 1, K, C, scale=0.3)
    param(f"{s}.amor_w", 1, K, C, scale=0.5 / math.sqrt(C))
    param(f"{s}.amor_b", 1, K, scale=0.3)

g32, eps32, dblocks32 = draw(N, C), draw(N + 2, C), draw(2 * B * N, 2 * S, C, scale=a.dblocks_scale)
out["g"], out["eps"], out["dblocks"] = g32, eps32, dblocks32
g, eps, dblocks = g32.double(), eps32.double(), dblocks32.double()


def kl(mu, v, z0, zk, logdet, qa, qb):
    return qa * (bt.log_q0(mu, v, z0) + 0.5 * (zk ** 2).sum(-1)).sum() - qb * logdet.sum()


mu, v = bt.encoder(params, "context_encoder", g)
z0 = mu + torch.sqrt(v) * eps[:N]
zc, ld = bt.planar_flow(z0, *bt.context_flow_params(params, g, K))
l_dist = kl(mu, v, z0, zc, ld, 1 / N, 1 / N)
states = []
for row, s in ((N, "PFL_normal"), (N + 1, "PFL_abnormal")):
    mu, v = bt.encoder(params, "state_encoder", params[f"{s}.state"])
    z0 = mu + torch.sqrt(v) * eps[row:row + 1]
    zs, ld = bt.planar_flow(z0, params[f"{s}.amor_u"], params[f"{s}.amor_w"], params[f"{s}.amor_b"])
    l_dist = l_dist + kl(mu, v, z0, zs, ld, 1.0, 1 / N)
    states.append((params[f"prompt_state_{s[4:]}"], zs[0]))
l_dist = 0.01 * l_dist

ctx = params["prompt_context"]
blocks = torch.cat([torch.cat([ctx + zc[i][None, None], st_ + zs[None, None]], 1) for st_, zs in states for i in range(N)], 0)
((blocks * dblocks).sum() + a.dist_upstream * l_dist).backward()
out["blocks"], out["l_dist"] = blocks.detach(), l_dist.detach().reshape(1)
for name, t in params.items():
    out[f"d/{name}"] = t.grad
st.save(a.out, out, {"seed": a.seed, "embed": C, "hidden": H, "steps": K, "bank": B, "tokens": S, "batch": N})

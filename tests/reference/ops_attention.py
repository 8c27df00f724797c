"""Oracle for IBackend.Attention / AttentionBackward: softmax attention written plainly in float64.

Inputs are drawn in float32 (what the engine sees) and everything is computed in float64, so the only error
left in a comparison is the engine's own float32 rounding. Layout as in the engine: q[B,Nq,H*D],
k,v[B,Nk,H*D] -> o[B,Nq,H*D], lse[B,H,Nq]; gradients of sum(o * dout).
"""
import argparse

import torch

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--batch", type=int, default=2)
p.add_argument("--nq", type=int, default=7)
p.add_argument("--nk", type=int, default=7)
p.add_argument("--heads", type=int, default=2)
p.add_argument("--dim", type=int, default=8)
p.add_argument("--causal", type=int, default=0)
p.add_argument("--scale", type=float, default=None)
a = p.parse_args()
torch.manual_seed(a.seed)
scale = a.scale if a.scale is not None else a.dim ** -0.5
width = a.heads * a.dim

q, dout = (torch.randn(a.batch, a.nq, width) for _ in range(2))
k, v = (torch.randn(a.batch, a.nk, width) for _ in range(2))
q64, k64, v64 = (t.double().requires_grad_() for t in (q, k, v))


def split(t):  # [B,N,H*D] -> [B,H,N,D]
    return t.view(t.shape[0], t.shape[1], a.heads, a.dim).permute(0, 2, 1, 3)


s = split(q64) @ split(k64).transpose(-1, -2) * scale
if a.causal:
    s = s.masked_fill(torch.ones(a.nq, a.nk, dtype=torch.bool).triu(1), float("-inf"))
lse = torch.logsumexp(s, dim=-1)
o = (torch.softmax(s, dim=-1) @ split(v64)).permute(0, 2, 1, 3).reshape(a.batch, a.nq, width)
(o * dout.double()).sum().backward()
st.save(a.out, {"q": q, "k": k, "v": v, "dout": dout, "o": o, "lse": lse, "dq": q64.grad, "dk": k64.grad, "dv": v64.grad},
        metadata={"scale": repr(float(torch.tensor(scale, dtype=torch.float32)))})

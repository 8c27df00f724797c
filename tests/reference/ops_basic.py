"""Oracle for the basic ops (GEMM, LayerNorm, pointwise, softmax, L2 normalisation, erf).

For every op it writes the inputs, the forward outputs, an upstream gradient `<op>.dy` and the autograd
gradients of sum(out * dy) with respect to every input, all fp32 (PyTorch CPU), at small hostile shapes
(rows 7 and 2x7, widths 31, 33, 77: not multiples of 4 or 32). Tensor names: "<op>.<name>".
erf/erfc are written in fp64 over [-8, 27] for the C# Cody implementation.
"""
import argparse

import torch

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
a = p.parse_args()
torch.manual_seed(a.seed)
out = {}


def record(op, fn, inputs, extra=None):
    """Runs fn(**inputs) -> output (or tuple whose first item is differentiated), stores everything."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    res = fn(**leaves)
    y = res[0] if isinstance(res, tuple) else res
    dy = torch.randn_like(y)
    grads = torch.autograd.grad(y, list(leaves.values()), dy)
    for k, v in inputs.items():
        out[f"{op}.{k}"] = v
    out[f"{op}.y"] = y.detach()
    out[f"{op}.dy"] = dy
    for k, g in zip(leaves, grads):
        out[f"{op}.d{k}"] = g
    for k, v in (extra or {}).items():
        out[f"{op}.{k}"] = v


rand = torch.randn
record("linear", lambda x, w, b: torch.nn.functional.linear(x, w, b), {"x": rand(2, 7, 33), "w": rand(31, 33) * 0.2, "b": rand(31)})
record("linear_nobias", lambda x, w: torch.nn.functional.linear(x, w), {"x": rand(7, 77), "w": rand(33, 77) * 0.1})
record("bmm", lambda a, b: torch.bmm(a, b), {"a": rand(3, 7, 33), "b": rand(3, 33, 31)})
record("bmm_t", lambda a, b: torch.bmm(a, b.transpose(1, 2)), {"a": rand(3, 7, 33), "b": rand(3, 31, 33)})

# A large common offset, as in CLIP's residual stream, so that one-pass variance would cancel.
ln_x = rand(2, 7, 77) * 3 + 5
ln_g, ln_b = rand(77), rand(77)
mean, rstd = torch.native_layer_norm(ln_x, [77], ln_g, ln_b, 1e-5)[1:]
record("layernorm", lambda x, g, b: torch.nn.functional.layer_norm(x, [77], g, b, 1e-5), {"x": ln_x, "g": ln_g, "b": ln_b},
       {"mean": mean.reshape(-1), "rstd": rstd.reshape(-1)})

act_x = torch.cat([rand(33 * 77 - 6) * 3, torch.tensor([-9.0, -5.0, 0.0, 4.0, 8.0, 1e-3])]).reshape(33, 77)
record("gelu_erf", lambda x: torch.nn.functional.gelu(x), {"x": act_x})
record("gelu_quick", lambda x: x * torch.sigmoid(1.702 * x), {"x": act_x})
record("add", lambda a, b: a + b, {"a": rand(7, 33), "b": rand(7, 33)})
record("softmax", lambda x: torch.softmax(x, dim=-1), {"x": rand(7, 77) * 4})
record("l2norm", lambda x: x / x.norm(dim=-1, keepdim=True), {"x": rand(7, 77)})
out["l2norm.norm"] = out["l2norm.x"].norm(dim=-1)
sp_x = torch.cat([rand(7 * 33 - 6) * 10, torch.tensor([-30.0, -19.0, 19.5, 20.5, 25.0, 0.0])]).reshape(7, 33)
record("softplus", lambda x: torch.nn.functional.softplus(x), {"x": sp_x})
record("tanh", lambda x: torch.tanh(x), {"x": rand(7, 33) * 2})

xs = torch.linspace(-8, 27, 3501, dtype=torch.float64)
out["erf.x"], out["erf.erf"], out["erf.erfc"] = xs, torch.special.erf(xs), torch.special.erfc(xs)

st.save(a.out, out, metadata={"seed": a.seed})

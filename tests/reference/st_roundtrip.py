"""Writes one tensor in every float dtype plus an int64 tensor, to test the C# safetensors reader."""
import argparse

import torch

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
a = p.parse_args()
torch.manual_seed(a.seed)
x = torch.randn(3, 5, 7)
i = torch.randint(-1000, 1000, (11,))
st.save(a.out, {"x": x, "x_f16": x.half(), "x_bf16": x.bfloat16(), "x_f64": x.double(), "i64": i, "i64_as_f32": i.float()},
        metadata={"oracle": "yes"})

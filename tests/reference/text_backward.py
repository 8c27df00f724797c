"""Oracle for TextTowerTraining (spec 4.4, 9.4): the spliced text tower's features and their gradient with respect
to the spliced prompt vectors only, by autograd in float64.

A tiny CLIP comes from clip_towers.py (imported with its own flags, as pipeline_oracle.py does, so the weights, their
names, the ClipConfig metadata and the block math are that script's); its text tower is then run over the whole
77-token context in float64 on n prompts whose "X name" ids differ (names of the given lengths, used in turn), each
with its own J spliced vectors. Writes, besides clip_towers.py's weights file (metadata "weights"):
    in.ids [n,77] int64      in.inject [n,J,Wt]      in.dfeatures [n,E]   (the weighting W of the loss)
    out.features [n,E]       out.dinject [n,J,Wt] = d(sum(features * W)) / d inject
Inputs are drawn in float32 and widened, so the engine sees exactly the values the oracle differentiated at.
"""
import argparse
import os
import sys

import torch

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--text-width", type=int, default=32)
p.add_argument("--text-layers", type=int, default=2)
p.add_argument("--text-heads", type=int, default=2)
p.add_argument("--vocab", type=int, default=100)
p.add_argument("--embed", type=int, default=24)
p.add_argument("--gelu", choices=["erf", "quick"], default="erf")
p.add_argument("--prompts", type=int, default=3)
p.add_argument("--name-lens", default="1,3,2", help="class-name token counts, one distinct name each, used in turn")
p.add_argument("--inject-len", type=int, default=4, help="J vectors replacing the X token")
a = p.parse_args()

out_dir = os.path.dirname(os.path.abspath(a.out))
sys.argv = ["clip_towers.py", "--out", os.path.join(out_dir, "clip_debug.safetensors"), "--seed", str(a.seed), "--plain-matmul",
            "--width", "32", "--layers", "1", "--heads", "2", "--taps", "1",
            "--text-width", str(a.text_width), "--text-layers", str(a.text_layers), "--text-heads", str(a.text_heads),
            "--vocab", str(a.vocab), "--embed", str(a.embed), "--gelu", a.gelu]
import clip_towers as ct  # noqa: E402

torch.set_grad_enabled(True)
torch.manual_seed(a.seed + 1)
ct.w = {k: v.double() for k, v in ct.w.items()}   # text_features reads the module's weights: run it in float64
w, CTX, J, V = ct.w, ct.CTX, a.inject_len, ct.V

name_lens = [int(s) for s in a.name_lens.split(",")]
names = [ct.prompt(torch.randint(1, V - 2, (1 + k,))) for k in name_lens]   # "SOS X name... EOT"
ids = torch.stack([names[i % len(names)] for i in range(a.prompts)])
inject = (torch.randn(a.prompts, J, ct.Wt) * 0.5).double().requires_grad_()
weight = torch.randn(a.prompts, ct.E).double()

emb = w["token_embedding.weight"][ids]                                             # [n,77,Wt]
seq = torch.cat([emb[:, 0:1], inject, emb[:, 2:CTX - J + 1]], dim=1)               # spec 4.4 splice
assert seq.shape[1] == CTX
features = ct.text_features(seq, ids.argmax(-1) + J - 1)
(features * weight).sum().backward()

st.save(a.out, {
    "in.ids": ids,
    "in.inject": inject.detach().float(),
    "in.dfeatures": weight.float(),
    "out.features": features.detach().float(),
    "out.dinject": inject.grad.float(),
}, {"weights": ct.weights_path})

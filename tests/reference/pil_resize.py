"""Oracle for image decoding and preprocessing (spec §2), using PIL exactly as the Bayes-PFL pipeline does.

Usage: pil_resize.py --out FILE --seed N --in MANIFEST.json
MANIFEST: {"images": [[path, out_w, out_h], ...], "maps": [[in_h, in_w, out_h, out_w, align_corners], ...]}

Per image i:
  decode.i   uint8 [H,W,3]    Image.open(path).convert("RGB")
  rgb.i      uint8 [oh,ow,3]  .resize((ow, oh), Image.BICUBIC)
  norm.i     f32   [3,oh,ow]  torchvision ToTensor then Normalize(CLIP mean, std), restated: float32 v/255,
                              then (x - mean) / std in float32 (torchvision is not installed here)
  gray.i     uint8 [oh,ow]    Image.open(path).convert("L").resize((ow, oh), Image.BILINEAR)  (mask path)
  mask.i     f32   [oh,ow]    (gray / 255 > 0.5) as 0/1
Per map j: map_in.j f32 [in_h,in_w] (random, from --seed), map_out.j = F.interpolate(bilinear, no antialias).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st  # noqa: E402

MEAN = torch.tensor([0.48145466, 0.4578275, 0.40821073], dtype=torch.float32).view(3, 1, 1)
STD = torch.tensor([0.26862954, 0.26130258, 0.27577711], dtype=torch.float32).view(3, 1, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--in", dest="inp", required=True)
    args = ap.parse_args()
    with open(args.inp) as f:
        manifest = json.load(f)
    out = {}
    for i, (path, ow, oh) in enumerate(manifest.get("images", [])):
        with Image.open(path) as im:
            rgb = im.convert("RGB")
        with Image.open(path) as im:
            gray = im.convert("L")
        small = rgb.resize((ow, oh), Image.BICUBIC)
        u8 = torch.from_numpy(np.asarray(small, dtype=np.uint8).copy())
        x = u8.permute(2, 0, 1).contiguous().to(torch.float32).div(255)
        g = torch.from_numpy(np.asarray(gray.resize((ow, oh), Image.BILINEAR), dtype=np.uint8).copy())
        out[f"decode.{i}"] = torch.from_numpy(np.asarray(rgb, dtype=np.uint8).copy())
        out[f"rgb.{i}"] = u8
        out[f"norm.{i}"] = (x - MEAN) / STD
        out[f"gray.{i}"] = g
        out[f"mask.{i}"] = (g.to(torch.float32) / 255 > 0.5).to(torch.float32)
    gen = torch.Generator().manual_seed(args.seed)
    for j, (ih, iw, oh, ow, align) in enumerate(manifest.get("maps", [])):
        m = torch.rand(ih, iw, generator=gen, dtype=torch.float32)
        out[f"map_in.{j}"] = m
        out[f"map_out.{j}"] = F.interpolate(m[None, None], size=(oh, ow), mode="bilinear", align_corners=bool(align))[0, 0]
    st.save(args.out, out)


if __name__ == "__main__":
    main()

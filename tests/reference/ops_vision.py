"""Oracle for IBackend.PatchEmbed (F.conv2d, stride = kernel, no bias) and UpsampleBilinear(+Backward)
(F.interpolate, bilinear, align_corners=True), computed in float64 from float32 inputs.

--op patch: image[B,Cin,H,W], w[C,Cin,p,p] -> y[B,P,C] (P row-major over the patch grid).
--op upsample: x[M,h,w] -> y[M,H,W]; dx = gradient of sum(y * dy).
"""
import argparse

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--op", choices=["patch", "upsample"], required=True)
p.add_argument("--batch", type=int, default=2)
p.add_argument("--cin", type=int, default=3)
p.add_argument("--height", type=int, default=28)
p.add_argument("--width", type=int, default=42)
p.add_argument("--channels", type=int, default=5)
p.add_argument("--patch", type=int, default=14)
p.add_argument("--out-height", type=int, default=9)
p.add_argument("--out-width", type=int, default=13)
a = p.parse_args()
torch.manual_seed(a.seed)

if a.op == "patch":
    image = torch.randn(a.batch, a.cin, a.height, a.width)
    w = torch.randn(a.channels, a.cin, a.patch, a.patch) * (a.cin * a.patch * a.patch) ** -0.5
    y = F.conv2d(image.double(), w.double(), stride=a.patch).flatten(2).transpose(1, 2)
    st.save(a.out, {"image": image, "w": w, "y": y})
else:
    x = torch.randn(a.batch, a.height, a.width)
    dy = torch.randn(a.batch, a.out_height, a.out_width)
    x64 = x.double().requires_grad_()
    y = F.interpolate(x64[None], size=(a.out_height, a.out_width), mode="bilinear", align_corners=True)[0]
    (y * dy.double()).sum().backward()
    st.save(a.out, {"x": x, "dy": dy, "y": y, "dx": x64.grad})

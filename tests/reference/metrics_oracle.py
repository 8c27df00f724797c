"""Oracle for src/Engine/Metrics: scikit-learn 1.2 / SciPy results on generated data.

Cases (--case):
  binary  scores + labels of --kind random | ties | tiny | imbalanced | allpos | clustered, --n samples: roc_auc_score,
          average_precision_score, and F1-max over precision_recall_curve with --eps (the reference code's
          formula), its threshold and the IoU there.
  aupro   --images maps of --h x --w with blob masks: AUPRO as MVTec's reference defines it (8-connected
          regions, every distinct score a threshold, trapezoid up to FPR 0.3 with interpolation, / 0.3) and the
          Bayes-PFL variant (200 thresholds, strict '>', FPR < 0.3 kept and rescaled, sklearn auc). Both are
          written plainly from their definitions here, with scipy.ndimage.label for the regions.
  blur    scipy.ndimage.gaussian_filter(sigma=8, truncate=4, mode='reflect') of a float32 --h x --w map.
  topk    mean of the --k largest of --n float32 values (float64 sum of np.sort's tail).
  fuse    the spec §8 image score 0.5*minmax(p) + 0.5*minmax(s) and minmax(p), float64.
"""
import argparse

import numpy as np
import torch
from scipy import ndimage
from sklearn import metrics

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--case", required=True)
p.add_argument("--kind", default="random")
p.add_argument("--n", type=int, default=1000)
p.add_argument("--k", type=int, default=20)
p.add_argument("--images", type=int, default=6)
p.add_argument("--h", type=int, default=40)
p.add_argument("--w", type=int, default=33)
p.add_argument("--eps", type=float, default=1e-8)
p.add_argument("--levels", type=int, default=0, help="quantise AUPRO maps to this many levels (ties)")
a = p.parse_args()
rng = np.random.default_rng(a.seed)
out = {}


def f64(x):
    return torch.tensor(np.atleast_1d(np.asarray(x, dtype=np.float64)))


def binary_case():
    n = a.n
    if a.kind == "tiny":
        scores = rng.choice(np.array([0.25, 0.5], np.float32), n)
        labels = rng.permutation(np.arange(n) % 2).astype(np.uint8)
    else:
        labels = (rng.random(n) < {"imbalanced": 0.01, "allpos": 2.0}.get(a.kind, 0.3)).astype(np.uint8)
        labels[rng.integers(n)] = 1
        scores = (rng.normal(size=n) + 1.2 * labels).astype(np.float32)
        if a.kind == "ties":
            scores = np.round(scores * 2).astype(np.float32) / 2
        if a.kind == "clustered":  # one 16-bit key bucket: exercises the counting sort of large buckets
            scores = (0.5 + 0.0039 * rng.random(n) ** (1 + labels)).astype(np.float32)
    if len(np.unique(labels)) == 2:
        out["auroc"] = f64(metrics.roc_auc_score(labels, scores))
    out["ap"] = f64(metrics.average_precision_score(labels, scores))
    precision, recall, thresholds = metrics.precision_recall_curve(labels, scores)
    f1 = (2 * precision * recall) / (precision + recall + a.eps)
    best = np.argmax(f1)
    out["f1"] = f64(f1[best])
    out["f1_threshold"] = torch.tensor(np.float32([thresholds[best]]))
    pred = scores >= thresholds[best]
    out["iou"] = f64(np.sum(pred & (labels == 1)) / np.sum(pred | (labels == 1)))
    out["scores"] = torch.from_numpy(scores)
    out["labels"] = torch.from_numpy(labels)


def blob_masks(m, h, w):
    masks = np.zeros((m, h, w), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    # A quarter of the images are defect-free, but never all of them: without a region AUPRO is NaN (0/0), a
    # case the tests check on their own; here it would make 1 run in 64 of a 3-image case compare NaN to NaN.
    normal = rng.random(m) < 0.25
    normal[rng.integers(m)] = False
    for i in range(m):
        if normal[i]:
            continue
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(0, h), rng.uniform(0, w)
            ry, rx = rng.uniform(0.5, max(h / 4, 1.0)), rng.uniform(0.5, max(w / 4, 1.0))
            masks[i][((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = 1
        masks[i][rng.random((h, w)) < 0.01] = 1  # single pixels: diagonal-only contacts test 8-connectivity
    return masks


def mvtec_aupro(maps, masks, limit=0.3):
    structure = np.ones((3, 3), int)
    fp_step = np.zeros(maps.shape, np.float64)
    pro_step = np.zeros(maps.shape, np.float64)
    regions = 0
    for i in range(len(maps)):
        lab, n = ndimage.label(masks[i], structure)
        regions += n
        fp_step[i][lab == 0] = 1
        for k in range(1, n + 1):
            pro_step[i][lab == k] = 1.0 / np.sum(lab == k)
    order = np.argsort(-maps.ravel(), kind="stable")
    s = maps.ravel()[order]
    fpr = np.cumsum(fp_step.ravel()[order]) / fp_step.sum()
    pro = np.cumsum(pro_step.ravel()[order]) / regions
    last = np.append(s[1:] != s[:-1], True)  # the point after every copy of a score is counted
    x = np.concatenate(([0.0], fpr[last], [1.0]))
    y = np.concatenate(([0.0], np.clip(pro[last], 0, 1), [1.0]))
    keep = x <= limit
    area = np.sum(0.5 * (y[keep][1:] + y[keep][:-1]) * np.diff(x[keep]))
    j = np.searchsorted(x, limit, side="right")  # first x > limit
    if x[j - 1] < limit:
        y_lim = y[j - 1] + (y[j] - y[j - 1]) * (limit - x[j - 1]) / (x[j] - x[j - 1])
        area += 0.5 * (y_lim + y[j - 1]) * (limit - x[j - 1])
    return area / limit, regions


def spec_aupro(maps, masks, steps=200, limit=0.3):
    lo, hi = float(maps.min()), float(maps.max())
    thresholds = lo + np.arange(steps) * ((hi - lo) / steps)
    labelled = [ndimage.label(m, np.ones((3, 3), int)) for m in masks]
    normal = masks == 0
    pros, fprs = [], []
    for t in thresholds:
        above = maps.astype(np.float64) > t
        fracs = [np.sum(above[i][lab == k]) / np.sum(lab == k) for i, (lab, n) in enumerate(labelled) for k in range(1, n + 1)]
        pros.append(np.mean(fracs))
        fprs.append(np.sum(above & normal) / np.sum(normal))
    pros, fprs = np.array(pros), np.array(fprs)
    keep = fprs < limit
    f = fprs[keep]
    f = (f - f.min()) / (f.max() - f.min())
    return metrics.auc(f, pros[keep])


def aupro_case():
    m, h, w = a.images, a.h, a.w
    masks = blob_masks(m, h, w)
    noise = ndimage.gaussian_filter(rng.normal(size=(m, h, w)), sigma=(0, 2, 2))
    maps = (noise / noise.std() + 1.5 * ndimage.gaussian_filter(masks.astype(np.float64), sigma=(0, 1, 1))).astype(np.float32)
    if a.levels:
        maps = (np.round((maps - maps.min()) / (maps.max() - maps.min()) * (a.levels - 1)) / (a.levels - 1)).astype(np.float32)
    out["maps"] = torch.from_numpy(maps)
    out["masks"] = torch.from_numpy(masks)
    mv, regions = mvtec_aupro(maps, masks)
    out["mvtec"] = f64(mv)
    out["regions"] = torch.tensor([regions])
    out["spec"] = f64(spec_aupro(maps, masks))


def blur_case():
    x = (rng.normal(size=(a.h, a.w)) * rng.uniform(0.1, 10)).astype(np.float32)
    out["x"] = torch.from_numpy(x)
    out["y"] = torch.from_numpy(ndimage.gaussian_filter(x, sigma=8, truncate=4.0, mode="reflect"))


def topk_case():
    x = rng.normal(size=a.n).astype(np.float32)
    if a.kind == "ties":
        x = np.round(x * 2).astype(np.float32)
    out["x"] = torch.from_numpy(x)
    out["mean"] = f64(np.sort(x)[-a.k:].astype(np.float64).sum() / min(a.k, a.n))


def fuse_case():
    pimg, smap = rng.random(a.n), rng.normal(size=a.n) * 3
    mm = lambda v: (v - v.min()) / (v.max() - v.min() + 1e-8)
    out.update(p=f64(pimg), s=f64(smap), fused=f64(0.5 * mm(pimg) + 0.5 * mm(smap)), minmax_p=f64(mm(pimg)))


{"binary": binary_case, "aupro": aupro_case, "blur": blur_case, "topk": topk_case, "fuse": fuse_case}[a.case]()
st.save(a.out, out, metadata={"case": a.case, "seed": a.seed})

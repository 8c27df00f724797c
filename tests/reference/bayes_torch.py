"""Differentiable, dtype-generic torch math of CLIP (spec 3, 4.1, 4.4) and the Bayes-PFL head (spec 5, 6, 7).

clip_towers.py and bayes_head.py compute forwards only (clip_towers under no-grad, with oneDNN GEMMs and
in-place per-head writes that autograd cannot follow, in float32); the training oracle needs the same math in
float64 with autograd, batched over prompts and images. Functions take weights as dicts of tensors: CLIP under
its engine names (clip_towers.py's state_dict names), the head under checkpoint names in ENGINE shapes
(HeadWeights.Table: amor_u/amor_w [1,K,C], amor_b [1,K], RCA.q_proj_pre.weight [C,C], temperatures [1]).
"""
import math

import torch
import torch.nn.functional as F

# ---------------------------------------------------------------- CLIP towers (spec 3, 4.1)


def gelu(x, kind="erf"):
    return x * torch.sigmoid(1.702 * x) if kind == "quick" else 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def layer_norm(x, w, b):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * w + b


def attention(x, wqkv, bqkv, wo, bo, heads, causal):
    """Packed-QKV multi-head self-attention over x [B,T,C]: softmax(q k^T / sqrt(D) + mask) v, then out-projection."""
    B, T, C = x.shape
    D = C // heads
    q, k, v = (x @ wqkv.T + bqkv).split(C, dim=-1)
    q, k, v = (t.reshape(B, T, heads, D).transpose(1, 2) for t in (q, k, v))   # [B,H,T,D]
    s = q @ k.transpose(-1, -2) / math.sqrt(D)
    if causal:
        s = s + torch.full((T, T), float("-inf"), dtype=x.dtype).triu(1)
    o = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    return o @ wo.T + bo


def block(x, w, pre, heads, causal, gelu_kind="erf"):
    g = lambda n: w[pre + n]  # noqa: E731
    x = x + attention(layer_norm(x, g("ln_1.weight"), g("ln_1.bias")), g("attn.in_proj_weight"), g("attn.in_proj_bias"),
                      g("attn.out_proj.weight"), g("attn.out_proj.bias"), heads, causal)
    h = gelu(layer_norm(x, g("ln_2.weight"), g("ln_2.bias")) @ g("mlp.c_fc.weight").T + g("mlp.c_fc.bias"), gelu_kind)
    return x + h @ g("mlp.c_proj.weight").T + g("mlp.c_proj.bias")


def vision(w, images, patch, layers, heads, tap_layers, gelu_kind="erf"):
    """images [N,3,S,S] -> g [N,E] (ln_post(CLS) @ proj) and the raw residual after each 1-based tap layer, CLS
    dropped: list of [N,grid^2,W] (spec 3)."""
    N = images.shape[0]
    Wd = w["visual.conv1.weight"].shape[0]
    x = F.conv2d(images, w["visual.conv1.weight"], stride=patch)
    x = x.reshape(N, Wd, -1).transpose(1, 2)                                  # row-major patch order
    x = torch.cat([w["visual.class_embedding"].expand(N, 1, Wd), x], dim=1) + w["visual.positional_embedding"]
    x = layer_norm(x, w["visual.ln_pre.weight"], w["visual.ln_pre.bias"])
    taps = []
    for l in range(layers):
        x = block(x, w, f"visual.transformer.resblocks.{l}.", heads, False, gelu_kind)
        if l + 1 in tap_layers:
            taps.append(x[:, 1:, :])
    g = layer_norm(x[:, 0, :], w["visual.ln_post.weight"], w["visual.ln_post.bias"]) @ w["visual.proj"]
    return g, taps


def splice(w, ids, inject):
    """Spec 4.4: ids [M,CTX] of "SOS X name... EOT", inject [M,J,Wt] replaces the X token; returns the input
    sequence [M,CTX,Wt] (tail of the padding dropped) and the shifted EOT index [M]."""
    M, J = inject.shape[0], inject.shape[1]
    ctx = ids.shape[1]
    emb = w["token_embedding.weight"][ids]
    seq = torch.cat([emb[:, 0:1], inject, emb[:, 2:ctx - J + 1]], dim=1)
    return seq, ids.argmax(-1) + J - 1


def text_features(w, seq, eot, layers, heads, gelu_kind="erf"):
    """Text tower over the whole context (spec 4.1): ln_final at the EOT row, @ text_projection -> [M,E]."""
    x = seq + w["positional_embedding"]
    for l in range(layers):
        x = block(x, w, f"transformer.resblocks.{l}.", heads, True, gelu_kind)
    x = layer_norm(x, w["ln_final.weight"], w["ln_final.bias"])
    return x[torch.arange(x.shape[0]), eot] @ w["text_projection"]


# ---------------------------------------------------------------- head (spec 5, 7)


def mlp3(p, prefix, x):
    """Linear, Softplus, Linear, Softplus, Linear (spec 5.1)."""
    x = F.softplus(x @ p[f"{prefix}.module.0.weight"].T + p[f"{prefix}.module.0.bias"])
    x = F.softplus(x @ p[f"{prefix}.module.2.weight"].T + p[f"{prefix}.module.2.bias"])
    return x @ p[f"{prefix}.module.4.weight"].T + p[f"{prefix}.module.4.bias"]


def encoder(p, prefix, x):
    """mu and v = exp(0.5 h); v is used as the VARIANCE downstream (spec 5.1, 14.4)."""
    return mlp3(p, f"{prefix}.weight_mean", x), torch.exp(0.5 * mlp3(p, f"{prefix}.weight_log_variance", x))


def planar_flow(z0, u, w, b):
    """z0 [M,C]; u, w [M or 1, K, C]; b [M or 1, K] -> zK [M,C], total log-det [M] (spec 5.2, |.| + 1e-5)."""
    z, logdet = z0, torch.zeros(z0.shape[0], dtype=z0.dtype)
    for k in range(u.shape[1]):
        t = torch.tanh((w[:, k] * z).sum(-1) + b[:, k])
        logdet = logdet + torch.log(torch.abs(1 + (1 - t * t) * (w[:, k] * u[:, k]).sum(-1)) + 1e-5)
        z = z + u[:, k] * t[:, None]
    return z, logdet


def context_flow_params(p, g, K):
    """Amortised flow parameters of the image-specific distribution from g [N,C] (spec 5.3): u, w [N,K,C], b [N,K]."""
    lin = lambda n: g @ p[f"PFL_context.{n}.weight"].T + p[f"PFL_context.{n}.bias"]  # noqa: E731
    N, C = g.shape
    return lin("amor_u").view(N, K, C), lin("amor_w").view(N, K, C), lin("amor_b").view(N, K)


def log_q0(mu, v, z0):
    """sum_d -0.5 (log v + (z0 - mu)^2 / v) per row, without the 2 pi constant (spec 5.6)."""
    return (-0.5 * (torch.log(v) + (z0 - mu) ** 2 / v)).sum(-1)


def rca(p, text, keys_in, j, heads):
    """Spec 7.2 batched over images: text [N,M,C], keys_in [N,P,Cv] -> (T' [N,M,C], K [N,P,C])."""
    C = text.shape[-1]
    keys = F.normalize(keys_in @ p[f"RCA.linear_proj.{j}.weight"].T, dim=-1)
    q = text @ p["RCA.q_proj_pre.weight"].T + p["RCA.q_proj_pre.bias"]
    hd = C // heads
    outs = []
    for h in range(heads):
        sl = slice(h * hd, (h + 1) * hd)
        att = torch.softmax(q[..., sl] @ keys[..., sl].transpose(-1, -2) * C ** -0.5, dim=-1)
        outs.append(att @ keys[..., sl])
    return F.normalize(torch.cat(outs, -1) + text, dim=-1), keys


def seg_losses(logits, mask):
    """Class-balanced focal (gamma 2) and dice on the abnormal channel, pooled over the batch (spec 9.2).
    logits [N,2,S,S] (channel 1 abnormal), mask [N,S,S] 0/1."""
    prob = torch.softmax(logits, dim=1)
    g = mask > 0.5
    pt = torch.where(g, prob[:, 1], prob[:, 0])
    fl = -(1 - pt) ** 2 * torch.log(pt + 1e-8)
    focal = fl[g].sum() / (g.sum() + 1e-8) + fl[~g].sum() / ((~g).sum() + 1e-8)
    gf = g.to(prob.dtype)
    dice = 1 - (2 * (prob[:, 1] * gf).sum() + 1e-5) / (prob[:, 1].sum() + gf.sum() + 1e-5)
    return focal, dice

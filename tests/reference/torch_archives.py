"""Writes a tiny CLIP-shaped model in every checkpoint format the converter reads, plus the expected engine tensors.

Files go to --dir: sd_f32.pt (torch.save of an OpenAI-named state_dict holding a transposed view and two tensors
sharing one storage), sd_f16.pt, wrapped.pt ({'state_dict': sd}), openclip.pt (open_clip training checkpoint:
"module." prefix, optimizer state), jit.pt (torch.jit.trace of a module with OpenAI's attribute tree, mixed
fp16/fp32 like OpenAI's released archives), scripted.pt (torch.jit.script of it, fp32), hf.safetensors (HuggingFace CLIPModel names), legacy.pt (pre-1.6
format) and hostile files (malicious globals, absurd length, truncated zip, truncated data entry).

--out gets the expectations: sd/<name> (every tensor of sd_f32.pt, contiguous fp32), expect32/<canonical>
(engine tensors without fp16 rounding), expect16/<canonical> (with the original loader's fp16 rounding),
expecth/<canonical> (from the fp16 copy), and resize/* pairs for the antialiased bicubic resize.
"""
import argparse
import copy
import io
import os
import struct
import zipfile
from collections import OrderedDict

import torch
import torch.nn.functional as F

import st

p = argparse.ArgumentParser()
p.add_argument("--out", required=True)
p.add_argument("--seed", type=int, required=True)
p.add_argument("--dir", required=True)
a = p.parse_args()
torch.manual_seed(a.seed)
os.makedirs(a.dir, exist_ok=True)

VW, VL, PATCH, IMG, RUN_IMG = 64, 2, 14, 56, 70       # vision: grid 4 in the file, grid 5 at run size
TW, TL, VOCAB, CTX, EMBED = 32, 2, 100, 77, 48


class Block(torch.nn.Module):
    def __init__(self, w, mask=None):
        super().__init__()
        self.attn = torch.nn.MultiheadAttention(w, 2)
        self.ln_1 = torch.nn.LayerNorm(w)
        self.mlp = torch.nn.Sequential(OrderedDict([("c_fc", torch.nn.Linear(w, 4 * w)), ("gelu", torch.nn.GELU()),
                                                    ("c_proj", torch.nn.Linear(4 * w, w))]))
        self.ln_2 = torch.nn.LayerNorm(w)
        self.attn_mask = mask  # a plain tensor attribute, as in OpenAI's text tower: a constant once traced

    def forward(self, x):
        x = x + self.attn(self.ln_1(x), self.ln_1(x), self.ln_1(x), need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(torch.nn.Module):
    def __init__(self, w, layers, mask=None):
        super().__init__()
        self.resblocks = torch.nn.Sequential(*[Block(w, mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class Visual(torch.nn.Module):
    def __init__(self):
        super().__init__()
        g = IMG // PATCH
        self.conv1 = torch.nn.Conv2d(3, VW, PATCH, PATCH, bias=False)
        self.class_embedding = torch.nn.Parameter(torch.randn(VW))
        self.positional_embedding = torch.nn.Parameter(torch.randn(g * g + 1, VW))
        self.ln_pre = torch.nn.LayerNorm(VW)
        self.transformer = Transformer(VW, VL)
        self.ln_post = torch.nn.LayerNorm(VW)
        self.proj = torch.nn.Parameter(torch.randn(VW, EMBED))

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(2, 0, 1)
        x = torch.cat([self.class_embedding.expand(1, x.shape[1], -1), x]) + self.positional_embedding[:, None]
        x = self.transformer(self.ln_pre(x))
        return self.ln_post(x[0]) @ self.proj


class Clip(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.visual = Visual()
        mask = torch.full((CTX, CTX), float("-inf")).triu_(1)
        self.transformer = Transformer(TW, TL, mask)
        self.token_embedding = torch.nn.Embedding(VOCAB, TW)
        self.positional_embedding = torch.nn.Parameter(torch.randn(CTX, TW))
        self.ln_final = torch.nn.LayerNorm(TW)
        self.text_projection = torch.nn.Parameter(torch.randn(TW, EMBED))
        self.logit_scale = torch.nn.Parameter(torch.tensor(4.6052))
        for n, v in (("input_resolution", IMG), ("context_length", CTX), ("vocab_size", VOCAB)):
            self.register_buffer(n, torch.tensor(v))

    def forward(self, image, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.ln_final(self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2))
        t = x[torch.arange(x.shape[0]), text.argmax(-1)] @ self.text_projection
        return self.visual(image), t * self.logit_scale.exp()


def randomise(m):
    with torch.no_grad():
        for p_ in m.parameters():
            p_.copy_(torch.randn_like(p_) * 0.5)


FP16_GROUP = ("conv1.weight", "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias", "c_fc.weight",
              "c_fc.bias", "c_proj.weight", "c_proj.bias")


def in_fp16_group(name):
    return name.endswith(FP16_GROUP) or name in ("visual.proj", "text_projection")


model = Clip()
randomise(model)
sd = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
# A transposed (non-contiguous) view and two tensors sharing one storage at different offsets.
sd["visual.proj"] = sd["visual.proj"].t().contiguous().t()
shared = torch.cat([sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"]])
sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"] = shared[:VW], shared[VW:]
assert not sd["visual.proj"].is_contiguous()
sd["prompt_text_projection"] = torch.randn(EMBED, EMBED)  # Bayes-PFL's unused extra
sd._metadata = model.state_dict()._metadata  # as in a real state_dict: pickled as BUILD state of the OrderedDict
torch.save(sd, os.path.join(a.dir, "sd_f32.pt"))
torch.save(OrderedDict((k, v.half() if v.is_floating_point() else v) for k, v in sd.items()), os.path.join(a.dir, "sd_f16.pt"))
torch.save({"state_dict": sd, "epoch": 3, "name": "tiny"}, os.path.join(a.dir, "wrapped.pt"))

# TorchScript, traced like OpenAI's archives, with OpenAI's mixed precision (fp16 linear/conv/attn/proj group).
traced = torch.jit.trace(copy.deepcopy(model), (torch.randn(1, 3, IMG, IMG), torch.randint(0, VOCAB, (1, CTX))))
with torch.no_grad():
    for n, p_ in traced.named_parameters():
        if in_fp16_group(n):
            p_.data = p_.data.half()
torch.jit.save(traced, os.path.join(a.dir, "jit.pt"))
# Scripted instead of traced: the text blocks' attn_mask stays a module attribute (no parameter), all fp32.
torch.jit.save(torch.jit.script(copy.deepcopy(model)), os.path.join(a.dir, "scripted.pt"))

opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
for p_ in model.parameters():
    p_.grad = torch.randn_like(p_)
opt.step()
torch.save({"epoch": 1, "name": "tiny", "state_dict": OrderedDict(("module." + k, v) for k, v in sd.items()),
            "optimizer": opt.state_dict()}, os.path.join(a.dir, "openclip.pt"))

# HuggingFace CLIPModel names.
hf = OrderedDict()
for tower, src, dst in (("vision", "visual.", "vision_model."), ("text", "", "text_model.")):
    layers = VL if tower == "vision" else TL
    for i in range(layers):
        s, d = f"{src}transformer.resblocks.{i}.", f"{dst}encoder.layers.{i}."
        for kind in ("weight", "bias"):
            q, k, v = sd[s + f"attn.in_proj_{kind}"].chunk(3)
            hf[d + f"self_attn.q_proj.{kind}"], hf[d + f"self_attn.k_proj.{kind}"], hf[d + f"self_attn.v_proj.{kind}"] = q, k, v
            hf[d + f"self_attn.out_proj.{kind}"] = sd[s + f"attn.out_proj.{kind}"]
            hf[d + f"layer_norm1.{kind}"] = sd[s + f"ln_1.{kind}"]
            hf[d + f"layer_norm2.{kind}"] = sd[s + f"ln_2.{kind}"]
            hf[d + f"mlp.fc1.{kind}"] = sd[s + f"mlp.c_fc.{kind}"]
            hf[d + f"mlp.fc2.{kind}"] = sd[s + f"mlp.c_proj.{kind}"]
for kind in ("weight", "bias"):
    hf[f"vision_model.pre_layrnorm.{kind}"] = sd[f"visual.ln_pre.{kind}"]
    hf[f"vision_model.post_layernorm.{kind}"] = sd[f"visual.ln_post.{kind}"]
    hf[f"text_model.final_layer_norm.{kind}"] = sd[f"ln_final.{kind}"]
hf["vision_model.embeddings.class_embedding"] = sd["visual.class_embedding"]
hf["vision_model.embeddings.patch_embedding.weight"] = sd["visual.conv1.weight"]
hf["vision_model.embeddings.position_embedding.weight"] = sd["visual.positional_embedding"]
hf["vision_model.embeddings.position_ids"] = torch.arange((IMG // PATCH) ** 2 + 1)[None]
hf["text_model.embeddings.token_embedding.weight"] = sd["token_embedding.weight"]
hf["text_model.embeddings.position_embedding.weight"] = sd["positional_embedding"]
hf["text_model.embeddings.position_ids"] = torch.arange(CTX)[None]
hf["visual_projection.weight"] = sd["visual.proj"].t()
hf["text_projection.weight"] = sd["text_projection"].t()
hf["logit_scale"] = sd["logit_scale"]
st.save(os.path.join(a.dir, "hf.safetensors"), hf, {"format": "pt"})

torch.save(OrderedDict([("x", torch.ones(3))]), os.path.join(a.dir, "legacy.pt"), _use_new_zipfile_serialization=False)


def pickle_zip(name, pkl):
    with zipfile.ZipFile(os.path.join(a.dir, name), "w") as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/version", "3\n")


# GLOBAL os.system + REDUCE; STACK_GLOBAL builtins.eval; a BINUNICODE claiming ~4 GB.
pickle_zip("evil_global.pt", b"\x80\x02cos\nsystem\nq\x00X\x0b\x00\x00\x00echo pwned!\x85R.")
pickle_zip("evil_stack_global.pt", b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x041+1\x85R.")
pickle_zip("absurd_length.pt", b"\x80\x02}X\xf0\xff\xff\xffabc")
# A zip directory that claims the 50-byte data.pkl unpacks to 100 MB (uncompressed size field at byte 24 of its central header).
z = bytearray(open(os.path.join(a.dir, "evil_global.pt"), "rb").read())
cd = z.index(b"PK\x01\x02")
z[cd + 24:cd + 28] = struct.pack("<I", 100_000_000)
open(os.path.join(a.dir, "huge_claim.pt"), "wb").write(bytes(z))
raw = open(os.path.join(a.dir, "sd_f32.pt"), "rb").read()
open(os.path.join(a.dir, "truncated.pt"), "wb").write(raw[: len(raw) * 3 // 5])
with zipfile.ZipFile(os.path.join(a.dir, "sd_f32.pt")) as zin, zipfile.ZipFile(os.path.join(a.dir, "truncated_entry.pt"), "w") as zout:
    for info in zin.infolist():
        data = zin.read(info.filename)
        zout.writestr(info.filename, data[: len(data) // 2] if info.filename.endswith("/data/0") else data)


def resize_pos(pos, grid):
    g = int(round((pos.shape[0] - 1) ** 0.5))
    img = pos[1:].reshape(1, g, g, -1).permute(0, 3, 1, 2)
    out = F.interpolate(img, size=(grid, grid), mode="bicubic", antialias=True, align_corners=False)
    return torch.cat([pos[:1], out.permute(0, 2, 3, 1).reshape(grid * grid, -1)])


def canonical(source, round16):
    out = OrderedDict()
    for k, v in source.items():
        if k in ("logit_scale", "input_resolution", "context_length", "vocab_size", "prompt_text_projection"):
            continue
        v = v.half() if round16 and in_fp16_group(k) else v
        out[k] = v.float()
    out["visual.positional_embedding"] = resize_pos(out["visual.positional_embedding"], RUN_IMG // PATCH)
    return out


expect = {}
for k, v in sd.items():
    expect["sd/" + k] = v.float()
for prefix, src, r in (("expect32/", sd, False), ("expect16/", sd, True),
                       ("expecth/", {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, False)):
    for k, v in canonical(src, r).items():
        expect[prefix + k] = v
for tag, c, g_in, g_out in (("up", 6, 4, 5), ("down", 6, 5, 3), ("vitl", 5, 24, 37), ("odd", 3, 7, 2)):
    x = torch.randn(g_in * g_in + 1, c)
    expect[f"resize/{tag}_in"] = x
    expect[f"resize/{tag}_out"] = resize_pos(x, g_out)
st.save(a.out, expect, {"vision_width": VW, "text_width": TW, "image": IMG, "run_image": RUN_IMG})

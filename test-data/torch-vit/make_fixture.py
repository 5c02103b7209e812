#!/usr/bin/env python3
"""A small PyTorch reference of the two ViT flavours mimtf maps to, with timm's parameter names.

BEiT flavour (timm `Beit`, official BEiT / BEiT v2): q_bias/v_bias (no key bias), relative position
bias (per block `blocks.i.attn.relative_position_bias_table`, or shared `rel_pos_bias.*`), layer scale
`gamma_1`/`gamma_2`, no absolute positions. Plain flavour (timm `VisionTransformer`, MAE): one
`attn.qkv.bias`, absolute `pos_embed` [1, N+1, D] (learned or 2-D sin-cos), optional `ls1.gamma`.
Both: `cls_token`, `patch_embed.proj` (conv), pre-norm blocks, LayerNorm eps 1e-6, exact GELU, final
`norm` on every token. Written from the papers' and timm's definitions; no timm on this machine.

  python3 make_fixture.py            # writes the committed fixture next to this file
  python3 make_fixture.py odd        # only odd.pth (strided, offset, half, bf16, int64 storages)
  python3 make_fixture.py check --weights W.safetensors --images X.npy --features PREFIX --heads H
                                     # loads a mimtf export strictly and compares with mimtf's outputs
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def relative_position_index(gh, gw):
    """BEiT's index: query - key offsets, then CLS->patch R-3, patch->CLS R-2, CLS->CLS R-1."""
    coords = torch.stack(torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij"))
    flat = torch.flatten(coords, 1)
    rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    rel[:, :, 0] += gh - 1
    rel[:, :, 1] += gw - 1
    rel[:, :, 0] *= 2 * gw - 1
    num = (2 * gh - 1) * (2 * gw - 1) + 3
    idx = torch.zeros((gh * gw + 1,) * 2, dtype=torch.long)
    idx[1:, 1:] = rel.sum(-1)
    idx[0, 0:] = num - 3
    idx[0:, 0] = num - 2
    idx[0, 0] = num - 1
    return idx


class RelPosBias(nn.Module):
    def __init__(self, grid, heads):
        super().__init__()
        self.grid = grid
        num = (2 * grid - 1) ** 2 + 3
        self.relative_position_bias_table = nn.Parameter(torch.zeros(num, heads))
        self.register_buffer("relative_position_index", relative_position_index(grid, grid), persistent=False)

    def forward(self):
        n = self.grid * self.grid + 1
        b = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return b.permute(2, 0, 1).contiguous()


class Attention(nn.Module):
    def __init__(self, dim, heads, beit, qkv_bias, grid=None, per_block_rel=False):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.beit = beit
        self.qkv = nn.Linear(dim, dim * 3, bias=(qkv_bias and not beit))
        if beit and qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(dim))
            self.v_bias = nn.Parameter(torch.zeros(dim))
        else:
            self.q_bias = None
        if per_block_rel:
            self.rel = RelPosBias(grid, heads)
        else:
            self.rel = None
        self.proj = nn.Linear(dim, dim)


    def forward(self, x, shared_bias=None):
        b, t, d = x.shape
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.q_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias if bias is not None else self.qkv.bias)
        qkv = qkv.reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.rel is not None:
            attn = attn + self.rel().unsqueeze(0)
        if shared_bias is not None:
            attn = attn + shared_bias.unsqueeze(0)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(b, t, d)
        return self.proj(x)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact (erf)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Block(nn.Module):
    def __init__(self, dim, heads, mlp, beit, qkv_bias, layer_scale, grid, per_block_rel):
        super().__init__()
        self.beit = beit
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, beit, qkv_bias, grid, per_block_rel)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp)
        self.gamma_1 = self.gamma_2 = None
        self.ls1 = self.ls2 = None
        if layer_scale and beit:
            self.gamma_1 = nn.Parameter(torch.ones(dim))
            self.gamma_2 = nn.Parameter(torch.ones(dim))
        elif layer_scale:
            self.ls1 = LayerScale(dim)
            self.ls2 = LayerScale(dim)

    def forward(self, x, shared_bias=None):
        a = self.attn(self.norm1(x), shared_bias)
        if self.gamma_1 is not None:
            a = self.gamma_1 * a
        elif self.ls1 is not None:
            a = self.ls1(a)
        x = x + a
        m = self.mlp(self.norm2(x))
        if self.gamma_2 is not None:
            m = self.gamma_2 * m
        elif self.ls2 is not None:
            m = self.ls2(m)
        return x + m


class PatchEmbed(nn.Module):
    def __init__(self, patch, chans, dim):
        super().__init__()
        self.proj = nn.Conv2d(chans, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class ViT(nn.Module):
    """flavour 'beit' or 'vit'; rel 'none' | 'shared' | 'per_block'; pos 'none' | 'learned' | 'sincos'."""

    def __init__(self, img, patch, chans, dim, depth, heads, mlp, flavour, rel="none", pos="learned",
                 qkv_bias=True, layer_scale=False):
        super().__init__()
        beit = flavour == "beit"
        self.grid = img // patch
        self.patch_embed = PatchEmbed(patch, chans, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        n = self.grid * self.grid
        self.pos_embed = None
        if pos == "learned":
            self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        elif pos == "sincos":
            self.pos_embed = nn.Parameter(torch.from_numpy(sincos_2d(dim, self.grid)).float().unsqueeze(0),
                                          requires_grad=False)
        self.rel_pos_bias = RelPosBias(self.grid, heads) if rel == "shared" else None
        self.blocks = nn.ModuleList([Block(dim, heads, mlp, beit, qkv_bias, layer_scale, self.grid,
                                           rel == "per_block") for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if self.pos_embed is not None:
            x = x + self.pos_embed
        shared = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        for blk in self.blocks:
            x = blk(x, shared)
        return self.norm(x)


def sincos_2d(dim, grid):
    """MAE's get_2d_sincos_pos_embed with a zero CLS row (first half: column index)."""
    gh = np.arange(grid, dtype=np.float32)
    gw = np.arange(grid, dtype=np.float32)
    g = np.meshgrid(gw, gh)
    g = np.stack(g, axis=0).reshape([2, 1, grid, grid])

    def one(d, pos):
        omega = np.arange(d // 2, dtype=np.float64) / (d / 2.0)
        omega = 1.0 / 10000 ** omega
        out = np.einsum("m,d->md", pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)

    emb = np.concatenate([one(dim // 2, g[0]), one(dim // 2, g[1])], axis=1)
    return np.concatenate([np.zeros([1, dim]), emb], axis=0)


def attn_param_names(model):
    """timm keeps the per-block table at blocks.i.attn.relative_position_bias_table."""
    return {k.replace("attn.rel.relative_position_bias_table", "attn.relative_position_bias_table"): v
            for k, v in model.state_dict().items()}


def load_timm_names(model, sd, strict=True):
    mapped = {k.replace("attn.relative_position_bias_table", "attn.rel.relative_position_bias_table"): v
              for k, v in sd.items()}
    return model.load_state_dict(mapped, strict=strict)


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if not p.requires_grad:
                continue
            if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=gen))
            elif "gamma" in name:
                p.copy_(0.5 + 0.2 * torch.randn(p.shape, generator=gen))
            elif "relative_position_bias_table" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
            elif name.endswith("weight") and p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p[0].numel()))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def write_safetensors(path, tensors, metadata=None):
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs = []
    off = 0
    for k, v in tensors.items():
        a = v.detach().cpu().numpy()
        dtype = {np.float32: "F32", np.int64: "I64"}[a.dtype.type]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[k] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"]).copy())
    return out


CONFIG = dict(img=16, patch=4, chans=3, dim=32, depth=2, heads=2, mlp=64)


def make():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(19)
    images = torch.rand((2, CONFIG["img"], CONFIG["img"], CONFIG["chans"]), generator=gen)  # NHWC in [0, 1]
    np.save(os.path.join(HERE, "images.npy"), images.numpy().astype(np.float32))
    nchw = images.permute(0, 3, 1, 2).contiguous()
    summary = {}

    # BEiT flavour: per-block relative bias, layer scale, q/v biases, no absolute positions.
    beit = ViT(**CONFIG, flavour="beit", rel="per_block", pos="none", layer_scale=True).eval()
    randomize(beit, gen)
    sd = attn_param_names(beit)
    for i in range(CONFIG["depth"]):  # the official code saves the index (a persistent buffer)
        sd[f"blocks.{i}.attn.relative_position_index"] = relative_position_index(4, 4)
    sd["head.weight"] = 0.01 * torch.randn((10, CONFIG["dim"]), generator=gen)  # a classifier: ignored
    sd["head.bias"] = torch.zeros(10)
    write_safetensors(os.path.join(HERE, "beit.safetensors"), sd, {"format": "pt"})
    with torch.no_grad():
        out = beit(nchw)
    np.save(os.path.join(HERE, "beit_cls.npy"), out[:, 0].numpy())
    np.save(os.path.join(HERE, "beit_patch_tokens.npy"), out[:, 1:].numpy())
    summary["beit"] = float(out.abs().max())

    # Plain flavour: learned absolute positions and qkv bias, saved as the official repositories do
    # (torch.save of a training checkpoint: {"model": state dict with "module." names, "args", "epoch"}).
    vit = ViT(**CONFIG, flavour="vit", rel="none", pos="learned", layer_scale=False).eval()
    randomize(vit, gen)
    with torch.no_grad():
        vit.pos_embed.copy_(0.2 * torch.randn(vit.pos_embed.shape, generator=gen))
        out = vit(nchw)
    state = {"module." + k: v for k, v in vit.state_dict().items()}
    state["module.decoder_pred.weight"] = torch.zeros(4, CONFIG["dim"])  # a decoder: ignored
    torch.save({"model": state, "args": argparse.Namespace(lr=1e-3, model="vit_tiny"), "epoch": 7},
               os.path.join(HERE, "vit.pth"))
    np.save(os.path.join(HERE, "vit_cls.npy"), out[:, 0].numpy())
    np.save(os.path.join(HERE, "vit_patch_tokens.npy"), out[:, 1:].numpy())
    summary["vit"] = float(out.abs().max())

    # timm's resample_abs_pos_embed on a 4x4 grid: up to 6x6 and down to 3x3.
    table = torch.randn((1, 17, 8), generator=gen)
    np.save(os.path.join(HERE, "pos_4x4.npy"), table[0].numpy())
    for n in (6, 3):
        grid = table[:, 1:].reshape(1, 4, 4, 8).permute(0, 3, 1, 2)
        r = F.interpolate(grid, size=(n, n), mode="bicubic", antialias=True, align_corners=False)
        r = r.permute(0, 2, 3, 1).reshape(1, n * n, 8)
        np.save(os.path.join(HERE, f"pos_{n}x{n}.npy"), torch.cat([table[:, :1], r], 1)[0].numpy())
    print(json.dumps({"fixture": HERE, "torch": torch.__version__, "max_abs_output": summary}))


def make_odd():
    """Storage layouts a .pth reader must handle: half and bfloat16 tensors, a transposed (strided) view,
    a slice with a storage offset sharing its storage, an int64 buffer, under 'state_dict' with a
    'student.' prefix; each next to its float32 contiguous copy under 'expect.' for the test."""
    gen = torch.Generator().manual_seed(7)
    base = torch.randn((4, 6), generator=gen)
    odd = {
        "half": torch.randn((3, 5), generator=gen).half(),
        "bf16": torch.randn((2, 7), generator=gen).bfloat16(),
        "transposed": base.t(),
        "sliced": base[1:3, 2:5],
        "index": torch.arange(12).reshape(3, 4),
        "f64": torch.randn(5, generator=gen).double(),
    }
    sd = {"student." + k: v for k, v in odd.items()}
    sd.update({"expect." + k: v.float().contiguous() for k, v in odd.items()})
    torch.save({"state_dict": sd, "epoch": 1}, os.path.join(HERE, "odd.pth"))


def check(args):
    """Loads a mimtf export (timm names) strictly and compares with mimtf's own outputs."""
    sd = read_safetensors(args.weights)
    dim = sd["cls_token"].shape[-1]
    depth = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    patch = sd["patch_embed.proj.weight"].shape[-1]
    chans = sd["patch_embed.proj.weight"].shape[1]
    mlp = sd["blocks.0.mlp.fc1.weight"].shape[0]
    images = np.load(args.images)
    beit = "blocks.0.attn.q_bias" in sd or "blocks.0.gamma_1" in sd or any("relative_position" in k for k in sd)
    rel = "shared" if "rel_pos_bias.relative_position_bias_table" in sd else (
        "per_block" if "blocks.0.attn.relative_position_bias_table" in sd else "none")
    pos = "learned" if "pos_embed" in sd else "none"
    qkv_bias = "blocks.0.attn.q_bias" in sd or "blocks.0.attn.qkv.bias" in sd
    ls = "blocks.0.gamma_1" in sd or "blocks.0.ls1.gamma" in sd
    model = ViT(images.shape[1], patch, chans, dim, depth, args.heads, mlp, "beit" if beit else "vit", rel=rel,
                pos=pos, qkv_bias=qkv_bias, layer_scale=ls).eval()
    load_timm_names(model, sd, strict=True)  # raises on any missing or unexpected key
    x = torch.from_numpy(images)
    if args.mean:
        x = (x - torch.tensor(args.mean)) / torch.tensor(args.std)
    with torch.no_grad():
        out = model(x.permute(0, 3, 1, 2).contiguous())
    cls = np.load(args.features + "cls.npy")
    patches = np.load(args.features + "patch_tokens.npy")
    d_cls = float(np.abs(out[:, 0].numpy() - cls).max())
    d_patch = float(np.abs(out[:, 1:].numpy() - patches).max())
    ok = d_cls < args.tol and d_patch < args.tol
    print(json.dumps({"flavour": "beit" if beit else "vit", "rel_pos": rel, "strict_load": True,
                      "max_abs_diff_cls": d_cls, "max_abs_diff_patch_tokens": d_patch, "tolerance": args.tol,
                      "ok": ok}))
    return 0 if ok else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", nargs="?", default="make", choices=["make", "odd", "check"])
    p.add_argument("--weights")
    p.add_argument("--images")
    p.add_argument("--features")
    p.add_argument("--heads", type=int)
    p.add_argument("--mean", type=float, nargs="*")
    p.add_argument("--std", type=float, nargs="*")
    p.add_argument("--tol", type=float, default=1e-4)
    a = p.parse_args()
    if a.mode == "make":
        make()
        make_odd()
    elif a.mode == "odd":
        make_odd()
    else:
        sys.exit(check(a))

#!/usr/bin/python3
"""Stable Diffusion 1.5-shaped UNet and VAE blocks, written here in PyTorch from the published
architecture (no diffusers package), exported to ONNX at opset 14 by torch 1.13, which
decomposes them the way real SD exports look:
  GroupNorm  -> Reshape, InstanceNormalization, Reshape, Mul, Add
  LayerNorm  -> ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add
  GELU       -> Div, Erf, Add, Mul, Mul            SiLU -> Sigmoid, Mul
  attention  -> MatMul, Mul (scale), Softmax, MatMul, with Reshape/Transpose around it

  /usr/bin/python3 models/make_sd_blocks.py [--full] OUTDIR [BLOCK...]

writes OUTDIR/<block>/{model.onnx, inputs/*.npy}; models/make_references.sh adds reference/.
Without --full the reduced variants (committed under models/sd_*) are written; with --full the
SD-1.5 sizes (hundreds of MB; generated on demand by tests/e2e/sd_full.sh).

Architecture (SD 1.5 / diffusers UNet2DConditionModel and AutoencoderKL, from the paper and
published config): block_out_channels 320/640/1280, GroupNorm 32 groups (eps 1e-5 in resnets,
1e-6 in transformers and the VAE), SiLU, 8 heads, cross-attention dim 768 with a 77-token
context, time embedding 1280, GEGLU feed-forward (inner 4C), nearest 2x upsample + 3x3 conv.

Blocks (full size / reduced):
  sd_resnet           ResnetBlock2D 320 @ 64x64              / 64 @ 16x16, temb 128
  sd_resnet_shortcut  ResnetBlock2D 640->1280 @ 16x16, 1x1   / 32->64 @ 8x8
  sd_transformer      Transformer2D 320 @ 64x64              / 64 @ 16x16, context 8x32
  sd_transformer_1280 Transformer2D 1280 @ 16x16             / 96 @ 8x8
  sd_down             CrossAttnDownBlock2D 320 @ 64x64       / 32 @ 16x16
  sd_upsample         Upsample2D 1280 @ 16x16 -> 32x32       / 64 @ 8x8
  sd_vae_mid          VAE decoder UNetMidBlock2D 512 @ 64x64 / 64 @ 16x16 (1 head)
Inputs: sample (1,C,H,W); temb (1,TEMB) for blocks with resnets of the UNet;
encoder_hidden_states (1,T,CTX) for blocks with cross-attention. Output: output.
All weights and inputs are seeded (norm affines U(0.5,1.5) / N(0,0.1) so their fusion is
really exercised).
"""
import math
import os
import sys

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

OPSET = 14
GROUPS = 32


class ResnetBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, eps=1e-5):
        super().__init__()
        self.norm1 = nn.GroupNorm(GROUPS, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(GROUPS, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attention(nn.Module):
    """Multi-head (cross-)attention: q from x, k/v from the context (or x)."""

    def __init__(self, dim, heads, ctx_dim=None, bias=False):
        super().__init__()
        self.heads, self.scale = heads, (dim // heads) ** -0.5
        self.to_q = nn.Linear(dim, dim, bias=bias)
        self.to_k = nn.Linear(ctx_dim or dim, dim, bias=bias)
        self.to_v = nn.Linear(ctx_dim or dim, dim, bias=bias)
        self.to_out = nn.Linear(dim, dim)

    def split(self, t):  # (B,T,C) -> (B,h,T,d)
        b, n, c = t.shape
        return t.reshape(b, n, self.heads, c // self.heads).permute(0, 2, 1, 3)

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        q, k, v = self.split(self.to_q(x)), self.split(self.to_k(ctx)), self.split(self.to_v(ctx))
        s = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        o = torch.matmul(s.softmax(dim=-1), v)
        b, h, n, d = o.shape
        return self.to_out(o.permute(0, 2, 1, 3).reshape(b, n, h * d))


class GEGLU(nn.Module):
    def __init__(self, dim, inner):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, heads, ctx_dim):
        super().__init__()
        self.norm1, self.attn1 = nn.LayerNorm(dim), Attention(dim, heads)
        self.norm2, self.attn2 = nn.LayerNorm(dim), Attention(dim, heads, ctx_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.ff_in, self.ff_out = GEGLU(dim, dim * 4), nn.Linear(dim * 4, dim)

    def forward(self, x, ctx):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), ctx) + x
        return self.ff_out(self.ff_in(self.norm3(x))) + x


class Transformer2D(nn.Module):
    def __init__(self, c, heads, ctx_dim):
        super().__init__()
        self.norm = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.proj_in = nn.Conv2d(c, c, 1)
        self.block = BasicTransformerBlock(c, heads, ctx_dim)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x, ctx):
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        t = self.block(t, ctx)
        return self.proj_out(t.reshape(b, h, w, c).permute(0, 3, 1, 2)) + x


class CrossAttnDownBlock2D(nn.Module):
    def __init__(self, cin, cout, temb, heads, ctx_dim):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin, cout, temb), ResnetBlock2D(cout, cout, temb)])
        self.attentions = nn.ModuleList([Transformer2D(cout, heads, ctx_dim) for _ in range(2)])
        self.downsample = nn.Conv2d(cout, cout, 3, stride=2, padding=1)

    def forward(self, x, temb, ctx):
        for r, a in zip(self.resnets, self.attentions):
            x = a(r(x, temb), ctx)
        return self.downsample(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class VAEAttention(nn.Module):
    """The VAE's single-head spatial self-attention with its own GroupNorm and residual."""

    def __init__(self, c):
        super().__init__()
        self.group_norm = nn.GroupNorm(GROUPS, c, eps=1e-6)
        self.attn = Attention(c, 1, bias=True)

    def forward(self, x):
        b, c, h, w = x.shape
        t = self.group_norm(x).reshape(b, c, h * w).transpose(1, 2)
        t = self.attn(t)
        return t.transpose(1, 2).reshape(b, c, h, w) + x


class VAEMidBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, 0, eps=1e-6) for _ in range(2)])
        self.attention = VAEAttention(c)

    def forward(self, x):
        return self.resnets[1](self.attention(self.resnets[0](x)))


# name -> (constructor(full), input spec) for full and reduced sizes.
# spec: (C_in, H, W, temb_dim or 0, (T, ctx_dim) or None)
def blocks(full):
    T, CTX = (77, 768) if full else (8, 32)
    TE = 1280 if full else 128
    S = (lambda f, r: f if full else r)
    return {
        "sd_resnet": (lambda: ResnetBlock2D(S(320, 64), S(320, 64), TE), (S(320, 64), S(64, 16), TE, None)),
        "sd_resnet_shortcut": (lambda: ResnetBlock2D(S(640, 32), S(1280, 64), TE), (S(640, 32), S(16, 8), TE, None)),
        "sd_transformer": (lambda: Transformer2D(S(320, 64), 8, CTX), (S(320, 64), S(64, 16), 0, (T, CTX))),
        "sd_transformer_1280": (lambda: Transformer2D(S(1280, 96), 8, CTX), (S(1280, 96), S(16, 8), 0, (T, CTX))),
        "sd_down": (lambda: CrossAttnDownBlock2D(S(320, 32), S(320, 32), TE, 8, CTX), (S(320, 32), S(64, 16), TE, (T, CTX))),
        "sd_upsample": (lambda: Upsample2D(S(1280, 64)), (S(1280, 64), S(16, 8), 0, None)),
        "sd_vae_mid": (lambda: VAEMidBlock(S(512, 64)), (S(512, 64), S(64, 16), 0, None)),
    }


def randomize_norms(model, seed):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.GroupNorm, nn.LayerNorm)):
            with torch.no_grad():
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def make(outdir, name, full):
    ctor, (c, hw, temb, ctx) = blocks(full)[name]
    torch.manual_seed(1234)
    model = ctor().eval()
    randomize_norms(model, 99)
    common.randomize_biases(model, 300)
    d = os.path.join(outdir, name)
    seed = 500
    x = common.save_input(os.path.join(d, "inputs", "sample.npy"), (1, c, hw, hw), seed)
    args, names = [torch.from_numpy(x)], ["sample"]
    if temb:
        t = common.save_input(os.path.join(d, "inputs", "temb.npy"), (1, temb), seed + 1)
        args.append(torch.from_numpy(t))
        names.append("temb")
    if ctx:
        e = common.save_input(os.path.join(d, "inputs", "encoder_hidden_states.npy"), (1,) + ctx, seed + 2)
        args.append(torch.from_numpy(e))
        names.append("encoder_hidden_states")
    path = os.path.join(d, "model.onnx")
    with torch.no_grad():
        torch.onnx.export(model, tuple(args), path, opset_version=OPSET, input_names=names,
                          output_names=["output"], do_constant_folding=True)
        y = model(*args)
    print(f"{name}: {path} ({os.path.getsize(path)} bytes) output {tuple(y.shape)} "
          f"|max| {y.abs().max().item():.4g} ops {common.op_histogram(path)}")


def main(argv):
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    if not argv:
        sys.exit("usage: make_sd_blocks.py [--full] OUTDIR [BLOCK...]")
    names = argv[1:] or list(blocks(full))
    for n in names:
        if n not in blocks(full):
            sys.exit(f"make_sd_blocks.py: unknown block '{n}' (have {', '.join(blocks(full))})")
        make(argv[0], n, full)


if __name__ == "__main__":
    main(sys.argv[1:])

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
  sd_unet             the whole UNet2DConditionModel, channels 320/640/1280/1280, latent 4 @ 64x64,
                      859.5 M params / channels 32/64/64/64, latent 4 @ 16x16, context 8x32
                      (only when named: not in the default list, not committed)
Inputs: sample (1,C,H,W); temb (1,TEMB) for blocks with resnets of the UNet;
encoder_hidden_states (1,T,CTX) for blocks with cross-attention; sd_unet takes sample (1,4,H,W),
timestep (1,) f32 (a seeded whole number in [0,1000)) and encoder_hidden_states. Output: output.
Beyond 2 GB (the full UNet, 3.4 GB fp32) torch's exporter stores every initializer in its own
external data file beside model.onnx (named after the tensor); that export takes ~2 min and
peaks at 8.4 GB RSS.
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
    """Two resnets, each followed by a Transformer2D, then a stride-2 3x3 conv. attn=False gives
    the UNet's plain DownBlock2D, down=False drops the downsampling (the UNet's last block)."""

    def __init__(self, cin, cout, temb, heads, ctx_dim, attn=True, down=True):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(cin, cout, temb), ResnetBlock2D(cout, cout, temb)])
        self.attentions = nn.ModuleList([Transformer2D(cout, heads, ctx_dim) for _ in range(2)]) \
            if attn else None
        self.downsample = nn.Conv2d(cout, cout, 3, stride=2, padding=1) if down else None

    def states(self, x, temb, ctx):
        """Every resnet(/attention) output and the downsampled one: the UNet's skip tensors."""
        out = []
        for i, r in enumerate(self.resnets):
            x = r(x, temb)
            if self.attentions is not None:
                x = self.attentions[i](x, ctx)
            out.append(x)
        if self.downsample is not None:
            out.append(self.downsample(x))
        return out

    def forward(self, x, temb, ctx):
        return self.states(x, temb, ctx)[-1]


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CrossAttnUpBlock2D(nn.Module):
    """Three resnets over [x, skip] concatenated on channels, each followed by a Transformer2D
    (attn=False: the UNet's plain UpBlock2D), then Upsample2D unless up=False (the last block).
    skips: the channel counts of the three skip tensors this block takes, in the order used."""

    def __init__(self, cin, cout, skips, temb, heads, ctx_dim, attn=True, up=True):
        super().__init__()
        ins = [cin, cout, cout]
        self.resnets = nn.ModuleList([ResnetBlock2D(i + s, cout, temb) for i, s in zip(ins, skips)])
        self.attentions = nn.ModuleList([Transformer2D(cout, heads, ctx_dim) for _ in range(3)]) \
            if attn else None
        self.upsample = Upsample2D(cout) if up else None

    def forward(self, x, skips, temb, ctx):  # skips: list, consumed from its end
        for i, r in enumerate(self.resnets):
            x = r(torch.cat([x, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                x = self.attentions[i](x, ctx)
        return self.upsample(x) if self.upsample is not None else x


class TimestepEmbedding(nn.Module):
    """Sinusoidal projection of the timestep to C channels (cos half first, frequencies
    10000^(-i/(C/2)), as SD 1.5's flip_sin_to_cos=True, shift 0), then Linear, SiLU, Linear."""

    def __init__(self, c, temb):
        super().__init__()
        half = c // 2
        self.register_buffer("freqs", torch.exp(-math.log(10000.0) * torch.arange(half) / half))
        self.linear_1, self.linear_2 = nn.Linear(c, temb), nn.Linear(temb, temb)

    def forward(self, t):  # (B,) -> (B,temb)
        e = t[:, None] * self.freqs[None, :]
        e = torch.cat([torch.cos(e), torch.sin(e)], dim=-1)
        return self.linear_2(F.silu(self.linear_1(e)))


class UNet2DCondition(nn.Module):
    """SD 1.5's UNet2DConditionModel: conv_in, CrossAttnDown x3 + Down, mid block (resnet,
    Transformer2D, resnet), Up + CrossAttnUp x3, GroupNorm/SiLU/conv_out. ch: block_out_channels."""

    def __init__(self, ch, heads, ctx_dim, cin=4, cout=4):
        super().__init__()
        te = ch[0] * 4
        self.time_embedding = TimestepEmbedding(ch[0], te)
        self.conv_in = nn.Conv2d(cin, ch[0], 3, padding=1)
        last = len(ch) - 1
        self.down_blocks = nn.ModuleList([
            CrossAttnDownBlock2D(ch[max(i - 1, 0)], c, te, heads, ctx_dim,
                                 attn=i < last, down=i < last)
            for i, c in enumerate(ch)])
        self.mid_resnets = nn.ModuleList([ResnetBlock2D(ch[-1], ch[-1], te) for _ in range(2)])
        self.mid_attention = Transformer2D(ch[-1], heads, ctx_dim)
        # skip channels in push order: conv_in, then per down block its 2 resnets (+ downsample)
        pushed = [ch[0]] + [c for i, c in enumerate(ch) for _ in range(3 if i < last else 2)]
        rev, ups, prev = list(reversed(ch)), [], ch[-1]
        for i, c in enumerate(rev):
            skips = [pushed.pop() for _ in range(3)]
            ups.append(CrossAttnUpBlock2D(prev, c, skips, te, heads, ctx_dim,
                                          attn=i > 0, up=i < last))
            prev = c
        self.up_blocks = nn.ModuleList(ups)
        self.conv_norm_out = nn.GroupNorm(GROUPS, ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], cout, 3, padding=1)

    def forward(self, sample, timestep, ctx):
        temb = self.time_embedding(timestep)
        x = self.conv_in(sample)
        skips = [x]
        for b in self.down_blocks:
            states = b.states(x, temb, ctx)
            skips += states
            x = states[-1]
        x = self.mid_resnets[1](self.mid_attention(self.mid_resnets[0](x, temb), ctx), temb)
        for b in self.up_blocks:
            x = b(x, skips, temb, ctx)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


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
        "sd_unet": (lambda: UNet2DCondition(S((320, 640, 1280, 1280), (32, 64, 64, 64)), 8, CTX),
                    (4, S(64, 16), "timestep", (T, CTX))),
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
    if temb == "timestep":  # a whole-number step in [0, 1000), as a sampler feeds the UNet
        t = np.array([np.random.default_rng(seed + 1).integers(0, 1000)], dtype=np.float32)
        os.makedirs(os.path.join(d, "inputs"), exist_ok=True)
        np.save(os.path.join(d, "inputs", "timestep.npy"), t, allow_pickle=False)
        args.append(torch.from_numpy(t))
        names.append("timestep")
    elif temb:
        t = common.save_input(os.path.join(d, "inputs", "temb.npy"), (1, temb), seed + 1)
        args.append(torch.from_numpy(t))
        names.append("temb")
    if ctx:
        e = common.save_input(os.path.join(d, "inputs", "encoder_hidden_states.npy"), (1,) + ctx, seed + 2)
        args.append(torch.from_numpy(e))
        names.append("encoder_hidden_states")
    path = os.path.join(d, "model.onnx")
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        y = model(*args)
        # Beyond 2 GB of weights (the full UNet) torch's exporter writes every initializer to its
        # own file next to model.onnx (external data, one file per tensor), by itself.
        torch.onnx.export(model, tuple(args), path, opset_version=OPSET, input_names=names,
                          output_names=["output"], do_constant_folding=True)
    ext = len(os.listdir(d)) - 2  # files beside model.onnx and inputs/
    print(f"{name}: {path} ({os.path.getsize(path)} bytes"
          f"{f' + {ext} external data files' if ext else ''}, {params / 1e6:.1f} M params) output "
          f"{tuple(y.shape)} |max| {y.abs().max().item():.4g} ops {common.op_histogram(path)}")


def main(argv):
    full = "--full" in argv
    argv = [a for a in argv if a != "--full"]
    if not argv:
        sys.exit("usage: make_sd_blocks.py [--full] OUTDIR [BLOCK...]")
    names = argv[1:] or [n for n in blocks(full) if n != "sd_unet"]
    for n in names:
        if n not in blocks(full):
            sys.exit(f"make_sd_blocks.py: unknown block '{n}' (have {', '.join(blocks(full))})")
        make(argv[0], n, full)


if __name__ == "__main__":
    main(sys.argv[1:])

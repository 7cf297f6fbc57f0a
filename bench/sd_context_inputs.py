#!/usr/bin/python3
"""bench/sd_context_inputs.py - inputs for a ResnetBlock2D as the SD-1.5 UNet feeds it.

    /usr/bin/python3 bench/sd_context_inputs.py MODEL_DIR OUT_DIR [--sets 4]

MODEL_DIR is a block made by models/make_sd_blocks.py (sd_resnet: inputs sample (1,C,H,W) and
temb (1,TEMB)). The UNet's first ResnetBlock2D does not see i.i.d. noise: its sample is
conv_in(latent), a 3x3 conv from 4 latent channels to C (so at each position the C channels
span at most 4*9 directions), and its temb is TimestepEmbedding(t) - the sinusoidal projection
of a whole-number step t in [0, 1000), Linear, SiLU, Linear. This script draws latents from
N(0,1) (the start of sampling, when the latent is pure noise: the least structured case) and
random steps, through seeded random-weight conv_in and TimestepEmbedding modules of the same
shapes as the UNet's (models/make_sd_blocks.py), and writes OUT_DIR/inputs (the measured input,
seed 0) and OUT_DIR/calib/setK (held out: seeds 1..sets).
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
from make_sd_blocks import TimestepEmbedding  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--sets", type=int, default=4)
    a = ap.parse_args()
    x = np.load(os.path.join(a.model_dir, "inputs", "sample.npy"))
    temb = np.load(os.path.join(a.model_dir, "inputs", "temb.npy"))
    _, c, h, w = x.shape
    te = temb.shape[1]
    torch.manual_seed(4321)
    conv_in = torch.nn.Conv2d(4, c, 3, padding=1).eval()
    embed = TimestepEmbedding(te // 4, te).eval()  # the UNet: ch[0] -> 4 * ch[0]
    for k in range(a.sets + 1):
        d = os.path.join(a.out_dir, "inputs") if k == 0 else \
            os.path.join(a.out_dir, "calib", "set%d" % (k - 1))
        os.makedirs(d, exist_ok=True)
        g = torch.Generator().manual_seed(7000 + k)
        lat = torch.randn((1, 4, h, w), generator=g)
        t = torch.randint(0, 1000, (1,), generator=g).float()
        with torch.no_grad():
            np.save(os.path.join(d, "sample.npy"), conv_in(lat).numpy().astype(np.float32))
            np.save(os.path.join(d, "temb.npy"), embed(t).numpy().astype(np.float32))


if __name__ == "__main__":
    main()

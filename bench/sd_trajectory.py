#!/usr/bin/python3
"""bench/sd_trajectory.py — the denoising-trajectory check of docs/sd-fp16.md: N deterministic
DDIM steps (eta 0) with classifier-free guidance from one seeded latent, with the UNet as an
fp32 bundle (the reference) and as deployed bundles under fp16 emulation (`aneforge run
--fp16`), reporting the latent's PSNR against the fp32 trajectory and its relative drift
(‖x − x_ref‖ / ‖x_ref‖) after every step.

  /usr/bin/python3 bench/sd_trajectory.py AFORGE MODEL_DIR CFG_DIR FP32.afb LABEL=BUNDLE.afb...
        [--steps N] [--cfg-scale S] [--seed K]

MODEL_DIR/inputs/sample.npy gives the latent's shape; CFG_DIR/cond/ and CFG_DIR/uncond/ hold
encoder_hidden_states.npy (bench/sd_cfg.sh makes them). The schedule is SD-1.5's: 1000 training
steps, betas scaled-linear from 0.00085 to 0.012, N inference steps spaced evenly ("leading":
t = 1000/N·k + 1, k = N-1 .. 0), the initial latent seeded N(0,1). Every UNet evaluation is one
`aneforge run` (cond, then uncond) of the bundle.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np


def schedule(steps):
    betas = np.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=np.float64) ** 2
    abar = np.cumprod(1.0 - betas)
    ts = [1000 // steps * k + 1 for k in range(steps)][::-1]
    return abar, ts


def unet(af, bundle, fp16, x, t, ctx, tmp):
    """One evaluation: the bundle's output on (sample x, timestep t, encoder_hidden_states)."""
    d_in, d_out = os.path.join(tmp, "in"), os.path.join(tmp, "out")
    os.makedirs(d_in, exist_ok=True)
    np.save(os.path.join(d_in, "sample.npy"), x.astype(np.float32))
    np.save(os.path.join(d_in, "timestep.npy"), np.array([t], np.float32))
    np.save(os.path.join(d_in, "encoder_hidden_states.npy"), ctx)
    cmd = [af, "run", bundle, "--inputs", d_in, "--outputs", d_out] + (["--fp16"] if fp16 else [])
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(d_out, "output.npy")).astype(np.float64)


def trajectory(af, bundle, fp16, x, cond, uncond, s, steps, tmp):
    abar, ts = schedule(steps)
    out = []
    for i, t in enumerate(ts):
        c = unet(af, bundle, fp16, x, t, cond, tmp)
        u = unet(af, bundle, fp16, x, t, uncond, tmp)
        eps = u + s * (c - u)
        a = abar[t]
        a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else 1.0
        x0 = (x - np.sqrt(1 - a) * eps) / np.sqrt(a)
        x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        x = x.astype(np.float32).astype(np.float64)  # the latent is handed over in f32
        out.append(x)
    return out


def psnr(ref, x):
    rmse = np.sqrt(np.mean((x - ref) ** 2))
    return float("inf") if rmse == 0 else 20 * np.log10(np.abs(ref).max() / rmse)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("aneforge")
    p.add_argument("model_dir")
    p.add_argument("cfg_dir")
    p.add_argument("fp32_bundle")
    p.add_argument("bundles", nargs="+", help="LABEL=BUNDLE.afb, run with --fp16")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg-scale", type=float, default=7.5)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    shape = np.load(os.path.join(a.model_dir, "inputs", "sample.npy")).shape
    x = np.random.default_rng(a.seed).standard_normal(shape)
    cond = np.load(os.path.join(a.cfg_dir, "cond", "encoder_hidden_states.npy"))
    uncond = np.load(os.path.join(a.cfg_dir, "uncond", "encoder_hidden_states.npy"))
    with tempfile.TemporaryDirectory() as tmp:
        ref = trajectory(a.aneforge, a.fp32_bundle, False, x, cond, uncond, a.cfg_scale, a.steps, tmp)
        runs = []
        for spec in a.bundles:
            label, path = spec.split("=", 1)
            runs.append((label, trajectory(a.aneforge, path, True, x, cond, uncond, a.cfg_scale,
                                           a.steps, tmp)))
    print(f"{a.steps} DDIM steps, s = {a.cfg_scale}, seed {a.seed}: latent PSNR (dB) / relative "
          "drift vs the fp32 trajectory")
    print("| step | " + " | ".join(label for label, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for i in range(a.steps):
        cells = []
        for _, tr in runs:
            r, y = ref[i], tr[i]
            cells.append(f"{psnr(r, y):.2f} / {np.linalg.norm(y - r) / np.linalg.norm(r):.2e}")
        print(f"| {i + 1} | " + " | ".join(cells) + " |")
    print(f"final latent |max| {np.abs(ref[-1]).max():.4g} (fp32)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""bench/sd_trajectory.py — the independent numpy twin of `aneforge sd-trajectory`
(docs/sd-fp16.md "The denoising trajectory"): N deterministic DDIM steps (eta 0) with
classifier-free guidance from one seeded latent, with the UNet as a reference bundle run in fp32
and as deployed bundles under fp16 emulation (`aneforge run --fp16`), reporting the latent's
PSNR against the reference trajectory and its relative drift (‖x − x_ref‖ / ‖x_ref‖) after
every step. Every UNet evaluation is one `aneforge run` process; the sampler, the generator and
the measures are written here again from their definitions, not taken from the C code, so the
two agree only if both are right (tests/e2e/sd_trajectory.sh compares them).

  /usr/bin/python3 bench/sd_trajectory.py AFORGE FP32.afb [LABEL=BUNDLE.afb...]
        [--cond DIR --uncond DIR] [--steps N] [--cfg-scale S] [--seed K] [--json]
        [--save-calib DIR]

Without LABEL=BUNDLE.afb the reference bundle itself is the deployed one (`fp16=FP32.afb`):
`aneforge sd-trajectory B.afb --fp16` is `sd_trajectory.py AFORGE B.afb`, and
`aneforge sd-trajectory B.afb --fp16 --reference R.afb` is `sd_trajectory.py AFORGE R.afb X=B.afb`.
Inputs: sample (the latent), timestep (one f32) and encoder_hidden_states, by name (shapes from
`aneforge inspect --json`). Conditioning: DIR/encoder_hidden_states.npy of --cond and --uncond,
else cond N(0,1) from seed 2024 and uncond all zeros. The schedule is SD-1.5's (diffusers'
DDIMScheduler on its scheduler config): 1000 training steps, betas scaled-linear from 0.00085
to 0.012, N inference steps spaced "leading" with offset 1 (t = ⌊1000/N⌋·k + 1, k = N−1 .. 0),
ᾱ_0 after the last step (set_alpha_to_one false); the initial latent N(0,1) from the project's
seeded generator (a 64-bit LCG and Box-Muller, af_target_fill_normal), seed K.
--save-calib DIR writes the UNet inputs of every step of the reference trajectory as
`convert --cfg-calib` pairs: DIR/step_KK/cond/ and DIR/step_KK/uncond/ (sample, timestep,
encoder_hidden_states .npy), so a placement can be calibrated on the timesteps the sampler visits.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

COND_SEED = 2024
LCG_A, LCG_C, MASK = 6364136223846793005, 1442695040888963407, (1 << 64) - 1


def fill_normal(n, seed):
    """N(0,1) floats: s ← a·s + c (mod 2^64); two 53-bit uniforms per pair, Box-Muller."""
    out = np.empty(n, np.float32)
    s = (seed * LCG_A + LCG_C) & MASK
    for i in range(0, n, 2):
        s = (s * LCG_A + LCG_C) & MASK
        u1 = ((s >> 11) + 1.0) / 9007199254740993.0
        s = (s * LCG_A + LCG_C) & MASK
        u2 = (s >> 11) / 9007199254740992.0
        r = math.sqrt(-2.0 * math.log(u1))
        out[i] = r * math.cos(6.283185307179586 * u2)
        if i + 1 < n:
            out[i + 1] = r * math.sin(6.283185307179586 * u2)
    return out


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


def save_pair(root, i, x, t, cond, uncond):
    """Step i's UNet inputs as a --cfg-calib pair."""
    for k, ctx in (("cond", cond), ("uncond", uncond)):
        d = os.path.join(root, f"step_{i + 1:02d}", k)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "sample.npy"), x.astype(np.float32))
        np.save(os.path.join(d, "timestep.npy"), np.array([t], np.float32))
        np.save(os.path.join(d, "encoder_hidden_states.npy"), ctx)


def trajectory(af, bundle, fp16, x, cond, uncond, s, steps, tmp, save=None):
    abar, ts = schedule(steps)
    out = []
    for i, t in enumerate(ts):
        if save:
            save_pair(save, i, x, t, cond, uncond)
        c = unet(af, bundle, fp16, x, t, cond, tmp)
        u = unet(af, bundle, fp16, x, t, uncond, tmp)
        eps = u + s * (c - u)
        a = abar[t]
        a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else abar[0]
        x0 = (x - np.sqrt(1 - a) * eps) / np.sqrt(a)
        x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        x = x.astype(np.float32).astype(np.float64)  # the latent is handed over in f32
        out.append((t, x))
    return out


def psnr(ref, x):
    rmse = np.sqrt(np.mean((x - ref) ** 2))
    return float("inf") if rmse == 0 else float(20 * np.log10(np.abs(ref).max() / rmse))


def input_shapes(af, bundle):
    doc = json.loads(subprocess.run([af, "inspect", bundle, "--json"], check=True,
                                    capture_output=True, text=True).stdout)
    return {t["name"]: tuple(t["shape"]) for t in doc["inputs"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("aneforge")
    p.add_argument("fp32_bundle")
    p.add_argument("bundles", nargs="*", help="LABEL=BUNDLE.afb, run with --fp16")
    p.add_argument("--cond")
    p.add_argument("--uncond")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--cfg-scale", type=float, default=7.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="one JSON object instead of the table")
    p.add_argument("--save-calib", help="write each step's inputs as --cfg-calib pairs here")
    a = p.parse_args()
    if (a.cond is None) != (a.uncond is None):
        sys.exit("sd_trajectory.py: --cond and --uncond go together")
    shapes = input_shapes(a.aneforge, a.fp32_bundle)
    shape, cshape = shapes["sample"], shapes["encoder_hidden_states"]
    x = fill_normal(int(np.prod(shape)), a.seed).reshape(shape).astype(np.float64)
    if a.cond:
        cond = np.load(os.path.join(a.cond, "encoder_hidden_states.npy"))
        uncond = np.load(os.path.join(a.uncond, "encoder_hidden_states.npy"))
    else:
        cond = fill_normal(int(np.prod(cshape)), COND_SEED).reshape(cshape)
        uncond = np.zeros(cshape, np.float32)
    specs = [s.split("=", 1) for s in a.bundles] or [["fp16", a.fp32_bundle]]
    with tempfile.TemporaryDirectory() as tmp:
        ref = trajectory(a.aneforge, a.fp32_bundle, False, x, cond, uncond, a.cfg_scale, a.steps, tmp,
                         a.save_calib)
        runs = [(label, trajectory(a.aneforge, path, True, x, cond, uncond, a.cfg_scale, a.steps,
                                   tmp)) for label, path in specs]
    rows = {label: [{"step": i + 1, "t": t, "psnr_db": psnr(r, y),
                     "rel_drift": float(np.linalg.norm(y - r) / np.linalg.norm(r)),
                     "ref_max_abs": float(np.abs(r).max())}
                    for i, ((t, r), (_, y)) in enumerate(zip(ref, tr))] for label, tr in runs}
    if a.json:
        print(json.dumps({"steps": a.steps, "cfg_scale": a.cfg_scale, "seed": a.seed,
                          "runs": rows}, default=str))
        return
    print(f"{a.steps} DDIM steps, s = {a.cfg_scale}, seed {a.seed}: latent PSNR (dB) / relative "
          "drift vs the fp32 trajectory")
    print("| step | " + " | ".join(label for label, _ in runs) + " |")
    print("|---|" + "---|" * len(runs))
    for i in range(a.steps):
        cells = [f"{rows[label][i]['psnr_db']:.2f} / {rows[label][i]['rel_drift']:.2e}"
                 for label, _ in runs]
        print(f"| {i + 1} | " + " | ".join(cells) + " |")
    print(f"final latent |max| {np.abs(ref[-1][1]).max():.4g} (fp32)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

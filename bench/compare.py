#!/usr/bin/env python3
"""aneforge vs ONNX Runtime, side by side on the same models, inputs and thread count.

  python3 bench/compare.py [--build build] [--work /tmp/af-bench] [--threads 1[,2]] [--rounds 5]
                           [--runs 10] [--compress fp32] [--models resnet18,...] [--no-rss]

For each model: export it if missing (torchvision classifiers via models/export_torchvision.py,
the SD blocks and the whole SD UNet via models/make_sd_blocks.py --full; both need Debian's
python3-torch), convert it, then for --rounds rounds run `aneforge bench --json` and
`node tests/oracle/run_ort.js --bench --json` (onnxruntime-node, npm install --ignore-scripts),
alternating which goes first. Each run is a fresh process: it times open -> ready (aneforge:
bundle open + session create; ONNX Runtime: InferenceSession.create), one warm-up run, then
--runs timed runs (median), and reports its peak RSS. The table shows the median over rounds of
each figure and the ratio aneforge / ONNX Runtime (< 1: aneforge is faster / smaller).
Then the footprint row: ResNet-50 as an int4 bundle run with --stream-weights, against ONNX
Runtime's peak RSS on the fp32 model.
SD models (the SD dict) also get an output PSNR column: one `aneforge run --outputs` after the
timing rounds against the outputs of the last ONNX Runtime run, 20*log10(max|ref|/RMSE).
--threads 1,2 measures every model at each thread count (a row per count) and then prints each
side's speedup of the last count over the first.
sd_unet (the full SD-1.5-topology UNet, 860 M params, 3.4 GB of external data, ~2 min and
8.4 GB RSS to export) is not in the default list: name it in --models. One aneforge run of it
takes tens of seconds, so `--rounds 2 --runs 3` is the practical setting.
Standard library only; prints Markdown (docs/performance.md holds a copy of a run).
"""
import array
import argparse
import ast
import json
import math
import os
import statistics
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PY = "/usr/bin/python3"
TORCHVISION = ["resnet18", "resnet50", "mobilenet_v2", "efficientnet_b0", "squeezenet1_1"]
SD = {"sd_resnet": "ResnetBlock2D 320x64x64",
      "sd_transformer": "Transformer2D 320x64x64",
      "sd_transformer_1280": "Transformer2D 1280x16x16",
      "sd_unet": "SD-1.5 UNet, latent 4x64x64"}
SLOW = {"sd_unet"}  # reachable through --models only
DEFAULT_MODELS = TORCHVISION + [m for m in SD if m not in SLOW]


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, **kw).stdout


def ensure_model(work, name):
    """Exports the model into work/name (model.onnx, inputs/) unless it is there."""
    d = os.path.join(work, name)
    if os.path.exists(os.path.join(d, "model.onnx")):
        return d
    if name in SD:
        sh([TORCH_PY, os.path.join(ROOT, "models/make_sd_blocks.py"), "--full", work, name])
    else:
        sh([TORCH_PY, os.path.join(ROOT, "models/export_torchvision.py"), work, name])
    return d


def convert(af, d, name, compress, work):
    out = os.path.join(work, f"{name}.{compress}.afb")
    # made again whenever the converter is newer: lowering changes what a bundle holds
    if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(af):
        sh([af, "convert", os.path.join(d, "model.onnx"), "-o", out, "--compress", compress, "-q"])
    return out


def run_af(af, bundle, inputs, threads, runs, stream=False):
    cmd = [af, "bench", bundle, "--inputs", inputs, "--threads", str(threads), "--runs",
           str(runs), "--json"] + (["--stream-weights"] if stream else [])
    # The runtime keeps BLAS on one thread anyway; without this, the worker OpenBLAS starts at
    # load spins (sched_yield) for ~0.1 s and takes the core our own pool needs.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    return json.loads(sh(cmd, env=env))


def run_ort(model_dir, threads, runs, work):
    out = os.path.join(work, "ort_out", os.path.basename(model_dir))
    cmd = ["node", os.path.join(ROOT, "tests/oracle/run_ort.js"),
           os.path.join(model_dir, "model.onnx"), os.path.join(model_dir, "inputs"), out,
           "--threads", str(threads), "--bench", str(runs), "--json"]
    return json.loads(sh(cmd).strip().splitlines()[-1])


def measure(af, bundle, model_dir, args, threads, stream=False):
    """Alternating rounds; returns per-side lists of the per-process figures."""
    rows = {"af": [], "ort": []}
    inputs = os.path.join(model_dir, "inputs")
    for r in range(args.rounds):
        order = ("af", "ort") if r % 2 == 0 else ("ort", "af")
        for side in order:
            if side == "af":
                rows["af"].append(run_af(af, bundle, inputs, threads, args.runs, stream))
            else:
                rows["ort"].append(run_ort(model_dir, threads, args.runs, args.work))
    return rows


def read_npy_f32(path):
    """A little-endian float32 .npy file (versions 1-3) as an array('f'); None for other dtypes."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise OSError(f"{path}: not a .npy file")
    if data[6] == 1:
        hlen, start = int.from_bytes(data[8:10], "little"), 10
    else:
        hlen, start = int.from_bytes(data[8:12], "little"), 12
    header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
    if header["descr"] not in ("<f4", "=f4") or header["fortran_order"]:
        return None
    a = array.array("f")
    a.frombytes(data[start + hlen:])
    if sys.byteorder != "little":
        a.byteswap()
    return a


def psnr(ref_dir, out_dir):
    """Lowest PSNR (dB) over the .npy outputs in ref_dir, 20*log10(max|ref|/RMSE); None if an
    output is missing, not f32 or of another size."""
    worst = None
    for name in sorted(os.listdir(ref_dir)):
        if not name.endswith(".npy"):
            continue
        out = os.path.join(out_dir, name)
        if not os.path.exists(out):
            return None
        ref, got = read_npy_f32(os.path.join(ref_dir, name)), read_npy_f32(out)
        if ref is None or got is None or len(ref) != len(got) or not ref:
            return None
        peak = max(abs(v) for v in ref)
        mse = sum((a - b) ** 2 for a, b in zip(ref, got)) / len(ref)
        db = math.inf if mse == 0 else 20 * math.log10(peak / math.sqrt(mse)) if peak else -math.inf
        worst = db if worst is None else min(worst, db)
    return worst


def output_psnr(af, bundle, model_dir, threads, work):
    """aneforge's outputs against the last ONNX Runtime run's, or None."""
    name = os.path.basename(model_dir)
    out = os.path.join(work, "af_out", name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    sh([af, "run", bundle, "--inputs", os.path.join(model_dir, "inputs"), "--outputs", out,
        "--threads", str(threads)], env=env)
    return psnr(os.path.join(work, "ort_out", name), out)


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def stripped_size(build):
    """Bytes of the stripped shared runtime library (libaneforge_rt.so), or None."""
    lib = os.path.join(build, "libaneforge_rt.so")
    if not os.path.exists(lib) or not shutil.which("strip"):
        return None
    with tempfile.TemporaryDirectory() as t:
        copy = os.path.join(t, "rt.so")
        shutil.copy(os.path.realpath(lib), copy)
        sh(["strip", copy])
        return os.path.getsize(copy)


def thread_counts(text):
    try:
        counts = [int(t) for t in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--threads wants N or N,M,... (got '{text}')")
    return counts


def table_row(name, threads, a, o, db, multi):
    label = f"{name} ({SD[name]})" if name in SD else name
    lat = med(a, "run_ms_median") / med(o, "run_ms_median")
    cells = [label] + ([str(threads)] if multi else []) + [
        f"{med(a, 'run_ms_median'):.2f}", f"{med(o, 'run_ms_median'):.2f}", f"**{lat:.2f}**",
        f"{med(a, 'load_ms'):.1f}", f"{med(o, 'load_ms'):.1f}",
        f"{med(a, 'load_ms') / med(o, 'load_ms'):.3f}", f"{med(a, 'peak_rss_kb') / 1024:.0f}",
        f"{med(o, 'peak_rss_kb') / 1024:.0f}",
        f"{med(a, 'peak_rss_kb') / med(o, 'peak_rss_kb'):.2f}",
        "—" if db is None else f"{db:.1f}"]
    return "| " + " | ".join(cells) + " |"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/af-bench")
    ap.add_argument("--threads", type=thread_counts, default=[1],
                    help="a thread count, or several (1,2): a row each, then the speedups")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--compress", default="fp32")
    ap.add_argument("--models", default=",".join(DEFAULT_MODELS))
    ap.add_argument("--no-rss", action="store_true", help="skip the int4 streamed ResNet-50 row")
    args = ap.parse_args()
    af = os.path.join(args.build, "bin", "aneforge")
    os.makedirs(args.work, exist_ok=True)
    multi = len(args.threads) > 1

    print(f"threads {','.join(map(str, args.threads))}, {args.rounds} alternating rounds x "
          f"{args.runs} timed runs, aneforge bundles --compress {args.compress}\n")
    print("| model | " + ("threads | " if multi else "") + "aneforge ms | ORT ms | latency ratio | "
          "aneforge open→ready ms | ORT session ms | cold-start ratio | aneforge RSS MiB | "
          "ORT RSS MiB | RSS ratio | output PSNR dB |")
    print("|---|" + "---:|" * (11 if multi else 10))
    ratios, speedups = [], []
    for name in args.models.split(","):
        lat = {}
        for threads in args.threads:
            try:
                d = ensure_model(args.work, name)
                bundle = convert(af, d, name, args.compress, args.work)
                rows = measure(af, bundle, d, args, threads)
                db = output_psnr(af, bundle, d, threads, args.work) if name in SD else None
            except (subprocess.CalledProcessError, OSError) as e:
                err = getattr(e, "stderr", "") or str(e)
                print(f"| {name} | pending: {err.strip().splitlines()[-1] if err.strip() else e} |")
                break
            a, o = rows["af"], rows["ort"]
            lat[threads] = (med(a, "run_ms_median"), med(o, "run_ms_median"))
            if threads == args.threads[0]:
                ratios.append(lat[threads][0] / lat[threads][1])
            print(table_row(name, threads, a, o, db, multi))
            sys.stdout.flush()
        if multi and len(lat) == len(args.threads):
            first, last = lat[args.threads[0]], lat[args.threads[-1]]
            speedups.append((name, first[0] / last[0], first[1] / last[1]))
    if ratios:
        gm = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"\nlatency ratio at {args.threads[0]} thread(s), geometric mean over {len(ratios)} "
              f"models: **{gm:.2f}** (max {max(ratios):.2f})")
    if speedups:
        t0, t1 = args.threads[0], args.threads[-1]
        print(f"\n| model | aneforge {t1} vs {t0} threads | ORT {t1} vs {t0} threads |")
        print("|---|---:|---:|")
        for name, af_x, ort_x in speedups:
            print(f"| {name} | **{af_x:.2f}×** | {ort_x:.2f}× |")
    size = stripped_size(args.build)
    if size:
        blas = "yes" if "openblas" in sh(["ldd", os.path.join(args.build, "libaneforge_rt.so")]) else "no"
        print(f"\nlibaneforge_rt.so stripped: {size / 1024:.0f} KiB (links OpenBLAS: {blas})")
    if args.no_rss:
        return
    try:
        d = ensure_model(args.work, "resnet50")
        bundle = convert(af, d, "resnet50", "int4", args.work)
        rows = measure(af, bundle, d, args, args.threads[0], stream=True)
    except (subprocess.CalledProcessError, OSError) as e:
        err = getattr(e, "stderr", "") or str(e)
        print(f"\nint4 --stream-weights ResNet-50: pending ({err.strip()})")
        return
    a, o = rows["af"], rows["ort"]
    print(f"\nResNet-50, int4 bundle ({os.path.getsize(bundle) / 2**20:.1f} MiB) with "
          f"--stream-weights: peak RSS {med(a, 'peak_rss_kb') / 1024:.0f} MiB vs ONNX Runtime "
          f"{med(o, 'peak_rss_kb') / 1024:.0f} MiB: ratio **{med(a, 'peak_rss_kb') / med(o, 'peak_rss_kb'):.2f}**"
          f" (latency {med(a, 'run_ms_median'):.1f} ms vs {med(o, 'run_ms_median'):.1f} ms)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Compressed weights at run time: fp32, int8, int4 and sparse bundles of one model, side by side.

  python3 bench/compressed_weights.py --build build --work /tmp/af-cw --model resnet50 \
      [--rounds 5] [--runs 10] [--threads 1] [--no-ort] [--only "fp32,int8 --int8-compute"] \
      [--sparsity 0.5]

Exports the model if missing (models/export_torchvision.py: torchvision classifiers with seeded
random weights), converts it with --compress fp32, int8, int4 and sparse (--sparsity S, default
0.5: random weights have no zeros of their own), then runs alternating rounds
(the order reversed every other round) of, per configuration, one `aneforge bench --json`
process (int8, int4 and sparse both as they run by default — compressed panels — and with
--expand-weights, the decode-at-open path) and one ONNX Runtime process on the fp32 model
(tests/oracle/run_ort.js --bench --json), then the same rounds of `aneforge bench --profile`
(the sum over nodes of each node's fastest run: far less sensitive to other processes on a
shared machine than whole-run medians). Prints two Markdown tables: file size, peak RSS,
resident weight bytes (bench's weight_bytes), run-time median and minimum with their ratios to
the fp32 bundle and to ONNX Runtime; then the profile sums and their ratio to fp32. The int8
bundle also runs with --int8-compute (int8 dot products, docs/compression.md "int8 compute"),
whose accuracy against f32 compute on the same bundle (bench's int8_vs_f32: PSNR, cosine) is
printed last. --only runs a subset of the configurations (names as in the tables; fp32 always).
Standard library only (docs/performance.md "Compressed weights at run time" holds a run).
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFGS = [("fp32", []), ("int8", []), ("int8", ["--expand-weights"]), ("int8", ["--int8-compute"]),
        ("int4", []), ("int4", ["--expand-weights"]), ("sparse", []),
        ("sparse", ["--expand-weights"])]


def sh(cmd, env=None):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout


def key(name, flags):
    return name + ("" if not flags else " " + " ".join(flags))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--work", default="/tmp/af-cw")
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--sparsity", type=float, default=0.5)
    a = ap.parse_args()
    global CFGS
    if a.only:
        want = {"fp32"} | {w.strip() for w in a.only.split(",")}
        CFGS = [c for c in CFGS if key(*c) in want]
    af = os.path.abspath(os.path.join(a.build, "bin", "aneforge"))
    d = os.path.join(a.work, a.model)
    if not os.path.exists(os.path.join(d, "model.onnx")):
        sh(["/usr/bin/python3", os.path.join(ROOT, "models/export_torchvision.py"), a.work, a.model])
    for c in sorted({n for n, _ in CFGS}):
        out = os.path.join(a.work, f"{a.model}.{c}.afb")
        if not os.path.exists(out) or os.path.getmtime(out) < os.path.getmtime(af):
            extra = ["--sparsity", str(a.sparsity)] if c == "sparse" else []
            sh([af, "convert", os.path.join(d, "model.onnx"), "-o", out, "--compress", c, "-q"] +
               extra)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    inputs, th = os.path.join(d, "inputs"), str(a.threads)
    runs, prof = {}, {}
    cfgs = CFGS + ([] if a.no_ort else [("ort", None)])
    for r in range(a.rounds):
        for name, fl in (cfgs if r % 2 == 0 else cfgs[::-1]):
            if fl is None:
                out = sh(["node", os.path.join(ROOT, "tests/oracle/run_ort.js"),
                          os.path.join(d, "model.onnx"), inputs, os.path.join(a.work, "ort_out"),
                          "--threads", th, "--bench", str(a.runs), "--json"])
                j = json.loads(out.strip().splitlines()[-1])
                j["weight_bytes"], size = None, os.path.getsize(os.path.join(d, "model.onnx"))
            else:
                b = os.path.join(a.work, f"{a.model}.{name}.afb")
                j = json.loads(sh([af, "bench", b, "--inputs", inputs, "--threads", th,
                                   "--runs", str(a.runs), "--json"] + fl, env))
                size = os.path.getsize(b)
            runs.setdefault(key(name, fl or []), []).append((j, size))
    for r in range(a.rounds):
        for name, fl in (CFGS if r % 2 == 0 else CFGS[::-1]):
            out = sh([af, "bench", os.path.join(a.work, f"{a.model}.{name}.afb"), "--inputs",
                      inputs, "--threads", th, "--runs", str(a.runs), "--profile"] + fl, env)
            prof.setdefault(key(name, fl), []).append(float(re.search(r"sum ([0-9.]+) ms", out).group(1)))

    def med(k, f):
        return statistics.median(x[0][f] for x in runs[k])
    base, bmin = med("fp32", "run_ms_median"), min(x[0]["run_ms_min"] for x in runs["fp32"])
    ort = med("ort", "run_ms_median") if "ort" in runs else None
    omin = min(x[0]["run_ms_min"] for x in runs["ort"]) if ort else None
    cbase = med("fp32", "cpu_ms_median")
    print(f"| {a.model}, {a.threads} thread(s) | file MB | peak RSS MiB | resident weights MB | "
          "run ms (median) | vs fp32 | vs ORT | run ms (min) | vs fp32 | vs ORT | "
          "CPU ms/run (median) | vs fp32 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for k, v in runs.items():
        ms, mn = med(k, "run_ms_median"), min(x[0]["run_ms_min"] for x in v)
        wb = v[0][0]["weight_bytes"]
        cpu = med(k, "cpu_ms_median") if "cpu_ms_median" in v[0][0] else None
        print(f"| {k} | {v[0][1] / 1e6:.1f} | {med(k, 'peak_rss_kb') / 1024:.1f} | "
              f"{'' if wb is None else f'{wb / 1e6:.1f}'} | {ms:.1f} | {ms / base:.2f} | "
              f"{'' if ort is None else f'{ms / ort:.2f}'} | {mn:.1f} | {mn / bmin:.2f} | "
              f"{'' if omin is None else f'{mn / omin:.2f}'} | "
              f"{'' if cpu is None else f'{cpu:.1f} | {cpu / cbase:.2f}'} |")
    pb = statistics.median(prof["fp32"])
    print(f"\n| {a.model}: bench --profile, sum of each node's fastest run | ms (median, range) "
          "| vs fp32 |")
    print("|---|---|---|")
    for k, v in prof.items():
        m = statistics.median(v)
        print(f"| {k} | {m:.1f} ({min(v):.1f}-{max(v):.1f}) | {m / pb:.2f} |")
    for k, v in runs.items():
        for o in v[0][0].get("int8_vs_f32", []):
            print(f"\n{k}: output {o['output']} against f32 compute: PSNR {o['psnr']:.2f} dB, "
                  f"cosine {o['cosine']:.6f}, max abs {o['max_abs']:.4g}, rel L2 {o['rel_l2']:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""What the Python package adds to a run: `session.run` (inputs checked and copied in, outputs
copied out) against `aneforge bench` (af_session_run alone) on the same bundle, inputs and
threads, in alternating rounds (not a test: timings on a shared machine are noisy).

  python3 bench/python_overhead.py [--build build] [--work /tmp/af-bench] [--model mobilenet_v2]
                                   [--threads 1] [--rounds 5] [--runs 20] [--compress fp16]

The model is exported with models/export_torchvision.py (Debian's python3-torch) unless
WORK/MODEL/model.onnx exists. Each aneforge round is a fresh `aneforge bench --json` process
(median of --runs after one warm-up); each Python round opens the bundle and a session in this
process, runs once to warm up, then times --runs calls of session.run with time.perf_counter
(median), alternating with --runs bare af_session_run calls through ctypes on the same session:
their difference is the package's own cost, with less noise than across processes. Prints the
median over rounds of each figure and the ratio Python / CLI.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work", default="/tmp/af-bench")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--compress", default="fp16")
    a = ap.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # as bench/compare.py: numpy's BLAS pool stays idle
    os.environ.setdefault("ANEFORGE_LIBRARY", os.path.join(a.build, "libaneforge.so"))
    import numpy as np
    import aneforge as af

    d = os.path.join(a.work, a.model)
    if not os.path.exists(os.path.join(d, "model.onnx")):
        subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "models", "export_torchvision.py"),
                        a.work, a.model], check=True, capture_output=True)
    bundle = os.path.join(a.work, f"{a.model}.{a.compress}.py.afb")
    b = af.convert(os.path.join(d, "model.onnx"), bundle, compress=a.compress)
    inputs = os.path.join(d, "inputs")
    feeds = {s.name: np.load(os.path.join(inputs, s.name + ".npy")) for s in b.inputs}
    cli = os.path.join(a.build, "bin", "aneforge")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    py_ms, cli_ms, raw_ms = [], [], []
    for r in range(a.rounds):
        for side in (("cli", "py") if r % 2 == 0 else ("py", "cli")):
            if side == "cli":
                out = subprocess.run([cli, "bench", bundle, "--inputs", inputs, "--threads",
                                      str(a.threads), "--runs", str(a.runs), "--json"],
                                     check=True, capture_output=True, text=True, env=env).stdout
                cli_ms.append(json.loads(out)["run_ms_median"])
            else:
                with af.Bundle(bundle) as bb, bb.session(threads=a.threads) as s:
                    s.run(feeds)
                    t, raw = [], []
                    for _ in range(a.runs):
                        t0 = time.perf_counter()
                        s.run(feeds)
                        t1 = time.perf_counter()
                        af._lib.lib.af_session_run(s._h)
                        raw.append((time.perf_counter() - t1) * 1e3)
                        t.append((t1 - t0) * 1e3)
                    py_ms.append(statistics.median(t))
                    raw_ms.append(statistics.median(raw))
    p, c, w = (statistics.median(v) for v in (py_ms, cli_ms, raw_ms))
    print("| model | threads | aneforge bench ms | session.run ms | ratio | bare af_session_run ms "
          "(same process) | session.run / bare |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {a.model} ({a.compress}) | {a.threads} | {c:.3f} | {p:.3f} | {p / c:.3f} | {w:.3f} "
          f"| {p / w:.3f} |")
    fmt = lambda v: " ".join("%.2f" % x for x in v)  # noqa: E731
    print(f"rounds: cli [{fmt(cli_ms)}] session.run [{fmt(py_ms)}] bare [{fmt(raw_ms)}]")


if __name__ == "__main__":
    main()

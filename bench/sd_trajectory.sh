#!/bin/sh
# bench/sd_trajectory.sh — the trajectory table of docs/sd-fp16.md: `aneforge sd-trajectory` on
# the reduced SD-1.5-topology UNet (random weights), N DDIM steps (default 20), s = 7.5, seed 0,
# the fp32 bundle (--compress fp32) as the reference, cond/uncond as bench/sd_cfg.sh makes them
# (cond: the model's seeded text embedding; uncond: another seeded one, UNCOND=zeros: zeros).
#
#   bench/sd_trajectory.sh BUILD_DIR MODELS_DIR [LABEL=BUNDLE.afb ...]
#
# MODELS_DIR/sd_unet comes from `/usr/bin/python3 models/make_sd_blocks.py MODELS_DIR sd_unet`.
# Columns: all_fp16 (fp16 weights); temb_fp32, the timestep embedding kept fp32 (TEMB_NODES:
# the +1 dB placement bench/sd_cfg.sh's auto finds); then each LABEL=BUNDLE.afb given (labels
# without spaces; for instance sd_cfg.sh's auto placements, OUT/sd_unet.keep-fp32.afb). Cells:
# the latent's PSNR (dB) / relative drift after the step, vs the fp32 trajectory. STEPS (20)
# and ROWS ("1 2 5 10 15 20") choose the rows; the wall time of each trajectory (4 UNet runs
# per step) is printed below the table. THREADS (default 1) is passed to sd-trajectory: the
# full-size UNet (MODELS_DIR/sd_unet from `models/make_sd_blocks.py --full`) takes ~4 s per UNet
# run at 2 threads on the development machine, ~10 min per trajectory.
set -eu
USAGE="usage: bench/sd_trajectory.sh BUILD_DIR MODELS_DIR [LABEL=BUNDLE.afb ...]"
BUILD=${1:?$USAGE}
MODELS=${2:?$USAGE}
shift 2
AF=$BUILD/bin/aneforge
OUT=${OUT:-$(mktemp -d)}
STEPS=${STEPS:-20}
THREADS=${THREADS:-1}
ROWS=${ROWS:-1 2 5 10 15 20}
UNCOND=${UNCOND:-seeded}
TEMB_NODES=${TEMB_NODES:-/time_embedding/Mul,/time_embedding/Cos,/time_embedding/Sin}
M=$MODELS/sd_unet

mkdir -p "$OUT/cfg/cond" "$OUT/cfg/uncond"
/usr/bin/python3 - "$M/inputs/encoder_hidden_states.npy" "$OUT/cfg" "$UNCOND" <<'EOF'
import os, sys
import numpy as np
src, dst, mode = sys.argv[1:4]
e = np.load(src)
np.save(os.path.join(dst, "cond", "encoder_hidden_states.npy"), e)
u = np.zeros_like(e) if mode == "zeros" else np.random.default_rng(7).standard_normal(e.shape).astype(np.float32)
np.save(os.path.join(dst, "uncond", "encoder_hidden_states.npy"), u)
EOF
"$AF" convert "$M/model.onnx" -o "$OUT/fp32.afb" --compress fp32 -q
"$AF" convert "$M/model.onnx" -o "$OUT/fp16.afb" -q
"$AF" convert "$M/model.onnx" -o "$OUT/temb.afb" --keep-fp32 "$TEMB_NODES" -q

labels=""
run() { # LABEL BUNDLE
    t0=$(date +%s)
    "$AF" sd-trajectory "$2" --fp16 --reference "$OUT/fp32.afb" --cond "$OUT/cfg/cond" \
        --uncond "$OUT/cfg/uncond" --steps "$STEPS" --seed 0 --cfg-scale 7.5 --threads "$THREADS" --json >"$OUT/$1.json"
    echo "$1: $(( $(date +%s) - t0 )) s" >>"$OUT/times.txt"
    labels="$labels $1"
}
: >"$OUT/times.txt"
run all_fp16 "$OUT/fp16.afb"
run temb_fp32 "$OUT/temb.afb"
for spec in "$@"; do
    run "${spec%%=*}" "${spec#*=}"
done
/usr/bin/python3 - "$OUT" "$ROWS" $labels <<'EOF'
import json, os, sys
out, rows, labels = sys.argv[1], [int(r) for r in sys.argv[2].split()], sys.argv[3:]
docs = [json.load(open(os.path.join(out, l + ".json"))) for l in labels]
print("| step | t | " + " | ".join(labels) + " |")
print("|---|---|" + "---|" * len(labels))
for r in rows:
    if r > len(docs[0]["per_step"]):
        continue
    cells = []
    for d in docs:
        s = d["per_step"][r - 1]
        p = s["psnr_db"] if isinstance(s["psnr_db"], str) else f"{s['psnr_db']:.2f}"
        cells.append(f"{p} / {s['rel_drift']:.2e}")
    print(f"| {r} | {docs[0]['per_step'][r - 1]['t']} | " + " | ".join(cells) + " |")
print()
print(f"reference latent |max| after the last step: {docs[0]['final']['ref_max_abs']:.4g}; "
      + "; ".join(f"{l}: {d['fp32_nodes']} nodes fp32, {d['paired_fp16_nodes']} paired"
                  for l, d in zip(labels, docs)))
EOF
sed 's/^/wall time: /' "$OUT/times.txt"

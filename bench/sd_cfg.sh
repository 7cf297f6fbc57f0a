#!/bin/sh
# bench/sd_cfg.sh — the tables of docs/sd-fp16.md: classifier-free guidance under fp16
# emulation on the SD-1.5-topology blocks and UNet (random weights), before and after a
# precision placement.
#
#   bench/sd_cfg.sh BUILD_DIR MODELS_DIR [GAIN_DB]
#
# MODELS_DIR holds <model>/model.onnx and <model>/inputs/*.npy: sd_transformer and sd_down are
# the committed reduced blocks (models/), sd_unet the reduced UNet made by
#   /usr/bin/python3 models/make_sd_blocks.py MODELS_DIR sd_unet
# For each model, two input sets: cond = the model's inputs (a seeded text embedding as
# encoder_hidden_states), uncond = the same latent and timestep with another seeded embedding
# (the "empty prompt"; UNCOND=zeros: all zeros). s = 7.5. The placement gate is the all-fp16
# guided PSNR + GAIN_DB (default 10). MODELS_LIST: default "sd_transformer sd_down sd_unet".
set -eu
BUILD=${1:?usage: bench/sd_cfg.sh BUILD_DIR MODELS_DIR [GAIN_DB]}
MODELS=${2:?usage: bench/sd_cfg.sh BUILD_DIR MODELS_DIR [GAIN_DB]}
GAIN=${3:-10}
AF=$BUILD/bin/aneforge
OUT=${OUT:-$(mktemp -d)}
UNCOND=${UNCOND:-seeded}

sets() { # MODEL_DIR DEST
    /usr/bin/python3 - "$1/inputs" "$2" "$UNCOND" <<'EOF'
import os, sys
import numpy as np
src, dst, mode = sys.argv[1:4]
for k in ("cond", "uncond"):
    os.makedirs(os.path.join(dst, k), exist_ok=True)
    for f in sorted(os.listdir(src)):
        a = np.load(os.path.join(src, f))
        if f == "encoder_hidden_states.npy" and k == "uncond":
            a = (np.zeros_like(a) if mode == "zeros" else
                 np.random.default_rng(7).standard_normal(a.shape).astype(np.float32))
        np.save(os.path.join(dst, k, f), a)
EOF
}

# part P's PSNR in a validate --json report
psnr() { sed -n "s/.*\"$2\":{\"psnr_db\":\([-0-9.e]*\).*/\1/p" "$1" | head -1; }
ratio() { sed -n 's/.*"d_ratio":\([-0-9.e]*\),"cond".*/\1/p' "$1" | head -1; }
share() { "$AF" estimate "$1" --target h14 --json | sed -n 's/.*"cpu_time_share":\([-0-9.e]*\).*/\1/p'; }
extra() { "$AF" estimate "$1" --target h14 --json | sed -n 's/.*"paired_time_extra":\([-0-9.e]*\).*/\1/p'; }
nodes() { "$AF" inspect "$1" | sed -n 's/^  precision: \([0-9]*\) nodes fp32[^,]*, \([0-9]*\) paired.*/\1 fp32, \2 paired/p'; }

echo "| model | nodes | ‖d‖/‖c‖ | placement | c dB | u dB | d dB | guided dB | nodes placed | time off the ANE | time added | search |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for m in ${MODELS_LIST:-sd_transformer sd_down sd_unet}; do
    M=$MODELS/$m/model.onnx
    C=$OUT/$m.cfg
    sets "$MODELS/$m" "$C"
    G="--fp16 --cond $C/cond --uncond $C/uncond"
    "$AF" convert "$M" -o "$OUT/$m.afb" --target h14 -q
    n=$("$AF" inspect "$OUT/$m.afb" | sed -n 's/^  program: \([0-9]*\) nodes.*/\1/p')
    "$AF" validate "$M" "$OUT/$m.afb" $G --per-layer --json "$OUT/$m.json" --top 5 >"$OUT/$m.txt"
    base=$(psnr "$OUT/$m.json" guided)
    gate=$(awk -v b="$base" -v g="$GAIN" 'BEGIN { printf "%.2f", b + g }')
    row() { # LABEL BUNDLE JSON SEARCH_SECONDS
        printf '| %s | %s | %.3g | %s | %.2f | %.2f | %.2f | %.2f | %s | %s | %s | %s |\n' "$m" "$n" \
            "$(ratio "$3")" "$1" "$(psnr "$3" cond)" "$(psnr "$3" uncond)" "$(psnr "$3" difference)" \
            "$(psnr "$3" guided)" "${5:--}" "${6:--}" "${7:--}" "$4"
    }
    row "all fp16" "$OUT/$m.afb" "$OUT/$m.json" "-"
    for flag in keep-fp32 paired-fp16; do
        t0=$(date +%s)
        if "$AF" convert "$M" -o "$OUT/$m.$flag.afb" --target h14 --$flag auto --cfg-calib "$C" \
            --min-cfg-psnr "$gate" -q 2>"$OUT/$m.$flag.err"; then
            t=$(( $(date +%s) - t0 ))
            "$AF" validate "$M" "$OUT/$m.$flag.afb" $G --json "$OUT/$m.$flag.json" >/dev/null
            sh=$(share "$OUT/$m.$flag.afb")
            ex=$(extra "$OUT/$m.$flag.afb")
            row "--$flag auto, gate $gate dB" "$OUT/$m.$flag.afb" "$OUT/$m.$flag.json" "${t} s" \
                "$(nodes "$OUT/$m.$flag.afb")" "$(awk -v x="$sh" 'BEGIN { printf "%.1f %%", 100 * x }')" \
                "$(awk -v x="$ex" 'BEGIN { printf "%.1f %%", 100 * x }')"
        else
            echo "| $m | $n | | --$flag auto, gate $gate dB | | | | | $(cat "$OUT/$m.$flag.err") | | | |"
        fi
    done
done
echo
for m in ${MODELS_LIST:-sd_transformer sd_down sd_unet}; do
    echo "$m: the layers with the largest own error of the difference (all fp16):"
    sed -n '/^  rank/,/more/p' "$OUT/$m.txt" | head -6
done

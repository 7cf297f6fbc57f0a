#!/bin/sh
# aneforge sd-trajectory (issue 20, docs/sd-fp16.md "The denoising trajectory"): DDIM with
# classifier-free guidance, the bundle as deployed vs in fp32, per step.
#   1. errors (no torch needed): a bundle that is not UNet-shaped names what it lacks (exit 3),
#      bad numbers are exit 2, a missing or corrupt bundle and a mis-shaped embedding file are
#      exit 3 naming the file; one stderr line each;
#   2. on the reduced SD-1.5 UNet (sd_unet_model, needs torch; 2 steps, ~8 UNet runs each):
#      fp32 vs fp32 is exact (PSNR "inf", drift 0); under --fp16 the latent is measurably off
#      but close (40 to 120 dB: measured ~67 dB; a broken emulation gives inf, a broken sampler
#      or runtime far less); --min-psnr gates the final latent (exit 1);
#   3. the same numbers as bench/sd_trajectory.py, the independent numpy loop running one
#      `aneforge run` per evaluation: seeded defaults, and --cond/--uncond with --reference.
set -eu
. "$(dirname "$0")/lib/common.sh"

# 1. errors
"$AF" convert models/sd_down/model.onnx -o "$T/down.afb" -q
expect 3 "down.afb: not a UNet-shaped model: no timestep input .*has sample f32\[1,32,16,16\], temb" \
    -- "$AF" sd-trajectory "$T/down.afb" --steps 1
"$AF" convert models/tiny_mlp/model.onnx -o "$T/mlp.afb" -q
expect 3 "mlp.afb: not a UNet-shaped model: no sample input" -- "$AF" sd-trajectory "$T/mlp.afb"
expect 3 "nope.afb" -- "$AF" sd-trajectory "$T/nope.afb"
printf 'not a bundle' >"$T/junk.afb"
expect 3 "junk.afb" -- "$AF" sd-trajectory "$T/junk.afb"
expect 2 "bad --steps '0'" -- "$AF" sd-trajectory "$T/down.afb" --steps 0
expect 2 "bad --steps '1000' (want 1 to 999)" -- "$AF" sd-trajectory "$T/down.afb" --steps 1000
expect 2 "bad --cfg-scale 'x'" -- "$AF" sd-trajectory "$T/down.afb" --cfg-scale x
expect 2 "bad --cfg-scale 'nan'" -- "$AF" sd-trajectory "$T/down.afb" --cfg-scale nan
expect 2 "bad --seed '-1'" -- "$AF" sd-trajectory "$T/down.afb" --seed -1
expect 2 "bad --seed '1.5'" -- "$AF" sd-trajectory "$T/down.afb" --seed 1.5
expect 2 "unknown --scheduler 'pndm'" -- "$AF" sd-trajectory "$T/down.afb" --scheduler pndm
expect 2 "go together" -- "$AF" sd-trajectory "$T/down.afb" --cond "$T"
expect 2 "unknown option '--step'" -- "$AF" sd-trajectory "$T/down.afb" --step 2

have_torch || { echo "skip: python3-torch not installed (the UNet part)"; [ "$fails" -eq 0 ] && exit $SKIP; exit 1; }
U=$(sd_unet_model)
"$AF" convert "$U/model.onnx" -o "$T/u16.afb" -q
"$AF" convert "$U/model.onnx" -o "$T/u32.afb" --compress fp32 -q

# value of "key" in the "final" object of a report
final() { sed -n "s/.*\"final\":{[^}]*\"$2\":\"*\([-0-9.e+a-z]*\).*/\1/p" "$1"; }

# 2. fp32 vs fp32, fp16, the gate
"$AF" sd-trajectory "$T/u16.afb" --steps 2 --json >"$T/f32.json"
cat "$T/f32.json"; echo
[ "$(final "$T/f32.json" psnr_db)" = inf ] || fail "fp32 vs fp32: final PSNR not inf"
[ "$(final "$T/f32.json" rel_drift)" = 0 ] || fail "fp32 vs fp32: drift not 0"
grep -q '"deployed":"fp16"' "$T/f32.json" && fail "without --fp16 the deployed run is fp32"
grep -q '"per_step":\[{"step":1,"t":501,.*{"step":2,"t":1,' "$T/f32.json" || fail "timesteps 501, 1"
grep -q '"cond":"seeded","uncond":"zeros","sample":"sample","timestep":"timestep","encoder_hidden_states":"encoder_hidden_states","output":"output"' \
    "$T/f32.json" || fail "conditioning or the inputs found"
"$AF" sd-trajectory "$T/u16.afb" --steps 2 --fp16 --json >"$T/f16.json"
cat "$T/f16.json"; echo
p=$(final "$T/f16.json" psnr_db)
awk -v p="$p" 'BEGIN { exit !(p > 40 && p < 120) }' || fail "fp16: final PSNR $p, want 40..120 dB"
grep -q '"deployed":"fp16","fp32_nodes":0,"paired_fp16_nodes":0' "$T/f16.json" || fail "fp16 fields"
rc=0
"$AF" sd-trajectory "$T/u16.afb" --steps 1 --fp16 --min-psnr 200 >"$T/gate.txt" || rc=$?
cat "$T/gate.txt"
[ $rc -eq 1 ] || fail "--min-psnr 200: exit $rc (want 1)"
grep -q "^FAIL: .*u16.afb: final latent PSNR .* dB < --min-psnr 200.00 dB$" "$T/gate.txt" || fail "FAIL line"
grep -q "^     1     1 " "$T/gate.txt" || fail "table row of step 1 (t = 1)"

# conditioning files: a mis-shaped one names the file
mkdir -p "$T/bad" "$T/cfg/cond" "$T/cfg/uncond"
"$PY" -c "import numpy as np; np.save('$T/bad/encoder_hidden_states.npy', np.zeros((1, 4, 32), np.float32))"
expect 3 "bad/encoder_hidden_states.npy: must be f32\[1,8,32\] (the bundle's encoder_hidden_states), the file holds f32\[1,4,32\]" \
    -- "$AF" sd-trajectory "$T/u16.afb" --cond "$T/bad" --uncond "$T/bad"
expect 3 "cfg/cond/encoder_hidden_states.npy" -- "$AF" sd-trajectory "$T/u16.afb" --cond "$T/cfg/cond" --uncond "$T/cfg/uncond"
expect 3 "mlp.afb: not a UNet-shaped model" -- "$AF" sd-trajectory "$T/u16.afb" --reference "$T/mlp.afb"

# 3. the numpy twin. Tolerance: the latents are the same floats (same runtime, same sampler
# arithmetic in double without contraction, same generator through the same libm); the measures
# differ by summation order (numpy's pairwise mean vs a running sum, ~1e-15) and by the JSON's
# 9 significant digits (5e-9 relative): 1e-8 relative.
compare() { # C.json PY.json LABEL
    "$PY" - "$1" "$2" "$3" <<'EOF' || fail "sd-trajectory and bench/sd_trajectory.py differ ($3)"
import json, math, sys
c = json.load(open(sys.argv[1]))
p = json.load(open(sys.argv[2]))["runs"][sys.argv[3]]
assert len(c["per_step"]) == len(p), (len(c["per_step"]), len(p))
for a, b in zip(c["per_step"], p):
    assert a["t"] == b["t"], (a, b)
    for k in ("psnr_db", "rel_drift", "ref_max_abs"):
        x, y = float(a[k]), float(b[k])
        assert x == y or abs(x - y) <= 1e-8 * abs(y), (k, a, b)
    print(f"step {a['step']} t {a['t']}: psnr {a['psnr_db']} / {b['psnr_db']}, drift {a['rel_drift']} / {b['rel_drift']}")
EOF
}
"$PY" bench/sd_trajectory.py "$AF" "$T/u16.afb" --steps 2 --json >"$T/py16.json"
compare "$T/f16.json" "$T/py16.json" fp16
"$PY" -c "
import numpy as np
r = np.random.default_rng(5)
np.save('$T/cfg/cond/encoder_hidden_states.npy', r.standard_normal((1, 8, 32)).astype(np.float32))
np.save('$T/cfg/uncond/encoder_hidden_states.npy', r.standard_normal((1, 8, 32)).astype(np.float32))"
"$AF" sd-trajectory "$T/u16.afb" --fp16 --reference "$T/u32.afb" --cond "$T/cfg/cond" \
    --uncond "$T/cfg/uncond" --steps 2 --seed 3 --cfg-scale 5 --json >"$T/ref.json"
"$PY" bench/sd_trajectory.py "$AF" "$T/u32.afb" h16="$T/u16.afb" --cond "$T/cfg/cond" \
    --uncond "$T/cfg/uncond" --steps 2 --seed 3 --cfg-scale 5 --json >"$T/pyref.json"
compare "$T/ref.json" "$T/pyref.json" h16
[ "$fails" -eq 0 ]

#!/bin/sh
# End to end for the device rows on top of the family rows: `targets --json` lists every device
# with family, peak, bandwidth and a source (or assumed) per figure; --peak, --provenance and
# --detect (on recorded sysctl strings, and on this Linux machine: no ANE, exit 0); --target
# accepts chips and iPhone aliases everywhere and refuses unknown or ambiguous names with exit 2;
# estimates agree between targets with the same figures and differ where bandwidth or the core
# count (an Ultra) differs. No timing assertions: estimates are compared with each other only.
set -eu
. "$(dirname "$0")/lib/common.sh"
M=models/small_cnn/model.onnx

expect_rc() { # expect_rc CODE CMD... (stdout+stderr to $T/out)
    want=$1; shift
    set +e; "$@" >"$T/out" 2>&1; rc=$?; set -e
    if [ "$rc" -ne "$want" ]; then echo "FAIL: exit $rc (want $want): $*"; cat "$T/out"; exit 1; fi
}
expect_out() { grep -q -- "$1" "$T/out" || { echo "FAIL: no '$1' in output of the last command"; cat "$T/out"; exit 1; }; }
json_ok() { "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || { echo "FAIL: not JSON"; cat "$T/out"; exit 1; }; }

# the table: every device row with a family, peak, bandwidth and cores, each figure sourced or
# assumed; the family mapping pinned for a few devices (tests/unit/test_target_devices pins all)
expect_rc 0 "$AF" targets --json
json_ok
"$PY" - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
fams = {f["name"] for f in d["families"]}
devs = {x["name"]: x for x in d["devices"]}
assert len(devs) >= 29, len(devs)
for x in devs.values():
    assert x["family"] in fams, x["name"]
    for k in ("public_tops", "peak_fp16_tops", "dram_gbps", "ane_cores"):
        f = x[k]
        assert f["value"] > 0 and f["source"], (x["name"], k)
        assert f["assumed"] == f["source"].startswith("assumed:"), (x["name"], k)
want = {"a11": "h13", "a14": "h13", "a15": "h14", "a16": "h15", "a17pro": "h16", "a18": "h17s",
        "m1ultra": "h13", "m2ultra": "h14", "m3max": "h15", "m4pro": "h16", "m5max": "h17s"}
for n, f in want.items():
    assert devs[n]["family"] == f, (n, devs[n]["family"], f)
assert "iphone13" in devs["a15"]["aliases"].split(",")
assert devs["m2ultra"]["ane_cores"]["value"] == 32
print("targets --json: %d devices on %d families" % (len(devs), len(fams)))
PY
expect_rc 0 "$AF" targets
expect_out "m2ultra  M2 Ultra"
expect_out "iphone13"

# the generational peak table and the provenance of a target's figures
expect_rc 0 "$AF" targets --peak
expect_out "H16  a17pro   A17 Pro"
expect_rc 0 "$AF" targets --peak --json
json_ok
expect_out '"target":"m4"'
expect_rc 0 "$AF" targets --provenance iphone13
expect_out "a15 = A15 Bionic, generation H14, family h14"
expect_out "dram_gbps .* assumed  from a15"
expect_out "op_floor_us .* assumed  from h14"
expect_rc 0 "$AF" targets --provenance a11 --json
json_ok
expect_out '"extrapolated":true'
expect_out '"anchor":"h13"'
expect_rc 2 "$AF" targets --provenance iphone3
expect_out "unknown target 'iphone3'; did you mean"
expect_out "'iphone13'"
expect_rc 2 "$AF" targets --provenance macstudio
expect_out "ambiguous target 'macstudio'"
expect_rc 2 "$AF" targets --peak --detect
expect_rc 2 "$AF" targets --brand "Apple M1"

# detection: this machine (Linux) has no ANE, exit 0; recorded sysctl strings of Apple machines
expect_rc 0 "$AF" targets --detect
expect_out "no ANE"
expect_rc 0 "$AF" targets --detect --json
json_ok
expect_out '"has_ane":false'
while IFS='|' read -r model brand family; do
    expect_rc 0 "$AF" targets --detect --json --hw-model "$model" --brand "$brand"
    json_ok
    expect_out "\"family\":\"$family\""
done <<'REC'
MacBookAir10,1|Apple M1|h13
MacBookPro18,2|Apple M1 Max|h13
Mac14,14|Apple M2 Ultra|h14
Mac15,3|Apple M3|h15
Mac16,7|Apple M4 Pro|h16
Mac17,2|Apple M5|h17s
iPhone14,2||h14
iPhone16,1||h16
MacBookPro16,1|Intel(R) Core(TM) i9-9880H CPU @ 2.30GHz|
REC

# --target takes chips and iPhone aliases in every command; unknown names exit 2
expect_rc 1 "$AF" check "$M" --target iphone13 --json   # the caps are the family's: h14
expect_out '"target":"h14"'
expect_rc 1 "$AF" check models/fp16_overflow/model.onnx --target a14   # A14 is h13: no Sin
expect_out "node 'wave' (sin): missing_op"
expect_rc 0 "$AF" convert models/fp16_overflow/model.onnx -o "$T/a15.afb" --target a15 -q
# the bundle records the resolved target (family + chip), not the name as typed; inspect reads it
expect_rc 0 "$AF" convert "$M" -o "$T/ip13.afb" --target iphone13 --allow-fallback -q
expect_rc 0 "$AF" inspect "$T/ip13.afb"
expect_out '"target":"h14","target_device":"a15"'
expect_out "target: a15 (A15 Bionic), family h14"
expect_rc 0 "$AF" inspect "$T/ip13.afb" --json
expect_out '"target":{"recorded":"a15","family":"h14","device":"a15","chip":"A15 Bionic"}'
expect_rc 0 "$AF" convert "$M" -o "$T/h16.afb" --target h16 --allow-fallback -q
expect_rc 0 "$AF" inspect "$T/h16.afb"
expect_out "target: family h16 (M4"
if grep -q target_device "$T/out"; then echo "FAIL: a family target records a device"; exit 1; fi
expect_rc 0 "$AF" estimate "$T/ip13.afb" --json   # no --target: the recorded one
expect_out '"target":"a15","target_family":"h14"'
expect_rc 0 "$AF" convert "$M" -o "$T/none.afb" -q
expect_rc 2 "$AF" estimate "$T/none.afb"
expect_out "records no target"
expect_rc 2 "$AF" estimate "$M" --target iphone99
expect_out "unknown target 'iphone99'"
expect_rc 2 "$AF" convert "$M" -o "$T/x.afb" --target macbookpro
[ ! -e "$T/x.afb" ] || { echo "FAIL: a bundle was written for an ambiguous target"; exit 1; }

# estimates: the same figures give the same time; bandwidth and the Ultra's two dies change it
"$AF" convert "$M" -o "$T/cnn.afb" -q
est() { # est TARGET -> time_ms; also checks the JSON and the provenance in it
    "$AF" estimate "$T/cnn.afb" --target "$1" --json >"$T/est.json"
    "$PY" - "$T/est.json" "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p = d["provenance"]
assert d["target"] == p["target"] and p["sourced"] + p["assumed"] == len(p["figures"])
assert all(f["source"] for f in p["figures"])
print(d["time_ms"])
PY
}
h14=$(est h14); m2=$(est m2); a15=$(est a15); ip13=$(est iphone13); m2max=$(est m2max); m2u=$(est m2ultra)
a18=$(est a18); a18p=$(est a18pro); m4=$(est m4); m4max=$(est m4max)
echo "estimates (ms): h14 $h14, m2 $m2, a15 $a15, m2max $m2max, m2ultra $m2u, a18 $a18, m4 $m4, m4max $m4max"
[ "$m2" = "$h14" ] || { echo "FAIL: m2 $m2 != h14 $h14 (same figures)"; exit 1; }
[ "$ip13" = "$a15" ] || { echo "FAIL: iphone13 $ip13 != a15 $a15"; exit 1; }
[ "$a18" = "$a18p" ] || { echo "FAIL: a18 $a18 != a18pro $a18p (same figures)"; exit 1; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }' || { echo "FAIL: $3: $1 not below $2"; exit 1; }; }
lt "$m2" "$a15" "m2 (100 GB/s) vs a15 (34.1 GB/s assumed), same family and peak"
lt "$m2u" "$m2max" "m2ultra (2 dies, 800 GB/s) vs m2max"
lt "$m4max" "$m4" "m4max (546 GB/s) vs m4 (120 GB/s)"
expect_rc 0 "$AF" estimate "$T/cnn.afb" --target m2ultra
expect_out "target: m2ultra = M2 Ultra, generation H14, family h14"
expect_out "note: an Ultra is two dies"
expect_rc 0 "$AF" estimate "$T/cnn.afb" --target a19
expect_out "extrapolated from this anchor row"
for t in a11 a12 a13 a14 a16 a17pro a19pro m1 m1pro m1max m1ultra m2pro m3 m3pro m3max m3ultra m4pro m5 m5pro m5max; do
    est "$t" >/dev/null || { echo "FAIL: estimate --target $t"; exit 1; }
done
echo "target_devices: ok"

#!/bin/sh
# safetensors: the malformed suite through `aneforge inspect` (exit 3, one line, the specific
# [status] of tests/data/safetensors/expected.txt), the valid files, and `convert --weights`:
# a model whose initializers were replaced by other values, converted with --weights pointing at
# the original values (written by the independent numpy writer models/make_safetensors.py),
# must give the original fp32 bundle's outputs bit for bit — as one file, as F64, as a sharded
# index, and under a weight map. Exact equality is the right bar: F32 and F64 (of f32 values)
# round-trip exactly, so the bound constants are the original bytes and the program is the same.
set -eu
. "$(dirname "$0")/lib/common.sh"
ST=tests/data/safetensors
fail() { echo "FAIL: $*"; exit 1; }

# ---- malformed files: exit 3, one line, the named status ----
n=0
while read -r f name; do
    case "$f" in '#'* | '') continue ;; esac
    rc=0
    "$AF" inspect "$ST/$f" >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" -eq 3 ] || fail "$f: exit $rc, want 3"
    [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$f: stderr is not one line"
    grep -q "^aneforge: error: $ST/$f: .*\[$name\]\$" "$T/err" || fail "$f: message '$(cat "$T/err")' lacks [$name]"
    n=$((n + 1))
done <"$ST/expected.txt"
[ "$n" -ge 20 ] || fail "only $n malformed files"
echo "malformed: $n files refused with exit 3 and their named error"
for f in "$ST"/valid_*.safetensors; do
    "$AF" inspect "$f" >/dev/null || fail "$f refused"
    "$AF" inspect "$f" --json >"$T/j.json" || fail "$f --json refused"
    if [ -x "$PY" ]; then "$PY" -c "import json,sys; json.load(open(sys.argv[1]))" "$T/j.json" || fail "$f: bad JSON"; fi
done
"$AF" inspect "$ST/valid_basic.safetensors" | grep -q "w .*F32 .*\[2,3\] .*24 bytes" || fail "inspect listing"
"$AF" inspect "$ST/valid_basic.safetensors" | grep -q "metadata format = pt" || fail "inspect metadata"
echo "valid: ok"

# ---- convert --weights ----
if ! "$PY" -c "import onnx, numpy" 2>/dev/null; then echo "no python3-onnx: skipping --weights"; exit $SKIP; fi

# same_outputs DIR_A DIR_B: every .npy byte-identical
same_outputs() {
    for f in "$1"/*.npy; do cmp -s "$f" "$2/$(basename "$f")" || return 1; done
}

# bind_check MODEL_DIR NAME: the checks above on one model (fp32 bundles).
bind_check() {
    m=$1 d=$T/$2 name=$2
    mkdir -p "$d"
    "$AF" convert "$m/model.onnx" -o "$d/orig.afb" --compress fp32 -q
    "$AF" run "$d/orig.afb" --inputs "$m/inputs" --outputs "$d/orig.out"
    "$PY" $ST/perturb_onnx.py "$m/model.onnx" "$d/model.onnx" "$d/w.npz"
    "$AF" convert "$d/model.onnx" -o "$d/perturbed.afb" --compress fp32 -q
    "$AF" run "$d/perturbed.afb" --inputs "$m/inputs" --outputs "$d/perturbed.out"
    ! same_outputs "$d/orig.out" "$d/perturbed.out" || fail "$2: perturbing changed nothing"
    # one file, F32
    "$PY" models/make_safetensors.py "$d/w.npz" "$d/w.safetensors" --metadata format=pt
    "$AF" convert "$d/model.onnx" -o "$d/bound.afb" --compress fp32 --weights "$d/w.safetensors" >"$d/log"
    grep -q "initializers replaced from 1 safetensors file" "$d/log" || fail "$2: report"
    "$AF" run "$d/bound.afb" --inputs "$m/inputs" --outputs "$d/bound.out"
    same_outputs "$d/orig.out" "$d/bound.out" || fail "$2: --weights outputs differ from the original"
    # F64 file (exact for f32 values), converted to the graph's f32
    "$PY" models/make_safetensors.py "$d/w.npz" "$d/w64.safetensors" --dtype f64
    "$AF" convert "$d/model.onnx" -o "$d/b64.afb" --compress fp32 --weights "$d/w64.safetensors" -q
    "$AF" run "$d/b64.afb" --inputs "$m/inputs" --outputs "$d/b64.out"
    same_outputs "$d/orig.out" "$d/b64.out" || fail "$2: F64 weights differ"
    # three shards behind an index
    mkdir -p "$d/shards"
    "$PY" models/make_safetensors.py "$d/w.npz" "$d/shards/model.safetensors" --shards 3
    "$AF" convert "$d/model.onnx" -o "$d/sh.afb" --compress fp32 --weights "$d/shards/model.safetensors.index.json" -q
    "$AF" run "$d/sh.afb" --inputs "$m/inputs" --outputs "$d/sh.out"
    same_outputs "$d/orig.out" "$d/sh.out" || fail "$2: sharded weights differ"
    # the shards given one by one give the same
    set -- "$d"/shards/model-*.safetensors
    "$AF" convert "$d/model.onnx" -o "$d/sh2.afb" --compress fp32 --weights "$1" --weights "$2" --weights "$3" -q
    cmp -s "$d/sh.afb" "$d/sh2.afb" || fail "shards one by one: different bundle"
    echo "$name ($m): --weights reproduces the original outputs exactly (F32, F64, 3 shards)"
}
bind_check models/small_cnn small_cnn
SD=models/sd_resnet
[ -f $SD/model.onnx ] || SD=models/tiny_mlp
bind_check $SD sd

# weight map: names under a prefix and an exporter-renamed initializer
d=$T/small_cnn
"$PY" models/make_safetensors.py "$d/w.npz" "$d/pre.safetensors" --prefix model.net. --rename fc2.bias=classifier.out.bias
printf '# small_cnn under a training wrapper\nstrip model.net.\nrename model.net.classifier.out.bias fc2.bias  # exact wins\n' >"$d/map.txt"
"$AF" convert "$d/model.onnx" -o "$d/map.afb" --compress fp32 --weights "$d/pre.safetensors" --weight-map "$d/map.txt" -q
"$AF" run "$d/map.afb" --inputs models/small_cnn/inputs --outputs "$d/map.out"
same_outputs "$d/orig.out" "$d/map.out" || fail "weight map: outputs differ"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/pre.safetensors" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "weights do not match the model: 49 file tensors with no initializer: 'model.net." "$T/err" || fail "no map: $(cat "$T/err")"
printf 'rename a\n' >"$d/badmap.txt"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/pre.safetensors" --weight-map "$d/badmap.txt" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "badmap.txt:1: 'rename' takes 2 names, got 1" "$T/err" || fail "bad map: $(cat "$T/err")"
echo "weight map: ok"

# partial files: an error naming the tensor, accepted with --allow-partial
"$PY" models/make_safetensors.py "$d/w.npz" "$d/part.safetensors" --drop fc1.bias
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/part.safetensors" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "1 initializer not in the files: 'fc1.bias'" "$T/err" || fail "partial: $(cat "$T/err")"
"$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/part.safetensors" --allow-partial -q 2>"$T/err"
grep -q "warning: --allow-partial: .*'fc1.bias'" "$T/err" || fail "allow-partial warning"
[ ! -f "$d/x.afb.tmp" ] && [ -f "$d/x.afb" ] || fail "allow-partial bundle"

# a shape mismatch names the tensor and both shapes
"$PY" -c "
import numpy as np, sys
w = dict(np.load(sys.argv[1])); w['fc1.weight'] = w['fc1.weight'].T.copy(); np.savez(sys.argv[2], **w)" "$d/w.npz" "$d/t.npz"
"$PY" models/make_safetensors.py "$d/t.npz" "$d/t.safetensors"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/t.safetensors" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "tensor 'fc1.weight' has shape \[64,32\] in the file, the model's initializer 'fc1.weight' has \[32,64\]" "$T/err" || fail "shape: $(cat "$T/err")"

# F16 and BF16 files convert to the graph's f32 (not exact: the values were rounded)
for dt in f16 bf16; do
    "$PY" models/make_safetensors.py "$d/w.npz" "$d/$dt.safetensors" --dtype $dt
    "$AF" convert "$d/model.onnx" -o "$d/$dt.afb" --compress fp32 --weights "$d/$dt.safetensors" >"$T/log"
    grep -q "(49 converted to the model's dtype)" "$T/log" || fail "$dt: $(cat "$T/log")"
done
# a tensor listed twice across files, a missing file, a malformed file
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/w.safetensors" --weights "$d/w64.safetensors" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "two weights bind to" "$T/err" || fail "duplicate: $(cat "$T/err")"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights "$d/nope.safetensors" 2>"$T/err" || rc=$?
[ $rc -eq 3 ] || fail "missing file: exit $rc"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --weights $ST/bad_offset_overlap.safetensors 2>"$T/err" || rc=$?
[ $rc -eq 3 ] && grep -q "\[offset_overlap\]" "$T/err" || fail "malformed weights: $(cat "$T/err")"
rc=0; "$AF" convert "$d/model.onnx" -o "$d/x.afb" --allow-partial 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || fail "--allow-partial without --weights: exit $rc"
echo "errors: ok"

#!/bin/sh
# tests/fuzz/seeds.sh BUILD_DIR NAME OUT_DIR — collects the seed corpus of harness fuzz_NAME
# into OUT_DIR (a build folder; nothing large is committed).
#
# Seeds are the files under models/ and tests/ whose extension is the format's (NAME, or
# "afb" for the bundle harness), at most MAX_SEED bytes each, plus anything committed in
# tests/fuzz/corpus/NAME/ (or seeds/NAME/). Bundle seeds are made by converting the small test
# models with BUILD_DIR/bin/aneforge (every --compress encoding it knows). A new harness
# fuzz_<format>.c needs nothing here when its files end in .<format>; small hand-made seeds go
# in tests/fuzz/corpus/<format>/.
set -eu
BUILD=${1:?usage: seeds.sh BUILD_DIR NAME OUT_DIR}
NAME=${2:?}
OUT=${3:?}
MAX_SEED=${MAX_SEED:-131072}
cd "$(dirname "$0")/../.."
mkdir -p "$OUT"

copy_found() { # EXT
    find models tests -path tests/oracle -prune -o -type f -name "*.$1" -size -"$MAX_SEED"c -print |
        sort | while read -r f; do
            cp "$f" "$OUT/$(echo "$f" | tr '/' '_')"
        done
}

case "$NAME" in
bundle)
    for m in tests/data/onnx/*.onnx tests/data/dynamic/*.onnx models/*/model.onnx; do
        b=$(basename "$(dirname "$m")")_$(basename "$m" .onnx)
        for c in fp32 fp16 int8 int4 sparse blockwise palette; do # unknown ones just fail
            "$BUILD/bin/aneforge" convert "$m" -o "$OUT/$b.$c.afb" --compress "$c" -q \
                >/dev/null 2>&1 || true
        done
        for n in 1 3 6 8; do # palettes: codes straddling bytes, row scales, the unscaled form
            "$BUILD/bin/aneforge" convert "$m" -o "$OUT/$b.palette$n.afb" --compress palette \
                --palette-bits "$n" --palette-scale "$([ $n = 6 ] && echo none || echo row)" \
                -q >/dev/null 2>&1 || true
        done
    done
    # a precision placement in the metadata (read by fp16 sessions): named fp32 and paired nodes
    "$BUILD/bin/aneforge" convert models/cfg_cancel/model.onnx -o "$OUT/cfg_cancel.placed.afb" \
        --keep-fp32 add_z,mm_out --paired-fp16 scale_k -q >/dev/null 2>&1 || true
    find "$OUT" -name '*.afb' -size +"$MAX_SEED"c -exec rm -f {} +
    copy_found afb
    ;;
convert) copy_found onnx ;; # the converter pipeline harness reads ONNX models
onnx_describe) copy_found onnx ;; # inspect's model description
*) copy_found "$NAME" ;;
esac
for d in tests/fuzz/corpus/"$NAME" tests/fuzz/seeds/"$NAME"; do
    if [ -d "$d" ]; then cp "$d"/* "$OUT"/ 2>/dev/null || true; fi
done
echo "fuzz_$NAME: $(ls "$OUT" | wc -l) seeds in $OUT"

# Sourced by tests/e2e/*.sh. $1 of the test is the build directory.
BUILD=${1:?usage: $0 BUILD_DIR}
AF=$BUILD/bin/aneforge
CMP=$BUILD/tests/af_npycmp
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
SKIP=77
PY=/usr/bin/python3
ORACLE=tests/oracle/run_ort.js

have_oracle() { [ -f tests/oracle/node_modules/onnxruntime-node/package.json ] && command -v node >/dev/null; }
have_torch() { [ -x "$PY" ] && "$PY" -c "import torch, torchvision" 2>/dev/null; }

# convert_run_compare MODEL_DIR NAME COMPRESS MIN_PSNR REF_DIR
convert_run_compare() {
    "$AF" convert "$1/model.onnx" -o "$T/$2.$3.afb" --compress "$3" -q
    "$AF" run "$T/$2.$3.afb" --inputs "$1/inputs" --outputs "$T/$2.$3.out"
    printf '%s %s: ' "$2" "$3"
    "$CMP" "$5" "$T/$2.$3.out" --min-psnr "$4"
}

# Failure bookkeeping for scripts that check many cases: call `fail MSG`, end with
# `[ "$fails" -eq 0 ]`.
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE FRAGMENT -- COMMAND...: the exit code, exactly one stderr line, and the fragment
# (a grep pattern) in it after "aneforge: error: ".
expect() {
    code=$1 frag=$2
    shift 3
    set +e
    "$@" >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    lines=$(wc -l <"$T/err")
    if [ "$rc" -ne "$code" ] || [ "$lines" -ne 1 ] || ! grep -q "^aneforge: error: .*$frag" "$T/err"; then
        fail "$* -> exit $rc (want $code), $lines stderr lines, want '$frag':"
        cat "$T/err"
    else
        echo "ok: exit $rc: $(cat "$T/err")"
    fi
}

# sd_unet_model: makes the reduced SD-1.5-topology UNet (models/make_sd_blocks.py sd_unet:
# channels 32/64/64/64, latent 4x16x16, context 8x32) in $BUILD/models-cache/sd_unet once and
# prints that folder. Tests running in parallel share it: the first makes it under a lock
# (flock: released if the maker dies), the others wait. Needs torch (have_torch).
sd_unet_model() {
    mkdir -p "$BUILD/models-cache"
    flock "$BUILD/models-cache/.sd_unet.lock" sh -c '
        [ -f "$1/sd_unet/.model-done" ] && exit 0
        "$2" models/make_sd_blocks.py "$1" sd_unet 2>/dev/null | cut -c1-200 >&2
        touch "$1/sd_unet/.model-done"' sh "$BUILD/models-cache" "$PY"
    echo "$BUILD/models-cache/sd_unet"
}

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

#!/bin/sh
# models/make_references.sh MODEL_DIR... — ONNX Runtime reference outputs for each model folder:
#   node tests/oracle/run_ort.js MODEL_DIR/model.onnx MODEL_DIR/inputs MODEL_DIR/reference
# (CPU, 1 thread). Needs onnxruntime-node: cd tests/oracle && npm install --ignore-scripts.
# Set BENCH=N to also print ONNX Runtime timings (JSON) for N runs per model.
set -eu
if [ $# -eq 0 ]; then
    echo "usage: models/make_references.sh MODEL_DIR..." >&2
    exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
oracle="$root/tests/oracle/run_ort.js"
for dir in "$@"; do
    for f in "$dir/model.onnx" "$dir/inputs"; do
        if [ ! -e "$f" ]; then
            echo "make_references.sh: error: $f: not found" >&2
            exit 1
        fi
    done
    if [ -n "${BENCH:-}" ]; then
        printf '%s: ' "$dir"
        node "$oracle" "$dir/model.onnx" "$dir/inputs" "$dir/reference" --threads 1 --bench "$BENCH" --json
    else
        node "$oracle" "$dir/model.onnx" "$dir/inputs" "$dir/reference" --threads 1
        echo "$dir/reference: $(ls "$dir/reference" | tr '\n' ' ')"
    fi
done

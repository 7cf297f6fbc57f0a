#!/bin/sh
# Installs the Debian packages and the npm test oracle aneforge needs, if missing.
# Idempotent: does nothing when everything is present. Without root it prints the command.
set -eu
cd "$(dirname "$0")/.."

PKGS="build-essential cmake pkg-config zlib1g-dev libprotobuf-c-dev protobuf-c-compiler \
libonnx-dev libopenblas-dev libonnx-testdata python3-numpy python3-onnx \
clang libclang-rt-14-dev librsvg2-bin python3-pytest python3-setuptools python3-pip"
# Test-model exporters: the torchvision end-to-end tests export real models with them (they
# skip when absent). AF_NO_TORCH=1 leaves them out.
OPT_PKGS="python3-torch python3-torchvision"
[ -n "${AF_NO_TORCH:-}" ] && OPT_PKGS=""
# make check-arm64 (docs/arm64.md): the aarch64 cross compiler, qemu-user, and the arm64
# multiarch libraries the cross build links. AF_NO_ARM64=1 leaves them out.
ARM64_PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user zlib1g-dev:arm64 \
libprotobuf-c-dev:arm64"
[ -n "${AF_NO_ARM64:-}" ] && ARM64_PKGS=""

missing=""
# Node.js may come from elsewhere (e.g. a nodesource build that bundles npm): check commands.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
for p in $PKGS $OPT_PKGS $ARM64_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    cmd="apt-get install -y --no-install-recommends$missing"
    if [ "$(id -u)" -ne 0 ]; then
        echo "aneforge: missing Debian packages; run as root:" >&2
        case "$missing" in *:arm64*) echo "  dpkg --add-architecture arm64" >&2 ;; esac
        echo "  apt-get update && $cmd" >&2
        exit 1
    fi
    echo "aneforge: installing$missing"
    case "$missing" in *:arm64*)
        dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
    esac
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive $cmd >/dev/null
fi

# ONNX Runtime, the independent reference (tests that need it skip when absent).
if [ ! -f tests/oracle/node_modules/onnxruntime-node/package.json ] && command -v npm >/dev/null; then
    echo "aneforge: installing the ONNX Runtime test oracle (npm onnxruntime-node)"
    (cd tests/oracle && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
        echo "aneforge: warning: npm install of onnxruntime-node failed; oracle tests will skip" >&2
fi
exit 0

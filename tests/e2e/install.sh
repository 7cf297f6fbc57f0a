#!/bin/sh
# Installs aneforge into a temporary prefix and builds examples/classify.c against it twice —
# with CMake's find_package(aneforge) and with pkg-config — then runs both on a converted
# model and checks they agree. Also checks the installed runtime library needs no protobuf-c,
# and that the Python package works as `cmake --install` puts it (the prefix's Python path) and
# as `pip install ./python` does (offline, Debian's setuptools), with outputs equal to the CLI's.
set -eu
. "$(dirname "$0")/lib/common.sh"
command -v pkg-config >/dev/null || { echo "skip: pkg-config not installed"; exit $SKIP; }
P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >/dev/null
for f in include/aneforge/runtime.h include/aneforge/converter.h lib/libaneforge_rt.a \
         lib/libaneforge_rt.so.0 lib/libaneforge.so.0 lib/pkgconfig/aneforge-rt.pc \
         lib/cmake/aneforge/aneforgeConfig.cmake bin/aneforge; do
    [ -e "$P/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
if readelf -d "$P/lib/libaneforge_rt.so.0" | grep NEEDED | grep -q protobuf; then
    echo "FAIL: libaneforge_rt links protobuf-c"; exit 1
fi
readelf -d "$P/lib/libaneforge_rt.so.0" | grep -q 'SONAME.*libaneforge_rt.so.0' || { echo "FAIL: SONAME"; exit 1; }

# A model and an image.
"$P/bin/aneforge" convert models/small_cnn/model.onnx -o "$T/m.afb" -q
{ printf 'P6\n80 72\n255\n'; head -c $((80 * 72 * 3)) /dev/urandom; } >"$T/img.ppm"

# 1. CMake package
cmake -S examples -B "$T/ex" -DCMAKE_PREFIX_PATH="$P" >/dev/null
cmake --build "$T/ex" >/dev/null
LD_LIBRARY_PATH="$P/lib" "$T/ex/classify" "$T/m.afb" "$T/img.ppm" >"$T/top5.cmake"

# 2. pkg-config
PKG_CONFIG_PATH="$P/lib/pkgconfig" cc -std=c11 -O2 examples/classify.c -o "$T/classify_pc" \
    $(PKG_CONFIG_PATH="$P/lib/pkgconfig" pkg-config --cflags --libs aneforge-rt) -lm
LD_LIBRARY_PATH="$P/lib" "$T/classify_pc" "$T/m.afb" "$T/img.ppm" >"$T/top5.pc"

cat "$T/top5.cmake"
[ "$(wc -l <"$T/top5.cmake")" -eq 5 ] || { echo "FAIL: expected 5 lines"; exit 1; }
cmp "$T/top5.cmake" "$T/top5.pc"

# 3. The Python package (skipped without Debian's numpy; pip needs python3-pip/setuptools).
"$AF" run "$T/m.afb" --inputs models/small_cnn/inputs --outputs "$T/cli_out" >/dev/null
py_check() { # the package converts and runs like the CLI, with the library it found
    "$PY" - "$T" <<'EOP'
import os, sys
import numpy as np
import aneforge as af
t = sys.argv[1]
b = af.convert("models/small_cnn/model.onnx", os.path.join(t, "py.afb"))
assert open(os.path.join(t, "py.afb"), "rb").read() == open(os.path.join(t, "m.afb"), "rb").read()
y = b.session().run({"input": np.load("models/small_cnn/inputs/input.npy")})["output"]
assert y.tobytes() == np.load(os.path.join(t, "cli_out", "output.npy")).tobytes()
print("python:", af.__file__, "with", af.library_path)
EOP
}
if "$PY" -c "import numpy" 2>/dev/null; then
    PYDIR=$(ls -d "$P"/lib/python3*/dist-packages)
    [ -f "$PYDIR/aneforge/_install.py" ] || { echo "FAIL: python package not installed"; exit 1; }
    (unset ANEFORGE_LIBRARY; export PYTHONPATH="$PYDIR"; py_check)
    if "$PY" -m pip --version >/dev/null 2>&1; then
        cp -r python "$T/pysrc"
        "$PY" -m pip install -q --no-build-isolation --no-index --no-deps --target "$T/pip" \
            "$T/pysrc" 2>/dev/null
        (export ANEFORGE_LIBRARY="$P/lib/libaneforge.so.0" PYTHONPATH="$T/pip"; py_check)
    fi
fi
echo "install: ok"

#!/bin/sh
# Instruction-count profile of the aarch64 CLI under qemu-aarch64 (docs/arm64.md): builds the
# QEMU plugin tests/arm64/insn_profile.c with the host compiler, runs one bundle once
# (--threads 1) and prints each function's share of the guest instructions with its source
# file, NEON kernels (*_neon.c) marked. Counts instructions, not time: no speed is claimed.
# With RUNS > 0 it profiles `bench --runs RUNS` instead: one load and RUNS + 1 runs, so the
# once-per-session work (bundle check, weight packing and transforms) weighs less.
#   tests/arm64/profile.sh HOST_BUILD ARM64_BUILD MODEL_DIR [COMPRESS] [TOP] [RUNS]
set -eu
HOST=${1:?usage: $0 HOST_BUILD ARM64_BUILD MODEL_DIR [COMPRESS] [TOP]}
ARM=${2:?}
MODEL=${3:?}
COMPRESS=${4:-fp32}
TOP=${5:-15}
RUNS=${6:-0}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
${CC:-cc} -O2 -shared -fPIC -o "$T/insn_profile.so" tests/arm64/insn_profile.c
"$HOST/bin/aneforge" convert "$MODEL/model.onnx" -o "$T/m.afb" --compress "$COMPRESS" -q
if [ "$RUNS" -gt 0 ]; then
    qemu-aarch64 -plugin "$T/insn_profile.so,out=$T/prof.tsv" "$ARM/bin/aneforge" bench "$T/m.afb" \
        --inputs "$MODEL/inputs" --threads 1 --runs "$RUNS" >/dev/null
else
    qemu-aarch64 -plugin "$T/insn_profile.so,out=$T/prof.tsv" "$ARM/bin/aneforge" run "$T/m.afb" \
        --inputs "$MODEL/inputs" --outputs "$T/out" --threads 1
fi
aarch64-linux-gnu-nm -l --defined-only "$ARM/bin/aneforge" >"$T/syms" 2>/dev/null || true
/usr/bin/python3 - "$T/prof.tsv" "$T/syms" "$TOP" "$MODEL" "$COMPRESS" "$RUNS" <<'PY'
import os, sys
prof, syms, top, model, comp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
where = {}
for line in open(syms):
    p = line.split()
    if len(p) >= 4 and p[1] in "tT":
        where[p[2]] = os.path.basename(p[3].split(":")[0])
rows = [(int(n), s) for n, s in (l.rstrip("\n").split("\t") for l in open(prof))]
total = sum(n for n, _ in rows)
neon = sum(n for n, s in rows if where.get(s, "").endswith("_neon.c"))
how = f", bench --runs {sys.argv[6]}" if sys.argv[6] != "0" else ""
print(f"{model} ({comp}{how}): {total/1e6:.1f} M guest instructions, {100*neon/total:.1f}% in *_neon.c")
print(f"{'share':>7}  {'function':<34} file")
for n, s in rows[:top]:
    f = where.get(s, "libc/zlib (no line info)" if s != "?" else "?")
    mark = "  <- NEON" if f.endswith("_neon.c") else ""
    print(f"{100*n/total:6.1f}%  {s:<34} {f}{mark}")
PY

#!/usr/bin/python3
"""The ONNX backend test data through the user's path: the CLI, exactly as a user runs it.

    /usr/bin/python3 tests/conformance/user_path.py [--aneforge build/bin/aneforge]
        [--data /usr/share/libonnx-testdata/data] [--jobs 2] [--timeout 60] [--only SUBSTR]
        [--min-pass N] [--write-doc docs/onnx-support.md] [--verbose]

For every case SUITE/NAME of node, pytorch-converted, pytorch-operator and simple, it writes
the case's test_data_set_0/input_N.pb as .npy files named after the graph inputs (the exact
name when it is a plain file name, else the sanitized one), then

    aneforge convert model.onnx -o x.afb --compress fp32
    aneforge run x.afb --inputs IN --outputs OUT

and compares every output_N.pb with OUT/<name>.npy (floats |got - want| <= 1e-5 + 1e-3 |want|,
NaN matching NaN; integers and bools exactly). When convert's one-line error proposes
`--freeze NAME=FILE.npy` (or `--input-shape NAME=D0,...`), the case is converted again with
that advice followed from the case's own data, as a user would (at most 8 rounds).

Cases whose graph inputs or outputs are not all tensors (sequence, optional, map) are counted
apart; a case without test data is SKIP. Every other case is PASS or FAIL, and every FAIL is
grouped by a reason normalised from the first error line (unsupported op X, dtype, mismatch,
timeout, ...). Nothing here lists ops: new importer mappers are picked up as they land.

Exit status: 0 when at least --min-pass cases pass, 1 otherwise; 77 when the data or the CLI
is missing (CTest's skip).
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")
RTOL, ATOL = 1e-3, 1e-5  # the ONNX backend tests' own default tolerances
MAX_ROUNDS = 8
F32_MAX = 3.4028234663852886e38
DOC_BEGIN = "<!-- user-path: begin (tests/conformance/user_path.py --write-doc) -->"
DOC_END = "<!-- user-path: end -->"

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError:  # run with /usr/bin/python3 (Debian's numpy and onnx)
    np = onnx = numpy_helper = None


def sanitized(name):
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def plain_file_name(name):
    return name and "/" not in name and name not in (".", "..") and "\0" not in name


def is_tensor_type(tp):
    return tp.WhichOneof("value") == "tensor_type"


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return t


def case_io(model, data_dir):
    """[(name, array)] for the inputs and the expected outputs of test_data_set_0."""
    inits = {i.name for i in model.graph.initializer}
    in_names = [i.name for i in model.graph.input if i.name not in inits]
    out_names = [o.name for o in model.graph.output]

    # issue 15 (dtypes): onnx 1.12 stores BFLOAT16 data as UINT16; a value the model declares
    # BFLOAT16 is given and compared as f32 (the bits widened), as docs/cli.md says bf16 I/O is
    bf16 = {v.name for v in list(model.graph.input) + list(model.graph.output)
            if is_tensor_type(v.type) and v.type.tensor_type.elem_type == onnx.TensorProto.BFLOAT16}

    def load(kind, names):
        got, k = [], 0
        while os.path.exists(os.path.join(data_dir, "%s_%d.pb" % (kind, k))):
            t = read_tensor(os.path.join(data_dir, "%s_%d.pb" % (kind, k)))
            name = t.name or (names[k] if k < len(names) else "%s_%d" % (kind, k))
            a = numpy_helper.to_array(t)
            if name in bf16 and a.dtype == np.uint16:
                a = (a.astype(np.uint32) << 16).view(np.float32)
            got.append((name, a))
            k += 1
        return got

    return load("input", in_names), load("output", out_names)


class Case:
    def __init__(self, suite, name, path):
        self.suite, self.name, self.path = suite, name, path
        self.result, self.reason, self.detail, self.rounds = None, "", "", 0


def first_error_line(text):
    for line in text.splitlines():
        if line.startswith("aneforge: error: "):
            return line[len("aneforge: error: "):]
    lines = [ln for ln in text.splitlines() if ln.strip() and "warning:" not in ln]
    return lines[0] if lines else ""


def normalise(msg):
    """A reason to group failures by: the error's kind without names, paths or numbers."""
    m = re.search(r"unsupported op '([^']*)'", msg)
    if m:
        return "unsupported op %s" % m.group(1)
    m = re.search(r"(?:data type|dtype) '?([A-Za-z0-9_<>|]+)'?", msg)
    if m and ("not supported" in msg or "unsupported" in msg):
        return "dtype %s" % m.group(1)
    msg = re.sub(r"^\S*(?:model\.onnx|\.afb|\.npy): ", "", msg)
    msg = re.sub(r"\S*/(\S+)", r"\1", msg)  # paths -> their last part
    node = re.match(r"node '[^']*' \(([^)]*)\): (.*)", msg)
    if node:
        msg = "%s: %s" % (node.group(1), node.group(2))
    msg = re.sub(r"'[^']*'", "'X'", msg)
    msg = re.sub(r"\[[-0-9,? ]*\]", "[..]", msg)
    msg = re.sub(r"\b\d+(\.\d+)?\b", "N", msg)
    return msg[:150]


def run(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        return p.returncode, p.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return None, "timeout"


def advice(msg, arrays, frozen, shapes):
    """Follows convert's advice from the case's data; False when there is none to follow."""
    followed = False
    for name in re.findall(r"--freeze (\S+?)=FILE\.npy", msg):
        if name in arrays and name not in frozen:
            frozen.append(name)
            followed = True
    for name in re.findall(r"--input-shape (\S+?)=D0", msg):
        if name in arrays and name not in shapes:
            shapes[name] = arrays[name].shape
            followed = True
    return followed


def compare(want, got):
    if want.shape != got.shape:
        return "shape %s, want %s" % (list(got.shape), list(want.shape))
    if want.dtype.kind in "fc":
        if got.dtype.kind not in "fc":
            return "dtype %s, want %s" % (got.dtype, want.dtype)
        w, g = want.astype(np.float64), got.astype(np.float64)
        bad = ~((np.abs(g - w) <= ATOL + RTOL * np.abs(w)) | (np.isnan(w) & np.isnan(g)) |
                (w == g))
        if bad.any():
            i = np.flatnonzero(bad)[0]
            if want.dtype == np.float64 and (np.abs(w[bad & np.isfinite(w)]) > F32_MAX).any():
                return "float64 values beyond the f32 range (%g)" % w.flat[i]
            return "%d of %d values differ (first at %d: %g, want %g)" % (
                bad.sum(), bad.size, i, g.flat[i], w.flat[i])
        return None
    if got.dtype.kind in "fc":
        return "dtype %s, want %s" % (got.dtype, want.dtype)
    if not np.array_equal(want.astype(np.int64), got.astype(np.int64)):
        return "values differ"
    return None


def convert(case, cli, work, inputs, timeout):
    """Converts with convert's advice followed; returns (None, frozen) or (error line, _)."""
    arrays = dict(inputs)
    frozen, shapes = [], {}
    afb = os.path.join(work, "x.afb")
    while True:
        cmd = [cli, "convert", os.path.join(case.path, "model.onnx"), "-o", afb,
               "--compress", "fp32", "-q"]
        for name in frozen:
            cmd += ["--freeze", "%s=%s" % (name, os.path.join(work, "freeze",
                                                               sanitized(name) + ".npy"))]
        for name, dims in shapes.items():
            cmd += ["--input-shape", "%s=%s" % (name, ",".join(str(d) for d in dims))]
        rc, err = run(cmd, timeout)
        case.rounds += 1
        if rc == 0:
            return None, frozen
        if rc is None:
            return "timeout (convert)", frozen
        msg = first_error_line(err)
        if case.rounds >= MAX_ROUNDS or not advice(msg, arrays, frozen, shapes):
            return msg or "convert exit %d" % rc, frozen


def write_inputs(work, inputs):
    os.makedirs(os.path.join(work, "in"))
    os.makedirs(os.path.join(work, "freeze"))
    for name, a in inputs:
        fname = name if plain_file_name(name) else sanitized(name)
        np.save(os.path.join(work, "in", fname + ".npy"), a)
        np.save(os.path.join(work, "freeze", sanitized(name) + ".npy"), a)


def check_outputs(work, outputs):
    for name, want in outputs:
        path = os.path.join(work, "out", sanitized(name) + ".npy")
        if not os.path.exists(path):
            return "output %s not written" % name
        why = compare(want, np.load(path))
        if why:
            return "mismatch: output %s: %s" % (name, why)
    return None


def run_case(case, cli, timeout):
    data = os.path.join(case.path, "test_data_set_0")
    try:
        model = onnx.load(os.path.join(case.path, "model.onnx"), load_external_data=False)
    except Exception as e:  # a model onnx cannot parse: the CLI must refuse it too
        model = None
        load_error = str(e).splitlines()[0] if str(e) else type(e).__name__
    if model is not None:
        vals = list(model.graph.input) + list(model.graph.output)
        if not all(is_tensor_type(v.type) for v in vals):
            case.result = "NOT_TENSOR"
            return case
    if not os.path.isdir(data):
        case.result, case.reason = "SKIP", "no test data"
        return case
    if model is None:
        case.result, case.reason = "SKIP", "onnx cannot load the model: " + load_error
        return case
    try:
        inputs, outputs = case_io(model, data)
    except Exception as e:
        case.result, case.reason = "SKIP", "test data not tensors: %s" % type(e).__name__
        return case
    work = tempfile.mkdtemp(prefix="af_up_")
    try:
        write_inputs(work, inputs)
        err, frozen = convert(case, cli, work, inputs, timeout)
        case.detail = " ".join("--freeze " + f for f in frozen)
        if err is None:
            rc, out = run([cli, "run", os.path.join(work, "x.afb"), "--inputs",
                           os.path.join(work, "in"), "--outputs", os.path.join(work, "out")],
                          timeout)
            err = (first_error_line(out) or "run exit %d" % rc) if rc else None
            if rc is None:
                err = "timeout (run)"
            if err is None:
                err = check_outputs(work, outputs)
        if err is None:
            case.result = "PASS"
        else:
            case.result, case.detail = "FAIL", err
            case.reason = normalise(err)
            if err.startswith("mismatch"):
                case.reason = "mismatch" + (": float64 values beyond the f32 range"
                                            if "beyond the f32 range" in err else "")
    except Exception as e:  # data numpy cannot write, ...: a failure of this case
        case.result, case.detail = "FAIL", "%s: %s" % (type(e).__name__, e)
        case.reason = "runner: %s" % type(e).__name__
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return case


def list_cases(root, only):
    cases = []
    for suite in SUITES:
        d = os.path.join(root, suite)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            if os.path.exists(os.path.join(path, "model.onnx")) and \
                    (not only or only in "%s/%s" % (suite, name)):
                cases.append(Case(suite, name, path))
    return cases


def summary(cases):
    n = {k: sum(c.result == k for c in cases) for k in ("PASS", "FAIL", "SKIP", "NOT_TENSOR")}
    reasons = {}
    for c in cases:
        if c.result in ("FAIL", "SKIP"):
            reasons.setdefault((c.result, c.reason), []).append(c)
    return n, sorted(reasons.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def doc_section(cases, n, reasons):
    tensor = n["PASS"] + n["FAIL"] + n["SKIP"]
    frozen = sum(1 for c in cases if c.result == "PASS" and "--freeze" in c.detail)
    lines = [DOC_BEGIN, "## The user's path", "",
             "`tests/conformance/user_path.py` (CTest test `user_path`, label `conformance`) runs",
             "every case through the CLI as a user would: the case's `input_N.pb` become `.npy`",
             "files named after the graph inputs, then `aneforge convert model.onnx -o x.afb",
             "--compress fp32` and `aneforge run x.afb --inputs IN --outputs OUT`, compared with",
             "`output_N.pb` (rtol 1e-3, atol 1e-5; integers and bools exactly). When `convert`",
             "proposes `--freeze NAME=FILE.npy` (or `--input-shape`), the case is converted again",
             "with that input frozen from its own data. Regenerate this section with",
             "`/usr/bin/python3 tests/conformance/user_path.py --write-doc docs/onnx-support.md`",
             "(after `af_conformance --write-doc`, which rewrites the rest of this file).", "",
             "**%d passed, %d failed, %d skipped of %d tensor cases** (%d of the passes follow a"
             % (n["PASS"], n["FAIL"], n["SKIP"], tensor, frozen),
             "`--freeze` proposal); %d cases with sequence, optional or map values are not tensor"
             % n["NOT_TENSOR"], "cases.", "",
             "| result | reason | cases | examples |", "|---|---|---|---|"]
    for (result, reason), cs in reasons:
        ex = ", ".join("`%s`" % c.name for c in cs[:3]) + (", ..." if len(cs) > 3 else "")
        lines.append("| %s | %s | %d | %s |" % (result, reason.replace("|", "\\|"), len(cs), ex))
    lines += ["", DOC_END, ""]
    return "\n".join(lines)


def write_doc(path, text):
    old = open(path).read() if os.path.exists(path) else ""
    if DOC_BEGIN in old and DOC_END in old:
        head, rest = old.split(DOC_BEGIN, 1)
        tail = rest.split(DOC_END, 1)[1].lstrip("\n")
        new = head + text + tail
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text
    with open(path, "w") as f:
        f.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--aneforge", default="build/bin/aneforge")
    ap.add_argument("--data", default="/usr/share/libonnx-testdata/data")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60, help="seconds per CLI command")
    ap.add_argument("--only", help="run the cases whose SUITE/NAME contains this")
    ap.add_argument("--min-pass", type=int, default=0)
    ap.add_argument("--write-doc", metavar="FILE")
    ap.add_argument("--verbose", action="store_true", help="one line per case")
    a = ap.parse_args()
    if np is None:
        print("user_path: needs numpy and onnx (run with /usr/bin/python3)", file=sys.stderr)
        return 77
    if not os.path.isdir(a.data) or not os.access(a.aneforge, os.X_OK):
        print("user_path: no test data at %s or no CLI at %s" % (a.data, a.aneforge))
        return 77
    cases = list_cases(a.data, a.only)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for c in ex.map(lambda c: run_case(c, a.aneforge, a.timeout), cases):
            if a.verbose and c.result != "NOT_TENSOR":
                print("%-4s %s/%s %s%s" % (c.result, c.suite, c.name, c.detail,
                                           "" if c.result == "PASS" else " [%s]" % c.reason))
    n, reasons = summary(cases)
    if a.write_doc:
        write_doc(a.write_doc, doc_section(cases, n, reasons))
    print("%d passed, %d failed, %d skipped (%d tensor cases; %d not tensor cases)" % (
        n["PASS"], n["FAIL"], n["SKIP"], n["PASS"] + n["FAIL"] + n["SKIP"], n["NOT_TENSOR"]))
    for (result, reason), cs in reasons:
        print("  %4d %s %s  (%s%s)" % (len(cs), result, reason, ", ".join(c.name for c in cs[:3]),
                                       ", ..." if len(cs) > 3 else ""))
    if n["PASS"] < a.min_pass:
        print("user_path: %d passes, below the floor of %d" % (n["PASS"], a.min_pass))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Indexing and selection ops beyond the backend test data (tests/e2e/indexing.sh).

    indexing_cases.py make DIR    writes DIR/<case>/{model.onnx, inputs/*.npy, reference/*.npy}
    indexing_cases.py bad DIR     writes DIR/bad/<name>.onnx, malformed uses convert refuses
    indexing_cases.py check DIR [SUBDIR]   compares DIR/<case>/SUBDIR (default outputs) with
                                  DIR/<case>/reference

Forms: TopK with ties (lower index first), largest/smallest, every axis, int64 data, the
opset-1 attribute k; ScatterND and ScatterElements with duplicate indices under every reduction
(add/mul/max/min), negative indices, partial slices, int32 data; GatherND with batch_dims 0-2
and negative indices; OneHot with float, negative and out-of-range indices and a leading axis;
ReverseSequence on 3-D data; MaxUnpool after a real MaxPool, with and without an output_shape
larger than the unpooled size; NonMaxSuppression (ties, score threshold, both box formats,
corners given either way round, several batches and classes) through `run`, which writes only
the selected rows; NonZero and Compress (axis, negative axis, flattened, a condition shorter
than the axis) through `run`, and Compress with a constant condition feeding another node.
Parameters that fix shapes (k, depth, output_shape, NMS's limits) are
initializers. References are numpy, written here independently of the C code; ONNX Runtime
checks the same references when it is installed.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(15)
NP2ONNX = {np.float32: TensorProto.FLOAT, np.int32: TensorProto.INT32,
           np.int64: TensorProto.INT64, np.bool_: TensorProto.BOOL}


def vi(name, arr):
    return helper.make_tensor_value_info(name, NP2ONNX[arr.dtype.type], list(arr.shape))


def save_case(root, name, node, inputs, outputs, opset, inits=None):
    d = os.path.join(root, name)
    for sub in ("inputs", "reference"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    init = [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()]
    graph = helper.make_graph([node], name, [vi(k, v) for k, v in inputs.items()],
                              [vi(k, v) for k, v in outputs.items()], initializer=init)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if opset <= 17:  # Debian's onnx 1.12 knows opsets up to 17
        onnx.checker.check_model(m)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for k, v in inputs.items():
        np.save(os.path.join(d, "inputs", k + ".npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(d, "reference", k + ".npy"), v)


def topk_cases(root):
    for i, (shape, axis, k, largest, dt) in enumerate([
            ((4, 9), 1, 4, 1, np.float32), ((4, 9), 1, 5, 0, np.float32),
            ((7, 3, 2), 0, 7, 1, np.float32), ((7, 3, 2), -2, 2, 0, np.float32),
            ((5, 8), -1, 3, 1, np.int64), ((5, 8), 1, 8, 0, np.int64)]):
        x = rng.integers(-3, 3, shape).astype(dt)  # a small range: many ties
        key = -x.astype(np.float64) if largest else x.astype(np.float64)
        idx = np.argsort(key, axis=axis, kind="stable")
        idx = np.take(idx, np.arange(k), axis=axis)
        vals = np.take_along_axis(x, idx, axis=axis)
        node = helper.make_node("TopK", ["x", "k"], ["values", "indices"], axis=axis,
                                largest=largest)
        save_case(root, f"topk_{i}", node, {"x": x}, {"values": vals, "indices": idx}, 11,
                  {"k": np.array([k], np.int64)})
    x = rng.standard_normal((3, 6)).astype(np.float32)
    idx = np.argsort(-x, axis=1, kind="stable")[:, :2]
    node = helper.make_node("TopK", ["x"], ["values", "indices"], k=2)
    save_case(root, "topk_opset1", node, {"x": x},
              {"values": np.take_along_axis(x, idx, 1), "indices": idx}, 9)


def reduce_into(dst, src, red):
    if red == "none":
        return src
    return {"add": dst + src, "mul": dst * src, "max": np.maximum(dst, src),
            "min": np.minimum(dst, src)}[red]


def scatter_nd_cases(root):
    forms = [((4, 5, 3), [[1], [-1], [1]], "add", np.float32),   # duplicate slices
             ((4, 5, 3), [[0, 2], [3, -1], [0, 2]], "mul", np.float32),
             ((4, 5), [[1, 1], [1, 1], [2, 0], [-3, 4]], "max", np.float32),
             ((4, 5), [[1, 1], [1, 1], [2, 0]], "min", np.float32),
             ((3, 4), [[2], [0]], "none", np.float32),
             ((6,), [[1], [1], [5], [-6]], "add", np.int32)]
    for i, (shape, ind, red, dt) in enumerate(forms):
        data = (rng.standard_normal(shape) * 3).astype(dt)
        ind = np.array(ind, np.int64)
        ushape = ind.shape[:-1] + data.shape[ind.shape[-1]:]
        upd = (rng.standard_normal(ushape) * 3).astype(dt)
        y = data.copy()
        for t in np.ndindex(ind.shape[:-1]):
            tup = tuple(int(v) for v in ind[t])
            y[tup] = reduce_into(y[tup], upd[t], red)
        attrs = {} if red == "none" else {"reduction": red}
        node = helper.make_node("ScatterND", ["data", "indices", "updates"], ["y"], **attrs)
        save_case(root, f"scatternd_{i}_{red}", node,
                  {"data": data, "indices": ind, "updates": upd}, {"y": y},
                  18 if red in ("max", "min") else 16)


def scatter_elements_cases(root):
    for i, (shape, ishape, axis, red) in enumerate([
            ((3, 4, 2), (2, 4, 2), 0, "add"), ((3, 4, 2), (3, 5, 1), 1, "max"),
            ((3, 4), (2, 3), -1, "min"), ((3, 4), (3, 2), 1, "mul"),
            ((5,), (3,), 0, "none")]):
        data = rng.standard_normal(shape).astype(np.float32)
        ax = axis % len(shape)
        if red == "none":  # distinct targets: ONNX leaves duplicates undefined without reduction
            ind = np.array([4, -5, 2], np.int64)
        else:
            ind = rng.integers(-shape[ax], shape[ax], ishape).astype(np.int64)
        upd = rng.standard_normal(ishape).astype(np.float32)
        y = data.copy()
        for p in np.ndindex(ishape):
            q = list(p)
            q[ax] = int(ind[p]) % shape[ax]
            y[tuple(q)] = reduce_into(y[tuple(q)], upd[p], red)
        attrs = {"axis": axis}
        if red != "none":
            attrs["reduction"] = red
        node = helper.make_node("ScatterElements", ["data", "indices", "updates"], ["y"], **attrs)
        save_case(root, f"scatterel_{i}_{red}", node,
                  {"data": data, "indices": ind, "updates": upd}, {"y": y},
                  18 if red in ("max", "min") else 16)


def gather_nd_cases(root):
    for i, (dshape, ishape, b) in enumerate([((3, 4, 5), (2, 3, 2), 0), ((3, 4, 5), (2, 3), 0),
                                              ((2, 3, 4, 5), (2, 6, 1), 1),
                                              ((2, 3, 4, 5), (2, 3, 2, 2), 2),
                                              ((2, 3, 4), (2, 3, 1), 2)]):
        data = rng.standard_normal(dshape).astype(np.float32)
        q = ishape[-1]
        lim = np.array(dshape[b:b + q])
        ind = (rng.integers(0, 1 << 20, ishape) % lim - (rng.integers(0, 2, ishape) * lim))
        ind = ind.astype(np.int64)  # half of them negative
        bshape = ishape[:b]
        y = np.empty(ishape[:-1] + dshape[b + q:], np.float32)
        for t in np.ndindex(ishape[:-1]):
            sub = data[t[:b]]
            y[t] = sub[tuple(int(v) for v in ind[t])]
        node = helper.make_node("GatherND", ["data", "indices"], ["y"], batch_dims=b)
        save_case(root, f"gathernd_{i}", node, {"data": data, "indices": ind}, {"y": y}, 13)
        del bshape


def one_hot_cases(root):
    for i, (ind, depth, axis, vals) in enumerate([
            (np.array([[0.0, 2.7, -1.5], [-4.0, 9.0, 3.0]], np.float32), 4, 0,
             np.array([-1, 7], np.int64)),
            (np.array([1, -1, 5, -6, 0], np.int64), 5, -1, np.array([0.5, 2.0], np.float32)),
            (np.array([[3], [1]], np.int32), 4, 1, np.array([0.0, 1.0], np.float32))]):
        # depth's dtype: ONNX Runtime implements int32 indices only with a float depth
        ddt = np.float32 if ind.dtype == np.int32 else np.int64
        # As ONNX's reference and ONNX Runtime: a non-integral float index is never hot.
        f = ind.astype(np.float64)
        idx = np.where(f == np.trunc(f), f, -2.0 * depth - 1).astype(np.int64)
        idx = np.where(idx < 0, idx + depth, idx)
        hot = (np.arange(depth).reshape([-1] + [1] * ind.ndim) == idx[None])  # (depth, i...)
        hot = np.moveaxis(hot, 0, axis % (ind.ndim + 1))
        y = np.where(hot, vals[1], vals[0]).astype(vals.dtype)
        node = helper.make_node("OneHot", ["indices", "depth", "values"], ["y"], axis=axis)
        save_case(root, f"onehot_{i}", node, {"indices": ind}, {"y": y}, 11,
                  {"depth": np.array(depth, ddt), "values": vals})


def reverse_sequence_cases(root):
    for i, (shape, bax, tax, lens) in enumerate([((5, 3, 2), 1, 0, [5, 1, 3]),
                                                 ((3, 6, 2, 2), 0, 1, [2, 6, 4])]):
        x = rng.standard_normal(shape).astype(np.float32)
        y = x.copy()
        for b, n in enumerate(lens):
            if tax == 0:
                y[:n, b] = x[:n, b][::-1]
            else:
                y[b, :n] = x[b, :n][::-1]
        node = helper.make_node("ReverseSequence", ["x", "lens"], ["y"], batch_axis=bax,
                                time_axis=tax)
        save_case(root, f"revseq_{i}", node, {"x": x, "lens": np.array(lens, np.int64)},
                  {"y": y}, 10)


def max_unpool_cases(root):
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    win = x.reshape(2, 3, 3, 2, 3, 2).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4)
    arg = win.argmax(-1)
    vals = win.max(-1)
    h = np.arange(3)[:, None] * 2 + arg // 2
    w = np.arange(3)[None, :] * 2 + arg % 2
    nc = np.arange(6).reshape(2, 3, 1, 1)
    ind = (nc * 36 + h * 6 + w).astype(np.int64)  # MaxPool's flat indices over (N,C,H,W)
    for extra in (0, 1, 2, 3):
        # A larger output_shape pads the unpooled tensor at the end (ONNX's reference and test
        # data); ONNX Runtime indexes the larger output flat instead (file ort_differs).
        out = np.zeros((2, 3, 6 + extra, 6 + extra), np.float32)
        n, c = np.meshgrid(np.arange(2), np.arange(3), indexing="ij")
        out[n[..., None, None], c[..., None, None], h, w] = vals
        node = helper.make_node("MaxUnpool", ["x", "i"] + (["os"] if extra else []), ["y"],
                                kernel_shape=[2, 2], strides=[2, 2])
        inits = {"os": np.array([2, 3, 6 + extra, 6 + extra], np.int64)} if extra else None
        save_case(root, f"maxunpool_{extra}", node, {"x": vals, "i": ind}, {"y": out}, 11, inits)
        if extra:
            with open(os.path.join(root, f"maxunpool_{extra}", "ort_differs"), "w") as f:
                f.write("ONNX Runtime writes I flat into the larger output_shape\n")


def iou_over(a, b, center, thr):
    """1 when boxes a and b overlap with IoU > thr (float32 arithmetic, as the kernels)."""
    f = np.float32
    if center:
        ext = lambda c, k: (f(c[k]) - f(c[k + 2]) / f(2), f(c[k]) + f(c[k + 2]) / f(2))
        ay, by, ax, bx = ext(a, 1), ext(b, 1), ext(a, 0), ext(b, 0)
    else:
        ext = lambda c, k: (min(f(c[k]), f(c[k + 2])), max(f(c[k]), f(c[k + 2])))
        ay, by, ax, bx = ext(a, 0), ext(b, 0), ext(a, 1), ext(b, 1)
    inter = f(1)
    for (alo, ahi), (blo, bhi) in ((ay, by), (ax, bx)):
        lo, hi = max(alo, blo), min(ahi, bhi)
        if hi <= lo:
            return False
        inter = f(inter * (hi - lo))
    area_a = f((ay[1] - ay[0]) * (ax[1] - ax[0]))
    area_b = f((by[1] - by[0]) * (bx[1] - bx[0]))
    union = f(area_a + area_b - inter)
    if area_a <= 0 or area_b <= 0 or union <= 0:
        return False
    return f(inter / union) > f(thr)


def nms_cases(root):
    for i, (B, C, S, mx, iou, sthr, center) in enumerate([
            (1, 1, 30, 5, 0.5, None, 0), (2, 3, 25, 4, 0.3, 0.2, 0), (1, 2, 20, 50, 0.6, 0.5, 1),
            (2, 1, 12, 3, 0.0, None, 1)]):
        xy = rng.uniform(0, 4, (B, S, 2)).astype(np.float32)
        wh = rng.uniform(0.5, 2, (B, S, 2)).astype(np.float32)
        boxes = (np.concatenate([xy, wh], -1) if center else
                 np.concatenate([xy, xy + wh], -1)).astype(np.float32)
        if not center:  # some corners given the other way round
            boxes[:, ::3] = boxes[:, ::3][..., [2, 3, 0, 1]]
        scores = np.round(rng.uniform(0, 1, (B, C, S)), 1).astype(np.float32)  # ties
        sel = []
        for b in range(B):
            for c in range(C):
                order = sorted((j for j in range(S) if sthr is None or scores[b, c, j] > sthr),
                               key=lambda j: (-scores[b, c, j], j))
                kept = []
                for j in order:
                    if len(kept) >= mx:
                        break
                    if not any(iou_over(boxes[b, j], boxes[b, k], center, iou) for k in kept):
                        kept.append(j)
                        sel.append([b, c, j])
        y = np.array(sel, np.int64).reshape(-1, 3)
        names = ["boxes", "scores", "mx", "iou"] + (["sthr"] if sthr is not None else [])
        node = helper.make_node("NonMaxSuppression", names, ["selected"], center_point_box=center)
        inits = {"mx": np.array([mx], np.int64), "iou": np.array([iou], np.float32)}
        if sthr is not None:
            inits["sthr"] = np.array([sthr], np.float32)
        save_case(root, f"nms_{i}", node, {"boxes": boxes, "scores": scores}, {"selected": y}, 11,
                  inits)


def nonzero_compress_cases(root):
    x = (rng.integers(-1, 2, (3, 4, 5)) * rng.standard_normal((3, 4, 5))).astype(np.float32)
    node = helper.make_node("NonZero", ["x"], ["y"])
    save_case(root, "nonzero_0", node, {"x": x}, {"y": np.array(np.nonzero(x), np.int64)}, 13)
    xi = rng.integers(-1, 2, (7,)).astype(np.int32)
    save_case(root, "nonzero_1", node, {"x": xi}, {"y": np.array(np.nonzero(xi), np.int64)}, 13)
    for i, (shape, axis, clen) in enumerate([((3, 5, 2), 1, 4), ((4, 3), -2, 4),
                                              ((2, 3, 4), None, 20)]):
        x = rng.standard_normal(shape).astype(np.float32)
        cond = rng.integers(0, 2, (clen,)).astype(bool)
        y = np.compress(cond, x, axis=axis)
        attrs = {} if axis is None else {"axis": axis}
        node = helper.make_node("Compress", ["x", "cond"], ["y"], **attrs)
        save_case(root, f"compress_{i}", node, {"x": x, "cond": cond}, {"y": y}, 11)
    # a constant condition fixes the shape: the result may feed another node
    x = rng.standard_normal((4, 6)).astype(np.float32)
    cond = np.array([1, 0, 1, 1, 0, 1], bool)
    d = os.path.join(root, "compress_const")
    save_case(root, "compress_const", helper.make_node("Compress", ["x", "cond"], ["c"], axis=1),
              {"x": x}, {"y": np.compress(cond, x, axis=1) * 2}, 11, {"cond": cond})
    m = onnx.load(os.path.join(d, "model.onnx"))
    m.graph.node.append(helper.make_node("Add", ["c", "c"], ["y"]))
    onnx.save(m, os.path.join(d, "model.onnx"))


def bad(root):
    """Malformed uses, each refused by convert (exit 3) naming the node: bad/<name>.onnx."""
    os.makedirs(os.path.join(root, "bad"), exist_ok=True)
    f = lambda n, s: helper.make_tensor_value_info(n, TensorProto.FLOAT, s)
    i64 = lambda n, s: helper.make_tensor_value_info(n, TensorProto.INT64, s)
    forms = {
        "topk_k": ([helper.make_node("TopK", ["x", "k"], ["v", "i"], name="tk")],
                   [f("x", [2, 4])], [f("v", [2, 9])], {"k": np.array([9], np.int64)}, 11),
        "scatternd_shape": ([helper.make_node("ScatterND", ["d", "ix", "u"], ["y"], name="snd")],
                            [f("d", [4, 3]), i64("ix", [2, 1]), f("u", [2, 4])], [f("y", [4, 3])],
                            {}, 16),
        "gathernd_batch": ([helper.make_node("GatherND", ["d", "ix"], ["y"], name="gnd",
                                             batch_dims=1)],
                           [f("d", [2, 3]), i64("ix", [3, 1])], [f("y", [3])], {}, 13),
        "unpool_kernel": ([helper.make_node("MaxUnpool", ["x", "i"], ["y"], name="up")],
                          [f("x", [1, 1, 2, 2]), i64("i", [1, 1, 2, 2])], [f("y", [1, 1, 4, 4])],
                          {}, 11),
        "scatter_reduction": ([helper.make_node("ScatterElements", ["d", "ix", "u"], ["y"],
                                                name="se", reduction="sub")],
                              [f("d", [3]), i64("ix", [1]), f("u", [1])], [f("y", [3])], {}, 16),
    }
    for name, (nodes, ins, outs, inits, opset) in forms.items():
        init = [numpy_helper.from_array(v, k) for k, v in inits.items()]
        g = helper.make_graph(nodes, name, ins, outs, initializer=init)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        onnx.save(m, os.path.join(root, "bad", name + ".onnx"))


def make(root):
    for f in (topk_cases, scatter_nd_cases, scatter_elements_cases, gather_nd_cases,
              one_hot_cases, reverse_sequence_cases, max_unpool_cases, nms_cases,
              nonzero_compress_cases):
        f(root)


def check(root, sub):
    bad = n = 0
    for case in sorted(os.listdir(root)):
        ref = os.path.join(root, case, "reference")
        if sub == "ort" and os.path.exists(os.path.join(root, case, "ort_differs")):
            continue
        n += 1
        for f in sorted(os.listdir(ref)):
            want = np.load(os.path.join(ref, f))
            got = np.load(os.path.join(root, case, sub, f))
            if got.dtype != want.dtype or got.shape != want.shape:
                print(f"{case}/{f}: {got.dtype}{got.shape} != {want.dtype}{want.shape}")
                bad += 1
            elif want.dtype.kind == "f" and not np.allclose(got, want, rtol=1e-6, atol=0):
                print(f"{case}/{f}: max |diff| {np.abs(got - want).max()}")
                bad += 1
            elif want.dtype.kind != "f" and not np.array_equal(got, want):
                print(f"{case}/{f}: differs")
                bad += 1
    print(f"{sub}: {n} cases, {bad} mismatches")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "make":
        make(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "bad":
        bad(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "outputs"))
    else:
        sys.exit(__doc__)

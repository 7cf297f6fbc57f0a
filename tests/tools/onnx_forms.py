#!/usr/bin/python3
"""ONNX op forms beyond the backend test data, with numpy references (tests/e2e/onnx_forms.sh).

    onnx_forms.py make DIR    writes DIR/<case>/{model.onnx, inputs/*.npy, reference/*.npy}
    onnx_forms.py check DIR   compares DIR/<case>/outputs with DIR/<case>/reference

Forms: Einsum equations (diagonals, '...', sums, transposes, products with missing or
contracted letters), LayerNormalization with its Mean / InvStdDev outputs (Mean omitted too),
MaxPool's Indices (1-3 spatial dims, pads, strides, dilations, storage_order 0 and 1), MaxPool
on uint8 / int8 and Resize tf_crop_and_resize (roi, extrapolation_value, sizes or scales).
References are written here in numpy, independently of the C code.
"""
import itertools
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(7)
NP2ONNX = {np.float32: TensorProto.FLOAT, np.uint8: TensorProto.UINT8,
           np.int8: TensorProto.INT8, np.int64: TensorProto.INT64}


def vi(name, arr_or_dtype, shape=None):
    dt = arr_or_dtype.dtype.type if shape is None else arr_or_dtype
    return helper.make_tensor_value_info(name, NP2ONNX[dt], list(arr_or_dtype.shape) if shape is None else shape)


def save_case(root, name, node, inputs, outputs, opset, inits=()):
    d = os.path.join(root, name)
    for sub in ("inputs", "reference"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    graph = helper.make_graph([node], name, [vi(k, v) for k, v in inputs.items()],
                              [vi(k, v) for k, v in outputs.items()], initializer=list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for k, v in inputs.items():
        np.save(os.path.join(d, "inputs", k + ".npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(d, "reference", k + ".npy"), v)


EINSUM = [("ii->i", [(4, 4)]), ("ii", [(3, 3)]), ("...ii->...i", [(2, 3, 4, 4)]),
          ("iij->j", [(3, 3, 5)]), ("jii->ij", [(2, 3, 3)]), ("iji->j", [(3, 2, 3)]),
          ("ijk->", [(2, 3, 4)]), ("...ij->...ji", [(2, 2, 3, 4)]), ("ij...->ji...", [(3, 4, 2)]),
          ("ij,jk", [(3, 4), (4, 5)]), ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
          ("ij,kj->ik", [(3, 4), (5, 4)]), ("i,i", [(6,), (6,)]), ("ij,jk->k", [(3, 4), (4, 5)]),
          ("bii,bjk->bj", [(2, 3, 3), (2, 4, 5)]), ("ij,ij->i", [(3, 4), (3, 4)]),
          ("i,j->ij", [(3,), (4,)]), ("bi,bi->b", [(2, 3), (2, 3)]),
          ("bij,bj->bi", [(2, 3, 4), (2, 4)])]


def einsum_cases(root):
    for k, (eq, shapes) in enumerate(EINSUM):
        xs = {f"x{i}": rng.standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)}
        y = np.asarray(np.einsum(eq, *xs.values(), dtype=np.float64), dtype=np.float32)
        node = helper.make_node("Einsum", list(xs), ["y"], equation=eq)
        save_case(root, f"einsum_{k}", node, xs, {"y": y}, 12)


def layer_norm_ref(x, s, b, axis, eps):
    a = tuple(range(axis % x.ndim, x.ndim))
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=a, keepdims=True)
    rstd = 1.0 / np.sqrt(((x64 - mean) ** 2).mean(axis=a, keepdims=True) + eps)
    y = (x64 - mean) * rstd * s + b
    return [v.astype(np.float32) for v in (y, mean, rstd)]


def layer_norm_cases(root):
    for k, (shape, axis, outs) in enumerate([((2, 3, 4), -1, ["y", "mean", "rstd"]),
                                             ((2, 3, 4, 5), 1, ["y", "mean", "rstd"]),
                                             ((3, 4), 0, ["y", "", "rstd"]),
                                             ((2, 6), -1, ["y", "mean"])]):
        x = rng.standard_normal(shape).astype(np.float32) * 3 + 1
        s = rng.standard_normal(shape[axis % len(shape):]).astype(np.float32)
        b = rng.standard_normal(shape[axis % len(shape):]).astype(np.float32)
        eps = 1e-3
        refs = layer_norm_ref(x, s, b, axis, eps)
        node = helper.make_node("LayerNormalization", ["x", "s", "b"], outs, axis=axis,
                                epsilon=eps)
        save_case(root, f"layer_norm_{k}", node, {"x": x, "s": s, "b": b},
                  {o: r for o, r in zip(outs, refs) if o}, 17)


def max_pool_ref(x, k, s, d, pb, pe, storage_order):
    """Y and Indices of ONNX MaxPool (first maximum on ties)."""
    n, c, sp = x.shape[0], x.shape[1], x.shape[2:]
    osz = [(sp[i] + pb[i] + pe[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(len(sp))]
    y = np.zeros((n, c, *osz), x.dtype)
    ind = np.zeros((n, c, *osz), np.int64)
    for nn, cc in itertools.product(range(n), range(c)):
        for o in itertools.product(*[range(v) for v in osz]):
            best, at = None, None
            for t in itertools.product(*[range(v) for v in k]):
                p = [o[i] * s[i] - pb[i] + t[i] * d[i] for i in range(len(sp))]
                if any(p[i] < 0 or p[i] >= sp[i] for i in range(len(sp))):
                    continue
                v = x[(nn, cc, *p)]
                if best is None or v > best:
                    best, at = v, p
            flat = 0
            order = range(len(sp)) if storage_order == 0 else reversed(range(len(sp)))
            for i in order:
                flat = flat * sp[i] + at[i]
            y[(nn, cc, *o)] = best
            ind[(nn, cc, *o)] = (nn * c + cc) * int(np.prod(sp)) + flat
    return y, ind


def max_pool_cases(root):
    rows = [((1, 2, 7), [3], [2], [1], [1], [1], 0, np.float32),
            ((2, 2, 5, 6), [3, 2], [1, 2], [1, 1], [1, 0], [1, 1], 0, np.float32),
            ((2, 2, 5, 6), [3, 2], [2, 1], [1, 2], [0, 1], [1, 0], 1, np.float32),
            ((1, 2, 4, 5, 3), [2, 3, 2], [1, 2, 1], [1, 1, 1], [0, 1, 1], [1, 1, 0], 1, np.float32),
            ((1, 3, 6, 6), [3, 3], [2, 2], [1, 1], [1, 1], [1, 1], 0, np.uint8),
            ((1, 3, 6, 6), [2, 2], [1, 1], [2, 2], [0, 0], [0, 0], 1, np.int8)]
    for k, (shape, ks, st, dl, pb, pe, so, dt) in enumerate(rows):
        if dt == np.float32:
            x = rng.standard_normal(shape).astype(np.float32)
        else:
            info = np.iinfo(dt)
            x = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dt)
        y, ind = max_pool_ref(x, ks, st, dl, pb, pe, so)
        outs = {"y": y, "ind": ind}
        node = helper.make_node("MaxPool", ["x"], list(outs), kernel_shape=ks, strides=st,
                                dilations=dl, pads=pb + pe, storage_order=so)
        save_case(root, f"max_pool_{k}", node, {"x": x}, outs, 12)


def crop_resize_ref(x, roi, out_shape, mode, extrap):
    """ONNX Resize with coordinate_transformation_mode tf_crop_and_resize (linear or nearest
    round_prefer_floor), straight from the spec's formula."""
    r = x.ndim
    y = np.zeros(out_shape, np.float32)
    for o in itertools.product(*[range(v) for v in out_shape]):
        c = []
        for i in range(r):
            a, b, n, m = roi[i], roi[r + i], x.shape[i], out_shape[i]
            c.append(a * (n - 1) + o[i] * (b - a) * (n - 1) / (m - 1) if m > 1
                     else 0.5 * (a + b) * (n - 1))
        if any(c[i] < 0 or c[i] > x.shape[i] - 1 for i in range(r)):
            y[o] = extrap
        elif mode == "nearest":
            y[o] = x[tuple(int(np.ceil(v - 0.5)) for v in c)]
        else:
            acc = 0.0
            for corner in itertools.product((0, 1), repeat=r):
                w, idx = 1.0, []
                for i in range(r):
                    f = int(np.floor(c[i]))
                    t = c[i] - f
                    idx.append(min(f + corner[i], x.shape[i] - 1))
                    w *= t if corner[i] else 1 - t
                acc += w * float(x[tuple(idx)])
            y[o] = acc
    return y


def crop_resize_cases(root):
    rows = [((1, 1, 4, 4), [0, 0, 0.4, 0.6, 1, 1, 0.6, 0.8], [1, 1, 3, 3], None, "linear", 10.0),
            ((1, 2, 5, 6), [0, 0, -0.2, 0.1, 1, 1, 1.3, 0.9], [1, 2, 4, 7], None, "linear", -1.0),
            ((1, 1, 6, 5), [0, 0, 0.1, -0.3, 1, 1, 0.8, 1.2], [1, 1, 5, 4], None, "nearest", 7.0),
            ((1, 1, 8, 8), [0, 0, 0.25, 0.25, 1, 1, 0.75, 0.75], None, [1, 1, 2, 1.5], "linear", 0.0)]
    for k, (shape, roi, sizes, scales, mode, extrap) in enumerate(rows):
        x = rng.standard_normal(shape).astype(np.float32)
        roi = np.array(roi, np.float32)
        inits = [numpy_helper.from_array(roi, "roi")]
        if sizes is not None:
            out_shape = sizes
            inits.append(numpy_helper.from_array(np.array(sizes, np.int64), "sizes"))
            ins = ["x", "roi", "", "sizes"]
        else:
            r = len(shape)
            out_shape = [int(np.floor(shape[i] * (roi[r + i] - roi[i]) * scales[i]))
                         for i in range(r)]
            inits.append(numpy_helper.from_array(np.array(scales, np.float32), "scales"))
            ins = ["x", "roi", "scales"]
        y = crop_resize_ref(x, [float(v) for v in roi], out_shape, mode, extrap)
        node = helper.make_node("Resize", ins, ["y"], mode=mode, extrapolation_value=extrap,
                                coordinate_transformation_mode="tf_crop_and_resize")
        save_case(root, f"crop_resize_{k}", node, {"x": x}, {"y": y}, 13, inits)


def check(root):
    bad = 0
    for name in sorted(os.listdir(root)):
        ref_dir = os.path.join(root, name, "reference")
        for f in sorted(os.listdir(ref_dir)):
            r = np.load(os.path.join(ref_dir, f))
            o = np.load(os.path.join(root, name, "outputs", f))
            if r.dtype == np.float32:
                # f32 kernels against f64 numpy: a few ulps of summation-order difference
                ok = r.shape == o.shape and np.allclose(o, r, rtol=1e-4, atol=1e-5)
            else:
                ok = r.shape == o.shape and r.dtype == o.dtype and np.array_equal(o, r)
            print(f"{name}/{f}: {'ok' if ok else 'MISMATCH'}")
            bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("make", "check"):
        sys.exit("usage: onnx_forms.py make|check DIR")
    if sys.argv[1] == "make":
        einsum_cases(sys.argv[2])
        layer_norm_cases(sys.argv[2])
        max_pool_cases(sys.argv[2])
        crop_resize_cases(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))

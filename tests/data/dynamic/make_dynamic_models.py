#!/usr/bin/env python3
"""Small models whose tensors have data-dependent extents (docs/dynamic-shapes.md), and the
inputs and checks tests/e2e/dynamic_rows.sh runs them with.

  make_dynamic_models.py models           writes the .onnx files next to this script
  make_dynamic_models.py inputs DIR       writes DIR/<case>/<input>.npy for every input case
  make_dynamic_models.py check REF OUT    compares two output folders: same files, same
                                          shapes, integers equal, floats within 1e-6 relative

dyn_topk.onnx is the post-processing pattern of torchvision's detectors, cut down: NonZero of
scores > 0.5 -> Squeeze -> Gather of scores and boxes -> elementwise -> TopK with
k = min(5, rows) computed from Shape -> Gather of the boxes by the TopK indices. dyn_if.onnx is
their "no boxes left?" If on the row count; dyn_range.onnx Mask R-CNN's Range(0, rows) indexing
(dyn_range_refused.onnx the same with a negative step); dyn_loop.onnx a Loop over the kept
rows (dyn_loop_refused.onnx a body reading them otherwise, dyn_loop_capacity.onnx a count
that exceeds its capacity; dyn_resize_refused.onnx a Resize sized by a kept row's unbounded
values, dyn_paste.onnx Mask R-CNN's mask paste with boxes clipped to the image, so bounded,
dyn_paste_unbounded.onnx the same bounded from below only);
dyn_refused.onnx feeds the rows to an op that does
not take them (CumSum). Inputs give 0, 3, 5 and 20 rows (k = 0, 3, 5, 5). Debian's python3-onnx
and numpy only.
"""
import os
import sys

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
S = 64  # candidate rows
K = 5   # at most K kept


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def dyn_topk():
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("two", np.float32(2.0)), const("one", np.float32(1.0)),
             const("zero_i", np.array(0, np.int64)), const("u_axes", np.array([0], np.int64)),
             const("kmax", np.array([K], np.int64)), const("shape1", np.array([1], np.int64)),
             const("half", np.float32(0.5)), const("ten", np.float32(10.0))]
    N = helper.make_node
    nodes = [
        N("Greater", ["scores", "thr"], ["mask"], name="gt"),
        N("NonZero", ["mask"], ["nz"], name="nonzero"),
        N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
        N("Gather", ["scores", "idx"], ["s"], name="gather_s", axis=0),
        N("Gather", ["boxes", "idx"], ["b"], name="gather_b", axis=0),
        N("Mul", ["s", "two"], ["s2"], name="mul"),
        N("Add", ["s2", "one"], ["s3"], name="add"),
        N("Sub", ["b", "half"], ["b2"], name="sub"),
        N("Shape", ["s3"], ["shp"], name="shape"),
        N("Gather", ["shp", "zero_i"], ["n0"], name="gather_n", axis=0),
        N("Unsqueeze", ["n0", "u_axes"], ["nu"], name="unsqueeze"),
        N("Concat", ["kmax", "nu"], ["kn"], name="concat", axis=0),
        N("ReduceMin", ["kn"], ["kmin"], name="reducemin", keepdims=0),
        N("Reshape", ["kmin", "shape1"], ["k"], name="reshape"),
        N("TopK", ["s3", "k"], ["vals", "ids"], name="topk", axis=-1, largest=1, sorted=1),
        N("Gather", ["b2", "ids"], ["bsel"], name="gather_top", axis=0),
        N("Mul", ["bsel", "ten"], ["top_boxes"], name="scale"),
    ]
    ins = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [S]),
           helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [S, 4])]
    outs = [helper.make_tensor_value_info("vals", TensorProto.FLOAT, ["k"]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["k"]),
            helper.make_tensor_value_info("top_boxes", TensorProto.FLOAT, ["k", 4]),
            helper.make_tensor_value_info("nz", TensorProto.INT64, [1, "n"])]
    g = helper.make_graph(nodes, "dyn_topk", ins, outs, inits)
    save(g, "dyn_topk.onnx")


def dyn_if():
    """torchvision's "no boxes left?" If on the rows kept by NonZero: the then branch gives an
    empty (0, 4) constant, the else branch Gathers the kept boxes (an outer-scope value)."""
    N = helper.make_node
    empty = numpy_helper.from_array(np.zeros((0, 4), np.float32), "empty")
    then_g = helper.make_graph([N("Constant", [], ["t_out"], name="t_const", value=empty)],
                               "then", [], [helper.make_tensor_value_info("t_out",
                                                                          TensorProto.FLOAT,
                                                                          [0, 4])])
    else_g = helper.make_graph([N("Gather", ["boxes", "idx"], ["e_out"], name="e_gather",
                                  axis=0)],
                               "else", [], [helper.make_tensor_value_info("e_out",
                                                                          TensorProto.FLOAT,
                                                                          ["n", 4])])
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("zero", np.array(0, np.int64))]
    nodes = [
        N("Greater", ["scores", "thr"], ["mask"], name="gt"),
        N("NonZero", ["mask"], ["nz"], name="nonzero"),
        N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
        N("Shape", ["idx"], ["shp"], name="shape"),
        N("ReduceProd", ["shp"], ["count"], name="count", keepdims=0),
        N("Equal", ["count", "zero"], ["none"], name="none"),
        N("If", ["none"], ["kept"], name="if_none", then_branch=then_g, else_branch=else_g),
    ]
    ins = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [S]),
           helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [S, 4])]
    outs = [helper.make_tensor_value_info("kept", TensorProto.FLOAT, ["n", 4])]
    g = helper.make_graph(nodes, "dyn_if", ins, outs, inits)
    save(g, "dyn_if.onnx")


def dyn_range():
    """Mask R-CNN's per-detection indexing: Range(0, rows) with rows = Shape(kept)[0] (a limit
    computed from a data-dependent extent: run at run time, not folded), times the row width
    plus a per-row column, Gathers one value per kept row from the flattened kept boxes; and
    Range(1, rows, 2) (ceil of a non-unit step, empty for 0 or 1 rows); the kept boxes padded
    along their static axis (Mask R-CNN pads its masks so)."""
    N = helper.make_node
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("zero_i", np.array(0, np.int64)), const("one_i", np.array(1, np.int64)),
             const("two_i", np.array(2, np.int64)), const("four_i", np.array(4, np.int64)),
             const("span", np.float32(3.99)), const("flat", np.array([-1], np.int64)),
             const("pads", np.array([0, 1, 0, 2], np.int64)), const("pad_value", np.float32(7))]
    nodes = [
        N("Greater", ["scores", "thr"], ["mask"], name="gt"),
        N("NonZero", ["mask"], ["nz"], name="nonzero"),
        N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
        N("Gather", ["scores", "idx"], ["s"], name="gather_s", axis=0),
        N("Gather", ["boxes", "idx"], ["b"], name="gather_b", axis=0),
        N("Shape", ["s"], ["shp"], name="shape"),
        N("Gather", ["shp", "zero_i"], ["n0"], name="gather_n", axis=0),
        N("Cast", ["n0"], ["n"], name="cast_n", to=TensorProto.INT64),
        N("Range", ["zero_i", "n", "one_i"], ["rows"], name="range_rows"),
        N("Range", ["one_i", "n", "two_i"], ["odd"], name="range_odd"),
        N("Mul", ["rows", "four_i"], ["base"], name="mul_base"),
        N("Mul", ["s", "span"], ["sc"], name="mul_col"),
        N("Floor", ["sc"], ["scf"], name="floor_col"),
        N("Cast", ["scf"], ["col"], name="cast_col", to=TensorProto.INT64),
        N("Add", ["base", "col"], ["at"], name="add_at"),
        N("Reshape", ["b", "flat"], ["bf"], name="flatten_b"),
        N("Gather", ["bf", "at"], ["picked"], name="gather_picked", axis=0),
        N("Pad", ["b", "pads", "pad_value"], ["padded"], name="pad_cols", mode="constant"),
    ]
    ins = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [S]),
           helper.make_tensor_value_info("boxes", TensorProto.FLOAT, [S, 4])]
    outs = [helper.make_tensor_value_info("rows", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("odd", TensorProto.INT64, ["m"]),
            helper.make_tensor_value_info("picked", TensorProto.FLOAT, ["n"]),
            helper.make_tensor_value_info("padded", TensorProto.FLOAT, ["n", 7])]
    save(helper.make_graph(nodes, "dyn_range", ins, outs, inits), "dyn_range.onnx")
    # a negative step would make the limit's capacity a lower bound: refused
    nodes[8] = N("Range", ["zero_i", "n", "neg_i"], ["rows"], name="range_rows")
    inits.append(const("neg_i", np.array(-1, np.int64)))
    g = helper.make_graph(nodes, "dyn_range_refused", ins, outs, inits)
    save(g, "dyn_range_refused.onnx")


def dyn_loop():
    """torchvision's per-detection loops, cut down: a Loop whose trip count is the number of
    kept rows (Shape(kept)[0]), whose body reads row i of the kept boxes (Gather(b, i)),
    carries a running sum of 2*row and emits row + i per iteration (a scan output, one row
    per kept row). dyn_loop_refused.onnx: a body that reads the kept rows otherwise
    (ReduceSum over them)."""
    N = helper.make_node
    T = TensorProto
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("zero_i", np.array(0, np.int64)), const("acc0", np.zeros(4, np.float32))]

    def body(use):
        bn = [N("Identity", ["cond_in"], ["cond_out"], name="b_cond")]
        if use == "gather":
            bn += [N("Gather", ["b", "i"], ["row"], name="b_row", axis=0)]
        else:
            bn += [N("ReduceSum", ["b", "b_axes"], ["row"], name="b_row", keepdims=0)]
        bn += [N("Mul", ["row", "b_two"], ["row2"], name="b_mul"),
               N("Add", ["acc", "row2"], ["acc_out"], name="b_acc"),
               N("Cast", ["i"], ["fi"], name="b_cast", to=T.FLOAT),
               N("Add", ["row", "fi"], ["emit"], name="b_emit")]
        return helper.make_graph(
            bn, "body",
            [helper.make_tensor_value_info("i", T.INT64, []),
             helper.make_tensor_value_info("cond_in", T.BOOL, []),
             helper.make_tensor_value_info("acc", T.FLOAT, [4])],
            [helper.make_tensor_value_info("cond_out", T.BOOL, []),
             helper.make_tensor_value_info("acc_out", T.FLOAT, [4]),
             helper.make_tensor_value_info("emit", T.FLOAT, [4])],
            [const("b_two", np.float32(2.0))] +
            ([const("b_axes", np.array([0], np.int64))] if use == "reduce" else []))

    for name, use in (("dyn_loop", "gather"), ("dyn_loop_refused", "reduce")):
        nodes = [
            N("Greater", ["scores", "thr"], ["mask"], name="gt"),
            N("NonZero", ["mask"], ["nz"], name="nonzero"),
            N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
            N("Gather", ["boxes", "idx"], ["b"], name="gather_b", axis=0),
            N("Shape", ["b"], ["shp"], name="shape"),
            N("Gather", ["shp", "zero_i"], ["n"], name="gather_n", axis=0),
            N("Loop", ["n", "", "acc0"], ["acc_final", "rows"], name="per_row",
              body=body(use)),
        ]
        ins = [helper.make_tensor_value_info("scores", T.FLOAT, [S]),
               helper.make_tensor_value_info("boxes", T.FLOAT, [S, 4])]
        outs = [helper.make_tensor_value_info("acc_final", T.FLOAT, [4]),
                helper.make_tensor_value_info("rows", T.FLOAT, ["n", 4])]
        save(helper.make_graph(nodes, name, ins, outs, inits), name + ".onnx")


def dyn_loop_capacity(extra=1, name="dyn_loop_capacity.onnx"):
    """A Loop whose trip count is not monotone in the kept rows (64 + extra - rows: `extra` at
    the capacity of 64 rows): converted with room for `extra` iterations (0: none), a run with
    fewer rows must fail naming the count, not run too few iterations."""
    N = helper.make_node
    T = TensorProto
    body = helper.make_graph(
        [N("Identity", ["cond_in"], ["cond_out"], name="b_cond"),
         N("Add", ["acc", "b_one"], ["acc_out"], name="b_count")],
        "body", [helper.make_tensor_value_info("i", T.INT64, []),
                 helper.make_tensor_value_info("cond_in", T.BOOL, []),
                 helper.make_tensor_value_info("acc", T.FLOAT, [])],
        [helper.make_tensor_value_info("cond_out", T.BOOL, []),
         helper.make_tensor_value_info("acc_out", T.FLOAT, [])],
        [const("b_one", np.float32(1.0))])
    nodes = [N("Greater", ["scores", "thr"], ["mask"], name="gt"),
             N("NonZero", ["mask"], ["nz"], name="nonzero"),
             N("Shape", ["nz"], ["shp"], name="shape"),
             N("Gather", ["shp", "one_i"], ["n"], name="gather_n", axis=0),
             N("Sub", ["c65", "n"], ["m"], name="count"),
             N("Loop", ["m", "", "acc0"], ["acc_final"], name="per_row", body=body)]
    inits = [const("thr", np.float32(0.5)), const("one_i", np.array(1, np.int64)),
             const("c65", np.array(S + extra, np.int64)), const("acc0", np.float32(0.0))]
    save(helper.make_graph(nodes, "dyn_loop_capacity",
                           [helper.make_tensor_value_info("scores", T.FLOAT, [S])],
                           [helper.make_tensor_value_info("acc_final", T.FLOAT, [])], inits),
         name)


def dyn_resize_refused():
    """Mask R-CNN's mask paste, cut down: a Loop over the kept rows whose body resizes a fixed
    2x2 map to a size computed from row i's values (1 + floor(4 * |box[2:4]|)) and emits its
    maximum. Nothing bounds those values (no Clip): no capacity, refused naming the Resize and
    the rows its sizes come from (ONNX Runtime runs it)."""
    N = helper.make_node
    T = TensorProto
    body = helper.make_graph(
        [N("Identity", ["cond_in"], ["cond_out"], name="b_cond"),
         N("Gather", ["b", "i"], ["row"], name="b_row", axis=0),
         N("Slice", ["row", "b_s", "b_e"], ["wh"], name="b_wh"),
         N("Abs", ["wh"], ["awh"], name="b_abs"),
         N("Mul", ["awh", "b_four"], ["wh4"], name="b_mul"),
         N("Floor", ["wh4"], ["whf"], name="b_floor"),
         N("Cast", ["whf"], ["whi"], name="b_cast", to=T.INT64),
         N("Add", ["whi", "b_one"], ["hw"], name="b_add"),
         N("Concat", ["b_11", "hw"], ["sizes"], name="b_sizes", axis=0),
         N("Resize", ["b_map", "", "", "sizes"], ["big"], name="paste_resize", mode="linear"),
         N("ReduceMax", ["big"], ["emit"], name="b_max", keepdims=0)],
        "body", [helper.make_tensor_value_info("i", T.INT64, []),
                 helper.make_tensor_value_info("cond_in", T.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", T.BOOL, []),
         helper.make_tensor_value_info("emit", T.FLOAT, [])],
        [const("b_s", np.array([2], np.int64)), const("b_e", np.array([4], np.int64)),
         const("b_four", np.float32(4.0)), const("b_one", np.array([1], np.int64)),
         const("b_11", np.array([1, 1], np.int64)),
         const("b_map", np.arange(4, dtype=np.float32).reshape(1, 1, 2, 2))])
    nodes = [N("Greater", ["scores", "thr"], ["mask"], name="gt"),
             N("NonZero", ["mask"], ["nz"], name="nonzero"),
             N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
             N("Gather", ["boxes", "idx"], ["b"], name="gather_b", axis=0),
             N("Shape", ["b"], ["shp"], name="shape"),
             N("Gather", ["shp", "zero_i"], ["n"], name="gather_n", axis=0),
             N("Loop", ["n", ""], ["maxima"], name="per_row", body=body)]
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("zero_i", np.array(0, np.int64))]
    save(helper.make_graph(nodes, "dyn_resize_refused",
                           [helper.make_tensor_value_info("scores", T.FLOAT, [S]),
                            helper.make_tensor_value_info("boxes", T.FLOAT, [S, 4])],
                           [helper.make_tensor_value_info("maxima", T.FLOAT, ["n"])], inits),
         "dyn_resize_refused.onnx")


def dyn_paste(clip=True, name="dyn_paste.onnx"):
    """Mask R-CNN's mask paste, cut down, with boxes clipped to a 12x12 image: a Loop over the
    kept rows whose body casts row i to an integer box (x0, y0, x1, y1), resizes a fixed 2x2 map
    to h x w = max(y1 - y0 + 1, 1) x max(x1 - x0 + 1, 1), cuts what lies inside the image
    (Slice by the clipped corners), pads it with zeros (ConstantOfShape sized by the corners,
    Concat, Slice [0:12]) into the 12x12 canvas it emits. The sizes are data, bounded by the
    Clip: planned at their bound, read on every run. With clip=False only Max(box, 0) bounds
    them, from below: no capacity, refused."""
    N = helper.make_node
    T = TensorProto
    W = 12

    def scalar_at(name, src, k):
        return N("Gather", [src, f"b_i{k}"], [name], name=f"b_{name}", axis=0)

    body = helper.make_graph(
        [N("Identity", ["cond_in"], ["cond_out"], name="b_cond"),
         N("Gather", ["box", "i"], ["row"], name="b_row", axis=0),
         N("Cast", ["row"], ["ibox"], name="b_cast", to=T.INT64),
         scalar_at("x0", "ibox", 0), scalar_at("y0", "ibox", 1),
         scalar_at("x1", "ibox", 2), scalar_at("y1", "ibox", 3),
         N("Sub", ["x1", "x0"], ["dx"], name="b_dx"),
         N("Add", ["dx", "b_one"], ["w0"], name="b_w0"),
         N("Concat", ["w0", "b_one"], ["wc"], name="b_wc", axis=0),
         N("ReduceMax", ["wc"], ["w"], name="b_w", keepdims=1),
         N("Sub", ["y1", "y0"], ["dy"], name="b_dy"),
         N("Add", ["dy", "b_one"], ["h0"], name="b_h0"),
         N("Concat", ["h0", "b_one"], ["hc"], name="b_hc", axis=0),
         N("ReduceMax", ["hc"], ["h"], name="b_h", keepdims=1),
         N("Concat", ["b_11", "h", "w"], ["sizes"], name="b_sizes", axis=0),
         N("Resize", ["b_map", "", "", "sizes"], ["big"], name="paste_resize", mode="linear"),
         N("Gather", ["big", "b_s0"], ["big0"], name="b_big0", axis=0),
         N("Gather", ["big0", "b_s0"], ["m2d"], name="b_mask", axis=0),
         N("Concat", ["x0", "b_zero"], ["x0c"], name="b_x0c", axis=0),
         N("ReduceMax", ["x0c"], ["xa"], name="b_xa", keepdims=1),
         N("Add", ["x1", "b_one"], ["x1p"], name="b_x1p"),
         N("Concat", ["x1p", "b_w"], ["x1c"], name="b_x1c", axis=0),
         N("ReduceMin", ["x1c"], ["xb"], name="b_xb", keepdims=1),
         N("Concat", ["y0", "b_zero"], ["y0c"], name="b_y0c", axis=0),
         N("ReduceMax", ["y0c"], ["ya"], name="b_ya", keepdims=1),
         N("Add", ["y1", "b_one"], ["y1p"], name="b_y1p"),
         N("Concat", ["y1p", "b_w"], ["y1c"], name="b_y1c", axis=0),
         N("ReduceMin", ["y1c"], ["yb"], name="b_yb", keepdims=1),
         N("Sub", ["ya", "y0"], ["r0"], name="b_r0"), N("Sub", ["yb", "y0"], ["r1"], name="b_r1"),
         N("Sub", ["xa", "x0"], ["c0"], name="b_c0"), N("Sub", ["xb", "x0"], ["c1"], name="b_c1"),
         N("Concat", ["r0", "c0"], ["starts"], name="b_starts", axis=0),
         N("Concat", ["r1", "c1"], ["ends"], name="b_ends", axis=0),
         N("Slice", ["m2d", "starts", "ends", "b_axes01"], ["inner"], name="b_inner"),
         N("Shape", ["inner"], ["ishape"], name="b_ishape"),
         N("Gather", ["ishape", "b_one"], ["iw"], name="b_iw", axis=0),
         N("Concat", ["ya", "iw"], ["z0s"], name="b_z0s", axis=0),
         N("ConstantOfShape", ["z0s"], ["z0"], name="b_z0",
           value=numpy_helper.from_array(np.zeros(1, np.float32))),
         N("Sub", ["b_w", "yb"], ["ylast"], name="b_ylast"),
         N("Concat", ["ylast", "iw"], ["z1s"], name="b_z1s", axis=0),
         N("ConstantOfShape", ["z1s"], ["z1"], name="b_z1",
           value=numpy_helper.from_array(np.zeros(1, np.float32))),
         N("Concat", ["z0", "inner", "z1"], ["rows"], name="b_rows", axis=0),
         N("Slice", ["rows", "b_zero", "b_w", "b_zero"], ["rows_w"], name="b_rows_w"),
         N("Concat", ["b_w", "xa"], ["z2s"], name="b_z2s", axis=0),
         N("ConstantOfShape", ["z2s"], ["z2"], name="b_z2",
           value=numpy_helper.from_array(np.zeros(1, np.float32))),
         N("Sub", ["b_w", "xb"], ["xlast"], name="b_xlast"),
         N("Concat", ["b_w", "xlast"], ["z3s"], name="b_z3s", axis=0),
         N("ConstantOfShape", ["z3s"], ["z3"], name="b_z3",
           value=numpy_helper.from_array(np.zeros(1, np.float32))),
         N("Concat", ["z2", "rows_w", "z3"], ["cols"], name="b_cols", axis=1),
         N("Slice", ["cols", "b_zero", "b_w", "b_one"], ["canvas"], name="b_canvas")],
        "body", [helper.make_tensor_value_info("i", T.INT64, []),
                 helper.make_tensor_value_info("cond_in", T.BOOL, [])],
        [helper.make_tensor_value_info("cond_out", T.BOOL, []),
         helper.make_tensor_value_info("canvas", T.FLOAT, [W, W])],
        [const("b_i0", np.array([0], np.int64)), const("b_i1", np.array([1], np.int64)),
         const("b_i2", np.array([2], np.int64)), const("b_i3", np.array([3], np.int64)),
         const("b_one", np.array([1], np.int64)), const("b_zero", np.array([0], np.int64)),
         const("b_w", np.array([W], np.int64)), const("b_11", np.array([1, 1], np.int64)),
         const("b_s0", np.array(0, np.int64)),
         const("b_axes01", np.array([0, 1], np.int64)),
         const("b_map", np.array([[[[1.0, 2.0], [3.0, 5.0]]]], np.float32))])
    nodes = [N("Greater", ["scores", "thr"], ["mask"], name="gt"),
             N("NonZero", ["mask"], ["nz"], name="nonzero"),
             N("Squeeze", ["nz", "sq_axes"], ["idx"], name="squeeze"),
             N("Gather", ["boxes", "idx"], ["b"], name="gather_b", axis=0),
             N("Slice", ["b", "s0", "s2", "s1"], ["p"], name="corner_p"),
             N("Slice", ["b", "s2", "s4", "s1"], ["q"], name="corner_q"),
             N("Min", ["p", "q"], ["lo"], name="corner_lo"),
             N("Max", ["p", "q"], ["hi"], name="corner_hi"),
             N("Concat", ["lo", "hi"], ["raw"], name="corners", axis=1),
             N("Mul", ["raw", "four"], ["scaled"], name="scale"),
             N("Add", ["scaled", "six"], ["moved"], name="move"),
             N("Clip", ["moved", "zero_f", "w_f"], ["box"], name="clip_to_image") if clip else
             N("Max", ["moved", "zero_f"], ["box"], name="clip_below"),
             N("Shape", ["b"], ["shp"], name="shape"),
             N("Gather", ["shp", "zero_i"], ["n"], name="gather_n", axis=0),
             N("Loop", ["n", ""], ["canvases"], name="paste", body=body)]
    inits = [const("thr", np.float32(0.5)), const("sq_axes", np.array([0], np.int64)),
             const("zero_i", np.array(0, np.int64)), const("s0", np.array([0], np.int64)),
             const("s1", np.array([1], np.int64)), const("s2", np.array([2], np.int64)),
             const("s4", np.array([4], np.int64)), const("four", np.float32(4.0)),
             const("six", np.float32(6.0)), const("zero_f", np.float32(0.0))]
    inits += [const("w_f", np.float32(W))] if clip else []
    save(helper.make_graph(nodes, name[:-5],
                           [helper.make_tensor_value_info("scores", T.FLOAT, [S]),
                            helper.make_tensor_value_info("boxes", T.FLOAT, [S, 4])],
                           [helper.make_tensor_value_info("canvases", T.FLOAT, ["n", W, W])],
                           inits),
         name)


def dyn_refused():
    """A data-dependent extent into an op without a rule for it (CumSum): refused in one line
    naming the node."""
    N = helper.make_node
    nodes = [N("Greater", ["scores", "thr"], ["mask"], name="gt"),
             N("NonZero", ["mask"], ["nz"], name="nonzero"),
             N("CumSum", ["nz", "axis"], ["cs"], name="cumsum")]
    ins = [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [S])]
    outs = [helper.make_tensor_value_info("cs", TensorProto.INT64, [1, "n"])]
    g = helper.make_graph(nodes, "dyn_refused", ins, outs,
                          [const("thr", np.float32(0.5)), const("axis", np.array(1, np.int64))])
    save(g, "dyn_refused.onnx")


def save(g, name):
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="aneforge-tests")
    m.ir_version = 7
    checker.check_model(m)
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(m.SerializeToString())


def inputs(out):
    rng = np.random.default_rng(16)
    for rows in (0, 3, 5, 20):
        d = os.path.join(out, f"rows{rows}")
        os.makedirs(d, exist_ok=True)
        scores = rng.uniform(0.0, 0.45, S).astype(np.float32)  # distinct: no TopK ties
        pick = rng.choice(S, rows, replace=False)
        scores[pick] = rng.uniform(0.55, 1.0, rows).astype(np.float32)
        np.save(os.path.join(d, "scores.npy"), scores)
        np.save(os.path.join(d, "boxes.npy"), rng.standard_normal((S, 4)).astype(np.float32))


def check(ref, out):
    bad = 0
    names = sorted(f for f in os.listdir(ref) if f.endswith(".npy"))
    if sorted(f for f in os.listdir(out) if f.endswith(".npy")) != names:
        print(f"FAIL: output files differ: {sorted(os.listdir(out))} vs {names}")
        return 1
    for f in names:
        r, o = np.load(os.path.join(ref, f)), np.load(os.path.join(out, f))
        if r.shape != o.shape or r.dtype != o.dtype:
            print(f"FAIL {f}: {o.dtype}{o.shape}, want {r.dtype}{r.shape}")
            bad += 1
        elif r.dtype.kind == "f":
            # the same single f32 operations in the same order: equal up to rounding
            ok = np.allclose(o, r, rtol=1e-6, atol=0)
            print(f"{f}: {r.shape} {'ok' if ok else 'FAIL'}")
            bad += not ok
        else:
            ok = np.array_equal(o, r)
            print(f"{f}: {r.shape} {'ok' if ok else 'FAIL (integers differ)'}")
            bad += not ok
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["models"]:
        dyn_topk()
        dyn_if()
        dyn_range()
        dyn_loop()
        dyn_loop_capacity()
        dyn_loop_capacity(0, "dyn_loop_capacity0.onnx")
        dyn_refused()
        dyn_resize_refused()
        dyn_paste()
        dyn_paste(False, "dyn_paste_unbounded.onnx")
    elif sys.argv[1:2] == ["inputs"] and len(sys.argv) == 3:
        inputs(sys.argv[2])
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)

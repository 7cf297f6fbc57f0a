/* importers/onnx/onnx_ops_data.c — ONNX data-movement, reduce, pad, resize and shape ops → IR.
 * Older attribute forms (axes, starts/ends, pads, split sizes, scales) become constant inputs. */
#include "onnx_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Axes may be negative; Flatten's axis may equal the rank. */
#define attr_axis(c, nd, name, def, out) \
    onnx_attr_i32_in(c, nd, name, def, -AF_MAX_RANK, AF_MAX_RANK, out)

af_status onnx_map_flatten(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_params p = {0};
    p.reshape.kind = AF_RESHAPE_FLATTEN;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (!st) st = attr_axis(c, nd, "axis", 1, &p.reshape.axis);
    return st ? st : onnx_emit(c, nd, AF_OP_RESHAPE, in, 1, 1, &p, NULL);
}

af_status onnx_map_reshape(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    p.reshape.kind = AF_RESHAPE_RESHAPE;
    p.reshape.allowzero = onnx_attr_i(c, nd, "allowzero", 0) != 0;
    return onnx_emit(c, nd, AF_OP_RESHAPE, in, 2, 1, &p, NULL);
}

/* Squeeze / Unsqueeze: opset < 13 axes attribute → i64 input. */
af_status onnx_map_squeeze(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    if (c->opset < 13 && onnx_attr(nd->p, "axes")) {
        st = onnx_attr_input(c, nd, "axes", "axes", &in[1]);
        if (st) return st;
    }
    if (nd->arg == AF_RESHAPE_UNSQUEEZE && in[1] < 0)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "axes are missing");
    af_params p = {0};
    p.reshape.kind = nd->arg;
    return onnx_emit(c, nd, AF_OP_RESHAPE, in, in[1] >= 0 ? 2 : 1, 1, &p, NULL);
}

af_status onnx_map_transpose(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    size_t np;
    const int64_t *perm = onnx_attr_ints(c, nd, "perm", &np);
    if (np > AF_MAX_RANK)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "perm has %zu entries (rank <= 8)", np);
    af_params p = {0};
    p.transpose.n_perm = (int32_t)np;
    for (size_t i = 0; i < np; i++) {
        if (perm[i] < 0 || perm[i] >= (int64_t)np)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "perm is not a permutation");
        p.transpose.perm[i] = (int32_t)perm[i];
    }
    return onnx_emit(c, nd, AF_OP_TRANSPOSE, in, 1, 1, &p, NULL);
}

af_status onnx_map_concat(onnx_ctx *c, const onnx_node *nd)
{
    int n, max = (int)nd->p->n_input;
    if (max < 1) return onnx_node_err(c, nd, AF_ERR_FORMAT, "has no inputs");
    int *in = malloc(sizeof(int) * (size_t)max);
    if (!in) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    af_params p = {0};
    af_status st = onnx_need(c, nd, in, 1, max, &n);
    if (!st && !onnx_attr(nd->p, "axis"))
        st = onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'axis' is missing");
    if (!st) st = attr_axis(c, nd, "axis", 0, &p.axis.axis);
    for (int k = 0; !st && k < n; k++)
        if (in[k] < 0) st = onnx_node_err(c, nd, AF_ERR_FORMAT, "input %d is empty", k);
    if (!st) st = onnx_emit(c, nd, AF_OP_CONCAT, in, n, 1, &p, NULL);
    free(in);
    return st;
}

/* Split: opset < 13 'split' attribute → input; opset 18 'num_outputs'. */
af_status onnx_map_split(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    if (onnx_attr(nd->p, "split") && c->opset < 13) {
        st = onnx_attr_input(c, nd, "split", "split", &in[1]);
        if (st) return st;
    }
    af_params p = {0};
    st = attr_axis(c, nd, "axis", 0, &p.axis.axis);
    int64_t no = onnx_attr_i(c, nd, "num_outputs", 0);
    if (no < 0 || no > 1024)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "bad num_outputs %lld", (long long)no);
    p.axis.num_outputs = (int32_t)no;
    int n_out = (int)nd->p->n_output;
    if (!st && (n_out < 1 || n_out > 64))
        st = onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "%d outputs (1..64 supported)", n_out);
    return st ? st : onnx_emit(c, nd, AF_OP_SPLIT, in, in[1] >= 0 ? 2 : 1, n_out, &p, NULL);
}

/* Slice: opset < 10 starts/ends/axes attributes → inputs. */
af_status onnx_map_slice(onnx_ctx *c, const onnx_node *nd)
{
    int in[5] = {-1, -1, -1, -1, -1}, n;
    af_status st;
    if (c->opset < 10) {
        st = onnx_need(c, nd, in, 1, 1, &n);
        if (!st) st = onnx_attr_input(c, nd, "starts", "starts", &in[1]);
        if (!st) st = onnx_attr_input(c, nd, "ends", "ends", &in[2]);
        if (!st && onnx_attr(nd->p, "axes")) st = onnx_attr_input(c, nd, "axes", "axes", &in[3]);
        n = in[3] >= 0 ? 4 : 3;
    } else {
        st = onnx_need(c, nd, in, 3, 5, &n);
    }
    if (st) return st;
    af_params p = {0};
    return onnx_emit(c, nd, AF_OP_SLICE, in, n, 1, &p, NULL);
}

af_status onnx_map_gather(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_params p = {0};
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (!st) st = attr_axis(c, nd, "axis", 0, &p.axis.axis);
    return st ? st : onnx_emit(c, nd, AF_OP_GATHER, in, 2, 1, &p, NULL);
}

/* Reduce*: 'axes' attribute (ReduceSum < 13, the others < 18) → input. */
af_status onnx_map_reduce(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 2, &n);
    if (st) return st;
    if (onnx_attr(nd->p, "axes")) {
        st = onnx_attr_input(c, nd, "axes", "axes", &in[1]);
        if (st) return st;
    }
    af_params p = {0};
    p.reduce.fn = nd->arg;
    p.reduce.keepdims = onnx_attr_i(c, nd, "keepdims", 1) != 0;
    p.reduce.noop_with_empty_axes = onnx_attr_i(c, nd, "noop_with_empty_axes", 0) != 0;
    return onnx_emit(c, nd, AF_OP_REDUCE, in, in[1] >= 0 ? 2 : 1, 1, &p, NULL);
}

/* ArgMax / ArgMin: axis → a one-entry axes input. */
af_status onnx_map_argreduce(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    int64_t axis = onnx_attr_i(c, nd, "axis", 0);
    char base[300];
    snprintf(base, sizeof base, "%s_axes", nd->name);
    st = onnx_const_i64(c, base, &axis, 1, &in[1]);
    if (st) return st;
    af_params p = {0};
    p.reduce.fn = nd->arg;
    p.reduce.keepdims = onnx_attr_i(c, nd, "keepdims", 1) != 0;
    p.reduce.select_last_index = onnx_attr_i(c, nd, "select_last_index", 0) != 0;
    return onnx_emit(c, nd, AF_OP_REDUCE, in, 2, 1, &p, NULL);
}

/* Pad: opset < 11 pads/value attributes → inputs [data, pads, value]. */
af_status onnx_map_pad(onnx_ctx *c, const onnx_node *nd)
{
    int in[4], n;
    af_status st;
    char mode[32], base[300];
    af_params p = {0};
    onnx_attr_s(c, nd, "mode", "constant", mode, sizeof mode);
    if (!strcmp(mode, "constant")) p.pad.mode = AF_PAD_CONSTANT;
    else if (!strcmp(mode, "reflect")) p.pad.mode = AF_PAD_REFLECT;
    else if (!strcmp(mode, "edge")) p.pad.mode = AF_PAD_EDGE;
    else if (!strcmp(mode, "wrap")) p.pad.mode = AF_PAD_WRAP;
    else return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    if (c->opset < 11) {
        st = onnx_need(c, nd, in, 1, 1, &n);
        if (!st && !onnx_attr(nd->p, "pads"))
            st = onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'pads' is missing");
        if (!st) st = onnx_attr_input(c, nd, "pads", "pads", &in[1]);
        float v = onnx_attr_f(c, nd, "value", 0.0f);
        snprintf(base, sizeof base, "%s_value", nd->name);
        if (!st) st = onnx_const_f32(c, base, &v, 1, 0, &in[2]);
        n = 3;
    } else {
        st = onnx_need(c, nd, in, 2, 4, &n);
    }
    return st ? st : onnx_emit(c, nd, AF_OP_PAD, in, n, 1, &p, NULL);
}

/* ---- Resize / Upsample ---- */

static af_status resize_mode(onnx_ctx *c, const onnx_node *nd, af_resize_params *r)
{
    char s[48];
    onnx_attr_s(c, nd, "mode", "nearest", s, sizeof s);
    if (!strcmp(s, "nearest")) r->mode = AF_RESIZE_NEAREST;
    else if (!strcmp(s, "linear") || !strcmp(s, "bilinear")) r->mode = AF_RESIZE_LINEAR;
    else if (!strcmp(s, "cubic") && c->opset >= 11) r->mode = AF_RESIZE_CUBIC;
    else return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", s);
    return AF_OK;
}

static af_status resize_coord(onnx_ctx *c, const onnx_node *nd, af_resize_params *r)
{
    static const char *const names[] = {"half_pixel", "asymmetric", "align_corners",
                                        "pytorch_half_pixel", "tf_half_pixel_for_nn",
                                        "tf_crop_and_resize"};
    char s[48];
    onnx_attr_s(c, nd, "coordinate_transformation_mode", "half_pixel", s, sizeof s);
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i])) {
            r->coord = i; /* same order as af_resize_coord */
            return AF_OK;
        }
    return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is "
                         "not supported", s);
}

static af_status resize_nearest(onnx_ctx *c, const onnx_node *nd, af_resize_params *r)
{
    static const char *const names[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                        "ceil"};
    char s[48];
    onnx_attr_s(c, nd, "nearest_mode", "round_prefer_floor", s, sizeof s);
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            r->nearest = i; /* same order as af_resize_nearest */
            return AF_OK;
        }
    return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "nearest_mode '%s' is not supported", s);
}

/* Opset 18 additions we do not implement must be at their defaults. */
static af_status resize_opset18(onnx_ctx *c, const onnx_node *nd)
{
    char s[48];
    if (onnx_attr_i(c, nd, "antialias", 0) != 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute 'antialias' is not supported");
    if (onnx_attr(nd->p, "axes"))
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute 'axes' is not supported");
    onnx_attr_s(c, nd, "keep_aspect_ratio_policy", "stretch", s, sizeof s);
    if (strcmp(s, "stretch"))
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not "
                             "supported", s);
    return AF_OK;
}

/* Resize: opset 10 [X, scales] (asymmetric, floor); 11+ [X, roi, scales, sizes]. */
af_status onnx_map_resize(onnx_ctx *c, const onnx_node *nd)
{
    int in[4], n;
    af_params p = {0};
    af_resize_params *r = &p.resize;
    af_status st = resize_mode(c, nd, r);
    if (st) return st;
    if (c->opset < 11) {
        st = onnx_need(c, nd, in, 2, 2, &n);
        in[2] = in[1];
        in[1] = -1;
        r->coord = AF_COORD_ASYMMETRIC;
        r->nearest = AF_NEAREST_FLOOR;
        return st ? st : onnx_emit(c, nd, AF_OP_RESIZE, in, 3, 1, &p, NULL);
    }
    st = onnx_need(c, nd, in, 1, 4, &n);
    if (!st) st = resize_coord(c, nd, r);
    if (!st) st = resize_nearest(c, nd, r);
    if (!st) st = resize_opset18(c, nd);
    if (st) return st;
    r->cubic_coeff_a = onnx_attr_f(c, nd, "cubic_coeff_a", -0.75f);
    r->exclude_outside = onnx_attr_i(c, nd, "exclude_outside", 0) != 0;
    r->extrapolation_value = onnx_attr_f(c, nd, "extrapolation_value", 0.0f);
    if (r->coord == AF_COORD_TF_CROP_AND_RESIZE && (n < 3 || in[1] < 0))
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "tf_crop_and_resize needs roi and scales or "
                             "sizes inputs");
    return onnx_emit(c, nd, AF_OP_RESIZE, in, n, 1, &p, NULL);
}

/* Upsample (opset 7-9): scales attribute (7-8) or input (9) → RESIZE [X, -, scales], with
 * asymmetric coordinates and floor rounding for nearest (out[i] = in[floor(i / scale)]). */
af_status onnx_map_upsample(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_params p = {0};
    p.resize.coord = AF_COORD_ASYMMETRIC;
    p.resize.nearest = AF_NEAREST_FLOOR;
    p.resize.cubic_coeff_a = -0.75f;
    af_status st = resize_mode(c, nd, &p.resize);
    if (st) return st;
    if (c->opset < 9) {
        size_t ns;
        const float *sc = onnx_attr_floats(c, nd, "scales", &ns);
        char base[300];
        snprintf(base, sizeof base, "%s_scales", nd->name);
        st = onnx_need(c, nd, in, 1, 1, &n);
        if (!st && (!sc || ns > AF_MAX_RANK))
            st = onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'scales' is missing or too long");
        if (!st) st = onnx_const_f32(c, base, sc, (int)ns, 1, &in[2]);
    } else {
        st = onnx_need(c, nd, in, 2, 2, &n);
        in[2] = in[1];
    }
    in[1] = -1;
    return st ? st : onnx_emit(c, nd, AF_OP_RESIZE, in, 3, 1, &p, NULL);
}

/* ---- Shape / ConstantOfShape ---- */

af_status onnx_map_shape(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    int64_t s = onnx_attr_i(c, nd, "start", 0), e = onnx_attr_i(c, nd, "end", INT32_MAX);
    af_params p = {0};
    p.shape.start = (int32_t)(s < -AF_MAX_RANK ? -AF_MAX_RANK : s > AF_MAX_RANK ? AF_MAX_RANK : s);
    p.shape.end = (int32_t)(e < -AF_MAX_RANK ? -AF_MAX_RANK : e > AF_MAX_RANK ? INT32_MAX : e);
    return onnx_emit(c, nd, AF_OP_SHAPE, in, 1, 1, &p, NULL);
}

af_status onnx_map_const_of_shape(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.const_of_shape.dtype = AF_DTYPE_F32;
    const Onnx__AttributeProto *a = onnx_attr(nd->p, "value");
    if (a && a->t) {
        af_dtype dt;
        int rank;
        int64_t dims[AF_MAX_RANK];
        void *data;
        st = onnx_decode_tensor(c, a->t, nd->name, &dt, &rank, dims, &data);
        if (st) return st;
        int64_t numel = 1;
        for (int i = 0; i < rank; i++) numel *= dims[i];
        if (numel == 1) {
            p.const_of_shape.dtype = dt;
            p.const_of_shape.value = af_dtype_get(dt, data, 0);
        }
        free(data);
        if (numel != 1)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'value' must hold one value");
    }
    return onnx_emit(c, nd, AF_OP_CONSTANT_OF_SHAPE, in, 1, 1, &p, NULL);
}

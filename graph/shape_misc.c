/* graph/shape_misc.c — shape inference for reduce, pad, resize, shape and constant_of_shape. */
#include "shape_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int popcount(uint32_t m)
{
    int c = 0;
    for (; m; m &= m - 1) c++;
    return c;
}

af_status af_shape_reduce(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_reduce_params *p = &n->p.reduce;
    int c = 0;
    if (p->fn < 0 || p->fn >= AF_REDUCE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad reduce function %d", (int)p->fn);
    if (n->n_in > 1) {
        af_status st = sh_axes_mask(g, n, 1, x->rank, &p->axes_mask, &c, err);
        if (st) return st;
    }
    if (x->rank < 32 && (p->axes_mask >> x->rank))
        return sh_err(n, err, AF_ERR_SHAPE, "axes mask 0x%x out of range for rank %d",
                      (unsigned)p->axes_mask, x->rank);
    if (p->axes_mask == 0 && !p->noop_with_empty_axes) p->axes_mask = (1u << x->rank) - 1;
    int arg = p->fn == AF_REDUCE_ARGMAX || p->fn == AF_REDUCE_ARGMIN;
    if (arg && popcount(p->axes_mask) != 1)
        return sh_err(n, err, AF_ERR_SHAPE, "ArgMax/ArgMin need exactly one axis");
    int64_t dims[AF_MAX_RANK];
    int r = 0;
    for (int i = 0; i < x->rank; i++) {
        int red = (p->axes_mask >> i) & 1;
        if (red && x->dims[i] == 0 && arg)
            return sh_err(n, err, AF_ERR_SHAPE, "ArgMax/ArgMin over an empty axis");
        if (!red) dims[r++] = x->dims[i];
        else if (p->keepdims) dims[r++] = 1;
    }
    n->n_in = 1;
    sh_set_out(g, n, 0, arg ? AF_DTYPE_I64 : x->dtype, r, dims);
    return AF_OK;
}

static af_status pad_value(af_graph *g, af_node *n, af_err *err)
{
    double v[1];
    int c;
    if (!sh_in(g, n, 2)) return AF_OK;
    af_status st = sh_const_floats(g, n, 2, "constant_value", v, 1, &c, err);
    if (st) return st;
    n->p.pad.value = c ? (float)v[0] : 0.0f;
    return AF_OK;
}

/* pads [x1_begin, x2_begin, ..., x1_end, ...] over the axes input (default: all axes). */
static af_status pad_resolve(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    int64_t pads[2 * AF_MAX_RANK], axes[AF_MAX_RANK];
    int c, na = x->rank;
    af_status st = sh_const_ints(g, n, 1, "pads", pads, 2 * AF_MAX_RANK, &c, err);
    if (!st && sh_in(g, n, 3)) st = sh_const_ints(g, n, 3, "axes", axes, AF_MAX_RANK, &na, err);
    if (!st) st = pad_value(g, n, err);
    if (st) return st;
    if (!sh_in(g, n, 3))
        for (int i = 0; i < na; i++) axes[i] = i;
    if (c != 2 * na)
        return sh_err(n, err, AF_ERR_SHAPE, "%d pads for %d axes", c, na);
    af_pad_params *p = &n->p.pad;
    memset(p->begin, 0, sizeof p->begin);
    memset(p->end, 0, sizeof p->end);
    uint32_t seen = 0;
    for (int i = 0; i < na; i++) {
        int a;
        if (sh_axis(axes[i], x->rank, &a) || (seen & (1u << a)))
            return sh_err(n, err, AF_ERR_SHAPE, "bad or repeated pad axis %lld",
                          (long long)axes[i]);
        seen |= 1u << a;
        p->begin[a] = pads[i];
        p->end[a] = pads[na + i];
    }
    n->n_in = 1;
    return AF_OK;
}

af_status af_shape_pad(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_pad_params *p = &n->p.pad;
    if (n->n_in > 1) {
        af_status st = pad_resolve(g, n, x, err);
        if (st) return st;
    }
    int64_t dims[AF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) {
        int64_t b = p->begin[i], e = p->end[i], d = x->dims[i];
        if (b < -d || e < -d || b > (INT64_MAX >> 2) || e > (INT64_MAX >> 2) || d + b + e < 0)
            return sh_err(n, err, AF_ERR_SHAPE, "pads %lld,%lld do not fit axis %d of size %lld",
                          (long long)b, (long long)e, i, (long long)d);
        if (p->mode == AF_PAD_REFLECT && (b >= d || e >= d) && (b > 0 || e > 0))
            return sh_err(n, err, AF_ERR_SHAPE, "reflect pads %lld,%lld need an axis longer "
                          "than them (axis %d has %lld)", (long long)b, (long long)e, i,
                          (long long)d);
        if (p->mode != AF_PAD_CONSTANT && d == 0 && (b > 0 || e > 0))
            return sh_err(n, err, AF_ERR_SHAPE, "cannot %s-pad the empty axis %d",
                          p->mode == AF_PAD_EDGE ? "edge" : "reflect", i);
        dims[i] = d + b + e;
    }
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

/* tf_crop_and_resize: checks the roi input [start_0.., end_0..] (f32, 2 * rank values, kept
 * as input 1 of the resolved node and stored exactly) and gives the crop extent end - start of
 * every axis. */
static af_status resize_roi(af_graph *g, af_node *n, const af_tensor *x, double *extent,
                            af_err *err)
{
    double roi[2 * AF_MAX_RANK];
    int c;
    af_tensor *t = sh_in(g, n, 1);
    if (!t) return sh_err(n, err, AF_ERR_SHAPE, "tf_crop_and_resize needs the roi input");
    af_status st = sh_const_floats(g, n, 1, "roi", roi, 2 * AF_MAX_RANK, &c, err);
    if (st) return st;
    /* an f16/bf16 roi is widened to f32 by lowering/half.c */
    int f = t->dtype == AF_DTYPE_F32 || t->dtype == AF_DTYPE_F16 || t->dtype == AF_DTYPE_BF16;
    if (!f || c != 2 * x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "roi '%s' must be float with %d values (start and "
                      "end per axis), has %d", t->name, 2 * x->rank, c);
    for (int i = 0; i < x->rank; i++) {
        extent[i] = roi[x->rank + i] - roi[i];
        if (!isfinite(roi[i]) || !isfinite(extent[i]))
            return sh_err(n, err, AF_ERR_SHAPE, "roi of axis %d is not finite", i);
    }
    t->flags |= AF_TENSOR_KEEP_RAW;
    return AF_OK;
}

/* *runtime: the axes whose sizes are computed on every run (bounded values, or values computed
 * from data-dependent extents): the output is planned at their capacity (the bound's hi) and
 * the node keeps its sizes input. */
static af_status resize_scales(af_graph *g, af_node *n, const af_tensor *x, const double *extent,
                               int64_t *dims, uint8_t *runtime, af_err *err)
{
    af_tensor *ts = sh_in(g, n, 2), *tz = sh_in(g, n, 3);
    int has_s = ts && af_tensor_numel(ts) > 0, has_z = tz && af_tensor_numel(tz) > 0, c;
    if (has_s == has_z)
        return sh_err(n, err, AF_ERR_SHAPE, "exactly one of scales and sizes must be given");
    af_resize_params *p = &n->p.resize;
    double sc[AF_MAX_RANK];
    int64_t sz[AF_MAX_RANK];
    uint64_t dynel = 0;
    af_status st = has_s ? sh_const_floats(g, n, 2, "scales", sc, AF_MAX_RANK, &c, err)
                         : sh_cap_ints(g, n, 3, "sizes", sz, AF_MAX_RANK, &c, &dynel, err);
    if (st) return st;
    if (dynel && n->p.resize.coord == AF_COORD_TF_CROP_AND_RESIZE)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "tf_crop_and_resize with sizes computed on "
                      "every run is not supported");
    *runtime = dynel & ((1u << AF_MAX_RANK) - 1);
    if (c != x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "%d %s for rank %d", c, has_s ? "scales" : "sizes",
                      x->rank);
    for (int i = 0; i < AF_MAX_RANK; i++) p->scale[i] = 1.0f;
    for (int i = 0; i < c; i++) {
        int64_t in = x->dims[i];
        if (has_s) {
            p->scale[i] = (float)sc[i];
            double o = floor((double)in * extent[i] * (double)p->scale[i]);
            if (!(p->scale[i] > 0) || !(o >= 0 && o <= 1e12)) /* NaN (0 * inf) fails too */
                return sh_err(n, err, AF_ERR_SHAPE, "bad scale %g on axis %d", sc[i], i);
            dims[i] = (int64_t)o;
        } else {
            if (sz[i] < 0 || sz[i] > ((int64_t)1 << 40))
                return sh_err(n, err, AF_ERR_SHAPE, "bad size %lld on axis %d",
                              (long long)sz[i], i);
            dims[i] = sz[i];
            p->scale[i] = in > 0 ? (float)sz[i] / (float)in : 1.0f;
        }
    }
    return AF_OK;
}

af_status af_shape_resize(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int64_t dims[AF_MAX_RANK];
    double extent[AF_MAX_RANK];
    int crop = n->p.resize.coord == AF_COORD_TF_CROP_AND_RESIZE;
    for (int i = 0; i < AF_MAX_RANK; i++) extent[i] = 1.0;
    af_status st = crop ? resize_roi(g, n, x, extent, err) : AF_OK;
    if (st) return st;
    if (n->n_in == 1 + crop) { /* resolved */
        af_tensor *o = &g->tensors[n->out[0]];
        if (af_tensor_shape_known(o) && o->rank == x->rank) {
            o->dtype = x->dtype;
            return AF_OK;
        }
        for (int i = 0; i < x->rank; i++) {
            double v = floor((double)x->dims[i] * extent[i] * n->p.resize.scale[i]);
            dims[i] = v >= 0 && v <= 1e12 ? (int64_t)v : 0;
        }
    } else {
        uint8_t runtime = 0;
        st = resize_scales(g, n, x, extent, dims, &runtime, err);
        if (st) return st;
        if (runtime) {
            sh_set_out(g, n, 0, x->dtype, x->rank, dims);
            g->tensors[n->out[0]].dyn = (uint8_t)(runtime | x->dyn);
            return AF_OK;
        }
        n->n_in = 1 + crop; /* tf_crop_and_resize keeps its roi */
    }
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

af_status af_shape_shape(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int64_t r = x->rank, s = n->p.shape.start, e = n->p.shape.end;
    if (s < 0) s += r;
    if (e < 0) e += r;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < 0 ? 0 : e > r ? r : e;
    int64_t cnt = e > s ? e - s : 0;
    int64_t *data = malloc(sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < cnt; i++) data[i] = x->dims[s + i];
    sh_set_out(g, n, 0, AF_DTYPE_I64, 1, &cnt);
    af_tensor *o = &g->tensors[n->out[0]];
    uint64_t dynel = (uint64_t)(x->dyn >> s) & ((1u << cnt) - 1);
    if (dynel) { /* data-dependent extents: computed on every run, capacities for now */
        free(o->capval);
        o->capval = data;
        o->dynel = dynel;
        return AF_OK;
    }
    af_tensor_set_data(o, data);
    return AF_OK;
}

af_status af_shape_const_of_shape(af_graph *g, af_node *n, af_err *err)
{
    int64_t dims[AF_MAX_RANK];
    int r;
    uint64_t dynel;
    af_status st = sh_cap_ints(g, n, 0, "shape", dims, AF_MAX_RANK, &r, &dynel, err);
    if (st) return st;
    const af_const_of_shape_params *p = &n->p.const_of_shape;
    if (p->dtype < 0 || p->dtype >= AF_DTYPE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad dtype %d", (int)p->dtype);
    for (int i = 0; i < r; i++)
        if (dims[i] < 0)
            return sh_err(n, err, AF_ERR_SHAPE, "negative dim %lld", (long long)dims[i]);
    sh_set_out(g, n, 0, (af_dtype)p->dtype, r, dims);
    af_tensor *o = &g->tensors[n->out[0]];
    o->dyn = (uint8_t)(dynel & 0xffu);
    if (dynel) return AF_OK; /* filled on every run, to the extents of that run */
    int64_t bytes = af_tensor_nbytes(o), numel = af_tensor_numel(o);
    if (bytes < 0 || bytes > ((int64_t)1 << 31)) /* folding more than 2 GiB is never meant */
        return sh_err(n, err, AF_ERR_SHAPE, "output of %lld bytes is too large to fold",
                      (long long)bytes);
    unsigned char *data = malloc(bytes ? (size_t)bytes : 1);
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory (%lld bytes)", (long long)bytes);
    size_t es = af_dtype_size(o->dtype);
    if (numel > 0) af_dtype_set(o->dtype, data, 0, p->value);
    for (int64_t i = 1; i < numel; i++) memcpy(data + (size_t)i * es, data, es);
    af_tensor_set_data(o, data);
    return AF_OK;
}

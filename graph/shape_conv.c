/* graph/shape_conv.c — shape inference for convolution, transposed convolution and pooling.
 * Output sizes per the ONNX spec; auto_pad is resolved into explicit pads (auto_pad NOTSET). */
#include "shape_impl.h"

#include <string.h>

/* Checks X's rank against nsp (0 = not known from attributes) and returns nsp. */
static af_status spatial_rank(const af_node *n, const af_tensor *x, int32_t *nsp, af_err *err)
{
    char s[96];
    int r = x->rank - 2;
    if (r < 1 || r > AF_MAX_SPATIAL)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input %s: only 1-3 spatial dimensions are "
                      "supported", sh_str(x, s));
    if (*nsp && *nsp != r)
        return sh_err(n, err, AF_ERR_SHAPE, "input %s has %d spatial dims, attributes give %d",
                      sh_str(x, s), r, (int)*nsp);
    *nsp = r;
    return AF_OK;
}

typedef struct win {
    int64_t in;
    int32_t k, s, d;
    int32_t *pb, *pe;
} win;

/* Conv / pool output size along one axis; resolves SAME_* / VALID into pads. */
static af_status window_out(const af_node *n, int axis, win w, int auto_pad, int ceil_mode,
                            int64_t *out, af_err *err)
{
    if (w.k < 1 || w.s < 1 || w.d < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: kernel %d, stride %d and "
                      "dilation %d must be >= 1", axis, (int)w.k, (int)w.s, (int)w.d);
    int64_t ek = (int64_t)(w.k - 1) * w.d + 1;
    if (auto_pad == AF_AUTO_PAD_SAME_UPPER || auto_pad == AF_AUTO_PAD_SAME_LOWER) {
        int64_t o = (w.in + w.s - 1) / w.s;
        int64_t total = (o - 1) * w.s + ek - w.in;
        if (total < 0) total = 0;
        int64_t small = total / 2, big = total - small;
        *w.pb = (int32_t)(auto_pad == AF_AUTO_PAD_SAME_UPPER ? small : big);
        *w.pe = (int32_t)(auto_pad == AF_AUTO_PAD_SAME_UPPER ? big : small);
    } else if (auto_pad == AF_AUTO_PAD_VALID) {
        *w.pb = *w.pe = 0;
    }
    if (*w.pb < 0 || *w.pe < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: negative pads", axis);
    int64_t span = w.in + *w.pb + *w.pe - ek;
    if (span < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: window %lld larger than the "
                      "padded input %lld", axis, (long long)ek, (long long)(w.in + *w.pb + *w.pe));
    int64_t o = (ceil_mode ? (span + w.s - 1) / w.s : span / w.s) + 1;
    /* ceil_mode: the last window must start inside the input or its left padding */
    if (ceil_mode && (o - 1) * w.s >= w.in + *w.pb) o--;
    *out = o;
    return AF_OK;
}

af_status af_shape_conv(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *w = sh_in(g, n, 1), *b = sh_in(g, n, 2);
    af_conv_params *p = &n->p.conv;
    char sx[96], sw[96];
    af_status st = spatial_rank(n, x, &p->nsp, err);
    if (st) return st;
    if (w->rank != x->rank)
        return sh_err(n, err, AF_ERR_SHAPE, "weight %s does not match input %s", sh_str(w, sw),
                      sh_str(x, sx));
    if (p->group < 1 || w->dims[0] % p->group)
        return sh_err(n, err, AF_ERR_SHAPE, "group %d does not divide %lld output channels",
                      (int)p->group, (long long)w->dims[0]);
    if (x->dims[1] != w->dims[1] * p->group)
        return sh_err(n, err, AF_ERR_SHAPE, "input channels %lld != weight channels %lld*%d",
                      (long long)x->dims[1], (long long)w->dims[1], (int)p->group);
    if (b && (b->rank != 1 || b->dims[0] != w->dims[0]))
        return sh_err(n, err, AF_ERR_SHAPE, "bias %s does not match %lld output channels",
                      sh_str(b, sx), (long long)w->dims[0]);
    int64_t dims[AF_MAX_RANK] = {x->dims[0], w->dims[0]};
    for (int i = 0; i < p->nsp; i++) {
        if (p->kernel[i] && p->kernel[i] != w->dims[2 + i])
            return sh_err(n, err, AF_ERR_SHAPE, "kernel_shape %d != weight dim %lld",
                          (int)p->kernel[i], (long long)w->dims[2 + i]);
        p->kernel[i] = (int32_t)w->dims[2 + i];
        win wi = {x->dims[2 + i], p->kernel[i], p->stride[i], p->dilation[i], &p->pad_begin[i],
                  &p->pad_end[i]};
        st = window_out(n, i, wi, p->auto_pad, 0, &dims[2 + i], err);
        if (st) return st;
    }
    p->auto_pad = AF_AUTO_PAD_NOTSET;
    af_tensor *r = sh_in(g, n, 3); /* fused residual: exactly Y's shape and dtype */
    if (r && (r->dtype != x->dtype || r->rank != x->rank ||
              memcmp(r->dims, dims, sizeof(int64_t) * (size_t)x->rank)))
        return sh_err(n, err, AF_ERR_SHAPE, "residual %s does not match the output",
                      sh_str(r, sx));
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

/* out = s*(in-1) + out_pad + (k-1)*d + 1 - pad_begin - pad_end */
static af_status deconv_axis(const af_node *n, af_conv_params *p, int i, int64_t in,
                             int64_t *out, af_err *err)
{
    int32_t s = p->stride[i], d = p->dilation[i], op = p->out_pad[i];
    if (s < 1 || d < 1 || op < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: bad stride/dilation/"
                      "output_padding", i);
    int64_t full = (int64_t)s * (in - 1) + op + (int64_t)(p->kernel[i] - 1) * d + 1;
    if (p->auto_pad == AF_AUTO_PAD_SAME_UPPER || p->auto_pad == AF_AUTO_PAD_SAME_LOWER) {
        int64_t total = full - in * s;
        if (total < 0)
            return sh_err(n, err, AF_ERR_UNSUPPORTED, "spatial axis %d: SAME padding would "
                          "need negative pads", i);
        int64_t small = total / 2, big = total - small;
        p->pad_begin[i] = (int32_t)(p->auto_pad == AF_AUTO_PAD_SAME_UPPER ? small : big);
        p->pad_end[i] = (int32_t)(p->auto_pad == AF_AUTO_PAD_SAME_UPPER ? big : small);
    } else if (p->auto_pad == AF_AUTO_PAD_VALID) {
        p->pad_begin[i] = p->pad_end[i] = 0;
    }
    if (p->pad_begin[i] < 0 || p->pad_end[i] < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: negative pads", i);
    *out = full - p->pad_begin[i] - p->pad_end[i];
    if (*out < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: output size %lld < 1", i,
                      (long long)*out);
    return AF_OK;
}

af_status af_shape_conv_transpose(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *w = sh_in(g, n, 1), *b = sh_in(g, n, 2);
    af_conv_params *p = &n->p.conv;
    char sx[96], sw[96];
    af_status st = spatial_rank(n, x, &p->nsp, err);
    if (st) return st;
    if (w->rank != x->rank || w->dims[0] != x->dims[1])
        return sh_err(n, err, AF_ERR_SHAPE, "weight %s does not match input %s (weight is "
                      "(C, M/group, k...))", sh_str(w, sw), sh_str(x, sx));
    if (p->group < 1 || x->dims[1] % p->group)
        return sh_err(n, err, AF_ERR_SHAPE, "group %d does not divide %lld input channels",
                      (int)p->group, (long long)x->dims[1]);
    int64_t m = w->dims[1] * p->group;
    if (b && (b->rank != 1 || b->dims[0] != m))
        return sh_err(n, err, AF_ERR_SHAPE, "bias %s does not match %lld output channels",
                      sh_str(b, sx), (long long)m);
    int64_t dims[AF_MAX_RANK] = {x->dims[0], m};
    for (int i = 0; i < p->nsp; i++) {
        if (p->kernel[i] && p->kernel[i] != w->dims[2 + i])
            return sh_err(n, err, AF_ERR_SHAPE, "kernel_shape %d != weight dim %lld",
                          (int)p->kernel[i], (long long)w->dims[2 + i]);
        p->kernel[i] = (int32_t)w->dims[2 + i];
        st = deconv_axis(n, p, i, x->dims[2 + i], &dims[2 + i], err);
        if (st) return st;
    }
    p->auto_pad = AF_AUTO_PAD_NOTSET;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

af_status af_shape_pool(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_pool_params *p = &n->p.pool;
    af_status st = spatial_rank(n, x, &p->nsp, err);
    if (st) return st;
    int64_t dims[AF_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < p->nsp; i++) {
        win wi = {x->dims[2 + i], p->kernel[i], p->stride[i], p->dilation[i], &p->pad_begin[i],
                  &p->pad_end[i]};
        if (p->kernel[i] > 0 && (p->pad_begin[i] >= p->kernel[i] || p->pad_end[i] >= p->kernel[i])
            && p->auto_pad == AF_AUTO_PAD_NOTSET)
            return sh_err(n, err, AF_ERR_SHAPE, "spatial axis %d: pads must be smaller than the "
                          "kernel", i);
        st = window_out(n, i, wi, p->auto_pad, p->ceil_mode, &dims[2 + i], err);
        if (st) return st;
    }
    p->auto_pad = AF_AUTO_PAD_NOTSET;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    if (n->n_out > 1) { /* MaxPool's Indices: flat positions in X */
        if (p->kind != AF_POOL_MAX)
            return sh_err(n, err, AF_ERR_SHAPE, "only max pooling has an Indices output");
        sh_set_out(g, n, 1, AF_DTYPE_I64, x->rank, dims);
    }
    return AF_OK;
}

af_status af_shape_global_pool(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank < 3)
        return sh_err(n, err, AF_ERR_SHAPE, "input %s needs rank >= 3", sh_str(x, s));
    int64_t dims[AF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

/* graph/shape_ops1.c — shape inference for the losses, trigonometry and small-op group: nll_loss, hardmax,
 * det, and the always-computed eye_like and window (Hann, Hamming, Blackman). */
#include "shape_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int int_dtype(af_dtype t) { return t == AF_DTYPE_I32 || t == AF_DTYPE_I64; }

/* logp (N,C,d1..dk), target (N,d1..dk), weight? (C) → (N,d1..dk) for reduction none, else a
 * scalar. */
af_status af_shape_nll_loss(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *t = sh_in(g, n, 1), *w = sh_in(g, n, 2);
    char sx[96], st[96];
    if (!t) return sh_err(n, err, AF_ERR_SHAPE, "the target input is missing");
    if (x->rank < 2) return sh_err(n, err, AF_ERR_SHAPE, "input %s needs rank >= 2", sh_str(x, sx));
    if (!int_dtype(t->dtype))
        return sh_err(n, err, AF_ERR_SHAPE, "target '%s' must be i32 or i64, not %s", t->name,
                      af_dtype_name(t->dtype));
    int ok = t->rank == x->rank - 1 && t->dims[0] == x->dims[0];
    for (int i = 1; ok && i < t->rank; i++) ok = t->dims[i] == x->dims[i + 1];
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "target %s does not match input %s (N,C,d...)",
                      sh_str(t, st), sh_str(x, sx));
    if (w && (w->rank != 1 || w->dims[0] != x->dims[1] || w->dtype != x->dtype))
        return sh_err(n, err, AF_ERR_SHAPE, "weight '%s' %s must be (%lld) of the input's dtype",
                      w->name, sh_str(w, st), (long long)x->dims[1]);
    if (n->p.nll.reduction < AF_REDUCTION_NONE || n->p.nll.reduction > AF_REDUCTION_MEAN)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad reduction %d", (int)n->p.nll.reduction);
    if (n->p.nll.reduction == AF_REDUCTION_NONE) sh_set_out(g, n, 0, x->dtype, t->rank, t->dims);
    else sh_set_out(g, n, 0, x->dtype, 0, NULL);
    return AF_OK;
}

/* x (...,M,M) → (...) */
af_status af_shape_det(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return sh_err(n, err, AF_ERR_SHAPE, "input %s must be (...,M,M)", sh_str(x, s));
    if (x->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_SHAPE, "input must be float, not %s", af_dtype_name(x->dtype));
    sh_set_out(g, n, 0, x->dtype, x->rank - 2, x->dims);
    return AF_OK;
}

/* EyeLike: the output depends only on x's shape, so it is computed here. dtype < 0: x's. */
af_status af_shape_eye_like(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank != 2) return sh_err(n, err, AF_ERR_SHAPE, "input %s must be 2-D", sh_str(x, s));
    af_dtype dt = n->p.eye.dtype < 0 ? x->dtype : (af_dtype)n->p.eye.dtype;
    if ((unsigned)dt >= AF_DTYPE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad dtype %d", (int)dt);
    int64_t r = x->dims[0], c = x->dims[1], k = n->p.eye.k;
    size_t bytes = (size_t)(r * c) * af_dtype_size(dt);
    void *data = calloc(1, bytes ? bytes : 1);
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < r; i++)
        if (i + k >= 0 && i + k < c) af_dtype_set(dt, data, (size_t)(i * c + i + k), 1.0);
    sh_set_out(g, n, 0, dt, 2, x->dims);
    af_tensor_set_data(&g->tensors[n->out[0]], data);
    return AF_OK;
}

/* Generalised cosine window w[i] = a0 - a1 cos(2 pi i / N1) + a2 cos(4 pi i / N1), N1 = size
 * (periodic) or size - 1 (symmetric); computed in double, stored in the output dtype. A
 * symmetric window of size 1 is [1] (N1 = 0). */
static void window_fill(const af_window_params *p, af_dtype dt, int64_t size, void *data)
{
    static const double coef[3][3] = {
        {0.5, 0.5, 0.0},                   /* Hann */
        {25.0 / 46.0, 21.0 / 46.0, 0.0},   /* Hamming (a0 = 25/46 as in ONNX) */
        {0.42, 0.5, 0.08},                 /* Blackman */
    };
    const double *a = coef[p->kind];
    double n1 = (double)(p->periodic ? size : size - 1);
    const double two_pi = 6.283185307179586476925;
    for (int64_t i = 0; i < size; i++) {
        double v = n1 > 0 ? a[0] - a[1] * cos(two_pi * (double)i / n1) +
                                a[2] * cos(2.0 * two_pi * (double)i / n1)
                          : 1.0;
        af_dtype_set(dt, data, (size_t)i, v);
    }
}

af_status af_shape_window(af_graph *g, af_node *n, af_err *err)
{
    const af_window_params *p = &n->p.window;
    if (p->kind < AF_WINDOW_HANN || p->kind > AF_WINDOW_BLACKMAN)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad window kind %d", (int)p->kind);
    if ((unsigned)p->dtype >= AF_DTYPE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad dtype %d", (int)p->dtype);
    int64_t v[1];
    int c;
    af_status st = sh_const_ints(g, n, 0, "size", v, 1, &c, err);
    if (st) return st;
    if (c != 1 || v[0] < 0 || v[0] > (1 << 26))
        return sh_err(n, err, AF_ERR_SHAPE, "size must be one value in [0, 2^26]");
    af_dtype dt = (af_dtype)p->dtype;
    void *data = malloc((size_t)(v[0] ? v[0] : 1) * af_dtype_size(dt));
    if (!data) return sh_err(n, err, AF_ERR_NOMEM, "out of memory");
    window_fill(p, dt, v[0], data);
    sh_set_out(g, n, 0, dt, 1, v);
    af_tensor_set_data(&g->tensors[n->out[0]], data);
    return AF_OK;
}

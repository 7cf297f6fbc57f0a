/* runtime/kernels/indexing.c — reference kernels for indexing and selection:
 * topk, scatter_nd, scatter_elements, gather_nd, one_hot, reverse_sequence, max_unpool.
 *
 * Every index is validated before it is used (an out-of-range index is AF_ERR_SHAPE naming the
 * op); negative indices count from the end where ONNX allows them. Data may be any dtype (moved
 * bytewise); arithmetic (scatter reductions, topk comparisons) is f32/f16/bf16 in float and
 * integers in int64.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

static int is_index(af_dtype t) { return t == AF_DTYPE_I32 || t == AF_DTYPE_I64; }

/* An index k into an axis of n (negative counts from the end) → [0, n), or -1. */
static int64_t wrap_index(int64_t k, int64_t n)
{
    if (k < -n || k >= n) return -1;
    return k < 0 ? k + n : k;
}

static af_status bad_index(const char *op, int64_t k, int64_t n, af_err *err)
{
    return af_err_set(err, AF_ERR_SHAPE, "%s: index %lld out of range for an axis of %lld", op,
                      (long long)k, (long long)n);
}

/* ---- topk ------------------------------------------------------------------------------- */

af_status afk_topk_check(AFK_CHECK_ARGS)
{
    (void)n_in;
    const af_tview *x = &in[0];
    const af_topk_params *t = &p->topk;
    int a = t->axis;
    if (x->dtype == AF_DTYPE_BOOL || a < 0 || a >= x->rank || t->k < 0 || t->k > x->dims[a] ||
        out[0].dtype != x->dtype || out[0].rank != x->rank ||
        (n_out > 1 && (out[1].dtype != AF_DTYPE_I64 || !afk_same_shape(&out[0], &out[1]))))
        return af_err_set(err, AF_ERR_SHAPE, "topk: bad axis, k, dtypes or outputs");
    for (int i = 0; i < x->rank; i++)
        if (out[0].dims[i] != (i == a ? t->k : x->dims[i]))
            return af_err_set(err, AF_ERR_SHAPE, "topk: output shape does not match");
    return AF_OK;
}

size_t afk_topk_scratch(const af_params *p, const af_tview *in)
{
    int a = p->topk.axis;
    if (a < 0 || a >= in[0].rank) return 0;
    return (size_t)in[0].dims[a] * 3 * sizeof(int64_t); /* keys, order, merge buffer */
}

/* 1 when key i goes before key j (ties keep the lower index: the sort is stable). NaN counts
 * as the largest value. */
static int before(const void *keys, int is_float, int largest, int64_t i, int64_t j)
{
    if (is_float) {
        double a = ((const double *)keys)[i], b = ((const double *)keys)[j];
        if (isnan(a) || isnan(b)) return largest ? isnan(a) && !isnan(b) : isnan(b) && !isnan(a);
        return largest ? a > b : a < b;
    }
    int64_t a = ((const int64_t *)keys)[i], b = ((const int64_t *)keys)[j];
    return largest ? a > b : a < b;
}

/* Stable bottom-up merge sort of ord[0..n) by keys. */
static void sort_order(int64_t *ord, int64_t *tmp, int64_t n, const void *keys, int is_float,
                       int largest)
{
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = before(keys, is_float, largest, ord[j], ord[i]) ? ord[j++] : ord[i++];
            while (i < mid) tmp[o++] = ord[i++];
            while (j < hi) tmp[o++] = ord[j++];
        }
        memcpy(ord, tmp, sizeof(int64_t) * (size_t)n);
    }
}

// x (outer, n, inner) -> values (outer, k, inner), indices (outer, k, inner) i64
af_status afk_topk_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)err;
    const af_tview *x = &in[0];
    int a = p->topk.axis, fl = af_dtype_table[x->dtype].is_float;
    int64_t n = x->dims[a], k = p->topk.k, outer = afk_prod(x, 0, a);
    int64_t inner = afk_prod(x, a + 1, x->rank);
    size_t es = af_dtype_size(x->dtype);
    int64_t *keys = ctx->scratch, *ord = keys + n, *tmp = ord + n;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            for (int64_t j = 0; j < n; j++) {
                int64_t at = base + j * inner;
                if (fl) ((double *)(void *)keys)[j] = af_dtype_get(x->dtype, x->data, (size_t)at);
                else keys[j] = afk_int_key(x->dtype, afk_get_i64(x->dtype, x->data, at));
                ord[j] = j;
            }
            sort_order(ord, tmp, n, keys, fl, p->topk.largest);
            for (int64_t j = 0; j < k; j++) {
                int64_t src = base + ord[j] * inner, dst = (o * k + j) * inner + i;
                memcpy((char *)out[0].data + (size_t)dst * es,
                       (const char *)x->data + (size_t)src * es, es);
                if (n_out > 1) ((int64_t *)out[1].data)[dst] = ord[j];
            }
        }
    return AF_OK;
}

/* ---- scatter ---------------------------------------------------------------------------- */

/* dst[di] = dst[di] (red) src[si] for one element of dtype t. */
static void combine(af_dtype t, void *dst, int64_t di, const void *src, int64_t si, int red)
{
    size_t es = af_dtype_size(t);
    if (red == AF_SCATTER_NONE) {
        memcpy((char *)dst + (size_t)di * es, (const char *)src + (size_t)si * es, es);
    } else if (t == AF_DTYPE_F32) {
        float *d = (float *)dst + di, s = ((const float *)src)[si];
        *d = red == AF_SCATTER_ADD ? *d + s : red == AF_SCATTER_MUL ? *d * s
           : red == AF_SCATTER_MAX ? fmaxf(*d, s) : fminf(*d, s);
    } else if (af_dtype_table[t].is_float) {
        double d = af_dtype_get(t, dst, (size_t)di), s = af_dtype_get(t, src, (size_t)si);
        d = red == AF_SCATTER_ADD ? d + s : red == AF_SCATTER_MUL ? d * s
          : red == AF_SCATTER_MAX ? fmax(d, s) : fmin(d, s);
        af_dtype_set(t, dst, (size_t)di, d);
    } else { /* integers wrap modulo 2^n (computed through unsigned) */
        int64_t d = afk_get_i64(t, dst, di), s = afk_get_i64(t, src, si);
        d = red == AF_SCATTER_ADD ? (int64_t)((uint64_t)d + (uint64_t)s)
          : red == AF_SCATTER_MUL ? (int64_t)((uint64_t)d * (uint64_t)s)
          : red == AF_SCATTER_MAX ? (afk_int_key(t, d) > afk_int_key(t, s) ? d : s)
          : (afk_int_key(t, d) < afk_int_key(t, s) ? d : s); /* u64 order */
        afk_set_i64(t, dst, di, d);
    }
}

static af_status scatter_common(const af_params *p, const af_tview *in, const af_tview *out,
                                const char *op, af_err *err)
{
    const af_tview *d = &in[0], *ix = &in[1], *u = &in[2];
    if (!is_index(ix->dtype) || u->dtype != d->dtype || out[0].dtype != d->dtype ||
        !afk_same_shape(d, &out[0]) || (unsigned)p->scatter.reduction > AF_SCATTER_MIN)
        return af_err_set(err, AF_ERR_SHAPE, "%s: bad dtypes, reduction or output", op);
    return AF_OK;
}

af_status afk_scatter_elements_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    af_status st = scatter_common(p, in, out, "scatter_elements", err);
    if (st) return st;
    const af_tview *d = &in[0], *ix = &in[1], *u = &in[2];
    int a = p->scatter.axis, ok = a >= 0 && a < d->rank && ix->rank == d->rank &&
                                  afk_same_shape(ix, u);
    for (int i = 0; ok && i < d->rank; i++) ok = i == a || ix->dims[i] <= d->dims[i];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "scatter_elements: shapes do not fit");
}

/* Copies data into the output unless they share memory (in place). */
static void copy_data(const af_tview *d, af_tview *o)
{
    if (o->data != d->data)
        memcpy(o->data, d->data, (size_t)af_tview_numel(d) * af_dtype_size(d->dtype));
}

// data (d...), indices (i...), updates (i...) -> Y (d...): Y[p with axis = idx[p]] (red)= u[p]
af_status afk_scatter_elements_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *d = &in[0], *ix = &in[1], *u = &in[2];
    int r = d->rank, a = p->scatter.axis;
    int64_t ds[AF_MAX_RANK], pos[AF_MAX_RANK] = {0}, n = af_tview_numel(ix);
    for (int64_t i = 0; i < n; i++) { /* validate before writing anything */
        int64_t k = afk_get_i64(ix->dtype, ix->data, i);
        if (wrap_index(k, d->dims[a]) < 0) return bad_index("scatter_elements", k, d->dims[a], err);
    }
    copy_data(d, &out[0]);
    afk_strides(d, ds);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = wrap_index(afk_get_i64(ix->dtype, ix->data, i), d->dims[a]), off = 0;
        for (int t = 0; t < r; t++) off += (t == a ? k : pos[t]) * ds[t];
        combine(d->dtype, out[0].data, off, u->data, i, p->scatter.reduction);
        for (int t = r - 1; t >= 0 && ++pos[t] == ix->dims[t]; t--) pos[t] = 0;
    }
    return AF_OK;
}

af_status afk_scatter_nd_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    af_status st = scatter_common(p, in, out, "scatter_nd", err);
    if (st) return st;
    const af_tview *d = &in[0], *ix = &in[1], *u = &in[2];
    int64_t q = ix->rank ? ix->dims[ix->rank - 1] : -1;
    int ok = ix->rank >= 1 && q <= d->rank && u->rank == ix->rank - 1 + d->rank - q;
    for (int i = 0; ok && i < ix->rank - 1; i++) ok = u->dims[i] == ix->dims[i];
    for (int i = 0; ok && i < d->rank - q; i++) ok = u->dims[ix->rank - 1 + i] == d->dims[q + i];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "scatter_nd: shapes do not fit");
}

/* Element offset of index tuple t (q values from ix at tuple t) into the first q axes of d
 * starting at axis first; -1 (with *bad the offending value and *dim its axis size) when out of
 * range. */
static int64_t tuple_offset(const af_tview *d, int first, const af_tview *ix, int64_t t, int64_t q,
                            int64_t *bad, int64_t *dim)
{
    int64_t ds[AF_MAX_RANK], off = 0;
    afk_strides(d, ds);
    for (int64_t j = 0; j < q; j++) {
        int64_t k = afk_get_i64(ix->dtype, ix->data, t * q + j), n = d->dims[first + j];
        int64_t w = wrap_index(k, n);
        if (w < 0) {
            *bad = k, *dim = n;
            return -1;
        }
        off += w * ds[first + j];
    }
    return off;
}

// data (d...), indices (i..., q), updates (i..., d[q:]...) -> Y (d...)
af_status afk_scatter_nd_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *d = &in[0], *ix = &in[1], *u = &in[2];
    int64_t q = ix->dims[ix->rank - 1], nt = afk_prod(ix, 0, ix->rank - 1);
    int64_t slice = afk_prod(d, (int)q, d->rank), bad = 0, dim = 0;
    for (int64_t t = 0; t < nt; t++)
        if (tuple_offset(d, 0, ix, t, q, &bad, &dim) < 0)
            return bad_index("scatter_nd", bad, dim, err);
    copy_data(d, &out[0]);
    for (int64_t t = 0; t < nt; t++) { /* in order: later duplicates win / accumulate */
        int64_t off = tuple_offset(d, 0, ix, t, q, &bad, &dim);
        for (int64_t e = 0; e < slice; e++)
            combine(d->dtype, out[0].data, off + e, u->data, t * slice + e, p->scatter.reduction);
    }
    return AF_OK;
}

/* ---- gather_nd -------------------------------------------------------------------------- */

af_status afk_gather_nd_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *d = &in[0], *ix = &in[1], *o = &out[0];
    int b = p->scatter.axis;
    int64_t q = ix->rank ? ix->dims[ix->rank - 1] : 0;
    int ok = is_index(ix->dtype) && o->dtype == d->dtype && b >= 0 && b < ix->rank &&
             q >= 1 && b + q <= d->rank && o->rank == ix->rank - 1 + d->rank - b - q;
    for (int i = 0; ok && i < b; i++) ok = d->dims[i] == ix->dims[i];
    for (int i = 0; ok && i < ix->rank - 1; i++) ok = o->dims[i] == ix->dims[i];
    for (int i = b + (int)q; ok && i < d->rank; i++)
        ok = o->dims[ix->rank - 1 + i - b - q] == d->dims[i];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "gather_nd: shapes do not fit");
}

// data (B..., d...), indices (B..., i..., q) -> Y (B..., i..., d[b+q:]...)
af_status afk_gather_nd_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *d = &in[0], *ix = &in[1];
    int b = p->scatter.axis;
    int64_t q = ix->dims[ix->rank - 1], nb = afk_prod(d, 0, b);
    int64_t per = afk_prod(ix, b, ix->rank - 1), bstride = afk_prod(d, b, d->rank);
    int64_t slice = afk_prod(d, b + (int)q, d->rank), bad = 0, dim = 0;
    size_t es = af_dtype_size(d->dtype), chunk = (size_t)slice * es;
    af_tview inner = *d; /* one batch of data: (d...) */
    inner.rank = d->rank - b;
    memmove(inner.dims, d->dims + b, sizeof(int64_t) * (size_t)inner.rank);
    for (int64_t t = 0; t < nb * per; t++)
        if (tuple_offset(&inner, 0, ix, t, q, &bad, &dim) < 0)
            return bad_index("gather_nd", bad, dim, err);
    char *y = out[0].data;
    for (int64_t t = 0; t < nb * per; t++, y += chunk) {
        int64_t off = (t / per) * bstride + tuple_offset(&inner, 0, ix, t, q, &bad, &dim);
        memcpy(y, (const char *)d->data + (size_t)off * es, chunk);
    }
    return AF_OK;
}

/* ---- one_hot ---------------------------------------------------------------------------- */

af_status afk_one_hot_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *ix = &in[0], *v = &in[1], *o = &out[0];
    int a = p->one_hot.axis;
    int ok = ix->dtype != AF_DTYPE_BOOL && af_tview_numel(v) == 2 && o->dtype == v->dtype &&
             o->rank == ix->rank + 1 && a >= 0 && a < o->rank && o->dims[a] == p->one_hot.depth;
    for (int i = 0, j = 0; ok && i < o->rank; i++)
        if (i != a) ok = o->dims[i] == ix->dims[j++];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "one_hot: shapes or dtypes do not fit");
}

// indices (outer, inner) [values (off, on)] -> Y (outer, depth, inner)
af_status afk_one_hot_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_tview *ix = &in[0], *v = &in[1];
    int a = p->one_hot.axis;
    int64_t depth = p->one_hot.depth, outer = afk_prod(ix, 0, a), inner = afk_prod(ix, a, ix->rank);
    int fl = af_dtype_table[ix->dtype].is_float;
    size_t es = af_dtype_size(v->dtype);
    const char *off = v->data, *on = off + es;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t at = o * inner + i, k;
            if (fl) { /* a non-integral float matches no position (ONNX's reference, ORT) */
                double f = af_dtype_get(ix->dtype, ix->data, (size_t)at);
                k = f == trunc(f) && fabs(f) < 9e18 ? (int64_t)f : depth;
            } else {
                k = afk_get_i64(ix->dtype, ix->data, at);
            }
            k = wrap_index(k, depth); /* out of range: every position is off */
            for (int64_t dd = 0; dd < depth; dd++)
                memcpy((char *)out[0].data + (size_t)((o * depth + dd) * inner + i) * es,
                       dd == k ? on : off, es);
        }
    return AF_OK;
}

/* ---- reverse_sequence ------------------------------------------------------------------- */

af_status afk_reverse_sequence_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *l = &in[1];
    int ba = p->reverse_seq.batch_axis, ta = p->reverse_seq.time_axis;
    int ok = x->rank >= 2 && ba + ta == 1 && (ba == 0 || ba == 1) && is_index(l->dtype) &&
             l->rank == 1 && l->dims[0] == x->dims[ba] && afk_same_shape(x, &out[0]) &&
             out[0].dtype == x->dtype;
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "reverse_sequence: shapes do not fit");
}

// x (T, B, rest) or (B, T, rest), lens (B) -> Y: the first lens[b] steps of batch b reversed
af_status afk_reverse_sequence_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *x = &in[0], *l = &in[1];
    int ba = p->reverse_seq.batch_axis, ta = p->reverse_seq.time_axis;
    int64_t B = x->dims[ba], T = x->dims[ta], rest = afk_prod(x, 2, x->rank);
    size_t chunk = (size_t)rest * af_dtype_size(x->dtype);
    for (int64_t b = 0; b < B; b++) {
        int64_t len = afk_get_i64(l->dtype, l->data, b);
        if (len < 0 || len > T)
            return af_err_set(err, AF_ERR_SHAPE, "reverse_sequence: sequence_lens[%lld] = %lld "
                              "out of range [0, %lld]", (long long)b, (long long)len,
                              (long long)T);
    }
    for (int64_t b = 0; b < B; b++) {
        int64_t len = afk_get_i64(l->dtype, l->data, b);
        for (int64_t t = 0; t < T; t++) {
            int64_t src = t < len ? len - 1 - t : t;
            int64_t so = ta == 0 ? src * B + b : b * T + src, dst = ta == 0 ? t * B + b : b * T + t;
            memcpy((char *)out[0].data + (size_t)dst * chunk,
                   (const char *)x->data + (size_t)so * chunk, chunk);
        }
    }
    return AF_OK;
}

/* ---- max_unpool ------------------------------------------------------------------------- */

/* The unpooled (N,C,*) shape of X for the params (before output_shape's padding). */
static void unpooled_dims(const af_unpool_params *u, const af_tview *x, int64_t *dims)
{
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int s = 0; s < u->nsp; s++)
        dims[2 + s] = (x->dims[2 + s] - 1) * u->stride[s] + u->kernel[s] - u->pad_begin[s] -
                      u->pad_end[s];
}

af_status afk_max_unpool_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_unpool_params *u = &p->unpool;
    const af_tview *x = &in[0], *ix = &in[1], *o = &out[0];
    int ok = u->nsp >= 1 && u->nsp <= AF_MAX_SPATIAL && x->rank == u->nsp + 2 &&
             afk_same_shape(x, ix) && ix->dtype == AF_DTYPE_I64 && o->dtype == x->dtype &&
             o->rank == x->rank;
    for (int s = 0; ok && s < u->nsp; s++) /* keeps unpooled_dims free of overflow */
        ok = u->kernel[s] >= 1 && u->kernel[s] <= (1 << 20) && u->stride[s] >= 1 &&
             u->stride[s] <= (1 << 20) && u->pad_begin[s] >= 0 && u->pad_end[s] >= 0 &&
             u->pad_begin[s] <= (1 << 20) && u->pad_end[s] <= (1 << 20) &&
             x->dims[2 + s] <= ((int64_t)1 << 30);
    int64_t dims[AF_MAX_RANK];
    if (ok) unpooled_dims(u, x, dims);
    for (int i = 0; ok && i < x->rank; i++) ok = dims[i] >= (i < 2 ? 0 : 1) && o->dims[i] >= dims[i];
    ok = ok && o->dims[0] == x->dims[0] && o->dims[1] == x->dims[1];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "max_unpool: shapes do not fit");
}

/* As ONNX's reference and test data: the values go to the unpooled (N,C,u*) tensor, which a
 * larger output_shape pads at the end (ONNX Runtime instead writes I flat into Y). */
// X (N,C,*), I (N,C,*) flat indices into the unpooled (N,C,u*) -> Y (N,C,o*), zeros elsewhere
af_status afk_max_unpool_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *x = &in[0], *ix = &in[1];
    af_tview un = *x;
    unpooled_dims(&p->unpool, x, un.dims);
    int64_t total = af_tview_numel(&un), n = af_tview_numel(x), us[AF_MAX_RANK], os[AF_MAX_RANK];
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ((const int64_t *)ix->data)[i];
        if (k < 0 || k >= total)
            return af_err_set(err, AF_ERR_SHAPE, "max_unpool: index %lld out of range for %lld "
                              "unpooled elements", (long long)k, (long long)total);
    }
    afk_strides(&un, us);
    afk_strides(&out[0], os);
    size_t es = af_dtype_size(x->dtype);
    memset(out[0].data, 0, (size_t)af_tview_numel(&out[0]) * es);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = ((const int64_t *)ix->data)[i], off = 0;
        for (int d = 0; d < x->rank; d++) {
            off += (k / us[d]) * os[d];
            k %= us[d];
        }
        memcpy((char *)out[0].data + (size_t)off * es, (const char *)x->data + (size_t)i * es, es);
    }
    return AF_OK;
}

/* ---- nms -------------------------------------------------------------------------------- */

/* Zeros the bytes of the capacity view cap past the first used bytes, so the unused part of a
 * data-dependent output is deterministic (observers see the whole buffer). */
static void zero_tail(const af_tview *cap, size_t used)
{
    size_t total = (size_t)af_tview_numel(cap) * af_dtype_size(cap->dtype);
    if (used < total) memset((char *)cap->data + used, 0, total - used);
}

/* Rows the output holds: B * C * min(max_output, S). */
static int64_t nms_capacity(const af_nms_params *p, const af_tview *boxes, const af_tview *scores)
{
    int64_t per = p->max_output < boxes->dims[1] ? p->max_output : boxes->dims[1];
    return boxes->dims[0] * scores->dims[1] * (per > 0 ? per : 0);
}

af_status afk_nms_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *b = &in[0], *sc = &in[1], *o = &out[0];
    int ok = b->dtype == AF_DTYPE_F32 && sc->dtype == AF_DTYPE_F32 && b->rank == 3 &&
             b->dims[2] == 4 && sc->rank == 3 && sc->dims[0] == b->dims[0] &&
             sc->dims[2] == b->dims[1] && o->dtype == AF_DTYPE_I64 && o->rank == 2 &&
             o->dims[1] == 3 && (p->nms.center_point_box == 0 || p->nms.center_point_box == 1);
    if (ok && o->dims[0] > nms_capacity(&p->nms, b, sc)) ok = 0;
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "nms: shapes or dtypes do not fit");
}

size_t afk_nms_scratch(const af_params *p, const af_tview *in)
{
    (void)p;
    return in[0].rank == 3 ? (size_t)in[0].dims[1] * 5 * sizeof(int64_t) : 0;
}

/* Extent [lo, hi) of box k along one axis (a = 0: y, 1: x) in the params' box format. */
static void box_extent(const float *box, int center, int a, float *lo, float *hi)
{
    if (center) {
        float c = box[a == 0 ? 1 : 0], half = box[a == 0 ? 3 : 2] / 2;
        *lo = c - half, *hi = c + half;
    } else {
        float u = box[a == 0 ? 0 : 1], v = box[a == 0 ? 2 : 3];
        *lo = u < v ? u : v, *hi = u < v ? v : u;
    }
}

/* 1 when boxes a and b overlap with IoU > thr (degenerate boxes never suppress). */
static int nms_suppress(const float *a, const float *b, int center, float thr)
{
    float alo[2], ahi[2], blo[2], bhi[2], inter = 1, area_a = 1, area_b = 1;
    for (int k = 0; k < 2; k++) {
        box_extent(a, center, k, &alo[k], &ahi[k]);
        box_extent(b, center, k, &blo[k], &bhi[k]);
        float lo = alo[k] > blo[k] ? alo[k] : blo[k], hi = ahi[k] < bhi[k] ? ahi[k] : bhi[k];
        if (hi <= lo) return 0;
        inter *= hi - lo;
        area_a *= ahi[k] - alo[k];
        area_b *= bhi[k] - blo[k];
    }
    float uni = area_a + area_b - inter;
    if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return 0;
    return inter / uni > thr;
}

/* Per batch and class: boxes above the score threshold by descending score (ties: lower index
 * first), each kept unless it overlaps a kept one by IoU > iou_threshold, at most max_output.
 * Sets out[0].dims[0] to the rows written (the rest of the capacity is left untouched). */
// boxes (B,S,4), scores (B,C,S) -> selected (rows <= B*C*min(max,S), 3) i64 (batch, class, box)
af_status afk_nms_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *bx = &in[0], *sc = &in[1];
    const af_nms_params *q = &p->nms;
    int64_t B = bx->dims[0], S = bx->dims[1], C = sc->dims[1], rows = 0;
    int64_t per = q->max_output < S ? q->max_output : S, *sel = out[0].data;
    int64_t *keys = ctx->scratch, *ord = keys + S, *tmp = ord + S, *cand = tmp + S;
    int64_t *kept = cand + S;
    const float *boxes = bx->data, *scores = sc->data;
    for (int64_t b = 0; per > 0 && b < B; b++)
        for (int64_t c = 0; c < C; c++) {
            const float *s = scores + (b * C + c) * S, *bb = boxes + b * S * 4;
            int64_t n = 0, nk = 0;
            for (int64_t j = 0; j < S; j++) {
                if (q->has_score_threshold && !(s[j] > q->score_threshold)) continue;
                ((double *)(void *)keys)[n] = s[j];
                cand[n] = j;
                ord[n] = n;
                n++;
            }
            sort_order(ord, tmp, n, keys, 1, 1);
            for (int64_t t = 0; t < n && nk < per; t++) {
                int64_t j = cand[ord[t]];
                int keep = 1;
                for (int64_t u = 0; keep && u < nk; u++)
                    keep = !nms_suppress(bb + j * 4, bb + kept[u] * 4, q->center_point_box,
                                         q->iou_threshold);
                if (!keep) continue;
                if (rows == out[0].dims[0]) /* the view arrives with the bundle's capacity */
                    return af_err_set(err, AF_ERR_SHAPE, "nms: more than %lld rows selected",
                                      (long long)rows);
                kept[nk++] = j;
                sel[rows * 3] = b, sel[rows * 3 + 1] = c, sel[rows * 3 + 2] = j;
                rows++;
            }
        }
    zero_tail(&out[0], (size_t)rows * 3 * sizeof(int64_t));
    out[0].dims[0] = rows;
    return AF_OK;
}

/* ---- nonzero / compress: outputs whose size depends on the data ------------------------- */

af_status afk_nonzero_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *o = &out[0];
    int ok = x->rank >= 1 && o->dtype == AF_DTYPE_I64 && o->rank == 2 && o->dims[0] == x->rank &&
             o->dims[1] <= af_tview_numel(x);
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "nonzero: shapes do not fit");
}

/* Writes (rank, nnz) compactly and sets out[0].dims[1] = nnz. The view arrives with the
 * bundle's capacity (numel, or the exact count of a constant input); more is an error. */
// x (d...) -> Y (rank, nnz) i64: the coordinates of the non-zero elements in row-major order
af_status afk_nonzero_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx;
    const af_tview *x = &in[0];
    int64_t n = af_tview_numel(x), nnz = 0, pos[AF_MAX_RANK] = {0}, *y = out[0].data;
    size_t es = af_dtype_size(x->dtype);
    static const uint8_t zero[16];
    for (int64_t i = 0; i < n; i++) /* any bit pattern but all-zero (and -0.0) counts */
        nnz += memcmp((const char *)x->data + (size_t)i * es, zero, es) != 0 &&
               !(af_dtype_table[x->dtype].is_float && af_dtype_get(x->dtype, x->data, (size_t)i) == 0);
    if (nnz > out[0].dims[1])
        return af_err_set(err, AF_ERR_SHAPE, "nonzero: %lld non-zero elements, room for %lld",
                          (long long)nnz, (long long)out[0].dims[1]);
    for (int64_t i = 0, k = 0; i < n; i++) {
        int nz = memcmp((const char *)x->data + (size_t)i * es, zero, es) != 0 &&
                 !(af_dtype_table[x->dtype].is_float && af_dtype_get(x->dtype, x->data, (size_t)i) == 0);
        for (int d = 0; nz && d < x->rank; d++) y[d * nnz + k] = pos[d];
        k += nz;
        for (int d = x->rank - 1; d >= 0 && ++pos[d] == x->dims[d]; d--) pos[d] = 0;
    }
    zero_tail(&out[0], (size_t)(x->rank * nnz) * sizeof(int64_t));
    out[0].dims[1] = nnz;
    return AF_OK;
}

/* Geometry of compress: x as (outer, len, inner) with len the axis (or numel when flattened),
 * the condition's usable length. */
static void compress_geom(const af_params *p, const af_tview *x, const af_tview *c,
                          int64_t *outer, int64_t *len, int64_t *inner, int64_t *usable)
{
    int a = p->compress.axis;
    *outer = p->compress.flatten ? 1 : afk_prod(x, 0, a);
    *len = p->compress.flatten ? af_tview_numel(x) : x->dims[a];
    *inner = p->compress.flatten ? 1 : afk_prod(x, a + 1, x->rank);
    *usable = c->dims[0] < *len ? c->dims[0] : *len;
}

af_status afk_compress_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *c = &in[1], *o = &out[0];
    int a = p->compress.axis, fl = p->compress.flatten;
    int ok = c->dtype == AF_DTYPE_BOOL && c->rank == 1 && o->dtype == x->dtype &&
             (fl ? o->rank == 1 : (a >= 0 && a < x->rank && o->rank == x->rank));
    int64_t outer, len, inner, usable;
    if (ok) compress_geom(p, x, c, &outer, &len, &inner, &usable);
    for (int i = 0; ok && !fl && i < x->rank; i++)
        ok = i == a ? o->dims[i] <= usable : o->dims[i] == x->dims[i];
    ok = ok && (!fl || o->dims[0] <= usable);
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "compress: shapes do not fit");
}

/* Writes (outer, kept, inner) compactly and sets the axis (or the only dim) to kept. */
// x (outer, len, inner), condition (L) -> Y (outer, kept, inner): slices where condition is true
af_status afk_compress_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *x = &in[0], *c = &in[1];
    int64_t outer, len, inner, usable, kept = 0;
    compress_geom(p, x, c, &outer, &len, &inner, &usable);
    const uint8_t *cond = c->data;
    for (int64_t l = 0; l < usable; l++) kept += cond[l] != 0;
    int d = p->compress.flatten ? 0 : p->compress.axis;
    if (kept > out[0].dims[d])
        return af_err_set(err, AF_ERR_SHAPE, "compress: %lld slices selected, room for %lld",
                          (long long)kept, (long long)out[0].dims[d]);
    size_t chunk = (size_t)inner * af_dtype_size(x->dtype);
    char *y = out[0].data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t l = 0; l < usable; l++)
            if (cond[l]) {
                memcpy(y, (const char *)x->data + (size_t)(o * len + l) * chunk, chunk);
                y += chunk;
            }
    zero_tail(&out[0], (size_t)(y - (char *)out[0].data));
    out[0].dims[d] = kept;
    return AF_OK;
}

/* runtime/kernels/extra.c — EXPAND, WHERE, TILE, TRILU, DEPTH_TO_SPACE, SPACE_TO_DEPTH and
 * GATHER_ELEMENTS (any dtype, by element size), CUMSUM (f32/i32/i64) and LRN (f32). */
#include "internal.h"

#include <math.h>
#include <string.h>

/* Element strides of `in` as seen from an output of rank r under numpy broadcasting (0 on
 * broadcast axes). */
static void bcast_strides(const af_tview *in, int r, int64_t *st)
{
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
        int k = i - (r - in->rank);
        int64_t d = k >= 0 ? in->dims[k] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
    }
}

/* Whether `in` broadcasts to `out`'s shape. */
static int bcasts_to(const af_tview *in, const af_tview *out)
{
    if (in->rank > out->rank) return 0;
    for (int i = 0; i < in->rank; i++) {
        int64_t d = in->dims[i], o = out->dims[out->rank - in->rank + i];
        if (d != o && d != 1) return 0;
    }
    return 1;
}

/* Advances the odometer idx over dims (rank r); adds the per-axis strides to the offsets. */
static void step(int r, const int64_t *dims, int64_t *idx, int n, int64_t *off,
                 int64_t st[][AF_MAX_RANK])
{
    for (int i = r - 1; i >= 0; i--) {
        idx[i]++;
        for (int k = 0; k < n; k++) off[k] += st[k][i];
        if (idx[i] < dims[i]) return;
        for (int k = 0; k < n; k++) off[k] -= st[k][i] * dims[i];
        idx[i] = 0;
    }
}

/* ---- expand / where --------------------------------------------------------------------- */

af_status afk_expand_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    if (in[0].dtype != out[0].dtype || !bcasts_to(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "expand: input does not broadcast to the output");
    return AF_OK;
}

// x (broadcastable to Y) -> Y
af_status afk_expand_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    int r = out[0].rank;
    int64_t st[1][AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, off = 0, n = af_tview_numel(&out[0]);
    bcast_strides(&in[0], r, st[0]);
    size_t es = af_dtype_size(out[0].dtype);
    const char *x = in[0].data;
    char *y = out[0].data;
    for (int64_t i = 0; i < n; i++, step(r, out[0].dims, idx, 1, &off, st))
        memcpy(y + (size_t)i * es, x + (size_t)off * es, es);
    return AF_OK;
}

af_status afk_where_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    if (in[0].dtype != AF_DTYPE_BOOL || in[1].dtype != out[0].dtype ||
        in[2].dtype != out[0].dtype)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "where: needs a bool condition and x, y of "
                          "the output dtype");
    for (int k = 0; k < 3; k++)
        if (!bcasts_to(&in[k], &out[0]))
            return af_err_set(err, AF_ERR_SHAPE, "where: input %d does not broadcast", k);
    return AF_OK;
}

// cond, x, y (broadcast) -> Y = cond ? x : y
af_status afk_where_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    int r = out[0].rank;
    int64_t st[3][AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, off[3] = {0};
    int64_t n = af_tview_numel(&out[0]);
    for (int k = 0; k < 3; k++) bcast_strides(&in[k], r, st[k]);
    size_t es = af_dtype_size(out[0].dtype);
    const uint8_t *c = in[0].data;
    const char *x = in[1].data, *yv = in[2].data;
    char *o = out[0].data;
    for (int64_t i = 0; i < n; i++, step(r, out[0].dims, idx, 3, off, st)) {
        const char *src = c[off[0]] ? x + (size_t)off[1] * es : yv + (size_t)off[2] * es;
        memcpy(o + (size_t)i * es, src, es);
    }
    return AF_OK;
}

/* ---- tile / trilu ----------------------------------------------------------------------- */

af_status afk_tile_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    int ok = in[0].dtype == out[0].dtype && in[0].rank == out[0].rank;
    for (int i = 0; ok && i < in[0].rank; i++)
        ok = in[0].dims[i] ? out[0].dims[i] % in[0].dims[i] == 0 : out[0].dims[i] == 0;
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "tile: output is not a tiling of the input");
}

// x (d0..) -> Y (d0*r0, ...): Y[i] = x[i mod d]
af_status afk_tile_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    int r = out[0].rank;
    int64_t xs[AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, n = af_tview_numel(&out[0]);
    afk_strides(&in[0], xs);
    size_t es = af_dtype_size(out[0].dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t off = 0;
        for (int a = 0; a < r; a++) off += (idx[a] % in[0].dims[a]) * xs[a];
        memcpy((char *)out[0].data + (size_t)i * es, (const char *)in[0].data + (size_t)off * es,
               es);
        for (int a = r - 1; a >= 0 && ++idx[a] == out[0].dims[a]; a--) idx[a] = 0;
    }
    return AF_OK;
}

af_status afk_trilu_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    if (in[0].rank < 2 || !afk_same_shape(&in[0], &out[0]) || in[0].dtype != out[0].dtype)
        return af_err_set(err, AF_ERR_SHAPE, "trilu: needs rank >= 2 and an equal output");
    return AF_OK;
}

// x (..., N, M) -> Y: keeps j - i >= k (upper) or j - i <= k (lower), zero elsewhere
af_status afk_trilu_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    int r = in[0].rank;
    int64_t rows = in[0].dims[r - 2], cols = in[0].dims[r - 1], k = p->trilu.k;
    int64_t mats = afk_prod(&in[0], 0, r - 2);
    size_t es = af_dtype_size(in[0].dtype);
    const char *x = in[0].data;
    char *y = out[0].data;
    for (int64_t m = 0; m < mats; m++)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                size_t at = (size_t)((m * rows + i) * cols + j) * es;
                int keep = p->trilu.upper ? j - i >= k : j - i <= k;
                if (keep) memcpy(y + at, x + at, es);
                else memset(y + at, 0, es);
            }
    return AF_OK;
}

/* ---- depth/space ------------------------------------------------------------------------ */

af_status afk_d2s_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    int64_t b = p->d2s.blocksize;
    if (in[0].rank != 4 || out[0].rank != 4 || b < 1 || in[0].dtype != out[0].dtype ||
        af_tview_numel(&in[0]) != af_tview_numel(&out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "depth/space: needs 4-D tensors of equal size");
    return AF_OK;
}

/* DepthToSpace DCR: Y[n, c, h*b+i, w*b+j] = X[n, (i*b+j)*C + c, h, w]; CRD: X[n, c*b*b + i*b
 * + j, h, w]. SpaceToDepth is the inverse of DCR. The loop runs over the small (deep) side. */
static void d2s_core(const af_params *p, const af_tview *deep, const af_tview *wide, int to_wide)
{
    int64_t b = p->d2s.blocksize, N = deep->dims[0], C = wide->dims[1];
    int64_t H = deep->dims[2], W = deep->dims[3];
    size_t es = af_dtype_size(deep->dtype);
    char *dp = deep->data, *wp = wide->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < b; i++)
                for (int64_t j = 0; j < b; j++) {
                    int64_t dc = p->d2s.mode == AF_D2S_CRD ? c * b * b + i * b + j
                                                           : (i * b + j) * C + c;
                    for (int64_t h = 0; h < H; h++)
                        for (int64_t w = 0; w < W; w++) {
                            size_t d = (size_t)(((n * deep->dims[1] + dc) * H + h) * W + w) * es;
                            size_t o = (size_t)(((n * C + c) * H * b + h * b + i) * W * b +
                                                w * b + j) * es;
                            if (to_wide) memcpy(wp + o, dp + d, es);
                            else memcpy(dp + d, wp + o, es);
                        }
                }
}

// X (N, C*b*b, H, W) -> Y (N, C, H*b, W*b)
af_status afk_d2s_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    d2s_core(p, &in[0], &out[0], 1);
    return AF_OK;
}

// X (N, C, H*b, W*b) -> Y (N, C*b*b, H, W)
af_status afk_s2d_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    af_params q = *p;
    q.d2s.mode = AF_D2S_DCR;
    d2s_core(&q, &out[0], &in[0], 0);
    return AF_OK;
}

/* ---- gather_elements -------------------------------------------------------------------- */

af_status afk_gather_elements_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *d = &in[0], *ix = &in[1];
    int a = p->axis.axis, ok = d->rank == ix->rank && afk_same_shape(ix, &out[0]) &&
                                d->dtype == out[0].dtype && a >= 0 && a < d->rank &&
                                (ix->dtype == AF_DTYPE_I32 || ix->dtype == AF_DTYPE_I64);
    for (int i = 0; ok && i < d->rank; i++) ok = i == a || ix->dims[i] <= d->dims[i];
    return ok ? AF_OK : af_err_set(err, AF_ERR_SHAPE, "gather_elements: shapes do not fit");
}

// data (d...), idx (i...) -> Y (i...): Y[p] = data[p with axis a replaced by idx[p]]
af_status afk_gather_elements_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_tview *d = &in[0], *ix = &in[1];
    int r = d->rank, a = p->axis.axis;
    int64_t ds[AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, n = af_tview_numel(ix);
    afk_strides(d, ds);
    size_t es = af_dtype_size(d->dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t k = afk_get_i64(ix->dtype, ix->data, i), dim = d->dims[a];
        if (k < -dim || k >= dim)
            return af_err_set(err, AF_ERR_SHAPE, "gather_elements: index %lld out of range "
                              "for an axis of %lld", (long long)k, (long long)dim);
        if (k < 0) k += dim;
        int64_t off = 0;
        for (int t = 0; t < r; t++) off += (t == a ? k : idx[t]) * ds[t];
        memcpy((char *)out[0].data + (size_t)i * es, (const char *)d->data + (size_t)off * es, es);
        for (int t = r - 1; t >= 0 && ++idx[t] == ix->dims[t]; t--) idx[t] = 0;
    }
    return AF_OK;
}

/* ---- cumsum / lrn ----------------------------------------------------------------------- */

af_status afk_cumsum_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    af_dtype t = in[0].dtype;
    if (t != AF_DTYPE_F32 && t != AF_DTYPE_I32 && t != AF_DTYPE_I64)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "cumsum: %s is not supported",
                          af_dtype_name(t));
    int a = p->cumsum.axis;
    if (!afk_same_shape(&in[0], &out[0]) || out[0].dtype != t || a < 0 ||
        a >= (in[0].rank ? in[0].rank : 1))
        return af_err_set(err, AF_ERR_SHAPE, "cumsum: bad axis or output");
    return AF_OK;
}

// x (outer, L, inner) -> running sums along L (exclusive / reverse per params)
af_status afk_cumsum_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    int a = p->cumsum.axis, rank = in[0].rank;
    int64_t L = rank ? in[0].dims[a] : 1, outer = afk_prod(&in[0], 0, a);
    int64_t inner = rank ? afk_prod(&in[0], a + 1, rank) : 1;
    int f = in[0].dtype == AF_DTYPE_F32;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double accf = 0;
            int64_t acci = 0;
            for (int64_t s = 0; s < L; s++) {
                int64_t l = p->cumsum.reverse ? L - 1 - s : s, at = (o * L + l) * inner + i;
                double xf = f ? ((const float *)in[0].data)[at] : 0;
                int64_t xi = f ? 0 : afk_get_i64(in[0].dtype, in[0].data, at);
                if (!p->cumsum.exclusive) accf += xf, acci += xi;
                if (f) ((float *)out[0].data)[at] = (float)accf;
                else afk_set_i64(out[0].dtype, out[0].data, at, acci);
                if (p->cumsum.exclusive) accf += xf, acci += xi;
            }
        }
    return AF_OK;
}

af_status afk_lrn_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    if (p->lrn.size < 1 || in[0].rank < 2 || !afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "lrn: bad size or shapes");
    af_status st = afk_need_dtype("lrn", "X", &in[0], AF_DTYPE_F32, err);
    return st ? st : afk_need_dtype("lrn", "Y", &out[0], AF_DTYPE_F32, err);
}

// X (N, C, *) -> Y = X / (bias + alpha/size * sum_{c' in window} X[c']^2)^beta
af_status afk_lrn_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_lrn_params *l = &p->lrn;
    int64_t N = in[0].dims[0], C = in[0].dims[1], S = afk_prod(&in[0], 2, in[0].rank);
    int64_t lo = (l->size - 1) / 2, hi = l->size - 1 - lo;
    const float *x = in[0].data;
    float *y = out[0].data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t s = 0; s < S; s++) {
                double sq = 0;
                for (int64_t k = c - lo; k <= c + hi; k++)
                    if (k >= 0 && k < C) {
                        double v = x[(n * C + k) * S + s];
                        sq += v * v;
                    }
                int64_t at = (n * C + c) * S + s;
                y[at] = (float)(x[at] / pow(l->bias + l->alpha / l->size * sq, l->beta));
            }
    return AF_OK;
}

/* runtime/kernels/conv.c — CONV and CONV_TRANSPOSE (1-D, 2-D, 3-D; groups, dilations,
 * asymmetric pads) with a fused bias + activation epilogue.
 *
 * Every conv is seen as 3-D: missing leading spatial dims have size 1, kernel 1, stride 1.
 *  Conv, per batch n and group g, over tiles of T output positions:
 *    col (Cg*K, T) = im2col(x[n, g]);  y[n, g] (Mg, T) = W[g] (Mg, Cg*K) @ col
 *  1×1 stride-1 unpadded convs use x[n, g] (Cg, P) as col directly; depthwise convs
 *  (group == C == M) run a direct loop. ConvTranspose, per batch n and group g:
 *    col (Mg*K, T) = W[g]^T (Mg*K, Cg) @ x[n, g] (Cg, T);  y[n, g] += col2im(col)
 * Tiles keep the col buffer under COL_BYTES, so scratch does not grow with the image size.
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>

enum { COL_BYTES = 8 << 20, MIN_TILE = 64, TASK_TILE = 512, TASK_MBLK = 64, MIN_TASKS = 4,
       DW_CHANNELS = 4 };

typedef struct conv_geom {
    int64_t N, C, M, G;     /* batch, in channels, out channels, groups */
    int64_t Cg, Mg, K;      /* channels per group, kernel volume */
    int64_t in[3], out[3];  /* spatial sizes (D, H, W) */
    int64_t k[3], s[3], d[3], pb[3], pe[3], op[3];
    int64_t isp, osp;       /* spatial volumes */
} conv_geom;

/* Fills g from views and params. transpose: W is (C, M/G, *) instead of (M, C/G, *). */
static void geom_init(conv_geom *g, const af_conv_params *cp, const af_tview *x,
                      const af_tview *w, const af_tview *y, int transpose)
{
    int nsp = cp->nsp, off = 3 - nsp;
    g->N = x->dims[0];
    g->C = x->dims[1];
    g->M = y->dims[1];
    g->G = cp->group;
    g->Cg = g->C / g->G;
    g->Mg = g->M / g->G;
    g->K = g->isp = g->osp = 1;
    for (int i = 0; i < 3; i++) {
        int j = i - off; /* index into the param arrays, < 0 for padded dims */
        g->in[i] = j >= 0 ? x->dims[2 + j] : 1;
        g->out[i] = j >= 0 ? y->dims[2 + j] : 1;
        g->k[i] = j >= 0 ? w->dims[2 + j] : 1;
        g->s[i] = j >= 0 ? cp->stride[j] : 1;
        g->d[i] = j >= 0 ? cp->dilation[j] : 1;
        g->pb[i] = j >= 0 ? cp->pad_begin[j] : 0;
        g->pe[i] = j >= 0 ? cp->pad_end[j] : 0;
        g->op[i] = j >= 0 && transpose ? cp->out_pad[j] : 0;
        g->K *= g->k[i];
        g->isp *= g->in[i];
        g->osp *= g->out[i];
    }
}

static int is_pointwise(const conv_geom *g)
{
    for (int i = 0; i < 3; i++)
        if (g->k[i] != 1 || g->s[i] != 1 || g->pb[i] != 0 || g->pe[i] != 0) return 0;
    return 1;
}

static int is_depthwise(const conv_geom *g) { return g->G == g->C && g->G == g->M; }
static int dw_padded_geom(const conv_geom *g, int64_t *PH, int64_t *PW, int64_t *floats);

/* Fills w for image n when the conv is a 2-D 3x3 stride-1 undilated single-group conv that
 * winograd.c takes; returns 0 otherwise. Data pointers are left NULL when X/W/Y are NULL. */
static int wino_plan(const conv_geom *g, const af_conv_params *cp, afk_wino *w)
{
    memset(w, 0, sizeof *w);
    if (g->G != 1 || g->k[0] != 1 || g->in[0] != 1 || g->k[1] != 3 || g->k[2] != 3 ||
        g->s[1] != 1 || g->s[2] != 1 || g->d[1] != 1 || g->d[2] != 1 || g->pb[1] > 2 ||
        g->pb[2] > 2)
        return 0;
    w->C = g->C, w->M = g->M, w->H = g->in[1], w->W = g->in[2];
    w->OH = g->out[1], w->OW = g->out[2], w->pt = g->pb[1], w->pl = g->pb[2];
    w->act = &cp->act;
    return afk_wino_applies(w);
}

static size_t wino_scratch(const afk_wino *w)
{
    return (afk_wino_shared_floats(w) + 16 + afk_wino_thread_floats(w)) * sizeof(float);
}

/* Output positions per tile: the whole map, or fewer so that rows*T floats fit COL_BYTES. */
static int64_t tile_len(int64_t rows, int64_t positions)
{
    int64_t t = (int64_t)(COL_BYTES / sizeof(float)) / (rows > 0 ? rows : 1);
    if (t < MIN_TILE) t = MIN_TILE;
    return t < positions ? t : positions;
}

/* ---- checks --------------------------------------------------------------------------------- */

static af_status check_common(const char *op, const af_conv_params *cp, const af_tview *in,
                              int n_in, const af_tview *out, af_err *err)
{
    int nsp = cp->nsp;
    if (nsp < 1 || nsp > AF_MAX_SPATIAL)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: %d spatial dims", op, nsp);
    if (in[0].rank != nsp + 2 || in[1].rank != nsp + 2 || out[0].rank != nsp + 2)
        return af_err_set(err, AF_ERR_SHAPE, "%s: X, W and Y must have rank %d", op, nsp + 2);
    int has_b = n_in == 3 && !afk_omitted(&in[2]);
    for (int i = 0; i < 2 + has_b; i++) {
        af_status st = afk_need_dtype(op, i == 0 ? "X" : i == 1 ? "W" : "B", &in[i],
                                      AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype(op, "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (cp->group < 1 || in[0].dims[1] % cp->group || out[0].dims[1] % cp->group)
        return af_err_set(err, AF_ERR_SHAPE, "%s: group %d does not divide the channels", op,
                          cp->group);
    if (out[0].dims[0] != in[0].dims[0])
        return af_err_set(err, AF_ERR_SHAPE, "%s: batch of Y differs from X", op);
    if (has_b && (in[2].rank != 1 || in[2].dims[0] != out[0].dims[1]))
        return af_err_set(err, AF_ERR_SHAPE, "%s: B must be (%lld)", op,
                          (long long)out[0].dims[1]);
    for (int j = 0; j < nsp; j++)
        if (cp->stride[j] < 1 || cp->dilation[j] < 1 || cp->pad_begin[j] < 0 ||
            cp->pad_end[j] < 0 || cp->out_pad[j] < 0 || in[1].dims[2 + j] < 1)
            return af_err_set(err, AF_ERR_UNSUPPORTED,
                              "%s: bad stride/dilation/pad/kernel on spatial axis %d", op, j);
    if (!afk_act_valid(&cp->act))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: bad fused activation %d", op,
                          cp->act.fn);
    return AF_OK;
}

af_status afk_conv_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_conv_params *cp = &p->conv;
    af_status st = check_common("conv", cp, in, n_in, out, err);
    if (st) return st;
    conv_geom g;
    geom_init(&g, cp, &in[0], &in[1], &out[0], 0);
    if (in[1].dims[0] != g.M || in[1].dims[1] != g.Cg)
        return af_err_set(err, AF_ERR_SHAPE, "conv: W must be (%lld, %lld, ...)",
                          (long long)g.M, (long long)g.Cg);
    for (int i = 0; i < 3; i++) {
        int64_t span = g.d[i] * (g.k[i] - 1) + 1;
        int64_t want = (g.in[i] + g.pb[i] + g.pe[i] - span) / g.s[i] + 1;
        if (g.in[i] + g.pb[i] + g.pe[i] < span) want = 0;
        if (g.out[i] != want)
            return af_err_set(err, AF_ERR_SHAPE, "conv: output spatial size %lld, expected %lld",
                              (long long)g.out[i], (long long)want);
    }
    return AF_OK;
}

af_status afk_convt_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_conv_params *cp = &p->conv;
    af_status st = check_common("conv_transpose", cp, in, n_in, out, err);
    if (st) return st;
    conv_geom g;
    geom_init(&g, cp, &in[0], &in[1], &out[0], 1);
    if (in[1].dims[0] != g.C || in[1].dims[1] != g.Mg)
        return af_err_set(err, AF_ERR_SHAPE, "conv_transpose: W must be (%lld, %lld, ...)",
                          (long long)g.C, (long long)g.Mg);
    for (int i = 0; i < 3; i++) {
        int64_t want = g.s[i] * (g.in[i] - 1) + g.op[i] + g.d[i] * (g.k[i] - 1) + 1 - g.pb[i] -
                       g.pe[i];
        if (g.out[i] != want)
            return af_err_set(err, AF_ERR_SHAPE,
                              "conv_transpose: output spatial size %lld, expected %lld",
                              (long long)g.out[i], (long long)want);
    }
    return AF_OK;
}

static size_t col_bytes(int64_t rows, int64_t positions)
{
    int64_t t = tile_len(rows, positions);
    if (rows <= 0 || t <= 0) return 0;
    if ((uint64_t)rows > SIZE_MAX / sizeof(float) / (uint64_t)t) return SIZE_MAX;
    return (size_t)rows * (size_t)t * sizeof(float);
}

size_t afk_conv_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    const af_conv_params *cp = &p->conv;
    if (cp->nsp < 1 || cp->nsp > 3 || in[0].rank != cp->nsp + 2 || in[1].rank != cp->nsp + 2 ||
        out[0].rank != cp->nsp + 2 || cp->group < 1)
        return 0;
    conv_geom g;
    geom_init(&g, cp, &in[0], &in[1], &out[0], 0);
    int64_t ph, pw, floats;
    if (is_depthwise(&g)) return dw_padded_geom(&g, &ph, &pw, &floats) ? (size_t)floats * 4 : 0;
    if (is_pointwise(&g)) return 0;
    afk_wino w;
    size_t col = col_bytes(g.Cg * g.K, g.osp);
    if (wino_plan(&g, cp, &w) && wino_scratch(&w) > col) return wino_scratch(&w);
    return col;
}

size_t afk_convt_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    const af_conv_params *cp = &p->conv;
    if (cp->nsp < 1 || cp->nsp > 3 || in[0].rank != cp->nsp + 2 || in[1].rank != cp->nsp + 2 ||
        out[0].rank != cp->nsp + 2 || cp->group < 1)
        return 0;
    conv_geom g;
    geom_init(&g, cp, &in[0], &in[1], &out[0], 1);
    return col_bytes(g.Mg * g.K, g.isp);
}

/* ---- conv ------------------------------------------------------------------------------------ */

/* Valid output columns of kernel column kw: iw = ow*s + off with off = kw*d - pb lies in
 * [0, W) exactly for ow in [lo, hi] (hi < lo when none). */
typedef struct kw_span {
    int64_t off, lo, hi;
} kw_span;

static kw_span kw_span_of(const conv_geom *g, int64_t kw)
{
    const int64_t s = g->s[2], W = g->in[2];
    kw_span k;
    k.off = kw * g->d[2] - g->pb[2];
    k.lo = k.off >= 0 ? 0 : (-k.off + s - 1) / s;
    k.hi = W - 1 - k.off < 0 ? -1 : (W - 1 - k.off) / s;
    return k;
}

/* dst[r] = row[(ow0 + r)*s + off] for r in [0, run), 0 outside the row: zero edges, then a
 * branch-free copy of the valid middle. */
static void im2col_row(const kw_span *k, int64_t s, const float *row, int64_t ow0, int64_t run,
                       float *dst)
{
    int64_t a = k->lo - ow0, b = k->hi + 1 - ow0; /* valid r in [a, b) */
    if (a < 0) a = 0;
    if (b > run) b = run;
    if (b < a) b = a;
    if (a > 0) memset(dst, 0, (size_t)a * sizeof *dst);
    if (b < run) memset(dst + b, 0, (size_t)(run - b) * sizeof *dst);
    const float *src = row + (ow0 + a) * s + k->off;
    if (s == 1)
        memcpy(dst + a, src, (size_t)(b - a) * sizeof *dst);
    else
        for (int64_t r = 0; r < b - a; r++) dst[a + r] = src[r * s];
}

enum { KW_CACHE = 16 };

/* col (Cg*K, T) for output positions [p0, p0+T) of one image-group x (Cg, D, H, W). */
static void im2col(const conv_geom *g, const float *x, int64_t p0, int64_t T, float *col)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    kw_span spans[KW_CACHE]; /* the divisions, once per call */
    for (int64_t kw = 0; kw < g->k[2] && kw < KW_CACHE; kw++) spans[kw] = kw_span_of(g, kw);
    const int64_t od0 = p0 / (OH * OW), oh0 = (p0 / OW) % OH, ow0 = p0 % OW;
    float *dst = col;
    for (int64_t c = 0; c < g->Cg; c++) {
        const float *xc = x + c * g->isp;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, dst += T) {
                    kw_span far = kw < KW_CACHE ? spans[0] : kw_span_of(g, kw);
                    const kw_span *k = kw < KW_CACHE ? &spans[kw] : &far;
                    int64_t od = od0, oh = oh0, ow = ow0;
                    for (int64_t t = 0; t < T;) {
                        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        int64_t run = OW - ow < T - t ? OW - ow : T - t; /* rest of this row */
                        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1])
                            memset(dst + t, 0, (size_t)run * sizeof *dst);
                        else
                            im2col_row(k, g->s[2], xc + (id * g->in[1] + ih) * g->in[2], ow,
                                       run, dst + t);
                        t += run;
                        ow = 0;
                        if (++oh == OH) oh = 0, od++;
                    }
                }
    }
}

/* Output columns [lo, hi) whose whole kernel row lies inside the input (no bounds checks). */
static void interior_cols(const conv_geom *g, int64_t *lo, int64_t *hi)
{
    int64_t s = g->s[2], span = g->d[2] * (g->k[2] - 1);
    *lo = (g->pb[2] + s - 1) / s;
    *hi = g->in[2] - 1 - span + g->pb[2] < 0 ? 0 : (g->in[2] - 1 - span + g->pb[2]) / s + 1;
    if (*hi > g->out[2]) *hi = g->out[2];
    if (*lo > *hi) *lo = *hi;
}

/* One output row of a 2-D depthwise conv, columns [lo, hi) all interior:
 *  y[ow] = sum over (kh, kw) of x[ih(kh), ow*s - pb + kw*d] * w[kh, kw]. */
static void dw_row_interior(const conv_geom *g, const float *x, const float *w, int64_t oh, int64_t lo,
                int64_t hi, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2];
    for (int64_t ow = lo; ow < hi; ow++) y[ow] = 0.0f;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        if (ih < 0 || ih >= g->in[1]) continue;
        const float *row = x + ih * g->in[2] - g->pb[2];
        for (int64_t kw = 0; kw < KW; kw++) {
            const float wk = w[kh * KW + kw], *r = row + kw * d;
            if (s == 1)
                for (int64_t ow = lo; ow < hi; ow++) y[ow] += r[ow] * wk;
            else
                for (int64_t ow = lo; ow < hi; ow++) y[ow] += r[ow * s] * wk;
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* 8 floats x[0], x[s], ..., x[7s] for s = 1 or 2 (s = 2 reads x[0..15]). */
__attribute__((target("avx2"))) static inline __m256 load_strided8(const float *x, int64_t s)
{
    if (s == 1) return _mm256_loadu_ps(x);
    __m256 a = _mm256_loadu_ps(x), b = _mm256_loadu_ps(x + 8);
    __m256 ev = _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); /* a0 a2 b0 b2 a4 a6 b4 b6 */
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* dw_row_interior with 8 outputs in a register: the same products added in the same (kh, kw)
 * order, with separate multiply and add, so the bits equal the reference loop's. Stride 1 or
 * 2, at most 16 kernel rows; returns the first column it did not compute. */
__attribute__((target("avx2"))) static int64_t dw_row_avx2(const conv_geom *g, const float *x,
                                                          const float *w, int64_t oh,
                                                          int64_t lo, int64_t hi, float *y)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], W = g->in[2], off = -g->pb[2];
    const float *rows[16], *wr[16];
    int nr = 0;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        if (ih < 0 || ih >= g->in[1]) continue;
        rows[nr] = x + ih * W + off;
        wr[nr++] = w + kh * KW;
    }
    int64_t ow = lo;
    /* the last block's furthest read, x[(ow+7)s + (s-1) + (KW-1)d + off], must be < W */
    for (; ow + 8 <= hi && (ow + 7) * s + (s - 1) + (KW - 1) * d + off < W; ow += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int r = 0; r < nr; r++)
            for (int64_t kw = 0; kw < KW; kw++)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(load_strided8(rows[r] + ow * s + kw * d, s),
                                                       _mm256_set1_ps(wr[r][kw])));
        _mm256_storeu_ps(y + ow, acc);
    }
    return ow;
}

/* Depthwise on a zero-padded copy of the plane: every output column takes the AVX2 path (the
 * padding adds exact zero products, as ONNX Runtime's im2col does). */
/* The epilogue of one channel, fused: kind AFK_ACT_* (then bias and act are applied here, the
 * same operations as vec.c's bias_act) or -1 (the caller applies them). */
typedef struct dw_epi {
    int kind;
    float bias, lo, hi;
} dw_epi;

__attribute__((target("avx2"))) static __m256 dw_finish(__m256 v, const dw_epi *e)
{
    if (e->kind < 0) return v;
    v = _mm256_add_ps(v, _mm256_set1_ps(e->bias));
    if (e->kind == AFK_ACT_RELU) {
        __m256 z = _mm256_setzero_ps();
        v = _mm256_blendv_ps(v, z, _mm256_cmp_ps(v, z, _CMP_LT_OQ));
    } else if (e->kind == AFK_ACT_CLIP) {
        __m256 lo = _mm256_set1_ps(e->lo), hi = _mm256_set1_ps(e->hi);
        __m256 below = _mm256_cmp_ps(v, lo, _CMP_LT_OQ);
        v = _mm256_blendv_ps(v, hi, _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
        v = _mm256_blendv_ps(v, lo, below);
    }
    return v;
}

/* fresh: the padding border of pad must be (re)written; otherwise it still holds zeros from
 * the previous channel of the same task and only the data rows are copied. */
__attribute__((target("avx2"))) static void dw_padded_avx2(const conv_geom *g, const float *x,
                                                          const float *w, float *y, float *pad,
                                                          int64_t PH, int64_t PW, float *rowbuf,
                                                          int fresh, const dw_epi *e)
{
    const int64_t s = g->s[2], d = g->d[2], KW = g->k[2], OW = g->out[2];
    const int64_t top = g->pb[1], left = g->pb[2], right = PW - left - g->in[2];
    if (fresh) {
        memset(pad, 0, (size_t)(top * PW) * sizeof *pad);
        memset(pad + (top + g->in[1]) * PW, 0, (size_t)((PH - top - g->in[1]) * PW) * sizeof *pad);
    }
    for (int64_t ih = 0; ih < g->in[1]; ih++) {
        float *row = pad + (ih + top) * PW;
        if (fresh) {
            memset(row, 0, (size_t)left * sizeof *row);
            memset(row + left + g->in[2], 0, (size_t)right * sizeof *row);
        }
        memcpy(row + left, x + ih * g->in[2], (size_t)g->in[2] * sizeof *pad);
    }
    for (int64_t oh = 0; oh < g->out[1]; oh++) {
        const float *rows[16];
        for (int64_t kh = 0; kh < g->k[1]; kh++)
            rows[kh] = pad + (oh * g->s[1] + kh * g->d[1]) * PW;
        for (int64_t ow = 0; ow < OW; ow += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < KW; kw++)
                    acc = _mm256_add_ps(acc, _mm256_mul_ps(load_strided8(rows[kh] + ow * s + kw * d, s),
                                                           _mm256_set1_ps(w[kh * KW + kw])));
            acc = dw_finish(acc, e);
            if (ow + 8 <= OW) {
                _mm256_storeu_ps(y + oh * OW + ow, acc);
            } else { /* the row's last, partial block */
                _mm256_storeu_ps(rowbuf, acc);
                memcpy(y + oh * OW + ow, rowbuf, (size_t)(OW - ow) * sizeof *y);
            }
        }
    }
}
#endif

/* Padded-plane depthwise: 2-D, stride 1 or 2 along W, <= 16 kernel rows, and a padded plane
 * below 2^28 floats. Fills its height, width and the scratch floats it needs. */
static int dw_padded_geom(const conv_geom *g, int64_t *PH, int64_t *PW, int64_t *floats)
{
    if (g->k[0] != 1 || g->in[0] != 1 || g->out[0] != 1 || (g->s[2] != 1 && g->s[2] != 2) ||
        g->k[1] > 16 || g->out[2] < 1)
        return 0;
    const int64_t lim = (int64_t)1 << 28;
    if (g->in[1] > lim || g->in[2] > lim || g->pb[1] + g->pe[1] > lim || g->pb[2] + g->pe[2] > lim ||
        g->out[2] > lim || g->k[2] > lim || g->d[2] > lim)
        return 0;
    int64_t ow8 = (g->out[2] + 7) / 8 * 8;
    int64_t need = ow8 * g->s[2] + (g->k[2] - 1) * g->d[2] + 1; /* the last block's reads */
    *PH = g->in[1] + g->pb[1] + g->pe[1];
    *PW = g->in[2] + g->pb[2] + g->pe[2];
    if (need > *PW) *PW = need;
    if (*PH > lim / *PW) return 0;
    *floats = *PH * *PW + ow8;
    return 1;
}

/* Interior columns [lo, hi) of one output row: AVX2 blocks where they apply, then the
 * reference loop for the rest. */
static void dw_row_fast(const conv_geom *g, const float *x, const float *w, int64_t oh,
                        int64_t lo, int64_t hi, float *y)
{
#if defined(__x86_64__) || defined(__i386__)
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx2") ? 1 : 0;
    if (have && !afk_vec_force_portable && (g->s[2] == 1 || g->s[2] == 2) && g->k[1] <= 16)
        lo = dw_row_avx2(g, x, w, oh, lo, hi, y);
#endif
    if (hi > lo) dw_row_interior(g, x, w, oh, lo, hi, y);
}

/* y (OD, OH, OW) = sum over the kernel of x (D, H, W) * w (K), one channel. */
static void depthwise_channel(const conv_geom *g, const float *x, const float *w, float *y)
{
    int64_t lo = 0, hi = 0;
    if (g->k[0] == 1 && g->in[0] == 1 && g->out[0] == 1) interior_cols(g, &lo, &hi);
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++) {
            if (hi > lo) dw_row_fast(g, x, w, oh, lo, hi, y + oh * g->out[2]);
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
                if (ow >= lo && ow < hi) continue;
                float s = 0.0f;
                const float *wk = w;
                for (int64_t kd = 0; kd < g->k[0]; kd++) {
                    int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                    int okd = id >= 0 && id < g->in[0];
                    for (int64_t kh = 0; kh < g->k[1]; kh++) {
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        int ok = okd && ih >= 0 && ih < g->in[1];
                        const float *row = ok ? x + (id * g->in[1] + ih) * g->in[2] : x;
                        for (int64_t kw = 0; kw < g->k[2]; kw++, wk++) {
                            int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                            if (ok && iw >= 0 && iw < g->in[2]) s += row[iw] * *wk;
                        }
                    }
                }
                y[(od * g->out[1] + oh) * g->out[2] + ow] = s;
            }
        }
}

/* y (M, P) += bias (M) per row, then act. */
static void epilogue(const af_unary_params *act, const float *bias, float *y, int64_t M,
                     int64_t P)
{
    for (int64_t m = 0; m < M; m++) {
        float *row = y + m * P;
        if (bias)
            for (int64_t i = 0; i < P; i++) row[i] += bias[m];
        afk_act_apply(act, row, P);
    }
}

/* The conv as independent tasks. Task boundaries depend only on the shapes (never on the
 * thread count), and each task computes its outputs alone, so results are bit-identical for
 * any number of threads. GEMM convs: one task per (image, group, row block of Mg, tile of T
 * output positions); rows are split (TASK_MBLK) only when tiles alone give < MIN_TASKS tasks.
 * Depthwise convs: one task per DW_CHANNELS channels of one image. */
typedef struct conv_job {
    conv_geom g;
    const af_conv_params *cp;
    const float *X, *W, *B;
    float *Y;
    uint8_t *scratch;
    size_t slice;             /* per-thread scratch bytes */
    int pointwise, depthwise;
    int64_t rows, T, n_tiles, mb, n_mblk;
} conv_job;

/* y rows [m0, m0+mc) of group gi, positions [p0, p0+t): += bias, then act. */
static void conv_epilogue(const conv_job *j, int64_t gi, int64_t m0, int64_t mc, float *y,
                          int64_t p0, int64_t t)
{
    int kind = afk_act_kind(&j->cp->act);
    for (int64_t m = 0; m < mc; m++) {
        float *row = y + m * j->g.osp + p0;
        if (kind >= 0) { /* vec.c: the same bits as the loop below, vectorised */
            afk_vec_bias_act(row, t, j->B ? j->B[gi * j->g.Mg + m0 + m] : 0.0f, kind,
                             j->cp->act.alpha, j->cp->act.beta);
            continue;
        }
        if (j->B) {
            float bm = j->B[gi * j->g.Mg + m0 + m];
            for (int64_t i = 0; i < t; i++) row[i] += bm;
        }
        afk_act_apply(&j->cp->act, row, t);
    }
}

static int have_avx2(void)
{
#if defined(__x86_64__) || defined(__i386__)
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("avx2") ? 1 : 0;
    return have && !afk_vec_force_portable;
#else
    return 0;
#endif
}

static void conv_dw_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t per_img = (g->C + DW_CHANNELS - 1) / DW_CHANNELS, n = task / per_img;
    int64_t c0 = task % per_img * DW_CHANNELS, PH, PW, floats;
    int padded = j->scratch && have_avx2() && dw_padded_geom(g, &PH, &PW, &floats);
    float *pad = padded ? (float *)(j->scratch + (size_t)tid * j->slice) : NULL;
    int kind = afk_act_kind(&j->cp->act);
    for (int64_t c = c0; c < c0 + DW_CHANNELS && c < g->C; c++) {
        float *y = j->Y + (n * g->M + c) * g->osp;
        const float *x = j->X + (n * g->C + c) * g->isp, *w = j->W + c * g->K;
#if defined(__x86_64__) || defined(__i386__)
        if (padded) {
            dw_epi e = {kind, j->B ? j->B[c] : 0.0f, j->cp->act.alpha, j->cp->act.beta};
            dw_padded_avx2(g, x, w, y, pad, PH, PW, pad + PH * PW, c == c0, &e);
            if (kind >= 0) continue; /* epilogue fused */
        } else
#endif
            depthwise_channel(g, x, w, y);
        conv_epilogue(j, c, 0, 1, y, 0, g->osp);
    }
}

static void conv_gemm_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t tile = task % j->n_tiles, r = task / j->n_tiles;
    int64_t mbi = r % j->n_mblk, ng = r / j->n_mblk, gi = ng % g->G, n = ng / g->G;
    int64_t p0 = tile * j->T, t = g->osp - p0 < j->T ? g->osp - p0 : j->T;
    int64_t m0 = mbi * j->mb, mc = g->Mg - m0 < j->mb ? g->Mg - m0 : j->mb;
    const float *xg = j->X + (n * g->C + gi * g->Cg) * g->isp;
    const float *wg = j->W + (gi * g->Mg + m0) * j->rows;
    float *yg = j->Y + (n * g->M + gi * g->Mg) * g->osp;
    if (j->pointwise) {
        afk_sgemm(0, 0, mc, t, g->Cg, 1.0f, wg, g->Cg, xg + p0, g->isp, 0.0f,
                  yg + m0 * g->osp + p0, g->osp);
    } else {
        float *col = (float *)(j->scratch + (size_t)tid * j->slice);
        im2col(g, xg, p0, t, col);
        afk_sgemm(0, 0, mc, t, j->rows, 1.0f, wg, j->rows, col, t, 0.0f, yg + m0 * g->osp + p0,
                  g->osp);
    }
    conv_epilogue(j, gi, m0, mc, yg + m0 * g->osp, p0, t);
}

/* Positions per GEMM task: TASK_TILE, within the col buffer bound of tile_len. */
static int64_t task_tile(int64_t rows, int64_t positions)
{
    int64_t t = tile_len(rows, positions);
    return t > TASK_TILE ? TASK_TILE : t;
}

// X (N,C,*) ⊛ W (M,C/g,*) + B (M) -> Y (N,M,*)
af_status afk_conv_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    conv_job j = {.cp = &p->conv, .X = in[0].data, .W = in[1].data, .Y = out[0].data};
    geom_init(&j.g, &p->conv, &in[0], &in[1], &out[0], 0);
    const conv_geom *g = &j.g;
    j.B = n_in > 2 ? in[2].data : NULL;
    int nt = ctx && ctx->n_threads > 0 ? ctx->n_threads : 1;
    j.scratch = ctx ? ctx->scratch : NULL;
    j.slice = ctx && ctx->pool ? ctx->scratch_bytes / (size_t)nt : 0;
    j.pointwise = is_pointwise(g);
    j.depthwise = is_depthwise(g);
    if (j.depthwise) {
        afk_parallel(ctx, g->N * ((g->C + DW_CHANNELS - 1) / DW_CHANNELS), conv_dw_task, &j);
        return AF_OK;
    }
    afk_wino w;
    if (ctx && ctx->scratch && wino_plan(g, &p->conv, &w) &&
        ctx->scratch_bytes >= wino_scratch(&w) + (size_t)(nt - 1) * afk_wino_thread_floats(&w) * 4) {
        /* U shared at the start; then one slice per thread (the runtime gives n_threads
         * times the single-thread size, which covers shared + n_threads * per-thread) */
        w.U = ctx->scratch;
        w.thread_scratch = w.U + (afk_wino_shared_floats(&w) + 15) / 16 * 16;
        w.w = j.W, w.bias = j.B;
        for (int64_t n = 0; n < g->N; n++) {
            w.x = j.X + n * g->C * g->isp;
            w.y = j.Y + n * g->M * g->osp;
            afk_wino_run(&w, ctx);
        }
        return AF_OK;
    }
    j.rows = g->Cg * g->K;
    j.T = task_tile(j.pointwise ? 1 : j.rows, g->osp);
    j.n_tiles = g->osp > 0 ? (g->osp + j.T - 1) / j.T : 0;
    j.mb = g->Mg;
    if (g->N * g->G * j.n_tiles < MIN_TASKS && g->Mg > TASK_MBLK) j.mb = TASK_MBLK;
    j.n_mblk = j.mb > 0 ? (g->Mg + j.mb - 1) / j.mb : 0;
    afk_parallel(ctx, g->N * g->G * j.n_mblk * j.n_tiles, conv_gemm_task, &j);
    return AF_OK;
}

/* ---- conv transpose ------------------------------------------------------------------------- */

/* y (Mg, OD, OH, OW) += col (Mg*K, T) scattered from input positions [p0, p0+T). */
static void col2im(const conv_geom *g, const float *col, int64_t p0, int64_t T, float *y)
{
    const int64_t IH = g->in[1], IW = g->in[2];
    const float *src = col;
    for (int64_t m = 0; m < g->Mg; m++) {
        float *ym = y + m * g->osp;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, src += T) {
                    for (int64_t t = 0; t < T; t++) {
                        int64_t pi = p0 + t;
                        int64_t id = pi / (IH * IW), ih = (pi / IW) % IH, iw = pi % IW;
                        int64_t od = id * g->s[0] - g->pb[0] + kd * g->d[0];
                        int64_t oh = ih * g->s[1] - g->pb[1] + kh * g->d[1];
                        int64_t ow = iw * g->s[2] - g->pb[2] + kw * g->d[2];
                        if (od < 0 || od >= g->out[0] || oh < 0 || oh >= g->out[1] || ow < 0 ||
                            ow >= g->out[2])
                            continue;
                        ym[(od * g->out[1] + oh) * g->out[2] + ow] += src[t];
                    }
                }
    }
}

// X (N,C,*) ⊛ᵀ W (C,M/g,*) + B (M) -> Y (N,M,*)
af_status afk_convt_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    conv_geom g;
    geom_init(&g, &p->conv, &in[0], &in[1], &out[0], 1);
    const float *X = in[0].data, *W = in[1].data;
    const float *B = n_in > 2 ? in[2].data : NULL;
    float *Y = out[0].data, *col = ctx ? ctx->scratch : NULL;
    int64_t rows = g.Mg * g.K, T = tile_len(rows, g.isp);
    memset(Y, 0, (size_t)(g.N * g.M * g.osp) * sizeof *Y);
    for (int64_t n = 0; n < g.N; n++) {
        float *yn = Y + n * g.M * g.osp;
        for (int64_t gi = 0; gi < g.G; gi++) {
            const float *xg = X + (n * g.C + gi * g.Cg) * g.isp;
            const float *wg = W + gi * g.Cg * rows; /* (Cg, Mg*K) */
            for (int64_t p0 = 0; p0 < g.isp; p0 += T) {
                int64_t t = g.isp - p0 < T ? g.isp - p0 : T;
                afk_sgemm(1, 0, rows, t, g.Cg, 1.0f, wg, rows, xg + p0, g.isp, 0.0f, col, t);
                col2im(&g, col, p0, t, yn + gi * g.Mg * g.osp);
            }
        }
        epilogue(&p->conv.act, B, yn, g.M, g.osp);
    }
    return AF_OK;
}

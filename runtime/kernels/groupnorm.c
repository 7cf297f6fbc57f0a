/* runtime/kernels/groupnorm.c — INSTANCE_NORM, GROUP_NORM and LAYER_NORM.
 *
 * All three normalise contiguous blocks of the input: y = (x - mean) / sqrt(var + eps), then a
 * per-channel (or per-element for LayerNorm) scale and bias, then the fused epilogue act.
 *   instance_norm  x (N,C,*)  one block per (n,c), scale/bias (C)
 *   group_norm     x (N,C,*)  one block per (n,g) = C/G channels × spatial, scale/bias (C), or
 *                             (G) as in ONNX GroupNormalization-18 (one value per group)
 *   layer_norm     x (...)    one block per index of dims [0, axis), scale/bias over the rest;
 *                             optional outputs Mean and InvStdDev (1/sqrt(var + eps)) per block
 * Statistics are computed in two passes over the block (mean, then the sum of squared
 * deviations: no cancellation), each pass tiled: f32 partial sums over a tile of AFK_NORM_TILE
 * elements (16 interleaved lanes), tiles combined in f64. Nothing is allocated: a 512×128×128
 * group is read twice and written once in place of the output, with no temporary of its size.
 * Blocks are independent, so they are spread over the session's threads (a block's arithmetic
 * never depends on which thread runs it). On AArch64 the tile loops and the affine rows run on
 * NEON (norm_neon.c) with these loops' bits.
 */
#include "internal.h"
#include "neon.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <math.h>

#define AFK_NORM_TILE 1024

/* ---- statistics ---- */

/* Sums over a tile keep AFK_NORM_LANES interleaved f32 partial sums (element i goes to lane
 * i % AFK_NORM_LANES), added lane by lane at the end: a fixed order, so the same bits on every
 * ISA and thread count, that the compiler can keep in vector registers. */
enum { AFK_NORM_LANES = 16 };

static double lanes_total(const float *s)
{
    float t = 0.0f;
    for (int l = 0; l < AFK_NORM_LANES; l++) t += s[l];
    return t;
}

#if defined(__x86_64__) || defined(__i386__)
/* The loops below on AVX-512 (GCC does not vectorise them at -O2): the same lane sums, mul and
 * add rounded apart (this file has no FMA contraction), so their bits. Each returns the
 * elements it covered (0 without AVX-512). */
#define AFK_NORM_X512 1
#define TGTN __attribute__((target("avx512f")))

TGTN static int64_t lane_sums512(const float *x, int64_t n, float *s)
{
    __m512 a = _mm512_loadu_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) a = _mm512_add_ps(a, _mm512_loadu_ps(x + i));
    _mm512_storeu_ps(s, a);
    return i;
}

TGTN static int64_t lane_sqdev512(const float *x, int64_t n, float mean, float *s)
{
    const __m512 m = _mm512_set1_ps(mean);
    __m512 a = _mm512_loadu_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + i), m);
        a = _mm512_add_ps(a, _mm512_mul_ps(d, d));
    }
    _mm512_storeu_ps(s, a);
    return i;
}

/* y = (x - mean) * rstd [* scale] [+ bias] (scale, bias may be NULL), 16 lanes, tail masked. */
TGTN static void ln_row512(const float *x, float *y, int64_t n, float mean, float rstd,
                           const float *scale, const float *bias)
{
    const __m512 m = _mm512_set1_ps(mean), r = _mm512_set1_ps(rstd);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), m), r);
        if (scale) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(k, scale + i));
        if (bias) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(k, bias + i));
        _mm512_mask_storeu_ps(y + i, k, v);
    }
}

#endif

static double tile_sum(const float *x, int64_t n)
{
    float s[AFK_NORM_LANES] = {0};
    int64_t i = 0;
#ifdef AFK_NORM_X512
    if (afk_vec_have512()) i = lane_sums512(x, n, s);
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) i = afk_neon_lane_sums16(x, n, s);
#endif
    for (; i + AFK_NORM_LANES <= n; i += AFK_NORM_LANES)
        for (int l = 0; l < AFK_NORM_LANES; l++) s[l] += x[i + l];
    for (int l = 0; i < n; i++, l++) s[l] += x[i];
    return lanes_total(s);
}

static double tile_sqdev(const float *x, int64_t n, float mean)
{
    float s[AFK_NORM_LANES] = {0};
    int64_t i = 0;
#ifdef AFK_NORM_X512
    if (afk_vec_have512()) i = lane_sqdev512(x, n, mean, s);
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) i = afk_neon_lane_sqdev16(x, n, mean, s);
#endif
    for (; i + AFK_NORM_LANES <= n; i += AFK_NORM_LANES)
        for (int l = 0; l < AFK_NORM_LANES; l++) {
            float d = x[i + l] - mean;
            s[l] += d * d;
        }
    for (int l = 0; i < n; i++, l++) {
        float d = x[i] - mean;
        s[l] += d * d;
    }
    return lanes_total(s);
}

/* Mean and 1/sqrt(var + eps) of n contiguous floats. */
static void block_stats(const float *x, int64_t n, float eps, float *mean, float *rstd)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i += AFK_NORM_TILE)
        s += tile_sum(x + i, n - i < AFK_NORM_TILE ? n - i : AFK_NORM_TILE);
    float m = n ? (float)(s / (double)n) : 0.0f;
    double v = 0.0;
    for (int64_t i = 0; i < n; i += AFK_NORM_TILE)
        v += tile_sqdev(x + i, n - i < AFK_NORM_TILE ? n - i : AFK_NORM_TILE, m);
    *mean = m;
    *rstd = (float)(1.0 / sqrt((n ? v / (double)n : 0.0) + (double)eps));
}

/* y = act((x - mean) * rstd * a + b) over n floats, tiled so the epilogue stays in cache. */
static void norm_span(const float *x, float *y, int64_t n, float mean, float rstd, float a,
                      float b, const af_unary_params *act)
{
    float k = rstd * a, c = b - mean * rstd * a;
    for (int64_t i = 0; i < n; i += AFK_NORM_TILE) {
        int64_t m = n - i < AFK_NORM_TILE ? n - i : AFK_NORM_TILE, j = 0;
#ifdef AFK_NORM_X512
        if (afk_vec_affine512(x + i, y + i, m, k, c)) j = m;
#endif
#ifdef AFK_NEON
        if (afk_neon_on()) j = afk_neon_scale_shift(x + i, y + i, m, k, c);
#endif
        for (; j < m; j++) y[i + j] = x[i + j] * k + c;
        afk_act_apply(act, y + i, m);
    }
}

/* ---- checks ---- */

static af_status check_common(const char *op, const af_params *p, const af_tview *in, int n_in,
                              const af_tview *out, af_err *err)
{
    static const char *const names[3] = {"X", "scale", "bias"};
    for (int i = 0; i < n_in; i++) {
        if (afk_omitted(&in[i])) continue;
        af_status st = afk_need_dtype(op, names[i], &in[i], AF_DTYPE_F32, err);
        if (st) return st;
    }
    af_status st = afk_need_dtype(op, "Y", &out[0], AF_DTYPE_F32, err);
    if (st) return st;
    if (!afk_same_shape(&in[0], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "%s: Y must have the shape of X", op);
    if (!afk_act_valid(&p->norm.act))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: bad fused activation %d", op,
                          p->norm.act.fn);
    if (!(p->norm.eps >= 0.0f))
        return af_err_set(err, AF_ERR_SHAPE, "%s: epsilon must be >= 0", op);
    return AF_OK;
}

/* scale and bias each hold one of the allowed element counts (a or b). */
static af_status check_affine(const char *op, const af_tview *in, int n_in, int64_t a, int64_t b,
                              af_err *err)
{
    for (int i = 1; i < n_in && i < 3; i++) {
        if (afk_omitted(&in[i])) continue;
        int64_t n = af_tview_numel(&in[i]);
        if (n != a && n != b)
            return af_err_set(err, AF_ERR_SHAPE, "%s: %s has %lld elements, expected %lld", op,
                              i == 1 ? "scale" : "bias", (long long)n, (long long)a);
    }
    return AF_OK;
}

af_status afk_instance_norm_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    af_status st = check_common("instance_norm", p, in, n_in, out, err);
    if (st) return st;
    if (in[0].rank < 2)
        return af_err_set(err, AF_ERR_SHAPE, "instance_norm: X must be (N,C,...)");
    return check_affine("instance_norm", in, n_in, in[0].dims[1], in[0].dims[1], err);
}

af_status afk_group_norm_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    af_status st = check_common("group_norm", p, in, n_in, out, err);
    if (st) return st;
    int64_t G = p->norm.num_groups;
    if (in[0].rank < 2)
        return af_err_set(err, AF_ERR_SHAPE, "group_norm: X must be (N,C,...)");
    if (G < 1 || in[0].dims[1] % G)
        return af_err_set(err, AF_ERR_SHAPE, "group_norm: %lld channels do not split into %lld "
                          "groups", (long long)in[0].dims[1], (long long)G);
    return check_affine("group_norm", in, n_in, in[0].dims[1], G, err);
}

af_status afk_layer_norm_check(AFK_CHECK_ARGS)
{
    static const char *const stat_names[3] = {"Y", "Mean", "InvStdDev"};
    af_status st = check_common("layer_norm", p, in, n_in, out, err);
    if (st) return st;
    int axis = p->norm.axis, r = in[0].rank;
    if (axis < 0 || axis >= r)
        return af_err_set(err, AF_ERR_SHAPE, "layer_norm: axis %d out of range for rank %d",
                          axis, r);
    int64_t inner = afk_prod(&in[0], axis, r), outer = afk_prod(&in[0], 0, axis);
    for (int k = 1; k < n_out && k < 3; k++) { /* one statistic per normalised row */
        st = afk_need_dtype("layer_norm", stat_names[k], &out[k], AF_DTYPE_F32, err);
        if (st) return st;
        if (af_tview_numel(&out[k]) != outer)
            return af_err_set(err, AF_ERR_SHAPE, "layer_norm: %s has %lld elements, expected "
                              "%lld", stat_names[k], (long long)af_tview_numel(&out[k]),
                              (long long)outer);
    }
    return check_affine("layer_norm", in, n_in, inner, inner, err);
}

/* ---- runs ---- */

static const float *opt_data(const af_tview *in, int n_in, int k)
{
    return k < n_in && !afk_omitted(&in[k]) ? in[k].data : NULL;
}

typedef struct gn_job {
    const float *x, *scale, *bias;
    float *y;
    int64_t C, G, S, n_scale, n_bias;
    const af_norm_params *np;
} gn_job;

/* Block t = (n, g): its C/G channels × S floats normalised with the block's statistics. */
static void gn_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const gn_job *j = arg;
    int64_t n = t / j->G, g = t % j->G, cg = j->C / j->G, S = j->S;
    const float *xb = j->x + (n * j->C + g * cg) * S;
    float mean, rstd;
    block_stats(xb, cg * S, j->np->eps, &mean, &rstd);
    for (int64_t k = 0; k < cg; k++) {
        int64_t c = g * cg + k;
        float a = j->scale ? j->scale[j->n_scale == j->C ? c : g] : 1.0f;
        float b = j->bias ? j->bias[j->n_bias == j->C ? c : g] : 0.0f;
        norm_span(xb + k * S, j->y + (n * j->C + c) * S, S, mean, rstd, a, b, &j->np->act);
    }
}

/* x (N,C,S) normalised per (n, group of C/G channels); scale/bias per channel or per group. */
static void group_norm_f32(const af_kctx *ctx, const af_tview *x, float *y, int64_t G,
                           const float *scale, int64_t n_scale, const float *bias,
                           int64_t n_bias, const af_norm_params *np)
{
    gn_job j = {x->data, scale, bias, y, x->dims[1], G, afk_prod(x, 2, x->rank), n_scale,
                n_bias, np};
    afk_parallel(ctx, x->dims[0] * G, gn_task, &j);
}

// X (N,C,*) -> Y (N,C,*), statistics per (n,c)
af_status afk_instance_norm_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    int64_t C = in[0].dims[1];
    group_norm_f32(ctx, &in[0], out[0].data, C, opt_data(in, n_in, 1), C, opt_data(in, n_in, 2), C,
                   &p->norm);
    return AF_OK;
}

// X (N,C,*) -> Y (N,C,*), statistics per (n, group)
af_status afk_group_norm_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    const float *s = opt_data(in, n_in, 1), *b = opt_data(in, n_in, 2);
    group_norm_f32(ctx, &in[0], out[0].data, p->norm.num_groups, s, s ? af_tview_numel(&in[1]) : 0,
                   b, b ? af_tview_numel(&in[2]) : 0, &p->norm);
    return AF_OK;
}

typedef struct ln_job {
    const float *x, *scale, *bias;
    float *y, *mean_out, *rstd_out;
    int64_t inner, rows; /* floats per row; rows per task */
    int64_t outer;
    const af_norm_params *np;
} ln_job;

/* y = (x - mean) * rstd * scale + bias over one row; scale and bias may be NULL. */
static void ln_row(const float *restrict x, float *restrict y, int64_t n, float mean, float rstd,
                   const float *restrict scale, const float *restrict bias)
{
#ifdef AFK_NORM_X512
    if (afk_vec_have512()) {
        ln_row512(x, y, n, mean, rstd, scale, bias);
        return;
    }
#endif
#ifdef AFK_NEON
    if (afk_neon_on()) { /* the vector body, then the tail below */
        int64_t i = afk_neon_ln_row(x, y, n, mean, rstd, scale, bias);
        x += i, y += i, n -= i;
        scale = scale ? scale + i : NULL, bias = bias ? bias + i : NULL;
    }
#endif
    if (scale && bias)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * scale[i] + bias[i];
    else if (scale)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd * scale[i];
    else if (bias)
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd + bias[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = (x[i] - mean) * rstd;
}

/* Rows [t*rows, (t+1)*rows): y = (x - mean) * rstd * scale + bias, then act. */
static void ln_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const ln_job *j = arg;
    const int64_t inner = j->inner, end = (t + 1) * j->rows < j->outer ? (t + 1) * j->rows
                                                                        : j->outer;
    for (int64_t o = t * j->rows; o < end; o++) {
        const float *xr = j->x + o * inner;
        float *yr = j->y + o * inner, mean, rstd;
        block_stats(xr, inner, j->np->eps, &mean, &rstd);
        if (j->mean_out) j->mean_out[o] = mean;
        if (j->rstd_out) j->rstd_out[o] = rstd;
        ln_row(xr, yr, inner, mean, rstd, j->scale, j->bias);
        afk_act_apply(&j->np->act, yr, inner);
    }
}

// X (outer, inner) -> Y (outer, inner), Mean? (outer), InvStdDev? (outer); scale/bias (inner)
af_status afk_layer_norm_run(AFK_RUN_ARGS)
{
    (void)err;
    const af_norm_params *np = &p->norm;
    ln_job j = {.x = in[0].data, .scale = opt_data(in, n_in, 1), .bias = opt_data(in, n_in, 2),
                .y = out[0].data, .mean_out = n_out > 1 ? out[1].data : NULL,
                .rstd_out = n_out > 2 ? out[2].data : NULL,
                .inner = afk_prod(&in[0], np->axis, in[0].rank),
                .outer = afk_prod(&in[0], 0, np->axis), .np = np};
    /* tasks of at least 16K floats, so small norms do not pay the pool's hand-off */
    j.rows = j.inner > 0 ? (16384 + j.inner - 1) / j.inner : 1;
    if (j.outer > 0) afk_parallel(ctx, (j.outer + j.rows - 1) / j.rows, ln_task, &j);
    return AF_OK;
}

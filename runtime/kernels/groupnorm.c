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
 * elements, tiles combined in f64. Nothing is allocated: a 512×128×128 group is read twice and
 * written once in place of the output, with no temporary of its size.
 */
#include "internal.h"

#include <math.h>

#define AFK_NORM_TILE 1024

/* ---- statistics ---- */

static double tile_sum(const float *x, int64_t n)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

static double tile_sqdev(const float *x, int64_t n, float mean)
{
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float d = x[i] - mean;
        s += d * d;
    }
    return s;
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
        int64_t m = n - i < AFK_NORM_TILE ? n - i : AFK_NORM_TILE;
        for (int64_t j = 0; j < m; j++) y[i + j] = x[i + j] * k + c;
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

/* x (N,C,S) normalised per (n, group of C/G channels); scale/bias per channel or per group. */
static void group_norm_f32(const af_tview *x, float *y, int64_t G, const float *scale,
                           int64_t n_scale, const float *bias, int64_t n_bias,
                           const af_norm_params *np)
{
    int64_t N = x->dims[0], C = x->dims[1], S = afk_prod(x, 2, x->rank), cg = C / G;
    const float *xd = x->data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t g = 0; g < G; g++) {
            const float *xb = xd + (n * C + g * cg) * S;
            float mean, rstd;
            block_stats(xb, cg * S, np->eps, &mean, &rstd);
            for (int64_t j = 0; j < cg; j++) {
                int64_t c = g * cg + j;
                float a = scale ? scale[n_scale == C ? c : g] : 1.0f;
                float b = bias ? bias[n_bias == C ? c : g] : 0.0f;
                norm_span(xb + j * S, y + (n * C + c) * S, S, mean, rstd, a, b, &np->act);
            }
        }
}

// X (N,C,*) -> Y (N,C,*), statistics per (n,c)
af_status afk_instance_norm_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx, (void)err;
    int64_t C = in[0].dims[1];
    group_norm_f32(&in[0], out[0].data, C, opt_data(in, n_in, 1), C, opt_data(in, n_in, 2), C,
                   &p->norm);
    return AF_OK;
}

// X (N,C,*) -> Y (N,C,*), statistics per (n, group)
af_status afk_group_norm_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx, (void)err;
    const float *s = opt_data(in, n_in, 1), *b = opt_data(in, n_in, 2);
    group_norm_f32(&in[0], out[0].data, p->norm.num_groups, s, s ? af_tview_numel(&in[1]) : 0,
                   b, b ? af_tview_numel(&in[2]) : 0, &p->norm);
    return AF_OK;
}

// X (outer, inner) -> Y (outer, inner), Mean? (outer), InvStdDev? (outer); scale/bias (inner)
af_status afk_layer_norm_run(AFK_RUN_ARGS)
{
    (void)ctx, (void)err;
    const af_norm_params *np = &p->norm;
    int64_t outer = afk_prod(&in[0], 0, np->axis), inner = afk_prod(&in[0], np->axis, in[0].rank);
    const float *x = in[0].data, *scale = opt_data(in, n_in, 1), *bias = opt_data(in, n_in, 2);
    float *y = out[0].data, *mean_out = n_out > 1 ? out[1].data : NULL;
    float *rstd_out = n_out > 2 ? out[2].data : NULL;
    for (int64_t o = 0; o < outer; o++) {
        const float *xr = x + o * inner;
        float *yr = y + o * inner, mean, rstd;
        block_stats(xr, inner, np->eps, &mean, &rstd);
        if (mean_out) mean_out[o] = mean;
        if (rstd_out) rstd_out[o] = rstd;
        for (int64_t i = 0; i < inner; i++) {
            float v = (xr[i] - mean) * rstd;
            yr[i] = v * (scale ? scale[i] : 1.0f) + (bias ? bias[i] : 0.0f);
        }
        afk_act_apply(&np->act, yr, inner);
    }
    return AF_OK;
}

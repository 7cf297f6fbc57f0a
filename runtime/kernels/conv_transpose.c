/* runtime/kernels/conv_transpose.c — CONV_TRANSPOSE (1-D, 2-D, 3-D; groups, dilations, pads,
 * output padding) with bias + activation, on the shared SGEMM:
 *   per batch n and group g: col (Mg*K, T) = W[g]^T (Mg*K, Cg) @ x[n, g] (Cg, T);
 *   y[n, g] += col2im(col), then bias + act.
 * Tiles of T input positions keep col within conv.c's COL_BYTES (afk_conv_tile_len).
 */
#include "internal.h"
#include "conv_dw.h"

#include <stdint.h>
#include <string.h>

af_status afk_convt_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_conv_params *cp = &p->conv;
    af_status st = afk_conv_check_common("conv_transpose", cp, in, n_in, out, err);
    if (st) return st;
    conv_geom g;
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 1);
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

size_t afk_convt_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    const af_conv_params *cp = &p->conv;
    if (cp->nsp < 1 || cp->nsp > 3 || in[0].rank != cp->nsp + 2 || in[1].rank != cp->nsp + 2 ||
        out[0].rank != cp->nsp + 2 || cp->group < 1)
        return 0;
    conv_geom g;
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 1);
    size_t col = afk_conv_col_bytes(g.Mg * g.K, g.isp);
    size_t work = afk_sgemm_work_floats() * sizeof(float);
    return col == SIZE_MAX || !col ? col : (col + 63) / 64 * 64 + work; /* col, then GEMM work */
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

/* First i in [0, n) with 0 <= i*s + c < limit, and one past the last: the input columns whose
 * output column lands inside the map. */
static void valid_range(int64_t n, int64_t s, int64_t c, int64_t limit, int64_t *lo, int64_t *hi)
{
    int64_t a = c >= 0 ? 0 : (-c + s - 1) / s;          /* i*s + c >= 0 */
    int64_t b = limit - 1 - c < 0 ? 0 : (limit - 1 - c) / s + 1; /* i*s + c <= limit-1 */
    *lo = a;
    *hi = b < n ? b : n;
    if (*hi < *lo) *hi = *lo;
}

/* y (mc, OD, OH, OW) += col (mc*K, T) scattered from input positions [p0, p0+T), a run of one
 * input row (fixed id, ih) at a time: per tap the output row is fixed and the columns that
 * land inside the map are a range, so the inner loop is a strided add without checks. */
static void col2im(const conv_geom *g, const float *col, int64_t mc, int64_t p0, int64_t T,
                   float *y)
{
    const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];
    for (int64_t pi = p0; pi < p0 + T;) {
        int64_t id = pi / (IH * IW), ih = (pi / IW) % IH, iw0 = pi % IW;
        int64_t run = IW - iw0 < p0 + T - pi ? IW - iw0 : p0 + T - pi, t0 = pi - p0;
        const float *src = col + t0;
        for (int64_t m = 0; m < mc; m++) {
            float *ym = y + m * g->osp;
            for (int64_t kd = 0; kd < g->k[0]; kd++)
                for (int64_t kh = 0; kh < g->k[1]; kh++)
                    for (int64_t kw = 0; kw < g->k[2]; kw++, src += T) {
                        int64_t od = id * g->s[0] - g->pb[0] + kd * g->d[0];
                        int64_t oh = ih * g->s[1] - g->pb[1] + kh * g->d[1];
                        if (od < 0 || od >= g->out[0] || oh < 0 || oh >= OH) continue;
                        int64_t c = iw0 * g->s[2] - g->pb[2] + kw * g->d[2], lo, hi;
                        valid_range(run, g->s[2], c, OW, &lo, &hi);
                        float *yr = ym + (od * OH + oh) * OW; /* c + i*s in [0, OW) */
                        for (int64_t i = lo; i < hi; i++) yr[c + i * g->s[2]] += src[i];
                    }
        }
        pi += run;
    }
}

typedef struct convt_job {
    conv_geom g;
    const float *X, *W, *B;
    float *Y;
    const af_unary_params *act;
    int64_t mb, n_mblk, T; /* channels per task, tasks per (image, group), positions per tile */
    char *scratch;
    size_t slice;
} convt_job;

/* One task: image n, group gi, output channels [m0, m0+mc) of the group, every input tile:
 * col (mc*K, t) = W[g][:, m0*K:(m0+mc)*K]^T @ x (Cg, t), scattered; then bias + act. */
static void convt_task(void *arg, int64_t task, int tid)
{
    const convt_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t mbi = task % j->n_mblk, ng = task / j->n_mblk, gi = ng % g->G, n = ng / g->G;
    int64_t m0 = mbi * j->mb, mc = g->Mg - m0 < j->mb ? g->Mg - m0 : j->mb;
    int64_t rows = g->Mg * g->K;
    const float *xg = j->X + (n * g->C + gi * g->Cg) * g->isp;
    const float *wg = j->W + gi * g->Cg * rows + m0 * g->K; /* (Cg, Mg*K), columns from m0*K */
    float *yg = j->Y + (n * g->M + gi * g->Mg + m0) * g->osp;
    float *col = (float *)(j->scratch + (size_t)tid * j->slice);
    float *work = col + (mc * g->K * j->T + 15) / 16 * 16;
    memset(yg, 0, (size_t)(mc * g->osp) * sizeof *yg);
    for (int64_t p0 = 0; p0 < g->isp; p0 += j->T) {
        int64_t t = g->isp - p0 < j->T ? g->isp - p0 : j->T;
        afk_sgemm_w(1, 0, mc * g->K, t, g->Cg, 1.0f, wg, rows, xg + p0, g->isp, 0.0f, col, t,
                    work);
        col2im(g, col, mc, p0, t, yg);
    }
    epilogue(j->act, j->B ? j->B + gi * g->Mg + m0 : NULL, yg, mc, g->osp);
}

// X (N,C,*) ⊛ᵀ W (C,M/g,*) + B (M) -> Y (N,M,*)
af_status afk_convt_run(AFK_RUN_ARGS)
{
    (void)n_out;
    convt_job j = {.X = in[0].data, .W = in[1].data, .B = n_in > 2 ? in[2].data : NULL,
                   .Y = out[0].data, .act = &p->conv.act};
    afk_conv_geom(&j.g, &p->conv, &in[0], &in[1], &out[0], 1);
    const conv_geom *g = &j.g;
    int nt = ctx && ctx->n_threads > 0 ? ctx->n_threads : 1;
    j.scratch = ctx ? ctx->scratch : NULL;
    j.slice = ctx && ctx->pool ? ctx->scratch_bytes / (size_t)nt : 0;
    j.T = afk_conv_tile_len(g->Mg * g->K, g->isp);
    /* channel blocks by shape alone (so the bits do not depend on the thread count): about 8
     * per group, each at least 64 GEMM rows */
    int64_t min_mb = (64 + g->K - 1) / g->K;
    j.mb = (g->Mg + 7) / 8;
    if (j.mb < min_mb) j.mb = min_mb;
    if (j.mb > g->Mg) j.mb = g->Mg;
    j.n_mblk = j.mb > 0 ? (g->Mg + j.mb - 1) / j.mb : 0;
    if (g->osp == 0) return AF_OK;
    if (!j.scratch && g->isp > 0)
        return af_err_set(err, AF_ERR_USAGE, "conv_transpose: no scratch for the col buffer");
    afk_parallel(ctx, g->N * g->G * j.n_mblk, convt_task, &j);
    return AF_OK;
}

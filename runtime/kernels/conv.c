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

enum { COL_BYTES = 8 << 20, MIN_TILE = 64 };

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
    if (is_pointwise(&g) || is_depthwise(&g)) return 0;
    return col_bytes(g.Cg * g.K, g.osp);
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

/* col (Cg*K, T) for output positions [p0, p0+T) of one image-group x (Cg, D, H, W). */
static void im2col(const conv_geom *g, const float *x, int64_t p0, int64_t T, float *col)
{
    const int64_t OH = g->out[1], OW = g->out[2];
    float *dst = col;
    for (int64_t c = 0; c < g->Cg; c++) {
        const float *xc = x + c * g->isp;
        for (int64_t kd = 0; kd < g->k[0]; kd++)
            for (int64_t kh = 0; kh < g->k[1]; kh++)
                for (int64_t kw = 0; kw < g->k[2]; kw++, dst += T) {
                    int64_t od = p0 / (OH * OW), oh = (p0 / OW) % OH, ow = p0 % OW;
                    for (int64_t t = 0; t < T;) {
                        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
                        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
                        int64_t run = OW - ow < T - t ? OW - ow : T - t; /* rest of this row */
                        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) {
                            memset(dst + t, 0, (size_t)run * sizeof *dst);
                        } else {
                            const float *row = xc + (id * g->in[1] + ih) * g->in[2];
                            int64_t iw = ow * g->s[2] - g->pb[2] + kw * g->d[2];
                            for (int64_t r = 0; r < run; r++, iw += g->s[2])
                                dst[t + r] = (iw >= 0 && iw < g->in[2]) ? row[iw] : 0.0f;
                        }
                        t += run;
                        ow = 0;
                        if (++oh == OH) oh = 0, od++;
                    }
                }
    }
}

/* y (OD, OH, OW) = sum over the kernel of x (D, H, W) * w (K), one channel. */
static void depthwise_channel(const conv_geom *g, const float *x, const float *w, float *y)
{
    for (int64_t od = 0; od < g->out[0]; od++)
        for (int64_t oh = 0; oh < g->out[1]; oh++)
            for (int64_t ow = 0; ow < g->out[2]; ow++) {
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

// X (N,C,*) ⊛ W (M,C/g,*) + B (M) -> Y (N,M,*)
af_status afk_conv_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    conv_geom g;
    geom_init(&g, &p->conv, &in[0], &in[1], &out[0], 0);
    const float *X = in[0].data, *W = in[1].data;
    const float *B = n_in > 2 ? in[2].data : NULL;
    float *Y = out[0].data, *col = ctx ? ctx->scratch : NULL;
    int pointwise = is_pointwise(&g), depthwise = is_depthwise(&g);
    int64_t rows = g.Cg * g.K, T = tile_len(rows, g.osp);
    for (int64_t n = 0; n < g.N; n++) {
        float *yn = Y + n * g.M * g.osp;
        for (int64_t gi = 0; gi < g.G; gi++) {
            const float *xg = X + (n * g.C + gi * g.Cg) * g.isp;
            const float *wg = W + gi * g.Mg * rows;
            float *yg = yn + gi * g.Mg * g.osp;
            if (depthwise) {
                depthwise_channel(&g, xg, wg, yg);
            } else if (pointwise) {
                afk_sgemm(0, 0, g.Mg, g.osp, g.Cg, 1.0f, wg, g.Cg, xg, g.isp, 0.0f, yg, g.osp);
            } else {
                for (int64_t p0 = 0; p0 < g.osp; p0 += T) {
                    int64_t t = g.osp - p0 < T ? g.osp - p0 : T;
                    im2col(&g, xg, p0, t, col);
                    afk_sgemm(0, 0, g.Mg, t, rows, 1.0f, wg, rows, col, t, 0.0f, yg + p0, g.osp);
                }
            }
        }
        epilogue(&p->conv.act, B, yn, g.M, g.osp);
    }
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

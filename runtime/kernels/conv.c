/* runtime/kernels/conv.c — CONV (1-D, 2-D, 3-D; groups, dilations, asymmetric pads) with a
 * fused bias + activation epilogue; the geometry and checks CONV_TRANSPOSE shares
 * (conv_transpose.c).
 *
 * Every conv is seen as 3-D: missing leading spatial dims have size 1, kernel 1, stride 1.
 *  Conv, per batch n and group g, over tiles of T output positions:
 *    col (Cg*K, T) = im2col(x[n, g]);  y[n, g] (Mg, T) = W[g] (Mg, Cg*K) @ col
 *  1×1 stride-1 unpadded convs use x[n, g] (Cg, P) as col directly; depthwise convs
 *  (group == C == M) run a direct loop (conv_dw.c, dw_fast.c, dw_lanes.c); Winograd
 *  (winograd.c, wino_mosaic.c) and grouped lanes (conv_glanes.c) where their rules pay.
 * Tiles keep the col buffer under COL_BYTES, so scratch does not grow with the image size.
 * A fused residual R (in[3], Y's shape): every path writes conv + bias, then y = act(y + R)
 * over the tile just written (conv_residual; Winograd adds R in its output transform).
 */
#include "internal.h"
#include "cpanel.h"
#include "qgemm.h"
#include "simd512.h"
#include "dw_fast.h"
#include "conv_dw.h"
#include "dw_lanes.h"
#include "conv_glanes.h"
#include "conv_stem.h"
#include "wino_mosaic.h"
#include "neon.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { COL_BYTES = 8 << 20, MIN_TILE = 64, TASK_TILE = 512, TASK_MBLK = 64, MIN_TASKS = 4,
       DW_CHANNELS = 4, DW_OUTPUTS = 8192 };


/* Fills g from views and params. transpose: W is (C, M/G, *) instead of (M, C/G, *). */
void afk_conv_geom(conv_geom *g, const af_conv_params *cp, const af_tview *x, const af_tview *w,
                   const af_tview *y, int transpose)
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

/* Fills w's geometry when the conv is a 2-D 3x3 stride-1 conv that winograd.c takes (its
 * cost rule included, wcost: afk_wino.wcost); returns 0 otherwise. Undilated, or dilated
 * with pads equal to the dilation, one group and weights transformed once: on the mosaic of
 * its phase images (wino_mosaic.c), costed against the direct conv's own outputs. */
static int wino_plan_cost(const conv_geom *g, const af_conv_params *cp, afk_wino *w,
                          int64_t wcost)
{
    memset(w, 0, sizeof *w);
    w->wcost = wcost;
    int64_t mh, mw;
    const int dilated = g->d[1] != 1 || g->d[2] != 1;
    if (g->k[0] != 1 || g->in[0] != 1 || g->k[1] != 3 || g->k[2] != 3 ||
        g->s[1] != 1 || g->s[2] != 1 || (g->G > 1 && wcost) ||
        (dilated && (wcost || !afk_mosaic_geom(g, &mh, &mw))))
        return 0;
    /* grouped: one group's (Cg -> Mg) conv, run per group (compressed weights: ungrouped only) */
    w->C = g->Cg, w->M = g->Mg, w->H = g->in[1], w->W = g->in[2];
    w->OH = g->out[1], w->OW = g->out[2], w->pt = g->pb[1], w->pl = g->pb[2];
    if (dilated) w->H = w->OH = mh, w->W = w->OW = mw, w->pt = w->pl = 1, w->dout = g->osp;
    w->act = afk_pgemm_act(&cp->act), w->lo = cp->act.alpha, w->hi = cp->act.beta;
    return afk_wino_applies(w);
}

static int wino_plan(const conv_geom *g, const af_conv_params *cp, afk_wino *w)
{
    return wino_plan_cost(g, cp, w, 0);
}

/* 1: a grouped f32 conv runs with its groups' output channels in lanes (conv_glanes.c): where
 * Winograd does not take it, and over per-group Winograd on maps up to 32x32. Zen 4, one thread
 * (bench: grouped Winograd against lanes, ms): 18 groups of 16 at 14x14 0.257 / 0.190, 8 of
 * 16 at 28x28 0.324 / 0.298; but 4 groups of 16 at 56x56 0.542 / 0.586. Stride 2 (no
 * Winograd), against im2col + GEMM per group: 4 groups of 16 at 112 -> 56 0.95 / 0.64, 42 at
 * 14 -> 7 0.257 / 0.179. */
enum { GLANES_OVER_WINO = 32 * 32 };
static int glanes_geom(const conv_geom *g, const af_conv_params *cp)
{
    afk_wino w;
    return afk_glanes_ok(g) && !is_pointwise(g) &&
           ((g->osp <= GLANES_OVER_WINO && afk_wino_mode < 1) || !wino_plan(g, cp, &w));
}

/* 1: an f32 conv with few input channels (a stem) runs with output positions in lanes
 * (conv_stem.c), where its 16- and 8-channel blocks waste at most 1/8 of their lanes. Zen 4,
 * one thread, against im2col + GEMM (ms): 3 -> 32 3x3 stride 2 at 224 -> 112 0.304 / 0.264
 * (with SiLU 0.433 / 0.337), 3 -> 16 0.197 / 0.138, 3 -> 24 0.243 / 0.202 (its last
 * block of 8), 3 -> 64 7x7 stride 2
 * 2.52 / 2.17, 3 -> 96 7x7 3.58 / 3.28, 3 -> 64 3x3 stride 1 at 224 2.29 / 2.25 (Winograd,
 * which the cost model picked there, 7.8). */
static int stem_geom(const conv_geom *g)
{
    const int64_t Mp = (g->M + 7) / 8 * 8;
    return afk_stem_ok(g) && !is_pointwise(g) && (Mp - g->M) * 8 <= Mp;
}

/* Per-thread scratch of the Winograd path: its V and Z blocks, and room for a compressed
 * weight's rows while they are transformed (wino_weights.c). */
/* Per-thread scratch of every Winograd run w's conv may take: f32, compressed weights
 * transformed per run, int8 (afk_wino_int8_ok: the session's options are not known here). */
static size_t wino_scratch(const afk_wino *w)
{
    size_t a = afk_wino_thread_floats(w), b = afk_wino_cw_thread_floats(w);
    size_t c = afk_wino_int8_ok(w) ? afk_wino_int8_thread_floats(w) : 0;
    a = a > b ? a : b;
    return (a > c ? a : c) * sizeof(float);
}

/* Output positions per tile: the whole map, or fewer so that rows*T floats fit COL_BYTES. */
int64_t afk_conv_tile_len(int64_t rows, int64_t positions)
{
    int64_t t = (int64_t)(COL_BYTES / sizeof(float)) / (rows > 0 ? rows : 1);
    if (t < MIN_TILE) t = MIN_TILE;
    return t < positions ? t : positions;
}

int64_t afk_conv_band_rows(const conv_geom *g, int64_t outputs)
{
    int64_t r = outputs / g->out[2];
    return r < 1 ? 1 : r > g->out[1] ? g->out[1] : r;
}

int64_t afk_conv_band_in_rows(const conv_geom *g, int64_t rows)
{
    return (rows - 1) * g->s[1] + (g->k[1] - 1) * g->d[1] + 1;
}

/* ---- checks --------------------------------------------------------------------------------- */

af_status afk_conv_check_common(const char *op, const af_conv_params *cp, const af_tview *in,
                                int n_in, const af_tview *out, af_err *err)
{
    int nsp = cp->nsp;
    if (nsp < 1 || nsp > AF_MAX_SPATIAL)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: %d spatial dims", op, nsp);
    if (in[0].rank != nsp + 2 || in[1].rank != nsp + 2 || out[0].rank != nsp + 2)
        return af_err_set(err, AF_ERR_SHAPE, "%s: X, W and Y must have rank %d", op, nsp + 2);
    int has_b = n_in >= 3 && !afk_omitted(&in[2]);
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

/* A fused residual in[3] (lowering/fuse.c) is f32 with exactly Y's shape. */
static af_status check_residual(const af_tview *in, int n_in, const af_tview *out, af_err *err)
{
    if (n_in < 4 || afk_omitted(&in[3])) return AF_OK;
    af_status st = afk_need_dtype("conv", "residual", &in[3], AF_DTYPE_F32, err);
    if (st) return st;
    char a[96], b[96];
    if (!afk_same_shape(&in[3], &out[0]))
        return af_err_set(err, AF_ERR_SHAPE, "conv: residual %s differs from Y %s",
                          afk_shape_str(&in[3], a, sizeof a), afk_shape_str(&out[0], b, sizeof b));
    return AF_OK;
}

af_status afk_conv_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_conv_params *cp = &p->conv;
    af_status st = afk_conv_check_common("conv", cp, in, n_in, out, err);
    if (st) return st;
    conv_geom g;
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 0);
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
    return check_residual(in, n_in, out, err);
}

/* Positions per GEMM task: TASK_TILE, within the col buffer bound of tile_len. */
static int64_t task_tile(int64_t rows, int64_t positions)
{
    int64_t t = afk_conv_tile_len(rows, positions);
    return t > TASK_TILE ? TASK_TILE : t;
}

size_t afk_conv_col_bytes(int64_t rows, int64_t positions)
{
    int64_t t = afk_conv_tile_len(rows, positions);
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
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 0);
    int64_t ph, pw, floats;
    if (is_depthwise(&g)) { /* the padded plane, or the 16-lane buffers (dw_lanes.c) */
        size_t a = afk_dw_padded_geom(&g, &ph, &pw, &floats) ? (size_t)floats * 4 : 0;
        size_t b = afk_dw_lanes_floats(&g) * 4;
        return a > b ? a : b;
    }
    size_t packed = afk_pgemm_work_floats(task_tile(is_pointwise(&g) ? 1 : g.Cg * g.K, g.osp)) * 4;
    if (is_pointwise(&g)) return packed;
    afk_wino w;
    size_t col = afk_conv_col_bytes(g.Cg * g.K, g.osp);
    if (packed > col) col = packed;
    if (glanes_geom(&g, cp) && afk_glanes_floats(&g) * 4 > col) col = afk_glanes_floats(&g) * 4;
    if (stem_geom(&g) && afk_stem_floats(&g) * 4 > col) col = afk_stem_floats(&g) * 4;
    if (wino_plan(&g, cp, &w) && wino_scratch(&w) > col) return wino_scratch(&w);
    return col;
}

/* ---- pre-packed weights ---------------------------------------------------------------------- */

/* floats before the panels: (int32) the panels' MR, then the layout (PACK_*); PACK_GEMM16:
 * the GEMM panels in IEEE halves, from a weight stored in halves (no Winograd: its transformed
 * weights would be four times the halves); PACK_CW: compressed panels (cpanel.h) from a weight
 * handed over as its blob (dtype U8: the bytes of a runtime/wdecode.h blob, the weight's shape),
 * decoded per panel inside the packed GEMM — no Winograd either, for the same reason;
 * PACK_Q8: int8 panels for int8 compute (qgemm.h) from an int8 blob handed over as dtype I8
 * (af_session_options.int8_compute), every GEMM conv: also the 3x3 ones Winograd would take —
 * int8 beat Winograd's f32 on every ResNet and SD 3x3 shape (bench/conv_paths.c "int8");
 * PACK_WQ8: int8 compute on a large conv Winograd takes (wq8_plan): the int8 weight decoded,
 * each output channel's 16 F(2x2) transformed rows G g G^T quantized again to int8 per row —
 * the transform is exact in no integer grid — as 16 sub-matrices of int8 panels; V is
 * quantized per k block like an im2col (qgemm.h), h[2] the tile (2);
 * PACK_LANES / PACK_LANES16: as PACK_GEMM / PACK_GEMM16 in panels for channel-lane tiles, for
 * maps narrow enough that they issue fewer FMAs (afk_pgemm_lanes_ok: 7×7, 14×14). */
enum { PACK_HDR = 16, PACK_GEMM = 0, PACK_WINO = 1, PACK_GEMM16 = 2, PACK_CW = 3, PACK_Q8 = 4,
       PACK_LANES = 5, PACK_LANES16 = 6, PACK_KH = 7, PACK_WQ8 = 8, PACK_GLANES = 9,
       PACK_DWL = 10, PACK_STEM = 11 };


/* 1: a float weight's panels are cut for channel-lane tiles (per image, group). */
static int lanes_geom(const conv_geom *g) { return afk_pgemm_lanes_ok(g->Mg, g->osp, g->Cg * g->K); }

/* ---- kernel rows that see only padding ------------------------------------------------------
 * A dilated conv's outer kernel rows read padding for most output rows: DeepLabV3's rate-12
 * and rate-24 3x3 convs multiply zeros in 29-82 % of their products on 28x28 and 14x14 maps.
 * PACK_KH keeps such an f32 weight as one GEMM matrix per kernel row and group, (Mg, Cg*KW)
 * with columns (c, kw), and each tile of output positions — cut where the set of kernel rows
 * that reach the image changes — sums only those rows' GEMMs, the B panels packed as the
 * 1 x KW conv of the input shifted by the row's offset. An output's sum runs over (kh, c, kw)
 * in order; the kernel rows a tile skips would only add products with padding (zeros), so the
 * bits do not depend on the tiling, nor on the thread count. */
enum { KH_MAX = 32, KH_BANDS = 2 * KH_MAX + 1 };

/* Bit kh: kernel row kh reads the image for some output row in [r0, r1]. */
static uint64_t kh_alive(const conv_geom *g, int64_t r0, int64_t r1)
{
    uint64_t m = 0;
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        int64_t off = kh * g->d[1] - g->pb[1], s = g->s[1];
        int64_t first = off >= 0 ? r0 : (-off + s - 1) / s; /* the first oh with ih >= 0 */
        if (first < r0) first = r0;
        if (first <= r1 && first * s + off < g->in[1]) m |= (uint64_t)1 << kh;
    }
    return m;
}

/* 1: g runs per kernel row — a 2-D dilated conv whose kernel rows reach the image in under
 * 85 % of (output row, kernel row) pairs. */
static int kh_geom(const conv_geom *g)
{
    if (g->k[0] != 1 || g->in[0] != 1 || g->d[1] < 2 || g->k[1] < 2 || g->k[1] > KH_MAX ||
        is_depthwise(g) || is_pointwise(g))
        return 0;
    int64_t alive = 0;
    for (int64_t oh = 0; oh < g->out[1]; oh++) alive += __builtin_popcountll(kh_alive(g, oh, oh));
    return alive * 100 < 85 * g->out[1] * g->k[1];
}

/* Output rows with one set of live kernel rows, cut into `chunks` tiles of `per` positions. */
typedef struct kh_band {
    int64_t p0, p1, per, chunks;
    uint64_t alive;
} kh_band;

/* The bands of g's map, tiles of at most T positions; returns the number of tiles. */
static int64_t kh_bands(const conv_geom *g, int64_t T, kh_band *b, int *nb)
{
    int64_t tiles = 0;
    *nb = 0;
    for (int64_t r0 = 0, r1; r0 < g->out[1]; r0 = r1 + 1) {
        uint64_t m = kh_alive(g, r0, r0);
        for (r1 = r0; r1 + 1 < g->out[1] && kh_alive(g, r1 + 1, r1 + 1) == m;) r1++;
        kh_band *d = &b[(*nb)++]; /* at most 2*KH+1 bands: the set changes where a row enters */
        d->p0 = r0 * g->out[2], d->p1 = (r1 + 1) * g->out[2], d->alive = m;
        d->chunks = (d->p1 - d->p0 + T - 1) / T;
        d->per = (d->p1 - d->p0 + d->chunks - 1) / d->chunks;
        tiles += d->chunks;
    }
    return tiles;
}

/* W (M, Cg, KH, KW) -> per kernel row kh and group gi, at (kh*G + gi) * Mgp * Cg*KW floats, the
 * matrix (Mg, Cg*KW) in the GEMM's panel order (lanes: afk_pgemm_pack_lanes's, Mgp = Mg
 * rounded up to its panel rows, zeros past Mg; else afk_pgemm_pack_a's, Mgp = Mg). */
static void kh_pack(const conv_geom *g, const float *W, int lanes, float *dst)
{
    const int64_t KH = g->k[1], KW = g->k[2], Kk = g->Cg * KW, Mg = g->Mg;
    const int64_t Mgp = lanes ? (Mg + AFK_PGEMM_LR - 1) / AFK_PGEMM_LR * AFK_PGEMM_LR : Mg;
    memset(dst, 0, (size_t)(KH * g->G * Mgp * Kk) * sizeof *dst);
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t gi = 0; gi < g->G; gi++) {
            float *mat = dst + (kh * g->G + gi) * Mgp * Kk;
            for (int64_t m = 0; m < Mg; m++)
                for (int64_t k = 0; k < Kk; k++) { /* k = c*KW + kw */
                    size_t at = lanes ? afk_pgemm_lanes_index(Mg, Kk, m, k)
                                      : afk_pgemm_a_index(Mg, Kk, m, k);
                    mat[at] = W[(((gi * Mg + m) * g->Cg + k / KW) * KH + kh) * KW + k % KW];
                }
        }
}

/* A compressed 3x3 conv weight that Winograd would take keeps Winograd (decoded, transformed
 * and held in f32) when its transformed weights take at most this many bytes: the large maps
 * of a network's first stages, where each weight serves many outputs; else it runs on its
 * compressed panels (docs/performance.md "Compressed weights at run time" measured this). */
size_t afk_cw_wino_max = (size_t)3 << 20;

/* Larger ones run Winograd still when their transformed weights take at most this many bytes:
 * transformed on every run from the compressed panels (wino_weights.c) into the buffer the
 * session shares among its nodes (ctx->shared), so one such layer's transformed weights are
 * resident at a time, not all of them. The transform (decode, G g G^T, the copy into U) costs
 * about CW_XF_SLOTS GEMM slots per (output, input) channel pair — measured ~16 % of the 36
 * GEMMs on the SD ResnetBlock2D's 320-channel 64x64 convs (36 x 320 slots; docs/performance.md)
 * — which the cost rule adds, so it pays on large maps only; larger layers, and those it does
 * not pay for, run on their compressed panels. */
size_t afk_cw_wino_run_max = (size_t)16 << 20;
enum { CW_XF_SLOTS = 2048 };

/* The Winograd tile m (4 or 2) when a compressed weight runs Winograd transformed on every
 * run, else 0. */
static int cw_wino_m(const conv_geom *g, const af_conv_params *cp)
{
    afk_wino w; /* the transform's cost added to both tiles leaves the tile choice as it was */
    if (!wino_plan_cost(g, cp, &w, CW_XF_SLOTS)) return 0;
    size_t u = afk_wino_pack_floats(&w) * sizeof(float);
    return u > afk_cw_wino_max && u <= afk_cw_wino_run_max ? w.m : 0;
}

/* The layout of pre-packed weights made for the kernel in use, or -1 (none or stale). */
static int packed_kind(const void *packed)
{
    const int32_t *h = packed;
    return h && h[0] == afk_pgemm_mr() ? h[1] : -1;
}

int afk_conv_cw_wino(const af_params *p, const af_tview *in, const af_tview *out)
{
    const af_conv_params *cp = &p->conv;
    if (!afk_pgemm_nr() || cp->nsp != 2 || in[0].rank != 4 || in[1].rank != 4 || out[0].rank != 4)
        return 0;
    conv_geom g;
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 0);
    return cw_wino_m(&g, cp);
}

/* PACK_WQ8's source rows: output channel m's weights decoded from the int8 blob, transformed. */
typedef struct wq8_src {
    const afk_wino *w;
    const uint8_t *codes;
    int uns;
    const float *s;
    const int32_t *z;
    float *row; /* C*9 floats */
} wq8_src;

static void wq8_row(void *arg, int64_t m, float *buf)
{
    const wq8_src *a = arg;
    const int64_t n = a->w->C * 9;
    for (int64_t i = 0; i < n; i++) {
        uint8_t c = a->codes[m * n + i];
        a->row[i] = a->s[m] * (float)((a->uns ? (int)c - 128 : (int)(int8_t)c) - (a->uns ? a->z[m] - 128 : a->z[m]));
    }
    afk_wino_row(a->w, a->row, buf);
}

/* 1 when an int8 weight (blob) runs int8 Winograd: w planned, the panels' bytes in *bytes. */
static int wq8_plan(const conv_geom *g, const af_conv_params *cp, const af_tview *wv, afk_wino *w,
                    size_t *bytes)
{
    const uint8_t *codes;
    int64_t rows, cols;
    int uns;
    if (g->G != 1 || g->d[1] != 1 || g->d[2] != 1 || !wino_plan(g, cp, w) || !afk_wino_int8_ok(w) ||
        !afk_cw_int8_rows(wv->data, wv->rank, wv->dims, &codes, &rows, &cols, &uns, NULL, NULL) ||
        rows != g->M || cols != g->C * 9)
        return 0;
    w->m = 2; /* afk_wino_int8_ok's tile */
    *bytes = afk_q8_f32_bytes(g->M, g->C, (w->m + 2) * (w->m + 2), afk_pgemm_mr());
    return *bytes > 0;
}

/* W (int8 blob) -> PACK_WQ8's panels; 0 when its working memory cannot be had. */
static int wq8_pack(const conv_geom *g, const afk_wino *w, const af_tview *wv, void *dst)
{
    const int64_t nk = (w->m + 2) * (w->m + 2);
    float *buf = malloc(sizeof(float) * (size_t)(nk * g->C + g->C * 9 + 2 * g->M));
    if (!buf) return 0;
    wq8_src a = {w, NULL, 0, buf + nk * g->C + g->C * 9, NULL, buf + nk * g->C};
    a.z = (const int32_t *)(a.s + g->M);
    int64_t rows, cols;
    afk_cw_int8_rows(wv->data, wv->rank, wv->dims, &a.codes, &rows, &cols, &a.uns,
                     (float *)a.s, (int32_t *)a.z);
    afk_q8_pack_f32(g->M, g->C, nk, afk_pgemm_mr(), wq8_row, &a, buf, dst);
    free(buf);
    return 1;
}

/* Bytes of ctx->shared a conv with these packed weights needs: a compressed weight run by
 * Winograd holds its transformed weights there while it runs; a dilated conv on Winograd its
 * mosaics (h[3]: the dilation, h[4..7]: C, M and the mosaic's sides). */
size_t afk_conv_shared_bytes(const void *packed)
{
    const int32_t *h = packed;
    if (packed_kind(packed) == PACK_WINO && h[3] > 1)
        return afk_mosaic_shared_floats(h[4], h[5], h[6], h[7]) * sizeof(float);
    if (packed_kind(packed) != PACK_CW || !h[2]) return 0;
    return (size_t)(h[2] + 2) * (size_t)(h[2] + 2) * (size_t)h[4] * (size_t)h[5] * sizeof(float);
}

/* Bytes for W's GEMM panels (or Winograd-transformed panels) when the conv takes the packed
 * GEMM path, else 0. */
size_t afk_conv_prepack_bytes(const af_params *p, const af_tview *in, const af_tview *out)
{
    const af_conv_params *cp = &p->conv;
    if (!afk_pgemm_nr() || cp->nsp < 1 || cp->nsp > 3 ||
        in[0].rank != cp->nsp + 2 || in[1].rank != cp->nsp + 2 || out[0].rank != cp->nsp + 2 ||
        cp->group < 1)
        return 0;
    conv_geom g;
    afk_conv_geom(&g, cp, &in[0], &in[1], &out[0], 0);
    afk_wino w;
    if (is_depthwise(&g)) /* f32 weights for 16-lane channel blocks (dw_lanes.c), else none */
        return in[1].dtype == AF_DTYPE_F32 && afk_dw_lanes_ok(&g)
                   ? (afk_dw_lanes_pack_floats(&g) + PACK_HDR) * sizeof(float)
                   : 0;
    if (in[1].dtype == AF_DTYPE_I8) { /* int8 compute, or nothing (the caller tries U8 next) */
        size_t b = afk_q8_bytes(in[1].data, in[1].rank, in[1].dims, g.G, afk_pgemm_mr(), 0), bw;
        if (b && wq8_plan(&g, cp, &in[1], &w, &bw) && bw > b) b = bw;
        return b ? PACK_HDR * sizeof(float) + b : 0; /* room for PACK_Q8 as the fallback */
    }
    if (in[1].dtype == AF_DTYPE_U8) { /* compressed panels, unless Winograd pays (below) */
        if (wino_plan(&g, cp, &w) &&
            (size_t)g.G * afk_wino_pack_floats(&w) * sizeof(float) <= afk_cw_wino_max)
            return 0;
        size_t b = afk_cw_bytes(in[1].data, in[1].rank, in[1].dims, g.G, afk_pgemm_mr());
        return b ? PACK_HDR * sizeof(float) + b : 0;
    }
    int half = in[1].dtype == AF_DTYPE_F16;
    if (!half && stem_geom(&g)) return (afk_stem_pack_floats(&g) + PACK_HDR) * sizeof(float);
    if (!half && glanes_geom(&g, cp))
        return (afk_glanes_pack_floats(&g) + PACK_HDR) * sizeof(float);
    if (!half && wino_plan(&g, cp, &w)) /* per group */
        return ((size_t)g.G * afk_wino_pack_floats(&w) + PACK_HDR) * sizeof(float);
    if (!half && kh_geom(&g)) {
        int64_t Mgp = lanes_geom(&g) ? (g.Mg + AFK_PGEMM_LR - 1) / AFK_PGEMM_LR * AFK_PGEMM_LR : g.Mg;
        return ((size_t)(g.G * Mgp * g.Cg * g.K) + PACK_HDR) * sizeof(float);
    }
    int64_t n = af_tview_numel(&in[1]);
    if (n <= 0 || (uint64_t)n > SIZE_MAX / 8 - PACK_HDR || (!half && afk_pgemm_a_in_place()))
        return 0; /* f32 rows read in place: a packed copy would only cost memory and time */
    if (lanes_geom(&g)) n = g.G * (int64_t)afk_pgemm_lanes_floats(g.Mg, g.Cg * g.K);
    return PACK_HDR * sizeof(float) + (size_t)n * (half ? sizeof(uint16_t) : sizeof(float));
}

// W (M, Cg*K) per group -> header + afk_pgemm_pack_a panels
void afk_conv_prepack(const af_params *p, const af_tview *in, const af_tview *out, void *dst)
{
    conv_geom g;
    afk_conv_geom(&g, &p->conv, &in[0], &in[1], &out[0], 0);
    float *d = dst;
    memset(d, 0, PACK_HDR * sizeof *d);
    int32_t *h = dst;
    h[0] = afk_pgemm_mr();
    afk_wino w;
    int64_t rows = g.Cg * g.K;
    size_t wq8_bytes;
    if (in[1].dtype == AF_DTYPE_I8 && wq8_plan(&g, &p->conv, &in[1], &w, &wq8_bytes) &&
        wq8_pack(&g, &w, &in[1], d + PACK_HDR)) {
        h[1] = PACK_WQ8, h[2] = w.m;
        return;
    }
    if (in[1].dtype == AF_DTYPE_I8) {
        h[1] = PACK_Q8;
        afk_q8_pack(in[1].data, in[1].rank, in[1].dims, g.G, h[0], 0, d + PACK_HDR);
        return;
    }
    if (in[1].dtype == AF_DTYPE_U8) {
        h[1] = PACK_CW, h[2] = cw_wino_m(&g, &p->conv); /* h[2]: Winograd, transformed per run */
        h[4] = (int32_t)g.M, h[5] = (int32_t)g.C;
        afk_cw_pack(in[1].data, in[1].rank, in[1].dims, g.G, h[0], d + PACK_HDR);
        return;
    }
    const int64_t lg = lanes_geom(&g) ? (int64_t)afk_pgemm_lanes_floats(g.Mg, rows) : 0;
    if (in[1].dtype == AF_DTYPE_F16 && lg) {
        h[1] = PACK_LANES16;
        for (int64_t gi = 0; gi < g.G; gi++)
            afk_pgemm_pack_lanes16(g.Mg, rows, (const uint16_t *)in[1].data + gi * g.Mg * rows,
                                   rows, (uint16_t *)(d + PACK_HDR) + gi * lg);
        return;
    }
    if (in[1].dtype == AF_DTYPE_F16) {
        h[1] = PACK_GEMM16;
        for (int64_t gi = 0; gi < g.G; gi++)
            afk_pgemm_pack_a16(g.Mg, rows, (const uint16_t *)in[1].data + gi * g.Mg * rows, rows,
                               (uint16_t *)(d + PACK_HDR) + gi * g.Mg * rows);
        return;
    }
    if (is_depthwise(&g)) {
        h[1] = PACK_DWL;
        afk_dw_lanes_pack(&g, in[1].data, d + PACK_HDR);
        return;
    }
    if (stem_geom(&g)) {
        h[1] = PACK_STEM;
        afk_stem_pack(&g, in[1].data, d + PACK_HDR);
        return;
    }
    if (glanes_geom(&g, &p->conv)) {
        h[1] = PACK_GLANES;
        afk_glanes_pack(&g, in[1].data, d + PACK_HDR);
        return;
    }
    if (wino_plan(&g, &p->conv, &w)) {
        h[1] = PACK_WINO, h[2] = w.m;
        if (w.dout) /* dilated: on a mosaic */
            h[3] = (int32_t)g.d[1], h[4] = (int32_t)g.C, h[5] = (int32_t)g.M,
            h[6] = (int32_t)w.H, h[7] = (int32_t)w.W;
        for (int64_t gi = 0; gi < g.G; gi++)
            afk_wino_pack(&w, (const float *)in[1].data + gi * g.Mg * rows,
                          d + PACK_HDR + gi * (int64_t)afk_wino_pack_floats(&w));
        return;
    }
    if (kh_geom(&g)) {
        h[1] = PACK_KH, h[2] = lanes_geom(&g);
        kh_pack(&g, in[1].data, h[2], d + PACK_HDR);
        return;
    }
    if (lg) {
        h[1] = PACK_LANES;
        for (int64_t gi = 0; gi < g.G; gi++)
            afk_pgemm_pack_lanes(g.Mg, rows, (const float *)in[1].data + gi * g.Mg * rows, rows,
                                 d + PACK_HDR + gi * lg);
        return;
    }
    h[1] = PACK_GEMM;
    for (int64_t gi = 0; gi < g.G; gi++)
        afk_pgemm_pack_a(g.Mg, rows, (const float *)in[1].data + gi * g.Mg * rows, rows,
                         d + PACK_HDR + gi * g.Mg * rows);
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

/* ---- implicit im2col: col rows packed straight into GEMM panels (sgemm_packed.c) ---------- */

/* Positions [r, r+len) of one packed row (d = panel 0's row; panels pstride floats apart, nr
 * columns each) = src[0], src[s], ... or zeros when src is NULL. */
static void put_run(float *d, int64_t pstride, int nr, int64_t r, int64_t len, const float *src,
                    int64_t s)
{
#if defined(AFK_NEON)
    if (nr == AFK_NEON_NR) {
        afk_neon_put_run8(d, pstride, r, len, src, s);
        return;
    }
#endif
    while (len > 0) {
        int64_t o = r % nr, n = nr - o < len ? nr - o : len;
        float *dst = d + r / nr * pstride + o;
        if (!src)
            memset(dst, 0, (size_t)n * sizeof *dst);
        else if (s == 1)
            memcpy(dst, src, (size_t)n * sizeof *dst);
        else
            for (int64_t i = 0; i < n; i++) dst[i] = src[i * s];
        if (src) src += n * s;
        r += n, len -= n;
    }
}

enum { SEG_MAX = TASK_TILE + TASK_TILE / 16 + 2 };

/* Lanes [lane0, lane1) of one 32-wide panel: output row oh, columns from ow0 at lane0. */
typedef struct pseg {
    int32_t lane0, lane1, oh, ow0;
} pseg;

typedef struct pack_src {
    const conv_geom *g;
    const float *x; /* one image-group (Cg, D, H, W) */
    int64_t p0, t;  /* output positions [p0, p0+t) */
    int pointwise;
    int nseg;       /* > 0: the AVX-512 packer, with panel j's segments in seg[first[j]..] */
    int16_t first[TASK_TILE / 32 + 2];
    pseg seg[SEG_MAX];
} pack_src;

/* Row k = (c, kd, kh, kw) of col for positions [p0, p0+t), into packed row d. */
static void pack_col_row(const pack_src *ps, int64_t k, float *d, int64_t pstride, int nr)
{
    const conv_geom *g = ps->g;
    const int64_t OH = g->out[1], OW = g->out[2], p0 = ps->p0, T = ps->t;
    int64_t c = k / g->K, r = k % g->K;
    int64_t kd = r / (g->k[1] * g->k[2]), kh = r / g->k[2] % g->k[1], kw = r % g->k[2];
    const float *xc = ps->x + c * g->isp;
    kw_span sp = kw_span_of(g, kw);
    int64_t od = p0 / (OH * OW), oh = p0 / OW % OH, ow = p0 % OW;
    for (int64_t t = 0; t < T;) {
        int64_t id = od * g->s[0] - g->pb[0] + kd * g->d[0];
        int64_t ih = oh * g->s[1] - g->pb[1] + kh * g->d[1];
        int64_t run = OW - ow < T - t ? OW - ow : T - t;
        if (id < 0 || id >= g->in[0] || ih < 0 || ih >= g->in[1]) {
            put_run(d, pstride, nr, t, run, NULL, 0);
        } else {
            int64_t a = sp.lo - ow, b = sp.hi + 1 - ow; /* valid [a, b) of the run */
            if (a < 0) a = 0;
            if (b > run) b = run;
            if (b < a) b = a;
            const float *row = xc + (id * g->in[1] + ih) * g->in[2];
            put_run(d, pstride, nr, t, a, NULL, 0);
            put_run(d, pstride, nr, t + a, b - a, row + (ow + a) * g->s[2] + sp.off, g->s[2]);
            put_run(d, pstride, nr, t + b, run - b, NULL, 0);
        }
        t += run;
        ow = 0;
        if (++oh == OH) oh = 0, od++;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TGT512 AFK_TGT512

/* 2-D convs with a 32-wide kernel and t <= TASK_TILE: cuts [p0, p0+t) into per-panel
 * segments along output rows; returns 0 (the portable packer) otherwise. */
static int pack_segments(pack_src *ps, int nr)
{
    const conv_geom *g = ps->g;
    ps->nseg = 0;
    if (nr != 32 || g->k[0] != 1 || g->in[0] != 1 || g->out[0] != 1 || ps->t > TASK_TILE ||
        g->in[1] * g->in[2] > INT32_MAX / 4 || g->s[2] > 64)
        return 0;
    const int64_t OW = g->out[2];
    int n = 0, j = 0;
    for (int64_t r = 0; r < ps->t; j++) {
        ps->first[j] = (int16_t)n;
        int64_t end = r + 32 < ps->t ? r + 32 : ps->t;
        while (r < end) {
            int64_t p = ps->p0 + r, ow = p % OW, len = OW - ow < end - r ? OW - ow : end - r;
            ps->seg[n++] = (pseg){(int32_t)(r - j * 32), (int32_t)(r - j * 32 + len),
                                  (int32_t)(p / OW), (int32_t)ow};
            r += len;
        }
    }
    ps->first[j] = (int16_t)n;
    ps->nseg = n;
    return 1;
}

/* 16 lanes from base[r*s] (r in mask m); masked lanes are never read. Stride 2 (the stems and
 * downsampling convs): the 32 floats from base by two masked loads of the even elements the
 * mask selects, then their even elements (vpermt2ps) — the gather's values, several times
 * faster (a 16-lane gather costs ~16 loads); other strides gather. */
TGT512 static inline __m512 lanes16(__m512 v, __mmask16 m, uintptr_t base, int64_t s,
                                    __m512i idx)
{
    if (!m) return v;
    if (s == 1) return _mm512_mask_loadu_ps(v, m, (const void *)base);
    if (s == 2) {
        const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24,
                                               26, 28, 30);
        uint32_t e = m; /* lane r -> element 2r: the mask's bits spread to even positions */
        e = (e | e << 8) & 0x00ff00ffu, e = (e | e << 4) & 0x0f0f0f0fu;
        e = (e | e << 2) & 0x33333333u, e = (e | e << 1) & 0x55555555u;
        __m512 lo = _mm512_maskz_loadu_ps((__mmask16)e, (const void *)base);
        __m512 hi = _mm512_maskz_loadu_ps((__mmask16)(e >> 16), (const void *)(base + 64));
        return _mm512_mask_mov_ps(v, m, _mm512_permutex2var_ps(lo, even, hi));
    }
    return _mm512_mask_i32gather_ps(v, m, idx, (const void *)base, 4);
}

/* The AVX-512 packer: per row k and panel, one masked load (stride 1) or gather per 16 lanes
 * and segment; lanes outside the image (padding) and past t stay zero. */
/* One segment's lanes for one kernel tap (kh, kw): mask (0: all padding) and the offset of
 * lane 0's element from the channel plane. */
typedef struct ptap {
    uint32_t mask;
    int32_t off;
} ptap;

enum { TAP_MAX = 4096 }; /* 32 KiB of stack */

/* tab[(kh*KW + kw)*nseg + e]: the masks and offsets depend on the tap, not the channel. */
static void pack_taps(const pack_src *ps, ptap *tab)
{
    const conv_geom *g = ps->g;
    for (int64_t kh = 0; kh < g->k[1]; kh++)
        for (int64_t kw = 0; kw < g->k[2]; kw++) {
            kw_span sp = kw_span_of(g, kw);
            ptap *t = tab + (kh * g->k[2] + kw) * ps->nseg;
            for (int e = 0; e < ps->nseg; e++) {
                const pseg *q = &ps->seg[e];
                int64_t ih = q->oh * g->s[1] + kh * g->d[1] - g->pb[1];
                int64_t lo = q->lane0 + (sp.lo > q->ow0 ? sp.lo - q->ow0 : 0);
                int64_t hi = q->lane0 + (sp.hi + 1 - q->ow0);
                if (hi > q->lane1) hi = q->lane1;
                t[e].mask = 0, t[e].off = 0;
                if (ih < 0 || ih >= g->in[1] || hi <= lo) continue;
                t[e].mask = (uint32_t)((((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1));
                t[e].off = (int32_t)(ih * g->in[2] + (q->ow0 - q->lane0) * g->s[2] + sp.off);
            }
        }
}

/* pack_b_segments with the per-tap table: per row and segment, one table read and the loads. */
TGT512 static void pack_b_taps(const pack_src *ps, int64_t k0, int64_t kc, float *dst)
{
    const conv_geom *g = ps->g;
    const int64_t s = g->s[2], n_panels = (ps->t + 31) / 32, KHW = g->k[1] * g->k[2];
    const __m512i idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)s),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    ptap tab[TAP_MAX];
    pack_taps(ps, tab);
    /* the next channel's rows under the task, a share per tap (in a model the input is the op
     * before's output, mostly in L3: the first tap's loads stalled) */
    int64_t ih0 = ps->seg[0].oh * g->s[1] - g->pb[1],
            ih1 = ps->seg[ps->nseg - 1].oh * g->s[1] - g->pb[1] + (g->k[1] - 1) * g->d[1];
    ih0 = ih0 < 0 ? 0 : ih0, ih1 = ih1 >= g->in[1] ? g->in[1] - 1 : ih1;
    const int64_t lines = ih1 >= ih0 ? ((ih1 - ih0 + 1) * g->in[2] * 4 + 63) / 64 : 0,
                  per = (lines + KHW - 1) / KHW * 64; /* bytes per tap */
    int64_t c = k0 / KHW, r = k0 % KHW;
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *xc = ps->x + c * g->isp;
        afk_prefetch_bytes((const char *)(xc + g->isp + ih0 * g->in[2]) + r * per, per);
        const ptap *t = tab + r * ps->nseg;
        if (++r == KHW) r = 0, c++;
        for (int64_t j = 0; j < n_panels; j++) {
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            for (int e = ps->first[j]; e < ps->first[j + 1]; e++) {
                if (!t[e].mask) continue;
                /* lane r reads xc[off + r*s]; masked lanes are never read */
                uintptr_t base = (uintptr_t)xc + (uintptr_t)((intptr_t)t[e].off * 4);
                v0 = lanes16(v0, (__mmask16)t[e].mask, base, s, idx);
                v1 = lanes16(v1, (__mmask16)(t[e].mask >> 16), base + (uintptr_t)(16 * s * 4), s,
                             idx);
            }
            float *d = dst + (j * kc + kk) * 32;
            _mm512_store_ps(d, v0);
            _mm512_store_ps(d + 16, v1);
        }
    }
}

TGT512 static void pack_b_segments(const pack_src *ps, int64_t k0, int64_t kc, float *dst)
{
    const conv_geom *g = ps->g;
    if (g->k[1] * g->k[2] * ps->nseg <= TAP_MAX) {
        pack_b_taps(ps, k0, kc, dst);
        return;
    }
    const int64_t s = g->s[2], n_panels = (ps->t + 31) / 32;
    const __m512i idx = _mm512_mullo_epi32(_mm512_set1_epi32((int)s),
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    kw_span spans[KW_CACHE];
    for (int64_t kw = 0; kw < g->k[2] && kw < KW_CACHE; kw++) spans[kw] = kw_span_of(g, kw);
    int64_t c = k0 / g->K, r = k0 % g->K, kh = r / g->k[2], kw = r % g->k[2];
    for (int64_t kk = 0; kk < kc; kk++) {
        kw_span sp = kw < KW_CACHE ? spans[kw] : kw_span_of(g, kw);
        const float *xc = ps->x + c * g->isp;
        const int64_t dh = kh * g->d[1] - g->pb[1];
        if (++kw == g->k[2]) { /* the next row's (c, kh, kw) */
            kw = 0;
            if (++kh == g->k[1]) kh = 0, c++;
        }
        for (int64_t j = 0; j < n_panels; j++) {
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            for (int e = ps->first[j]; e < ps->first[j + 1]; e++) {
                const pseg *q = &ps->seg[e];
                int64_t ih = q->oh * g->s[1] + dh;
                if (ih < 0 || ih >= g->in[1]) continue;
                int64_t lo = q->lane0 + (sp.lo > q->ow0 ? sp.lo - q->ow0 : 0);
                int64_t hi = q->lane0 + (sp.hi + 1 - q->ow0);
                if (hi > q->lane1) hi = q->lane1;
                if (hi <= lo) continue;
                uint64_t m = (((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1);
                /* lane r reads row[(ow0 + r - lane0)*s + off] */
                uintptr_t base = (uintptr_t)(xc + ih * g->in[2]) +
                                 (uintptr_t)(((q->ow0 - q->lane0) * s + sp.off) * 4);
                v0 = lanes16(v0, (__mmask16)m, base, s, idx);
                v1 = lanes16(v1, (__mmask16)(m >> 16), base + (uintptr_t)(16 * s * 4), s, idx);
            }
            float *d = dst + (j * kc + kk) * 32;
            _mm512_store_ps(d, v0);
            _mm512_store_ps(d + 16, v1);
        }
    }
}

/* Pointwise rows: x rows copied 32 at a time, the last panel masked. */
TGT512 static void pack_b_rows512(const pack_src *ps, int64_t k0, int64_t kc, float *dst)
{
    const int64_t t = ps->t, full = t / 32;
    const uint64_t m = ((uint64_t)1 << (t % 32)) - 1;
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *x = ps->x + (k0 + kk) * ps->g->isp + ps->p0;
        float *d = dst + kk * 32;
        for (int64_t j = 0; j < full; j++, x += 32, d += kc * 32) {
            _mm512_store_ps(d, _mm512_loadu_ps(x));
            _mm512_store_ps(d + 16, _mm512_loadu_ps(x + 16));
        }
        if (m) {
            _mm512_store_ps(d, _mm512_maskz_loadu_ps((__mmask16)m, x));
            _mm512_store_ps(d + 16, _mm512_maskz_loadu_ps((__mmask16)(m >> 16), x + 16));
        }
    }
}
#else
static int pack_segments(pack_src *ps, int nr) { (void)nr; ps->nseg = 0; return 0; }
#endif

/* afk_pack_b_fn: rows [k0, k0+kc) of the virtual col (Cg*K, t) as nr-wide panels. */
static void pack_b_conv(const void *arg, int64_t k0, int64_t kc, int nr, float *dst)
{
    const pack_src *ps = arg;
#if defined(__x86_64__) || defined(__i386__)
    if (nr == 32 && ps->pointwise) {
        pack_b_rows512(ps, k0, kc, dst);
        return;
    }
    if (nr == 32 && ps->nseg > 0) {
        pack_b_segments(ps, k0, kc, dst);
        return;
    }
#endif
    int64_t t = ps->t, tpad = (t + nr - 1) / nr * nr, pstride = kc * nr;
    for (int64_t kk = 0; kk < kc; kk++) {
        float *d = dst + kk * nr;
        if (tpad > t) put_run(d, pstride, nr, t, tpad - t, NULL, 0);
        if (ps->pointwise)
            put_run(d, pstride, nr, 0, t, ps->x + (k0 + kk) * ps->g->isp + ps->p0, 1);
        else
            pack_col_row(ps, k0 + kk, d, pstride, nr);
    }
}

/* The conv as independent tasks. Task boundaries depend only on the shapes (never on the
 * thread count), and each task computes its outputs alone, so results are bit-identical for
 * any number of threads. GEMM convs: one task per (image, group, row block of Mg, tile of T
 * output positions); rows are split (TASK_MBLK) only when tiles alone give < MIN_TASKS tasks.
 * Depthwise convs: one task per DW_CHANNELS (or more, for at least DW_OUTPUTS outputs, up to
 * 64) channels of one image. */
typedef struct conv_job {
    conv_geom g;
    const af_conv_params *cp;
    const float *X, *W, *B;
    float *Y;
    uint8_t *scratch;
    size_t slice;             /* per-thread scratch bytes */
    int pointwise, depthwise;
    int nr;                   /* panel width of sgemm_packed.c's kernel; 0: im2col + afk_sgemm */
    const float *packed;      /* ctx->packed when cut for this kernel, else NULL */
    const uint16_t *packed16; /* its half panels (PACK_GEMM16), else NULL */
    const afk_cw *cw;         /* its compressed panels (PACK_CW), else NULL */
    const afk_q8 *q8;         /* its int8 panels (PACK_Q8): int8 compute, else NULL */
    int64_t rows, T, n_tiles, mb, n_mblk;
    int lanes;                /* packed / packed16 are cut for channel-lane tiles */
    int nbands;               /* > 0: packed is PACK_KH, tiles run per band (kh_bands) */
    kh_band bands[KH_BANDS];
    int64_t mgp, mr;          /* rows of a group's packed panels (Mg rounded up); of a panel */
    const float *R;           /* fused residual (Y's layout) or NULL; then cp->act is identity */
    af_unary_params ract;     /* and the conv's activation, applied after adding R */
    int64_t dwc;              /* depthwise: channels per task */
} conv_job;

/* With a fused residual, after conv + bias has been written to rows y (mc rows osp apart),
 * positions [p0, p0+t): y = act(y + R) in one pass over the still cache-hot rows. */
static void conv_residual(const conv_job *j, float *y, int64_t mc, int64_t p0, int64_t t)
{
    if (!j->R) return;
    int kind = afk_act_kind(&j->ract);
    for (int64_t m = 0; m < mc; m++) {
        float *row = y + m * j->g.osp + p0;
        const float *r = j->R + (row - j->Y); /* R has Y's layout */
        if (kind >= 0) {
            afk_vec_add_act(row, r, t, kind, j->ract.alpha, j->ract.beta);
            continue;
        }
        afk_vec_binary(AF_BINARY_ADD, row, r, 0, row, t);
        afk_act_apply(&j->ract, row, t);
    }
}

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
#elif defined(__aarch64__)
    return !afk_vec_force_portable; /* for dw_neon.c's direct kernel (its own check) */
#else
    return 0;
#endif
}

/* dw_fast.c's direct kernel takes this 2-D conv (square 3x3 / 5x5, equal strides 1 or 2,
 * undilated, >= 4 output rows); the caller has checked dw_padded_geom (2-D, scratch >= W
 * floats). */
static int dw_direct_applies(const conv_geom *g)
{
    return g->k[1] == g->k[2] && g->s[1] == g->s[2] && g->d[1] == 1 && g->d[2] == 1 &&
           afk_dw2d_applies(g->k[2], g->s[2], g->out[1]);
}

/* One channel through afk_dw2d_run; returns the fused AFK_ACT_* or -1 (epilogue not applied). */
static int dw_direct(const conv_job *j, const float *x, const float *w, float *y, int64_t c,
                     const float *zero)
{
    const conv_geom *g = &j->g;
    const afk_dw2d d = {x, w, y, zero, g->in[1], g->in[2], g->out[1], g->out[2], g->pb[1],
                        g->pb[2], (int)g->k[2], (int)g->s[2], afk_pgemm_act(&j->cp->act),
                        j->B ? j->B[c] : 0.0f, j->cp->act.alpha, j->cp->act.beta};
    afk_dw2d_run(&d);
    return d.act;
}

/* One band of output rows of one group of one image, the group's output channels in lanes
 * (conv_glanes.c). */
static void conv_glanes_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    const int64_t rows = afk_glanes_band_rows(g), nb = (g->out[1] + rows - 1) / rows;
    const int64_t band = task % nb, gi = task / nb % g->G, n = task / nb / g->G;
    const int64_t oh0 = band * rows, oh1 = oh0 + rows < g->out[1] ? oh0 + rows : g->out[1];
    const int64_t p0 = oh0 * g->out[2], t = (oh1 - oh0) * g->out[2];
    const int act = afk_pgemm_act(&j->cp->act);
    float *y = j->Y + n * g->M * g->osp;
    afk_glanes_group(g, j->X + n * g->C * g->isp, (const float *)j->packed + PACK_HDR, j->B, y, gi,
                     oh0, oh1, (float *)(j->scratch + (size_t)tid * j->slice), act,
                     j->cp->act.alpha, j->cp->act.beta);
    for (int64_t m = 0; act < 0 && m < g->Mg; m++)
        conv_epilogue(j, gi, m, 1, y + (gi * g->Mg + m) * g->osp, p0, t);
    conv_residual(j, y + gi * g->Mg * g->osp, g->Mg, p0, t);
}

/* One band of output rows of one image, output positions in lanes (conv_stem.c). */
static void conv_stem_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    const int64_t rows = afk_stem_band_rows(g), nb = (g->out[1] + rows - 1) / rows;
    const int64_t band = task % nb, n = task / nb;
    const int64_t oh0 = band * rows, oh1 = oh0 + rows < g->out[1] ? oh0 + rows : g->out[1];
    const int64_t p0 = oh0 * g->out[2], t = (oh1 - oh0) * g->out[2];
    const int act = afk_pgemm_act(&j->cp->act);
    float *y = j->Y + n * g->M * g->osp;
    afk_stem_band(g, j->X + n * g->C * g->isp, (const float *)j->packed + PACK_HDR, j->B, y, oh0,
                  oh1, (float *)(j->scratch + (size_t)tid * j->slice), act, j->cp->act.alpha,
                  j->cp->act.beta);
    if (act < 0) conv_epilogue(j, 0, 0, g->M, y, p0, t);
    conv_residual(j, y, g->M, p0, t);
}

/* 16 channels of one image with the channels in the lanes (dw_lanes.c). */
static void conv_dw_lanes_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    const int64_t per_img = (g->C + 15) / 16, n = task / per_img, c0 = task % per_img * 16;
    const int64_t nc = g->C - c0 < 16 ? g->C - c0 : 16;
    const int act = afk_pgemm_act(&j->cp->act);
    float *y = j->Y + n * g->M * g->osp;
    const float *wp = j->packed ? j->packed + PACK_HDR : NULL; /* PACK_DWL, or transposed */
    afk_dw_lanes16(g, j->X + n * g->C * g->isp, j->W, wp, j->B, y, c0, nc,
                   (float *)(j->scratch + (size_t)tid * j->slice), act, j->cp->act.alpha,
                   j->cp->act.beta);
    for (int64_t c = c0; act < 0 && c < c0 + nc; c++)
        conv_epilogue(j, c, 0, 1, y + c * g->osp, 0, g->osp);
    conv_residual(j, y + c0 * g->osp, nc, 0, g->osp);
}

static void conv_dw_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->g;
    int64_t per_img = (g->C + j->dwc - 1) / j->dwc, n = task / per_img;
    int64_t c0 = task % per_img * j->dwc, PH, PW, floats;
    int padded = j->scratch && have_avx2() && afk_dw_padded_geom(g, &PH, &PW, &floats);
    float *pad = padded ? (float *)(j->scratch + (size_t)tid * j->slice) : NULL;
    int direct = padded && dw_direct_applies(g);
    if (direct) memset(pad, 0, (size_t)g->in[2] * sizeof *pad); /* the zero row */
    for (int64_t c = c0; c < c0 + j->dwc && c < g->C; c++) {
        float *y = j->Y + (n * g->M + c) * g->osp;
        const float *x = j->X + (n * g->C + c) * g->isp, *w = j->W + c * g->K;
        if (direct) {
            if (dw_direct(j, x, w, y, c, pad) >= 0) continue; /* epilogue fused */
            conv_epilogue(j, c, 0, 1, y, 0, g->osp);
            continue;
        }
#if defined(__x86_64__) || defined(__i386__)
        if (padded && afk_pgemm_nr() == 32) { /* the AVX-512 kernel is in use */
            int act = afk_pgemm_act(&j->cp->act);
            afk_dw_padded_avx512(g, x, w, y, pad, PH, PW, c == c0, act, j->B ? j->B[c] : 0.0f,
                             j->cp->act.alpha, j->cp->act.beta);
            if (act >= 0) continue; /* epilogue fused */
            conv_epilogue(j, c, 0, 1, y, 0, g->osp);
            continue;
        }
        if (padded) {
            dw_epi e = {afk_act_kind(&j->cp->act), j->B ? j->B[c] : 0.0f, j->cp->act.alpha,
                        j->cp->act.beta};
            afk_dw_padded_avx2(g, x, w, y, pad, PH, PW, pad + PH * PW, c == c0, &e);
            if (e.kind >= 0) continue; /* epilogue fused */
        } else
#endif
            afk_dw_channel(g, x, w, y);
        conv_epilogue(j, c, 0, 1, y, 0, g->osp);
    }
    int64_t nc = g->C - c0 < j->dwc ? g->C - c0 : j->dwc; /* the task's channels */
    conv_residual(j, j->Y + (n * g->M + c0) * g->osp, nc, 0, g->osp);
}

/* One tile of a PACK_KH conv: the GEMMs of its band's live kernel rows, summed into C. */
static void conv_kh_task(const conv_job *j, int64_t task, int tid)
{
    const conv_geom *g = &j->g;
    int64_t tile = task % j->n_tiles, r = task / j->n_tiles;
    int64_t mbi = r % j->n_mblk, ng = r / j->n_mblk, gi = ng % g->G, n = ng / g->G;
    const kh_band *b = j->bands;
    while (tile >= b->chunks) tile -= b->chunks, b++;
    int64_t p0 = b->p0 + tile * b->per, t = b->p1 - p0 < b->per ? b->p1 - p0 : b->per;
    int64_t m0 = mbi * j->mb, mc = g->Mg - m0 < j->mb ? g->Mg - m0 : j->mb;
    const int64_t Kk = g->Cg * g->k[2];
    const float *xg = j->X + (n * g->C + gi * g->Cg) * g->isp;
    float *yg = j->Y + (n * g->M + gi * g->Mg) * g->osp + m0 * g->osp;
    const int kind = afk_pgemm_act(&j->cp->act);
    if (!b->alive) /* every product reads padding: bias and activation alone */
        for (int64_t m = 0; m < mc; m++) memset(yg + m * g->osp + p0, 0, (size_t)t * sizeof(float));
    for (int64_t kh = 0; kh < g->k[1]; kh++) {
        if (!(b->alive >> kh & 1)) continue;
        const int first = !(b->alive & (((uint64_t)1 << kh) - 1)), last = !(b->alive >> kh >> 1);
        conv_geom gk = *g; /* the 1 x KW conv of the input shifted down by kh's offset */
        gk.k[1] = 1, gk.pb[1] = g->pb[1] - kh * g->d[1], gk.K = g->k[2];
        pack_src ps; /* ~9 KiB of stack */
        ps.g = &gk, ps.x = xg, ps.p0 = p0, ps.t = t, ps.pointwise = 0;
        pack_segments(&ps, j->nr);
        afk_pgemm pg = {.M = mc, .N = t, .K = Kk,
                        .Ap = j->packed + PACK_HDR + (kh * g->G + gi) * j->mgp * Kk,
                        .ap_rows = j->mgp, .ap_row0 = m0, .lanes = j->lanes,
                        .pack_b = pack_b_conv, .b_arg = &ps, .C = yg + p0, .ldc = g->osp,
                        .bias = last && kind >= 0 && j->B ? j->B + gi * g->Mg + m0 : NULL,
                        .act = last && kind >= 0 ? kind : AFK_ACT_NONE,
                        .lo = j->cp->act.alpha, .hi = j->cp->act.beta, .acc = !first,
                        .work = (float *)(j->scratch + (size_t)tid * j->slice)};
        afk_pgemm_run(&pg);
    }
    if (kind < 0 || !b->alive) conv_epilogue(j, gi, m0, mc, yg, p0, t);
    conv_residual(j, yg, mc, p0, t);
}

static void conv_gemm_task(void *arg, int64_t task, int tid)
{
    const conv_job *j = arg;
    if (j->nbands) {
        conv_kh_task(j, task, tid);
        return;
    }
    const conv_geom *g = &j->g;
    int64_t tile = task % j->n_tiles, r = task / j->n_tiles;
    int64_t mbi = r % j->n_mblk, ng = r / j->n_mblk, gi = ng % g->G, n = ng / g->G;
    int64_t p0 = tile * j->T, t = g->osp - p0 < j->T ? g->osp - p0 : j->T;
    int64_t m0 = mbi * j->mb, mc = g->Mg - m0 < j->mb ? g->Mg - m0 : j->mb;
    const float *xg = j->X + (n * g->C + gi * g->Cg) * g->isp;
    const float *wg = j->W ? j->W + (gi * g->Mg + m0) * j->rows : NULL; /* NULL: only packed */
    float *yg = j->Y + (n * g->M + gi * g->Mg) * g->osp;
    if (j->nr > 0) { /* implicit im2col into packed panels, epilogue fused when it can be */
        pack_src ps; /* ~9 KiB of stack */
        ps.g = g, ps.x = xg, ps.p0 = p0, ps.t = t, ps.pointwise = j->pointwise;
        if (!j->pointwise) pack_segments(&ps, j->nr);
        int kind = afk_pgemm_act(&j->cp->act);
        const float *bias = kind >= 0 && j->B ? j->B + gi * g->Mg + m0 : NULL;
        const float *Ap = j->packed ? j->packed + PACK_HDR + gi * j->mgp * j->rows : NULL;
        const uint16_t *Ap16 = j->packed16 ? j->packed16 + gi * j->mgp * j->rows : NULL;
        afk_pgemm pg = {.M = mc, .N = t, .K = j->rows, .A = wg, .lda = j->rows, .Ap = Ap,
                        .Ap16 = Ap16, .Acw = j->cw, .Aq8 = j->q8, .acw_group = gi,
                        .ap_rows = j->mgp, .ap_row0 = m0, .lanes = j->lanes,
                        .pack_b = pack_b_conv, .b_arg = &ps, .C = yg + m0 * g->osp + p0,
                        .ldc = g->osp, .bias = bias, .act = kind >= 0 ? kind : AFK_ACT_NONE,
                        .lo = j->cp->act.alpha, .hi = j->cp->act.beta,
                        .work = (float *)(j->scratch + (size_t)tid * j->slice)};
        if (j->pointwise) pg.Bd = xg + p0, pg.ldb = g->isp; /* rows of the image (K, osp) */
        const int rk = j->R && kind >= 0 ? afk_act_kind(&j->ract) : -1;
        if (rk >= 0) { /* the residual in the tile's epilogue where the kernel takes it */
            pg.R = j->R + (pg.C - j->Y), pg.ract = rk; /* R has Y's layout */
            pg.rlo = j->ract.alpha, pg.rhi = j->ract.beta;
            if (!afk_pgemm_res_ok(&pg)) pg.R = NULL;
        }
        afk_pgemm_run(&pg);
        if (kind < 0) conv_epilogue(j, gi, m0, mc, yg + m0 * g->osp, p0, t);
        if (!pg.R) conv_residual(j, yg + m0 * g->osp, mc, p0, t);
        return;
    }
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
    conv_residual(j, yg + m0 * g->osp, mc, p0, t);
}

/* Packed GEMM on nt > 1 threads (its sums do not depend on the cut): tiles of whole panels
 * with the busiest thread's share of panels as close to 1/nt as a few tile counts allow, every
 * row in one block (B packed once per tile); maps of fewer than 4 panels per thread keep one
 * tile and cut the rows into nt blocks of whole micro-panels (B packed nt times). */
static void balance_tasks(conv_job *j, int nt)
{
    const conv_geom *g = &j->g;
    const int64_t per = g->N * g->G, panels = (g->osp + j->nr - 1) / j->nr, mr = j->mr;
    if (per >= 8 * nt) return; /* plenty of tasks already */
    if (panels < 4 * nt && panels >= nt && g->Mg < g->osp && per == 1) {
        /* fewer weights than positions: each thread streams all of A (small) and packs only
         * its own tiles' B: nt tiles of whole panels (13x13 at 64 channels: 3 + 3 panels
         * instead of 42 + 22 rows) */
        int64_t pp = (panels + nt - 1) / nt;
        if (pp * j->nr <= j->T) {
            j->T = pp * j->nr, j->n_tiles = (g->osp + j->T - 1) / j->T, j->mb = g->Mg;
            return;
        }
    }
    if (panels < 4 * nt) {
        if (per * j->n_tiles >= nt || g->Mg < 2 * mr) return;
        int64_t blocks = (g->Mg + mr - 1) / mr;
        j->mb = (blocks + nt - 1) / nt * mr;
        return;
    }
    int64_t best_T = j->T, best_load = -1;
    for (int64_t k = 1; k <= 4; k++) {
        int64_t pp = (panels + k * nt - 1) / (k * nt), T = pp * j->nr; /* panels per tile */
        if (T > j->T || pp < 4) continue;
        int64_t tiles = per * ((panels + pp - 1) / pp), load = (tiles + nt - 1) / nt * pp;
        if (best_load < 0 || load < best_load) best_load = load, best_T = T;
    }
    if (best_load < 0) return;
    j->T = best_T;
    j->n_tiles = (g->osp + best_T - 1) / best_T;
    j->mb = g->Mg;
}

/* Winograd over groups: task t = (image, group) with the group's slice of x, y, U, bias. */
typedef struct wino_groups {
    const conv_job *j;
    const afk_wino *w; /* planned, U the first group's */
    const af_kctx *ctx;
} wino_groups;

static void wino_group(const wino_groups *a, int64_t t, const af_kctx *ctx, const afk_wino *w0)
{
    const conv_geom *g = &a->j->g;
    const int64_t n = t / g->G, gi = t % g->G;
    afk_wino w = *w0;
    w.x = a->j->X + (n * g->C + gi * g->Cg) * g->isp;
    w.y = a->j->Y + (n * g->M + gi * g->Mg) * g->osp;
    w.res = a->j->R ? a->j->R + (n * g->M + gi * g->Mg) * g->osp : NULL; /* in its epilogue */
    w.bias = a->j->B ? a->j->B + gi * g->Mg : NULL;
    if (w.U) w.U += gi * (int64_t)afk_wino_pack_floats(&w);
    afk_wino_run(&w, ctx);
}

/* One group on one thread: its scratch slice, no pool (the same bits: Winograd's sums do not
 * depend on the thread count). */
static void wino_group_task(void *arg, int64_t t, int tid)
{
    const wino_groups *a = arg;
    afk_wino w = *a->w;
    w.scratch = a->w->scratch + (size_t)tid * a->w->slice;
    af_kctx one = {.n_threads = 1};
    wino_group(a, t, &one, &w);
}

// X (N,C,*) ⊛ W (M,C/g,*) + B (M) -> Y (N,M,*)
af_status afk_conv_run(AFK_RUN_ARGS)
{
    (void)n_out;
    conv_job j = {.cp = &p->conv, .X = in[0].data, .W = in[1].data, .Y = out[0].data};
    afk_conv_geom(&j.g, &p->conv, &in[0], &in[1], &out[0], 0);
    const conv_geom *g = &j.g;
    j.B = n_in > 2 ? in[2].data : NULL;
    af_conv_params cpr = p->conv; /* with a fused residual every path below computes conv + */
    if (n_in > 3 && !afk_omitted(&in[3])) { /* bias, then conv_residual: act(y + R) */
        j.R = in[3].data, j.ract = p->conv.act, j.cp = &cpr;
        cpr.act = (af_unary_params){.fn = AF_UNARY_IDENTITY};
    }
    int nt = ctx && ctx->n_threads > 0 ? ctx->n_threads : 1;
    j.scratch = ctx ? ctx->scratch : NULL;
    j.slice = ctx && ctx->pool ? ctx->scratch_bytes / (size_t)nt : 0;
    j.pointwise = is_pointwise(g);
    j.depthwise = is_depthwise(g);
    if (j.depthwise && j.scratch && afk_dw_lanes_ok(g) &&
        ctx->scratch_bytes / (size_t)nt >= afk_dw_lanes_floats(g) * sizeof(float)) {
        if (packed_kind(ctx->packed) == PACK_DWL) j.packed = ctx->packed;
        afk_parallel(ctx, g->N * ((g->C + 15) / 16), conv_dw_lanes_task, &j);
        return AF_OK;
    }
    if (j.depthwise) {
        /* at least DW_OUTPUTS outputs per task (a rule on the shape): small maps would
         * otherwise spend more on claiming tasks than on the work */
        j.dwc = DW_OUTPUTS / (g->osp > 0 ? g->osp : 1);
        j.dwc = j.dwc < DW_CHANNELS ? DW_CHANNELS : j.dwc > 64 ? 64 : j.dwc;
        afk_parallel(ctx, g->N * ((g->C + j.dwc - 1) / j.dwc), conv_dw_task, &j);
        return AF_OK;
    }
    afk_wino w;
    const int kind = packed_kind(ctx ? ctx->packed : NULL);
    const int32_t *h = kind >= 0 ? ctx->packed : NULL;
    if (kind == PACK_STEM && j.scratch && stem_geom(g) &&
        ctx->scratch_bytes / (size_t)nt >= afk_stem_floats(g) * sizeof(float)) {
        j.packed = ctx->packed;
        const int64_t rows = afk_stem_band_rows(g);
        afk_parallel(ctx, g->N * ((g->out[1] + rows - 1) / rows), conv_stem_task, &j);
        return AF_OK;
    }
    if (kind == PACK_GLANES && j.scratch && glanes_geom(g, &p->conv) &&
        ctx->scratch_bytes / (size_t)nt >= afk_glanes_floats(g) * sizeof(float)) {
        j.packed = ctx->packed;
        const int64_t rows = afk_glanes_band_rows(g);
        afk_parallel(ctx, g->N * g->G * ((g->out[1] + rows - 1) / rows), conv_glanes_task, &j);
        return AF_OK;
    }
    if (h && ctx->scratch && (kind == PACK_WINO || kind == PACK_WQ8 || (kind == PACK_CW && h[2])) &&
        wino_plan(g, &p->conv, &w) && (kind == PACK_WQ8 ? (w.m = h[2]) > 0 : h[2] == w.m) &&
        ctx->scratch_bytes / (size_t)nt >= (kind == PACK_WQ8 ? afk_wino_int8_thread_floats(&w) *
                                                                   sizeof(float)
                                                             : wino_scratch(&w)) &&
        ((kind != PACK_CW && !w.dout) ||
         (ctx->shared && ctx->shared_bytes >= afk_conv_shared_bytes(h)))) {
        w.scratch = (float *)ctx->scratch, w.slice = ctx->scratch_bytes / (size_t)nt / sizeof(float);
        w.U = (const float *)h + PACK_HDR, w.bias = j.B;
        if (kind == PACK_WQ8) w.Uq8 = (const afk_q8 *)((const float *)h + PACK_HDR), w.U = NULL;
        if (kind == PACK_CW) { /* transformed now, into the shared buffer */
            afk_wino_cw_transform(&w, (const afk_cw *)((const float *)h + PACK_HDR), ctx->shared,
                                  ctx);
            w.U = ctx->shared;
        }
        if (w.dout) { /* dilated, one group: per image on the mosaic */
            for (int64_t n = 0; n < g->N; n++)
                afk_mosaic_run(g, &w, j.X + n * g->C * g->isp, j.R ? j.R + n * g->M * g->osp : NULL,
                               j.Y + n * g->M * g->osp, ctx->shared, ctx);
            return AF_OK;
        }
        wino_groups wg = {&j, &w, ctx};
        if (g->G >= 2 * nt && nt > 1) { /* whole groups per thread: no pool sync per group */
            afk_parallel(ctx, g->N * g->G, wino_group_task, &wg);
            return AF_OK;
        }
        for (int64_t t = 0; t < g->N * g->G; t++) wino_group(&wg, t, ctx, &w);
        return AF_OK;
    }
    j.rows = g->Cg * g->K;
    j.T = task_tile(j.pointwise ? 1 : j.rows, g->osp);
    j.n_tiles = g->osp > 0 ? (g->osp + j.T - 1) / j.T : 0;
    if (j.scratch && ctx->scratch_bytes / (size_t)nt >= afk_pgemm_work_floats(j.T) * 4)
        j.nr = afk_pgemm_nr();
    const int pk = j.nr > 0 ? packed_kind(ctx->packed) : -1;
    if (pk == PACK_GEMM || pk == PACK_LANES) j.packed = ctx->packed;
    if (pk == PACK_GEMM16 || pk == PACK_LANES16)
        j.packed16 = (const uint16_t *)((const float *)ctx->packed + PACK_HDR);
    j.lanes = pk == PACK_LANES || pk == PACK_LANES16;
    j.mr = j.lanes ? AFK_PGEMM_LR : afk_pgemm_mr();
    j.mgp = j.lanes ? (g->Mg + j.mr - 1) / j.mr * j.mr : g->Mg;
    if (j.nr > 0 && packed_kind(ctx->packed) == PACK_CW)
        j.cw = (const afk_cw *)((const float *)ctx->packed + PACK_HDR);
    if (j.nr > 0 && packed_kind(ctx->packed) == PACK_Q8 && afk_q8_available())
        j.q8 = (const afk_q8 *)((const float *)ctx->packed + PACK_HDR);
    if (pk == PACK_KH) { /* per kernel row, tiles cut at band edges */
        const int32_t *hk = ctx->packed;
        j.packed = ctx->packed, j.lanes = hk[2];
        j.mr = j.lanes ? AFK_PGEMM_LR : afk_pgemm_mr();
        j.mgp = j.lanes ? (g->Mg + j.mr - 1) / j.mr * j.mr : g->Mg;
        j.n_tiles = kh_bands(g, j.T, j.bands, &j.nbands);
    }
    if (!j.W && !j.packed && !j.packed16 && !j.cw && !j.q8)
        return af_err_set(err, AF_ERR_USAGE, "conv: W exists only packed, for another kernel");
    j.mb = g->Mg;
    if (g->N * g->G * j.n_tiles < MIN_TASKS && g->Mg > TASK_MBLK) j.mb = TASK_MBLK;
    /* the packed GEMM's sums do not depend on the row split: one block when alone (B is
     * packed once), else blocks of whole micro-panels */
    if (j.nr > 0) j.mb = nt == 1 ? g->Mg : (j.mb + j.mr - 1) / j.mr * j.mr;
    if (j.nr > 0 && nt > 1 && !j.nbands) balance_tasks(&j, nt);
    if (j.nbands && nt > 1 && g->N * g->G * j.n_tiles < 2 * nt) { /* rows in nt blocks */
        int64_t blocks = (g->Mg + j.mr - 1) / j.mr;
        j.mb = (blocks + nt - 1) / nt * j.mr;
    }
    j.n_mblk = j.mb > 0 ? (g->Mg + j.mb - 1) / j.mb : 0;
    afk_parallel(ctx, g->N * g->G * j.n_mblk * j.n_tiles, conv_gemm_task, &j);
    return AF_OK;
}

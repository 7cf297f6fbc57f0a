/* tests/unit/test_qconv_vnni.c — the AVX512-VNNI integer conv (runtime/kernels/qconv_vnni.c)
 * against the reference path of runtime/kernels/quant.c, bit for bit: QLINEAR_CONV and
 * CONV_INTEGER with the weight packed (af_kernel_prepack, ctx->packed) and without (the
 * reference), on random codes: 1x1, 3x3 stride 1 and 2 with padding, dilation, 7x7 stride 2,
 * groups, K above 256 and K not a multiple of 4, 1-D and 3-D convs, uint8 and int8 activations,
 * weights and outputs, nonzero zero points (per tensor and per channel), with and without bias,
 * stride 2 (1x1 to 7x7, odd and even maps), 1x1 maps (one position) and blocks ending in 1-4
 * positions past whole vectors (7x7, 5x5, 17x17 maps), small maps gathered compactly from the
 * padded image (7x7 to 14x14), outputs that saturate (and a zero y_scale: the scalar
 * requantization), position counts that are not a multiple of 16, batch 2; depthwise 3x3 and
 * 5x5, stride 1 and 2, and with symmetric int8 weights (the uint8-code path, 3x3 to 7x7, maps
 * of 7 to 112, int32 and scalar outputs); depthwise convs with 16 channels in the lanes (maps
 * up to 112 x 112 outputs, made in bands; int8 taps or f32 FMAs; odd and non-square maps,
 * channels past a multiple of 16, wrapping biases, scales that saturate or are not finite),
 * checked to take that path exactly when expected; each with 1, 2 and 3 threads, with 2
 * threads but no ctx->shared (stride-1 and stride-2 convs then take the bounds-checked im2col
 * instead of the padded image), with 1 thread and afk_qconv_vnni_no_dw8 + no_dwl (depthwise
 * convs on the int16-pair path), and (depthwise) with 1 thread and afk_qconv_vnni_no_dwl (the
 * per-channel loops). Both paths compute exact integer sums and requantize alike, so there is no
 * tolerance: the output bytes must be equal. Symmetric one-group stride-1/2 convs read the
 * channel-quad padded image in the tiles (no panel): C not a multiple of 4, pads 0 to 2, dilation,
 * small maps, batch 2, 1-D; afk_qconv_vnni_direct_runs shows that exactly the runs expected to
 * take that path (shared bytes given, every w - wz the weight's code) took it, and the runs with
 * nonzero zero points or no ctx->shared check the quad-ordered weights on the panel paths. The
 * packed runs are handed a zeroed weight, so equal bytes also show the VNNI path ran. Depthwise
 * convs take their own path (stride 1 or 2, kernels up to 7x7, no dilation); other depthwise
 * shapes and groups of fewer than 4 channels pack nothing and stay on the reference. Without
 * AVX512-VNNI nothing packs (checked) and nothing else is. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "runtime/kernels/qconv.h"
#include "runtime/kernels/qgemm.h"
#include "test_kernels_util.h"

typedef struct qcase {
    const char *name;
    int op_integer;       /* 1: CONV_INTEGER (int32 out), else QLINEAR_CONV */
    int nsp;              /* spatial dims */
    int64_t N, C, M, G, sp, k; /* sp: each spatial extent, k: each kernel extent */
    int stride, pad, dil;
    af_dtype xdt, wdt, ydt;
    int wz_per_channel, bias; /* wz_per_channel 2: per channel, all 0 (symmetric); 3: per
                               * channel, all the code of 0 (0 for int8, 128 for uint8); 4: per
                               * channel, random, each w within int8 of it (w - wz fits int8).
                               * bias 2: near INT32_MAX (the sums wrap); 3: +-2^23..2^24 */
    int ys_kind; /* 1: y_scale 0 (an infinite scale: the scalar requant), 2: tiny (saturates),
                  * 3: channel 5's w_scale infinite (its depthwise group declines the lanes),
                  * 4: 13.4 (bias kind 3 lands in range for some channels), 5: 1e-10 (the
                  * scaled sums overflow int32 before the clamp) */
} qcase;

static uint64_t qstate = 0x243f6a8885a308d3ull;
static int32_t irand(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    qstate = qstate * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int32_t)((qstate >> 33) % (uint64_t)(hi - lo + 1));
}

static void fill_codes(af_dtype dt, void *d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (dt == AF_DTYPE_U8) ((uint8_t *)d)[i] = (uint8_t)irand(0, 255);
        else ((int8_t *)d)[i] = (int8_t)irand(-128, 127);
    }
}

static int32_t zp_rand(af_dtype dt) { return dt == AF_DTYPE_U8 ? irand(0, 255) : irand(-128, 127); }

static void store_zp(af_dtype dt, void *d, int64_t i, int32_t v)
{
    if (dt == AF_DTYPE_U8) ((uint8_t *)d)[i] = (uint8_t)v;
    else ((int8_t *)d)[i] = (int8_t)v;
}

/* qconv_vnni.c's tile lanes for n positions (qv_lanes): whole blocks of 64, the rest rounded up
 * to 16, or down when 1..4 are left. */
static int64_t lanes(int64_t n)
{
    int64_t tl = n % 64;
    if (tl % 16 <= 4) tl -= tl % 16;
    return n / 64 * 64 + (tl + 15) / 16 * 16;
}

/* Runs the node with threads threads; packed NULL: the reference path. */
static void run(af_op op, const af_params *p, const af_tview *in, int n_in, af_tview *out,
                const void *packed, int threads, int shared)
{
    af_err err = {0};
    size_t need = af_kernel_scratch_bytes(op, p, in, n_in, out, 1);
    size_t sh = shared && packed ? af_kernel_shared_bytes(op, packed) : 0;
    need = (need + 63) / 64 * 64;
    af_kctx ctx = {.scratch = aligned_alloc(64, need * (size_t)threads + 64),
                   .scratch_bytes = need * (size_t)threads, .n_threads = threads,
                   .packed = packed, .shared = sh ? aligned_alloc(64, (sh + 63) / 64 * 64) : NULL,
                   .shared_bytes = sh};
    afk_pool_create(threads, &ctx.pool, &err);
    af_status st = af_kernel_run(op, p, in, n_in, out, 1, &ctx, &err);
    CHECK(st == AF_OK, "run: %s", err.msg);
    afk_pool_free(ctx.pool);
    free(ctx.scratch), free(ctx.shared);
}

/* The CPU has AVX512-VBMI (the depthwise lanes path needs it). */
static int has_vbmi(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    return __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

/* qconv_vnni_dw.c's lanes path takes the depthwise conv: maps up to 112 x 112 outputs and
 * padded rows up to 512 positions (oh = 1 for 1-D). */
static int dw_lanes(const qcase *c, int64_t oh, int64_t ow)
{
    return has_vbmi() && oh * ow <= 112 * 112 && (ow - 1) * c->stride + c->k <= 512;
}

/* One case; sp2: a 2-D depthwise conv's last spatial extent when not c->sp (0: c->sp). */
static void one(const qcase *c, int64_t sp2)
{
    int r = c->nsp + 2;
    int64_t xd[5] = {c->N, c->C}, wd[5] = {c->M, c->C / c->G}, yd[5] = {c->N, c->M};
    int64_t osp1 = (c->sp + 2 * c->pad - c->dil * (c->k - 1) - 1) / c->stride + 1;
    sp2 = sp2 ? sp2 : c->sp;
    int64_t osp2 = (sp2 + 2 * c->pad - c->dil * (c->k - 1) - 1) / c->stride + 1;
    af_params p;
    memset(&p, 0, sizeof p);
    p.conv.nsp = c->nsp, p.conv.group = (int32_t)c->G;
    for (int i = 0; i < c->nsp; i++) {
        int last = i == c->nsp - 1;
        xd[2 + i] = last ? sp2 : c->sp, wd[2 + i] = c->k, yd[2 + i] = last ? osp2 : osp1;
        p.conv.kernel[i] = (int32_t)c->k, p.conv.stride[i] = c->stride;
        p.conv.dilation[i] = c->dil, p.conv.pad_begin[i] = p.conv.pad_end[i] = c->pad;
    }
    af_tview xv = mkview(c->xdt, NULL, r, xd), wv = mkview(c->wdt, NULL, r, wd);
    af_dtype ydt = c->op_integer ? AF_DTYPE_I32 : c->ydt;
    af_tview y0 = mkview(ydt, NULL, r, yd), y1 = y0;
    int64_t nx = af_tview_numel(&xv), nw = af_tview_numel(&wv), ny = af_tview_numel(&y0);
    int64_t K = wd[1] * af_tview_numel(&wv) / (wd[0] * wd[1]);
    size_t yb = (size_t)ny * (ydt == AF_DTYPE_I32 ? 4 : 1);
    xv.data = malloc((size_t)nx), wv.data = malloc((size_t)nw);
    y0.data = malloc(yb), y1.data = malloc(yb);
    fill_codes(c->xdt, xv.data, nx);
    fill_codes(c->wdt, wv.data, nw);
    uint8_t xz[1], yz[1], *wz = malloc((size_t)c->M);
    int32_t *bias = malloc((size_t)c->M * 4);
    float xs = 0.02f, ys, *ws = malloc((size_t)c->M * 4);
    store_zp(c->xdt, xz, 0, zp_rand(c->xdt));
    store_zp(ydt == AF_DTYPE_I32 ? AF_DTYPE_U8 : ydt, yz, 0,
             irand(0, 255) - (ydt == AF_DTYPE_I8) * 128);
    int64_t nwz = c->wz_per_channel ? c->M : 1;
    int64_t Kc = nw / c->M; /* weights per output channel */
    for (int64_t m = 0; m < c->M; m++) {
        int32_t z0 = c->wz_per_channel == 3 && c->wdt == AF_DTYPE_U8 ? 128 : 0;
        int32_t z = c->wz_per_channel == 4 ? zp_rand(c->wdt) / 2 + (c->wdt == AF_DTYPE_U8) * 64
                    : c->wz_per_channel >= 2 ? z0
                                             : zp_rand(c->wdt);
        store_zp(c->wdt, wz, m, z);
        for (int64_t k = 0; c->wz_per_channel == 4 && k < Kc; k++) { /* w - z within int8 */
            int32_t lo = c->wdt == AF_DTYPE_U8 ? 0 : -128, v = z + irand(-128, 127);
            store_zp(c->wdt, wv.data, m * Kc + k, v < lo ? lo : v > lo + 255 ? lo + 255 : v);
        }
        ws[m] = 0.004f * (float)(1 + m % 7);
        bias[m] = c->bias == 2   ? irand(2145386496, 2147483647)
                  : c->bias == 3 ? (irand(0, 1) ? 1 : -1) * irand(1 << 23, 1 << 24)
                                 : irand(-20000, 20000);
    }
    if (c->ys_kind == 3) ws[5] = INFINITY;
    /* |acc| ~ 100 * sqrt(K) * 128: outputs spread over the range, some saturate */
    ys = xs * 0.004f * 8000.0f * sqrtf((float)K) / 100.0f;
    if (c->ys_kind == 1 || c->ys_kind == 2) ys = c->ys_kind == 1 ? 0.0f : 1e-7f;
    if (c->ys_kind == 4 || c->ys_kind == 5) ys = c->ys_kind == 4 ? 13.4f : 1e-10f;
    af_tview in[9];
    int n_in;
    af_op op = c->op_integer ? AF_OP_CONV_INTEGER : AF_OP_QLINEAR_CONV;
    if (c->op_integer) {
        in[0] = xv, in[1] = wv;
        in[2] = TV(c->xdt, xz, 1);
        in[3] = mkview(c->wdt, wz, 1, (int64_t[]){nwz});
        n_in = 4;
    } else {
        in[0] = xv, in[1] = TV(AF_DTYPE_F32, &xs, 1), in[2] = TV(c->xdt, xz, 1), in[3] = wv;
        in[4] = mkview(AF_DTYPE_F32, ws, 1, (int64_t[]){nwz});
        in[5] = mkview(c->wdt, wz, 1, (int64_t[]){nwz});
        in[6] = TV(AF_DTYPE_F32, &ys, 1), in[7] = TV(c->ydt, yz, 1);
        in[8] = TV(AF_DTYPE_I32, bias, c->M);
        n_in = c->bias ? 9 : 8;
    }
    af_err err = {0};
    CHECK(af_kernel_check(op, &p, in, n_in, &y0, 1, &err) == AF_OK, "%s: %s", c->name, err.msg);
    run(op, &p, in, n_in, &y0, NULL, 1, 0);
    size_t pb = af_kernel_prepack_bytes(op, &p, in, n_in, &y0, 1);
    int dw = c->G == c->C && c->G == c->M && c->dil == 1 && c->stride <= 2 && c->k <= 7 &&
             c->nsp <= 2; /* qconv_vnni.c's depthwise path */
    int want = afk_q8_available() && ((c->M / c->G >= 4 && K >= 4) || dw);
    CHECK(!pb == !want, "%s: packs %zu bytes, expected %s", c->name, pb, want ? "some" : "none");
    void *packed = pb ? aligned_alloc(64, (pb + 63) / 64 * 64) : NULL;
    if (packed) af_kernel_prepack(op, &p, in, n_in, &y0, 1, packed);
    int padded = packed && !dw && c->nsp <= 2 &&
                 (c->stride == 1 ? c->k > 1 || c->pad > 0
                                 : c->stride == 2 && c->dil == 1 && c->nsp == 2);
    /* the tiles read the channel-quad image (no panel): one group, at most 1/8 more k than
     * C, and every w - wz equal to its code (int8 weights with zero point 0, uint8 with 128) */
    int sym = c->wz_per_channel == 3 || (c->wz_per_channel == 2 && c->wdt == AF_DTYPE_I8);
    int quad = padded && c->G == 1 && (c->C + 3) / 4 * 4 * 8 <= c->C * 9;
    /* small maps whose padded width costs 1/8 more lanes: output channels in the lanes, for
     * any zero points and with or without ctx->shared */
    int64_t wp = osp1 + (c->k - 1) * c->dil / c->stride, o1 = c->nsp == 2 ? osp1 : 1;
    int64_t osp = o1 * osp1, taps = c->nsp == 2 ? c->k * c->k : c->k;
    int small = packed && quad &&
                (lanes((o1 - 1) * wp + osp1) * 8 > lanes(osp) * 9 || osp <= 64 ||
                 (taps > 1 && osp <= 256));
    int direct = quad && sym && !small;
    /* a padded image in ctx->shared: every padded conv but the small-map ones */
    CHECK(!packed || !(padded && !small) == !af_kernel_shared_bytes(op, packed),
          "%s: wants %zu shared bytes", c->name, af_kernel_shared_bytes(op, packed));
    /* the packed runs see a zeroed weight: equal outputs prove the packed copy was used */
    af_tview inz[9];
    memcpy(inz, in, sizeof inz);
    int wi = af_kernel_weight_input(op);
    inz[wi].data = calloc((size_t)nw, 1);
    /* depthwise on small maps: 16 channels in the lanes, but for runs 5 and 6 */
    int lanes = packed && dw && dw_lanes(c, c->nsp == 2 ? osp1 : 1, osp2);
    for (int t = 1; pb && t <= (dw ? 6 : 5); t++) {
        /* 4: 2 threads without ctx->shared; 5: 1 thread, depthwise on the per-channel int16
         * path (no uint8-code path, no lanes); 6: 1 thread, the per-channel loops (no lanes) */
        memset(y1.data, 0xA5, yb);
        afk_qconv_vnni_no_dw8 = t == 5;
        afk_qconv_vnni_no_dwl = t >= 5;
        long runs = afk_qconv_vnni_direct_runs, sruns = afk_qconv_vnni_small_runs;
        long lruns = afk_qconv_vnni_dwl_runs;
        run(op, &p, inz, n_in, &y1, packed, t == 4 ? 2 : t >= 5 ? 1 : t, t != 4);
        afk_qconv_vnni_no_dw8 = afk_qconv_vnni_no_dwl = 0;
        CHECK((afk_qconv_vnni_direct_runs > runs) == (direct && t != 4),
              "%s: %d threads: direct path %s", c->name, t,
              afk_qconv_vnni_direct_runs > runs ? "taken" : "not taken");
        CHECK((afk_qconv_vnni_small_runs > sruns) == small, "%s: %d threads: small path %s",
              c->name, t, afk_qconv_vnni_small_runs > sruns ? "taken" : "not taken");
        CHECK((afk_qconv_vnni_dwl_runs > lruns) == (lanes && t < 5),
              "%s: run %d: depthwise lanes path %s", c->name, t,
              afk_qconv_vnni_dwl_runs > lruns ? "taken" : "not taken");
        int64_t bad = -1;
        for (size_t i = 0; i < yb && bad < 0; i++)
            if (((uint8_t *)y0.data)[i] != ((uint8_t *)y1.data)[i]) bad = (int64_t)i;
        CHECK(bad < 0, "%s (K=%lld): %d threads: byte %lld differs", c->name, (long long)K, t,
              (long long)bad);
    }
    free(inz[wi].data), free(packed), free(xv.data), free(wv.data), free(y0.data), free(y1.data);
    free(wz), free(bias), free(ws);
}

int main(void)
{
    const af_dtype U = AF_DTYPE_U8, S = AF_DTYPE_I8;
    static const qcase cases[] = {
        {"1x1 u8/s8/u8", 0, 2, 1, 64, 48, 1, 14, 1, 1, 0, 1, U, S, U, 1, 1, 0},
        {"1x1 s8 x, symmetric w", 0, 2, 1, 40, 24, 1, 11, 1, 1, 0, 1, S, S, U, 2, 1, 0},
        {"3x3 symmetric w", 0, 2, 1, 24, 16, 1, 10, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"3x3 s1 p0", 0, 2, 1, 20, 24, 1, 13, 3, 1, 0, 1, U, S, U, 1, 1, 0},
        {"5x5 s1 p2 s8 x", 0, 2, 1, 12, 20, 1, 15, 5, 1, 2, 1, S, S, U, 1, 1, 0},
        {"3x3 s1 batch 3, grouped 2", 0, 2, 3, 16, 24, 2, 7, 3, 1, 1, 1, U, U, U, 1, 1, 0},
        {"1x1 padded", 0, 2, 1, 16, 12, 1, 9, 1, 1, 1, 1, U, S, U, 1, 1, 0},
        {"1x1 K=67 tail", 0, 2, 1, 67, 20, 1, 9, 1, 1, 0, 1, U, S, U, 0, 1, 0},
        {"3x3 s1 p1", 0, 2, 1, 32, 40, 1, 17, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"3x3 s2 p1 u8 weights", 0, 2, 1, 30, 24, 1, 15, 3, 2, 1, 1, U, U, U, 1, 1, 0},
        {"3x3 s1 p1 s8 x, s8 y", 0, 2, 1, 36, 16, 1, 12, 3, 1, 1, 1, S, S, S, 1, 0, 0},
        {"3x3 K=450 u8 w per tensor", 0, 2, 1, 50, 13, 1, 8, 3, 1, 1, 1, U, U, U, 0, 1, 0},
        /* a block's last 1-3 positions past whole vectors: dot products */
        {"1x1 7x7 map", 0, 2, 1, 64, 40, 1, 7, 1, 1, 0, 1, U, S, U, 1, 1, 0},
        {"1x1 7x7 map s8 x symmetric", 0, 2, 1, 40, 20, 1, 7, 1, 1, 0, 1, S, S, U, 2, 1, 0},
        {"3x3 p1 7x7 map", 0, 2, 1, 24, 16, 1, 7, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"3x3 p1 5x5 map (33 virtual)", 0, 2, 1, 16, 12, 1, 5, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"1x1 s2 13x13 map", 0, 2, 1, 32, 24, 1, 13, 1, 2, 0, 1, U, S, U, 1, 1, 0},
        {"conv_integer 3x3 17x17 batch 2", 1, 2, 2, 12, 8, 1, 17, 3, 1, 1, 1, U, S, U, 1, 0, 0},
        {"1x1 7x7 map y_scale 0", 0, 2, 1, 16, 12, 1, 7, 1, 1, 0, 1, U, S, S, 1, 1, 1},
        /* small maps: compact positions gathered from the padded image */
        {"3x3 p1 8x8 map compact", 0, 2, 1, 40, 30, 1, 8, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"5x5 p2 9x9 map compact s8 x", 0, 2, 1, 12, 16, 1, 9, 5, 1, 2, 1, S, S, S, 2, 1, 0},
        {"3x3 s2 p1 14x14 compact", 0, 2, 2, 16, 20, 1, 14, 3, 2, 1, 1, U, U, U, 1, 1, 0},
        {"3x3 p1 10x10 batch 3 compact", 0, 2, 3, 8, 8, 1, 10, 3, 1, 1, 1, U, S, U, 1, 0, 0},
        /* one position (1x1 map): dot products */
        {"1x1 map SE fc", 0, 2, 1, 96, 40, 1, 1, 1, 1, 0, 1, U, S, U, 1, 1, 0},
        {"1x1 map K=67 s8 x symmetric", 0, 2, 2, 67, 130, 1, 1, 1, 1, 0, 1, S, S, U, 2, 1, 0},
        {"1x1 map grouped 2 s8 y", 0, 2, 1, 32, 24, 2, 1, 1, 1, 0, 1, U, U, S, 0, 0, 0},
        {"1x1 map y_scale 0", 0, 2, 1, 16, 12, 1, 1, 1, 1, 0, 1, U, S, U, 1, 1, 1},
        {"1x1 map conv_integer", 1, 2, 1, 200, 20, 1, 1, 1, 1, 0, 1, U, S, U, 1, 0, 0},
        /* stride 2 from the phases of the padded image */
        {"1x1 s2 downsample, odd map", 0, 2, 1, 40, 24, 1, 15, 1, 2, 0, 1, U, S, U, 1, 1, 0},
        {"3x3 s2 p1 56 wide", 0, 2, 1, 16, 64, 1, 56, 3, 2, 1, 1, U, S, U, 2, 1, 0},
        {"3x3 s2 p0 odd map s8 x", 0, 2, 1, 24, 20, 1, 35, 3, 2, 0, 1, S, S, U, 1, 1, 0},
        {"5x5 s2 p2 batch 2 s8 y", 0, 2, 2, 8, 12, 1, 20, 5, 2, 2, 1, U, S, S, 1, 0, 0},
        {"2x2 s2 p0", 0, 2, 1, 12, 8, 1, 16, 2, 2, 0, 1, U, U, U, 1, 1, 0},
        {"1-D k3 s2", 0, 1, 1, 16, 8, 1, 40, 3, 2, 1, 1, U, S, U, 1, 1, 0},
        {"3x3 dil 2", 0, 2, 1, 16, 12, 1, 11, 3, 1, 2, 2, U, S, U, 1, 1, 0},
        {"7x7 s2 p3 stem", 0, 2, 1, 3, 16, 1, 32, 7, 2, 3, 1, U, S, U, 1, 1, 0},
        {"grouped 4", 0, 2, 1, 32, 32, 4, 10, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"grouped 2 s8 x", 0, 2, 2, 24, 36, 2, 9, 3, 2, 1, 1, S, U, S, 1, 1, 0},
        {"depthwise 3x3 s1", 0, 2, 1, 16, 16, 16, 10, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"depthwise 3x3 s2 odd, 40 wide", 0, 2, 2, 12, 12, 12, 41, 3, 2, 1, 1, U, S, U, 1, 1, 0},
        {"depthwise 5x5 s2 s8/s8/s8", 0, 2, 1, 8, 8, 8, 19, 5, 2, 2, 1, S, S, S, 1, 1, 0},
        {"depthwise 3x3 u8 w, no bias", 0, 2, 1, 8, 8, 8, 17, 3, 1, 1, 1, U, U, U, 0, 0, 0},
        {"depthwise 1-D k3", 0, 1, 1, 8, 8, 8, 37, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"depthwise y_scale 0", 0, 2, 1, 8, 8, 8, 9, 3, 1, 1, 1, U, S, U, 1, 1, 1},
        {"depthwise conv_integer", 1, 2, 1, 8, 8, 8, 9, 3, 2, 1, 1, U, S, U, 1, 0, 0},
        /* symmetric (w - wz fits int8): qconv_vnni.c's qv_dw8 (with AVX512-VBMI) */
        {"depthwise 3x3 s1 symmetric, 7x7", 0, 2, 1, 24, 24, 24, 7, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"depthwise 3x3 s2 symmetric, 112", 0, 2, 1, 4, 4, 4, 112, 3, 2, 1, 1, U, S, U, 2, 1, 0},
        {"depthwise 3x3 s1 symmetric, 56", 0, 2, 2, 4, 4, 4, 56, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"depthwise 5x5 s1 symmetric s8 x", 0, 2, 1, 8, 8, 8, 14, 5, 1, 2, 1, S, S, U, 2, 1, 0},
        {"depthwise 7x7 s2 symmetric s8 y", 0, 2, 2, 8, 8, 8, 23, 7, 2, 3, 1, U, S, S, 2, 0, 0},
        {"depthwise 3x3 s2 p0 symmetric", 0, 2, 1, 8, 8, 8, 15, 3, 2, 0, 1, U, S, U, 2, 1, 0},
        {"depthwise 1-D symmetric", 0, 1, 1, 8, 8, 8, 37, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"depthwise symmetric y_scale 0", 0, 2, 1, 8, 8, 8, 9, 3, 1, 1, 1, U, S, U, 2, 1, 1},
        {"depthwise symmetric conv_integer", 1, 2, 1, 8, 8, 8, 9, 3, 2, 1, 1, U, S, U, 2, 0, 0},
        {"depthwise dil 2 (reference)", 0, 2, 1, 8, 8, 8, 12, 3, 1, 2, 2, U, S, U, 1, 1, 0},
        /* small maps, 16 channels in the lanes (int8 taps by vpdpbusd when every w - wz fits
         * int8, else f32 FMAs): 7x7 to 56x56 and odd or non-square maps, 3x3 to 7x7, stride 1
         * and 2, channels not a multiple of 16, asymmetric weights (wide: f32; near their
         * zero points: int8), s8 activations and outputs, batch 2, CONV_INTEGER, large
         * scales (no packed requantization), biases that wrap the int32 sums, a group whose
         * scale is infinite (the per-channel loops, then the lanes again) */
        {"dw lanes 3x3 7x7 C=48", 0, 2, 1, 48, 48, 48, 7, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 14x14 C=20 batch 2", 0, 2, 2, 20, 20, 20, 14, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 5x5 C=37 s8 x", 0, 2, 1, 37, 37, 37, 5, 3, 1, 1, 1, S, S, U, 2, 1, 0},
        {"dw lanes 3x3 s2 14x14 s8 y", 0, 2, 1, 40, 40, 40, 14, 3, 2, 1, 1, U, S, S, 2, 1, 0},
        {"dw lanes 3x3 s2 p0 16x16 (last row unread)", 0, 2, 1, 17, 17, 17, 16, 3, 2, 0, 1, U, S,
         U, 2, 1, 0},
        {"dw lanes 5x5 7x7 C=20", 0, 2, 1, 20, 20, 20, 7, 5, 1, 2, 1, U, S, U, 2, 1, 0},
        {"dw lanes 5x5 s2 14x14 s8 x", 0, 2, 1, 33, 33, 33, 14, 5, 2, 2, 1, S, S, U, 2, 1, 0},
        {"dw lanes 7x7 9x9 C=20", 0, 2, 1, 20, 20, 20, 9, 7, 1, 3, 1, U, S, U, 2, 1, 0},
        {"dw lanes 7x7 s2 13x13 s8 y", 0, 2, 2, 18, 18, 18, 13, 7, 2, 3, 1, U, S, S, 2, 1, 0},
        {"dw lanes 2x2 s2 p0 10x10", 0, 2, 1, 16, 16, 16, 10, 2, 2, 0, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 28x28", 0, 2, 1, 24, 24, 24, 28, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 s2 56x56", 0, 2, 1, 18, 18, 18, 56, 3, 2, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes 5x5 s2 56x56", 0, 2, 1, 17, 17, 17, 56, 5, 2, 2, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 57x57 (3 bands)", 0, 2, 1, 17, 17, 17, 57, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes 3x3 112x112 s8 x (bands)", 0, 2, 1, 16, 16, 16, 112, 3, 1, 1, 1, S, S, U, 2, 1,
         0},
        {"dw lanes 3x3 s2 112x112 p0 (bands)", 0, 2, 1, 20, 20, 20, 112, 3, 2, 0, 1, U, S, S, 2,
         1, 0},
        {"dw lanes 5x5 s2 99x99 wide w (bands)", 0, 2, 1, 17, 17, 17, 99, 5, 2, 2, 1, U, U, U, 1,
         1, 0},
        {"dw lanes 7x7 70x70 (bands)", 0, 2, 1, 17, 17, 17, 70, 7, 1, 3, 1, U, S, U, 2, 1, 0},
        {"dw 3x3 113x113 (per-channel)", 0, 2, 1, 16, 16, 16, 113, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw 1-D 600 wide (per-channel)", 0, 1, 1, 16, 16, 16, 600, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"dw lanes asym wide w 3x3 7x7 (f32)", 0, 2, 1, 37, 37, 37, 7, 3, 1, 1, 1, U, U, U, 1, 1,
         0},
        {"dw lanes asym wide w 5x5 s2 11x11 s8", 0, 2, 2, 20, 20, 20, 11, 5, 2, 2, 1, S, S, S, 1,
         1, 0},
        {"dw lanes asym wide w per tensor 7x7 k7", 0, 2, 1, 20, 20, 20, 8, 7, 1, 3, 1, U, U, U, 0,
         1, 0},
        {"dw lanes asym near w s8 5x5 s2", 0, 2, 2, 20, 20, 20, 12, 5, 2, 2, 1, S, S, S, 4, 1, 0},
        {"dw lanes bias wraps, int8 w", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, S, U, 2, 2, 0},
        {"dw lanes bias wraps, wide w (f32 unfolded)", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, U,
         S, 1, 2, 0},
        {"dw lanes bias 2^23.., wide w (f32 unfolded)", 0, 2, 1, 37, 37, 37, 9, 3, 1, 1, 1, U,
         U, U, 1, 3, 4},
        {"dw lanes bias 2^23.., int8 w", 0, 2, 1, 37, 37, 37, 9, 3, 1, 1, 1, S, S, S, 2, 3, 4},
        {"dw lanes y_scale tiny int8 w", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, S, U, 2, 1, 2},
        {"dw lanes y_scale 1e-10 int8 w s8 y", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, S, S, 2, 1,
         5},
        {"dw lanes y_scale 1e-10 wide w", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, U, U, 1, 1, 5},
        {"dw lanes y_scale tiny wide w s8 y", 0, 2, 1, 20, 20, 20, 9, 5, 1, 2, 1, U, U, S, 1, 1,
         2},
        {"dw lanes y_scale 0", 0, 2, 1, 20, 20, 20, 7, 3, 1, 1, 1, U, S, U, 2, 1, 1},
        {"dw lanes one group's scale inf", 0, 2, 2, 40, 40, 40, 7, 3, 1, 1, 1, U, S, U, 2, 1, 3},
        {"dw lanes conv_integer 7x7", 1, 2, 2, 20, 20, 20, 7, 3, 1, 1, 1, U, S, U, 2, 0, 0},
        {"dw lanes conv_integer wide w s2", 1, 2, 1, 37, 37, 37, 13, 3, 2, 1, 1, S, U, U, 1, 0, 0},
        {"dw lanes conv_integer 5x5 27x27", 1, 2, 1, 17, 17, 17, 27, 5, 1, 2, 1, U, S, U, 2, 0, 0},
        {"dw lanes conv_integer 80x80 (bands)", 1, 2, 1, 17, 17, 17, 80, 3, 1, 1, 1, U, S, U, 1,
         0, 0},
        {"dw lanes 1-D k5 s2 C=20", 0, 1, 2, 20, 20, 20, 50, 5, 2, 2, 1, U, S, U, 2, 1, 0},
        {"channel multiplier 2 (reference)", 0, 2, 1, 8, 16, 8, 10, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"1-D K=3x130", 0, 1, 1, 130, 8, 1, 70, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        /* the tiles straight from the channel-quad image: C not a multiple of 4 (channels
         * padded to the quad), stride 1 and 2, pads 0 to 2, dilation, virtual positions
         * ending mid-block and 1..4 past whole vectors, batch 2, s8 x, u8 weights at 128 */
        {"quad 3x3 p1 C=30", 0, 2, 1, 30, 20, 1, 13, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 p0 C=37 s8 x", 0, 2, 1, 37, 14, 1, 11, 3, 1, 0, 1, S, S, U, 2, 1, 0},
        {"quad 5x5 p2 batch 2 u8 w", 0, 2, 2, 16, 26, 1, 12, 5, 1, 2, 1, U, U, U, 3, 1, 0},
        {"quad 3x3 s2 p1 C=30 odd", 0, 2, 1, 30, 12, 1, 19, 3, 2, 1, 1, U, S, S, 2, 0, 0},
        {"quad 3x3 s2 p0 batch 2", 0, 2, 2, 8, 16, 1, 24, 3, 2, 0, 1, S, U, U, 3, 1, 0},
        {"quad 3x3 s2 p2 s8 y", 0, 2, 1, 12, 8, 1, 17, 3, 2, 2, 1, U, S, S, 2, 1, 0},
        {"quad 1x1 s2", 0, 2, 1, 64, 20, 1, 15, 1, 2, 0, 1, U, S, U, 2, 1, 0},
        {"quad 1x1 p1", 0, 2, 1, 8, 12, 1, 9, 1, 1, 1, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 dil 2", 0, 2, 1, 36, 16, 1, 12, 3, 1, 2, 2, U, S, U, 2, 1, 0},
        {"quad 7x7 s2 p3", 0, 2, 1, 8, 16, 1, 29, 7, 2, 3, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 7x7 map (61 virtual)", 0, 2, 1, 64, 40, 1, 7, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 14x14 map batch 2", 0, 2, 2, 32, 30, 1, 14, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 s2 14x14 map", 0, 2, 1, 24, 18, 1, 14, 3, 2, 1, 1, U, S, U, 2, 1, 0},
        {"quad 3x3 y_scale 0", 0, 2, 1, 16, 12, 1, 9, 3, 1, 1, 1, U, S, U, 2, 1, 1},
        {"quad conv_integer 3x3 s2", 1, 2, 1, 20, 12, 1, 11, 3, 2, 1, 1, U, S, U, 2, 0, 0},
        {"quad 1-D k5 p2", 0, 1, 1, 24, 8, 1, 70, 5, 1, 2, 1, U, S, U, 2, 1, 0},
        {"quad 1-D k3 s2 C=29", 0, 1, 2, 29, 8, 1, 41, 3, 2, 1, 1, S, S, U, 2, 1, 0},
        {"C=13: no quad", 0, 2, 1, 13, 12, 1, 10, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        /* small maps, output channels in the lanes: several channel blocks, M past a block,
         * nonzero weight zero points (the sums from the quad image), int32 and scalar outputs */
        {"small 3x3 7x7 M=150", 0, 2, 1, 32, 150, 1, 7, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"small 3x3 7x7 M=70 wz", 0, 2, 2, 30, 70, 1, 7, 3, 1, 1, 1, S, U, S, 1, 1, 0},
        {"small 3x3 s2 14x14 wz", 0, 2, 1, 20, 24, 1, 14, 3, 2, 1, 1, U, S, U, 0, 0, 0},
        {"small 3x3 14x14 conv_integer", 1, 2, 1, 16, 20, 1, 14, 3, 1, 1, 1, U, S, U, 1, 0, 0},
        {"small 3x3 7x7 y_scale 0", 0, 2, 1, 16, 40, 1, 7, 3, 1, 1, 1, U, S, U, 2, 1, 1},
        {"small 5x5 p2 6x6 dil 1", 0, 2, 1, 8, 12, 1, 6, 5, 1, 2, 1, U, S, U, 1, 1, 0},
        {"small 1x1 s2 to 7x7", 0, 2, 1, 64, 70, 1, 14, 1, 2, 0, 1, U, S, U, 2, 1, 0},
        {"small 3x3 dil 2 12x12", 0, 2, 1, 12, 20, 1, 16, 3, 1, 0, 2, U, S, U, 1, 1, 0},
        {"small 1-D k3 40", 0, 1, 2, 16, 20, 1, 40, 3, 1, 1, 1, U, S, U, 2, 1, 0},
        {"3-D", 0, 3, 1, 8, 12, 1, 6, 3, 1, 1, 1, U, S, U, 1, 1, 0},
        {"batch 2, 100 positions", 0, 2, 2, 20, 7, 1, 10, 1, 1, 0, 1, U, S, U, 1, 1, 0},
        {"y_scale 0", 0, 2, 1, 16, 12, 1, 9, 3, 1, 1, 1, U, S, U, 1, 1, 1},
        {"y_scale tiny, s8 y", 0, 2, 1, 16, 12, 1, 9, 3, 1, 1, 1, U, S, S, 1, 1, 2},
        {"conv_integer u8/u8", 1, 2, 1, 20, 12, 1, 9, 3, 1, 1, 1, U, U, U, 1, 0, 0},
        {"conv_integer s8/s8 grouped", 1, 2, 1, 16, 16, 2, 8, 3, 2, 1, 1, S, S, U, 0, 0, 0},
    };
    /* non-square depthwise maps on the lanes path (sp x sp2) */
    static const struct {
        qcase c;
        int64_t sp2;
    } wide[] = {
        {{"dw lanes 3x3 9x13 C=37 u8 w 128", 0, 2, 1, 37, 37, 37, 9, 3, 1, 1, 1, U, U, U, 3, 1, 0},
         13},
        {{"dw lanes 3x3 s2 13x9 odd", 0, 2, 2, 20, 20, 20, 13, 3, 2, 1, 1, S, S, S, 2, 0, 0}, 9},
        {{"dw lanes asym near w 3x3 9x13 (int8)", 0, 2, 1, 37, 37, 37, 9, 3, 1, 1, 1, U, U, U, 4,
          1, 0},
         13},
        {{"dw lanes 5x5 s2 6x31 wide w", 0, 2, 1, 20, 20, 20, 6, 5, 2, 2, 1, U, U, U, 1, 1, 0}, 31},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) one(&cases[i], 0);
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++) one(&wide[i].c, wide[i].sp2);
    if (!afk_q8_available()) printf("test_qconv_vnni: no AVX512-VNNI, reference path only\n");
    return check_report("test_qconv_vnni");
}

/* Fast kernels against their references, and thread-count invariance.
 *
 *  - vec.c loops (AVX2 when the CPU has it) vs the portable loops: bias + relu/clip, binary
 *    add/sub/mul/max/min, f16 widening, hard sigmoid / hard swish / leaky relu. These
 *    operations are exact per element in IEEE f32, so the bound is 0: the bits must match.
 *  - vec.c's binary rows with a scalar first operand (afk_vec_binary_sa) vs the scalar
 *    definition: exact, bound 0.
 *  - CONV (im2col + GEMM tiles, pointwise GEMM, the unchecked depthwise rows, dw_fast.c's
 *    direct 3x3 / 5x5 blocks on the AVX-512 path, fused epilogue) vs
 *    a naive direct convolution written here. Summation order differs (GEMM blocking), so the
 *    bound is the classic one for a sum of K products in any order:
 *      |got - ref| <= 2 * K * FLT_EPSILON * sum|x*w| + 1e-6.
 *    Every GEMM conv runs on each path the CPU has: im2col + afk_sgemm, and sgemm_packed.c's
 *    AVX2+FMA and AVX-512F micro-kernels with implicit im2col, with weights packed per run and
 *    pre-packed (af_kernel_prepack). An FMA rounds once per product-and-add, so the same bound
 *    holds.
 *  - CONV and POOL with a pool of 1, 2 and 3 threads: byte-identical outputs.
 *  - RESIZE's plane path vs its general loop: the same bits, for any thread count.
 *  - CONV_TRANSPOSE with a pool of 1, 2 and 3 threads: byte-identical outputs.
 *  - 2-D max and average pooling's row-wise paths vs the general loop (as 3-D): the same bits.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/dw_lanes.h"
#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

static uint32_t rng = 2024u; /* for raw f16 bit patterns; floats come from frand() */

static void test_vec(void)
{
    enum { N = 203 };
    float a[N], b[N], o1[N], o2[N];
    for (int i = 0; i < N; i++) a[i] = frand() * 4, b[i] = frand() * 4;
    a[3] = -0.0f, b[5] = a[5]; /* signed zero and ties */
    static const int fns[] = {AF_BINARY_ADD, AF_BINARY_SUB, AF_BINARY_MUL, AF_BINARY_MAX,
                              AF_BINARY_MIN};
    for (int n = 0; n <= N; n += 29)
        for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++)
            for (int sc = 0; sc < 2; sc++) {
                afk_vec_force_portable = 1;
                afk_vec_binary(fns[f], a, b, sc, o1, n);
                afk_vec_force_portable = 0;
                afk_vec_binary(fns[f], a, b, sc, o2, n);
                CHECK(!memcmp(o1, o2, sizeof(float) * (size_t)n), "binary %d n=%d scalar=%d (%s)",
                      fns[f], n, sc, afk_vec_isa());
            }
    for (int n = 0; n <= N; n += 29) /* scalar first operand: bits of the scalar a (fn) b[i] */
        for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
            afk_vec_force_portable = 1;
            afk_vec_binary_sa(fns[f], a[3], b, o1, n);
            afk_vec_force_portable = 0;
            afk_vec_binary_sa(fns[f], a[3], b, o2, n);
            int bad = 0;
            for (int i = 0; i < n; i++) {
                float x = a[3], y = b[i], r = fns[f] == AF_BINARY_ADD ? x + y
                                          : fns[f] == AF_BINARY_SUB   ? x - y
                                          : fns[f] == AF_BINARY_MUL   ? x * y
                                          : fns[f] == AF_BINARY_MAX   ? (x > y ? x : y)
                                                                      : (x < y ? x : y);
                bad += memcmp(&r, &o1[i], 4) != 0 || memcmp(&r, &o2[i], 4) != 0;
            }
            CHECK(bad == 0, "binary_sa %d n=%d (%s): %d differ", fns[f], n, afk_vec_isa(), bad);
        }
    for (int kind = AFK_ACT_NONE; kind <= AFK_ACT_CLIP; kind++) {
        memcpy(o1, a, sizeof a);
        memcpy(o2, a, sizeof a);
        afk_vec_force_portable = 1;
        afk_vec_bias_act(o1, N, 0.25f, kind, -1.0f, 1.5f);
        afk_vec_force_portable = 0;
        afk_vec_bias_act(o2, N, 0.25f, kind, -1.0f, 1.5f);
        CHECK(!memcmp(o1, o2, sizeof a), "bias_act kind %d", kind);
        for (int i = 0; i < N; i++) { /* and the scalar definition */
            float v = a[i] + 0.25f;
            if (kind == AFK_ACT_RELU) v = v < 0 ? 0.0f : v;
            if (kind == AFK_ACT_CLIP) v = v < -1.0f ? -1.0f : (v > 1.5f ? 1.5f : v);
            CHECK(o2[i] == v, "bias_act kind %d at %d: %g vs %g", kind, i, o2[i], v);
        }
    }
    /* twice: the 16-lane loops, then (pgemm_force 1) the AVX2 ones AVX-512 CPUs skip */
    for (int pass = 0; pass < 4; pass++) {
        const int fn = pass % 2 ? AF_UNARY_SILU : AF_UNARY_SIGMOID;
        afk_pgemm_force = pass < 2 ? -1 : 1;
        af_unary_params u = {.fn = fn};
        enum { S = 4099 };
        static float xs[S], ys[S];
        for (int i = 0; i < S; i++) xs[i] = ys[i] = (float)(i - S / 2) * 0.05f; /* [-102, 102] */
        xs[9] = ys[9] = NAN, xs[S / 2 + 3] = ys[S / 2 + 3] = -NAN; /* in the vector body */
        afk_act_apply(&u, ys, S);
        int bad = 0;
        for (int i = 0; i < S; i++) {
            float r = afk_unary_f32(&u, xs[i]);
            if (isnan(r)) { /* NaN in, NaN out, as the reference */
                bad += !isnan(ys[i]);
                continue;
            }
            /* exp8: degree-7 polynomial (< 1e-8) plus a handful of roundings: 1e-6 relative is
             * ~8 ulp; the absolute 1e-37 covers sigmoid's denormal tail on the far left */
            bad += !(fabsf(ys[i] - r) <= 1e-6f * fabsf(r) + 1e-37f);
        }
        CHECK(bad == 0, "unary %d: %d of %d outside 1e-6 relative (%s, pass %d)", fn, bad, S,
              afk_vec_isa(), pass);
    }
    afk_pgemm_force = -1;
    /* hard sigmoid, hard swish, leaky relu: the AVX2 loop repeats the reference's operations
     * (no FMA, a true division), so the bits must match (== also takes -0 for +0) */
    static const af_unary_params pw[] = {{.fn = AF_UNARY_HARD_SIGMOID, .alpha = 0.2f, .beta = 0.5f},
                                         {.fn = AF_UNARY_HARD_SWISH},
                                         {.fn = AF_UNARY_LEAKY_RELU, .alpha = 0.01f}};
    for (size_t f = 0; f < sizeof pw / sizeof *pw; f++) {
        enum { S = 1031 };
        static float xs[S], ys[S];
        for (int i = 0; i < S; i++) xs[i] = ys[i] = (float)(i - S / 2) * 0.0173f; /* [-8.9, 8.9] */
        xs[7] = ys[7] = NAN;
        afk_act_apply(&pw[f], ys, S);
        int bad = 0;
        for (int i = 0; i < S; i++) {
            float r = afk_unary_f32(&pw[f], xs[i]);
            bad += !(ys[i] == r || (isnan(ys[i]) && isnan(r)));
        }
        CHECK(bad == 0, "unary %d: %d of %d differ from the reference (%s)", pw[f].fn, bad, S,
              afk_vec_isa());
    }
    uint16_t h[N];
    for (int i = 0; i < N; i++) h[i] = (uint16_t)(rng = rng * 1664525u + 1013904223u) >> 0;
    for (int i = 0; i < N; i++)
        if ((h[i] & 0x7c00u) == 0x7c00u) h[i] &= 0xfc00u; /* no NaN payloads (F16C quiets sNaN) */
    afk_f16_to_f32_n(h, o2, N);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float r = af_f16_to_f32(h[i]);
        bad += memcmp(&r, &o2[i], sizeof r) != 0;
    }
    CHECK(bad == 0, "f16 widening: %d of %d differ", bad, N);
}

typedef struct conv_case {
    int64_t N, C, H, W, M, group, k, stride, pad, dil;
    int act;
    int wino; /* 1: Winograd F(4x4,3x3) forced (winograd.c), 2: F(2x2,3x3), 0: never taken */
} conv_case;

static void conv_params(const conv_case *c, af_params *p, int64_t *OH, int64_t *OW)
{
    memset(p, 0, sizeof *p);
    af_conv_params *cp = &p->conv;
    cp->nsp = 2;
    cp->group = (int32_t)c->group;
    for (int j = 0; j < 2; j++) {
        cp->kernel[j] = (int32_t)c->k;
        cp->stride[j] = (int32_t)c->stride;
        cp->dilation[j] = (int32_t)c->dil;
        cp->pad_begin[j] = cp->pad_end[j] = (int32_t)c->pad;
    }
    cp->act.fn = c->act;
    cp->act.alpha = 0.0f, cp->act.beta = 6.0f;
    if (c->act == AF_UNARY_HARD_SIGMOID) cp->act.alpha = 0.2f, cp->act.beta = 0.5f;
    if (c->act == AF_UNARY_LEAKY_RELU) cp->act.alpha = 0.1f;
    int64_t span = c->dil * (c->k - 1) + 1;
    *OH = (c->H + 2 * c->pad - span) / c->stride + 1;
    *OW = (c->W + 2 * c->pad - span) / c->stride + 1;
}

/* Naive direct conv (the reference) at one output, before the activation; *mag = sum |x*w|
 * for the bound. */
static float conv_sum_at(const conv_case *c, const float *x, const float *w, const float *b,
                         int64_t n, int64_t m, int64_t oh, int64_t ow, float *mag)
{
    int64_t Cg = c->C / c->group, Mg = c->M / c->group, g = m / Mg;
    double s = b[m], a = fabsf(b[m]);
    for (int64_t ci = 0; ci < Cg; ci++)
        for (int64_t kh = 0; kh < c->k; kh++)
            for (int64_t kw = 0; kw < c->k; kw++) {
                int64_t ih = oh * c->stride - c->pad + kh * c->dil;
                int64_t iw = ow * c->stride - c->pad + kw * c->dil;
                if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                float xv = x[((n * c->C + g * Cg + ci) * c->H + ih) * c->W + iw];
                float wv = w[((m * Cg + ci) * c->k + kh) * c->k + kw];
                s += (double)xv * wv;
                a += fabs((double)xv * wv);
            }
    *mag = (float)a;
    return (float)s;
}

/* The reference activation of c on a sum v. */
static float conv_act(const conv_case *c, float v)
{
    if (c->act == AF_UNARY_RELU) v = v < 0 ? 0.0f : v;
    if (c->act == AF_UNARY_CLIP) v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
    if (c->act == AF_UNARY_SIGMOID) v = 1.0f / (1.0f + expf(-v));
    if (c->act == AF_UNARY_SILU) v = v / (1.0f + expf(-v));
    if (c->act == AF_UNARY_HARD_SIGMOID) v = fmaxf(0.0f, fminf(1.0f, 0.2f * v + 0.5f));
    if (c->act == AF_UNARY_HARD_SWISH) v = v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
    if (c->act == AF_UNARY_LEAKY_RELU) v = v < 0 ? 0.1f * v : v;
    if (c->act == AF_UNARY_GELU) v = (float)(0.5 * v * (1.0 + erf((double)v * 0.70710678118654752)));
    if (c->act == AF_UNARY_TANH) v = tanhf(v); /* not fused: the epilogue's tanhf, slope <= 1 */
    return v;
}

/* Runs conv c with a pool of `threads` (0: no ctx pool); y must hold the output. */
static af_status run_conv(const conv_case *c, const float *x, const float *w, const float *b,
                          float *y, int threads, int prepack)
{
    af_params p;
    int64_t OH, OW;
    conv_params(c, &p, &OH, &OW);
    af_tview in[3] = {TV(AF_DTYPE_F32, (void *)x, c->N, c->C, c->H, c->W),
                      TV(AF_DTYPE_F32, (void *)w, c->M, c->C / c->group, c->k, c->k),
                      TV(AF_DTYPE_F32, (void *)b, c->M)};
    af_tview out = TV(AF_DTYPE_F32, y, c->N, c->M, OH, OW);
    size_t need = (af_kernel_scratch_bytes(AF_OP_CONV, &p, in, 3, &out, 1) + 63) / 64 * 64;
    int nt = threads > 0 ? threads : 1;
    void *scratch = need ? aligned_alloc(64, need * (size_t)nt) : NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)nt, .n_threads = nt};
    size_t pb = prepack ? af_kernel_prepack_bytes(AF_OP_CONV, &p, in, 3, &out, 1) : 0;
    void *packed = pb ? aligned_alloc(64, (pb + 63) / 64 * 64) : NULL;
    if (packed) af_kernel_prepack(AF_OP_CONV, &p, in, 3, &out, 1, packed);
    ctx.packed = packed;
    size_t sb = packed ? af_kernel_shared_bytes(AF_OP_CONV, packed) : 0; /* a dilated conv's mosaics */
    ctx.shared = sb ? aligned_alloc(64, (sb + 63) / 64 * 64) : NULL;
    ctx.shared_bytes = ctx.shared ? sb : 0;
    af_err err = {0};
    af_status st = afk_pool_create(threads, &ctx.pool, &err);
    if (!st) st = af_kernel_run(AF_OP_CONV, &p, in, 3, &out, 1, &ctx, &err);
    if (st) fprintf(stderr, "  (conv said: %s)\n", err.msg);
    afk_pool_free(ctx.pool);
    free(scratch);
    free(packed);
    free(ctx.shared);
    return st;
}

/* One case's random input, weights and bias, and the reference sums (before the activation)
 * with their magnitudes: computed once, checked against every path. */
typedef struct conv_data {
    float *x, *w, *b, *sum, *mag;
} conv_data;

static void conv_data_make(const conv_case *c, conv_data *d)
{
    int64_t OH, OW;
    af_params p;
    conv_params(c, &p, &OH, &OW);
    size_t nx = (size_t)(c->N * c->C * c->H * c->W), nw = (size_t)(c->M * c->C / c->group * c->k * c->k);
    size_t ny = (size_t)(c->N * c->M * OH * OW);
    d->x = malloc(nx * 4), d->w = malloc(nw * 4), d->b = malloc((size_t)c->M * 4);
    d->sum = malloc(ny * 4), d->mag = malloc(ny * 4);
    for (size_t i = 0; i < nx; i++) d->x[i] = frand();
    for (size_t i = 0; i < nw; i++) d->w[i] = frand() * 0.5f;
    for (int64_t i = 0; i < c->M; i++) d->b[i] = frand() * 0.1f;
    size_t i = 0;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++, i++)
                    d->sum[i] = conv_sum_at(c, d->x, d->w, d->b, n, m, oh, ow, &d->mag[i]);
}

static void conv_data_free(conv_data *d) { free(d->x), free(d->w), free(d->b), free(d->sum), free(d->mag); }

/* GEMM path (afk_pgemm_force) and weight pre-packing of one run of test_conv_case. */
static void test_conv_path(const conv_case *c, const conv_data *d, int path, int prepack);

/* A dilated conv on Winograd (its mosaic, wino_mosaic.c) rounds unlike the direct conv, whose
 * path it would otherwise fall back to (e.g. without ctx->shared): the bits must differ. */
static void test_mosaic_taken(const conv_case *c, const conv_data *d)
{
    int64_t OH, OW;
    af_params p;
    conv_params(c, &p, &OH, &OW);
    size_t ny = (size_t)(c->N * c->M * OH * OW);
    float *yw = malloc(ny * 4), *yd = malloc(ny * 4);
    int mode = afk_wino_mode, ok = run_conv(c, d->x, d->w, d->b, yw, 1, 1) == AF_OK;
    afk_wino_mode = 0;
    ok &= run_conv(c, d->x, d->w, d->b, yd, 1, 1) == AF_OK;
    afk_wino_mode = mode;
    CHECK(ok && memcmp(yw, yd, ny * 4), "dilated C%lld M%lld d%lld (%s): the same bits as the "
          "direct conv: Winograd's mosaic not taken", (long long)c->C, (long long)c->M,
          (long long)c->dil, afk_pgemm_isa());
    free(yw), free(yd);
}

/* Winograd runs on a packed GEMM kernel (AVX-512F: 32-wide panels; AVX2+FMA: 16-wide; NEON:
 * 8-wide) with pre-packed (transformed) weights only: checks the packed size is the 36
 * transformed matrices, i.e. that it is really taken, on each kernel the CPU has. */
static void test_wino_case(const conv_case *c0, const conv_data *d)
{
#if defined(__aarch64__)
    static const int nrs[3] = {0, -1, 8}; /* one kernel: NEON (any afk_pgemm_force > 0) */
#else
    static const int nrs[3] = {0, 16, 32};
#endif
    for (int path = 2; path >= 1; path--) {
        conv_case cc = *c0;
        const conv_case *c = &cc;
        int a = cc.act;
        if (path == 1 && a != AF_UNARY_IDENTITY && a != AF_UNARY_RELU)
            cc.act = AF_UNARY_CLIP; /* the AVX2 kernel fuses identity/relu/clip only */
        if (nrs[2] == 8 && a != AF_UNARY_IDENTITY && a != AF_UNARY_RELU && a != AF_UNARY_SIGMOID &&
            a != AF_UNARY_SILU)
            cc.act = AF_UNARY_CLIP; /* NEON: and sigmoid/silu */
        afk_pgemm_force = path;
        afk_wino_mode = c->wino;
        if (afk_pgemm_nr() == nrs[path]) {
            af_params p;
            int64_t OH, OW;
            conv_params(c, &p, &OH, &OW);
            float one = 1.0f;
            af_tview in[3] = {TV(AF_DTYPE_F32, NULL, c->N, c->C, c->H, c->W),
                              TV(AF_DTYPE_F32, &one, c->M, c->C / c->group, 3, 3),
                              TV(AF_DTYPE_F32, NULL, c->M)};
            af_tview out = TV(AF_DTYPE_F32, NULL, c->N, c->M, OH, OW);
            size_t pb = af_kernel_prepack_bytes(AF_OP_CONV, &p, in, 3, &out, 1);
            int nk = c->wino == 1 ? 36 : 16;
            CHECK(pb == (size_t)(nk * c->M * (c->C / c->group) + 16) * 4, /* per group */
                  "Winograd C%lld M%lld %lldx%lld "
                  "(%s): packed %zu bytes, not %d transformed matrices", (long long)c->C,
                  (long long)c->M, (long long)c->H, (long long)c->W, afk_pgemm_isa(), pb, nk);
            test_conv_path(c, d, path, 1);
            if (c->dil > 1) test_mosaic_taken(c, d);
        } else if (nrs[path] > 0)
            printf("  Winograd C%lld M%lld: skipped, no %s\n", (long long)c->C, (long long)c->M,
                   path == 2 ? "AVX-512" : "AVX2");
        afk_wino_mode = -1;
        afk_pgemm_force = -1;
    }
}

static void test_conv_case(const conv_case *c)
{
    int dw = c->group == c->C && c->group == c->M;
    conv_data d;
    conv_data_make(c, &d);
    if (c->wino) {
        test_wino_case(c, &d);
        conv_data_free(&d);
        return;
    }
    afk_wino_mode = 0; /* the direct paths */
    afk_pgemm_force = 1;
    const char *isa1 = afk_pgemm_isa();
    afk_pgemm_force = 2;
    const int same = !strcmp(isa1, afk_pgemm_isa()); /* AArch64: NEON for both */
    for (int path = 0; path <= 2 - same; path++)
        for (int pre = 0; pre <= (path > 0 && !dw); pre++) {
            afk_pgemm_force = path; /* depthwise: AVX-512 also selects its own loop */
            if (path == 0 || afk_pgemm_nr() > 0) test_conv_path(c, &d, path, pre);
            afk_pgemm_force = -1;
        }
    afk_pgemm_force = -1;
    afk_wino_mode = -1;
    conv_data_free(&d);
}

static void test_conv_path(const conv_case *c, const conv_data *d, int path, int prepack)
{
    af_params p;
    int64_t OH, OW;
    conv_params(c, &p, &OH, &OW);
    size_t ny = (size_t)(c->N * c->M * OH * OW);
    const float *x = d->x, *w = d->w, *b = d->b;
    float *y[4];
    for (int t = 0; t < 4; t++) y[t] = malloc(ny * 4);
    int ok = 1;
    for (int t = 0; t < 4; t++) ok &= run_conv(c, x, w, b, y[t], t, prepack) == AF_OK;
    CHECK(ok, "conv %lldx%lld g%lld k%lld s%lld ran", (long long)c->C, (long long)c->M,
          (long long)c->group, (long long)c->k, (long long)c->stride);
    int64_t bad = 0, K = c->C / c->group * c->k * c->k;
    double worst = 0; /* largest |error| / (K eps mag) */
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    size_t at = (size_t)(((n * c->M + m) * OH + oh) * OW + ow);
                    float mag = d->mag[at], r = conv_act(c, d->sum[at]);
                    float got = y[1][at];
                    /* Winograd F(4x4,3x3) sums transformed values (coefficients up to 5 in
                     * B^T, 8 in A^T), so its rounding can exceed the direct sum's; measured
                     * worst 0.2 K eps sum|x w| over these cases (printed), 8 leaves room and
                     * still fails any wrong coefficient (errors of order sum|x w|) */
                    float bound = (c->wino ? 8.0f : 2.0f) * (float)K * FLT_EPSILON * mag + 1e-6f;
                    /* sigmoid (slope <= 1/4) shrinks the sum's error; its own: the vector
                     * exp's 1e-6 relative (test_vec) and the reference's expf, both < 2e-6 */
                    if (c->act == AF_UNARY_SIGMOID) bound = bound / 4 + 4e-6f;
                    /* silu: slope within [-0.1, 1.1], sigmoid's 4e-6 relative times |v| */
                    if (c->act == AF_UNARY_SILU) bound = bound * 1.2f + 4e-6f * (1 + fabsf(r));
                    /* hard swish: slope within [-0.5, 1.5], plus a few roundings of the
                     * activation itself (x/6, + 0.5, the product: 1e-6 relative is ~8 ulp);
                     * hard sigmoid (slope 0.2) and leaky relu (slope <= 1) only shrink it */
                    if (c->act == AF_UNARY_HARD_SWISH) bound = bound * 1.5f + 1e-6f * fabsf(r);
                    /* GELU: slope within [-0.17, 1.13]; the erf approximation's 5e-7 absolute
                     * (test_kernels_fast2) times |v|/2, plus a few roundings */
                    if (c->act == AF_UNARY_GELU) bound = bound * 1.2f + 5e-7f * (1 + fabsf(r));
                    bad += !(fabsf(got - r) <= bound);
                    double ratio = fabsf(got - r) / ((double)K * FLT_EPSILON * mag + 1e-30);
                    worst = ratio > worst ? ratio : worst;
                }
    CHECK(bad == 0, "conv C%lld M%lld g%lld k%lld s%lld p%lld d%lld (%s%s): %lld of %zu "
          "outside the bound", (long long)c->C, (long long)c->M, (long long)c->group,
          (long long)c->k, (long long)c->stride, (long long)c->pad, (long long)c->dil,
          path ? afk_pgemm_isa() : "sgemm", prepack ? ", pre-packed" : "", (long long)bad, ny);
    int tile = c->wino == 1 ? 4 : 2;
    if (c->wino) printf("  Winograd F(%dx%d) C%lld M%lld %lldx%lld: worst error %.2f K eps sum|x w|\n",
                        tile, tile, (long long)c->C, (long long)c->M, (long long)c->H, (long long)c->W, worst);
    for (int t = 2; t < 4; t++)
        CHECK(!memcmp(y[0], y[t], ny * 4) && !memcmp(y[1], y[t], ny * 4),
              "conv C%lld M%lld k%lld (%s): %d threads differ from 1", (long long)c->C,
              (long long)c->M, (long long)c->k, path ? afk_pgemm_isa() : "sgemm", t);
    for (int t = 0; t < 4; t++) free(y[t]);
}

/* Stems, at most 4 input channels (conv_stem.c), and grouped convs with 9-16 output channels
 * per group (17-64 at stride 2; the group's channels in lanes, conv_glanes.c): test_conv runs
 * them with the rest, test_lanes_and_stem_taken checks they take those kernels. */
static const conv_case stem_cases[] = {
    /* stems, at most 4 input channels (conv_stem.c): 3x3 stride 2 on an odd map (partial
     * vectors, silu), stride 1 with 2 images, 7x7 stride 2, 5x5 with 4 channels and 3
     * channel blocks, 1 channel unpadded with an activation it does not fuse (tanh), a
     * wide map in bands with a last block of 8 channels (56), 24 channels (16 + 8) */
    {1, 3, 37, 45, 32, 1, 3, 2, 1, 1, AF_UNARY_SILU, 0},
    {2, 3, 29, 31, 24, 1, 3, 2, 1, 1, AF_UNARY_HARD_SWISH, 0},
    {2, 3, 20, 33, 16, 1, 3, 1, 1, 1, AF_UNARY_RELU, 0},
    {1, 3, 40, 50, 64, 1, 7, 2, 3, 1, AF_UNARY_RELU, 0},
    {1, 4, 17, 19, 48, 1, 5, 2, 2, 1, AF_UNARY_CLIP, 0},
    {1, 1, 23, 9, 16, 1, 3, 1, 0, 1, AF_UNARY_TANH, 0},
    {1, 3, 70, 300, 56, 1, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},
};
static const conv_case glanes_cases[] = {
    /* 9-16 output channels per group: the group's channels in lanes (conv_glanes.c): 16 per
     * group at stride 2 on an odd map, 12 at stride 1 with 2 images, 5x5 with an activation
     * the kernel does not fuse (tanh) */
    {1, 32, 23, 21, 32, 2, 3, 2, 1, 1, AF_UNARY_RELU, 0},
    {2, 48, 9, 9, 48, 4, 3, 1, 1, 1, AF_UNARY_SILU, 0},
    {1, 36, 7, 7, 30, 3, 5, 1, 2, 1, AF_UNARY_TANH, 0},
    /* ... 24 and 32 per group at stride 2 (two channel blocks per broadcast), and a wide
     * map cut into bands of output rows (30 rows of 200: bands of 10) */
    {1, 48, 13, 17, 48, 2, 3, 2, 1, 1, AF_UNARY_SILU, 0},
    {2, 64, 10, 10, 64, 2, 3, 2, 1, 1, AF_UNARY_CLIP, 0},
    {1, 32, 60, 400, 32, 2, 3, 2, 1, 1, AF_UNARY_RELU, 0},
    /* ... 40-64 per group at stride 2 (RegNet's widths 48 and 56): three channel blocks per
     * broadcast (40: the third one partial), four as two pairs (56), 64 input channels */
    {1, 96, 15, 19, 96, 2, 3, 2, 1, 1, AF_UNARY_RELU, 0},
    {1, 80, 11, 13, 80, 2, 3, 2, 1, 1, AF_UNARY_SILU, 0},
    {1, 112, 9, 9, 112, 2, 3, 2, 1, 1, AF_UNARY_CLIP, 0},
    {1, 128, 9, 11, 128, 2, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},
};

static void test_conv(void)
{
    static const conv_case cases[] = {
        /* N  C   H   W   M   g   k  s  p  d  act  wino */
        {1, 16, 23, 29, 24, 1, 3, 1, 1, 1, AF_UNARY_RELU, 0},      /* im2col, several tiles */
        {2, 8, 17, 15, 70, 1, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},   /* stride 2, M blocks */
        {1, 12, 9, 9, 200, 1, 3, 1, 2, 2, AF_UNARY_CLIP, 0},       /* dilation, row blocks */
        {1, 32, 30, 30, 16, 1, 1, 1, 0, 1, AF_UNARY_RELU, 0},      /* pointwise GEMM */
        {1, 24, 19, 21, 24, 24, 3, 1, 1, 1, AF_UNARY_CLIP, 0},     /* depthwise s1 */
        {2, 10, 20, 17, 10, 10, 3, 2, 1, 1, AF_UNARY_RELU, 0},     /* depthwise s2 */
        {1, 7, 11, 13, 7, 7, 5, 1, 2, 1, AF_UNARY_IDENTITY, 0},    /* depthwise 5x5 */
        {1, 6, 5, 4, 6, 6, 3, 1, 3, 2, AF_UNARY_IDENTITY, 0},      /* depthwise, no interior */
        {1, 8, 12, 12, 12, 4, 3, 1, 1, 1, AF_UNARY_RELU, 0},       /* grouped */
        {2, 32, 14, 13, 48, 2, 3, 1, 1, 1, AF_UNARY_RELU, 1},     /* grouped Winograd F(4x4) */
        /* dilated convs run per kernel row (PACK_KH): rows that read only padding skipped per
         * band of output rows; grouped; channel-lane tiles (10x10); bands where no kernel row
         * reaches the image (pads 6 > the kernel's reach: bias and activation only) */
        {1, 24, 14, 14, 40, 1, 3, 1, 12, 12, AF_UNARY_RELU, 0},
        {2, 16, 28, 27, 33, 1, 3, 1, 24, 24, AF_UNARY_SILU, 0},
        {1, 12, 20, 20, 48, 2, 3, 1, 12, 12, AF_UNARY_CLIP, 0},
        {1, 20, 10, 10, 64, 1, 3, 1, 4, 4, AF_UNARY_HARD_SWISH, 0},
        {1, 8, 6, 9, 20, 1, 3, 1, 6, 2, AF_UNARY_RELU, 0},
        {1, 24, 9, 10, 36, 3, 3, 1, 1, 1, AF_UNARY_CLIP, 2},      /* grouped Winograd F(2x2) */
        {2, 32, 10, 11, 40, 8, 3, 1, 1, 1, AF_UNARY_RELU, 1},     /* groups spread over threads */
        /* packed GEMM edges: K = 360 and 576 (k blocks of 256 plus a rest), M not a multiple
         * of 14 or 6, N not a multiple of 32 or 16, stride 2 (gathers), 1x1 stride 2,
         * pointwise K > 256, groups with pre-packed offsets, a 7-wide map (many row segments
         * per panel), a sigmoid epilogue (not fused) */
        {1, 40, 13, 11, 29, 1, 3, 1, 1, 1, AF_UNARY_RELU, 0},
        {2, 64, 7, 7, 31, 1, 3, 1, 1, 1, AF_UNARY_CLIP, 0},
        {1, 24, 21, 19, 45, 1, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},
        {1, 30, 15, 17, 20, 1, 1, 2, 0, 1, AF_UNARY_RELU, 0},
        {1, 300, 9, 11, 37, 1, 1, 1, 0, 1, AF_UNARY_IDENTITY, 0},
        {2, 36, 10, 9, 60, 3, 3, 1, 2, 2, AF_UNARY_RELU, 0},
        {1, 5, 30, 26, 17, 1, 7, 2, 3, 1, AF_UNARY_SIGMOID, 0},
        {1, 16, 3, 40, 15, 1, 5, 1, 2, 1, AF_UNARY_RELU, 0},
        {1, 33, 14, 14, 40, 1, 1, 1, 0, 1, AF_UNARY_SILU, 0},   /* silu (fused with AVX-512) */
        {1, 8, 9, 10, 16, 1, 3, 1, 1, 1, AF_UNARY_SIGMOID, 0},
        {1, 6, 37, 35, 6, 6, 3, 2, 1, 1, AF_UNARY_SILU, 0},     /* depthwise s2, silu */
        {1, 5, 20, 33, 5, 5, 5, 1, 2, 1, AF_UNARY_SIGMOID, 0},  /* depthwise 5x5, sigmoid */
        /* dw_fast.c's direct blocks (AVX-512 path): 5x5 s2 with 2 output rows (too few: the
         * padded-plane loop) and 35 columns; unpadded, 11 rows x 38 columns (4-row blocks,
         * the last one moved up; a column pair + one); 6 rows x 9 (one vector); 5 rows x
         * exactly 32 columns (one pair) */
        {1, 5, 3, 70, 5, 5, 5, 2, 2, 1, AF_UNARY_SILU, 0},
        {1, 4, 13, 40, 4, 4, 3, 1, 0, 1, AF_UNARY_RELU, 0},
        {1, 3, 6, 9, 3, 3, 5, 1, 2, 1, AF_UNARY_CLIP, 0},
        {2, 6, 9, 64, 6, 6, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},
        /* narrow maps (<= 16 columns): 7-row blocks (14 rows; 13 and 16 rows, the last
         * block moved up; 7x7 5x5 silu) */
        {1, 3, 14, 14, 3, 3, 5, 1, 2, 1, AF_UNARY_SILU, 0},
        {1, 4, 13, 11, 4, 4, 3, 1, 1, 1, AF_UNARY_CLIP, 0},
        {1, 3, 7, 7, 3, 3, 5, 1, 2, 1, AF_UNARY_SILU, 0},
        {1, 2, 16, 12, 2, 2, 3, 1, 1, 1, AF_UNARY_RELU, 0},
        /* 7x7 depthwise (ConvNeXt: pad 3): 4-row blocks on a 40-wide map, 7-row blocks on a
         * 7x7 one, stride 2 */
        {1, 4, 13, 40, 4, 4, 7, 1, 3, 1, AF_UNARY_IDENTITY, 0},
        {1, 3, 7, 7, 3, 3, 7, 1, 3, 1, AF_UNARY_RELU, 0},
        {1, 3, 17, 35, 3, 3, 7, 2, 3, 1, AF_UNARY_CLIP, 0},
        /* Winograd: odd sizes (partial tiles), unpadded with 2 images, 100 tiles (2 blocks),
         * 300 channels (2 k blocks) with silu, pad 2 with 19-tile rows (lane groups split at
         * rows and panels) and 60 output channels (2 GEMM chunks), a map smaller than a tile */
        {1, 16, 17, 19, 24, 1, 3, 1, 1, 1, AF_UNARY_RELU, 1},
        {2, 32, 22, 24, 16, 1, 3, 1, 0, 1, AF_UNARY_CLIP, 1},
        {1, 20, 40, 40, 18, 1, 3, 1, 1, 1, AF_UNARY_IDENTITY, 1},
        {1, 300, 9, 11, 37, 1, 3, 1, 1, 1, AF_UNARY_SILU, 1},
        {1, 8, 70, 75, 60, 1, 3, 1, 2, 1, AF_UNARY_SIGMOID, 1},
        {1, 24, 3, 2, 130, 1, 3, 1, 1, 1, AF_UNARY_RELU, 1},
        /* F(2x2): 14x14 (2 tile rows per 16 lanes), odd map with pad 2 and wide rows, 300
         * channels with silu, a map smaller than a tile */
        {1, 32, 14, 14, 40, 1, 3, 1, 1, 1, AF_UNARY_RELU, 2},
        {2, 8, 37, 41, 60, 1, 3, 1, 2, 1, AF_UNARY_SIGMOID, 2},
        {1, 300, 13, 13, 37, 1, 3, 1, 1, 1, AF_UNARY_SILU, 2},
        {1, 24, 3, 2, 30, 1, 3, 1, 1, 1, AF_UNARY_CLIP, 2},
        /* dilated (pads = dilation, sides multiples of it): one Winograd run over the mosaic of
         * the phase images (wino_mosaic.c); 2 images, 3 phases with 300 channels, 4x4 phases
         * of 3x5 pixels */
        {2, 24, 12, 16, 40, 1, 3, 1, 2, 2, AF_UNARY_RELU, 1},
        {1, 300, 9, 9, 37, 1, 3, 1, 3, 3, AF_UNARY_SILU, 1},
        {1, 16, 12, 20, 33, 1, 3, 1, 4, 4, AF_UNARY_CLIP, 2},
        /* small maps: 3x3 at 7x7 with 64 channels, pointwise with 300 input channels (2 k
         * blocks) and silu, stride 2 onto 7x7, 2 images of 9x9 with 96 channels and sigmoid */
        {1, 40, 7, 7, 64, 1, 3, 1, 1, 1, AF_UNARY_RELU, 0},
        {1, 300, 7, 7, 96, 1, 1, 1, 0, 1, AF_UNARY_SILU, 0},
        {1, 24, 14, 14, 128, 1, 3, 2, 1, 1, AF_UNARY_IDENTITY, 0},
        {2, 16, 9, 9, 96, 1, 1, 1, 0, 1, AF_UNARY_SIGMOID, 0},
        /* hard sigmoid / hard swish / leaky relu, fused in registers with AVX-512 (vec.c's
         * loops otherwise): MobileNetV3's first conv (3 -> 16, 3x3 s2), pointwise, depthwise
         * 3x3 and 5x5 (direct and padded-plane loops), a Winograd conv of each kind */
        {1, 3, 30, 30, 16, 1, 3, 2, 1, 1, AF_UNARY_HARD_SWISH, 0},
        {1, 40, 9, 11, 33, 1, 1, 1, 0, 1, AF_UNARY_HARD_SIGMOID, 0},
        {1, 24, 13, 40, 24, 1, 1, 1, 0, 1, AF_UNARY_LEAKY_RELU, 0},
        {1, 6, 19, 21, 6, 6, 3, 1, 1, 1, AF_UNARY_HARD_SWISH, 0},
        {1, 5, 20, 33, 5, 5, 5, 2, 2, 1, AF_UNARY_HARD_SWISH, 0},
        {1, 4, 3, 70, 4, 4, 5, 2, 2, 1, AF_UNARY_LEAKY_RELU, 0},
        {1, 4, 13, 11, 4, 4, 3, 1, 1, 1, AF_UNARY_HARD_SIGMOID, 0},
        {1, 16, 17, 19, 24, 1, 3, 1, 1, 1, AF_UNARY_HARD_SWISH, 1},
        {1, 20, 14, 14, 18, 1, 3, 1, 1, 1, AF_UNARY_LEAKY_RELU, 2},
        {1, 12, 15, 16, 20, 1, 3, 1, 1, 1, AF_UNARY_HARD_SIGMOID, 1},
        /* GELU (erf form), fused with AVX-512 (MaxViT's 1x1 expansions, ConvNeXt-like 7x7
         * depthwise), and in a Winograd conv */
        {1, 24, 14, 15, 70, 1, 1, 1, 0, 1, AF_UNARY_GELU, 0},
        {1, 8, 12, 12, 16, 1, 3, 2, 1, 1, AF_UNARY_GELU, 0},
        {1, 6, 19, 21, 6, 6, 3, 1, 1, 1, AF_UNARY_GELU, 0},
        {1, 16, 17, 19, 24, 1, 3, 1, 1, 1, AF_UNARY_GELU, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_conv_case(&cases[i]);
    for (size_t i = 0; i < sizeof stem_cases / sizeof stem_cases[0]; i++)
        test_conv_case(&stem_cases[i]);
    for (size_t i = 0; i < sizeof glanes_cases / sizeof glanes_cases[0]; i++)
        test_conv_case(&glanes_cases[i]);
}

static void test_pool_threads(void)
{
    enum { C = 37, H = 21, W = 19 };
    static float x[C * H * W], y[4][C * 10 * 9];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++) x[i] = frand();
    af_params p;
    memset(&p, 0, sizeof p);
    p.pool.kind = AF_POOL_MAX;
    p.pool.nsp = 2;
    for (int j = 0; j < 2; j++) p.pool.kernel[j] = 3, p.pool.stride[j] = 2, p.pool.dilation[j] = 1;
    p.pool.pad_begin[0] = p.pool.pad_begin[1] = 0;
    af_tview in = TV(AF_DTYPE_F32, x, 1, C, H, W);
    for (int t = 0; t < 4; t++) {
        af_tview out = TV(AF_DTYPE_F32, y[t], 1, C, 10, 9);
        af_kctx ctx = {.n_threads = t ? t : 1};
        af_err err = {0};
        afk_pool_create(t, &ctx.pool, &err);
        af_status st = af_kernel_run(AF_OP_POOL, &p, &in, 1, &out, 1, &ctx, &err);
        CHECK(st == AF_OK, "max pool with %d threads: %s", t, err.msg);
        afk_pool_free(ctx.pool);
    }
    for (int t = 2; t < 4; t++) CHECK(!memcmp(y[0], y[t], sizeof y[0]), "pool %d threads", t);
    int bad = 0; /* the unchecked interior path vs a naive max: exact */
    for (int c = 0; c < C; c++)
        for (int oh = 0; oh < 10; oh++)
            for (int ow = 0; ow < 9; ow++) {
                float best = -INFINITY;
                for (int kh = 0; kh < 3; kh++)
                    for (int kw = 0; kw < 3; kw++) {
                        float v = x[(c * H + oh * 2 + kh) * W + ow * 2 + kw];
                        best = v > best ? v : best;
                    }
                bad += y[1][(c * 10 + oh) * 9 + ow] != best;
            }
    CHECK(bad == 0, "max pool: %d outputs differ from the naive max", bad);
}

/* Runs one node with a pool of `threads` (0: none), scratch sliced per thread as a session
 * does. */
static af_status run_op(af_op op, const af_params *p, const af_tview *in, int n_in, af_tview *out,
                        int threads)
{
    af_err err = {0};
    int nt = threads ? threads : 1;
    size_t need = (af_kernel_scratch_bytes(op, p, in, n_in, out, 1) + 63) / 64 * 64;
    void *scratch = need ? aligned_alloc(64, need * (size_t)nt) : NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need * (size_t)nt, .n_threads = nt};
    af_status st = afk_pool_create(threads, &ctx.pool, &err);
    if (!st) st = af_kernel_run(op, p, in, n_in, out, 1, &ctx, &err);
    afk_pool_free(ctx.pool);
    free(scratch);
    return st;
}

static af_status run_resize(const af_params *p, const af_tview *in, af_tview *out, int threads)
{
    return run_op(AF_OP_RESIZE, p, in, 1, out, threads);
}

/* ConvTranspose (tasks of channel blocks, chosen by shape) with 1, 2 and 3 threads: the same
 * bytes as without a pool (its values are checked against a naive scatter in test_kernels). */
static void test_convt_threads(void)
{
    enum { C = 12, M = 96, H = 11, W = 13, OH = 2 * H, OW = 2 * W };
    static float x[C * H * W], w[C * M * 9], b[M], y[4][M * OH * OW];
    for (int i = 0; i < C * H * W; i++) x[i] = frand();
    for (int i = 0; i < C * M * 9; i++) w[i] = frand();
    for (int i = 0; i < M; i++) b[i] = frand();
    af_params p;
    memset(&p, 0, sizeof p);
    p.conv.nsp = 2, p.conv.group = 1;
    for (int j = 0; j < 2; j++)
        p.conv.kernel[j] = 3, p.conv.stride[j] = 2, p.conv.dilation[j] = 1,
        p.conv.pad_begin[j] = 1, p.conv.pad_end[j] = 0;
    p.conv.act.fn = AF_UNARY_RELU;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 1, C, H, W), TV(AF_DTYPE_F32, w, C, M, 3, 3),
                      TV(AF_DTYPE_F32, b, M)};
    int ok = 1;
    for (int t = 0; t < 4; t++) {
        af_tview out = TV(AF_DTYPE_F32, y[t], 1, M, OH, OW);
        ok &= run_op(AF_OP_CONV_TRANSPOSE, &p, in, 3, &out, t) == AF_OK;
    }
    CHECK(ok, "convT ran");
    for (int t = 1; t < 4; t++)
        CHECK(!memcmp(y[0], y[t], sizeof y[0]), "convT: %d threads differ from none", t);
}

/* resize.c's plane path (NCHW, only H and W change; planes in parallel) against its general
 * element loop, which takes the same resize laid out NHWC (axis 1 changes): the plane path
 * repeats the general loop's operations in its order, so the bound is 0 (the bits must match),
 * and 1, 2 and 3 threads must give the same bytes. Linear (both axes, one axis) and nearest;
 * 40 input columns: AVX-512's permuted rows (runs of 16 outputs within 32 source columns:
 * upscales, 2x down; masked loads at the row's end) and the scalar loop (4x down). */
static void test_resize_planes(void)
{
    enum { N = 2, C = 3, H = 7, W = 40 };
    static const struct {
        int mode, coord;
        int64_t OH, OW;
    } cases[] = {{AF_RESIZE_LINEAR, AF_COORD_HALF_PIXEL, 16, 5},
                 {AF_RESIZE_LINEAR, AF_COORD_ALIGN_CORNERS, 14, 18},
                 {AF_RESIZE_LINEAR, AF_COORD_PYTORCH_HALF_PIXEL, 7, 20},
                 {AF_RESIZE_LINEAR, AF_COORD_ASYMMETRIC, 21, 9},
                 {AF_RESIZE_LINEAR, AF_COORD_HALF_PIXEL, 21, 100},
                 {AF_RESIZE_LINEAR, AF_COORD_ALIGN_CORNERS, 3, 83},
                 {AF_RESIZE_LINEAR, AF_COORD_HALF_PIXEL, 21, 40},
                 {AF_RESIZE_NEAREST, AF_COORD_ASYMMETRIC, 14, 27}};
    static float x[N * C * H * W], xt[N * H * W * C];
    static float y[4][N * C * 21 * 100], yt[N * 21 * 100 * C];
    for (int i = 0; i < N * C * H * W; i++) x[i] = frand();
    for (int n = 0; n < N; n++) /* NCHW -> NHWC */
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H * W; i++) xt[(n * H * W + i) * C + c] = x[(n * C + c) * H * W + i];
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        int64_t OH = cases[k].OH, OW = cases[k].OW, n_out = N * C * OH * OW;
        af_params p;
        memset(&p, 0, sizeof p);
        p.resize = (af_resize_params){.mode = cases[k].mode, .coord = cases[k].coord,
                                      .nearest = AF_NEAREST_FLOOR,
                                      .scale = {1, 1, (float)OH / H, (float)OW / W}};
        af_tview in = TV(AF_DTYPE_F32, x, N, C, H, W);
        int ok = 1;
        for (int t = 0; t < 4; t++) {
            af_tview out = TV(AF_DTYPE_F32, y[t], N, C, OH, OW);
            ok &= run_resize(&p, &in, &out, t) == AF_OK;
        }
        af_params pt = p;
        pt.resize.scale[1] = p.resize.scale[2], pt.resize.scale[2] = p.resize.scale[3];
        pt.resize.scale[3] = 1;
        af_tview int_ = TV(AF_DTYPE_F32, xt, N, H, W, C), outt = TV(AF_DTYPE_F32, yt, N, OH, OW, C);
        ok &= run_resize(&pt, &int_, &outt, 0) == AF_OK;
        CHECK(ok, "resize case %zu ran", k);
        int64_t bad = 0;
        for (int n = 0; n < N; n++)
            for (int c = 0; c < C; c++)
                for (int64_t i = 0; i < OH * OW; i++) {
                    float a = y[0][(n * C + c) * OH * OW + i], b = yt[(n * OH * OW + i) * C + c];
                    bad += memcmp(&a, &b, sizeof a) != 0;
                }
        CHECK(bad == 0, "resize case %zu (%lldx%lld): %lld of %lld differ from the general loop",
              k, (long long)OH, (long long)OW, (long long)bad, (long long)n_out);
        for (int t = 1; t < 4; t++)
            CHECK(!memcmp(y[0], y[t], (size_t)n_out * sizeof(float)),
                  "resize case %zu: %d threads differ", k, t);
    }
}

/* Output size along one axis as ONNX defines it (ceil mode: the last window must start inside
 * the input or the begin pad). */
static int64_t pool_out(int64_t in, int k, int s, int d, int pb, int pe, int ceil_mode)
{
    int64_t room = in + pb + pe - (int64_t)d * (k - 1) - 1;
    if (!ceil_mode) return room / s + 1;
    int64_t o = (room + s - 1) / s + 1;
    return (o - 1) * s >= in + pb ? o - 1 : o;
}

/* pool.c's 2-D pooling (whole rows by pool_fast.c's masked loop, edges and ceil-mode windows
 * included; max pooling's 3-wide stride-2 interior loop) against its general per-output loop,
 * which takes the same pooling as 3-D with a depth kernel of 1: the same operations in the same
 * order, so the bits must match (bound 0), NaN, -0 and infinities in the input included. */
static void test_pool_rows(void)
{
    enum { HMAX = 13, WMAX = 75 };
    /* kind (1 avg), k, stride, dilation, pad begin, pad end, count_include_pad, ceil, H, W */
    static const int geo[][10] = {
        {1, 3, 1, 1, 1, 1, 1, 0, 13, 35}, {1, 3, 1, 1, 1, 1, 0, 0, 13, 35},
        {1, 3, 2, 1, 0, 0, 0, 0, 13, 35}, {1, 2, 2, 1, 1, 1, 1, 0, 13, 35},
        {1, 5, 1, 1, 2, 2, 1, 0, 13, 35}, {1, 2, 2, 1, 0, 0, 0, 0, 12, 75},
        {1, 3, 2, 1, 1, 0, 1, 1, 13, 14}, {1, 3, 2, 1, 0, 0, 0, 1, 13, 14},
        {1, 3, 1, 2, 2, 2, 0, 0, 9, 70}, {1, 7, 1, 1, 3, 3, 0, 0, 7, 7},
        {0, 3, 1, 1, 1, 1, 0, 1, 13, 14}, {0, 3, 2, 1, 0, 0, 0, 1, 13, 14},
        {0, 3, 2, 1, 0, 0, 0, 1, 13, 75}, {0, 3, 2, 1, 1, 1, 0, 0, 13, 75},
        {0, 2, 2, 1, 0, 0, 0, 1, 7, 7},   {0, 3, 1, 2, 2, 2, 0, 0, 9, 70},
        {0, 5, 2, 1, 2, 1, 0, 1, 11, 33}, {0, 3, 1, 1, 0, 0, 0, 0, 13, 70},
        {0, 9, 1, 1, 4, 4, 0, 0, 5, 5},   {0, 3, 2, 1, 1, 1, 0, 0, 1, 1},
        {0, 3, 2, 2, 1, 1, 0, 0, 13, 35}, {1, 2, 2, 1, 0, 1, 0, 1, 9, 9},
        {0, 1, 2, 1, 0, 0, 0, 0, 8, 40}, {1, 3, 2, 1, 1, 1, 1, 0, 13, 75},
        /* stride 1 with rows as wide as the input's: the plane as one run of vectors across
         * row ends (17 columns; pads 2 / 0; a 9x9 map with pads 0 / 2; one row) */
        {1, 3, 1, 1, 1, 1, 0, 0, 13, 17}, {1, 3, 1, 1, 2, 0, 0, 0, 13, 35},
        {0, 3, 1, 1, 0, 2, 0, 0, 9, 9},   {0, 3, 1, 1, 1, 1, 0, 0, 1, 20},
        {1, 5, 1, 1, 2, 2, 0, 1, 6, 6},
    };
    static float x[2 * HMAX * WMAX], y2[2 * HMAX * WMAX], y3[2 * HMAX * WMAX];
    for (int i = 0; i < 2 * HMAX * WMAX; i++)
        x[i] = i % 97 == 5 ? NAN : i % 89 == 7 ? -0.0f : i % 83 == 3 ? 0.0f
             : i % 101 == 9 ? -INFINITY : frand();
    for (size_t c = 0; c < sizeof geo / sizeof *geo; c++) {
        const int *g = geo[c];
        int kk = g[1], st = g[2], dl = g[3], pb = g[4], pe = g[5], H = g[8], W = g[9];
        int64_t OH = pool_out(H, kk, st, dl, pb, pe, g[7]);
        int64_t OW = pool_out(W, kk, st, dl, pb, pe, g[7]);
        af_params p, p3;
        memset(&p, 0, sizeof p);
        memset(&p3, 0, sizeof p3);
        p.pool = (af_pool_params){.kind = g[0] ? AF_POOL_AVG : AF_POOL_MAX, .nsp = 2,
                                  .count_include_pad = g[6], .ceil_mode = g[7],
                                  .kernel = {kk, kk}, .stride = {st, st}, .dilation = {dl, dl},
                                  .pad_begin = {pb, pb}, .pad_end = {pe, pe}};
        p3.pool = (af_pool_params){.kind = p.pool.kind, .nsp = 3, .count_include_pad = g[6],
                                   .ceil_mode = g[7], .kernel = {1, kk, kk},
                                   .stride = {1, st, st}, .dilation = {1, dl, dl},
                                   .pad_begin = {0, pb, pb}, .pad_end = {0, pe, pe}};
        af_tview in = TV(AF_DTYPE_F32, x, 1, 2, H, W), out = TV(AF_DTYPE_F32, y2, 1, 2, OH, OW);
        af_tview in3 = TV(AF_DTYPE_F32, x, 1, 1, 2, H, W);
        af_tview out3 = TV(AF_DTYPE_F32, y3, 1, 1, 2, OH, OW);
        int ok = run_op(AF_OP_POOL, &p, &in, 1, &out, 2) == AF_OK;
        ok &= run_op(AF_OP_POOL, &p3, &in3, 1, &out3, 0) == AF_OK;
        CHECK(ok, "pool case %zu ran", c);
        CHECK(!memcmp(y2, y3, (size_t)(2 * OH * OW) * sizeof(float)),
              "%s pool %dx%d s%d d%d p%d/%d incl %d ceil %d on %dx%d: the row-wise path differs "
              "from the general loop", g[0] ? "avg" : "max", kk, kk, st, dl, pb, pe, g[6], g[7],
              H, W);
    }
}

/* The geometry conv.c sees for depthwise case c (2-D). */
static conv_geom dw_geom(const conv_case *c)
{
    int64_t OH, OW;
    af_params p;
    conv_params(c, &p, &OH, &OW);
    conv_geom g = {.N = c->N, .C = c->C, .M = c->M, .G = c->group, .Cg = 1, .Mg = 1,
                   .K = c->k * c->k, .in = {1, c->H, c->W}, .out = {1, OH, OW},
                   .k = {1, c->k, c->k}, .s = {1, c->stride, c->stride}, .d = {1, c->dil, c->dil},
                   .pb = {0, c->pad, c->pad}, .pe = {0, c->pad, c->pad}, .isp = c->H * c->W,
                   .osp = OH * OW};
    return g;
}

/* Depthwise convs on small maps with 16 channels in the lanes (dw_lanes.c, AVX-512F): taken
 * (afk_dw_lanes_ok) and the same bits as the plane loops (the same FMA chain per output, then
 * bias and act), at 1 thread with packed weights and 3 with weights transposed per block; partial channel groups, stride 2, 7x7 kernels, an
 * activation the kernel does not fuse (tanh: the caller's epilogue), 2 images. The reference
 * bound is checked by test_conv's small-map cases, which take this path too. */
/* Selects the AVX-512 kernels (afk_pgemm_force); 0, said and undone, when the CPU lacks them. */
static int force_avx512(const char *what)
{
    afk_pgemm_force = 2;
    if (afk_pgemm_nr() == 32) return 1;
    printf("  %s: skipped, no AVX-512\n", what);
    afk_pgemm_force = -1;
    return 0;
}

/* Each case is packed with `want` bytes (the kernel under test's packed size), so the path
 * test_conv checked for it is that kernel's. */
static void check_packed(const conv_case *cases, size_t n, const char *what,
                         size_t (*want)(const conv_case *c))
{
    if (!force_avx512(what)) return;
    for (size_t i = 0; i < n; i++) {
        const conv_case *c = &cases[i];
        af_params p;
        int64_t OH, OW;
        conv_params(c, &p, &OH, &OW);
        float one = 1.0f;
        af_tview in[3] = {TV(AF_DTYPE_F32, NULL, c->N, c->C, c->H, c->W),
                          TV(AF_DTYPE_F32, &one, c->M, c->C / c->group, c->k, c->k),
                          TV(AF_DTYPE_F32, NULL, c->M)};
        af_tview out = TV(AF_DTYPE_F32, NULL, c->N, c->M, OH, OW);
        size_t pb = af_kernel_prepack_bytes(AF_OP_CONV, &p, in, 3, &out, 1), w = want(c);
        CHECK(pb == w, "%s C%lld M%lld g%lld k%lld: packed %zu bytes, not the kernel's %zu", what,
              (long long)c->C, (long long)c->M, (long long)c->group, (long long)c->k, pb, w);
    }
    afk_pgemm_force = -1;
}

/* the lanes kernel: per group (KH*KW*Cg, Mg rounded up to 16), and the header */
static size_t glanes_bytes(const conv_case *c)
{
    int64_t Mp = (c->M / c->group + 15) / 16 * 16;
    return (size_t)(c->group * c->k * c->k * (c->C / c->group) * Mp + 16) * 4;
}

/* the stem kernel: (M rounded up to 16, C*KH*KW), and the header */
static size_t stem_bytes(const conv_case *c)
{
    return (size_t)((c->M + 15) / 16 * 16 * c->C * c->k * c->k + 16) * 4;
}

/* stem_cases and glanes_cases take the kernels they are there for. */
static void test_lanes_and_stem_taken(void)
{
    check_packed(glanes_cases, sizeof glanes_cases / sizeof glanes_cases[0], "grouped lanes",
                 glanes_bytes);
    check_packed(stem_cases, sizeof stem_cases / sizeof stem_cases[0], "stem", stem_bytes);
}

static void test_dw_lanes(void)
{
    static const conv_case cases[] = {
        {2, 40, 7, 7, 40, 40, 5, 1, 2, 1, AF_UNARY_SILU, 0},
        {1, 16, 14, 14, 16, 16, 3, 2, 1, 1, AF_UNARY_RELU, 0},
        {1, 20, 7, 7, 20, 20, 7, 1, 3, 1, AF_UNARY_IDENTITY, 0},
        {1, 33, 5, 6, 33, 33, 3, 1, 1, 1, AF_UNARY_HARD_SWISH, 0},
        {1, 24, 8, 8, 24, 24, 3, 1, 1, 1, AF_UNARY_TANH, 0},
        {1, 17, 13, 15, 17, 17, 5, 2, 2, 1, AF_UNARY_GELU, 0},
        {1, 20, 14, 14, 20, 20, 7, 1, 3, 1, AF_UNARY_IDENTITY, 0}, /* 7x7 kernel, larger map */
    };
    if (!force_avx512("dw lanes")) return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *c = &cases[i];
        conv_data d;
        conv_data_make(c, &d);
        int64_t OH, OW;
        af_params p;
        conv_params(c, &p, &OH, &OW);
        size_t ny = (size_t)(c->N * c->M * OH * OW);
        float *y[3] = {malloc(ny * 4), malloc(ny * 4), malloc(ny * 4)};
        conv_geom g = dw_geom(c);
        CHECK(afk_dw_lanes_ok(&g), "dw lanes C%lld %lldx%lld k%lld: not taken", (long long)c->C,
              (long long)c->H, (long long)c->W, (long long)c->k);
        int ok = run_conv(c, d.x, d.w, d.b, y[0], 1, 1) == AF_OK; /* weights packed once */
        ok &= run_conv(c, d.x, d.w, d.b, y[1], 3, 0) == AF_OK;      /* or transposed per block */
        afk_dw_lanes_mode = 0; /* the plane loops */
        ok &= run_conv(c, d.x, d.w, d.b, y[2], 1, 0) == AF_OK;
        afk_dw_lanes_mode = -1;
        CHECK(ok && !memcmp(y[0], y[1], ny * 4), "dw lanes C%lld k%lld: 3 threads (weights transposed per block) differ from 1 (packed)",
              (long long)c->C, (long long)c->k);
        CHECK(ok && !memcmp(y[0], y[2], ny * 4), "dw lanes C%lld %lldx%lld k%lld s%lld act %d: "
              "not the plane loops' bits", (long long)c->C, (long long)c->H, (long long)c->W,
              (long long)c->k, (long long)c->stride, c->act);
        for (int t = 0; t < 3; t++) free(y[t]);
        conv_data_free(&d);
    }
    afk_pgemm_force = -1;
}

int main(void)
{
    test_pool_rows();
    test_vec();
    test_resize_planes();
    test_convt_threads();
    test_conv();
    test_dw_lanes();
    test_lanes_and_stem_taken();
    test_pool_threads();
    return check_report("kernels_fast");
}

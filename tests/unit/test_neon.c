/* tests/unit/test_neon.c — the SIMD kernels the CPU selects (NEON on AArch64, AVX on x86)
 * against their portable references: the packed GEMM micro-kernel with every fused epilogue,
 * the direct depthwise conv, the vec.c loops, IEEE half conversion, the norms', pools' and
 * resize's loops and (NEON) the im2col runs into 8-wide panels and the attention's exponential.
 * On AArch64 it also fails when the NEON kernels are not the ones selected (make check-arm64
 * runs it under qemu).
 *
 * Bounds: an fp32 sum of K products with one rounding per FMA is within K * 2^-24 * sum|a b|
 * of the exact sum (Higham, "Accuracy and Stability of Numerical Algorithms", 3.1), so
 * (K + 2) * 2^-24 * sum|a b| covers the GEMM and the depthwise sums; sigmoid/silu/erf/gelu add
 * the polynomial's documented error (vec.c: a few ulp; erf within 5e-7 absolute), bounded
 * here by 2e-6 relative + 1e-6 absolute. Compare-select and add/sub/mul loops must give the
 * portable loop's bits exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/dw_fast.h"
#include "runtime/kernels/internal.h"
#include "runtime/kernels/neon.h"
#include "test_kernels_util.h"

static const double U = 5.9604644775390625e-08; /* 2^-24 */

static double act_ref(double v, int act, double lo, double hi)
{
    switch (act) {
    case AFK_ACT_RELU: return v < 0 ? 0 : v;
    case AFK_ACT_CLIP: return v < lo ? lo : v > hi ? hi : v;
    case AFK_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
    case AFK_ACT_SILU: return v / (1.0 + exp(-v));
    default: return v;
    }
}

/* |got - ref| within the sum bound (scaled through the activation's slope <= 1.1) */
static int close_to(float got, double ref, double absum, int terms, int act)
{
    double tol = (terms + 2) * U * absum * 1.1 + (act >= AFK_ACT_SIGMOID ? 2e-6 * fabs(ref) + 1e-6 : 0);
    return fabs(got - ref) <= tol + 1e-30;
}

/* ---- packed GEMM ---- */

typedef struct { const float *B; int64_t N; } bsrc;

/* panels of nr columns: B[k0+kk, j*nr + r] at [(j*kc + kk)*nr + r], zeros past N */
static void pack_b(const void *arg, int64_t k0, int64_t kc, int nr, float *dst)
{
    const bsrc *s = arg;
    for (int64_t j = 0; j * nr < s->N; j++)
        for (int64_t kk = 0; kk < kc; kk++)
            for (int r = 0; r < nr; r++) {
                int64_t n = j * nr + r;
                dst[(j * kc + kk) * nr + r] = n < s->N ? s->B[(k0 + kk) * s->N + n] : 0.0f;
            }
}

static void gemm_case(int64_t M, int64_t N, int64_t K, int act, int prepacked_a)
{
    float *A = frand_buf(M * K), *B = frand_buf(K * N), *bias = frand_buf(M);
    float *C = malloc(sizeof(float) * (size_t)(M * N));
    float *work = aligned_alloc(64, (afk_pgemm_work_floats(N) * sizeof(float) + 63) / 64 * 64);
    float *Ap = prepacked_a ? malloc(sizeof(float) * (size_t)(M * K)) : NULL;
    if (Ap) afk_pgemm_pack_a(M, K, A, K, Ap);
    bsrc bs = {B, N};
    afk_pgemm g = {.M = M, .N = N, .K = K, .A = A, .lda = K, .Ap = Ap, .ap_rows = M,
                   .pack_b = pack_b, .b_arg = &bs, .C = C, .ldc = N, .bias = bias, .act = act,
                   .lo = -0.25f, .hi = 0.5f, .work = work};
    afk_pgemm_run(&g);
    int64_t bad = 0;
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = bias[m], as = fabs(bias[m]);
            for (int64_t k = 0; k < K; k++)
                s += (double)A[m * K + k] * B[k * N + n], as += fabs((double)A[m * K + k] * B[k * N + n]);
            if (!close_to(C[m * N + n], act_ref(s, act, -0.25, 0.5), as, (int)K, act)) bad++;
        }
    CHECK(bad == 0, "pgemm %s M %lld N %lld K %lld act %d%s: %lld outside the bound",
          afk_pgemm_isa(), (long long)M, (long long)N, (long long)K, act,
          prepacked_a ? " (A pre-packed)" : "", (long long)bad);
    free(A), free(B), free(bias), free(C), free(work), free(Ap);
}

static void test_gemm(void)
{
    if (!afk_pgemm_nr()) return;
    const int64_t Ms[] = {1, 5, 12, 13, 25}, Ns[] = {1, 7, 8, 9, 20}, Ks[] = {1, 3, 40, 300};
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 4; k++)
            for (int act = 0; act <= AFK_ACT_SILU; act++)
                gemm_case(Ms[(a + act) % 5], Ns[(k + act) % 5], Ks[k], act, (a + k) % 2);
    gemm_case(37, 33, 517, AFK_ACT_RELU, 1); /* three k blocks, edge panels both ways */
}

/* ---- depthwise ---- */

static void dw_case(int64_t H, int64_t W, int k, int s, int64_t pad, int act)
{
    int64_t OH = (H + 2 * pad - k) / s + 1, OW = (W + 2 * pad - k) / s + 1;
    if (OH < 1 || OW < 1 || !afk_dw2d_applies(k, s, OH)) return;
    float *x = frand_buf(H * W), *w = frand_buf(k * k), *y = malloc(sizeof(float) * (size_t)(OH * OW));
    float *zero = calloc((size_t)W, sizeof(float));
    const afk_dw2d d = {x, w, y, zero, H, W, OH, OW, pad, pad, k, s, act, 0.125f, -0.25f, 0.5f};
    afk_dw2d_run(&d);
    int64_t bad = 0;
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            double sum = 0, as = 0;
            for (int kh = 0; kh < k; kh++)
                for (int kw = 0; kw < k; kw++) {
                    int64_t ih = oh * s - pad + kh, iw = ow * s - pad + kw;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    double p = (double)x[ih * W + iw] * w[kh * k + kw];
                    sum += p, as += fabs(p);
                }
            double ref = act >= 0 ? act_ref(sum + 0.125, act, -0.25, 0.5) : sum;
            if (!close_to(y[oh * OW + ow], ref, as + 0.125, k * k, act)) bad++;
        }
    CHECK(bad == 0, "dw %lldx%lld k %d s %d pad %lld act %d: %lld outside the bound", (long long)H,
          (long long)W, k, s, (long long)pad, act, (long long)bad);
    free(x), free(w), free(y), free(zero);
}

static void test_dw(void)
{
    const int64_t sizes[][2] = {{5, 5}, {9, 13}, {17, 8}, {30, 31}, {4, 40}};
    for (int i = 0; i < 5; i++)
        for (int k = 3; k <= 5; k += 2)
            for (int s = 1; s <= 2; s++)
                for (int pad = 0; pad <= k / 2; pad++)
                    dw_case(sizes[i][0], sizes[i][1], k, s, pad, (i + pad + s) % 6 - 1);
}

/* ---- vec.c loops: the portable loops' bits ---- */

static float *special_buf(int64_t n)
{
    float *x = frand_buf(n);
    const float sp[] = {0.0f, -0.0f, NAN, INFINITY, -INFINITY, 1e-40f, -0.25f, 0.5f};
    for (int64_t i = 0; i < n; i += 5) x[i] = sp[(i / 5) % 8];
    return x;
}

static int same_bits(const float *a, const float *b, int64_t n)
{
    return memcmp(a, b, sizeof(float) * (size_t)n) == 0;
}

static void test_vec(void)
{
    const int64_t n = 203; /* vector body and a tail */
    float *a = special_buf(n), *b = special_buf(n), *o1 = malloc(sizeof(float) * n),
          *o2 = malloc(sizeof(float) * n);
    for (int kind = AFK_ACT_NONE; kind <= AFK_ACT_CLIP; kind++) {
        memcpy(o1, a, sizeof(float) * n), memcpy(o2, a, sizeof(float) * n);
        afk_vec_bias_act(o1, n, 0.25f, kind, -0.25f, 0.5f);
        afk_vec_force_portable = 1;
        afk_vec_bias_act(o2, n, 0.25f, kind, -0.25f, 0.5f);
        afk_vec_force_portable = 0;
        CHECK(same_bits(o1, o2, n), "bias_act kind %d (%s)", kind, afk_vec_isa());
        memcpy(o1, a, sizeof(float) * n), memcpy(o2, a, sizeof(float) * n);
        afk_vec_add_act(o1, b, n, kind, -0.25f, 0.5f);
        afk_vec_force_portable = 1;
        afk_vec_add_act(o2, b, n, kind, -0.25f, 0.5f);
        afk_vec_force_portable = 0;
        CHECK(same_bits(o1, o2, n), "add_act kind %d (%s)", kind, afk_vec_isa());
    }
    const int fns[] = {AF_BINARY_ADD, AF_BINARY_SUB, AF_BINARY_MUL, AF_BINARY_MAX, AF_BINARY_MIN};
    for (int f = 0; f < 5; f++)
        for (int sc = 0; sc < 3; sc++) {
            if (sc < 2) afk_vec_binary(fns[f], a, b + 3 * sc, sc, o1, n);
            else afk_vec_binary_sa(fns[f], a[7], b, o1, n);
            afk_vec_force_portable = 1;
            if (sc < 2) afk_vec_binary(fns[f], a, b + 3 * sc, sc, o2, n);
            else afk_vec_binary_sa(fns[f], a[7], b, o2, n);
            afk_vec_force_portable = 0;
            CHECK(same_bits(o1, o2, n), "binary fn %d form %d (%s)", fns[f], sc, afk_vec_isa());
        }
    free(a), free(b), free(o1), free(o2);
}

/* sigmoid / silu / erf / gelu: the reference function within the bound, NaN kept */
static void test_transcendental(void)
{
    const int fns[] = {AF_UNARY_SIGMOID, AF_UNARY_SILU, AF_UNARY_ERF, AF_UNARY_GELU};
    const int64_t n = 4003;
    float *x = malloc(sizeof(float) * n);
    for (int f = 0; f < 4; f++) {
        af_unary_params u = {fns[f], 0.0f, 0.0f};
        for (int64_t i = 0; i < n; i++) x[i] = -30.0f + 60.0f * (float)i / (float)(n - 1);
        x[0] = NAN, x[1] = INFINITY, x[2] = -INFINITY, x[3] = -0.0f;
        float *y = malloc(sizeof(float) * n);
        memcpy(y, x, sizeof(float) * n);
        if (!afk_vec_sigmoid(&u, y, n)) {
            free(y);
            continue;
        }
        int64_t bad = 0;
        for (int64_t i = 0; i < n; i++) {
            double r = afk_unary_f32(&u, x[i]);
            if (isinf(x[i])) continue; /* at +-inf the reference's own forms overflow (GELU(-inf) is NaN) */
            if (isnan(r) ? !isnan(y[i]) : !(fabs(y[i] - r) <= 2e-6 * fabs(r) + 1e-6))
                bad++, fprintf(stderr, "  x %g: %g, reference %g\n", x[i], y[i], r);
        }
        CHECK(bad == 0, "unary fn %d (%s): %lld outside 2e-6 rel + 1e-6", fns[f], afk_vec_isa(),
              (long long)bad);
        free(y);
    }
    free(x);
}

/* every half widens to af_f16_to_f32's value (NaNs to a NaN); floats narrow to
 * af_f32_to_f16's half (NEON: both ways) */
static void test_half(void)
{
    uint16_t *h = malloc(sizeof(uint16_t) * 65536);
    float *f = malloc(sizeof(float) * 65536);
    for (int i = 0; i < 65536; i++) h[i] = (uint16_t)i;
    afk_f16_to_f32_n(h, f, 65536);
    int64_t bad = 0;
    for (int i = 0; i < 65536; i++) {
        float r = af_f16_to_f32(h[i]);
        if (isnan(r) ? !isnan(f[i]) : memcmp(&r, &f[i], sizeof r) != 0) bad++;
    }
    CHECK(bad == 0, "f16 -> f32 (%s): %lld of 65536 differ", afk_vec_isa(), (long long)bad);
#ifdef AFK_NEON
    const int64_t n = 10007;
    float *x = special_buf(n);
    for (int64_t i = 0; i < n; i += 7) x[i] *= 7e4f * (float)(i % 3); /* past the half range */
    for (int64_t i = 1; i < n; i += 11) x[i] *= 1e-5f;                  /* half subnormals */
    uint16_t *o = malloc(sizeof(uint16_t) * (size_t)n);
    afk_neon_f32_to_f16(x, o, (size_t)n);
    bad = 0;
    for (int64_t i = 0; i < n; i++)
        if (isnan(x[i]) ? (o[i] & 0x7C00) != 0x7C00 || !(o[i] & 0x3FF) : o[i] != af_f32_to_f16(x[i]))
            bad++;
    CHECK(bad == 0, "f32 -> f16 (neon): %lld of %lld differ", (long long)bad, (long long)n);
    free(x), free(o);
#endif
    free(h), free(f);
}

/* ---- norms and pools: the portable loops' bits (global average: a bound) ---- */

/* Runs op with the SIMD loops, then with the portable ones, on one input; 1 when the outputs'
 * bits agree. */
static int same_both_ways(af_op op, const af_params *p, af_tview *in, int n_in, af_tview *out,
                          int64_t n_out_floats, float *got, float *want)
{
    out->data = got;
    CHECK(run_node(op, p, in, n_in, out, 1) == AF_OK, "op %d runs", (int)op);
    afk_vec_force_portable = 1;
    out->data = want;
    CHECK(run_node(op, p, in, n_in, out, 1) == AF_OK, "op %d runs (portable)", (int)op);
    afk_vec_force_portable = 0;
    return same_bits(got, want, n_out_floats);
}

/* group / instance / layer norm, maps off the 16-lane and 1024-float tiles, relu fused or not */
static void test_norms(void)
{
    const int64_t N = 2, C = 6, S = 1037, n = N * C * S;
    float *x = special_buf(n), *sc = frand_buf(C), *bi = frand_buf(C);
    float *y1 = malloc(sizeof(float) * n), *y2 = malloc(sizeof(float) * n);
    for (int64_t i = 0; i < n; i++) x[i] = isfinite(x[i]) ? x[i] * 3.0f + 0.5f : 1.0f;
    for (int act = 0; act < 2; act++) {
        af_params p = {0};
        p.norm.eps = 1e-5f, p.norm.act.fn = act ? AF_UNARY_RELU : AF_UNARY_IDENTITY;
        af_tview in[3] = {TV(AF_DTYPE_F32, x, N, C, S), TV(AF_DTYPE_F32, sc, C),
                          TV(AF_DTYPE_F32, bi, C)}, out = TV(AF_DTYPE_F32, NULL, N, C, S);
        p.norm.num_groups = 3;
        CHECK(same_both_ways(AF_OP_GROUP_NORM, &p, in, 3, &out, n, y1, y2),
              "group norm act %d (%s)", act, afk_vec_isa());
        CHECK(same_both_ways(AF_OP_INSTANCE_NORM, &p, in, 3, &out, n, y1, y2),
              "instance norm act %d (%s)", act, afk_vec_isa());
        for (int aff = 1; aff < 4; aff += 2) { /* scale; scale and bias */
            const int64_t inner = 203;
            float *w = frand_buf(2 * inner);
            af_tview li[3] = {TV(AF_DTYPE_F32, x, n / inner, inner), TV(AF_DTYPE_F32, w, inner),
                              TV(AF_DTYPE_F32, w + inner, inner)};
            af_tview lo = TV(AF_DTYPE_F32, NULL, n / inner, inner);
            p.norm.axis = 1;
            CHECK(same_both_ways(AF_OP_LAYER_NORM, &p, li, aff & 2 ? 3 : 2, &lo,
                                 n / inner * inner, y1, y2),
                  "layer norm act %d affine %d (%s)", act, aff, afk_vec_isa());
            free(w);
        }
    }
    free(x), free(sc), free(bi), free(y1), free(y2);
}

static int64_t pool_out(int64_t in, int k, int s, int d, int pb, int pe)
{
    int64_t span = (int64_t)d * (k - 1) + 1, room = in + pb + pe - span;
    return room < 0 ? 0 : room / s + 1;
}

/* One 2-D pool (kind, k x k, stride s, dilation dl, pad) of a (1, 2, H, W) map, both ways;
 * 1 when the bits agree, -1 when the shape has no output. */
static int pool_case(int kind, int64_t H, int64_t W, int k, int s, int dl, int pad, int cip)
{
    int64_t OH = pool_out(H, k, s, dl, pad, pad), OW = pool_out(W, k, s, dl, pad, pad);
    if (OH < 1 || OW < 1) return -1;
    float *x = special_buf(2 * H * W), *y1 = malloc(sizeof(float) * (size_t)(2 * OH * OW)),
          *y2 = malloc(sizeof(float) * (size_t)(2 * OH * OW));
    for (int64_t i = 0; kind == AF_POOL_AVG && i < 2 * H * W; i++) /* sums: finite inputs */
        x[i] = isfinite(x[i]) ? x[i] : 2.0f;
    af_params p = {0};
    af_pool_params *pp = &p.pool;
    pp->kind = kind, pp->nsp = 2, pp->count_include_pad = cip;
    for (int a = 0; a < 2; a++)
        pp->kernel[a] = k, pp->stride[a] = s, pp->dilation[a] = dl,
        pp->pad_begin[a] = pp->pad_end[a] = pad;
    af_tview in = TV(AF_DTYPE_F32, x, 1, 2, H, W), out = TV(AF_DTYPE_F32, NULL, 1, 2, OH, OW);
    CHECK(check_node(AF_OP_POOL, &p, &in, 1, &out, 1) == AF_OK, "pool check");
    int same = same_both_ways(AF_OP_POOL, &p, &in, 1, &out, 2 * OH * OW, y1, y2);
    free(x), free(y1), free(y2);
    return same;
}

/* 2-D max and average pooling: kernels 1-4 wide, strides 1-5, dilations 1-2 (max), pads, maps
 * off the 4-lane vectors (the structure loads' last columns too), -0/+0 and NaN (max) in the
 * input */
static void test_pools(void)
{
    const int64_t Ws[] = {5, 13, 30, 41};
    int64_t bad = 0, cases = 0;
    for (int w = 0; w < 4; w++)
        for (int k = 1; k <= 4; k++)
            for (int s = 1; s <= 5; s++)
                for (int dl = 1; dl <= 2; dl++)
                    for (int kind = 0; kind < 2; kind++) {
                        int pad = (k + s + w) % 2 && k > 1 ? 1 : 0, r;
                        if (kind == AF_POOL_AVG && dl > 1) continue;
                        r = pool_case(kind, 9, Ws[w], k, s, dl, pad, (k + w) % 2);
                        bad += r == 0, cases += r >= 0;
                    }
    CHECK(bad == 0, "2-D pools (%s): %lld of %lld cases differ from the portable loop",
          afk_vec_isa(), (long long)bad, (long long)cases);
}

/* global max (bits: zeros of both signs first, NaN skipped) and average (a bound: both sums in
 * doubles, each within n·2^-53·Σ|x| of the exact sum) */
static void test_global_pools(void)
{
    const int64_t C = 5, S = 203;
    float *x = special_buf(C * S), y1[5], y2[5];
    for (int64_t i = 0; i < S; i++) x[i] = -fabsf(x[i]) - 1.0f; /* channel 0: max is a zero */
    x[17] = -0.0f, x[40] = 0.0f;
    for (int64_t i = S; i < 2 * S; i++) x[i] = NAN; /* channel 1: all NaN: -inf */
    af_params p = {0};
    af_tview in = TV(AF_DTYPE_F32, x, 1, C, S, 1), out = TV(AF_DTYPE_F32, NULL, 1, C, 1, 1);
    p.global_pool.kind = AF_POOL_MAX;
    CHECK(same_both_ways(AF_OP_GLOBAL_POOL, &p, &in, 1, &out, C, y1, y2), "global max (%s)",
          afk_vec_isa());
    CHECK(signbit(y1[0]) && y1[0] == 0.0f, "global max keeps the first zero (-0)");
    for (int64_t i = 0; i < C * S; i++) x[i] = isfinite(x[i]) ? x[i] : 0.5f;
    p.global_pool.kind = AF_POOL_AVG;
    same_both_ways(AF_OP_GLOBAL_POOL, &p, &in, 1, &out, C, y1, y2);
    for (int64_t c = 0; c < C; c++) {
        double as = 0;
        for (int64_t i = 0; i < S; i++) as += fabs(x[c * S + i]);
        double tol = 2 * S * 0x1p-53 * as / S + fabs(y2[c]) * 0x1p-24; /* the sums, the cast */
        CHECK(fabs((double)y1[c] - y2[c]) <= tol, "global avg channel %lld: %g vs %g",
              (long long)c, y1[c], y2[c]);
    }
    free(x);
}

/* nearest resize (asymmetric, floor) of f32 planes: 2x (NEON: ZIP rows, copied rows), 3x and
 * 1.5x (gathers): every output the bits of x[floor(oh / sh)][floor(ow / sw)], NaN included */
static void test_resize_nearest(void)
{
    const struct { int64_t H, W; float sh, sw; } cs[] = {{5, 7, 2, 2}, {4, 9, 2, 2}, {3, 5, 3, 3},
                                                          {6, 10, 1.5f, 1.5f}, {5, 6, 1, 2}};
    for (int i = 0; i < 5; i++) {
        const int64_t C = 3, H = cs[i].H, W = cs[i].W;
        const double sh = cs[i].sh, sw = cs[i].sw;
        const int64_t OH = (int64_t)floor((double)H * sh), OW = (int64_t)floor((double)W * sw);
        float *x = special_buf(C * H * W), *y = malloc(sizeof(float) * (size_t)(C * OH * OW));
        af_params p = {0};
        p.resize.mode = AF_RESIZE_NEAREST, p.resize.coord = AF_COORD_ASYMMETRIC;
        p.resize.nearest = AF_NEAREST_FLOOR;
        p.resize.scale[0] = p.resize.scale[1] = 1.0f;
        p.resize.scale[2] = cs[i].sh, p.resize.scale[3] = cs[i].sw;
        af_tview in = TV(AF_DTYPE_F32, x, 1, C, H, W), out = TV(AF_DTYPE_F32, y, 1, C, OH, OW);
        CHECK(check_node(AF_OP_RESIZE, &p, &in, 1, &out, 1) == AF_OK, "resize check");
        CHECK(run_node(AF_OP_RESIZE, &p, &in, 1, &out, 1) == AF_OK, "resize run");
        int64_t bad = 0;
        for (int64_t c = 0; c < C; c++)
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t ih = (int64_t)floor((double)oh / sh);
                    int64_t iw = (int64_t)floor((double)ow / sw);
                    bad += memcmp(&y[(c * OH + oh) * OW + ow], &x[(c * H + ih) * W + iw], 4) != 0;
                }
        CHECK(bad == 0, "nearest resize %lldx%lld by %g x %g (%s): %lld wrong", (long long)H,
              (long long)W, cs[i].sh, cs[i].sw, afk_vec_isa(), (long long)bad);
        free(x), free(y);
    }
}

/* linear resize (half pixel) of f32 planes, both axes, rows only, columns only, up and down,
 * widths off the 4-lane vectors: the portable plane loop's bits */
static void test_resize_linear(void)
{
    const struct { int64_t H, W, OH, OW; } cs[] = {{5, 7, 10, 14}, {6, 9, 4, 13}, {5, 8, 10, 8},
                                                  {5, 8, 5, 13}, {3, 17, 7, 35}};
    for (int i = 0; i < 5; i++) {
        const int64_t C = 2, H = cs[i].H, W = cs[i].W, OH = cs[i].OH, OW = cs[i].OW;
        float *x = frand_buf(C * H * W), *y1 = malloc(sizeof(float) * (size_t)(C * OH * OW)),
              *y2 = malloc(sizeof(float) * (size_t)(C * OH * OW));
        af_params p = {0};
        p.resize.mode = AF_RESIZE_LINEAR, p.resize.coord = AF_COORD_HALF_PIXEL;
        p.resize.scale[0] = p.resize.scale[1] = 1.0f;
        p.resize.scale[2] = (float)OH / (float)H, p.resize.scale[3] = (float)OW / (float)W;
        af_tview in = TV(AF_DTYPE_F32, x, 1, C, H, W), out = TV(AF_DTYPE_F32, NULL, 1, C, OH, OW);
        CHECK(same_both_ways(AF_OP_RESIZE, &p, &in, 1, &out, C * OH * OW, y1, y2),
              "linear resize %lldx%lld -> %lldx%lld (%s)", (long long)H, (long long)W,
              (long long)OH, (long long)OW, afk_vec_isa());
        free(x), free(y1), free(y2);
    }
}

#ifdef AFK_NEON
#include "runtime/kernels/neon_math.h"

/* the attention's e^x (afn_expneg) against exp on [-87, 0]: measured 2.0e-7 relative (the
 * degree-5 polynomial plus the last roundings), checked at 3e-7; NaN stays NaN, x below -87
 * gives e^-87, e^0 is 1.00000012 (within the bound) */
static void test_expneg(void)
{
    double worst = 0;
    for (int64_t i = 0; i < 870000; i += 4) {
        float x[4], y[4];
        for (int j = 0; j < 4; j++) x[j] = -(float)(i + j) * 1e-4f;
        vst1q_f32(y, afn_expneg(vld1q_f32(x)));
        for (int j = 0; j < 4; j++) {
            double r = exp((double)x[j]), e = fabs(y[j] - r) / r;
            if (!(e <= worst)) worst = e;
        }
    }
    CHECK(worst <= 3e-7, "expneg: relative error %g > 3e-7", worst);
    float x[4] = {NAN, -INFINITY, -1000.0f, 0.0f}, y[4];
    vst1q_f32(y, afn_expneg(vld1q_f32(x)));
    CHECK(isnan(y[0]) && y[1] > 0 && y[1] < 2e-38f && y[2] == y[1] && fabsf(y[3] - 1.0f) <= 3e-7f,
          "expneg specials: %g %g %g %g", y[0], y[1], y[2], y[3]);
}

/* the conv's im2col runs into 8-wide panels (im2col_neon.c): the copy the portable packer
 * makes, at strides 1 (LD1), 2 (LD2) and 3 (lane by lane), from every lane offset, zeros too */
static void test_put_run(void)
{
    enum { PS = 24, PANELS = 6 };
    float src[100], got[PS * PANELS], want[PS * PANELS];
    for (int i = 0; i < 100; i++) src[i] = frand();
    int64_t bad = 0;
    for (int s = 1; s <= 3; s++)
        for (int64_t r = 0; r < 12; r++)
            for (int64_t len = 0; len <= 30; len++)
                for (int z = 0; z < 2; z++) {
                    for (int i = 0; i < PS * PANELS; i++) got[i] = want[i] = -7.0f;
                    afk_neon_put_run8(got, PS, r, len, z ? NULL : src, s);
                    for (int64_t i = 0; i < len; i++)
                        want[(r + i) / 8 * PS + (r + i) % 8] = z ? 0.0f : src[i * s];
                    bad += memcmp(got, want, sizeof got) != 0;
                }
    CHECK(bad == 0, "im2col runs (neon): %lld differ", (long long)bad);
}
#endif

int main(void)
{
#ifdef AFK_NEON
    CHECK(strcmp(afk_pgemm_isa(), "neon") == 0, "packed GEMM kernel is %s", afk_pgemm_isa());
    CHECK(strcmp(afk_vec_isa(), "neon") == 0, "vector loops are %s", afk_vec_isa());
    CHECK(afk_dw2d_applies(3, 1, 4) && afk_dw2d_applies(5, 2, 1), "direct depthwise not taken");
#endif
    printf("kernels in use: packed GEMM %s, vector loops %s\n", afk_pgemm_isa(), afk_vec_isa());
    test_gemm();
    test_dw();
    test_vec();
    test_transcendental();
    test_half();
    test_norms();
    test_pools();
    test_global_pools();
    test_resize_nearest();
    test_resize_linear();
#ifdef AFK_NEON
    test_put_run();
    test_expneg();
#endif
    return check_report("neon");
}

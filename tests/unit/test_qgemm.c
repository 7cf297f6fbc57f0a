/* tests/unit/test_qgemm.c — int8 compute (runtime/kernels/qgemm.h): int8 weight panels times
 * activations quantized per k block, vpdpbusd int32 dot products, dequantizing epilogue.
 *
 *  1. The quantizer against a scalar copy of its formula: the same codes and parameters, bit
 *     for bit.
 *  2. The micro-kernel's integers: weights with scale 1 (zero points 0, nonzero, and uint8
 *     codes) times integer activations whose every k block holds -128 and 127 (so the quantizer
 *     maps x to x + 128 exactly, scale 1): C must equal sum_k (q - z) x exactly (all partial
 *     sums stay below 2^24, so the f32 result is the int32 accumulator's value).
 *  3. Random weights and activations through afk_pgemm_run with bias and relu: bit for bit the
 *     scalar model of the same operations (qgemm.h's formula), and within the quantization bound
 *     of the exact product: each activation is off by at most half its step sa/2 (plus f32
 *     rounding of the scale products, < 1e-5 relative), so |y - y_exact| <= sum_k |w_k| sa_k / 2
 *     * 1.001 + 1e-5 sum_k |w_k x_k|.
 *  4. CONV on int8 blobs (per-tensor f16 scale, per-channel asymmetric, an ONNX model's uint8
 *     per-channel codes) handed over as dtype I8: 3x3 over two k blocks, pointwise, stride 2,
 *     grouped. Against the f32 conv of the decoded weights: PSNR >= 35 dB (uniform activations
 *     quantized to 8 bits over each column's range are off by ~range/255/sqrt(12), about -48 dB
 *     of the signal; 35 dB leaves room for outputs that cancel to small values), and the same
 *     bytes for 1, 2 and 3 threads.
 *     Large 3x3 convs (160 -> 176 channels at 32x32) run int8 Winograd F(2x2) (PACK_WQ8: the
 *     16 transformed weight rows quantized again, V quantized per k block): the same 35 dB
 *     bound (F(2x2)'s transforms add and subtract at most 4 terms per axis; measured 59.0 dB
 *     here, the direct int8 cases 62-65) and thread invariance, and outputs that differ from
 *     the direct int8 conv's (afk_wino_int8 0), so the Winograd path is the one checked.
 *  5. MATMUL (a (K,N) weight: per-k scales folded into the activations; symmetric per-row and
 *     per-tensor asymmetric blobs) and GEMM (a (N,K) weight, transB: per-column scales, zero
 *     points, uint8 codes; alpha and a broadcast C) handed over as I8: the same 35 dB bound and
 *     thread invariance; a (K,N) weight with per-k zero points is refused.
 * Skips (passes with nothing checked) on a CPU without AVX512-VNNI. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "convert/metrics.h"
#include "graph/dtype.h"
#include "runtime/kernels/cpanel.h"
#include "runtime/kernels/internal.h"
#include "runtime/kernels/qgemm.h"
#include "runtime/wdecode.h"
#include "test_kernels_util.h"
#include "blob_run_util.h"
#include "cw_blob.h"

enum { KC = AFK_PGEMM_KC };

/* ---- the scalar model ---------------------------------------------------------------------- */

typedef struct qcol {
    float sa, za, sq;
} qcol;

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Column values x[0..kc) -> codes q and parameters, as qgemm.h states the quantizer. */
static qcol quant_ref(const float *x, int64_t xs, int64_t kc, int *q)
{
    float mn = 0.0f, mx = 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        float v = x[k * xs];
        mn = v < mn ? v : mn, mx = v > mx ? v : mx;
    }
    float range = mx - mn, inv = range > 0.0f ? 255.0f / range : 0.0f;
    float z = nearbyintf(-mn * inv);
    z = z > 0.0f ? (z < 255.0f ? z : 255.0f) : 0.0f; /* as vmaxps: -0 becomes +0 */
    int64_t tot = 0;
    for (int64_t k = 0; k < kc; k++) {
        q[k] = (int)clampf(nearbyintf(fmaf(x[k * xs], inv, z)), 0.0f, 255.0f);
        tot += q[k];
    }
    qcol c = {range / 255.0f, z, (float)tot - (float)kc * z};
    return c;
}

static void test_quantizer(void)
{
    const int Ls[] = {32, 14, 5};
    const int64_t kcs[] = {256, 45, 1};
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            int L = Ls[a];
            int64_t kc = kcs[b], nq = (kc + 3) / 4;
            float *x = frand_buf(kc * L);
            if (b == 1)
                for (int64_t e = 0; e < kc * L; e++) x[e] = fabsf(x[e]) * 3.0f; /* post-relu */
            for (int l = 0; l < L; l += 3) /* all-zero and constant columns */
                for (int64_t k = 0; k < kc; k++) x[k * L + l] = l % 2 ? 0.0f : 0.75f;
            uint8_t *q = calloc((size_t)(nq * L * 4), 1);
            float sa[32], za[32], sq[32];
            afk_q8_quantize(x, L, kc, q, sa, za, sq);
            int *qr = malloc(sizeof(int) * (size_t)kc), bad = 0;
            for (int l = 0; l < L; l++) {
                qcol c = quant_ref(x + l, L, kc, qr);
                bad += memcmp(&c.sa, &sa[l], 4) || memcmp(&c.za, &za[l], 4) ||
                       memcmp(&c.sq, &sq[l], 4);
                for (int64_t k = 0; k < 4 * nq; k++)
                    bad += q[((k / 4) * L + l) * 4 + k % 4] != (k < kc ? qr[k] : 0);
            }
            CHECK(bad == 0, "quantizer L=%d kc=%lld: %d mismatches", L, (long long)kc, bad);
            free(x), free(q), free(qr);
        }
}

/* ---- a GEMM through afk_pgemm_run with int8 panels -------------------------------------------- */

/* An int8 blob (rows, K): ONNX-style f32 per-row scales s[r] and zero points z[r] (uint8 codes
 * when uns), codes given. */
static uint8_t *blob8(int64_t rows, int64_t K, const float *s, const int *z, const int *codes,
                      int uns)
{
    int64_t dims[2] = {rows, K};
    af_wblob_head h = {AFB_ENC_INT8, 8,
                       AF_WBLOB_F32_SCALE | AF_WBLOB_AXIS | AF_WBLOB_PER_CHANNEL |
                           AF_WBLOB_ASYMMETRIC | (uns ? AF_WBLOB_UNSIGNED : 0),
                       0, (uint32_t)rows, 0, 0};
    af_wblob_layout l;
    const char *bad = af_wblob_layout_of(&h, 2, dims, &l);
    CHECK(!bad, "blob layout: %s", bad ? bad : "");
    uint8_t *b = calloc(1, l.total);
    af_wblob_put_head(b, &h);
    for (int64_t r = 0; r < rows; r++) {
        memcpy(b + l.params_off + 4 * r, &s[r], 4);
        b[l.params2_off + r] = (uint8_t)z[r];
    }
    for (int64_t e = 0; e < rows * K; e++) b[l.data_off + e] = (uint8_t)codes[e];
    return b;
}

/* C (M,N) = int8 compute of blob (M,K) @ B (K,N), + bias and relu when bias. */
static void qgemm(const uint8_t *blob, int64_t M, int64_t K, const float *B, int64_t N,
                  const float *bias, float *C)
{
    int64_t dims[2] = {M, K};
    int W = afk_pgemm_mr();
    size_t qb = afk_q8_bytes(blob, 2, dims, 1, W, 0);
    CHECK(qb > 0, "int8 blob not taken");
    if (!qb) return;
    void *qp = aligned_alloc(64, (qb + 63) / 64 * 64);
    afk_q8_pack(blob, 2, dims, 1, W, 0, qp);
    float *work = aligned_alloc(64, afk_pgemm_work_floats(N) * sizeof(float));
    test_bmat bm = {B, N, N};
    afk_pgemm g = {.M = M, .N = N, .K = K, .pack_b = test_pack_b, .b_arg = &bm, .C = C,
                   .ldc = N, .bias = bias, .act = bias ? AFK_ACT_RELU : AFK_ACT_NONE,
                   .work = work, .Aq8 = qp};
    afk_pgemm_run(&g);
    free(qp), free(work);
}

static void test_integers(void)
{
    const int64_t M = 31, K = 301, N = 70; /* 14+14+3 rows; k blocks 256 + 45; 32+32+6 columns */
    float *B = malloc(sizeof(float) * (size_t)(K * N)), *C = malloc(sizeof(float) * (size_t)(M * N));
    float s[31];
    int z[31], *codes = malloc(sizeof(int) * (size_t)(M * K));
    for (int uns = 0; uns <= 1; uns++)
        for (int zero = 0; zero <= 1; zero++) {
            for (int64_t e = 0; e < K * N; e++) B[e] = (float)((int)(rnd() % 256) - 128);
            for (int64_t k0 = 0; k0 < K; k0 += KC) /* every column's block spans [-128, 127] */
                for (int64_t n = 0; n < N; n++)
                    B[k0 * N + n] = -128.0f, B[(k0 + 1 + n % 7) * N + n] = 127.0f;
            for (int64_t r = 0; r < M; r++) {
                s[r] = 1.0f;
                z[r] = !zero ? (uns ? 128 : 0) : (int)(rnd() % 256) - (uns ? 0 : 128);
            }
            for (int64_t e = 0; e < M * K; e++) codes[e] = (int)(rnd() % 256) - (uns ? 0 : 128);
            uint8_t *b = blob8(M, K, s, z, codes, uns);
            qgemm(b, M, K, B, N, NULL, C);
            int bad = 0;
            for (int64_t i = 0; i < M; i++)
                for (int64_t n = 0; n < N; n++) {
                    int64_t acc = 0;
                    for (int64_t k = 0; k < K; k++)
                        acc += (int64_t)(codes[i * K + k] - z[i]) * (int64_t)B[k * N + n];
                    bad += C[i * N + n] != (float)acc;
                }
            CHECK(bad == 0, "integers (uint8 %d, zero points %d): %d of %lld differ", uns, zero,
                  bad, (long long)(M * N));
            free(b);
        }
    free(B), free(C), free(codes);
}

static void test_floats(void)
{
    const int64_t M = 45, K = 600, N = 77;
    float *B = frand_buf(K * N), *C = malloc(sizeof(float) * (size_t)(M * N));
    float *bias = frand_buf(M), s[45];
    int z[45], *codes = malloc(sizeof(int) * (size_t)(M * K));
    for (int64_t e = 0; e < K * N; e += 5) B[e] *= 4.0f; /* uneven ranges */
    for (int64_t r = 0; r < M; r++) s[r] = (float)(rnd() % 1000 + 1) / 7919.0f, z[r] = (int)(rnd() % 41) - 20;
    for (int64_t e = 0; e < M * K; e++) codes[e] = (int)(rnd() % 256) - 128;
    uint8_t *b = blob8(M, K, s, z, codes, 0);
    qgemm(b, M, K, B, N, bias, C);
    int *q = malloc(sizeof(int) * KC);
    int exact_bad = 0, bound_bad = 0;
    for (int64_t n = 0; n < N; n++) {
        float ref[45] = {0};
        double bound[45] = {0}, truth[45] = {0};
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
            int64_t kc = K - k0 < KC ? K - k0 : KC;
            qcol c = quant_ref(B + k0 * N + n, N, kc, q);
            for (int64_t i = 0; i < M; i++) {
                int64_t acc = 0, wsum = 0;
                double aw = 0, awx = 0;
                for (int64_t k = 0; k < kc; k++) {
                    int w = codes[i * K + k0 + k];
                    acc += (int64_t)w * q[k], wsum += w;
                    double wf = (double)s[i] * (w - z[i]), xv = B[(k0 + k) * N + n];
                    aw += fabs(wf), awx += fabs(wf * xv), truth[i] += wf * xv;
                }
                float d = fmaf(-(float)z[i], c.sq, fmaf(-c.za, (float)wsum, (float)acc));
                float m = c.sa * s[i];
                ref[i] = k0 == 0 ? d * m : fmaf(d, m, ref[i]);
                bound[i] += aw * c.sa / 2 * 1.001 + 1e-5 * awx;
            }
        }
        for (int64_t i = 0; i < M; i++) {
            float r = ref[i] + bias[i];
            r = r < 0 ? 0.0f : r;
            exact_bad += memcmp(&r, &C[i * N + n], 4) != 0;
            double t = truth[i] + bias[i];
            t = t < 0 ? 0 : t;
            bound_bad += fabs(C[i * N + n] - t) > bound[i];
        }
    }
    CHECK(exact_bad == 0, "floats: %d of %lld differ from the scalar model", exact_bad,
          (long long)(M * N));
    CHECK(bound_bad == 0, "floats: %d of %lld outside the quantization bound", bound_bad,
          (long long)(M * N));
    free(B), free(C), free(bias), free(codes), free(b), free(q);
}

/* ---- CONV on int8 blobs ---------------------------------------------------------------------- */

static void conv_case(const ccase *c, const benc *e)
{
    int64_t OH, dims[4] = {c->M, c->C / c->group, c->k, c->k};
    int64_t nw = dims[0] * dims[1] * dims[2] * dims[3];
    conv_params(c, &OH);
    int64_t ny = c->M * OH * OH;
    size_t nb;
    uint8_t *blob = make_blob_r(e, 4, dims, &nb);
    float *x = frand_buf(c->C * c->H * c->H), *w = malloc(sizeof(float) * (size_t)nw);
    float *b = frand_buf(c->M);
    af_err err = {0};
    CHECK(af_wdecode(e->enc, blob, nb, 4, dims, w, "w", &err) == AF_OK, "decode: %s", err.msg);
    float *ref = malloc(sizeof(float) * (size_t)ny), *y[3];
    conv_run(c, x, w, NULL, AF_DTYPE_I8, b, ref, 1);
    for (int nt = 1; nt <= 3; nt++) {
        y[nt - 1] = malloc(sizeof(float) * (size_t)ny);
        memset(y[nt - 1], 0xff, sizeof(float) * (size_t)ny);
        conv_run(c, x, NULL, blob, AF_DTYPE_I8, b, y[nt - 1], nt);
    }
    af_metrics m;
    af_metrics_compute(ref, y[0], (size_t)ny, &m);
    CHECK(m.psnr >= 35.0, "%s C=%lld M=%lld k=%lld s=%lld g=%lld: PSNR %.2f dB < 35 against f32",
          e->name, (long long)c->C, (long long)c->M, (long long)c->k, (long long)c->stride,
          (long long)c->group, m.psnr);
    CHECK(m.psnr < 200.0, "%s: int8 compute gave the f32 result exactly (path not taken?)",
          e->name);
    for (int nt = 2; nt <= 3; nt++)
        CHECK(!memcmp(y[0], y[nt - 1], sizeof(float) * (size_t)ny),
              "%s C=%lld k=%lld g=%lld: %d threads differ from 1", e->name, (long long)c->C,
              (long long)c->k, (long long)c->group, nt);
    free(blob), free(x), free(w), free(b), free(ref);
    for (int i = 0; i < 3; i++) free(y[i]);
}

/* int8 Winograd: conv_case's checks, then the direct int8 conv must give other bits. */
static void wq8_case(void)
{
    static const ccase c = {160, 32, 176, 1, 3, 1};
    static const benc e = {"int8 per-channel", AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL, 0};
    conv_case(&c, &e);
    int64_t OH, dims[4] = {c.M, c.C, 3, 3};
    conv_params(&c, &OH);
    size_t nb, ny = (size_t)(c.M * OH * OH);
    uint8_t *blob = make_blob_r(&e, 4, dims, &nb);
    float *x = frand_buf(c.C * c.H * c.H), *b = frand_buf(c.M);
    float *yw = malloc(ny * sizeof(float)), *yd = malloc(ny * sizeof(float));
    conv_run(&c, x, NULL, blob, AF_DTYPE_I8, b, yw, 1);
    afk_wino_int8 = 0;
    conv_run(&c, x, NULL, blob, AF_DTYPE_I8, b, yd, 1);
    afk_wino_int8 = 1;
    CHECK(memcmp(yw, yd, ny * sizeof(float)) != 0,
          "int8 Winograd: the same bits as the direct int8 conv (path not taken?)");
    free(blob), free(x), free(b), free(yw), free(yd);
}

/* ---- MATMUL and GEMM on int8 blobs ------------------------------------------------------------ */

static void dense_case(const dcase *c, const benc *e)
{
    int64_t dims[2] = {c->tb ? c->N : c->K, c->tb ? c->K : c->N};
    int64_t ny = c->batch * c->M * c->N, nw = c->K * c->N;
    size_t nb;
    uint8_t *blob = make_blob_r(e, 2, dims, &nb);
    float *x = frand_buf(c->batch * c->M * c->K), *w = malloc(sizeof(float) * (size_t)nw);
    float *bias = frand_buf(c->N);
    af_err err = {0};
    CHECK(af_wdecode(e->enc, blob, nb, 2, dims, w, "w", &err) == AF_OK, "decode: %s", err.msg);
    float *ref = malloc(sizeof(float) * (size_t)ny), *y[3];
    dense_run(c, x, w, NULL, AF_DTYPE_I8, bias, ref, 1);
    for (int nt = 1; nt <= 3; nt++) {
        y[nt - 1] = malloc(sizeof(float) * (size_t)ny);
        memset(y[nt - 1], 0xff, sizeof(float) * (size_t)ny);
        dense_run(c, x, NULL, blob, AF_DTYPE_I8, bias, y[nt - 1], nt);
    }
    af_metrics m;
    af_metrics_compute(ref, y[0], (size_t)ny, &m);
    CHECK(m.psnr >= 35.0 && m.psnr < 200.0, "%s %s tb=%d M=%lld K=%lld N=%lld: PSNR %.2f dB",
          e->name, c->op == AF_OP_GEMM ? "gemm" : "matmul", c->tb, (long long)c->M,
          (long long)c->K, (long long)c->N, m.psnr);
    for (int nt = 2; nt <= 3; nt++)
        CHECK(!memcmp(y[0], y[nt - 1], sizeof(float) * (size_t)ny),
              "%s %s N=%lld: %d threads differ from 1", e->name,
              c->op == AF_OP_GEMM ? "gemm" : "matmul", (long long)c->N, nt);
    free(blob), free(x), free(w), free(bias), free(ref);
    for (int i = 0; i < 3; i++) free(y[i]);
}

static void dense_tests(void)
{
    static const dcase cases[] = {
        {AF_OP_MATMUL, 0, 2, 9, 300, 45},  /* (2,9,300) @ (300,45): 18 rows, two k blocks */
        {AF_OP_MATMUL, 0, 1, 30, 40, 600}, /* two 512-column blocks, tiles across threads */
        {AF_OP_GEMM, 1, 1, 7, 300, 45},    /* B stored (N,K), alpha, broadcast C */
        {AF_OP_GEMM, 0, 1, 5, 72, 81},     /* (K,N) Gemm weight, a last panel of 17 lanes */
    };
    static const benc sym = {"int8 per-row sym", AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL, 0};
    static const benc pt = {"int8 per-tensor asym", AFB_ENC_INT8, 8, AF_WBLOB_ASYMMETRIC, 0};
    static const benc asym = {"int8 per-row asym", AFB_ENC_INT8, 8,
                              AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC, 0};
    static const benc onnx = {"int8 onnx uint8 per-row", AFB_ENC_INT8, 8,
                              AF_WBLOB_F32_SCALE | AF_WBLOB_UNSIGNED | AF_WBLOB_AXIS |
                                  AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC, 0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dense_case(&cases[i], &sym);
        dense_case(&cases[i], &pt);
        if (cases[i].tb) dense_case(&cases[i], &asym), dense_case(&cases[i], &onnx);
    }
    /* (K,N) with a zero point per k cannot fold its scales: refused (the U8 path takes it) */
    int64_t dims[2] = {40, 30};
    size_t nb;
    uint8_t *b = make_blob_r(&asym, 2, dims, &nb);
    CHECK(afk_sgemm_packb_q8_bytes(0, b, dims) == 0, "per-k zero points taken for a (K,N) weight");
    CHECK(afk_sgemm_packb_q8_bytes(1, b, dims) > 0, "per-row zero points refused for (N,K)");
    free(b);
}

int main(void)
{
    if (!afk_q8_available()) return check_report("qgemm (no AVX512-VNNI here: skipped)");
    test_quantizer();
    test_integers();
    test_floats();
    static const ccase cases[] = {
        {40, 9, 45, 1, 3, 1},  /* 3x3 s1: K = 360 (two k blocks), 45 rows (a 3-row panel) */
        {32, 12, 30, 1, 1, 1}, /* pointwise */
        {16, 13, 20, 1, 3, 2}, /* 3x3 stride 2 */
        {24, 10, 18, 3, 3, 2}, /* grouped */
    };
    static const benc encs[] = {
        {"int8 per-tensor", AFB_ENC_INT8, 8, 0, 0},
        {"int8 per-channel asym", AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC, 0},
        {"int8 onnx uint8 per-channel", AFB_ENC_INT8, 8,
         AF_WBLOB_F32_SCALE | AF_WBLOB_UNSIGNED | AF_WBLOB_AXIS | AF_WBLOB_PER_CHANNEL |
             AF_WBLOB_ASYMMETRIC, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t j = 0; j < sizeof encs / sizeof encs[0]; j++) conv_case(&cases[i], &encs[j]);
    wq8_case();
    dense_tests();
    /* a blob that is not int8 is not taken: the caller hands it over as U8 next */
    int64_t dims[4] = {20, 8, 3, 3};
    size_t nb;
    benc p4 = {"int4", AFB_ENC_INT4_LUT, 4, 0, 4};
    uint8_t *b4 = make_blob_r(&p4, 4, dims, &nb);
    CHECK(afk_q8_bytes(b4, 4, dims, 1, afk_pgemm_mr(), 0) == 0, "int4 blob taken for int8 compute");
    free(b4);
    return check_report("qgemm");
}

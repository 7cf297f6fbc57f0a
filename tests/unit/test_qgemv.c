/* tests/unit/test_qgemv.c — QLinearMatMul's rows against a constant B packed for AVX512-VNNI
 * (runtime/kernels/qgemv_vnni.c) against the reference loop of runtime/kernels/quant.c, bit for
 * bit. Two levels:
 *  - afk_qgemv_row's sums (acc[n] = sum_k (a - azp) * B[k, n] and sa = sum_k (a - azp), modulo
 *    2^32) against a plain loop, for uint8 / int8 rows and B, zero points 0, mid-range and at
 *    the ends of the range, K = 1, 3, 4, 5, 13, 64, 1000, 2048, N = 1, 15, 16, 17, 127, 128, 129,
 *    1000, with 1, 2 and 3 threads;
 *  - the QLINEAR_MATMUL node with B packed (af_kernel_prepack; the B view then holds zeros, so
 *    equal bytes show the packed path ran) against the node without (the reference), M = 1, 2
 *    and 5 rows, per-column and per-tensor B zero points and scales, with and without bias,
 *    uint8 and int8 outputs, scales that spread the outputs over the code range, 1-3 threads.
 * Integer sums are exact and both paths requantize alike, so there is no tolerance. Without
 * AVX512-VNNI nothing packs (checked) and nothing else is. */
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "runtime/kernels/qgemv.h"
#include "test_kernels_util.h"

static uint64_t qstate = 0x6a09e667f3bcc909ull;
static int32_t irand(int32_t lo, int32_t hi) /* uniform in [lo, hi] */
{
    qstate = qstate * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (int32_t)((qstate >> 33) % (uint64_t)(hi - lo + 1));
}

static void codes(uint8_t *d, int64_t n, int is_signed)
{
    for (int64_t i = 0; i < n; i++) d[i] = (uint8_t)(is_signed ? irand(-128, 127) : irand(0, 255));
}

static int32_t code(const uint8_t *d, int64_t i, int is_signed)
{
    return is_signed ? (int32_t)(int8_t)d[i] : (int32_t)d[i];
}

static void *pack(const af_tview *b)
{
    size_t bytes = afk_qgemv_pack_bytes(b);
    void *p = bytes ? aligned_alloc(64, (bytes + 63) / 64 * 64) : NULL;
    if (p) afk_qgemv_pack(b, p);
    return p;
}

/* afk_qgemv_row against the plain loop. */
static void row_case(int64_t K, int64_t N, int a_signed, int b_signed, int32_t azp, int threads)
{
    uint8_t *a = malloc((size_t)K), *b = malloc((size_t)(K * N));
    uint32_t *acc = malloc((size_t)N * 4), *ua4 = malloc((size_t)(K + 3) / 4 * 4);
    codes(a, K, a_signed), codes(b, K * N, b_signed);
    af_tview bv = TV(b_signed ? AF_DTYPE_I8 : AF_DTYPE_U8, b, K, N);
    void *p = pack(&bv);
    af_err err = {0};
    af_kctx ctx = {.n_threads = threads};
    afk_pool_create(threads, &ctx.pool, &err);
    uint32_t sa = 0;
    int ran = p && afk_qgemv_row(p, a, a_signed, azp, acc, ua4, &ctx, &sa);
    CHECK(ran, "K %lld N %lld: the packed row did not run", (long long)K, (long long)N);
    uint32_t want_sa = 0;
    int bad = -1;
    for (int64_t k = 0; k < K; k++) want_sa += (uint32_t)(code(a, k, a_signed) - azp);
    for (int64_t n = 0; ran && n < N && bad < 0; n++) {
        uint32_t s = 0;
        for (int64_t k = 0; k < K; k++)
            s += (uint32_t)(code(a, k, a_signed) - azp) * (uint32_t)code(b, k * N + n, b_signed);
        if (s != acc[n]) bad = (int)n;
    }
    CHECK(!ran || (bad < 0 && sa == want_sa),
          "K %lld N %lld a%s b%s azp %d, %d threads: column %d or sa (%u, want %u) differs",
          (long long)K, (long long)N, a_signed ? "i8" : "u8", b_signed ? "i8" : "u8", azp,
          threads, bad, sa, want_sa);
    afk_pool_free(ctx.pool);
    free(a), free(b), free(acc), free(ua4), free(p);
}

typedef struct mcase {
    int64_t M, K, N;
    af_dtype adt, bdt, ydt;
    int bz_per_col, bias;
} mcase;

static void run(const af_tview *in, int n_in, af_tview *out, const void *packed, int threads)
{
    af_err err = {0};
    af_params p = {0};
    size_t need = (af_kernel_scratch_bytes(AF_OP_QLINEAR_MATMUL, &p, in, n_in, out, 1) + 63) /
                  64 * 64;
    af_kctx ctx = {.scratch = aligned_alloc(64, need + 64), .scratch_bytes = need,
                   .n_threads = threads, .packed = packed};
    afk_pool_create(threads, &ctx.pool, &err);
    af_status st = af_kernel_run(AF_OP_QLINEAR_MATMUL, &p, in, n_in, out, 1, &ctx, &err);
    CHECK(st == AF_OK, "run: %s", err.msg);
    afk_pool_free(ctx.pool);
    free(ctx.scratch);
}

static void node_case(const mcase *c)
{
    const int as = c->adt == AF_DTYPE_I8, bs = c->bdt == AF_DTYPE_I8, ys = c->ydt == AF_DTYPE_I8;
    const int64_t M = c->M, K = c->K, N = c->N;
    uint8_t *a = malloc((size_t)(M * K)), *b = malloc((size_t)(K * N));
    uint8_t *zero = calloc((size_t)(K * N), 1), *bz = malloc((size_t)N);
    uint8_t *y0 = malloc((size_t)(M * N)), *y1 = malloc((size_t)(M * N));
    float *bsc = malloc((size_t)N * 4);
    int32_t *bias = malloc((size_t)N * 4);
    codes(a, M * K, as), codes(b, K * N, bs);
    for (int64_t n = 0; n < N; n++) bz[n] = (uint8_t)(bs ? irand(-10, 10) : irand(118, 138));
    /* the outputs spread over the code range: sums of K products of codes up to ~2^7 x 2^7 */
    const float asc = 0.02f, ysc = 0.02f * 0.01f * 64.0f * sqrtf((float)K);
    for (int64_t n = 0; n < N; n++) {
        bsc[n] = 0.01f * (1.0f + 0.5f * (float)(n % 7) / 7.0f);
        bias[n] = irand(-20000, 20000);
    }
    uint8_t azp = (uint8_t)(as ? irand(-20, 20) : irand(100, 150)), yzp = (uint8_t)(ys ? 0 : 128);
    af_dtype f = AF_DTYPE_F32;
    af_tview in[9] = {TV(c->adt, a, M, K), TV(f, (void *)&asc, 1), TV(c->adt, &azp, 1),
                      TV(c->bdt, b, K, N),
                      c->bz_per_col ? TV(f, bsc, N) : TV(f, bsc, 1),
                      c->bz_per_col ? TV(c->bdt, bz, N) : TV(c->bdt, bz, 1),
                      TV(f, (void *)&ysc, 1), TV(c->ydt, &yzp, 1), TV(AF_DTYPE_I32, bias, N)};
    in[1].rank = in[2].rank = in[6].rank = in[7].rank = 0;
    const int n_in = c->bias ? 9 : 8;
    af_tview out = TV(c->ydt, y0, M, N);
    af_params p = {0};
    size_t bytes = af_kernel_prepack_bytes(AF_OP_QLINEAR_MATMUL, &p, in, n_in, &out, 1);
    CHECK(bytes == (afk_qgemv_available() ? afk_qgemv_pack_bytes(&in[3]) : 0),
          "prepack bytes %zu", bytes);
    void *packed = bytes ? aligned_alloc(64, (bytes + 63) / 64 * 64) : NULL;
    if (packed) af_kernel_prepack(AF_OP_QLINEAR_MATMUL, &p, in, n_in, &out, 1, packed);
    run(in, n_in, &out, NULL, 1);
    int spread = M * N == 1;
    for (int64_t i = 1; i < M * N; i++) spread |= y0[i] != y0[0];
    CHECK(spread, "M %lld K %lld N %lld: the reference's outputs are all one code", (long long)M,
          (long long)K, (long long)N);
    for (int threads = 1; packed && threads <= 3; threads++) {
        in[3].data = zero; /* the packed path must not read B */
        out.data = y1;
        memset(y1, 0xa5, (size_t)(M * N));
        run(in, n_in, &out, packed, threads);
        in[3].data = b, out.data = y0;
        CHECK(!memcmp(y0, y1, (size_t)(M * N)),
              "M %lld K %lld N %lld a%s b%s y%s bz %s bias %d, %d threads: outputs differ",
              (long long)M, (long long)K, (long long)N, as ? "i8" : "u8", bs ? "i8" : "u8",
              ys ? "i8" : "u8", c->bz_per_col ? "per column" : "per tensor", c->bias, threads);
    }
    free(a), free(b), free(zero), free(bz), free(y0), free(y1), free(bsc), free(bias);
    free(packed);
}

int main(void)
{
    if (!afk_qgemv_available()) {
        mcase c = {1, 64, 32, AF_DTYPE_U8, AF_DTYPE_I8, AF_DTYPE_U8, 1, 1};
        node_case(&c); /* nothing packs; the reference still runs */
        return check_report("test_qgemv (no AVX512-VNNI: reference only)");
    }
    static const int64_t Ks[] = {1, 3, 4, 5, 13, 64, 1000, 2048};
    static const int64_t Ns[] = {1, 15, 16, 17, 127, 128, 129, 1000};
    for (size_t i = 0; i < sizeof Ks / sizeof *Ks; i++)
        for (size_t j = 0; j < sizeof Ns / sizeof *Ns; j++) {
            const int as = (int)((i + j) & 1), bs = (int)((i + 2 * j) / 2 & 1);
            const int32_t azp = as ? (int32_t)(j % 3) * 127 - 128 : (int32_t)(i % 3) * 127;
            row_case(Ks[i], Ns[j], as, bs, azp, 1 + (int)((i + j) % 3));
        }
    static const mcase cases[] = {
        {1, 2048, 1000, AF_DTYPE_U8, AF_DTYPE_I8, AF_DTYPE_U8, 1, 1}, /* ResNet-50's fc */
        {1, 1280, 1000, AF_DTYPE_U8, AF_DTYPE_U8, AF_DTYPE_U8, 0, 1},
        {2, 512, 130, AF_DTYPE_I8, AF_DTYPE_I8, AF_DTYPE_I8, 1, 0},
        {5, 13, 17, AF_DTYPE_I8, AF_DTYPE_U8, AF_DTYPE_U8, 1, 1},
        {1, 3, 1, AF_DTYPE_U8, AF_DTYPE_I8, AF_DTYPE_I8, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) node_case(&cases[i]);
    return check_report("test_qgemv");
}

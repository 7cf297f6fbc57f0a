/* tests/unit/test_quant_simd.c — the per-tensor QuantizeLinear / DequantizeLinear and the
 * QLinearAdd / QLinearMul kernels (runtime/kernels/quant.c, AVX-512 loops where the CPU has
 * them) against the scalar formulas written out here, bit for bit: af_quantize_one /
 * af_dequantize_one (runtime/qparam.h), ONNX Runtime's QLinearAdd, y = sat(rint(fma(a, ra,
 * fma(b, rb, c0)))), ra = as / ys, rb = bs / ys, c0 = yzp - (ra * azp + rb * bzp), and its
 * QLinearMul with broadcasting (SE-block scales, scalars, outer products), and its
 * QLinearGlobalAveragePool. Random values plus
 * NaN, infinities and values far out of range; lengths 1..40 and 1000 (vector tails); int8 and
 * uint8; nonzero zero points. Exact: the kernel and this file make the same rounded IEEE
 * operations (this file is compiled without FMA contraction, as quant.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "runtime/qparam.h"
#include "test_kernels_util.h"

static uint64_t st = 0x2545f4914f6cdd1dull;
static uint32_t next32(void)
{
    st = st * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(st >> 32);
}

static void codes(af_dtype dt, void *d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) ((uint8_t *)d)[i] = (uint8_t)next32();
    (void)dt; /* any byte is a valid int8 or uint8 code */
}

static int32_t code_at(af_dtype dt, const void *d, int64_t i)
{
    return dt == AF_DTYPE_I8 ? ((const int8_t *)d)[i] : ((const uint8_t *)d)[i];
}

static int32_t sat(float v, int32_t lo, int32_t hi) /* quant.c's sat_q */
{
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return lo;
    int64_t r = (int64_t)rintf(v);
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

static void one(af_dtype dt, int64_t n)
{
    int32_t lo = dt == AF_DTYPE_I8 ? -128 : 0, hi = dt == AF_DTYPE_I8 ? 127 : 255;
    uint8_t zb[3] = {(uint8_t)next32(), (uint8_t)next32(), (uint8_t)next32()};
    int32_t zp[3];
    for (int i = 0; i < 3; i++) zp[i] = code_at(dt, zb, i);
    float sc[3] = {0.0173f, 0.0391f, 0.0257f};
    float *x = malloc((size_t)n * 4), *y = malloc((size_t)n * 4);
    uint8_t *q = malloc((size_t)n), *a = malloc((size_t)n), *b = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++) { /* around the range, a few far out, NaN and infinities */
        uint32_t r = next32();
        x[i] = ((float)(r % 20001) - 10000.0f) * 0.00071f;
        if (r % 97 == 0) x[i] = NAN;
        if (r % 89 == 0) x[i] = (r & 1) ? INFINITY : -INFINITY;
        if (r % 83 == 0) x[i] = (r & 1) ? 3e38f : -3e10f;
    }
    codes(dt, a, n), codes(dt, b, n);
    int64_t d[1] = {n}, one_[1] = {1};
    af_params p;
    memset(&p, 0, sizeof p);
    /* QuantizeLinear */
    af_tview in[8], out;
    in[0] = mkview(AF_DTYPE_F32, x, 1, d), in[1] = mkview(AF_DTYPE_F32, &sc[0], 1, one_);
    in[2] = mkview(dt, &zb[0], 1, one_);
    out = mkview(dt, q, 1, d);
    CHECK(run_node(AF_OP_QUANTIZE, &p, in, 3, &out, 1) == AF_OK, "quantize n=%lld", (long long)n);
    int64_t bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++)
        if (code_at(dt, q, i) != af_quantize_one(x[i], sc[0], zp[0], lo, hi)) bad = i;
    CHECK(bad < 0, "quantize %s n=%lld: element %lld", dt == AF_DTYPE_I8 ? "i8" : "u8",
          (long long)n, (long long)bad);
    /* DequantizeLinear */
    in[0] = mkview(dt, a, 1, d);
    out = mkview(AF_DTYPE_F32, y, 1, d);
    CHECK(run_node(AF_OP_DEQUANTIZE, &p, in, 3, &out, 1) == AF_OK, "dequantize");
    bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++) {
        float e = af_dequantize_one(code_at(dt, a, i), zp[0], sc[0]);
        if (memcmp(&e, &y[i], 4)) bad = i;
    }
    CHECK(bad < 0, "dequantize n=%lld: element %lld", (long long)n, (long long)bad);
    /* QLinearAdd */
    p.binary.fn = AF_BINARY_ADD;
    in[0] = mkview(dt, a, 1, d), in[1] = mkview(AF_DTYPE_F32, &sc[0], 1, one_);
    in[2] = mkview(dt, &zb[0], 1, one_), in[3] = mkview(dt, b, 1, d);
    in[4] = mkview(AF_DTYPE_F32, &sc[1], 1, one_), in[5] = mkview(dt, &zb[1], 1, one_);
    in[6] = mkview(AF_DTYPE_F32, &sc[2], 1, one_), in[7] = mkview(dt, &zb[2], 1, one_);
    out = mkview(dt, q, 1, d);
    CHECK(run_node(AF_OP_QLINEAR_BINARY, &p, in, 8, &out, 1) == AF_OK, "qlinear add");
    float ra = sc[0] / sc[2], rb = sc[1] / sc[2];
    float c0 = (float)zp[2] - (ra * (float)zp[0] + rb * (float)zp[1]);
    bad = -1;
    for (int64_t i = 0; i < n && bad < 0; i++) {
        float v = fmaf((float)code_at(dt, a, i), ra, fmaf((float)code_at(dt, b, i), rb, c0));
        if (code_at(dt, q, i) != sat(v, lo, hi)) bad = i;
    }
    CHECK(bad < 0, "qlinear add n=%lld: element %lld", (long long)n, (long long)bad);
    free(x), free(y), free(q), free(a), free(b);
}

/* Offset in v (rank rv, dims dv, right-aligned and broadcast to y) of y's flat index e. */
static int64_t boff(const int64_t *dy, int ry, const int64_t *dv, int rv, int64_t e)
{
    int64_t o = 0, st = 1;
    for (int k = ry - 1; k >= 0; k--) {
        int64_t i = e % dy[k];
        e /= dy[k];
        int kv = k - (ry - rv);
        if (kv < 0) continue;
        if (dv[kv] != 1) o += i * st;
        st *= dv[kv];
    }
    return o;
}

/* QLinearMul with broadcasting (SE blocks: x * s[c]; outer products; scalars) against
 * y = sat(rint((float)((a - azp)(b - bzp)) * ((as * bs) / ys) + yzp)). */
static void mul_case(af_dtype dt, int ry, const int64_t *dy, int ra_, const int64_t *da_,
                     int rb_, const int64_t *db_)
{
    int32_t lo = dt == AF_DTYPE_I8 ? -128 : 0, hi = dt == AF_DTYPE_I8 ? 127 : 255;
    af_tview ya = mkview(dt, NULL, ry, dy), av = mkview(dt, NULL, ra_, da_);
    af_tview bv = mkview(dt, NULL, rb_, db_);
    int64_t n = af_tview_numel(&ya), na = af_tview_numel(&av), nb = af_tview_numel(&bv);
    uint8_t *a = malloc((size_t)na), *b = malloc((size_t)nb), *q = malloc((size_t)n);
    uint8_t zb[3] = {(uint8_t)next32(), (uint8_t)next32(), (uint8_t)next32()};
    float sc[3] = {0.0213f, 0.0071f, 0.0049f};
    codes(dt, a, na), codes(dt, b, nb);
    av.data = a, bv.data = b, ya.data = q;
    int64_t one_[1] = {1};
    af_params p;
    memset(&p, 0, sizeof p);
    p.binary.fn = AF_BINARY_MUL;
    af_tview in[8] = {av, mkview(AF_DTYPE_F32, &sc[0], 1, one_), mkview(dt, &zb[0], 1, one_), bv,
                      mkview(AF_DTYPE_F32, &sc[1], 1, one_), mkview(dt, &zb[1], 1, one_),
                      mkview(AF_DTYPE_F32, &sc[2], 1, one_), mkview(dt, &zb[2], 1, one_)};
    CHECK(run_node(AF_OP_QLINEAR_BINARY, &p, in, 8, &ya, 1) == AF_OK, "qlinear mul");
    float rmul = (sc[0] * sc[1]) / sc[2];
    int32_t azp = code_at(dt, zb, 0), bzp = code_at(dt, zb, 1), yzp = code_at(dt, zb, 2);
    int64_t bad = -1;
    for (int64_t e = 0; e < n && bad < 0; e++) {
        int32_t qa = code_at(dt, a, boff(dy, ry, da_, ra_, e));
        int32_t qb = code_at(dt, b, boff(dy, ry, db_, rb_, e));
        float v = (float)((qa - azp) * (qb - bzp)) * rmul + (float)yzp;
        if (code_at(dt, q, e) != sat(v, lo, hi)) bad = e;
    }
    CHECK(bad < 0, "qlinear mul (rank %d, %lld outputs): element %lld", ry, (long long)n,
          (long long)bad);
    free(a), free(b), free(q);
}

/* QLINEAR_GLOBAL_AVGPOOL (N=2, C=5, S spatial): acc = sum(x - xzp) in int32, requantized by
 * xs / (ys * S) as ONNX Runtime; the kernel's vector sums (64 codes per vpsadbw) and its
 * portable loop, 1 and 2 threads, against that written out here: exact, equal codes. */
static void gap_case(af_dtype dt, int64_t S)
{
    enum { NC = 10 };
    uint8_t *x = malloc((size_t)(NC * S)), want[NC], got[NC], xz = (uint8_t)next32();
    uint8_t yz = (uint8_t)next32();
    codes(dt, x, NC * S);
    float xs = 0.05f, ys = 0.04f, scale = xs / (ys * (float)S);
    int32_t lo = dt == AF_DTYPE_I8 ? -128 : 0, hi = lo + 255;
    int32_t xzp = code_at(dt, &xz, 0), yzp = code_at(dt, &yz, 0);
    for (int c = 0; c < NC; c++) {
        int32_t acc = 0;
        for (int64_t i = 0; i < S; i++) acc += code_at(dt, x, c * S + i) - xzp;
        float v = (float)acc * scale;
        float flo = (float)(lo - yzp), fhi = (float)(hi - yzp);
        v = v < flo ? flo : v > fhi ? fhi : v;
        want[c] = (uint8_t)((int32_t)rintf(v) + yzp);
    }
    af_tview in[5] = {TV(dt, x, 2, 5, S, 1), TV(AF_DTYPE_F32, &xs, 1), TV(dt, &xz, 1),
                      TV(AF_DTYPE_F32, &ys, 1), TV(dt, &yz, 1)};
    for (int t = 0; t < 4; t++) {
        af_tview y = TV(dt, got, 2, 5, 1, 1);
        af_kctx ctx = {.n_threads = t < 2 ? 1 : 2};
        af_err err = {0};
        afk_pool_create(t < 2 ? 0 : 2, &ctx.pool, &err);
        afk_vec_force_portable = t % 2;
        memset(got, 0xA5, sizeof got);
        af_status rc = af_kernel_run(AF_OP_QLINEAR_GLOBAL_AVGPOOL, NULL, in, 5, &y, 1, &ctx, &err);
        afk_vec_force_portable = 0;
        afk_pool_free(ctx.pool);
        CHECK(rc == AF_OK && !memcmp(want, got, NC), "%s gap S=%lld run %d differs",
              af_dtype_name(dt), (long long)S, t);
    }
    free(x);
}

int main(void)
{
    for (int t = 0; t < 2; t++) {
        af_dtype dt = t ? AF_DTYPE_I8 : AF_DTYPE_U8;
        for (int64_t n = 1; n <= 40; n++) one(dt, n);
        one(dt, 1000);
        int64_t y4[4] = {2, 3, 7, 5}, c3[3] = {3, 1, 1}, c1[1] = {1}, r41[2] = {7, 1};
        int64_t r15[2] = {1, 5}, y2[2] = {7, 5}, f4[4] = {2, 3, 7, 5}, a3[4] = {2, 1, 7, 5};
        mul_case(dt, 4, y4, 4, f4, 3, c3); /* x * s[c] (squeeze-excitation) */
        mul_case(dt, 4, y4, 3, c3, 4, f4); /* the same, operands swapped */
        mul_case(dt, 4, y4, 4, f4, 1, c1); /* times a scalar */
        mul_case(dt, 4, y4, 4, f4, 4, f4); /* equal shapes */
        mul_case(dt, 2, y2, 2, r41, 2, r15); /* an outer product */
        mul_case(dt, 4, y4, 4, a3, 3, c3); /* broadcast in the middle axis */
        static const int64_t gs[] = {1, 7, 49, 63, 64, 65, 196, 3136, 12545};
        for (size_t i = 0; i < sizeof gs / sizeof gs[0]; i++) gap_case(dt, gs[i]);
    }
    return check_report("test_quant_simd");
}

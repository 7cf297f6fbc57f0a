/* Fast pooling paths (pool_fast.c, AVX-512F when the CPU has it) against the portable
 * reference loops in pool.c, and thread-count invariance of pooling.
 *
 *  - max pooling (strides 1 and 2, dilation, pads, ceil_mode, several widths so the 16-lane
 *    blocks end at every offset): the fast path folds each window in the reference's order with
 *    an operation equal to its compare-select, so the bound is 0 (memcmp), NaN and -0/+0 ties
 *    included;
 *  - global average pooling: both sum in double, only the order differs; a double sum of
 *    S <= 2^13 floats errs by at most S * 2^-53 * sum|x| (~1e-12 relative here), far below half
 *    an f32 ulp, so after the division and the rounding to f32 the results may differ by at most
 *    one rounding: |got - ref| <= FLT_EPSILON * mean|x|;
 *  - both with a pool of 1, 2 and 3 threads: byte-identical;
 *  - max pooling of uint8 and int8 codes: equal to a naive max (exact), portable and fast, 1
 *    and 2 threads;
 *  - BINARY (f32 and i64, same-shape, per-channel, scalar and general broadcasts, large enough
 *    to be cut into chunks of 2^15 elements with rows that straddle chunks) with 0, 2 and 3
 *    threads: byte-identical, and equal to a naive per-element loop (exact: one IEEE op).
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/kernels/internal.h"
#include "test_kernels_util.h"

/* Runs op on x with `threads` (0: no pool), portable or fast. */
static void run_pool(af_op op, const af_params *p, af_tview *in, af_tview *out, int threads,
                     int portable)
{
    size_t need = (af_kernel_scratch_bytes(op, p, in, 1, out, 1) + 63) / 64 * 64;
    af_kctx ctx = {.n_threads = threads ? threads : 1, .scratch_bytes = need};
    af_err err = {0};
    ctx.scratch = need ? aligned_alloc(64, need) : NULL;
    afk_pool_create(threads, &ctx.pool, &err);
    afk_vec_force_portable = portable;
    af_status st = af_kernel_run(op, p, in, 1, out, 1, &ctx, &err);
    afk_vec_force_portable = 0;
    CHECK(st == AF_OK, "pool run (%d threads): %s", threads, err.msg);
    afk_pool_free(ctx.pool);
    free(ctx.scratch);
}

typedef struct mp_case {
    int H, W, k, s, d, pad, ceil;
} mp_case;

static int64_t out_dim(int in, const mp_case *c)
{
    int64_t span = (int64_t)c->d * (c->k - 1) + 1, room = in + 2 * c->pad - span;
    int64_t o = c->ceil ? (room + c->s - 1) / c->s + 1 : room / c->s + 1;
    if (c->ceil && (o - 1) * c->s >= in + c->pad) o--;
    return o;
}

/* MaxPool 2-D with c's window, stride, dilation, pads and ceil mode. */
static af_params mp_params(const mp_case *c)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.pool.kind = AF_POOL_MAX;
    p.pool.nsp = 2;
    p.pool.ceil_mode = c->ceil;
    for (int j = 0; j < 2; j++) {
        p.pool.kernel[j] = c->k, p.pool.stride[j] = c->s, p.pool.dilation[j] = c->d;
        p.pool.pad_begin[j] = p.pool.pad_end[j] = c->pad;
    }
    return p;
}

static void test_maxpool_case(const mp_case *c)
{
    enum { C = 5 };
    int64_t OH = out_dim(c->H, c), OW = out_dim(c->W, c), nx = (int64_t)C * c->H * c->W;
    size_t ny = (size_t)(C * OH * OW);
    float *x = malloc(sizeof(float) * (size_t)nx), *y[4];
    for (int t = 0; t < 4; t++) y[t] = malloc(sizeof(float) * ny);
    for (int64_t i = 0; i < nx; i++) x[i] = (float)(rand() % 7) - 3.0f; /* many ties */
    for (int64_t i = 0; i < nx; i += 5) x[i] = -0.0f;
    for (int64_t i = 3; i < nx; i += 97) x[i] = NAN;
    for (int64_t i = 0; i < c->W && c->H > 4; i++) x[4 * c->W + i] = NAN; /* a row of NaN */
    af_params p = mp_params(c);
    af_tview in = TV(AF_DTYPE_F32, x, 1, C, c->H, c->W);
    for (int t = 0; t < 4; t++) {
        af_tview out = TV(AF_DTYPE_F32, y[t], 1, C, OH, OW);
        run_pool(AF_OP_POOL, &p, &in, &out, t == 3 ? 2 : t, t == 0);
    }
    for (int t = 1; t < 4; t++)
        CHECK(!memcmp(y[0], y[t], sizeof(float) * ny),
              "max pool %dx%d k%d s%d d%d pad%d ceil%d: run %d differs from the reference",
              c->H, c->W, c->k, c->s, c->d, c->pad, c->ceil, t);
    for (int t = 0; t < 4; t++) free(y[t]);
    free(x);
}

static void test_maxpool(void)
{
    static const mp_case cases[] = {
        {111, 111, 3, 2, 1, 0, 1}, /* SqueezeNet's first pool */
        {55, 55, 3, 2, 1, 0, 1},   {27, 27, 3, 2, 1, 0, 1}, {112, 112, 3, 2, 1, 1, 0},
        {9, 40, 2, 2, 1, 0, 0},    {13, 33, 3, 1, 1, 1, 0}, {20, 17, 5, 1, 2, 2, 0},
        {16, 47, 3, 2, 2, 1, 1},   {6, 3, 3, 2, 1, 1, 1},   {40, 70, 4, 3, 1, 1, 0},
        {8, 31, 1, 2, 1, 0, 0},
        {10, 65, 3, 2, 1, 0, 0},   {7, 36, 3, 2, 1, 1, 1},  {5, 4, 3, 2, 1, 0, 1}, /* 3x3/2 path */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) test_maxpool_case(&cases[i]);
}

/* Max pooling of uint8 / int8 codes (pool_q8.c: plain loops, AVX-512BW rows, rows of at most 64
 * codes in one register) against a naive max over each window's inputs: exact, so equal bytes;
 * portable and fast, 1 and 2 threads. Dilation 2 takes pool.c's generic loop. */
static void test_maxpool_q8_case(const mp_case *c, af_dtype dt)
{
    enum { C = 6 };
    int64_t OH = out_dim(c->H, c), OW = out_dim(c->W, c), nx = (int64_t)C * c->H * c->W;
    size_t ny = (size_t)(C * OH * OW);
    uint8_t *x = malloc((size_t)nx), *want = malloc(ny), *got = malloc(ny);
    for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)(rand() % 256);
    for (int64_t ch = 0; ch < C; ch++)
        for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
                int best = 1000;
                for (int a = 0; a < c->k; a++)
                    for (int b = 0; b < c->k; b++) {
                        int64_t ih = oh * c->s - c->pad + a * c->d;
                        int64_t iw = ow * c->s - c->pad + b * c->d;
                        if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
                        uint8_t u = x[(ch * c->H + ih) * c->W + iw];
                        int v = dt == AF_DTYPE_I8 ? (int8_t)u : u;
                        best = best == 1000 || v > best ? v : best;
                    }
                want[(ch * OH + oh) * OW + ow] = (uint8_t)best;
            }
    af_params p = mp_params(c);
    af_tview in = TV(dt, x, 1, C, c->H, c->W);
    for (int t = 0; t < 4; t++) {
        af_tview out = TV(dt, got, 1, C, OH, OW);
        memset(got, 0xA5, ny);
        run_pool(AF_OP_POOL, &p, &in, &out, t >= 2 ? 2 : 1, t % 2 == 0);
        CHECK(!memcmp(want, got, ny), "%s max pool %dx%d k%d s%d d%d pad%d ceil%d: run %d differs",
              af_dtype_name(dt), c->H, c->W, c->k, c->s, c->d, c->pad, c->ceil, t);
    }
    free(x), free(want), free(got);
}

static void test_maxpool_q8(void)
{
    static const mp_case cases[] = {
        {28, 28, 3, 1, 1, 1, 1},   {14, 14, 3, 1, 1, 1, 1}, {7, 7, 3, 1, 1, 1, 1}, /* GoogLeNet */
        {112, 112, 3, 2, 1, 1, 0}, {147, 147, 3, 2, 1, 0, 0}, {56, 56, 3, 2, 1, 0, 1},
        {15, 64, 3, 2, 1, 1, 0},   {9, 65, 2, 2, 1, 0, 0},  {13, 33, 3, 1, 1, 1, 0},
        {40, 70, 4, 3, 1, 1, 0},   {20, 17, 5, 1, 2, 2, 0}, {6, 3, 3, 2, 1, 1, 1},
        {8, 130, 5, 1, 1, 2, 0},   {5, 4, 3, 2, 1, 0, 1},   {9, 20, 17, 1, 1, 8, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_maxpool_q8_case(&cases[i], AF_DTYPE_U8);
        test_maxpool_q8_case(&cases[i], AF_DTYPE_I8);
    }
}

static void test_global_avg(void)
{
    static const int64_t sizes[][2] = {{37, 7 * 7}, {20, 1}, {33, 15}, {16, 16}, {3, 112 * 73}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int64_t C = sizes[k][0], S = sizes[k][1];
        float *x = malloc(sizeof(float) * (size_t)(C * S)), y[4][40];
        for (int64_t i = 0; i < C * S; i++) x[i] = frand() * 3 + (i % 3 == 0 ? 1.0f : 0.0f);
        af_params p;
        memset(&p, 0, sizeof p);
        p.global_pool.kind = AF_POOL_AVG;
        af_tview in = TV(AF_DTYPE_F32, x, 1, C, S, 1);
        for (int t = 0; t < 4; t++) {
            af_tview out = TV(AF_DTYPE_F32, y[t], 1, C, 1, 1);
            run_pool(AF_OP_GLOBAL_POOL, &p, &in, &out, t == 3 ? 2 : t, t == 0);
        }
        for (int t = 2; t < 4; t++)
            CHECK(!memcmp(y[1], y[t], sizeof(float) * (size_t)C), "global avg S=%lld run %d",
                  (long long)S, t);
        for (int64_t c = 0; c < C; c++) {
            double mabs = 0;
            for (int64_t i = 0; i < S; i++) mabs += fabs(x[c * S + i]);
            mabs /= (double)S;
            CHECK(fabs(y[1][c] - y[0][c]) <= FLT_EPSILON * mabs,
                  "global avg S=%lld c=%lld: %.9g vs reference %.9g", (long long)S, (long long)c,
                  y[1][c], y[0][c]);
        }
        free(x);
    }
}

/* a (A0,A1,A2,A3) op b (B0,B1,B2,B3) -> (max dims) with 0, 2 and 3 threads */
static void test_binary_case(const int64_t *ad, const int64_t *bd, int fn, af_dtype dt)
{
    int64_t od[4], na = 1, nb = 1, no = 1;
    for (int i = 0; i < 4; i++) od[i] = ad[i] > bd[i] ? ad[i] : bd[i];
    for (int i = 0; i < 4; i++) na *= ad[i], nb *= bd[i], no *= od[i];
    size_t es = dt == AF_DTYPE_F32 ? 4 : 8;
    char *a = malloc(es * (size_t)na), *b = malloc(es * (size_t)nb), *y[3];
    for (int t = 0; t < 3; t++) y[t] = malloc(es * (size_t)no);
    for (int64_t i = 0; i < na; i++)
        af_dtype_set(dt, a, (size_t)i, (double)(rand() % 2001 - 1000) / 8);
    for (int64_t i = 0; i < nb; i++)
        af_dtype_set(dt, b, (size_t)i, (double)(rand() % 2001 - 1000) / 8);
    af_params p;
    memset(&p, 0, sizeof p);
    p.binary.fn = fn;
    af_tview in[2] = {mkview(dt, a, 4, ad), mkview(dt, b, 4, bd)};
    static const int threads[3] = {0, 2, 3};
    for (int t = 0; t < 3; t++) {
        af_tview out = mkview(dt, y[t], 4, od);
        af_kctx ctx = {.n_threads = threads[t] ? threads[t] : 1};
        af_err err = {0};
        afk_pool_create(threads[t], &ctx.pool, &err);
        af_status st = af_kernel_run(AF_OP_BINARY, &p, in, 2, &out, 1, &ctx, &err);
        CHECK(st == AF_OK, "binary %d: %s", fn, err.msg);
        afk_pool_free(ctx.pool);
    }
    for (int t = 1; t < 3; t++)
        CHECK(!memcmp(y[0], y[t], es * (size_t)no), "binary %d (%s): %d threads differ", fn,
              af_dtype_name(dt), threads[t]);
    int bad = 0;
    for (int64_t i = 0; i < no; i++) {
        int64_t r = i, ia = 0, ib = 0, sa = 1, sb = 1;
        for (int d = 3; d >= 0; d--) {
            int64_t k = r % od[d];
            r /= od[d];
            ia += (ad[d] == 1 ? 0 : k) * sa, ib += (bd[d] == 1 ? 0 : k) * sb;
            sa *= ad[d], sb *= bd[d];
        }
        double x = af_dtype_get(dt, a, (size_t)ia), z = af_dtype_get(dt, b, (size_t)ib), want;
        if (fn == AF_BINARY_ADD) want = dt == AF_DTYPE_F32 ? (double)((float)x + (float)z) : x + z;
        else want = dt == AF_DTYPE_F32 ? (double)((float)x * (float)z) : x * z;
        bad += af_dtype_get(dt, y[2], (size_t)i) != want;
    }
    CHECK(bad == 0, "binary %d (%s): %d elements differ from the naive loop", fn,
          af_dtype_name(dt), bad);
    for (int t = 0; t < 3; t++) free(y[t]);
    free(a), free(b);
}

static void test_binary(void)
{
    static const int64_t shapes[][2][4] = {
        {{1, 96, 56, 57}, {1, 96, 1, 1}},   /* SE scale: per-channel */
        {{1, 40, 33, 35}, {1, 40, 33, 35}}, /* same shape (one merged row) */
        {{1, 24, 70, 41}, {1, 1, 1, 1}},    /* scalar */
        {{2, 3, 90, 130}, {1, 3, 1, 130}},  /* general broadcast, rows of 130 */
        {{1, 7, 5, 3}, {1, 7, 1, 1}},       /* small: one task */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        test_binary_case(shapes[i][0], shapes[i][1], AF_BINARY_MUL, AF_DTYPE_F32);
        test_binary_case(shapes[i][0], shapes[i][1], AF_BINARY_ADD, AF_DTYPE_F32);
    }
    test_binary_case(shapes[3][0], shapes[3][1], AF_BINARY_ADD, AF_DTYPE_I64);
}

/* ERF and the erf form of GELU, vectorised (Abramowitz & Stegun 7.1.26, 1.5e-7 in exact
 * arithmetic): against the double-precision erf over [-8, 8] and the specials. Bound 5e-7
 * absolute on erf (the formula's 1.5e-7 plus float roundings of terms below 1: 4.1e-7 seen), and
 * 5e-7·(1 + |x|)/2 + 1 ulp on GELU; a wrong coefficient shows as 1e-3 or more. */
static void test_erf_gelu(void)
{
    enum { N = 16003 };
    float *x = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (int i = 0; i < N - 3; i++) x[i] = -8.0f + 16.0f * (float)i / (N - 4);
    x[N - 3] = NAN, x[N - 2] = INFINITY, x[N - 1] = -0.0f;
    for (int g = 0; g < 2; g++) {
        af_unary_params u = {.fn = g ? AF_UNARY_GELU : AF_UNARY_ERF};
        memcpy(y, x, sizeof(float) * N);
        afk_act_apply(&u, y, N);
        double worst = 0;
        for (int i = 0; i < N - 3; i++) {
            double e = erf((double)x[i] * (g ? 0.70710678118654752 : 1.0));
            double ref = g ? 0.5 * x[i] * (1.0 + e) : e;
            double bound = g ? 2.5e-7 * (1.0 + fabs(x[i])) + fabs(ref) * FLT_EPSILON : 5e-7;
            double err = fabs(y[i] - ref);
            if (err / bound > worst) worst = err / bound;
        }
        CHECK(worst <= 1.0, "%s: error %.2f x the bound", g ? "gelu" : "erf", worst);
        CHECK(isnan(y[N - 3]) && y[N - 1] == 0.0f && signbit(y[N - 1]),
              "%s: NaN stays NaN, -0 stays -0", g ? "gelu" : "erf");
        CHECK(g ? isinf(y[N - 2]) || isnan(y[N - 2]) : y[N - 2] == 1.0f, "%s(+inf)",
              g ? "gelu" : "erf");
    }
    free(x), free(y);
}

/* Float unary ops run in chunks on the pool (eltwise.c): 1 and 3 threads give the bits of one
 * pass of afk_act_apply over the whole tensor (3 chunks and a 37-element tail), in place and
 * into another tensor. */
static void test_unary_threads(void)
{
    enum { N = 3 * 16384 + 37 };
    static const int fns[] = {AF_UNARY_GELU, AF_UNARY_SILU, AF_UNARY_SIGMOID, AF_UNARY_TANH,
                              AF_UNARY_EXP};
    float *x = frand_buf(N), *ref = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * N);
    for (size_t f = 0; f < sizeof fns / sizeof fns[0]; f++) {
        af_params p;
        memset(&p, 0, sizeof p);
        p.unary.fn = fns[f];
        memcpy(ref, x, sizeof(float) * N);
        afk_act_apply(&p.unary, ref, N);
        for (int t = 0; t < 2; t++)
            for (int inplace = 0; inplace < 2; inplace++) {
                float *src = inplace ? y : x;
                if (inplace) memcpy(y, x, sizeof(float) * N);
                af_tview in = TV(AF_DTYPE_F32, src, N), out = TV(AF_DTYPE_F32, y, N);
                run_pool(AF_OP_UNARY, &p, &in, &out, t ? 3 : 0, 0);
                CHECK(!memcmp(y, ref, sizeof(float) * N), "unary %d (%d threads%s): not one "
                      "pass's bits", fns[f], t ? 3 : 1, inplace ? ", in place" : "");
            }
    }
    free(x), free(ref), free(y);
}

int main(void)
{
    srand(7);
    test_unary_threads();
    test_erf_gelu();
    afk_pgemm_force = 1; /* the AVX2 loops, which AVX-512 CPUs no longer take */
    test_erf_gelu();
    afk_pgemm_force = -1;
    test_maxpool();
    test_maxpool_q8();
    test_global_avg();
    test_binary();
    return check_report("kernels_fast2");
}

/* tests/unit/test_kernels.c — conv, conv_transpose, sgemm, GEMM, MATMUL, pooling and batchnorm
 * kernels against naive direct implementations written here (accumulating in double).
 *
 * Tolerance for float kernels vs the double references: 1e-4 relative, |got-ref|/(1+|ref|).
 * The kernels sum at most ~600 products of values in [-1,1) in float; float rounding of such a
 * sum is ~sqrt(n)*eps*sum|terms| ≈ 25*6e-8*600 ≈ 1e-3 worst case in magnitude terms but in
 * practice well under 1e-5 relative; an indexing or padding bug changes values by O(0.1). */
#include "test_kernels_util.h"

#include "runtime/kernels/internal.h"

#define TOL 1e-4

/* ---- naive conv ------------------------------------------------------------------------------ */

typedef struct conv_case {
    const char *name;
    int nsp;
    int64_t N, C, M, G;
    int64_t in[3], k[3];
    int s[3], d[3], pb[3], pe[3];
    int bias;
    af_unary_params act;
} conv_case;

static double act_ref(const af_unary_params *a, double v)
{
    if (a->fn == AF_UNARY_RELU) return v > 0 ? v : 0;
    if (a->fn == AF_UNARY_CLIP) return v < a->alpha ? a->alpha : v > a->beta ? a->beta : v;
    return v;
}

/* Spatial sizes padded to 3 (leading 1s) from a case's nsp entries. */
static void sp3(int nsp, const int64_t *v, int64_t *o)
{
    for (int i = 0; i < 3; i++) o[i] = i < 3 - nsp ? 1 : v[i - (3 - nsp)];
}
static void sp3i(int nsp, const int *v, int64_t *o, int64_t fill)
{
    for (int i = 0; i < 3; i++) o[i] = i < 3 - nsp ? fill : v[i - (3 - nsp)];
}

static void naive_conv(const conv_case *c, const float *x, const float *w, const float *b,
                       float *y, const int64_t *out3)
{
    int64_t in3[3], k3[3], s3[3], d3[3], p3[3];
    sp3(c->nsp, c->in, in3);
    sp3(c->nsp, c->k, k3);
    sp3i(c->nsp, c->s, s3, 1);
    sp3i(c->nsp, c->d, d3, 1);
    sp3i(c->nsp, c->pb, p3, 0);
    int64_t Cg = c->C / c->G, Mg = c->M / c->G;
    int64_t isp = in3[0] * in3[1] * in3[2], osp = out3[0] * out3[1] * out3[2];
    int64_t K = k3[0] * k3[1] * k3[2];
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t o0 = 0; o0 < out3[0]; o0++)
                for (int64_t o1 = 0; o1 < out3[1]; o1++)
                    for (int64_t o2 = 0; o2 < out3[2]; o2++) {
                        double acc = b ? b[m] : 0;
                        int64_t g = m / Mg;
                        for (int64_t ci = 0; ci < Cg; ci++)
                            for (int64_t a = 0; a < k3[0]; a++)
                                for (int64_t bb = 0; bb < k3[1]; bb++)
                                    for (int64_t e = 0; e < k3[2]; e++) {
                                        int64_t i0 = o0 * s3[0] - p3[0] + a * d3[0];
                                        int64_t i1 = o1 * s3[1] - p3[1] + bb * d3[1];
                                        int64_t i2 = o2 * s3[2] - p3[2] + e * d3[2];
                                        if (i0 < 0 || i0 >= in3[0] || i1 < 0 || i1 >= in3[1] ||
                                            i2 < 0 || i2 >= in3[2])
                                            continue;
                                        double xv = x[(n * c->C + g * Cg + ci) * isp +
                                                      (i0 * in3[1] + i1) * in3[2] + i2];
                                        double wv = w[(m * Cg + ci) * K +
                                                      (a * k3[1] + bb) * k3[2] + e];
                                        acc += xv * wv;
                                    }
                        y[(n * c->M + m) * osp + (o0 * out3[1] + o1) * out3[2] + o2] =
                            (float)act_ref(&c->act, acc);
                    }
}

static void run_conv_case(const conv_case *c)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_conv_params *cp = &p.conv;
    cp->nsp = c->nsp;
    cp->group = (int32_t)c->G;
    cp->act = c->act;
    af_tview xv = {.dtype = AF_DTYPE_F32, .rank = c->nsp + 2};
    af_tview wv = xv, yv = xv;
    int64_t out3[3] = {1, 1, 1}, xn = c->N * c->C, wn = c->M * (c->C / c->G), yn = c->N * c->M;
    xv.dims[0] = c->N, xv.dims[1] = c->C;
    wv.dims[0] = c->M, wv.dims[1] = c->C / c->G;
    yv.dims[0] = c->N, yv.dims[1] = c->M;
    for (int j = 0; j < c->nsp; j++) {
        cp->kernel[j] = (int32_t)c->k[j];
        cp->stride[j] = c->s[j];
        cp->dilation[j] = c->d[j];
        cp->pad_begin[j] = c->pb[j];
        cp->pad_end[j] = c->pe[j];
        int64_t o = (c->in[j] + c->pb[j] + c->pe[j] - c->d[j] * (c->k[j] - 1) - 1) / c->s[j] + 1;
        out3[3 - c->nsp + j] = o;
        xv.dims[2 + j] = c->in[j], wv.dims[2 + j] = c->k[j], yv.dims[2 + j] = o;
        xn *= c->in[j], wn *= c->k[j], yn *= o;
    }
    float *x = frand_buf(xn), *w = frand_buf(wn), *b = frand_buf(c->M);
    float *y = calloc((size_t)yn, sizeof *y), *ref = calloc((size_t)yn, sizeof *ref);
    xv.data = x, wv.data = w, yv.data = y;
    af_tview in[3] = {xv, wv, TV(AF_DTYPE_F32, b, c->M)};
    af_status st = run_node(AF_OP_CONV, &p, in, c->bias ? 3 : 2, &yv, 1);
    CHECK(st == AF_OK, "conv %s: status %d", c->name, st);
    naive_conv(c, x, w, c->bias ? b : NULL, ref, out3);
    double e = max_rel_err(y, ref, yn);
    CHECK(e < TOL, "conv %s: max rel err %g", c->name, e);
    free(x), free(w), free(b), free(y), free(ref);
}

static void test_conv(void)
{
    const af_unary_params none = {AF_UNARY_IDENTITY, 0, 0};
    const af_unary_params relu = {AF_UNARY_RELU, 0, 0};
    const af_unary_params clip6 = {AF_UNARY_CLIP, 0.0f, 0.5f};
    const conv_case cases[] = {
        {"groups", 2, 2, 4, 6, 2, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, none},
        {"depthwise", 2, 1, 3, 3, 3, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {1, 0}, {1, 2}, 1, relu},
        {"dilation2", 2, 1, 3, 4, 1, {9, 8}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, 0, none},
        {"asym_pads_stride2", 2, 2, 3, 5, 1, {8, 7}, {3, 2}, {2, 2}, {1, 1}, {0, 1}, {2, 0}, 1, none},
        {"pointwise_relu", 2, 2, 5, 7, 1, {4, 3}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 1, relu},
        {"pointwise_grouped", 2, 1, 6, 4, 2, {3, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, none},
        {"pointwise_stride2", 2, 1, 4, 3, 1, {6, 5}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1, none},
        {"conv1d", 1, 2, 3, 2, 1, {10}, {3}, {2}, {1}, {1}, {0}, 1, none},
        {"conv1d_dil", 1, 1, 4, 4, 2, {11}, {3}, {1}, {3}, {2}, {1}, 1, clip6},
        {"clip", 2, 1, 2, 3, 1, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, clip6},
        {"conv3d", 3, 1, 2, 3, 1, {3, 4, 5}, {2, 3, 3}, {1, 2, 1}, {1, 1, 1}, {0, 1, 1}, {1, 0, 1}, 1, relu},
        {"depthwise_dil2", 2, 2, 4, 4, 4, {6, 7}, {3, 3}, {1, 2}, {2, 2}, {2, 1}, {1, 2}, 1, none},
        {"depthwise_mult", 2, 1, 2, 4, 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, none},
        /* 64*9 col rows * 4096 positions > the 8 MiB col tile: exercises tiling */
        {"tiled", 2, 1, 64, 4, 1, {64, 64}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, none},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv_case(&cases[i]);
}

static void test_conv_check(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.conv.nsp = 2, p.conv.group = 1;
    for (int j = 0; j < 2; j++) p.conv.stride[j] = p.conv.dilation[j] = 1, p.conv.kernel[j] = 3;
    af_tview in[2] = {TV(AF_DTYPE_F32, NULL, 1, 2, 5, 5), TV(AF_DTYPE_F32, NULL, 4, 2, 3, 3)};
    af_tview y = TV(AF_DTYPE_F32, NULL, 1, 4, 3, 3);
    CHECK(check_node(AF_OP_CONV, &p, in, 2, &y, 1) == AF_OK, "valid conv rejected");
    y.dims[3] = 4;
    CHECK(check_node(AF_OP_CONV, &p, in, 2, &y, 1) == AF_ERR_SHAPE, "wrong out size accepted");
    y.dims[3] = 3;
    in[0].dtype = AF_DTYPE_F16;
    CHECK(check_node(AF_OP_CONV, &p, in, 2, &y, 1) == AF_ERR_UNSUPPORTED, "f16 conv accepted");
    in[0].dtype = AF_DTYPE_F32;
    p.conv.group = 3;
    CHECK(check_node(AF_OP_CONV, &p, in, 2, &y, 1) == AF_ERR_SHAPE, "bad group accepted");
    p.conv.group = 1;
    /* an omitted bias (no data, no shape) is accepted as a third input */
    af_tview with_b[3] = {in[0], in[1], {0}};
    with_b[2].dtype = AF_DTYPE_F32;
    CHECK(check_node(AF_OP_CONV, &p, with_b, 3, &y, 1) == AF_OK, "omitted bias rejected");
    with_b[2] = TV(AF_DTYPE_F32, NULL, 3);
    CHECK(check_node(AF_OP_CONV, &p, with_b, 3, &y, 1) == AF_ERR_SHAPE, "bias (3) for M=4 accepted");
    /* scratch too small: run must refuse, not overflow */
    float x[50] = {0}, w[72] = {0}, out[36];
    in[0].data = x, in[1].data = w, y.data = out;
    af_kctx ctx = {.n_threads = 1};
    af_err err = {0};
    CHECK(af_kernel_run(AF_OP_CONV, &p, in, 2, &y, 1, &ctx, &err) == AF_ERR_USAGE,
          "conv ran without scratch");
}

/* ---- conv transpose ---------------------------------------------------------------------------- */

typedef struct convt_case {
    const char *name;
    int nsp;
    int64_t N, C, M, G, in[2], k[2];
    int s[2], d[2], pb[2], pe[2], op[2];
} convt_case;

static void run_convt_case(const convt_case *c)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.conv.nsp = c->nsp, p.conv.group = (int32_t)c->G;
    int64_t Cg = c->C / c->G, Mg = c->M / c->G, out[2] = {1, 1}, in2[2] = {1, 1}, k2[2] = {1, 1};
    int64_t s2[2] = {1, 1}, d2[2] = {1, 1}, p2[2] = {0, 0};
    af_tview xv = {.dtype = AF_DTYPE_F32, .rank = c->nsp + 2}, wv = xv, yv = xv;
    xv.dims[0] = c->N, xv.dims[1] = c->C, wv.dims[0] = c->C, wv.dims[1] = Mg;
    yv.dims[0] = c->N, yv.dims[1] = c->M;
    for (int j = 0; j < c->nsp; j++) {
        int q = 2 - c->nsp + j;
        p.conv.kernel[j] = (int32_t)c->k[j], p.conv.stride[j] = c->s[j];
        p.conv.dilation[j] = c->d[j], p.conv.pad_begin[j] = c->pb[j];
        p.conv.pad_end[j] = c->pe[j], p.conv.out_pad[j] = c->op[j];
        in2[q] = c->in[j], k2[q] = c->k[j], s2[q] = c->s[j], d2[q] = c->d[j], p2[q] = c->pb[j];
        out[q] = c->s[j] * (c->in[j] - 1) + c->op[j] + c->d[j] * (c->k[j] - 1) + 1 - c->pb[j] -
                 c->pe[j];
        xv.dims[2 + j] = c->in[j], wv.dims[2 + j] = c->k[j], yv.dims[2 + j] = out[q];
    }
    int64_t isp = in2[0] * in2[1], osp = out[0] * out[1], K = k2[0] * k2[1];
    int64_t xn = c->N * c->C * isp, wn = c->C * Mg * K, yn = c->N * c->M * osp;
    float *x = frand_buf(xn), *w = frand_buf(wn), *b = frand_buf(c->M);
    float *y = calloc((size_t)yn, sizeof *y);
    double *ref = calloc((size_t)yn, sizeof *ref);
    xv.data = x, wv.data = w, yv.data = y;
    af_tview in[3] = {xv, wv, TV(AF_DTYPE_F32, b, c->M)};
    CHECK(run_node(AF_OP_CONV_TRANSPOSE, &p, in, 3, &yv, 1) == AF_OK, "convT %s failed", c->name);
    /* naive scatter: every input pixel adds x * w to each output position its kernel hits */
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t ci = 0; ci < c->C; ci++)
            for (int64_t i0 = 0; i0 < in2[0]; i0++)
                for (int64_t i1 = 0; i1 < in2[1]; i1++)
                    for (int64_t mg = 0; mg < Mg; mg++)
                        for (int64_t a = 0; a < k2[0]; a++)
                            for (int64_t e = 0; e < k2[1]; e++) {
                                int64_t o0 = i0 * s2[0] - p2[0] + a * d2[0];
                                int64_t o1 = i1 * s2[1] - p2[1] + e * d2[1];
                                if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1]) continue;
                                int64_t m = (ci / Cg) * Mg + mg;
                                ref[(n * c->M + m) * osp + o0 * out[1] + o1] +=
                                    (double)x[(n * c->C + ci) * isp + i0 * in2[1] + i1] *
                                    w[(ci * Mg + mg) * K + a * k2[1] + e];
                            }
    float *reff = malloc((size_t)yn * sizeof *reff);
    for (int64_t i = 0; i < yn; i++) reff[i] = (float)(ref[i] + b[(i / osp) % c->M]);
    double e = max_rel_err(y, reff, yn);
    CHECK(e < TOL, "convT %s: max rel err %g", c->name, e);
    free(x), free(w), free(b), free(y), free(ref), free(reff);
}

static void test_conv_transpose(void)
{
    const convt_case cases[] = {
        {"s2_p1_op1_g2", 2, 2, 4, 6, 2, {4, 5}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 1}},
        {"asym", 2, 1, 3, 2, 1, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {0, 1}, {1, 0}, {0, 0}},
        {"1d_dil2", 1, 1, 2, 3, 1, {6}, {3}, {3}, {2}, {2}, {1}, {2}},
        /* several channel blocks per group (tasks of about Mg/8 channels): a Mask R-CNN head
         * (2x2 stride 2, 160 channels) and 4x4 stride 2 pad 1 with 2 groups of 50 */
        {"k2s2_blocks", 2, 1, 16, 160, 1, {14, 14}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, {0, 0}},
        {"k4s2_g2_blocks", 2, 2, 6, 100, 2, {9, 7}, {4, 4}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_convt_case(&cases[i]);
}

/* ---- sgemm ----------------------------------------------------------------------------------- */

static void naive_gemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, const float *B, float beta, const float *C0, float *C)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * M + i] : A[i * K + k]) * (tb ? B[j * K + k] : B[k * N + j]);
            C[i * N + j] = (float)(alpha * s + beta * C0[i * N + j]);
        }
}

static void test_sgemm(void)
{
    /* odd sizes, K > the portable kernel's k block (256) and N > one vector */
    const int64_t M = 37, N = 53, K = 301;
    float *A = frand_buf(M * K), *B = frand_buf(K * N), *C0 = frand_buf(M * N);
    float *c1 = malloc(M * N * sizeof *c1), *c2 = malloc(M * N * sizeof *c2);
    float *ref = malloc(M * N * sizeof *ref);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            naive_gemm(ta, tb, M, N, K, 0.7f, A, B, 0.3f, C0, ref);
            memcpy(c1, C0, M * N * sizeof *c1);
            memcpy(c2, C0, M * N * sizeof *c2);
            afk_sgemm_portable(ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0.3f, c1, N);
            afk_sgemm(ta, tb, M, N, K, 0.7f, A, ta ? M : K, B, tb ? K : N, 0.3f, c2, N);
            CHECK(max_rel_err(c1, ref, M * N) < TOL, "portable sgemm ta=%d tb=%d", ta, tb);
            CHECK(max_rel_err(c2, c1, M * N) < TOL, "sgemm (cblas=%d) vs portable ta=%d tb=%d",
                  afk_have_cblas(), ta, tb);
        }
    /* beta = 0 must ignore NaN garbage in C */
    for (int64_t i = 0; i < M * N; i++) c1[i] = NAN;
    afk_sgemm_portable(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, c1, N);
    naive_gemm(0, 0, M, N, K, 1.0f, A, B, 0.0f, C0, ref);
    CHECK(max_rel_err(c1, ref, M * N) < TOL, "beta=0 with NaN C");
    free(A), free(B), free(C0), free(c1), free(c2), free(ref);
}

/* ---- GEMM / MATMUL ops ---------------------------------------------------------------------------- */

static void test_gemm_op(void)
{
    const int64_t M = 3, K = 4, N = 5;
    float *A = frand_buf(M * K), *B = frand_buf(K * N), *bias = frand_buf(N), *col = frand_buf(M);
    float At[12], Bt[20], y[15], ref[15], full[15];
    for (int64_t i = 0; i < M; i++)
        for (int64_t k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    for (int64_t k = 0; k < K; k++)
        for (int64_t j = 0; j < N; j++) Bt[j * K + k] = B[k * N + j];
    af_params p;
    memset(&p, 0, sizeof p);
    /* transA, transB, C (N,) broadcast, alpha, beta */
    p.gemm = (af_gemm_params){0.5f, 2.0f, 1, 1, {AF_UNARY_IDENTITY, 0, 0}};
    af_tview in[3] = {TV(AF_DTYPE_F32, At, K, M), TV(AF_DTYPE_F32, Bt, N, K), TV(AF_DTYPE_F32, bias, N)};
    af_tview out = TV(AF_DTYPE_F32, y, M, N);
    CHECK(run_node(AF_OP_GEMM, &p, in, 3, &out, 1) == AF_OK, "gemm tt");
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) full[i * N + j] = bias[j];
    naive_gemm(0, 0, M, N, K, 0.5f, A, B, 2.0f, full, ref);
    CHECK(max_rel_err(y, ref, M * N) < TOL, "gemm transA transB beta C(N)");
    /* no trans, C (M,1), relu epilogue */
    p.gemm = (af_gemm_params){1.0f, 1.0f, 0, 0, {AF_UNARY_RELU, 0, 0}};
    in[0] = TV(AF_DTYPE_F32, A, M, K), in[1] = TV(AF_DTYPE_F32, B, K, N);
    in[2] = TV(AF_DTYPE_F32, col, M, 1);
    CHECK(run_node(AF_OP_GEMM, &p, in, 3, &out, 1) == AF_OK, "gemm nn");
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) full[i * N + j] = col[i];
    naive_gemm(0, 0, M, N, K, 1.0f, A, B, 1.0f, full, ref);
    for (int i = 0; i < 15; i++) ref[i] = ref[i] > 0 ? ref[i] : 0;
    CHECK(max_rel_err(y, ref, M * N) < TOL, "gemm C(M,1) relu");
    /* no C */
    CHECK(run_node(AF_OP_GEMM, &p, in, 2, &out, 1) == AF_OK, "gemm no C");
    memset(full, 0, sizeof full);
    naive_gemm(0, 0, M, N, K, 1.0f, A, B, 0.0f, full, ref);
    for (int i = 0; i < 15; i++) ref[i] = ref[i] > 0 ? ref[i] : 0;
    CHECK(max_rel_err(y, ref, M * N) < TOL, "gemm without C");
    free(A), free(B), free(bias), free(col);
}

/* y[b] = a[b % na] @ bm[b % nb] for flat batch lists (the broadcast is spelled out by the caller). */
static void check_matmul(const char *what, af_tview a, af_tview b, af_tview y,
                         const int64_t *aoff, const int64_t *boff, int64_t batches, int64_t M,
                         int64_t K, int64_t N)
{
    af_params p;
    memset(&p, 0, sizeof p);
    af_tview in[2] = {a, b};
    CHECK(run_node(AF_OP_MATMUL, &p, in, 2, &y, 1) == AF_OK, "matmul %s", what);
    const float *A = a.data, *B = b.data, *Y = y.data;
    double worst = 0;
    for (int64_t t = 0; t < batches; t++)
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (double)A[aoff[t] + i * K + k] * B[boff[t] + k * N + j];
                double e = fabs(Y[(t * M + i) * N + j] - s) / (1 + fabs(s));
                worst = e > worst ? e : worst;
            }
    CHECK(worst < TOL, "matmul %s: err %g", what, worst);
}

static void test_matmul(void)
{
    float *A = frand_buf(2 * 3 * 4), *B = frand_buf(3 * 4 * 5), *Y = malloc(2 * 3 * 3 * 5 * 4);
    /* A (2,1,3,4) @ B (3,4,5) -> (2,3,3,5): batch (i,j) uses A[i], B[j] */
    int64_t ao[6], bo[6];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) ao[i * 3 + j] = i * 12, bo[i * 3 + j] = j * 20;
    check_matmul("batch broadcast", TV(AF_DTYPE_F32, A, 2, 1, 3, 4), TV(AF_DTYPE_F32, B, 3, 4, 5),
                 TV(AF_DTYPE_F32, Y, 2, 3, 3, 5), ao, bo, 6, 3, 4, 5);
    /* A (2,3,4) @ B (4,5): one tall gemm */
    int64_t ao2[2] = {0, 12}, bo2[2] = {0, 0};
    check_matmul("shared B", TV(AF_DTYPE_F32, A, 2, 3, 4), TV(AF_DTYPE_F32, B, 4, 5),
                 TV(AF_DTYPE_F32, Y, 2, 3, 5), ao2, bo2, 2, 3, 4, 5);
    /* 1-D A (4,) @ B (3,4,5) -> (3,5) */
    int64_t ao3[3] = {0, 0, 0}, bo3[3] = {0, 20, 40};
    check_matmul("1-D A", TV(AF_DTYPE_F32, A, 4), TV(AF_DTYPE_F32, B, 3, 4, 5),
                 TV(AF_DTYPE_F32, Y, 3, 5), ao3, bo3, 3, 1, 4, 5);
    /* A (2,3,4) @ 1-D B (4,) -> (2,3) */
    check_matmul("1-D B", TV(AF_DTYPE_F32, A, 2, 3, 4), TV(AF_DTYPE_F32, B, 4),
                 TV(AF_DTYPE_F32, Y, 2, 3), ao2, bo2, 2, 3, 4, 1);
    af_params p;
    memset(&p, 0, sizeof p);
    af_tview in[2] = {TV(AF_DTYPE_F32, A, 2, 3, 4), TV(AF_DTYPE_F32, B, 3, 5)};
    af_tview y = TV(AF_DTYPE_F32, Y, 2, 3, 5);
    CHECK(check_node(AF_OP_MATMUL, &p, in, 2, &y, 1) == AF_ERR_SHAPE, "K mismatch accepted");
    free(A), free(B), free(Y);
}

/* ---- pooling --------------------------------------------------------------------------------- */

/* Naive 2-D pool (ONNX Runtime semantics for the average divisor). */
static void naive_pool(int avg, int incl, const float *x, int64_t H, int64_t W, int k, int s,
                       int pbh, int pbw, int peh, int pew, float *y, int64_t OH, int64_t OW)
{
    for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
            double sum = 0, best = -INFINITY;
            int cnt = 0, cnt_pad = 0;
            for (int a = 0; a < k; a++)
                for (int b = 0; b < k; b++) {
                    int64_t h = oh * s - pbh + a, w = ow * s - pbw + b;
                    if (h >= -pbh && h < H + peh && w >= -pbw && w < W + pew) cnt_pad++;
                    if (h < 0 || h >= H || w < 0 || w >= W) continue;
                    sum += x[h * W + w], cnt++;
                    best = x[h * W + w] > best ? x[h * W + w] : best;
                }
            y[oh * OW + ow] = (float)(avg ? sum / (incl ? cnt_pad : cnt) : best);
        }
}

static void pool_case(const char *what, int kind, int incl, int ceil_mode, int64_t H, int64_t W,
                      int k, int s, int pbh, int pbw, int peh, int pew, int64_t OH, int64_t OW)
{
    af_params p;
    memset(&p, 0, sizeof p);
    p.pool = (af_pool_params){.kind = kind, .nsp = 2, .ceil_mode = ceil_mode,
                              .count_include_pad = incl, .kernel = {k, k}, .stride = {s, s},
                              .dilation = {1, 1}, .pad_begin = {pbh, pbw}, .pad_end = {peh, pew}};
    float *x = frand_buf(2 * H * W), *y = malloc(2 * OH * OW * 4), *ref = malloc(2 * OH * OW * 4);
    af_tview in = TV(AF_DTYPE_F32, x, 1, 2, H, W), out = TV(AF_DTYPE_F32, y, 1, 2, OH, OW);
    CHECK(run_node(AF_OP_POOL, &p, &in, 1, &out, 1) == AF_OK, "pool %s", what);
    for (int c = 0; c < 2; c++)
        naive_pool(kind == AF_POOL_AVG, incl, x + c * H * W, H, W, k, s, pbh, pbw, peh, pew,
                   ref + c * OH * OW, OH, OW);
    CHECK(max_rel_err(y, ref, 2 * OH * OW) < 1e-6, "pool %s values", what); /* ≤9-term sums */
    free(x), free(y), free(ref);
}

static void test_pool(void)
{
    pool_case("max 3x3 s2 p1", AF_POOL_MAX, 0, 0, 7, 7, 3, 2, 1, 1, 1, 1, 4, 4);
    /* ceil_mode: 5x5, k2 s2 -> 3x3; the last window hangs past the input */
    pool_case("avg ceil", AF_POOL_AVG, 0, 1, 5, 5, 2, 2, 0, 0, 0, 0, 3, 3);
    pool_case("avg ceil incl", AF_POOL_AVG, 1, 1, 5, 5, 2, 2, 0, 0, 0, 0, 3, 3);
    /* the same geometry as ceil-mode-derived explicit pads (pad_end 1) */
    pool_case("avg pads excl", AF_POOL_AVG, 0, 0, 5, 5, 2, 2, 0, 0, 1, 1, 3, 3);
    pool_case("avg pads incl", AF_POOL_AVG, 1, 0, 5, 5, 2, 2, 0, 0, 1, 1, 3, 3);
    pool_case("avg 3x3 s1 p1 incl", AF_POOL_AVG, 1, 0, 4, 6, 3, 1, 1, 1, 1, 1, 4, 6);
    /* Inception's 3x3 s1 p1 on a wider map (interior columns: the row-wise path), excluding
     * the pads; 3x3 s2 unpadded */
    pool_case("avg 3x3 s1 p1 incl wide", AF_POOL_AVG, 1, 0, 9, 37, 3, 1, 1, 1, 1, 1, 9, 37);
    pool_case("avg 3x3 s1 p1 excl wide", AF_POOL_AVG, 0, 0, 9, 37, 3, 1, 1, 1, 1, 1, 9, 37);
    pool_case("avg 3x3 s2", AF_POOL_AVG, 0, 0, 17, 19, 3, 2, 0, 0, 0, 0, 8, 9);
    /* hand values: x = 0..24 (5x5), avg 2x2 s2, pad_end 1: corner window holds only x[24] */
    float x[25], y[9];
    for (int i = 0; i < 25; i++) x[i] = (float)i;
    af_params p;
    memset(&p, 0, sizeof p);
    p.pool = (af_pool_params){.kind = AF_POOL_AVG, .nsp = 2, .count_include_pad = 1,
                              .kernel = {2, 2}, .stride = {2, 2}, .dilation = {1, 1},
                              .pad_end = {1, 1}};
    af_tview in = TV(AF_DTYPE_F32, x, 1, 1, 5, 5), out = TV(AF_DTYPE_F32, y, 1, 1, 3, 3);
    CHECK(run_node(AF_OP_POOL, &p, &in, 1, &out, 1) == AF_OK, "pool hand");
    CHECK(y[0] == 3.0f && y[8] == 6.0f && y[2] == (4 + 9) / 4.0f, "incl: %g %g %g", y[0], y[2], y[8]);
    p.pool.count_include_pad = 0;
    CHECK(run_node(AF_OP_POOL, &p, &in, 1, &out, 1) == AF_OK, "pool hand 2");
    CHECK(y[8] == 24.0f && y[2] == (4 + 9) / 2.0f, "excl: %g %g", y[2], y[8]);
    /* 1-D max with dilation 2: x = 0..9, k2 d2 s3 -> windows (0,2) (3,5) (6,8) */
    memset(&p, 0, sizeof p);
    p.pool = (af_pool_params){.kind = AF_POOL_MAX, .nsp = 1, .kernel = {2}, .stride = {3},
                              .dilation = {2}};
    in = TV(AF_DTYPE_F32, x, 1, 1, 10), out = TV(AF_DTYPE_F32, y, 1, 1, 3);
    CHECK(run_node(AF_OP_POOL, &p, &in, 1, &out, 1) == AF_OK, "pool 1d");
    CHECK(y[0] == 2 && y[1] == 5 && y[2] == 8, "1-D dilated max %g %g %g", y[0], y[1], y[2]);
    /* global pools */
    float g[2];
    p.global_pool.kind = AF_POOL_AVG;
    in = TV(AF_DTYPE_F32, x, 1, 2, 3, 4), out = TV(AF_DTYPE_F32, g, 1, 2, 1, 1);
    CHECK(run_node(AF_OP_GLOBAL_POOL, &p, &in, 1, &out, 1) == AF_OK, "global avg");
    CHECK(g[0] == 5.5f && g[1] == 17.5f, "global avg %g %g", g[0], g[1]);
    p.global_pool.kind = AF_POOL_MAX;
    CHECK(run_node(AF_OP_GLOBAL_POOL, &p, &in, 1, &out, 1) == AF_OK, "global max");
    CHECK(g[0] == 11 && g[1] == 23, "global max %g %g", g[0], g[1]);
}

static void test_batchnorm(void)
{
    float x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8];
    float scale[2] = {2, 0.5f}, bias[2] = {1, -1}, mean[2] = {2, 6}, var[2] = {4, 0.25f};
    af_params p = {.batchnorm = {0.0f}};
    af_tview in[5] = {TV(AF_DTYPE_F32, x, 1, 2, 2, 2), TV(AF_DTYPE_F32, scale, 2),
                      TV(AF_DTYPE_F32, bias, 2), TV(AF_DTYPE_F32, mean, 2),
                      TV(AF_DTYPE_F32, var, 2)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, 2, 2, 2);
    CHECK(run_node(AF_OP_BATCHNORM, &p, in, 5, &out, 1) == AF_OK, "batchnorm");
    /* c0: (x-2)/2*2+1 = x-1; c1: (x-6)/0.5*0.5-1 = x-7 */
    float want[8] = {0, 1, 2, 3, -2, -1, 0, 1};
    CHECK(floats_eq(y, want, 8, 1e-6), "batchnorm values"); /* exact up to one rounding */
}

int main(void)
{
    test_conv();
    test_conv_check();
    test_conv_transpose();
    test_sgemm();
    test_gemm_op();
    test_matmul();
    test_pool();
    test_batchnorm();
    return check_report("kernels");
}

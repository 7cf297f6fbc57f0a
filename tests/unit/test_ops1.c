/* tests/unit/test_ops1.c — the losses, trigonometry and small-op group where the ONNX backend data is thin:
 * NLL loss (ignore_index with mean reduction and weights, all samples ignored, a target out of
 * range), IsInf's flags and IsNaN, Shrink, BitShift on u8 (wrap-around, counts >= 8), Hardmax
 * ties and its legacy form, Det with pivoting, singular and batched inputs, and the
 * shape-inference-computed EyeLike and window functions. Expected values are worked by hand. */
#include <math.h>

#include "graph/shape.h"
#include "test_kernels_util.h"

static af_params P(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* |a - b| <= tol * (1 + |b|) */
static int near(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

/* logp (N=2, C=3, d1=2), target (2,2) with one ignored sample, weight (3). */
static void test_nll(void)
{
    float x[12] = {1, 2, 2, 2, 3, 2, 0, 1, 2, 2, 1, 2};
    int64_t t[4] = {2, 1, -7, 2}; /* sample (1,0) is ignored */
    float w[3] = {0.2f, 0.3f, 0.1f}, y[4];
    af_params p = P();
    p.nll = (af_nll_params){AF_REDUCTION_NONE, 1, -7};
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 2, 3, 2), TV(AF_DTYPE_I64, t, 2, 2), TV(AF_DTYPE_F32, w, 3)};
    af_tview out = TV(AF_DTYPE_F32, y, 2, 2);
    /* losses: -x[0,2,0]*w2 = -0.3, -x[0,1,1]*w1 = -0.6, 0 (ignored), -x[1,2,1]*w2 = -0.2 */
    CHECK(run_node(AF_OP_NLL_LOSS, &p, in, 3, &out, 1) == AF_OK && near(y[0], -0.3, 1e-6) &&
              near(y[1], -0.6, 1e-6) && y[2] == 0 && near(y[3], -0.2, 1e-6),
          "none: %g %g %g %g", y[0], y[1], y[2], y[3]);
    /* mean with weights: sum -1.1 over the weights of the samples kept (0.1+0.3+0.1 = 0.5);
     * 1e-6 relative: a three-term sum and one division in double, rounded once to f32 */
    p.nll.reduction = AF_REDUCTION_MEAN;
    out = TV(AF_DTYPE_F32, y);
    CHECK(run_node(AF_OP_NLL_LOSS, &p, in, 3, &out, 1) == AF_OK && near(y[0], -2.2, 1e-6),
          "mean weighted ii: %g, want -2.2", y[0]);
    /* mean without weights: -(3 + 2 + 2) / 3 samples kept */
    CHECK(run_node(AF_OP_NLL_LOSS, &p, in, 2, &out, 1) == AF_OK && near(y[0], -7.0 / 3, 1e-6),
          "mean ii: %g, want %g", y[0], -7.0 / 3);
    p.nll.reduction = AF_REDUCTION_SUM;
    CHECK(run_node(AF_OP_NLL_LOSS, &p, in, 3, &out, 1) == AF_OK && near(y[0], -1.1, 1e-6),
          "sum: %g, want -1.1", y[0]);
    /* every sample ignored: mean is 0/0 */
    int64_t all[4] = {-7, -7, -7, -7};
    in[1] = TV(AF_DTYPE_I64, all, 2, 2);
    p.nll.reduction = AF_REDUCTION_MEAN;
    CHECK(run_node(AF_OP_NLL_LOSS, &p, in, 3, &out, 1) == AF_OK && isnan(y[0]), "all ignored: %g", y[0]);
    /* a target outside [0, C) that is not ignore_index is an error, not a wild read */
    int32_t bad[4] = {0, 3, 1, 1};
    in[1] = TV(AF_DTYPE_I32, bad, 2, 2);
    af_err err = {0};
    af_kctx ctx = {.n_threads = 1};
    CHECK(af_kernel_run(AF_OP_NLL_LOSS, &p, in, 3, &out, 1, &ctx, &err) == AF_ERR_SHAPE &&
              strstr(err.msg, "outside"), "target 3 of 3 classes: %s", err.msg);
    p.nll.has_ignore = 0; /* ignore_index absent: -7 is out of range too */
    in[1] = TV(AF_DTYPE_I64, t, 2, 2);
    CHECK(af_kernel_run(AF_OP_NLL_LOSS, &p, in, 3, &out, 1, &ctx, &err) == AF_ERR_SHAPE,
          "no ignore_index: -7 accepted");
}

static void test_isinf_isnan_shrink(void)
{
    float x[5] = {-INFINITY, -1, 0, INFINITY, NAN};
    uint8_t y[5];
    af_params p = P();
    af_tview in = TV(AF_DTYPE_F32, x, 5), out = TV(AF_DTYPE_BOOL, y, 5);
    static const struct { float neg, pos; uint8_t want[5]; } cases[] = {
        {1, 1, {1, 0, 0, 1, 0}}, {1, 0, {1, 0, 0, 0, 0}}, {0, 1, {0, 0, 0, 1, 0}}, {0, 0, {0}},
    };
    for (int c = 0; c < 4; c++) {
        p.unary = (af_unary_params){AF_UNARY_ISINF, cases[c].neg, cases[c].pos};
        CHECK(run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_OK &&
                  !memcmp(y, cases[c].want, 5), "isinf neg=%g pos=%g", cases[c].neg, cases[c].pos);
    }
    p.unary = (af_unary_params){AF_UNARY_ISNAN, 0, 0};
    CHECK(run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_OK &&
              !memcmp(y, (uint8_t[5]){0, 0, 0, 0, 1}, 5), "isnan");
    af_tview fout = TV(AF_DTYPE_F32, x, 5);
    CHECK(check_node(AF_OP_UNARY, &p, &in, 1, &fout, 1) == AF_ERR_UNSUPPORTED, "isnan to f32 accepted");
    /* shrink lambd 1.5 bias 0.5; exact: one add or subtract of representable values */
    float s[5] = {-2, -1.5f, 0, 1.5f, 3}, r[5];
    p.unary = (af_unary_params){AF_UNARY_SHRINK, 1.5f, 0.5f};
    in = TV(AF_DTYPE_F32, s, 5), out = TV(AF_DTYPE_F32, r, 5);
    CHECK(run_node(AF_OP_UNARY, &p, &in, 1, &out, 1) == AF_OK &&
              !memcmp(r, (float[5]){-1.5f, 0, 0, 0, 2.5f}, sizeof r), "shrink %g %g %g %g %g",
          r[0], r[1], r[2], r[3], r[4]);
}

static void test_bitshift(void)
{
    uint8_t a[4] = {200, 1, 255, 16}, b[4] = {1, 7, 8, 2}, y[4];
    af_params p = P();
    p.binary.fn = AF_BINARY_SHIFT_LEFT;
    af_tview in[2] = {TV(AF_DTYPE_U8, a, 4), TV(AF_DTYPE_U8, b, 4)}, out = TV(AF_DTYPE_U8, y, 4);
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && y[0] == 144 && y[1] == 128 &&
              y[2] == 0 && y[3] == 64, "left %u %u %u %u", y[0], y[1], y[2], y[3]);
    p.binary.fn = AF_BINARY_SHIFT_RIGHT;
    CHECK(run_node(AF_OP_BINARY, &p, in, 2, &out, 1) == AF_OK && y[0] == 100 && y[1] == 0 &&
              y[2] == 0 && y[3] == 4, "right %u %u %u %u", y[0], y[1], y[2], y[3]);
    int64_t l[1] = {1}, o[1];
    af_tview iin[2] = {TV(AF_DTYPE_I64, l, 1), TV(AF_DTYPE_I64, l, 1)}, iout = TV(AF_DTYPE_I64, o, 1);
    CHECK(check_node(AF_OP_BINARY, &p, iin, 2, &iout, 1) == AF_ERR_UNSUPPORTED, "signed shift accepted");
}

static void test_hardmax(void)
{
    /* (2,3): ties pick the first maximum; axis 0 compares the two rows */
    float x[6] = {1, 3, 3, 5, 0, 3}, y[6];
    af_params p = P();
    af_tview in = TV(AF_DTYPE_F32, x, 2, 3), out = TV(AF_DTYPE_F32, y, 2, 3);
    p.softmax.axis = 1;
    CHECK(run_node(AF_OP_HARDMAX, &p, &in, 1, &out, 1) == AF_OK &&
              !memcmp(y, (float[6]){0, 1, 0, 1, 0, 0}, sizeof y), "axis 1");
    p.softmax.axis = 0;
    CHECK(run_node(AF_OP_HARDMAX, &p, &in, 1, &out, 1) == AF_OK &&
              !memcmp(y, (float[6]){0, 1, 1, 1, 0, 0}, sizeof y), "axis 0 (ties keep row 0)");
    p.softmax.legacy = 1; /* opset < 13: one maximum over everything from axis 0 on */
    CHECK(run_node(AF_OP_HARDMAX, &p, &in, 1, &out, 1) == AF_OK &&
              !memcmp(y, (float[6]){0, 0, 0, 1, 0, 0}, sizeof y), "legacy axis 0");
}

static void test_det(void)
{
    /* batch of 3: a 3x3 needing a row swap (zero pivot) with det -2; a singular one; a 3x3
     * cyclic permutation with det 1. 1e-6: LU in double on small integers. */
    float x[27] = {0, 1, 2, 1, 0, 3, 4, -3, 8,   1, 2, 3, 2, 4, 6, 7, 8, 9,   0, 1, 0, 0, 0, 1, 1, 0, 0};
    float y[3];
    af_params p = P();
    af_tview in = TV(AF_DTYPE_F32, x, 3, 3, 3), out = TV(AF_DTYPE_F32, y, 3);
    CHECK(run_node(AF_OP_DET, &p, &in, 1, &out, 1) == AF_OK && near(y[0], -2, 1e-6) &&
              y[1] == 0 && near(y[2], 1, 1e-6), "det %g %g %g", y[0], y[1], y[2]);
    af_tview bad = TV(AF_DTYPE_F32, x, 3, 9);
    CHECK(check_node(AF_OP_DET, &p, &bad, 1, &out, 1) == AF_ERR_SHAPE, "non-square accepted");
}

/* Runs shape inference of one node op(x) on a fresh graph; returns the output tensor's data. */
static const void *infer1(af_graph *g, af_op op, const af_params *p, af_dtype xdt, int rank,
                          const int64_t *dims, const void *xdata, int64_t *out_dims, af_dtype *odt)
{
    af_graph_init(g);
    int x = af_graph_add_tensor(g, "x", xdt, rank, dims);
    int y = af_graph_add_tensor(g, "y", AF_DTYPE_F32, -1, NULL);
    if (xdata) {
        size_t b = (size_t)af_tensor_nbytes(&g->tensors[x]);
        void *d = malloc(b);
        memcpy(d, xdata, b);
        af_tensor_set_data(&g->tensors[x], d);
    }
    int i = af_graph_add_node(g, op, "n", &x, 1, &y, 1);
    g->nodes[i].p = *p;
    af_err err = {0};
    if (af_shape_infer_node(g, i, &err) != AF_OK) {
        fprintf(stderr, "  (shape said: %s)\n", err.msg);
        return NULL;
    }
    memcpy(out_dims, g->tensors[y].dims, sizeof(int64_t) * 2);
    *odt = g->tensors[y].dtype;
    return g->tensors[y].data;
}

static void test_eye_and_windows(void)
{
    af_graph g;
    int64_t od[2];
    af_dtype dt;
    af_params p = P();
    p.eye = (af_eye_params){-1, 0, -1}; /* x's dtype, the diagonal below the main one */
    const int32_t *e = infer1(&g, AF_OP_EYE_LIKE, &p, AF_DTYPE_I32, 2, (int64_t[]){3, 2}, NULL, od, &dt);
    CHECK(e && dt == AF_DTYPE_I32 && od[0] == 3 && od[1] == 2 &&
              !memcmp(e, (int32_t[6]){0, 0, 1, 0, 0, 1}, 24), "eye_like k=-1");
    af_graph_free(&g);
    /* windows in double, stored once as f32: 1e-7 relative (half an f32 ulp is 6e-8) */
    static const struct { int kind, periodic; int64_t n; double want[5]; } w[] = {
        {AF_WINDOW_HANN, 0, 5, {0, 0.5, 1, 0.5, 0}},
        {AF_WINDOW_HANN, 1, 4, {0, 0.5, 1, 0.5}},
        {AF_WINDOW_HAMMING, 1, 2, {4.0 / 46, 1}},
        {AF_WINDOW_BLACKMAN, 0, 3, {0, 1, 0}},
        {AF_WINDOW_HANN, 0, 1, {1}}, /* symmetric size 1: [1] */
    };
    for (size_t c = 0; c < sizeof w / sizeof *w; c++) {
        p = P();
        p.window = (af_window_params){w[c].kind, w[c].periodic, AF_DTYPE_F32};
        const float *v = infer1(&g, AF_OP_WINDOW, &p, AF_DTYPE_I64, 0, NULL, &w[c].n, od, &dt);
        int ok = v && od[0] == w[c].n && dt == AF_DTYPE_F32;
        for (int64_t i = 0; ok && i < w[c].n; i++) ok = fabs(v[i] - w[c].want[i]) <= 1e-7;
        CHECK(ok, "window kind %d periodic %d size %lld", w[c].kind, w[c].periodic,
              (long long)w[c].n);
        af_graph_free(&g);
    }
}

int main(void)
{
    test_nll();
    test_isinf_isnan_shrink();
    test_bitshift();
    test_hardmax();
    test_det();
    test_eye_and_windows();
    return check_report("ops1");
}

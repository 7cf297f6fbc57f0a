/* tests/unit/test_sample_signal.c — GRID_SAMPLE, ROI_ALIGN, DFT, STFT and MEL_WEIGHT_MATRIX
 * kernels and shape rules on the forms the ONNX backend data covers thinly: GridSample every
 * padding mode x align_corners x mode (expected values from torch.nn.functional.grid_sample),
 * RoiAlign's max mode (from ONNX Runtime 1.30, the only reference for it), the DFT inverse round
 * trip, STFT against DFTs of its frames, the MelWeightMatrix example of the ONNX spec, and the
 * shape errors. Wider forms run through the CLI in tests/e2e/sample_signal.sh. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../targets/targets_internal.h"
#include "graph/shape.h"
#include "test_kernels_util.h"

static af_params P(void)
{
    af_params p;
    memset(&p, 0, sizeof p);
    return p;
}

static float max_diff(const float *a, const float *b, int64_t n)
{
    float m = 0;
    for (int64_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

/* ---- GridSample ------------------------------------------------------------------------ */

/* X = [[1,2,3],[4,5,6]] (1,1,2,3); grid points (x, y) inside, on a corner and outside [-1, 1]:
 * (-1.5,0.2) (1.3,-1.2) (0.25,0.5) (-1,-1) (0.9,1.7). Expected: torch 2.x grid_sample (f32). */
static const struct grid_case {
    int mode, padding, align;
    float y[5];
} grid_cases[] = {
    {0, 0, 0, {0, 0.04500017f, 5.375f, 0.25f, 0}},
    {0, 0, 1, {1.4f, 1.89f, 4.5f, 1, 3.835f}},
    {0, 1, 0, {3.1f, 3, 5.375f, 1, 6}},
    {0, 1, 1, {2.8f, 3, 4.5f, 1, 5.9f}},
    {0, 2, 0, {3.35f, 3, 5.375f, 1, 5.4f}},
    {0, 2, 1, {3.3f, 3, 4.5f, 1, 4.85f}},
    {1, 0, 0, {0, 0, 5, 1, 0}},
    {1, 0, 1, {4, 3, 5, 1, 6}},
    {1, 1, 0, {4, 3, 5, 1, 6}},
    {1, 1, 1, {4, 3, 5, 1, 6}},
    {1, 2, 0, {4, 3, 5, 1, 6}},
    {1, 2, 1, {4, 3, 5, 1, 6}},
    {2, 0, 0, {-0.3850928f, 0.02782902f, 5.865723f, 0.0625f, -0.3948751f}},
    {2, 0, 1, {1.559375f, 1.955442f, 5.509689f, 1, 4.548255f}},
    {2, 1, 0, {3.163001f, 2.860032f, 5.470215f, 0.625f, 6.11091f}},
    {2, 1, 1, {2.742249f, 2.928001f, 4.652344f, 1, 6.257471f}},
    {2, 2, 0, {3.354408f, 2.563126f, 5.470215f, 0.25f, 5.642627f}},
    {2, 2, 1, {3.256499f, 2.962501f, 4.898438f, 1, 5.140252f}},
};

static void test_grid_sample(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    float grid[10] = {-1.5f, 0.2f, 1.3f, -1.2f, 0.25f, 0.5f, -1, -1, 0.9f, 1.7f};
    for (size_t k = 0; k < sizeof grid_cases / sizeof *grid_cases; k++) {
        const struct grid_case *c = &grid_cases[k];
        af_params p = P();
        p.grid_sample.mode = c->mode;
        p.grid_sample.padding = c->padding;
        p.grid_sample.align_corners = c->align;
        float y[5] = {0};
        af_tview in[2] = {TV(AF_DTYPE_F32, x, 1, 1, 2, 3), TV(AF_DTYPE_F32, grid, 1, 1, 5, 2)};
        af_tview out = TV(AF_DTYPE_F32, y, 1, 1, 1, 5);
        CHECK(run_node(AF_OP_GRID_SAMPLE, &p, in, 2, &out, 1) == AF_OK, "grid case %zu", k);
        /* f32 coordinate arithmetic as in torch; the values are sums of <= 16 products of
         * magnitude <= 6: 1e-5 is a few ulps */
        CHECK(max_diff(y, c->y, 5) <= 1e-5f, "mode %d padding %d align %d: %g %g %g %g %g",
              c->mode, c->padding, c->align, y[0], y[1], y[2], y[3], y[4]);
    }
    /* a broken grid (inf, NaN, huge) stays in bounds: zeros padding gives 0, others some pixel */
    float bad[6] = {INFINITY, 0, NAN, NAN, 1e30f, -1e30f};
    for (int pad = 0; pad < 3; pad++) {
        af_params p = P();
        p.grid_sample.padding = pad;
        float y[3] = {-1, -1, -1};
        af_tview in[2] = {TV(AF_DTYPE_F32, x, 1, 1, 2, 3), TV(AF_DTYPE_F32, bad, 1, 1, 3, 2)};
        af_tview out = TV(AF_DTYPE_F32, y, 1, 1, 1, 3);
        CHECK(run_node(AF_OP_GRID_SAMPLE, &p, in, 2, &out, 1) == AF_OK, "broken grid");
        if (pad == 0) CHECK(y[0] == 0 && y[2] == 0, "zeros padding outside: %g %g", y[0], y[2]);
    }
}

/* ---- RoiAlign -------------------------------------------------------------------------- */

/* X (1,1,4,5) = (arange(20) - 7) / 4 with X[1,2] = -3; rois (0.3,0.2,3.7,2.9), (-1,-1,2,2),
 * (1,1,5.5,4.5); 2x2 bins, half_pixel, scale 1. ONNX Runtime 1.30's max mode: the max over the
 * samples of the largest weighted corner value (ONNX Runtime warns that this differs from the max
 * of the interpolated values; aneforge follows it). */
static const float roi_max_sr2[12] = {-0.002109375f, 0.1380469f, 0.8671874f, 1.089844f, 0, 0,
                                      0.09375f, 0.109375f, 0.8251953f, 1.421875f, 2.109375f, 3};
static const float roi_max_sr0[12] = {-0.002109375f, 0.1380469f, 0.8671874f, 1.089844f, 0, 0,
                                      0.09375f, 0.109375f, 0.7109375f, 1.421875f, 1.96875f, 3};

static void roi_run(int max_mode, int sr, int half_pixel, const int64_t *bidx, float *y,
                    af_status *st)
{
    static float x[20];
    for (int i = 0; i < 20; i++) x[i] = (float)(i - 7) / 4;
    x[7] = -3;
    static float rois[12] = {0.3f, 0.2f, 3.7f, 2.9f, -1, -1, 2, 2, 1, 1, 5.5f, 4.5f};
    af_params p = P();
    p.roi_align.max_mode = max_mode;
    p.roi_align.out_h = p.roi_align.out_w = 2;
    p.roi_align.sampling_ratio = sr;
    p.roi_align.spatial_scale = 1;
    p.roi_align.half_pixel = half_pixel;
    af_tview in[3] = {TV(AF_DTYPE_F32, x, 1, 1, 4, 5), TV(AF_DTYPE_F32, rois, 3, 4),
                      TV(AF_DTYPE_I64, (void *)bidx, 3)};
    af_tview out = TV(AF_DTYPE_F32, y, 3, 1, 2, 2);
    *st = run_node(AF_OP_ROI_ALIGN, &p, in, 3, &out, 1);
}

static void test_roi_align(void)
{
    static const int64_t b0[3] = {0, 0, 0}, bad[3] = {0, 1, 0};
    float y[12];
    af_status st;
    roi_run(1, 2, 1, b0, y, &st);
    /* f32 weights x values of magnitude <= 3: 1e-6 is a few ulps */
    CHECK(st == AF_OK && max_diff(y, roi_max_sr2, 12) <= 1e-6f, "max sr 2: %g", max_diff(y, roi_max_sr2, 12));
    roi_run(1, 0, 1, b0, y, &st);
    CHECK(st == AF_OK && max_diff(y, roi_max_sr0, 12) <= 1e-6f, "max adaptive: %g", max_diff(y, roi_max_sr0, 12));
    /* avg over a 1x1-sampled bin of an axis-aligned ROI: bilinear value at the bin centre.
     * ROI 2 (1,1)-(5.5,4.5) half_pixel: bin (0,0) centre (x, y) = (0.5 + 1.125, 0.5 + 0.875) */
    roi_run(0, 1, 1, b0, y, &st);
    float cx = 1.625f, cy = 1.375f; /* X[r][c] = (5r + c - 7)/4 away from X[1,2]: taps (1..2, 1..2) */
    float v11 = 1.0f / 4 * (5 + 1 - 7), v12 = -3, v21 = (10.f + 1 - 7) / 4, v22 = (10.f + 2 - 7) / 4;
    float fx = cx - 1, fy = cy - 1;
    float want = v11 * (1 - fx) * (1 - fy) + v12 * fx * (1 - fy) + v21 * (1 - fx) * fy + v22 * fx * fy;
    CHECK(st == AF_OK && fabsf(y[8] - want) <= 1e-6f, "avg 1x1: %g, want %g", y[8], want);
    roi_run(0, 0, 0, bad, y, &st);
    CHECK(st == AF_ERR_SHAPE, "batch index 1 of a 1-image batch is refused (%d)", (int)st);
}

/* ---- DFT / STFT ------------------------------------------------------------------------ */

/* x (B, L, c) -> y (B, bins, 2) along axis 1 */
static af_status dft(const float *x, int64_t B, int64_t L, int64_t c, int64_t length, int inverse,
                     int onesided, float *y, int64_t bins)
{
    af_params p = P();
    p.dft.axis = 1;
    p.dft.length = length;
    p.dft.inverse = inverse;
    p.dft.onesided = onesided;
    af_tview in = TV(AF_DTYPE_F32, (void *)x, B, L, c);
    af_tview out = TV(AF_DTYPE_F32, y, B, bins, 2);
    return run_node(AF_OP_DFT, &p, &in, 1, &out, 1);
}

static void test_dft(void)
{
    enum { L = 12 };
    float x[3 * L * 2], f[3 * L * 2], back[3 * L * 2];
    for (int i = 0; i < 3 * L * 2; i++) x[i] = frand();
    CHECK(dft(x, 3, L, 2, L, 0, 0, f, L) == AF_OK, "forward");
    CHECK(dft(f, 3, L, 2, L, 1, 0, back, L) == AF_OK, "inverse");
    /* round trip in f32 storage: |x| <= 1, |X| <= 12, one f32 rounding each way: 1e-6 abs */
    CHECK(max_diff(x, back, 3 * L * 2) <= 1e-6f, "inverse(forward(x)) = x: %g", max_diff(x, back, 3 * L * 2));
    /* a real signal: bin 0 is the sum; onesided = the first L/2+1 bins of the full transform;
     * dft_length 16 pads with zeros (bin k of the padded transform of an impulse at 1 is
     * e^{-2 pi i k/16}) */
    float r[L], full[L * 2], half[(L / 2 + 1) * 2], sum = 0;
    for (int i = 0; i < L; i++) r[i] = frand(), sum += r[i];
    CHECK(dft(r, 1, L, 1, L, 0, 0, full, L) == AF_OK && dft(r, 1, L, 1, L, 0, 1, half, L / 2 + 1) == AF_OK,
          "real forward");
    CHECK(fabsf(full[0] - sum) <= 1e-5f && fabsf(full[1]) <= 1e-6f, "bin 0 = sum");
    CHECK(max_diff(full, half, (L / 2 + 1) * 2) == 0, "onesided = first bins");
    float imp[L] = {0, 1}, pad[16 * 2];
    CHECK(dft(imp, 1, L, 1, 16, 0, 0, pad, 16) == AF_OK, "padded");
    float worst = 0;
    for (int k = 0; k < 16; k++) {
        double a = -2 * 3.14159265358979323846 * k / 16;
        worst = fmaxf(worst, fabsf(pad[2 * k] - (float)cos(a)) + fabsf(pad[2 * k + 1] - (float)sin(a)));
    }
    CHECK(worst <= 1e-6f, "impulse padded to 16: %g", worst);
    /* the radix-2 path (N = 32) and its inverse against the defining sum, written out here */
    enum { N2 = 32 };
    float z[N2 * 2], zf[N2 * 2], zi[N2 * 2];
    for (int i = 0; i < N2 * 2; i++) z[i] = frand();
    CHECK(dft(z, 1, N2, 2, N2, 0, 0, zf, N2) == AF_OK && dft(z, 1, N2, 2, N2, 1, 0, zi, N2) == AF_OK,
          "fft");
    worst = 0;
    for (int k = 0; k < N2; k++) {
        double fr = 0, fi = 0, ir = 0, ii = 0;
        for (int m = 0; m < N2; m++) {
            double a = 2 * 3.14159265358979323846 * k * m / N2, c = cos(a), sn = sin(a);
            fr += z[2 * m] * c + z[2 * m + 1] * sn, fi += z[2 * m + 1] * c - z[2 * m] * sn;
            ir += z[2 * m] * c - z[2 * m + 1] * sn, ii += z[2 * m + 1] * c + z[2 * m] * sn;
        }
        worst = fmaxf(worst, fabsf(zf[2 * k] - (float)fr) + fabsf(zf[2 * k + 1] - (float)fi));
        worst = fmaxf(worst, fabsf(zi[2 * k] - (float)(ir / N2)) + fabsf(zi[2 * k + 1] - (float)(ii / N2)));
    }
    /* |X| <= 32 * sqrt(2): f32 output rounding is <= 4e-6 per part */
    CHECK(worst <= 1e-5f, "radix-2 FFT = the DFT sum: %g", worst);
}

static void test_stft(void)
{
    enum { L = 40, FL = 8, STEP = 5, F = 1 + (L - FL) / STEP, K = FL / 2 + 1 };
    float sig[L], win[FL], y[F * K * 2];
    for (int i = 0; i < L; i++) sig[i] = frand();
    for (int i = 0; i < FL; i++) win[i] = 0.5f + 0.5f * frand();
    af_params p = P();
    p.stft.onesided = 1;
    p.stft.frame_step = STEP;
    p.stft.frame_length = FL;
    af_tview in[2] = {TV(AF_DTYPE_F32, sig, 1, L, 1), TV(AF_DTYPE_F32, win, FL)};
    af_tview out = TV(AF_DTYPE_F32, y, 1, F, K, 2);
    CHECK(run_node(AF_OP_STFT, &p, in, 2, &out, 1) == AF_OK, "stft");
    float worst = 0;
    for (int f = 0; f < F; f++) { /* frame f = onesided DFT of the windowed samples */
        float fr[FL], d[K * 2];
        for (int m = 0; m < FL; m++) fr[m] = sig[f * STEP + m] * win[m];
        dft(fr, 1, FL, 1, FL, 0, 1, d, K);
        worst = fmaxf(worst, max_diff(d, y + f * K * 2, K * 2));
    }
    /* the STFT multiplies by the window in f64, the test in f32: one rounding of terms <= 1 */
    CHECK(worst <= 1e-6f, "stft frames = DFTs of windowed frames: %g", worst);
}

/* ---- MelWeightMatrix ------------------------------------------------------------------- */

static void test_mel(void)
{
    /* the example of the ONNX operator documentation: 8 bins, dft_length 16, 8192 Hz,
     * 0..4096 Hz: rows 0-5 hold ones at (0,0) (0,1) (1,2) (1,3) (2,4) (3,5) (4,6) (5,7) */
    static const int ones[8][2] = {{0, 0}, {0, 1}, {1, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}};
    float lo = 0, hi = 4096, w[9 * 8];
    af_params p = P();
    p.mel.dtype = AF_DTYPE_F32;
    p.mel.num_mel_bins = 8, p.mel.dft_length = 16, p.mel.sample_rate = 8192;
    af_tview in[2] = {TV(AF_DTYPE_F32, &lo, 1), TV(AF_DTYPE_F32, &hi, 1)};
    in[0].rank = in[1].rank = 0;
    af_tview out = TV(AF_DTYPE_F32, w, 9, 8);
    CHECK(run_node(AF_OP_MEL_WEIGHT_MATRIX, &p, in, 2, &out, 1) == AF_OK, "mel");
    float want[9 * 8] = {0};
    for (int k = 0; k < 8; k++) want[ones[k][0] * 8 + ones[k][1]] = 1;
    CHECK(max_diff(w, want, 72) == 0, "the ONNX example matrix");
}

/* ---- shape rules ----------------------------------------------------------------------- */

static int add_in(af_graph *g, const char *name, af_dtype dt, int rank, const int64_t *d)
{
    int t = af_graph_add_tensor(g, name, dt, rank, d);
    af_graph_add_input(g, t);
    return t;
}

static int add_const_i64(af_graph *g, const char *name, int64_t v)
{
    int t = af_graph_add_tensor(g, name, AF_DTYPE_I64, 0, NULL);
    int64_t *d = malloc(sizeof *d);
    *d = v;
    af_tensor_set_data(&g->tensors[t], d);
    return t;
}

static af_status infer(af_graph *g, af_op op, const int *in, int n_in, af_params p, af_tensor **o,
                       af_err *err)
{
    int t = af_graph_add_tensor(g, "out", AF_DTYPE_F32, -1, NULL);
    int i = af_graph_add_node(g, op, "n", in, n_in, &t, 1);
    memset(err, 0, sizeof *err); /* the first error of a record wins: a fresh one per node */
    g->nodes[i].p = p;
    af_status st = af_shape_infer_node(g, i, err);
    *o = &g->tensors[t];
    return st;
}

static void test_shapes(void)
{
    af_err err;
    af_tensor *o;
    af_graph g;
    /* grid (N,oh,ow,3) is refused */
    af_graph_init(&g);
    int gi[2] = {add_in(&g, "x", AF_DTYPE_F32, 4, (int64_t[]){1, 2, 5, 5}),
                 add_in(&g, "grid", AF_DTYPE_F32, 4, (int64_t[]){1, 3, 4, 3})};
    CHECK(infer(&g, AF_OP_GRID_SAMPLE, gi, 2, P(), &o, &err) == AF_ERR_SHAPE, "grid last dim 3");
    af_graph_free(&g);
    /* DFT: dft_length 9 resolved, onesided: (2, 5, 4, 2) from (2, 7, 4, 1) on axis 1 */
    af_graph_init(&g);
    int di[3] = {add_in(&g, "x", AF_DTYPE_F32, 4, (int64_t[]){2, 7, 4, 1}), add_const_i64(&g, "len", 9), -1};
    af_params p = P();
    p.dft.axis = -3;
    p.dft.onesided = 1;
    CHECK(infer(&g, AF_OP_DFT, di, 3, p, &o, &err) == AF_OK && o->rank == 4 && o->dims[1] == 5 &&
              o->dims[3] == 2 && g.nodes[0].n_in == 1 && g.nodes[0].p.dft.length == 9 &&
              g.nodes[0].p.dft.axis == 1, "dft resolves length and axis: %s", err.msg);
    af_graph_free(&g);
    /* DFT: onesided needs a real input (ONNX Runtime refuses a complex one too) */
    af_graph_init(&g);
    int ci[1] = {add_in(&g, "x", AF_DTYPE_F32, 3, (int64_t[]){1, 8, 2})};
    p = P();
    p.dft.axis = 1;
    p.dft.onesided = 1;
    CHECK(infer(&g, AF_OP_DFT, ci, 1, p, &o, &err) == AF_ERR_SHAPE, "onesided complex DFT");
    af_graph_free(&g);
    /* STFT: a frame_step that is a graph input cannot be resolved */
    af_graph_init(&g);
    int si[4] = {add_in(&g, "s", AF_DTYPE_F32, 3, (int64_t[]){1, 64, 1}),
                 add_in(&g, "step", AF_DTYPE_I64, 0, NULL), -1, add_const_i64(&g, "fl", 16)};
    af_status st = infer(&g, AF_OP_STFT, si, 4, P(), &o, &err);
    CHECK(st == AF_ERR_UNSUPPORTED && strstr(err.msg, "frame_step"), "frame_step not constant: "
          "%d %s", (int)st, err.msg);
    af_graph_free(&g);
    /* STFT: frame_length 16, step 8, 64 samples, onesided: (1, 7, 9, 2); window dropped to in[1] */
    af_graph_init(&g);
    int wi[4] = {add_in(&g, "s", AF_DTYPE_F32, 3, (int64_t[]){1, 64, 1}), add_const_i64(&g, "step", 8),
                 add_in(&g, "w", AF_DTYPE_F32, 1, (int64_t[]){16}), -1};
    p = P();
    p.stft.onesided = 1;
    CHECK(infer(&g, AF_OP_STFT, wi, 4, p, &o, &err) == AF_OK && o->dims[1] == 7 && o->dims[2] == 9 &&
              g.nodes[0].n_in == 2 && g.nodes[0].in[1] == wi[2], "stft shape: %s", err.msg);
    af_graph_free(&g);
}

/* ---- family table and cost --------------------------------------------------------------- */

/* Every op of this file runs off the ANE on every family, and each has a nonzero cost. */
static void test_placement_cost(void)
{
    af_graph g;
    af_graph_init(&g);
    int x = add_in(&g, "x", AF_DTYPE_F32, 4, (int64_t[]){1, 4, 8, 8});
    int grid = add_in(&g, "grid", AF_DTYPE_F32, 4, (int64_t[]){1, 6, 6, 2});
    int rois = add_in(&g, "rois", AF_DTYPE_F32, 2, (int64_t[]){3, 4});
    int bi = add_in(&g, "bi", AF_DTYPE_I64, 1, (int64_t[]){3});
    int sig = add_in(&g, "sig", AF_DTYPE_F32, 3, (int64_t[]){1, 64, 1});
    static const char *const names[4] = {"gs", "ra", "dft", "stft"};
    static const int64_t od[4][4] = {{1, 4, 6, 6}, {3, 4, 2, 2}, {1, 64, 1, 2}, {1, 7, 9, 2}};
    af_params p[4] = {P(), P(), P(), P()};
    p[1].roi_align.out_h = p[1].roi_align.out_w = 2;
    p[2].dft.axis = 1, p[2].dft.length = 64;
    p[3].stft.frame_step = 8, p[3].stft.frame_length = 16, p[3].stft.onesided = 1;
    int ins[4][3] = {{x, grid}, {x, rois, bi}, {sig}, {sig}}, nin[4] = {2, 3, 1, 1};
    af_op ops[4] = {AF_OP_GRID_SAMPLE, AF_OP_ROI_ALIGN, AF_OP_DFT, AF_OP_STFT};
    for (int k = 0; k < 4; k++) {
        int o = af_graph_add_tensor(&g, names[k], AF_DTYPE_F32, k == 2 ? 3 : 4, od[k]);
        int i = af_graph_add_node(&g, ops[k], names[k], ins[k], nin[k], &o, 1);
        g.nodes[i].p = p[k];
    }
    for (int f = 0; f < af_target_count(); f++) {
        af_target_check_result r = {0};
        af_err err = {0};
        CHECK(af_target_check_graph(&g, af_target_at(f), &r, NULL, &err) == AF_OK, "%s", err.msg);
        int never = 0;
        for (int i = 0; i < r.n; i++) never += !strcmp(r.v[i].cap, "never_ane");
        CHECK(never == 4, "%s: %d of 4 nodes never on the ANE", af_target_at(f)->name, never);
        af_target_check_free(&r);
    }
    af_cost_report cr;
    af_err err = {0};
    CHECK(af_cost_graph(&g, af_target_at(0), -1, &cr, &err) == AF_OK && cr.n == 4, "cost");
    for (int i = 0; i < cr.n; i++)
        CHECK(cr.ops[i].macs + cr.ops[i].taps > 0, "%s has work", cr.ops[i].node);
    af_cost_report_free(&cr);
    af_graph_free(&g);
}

int main(void)
{
    test_grid_sample();
    test_roi_align();
    test_dft();
    test_stft();
    test_mel();
    test_shapes();
    test_placement_cost();
    return check_report("test_sample_signal");
}

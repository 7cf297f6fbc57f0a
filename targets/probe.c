/* targets/probe.c — the "host" pseudo-family: figures measured on this machine with the
 * runtime's own kernels, so `estimate --target host` can be checked against real runs.
 *   peak      GEMM throughput through the GEMM kernel: two conv-layer-shaped products (16 and
 *             128 output rows) fit peak * s / (s + half), s = min(M, K);
 *   bandwidth a 2 MB copy through the copy kernel (bytes read + written; activations of the
 *             models we run stay cache-resident between nodes), and a 32 MB one for weights
 *             (read from DRAM once per run), medians;
 *   floor     tiny (16-element) gemm, tanh, add and softmax nodes, median per call;
 *   vector    a depthwise 3x3 conv (the runtime's non-GEMM loop path);
 *   special   a softmax over (256,256); taps: a 3x3 max pool. All medians of several runs.
 * Times are CPU time of the probing thread (see now_s). The host runtime keeps activations and weights in f32: 4 bytes per activation element, and
 * every weight encoding but fp32 is widened to f32 at load (32 bits read per weight). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/kernels/kernels.h"
#include "targets_internal.h"

/* CPU time of this thread: on a shared, busy machine the figures describe what the machine does
 * while it runs us, not how often others preempt us (wall time of a quiet machine ≈ this). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static af_tview mat(float *data, int64_t r, int64_t c)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    v.dtype = AF_DTYPE_F32;
    v.rank = 2;
    v.dims[0] = r;
    v.dims[1] = c;
    v.data = data;
    return v;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Median seconds of `reps` timed batches of `calls` kernel calls each (median, not best: a model
 * run is a median too, so both see the same share of a busy machine), one thread, with the
 * scratch the kernel asks for; -1 on failure (err set). */
static double time_kernel(af_op op, const af_params *p, af_tview *v, int n_in, int reps, int calls,
                          af_err *err)
{
    double t[16];
    if (reps > 16) reps = 16;
    size_t bytes = af_kernel_scratch_bytes(op, p, v, n_in, v + n_in, 1);
    void *buf = bytes ? aligned_alloc(64, (bytes + 63) & ~(size_t)63) : NULL;
    if (bytes && !buf) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    af_kctx ctx = {.scratch = buf, .scratch_bytes = bytes, .n_threads = 1};
    int ok = 1;
    for (int r = 0; ok && r < reps; r++) {
        double t0 = now_s();
        for (int c = 0; ok && c < calls; c++)
            ok = af_kernel_run(op, p, v, n_in, v + n_in, 1, &ctx, err) == AF_OK;
        t[r] = (now_s() - t0) / calls;
    }
    free(buf);
    if (!ok) return -1;
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[reps / 2];
}

/* A 3x3 conv on (1,C,H,H) with `group` groups -> (1,C,H,H); returns MAC/s. group 1 is the
 * runtime's GEMM path as models use it (im2col + sgemm); group C is a depthwise conv, the
 * runtime's vector path. */
static double probe_conv(int64_t C, int64_t H, int64_t group, af_err *err)
{
    enum { K = 3 };
    size_t nx = (size_t)(C * H * H), nw = (size_t)(C * (C / group) * K * K);
    float *a = malloc(sizeof(float) * (2 * nx + nw));
    if (!a) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    for (size_t i = 0; i < 2 * nx + nw; i++) a[i] = (float)(i % 7) * 0.25f;
    af_tview v[3];
    memset(v, 0, sizeof v);
    int64_t xd[4] = {1, C, H, H}, wd[4] = {C, C / group, K, K};
    for (int k = 0; k < 3; k++) v[k].dtype = AF_DTYPE_F32, v[k].rank = 4;
    memcpy(v[0].dims, xd, sizeof xd);
    memcpy(v[1].dims, wd, sizeof wd);
    memcpy(v[2].dims, xd, sizeof xd);
    v[0].data = a, v[1].data = a + nx, v[2].data = a + nx + nw;
    af_params p;
    memset(&p, 0, sizeof p);
    p.conv.nsp = 2, p.conv.group = (int32_t)group;
    for (int s = 0; s < 2; s++)
        p.conv.kernel[s] = K, p.conv.stride[s] = 1, p.conv.dilation[s] = 1, p.conv.pad_begin[s] = 1,
        p.conv.pad_end[s] = 1;
    double t = time_kernel(AF_OP_CONV, &p, v, 2, 7, 1, err);
    free(a);
    return t > 0 ? (double)(nx * (size_t)(C / group) * K * K) / t : -1;
}

/* Elements/s of a softmax over (256, 256) (the exp-like class: one exp, a sum, a division). */
static double probe_special(af_err *err)
{
    enum { N = 65536 };
    float *a = malloc(sizeof(float) * N * 2);
    if (!a) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    for (int i = 0; i < 2 * N; i++) a[i] = (float)(i % 200 - 100) * 0.05f;
    af_tview v[2] = {mat(a, 256, N / 256), mat(a + N, 256, N / 256)};
    af_params p;
    memset(&p, 0, sizeof p);
    p.softmax.axis = 1;
    double t = time_kernel(AF_OP_SOFTMAX, &p, v, 1, 7, 4, err);
    free(a);
    return t > 0 ? N / t : -1;
}

/* Taps/s of a 3x3 stride-1 max pool on (1,32,32,32) (the indexed-loop class). */
static double probe_taps(af_err *err)
{
    enum { C = 32, H = 32 };
    float *a = calloc((size_t)2 * C * H * H, sizeof(float));
    if (!a) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    af_tview v[2];
    memset(v, 0, sizeof v);
    int64_t d[4] = {1, C, H, H};
    for (int k = 0; k < 2; k++) {
        v[k].dtype = AF_DTYPE_F32, v[k].rank = 4, v[k].data = a + (size_t)k * C * H * H;
        memcpy(v[k].dims, d, sizeof d);
    }
    af_params p;
    memset(&p, 0, sizeof p);
    p.pool.kind = AF_POOL_MAX, p.pool.nsp = 2;
    for (int s = 0; s < 2; s++)
        p.pool.kernel[s] = 3, p.pool.stride[s] = 1, p.pool.dilation[s] = 1, p.pool.pad_begin[s] = 1,
        p.pool.pad_end[s] = 1;
    double t = time_kernel(AF_OP_POOL, &p, v, 1, 7, 4, err);
    free(a);
    return t > 0 ? 9.0 * C * H * H / t : -1;
}

/* MAC/s of the GEMM kernel on A (M,K) @ B (K,N). */
static double probe_matmul(int64_t M, int64_t K, int64_t N, af_err *err)
{
    float *a = malloc(sizeof(float) * (size_t)(M * K + K * N + M * N));
    if (!a) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    for (int64_t i = 0; i < M * K + K * N; i++) a[i] = (float)(i % 7) * 0.25f;
    af_tview v[3] = {mat(a, M, K), mat(a + M * K, K, N), mat(a + M * K + K * N, M, N)};
    af_params p;
    memset(&p, 0, sizeof p);
    p.gemm.alpha = 1.0f;
    double t = time_kernel(AF_OP_GEMM, &p, v, 2, 7, 1, err);
    free(a);
    return t > 0 ? (double)(M * K * N) / t : -1;
}

/* GEMM rate r(s) = peak * s / (s + half), s = min(M, K) of the product, fitted through two
 * products shaped like conv layers (W (M,K) @ columns (K,N)): a 16-channel 3x3 conv on 32x32
 * (16 x 144 @ 144 x 1024, s = 16) and a 128-channel one on 28x28 (128 x 1152 @ 1152 x 784). */
static int probe_gemm(double *peak_macs, double *half, af_err *err)
{
    double r1 = probe_matmul(16, 144, 1024, err);
    double r2 = r1 > 0 ? probe_matmul(128, 1152, 784, err) : -1;
    if (r2 < 0) return -1;
    const double s1 = 16, s2 = 128;
    /* r1 (s1 + h) / s1 = r2 (s2 + h) / s2  =>  h = s1 s2 (r2 - r1) / (s2 r1 - s1 r2) */
    double den = s2 * r1 - s1 * r2, h = 0;
    if (r2 > r1 && den > 0) h = s1 * s2 * (r2 - r1) / den;
    *half = h;
    *peak_macs = fmax(r1, r2) * (h > 0 ? (s2 + h) / s2 : 1.0);
    return 0;
}

/* Bytes/s of a copy (read + write) through the copy kernel of rows x 1024 floats: 2 MB is the
 * working set of a typical activation, which stays in the caches between nodes as it does in a
 * model run; 32 MB is weights, read from DRAM once per run. */
static double probe_bandwidth(int64_t ROWS, af_err *err)
{
    enum { COLS = 1024 };
    float *a = malloc(sizeof(float) * ROWS * COLS * 2);
    if (!a) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the host probe"), -1;
    memset(a, 1, sizeof(float) * ROWS * COLS * 2);
    af_tview v[2] = {mat(a, ROWS, COLS), mat(a + (size_t)ROWS * COLS, ROWS, COLS)};
    af_params p;
    memset(&p, 0, sizeof p);
    double t = time_kernel(AF_OP_IDENTITY, &p, v, 1, 7, ROWS > 1024 ? 1 : 16, err);
    free(a);
    return t > 0 ? 2.0 * sizeof(float) * ROWS * COLS / t : -1;
}

/* Seconds per node of tiny nodes (16 elements: a (1,4) @ (4,4) GEMM, tanh, add, softmax), the
 * fixed cost of dispatching one node: the median of the four (one outlier, e.g. a kernel with a
 * large set-up cost, does not decide the floor of every node). */
static double probe_floor_s(af_err *err)
{
    static float a[16], b[16], c[16];
    af_params p;
    double t[4];
    for (int k = 0; k < 4; k++) {
        memset(&p, 0, sizeof p);
        af_tview v[3] = {mat(a, 1, 16), mat(b, 1, 16), mat(c, 1, 16)};
        af_op op = AF_OP_UNARY;
        int n_in = 1;
        if (k == 0) {
            op = AF_OP_GEMM, n_in = 2, p.gemm.alpha = 1.0f;
            v[0] = mat(a, 1, 4), v[1] = mat(b, 4, 4), v[2] = mat(c, 1, 4);
        } else if (k == 1) {
            p.unary.fn = AF_UNARY_TANH;
            v[1] = v[2];
        } else if (k == 2) {
            op = AF_OP_BINARY, n_in = 2, p.binary.fn = AF_BINARY_ADD;
        } else {
            op = AF_OP_SOFTMAX, p.softmax.axis = 1;
            v[1] = v[2];
        }
        t[k] = time_kernel(op, &p, v, n_in, 7, 2000, err);
        if (t[k] < 0) return -1;
    }
    qsort(t, 4, sizeof t[0], cmp_double);
    return 0.5 * (t[1] + t[2]);
}

#define MEASURED "measured on this machine by the host probe"
#define HOST_F32 "host runtime: activations are f32"
#define NO_CAP(v) {(v), "host: no cap", 0}

af_status af_target_host_probe(af_target_family *out, char *msg, size_t msg_size)
{
    af_err err = {0};
    afk_blas_single_thread(); /* as sessions do: the BLAS library runs on the calling thread */
    double macs = 0, half = 0;
    double vmacs = probe_gemm(&macs, &half, &err) == 0 ? probe_conv(96, 56, 96, &err) : -1;
    double special = vmacs > 0 ? probe_special(&err) : -1;
    double taps = special > 0 ? probe_taps(&err) : -1;
    double bw = taps > 0 ? probe_bandwidth(512, &err) : -1;
    double wbw = bw > 0 ? probe_bandwidth(8192, &err) : -1;
    double floor_s = wbw > 0 ? probe_floor_s(&err) : -1;
    if (floor_s < 0) {
        if (msg && msg_size) snprintf(msg, msg_size, "host probe: %s", err.msg);
        return err.code ? err.code : AF_ERR_INTERNAL;
    }
    af_target_family f = {
        .name = "host", .alias = "host", .chip = "this machine (runtime kernels, f32)",
        .peak_fp16_tops = {2 * macs / 1e12, MEASURED " (f32 GEMMs 16x144x1024 and 128x1152x784, fitted)", 0},
        .gemm_half = {half, MEASURED " (fitted with the peak)", 0},
        .vector_tops = {2 * vmacs / 1e12, MEASURED " (f32 depthwise 3x3 conv, 96 channels on 56x56)", 0},
        .special_gops = {special / 1e9, MEASURED " (softmax elements, (256,256) over the last axis)", 0},
        .tap_gops = {taps / 1e9, MEASURED " (3x3 max pool on (1,32,32,32))", 0},
        .dram_gbps = {bw / 1e9, MEASURED " (2 MB copy: 4 MB read + written, cache-resident like activations)", 0},
        .weight_gbps = {wbw / 1e9, MEASURED " (32 MB copy: 64 MB read + written, from DRAM like weights)", 0},
        .op_floor_us = {floor_s * 1e6, MEASURED " (median of tiny gemm, tanh, add, softmax nodes)", 0},
        .act_bytes = {4, HOST_F32, 0},
        .decompressed_bits = {32, "host runtime: weights other than fp32 are widened to f32 at load", 0},
        .native_streams = 1u << AF_WENC_FP32,
        .native_streams_source = "host runtime: only raw fp32 weights are used in place",
        .max_dim = NO_CAP(1e18), .max_rank = NO_CAP(AF_MAX_RANK), .pool_kernel_max = NO_CAP(1e9),
        .pool_stride_max = NO_CAP(1e9), .upsample_max = NO_CAP(1e9), .dilation_max = NO_CAP(1e9),
        .missing_ops = "", .missing_ops_source = "",
    };
    *out = f;
    return AF_OK;
}

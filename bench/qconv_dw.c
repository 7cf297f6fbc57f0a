/* bench/qconv_dw.c — depthwise QLINEAR_CONV shapes (uint8 activations, symmetric int8 weights
 * per channel, as torchvision's quantized MobileNets) through runtime/kernels/qconv_vnni_dw.c's
 * two paths: the per-channel loops (afk_qconv_vnni_no_dwl) and 16 channels in the lanes
 * (qv_dwl, small maps). Weights pre-packed as a session does; the median of alternating
 * rounds and the fastest (1 thread: the thread's CPU time, else wall time); the two outputs are
 * compared byte for byte.
 *
 *   build/bin/af_qconv_dw [--threads N] [--only lanes|channel] [C H k s] ...
 *
 * (no shapes: MobileNetV2 / V3's; --only: time one path, e.g. under perf stat)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/kernels/internal.h"
#include "runtime/kernels/qconv.h"

enum { ROUNDS = 41, REPS = 20 };

static int g_threads = 1, g_only = 0; /* g_only: 1 per-channel, 2 lanes, 0 both */

/* 1 thread: the thread's CPU time (robust to a shared machine); else wall time */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(g_threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct shape { int64_t C, H, k, s; } shape;

/* One node: the views, its packed weight, scratch for nt threads and the pool. */
typedef struct node {
    af_params p;
    af_tview in[9], y;
    af_kctx ctx;
    float xs, ws, ys;
    uint8_t xz, yz;
    int8_t wz;
} node;

static int setup(const shape *s, int nt, node *u)
{
    memset(u, 0, sizeof *u);
    int64_t C = s->C, H = s->H, k = s->k, pad = k / 2, O = (H + 2 * pad - k) / s->s + 1;
    af_conv_params *cp = &u->p.conv;
    cp->nsp = 2, cp->group = (int32_t)C;
    for (int i = 0; i < 2; i++)
        cp->kernel[i] = (int32_t)k, cp->stride[i] = (int32_t)s->s, cp->dilation[i] = 1,
        cp->pad_begin[i] = cp->pad_end[i] = (int32_t)pad;
    uint8_t *x = malloc((size_t)(C * H * H)), *y = malloc((size_t)(C * O * O));
    int8_t *w = malloc((size_t)(C * k * k));
    float *ws = malloc((size_t)C * 4);
    int8_t *wz = calloc((size_t)C, 1);
    int32_t *b = malloc((size_t)C * 4);
    for (int64_t i = 0; i < C * H * H; i++) x[i] = (uint8_t)(i * 7 % 251);
    for (int64_t i = 0; i < C * k * k; i++) w[i] = (int8_t)(i * 13 % 255 - 127);
    for (int64_t m = 0; m < C; m++)
        ws[m] = 0.002f * (float)(1 + m % 5), b[m] = (int32_t)(m * 37 % 2001 - 1000);
    u->xs = 0.02f, u->ys = 0.5f, u->xz = 3, u->yz = 128;
    int64_t xd[4] = {1, C, H, H}, wd[4] = {C, 1, k, k}, yd[4] = {1, C, O, O}, cd[1] = {C};
    u->in[0] = (af_tview){.dtype = AF_DTYPE_U8, .data = x, .rank = 4};
    memcpy(u->in[0].dims, xd, sizeof xd);
    u->in[1] = (af_tview){.dtype = AF_DTYPE_F32, .data = &u->xs, .rank = 1, .dims = {1}};
    u->in[2] = (af_tview){.dtype = AF_DTYPE_U8, .data = &u->xz, .rank = 1, .dims = {1}};
    u->in[3] = (af_tview){.dtype = AF_DTYPE_I8, .data = w, .rank = 4};
    memcpy(u->in[3].dims, wd, sizeof wd);
    u->in[4] = (af_tview){.dtype = AF_DTYPE_F32, .data = ws, .rank = 1, .dims = {cd[0]}};
    u->in[5] = (af_tview){.dtype = AF_DTYPE_I8, .data = wz, .rank = 1, .dims = {cd[0]}};
    u->in[6] = (af_tview){.dtype = AF_DTYPE_F32, .data = &u->ys, .rank = 1, .dims = {1}};
    u->in[7] = (af_tview){.dtype = AF_DTYPE_U8, .data = &u->yz, .rank = 1, .dims = {1}};
    u->in[8] = (af_tview){.dtype = AF_DTYPE_I32, .data = b, .rank = 1, .dims = {cd[0]}};
    u->y = (af_tview){.dtype = AF_DTYPE_U8, .data = y, .rank = 4};
    memcpy(u->y.dims, yd, sizeof yd);
    af_op op = AF_OP_QLINEAR_CONV;
    size_t pb = af_kernel_prepack_bytes(op, &u->p, u->in, 9, &u->y, 1);
    size_t need = (af_kernel_scratch_bytes(op, &u->p, u->in, 9, &u->y, 1) + 63) / 64 * 64;
    if (!pb) return 0;
    void *packed = aligned_alloc(64, (pb + 63) / 64 * 64);
    af_kernel_prepack(op, &u->p, u->in, 9, &u->y, 1, packed);
    af_err err = {0};
    u->ctx = (af_kctx){.scratch = aligned_alloc(64, need * (size_t)nt),
                       .scratch_bytes = need * (size_t)nt,
                       .n_threads = nt,
                       .packed = packed};
    return afk_pool_create(nt, &u->ctx.pool, &err) == AF_OK;
}

static double run_reps(node *u, int no_dwl)
{
    af_err err = {0};
    afk_qconv_vnni_no_dwl = no_dwl;
    double t0 = now_ms();
    for (int r = 0; r < REPS; r++)
        if (af_kernel_run(AF_OP_QLINEAR_CONV, &u->p, u->in, 9, &u->y, 1, &u->ctx, &err)) return -1;
    afk_qconv_vnni_no_dwl = 0;
    return (now_ms() - t0) / REPS;
}

static void bench_shape(const shape *s, int nt)
{
    node u;
    if (!setup(s, nt, &u)) {
        printf("C%lld %lld k%lld s%lld: not packed\n", (long long)s->C, (long long)s->H,
               (long long)s->k, (long long)s->s);
        return;
    }
    size_t ny = (size_t)af_tview_numel(&u.y);
    uint8_t *y0 = malloc(ny);
    double t[2][ROUNDS];
    int same = 1;
    for (int r = 0; r < ROUNDS; r++)
        for (int v = 0; v < 2; v++) {
            t[v][r] = g_only && g_only != v + 1 ? 1 : run_reps(&u, v == 0);
            if (v == 0) memcpy(y0, u.y.data, ny);
            else same &= !memcmp(y0, u.y.data, ny);
        }
    for (int v = 0; v < 2; v++) qsort(t[v], ROUNDS, sizeof t[v][0], cmp_d);
    long before = afk_qconv_vnni_dwl_runs;
    run_reps(&u, 0);
    printf("C%-4lld %3lldx%-3lld k%lld s%lld: per-channel %7.4f (min %7.4f) ms  lanes %7.4f "
           "(min %7.4f) ms  (%.2fx)%s%s\n",
           (long long)s->C, (long long)s->H, (long long)s->H, (long long)s->k, (long long)s->s,
           t[0][ROUNDS / 2], t[0][0], t[1][ROUNDS / 2], t[1][0],
           t[0][ROUNDS / 2] / t[1][ROUNDS / 2],
           afk_qconv_vnni_dwl_runs > before ? "" : "  [lanes path not taken]",
           same ? "" : "  OUTPUTS DIFFER");
    afk_pool_free(u.ctx.pool);
    free(y0), free(u.ctx.scratch), free((void *)u.ctx.packed);
    free(u.in[0].data), free(u.in[3].data), free(u.in[4].data), free(u.in[5].data);
    free(u.in[8].data), free(u.y.data);
}

int main(int argc, char **argv)
{
    static const shape defaults[] = {
        {32, 112, 3, 1}, {96, 112, 3, 2}, {144, 56, 3, 1}, {144, 56, 3, 2}, {192, 28, 3, 1},
        {192, 28, 3, 2}, {384, 14, 3, 1}, {576, 14, 3, 1}, {576, 14, 3, 2}, {960, 7, 3, 1},
        {72, 56, 5, 2},  {120, 28, 5, 1}, {672, 14, 5, 2}, {960, 7, 5, 1},  {64, 112, 3, 2},
        {72, 56, 3, 1},  {240, 28, 3, 2}, {480, 14, 3, 1},
    };
    int nt = 1, first = 1;
    for (; first + 1 < argc && argv[first][0] == '-'; first += 2) {
        if (!strcmp(argv[first], "--threads")) nt = atoi(argv[first + 1]);
        else if (!strcmp(argv[first], "--only")) g_only = !strcmp(argv[first + 1], "lanes") ? 2 : 1;
    }
    if (nt < 1) nt = 1;
    g_threads = nt;
    printf("%d thread(s); median of %d alternating rounds of %d runs, %s\n", nt, ROUNDS, REPS,
           nt == 1 ? "thread CPU time" : "wall time");
    if (argc > first) {
        for (int i = first; i + 3 < argc; i += 4) {
            shape s = {atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2]), atoll(argv[i + 3])};
            if (s.C < 1 || s.H < 1 || s.k < 1 || s.k > 7 || s.s < 1 || s.s > 2 || s.H > 1024 ||
                s.C > 4096) {
                fprintf(stderr, "af_qconv_dw: bad shape at argument %d\n", i);
                return 2;
            }
            bench_shape(&s, nt);
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) bench_shape(&defaults[i], nt);
    return 0;
}

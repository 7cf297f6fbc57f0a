/* bench/conv_paths.c — one conv shape through each of the runtime's dense conv paths, to tune
 * the rule that picks them (runtime/kernels/conv.c, winograd.c: Winograd F(4x4,3x3) or
 * F(2x2,3x3), or the packed GEMM). Weights pre-packed as a session does; one thread; CPU time of
 * the thread (robust to a shared machine), median of alternating rounds.
 *
 *   build/bin/af_conv_paths [--avx2] [--cold] [C H W M k s p] ...   (no shapes: the ResNet / SD ones)
 *
 * --avx2 runs the AVX2+FMA micro-kernel (and Winograd's AVX2 transforms) even on an AVX-512 CPU.
 * --cold writes 64 MB before every run, so input, output and weights start outside the caches
 * (as in a model, where other layers' weights stream through the L3 between two runs).
 * The "int8" path is int8 compute (runtime/kernels/qgemm.h) on the weights quantized to int8
 * per output channel (a compress int8 blob), where the CPU has AVX512-VNNI.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "graph/dtype.h"
#include "runtime/kernels/internal.h"
#include "runtime/wdecode.h"

enum { ROUNDS = 15, COLD_BYTES = 64 << 20 };

static unsigned char *cold; /* --cold: written before every run to evict the caches */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct shape { int64_t C, H, W, M, k, s, p; } shape;
typedef struct path { const char *name; int wino, cols, int8; } path;
enum { NP = 6 };
/* "gemm-cols": the packed GEMM held to 14 × 32 tiles (afk_pgemm_lanes 0); "int8w2": int8
 * compute on Winograd F(2x2) (PACK_WQ8; the rule may leave the shape to "int8") */
static const path paths[NP] = {{"gemm", 0, 0, 0},      {"gemm-cols", 0, 1, 0},
                               {"winograd4", 1, 0, 0}, {"winograd2", 2, 0, 0},
                               {"int8", 0, 0, 1},      {"int8w2", 2, 0, 1}};

/* w (M, K) as a symmetric per-row int8 blob (f16 scales), as compress int8 makes it. */
static uint8_t *int8_blob(const float *w, int64_t M, int64_t K, const int64_t *dims)
{
    af_wblob_head h = {AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL, 0, (uint32_t)M, 0, 0};
    af_wblob_layout l;
    if (af_wblob_layout_of(&h, 4, dims, &l)) return NULL;
    uint8_t *b = calloc(1, l.total);
    if (!b) return NULL;
    af_wblob_put_head(b, &h);
    for (int64_t r = 0; r < M; r++) {
        float mx = 0;
        for (int64_t k = 0; k < K; k++) mx = fabsf(w[r * K + k]) > mx ? fabsf(w[r * K + k]) : mx;
        uint16_t sh = af_f32_to_f16(mx > 0 ? mx / 127 : 1);
        float sc = af_f16_to_f32(sh);
        af_wblob_wr16(b + l.params_off + 2 * r, sh);
        for (int64_t k = 0; k < K; k++) {
            long q = lrintf(w[r * K + k] / sc);
            b[l.data_off + r * K + k] = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
    }
    return b;
}

/* One path's prepack + scratch + run setup; returns 0 when the path does not take the shape. */
typedef struct setup {
    af_params p;
    af_tview in[3], out;
    void *packed, *scratch;
    size_t scratch_bytes;
    int kind;
    uint8_t *blob; /* the int8 path's weight */
} setup;

static int prepare(const shape *s, const path *pa, float *x, float *w, float *b, float *y, setup *u)
{
    memset(u, 0, sizeof *u);
    af_conv_params *cp = &u->p.conv;
    cp->nsp = 2, cp->group = 1, cp->act.fn = AF_UNARY_RELU;
    for (int j = 0; j < 2; j++)
        cp->kernel[j] = (int32_t)s->k, cp->stride[j] = (int32_t)s->s, cp->dilation[j] = 1,
        cp->pad_begin[j] = cp->pad_end[j] = (int32_t)s->p;
    int64_t OH = (s->H + 2 * s->p - s->k) / s->s + 1, OW = (s->W + 2 * s->p - s->k) / s->s + 1;
    u->in[0] = (af_tview){.dtype = AF_DTYPE_F32, .data = x, .rank = 4, .dims = {1, s->C, s->H, s->W}};
    u->in[1] = (af_tview){.dtype = AF_DTYPE_F32, .data = w, .rank = 4, .dims = {s->M, s->C, s->k, s->k}};
    u->in[2] = (af_tview){.dtype = AF_DTYPE_F32, .data = b, .rank = 1, .dims = {s->M}};
    u->out = (af_tview){.dtype = AF_DTYPE_F32, .data = y, .rank = 4, .dims = {1, s->M, OH, OW}};
    int64_t K = s->C * s->k * s->k;
    af_tview pin[3] = {u->in[0], u->in[1], u->in[2]};
    if (pa->int8) {
        u->blob = int8_blob(w, s->M, K, u->in[1].dims);
        pin[1].dtype = AF_DTYPE_I8, pin[1].data = u->blob;
    }
    afk_wino_mode = pa->wino;
    afk_pgemm_lanes = !pa->cols;
    size_t pb = u->blob || !pa->int8 ? af_kernel_prepack_bytes(AF_OP_CONV, &u->p, pin, 3, &u->out, 1) : 0;
    int nk = pa->wino == 1 ? 36 : 16;
    int took = pa->int8 ? pb > 0
               : pa->wino ? pb == (size_t)(nk * s->M * s->C + 16) * 4 : pb >= (size_t)(K * s->M + 16) * 4;
    if (took) {
        u->packed = aligned_alloc(64, (pb + 63) / 64 * 64);
        u->scratch_bytes = (af_kernel_scratch_bytes(AF_OP_CONV, &u->p, u->in, 3, &u->out, 1) + 63) / 64 * 64;
        u->scratch = aligned_alloc(64, u->scratch_bytes ? u->scratch_bytes : 64);
        if (u->packed) af_kernel_prepack(AF_OP_CONV, &u->p, pin, 3, &u->out, 1, u->packed);
    }
    afk_wino_mode = -1, afk_pgemm_lanes = 1;
    return took && u->packed && u->scratch;
}

static double run_once(const path *pa, setup *u)
{
    af_kctx ctx = {.scratch = u->scratch, .scratch_bytes = u->scratch_bytes, .n_threads = 1,
                   .packed = u->packed};
    af_err err = {0};
    afk_wino_mode = pa->wino;
    afk_pgemm_lanes = !pa->cols;
    for (size_t i = 0; cold && i < COLD_BYTES; i += 64) cold[i]++; /* memset may bypass caches */
    double t0 = now_ms();
    af_status st = af_kernel_run(AF_OP_CONV, &u->p, u->in, 3, &u->out, 1, &ctx, &err);
    double t = now_ms() - t0;
    afk_wino_mode = -1, afk_pgemm_lanes = 1;
    return st == AF_OK ? t : -1;
}

static void bench_shape(const shape *s)
{
    int64_t OH = (s->H + 2 * s->p - s->k) / s->s + 1, OW = (s->W + 2 * s->p - s->k) / s->s + 1;
    size_t nx = (size_t)(s->C * s->H * s->W), nw = (size_t)(s->M * s->C * s->k * s->k);
    float *x = malloc(nx * 4), *w = malloc(nw * 4), *b = calloc((size_t)s->M, 4);
    float *y = malloc((size_t)(s->M * OH * OW) * 4);
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 17) * 0.1f - 0.8f;
    for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 13) * 0.01f - 0.06f;
    setup u[NP];
    int ok[NP];
    double t[NP][ROUNDS];
    for (int k = 0; k < NP; k++) ok[k] = prepare(s, &paths[k], x, w, b, y, &u[k]);
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < NP; k++) t[k][r] = ok[k] ? run_once(&paths[k], &u[k]) : -1;
    double gmacs = (double)s->C * s->k * s->k * s->M * OH * OW * 1e-9;
    printf("C%-4lld %3lldx%-3lld M%-4lld k%lld s%lld p%lld  %6.3f GMAC:", (long long)s->C,
           (long long)s->H, (long long)s->W, (long long)s->M, (long long)s->k, (long long)s->s,
           (long long)s->p, gmacs);
    for (int k = 0; k < NP; k++) {
        qsort(t[k], ROUNDS, sizeof t[k][0], cmp_d);
        if (ok[k]) printf("  %s %7.3f ms", paths[k].name, t[k][ROUNDS / 2]);
        else printf("  %s       - ms", paths[k].name);
        free(u[k].packed), free(u[k].scratch), free(u[k].blob);
    }
    printf("\n");
    free(x), free(w), free(b), free(y);
}

int main(int argc, char **argv)
{
    static const shape defaults[] = {
        {64, 56, 56, 64, 3, 1, 1},   {128, 28, 28, 128, 3, 1, 1}, {256, 14, 14, 256, 3, 1, 1},
        {512, 7, 7, 512, 3, 1, 1},   {256, 14, 14, 512, 3, 2, 1}, {512, 7, 7, 2048, 1, 1, 0},
        {2048, 7, 7, 512, 1, 1, 0},  {1024, 14, 14, 256, 1, 1, 0}, {256, 14, 14, 1024, 1, 1, 0},
        {320, 64, 64, 320, 3, 1, 1}, {16, 55, 55, 64, 3, 1, 1},   {64, 13, 13, 256, 3, 1, 1},
    };
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "--avx2")) {
            afk_pgemm_force = 1;
        } else if (!strcmp(argv[first], "--cold")) {
            if (!cold && !(cold = calloc(1, COLD_BYTES))) return 1;
        } else {
            fprintf(stderr, "af_conv_paths: unknown option %s\n", argv[first]);
            return 2;
        }
    }
    printf("ISA %s; median of %d alternating runs, thread CPU time\n", afk_pgemm_isa(), ROUNDS);
    if (argc > first) {
        for (int i = first; i + 6 < argc; i += 7) {
            shape s = {atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2]), atoll(argv[i + 3]),
                       atoll(argv[i + 4]), atoll(argv[i + 5]), atoll(argv[i + 6])};
            if (s.C < 1 || s.H < 1 || s.W < 1 || s.M < 1 || s.k < 1 || s.s < 1 || s.p < 0 ||
                s.H + 2 * s.p < s.k || s.W + 2 * s.p < s.k || s.C * s.H * s.W > (1 << 28) ||
                s.M * s.C * s.k * s.k > (1 << 28)) {
                fprintf(stderr, "af_conv_paths: bad shape at argument %d\n", i);
                return 2;
            }
            bench_shape(&s);
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) bench_shape(&defaults[i]);
    free(cold);
    return 0;
}

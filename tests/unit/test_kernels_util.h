/* tests/unit/test_kernels_util.h — helpers shared by the test_kernels*.c unit tests:
 * building views, running a node with its scratch, deterministic random data, comparisons. */
#ifndef AF_TEST_KERNELS_UTIL_H
#define AF_TEST_KERNELS_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/kernels/kernels.h"

static inline af_tview mkview(af_dtype dt, void *data, int rank, const int64_t *dims)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    v.dtype = dt;
    v.rank = rank;
    v.data = data;
    for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
    return v;
}

/* TV(dtype, data, d0, d1, ...) -> a view of that shape. */
#define TV(dt, data, ...)                                                                  \
    mkview(dt, data, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)),            \
           (int64_t[]){__VA_ARGS__})

/* Runs one node with freshly allocated scratch; prints the kernel's message on failure. */
static inline af_status run_node(af_op op, const af_params *p, const af_tview *in, int n_in,
                                 af_tview *out, int n_out)
{
    af_err err = {0};
    size_t need = af_kernel_scratch_bytes(op, p, in, n_in, out, n_out);
    void *scratch = need ? aligned_alloc(64, (need + 63) / 64 * 64) : NULL;
    af_kctx ctx = {.scratch = scratch, .scratch_bytes = need, .n_threads = 1};
    af_status st = af_kernel_run(op, p, in, n_in, out, n_out, &ctx, &err);
    if (st) fprintf(stderr, "  (kernel said: %s)\n", err.msg);
    free(scratch);
    return st;
}

static inline af_status check_node(af_op op, const af_params *p, const af_tview *in, int n_in,
                                   const af_tview *out, int n_out)
{
    af_err err = {0};
    return af_kernel_check(op, p, in, n_in, out, n_out, &err);
}

/* Deterministic uniform values in [-1, 1). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static inline float frand(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

static inline float *frand_buf(int64_t n)
{
    float *b = malloc((size_t)(n > 0 ? n : 1) * sizeof *b);
    for (int64_t i = 0; i < n; i++) b[i] = frand();
    return b;
}

/* Largest |a - b| / (1 + |b|) over n values (b is the reference). */
static inline double max_rel_err(const float *a, const float *b, int64_t n)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
        if (!(e <= worst)) worst = e; /* NaN sticks */
    }
    return worst;
}

static inline int floats_eq(const float *a, const float *b, int64_t n, double tol)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - (double)b[i]) <= tol)) {
            fprintf(stderr, "  [%lld] got %.7g want %.7g\n", (long long)i, a[i], b[i]);
            return 0;
        }
    return 1;
}

/* A row-major B (rows ldb floats apart, N columns) for afk_pgemm's pack_b: rows [k0, k0+kc)
 * as panels (kc, nr), zeros past N. */
typedef struct test_bmat {
    const float *B;
    int64_t ldb, N;
} test_bmat;

static inline void test_pack_b(const void *arg, int64_t k0, int64_t kc, int nr, float *dst)
{
    const test_bmat *m = arg;
    for (int64_t j0 = 0; j0 < m->N; j0 += nr, dst += kc * nr)
        for (int64_t kk = 0; kk < kc; kk++)
            for (int r = 0; r < nr; r++)
                dst[kk * nr + r] = j0 + r < m->N ? m->B[(k0 + kk) * m->ldb + j0 + r] : 0.0f;
}

/* 1 when AF_TEST_SMALL is set (and not "0"): the slow tests shrink their largest shapes,
 * keeping every code path (tests/CMakeLists.txt sets it for tests run under an emulator, e.g.
 * qemu-aarch64 in `make check-arm64`, where double-precision references take minutes). */
static inline int test_small(void)
{
    const char *s = getenv("AF_TEST_SMALL");
    return s && *s && strcmp(s, "0") != 0;
}

#endif

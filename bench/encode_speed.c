/* bench/encode_speed.c — seconds to encode 1 GiB of fp32 weights with each encoding, one
 * thread (docs/compression.md). The GiB is 16 passes over one 64 MiB tensor (4096 x 4096 of
 * N(0, 0.02) weights, the shape of a large Gemm), so the input is not all resident in cache.
 * Two reference rows give memory speed on the same buffers: a read pass (sum of the floats)
 * and a memcpy of the 64 MiB into a fresh 64 MiB buffer. The fp16 row is the bundle writer's
 * conversion (af_f32_to_f16_n into a 32 MiB buffer). The ISA line says which path ran
 * (AF_PORTABLE=1 in the environment forces the portable one).
 *
 *   build/bin/af_encode_speed [MiB]     (default 1024)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress/encodings.h"
#include "compress/simd.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: robust to a shared machine */
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double per_gib(double t0, int passes) { return (now_s() - t0) * 16.0 / passes; }

static void row(const char *name, double secs) { printf("%-16s %10.3f %10.2f\n", name, secs, 1.0 / secs); }

/* The memory-speed reference rows: a read pass and a memcpy over the same 64 MiB. */
static void reference_rows(const float *x, size_t n, int passes)
{
    float *y = malloc(n * sizeof *y);
    if (!y) return;
    memset(y, 0, n * sizeof *y);
    volatile float sink = 0;
    double t0 = now_s();
    for (int r = 0; r < passes; r++) {
        float acc[8] = {0};
        for (size_t i = 0; i < n; i += 8)
            for (int k = 0; k < 8; k++) acc[k] += x[i + k];
        sink += acc[0] + acc[7];
    }
    row("read (ref)", per_gib(t0, passes));
    t0 = now_s();
    for (int r = 0; r < passes; r++) memcpy(y, x, n * sizeof *x), sink += y[r];
    row("memcpy (ref)", per_gib(t0, passes));
    (void)sink;
    free(y);
}

int main(int argc, char **argv)
{
    double total_mib = argc > 1 ? atof(argv[1]) : 1024;
    int64_t dims[2] = {4096, 4096};
    size_t n = 4096u * 4096u;
    float *x = malloc(n * sizeof *x);
    uint16_t *h = malloc(n * sizeof *h);
    if (!x || !h) return 1;
    const char *portable = getenv("AF_PORTABLE");
    af_csimd_force_portable = portable && *portable == '1';
    uint64_t s = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u1 = ((s >> 11) + 1.0) / 9007199254740992.0;
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        double u2 = (s >> 11) / 9007199254740992.0;
        x[i] = (float)(0.02 * sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
    }
    memset(h, 0, n * sizeof *h);
    int passes = (int)ceil(total_mib / 64.0);
    printf("encoding %d x 64 MiB of fp32 weights, one thread, %s\n", passes, af_csimd_isa());
    printf("%-16s %10s %10s\n", "encoding", "s/GiB", "GiB/s");
    reference_rows(x, n, passes);
    for (int k = 0; k < AF_CK_COUNT; k++) {
        af_cparams p = {0};
        double t0 = now_s();
        for (int r = 0; r < passes; r++) {
            if (k == AF_CK_FP16) { /* what the bundle writer does for fp16 */
                af_f32_to_f16_n(x, h, n);
                continue;
            }
            af_cblob b = {0};
            af_err err = {0};
            if (af_ctraits_table[k].encode(x, 2, dims, &p, &b, &err) != AF_OK) {
                fprintf(stderr, "%s: %s\n", af_ctraits_table[k].name, err.msg);
                return 1;
            }
            free(b.data);
        }
        row(af_ctraits_table[k].name, per_gib(t0, passes));
    }
    af_cparams sp = {.sparsity = 0.5};
    double t0 = now_s();
    for (int r = 0; r < passes; r++) {
        af_cblob b = {0};
        af_err err = {0};
        if (af_enc_sparse(x, 2, dims, &sp, &b, &err) != AF_OK) return 1;
        free(b.data);
    }
    row("sparse 0.5", per_gib(t0, passes));
    free(x);
    free(h);
    return 0;
}

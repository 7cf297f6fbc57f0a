/* tests/unit/test_wino_pack.c — Winograd's weight transform (afk_wino_pack, wino_weights.c):
 * its vector path (16 weights per zmm) gives the same floats, bit for bit, as the plain
 * per-weight loop below (G g G^T in f32, the same operations in the same order: adds and
 * multiplies by the rounded constants 1/4, 1/6, 1/12, 1/24, 1/2), on panel edges (M not a
 * multiple of the kernel's MR or of 8) and k-block edges (C past 256), for F(4x4) and F(2x2),
 * on each packed GEMM kernel the CPU has (their panels differ).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/kernels/internal.h"

/* o (6) = G v (3) for F(4x4) */
static void g6(const float v[3], float *o, int os)
{
    const float r6 = 1.0f / 6, r12 = 1.0f / 12, r24 = 1.0f / 24;
    o[0] = v[0] * 0.25f;
    o[os] = (v[0] + v[1] + v[2]) * -r6;
    o[2 * os] = (v[0] - v[1] + v[2]) * -r6;
    o[3 * os] = v[0] * r24 + v[1] * r12 + v[2] * r6;
    o[4 * os] = v[0] * r24 - v[1] * r12 + v[2] * r6;
    o[5 * os] = v[2];
}

/* o (4) = G v (3) for F(2x2) */
static void g4(const float v[3], float *o, int os)
{
    o[0] = v[0];
    o[os] = (v[0] + v[1] + v[2]) * 0.5f;
    o[2 * os] = (v[0] - v[1] + v[2]) * 0.5f;
    o[3 * os] = v[2];
}

// W (M,C,3,3) -> dst[k*M*C + packed index of (m, c)], one weight at a time
static void ref_pack(const afk_wino *w, const float *weights, float *dst)
{
    const int a = w->m + 2;
    void (*gt)(const float *, float *, int) = w->m == 4 ? g6 : g4;
    for (int64_t m = 0; m < w->M; m++)
        for (int64_t c = 0; c < w->C; c++) {
            const float *g = weights + (m * w->C + c) * 9;
            float t[6][3], u[6][6];
            for (int j = 0; j < 3; j++) {
                float col[3] = {g[j], g[3 + j], g[6 + j]};
                gt(col, &t[0][j], 3);
            }
            for (int i = 0; i < a; i++) gt(t[i], u[i], 1);
            size_t at = afk_pgemm_a_index(w->M, w->C, m, c);
            for (int k = 0; k < a * a; k++)
                dst[(size_t)k * (size_t)(w->M * w->C) + at] = u[k / a][k % a];
        }
}

int main(void)
{
    static const int64_t Ms[] = {1, 3, 5, 6, 13, 14, 29}, Cs[] = {1, 3, 257, 300};
    srand(7);
    for (int path = 2; path >= 1; path--) {
        afk_pgemm_force = path;
#if defined(__aarch64__)
        if (path == 1 || afk_pgemm_nr() != 8) continue; /* NEON: one kernel */
#else
        if (afk_pgemm_nr() != (path == 2 ? 32 : 16)) continue;
#endif
        for (int f = 0; f < 2; f++)
            for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
                for (size_t ci = 0; ci < sizeof Cs / sizeof Cs[0]; ci++) {
                    afk_wino w = {.M = Ms[mi], .C = Cs[ci], .m = f ? 2 : 4};
                    size_t n = (size_t)(w.M * w.C * 9);
                    size_t nu = (size_t)((w.m + 2) * (w.m + 2) * w.M * w.C);
                    float *W = malloc(n * 4), *a = malloc(nu * 4), *b = malloc(nu * 4);
                    for (size_t i = 0; i < n; i++)
                        W[i] = (float)(rand() - RAND_MAX / 2) / (float)(rand() + 1) * 0.37f;
                    memset(a, 0xff, nu * 4), memset(b, 0xee, nu * 4);
                    ref_pack(&w, W, a);
                    afk_wino_pack(&w, W, b);
                    CHECK(!memcmp(a, b, nu * 4), "F(%dx%d) M%lld C%lld (%s): transformed "
                          "weights differ from the per-weight loop", w.m, w.m, (long long)w.M,
                          (long long)w.C, afk_pgemm_isa());
                    free(W), free(a), free(b);
                }
    }
    afk_pgemm_force = -1;
    return check_report("wino_pack");
}

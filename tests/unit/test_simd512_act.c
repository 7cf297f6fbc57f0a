/* The AVX-512 sigmoid / SiLU of the fused conv epilogue (runtime/kernels/simd512.h: expneg16,
 * sigmoid16, epi_full512) against a double-precision reference, on every float of a dense sweep
 * over [-110, 95] (both tails, the denormal range of e^-|v| at v < -87.3, 0 and -0) plus ±inf
 * and NaN. Skipped (passes with no checks) when the CPU has no AVX-512F.
 *
 * Bound: |got - ref| <= 1e-6 * |ref| + 1e-37. Error budget of the vector path: the degree-5
 * polynomial for e^r (7.5e-8 relative fitted, 2.1e-7 measured with float Horner steps), the
 * exact n ln2 split (n <= 150, 8-bit high part), 1 + e (one rounding, 6e-8), rcp14 + one Newton
 * step (~2^-27), the masked multiply and SiLU's v * s (two roundings): ~5e-7 in all, so 1e-6 is
 * about twice the worst case (measured on this sweep: 3.3e-7 for both; the previous degree-7
 * Taylor version: 2.2e-7). Results below FLT_MIN (the far-left tail) keep only an absolute
 * bound: scalef rounds them once to a multiple of 2^-149, far below the 1e-37 term.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "runtime/kernels/simd512.h"

#if defined(__x86_64__) || defined(__i386__)
/* y[i] = act(x[i]) for n floats (n a multiple of 16) through epi_full512, as the conv epilogues call it */
AFK_TGT512 static void run_act(const float *x, float *y, int n, int act)
{
    const pg_epi e = {.bias = NULL, .act = act};
    for (int i = 0; i < n; i += 16) _mm512_storeu_ps(y + i, epi_full512(_mm512_loadu_ps(x + i), &e, 0));
}

static double ref_sigmoid(double v)
{
    return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
}

enum { N = 1 << 18 };
static float xs[N], ys[N];

static void check_act(int act, const char *name)
{
    int bad = 0, first = -1;
    run_act(xs, ys, N, act);
    for (int i = 0; i < N - 16; i++) {
        double s = ref_sigmoid(xs[i]), r = act == AFK_ACT_SILU ? xs[i] * s : s;
        int ok = fabs((double)ys[i] - r) <= 1e-6 * fabs(r) + 1e-37;
        if (!ok && first < 0) first = i;
        bad += !ok;
    }
    CHECK(bad == 0, "%s: %d of %d outside 1e-6 relative (first x=%.9g got %.9g)", name, bad, N,
          first >= 0 ? xs[first] : 0.0f, first >= 0 ? ys[first] : 0.0f);
    /* the specials, at the end of the buffer */
    int k = N - 16;
    CHECK(ys[k] == (act == AFK_ACT_SILU ? INFINITY : 1.0f), "%s(+inf) = %g", name, ys[k]);
    CHECK(act == AFK_ACT_SILU ? isnan(ys[k + 1]) : ys[k + 1] == 0.0f, "%s(-inf) = %g", name,
          ys[k + 1]);
    CHECK(isnan(ys[k + 2]), "%s(NaN) = %g", name, ys[k + 2]);
    CHECK(ys[k + 3] == (act == AFK_ACT_SILU ? 0.0f : 0.5f), "%s(0) = %g", name, ys[k + 3]);
}

/* GELU (erf form) through epi_full512: the erf approximation's 5e-7 absolute (test_kernels_fast2
 * measures 4.1e-7 for vec.c's 8-lane version of the same formula) times |v|/2, plus an ulp
 * of the result for the final products. */
static void check_gelu(void)
{
    int bad = 0, first = -1;
    run_act(xs, ys, N, AFK_ACT_GELU);
    for (int i = 0; i < N - 16; i++) {
        double v = xs[i], r = 0.5 * v * (1.0 + erf(v * 0.70710678118654752));
        int ok = fabs((double)ys[i] - r) <= 5e-7 * (1 + fabs(v)) / 2 + 1.2e-7 * fabs(r) + 1e-37;
        if (!ok && first < 0) first = i;
        bad += !ok;
    }
    CHECK(bad == 0, "gelu: %d of %d outside the bound (first x=%.9g got %.9g)", bad, N,
          first >= 0 ? xs[first] : 0.0f, first >= 0 ? ys[first] : 0.0f);
    int k = N - 16;
    CHECK(ys[k] == INFINITY && isnan(ys[k + 2]) && ys[k + 3] == 0.0f,
          "gelu(+inf, NaN, 0) = %g %g %g", ys[k], ys[k + 2], ys[k + 3]);
}
#endif

int main(void)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_cpu_supports("avx512f")) {
        for (int i = 0; i < N - 16; i++) xs[i] = -110.0f + 205.0f * (float)i / (float)(N - 17);
        xs[N / 2] = -0.0f;
        for (int i = N - 16; i < N; i++) xs[i] = 0.0f;
        xs[N - 16] = INFINITY, xs[N - 15] = -INFINITY, xs[N - 14] = NAN, xs[N - 13] = 0.0f;
        check_act(AFK_ACT_SIGMOID, "sigmoid");
        check_act(AFK_ACT_SILU, "silu");
        check_gelu();
    }
#endif
    return check_report("simd512_act");
}

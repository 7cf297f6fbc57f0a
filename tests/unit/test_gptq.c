/* tests/unit/test_gptq.c — data-aware codes (compress/gptq.h, compress/wstats.h): the inverse
 * factor, and GPTQ lowering a layer's output error on correlated inputs for every grid
 * encoding, with the blob's parameters kept. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/gptq.h"
#include "../../runtime/wdecode.h"
#include "check.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float nrand(void) { return (float)(sqrt(-2.0 * log(urand() + 1e-300)) * cos(6.2831853 * urand())); }

/* H = A A^T / n + I (well conditioned): U^T U H must be I, U upper. */
static void test_factor(int64_t n)
{
    float *a = malloc(sizeof(float) * (size_t)(n * n)), *h = calloc((size_t)(n * n), sizeof(float));
    float *u = malloc(sizeof(float) * (size_t)(n * n));
    for (int64_t i = 0; i < n * n; i++) a[i] = nrand();
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = i == j ? 1.0 : 0.0;
            for (int64_t k = 0; k < n; k++) acc += (double)a[i * n + k] * a[j * n + k] / (double)n;
            h[i * n + j] = (float)acc;
        }
    CHECK(af_gptq_inverse_factor(h, n, u) == 1, "n=%lld: factor failed", (long long)n);
    /* the damping adds 1% of the mean diagonal: compare with H + damp I */
    double mean = 0;
    for (int64_t j = 0; j < n; j++) mean += h[j * n + j];
    mean /= (double)n;
    for (int64_t j = 0; j < n; j++) h[j * n + j] += (float)(AF_GPTQ_DAMP * mean);
    double worst = 0, below = 0, *m = calloc((size_t)(n * n), sizeof(double));
    for (int64_t l = 0; l < n; l++) /* m = U H */
        for (int64_t k = l; k < n; k++)
            for (int64_t j = 0; j < n; j++) m[l * n + j] += (double)u[l * n + k] * h[k * n + j];
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            if (j < i) below = fmax(below, fabs(u[i * n + j]));
            double acc = 0; /* (U^T m)[i][j] */
            for (int64_t l = 0; l <= i; l++) acc += (double)u[l * n + i] * m[l * n + j];
            worst = fmax(worst, fabs(acc - (i == j)));
        }
    free(m);
    /* float factorisation of a matrix with condition number < ~10 (eigenvalues of A A^T/n + I
     * lie in [1, ~5]): 1e-3 is ~100x the float rounding of n-term sums at n = 300 */
    CHECK(worst < 1e-3, "n=%lld: |U^T U H - I| = %g", (long long)n, worst);
    CHECK(below == 0, "n=%lld: U has %g below the diagonal", (long long)n, below);
    free(a), free(h), free(u);
}

/* Output error sum over samples of ||(W - Q) x||^2 = tr((W-Q) H (W-Q)^T). */
static double out_err(const float *w, const float *q, int64_t out, int64_t n, const float *h, int in_rows)
{
    double tot = 0;
    for (int64_t o = 0; o < out; o++)
        for (int64_t i = 0; i < n; i++) {
            double di = in_rows ? w[i * out + o] - q[i * out + o] : w[o * n + i] - q[o * n + i];
            for (int64_t j = 0; j < n; j++) {
                double dj = in_rows ? w[j * out + o] - q[j * out + o] : w[o * n + j] - q[o * n + j];
                tot += di * h[i * n + j] * dj;
            }
        }
    return tot;
}

/* Inputs x = A z with a few loud, correlated channels; H = sum x x^T over 4n samples. */
static void make_stats(int64_t n, af_wstats *s, int in_rows)
{
    memset(s, 0, sizeof *s);
    s->valid = s->full = 1, s->in_rows = in_rows, s->n = n, s->n_h = 1;
    s->h = calloc((size_t)(n * n), sizeof(float));
    float *a = malloc(sizeof(float) * (size_t)(n * n)), *x = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n * n; i++) a[i] = nrand() * (i % n < 4 ? 3.0f : 0.3f);
    for (int64_t smp = 0; smp < 4 * n; smp++) {
        float z[512];
        for (int64_t k = 0; k < n; k++) z[k] = nrand();
        for (int64_t i = 0; i < n; i++) {
            double acc = 0;
            for (int64_t k = 0; k < n; k++) acc += a[i * n + k] * z[k];
            x[i] = (float)acc * (i % 7 == 0 ? 4.0f : 1.0f);
        }
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) s->h[i * n + j] += x[i] * x[j];
        s->samples += 1;
    }
    free(a), free(x);
}

static void test_recode(af_ckind k, int in_rows)
{
    const int64_t out = 24, n = 80;
    int64_t dims[2] = {in_rows ? n : out, in_rows ? out : n};
    float *w = malloc(sizeof(float) * (size_t)(out * n)), *q0 = malloc(sizeof(float) * (size_t)(out * n));
    float *q1 = malloc(sizeof(float) * (size_t)(out * n));
    for (int64_t i = 0; i < out * n; i++) w[i] = nrand() * 0.05f;
    af_wstats s, s2;
    make_stats(n, &s, in_rows);
    float *h = malloc(sizeof(float) * (size_t)(n * n)); /* recode replaces s.h by its factors */
    memcpy(h, s.h, sizeof(float) * (size_t)(n * n));
    s2 = s;
    s2.h = malloc(sizeof(float) * (size_t)(n * n));
    memcpy(s2.h, h, sizeof(float) * (size_t)(n * n));
    af_cparams p;
    memset(&p, 0, sizeof p);
    af_err err = {0};
    af_cblob b0 = {0}, b1 = {0};
    CHECK(af_ctraits_table[k].encode(w, 2, dims, &p, &b0, &err) == AF_OK, "%s", err.msg);
    CHECK(af_ctraits_table[k].encode(w, 2, dims, &p, &b1, &err) == AF_OK, "%s", err.msg);
    CHECK(af_gptq_recode(k, w, 2, dims, &s, &b1, &err) == AF_OK, "%s", err.msg);
    CHECK(af_cenc_decode(k, w, &b0, 2, dims, q0, &err) == AF_OK, "%s", err.msg);
    CHECK(af_cenc_decode(k, w, &b1, 2, dims, q1, &err) == AF_OK, "%s", err.msg);
    CHECK(s.factored == 1, "H was not factored");
    double e0 = out_err(w, q0, out, n, h, in_rows), e1 = out_err(w, q1, out, n, h, in_rows);
    /* GPTQ minimises the output error greedily; on inputs this correlated it cuts it by far
     * more than the 25% asked here (measured: 11-17x less for each encoding and axis) */
    printf("%-10s in_rows=%d: output error %.4g -> %.4g with GPTQ\n", af_ctraits_table[k].name,
           in_rows, e0, e1);
    CHECK(e1 < 0.75 * e0, "%s in_rows=%d: output error %g -> %g", af_ctraits_table[k].name,
          in_rows, e0, e1);
    /* the parameters (everything before the codes) are kept */
    af_wblob_head hd;
    af_wblob_layout l;
    af_wblob_get_head(b0.data, &hd);
    CHECK(!af_wblob_layout_of(&hd, 2, dims, &l), "layout");
    CHECK(b0.bytes == b1.bytes && !memcmp(b0.data, b1.data, (size_t)l.data_off),
          "%s: parameters changed", af_ctraits_table[k].name);
    /* deterministic */
    af_cblob b2 = {0};
    af_ctraits_table[k].encode(w, 2, dims, &p, &b2, &err);
    af_gptq_recode(k, w, 2, dims, &s2, &b2, &err);
    CHECK(b2.bytes == b1.bytes && !memcmp(b1.data, b2.data, (size_t)b1.bytes), "not deterministic");
    af_cblob_drop(&b0), af_cblob_drop(&b1), af_cblob_drop(&b2);
    af_wstats_free(&s), af_wstats_free(&s2);
    free(w), free(q0), free(q1), free(h);
}

int main(void)
{
    test_factor(1);
    test_factor(64);
    test_factor(65);
    test_factor(300);
    for (int in_rows = 0; in_rows <= 1; in_rows++) {
        test_recode(AF_CK_INT8, in_rows);
        test_recode(AF_CK_INT4, in_rows);
        test_recode(AF_CK_BW4, in_rows);
        test_recode(AF_CK_BW8, in_rows);
        test_recode(AF_CK_PAL4, in_rows); /* palettes: row scales, codes straddling bytes */
        test_recode(AF_CK_PAL3, in_rows);
        test_recode(AF_CK_PAL6, in_rows);
    }
    return check_report("test_gptq");
}

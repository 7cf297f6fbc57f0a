/* Unit tests of compress/ (encoders, k-means) and runtime/wdecode.c (decoders): round trips with
 * named error bounds, k-means optimality against brute force, determinism, corrupt blobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/encodings.h"
#include "../../compress/kmeans1d.h"
#include "../../runtime/wdecode.h"
#include "check.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float nrand(void) { return (float)(sqrt(-2 * log(urand() + 1e-300)) * cos(6.2831853 * urand())); }

static float *weights(int64_t n, float scale)
{
    float *x = malloc((size_t)n * sizeof *x);
    for (int64_t i = 0; i < n; i++) x[i] = scale * nrand();
    return x;
}

static float f16r(float v) { return af_f16_to_f32(af_f32_to_f16(v)); }

/* Encodes with k, decodes with the runtime's decoder; returns the decoded copy. */
static float *round_trip(af_ckind k, const float *x, int rank, const int64_t *dims,
                         const af_cparams *p, af_cblob *b)
{
    af_err err = {0};
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    float *d = malloc((size_t)n * sizeof *d);
    CHECK(af_ctraits_table[k].encode(x, rank, dims, p, b, &err) == AF_OK, "%s encode: %s",
          af_ctraits_table[k].name, err.msg);
    CHECK(b->bytes == af_ctraits_table[k].stored_size(x, rank, dims, p), "%s: stored size %llu",
          af_ctraits_table[k].name, (unsigned long long)b->bytes);
    CHECK(af_cenc_decode(k, x, b, rank, dims, d, &err) == AF_OK, "%s decode: %s",
          af_ctraits_table[k].name, err.msg);
    return d;
}

/* INT8 bound: |x - x'| <= s/2 (rounding to the nearest code) + s/2 * 2^-9 (the float
 * division and the fp16-rounded scale make codes land within a hair of the midpoint). */
static void test_int8(int per_tensor, int asym)
{
    int64_t dims[4] = {24, 16, 3, 3};
    int64_t n = 24 * 144, cols = 144;
    float *x = weights(n, 0.05f);
    for (int64_t i = 0; i < cols; i++) x[5 * cols + i] *= 20; /* one loud channel */
    af_cparams p = {.int8_per_tensor = per_tensor, .int8_asymmetric = asym};
    af_cblob b = {0};
    float *d = round_trip(AF_CK_INT8, x, 4, dims, &p, &b);
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(b.data, &h);
    CHECK(af_wblob_layout_of(&h, 4, dims, &l) == NULL, "int8 layout");
    int bad = 0;
    for (int64_t r = 0; r < 24; r++) {
        float s = af_f16_to_f32(af_wblob_rd16(b.data + l.params_off + 2 * (per_tensor ? 0 : r)));
        for (int64_t c = 0; c < cols; c++) {
            float e = fabsf(x[r * cols + c] - d[r * cols + c]);
            if (e > 0.5f * s * (1 + 1.0f / 512)) bad++;
        }
    }
    CHECK(bad == 0, "int8 (per_tensor %d, asym %d): %d elements beyond s/2", per_tensor, asym, bad);
    if (!per_tensor) { /* per channel: a quiet channel keeps its own fine step */
        double q = 0;
        for (int64_t c = 0; c < cols; c++) q = fmax(q, fabs(x[c] - d[c]));
        CHECK(q < 0.05 * 4.5 / 127, "int8 per channel: quiet row error %g", q);
    }
    free(x), free(d), free(b.data);
}

/* INT4: every element decodes to the table entry nearest to its fp16 value (exact check);
 * a group with <= 16 distinct values is lossless. */
static void test_int4(void)
{
    int64_t dims[2] = {64, 300};
    int64_t n = 64 * 300;
    float *x = weights(n, 0.1f);
    af_cparams p = {0};
    af_cblob b = {0};
    float *d = round_trip(AF_CK_INT4, x, 2, dims, &p, &b);
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(b.data, &h);
    af_wblob_layout_of(&h, 2, dims, &l);
    CHECK(h.a == 4 && h.b == 16, "int4 default groups: %u groups of %u rows", h.a, h.b);
    int bad = 0;
    for (int64_t e = 0; e < n; e++) {
        int64_t g = e / 300 / 16;
        float v = f16r(x[e]), best = INFINITY;
        for (int k = 0; k < 16; k++)
            best = fminf(best, fabsf(v - af_f16_to_f32(af_wblob_rd16(b.data + l.params_off + 32 * g + 2 * k))));
        if (fabsf(v - d[e]) > best) bad++;
    }
    CHECK(bad == 0, "int4: %d elements not at their nearest table entry", bad);
    free(d), free(b.data);
    /* per tensor with 12 distinct values: exact */
    for (int64_t e = 0; e < n; e++) x[e] = (float)(e % 12) * 0.25f - 1.0f;
    p.group_size = -1;
    d = round_trip(AF_CK_INT4, x, 2, dims, &p, &b);
    af_wblob_get_head(b.data, &h);
    CHECK(h.a == 1 && h.b == 64, "int4 per tensor: %u tables", h.a);
    CHECK(!memcmp(x, d, (size_t)n * sizeof *x), "int4 with 12 distinct values is lossless");
    free(x), free(d), free(b.data);
}

/* Brute force: every split of n sorted points into k contiguous non-empty segments. */
static double brute(const double *x, const double *w, int n, int k, int start)
{
    if (k == 1) {
        double W = 0, S = 0, c = 0;
        for (int i = start; i < n; i++) W += w[i], S += w[i] * x[i];
        for (int i = start; i < n; i++) c += w[i] * (x[i] - S / W) * (x[i] - S / W);
        return c;
    }
    double best = INFINITY;
    for (int end = start + 1; end <= n - (k - 1); end++) {
        double W = 0, S = 0, c = 0;
        for (int i = start; i < end; i++) W += w[i], S += w[i] * x[i];
        for (int i = start; i < end; i++) c += w[i] * (x[i] - S / W) * (x[i] - S / W);
        best = fmin(best, c + brute(x, w, n, k - 1, end));
    }
    return best;
}

static void test_kmeans(void)
{
    for (int trial = 0; trial < 40; trial++) {
        int n = 5 + trial % 9, k = 2 + trial % 4;
        double x[16], w[16];
        for (int i = 0; i < n; i++) x[i] = (i ? x[i - 1] : 0) + 0.01 + urand() * (trial % 3 ? 1 : 0.1);
        for (int i = 0; i < n; i++) w[i] = 1 + (double)(int)(urand() * 5);
        af_kmeans_result r;
        af_kmeans1d_exact(x, w, n, k, &r);
        double b = brute(x, w, n, k, 0);
        /* bound: the DP and brute force sum the same terms in another order: 1e-9 relative */
        CHECK(fabs(r.cost - b) <= 1e-9 * fmax(1, b), "k-means DP %g vs brute force %g (n %d k %d)",
              r.cost, b, n, k);
        CHECK(fabs(af_kmeans1d_cost(x, w, n, r.centroid, k) - r.cost) <= 1e-9 * fmax(1, b),
              "k-means: centroids reproduce the cost");
    }
    /* Lloyd (many distinct values): a fixed point, never better than the optimum, and close */
    int n = 3000;
    double *x = malloc(n * sizeof *x), *w = malloc(n * sizeof *w);
    for (int i = 0; i < n; i++) x[i] = i ? x[i - 1] + urand() * urand() : 0, w[i] = 1 + (i % 7);
    af_kmeans_result l, e;
    af_kmeans1d(x, w, n, 16, &l);
    af_kmeans1d_exact(x, w, n, 16, &e);
    CHECK(!l.exact && l.converged, "Lloyd converged in %d iterations", l.iters);
    CHECK(l.cost >= e.cost * (1 - 1e-9), "Lloyd %g below the optimum %g?", l.cost, e.cost);
    /* bound: 1-D Lloyd from quantiles lands near the optimum on smooth data; 10% is generous */
    CHECK(l.cost <= e.cost * 1.10, "Lloyd %g vs optimum %g", l.cost, e.cost);
    free(x), free(w);
    /* histogram: sorted, counts add up, -0 and +0 merged */
    uint16_t codes[6] = {0x3c00, 0x8000, 0x0000, 0xbc00, 0x3c00, 0x4000};
    af_hist h = {0};
    af_kmeans1d_hist(&h, codes, 6);
    CHECK(h.n == 4 && h.value[0] == -1 && h.value[1] == 0 && h.count[1] == 2 && h.count[2] == 2,
          "histogram of fp16 codes");
    af_hist_free(&h);
}

/* Sparse: exact for the fp16 values; pruning zeroes floor(S n) of the smallest magnitudes. */
static void test_sparse(void)
{
    int64_t dims[2] = {50, 101};
    int64_t n = 5050;
    float *x = weights(n, 1.0f);
    for (int64_t i = 0; i < n; i += 3) x[i] = 0;
    af_cparams p = {0};
    af_cblob b = {0};
    float *d = round_trip(AF_CK_SPARSE, x, 2, dims, &p, &b);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) bad += d[i] != f16r(x[i]);
    CHECK(bad == 0, "sparse: %d elements differ from their fp16 value", bad);
    free(d), free(b.data);
    p.sparsity = 0.75;
    d = round_trip(AF_CK_SPARSE, x, 2, dims, &p, &b);
    int64_t zeros = 0;
    float kept_min = INFINITY, dropped_max = 0;
    for (int64_t i = 0; i < n; i++) {
        if (d[i] == 0) zeros++, dropped_max = fmaxf(dropped_max, fabsf(x[i]));
        else kept_min = fminf(kept_min, fabsf(x[i]));
    }
    CHECK(zeros == (int64_t)floor(0.75 * n), "pruned %lld zeros", (long long)zeros);
    CHECK(dropped_max <= kept_min, "pruning keeps the largest magnitudes");
    free(x), free(d), free(b.data);
}

/* Blockwise bound per block: s/2 (nearest code) + |o - min| (fp16 offset) + levels * s * 2^-10
 * (the fp16 scale may round down so the top code clamps). */
static void test_blockwise(int bits, int bs)
{
    int64_t dims[2] = {8, 200}; /* 200 is not a multiple of the block: a partial last block */
    int64_t n = 1600;
    float *x = weights(n, 0.2f);
    af_cparams p = {.block_size = bs};
    af_cblob b = {0};
    float *d = round_trip(bits == 8 ? AF_CK_BW8 : AF_CK_BW4, x, 2, dims, &p, &b);
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(b.data, &h);
    af_wblob_layout_of(&h, 2, dims, &l);
    double levels = bits == 8 ? 255 : 15;
    int bad = 0;
    for (int64_t r = 0; r < 8; r++)
        for (uint32_t k = 0; k < h.c; k++) {
            const uint8_t *so = b.data + l.params_off + 4 * (r * h.c + k);
            float s = af_f16_to_f32(af_wblob_rd16(so)), o = af_f16_to_f32(af_wblob_rd16(so + 2));
            float lo = INFINITY;
            for (int64_t c = k * bs; c < (k + 1) * bs && c < 200; c++) lo = fminf(lo, x[r * 200 + c]);
            for (int64_t c = k * bs; c < (k + 1) * bs && c < 200; c++) {
                double e = fabs(x[r * 200 + c] - d[r * 200 + c]);
                if (e > 0.5 * s + fabs(o - lo) + levels * s / 1024 + 1e-7) bad++;
            }
        }
    CHECK(bad == 0, "blockwise int%d block %d: %d elements beyond the bound", bits, bs, bad);
    free(x), free(d), free(b.data);
}

static void test_determinism(void)
{
    int64_t dims[2] = {40, 700};
    float *x = weights(28000, 0.3f);
    for (int k = AF_CK_INT8; k < AF_CK_COUNT; k++) {
        af_cparams p = {.sparsity = k == AF_CK_SPARSE ? 0.5 : 0};
        af_cblob a = {0}, b = {0};
        af_err err = {0};
        af_ctraits_table[k].encode(x, 2, dims, &p, &a, &err);
        af_ctraits_table[k].encode(x, 2, dims, &p, &b, &err);
        CHECK(a.bytes == b.bytes && !memcmp(a.data, b.data, a.bytes), "%s: deterministic",
              af_ctraits_table[k].name);
        free(a.data), free(b.data);
    }
    free(x);
}

/* Decoders refuse corrupt blobs (AF_ERR_FORMAT), and survive any single-byte corruption. */
static void test_corrupt(void)
{
    int64_t dims[2] = {32, 96};
    float *x = weights(3072, 0.3f), *d = malloc(3072 * sizeof *d);
    for (int64_t i = 0; i < 3072; i += 2) x[i] = 0;
    for (int k = AF_CK_INT8; k < AF_CK_COUNT; k++) {
        af_cparams p = {0};
        af_cblob b = {0};
        af_err err = {0};
        afb_encoding enc = (afb_encoding)af_ctraits_table[k].encoding;
        af_ctraits_table[k].encode(x, 2, dims, &p, &b, &err);
        const char *nm = af_ctraits_table[k].name;
        CHECK(af_wdecode(enc, b.data, b.bytes - 1, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
              "%s: truncated blob refused", nm);
        int64_t other[2] = {33, 96};
        CHECK(af_wdecode(enc, b.data, b.bytes, 2, other, d, "w", &err) == AF_ERR_FORMAT,
              "%s: blob for another shape refused (%s)", nm, err.msg);
        CHECK(af_wdecode(enc == AFB_ENC_INT8 ? AFB_ENC_SPARSE : AFB_ENC_INT8, b.data, b.bytes, 2,
                         dims, d, "w", &err) == AF_ERR_FORMAT, "%s: encoding mismatch refused", nm);
        for (uint64_t i = 0; i < b.bytes; i += (i < 32 ? 1 : 37)) { /* must not crash */
            uint8_t save = b.data[i];
            b.data[i] ^= (uint8_t)(0x5a + i);
            af_status st = af_wdecode(enc, b.data, b.bytes, 2, dims, d, "w", &err);
            CHECK(st == AF_OK || st == AF_ERR_FORMAT, "%s: corrupt byte %llu: status %d", nm,
                  (unsigned long long)i, st);
            b.data[i] = save;
        }
        if (enc == AFB_ENC_SPARSE) {
            b.data[16] ^= 1; /* one mask bit: the non-zero count no longer matches */
            CHECK(af_wdecode(enc, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
                  "sparse: mask/count mismatch refused");
        }
        free(b.data);
    }
    free(x), free(d);
}

int main(void)
{
    test_int8(0, 0);
    test_int8(1, 0);
    test_int8(0, 1);
    test_int8(1, 1);
    test_int4();
    test_kmeans();
    test_sparse();
    test_blockwise(4, 32);
    test_blockwise(8, 32);
    test_blockwise(4, 8);
    test_blockwise(8, 64);
    test_determinism();
    test_corrupt();
    return check_report("compress");
}

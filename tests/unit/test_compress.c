/* Unit tests of compress/ (encoders, k-means) and runtime/wdecode.c (decoders): round trips with
 * named error bounds, k-means optimality against brute force, determinism, corrupt blobs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/encodings.h"
#include "../../compress/kmeans1d.h"
#include "../../compress/simd.h"
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


/* ---- fast paths (compress/simd.c) against the scalar reference -------------------------- */

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}
static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Floats that stress fp16 rounding: for every pair of adjacent halves (normal and subnormal,
 * both signs) their exact midpoint (a tie) and its float neighbours; the overflow boundary;
 * ±0, ±Inf, quiet and signalling NaNs with payloads, float subnormals; a strided sweep of all
 * 2^32 bit patterns. */
static float *f16_stress(size_t *n)
{
    size_t cap = 6 * 0x7c00 + 4200 + 64, k = 0;
    float *x = malloc(cap * sizeof *x);
    for (uint32_t h = 0; h < 0x7c00; h++) {
        double a = af_f16_to_f32((uint16_t)h), b = h == 0x7bff ? 65536.0 : af_f16_to_f32((uint16_t)(h + 1));
        float m = (float)(0.5 * (a + b)); /* exact: 12 significant bits */
        float t[3] = {m, nextafterf(m, 0), nextafterf(m, INFINITY)};
        for (int j = 0; j < 3; j++) x[k++] = t[j], x[k++] = -t[j];
    }
    const uint32_t special[] = {0, 0x80000000u, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                0xffc00000u, 0x7f800001u, 0x7fa00000u, 0x7fbfffffu, 0x7fc01234u,
                                0xff812345u, 0x00000001u, 0x807fffffu, 0x00400000u, 0x33000000u,
                                0x33000001u, 0xb3000000u, 0x32ffffffu, 0x387fe000u, 0x387ff000u,
                                0x477fe000u, 0x477fefffu, 0x477ff000u, 0xc77ff000u, 0x7f7fffffu};
    for (size_t j = 0; j < sizeof special / sizeof special[0]; j++) x[k++] = bits_f32(special[j]);
    for (uint64_t u = 0; u < (1ull << 32); u += 1021 * 1031) x[k++] = bits_f32((uint32_t)u);
    *n = k;
    return x;
}

static void test_fast_f16(void)
{
    size_t n;
    float *x = f16_stress(&n);
    uint16_t *h = malloc(n * sizeof *h), *k = malloc(n * sizeof *k);
    af_f32_to_f16_n(x, h, n);
    size_t bad = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        uint16_t r = af_f32_to_f16(x[i]);
        if (h[i] != r && bad++ < 5)
            fprintf(stderr, "  %s: f16(0x%08x) = 0x%04x, reference 0x%04x\n", af_csimd_isa(),
                    f32_bits(x[i]), h[i], r);
        if (first == n && (r & 0x7c00u) == 0x7c00u) first = i;
    }
    CHECK(bad == 0, "fp16 conversion (%s): %zu of %zu values differ from af_f32_to_f16",
          af_csimd_isa(), bad, n);
    /* the finite check and the order keys */
    CHECK(af_f32_to_f16_finite(x, h, n) == first, "first non-finite fp16 at %zu", first);
    CHECK(af_f32_to_f16_keys(x, k, n) == first, "keys: first non-finite fp16");
    bad = 0;
    for (size_t i = 0; i < n; i++) bad += k[i] != af_f16_key(af_f32_to_f16(x[i]));
    CHECK(bad == 0, "fp16 order keys: %zu differ", bad);
    for (size_t len = 0; len < 40; len++) { /* a non-finite value at each place of short runs */
        float y[40];
        uint16_t hy[40];
        for (size_t i = 0; i < 40; i++) y[i] = 0.25f * (float)i;
        if (len) y[len - 1] = len % 2 ? INFINITY : 70000.0f; /* 70000 overflows fp16 */
        size_t want = len ? len - 1 : 40;
        CHECK(af_f32_to_f16_finite(y, hy, 40) == want, "non-finite at %zu found", want);
    }
    /* widening: every finite fp16 code */
    uint16_t codes[0x7c00 * 2];
    double wide[0x7c00 * 2];
    for (uint32_t c = 0; c < 0x7c00; c++) codes[2 * c] = (uint16_t)c, codes[2 * c + 1] = (uint16_t)(c | 0x8000);
    af_f16_to_f64_n(codes, wide, 0x7c00 * 2);
    bad = 0;
    for (uint32_t i = 0; i < 0x7c00 * 2; i++) bad += wide[i] != af_f16_to_f32(codes[i]);
    CHECK(bad == 0, "fp16 widening: %zu codes differ", bad);
    free(x), free(h), free(k);
}

static void test_fast_int8(void)
{
    static const double rne[][2] = {{0.5, 0},   {1.5, 2},   {2.5, 2},   {-0.5, 0}, {-1.5, -2},
                                    {-2.5, -2}, {3.49, 3},  {-3.51, -4}, {126.5, 126},
                                    {127.5, 128}, {-127.5, -128}, {0x1p51 + 0.5, 0x1p51}};
    for (size_t i = 0; i < sizeof rne / sizeof rne[0]; i++)
        CHECK(af_round_half_even(rne[i][0]) == rne[i][1], "rne(%g) = %g", rne[i][0],
              af_round_half_even(rne[i][0]));
    /* quantizer: random values and exact ties x = (k + 1/2) s, every remainder length */
    enum { N = 1000 };
    float x[N];
    int8_t q[N];
    int bad = 0;
    for (int trial = 0; trial < 60; trial++) {
        double s = af_f16_to_f32(af_f32_to_f16((float)(0.001 + urand() * (trial % 7 ? 0.01 : 30))));
        int z = trial % 3 ? 0 : (int)(urand() * 255) - 128, qlo = z ? -128 : -127;
        for (int i = 0; i < N; i++)
            x[i] = i % 3 ? (float)((urand() * 300 - 150) * s)
                         : (float)(((int)(urand() * 300) - 150 + 0.5) * s); /* exact ties */
        int n = N - trial % 17;
        af_quant_i8(x, (size_t)n, s, z, qlo, 127, q);
        for (int i = 0; i < n; i++) { /* reference: lrint in the default (nearest-even) mode */
            long v = lrint(x[i] / s) + z;
            bad += q[i] != (int8_t)(v < qlo ? qlo : v > 127 ? 127 : v);
        }
    }
    CHECK(bad == 0, "int8 quantizer (%s): %d codes differ from lrint", af_csimd_isa(), bad);
    /* min/max: zeros of both signs, subnormals, every tail length; NaN/Inf refused */
    for (int n = 0; n < 70; n++) {
        float lo = 0, hi = 0, rl = 0, rh = 0;
        for (int i = 0; i < n; i++) {
            x[i] = i % 5 == 0 ? -0.0f : i % 7 == 0 ? bits_f32(0x80000003u) : (float)(urand() - 0.5);
            if (x[i] < rl) rl = x[i];
            if (x[i] > rh) rh = x[i];
        }
        CHECK(af_minmax_f32(x, (size_t)n, &lo, &hi) && f32_bits(lo) == f32_bits(rl) &&
              f32_bits(hi) == f32_bits(rh), "minmax of %d values", n);
        if (n) {
            x[(n * 7) % n] = n % 2 ? NAN : -INFINITY;
            CHECK(!af_minmax_f32(x, (size_t)n, &lo, &hi), "minmax refuses NaN/Inf (n %d)", n);
        }
    }
}

static void test_fast_int4_assign(void)
{
    enum { N = 300 };
    uint16_t keys[N], t[15];
    uint8_t a[N], b[N];
    int bad = 0;
    for (int trial = 0; trial < 50; trial++) {
        for (int j = 0; j < 15; j++) t[j] = (uint16_t)(urand() * 65536);
        for (int j = 1; j < 15; j++) /* sorted, with duplicates now and then */
            for (int i = j; i > 0 && t[i - 1] > t[i]; i--) {
                uint16_t u = t[i];
                t[i] = t[i - 1], t[i - 1] = u;
            }
        if (trial % 4 == 0) t[7] = t[8];
        for (int i = 0; i < N; i++) keys[i] = i % 4 ? (uint16_t)(urand() * 65536) : t[i % 15];
        uint64_t e0 = (uint64_t)(trial % 3);
        size_t n = (size_t)(N - 2 - trial % 37);
        memset(a, 0, sizeof a), memset(b, 0, sizeof b);
        af_int4_assign(keys, n, t, a, e0);
        for (size_t i = 0; i < n; i++) { /* reference: count the thresholds at or below */
            unsigned v = 0;
            for (int j = 0; j < 15; j++) v += keys[i] >= t[j];
            b[(e0 + i) >> 1] |= (uint8_t)(v << (4 * ((e0 + i) & 1)));
        }
        bad += memcmp(a, b, sizeof a) != 0;
    }
    CHECK(bad == 0, "int4 assignment (%s): %d of 50 trials differ", af_csimd_isa(), bad);
}

/* The old sort-based pruning, as the reference for the histogram select. */
static int cmp_f(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}
static void prune_by_sort(float *x, int64_t n, double s)
{
    int64_t k = (int64_t)floor(s * (double)n);
    if (!k) return;
    float *m = malloc((size_t)n * sizeof *m);
    for (int64_t i = 0; i < n; i++) m[i] = fabsf(x[i]);
    qsort(m, (size_t)n, sizeof *m, cmp_f);
    float thr = m[k - 1];
    int64_t ties = k;
    for (int64_t i = 0; i < n; i++) ties -= fabsf(x[i]) < thr;
    for (int64_t i = 0; i < n; i++) {
        if (fabsf(x[i]) < thr) x[i] = 0;
        else if (fabsf(x[i]) == thr && ties) x[i] = 0, ties--;
    }
    free(m);
}

static void test_fast_prune(void)
{
    int64_t n = 20000;
    float *x = malloc((size_t)n * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    const double fr[] = {0.01, 0.3, 0.5, 0.77, 0.999};
    for (int t = 0; t < 10; t++) {
        for (int64_t i = 0; i < n; i++) /* many exact ties (a coarse grid) and signed zeros */
            x[i] = t % 2 ? (float)((int)(nrand() * 8)) * 0.125f : nrand() * 0.02f;
        if (t % 3 == 0) x[5] = -0.0f, x[77] = 1e-40f;
        memcpy(y, x, (size_t)n * sizeof *x);
        af_err err = {0};
        CHECK(af_prune_magnitude(x, (uint64_t)n, fr[t % 5], &err) == AF_OK, "prune: %s", err.msg);
        prune_by_sort(y, n, fr[t % 5]);
        CHECK(!memcmp(x, y, (size_t)n * sizeof *x), "prune %g (trial %d) differs from sorting",
              fr[t % 5], t);
    }
    free(x), free(y);
}

/* Whole encoders: the same bytes with the vector paths and with the portable ones; weights
 * that are not finite are refused. */
static void test_fast_encoders(void)
{
    int64_t dims[2] = {37, 141}; /* odd columns: int4 groups start mid-byte */
    int64_t n = 37 * 141;
    float *x = weights(n, 0.05f);
    for (int64_t i = 0; i < n; i += 11) x[i] = (float)((int)(x[i] * 400)) / 400; /* ties */
    for (int k = AF_CK_INT8; k < AF_CK_COUNT; k++)
        for (int v = 0; v < 4; v++) {
            af_cparams p = {.int8_asymmetric = v & 1, .int8_per_tensor = v >> 1,
                            .group_size = v == 1 ? -1 : v == 2 ? 3 : 0,
                            .sparsity = v == 1 ? 0.5 : v == 2 ? 0.9 : 0};
            af_cblob a = {0}, b = {0};
            af_err err = {0};
            af_csimd_force_portable = 1;
            af_status sa = af_ctraits_table[k].encode(x, 2, dims, &p, &a, &err);
            af_csimd_force_portable = 0;
            af_status sb = af_ctraits_table[k].encode(x, 2, dims, &p, &b, &err);
            CHECK(sa == AF_OK && sb == AF_OK && a.bytes == b.bytes && !memcmp(a.data, b.data, a.bytes),
                  "%s (variant %d): portable and %s bytes differ", af_ctraits_table[k].name, v,
                  af_csimd_isa());
            free(a.data), free(b.data);
        }
    const af_ckind refuse[] = {AF_CK_INT8, AF_CK_INT4, AF_CK_SPARSE};
    for (int r = 0; r < 3; r++)
        for (int bad = 0; bad < 3; bad++) {
            float keep = x[1000];
            x[1000] = bad == 0 ? NAN : bad == 1 ? -INFINITY : 1e6f; /* 1e6: Inf in fp16 */
            af_cparams p = {0};
            af_cblob b = {0};
            af_err err = {0};
            af_status st = af_ctraits_table[refuse[r]].encode(x, 2, dims, &p, &b, &err);
            int want = bad < 2 || refuse[r] != AF_CK_INT8; /* int8 scales 1e6 fine */
            CHECK(want ? st == AF_ERR_FORMAT && !b.data : st == AF_OK, "%s with %g: status %d",
                  af_ctraits_table[refuse[r]].name, x[1000], st);
            free(b.data);
            x[1000] = keep;
        }
    free(x);
}

static void test_fast_paths(void)
{
    for (int portable = 1; portable >= 0; portable--) { /* portable: the tests' own check */
        af_csimd_force_portable = portable;
        test_fast_f16();
        test_fast_int8();
        test_fast_int4_assign();
    }
    af_csimd_force_portable = 0;
    test_fast_prune();
    test_fast_encoders();
    printf("compress fast paths: %s\n", af_csimd_isa());
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
    test_fast_paths();
    return check_report("compress");
}

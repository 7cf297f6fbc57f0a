/* Unit tests of the palette family (compress/enc_palette.c, runtime/wdecode.c): round trips per
 * bit width, group size and scale choice with the nearest-entry property checked element by
 * element, bit packing edges, exact cases (constant and zero rows, few distinct values), the
 * legacy INT4_LUT layout, hostile headers, importance weighting, determinism. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../compress/encodings.h"
#include "../../compress/kmeans1d.h"
#include "../../runtime/wdecode.h"
#include "check.h"

typedef unsigned long long ull;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double urand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}
static float nrand(void) { return (float)(sqrt(-2 * log(urand() + 1e-300)) * cos(6.2831853 * urand())); }

/* Rows of N(0, 1) times a per-row factor spread over 1/32..1 (what BatchNorm folding does). */
static float *weights(uint64_t rows, uint64_t cols)
{
    float *x = malloc((size_t)(rows * cols) * sizeof *x);
    for (uint64_t r = 0; r < rows; r++) {
        float f = 0.05f * (float)pow(2.0, -5.0 * urand());
        for (uint64_t c = 0; c < cols; c++) x[r * cols + c] = f * nrand();
    }
    return x;
}

static float f16r(float v) { return af_f16_to_f32(af_f32_to_f16(v)); }

typedef struct pal_case {
    af_ckind kind;
    int rank;
    int64_t dims[3];
    int group; /* af_cparams.group_size */
    int scale; /* AF_PSCALE_* */
} pal_case;

static int bits_of(af_ckind k) { return af_ctraits_table[k].palette_bits; }

/* Every element decodes to s * T[j] + o with T[j] a table entry nearest its (normalised, fp16)
 * value; with scales each row's mean error is the rounding of its offset; the header says what
 * the case asked for; the blob has the stored size; padding bits are zero. */
static void check_round_trip(const pal_case *pc, const float *x)
{
    af_cparams p = {.group_size = pc->group, .palette_scale = pc->scale};
    af_cblob b = {0};
    af_err err = {0};
    const char *nm = af_ctraits_table[pc->kind].name;
    uint64_t rows, cols;
    af_cshape(pc->rank, pc->dims, &rows, &cols);
    uint64_t n = rows * cols;
    CHECK(af_ctraits_table[pc->kind].encode(x, pc->rank, pc->dims, &p, &b, &err) == AF_OK,
          "%s encode: %s", nm, err.msg);
    if (!b.data) return;
    CHECK(b.bytes == af_ctraits_table[pc->kind].stored_size(x, pc->rank, pc->dims, &p),
          "%s: stored size", nm);
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(b.data, &h);
    CHECK(af_wblob_layout_of(&h, pc->rank, pc->dims, &l) == NULL && l.total == b.bytes,
          "%s: layout", nm);
    const int bits = bits_of(pc->kind), k = 1 << bits;
    const int scaled = (h.flags & AF_WBLOB_ROW_SCALE) != 0;
    uint64_t g = af_palette_group_rows(&p, rows);
    CHECK(h.bits == bits && h.b == g && h.a == (rows + g - 1) / g, "%s: header %u bits, %u "
          "tables of %u rows", nm, h.bits, h.a, h.b);
    CHECK(h.enc == (af_ctraits_table[pc->kind].encoding == AF_ENC_INT4_LUT ? AFB_ENC_INT4_LUT
                                                                         : AFB_ENC_PALETTE),
          "%s: blob encoding %u", nm, h.enc);
    float *d = malloc((size_t)n * sizeof *d);
    CHECK(af_cenc_decode(pc->kind, x, &b, pc->rank, pc->dims, d, &err) == AF_OK, "%s decode: %s",
          nm, err.msg);
    uint64_t bad = 0, bad_mean = 0;
    for (uint64_t r = 0; r < rows; r++) {
        const uint8_t *tab = b.data + l.params_off + 2 * (r / g) * (uint64_t)k;
        float s = scaled ? af_f16_to_f32(af_wblob_rd16(b.data + l.params2_off + 2 * r)) : 1.0f;
        float o = scaled ? af_f16_to_f32(af_wblob_rd16(b.data + l.params3_off + 2 * r)) : 0.0f;
        double err_sum = 0;
        for (uint64_t e = r * cols; e < (r + 1) * cols; e++) {
            err_sum += (double)d[e] - x[e];
            float v = s != 0 ? f16r(x[e] / s) : 0.0f, best = INFINITY;
            for (int j = 0; j < k; j++) best = fminf(best, fabsf(v - af_f16_to_f32(af_wblob_rd16(tab + 2 * j))));
            int hit = 0; /* d is s * T[j] + o for an entry j at the best distance */
            for (int j = 0; j < k; j++) {
                float tj = af_f16_to_f32(af_wblob_rd16(tab + 2 * j));
                hit |= fabsf(v - tj) == best && s * tj + o == d[e];
            }
            bad += !hit;
        }
        /* bound: the offset is the row's mean error rounded to fp16 (relative 2^-11 when
         * normal, at most 2^-25 absolute when subnormal), and the decoder's float products and
         * sums add ~1e-6 of the row's scale */
        if (scaled && cols)
            bad_mean += fabs(err_sum / (double)cols) > fabs(o) * 0x1p-10 + 0x1p-24 + 1e-6 * s;
    }
    CHECK(bad == 0, "%s (group %d, scale %d): %llu of %llu elements not at their nearest entry",
          nm, pc->group, pc->scale, (ull)bad, (ull)n);
    CHECK(bad_mean == 0, "%s (group %d): %llu rows whose mean error the offset does not cancel",
          nm, pc->group, (ull)bad_mean);
    uint64_t used = n * (uint64_t)bits;
    if (used & 7)
        CHECK((b.data[l.data_off + used / 8] >> (used & 7)) == 0, "%s: padding bits set", nm);
    free(d);
    free(b.data);
}

static void test_round_trips(void)
{
    const af_ckind kinds[] = {AF_CK_PAL1, AF_CK_PAL2, AF_CK_PAL3, AF_CK_INT4,
                              AF_CK_PAL4, AF_CK_PAL6, AF_CK_PAL8};
    const int groups[] = {1, 3, 0, -1}; /* 3 does not divide 37 rows */
    const pal_case shapes[] = {
        {AF_CK_INT4, 2, {37, 141, 0}, 0, 0}, /* numel * bits not a multiple of 8 */
        {AF_CK_INT4, 1, {2051, 0, 0}, 0, 0}, /* one row */
        {AF_CK_INT4, 3, {5, 3, 7}, 0, 0},    /* rows of 21 */
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        uint64_t rows, cols;
        af_cshape(shapes[s].rank, shapes[s].dims, &rows, &cols);
        float *x = weights(rows, cols);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            for (int gi = 0; gi < 4; gi++)
                for (int sc = AF_PSCALE_NONE; sc <= AF_PSCALE_ROW; sc++) {
                    pal_case pc = shapes[s];
                    pc.kind = kinds[k], pc.group = groups[gi], pc.scale = sc;
                    check_round_trip(&pc, x);
                }
        free(x);
    }
}

/* Exact cases: at most 2^n distinct values per table; constant rows and zero rows with scales. */
static void test_exact(void)
{
    int64_t dims[2] = {12, 50};
    float x[600], d[600];
    af_err err = {0};
    for (int e = 0; e < 600; e++) x[e] = (float)(e % 7) * 0.125f - 0.25f; /* 7 values */
    af_cparams p = {.group_size = -1, .palette_scale = AF_PSCALE_NONE};
    af_cblob b = {0};
    CHECK(af_ctraits_table[AF_CK_PAL3].encode(x, 2, dims, &p, &b, &err) == AF_OK &&
              af_cenc_decode(AF_CK_PAL3, x, &b, 2, dims, d, &err) == AF_OK &&
              !memcmp(x, d, sizeof x), "palette3 with 7 distinct values is lossless");
    af_cblob_drop(&b);
    for (int r = 0; r < 12; r++) /* rows: zeros, constants of both signs, a two-valued row */
        for (int c = 0; c < 50; c++)
            x[r * 50 + c] = r % 4 == 0 ? 0.0f : r % 4 == 1 ? 0.75f * (float)r
                            : r % 4 == 2 ? -3.0f / (float)r : (c & 1 ? 0.5f : -0.5f) * (float)r;
    p.palette_scale = AF_PSCALE_ROW;
    CHECK(af_ctraits_table[AF_CK_PAL1].encode(x, 2, dims, &p, &b, &err) == AF_OK &&
              af_cenc_decode(AF_CK_PAL1, x, &b, 2, dims, d, &err) == AF_OK, "palette1: %s", err.msg);
    int off = 0;
    for (int e = 0; e < 600; e++) off += fabsf(d[e] - x[e]) > fabsf(f16r(x[e]) - x[e]);
    /* per-row scales make every row +-1: one 2-entry table serves them all, exactly up to fp16
     * (the offsets then take up what rounding the scale to fp16 left) */
    CHECK(off == 0, "palette1 with scales: %d of 600 constant/zero/two-valued elements off", off);
    af_wblob_head h;
    af_wblob_get_head(b.data, &h);
    af_wblob_layout l;
    af_wblob_layout_of(&h, 2, dims, &l);
    CHECK(af_wblob_rd16(b.data + l.params2_off) == 0, "a zero row gets scale 0");
    af_cblob_drop(&b);
    /* an empty tensor: header and no codes */
    int64_t z[2] = {0, 16};
    CHECK(af_ctraits_table[AF_CK_PAL6].encode(x, 2, z, &p, &b, &err) == AF_OK &&
              af_cenc_decode(AF_CK_PAL6, x, &b, 2, z, d, &err) == AF_OK, "empty tensor: %s", err.msg);
    af_cblob_drop(&b);
}

/* A blob laid out by hand in the original INT4_LUT layout (16 + 32G table bytes, then nibbles,
 * low nibble first) decodes as it always did: bundles of earlier converters load unchanged. */
static void test_legacy_int4(void)
{
    int64_t dims[2] = {3, 5}; /* 15 elements: the last byte holds one code */
    uint8_t blob[16 + 64 + 8] = {0};
    af_wblob_head h = {AFB_ENC_INT4_LUT, 4, 0, 0, 2, 2, 0};
    af_wblob_put_head(blob, &h);
    for (int g = 0; g < 2; g++)
        for (int j = 0; j < 16; j++)
            af_wblob_wr16(blob + 16 + 32 * g + 2 * j, af_f32_to_f16((float)(j - 8) * (g ? 0.5f : 0.25f)));
    uint8_t codes[15];
    for (int e = 0; e < 15; e++) {
        codes[e] = (uint8_t)((e * 7 + 3) & 15);
        blob[80 + e / 2] |= (uint8_t)(codes[e] << (4 * (e & 1)));
    }
    float d[15];
    af_err err = {0};
    CHECK(af_wdecode(AFB_ENC_INT4_LUT, blob, sizeof blob, 2, dims, d, "w", &err) == AF_OK,
          "legacy int4 blob: %s", err.msg);
    int off = 0;
    for (int e = 0; e < 15; e++) off += d[e] != (float)(codes[e] - 8) * (e / 5 < 2 ? 0.25f : 0.5f);
    CHECK(off == 0, "legacy int4 blob: %d of 15 values differ", off);
    /* the same bytes as a PALETTE blob (its 4-bit unscaled case) decode the same */
    blob[0] = AFB_ENC_PALETTE;
    float d2[15];
    CHECK(af_wdecode(AFB_ENC_PALETTE, blob, sizeof blob, 2, dims, d2, "w", &err) == AF_OK &&
              !memcmp(d, d2, sizeof d), "palette superset of int4: %s", err.msg);
}

/* Decoders refuse hostile headers and lengths with AF_ERR_FORMAT and never crash. */
static void test_hostile(void)
{
    int64_t dims[2] = {10, 33};
    float *x = weights(10, 33), d[330];
    af_cparams p = {.group_size = 4};
    af_cblob b = {0};
    af_err err = {0};
    af_ctraits_table[AF_CK_PAL3].encode(x, 2, dims, &p, &b, &err);
    struct { int off, val; const char *what; } bad[] = {
        {1, 0, "0 bits"}, {1, 9, "9 bits"}, {2, 5, "unknown flag"}, {2, 1, "offsets dropped"}, {3, 1, "reserved byte"},
        {4, 2, "table count"}, {8, 0, "0 rows per table"}, {8, 5, "rows per table"},
        {12, 1, "c field"}, {0, AFB_ENC_INT4_LUT, "encoding mismatch"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t save = b.data[bad[i].off];
        b.data[bad[i].off] = (uint8_t)bad[i].val;
        CHECK(af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
              "palette: %s refused", bad[i].what);
        b.data[bad[i].off] = save;
    }
    CHECK(af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes - 1, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
          "palette: truncated blob refused");
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(b.data, &h);
    af_wblob_layout_of(&h, 2, dims, &l);
    b.data[b.bytes - 1] |= 0x80; /* 330 * 3 bits: the last byte has 2 padding bits */
    CHECK(af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
          "palette: padding bit refused (%s)", err.msg);
    b.data[b.bytes - 1] &= 0x7f;
    af_wblob_wr16(b.data + l.params2_off + 2 * 7, 0x7c00); /* row 7's scale: +Inf */
    CHECK(af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
          "palette: infinite scale refused");
    af_wblob_wr16(b.data + l.params2_off + 2 * 7, 0x3c00);
    af_wblob_wr16(b.data + l.params_off + 2 * 9, 0x7e00); /* table 1, entry 1: NaN */
    CHECK(af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
          "palette: NaN table entry refused");
    for (uint64_t i = 0; i < b.bytes; i++) { /* any single corrupt byte: OK or FORMAT */
        uint8_t save = b.data[i];
        b.data[i] ^= (uint8_t)(0xa5 + i);
        af_status st = af_wdecode(AFB_ENC_PALETTE, b.data, b.bytes, 2, dims, d, "w", &err);
        CHECK(st == AF_OK || st == AF_ERR_FORMAT, "palette: corrupt byte %llu: status %d",
              (ull)i, st);
        b.data[i] = save;
    }
    af_cblob_drop(&b);
    /* INT4_LUT keeps its strict header: no flags, 4 bits only */
    af_ctraits_table[AF_CK_INT4].encode(x, 2, dims, &p, &b, &err);
    b.data[2] = AF_WBLOB_ROW_SCALE;
    CHECK(af_wdecode(AFB_ENC_INT4_LUT, b.data, b.bytes, 2, dims, d, "w", &err) == AF_ERR_FORMAT,
          "int4 with a scale flag refused");
    af_cblob_drop(&b);
    free(x);
}

/* sum over elements of imp[col] * (x - d)^2 */
static double weighted_sse(const float *x, const float *d, uint64_t rows, uint64_t cols,
                           const float *imp)
{
    double s = 0;
    for (uint64_t e = 0; e < rows * cols; e++)
        s += (imp ? imp[e % cols] : 1.0) * ((double)x[e] - d[e]) * ((double)x[e] - d[e]);
    return s;
}

/* Importance: columns 0..7 carry 1000x the importance of the rest and hold values of their own
 * range; a 2-bit table (4 entries for two clusters of values) then moves towards them, and the
 * weighted error falls while the unweighted one rises. */
static void test_importance(void)
{
    enum { R = 8, C = 64 };
    int64_t dims[2] = {R, C};
    float x[R * C], imp[C], d0[R * C], d1[R * C];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++)
            x[r * C + c] = c < 8 ? 0.9f + 0.01f * (float)((r * 8 + c) % 9) : 0.1f * nrand();
    for (int c = 0; c < C; c++) imp[c] = c < 8 ? 1000.0f : 1.0f;
    af_cparams p = {.group_size = -1, .palette_scale = AF_PSCALE_NONE};
    af_cblob b0 = {0}, b1 = {0};
    af_err err = {0};
    af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b0, &err);
    af_cenc_decode(AF_CK_PAL2, x, &b0, 2, dims, d0, &err);
    p.col_importance = imp;
    CHECK(af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b1, &err) == AF_OK &&
              af_cenc_decode(AF_CK_PAL2, x, &b1, 2, dims, d1, &err) == AF_OK, "%s", err.msg);
    double w0 = weighted_sse(x, d0, R, C, imp), w1 = weighted_sse(x, d1, R, C, imp);
    double u0 = weighted_sse(x, d0, R, C, NULL), u1 = weighted_sse(x, d1, R, C, NULL);
    /* bound: the heavy columns' 9 values get more of the 4 entries; measured w1/w0 = 0.19, so
     * half is a loose bar that only an encoder ignoring the importance fails */
    CHECK(w1 < 0.5 * w0, "importance lowers the weighted error: %g -> %g", w0, w1);
    printf("importance: weighted error x%.3f, unweighted x%.2f\n", w1 / w0, u1 / u0);
    CHECK(u1 > u0, "... at the cost of the unweighted error: %g -> %g", u0, u1);
    int heavy = 0; /* table entries at or above 0.85: only the heavy columns' values are there */
    af_wblob_layout l;
    af_wblob_head h;
    af_wblob_get_head(b1.data, &h);
    af_wblob_layout_of(&h, 2, dims, &l);
    for (int j = 0; j < 4; j++) heavy += af_f16_to_f32(af_wblob_rd16(b1.data + 16 + 2 * j)) >= 0.85f;
    CHECK(heavy >= 2, "the table moved towards the heavy columns (%d entries there)", heavy);
    /* deterministic, and all-zero importance is uniform */
    af_cblob b2 = {0};
    af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b2, &err);
    CHECK(b1.bytes == b2.bytes && !memcmp(b1.data, b2.data, b1.bytes), "importance: deterministic");
    af_cblob_drop(&b2);
    float zero[C] = {0};
    p.col_importance = zero;
    af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b2, &err);
    CHECK(b0.bytes == b2.bytes && !memcmp(b0.data, b2.data, b0.bytes), "zero importance = none");
    af_cblob_drop(&b2);
    imp[5] = -1;
    p.col_importance = imp;
    CHECK(af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b2, &err) == AF_ERR_USAGE && !b2.data,
          "negative importance refused");
    imp[5] = NAN;
    CHECK(af_ctraits_table[AF_CK_PAL2].encode(x, 2, dims, &p, &b2, &err) == AF_ERR_USAGE,
          "NaN importance refused");
    af_cblob_drop(&b0), af_cblob_drop(&b1);
}

/* Per-row scales serve rows whose ranges differ 32x better than shared tables alone. */
static void test_scale_helps(void)
{
    int64_t dims[2] = {64, 200};
    float *x = weights(64, 200), *d = malloc(64 * 200 * sizeof *d);
    double sse[2];
    for (int s = 0; s < 2; s++) {
        af_cparams p = {.palette_scale = s ? AF_PSCALE_ROW : AF_PSCALE_NONE};
        af_cblob b = {0};
        af_err err = {0};
        af_ckind k = s ? AF_CK_PAL4 : AF_CK_INT4;
        af_ctraits_table[k].encode(x, 2, dims, &p, &b, &err);
        af_cenc_decode(k, x, &b, 2, dims, d, &err);
        sse[s] = weighted_sse(x, d, 64, 200, NULL);
        af_cblob_drop(&b);
    }
    /* bound: measured 10log10 ratio ~ 3.5 dB on this data; 1 dB is what a working scale must
     * at least give when row ranges spread over 32x */
    CHECK(10 * log10(sse[0] / sse[1]) > 1.0, "row scales: %.2f dB better",
          10 * log10(sse[0] / sse[1]));
    free(x), free(d);
}

/* Lloyd from three starts: a fixed point, never below the optimum, and close to it on a
 * heavy-tailed (Laplace) sample with 64 centroids, where smooth starts stall. */
static void test_lloyd_starts(void)
{
    int n = 4000;
    double *x = malloc(n * sizeof *x), *w = malloc(n * sizeof *w);
    for (int i = 0; i < n; i++) {
        double u = urand() - 0.5;
        x[i] = (u < 0 ? 1 : -1) * log(1 - 2 * fabs(u)); /* Laplace */
    }
    for (int i = 1; i < n; i++) /* sort (insertion: small n) */
        for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
            double t = x[j];
            x[j] = x[j - 1], x[j - 1] = t;
        }
    for (int i = 0; i < n; i++) w[i] = 1;
    af_kmeans_result l, e;
    CHECK(af_kmeans1d_lloyd(x, w, n, 64, &l) && af_kmeans1d_exact(x, w, n, 64, &e), "k-means");
    CHECK(l.converged && l.cost >= e.cost * (1 - 1e-9), "Lloyd %g vs optimum %g", l.cost, e.cost);
    /* bound: measured 1.001x; without the coarse-DP start (quantile and companded starts only)
     * 1.69x, so 1.10 fails an encoder that lost it */
    CHECK(l.cost <= 1.10 * e.cost, "Lloyd %g within 10%% of the optimum %g", l.cost, e.cost);
    printf("Lloyd from three starts on 4000 Laplace samples, 64 centroids: %.3f x the optimum\n", l.cost / e.cost);
    free(x), free(w);
}

int main(void)
{
    test_round_trips();
    test_exact();
    test_legacy_int4();
    test_hostile();
    test_importance();
    test_scale_helps();
    test_lloyd_starts();
    return check_report("palette");
}

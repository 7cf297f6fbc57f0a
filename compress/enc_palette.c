/* compress/enc_palette.c — palettization: per group of R rows, a table of 2^n fp16 entries from
 * 1-D k-means over the group's fp16 histogram (kmeans1d.h), optionally around an fp16 scale and
 * offset per row (w = scale[row] * table[group][index] + offset[row]), and n-bit indices packed
 * LSB-first. The plain 4-bit case (no scale) is the INT4_LUT blob, every other the PALETTE blob;
 * 4-bit codes take the vectorised nibble assignment (simd.h), other widths a scalar binary
 * search over the same thresholds. Layouts: docs/bundle-format.md "Compressed weight blobs".
 *
 * Scales: each row is normalised by its largest magnitude (rounded to fp16) before the k-means,
 * so one table serves rows whose ranges differ (BatchNorm folding scales every output channel
 * by its own gamma / sigma). The k-means then weighs each normalised value by scale^2 (times its
 * column's importance, when given), so it minimises the squared error of the decoded weights
 * themselves, not of their normalised stand-ins. The offset is set last, to the row's mean
 * remaining error (so each row's weights keep their sum: measured +1.2 to +2.9 dB output PSNR on
 * ResNet-18, MobileNetV2 and PP-OCRv4 det at 4 and 6 bits, for 2 bytes per row). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "encodings.h"
#include "kmeans1d.h"
#include "simd.h"

typedef unsigned long long ull;

typedef struct pal_work {
    uint16_t *keys; /* one group's fp16 order keys */
    float *norm;    /* one group's normalised values (scaled) */
    float *w;       /* one group's k-means weights (weighted) */
    af_hist hist;
} pal_work;

typedef struct pal_cfg {
    int bits, scaled;
    const float *imp; /* per column, or NULL */
    uint64_t rows, cols, g;
} pal_cfg;

/* tkey[j] = the order key of the smallest fp16 value above the midpoint of c[j] and c[j+1]
 * (c ascending fp16 values): a value goes to entry #{j : key >= tkey[j]}, its nearest entry,
 * ties to the lower one. The midpoint is exact in double (fp16 values have 11 significant bits
 * and exponents within [-24, 15]). */
static void thresholds(const uint16_t *lut, int k, uint16_t *tkey)
{
    for (int j = 0; j + 1 < k; j++) {
        double m = 0.5 * ((double)af_f16_to_f32(lut[j]) + af_f16_to_f32(lut[j + 1]));
        unsigned lo = af_f16_key(lut[j]), hi = af_f16_key(lut[j + 1]) + 1u; /* value(hi) > m */
        while (lo < hi) { /* first key in [lo, hi] whose value is > m */
            unsigned mid = lo + (hi - lo) / 2;
            if (af_f16_to_f32(af_f16_unkey((uint16_t)mid)) > m) hi = mid;
            else lo = mid + 1;
        }
        tkey[j] = (uint16_t)lo;
    }
}

// keys (n,) -> codes #{j : key >= tkey[j]} (tkey ascending, k - 1 of them, k a power of two),
// each `bits` wide at bit (e0 + i) * bits of idx, LSB-first
static void assign_codes(const uint16_t *keys, size_t n, const uint16_t *tkey, int bits,
                         uint8_t *idx, uint64_t e0)
{
    const unsigned k = 1u << bits;
    for (size_t i = 0; i < n; i++) {
        unsigned c = 0;
        for (unsigned s = k >> 1; s; s >>= 1) c += (keys[i] >= tkey[c + s - 1]) ? s : 0;
        af_wblob_put_code(idx, e0 + i, (unsigned)bits, c);
    }
}

/* Row scale: max |x| rounded to fp16 (clamped to the largest half); 0 for a row that rounds to
 * all zeros (it then decodes to exact zeros whatever its codes). */
static af_status row_scale(const float *x, uint64_t cols, uint64_t r, float *s, af_err *err)
{
    float lo = 0, hi = 0;
    if (!af_minmax_f32(x, (size_t)cols, &lo, &hi))
        return af_err_set(err, AF_ERR_FORMAT, "palette: a weight of row %llu is not finite",
                          (ull)r);
    double m = fmax(fabs((double)lo), fabs((double)hi)); /* +0 for a zero row */
    *s = af_f16_to_f32(af_f32_to_f16((float)fmin(m, 65504.0)));
    return AF_OK;
}

/* The group's fp16 order keys (normalised by the row scales when scaled, which go to sc) and,
 * when weighted, each element's k-means weight: importance[col] * scale^2. */
static af_status group_keys(const pal_cfg *c, const float *x, uint64_t r0, uint64_t r1,
                            pal_work *w, float *sc, int weighted, af_err *err)
{
    const uint64_t cols = c->cols, n = (r1 - r0) * cols;
    const float *src = x;
    if (c->scaled) {
        for (uint64_t r = r0; r < r1; r++) {
            float s = 0;
            if (row_scale(x + (r - r0) * cols, cols, r, &s, err) != AF_OK) return err->code;
            sc[r - r0] = s;
            float *o = w->norm + (r - r0) * cols;
            const float *xr = x + (r - r0) * cols;
            if (s > 0)
                for (uint64_t j = 0; j < cols; j++) o[j] = xr[j] / s;
            else
                memset(o, 0, (size_t)cols * sizeof *o);
        }
        src = w->norm;
    }
    size_t bad = af_f32_to_f16_keys(src, w->keys, (size_t)n);
    if (bad < n)
        return af_err_set(err, AF_ERR_FORMAT, "palette: weight %llu is not finite in fp16",
                          (ull)(r0 * cols + bad));
    if (!weighted) return AF_OK;
    float s2max = 0; /* floors of 2^-12 on scale^2 and on the importance (norm_importance): the
                      * k-means' prefix sums (double) then keep every cluster's weight */
    for (uint64_t r = r0; c->scaled && r < r1; r++)
        s2max = fmaxf(s2max, sc[r - r0] * sc[r - r0]);
    for (uint64_t r = r0; r < r1; r++) {
        float s2 = c->scaled ? fmaxf(sc[r - r0] * sc[r - r0], s2max * 0x1p-12f) : 1.0f;
        float *wr = w->w + (r - r0) * cols;
        if (c->scaled && sc[r - r0] == 0) s2 = 0; /* a zero row: left out */
        if (c->imp)
            for (uint64_t j = 0; j < cols; j++) wr[j] = s2 * c->imp[j];
        else
            for (uint64_t j = 0; j < cols; j++) wr[j] = s2;
    }
    return AF_OK;
}

/* The group's table: k-means centroids rounded to fp16 (ascending). A weighted histogram whose
 * weights are all 0 (zero rows, zero importance) falls back to counting. */
static af_status group_table(pal_work *w, uint32_t n, int weighted, int k, uint16_t *lut,
                             af_err *err)
{
    int ok = weighted ? af_kmeans1d_hist_keys_w(&w->hist, w->keys, w->w, n) : 1;
    if (ok && (!weighted || w->hist.n == 0)) ok = af_kmeans1d_hist_keys(&w->hist, w->keys, n);
    if (!ok) return af_err_set(err, AF_ERR_NOMEM, "out of memory (palette histogram)");
    af_kmeans_result km;
    if (!af_kmeans1d(w->hist.value, w->hist.count, w->hist.n, k, &km))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (palette k-means)");
    for (int i = 0; i < k; i++) lut[i] = af_f32_to_f16((float)km.centroid[i]);
    return AF_OK;
}


/* Row r's offset: the mean of x - s * T[code] over the row, rounded to fp16, so the row's
 * decoded weights sum to what its weights sum to (up to that rounding): the error a palette
 * leaves in each output channel's response to a constant input (bias correction). */
static uint16_t row_offset(const float *xr, uint64_t cols, float s, const uint16_t *lut,
                           const uint8_t *idx, uint64_t e0, int bits)
{
    float t[256];
    double sum = 0;
    for (int j = 0; j < 1 << bits; j++) t[j] = s * af_f16_to_f32(lut[j]); /* as decoded: exact */
    for (uint64_t c = 0; c < cols; c++) sum += (double)xr[c] - t[af_wblob_code_at(idx, e0 + c, (unsigned)bits)];
    return af_f32_to_f16(cols ? (float)(sum / (double)cols) : 0.0f);
}

static af_status encode_groups(const pal_cfg *c, const float *x, const af_wblob_layout *l,
                               uint8_t *blob, pal_work *w, af_err *err)
{
    const int k = 1 << c->bits, weighted = c->scaled || c->imp != NULL;
    uint8_t *idx = blob + l->data_off;
    uint16_t lut[256], tkey[255];
    float *scales = NULL; /* the group's row scales */
    if (c->scaled && !(scales = malloc((size_t)c->g * sizeof *scales)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (palette scales)");
    af_status st = AF_OK;
    for (uint64_t r0 = 0, gi = 0; r0 < c->rows && st == AF_OK; r0 += c->g, gi++) {
        uint64_t r1 = r0 + c->g < c->rows ? r0 + c->g : c->rows, e0 = r0 * c->cols;
        uint64_t n = (r1 - r0) * c->cols;
        st = group_keys(c, x + e0, r0, r1, w, scales, weighted, err);
        if (st == AF_OK) st = group_table(w, (uint32_t)n, weighted, k, lut, err);
        if (st != AF_OK) break;
        for (int j = 0; j < k; j++) af_wblob_wr16(blob + l->params_off + 2 * ((uint64_t)k * gi + j), lut[j]);
        for (uint64_t r = r0; c->scaled && r < r1; r++)
            af_wblob_wr16(blob + l->params2_off + 2 * r, af_f32_to_f16(scales[r - r0]));
        thresholds(lut, k, tkey);
        if (c->bits == 4) af_int4_assign(w->keys, (size_t)n, tkey, idx, e0);
        else assign_codes(w->keys, (size_t)n, tkey, c->bits, idx, e0);
        for (uint64_t r = r0; c->scaled && r < r1; r++)
            af_wblob_wr16(blob + l->params3_off + 2 * r,
                          row_offset(x + r * c->cols, c->cols, scales[r - r0], lut, idx,
                                     r * c->cols, c->bits));
    }
    free(scales);
    return st;
}

static af_status check_cfg(const pal_cfg *c, af_err *err)
{
    if (c->bits < 1 || c->bits > 8)
        return af_err_set(err, AF_ERR_USAGE, "palette: %d-bit indices (want 1 to 8)", c->bits);
    if (c->g * c->cols > UINT32_MAX)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "palette: a group of %llu elements is too "
                          "large", (ull)(c->g * c->cols));
    for (uint64_t j = 0; c->imp && j < c->cols; j++)
        if (!(c->imp[j] >= 0 && c->imp[j] < INFINITY))
            return af_err_set(err, AF_ERR_USAGE, "palette: column importance %llu is %g (want "
                              "a finite value >= 0)", (ull)j, (double)c->imp[j]);
    return AF_OK;
}

/* The importance divided by its largest value (so importance * scale^2 stays finite in float),
 * positive values floored at 2^-12; NULL when there is none or it is all zero (uniform). */
static af_status norm_importance(const float *imp, uint64_t cols, float **out, af_err *err)
{
    float m = 0;
    *out = NULL;
    for (uint64_t j = 0; imp && j < cols; j++) m = imp[j] > m ? imp[j] : m;
    if (m <= 0) return AF_OK;
    if (!(*out = malloc((size_t)cols * sizeof **out)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (palette importance)");
    for (uint64_t j = 0; j < cols; j++) /* 0 stays 0: the column is left out */
        (*out)[j] = imp[j] > 0 ? fmaxf(imp[j] / m, 0x1p-12f) : 0.0f;
    return AF_OK;
}

// x (rows, cols) -> tables T (ceil(rows/R), 2^bits) fp16, scales (rows) fp16 when scaled,
// codes (rows*cols) bits-wide
af_status af_enc_palette_n(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                           int bits, int scaled, af_cblob *out, af_err *err)
{
    pal_cfg c = {bits, scaled, p->col_importance, 0, 0, 0};
    if (!af_cshape(rank, dims, &c.rows, &c.cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    c.g = af_palette_group_rows(p, c.rows);
    if (check_cfg(&c, err) != AF_OK) return err->code;
    af_wblob_head h;
    af_palette_head(&h, bits, scaled, c.rows, c.g);
    af_wblob_layout l;
    const char *bad = af_wblob_layout_of(&h, rank, dims, &l);
    if (bad) return af_err_set(err, AF_ERR_INTERNAL, "palette: %s", bad);
    if (af_cblob_alloc(out, l.total, err) != AF_OK) return err->code;
    af_wblob_put_head(out->data, &h);
    float *imp = NULL;
    if (norm_importance(c.imp, c.cols, &imp, err) != AF_OK) {
        af_cblob_drop(out);
        return err->code;
    }
    c.imp = imp;
    pal_work w;
    memset(&w, 0, sizeof w);
    size_t gn = (size_t)(c.g * c.cols + 1);
    w.keys = malloc(gn * sizeof *w.keys);
    w.norm = scaled ? malloc(gn * sizeof *w.norm) : NULL;
    w.w = scaled || c.imp ? malloc(gn * sizeof *w.w) : NULL;
    af_status st = w.keys && (w.norm || !scaled) && (w.w || !(scaled || c.imp))
                       ? encode_groups(&c, x, &l, out->data, &w, err)
                       : af_err_set(err, AF_ERR_NOMEM, "out of memory (palette)");
    free(w.keys), free(w.norm), free(w.w), free(imp);
    af_hist_free(&w.hist);
    if (st != AF_OK) af_cblob_drop(out);
    return st;
}

/* compress/enc_int4.c — int4 palettization: per group of rows, a 16-entry fp16 table from 1-D
 * k-means over the group's fp16 histogram (kmeans1d.h), and 4-bit indices (LSB-first) from a
 * vectorised comparison with the midpoints between the sorted table entries (simd.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "encodings.h"
#include "kmeans1d.h"
#include "simd.h"

typedef unsigned long long ull;

typedef struct int4_work {
    uint16_t *keys; /* one group's fp16 order keys */
    af_hist hist;
} int4_work;

/* tkey[j] = the order key of the smallest fp16 value above the midpoint of c[j] and c[j+1]
 * (c ascending fp16 values): a value goes to entry #{j : key >= tkey[j]}, its nearest entry,
 * ties to the lower one. The midpoint is exact in double (fp16 values have 11 significant bits
 * and exponents within [-24, 15]). */
static void thresholds(const uint16_t lut[16], uint16_t tkey[15])
{
    for (int j = 0; j < 15; j++) {
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

/* The table for one group: k-means centroids rounded to fp16 (ascending) and the assignment
 * thresholds between them. */
static af_status group_table(int4_work *w, uint32_t n, uint16_t lut[16], uint16_t tkey[15],
                             af_err *err)
{
    if (!af_kmeans1d_hist_keys(&w->hist, w->keys, n))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (int4 histogram)");
    af_kmeans_result km;
    if (!af_kmeans1d(w->hist.value, w->hist.count, w->hist.n, 16, &km))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (int4 k-means)");
    for (int i = 0; i < 16; i++) lut[i] = af_f32_to_f16((float)km.centroid[i]);
    thresholds(lut, tkey);
    return AF_OK;
}

static af_status encode_groups(const float *x, uint64_t rows, uint64_t cols, uint64_t g,
                               const af_wblob_layout *l, uint8_t *blob, int4_work *w,
                               af_err *err)
{
    uint8_t *idx = blob + l->data_off;
    for (uint64_t r0 = 0, gi = 0; r0 < rows; r0 += g, gi++) {
        uint64_t r1 = r0 + g < rows ? r0 + g : rows, e0 = r0 * cols, n = (r1 - r0) * cols;
        size_t bad = af_f32_to_f16_keys(x + e0, w->keys, (size_t)n);
        if (bad < n)
            return af_err_set(err, AF_ERR_FORMAT, "int4: weight %llu is not finite in fp16",
                              (ull)(e0 + bad));
        uint16_t lut[16], tkey[15];
        if (group_table(w, (uint32_t)n, lut, tkey, err) != AF_OK) return err->code;
        for (int k = 0; k < 16; k++) af_wblob_wr16(blob + l->params_off + 32 * gi + 2 * k, lut[k]);
        af_int4_assign(w->keys, (size_t)n, tkey, idx, e0);
    }
    return AF_OK;
}

// x (rows, cols) -> tables T (ceil(rows/g), 16) fp16 + indices (rows*cols) 4-bit
af_status af_enc_int4(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                      af_cblob *out, af_err *err)
{
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    uint64_t g = af_int4_group_rows(p, rows);
    if (g * cols > UINT32_MAX)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "int4: a group of %llu elements is too large",
                          (ull)(g * cols));
    af_wblob_head h = {AFB_ENC_INT4_LUT, 4, 0, 0, (uint32_t)(rows ? (rows + g - 1) / g : 1),
                       (uint32_t)g, 0};
    af_wblob_layout l;
    const char *bad = af_wblob_layout_of(&h, rank, dims, &l);
    if (bad) return af_err_set(err, AF_ERR_INTERNAL, "int4: %s", bad);
    if (af_cblob_alloc(out, l.total, err) != AF_OK) return err->code;
    af_wblob_put_head(out->data, &h);
    int4_work w;
    memset(&w, 0, sizeof w);
    w.keys = malloc((size_t)(g * cols + 1) * sizeof *w.keys);
    af_status st = w.keys ? encode_groups(x, rows, cols, g, &l, out->data, &w, err)
                                      : af_err_set(err, AF_ERR_NOMEM, "out of memory (int4)");
    free(w.keys);
    af_hist_free(&w.hist);
    if (st != AF_OK) af_cblob_drop(out);
    return st;
}

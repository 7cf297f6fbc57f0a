/* compress/enc_int4.c — int4 palettization: per group of rows, a 16-entry fp16 table from 1-D
 * k-means over the group's fp16 histogram (kmeans1d.h), and 4-bit indices (LSB-first). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "encodings.h"
#include "kmeans1d.h"

typedef unsigned long long ull;

typedef struct int4_work {
    uint16_t *codes; /* one group's fp16 codes */
    af_hist hist;
    uint8_t *map;    /* order key -> table index, for the keys present in the group */
} int4_work;

/* The table for one group: k-means centroids rounded to fp16 (ascending), and map[key] = the
 * nearest table entry for each distinct value. */
static af_status group_table(int4_work *w, uint32_t n, uint16_t lut[16], af_err *err)
{
    if (!af_kmeans1d_hist(&w->hist, w->codes, n))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (int4 histogram)");
    af_kmeans_result km;
    if (!af_kmeans1d(w->hist.value, w->hist.count, w->hist.n, 16, &km))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory (int4 k-means)");
    float c[16];
    for (int i = 0; i < 16; i++) {
        lut[i] = af_f32_to_f16((float)km.centroid[i]);
        c[i] = af_f16_to_f32(lut[i]);
    }
    int j = 0;
    for (int u = 0; u < w->hist.n; u++) { /* values and table both ascending: one merge walk */
        double v = w->hist.value[u];
        while (j < 15 && fabs(v - c[j + 1]) < fabs(v - c[j])) j++;
        w->map[w->hist.keys[u]] = (uint8_t)j;
    }
    return AF_OK;
}

static af_status encode_groups(const float *x, uint64_t rows, uint64_t cols, uint64_t g,
                               const af_wblob_layout *l, uint8_t *blob, int4_work *w,
                               af_err *err)
{
    uint8_t *idx = blob + l->data_off;
    for (uint64_t r0 = 0, gi = 0; r0 < rows; r0 += g, gi++) {
        uint64_t r1 = r0 + g < rows ? r0 + g : rows, e0 = r0 * cols, n = (r1 - r0) * cols;
        for (uint64_t i = 0; i < n; i++) {
            uint16_t h = af_f32_to_f16(x[e0 + i]);
            if ((h & 0x7c00u) == 0x7c00u)
                return af_err_set(err, AF_ERR_FORMAT, "int4: weight %llu is not finite in fp16",
                                  (ull)(e0 + i));
            w->codes[i] = h;
        }
        uint16_t lut[16];
        if (group_table(w, (uint32_t)n, lut, err) != AF_OK) return err->code;
        for (int k = 0; k < 16; k++) af_wblob_wr16(blob + l->params_off + 32 * gi + 2 * k, lut[k]);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t e = e0 + i;
            unsigned v = w->map[af_f16_key(af_f32_to_f16(x[e]))];
            idx[e >> 1] |= (uint8_t)(v << (4 * (e & 1)));
        }
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
    w.codes = malloc((size_t)(g * cols + 1) * sizeof *w.codes);
    w.map = calloc(65536, 1);
    af_status st = (w.codes && w.map) ? encode_groups(x, rows, cols, g, &l, out->data, &w, err)
                                      : af_err_set(err, AF_ERR_NOMEM, "out of memory (int4)");
    free(w.codes);
    free(w.map);
    af_hist_free(&w.hist);
    if (st != AF_OK) {
        free(out->data);
        out->data = NULL;
        out->bytes = 0;
    }
    return st;
}

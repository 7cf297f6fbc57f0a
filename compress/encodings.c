/* compress/encodings.c — the encodings table, shared helpers, and the int8, sparse and
 * blockwise reference encoders (int4 lives in enc_int4.c with its k-means). Blob layouts:
 * runtime/wdecode.h and docs/bundle-format.md. */
#include "encodings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "aneforge/targets.h"

typedef unsigned long long ull;

int af_cshape(int rank, const int64_t *dims, uint64_t *rows, uint64_t *cols)
{
    return af_wblob_rows_cols(rank, dims, rows, cols) && *rows <= UINT32_MAX;
}

af_status af_cblob_alloc(af_cblob *out, uint64_t bytes, af_err *err)
{
    out->data = bytes <= SIZE_MAX ? calloc(1, (size_t)bytes) : NULL;
    out->bytes = out->data ? bytes : 0;
    if (!out->data)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for a %llu-byte blob", (ull)bytes);
    return AF_OK;
}

/* Allocates a blob for header h and shape, writes the header, returns its layout. */
static af_status blob_start(const af_wblob_head *h, int rank, const int64_t *dims,
                            af_wblob_layout *l, af_cblob *out, af_err *err)
{
    const char *bad = af_wblob_layout_of(h, rank, dims, l);
    if (bad) return af_err_set(err, AF_ERR_INTERNAL, "encoder: %s", bad);
    if (af_cblob_alloc(out, l->total, err) != AF_OK) return err->code;
    af_wblob_put_head(out->data, h);
    return AF_OK;
}

static uint16_t to_f16(double v) { return af_f32_to_f16((float)v); }
static float f16_round(double v) { return af_f16_to_f32(to_f16(v)); }

/* ---- int8 ------------------------------------------------------------------------------------ */

// x (rows, cols) -> per scale group: symmetric q = round(x/s), s = max|x|/127;
// asymmetric q = round(x/s) + z, s = (max - min)/255 over a range that includes 0
static void int8_group(const float *x, uint64_t n, int asym, uint8_t *scale, uint8_t *zp,
                       int8_t *q)
{
    float lo = 0, hi = 0;
    for (uint64_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    double range = asym ? (double)hi - lo : 2.0 * fmax(-lo, hi);
    float s = f16_round(range / (asym ? 255.0 : 254.0));
    int z = 0;
    if (s > 0 && asym) z = (int)lrint(-128.0 - lo / (double)s);
    z = z < -128 ? -128 : z > 127 ? 127 : z;
    int qlo = asym ? -128 : -127, qhi = 127;
    for (uint64_t i = 0; i < n; i++) {
        long v = s > 0 ? lrint(x[i] / (double)s) + z : 0;
        q[i] = (int8_t)(v < qlo ? qlo : v > qhi ? qhi : v);
    }
    af_wblob_wr16(scale, af_f32_to_f16(s));
    if (zp) *zp = (uint8_t)(int8_t)z;
}

af_status af_enc_int8(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                      af_cblob *out, af_err *err)
{
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    int per_ch = !p->int8_per_tensor, asym = p->int8_asymmetric;
    af_wblob_head h = {AFB_ENC_INT8, 8, (uint8_t)((per_ch ? AF_WBLOB_PER_CHANNEL : 0) |
                                                  (asym ? AF_WBLOB_ASYMMETRIC : 0)),
                       0, per_ch ? (uint32_t)rows : 1u, 0, 0};
    af_wblob_layout l;
    if (blob_start(&h, rank, dims, &l, out, err) != AF_OK) return err->code;
    uint64_t groups = per_ch ? rows : 1, gn = per_ch ? cols : rows * cols;
    for (uint64_t g = 0; g < groups; g++)
        int8_group(x + g * gn, gn, asym, out->data + l.params_off + 2 * g,
                   asym ? out->data + l.params2_off + g : NULL,
                   (int8_t *)(out->data + l.data_off + g * gn));
    return AF_OK;
}

/* ---- blockwise ------------------------------------------------------------------------------- */

static inline void put_code(uint8_t *q, uint64_t e, int bits, unsigned v)
{
    if (bits == 8) q[e] = (uint8_t)v;
    else q[e >> 1] |= (uint8_t)(v << (4 * (e & 1)));
}

// x (rows, cols), blocks of B along cols: o = min, s = (max - min) / (2^bits - 1),
// q = round((x - o) / s) in [0, 2^bits - 1]
static af_status enc_blockwise(const float *x, int rank, const int64_t *dims,
                               const af_cparams *p, int bits, af_cblob *out, af_err *err)
{
    uint64_t rows, cols, bs = (uint64_t)(p->block_size ? p->block_size : AF_BLOCK_DEFAULT);
    if (!af_cshape(rank, dims, &rows, &cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    uint64_t bpr = (cols + bs - 1) / bs;
    if (bpr > UINT32_MAX) return af_err_set(err, AF_ERR_USAGE, "too many blocks per row");
    af_wblob_head h = {AFB_ENC_BLOCKWISE, (uint8_t)bits, 0, 0, (uint32_t)rows, (uint32_t)bs,
                       (uint32_t)bpr};
    af_wblob_layout l;
    if (blob_start(&h, rank, dims, &l, out, err) != AF_OK) return err->code;
    const double levels = bits == 8 ? 255.0 : 15.0;
    uint8_t *q = out->data + l.data_off;
    for (uint64_t r = 0; r < rows; r++) {
        for (uint64_t k = 0; k < bpr; k++) {
            uint64_t c0 = k * bs, c1 = c0 + bs < cols ? c0 + bs : cols;
            const float *xr = x + r * cols;
            float lo = xr[c0], hi = xr[c0];
            for (uint64_t c = c0; c < c1; c++) {
                if (xr[c] < lo) lo = xr[c];
                if (xr[c] > hi) hi = xr[c];
            }
            float o = f16_round(lo), s = f16_round(((double)hi - o) / levels);
            uint8_t *so = out->data + l.params_off + 4 * (r * bpr + k);
            af_wblob_wr16(so, af_f32_to_f16(s));
            af_wblob_wr16(so + 2, af_f32_to_f16(o));
            for (uint64_t c = c0; c < c1; c++) {
                long v = s > 0 ? lrint(((double)xr[c] - o) / s) : 0;
                put_code(q, r * cols + c, bits, (unsigned)(v < 0 ? 0 : v > levels ? levels : v));
            }
        }
    }
    return AF_OK;
}

af_status af_enc_bw4(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                     af_cblob *out, af_err *err)
{
    return enc_blockwise(x, rank, dims, p, 4, out, err);
}

af_status af_enc_bw8(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                     af_cblob *out, af_err *err)
{
    return enc_blockwise(x, rank, dims, p, 8, out, err);
}

/* ---- sparse ---------------------------------------------------------------------------------- */

uint64_t af_count_nonzero_f16(const float *x, uint64_t n)
{
    uint64_t k = 0;
    for (uint64_t i = 0; i < n; i++) k += (af_f32_to_f16(x[i]) & 0x7fffu) != 0;
    return k;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

af_status af_prune_magnitude(float *x, uint64_t n, double s, af_err *err)
{
    uint64_t k = (uint64_t)floor(s * (double)n);
    if (k == 0) return AF_OK;
    float *m = malloc(n * sizeof *m);
    if (!m) return af_err_set(err, AF_ERR_NOMEM, "out of memory pruning %llu weights", (ull)n);
    for (uint64_t i = 0; i < n; i++) m[i] = fabsf(x[i]);
    qsort(m, n, sizeof *m, cmp_float);
    float thr = m[k - 1];
    uint64_t below = 0;
    for (uint64_t i = 0; i < n; i++) below += fabsf(x[i]) < thr;
    uint64_t ties = k - below; /* elements equal to thr to drop, lowest index first */
    for (uint64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a < thr) x[i] = 0;
        else if (a == thr && ties) x[i] = 0, ties--;
    }
    free(m);
    return AF_OK;
}

// x (numel) -> mask (numel bits, LSB first, 1 = stored) + fp16 values of the set bits, in order
af_status af_enc_sparse(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                        af_cblob *out, af_err *err)
{
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    uint64_t n = rows * cols;
    float *pruned = NULL;
    if (p->sparsity > 0) {
        pruned = malloc(n ? n * sizeof *pruned : 1);
        if (!pruned) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        memcpy(pruned, x, n * sizeof *pruned);
        if (af_prune_magnitude(pruned, n, p->sparsity, err) != AF_OK) {
            free(pruned);
            return err->code;
        }
        x = pruned;
    }
    uint64_t nnz = af_count_nonzero_f16(x, n);
    af_wblob_head h = {AFB_ENC_SPARSE, 16, 0, 0, (uint32_t)nnz, (uint32_t)(nnz >> 32), 0};
    af_wblob_layout l;
    if (blob_start(&h, rank, dims, &l, out, err) == AF_OK) {
        uint8_t *m = out->data + l.params_off, *v = out->data + l.data_off;
        for (uint64_t e = 0, k = 0; e < n; e++) {
            uint16_t hv = af_f32_to_f16(x[e]);
            if (!(hv & 0x7fffu)) continue;
            m[e >> 3] |= (uint8_t)(1u << (e & 7));
            af_wblob_wr16(v + 2 * k++, hv);
        }
    }
    free(pruned);
    return err->code;
}

/* ---- sizes ----------------------------------------------------------------------------------- */

static uint64_t numel_of(int rank, const int64_t *dims)
{
    uint64_t r, c;
    return af_cshape(rank, dims, &r, &c) ? r * c : 0;
}

static uint64_t size_fp16(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    (void)x, (void)p;
    return 2 * numel_of(rank, dims);
}

static uint64_t size_of_head(const af_wblob_head *h, int rank, const int64_t *dims)
{
    af_wblob_layout l;
    return af_wblob_layout_of(h, rank, dims, &l) ? UINT64_MAX : l.total;
}

static uint64_t size_int8(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    (void)x;
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return UINT64_MAX;
    af_wblob_head h = {AFB_ENC_INT8, 8,
                       (uint8_t)((p->int8_per_tensor ? 0 : AF_WBLOB_PER_CHANNEL) |
                                 (p->int8_asymmetric ? AF_WBLOB_ASYMMETRIC : 0)),
                       0, p->int8_per_tensor ? 1u : (uint32_t)rows, 0, 0};
    return size_of_head(&h, rank, dims);
}

uint64_t af_int4_group_rows(const af_cparams *p, uint64_t rows)
{
    if (rows == 0) return 1;
    if (p->group_size < 0) return rows;
    if (p->group_size == 0) return rows >= 2 * AF_INT4_DEFAULT_GROUP ? AF_INT4_DEFAULT_GROUP : rows;
    return (uint64_t)p->group_size < rows ? (uint64_t)p->group_size : rows;
}

static uint64_t size_int4(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    (void)x;
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return UINT64_MAX;
    uint64_t g = af_int4_group_rows(p, rows);
    af_wblob_head h = {AFB_ENC_INT4_LUT, 4, 0, 0, (uint32_t)(rows ? (rows + g - 1) / g : 1),
                       (uint32_t)g, 0};
    return size_of_head(&h, rank, dims);
}

static uint64_t size_sparse(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    uint64_t n = numel_of(rank, dims);
    uint64_t nnz = p->sparsity > 0 ? n - (uint64_t)floor(p->sparsity * (double)n)
                                   : af_count_nonzero_f16(x, n);
    if (p->sparsity > 0) {
        uint64_t nat = af_count_nonzero_f16(x, n);
        if (nat < nnz) nnz = nat;
    }
    af_wblob_head h = {AFB_ENC_SPARSE, 16, 0, 0, (uint32_t)nnz, (uint32_t)(nnz >> 32), 0};
    return size_of_head(&h, rank, dims);
}

static uint64_t size_bw(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                        int bits)
{
    (void)x;
    uint64_t rows, cols, bs = (uint64_t)(p->block_size ? p->block_size : AF_BLOCK_DEFAULT);
    if (!af_cshape(rank, dims, &rows, &cols)) return UINT64_MAX;
    af_wblob_head h = {AFB_ENC_BLOCKWISE, (uint8_t)bits, 0, 0, (uint32_t)rows, (uint32_t)bs,
                       (uint32_t)((cols + bs - 1) / bs)};
    return size_of_head(&h, rank, dims);
}

static uint64_t size_bw4(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    return size_bw(x, rank, dims, p, 4);
}

static uint64_t size_bw8(const float *x, int rank, const int64_t *dims, const af_cparams *p)
{
    return size_bw(x, rank, dims, p, 8);
}

/* ---- the table ------------------------------------------------------------------------------- */

const af_ctraits af_ctraits_table[AF_CK_COUNT] = {
    [AF_CK_FP16] = {"fp16", AF_ENC_FP16, AF_WENC_FP16, NULL, size_fp16, 16.0},
    [AF_CK_INT8] = {"int8", AF_ENC_INT8, AF_WENC_INT8, af_enc_int8, size_int8, 8.0},
    [AF_CK_INT4] = {"int4", AF_ENC_INT4_LUT, AF_WENC_INT4, af_enc_int4, size_int4, 4.0},
    [AF_CK_SPARSE] = {"sparse", AF_ENC_SPARSE, AF_WENC_SPARSE, af_enc_sparse, size_sparse, 17.0},
    [AF_CK_BW4] = {"blockwise-int4", AF_ENC_BLOCKWISE, AF_WENC_BLOCKWISE, af_enc_bw4, size_bw4, 5.0},
    [AF_CK_BW8] = {"blockwise-int8", AF_ENC_BLOCKWISE, AF_WENC_BLOCKWISE, af_enc_bw8, size_bw8, 9.0},
};

af_status af_cenc_decode(af_ckind k, const float *x, const af_cblob *blob, int rank,
                         const int64_t *dims, float *out, af_err *err)
{
    if (k == AF_CK_FP16) {
        uint64_t n = numel_of(rank, dims);
        for (uint64_t i = 0; i < n; i++) out[i] = af_f16_to_f32(af_f32_to_f16(x[i]));
        return AF_OK;
    }
    return af_wdecode((afb_encoding)af_ctraits_table[k].encoding, blob->data, blob->bytes, rank,
                      dims, out, af_ctraits_table[k].name, err);
}

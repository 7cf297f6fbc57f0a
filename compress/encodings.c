/* compress/encodings.c — the encodings table, shared helpers, and the int8, sparse and
 * blockwise reference encoders (palettes live in enc_palette.c with their k-means). Blob layouts:
 * runtime/wdecode.h and docs/bundle-format.md. */
#include "encodings.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "aneforge/targets.h"
#include "simd.h"

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

void af_cblob_drop(af_cblob *b)
{
    free(b->data);
    b->data = NULL;
    b->bytes = 0;
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
// (round = half to even; the loops are compress/simd.c's, byte-identical on every path)
static af_status int8_group(const float *x, uint64_t n, int asym, uint8_t *scale, uint8_t *zp,
                            int8_t *q, af_err *err)
{
    float lo = 0, hi = 0;
    if (!af_minmax_f32(x, (size_t)n, &lo, &hi))
        return af_err_set(err, AF_ERR_FORMAT, "int8: a weight is not finite");
    double range = asym ? (double)hi - lo : 2.0 * fmax(-lo, hi);
    float s = f16_round(range / (asym ? 255.0 : 254.0));
    if (!isfinite(s))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "int8: weights up to %g need a scale beyond "
                          "fp16", fmax(-lo, hi));
    int z = 0;
    if (s > 0 && asym) z = (int)af_round_half_even(-128.0 - lo / (double)s);
    z = z < -128 ? -128 : z > 127 ? 127 : z;
    if (s > 0) af_quant_i8(x, (size_t)n, s, z, asym ? -128 : -127, 127, q);
    else memset(q, 0, (size_t)n);
    af_wblob_wr16(scale, af_f32_to_f16(s));
    if (zp) *zp = (uint8_t)(int8_t)z;
    return AF_OK;
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
        if (int8_group(x + g * gn, gn, asym, out->data + l.params_off + 2 * g,
                       asym ? out->data + l.params2_off + g : NULL,
                       (int8_t *)(out->data + l.data_off + g * gn), err) != AF_OK) {
            af_cblob_drop(out);
            return err->code;
        }
    return AF_OK;
}

/* ---- blockwise ------------------------------------------------------------------------------- */


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
                unsigned code = (unsigned)(v < 0 ? 0 : v > levels ? levels : v);
                af_wblob_put_code(q, r * cols + c, (unsigned)bits, code);
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

#define CHUNK 4096 /* elements handled at a time (stack buffers) */

uint64_t af_count_nonzero_f16(const float *x, uint64_t n)
{
    uint16_t h[CHUNK];
    uint64_t k = 0;
    for (uint64_t e = 0; e < n; e += CHUNK) {
        size_t m = n - e < CHUNK ? (size_t)(n - e) : CHUNK;
        af_f32_to_f16_n(x + e, h, m);
        for (size_t i = 0; i < m; i++) k += (h[i] & 0x7fffu) != 0;
    }
    return k;
}

static inline uint32_t abs_bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u & 0x7fffffffu; /* ordered like |v| (NaN above Inf) */
}

/* The bin holding the r-th smallest (1-based) of counts cnt[0..65536); *before = the elements
 * in the lower bins. */
static unsigned select_bin(const uint64_t *cnt, uint64_t r, uint64_t *before)
{
    uint64_t acc = 0;
    unsigned b = 0;
    while (b < 65535 && acc + cnt[b] < r) acc += cnt[b++];
    *before = acc;
    return b;
}

/* What magnitude pruning drops: every |x| below thr (as bits, abs_bits order) and the first
 * `ties` elements equal to it, in index order. */
typedef struct prune_cut {
    uint32_t thr;
    uint64_t ties;
} prune_cut;

// x (n,): the k-th smallest |x| (k >= 1) by a two-level 16-bit histogram select on its bit
// pattern: two passes, linear, deterministic
static af_status prune_find(const float *x, uint64_t n, uint64_t k, prune_cut *cut, af_err *err)
{
    uint64_t before, below;
    uint64_t *cnt = calloc(65536, sizeof *cnt);
    if (!cnt) return af_err_set(err, AF_ERR_NOMEM, "out of memory pruning %llu weights", (ull)n);
    for (uint64_t i = 0; i < n; i++) cnt[abs_bits(x[i]) >> 16]++;
    uint32_t hi = select_bin(cnt, k, &before);
    memset(cnt, 0, 65536 * sizeof *cnt);
    for (uint64_t i = 0; i < n; i++)
        if (abs_bits(x[i]) >> 16 == hi) cnt[abs_bits(x[i]) & 0xffffu]++;
    uint32_t lo = select_bin(cnt, k - before, &below);
    cut->thr = hi << 16 | lo;
    cut->ties = k - before - below; /* elements equal to thr to drop, lowest index first */
    free(cnt);
    return AF_OK;
}

/* Zeroes what the cut drops from x[0, n) (the next elements in index order); branch-free on
 * the comparison with thr, whose outcome is random. */
static void prune_apply(float *x, size_t n, prune_cut *cut)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u, a = abs_bits(x[i]);
        unsigned drop = a < cut->thr;
        if (a == cut->thr && cut->ties) drop = 1, cut->ties--;
        memcpy(&u, &x[i], sizeof u);
        u &= (uint32_t)drop - 1u;
        memcpy(&x[i], &u, sizeof u);
    }
}

af_status af_prune_magnitude(float *x, uint64_t n, double s, af_err *err)
{
    uint64_t k = (uint64_t)floor(s * (double)n);
    prune_cut cut;
    if (k == 0) return AF_OK;
    if (prune_find(x, n, k, &cut, err) != AF_OK) return err->code;
    prune_apply(x, (size_t)n, &cut);
    return AF_OK;
}

/* fp16 codes of x[e, e + m) after the cut (if any); 0 when one is Inf or NaN. */
static int sparse_codes(const float *x, uint64_t e, size_t m, prune_cut *cut, uint16_t *h)
{
    float buf[CHUNK];
    if (cut) {
        memcpy(buf, x + e, m * sizeof *buf);
        prune_apply(buf, m, cut);
        x = buf, e = 0;
    }
    return af_f32_to_f16_finite(x + e, h, m) == m;
}

/* Sets the mask bits of the non-zero codes h of elements [e0, e0 + m) (e0 a multiple of 8) and
 * appends the codes to v from index *k. */
static void sparse_put(uint16_t *h, uint64_t e0, size_t m, uint8_t *mask, uint8_t *v, uint64_t *k)
{
    size_t j = 0;
    for (size_t i = 0; i < m; i += 8) { /* a mask byte at a time; branch-free compaction */
        unsigned byte = 0;
        for (size_t b = 0; b < 8 && i + b < m; b++) {
            unsigned nz = (h[i + b] & 0x7fffu) != 0;
            byte |= nz << b;
            h[j] = h[i + b]; /* in place: j <= i + b */
            j += nz;
        }
        mask[(e0 + i) >> 3] = (uint8_t)byte;
    }
    for (size_t i = 0; i < j; i++) af_wblob_wr16(v + 2 * (*k + i), h[i]);
    *k += j;
}

/* Two passes over x in chunks (pruned on the fly, no copy of x): count, then write. */
static af_status sparse_write(const float *x, uint64_t n, const prune_cut *cut0, int rank,
                              const int64_t *dims, af_cblob *out, af_err *err)
{
    uint16_t h[CHUNK];
    prune_cut cut = cut0 ? *cut0 : (prune_cut){0, 0};
    uint64_t nnz = 0;
    for (uint64_t e = 0; e < n; e += CHUNK) {
        size_t m = n - e < CHUNK ? (size_t)(n - e) : CHUNK;
        if (!sparse_codes(x, e, m, cut0 ? &cut : NULL, h))
            return af_err_set(err, AF_ERR_FORMAT, "sparse: a weight is not finite in fp16");
        for (size_t i = 0; i < m; i++) nnz += (h[i] & 0x7fffu) != 0;
    }
    af_wblob_head hd = {AFB_ENC_SPARSE, 16, 0, 0, (uint32_t)nnz, (uint32_t)(nnz >> 32), 0};
    af_wblob_layout l;
    if (blob_start(&hd, rank, dims, &l, out, err) != AF_OK) return err->code;
    cut = cut0 ? *cut0 : cut;
    uint64_t k = 0;
    for (uint64_t e = 0; e < n; e += CHUNK) {
        size_t m = n - e < CHUNK ? (size_t)(n - e) : CHUNK;
        (void)sparse_codes(x, e, m, cut0 ? &cut : NULL, h); /* finite: checked above */
        sparse_put(h, e, m, out->data + l.params_off, out->data + l.data_off, &k);
    }
    return AF_OK;
}

// x (numel) -> mask (numel bits, LSB first, 1 = stored) + fp16 values of the set bits, in order
af_status af_enc_sparse(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                        af_cblob *out, af_err *err)
{
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return af_err_set(err, AF_ERR_USAGE, "bad shape");
    uint64_t n = rows * cols, k = p->sparsity > 0 ? (uint64_t)floor(p->sparsity * (double)n) : 0;
    prune_cut cut;
    if (k && prune_find(x, n, k, &cut, err) != AF_OK) return err->code;
    return sparse_write(x, n, k ? &cut : NULL, rank, dims, out, err);
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

uint64_t af_palette_group_rows(const af_cparams *p, uint64_t rows)
{
    if (rows == 0) return 1;
    if (p->group_size < 0) return rows;
    if (p->group_size == 0) return rows >= 2 * AF_INT4_DEFAULT_GROUP ? AF_INT4_DEFAULT_GROUP : rows;
    return (uint64_t)p->group_size < rows ? (uint64_t)p->group_size : rows;
}

void af_palette_head(af_wblob_head *h, int bits, int scaled, uint64_t rows, uint64_t g)
{
    af_wblob_head v = {bits == 4 && !scaled ? AFB_ENC_INT4_LUT : AFB_ENC_PALETTE, (uint8_t)bits,
                       (uint8_t)(scaled ? AF_WBLOB_ROW_SCALE | AF_WBLOB_ROW_OFFSET : 0), 0,
                       (uint32_t)(rows ? (rows + g - 1) / g : 1), (uint32_t)g, 0};
    *h = v;
}

/* Whether palette row k stores a scale per row under p. */
static int pal_scaled(af_ckind k, const af_cparams *p)
{
    return k == AF_CK_PAL4 || (k != AF_CK_INT4 && p->palette_scale != AF_PSCALE_NONE);
}

af_ckind af_palette_kind(int bits, int palette_scale)
{
    switch (bits) {
    case 1: return AF_CK_PAL1;
    case 2: return AF_CK_PAL2;
    case 3: return AF_CK_PAL3;
    case 4: return palette_scale == AF_PSCALE_NONE ? AF_CK_INT4 : AF_CK_PAL4;
    case 6: return AF_CK_PAL6;
    case 8: return AF_CK_PAL8;
    default: return AF_CK_COUNT;
    }
}

static uint64_t size_pal(const int64_t *dims, int rank, const af_cparams *p, af_ckind k)
{
    uint64_t rows, cols;
    if (!af_cshape(rank, dims, &rows, &cols)) return UINT64_MAX;
    af_wblob_head h;
    af_palette_head(&h, af_ctraits_table[k].palette_bits, pal_scaled(k, p), rows,
                    af_palette_group_rows(p, rows));
    return size_of_head(&h, rank, dims);
}

static af_status enc_pal(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                         af_ckind k, af_cblob *out, af_err *err)
{
    return af_enc_palette_n(x, rank, dims, p, af_ctraits_table[k].palette_bits, pal_scaled(k, p),
                            out, err);
}

/* One encoder and one size function per palette row. */
#define PALETTE_ROW(K, fn)                                                                     \
    static uint64_t size_##fn(const float *x, int rank, const int64_t *dims,                    \
                              const af_cparams *p)                                             \
    {                                                                                          \
        (void)x;                                                                               \
        return size_pal(dims, rank, p, K);                                                     \
    }                                                                                          \
    static af_status enc_##fn(const float *x, int rank, const int64_t *dims,                   \
                              const af_cparams *p, af_cblob *out, af_err *err)                 \
    {                                                                                          \
        return enc_pal(x, rank, dims, p, K, out, err);                                         \
    }
PALETTE_ROW(AF_CK_INT4, int4)
PALETTE_ROW(AF_CK_PAL1, pal1)
PALETTE_ROW(AF_CK_PAL2, pal2)
PALETTE_ROW(AF_CK_PAL3, pal3)
PALETTE_ROW(AF_CK_PAL4, pal4)
PALETTE_ROW(AF_CK_PAL6, pal6)
PALETTE_ROW(AF_CK_PAL8, pal8)

af_status af_enc_int4(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                      af_cblob *out, af_err *err)
{
    return enc_int4(x, rank, dims, p, out, err);
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

/* auto_candidate: the short list --compress auto tries (docs/compression.md "auto"): 1-3-bit
 * palettes fail any sensible gate on their own, so they are single-mode levers only. */
const af_ctraits af_ctraits_table[AF_CK_COUNT] = {
    [AF_CK_FP16] = {"fp16", AF_ENC_FP16, AF_WENC_FP16, NULL, size_fp16, 16.0, 0, 0},
    [AF_CK_INT8] = {"int8", AF_ENC_INT8, AF_WENC_INT8, af_enc_int8, size_int8, 8.0, 0, 1},
    [AF_CK_INT4] = {"int4", AF_ENC_INT4_LUT, AF_WENC_INT4, enc_int4, size_int4, 4.0, 4, 1},
    [AF_CK_SPARSE] = {"sparse", AF_ENC_SPARSE, AF_WENC_SPARSE, af_enc_sparse, size_sparse, 17.0, 0, 1},
    [AF_CK_BW4] = {"blockwise-int4", AF_ENC_BLOCKWISE, AF_WENC_BLOCKWISE, af_enc_bw4, size_bw4, 5.0, 0, 1},
    [AF_CK_BW8] = {"blockwise-int8", AF_ENC_BLOCKWISE, AF_WENC_BLOCKWISE, af_enc_bw8, size_bw8, 9.0, 0, 1},
    [AF_CK_PAL1] = {"palette1", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal1, size_pal1, 1.0, 1, 0},
    [AF_CK_PAL2] = {"palette2", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal2, size_pal2, 2.0, 2, 0},
    [AF_CK_PAL3] = {"palette3", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal3, size_pal3, 3.0, 3, 0},
    [AF_CK_PAL4] = {"palette4", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal4, size_pal4, 4.0, 4, 1},
    [AF_CK_PAL6] = {"palette6", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal6, size_pal6, 6.0, 6, 1},
    [AF_CK_PAL8] = {"palette8", AF_ENC_PALETTE, AF_WENC_PALETTE, enc_pal8, size_pal8, 8.0, 8, 1},
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

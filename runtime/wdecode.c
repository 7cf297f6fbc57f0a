/* runtime/wdecode.c — reference (scalar) decoders of the compressed weight blobs, and the
 * layout arithmetic shared with compress/'s encoders. See wdecode.h. On AArch64 the int8,
 * 4-bit table/palette and blockwise row loops run on NEON (kernels/wdec_neon.c: the same
 * floats, nothing read past a row's codes). */
#include "wdecode.h"

#include <math.h>
#include <string.h>

#include "../graph/dtype.h"
#include "qparam.h"
#if defined(__aarch64__)
#include "kernels/neon.h" /* the row loops of wdec_neon.c */
#endif

typedef unsigned long long ull;

static uint64_t align16(uint64_t x) { return (x + 15) & ~(uint64_t)15; }

/* a*b+c with overflow → 0 (returns 1 on success). */
static int mul_add(uint64_t a, uint64_t b, uint64_t c, uint64_t *out)
{
    uint64_t m;
    if (__builtin_mul_overflow(a, b, &m) || __builtin_add_overflow(m, c, out)) return 0;
    return *out < ((uint64_t)1 << 62); /* keeps align16 and later sums far from wrapping */
}

int af_wblob_rows_cols(int rank, const int64_t *dims, uint64_t *rows, uint64_t *cols)
{
    uint64_t n = 1;
    if (rank < 0 || rank > AF_MAX_RANK) return 0;
    for (int k = 0; k < rank; k++) {
        if (dims[k] < 0 || !mul_add(n, (uint64_t)dims[k], 0, &n)) return 0;
    }
    *rows = rank >= 2 ? (uint64_t)dims[0] : 1;
    *cols = *rows ? n / *rows : 0;
    return 1;
}

void af_wblob_get_head(const uint8_t *p, af_wblob_head *h)
{
    h->enc = p[0];
    h->bits = p[1];
    h->flags = p[2];
    h->reserved = p[3];
    uint32_t v[3];
    for (int k = 0; k < 3; k++) {
        const uint8_t *q = p + 4 + 4 * k;
        v[k] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    h->a = v[0];
    h->b = v[1];
    h->c = v[2];
}

void af_wblob_put_head(uint8_t *p, const af_wblob_head *h)
{
    p[0] = h->enc;
    p[1] = h->bits;
    p[2] = h->flags;
    p[3] = h->reserved;
    uint32_t v[3] = {h->a, h->b, h->c};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++) p[4 + 4 * k + i] = (uint8_t)(v[k] >> (8 * i));
}

/* the ONNX form of an int8 blob (AF_WBLOB_F32_SCALE set): scale count and
 * axis geometry from b (axis) and c (block size). */
static const char *layout_int8_onnx(const af_wblob_head *h, int rank, const int64_t *dims,
                                    af_wblob_layout *l)
{
    unsigned f = h->flags, mode = f & (AF_WBLOB_PER_CHANNEL | AF_WBLOB_AXIS | AF_WBLOB_BLOCKED);
    af_qgeom g;
    int64_t want;
    if (mode == 0) {
        if (h->b || h->c) return "int8 header fields out of range";
        want = af_qgeom_init(&g, AF_QMODE_TENSOR, rank, dims, 0, 0);
    } else if (mode == (AF_WBLOB_PER_CHANNEL | AF_WBLOB_AXIS) ||
               mode == (AF_WBLOB_BLOCKED | AF_WBLOB_AXIS)) {
        int blocked = (f & AF_WBLOB_BLOCKED) != 0;
        if ((int64_t)h->b >= rank || (blocked ? h->c == 0 : h->c != 0))
            return "int8 axis or block size out of range";
        want = af_qgeom_init(&g, blocked ? AF_QMODE_BLOCK : AF_QMODE_AXIS, rank, dims, (int)h->b,
                             h->c);
    } else {
        return "int8 flags are not a valid combination";
    }
    if ((int64_t)h->a != want) return "int8 scale count does not match the shape";
    l->q_outer = (uint64_t)g.outer, l->q_d = (uint64_t)g.d, l->q_inner = (uint64_t)g.inner;
    return NULL;
}

static const char *layout_int8(const af_wblob_head *h, int rank, const int64_t *dims,
                               af_wblob_layout *l)
{
    int per_ch = (h->flags & AF_WBLOB_PER_CHANNEL) != 0, asym = (h->flags & AF_WBLOB_ASYMMETRIC) != 0;
    int onnx = (h->flags & AF_WBLOB_F32_SCALE) != 0;
    if (h->bits != 8 || (h->flags & ~0x3fu)) return "int8 header fields out of range";
    if (onnx) {
        const char *bad = layout_int8_onnx(h, rank, dims, l);
        if (bad) return bad;
    } else {
        if (h->b || h->c || (h->flags & ~3u)) return "int8 header fields out of range";
        if (h->a != (per_ch ? l->rows : 1)) return "int8 scale count does not match the shape";
    }
    l->params_off = AFB_BLOB_HEADER_SIZE;
    l->params2_off = l->params_off + (onnx ? 4ull : 2ull) * h->a;
    l->data_off = align16(l->params2_off + (asym ? (uint64_t)h->a : 0));
    return mul_add(l->numel, 1, l->data_off, &l->total) ? NULL : "int8 size overflows";
}

/* INT4_LUT and PALETTE: tables, (row scales), codes; INT4_LUT is the 4-bit unscaled case
 * (its arrays land where they always did: 16 + 32G is a multiple of 16). */
static const char *layout_palette(const af_wblob_head *h, af_wblob_layout *l)
{
    const int int4 = h->enc == AFB_ENC_INT4_LUT, scaled = (h->flags & AF_WBLOB_ROW_SCALE) != 0;
    const int offset = (h->flags & AF_WBLOB_ROW_OFFSET) != 0;
    if (int4 ? (h->bits != 4 || h->flags) : (h->bits < 1 || h->bits > 8 || (h->flags & ~3u)))
        return int4 ? "int4 header fields out of range" : "palette header fields out of range";
    if (h->c || h->b == 0) return int4 ? "int4 header fields out of range"
                                       : "palette header fields out of range";
    uint64_t groups = (l->rows + h->b - 1) / h->b, codes;
    if (groups == 0) groups = 1;
    if (h->a != groups)
        return int4 ? "int4 table count does not match rows / group size"
                    : "palette table count does not match rows / group size";
    l->params_off = AFB_BLOB_HEADER_SIZE;
    l->params2_off = align16(l->params_off + 2ull * h->a * (1ull << h->bits));
    l->params3_off = l->params2_off + (scaled ? 2 * l->rows : 0);
    l->data_off = align16(l->params3_off + (offset ? 2 * l->rows : 0));
    if (!mul_add(l->numel, h->bits, 7, &codes) || !mul_add(codes / 8, 1, l->data_off, &l->total))
        return int4 ? "int4 size overflows" : "palette size overflows";
    return NULL;
}

static const char *layout_sparse(const af_wblob_head *h, af_wblob_layout *l)
{
    uint64_t nnz = (uint64_t)h->a | (uint64_t)h->b << 32;
    if (h->bits != 16 || h->flags || h->c) return "sparse header fields out of range";
    if (nnz > l->numel) return "sparse non-zero count exceeds the element count";
    l->params_off = AFB_BLOB_HEADER_SIZE;
    l->data_off = align16(l->params_off + (l->numel + 7) / 8);
    return mul_add(nnz, 2, l->data_off, &l->total) ? NULL : "sparse size overflows";
}

static const char *layout_blockwise(const af_wblob_head *h, af_wblob_layout *l)
{
    if ((h->bits != 4 && h->bits != 8) || h->flags) return "blockwise header fields out of range";
    if (h->b < 8 || (h->b & (h->b - 1))) return "blockwise block size not a power of two >= 8";
    if (h->a != l->rows) return "blockwise row count does not match the shape";
    if (h->c != (l->cols + h->b - 1) / h->b) return "blockwise blocks per row do not match";
    uint64_t blocks, codes;
    l->params_off = AFB_BLOB_HEADER_SIZE;
    if (!mul_add(l->rows, h->c, 0, &blocks) || !mul_add(blocks, 4, l->params_off, &l->data_off))
        return "blockwise size overflows";
    l->data_off = align16(l->data_off);
    if (!mul_add(l->numel, h->bits, 7, &codes)) return "blockwise size overflows";
    return mul_add(codes / 8, 1, l->data_off, &l->total) ? NULL : "blockwise size overflows";
}

const char *af_wblob_layout_of(const af_wblob_head *h, int rank, const int64_t *dims,
                               af_wblob_layout *out)
{
    memset(out, 0, sizeof *out);
    if (!af_wblob_rows_cols(rank, dims, &out->rows, &out->cols)) return "bad tensor shape";
    out->numel = out->rows * out->cols;
    if (h->reserved) return "nonzero reserved header byte";
    switch (h->enc) {
    case AFB_ENC_INT8: return layout_int8(h, rank, dims, out);
    case AFB_ENC_INT4_LUT:
    case AFB_ENC_PALETTE: return layout_palette(h, out);
    case AFB_ENC_SPARSE: return layout_sparse(h, out);
    case AFB_ENC_BLOCKWISE: return layout_blockwise(h, out);
    default: return "not a compressed encoding";
    }
}

/* ---- decoders --------------------------------------------------------------------------- */

static int finite_f16(uint16_t h) { return (h & 0x7c00u) != 0x7c00u; }

/* Reads n fp16 values at p into out, refusing Inf/NaN. */
static int read_f16s(const uint8_t *p, uint64_t n, float *out)
{
    for (uint64_t i = 0; i < n; i++) {
        uint16_t v = af_wblob_rd16(p + 2 * i);
        if (!finite_f16(v)) return 0;
        out[i] = af_f16_to_f32(v);
    }
    return 1;
}

// int8 codes q (rows, cols), scale s (S), zero point z (S) -> x = s * (q - z)
static af_status dec_int8_onnx(const af_wblob_head *h, const af_wblob_layout *l,
                               const uint8_t *b, float *out, af_err *err);

static af_status dec_int8(const af_wblob_head *h, const af_wblob_layout *l, const uint8_t *b,
                          float *out, af_err *err)
{
    if (h->flags & AF_WBLOB_F32_SCALE) return dec_int8_onnx(h, l, b, out, err);
    const int asym = (h->flags & AF_WBLOB_ASYMMETRIC) != 0;
    const int8_t *q = (const int8_t *)(b + l->data_off);
    for (uint64_t r = 0; r < l->rows; r++) {
        uint64_t si = h->a == 1 ? 0 : r;
        float s;
        if (!read_f16s(b + l->params_off + 2 * si, 1, &s))
            return af_err_set(err, AF_ERR_FORMAT, "int8 scale %llu is not finite", (ull)si);
        int z = asym ? (int8_t)b[l->params2_off + si] : 0;
        const int8_t *qr = q + r * l->cols;
        float *o = out + r * l->cols;
#if defined(AFK_NEON)
        if (afk_neon_on()) {
            afk_neon_dec_int8(qr, (int64_t)l->cols, s, z, o);
            continue;
        }
#endif
        for (uint64_t c = 0; c < l->cols; c++) o[c] = s * (float)(qr[c] - z);
    }
    return AF_OK;
}

/* quantized graphs */
static float rd_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

// ONNX form: codes q (outer, D, inner) int8|uint8, f32 scales s and zero points z per tensor,
// axis index or block (runtime/qparam.h) -> x = (float)(q - z) * s, as ONNX Runtime computes
static af_status dec_int8_onnx(const af_wblob_head *h, const af_wblob_layout *l,
                               const uint8_t *b, float *out, af_err *err)
{
    const int asym = (h->flags & AF_WBLOB_ASYMMETRIC) != 0, uns = (h->flags & AF_WBLOB_UNSIGNED) != 0;
    af_qgeom g = {AF_QMODE_TENSOR, 1, (int64_t)l->numel, 1, 1, 1};
    if (h->flags & AF_WBLOB_AXIS) {
        int64_t dims[3] = {(int64_t)l->q_outer, (int64_t)l->q_d, (int64_t)l->q_inner};
        af_qgeom_init(&g, (h->flags & AF_WBLOB_BLOCKED) ? AF_QMODE_BLOCK : AF_QMODE_AXIS, 3, dims,
                      1, h->c);
    }
    for (uint32_t k = 0; k < h->a; k++)
        if (!isfinite(rd_f32(b + l->params_off + 4ull * k)))
            return af_err_set(err, AF_ERR_FORMAT, "int8 scale %u is not finite", k);
    const uint8_t *q = b + l->data_off;
    uint64_t e = 0;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t i = 0; i < g.d; i++)
            for (int64_t j = 0; j < g.inner; j++, e++) {
                uint64_t k = (uint64_t)af_qgeom_index(&g, o, i, j);
                float s = rd_f32(b + l->params_off + 4 * k);
                int32_t z = !asym ? 0 : uns ? b[l->params2_off + k] : (int8_t)b[l->params2_off + k];
                int32_t v = uns ? q[e] : (int8_t)q[e];
                out[e] = af_dequantize_one(v, z, s);
            }
    return AF_OK;
}

static inline unsigned nibble(const uint8_t *p, uint64_t i) { return (p[i >> 1] >> (4 * (i & 1))) & 15u; }


// codes i (rows, cols) in n bits, tables T (groups, 2^n), row scales s (rows) when ROW_SCALE,
// row offsets o (rows) when ROW_OFFSET -> x = s[row] * T[row / R][i] + o[row] (s = 1, o = 0
// when absent)
static af_status dec_palette(const af_wblob_head *h, const af_wblob_layout *l, const uint8_t *b,
                             float *out, af_err *err)
{
    const char *nm = h->enc == AFB_ENC_INT4_LUT ? "int4" : "palette";
    const unsigned bits = h->bits, k = 1u << bits;
    const uint8_t *idx = b + l->data_off;
    uint64_t used = l->numel * bits;
    if (h->enc == AFB_ENC_PALETTE && (used & 7) && (idx[used >> 3] >> (used & 7)))
        return af_err_set(err, AF_ERR_FORMAT, "palette codes have bits set past the last element");
    float lut[256];
    for (uint64_t g = 0; g < h->a; g++) {
        if (!read_f16s(b + l->params_off + 2ull * k * g, k, lut))
            return af_err_set(err, AF_ERR_FORMAT, "%s table %llu has a non-finite entry", nm, (ull)g);
        uint64_t r0 = g * h->b, r1 = r0 + h->b < l->rows ? r0 + h->b : l->rows;
        if (l->rows == 0) r1 = 0;
        for (uint64_t r = r0; r < r1; r++) {
            float s = 1.0f, off = 0.0f;
            if (((h->flags & AF_WBLOB_ROW_SCALE) && !read_f16s(b + l->params2_off + 2 * r, 1, &s)) ||
                ((h->flags & AF_WBLOB_ROW_OFFSET) && !read_f16s(b + l->params3_off + 2 * r, 1, &off)))
                return af_err_set(err, AF_ERR_FORMAT, "palette scale or offset of row %llu is "
                                  "not finite", (ull)r);
            float *o = out + r * l->cols;
            uint64_t e0 = r * l->cols;
#if defined(AFK_NEON)
            if (bits == 4 && afk_neon_on()) {
                afk_neon_dec_lut4(idx, e0, (int64_t)l->cols, lut, h->flags != 0, s, off, o);
                continue;
            }
#endif
            if (bits == 4 && !h->flags)
                for (uint64_t c = 0; c < l->cols; c++) o[c] = lut[nibble(idx, e0 + c)];
            else
                for (uint64_t c = 0; c < l->cols; c++)
                    o[c] = s * lut[af_wblob_code_at(idx, e0 + c, bits)] + off;
        }
    }
    return AF_OK;
}

// mask m (numel bits, LSB first), values v (nnz) -> x[e] = m[e] ? v[rank of e] : 0
static af_status dec_sparse(const af_wblob_head *h, const af_wblob_layout *l, const uint8_t *b,
                            float *out, af_err *err)
{
    const uint8_t *m = b + l->params_off;
    const uint8_t *v = b + l->data_off;
    uint64_t nnz = (uint64_t)h->a | (uint64_t)h->b << 32, k = 0;
    uint64_t nbytes = (l->numel + 7) / 8;
    for (uint64_t i = 0; i < nbytes; i++) k += (uint64_t)__builtin_popcount(m[i]);
    if (k != nnz)
        return af_err_set(err, AF_ERR_FORMAT, "sparse mask has %llu set bits, header says %llu",
                          (ull)k, (ull)nnz);
    if ((l->numel & 7) && (m[nbytes - 1] >> (l->numel & 7)))
        return af_err_set(err, AF_ERR_FORMAT, "sparse mask has bits set past the last element");
    k = 0;
    for (uint64_t e = 0; e < l->numel; e++) {
        if (!((m[e >> 3] >> (e & 7)) & 1)) {
            out[e] = 0.0f;
            continue;
        }
        uint16_t hv = af_wblob_rd16(v + 2 * k++);
        if (!finite_f16(hv)) return af_err_set(err, AF_ERR_FORMAT, "sparse value not finite");
        out[e] = af_f16_to_f32(hv);
    }
    return AF_OK;
}

// codes q (rows, cols) in 4/8 bits, per block (scale s, offset o) -> x = q * s + o
static af_status dec_blockwise(const af_wblob_head *h, const af_wblob_layout *l,
                               const uint8_t *b, float *out, af_err *err)
{
    const uint8_t *q = b + l->data_off;
    const uint64_t bs = h->b;
    for (uint64_t r = 0; r < l->rows; r++) {
        for (uint64_t k = 0; k < h->c; k++) {
            float so[2];
            if (!read_f16s(b + l->params_off + 4 * (r * h->c + k), 2, so))
                return af_err_set(err, AF_ERR_FORMAT, "blockwise scale/offset not finite");
            uint64_t c0 = k * bs, c1 = c0 + bs < l->cols ? c0 + bs : l->cols;
#if defined(AFK_NEON)
            if (afk_neon_on()) {
                afk_neon_dec_blk(q, r * l->cols + c0, (int64_t)(c1 - c0), h->bits, so[0], so[1],
                                 out + r * l->cols + c0);
                continue;
            }
#endif
            for (uint64_t c = c0; c < c1; c++) {
                uint64_t e = r * l->cols + c;
                unsigned code = h->bits == 8 ? q[e] : nibble(q, e);
                out[e] = (float)code * so[0] + so[1];
            }
        }
    }
    return AF_OK;
}

const af_wdecode_info af_wdecode_table[AFB_ENC_COUNT] = {
    [AFB_ENC_RAW] = {"raw", NULL},
    [AFB_ENC_FP16] = {"fp16", NULL},
    [AFB_ENC_INT8] = {"int8", dec_int8},
    [AFB_ENC_INT4_LUT] = {"int4", dec_palette},
    [AFB_ENC_SPARSE] = {"sparse", dec_sparse},
    [AFB_ENC_BLOCKWISE] = {"blockwise", dec_blockwise},
    [AFB_ENC_PALETTE] = {"palette", dec_palette},
};

static af_status check_blob(afb_encoding enc, const uint8_t *blob, uint64_t bytes, int rank,
                            const int64_t *dims, const char *what, af_wblob_head *hp,
                            af_wblob_layout *lp, af_err *err)
{
    if ((unsigned)enc >= AFB_ENC_COUNT || !af_wdecode_table[enc].decode)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "tensor '%s': encoding %u has no decoder",
                          what, (unsigned)enc);
    if (bytes < AFB_BLOB_HEADER_SIZE)
        return af_err_set(err, AF_ERR_FORMAT, "tensor '%s': %s blob of %llu bytes is shorter "
                          "than its header", what, af_wdecode_table[enc].name, (ull)bytes);
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(blob, &h);
    if (h.enc != enc)
        return af_err_set(err, AF_ERR_FORMAT, "tensor '%s': blob header says encoding %u, the "
                          "record says %u", what, h.enc, (unsigned)enc);
    const char *bad = af_wblob_layout_of(&h, rank, dims, &l);
    if (bad) return af_err_set(err, AF_ERR_FORMAT, "tensor '%s': %s blob: %s", what,
                               af_wdecode_table[enc].name, bad);
    if (l.total != bytes)
        return af_err_set(err, AF_ERR_FORMAT, "tensor '%s': %s blob is %llu bytes, its header "
                          "and shape need %llu", what, af_wdecode_table[enc].name, (ull)bytes,
                          (ull)l.total);
    *hp = h;
    *lp = l;
    return AF_OK;
}

af_status af_wdecode_check(afb_encoding enc, const uint8_t *blob, uint64_t bytes, int rank,
                           const int64_t *dims, const char *what, af_err *err)
{
    af_wblob_head h;
    af_wblob_layout l;
    return check_blob(enc, blob, bytes, rank, dims, what, &h, &l, err);
}

af_status af_wdecode(afb_encoding enc, const uint8_t *blob, uint64_t bytes, int rank,
                     const int64_t *dims, float *out, const char *what, af_err *err)
{
    af_wblob_head h;
    af_wblob_layout l;
    af_status st = check_blob(enc, blob, bytes, rank, dims, what, &h, &l, err);
    if (st) return st;
    if (af_wdecode_table[enc].decode(&h, &l, blob, out, err) != AF_OK)
        return af_err_prefix(err, what);
    return AF_OK;
}

/* runtime/kernels/cpanel.c — compressed A panels: int8, palette and blockwise codes in the
 * packed GEMM's panel order, decoded one panel at a time (see cpanel.h). Built with
 * -ffp-contract=off (CMakeLists.txt): a multiply and an add must stay two roundings, as in
 * the reference decoder. */
#include "cpanel.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../graph/dtype.h"
#include "../wdecode.h"
#include "internal.h"
#include "neon.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define AFK_CW_X86 1
#endif

/* LANES_MAX: the vector decoders' widest panel; PANEL_MAX: any panel's (a B panel is NR = 32) */
enum { KC = AFK_PGEMM_KC, LANES_MAX = 16, PANEL_MAX = 32, AFK_CW_PAD = 16, SPARSE_PAD = 64 };

int afk_cw_force_portable;

static uint64_t up64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

/* ---- what runs compressed ------------------------------------------------------------------ */

static float rd_f32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int f16s_finite(const uint8_t *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++)
        if ((af_wblob_rd16(p + 2 * i) & 0x7c00u) == 0x7c00u) return 0;
    return 1;
}

/* int8: per-tensor or per-output-row scales, f16 (compress/) or f32 (an ONNX model's own). */
static const char *int8_why_not(const af_wblob_head *h, const af_wblob_layout *l,
                                const uint8_t *blob)
{
    if (h->flags & AF_WBLOB_F32_SCALE) {
        unsigned mode = h->flags & (AF_WBLOB_PER_CHANNEL | AF_WBLOB_AXIS | AF_WBLOB_BLOCKED);
        if (mode & AF_WBLOB_BLOCKED) return "int8 with blocked scales";
        if (mode && (h->b != 0 || l->q_outer != 1 || l->q_d != l->rows))
            return "int8 scales along an axis other than the output channel";
        for (uint32_t k = 0; k < h->a; k++)
            if (!isfinite(rd_f32(blob + l->params_off + 4ull * k))) return "int8 scale not finite";
        return NULL;
    }
    return f16s_finite(blob + l->params_off, h->a) ? NULL : "int8 scale not finite";
}

static const char *pal_why_not(const af_wblob_head *h, const af_wblob_layout *l,
                               const uint8_t *blob)
{
    if (!f16s_finite(blob + l->params_off, (1ull << h->bits) * h->a))
        return "palette table not finite";
    if (h->bits > 4 && (uint64_t)h->a << h->bits > INT32_MAX) /* the gathers' int32 indices */
        return "palette tables too many for the decoders' indices";
    if ((h->flags & AF_WBLOB_ROW_SCALE) && !f16s_finite(blob + l->params2_off, l->rows))
        return "palette row scale not finite";
    if ((h->flags & AF_WBLOB_ROW_OFFSET) && !f16s_finite(blob + l->params3_off, l->rows))
        return "palette row offset not finite";
    uint64_t used = l->numel * h->bits;
    if (h->enc == AFB_ENC_PALETTE && (used & 7) && (blob[l->data_off + (used >> 3)] >> (used & 7)))
        return "palette codes have bits set past the last element";
    return NULL;
}

/* Set bits of the mask m in [b0, b1) (reads only the bytes holding them). */
static uint64_t bits_set(const uint8_t *m, uint64_t b0, uint64_t b1)
{
    uint64_t k = 0;
    for (; b0 < b1 && (b0 & 7); b0++) k += (m[b0 >> 3] >> (b0 & 7)) & 1u;
    for (; b0 + 64 <= b1; b0 += 64) {
        uint64_t w;
        memcpy(&w, m + (b0 >> 3), sizeof w);
        k += (uint64_t)__builtin_popcountll(w);
    }
    for (; b0 + 8 <= b1; b0 += 8) k += (uint64_t)__builtin_popcount(m[b0 >> 3]);
    for (; b0 < b1; b0++) k += (m[b0 >> 3] >> (b0 & 7)) & 1u;
    return k;
}

/* sparse: what the reference decoder checks (mask count, no bits past the end, finite values) */
static const char *sparse_why_not(const af_wblob_head *h, const af_wblob_layout *l,
                                  const uint8_t *blob)
{
    const uint8_t *m = blob + l->params_off, *v = blob + l->data_off;
    const uint64_t nnz = (uint64_t)h->a | (uint64_t)h->b << 32, nb = (l->numel + 7) / 8;
    if (bits_set(m, 0, 8 * nb) != nnz) return "sparse mask count differs from the header";
    if ((l->numel & 7) && (m[nb - 1] >> (l->numel & 7)))
        return "sparse mask has bits set past the last element";
    for (uint64_t i = 0; i < nnz; i += 4096) { /* no early exit inside a chunk: vectorizes */
        unsigned bad = 0;
        for (uint64_t j = i; j < nnz && j < i + 4096; j++)
            bad |= (af_wblob_rd16(v + 2 * j) & 0x7c00u) == 0x7c00u;
        if (bad) return "sparse value not finite";
    }
    return NULL;
}

static const char *parse(const uint8_t *blob, int rank, const int64_t *dims, af_wblob_head *h,
                         af_wblob_layout *l)
{
    af_wblob_get_head(blob, h);
    const char *bad = af_wblob_layout_of(h, rank, dims, l);
    if (bad) return bad;
    if (rank < 2 || l->numel == 0) return "not a matrix of weights";
    switch (h->enc) {
    case AFB_ENC_INT8: return int8_why_not(h, l, blob);
    case AFB_ENC_INT4_LUT:
    case AFB_ENC_PALETTE: return pal_why_not(h, l, blob);
    case AFB_ENC_SPARSE: return sparse_why_not(h, l, blob);
    case AFB_ENC_BLOCKWISE:
        return f16s_finite(blob + l->params_off, 2 * l->rows * h->c)
                   ? NULL : "blockwise scale/offset not finite";
    default: return "not a compressed encoding";
    }
}

const char *afk_cw_why_not(const uint8_t *blob, int rank, const int64_t *dims)
{
    af_wblob_head h;
    af_wblob_layout l;
    return parse(blob, rank, dims, &h, &l);
}

/* ---- layout ---------------------------------------------------------------------------------- */

static uint64_t panel_bytes(int64_t mr, int64_t kc, int bits)
{
    return ((uint64_t)(mr * kc) * (uint64_t)bits + 7) / 8;
}

/* Code bytes of one k block of kc columns over rows rows in mr-row panels. */
static uint64_t block_bytes(int64_t rows, int mr, int64_t kc, int bits)
{
    uint64_t b = (uint64_t)(rows / mr) * panel_bytes(mr, kc, bits);
    return rows % mr ? b + panel_bytes(rows % mr, kc, bits) : b;
}

/* Byte offset of panel (k0, i0) inside a sub-matrix. */
static uint64_t panel_at(const afk_cw *cw, int64_t k0, int64_t i0)
{
    int64_t kc = cw->K - k0 < KC ? cw->K - k0 : KC;
    return (uint64_t)(k0 / KC) * block_bytes(cw->rows, cw->mr, KC, cw->bits) +
           (uint64_t)(i0 / cw->mr) * panel_bytes(cw->mr, kc, cw->bits);
}

/* Sparse, after the header: the index of each panel's first non-zero (rows form: each stored
 * row's), the mask's panels (code_off), the non-zeros as halves (val_off), then SPARSE_PAD bytes
 * the vector decoders may read past the last non-zero (16 halves from any index <= nnz). */
static void plan_sparse(afk_cw *cw, const af_wblob_head *h, const af_wblob_layout *l)
{
    const uint64_t n_idx = cw->rowmajor ? l->rows
                                        : (uint64_t)(cw->G * ((cw->K + KC - 1) / KC) *
                                                     ((cw->rows + cw->mr - 1) / cw->mr));
    const uint64_t off = up64(sizeof *cw), nnz = (uint64_t)h->a | (uint64_t)h->b << 32;
    cw->scale_off = cw->aux_off = cw->table_off = cw->idx_off = off;
    cw->code_off = up64(off + 8 * n_idx);
    cw->val_off = up64(cw->code_off + cw->sub_bytes * (uint64_t)cw->G);
    cw->total = cw->val_off + 2 * nnz + SPARSE_PAD;
}

/* Fills the header (offsets, sizes) for G sub-matrices; 0 when the blob does not fit. tr = 2:
 * the rows form (G = 1, mr = 1, the codes as stored). */
static int plan(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr, int tr,
                afk_cw *cw, af_wblob_head *h, af_wblob_layout *l)
{
    memset(cw, 0, sizeof *cw);
    if (G < 1 || mr < 1 || mr > PANEL_MAX || parse(blob, rank, dims, h, l) ||
        l->rows % (uint64_t)G || (tr && (G != 1 || rank != 2)))
        return 0;
    const int rowmajor = tr == 2;
    tr = tr == 1;
    const int int8 = h->enc == AFB_ENC_INT8, blk = h->enc == AFB_ENC_BLOCKWISE;
    const int sp = h->enc == AFB_ENC_SPARSE;
    cw->sbits = int8 ? 8 : sp ? 1 : h->bits;
    if (sp) cw->kind = AFK_CW_SPARSE;
    else if (int8 || blk) cw->kind = int8 ? AFK_CW_INT8 : AFK_CW_BLK; /* palettes: as af_wdecode */
    else if (h->bits > 4) cw->kind = AFK_CW_PAL8;
    else cw->kind = h->bits == 4 && !h->flags ? AFK_CW_LUT4 : AFK_CW_PAL4;
    cw->mr = mr, cw->bits = sp ? 1 : cw->sbits > 4 ? 8 : 4;
    cw->tsize = cw->kind == AFK_CW_PAL8 ? 1 << h->bits : sp ? 0 : 16;
    cw->uns = blk || cw->kind == AFK_CW_PAL8 ||
              (int8 && (h->flags & AF_WBLOB_F32_SCALE) && (h->flags & AF_WBLOB_UNSIGNED));
    cw->tr = tr, cw->rowmajor = rowmajor;
    cw->rows = (int64_t)(tr ? l->cols : l->rows / G), cw->K = (int64_t)(tr ? l->rows : l->cols);
    cw->G = G;
    cw->R = int8 || sp ? 0 : (int64_t)h->b; /* blockwise: the block size */
    int64_t full = cw->K / KC, rest = cw->K % KC;
    cw->sub_bytes = (uint64_t)full * block_bytes(cw->rows, mr, KC, cw->bits) +
                    (rest ? block_bytes(cw->rows, mr, rest, cw->bits) : 0);
    if (rowmajor) cw->sub_bytes = (l->numel * (uint64_t)cw->bits + 7) / 8;
    if (sp) {
        plan_sparse(cw, h, l);
        return 1;
    }
    uint64_t off = up64(sizeof *cw), nrow = l->rows * (blk ? h->c : 1); /* blockwise: per block */
    cw->scale_off = off;
    if (cw->kind != AFK_CW_LUT4) off = up64(off + 4 * nrow);
    cw->aux_off = off;
    if (cw->kind != AFK_CW_LUT4) off = up64(off + 4 * nrow);
    cw->table_off = off;
    if (!int8 && !blk) off = up64(off + 4ull * (uint64_t)cw->tsize * h->a);
    cw->code_off = off;
    cw->total = off + cw->sub_bytes * (uint64_t)G + AFK_CW_PAD;
    return 1;
}

size_t afk_cw_bytes(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr)
{
    afk_cw cw;
    af_wblob_head h;
    af_wblob_layout l;
    return plan(blob, rank, dims, G, mr, 0, &cw, &h, &l) ? (size_t)cw.total : 0;
}

size_t afk_cw_bytes_t(const uint8_t *blob, int rank, const int64_t *dims, int mr)
{
    afk_cw cw;
    af_wblob_head h;
    af_wblob_layout l;
    return plan(blob, rank, dims, 1, mr, 1, &cw, &h, &l) ? (size_t)cw.total : 0;
}

/* ---- packing --------------------------------------------------------------------------------- */

/* int8: row r's scale and zero point as the decoder applies them. */
static void int8_row(const af_wblob_head *h, const af_wblob_layout *l, const uint8_t *blob,
                     int uns, uint64_t r, float *s, int32_t *z)
{
    const int asym = (h->flags & AF_WBLOB_ASYMMETRIC) != 0;
    uint64_t si = h->a == 1 ? 0 : r;
    if (h->flags & AF_WBLOB_F32_SCALE) {
        *s = rd_f32(blob + l->params_off + 4 * si);
        *z = !asym ? 0 : uns ? blob[l->params2_off + si] : (int8_t)blob[l->params2_off + si];
    } else {
        *s = af_f16_to_f32(af_wblob_rd16(blob + l->params_off + 2 * si));
        *z = asym ? (int8_t)blob[l->params2_off + si] : 0;
    }
}

int afk_cw_int8_rows(const uint8_t *blob, int rank, const int64_t *dims, const uint8_t **codes,
                     int64_t *rows, int64_t *cols, int *uns, float *s, int32_t *z)
{
    af_wblob_head h;
    af_wblob_layout l;
    if (parse(blob, rank, dims, &h, &l) || h.enc != AFB_ENC_INT8) return 0;
    *codes = blob + l.data_off;
    *rows = (int64_t)l.rows, *cols = (int64_t)l.cols;
    *uns = (h.flags & AF_WBLOB_F32_SCALE) && (h.flags & AF_WBLOB_UNSIGNED);
    for (uint64_t r = 0; s && z && r < l.rows; r++) int8_row(&h, &l, blob, *uns, r, s + r, z + r);
    return 1;
}

int afk_cw_int8_one_zero(const uint8_t *blob, int rank, const int64_t *dims)
{
    af_wblob_head h;
    af_wblob_layout l;
    if (parse(blob, rank, dims, &h, &l) || h.enc != AFB_ENC_INT8) return 0;
    int uns = (h.flags & AF_WBLOB_F32_SCALE) && (h.flags & AF_WBLOB_UNSIGNED);
    float s;
    int32_t z0, z;
    int8_row(&h, &l, blob, uns, 0, &s, &z0);
    for (uint64_t r = 1; r < l.rows; r++) {
        int8_row(&h, &l, blob, uns, r, &s, &z);
        if (z != z0) return 0;
    }
    return 1;
}

/* Per-row f32 parameters: int8 scale and zero point; pal4 scale and offset (1 and 0 when the
 * blob has none, as the decoder uses them); the tables widened to f32. */
static void pack_params(const afk_cw *cw, const af_wblob_head *h, const af_wblob_layout *l,
                        const uint8_t *blob, uint8_t *dst)
{
    float *s = (float *)(dst + cw->scale_off), *o = (float *)(dst + cw->aux_off);
    int32_t *z = (int32_t *)(dst + cw->aux_off);
    for (uint64_t r = 0; r < l->rows && cw->kind == AFK_CW_INT8; r++)
        int8_row(h, l, blob, cw->uns, r, s + r, z + r);
    const int pal = cw->kind == AFK_CW_PAL4 || cw->kind == AFK_CW_PAL8;
    for (uint64_t r = 0; r < l->rows && pal; r++) {
        s[r] = (h->flags & AF_WBLOB_ROW_SCALE)
                   ? af_f16_to_f32(af_wblob_rd16(blob + l->params2_off + 2 * r)) : 1.0f;
        o[r] = (h->flags & AF_WBLOB_ROW_OFFSET)
                   ? af_f16_to_f32(af_wblob_rd16(blob + l->params3_off + 2 * r)) : 0.0f;
    }
    for (uint64_t r = 0; r < l->rows && cw->kind == AFK_CW_BLK; r++) /* [block][row] */
        for (uint64_t k = 0; k < h->c; k++) {
            const uint8_t *so = blob + l->params_off + 4 * (r * h->c + k);
            s[k * l->rows + r] = af_f16_to_f32(af_wblob_rd16(so));
            o[k * l->rows + r] = af_f16_to_f32(af_wblob_rd16(so + 2));
        }
    float *t = (float *)(dst + cw->table_off); /* 2^bits entries in tsize slots (zeros past) */
    const uint64_t k = 1ull << cw->sbits;
    for (uint64_t i = 0; (pal || cw->kind == AFK_CW_LUT4) && i < k * h->a; i++)
        t[i / k * (uint64_t)cw->tsize + i % k] =
            af_f16_to_f32(af_wblob_rd16(blob + l->params_off + 2 * i));
}

// codes (rows, K) of sub-matrix gi -> panels (k0, i0), each k-major: code (i0+i, k0+kk) at kk*mr+i
static void pack_codes(const afk_cw *cw, const uint8_t *codes, int64_t gi, uint8_t *dst)
{
    const int64_t K = cw->K;
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
        int64_t kc = K - k0 < KC ? K - k0 : KC;
        for (int64_t i0 = 0; i0 < cw->rows; i0 += cw->mr) {
            int mr = cw->rows - i0 < cw->mr ? (int)(cw->rows - i0) : cw->mr;
            uint8_t *p = dst + panel_at(cw, k0, i0);
            memset(p, 0, panel_bytes(mr, kc, cw->bits));
            for (int64_t kk = 0; kk < kc; kk++)
                for (int i = 0; i < mr; i++) {
                    uint64_t src = cw->tr ? (uint64_t)((k0 + kk) * cw->rows + i0 + i)
                                          : (uint64_t)((gi * cw->rows + i0 + i) * K + k0 + kk);
                    uint64_t e = (uint64_t)(kk * mr + i);
                    unsigned c = cw->sbits == 8 ? codes[src]
                                                : af_wblob_code_at(codes, src, (unsigned)cw->sbits);
                    if (cw->bits == 8) p[e] = (uint8_t)c;
                    else af_wblob_put_code(p, e, (unsigned)cw->bits, c);
                }
        }
    }
}

/* Sparse panels' non-zeros: walks every panel of the row panel at stored row r (lanes
 * r..r+mr: mr running ranks into the stored non-zeros sv), its k blocks in order, and copies
 * the halves its mask bits select to where the panel's run starts (idx). */
static void sparse_vals_rows(const afk_cw *cw, const uint8_t *m, const uint8_t *sv, int64_t gi,
                             int64_t i0, uint64_t *rank, const uint64_t *idx, uint16_t *val)
{
    const int64_t nkb = (cw->K + KC - 1) / KC, npan = (cw->rows + cw->mr - 1) / cw->mr;
    const int mr = cw->rows - i0 < cw->mr ? (int)(cw->rows - i0) : cw->mr;
    uint64_t cur[PANEL_MAX];
    const uint64_t r0 = (uint64_t)(gi * cw->rows + i0), K = (uint64_t)cw->K;
    for (int i = 0; i < mr; i++) { /* rows in stored order: each rank follows the last */
        cur[i] = *rank;
        *rank += bits_set(m, (r0 + (uint64_t)i) * K, (r0 + (uint64_t)i + 1) * K);
    }
    for (int64_t kb = 0; kb < nkb; kb++) {
        const int64_t k0 = kb * KC, kc = cw->K - k0 < KC ? cw->K - k0 : KC;
        uint64_t pos = idx[(gi * nkb + kb) * npan + i0 / cw->mr];
        for (int64_t kk = 0; kk < kc; kk++)
            for (int i = 0; i < mr; i++) {
                uint64_t e = (r0 + (uint64_t)i) * K + (uint64_t)(k0 + kk);
                if ((m[e >> 3] >> (e & 7)) & 1u) val[pos++] = af_wblob_rd16(sv + 2 * cur[i]++);
            }
    }
}

/* The same for the transposed panels (lanes = stored columns): k block kb's stored rows, kc
 * running ranks, its panels in order. */
static void sparse_vals_tr(const afk_cw *cw, const uint8_t *m, const uint8_t *sv, int64_t kb,
                           uint64_t *rank, const uint64_t *idx, uint16_t *val)
{
    const int64_t npan = (cw->rows + cw->mr - 1) / cw->mr, k0 = kb * KC;
    const int64_t kc = cw->K - k0 < KC ? cw->K - k0 : KC;
    const uint64_t N = (uint64_t)cw->rows;
    uint64_t cur[KC];
    for (int64_t kk = 0; kk < kc; kk++) {
        cur[kk] = *rank;
        *rank += bits_set(m, (uint64_t)(k0 + kk) * N, (uint64_t)(k0 + kk + 1) * N);
    }
    for (int64_t i0 = 0; i0 < cw->rows; i0 += cw->mr) {
        const int mr = cw->rows - i0 < cw->mr ? (int)(cw->rows - i0) : cw->mr;
        uint64_t pos = idx[kb * npan + i0 / cw->mr];
        for (int64_t kk = 0; kk < kc; kk++)
            for (int i = 0; i < mr; i++) {
                uint64_t e = (uint64_t)(k0 + kk) * N + (uint64_t)(i0 + i);
                if ((m[e >> 3] >> (e & 7)) & 1u) val[pos++] = af_wblob_rd16(sv + 2 * cur[kk]++);
            }
    }
}

// mask m (numel bits, stored order), non-zeros sv (nnz halves, stored order) -> the mask cut
// into panels (1-bit codes), each panel's first non-zero, the non-zeros in the panels' order;
// rows form: the mask and non-zeros as stored, each row's first non-zero
static void pack_sparse(const afk_cw *cw, const af_wblob_layout *l, const uint8_t *blob,
                        uint8_t *d)
{
    const uint8_t *m = blob + l->params_off, *sv = blob + l->data_off;
    uint64_t *idx = (uint64_t *)(d + cw->idx_off), rank = 0;
    uint16_t *val = (uint16_t *)(d + cw->val_off);
    if (cw->rowmajor) {
        memcpy(d + cw->code_off, m, cw->sub_bytes);
        for (uint64_t r = 0; r < l->rows; r++) {
            idx[r] = rank;
            rank += bits_set(m, r * l->cols, (r + 1) * l->cols);
        }
        for (uint64_t i = 0; i < rank; i++) val[i] = af_wblob_rd16(sv + 2 * i);
        return;
    }
    for (int64_t gi = 0; gi < cw->G; gi++) /* the mask, as 1-bit codes */
        pack_codes(cw, m, gi, d + cw->code_off + (uint64_t)gi * cw->sub_bytes);
    uint64_t pos = 0, p = 0; /* panels in order: each run starts where the last ended */
    for (int64_t gi = 0; gi < cw->G; gi++)
        for (int64_t k0 = 0; k0 < cw->K; k0 += KC)
            for (int64_t i0 = 0; i0 < cw->rows; i0 += cw->mr) {
                const uint8_t *pm = d + cw->code_off + (uint64_t)gi * cw->sub_bytes +
                                    panel_at(cw, k0, i0);
                int64_t kc = cw->K - k0 < KC ? cw->K - k0 : KC;
                int mr = cw->rows - i0 < cw->mr ? (int)(cw->rows - i0) : cw->mr;
                idx[p++] = pos;
                pos += bits_set(pm, 0, (uint64_t)(mr * kc));
            }
    for (int64_t gi = 0; gi < cw->G && !cw->tr; gi++)
        for (int64_t i0 = 0; i0 < cw->rows; i0 += cw->mr)
            sparse_vals_rows(cw, m, sv, gi, i0, &rank, idx, val);
    for (int64_t kb = 0; kb * KC < cw->K && cw->tr; kb++)
        sparse_vals_tr(cw, m, sv, kb, &rank, idx, val);
}

static void pack_any(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr,
                     int tr, void *dst)
{
    afk_cw cw;
    af_wblob_head h;
    af_wblob_layout l;
    if (!plan(blob, rank, dims, G, mr, tr, &cw, &h, &l)) return;
    uint8_t *d = dst;
    memset(d, 0, cw.code_off);
    memset(d + cw.total - AFK_CW_PAD, 0, AFK_CW_PAD);
    memcpy(d, &cw, sizeof cw);
    if (cw.kind == AFK_CW_SPARSE) { /* everything after the codes: alignment gap, pad */
        uint64_t end = cw.code_off + cw.sub_bytes * (uint64_t)cw.G;
        memset(d + end, 0, cw.val_off - end);
        memset(d + cw.total - SPARSE_PAD, 0, SPARSE_PAD);
        pack_sparse(&cw, &l, blob, d);
        return;
    }
    pack_params(&cw, &h, &l, blob, d);
    if (cw.rowmajor) { /* the stored codes: bytes as they are, or widened to 4 / 8 bits */
        uint8_t *p = d + cw.code_off;
        const uint8_t *src = blob + l.data_off;
        if (cw.sbits == cw.bits) memcpy(p, src, cw.sub_bytes);
        for (uint64_t e = 0; cw.sbits != cw.bits && e < l.numel; e++) {
            unsigned c = af_wblob_code_at(src, e, (unsigned)cw.sbits);
            if (cw.bits == 8) p[e] = (uint8_t)c;
            else af_wblob_put_code(p, e, 4, c);
        }
        return;
    }
    for (int64_t gi = 0; gi < G; gi++)
        pack_codes(&cw, blob + l.data_off, gi, d + cw.code_off + (uint64_t)gi * cw.sub_bytes);
}

void afk_cw_pack(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr,
                 void *dst)
{
    pack_any(blob, rank, dims, G, mr, 0, dst);
}

void afk_cw_pack_t(const uint8_t *blob, int rank, const int64_t *dims, int mr, void *dst)
{
    pack_any(blob, rank, dims, 1, mr, 1, dst);
}

size_t afk_cw_bytes_rows(const uint8_t *blob, const int64_t *dims)
{
    afk_cw cw;
    af_wblob_head h;
    af_wblob_layout l;
    return plan(blob, 2, dims, 1, 1, 2, &cw, &h, &l) ? (size_t)cw.total : 0;
}

void afk_cw_pack_rows(const uint8_t *blob, const int64_t *dims, void *dst)
{
    pack_any(blob, 2, dims, 1, 1, 2, dst);
}

/* ---- decoding -------------------------------------------------------------------------------- */

typedef afk_cw_panel cw_panel;

/* The stored weight's (r, col), its code element e of p->codes. */
static float value_at(const cw_panel *p, int64_t r, int64_t col, uint64_t e)
{
    const afk_cw *cw = p->cw;
    if (cw->kind == AFK_CW_BLK) { /* x = (float)code * s + o of the row's block */
        int64_t b = col / cw->R * p->nrow + r;
        unsigned c = cw->bits == 8 ? p->codes[e] : af_wblob_code_at(p->codes, e, 4);
        return (float)c * p->s[b] + p->o[b];
    }
    if (cw->kind == AFK_CW_INT8) {
        int32_t q = cw->uns ? p->codes[e] : (int8_t)p->codes[e];
        return p->s[r] * (float)(q - p->z[r]);
    }
    unsigned c = cw->bits == 8 ? p->codes[e] : af_wblob_code_at(p->codes, e, 4);
    float v = p->t[r / cw->R * cw->tsize + (int64_t)c];
    return cw->kind == AFK_CW_LUT4 ? v : p->s[r] * v + p->o[r];
}

/* ap[e] for e in [e0, e1): element e is lane r0 + e % mr, column k0 + e / mr of the panel;
 * the stored weight's row r and column c are (lane, column), or (column, lane) when tr. */
static void decode_portable(const cw_panel *p, int64_t e0, int64_t e1, float *ap)
{
    const afk_cw *cw = p->cw;
    for (int64_t e = e0; e < e1; e++) {
        int64_t lane = p->r0 + e % p->mr, k = p->k0 + e / p->mr;
        ap[e] = cw->tr ? value_at(p, k, lane, (uint64_t)e) : value_at(p, lane, k, (uint64_t)e);
    }
}

/* Rows form: dst[j] = W[r][c0 + j], j < n (code r * K + c0 + j). */
static void row_portable(const cw_panel *p, int64_t r, int64_t c0, int64_t n, float *dst)
{
    uint64_t e = (uint64_t)(r * p->cw->K + c0);
    for (int64_t j = 0; j < n; j++) dst[j] = value_at(p, r, c0 + j, e + (uint64_t)j);
}

#ifdef AFK_CW_X86 /* (only the x86 decoders use it) */
/* Lane i (row r0 + i) of a k step: its table, counted from the panel's first. */
static void lane_tables(const cw_panel *p, int *tab, int *nt)
{
    const afk_cw *cw = p->cw;
    int64_t left = cw->R ? cw->R - p->r0 % cw->R : 0;
    int t = 0;
    for (int i = 0; i < p->mr; i++, left--) {
        if (cw->R && left == 0) t++, left = cw->R;
        tab[i] = t;
    }
    *nt = t + 1;
}

#define TGT512 __attribute__((target("avx512f,avx2")))
#define TGT256 __attribute__((target("avx2")))
#define RN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* The mr codes of k step kk (lanes 0..mr-1; the rest garbage): int8 sign- or zero-extended,
 * 4-bit nibbles LSB first (an odd start drops the first nibble). Reads up to 16 bytes from
 * the step's first: the buffer has AFK_CW_PAD bytes after its last panel. */
TGT512 static inline __m512i step_codes512(const cw_panel *p, int64_t kk)
{
    uint64_t e = (uint64_t)(kk * p->mr);
    if (p->cw->bits == 8) {
        __m128i b = _mm_loadu_si128((const __m128i *)(p->codes + e));
        return p->cw->uns ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
    }
    __m128i b = _mm_loadl_epi64((const __m128i *)(p->codes + (e >> 1))), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    __m128i c = _mm_unpacklo_epi8(lo, hi);
    if (e & 1) c = _mm_srli_si128(c, 1);
    return _mm512_cvtepu8_epi32(c);
}

// codes, mr lanes per k step -> x = s * (float)(q - z) | T[c] | s * T[c] + o, one panel
TGT512 static void decode512(const cw_panel *p, float *ap)
{
    const afk_cw *cw = p->cw;
    const __mmask16 m = (__mmask16)((1u << p->mr) - 1);
    __m512 s = _mm512_setzero_ps(), o = _mm512_setzero_ps(), tv[LANES_MAX];
    __m512i z = _mm512_setzero_si512();
    __mmask16 tm[LANES_MAX] = {0};
    int tab[LANES_MAX], nt = 1;
    int32_t tb[LANES_MAX] = {0}; /* pal8: each lane's table, in floats from p->t */
    if (cw->kind != AFK_CW_LUT4) s = _mm512_maskz_loadu_ps(m, p->s + p->r0);
    if (cw->kind == AFK_CW_PAL4 || cw->kind == AFK_CW_PAL8)
        o = _mm512_maskz_loadu_ps(m, p->o + p->r0);
    if (cw->kind == AFK_CW_INT8) z = _mm512_maskz_loadu_epi32(m, p->z + p->r0);
    if (cw->kind != AFK_CW_INT8) {
        lane_tables(p, tab, &nt);
        for (int i = 0; i < p->mr; i++) tm[tab[i]] |= (__mmask16)(1u << i);
        for (int i = 0; i < p->mr; i++) tb[i] = (int32_t)((p->r0 / cw->R + tab[i]) * cw->tsize);
        for (int t = 0; t < nt && cw->kind != AFK_CW_PAL8; t++)
            tv[t] = _mm512_loadu_ps(p->t + (p->r0 / cw->R + t) * 16);
    }
    const __m512i tbase = _mm512_loadu_si512(tb);
    for (int64_t kk = 0; kk < p->kc; kk++) {
        __m512i c = step_codes512(p, kk);
        __m512 x;
        if (cw->kind == AFK_CW_INT8) {
            x = _mm512_mul_round_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(c, z)), RN);
        } else if (cw->kind == AFK_CW_PAL8) {
            x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, _mm512_add_epi32(c, tbase),
                                         p->t, 4);
            x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
        } else {
            x = _mm512_permutexvar_ps(c, tv[0]);
            for (int t = 1; t < nt; t++) x = _mm512_mask_permutexvar_ps(x, tm[t], c, tv[t]);
            if (cw->kind == AFK_CW_PAL4)
                x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
        }
        _mm512_mask_storeu_ps(ap + kk * p->mr, m, x);
    }
}

// blockwise codes, mr lanes per k step -> x = (float)code * s + o, s and o of each lane's block
TGT512 static void decode512_blk(const cw_panel *p, float *ap)
{
    const __mmask16 m = (__mmask16)((1u << p->mr) - 1);
    __m512 s = _mm512_setzero_ps(), o = s;
    for (int64_t kk = 0, blk = -1; kk < p->kc; kk++) {
        int64_t b = (p->k0 + kk) / p->cw->R;
        if (b != blk) { /* the block's parameters, one per lane (row) */
            blk = b;
            s = _mm512_maskz_loadu_ps(m, p->s + b * p->nrow + p->r0);
            o = _mm512_maskz_loadu_ps(m, p->o + b * p->nrow + p->r0);
        }
        __m512 x = _mm512_cvtepi32_ps(step_codes512(p, kk));
        x = _mm512_add_round_ps(_mm512_mul_round_ps(x, s, RN), o, RN);
        _mm512_mask_storeu_ps(ap + kk * p->mr, m, x);
    }
}

/* 16 codes from element e on (8-bit: sign- or zero-extended; 4-bit: LSB-first nibbles, any
 * start). Reads 16 bytes from the first: the buffer has AFK_CW_PAD bytes after its last panel. */
TGT512 static inline __m512i codes16(const afk_cw *cw, const uint8_t *codes, uint64_t e)
{
    if (cw->bits == 8) {
        __m128i b = _mm_loadu_si128((const __m128i *)(codes + e));
        return cw->uns ? _mm512_cvtepu8_epi32(b) : _mm512_cvtepi8_epi32(b);
    }
    __m128i b = _mm_loadu_si128((const __m128i *)(codes + (e >> 1))), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    __m128i c0 = _mm_unpacklo_epi8(lo, hi), c1 = _mm_unpackhi_epi8(lo, hi);
    return _mm512_cvtepu8_epi32((e & 1) ? _mm_alignr_epi8(c1, c0, 1) : c0);
}

// tr panels (lanes = stored columns, k = stored row): up to 32 lanes as two halves of 16;
// x = s[k] * (float)(q - z[k]) | T[k / R][c] | s[k] * T[k / R][c] + o[k] |
// (float)c * s[col / R][k] + o[col / R][k] (gathered per lane)
TGT512 static void decode512_tr(const cw_panel *p, float *ap)
{
    const afk_cw *cw = p->cw;
    const int nh = (p->mr + 15) / 16;
    __mmask16 m[2];
    __m512i bi[2]; /* blockwise: each lane's first parameter index (block * rows) */
    for (int h = 0; h < nh; h++) {
        int n = p->mr - 16 * h < 16 ? p->mr - 16 * h : 16;
        m[h] = (__mmask16)((1u << n) - 1);
        __m512i lane = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(p->r0 + 16 * h)),
                                        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
                                                          12, 13, 14, 15));
        bi[h] = _mm512_setzero_si512();
        if (cw->kind == AFK_CW_BLK) {
            int32_t v[16];
            _mm512_storeu_si512(v, lane);
            for (int i = 0; i < 16; i++) v[i] = (int32_t)(v[i] / cw->R * p->nrow);
            bi[h] = _mm512_loadu_si512(v);
        }
    }
    for (int64_t kk = 0; kk < p->kc; kk++) {
        int64_t k = p->k0 + kk;
        __m512 s = _mm512_setzero_ps(), o = s, tv = s;
        __m512i z = _mm512_setzero_si512();
        const int pal = cw->kind == AFK_CW_PAL4 || cw->kind == AFK_CW_PAL8;
        if (cw->kind == AFK_CW_INT8 || pal) s = _mm512_set1_ps(p->s[k]);
        if (pal) o = _mm512_set1_ps(p->o[k]);
        if (cw->kind == AFK_CW_INT8) z = _mm512_set1_epi32(p->z[k]);
        if (cw->kind == AFK_CW_LUT4 || cw->kind == AFK_CW_PAL4)
            tv = _mm512_loadu_ps(p->t + k / cw->R * 16);
        const __m512i tbase = _mm512_set1_epi32(pal ? (int32_t)(k / cw->R * cw->tsize) : 0);
        for (int h = 0; h < nh; h++) {
            uint64_t e = (uint64_t)(kk * p->mr + 16 * h);
            __m512i c = codes16(cw, p->codes, e);
            __m512 x;
            if (cw->kind == AFK_CW_INT8) {
                x = _mm512_mul_round_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(c, z)), RN);
            } else if (cw->kind == AFK_CW_BLK) {
                __m512i ix = _mm512_add_epi32(bi[h], _mm512_set1_epi32((int32_t)k));
                __m512 sb = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[h], ix, p->s, 4);
                __m512 ob = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[h], ix, p->o, 4);
                x = _mm512_add_round_ps(_mm512_mul_round_ps(_mm512_cvtepi32_ps(c), sb, RN), ob, RN);
            } else if (cw->kind == AFK_CW_PAL8) {
                x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m[h],
                                             _mm512_add_epi32(c, tbase), p->t, 4);
                x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
            } else {
                x = _mm512_permutexvar_ps(c, tv);
                if (cw->kind == AFK_CW_PAL4)
                    x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
            }
            _mm512_mask_storeu_ps(ap + e, m[h], x);
        }
    }
}

/* Rows form, one segment of row r: dst[j] = W[r][c0 + j], j < n, with one set of parameters
 * (blockwise: the segment lies in one block). 16 codes at a time, the last masked. */
TGT512 static void seg512(const cw_panel *p, int64_t r, int64_t c0, int64_t n, float *dst)
{
    const afk_cw *cw = p->cw;
    __m512 s = _mm512_setzero_ps(), o = s, tv = s;
    __m512i z = _mm512_setzero_si512();
    if (cw->kind == AFK_CW_BLK) {
        int64_t b = c0 / cw->R * p->nrow + r;
        s = _mm512_set1_ps(p->s[b]), o = _mm512_set1_ps(p->o[b]);
    } else if (cw->kind == AFK_CW_INT8) {
        s = _mm512_set1_ps(p->s[r]), z = _mm512_set1_epi32(p->z[r]);
    } else {
        if (cw->kind != AFK_CW_PAL8) tv = _mm512_loadu_ps(p->t + r / cw->R * 16);
        if (cw->kind != AFK_CW_LUT4) s = _mm512_set1_ps(p->s[r]), o = _mm512_set1_ps(p->o[r]);
    }
    const float *t8 = cw->kind == AFK_CW_PAL8 ? p->t + r / cw->R * cw->tsize : p->t; /* pal8 */
    uint64_t e = (uint64_t)(r * cw->K + c0);
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 m = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __m512i c = codes16(cw, p->codes, e + (uint64_t)j);
        __m512 x;
        if (cw->kind == AFK_CW_INT8) {
            x = _mm512_mul_round_ps(s, _mm512_cvtepi32_ps(_mm512_sub_epi32(c, z)), RN);
        } else if (cw->kind == AFK_CW_BLK) {
            x = _mm512_add_round_ps(_mm512_mul_round_ps(_mm512_cvtepi32_ps(c), s, RN), o, RN);
        } else if (cw->kind == AFK_CW_PAL8) {
            x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, c, t8, 4);
            x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
        } else {
            x = _mm512_permutexvar_ps(c, tv);
            if (cw->kind == AFK_CW_PAL4)
                x = _mm512_add_round_ps(_mm512_mul_round_ps(s, x, RN), o, RN);
        }
        _mm512_mask_storeu_ps(dst + j, m, x);
    }
}

/* The same for AVX2: 8 lanes (mr <= 8). codes8: 8 codes from element e on (as codes16);
 * reads 8 bytes from the first. */
TGT256 static inline __m256i codes8(const afk_cw *cw, const uint8_t *codes, uint64_t e)
{
    if (cw->bits == 8) {
        __m128i b = _mm_loadl_epi64((const __m128i *)(codes + e));
        return cw->uns ? _mm256_cvtepu8_epi32(b) : _mm256_cvtepi8_epi32(b);
    }
    __m128i b = _mm_loadl_epi64((const __m128i *)(codes + (e >> 1))), m = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(b, m), hi = _mm_and_si128(_mm_srli_epi16(b, 4), m);
    __m128i c = _mm_unpacklo_epi8(lo, hi);
    if (e & 1) c = _mm_srli_si128(c, 1);
    return _mm256_cvtepu8_epi32(c);
}

TGT256 static inline __m256i step_codes256(const cw_panel *p, int64_t kk)
{
    return codes8(p->cw, p->codes, (uint64_t)(kk * p->mr));
}

/* T[c] for 8 lanes from a 16-entry table in two halves (vpermps reads the low 3 bits). */
TGT256 static inline __m256 lut16(__m256i c, const float *t)
{
    __m256 sel = _mm256_castsi256_ps(_mm256_cmpgt_epi32(c, _mm256_set1_epi32(7)));
    return _mm256_blendv_ps(_mm256_permutevar8x32_ps(_mm256_loadu_ps(t), c),
                            _mm256_permutevar8x32_ps(_mm256_loadu_ps(t + 8), c), sel);
}

TGT256 static void decode256_blk(const cw_panel *p, float *ap)
{
    int32_t mi[8];
    for (int i = 0; i < 8; i++) mi[i] = i < p->mr ? -1 : 0;
    const __m256i m = _mm256_loadu_si256((const __m256i *)mi);
    __m256 s = _mm256_setzero_ps(), o = s;
    for (int64_t kk = 0, blk = -1; kk < p->kc; kk++) {
        int64_t b = (p->k0 + kk) / p->cw->R;
        if (b != blk) {
            blk = b;
            s = _mm256_maskload_ps(p->s + b * p->nrow + p->r0, m);
            o = _mm256_maskload_ps(p->o + b * p->nrow + p->r0, m);
        }
        __m256 x = _mm256_cvtepi32_ps(step_codes256(p, kk));
        _mm256_maskstore_ps(ap + kk * p->mr, m, _mm256_add_ps(_mm256_mul_ps(x, s), o));
    }
}

TGT256 static void decode256(const cw_panel *p, float *ap)
{
    const afk_cw *cw = p->cw;
    int32_t mi[8], zi[8] = {0}, tab[LANES_MAX] = {0}, nt = 1;
    float si[8] = {0}, oi[8] = {0}, tmf[LANES_MAX][8];
    if (cw->kind != AFK_CW_INT8) lane_tables(p, tab, &nt);
    memset(tmf, 0, sizeof tmf);
    for (int i = 0; i < 8; i++) {
        mi[i] = i < p->mr ? -1 : 0;
        if (i >= p->mr) continue;
        if (cw->kind != AFK_CW_LUT4) si[i] = p->s[p->r0 + i];
        if (cw->kind == AFK_CW_PAL4 || cw->kind == AFK_CW_PAL8) oi[i] = p->o[p->r0 + i];
        if (cw->kind == AFK_CW_INT8) zi[i] = p->z[p->r0 + i];
        else memset(&tmf[tab[i]][i], 0xff, sizeof(float));
        if (cw->kind == AFK_CW_PAL8) /* each lane's table, in floats (as zero points: no int8) */
            zi[i] = (int32_t)((p->r0 / cw->R + tab[i]) * cw->tsize);
    }
    const __m256i m = _mm256_loadu_si256((const __m256i *)mi);
    const __m256i z = _mm256_loadu_si256((const __m256i *)zi);
    const __m256 s = _mm256_loadu_ps(si), o = _mm256_loadu_ps(oi);
    const float *t0 = cw->R ? p->t + p->r0 / cw->R * 16 : NULL;
    for (int64_t kk = 0; kk < p->kc; kk++) {
        __m256i c = step_codes256(p, kk);
        __m256 x;
        if (cw->kind == AFK_CW_INT8) {
            x = _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_sub_epi32(c, z)));
        } else if (cw->kind == AFK_CW_PAL8) {
            x = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), p->t, _mm256_add_epi32(c, z),
                                         _mm256_castsi256_ps(m), 4);
            x = _mm256_add_ps(_mm256_mul_ps(s, x), o);
        } else {
            x = lut16(c, t0);
            for (int t = 1; t < nt; t++)
                x = _mm256_blendv_ps(x, lut16(c, t0 + 16 * t), _mm256_loadu_ps(tmf[t]));
            if (cw->kind == AFK_CW_PAL4) x = _mm256_add_ps(_mm256_mul_ps(s, x), o);
        }
        _mm256_maskstore_ps(ap + kk * p->mr, m, x);
    }
}

/* seg512 for AVX2: 8 codes at a time. */
TGT256 static void seg256(const cw_panel *p, int64_t r, int64_t c0, int64_t n, float *dst)
{
    const afk_cw *cw = p->cw;
    __m256 s = _mm256_setzero_ps(), o = s;
    __m256i z = _mm256_setzero_si256();
    const float *t = NULL;
    if (cw->kind == AFK_CW_BLK) {
        int64_t b = c0 / cw->R * p->nrow + r;
        s = _mm256_set1_ps(p->s[b]), o = _mm256_set1_ps(p->o[b]);
    } else if (cw->kind == AFK_CW_INT8) {
        s = _mm256_set1_ps(p->s[r]), z = _mm256_set1_epi32(p->z[r]);
    } else {
        t = p->t + r / cw->R * cw->tsize;
        if (cw->kind != AFK_CW_LUT4) s = _mm256_set1_ps(p->s[r]), o = _mm256_set1_ps(p->o[r]);
    }
    uint64_t e = (uint64_t)(r * cw->K + c0);
    for (int64_t j = 0; j < n; j += 8) {
        __m256i c = codes8(cw, p->codes, e + (uint64_t)j);
        __m256 x;
        if (cw->kind == AFK_CW_INT8) {
            x = _mm256_mul_ps(s, _mm256_cvtepi32_ps(_mm256_sub_epi32(c, z)));
        } else if (cw->kind == AFK_CW_BLK) {
            x = _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(c), s), o);
        } else if (cw->kind == AFK_CW_PAL8) { /* reads lanes past n too: codes < tsize */
            x = _mm256_add_ps(_mm256_mul_ps(s, _mm256_i32gather_ps(t, c, 4)), o);
        } else {
            x = lut16(c, t);
            if (cw->kind == AFK_CW_PAL4) x = _mm256_add_ps(_mm256_mul_ps(s, x), o);
        }
        if (n - j >= 8) {
            _mm256_storeu_ps(dst + j, x);
        } else {
            const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(n - j)),
                                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            _mm256_maskstore_ps(dst + j, m, x);
        }
    }
}
#endif

/* The decoders to use: 2 AVX-512, 1 AVX2, 0 portable (afk_cw_force_portable caps it). */
static int decoder_isa(void)
{
#ifdef AFK_CW_X86
    static int isa = -1; /* a benign race: every thread computes the same value */
    if (isa < 0)
        isa = __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
    int use = afk_cw_force_portable > 0 ? (afk_cw_force_portable == 1 ? 0 : 1) : isa;
    return use > isa ? isa : use;
#else
    return 0;
#endif
}

/* ---- sparse: runs of mask bits expanded ------------------------------------------------------ */

/* dst[j] = bit b0 + j of the mask m set ? the next half of v, widened : +0, for j < n. */
static void expand_portable(const uint8_t *m, uint64_t b0, int64_t n, const uint16_t *v,
                            float *dst)
{
    for (int64_t j = 0; j < n; j++) {
        uint64_t b = b0 + (uint64_t)j;
        dst[j] = (m[b >> 3] >> (b & 7)) & 1u ? af_f16_to_f32(*v++) : 0.0f;
    }
}

#ifdef AFK_CW_X86
/* The mask bits from bit b on (at least 25): 4 bytes from b's byte, which the buffer has (the
 * non-zeros and SPARSE_PAD follow the mask). */
static inline unsigned mask_bits(const uint8_t *m, uint64_t b)
{
    uint32_t w;
    memcpy(&w, m + (b >> 3), sizeof w);
    return w >> (b & 7);
}

// 16 elements a step: 16 halves from v widened (vcvtph2ps), then vexpandps puts the first
// popcount(k) of them in the lanes whose mask bit is set, zeros elsewhere; v moves on by that
TGT512 static void expand512(const uint8_t *m, uint64_t b0, int64_t n, const uint16_t *v,
                             float *dst)
{
    for (int64_t j = 0; j < n; j += 16) {
        __mmask16 lanes = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        __mmask16 k = (__mmask16)(mask_bits(m, b0 + (uint64_t)j) & lanes);
        __m512 x = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)v));
        _mm512_mask_storeu_ps(dst + j, lanes, _mm512_maskz_expand_ps(k, x));
        v += __builtin_popcount(k);
    }
}

/* Byte i of expand_src[k] (lane i of an 8-lane step with mask bits k): how many set bits of k
 * lie below i, i.e. which of the step's packed non-zeros lane i takes when its bit is set. */
#define PC8(x) (((x) & 1) + ((x) >> 1 & 1) + ((x) >> 2 & 1) + ((x) >> 3 & 1) + ((x) >> 4 & 1) + \
                ((x) >> 5 & 1) + ((x) >> 6 & 1) + ((x) >> 7 & 1))
#define SX_B(k, i) ((uint64_t)PC8((k) & ((1u << (i)) - 1u)) << (8 * (i)))
#define SX(k) (SX_B(k, 1) | SX_B(k, 2) | SX_B(k, 3) | SX_B(k, 4) | SX_B(k, 5) | SX_B(k, 6) | \
               SX_B(k, 7))
#define SX4(k) SX(k), SX((k) + 1u), SX((k) + 2u), SX((k) + 3u)
#define SX16(k) SX4(k), SX4((k) + 4u), SX4((k) + 8u), SX4((k) + 12u)
#define SX64(k) SX16(k), SX16((k) + 16u), SX16((k) + 32u), SX16((k) + 48u)
static const uint64_t expand_src[256] = {SX64(0u), SX64(64u), SX64(128u), SX64(192u)};

// 8 elements a step: 8 halves widened (F16C), permuted by expand_src[k], unset lanes zeroed
__attribute__((target("avx2,f16c"))) static void expand256(const uint8_t *m, uint64_t b0,
                                                            int64_t n, const uint16_t *v,
                                                            float *dst)
{
    const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    for (int64_t j = 0; j < n; j += 8) {
        unsigned lanes = n - j >= 8 ? 0xffu : (1u << (n - j)) - 1u;
        unsigned k = mask_bits(m, b0 + (uint64_t)j) & lanes;
        __m256 x = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)v));
        __m256i src = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&expand_src[k]));
        __m256i on = _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)k), bit), bit);
        x = _mm256_and_ps(_mm256_permutevar8x32_ps(x, src), _mm256_castsi256_ps(on));
        if (lanes == 0xffu)
            _mm256_storeu_ps(dst + j, x);
        else
            _mm256_maskstore_ps(dst + j,
                                _mm256_cmpgt_epi32(_mm256_set1_epi32((int32_t)(n - j)),
                                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
                                x);
        v += __builtin_popcount(k);
    }
}

static int has_f16c(void)
{
    static int f = -1; /* a benign race, as decoder_isa's */
    unsigned a, b, c, d;
    if (f < 0) f = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C) != 0;
    return f;
}
#endif

static void sparse_expand(const uint8_t *m, uint64_t b0, int64_t n, const uint16_t *v,
                          float *dst)
{
#ifdef AFK_CW_X86
    const int use = decoder_isa();
    if (use == 2) expand512(m, b0, n, v, dst);
    else if (use == 1 && has_f16c()) expand256(m, b0, n, v, dst);
    else expand_portable(m, b0, n, v, dst);
#elif defined(AFK_NEON)
    if (afk_cw_force_portable != 1 && afk_neon_on()) afk_neon_cw_expand(m, b0, n, v, dst);
    else expand_portable(m, b0, n, v, dst);
#else
    expand_portable(m, b0, n, v, dst);
#endif
}

/* Sparse panel (gi, k0, i0) of mr lanes: its kc * mr mask bits, from its first non-zero. */
static void decode_sparse(const afk_cw *cw, int64_t gi, int64_t k0, int64_t kc, int64_t i0,
                          int mr, const uint8_t *mask, float *ap)
{
    const uint8_t *base = (const uint8_t *)cw;
    const int64_t nkb = (cw->K + KC - 1) / KC, npan = (cw->rows + cw->mr - 1) / cw->mr;
    const uint64_t first = ((const uint64_t *)(base + cw->idx_off))[(gi * nkb + k0 / KC) * npan +
                                                                     i0 / cw->mr];
    sparse_expand(mask, 0, kc * mr, (const uint16_t *)(base + cw->val_off) + first, ap);
}

/* Sparse rows form: row r's elements [c0, c0 + n), from the row's first non-zero and the
 * mask bits before c0. */
static void rows_sparse(const afk_cw *cw, int64_t r, int64_t c0, int64_t n, float *dst)
{
    const uint8_t *base = (const uint8_t *)cw, *m = base + cw->code_off;
    const uint64_t e0 = (uint64_t)(r * cw->K), b = e0 + (uint64_t)c0;
    const uint64_t first = ((const uint64_t *)(base + cw->idx_off))[r] + bits_set(m, e0, b);
    sparse_expand(m, b, n, (const uint16_t *)(base + cw->val_off) + first, dst);
}

void afk_cw_decode(const afk_cw *cw, int64_t gi, int64_t k0, int64_t kc, int64_t i0, int mr,
                   float *ap)
{
    const uint8_t *base = (const uint8_t *)cw;
    cw_panel p = {cw, base + cw->code_off + (uint64_t)gi * cw->sub_bytes + panel_at(cw, k0, i0),
                  gi * cw->rows + i0, kc, k0, cw->tr ? cw->K : cw->rows * cw->G, mr,
                  (const float *)(base + cw->scale_off),
                  (const float *)(base + cw->aux_off), (const float *)(base + cw->table_off),
                  (const int32_t *)(base + cw->aux_off)};
    if (cw->kind == AFK_CW_SPARSE) { /* any layout: a panel is one run of the mask */
        decode_sparse(cw, gi, k0, kc, i0, mr, p.codes, ap);
        return;
    }
#ifdef AFK_CW_X86
    int use = decoder_isa();
    /* lanes along stored columns: AVX-512 (int32 gather indices for blockwise) or portable */
    if (cw->tr && use == 2 &&
        (cw->kind != AFK_CW_BLK || cw->K * ((cw->rows + cw->R - 1) / cw->R) < INT32_MAX))
        return decode512_tr(&p, ap);
    if (cw->tr) use = 0;
    if (use == 2 && mr <= 16) return cw->kind == AFK_CW_BLK ? decode512_blk(&p, ap) : decode512(&p, ap);
    if (use >= 1 && mr <= 8) return cw->kind == AFK_CW_BLK ? decode256_blk(&p, ap) : decode256(&p, ap);
#endif
#if defined(AFK_NEON)
    if (afk_cw_force_portable != 1 && afk_neon_on() && cw->kind != AFK_CW_PAL8) {
        afk_neon_cw_decode(&p, ap);
        return;
    }
#endif
    decode_portable(&p, 0, kc * mr, ap);
}

// rows form: W[r0:r0+nr, c0:c0+n] -> dst (nr, n), rows ld apart; blockwise in one segment per
// block, every other encoding in one per row
void afk_cw_decode_rows(const afk_cw *cw, int64_t r0, int64_t nr, int64_t c0, int64_t n,
                        float *dst, int64_t ld)
{
    const uint8_t *base = (const uint8_t *)cw;
    cw_panel p = {cw, base + cw->code_off, 0, 0, 0, cw->rows, 1,
                  (const float *)(base + cw->scale_off),
                  (const float *)(base + cw->aux_off), (const float *)(base + cw->table_off),
                  (const int32_t *)(base + cw->aux_off)};
    const int use = decoder_isa();
    for (int64_t i = 0; i < nr && cw->kind == AFK_CW_SPARSE; i++)
        rows_sparse(cw, r0 + i, c0, n, dst + i * ld);
    for (int64_t i = 0; i < nr && cw->kind != AFK_CW_SPARSE; i++)
        for (int64_t c = c0; c < c0 + n;) {
            int64_t end = c0 + n, next = cw->kind == AFK_CW_BLK ? (c / cw->R + 1) * cw->R : end;
            if (next < end) end = next;
            float *d = dst + i * ld + (c - c0);
#ifdef AFK_CW_X86
            if (use == 2) seg512(&p, r0 + i, c, end - c, d);
            else if (use == 1) seg256(&p, r0 + i, c, end - c, d);
            else row_portable(&p, r0 + i, c, end - c, d);
#else
            (void)use;
            row_portable(&p, r0 + i, c, end - c, d);
#endif
            c = end;
        }
}

const char *afk_cw_isa(void)
{
#ifdef AFK_CW_X86
    static const char *const names[3] = {"portable", "avx2", "avx512"};
    return names[decoder_isa()];
#elif defined(AFK_NEON)
    return afk_cw_force_portable != 1 && afk_neon_on() ? "neon" : "portable";
#else
    return "portable";
#endif
}

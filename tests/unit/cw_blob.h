/* tests/unit/cw_blob.h — random compressed-weight blobs (runtime/wdecode.h) for the
 * compressed-panel tests (test_conv_cw.c, test_dense_cw.c): random codes, scales and tables,
 * negative zeros included. Rows are dims[0], the rest of the shape per row. */
#ifndef AF_TEST_CW_BLOB_H
#define AF_TEST_CW_BLOB_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "graph/dtype.h"
#include "runtime/wdecode.h"

typedef struct benc {
    const char *name;
    uint8_t enc, bits, flags;
    uint32_t R; /* palette rows per table; int8: 1 = per-tensor scale; sparse: % non-zero */
} benc;

static uint32_t rng = 12345;
static inline uint32_t rnd(void)
{
    rng = rng * 1664525u + 1013904223u;
    return rng >> 8;
}

/* A random finite half in about [-2, 2], now and then -0. */
static inline uint16_t rhalf(void)
{
    if (rnd() % 17 == 0) return 0x8000u;
    return af_f32_to_f16(((float)(rnd() % 4001) - 2000.0f) / 1000.0f);
}

/* The encodings test_conv_cw and test_dense_cw run every case with (R: rows per table, block
 * size, or % non-zero for sparse). */
static inline const benc *cw_encodings(size_t *n)
{
    static const benc encs[] = {
        {"int8 per-tensor", AFB_ENC_INT8, 8, 0, 0},
        {"int8 per-channel asym", AFB_ENC_INT8, 8, AF_WBLOB_PER_CHANNEL | AF_WBLOB_ASYMMETRIC, 0},
        {"int8 onnx uint8 per-channel", AFB_ENC_INT8, 8,
         AF_WBLOB_F32_SCALE | AF_WBLOB_UNSIGNED | AF_WBLOB_AXIS | AF_WBLOB_PER_CHANNEL |
             AF_WBLOB_ASYMMETRIC, 0},
        {"int4 lut R=3", AFB_ENC_INT4_LUT, 4, 0, 3},
        {"palette4 R=16 scale+offset", AFB_ENC_PALETTE, 4,
         AF_WBLOB_ROW_SCALE | AF_WBLOB_ROW_OFFSET, 16},
        {"palette4 R=1 scale", AFB_ENC_PALETTE, 4, AF_WBLOB_ROW_SCALE, 1},
        {"palette4 R=5 plain", AFB_ENC_PALETTE, 4, 0, 5},
        {"blockwise4 B=32", AFB_ENC_BLOCKWISE, 4, 0, 32},
        {"blockwise8 B=8", AFB_ENC_BLOCKWISE, 8, 0, 8},
        {"blockwise4 B=512", AFB_ENC_BLOCKWISE, 4, 0, 512}, /* one block over both k blocks */
        /* palettes of other widths: 1..3-bit codes held as nibbles, 5..8-bit as bytes */
        {"palette1 R=7 offset", AFB_ENC_PALETTE, 1, AF_WBLOB_ROW_OFFSET, 7},
        {"palette2 R=4 plain", AFB_ENC_PALETTE, 2, 0, 4},
        {"palette3 R=16 scale+offset", AFB_ENC_PALETTE, 3,
         AF_WBLOB_ROW_SCALE | AF_WBLOB_ROW_OFFSET, 16},
        {"palette6 R=16 scale", AFB_ENC_PALETTE, 6, AF_WBLOB_ROW_SCALE, 16},
        {"palette8 R=3 plain", AFB_ENC_PALETTE, 8, 0, 3},
        /* sparse: the mask's runs expanded into the panels */
        {"sparse 50%", AFB_ENC_SPARSE, 16, 0, 50},
        {"sparse 15%", AFB_ENC_SPARSE, 16, 0, 15},
        {"sparse 10%", AFB_ENC_SPARSE, 16, 0, 10},
        {"sparse 100%", AFB_ENC_SPARSE, 16, 0, 100},
    };
    *n = sizeof encs / sizeof encs[0];
    return encs;
}

/* A sparse blob: each element non-zero with probability R %, its value a random half (-0 and
 * subnormals among them: a stored -0 must come out -0, an element off the mask +0). */
static inline uint8_t *make_sparse(const benc *e, int rank, const int64_t *dims, size_t *bytes)
{
    uint64_t numel = 1, nnz = 0;
    for (int d = 0; d < rank; d++) numel *= (uint64_t)dims[d];
    uint8_t *mask = calloc(1, (numel + 7) / 8 + 1);
    for (uint64_t i = 0; i < numel; i++)
        if (rnd() % 100 < e->R) mask[i >> 3] |= (uint8_t)(1u << (i & 7)), nnz++;
    af_wblob_head h = {AFB_ENC_SPARSE, 16, 0, 0, (uint32_t)nnz, (uint32_t)(nnz >> 32), 0};
    af_wblob_layout l;
    const char *bad = af_wblob_layout_of(&h, rank, dims, &l);
    CHECK(!bad, "%s: layout: %s", e->name, bad ? bad : "");
    uint8_t *b = calloc(1, l.total);
    af_wblob_put_head(b, &h);
    memcpy(b + l.params_off, mask, (numel + 7) / 8);
    for (uint64_t i = 0; i < nnz; i++) /* every 13th a subnormal */
        af_wblob_wr16(b + l.data_off + 2 * i,
                      i % 13 ? rhalf() : (uint16_t)((rnd() & 0x8000u) | (rnd() % 0x3ffu + 1)));
    free(mask);
    *bytes = l.total;
    return b;
}

/* A blob of encoding e for a weight of shape dims (rank), random contents. */
static inline uint8_t *make_blob_r(const benc *e, int rank, const int64_t *dims, size_t *bytes)
{
    uint64_t rows = (uint64_t)dims[0], cols = 1;
    for (int d = 1; d < rank; d++) cols *= (uint64_t)dims[d];
    af_wblob_head h = {e->enc, e->bits, e->flags, 0, 0, 0, 0};
    if (e->enc == AFB_ENC_SPARSE) return make_sparse(e, rank, dims, bytes);
    if (e->enc == AFB_ENC_INT8) {
        h.a = (e->flags & AF_WBLOB_PER_CHANNEL) ? (uint32_t)rows : 1;
    } else if (e->enc == AFB_ENC_BLOCKWISE) { /* R: block size */
        h.a = (uint32_t)rows, h.b = e->R, h.c = (uint32_t)((cols + e->R - 1) / e->R);
    } else {
        h.b = e->R;
        h.a = (uint32_t)((rows + e->R - 1) / e->R);
    }
    af_wblob_layout l;
    const char *bad = af_wblob_layout_of(&h, rank, dims, &l);
    CHECK(!bad, "%s: layout: %s", e->name, bad ? bad : "");
    uint8_t *b = calloc(1, l.total);
    af_wblob_put_head(b, &h);
    uint64_t i;
    if (e->enc == AFB_ENC_INT8) {
        for (i = 0; i < h.a; i++) {
            if (e->flags & AF_WBLOB_F32_SCALE) {
                float s = (float)(rnd() % 1000 + 1) / 7919.0f;
                memcpy(b + l.params_off + 4 * i, &s, 4);
            } else {
                af_wblob_wr16(b + l.params_off + 2 * i, af_f32_to_f16((float)(rnd() % 1000 + 1) / 7919.0f));
            }
            if (e->flags & AF_WBLOB_ASYMMETRIC) b[l.params2_off + i] = (uint8_t)rnd();
        }
        for (i = 0; i < l.numel; i++) b[l.data_off + i] = (uint8_t)rnd();
    } else if (e->enc == AFB_ENC_BLOCKWISE) {
        for (i = 0; i < 2ull * rows * h.c; i++) af_wblob_wr16(b + l.params_off + 2 * i, rhalf());
        for (i = 0; i < l.numel; i++)
            if (e->bits == 8) b[l.data_off + i] = (uint8_t)rnd();
            else af_wblob_put_code(b + l.data_off, i, 4, rnd() & 15);
    } else {
        for (i = 0; i < (1ull << e->bits) * h.a; i++)
            af_wblob_wr16(b + l.params_off + 2 * i, rhalf());
        for (i = 0; i < rows && (e->flags & AF_WBLOB_ROW_SCALE); i++)
            af_wblob_wr16(b + l.params2_off + 2 * i, rhalf());
        for (i = 0; i < rows && (e->flags & AF_WBLOB_ROW_OFFSET); i++)
            af_wblob_wr16(b + l.params3_off + 2 * i, rhalf());
        for (i = 0; i < l.numel; i++)
            af_wblob_put_code(b + l.data_off, i, e->bits, rnd() & ((1u << e->bits) - 1));
    }
    *bytes = l.total;
    return b;
}

static inline uint8_t *make_blob(const benc *e, const int64_t *dims, size_t *bytes)
{
    return make_blob_r(e, 4, dims, bytes);
}

#endif

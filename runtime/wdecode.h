/* runtime/wdecode.h — compressed weight blobs: their byte layout and the reference decoders.
 *
 * A constant stored with a compressed encoding (afb_encoding INT8, INT4_LUT, SPARSE, BLOCKWISE,
 * PALETTE) is one self-describing blob: a 16-byte header (af_wblob_head), then encoding-specific arrays.
 * The tensor record keeps only the extent; everything else (per channel or per tensor, group
 * size, block size, bit width) is in the header, so the bundle's tensor table never changes
 * when an encoding gains a parameter. docs/bundle-format.md "Compressed weight blobs" is the
 * normative description; af_wblob_layout() below computes the same offsets for the encoders
 * (compress/) and the decoders, so the two cannot drift apart.
 *
 * "Rows" are the slices along dim 0 (the output channel of Conv and of Gemm with transB=1),
 * "cols" the contiguous trailing extent of each row (numel / dim0). A rank-0/1 tensor is 1 row.
 *
 * Decoders take untrusted bytes: every header field is checked against the tensor's shape and
 * the blob's length before anything is read (AF_ERR_FORMAT naming the problem otherwise); they
 * never read outside [blob, blob + bytes) and write exactly numel floats.
 */
#ifndef AF_RUNTIME_WDECODE_H
#define AF_RUNTIME_WDECODE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "../bundle/bundle.h"
#include "../graph/error.h"

/* The header every blob starts with (all fields little-endian). */
typedef struct af_wblob_head {
    uint8_t enc;       /* afb_encoding of the tensor (checked: must match the record) */
    uint8_t bits;      /* 8 int8 · 4 int4-LUT · 16 sparse values · 4 or 8 blockwise ·
                          1..8 palette (index width) */
    uint8_t flags;     /* AF_WBLOB_* */
    uint8_t reserved;  /* 0 */
    uint32_t a;        /* int8: n_scales (1 or rows) · int4/palette: n_groups (tables) ·
                          sparse: nnz low 32 bits · blockwise: rows */
    uint32_t b;        /* int8: 0 · int4/palette: rows per group · sparse: nnz high 32 bits ·
                          blockwise: block size (elements along the trailing extent) */
    uint32_t c;        /* blockwise: blocks per row · else 0 */
} af_wblob_head;
static_assert(sizeof(af_wblob_head) == AFB_BLOB_HEADER_SIZE, "blob header layout");

#define AF_WBLOB_PER_CHANNEL 0x1u /* int8: one scale (and zero point) per row */
#define AF_WBLOB_ASYMMETRIC 0x2u  /* int8: an int8 zero point per scale */
/* int8 blobs carrying an ONNX model's own quantization (QDQ weights).
 * docs/bundle-format.md "INT8" lists the allowed combinations. */
#define AF_WBLOB_F32_SCALE 0x4u   /* int8: scales stored as f32 (the model's, exactly) */
#define AF_WBLOB_UNSIGNED 0x8u    /* int8: codes and zero points are uint8 */
#define AF_WBLOB_AXIS 0x10u       /* int8: scales along axis b (PER_CHANNEL: one per index) */
#define AF_WBLOB_BLOCKED 0x20u    /* int8 with AXIS: blocks of c elements along axis b */
#define AF_WBLOB_ROW_SCALE 0x1u   /* palette: an fp16 scale per row around the group's table */
#define AF_WBLOB_ROW_OFFSET 0x2u  /* palette: an fp16 offset per row added after the scale */

/* Section offsets of one blob, from its start (every array starts 16-byte aligned). */
typedef struct af_wblob_layout {
    uint64_t rows, cols, numel;
    uint64_t params_off;  /* int8 scales · int4/palette LUTs · sparse mask · blockwise (scale,
                             offset) */
    uint64_t params2_off; /* int8 zero points (asymmetric) · palette row scales (ROW_SCALE) */
    uint64_t params3_off; /* palette row offsets (ROW_OFFSET) */
    uint64_t data_off;    /* int8 values · int4/palette indices · sparse values · blockwise codes */
    uint64_t total;       /* bytes of the whole blob */
    uint64_t q_outer, q_d, q_inner; /* int8 with AF_WBLOB_AXIS: the tensor around the axis */
} af_wblob_layout;

/* Rows/cols of a tensor shape as above; 0 on overflow or a bad shape. */
int af_wblob_rows_cols(int rank, const int64_t *dims, uint64_t *rows, uint64_t *cols);

/* Computes the layout a header implies for a tensor of shape (rank, dims). Returns NULL when
 * the header is consistent (fields in range, sizes without overflow), else what is wrong. It
 * does not compare the total with a blob length (the decoder does). */
const char *af_wblob_layout_of(const af_wblob_head *h, int rank, const int64_t *dims,
                               af_wblob_layout *out);

void af_wblob_get_head(const uint8_t *p, af_wblob_head *h);
void af_wblob_put_head(uint8_t *p, const af_wblob_head *h);

static inline uint16_t af_wblob_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline void af_wblob_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* Code of element e in a stream of bits-wide codes (1..8), LSB-first (docs/bundle-format.md);
 * reads the second byte only when the code straddles it (so never past the last code's byte). */
static inline unsigned af_wblob_code_at(const uint8_t *p, uint64_t e, unsigned bits)
{
    uint64_t pos = e * bits;
    unsigned sh = (unsigned)(pos & 7), v = p[pos >> 3] >> sh;
    if (sh + bits > 8) v |= (unsigned)p[(pos >> 3) + 1] << (8 - sh);
    return v & ((1u << bits) - 1u);
}

/* Overwrites the code of element e (v < 2^bits) in the same stream. */
static inline void af_wblob_put_code(uint8_t *p, uint64_t e, unsigned bits, unsigned v)
{
    uint64_t pos = e * bits;
    unsigned sh = (unsigned)(pos & 7), mask = (1u << bits) - 1u;
    p += pos >> 3;
    p[0] = (uint8_t)((p[0] & ~(mask << sh)) | (v << sh));
    if (sh + bits > 8) p[1] = (uint8_t)((p[1] & ~(mask >> (8 - sh))) | (v >> (8 - sh)));
}

/* Decodes one blob of encoding enc for a tensor of shape (rank, dims) into out (numel floats).
 * what names the tensor in messages. AF_ERR_FORMAT for a corrupt blob, AF_ERR_UNSUPPORTED for
 * an encoding without a decoder. */
af_status af_wdecode(afb_encoding enc, const uint8_t *blob, uint64_t bytes, int rank,
                     const int64_t *dims, float *out, const char *what, af_err *err);
/* The checks of af_wdecode without decoding: the header and the layout its shape implies fit
 * the blob exactly. After it passes, numel is bounded by the blob's size (so a bundle cannot
 * make the runtime allocate more than a constant factor of its bytes). */
af_status af_wdecode_check(afb_encoding enc, const uint8_t *blob, uint64_t bytes, int rank,
                           const int64_t *dims, const char *what, af_err *err);

/* Decoder traits: one row per afb_encoding (NULL decode for RAW). */
typedef af_status (*af_wdecode_fn)(const af_wblob_head *h, const af_wblob_layout *l,
                                   const uint8_t *blob, float *out, af_err *err);
typedef struct af_wdecode_info {
    const char *name;
    af_wdecode_fn decode;
} af_wdecode_info;
extern const af_wdecode_info af_wdecode_table[AFB_ENC_COUNT];

#endif

/* compress/encodings.h — weight encodings as table rows (ggml-style traits).
 *
 * One row per encoding the converter can produce: its name, the af_encoding a bundle stores,
 * the targets/ weight-stream id (AF_WENC_*), a scalar reference encoder, the runtime's decoder
 * (runtime/wdecode.c, through af_cenc_decode), a stored-size function, the nominal bits per
 * weight and whether --compress auto tries it. Encoders turn f32 weights into the self-describing blob documented in
 * docs/bundle-format.md ("Compressed weight blobs"); they are deterministic (same input and
 * params → same bytes) and never abort: bad input returns a status.
 *
 * Shape convention (the same as the decoders'): rows = dim 0 (the output channel of Conv and of
 * Gemm with transB=1), cols = the contiguous trailing extent of each row. Per-channel int8, int4
 * groups and blockwise blocks follow it; for a tensor whose output axis is not dim 0 (Gemm with
 * transB=0, MatMul's B, ConvTranspose) the grouping is along dim 0 all the same, which is still a
 * valid (if less targeted) quantization.
 *
 * Palettes (int4 and paletteN): 2^n fp16 entries per group of rows; int4 is the plain 4-bit
 * table (INT4_LUT blob, the stream every family reads); paletteN is n-bit (PALETTE blob) and,
 * unless --palette-scale none (never for palette4, which is int4 plus scales), an fp16 scale
 * and offset per row around the group's table.
 */
#ifndef AF_COMPRESS_ENCODINGS_H
#define AF_COMPRESS_ENCODINGS_H

#include <stddef.h>
#include <stdint.h>

#include "../graph/graph.h"

/* The encoders (table rows). fp16 is a row too, so auto can treat "stay fp16" uniformly. */
typedef enum af_ckind {
    AF_CK_FP16 = 0,
    AF_CK_INT8,
    AF_CK_INT4,      /* 16-entry fp16 LUT (palette) per group of rows */
    AF_CK_SPARSE,    /* bitmask + fp16 non-zeros (optionally after magnitude pruning) */
    AF_CK_BW4,       /* blockwise int4 */
    AF_CK_BW8,       /* blockwise int8 */
    AF_CK_PAL1,      /* n-bit palettes (PALETTE blob), per-row scale unless palette_scale none */
    AF_CK_PAL2,
    AF_CK_PAL3,
    AF_CK_PAL4,      /* int4 with a per-row scale (always scaled) */
    AF_CK_PAL6,
    AF_CK_PAL8,
    AF_CK_COUNT
} af_ckind;

/* Encoding parameters (zero-initialised = defaults, see af_cparams_defaults). */
typedef struct af_cparams {
    int int8_per_tensor;  /* 0: one scale per row (default); 1: one scale per tensor */
    int int8_asymmetric;  /* 0: symmetric, x = s*q (default); 1: x = s*(q - z) */
    int group_size;       /* int4/palette: rows per table; 0 = default (16 when rows >= 32, else
                             all), -1 = one table per tensor */
    int palette_scale;    /* paletteN: AF_PSCALE_* (default: a scale and offset per row) */
    /* int4/palette: per-column importance (cols entries, finite, >= 0; NULL = uniform): the
     * k-means minimises sum importance[col] * (w - w')^2, e.g. E[x_j^2] of the input feature a
     * column multiplies (for Conv and Gemm with transB=1; other layouts' cols are not inputs) */
    const float *col_importance;
    int block_size;       /* blockwise: elements per block, power of two >= 8; 0 = 32 */
    double sparsity;      /* sparse: fraction of weights to prune by magnitude, [0,1); 0 = none */
} af_cparams;

enum { AF_PSCALE_DEFAULT = 0, AF_PSCALE_NONE = 1, AF_PSCALE_ROW = 2 };

#define AF_INT4_DEFAULT_GROUP 16
#define AF_BLOCK_DEFAULT 32
#define AF_COMPRESS_MIN_ELEMS 2048 /* tensors with at most this many elements stay fp16 */

/* An encoded tensor: blob bytes (malloc'd; NULL for fp16, which the bundle writer converts). */
typedef struct af_cblob {
    uint8_t *data;
    uint64_t bytes;
} af_cblob;

typedef af_status (*af_cenc_fn)(const float *x, int rank, const int64_t *dims,
                                const af_cparams *p, af_cblob *out, af_err *err);
/* Stored bytes for this shape and params; x is needed only by data-dependent sizes (sparse). */
typedef uint64_t (*af_csize_fn)(const float *x, int rank, const int64_t *dims,
                                const af_cparams *p);

typedef struct af_ctraits {
    const char *name;       /* as shown by inspect and in metadata */
    af_encoding encoding;   /* what the bundle stores */
    int wenc;               /* AF_WENC_* (aneforge/targets.h) for the native-stream check */
    af_cenc_fn encode;      /* NULL for fp16 (the writer converts) */
    af_csize_fn stored_size;
    double bits_per_weight; /* nominal, tables and scales amortised */
    int palette_bits;       /* int4/paletteN: n; else 0 */
    int auto_candidate;     /* 1: --compress auto tries it (where the family streams it) */
} af_ctraits;

extern const af_ctraits af_ctraits_table[AF_CK_COUNT];

/* Decodes an encoded tensor back to f32 (out: numel floats) with the runtime's decoder, or
 * rounds through fp16 for AF_CK_FP16 (blob unused). */
af_status af_cenc_decode(af_ckind k, const float *x, const af_cblob *blob, int rank,
                         const int64_t *dims, float *out, af_err *err);

/* Encoders (rows of the table; also used directly by tests and bench/). */
af_status af_enc_int8(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                      af_cblob *out, af_err *err);
af_status af_enc_int4(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                      af_cblob *out, af_err *err);
af_status af_enc_sparse(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                        af_cblob *out, af_err *err);
af_status af_enc_bw4(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                     af_cblob *out, af_err *err);
af_status af_enc_bw8(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                     af_cblob *out, af_err *err);
/* Any palette: bits in 1..8, scaled = an fp16 scale and offset per row (compress/enc_palette.c).
 * Writes an INT4_LUT blob for 4 bits unscaled, else PALETTE. */
af_status af_enc_palette_n(const float *x, int rank, const int64_t *dims, const af_cparams *p,
                           int bits, int scaled, af_cblob *out, af_err *err);

/* The palette row (AF_CK_INT4 or AF_CK_PALn) for n bits and a scale choice; AF_CK_COUNT when n
 * has none (5, 7). */
af_ckind af_palette_kind(int bits, int palette_scale);
/* Palette rows per table actually used for a tensor with `rows` rows. */
uint64_t af_palette_group_rows(const af_cparams *p, uint64_t rows);
/* The blob header of a palette (INT4_LUT when 4 bits unscaled, else PALETTE). */
struct af_wblob_head;
void af_palette_head(struct af_wblob_head *h, int bits, int scaled, uint64_t rows, uint64_t g);
/* Non-zero count of x after rounding to fp16. */
uint64_t af_count_nonzero_f16(const float *x, uint64_t n);
/* Zeroes the floor(s * n) smallest-magnitude elements of x in place (ties broken by index,
 * deterministic). */
af_status af_prune_magnitude(float *x, uint64_t n, double s, af_err *err);

/* Shared helpers of the encoders. */
int af_cshape(int rank, const int64_t *dims, uint64_t *rows, uint64_t *cols);
af_status af_cblob_alloc(af_cblob *out, uint64_t bytes, af_err *err);
void af_cblob_drop(af_cblob *b); /* frees the data, zeroes the blob */

#endif

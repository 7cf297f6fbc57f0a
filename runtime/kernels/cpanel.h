/* runtime/kernels/cpanel.h — compressed A panels for the packed GEMM (sgemm_packed.c).
 *
 * A weight stored as int8, palette (1..8-bit) or blockwise (4/8-bit) codes, or sparse (a 1-bit
 * mask and fp16 non-zeros) (runtime/wdecode.h blobs) is kept as codes at run time: cut once into afk_pgemm_pack_a's panel order (k-block major,
 * each (mr rows, kc) panel k-major), one byte (8-bit) or one nibble (4-bit, LSB first) per code
 * (palette codes of 1..3 bits held as nibbles, of 5..7 as bytes: a table lookup either way),
 * next to f32 parameters (per row; blockwise: per block and row) and the f32 tables.
 * afk_pgemm_run decodes one (mr, kc) panel into its L1 work buffer, one k step of mr lanes at a
 * time, and hands it to the same micro-kernel the f32 panels use — the design of the fp16
 * panels (PACK_GEMM16), with a table lookup or a scale in place of the widening.
 *
 *   int8:     x = s[row] * (float)(q - z[row])           (the decoder's formula, wdecode.c)
 *   lut4:     x = T[row / R][c]                           (INT4_LUT, 4-bit PALETTE without flags)
 *   pal4:     x = s[row] * T[row / R][c] + o[row]         (PALETTE of 1..4 bits but the lut4
 *                                                          case; s = 1, o = 0 when absent)
 *   pal8:     the same with 5..8-bit codes, held as bytes (tables of 2^bits: a gather)
 *   blk:      x = (float)c * s[blk][row] + o[blk][row]    (BLOCKWISE, 4 or 8 bits, blk = col / R)
 *   sparse:   x = m ? widen(v[rank of the element]) : 0   (SPARSE: the mask cut into the panels
 *                                                          as 1-bit codes, the non-zeros as
 *                                                          halves in the panels' order)
 *
 * Each value is computed with the reference decoder's operations in its order (one rounded
 * multiply, one rounded add; this file is built with -ffp-contract=off), so the decoded panel
 * holds exactly the floats af_wdecode gives and the GEMM's sums are bit-identical to packing
 * the decoded weight. The vector paths (AVX-512: the 16-entry table in one zmm, vpermps;
 * int8: vpmovsxbd, vcvtdq2ps, scale; AVX2: two ymm halves of the table; pal8: vgatherdps;
 * sparse: vcvtph2ps then vexpandps on AVX-512, a permute from a 256-entry index table on AVX2)
 * and the portable loop give the same bits.
 *
 * Sparse: a panel's elements, in its k-major order, are one run of the mask's bits and the
 * panel's non-zeros one run of halves (each panel's first recorded), so decoding a panel is
 * expanding mr * kc mask bits; the rows form keeps the blob's mask and values as stored, with
 * each row's first non-zero.
 *
 * Sub-matrices: a grouped conv's weight (G*rows, K) is G independent (rows, K) matrices, each
 * packed like afk_pgemm_pack_a packs one group's rows; parameters are indexed by global row.
 */
#ifndef AF_RUNTIME_KERNELS_CPANEL_H
#define AF_RUNTIME_KERNELS_CPANEL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

enum {
    AFK_CW_INT8 = 1,
    AFK_CW_LUT4 = 2,
    AFK_CW_PAL4 = 3,
    AFK_CW_BLK = 4,
    AFK_CW_PAL8 = 5,
    AFK_CW_SPARSE = 6
};

/* The header at the start of a compressed panel buffer (offsets from the header's start). */
typedef struct afk_cw {
    int32_t kind;         /* AFK_CW_* */
    int32_t mr;           /* the panels' MR (afk_pgemm_mr() when packed) */
    int32_t uns;          /* int8: codes are uint8 */
    int32_t bits;         /* 8 or 4 (sparse: 1, the mask) */
    int32_t tr;           /* lanes run along the stored weight's columns, k along its rows */
    int32_t rowmajor;     /* the rows form: codes in stored order (afk_cw_pack_rows) */
    int32_t sbits;        /* bits of a code in the blob (palettes: 1..8; held as bits) */
    int32_t tsize;        /* palettes: f32 entries per table (16, or 2^sbits above 4 bits) */
    int64_t rows, K, G;   /* rows and columns of one sub-matrix, sub-matrices */
    int64_t R;            /* palette: rows per table · blockwise: block size (columns) */
    uint64_t sub_bytes;   /* code bytes of one sub-matrix */
    uint64_t scale_off;   /* int8, pal4: f32 per global row · blk: f32 [block][row] */
    uint64_t aux_off;     /* int8: int32 zero point per row · pal4: f32 offset per row · blk:
                             f32 offset [block][row] */
    uint64_t table_off;   /* 4-bit: 16 f32 per table */
    uint64_t code_off;    /* G sub-matrices of sub_bytes each (sparse: the mask) */
    uint64_t idx_off;     /* sparse: uint64 per panel (rows form: per stored row), the index of
                             its first non-zero in val_off */
    uint64_t val_off;     /* sparse: the non-zeros as halves, in the panels' (stored) order */
    uint64_t total;       /* bytes of the whole buffer */
} afk_cw;

/* NULL when a checked blob (af_wdecode_check passed) of a weight (rank, dims) — rows = dims[0],
 * the rest per row — can run as compressed panels; otherwise why not (for inspect). Refuses
 * what the reference decoder would refuse (non-finite scales or tables), so such a blob takes
 * the decoding path and its error. */
const char *afk_cw_why_not(const uint8_t *blob, int rank, const int64_t *dims);

/* Bytes of the compressed panels for G sub-matrices of the blob's weight cut into mr-row
 * panels (0: not supported, or rows % G). */
size_t afk_cw_bytes(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr);

/* Builds them into dst (afk_cw_bytes bytes, 8-byte aligned). */
void afk_cw_pack(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int mr,
                 void *dst);

/* The same with the stored (K, N) weight read transposed: lanes are its N columns, k its K rows
 * (the B panels of a MatMul's (K,N) or a Gemm's untransposed weight; G = 1). A Gemm's (N,K)
 * weight (transB) is afk_cw_pack's layout with mr = the B panel width. mr <= 32. */
size_t afk_cw_bytes_t(const uint8_t *blob, int rank, const int64_t *dims, int mr);
void afk_cw_pack_t(const uint8_t *blob, int rank, const int64_t *dims, int mr, void *dst);

/* The rows form, for the GEMV (one output row, sgemm.c): the stored codes as they are,
 * row-major (W[r][c] is code r * K + c; rows, K: the stored (rows, cols); mr = G = 1), next to
 * the same f32 parameters and tables, so the resident weight is the blob's code bytes. */
size_t afk_cw_bytes_rows(const uint8_t *blob, const int64_t *dims);
void afk_cw_pack_rows(const uint8_t *blob, const int64_t *dims, void *dst);

/* dst[i * ld + j] = W[r0 + i][c0 + j] (i < nr, j < n) of a rows-form buffer: the floats
 * af_wdecode gives (AVX-512: 16 codes a step, AVX2: 8, or the portable loop). */
void afk_cw_decode_rows(const afk_cw *cw, int64_t r0, int64_t nr, int64_t c0, int64_t n,
                        float *dst, int64_t ld);

/* ap (kc, mr) = the decoded panel of rows [i0, i0+mr) (i0 a multiple of cw->mr, mr <= cw->mr)
 * of sub-matrix gi, k block [k0, k0+kc) (k0 a multiple of AFK_PGEMM_KC): the floats
 * afk_pgemm_pack_a writes for the decoded weight. */
void afk_cw_decode(const afk_cw *cw, int64_t gi, int64_t k0, int64_t kc, int64_t i0, int mr,
                   float *ap);

/* qgemm.c: 1 when the blob is an int8 weight afk_cw_why_not accepts, with its codes (*rows,
 * *cols row-major, the weight as stored; *uns: uint8 codes) and, when s and z are given, per
 * row r < *rows its scale s[r] and zero point z[r] as the decoder applies them
 * (x = s * (q - z)); else 0. */
int afk_cw_int8_rows(const uint8_t *blob, int rank, const int64_t *dims, const uint8_t **codes,
                     int64_t *rows, int64_t *cols, int *uns, float *s, int32_t *z);

/* 1 when the blob is such an int8 weight and every row has the same zero point. */
int afk_cw_int8_one_zero(const uint8_t *blob, int rank, const int64_t *dims);

/* A panel being decoded (afk_cw_decode's working view, shared with cpanel_neon.c): its codes,
 * first global row (lane) and k block, the rows of the parameter arrays (blockwise: the stride
 * between blocks), and the f32 parameter arrays of the buffer. */
typedef struct afk_cw_panel {
    const afk_cw *cw;
    const uint8_t *codes;
    int64_t r0, kc, k0, nrow;
    int mr;
    const float *s, *o, *t;
    const int32_t *z;
} afk_cw_panel;

/* The decoder afk_cw_decode takes on this CPU for an untransposed panel of up to 16 lanes:
 * "avx512", "avx2", "neon" or "portable" (after afk_cw_force_portable). */
const char *afk_cw_isa(void);

#if defined(__aarch64__)
/* cpanel_neon.c, the portable loops' bits: the panel p decoded into ap (kc * mr floats); the
 * rows form's segment dst[j] = W[r][c0 + j], j < n (p: the whole buffer, mr 1; blockwise: the
 * segment inside one block). */
void afk_neon_cw_decode(const afk_cw_panel *p, float *ap);
void afk_neon_cw_seg(const afk_cw_panel *p, int64_t r, int64_t c0, int64_t n, float *dst);
/* At load: panel (k0, i0) of sub-matrix gi (kc columns, mr rows) from the stored codes into p,
 * the bytes cpanel.c's portable packer writes (panels of 4- or 8-bit codes only). */
void afk_neon_cw_pack_panel(const afk_cw *cw, const uint8_t *codes, int64_t gi, int64_t k0,
                            int64_t kc, int64_t i0, int mr, uint8_t *p);
/* dst[j] = bit b0 + j of the mask m set ? the next half of v, widened : +0, j < n (sparse). */
void afk_neon_cw_expand(const uint8_t *m, uint64_t b0, int64_t n, const uint16_t *v,
                        float *dst);
#endif

/* conv.c: a compressed 3x3 conv weight keeps Winograd (f32, transformed) when its transformed
 * weights take at most afk_cw_wino_max bytes (default 3 MiB; 0: never) */
extern size_t afk_cw_wino_max;
/* conv.c: with in[1] a compressed blob (dtype U8), the Winograd tile (4 or 2) its packed
 * panels are transformed for on every run (wino_weights.c), else 0 (the direct packed GEMM). */
int afk_conv_cw_wino(const af_params *p, const af_tview *in, const af_tview *out);

/* tests: 0 (default) the best the CPU has; 1 the portable loop; 2 at most AVX2 (AArch64: any
 * value but 1 is NEON) */
extern int afk_cw_force_portable;

#endif

/* runtime/kernels/qgemm.h — int8 compute for the packed GEMM (af_session_options.int8_compute):
 * int8 weights times dynamically quantized activations, int32 dot products (AVX512-VNNI
 * vpdpbusd), dequantized per k block into the f32 tile the fused epilogue finishes.
 *
 *   C (M,N) = A (M,K) @ B (K,N), A the int8 weight (conv: rows = output channels), B the f32
 *   activations (the conv's implicit im2col panels).
 *
 * Weights: the codes as stored (int8; uint8 codes shifted by -128 into int8, their zero point
 * with them), cut into panels of W lanes (W = the kernel's MR) per k block of KC, each panel
 * k-major in groups of 4: lane l's codes for k = 4kq .. 4kq+3 are the 4 bytes at (kq*W + l)*4
 * (zeros past K and past the last row), next to per lane the scale s, the zero point z and per
 * k block the sum of the lane's codes.
 *
 * Activations, per k block of KC (256) rows and per column n (one output position of a conv:
 * the activation operand's row, an im2col patch): asymmetric uint8 over the column's range
 * widened to include 0 (so 0, the conv's padding, is exact), sa = (max - min) / 255,
 * za = round(-min / sa), q = clamp(round(x * 255/(max - min) + za), 0, 255). Per k block rather
 * than per whole column: the GEMM already walks K in blocks of KC, so each block of B is
 * quantized once, right after it is packed and while it is in cache, without a second pass
 * over the im2col; and the finer scales cost nothing in accuracy.
 *
 * Per k block b, tile element (i, n): acc = sum_k qw[i,k] * qa[k,n] (vpdpbusd: u8 x s8, int32);
 * then exactly (every term an integer below 2^24, so the f32 operations are exact)
 *   d = acc - za[n] * sumw[b][i] - zw[i] * sum_k (qa[k,n] - za[n]) = sum_k (qw - zw)(qa - za)
 * and C = (b first ? 0 : C) + d * (sa[b][n] * sw[i]) (one rounded multiply, one FMA). At the
 * last block the fused bias and activation of sgemm_packed.c (simd512.h) finish the tile.
 * A column's quantization depends only on its values, and the sums run over k blocks in
 * order, so outputs do not depend on how tasks split rows or columns: the same bits for any
 * thread count.
 *
 * MatMul and Gemm (Bq8) are the same with the roles swapped: the weight is B, its N output
 * columns the panels' lanes (W = 32), and the activations A are quantized per k block of each
 * row (a token), so d = acc - za[i] * sumw[b][n] - zw[n] * sum_k (qa[i,k] - za[i]) and
 * C += d * (sw[n] * sa[b][i]). A Gemm's (N,K) weight (transB) has its scales per output
 * column already; a MatMul's (K,N) weight is read transposed and its scales run along k: they
 * are folded into the activations (x[i,k] * s[k] before quantizing), which needs one zero point
 * for the whole weight (symmetric int8, or a per-tensor zero point).
 */
#ifndef AF_RUNTIME_KERNELS_QGEMM_H
#define AF_RUNTIME_KERNELS_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* The header at the start of int8 weight panels (offsets from the header's start). */
typedef struct afk_q8 {
    int32_t W;          /* lanes per panel (conv: afk_pgemm_mr(); MatMul/Gemm: 32) */
    int32_t any_zero;   /* some lane has a nonzero zero point */
    int32_t tr, pad_;   /* tr: lanes are the stored weight's columns, k its rows (MatMul) */
    int64_t rows, K, G; /* lanes (rows of one sub-matrix), k, sub-matrices (conv groups) */
    int64_t npan;       /* panels per k block of one sub-matrix: ceil(rows / W) */
    uint64_t sub_bytes; /* code bytes of one sub-matrix */
    int64_t lanes32;    /* global lanes rounded up to 32: the stride of the sums */
    uint64_t scale_off; /* f32 per global lane: the weight's scale (tr: 1) */
    uint64_t zero_off;  /* f32 per global lane: its zero point (in the stored int8 codes) */
    uint64_t sum_off;   /* f32 [k block][lanes32]: the sum of the lane's codes */
    uint64_t kscale_off;/* tr: f32 per k, the scale folded into the activations */
    uint64_t code_off;  /* G sub-matrices of sub_bytes each */
    uint64_t total;     /* bytes of the whole buffer */
} afk_q8;

/* 1 when this process runs int8 compute: the CPU has AVX512-VNNI (and BW) and the packed GEMM
 * uses its AVX-512 kernel. Chosen once per process (cpuid). */
int afk_q8_available(void);

/* Bytes of the int8 panels of an int8 blob (cpanel.h's afk_cw_int8_rows: per-tensor or
 * per-row scales) cut into G sub-matrices of W-lane panels (W <= 32; tr: G 1, lanes along the
 * stored columns, one zero point for all rows); 0 when it cannot run so. */
size_t afk_q8_bytes(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int W,
                    int tr);
void afk_q8_pack(const uint8_t *blob, int rank, const int64_t *dims, int64_t G, int W, int tr,
                 void *dst);

/* The same panels from f32 sub-matrices quantized here: symmetric int8 per lane (scale
 * max|x| / 127, zero point 0). get(arg, lr, buf) writes lane lr of every sub-matrix, buf[gi *
 * K + k] (G * K floats). afk_q8_f32_bytes: 0 when int8 compute does not run here. */
typedef void (*afk_q8_rows_fn)(void *arg, int64_t lr, float *buf);
size_t afk_q8_f32_bytes(int64_t rows, int64_t K, int64_t G, int W);
void afk_q8_pack_f32(int64_t rows, int64_t K, int64_t G, int W, afk_q8_rows_fn get, void *arg,
                     float *buf, void *dst);

/* Extra work floats afk_qgemm_run needs past afk_pgemm_work_floats' f32 part (included in
 * afk_pgemm_work_floats). */
size_t afk_qgemm_extra_floats(int64_t N);

/* g->Aq8 set: C = A @ B as above, rows from g->ap_row0 of sub-matrix g->acw_group, B from
 * g->pack_b (or g->Bp), bias/act as afk_pgemm_run. g->Bq8 set: B's columns from g->bp_col0
 * (a multiple of 32), A as afk_pgemm_run packs it (afk_pgemm_a_panel). */
void afk_qgemm_run(const afk_pgemm *g);

/* The quantizer of one panel of activations (exposed for tests): x (kc rows of L <= 32 floats,
 * k-major) -> q (ceil(kc/4) groups of L dwords, lane l's 4 k as bytes, zeros past kc) and per
 * lane its scale sa, zero point za and sq = sum over the kc rows of (q - za). */
void afk_q8_quantize(const float *x, int L, int64_t kc, uint8_t *q, float *sa, float *za,
                     float *sq);

#endif

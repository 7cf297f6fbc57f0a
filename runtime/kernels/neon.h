/* runtime/kernels/neon.h — the AArch64 Advanced SIMD (NEON) kernels, chosen at run time like the
 * x86 ones (docs/arm64.md). Only built into anything on __aarch64__; every entry has a portable
 * reference elsewhere that tests/unit/test_neon.c compares it with. */
#ifndef AF_RUNTIME_KERNELS_NEON_H
#define AF_RUNTIME_KERNELS_NEON_H

#include <stddef.h>
#include <stdint.h>

#include "simd512.h" /* pg_epi */

/* A resize tap along one axis (resize.c): source offsets (index * input stride) of the two
 * neighbours, the weight of the second (the first gets 1 - w), tf_crop_and_resize's outside. */
typedef struct afk_rtap {
    int64_t o0, o1;
    float w;
    int32_t outside;
} afk_rtap;

#if defined(__aarch64__)
#define AFK_NEON 1

/* 1 when the CPU has Advanced SIMD (always on AArch64 Linux/Apple; read from AT_HWCAP on Linux)
 * and afk_vec_force_portable is 0. */
int afk_neon_on(void);

/* ---- packed GEMM micro-kernel (sgemm_neon.c): 12 rows x 8 columns ----
 * c (r, nr) (=|+=) a (kc, r packed: [k*r + i]) @ b (kc, 8 packed: [k*8 + j]), nr <= 8; mode bit
 * 0: start from C, bit 1: last k block (bias, then AFK_ACT_* incl. sigmoid/silu). */
enum { AFK_NEON_MR = 12, AFK_NEON_NR = 8 };
#define AFK_NEON_UKR(R)                                                                        \
    void afk_neon_ukr_##R(int64_t kc, const float *a, const float *b, float *c, int64_t ldc,   \
                          int nr, int mode, const pg_epi *e);
AFK_NEON_UKR(1) AFK_NEON_UKR(2) AFK_NEON_UKR(3) AFK_NEON_UKR(4) AFK_NEON_UKR(5) AFK_NEON_UKR(6)
AFK_NEON_UKR(7) AFK_NEON_UKR(8) AFK_NEON_UKR(9) AFK_NEON_UKR(10) AFK_NEON_UKR(11)
AFK_NEON_UKR(12)
#undef AFK_NEON_UKR

/* ---- the conv's implicit im2col into 8-wide B panels (im2col_neon.c) ----
 * positions [r, r+len) of one packed row (panels pstride floats apart from d) = src[0],
 * src[s], ..., or zeros when src is NULL: conv.c's put_run for nr = 8. */
void afk_neon_put_run8(float *d, int64_t pstride, int64_t r, int64_t len, const float *src,
                       int64_t s);

/* ---- wdecode.c's row loops (wdec_neon.c): the reference decoders' floats ----
 * o (n) = s * (float)(q - z) · the 4-bit codes from element e0 through the 16-entry table
 * (scaled: s * T[c] + off) · blockwise (float)code * s + off (bits 4 or 8). */
void afk_neon_dec_int8(const int8_t *q, int64_t n, float s, int z, float *o);
void afk_neon_dec_lut4(const uint8_t *codes, uint64_t e0, int64_t n, const float *lut, int scaled,
                       float s, float off, float *o);
void afk_neon_dec_blk(const uint8_t *codes, uint64_t e0, int64_t n, int bits, float s, float off,
                      float *o);

/* ---- the fused attention's online softmax (attention_neon.c), attention.c's contract ----
 * One key block of kb keys for query columns [0, nw) (nw a multiple of 8, nr of 8): s (kb, ld)
 * scores -> pp (kb, nw) as B panels of width nr, P = e^(s − m'); m = m' (running max), f =
 * e^(m − m') (1 where the max stayed), l = l·f + Σ P. Returns 1 when some f is not 1. */
int afk_neon_attn_softmax(const float *s, int64_t ld, int64_t kb, int64_t nw, int nr, float *pp,
                          float *m, float *l, float *f);
/* ot (dv, ld) columns [0, nw) *= f (nw a multiple of 4). */
void afk_neon_attn_rescale(float *ot, int64_t ld, int64_t dv, int64_t nw, const float *f);

/* ---- groupnorm.c's loops (norm_neon.c), their bits; each returns how many leading elements
 * it did (a multiple of 16 for the lane sums, of 4 for the rows), the caller does the rest ----
 * s[i % 16] += x[i] · s[i % 16] += (x[i] - mean)^2 · y = x * k + c ·
 * y = ((x - mean) * rstd) * scale + bias (scale, bias may be NULL). */
int64_t afk_neon_lane_sums16(const float *x, int64_t n, float *s);
int64_t afk_neon_lane_sqdev16(const float *x, int64_t n, float mean, float *s);
int64_t afk_neon_scale_shift(const float *x, float *y, int64_t n, float k, float c);
int64_t afk_neon_ln_row(const float *x, float *y, int64_t n, float mean, float rstd,
                        const float *scale, const float *bias);

/* ---- pool.c's loops (pool_neon.c) ----
 * y[ow], ow in [o0, o1): the 2-D window over rows[0..nr) (in order; W floats each) and columns
 * ow*s - pb + kw*d, kw < KW (all inside the row), folded as the reference does: max (avg 0) or
 * the sum from 0 divided by div (0 when div <= 0) (avg 1). Global max (the reference's bits)
 * and sum in doubles (within n·2^-53·Σ|x| of the portable sum). */
void afk_neon_pool_row(int avg, const float *const *rows, int nr, int64_t o0, int64_t o1,
                       int64_t s, int64_t d, int64_t KW, int64_t pb, int64_t W, int64_t div,
                       float *y);
float afk_neon_max_f32(const float *x, int64_t n);
double afk_neon_sum_f64(const float *x, int64_t n);

/* ---- resize.c's plane rows (resize_neon.c), their bits ----
 * nearest 2x: dst[i] = src[i / 2], i < n. Linear: y[ow] = the reference's corner sum from rows
 * r0, r1 (weights a0, a1; lh: the row interpolates) and column taps tw (lw: the column
 * interpolates; otherwise o0 alone); returns the columns done (a multiple of 4). */
void afk_neon_dup2_u32(const uint32_t *src, int64_t n, uint32_t *dst);
int64_t afk_neon_lin_row(const float *r0, const float *r1, float a0, float a1, int lh, int lw,
                         const afk_rtap *tw, int64_t n, float *y);

/* ---- elementwise loops (vec_neon.c), the contracts of vec.c's ---- */
void afk_neon_bias_act(float *x, int64_t n, float bias, int kind, float lo, float hi);
void afk_neon_add_act(float *x, const float *r, int64_t n, int kind, float lo, float hi);
void afk_neon_binary(int fn, const float *a, const float *b, int b_scalar, float *o, int64_t n);
void afk_neon_binary_sa(int fn, float a, const float *b, float *o, int64_t n);
/* x = sigmoid(x) / silu(x) (silu = 1); x = erf(x) / erf-form gelu(x) (gelu = 1). */
void afk_neon_sigmoid(float *x, int64_t n, int silu);
void afk_neon_erf(float *x, int64_t n, int gelu);
/* x (n) = act(x) for AFK_ACT_* (the GEMM epilogue's, on a stored row). */
void afk_neon_act(float *x, int64_t n, int act, float lo, float hi);
/* IEEE half <-> float (FCVTL / FCVTN, round to nearest even; exact widening). */
void afk_neon_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void afk_neon_f32_to_f16(const float *src, uint16_t *dst, size_t n);

#endif
#endif

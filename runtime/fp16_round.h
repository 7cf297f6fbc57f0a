/* runtime/fp16_round.h — round float32 values to the nearest IEEE half, kept as float32.
 *
 * The runtime's fp16 emulation (af_session_options.fp16) rounds every f32 activation with this
 * after each op, as the ANE's fp16 dataplane stores it: round to nearest even, |x| beyond the
 * half range (≥ 65520 before rounding) becomes ±Inf, tiny values become half subnormals
 * (multiples of 2^-24) or ±0, NaN stays NaN. Same result as af_f16_to_f32(af_f32_to_f16(x))
 * (tests/unit/test_validate.c checks that), but branch-free on integer and float arithmetic so
 * the loop over a buffer vectorises without F16C.
 */
#ifndef AF_RUNTIME_FP16_ROUND_H
#define AF_RUNTIME_FP16_ROUND_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float af_f16_round(float x)
{
    uint32_t u, sub_bits;
    memcpy(&u, &x, sizeof u);
    uint32_t a = u & 0x7FFFFFFFu, sign = u ^ a;
    /* normal halves: keep 10 mantissa bits, round to nearest even on the 13 dropped bits */
    uint32_t r = (a + 0xFFFu + ((a >> 13) & 1u)) & ~0x1FFFu;
    r = r > 0x477FE000u ? 0x7F800000u : r;         /* above 65504 after rounding → Inf */
    /* half subnormals (|x| < 2^-14): round to a multiple of 2^-24 (exact float steps) */
    float af;
    memcpy(&af, &a, sizeof af);
    float sub = ((af * 0x1p24f + 0x1p23f) - 0x1p23f) * 0x1p-24f;
    memcpy(&sub_bits, &sub, sizeof sub_bits);
    r = a < 0x38800000u ? sub_bits : r;
    r = a > 0x7F800000u ? a : r;                    /* NaN passes through */
    r |= sign;
    float y;
    memcpy(&y, &r, sizeof y);
    return y;
}

// x (n,) f32 -> x rounded to fp16 precision, in place
static inline void af_f16_round_buf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = af_f16_round(x[i]);
}

/* The value of x carried as an unevaluated pair of halves: hi = half(x), lo = half(x − hi)
 * (x − hi is exact in f32), returned as hi + lo in f32 — about 22 significant bits where lo stays
 * normal, fewer as lo reaches the half subnormals (|lo| < 2^-14); beyond the half range hi is ±Inf
 * and so is the pair. Paired-fp16 emulation (AF_PREC_PAIRED). */
static inline float af_f16_pair_round(float x)
{
    float hi = af_f16_round(x);
    if (!(hi - hi == 0.0f)) return hi; /* ±Inf or NaN */
    return hi + af_f16_round(x - hi);
}

// x (n,) f32 -> x as hi + lo pairs of halves, in place
static inline void af_f16_pair_round_buf(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = af_f16_pair_round(x[i]);
}

/* Stores x (n,) as precision mode stores it: 0 = AF_PREC_FP16 (halves), 2 = AF_PREC_PAIRED
 * (hi + lo), anything else kept (aneforge/runtime.h). */
static inline void af_prec_round_buf(int mode, float *x, size_t n)
{
    if (mode == 0) af_f16_round_buf(x, n);
    else if (mode == 2) af_f16_pair_round_buf(x, n);
}

#endif

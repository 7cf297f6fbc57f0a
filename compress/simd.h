/* compress/simd.h — the encoders' hot loops, with a portable version and an x86 version
 * (AVX2 + F16C, chosen once at run time) that give the same bytes.
 *
 * Every loop here is exact: the fp16 conversion is IEEE round-to-nearest-even (the portable
 * path is af_f32_to_f16 itself; F16C's _mm256_cvtps_ph with imm 0 rounds the same way,
 * including ties, subnormal halves, overflow to Inf and NaN quieting); the int8 quantizer
 * divides in double and rounds half to even explicitly (never through the current rounding
 * mode); min/max and the int4 assignment are comparisons. So a bundle is byte-identical
 * whichever path runs (tests/unit/test_compress.c compares them on ties, NaN/Inf, subnormals
 * and random data). af_csimd_force_portable = 1 makes every call take the portable path.
 */
#ifndef AF_COMPRESS_SIMD_H
#define AF_COMPRESS_SIMD_H

#include <stddef.h>
#include <stdint.h>

extern int af_csimd_force_portable;
/* "avx2+f16c" or "portable": what the calls below run. */
const char *af_csimd_isa(void);

/* h[i] = af_f32_to_f16(x[i]). */
void af_f32_to_f16_n(const float *x, uint16_t *h, size_t n);
/* As af_f32_to_f16_n; returns the index of the first code that is Inf or NaN, or n. */
size_t af_f32_to_f16_finite(const float *x, uint16_t *h, size_t n);

/* keys[i] = af_f16_key(af_f32_to_f16(x[i])) (kmeans1d.h: -0 -> +0, order-preserving); returns
 * the index of the first x whose fp16 is Inf or NaN, or n. */
size_t af_f32_to_f16_keys(const float *x, uint16_t *keys, size_t n);

/* out[i] = af_f16_to_f32(h[i]) (exact). */
void af_f16_to_f64_n(const uint16_t *h, double *out, size_t n);

/* *lo = min(*lo, x[i]), *hi = max(*hi, x[i]) over all i; returns 0 (lo, hi untouched) when
 * some x[i] is Inf or NaN, else 1. */
int af_minmax_f32(const float *x, size_t n, float *lo, float *hi);

/* Round half to even, independent of the floating-point environment (|v| < 2^52). */
double af_round_half_even(double v);

// x (n,) -> q[i] = clamp(rne(x[i] / s) + z, qlo, qhi); s > 0 and x finite (|x / s| < 2^30)
void af_quant_i8(const float *x, size_t n, double s, int z, int qlo, int qhi, int8_t *q);

/* int4 assignment by thresholds in the fp16 order-key domain (kmeans1d.h af_f16_key):
 * index(k) = #{ j < 15 : k >= tkey[j] }, tkey ascending. Packs index(keys[i]) as the nibble
 * of element e0 + i in idx (LSB-first, ORed in: idx must start zeroed). */
void af_int4_assign(const uint16_t *keys, size_t n, const uint16_t tkey[15], uint8_t *idx,
                    uint64_t e0);

#endif

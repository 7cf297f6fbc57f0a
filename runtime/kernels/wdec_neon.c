/* runtime/kernels/wdec_neon.c — the inner row loops of runtime/wdecode.c's reference decoders on
 * AArch64 Advanced SIMD, 16 values per step: int8 rows, 4-bit table rows (unscaled, or with a
 * row scale and offset) and blockwise runs. The reference's operations in its order (built
 * with -ffp-contract=off), so the same floats. Loads never pass the last code byte a row needs
 * (the decoders' contract: nothing outside the blob is read): whole 16-value steps only, an
 * odd nibble start and the tail one value at a time.
 */
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>

static inline unsigned nib(const uint8_t *p, uint64_t i) { return (p[i >> 1] >> (4 * (i & 1))) & 15u; }

/* 16 nibbles from element e (even) on: 8 bytes, LSB first. */
static inline uint8x16_t nibbles16(const uint8_t *p, uint64_t e)
{
    uint8x8_t b = vld1_u8(p + (e >> 1));
    return vcombine_u8(vzip1_u8(vand_u8(b, vdup_n_u8(15)), vshr_n_u8(b, 4)),
                       vzip2_u8(vand_u8(b, vdup_n_u8(15)), vshr_n_u8(b, 4)));
}

/* 16 unsigned codes as 4 float vectors (exact). */
static inline void codes_f32(uint8x16_t c, float32x4_t f[4])
{
    uint16x8_t lo = vmovl_u8(vget_low_u8(c)), hi = vmovl_high_u8(c);
    f[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(lo)));
    f[1] = vcvtq_f32_u32(vmovl_high_u16(lo));
    f[2] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(hi)));
    f[3] = vcvtq_f32_u32(vmovl_high_u16(hi));
}

void afk_neon_dec_int8(const int8_t *q, int64_t n, float s, int z, float *o)
{
    const float32x4_t vs = vdupq_n_f32(s);
    const int32x4_t vz = vdupq_n_s32(z);
    int64_t c = 0;
    for (; c + 16 <= n; c += 16) {
        int8x16_t b = vld1q_s8(q + c);
        int16x8_t lo = vmovl_s8(vget_low_s8(b)), hi = vmovl_high_s8(b);
        int32x4_t w[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo),
                          vmovl_s16(vget_low_s16(hi)), vmovl_high_s16(hi)};
        for (int k = 0; k < 4; k++)
            vst1q_f32(o + c + 4 * k, vmulq_f32(vs, vcvtq_f32_s32(vsubq_s32(w[k], vz))));
    }
    for (; c < n; c++) o[c] = s * (float)(q[c] - z);
}

/* T[c] for the 16 codes of c, 4 vectors: TBL over the table's 64 bytes. */
static inline void lut16(uint8x16x4_t tb, uint8x16_t c, float32x4_t x[4])
{
    static const uint8_t rep[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    static const uint8_t byte[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    const uint8x16_t c4 = vshlq_n_u8(c, 2), off = vld1q_u8(byte);
    for (int g = 0; g < 4; g++) {
        uint8x16_t sel = vaddq_u8(vld1q_u8(rep), vdupq_n_u8((uint8_t)(4 * g)));
        x[g] = vreinterpretq_f32_u8(vqtbl4q_u8(tb, vorrq_u8(vqtbl1q_u8(c4, sel), off)));
    }
}

void afk_neon_dec_lut4(const uint8_t *codes, uint64_t e0, int64_t n, const float *lut, int scaled,
                       float s, float off, float *o)
{
    const uint8_t *t = (const uint8_t *)lut;
    const uint8x16x4_t tb = {{vld1q_u8(t), vld1q_u8(t + 16), vld1q_u8(t + 32), vld1q_u8(t + 48)}};
    const float32x4_t vs = vdupq_n_f32(s), vo = vdupq_n_f32(off);
    int64_t c = 0;
    if ((e0 & 1) && n > 0) { /* to an even nibble */
        o[0] = scaled ? s * lut[nib(codes, e0)] + off : lut[nib(codes, e0)];
        c = 1;
    }
    for (; c + 16 <= n; c += 16) {
        float32x4_t x[4];
        lut16(tb, nibbles16(codes, e0 + (uint64_t)c), x);
        for (int k = 0; k < 4; k++)
            vst1q_f32(o + c + 4 * k, scaled ? vaddq_f32(vmulq_f32(vs, x[k]), vo) : x[k]);
    }
    for (; c < n; c++) {
        float v = lut[nib(codes, e0 + (uint64_t)c)];
        o[c] = scaled ? s * v + off : v;
    }
}

void afk_neon_dec_blk(const uint8_t *codes, uint64_t e0, int64_t n, int bits, float s, float off,
                      float *o)
{
    const float32x4_t vs = vdupq_n_f32(s), vo = vdupq_n_f32(off);
    int64_t c = 0;
    if (bits == 4 && (e0 & 1) && n > 0) {
        o[0] = (float)nib(codes, e0) * s + off;
        c = 1;
    }
    for (; c + 16 <= n; c += 16) {
        uint64_t e = e0 + (uint64_t)c;
        float32x4_t f[4];
        codes_f32(bits == 8 ? vld1q_u8(codes + e) : nibbles16(codes, e), f);
        for (int k = 0; k < 4; k++) vst1q_f32(o + c + 4 * k, vaddq_f32(vmulq_f32(f[k], vs), vo));
    }
    for (; c < n; c++) {
        uint64_t e = e0 + (uint64_t)c;
        o[c] = (float)(bits == 8 ? codes[e] : nib(codes, e)) * s + off;
    }
}

#endif

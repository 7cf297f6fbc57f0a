/* bundle/crc32_fast.c — CRC-32 (the zlib/IEEE one, reflected polynomial 0xEDB88320) folded with
 * carry-less multiplication, for verifying large weight sections fast at bundle open.
 *
 * Method: Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ" (Gopal et al.,
 * 2009): four 128-bit lanes are folded forward 64 bytes at a time, then into one lane 16 bytes
 * at a time; the folded lane is congruent to the message processed so far, so its CRC (from a
 * zero register) is the running CRC register. That last step and every tail go through zlib.
 * Fold constants are x^(k) mod P, bit-reflected, for k = 4*128±32 (64-byte fold) and 128±32
 * (16-byte fold). Chosen at run time; without PCLMUL (or off x86) it is zlib alone.
 */
#include "format.h"

#include <zlib.h>

/* zlib over any length (its length argument is an unsigned int). */
static uint32_t crc_zlib(uint32_t crc, const uint8_t *p, uint64_t len)
{
    uLong c = crc;
    while (len > 0) {
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("pclmul,sse4.1"))) static __m128i fold(__m128i x, __m128i k, __m128i data)
{
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
                                       _mm_clmulepi64_si128(x, k, 0x11)),
                         data);
}

/* crc over len >= 64 bytes; returns the zlib-style (finalised) CRC. */
__attribute__((target("pclmul,sse4.1"))) static uint32_t crc_pclmul(uint32_t crc,
                                                                    const uint8_t *p,
                                                                    uint64_t len)
{
    const __m128i k12 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL); /* hi R2, lo R1 */
    const __m128i k34 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL); /* hi R4, lo R3 */
    __m128i x0 = _mm_loadu_si128((const __m128i *)p);
    __m128i x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32));
    __m128i x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)~crc)); /* the register enters the data */
    p += 64, len -= 64;
    for (; len >= 64; p += 64, len -= 64) {
        x0 = fold(x0, k12, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, k12, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, k12, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, k12, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    x0 = fold(x0, k34, x1);
    x0 = fold(x0, k34, x2);
    x0 = fold(x0, k34, x3);
    for (; len >= 16; p += 16, len -= 16) x0 = fold(x0, k34, _mm_loadu_si128((const __m128i *)p));
    uint8_t lane[16];
    _mm_storeu_si128((__m128i *)lane, x0);
    /* CRC register of lane from 0: zlib's crc32(crc) runs its register from ~crc and returns
     * the final register inverted, so pass ~0 (register 0) and invert the result back. */
    uint32_t r = ~(uint32_t)crc32(0xffffffffu, lane, 16);
    return crc_zlib(~r, p, len);
}
#endif

uint32_t afb_crc32_fast(uint32_t crc, const void *data, uint64_t len)
{
#if defined(__x86_64__)
    static int have = -1;
    if (have < 0) have = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    if (have && len >= 64) return crc_pclmul(crc, data, len);
#endif
    return crc_zlib(crc, data, len);
}

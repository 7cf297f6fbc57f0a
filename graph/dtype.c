#include "dtype.h"

#include <assert.h>
#include <math.h>
#include <string.h>

const af_dtype_traits af_dtype_table[AF_DTYPE_COUNT] = {
    [AF_DTYPE_F32] = {"f32", 4, "<f4", 1},
    [AF_DTYPE_F16] = {"f16", 2, "<f2", 1},
    [AF_DTYPE_BF16] = {"bf16", 2, NULL, 1},
    [AF_DTYPE_I8] = {"i8", 1, "|i1", 0},
    [AF_DTYPE_U8] = {"u8", 1, "|u1", 0},
    [AF_DTYPE_I32] = {"i32", 4, "<i4", 0},
    [AF_DTYPE_I64] = {"i64", 8, "<i8", 0},
    [AF_DTYPE_BOOL] = {"bool", 1, "|b1", 0},
    /* 16/32/64-bit integer types */
    [AF_DTYPE_I16] = {"i16", 2, "<i2", 0},
    [AF_DTYPE_U16] = {"u16", 2, "<u2", 0},
    [AF_DTYPE_U32] = {"u32", 4, "<u4", 0},
    [AF_DTYPE_U64] = {"u64", 8, "<u8", 0},
};
static_assert(AF_DTYPE_COUNT == 12, "update af_dtype_table");

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t af_f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t exp = (x >> 23) & 0xffu;
    uint32_t man = x & 0x7fffffu;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00u | (man ? 0x200u | (man >> 13) : 0));
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 0x1f) return (uint16_t)(sign | 0x7c00u); /* overflow → inf */
    if (e <= 0) {                                       /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t h = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) h++; /* may carry into exp: correct */
    return (uint16_t)(sign | h);
}

float af_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return bits_f32(sign);
        float v = ldexpf((float)man, -24); /* subnormal */
        return sign ? -v : v;
    }
    if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));
    return bits_f32(sign | ((exp - 15 + 127) << 23) | (man << 13));
}

uint16_t af_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    uint32_t lsb = (x >> 16) & 1u;
    x += 0x7fffu + lsb;
    return (uint16_t)(x >> 16);
}

float af_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

double af_dtype_get(af_dtype t, const void *data, size_t i)
{
    switch (t) {
    case AF_DTYPE_F32: return ((const float *)data)[i];
    case AF_DTYPE_F16: return af_f16_to_f32(((const uint16_t *)data)[i]);
    case AF_DTYPE_BF16: return af_bf16_to_f32(((const uint16_t *)data)[i]);
    case AF_DTYPE_I8: return ((const int8_t *)data)[i];
    case AF_DTYPE_U8: return ((const uint8_t *)data)[i];
    case AF_DTYPE_I32: return ((const int32_t *)data)[i];
    case AF_DTYPE_I64: return (double)((const int64_t *)data)[i];
    case AF_DTYPE_BOOL: return ((const uint8_t *)data)[i] != 0;
    /* 16/32/64-bit integer types */
    case AF_DTYPE_I16: return ((const int16_t *)data)[i];
    case AF_DTYPE_U16: return ((const uint16_t *)data)[i];
    case AF_DTYPE_U32: return ((const uint32_t *)data)[i];
    case AF_DTYPE_U64: return (double)((const uint64_t *)data)[i];
    default: return 0;
    }
}

/* v clamped to [lo, hi], NaN → 0 */
static double clampd(double v, double lo, double hi)
{
    return v != v ? 0 : v < lo ? lo : v > hi ? hi : v;
}

void af_dtype_set(af_dtype t, void *data, size_t i, double v)
{
    switch (t) {
    case AF_DTYPE_F32: ((float *)data)[i] = (float)v; break;
    case AF_DTYPE_F16: ((uint16_t *)data)[i] = af_f32_to_f16((float)v); break;
    case AF_DTYPE_BF16: ((uint16_t *)data)[i] = af_f32_to_bf16((float)v); break;
    case AF_DTYPE_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case AF_DTYPE_U8: ((uint8_t *)data)[i] = (uint8_t)v; break;
    case AF_DTYPE_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case AF_DTYPE_I64: ((int64_t *)data)[i] = (int64_t)v; break;
    case AF_DTYPE_BOOL: ((uint8_t *)data)[i] = v != 0; break;
    /* clamped first, so an out-of-range value is never UB */
    case AF_DTYPE_I16: ((int16_t *)data)[i] = (int16_t)clampd(v, -32768.0, 32767.0); break;
    case AF_DTYPE_U16: ((uint16_t *)data)[i] = (uint16_t)clampd(v, 0, 65535.0); break;
    case AF_DTYPE_U32: ((uint32_t *)data)[i] = (uint32_t)clampd(v, 0, 4294967295.0); break;
    case AF_DTYPE_U64: /* 2^64 itself is not representable: the top is the last double below */
        ((uint64_t *)data)[i] = (uint64_t)clampd(v, 0, 18446744073709549568.0);
        break;
    default: break;
    }
}

/* runtime/kernels/cpanel_neon.c — cpanel.c's panel decoders on AArch64 Advanced SIMD. One k
 * step's codes (up to 16 lanes) are widened in one register, then decoded 4 lanes per float
 * vector with the reference decoder's operations in its order (built with -ffp-contract=off:
 * a multiply and an add stay two roundings), so a panel holds the portable loop's bits:
 *
 *   int8:  x = s * (float)(q - z)        q sign- or zero-extended (SXTL/UXTL), SCVTF
 *   lut4:  x = T[c]                      TBL over the 16-float table as 64 bytes (vqtbl4q_u8)
 *   pal4:  x = s * T[c] + o
 *   blk:   x = (float)c * s + o          s, o of the lane's block
 *   sparse: a run of mask bits, 4 a step: 4 halves widened (FCVTL) and put in the set lanes
 *          by TBL (afk_neon_cw_expand)
 *
 * Palettes of 5..8 bits (AFK_CW_PAL8: byte codes into tables of up to 256 entries) are not
 * taken here (afk_cw_decode keeps them on the portable loop); 1..3-bit ones are held as
 * nibbles into 16-slot tables and are.
 *
 * Untransposed panels (lanes = the stored weight's rows) take per-lane parameters and tables
 * (a lane whose table differs from its group's first is merged in by a compare-select);
 * transposed ones (lanes = its columns, k = its rows) one scale / zero point / table per k
 * step, blockwise parameters per lane's block. Panels of up to 32 lanes, as two halves of 16.
 */
#include "cpanel.h"
#include "neon.h"

#if defined(AFK_NEON)
#include <arm_neon.h>
#include <string.h>

enum { LANES = 32 };

/* 16 codes from element e of the panel (8-bit: bytes; 4-bit: LSB-first nibbles from any
 * start). Reads 16 bytes from the first: the buffer has AFK_CW_PAD bytes after its last panel. */
static inline uint8x16_t codes16(const uint8_t *codes, int bits, uint64_t e)
{
    if (bits == 8) return vld1q_u8(codes + e);
    uint8x16_t b = vld1q_u8(codes + (e >> 1));
    uint8x16_t lo = vandq_u8(b, vdupq_n_u8(15)), hi = vshrq_n_u8(b, 4);
    uint8x16_t c = vzip1q_u8(lo, hi);
    return (e & 1) ? vextq_u8(c, vzip2q_u8(lo, hi), 1) : c;
}

/* Lanes 4g..4g+3 of 16 codes as int32 (int8 codes sign-extended unless uns). */
static inline int32x4_t lane4_s32(uint8x16_t c, int g, int uns)
{
    int16x8_t w;
    if (uns) w = vreinterpretq_s16_u16(g < 2 ? vmovl_u8(vget_low_u8(c)) : vmovl_high_u8(c));
    else w = g < 2 ? vmovl_s8(vget_low_s8(vreinterpretq_s8_u8(c)))
                   : vmovl_high_s8(vreinterpretq_s8_u8(c));
    return (g & 1) ? vmovl_high_s16(w) : vmovl_s16(vget_low_s16(w));
}

/* The 16-entry f32 table at t as 64 bytes for TBL. */
static inline uint8x16x4_t table16(const float *t)
{
    const uint8_t *b = (const uint8_t *)t;
    uint8x16x4_t v = {{vld1q_u8(b), vld1q_u8(b + 16), vld1q_u8(b + 32), vld1q_u8(b + 48)}};
    return v;
}

/* T[c] for lanes 4g..4g+3 of 16 4-bit codes: byte j of lane i reads table byte 4 c_i + j. */
static inline float32x4_t lut4(uint8x16x4_t tb, uint8x16_t c, int g)
{
    static const uint8_t rep[16] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
    static const uint8_t byte[16] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    uint8x16_t sel = vaddq_u8(vld1q_u8(rep), vdupq_n_u8((uint8_t)(4 * g)));
    uint8x16_t idx = vorrq_u8(vshlq_n_u8(vqtbl1q_u8(c, sel), 2), vld1q_u8(byte));
    return vreinterpretq_f32_u8(vqtbl4q_u8(tb, idx));
}

/* n (1..4) lanes of x to d. */
static inline void store_n(float *d, float32x4_t x, int n)
{
    if (n == 4) {
        vst1q_f32(d, x);
        return;
    }
    float t[4];
    vst1q_f32(t, x);
    memcpy(d, t, (size_t)n * sizeof *d);
}

/* ---- untransposed: lanes are rows with their own parameters -------------------------------- */

/* Per-lane parameters of an untransposed panel, padded to whole vectors (zeros past mr). */
typedef struct row_par {
    float s[LANES], o[LANES];
    int32_t z[LANES];
    uint32_t tab[LANES]; /* table of each lane, counted from the panel's first */
    int nt;
} row_par;

static void row_params(const afk_cw_panel *p, row_par *q)
{
    const afk_cw *cw = p->cw;
    memset(q, 0, sizeof *q);
    for (int i = 0; i < p->mr; i++) {
        int64_t r = p->r0 + i;
        if (cw->kind == AFK_CW_INT8 || cw->kind == AFK_CW_PAL4) q->s[i] = p->s[r];
        if (cw->kind == AFK_CW_PAL4) q->o[i] = p->o[r];
        if (cw->kind == AFK_CW_INT8) q->z[i] = p->z[r];
        if (cw->kind == AFK_CW_LUT4 || cw->kind == AFK_CW_PAL4)
            q->tab[i] = (uint32_t)(r / cw->R - p->r0 / cw->R);
    }
    q->nt = (int)q->tab[p->mr - 1] + 1;
}

// codes (kc, mr) of rows r0.. -> x = s * (float)(q - z) | T[c] | s * T[c] + o, per lane
static void decode_rows(const afk_cw_panel *p, float *ap)
{
    const afk_cw *cw = p->cw;
    row_par q;
    row_params(p, &q);
    uint8x16x4_t tv[LANES];
    for (int t = 0; cw->kind != AFK_CW_INT8 && t < q.nt; t++)
        tv[t] = table16(p->t + (p->r0 / cw->R + t) * 16);
    for (int64_t kk = 0; kk < p->kc; kk++)
        for (int h = 0; 16 * h < p->mr; h++) {
            uint8x16_t c = codes16(p->codes, cw->bits, (uint64_t)(kk * p->mr + 16 * h));
            for (int g = 0; g < 4 && 16 * h + 4 * g < p->mr; g++) {
                const int l = 16 * h + 4 * g, n = p->mr - l < 4 ? p->mr - l : 4;
                float32x4_t x;
                if (cw->kind == AFK_CW_INT8) {
                    int32x4_t d = vsubq_s32(lane4_s32(c, g, cw->uns), vld1q_s32(q.z + l));
                    x = vmulq_f32(vld1q_f32(q.s + l), vcvtq_f32_s32(d));
                } else {
                    const uint32_t t0 = q.tab[l], t1 = q.tab[l + n - 1];
                    x = lut4(tv[t0], c, g);
                    for (uint32_t t = t0 + 1; t <= t1; t++) /* lanes of a later table */
                        x = vbslq_f32(vceqq_u32(vld1q_u32(q.tab + l), vdupq_n_u32(t)),
                                      lut4(tv[t], c, g), x);
                    if (cw->kind == AFK_CW_PAL4)
                        x = vaddq_f32(vmulq_f32(vld1q_f32(q.s + l), x), vld1q_f32(q.o + l));
                }
                store_n(ap + kk * p->mr + l, x, n);
            }
        }
}

// blockwise codes (kc, mr) of rows r0.. -> x = (float)c * s + o, s and o of the lane's block
static void decode_rows_blk(const afk_cw_panel *p, float *ap)
{
    float s[LANES] = {0}, o[LANES] = {0};
    for (int64_t kk = 0, blk = -1; kk < p->kc; kk++) {
        int64_t b = (p->k0 + kk) / p->cw->R;
        if (b != blk) { /* the block's parameters, one per lane (row) */
            blk = b;
            memcpy(s, p->s + b * p->nrow + p->r0, (size_t)p->mr * sizeof *s);
            memcpy(o, p->o + b * p->nrow + p->r0, (size_t)p->mr * sizeof *o);
        }
        for (int h = 0; 16 * h < p->mr; h++) {
            uint8x16_t c = codes16(p->codes, p->cw->bits, (uint64_t)(kk * p->mr + 16 * h));
            for (int g = 0; g < 4 && 16 * h + 4 * g < p->mr; g++) {
                const int l = 16 * h + 4 * g, n = p->mr - l < 4 ? p->mr - l : 4;
                float32x4_t x = vcvtq_f32_s32(lane4_s32(c, g, 1));
                x = vaddq_f32(vmulq_f32(x, vld1q_f32(s + l)), vld1q_f32(o + l));
                store_n(ap + kk * p->mr + l, x, n);
            }
        }
    }
}

/* ---- transposed: lanes are columns, k steps rows -------------------------------------------- */

// codes (kc, mr) of columns r0.. -> x = s[k] * (float)(q - z[k]) | T[k / R][c] |
// s[k] * T[k / R][c] + o[k] | (float)c * s[col / R][k] + o[col / R][k]
static void decode_cols(const afk_cw_panel *p, float *ap)
{
    const afk_cw *cw = p->cw;
    int64_t bi[LANES] = {0}; /* blockwise: each lane's first parameter index (block * rows) */
    for (int i = 0; i < p->mr && cw->kind == AFK_CW_BLK; i++) bi[i] = (p->r0 + i) / cw->R * p->nrow;
    uint8x16x4_t tb = {{vdupq_n_u8(0), vdupq_n_u8(0), vdupq_n_u8(0), vdupq_n_u8(0)}};
    for (int64_t kk = 0, tk = -1; kk < p->kc; kk++) {
        const int64_t k = p->k0 + kk;
        float32x4_t s = vdupq_n_f32(0.0f), o = s;
        int32x4_t z = vdupq_n_s32(0);
        if (cw->kind == AFK_CW_INT8 || cw->kind == AFK_CW_PAL4) s = vdupq_n_f32(p->s[k]);
        if (cw->kind == AFK_CW_PAL4) o = vdupq_n_f32(p->o[k]);
        if (cw->kind == AFK_CW_INT8) z = vdupq_n_s32(p->z[k]);
        if ((cw->kind == AFK_CW_LUT4 || cw->kind == AFK_CW_PAL4) && k / cw->R != tk)
            tk = k / cw->R, tb = table16(p->t + tk * 16);
        for (int h = 0; 16 * h < p->mr; h++) {
            uint8x16_t c = codes16(p->codes, cw->bits, (uint64_t)(kk * p->mr + 16 * h));
            for (int g = 0; g < 4 && 16 * h + 4 * g < p->mr; g++) {
                const int l = 16 * h + 4 * g, n = p->mr - l < 4 ? p->mr - l : 4;
                float32x4_t x;
                if (cw->kind == AFK_CW_INT8) {
                    x = vmulq_f32(s, vcvtq_f32_s32(vsubq_s32(lane4_s32(c, g, cw->uns), z)));
                } else if (cw->kind == AFK_CW_BLK) {
                    float32x4_t sb = vdupq_n_f32(p->s[bi[l] + k]), ob = vdupq_n_f32(p->o[bi[l] + k]);
                    if (bi[l + n - 1] != bi[l]) { /* the group straddles a block */
                        float sv[4] = {0}, ov[4] = {0};
                        for (int i = 0; i < n; i++)
                            sv[i] = p->s[bi[l + i] + k], ov[i] = p->o[bi[l + i] + k];
                        sb = vld1q_f32(sv), ob = vld1q_f32(ov);
                    }
                    x = vcvtq_f32_s32(lane4_s32(c, g, 1));
                    x = vaddq_f32(vmulq_f32(x, sb), ob);
                } else {
                    x = lut4(tb, c, g);
                    if (cw->kind == AFK_CW_PAL4) x = vaddq_f32(vmulq_f32(s, x), o);
                }
                store_n(ap + kk * p->mr + l, x, n);
            }
        }
    }
}

/* ---- sparse: runs of mask bits expanded --------------------------------------------------- */

/* expand4[k] (k: 4 mask bits), byte j of lane i: byte j of the packed non-zero lane i takes
 * (as many set bits of k lie below i), or 0xff (TBL gives 0: +0) when bit i is clear. */
#define NLO(k, i) ((k) & ((1u << (i)) - 1u))
#define NRK(k, i) ((NLO(k, i) & 1u) + (NLO(k, i) >> 1 & 1u) + (NLO(k, i) >> 2 & 1u))
#define NB(k, i, j) (((k) >> (i) & 1u) ? 4u * NRK(k, i) + (j) : 0xffu)
#define NL(k, i) NB(k, i, 0u), NB(k, i, 1u), NB(k, i, 2u), NB(k, i, 3u)
#define NE(k) {NL(k, 0u), NL(k, 1u), NL(k, 2u), NL(k, 3u)}
static const uint8_t expand4[16][16] = {NE(0u), NE(1u), NE(2u),  NE(3u),  NE(4u),  NE(5u),
                                        NE(6u), NE(7u), NE(8u),  NE(9u),  NE(10u), NE(11u),
                                        NE(12u), NE(13u), NE(14u), NE(15u)};

// 4 elements a step: 4 halves from v widened (FCVTL), moved to the lanes whose mask bit is set
// by TBL (the others 0); v moves on by the bits set. Reads 8 bytes from v and 2 mask bytes
// from the step's first: the buffer has SPARSE_PAD bytes after the non-zeros.
void afk_neon_cw_expand(const uint8_t *m, uint64_t b0, int64_t n, const uint16_t *v,
                        float *dst)
{
    for (int64_t j = 0; j < n; j += 4) {
        const uint64_t b = b0 + (uint64_t)j;
        const unsigned w = (unsigned)m[b >> 3] | (unsigned)m[(b >> 3) + 1] << 8;
        const int nl = n - j >= 4 ? 4 : (int)(n - j);
        const unsigned k = (w >> (b & 7)) & ((1u << nl) - 1u);
        float32x4_t x = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(v)));
        uint8x16_t y = vqtbl1q_u8(vreinterpretq_u8_f32(x), vld1q_u8(expand4[k]));
        store_n(dst + j, vreinterpretq_f32_u8(y), nl);
        v += __builtin_popcount(k);
    }
}

void afk_neon_cw_decode(const afk_cw_panel *p, float *ap)
{
    if (p->cw->tr) decode_cols(p, ap);
    else if (p->cw->kind == AFK_CW_BLK) decode_rows_blk(p, ap);
    else decode_rows(p, ap);
}

#endif

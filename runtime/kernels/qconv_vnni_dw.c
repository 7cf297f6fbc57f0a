/* runtime/kernels/qconv_vnni_dw.c — qconv_vnni.c's depthwise convs (stride 1 or 2, kernels up
 * to 7 x 7, no dilation; qv_is_dw), exact like the rest of it: qv_dw8_channel on the uint8 codes
 * when every w - wz fits int8 (symmetric weights; needs AVX512-VBMI), qv_dw_channel on int16
 * pairs otherwise, each channel's outputs requantized as qconv.h's requant does. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "qconv.h"
#include "qconv_vnni_int.h"

/* qv_dw's padded plane: rows Hp, row stride Wp (int32), room for 16 lanes past each row read
 * two vectors at a time (stride 2). */
static void qv_dw_plane(const qconv *q, int64_t *Hp, int64_t *Wp)
{
    int64_t ow16 = (q->out[2] + 15) / 16 * 16;
    *Hp = (q->out[1] - 1) * q->s[1] + q->k[1];
    *Wp = ow16 * q->s[2] + q->k[2] + 32;
    if (*Wp < q->pb[2] + q->in[2]) *Wp = q->pb[2] + q->in[2];
}

/* qv_dw8's uint8 plane: rows Hp, row length Wp (bytes; stride 1: every virtual position's
 * taps; stride 2: every output's); 64 bytes of slack past it are the caller's. */
static void qv_dw8_plane(const qconv *q, int64_t *Hp, int64_t *Wp)
{
    int64_t s = q->s[2], reach = (q->out[2] - 1) * s + q->k[2];
    *Hp = (q->out[1] - 1) * q->s[1] + q->k[1];
    *Wp = reach > q->pb[2] + q->in[2] ? reach : q->pb[2] + q->in[2];
}

/* qv_dw8's int32 sums: stride 1, per virtual position v = oy Wp + ox; stride 2, per output (rows
 * of out2 back to back); 16 lanes past the last vector. */
static int64_t qv_dw8_sums(const qconv *q, int64_t Wp)
{
    int64_t n = q->s[2] == 1 ? (q->out[1] - 1) * Wp + q->out[2] : q->out[1] * q->out[2];
    return (n + 15) / 16 * 16 + 32;
}

size_t afk_qv_dw_scratch(const qconv *q)
{
    int64_t Hp, Wp;
    qv_dw_plane(q, &Hp, &Wp);
    /* the plane, the channel's int32 sums (16 lanes of slack); or qv_dw8's */
    size_t a = (size_t)(4 * Hp * Wp + 4 * (q->out[1] * q->out[2] + 32)) + 256;
    qv_dw8_plane(q, &Hp, &Wp);
    size_t b = (size_t)(Hp * Wp + 4 * qv_dw8_sums(q, Wp)) + 256;
    return a > b ? a : b;
}

#ifdef QV_X86

// y (n) int8/uint8 = requant(v) for v = acc + wzq * -sx + c0 (wrapping), 16 lanes at a time:
// qconv.h's requant step for step for a finite scale: cvtdq2ps is the (float) conversion (round
// to nearest even), one f32 multiply, max / min are the clamps (no NaN: finite scale, finite
// value), cvtps2dq under the default rounding is rintf (the clamped value fits int32), + zp;
// the value is in the type's range, so its low byte is the code
QV_TGT static void qv_requant16(const int32_t *acc, const int32_t *sx, uint32_t wzq, uint32_t c0,
                                float sc, int32_t zp, int32_t lo, int32_t hi, int64_t n,
                                uint8_t *y)
{
    const __m512 vs = _mm512_set1_ps(sc), flo = _mm512_set1_ps((float)(lo - zp));
    const __m512 fhi = _mm512_set1_ps((float)(hi - zp));
    const __m512i vw = _mm512_set1_epi32((int32_t)wzq), vc = _mm512_set1_epi32((int32_t)c0);
    const __m512i vz = _mm512_set1_epi32(zp);
    for (int64_t t = 0; t < n; t += 16) {
        __mmask16 k = n - t >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1);
        __m512i a = _mm512_loadu_si512(acc + t), x = wzq ? _mm512_loadu_si512(sx + t) : vc;
        __m512i v = _mm512_add_epi32(a, vc);
        if (wzq) v = _mm512_sub_epi32(v, _mm512_mullo_epi32(vw, x));
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), vs);
        f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
        __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), vz);
        qstore16(y + t, k, q);
    }
}

// plane (Hp, Wp) int32 = x[n, c] - xzp at (row + pb1, col + pb2), 0 elsewhere (the padding)
QV_TGT static void qv_dw_fill(const qv_job *j, const uint8_t *xc, int64_t Hp, int64_t Wp,
                              int32_t *plane)
{
    const qconv *q = j->q;
    int64_t H = q->in[1], W = q->in[2], pb1 = q->pb[1], pb2 = q->pb[2];
    const __m512i zu = _mm512_set1_epi32(j->xzu), fl = _mm512_set1_epi8((char)j->flip);
    for (int64_t r = 0; r < Hp; r++) {
        int32_t *d = plane + r * Wp;
        int64_t iy = r - pb1;
        if (iy < 0 || iy >= H) {
            memset(d, 0, (size_t)Wp * 4);
            continue;
        }
        memset(d, 0, (size_t)pb2 * 4);
        memset(d + pb2 + W, 0, (size_t)(Wp - pb2 - W) * 4);
        const uint8_t *src = xc + iy * W;
        for (int64_t t = 0; t < W; t += 16) {
            __mmask16 k = W - t >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (W - t)) - 1);
            __m512i b = _mm512_xor_si512(_mm512_maskz_loadu_epi8((__mmask64)k, src + t), fl);
            __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm512_castsi512_si128(b)), zu);
            _mm512_mask_storeu_epi32(d + pb2 + t, k, v);
        }
    }
}

// acc (OW rounded up to 16) int32 = sum over taps (a, b) of w[a, b] * plane[oy*s1 + a][ox*s2 + b]
// plane (n) int32 -> in place the int16 pairs (plane[i], plane[i + 1]) in dword i (reads one
// value past the end): what vpdpwssd multiplies by a pair of taps
QV_TGT static void qv_dw_pairs(int32_t *plane, int64_t n)
{
    const __m512i lo16 = _mm512_set1_epi32(0xffff);
    for (int64_t i = 0; i < n; i += 16) { /* reads [i, i + 17) before it writes [i, i + 16) */
        __m512i v0 = _mm512_loadu_si512(plane + i), v1 = _mm512_loadu_si512(plane + i + 1);
        _mm512_storeu_si512(plane + i, _mm512_or_si512(_mm512_and_si512(v0, lo16),
                                                       _mm512_slli_epi32(v1, 16)));
    }
}

// acc (OW rounded up to 16) int32 = sum over taps (a, b) of w[a, b] * x[oy*s1 + a][ox*s2 + b]
// from the pair plane: taps b, b + 1 in one vpdpwssd (wp: their int16 pair; the pair past an
// odd kernel width has weight 0), stride 2 by the even lanes of two loads
QV_TGT static void qv_dw_row(const qconv *q, const int32_t *pairs, int64_t Wp, int64_t oy,
                             const int32_t *wp, int32_t *acc)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    int64_t s2 = q->s[2], np = (q->k[2] + 1) / 2;
    for (int64_t ox = 0; ox < q->out[2]; ox += 16) {
        __m512i c = _mm512_setzero_si512();
        for (int64_t a = 0; a < q->k[1]; a++) {
            const int32_t *r = pairs + (oy * q->s[1] + a) * Wp + ox * s2;
            for (int64_t b = 0; b < np; b++) {
                __m512i v = _mm512_loadu_si512(r + 2 * b);
                if (s2 == 2)
                    v = _mm512_permutex2var_epi32(v, even, _mm512_loadu_si512(r + 2 * b + 16));
                c = _mm512_dpwssd_epi32(c, v, _mm512_set1_epi32(wp[a * np + b]));
            }
        }
        _mm512_storeu_si512(acc + ox, c);
    }
}

/* Channel m of image n: its padded plane, then row by row the taps' sums (exact:
 * at most 49 products of 9-bit values), then the whole channel plus bias requantized as
 * qv_store does. */
static void qv_dw_channel(const qv_job *j, int64_t n, int64_t m, int tid)
{
    const qconv *q = j->q;
    const afk_qconv_args *a = j->a;
    int64_t Hp, Wp, taps = q->k[1] * q->k[2];
    qv_dw_plane(q, &Hp, &Wp);
    int32_t *plane = (int32_t *)(void *)(j->scratch + (size_t)tid * j->slice);
    int32_t *acc = plane + Hp * Wp, w[49];
    int32_t wz = zp_at(a->wz, m) - j->wshift, wp[28];
    for (int64_t t = 0; t < taps; t++) w[t] = j->codes[m * j->Kp + t] - wz; /* |w| <= 255 */
    int64_t np = (q->k[2] + 1) / 2;
    for (int64_t r = 0; r < q->k[1]; r++)
        for (int64_t b = 0; b < np; b++) {
            int32_t w0 = w[r * q->k[2] + 2 * b];
            int32_t w1 = 2 * b + 1 < q->k[2] ? w[r * q->k[2] + 2 * b + 1] : 0;
            wp[r * np + b] = (int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16);
        }
    qv_dw_fill(j, (const uint8_t *)a->x->data + (n * q->C + m) * q->in[1] * q->in[2], Hp, Wp,
               plane);
    qv_dw_pairs(plane, Hp * Wp);
    const int32_t *bias = a->b && a->b->data ? a->b->data : NULL;
    uint32_t c0 = bias ? (uint32_t)bias[m] : 0u;
    float sc = a->ys ? out_scale(a->xs, a->ws, a->ys, m) : 0.0f;
    int32_t lo = 0, hi = 0;
    if (a->ys) qrange(a->y->dtype, &lo, &hi);
    /* rows in order: each writes up to 15 lanes past its end, which the next row overwrites */
    for (int64_t oy = 0; oy < q->out[1]; oy++)
        qv_dw_row(q, plane, Wp, oy, wp, acc + oy * q->out[2]);
    int64_t e = (n * q->M + m) * j->osp;
    if (a->ys && isfinite(sc)) { /* wzq 0: the sums argument is not read */
        qv_requant16(acc, acc, 0, c0, sc, j->yzp, lo, hi, j->osp, (uint8_t *)a->y->data + e);
        return;
    }
    for (int64_t t = 0; t < j->osp; t++) {
        int32_t v = (int32_t)((uint32_t)acc[t] + c0);
        store_q(a->y, e + t, a->ys ? requant(v, sc, j->yzp, a->y->dtype) : v);
    }
}

/* ---- depthwise with int8 weights (w - wz fits int8): vpdpbusd on the uint8 codes ----
 *
 *   acc[o] = sum_{a, b} wd[a][b] xu[oy s + a][ox s + b]     (wd = w - wz, xu the uint8 codes)
 *
 * on a uint8 copy of the channel padded with the pad code xzu, so that
 *   sum (w - wz)(x - xzp) = acc - xzu sum wd.
 * Lanes are 16 output positions; per kernel row a, the 4 codes of taps b = 4h..4h+3 of each
 * lane sit in one dword (a vpermb of the 64 bytes from the lane block's first input), times the
 * dword of those 4 weights (0 past the kernel width): one vpdpbusd per row and 4 taps. Stride 1
 * takes virtual positions v = oy Wp + ox (the columns ox >= out2 dropped), so small maps fill
 * the lanes; stride 2 takes each output row's columns. Every product is exact and the int32 sum
 * of at most 64 of them (|wd| <= 128, xu <= 255) cannot wrap: the reference's value. */

// lane i of tap group h: byte s i + 4 h + c of the window, c < 4 (dword i)
QV_TGT_VBMI static inline __m512i qv_dw8_idx(int64_t s, int64_t h)
{
    const __m512i lane = _mm512_set_epi8(
        15, 15, 15, 15, 14, 14, 14, 14, 13, 13, 13, 13, 12, 12, 12, 12, 11, 11, 11, 11, 10, 10, 10,
        10, 9, 9, 9, 9, 8, 8, 8, 8, 7, 7, 7, 7, 6, 6, 6, 6, 5, 5, 5, 5, 4, 4, 4, 4, 3, 3, 3, 3, 2,
        2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0);
    const __m512i byte = _mm512_set1_epi32(0x03020100);
    __m512i i = s == 1 ? lane : _mm512_add_epi8(lane, lane);
    return _mm512_add_epi8(_mm512_add_epi8(i, byte), _mm512_set1_epi8((char)(4 * h)));
}

// acc (16) = sum over kernel rows a and tap groups h of wd . window(src + a Wp)
QV_TGT_VBMI static inline __m512i qv_dw8_block(const uint8_t *src, int64_t Wp, int64_t k1,
                                               int64_t nh, const int32_t *wq, __m512i i0,
                                               __m512i i1)
{
    __m512i c = _mm512_setzero_si512();
    for (int64_t a = 0; a < k1; a++, src += Wp) {
        __m512i win = _mm512_loadu_si512(src);
        c = _mm512_dpbusd_epi32(c, _mm512_permutexvar_epi8(i0, win),
                                _mm512_set1_epi32(wq[2 * a]));
        if (nh > 1)
            c = _mm512_dpbusd_epi32(c, _mm512_permutexvar_epi8(i1, win),
                                    _mm512_set1_epi32(wq[2 * a + 1]));
    }
    return c;
}

// plane (Hp, Wp) u8 = x[n, c] codes (^ flip) at (pb1, pb2), the pad code xzu around
QV_TGT static void qv_dw8_fill(const qv_job *j, const uint8_t *xc, int64_t Hp, int64_t Wp,
                               uint8_t *plane)
{
    const qconv *q = j->q;
    int64_t H = q->in[1], W = q->in[2];
    const __m512i fl = _mm512_set1_epi8((char)j->flip);
    memset(plane, j->xzu, (size_t)(Hp * Wp));
    for (int64_t iy = 0; iy < H && iy + q->pb[1] < Hp; iy++) {
        uint8_t *d = plane + (iy + q->pb[1]) * Wp + q->pb[2];
        for (int64_t t = 0; t < W; t += 64) {
            __mmask64 k = W - t >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (W - t)) - 1;
            __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, xc + iy * W + t), fl);
            _mm512_mask_storeu_epi8(d + t, k, v);
        }
    }
}

/* Channel m of image n by qv_dw8; 0 (nothing done) when a w - wz leaves int8 or the kernel is
 * wider than 8. */
QV_TGT_VBMI static int qv_dw8_channel(const qv_job *j, int64_t n, int64_t m, int tid)
{
    const qconv *q = j->q;
    const afk_qconv_args *a = j->a;
    int64_t k1 = q->k[1], k2 = q->k[2], s = q->s[2], nh = (k2 + 3) / 4, Hp, Wp;
    if (k2 > 8 || q->s[1] != s) return 0;
    int32_t wz = zp_at(a->wz, m) - j->wshift, wq[14], sw = 0;
    for (int64_t r = 0; r < k1; r++)
        for (int64_t h = 0; h < 2; h++) {
            uint32_t d = 0;
            for (int64_t c = 0; c < 4; c++) {
                int64_t b = 4 * h + c;
                int32_t v = b < k2 ? j->codes[m * j->Kp + r * k2 + b] - wz : 0;
                if (v < -128 || v > 127) return 0;
                d |= (uint32_t)(uint8_t)(int8_t)v << (8 * c);
                sw += v;
            }
            wq[2 * r + h] = (int32_t)d;
        }
    qv_dw8_plane(q, &Hp, &Wp);
    uint8_t *plane = j->scratch + (size_t)tid * j->slice;
    int32_t *acc = (int32_t *)(void *)(plane + ((Hp * Wp + 64 + 63) & ~(int64_t)63));
    qv_dw8_fill(j, (const uint8_t *)a->x->data + (n * q->C + m) * q->in[1] * q->in[2], Hp, Wp,
                plane);
    __m512i i0 = qv_dw8_idx(s, 0), i1 = qv_dw8_idx(s, 1);
    int64_t oh = q->out[1], ow = q->out[2];
    if (s == 1) {
        for (int64_t v = 0; v < (oh - 1) * Wp + ow; v += 16)
            _mm512_storeu_si512(acc + v, qv_dw8_block(plane + v, Wp, k1, nh, wq, i0, i1));
    } else { /* rows in order: each writes up to 15 lanes past its end, the next overwrites */
        for (int64_t oy = 0; oy < oh; oy++)
            for (int64_t ox = 0; ox < ow; ox += 16)
                _mm512_storeu_si512(acc + oy * ow + ox,
                                    qv_dw8_block(plane + oy * s * Wp + ox * s, Wp, k1, nh, wq,
                                                 i0, i1));
    }
    const int32_t *bias = a->b && a->b->data ? a->b->data : NULL;
    uint32_t c0 = (bias ? (uint32_t)bias[m] : 0u) - (uint32_t)j->xzu * (uint32_t)sw;
    float sc = a->ys ? out_scale(a->xs, a->ws, a->ys, m) : 0.0f;
    int32_t lo = 0, hi = 0;
    if (a->ys) qrange(a->y->dtype, &lo, &hi);
    int64_t e = (n * q->M + m) * j->osp, rs = s == 1 ? Wp : ow; /* acc's row stride */
    if (a->ys && isfinite(sc)) { /* all rows in one pass, the virtual ones via the plane */
        uint8_t *y = (uint8_t *)a->y->data + e, *b = rs == ow ? y : plane;
        qv_requant16(acc, acc, 0, c0, sc, j->yzp, lo, hi, (oh - 1) * rs + ow, b);
        for (int64_t oy = 0; b != y && oy < oh; oy++) memcpy(y + oy * ow, b + oy * rs, (size_t)ow);
        return 1;
    }
    for (int64_t oy = 0; oy < oh; oy++) {
        const int32_t *r = acc + oy * rs;
        for (int64_t t = 0; t < ow; t++) {
            int32_t v = (int32_t)((uint32_t)r[t] + c0);
            store_q(a->y, e + oy * ow + t, a->ys ? requant(v, sc, j->yzp, a->y->dtype) : v);
        }
    }
    return 1;
}

/* Tasks of j->mc channels of one image: at least ~4096 outputs each, so small maps do not spend
 * more on claiming tasks than on the work. */
void afk_qv_dw_task(void *arg, int64_t task, int tid)
{
    const qv_job *j = arg;
    int64_t per = (j->q->M + j->mc - 1) / j->mc, n = task / per, m0 = task % per * j->mc;
    for (int64_t m = m0; m < m0 + j->mc && m < j->q->M; m++)
        if (!j->dw8 || !qv_dw8_channel(j, n, m, tid)) qv_dw_channel(j, n, m, tid);
}

#endif

/* runtime/kernels/qconv_vnni_dw.c — qconv_vnni.c's depthwise convs (stride 1 or 2, kernels up
 * to 7 x 7, no dilation; qv_is_dw), exact like the rest of it. Maps up to 112 x 112 outputs
 * (with AVX512-VBMI): 16 channels in the lanes (qv_dwl: the group's codes transposed into a
 * padded plane, made in bands of rows, vpdpbusd on 4 taps at a time when every w - wz fits
 * int8, else f32 FMAs, requantized per lane and transposed back). Larger maps, and groups whose
 * output scale is not finite: one channel at a time, qv_dw8_channel on the uint8 codes when
 * every w - wz fits int8 (symmetric weights; needs AVX512-VBMI), qv_dw_channel on int16 pairs
 * otherwise, each channel's outputs requantized as qconv.h's requant does. Tasks are channels
 * of one image, each computed whole, so the bytes do not depend on the thread count. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "qconv.h"
#include "qconv_vnni_int.h"
#ifdef QV_X86
#include "simd512.h"
#endif

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

/* qv_dwl's geometry, the same for every group of a run: the padded plane (rows Hp of Wp
 * positions, each the 16 lanes of a channel group: exactly the reach of the outputs, an input
 * row or column past it never read) is made in bands of RB output rows, Hb plane rows each (the
 * last may be shorter), so that a band's quads or f32 plane (64 bytes a position) stay within
 * QV_DWL_BAND bytes (in L2) on any map; the byte plane P's rows have a spare column (Wpp = Wp +
 * 1) where input columns past the reach go; Wq quads a row (the output columns', + 4 / s2 for
 * a second tap group). */
typedef struct qv_dwl_geo {
    int64_t Hp, Wp, Wpp, Wq, RB, Hb;
} qv_dwl_geo;

/* QV_DWL_BAND: a band's quads or f32 plane; QV_DWL_WMAX: the widest plane rows. */
enum { QV_DWL_BAND = 128 * 1024, QV_DWL_WMAX = 512 };

static void qv_dwl_geometry(const qconv *q, qv_dwl_geo *g)
{
    int64_t s1 = q->s[1], k1 = q->k[1];
    g->Hp = (q->out[1] - 1) * s1 + k1;
    g->Wp = (q->out[2] - 1) * q->s[2] + q->k[2];
    g->Wpp = g->Wp + 1;
    g->Wq = q->out[2] + (q->k[2] > 4 ? 4 / q->s[2] : 0);
    int64_t rows = QV_DWL_BAND / (64 * g->Wpp); /* plane rows in the budget */
    g->RB = rows > k1 ? (rows - k1) / s1 + 1 : 1;
    g->RB = g->RB < q->out[1] ? g->RB : q->out[1];
    g->Hb = (g->RB - 1) * s1 + k1;
}

/* Maps for qv_dwl: rows up to QV_DWL_WMAX positions (the scratch is then at most ~0.35 MB per
 * thread), 1 to QV_DWL_OSP outputs per channel (112 x 112, the largest measured: the header of
 * the qv_dwl section). */
enum { QV_DWL_OSP = 112 * 112 };
static int qv_dwl_shape(const qconv *q)
{
    qv_dwl_geo g;
    qv_dwl_geometry(q, &g);
    return q->out[1] > 0 && q->out[2] > 0 && g.Wp <= QV_DWL_WMAX &&
           q->out[1] * q->out[2] <= QV_DWL_OSP;
}

/* qv_dwl's scratch, from the thread's slice aligned to 64 (qv_dwl_scratch): a band's f32 plane
 * or quads (64 bytes a position), the weights (int32, then f32 in place for qv_dwlf) and their
 * dwords, P (a band's rows + 1 of slack for the quads' reads, 16 bytes a position), the staging
 * (a band's outputs, 64 bytes each, + 16), the input positions' offsets in a band (int32). The
 * flags say what the task's earlier groups left set up. */
typedef struct qv_dwl_mem {
    float *plane; /* or the quads */
    int32_t *wi, *wq, *dst;
    uint8_t *P, *st;
    int border, offsets; /* P's left and right padding, dst */
} qv_dwl_mem;

static size_t qv_dwl_layout(const qconv *q, const qv_dwl_geo *g, uintptr_t base, qv_dwl_mem *s)
{
    uintptr_t a = (base + 63) & ~(uintptr_t)63, p = a;
    s->plane = (float *)p, p += (uintptr_t)(64 * g->Hb * g->Wpp);
    s->wi = (int32_t *)p, p += (uintptr_t)(64 * q->k[1] * q->k[2]);
    s->wq = (int32_t *)p, p += (uintptr_t)(128 * q->k[1]);
    s->P = (uint8_t *)p, p += (uintptr_t)(16 * (g->Hb + 1) * g->Wpp);
    s->st = (uint8_t *)p, p += (uintptr_t)(64 * (g->RB * q->out[2] + 16));
    s->dst = (int32_t *)p, p += (uintptr_t)(4 * g->Hb * q->in[2]);
    s->border = s->offsets = 0;
    return (size_t)(p - base);
}

/* qv_dwl's scratch per thread: qv_dwl_layout's bytes from a base 63 bytes short of alignment. */
static size_t qv_dwl_scratch(const qconv *q)
{
    qv_dwl_geo g;
    qv_dwl_mem s;
    qv_dwl_geometry(q, &g);
    return qv_dwl_layout(q, &g, 1, &s);
}

size_t afk_qv_dw_scratch(const qconv *q)
{
    int64_t Hp, Wp;
    qv_dw_plane(q, &Hp, &Wp);
    /* the plane, the channel's int32 sums (16 lanes of slack); or qv_dw8's; or qv_dwl's */
    size_t a = (size_t)(4 * Hp * Wp + 4 * (q->out[1] * q->out[2] + 32)) + 256;
    qv_dw8_plane(q, &Hp, &Wp);
    size_t b = (size_t)(Hp * Wp + 4 * qv_dw8_sums(q, Wp)) + 256;
    size_t c = qv_dwl_shape(q) ? qv_dwl_scratch(q) : 0;
    a = a > b ? a : b;
    return a > c ? a : c;
}

int afk_qconv_vnni_no_dwl = 0;
_Atomic long afk_qconv_vnni_dwl_runs = 0;

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

/* ---- 16 channels in the lanes (qv_dwl) ----
 *
 * Per group of 16 channels (lanes l; channels past M have weight 0 and are not stored), with
 * xu the uint8 codes (int8 ones ^ 0x80) and wd = w - wz, on a padded plane of the group
 * (position (r, c) = input (r - pb1, c - pb2); xzu in the padding, where x - xzp is 0):
 *
 *   acc[oy][ox][l] = bias'[l] + sum_{a, b} wd[a][b][l] xu[s1 oy + a][s2 ox + b][l]
 *   bias'[l] = bias[l] - xzu sum_{a, b} wd[a][b][l]    (int32, wrapping)
 *
 * which is sum wd (xu - xzu) + bias modulo 2^32, the reference's value; no lane is wasted on
 * any map width. The plane is made in bands of rows (qv_dwl_geo; one band up to ~40 x 40 maps,
 * halo rows again in each band): the input comes in by 16 x 16 byte transposes (channels ->
 * positions) into a byte plane P [rows][Wp + 1][16], then:
 *  - every wd of the group in int8 (symmetric weights; qv_dwl8): per plane row and output
 *    column j, Q[r][j] = lane l's dword of the codes at columns s2 j .. s2 j + 3 (one vpermb of
 *    P's 64 bytes there), so a kernel row of up to 4 taps is one vpdpbusd on 16 outputs (two
 *    up to 8 taps): 3 per output for 3x3 instead of 9 multiplies. Exact (u8 x s8 products, int32
 *    sums modulo 2^32, as qv_dw8_channel).
 *  - else the plane in f32 and one FMA per tap (qv_dwlf): each product is an integer below
 *    2^16, any partial sum of at most 49 below 2^22; the accumulators start at bias' when every
 *    |bias'| < 2^23, so every f32 step stays below 2^24 and is exact, and acc is (float) of the
 *    int32 the reference requantizes; else they start at 0 and bias' is added to cvtps2dq(acc)
 *    wrapping.
 * Each lane is requantized with its channel's scale (qv_requant16's steps, lane for lane; 64
 * lanes by saturating packs when every |scale| <= 1/2) to a byte, the band's [outputs][16]
 * bytes staged, and 16 x 16 byte transposes store the channels' planes (NCHW). CONV_INTEGER
 * stages the int32 and transposes it with afk_tr16. A group whose scale is not finite takes the
 * per-channel loops (qconv.h's scalar requant).
 * Measured on Zen 5, 1 thread, against the per-channel loops (bench/qconv_dw.c; symmetric
 * weights, 3x3): 960 channels at 7x7 ~8x faster, 576 at 14x14 ~3x, 192 at 28x28 ~2x, 144 at
 * 56x56 ~1.4x (stride 2 ~1.3x), 32 at 112x112 and 96 at 112x112 stride 2 ~1.15x (bands of
 * 128 KB: 1.25x faster than one plane there). */

#define QV_TGT_DWL                                                                            \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2,fma")))
#define QV_INL static inline __attribute__((always_inline))

// 16 x 16 bytes M transposed: in, a[g] 128-bit lane i = row 4 g + i of M (16 bytes); out, the
// same for M^T. Two rounds of vpermt2b: t[h] (h = half of the columns, q = half of the rows)
// holds rows 8 q .. 8 q + 7, columns 8 h .. 8 h + 7 at byte 8 c + r (r, c local), taken from a[2q]
// (idx byte 16 r + c) and a[2q + 1] (+ 64); then a[g] lane i byte j is column 4 g + i, row j:
// byte 8 (4 (g & 1) + i) + (j & 7) of t[g / 2] (j < 8) or t[g / 2 + 2] (j >= 8, + 64).
QV_TGT_DWL QV_INL void qv_tr16b(__m512i *a)
{
    const __m512i i1 = _mm512_set_epi64(0x7767574737271707, 0x7666564636261606,
                                        0x7565554535251505, 0x7464544434241404,
                                        0x7363534333231303, 0x7262524232221202,
                                        0x7161514131211101, 0x7060504030201000);
    const __m512i i2 = _mm512_set_epi64(0x5f5e5d5c5b5a5958, 0x1f1e1d1c1b1a1918,
                                        0x5756555453525150, 0x1716151413121110,
                                        0x4f4e4d4c4b4a4948, 0x0f0e0d0c0b0a0908,
                                        0x4746454443424140, 0x0706050403020100);
    const __m512i c8 = _mm512_set1_epi8(8), c32 = _mm512_set1_epi8(32);
    __m512i t0 = _mm512_permutex2var_epi8(a[0], i1, a[1]);
    __m512i t1 = _mm512_permutex2var_epi8(a[0], _mm512_add_epi8(i1, c8), a[1]);
    __m512i t2 = _mm512_permutex2var_epi8(a[2], i1, a[3]);
    __m512i t3 = _mm512_permutex2var_epi8(a[2], _mm512_add_epi8(i1, c8), a[3]);
    __m512i i3 = _mm512_add_epi8(i2, c32);
    a[0] = _mm512_permutex2var_epi8(t0, i2, t2), a[1] = _mm512_permutex2var_epi8(t0, i3, t2);
    a[2] = _mm512_permutex2var_epi8(t1, i2, t3), a[3] = _mm512_permutex2var_epi8(t1, i3, t3);
}

// a[g] lane i (g < 4, i < 4) = the 16 bytes src[(4 g + i) stride + c] ^ flip, c in k (0 outside
// k and for rows 4 g + i >= nr, before the flip), transposed: a[g] lane i = column 4 g + i of
// the 16 rows. Whole rows (k full) load straight into the inserts; every loop unrolled, so all
// of it stays in registers.
QV_TGT_DWL QV_INL void qv_dwl_gather(const uint8_t *src, int64_t stride, int64_t nr, __mmask16 k,
                                     __m512i flip, __m512i *a)
{
    __m128i r[16];
    if (nr == 16 && k == 0xffff) {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) r[i] = _mm_loadu_si128((const __m128i *)(src + i * stride));
    } else {
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++)
            r[i] = i < nr ? _mm_maskz_loadu_epi8(k, src + i * stride) : _mm_setzero_si128();
    }
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        __m512i v = _mm512_castsi128_si512(r[4 * g]);
        v = _mm512_inserti32x4(v, r[4 * g + 1], 1);
        v = _mm512_inserti32x4(v, r[4 * g + 2], 2);
        a[g] = _mm512_inserti32x4(v, r[4 * g + 3], 3);
    }
    qv_tr16b(a);
    if (!_mm512_test_epi32_mask(flip, flip)) return; /* no flip: uint8 codes */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) a[g] = _mm512_xor_si512(a[g], flip);
}

// the 128-bit lanes i < n of a[0..3] (lane i: a[i / 4] lane i % 4) stored at d + off[i] (16
// bytes each); the lane numbers are constants; a whole vector whose 4 lanes go to 64 bytes in a
// row (cont: off[] steps of 16) is one store
QV_TGT_DWL QV_INL void qv_dwl_lanes(const __m512i *a, int64_t n, uint8_t *d, const int32_t *off,
                                    int cont)
{
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        if (4 * g >= n) break;
        if (cont && 4 * g + 3 < n && off[4 * g + 3] - off[4 * g] == 48) {
            _mm512_storeu_si512(d + off[4 * g], a[g]);
            continue;
        }
        _mm_storeu_si128((__m128i *)(void *)(d + off[4 * g]), _mm512_castsi512_si128(a[g]));
        if (4 * g + 1 < n)
            _mm_storeu_si128((__m128i *)(void *)(d + off[4 * g + 1]),
                             _mm512_extracti32x4_epi32(a[g], 1));
        if (4 * g + 2 < n)
            _mm_storeu_si128((__m128i *)(void *)(d + off[4 * g + 2]),
                             _mm512_extracti32x4_epi32(a[g], 2));
        if (4 * g + 3 < n)
            _mm_storeu_si128((__m128i *)(void *)(d + off[4 * g + 3]),
                             _mm512_extracti32x4_epi32(a[g], 3));
    }
}

// lane i of a 128-bit lane's 16 bytes, zero-extended to 16 dwords (one vpermb): the index of
// lane i, byte 4 l = 16 i + l, the others masked to 0
QV_TGT_DWL QV_INL __m512i qv_dwl_widen(__m512i a, int i)
{
    const __m512i idx = _mm512_add_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5,
                                                          4, 3, 2, 1, 0),
                                         _mm512_set1_epi32(16 * i));
    return _mm512_maskz_permutexvar_epi8((__mmask64)0x1111111111111111ull, idx, a);
}

// dst[p] (p < Hb W: a band's input rows from its first) = 16 x the position in P (its byte
// offset; the f32 plane's float offset) from the band's first input row, column ix + pb2 or the
// row's spare column Wp for columns past the reach, which only weight-0 taps read
QV_TGT_DWL static void qv_dwl_dst(const qconv *q, const qv_dwl_geo *g, int32_t *dst)
{
    int64_t W = q->in[2];
    const __m512i step = _mm512_set_epi32(240, 224, 208, 192, 176, 160, 144, 128, 112, 96, 80,
                                          64, 48, 32, 16, 0);
    for (int64_t r = 0; r < g->Hb; r++, dst += W) {
        __m512i o = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(16 * (r * g->Wpp + q->pb[2]))),
                                     step);
        const __m512i spare = _mm512_set1_epi32((int32_t)(16 * (r * g->Wpp + g->Wp)));
        for (int64_t ix = 0; ix < W; ix += 16, o = _mm512_add_epi32(o, _mm512_set1_epi32(256))) {
            __mmask16 k = W - ix >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (W - ix)) - 1);
            _mm512_mask_storeu_epi32(dst + ix, k, _mm512_min_epi32(o, spare));
        }
    }
}

// P positions [p0, p1) = xzu
QV_TGT_DWL static void qv_dwl_pad(uint8_t *P, int64_t p0, int64_t p1, uint8_t xzu)
{
    const __m128i v = _mm_set1_epi8((char)xzu);
    for (int64_t p = p0; p < p1; p++) _mm_storeu_si128((__m128i *)(void *)(P + 16 * p), v);
}

// P's padding columns (left pb2, right past the input) on the Hb rows of a band: xzu; the fill
// never writes them, so they stay set for the task's bands and groups
static void qv_dwl_border(const qv_job *j, const qv_dwl_geo *g, uint8_t *P)
{
    const qconv *q = j->q;
    int64_t c0 = q->pb[2] < g->Wp ? q->pb[2] : g->Wp, c1 = q->pb[2] + q->in[2];
    c1 = c1 < g->Wp ? c1 : g->Wp;
    for (int64_t r = 0; r < g->Hb; r++) {
        qv_dwl_pad(P, r * g->Wpp, r * g->Wpp + c0, (uint8_t)j->xzu);
        qv_dwl_pad(P, r * g->Wpp + c1, r * g->Wpp + g->Wp, (uint8_t)j->xzu);
    }
}

// P's rows [0, nr) = the band of plane rows from pr0: the codes xu of the nc channels at x0
// (planes of H W codes) in the input rows it covers (input position p of the band at dst[p],
// 16 positions of the flat plane, across rows, at a time), whole rows of xzu above and below
// the input (the padding)
QV_TGT_DWL static void qv_dwl_fill(const qv_job *j, const qv_dwl_geo *g, const uint8_t *x0,
                                   int64_t nc, int64_t pr0, int64_t nr, const int32_t *dst,
                                   uint8_t *P)
{
    const qconv *q = j->q;
    int64_t H = q->in[1], W = q->in[2], hw = H * W, pb1 = q->pb[1];
    int64_t ia = pr0 - pb1 > 0 ? pr0 - pb1 : 0, ib = pr0 + nr - pb1 < H ? pr0 + nr - pb1 : H;
    int64_t top = pb1 - pr0 < nr ? pb1 - pr0 : nr, bot = H + pb1 - pr0 > 0 ? H + pb1 - pr0 : 0;
    if (top > 0) qv_dwl_pad(P, 0, top * g->Wpp, (uint8_t)j->xzu);
    if (bot < nr) qv_dwl_pad(P, bot * g->Wpp, nr * g->Wpp, (uint8_t)j->xzu);
    if (ib <= ia) return;
    const __m512i fl = _mm512_set1_epi8((char)j->flip);
    uint8_t *d = P + 16 * (ia + pb1 - pr0) * g->Wpp;
    const uint8_t *x = x0 + ia * W;
    for (int64_t p = 0, n = (ib - ia) * W; p < n; p += 16, dst += 16) {
        int64_t np = n - p < 16 ? n - p : 16;
        __m512i a[4];
        qv_dwl_gather(x + p, hw, nc, (__mmask16)((1u << np) - 1), fl, a);
        qv_dwl_lanes(a, np, d, dst, 1);
    }
}

// Q[r][c] (r < nr, c < Wq; 64 bytes) = lane l's dword of the codes at P's (r, s2 c + t), t < 4:
// a vpermb of the 64 bytes there, byte 4 l + t = 16 t + l (P rows of Wpp; reads up to 2
// positions past a row's spare column, into the next row or the slack row)
QV_TGT_DWL static void qv_dwl_quads(const uint8_t *P, int64_t nr, int64_t Wpp, int64_t s2,
                                    int64_t Wq, uint8_t *Q)
{
    const __m512i idx = _mm512_set_epi32(
        0x3f2f1f0f, 0x3e2e1e0e, 0x3d2d1d0d, 0x3c2c1c0c, 0x3b2b1b0b, 0x3a2a1a0a, 0x39291909,
        0x38281808, 0x37271707, 0x36261606, 0x35251505, 0x34241404, 0x33231303, 0x32221202,
        0x31211101, 0x30201000);
    for (int64_t r = 0; r < nr; r++, P += 16 * Wpp)
        for (int64_t c = 0; c < Wq; c++, Q += 64)
            _mm512_storeu_si512(Q, _mm512_permutexvar_epi8(idx,
                                                           _mm512_loadu_si512(P + 16 * s2 * c)));
}

// the f32 plane (n positions, 16 lanes) = P's codes
QV_TGT_DWL static void qv_dwl_widen_all(const uint8_t *P, int64_t n, float *plane)
{
    for (int64_t p = 0; p < n; p++)
        _mm512_storeu_ps(plane + 16 * p, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(
                                             _mm_loadu_si128((const __m128i *)(P + 16 * p)))));
}

// wi[t][l] (t < taps) = w - wz of channel m0 + l (|w - wz| <= 255; 0 for l >= nc), from the
// packed codes (int8, w - wshift) ^ 0x80 (= w - wshift + 128, zero-extended) minus wz + 128,
// 16 taps at a time; *sw = sum_t wi[t]; returns whether every wi fits int8
QV_TGT_DWL static int qv_dwl_weights(const qv_job *j, int64_t m0, int64_t nc, __m512i wz,
                                     int32_t *wi, __m512i *sw)
{
    int64_t taps = j->q->k[1] * j->q->k[2];
    const uint8_t *c = (const uint8_t *)j->codes + m0 * j->Kp;
    const __mmask16 kc = (__mmask16)((1u << nc) - 1);
    const __m512i z = _mm512_maskz_add_epi32(kc, wz, _mm512_set1_epi32(128));
    const __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
    __m512i s = _mm512_setzero_si512();
    __mmask16 out = 0;
    for (int64_t t0 = 0; t0 < taps; t0 += 16) {
        int64_t nt = taps - t0 < 16 ? taps - t0 : 16;
        __m512i a[4];
        qv_dwl_gather(c + t0, j->Kp, nc, (__mmask16)((1u << nt) - 1), _mm512_set1_epi8(-128),
                      a);
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
            if (i >= nt) break;
            __m512i v = _mm512_maskz_sub_epi32(kc, qv_dwl_widen(a[i >> 2], i & 3), z);
            _mm512_storeu_si512(wi + 16 * (t0 + i), v);
            s = _mm512_add_epi32(s, v);
            out |= _mm512_cmplt_epi32_mask(v, lo) | _mm512_cmpgt_epi32_mask(v, hi);
        }
    }
    *sw = s;
    return !out;
}

// wq[a][h] (a < k1, h < 2; 16 dwords) = lane l's int8 wd of kernel row a, taps 4 h .. 4 h + 3
// (0 past k2), byte t: the vpdpbusd operand
QV_TGT_DWL static void qv_dwl_wq(const int32_t *wi, int64_t k1, int64_t k2, int32_t *wq)
{
    const __m512i m8 = _mm512_set1_epi32(0xff);
    for (int64_t a = 0; a < k1; a++)
        for (int64_t h = 0; h < 2; h++) {
            __m512i d = _mm512_setzero_si512();
            for (int64_t t = 0; t < 4 && 4 * h + t < k2; t++) {
                const int32_t *w = wi + 16 * (a * k2 + 4 * h + t);
                __m512i v = _mm512_and_si512(_mm512_loadu_si512(w), m8);
                d = _mm512_or_si512(d, _mm512_sllv_epi32(v, _mm512_set1_epi32((int)(8 * t))));
            }
            _mm512_storeu_si512(wq + 16 * (2 * a + h), d);
        }
}

/* A group's per-lane constants: bias' (wrapping int32; as f32 in fb when fold), the output
 * scale, the clamp bounds (lo - zp, hi - zp) and zp; rq 0: CONV_INTEGER (the int32 staged);
 * pack: every |scale| <= 1/2 (qv_dwl_pack4), i8: int8 outputs. */
typedef struct qv_dwl_epi {
    __m512i bias, zp, zp16; /* zp16: zp in 32 int16 lanes */
    __m512 fb, sc, lo, hi;
    int rq, fold, pack, i8;
} qv_dwl_epi;

// output i of a block: the int32 v (or, fold, f = (float)v) to the staging: requantized per lane
// (16 bytes) or, !e->rq, the int32 (64 bytes)
QV_TGT_DWL QV_INL void qv_dwl_out(__m512i v, __m512 f, int fold, const qv_dwl_epi *e, int i,
                                  uint8_t *st)
{
    if (!e->rq) {
        _mm512_storeu_si512(st + 64 * i, fold ? _mm512_cvtps_epi32(f) : v);
        return;
    }
    if (!fold) f = _mm512_cvtepi32_ps(v);
    f = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(f, e->sc), e->lo), e->hi);
    __m512i y = _mm512_add_epi32(_mm512_cvtps_epi32(f), e->zp);
    _mm_storeu_si128((__m128i *)(void *)(st + 16 * i), _mm512_cvtepi32_epi8(y));
}

// 4 outputs' (float) values f[0..3] requantized into the staging's 64 bytes at st when every
// |scale| <= 1/2 (as qv_requant_pack): |f sc| <= 2^30, so r = rint(f sc) fits int32, and the
// int32 -> int16 saturating pack, + zp saturating in int16, then the 8-bit saturating pack give
// the type's clamp of r + zp (clamping to the integers lo - zp, hi - zp commutes with rint; r
// past int16 gives the same end of the 8-bit range with or without the first saturation, as
// |zp| <= 255). The packs leave byte 16 L + 4 i + t = output i's
// channel 4 L + t; one vpermb puts output i's 16 channels at 16 i (index 16 i + c: 16 (c / 4) +
// 4 i + c % 4).
QV_TGT_DWL QV_INL void qv_dwl_pack4(const __m512 *f, const qv_dwl_epi *e, uint8_t *st)
{
    const __m512i idx = _mm512_set_epi32(
        0x3f3e3d3c, 0x2f2e2d2c, 0x1f1e1d1c, 0x0f0e0d0c, 0x3b3a3938, 0x2b2a2928, 0x1b1a1918,
        0x0b0a0908, 0x37363534, 0x27262524, 0x17161514, 0x07060504, 0x33323130, 0x23222120,
        0x13121110, 0x03020100);
    __m512i q[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) q[i] = _mm512_cvtps_epi32(_mm512_mul_ps(f[i], e->sc));
    __m512i a = _mm512_adds_epi16(_mm512_packs_epi32(q[0], q[1]), e->zp16);
    __m512i b = _mm512_adds_epi16(_mm512_packs_epi32(q[2], q[3]), e->zp16);
    __m512i c = e->i8 ? _mm512_packs_epi16(a, b) : _mm512_packus_epi16(a, b);
    _mm512_storeu_si512(st, _mm512_permutexvar_epi8(idx, c));
}

// a block's nb requantized outputs (float values f) by 4 with qv_dwl_pack4; a last 1..3 are
// packed with copies and written whole: the bytes past the block are the next outputs', which
// later blocks write (or the staging's slack)
QV_TGT_DWL QV_INL void qv_dwl_pack(const __m512 *f, int nb, const qv_dwl_epi *e, uint8_t *st)
{
#pragma GCC unroll 2
    for (int i = 0; i < nb; i += 4) {
        __m512 g[4];
#pragma GCC unroll 4
        for (int t = 0; t < 4; t++) g[t] = f[i + t < nb ? i + t : i];
        qv_dwl_pack4(g, e, st + 16 * i);
    }
}

// qv_dwl8: nb outputs from Q at src (row s1 oy, column ox; Q rows of rb bytes): acc = bias' +
// per kernel row a one vpdpbusd per 4 taps (nh: 1 or 2; the second at h1 bytes), then out. nb
// and (in the 3x3 and 5x5 copies) k1, nh are constants: straight code on 8 accumulators.
QV_TGT_DWL QV_INL void qv_dwl8_blk(const uint8_t *src, int64_t rb, const int32_t *wq, int64_t k1,
                                   int64_t nh, int64_t h1, const qv_dwl_epi *e, int nb, int pack,
                                   uint8_t *st)
{
    __m512i acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < nb; i++) acc[i] = e->bias;
#pragma GCC unroll 7
    for (int64_t a = 0; a < k1; a++, src += rb) {
        const __m512i w0 = _mm512_loadu_si512(wq + 32 * a);
#pragma GCC unroll 8
        for (int i = 0; i < nb; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_loadu_si512(src + 64 * i), w0);
        if (nh < 2) continue;
        const __m512i w1 = _mm512_loadu_si512(wq + 32 * a + 16);
#pragma GCC unroll 8
        for (int i = 0; i < nb; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], _mm512_loadu_si512(src + h1 + 64 * i), w1);
    }
    if (pack) {
        __m512 f[8];
#pragma GCC unroll 8
        for (int i = 0; i < nb; i++) f[i] = _mm512_cvtepi32_ps(acc[i]);
        qv_dwl_pack(f, nb, e, st);
        return;
    }
#pragma GCC unroll 8
    for (int i = 0; i < nb; i++) qv_dwl_out(acc[i], _mm512_setzero_ps(), 0, e, i, st);
}

// qv_dwlf: nb outputs, one every step floats of the plane from src: acc = fb + one FMA per tap,
// then out (fold: acc is (float) of the int32 value; else bias' added to its int32)
QV_TGT_DWL QV_INL void qv_dwlf_blk(const float *src, int64_t step, const float *wv, int64_t k1,
                                   int64_t k2, int64_t Wp, const qv_dwl_epi *e, int nb, int pack,
                                   uint8_t *st)
{
    __m512 acc[8];
#pragma GCC unroll 8
    for (int i = 0; i < nb; i++) acc[i] = e->fb;
    for (int64_t a = 0; a < k1; a++, src += 16 * Wp)
        for (int64_t b = 0; b < k2; b++) {
            const __m512 w = _mm512_loadu_ps(wv + 16 * (a * k2 + b));
#pragma GCC unroll 8
            for (int i = 0; i < nb; i++)
                acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(src + 16 * b + i * step), w, acc[i]);
        }
    if (pack) { /* fold: acc is (float) of the value */
        qv_dwl_pack(acc, nb, e, st);
        return;
    }
#pragma GCC unroll 8
    for (int i = 0; i < nb; i++) {
        __m512i v = _mm512_setzero_si512();
        if (!e->fold) v = _mm512_add_epi32(_mm512_cvtps_epi32(acc[i]), e->bias);
        qv_dwl_out(v, acc[i], e->fold, e, i, st);
    }
}

/* Where a block's outputs come from: qv_dwl8's quads (rows of rb bytes, one quad per output
 * column) or qv_dwlf's f32 plane (rows of Wp positions, the band's Wpp; s2 positions per
 * output column), the band's rows from 0. */
typedef struct qv_dwl_src {
    const uint8_t *Q;
    const float *plane;
    const int32_t *wq;
    const float *wv;
    int64_t rb, Wp, nh, h1;
} qv_dwl_src;

// block (oy, ox .. ox + nb - 1) of either kind into the staging at d
QV_TGT_DWL QV_INL void qv_dwl_blk(const qconv *q, const qv_dwl_src *s, const qv_dwl_epi *e,
                                  int64_t oy, int64_t ox, int64_t k1, int64_t k2, int64_t nh,
                                  int nb, int pack, uint8_t *d)
{
    if (s->Q)
        qv_dwl8_blk(s->Q + oy * q->s[1] * s->rb + 64 * ox, s->rb, s->wq, k1, nh, s->h1, e, nb,
                    pack, d);
    else
        qv_dwlf_blk(s->plane + 16 * (oy * q->s[1] * s->Wp + ox * q->s[2]), 16 * q->s[2], s->wv,
                    k1, k2, s->Wp, e, nb, pack, d);
}

// the staging of a band's nr output rows (16 lanes an output: bytes, or int32 when !e->rq), in
// blocks of 8 outputs (a row's last block 1..8: its own unrolled copy)
QV_TGT_DWL QV_INL void qv_dwl_rows(const qconv *q, const qv_dwl_src *s, const qv_dwl_epi *e,
                                   int64_t nr, int64_t k1, int64_t k2, int64_t nh, int pack,
                                   uint8_t *st)
{
    int64_t ow = q->out[2], ob = e->rq ? 16 : 64; /* staging bytes per output */
    for (int64_t oy = 0; oy < nr; oy++)
        for (int64_t ox = 0; ox < ow; ox += 8) {
            uint8_t *d = st + (oy * ow + ox) * ob;
            switch (ow - ox < 8 ? ow - ox : 8) {
            case 1: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 1, pack, d); break;
            case 2: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 2, pack, d); break;
            case 3: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 3, pack, d); break;
            case 4: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 4, pack, d); break;
            case 5: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 5, pack, d); break;
            case 6: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 6, pack, d); break;
            case 7: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 7, pack, d); break;
            default: qv_dwl_blk(q, s, e, oy, ox, k1, k2, nh, 8, pack, d); break;
            }
        }
}

// qv_dwl_rows' copies: qv_dwl8 with 3x3 and 5x5 kernels (MobileNets') with packed
// requantization, unrolled; qv_dwlf likewise with the bias folded (any kernel); any other case
// with loops over the taps and the general epilogue
QV_TGT_DWL static void qv_dwl_outputs(const qconv *q, const qv_dwl_src *s, const qv_dwl_epi *e,
                                      int64_t nr, uint8_t *st)
{
    int64_t k1 = q->k[1], k2 = q->k[2];
    int pack = e->rq && e->pack && (s->Q || e->fold);
    if (pack && s->Q && k1 == 3 && k2 == 3) qv_dwl_rows(q, s, e, nr, 3, 3, 1, 1, st);
    else if (pack && s->Q && k1 == 5 && k2 == 5) qv_dwl_rows(q, s, e, nr, 5, 5, 2, 1, st);
    else if (pack) qv_dwl_rows(q, s, e, nr, k1, k2, s->nh, 1, st);
    else qv_dwl_rows(q, s, e, nr, k1, k2, s->nh, 0, st);
}

// y[l][p] (l < nc, p < n; channel planes cs bytes apart from y0) = the staged bytes (n, 16), 16
// outputs at a time: a byte transpose, then each channel's 16 bytes (masked past n); the
// 128-bit lanes are constants, so whole chunks store straight from the vectors
QV_TGT_DWL static void qv_dwl_store8(const uint8_t *st, int64_t n, int64_t cs, int64_t nc,
                                     uint8_t *y0)
{
    int32_t off[16];
    for (int l = 0; l < 16; l++) off[l] = (int32_t)(l * cs);
    for (int64_t p = 0; p < n; p += 16) {
        __m512i a[4];
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) a[g] = _mm512_loadu_si512(st + 16 * p + 64 * g);
        qv_tr16b(a);
        if (n - p >= 16) {
            qv_dwl_lanes(a, nc, y0 + p, off, 0);
            continue;
        }
        __mmask16 k = (__mmask16)((1u << (n - p)) - 1);
        uint8_t *y = y0 + p;
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++, y += 4 * cs) {
            if (4 * g >= nc) break;
            _mm_mask_storeu_epi8(y, k, _mm512_castsi512_si128(a[g]));
            if (4 * g + 1 < nc) _mm_mask_storeu_epi8(y + cs, k, _mm512_extracti32x4_epi32(a[g], 1));
            if (4 * g + 2 < nc)
                _mm_mask_storeu_epi8(y + 2 * cs, k, _mm512_extracti32x4_epi32(a[g], 2));
            if (4 * g + 3 < nc)
                _mm_mask_storeu_epi8(y + 3 * cs, k, _mm512_extracti32x4_epi32(a[g], 3));
        }
    }
}

// CONV_INTEGER: y[l][p] int32 (l < nc, p < n; planes cs apart) = the staged int32 (n, 16), 16
// outputs at a time
QV_TGT_DWL static void qv_dwl_store32(const uint8_t *st, int64_t n, int64_t cs, int64_t nc,
                                      int32_t *y0)
{
    for (int64_t p = 0; p < n; p += 16) {
        __mmask16 k = n - p >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - p)) - 1);
        __m512 r[16];
        for (int i = 0; i < 16; i++) r[i] = _mm512_loadu_ps(st + 64 * (p + i));
        afk_tr16(r);
        for (int64_t l = 0; l < nc; l++)
            _mm512_mask_storeu_epi32(y0 + l * cs + p, k, _mm512_castps_si512(r[l]));
    }
}

// lanes l < nc (k): the zero point of channel m0 + l as zp_at gives it (zn values: 0 none, 1
// per tensor); 0 past nc
QV_TGT_DWL static __m512i qv_dwl_zp(const af_tview *z, int64_t zn, int64_t m0, __mmask16 k)
{
    if (zn <= 1) return _mm512_maskz_set1_epi32(k, zn ? zp_at(z, 0) : 0);
    if (z->dtype == AF_DTYPE_I8)
        return _mm512_maskz_cvtepi8_epi32(k, _mm_maskz_loadu_epi8(k, (const int8_t *)z->data + m0));
    if (z->dtype == AF_DTYPE_U8)
        return _mm512_maskz_cvtepu8_epi32(k,
                                          _mm_maskz_loadu_epi8(k, (const uint8_t *)z->data + m0));
    int32_t v[16] = {0};
    for (int l = 0; l < 16; l++) v[l] = k >> l & 1 ? zp_at(z, m0 + l) : 0;
    return _mm512_loadu_si512(v);
}

// the group's output scales (out_scale's f32 product and quotient, lane for lane), clamp bounds
// and zp; 0 when a lane's scale is not finite
QV_TGT_DWL static int qv_dwl_scales(const qv_job *j, int64_t m0, __mmask16 k, qv_dwl_epi *e)
{
    const afk_qconv_args *a = j->a;
    int32_t lo = 0, hi = 0;
    e->rq = a->ys != NULL;
    e->sc = _mm512_setzero_ps();
    e->pack = e->i8 = 0;
    if (e->rq) {
        const float *ws = a->ws->data;
        __m512 w = j->ws_n == 1 ? _mm512_set1_ps(ws[0]) : _mm512_maskz_loadu_ps(k, ws + m0);
        e->sc = _mm512_div_ps(_mm512_mul_ps(_mm512_set1_ps(*(const float *)a->xs->data), w),
                              _mm512_set1_ps(*(const float *)a->ys->data));
        __m512 z = _mm512_setzero_ps(); /* finite: sc * 0 == 0 (inf, NaN: NaN) */
        if ((_mm512_cmp_ps_mask(_mm512_mul_ps(e->sc, z), z, _CMP_EQ_OQ) & k) != k) return 0;
        qrange(a->y->dtype, &lo, &hi);
        __m512 m = _mm512_abs_ps(e->sc);
        e->pack = (_mm512_cmp_ps_mask(m, _mm512_set1_ps(0.5f), _CMP_LE_OQ) & k) == k;
        e->i8 = a->y->dtype == AF_DTYPE_I8;
    }
    e->zp = _mm512_set1_epi32(j->yzp), e->zp16 = _mm512_set1_epi16((short)j->yzp);
    e->lo = _mm512_set1_ps((float)(lo - j->yzp)), e->hi = _mm512_set1_ps((float)(hi - j->yzp));
    return 1;
}

// bias' = bias - xzu sw (wrapping int32; sw the weights' sums); for qv_dwlf also in f32 (fb)
// when every |bias'| < 2^23 (see above)
QV_TGT_DWL static void qv_dwl_bias(const qv_job *j, int64_t m0, __mmask16 k, __m512i sw,
                                   qv_dwl_epi *e)
{
    const int32_t *bias = j->a->b && j->a->b->data ? j->a->b->data : NULL;
    __m512i b = bias ? _mm512_maskz_loadu_epi32(k, bias + m0) : _mm512_setzero_si512();
    e->bias = _mm512_sub_epi32(b, _mm512_mullo_epi32(_mm512_set1_epi32(j->xzu), sw));
    const __m512i lim = _mm512_set1_epi32(1 << 23);
    e->fold = !_mm512_cmpge_epi32_mask(e->bias, lim) &&
              !_mm512_cmplt_epi32_mask(e->bias, _mm512_sub_epi32(_mm512_setzero_si512(), lim));
    e->fb = e->fold ? _mm512_cvtepi32_ps(e->bias) : _mm512_setzero_ps();
}

/* Channels [m0, m0 + nc) (nc <= 16) of image n by qv_dwl, band by band (g); 0 (nothing done)
 * when a scale is not finite. */
QV_TGT_DWL static int qv_dwl_group(const qv_job *j, const qv_dwl_geo *g, qv_dwl_mem *s,
                                   int64_t n, int64_t m0, int64_t nc)
{
    const qconv *q = j->q;
    const afk_qconv_args *a = j->a;
    __mmask16 k = (__mmask16)((1u << nc) - 1);
    qv_dwl_epi e;
    if (!qv_dwl_scales(j, m0, k, &e)) return 0;
    int64_t k1 = q->k[1], k2 = q->k[2], s1 = q->s[1], s2 = q->s[2], taps = k1 * k2;
    int64_t ow = q->out[2], osp = j->osp;
    if (!s->offsets) qv_dwl_dst(q, g, s->dst), s->offsets = 1;
    if (!s->border) qv_dwl_border(j, g, s->P), s->border = 1;
    __m512i wz = _mm512_maskz_sub_epi32(k, qv_dwl_zp(a->wz, j->wz_n, m0, k),
                                        _mm512_set1_epi32(j->wshift)), sw;
    int w8 = qv_dwl_weights(j, m0, nc, wz, s->wi, &sw);
    qv_dwl_bias(j, m0, k, sw, &e);
    qv_dwl_src src = {.Wp = g->Wpp, .nh = k2 > 4 ? 2 : 1};
    if (w8) {
        qv_dwl_wq(s->wi, k1, k2, s->wq);
        src.Q = (const uint8_t *)s->plane, src.wq = s->wq;
        src.rb = 64 * g->Wq, src.h1 = 64 * (4 / s2);
    } else {
        float *wv = (float *)s->wi; /* the weights in f32, in place */
        for (int64_t t = 0; t < 16 * taps; t += 16)
            _mm512_storeu_ps(wv + t, _mm512_cvtepi32_ps(_mm512_loadu_si512(s->wi + t)));
        src.plane = s->plane, src.wv = wv;
    }
    const uint8_t *x0 = (const uint8_t *)a->x->data + (n * q->C + m0) * q->in[1] * q->in[2];
    int64_t e0 = (n * q->M + m0) * osp;
    for (int64_t oy0 = 0; oy0 < q->out[1]; oy0 += g->RB) {
        int64_t nr = q->out[1] - oy0 < g->RB ? q->out[1] - oy0 : g->RB, hr = (nr - 1) * s1 + k1;
        qv_dwl_fill(j, g, x0, nc, oy0 * s1, hr, s->dst, s->P);
        if (w8) qv_dwl_quads(s->P, hr, g->Wpp, s2, g->Wq, (uint8_t *)s->plane);
        else qv_dwl_widen_all(s->P, hr * g->Wpp, s->plane);
        qv_dwl_outputs(q, &src, &e, nr, s->st);
        if (e.rq)
            qv_dwl_store8(s->st, nr * ow, osp, nc, (uint8_t *)a->y->data + e0 + oy0 * ow);
        else qv_dwl_store32(s->st, nr * ow, osp, nc, (int32_t *)a->y->data + e0 + oy0 * ow);
    }
    return 1;
}

static void qv_dw_channels(const qv_job *j, int64_t n, int64_t m0, int64_t m1, int tid)
{
    for (int64_t m = m0; m < m1; m++)
        if (!j->dw8 || !qv_dw8_channel(j, n, m, tid)) qv_dw_channel(j, n, m, tid);
}

/* Channels [m0, m1) of image n by qv_dwl, 16 at a time; P's padding columns and the input
 * offsets set up once (again after a group left to the per-channel loops, which reuse the
 * scratch). */
static void qv_dwl_task(const qv_job *j, int64_t n, int64_t m0, int64_t m1, int tid)
{
    qv_dwl_geo g;
    qv_dwl_geometry(j->q, &g);
    qv_dwl_mem s;
    qv_dwl_layout(j->q, &g, (uintptr_t)(j->scratch + (size_t)tid * j->slice), &s);
    for (int64_t m = m0; m < m1; m += 16) {
        int64_t nc = m1 - m < 16 ? m1 - m : 16;
        if (qv_dwl_group(j, &g, &s, n, m, nc)) continue;
        qv_dw_channels(j, n, m, m + nc, tid);
        s.border = s.offsets = 0;
    }
}

/* Tasks of j->mc channels of one image: at least ~4096 outputs each (whole groups of 16 for
 * qv_dwl), so small maps do not spend more on claiming tasks than on the work. */
static void qv_dw_task(void *arg, int64_t task, int tid)
{
    const qv_job *j = arg;
    int64_t per = (j->q->M + j->mc - 1) / j->mc, n = task / per, m0 = task % per * j->mc;
    int64_t m1 = j->q->M - m0 < j->mc ? j->q->M : m0 + j->mc;
    if (j->dwl) qv_dwl_task(j, n, m0, m1, tid);
    else qv_dw_channels(j, n, m0, m1, tid);
}

void afk_qv_dw_run(qv_job *j, const af_kctx *ctx)
{
    const qconv *q = j->q;
    const afk_qconv_args *a = j->a;
    int64_t osp = j->osp > 0 ? j->osp : 1;
    j->dwl = j->vbmi && !afk_qconv_vnni_no_dwl && qv_dwl_shape(q) &&
             j->slice >= qv_dwl_scratch(q);
    if (j->dwl) {
        j->wz_n = a->wz && !afk_omitted(a->wz) && a->wz->data ? af_tview_numel(a->wz) : 0;
        j->ws_n = a->ys ? af_tview_numel(a->ws) : 0;
        j->mc = 4096 / (16 * osp) > 1 ? 4096 / (16 * osp) * 16 : 16;
        afk_qconv_vnni_dwl_runs++;
    } else {
        j->mc = 4096 / osp;
        j->mc = j->mc < 1 ? 1 : j->mc > 64 ? 64 : j->mc;
    }
    afk_parallel(ctx, q->N * ((q->M + j->mc - 1) / j->mc), qv_dw_task, j);
}

#endif

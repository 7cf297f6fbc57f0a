/* runtime/kernels/qconv_vnni.c — CONV_INTEGER / QLINEAR_CONV on AVX512-VNNI, exact: the same
 * int32 sums as quant.c's reference path, requantized by qconv.h's requant (or its AVX-512
 * form, the same operations lane for lane), so the same bits (ONNX Runtime's).
 *
 *   Y[m, p] = sum_k (w[m,k] - wzp[m]) (x[k,p] - xzp)   (x[k,p]: the im2col of group g)
 *
 * Weights, packed once per session: the codes as int8 (uint8 codes minus 128, their zero point
 * with them: wq = w - 128, wzq = wzp - 128, so wq - wzq = w - wzp), one row of Kp = K rounded
 * up to 4 bytes per output channel (zeros past K), and per channel the sum of its codes.
 * Activations: uint8 codes (int8 codes plus 128, xzu = xzp + 128 likewise; padding taps hold
 * xzu, so their x - xzp is 0), im2col'd per block of up to 64 output positions into a panel
 * [Kp/4][W][4]: for each group of 4 k, position t's 4 codes in one dword, which is what
 * vpdpbusd (u8 x s8 -> 4 products summed into an int32 lane) wants; positions are the lanes
 * (16 per zmm), an output channel's 4 weight codes the broadcast dword. The micro-kernel keeps
 * a tile of 6 channels x W positions in 6 x W/16 int32 registers over the whole K, then
 *   acc - xzu * sumw[m] - wzq[m] * sumx[t] + K * xzu * wzq[m]  (= the sum above)
 * in wrapping 32-bit arithmetic, like the reference path: every vpdpbusd step adds 4 products
 * of |wq| <= 128 and xu <= 255 (the accumulator itself stays below 2^31 for K < 65793; K is
 * capped at 65535), and the corrected value is the exact sum modulo 2^32: what the reference
 * and ONNX Runtime's int32 accumulators give for any K.
 * Stride-1 and stride-2 convs read the im2col rows from a padded copy of the image (qv_padded;
 * stride 2 in phases), 1x1 stride-1 convs from the input planes, the others by output-row
 * segments (qv_row). One-group convs with a padded image have K packed in channel-quad order
 * (qv_quad: k = ((c / 4) taps + tap) 4 + c % 4) and, when every wzq is 0 (no position sums),
 * no panel at all: the padded copy holds per position the dword of 4 channels' codes (the quad
 * image, qv_pad4_task), so k group (quad, tap) of 64 virtual positions is 256 contiguous bytes
 * of it at an offset of the group alone, which the tiles load directly (qv_tdir*); every input
 * byte is then interleaved once per image instead of once per tap and block (measured on Zen 4,
 * 1 thread: 64->64 3x3 at 56x56 0.69 -> 0.58 ms, 128->128 at 28x28 0.65 -> 0.58 ms). Quad convs
 * on small maps (qv_small: 7x7, 14x14, where the virtual columns would cost 1/8 more lanes) turn
 * the tile around: output channels in the lanes, each output position's dword broadcast from
 * the quad image, no lane wasted (512->512 3x3 at 7x7: 0.69 -> 0.56 ms); any zero points.
 * Depthwise convs have their own loops (qconv_vnni_dw.c). Tiles of a chunk's last 2 or 4
 * channels compute only those rows; the position sums sx are skipped when every wzq is 0;
 * requantization packs 64 lanes at once (saturating packs as the clamp) when every |scale| <=
 * 1/2.
 *
 * Tasks: (image, group, position block, channel chunk), (channel block, part of the positions)
 * on small maps, or channels of one image (depthwise); each computes its outputs whole, so the
 * bytes do not depend on the thread count. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "qconv.h"
#include "qconv_vnni_int.h"
#include "qgemm.h"


/* QV_LEFT: a block's last 1..QV_LEFT positions past whole 16-lane vectors are dot products
 * (qv_left) rather than a mostly empty vector */
enum { QV_MAGIC = 0x31305651, QV_MR = 6, QV_W = 64, QV_KMAX = 65535, QV_LEFT = 4 };

typedef struct qv_pack {
    int32_t magic, wu8; /* wu8: the weight was uint8 (codes shifted by -128) */
    int64_t M, K, Kp;   /* output channels, k per channel (Cg * taps), K rounded up to 4 */
    int64_t shared;     /* bytes of ctx->shared for the padded image (qv_padded), or 0 */
    int64_t quad;       /* K in channel-quad order (qv_quad) */
    int64_t small;      /* ... and the codes in blocks of 64 channels (qv_small) */
} qv_pack;

/* A run of output positions on one output row: tile lanes [t, t+len), the first input
 * coordinate (o * stride - pad) of its first position on each axis. */
typedef struct qv_seg {
    int32_t t, len, i0, i1, i2;
} qv_seg;



/* Stride-1 2-D (or 1-D) convs but 1x1 ones read their taps from a padded copy of the input
 * (ctx->shared, filled per image): plane rows of Wp = out2 + (k2 - 1) d2 codes, Hp =
 * out1 + (k1 - 1) d1 rows, the pad code around x. Output positions are then "virtual": v =
 * o1 * Wp + o2 with o2 < Wp (the columns o2 >= out2 are computed and dropped), and the im2col
 * row of tap (a, e) for positions [v0, v0 + 64) is the 64 bytes at v0 + a d1 Wp + e d2 of the
 * channel's plane: one plain load, no bounds.
 * Stride-2 convs (no dilation) likewise, from the padded image split into phases: phase
 * (py, px) holds the padded image's rows 2r + py and columns 2c + px, a plane of Hp =
 * out1 + (k1 - 1) / 2 rows of Wp = out2 + (k2 - 1) / 2; tap (a, e) reads phase (a % 2, e % 2)
 * at v0 + (a / 2) Wp + e / 2. Only the phases some tap reads are kept (qv_phases: 1 for 1x1).
 * Returns the plane stride in bytes (0: not so). */
static int64_t qv_padded(const qconv *q, int64_t *Hp, int64_t *Wp)
{
    int flat = 1;
    for (int i = 0; i < 3; i++) flat &= q->k[i] == 1 && q->pb[i] == 0 && q->out[i] == q->in[i];
    int64_t s = q->s[1];
    if (flat || q->in[0] != 1 || q->k[0] != 1 || q->out[0] != 1 || s != q->s[2] || s < 1 ||
        s > 2 || (s == 2 && (q->d[1] != 1 || q->d[2] != 1)))
        return 0;
    *Hp = q->out[1] + (q->k[1] - 1) * q->d[1] / s, *Wp = q->out[2] + (q->k[2] - 1) * q->d[2] / s;
    if (*Hp > ((int64_t)1 << 15) || *Wp > ((int64_t)1 << 15)) return 0;
    return (*Hp * *Wp + 63) & ~(int64_t)63;
}

/* Phases per channel of qv_padded's image, and along the last axis. */
static int64_t qv_phases(const qconv *q, int64_t *n2)
{
    int64_t s = q->s[1], n1 = q->k[1] < s ? q->k[1] : s;
    *n2 = q->k[2] < s ? q->k[2] : s;
    return n1 * *n2;
}

int afk_qconv_vnni_no_dw8 = 0;
_Atomic long afk_qconv_vnni_direct_runs = 0, afk_qconv_vnni_small_runs = 0;

/* Convs whose K is packed in channel-quad order: k = ((c / 4) taps + tap) 4 + c % 4 (taps in
 * kernel order, channels past C with weight 0), so that 4 consecutive k are one tap of 4
 * channels: the dword of one position in the quad image (qv_pad4_task), which the tiles read
 * in place of a panel (qv_task's direct mode). One group, a padded image (qv_padded), and at
 * most 1/8 more k than C holds (the 3-channel stem would multiply 4/3 times more). */
static int qv_quad(const qconv *q)
{
    int64_t Hp, Wp;
    return q->G == 1 && !qv_is_dw(q) && qv_padded(q, &Hp, &Wp) != 0 &&
           (q->C + 3) / 4 * 4 * 8 <= q->C * 9;
}

/* K per packed channel row: K rounded up to 4, or 4 ceil(C / 4) taps in quad order. */
static int64_t qv_kp(const qconv *q)
{
    int64_t taps = q->k[0] * q->k[1] * q->k[2], K = q->Cg * taps;
    return qv_quad(q) ? (q->C + 3) / 4 * 4 * taps : (K + 3) & ~(int64_t)3;
}

/* The tile lanes n positions take: 64 per whole block, and the last block's positions rounded
 * up to whole vectors, or down when 1..QV_LEFT are left over (qv_left). */
static int64_t qv_lanes(int64_t n)
{
    int64_t tl = n % QV_W;
    if (tl % 16 <= QV_LEFT) tl -= tl % 16;
    return n / QV_W * QV_W + (tl + 15) / 16 * 16;
}

/* Quad convs whose virtual positions would cost 1/8 more lanes than their outputs (7x7 and 14x14
 * maps), or of at most 64 outputs, or 256 with a wider kernel than 1x1: the channel-lane tiles
 * (qv_small_task), their weights per block of 64 channels. Measured on Zen 4, 1 thread, against
 * the quad image's tiles: 512->512 3x3 on 7x7 0.69 -> 0.56 ms, 256->256 3x3 on 14x14 0.60 ->
 * 0.57, 256->256 3x3 /2 to 14x14 0.62 -> 0.58, 1024->2048 1x1 /2 to 7x7 0.65 -> 0.59; slower on
 * 28x28 (0.58 -> 0.61) and for 512->1024 1x1 /2 to 14x14 (0.59 -> 0.69). */
static int qv_small(const qconv *q)
{
    int64_t Hp, Wp;
    if (!qv_quad(q)) return 0;
    qv_padded(q, &Hp, &Wp);
    int64_t osp = q->out[1] * q->out[2], V = (q->out[1] - 1) * Wp + q->out[2];
    return qv_lanes(V) * 8 > qv_lanes(osp) * 9 || osp <= 64 ||
           (q->k[1] * q->k[2] > 1 && osp <= 256);
}

static uint64_t up64(uint64_t v) { return (v + 63) & ~(uint64_t)63; }
static int64_t kcount(const qconv *q) { return q->Cg * q->k[0] * q->k[1] * q->k[2]; }
static uint64_t codes_off(void) { return up64(sizeof(qv_pack)); }
/* The codes' bytes: rows of Kp per channel, or (qv_small) blocks of 64 channels [Kp/4][64][4]. */
static int64_t qv_cbytes(int64_t M, int64_t Kp, int small)
{
    return (small ? (M + 63) / 64 * 64 : M) * Kp;
}
static uint64_t sums_off(int64_t M, int64_t Kp, int small)
{
    return up64(codes_off() + (uint64_t)qv_cbytes(M, Kp, small));
}

size_t afk_qconv_vnni_pack_bytes(const qconv *q, af_dtype wdt)
{
#ifdef QV_X86
    int64_t K = kcount(q), Kp = qv_kp(q);
    if (!afk_q8_available() || !__builtin_cpu_supports("avx512vl") ||
        (wdt != AF_DTYPE_I8 && wdt != AF_DTYPE_U8) ||
        (!qv_is_dw(q) && (q->Mg < 4 || K < 4 || K > QV_KMAX)))
        return 0; /* other depthwise and tiny groups stay on the reference path */
    return (size_t)(sums_off(q->M, Kp, qv_small(q)) + 4 * (uint64_t)q->M);
#else
    (void)q, (void)wdt;
    return 0;
#endif
}

// W (M, K) int8/uint8 -> codes (M, Kp) int8 (uint8 - 128), zeros past K; sums (M) int32
void afk_qconv_vnni_pack(const qconv *q, const af_tview *w, void *dst)
{
    qv_pack h = {.magic = QV_MAGIC, .wu8 = w->dtype == AF_DTYPE_U8, .M = q->M, .K = kcount(q)};
    h.Kp = qv_kp(q), h.quad = qv_quad(q), h.small = qv_small(q);
    int64_t Hp, Wp, plane = qv_is_dw(q) ? 0 : qv_padded(q, &Hp, &Wp);
    int64_t n2, nph = qv_phases(q, &n2), taps = h.K / q->Cg;
    /* qv_small builds its image in thread 0's scratch: no shared bytes */
    h.shared = plane && !h.small ? plane * nph * q->C + 128 : 0; /* + slack: 64-byte loads */
    if (h.quad && !h.small) /* or the quad image: the tiles' 256-byte reads end 252 bytes past */
        h.shared = h.Kp / taps * nph * plane + 256 > h.shared ? h.Kp / taps * nph * plane + 256
                                                              : h.shared;
    int8_t *codes = (int8_t *)dst + codes_off();
    int32_t *sums = (int32_t *)(void *)((uint8_t *)dst + sums_off(h.M, h.Kp, (int)h.small));
    uint8_t flip = h.wu8 ? 0x80 : 0; /* uint8 code - 128 = the int8 of its bits ^ 0x80 */
    if (h.small) memset(codes, 0, (size_t)qv_cbytes(h.M, h.Kp, 1)); /* channels past M: 0 */
    for (int64_t m = 0; m < h.M; m++) {
        const uint8_t *src = (const uint8_t *)w->data + m * h.K;
        int32_t s = 0;
        for (int64_t k = 0; k < h.Kp; k++) { /* k: the packed order; i: the weight's */
            int64_t c = 4 * (k / (4 * taps)) + k % 4, i = h.quad ? c * taps + k / 4 % taps : k;
            int8_t v = (h.quad ? c < q->C : k < h.K) ? (int8_t)(uint8_t)(src[i] ^ flip) : 0;
            codes[h.small ? ((m / 64 * (h.Kp / 4) + k / 4) * 64 + m % 64) * 4 + k % 4
                          : m * h.Kp + k] = v;
            s += v; /* |s| <= 128 * 65535 */
        }
        sums[m] = s;
    }
    memcpy(dst, &h, sizeof h);
}

size_t afk_qconv_vnni_shared_bytes(const void *packed)
{
    const qv_pack *h = packed;
    return h && h->magic == QV_MAGIC ? (size_t)h->shared : 0;
}

/* qv_task's working bytes per thread: the panel, 4 rows, sumx, the tile, the segments. */
static size_t qv_work_bytes(const qconv *q)
{
    int64_t Kp = qv_kp(q);
    return (size_t)(Kp * QV_W + 4 * QV_W + 4 * QV_W + 4 * QV_MR * QV_W) +
           QV_W * sizeof(qv_seg) + (size_t)(QV_LEFT * Kp) + 256;
}

/* qv_small's read-only data (in thread 0's scratch): the quad image (+ 256 bytes of slack for
 * reads past it), each output's virtual position, the position sums per virtual position. */
static int64_t qv_small_img(const qconv *q, int64_t *osp, int64_t *V)
{
    int64_t Hp, Wp, n2, plane = qv_padded(q, &Hp, &Wp), nph = qv_phases(q, &n2);
    *osp = q->out[1] * q->out[2], *V = (q->out[1] - 1) * Wp + q->out[2];
    return (q->C + 3) / 4 * nph * 4 * plane + 256;
}

static size_t qv_small_bytes(const qconv *q)
{
    int64_t osp, V;
    if (!qv_small(q)) return 0;
    int64_t img = qv_small_img(q, &osp, &V);
    return (size_t)(img + 4 * osp + 4 * (V + 32));
}

/* Per-thread scratch: the panel (Kp * W bytes), 4 plain im2col rows, sumx, the int32 tile and
 * the output-row segments. */
size_t afk_qconv_vnni_scratch(const qconv *q)
{
    if (qv_is_dw(q)) return afk_qv_dw_scratch(q);
    /* + the channel constants (qv_chan), the quad image's k group offsets (qv_quad_offsets),
     * qv_small's image, output indices and sums; 64-byte alignment of each */
    return qv_work_bytes(q) + (size_t)(12 * q->M + 2 * qv_kp(q)) + qv_small_bytes(q) + 384;
}

#ifdef QV_X86


// segs: the output rows positions [p0, p0+tl) cover (at most tl); returns their count
static int qv_segments(const qconv *q, int64_t p0, int64_t tl, qv_seg *segs)
{
    int n = 0;
    for (int64_t t = 0; t < tl; n++) {
        int64_t p = p0 + t, o2 = p % q->out[2], o1 = p / q->out[2] % q->out[1];
        int64_t o0 = p / (q->out[2] * q->out[1]), len = q->out[2] - o2;
        if (len > tl - t) len = tl - t;
        segs[n] = (qv_seg){(int32_t)t, (int32_t)len, (int32_t)(o0 * q->s[0] - q->pb[0]),
                           (int32_t)(o1 * q->s[1] - q->pb[1]), (int32_t)(o2 * q->s[2] - q->pb[2])};
        t += len;
    }
    return n;
}

/* Bits [lo - off, hi - off) of a 64-bit mask (clipped to 0..63). */
static inline __mmask64 qv_bits(int64_t lo, int64_t hi, int64_t off)
{
    lo -= off, hi -= off;
    lo = lo < 0 ? 0 : lo, hi = hi > 64 ? 64 : hi;
    if (hi <= lo) return 0;
    __mmask64 m = hi - lo == 64 ? ~(__mmask64)0 : (((__mmask64)1 << (hi - lo)) - 1);
    return m << lo;
}

/* Bytes 0, 2, ..., 126 of the 128 bytes (a, b). */
QV_TGT_VBMI static inline __m512i qv_even_bytes(__m512i a, __m512i b)
{
    static const uint8_t idx[64] = {
        0,   2,   4,   6,   8,   10,  12,  14,  16,  18,  20,  22,  24,  26,  28,  30,
        32,  34,  36,  38,  40,  42,  44,  46,  48,  50,  52,  54,  56,  58,  60,  62,
        64,  66,  68,  70,  72,  74,  76,  78,  80,  82,  84,  86,  88,  90,  92,  94,
        96,  98,  100, 102, 104, 106, 108, 110, 112, 114, 116, 118, 120, 122, 124, 126};
    return _mm512_permutex2var_epi8(a, _mm512_loadu_si512(idx), b);
}

// dst (64) u8 = the im2col row of input plane xc (uint8 codes after ^ flip) at kernel tap
// (a, b, e) for the positions of segs: the pad code where a tap falls outside, 0 for lanes
// past the positions (computed and dropped). Built in one register: per segment one masked
// load (masked-off bytes are never read) when the stride along the last axis is 1.
QV_TGT static void qv_row(const qv_job *j, const uint8_t *xc, const int64_t *tap,
                          const qv_seg *segs, int nseg, uint8_t *dst)
{
    const qconv *q = j->q;
    if (j->flat) { /* one segment: positions [i2, i2 + len) of the plane */
        __mmask64 m = segs[0].len == 64 ? ~(__mmask64)0 : ((__mmask64)1 << segs[0].len) - 1;
        __m512i v = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, xc + segs[0].i2),
                                     _mm512_set1_epi8((char)j->flip));
        _mm512_storeu_si512(dst, _mm512_maskz_mov_epi8(m, v));
        return;
    }
    int64_t a = tap[0] * q->d[0], b = tap[1] * q->d[1], e = tap[2] * q->d[2];
    int64_t s2 = q->s[2], in2 = q->in[2];
    __m512i row = _mm512_setzero_si512();
    __mmask64 got = 0, all = 0; /* lanes read from x, lanes of positions */
    for (int k = 0; k < nseg; k++) {
        const qv_seg *sg = &segs[k];
        int64_t i0 = sg->i0 + a, i1 = sg->i1 + b, i2 = sg->i2 + e;
        all |= (sg->len == 64 ? ~(__mmask64)0 : (((__mmask64)1 << sg->len) - 1)) << sg->t;
        if (i0 < 0 || i0 >= q->in[0] || i1 < 0 || i1 >= q->in[1]) continue;
        /* lanes [lo, hi) of the segment read x: 0 <= i2 + t * s2 < in2 */
        int64_t lo = i2 >= 0 ? 0 : s2 == 1 ? -i2 : (-i2 + s2 - 1) / s2;
        int64_t hi = i2 >= in2 ? 0 : s2 == 1 ? in2 - i2 : (in2 - 1 - i2) / s2 + 1;
        if (hi > sg->len) hi = sg->len;
        if (hi <= lo) continue;
        const uint8_t *src = xc + (i0 * q->in[1] + i1) * in2 + i2;
        if (s2 == 1) {
            __mmask64 m = (hi - lo == 64 ? ~(__mmask64)0 : (((__mmask64)1 << (hi - lo)) - 1))
                          << (sg->t + lo);
            /* lane L reads src[L - t]: the address of lane 0, never dereferenced itself */
            const void *base = (const void *)((uintptr_t)src - (uintptr_t)sg->t);
            row = _mm512_mask_loadu_epi8(row, m, base);
            got |= m;
        } else if (s2 == 2 && j->vbmi) {
            /* lane L reads src[2 (L - t)]: bytes [2 (t + lo), 2 (t + hi) - 1) of a 128-byte
             * window from src - 2t, then its even bytes (vpermt2b) */
            int64_t b0 = 2 * (sg->t + lo), b1 = 2 * (sg->t + hi) - 1;
            uintptr_t base = (uintptr_t)src - 2 * (uintptr_t)sg->t;
            __m512i w0 = _mm512_maskz_loadu_epi8(qv_bits(b0, b1, 0), (const void *)base);
            __m512i w1 = _mm512_maskz_loadu_epi8(qv_bits(b0, b1, 64), (const void *)(base + 64));
            __mmask64 m = qv_bits(sg->t + lo, sg->t + hi, 0);
            row = _mm512_mask_blend_epi8(m, row, qv_even_bytes(w0, w1));
            got |= m;
        } else {
            uint8_t tmp[64];
            _mm512_storeu_si512(tmp, row);
            for (int64_t t = lo; t < hi; t++) tmp[sg->t + t] = src[t * s2];
            row = _mm512_loadu_si512(tmp);
            got |= (((__mmask64)1 << (hi - lo)) - 1) << (sg->t + lo);
        }
    }
    row = _mm512_xor_si512(row, _mm512_set1_epi8((char)j->flip));
    row = _mm512_mask_blend_epi8(got, _mm512_maskz_set1_epi8(all, (char)j->xzu), row);
    _mm512_storeu_si512(dst, row);
}

// panel [Kp/4][W][4] u8 from 4 plain rows [4][64] at group kq; sx (W) += the 4 codes' sum
QV_TGT static void qv_interleave4(const uint8_t *p0, const uint8_t *p1, const uint8_t *p2,
                                  const uint8_t *p3, int64_t W, uint8_t *panel, int32_t *sx)
{
    const __m512i ones = _mm512_set1_epi32(0x01010101);
    for (int64_t t = 0; t < W; t += 16) {
        __m512i r0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p0 + t)));
        __m512i r1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p1 + t)));
        __m512i r2 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p2 + t)));
        __m512i r3 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p3 + t)));
        __m512i d = _mm512_or_si512(_mm512_or_si512(r0, _mm512_slli_epi32(r1, 8)),
                                    _mm512_or_si512(_mm512_slli_epi32(r2, 16),
                                                    _mm512_slli_epi32(r3, 24)));
        _mm512_storeu_si512(panel + 4 * t, d);
        if (!sx) continue;
        __m512i s = _mm512_loadu_si512(sx + t);
        _mm512_storeu_si512(sx + t, _mm512_dpbusd_epi32(s, d, ones));
    }
}

static void qv_interleave(const uint8_t *rows, int64_t W, uint8_t *panel, int32_t *sx)
{
    qv_interleave4(rows, rows + QV_W, rows + 2 * QV_W, rows + 3 * QV_W, W, panel, sx);
}

/* acc (QV_MR, NV*16) = sum over kq of panel (kq, NV*16 dwords) . w[i] (dword kq), int32: the
 * 6 x NV accumulators named one by one so they stay in registers (NV a constant per copy).
 * DIR: group kq's NV*16 dwords are at base + off[kq] (the quad image) instead of the panel's
 * base + kq NV 64. */
#define QV_ROW(i)                                                                              \
    do {                                                                                       \
        int32_t wd;                                                                            \
        memcpy(&wd, w##i + 4 * kq, 4);                                                         \
        __m512i b = _mm512_set1_epi32(wd);                                                     \
        c##i##0 = _mm512_dpbusd_epi32(c##i##0, x0, b);                                         \
        if (NV > 1) c##i##1 = _mm512_dpbusd_epi32(c##i##1, x1, b);                             \
        if (NV > 2) c##i##2 = _mm512_dpbusd_epi32(c##i##2, x2, b);                             \
        if (NV > 3) c##i##3 = _mm512_dpbusd_epi32(c##i##3, x3, b);                             \
    } while (0)
#define QV_ZERO(i) __m512i c##i##0 = z, c##i##1 = z, c##i##2 = z, c##i##3 = z
#define QV_OUT(i)                                                                              \
    do {                                                                                       \
        int32_t *o = acc + i * NV * 16;                                                        \
        _mm512_storeu_si512(o, c##i##0);                                                       \
        if (NV > 1) _mm512_storeu_si512(o + 16, c##i##1);                                      \
        if (NV > 2) _mm512_storeu_si512(o + 32, c##i##2);                                      \
        if (NV > 3) _mm512_storeu_si512(o + 48, c##i##3);                                      \
    } while (0)

QV_TGT static inline __attribute__((always_inline)) void
qv_tile(const uint8_t *panel, const int64_t *off, int64_t Kq, const int8_t *const *w,
        int32_t *acc, const int NV, const int MR, const int DIR)
{
    const __m512i z = _mm512_setzero_si512();
    const int8_t *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3], *w4 = w[4], *w5 = w[5];
    QV_ZERO(0); QV_ZERO(1); QV_ZERO(2); QV_ZERO(3); QV_ZERO(4); QV_ZERO(5);
    for (int64_t kq = 0; kq < Kq; kq++) {
        const uint8_t *pk = DIR ? panel + off[kq] : panel + kq * NV * 64;
        __m512i x0 = _mm512_loadu_si512(pk), x1 = z, x2 = z, x3 = z;
        if (NV > 1) x1 = _mm512_loadu_si512(pk + 64);
        if (NV > 2) x2 = _mm512_loadu_si512(pk + 128);
        if (NV > 3) x3 = _mm512_loadu_si512(pk + 192);
        QV_ROW(0); QV_ROW(1);
        if (MR > 2) { QV_ROW(2); QV_ROW(3); }
        if (MR > 4) { QV_ROW(4); QV_ROW(5); }
    }
    QV_OUT(0); QV_OUT(1);
    if (MR > 2) { QV_OUT(2); QV_OUT(3); }
    if (MR > 4) { QV_OUT(4); QV_OUT(5); }
}

/* qv_tile##NV##_##MR (panel) and qv_tdir##NV##_##MR (quad image): NV vectors of positions, MR
 * of the 6 rows (2 and 4: a chunk's last channels, rows past MR not computed) */
#define QV_KERNEL(NV, MR)                                                                      \
    QV_TGT static void qv_tile##NV##_##MR(const uint8_t *panel, const int64_t *off, int64_t Kq, \
                                          const int8_t *const *w, int32_t *acc)               \
    {                                                                                         \
        qv_tile(panel, off, Kq, w, acc, NV, MR, 0);                                           \
    }                                                                                         \
    QV_TGT static void qv_tdir##NV##_##MR(const uint8_t *img, const int64_t *off, int64_t Kq,  \
                                          const int8_t *const *w, int32_t *acc)               \
    {                                                                                         \
        qv_tile(img, off, Kq, w, acc, NV, MR, 1);                                             \
    }
QV_KERNEL(1, 6) QV_KERNEL(2, 6) QV_KERNEL(3, 6) QV_KERNEL(4, 6)
QV_KERNEL(1, 4) QV_KERNEL(2, 4) QV_KERNEL(3, 4) QV_KERNEL(4, 4)
QV_KERNEL(1, 2) QV_KERNEL(2, 2) QV_KERNEL(3, 2) QV_KERNEL(4, 2)

typedef void (*qv_tile_fn)(const uint8_t *, const int64_t *, int64_t, const int8_t *const *,
                           int32_t *);



/* The per-channel constants of a tile's rows: the zero-point term c0 = K xzu wzq - xzu sumw +
 * bias, wzq, the output scale and where the channel's outputs start. */
typedef struct qv_rows {
    uint32_t c0[QV_MR], wzq[QV_MR];
    float sc[QV_MR];
    int64_t e0[QV_MR];
    int nm, any_wz;
} qv_rows;

// y[e0[i] + u] = requant(acc[i][u] - wzq[i] sx[u] + c0[i]) for u < n and the tile's nm rows:
// qv_requant16's steps (qconv_vnni_dw.c), the rows interleaved per 16 lanes so their chains
// overlap
QV_TGT static void qv_requant_rows(const int32_t *acc, int64_t W, const int32_t *sx,
                                   const qv_rows *r, int32_t zp, int32_t lo, int32_t hi,
                                   int64_t n, uint8_t *y)
{
    const __m512 flo = _mm512_set1_ps((float)(lo - zp)), fhi = _mm512_set1_ps((float)(hi - zp));
    const __m512i vz = _mm512_set1_epi32(zp);
    for (int64_t t = 0; t < n; t += 16) {
        __mmask16 k = n - t >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - t)) - 1);
        __m512i x = r->any_wz ? _mm512_loadu_si512(sx + t) : vz;
        for (int i = 0; i < r->nm; i++) {
            __m512i v = _mm512_add_epi32(_mm512_loadu_si512(acc + i * W + t),
                                         _mm512_set1_epi32((int32_t)r->c0[i]));
            if (r->any_wz)
                v = _mm512_sub_epi32(
                    v, _mm512_mullo_epi32(_mm512_set1_epi32((int32_t)r->wzq[i]), x));
            __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_set1_ps(r->sc[i]));
            f = _mm512_min_ps(_mm512_max_ps(f, flo), fhi);
            qstore16(y + r->e0[i] + t, k, _mm512_add_epi32(_mm512_cvtps_epi32(f), vz));
        }
    }
}

// qv_requant_rows when every |scale| <= 1/2 (so |acc * scale| <= 2^30: no clamp needed before
// the conversion), 64 lanes of a row at a time: rint(v * scale) + zp, then the int32 -> int16 ->
// 8-bit saturating packs (and a dword permutation back to lane order) are the clamp to the
// type's range: clamping to the integers lo - zp, hi - zp commutes with rint, so the same codes
// rint((acc + c0 - wz sx) * sc) + zp of 16 lanes (wz ignored without sums)
QV_TGT static inline __attribute__((always_inline)) __m512i
qv_rq(const int32_t *acc, const int32_t *sx, __m512i c0, __m512i wz, __m512 sc, __m512i zp)
{
    __m512i v = _mm512_add_epi32(_mm512_loadu_si512(acc), c0);
    if (sx) v = _mm512_sub_epi32(v, _mm512_mullo_epi32(wz, _mm512_loadu_si512(sx)));
    return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(v), sc)), zp);
}

QV_TGT static void qv_requant_pack(const int32_t *acc, int64_t W, const int32_t *sx,
                                   const qv_rows *r, int32_t zp, int i8, int64_t n, uint8_t *y)
{
    const __m512i vz = _mm512_set1_epi32(zp);
    const __m512i perm = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const int32_t *s = r->any_wz ? sx : NULL;
    for (int i = 0; i < r->nm; i++) {
        const __m512i c0 = _mm512_set1_epi32((int32_t)r->c0[i]);
        const __m512i wz = _mm512_set1_epi32((int32_t)r->wzq[i]);
        const __m512 sc = _mm512_set1_ps(r->sc[i]);
        const int32_t *ai = acc + i * W;
        for (int64_t t = 0; t < n; t += 64) {
            __m512i q0 = qv_rq(ai + t, s ? s + t : NULL, c0, wz, sc, vz);
            __m512i q1 = qv_rq(ai + t + 16, s ? s + t + 16 : NULL, c0, wz, sc, vz);
            __m512i q2 = qv_rq(ai + t + 32, s ? s + t + 32 : NULL, c0, wz, sc, vz);
            __m512i q3 = qv_rq(ai + t + 48, s ? s + t + 48 : NULL, c0, wz, sc, vz);
            __m512i a = _mm512_packs_epi32(q0, q1), b = _mm512_packs_epi32(q2, q3);
            __m512i c = i8 ? _mm512_packs_epi16(a, b) : _mm512_packus_epi16(a, b);
            c = _mm512_permutexvar_epi32(perm, c);
            if (n - t >= 64) _mm512_storeu_si512(y + r->e0[i] + t, c);
            else _mm512_mask_storeu_epi8(y + r->e0[i] + t, ((__mmask64)1 << (n - t)) - 1, c);
        }
    }
}

// outputs of channels [m0, m0+nm) at positions [p0, p0+tl) from the tile: zero-point
// corrections and bias in wrapping 32 bits, then requant (qconv.h; its vector form when every
// scale is finite) or the int32 itself
static void qv_store(const qv_job *j, int64_t n, int64_t m0, int64_t nm, int64_t p0, int64_t tl,
                     int64_t W, const int32_t *acc, const int32_t *sx)
{
    const afk_qconv_args *a = j->a;
    const int32_t *bias = a->b && a->b->data ? a->b->data : NULL;
    int32_t lo = 0, hi = 0;
    if (a->ys) qrange(a->y->dtype, &lo, &hi);
    int64_t ow = j->q->out[2];
    qv_rows r = {.nm = (int)nm};
    int vec = a->ys != NULL, pack = 1;
    for (int64_t i = 0; i < nm; i++) {
        int64_t m = m0 + i;
        if (j->c0) {
            r.c0[i] = j->c0[m], r.wzq[i] = j->wzq[m], r.sc[i] = j->sc[m];
        } else {
            uint32_t wzq = (uint32_t)(zp_at(a->wz, m) - j->wshift), xzu = (uint32_t)j->xzu;
            r.c0[i] = (uint32_t)j->K * xzu * wzq - xzu * (uint32_t)j->sumw[m] +
                      (bias ? (uint32_t)bias[m] : 0u);
            r.wzq[i] = wzq;
            r.sc[i] = a->ys ? out_scale(a->xs, a->ws, a->ys, m) : 0.0f;
        }
        r.any_wz |= r.wzq[i] != 0;
        r.e0[i] = (n * j->q->M + m) * j->osp;
        vec &= isfinite(r.sc[i]);
        pack &= fabsf(r.sc[i]) <= 0.5f;
    }
    /* runs of tile lanes [t, t + len) stored at output offset e: one run, or with the padded
     * image one per output row (virtual columns o2 >= out2 dropped) */
    for (int64_t t = 0; t < tl;) {
        int64_t len = tl - t, e = p0 + t;
        if (j->pimg && !j->compact) {
            int64_t v = p0 + t, o1 = v / j->Wp, o2 = v % j->Wp;
            if (o2 >= ow) {
                t += j->Wp - o2;
                continue;
            }
            len = len < ow - o2 ? len : ow - o2;
            e = o1 * ow + o2;
        }
        if (vec && pack) {
            qv_requant_pack(acc + t, W, sx + t, &r, j->yzp, a->y->dtype == AF_DTYPE_I8, len,
                            (uint8_t *)a->y->data + e);
        } else if (vec) {
            qv_requant_rows(acc + t, W, sx + t, &r, j->yzp, lo, hi, len,
                            (uint8_t *)a->y->data + e);
        } else {
            for (int64_t i = 0; i < nm; i++)
                for (int64_t u = 0; u < len; u++) {
                    int32_t v = (int32_t)((uint32_t)acc[i * W + t + u] -
                                          r.wzq[i] * (uint32_t)sx[t + u] + r.c0[i]);
                    store_q(a->y, r.e0[i] + e + u,
                            a->ys ? requant(v, r.sc[i], j->yzp, a->y->dtype) : v);
                }
        }
        t += len;
    }
}

/* The channels' constants for qv_store, once per run: c0 = K xzu wzq - xzu sumw + bias, wzq,
 * the output scale; in the scratch past thread 0's working bytes (read only by all). */
static void qv_chan(qv_job *j, uint8_t *at)
{
    const afk_qconv_args *a = j->a;
    const int32_t *bias = a->b && a->b->data ? a->b->data : NULL;
    int64_t M = j->q->M;
    uint32_t *c0 = (uint32_t *)(void *)at, *wzq = c0 + M, xzu = (uint32_t)j->xzu;
    float *sc = (float *)(void *)(wzq + M);
    for (int64_t m = 0; m < M; m++) {
        wzq[m] = (uint32_t)(zp_at(a->wz, m) - j->wshift);
        c0[m] = (uint32_t)j->K * xzu * wzq[m] - xzu * (uint32_t)j->sumw[m] +
                (bias ? (uint32_t)bias[m] : 0u);
        sc[m] = a->ys ? out_scale(a->xs, a->ws, a->ys, m) : 0.0f;
    }
    j->c0 = c0, j->wzq = wzq, j->sc = sc;
}

// plane c of the padded image (Hp, Wp) u8 = x[n, c] (uint8 codes) at (pb1, pb2), pad around
static void qv_pad_task(void *arg, int64_t c, int tid)
{
    (void)tid;
    const qv_job *j = arg;
    const qconv *q = j->q;
    uint8_t *d = j->pimg + c * j->plane, pad = (uint8_t)j->xzu, flip = j->flip;
    const uint8_t *x = (const uint8_t *)j->a->x->data + (j->pn * q->C + c) * q->in[1] * q->in[2];
    int64_t w = q->in[2], pb2 = q->pb[2], ncopy = w < j->Wp - pb2 ? w : j->Wp - pb2;
    for (int64_t r = 0; r < j->Hp; r++, d += j->Wp) {
        int64_t iy = r - q->pb[1];
        if (iy < 0 || iy >= q->in[1] || ncopy <= 0) {
            memset(d, pad, (size_t)j->Wp);
            continue;
        }
        memset(d, pad, (size_t)pb2);
        if (!flip) memcpy(d + pb2, x + iy * w, (size_t)ncopy);
        else
            for (int64_t t = 0; t < ncopy; t++) d[pb2 + t] = x[iy * w + t] ^ flip;
        memset(d + pb2 + ncopy, pad, (size_t)(j->Wp - pb2 - ncopy));
    }
}

// the phases of channel c of the padded image (qv_padded, stride 2): phase (py, px) row r,
// column t = x[n, c] (uint8 codes) at (2 r + py - pb1, 2 t + px - pb2), the pad code outside
QV_TGT static void qv_pad2_task(void *arg, int64_t c, int tid)
{
    (void)tid;
    const qv_job *j = arg;
    const qconv *q = j->q;
    const uint8_t *x = (const uint8_t *)j->a->x->data + (j->pn * q->C + c) * q->in[1] * q->in[2];
    const __m512i fl = _mm512_set1_epi8((char)j->flip);
    int64_t H = q->in[1], W = q->in[2], Wp = j->Wp;
    for (int64_t ph = 0; ph < j->nph; ph++) {
        int64_t py = ph / j->ph2, px = ph % j->ph2;
        uint8_t *d = j->pimg + (c * j->nph + ph) * j->plane;
        /* columns [t0, t1) read x: 0 <= 2 t + px - pb2 < W */
        int64_t t0 = (q->pb[2] - px + 1) / 2, t1 = (W + q->pb[2] - px + 1) / 2;
        t0 = t0 < 0 ? 0 : t0 > Wp ? Wp : t0, t1 = t1 > Wp ? Wp : t1 < t0 ? t0 : t1;
        memset(d, j->xzu, (size_t)(j->Hp * Wp));
        for (int64_t r = 0; r < j->Hp; r++, d += Wp) {
            int64_t iy = 2 * r + py - q->pb[1];
            if (iy < 0 || iy >= H) continue;
            const uint8_t *src = x + iy * W + 2 * t0 + px - q->pb[2];
            for (int64_t t = t0; t < t1; t += 32) { /* 16-bit lane i: source byte 2 i */
                int64_t n = t1 - t < 32 ? t1 - t : 32, nb = 2 * n - 1;
                __mmask64 k = nb >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << nb) - 1;
                __m512i v = _mm512_maskz_loadu_epi8(k, src + 2 * (t - t0));
                __m256i b = _mm256_xor_si256(_mm512_cvtepi16_epi8(v), _mm512_castsi512_si256(fl));
                _mm256_mask_storeu_epi8(d + t, (__mmask32)(((uint64_t)1 << n) - 1), b);
            }
        }
    }
}

// d[0, n) = v
QV_TGT static void qv_fill32(uint32_t *d, int64_t n, uint32_t v)
{
    const __m512i b = _mm512_set1_epi32((int32_t)v);
    for (int64_t t = 0; t < n; t += 16)
        _mm512_mask_storeu_epi32(d + t, n - t >= 16 ? (__mmask16)0xffff
                                                    : (__mmask16)((1u << (n - t)) - 1), b);
}

// quad cq of the quad image (qv_padded's planes and phases, stride s = 1 or 2): phase (py, px)
// position (r, t) = the dword of channels 4 cq + i's uint8 codes at (s r + py - pb1,
// s t + px - pb2) in byte i, the pad code xzu outside x, 0 for channels past C (weight 0, and
// nothing in the position sums). Per 16
// positions of a row: each channel's 16 codes (stride 2: the even bytes of 31), widened to
// dwords, shifted into byte i.
QV_TGT static void qv_pad4_task(void *arg, int64_t cq, int tid)
{
    (void)tid;
    const qv_job *j = arg;
    const qconv *q = j->q;
    int64_t H = q->in[1], W = q->in[2], Wp = j->Wp, s = q->s[1];
    const uint8_t *x = (const uint8_t *)j->a->x->data + j->pn * q->C * H * W;
    const __m128i fl = _mm_set1_epi8((char)j->flip);
    uint32_t pad = 0; /* the pad code in the bytes of channels below C */
    for (int i = 0; i < 4; i++) pad |= 4 * cq + i < q->C ? (uint32_t)j->xzu << (8 * i) : 0u;
    for (int64_t ph = 0; ph < j->nph; ph++) {
        int64_t py = ph / j->ph2, px = ph % j->ph2;
        uint32_t *d = (uint32_t *)(void *)(j->pimg + (cq * j->nph + ph) * 4 * j->plane);
        /* columns [t0, t1) read x: 0 <= s t + px - pb2 < W */
        int64_t t0 = (q->pb[2] - px + s - 1) / s, t1 = (W + q->pb[2] - px + s - 1) / s;
        t0 = t0 < 0 ? 0 : t0 > Wp ? Wp : t0, t1 = t1 > Wp ? Wp : t1 < t0 ? t0 : t1;
        for (int64_t r = 0; r < j->Hp; r++, d += Wp) {
            int64_t iy = s * r + py - q->pb[1];
            if (iy < 0 || iy >= H || t0 == t1) {
                qv_fill32(d, Wp, pad);
                continue;
            }
            qv_fill32(d, t0, pad);
            qv_fill32(d + t1, Wp - t1, pad);
            const uint8_t *src = x + iy * W + s * t0 + px - q->pb[2];
            for (int64_t t = t0; t < t1; t += 16) {
                int64_t n = t1 - t < 16 ? t1 - t : 16;
                __m512i v = _mm512_setzero_si512();
                for (int i = 0; i < 4; i++) {
                    int64_t c = 4 * cq + i;
                    const uint8_t *p = src + c * H * W + s * (t - t0);
                    __m128i b = _mm_setzero_si128();
                    if (c < q->C && s == 1)
                        b = _mm_xor_si128(_mm_maskz_loadu_epi8((__mmask16)((1u << n) - 1), p), fl);
                    else if (c < q->C) /* 16-bit lane i: source byte 2 i */
                        b = _mm_xor_si128(_mm256_cvtepi16_epi8(_mm256_maskz_loadu_epi8(
                                              (__mmask32)((1u << (2 * n - 1)) - 1), p)),
                                          fl);
                    v = _mm512_or_si512(v, _mm512_slli_epi32(_mm512_cvtepu8_epi32(b), 8 * i));
                }
                _mm512_mask_storeu_epi32(d + t, (__mmask16)((1u << n) - 1), v);
            }
        }
    }
}

/* Where tap (a, e) reads the padded image (qv_padded): position offset and *ph its phase. */
static int64_t qv_tap(const qv_job *j, int64_t a, int64_t e, int64_t *ph)
{
    if (j->q->s[1] == 2) {
        *ph = (a & 1) * j->ph2 + (e & 1);
        return (a >> 1) * j->Wp + (e >> 1);
    }
    *ph = 0;
    return a * j->q->d[1] * j->Wp + e * j->q->d[2];
}

// off[kq] = the byte offset of k group kq = (quad, a, e) in the quad image
static void qv_quad_offsets(const qv_job *j, int64_t *off)
{
    int64_t kq = 0, ph, pos;
    for (int64_t cq = 0; cq < j->Kp / (4 * j->taps); cq++)
        for (int64_t a = 0; a < j->q->k[1]; a++)
            for (int64_t e = 0; e < j->q->k[2]; e++) {
                pos = qv_tap(j, a, e, &ph);
                off[kq++] = 4 * ((cq * j->nph + ph) * j->plane + pos);
            }
}

QV_TGT static int32_t qv_dot(const uint8_t *x, const int8_t *w, int64_t Kp)
{
    __m512i c = _mm512_setzero_si512();
    for (int64_t k = 0; k < Kp; k += 64) {
        __mmask64 m = Kp - k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (Kp - k)) - 1;
        c = _mm512_dpbusd_epi32(c, _mm512_maskz_loadu_epi8(m, x + k),
                                _mm512_maskz_loadu_epi8(m, w + k));
    }
    return _mm512_reduce_add_epi32(c); /* wrapping int32 adds, as the reference's */
}

// col[l Kp + 4 kq + i] = row i's byte at lane tm + l, l < left: the leftover positions' im2col
// columns, 4 k at a time
static inline void qv_left_cols(const uint8_t *const *r, int64_t kq, int64_t tm, int64_t left,
                                int64_t Kp, uint8_t *col)
{
    for (int64_t l = 0; l < left; l++)
        for (int i = 0; i < 4; i++) col[l * Kp + 4 * kq + i] = r[i][tm + l];
}

// d[l] = the dot products of columns col + l Kp (l < nl <= QV_LEFT) with the codes w (Kp):
// one weight load per 64 k for all the columns
QV_TGT static void qv_dots(const uint8_t *col, int64_t nl, const int8_t *w, int64_t Kp,
                           int32_t *d)
{
    __m512i c[QV_LEFT];
    for (int l = 0; l < QV_LEFT; l++) c[l] = _mm512_setzero_si512();
    for (int64_t k = 0; k < Kp; k += 64) {
        __mmask64 m = Kp - k >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (Kp - k)) - 1;
        __m512i wv = _mm512_maskz_loadu_epi8(m, w + k);
        for (int64_t l = 0; l < nl; l++)
            c[l] = _mm512_dpbusd_epi32(c[l], _mm512_maskz_loadu_epi8(m, col + l * Kp + k), wv);
    }
    for (int64_t l = 0; l < nl; l++) d[l] = _mm512_reduce_add_epi32(c[l]);
}

// y[i] (i < nm) = requant(d[i] - wzq[i] sx + c0[i]) with per-channel scales sc (all finite):
// qv_requant16's steps (qconv_vnni_dw.c) with a scale per lane
QV_TGT static void qv_requant_ch(const int32_t *d, const uint32_t *wzq, const uint32_t *c0,
                                 const float *sc, uint32_t sx, int32_t zp, int32_t lo,
                                 int32_t hi, int64_t nm, uint8_t *y)
{
    __mmask16 k = nm >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nm) - 1);
    __m512i v = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, d), _mm512_maskz_loadu_epi32(k, c0));
    v = _mm512_sub_epi32(v, _mm512_mullo_epi32(_mm512_maskz_loadu_epi32(k, wzq),
                                               _mm512_set1_epi32((int32_t)sx)));
    __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(v), _mm512_maskz_loadu_ps(k, sc));
    f = _mm512_min_ps(_mm512_max_ps(f, _mm512_set1_ps((float)(lo - zp))),
                      _mm512_set1_ps((float)(hi - zp)));
    qstore16(y, k, _mm512_add_epi32(_mm512_cvtps_epi32(f), _mm512_set1_epi32(zp)));
}

// the leftover positions [tm, tm + left) of block p0 for channels [mlo, mhi): each output one
// dot product of the column with the channel's codes, then qv_store's formula (16 channels at
// a time by qv_requant_ch when their scales are finite, else the scalar requant)
static void qv_left(const qv_job *j, int64_t n, int64_t mlo, int64_t mhi, int64_t p0, int64_t tm,
                    int64_t left, const uint8_t *col)
{
    const afk_qconv_args *a = j->a;
    int64_t ow = j->q->out[2], e[QV_LEFT];
    uint32_t sxl[QV_LEFT];
    int32_t lo = 0, hi = 0;
    if (a->ys) qrange(a->y->dtype, &lo, &hi);
    for (int64_t l = 0; l < left; l++) {
        int64_t v = p0 + tm + l;
        e[l] = v;
        if (j->pimg && !j->compact) /* virtual: dropped past the row (-1), else (o1, o2) */
            e[l] = v % j->Wp >= ow ? -1 : v / j->Wp * ow + v % j->Wp;
        sxl[l] = 0;
        for (int64_t k = 0; k < j->Kp; k++) sxl[l] += col[l * j->Kp + k];
    }
    for (int64_t m0 = mlo; m0 < mhi; m0 += 16) {
        int64_t nm = mhi - m0 < 16 ? mhi - m0 : 16;
        int32_t d[QV_LEFT][16], t[QV_LEFT];
        int vec = a->ys != NULL;
        for (int64_t i = 0; i < nm; i++) {
            qv_dots(col, left, j->codes + (m0 + i) * j->Kp, j->Kp, t);
            for (int64_t l = 0; l < left; l++) d[l][i] = t[l];
            vec &= isfinite(j->sc[m0 + i]);
        }
        for (int64_t l = 0; l < left; l++) {
            if (e[l] < 0) continue;
            int64_t at = (n * j->q->M + m0) * j->osp + e[l];
            if (vec) {
                uint8_t b[16];
                qv_requant_ch(d[l], j->wzq + m0, j->c0 + m0, j->sc + m0, sxl[l], j->yzp, lo, hi,
                              nm, b);
                for (int64_t i = 0; i < nm; i++) ((uint8_t *)a->y->data)[at + i * j->osp] = b[i];
                continue;
            }
            for (int64_t i = 0; i < nm; i++) {
                int64_t m = m0 + i;
                int32_t y = (int32_t)((uint32_t)d[l][i] - j->wzq[m] * sxl[l] + j->c0[m]);
                store_q(a->y, at + i * j->osp,
                        a->ys ? requant(y, j->sc[m], j->yzp, a->y->dtype) : y);
            }
        }
    }
}

/* Compact positions from the padded image (qv_padded's planes, AVX512-VBMI): block p0's
 * output positions p0 + i (i < tl) sit at virtual v(p) = (p / out2) Wp + p % out2; *idx lane i
 * = v(p0 + i) - v(p0), every one below 128 (qv_compact_ok), *vs = v(p0). */
static void qv_compact_idx(const qv_job *j, int64_t p0, int64_t tl, uint8_t *idx, int64_t *vs)
{
    int64_t ow = j->q->out[2];
    memset(idx, 0, 64);
    *vs = p0 / ow * j->Wp + p0 % ow;
    for (int64_t i = 0; i < tl; i++)
        idx[i] = (uint8_t)((p0 + i) / ow * j->Wp + (p0 + i) % ow - *vs);
}

// dst (64) = the bytes src[idx[i]] (idx < 128: two loads and a two-source byte permutation)
QV_TGT_VBMI static const uint8_t *qv_compact_row(const uint8_t *src, const uint8_t *idx,
                                                 uint8_t *dst)
{
    __m512i lo = _mm512_loadu_si512(src), hi = _mm512_loadu_si512(src + 64);
    _mm512_storeu_si512(dst, _mm512_permutex2var_epi8(lo, _mm512_loadu_si512(idx), hi));
    return dst;
}

/* Every block of 64 compact positions spans fewer than 128 virtual ones: it crosses at most
 * 63 / out2 + 1 row ends, each skipping Wp - out2 columns. */
static int qv_compact_ok(const qconv *q, int64_t Wp)
{
    return 64 + (63 / q->out[2] + 1) * (Wp - q->out[2]) <= 127;
}

static void qv_task(void *arg, int64_t task, int tid)
{
    const qv_job *j = arg;
    const qconv *q = j->q;
    int64_t mch = task % j->mchunks, rest = task / j->mchunks;
    int64_t blk = rest % j->nblk, ng = rest / j->nblk, g = ng % q->G, n = ng / q->G;
    if (j->pimg) n = j->pn; /* tasks of one image at a time */
    int64_t np = j->pimg && !j->compact ? j->V : j->osp; /* virtual with the padded image */
    int64_t p0 = blk * QV_W, tl = np - p0 < QV_W ? np - p0 : QV_W;
    int64_t nv = (tl + 15) / 16, left = 0, Kq = j->Kp / 4;
    if (tl % 16 <= QV_LEFT) left = tl % 16, nv = tl / 16; /* leftovers: qv_left */
    int64_t W = nv * 16, tm = tl - left; /* the tile's lanes, its positions */
    uint8_t *s = j->scratch + (size_t)tid * j->slice;
    uint8_t *panel = s, *rows = panel + j->Kp * QV_W;
    int32_t *sx = (int32_t *)(void *)(rows + 4 * QV_W), *acc = sx + QV_W;
    qv_seg *segs = (qv_seg *)(void *)(acc + QV_MR * QV_W);
    uint8_t *col = (uint8_t *)(void *)(segs + QV_W);
    int direct = j->flat && !j->flip && W == tl; /* 1x1: rows from the input planes */
    int nseg = j->flat || j->pimg ? 1 : qv_segments(q, p0, tl, segs);
    if (j->flat) segs[0] = (qv_seg){0, (int32_t)tl, 0, 0, (int32_t)p0};
    memset(sx, 0, sizeof(int32_t) * QV_W);
    int32_t *sxp = j->wz_any ? sx : NULL; /* the sums are needed for a nonzero wzq only */
    int64_t isp = q->in[0] * q->in[1] * q->in[2], tap[3] = {0, 0, 0}; /* rows: (c, a, b, e) */
    const uint8_t *xc = (const uint8_t *)j->a->x->data + (n * q->C + g * q->Cg) * isp;
    uint8_t cidx[64];
    int64_t vs = p0; /* the block's first virtual position */
    if (j->compact) qv_compact_idx(j, p0, tl, cidx, &vs);
    const uint8_t *img = panel; /* what the tiles read */
    const int64_t *off = NULL;
    if (j->direct) { /* the quad image itself: group kq's dwords at off[kq] from img */
        img = j->pimg + 4 * vs, off = j->qoff;
        for (int64_t kq = 0; left && kq < Kq; kq++)
            for (int64_t l = 0; l < left; l++)
                memcpy(col + l * j->Kp + 4 * kq, img + off[kq] + 4 * (tm + l), 4);
    } else if (j->pimg && j->quad) { /* quad order from the plain padded image */
        static const uint8_t zero[QV_W];
        const uint8_t *r[4];
        for (int64_t kq = 0, ph; kq < Kq; kq++) {
            int64_t t = kq % j->taps, pos = qv_tap(j, t / q->k[2], t % q->k[2], &ph) + vs;
            for (int i = 0; i < 4; i++) {
                int64_t c = 4 * (kq / j->taps) + i;
                r[i] = c >= q->C ? zero : j->pimg + (c * j->nph + ph) * j->plane + pos;
                if (j->compact && r[i] != zero)
                    r[i] = qv_compact_row(r[i], cidx, rows + i * QV_W);
            }
            qv_interleave4(r[0], r[1], r[2], r[3], W, panel + kq * W * 4, sxp);
            qv_left_cols(r, kq, tm, left, j->Kp, col);
        }
    } else if (j->pimg) { /* rows straight from the padded image */
        static const uint8_t zero[QV_W];
        const uint8_t *pc = j->pimg + g * q->Cg * j->nph * j->plane + vs, *r[4];
        int s2 = q->s[1] == 2;
        for (int64_t kq = 0; kq < Kq; kq++) {
            for (int i = 0; i < 4; i++) {
                int64_t a = tap[1], e = tap[2];
                r[i] = 4 * kq + i >= j->K ? zero
                       : !s2 ? pc + a * q->d[1] * j->Wp + e * q->d[2]
                             : pc + ((a & 1) * j->ph2 + (e & 1)) * j->plane + (a >> 1) * j->Wp +
                                   (e >> 1);
                if (4 * kq + i < j->K && ++tap[2] == q->k[2] && (tap[2] = 0, ++tap[1] == q->k[1]))
                    tap[1] = 0, pc += j->nph * j->plane;
                if (j->compact && r[i] != zero)
                    r[i] = qv_compact_row(r[i], cidx, rows + i * QV_W);
            }
            qv_interleave4(r[0], r[1], r[2], r[3], W, panel + kq * W * 4, sxp);
            qv_left_cols(r, kq, tm, left, j->Kp, col);
        }
    }
    direct = direct || (j->flat && !j->flip && left > 0); /* reads stay within [p0, p0 + tl) */
    if (!j->pimg && direct) {
        static const uint8_t zero[QV_W];
        const uint8_t *r[4];
        for (int64_t kq = 0; kq < Kq; kq++) {
            for (int i = 0; i < 4; i++)
                r[i] = 4 * kq + i < j->K ? xc + (4 * kq + i) * isp + p0 : zero;
            qv_interleave4(r[0], r[1], r[2], r[3], W, panel + kq * W * 4, sxp);
            qv_left_cols(r, kq, tm, left, j->Kp, col);
        }
    }
    for (int64_t kq = 0; !j->pimg && !direct && kq < Kq; kq++) {
        for (int64_t i = 0; i < 4; i++) {
            int64_t c = 4 * (kq / j->taps) + i, t = kq % j->taps; /* quad order */
            if (j->quad ? c >= q->C : 4 * kq + i >= j->K) {
                memset(rows + i * QV_W, 0, QV_W);
                continue;
            }
            if (j->quad) {
                int64_t tq[3] = {0, t / q->k[2], t % q->k[2]};
                qv_row(j, xc + c * isp, tq, segs, nseg, rows + i * QV_W);
                continue;
            }
            qv_row(j, xc, tap, segs, nseg, rows + i * QV_W);
            if (++tap[2] == q->k[2] && (tap[2] = 0, ++tap[1] == q->k[1]) &&
                (tap[1] = 0, ++tap[0] == q->k[0]))
                tap[0] = 0, xc += isp;
        }
        qv_interleave(rows, W, panel + kq * W * 4, sxp);
        const uint8_t *r[4] = {rows, rows + QV_W, rows + 2 * QV_W, rows + 3 * QV_W};
        qv_left_cols(r, kq, tm, left, j->Kp, col);
    }
    static const qv_tile_fn tiles[2][3][4] = {
        {{qv_tile1_2, qv_tile2_2, qv_tile3_2, qv_tile4_2},
         {qv_tile1_4, qv_tile2_4, qv_tile3_4, qv_tile4_4},
         {qv_tile1_6, qv_tile2_6, qv_tile3_6, qv_tile4_6}},
        {{qv_tdir1_2, qv_tdir2_2, qv_tdir3_2, qv_tdir4_2},
         {qv_tdir1_4, qv_tdir2_4, qv_tdir3_4, qv_tdir4_4},
         {qv_tdir1_6, qv_tdir2_6, qv_tdir3_6, qv_tdir4_6}}};
    int64_t mlo = g * q->Mg + mch * j->mc, mhi = mlo + j->mc;
    if (mhi > (g + 1) * q->Mg) mhi = (g + 1) * q->Mg;
    for (int64_t m0 = mlo; nv > 0 && m0 < mhi; m0 += QV_MR) {
        int64_t nm = mhi - m0 < QV_MR ? mhi - m0 : QV_MR;
        const int8_t *w[QV_MR];
        for (int64_t i = 0; i < QV_MR; i++) /* past the chunk: channel m0 again, dropped */
            w[i] = j->codes + (m0 + (i < nm ? i : 0)) * j->Kp;
        tiles[j->direct][(nm - 1) / 2][nv - 1](img, off, Kq, w, acc);
        qv_store(j, n, m0, nm, p0, tm, W, acc, sx);
    }
    if (left) qv_left(j, n, mlo, mhi, p0, tm, left, col);
}

/* ---- small maps: output channels in the lanes ----
 * qv_small convs (a quad image whose virtual positions would waste lanes: 7x7, 14x14 maps) swap
 * the tile's roles: lanes are 16 output channels (codes packed per block of 64 channels as
 * [Kp/4][64][4]), the broadcast dword is one output position's 4 codes of k group kq, read from
 * the quad image at off[kq] + 4 v (v its virtual position): tiles of 6 positions x 64 channels,
 * every lane a real output. The quad image is built in thread 0's scratch; with nonzero weight
 * zero points the position sums come from the same image (vpdpbusd with ones per virtual
 * position; channels past C hold 0 there, so the sums are over x itself). */

#define QT_ROW(i)                                                                              \
    do {                                                                                       \
        int32_t xd;                                                                            \
        memcpy(&xd, x##i + o, 4);                                                              \
        __m512i b = _mm512_set1_epi32(xd);                                                     \
        c##i##0 = _mm512_dpbusd_epi32(c##i##0, b, v0);                                         \
        if (NV > 1) c##i##1 = _mm512_dpbusd_epi32(c##i##1, b, v1);                             \
        if (NV > 2) c##i##2 = _mm512_dpbusd_epi32(c##i##2, b, v2);                             \
        if (NV > 3) c##i##3 = _mm512_dpbusd_epi32(c##i##3, b, v3);                             \
    } while (0)
#define QT_OUT(i)                                                                              \
    do {                                                                                       \
        int32_t *d = acc + i * 64;                                                             \
        _mm512_storeu_si512(d, c##i##0);                                                       \
        if (NV > 1) _mm512_storeu_si512(d + 16, c##i##1);                                      \
        if (NV > 2) _mm512_storeu_si512(d + 32, c##i##2);                                      \
        if (NV > 3) _mm512_storeu_si512(d + 48, c##i##3);                                      \
    } while (0)

// acc (MP, 64) int32 = sum over kq of the dword at xp[i] + off[kq] (u8) . the NV*16 channels'
// dwords at wb + 256 kq (s8)
QV_TGT static inline __attribute__((always_inline)) void
qv_ttile(const uint8_t *const *xp, const int64_t *off, int64_t Kq, const int8_t *wb, int32_t *acc,
         const int NV, const int MP)
{
    const __m512i z = _mm512_setzero_si512();
    const uint8_t *x0 = xp[0], *x1 = xp[1], *x2 = xp[2], *x3 = xp[3], *x4 = xp[4], *x5 = xp[5];
    QV_ZERO(0); QV_ZERO(1); QV_ZERO(2); QV_ZERO(3); QV_ZERO(4); QV_ZERO(5);
    for (int64_t kq = 0; kq < Kq; kq++) {
        const int8_t *wk = wb + kq * 256;
        int64_t o = off[kq];
        __m512i v0 = _mm512_loadu_si512(wk), v1 = z, v2 = z, v3 = z;
        if (NV > 1) v1 = _mm512_loadu_si512(wk + 64);
        if (NV > 2) v2 = _mm512_loadu_si512(wk + 128);
        if (NV > 3) v3 = _mm512_loadu_si512(wk + 192);
        QT_ROW(0); QT_ROW(1);
        if (MP > 2) { QT_ROW(2); QT_ROW(3); }
        if (MP > 4) { QT_ROW(4); QT_ROW(5); }
    }
    QT_OUT(0); QT_OUT(1);
    if (MP > 2) { QT_OUT(2); QT_OUT(3); }
    if (MP > 4) { QT_OUT(4); QT_OUT(5); }
}

#define QT_KERNEL(NV, MP)                                                                      \
    QV_TGT static void qv_tt##NV##_##MP(const uint8_t *const *xp, const int64_t *off,           \
                                        int64_t Kq, const int8_t *wb, int32_t *acc)            \
    {                                                                                         \
        qv_ttile(xp, off, Kq, wb, acc, NV, MP);                                               \
    }
QT_KERNEL(1, 6) QT_KERNEL(2, 6) QT_KERNEL(3, 6) QT_KERNEL(4, 6)
QT_KERNEL(1, 4) QT_KERNEL(2, 4) QT_KERNEL(3, 4) QT_KERNEL(4, 4)
QT_KERNEL(1, 2) QT_KERNEL(2, 2) QT_KERNEL(3, 2) QT_KERNEL(4, 2)

typedef void (*qv_tt_fn)(const uint8_t *const *, const int64_t *, int64_t, const int8_t *,
                         int32_t *);

// sxv[v] (v < V rounded up to 16) = the sum of the codes of virtual position v's column: per
// k group the 16 positions' dwords times 4 ones
QV_TGT static void qv_small_sums(const qv_job *j, int32_t *sxv)
{
    const __m512i ones = _mm512_set1_epi32(0x01010101);
    for (int64_t v = 0; v < j->V; v += 16) {
        __m512i c = _mm512_setzero_si512();
        for (int64_t kq = 0; kq < j->Kp / 4; kq++)
            c = _mm512_dpbusd_epi32(c, _mm512_loadu_si512(j->pimg + j->qoff[kq] + 4 * v), ones);
        _mm512_storeu_si512(sxv + v, c);
    }
}

// output position p of image n, channels [m0, m0 + nm) (nm <= 64) from d (nm int32 sums):
// qv_left's formula, 16 channels at a time
static void qv_small_store(const qv_job *j, int64_t n, int64_t m0, int64_t nm, int64_t p,
                           const int32_t *d)
{
    const afk_qconv_args *a = j->a;
    uint32_t sx = j->wz_any ? (uint32_t)j->sxv[j->vidx[p]] : 0u;
    int64_t at = (n * j->q->M + m0) * j->osp + p;
    int32_t lo = 0, hi = 0;
    if (a->ys) qrange(a->y->dtype, &lo, &hi);
    for (int64_t g = 0; g < nm; g += 16) {
        int64_t cnt = nm - g < 16 ? nm - g : 16, m = m0 + g;
        if (j->vec_all) {
            uint8_t b[16];
            qv_requant_ch(d + g, j->wzq + m, j->c0 + m, j->sc + m, sx, j->yzp, lo, hi, cnt, b);
            for (int64_t i = 0; i < cnt; i++) ((uint8_t *)a->y->data)[at + (g + i) * j->osp] = b[i];
            continue;
        }
        for (int64_t i = 0; i < cnt; i++) {
            int32_t y = (int32_t)((uint32_t)d[g + i] - j->wzq[m + i] * sx + j->c0[m + i]);
            store_q(a->y, at + (g + i) * j->osp,
                    a->ys ? requant(y, j->sc[m + i], j->yzp, a->y->dtype) : y);
        }
    }
}

// task t: channel block t / ps (64 channels), its part t % ps of image pn's positions (runs of
// 6 positions), each tile's outputs stored at once
static void qv_small_task(void *arg, int64_t t, int tid)
{
    const qv_job *j = arg;
    static const qv_tt_fn tt[3][4] = {{qv_tt1_2, qv_tt2_2, qv_tt3_2, qv_tt4_2},
                                      {qv_tt1_4, qv_tt2_4, qv_tt3_4, qv_tt4_4},
                                      {qv_tt1_6, qv_tt2_6, qv_tt3_6, qv_tt4_6}};
    int64_t Kq = j->Kp / 4, mb = t / j->ps, m0 = mb * 64;
    int64_t nm = j->q->M - m0 < 64 ? j->q->M - m0 : 64, nv = (nm + 15) / 16;
    int64_t pa = t % j->ps * j->pchunk, pe = pa + j->pchunk < j->osp ? pa + j->pchunk : j->osp;
    int32_t *acc = (int32_t *)(void *)(j->scratch + (size_t)tid * j->slice);
    const int8_t *wb = j->codes + mb * Kq * 256;
    for (int64_t p0 = pa; p0 < pe; p0 += QV_MR) {
        int64_t np = pe - p0 < QV_MR ? pe - p0 : QV_MR;
        const uint8_t *xp[QV_MR];
        for (int64_t i = 0; i < QV_MR; i++) /* past the run: its last position again, dropped */
            xp[i] = j->pimg + 4 * (int64_t)j->vidx[p0 + (i < np ? i : np - 1)];
        tt[(np - 1) / 2][nv - 1](xp, j->qoff, Kq, wb, acc);
        for (int64_t i = 0; i < np; i++) qv_small_store(j, j->pn, m0, nm, p0 + i, acc + i * 64);
    }
}

/* The qv_small conv: in thread 0's scratch from byte at on (past qv_chan's constants) the k
 * group offsets, the quad image, each output's virtual position, the sums; then per image the
 * quad image (tasks per quad), its sums when needed, the tiles (tasks per channel block and,
 * when there are fewer blocks than 4 per thread, per part of the positions). */
static void qv_small_run(qv_job *j, const af_kctx *ctx, size_t on)
{
    const qconv *q = j->q;
    int64_t osp, V, img = qv_small_img(q, &osp, &V), ow = q->out[2];
    j->plane = qv_padded(q, &j->Hp, &j->Wp), j->nph = qv_phases(q, &j->ph2), j->V = V;
    int64_t *off = (int64_t *)(void *)(j->scratch + on);
    uint8_t *at = (uint8_t *)(off + j->Kp / 4);
    j->pimg = (uint8_t *)(((uintptr_t)at + 63) & ~(uintptr_t)63);
    int32_t *vidx = (int32_t *)(void *)(((uintptr_t)(j->pimg + img) + 63) & ~(uintptr_t)63);
    int32_t *sxv = (int32_t *)(void *)(((uintptr_t)(vidx + osp) + 63) & ~(uintptr_t)63);
    qv_quad_offsets(j, off);
    for (int64_t p = 0; p < osp; p++) vidx[p] = (int32_t)(p / ow * j->Wp + p % ow);
    j->qoff = off, j->vidx = vidx, j->sxv = sxv;
    j->vec_all = j->a->ys != NULL;
    for (int64_t m = 0; m < q->M; m++) j->vec_all &= isfinite(j->sc[m]);
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    int64_t mbs = (q->M + 63) / 64, runs = (osp + QV_MR - 1) / QV_MR;
    j->ps = mbs >= 4 * nt ? 1 : (4 * nt + mbs - 1) / mbs;
    j->ps = j->ps > runs ? runs : j->ps;
    j->pchunk = (runs + j->ps - 1) / j->ps * QV_MR;
    j->ps = (osp + j->pchunk - 1) / j->pchunk;
    afk_qconv_vnni_small_runs++;
    for (j->pn = 0; j->pn < q->N; j->pn++) {
        afk_parallel(ctx, j->Kp / (4 * j->taps), qv_pad4_task, j);
        if (j->wz_any) qv_small_sums(j, sxv);
        afk_parallel(ctx, mbs * j->ps, qv_small_task, j);
    }
}

/* ---- one output position: a matrix-vector product ----
 * 1x1 convs of 1x1 maps (squeeze-excitation blocks): the im2col column is the image's Cg codes
 * of the group, so each output channel is one dot product of its codes row with that column
 * (64 k per vpdpbusd, then a lane sum): the tile's 16-lane vectors would carry one position. */

// channels [t mc, (t+1) mc) of image n = t / chunks: the column (uint8 codes, zeros to Kp),
// its sum, each channel's dot product, then qv_store's formula (scalar requant)
QV_TGT static void qv_mv_task(void *arg, int64_t t, int tid)
{
    const qv_job *j = arg;
    const qconv *q = j->q;
    const afk_qconv_args *a = j->a;
    int64_t per = (q->M + j->mc - 1) / j->mc, n = t / per, m0 = t % per * j->mc;
    uint8_t *col = j->scratch + (size_t)tid * j->slice;
    int64_t g = -1;
    uint32_t sx = 0;
    for (int64_t m = m0; m < m0 + j->mc && m < q->M; m++) {
        if (m / q->Mg != g) { /* the group's column */
            g = m / q->Mg, sx = 0;
            const uint8_t *x = (const uint8_t *)a->x->data + n * q->C + g * q->Cg;
            for (int64_t k = 0; k < j->Kp; k++) {
                col[k] = k < j->K ? x[k] ^ j->flip : 0;
                sx += col[k];
            }
        }
        int32_t v = (int32_t)((uint32_t)qv_dot(col, j->codes + m * j->Kp, j->Kp) -
                              j->wzq[m] * sx + j->c0[m]);
        store_q(a->y, n * q->M + m, a->ys ? requant(v, j->sc[m], j->yzp, a->y->dtype) : v);
    }
}


#endif

int afk_qconv_vnni_run(const qconv *q, const void *packed, const afk_qconv_args *a,
                       const af_kctx *ctx)
{
#ifdef QV_X86
    const qv_pack *h = packed;
    if (!h || h->magic != QV_MAGIC || h->M != q->M || h->K != kcount(q) || !ctx->scratch ||
        (a->x->dtype != AF_DTYPE_U8 && a->x->dtype != AF_DTYPE_I8) || !afk_q8_available() ||
        !__builtin_cpu_supports("avx512vl"))
        return 0;
    if (q->out[0] * q->out[1] * q->out[2] > INT32_MAX ||
        q->in[0] * q->in[1] * q->in[2] > INT32_MAX)
        return 0; /* positions and segment coordinates are int32 */
    int nt = ctx->n_threads > 0 ? ctx->n_threads : 1;
    size_t slice = ctx->pool ? ctx->scratch_bytes / (size_t)nt : ctx->scratch_bytes;
    if (slice < afk_qconv_vnni_scratch(q)) return 0;
    int x8 = a->x->dtype == AF_DTYPE_I8;
    qv_job j = {.q = q, .a = a, .codes = (const int8_t *)packed + codes_off(), .K = h->K,
                .Kp = h->Kp, .osp = q->out[0] * q->out[1] * q->out[2],
                .xzu = zp_at(a->xz, 0) + (x8 ? 128 : 0), .yzp = a->ys ? zp_at(a->yz, 0) : 0,
                .wshift = h->wu8 ? 128 : 0, .flip = x8 ? 0x80 : 0,
                .scratch = ctx->scratch, .slice = slice};
    j.sumw = (const int32_t *)(const void *)((const uint8_t *)packed +
                                              sums_off(h->M, h->Kp, (int)h->small));
    j.vbmi = __builtin_cpu_supports("avx512vbmi");
    j.dw8 = j.vbmi && !afk_qconv_vnni_no_dw8;
    if (qv_is_dw(q)) { /* (no wz_any: a scan of every channel's zero point, unused there) */
        afk_qv_dw_run(&j, ctx);
        return 1;
    }
    for (int64_t m = 0; m < q->M && !j.wz_any; m++) j.wz_any = zp_at(a->wz, m) != j.wshift;
    size_t cb = (qv_work_bytes(q) + 63) & ~(size_t)63; /* thread 0's slice past its work */
    qv_chan(&j, j.scratch + cb);
    if (h->small) {
        j.quad = 1, j.taps = q->k[0] * q->k[1] * q->k[2];
        qv_small_run(&j, ctx, (cb + (size_t)(12 * q->M) + 63) & ~(size_t)63);
        return 1;
    }
    int one = 1; /* 1x1 kernel, no padding, one input and one output position */
    for (int i = 0; i < 3; i++)
        one &= q->k[i] == 1 && q->pb[i] == 0 && q->in[i] == 1 && q->out[i] == 1;
    if (one) {
        j.mc = 64;
        afk_parallel(ctx, q->N * ((q->M + j.mc - 1) / j.mc), qv_mv_task, &j);
        return 1;
    }
    j.nblk = (j.osp + QV_W - 1) / QV_W;
    j.flat = 1;
    for (int i = 0; i < 3; i++)
        j.flat &= q->k[i] == 1 && q->s[i] == 1 && q->pb[i] == 0 && q->out[i] == q->in[i];
    j.plane = qv_padded(q, &j.Hp, &j.Wp);
    j.nph = qv_phases(q, &j.ph2);
    j.quad = (int)h->quad, j.taps = q->k[0] * q->k[1] * q->k[2];
    int padded = j.plane && h->shared && ctx->shared && ctx->shared_bytes >= (size_t)h->shared &&
                 (size_t)h->shared >= (size_t)(j.plane * j.nph * q->C);
    if (padded) {
        j.V = (q->out[1] - 1) * j.Wp + q->out[2];
        j.nblk = (j.V + QV_W - 1) / QV_W;
        /* the tiles read the quad image when no position sums are needed; else the virtual
         * columns cost lanes: small maps, wide kernels (7x7: 61 positions for 49, 1x7 on
         * 17x17: 385 for 289) gather compact positions when those need 1/8 fewer (measured,
         * 3x3 on 7x7 and 14x14 maps: the quad image's virtual lanes still take 3-10 % less
         * time than compact panels) */
        j.direct = j.quad && !j.wz_any &&
                   (size_t)h->shared >= (size_t)(h->Kp / j.taps * j.nph * j.plane + 256);
        j.compact = !j.direct && qv_lanes(j.V) * 8 > qv_lanes(j.osp) * 9 && j.vbmi &&
                    qv_compact_ok(q, j.Wp);
        if (j.compact) j.nblk = (j.osp + QV_W - 1) / QV_W;
    }
    /* channel chunks only when too few position blocks to share among the threads */
    int64_t chunks = 1, units = (padded ? 1 : q->N) * q->G * j.nblk;
    while (nt > 1 && units * chunks < 4 * nt && q->Mg / (chunks * 2) >= 4 * QV_MR) chunks *= 2;
    j.mc = (q->Mg + chunks - 1) / chunks;
    j.mc = (j.mc + QV_MR - 1) / QV_MR * QV_MR;
    j.mchunks = (q->Mg + j.mc - 1) / j.mc;
    if (!padded) {
        afk_parallel(ctx, units * j.mchunks, qv_task, &j);
        return 1;
    }
    j.pimg = ctx->shared;
    if (j.direct) {
        size_t ob = (cb + (size_t)(12 * q->M) + 63) & ~(size_t)63; /* past qv_chan's */
        int64_t *o = (int64_t *)(void *)(j.scratch + ob);
        qv_quad_offsets(&j, o);
        j.qoff = o;
        afk_qconv_vnni_direct_runs++;
    }
    for (j.pn = 0; j.pn < q->N; j.pn++) { /* per image: its padded copy, then its outputs */
        if (j.direct) afk_parallel(ctx, h->Kp / (4 * j.taps), qv_pad4_task, &j);
        else afk_parallel(ctx, q->C, q->s[1] == 2 ? qv_pad2_task : qv_pad_task, &j);
        afk_parallel(ctx, units * j.mchunks, qv_task, &j);
    }
    return 1;
#else
    (void)q, (void)packed, (void)a, (void)ctx;
    return 0;
#endif
}

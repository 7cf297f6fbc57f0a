/* runtime/kernels/pool_q8.c — 2-D max pooling of uint8 / int8 codes (no dilation, no
 * Indices): what a quantized model's DequantizeLinear → MaxPool → QuantizeLinear becomes when
 * both ends share scale and zero point (lowering/fuse_qdq.c), as in ONNX Runtime.
 *
 * Per output row: the vertical max of its window's rows inside the map (a row of codes), then
 * per output column the max of its window's columns. int8 codes are flipped to uint8 order
 * (^ 0x80) on the way in and back on the way out; the row buffer's pad columns hold code 0, the
 * smallest, and every window holds at least one input (checked), so the pads never change a
 * max. A max is exact: every path gives the same bytes. AVX-512BW loops where the CPU has them
 * (stride 1: one load per window column per 64 outputs; stride 2: 16-bit lanes, the low byte of
 * each, per 32 outputs), plain loops otherwise. */
#include <string.h>

#include "internal.h"
#include "pool_fast.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PQ_X86 1
#define PQ_TGT __attribute__((target("avx512f,avx512bw,avx512vl")))
#endif

enum { PQ_ROW = 4096, PQ_SLACK = 192, PQ_KW = 16 }; /* widest padded row, bytes read past it,
                                                     widest window in one register */

typedef struct pq_job {
    const uint8_t *x;
    uint8_t *y;
    int64_t in[2], out[2], k[2], s[2], pb[2], cpt, nc;
    uint8_t flip;
    int v512, narrow; /* AVX-512BW loops; rows of at most 64 codes in one register (VBMI) */
    uint8_t idx[PQ_KW][64];  /* narrow: lane o of window column b reads code idx[b][o]... */
    uint64_t use[PQ_KW];     /* ...when bit o of use[b] is set (else the pad, code 0) */
} pq_job;

// row (pb + W) u8: row[pb + i] = max over rows r of x[r][i] ^ flip (row[0..pb) untouched)
static void pq_rows(const pq_job *j, const uint8_t *x, int64_t r0, int64_t r1, uint8_t *row)
{
    int64_t W = j->in[1];
    uint8_t *d = row + j->pb[1], f = j->flip;
    for (int64_t i = 0; i < W; i++) d[i] = x[r0 * W + i] ^ f;
    for (int64_t r = r0 + 1; r < r1; r++)
        for (int64_t i = 0; i < W; i++) {
            uint8_t v = x[r * W + i] ^ f;
            d[i] = v > d[i] ? v : d[i];
        }
}

// y (OW) = max over b < k of row[ow * s + b], ^ flip
static void pq_cols(const pq_job *j, const uint8_t *row, uint8_t *y)
{
    for (int64_t o = 0; o < j->out[1]; o++) {
        const uint8_t *p = row + o * j->s[1];
        uint8_t m = p[0];
        for (int64_t b = 1; b < j->k[1]; b++) m = p[b] > m ? p[b] : m;
        y[o] = m ^ j->flip;
    }
}

#ifdef PQ_X86
static __mmask64 pq_mask(int64_t n) { return n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1; }

PQ_TGT static void pq_rows512(const pq_job *j, const uint8_t *x, int64_t r0, int64_t r1,
                              uint8_t *row)
{
    int64_t W = j->in[1];
    const __m512i fl = _mm512_set1_epi8((char)j->flip);
    uint8_t *d = row + j->pb[1];
    for (int64_t i = 0; i < W; i += 64) {
        __mmask64 k = pq_mask(W - i);
        __m512i m = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + r0 * W + i), fl);
        for (int64_t r = r0 + 1; r < r1; r++)
            m = _mm512_max_epu8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + r * W + i), fl));
        _mm512_mask_storeu_epi8(d + i, k, m);
    }
}

/* stride 1 or 2 (the caller checks); reads up to row[2 OW + k + 64) */
PQ_TGT static void pq_cols512(const pq_job *j, const uint8_t *row, uint8_t *y)
{
    int64_t OW = j->out[1], K = j->k[1];
    const __m512i fl = _mm512_set1_epi8((char)j->flip), lo8 = _mm512_set1_epi16(0xff);
    if (j->s[1] == 1) {
        for (int64_t o = 0; o < OW; o += 64) {
            __m512i m = _mm512_loadu_si512(row + o);
            for (int64_t b = 1; b < K; b++) m = _mm512_max_epu8(m, _mm512_loadu_si512(row + o + b));
            _mm512_mask_storeu_epi8(y + o, pq_mask(OW - o), _mm512_xor_si512(m, fl));
        }
        return;
    }
    for (int64_t o = 0; o < OW; o += 32) { /* 16-bit lane i: row[2 (o + i) + b] in its low byte */
        __m512i m = _mm512_and_si512(_mm512_loadu_si512(row + 2 * o), lo8);
        for (int64_t b = 1; b < K; b++)
            m = _mm512_max_epu16(m, _mm512_and_si512(_mm512_loadu_si512(row + 2 * o + b), lo8));
        __m256i v = _mm256_xor_si256(_mm512_cvtepi16_epi8(m), _mm512_castsi512_si256(fl));
        _mm256_mask_storeu_epi8(y + o, (__mmask32)pq_mask(OW - o), v);
    }
}
#endif

#ifdef PQ_X86
/* One output row from rows [r0, r1) of at most 64 codes, all in registers: the vertical max,
 * then per window column one byte permutation (the pads zeroed by its mask) and a max. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
pq_row_narrow(const pq_job *j, const uint8_t *x, int64_t r0, int64_t r1, uint8_t *y)
{
    int64_t W = j->in[1];
    const __m512i fl = _mm512_set1_epi8((char)j->flip);
    __mmask64 k = pq_mask(W);
    __m512i m = _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + r0 * W), fl);
    for (int64_t r = r0 + 1; r < r1; r++)
        m = _mm512_max_epu8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(k, x + r * W), fl));
    __m512i o = _mm512_setzero_si512();
    for (int64_t b = 0; b < j->k[1]; b++)
        o = _mm512_max_epu8(o, _mm512_maskz_permutexvar_epi8(
                                   j->use[b], _mm512_loadu_si512(j->idx[b]), m));
    _mm512_mask_storeu_epi8(y, pq_mask(j->out[1]), _mm512_xor_si512(o, fl));
}
#endif

// channels [t cpt, (t+1) cpt): x (H, W) -> y (OH, OW) each
static void pq_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const pq_job *j = arg;
    uint8_t row[PQ_ROW + PQ_SLACK];
    memset(row, 0, sizeof row); /* the pad columns: code 0 */
    for (int64_t c = t * j->cpt; c < (t + 1) * j->cpt && c < j->nc; c++) {
        const uint8_t *x = j->x + c * j->in[0] * j->in[1];
        uint8_t *y = j->y + c * j->out[0] * j->out[1];
        for (int64_t oh = 0; oh < j->out[0]; oh++, y += j->out[1]) {
            int64_t r0 = oh * j->s[0] - j->pb[0], r1 = r0 + j->k[0];
            r0 = r0 < 0 ? 0 : r0, r1 = r1 > j->in[0] ? j->in[0] : r1;
#ifdef PQ_X86
            if (j->narrow) {
                pq_row_narrow(j, x, r0, r1, y);
                continue;
            }
            if (j->v512) {
                pq_rows512(j, x, r0, r1, row);
                pq_cols512(j, row, y);
                continue;
            }
#endif
            pq_rows(j, x, r0, r1, row);
            pq_cols(j, row, y);
        }
    }
}

/* Every window along an axis holds an input: the first does not end in the begin pad, the last
 * does not start past the input. */
static int pq_axis_ok(int64_t in, int64_t out, int64_t k, int64_t s, int64_t pb)
{
    return out >= 1 && in >= 1 && pb < k && (out - 1) * s - pb < in;
}

int afk_maxpool_q8(const void *x, void *y, int i8, int64_t nc, const int64_t in[2],
                   const int64_t out[2], const int64_t k[2], const int64_t s[2],
                   const int64_t pb[2], const af_kctx *ctx)
{
    pq_job j = {.x = x, .y = y, .nc = nc, .flip = i8 ? 0x80 : 0};
    for (int i = 0; i < 2; i++) {
        if (!pq_axis_ok(in[i], out[i], k[i], s[i], pb[i])) return 0;
        j.in[i] = in[i], j.out[i] = out[i], j.k[i] = k[i], j.s[i] = s[i], j.pb[i] = pb[i];
    }
    /* the row buffer: pb + W codes, the windows' reach, the vector loops' over-read */
    int64_t reach = (out[1] - 1) * s[1] + k[1];
    if (pb[1] + in[1] > PQ_ROW || reach > PQ_ROW || 2 * out[1] + k[1] > PQ_ROW) return 0;
#ifdef PQ_X86
    j.v512 = !afk_vec_force_portable && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && s[1] <= 2;
    j.narrow = !afk_vec_force_portable && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vbmi") && in[1] <= 64 && out[1] <= 64 &&
               k[1] <= PQ_KW;
    for (int64_t b = 0; j.narrow && b < k[1]; b++) {
        j.use[b] = 0;
        for (int64_t o = 0; o < 64; o++) {
            int64_t i = o * s[1] + b - pb[1]; /* the input column lane o reads */
            j.idx[b][o] = (uint8_t)(i >= 0 && i < in[1] ? i : 0);
            if (o < out[1] && i >= 0 && i < in[1]) j.use[b] |= (uint64_t)1 << o;
        }
    }
#endif
    int64_t osp = out[0] * out[1], c = 4096 / (osp > 0 ? osp : 1);
    j.cpt = c < 1 ? 1 : c > 64 ? 64 : c;
    afk_parallel(ctx, (nc + j.cpt - 1) / j.cpt, pq_task, &j);
    return 1;
}

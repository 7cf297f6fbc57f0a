/* runtime/kernels/qgemv_vnni.c — rows of an integer MatMul against a constant B on
 * AVX512-VNNI (QLinearMatMul / MatMulInteger: batch-1 classifiers, 1000 x 2048 int8).
 *
 *   acc[n] = sum_k (a[k] - azp) * B[k, n]   (wrapping 32-bit, the reference's acc)
 *
 * The reference adds one row of B per k (a multiply and a load-add-store of every acc per k).
 * Here B is packed once per session, 4 k's per 32-bit lane (vpdpbusd's operand), as signed
 * codes b' (uint8 B: b' = b - 128), in groups of 8 x 16 columns:
 *   codes [group][k/4][8 blocks][16 columns][4 k's], zeros past K and N; colsum[n] = sum_k b'.
 * A row's codes become unsigned (int8 A: ua = a + 128) and every 4 of them one broadcast, so
 * D[n] = sum_k ua * b' is one vpdpbusd per 64 products, 8 independent accumulators per group.
 * With a = ua - ca and b = b' + cb (ca, cb: 0 or 128):
 *   sum_k (a - azp) b = D + cb * sum_k ua - (ca + azp) * (colsum[n] + cb * K)
 * All of it modulo 2^32, so acc is the reference's to the bit (integer sums in any order).
 */
#include "qgemv.h"

#include <string.h>

enum { QG_MAGIC = 0x51474d56, GB = 8, GCOLS = 16 * GB };

typedef struct qg_head {
    uint32_t magic, wu8;   /* wu8: B was uint8 (codes are b - 128) */
    int64_t K, N, Kq, NG;  /* k quads, column groups */
    int64_t pad[3];        /* the header is 64 bytes: the codes stay aligned */
} qg_head;

static size_t sums_bytes(int64_t NG) { return (size_t)(NG * GCOLS * 4 + 63) / 64 * 64; }

size_t afk_qgemv_pack_bytes(const af_tview *b)
{
    if (b->rank != 2 || (b->dtype != AF_DTYPE_I8 && b->dtype != AF_DTYPE_U8) || b->dims[0] < 1 ||
        b->dims[1] < 1 || b->dims[0] > ((int64_t)1 << 24) || b->dims[1] > ((int64_t)1 << 24))
        return 0;
    const int64_t Kq = (b->dims[0] + 3) / 4, NG = (b->dims[1] + GCOLS - 1) / GCOLS;
    return sizeof(qg_head) + sums_bytes(NG) + (size_t)(NG * Kq * GB * 64);
}

void afk_qgemv_pack(const af_tview *b, void *dst)
{
    const size_t bytes = afk_qgemv_pack_bytes(b);
    if (!bytes) return;
    memset(dst, 0, bytes);
    qg_head *h = dst;
    const int64_t K = b->dims[0], N = b->dims[1];
    *h = (qg_head){QG_MAGIC, b->dtype == AF_DTYPE_U8, K, N, (K + 3) / 4,
                   (N + GCOLS - 1) / GCOLS, {0}};
    int32_t *sums = (int32_t *)(h + 1);
    int8_t *codes = (int8_t *)sums + sums_bytes(h->NG);
    const uint8_t *src = b->data;
    for (int64_t k = 0; k < K; k++)
        for (int64_t n = 0; n < N; n++) {
            const int8_t c = (int8_t)(h->wu8 ? src[k * N + n] - 128 : (int8_t)src[k * N + n]);
            const int64_t g = n / GCOLS, blk = n % GCOLS / 16, col = n % 16;
            codes[(((g * h->Kq + k / 4) * GB + blk) * 16 + col) * 4 + k % 4] = c;
            sums[n] += c;
        }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QG_TGT __attribute__((target("avx512f,avx512bw,avx512vnni")))

int afk_qgemv_available(void)
{
    static int have = -1; /* a benign race: every thread computes the same value */
    if (have < 0)
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vnni");
    return have;
}

typedef struct qg_job {
    const qg_head *h;
    const uint32_t *ua4; /* the row's unsigned codes, 4 per lane, zeros past K */
    uint32_t *acc;
    uint32_t add, mul;   /* acc = D + add - mul * (colsum + cb * K) */
} qg_job;

/* One group: 128 columns, D over every k quad, then the corrections. */
QG_TGT static void group(void *arg, int64_t g, int tid)
{
    (void)tid;
    const qg_job *j = arg;
    const qg_head *h = j->h;
    const int32_t *sums = (const int32_t *)(h + 1) + g * GCOLS;
    const int8_t *c = (const int8_t *)(h + 1) + sums_bytes(h->NG) + g * h->Kq * GB * 64;
    __m512i d[GB];
    for (int b = 0; b < GB; b++) d[b] = _mm512_setzero_si512();
    for (int64_t q = 0; q < h->Kq; q++, c += GB * 64) {
#pragma GCC unroll 8
        for (int b = 0; b < GB; b++) /* 4 steps ahead: the stream crosses pages */
            _mm_prefetch((const char *)c + 4 * GB * 64 + b * 64, _MM_HINT_T0);
        const __m512i a = _mm512_set1_epi32((int)j->ua4[q]);
#pragma GCC unroll 8
        for (int b = 0; b < GB; b++)
            d[b] = _mm512_dpbusd_epi32(d[b], a, _mm512_load_si512((const void *)(c + b * 64)));
    }
    const int64_t n0 = g * GCOLS, left = h->N - n0;
    const __m512i add = _mm512_set1_epi32((int)j->add), mul = _mm512_set1_epi32((int)j->mul);
    const __m512i cbk = _mm512_set1_epi32(h->wu8 ? (int)(uint32_t)(128u * (uint64_t)h->K) : 0);
    for (int b = 0; b < GB && b * 16 < left; b++) {
        const __mmask16 m = left - b * 16 >= 16 ? 0xffff : (__mmask16)((1u << (left - b * 16)) - 1);
        const __m512i s = _mm512_add_epi32(_mm512_load_si512((const void *)(sums + b * 16)), cbk);
        const __m512i v = _mm512_sub_epi32(_mm512_add_epi32(d[b], add), _mm512_mullo_epi32(mul, s));
        _mm512_mask_storeu_epi32(j->acc + n0 + b * 16, m, v);
    }
}

int afk_qgemv_row(const void *packed, const uint8_t *a, int a_signed, int32_t azp,
                  uint32_t *acc, uint32_t *ua4, const af_kctx *ctx, uint32_t *sa)
{
    const qg_head *h = packed;
    if (!h || h->magic != QG_MAGIC || !afk_qgemv_available()) return 0;
    const uint8_t flip = a_signed ? 0x80 : 0;
    uint32_t sum_ua = 0;
    memset(ua4, 0, (size_t)h->Kq * 4);
    uint8_t *u = (uint8_t *)ua4;
    for (int64_t k = 0; k < h->K; k++) u[k] = a[k] ^ flip, sum_ua += u[k];
    const uint32_t ca = a_signed ? 128u : 0u, cb = h->wu8 ? 128u : 0u;
    qg_job j = {h, ua4, acc, cb * sum_ua, ca + (uint32_t)azp};
    afk_parallel(ctx, h->NG, group, &j);
    *sa = sum_ua - (ca + (uint32_t)azp) * (uint32_t)h->K;
    return 1;
}
#else
int afk_qgemv_available(void) { return 0; }

int afk_qgemv_row(const void *packed, const uint8_t *a, int a_signed, int32_t azp,
                  uint32_t *acc, uint32_t *ua4, const af_kctx *ctx, uint32_t *sa)
{
    (void)packed, (void)a, (void)a_signed, (void)azp, (void)acc, (void)ua4, (void)ctx, (void)sa;
    return 0;
}
#endif

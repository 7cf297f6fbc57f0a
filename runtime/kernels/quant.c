/* runtime/kernels/quant.c — reference kernels of the quantized-graph ops:
 * QUANTIZE / DEQUANTIZE (per-tensor, per-axis, blocked: runtime/qparam.h), DYN_QUANTIZE,
 * CONV_INTEGER / QLINEAR_CONV, MATMUL_INTEGER / QLINEAR_MATMUL (with lowering's optional int32
 * bias) and QLINEAR_GLOBAL_AVGPOOL (lowering/fuse_qdq.c).
 *
 * Integer products are summed exactly in 64 bits and stored as int32 (wrapping like ONNX
 * Runtime's 32-bit accumulators, which only matters past 2^31). Requantization follows ONNX
 * Runtime: scale = (x_scale * w_scale) / y_scale in f32, v = (float)acc * scale, clamped to
 * [qmin - y_zp, qmax - y_zp], rounded half to even, plus y_zp.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../qparam.h"
#include "internal.h"
#include "qconv.h"
#include "qgemv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define AFK_QMAC_AVX2 1
#endif

static int is_q8(af_dtype d) { return d == AF_DTYPE_I8 || d == AF_DTYPE_U8; }

static const af_tview *opt(const af_tview *in, int n_in, int k)
{
    return k < n_in && !afk_omitted(&in[k]) ? &in[k] : NULL;
}

/* ---- per-tensor loops on AVX-512 ------------------------------------------------------------ */

/* The loops below are the scalar formulas of qparam.h and afk_qlinear_binary_run lane for
 * lane: the same IEEE operations in the same order (divide, multiply, fused multiply-adds),
 * cvtdq2ps as the exact int -> float conversion, max / min as the clamps (NaN lanes are sent
 * to the zero point explicitly), cvtps2dq under the default rounding as rintf (half to even),
 * and its 0x80000000 for NaN / out-of-range as sat_q's "lo". Values stored are in the type's
 * range, so their low byte is the code. */
#ifdef AFK_QMAC_AVX2
#define QTGT512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,avx2")))

static int q512(void)
{
    static int have = -1; /* a benign race: every thread computes the same value */
    if (have < 0)
        have = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl");
    return have;
}

/* The sum of x[0 .. n/64*64) ^ flip as uint8 codes: vpsadbw against 0 (8 sums of 8 bytes). */
QTGT512 static uint32_t sum512(const uint8_t *x, int64_t n, uint8_t flip)
{
    const __m512i z = _mm512_setzero_si512(), f = _mm512_set1_epi8((char)flip);
    __m512i acc = z;
    for (int64_t i = 0; i + 64 <= n; i += 64)
        acc = _mm512_add_epi64(acc,
                               _mm512_sad_epu8(_mm512_xor_si512(_mm512_loadu_si512(x + i), f), z));
    return (uint32_t)_mm512_reduce_add_epi64(acc);
}

static inline __mmask16 qtail(int64_t left)
{
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

/* y[0..15] (lanes of k) = the low bytes of q: vpmovdb to a register, then a byte-masked store
 * (vpmovdb's own masked store to memory is slow on Zen 4). */
QTGT512 static inline void qstore16(uint8_t *y, __mmask16 k, __m512i q)
{
    _mm_mask_storeu_epi8(y, k, _mm512_cvtepi32_epi8(q));
}

/* 16 int8 / uint8 codes from p (masked) as int32. */
QTGT512 static inline __m512i qload16(const void *p, __mmask16 k, int sgn)
{
    __m128i b = _mm512_castsi512_si128(_mm512_maskz_loadu_epi8((__mmask64)k, p));
    return sgn ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
}

// y (n) q8 = saturate(rint(x / s) + zp), NaN -> zp (af_quantize_one)
QTGT512 static void quant512(const float *x, float s, int32_t zp, int32_t lo, int32_t hi,
                             int64_t n, uint8_t *y)
{
    const __m512 vs = _mm512_set1_ps(s), flo = _mm512_set1_ps((float)(lo - zp));
    const __m512 fhi = _mm512_set1_ps((float)(hi - zp));
    const __m512i vz = _mm512_set1_epi32(zp);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = qtail(n - i);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(k, x + i), vs);
        __mmask16 nan = _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        v = _mm512_min_ps(_mm512_max_ps(v, flo), fhi);
        __m512i q = _mm512_mask_blend_epi32(nan, _mm512_add_epi32(_mm512_cvtps_epi32(v), vz), vz);
        qstore16(y + i, k, q);
    }
}

// y (n) f32 = (float)(q - zp) * s (af_dequantize_one)
QTGT512 static void dequant512(const void *q, int sgn, int32_t zp, float s, int64_t n, float *y)
{
    const __m512 vs = _mm512_set1_ps(s);
    const __m512i vz = _mm512_set1_epi32(zp);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = qtail(n - i);
        __m512i v = _mm512_sub_epi32(qload16((const uint8_t *)q + i, k, sgn), vz);
        _mm512_mask_storeu_ps(y + i, k, _mm512_mul_ps(_mm512_cvtepi32_ps(v), vs));
    }
}

// y (n) q8 = sat(rint(fma(a, ra, fma(b, rb, c0)))) (QLinearAdd, same shapes)
QTGT512 static void qadd512(const void *a, const void *b, int sgn, float ra, float rb, float c0,
                            int32_t lo, int32_t hi, int64_t n, uint8_t *y)
{
    const __m512 vra = _mm512_set1_ps(ra), vrb = _mm512_set1_ps(rb), vc = _mm512_set1_ps(c0);
    const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = qtail(n - i);
        __m512 fa = _mm512_cvtepi32_ps(qload16((const uint8_t *)a + i, k, sgn));
        __m512 fb = _mm512_cvtepi32_ps(qload16((const uint8_t *)b + i, k, sgn));
        __m512 v = _mm512_fmadd_ps(fa, vra, _mm512_fmadd_ps(fb, vrb, vc));
        __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), vlo), vhi);
        qstore16(y + i, k, q);
    }
}

// y (n) q8 = sat(rint((float)((a - azp)(b - bzp)) * rmul + yzp)) (QLinearMul); a and b step
// by 1 (da, db set) or stay on one code (broadcast)
QTGT512 static void qmul512(const uint8_t *a, int da, const uint8_t *b, int db, int sgn,
                            int32_t azp, int32_t bzp, float rmul, int32_t yzp, int32_t lo,
                            int32_t hi, int64_t n, uint8_t *y)
{
    const __m512 vr = _mm512_set1_ps(rmul), vy = _mm512_set1_ps((float)yzp);
    const __m512i vlo = _mm512_set1_epi32(lo), vhi = _mm512_set1_epi32(hi);
    const __m512i za = _mm512_set1_epi32(azp), zb = _mm512_set1_epi32(bzp);
    __m512i ca = _mm512_set1_epi32(sgn ? (int8_t)a[0] : a[0]);
    __m512i cb = _mm512_set1_epi32(sgn ? (int8_t)b[0] : b[0]);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = qtail(n - i);
        __m512i qa = da ? qload16(a + i, k, sgn) : ca, qb = db ? qload16(b + i, k, sgn) : cb;
        __m512i pr = _mm512_mullo_epi32(_mm512_sub_epi32(qa, za), _mm512_sub_epi32(qb, zb));
        __m512 v = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(pr), vr), vy);
        __m512i q = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(v), vlo), vhi);
        qstore16(y + i, k, q);
    }
}
#endif

/* ---- quantize / dequantize ------------------------------------------------------------------ */

/* The mode and geometry of node p's scale s for x; NULL when they fit, else what is wrong. */
static const char *qgeom_of(const af_quant_params *p, const af_tview *x, const af_tview *s,
                            const af_tview *z, af_qgeom *g)
{
    int64_t ns = af_tview_numel(s);
    af_qmode mode = p->block_size > 0 ? AF_QMODE_BLOCK
                    : ns == 1 && s->rank <= 1 ? AF_QMODE_TENSOR
                                              : AF_QMODE_AXIS;
    if (s->dtype != AF_DTYPE_F32) return "scale must be f32";
    if (mode != AF_QMODE_TENSOR && (p->axis < 0 || p->axis >= x->rank)) return "axis out of range";
    if (af_qgeom_init(g, mode, x->rank, x->dims, p->axis, p->block_size) != ns)
        return "scale count does not match the input and axis";
    if (z && af_tview_numel(z) != ns) return "zero point count differs from the scale count";
    return NULL;
}

af_status afk_quant_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_tview *z = opt(in, n_in, 2);
    af_qgeom g;
    const char *bad = qgeom_of(&p->quant, &in[0], &in[1], z, &g);
    if (!bad && !afk_same_shape(&in[0], &out[0])) bad = "output shape differs from the input";
    if (!bad && (in[0].dtype != AF_DTYPE_F32 || !is_q8(out[0].dtype)))
        bad = "wants f32 in, int8/uint8 out";
    if (!bad && z && z->dtype != out[0].dtype) bad = "zero point dtype differs from the output";
    return bad ? af_err_set(err, AF_ERR_SHAPE, "quantize: %s", bad) : AF_OK;
}

// x (outer, D, inner) f32 -> y = saturate(rint(x / s) + zp), s/zp per tensor, axis or block
af_status afk_quant_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx, (void)err;
    const af_tview *z = opt(in, n_in, 2);
    af_qgeom g;
    qgeom_of(&p->quant, &in[0], &in[1], z, &g);
    const float *x = in[0].data, *s = in[1].data;
    int32_t lo, hi;
    qrange(out[0].dtype, &lo, &hi);
#ifdef AFK_QMAC_AVX2
    if (g.mode == AF_QMODE_TENSOR && q512()) {
        quant512(x, s[0], zp_at(z, 0), lo, hi, af_tview_numel(&in[0]), out[0].data);
        return AF_OK;
    }
#endif
    int64_t e = 0;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t i = 0; i < g.d; i++)
            for (int64_t j = 0; j < g.inner; j++, e++) {
                int64_t k = af_qgeom_index(&g, o, i, j);
                int32_t q = af_quantize_one(x[e], s[k], zp_at(z, k), lo, hi);
                if (out[0].dtype == AF_DTYPE_I8) ((int8_t *)out[0].data)[e] = (int8_t)q;
                else ((uint8_t *)out[0].data)[e] = (uint8_t)q;
            }
    return AF_OK;
}

af_status afk_dequant_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_tview *z = opt(in, n_in, 2);
    af_qgeom g;
    const char *bad = qgeom_of(&p->quant, &in[0], &in[1], z, &g);
    if (!bad && !afk_same_shape(&in[0], &out[0])) bad = "output shape differs from the input";
    if (!bad && ((!is_q8(in[0].dtype) && in[0].dtype != AF_DTYPE_I32) ||
                 out[0].dtype != AF_DTYPE_F32))
        bad = "wants int8/uint8/int32 in, f32 out";
    if (!bad && z && z->dtype != in[0].dtype) bad = "zero point dtype differs from the input";
    return bad ? af_err_set(err, AF_ERR_SHAPE, "dequantize: %s", bad) : AF_OK;
}

// x (outer, D, inner) int -> y = (float)(x - zp) * s
af_status afk_dequant_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)ctx, (void)err;
    const af_tview *z = opt(in, n_in, 2);
    af_qgeom g;
    qgeom_of(&p->quant, &in[0], &in[1], z, &g);
    const float *s = in[1].data;
    float *y = out[0].data;
#ifdef AFK_QMAC_AVX2
    if (g.mode == AF_QMODE_TENSOR && is_q8(in[0].dtype) && q512()) {
        dequant512(in[0].data, in[0].dtype == AF_DTYPE_I8, zp_at(z, 0), s[0],
                   af_tview_numel(&in[0]), y);
        return AF_OK;
    }
#endif
    int64_t e = 0;
    for (int64_t o = 0; o < g.outer; o++)
        for (int64_t i = 0; i < g.d; i++)
            for (int64_t j = 0; j < g.inner; j++, e++) {
                int64_t k = af_qgeom_index(&g, o, i, j);
                y[e] = af_dequantize_one(qget(in[0].dtype, in[0].data, e), zp_at(z, k), s[k]);
            }
    return AF_OK;
}

af_status afk_dyn_quant_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_in, (void)n_out;
    if (in[0].dtype != AF_DTYPE_F32 || out[0].dtype != AF_DTYPE_U8 ||
        out[1].dtype != AF_DTYPE_F32 || out[2].dtype != AF_DTYPE_U8 ||
        !afk_same_shape(&in[0], &out[0]) || af_tview_numel(&out[1]) != 1 ||
        af_tview_numel(&out[2]) != 1)
        return af_err_set(err, AF_ERR_SHAPE, "dyn_quantize: wants f32 x -> u8 y (x's shape), "
                          "f32 scale, u8 zero point");
    return AF_OK;
}

// x f32 -> y u8, scale = (max(x,0) - min(x,0)) / 255 (1 when equal),
// zp = rint(clamp(0 - min / scale, 0, 255)), y = saturate(rint(x / scale) + zp)
af_status afk_dyn_quant_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)ctx, (void)err;
    const float *x = in[0].data;
    int64_t n = af_tview_numel(&in[0]);
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    float s = hi == lo ? 1.0f : (hi - lo) / 255.0f;
    float z0 = 0.0f - lo / s;
    if (z0 != z0) z0 = 0.0f; /* x holds -inf (scale inf): no undefined conversion */
    int32_t zp = (int32_t)rintf(z0 < 0.0f ? 0.0f : z0 > 255.0f ? 255.0f : z0);
    uint8_t *y = out[0].data;
    for (int64_t i = 0; i < n; i++) y[i] = (uint8_t)af_quantize_one(x[i], s, zp, 0, 255);
    *(float *)out[1].data = s;
    *(uint8_t *)out[2].data = (uint8_t)zp;
    return AF_OK;
}

/* ---- integer convolution -------------------------------------------------------------------- */

/* Every conv as 3-D: missing leading spatial dims have size 1. */
static void qconv_init(qconv *q, const af_conv_params *cp, const af_tview *x, const af_tview *w,
                       const af_tview *y)
{
    int off = 3 - cp->nsp;
    q->N = x->dims[0], q->C = x->dims[1], q->M = y->dims[1], q->G = cp->group;
    q->Cg = q->C / q->G, q->Mg = q->M / q->G;
    for (int i = 0; i < 3; i++) {
        int j = i - off;
        q->in[i] = j >= 0 ? x->dims[2 + j] : 1;
        q->out[i] = j >= 0 ? y->dims[2 + j] : 1;
        q->k[i] = j >= 0 ? w->dims[2 + j] : 1;
        q->s[i] = j >= 0 ? cp->stride[j] : 1;
        q->d[i] = j >= 0 ? cp->dilation[j] : 1;
        q->pb[i] = j >= 0 ? cp->pad_begin[j] : 0;
    }
}

static af_status qconv_check(const char *op, const af_conv_params *cp, const af_tview *x,
                             const af_tview *w, const af_tview *y, af_err *err)
{
    int r = cp->nsp + 2;
    if (cp->nsp < 1 || cp->nsp > 3 || x->rank != r || w->rank != r || y->rank != r)
        return af_err_set(err, AF_ERR_SHAPE, "%s: X, W and Y must have rank 3..5", op);
    if (!is_q8(x->dtype) || !is_q8(w->dtype))
        return af_err_set(err, AF_ERR_SHAPE, "%s: X and W must be int8/uint8", op);
    if (cp->group < 1 || x->dims[1] % cp->group || y->dims[1] % cp->group ||
        w->dims[0] != y->dims[1] || w->dims[1] * cp->group != x->dims[1] ||
        y->dims[0] != x->dims[0])
        return af_err_set(err, AF_ERR_SHAPE, "%s: X, W, Y channels and group disagree", op);
    for (int j = 0; j < cp->nsp; j++) {
        int64_t span = (int64_t)cp->dilation[j] * (w->dims[2 + j] - 1) + 1;
        int64_t padded = x->dims[2 + j] + cp->pad_begin[j] + cp->pad_end[j];
        if (cp->stride[j] < 1 || cp->dilation[j] < 1 || cp->pad_begin[j] < 0 ||
            cp->pad_end[j] < 0 || padded < span || y->dims[2 + j] != (padded - span) / cp->stride[j] + 1)
            return af_err_set(err, AF_ERR_SHAPE, "%s: bad geometry on spatial axis %d", op, j);
    }
    return AF_OK;
}

/* A zero point / scale of one value or one per output channel m. */
static int per_channel_ok(const af_tview *v, int64_t m)
{
    int64_t n = af_tview_numel(v);
    return v->rank <= 1 && (n == 1 || n == m);
}

/* Scratch of the integer conv: weights minus their zero point (M, Cg*K) int16, one tile of
 * the im2col of x minus its zero point (Cg*K, T) int16 (a size that stays in L2), and QMB x T
 * uint32 accumulators: QMB output channels per pass over the tile, each tile row read once
 * from L1 for all of them. */
enum { QCOL_BYTES = 256 << 10, QMB = 4 };

static int64_t qconv_tile(const qconv *q, int64_t rows)
{
    int64_t osp = q->out[0] * q->out[1] * q->out[2], t = QCOL_BYTES / 2 / (rows > 0 ? rows : 1);
    if (t < 16) t = 16;
    return t < osp ? t : osp;
}

static size_t qconv_scratch(const qconv *q)
{
    int64_t rows = q->Cg * q->k[0] * q->k[1] * q->k[2], t = qconv_tile(q, rows);
    return (size_t)(2 * q->M * rows + 2 * rows * t + 4 * QMB * t + 12 * t + 128);
}

// pos (3, T): the first input coordinate of output positions [p0, p0+T) on each axis
static void qconv_positions(const qconv *q, int64_t p0, int64_t T, int32_t *pos)
{
    int64_t o2 = p0 % q->out[2], o1 = p0 / q->out[2] % q->out[1];
    int64_t o0 = p0 / (q->out[2] * q->out[1]);
    for (int64_t t = 0; t < T; t++) {
        pos[t] = (int32_t)(o0 * q->s[0] - q->pb[0]);
        pos[T + t] = (int32_t)(o1 * q->s[1] - q->pb[1]);
        pos[2 * T + t] = (int32_t)(o2 * q->s[2] - q->pb[2]);
        if (++o2 == q->out[2] && (o2 = 0, ++o1 == q->out[1])) o1 = 0, o0++;
    }
}

// col (Cg*K, T) = x[n, group g] - xzp at the taps of output positions [p0, p0+T); 0 in padding
static void qconv_im2col(const qconv *q, const af_tview *x, int32_t xzp, int64_t n, int64_t g,
                         int64_t T, const int32_t *pos, int16_t *col)
{
    int64_t isp = q->in[0] * q->in[1] * q->in[2], r = 0;
    for (int64_t c = 0; c < q->Cg; c++) {
        int64_t xc = (n * q->C + g * q->Cg + c) * isp;
        for (int64_t a = 0; a < q->k[0]; a++)
            for (int64_t b = 0; b < q->k[1]; b++)
                for (int64_t e = 0; e < q->k[2]; e++, r++) {
                    int16_t *dst = col + r * T;
                    const uint8_t *xu = (const uint8_t *)x->data + xc;
                    const int8_t *xi = (const int8_t *)x->data + xc;
                    int u8 = x->dtype == AF_DTYPE_U8;
                    for (int64_t t = 0; t < T; t++) {
                        int64_t i0 = pos[t] + a * q->d[0], i1 = pos[T + t] + b * q->d[1];
                        int64_t i2 = pos[2 * T + t] + e * q->d[2];
                        int in = i0 >= 0 && i0 < q->in[0] && i1 >= 0 && i1 < q->in[1] &&
                                 i2 >= 0 && i2 < q->in[2];
                        int64_t o = (i0 * q->in[1] + i1) * q->in[2] + i2;
                        dst[t] = in ? (int16_t)((u8 ? xu[o] : xi[o]) - xzp) : 0;
                    }
                }
    }
}

/* acc (n) += w0 * c0 + w1 * c1 (two im2col rows): exact int32 products of int16 values below
 * 2^9, summed with wrapping adds (vpmaddwd's pair sums fit int32). */
static void qmac2_c(uint32_t *acc, const int16_t *c0, const int16_t *c1, int32_t w0, int32_t w1,
                    int64_t n)
{
    for (int64_t t = 0; t < n; t++) acc[t] += (uint32_t)(w0 * c0[t]) + (uint32_t)(w1 * c1[t]);
}

#ifdef AFK_QMAC_AVX2
__attribute__((target("avx2"))) static void qmac2_avx2(uint32_t *acc, const int16_t *c0,
                                                       const int16_t *c1, int32_t w0, int32_t w1,
                                                       int64_t n)
{
    __m256i wp = _mm256_set1_epi32((int32_t)((uint32_t)(uint16_t)w0 | (uint32_t)(uint16_t)w1 << 16));
    int64_t t = 0;
    for (; t + 16 <= n; t += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(c0 + t));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(c1 + t));
        __m256i lo = _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wp); /* t 0-3, 8-11 */
        __m256i hi = _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wp); /* t 4-7, 12-15 */
        __m256i *p = (__m256i *)(void *)(acc + t);
        _mm256_storeu_si256(p, _mm256_add_epi32(_mm256_loadu_si256(p),
                                                _mm256_permute2x128_si256(lo, hi, 0x20)));
        _mm256_storeu_si256(p + 1, _mm256_add_epi32(_mm256_loadu_si256(p + 1),
                                                    _mm256_permute2x128_si256(lo, hi, 0x31)));
    }
    qmac2_c(acc + t, c0 + t, c1 + t, w0, w1, n - t);
}
#endif

typedef void (*qmac2_fn)(uint32_t *, const int16_t *, const int16_t *, int32_t, int32_t, int64_t);

static qmac2_fn qmac2_pick(void)
{
#ifdef AFK_QMAC_AVX2
    if (__builtin_cpu_supports("avx2")) return qmac2_avx2;
#endif
    return qmac2_c;
}

/* Runs the conv; with ys (QLinearConv) requantizes acc + bias per channel, else stores acc.
 * Sums are exact in 32 bits for any real layer (|x - xzp|, |w - wzp| <= 255) and wrap like
 * ONNX Runtime's int32 accumulators past 2^31 (unsigned arithmetic: never undefined). */
static void qconv_run(const qconv *q, const af_tview *x, const af_tview *w, const af_tview *xz,
                      const af_tview *wz, const af_tview *b, const af_tview *xs,
                      const af_tview *ws, const af_tview *ys, const af_tview *yz, af_tview *y,
                      void *scratch)
{
    int32_t xzp = zp_at(xz, 0), yzp = ys ? zp_at(yz, 0) : 0;
    int64_t rows = q->Cg * q->k[0] * q->k[1] * q->k[2], T = qconv_tile(q, rows);
    int64_t osp = q->out[0] * q->out[1] * q->out[2];
    int16_t *wv = scratch, *col = wv + q->M * rows;
    uint32_t *acc = (uint32_t *)(void *)((uintptr_t)(col + rows * T + 16) & ~(uintptr_t)15);
    int32_t *pos = (int32_t *)(acc + QMB * T);
    qmac2_fn mac2 = qmac2_pick();
    for (int64_t m = 0; m < q->M; m++)
        for (int64_t r = 0; r < rows; r++)
            wv[m * rows + r] = (int16_t)(qget(w->dtype, w->data, m * rows + r) - zp_at(wz, m));
    for (int64_t n = 0; n < q->N; n++)
        for (int64_t g = 0; g < q->G; g++)
            for (int64_t p0 = 0; p0 < osp; p0 += T) {
                int64_t tl = osp - p0 < T ? osp - p0 : T;
                qconv_positions(q, p0, tl, pos);
                qconv_im2col(q, x, xzp, n, g, tl, pos, col);
                for (int64_t m0 = g * q->Mg; m0 < (g + 1) * q->Mg; m0 += QMB) {
                    int64_t nb = (g + 1) * q->Mg - m0 < QMB ? (g + 1) * q->Mg - m0 : QMB;
                    memset(acc, 0, (size_t)(nb * tl) * sizeof *acc);
                    for (int64_t r = 0; r < rows; r += 2) { /* rows in pairs: w1 = 0 past the end */
                        const int16_t *c0 = col + r * tl, *c1 = r + 1 < rows ? c0 + tl : c0;
                        for (int64_t j = 0; j < nb; j++) {
                            const int16_t *wm = wv + (m0 + j) * rows;
                            mac2(acc + j * tl, c0, c1, wm[r], r + 1 < rows ? wm[r + 1] : 0, tl);
                        }
                    }
                    for (int64_t j = 0; j < nb; j++) {
                        int64_t m = m0 + j, e = (n * q->M + m) * osp + p0;
                        uint32_t bias = b && b->data ? (uint32_t)((const int32_t *)b->data)[m] : 0;
                        float sc = ys ? out_scale(xs, ws, ys, m) : 0.0f;
                        for (int64_t t = 0; t < tl; t++) {
                            int32_t v = (int32_t)(acc[j * tl + t] + bias);
                            store_q(y, e + t, ys ? requant(v, sc, yzp, y->dtype) : v);
                        }
                    }
                }
            }
}

size_t afk_qconv_scratch(af_op op, const af_params *p, const af_tview *in, int n_in,
                         const af_tview *out)
{
    int wi = op == AF_OP_QLINEAR_CONV ? 3 : 1;
    if (n_in <= wi || p->conv.nsp < 1 || p->conv.nsp > 3 || p->conv.group < 1 ||
        in[0].rank != p->conv.nsp + 2 || in[wi].rank != p->conv.nsp + 2 ||
        out[0].rank != p->conv.nsp + 2)
        return 0;
    qconv q;
    qconv_init(&q, &p->conv, &in[0], &in[wi], &out[0]);
    size_t ref = qconv_scratch(&q), vnni = afk_qconv_vnni_pack_bytes(&q, in[wi].dtype) ?
                                                afk_qconv_vnni_scratch(&q) : 0;
    return ref > vnni ? ref : vnni;
}

/* The weight's input: 3 for QLINEAR_CONV (x, x_scale, x_zp, w, ...), 1 for CONV_INTEGER. */
static int qconv_wi(af_op op) { return op == AF_OP_QLINEAR_CONV ? 3 : 1; }

size_t afk_qconv_prepack_bytes(af_op op, const af_params *p, const af_tview *in, int n_in,
                               const af_tview *out)
{
    int wi = qconv_wi(op);
    if (n_in <= wi || !afk_qconv_scratch(op, p, in, n_in, out) || in[0].rank != in[wi].rank)
        return 0;
    qconv q;
    qconv_init(&q, &p->conv, &in[0], &in[wi], &out[0]);
    if (q.G < 1 || q.C != q.G * in[wi].dims[1] || q.M != in[wi].dims[0]) return 0;
    return afk_qconv_vnni_pack_bytes(&q, in[wi].dtype);
}

size_t afk_qconv_shared_bytes(const void *packed) { return afk_qconv_vnni_shared_bytes(packed); }

void afk_qconv_prepack(af_op op, const af_params *p, const af_tview *in, int n_in,
                       const af_tview *out, void *dst)
{
    int wi = qconv_wi(op);
    if (!afk_qconv_prepack_bytes(op, p, in, n_in, out)) return;
    qconv q;
    qconv_init(&q, &p->conv, &in[0], &in[wi], &out[0]);
    afk_qconv_vnni_pack(&q, &in[wi], dst);
}

af_status afk_conv_integer_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    af_status st = qconv_check("conv_integer", &p->conv, &in[0], &in[1], &out[0], err);
    if (st) return st;
    const af_tview *xz = opt(in, n_in, 2), *wz = opt(in, n_in, 3);
    if (out[0].dtype != AF_DTYPE_I32 || (xz && (af_tview_numel(xz) != 1 || xz->dtype != in[0].dtype)) ||
        (wz && (!per_channel_ok(wz, out[0].dims[1]) || wz->dtype != in[1].dtype)))
        return af_err_set(err, AF_ERR_SHAPE, "conv_integer: Y must be int32, zero points one "
                          "value (x) or one per output channel (w) of their data's dtype");
    return AF_OK;
}

// X (N,C,*) int8/uint8, W (M,C/g,*) -> Y (N,M,*) int32
af_status afk_conv_integer_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    qconv q;
    qconv_init(&q, &p->conv, &in[0], &in[1], &out[0]);
    afk_qconv_args a = {.x = &in[0], .xz = opt(in, n_in, 2), .wz = opt(in, n_in, 3), .y = &out[0]};
    if (ctx->packed && afk_qconv_vnni_run(&q, ctx->packed, &a, ctx)) return AF_OK;
    qconv_run(&q, &in[0], &in[1], opt(in, n_in, 2), opt(in, n_in, 3), NULL, NULL, NULL, NULL,
              NULL, &out[0], ctx->scratch);
    return AF_OK;
}

/* Scalar f32 scale / one-value zero point of dtype dt. */
static int scalar_ok(const af_tview *s, const af_tview *z, af_dtype dt)
{
    return s && s->dtype == AF_DTYPE_F32 && af_tview_numel(s) == 1 && s->rank <= 1 &&
           (!z || (af_tview_numel(z) == 1 && z->rank <= 1 && z->dtype == dt));
}

af_status afk_qlinear_conv_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    af_status st = qconv_check("qlinear_conv", &p->conv, &in[0], &in[3], &out[0], err);
    if (st) return st;
    int64_t m = out[0].dims[1];
    const af_tview *wz = opt(in, n_in, 5), *b = opt(in, n_in, 8);
    if (!is_q8(out[0].dtype) || !scalar_ok(&in[1], opt(in, n_in, 2), in[0].dtype) ||
        !scalar_ok(&in[6], opt(in, n_in, 7), out[0].dtype) || in[4].dtype != AF_DTYPE_F32 ||
        !per_channel_ok(&in[4], m) || (wz && (!per_channel_ok(wz, m) || wz->dtype != in[3].dtype)) ||
        (b && (b->dtype != AF_DTYPE_I32 || b->rank != 1 || b->dims[0] != m)))
        return af_err_set(err, AF_ERR_SHAPE, "qlinear_conv: scales, zero points or bias do not "
                          "fit X, W and Y");
    return AF_OK;
}

// X (N,C,*) q8, W (M,C/g,*) q8, B (M) i32 -> Y (N,M,*) q8 requantized per output channel
af_status afk_qlinear_conv_run(AFK_RUN_ARGS)
{
    (void)n_out, (void)err;
    qconv q;
    qconv_init(&q, &p->conv, &in[0], &in[3], &out[0]);
    afk_qconv_args a = {.x = &in[0], .xz = opt(in, n_in, 2), .wz = opt(in, n_in, 5),
                        .b = opt(in, n_in, 8), .xs = &in[1], .ws = &in[4], .ys = &in[6],
                        .yz = opt(in, n_in, 7), .y = &out[0]};
    if (ctx->packed && afk_qconv_vnni_run(&q, ctx->packed, &a, ctx)) return AF_OK;
    qconv_run(&q, &in[0], &in[3], opt(in, n_in, 2), opt(in, n_in, 5), opt(in, n_in, 8), &in[1],
              &in[4], &in[6], opt(in, n_in, 7), &out[0], ctx->scratch);
    return AF_OK;
}

/* ---- integer matmul ------------------------------------------------------------------------- */

static af_status qmm_check(const char *op, const af_tview *a, const af_tview *b,
                           const af_tview *y, af_err *err)
{
    int r = y->rank;
    if (!is_q8(a->dtype) || !is_q8(b->dtype) || a->rank < 2 || b->rank < 2 || r < 2 ||
        a->rank > r || b->rank > r || a->dims[a->rank - 1] != b->dims[b->rank - 2] ||
        y->dims[r - 2] != a->dims[a->rank - 2] || y->dims[r - 1] != b->dims[b->rank - 1])
        return af_err_set(err, AF_ERR_SHAPE, "%s: A (...,M,K), B (...,K,N) int8/uint8 and Y "
                          "(...,M,N) disagree", op);
    for (int k = 0; k < r - 2; k++) {
        int ka = k - (r - a->rank), kb = k - (r - b->rank);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if ((da != y->dims[k] && da != 1) || (db != y->dims[k] && db != 1))
            return af_err_set(err, AF_ERR_SHAPE, "%s: batch dims do not broadcast", op);
    }
    return AF_OK;
}

/* Offset in elements of batch index bi (of y's batch dims) into v (broadcast). */
static int64_t batch_off(const af_tview *v, const af_tview *y, int64_t bi)
{
    int r = y->rank, off = r - v->rank;
    int64_t o = 0, stride = v->dims[v->rank - 2] * v->dims[v->rank - 1];
    for (int k = r - 3; k >= 0; k--) {
        int64_t idx = bi % y->dims[k];
        bi /= y->dims[k];
        int kv = k - off;
        if (kv < 0) continue;
        if (v->dims[kv] != 1) o += idx * stride;
        stride *= v->dims[kv];
    }
    return o;
}

#ifdef AFK_QMAC_AVX2
// acc (N) += av * b (N) int8 / uint8, wrapping (the loop below, 16 lanes at a time)
QTGT512 static void axpy512(uint32_t *acc, int32_t av, const void *b, int sgn, int64_t N)
{
    const __m512i va = _mm512_set1_epi32(av);
    for (int64_t n = 0; n < N; n += 16) {
        __mmask16 k = qtail(N - n);
        __m512i v = _mm512_mullo_epi32(qload16((const uint8_t *)b + n, k, sgn), va);
        __m512i a = _mm512_maskz_loadu_epi32(k, acc + n);
        _mm512_mask_storeu_epi32(acc + n, k, _mm512_add_epi32(a, v));
    }
}
#endif

/* acc (N) += av * B row (N) of int8 or uint8: the vectorizable inner loop. */
static void axpy_q8(uint32_t *acc, int32_t av, const af_tview *b, int64_t off, int64_t N)
{
#ifdef AFK_QMAC_AVX2
    if (q512()) {
        axpy512(acc, av, (const uint8_t *)b->data + off, b->dtype == AF_DTYPE_I8, N);
        return;
    }
#endif
    if (b->dtype == AF_DTYPE_I8) {
        const int8_t *br = (const int8_t *)b->data + off;
        for (int64_t n = 0; n < N; n++) acc[n] += (uint32_t)(av * br[n]);
    } else {
        const uint8_t *br = (const uint8_t *)b->data + off;
        for (int64_t n = 0; n < N; n++) acc[n] += (uint32_t)(av * br[n]);
    }
}

// A (...,M,K), B (...,K,N) -> Y (...,M,N): acc = sum_k (a - azp[m]) (b - bzp[n])
//   = sum_k (a - azp) b - bzp[n] sum_k (a - azp), in wrapping 32-bit arithmetic (exact for any
// real size, ONNX Runtime's int32 wrap beyond); requantized per column n when ys is given.
// acc: scratch of N uint32.
// packed: B packed by afk_qgemv_pack (rows then run on VNNI, the same acc), or NULL.
static void qmm_run(const af_tview *a, const af_tview *b, const af_tview *az,
                    const af_tview *bz, const af_tview *as, const af_tview *bs,
                    const af_tview *ys, const af_tview *yz, const af_tview *bias, af_tview *y,
                    uint32_t *acc, const void *packed, const af_kctx *ctx)
{
    const int32_t *bv = bias ? bias->data : NULL;
    int r = y->rank;
    int64_t M = y->dims[r - 2], N = y->dims[r - 1], K = a->dims[a->rank - 1];
    int64_t batches = afk_prod(y, 0, r - 2), e = 0;
    int32_t yzp = ys ? zp_at(yz, 0) : 0;
    for (int64_t bi = 0; bi < batches; bi++) {
        int64_t ao = batch_off(a, y, bi), bo = batch_off(b, y, bi);
        for (int64_t m = 0; m < M; m++) {
            int32_t azp = zp_at(az, m);
            uint32_t sa = 0;
            if (!packed || !afk_qgemv_row(packed, (const uint8_t *)a->data + ao + m * K,
                                          a->dtype == AF_DTYPE_I8, azp, acc, acc + N, ctx,
                                          &sa)) {
                memset(acc, 0, (size_t)N * sizeof *acc);
                for (int64_t k = 0; k < K; k++) {
                    int32_t av = qget(a->dtype, a->data, ao + m * K + k) - azp;
                    sa += (uint32_t)av;
                    axpy_q8(acc, av, b, bo + k * N, N);
                }
            }
            for (int64_t n = 0; n < N; n++, e++) {
                int32_t v = (int32_t)(acc[n] - (uint32_t)zp_at(bz, n) * sa +
                                      (bv ? (uint32_t)bv[n] : 0u));
                store_q(y, e, ys ? requant(v, out_scale(as, bs, ys, n), yzp, y->dtype) : v);
            }
        }
    }
}

/* acc (N uint32), then the packed path's row codes (K rounded up to 4 bytes). */
size_t afk_qmm_scratch(const af_tview *a, const af_tview *out)
{
    if (out[0].rank < 2 || a->rank < 1) return 0;
    return (size_t)(4 * out[0].dims[out[0].rank - 1] + (a->dims[a->rank - 1] + 3) / 4 * 4 + 64);
}

/* QLINEAR_MATMUL's constant 2-D B (in[3]), packed for afk_qgemv_row (0 bytes: not packed). */
size_t afk_qmm_prepack_bytes(const af_tview *in, int n_in, const af_tview *out)
{
    if (n_in < 8 || in[0].rank < 2 || out[0].rank < 2 || !is_q8(in[0].dtype) ||
        !afk_qgemv_available())
        return 0;
    return afk_qgemv_pack_bytes(&in[3]);
}

void afk_qmm_prepack(const af_tview *in, int n_in, const af_tview *out, void *dst)
{
    if (afk_qmm_prepack_bytes(in, n_in, out)) afk_qgemv_pack(&in[3], dst);
}

af_status afk_matmul_integer_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_out;
    af_status st = qmm_check("matmul_integer", &in[0], &in[1], &out[0], err);
    if (st) return st;
    const af_tview *az = opt(in, n_in, 2), *bz = opt(in, n_in, 3);
    int r = out[0].rank;
    if (out[0].dtype != AF_DTYPE_I32 ||
        (az && (!per_channel_ok(az, out[0].dims[r - 2]) || az->dtype != in[0].dtype)) ||
        (bz && (!per_channel_ok(bz, out[0].dims[r - 1]) || bz->dtype != in[1].dtype)))
        return af_err_set(err, AF_ERR_SHAPE, "matmul_integer: Y must be int32, zero points one "
                          "value or one per row (a) / column (b) of their data's dtype");
    return AF_OK;
}

af_status afk_matmul_integer_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_out, (void)err;
    qmm_run(&in[0], &in[1], opt(in, n_in, 2), opt(in, n_in, 3), NULL, NULL, NULL, NULL, NULL,
            &out[0], ctx->scratch, NULL, ctx);
    return AF_OK;
}

af_status afk_qlinear_matmul_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_out;
    af_status st = qmm_check("qlinear_matmul", &in[0], &in[3], &out[0], err);
    if (st) return st;
    int64_t nn = out[0].dims[out[0].rank - 1];
    const af_tview *bz = opt(in, n_in, 5), *b = opt(in, n_in, 8);
    if (b && (b->dtype != AF_DTYPE_I32 || b->rank != 1 || b->dims[0] != nn))
        return af_err_set(err, AF_ERR_SHAPE, "qlinear_matmul: the bias must be int32 (N)");
    if (!is_q8(out[0].dtype) || n_in < 8 || !scalar_ok(&in[1], opt(in, n_in, 2), in[0].dtype) ||
        !scalar_ok(&in[6], opt(in, n_in, 7), out[0].dtype) || in[4].dtype != AF_DTYPE_F32 ||
        !per_channel_ok(&in[4], nn) || (bz && (!per_channel_ok(bz, nn) || bz->dtype != in[3].dtype)))
        return af_err_set(err, AF_ERR_SHAPE, "qlinear_matmul: scales or zero points do not fit "
                          "A, B and Y");
    return AF_OK;
}

af_status afk_qlinear_matmul_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_out, (void)err;
    qmm_run(&in[0], &in[3], opt(in, n_in, 2), opt(in, n_in, 5), &in[1], &in[4], &in[6],
            opt(in, n_in, 7), opt(in, n_in, 8), &out[0], ctx->scratch, ctx->packed, ctx);
    return AF_OK;
}

/* ---- QLinearAdd / QLinearMul ----------------------------------------------------------------- */

af_status afk_qlinear_binary_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_tview *a = &in[0], *b = &in[3], *y = &out[0];
    int ok = n_in == 8 && is_q8(y->dtype) && a->dtype == y->dtype && b->dtype == y->dtype &&
             a->rank <= y->rank && b->rank <= y->rank && scalar_ok(&in[1], &in[2], a->dtype) &&
             scalar_ok(&in[4], &in[5], b->dtype) && scalar_ok(&in[6], &in[7], y->dtype) &&
             (p->binary.fn == AF_BINARY_MUL ||
              (p->binary.fn == AF_BINARY_ADD && af_tview_numel(a) == af_tview_numel(y) &&
               af_tview_numel(b) == af_tview_numel(y)));
    for (int k = 0; ok && k < y->rank; k++) {
        int ka = k - (y->rank - a->rank), kb = k - (y->rank - b->rank);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        ok = (da == y->dims[k] || da == 1) && (db == y->dims[k] || db == 1);
    }
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "qlinear_binary: A, B (broadcast for mul, Y's shape "
                          "for add) and Y of one int8/uint8 type and scalar scales required");
    return AF_OK;
}

/* Element strides of v read at y's indices (0 along broadcast axes), in y's rank. */
static void bstrides(const af_tview *v, const af_tview *y, int64_t *st)
{
    int64_t s = 1;
    for (int k = y->rank - 1; k >= 0; k--) {
        int kv = k - (y->rank - v->rank);
        int64_t d = kv >= 0 ? v->dims[kv] : 1;
        st[k] = d == 1 ? 0 : s;
        s *= d;
    }
}

/* cvtps2dq then saturating packs: rint half to even; NaN and |v| >= 2^31 convert to INT_MIN,
 * which saturates to the type's minimum. */
static int32_t sat_q(float v, af_dtype t)
{
    int32_t lo, hi;
    qrange(t, &lo, &hi);
    if (!(v > -2147483648.0f && v < 2147483648.0f)) return lo;
    int64_t r = (int64_t)rintf(v);
    return r < lo ? lo : r > hi ? hi : (int32_t)r;
}

#ifdef AFK_QMAC_AVX2
/* QLinearMul by runs: the trailing axes along which each operand is contiguous or constant
 * (strides sa, sb from bstrides) form one run of L outputs, qmul512's; the axes before them
 * are walked as afk_qlinear_binary_run walks all of them. */
static void qmul_runs(const af_tview *a, const af_tview *b, const af_tview *y, const int64_t *sa,
                      const int64_t *sb, int32_t azp, int32_t bzp, float rmul, int32_t yzp)
{
    int r = y->rank, k = r - 2, da = sa[r - 1] == 1, db = sb[r - 1] == 1;
    int64_t L = y->dims[r - 1], n = af_tview_numel(y), idx[AF_MAX_RANK] = {0}, oa = 0, ob = 0;
    for (; k >= 0 && sa[k] == (da ? L : 0) && sb[k] == (db ? L : 0); k--) L *= y->dims[k];
    int32_t lo, hi;
    qrange(y->dtype, &lo, &hi);
    const uint8_t *pa = a->data, *pb = b->data;
    for (int64_t e = 0; e < n; e += L) {
        qmul512(pa + oa, da, pb + ob, db, y->dtype == AF_DTYPE_I8, azp, bzp, rmul, yzp, lo, hi,
                L, (uint8_t *)y->data + e);
        for (int j = k; j >= 0; j--) { /* next run: the index over axes 0..k */
            oa += sa[j], ob += sb[j];
            if (++idx[j] < y->dims[j]) break;
            oa -= sa[j] * y->dims[j], ob -= sb[j] * y->dims[j];
            idx[j] = 0;
        }
    }
}
#endif

// A, B (broadcast to Y) q8 -> Y q8. ONNX Runtime's x86 kernels, formula for formula:
//   add (AVX2, same shapes): ra = as / ys, rb = bs / ys, c0 = yzp - (ra * azp + rb * bzp),
//        y = rint(fma(a, ra, fma(b, rb, c0))) saturated (a, b the raw codes);
//   mul (SSE2): y = rint((float)((a - azp) * (b - bzp)) * ((as * bs) / ys) + yzp) saturated.
// Each f32 operation rounds once (no contraction in this file), half to even.
af_status afk_qlinear_binary_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_tview *a = &in[0], *b = &in[3], *y = &out[0];
    float as = *(const float *)in[1].data, bs = *(const float *)in[4].data;
    float ys = *(const float *)in[6].data;
    int32_t azp = zp_at(&in[2], 0), bzp = zp_at(&in[5], 0), yzp = zp_at(&in[7], 0);
    int64_t sa[AF_MAX_RANK], sb[AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, n = af_tview_numel(y);
    bstrides(a, y, sa);
    bstrides(b, y, sb);
    float ra = as / ys, rb = bs / ys, rmul = (as * bs) / ys;
    float ta = ra * (float)azp, tb = rb * (float)bzp, c0 = (float)yzp - (ta + tb);
#ifdef AFK_QMAC_AVX2
    if (p->binary.fn == AF_BINARY_ADD && q512()) { /* the add's shapes are Y's (checked) */
        int32_t lo, hi;
        qrange(y->dtype, &lo, &hi);
        qadd512(a->data, b->data, y->dtype == AF_DTYPE_I8, ra, rb, c0, lo, hi, n, y->data);
        return AF_OK;
    }
#endif
#ifdef AFK_QMAC_AVX2
    if (p->binary.fn == AF_BINARY_MUL && y->rank >= 1 && q512()) {
        qmul_runs(a, b, y, sa, sb, azp, bzp, rmul, yzp);
        return AF_OK;
    }
#endif
    int64_t oa = 0, ob = 0;
    for (int64_t e = 0; e < n; e++) {
        int32_t qa = qget(a->dtype, a->data, oa), qb = qget(b->dtype, b->data, ob);
        float v = p->binary.fn == AF_BINARY_ADD
                      ? fmaf((float)qa, ra, fmaf((float)qb, rb, c0))
                      : (float)((qa - azp) * (qb - bzp)) * rmul + (float)yzp;
        store_q(y, e, sat_q(v, y->dtype));
        for (int k = y->rank - 1; k >= 0; k--) { /* next index of y, offsets follow */
            oa += sa[k], ob += sb[k];
            if (++idx[k] < y->dims[k]) break;
            oa -= sa[k] * y->dims[k], ob -= sb[k] * y->dims[k];
            idx[k] = 0;
        }
    }
    return AF_OK;
}

/* ---- integer global average pool ------------------------------------------------------------ */

af_status afk_qlinear_gap_check(AFK_CHECK_ARGS)
{
    (void)p, (void)n_out;
    const af_tview *x = &in[0], *y = &out[0];
    int ok = n_in == 5 && is_q8(x->dtype) && is_q8(y->dtype) && x->rank >= 3 &&
             y->rank == x->rank && y->dims[0] == x->dims[0] && y->dims[1] == x->dims[1] &&
             afk_prod(y, 2, y->rank) == 1 && scalar_ok(&in[1], &in[2], x->dtype) &&
             scalar_ok(&in[3], &in[4], y->dtype);
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "qlinear_global_avgpool: X (N,C,*), Y (N,C,1,...) "
                          "int8/uint8 and scalar scales and zero points required");
    return AF_OK;
}

/* The sum of n uint8 codes (flip 0) or of the int8 codes ^ 0x80 (flip 0x80: each + 128). */
static uint32_t sum_codes(const uint8_t *x, int64_t n, uint8_t flip)
{
    uint32_t s = 0;
    int64_t i = 0;
#ifdef AFK_QMAC_AVX2
    if (q512() && !afk_vec_force_portable) {
        s = sum512(x, n, flip);
        i = n / 64 * 64;
    }
#endif
    for (; i < n; i++) s += (uint8_t)(x[i] ^ flip);
    return s;
}

typedef struct gap_job {
    const af_tview *x, *y;
    int64_t sp, cpt, nc;
    int32_t xzp, yzp;
    float scale;
} gap_job;

// channels [t cpt, (t+1) cpt): each an int32 sum, requantized
static void gap_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const gap_job *j = arg;
    uint8_t flip = j->x->dtype == AF_DTYPE_I8 ? 0x80 : 0;
    for (int64_t c = t * j->cpt; c < (t + 1) * j->cpt && c < j->nc; c++) {
        uint32_t s = sum_codes((const uint8_t *)j->x->data + c * j->sp, j->sp, flip);
        if (flip) s -= 128u * (uint32_t)j->sp; /* sum of the int8 values, mod 2^32 */
        uint32_t acc = (uint32_t)(-j->xzp) * (uint32_t)j->sp + s;
        store_q(j->y, c, requant((int32_t)acc, j->scale, j->yzp, j->y->dtype));
    }
}

// X (N,C,*) q8 -> Y (N,C,1,...) q8: acc = sum(x) - xzp * S in int32 (S = spatial size),
// requantized by xs / (ys * (float)S) in f32: ONNX Runtime's QLinearGlobalAveragePool. Channels
// in tasks of at least ~4096 codes; each channel's sum is exact (mod 2^32), so any order and
// thread count give the same bytes.
af_status afk_qlinear_gap_run(AFK_RUN_ARGS)
{
    (void)p, (void)n_in, (void)n_out, (void)err;
    const af_tview *x = &in[0];
    gap_job j = {.x = x, .y = &out[0], .nc = x->dims[0] * x->dims[1],
                 .sp = afk_prod(x, 2, x->rank), .xzp = zp_at(&in[2], 0), .yzp = zp_at(&in[4], 0)};
    float xs = *(const float *)in[1].data, ys = *(const float *)in[3].data;
    j.scale = xs / (ys * (float)j.sp);
    j.cpt = 4096 / (j.sp > 0 ? j.sp : 1);
    j.cpt = j.cpt < 1 ? 1 : j.cpt > 256 ? 256 : j.cpt;
    afk_parallel(ctx, (j.nc + j.cpt - 1) / j.cpt, gap_task, &j);
    return AF_OK;
}

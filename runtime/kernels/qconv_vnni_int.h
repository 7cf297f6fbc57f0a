/* runtime/kernels/qconv_vnni_int.h — what qconv_vnni.c (the integer conv on AVX512-VNNI) and
 * qconv_vnni_dw.c (its depthwise path) share, private to them: the x86 target attributes, the
 * depthwise shapes, the run's job and the depthwise entry points. */
#ifndef AF_RUNTIME_KERNELS_QCONV_VNNI_INT_H
#define AF_RUNTIME_KERNELS_QCONV_VNNI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "qconv.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define QV_X86 1
#define QV_TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))
#define QV_TGT_VBMI                                                                           \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi,avx2")))
#endif

/* Depthwise 2-D (one channel per group, 1-D and 3-D with leading extents 1 included), stride
 * 1 or 2, no dilation, kernel up to 7 x 7: qv_dw's shapes. */
static inline int qv_is_dw(const qconv *q)
{
    return q->Cg == 1 && q->Mg == 1 && q->in[0] == 1 && q->k[0] == 1 && q->out[0] == 1 &&
           q->s[1] >= 1 && q->s[1] <= 2 && q->s[2] >= 1 && q->s[2] <= 2 && q->d[1] == 1 &&
           q->d[2] == 1 && q->k[1] <= 7 && q->k[2] <= 7;
}

/* The depthwise path's scratch per thread (qconv_vnni_dw.c). */
size_t afk_qv_dw_scratch(const qconv *q);

#ifdef QV_X86

typedef struct qv_job {
    const qconv *q;
    const afk_qconv_args *a;
    const int8_t *codes;
    const int32_t *sumw;
    int64_t K, Kp, nblk, mchunks, mc, osp;
    int32_t xzu, yzp, wshift;
    uint8_t flip; /* 0x80: int8 activations to uint8 codes */
    int flat;     /* 1x1, stride 1, no padding: im2col row r is input plane r itself */
    int quad;     /* K in channel-quad order (qv_quad) */
    int direct;   /* the padded image is the quad image, read by the tiles themselves */
    int64_t taps; /* kernel taps per channel */
    const int64_t *qoff; /* direct: k group kq's byte offset in the quad image */
    const int32_t *vidx, *sxv; /* qv_small: each output's virtual position, the sums per one */
    int64_t ps, pchunk;        /* qv_small: parts of the positions per channel block, their size */
    int vec_all;               /* qv_small: requantized, every scale finite */
    int vbmi;     /* the CPU has AVX512-VBMI (stride-2 rows by vpermt2b) */
    int dw8;      /* ... and depthwise convs may take qv_dw8 */
    int dwl;      /* depthwise: 16 channels in the lanes (qv_dwl; maps up to 112 x 112) */
    int64_t wz_n, ws_n; /* qv_dwl: values of the weight zero point (0: none) and scale */
    int wz_any;   /* some channel's wzq is nonzero (the position sums sx are needed) */
    const uint32_t *c0, *wzq; /* per channel (qv_chan), or NULL */
    const float *sc;
    uint8_t *pimg; /* the padded image of image pn (qv_padded), or NULL */
    int64_t nph, ph2;               /* its phases per channel, along the last axis */
    int compact; /* positions are the outputs, gathered from the padded image (qv_compact) */
    int64_t pn, plane, Hp, Wp, V; /* its image, plane stride, rows, row length, positions */
    uint8_t *scratch;
    size_t slice;
} qv_job;

/* y[0..15] (lanes of k) = the low bytes of q: vpmovdb to a register, then a byte-masked store
 * (vpmovdb's own masked store to memory is slow on Zen 4). */
QV_TGT static inline void qstore16(uint8_t *y, __mmask16 k, __m512i q)
{
    _mm_mask_storeu_epi8(y, k, _mm512_cvtepi32_epi8(q));
}

/* The depthwise conv (qconv_vnni_dw.c): tasks of channels of one image on ctx's threads. */
void afk_qv_dw_run(qv_job *j, const af_kctx *ctx);

#endif

#endif

/* runtime/kernels/qconv.h — what the integer conv kernels share (quant.c's reference path and
 * qconv_vnni.c's AVX512-VNNI path): element access, zero points, ONNX Runtime's requantization,
 * and the conv geometry seen as 3-D. One copy of the requantization so both paths produce the
 * same bits. */
#ifndef AF_RUNTIME_KERNELS_QCONV_H
#define AF_RUNTIME_KERNELS_QCONV_H

#include <math.h>
#include <stdint.h>

#include "internal.h"

/* Element i of an int8 / uint8 / int32 buffer. */
static inline int32_t qget(af_dtype t, const void *d, int64_t i)
{
    switch (t) {
    case AF_DTYPE_I8: return ((const int8_t *)d)[i];
    case AF_DTYPE_U8: return ((const uint8_t *)d)[i];
    default: return ((const int32_t *)d)[i];
    }
}

static inline void qrange(af_dtype t, int32_t *lo, int32_t *hi)
{
    *lo = t == AF_DTYPE_I8 ? -128 : 0;
    *hi = t == AF_DTYPE_I8 ? 127 : 255;
}

/* Optional zero point: value j (or 0 when it is one value, 0 when absent). */
static inline int32_t zp_at(const af_tview *z, int64_t j)
{
    if (!z || afk_omitted(z) || !z->data) return 0;
    return qget(z->dtype, z->data, af_tview_numel(z) == 1 ? 0 : j);
}

/* y = saturate(rint((float)acc * scale) + zp) for output dtype t. */
static inline int32_t requant(int32_t acc, float scale, int32_t zp, af_dtype t)
{
    int32_t lo, hi;
    qrange(t, &lo, &hi);
    float v = (float)acc * scale;
    if (v != v) return zp; /* a NaN scale (run-time inputs): never an undefined conversion */
    float flo = (float)(lo - zp), fhi = (float)(hi - zp);
    v = v < flo ? flo : v > fhi ? fhi : v;
    return (int32_t)rintf(v) + zp;
}

static inline void store_q(const af_tview *y, int64_t e, int32_t v)
{
    if (y->dtype == AF_DTYPE_I8) ((int8_t *)y->data)[e] = (int8_t)v;
    else if (y->dtype == AF_DTYPE_U8) ((uint8_t *)y->data)[e] = (uint8_t)v;
    else ((int32_t *)y->data)[e] = v;
}

/* Output scale of channel c: (a_scale * b_scale[c]) / y_scale, in f32 as ONNX Runtime. */
static inline float out_scale(const af_tview *as, const af_tview *bs, const af_tview *ys,
                              int64_t c)
{
    const float *b = bs->data;
    float a = *(const float *)as->data, y = *(const float *)ys->data;
    float ab = a * b[af_tview_numel(bs) == 1 ? 0 : c];
    return ab / y;
}

/* Every integer conv as 3-D: missing leading spatial dims have size 1. */
typedef struct qconv {
    int64_t N, C, M, G, Cg, Mg;
    int64_t in[3], out[3], k[3], s[3], d[3], pb[3];
} qconv;

/* The tensors of one integer conv (ys NULL: CONV_INTEGER, int32 out; else requantized). */
typedef struct afk_qconv_args {
    const af_tview *x, *xz, *wz, *b, *xs, *ws, *ys, *yz;
    af_tview *y;
} afk_qconv_args;

/* The AVX512-VNNI path (qconv_vnni.c): the packed weight's bytes (0: this conv stays on the
 * reference path: no VNNI, depthwise or tiny groups, K > 65535), the packing, the per-thread
 * scratch, and the run from the packed weight (0: not run, e.g. too little scratch). */
size_t afk_qconv_vnni_pack_bytes(const qconv *q, af_dtype wdt);
void afk_qconv_vnni_pack(const qconv *q, const af_tview *w, void *dst);
size_t afk_qconv_vnni_scratch(const qconv *q);
/* Bytes of ctx->shared the run wants with this packed weight (a padded copy of one image for
 * stride-1 and stride-2 convs, channel-quad interleaved when the tiles read it directly;
 * without it they take the slower bounds-checked im2col). */
size_t afk_qconv_vnni_shared_bytes(const void *packed);
/* Tests: 1 = depthwise convs with int8 weights take the int16 path instead of qv_dw8. */
extern int afk_qconv_vnni_no_dw8;
/* Tests and bench: 1 = depthwise convs on small maps keep the per-channel loops instead of
 * 16 channels in the lanes (qconv_vnni_dw.c's qv_dwl). */
extern int afk_qconv_vnni_no_dwl;
/* Tests: runs whose tiles read the channel-quad image directly (no im2col panel), runs of the
 * small-map path (output channels in the lanes), and depthwise runs with channels in the
 * lanes. */
extern _Atomic long afk_qconv_vnni_direct_runs, afk_qconv_vnni_small_runs,
    afk_qconv_vnni_dwl_runs;
int afk_qconv_vnni_run(const qconv *q, const void *packed, const afk_qconv_args *a,
                       const af_kctx *ctx);

#endif

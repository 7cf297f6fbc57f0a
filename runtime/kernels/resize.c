/* runtime/kernels/resize.c — RESIZE: nearest (4 rounding modes, any dtype) and N-D linear
 * (f32) over every axis whose size or scale changes; every coordinate transform (for
 * tf_crop_and_resize, an element whose source coordinate on some axis falls outside the input
 * is extrapolation_value); cubic (f32, cubic_coeff_a, exclude_outside) over the same axes with
 * four taps per axis.
 *
 * Per output axis a table of taps (scratch) holds the two source offsets and the weight of the
 * second; each output element is then a sum over the 2^L corners of its L interpolated axes.
 * Built with -ffp-contract=off: every product and sum rounds as written, so the NEON rows
 * (resize_neon.c: nearest 2x, linear planes) give the same bits.
 */
#include "internal.h"
#include "neon.h"
#if defined(__x86_64__) || defined(__i386__)
#include "simd512.h"
#endif

#include <math.h>
#include <string.h>

typedef struct ctap { /* cubic: four source offsets and weights */
    int64_t o[4];
    float w[4];
    int32_t outside; /* tf_crop_and_resize: the source coordinate lies outside the input */
    int32_t pad_;
} ctap;

typedef afk_rtap tap; /* linear / nearest: two offsets and a weight (neon.h) */

static double eff_scale(const af_resize_params *rp, int i, int64_t in, int64_t out)
{
    if (rp->scale[i] > 0) return rp->scale[i];
    return in > 0 ? (double)out / (double)in : 1.0;
}

/* The resize's view of one axis: its index, and tf_crop_and_resize's roi (f32 [starts, ends]). */
typedef struct axis_ctx {
    int i, rank;
    const float *roi; /* NULL unless tf_crop_and_resize */
} axis_ctx;

/* Source coordinate of output coordinate x along an axis (ONNX coordinate_transformation_mode). */
static double src_coord(const af_resize_params *rp, const axis_ctx *a, double x, double s,
                        int64_t in, int64_t out)
{
    switch (rp->coord) {
    case AF_COORD_TF_CROP_AND_RESIZE: { /* the roi box, its corners on pixel centres */
        double b0 = a->roi[a->i], b1 = a->roi[a->rank + a->i], L = (double)(in - 1);
        return out > 1 ? b0 * L + x * (b1 - b0) * L / (double)(out - 1) : 0.5 * (b0 + b1) * L;
    }
    case AF_COORD_ASYMMETRIC: return x / s;
    case AF_COORD_ALIGN_CORNERS: { /* ONNX uses the unrounded output length in * scale */
        double o = (double)in * s;
        (void)out;
        return o > 1 ? x * (double)(in - 1) / (o - 1) : 0.0;
    }
    case AF_COORD_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5) / s - 0.5 : 0.0;
    case AF_COORD_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case AF_COORD_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / (s * (double)in), center = (double)in / 2.0;
        return center * (1.0 - adj) + (x + 0.5) / s - 0.5;
    }
    default: return (x + 0.5) / s - 0.5; /* HALF_PIXEL */
    }
}

/* A source coordinate brought into int64_t's range (a tiny finite scale makes it huge or
 * infinite; NaN becomes 0). Beyond 2^52 doubles are whole numbers, and such an index is clamped
 * to the edge anyway, so nothing in range changes. */
static double safe_coord(double c)
{
    return c > 0x1p52 ? 0x1p52 : c < -0x1p52 ? -0x1p52 : c == c ? c : 0.0;
}

static int64_t nearest_index(int mode, double x)
{
    x = safe_coord(x);
    switch (mode) {
    case AF_NEAREST_ROUND_PREFER_CEIL: return (int64_t)floor(x + 0.5);
    case AF_NEAREST_FLOOR: return (int64_t)floor(x);
    case AF_NEAREST_CEIL: return (int64_t)ceil(x);
    default: return (int64_t)ceil(x - 0.5); /* round_prefer_floor */
    }
}

static int64_t clamp_i(int64_t v, int64_t n) { return v < 0 ? 0 : v >= n ? n - 1 : v; }

/* tf_crop_and_resize extrapolates where the source coordinate leaves [0, in - 1]. */
static int is_outside(const af_resize_params *rp, double c, int64_t in)
{
    return rp->coord == AF_COORD_TF_CROP_AND_RESIZE && !(c >= 0 && c <= (double)(in - 1));
}

af_status afk_resize_check(AFK_CHECK_ARGS)
{
    (void)n_out;
    const af_resize_params *rp = &p->resize;
    int crop = rp->coord == AF_COORD_TF_CROP_AND_RESIZE;
    /* [X, -, -, sizes]: sizes read on every run (runtime/dynshape.c sets out and scale) */
    int sized = !crop && n_in == 4 && afk_omitted(&in[1]) && afk_omitted(&in[2]) &&
                !afk_omitted(&in[3]);
    if (n_in != 1 + crop && !sized)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "resize: %d inputs (resolved form has %d)",
                          n_in, 1 + crop);
    if (crop && (in[1].dtype != AF_DTYPE_F32 || afk_omitted(&in[1]) ||
                 af_tview_numel(&in[1]) != 2 * (int64_t)in[0].rank))
        return af_err_set(err, AF_ERR_SHAPE, "resize: roi must be f32 with 2 values per axis");
    if (rp->mode != AF_RESIZE_NEAREST && rp->mode != AF_RESIZE_LINEAR &&
        rp->mode != AF_RESIZE_CUBIC)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "resize: mode %d is not supported", rp->mode);
    if (rp->coord < AF_COORD_HALF_PIXEL || rp->coord > AF_COORD_HALF_PIXEL_SYMMETRIC)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "resize: coordinate mode %d is not supported",
                          rp->coord);
    if (rp->mode == AF_RESIZE_NEAREST &&
        (rp->nearest < AF_NEAREST_ROUND_PREFER_FLOOR || rp->nearest > AF_NEAREST_CEIL))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "resize: nearest mode %d", rp->nearest);
    if (out[0].rank != in[0].rank || out[0].dtype != in[0].dtype)
        return af_err_set(err, AF_ERR_SHAPE, "resize: output rank or dtype differs from input");
    if (rp->mode != AF_RESIZE_NEAREST) {
        af_status st = afk_need_dtype("resize linear/cubic", "X", &in[0], AF_DTYPE_F32, err);
        if (st) return st;
    }
    for (int i = 0; i < in[0].rank; i++) {
        double s = eff_scale(rp, i, in[0].dims[i], out[0].dims[i]);
        if (!isfinite(s) || s <= 0 || !isfinite(rp->scale[i]))
            return af_err_set(err, AF_ERR_SHAPE, "resize: bad scale on axis %d", i);
        if (in[0].dims[i] == 0 && out[0].dims[i] > 0)
            return af_err_set(err, AF_ERR_SHAPE, "resize: axis %d is empty", i);
    }
    return AF_OK;
}

size_t afk_resize_scratch(const af_params *p, const af_tview *in, const af_tview *out)
{
    (void)in;
    size_t n = 0;
    for (int i = 0; i < out[0].rank; i++) n += (size_t)out[0].dims[i];
    return n * (p->resize.mode == AF_RESIZE_CUBIC ? sizeof(ctap) : sizeof(tap));
}

/* Keys cubic convolution weights of the taps at floor(c)-1 .. floor(c)+2 for fraction t. */
static void cubic_weights(double A, double t, double *w)
{
    double u[4] = {t + 1, t, 1 - t, 2 - t};
    for (int k = 0; k < 4; k++) {
        double x = u[k];
        w[k] = x <= 1 ? ((A + 2) * x - (A + 3)) * x * x + 1
                      : ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
    }
}

/* Cubic taps of axis i; returns 1 if the axis resamples (size or scale changes). */
static int axis_ctaps(const af_resize_params *rp, const axis_ctx *a, int64_t in, int64_t out,
                      int64_t stride, ctap *t)
{
    double s = eff_scale(rp, a->i, in, out);
    for (int64_t x = 0; x < out; x++) {
        double c = src_coord(rp, a, (double)x, s, in, out), w[4], sum = 0;
        t[x].outside = is_outside(rp, c, in);
        if (t[x].outside) c = 0; /* as in axis_taps */
        c = safe_coord(c);
        int64_t x0 = (int64_t)floor(c);
        cubic_weights(rp->cubic_coeff_a, c - (double)x0, w);
        for (int k = 0; k < 4; k++) {
            int64_t j = x0 - 1 + k;
            if (rp->exclude_outside && (j < 0 || j >= in)) w[k] = 0;
            sum += w[k];
            t[x].o[k] = clamp_i(j, in) * stride;
        }
        for (int k = 0; k < 4; k++)
            t[x].w[k] = (float)(rp->exclude_outside && sum != 0 ? w[k] / sum : w[k]);
    }
    return in != out || s != 1.0;
}

// X (d..) -> Y (d'..): separable cubic over the resampled axes (4^L taps per element)
static void resize_cubic(const af_params *p, const af_tview *x, const float *roi, af_tview *y,
                         void *scratch)
{
    int r = x->rank, ax[AF_MAX_RANK], L = 0;
    int64_t st[AF_MAX_RANK], idx[AF_MAX_RANK] = {0}, total = af_tview_numel(y);
    afk_strides(x, st);
    ctap *taps[AF_MAX_RANK], *next = scratch;
    for (int i = 0; i < r; i++) {
        taps[i] = next;
        next += y->dims[i];
        axis_ctx a = {i, r, roi};
        if (axis_ctaps(&p->resize, &a, x->dims[i], y->dims[i], st[i], taps[i])) ax[L++] = i;
    }
    const float *xf = x->data;
    float *yf = y->data;
    int64_t combos = 1;
    for (int k = 0; k < L && combos < (1 << 16); k++) combos *= 4;
    int crop = p->resize.coord == AF_COORD_TF_CROP_AND_RESIZE;
    for (int64_t t = 0; t < total; t++) {
        int64_t base = 0;
        int outside = 0;
        for (int i = 0; i < r; i++) base += taps[i][idx[i]].o[1]; /* tap 1 = floor(c) */
        for (int i = 0; crop && i < r; i++) outside |= taps[i][idx[i]].outside;
        double acc = outside ? p->resize.extrapolation_value : 0;
        for (int64_t c = 0; c < combos && !outside; c++) {
            int64_t o = base, cc = c;
            double w = 1;
            for (int k = 0; k < L; k++, cc >>= 2) {
                const ctap *tp = &taps[ax[k]][idx[ax[k]]];
                o += tp->o[cc & 3] - tp->o[1];
                w *= tp->w[cc & 3];
            }
            acc += w * xf[o];
        }
        yf[t] = (float)acc;
        for (int d = r - 1; d >= 0 && ++idx[d] == y->dims[d]; d--) idx[d] = 0;
    }
}

/* Fills the taps of axis i; returns 1 if any tap has a non-zero weight (the axis interpolates). */
static int axis_taps(const af_resize_params *rp, const axis_ctx *a, int64_t in, int64_t out,
                     int64_t stride, tap *t)
{
    double s = eff_scale(rp, a->i, in, out);
    int lin = 0;
    for (int64_t x = 0; x < out; x++) {
        double c = src_coord(rp, a, (double)x, s, in, out);
        t[x].outside = is_outside(rp, c, in);
        if (t[x].outside) c = 0; /* the element is extrapolated; any in-range tap will do */
        if (rp->mode == AF_RESIZE_NEAREST) {
            t[x].o0 = t[x].o1 = clamp_i(nearest_index(rp->nearest, c), in) * stride;
            t[x].w = 0.0f;
            continue;
        }
        if (c < 0) c = 0;
        if (c > (double)(in - 1)) c = (double)(in - 1);
        int64_t x0 = (int64_t)floor(c);
        t[x].o0 = x0 * stride;
        t[x].o1 = clamp_i(x0 + 1, in) * stride;
        t[x].w = (float)(c - (double)x0);
        lin |= t[x].w != 0.0f;
    }
    return lin;
}

/* ---- planes: the common image resize, only the last two axes change ----
 * The general loop walks every output element through all axes; when every leading axis
 * copies (its taps are the identity) each (H, W) plane is resized on its own, from per-row and
 * per-column taps, planes in parallel. Each element is computed with the general loop's
 * operations in its order (corners H-major, weights (1-t) or t multiplied in axis order), so
 * the bits do not change. */
typedef struct plane_job {
    const char *x;
    char *y;
    size_t es;
    int64_t isz, osz, OH, OW; /* plane sizes (elements) and output dims */
    int64_t IW;                /* input row length */
    const tap *th, *tw;        /* taps of the last two axes (offsets in elements) */
    int lh, lw;                /* the axis interpolates */
    int up2;                   /* nearest, 4-byte elements, column ow reads column ow / 2 */
} plane_job;

/* Leading axes (all but the last two) copy: same size, identity taps. */
static int planes_apply(const af_resize_params *rp, const af_tview *x, const af_tview *y,
                        tap *const *taps, const int64_t *st)
{
    if (x->rank < 2 || rp->coord == AF_COORD_TF_CROP_AND_RESIZE) return 0;
    for (int i = 0; i < x->rank - 2; i++) {
        if (x->dims[i] != y->dims[i]) return 0;
        for (int64_t k = 0; k < y->dims[i]; k++)
            if (taps[i][k].o0 != k * st[i] || taps[i][k].w != 0.0f) return 0;
    }
    return 1;
}

/* Nearest, 4-byte elements: an output row reading the same source row as the one before it
 * is a copy of that output row (integer upscales); the others gather 4 bytes per element (the
 * 2x upscale on NEON: resize_neon.c). Copies of the elements' bits, as the gather below. */
static void nearest_plane32(const plane_job *j, const char *x, char *y)
{
    const size_t row = 4 * (size_t)j->OW;
    for (int64_t oh = 0; oh < j->OH; oh++) {
        char *yr = y + (size_t)oh * row;
        if (oh > 0 && j->th[oh].o0 == j->th[oh - 1].o0) {
            memcpy(yr, yr - row, row);
            continue;
        }
        const char *xr = x + 4 * (size_t)j->th[oh].o0;
#ifdef AFK_NEON
        if (j->up2 && afk_neon_on()) {
            afk_neon_dup2_u32((const uint32_t *)(const void *)xr, j->OW, (uint32_t *)(void *)yr);
            continue;
        }
#endif
        for (int64_t ow = 0; ow < j->OW; ow++) memcpy(yr + 4 * ow, xr + 4 * j->tw[ow].o0, 4);
    }
}

#if defined(__x86_64__) || defined(__i386__)
enum { LCH = 64 }; /* 16-column chunks per block */

/* Linear planes that interpolate along W (and maybe H) where each run of 16 output columns
 * reads within 32 source columns (upscales, mild downscales): per chunk, the two source rows'
 * 32 floats from the run's first tap are loaded once and permuted into the four corners (no
 * gathers), then combined with plane_task's operations in its order, so its bits. Returns 0
 * (nothing written) when some run spans more. */
AFK_TGT512 static int lin_plane512(const plane_job *j, const float *x, float *y)
{
    int32_t rel0[LCH][16], rel1[LCH][16];
    float wt[LCH][16];
    int64_t base[LCH];
    const __m512 one = _mm512_set1_ps(1.0f), zero = _mm512_setzero_ps();
    for (int64_t c0 = 0; c0 < j->OW; c0 += 16 * LCH) {
        const int64_t nq = (j->OW - c0 + 15) / 16 < LCH ? (j->OW - c0 + 15) / 16 : LCH;
        for (int64_t q = 0; q < nq; q++) {
            const tap *t = j->tw + c0 + 16 * q;
            base[q] = t[0].o0;
            for (int i = 0; i < 16; i++) {
                int in = c0 + 16 * q + i < j->OW;
                int64_t d0 = in ? t[i].o0 - base[q] : 0, d1 = in ? t[i].o1 - base[q] : 0;
                if (d0 < 0 || d0 > 31 || d1 < 0 || d1 > 31) return 0;
                rel0[q][i] = (int32_t)d0, rel1[q][i] = (int32_t)d1, wt[q][i] = in ? t[i].w : 0.0f;
            }
        }
        for (int64_t oh = 0; oh < j->OH; oh++) {
            const tap *h = &j->th[oh];
            const float *r0 = x + h->o0, *r1 = x + (j->lh ? h->o1 : h->o0);
            const __m512 a0 = _mm512_set1_ps(1.0f * (1.0f - h->w)), a1 = _mm512_set1_ps(1.0f * h->w);
            for (int64_t q = 0; q < nq; q++) {
                const int64_t ow = c0 + 16 * q, left = j->IW - base[q];
                const __mmask16 l0 = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
                const __mmask16 l1 = left >= 32 ? 0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
                const __m512i i0 = _mm512_loadu_si512(rel0[q]), i1 = _mm512_loadu_si512(rel1[q]);
                const __m512 w = _mm512_loadu_ps(wt[q]), omw = _mm512_sub_ps(one, w);
                __m512 lo = _mm512_maskz_loadu_ps(l0, r0 + base[q]);
                __m512 hi = _mm512_maskz_loadu_ps(l1, r0 + base[q] + 16);
                __m512 v00 = _mm512_permutex2var_ps(lo, i0, hi), v01 = _mm512_permutex2var_ps(lo, i1, hi);
                __m512 acc;
                if (j->lh) { /* corners 00, 10 (H), 01 (W), 11 */
                    lo = _mm512_maskz_loadu_ps(l0, r1 + base[q]);
                    hi = _mm512_maskz_loadu_ps(l1, r1 + base[q] + 16);
                    __m512 v10 = _mm512_permutex2var_ps(lo, i0, hi), v11 = _mm512_permutex2var_ps(lo, i1, hi);
                    acc = _mm512_add_ps(zero, _mm512_mul_ps(_mm512_mul_ps(a0, omw), v00));
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(a1, omw), v10));
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(a0, w), v01));
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(_mm512_mul_ps(a1, w), v11));
                } else { /* 1.0f * (1 - w) and 1.0f * w are exact */
                    acc = _mm512_add_ps(zero, _mm512_mul_ps(omw, v00));
                    acc = _mm512_add_ps(acc, _mm512_mul_ps(w, v01));
                }
                const int64_t n = j->OW - ow < 16 ? j->OW - ow : 16;
                _mm512_mask_storeu_ps(y + oh * j->OW + ow, (__mmask16)((1u << n) - 1), acc);
            }
        }
    }
    return 1;
}
#endif

// one plane: x (H, W) -> y (OH, OW)
static void plane_task(void *arg, int64_t t, int tid)
{
    (void)tid;
    const plane_job *j = arg;
    const char *x = j->x + (size_t)(t * j->isz) * j->es;
    char *y = j->y + (size_t)(t * j->osz) * j->es;
    if (!j->lh && !j->lw && j->es == 4) {
        nearest_plane32(j, x, y);
        return;
    }
    if (!j->lh && !j->lw) { /* nearest (or a copy): gather */
        for (int64_t oh = 0; oh < j->OH; oh++)
            for (int64_t ow = 0; ow < j->OW; ow++, y += j->es)
                memcpy(y, x + (size_t)(j->th[oh].o0 + j->tw[ow].o0) * j->es, j->es);
        return;
    }
    const float *xf = (const float *)x;
    float *yf = (float *)y;
#if defined(__x86_64__) || defined(__i386__)
    if (j->lw && afk_vec_have512() && lin_plane512(j, xf, yf)) return;
#endif
    for (int64_t oh = 0; oh < j->OH; oh++) {
        const tap *h = &j->th[oh];
        const float *r0 = xf + h->o0, *r1 = xf + (j->lh ? h->o1 : h->o0);
        float a0 = 1.0f * (1.0f - h->w), a1 = 1.0f * h->w;
        int64_t ow = 0;
#ifdef AFK_NEON
        if (afk_neon_on()) ow = afk_neon_lin_row(r0, r1, a0, a1, j->lh, j->lw, j->tw, j->OW,
                                                 yf + oh * j->OW);
#endif
        for (; ow < j->OW; ow++) {
            const tap *w = &j->tw[ow];
            float acc = 0.0f;
            if (j->lh && j->lw) { /* corners 00, 10 (H), 01 (W), 11 */
                acc += a0 * (1.0f - w->w) * r0[w->o0];
                acc += a1 * (1.0f - w->w) * r1[w->o0];
                acc += a0 * w->w * r0[w->o1];
                acc += a1 * w->w * r1[w->o1];
            } else if (j->lh) {
                acc += a0 * r0[w->o0];
                acc += a1 * r1[w->o0];
            } else {
                acc += 1.0f * (1.0f - w->w) * r0[w->o0];
                acc += 1.0f * w->w * r0[w->o1];
            }
            yf[oh * j->OW + ow] = acc;
        }
    }
}

// X (d..) -> Y (d' ..), d'_i = floor(d_i * scale_i)
af_status afk_resize_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)err;
    const af_tview *x = &in[0];
    int r = x->rank;
    int64_t total = af_tview_numel(&out[0]), st[AF_MAX_RANK];
    if (total == 0) return AF_OK;
    const float *roi = p->resize.coord == AF_COORD_TF_CROP_AND_RESIZE ? in[1].data : NULL;
    if (p->resize.mode == AF_RESIZE_CUBIC) {
        resize_cubic(p, x, roi, &out[0], ctx->scratch);
        return AF_OK;
    }
    afk_strides(x, st);
    tap *taps[AF_MAX_RANK], *next = ctx->scratch;
    int lin_axes[AF_MAX_RANK], L = 0;
    for (int i = 0; i < r; i++) {
        taps[i] = next;
        next += out[0].dims[i];
        axis_ctx a = {i, r, roi};
        if (axis_taps(&p->resize, &a, x->dims[i], out[0].dims[i], st[i], taps[i]))
            lin_axes[L++] = i;
    }
    size_t es = af_dtype_size(x->dtype);
    if (planes_apply(&p->resize, x, &out[0], taps, st)) {
        int lh = 0, lw = 0;
        for (int k = 0; k < L; k++) lh |= lin_axes[k] == r - 2, lw |= lin_axes[k] == r - 1;
        int64_t OH = out[0].dims[r - 2], OW = out[0].dims[r - 1];
        plane_job j = {x->data, out[0].data, es, x->dims[r - 2] * x->dims[r - 1], OH * OW,
                       OH, OW, x->dims[r - 1], taps[r - 2], taps[r - 1], lh, lw,
                       !lh && !lw && es == 4};
        for (int64_t ow = 0; ow < OW && j.up2; ow++) j.up2 = j.tw[ow].o0 == ow / 2;
        afk_parallel(ctx, total / (OH * OW), plane_task, &j);
        return AF_OK;
    }
    int64_t idx[AF_MAX_RANK] = {0};
    char *y = out[0].data;
    int crop = p->resize.coord == AF_COORD_TF_CROP_AND_RESIZE;
    for (int64_t t = 0; t < total; t++, y += es) {
        int64_t off = 0;
        int outside = 0;
        for (int i = 0; i < r; i++) off += taps[i][idx[i]].o0;
        for (int i = 0; crop && i < r; i++) outside |= taps[i][idx[i]].outside;
        if (outside) {
            af_dtype_set(x->dtype, out[0].data, (size_t)t, p->resize.extrapolation_value);
        } else if (L == 0) {
            memcpy(y, (const char *)x->data + (size_t)off * es, es);
        } else { /* sum over the 2^L corners of the interpolated axes */
            const float *xf = x->data;
            float acc = 0.0f;
            for (int c = 0; c < (1 << L); c++) {
                int64_t o = off;
                float w = 1.0f;
                for (int k = 0; k < L; k++) {
                    const tap *tp = &taps[lin_axes[k]][idx[lin_axes[k]]];
                    if (c >> k & 1) o += tp->o1 - tp->o0, w *= tp->w;
                    else w *= 1.0f - tp->w;
                }
                acc += w * xf[o];
            }
            *(float *)y = acc;
        }
        for (int d = r - 1; d >= 0; d--) {
            if (++idx[d] < out[0].dims[d]) break;
            idx[d] = 0;
        }
    }
    return AF_OK;
}

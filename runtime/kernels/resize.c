/* runtime/kernels/resize.c — RESIZE: nearest (4 rounding modes, any dtype) and N-D linear
 * (f32) over every axis whose size or scale changes; every coordinate transform (for
 * tf_crop_and_resize, an element whose source coordinate on some axis falls outside the input
 * is extrapolation_value); cubic (f32, cubic_coeff_a, exclude_outside) over the same axes with
 * four taps per axis.
 *
 * Per output axis a table of taps (scratch) holds the two source offsets and the weight of the
 * second; each output element is then a sum over the 2^L corners of its L interpolated axes.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

typedef struct ctap { /* cubic: four source offsets and weights */
    int64_t o[4];
    float w[4];
    int32_t outside; /* tf_crop_and_resize: the source coordinate lies outside the input */
    int32_t pad_;
} ctap;

typedef struct tap {
    int64_t o0, o1;  /* source element offsets (index * input stride) */
    float w;         /* weight of o1; o0 gets 1 - w */
    int32_t outside; /* as in ctap */
} tap;

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

static int64_t nearest_index(int mode, double x)
{
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
    if (n_in != 1 + crop)
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

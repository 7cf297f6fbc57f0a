/* runtime/kernels/sample.c — spatial sampling: GRID_SAMPLE (torch / ONNX GridSample semantics:
 * bilinear, nearest, bicubic; zeros, border, reflection padding; align_corners) and ROI_ALIGN
 * (Mask R-CNN RoiAlign as ONNX specifies it: avg and max, adaptive sampling). f32 reference
 * kernels; coordinates are computed in f32 as ONNX Runtime and torch do. */
#include "internal.h"

#include <math.h>
#include <string.h>

/* ---- grid sample ------------------------------------------------------------------------ */

af_status afk_grid_sample_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *g = &in[1], *y = &out[0];
    if (x->dtype != AF_DTYPE_F32 || g->dtype != AF_DTYPE_F32 || y->dtype != AF_DTYPE_F32)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "grid_sample: only f32 is supported");
    if (x->rank != 4 || g->rank != 4 || y->rank != 4 || g->dims[3] != 2 ||
        g->dims[0] != x->dims[0] || y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1] ||
        y->dims[2] != g->dims[1] || y->dims[3] != g->dims[2])
        return af_err_set(err, AF_ERR_SHAPE, "grid_sample: X (N,C,H,W), grid (N,oh,ow,2) and Y "
                          "(N,C,oh,ow) do not fit");
    if ((unsigned)p->grid_sample.mode > AF_GRID_BICUBIC ||
        (unsigned)p->grid_sample.padding > AF_GRID_PAD_REFLECTION)
        return af_err_set(err, AF_ERR_FORMAT, "grid_sample: bad mode or padding");
    return AF_OK;
}

/* Grid value in [-1, 1] → pixel coordinate. */
static float unnormalize(float v, int64_t size, int align)
{
    return align ? (v + 1) / 2 * (float)(size - 1) : ((v + 1) * (float)size - 1) / 2;
}

static float clip_coord(float v, int64_t size)
{
    return fminf((float)(size - 1), fmaxf(v, 0.0f));
}

/* Reflects v into [lo2/2, hi2/2] (bounds given doubled so that they stay integers). */
static float reflect_coord(float v, int64_t lo2, int64_t hi2)
{
    if (lo2 == hi2) return 0;
    float lo = (float)lo2 / 2, span = (float)(hi2 - lo2) / 2;
    v = fabsf(v - lo);
    float extra = fmodf(v, span);
    float flips = fmodf(floorf(v / span), 2.0f); /* parity without an int conversion */
    return flips == 0 ? extra + lo : span - extra + lo;
}

/* The padding mode applied to a pixel coordinate (zeros: unchanged). */
static float pad_coord(float v, int64_t size, int padding, int align)
{
    if (padding == AF_GRID_PAD_BORDER) return clip_coord(v, size);
    if (padding == AF_GRID_PAD_REFLECTION) {
        if (!isfinite(v)) return 0; /* the ±inf/NaN of a broken grid: any in-range pixel */
        v = align ? reflect_coord(v, 0, 2 * (size - 1)) : reflect_coord(v, -1, 2 * size - 1);
        return clip_coord(v, size);
    }
    return v;
}

/* floor(v) as an index; far outside any image for non-finite or huge values. */
static int64_t floor_index(float v)
{
    return v > -1e9f && v < 1e9f ? (int64_t)floorf(v) : INT32_MIN;
}

/* X[y, x] of one (H, W) plane, 0 outside. */
static float at(const float *x, int64_t H, int64_t W, int64_t yi, int64_t xi)
{
    return yi >= 0 && yi < H && xi >= 0 && xi < W ? x[yi * W + xi] : 0.0f;
}

/* Cubic convolution weights (A = -0.75) of the taps at offsets -1, 0, 1, 2 for fraction t. */
static void cubic_weights(float t, float w[4])
{
    const float A = -0.75f;
    float a = t + 1, b = t, c = 1 - t, d = 2 - t;
    w[0] = ((A * a - 5 * A) * a + 8 * A) * a - 4 * A;
    w[1] = ((A + 2) * b - (A + 3)) * b * b + 1;
    w[2] = ((A + 2) * c - (A + 3)) * c * c + 1;
    w[3] = ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
}

/* A bicubic tap: its integer coordinates go through the padding mode, then 0 outside. */
static float cubic_tap(const float *x, int64_t H, int64_t W, int64_t yi, int64_t xi,
                       const af_grid_sample_params *p)
{
    float fy = pad_coord((float)yi, H, p->padding, p->align_corners);
    float fx = pad_coord((float)xi, W, p->padding, p->align_corners);
    return at(x, H, W, floor_index(fy), floor_index(fx));
}

static float sample_bicubic(const float *x, int64_t H, int64_t W, float fx, float fy,
                            const af_grid_sample_params *p)
{
    int64_t x0 = floor_index(fx), y0 = floor_index(fy);
    if (x0 == INT32_MIN || y0 == INT32_MIN) return 0.0f;
    float wx[4], wy[4], acc = 0;
    cubic_weights(fx - (float)x0, wx);
    cubic_weights(fy - (float)y0, wy);
    for (int i = 0; i < 4; i++) {
        float row = 0;
        for (int j = 0; j < 4; j++) row += wx[j] * cubic_tap(x, H, W, y0 - 1 + i, x0 - 1 + j, p);
        acc += wy[i] * row;
    }
    return acc;
}

/* One output value from one (H, W) plane at grid point (gx, gy). */
static float grid_value(const float *x, int64_t H, int64_t W, float gx, float gy,
                        const af_grid_sample_params *p)
{
    float fx = unnormalize(gx, W, p->align_corners), fy = unnormalize(gy, H, p->align_corners);
    if (p->mode == AF_GRID_BICUBIC) return sample_bicubic(x, H, W, fx, fy, p);
    fx = pad_coord(fx, W, p->padding, p->align_corners);
    fy = pad_coord(fy, H, p->padding, p->align_corners);
    if (p->mode == AF_GRID_NEAREST)
        return at(x, H, W, floor_index(nearbyintf(fy)), floor_index(nearbyintf(fx)));
    int64_t x0 = floor_index(fx), y0 = floor_index(fy);
    if (x0 == INT32_MIN || y0 == INT32_MIN) return 0.0f;
    float tx = fx - (float)x0, ty = fy - (float)y0;
    return at(x, H, W, y0, x0) * (1 - tx) * (1 - ty) + at(x, H, W, y0, x0 + 1) * tx * (1 - ty) +
           at(x, H, W, y0 + 1, x0) * (1 - tx) * ty + at(x, H, W, y0 + 1, x0 + 1) * tx * ty;
}

// X (N,C,H,W), grid (N,oh,ow,2) (x then y, normalised to [-1, 1]) -> Y (N,C,oh,ow)
af_status afk_grid_sample_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx, (void)err;
    const af_grid_sample_params *gp = &p->grid_sample;
    int64_t N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
    int64_t P = out[0].dims[2] * out[0].dims[3];
    const float *x = in[0].data, *grid = in[1].data;
    float *y = out[0].data;
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const float *plane = x + (n * C + c) * H * W;
            const float *gr = grid + n * P * 2;
            float *dst = y + (n * C + c) * P;
            for (int64_t i = 0; i < P; i++) dst[i] = grid_value(plane, H, W, gr[2 * i], gr[2 * i + 1], gp);
        }
    return AF_OK;
}

/* ---- roi align ------------------------------------------------------------------------- */

af_status afk_roi_align_check(AFK_CHECK_ARGS)
{
    (void)n_in, (void)n_out;
    const af_tview *x = &in[0], *r = &in[1], *b = &in[2], *y = &out[0];
    const af_roi_align_params *rp = &p->roi_align;
    if (x->dtype != AF_DTYPE_F32 || r->dtype != AF_DTYPE_F32 || y->dtype != AF_DTYPE_F32 ||
        (b->dtype != AF_DTYPE_I64 && b->dtype != AF_DTYPE_I32))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "roi_align: needs f32 X and rois, i64/i32 "
                          "batch_indices");
    if (x->rank != 4 || r->rank != 2 || r->dims[1] != 4 || b->rank != 1 ||
        b->dims[0] != r->dims[0] || y->rank != 4 || y->dims[0] != r->dims[0] ||
        y->dims[1] != x->dims[1] || y->dims[2] != rp->out_h || y->dims[3] != rp->out_w)
        return af_err_set(err, AF_ERR_SHAPE, "roi_align: X (N,C,H,W), rois (R,4), batch_indices "
                          "(R) and Y (R,C,oh,ow) do not fit");
    if (rp->out_h < 1 || rp->out_w < 1 || rp->sampling_ratio < 0)
        return af_err_set(err, AF_ERR_FORMAT, "roi_align: bad output size or sampling ratio");
    return AF_OK;
}

/* One sample's four corner weights and offsets in an (H, W) plane (all 0 when outside). */
typedef struct roi_tap {
    int64_t pos[4];
    float w[4];
} roi_tap;

static roi_tap roi_bilinear(int64_t H, int64_t W, float y, float x)
{
    roi_tap t;
    memset(&t, 0, sizeof t);
    if (y < -1.0f || y > (float)H || x < -1.0f || x > (float)W) return t;
    y = fmaxf(y, 0.0f);
    x = fmaxf(x, 0.0f);
    int64_t y0 = (int64_t)y, x0 = (int64_t)x, y1, x1;
    if (y0 >= H - 1) y0 = y1 = H - 1, y = (float)y0;
    else y1 = y0 + 1;
    if (x0 >= W - 1) x0 = x1 = W - 1, x = (float)x0;
    else x1 = x0 + 1;
    float ly = y - (float)y0, lx = x - (float)x0, hy = 1 - ly, hx = 1 - lx;
    t.pos[0] = y0 * W + x0, t.pos[1] = y0 * W + x1, t.pos[2] = y1 * W + x0, t.pos[3] = y1 * W + x1;
    t.w[0] = hy * hx, t.w[1] = hy * lx, t.w[2] = ly * hx, t.w[3] = ly * lx;
    return t;
}

/* The ROI's geometry in feature-map pixels. */
typedef struct roi_geom {
    float x0, y0, bin_w, bin_h;
    int64_t gw, gh; /* samples per bin */
} roi_geom;

static af_status roi_geometry(const af_roi_align_params *p, const float *roi, int64_t r,
                              roi_geom *g, af_err *err)
{
    float off = p->half_pixel ? 0.5f : 0.0f, s = p->spatial_scale;
    g->x0 = roi[0] * s - off, g->y0 = roi[1] * s - off;
    float w = roi[2] * s - off - g->x0, h = roi[3] * s - off - g->y0;
    if (!p->half_pixel) w = fmaxf(w, 1.0f), h = fmaxf(h, 1.0f);
    g->bin_w = w / (float)p->out_w, g->bin_h = h / (float)p->out_h;
    float gw = p->sampling_ratio > 0 ? (float)p->sampling_ratio : ceilf(g->bin_w);
    float gh = p->sampling_ratio > 0 ? (float)p->sampling_ratio : ceilf(g->bin_h);
    if (!(gw < 65536 && gh < 65536) || !isfinite(g->x0) || !isfinite(g->y0))
        return af_err_set(err, AF_ERR_SHAPE, "roi_align: roi %lld is not finite or too large",
                          (long long)r);
    g->gw = gw > 0 ? (int64_t)gw : 0, g->gh = gh > 0 ? (int64_t)gh : 0;
    return AF_OK;
}

/* One output bin (ph, pw) of one plane. */
static float roi_bin(const float *plane, int64_t H, int64_t W, const roi_geom *g, int64_t ph,
                     int64_t pw, int max_mode)
{
    float acc = 0;
    int any = 0;
    for (int64_t iy = 0; iy < g->gh; iy++) {
        float y = g->y0 + (float)ph * g->bin_h + ((float)iy + 0.5f) * g->bin_h / (float)g->gh;
        for (int64_t ix = 0; ix < g->gw; ix++) {
            float x = g->x0 + (float)pw * g->bin_w + ((float)ix + 0.5f) * g->bin_w / (float)g->gw;
            roi_tap t = roi_bilinear(H, W, y, x);
            if (!max_mode) {
                for (int k = 0; k < 4; k++) acc += t.w[k] * plane[t.pos[k]];
                continue;
            }
            float v = t.w[0] * plane[t.pos[0]];
            for (int k = 1; k < 4; k++) v = fmaxf(v, t.w[k] * plane[t.pos[k]]);
            acc = any ? fmaxf(acc, v) : v;
            any = 1;
        }
    }
    int64_t count = g->gh * g->gw;
    return max_mode ? acc : acc / (float)(count > 0 ? count : 1);
}

// X (N,C,H,W), rois (R,4) = (x1,y1,x2,y2), batch_indices (R) -> Y (R,C,out_h,out_w)
af_status afk_roi_align_run(AFK_RUN_ARGS)
{
    (void)n_in, (void)n_out, (void)ctx;
    const af_roi_align_params *rp = &p->roi_align;
    int64_t N = in[0].dims[0], C = in[0].dims[1], H = in[0].dims[2], W = in[0].dims[3];
    int64_t R = in[1].dims[0], OH = rp->out_h, OW = rp->out_w;
    const float *x = in[0].data, *rois = in[1].data;
    float *y = out[0].data;
    if (H == 0 || W == 0) { /* nothing to sample: every bin is 0 */
        memset(y, 0, (size_t)af_tview_numel(&out[0]) * sizeof *y);
        return AF_OK;
    }
    for (int64_t r = 0; r < R; r++) {
        int64_t b = afk_get_i64(in[2].dtype, in[2].data, r);
        if (b < 0 || b >= N)
            return af_err_set(err, AF_ERR_SHAPE, "roi_align: batch index %lld of roi %lld is "
                              "outside [0, %lld)", (long long)b, (long long)r, (long long)N);
        roi_geom g = {0};
        af_status st = roi_geometry(rp, rois + 4 * r, r, &g, err);
        if (st) return st;
        for (int64_t c = 0; c < C; c++) {
            const float *plane = x + (b * C + c) * H * W;
            float *dst = y + (r * C + c) * OH * OW;
            for (int64_t ph = 0; ph < OH; ph++)
                for (int64_t pw = 0; pw < OW; pw++)
                    dst[ph * OW + pw] = roi_bin(plane, H, W, &g, ph, pw, rp->max_mode);
        }
    }
    return AF_OK;
}

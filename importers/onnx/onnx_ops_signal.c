/* importers/onnx/onnx_ops_signal.c — ONNX → IR for spatial sampling (GridSample, RoiAlign) and
 * signal processing (DFT, STFT, MelWeightMatrix). Parameter inputs stay inputs here; shape
 * inference resolves them once they are constant. */
#include "onnx_internal.h"

#include <string.h>

/* Index of s in names (n entries), or -1. */
static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

/* GridSample 16 (bilinear, nearest, bicubic) and 20+ (linear, nearest, cubic; 4-D only here). */
af_status onnx_map_grid_sample(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    af_params p = {0};
    char mode[32], pad[32];
    onnx_attr_s(c, nd, "mode", c->opset >= 20 ? "linear" : "bilinear", mode, sizeof mode);
    onnx_attr_s(c, nd, "padding_mode", "zeros", pad, sizeof pad);
    static const char *const modes[] = {"bilinear", "nearest", "bicubic", "linear", "", "cubic"};
    static const char *const pads[] = {"zeros", "border", "reflection"};
    int m = pick(mode, modes, 6), pm = pick(pad, pads, 3);
    if (m < 0 || m == 4)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    if (pm < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "padding_mode '%s' is not supported", pad);
    p.grid_sample.mode = m % 3;
    p.grid_sample.padding = pm;
    p.grid_sample.align_corners = onnx_attr_i(c, nd, "align_corners", 0) != 0;
    return onnx_emit(c, nd, AF_OP_GRID_SAMPLE, in, 2, 1, &p, NULL);
}

af_status onnx_map_roi_align(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 3, 3, &n);
    if (st) return st;
    af_params p = {0};
    af_roi_align_params *r = &p.roi_align;
    char mode[16], ctm[32];
    onnx_attr_s(c, nd, "mode", "avg", mode, sizeof mode);
    /* opset 10 had no attribute and behaved as output_half_pixel */
    onnx_attr_s(c, nd, "coordinate_transformation_mode", c->opset >= 16 ? "half_pixel"
                : "output_half_pixel", ctm, sizeof ctm);
    static const char *const modes[] = {"avg", "max"};
    static const char *const ctms[] = {"output_half_pixel", "half_pixel"};
    r->max_mode = pick(mode, modes, 2);
    r->half_pixel = pick(ctm, ctms, 2);
    if (r->max_mode < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "mode '%s' is not supported", mode);
    if (r->half_pixel < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "coordinate_transformation_mode '%s' is "
                             "not supported", ctm);
    st = onnx_attr_i32_in(c, nd, "output_height", 1, 1, 1 << 16, &r->out_h);
    if (!st) st = onnx_attr_i32_in(c, nd, "output_width", 1, 1, 1 << 16, &r->out_w);
    if (!st) st = onnx_attr_i32_in(c, nd, "sampling_ratio", 0, 0, 1 << 16, &r->sampling_ratio);
    if (st) return st;
    r->spatial_scale = onnx_attr_f(c, nd, "spatial_scale", 1.0f);
    return onnx_emit(c, nd, AF_OP_ROI_ALIGN, in, 3, 1, &p, NULL);
}

/* DFT 17: [input, dft_length?] with an axis attribute; 20: [input, dft_length?, axis?]. */
af_status onnx_map_dft(onnx_ctx *c, const onnx_node *nd)
{
    int in[3] = {-1, -1, -1}, n;
    af_status st = onnx_need(c, nd, in, 1, c->opset >= 20 ? 3 : 2, &n);
    if (st) return st;
    af_params p = {0};
    p.dft.inverse = onnx_attr_i(c, nd, "inverse", 0) != 0;
    p.dft.onesided = onnx_attr_i(c, nd, "onesided", 0) != 0;
    st = onnx_attr_i32_in(c, nd, "axis", c->opset >= 20 ? -2 : 1, -AF_MAX_RANK, AF_MAX_RANK - 1,
                          &p.dft.axis);
    if (st) return st;
    if (p.dft.inverse && p.dft.onesided)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "a onesided inverse DFT is not supported");
    return onnx_emit(c, nd, AF_OP_DFT, in, 3, 1, &p, NULL);
}

af_status onnx_map_stft(onnx_ctx *c, const onnx_node *nd)
{
    int in[4] = {-1, -1, -1, -1}, n;
    af_status st = onnx_need(c, nd, in, 2, 4, &n);
    if (st) return st;
    af_params p = {0};
    p.stft.onesided = onnx_attr_i(c, nd, "onesided", 1) != 0;
    return onnx_emit(c, nd, AF_OP_STFT, in, 4, 1, &p, NULL);
}

af_status onnx_map_mel_weight_matrix(onnx_ctx *c, const onnx_node *nd)
{
    int in[5], n;
    af_status st = onnx_need(c, nd, in, 5, 5, &n);
    if (st) return st;
    af_params p = {0};
    int64_t t = onnx_attr_i(c, nd, "output_datatype", 1);
    af_dtype dt;
    if (t < 0 || t > INT32_MAX || onnx_dtype((int32_t)t, &dt) < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "output_datatype %lld is not supported",
                             (long long)t);
    p.mel.dtype = dt;
    return onnx_emit(c, nd, AF_OP_MEL_WEIGHT_MATRIX, in, 5, 1, &p, NULL);
}

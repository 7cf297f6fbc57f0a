/* graph/shape_signal.c — shape inference for spatial sampling (grid_sample, roi_align) and
 * signal processing (dft, stft, mel_weight_matrix). The signal ops resolve their integer
 * parameter inputs (dft_length, axis, frame_step, frame_length, the mel sizes) into params. */
#include "shape_impl.h"

#include <string.h>

static int is_float_dt(af_dtype t) { return t == AF_DTYPE_F32 || t == AF_DTYPE_F16; }

/* ---- spatial sampling ------------------------------------------------------------------ */

// X (N,C,H,W), grid (N,oh,ow,2) -> Y (N,C,oh,ow)
af_status af_shape_grid_sample(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *gr = sh_in(g, n, 1);
    const af_grid_sample_params *p = &n->p.grid_sample;
    char sx[96], sg[96];
    if (!gr) return sh_err(n, err, AF_ERR_SHAPE, "the grid input is missing");
    if (x->rank != 4 || gr->rank != 4 || gr->dims[3] != 2 || gr->dims[0] != x->dims[0])
        return sh_err(n, err, AF_ERR_SHAPE, "needs X (N,C,H,W) and grid (N,oh,ow,2), got %s and %s",
                      sh_str(x, sx), sh_str(gr, sg));
    if (!is_float_dt(x->dtype) || gr->dtype != x->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "X and grid must be float of one dtype");
    if ((unsigned)p->mode > AF_GRID_BICUBIC || (unsigned)p->padding > AF_GRID_PAD_REFLECTION)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad mode %d or padding %d", (int)p->mode,
                      (int)p->padding);
    int64_t dims[4] = {x->dims[0], x->dims[1], gr->dims[1], gr->dims[2]};
    sh_set_out(g, n, 0, x->dtype, 4, dims);
    return AF_OK;
}

// X (N,C,H,W), rois (R,4), batch_indices (R) -> Y (R,C,out_h,out_w)
af_status af_shape_roi_align(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *r = sh_in(g, n, 1), *b = sh_in(g, n, 2);
    const af_roi_align_params *p = &n->p.roi_align;
    char sx[96], sr[96], sb[96];
    if (!r || !b) return sh_err(n, err, AF_ERR_SHAPE, "rois and batch_indices are required");
    if (x->rank != 4 || r->rank != 2 || r->dims[1] != 4 || b->rank != 1 || b->dims[0] != r->dims[0])
        return sh_err(n, err, AF_ERR_SHAPE, "needs X (N,C,H,W), rois (R,4) and batch_indices (R), "
                      "got %s, %s and %s", sh_str(x, sx), sh_str(r, sr), sh_str(b, sb));
    if (!is_float_dt(x->dtype) || r->dtype != x->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "X and rois must be float of one dtype");
    if (b->dtype != AF_DTYPE_I64 && b->dtype != AF_DTYPE_I32)
        return sh_err(n, err, AF_ERR_SHAPE, "batch_indices must be i64 or i32");
    if (p->out_h < 1 || p->out_w < 1 || p->sampling_ratio < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "bad output size %dx%d or sampling_ratio %d",
                      (int)p->out_h, (int)p->out_w, (int)p->sampling_ratio);
    int64_t dims[4] = {r->dims[0], x->dims[1], p->out_h, p->out_w};
    sh_set_out(g, n, 0, x->dtype, 4, dims);
    return AF_OK;
}

/* ---- signal processing ----------------------------------------------------------------- */

/* A constant integer scalar (or one-element 1-D) input k. */
static af_status const_scalar(af_graph *g, af_node *n, int k, const char *what, int64_t *v,
                              af_err *err)
{
    int c;
    af_status st = sh_const_ints(g, n, k, what, v, 1, &c, err);
    if (st) return st;
    if (c != 1) return sh_err(n, err, AF_ERR_SHAPE, "the %s input must hold one value", what);
    return AF_OK;
}

/* Moves the present inputs among in[0..n_in) to the front, dropping those in drop_mask. */
static void drop_inputs(af_node *n, unsigned drop_mask)
{
    int w = 0;
    for (int k = 0; k < n->n_in; k++)
        if (!(drop_mask & (1u << k)) && n->in[k] >= 0) n->in[w++] = n->in[k];
    n->n_in = w;
}

static af_status dft_resolve(af_graph *g, af_node *n, const af_tensor *x, af_err *err)
{
    af_dft_params *p = &n->p.dft;
    int64_t v;
    if (sh_in(g, n, 2)) {
        af_status st = const_scalar(g, n, 2, "axis", &v, err);
        if (st) return st;
        if (v < -x->rank || v >= x->rank) return sh_err(n, err, AF_ERR_SHAPE, "bad axis %lld", (long long)v);
        p->axis = (int32_t)v;
    }
    if (p->axis < 0) p->axis += x->rank;
    if (p->axis < 0 || p->axis > x->rank - 2)
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d is not a signal axis of rank %d",
                      (int)p->axis, x->rank);
    p->length = x->dims[p->axis];
    if (sh_in(g, n, 1)) {
        af_status st = const_scalar(g, n, 1, "dft_length", &v, err);
        if (st) return st;
        p->length = v;
    }
    if (p->length < 1 || p->length > ((int64_t)1 << 24))
        return sh_err(n, err, AF_ERR_SHAPE, "dft_length %lld out of range", (long long)p->length);
    drop_inputs(n, 6u);
    return AF_OK;
}

// x (d0,...,L,...,c) with c = 1 (real) or 2 (complex) -> y (d0,...,bins,...,2)
af_status af_shape_dft(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return sh_err(n, err, AF_ERR_SHAPE, "input %s must end in a dim of 1 (real) or 2 (complex)",
                      sh_str(x, s));
    if (!is_float_dt(x->dtype)) return sh_err(n, err, AF_ERR_SHAPE, "input must be float");
    if (n->n_in > 1 || n->p.dft.length == 0) {
        af_status st = dft_resolve(g, n, x, err);
        if (st) return st;
    }
    const af_dft_params *p = &n->p.dft;
    if (p->axis < 0 || p->axis > x->rank - 2 || p->length < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "bad axis %d or length", (int)p->axis);
    if (p->onesided && p->inverse)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "a onesided inverse DFT is not supported");
    if (p->onesided && x->dims[x->rank - 1] != 1) /* as ONNX Runtime: the spec allows no other */
        return sh_err(n, err, AF_ERR_SHAPE, "a onesided DFT needs a real input (last dim 1), "
                      "got %s", sh_str(x, s));
    int64_t dims[AF_MAX_RANK];
    memcpy(dims, x->dims, sizeof dims);
    dims[p->axis] = p->onesided ? p->length / 2 + 1 : p->length;
    dims[x->rank - 1] = 2;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

static af_status stft_resolve(af_graph *g, af_node *n, af_err *err)
{
    af_stft_params *p = &n->p.stft;
    af_tensor *w = sh_in(g, n, 2);
    af_status st = const_scalar(g, n, 1, "frame_step", &p->frame_step, err);
    if (st) return st;
    p->frame_length = 0;
    if (sh_in(g, n, 3)) {
        st = const_scalar(g, n, 3, "frame_length", &p->frame_length, err);
        if (st) return st;
    }
    if (w) {
        if (w->rank != 1) return sh_err(n, err, AF_ERR_SHAPE, "the window must be 1-D");
        if (p->frame_length && p->frame_length != w->dims[0])
            return sh_err(n, err, AF_ERR_SHAPE, "frame_length %lld != window length %lld",
                          (long long)p->frame_length, (long long)w->dims[0]);
        p->frame_length = w->dims[0];
    }
    if (!p->frame_length)
        return sh_err(n, err, AF_ERR_SHAPE, "needs a window or a frame_length input");
    drop_inputs(n, 0xau); /* frame_step, frame_length */
    return AF_OK;
}

// signal (B,L,c), window? (fl) -> Y (B, 1 + (L - fl)/step, onesided ? fl/2+1 : fl, 2)
af_status af_shape_stft(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return sh_err(n, err, AF_ERR_SHAPE, "signal %s must be (batch, length, 1 or 2)", sh_str(x, s));
    if (!is_float_dt(x->dtype)) return sh_err(n, err, AF_ERR_SHAPE, "signal must be float");
    if (n->p.stft.frame_step == 0) {
        if (!sh_in(g, n, 1)) return sh_err(n, err, AF_ERR_SHAPE, "the frame_step input is missing");
        af_status st = stft_resolve(g, n, err);
        if (st) return st;
    }
    const af_stft_params *p = &n->p.stft;
    af_tensor *w = sh_in(g, n, 1);
    if (w && (w->rank != 1 || w->dims[0] != p->frame_length || w->dtype != x->dtype))
        return sh_err(n, err, AF_ERR_SHAPE, "the window must be (%lld) of the signal's dtype",
                      (long long)p->frame_length);
    if (p->frame_step < 1 || p->frame_length < 1 || p->frame_length > x->dims[1] ||
        p->frame_length > ((int64_t)1 << 24))
        return sh_err(n, err, AF_ERR_SHAPE, "frame_step %lld / frame_length %lld do not fit a "
                      "signal of %lld samples", (long long)p->frame_step,
                      (long long)p->frame_length, (long long)x->dims[1]);
    int64_t fl = p->frame_length;
    int64_t dims[4] = {x->dims[0], 1 + (x->dims[1] - fl) / p->frame_step, p->onesided ? fl / 2 + 1 : fl, 2};
    sh_set_out(g, n, 0, x->dtype, 4, dims);
    return AF_OK;
}

// lower_hz (), upper_hz () -> W (dft_length/2 + 1, num_mel_bins)
af_status af_shape_mel_weight_matrix(af_graph *g, af_node *n, af_err *err)
{
    af_mel_params *p = &n->p.mel;
    if (n->n_in == 5) {
        static const char *const what[3] = {"num_mel_bins", "dft_length", "sample_rate"};
        int64_t v[3];
        for (int k = 0; k < 3; k++) {
            af_status st = const_scalar(g, n, k, what[k], &v[k], err);
            if (st) return st;
        }
        p->num_mel_bins = v[0], p->dft_length = v[1], p->sample_rate = v[2];
        drop_inputs(n, 7u);
    }
    if (n->n_in != 2 || !sh_in(g, n, 1))
        return sh_err(n, err, AF_ERR_SHAPE, "needs lower_edge_hertz and upper_edge_hertz");
    for (int k = 0; k < 2; k++) {
        af_tensor *t = sh_in(g, n, k);
        if (af_tensor_numel(t) != 1 || !is_float_dt(t->dtype))
            return sh_err(n, err, AF_ERR_SHAPE, "'%s' must be one float", t->name);
    }
    if (p->num_mel_bins < 1 || p->num_mel_bins > (1 << 20) || p->dft_length < 1 ||
        p->dft_length > (1 << 24) || p->sample_rate < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "bad num_mel_bins %lld, dft_length %lld or "
                      "sample_rate %lld", (long long)p->num_mel_bins, (long long)p->dft_length,
                      (long long)p->sample_rate);
    if (p->dtype < 0 || p->dtype >= AF_DTYPE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad output dtype %d", (int)p->dtype);
    int64_t dims[2] = {p->dft_length / 2 + 1, p->num_mel_bins};
    sh_set_out(g, n, 0, (af_dtype)p->dtype, 2, dims);
    return AF_OK;
}

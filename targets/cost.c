/* targets/cost.c — the roofline cost model.
 *
 * Per op: MACs (GEMM-shaped work), other arithmetic, activation bytes read and written, and
 * weight bytes at the encoding the family reads (stored bits when the family streams the
 * encoding natively, its decompressed width otherwise). Time = max(compute / peak,
 * bytes / bandwidth) + the family's per-op floor. One counter works over a neutral description
 * (op, params, in/out shapes, constant encodings) filled from a lowered graph or a bundle.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "targets_internal.h"

#define SMALL_WEIGHT_ELEMS 2048 /* docs/compression.md: tensors this small (or rank <= 1) stay fp16 */

static double numel(const af_cost_tensor *t)
{
    if (t->rank < 0) return 0;
    double n = 1;
    for (int d = 0; d < t->rank; d++) n *= (double)t->dims[d];
    return n;
}

/* Product of dims [from, rank). */
static double tail(const af_cost_tensor *t, int from)
{
    double n = 1;
    for (int d = from; d < t->rank; d++) n *= (double)t->dims[d];
    return n;
}

static int is_float(af_dtype t) { return t == AF_DTYPE_F32 || t == AF_DTYPE_F16 || t == AF_DTYPE_BF16; }

/* Work of one op by class; each class has its own rate in the family (see aneforge/targets.h). */
typedef struct work {
    double gemm_macs, gemm_size; /* GEMM-shaped MACs; min(M, K) of the product (efficiency) */
    double vec_macs, ops;        /* depthwise MACs; other arithmetic */
    double special, taps;
} work;

/* Cost of one evaluation in tenths of a softmax element (one exp, its share of the sum and the
 * division: the unit of the special class); 0 for arithmetic-only functions. Relative costs as
 * measured for the runtime's kernels (vectorised sigmoid/SiLU; libm-style tanh, erf, GELU). */
static const uint8_t unary_special[AF_UNARY_COUNT] = {
    [AF_UNARY_SIGMOID] = 4,   [AF_UNARY_SILU] = 4,  [AF_UNARY_EXP] = 6,  [AF_UNARY_LOG] = 6,
    [AF_UNARY_ELU] = 6,       [AF_UNARY_SELU] = 6,  [AF_UNARY_CELU] = 6, [AF_UNARY_SOFTPLUS] = 12,
    [AF_UNARY_SIN] = 8,       [AF_UNARY_COS] = 8,   [AF_UNARY_TANH] = 24, [AF_UNARY_ERF] = 26,
    [AF_UNARY_GELU] = 27,
    /* glibc's f32 functions timed against tanh/erf on one x86 machine */
    [AF_UNARY_TAN] = 20,      [AF_UNARY_ASIN] = 8,  [AF_UNARY_ACOS] = 11, [AF_UNARY_ATAN] = 12,
    [AF_UNARY_SINH] = 26,     [AF_UNARY_COSH] = 10, [AF_UNARY_ASINH] = 15, [AF_UNARY_ACOSH] = 10,
    [AF_UNARY_ATANH] = 20,
};

static double special_of(const af_unary_params *u)
{
    return (unsigned)u->fn < AF_UNARY_COUNT ? unary_special[u->fn] / 10.0 : 0;
}

/* Conv: W (M, C/g, k...) per group; depthwise (one input channel per group) is vector work.
 * Unless the conv is 1x1 with stride 1 and no padding, the input is first unfolded (im2col):
 * one tap per element of the (C/g * k, positions) matrix. */
static int is_pointwise(const af_conv_params *c)
{
    for (int s = 0; s < c->nsp && s < AF_MAX_SPATIAL; s++)
        if (c->kernel[s] != 1 || c->stride[s] != 1 || c->pad_begin[s] || c->pad_end[s]) return 0;
    return 1;
}

static void count_conv(const af_cost_node *n, work *w)
{
    const af_cost_tensor *x = &n->in[0], *wt = &n->in[1];
    double kin = tail(wt, 1), per_out = n->op == AF_OP_CONV ? numel(&n->out[0]) : numel(x);
    double macs = per_out * kin;
    if (n->op == AF_OP_CONV && n->p->conv.group > 1 && wt->rank >= 2 && wt->dims[1] == 1) {
        w->vec_macs = macs;
    } else {
        double m = (double)(n->op == AF_OP_CONV ? wt->dims[0] / (n->p->conv.group ? n->p->conv.group : 1)
                                                : wt->dims[1]);
        w->gemm_macs = macs;
        w->gemm_size = fmin(m, kin);
        if (n->op == AF_OP_CONV && m > 0 && !is_pointwise(&n->p->conv)) w->taps = macs / m;
    }
    w->special = numel(&n->out[0]) * special_of(&n->p->conv.act);
    if (n->op == AF_OP_CONV && n->n_in > 3 && n->in[3].rank >= 0)
        w->ops = numel(&n->out[0]); /* the fused residual add (its bytes count as an input) */
}

/* Gemm A (M,K) @ B (K,N); MatMul (...,M,K) @ (...,K,N): MACs = out elements x K. A batch-1
 * product is a GEMV (memory-bound): its size is min(K, N). */
static void count_dense(const af_cost_node *n, work *w)
{
    const af_cost_tensor *a = &n->in[0], *b = &n->in[1], *o = &n->out[0];
    if (a->rank < 1 || b->rank < 1 || o->rank < 1) return;
    int ta = n->op == AF_OP_GEMM && n->p->gemm.trans_a;
    double k = (double)(a->rank >= 2 && ta ? a->dims[0] : a->dims[a->rank - 1]);
    w->gemm_macs = numel(o) * k;
    w->gemm_size = fmin(k, (double)o->dims[o->rank - 1]);
    if (n->op == AF_OP_GEMM) w->special = numel(o) * special_of(&n->p->gemm.act);
}

/* q (...,Tq,d), v (...,Tk,dv): Tq*Tk*(d+dv) MACs and Tq*Tk exps per batch. The products are per
 * head: their GEMM size is the head size d (small heads use the GEMM units poorly). */
static void count_attention(const af_cost_node *n, work *w)
{
    if (n->n_in < 3 || n->in[0].rank < 2 || n->in[2].rank < 2) return;
    double h = n->p->attention.heads > 0 ? n->p->attention.heads : 1; /* heads side by side */
    double d = (double)n->in[0].dims[n->in[0].rank - 1] / h;
    double tk = (double)n->in[2].dims[n->in[2].rank - 2];
    double dv = (double)n->in[2].dims[n->in[2].rank - 1] / h;
    double rows = dv > 0 ? numel(&n->out[0]) / dv : 0; /* batch x Tq */
    w->gemm_macs = rows * tk * (d + dv);
    w->gemm_size = d;
    w->special = rows * tk; /* a softmax over every score row */
}

/* recurrent ops */
/* LSTM/GRU/RNN: X (S,B,I) [layout 1: (B,S,I)], Y (S,D,B,H) [layout 1: (B,S,D,H)], G gates. Per
 * direction and step: the input projection (B·G·H·I MACs, one GEMM over all steps) and the
 * recurrent product (B·G·H·H MACs, a GEMV per step: GEMM size H); G+1 activations and ~3G
 * other operations per hidden element. */
static void count_rnn(const af_cost_node *n, work *w)
{
    if (n->n_in < 3 || n->in[0].rank != 3 || n->in[2].rank != 3 || !n->n_out) return;
    double G = n->op == AF_OP_LSTM ? 4 : n->op == AF_OP_GRU ? 3 : 1;
    double I = (double)n->in[0].dims[2], H = (double)n->in[2].dims[2];
    double cells = numel(&n->out[0]) / (H > 0 ? H : 1); /* S·D·B hidden vectors */
    w->gemm_macs = cells * G * H * (I + H);
    w->gemm_size = fmin(H, I);
    w->special = cells * H * (G + 1);
    w->ops = cells * H * 3 * G;
}

/* Taps of the indexed loops. Pooling: one per window element (two for average pooling: the sum
 * and the count of valid elements). Resize: one source index per axis for each output element,
 * plus three per neighbour when interpolating (2 per resized axis linear, 4 cubic).
 * Permutes and gathers: one per element. */
static void count_taps(const af_cost_node *n, work *w)
{
    double o = numel(&n->out[0]);
    if (n->op == AF_OP_POOL) {
        double k = 1;
        for (int s = 0; s < n->p->pool.nsp && s < AF_MAX_SPATIAL; s++) k *= n->p->pool.kernel[s];
        w->taps = o * k * (n->p->pool.kind == AF_POOL_AVG ? 2 : 1);
    } else if (n->op == AF_OP_RESIZE) {
        double nb = 1;
        for (int d = 0; d < n->in[0].rank && d < AF_MAX_RANK; d++)
            if (n->p->resize.scale[d] != 1.0f)
                nb *= n->p->resize.mode == AF_RESIZE_LINEAR ? 2 : n->p->resize.mode == AF_RESIZE_CUBIC ? 4 : 1;
        w->taps = o * (n->in[0].rank + (n->p->resize.mode == AF_RESIZE_NEAREST ? 0 : 3 * nb));
    } else {
        w->taps = o; /* permutes and gathers: one indexed read per element */
    }
}

/* sampling and signal ops. GridSample: per output element 1 tap (nearest), 4 (bilinear) or 16 (bicubic),
 * one MAC each. RoiAlign: 4 taps and MACs per sample, sampling_ratio^2 samples per bin (adaptive:
 * assumed as if the ROI covered the whole map, ceil(H/oh) x ceil(W/ow)). DFT/STFT: a product with
 * the (length x bins) DFT matrix: per output bin, length complex terms (2 MACs per real input
 * value, 4 per complex one); GEMM size min(length, bins). MelWeightMatrix: one op per element. */
static void count_sample_signal(const af_cost_node *n, work *w)
{
    const af_cost_tensor *x = &n->in[0], *o = &n->out[0];
    double no = numel(o);
    if (n->op == AF_OP_GRID_SAMPLE) {
        int m = n->p->grid_sample.mode;
        w->taps = no * (m == AF_GRID_NEAREST ? 1 : m == AF_GRID_BICUBIC ? 16 : 4);
        w->ops = m == AF_GRID_NEAREST ? 0 : w->taps;
    } else if (n->op == AF_OP_ROI_ALIGN && x->rank == 4) {
        const af_roi_align_params *r = &n->p->roi_align;
        double sr = r->sampling_ratio;
        double s = sr > 0 ? sr * sr
                          : ceil((double)x->dims[2] / fmax(r->out_h, 1)) * ceil((double)x->dims[3] / fmax(r->out_w, 1));
        w->taps = no * s * 4, w->ops = no * s * 4;
    } else if ((n->op == AF_OP_DFT || n->op == AF_OP_STFT) && x->rank >= 2 && o->rank >= 2) {
        double len = (double)(n->op == AF_OP_DFT ? n->p->dft.length : n->p->stft.frame_length);
        double bins = (double)(n->op == AF_OP_DFT ? o->dims[n->p->dft.axis] : o->dims[2]);
        w->gemm_macs = no / 2 * len * 2 * (double)x->dims[x->rank - 1];
        w->gemm_size = fmin(len, bins);
        if (n->op == AF_OP_STFT && n->n_in > 1) w->ops = no / 2 / fmax(bins, 1) * len; /* window */
    } else if (n->op == AF_OP_MEL_WEIGHT_MATRIX) {
        w->ops = no;
    }
}

static void count_work(const af_cost_node *n, work *w)
{
    memset(w, 0, sizeof *w);
    double o = n->n_out ? numel(&n->out[0]) : 0, i = n->n_in ? numel(&n->in[0]) : 0;
    switch (n->op) {
    case AF_OP_CONV:
    case AF_OP_CONV_TRANSPOSE: if (n->n_in > 1) count_conv(n, w); break;
    case AF_OP_GEMM:
    case AF_OP_MATMUL: count_dense(n, w); break;
    case AF_OP_ATTENTION: count_attention(n, w); break;
    case AF_OP_POOL:
    case AF_OP_RESIZE:
    case AF_OP_TRANSPOSE:
    case AF_OP_DEPTH_TO_SPACE:
    case AF_OP_SPACE_TO_DEPTH:
    case AF_OP_GATHER:
    case AF_OP_GATHER_ELEMENTS:
    case AF_OP_TILE:
    case AF_OP_EXPAND: count_taps(n, w); break;
    case AF_OP_UNARY: w->ops = o, w->special = o * special_of(&n->p->unary); break;
    case AF_OP_GEGLU: w->ops = 2 * o, w->special = o * special_of(&n->p->unary); break;
    case AF_OP_BINARY:
    case AF_OP_WHERE:
    case AF_OP_CUMSUM:
    case AF_OP_TRILU: w->ops = o; break;
    case AF_OP_BATCHNORM: w->ops = 2 * o; break;
    case AF_OP_GLOBAL_POOL: w->ops = i; break;
    case AF_OP_REDUCE:
        w->ops = i;
        if (n->p->reduce.fn == AF_REDUCE_LOG_SUM_EXP) w->special = i;
        break;
    case AF_OP_SOFTMAX: w->special = o; break;
    case AF_OP_INSTANCE_NORM:
    case AF_OP_LAYER_NORM:
    case AF_OP_GROUP_NORM: /* two passes over the data (statistics, then normalise) */
        w->taps = 2 * o, w->ops = 4 * o, w->special = o * special_of(&n->p->norm.act);
        break;
    case AF_OP_LRN: w->ops = o * n->p->lrn.size, w->special = o; break;
    /* recurrent ops */
    case AF_OP_LSTM:
    case AF_OP_GRU:
    case AF_OP_RNN: count_rnn(n, w); break;
    /* sampling and signal ops */
    case AF_OP_GRID_SAMPLE:
    case AF_OP_ROI_ALIGN:
    case AF_OP_DFT:
    case AF_OP_STFT:
    case AF_OP_MEL_WEIGHT_MATRIX: count_sample_signal(n, w); break;
    /* indexing and selection ops */
    case AF_OP_GATHER_ND:
    case AF_OP_REVERSE_SEQUENCE:
    case AF_OP_ONE_HOT: w->taps = o; break; /* one indexed write per output element */
    case AF_OP_SCATTER_ND:
    case AF_OP_SCATTER_ELEMENTS: /* the copy of data, then one indexed update per element */
        w->taps = n->n_in > 2 ? numel(&n->in[2]) : 0, w->ops = w->taps;
        break;
    case AF_OP_MAX_UNPOOL: w->taps = i; break; /* zero fill is bytes; one tap per input */
    case AF_OP_NONZERO:
    case AF_OP_COMPRESS: w->ops = i, w->taps = o; break; /* a test per element, a copy out */
    case AF_OP_TOPK: /* a merge sort of every slice: n log2 n compares */
        if (n->p->topk.axis >= 0 && n->p->topk.axis < n->in[0].rank) {
            double len = (double)n->in[0].dims[n->p->topk.axis];
            w->ops = len > 1 ? i * log2(len) : i, w->taps = i;
        }
        break;
    /* losses, trigonometry and other elementwise ops */
    case AF_OP_NLL_LOSS: /* one indexed read and a multiply-add per sample */
        if (n->n_in > 1) w->taps = numel(&n->in[1]), w->ops = 2 * numel(&n->in[1]);
        break;
    case AF_OP_HARDMAX: w->ops = 2 * o; break; /* a compare per element, then the write */
    case AF_OP_DET: /* LU: about m^3/3 multiply-adds per (m,m) matrix */
        if (n->in[0].rank >= 2) {
            double m = (double)n->in[0].dims[n->in[0].rank - 1];
            w->ops = 2 * (i / (m > 0 ? m * m : 1)) * m * m * m / 3;
        }
        break;
    /* integer MACs priced as the dense ones (reference kernels on the CPU) */
    case AF_OP_QUANTIZE:
    case AF_OP_DEQUANTIZE:
    case AF_OP_QLINEAR_GLOBAL_AVGPOOL:
    case AF_OP_QLINEAR_BINARY:
    case AF_OP_DYN_QUANTIZE: w->ops = 2 * (o > i ? o : i); break;
    case AF_OP_CONV_INTEGER:
    case AF_OP_QLINEAR_CONV: {
        int wi = n->op == AF_OP_QLINEAR_CONV ? 3 : 1;
        const af_cost_tensor *wt = &n->in[wi];
        if (n->n_in > wi && wt->rank >= 2) w->gemm_macs = o * tail(wt, 1), w->ops = o;
        break;
    }
    case AF_OP_MATMUL_INTEGER:
    case AF_OP_QLINEAR_MATMUL:
        if (n->n_in > 0 && n->in[0].rank >= 1)
            w->gemm_macs = o * (double)n->in[0].dims[n->in[0].rank - 1], w->ops = o;
        break;
    case AF_OP_NMS: /* per batch and class: a sort of the scores, then up to one IoU (about 20
                       operations) per candidate and kept box */
        if (n->n_in > 1 && n->in[0].rank == 3) {
            double s = (double)n->in[0].dims[1], kept = fmin(s, (double)n->p->nms.max_output);
            double lists = n->in[1].rank == 3 ? numel(&n->in[1]) / (s > 0 ? s : 1) : 0;
            w->ops = lists * (s * (s > 1 ? log2(s) : 1) + 20 * s * kept), w->taps = lists * s;
        }
        break;
    default: break; /* copies, slices, concat, pad, cast: bytes only */
    }
}

/* Bytes the family reads for one constant. */
static double weight_bytes(const af_cost_tensor *t, const af_target_family *fam)
{
    double n = numel(t);
    if (t->wenc < 0 || t->wenc >= AF_WENC_COUNT) return n * (double)af_dtype_size(t->dtype);
    if (!((fam->native_streams >> t->wenc) & 1u)) return n * fam->decompressed_bits.value / 8.0;
    return t->stored_bytes > 0 ? t->stored_bytes : n * af_wenc_table[t->wenc].bits_per_weight / 8.0;
}

static double act_bytes(const af_cost_tensor *t, const af_target_family *fam)
{
    double per = is_float(t->dtype) ? fam->act_bytes.value : (double)af_dtype_size(t->dtype);
    return numel(t) * per;
}

/* Seconds of compute: each class at its rate; GEMM efficiency size/(size + half). */
static double compute_seconds(const work *w, const af_target_family *f)
{
    double eff = w->gemm_size > 0 ? w->gemm_size / (w->gemm_size + f->gemm_half.value) : 1.0;
    return 2 * w->gemm_macs / (f->peak_fp16_tops.value * 1e12 * eff) +
           (2 * w->vec_macs + w->ops) / (f->vector_tops.value * 1e12) +
           w->special / (f->special_gops.value * 1e9) + w->taps / (f->tap_gops.value * 1e9);
}

void af_cost_node_eval(const af_cost_node *n, const af_target_family *fam, af_op_cost *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->node, sizeof c->node, "%s", n->name ? n->name : "");
    snprintf(c->op, sizeof c->op, "%s", af_target_op_name(n->op, n->p));
    if (n->n_out && n->out[0].alias) return; /* an in-place reshape: no work, no dispatch */
    work w;
    count_work(n, &w);
    c->macs = w.gemm_macs + w.vec_macs;
    c->ops = w.ops;
    c->special = w.special;
    c->taps = w.taps;
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k].rank < 0) continue;
        if (n->in[k].is_const) c->weight_bytes += weight_bytes(&n->in[k], fam);
        else c->act_bytes += act_bytes(&n->in[k], fam);
    }
    for (int k = 0; k < n->n_out; k++) c->act_bytes += act_bytes(&n->out[k], fam);
    double compute_s = compute_seconds(&w, fam);
    double memory_s = c->act_bytes / (fam->dram_gbps.value * 1e9) +
                      c->weight_bytes / (fam->weight_gbps.value * 1e9);
    c->memory_bound = memory_s > compute_s;
    c->time_us = fmax(compute_s, memory_s) * 1e6 + fam->op_floor_us.value;
}

/* ---- report ------------------------------------------------------------------------- */

static af_status report_add(af_cost_report *r, const af_op_cost *c, double floor_us, af_err *err)
{
    if (r->n == r->cap) {
        int ncap = r->cap ? r->cap * 2 : 64;
        af_op_cost *o = realloc(r->ops, (size_t)ncap * sizeof *o);
        if (!o) return af_err_set(err, AF_ERR_NOMEM, "out of memory in the cost report");
        r->ops = o;
        r->cap = ncap;
    }
    r->ops[r->n++] = *c;
    r->macs += c->macs;
    r->act_bytes += c->act_bytes;
    r->weight_bytes += c->weight_bytes;
    r->time_us += c->time_us;
    if (c->time_us > 0) r->floor_us += floor_us;
    return AF_OK;
}

void af_cost_report_free(af_cost_report *r)
{
    if (!r) return;
    free(r->ops);
    memset(r, 0, sizeof *r);
}

/* AF_WENC_x of a constant stored as (dtype, bundle encoding value); -1 for non-weights (and for
 * an encoding without a row: costed at its dtype size). */
static int wenc_of(af_dtype dt, int encoding)
{
    if (encoding == 0) return dt == AF_DTYPE_F32 ? AF_WENC_FP32 : dt == AF_DTYPE_F16 ? AF_WENC_FP16 : -1;
    for (int i = 0; i < AF_WENC_COUNT; i++)
        if (af_wenc_table[i].bundle_encoding == encoding) return i;
    return -1;
}

static void apply_assumption(af_cost_tensor *t, int assume_wenc)
{
    if (assume_wenc < 0 || t->wenc < 0 || t->rank < 2 || numel(t) <= SMALL_WEIGHT_ELEMS) return;
    t->wenc = assume_wenc;
    t->stored_bytes = 0;
}

/* ---- adapters ---------------------------------------------------------------------- */

static af_cost_tensor from_graph(const af_graph *g, int id, int assume_wenc)
{
    af_cost_tensor c;
    memset(&c, 0, sizeof c);
    c.rank = -1;
    c.wenc = -1;
    if (id < 0) return c;
    const af_tensor *t = &g->tensors[id];
    c.dtype = t->dtype;
    c.rank = t->rank;
    memcpy(c.dims, t->dims, sizeof c.dims);
    c.is_const = af_tensor_is_const(t);
    if (c.is_const) c.wenc = wenc_of(t->dtype, (int)t->encoding);
    apply_assumption(&c, assume_wenc);
    return c;
}

af_status af_cost_graph(const af_graph *g, const af_target_family *fam, int assume_wenc,
                        af_cost_report *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    af_cost_tensor buf[64];
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        int n_in = n->n_in < 48 ? n->n_in : 48, n_out = n->n_out < 16 ? n->n_out : 16;
        for (int k = 0; k < n_in; k++) buf[k] = from_graph(g, n->in[k], assume_wenc);
        for (int k = 0; k < n_out; k++) {
            buf[n_in + k] = from_graph(g, n->out[k], assume_wenc);
            const af_tensor *o = &g->tensors[n->out[k]];
            buf[n_in + k].alias = (n->op == AF_OP_RESHAPE || n->op == AF_OP_IDENTITY) &&
                                  n->in[0] >= 0 && o->mem_offset >= 0 &&
                                  o->mem_offset == g->tensors[n->in[0]].mem_offset;
        }
        af_cost_node cn = {n->name, n->op, &n->p, n_in, n_out, buf, buf + n_in};
        af_op_cost c;
        af_cost_node_eval(&cn, fam, &c);
        if (report_add(r, &c, fam->op_floor_us.value, err) != AF_OK) return err->code;
    }
    return AF_OK;
}

static af_cost_tensor from_bundle(const afb_file *f, int32_t id, int assume_wenc)
{
    af_cost_tensor c;
    memset(&c, 0, sizeof c);
    c.rank = -1;
    c.wenc = -1;
    if (id < 0) return c;
    const afb_tensor *t = &f->tensors[id];
    c.dtype = t->dtype;
    c.rank = t->rank;
    memcpy(c.dims, t->dims, sizeof c.dims);
    c.is_const = t->storage == AFB_STORAGE_CONST;
    if (c.is_const) c.wenc = wenc_of(t->dtype, (int)t->encoding), c.stored_bytes = (double)t->data_bytes;
    apply_assumption(&c, assume_wenc);
    return c;
}

af_status af_cost_bundle(const afb_file *f, const af_target_family *fam, int assume_wenc,
                         af_cost_report *r, af_err *err)
{
    memset(r, 0, sizeof *r);
    af_cost_tensor buf[64];
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        int n_in = n->n_in < 48 ? n->n_in : 48, n_out = n->n_out < 16 ? n->n_out : 16;
        for (int k = 0; k < n_in; k++) buf[k] = from_bundle(f, n->in[k], assume_wenc);
        for (int k = 0; k < n_out; k++) {
            buf[n_in + k] = from_bundle(f, n->out[k], assume_wenc);
            const afb_tensor *o = &f->tensors[n->out[k]];
            const afb_tensor *a = n->n_in > 0 && n->in[0] >= 0 ? &f->tensors[n->in[0]] : NULL;
            buf[n_in + k].alias = (n->op == AF_OP_RESHAPE || n->op == AF_OP_IDENTITY) && a &&
                                  a->storage == AFB_STORAGE_ARENA && o->storage == AFB_STORAGE_ARENA &&
                                  a->arena_offset == o->arena_offset;
        }
        af_cost_node cn = {n->name, n->op, &n->p, n_in, n_out, buf, buf + n_in};
        af_op_cost c;
        af_cost_node_eval(&cn, fam, &c);
        if (report_add(r, &c, fam->op_floor_us.value, err) != AF_OK) return err->code;
    }
    return AF_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A model is costed as convert would write it by default: float32 constants stored as fp16. */
static void default_encodings(af_graph *g)
{
    for (int i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].data && g->tensors[i].dtype == AF_DTYPE_F32)
            g->tensors[i].encoding = AF_ENC_FP16;
}

af_status af_estimate_file(const char *path, const af_target_family *fam,
                           const af_estimate_options *opt, af_cost_report *r, char *msg,
                           size_t msg_size)
{
    af_err err = {0};
    af_estimate_options none = {NULL, 0, -1};
    if (!opt) opt = &none;
    memset(r, 0, sizeof *r);
    if (!fam) {
        af_err_set(&err, AF_ERR_USAGE, "no target family given");
    } else if (ends_with(path, ".afb")) {
        afb_file *f = NULL;
        if (afb_open_file(path, &f, &err) == AF_OK) {
            if (af_cost_bundle(f, fam, opt->assume_weights, r, &err) != AF_OK) af_err_prefix(&err, path);
            afb_close(f);
        }
    } else {
        af_graph g;
        af_graph_init(&g);
        if (af_target_load_model(path, opt->shapes, opt->n_shapes, &g, &err) == AF_OK) {
            default_encodings(&g);
            if (af_cost_graph(&g, fam, opt->assume_weights, r, &err) != AF_OK) af_err_prefix(&err, path);
        }
        af_graph_free(&g);
    }
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

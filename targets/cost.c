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

#define SMALL_WEIGHT_ELEMS 2048 /* DESIGN.md: tensors this small (or rank <= 1) stay fp16 */

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

/* Multiply-accumulates of the GEMM-shaped ops. */
static double count_macs(const af_cost_node *n)
{
    const af_cost_tensor *in = n->in, *out = n->out;
    switch (n->op) {
    case AF_OP_CONV: /* per output element: (C/g) * kernel volume = W (M, C/g, k...) dims 1.. */
        return n->n_in > 1 ? numel(&out[0]) * tail(&in[1], 1) : 0;
    case AF_OP_CONV_TRANSPOSE: /* W (C, M/g, k...): every input element feeds (M/g)*k outputs */
        return n->n_in > 1 ? numel(&in[0]) * tail(&in[1], 1) : 0;
    case AF_OP_GEMM: { /* A (M,K) or (K,M) */
        if (in[0].rank != 2) return 0;
        double k = (double)(n->p->gemm.trans_a ? in[0].dims[0] : in[0].dims[1]);
        return numel(&out[0]) * k;
    }
    case AF_OP_MATMUL: /* A (...,M,K) @ B (...,K,N) */
        return in[0].rank >= 1 ? numel(&out[0]) * (double)in[0].dims[in[0].rank - 1] : 0;
    case AF_OP_ATTENTION: { /* q (...,Tq,d), v (...,Tk,dv): Tq*Tk*(d+dv) per batch */
        if (n->n_in < 3 || in[0].rank < 2 || in[2].rank < 2) return 0;
        double d = (double)in[0].dims[in[0].rank - 1], tk = (double)in[2].dims[in[2].rank - 2];
        double dv = (double)in[2].dims[in[2].rank - 1];
        return dv > 0 ? numel(&out[0]) / dv * tk * (d + dv) : 0;
    }
    default:
        return 0;
    }
}

/* Other arithmetic, in operations. */
static double count_ops(const af_cost_node *n)
{
    double o = n->n_out ? numel(&n->out[0]) : 0, i = n->n_in ? numel(&n->in[0]) : 0;
    switch (n->op) {
    case AF_OP_UNARY:
    case AF_OP_BINARY:
    case AF_OP_WHERE:
    case AF_OP_CUMSUM:
    case AF_OP_TRILU: return o;
    case AF_OP_BATCHNORM: return 2 * o;
    case AF_OP_POOL: {
        double k = 1;
        for (int s = 0; s < n->p->pool.nsp && s < AF_MAX_SPATIAL; s++) k *= n->p->pool.kernel[s];
        return o * k;
    }
    case AF_OP_GLOBAL_POOL:
    case AF_OP_REDUCE: return i;
    case AF_OP_SOFTMAX: return 5 * o;
    case AF_OP_INSTANCE_NORM:
    case AF_OP_LAYER_NORM:
    case AF_OP_GROUP_NORM: return 8 * o;
    case AF_OP_LRN: return o * (n->p->lrn.size + 3);
    case AF_OP_RESIZE: return (n->p->resize.mode == AF_RESIZE_NEAREST ? 1 : 4) * o;
    case AF_OP_ATTENTION: return n->in[2].rank >= 2 ? 5 * o / (double)n->in[2].dims[n->in[2].rank - 1] * (double)n->in[2].dims[n->in[2].rank - 2] : 0;
    default: return 0; /* data movement: bytes only */
    }
}

/* Bytes the family reads for one constant. */
static double weight_bytes(const af_cost_tensor *t, const af_target_family *fam)
{
    double n = numel(t);
    if (t->wenc < 0 || t->wenc >= AF_WENC_COUNT) return n * (double)af_dtype_size(t->dtype);
    double bits = (fam->native_streams >> t->wenc) & 1u ? af_wenc_table[t->wenc].bits_per_weight
                                                         : fam->decompressed_bits.value;
    return n * bits / 8.0;
}

static double act_bytes(const af_cost_tensor *t, const af_target_family *fam)
{
    double per = is_float(t->dtype) ? fam->act_bytes.value : (double)af_dtype_size(t->dtype);
    return numel(t) * per;
}

/* A depthwise conv (one input channel per group) is not GEMM-shaped: it runs at the vector rate. */
static int is_depthwise(const af_cost_node *n)
{
    return n->op == AF_OP_CONV && n->p->conv.group > 1 && n->n_in > 1 && n->in[1].rank >= 2 &&
           n->in[1].dims[1] == 1;
}

void af_cost_node_eval(const af_cost_node *n, const af_target_family *fam, af_op_cost *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->node, sizeof c->node, "%s", n->name ? n->name : "");
    snprintf(c->op, sizeof c->op, "%s", af_target_op_name(n->op, n->p));
    if (n->n_out && n->out[0].alias) return; /* an in-place reshape: no work, no dispatch */
    c->macs = count_macs(n);
    c->ops = count_ops(n);
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k].rank < 0) continue;
        if (n->in[k].is_const) c->weight_bytes += weight_bytes(&n->in[k], fam);
        else c->act_bytes += act_bytes(&n->in[k], fam);
    }
    for (int k = 0; k < n->n_out; k++) c->act_bytes += act_bytes(&n->out[k], fam);
    double gemm_ops = is_depthwise(n) ? 0 : 2 * c->macs, vector_ops = c->ops + 2 * c->macs - gemm_ops;
    double compute_s = gemm_ops / (fam->peak_fp16_tops.value * 1e12) +
                       vector_ops / (fam->vector_tops.value * 1e12);
    double memory_s = (c->act_bytes + c->weight_bytes) / (fam->dram_gbps.value * 1e9);
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

/* AF_WENC_x of a constant stored as (dtype, bundle encoding value); -1 for non-weights. */
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
    if (c.is_const) c.wenc = wenc_of(t->dtype, (int)t->encoding);
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

/* lowering/fuse_qdq.c — QDQ groups run as the integer ops they stand for.
 *
 * A QDQ graph (ONNX Runtime's static quantizer, torch's quantized-model export) writes each
 * integer op as float ops between DequantizeLinear and QuantizeLinear:
 *
 *   Q(Conv(DQ(x), DQ(W), DQ(B int32)) [→ Relu])       → qlinear_conv(x, W, B)
 *   Q(Gemm(DQ(a), DQ(W), DQ(C int32)))                  → qlinear_matmul(a, Wᵀ, C)
 *   Q(GlobalAveragePool(DQ(x)))                         → qlinear_global_avgpool(x)
 *   Q(Add(DQ(a), DQ(b)) [→ Relu]), Q(Mul(DQ(a), DQ(b)))  → qlinear_binary(a, b)
 *   Q(MaxPool(DQ(x))), Q's parameters DQ's               → MaxPool(x) on the codes
 *
 * ONNX Runtime runs these groups as exactly those integer kernels (its QDQ fusions: QLinearConv,
 * QGemm, QLinearGlobalAveragePool, QLinearAdd, QLinearMul): exact int32 sums, one
 * requantization (Add and Mul: ONNX Runtime's own f32 formulas). The f32 ops instead
 * round every product and partial sum, so an output near a rounding boundary of the final
 * QuantizeLinear moves by one quantum, differently in every f32 implementation. Running the
 * integer op gives ONNX Runtime's codes bit for bit.
 *
 * Runs after fold, which has turned DQ(W) into the f32 weight carrying the model's own codes
 * as its pre-quantized INT8 blob (importers/onnx/onnx_ops_quant.c), and DQ(B) into f32 values:
 * the codes come from the blob (checked to decode to the weight bit for bit), the int32 bias
 * codes are recovered as the integers q with (float)q · (x_scale · w_scale) equal to the bias
 * bit for bit (ONNX Runtime reads the int32 codes as they are, i.e. assumes that bias scale).
 * A group that does not fit (no blob, a bias not on that grid, a Relu that the Q's zero point
 * does not make redundant, non-constant or non-scalar activation scales) keeps its f32 ops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../runtime/wdecode.h"
#include "lower.h"

/* The live node producing tensor t, or -1. */
static int producer(const af_graph *g, int t)
{
    int p = t >= 0 ? g->tensors[t].producer : -1;
    if (p < 0 || p >= g->n_nodes || g->nodes[p].op == AF_OP_NONE) return -1;
    for (int k = 0; k < g->nodes[p].n_out; k++)
        if (g->nodes[p].out[k] == t) return p;
    return -1;
}

/* t is read by exactly one node input and is not a graph output. */
static int sole_use(const af_graph *g, int t)
{
    return !(g->tensors[t].flags & AF_TENSOR_OUTPUT) && af_graph_use_count(g, t) == 1;
}

static int is_q8(af_dtype d) { return d == AF_DTYPE_I8 || d == AF_DTYPE_U8; }

/* A constant f32 scalar (one value, rank <= 1). */
static int const_scale(const af_graph *g, int t)
{
    const af_tensor *s = t >= 0 ? &g->tensors[t] : NULL;
    return s && s->data && s->dtype == AF_DTYPE_F32 && s->rank <= 1 && af_tensor_numel(s) == 1;
}

/* A constant one-value zero point of dtype dt, or an omitted one (t < 0). */
static int const_zp(const af_graph *g, int t, af_dtype dt)
{
    if (t < 0) return 1;
    const af_tensor *z = &g->tensors[t];
    return z->data && z->dtype == dt && z->rank <= 1 && af_tensor_numel(z) == 1;
}

/* A quantized activation: DequantizeLinear node d of a non-constant int8/uint8 tensor with a
 * constant per-tensor scale and zero point. */
static int dq_activation(const af_graph *g, int d)
{
    if (d < 0 || g->nodes[d].op != AF_OP_DEQUANTIZE) return 0;
    const af_node *n = &g->nodes[d];
    const af_tensor *x = &g->tensors[n->in[0]];
    return !x->data && is_q8(x->dtype) && const_scale(g, n->in[1]) &&
           const_zp(g, n->n_in > 2 ? n->in[2] : -1, x->dtype);
}

/* QuantizeLinear node q with a constant per-tensor scale and zero point (or none: uint8 0). */
static int q_fusable(const af_graph *g, int q)
{
    const af_node *n = &g->nodes[q];
    return n->op == AF_OP_QUANTIZE && const_scale(g, n->in[1]) &&
           const_zp(g, n->n_in > 2 ? n->in[2] : -1, g->tensors[n->out[0]].dtype);
}

/* ---- new constants --------------------------------------------------------------------- */

/* A new constant tensor named base+suffix owning data (freed on failure); -1 out of memory. */
static int add_const(af_graph *g, const char *base, const char *suffix, af_dtype dt, int rank,
                     const int64_t *dims, void *data)
{
    char name[300];
    snprintf(name, sizeof name, "%s%s", base, suffix);
    int t = data ? af_graph_add_tensor_unique(g, name, dt, rank, dims) : -1;
    if (t < 0) {
        free(data);
        return -1;
    }
    g->tensors[t].data = data;
    g->tensors[t].flags |= AF_TENSOR_KEEP_RAW;
    return t;
}

/* Zero point tensor t, or a new zero of dtype dt when t is omitted. */
static int zp_or_zero(af_graph *g, int t, af_dtype dt, const char *base)
{
    if (t >= 0) return t;
    int64_t one = 1;
    return add_const(g, base, "_zp0", dt, 1, &one, calloc(1, 1));
}

/* ---- the weight's codes ------------------------------------------------------------------ */

typedef struct qweight {
    af_dtype dt;       /* codes: int8 or uint8 */
    int64_t ns;        /* scales: 1 or dims[axis] */
    const float *s;    /* into the blob */
    const uint8_t *z;  /* into the blob, NULL without zero points */
    const uint8_t *q;  /* codes in C order, into the blob */
} qweight;

/* The model's codes of f32 constant w from its pre-quantized blob: per tensor, or per index
 * of axis (the output channels / columns); only when the blob decodes to w bit for bit. */
static int weight_codes(const af_tensor *w, int axis, qweight *qw)
{
    if (!w->data || !w->blob || w->dtype != AF_DTYPE_F32) return 0;
    af_wblob_head h;
    af_wblob_layout l;
    af_wblob_get_head(w->blob, &h);
    unsigned form = h.flags & ~(AF_WBLOB_ASYMMETRIC | AF_WBLOB_UNSIGNED);
    int per_axis = form == (AF_WBLOB_F32_SCALE | AF_WBLOB_AXIS | AF_WBLOB_PER_CHANNEL);
    if (h.enc != AFB_ENC_INT8 || (form != AF_WBLOB_F32_SCALE && !per_axis) ||
        (per_axis && (int)h.b != axis) || af_wblob_layout_of(&h, w->rank, w->dims, &l) ||
        l.total > w->blob_bytes)
        return 0;
    int64_t n = af_tensor_numel(w);
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    af_err e = {0};
    int same = d && af_wdecode(AFB_ENC_INT8, w->blob, w->blob_bytes, w->rank, w->dims, d,
                               w->name, &e) == AF_OK &&
               memcmp(d, w->data, (size_t)n * sizeof *d) == 0;
    free(d);
    if (!same) return 0;
    qw->dt = h.flags & AF_WBLOB_UNSIGNED ? AF_DTYPE_U8 : AF_DTYPE_I8;
    qw->ns = h.a;
    qw->s = (const float *)(const void *)(w->blob + l.params_off);
    qw->z = h.flags & AF_WBLOB_ASYMMETRIC ? w->blob + l.params2_off : NULL;
    qw->q = w->blob + l.data_off;
    return 1;
}

/* The int32 codes of f32 bias b (m values) on the grid x_scale · w_scale[c]: q with
 * (float)q · scale == b exactly (unique for |q| < 2^23); NULL when some value is not on it. */
static int32_t *bias_codes(const af_tensor *b, int64_t m, float xs, const qweight *qw)
{
    if (!b->data || b->dtype != AF_DTYPE_F32 || af_tensor_numel(b) != m) return NULL;
    int32_t *q = malloc((size_t)(m > 0 ? m : 1) * sizeof *q);
    const float *bv = b->data;
    for (int64_t c = 0; q && c < m; c++) {
        float sc = xs * qw->s[qw->ns == 1 ? 0 : c];
        double r = sc != 0.0f && isfinite(sc) ? rint((double)bv[c] / (double)sc) : NAN;
        if (!(fabs(r) < 8388608.0) || (float)(int32_t)r * sc != bv[c]) {
            free(q);
            return NULL;
        }
        q[c] = (int32_t)r;
    }
    return q;
}

/* New tensors for the codes (optionally transposed from (N,K) to (K,N)), scales and zero
 * points of qw; in[0..2] receive them. */
static int add_weight(af_graph *g, const af_tensor *w, const qweight *qw, int transpose,
                      int *in)
{
    int64_t n = af_tensor_numel(w), dims[AF_MAX_RANK], ns = qw->ns;
    int rank = w->rank;
    char base[260];
    snprintf(base, sizeof base, "%s", w->name);
    memcpy(dims, w->dims, sizeof dims);
    uint8_t *codes = malloc((size_t)(n > 0 ? n : 1));
    if (codes && transpose) { /* (N,K) → (K,N) */
        int64_t rows = w->dims[0], cols = w->dims[1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) codes[c * rows + r] = qw->q[r * cols + c];
        dims[0] = cols, dims[1] = rows;
    } else if (codes) {
        memcpy(codes, qw->q, (size_t)n);
    }
    float *s = malloc((size_t)ns * sizeof *s);
    uint8_t *z = calloc((size_t)ns, 1);
    if (s) memcpy(s, qw->s, (size_t)ns * sizeof *s);
    if (z && qw->z) memcpy(z, qw->z, (size_t)ns);
    in[0] = add_const(g, base, "_q", qw->dt, rank, dims, codes);
    in[1] = add_const(g, base, "_scale", AF_DTYPE_F32, 1, &ns, s);
    in[2] = add_const(g, base, "_zp", qw->dt, 1, &ns, z);
    return in[0] >= 0 && in[1] >= 0 && in[2] >= 0;
}

/* ---- rewriting ----------------------------------------------------------------------------- */

/* Turns Q node q into op over the n_in inputs in (its output stays), with params p. */
static af_status become(af_graph *g, int q, af_op op, const int *in, int n_in,
                        const af_params *p, af_err *err)
{
    int *ins = malloc(sizeof(int) * (size_t)n_in);
    if (!ins) return af_err_set(err, AF_ERR_NOMEM, "out of memory fusing '%s'", g->nodes[q].name);
    memcpy(ins, in, sizeof(int) * (size_t)n_in);
    af_node *n = &g->nodes[q];
    free(n->in);
    n->in = ins;
    n->n_in = n_in;
    n->op = op;
    n->p = *p;
    return AF_OK;
}

/* The float op feeding Q node q, skipping a Relu that Q's saturation makes redundant (its zero
 * point is the type's minimum, so Q clamps negatives to it anyway). *relu gets the Relu node
 * or -1. Every tensor between the op and q has q's chain as its only reader. */
static int float_op(const af_graph *g, int q, int *relu)
{
    int t = g->nodes[q].in[0], p = producer(g, t);
    *relu = -1;
    if (p < 0 || !sole_use(g, t)) return -1;
    const af_node *n = &g->nodes[p];
    if (n->op == AF_OP_UNARY && n->p.unary.fn == AF_UNARY_RELU) {
        const af_node *qn = &g->nodes[q];
        const af_tensor *z = qn->n_in > 2 && qn->in[2] >= 0 ? &g->tensors[qn->in[2]] : NULL;
        int32_t zp = !z ? 0 : z->dtype == AF_DTYPE_I8 ? *(const int8_t *)z->data
                                                      : *(const uint8_t *)z->data;
        int32_t lo = g->tensors[qn->out[0]].dtype == AF_DTYPE_I8 ? -128 : 0;
        if (zp != lo) return -1;
        *relu = p;
        t = n->in[0];
        p = producer(g, t);
        if (p < 0 || !sole_use(g, t)) return -1;
    }
    return p;
}

static void remove_chain(af_graph *g, int op, int relu)
{
    if (relu >= 0) af_graph_remove_node(g, relu);
    af_graph_remove_node(g, op);
}

/* in[0..2] = x, x_scale, x_zero_point of activation DQ node d. */
static int dq_inputs(af_graph *g, int d, int *in)
{
    const af_node *n = &g->nodes[d];
    int z = n->n_in > 2 ? n->in[2] : -1;
    in[0] = n->in[0];
    in[1] = n->in[1];
    char base[260];
    snprintf(base, sizeof base, "%s", g->tensors[n->in[0]].name);
    in[2] = zp_or_zero(g, z, g->tensors[in[0]].dtype, base);
    return in[2] >= 0;
}

/* in[6..7] = y_scale, y_zero_point of Q node q. */
static int q_outputs(af_graph *g, int q, int *in)
{
    const af_node *n = &g->nodes[q];
    int z = n->n_in > 2 ? n->in[2] : -1;
    char base[260];
    snprintf(base, sizeof base, "%s", g->tensors[n->out[0]].name);
    in[0] = n->in[1];
    in[1] = zp_or_zero(g, z, g->tensors[n->out[0]].dtype, base);
    return in[1] >= 0;
}

/* Q(Conv(DQ(x), W, B?) [→ Relu]) → qlinear_conv. 1 fused, 0 not this pattern. */
static int fuse_conv(af_graph *g, int q, af_err *err)
{
    int relu, c = float_op(g, q, &relu);
    if (c < 0 || g->nodes[c].op != AF_OP_CONV || g->nodes[c].n_in > 3 ||
        g->nodes[c].p.conv.act.fn != AF_UNARY_IDENTITY)
        return 0;
    const af_node *cn = &g->nodes[c];
    int d = producer(g, cn->in[0]);
    qweight qw;
    if (!dq_activation(g, d) || !weight_codes(&g->tensors[cn->in[1]], 0, &qw)) return 0;
    int64_t m = g->tensors[cn->in[1]].dims[0];
    float xs = *(const float *)g->tensors[g->nodes[d].in[1]].data;
    int32_t *bq = NULL;
    if (cn->n_in > 2 && cn->in[2] >= 0 && !(bq = bias_codes(&g->tensors[cn->in[2]], m, xs, &qw)))
        return 0;
    int in[9];
    af_params p = cn->p;
    char base[260];
    snprintf(base, sizeof base, "%s", cn->name);
    in[8] = -1;
    if (bq && (in[8] = add_const(g, base, "_bias_q", AF_DTYPE_I32, 1, &m, bq)) < 0)
        return -1;
    if (!dq_inputs(g, d, in) || !add_weight(g, &g->tensors[g->nodes[c].in[1]], &qw, 0, in + 3) ||
        !q_outputs(g, q, in + 6))
        return -1;
    if (become(g, q, AF_OP_QLINEAR_CONV, in, bq ? 9 : 8, &p, err)) return -1;
    remove_chain(g, c, relu);
    return 1;
}

/* Q(Gemm(DQ(a), W, C?)) with alpha = beta = 1 and A not transposed → qlinear_matmul. */
static int fuse_gemm(af_graph *g, int q, af_err *err)
{
    int relu, c = float_op(g, q, &relu);
    if (c < 0 || g->nodes[c].op != AF_OP_GEMM) return 0;
    const af_node *cn = &g->nodes[c];
    const af_gemm_params *gp = &cn->p.gemm;
    const af_tensor *w = &g->tensors[cn->in[1]];
    int d = producer(g, cn->in[0]);
    qweight qw;
    if (gp->alpha != 1.0f || (cn->n_in > 2 && gp->beta != 1.0f) || gp->trans_a ||
        gp->act.fn != AF_UNARY_IDENTITY || w->rank != 2 || !dq_activation(g, d) ||
        !weight_codes(w, gp->trans_b ? 0 : 1, &qw))
        return 0;
    int64_t n = w->dims[gp->trans_b ? 0 : 1];
    float xs = *(const float *)g->tensors[g->nodes[d].in[1]].data;
    int32_t *bq = NULL;
    if (cn->n_in > 2 && cn->in[2] >= 0 && !(bq = bias_codes(&g->tensors[cn->in[2]], n, xs, &qw)))
        return 0;
    int in[9];
    char base[260];
    snprintf(base, sizeof base, "%s", cn->name);
    in[8] = -1;
    if (bq && (in[8] = add_const(g, base, "_bias_q", AF_DTYPE_I32, 1, &n, bq)) < 0) return -1;
    if (!dq_inputs(g, d, in) ||
        !add_weight(g, &g->tensors[g->nodes[c].in[1]], &qw, g->nodes[c].p.gemm.trans_b, in + 3) ||
        !q_outputs(g, q, in + 6))
        return -1;
    af_params p;
    memset(&p, 0, sizeof p);
    if (become(g, q, AF_OP_QLINEAR_MATMUL, in, bq ? 9 : 8, &p, err)) return -1;
    remove_chain(g, c, relu);
    return 1;
}

/* Q(GlobalAveragePool(DQ(x))) → qlinear_global_avgpool(x, xs, xzp, ys, yzp). */
static int fuse_gap(af_graph *g, int q, af_err *err)
{
    int relu, c = float_op(g, q, &relu);
    if (c < 0 || relu >= 0 || g->nodes[c].op != AF_OP_GLOBAL_POOL ||
        g->nodes[c].p.global_pool.kind != AF_POOL_AVG)
        return 0;
    int d = producer(g, g->nodes[c].in[0]);
    if (!dq_activation(g, d) || g->tensors[g->nodes[d].in[0]].rank < 3) return 0;
    int in[5];
    if (!dq_inputs(g, d, in) || !q_outputs(g, q, in + 3)) return -1;
    af_params p;
    memset(&p, 0, sizeof p);
    if (become(g, q, AF_OP_QLINEAR_GLOBAL_AVGPOOL, in, 5, &p, err)) return -1;
    remove_chain(g, c, relu);
    return 1;
}

/* The value of zero point t (omitted: 0). */
static int32_t zp_value(const af_graph *g, int t)
{
    if (t < 0) return 0;
    const af_tensor *z = &g->tensors[t];
    return z->dtype == AF_DTYPE_I8 ? *(const int8_t *)z->data : *(const uint8_t *)z->data;
}

/* Q(MaxPool(DQ(x))) with Q's scale, zero point and type those of DQ → MaxPool of the codes x
 * (ONNX Runtime drops such a pair around MaxPool and pools the codes: the max of codes is the
 * code of the max, for a positive scale). */
static int fuse_maxpool(af_graph *g, int q, af_err *err)
{
    int relu, c = float_op(g, q, &relu);
    if (c < 0 || relu >= 0 || g->nodes[c].op != AF_OP_POOL || g->nodes[c].n_out != 1 ||
        g->nodes[c].p.pool.kind != AF_POOL_MAX)
        return 0;
    int d = producer(g, g->nodes[c].in[0]);
    if (!dq_activation(g, d)) return 0;
    const af_node *dn = &g->nodes[d], *qn = &g->nodes[q];
    float ds = *(const float *)g->tensors[dn->in[1]].data;
    float qs = *(const float *)g->tensors[qn->in[1]].data;
    if (g->tensors[dn->in[0]].dtype != g->tensors[qn->out[0]].dtype || !(ds > 0) ||
        memcmp(&ds, &qs, sizeof ds) != 0 ||
        zp_value(g, dn->n_in > 2 ? dn->in[2] : -1) != zp_value(g, qn->n_in > 2 ? qn->in[2] : -1))
        return 0;
    af_params p = g->nodes[c].p;
    int x = dn->in[0];
    if (become(g, q, AF_OP_POOL, &x, 1, &p, err)) return -1;
    remove_chain(g, c, relu);
    return 1;
}

/* 1 when tensor b broadcasts to y's shape (numpy rules). */
static int broadcasts_to(const af_tensor *b, const af_tensor *y)
{
    if (b->rank > y->rank) return 0;
    for (int k = 0; k < b->rank; k++) {
        int64_t d = b->dims[b->rank - 1 - k];
        if (d != 1 && d != y->dims[y->rank - 1 - k]) return 0;
    }
    return 1;
}

/* Q(Add(DQ(a), DQ(b)) [→ Relu]) of equal shapes, Q(Mul(DQ(a), DQ(b))) also broadcast →
 * qlinear_binary (ONNX Runtime's QLinearAdd / QLinearMul; see the kernel for their f32
 * formulas, which an Add of a broadcast operand evaluates in another order). */
static int fuse_binary(af_graph *g, int q, af_err *err)
{
    int relu, c = float_op(g, q, &relu);
    if (c < 0 || g->nodes[c].op != AF_OP_BINARY || g->nodes[c].n_in != 2) return 0;
    int fn = g->nodes[c].p.binary.fn;
    if ((fn != AF_BINARY_ADD && fn != AF_BINARY_MUL) || (fn == AF_BINARY_MUL && relu >= 0))
        return 0;
    int da = producer(g, g->nodes[c].in[0]), db = producer(g, g->nodes[c].in[1]);
    if (!dq_activation(g, da) || !dq_activation(g, db)) return 0;
    const af_tensor *a = &g->tensors[g->nodes[da].in[0]], *b = &g->tensors[g->nodes[db].in[0]];
    const af_tensor *y = &g->tensors[g->nodes[q].out[0]];
    if (a->dtype != y->dtype || b->dtype != y->dtype) return 0;
    if (fn == AF_BINARY_ADD ? !af_tensor_same_shape(a, y) || !af_tensor_same_shape(b, y)
                            : !broadcasts_to(a, y) || !broadcasts_to(b, y))
        return 0;
    int in[8];
    if (!dq_inputs(g, da, in) || !dq_inputs(g, db, in + 3) || !q_outputs(g, q, in + 6))
        return -1;
    af_params p;
    memset(&p, 0, sizeof p);
    p.binary.fn = fn;
    if (become(g, q, AF_OP_QLINEAR_BINARY, in, 8, &p, err)) return -1;
    remove_chain(g, c, relu);
    return 1;
}

af_status af_lower_fuse_qdq(af_graph *g, af_lower_stats *st, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].op != AF_OP_QUANTIZE || !q_fusable(g, i)) continue;
        int r = fuse_conv(g, i, err);
        if (r == 0) r = fuse_gemm(g, i, err);
        if (r == 0) r = fuse_gap(g, i, err);
        if (r == 0) r = fuse_binary(g, i, err);
        if (r == 0) r = fuse_maxpool(g, i, err);
        if (r < 0)
            return err->code ? err->code
                             : af_err_set(err, AF_ERR_NOMEM, "out of memory fusing '%s'",
                                          g->nodes[i].name);
        if (r > 0 && st) st->qdq_fused++;
    }
    return AF_OK;
}

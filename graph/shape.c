/* graph/shape.c — shape inference driver, shared helpers, and the elementwise / dense ops. */
#include "shape_impl.h"
#include "shape_quant.h" /* quantized graphs */

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------- */

af_status sh_err(const af_node *n, af_err *err, af_status code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return af_err_set(err, code, "node '%s' (%s): %s", n->name, af_op_name(n->op), msg);
}

af_tensor *sh_in(af_graph *g, const af_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0) return NULL;
    return &g->tensors[n->in[k]];
}

void sh_set_out(af_graph *g, const af_node *n, int k, af_dtype dt, int rank, const int64_t *dims)
{
    af_tensor *t = &g->tensors[n->out[k]];
    t->dtype = dt;
    t->rank = rank;
    for (int i = 0; i < AF_MAX_RANK; i++) t->dims[i] = i < rank ? dims[i] : -1;
}

const char *sh_str(const af_tensor *t, char *buf)
{
    return af_shape_str(t->rank, t->dims, buf, 96);
}

int sh_axis(int64_t axis, int rank, int *out)
{
    if (axis < -(int64_t)rank || axis >= rank) return -1;
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

int64_t sh_prod(const int64_t *dims, int a, int b)
{
    int64_t p = 1;
    for (int i = a; i < b; i++) {
        if (dims[i] != 0 && p > INT64_MAX / dims[i]) return -1;
        p *= dims[i];
    }
    return p;
}

static af_status const_check(af_graph *g, const af_node *n, int k, const char *what, int max,
                             int64_t *numel, af_err *err)
{
    af_tensor *t = sh_in(g, n, k);
    if (!t) return sh_err(n, err, AF_ERR_INTERNAL, "the %s input is missing", what);
    if (!af_tensor_is_const(t))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "the %s input '%s' is not a constant", what,
                      t->name);
    if (t->rank > 1)
        return sh_err(n, err, AF_ERR_SHAPE, "the %s input '%s' must be 1-D, has rank %d", what,
                      t->name, t->rank);
    *numel = af_tensor_numel(t);
    if (*numel < 0 || *numel > max)
        return sh_err(n, err, AF_ERR_SHAPE, "the %s input '%s' has %lld values (at most %d)",
                      what, t->name, (long long)*numel, max);
    return AF_OK;
}

af_status sh_const_ints(af_graph *g, const af_node *n, int k, const char *what, int64_t *vals,
                        int max, int *count, af_err *err)
{
    int64_t m;
    af_status st = const_check(g, n, k, what, max, &m, err);
    if (st) return st;
    af_tensor *t = sh_in(g, n, k);
    for (int64_t i = 0; i < m; i++) {
        if (t->dtype == AF_DTYPE_I64) vals[i] = ((const int64_t *)t->data)[i];
        else if (t->dtype == AF_DTYPE_I32) vals[i] = ((const int32_t *)t->data)[i];
        else
            return sh_err(n, err, AF_ERR_SHAPE, "the %s input '%s' must be i32 or i64, not %s",
                          what, t->name, af_dtype_name(t->dtype));
    }
    *count = (int)m;
    return AF_OK;
}

af_status sh_const_floats(af_graph *g, const af_node *n, int k, const char *what, double *vals,
                          int max, int *count, af_err *err)
{
    int64_t m;
    af_status st = const_check(g, n, k, what, max, &m, err);
    if (st) return st;
    af_tensor *t = sh_in(g, n, k);
    for (int64_t i = 0; i < m; i++) vals[i] = af_dtype_get(t->dtype, t->data, (size_t)i);
    *count = (int)m;
    return AF_OK;
}

static void copy_shape(af_graph *g, const af_node *n, int k, af_dtype dt, const af_tensor *x)
{
    sh_set_out(g, n, k, dt, x->rank, x->dims);
}

/* ---- elementwise ---------------------------------------------------------------------- */

static af_status shape_identity(af_graph *g, af_node *n, af_err *err)
{
    (void)err;
    af_tensor *x = sh_in(g, n, 0);
    copy_shape(g, n, 0, x->dtype, x);
    return AF_OK;
}

static af_status clip_bound(af_graph *g, af_node *n, int k, const char *what, float dflt,
                            float *out, af_err *err)
{
    if (!sh_in(g, n, k)) {
        *out = dflt;
        return AF_OK;
    }
    double v[1];
    int c;
    af_status st = sh_const_floats(g, n, k, what, v, 1, &c, err);
    if (st) return st;
    if (c != 1) return sh_err(n, err, AF_ERR_SHAPE, "the Clip %s input must hold one value", what);
    *out = (float)v[0];
    return AF_OK;
}

static af_status shape_unary(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    af_unary_params *p = &n->p.unary;
    if (p->fn < 0 || p->fn >= AF_UNARY_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad unary function %d", (int)p->fn);
    if (p->fn == AF_UNARY_CLIP && n->n_in > 1) {
        af_status st = clip_bound(g, n, 1, "min", -INFINITY, &p->alpha, err);
        if (!st) st = clip_bound(g, n, 2, "max", INFINITY, &p->beta, err);
        if (st) return st;
    }
    if (n->n_in > 1) n->n_in = 1;
    int to_bool = p->fn == AF_UNARY_NOT || p->fn == AF_UNARY_ISNAN || p->fn == AF_UNARY_ISINF;
    copy_shape(g, n, 0, to_bool ? AF_DTYPE_BOOL : x->dtype, x);
    return AF_OK;
}

/* numpy broadcasting of a and b into out; -1 when they do not broadcast. */
static int broadcast(const af_tensor *a, const af_tensor *b, int *rank, int64_t *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        int dyn = ia >= 0 && ib >= 0 && (a->dyn >> ia & 1u) && (b->dyn >> ib & 1u);
        if (dyn && da != db) { /* two data-dependent extents: the run checks they agree */
            out[i] = da > db ? da : db;
            continue;
        }
        if (da != db && da != 1 && db != 1) return -1;
        out[i] = da == 1 ? db : da;
    }
    *rank = r;
    return 0;
}

static af_status shape_binary(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *a = sh_in(g, n, 0), *b = sh_in(g, n, 1);
    int fn = n->p.binary.fn, r;
    int64_t dims[AF_MAX_RANK];
    char sa[96], sb[96];
    if (fn < 0 || fn >= AF_BINARY_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad binary function %d", fn);
    if (broadcast(a, b, &r, dims))
        return sh_err(n, err, AF_ERR_SHAPE, "%s shapes %s and %s do not broadcast",
                      af_binary_names[fn], sh_str(a, sa), sh_str(b, sb));
    if (fn == AF_BINARY_PRELU && (r != a->rank || memcmp(dims, a->dims, sizeof(int64_t) * r)))
        return sh_err(n, err, AF_ERR_SHAPE, "PRelu slope %s does not broadcast to input %s",
                      sh_str(b, sb), sh_str(a, sa));
    af_dtype dt = fn >= AF_BINARY_EQUAL && fn <= AF_BINARY_XOR ? AF_DTYPE_BOOL : a->dtype;
    sh_set_out(g, n, 0, dt, r, dims);
    return AF_OK;
}

static af_status shape_cast(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (n->p.cast.to < 0 || n->p.cast.to >= AF_DTYPE_COUNT)
        return sh_err(n, err, AF_ERR_INTERNAL, "bad cast dtype %d", (int)n->p.cast.to);
    copy_shape(g, n, 0, (af_dtype)n->p.cast.to, x);
    return AF_OK;
}

/* ---- dense ------------------------------------------------------------------------------ */

static af_status shape_gemm(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *a = sh_in(g, n, 0), *b = sh_in(g, n, 1), *c = sh_in(g, n, 2);
    const af_gemm_params *p = &n->p.gemm;
    char sa[96], sb[96];
    if (a->rank != 2 || b->rank != 2)
        return sh_err(n, err, AF_ERR_SHAPE, "Gemm needs 2-D operands, got %s and %s",
                      sh_str(a, sa), sh_str(b, sb));
    int64_t m = a->dims[p->trans_a ? 1 : 0], k = a->dims[p->trans_a ? 0 : 1];
    int64_t kb = b->dims[p->trans_b ? 1 : 0], nn = b->dims[p->trans_b ? 0 : 1];
    if (k != kb)
        return sh_err(n, err, AF_ERR_SHAPE, "inner dimensions differ: A %s%s, B %s%s",
                      sh_str(a, sa), p->trans_a ? "^T" : "", sh_str(b, sb),
                      p->trans_b ? "^T" : "");
    int64_t dims[2] = {m, nn};
    if (c) {
        af_tensor mn = {.rank = 2, .dims = {m, nn}};
        int r;
        int64_t bd[AF_MAX_RANK];
        if (c->rank > 2 || broadcast(&mn, c, &r, bd) || bd[0] != m || bd[1] != nn)
            return sh_err(n, err, AF_ERR_SHAPE, "C %s does not broadcast to (%lld,%lld)",
                          sh_str(c, sa), (long long)m, (long long)nn);
    }
    sh_set_out(g, n, 0, a->dtype, 2, dims);
    return AF_OK;
}

/* numpy matmul: 1-D a is (1,K) and 1-D b is (K,1), the added axis removed afterwards. */
static af_status shape_matmul(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *a = sh_in(g, n, 0), *b = sh_in(g, n, 1);
    char sa[96], sb[96];
    if (a->rank < 1 || b->rank < 1)
        return sh_err(n, err, AF_ERR_SHAPE, "MatMul operands must have rank >= 1");
    af_tensor a2 = *a, b2 = *b;
    if (a->rank == 1) {
        a2.rank = 2;
        a2.dims[0] = 1;
        a2.dims[1] = a->dims[0];
    }
    if (b->rank == 1) {
        b2.rank = 2;
        b2.dims[1] = 1;
    }
    int64_t m = a2.dims[a2.rank - 2], k = a2.dims[a2.rank - 1];
    int64_t kb = b2.dims[b2.rank - 2], nn = b2.dims[b2.rank - 1];
    if (k != kb)
        return sh_err(n, err, AF_ERR_SHAPE, "MatMul inner dimensions differ: %s @ %s",
                      sh_str(a, sa), sh_str(b, sb));
    af_tensor ba = a2, bb = b2;
    ba.rank -= 2;
    bb.rank -= 2;
    int r;
    int64_t dims[AF_MAX_RANK + 2];
    if (broadcast(&ba, &bb, &r, dims))
        return sh_err(n, err, AF_ERR_SHAPE, "MatMul batch dimensions of %s and %s do not "
                      "broadcast", sh_str(a, sa), sh_str(b, sb));
    if (a->rank > 1) dims[r++] = m;
    if (b->rank > 1) dims[r++] = nn;
    if (r > AF_MAX_RANK) return sh_err(n, err, AF_ERR_SHAPE, "rank too large");
    sh_set_out(g, n, 0, a->dtype, r, dims);
    return AF_OK;
}

static af_status shape_batchnorm(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank < 2)
        return sh_err(n, err, AF_ERR_SHAPE, "input %s needs rank >= 2", sh_str(x, s));
    static const char *const what[4] = {"scale", "bias", "mean", "var"};
    for (int k = 1; k < 5; k++) {
        af_tensor *t = sh_in(g, n, k);
        if (!t) return sh_err(n, err, AF_ERR_SHAPE, "the %s input is missing", what[k - 1]);
        if (af_tensor_numel(t) != x->dims[1] || t->rank != 1)
            return sh_err(n, err, AF_ERR_SHAPE, "%s '%s' %s does not match %lld channels",
                          what[k - 1], t->name, sh_str(t, s), (long long)x->dims[1]);
    }
    copy_shape(g, n, 0, x->dtype, x);
    return AF_OK;
}

static af_status shape_softmax(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int ax;
    if (x->rank == 0) return sh_err(n, err, AF_ERR_SHAPE, "input must have rank >= 1");
    if (sh_axis(n->p.softmax.axis, x->rank, &ax))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d",
                      (int)n->p.softmax.axis, x->rank);
    n->p.softmax.axis = ax;
    copy_shape(g, n, 0, x->dtype, x);
    return AF_OK;
}

/* x (..., 2h) → (..., h) */
static af_status shape_geglu(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (n->p.unary.fn != AF_UNARY_GELU)
        return sh_err(n, err, AF_ERR_INTERNAL, "geglu: the gate must be gelu");
    if (x->dtype != AF_DTYPE_F32 || x->rank < 1 || x->dims[x->rank - 1] % 2)
        return sh_err(n, err, AF_ERR_SHAPE, "geglu: x must be f32 with an even last dim");
    int64_t dims[AF_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[x->rank - 1] /= 2;
    sh_set_out(g, n, 0, x->dtype, x->rank, dims);
    return AF_OK;
}

/* ---- driver ------------------------------------------------------------------------------ */

static const af_shape_fn shape_fns[AF_OP_COUNT] = {
    [AF_OP_IDENTITY] = shape_identity,
    [AF_OP_CONV] = af_shape_conv,
    [AF_OP_CONV_TRANSPOSE] = af_shape_conv_transpose,
    [AF_OP_BATCHNORM] = shape_batchnorm,
    [AF_OP_UNARY] = shape_unary,
    [AF_OP_BINARY] = shape_binary,
    [AF_OP_GEMM] = shape_gemm,
    [AF_OP_MATMUL] = shape_matmul,
    [AF_OP_POOL] = af_shape_pool,
    [AF_OP_GLOBAL_POOL] = af_shape_global_pool,
    [AF_OP_RESHAPE] = af_shape_reshape,
    [AF_OP_TRANSPOSE] = af_shape_transpose,
    [AF_OP_CONCAT] = af_shape_concat,
    [AF_OP_SPLIT] = af_shape_split,
    [AF_OP_SLICE] = af_shape_slice,
    [AF_OP_GATHER] = af_shape_gather,
    [AF_OP_SOFTMAX] = shape_softmax,
    [AF_OP_REDUCE] = af_shape_reduce,
    [AF_OP_PAD] = af_shape_pad,
    [AF_OP_RESIZE] = af_shape_resize,
    [AF_OP_CAST] = shape_cast,
    [AF_OP_SHAPE] = af_shape_shape,
    [AF_OP_CONSTANT_OF_SHAPE] = af_shape_const_of_shape,
    [AF_OP_EXPAND] = af_shape_expand,
    [AF_OP_WHERE] = af_shape_where,
    [AF_OP_TILE] = af_shape_tile,
    [AF_OP_CUMSUM] = af_shape_cumsum,
    [AF_OP_DEPTH_TO_SPACE] = af_shape_d2s,
    [AF_OP_SPACE_TO_DEPTH] = af_shape_d2s,
    [AF_OP_GATHER_ELEMENTS] = af_shape_gather_elements,
    [AF_OP_LRN] = af_shape_lrn,
    [AF_OP_TRILU] = af_shape_trilu,
    [AF_OP_RANGE] = af_shape_range,
    [AF_OP_SIZE] = af_shape_size,
    [AF_OP_INSTANCE_NORM] = af_shape_instance_norm,
    [AF_OP_GROUP_NORM] = af_shape_group_norm,
    [AF_OP_LAYER_NORM] = af_shape_layer_norm,
    [AF_OP_ATTENTION] = af_shape_attention,
    /* recurrent ops */
    [AF_OP_LSTM] = af_shape_rnn,
    [AF_OP_GRU] = af_shape_rnn,
    [AF_OP_RNN] = af_shape_rnn,
    /* sampling and signal ops */
    [AF_OP_GRID_SAMPLE] = af_shape_grid_sample,
    [AF_OP_ROI_ALIGN] = af_shape_roi_align,
    [AF_OP_DFT] = af_shape_dft,
    [AF_OP_STFT] = af_shape_stft,
    [AF_OP_MEL_WEIGHT_MATRIX] = af_shape_mel_weight_matrix,
    /* indexing and selection ops */
    [AF_OP_TOPK] = af_shape_topk,
    [AF_OP_SCATTER_ND] = af_shape_scatter,
    [AF_OP_SCATTER_ELEMENTS] = af_shape_scatter,
    [AF_OP_GATHER_ND] = af_shape_gather_nd,
    [AF_OP_ONE_HOT] = af_shape_one_hot,
    [AF_OP_REVERSE_SEQUENCE] = af_shape_reverse_sequence,
    [AF_OP_MAX_UNPOOL] = af_shape_max_unpool,
    /* losses, trigonometry and other elementwise ops */
    [AF_OP_NLL_LOSS] = af_shape_nll_loss,
    [AF_OP_HARDMAX] = shape_softmax, /* same axis rule, same output */
    [AF_OP_EYE_LIKE] = af_shape_eye_like,
    [AF_OP_DET] = af_shape_det,
    [AF_OP_WINDOW] = af_shape_window,
    /* quantized graphs */
    [AF_OP_QUANTIZE] = af_shape_quantize,
    [AF_OP_DEQUANTIZE] = af_shape_dequantize,
    [AF_OP_DYN_QUANTIZE] = af_shape_dyn_quantize,
    [AF_OP_CONV_INTEGER] = af_shape_conv_integer,
    [AF_OP_QLINEAR_CONV] = af_shape_qlinear_conv,
    [AF_OP_MATMUL_INTEGER] = af_shape_matmul_integer,
    [AF_OP_QLINEAR_MATMUL] = af_shape_qlinear_matmul,
    [AF_OP_NMS] = af_shape_nms,
    [AF_OP_NONZERO] = af_shape_nonzero,
    [AF_OP_COMPRESS] = af_shape_compress,
    [AF_OP_GEGLU] = shape_geglu,
    [AF_OP_SELECT] = af_shape_select,
    [AF_OP_QLINEAR_GLOBAL_AVGPOOL] = af_shape_qlinear_gap,
    [AF_OP_QLINEAR_BINARY] = af_shape_qlinear_binary,
};

/* Arity from the op table; the first input present; every present input with a known shape. */
static af_status check_inputs(af_graph *g, const af_node *n, af_err *err)
{
    const af_op_info *info = &af_op_table[n->op];
    if (n->n_in < info->min_in || (info->max_in >= 0 && n->n_in > info->max_in) ||
        n->n_out < info->min_out || (info->max_out >= 0 && n->n_out > info->max_out))
        return sh_err(n, err, AF_ERR_INTERNAL, "%d inputs and %d outputs do not fit the op",
                      n->n_in, n->n_out);
    if (n->in[0] < 0) return sh_err(n, err, AF_ERR_SHAPE, "the first input is missing");
    for (int k = 0; k < n->n_in; k++) {
        if (n->in[k] < -1 || n->in[k] >= g->n_tensors)
            return sh_err(n, err, AF_ERR_INTERNAL, "input %d out of range", k);
        af_tensor *t = sh_in(g, n, k);
        if (t && !af_tensor_shape_known(t))
            return sh_err(n, err, AF_ERR_SHAPE, "input '%s' has no known shape", t->name);
    }
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] < 0 || n->out[k] >= g->n_tensors)
            return sh_err(n, err, AF_ERR_INTERNAL, "output %d out of range", k);
    return AF_OK;
}

af_status af_shape_infer_node(af_graph *g, int i, af_err *err)
{
    if (i < 0 || i >= g->n_nodes)
        return af_err_set(err, AF_ERR_INTERNAL, "node index %d out of range", i);
    af_node *n = &g->nodes[i];
    if (n->op == AF_OP_NONE) return AF_OK;
    if ((unsigned)n->op >= AF_OP_COUNT || !shape_fns[n->op])
        return af_err_set(err, AF_ERR_INTERNAL, "node '%s': unknown op %d", n->name, (int)n->op);
    af_status st = check_inputs(g, n, err);
    if (!st) st = af_dyn_check(g, n, err);
    if (!st) st = shape_fns[n->op](g, n, err);
    return st ? st : af_dyn_infer(g, n, err);
}

af_status af_shape_infer_graph(af_graph *g, af_err *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        af_status st = af_shape_infer_node(g, i, err);
        if (st) return st;
        af_op op = g->nodes[i].op;
        if ((op == AF_OP_SHAPE || op == AF_OP_CONSTANT_OF_SHAPE) &&
            af_tensor_is_const(&g->tensors[g->nodes[i].out[0]]))
            af_graph_remove_node(g, i);
    }
    return AF_OK;
}

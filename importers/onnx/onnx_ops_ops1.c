/* importers/onnx/onnx_ops_ops1.c — ONNX → IR for the losses, trigonometry and small-op group: the trigonometric
 * and hyperbolic functions, Shrink, IsNaN, IsInf, BitShift, Hardmax, EyeLike, Det, the window
 * functions, NegativeLogLikelihoodLoss, and two exact expansions: SoftmaxCrossEntropyLoss
 * (LogSoftmax over axis 1, then NegativeLogLikelihoodLoss) and MeanVarianceNormalization (its
 * ONNX function body). */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>

/* Unary functions with attributes: Shrink (lambd, bias), IsInf (detect_negative/positive). */
af_status onnx_map_unary_ops1(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.unary.fn = nd->arg;
    if (nd->arg == AF_UNARY_SHRINK) {
        p.unary.alpha = onnx_attr_f(c, nd, "lambd", 0.5f);
        p.unary.beta = onnx_attr_f(c, nd, "bias", 0.0f);
    } else if (nd->arg == AF_UNARY_ISINF) {
        p.unary.alpha = onnx_attr_i(c, nd, "detect_negative", 1) != 0;
        p.unary.beta = onnx_attr_i(c, nd, "detect_positive", 1) != 0;
    }
    return onnx_emit(c, nd, AF_OP_UNARY, in, 1, 1, &p, NULL);
}

af_status onnx_map_bitshift(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (st) return st;
    char dir[16];
    onnx_attr_s(c, nd, "direction", "", dir, sizeof dir);
    af_params p = {0};
    if (!strcmp(dir, "LEFT")) p.binary.fn = AF_BINARY_SHIFT_LEFT;
    else if (!strcmp(dir, "RIGHT")) p.binary.fn = AF_BINARY_SHIFT_RIGHT;
    else return onnx_node_err(c, nd, AF_ERR_FORMAT, "direction '%s' is not LEFT or RIGHT", dir);
    return onnx_emit(c, nd, AF_OP_BINARY, in, 2, 1, &p, NULL);
}

/* An ONNX dtype attribute → IR dtype (DOUBLE narrows to f32); def when absent. */
static af_status dtype_attr(onnx_ctx *c, const onnx_node *nd, const char *name, int32_t def,
                            int32_t *out)
{
    if (!onnx_attr(nd->p, name)) {
        *out = def;
        return AF_OK;
    }
    int64_t t = onnx_attr_i(c, nd, name, 0);
    af_dtype dt;
    if (t < 0 || t > INT32_MAX || onnx_dtype((int32_t)t, &dt) < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute '%s' = %s is not supported",
                             name, onnx_dtype_name((int32_t)t));
    *out = dt;
    return AF_OK;
}

af_status onnx_map_eye_like(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    st = dtype_attr(c, nd, "dtype", -1, &p.eye.dtype);
    if (st) return st;
    p.eye.k = onnx_attr_i(c, nd, "k", 0);
    return onnx_emit(c, nd, AF_OP_EYE_LIKE, in, 1, 1, &p, NULL);
}

af_status onnx_map_det(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    return st ? st : onnx_emit(c, nd, AF_OP_DET, in, 1, 1, NULL, NULL);
}

/* HannWindow, HammingWindow, BlackmanWindow (nd->arg = af_window_kind). */
af_status onnx_map_window(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.window.kind = nd->arg;
    p.window.periodic = onnx_attr_i(c, nd, "periodic", 1) != 0;
    st = dtype_attr(c, nd, "output_datatype", AF_DTYPE_F32, &p.window.dtype);
    return st ? st : onnx_emit(c, nd, AF_OP_WINDOW, in, 1, 1, &p, NULL);
}

/* reduction and ignore_index of the two loss ops. */
static af_status loss_attrs(onnx_ctx *c, const onnx_node *nd, af_nll_params *p)
{
    char red[16];
    onnx_attr_s(c, nd, "reduction", "mean", red, sizeof red);
    if (!strcmp(red, "none")) p->reduction = AF_REDUCTION_NONE;
    else if (!strcmp(red, "sum")) p->reduction = AF_REDUCTION_SUM;
    else if (!strcmp(red, "mean")) p->reduction = AF_REDUCTION_MEAN;
    else return onnx_node_err(c, nd, AF_ERR_FORMAT, "reduction '%s' is not none, sum or mean", red);
    p->has_ignore = onnx_attr(nd->p, "ignore_index") != NULL;
    p->ignore_index = onnx_attr_i(c, nd, "ignore_index", 0);
    return AF_OK;
}

af_status onnx_map_nll_loss(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    af_params p = {0};
    st = loss_attrs(c, nd, &p.nll);
    return st ? st : onnx_emit(c, nd, AF_OP_NLL_LOSS, in, in[2] >= 0 ? 3 : 2, 1, &p, NULL);
}

/* Adds op(in) → a tensor: the model value `name` when given, else a fresh one named after the
 * node and `what`. */
static af_status add_step(onnx_ctx *c, const onnx_node *nd, const char *what, const char *name,
                          af_op op, const int *in, int n_in, const af_params *p, int *out)
{
    char base[300];
    snprintf(base, sizeof base, "%s_%s", nd->name, what);
    af_status st = name ? onnx_define(c, name, AF_DTYPE_F32, -1, NULL, out)
                        : onnx_define_unique(c, base, AF_DTYPE_F32, -1, NULL, out);
    if (st) return st;
    int i = af_graph_add_node(c->g, op, name ? name : base, in, n_in, out, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (p) c->g->nodes[i].p = *p;
    return AF_OK;
}

/* SoftmaxCrossEntropyLoss(scores, labels, weights?) = NLL(LogSoftmax(scores, axis 1), labels,
 * weights) — the operator's definition; log_prob (output 1) is the LogSoftmax. */
af_status onnx_map_sce_loss(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    const Onnx__NodeProto *pn = nd->p;
    if (pn->n_output < 1 || !pn->output[0][0])
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "output 0 has no name");
    af_params lp = {0}, sp = {0};
    st = loss_attrs(c, nd, &lp.nll);
    if (st) return st;
    sp.softmax.axis = 1;
    sp.softmax.log = 1;
    int want_logp = onnx_used_outputs(c, nd, 2) > 1;
    int nin[3] = {-1, in[1], in[2]}, loss;
    st = add_step(c, nd, "log_prob", want_logp ? pn->output[1] : NULL, AF_OP_SOFTMAX, in, 1, &sp,
                  &nin[0]);
    if (!st) st = onnx_define(c, pn->output[0], AF_DTYPE_F32, -1, NULL, &loss);
    if (st) return st;
    int i = af_graph_add_node(c->g, AF_OP_NLL_LOSS, nd->name, nin, in[2] >= 0 ? 3 : 2, &loss, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p = lp;
    return AF_OK;
}

/* MeanVarianceNormalization, as its ONNX function body: mean = E[X], var = E[X^2] - mean^2,
 * Y = (X - mean) / (sqrt(var) + 1e-9), the expectations over `axes` (default 0,2,3). */
af_status onnx_map_mvn(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    int x = in[0], axes, eps, mean, xx, ex2, m2, var, sd, num, den, y;
    size_t na;
    const int64_t *av = onnx_attr_ints(c, nd, "axes", &na);
    static const int64_t def_axes[3] = {0, 2, 3};
    char base[300];
    if (!onnx_attr(nd->p, "axes")) av = def_axes, na = 3;
    if (na > AF_MAX_RANK) return onnx_node_err(c, nd, AF_ERR_FORMAT, "too many axes");
    snprintf(base, sizeof base, "%s_axes", nd->name);
    st = onnx_const_i64(c, base, av, (int)na, &axes);
    const float e = 1e-9f;
    snprintf(base, sizeof base, "%s_eps", nd->name);
    if (!st) st = onnx_const_f32(c, base, &e, 1, 0, &eps);
    if (st) return st;
    af_params rp = {0}, mul = {0}, sub = {0}, add = {0}, dv = {0}, sq = {0};
    rp.reduce.fn = AF_REDUCE_MEAN;
    rp.reduce.keepdims = 1;
    mul.binary.fn = AF_BINARY_MUL;
    sub.binary.fn = AF_BINARY_SUB;
    add.binary.fn = AF_BINARY_ADD;
    dv.binary.fn = AF_BINARY_DIV;
    sq.unary.fn = AF_UNARY_SQRT;
    int a[2] = {x, axes};
    st = add_step(c, nd, "mean", NULL, AF_OP_REDUCE, a, 2, &rp, &mean);
    if (!st) st = add_step(c, nd, "sq", NULL, AF_OP_BINARY, (int[2]){x, x}, 2, &mul, &xx);
    if (!st) st = add_step(c, nd, "ex2", NULL, AF_OP_REDUCE, (int[2]){xx, axes}, 2, &rp, &ex2);
    if (!st) st = add_step(c, nd, "m2", NULL, AF_OP_BINARY, (int[2]){mean, mean}, 2, &mul, &m2);
    if (!st) st = add_step(c, nd, "var", NULL, AF_OP_BINARY, (int[2]){ex2, m2}, 2, &sub, &var);
    if (!st) st = add_step(c, nd, "std", NULL, AF_OP_UNARY, &var, 1, &sq, &sd);
    if (!st) st = add_step(c, nd, "num", NULL, AF_OP_BINARY, (int[2]){x, mean}, 2, &sub, &num);
    if (!st) st = add_step(c, nd, "den", NULL, AF_OP_BINARY, (int[2]){sd, eps}, 2, &add, &den);
    if (st) return st;
    if (nd->p->n_output < 1 || !nd->p->output[0][0])
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "output 0 has no name");
    st = onnx_define(c, nd->p->output[0], AF_DTYPE_F32, -1, NULL, &y);
    if (st) return st;
    int i = af_graph_add_node(c->g, AF_OP_BINARY, nd->name, (int[2]){num, den}, 2, &y, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p = dv;
    return AF_OK;
}

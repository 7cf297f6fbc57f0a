/* importers/onnx/onnx_ops.c — ONNX node → IR node mapping: the op table, Constant nodes,
 * elementwise, convolution/pooling, dense and misc ops. Data-movement ops: onnx_ops_data.c. */
#include "onnx_internal.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

af_status onnx_need(onnx_ctx *c, const onnx_node *nd, int *in, int min, int max, int *n_in)
{
    af_status st = onnx_inputs(c, nd, in, max, n_in);
    if (st) return st;
    for (int k = 0; k < min; k++)
        if (k >= *n_in || in[k] < 0)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "needs at least %d input%s", min,
                                 min > 1 ? "s" : "");
    return AF_OK;
}

af_status onnx_attr_input(onnx_ctx *c, const onnx_node *nd, const char *attr, const char *what,
                          int *idx)
{
    size_t n;
    const int64_t *v = onnx_attr_ints(c, nd, attr, &n);
    char base[300];
    snprintf(base, sizeof base, "%s_%s", nd->name, what);
    if (n > 64) return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute '%s' too long", attr);
    return onnx_const_i64(c, base, v, (int)n, idx);
}

/* ---- Constant ---- */

static af_status define_value(onnx_ctx *c, const char *name, af_dtype dt, int rank, int64_t n,
                              const void *v)
{
    size_t bytes = (size_t)n * af_dtype_size(dt);
    void *data = malloc(bytes ? bytes : 1);
    int idx;
    if (!data) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (bytes) memcpy(data, v, bytes);
    af_status st = onnx_define(c, name, dt, rank, &n, &idx);
    if (st) free(data);
    else af_tensor_set_data(&c->g->tensors[idx], data);
    return st;
}

static af_status map_constant(onnx_ctx *c, const onnx_node *nd)
{
    const Onnx__NodeProto *p = nd->p;
    const Onnx__AttributeProto *a;
    int idx;
    if (p->n_output < 1 || !p->output[0][0])
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "has no output");
    const char *out = p->output[0];
    static const char *const unsupported[] = {"sparse_value", "value_string", "value_strings"};
    for (int i = 0; i < 3; i++)
        if (onnx_attr(p, unsupported[i]))
            return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute '%s' is not supported",
                                 unsupported[i]);
    if ((a = onnx_attr(p, "value"))) {
        if (!a->t) return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'value' has no tensor");
        return onnx_load_tensor(c, a->t, out, &idx);
    }
    if ((a = onnx_attr(p, "value_float")))
        return define_value(c, out, AF_DTYPE_F32, 0, 1, &a->f);
    if ((a = onnx_attr(p, "value_int")))
        return define_value(c, out, AF_DTYPE_I64, 0, 1, &a->i);
    if ((a = onnx_attr(p, "value_floats")))
        return define_value(c, out, AF_DTYPE_F32, 1, (int64_t)a->n_floats, a->floats);
    if ((a = onnx_attr(p, "value_ints")))
        return define_value(c, out, AF_DTYPE_I64, 1, (int64_t)a->n_ints, a->ints);
    return onnx_node_err(c, nd, AF_ERR_FORMAT, "has no value attribute");
}

/* ---- elementwise ---- */

static af_status map_unary(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.unary.fn = nd->arg;
    switch (nd->arg) {
    case AF_UNARY_LEAKY_RELU: p.unary.alpha = onnx_attr_f(c, nd, "alpha", 0.01f); break;
    case AF_UNARY_HARD_SIGMOID:
        p.unary.alpha = onnx_attr_f(c, nd, "alpha", 0.2f);
        p.unary.beta = onnx_attr_f(c, nd, "beta", 0.5f);
        break;
    case AF_UNARY_ELU:
    case AF_UNARY_CELU: p.unary.alpha = onnx_attr_f(c, nd, "alpha", 1.0f); break;
    case AF_UNARY_SELU:
        p.unary.alpha = onnx_attr_f(c, nd, "alpha", 1.67326319217681884765625f);
        p.unary.beta = onnx_attr_f(c, nd, "gamma", 1.05070102214813232421875f);
        break;
    default: break;
    }
    return onnx_emit(c, nd, AF_OP_UNARY, in, 1, 1, &p, NULL);
}

/* Clip: opset < 11 has min/max attributes, which become f32 scalar inputs. */
static af_status map_clip(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 1, 3, &n);
    if (st) return st;
    if (c->opset < 11) {
        static const char *const names[2] = {"min", "max"};
        for (int k = 0; k < 2 && !st; k++) {
            char base[300];
            if (!onnx_attr(nd->p, names[k])) continue;
            float v = onnx_attr_f(c, nd, names[k], 0);
            snprintf(base, sizeof base, "%s_%s", nd->name, names[k]);
            st = onnx_const_f32(c, base, &v, 1, 0, &in[1 + k]);
        }
        if (st) return st;
    }
    af_params p = {0};
    p.unary.fn = AF_UNARY_CLIP;
    p.unary.alpha = -INFINITY;
    p.unary.beta = INFINITY;
    return onnx_emit(c, nd, AF_OP_UNARY, in, in[2] >= 0 ? 3 : in[1] >= 0 ? 2 : 1, 1, &p, NULL);
}

/* Opset < 7 broadcast=1 with 'axis': b's dims align with a's starting at axis. numpy
 * broadcasting aligns trailing dims, so b gets trailing unit axes (needs a's rank here). */
static af_status legacy_broadcast(onnx_ctx *c, const onnx_node *nd, int *b)
{
    /* opset < 7 PRelu: a 1-D slope is per channel (axis 1) */
    int prelu = nd->arg == AF_BINARY_PRELU && c->g->tensors[*b].rank == 1 && c->g->tensors[*b].dims[0] > 1;
    if (c->opset >= 7 || (!prelu && (!onnx_attr(nd->p, "axis") ||
                                     !onnx_attr_i(c, nd, "broadcast", 0))))
        return AF_OK;
    const af_tensor *ta = &c->g->tensors[b[-1]], *tb = &c->g->tensors[*b];
    int64_t axis = prelu ? 1 : onnx_attr_i(c, nd, "axis", 0);
    if (ta->rank < 0 || tb->rank < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "legacy broadcast with 'axis' needs "
                             "operands of known rank");
    if (axis < 0) axis += ta->rank;
    int64_t extra = ta->rank - axis - tb->rank, axes[AF_MAX_RANK];
    if (axis < 0 || extra < 0)
        return onnx_node_err(c, nd, AF_ERR_SHAPE, "axis %lld does not fit ranks %d and %d",
                             (long long)axis, ta->rank, tb->rank);
    if (extra == 0) return AF_OK;
    for (int64_t i = 0; i < extra; i++) axes[i] = tb->rank + i;
    char base[300];
    snprintf(base, sizeof base, "%s_bcast", nd->name);
    int in[2] = {*b, -1}, out;
    af_status st = onnx_const_i64(c, base, axes, (int)extra, &in[1]);
    if (!st) st = onnx_define_unique(c, base, tb->dtype, -1, NULL, &out);
    if (st) return st;
    int i = af_graph_add_node(c->g, AF_OP_RESHAPE, base, in, 2, &out, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p.reshape.kind = AF_RESHAPE_UNSQUEEZE;
    *b = out;
    return AF_OK;
}

static af_status map_binary(onnx_ctx *c, const onnx_node *nd)
{
    int in[2], n;
    af_status st = onnx_need(c, nd, in, 2, 2, &n);
    if (!st) st = legacy_broadcast(c, nd, &in[1]);
    if (st) return st;
    af_params p = {0};
    p.binary.fn = nd->arg;
    if (nd->arg == AF_BINARY_MOD && onnx_attr_i(c, nd, "fmod", 0)) p.binary.fn = AF_BINARY_FMOD;
    return onnx_emit(c, nd, AF_OP_BINARY, in, 2, 1, &p, NULL);
}

/* Adds an IR node with one new tensor output named after the node (not a model value). */
static af_status add_internal(onnx_ctx *c, const onnx_node *nd, int step, af_op op,
                              const int *in, int n_in, const af_params *p, int *out)
{
    char name[300];
    snprintf(name, sizeof name, "%s_%d", nd->name, step);
    af_status st = onnx_define_unique(c, name, AF_DTYPE_F32, -1, NULL, out);
    if (st) return st;
    int i = af_graph_add_node(c->g, op, name, in, n_in, out, 1);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p = *p;
    return AF_OK;
}

/* Max/Min/Sum/Mean: a chain of binary nodes ((a op b) op c) ...; Mean then divides by n. */
static af_status map_variadic(onnx_ctx *c, const onnx_node *nd)
{
    int mean = nd->arg < 0, n, in[64];
    af_status st = onnx_need(c, nd, in, 1, 64, &n);
    if (st) return st;
    if (n == 1) return onnx_emit(c, nd, AF_OP_IDENTITY, in, 1, 1, NULL, NULL);
    af_params p = {0};
    p.binary.fn = mean ? AF_BINARY_ADD : nd->arg;
    int acc = in[0];
    for (int k = 1; k < n && !st; k++) {
        int pair[2] = {acc, in[k]};
        if (pair[1] < 0) return onnx_node_err(c, nd, AF_ERR_FORMAT, "empty input %d", k);
        if (k == n - 1 && !mean) return onnx_emit(c, nd, AF_OP_BINARY, pair, 2, 1, &p, NULL);
        st = add_internal(c, nd, k, AF_OP_BINARY, pair, 2, &p, &acc);
    }
    float cnt = (float)n;
    char base[300];
    snprintf(base, sizeof base, "%s_count", nd->name);
    int div[2] = {acc, -1};
    if (!st) st = onnx_const_f32(c, base, &cnt, 1, 0, &div[1]);
    if (st) return st;
    p.binary.fn = AF_BINARY_DIV;
    return onnx_emit(c, nd, AF_OP_BINARY, div, 2, 1, &p, NULL);
}

/* ---- convolution and pooling ---- */

static af_status auto_pad_attr(onnx_ctx *c, const onnx_node *nd, int32_t *out)
{
    char s[32];
    onnx_attr_s(c, nd, "auto_pad", "NOTSET", s, sizeof s);
    if (!strcmp(s, "NOTSET") || !*s) *out = AF_AUTO_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = AF_AUTO_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = AF_AUTO_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = AF_AUTO_PAD_VALID;
    else return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "auto_pad '%s' is not supported", s);
    return AF_OK;
}

/* Copies an int list attribute of length nsp*mult (when present) into dst. nsp is set from the
 * first list seen. */
static af_status spatial_list(onnx_ctx *c, const onnx_node *nd, const char *attr, int mult,
                              int32_t *nsp, int32_t *dst)
{
    size_t n;
    const int64_t *v = onnx_attr_ints(c, nd, attr, &n);
    if (!v) return AF_OK;
    if (n % (size_t)mult || n / (size_t)mult > AF_MAX_SPATIAL || n == 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute '%s' has %zu values (1-3 "
                             "spatial dims supported)", attr, n);
    int ns = (int)(n / (size_t)mult);
    if (*nsp && *nsp != ns)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' has %zu values for %d "
                             "spatial dims", attr, n, (int)*nsp);
    *nsp = ns;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < INT32_MIN / 2 || v[i] > INT32_MAX / 2)
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute '%s' value out of range", attr);
        dst[i] = (int32_t)v[i];
    }
    return AF_OK;
}

/* pads [x1_begin, x2_begin, ..., x1_end, ...] into pad_begin / pad_end. */
static af_status pads_attr(onnx_ctx *c, const onnx_node *nd, int32_t *nsp, int32_t *pb,
                           int32_t *pe)
{
    int32_t tmp[2 * AF_MAX_SPATIAL] = {0};
    af_status st = spatial_list(c, nd, "pads", 2, nsp, tmp);
    for (int i = 0; !st && i < *nsp; i++) {
        pb[i] = tmp[i];
        pe[i] = tmp[*nsp + i];
    }
    return st;
}

/* ConvTranspose output_shape → explicit pads (ONNX: total = stride*(in-1) + output_padding +
 * (k-1)*dilation + 1 - out; SAME_UPPER puts the odd unit at the end, else at the start). A
 * negative total grows output_padding. Needs X and W of known shape (inputs or constants). */
static af_status convt_output_shape(onnx_ctx *c, const onnx_node *nd, const int *in,
                                    af_conv_params *cp)
{
    size_t no;
    const int64_t *os = onnx_attr_ints(c, nd, "output_shape", &no);
    const af_tensor *x = &c->g->tensors[in[0]], *w = &c->g->tensors[in[1]];
    if ((af_op)nd->arg != AF_OP_CONV_TRANSPOSE || !af_tensor_shape_known(x) ||
        !af_tensor_shape_known(w) || x->rank != w->rank || x->rank < 3 ||
        x->rank - 2 > AF_MAX_SPATIAL || no < (size_t)(x->rank - 2))
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute 'output_shape' needs X and W "
                             "of known shape");
    int ns = x->rank - 2;
    const int64_t *out = os + (no - (size_t)ns); /* may list N and C too */
    cp->nsp = ns;
    for (int i = 0; i < ns; i++) {
        int64_t k = cp->kernel[i] ? cp->kernel[i] : w->dims[2 + i];
        int64_t total = (int64_t)cp->stride[i] * (x->dims[2 + i] - 1) + cp->out_pad[i] +
                        (k - 1) * cp->dilation[i] + 1 - out[i];
        if (total < 0) {
            cp->out_pad[i] += (int32_t)-total;
            total = 0;
        }
        int64_t half = total / 2;
        int upper = cp->auto_pad == AF_AUTO_PAD_SAME_UPPER;
        cp->pad_begin[i] = (int32_t)(upper ? half : total - half);
        cp->pad_end[i] = (int32_t)(upper ? total - half : half);
    }
    cp->auto_pad = AF_AUTO_PAD_NOTSET;
    return AF_OK;
}

static af_status map_conv(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    af_params p = {0};
    af_conv_params *cp = &p.conv;
    for (int i = 0; i < AF_MAX_SPATIAL; i++) cp->stride[i] = cp->dilation[i] = 1;
    int64_t group = onnx_attr_i(c, nd, "group", 1);
    if (group < 1 || group > INT32_MAX)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "bad group %lld", (long long)group);
    cp->group = (int32_t)group;
    st = auto_pad_attr(c, nd, &cp->auto_pad);
    if (!st) st = spatial_list(c, nd, "kernel_shape", 1, &cp->nsp, cp->kernel);
    if (!st) st = spatial_list(c, nd, "strides", 1, &cp->nsp, cp->stride);
    if (!st) st = spatial_list(c, nd, "dilations", 1, &cp->nsp, cp->dilation);
    if (!st) st = spatial_list(c, nd, "output_padding", 1, &cp->nsp, cp->out_pad);
    if (!st) st = pads_attr(c, nd, &cp->nsp, cp->pad_begin, cp->pad_end);
    if (!st && onnx_attr(nd->p, "output_shape")) st = convt_output_shape(c, nd, in, cp);
    if (st) return st;
    return onnx_emit(c, nd, (af_op)nd->arg, in, n, 1, &p, NULL);
}

/* Adds the node op(in) -> (out[0..n_out)) under the given name. */
static af_status add_node(onnx_ctx *c, af_op op, const char *name, const int *in, int n_in,
                          const int *out, int n_out, const af_params *p)
{
    int i = af_graph_add_node(c->g, op, name, in, n_in, out, n_out);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p = *p;
    return AF_OK;
}

/* MaxPool with Indices and storage_order 1 (column-major spatial positions): the pool runs on
 * X with its spatial axes reversed, where row-major positions are X's column-major ones, and
 * Y and Indices are transposed back. */
static af_status map_pool_colmajor(onnx_ctx *c, const onnx_node *nd, int x, af_params *p)
{
    af_pool_params *pp = &p->pool, q = *pp;
    int k = pp->nsp, r = k + 2;
    af_params tp = {0};
    tp.transpose.n_perm = r;
    for (int i = 0; i < r; i++) tp.transpose.perm[i] = i < 2 ? i : r + 1 - i; /* self-inverse */
    for (int i = 0; i < k; i++) {
        pp->kernel[i] = q.kernel[k - 1 - i], pp->stride[i] = q.stride[k - 1 - i];
        pp->dilation[i] = q.dilation[k - 1 - i], pp->pad_begin[i] = q.pad_begin[k - 1 - i];
        pp->pad_end[i] = q.pad_end[k - 1 - i];
    }
    char base[300];
    int xt, yt[2], out[2];
    snprintf(base, sizeof base, "%s_colmajor", nd->name);
    af_status st = onnx_define_unique(c, base, AF_DTYPE_F32, -1, NULL, &xt);
    for (int j = 0; j < 2 && !st; j++) st = onnx_define_unique(c, base, AF_DTYPE_F32, -1, NULL,
                                                                &yt[j]);
    for (int j = 0; j < 2 && !st; j++)
        st = onnx_define(c, nd->p->output[j], AF_DTYPE_F32, -1, NULL, &out[j]);
    if (!st) st = add_node(c, AF_OP_TRANSPOSE, base, &x, 1, &xt, 1, &tp);
    if (!st) st = add_node(c, AF_OP_POOL, nd->name, &xt, 1, yt, 2, p);
    for (int j = 0; j < 2 && !st; j++)
        st = add_node(c, AF_OP_TRANSPOSE, nd->p->output[j], &yt[j], 1, &out[j], 1, &tp);
    return st;
}

static af_status map_pool(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    af_pool_params *pp = &p.pool;
    pp->kind = nd->arg;
    for (int i = 0; i < AF_MAX_SPATIAL; i++) pp->stride[i] = pp->dilation[i] = 1;
    if (!onnx_attr(nd->p, "kernel_shape"))
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'kernel_shape' is missing");
    pp->ceil_mode = onnx_attr_i(c, nd, "ceil_mode", 0) != 0;
    pp->count_include_pad = onnx_attr_i(c, nd, "count_include_pad", 0) != 0;
    st = auto_pad_attr(c, nd, &pp->auto_pad);
    if (!st) st = spatial_list(c, nd, "kernel_shape", 1, &pp->nsp, pp->kernel);
    if (!st) st = spatial_list(c, nd, "strides", 1, &pp->nsp, pp->stride);
    if (!st) st = spatial_list(c, nd, "dilations", 1, &pp->nsp, pp->dilation);
    if (!st) st = pads_attr(c, nd, &pp->nsp, pp->pad_begin, pp->pad_end);
    if (st) return st;
    int n_out = pp->kind == AF_POOL_MAX ? onnx_used_outputs(c, nd, 2) : 1;
    if (n_out > 1 && !nd->p->output[0][0])
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "output 0 has no name");
    if (n_out > 1 && onnx_attr_i(c, nd, "storage_order", 0) != 0)
        return map_pool_colmajor(c, nd, in[0], &p);
    return onnx_emit(c, nd, AF_OP_POOL, in, 1, n_out, &p, NULL);
}

static af_status map_global_pool(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.global_pool.kind = nd->arg;
    return onnx_emit(c, nd, AF_OP_GLOBAL_POOL, in, 1, 1, &p, NULL);
}

/* ---- dense and normalisation ---- */

static af_status map_batchnorm(onnx_ctx *c, const onnx_node *nd)
{
    int in[5], n;
    af_status st = onnx_need(c, nd, in, 5, 5, &n);
    if (st) return st;
    if (onnx_attr_i(c, nd, "spatial", 1) != 1)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute 'spatial' = 0 is not "
                             "supported");
    if (onnx_attr_i(c, nd, "training_mode", 0) != 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "training_mode = 1 is not supported");
    af_params p = {0};
    p.batchnorm.eps = onnx_attr_f(c, nd, "epsilon", 1e-5f);
    return onnx_emit(c, nd, AF_OP_BATCHNORM, in, 5, 1, &p, NULL);
}

static af_status map_gemm(onnx_ctx *c, const onnx_node *nd)
{
    int in[3], n;
    af_status st = onnx_need(c, nd, in, 2, 3, &n);
    if (st) return st;
    af_params p = {0};
    p.gemm.alpha = onnx_attr_f(c, nd, "alpha", 1.0f);
    p.gemm.beta = onnx_attr_f(c, nd, "beta", 1.0f);
    p.gemm.trans_a = onnx_attr_i(c, nd, "transA", 0) != 0;
    p.gemm.trans_b = onnx_attr_i(c, nd, "transB", 0) != 0;
    return onnx_emit(c, nd, AF_OP_GEMM, in, n, 1, &p, NULL);
}

static af_status map_simple(onnx_ctx *c, const onnx_node *nd)
{
    /* MatMul [a, b]; Identity [x]; Dropout [x, ratio?, training_mode?] → identity of x */
    int in[3], n, min = nd->arg == AF_OP_MATMUL ? 2 : 1;
    int max = !strcmp(nd->p->op_type, "Dropout") ? 3 : min;
    af_status st = onnx_need(c, nd, in, min, max, &n);
    if (st) return st;
    return onnx_emit(c, nd, (af_op)nd->arg, in, min, 1, NULL, NULL);
}

/* Softmax (arg 0), LogSoftmax (1) and Hardmax (2) share the axis rule of their opset. */
static af_status map_softmax(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    af_params p = {0};
    p.softmax.legacy = c->opset < 13;
    st = onnx_attr_i32_in(c, nd, "axis", c->opset < 13 ? 1 : -1, -AF_MAX_RANK, AF_MAX_RANK - 1,
                          &p.softmax.axis);
    if (st) return st;
    p.softmax.log = nd->arg == 1;
    return onnx_emit(c, nd, nd->arg == 2 ? AF_OP_HARDMAX : AF_OP_SOFTMAX, in, 1, 1, &p, NULL);
}

static af_status map_cast(onnx_ctx *c, const onnx_node *nd)
{
    int in[1], n;
    af_status st = onnx_need(c, nd, in, 1, 1, &n);
    if (st) return st;
    int64_t to = onnx_attr_i(c, nd, "to", -1);
    af_dtype dt;
    if (to < 0 || to > INT32_MAX || onnx_dtype((int32_t)to, &dt) < 0)
        return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "attribute 'to' = %s is not supported",
                             onnx_dtype_name((int32_t)to));
    af_params p = {0};
    p.cast.to = dt; /* DOUBLE → f32: the IR has no f64 */
    return onnx_emit(c, nd, AF_OP_CAST, in, 1, 1, &p, NULL);
}

/* ---- the table ---- */

typedef struct op_row {
    const char *name;
    onnx_map_fn fn;
    int arg;
} op_row;

static const op_row op_rows[] = {
    {"Conv", map_conv, AF_OP_CONV},
    {"ConvTranspose", map_conv, AF_OP_CONV_TRANSPOSE},
    {"BatchNormalization", map_batchnorm, 0},
    {"InstanceNormalization", onnx_map_instance_norm, 0},
    {"LayerNormalization", onnx_map_layer_norm, 0},
    {"GroupNormalization", onnx_map_group_norm, 0},
    {"Relu", map_unary, AF_UNARY_RELU},
    {"LeakyRelu", map_unary, AF_UNARY_LEAKY_RELU},
    {"PRelu", map_binary, AF_BINARY_PRELU},
    {"Clip", map_clip, 0},
    {"Sigmoid", map_unary, AF_UNARY_SIGMOID},
    {"HardSigmoid", map_unary, AF_UNARY_HARD_SIGMOID},
    {"HardSwish", map_unary, AF_UNARY_HARD_SWISH},
    {"Tanh", map_unary, AF_UNARY_TANH},
    {"Sqrt", map_unary, AF_UNARY_SQRT},
    {"Exp", map_unary, AF_UNARY_EXP},
    {"Log", map_unary, AF_UNARY_LOG},
    {"Abs", map_unary, AF_UNARY_ABS},
    {"Neg", map_unary, AF_UNARY_NEG},
    {"Erf", map_unary, AF_UNARY_ERF},
    {"Reciprocal", map_unary, AF_UNARY_RECIPROCAL},
    {"Floor", map_unary, AF_UNARY_FLOOR},
    {"Ceil", map_unary, AF_UNARY_CEIL},
    {"Elu", map_unary, AF_UNARY_ELU},
    {"Selu", map_unary, AF_UNARY_SELU},
    {"Celu", map_unary, AF_UNARY_CELU},
    {"Softplus", map_unary, AF_UNARY_SOFTPLUS},
    {"Softsign", map_unary, AF_UNARY_SOFTSIGN},
    {"Sin", map_unary, AF_UNARY_SIN},
    {"Cos", map_unary, AF_UNARY_COS},
    {"Not", map_unary, AF_UNARY_NOT},
    {"Sign", map_unary, AF_UNARY_SIGN},
    {"Round", map_unary, AF_UNARY_ROUND},
    {"Add", map_binary, AF_BINARY_ADD},
    {"Sub", map_binary, AF_BINARY_SUB},
    {"Mul", map_binary, AF_BINARY_MUL},
    {"Div", map_binary, AF_BINARY_DIV},
    {"Pow", map_binary, AF_BINARY_POW},
    {"Mod", map_binary, AF_BINARY_MOD},
    {"Equal", map_binary, AF_BINARY_EQUAL},
    {"Less", map_binary, AF_BINARY_LESS},
    {"LessOrEqual", map_binary, AF_BINARY_LESS_EQUAL},
    {"Greater", map_binary, AF_BINARY_GREATER},
    {"GreaterOrEqual", map_binary, AF_BINARY_GREATER_EQUAL},
    {"And", map_binary, AF_BINARY_AND},
    {"Or", map_binary, AF_BINARY_OR},
    {"Xor", map_binary, AF_BINARY_XOR},
    {"Max", map_variadic, AF_BINARY_MAX},
    {"Min", map_variadic, AF_BINARY_MIN},
    {"Sum", map_variadic, AF_BINARY_ADD},
    {"Mean", map_variadic, -1},
    {"Gemm", map_gemm, 0},
    {"MatMul", map_simple, AF_OP_MATMUL},
    {"Identity", map_simple, AF_OP_IDENTITY},
    {"Dropout", onnx_map_dropout, 0},
    {"MaxPool", map_pool, AF_POOL_MAX},
    {"AveragePool", map_pool, AF_POOL_AVG},
    {"GlobalAveragePool", map_global_pool, AF_POOL_AVG},
    {"GlobalMaxPool", map_global_pool, AF_POOL_MAX},
    {"Softmax", map_softmax, 0},
    {"LogSoftmax", map_softmax, 1},
    {"Cast", map_cast, 0},
    {"Flatten", onnx_map_flatten, 0},
    {"Reshape", onnx_map_reshape, 0},
    {"Squeeze", onnx_map_squeeze, AF_RESHAPE_SQUEEZE},
    {"Unsqueeze", onnx_map_squeeze, AF_RESHAPE_UNSQUEEZE},
    {"Transpose", onnx_map_transpose, 0},
    {"Concat", onnx_map_concat, 0},
    {"Split", onnx_map_split, 0},
    {"Slice", onnx_map_slice, 0},
    {"Gather", onnx_map_gather, 0},
    {"ReduceMean", onnx_map_reduce, AF_REDUCE_MEAN},
    {"ReduceSum", onnx_map_reduce, AF_REDUCE_SUM},
    {"ReduceMax", onnx_map_reduce, AF_REDUCE_MAX},
    {"ReduceMin", onnx_map_reduce, AF_REDUCE_MIN},
    {"ReduceProd", onnx_map_reduce, AF_REDUCE_PROD},
    {"ReduceL1", onnx_map_reduce, AF_REDUCE_L1},
    {"ReduceL2", onnx_map_reduce, AF_REDUCE_L2},
    {"ReduceSumSquare", onnx_map_reduce, AF_REDUCE_SUM_SQUARE},
    {"ReduceLogSum", onnx_map_reduce, AF_REDUCE_LOG_SUM},
    {"ReduceLogSumExp", onnx_map_reduce, AF_REDUCE_LOG_SUM_EXP},
    {"ArgMax", onnx_map_argreduce, AF_REDUCE_ARGMAX},
    {"ArgMin", onnx_map_argreduce, AF_REDUCE_ARGMIN},
    {"Pad", onnx_map_pad, 0},
    {"Resize", onnx_map_resize, 0},
    {"Upsample", onnx_map_upsample, 0},
    {"Shape", onnx_map_shape, 0},
    {"ConstantOfShape", onnx_map_const_of_shape, 0},
    {"Expand", onnx_map_plain, AF_OP_EXPAND},
    {"Where", onnx_map_plain, AF_OP_WHERE},
    {"Tile", onnx_map_plain, AF_OP_TILE},
    {"Range", onnx_map_plain, AF_OP_RANGE},
    {"Size", onnx_map_plain, AF_OP_SIZE},
    {"CumSum", onnx_map_cumsum, 0},
    {"DepthToSpace", onnx_map_d2s, AF_OP_DEPTH_TO_SPACE},
    {"SpaceToDepth", onnx_map_d2s, AF_OP_SPACE_TO_DEPTH},
    {"GatherElements", onnx_map_gather_elements, 0},
    {"LRN", onnx_map_lrn, 0},
    {"Trilu", onnx_map_trilu, 0},
    {"ThresholdedRelu", onnx_map_thresholded_relu, 0},
    {"CastLike", onnx_map_cast_like, 0},
    {"Einsum", onnx_map_einsum, 0},
    /* recurrent ops */
    {"LSTM", onnx_map_rnn, AF_OP_LSTM},
    {"GRU", onnx_map_rnn, AF_OP_GRU},
    {"RNN", onnx_map_rnn, AF_OP_RNN},
    /* sampling and signal ops */
    {"GridSample", onnx_map_grid_sample, 0},
    {"RoiAlign", onnx_map_roi_align, 0},
    {"DFT", onnx_map_dft, 0},
    {"STFT", onnx_map_stft, 0},
    {"MelWeightMatrix", onnx_map_mel_weight_matrix, 0},
    /* indexing and selection ops */
    {"TopK", onnx_map_topk, 0},
    {"ScatterND", onnx_map_scatter, AF_OP_SCATTER_ND},
    {"ScatterElements", onnx_map_scatter, AF_OP_SCATTER_ELEMENTS},
    {"Scatter", onnx_map_scatter, AF_OP_SCATTER_ELEMENTS},
    {"GatherND", onnx_map_gather_nd, 0},
    {"OneHot", onnx_map_one_hot, 0},
    {"ReverseSequence", onnx_map_reverse_sequence, 0},
    {"MaxUnpool", onnx_map_max_unpool, 0},
    /* losses, trigonometry and other elementwise ops */
    {"Tan", onnx_map_unary_ops1, AF_UNARY_TAN},
    {"Asin", onnx_map_unary_ops1, AF_UNARY_ASIN},
    {"Acos", onnx_map_unary_ops1, AF_UNARY_ACOS},
    {"Atan", onnx_map_unary_ops1, AF_UNARY_ATAN},
    {"Sinh", onnx_map_unary_ops1, AF_UNARY_SINH},
    {"Cosh", onnx_map_unary_ops1, AF_UNARY_COSH},
    {"Asinh", onnx_map_unary_ops1, AF_UNARY_ASINH},
    {"Acosh", onnx_map_unary_ops1, AF_UNARY_ACOSH},
    {"Atanh", onnx_map_unary_ops1, AF_UNARY_ATANH},
    {"Shrink", onnx_map_unary_ops1, AF_UNARY_SHRINK},
    {"IsNaN", onnx_map_unary_ops1, AF_UNARY_ISNAN},
    {"IsInf", onnx_map_unary_ops1, AF_UNARY_ISINF},
    {"BitShift", onnx_map_bitshift, 0},
    {"Hardmax", map_softmax, 2},
    {"EyeLike", onnx_map_eye_like, 0},
    {"Det", onnx_map_det, 0},
    {"HannWindow", onnx_map_window, AF_WINDOW_HANN},
    {"HammingWindow", onnx_map_window, AF_WINDOW_HAMMING},
    {"BlackmanWindow", onnx_map_window, AF_WINDOW_BLACKMAN},
    {"NegativeLogLikelihoodLoss", onnx_map_nll_loss, 0},
    {"SoftmaxCrossEntropyLoss", onnx_map_sce_loss, 0},
    {"MeanVarianceNormalization", onnx_map_mvn, 0},
    /* onnx_ops_quant.c */
    {"QuantizeLinear", onnx_map_quantize, AF_OP_QUANTIZE},
    {"DequantizeLinear", onnx_map_quantize, AF_OP_DEQUANTIZE},
    {"DynamicQuantizeLinear", onnx_map_dyn_quantize, 0},
    {"ConvInteger", onnx_map_qconv, AF_OP_CONV_INTEGER},
    {"QLinearConv", onnx_map_qconv, AF_OP_QLINEAR_CONV},
    {"MatMulInteger", onnx_map_qmatmul, AF_OP_MATMUL_INTEGER},
    {"QLinearMatMul", onnx_map_qmatmul, AF_OP_QLINEAR_MATMUL},
    {"NonMaxSuppression", onnx_map_nms, 0},
    {"NonZero", onnx_map_nonzero, 0},
    {"Compress", onnx_map_compress, 0},
    /* control flow */
    {"If", onnx_map_control, 0},
    {"Loop", onnx_map_control, 0},
    {"Scan", onnx_map_control, 0},
};

static int default_domain(const char *d)
{
    return !d || !*d || !strcmp(d, "ai.onnx");
}

af_status onnx_map_node(onnx_ctx *c, const Onnx__NodeProto *p, int index)
{
    char name[300];
    const char *op = p->op_type ? p->op_type : "";
    if (p->name && *p->name) snprintf(name, sizeof name, "%s", p->name);
    else snprintf(name, sizeof name, "%s_%d", op, index);
    if (c->suffix && *c->suffix) /* an unrolled iteration's copy */
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s", c->suffix);
    if (!*op) return af_err_set(c->err, AF_ERR_FORMAT, "node '%s' has no op_type", name);
    if (!default_domain(p->domain))
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "node '%s' uses op '%s' from domain '%s', "
                          "which is not supported", name, op, p->domain);
    onnx_node nd = {p, name, 0};
    af_status st = AF_ERR_UNSUPPORTED;
    if (!strcmp(op, "Constant")) {
        st = map_constant(c, &nd);
    } else {
        size_t i = 0, rows = sizeof op_rows / sizeof *op_rows;
        while (i < rows && strcmp(op_rows[i].name, op)) i++;
        if (i == rows)
            return af_err_set(c->err, AF_ERR_UNSUPPORTED, "node '%s' uses unsupported op '%s'",
                              name, op);
        nd.arg = op_rows[i].arg;
        st = op_rows[i].fn(c, &nd);
    }
    return st ? st : c->err->code;
}

/* --freeze and model description */
int af_onnx_op_supported(const char *domain, const char *op_type)
{
    if (!op_type || !default_domain(domain)) return 0;
    if (!strcmp(op_type, "Constant")) return 1;
    for (size_t i = 0; i < sizeof op_rows / sizeof *op_rows; i++)
        if (!strcmp(op_rows[i].name, op_type)) return 1;
    return 0;
}

/* Conv's attributes, for ConvInteger and QLinearConv (onnx_ops_quant.c). */
af_status onnx_conv_attrs(onnx_ctx *c, const onnx_node *nd, af_conv_params *cp)
{
    memset(cp, 0, sizeof *cp);
    for (int i = 0; i < AF_MAX_SPATIAL; i++) cp->stride[i] = cp->dilation[i] = 1;
    int64_t group = onnx_attr_i(c, nd, "group", 1);
    if (group < 1 || group > INT32_MAX)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "bad group %lld", (long long)group);
    cp->group = (int32_t)group;
    af_status st = auto_pad_attr(c, nd, &cp->auto_pad);
    if (!st) st = spatial_list(c, nd, "kernel_shape", 1, &cp->nsp, cp->kernel);
    if (!st) st = spatial_list(c, nd, "strides", 1, &cp->nsp, cp->stride);
    if (!st) st = spatial_list(c, nd, "dilations", 1, &cp->nsp, cp->dilation);
    if (!st) st = pads_attr(c, nd, &cp->nsp, cp->pad_begin, cp->pad_end);
    return st;
}

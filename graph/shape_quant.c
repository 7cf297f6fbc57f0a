/* graph/shape_quant.c — shape inference for the quantized-graph ops: QuantizeLinear,
 * DequantizeLinear (per-tensor, per-axis, blocked), DynamicQuantizeLinear, ConvInteger,
 * QLinearConv, MatMulInteger, QLinearMatMul. Quantization parameters of the wrong shape or
 * dtype, and constant scales that are zero or not finite, are refused naming the node. */
#include "shape_impl.h"

#include <math.h>
#include <string.h>

#include "../runtime/qparam.h"
#include "shape_quant.h"

static int is_q8(af_dtype d) { return d == AF_DTYPE_I8 || d == AF_DTYPE_U8; }

/* A constant scale must be finite and non-zero. */
static af_status check_scale_values(af_node *n, const af_tensor *s, const char *what,
                                    af_err *err)
{
    if (!s->data) return AF_OK;
    int64_t m = af_tensor_numel(s);
    for (int64_t i = 0; i < m; i++) {
        float v = ((const float *)s->data)[i];
        if (!(v != 0.0f) || !isfinite(v))
            return sh_err(n, err, AF_ERR_FORMAT, "%s '%s' is %g at index %lld (a scale must be "
                          "finite and non-zero)", what, s->name, (double)v, (long long)i);
    }
    return AF_OK;
}

/* A scalar (rank 0 or one element) f32 scale and its optional zero point of dtype zdt. */
static af_status check_scalar_pair(af_node *n, const af_tensor *s, const af_tensor *z,
                                   const char *what, af_err *err)
{
    char b[96];
    if (!s || s->dtype != AF_DTYPE_F32 || af_tensor_numel(s) != 1 || s->rank > 1)
        return sh_err(n, err, AF_ERR_SHAPE, "%s scale %s must be one f32 value", what,
                      s ? sh_str(s, b) : "(missing)");
    if (z && (af_tensor_numel(z) != 1 || z->rank > 1))
        return sh_err(n, err, AF_ERR_SHAPE, "%s zero point %s must be one value", what,
                      sh_str(z, b));
    return check_scale_values(n, s, what, err);
}

af_status af_shape_qparams(af_node *n, const af_tensor *x, const af_tensor *s,
                           const af_tensor *z, af_quant_params *p, af_err *err)
{
    char bs[96], bx[96];
    if (s->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "scale '%s' is %s, only f32 is supported",
                      s->name, af_dtype_name(s->dtype));
    int64_t ns = af_tensor_numel(s);
    int axis = 0, per_tensor = ns == 1 && s->rank <= 1 && p->block_size == 0;
    if (!per_tensor && sh_axis(p->axis, x->rank, &axis))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for input %s", (int)p->axis,
                      sh_str(x, bx));
    if (p->block_size < 0)
        return sh_err(n, err, AF_ERR_SHAPE, "block_size %d is negative", (int)p->block_size);
    if (p->block_size > 0) {
        af_qgeom g;
        int ok = s->rank == x->rank;
        int64_t want = af_qgeom_init(&g, AF_QMODE_BLOCK, x->rank, x->dims, axis, p->block_size);
        for (int k = 0; ok && k < x->rank; k++)
            ok = s->dims[k] == (k == axis ? g.nb : x->dims[k]);
        if (!ok || want != ns)
            return sh_err(n, err, AF_ERR_SHAPE, "blocked scale %s does not match input %s with "
                          "block_size %d on axis %d", sh_str(s, bs), sh_str(x, bx),
                          (int)p->block_size, axis);
    } else if (!per_tensor && (s->rank != 1 || s->dims[0] != x->dims[axis])) {
        return sh_err(n, err, AF_ERR_SHAPE, "scale %s must be one value or one per element of "
                      "axis %d of input %s", sh_str(s, bs), axis, sh_str(x, bx));
    }
    if (z && (z->rank != s->rank || memcmp(z->dims, s->dims, sizeof(int64_t) * (size_t)s->rank)))
        return sh_err(n, err, AF_ERR_SHAPE, "zero point %s does not match scale %s",
                      sh_str(z, bx), sh_str(s, bs));
    p->axis = axis;
    return check_scale_values(n, s, "scale", err);
}

af_status af_shape_quantize(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *s = sh_in(g, n, 1), *z = sh_in(g, n, 2);
    if (!s) return sh_err(n, err, AF_ERR_SHAPE, "the scale input is missing");
    if (x->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input is %s, only f32 is supported",
                      af_dtype_name(x->dtype));
    af_dtype to = z ? z->dtype : (af_dtype)n->p.quant.to;
    if (!is_q8(to))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "output type %s: only int8 and uint8 are "
                      "supported", af_dtype_name(to));
    n->p.quant.to = to;
    af_status st = af_shape_qparams(n, x, s, z, &n->p.quant, err);
    if (st) return st;
    sh_set_out(g, n, 0, to, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_dequantize(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *s = sh_in(g, n, 1), *z = sh_in(g, n, 2);
    if (!s) return sh_err(n, err, AF_ERR_SHAPE, "the scale input is missing");
    if (!is_q8(x->dtype) && x->dtype != AF_DTYPE_I32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input is %s: only int8, uint8 and int32 are "
                      "supported", af_dtype_name(x->dtype));
    if (z && z->dtype != x->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "zero point is %s, input is %s",
                      af_dtype_name(z->dtype), af_dtype_name(x->dtype));
    af_status st = af_shape_qparams(n, x, s, z, &n->p.quant, err);
    if (st) return st;
    sh_set_out(g, n, 0, AF_DTYPE_F32, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_dyn_quantize(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    if (x->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input is %s, only f32 is supported",
                      af_dtype_name(x->dtype));
    sh_set_out(g, n, 0, AF_DTYPE_U8, x->rank, x->dims);
    sh_set_out(g, n, 1, AF_DTYPE_F32, 0, NULL);
    sh_set_out(g, n, 2, AF_DTYPE_U8, 0, NULL);
    return AF_OK;
}

/* A zero point that is one value or one per channel (count c) of dtype dt. */
static af_status check_zp(af_node *n, const af_tensor *z, af_dtype dt, int64_t c,
                          const char *what, af_err *err)
{
    char b[96];
    if (!z) return AF_OK;
    if (z->dtype != dt)
        return sh_err(n, err, AF_ERR_SHAPE, "%s is %s, its data is %s", what,
                      af_dtype_name(z->dtype), af_dtype_name(dt));
    int64_t m = af_tensor_numel(z);
    if (z->rank > 1 || (m != 1 && m != c))
        return sh_err(n, err, AF_ERR_SHAPE, "%s %s must be one value or %lld", what,
                      sh_str(z, b), (long long)c);
    return AF_OK;
}

/* Conv geometry of X (input ix) and W (input iw) through af_shape_conv; output dtype dt. */
static af_status conv_geometry(af_graph *g, af_node *n, int ix, int iw, af_dtype dt,
                               af_err *err)
{
    af_tensor *x = sh_in(g, n, ix), *w = sh_in(g, n, iw);
    if (!w) return sh_err(n, err, AF_ERR_SHAPE, "the weight input is missing");
    if (!is_q8(x->dtype) || !is_q8(w->dtype))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input %s and weight %s: only int8/uint8 are "
                      "supported", af_dtype_name(x->dtype), af_dtype_name(w->dtype));
    af_node t = *n;
    int in[2] = {n->in[ix], n->in[iw]};
    t.in = in;
    t.n_in = 2;
    af_status st = af_shape_conv(g, &t, err);
    if (st) return st;
    n->p = t.p;
    af_tensor *y = &g->tensors[n->out[0]];
    y->dtype = dt;
    return AF_OK;
}

af_status af_shape_conv_integer(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *w = sh_in(g, n, 1);
    af_status st = conv_geometry(g, n, 0, 1, AF_DTYPE_I32, err);
    if (st) return st;
    if (!st) st = check_zp(n, sh_in(g, n, 2), x->dtype, 1, "x_zero_point", err);
    if (!st) st = check_zp(n, sh_in(g, n, 3), w->dtype, w->dims[0], "w_zero_point", err);
    return st;
}

af_status af_shape_qlinear_conv(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *w = sh_in(g, n, 3), *ws = sh_in(g, n, 4);
    af_tensor *yz = sh_in(g, n, 7), *b = sh_in(g, n, 8);
    char bb[96];
    if (!yz || !sh_in(g, n, 1) || !sh_in(g, n, 2) || !ws || !sh_in(g, n, 6))
        return sh_err(n, err, AF_ERR_SHAPE, "scales and zero points are required");
    af_status st = conv_geometry(g, n, 0, 3, yz->dtype, err);
    if (st) return st;
    int64_t m = w->dims[0];
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 1), sh_in(g, n, 2), "x", err);
    if (!st) st = check_zp(n, sh_in(g, n, 2), x->dtype, 1, "x_zero_point", err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 6), yz, "y", err);
    if (!st && !is_q8(yz->dtype))
        st = sh_err(n, err, AF_ERR_UNSUPPORTED, "y_zero_point must be int8 or uint8");
    if (!st && (ws->dtype != AF_DTYPE_F32 || ws->rank > 1 ||
                (af_tensor_numel(ws) != 1 && af_tensor_numel(ws) != m)))
        st = sh_err(n, err, AF_ERR_SHAPE, "w_scale %s must be one f32 value or %lld",
                    sh_str(ws, bb), (long long)m);
    if (!st) st = check_scale_values(n, ws, "w_scale", err);
    if (!st) st = check_zp(n, sh_in(g, n, 5), w->dtype, m, "w_zero_point", err);
    if (!st && b && (b->dtype != AF_DTYPE_I32 || b->rank != 1 || b->dims[0] != m))
        st = sh_err(n, err, AF_ERR_SHAPE, "bias %s must be int32 (%lld)", sh_str(b, bb),
                    (long long)m);
    return st;
}

/* numpy matmul of A (..., M, K) and B (..., K, N) (rank >= 2, batch dims broadcast). */
static af_status matmul_shape(af_graph *g, af_node *n, int ia, int ib, af_dtype dt,
                              int64_t *mn, af_err *err)
{
    af_tensor *a = sh_in(g, n, ia), *b = sh_in(g, n, ib);
    char sa[96], sb[96];
    if (!b) return sh_err(n, err, AF_ERR_SHAPE, "the B input is missing");
    if (!is_q8(a->dtype) || !is_q8(b->dtype))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "A %s and B %s: only int8/uint8 are supported",
                      af_dtype_name(a->dtype), af_dtype_name(b->dtype));
    if (a->rank < 2 || b->rank < 2 || a->dims[a->rank - 1] != b->dims[b->rank - 2])
        return sh_err(n, err, AF_ERR_SHAPE, "A %s and B %s do not multiply (rank >= 2 needed)",
                      sh_str(a, sa), sh_str(b, sb));
    int r = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[AF_MAX_RANK];
    for (int k = 0; k < r - 2; k++) {
        int ka = k - (r - a->rank), kb = k - (r - b->rank);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return sh_err(n, err, AF_ERR_SHAPE, "batch dims of A %s and B %s do not broadcast",
                          sh_str(a, sa), sh_str(b, sb));
        dims[k] = da > db ? da : db;
    }
    dims[r - 2] = mn[0] = a->dims[a->rank - 2];
    dims[r - 1] = mn[1] = b->dims[b->rank - 1];
    sh_set_out(g, n, 0, dt, r, dims);
    return AF_OK;
}

af_status af_shape_matmul_integer(af_graph *g, af_node *n, af_err *err)
{
    int64_t mn[2];
    af_status st = matmul_shape(g, n, 0, 1, AF_DTYPE_I32, mn, err);
    if (!st) st = check_zp(n, sh_in(g, n, 2), sh_in(g, n, 0)->dtype, mn[0], "a_zero_point", err);
    if (!st) st = check_zp(n, sh_in(g, n, 3), sh_in(g, n, 1)->dtype, mn[1], "b_zero_point", err);
    return st;
}

af_status af_shape_qlinear_matmul(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *yz = sh_in(g, n, 7), *bs = sh_in(g, n, 4);
    char b[96];
    for (int k = 1; k < 8; k++)
        if (!sh_in(g, n, k)) return sh_err(n, err, AF_ERR_SHAPE, "input %d is missing", k);
    if (!is_q8(yz->dtype))
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "y_zero_point must be int8 or uint8");
    int64_t mn[2];
    af_status st = matmul_shape(g, n, 0, 3, yz->dtype, mn, err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 1), sh_in(g, n, 2), "a", err);
    if (!st) st = check_zp(n, sh_in(g, n, 2), sh_in(g, n, 0)->dtype, 1, "a_zero_point", err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 6), yz, "y", err);
    if (!st && (bs->dtype != AF_DTYPE_F32 || bs->rank > 1 ||
                (af_tensor_numel(bs) != 1 && af_tensor_numel(bs) != mn[1])))
        st = sh_err(n, err, AF_ERR_SHAPE, "b_scale %s must be one f32 value or %lld",
                    sh_str(bs, b), (long long)mn[1]);
    if (!st) st = check_scale_values(n, bs, "b_scale", err);
    if (!st) st = check_zp(n, sh_in(g, n, 5), sh_in(g, n, 3)->dtype, mn[1], "b_zero_point", err);
    af_tensor *bias = sh_in(g, n, 8);
    if (!st && bias && (bias->dtype != AF_DTYPE_I32 || bias->rank != 1 || bias->dims[0] != mn[1]))
        st = sh_err(n, err, AF_ERR_SHAPE, "bias %s must be int32 (%lld)", sh_str(bias, b),
                    (long long)mn[1]);
    return st;
}

af_status af_shape_qlinear_binary(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *a = sh_in(g, n, 0), *b = sh_in(g, n, 3), *yz = sh_in(g, n, 7);
    char sa[96], sb[96];
    for (int k = 1; k < 8; k++)
        if (!sh_in(g, n, k)) return sh_err(n, err, AF_ERR_SHAPE, "input %d is missing", k);
    if (!is_q8(a->dtype) || b->dtype != a->dtype || yz->dtype != a->dtype)
        return sh_err(n, err, AF_ERR_SHAPE, "A, B and y_zero_point must be one int8/uint8 type");
    af_status st = check_scalar_pair(n, sh_in(g, n, 1), sh_in(g, n, 2), "a", err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 4), sh_in(g, n, 5), "b", err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 6), yz, "y", err);
    if (st) return st;
    int r = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[AF_MAX_RANK];
    for (int k = 0; k < r; k++) {
        int ka = k - (r - a->rank), kb = k - (r - b->rank);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return sh_err(n, err, AF_ERR_SHAPE, "A %s and B %s do not broadcast", sh_str(a, sa),
                          sh_str(b, sb));
        dims[k] = da > db ? da : db;
    }
    sh_set_out(g, n, 0, yz->dtype, r, dims);
    return AF_OK;
}

af_status af_shape_qlinear_gap(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0), *yz = sh_in(g, n, 4);
    for (int k = 1; k < 5; k++)
        if (!sh_in(g, n, k)) return sh_err(n, err, AF_ERR_SHAPE, "input %d is missing", k);
    if (!is_q8(x->dtype) || !is_q8(yz->dtype) || x->rank < 3)
        return sh_err(n, err, AF_ERR_SHAPE, "X (N,C,*) and y_zero_point must be int8/uint8");
    af_status st = check_scalar_pair(n, sh_in(g, n, 1), sh_in(g, n, 2), "x", err);
    if (!st) st = check_zp(n, sh_in(g, n, 2), x->dtype, 1, "x_zero_point", err);
    if (!st) st = check_scalar_pair(n, sh_in(g, n, 3), yz, "y", err);
    if (st) return st;
    int64_t dims[AF_MAX_RANK];
    for (int k = 0; k < x->rank; k++) dims[k] = k < 2 ? x->dims[k] : 1;
    sh_set_out(g, n, 0, yz->dtype, x->rank, dims);
    return AF_OK;
}

/* graph/shape_norm.c — shape inference for INSTANCE_NORM, GROUP_NORM, LAYER_NORM and ATTENTION.
 * The norms keep the input's shape; their scale/bias must hold one value per channel (per
 * group also accepted for GroupNorm, as in ONNX GroupNormalization-18) or, for LayerNorm, one
 * per element of the normalised extent. Attention: q (...,Tq,d), k (...,Tk,d) or (...,d,Tk),
 * v (...,Tk,dv) with equal batch dims → (...,Tq,dv). */
#include "shape_impl.h"

static af_status affine_count(af_graph *g, af_node *n, int64_t a, int64_t b, af_err *err)
{
    char s[96];
    for (int k = 1; k < 3; k++) {
        af_tensor *t = sh_in(g, n, k);
        if (!t) continue;
        int64_t m = af_tensor_numel(t);
        if (m != a && m != b)
            return sh_err(n, err, AF_ERR_SHAPE, "%s '%s' %s must hold %lld values",
                          k == 1 ? "scale" : "bias", t->name, sh_str(t, s), (long long)a);
    }
    return AF_OK;
}

/* half-precision graphs */
static int is_half(af_dtype t) { return t == AF_DTYPE_F16 || t == AF_DTYPE_BF16; }

static af_status channels_first(af_graph *g, af_node *n, af_tensor **x, af_err *err)
{
    char s[96];
    *x = sh_in(g, n, 0);
    if ((*x)->rank < 3)
        return sh_err(n, err, AF_ERR_SHAPE, "input %s must be (N,C,D1,...)", sh_str(*x, s));
    if ((*x)->dtype != AF_DTYPE_F32 && !is_half((*x)->dtype)) /* halves: lowering/half.c */
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input is %s, only f32 is supported",
                      af_dtype_name((*x)->dtype));
    return AF_OK;
}

af_status af_shape_instance_norm(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x;
    af_status st = channels_first(g, n, &x, err);
    if (!st) st = affine_count(g, n, x->dims[1], x->dims[1], err);
    if (st) return st;
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_group_norm(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x;
    af_status st = channels_first(g, n, &x, err);
    if (st) return st;
    int64_t G = n->p.norm.num_groups, C = x->dims[1];
    if (G < 1 || C % G)
        return sh_err(n, err, AF_ERR_SHAPE, "%lld channels do not split into %lld groups",
                      (long long)C, (long long)G);
    st = affine_count(g, n, C, G, err);
    if (st) return st;
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    return AF_OK;
}

af_status af_shape_layer_norm(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *x = sh_in(g, n, 0);
    int axis;
    if (x->rank < 1 || sh_axis(n->p.norm.axis, x->rank, &axis))
        return sh_err(n, err, AF_ERR_SHAPE, "axis %d out of range for rank %d",
                      (int)n->p.norm.axis, x->rank);
    if (x->dtype != AF_DTYPE_F32 && !is_half(x->dtype)) /* halves: lowering/half.c */
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "input is %s, only f32 is supported",
                      af_dtype_name(x->dtype));
    int64_t inner = sh_prod(x->dims, axis, x->rank);
    af_status st = affine_count(g, n, inner, inner, err);
    if (st) return st;
    n->p.norm.axis = axis;
    sh_set_out(g, n, 0, x->dtype, x->rank, x->dims);
    /* Mean and InvStdDev (f32, stash_type 1): X's shape with the normalised axes kept as 1 */
    int64_t stat[AF_MAX_RANK];
    for (int i = 0; i < x->rank; i++) stat[i] = i < axis ? x->dims[i] : 1;
    for (int k = 1; k < n->n_out && k < 3; k++) sh_set_out(g, n, k, AF_DTYPE_F32, x->rank, stat);
    return AF_OK;
}

af_status af_shape_attention(af_graph *g, af_node *n, af_err *err)
{
    af_tensor *q = sh_in(g, n, 0), *k = sh_in(g, n, 1), *v = sh_in(g, n, 2);
    char sq[96], sk[96], sv[96];
    int r = q->rank, kt = n->p.attention.k_transposed != 0;
    if (!k || !v || r < 2 || k->rank != r || v->rank != r)
        return sh_err(n, err, AF_ERR_SHAPE, "q, k and v need one rank >= 2");
    int ok = 1;
    for (int i = 0; i < r - 2; i++)
        ok &= k->dims[i] == q->dims[i] && v->dims[i] == q->dims[i];
    int64_t tk = k->dims[r - 2 + kt], dk = k->dims[r - 1 - kt];
    ok &= dk == q->dims[r - 1] && v->dims[r - 2] == tk;
    int32_t h = n->p.attention.heads; /* > 0: heads side by side in q's and v's last axis */
    if (h < 0 || (h > 0 && (kt || q->dims[r - 1] % h || v->dims[r - 1] % h ||
                            q->dims[r - 1] < h || v->dims[r - 1] < h)))
        return sh_err(n, err, AF_ERR_SHAPE, "%d heads do not split q %s and v %s%s", (int)h,
                      sh_str(q, sq), sh_str(v, sv), kt ? " (k transposed)" : "");
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "q %s, k %s%s and v %s do not fit", sh_str(q, sq),
                      sh_str(k, sk), kt ? " (transposed)" : "", sh_str(v, sv));
    int64_t dims[AF_MAX_RANK];
    for (int i = 0; i < r; i++) dims[i] = q->dims[i];
    dims[r - 1] = v->dims[r - 1];
    sh_set_out(g, n, 0, q->dtype, r, dims);
    return AF_OK;
}

/* graph/shape_rnn.c — shape inference for LSTM, GRU and RNN (ONNX semantics).
 *
 * With D directions (2 when bidirectional), G gates (LSTM 4, GRU 3, RNN 1) and H = hidden_size:
 *   X (S,B,I) [layout 1: (B,S,I)], W (D,G·H,I), R (D,G·H,H), B? (D,2·G·H), sequence_lens? (B),
 *   initial_h?/initial_c? (D,B,H) [layout 1: (B,D,H)], P? (D,3·H)
 *   → Y (S,D,B,H) [layout 1: (B,S,D,H)], Y_h/Y_c (D,B,H) [layout 1: (B,D,H)].
 * hidden_size, when the attribute is absent, is taken from R. */
#include "shape_impl.h"

static int rnn_gates(af_op op) { return op == AF_OP_LSTM ? 4 : op == AF_OP_GRU ? 3 : 1; }

/* Input k, when present, must be f32 with exactly the given shape. */
static af_status need_shape(af_graph *g, af_node *n, int k, const char *what, int rank,
                            const int64_t *dims, af_err *err)
{
    af_tensor *t = sh_in(g, n, k);
    if (!t) return AF_OK;
    char s[96], w[96];
    af_tensor want = {0};
    want.rank = rank;
    for (int i = 0; i < rank; i++) want.dims[i] = dims[i];
    int ok = t->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = t->dims[i] == dims[i];
    if (!ok)
        return sh_err(n, err, AF_ERR_SHAPE, "%s '%s' is %s, expected %s", what, t->name,
                      sh_str(t, s), sh_str(&want, w));
    if (t->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "%s '%s' is %s, only f32 is supported", what,
                      t->name, af_dtype_name(t->dtype));
    return AF_OK;
}

/* H from R (D, G·H, H) checked against the attribute. */
static af_status hidden_of(af_graph *g, af_node *n, int64_t gates, int64_t *H, af_err *err)
{
    char s[96];
    af_tensor *r = sh_in(g, n, 2);
    if (r->rank != 3)
        return sh_err(n, err, AF_ERR_SHAPE, "R '%s' is %s, expected (num_directions, %lld*hidden,"
                      " hidden)", r->name, sh_str(r, s), (long long)gates);
    *H = r->dims[2];
    if (n->p.rnn.hidden_size > 0 && n->p.rnn.hidden_size != *H)
        return sh_err(n, err, AF_ERR_SHAPE, "hidden_size %d does not match R '%s' %s",
                      (int)n->p.rnn.hidden_size, r->name, sh_str(r, s));
    if (*H < 1 || *H > INT32_MAX)
        return sh_err(n, err, AF_ERR_SHAPE, "R '%s' %s gives hidden size %lld", r->name,
                      sh_str(r, s), (long long)*H);
    return AF_OK;
}

static af_status check_seq_lens(af_graph *g, af_node *n, int64_t batch, af_err *err)
{
    af_tensor *t = sh_in(g, n, 4);
    char s[96];
    if (!t) return AF_OK;
    if (t->rank != 1 || t->dims[0] != batch)
        return sh_err(n, err, AF_ERR_SHAPE, "sequence_lens '%s' is %s, expected [%lld]", t->name,
                      sh_str(t, s), (long long)batch);
    if (t->dtype != AF_DTYPE_I32 && t->dtype != AF_DTYPE_I64)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "sequence_lens '%s' is %s, expected int32",
                      t->name, af_dtype_name(t->dtype));
    return AF_OK;
}

af_status af_shape_rnn(af_graph *g, af_node *n, af_err *err)
{
    af_rnn_params *rp = &n->p.rnn;
    af_tensor *x = sh_in(g, n, 0);
    char s[96];
    if (x->rank != 3)
        return sh_err(n, err, AF_ERR_SHAPE, "X '%s' is %s, expected (seq, batch, input)", x->name,
                      sh_str(x, s));
    if (x->dtype != AF_DTYPE_F32)
        return sh_err(n, err, AF_ERR_UNSUPPORTED, "X is %s, only f32 is supported",
                      af_dtype_name(x->dtype));
    int lay = rp->layout != 0;
    int64_t S = x->dims[lay ? 1 : 0], B = x->dims[lay ? 0 : 1], I = x->dims[2];
    int64_t D = rp->direction == AF_RNN_BIDIRECTIONAL ? 2 : 1, G = rnn_gates(n->op), H = 0;
    af_status st = hidden_of(g, n, G, &H, err);
    if (st) return st;
    int64_t w[3] = {D, G * H, I}, r[3] = {D, G * H, H}, b[2] = {D, 2 * G * H}, p[2] = {D, 3 * H};
    int64_t st_dims[3] = {lay ? B : D, lay ? D : B, H};
    st = need_shape(g, n, 1, "W", 3, w, err);
    if (!st) st = need_shape(g, n, 2, "R", 3, r, err);
    if (!st) st = need_shape(g, n, 3, "B", 2, b, err);
    if (!st) st = check_seq_lens(g, n, B, err);
    if (!st) st = need_shape(g, n, 5, "initial_h", 3, st_dims, err);
    if (!st) st = need_shape(g, n, 6, "initial_c", 3, st_dims, err);
    if (!st) st = need_shape(g, n, 7, "P", 2, p, err);
    if (st) return st;
    rp->hidden_size = (int32_t)H;
    int64_t y[4] = {lay ? B : S, lay ? S : D, lay ? D : B, H};
    sh_set_out(g, n, 0, AF_DTYPE_F32, 4, y);
    for (int k = 1; k < n->n_out; k++) sh_set_out(g, n, k, AF_DTYPE_F32, 3, st_dims);
    return AF_OK;
}

/* runtime/kernels/rnn.c — LSTM, GRU, RNN as ONNX defines them (f32 reference kernels).
 *
 * D directions, G gates (LSTM 4 in order i,o,f,c; GRU 3 in order z,r,h; RNN 1), H hidden:
 *   X (S,B,I) [layout 1: (B,S,I)], W (D,G·H,I), R (D,G·H,H), B? (D,2·G·H) = [Wb, Rb],
 *   sequence_lens? (B), initial_h?/initial_c? (D,B,H) [layout 1: (B,D,H)], P? (D,3·H) (i,o,f)
 *   → Y (S,D,B,H) [layout 1: (B,S,D,H)], Y_h?/Y_c? (D,B,H) [layout 1: (B,D,H)].
 * Per direction the input projection of every step runs as one GEMM, XW = X·W_dᵀ
 * ((S·B, I)·(I, G·H), rows in X's order), then each step does one recurrent product
 * H·R_dᵀ ((B,H)·(H,G·H); GRU without linear_before_reset: (B,H)·(H,2·H), then (r⊙H)·R_hᵀ) and
 * the gate arithmetic. sequence_lens: batch row b runs its first L_b steps (forward from t = 0,
 * reverse from t = L_b - 1); Y is 0 at t >= L_b; Y_h/Y_c hold the state after its last step.
 * clip bounds every gate pre-activation to [-clip, clip] before its activation.
 * Scratch (floats): XW S·B·G·H, rec B·G·H, h, c and r⊙h B·H each. */
#include "internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct rnn_geo {
    int64_t S, B, I, H, D, G;
    int lay, per; /* layout; activations per direction */
} rnn_geo;

static int gates_of(af_op op) { return op == AF_OP_LSTM ? 4 : op == AF_OP_GRU ? 3 : 1; }

static int present(const af_tview *in, int n_in, int k) { return k < n_in && !afk_omitted(&in[k]); }

static void geo_of(af_op op, const af_params *p, const af_tview *in, rnn_geo *g)
{
    const af_rnn_params *rp = &p->rnn;
    g->lay = rp->layout != 0;
    g->S = in[0].dims[g->lay ? 1 : 0];
    g->B = in[0].dims[g->lay ? 0 : 1];
    g->I = in[0].dims[2];
    g->H = rp->hidden_size;
    g->D = rp->direction == AF_RNN_BIDIRECTIONAL ? 2 : 1;
    g->G = gates_of(op);
    g->per = op == AF_OP_LSTM ? 3 : op == AF_OP_GRU ? 2 : 1;
}

/* Scratch floats, or -1 above 2^40 (the views' sizes do not bound S·B·G·H when I is small). */
static int64_t scratch_floats(const rnn_geo *g)
{
    const double lim = 1099511627776.0;
    double f = ((double)g->S * g->B + g->B) * g->G * g->H + 3.0 * g->B * g->H;
    int64_t w = (int64_t)afk_sgemm_work_floats(); /* the GEMMs' packing space, last */
    return f > lim ? -1 : (g->S * g->B + g->B) * g->G * g->H + 3 * g->B * g->H + w;
}

size_t afk_rnn_scratch(af_op op, const af_params *p, const af_tview *in, int n_in)
{
    if (n_in < 3 || in[0].rank != 3 || p->rnn.hidden_size < 1) return 0;
    rnn_geo g;
    geo_of(op, p, in, &g);
    int64_t f = scratch_floats(&g);
    return f < 0 ? 0 : sizeof(float) * (size_t)f; /* too large: afk_rnn_check refuses it */
}

/* ---- check ---- */

static af_status need(const char *op, const char *what, const af_tview *v, int rank,
                      const int64_t *dims, af_err *err)
{
    char s[96];
    int ok = v->rank == rank;
    for (int i = 0; ok && i < rank; i++) ok = v->dims[i] == dims[i];
    if (!ok)
        return af_err_set(err, AF_ERR_SHAPE, "%s: %s is %s", op, what,
                          afk_shape_str(v, s, sizeof s));
    return afk_need_dtype(op, what, v, AF_DTYPE_F32, err);
}

static af_status check_params(const char *op, const af_rnn_params *rp, int n_acts, af_err *err)
{
    if (rp->direction < AF_RNN_FORWARD || rp->direction > AF_RNN_BIDIRECTIONAL)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: direction %d", op, (int)rp->direction);
    if (rp->layout != 0 && rp->layout != 1)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: layout %d", op, (int)rp->layout);
    if (rp->has_clip && !(rp->clip > 0.0f))
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: clip %g", op, (double)rp->clip);
    for (int k = 0; k < n_acts; k++)
        if (rp->act[k] < 0 || rp->act[k] >= AF_RNN_ACT_COUNT)
            return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: activation %d out of range", op,
                              (int)rp->act[k]);
    return AF_OK;
}

static af_status check_inputs(const char *op, const rnn_geo *g, const af_tview *in, int n_in,
                              af_err *err)
{
    int64_t GH = g->G * g->H, w[3] = {g->D, GH, g->I}, r[3] = {g->D, GH, g->H};
    int64_t b[2] = {g->D, 2 * GH}, p[2] = {g->D, 3 * g->H}, sl[1] = {g->B};
    int64_t st[3] = {g->lay ? g->B : g->D, g->lay ? g->D : g->B, g->H};
    af_status s = afk_need_dtype(op, "X", &in[0], AF_DTYPE_F32, err);
    if (!s) s = need(op, "W", &in[1], 3, w, err);
    if (!s) s = need(op, "R", &in[2], 3, r, err);
    if (!s && present(in, n_in, 3)) s = need(op, "B", &in[3], 2, b, err);
    if (!s && present(in, n_in, 4)) {
        char sh[96];
        if (in[4].rank != 1 || in[4].dims[0] != sl[0] ||
            (in[4].dtype != AF_DTYPE_I32 && in[4].dtype != AF_DTYPE_I64))
            return af_err_set(err, AF_ERR_SHAPE, "%s: sequence_lens is %s %s", op,
                              af_dtype_name(in[4].dtype), afk_shape_str(&in[4], sh, sizeof sh));
    }
    if (!s && present(in, n_in, 5)) s = need(op, "initial_h", &in[5], 3, st, err);
    if (!s && present(in, n_in, 6)) s = need(op, "initial_c", &in[6], 3, st, err);
    if (!s && present(in, n_in, 7)) s = need(op, "P", &in[7], 2, p, err);
    return s;
}

af_status afk_rnn_check(af_op op, AFK_CHECK_ARGS)
{
    const char *name = af_op_name(op);
    int max_in = op == AF_OP_LSTM ? 8 : 6, max_out = op == AF_OP_LSTM ? 3 : 2;
    if (n_in < 3 || n_in > max_in || n_out < 1 || n_out > max_out)
        return af_err_set(err, AF_ERR_SHAPE, "%s: %d inputs and %d outputs", name, n_in, n_out);
    if (in[0].rank != 3 || afk_omitted(&in[1]) || afk_omitted(&in[2]) || p->rnn.hidden_size < 1)
        return af_err_set(err, AF_ERR_SHAPE, "%s: X must be rank 3, W and R present, hidden_size"
                          " resolved", name);
    rnn_geo g;
    geo_of(op, p, in, &g);
    af_status s = check_params(name, &p->rnn, g.per * (int)g.D, err);
    if (!s && scratch_floats(&g) < 0)
        return af_err_set(err, AF_ERR_SHAPE, "%s: seq %lld x batch %lld x %lld gates of %lld is "
                          "too large", name, (long long)g.S, (long long)g.B, (long long)g.G,
                          (long long)g.H);
    if (!s) s = check_inputs(name, &g, in, n_in, err);
    int64_t y[4] = {g.lay ? g.B : g.S, g.lay ? g.S : g.D, g.lay ? g.D : g.B, g.H};
    int64_t st[3] = {g.lay ? g.B : g.D, g.lay ? g.D : g.B, g.H};
    if (!s) s = need(name, "Y", &out[0], 4, y, err);
    for (int k = 1; !s && k < n_out; k++)
        s = need(name, k == 1 ? "Y_h" : "Y_c", &out[k], 3, st, err);
    return s;
}

/* ---- run ---- */

static float act_f(const af_rnn_params *rp, int k, float x)
{
    float a = rp->alpha[k], b = rp->beta[k];
    switch (rp->act[k]) {
    case AF_RNN_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case AF_RNN_ACT_TANH: return tanhf(x);
    case AF_RNN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case AF_RNN_ACT_AFFINE: return a * x + b;
    case AF_RNN_ACT_LEAKY_RELU: return x >= 0.0f ? x : a * x;
    case AF_RNN_ACT_THRESHOLDED_RELU: return x > a ? x : 0.0f;
    case AF_RNN_ACT_SCALED_TANH: return a * tanhf(b * x);
    case AF_RNN_ACT_HARD_SIGMOID: return fmaxf(0.0f, fminf(1.0f, a * x + b));
    case AF_RNN_ACT_ELU: return x >= 0.0f ? x : a * (expf(x) - 1.0f);
    case AF_RNN_ACT_SOFTSIGN: return x / (1.0f + fabsf(x));
    case AF_RNN_ACT_SOFTPLUS: return x > 20.0f ? x : log1pf(expf(x));
    default: return x;
    }
}

/* One direction's working set. */
typedef struct rnn_dir {
    const af_rnn_params *rp;
    rnn_geo g;
    int d, rev, a0;        /* direction index, runs backwards, its first activation */
    const float *W, *R, *Wb, *Rb, *P; /* this direction's slices (Wb/Rb/P may be NULL) */
    const af_tview *seq;   /* sequence_lens or NULL */
    float *xw, *rec, *h, *c, *rh, *work; /* work: afk_sgemm_w packing */
    float *Y;
} rnn_dir;

static float clipf(const rnn_dir *r, float x)
{
    if (!r->rp->has_clip) return x;
    float m = r->rp->clip;
    return x < -m ? -m : x > m ? m : x;
}

static float bias(const rnn_dir *r, int64_t k) { return r->Wb ? r->Wb[k] + r->Rb[k] : 0.0f; }

static int64_t seq_len(const rnn_dir *r, int64_t b)
{
    if (!r->seq) return r->g.S;
    int64_t L = afk_get_i64(r->seq->dtype, r->seq->data, b);
    return L < 0 ? 0 : L > r->g.S ? r->g.S : L;
}

/* Time index of step s for batch row b, or -1 when the row is done. */
static int64_t time_of(const rnn_dir *r, int64_t s, int64_t b)
{
    int64_t L = seq_len(r, b);
    return s >= L ? -1 : r->rev ? L - 1 - s : s;
}

static const float *xw_row(const rnn_dir *r, int64_t t, int64_t b)
{
    int64_t row = r->g.lay ? b * r->g.S + t : t * r->g.B + b;
    return r->xw + row * r->g.G * r->g.H;
}

static float *y_row(const rnn_dir *r, int64_t t, int64_t b)
{
    const rnn_geo *g = &r->g;
    int64_t row = g->lay ? (b * g->S + t) * g->D + r->d : (t * g->D + r->d) * g->B + b;
    return r->Y + row * g->H;
}

/* Offset of (direction d, batch b) in a state tensor (D,B,H) [layout 1: (B,D,H)]. */
static int64_t state_off(const rnn_dir *r, int64_t b)
{
    const rnn_geo *g = &r->g;
    return (g->lay ? b * g->D + r->d : r->d * g->B + b) * g->H;
}

static void load_state(const rnn_dir *r, float *dst, const af_tview *src)
{
    for (int64_t b = 0; b < r->g.B; b++) {
        float *o = dst + b * r->g.H;
        if (src) memcpy(o, (const float *)src->data + state_off(r, b), (size_t)r->g.H * sizeof *o);
        else memset(o, 0, (size_t)r->g.H * sizeof *o);
    }
}

static void store_state(const rnn_dir *r, const float *src, af_tview *dst)
{
    for (int64_t b = 0; b < r->g.B; b++)
        memcpy((float *)dst->data + state_off(r, b), src + b * r->g.H,
               (size_t)r->g.H * sizeof *src);
}

// LSTM step s: h (B,H) · R_dᵀ (H,4H) -> rec (B,4H); gates i,o,f,c; c, h (B,H) updated in place
static void lstm_step(rnn_dir *r, int64_t s)
{
    const rnn_geo *g = &r->g;
    int64_t H = g->H;
    afk_sgemm_w(0, 1, g->B, 4 * H, H, 1.0f, r->h, H, r->R, H, 0.0f, r->rec, 4 * H, r->work);
    for (int64_t b = 0; b < g->B; b++) {
        int64_t t = time_of(r, s, b);
        if (t < 0) continue;
        const float *x = xw_row(r, t, b), *q = r->rec + b * 4 * H;
        float *h = r->h + b * H, *c = r->c + b * H, *y = y_row(r, t, b);
        for (int64_t j = 0; j < H; j++) {
            float gi = x[j] + q[j] + bias(r, j) + (r->P ? r->P[j] * c[j] : 0.0f);
            float gf = x[2 * H + j] + q[2 * H + j] + bias(r, 2 * H + j) +
                       (r->P ? r->P[2 * H + j] * c[j] : 0.0f);
            float gc = x[3 * H + j] + q[3 * H + j] + bias(r, 3 * H + j);
            float i = act_f(r->rp, r->a0, clipf(r, gi));
            float f = r->rp->input_forget ? 1.0f - i : act_f(r->rp, r->a0, clipf(r, gf));
            float cn = f * c[j] + i * act_f(r->rp, r->a0 + 1, clipf(r, gc));
            float go = x[H + j] + q[H + j] + bias(r, H + j) + (r->P ? r->P[H + j] * cn : 0.0f);
            float o = act_f(r->rp, r->a0, clipf(r, go));
            c[j] = cn;
            h[j] = y[j] = o * act_f(r->rp, r->a0 + 2, cn);
        }
    }
}

// GRU step s: h (B,H) · R_dᵀ -> rec (B,3H) (z, r, and with linear_before_reset h·R_hᵀ);
// otherwise (r⊙h) (B,H) · R_hᵀ (H,H) -> rec[:, 2H:3H] after the gates z, r
static void gru_step(rnn_dir *r, int64_t s)
{
    const rnn_geo *g = &r->g;
    int64_t H = g->H, GH = 3 * H;
    int lbr = r->rp->linear_before_reset != 0;
    afk_sgemm_w(0, 1, g->B, lbr ? GH : 2 * H, H, 1.0f, r->h, H, r->R, H, 0.0f, r->rec, GH,
                r->work);
    for (int64_t b = 0; b < g->B; b++) {
        int64_t t = time_of(r, s, b);
        float *q = r->rec + b * GH, *rh = r->rh + b * H;
        const float *x = t >= 0 ? xw_row(r, t, b) : NULL, *h = r->h + b * H;
        for (int64_t j = 0; j < H; j++) {
            if (!x) { rh[j] = 0.0f; continue; }
            q[j] = act_f(r->rp, r->a0, clipf(r, x[j] + q[j] + bias(r, j)));              /* z */
            q[H + j] = act_f(r->rp, r->a0, clipf(r, x[H + j] + q[H + j] + bias(r, H + j))); /* r */
            rh[j] = q[H + j] * h[j];
        }
    }
    if (!lbr)
        afk_sgemm_w(0, 1, g->B, H, H, 1.0f, r->rh, H, r->R + 2 * H * H, H, 0.0f, r->rec + 2 * H,
                  GH, r->work);
    for (int64_t b = 0; b < g->B; b++) {
        int64_t t = time_of(r, s, b);
        if (t < 0) continue;
        const float *x = xw_row(r, t, b), *q = r->rec + b * GH;
        float *h = r->h + b * H, *y = y_row(r, t, b);
        for (int64_t j = 0; j < H; j++) {
            float wb = r->Wb ? r->Wb[2 * H + j] : 0.0f, rb = r->Rb ? r->Rb[2 * H + j] : 0.0f;
            float rec = lbr ? q[H + j] * (q[2 * H + j] + rb) : q[2 * H + j] + rb;
            float hh = act_f(r->rp, r->a0 + 1, clipf(r, x[2 * H + j] + wb + rec));
            h[j] = y[j] = (1.0f - q[j]) * hh + q[j] * h[j];
        }
    }
}

// RNN step s: h (B,H) · R_dᵀ (H,H) -> rec (B,H); h = f(xw + rec + Wb + Rb)
static void rnn_step(rnn_dir *r, int64_t s)
{
    const rnn_geo *g = &r->g;
    int64_t H = g->H;
    afk_sgemm_w(0, 1, g->B, H, H, 1.0f, r->h, H, r->R, H, 0.0f, r->rec, H, r->work);
    for (int64_t b = 0; b < g->B; b++) {
        int64_t t = time_of(r, s, b);
        if (t < 0) continue;
        const float *x = xw_row(r, t, b), *q = r->rec + b * H;
        float *h = r->h + b * H, *y = y_row(r, t, b);
        for (int64_t j = 0; j < H; j++)
            h[j] = y[j] = act_f(r->rp, r->a0, clipf(r, x[j] + q[j] + bias(r, j)));
    }
}

static void run_dir(af_op op, rnn_dir *r, const af_tview *in, int n_in, af_tview *out, int n_out)
{
    const rnn_geo *g = &r->g;
    int64_t GH = g->G * g->H;
    r->W = (const float *)in[1].data + r->d * GH * g->I;
    r->R = (const float *)in[2].data + r->d * GH * g->H;
    r->Wb = present(in, n_in, 3) ? (const float *)in[3].data + r->d * 2 * GH : NULL;
    r->Rb = r->Wb ? r->Wb + GH : NULL;
    r->P = op == AF_OP_LSTM && present(in, n_in, 7)
               ? (const float *)in[7].data + r->d * 3 * g->H
               : NULL;
    // X (S·B, I) [rows t·B+b; layout 1: b·S+t] · W_dᵀ (I, G·H) -> xw (S·B, G·H)
    afk_sgemm_w(0, 1, g->S * g->B, GH, g->I, 1.0f, (const float *)in[0].data, g->I, r->W, g->I,
              0.0f, r->xw, GH, r->work);
    load_state(r, r->h, present(in, n_in, 5) ? &in[5] : NULL);
    load_state(r, r->c, op == AF_OP_LSTM && present(in, n_in, 6) ? &in[6] : NULL);
    for (int64_t s = 0; s < g->S; s++) {
        if (op == AF_OP_LSTM) lstm_step(r, s);
        else if (op == AF_OP_GRU) gru_step(r, s);
        else rnn_step(r, s);
    }
    if (n_out > 1) store_state(r, r->h, &out[1]);
    if (n_out > 2) store_state(r, r->c, &out[2]);
}

af_status afk_rnn_run(af_op op, AFK_RUN_ARGS)
{
    (void)err;
    rnn_dir r;
    memset(&r, 0, sizeof r);
    r.rp = &p->rnn;
    geo_of(op, p, in, &r.g);
    r.Y = out[0].data;
    memset(r.Y, 0, (size_t)af_tview_numel(&out[0]) * sizeof(float));
    float *f = ctx ? ctx->scratch : NULL;
    if (!f) return AF_OK; /* no scratch needed: an empty batch */
    r.xw = f;
    r.rec = r.xw + r.g.S * r.g.B * r.g.G * r.g.H;
    r.h = r.rec + r.g.B * r.g.G * r.g.H;
    r.c = r.h + r.g.B * r.g.H;
    r.rh = r.c + r.g.B * r.g.H;
    r.work = r.rh + r.g.B * r.g.H;
    r.seq = present(in, n_in, 4) ? &in[4] : NULL;
    for (int d = 0; d < r.g.D; d++) {
        r.d = d;
        r.rev = p->rnn.direction == AF_RNN_REVERSE || d == 1;
        r.a0 = d * r.g.per;
        run_dir(op, &r, in, n_in, out, n_out);
    }
    return AF_OK;
}

/* tests/unit/test_rnn.c — LSTM, GRU and RNN kernels against a scalar reference written here
 * from the ONNX operator text (double precision, one batch row at a time, dot products spelled
 * out), for the options the ONNX backend cases do not cover: clip, peepholes, layout 1,
 * linear_before_reset 0 and 1, input_forget, reverse and bidirectional directions, unequal
 * sequence_lens, non-default activations with alpha/beta, every optional output; plus the
 * kernel's shape and parameter checks.
 *
 * Tolerance 1e-5 relative, |got-ref|/(1+|ref|): the kernel sums ≤ I+H = 13 f32 products per gate
 * (~1e-7 relative) and the recurrence over ≤ 6 steps multiplies that by at most the Lipschitz
 * constant of a step (weights scaled by 1/sqrt(fan-in): ≤ ~2), so errors stay below 1e-6. A
 * wrong gate order, direction, peephole, bias half or time index changes outputs by > 1e-2. */
#include "test_kernels_util.h"

#define TOL 1e-5

typedef struct cfg {
    af_op op;
    int64_t S, B, I, H;
    int dir, layout, input_forget, lbr;
    float clip; /* 0: none */
    int bias, seq, init, peep, n_out;
    const int32_t *lens;
    int32_t acts[AF_RNN_MAX_ACTS];
    float alpha[AF_RNN_MAX_ACTS], beta[AF_RNN_MAX_ACTS];
    int custom_acts;
} cfg;

static int gates(af_op op) { return op == AF_OP_LSTM ? 4 : op == AF_OP_GRU ? 3 : 1; }
static int per_dir(af_op op) { return op == AF_OP_LSTM ? 3 : op == AF_OP_GRU ? 2 : 1; }

/* ---- reference (layout 0) ---- */

static double ref_act(const cfg *c, int k, double x)
{
    double a = c->alpha[k], b = c->beta[k];
    switch (c->acts[k]) {
    case AF_RNN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case AF_RNN_ACT_TANH: return tanh(x);
    case AF_RNN_ACT_RELU: return x < 0 ? 0 : x;
    case AF_RNN_ACT_AFFINE: return a * x + b;
    case AF_RNN_ACT_LEAKY_RELU: return x < 0 ? a * x : x;
    case AF_RNN_ACT_THRESHOLDED_RELU: return x > a ? x : 0;
    case AF_RNN_ACT_SCALED_TANH: return a * tanh(b * x);
    case AF_RNN_ACT_HARD_SIGMOID: return fmax(0, fmin(1, a * x + b));
    case AF_RNN_ACT_ELU: return x < 0 ? a * (exp(x) - 1) : x;
    case AF_RNN_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case AF_RNN_ACT_SOFTPLUS: return log(1 + exp(x));
    }
    return NAN;
}

static double clipd(const cfg *c, double x)
{
    return c->clip > 0 ? fmax(-c->clip, fmin(c->clip, x)) : x;
}

/* Row k of gate pre-activation: x·W[k] + h·R[k] (+ Wb[k] + Rb[k] when with_rb). */
static double pre(const cfg *c, const float *x, const float *W, const double *h, const float *R,
                  const float *Bs, int64_t k, int with_rb)
{
    int64_t GH = gates(c->op) * c->H;
    double s = 0;
    for (int64_t i = 0; i < c->I; i++) s += (double)x[i] * W[k * c->I + i];
    for (int64_t m = 0; h && m < c->H; m++) s += h[m] * R[k * c->H + m];
    if (Bs) s += Bs[k] + (with_rb ? Bs[GH + k] : 0);
    return s;
}

// X (S,B,I), W (D,GH,I), R (D,GH,H), B (D,2GH), h0/c0 (D,B,H), P (D,3H)
//   -> Y (S,D,B,H), Yh/Yc (D,B,H)
static void ref_run(const cfg *c, const float *X, const float *W, const float *R, const float *Bs,
                    const float *h0, const float *c0, const float *P, double *Y, double *Yh,
                    double *Yc)
{
    int64_t S = c->S, B = c->B, I = c->I, H = c->H, D = c->dir == AF_RNN_BIDIRECTIONAL ? 2 : 1;
    int64_t G = gates(c->op), GH = G * H;
    memset(Y, 0, sizeof(double) * (size_t)(S * D * B * H));
    double *h = calloc((size_t)H, sizeof *h), *cc = calloc((size_t)H, sizeof *cc);
    double *hn = calloc((size_t)H, sizeof *hn), *rh = calloc((size_t)H, sizeof *rh);
    for (int64_t d = 0; d < D; d++) {
        int rev = c->dir == AF_RNN_REVERSE || d == 1, a0 = (int)d * per_dir(c->op);
        const float *w = W + d * GH * I, *r = R + d * GH * H, *bs = Bs ? Bs + d * 2 * GH : NULL;
        const float *p = P ? P + d * 3 * H : NULL;
        for (int64_t b = 0; b < B; b++) {
            int64_t L = c->lens ? c->lens[b] : S;
            for (int64_t j = 0; j < H; j++) {
                h[j] = h0 ? h0[(d * B + b) * H + j] : 0;
                cc[j] = c0 ? c0[(d * B + b) * H + j] : 0;
            }
            for (int64_t s = 0; s < L; s++) {
                int64_t t = rev ? L - 1 - s : s;
                const float *x = X + (t * B + b) * I;
                for (int64_t j = 0; j < H; j++) {
                    if (c->op == AF_OP_RNN) {
                        hn[j] = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, j, 1)));
                    } else if (c->op == AF_OP_GRU) {
                        double z = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, j, 1)));
                        double rr = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, H + j, 1)));
                        double hh;
                        if (c->lbr) {
                            double rec = pre(c, x, w, h, r, NULL, 2 * H + j, 0) -
                                         pre(c, x, w, NULL, r, NULL, 2 * H + j, 0);
                            if (bs) rec += bs[GH + 2 * H + j];
                            hh = pre(c, x, w, NULL, r, bs, 2 * H + j, 0) + rr * rec;
                        } else {
                            for (int64_t m = 0; m < H; m++) {
                                double rm = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, H + m, 1)));
                                rh[m] = rm * h[m];
                            }
                            hh = pre(c, x, w, rh, r, bs, 2 * H + j, 1);
                        }
                        hh = ref_act(c, a0 + 1, clipd(c, hh));
                        hn[j] = (1 - z) * hh + z * h[j];
                    } else {
                        double pi = p ? p[j] : 0, po = p ? p[H + j] : 0, pf = p ? p[2 * H + j] : 0;
                        double i = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, j, 1) + pi * cc[j]));
                        double f = c->input_forget ? 1 - i
                                   : ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, 2 * H + j, 1) + pf * cc[j]));
                        double g = ref_act(c, a0 + 1, clipd(c, pre(c, x, w, h, r, bs, 3 * H + j, 1)));
                        double cn = f * cc[j] + i * g;
                        double o = ref_act(c, a0, clipd(c, pre(c, x, w, h, r, bs, H + j, 1) + po * cn));
                        rh[j] = cn; /* the new cell, committed after the row */
                        hn[j] = o * ref_act(c, a0 + 2, cn);
                    }
                }
                for (int64_t j = 0; j < H; j++) {
                    h[j] = hn[j];
                    if (c->op == AF_OP_LSTM) cc[j] = rh[j];
                    Y[((t * D + d) * B + b) * H + j] = hn[j];
                }
            }
            for (int64_t j = 0; j < H; j++) {
                Yh[(d * B + b) * H + j] = h[j];
                Yc[(d * B + b) * H + j] = cc[j];
            }
        }
    }
    free(h), free(cc), free(hn), free(rh);
}

/* ---- one case ---- */

static float *scaled_buf(int64_t n, double scale)
{
    float *b = frand_buf(n);
    for (int64_t i = 0; i < n; i++) b[i] = (float)(b[i] * scale);
    return b;
}

/* (A,B,H) ↔ (B,A,H): the state layouts; also X (S,B,I) → (B,S,I). */
static float *swap01(const float *x, int64_t A, int64_t B, int64_t H)
{
    float *y = malloc(sizeof(float) * (size_t)(A * B * H));
    for (int64_t a = 0; a < A; a++)
        for (int64_t b = 0; b < B; b++) memcpy(y + (b * A + a) * H, x + (a * B + b) * H, sizeof(float) * (size_t)H);
    return y;
}

static double worst_err(const float *got, const double *ref, int64_t n)
{
    double w = 0;
    for (int64_t i = 0; i < n; i++) {
        double e = fabs(got[i] - ref[i]) / (1 + fabs(ref[i]));
        if (!(e <= w)) w = e;
    }
    return w;
}

static void run_case(const char *name, cfg c)
{
    int64_t S = c.S, B = c.B, I = c.I, H = c.H, D = c.dir == AF_RNN_BIDIRECTIONAL ? 2 : 1;
    int64_t GH = gates(c.op) * H;
    if (!c.custom_acts)
        for (int k = 0; k < AF_RNN_MAX_ACTS; k++) {
            int pos = k % per_dir(c.op);
            c.acts[k] = c.op == AF_OP_RNN ? AF_RNN_ACT_TANH : pos == 0 ? AF_RNN_ACT_SIGMOID : AF_RNN_ACT_TANH;
        }
    float *X = frand_buf(S * B * I), *W = scaled_buf(D * GH * I, 1.5 / sqrt((double)I));
    float *R = scaled_buf(D * GH * H, 1.5 / sqrt((double)H)), *Bs = scaled_buf(D * 2 * GH, 0.5);
    float *h0 = scaled_buf(D * B * H, 0.8), *c0 = scaled_buf(D * B * H, 0.8);
    float *P = scaled_buf(D * 3 * H, 1.0);
    double *Yr = malloc(sizeof(double) * (size_t)(S * D * B * H));
    double *Yhr = malloc(sizeof(double) * (size_t)(D * B * H)), *Ycr = malloc(sizeof(double) * (size_t)(D * B * H));
    ref_run(&c, X, W, R, c.bias ? Bs : NULL, c.init ? h0 : NULL, c.init && c.op == AF_OP_LSTM ? c0 : NULL,
            c.peep ? P : NULL, Yr, Yhr, Ycr);

    af_params p;
    memset(&p, 0, sizeof p);
    p.rnn.direction = c.dir;
    p.rnn.hidden_size = (int32_t)H;
    p.rnn.layout = c.layout;
    p.rnn.input_forget = c.input_forget;
    p.rnn.linear_before_reset = c.lbr;
    p.rnn.has_clip = c.clip > 0;
    p.rnn.clip = c.clip;
    for (int k = 0; k < AF_RNN_MAX_ACTS; k++) {
        p.rnn.act[k] = c.acts[k];
        p.rnn.alpha[k] = c.alpha[k];
        p.rnn.beta[k] = c.beta[k];
    }
    int lay = c.layout;
    float *Xk = lay ? swap01(X, S, B, I) : X, *h0k = lay ? swap01(h0, D, B, H) : h0;
    float *c0k = lay ? swap01(c0, D, B, H) : c0;
    int32_t lens[16];
    for (int64_t b = 0; b < B; b++) lens[b] = c.lens ? c.lens[b] : (int32_t)S;
    af_tview in[8];
    memset(in, 0, sizeof in);
    in[0] = lay ? TV(AF_DTYPE_F32, Xk, B, S, I) : TV(AF_DTYPE_F32, Xk, S, B, I);
    in[1] = TV(AF_DTYPE_F32, W, D, GH, I);
    in[2] = TV(AF_DTYPE_F32, R, D, GH, H);
    if (c.bias) in[3] = TV(AF_DTYPE_F32, Bs, D, 2 * GH);
    if (c.seq) in[4] = TV(AF_DTYPE_I32, lens, B);
    int64_t sd0 = lay ? B : D, sd1 = lay ? D : B;
    if (c.init) in[5] = TV(AF_DTYPE_F32, h0k, sd0, sd1, H);
    if (c.init && c.op == AF_OP_LSTM) in[6] = TV(AF_DTYPE_F32, c0k, sd0, sd1, H);
    if (c.peep) in[7] = TV(AF_DTYPE_F32, P, D, 3 * H);
    int n_in = c.op == AF_OP_LSTM ? (c.peep ? 8 : c.init ? 7 : 6) : 6;
    float *Y = malloc(sizeof(float) * (size_t)(S * D * B * H));
    float *Yh = malloc(sizeof(float) * (size_t)(D * B * H)), *Yc = malloc(sizeof(float) * (size_t)(D * B * H));
    af_tview out[3] = {
        lay ? TV(AF_DTYPE_F32, Y, B, S, D, H) : TV(AF_DTYPE_F32, Y, S, D, B, H),
        TV(AF_DTYPE_F32, Yh, sd0, sd1, H), TV(AF_DTYPE_F32, Yc, sd0, sd1, H)};
    CHECK(run_node(c.op, &p, in, n_in, out, c.n_out) == AF_OK, "%s: run", name);
    /* back to the reference's layout: Y (B,S,D,H) → (S,D,B,H) = swap (B, S·D) then (D, B) per t */
    float *Y0 = Y, *Yh0 = Yh, *Yc0 = Yc;
    if (lay) {
        float *a = swap01(Y, B, S * D, H); /* (S·D, B, H) = (S,D,B,H) */
        Y0 = a, Yh0 = swap01(Yh, B, D, H), Yc0 = swap01(Yc, B, D, H);
    }
    double e = worst_err(Y0, Yr, S * D * B * H);
    CHECK(e < TOL, "%s: Y err %g", name, e);
    if (c.n_out > 1) {
        e = worst_err(Yh0, Yhr, D * B * H);
        CHECK(e < TOL, "%s: Y_h err %g", name, e);
    }
    if (c.n_out > 2) {
        e = worst_err(Yc0, Ycr, D * B * H);
        CHECK(e < TOL, "%s: Y_c err %g", name, e);
    }
    if (lay) free(Y0), free(Yh0), free(Yc0), free(Xk), free(h0k), free(c0k);
    free(X), free(W), free(R), free(Bs), free(h0), free(c0), free(P), free(Yr), free(Yhr);
    free(Ycr), free(Y), free(Yh), free(Yc);
}

/* ---- cases ---- */

static const int32_t lens3[3] = {5, 2, 4};

static void test_lstm(void)
{
    run_case("lstm clip+peephole", (cfg){.op = AF_OP_LSTM, .S = 5, .B = 3, .I = 4, .H = 6,
             .clip = 0.4f, .bias = 1, .init = 1, .peep = 1, .n_out = 3});
    run_case("lstm peephole bidir layout1 seq", (cfg){.op = AF_OP_LSTM, .S = 5, .B = 3, .I = 4,
             .H = 5, .dir = AF_RNN_BIDIRECTIONAL, .layout = 1, .bias = 1, .seq = 1, .lens = lens3,
             .init = 1, .peep = 1, .n_out = 3});
    run_case("lstm reverse input_forget", (cfg){.op = AF_OP_LSTM, .S = 6, .B = 2, .I = 3, .H = 4,
             .dir = AF_RNN_REVERSE, .input_forget = 1, .bias = 1, .n_out = 2});
    run_case("lstm acts", (cfg){.op = AF_OP_LSTM, .S = 4, .B = 2, .I = 3, .H = 4,
             .dir = AF_RNN_BIDIRECTIONAL, .bias = 1, .init = 1, .n_out = 3, .custom_acts = 1,
             .acts = {AF_RNN_ACT_HARD_SIGMOID, AF_RNN_ACT_SOFTSIGN, AF_RNN_ACT_ELU,
                      AF_RNN_ACT_SIGMOID, AF_RNN_ACT_SCALED_TANH, AF_RNN_ACT_AFFINE},
             .alpha = {0.3f, 0, 0.7f, 0, 0.9f, 0.6f}, .beta = {0.4f, 0, 0, 0, 1.3f, 0.1f}});
    run_case("lstm Y only", (cfg){.op = AF_OP_LSTM, .S = 3, .B = 1, .I = 2, .H = 3, .n_out = 1});
}

static void test_gru(void)
{
    for (int lbr = 0; lbr < 2; lbr++) {
        char nm[64];
        snprintf(nm, sizeof nm, "gru lbr=%d clip", lbr);
        run_case(nm, (cfg){.op = AF_OP_GRU, .S = 5, .B = 3, .I = 4, .H = 6, .lbr = lbr,
                 .clip = 0.5f, .bias = 1, .init = 1, .n_out = 2});
        snprintf(nm, sizeof nm, "gru lbr=%d bidir layout1 seq", lbr);
        run_case(nm, (cfg){.op = AF_OP_GRU, .S = 5, .B = 3, .I = 4, .H = 5, .lbr = lbr,
                 .dir = AF_RNN_BIDIRECTIONAL, .layout = 1, .bias = 1, .seq = 1, .lens = lens3,
                 .init = 1, .n_out = 2});
        snprintf(nm, sizeof nm, "gru lbr=%d reverse no bias", lbr);
        run_case(nm, (cfg){.op = AF_OP_GRU, .S = 4, .B = 2, .I = 3, .H = 4, .lbr = lbr,
                 .dir = AF_RNN_REVERSE, .n_out = 2});
    }
    run_case("gru acts", (cfg){.op = AF_OP_GRU, .S = 4, .B = 2, .I = 3, .H = 4, .lbr = 1,
             .bias = 1, .n_out = 2, .custom_acts = 1,
             .acts = {AF_RNN_ACT_HARD_SIGMOID, AF_RNN_ACT_LEAKY_RELU}, .alpha = {0.25f, 0.1f},
             .beta = {0.45f, 0}});
}

static void test_rnn(void)
{
    run_case("rnn clip bidir layout1", (cfg){.op = AF_OP_RNN, .S = 5, .B = 3, .I = 4, .H = 6,
             .dir = AF_RNN_BIDIRECTIONAL, .layout = 1, .clip = 0.6f, .bias = 1, .init = 1,
             .n_out = 2});
    run_case("rnn reverse seq relu", (cfg){.op = AF_OP_RNN, .S = 5, .B = 3, .I = 4, .H = 5,
             .dir = AF_RNN_REVERSE, .bias = 1, .seq = 1, .lens = lens3, .n_out = 2,
             .custom_acts = 1, .acts = {AF_RNN_ACT_RELU}});
    run_case("rnn thresholded/softplus", (cfg){.op = AF_OP_RNN, .S = 3, .B = 2, .I = 3, .H = 4,
             .dir = AF_RNN_BIDIRECTIONAL, .bias = 1, .n_out = 2, .custom_acts = 1,
             .acts = {AF_RNN_ACT_THRESHOLDED_RELU, AF_RNN_ACT_SOFTPLUS}, .alpha = {0.2f, 0}});
}

/* The kernel's checks: wrong W/R/B/state shapes, hidden size, activation codes. */
static void test_checks(void)
{
    float buf[4096] = {0};
    af_params p;
    memset(&p, 0, sizeof p);
    p.rnn.hidden_size = 3;
    af_tview in[8], out[2];
    memset(in, 0, sizeof in);
    in[0] = TV(AF_DTYPE_F32, buf, 2, 1, 4);
    in[1] = TV(AF_DTYPE_F32, buf, 1, 12, 4);
    in[2] = TV(AF_DTYPE_F32, buf, 1, 12, 3);
    out[0] = TV(AF_DTYPE_F32, buf, 2, 1, 1, 3);
    out[1] = TV(AF_DTYPE_F32, buf, 1, 1, 3);
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 2) == AF_OK, "good lstm");
    CHECK(check_node(AF_OP_GRU, &p, in, 3, out, 2) == AF_ERR_SHAPE, "gru with 4 gates of W");
    in[1] = TV(AF_DTYPE_F32, buf, 1, 12, 5);
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 2) == AF_ERR_SHAPE, "W input size");
    in[1] = TV(AF_DTYPE_F32, buf, 1, 12, 4);
    in[3] = TV(AF_DTYPE_F32, buf, 1, 12);
    CHECK(check_node(AF_OP_LSTM, &p, in, 4, out, 2) == AF_ERR_SHAPE, "B half size");
    in[3] = TV(AF_DTYPE_F32, buf, 1, 24);
    in[5] = TV(AF_DTYPE_F32, buf, 1, 2, 3);
    CHECK(check_node(AF_OP_LSTM, &p, in, 6, out, 2) == AF_ERR_SHAPE, "initial_h batch");
    p.rnn.hidden_size = 4;
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 2) == AF_ERR_SHAPE, "hidden_size vs R");
    p.rnn.hidden_size = 3;
    p.rnn.act[1] = AF_RNN_ACT_COUNT;
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 2) == AF_ERR_UNSUPPORTED, "activation code");
    p.rnn.act[1] = 0;
    p.rnn.direction = 3;
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 2) == AF_ERR_UNSUPPORTED, "direction code");
    /* scratch S·B·4H far beyond what any view holds (I = 1): refused, never allocated */
    p.rnn.direction = 0;
    int64_t S = 1 << 20, Bt = 1 << 10, H = 1 << 20;
    p.rnn.hidden_size = (int32_t)H;
    in[0] = TV(AF_DTYPE_F32, buf, S, Bt, 1);
    in[1] = TV(AF_DTYPE_F32, buf, 1, 4 * H, 1);
    in[2] = TV(AF_DTYPE_F32, buf, 1, 4 * H, H);
    out[0] = TV(AF_DTYPE_F32, buf, S, 1, Bt, H);
    CHECK(check_node(AF_OP_LSTM, &p, in, 3, out, 1) == AF_ERR_SHAPE, "scratch too large");
}

int main(void)
{
    test_lstm();
    test_gru();
    test_rnn();
    test_checks();
    return check_report("test_rnn");
}

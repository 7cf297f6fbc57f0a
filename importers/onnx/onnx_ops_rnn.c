/* importers/onnx/onnx_ops_rnn.c — LSTM, GRU, RNN → AF_OP_LSTM / AF_OP_GRU / AF_OP_RNN.
 *
 * Inputs keep ONNX's order (omitted optional ones stay -1); Y, Y_h, Y_c are mapped up to the
 * last one read. Y is always computed: when the model leaves it unnamed it gets a fresh name.
 * activations (case-insensitive, as ONNX Runtime reads them) default to Sigmoid/Tanh/Tanh
 * (LSTM), Sigmoid/Tanh (GRU), Tanh (RNN); a given list names every direction's functions
 * (forward first). activation_alpha/beta are consumed in order by the functions that take
 * them, the ONNX operator's defaults otherwise. */
#include "onnx_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct act_row {
    const char *name;
    int32_t act;
    int n_alpha, n_beta; /* how many of alpha/beta the function takes */
    float alpha, beta;   /* defaults */
} act_row;

static const act_row act_rows[] = {
    {"Sigmoid", AF_RNN_ACT_SIGMOID, 0, 0, 0, 0},
    {"Tanh", AF_RNN_ACT_TANH, 0, 0, 0, 0},
    {"Relu", AF_RNN_ACT_RELU, 0, 0, 0, 0},
    {"Affine", AF_RNN_ACT_AFFINE, 1, 1, 1.0f, 0.0f},
    {"LeakyRelu", AF_RNN_ACT_LEAKY_RELU, 1, 0, 0.01f, 0},
    {"ThresholdedRelu", AF_RNN_ACT_THRESHOLDED_RELU, 1, 0, 1.0f, 0},
    {"ScaledTanh", AF_RNN_ACT_SCALED_TANH, 1, 1, 1.0f, 1.0f},
    {"HardSigmoid", AF_RNN_ACT_HARD_SIGMOID, 1, 1, 0.2f, 0.5f},
    {"Elu", AF_RNN_ACT_ELU, 1, 0, 1.0f, 0},
    {"Softsign", AF_RNN_ACT_SOFTSIGN, 0, 0, 0, 0},
    {"Softplus", AF_RNN_ACT_SOFTPLUS, 0, 0, 0, 0},
};

static const act_row *find_act(const char *name)
{
    for (size_t i = 0; i < sizeof act_rows / sizeof *act_rows; i++)
        if (!strcasecmp(act_rows[i].name, name)) return &act_rows[i];
    return NULL;
}

static int acts_per_dir(af_op op) { return op == AF_OP_LSTM ? 3 : op == AF_OP_GRU ? 2 : 1; }

/* Fills act/alpha/beta for every direction from the attributes or the defaults. */
static af_status map_acts(onnx_ctx *c, const onnx_node *nd, af_op op, af_rnn_params *rp)
{
    static const char *const defaults[3] = {"Sigmoid", "Tanh", "Tanh"};
    int per = acts_per_dir(op), dirs = rp->direction == AF_RNN_BIDIRECTIONAL ? 2 : 1;
    const Onnx__AttributeProto *a = onnx_attr(nd->p, "activations");
    size_t n = a ? a->n_strings : 0, na = 0, nb = 0, ia = 0, ib = 0;
    if (a && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "attribute 'activations' should be strings");
    if (a && n != (size_t)(per * dirs)) /* as the spec and ONNX Runtime: both directions' */
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "%zu activations given, expected %d", n,
                             per * dirs);
    const float *alpha = onnx_attr_floats(c, nd, "activation_alpha", &na);
    const float *beta = onnx_attr_floats(c, nd, "activation_beta", &nb);
    for (int k = 0; k < per * dirs; k++) {
        char name[64];
        if (a) {
            const ProtobufCBinaryData *s = &a->strings[k];
            int len = (int)(s->len < 63 ? s->len : 63);
            snprintf(name, sizeof name, "%.*s", len, (const char *)s->data);
        } else {
            snprintf(name, sizeof name, "%s", op == AF_OP_RNN ? "Tanh" : defaults[k % per]);
        }
        const act_row *r = find_act(name);
        if (!r) return onnx_node_err(c, nd, AF_ERR_UNSUPPORTED, "unknown activation '%s'", name);
        rp->act[k] = r->act;
        rp->alpha[k] = r->n_alpha && ia < na ? alpha[ia++] : r->alpha;
        rp->beta[k] = r->n_beta && ib < nb ? beta[ib++] : r->beta;
    }
    return c->err->code;
}

static af_status map_attrs(onnx_ctx *c, const onnx_node *nd, af_op op, af_rnn_params *rp)
{
    char dir[32];
    onnx_attr_s(c, nd, "direction", "forward", dir, sizeof dir);
    if (!strcmp(dir, "forward")) rp->direction = AF_RNN_FORWARD;
    else if (!strcmp(dir, "reverse")) rp->direction = AF_RNN_REVERSE;
    else if (!strcmp(dir, "bidirectional")) rp->direction = AF_RNN_BIDIRECTIONAL;
    else return onnx_node_err(c, nd, AF_ERR_FORMAT, "unknown direction '%s'", dir);
    af_status st = AF_OK; /* hidden_size 0: taken from R by shape inference */
    if (onnx_attr(nd->p, "hidden_size"))
        st = onnx_attr_i32_in(c, nd, "hidden_size", 0, 1, INT32_MAX, &rp->hidden_size);
    if (!st) st = onnx_attr_i32_in(c, nd, "layout", 0, 0, 1, &rp->layout);
    if (st) return st;
    /* flags: any nonzero value is true, as ONNX Runtime reads them */
    if (op == AF_OP_LSTM) rp->input_forget = onnx_attr_i(c, nd, "input_forget", 0) != 0;
    if (op == AF_OP_GRU)
        rp->linear_before_reset = onnx_attr_i(c, nd, "linear_before_reset", 0) != 0;
    if (c->err->code) return c->err->code;
    if (onnx_attr(nd->p, "clip")) {
        rp->has_clip = 1;
        rp->clip = onnx_attr_f(c, nd, "clip", 0.0f);
        if (!(rp->clip > 0.0f))
            return onnx_node_err(c, nd, AF_ERR_FORMAT, "clip %g must be > 0", (double)rp->clip);
    }
    return map_acts(c, nd, op, rp);
}

/* onnx_emit, except that an unnamed Y (output 0) is computed under a fresh name. */
static af_status emit(onnx_ctx *c, const onnx_node *nd, af_op op, const int *in, int n_in,
                      int n_out, const af_params *p)
{
    const Onnx__NodeProto *pn = nd->p;
    int out[3];
    for (int k = 0; k < n_out; k++) {
        char unused[300];
        snprintf(unused, sizeof unused, "%s_out%d", nd->name, k);
        af_status st = k < (int)pn->n_output && pn->output[k][0]
                           ? onnx_define(c, pn->output[k], AF_DTYPE_F32, -1, NULL, &out[k])
                           : onnx_define_unique(c, unused, AF_DTYPE_F32, -1, NULL, &out[k]);
        if (st) return st;
    }
    int i = af_graph_add_node(c->g, op, nd->name, in, n_in, out, n_out);
    if (i < 0) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    c->g->nodes[i].p = *p;
    return AF_OK;
}

/* LSTM [X, W, R, B?, sequence_lens?, initial_h?, initial_c?, P?] → [Y?, Y_h?, Y_c?];
 * GRU and RNN [X, W, R, B?, sequence_lens?, initial_h?] → [Y?, Y_h?]. */
af_status onnx_map_rnn(onnx_ctx *c, const onnx_node *nd)
{
    af_op op = (af_op)nd->arg;
    int max_in = op == AF_OP_LSTM ? 8 : 6, max_out = op == AF_OP_LSTM ? 3 : 2;
    int in[8], n;
    af_status st = onnx_need(c, nd, in, 3, max_in, &n);
    if (st) return st;
    if (in[1] < 0 || in[2] < 0)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "inputs W and R are required");
    if ((int)nd->p->n_output > max_out)
        return onnx_node_err(c, nd, AF_ERR_FORMAT, "%zu outputs, at most %d", nd->p->n_output,
                             max_out);
    af_params p = {0};
    st = map_attrs(c, nd, op, &p.rnn);
    if (st) return st;
    return emit(c, nd, op, in, n, onnx_used_outputs(c, nd, max_out), &p);
}

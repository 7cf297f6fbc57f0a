/* convert/image_input.c — --image-input: uint8 image inputs dequantised inside the program. */
#include "image_input.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "v0,v1,..." up to the next ",key=" or the end; returns the count or -1. */
static int parse_list(const char **pp, float *vals)
{
    const char *p = *pp;
    int n = 0;
    for (;;) {
        if (n == AF_IMAGE_MAX_CHANNELS) return -1;
        errno = 0;
        char *end;
        float v = strtof(p, &end);
        if (end == p || errno) return -1;
        vals[n++] = v;
        p = end;
        if (*p != ',' || isalpha((unsigned char)p[1])) break; /* ",bias=" starts a key */
        p++;
    }
    *pp = p;
    return n;
}

af_status af_image_input_parse(const char *arg, af_image_input_spec *out, char *msg,
                               size_t msg_size)
{
    af_err err = {0};
    memset(out, 0, sizeof *out);
    out->n_scale = out->n_bias = 1;
    out->scale[0] = 1.0f;
    const char *colon = strstr(arg, ":scale=");
    const char *cb = strstr(arg, ":bias=");
    if (!colon || (cb && cb < colon)) colon = cb;
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof out->name) {
        af_err_set(&err, AF_ERR_USAGE, "bad --image-input '%s' (want NAME:scale=S,bias=B0,B1,B2)",
                   arg);
    } else {
        memcpy(out->name, arg, (size_t)(colon - arg));
        const char *p = colon + 1;
        while (*p && err.code == AF_OK) {
            int *cnt = NULL;
            float *vals = NULL;
            if (!strncmp(p, "scale=", 6)) cnt = &out->n_scale, vals = out->scale, p += 6;
            else if (!strncmp(p, "bias=", 5)) cnt = &out->n_bias, vals = out->bias, p += 5;
            if (!cnt || (*cnt = parse_list(&p, vals)) < 0 || (*p && *p != ','))
                af_err_set(&err, AF_ERR_USAGE, "bad --image-input '%s' (want NAME:scale=S,"
                           "bias=B0,B1,B2; at most %d values each)", arg, AF_IMAGE_MAX_CHANNELS);
            else if (*p == ',') p++;
        }
    }
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

/* A (1,C,1,...) f32 constant of rank r holding n values (n is 1 or C), kept raw. */
static int add_channel_const(af_graph *g, const char *name, int r, int64_t c, const float *v,
                             int n)
{
    int64_t dims[AF_MAX_RANK];
    for (int k = 0; k < r; k++) dims[k] = 1;
    dims[1] = n == 1 ? 1 : c;
    float *data = malloc(sizeof(float) * (size_t)n);
    int t = data ? af_graph_add_tensor_unique(g, name, AF_DTYPE_F32, r, dims) : -1;
    if (t < 0) {
        free(data);
        return -1;
    }
    memcpy(data, v, sizeof(float) * (size_t)n);
    af_tensor_set_data(&g->tensors[t], data);
    g->tensors[t].flags |= AF_TENSOR_KEEP_RAW;
    return t;
}

/* Moves the last k nodes to the front and recomputes every tensor's producer. */
static void move_last_nodes_first(af_graph *g, int k)
{
    af_node tmp[3];
    memcpy(tmp, g->nodes + g->n_nodes - k, sizeof(af_node) * (size_t)k);
    memmove(g->nodes + k, g->nodes, sizeof(af_node) * (size_t)(g->n_nodes - k));
    memcpy(g->nodes, tmp, sizeof(af_node) * (size_t)k);
    for (int i = 0; i < g->n_nodes; i++)
        for (int o = 0; o < g->nodes[i].n_out; o++)
            if (g->nodes[i].out[o] >= 0) g->tensors[g->nodes[i].out[o]].producer = i;
}

static af_status check_input(const af_graph *g, const af_image_input_spec *sp, int *slot,
                             af_err *err)
{
    *slot = -1;
    for (int i = 0; i < g->n_inputs; i++)
        if (!strcmp(g->tensors[g->inputs[i]].name, sp->name)) *slot = i;
    if (*slot < 0) return af_err_set(err, AF_ERR_USAGE, "--image-input: no graph input '%s'", sp->name);
    const af_tensor *t = &g->tensors[g->inputs[*slot]];
    if (t->dtype != AF_DTYPE_F32 || t->rank < 2 || !af_tensor_shape_known(t))
        return af_err_set(err, AF_ERR_USAGE, "--image-input: input '%s' must be f32 with a known "
                          "shape of rank >= 2 (channels on axis 1)", sp->name);
    int64_t c = t->dims[1];
    if ((sp->n_scale != 1 && sp->n_scale != c) || (sp->n_bias != 1 && sp->n_bias != c))
        return af_err_set(err, AF_ERR_USAGE, "--image-input: input '%s' has %lld channels; give "
                          "1 or %lld scale and bias values", sp->name, (long long)c, (long long)c);
    return AF_OK;
}

af_status af_image_input_apply(af_graph *g, const af_image_input_spec *sp, af_err *err)
{
    int slot;
    if (check_input(g, sp, &slot, err) != AF_OK) return err->code;
    int x = g->inputs[slot], r = g->tensors[x].rank;
    int64_t dims[AF_MAX_RANK], c = g->tensors[x].dims[1];
    memcpy(dims, g->tensors[x].dims, sizeof dims);
    char nm[300];
    snprintf(nm, sizeof nm, "%s:dequantized", sp->name);
    int u = af_graph_add_tensor_unique(g, nm, AF_DTYPE_U8, r, dims);
    snprintf(nm, sizeof nm, "%s:f32", sp->name);
    int cf = af_graph_add_tensor_unique(g, nm, AF_DTYPE_F32, r, dims);
    snprintf(nm, sizeof nm, "%s:scaled", sp->name);
    int sc = af_graph_add_tensor_unique(g, nm, AF_DTYPE_F32, r, dims);
    snprintf(nm, sizeof nm, "%s:scale", sp->name);
    int ks = add_channel_const(g, nm, r, c, sp->scale, sp->n_scale);
    snprintf(nm, sizeof nm, "%s:bias", sp->name);
    int kb = add_channel_const(g, nm, r, c, sp->bias, sp->n_bias);
    if (u < 0 || cf < 0 || sc < 0 || ks < 0 || kb < 0)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory adding --image-input '%s'", sp->name);
    /* the uint8 tensor takes over the input's name; the f32 one becomes NAME:dequantized */
    char *swap = g->tensors[x].name;
    g->tensors[x].name = g->tensors[u].name;
    g->tensors[u].name = swap;
    g->tensors[x].flags &= ~AF_TENSOR_INPUT;
    g->tensors[u].flags |= AF_TENSOR_INPUT;
    g->inputs[slot] = u;
    int in_c[1] = {u}, in_m[2] = {cf, ks}, in_a[2] = {sc, kb};
    snprintf(nm, sizeof nm, "%s:dequantize_cast", sp->name);
    int n0 = af_graph_add_node(g, AF_OP_CAST, nm, in_c, 1, &cf, 1);
    snprintf(nm, sizeof nm, "%s:dequantize_scale", sp->name);
    int n1 = af_graph_add_node(g, AF_OP_BINARY, nm, in_m, 2, &sc, 1);
    snprintf(nm, sizeof nm, "%s:dequantize_bias", sp->name);
    int n2 = af_graph_add_node(g, AF_OP_BINARY, nm, in_a, 2, &x, 1);
    if (n0 < 0 || n1 < 0 || n2 < 0)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory adding --image-input '%s'", sp->name);
    g->nodes[n0].p.cast.to = AF_DTYPE_F32;
    g->nodes[n1].p.binary.fn = AF_BINARY_MUL;
    g->nodes[n2].p.binary.fn = AF_BINARY_ADD;
    move_last_nodes_first(g, 3);
    return AF_OK;
}

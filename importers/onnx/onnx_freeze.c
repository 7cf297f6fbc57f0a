/* importers/onnx/onnx_freeze.c — af_onnx_options.freeze (the CLI's --freeze NAME=FILE.npy): a
 * graph input becomes a constant holding the given tensor, checked against the input's declared
 * dtype and shape (unknown dims accept any size). */
#include "onnx_internal.h"

#include <stdlib.h>
#include <string.h>

/* A graph input the importer made a constant (an initializer listed as an input): its data is
 * the input's default, which --freeze may replace. */
static int listed_as_input(const Onnx__GraphProto *gp, const char *name)
{
    for (size_t i = 0; i < gp->n_input; i++)
        if (gp->input[i]->name && !strcmp(gp->input[i]->name, name)) return 1;
    return 0;
}

static af_status check_type(onnx_ctx *c, const af_tensor *x, const af_onnx_freeze *f)
{
    char a[96], b[96];
    int ok = f->dtype == x->dtype && (x->rank < 0 || x->rank == f->rank);
    for (int i = 0; ok && x->rank >= 0 && i < x->rank; i++)
        ok = x->dims[i] < 0 || x->dims[i] == f->dims[i];
    if (ok) return AF_OK;
    return af_err_set(c->err, AF_ERR_SHAPE, "--freeze %s: the input is %s%s, the file holds %s%s",
                      f->name, af_dtype_name(x->dtype), af_shape_str(x->rank, x->dims, a, sizeof a),
                      af_dtype_name(f->dtype), af_shape_str(f->rank, f->dims, b, sizeof b));
}

static void drop_input(af_graph *g, int t)
{
    int k = 0;
    for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] != t) g->inputs[k++] = g->inputs[i];
    g->n_inputs = k;
    g->tensors[t].flags &= ~AF_TENSOR_INPUT;
}

static af_status freeze_one(onnx_ctx *c, const af_onnx_freeze *f)
{
    int t = f->name ? onnx_name_get(c, f->name) : -1;
    if (t < 0 || !((c->g->tensors[t].flags & AF_TENSOR_INPUT) ||
                   (af_tensor_is_const(&c->g->tensors[t]) && listed_as_input(c->gp, f->name))))
        return af_err_set(c->err, AF_ERR_USAGE, "--freeze names '%s', which is not an input of "
                          "the model", f->name ? f->name : "");
    af_tensor *x = &c->g->tensors[t];
    if (f->rank < 0 || f->rank > AF_MAX_RANK)
        return af_err_set(c->err, AF_ERR_USAGE, "--freeze %s: bad rank %d", f->name, f->rank);
    af_status st = check_type(c, x, f);
    if (st) return st;
    x->rank = f->rank;
    for (int i = 0; i < AF_MAX_RANK; i++) x->dims[i] = i < f->rank ? f->dims[i] : -1;
    int64_t nbytes = af_tensor_nbytes(x);
    if (nbytes < 0 || (nbytes && !f->data))
        return af_err_set(c->err, AF_ERR_USAGE, "--freeze %s: no data for its shape", f->name);
    void *data = malloc(nbytes ? (size_t)nbytes : 1);
    if (!data) return af_err_set(c->err, AF_ERR_NOMEM, "--freeze %s: out of memory", f->name);
    if (nbytes) memcpy(data, f->data, (size_t)nbytes);
    af_tensor_set_data(x, data);
    if (x->flags & AF_TENSOR_INPUT) drop_input(c->g, t);
    return AF_OK;
}

af_status onnx_apply_freeze(onnx_ctx *c, const af_onnx_options *o)
{
    for (int i = 0; o && i < o->n_freeze; i++) {
        for (int k = 0; k < i; k++)
            if (o->freeze[k].name && o->freeze[i].name &&
                !strcmp(o->freeze[k].name, o->freeze[i].name))
                return af_err_set(c->err, AF_ERR_USAGE, "--freeze %s is given twice",
                                  o->freeze[i].name);
        af_status st = freeze_one(c, &o->freeze[i]);
        if (st) return st;
    }
    return AF_OK;
}

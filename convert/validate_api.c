/* convert/validate_api.c — the public validation API (aneforge/validate.h) over convert/validate.h:
 * one component, the CLI's defaults, the JSON report kept as text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aneforge/validate.h"
#include "validate.h"
#include "validate_cfg.h"

struct af_validation {
    af_val_result r;
    int cfg;            /* guidance: the result is cr */
    af_cfg_result cr;
    af_gates gates;
    char *json;
};

static void to_msg(const af_err *err, char *msg, size_t msg_size)
{
    if (msg && msg_size) snprintf(msg, msg_size, "%s", err->msg);
}

static void val_options(const af_validate_options *o, const af_gates *g, af_val_options *vo)
{
    memset(vo, 0, sizeof *vo);
    vo->model_path = o->model_path;
    vo->bundle_path = o->bundle_path;
    vo->inputs_dir = o->inputs_dir;
    vo->seed = o->seed ? o->seed : 1;
    vo->fp16 = o->fp16;
    vo->int8_compute = o->int8_compute;
    vo->per_layer = o->per_layer;
    vo->n_threads = o->n_threads;
    vo->shapes = o->shapes;
    vo->n_shapes = o->n_shapes;
    vo->image_inputs = o->image_inputs;
    vo->n_image_inputs = o->n_image_inputs;
    vo->freeze = o->freeze;
    vo->n_freeze = o->n_freeze;
    vo->gates = g;
}

af_status af_validate(const af_validate_options *o, af_validation **out, char *msg,
                      size_t msg_size)
{
    af_err err = {0};
    if (out) *out = NULL;
    if (!o || !out || !o->model_path || !o->bundle_path || o->n_threads < 0 || isnan(o->min_psnr)) {
        af_err_set(&err, AF_ERR_USAGE, "validate: a model, a bundle and valid options are required");
        to_msg(&err, msg, msg_size);
        return err.code;
    }
    af_validation *v = calloc(1, sizeof *v);
    if (!v) {
        af_err_set(&err, AF_ERR_NOMEM, "validate: out of memory");
        to_msg(&err, msg, msg_size);
        return err.code;
    }
    af_gates_none(&v->gates);
    if (o->min_psnr != 0) v->gates.min_psnr = o->min_psnr;
    af_val_options vo;
    val_options(o, &v->gates, &vo);
    af_status st;
    v->cfg = o->cond_dir || o->uncond_dir;
    if (v->cfg) { /* classifier-free guidance */
        af_cfg_options co = {vo, o->cond_dir, o->uncond_dir, o->cfg_scale > 0 ? o->cfg_scale : 7.5, 0};
        co.base.gates = NULL;
        st = isnan(o->cfg_scale) || o->cfg_scale < 0
                 ? af_err_set(&err, AF_ERR_USAGE, "validate: bad cfg_scale")
                 : af_validate_cfg_run(&co, &v->cr, &err);
        if (st == AF_OK) st = af_cfg_json_text(&v->cr, o->min_psnr, &v->json, &err);
    } else {
        st = af_validate_run(&vo, &v->r, &err);
        if (st == AF_OK) st = af_val_json_text(&v->r, 1, &v->gates, &v->json, &err);
    }
    if (st != AF_OK) {
        to_msg(&err, msg, msg_size);
        af_validation_free(v);
        return st;
    }
    *out = v;
    return AF_OK;
}

const char *af_validation_json(const af_validation *v) { return v ? v->json : NULL; }

int af_validation_passed(const af_validation *v)
{
    if (v && v->cfg) return !(v->gates.min_psnr > 0) || af_cfg_guided_psnr(&v->cr) >= v->gates.min_psnr;
    return v && !af_val_failed(&v->r, &v->gates);
}

af_status af_validation_write_svg(const af_validation *v, const char *path, char *msg,
                                  size_t msg_size)
{
    af_err err = {0};
    if (!v || !path) af_err_set(&err, AF_ERR_USAGE, "validate: a validation and a path are required");
    else if (v->cfg) af_err_set(&err, AF_ERR_USAGE, "validate: no plot for a guidance measure");
    else af_val_write_svg(path, &v->r, 1, v->gates.min_psnr, &err);
    if (err.code != AF_OK) to_msg(&err, msg, msg_size);
    return err.code;
}

void af_validation_free(af_validation *v)
{
    if (!v) return;
    af_val_result_free(&v->r);
    af_cfg_result_free(&v->cr);
    free(v->json);
    free(v);
}

/* convert/compress_step.c — see compress_step.h. */
#include "compress_step.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aneforge/targets.h"
#include "gates.h"

static int is_pow2(long v) { return v > 0 && (v & (v - 1)) == 0; }

static int scale_of(const char *name)
{
    return !name ? AF_PSCALE_DEFAULT : !strcmp(name, "none") ? AF_PSCALE_NONE
                                     : !strcmp(name, "row") ? AF_PSCALE_ROW : -1;
}

/* --palette-bits: palette mode only, a width with a row; --palette-scale: none or row. */
static af_status palette_check(const af_convert_options *o, int mode, af_err *err)
{
    int b = o->palette_bits;
    if (b && af_palette_kind(b, AF_PSCALE_ROW) == AF_CK_COUNT)
        return af_err_set(err, AF_ERR_USAGE, "--palette-bits %d: want 1, 2, 3, 4, 6 or 8", b);
    if (b && mode != AF_CMODE_PALETTE && !(mode == AF_CMODE_INT4 && b == 4))
        return af_err_set(err, AF_ERR_USAGE, "--palette-bits is for --compress palette (int4 is "
                          "the 4-bit palette)");
    if (scale_of(o->palette_scale) < 0)
        return af_err_set(err, AF_ERR_USAGE, "--palette-scale '%s': want none or row",
                          o->palette_scale);
    return AF_OK;
}

/* The task gates: fractions in [0, 1], auto only, each with its spec (gates.h). */
static af_status check_gates(const af_convert_options *o, int mode, af_err *err)
{
    const double v[] = {o->min_cosine, o->min_topk, o->min_argmax, o->min_iou};
    static const char *const flag[] = {"--min-cosine", "--min-topk", "--min-argmax", "--min-iou"};
    int any = o->n_tasks > 0;
    for (int k = 0; k < 4; k++) {
        if (!(v[k] >= 0 && v[k] <= 1))
            return af_err_set(err, AF_ERR_USAGE, "%s %g: want a fraction in [0, 1] (e.g. 0.99)",
                              flag[k], v[k]);
        any |= v[k] > 0;
    }
    if (any && mode != AF_CMODE_AUTO)
        return af_err_set(err, AF_ERR_USAGE, "--min-cosine, --min-topk, --min-argmax, --min-iou, "
                          "--topk, --argmax-axis and --iou are used by --compress auto only");
    af_gates g;
    af_gates_none(&g);
    g.min_cosine = o->min_cosine;
    g.min_topk = o->min_topk;
    g.min_argmax = o->min_argmax;
    g.min_iou = o->min_iou;
    return af_task_specs_check(o->tasks, o->n_tasks, &g, err);
}

af_status af_convert_check_compress(const af_convert_options *o, af_err *err)
{
    int mode = af_compress_mode_from_name(o->compress);
    if (mode < 0)
        return af_err_set(err, AF_ERR_USAGE, "unknown --compress '%s' (known: fp32, fp16, int8, "
                          "int4, sparse, blockwise, palette, auto)", o->compress);
    if (!(o->sparsity >= 0 && o->sparsity < 1))
        return af_err_set(err, AF_ERR_USAGE, "--sparsity %g is outside [0, 1)", o->sparsity);
    if (o->block_size && (o->block_size < 8 || !is_pow2(o->block_size)))
        return af_err_set(err, AF_ERR_USAGE, "--block-size %d is not a power of two >= 8",
                          o->block_size);
    if (o->block_bits && o->block_bits != 4 && o->block_bits != 8)
        return af_err_set(err, AF_ERR_USAGE, "--block-bits %d: want 4 or 8", o->block_bits);
    if (palette_check(o, mode, err) != AF_OK) return err->code;
    if (o->group_size < -1)
        return af_err_set(err, AF_ERR_USAGE, "--group-size %d: want a channel count >= 1 (or 0 "
                          "for one table per tensor)", o->group_size);
    if (!(o->min_psnr >= 0 && o->min_psnr < 1000))
        return af_err_set(err, AF_ERR_USAGE, "--min-psnr %g: want a value in dB in [0, 1000)",
                          o->min_psnr);
    if (o->max_size != 0 && (mode != AF_CMODE_AUTO || !(o->max_size > 0 && o->max_size <= 1)))
        return af_err_set(err, AF_ERR_USAGE, mode != AF_CMODE_AUTO
                          ? "--max-size is used by --compress auto only"
                          : "--max-size %g: want a fraction of the fp32 size in (0, 1]",
                          o->max_size);
    if (o->calib_dir && mode != AF_CMODE_AUTO && mode != AF_CMODE_INT8 &&
        mode != AF_CMODE_INT4 && mode != AF_CMODE_BLOCKWISE && mode != AF_CMODE_PALETTE)
        return af_err_set(err, AF_ERR_USAGE, "--calib is used by --compress auto, int8, int4, "
                          "palette and blockwise only");
    return check_gates(o, mode, err);
}

static void options_from(const af_convert_options *o, af_compress_options *co)
{
    af_compress_options_init(co);
    co->mode = (af_cmode)af_compress_mode_from_name(o->compress);
    co->p.group_size = o->group_size;
    co->p.palette_scale = scale_of(o->palette_scale);
    co->palette_bits = o->palette_bits ? o->palette_bits : 4;
    co->p.block_size = o->block_size;
    co->p.sparsity = o->sparsity;
    co->p.int8_asymmetric = o->int8_asymmetric;
    co->p.int8_per_tensor = o->int8_per_tensor;
    co->block_bits = o->block_bits ? o->block_bits : 4;
    co->family = o->target ? af_target_find(o->target) : NULL;
    co->calib_dir = o->calib_dir;
    co->data_free = o->data_free;
    co->max_size = o->max_size;
    if (o->min_psnr > 0) co->min_psnr = o->min_psnr;
    co->min_cosine = o->min_cosine;
    co->min_topk = o->min_topk;
    co->min_argmax = o->min_argmax;
    co->min_iou = o->min_iou;
    co->tasks = o->tasks;
    co->n_tasks = o->n_tasks;
    co->progress = o->progress;
    co->progress_user = o->progress_user;
}

/* "layer_gate" when the whole-model gate promoted nothing, else the gates that asked for the
 * last promotion ("psnr", "cosine,argmax", ...); "" outside auto. */
static const char *decided_by(const af_compress_result *cr, char *buf, size_t size)
{
    if (isnan(cr->model_psnr_db)) snprintf(buf, size, "%s", "");
    else if (!cr->promotions) snprintf(buf, size, "layer_gate");
    else af_gates_str(cr->decided_by, buf, size);
    return buf;
}

af_status af_convert_compress(const af_convert_options *o, af_graph *g, af_convert_report *r,
                              af_compress_result *cr, af_err *err)
{
    af_compress_options co;
    options_from(o, &co);
    if (af_compress_graph(g, &co, cr, err) != AF_OK) {
        af_compress_result_free(cr);
        return af_err_prefix(err, o->model_path);
    }
    for (int i = 0; i < cr->n; i++) {
        const af_compress_choice *c = &cr->choices[i];
        r->weight_bytes = r->weight_bytes - c->fp32_bytes / 2 + c->bytes; /* was fp16 */
        r->weights_compressed += c->kind != AF_CK_FP16;
    }
    r->model_psnr_db = cr->model_psnr_db;
    r->promotions = cr->promotions;
    decided_by(cr, r->decided_by, sizeof r->decided_by);
    r->gates_met = !cr->gates_failed;
    r->model_cosine = cr->model_cosine;
    r->model_top1 = cr->model_top1;
    r->model_topk = cr->model_topk;
    r->model_argmax = cr->model_argmax;
    r->model_iou = cr->model_iou;
    snprintf(r->compress_warning, sizeof r->compress_warning, "%s", cr->warning);
    return AF_OK;
}

static void json_params(af_json *j, const af_convert_options *o, const af_compress_options *co)
{
    json_kv_str(j, "mode", af_cmode_names[co->mode]);
    json_kv_str(j, "int8", o->int8_asymmetric ? (o->int8_per_tensor ? "asymmetric,per-tensor"
                                                                     : "asymmetric,per-channel")
                                              : (o->int8_per_tensor ? "symmetric,per-tensor"
                                                                    : "symmetric,per-channel"));
    json_kv_int(j, "group_size", o->group_size ? o->group_size : AF_INT4_DEFAULT_GROUP);
    json_kv_int(j, "block_size", o->block_size ? o->block_size : AF_BLOCK_DEFAULT);
    json_kv_int(j, "block_bits", co->block_bits);
    if (co->mode == AF_CMODE_PALETTE) json_kv_int(j, "palette_bits", co->palette_bits);
    if (co->mode == AF_CMODE_PALETTE || co->mode == AF_CMODE_INT4)
        json_kv_str(j, "palette_scale",
                    af_compress_palette_scale(co, co->mode == AF_CMODE_INT4 ? 4 : co->palette_bits)
                            == AF_PSCALE_NONE ? "none" : "row");
    json_kv_num(j, "sparsity", o->sparsity);
}

/* Any of the task gates or measures: only then the metadata holds them (without, an auto
 * bundle's metadata is what it was before they existed). */
static int task_gates_given(const af_convert_options *o)
{
    return o->n_tasks > 0 || o->min_cosine > 0 || o->min_topk > 0 || o->min_argmax > 0 ||
           o->min_iou > 0;
}

static void json_task_specs(af_json *j, const af_convert_options *o)
{
    static const char *const kinds[] = {"", "topk", "argmax", "iou"};
    json_key(j, "task_measures");
    json_open(j, '[');
    for (int i = 0; i < o->n_tasks; i++) {
        const af_task_spec *s = &o->tasks[i];
        json_raw(j, i ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "output", s->output); /* null: every output it fits */
        json_kv_str(j, "kind", kinds[s->kind]);
        if (s->kind == AF_TASK_TOPK) json_kv_int(j, "k", s->k);
        else if (s->kind == AF_TASK_ARGMAX) json_kv_int(j, "axis", s->axis);
        else json_kv_num(j, "threshold", s->threshold);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* The task gates set, the measures, and which gate decided (docs/compression.md). */
static void json_gates(af_json *j, const af_convert_options *o, const af_compress_result *cr)
{
    static const char *const mins[] = {"min_cosine", "min_topk", "min_argmax", "min_iou"};
    const double v[] = {o->min_cosine, o->min_topk, o->min_argmax, o->min_iou};
    for (int k = 0; k < 4; k++)
        if (v[k] > 0) json_kv_num(j, mins[k], v[k]);
    char buf[48];
    json_kv_str(j, "decided_by", decided_by(cr, buf, sizeof buf));
    json_kv_int(j, "gates_met", !cr->gates_failed);
    if (cr->gates_failed) json_kv_str(j, "gates_failed", af_gates_str(cr->gates_failed, buf, sizeof buf));
    static const char *const keys[] = {"model_cosine", "model_top1", "model_topk", "model_argmax",
                                       "model_iou"};
    const double m[] = {cr->model_cosine, cr->model_top1, cr->model_topk, cr->model_argmax,
                        cr->model_iou};
    for (int k = 0; k < 5; k++)
        if (!isnan(m[k])) json_kv_num(j, keys[k], m[k]);
    if (o->n_tasks) json_task_specs(j, o); /* last: readers scan the scalars before it */
}

void af_compress_meta_json(af_json *j, const af_graph *g, const af_convert_options *o,
                           const af_compress_result *cr)
{
    af_compress_options co;
    options_from(o, &co);
    if (co.mode == AF_CMODE_FP32 || co.mode == AF_CMODE_FP16) return;
    json_key(j, "compression");
    json_open(j, '{');
    json_params(j, o, &co);
    if (co.mode == AF_CMODE_AUTO) {
        json_kv_num(j, "min_psnr_db", co.min_psnr);
        json_kv_num(j, "model_psnr_db", cr->model_psnr_db);
        json_kv_int(j, "promotions", cr->promotions);
        if (o->max_size > 0) {
            json_kv_num(j, "max_size", o->max_size);
            json_kv_num(j, "size_ratio", cr->size_ratio);
        }
        json_kv_str(j, "calibration", cr->random_calib ? "random" : "files");
        json_kv_int(j, "calibration_sets", cr->n_calib_sets);
        if (task_gates_given(o)) json_gates(j, o, cr);
    }
    if (o->calib_dir && !o->data_free) {
        json_kv_str(j, "data_aware", "gptq");
        if (co.mode != AF_CMODE_AUTO) json_kv_int(j, "calibration_sets", cr->n_calib_sets);
        json_kv_int(j, "data_aware_tensors", cr->data_aware);
    }
    json_key(j, "tensors");
    json_open(j, '[');
    for (int i = 0; i < cr->n; i++) {
        const af_compress_choice *c = &cr->choices[i];
        json_raw(j, i ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "tensor", g->tensors[c->tensor].name);
        json_kv_str(j, "encoding", af_ctraits_table[c->kind].name);
        json_kv_num(j, co.mode == AF_CMODE_AUTO ? "layer_psnr_db" : "weight_psnr_db", c->psnr_db);
        json_kv_int(j, "bytes", (int64_t)c->bytes);
        json_kv_int(j, "fp32_bytes", (int64_t)c->fp32_bytes);
        json_kv_int(j, "native", c->native);
        if (co.mode == AF_CMODE_AUTO) {
            json_kv_str(j, "layer_gate_encoding", af_ctraits_table[c->gate_kind].name);
            json_kv_num(j, "layer_gate_psnr_db", c->gate_psnr_db);
            json_kv_int(j, "promotion", c->promotion);
        }
        json_close(j, '}');
    }
    json_close(j, ']');
    json_close(j, '}');
}

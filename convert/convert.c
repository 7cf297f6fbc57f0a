/* convert/convert.c — the converter pipeline: import → lower → choose encodings → write. */
#include "aneforge/converter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bundle/bundle.h"
#include "../compress/compress.h"
#include "../compress/enc_qdq.h" /* quantized graphs */
#include "../graph/graph.h"
#include "../importers/onnx/onnx_import.h"
#include "../importers/safetensors/bind.h"
#include "../lowering/lower.h"
#include "../targets/targets_internal.h"
#include "compress_step.h"
#include "freeze.h"
#include "prequant_meta.h" /* quantized graphs */
#include "image_input.h"
#include "json.h"
#include "placement.h"

#define compress_names af_cmode_names

int af_compress_mode_from_name(const char *name)
{
    if (!name) return 1;
    for (int i = 0; i < AF_CMODE_COUNT; i++)
        if (strcmp(name, compress_names[i]) == 0) return i;
    return -1;
}

/* fp16 stores every float32 constant as IEEE half; fp32 stores everything raw. */
static void choose_encodings(af_graph *g, int mode, af_convert_report *r)
{
    for (int i = 0; i < g->n_tensors; i++) {
        af_tensor *t = &g->tensors[i];
        if (!t->data) continue;
        int64_t bytes = af_tensor_nbytes(t);
        t->encoding = (mode >= 1 && t->dtype == AF_DTYPE_F32) ? AF_ENC_FP16 : AF_ENC_RAW;
        r->weight_bytes_fp32 += (uint64_t)bytes;
        if (t->blob) { /* pre-quantized weights keep the model's int8 */
            t->encoding = AF_ENC_INT8;
            r->weight_bytes += t->blob_bytes;
            continue;
        }
        r->weight_bytes += (uint64_t)(t->encoding == AF_ENC_FP16 ? bytes / 2 : bytes);
    }
}

/* Constants flagged AF_TENSOR_KEEP_RAW (--image-input's scale and bias) are stored exactly. */
static void keep_raw_constants(af_graph *g, af_convert_report *r)
{
    for (int i = 0; i < g->n_tensors; i++) {
        af_tensor *t = &g->tensors[i];
        if (!t->data || !(t->flags & AF_TENSOR_KEEP_RAW) || t->encoding != AF_ENC_FP16) continue;
        t->encoding = AF_ENC_RAW;
        r->weight_bytes += (uint64_t)af_tensor_nbytes(t) / 2;
    }
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void json_tensor_list(af_json *j, const af_graph *g, const int *ids, int n)
{
    json_open(j, '[');
    for (int k = 0; k < n; k++) {
        const af_tensor *t = &g->tensors[ids[k]];
        json_raw(j, k ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "name", t->name);
        json_kv_str(j, "dtype", af_dtype_name(t->dtype));
        json_key(j, "shape");
        json_open(j, '[');
        for (int d = 0; d < t->rank; d++) json_value_int(j, t->dims[d]);
        json_close(j, ']');
        json_close(j, '}');
    }
    json_close(j, ']');
}

static void json_floats(af_json *j, const char *key, const float *v, int n)
{
    json_key(j, key);
    json_open(j, '[');
    for (int k = 0; k < n; k++) json_printf(j, "%s%.9g", k ? "," : "", v[k]);
    json_close(j, ']');
}

/* "image_inputs": [{"name", "scale": [...], "bias": [...]}] when --image-input was given. */
static void json_image_inputs(af_json *j, const af_convert_options *o)
{
    if (!o->n_image_inputs) return;
    json_key(j, "image_inputs");
    json_open(j, '[');
    for (int i = 0; i < o->n_image_inputs; i++) {
        const af_image_input_spec *sp = &o->image_inputs[i];
        json_raw(j, i ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "name", sp->name);
        json_floats(j, "scale", sp->scale, sp->n_scale);
        json_floats(j, "bias", sp->bias, sp->n_bias);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* --target as resolved: "target" the family whose caps placed the nodes, "target_device" the
 * chip when one was named (a chip or a device alias: "iphone13" records "a15"); null without. */
static void meta_target(af_json *j, const char *name)
{
    af_target t;
    if (!name || af_target_resolve(name, &t, NULL, 0) != AF_OK) { /* checked in af_convert */
        json_kv_str(j, "target", name);
        return;
    }
    json_kv_str(j, "target", t.family->name);
    if (t.device) json_kv_str(j, "target_device", t.device->name);
}

/* Deterministic metadata: no timestamps, no absolute paths. */
static char *make_meta(const af_graph *g, const af_convert_options *o, const af_convert_report *r,
                       const char *placement, const af_compress_result *cr,
                       const af_placement *pl)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "producer", "aneforge " AF_VERSION_STRING);
    json_kv_str(&j, "source_model", base_name(o->model_path));
    json_kv_int(&j, "source_opset", r->opset);
    meta_target(&j, o->target);
    json_kv_str(&j, "compress", compress_names[af_compress_mode_from_name(o->compress)]);
    json_kv_int(&j, "nodes", r->nodes_lowered);
    json_kv_int(&j, "weight_bytes", (int64_t)r->weight_bytes);
    json_kv_int(&j, "arena_bytes", (int64_t)r->arena_bytes);
    json_key(&j, "inputs");
    json_tensor_list(&j, g, g->inputs, g->n_inputs);
    json_key(&j, "outputs");
    json_tensor_list(&j, g, g->outputs, g->n_outputs);
    json_image_inputs(&j, o);
    if (placement) { /* --target: [{"node": name, "device": "ane"|"cpu"}] (targets/check.c) */
        json_key(&j, "placement");
        json_raw(&j, placement);
        j.need_comma = 1;
    }
    af_placement_meta_json(&j, pl);
    af_compress_meta_json(&j, g, o, cr);
    af_prequant_meta_json(&j, g); /* quantized graphs */
    json_close(&j, '}');
    if (!json_ok(&j)) {
        json_free(&j);
        return NULL;
    }
    return j.buf;
}

static af_status import_model(const af_convert_options *o, af_graph *g, af_err *err)
{
    af_input_shape shapes[64];
    if (o->n_shapes > 64) return af_err_set(err, AF_ERR_USAGE, "too many --input-shape flags");
    if (o->n_freeze < 0 || o->n_freeze > 64 || (o->n_freeze && !o->freeze))
        return af_err_set(err, AF_ERR_USAGE, "too many --freeze flags (at most 64)");
    for (int i = 0; i < o->n_shapes; i++) {
        shapes[i].name = o->shapes[i].name;
        shapes[i].rank = o->shapes[i].rank;
        memcpy(shapes[i].dims, o->shapes[i].dims, sizeof shapes[i].dims);
    }
    af_npy files[64];
    af_onnx_freeze fz[64];
    memset(files, 0, sizeof files);
    af_onnx_options io = {.shapes = shapes, .n_shapes = o->n_shapes, .freeze = fz,
                          .n_freeze = o->n_freeze};
    af_status st = af_freeze_read(o, files, fz, err);
    if (!st) st = af_onnx_import_file(o->model_path, &io, g, err);
    for (int i = 0; i < o->n_freeze; i++) af_npy_free(&files[i]);
    return st;
}

/* --weights: replaces initializers by the safetensors tensors of the same (mapped) name. */
static af_status bind_weights(const af_convert_options *o, af_graph *g, af_convert_report *r,
                              af_err *err)
{
    af_st_bind_options bo = {o->weights, o->n_weights, o->weight_map, o->allow_partial};
    af_st_bind_report br;
    af_status st = af_st_bind(g, &bo, &br, err);
    r->weights_files = br.files;
    r->weights_bound = br.bound;
    r->weights_converted = br.converted;
    r->weights_unmatched = br.unmatched;
    r->weights_uncovered = br.uncovered;
    snprintf(r->weights_note, sizeof r->weights_note, "%s", br.note);
    return st;
}

/* --target: the family's caps (targets/check.c) place each node on the ANE or the CPU; a node
 * that must leave the ANE refuses the model unless allow_fallback. */
static af_status preflight(const af_convert_options *o, const af_graph *g, af_convert_report *r,
                           const uint8_t *kept, char **placement, af_err *err)
{
    af_target_check_result cr = {0};
    uint8_t *cpu = calloc((size_t)g->n_nodes + 1, 1);
    if (!cpu) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_status st = af_target_check_graph(g, af_target_find(o->target), &cr, cpu, err);
    if (st == AF_OK && cr.n && !o->allow_fallback)
        st = af_err_set(err, AF_ERR_UNSUPPORTED,
                        "%s: %d of %d nodes cannot run on %s's ANE (first: node '%s' (%s): %s: "
                        "%s); see 'aneforge check', or pass --allow-fallback",
                        o->model_path, cr.n_cpu_nodes, cr.n_nodes, o->target, cr.v[0].node,
                        cr.v[0].op, cr.v[0].cap, cr.v[0].detail);
    for (int i = 0; kept && i < g->n_nodes; i++) cpu[i] |= kept[i]; /* --keep-fp32 */
    if (st == AF_OK && !(*placement = af_target_placement_json(g, cpu)))
        st = af_err_set(err, AF_ERR_NOMEM, "out of memory writing the placement");
    r->target_nodes = cr.n_nodes;
    r->target_cpu_nodes = cr.n_cpu_nodes;
    free(cpu);
    af_target_check_free(&cr);
    return st;
}

static af_status run_pipeline(const af_convert_options *o, af_graph *g, af_convert_report *r,
                              const af_placement *pl, af_err *err)
{
    if (import_model(o, g, err) != AF_OK) {
        af_freeze_hint(g, err); /* an importer that needs a constant (an If condition, ...) */
        return err->code;
    }
    if (o->n_weights && bind_weights(o, g, r, err) != AF_OK) return err->code;
    for (int i = 0; i < o->n_image_inputs; i++)
        if (af_image_input_apply(g, &o->image_inputs[i], err) != AF_OK)
            return af_err_prefix(err, o->model_path);
    r->opset = g->opset;
    r->nodes_imported = g->n_nodes;
    af_lower_options lo = {o->no_fuse, o->no_inplace_concat};
    af_lower_stats ls = {0};
    if (af_lower_run(g, &lo, &ls, err) != AF_OK) {
        af_freeze_hint(g, err);
        return af_err_prefix(err, o->model_path);
    }
    r->nodes_lowered = g->n_nodes;
    r->folded = ls.folded;
    r->removed = ls.removed;
    r->bn_folded = ls.bn_folded;
    r->act_fused = ls.act_fused;
    r->arena_bytes = ls.arena_bytes;
    r->naive_arena_bytes = ls.naive_bytes;
    r->concat_inplace = ls.concat_aliased;
    r->residual_fused = ls.residual_fused;
    af_prequant_settle(g); /* quantized graphs */
    choose_encodings(g, af_compress_mode_from_name(o->compress), r);
    keep_raw_constants(g, r);
    af_compress_result cr;
    if (af_convert_compress(o, g, r, &cr, err) != AF_OK) return err->code;
    char *placement = NULL;
    uint8_t *kept = pl ? calloc((size_t)g->n_nodes + 1, 1) : NULL;
    if (pl && !kept) af_err_set(err, AF_ERR_NOMEM, "out of memory");
    else if (pl) af_placement_apply(g, pl, r, kept, err);
    if (err->code == AF_OK && o->target) preflight(o, g, r, kept, &placement, err);
    free(kept);
    if (err->code != AF_OK) {
        af_compress_result_free(&cr);
        return err->code;
    }
    char *meta = make_meta(g, o, r, placement, &cr, pl);
    af_compress_result_free(&cr);
    free(placement);
    if (!meta) return af_err_set(err, AF_ERR_NOMEM, "out of memory writing metadata");
    afb_meta m = {meta};
    af_status st = afb_write(g, ls.arena_bytes, &m, o->out_path, err);
    free(meta);
    if (st != AF_OK) return st;
    struct stat sb;
    if (stat(o->out_path, &sb) == 0) r->file_bytes = (uint64_t)sb.st_size;
    return AF_OK;
}

af_status af_convert(const af_convert_options *o, af_convert_report *report, char *msg,
                     size_t msg_size)
{
    af_err err = {0};
    af_convert_report local;
    af_convert_report *r = report ? report : &local;
    if (o && (o->keep_fp32 || o->paired_fp16)) af_placement_convert(o, r, &err);
    else af_convert_with(o, r, NULL, &err);
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

af_status af_convert_with(const af_convert_options *o, af_convert_report *r,
                          const af_placement *pl, af_err *errp)
{
    af_err err = {0};
    memset(r, 0, sizeof *r);
    if (!o || !o->model_path || !o->out_path)
        af_err_set(&err, AF_ERR_USAGE, "a model path and an output path are required");
    else if (af_convert_check_compress(o, &err) != AF_OK) {
    } else if (o->target) {
        const af_target_family *fam;
        char tmsg[400];
        if (af_target_lookup(o->target, &fam, tmsg, sizeof tmsg) != AF_OK)
            af_err_set(&err, AF_ERR_USAGE, "%s", tmsg);
    }
    if (err.code == AF_OK) {
        af_graph g;
        af_graph_init(&g);
        run_pipeline(o, &g, r, pl, &err);
        af_graph_free(&g);
    }
    *errp = err;
    return err.code;
}

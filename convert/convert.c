/* convert/convert.c — the converter pipeline: import → lower → choose encodings → write. */
#include "aneforge/converter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../bundle/bundle.h"
#include "../graph/graph.h"
#include "../importers/onnx/onnx_import.h"
#include "../lowering/lower.h"
#include "json.h"

static const char *const compress_names[] = {"fp32", "fp16"};

int af_compress_mode_from_name(const char *name)
{
    if (!name) return 1;
    for (int i = 0; i < 2; i++)
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
        t->encoding = (mode == 1 && t->dtype == AF_DTYPE_F32) ? AF_ENC_FP16 : AF_ENC_RAW;
        r->weight_bytes_fp32 += (uint64_t)bytes;
        r->weight_bytes += (uint64_t)(t->encoding == AF_ENC_FP16 ? bytes / 2 : bytes);
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

/* Deterministic metadata: no timestamps, no absolute paths. */
static char *make_meta(const af_graph *g, const af_convert_options *o, const af_convert_report *r)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "producer", "aneforge " AF_VERSION_STRING);
    json_kv_str(&j, "source_model", base_name(o->model_path));
    json_kv_int(&j, "source_opset", r->opset);
    json_kv_str(&j, "target", o->target);
    json_kv_str(&j, "compress", compress_names[af_compress_mode_from_name(o->compress)]);
    json_kv_int(&j, "nodes", r->nodes_lowered);
    json_kv_int(&j, "weight_bytes", (int64_t)r->weight_bytes);
    json_kv_int(&j, "arena_bytes", (int64_t)r->arena_bytes);
    json_key(&j, "inputs");
    json_tensor_list(&j, g, g->inputs, g->n_inputs);
    json_key(&j, "outputs");
    json_tensor_list(&j, g, g->outputs, g->n_outputs);
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
    for (int i = 0; i < o->n_shapes; i++) {
        shapes[i].name = o->shapes[i].name;
        shapes[i].rank = o->shapes[i].rank;
        memcpy(shapes[i].dims, o->shapes[i].dims, sizeof shapes[i].dims);
    }
    af_onnx_options io = {shapes, o->n_shapes, 0};
    return af_onnx_import_file(o->model_path, &io, g, err);
}

static af_status run_pipeline(const af_convert_options *o, af_graph *g, af_convert_report *r,
                              af_err *err)
{
    if (import_model(o, g, err) != AF_OK) return err->code;
    r->opset = g->opset;
    r->nodes_imported = g->n_nodes;
    af_lower_options lo = {o->no_fuse};
    af_lower_stats ls = {0};
    if (af_lower_run(g, &lo, &ls, err) != AF_OK) return af_err_prefix(err, o->model_path);
    r->nodes_lowered = g->n_nodes;
    r->folded = ls.folded;
    r->removed = ls.removed;
    r->bn_folded = ls.bn_folded;
    r->act_fused = ls.act_fused;
    r->arena_bytes = ls.arena_bytes;
    r->naive_arena_bytes = ls.naive_bytes;
    choose_encodings(g, af_compress_mode_from_name(o->compress), r);
    char *meta = make_meta(g, o, r);
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
    memset(r, 0, sizeof *r);
    if (!o || !o->model_path || !o->out_path)
        af_err_set(&err, AF_ERR_USAGE, "a model path and an output path are required");
    else if (af_compress_mode_from_name(o->compress) < 0)
        af_err_set(&err, AF_ERR_USAGE, "unknown --compress '%s' (known: fp32, fp16)", o->compress);
    if (err.code == AF_OK) {
        af_graph g;
        af_graph_init(&g);
        run_pipeline(o, &g, r, &err);
        af_graph_free(&g);
    }
    if (err.code != AF_OK && msg && msg_size) snprintf(msg, msg_size, "%s", err.msg);
    return err.code;
}

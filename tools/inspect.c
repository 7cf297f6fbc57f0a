/* tools/inspect.c — `aneforge inspect FILE(.afb|.onnx|.safetensors) [--json]`: bundles here,
 * ONNX models in inspect_onnx.c, safetensors in inspect_safetensors.c. */
#include <stdio.h>
#include <string.h>

#include "aneforge/runtime.h"

#include "../bundle/bundle.h"
#include "../convert/json.h"
#include "../convert/placement.h"
#include <math.h>
#include "../graph/graph.h"
#include "../importers/onnx/onnx_import.h"
#include "../targets/targets_internal.h"
#include "cli.h"
#include "inspect.h"
#include "inspect_quant.h" /* quantized graphs */

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Op name for display: unary/binary/reduce nodes show their function. */
const char *inspect_display_op(af_op op, const af_params *p)
{
    if (op == AF_OP_UNARY && (unsigned)p->unary.fn < AF_UNARY_COUNT) return af_unary_names[p->unary.fn];
    if (op == AF_OP_BINARY && (unsigned)p->binary.fn < AF_BINARY_COUNT) return af_binary_names[p->binary.fn];
    if (op == AF_OP_REDUCE && (unsigned)p->reduce.fn < AF_REDUCE_COUNT) return af_reduce_names[p->reduce.fn];
    return af_op_name(op);
}

/* A bundle node's display name: a conv with a fused residual input (in[3]) is "conv+add". */
static const char *display_node(const afb_node *n)
{
    if (n->op == AF_OP_CONV && n->n_in > 3 && n->in[3] >= 0) return "conv+add";
    return inspect_display_op(n->op, &n->p);
}

void inspect_count_op(op_count *c, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp(c[i].name, name)) {
            c[i].n++;
            return;
        }
    if (*n < 64) c[(*n)++] = (op_count){name, 1};
}

static void json_tensor(af_json *j, const char *name, af_dtype dt, int rank, const int64_t *dims)
{
    json_open(j, '{');
    json_kv_str(j, "name", name);
    json_kv_str(j, "dtype", af_dtype_name(dt));
    json_key(j, "shape");
    json_open(j, '[');
    for (int d = 0; d < rank; d++) json_value_int(j, dims[d]);
    json_close(j, ']');
    json_close(j, '}');
}

/* "key": [{name, dtype, shape}, ...] for bundle tensors ids[0..n). */
static void json_bundle_tensors(af_json *j, const char *key, const afb_file *f, const int32_t *ids,
                                uint32_t n)
{
    json_key(j, key);
    json_open(j, '[');
    for (uint32_t i = 0; i < n; i++) {
        const afb_tensor *t = &f->tensors[ids[i]];
        if (i) json_raw(j, ",");
        json_tensor(j, t->name, t->dtype, t->rank, t->dims);
    }
    json_close(j, ']');
}

static void print_tensor(const char *what, const char *name, af_dtype dt, int rank, const int64_t *dims)
{
    char ds[160];
    printf("  %-7s %s: %s%s\n", what, name, af_dtype_name(dt), af_shape_str(rank, dims, ds, sizeof ds));
}

static void print_cpu_node(const char *node, void *ctx)
{
    int *shown = ctx;
    if ((*shown)++ < 20) printf(" %s", node);
}

/* Compressed weights, one line each (the per-tensor errors are in the metadata's
 * "compression" object). */
static void print_compressed(const afb_file *f, const af_bundle *rb, const char *const *enc_names)
{
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const afb_tensor *t = &f->tensors[i];
        if (t->storage != AFB_STORAGE_CONST || t->encoding < AFB_ENC_INT8) continue;
        uint64_t n = 1;
        for (int k = 0; k < t->rank; k++) n *= (uint64_t)t->dims[k];
        char nm[16]; /* palettes: their width from the blob header (byte 1), e.g. palette3 */
        const uint8_t *blob = t->data;
        if (t->encoding == AFB_ENC_PALETTE && t->data_bytes >= AFB_BLOB_HEADER_SIZE)
            snprintf(nm, sizeof nm, "palette%u", (unsigned)blob[1]);
        else
            snprintf(nm, sizeof nm, "%s", enc_names[t->encoding]);
        printf("\n    %-9s %-40s %10llu bytes (%.2f bits/weight)", nm, t->name,
               (unsigned long long)t->data_bytes, n ? 8.0 * t->data_bytes / n : 0.0);
        char origin[160]; /* quantized graphs */
        if (*inspect_int8_origin(t, origin, sizeof origin)) printf("\n      %s", origin);
        const char *why = "", *form = rb ? af_bundle_weight_form(rb, t->name, &why) : NULL;
        if (form) printf("\n      runs %s on this CPU%s%s", form, *why ? ": " : "", why);
    }
}

/* How each encoded constant runs on this CPU (af_bundle_weight_form), as a JSON array. */
static void json_weight_forms(af_json *j, const afb_file *f, const af_bundle *rb,
                              const char *const *enc_names)
{
    json_key(j, "weight_forms");
    json_open(j, '[');
    int first = 1;
    for (uint32_t i = 0; rb && i < f->n_tensors; i++) {
        const afb_tensor *t = &f->tensors[i];
        const char *why = "", *form;
        if (t->storage != AFB_STORAGE_CONST || t->encoding == AFB_ENC_RAW ||
            !(form = af_bundle_weight_form(rb, t->name, &why)))
            continue;
        if (!first) json_raw(j, ",");
        first = 0;
        json_open(j, '{');
        json_kv_str(j, "tensor", t->name);
        json_kv_str(j, "encoding", enc_names[t->encoding]);
        json_kv_str(j, "form", form);
        json_kv_str(j, "why", why);
        json_close(j, '}');
    }
    json_close(j, ']');
}

/* --target --allow-fallback bundles: the ANE/CPU partition recorded in the metadata. */
static void print_partition(const afb_file *f)
{
    int n_ane, n_cpu, shown = 0;
    if (!af_target_placement_scan(f->meta_json, f->meta_len, &n_ane, &n_cpu, NULL, NULL)) return;
    printf("  partition: %d nodes on the ANE, %d on the CPU%s", n_ane, n_cpu, n_cpu ? ":" : "");
    af_target_placement_scan(f->meta_json, f->meta_len, &n_ane, &n_cpu, print_cpu_node, &shown);
    printf("%s\n", shown > 20 ? " ..." : "");
}

/* --keep-fp32 / --paired-fp16 bundles: the precision placement and what it measured. */
static void print_precision(const afb_file *f)
{
    af_placement_info pi;
    if (!af_placement_read(f->meta_json, f->meta_len, &pi)) return;
    printf("  precision: %d nodes fp32 on the CPU (%s), %d paired fp16 (%s); on %s's estimate "
           "%.1f %% of the time moved to the CPU, +%.1f %% for pairs\n", pi.n_fp32,
           pi.mode_fp32[0] ? pi.mode_fp32 : "none", pi.n_paired,
           pi.mode_paired[0] ? pi.mode_paired : "none", pi.family, 100 * pi.cpu_share,
           100 * pi.paired_extra);
    char pairs[48] = "";
    if (pi.n_pairs > 1) snprintf(pairs, sizeof pairs, "; the worst of %d pairs", pi.n_pairs);
    if (!isnan(pi.psnr_placed))
        printf("  guidance (scale %g) under fp16 emulation: %.2f dB all fp16, %.2f dB placed "
               "(gate %.2f dB, measured by the search%s)\n", pi.scale, pi.psnr_fp16,
               pi.psnr_placed, pi.gate, pairs);
}

/* The target the metadata records, resolved (bundles before "target_device" recorded the name
 * as typed: "iphone13", "m2"): "a15 (A15 Bionic), family h14". */
static void print_target(const afb_file *f)
{
    af_target t;
    char recorded[64];
    int got = af_target_meta_read(f->meta_json, f->meta_len, &t, recorded, sizeof recorded);
    if (got < 0) printf("  target: '%s', unknown to this build\n", recorded);
    else if (got && t.device)
        printf("  target: %s (%s), family %s\n", t.name, t.device->chip, t.family->name);
    else if (got) printf("  target: family %s (%s)\n", t.family->name, t.family->chip);
}

/* "target": {"recorded", "family", "device", "chip"} (null when none is recorded). */
static void json_target(af_json *j, const afb_file *f)
{
    af_target t;
    char recorded[64];
    int got = af_target_meta_read(f->meta_json, f->meta_len, &t, recorded, sizeof recorded);
    json_key(j, "target");
    if (!got) {
        json_raw(j, "null");
        j->need_comma = 1;
        return;
    }
    json_open(j, '{');
    json_kv_str(j, "recorded", recorded);
    json_kv_str(j, "family", got > 0 ? t.family->name : NULL);
    json_kv_str(j, "device", got > 0 && t.device ? t.device->name : NULL);
    json_kv_str(j, "chip", got > 0 ? (t.device ? t.device->chip : t.family->chip) : NULL);
    json_close(j, '}');
}

static int inspect_bundle(const char *path, int as_json)
{
    afb_file *f;
    af_err err = {0};
    if (afb_open_file(path, &f, &err) != AF_OK) return cli_error(cli_exit_code(err.code), "%s", err.msg);
    af_bundle *rb = NULL; /* the runtime's view: how each weight runs (NULL: it refuses the file) */
    char rmsg[256];
    if (af_bundle_open(path, &rb, rmsg, sizeof rmsg) != AF_OK) rb = NULL;
    op_count ops[64];
    int n_ops = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) inspect_count_op(ops, &n_ops, display_node(&f->nodes[i]));
    uint64_t wbytes[AFB_ENC_COUNT] = {0};
    uint32_t wcount[AFB_ENC_COUNT] = {0};
    for (uint32_t i = 0; i < f->n_tensors; i++)
        if (f->tensors[i].storage == AFB_STORAGE_CONST) {
            wbytes[f->tensors[i].encoding] += f->tensors[i].data_bytes;
            wcount[f->tensors[i].encoding]++;
        }
    static const char *const enc_names[AFB_ENC_COUNT] = {"raw", "fp16", "int8", "int4",
                                                         "sparse", "blockwise", "palette"};
    if (as_json) {
        af_json j;
        json_init(&j);
        json_open(&j, '{');
        json_kv_str(&j, "file", path);
        json_kv_str(&j, "kind", "bundle");
        json_kv_int(&j, "format_version", f->version);
        json_kv_int(&j, "file_bytes", (int64_t)f->file_size);
        json_kv_int(&j, "arena_bytes", (int64_t)f->arena_bytes);
        json_kv_int(&j, "nodes", f->n_nodes);
        json_kv_int(&j, "tensors", f->n_tensors);
        json_key(&j, "sections");
        json_open(&j, '[');
        for (int s = 0; s < f->n_sections; s++) {
            if (s) json_raw(&j, ",");
            json_open(&j, '{');
            json_kv_str(&j, "kind", f->sections[s].kind);
            json_kv_int(&j, "offset", (int64_t)f->sections[s].offset);
            json_kv_int(&j, "size", (int64_t)f->sections[s].size);
            json_kv_int(&j, "crc32", f->sections[s].crc32);
            json_close(&j, '}');
        }
        json_close(&j, ']');
        json_key(&j, "weights");
        json_open(&j, '{');
        for (int e = 0; e < AFB_ENC_COUNT; e++) json_kv_int(&j, enc_names[e], (int64_t)wbytes[e]);
        json_close(&j, '}');
        json_key(&j, "ops");
        json_open(&j, '{');
        for (int i = 0; i < n_ops; i++) json_kv_int(&j, ops[i].name, ops[i].n);
        json_close(&j, '}');
        json_weight_forms(&j, f, rb, enc_names);
        json_bundle_tensors(&j, "inputs", f, f->inputs, f->n_inputs);
        json_bundle_tensors(&j, "outputs", f, f->outputs, f->n_outputs);
        json_target(&j, f);
        json_key(&j, "metadata"); /* already JSON: spliced in verbatim */
        if (f->meta_len) json_raw_n(&j, f->meta_json, f->meta_len);
        else json_raw(&j, "null");
        json_close(&j, '}');
        puts(j.buf);
        json_free(&j);
    } else {
        printf("%s: aneforge bundle, format version %u, %llu bytes\n", path, f->version,
               (unsigned long long)f->file_size);
        for (int s = 0; s < f->n_sections; s++)
            printf("  section %s  offset %-10llu size %-10llu crc32 %08x\n", f->sections[s].kind,
                   (unsigned long long)f->sections[s].offset, (unsigned long long)f->sections[s].size,
                   f->sections[s].crc32);
        for (uint32_t i = 0; i < f->n_inputs; i++) {
            const afb_tensor *t = &f->tensors[f->inputs[i]];
            print_tensor("input", t->name, t->dtype, t->rank, t->dims);
        }
        for (uint32_t i = 0; i < f->n_outputs; i++) {
            const afb_tensor *t = &f->tensors[f->outputs[i]];
            print_tensor("output", t->name, t->dtype, t->rank, t->dims);
        }
        printf("  program: %u nodes, %u tensors, activation arena %.2f MB\n  ops:", f->n_nodes,
               f->n_tensors, f->arena_bytes / 1e6);
        for (int i = 0; i < n_ops; i++) printf(" %s×%d", ops[i].name, ops[i].n);
        printf("\n  weights:");
        for (int e = 0; e < AFB_ENC_COUNT; e++)
            if (wcount[e]) printf(" %u %s tensors %.2f MB;", wcount[e], enc_names[e], wbytes[e] / 1e6);
        print_compressed(f, rb, enc_names);
        printf("\n");
        inspect_print_auto(f->meta_json, f->meta_len);
        printf("  metadata: %.*s\n", (int)f->meta_len, f->meta_json);
        print_target(f);
        print_partition(f);
        print_precision(f);
    }
    af_bundle_close(rb);
    afb_close(f);
    return CLI_OK;
}

int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (argv[i][0] == '-') return cli_error(CLI_USAGE, "inspect: unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_error(CLI_USAGE, "inspect: unexpected argument '%s'", argv[i]);
    }
    if (!path) return cli_error(CLI_USAGE, "usage: aneforge inspect FILE(.afb|.onnx|.safetensors) [--json]");
    if (ends_with(path, ".afb")) return inspect_bundle(path, as_json);
    if (ends_with(path, ".onnx")) return inspect_onnx(path, as_json);
    if (ends_with(path, ".safetensors")) return inspect_safetensors(path, as_json);
    return cli_error(CLI_USAGE, "%s: unknown file kind (expected .afb, .onnx or .safetensors)", path);
}

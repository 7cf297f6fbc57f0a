/* tools/convert.c — `aneforge convert MODEL.onnx -o OUT.afb [...]`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../bundle/bundle.h"
#include "../convert/json.h"
#include "aneforge/converter.h"
#include "aneforge/targets.h"
#include "cli.h"
#include "compress_flags.h"
#include <math.h>
#include <stdlib.h>

#define MAX_SHAPES 64

/* NAME=D0,D1,... */
static int parse_shape(const char *arg, af_shape_spec *spec)
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg) return -1;
    static char names[MAX_SHAPES][256];
    static int used;
    size_t n = (size_t)(eq - arg);
    if (n >= sizeof names[0] || used == MAX_SHAPES) return -1;
    memcpy(names[used], arg, n);
    names[used][n] = '\0';
    spec->name = names[used++];
    spec->rank = cli_parse_dims(eq + 1, spec->dims, AF_MAX_RANK);
    return spec->rank < 0 ? -1 : 0;
}

static void print_report(const af_convert_options *o, const af_convert_report *r)
{
    printf("converted %s -> %s\n", o->model_path, o->out_path);
    printf("  opset %d, %d nodes imported, %d after lowering (%d folded, %d removed, "
           "%d batchnorms folded, %d activations fused, %d residual adds fused)\n",
           r->opset, r->nodes_imported, r->nodes_lowered, r->folded, r->removed, r->bn_folded,
           r->act_fused, r->residual_fused);
    printf("  weights %.2f MB as %s (%.2f MB as fp32); activation arena %.2f MB "
           "(%.2f MB without reuse); bundle %.2f MB\n",
           r->weight_bytes / 1e6, o->compress, r->weight_bytes_fp32 / 1e6, r->arena_bytes / 1e6,
           r->naive_arena_bytes / 1e6, r->file_bytes / 1e6);
    if (o->n_weights)
        printf("  --weights: %d initializers replaced from %d safetensors file(s) (%d converted "
               "to the model's dtype); %d unmatched, %d uncovered\n", r->weights_bound,
               r->weights_files, r->weights_converted, r->weights_unmatched, r->weights_uncovered);
    if (o->keep_fp32 || o->paired_fp16) {
        printf("  precision: %d nodes fp32 on the CPU (%s), %d paired fp16 (%s); %.1f %% of the "
               "estimated time (%s) moved to the CPU, +%.1f %% for pairs\n", r->fp32_nodes,
               o->keep_fp32 ? (strcmp(o->keep_fp32, "auto") ? "named" : "auto") : "none",
               r->paired_nodes,
               o->paired_fp16 ? (strcmp(o->paired_fp16, "auto") ? "named" : "auto") : "none",
               100 * r->cpu_time_share, r->cost_family, 100 * r->paired_time_extra);
        if (!isnan(r->cfg_psnr_fp16))
            printf("  guided output (--cfg-calib, scale %g) under fp16 emulation: %.2f dB all fp16, "
                   "%.2f dB placed\n", o->cfg_scale > 0 ? o->cfg_scale : 7.5, r->cfg_psnr_fp16,
                   r->cfg_psnr_placed);
    }
    if (o->target)
        printf("  target %s: %d of %d nodes on the ANE, %d on the CPU%s\n", o->target,
               r->target_nodes - r->target_cpu_nodes, r->target_nodes, r->target_cpu_nodes,
               r->target_cpu_nodes ? " (--allow-fallback; placement in the metadata)" : "");
}

/* --compress auto: the whole-model gate's outcome (measures NaN → null: not measured). */
static void json_auto(af_json *j, const af_convert_report *r)
{
    json_key(j, "auto");
    json_open(j, '{');
    json_kv_num(j, "model_psnr_db", r->model_psnr_db);
    json_kv_int(j, "promotions", r->promotions);
    json_kv_str(j, "decided_by", r->decided_by);
    json_kv_int(j, "gates_met", r->gates_met);
    json_kv_num(j, "model_cosine", r->model_cosine);
    json_kv_num(j, "model_top1", r->model_top1);
    json_kv_num(j, "model_topk", r->model_topk);
    json_kv_num(j, "model_argmax", r->model_argmax);
    json_kv_num(j, "model_iou", r->model_iou);
    json_close(j, '}');
}

static void print_json(const af_convert_options *o, const af_convert_report *r)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "model", o->model_path);
    json_kv_str(&j, "bundle", o->out_path);
    json_kv_str(&j, "compress", o->compress);
    json_kv_str(&j, "target", o->target);
    json_kv_int(&j, "opset", r->opset);
    json_kv_int(&j, "nodes_imported", r->nodes_imported);
    json_kv_int(&j, "nodes_lowered", r->nodes_lowered);
    json_kv_int(&j, "folded", r->folded);
    json_kv_int(&j, "removed", r->removed);
    json_kv_int(&j, "bn_folded", r->bn_folded);
    json_kv_int(&j, "act_fused", r->act_fused);
    json_kv_int(&j, "residual_fused", r->residual_fused);
    json_kv_int(&j, "weight_bytes", (int64_t)r->weight_bytes);
    json_kv_int(&j, "weight_bytes_fp32", (int64_t)r->weight_bytes_fp32);
    json_kv_int(&j, "arena_bytes", (int64_t)r->arena_bytes);
    json_kv_int(&j, "arena_bytes_without_reuse", (int64_t)r->naive_arena_bytes);
    json_kv_int(&j, "concat_inplace", r->concat_inplace);
    json_kv_int(&j, "file_bytes", (int64_t)r->file_bytes);
    if (o->target) {
        json_kv_int(&j, "target_nodes", r->target_nodes);
        json_kv_int(&j, "target_cpu_nodes", r->target_cpu_nodes);
    }
    if (r->decided_by[0]) json_auto(&j, r);
    if (o->keep_fp32 || o->paired_fp16) {
        json_key(&j, "precision");
        json_open(&j, '{');
        json_kv_int(&j, "fp32_nodes", r->fp32_nodes);
        json_kv_int(&j, "paired_fp16_nodes", r->paired_nodes);
        json_kv_num(&j, "guided_psnr_db_fp16", r->cfg_psnr_fp16);
        json_kv_num(&j, "guided_psnr_db", r->cfg_psnr_placed);
        json_kv_num(&j, "cpu_time_share", r->cpu_time_share);
        json_kv_num(&j, "paired_time_extra", r->paired_time_extra);
        json_kv_str(&j, "cost_family", r->cost_family);
        json_close(&j, '}');
    }
    json_close(&j, '}');
    if (json_ok(&j)) puts(j.buf);
    json_free(&j);
}

/* SIGINT/SIGTERM mid-conversion: the destination is only ever replaced by the writer's final
 * rename, so it is untouched; remove the writer's temporary file and exit 128+signal (130 for
 * Ctrl-C). Async-signal-safe: only unlink and _exit. */
static char interrupt_temp[4096];

static void on_interrupt(int sig)
{
    if (interrupt_temp[0]) unlink(interrupt_temp);
    _exit(128 + sig);
}

static void clean_up_on_interrupt(const char *out_path)
{
    if (afb_temp_path(out_path, interrupt_temp, sizeof interrupt_temp) != 0)
        interrupt_temp[0] = '\0';
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cmd_convert(int argc, char **argv)
{
    char msg[600];
    af_convert_options o = {0};
    af_shape_spec shapes[MAX_SHAPES];
    static af_image_input_spec images[8];
    static const char *weights[64];
    static af_freeze_spec freezes[64];
    char imsg[400];
    int quiet = 0, as_json = 0, cflag;
    o.compress = "fp16";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if ((!strcmp(a, "-o") || !strcmp(a, "--output")) && has_val) o.out_path = argv[++i];
        else if (!strcmp(a, "--compress") && has_val) o.compress = argv[++i];
        else if (!strcmp(a, "--target") && has_val) o.target = argv[++i];
        else if (!strcmp(a, "--input-shape") && has_val) {
            if (o.n_shapes == MAX_SHAPES || parse_shape(argv[++i], &shapes[o.n_shapes]))
                return cli_error(CLI_USAGE, "bad --input-shape '%s' (want NAME=D0,D1,...)",
                                 argv[i]);
            o.n_shapes++;
        } else if (!strcmp(a, "--image-input") && has_val) {
            if (o.n_image_inputs == 8) return cli_error(CLI_USAGE, "too many --image-input flags");
            if (af_image_input_parse(argv[++i], &images[o.n_image_inputs], imsg, sizeof imsg))
                return cli_error(CLI_USAGE, "%s", imsg);
            o.image_inputs = images;
            o.n_image_inputs++;
        } else if (!strcmp(a, "--freeze") && has_val) {
            if (o.n_freeze == 64) return cli_error(CLI_USAGE, "too many --freeze flags (at most 64)");
            if (af_freeze_parse(argv[++i], &freezes[o.n_freeze], imsg, sizeof imsg))
                return cli_error(CLI_USAGE, "%s", imsg);
            o.freeze = freezes;
            o.n_freeze++;
        } else if (!strcmp(a, "--weights") && has_val) {
            if (o.n_weights == 64) return cli_error(CLI_USAGE, "too many --weights flags (at most 64)");
            weights[o.n_weights++] = argv[++i];
            o.weights = weights;
        } else if (!strcmp(a, "--weight-map") && has_val) o.weight_map = argv[++i];
        else if (!strcmp(a, "--allow-partial")) o.allow_partial = 1;
        else if (!strcmp(a, "--allow-fallback")) o.allow_fallback = 1;
        else if (!strcmp(a, "--no-fuse")) o.no_fuse = 1;
        else if (!strcmp(a, "--no-inplace-concat")) o.no_inplace_concat = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--json")) as_json = 1;
        else if (!strcmp(a, "--keep-fp32") && has_val) o.keep_fp32 = argv[++i];
        else if (!strcmp(a, "--paired-fp16") && has_val) o.paired_fp16 = argv[++i];
        else if (!strcmp(a, "--cfg-calib") && has_val) o.cfg_calib_dir = argv[++i];
        else if ((!strcmp(a, "--min-cfg-psnr") || !strcmp(a, "--cfg-scale")) && has_val) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !isfinite(v) || v <= 0)
                return cli_error(CLI_USAGE, "bad %s '%s' (want a positive number)", a, argv[i]);
            *(!strcmp(a, "--cfg-scale") ? &o.cfg_scale : &o.min_cfg_psnr) = v;
        } else if ((cflag = cli_compress_flag(argc, argv, &i, &o)) != 0) {
            if (cflag < 0) return CLI_USAGE;
        } else if (a[0] == '-') return cli_error(CLI_USAGE, "convert: unknown or incomplete option '%s'", a);
        else if (!o.model_path) o.model_path = a;
        else return cli_error(CLI_USAGE, "convert: unexpected argument '%s'", a);
    }
    if (!o.model_path || !o.out_path)
        return cli_error(CLI_USAGE, "usage: aneforge convert MODEL.onnx -o OUT.afb [options]");
    if (cli_compress_check(&o)) return CLI_USAGE;
    const af_target_family *fam;
    if (o.target && af_target_lookup(o.target, &fam, msg, sizeof msg) != AF_OK)
        return cli_error(CLI_USAGE, "%s", msg); /* before any work: no silent default */
    if (o.allow_fallback && !o.target) return cli_error(CLI_USAGE, "--allow-fallback needs --target");
    if ((o.weight_map || o.allow_partial) && !o.n_weights)
        return cli_error(CLI_USAGE, "--weight-map and --allow-partial need --weights");
    o.shapes = shapes;
    af_convert_report r;
    clean_up_on_interrupt(o.out_path);
    if (!quiet && !as_json) cli_compress_progress(&o);
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    if (r.weights_note[0]) fprintf(stderr, "aneforge: warning: --allow-partial: %s\n", r.weights_note);
    if (as_json) {
        print_json(&o, &r);
        return CLI_OK;
    }
    if (!quiet) print_report(&o, &r);
    cli_compress_report(&o, &r, quiet);
    return CLI_OK;
}

/* tools/check.c — `aneforge check MODEL.onnx --target TARGET [--fp16 [--calib DIR]] [--json]`:
 * the static preflight convert runs (every cap violation, exit 1 when any) and, with --fp16, the
 * fp16 divergence prediction on calibration inputs (exit 1 when anything is flagged). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "targets_cli.h"

typedef struct check_args {
    const char *model, *target, *calib;
    int as_json, fp16;
    af_shape_spec shapes[TCLI_MAX_SHAPES];
    char names[TCLI_MAX_SHAPES][256];
    int n_shapes;
} check_args;

static int parse_args(int argc, char **argv, check_args *a)
{
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(s, "--target") && has_val) a->target = argv[++i];
        else if (!strcmp(s, "--calib") && has_val) a->calib = argv[++i];
        else if (!strcmp(s, "--json")) a->as_json = 1;
        else if (!strcmp(s, "--fp16")) a->fp16 = 1;
        else if (!strcmp(s, "--input-shape") && has_val) {
            if (a->n_shapes == TCLI_MAX_SHAPES ||
                tcli_parse_shape(argv[++i], &a->shapes[a->n_shapes], &a->names[a->n_shapes]))
                return cli_error(CLI_USAGE, "bad --input-shape '%s' (want NAME=D0,D1,...)", argv[i]);
            a->n_shapes++;
        } else if (s[0] == '-') return cli_error(CLI_USAGE, "check: unknown or incomplete option '%s'", s);
        else if (!a->model) a->model = s;
        else return cli_error(CLI_USAGE, "check: unexpected argument '%s'", s);
    }
    if (!a->model || (!a->target && !a->fp16))
        return cli_error(CLI_USAGE, "usage: aneforge check MODEL.onnx --target TARGET [--fp16 [--calib DIR]] [--json]");
    return CLI_OK;
}

static void print_violations(const check_args *a, const af_target_family *f,
                             const af_target_check_result *r)
{
    for (int i = 0; i < r->n; i++)
        printf("%s: node '%s' (%s): %s: %s\n", a->model, r->v[i].node, r->v[i].op, r->v[i].cap,
               r->v[i].detail);
    printf("%s on %s (%s): %d of %d nodes run on the ANE, %d off it (%d violations)\n", a->model,
           f->name, f->alias, r->n_nodes - r->n_cpu_nodes, r->n_nodes, r->n_cpu_nodes, r->n);
}

static void print_fp16(const check_args *a, const af_fp16_report *r)
{
    for (int i = 0; i < r->n; i++) {
        const af_fp16_flag *f = &r->flags[i];
        printf("%s: fp16 %s: tensor '%s' from %s%s%s (%s), range [%.4g, %.4g]: %s\n", a->model,
               af_fp16_kind_name(f->kind), f->tensor, f->node[0] ? "node '" : "", f->node,
               f->node[0] ? "'" : "the model", f->op, f->min, f->max, f->why);
    }
    printf("%s: fp16 prediction on %s: %d of %d tensors flagged\n", a->model,
           a->calib ? a->calib : "seeded N(0,1) inputs", r->n, r->n_tensors);
}

static void json_out(const check_args *a, const af_target_family *f,
                     const af_target_check_result *cr, const af_fp16_report *fr)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "model", a->model);
    json_kv_str(&j, "target", f ? f->name : NULL);
    if (f) {
        json_kv_int(&j, "nodes", cr->n_nodes);
        json_kv_int(&j, "cpu_nodes", cr->n_cpu_nodes);
        json_key(&j, "violations");
        json_open(&j, '[');
        for (int i = 0; i < cr->n; i++) {
            json_raw(&j, i ? ",{" : "{");
            j.need_comma = 0;
            json_kv_str(&j, "node", cr->v[i].node);
            json_kv_str(&j, "op", cr->v[i].op);
            json_kv_str(&j, "cap", cr->v[i].cap);
            json_kv_str(&j, "detail", cr->v[i].detail);
            json_close(&j, '}');
        }
        json_close(&j, ']');
    }
    if (a->fp16) {
        json_kv_str(&j, "calib", a->calib);
        json_kv_int(&j, "fp16_tensors", fr->n_tensors);
        json_key(&j, "fp16");
        json_open(&j, '[');
        for (int i = 0; i < fr->n; i++) {
            const af_fp16_flag *g = &fr->flags[i];
            json_raw(&j, i ? ",{" : "{");
            j.need_comma = 0;
            json_kv_str(&j, "kind", af_fp16_kind_name(g->kind));
            json_kv_str(&j, "tensor", g->tensor);
            json_kv_str(&j, "node", g->node);
            json_kv_str(&j, "op", g->op);
            json_kv_num(&j, "min", g->min);
            json_kv_num(&j, "max", g->max);
            json_kv_num(&j, "fraction", g->fraction);
            json_kv_str(&j, "why", g->why);
            json_close(&j, '}');
        }
        json_close(&j, ']');
    }
    json_close(&j, '}');
    if (json_ok(&j)) puts(j.buf);
    json_free(&j);
}

int cmd_check(int argc, char **argv)
{
    static check_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    const af_target_family *f = NULL;
    if (rc == CLI_OK && a.target) rc = tcli_family(a.target, &f); /* before any work */
    if (rc != CLI_OK) return rc;
    char msg[600];
    af_target_check_result cr = {0};
    af_fp16_report fr = {0};
    af_status st = AF_OK;
    if (f) st = af_target_check_file(a.model, a.shapes, a.n_shapes, f, &cr, msg, sizeof msg);
    if (st == AF_OK && a.fp16)
        st = af_fp16_predict_file(a.model, a.shapes, a.n_shapes, a.calib, &fr, msg, sizeof msg);
    if (st != AF_OK) {
        rc = cli_error(cli_exit_code(st), "%s", msg);
    } else {
        if (a.as_json) json_out(&a, f, &cr, &fr);
        else {
            if (f) print_violations(&a, f, &cr);
            if (a.fp16) print_fp16(&a, &fr);
        }
        rc = cr.n || fr.n ? CLI_CHECK_FAILED : CLI_OK;
    }
    af_target_check_free(&cr);
    af_fp16_report_free(&fr);
    return rc;
}

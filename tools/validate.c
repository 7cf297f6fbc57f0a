/* tools/validate.c — `aneforge validate MODEL.onnx BUNDLE.afb [...]` and `--manifest FILE`:
 * the fp32 program of the model vs the bundle as deployed, per output and per layer
 * (convert/validate.h does the work, convert/validate_report.c the reports). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../convert/validate.h"
#include "../convert/validate_cfg.h"
#include "cli.h"

#define MAX_COMPONENTS 32
#define MAX_SHAPES 16
#define MAX_TASKS 32

typedef struct val_cli {
    af_val_options base;       /* flags shared by every component */
    const char *manifest, *json, *plot;
    const char *cond, *uncond;  /* --cond/--uncond: classifier-free guidance (validate_cfg.h) */
    double cfg_scale;           /* --cfg-scale S, 0 = 7.5 */
    af_gates gates;
    int top;
    af_task_spec tasks[MAX_TASKS];
    af_shape_spec shapes[MAX_SHAPES];
    char shape_names[MAX_SHAPES][256];
    af_image_input_spec images[4];
    af_freeze_spec freeze[MAX_SHAPES];
} val_cli;

static const char usage[] =
    "usage: aneforge validate MODEL.onnx BUNDLE.afb [--inputs DIR | --seed N] [--reference DIR]\n"
    "         [--fp16] [--per-layer] [--min-psnr DB] [--json FILE] [--plot FILE.svg] [--top N]\n"
    "         [--topk [OUT=]K] [--argmax-axis [OUT=]A] [--iou [OUT=]T] [--min-cosine C]\n"
    "         [--min-topk P] [--min-argmax P] [--min-iou P]\n"
    "         [--input-shape NAME=D0,D1,...] [--image-input NAME:scale=S,bias=B0,B1,B2]\n"
    "         [--freeze NAME=FILE.npy]...\n"
    "       aneforge validate MODEL.onnx BUNDLE.afb --cond DIR --uncond DIR [--cfg-scale S]\n"
    "         [--fp16] [--per-layer] [--min-psnr DB] [--json FILE] [--top N]\n"
    "       aneforge validate --manifest FILE [same flags]";

static int parse_shape(val_cli *c, const char *arg)
{
    const char *eq = strrchr(arg, '=');
    af_shape_spec *s = &c->shapes[c->base.n_shapes];
    if (c->base.n_shapes == MAX_SHAPES || !eq || eq == arg || (size_t)(eq - arg) >= 256) return -1;
    memcpy(c->shape_names[c->base.n_shapes], arg, (size_t)(eq - arg));
    c->shape_names[c->base.n_shapes][eq - arg] = '\0';
    s->name = c->shape_names[c->base.n_shapes];
    s->rank = cli_parse_dims(eq + 1, s->dims, AF_MAX_RANK);
    if (s->rank < 0) return -1;
    c->base.n_shapes++;
    return 0;
}

static int parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end || errno ? -1 : 0;
}

/* --min-cosine C / --min-topk P / --min-argmax P / --min-iou P: a fraction in [0, 1]. */
static int parse_fraction_gate(val_cli *c, const char *a, const char *v)
{
    static const char *const flags[] = {"--min-cosine", "--min-topk", "--min-argmax", "--min-iou"};
    double *dst[] = {&c->gates.min_cosine, &c->gates.min_topk, &c->gates.min_argmax,
                     &c->gates.min_iou};
    for (int k = 0; k < 4; k++) {
        if (strcmp(a, flags[k])) continue;
        if (parse_number(v, dst[k]) || !(*dst[k] >= 0 && *dst[k] <= 1))
            return cli_error(CLI_USAGE, "bad %s '%s' (want a fraction in [0, 1], e.g. 0.99)", a, v);
        return CLI_OK;
    }
    return -1;
}

/* --topk [OUT=]K, --argmax-axis [OUT=]A, --iou [OUT=]T */
static int parse_task(val_cli *c, const char *a, char *v)
{
    static const char *const flags[] = {"--topk", "--argmax-axis", "--iou"};
    for (int k = 0; k < 3; k++) {
        if (strcmp(a, flags[k])) continue;
        char msg[400];
        if (c->base.n_tasks == MAX_TASKS) return cli_error(CLI_USAGE, "too many task measures");
        if (af_task_spec_parse(v, (af_task_kind)(k + 1), &c->tasks[c->base.n_tasks], msg,
                               sizeof msg) != AF_OK)
            return cli_error(CLI_USAGE, "%s", msg);
        c->base.tasks = c->tasks;
        c->base.n_tasks++;
        return CLI_OK;
    }
    return -1;
}

/* One flag with its value at argv[*i]; returns -1 when not a known flag, else a CLI code. */
static int parse_flag(val_cli *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    int has_val = *i + 1 < argc;
    const char *v = has_val ? argv[*i + 1] : NULL;
    double d;
    int rc;
    char msg[400];
    if (!strcmp(a, "--fp16")) return c->base.fp16 = 1, CLI_OK;
    if (!strcmp(a, "--int8-compute")) return c->base.int8_compute = 1, CLI_OK;
    if (!strcmp(a, "--per-layer")) return c->base.per_layer = 1, CLI_OK;
    if (!has_val) return -1;
    (*i)++;
    if (!strcmp(a, "--inputs")) c->base.inputs_dir = v;
    else if (!strcmp(a, "--reference")) c->base.reference_dir = v;
    else if (!strcmp(a, "--manifest")) c->manifest = v;
    else if (!strcmp(a, "--cond")) c->cond = v;
    else if (!strcmp(a, "--uncond")) c->uncond = v;
    else if (!strcmp(a, "--cfg-scale")) {
        if (parse_number(v, &c->cfg_scale) || !isfinite(c->cfg_scale) || c->cfg_scale <= 0)
            return cli_error(CLI_USAGE, "bad --cfg-scale '%s' (want a positive number, e.g. 7.5)", v);
    }
    else if (!strcmp(a, "--json")) c->json = v;
    else if (!strcmp(a, "--plot")) c->plot = v, c->base.per_layer = 1;
    else if (!strcmp(a, "--min-psnr")) {
        if (parse_number(v, &c->gates.min_psnr) || isnan(c->gates.min_psnr))
            return cli_error(CLI_USAGE, "bad --min-psnr '%s'", v);
    } else if ((rc = parse_fraction_gate(c, a, v)) >= 0) {
        return rc;
    } else if ((rc = parse_task(c, a, argv[*i])) >= 0) {
        return rc;
    } else if (!strcmp(a, "--seed")) {
        if (parse_number(v, &d) || d < 0 || d != floor(d))
            return cli_error(CLI_USAGE, "bad --seed '%s'", v);
        c->base.seed = (uint64_t)d;
    } else if (!strcmp(a, "--threads") || !strcmp(a, "--top")) {
        long n = cli_parse_count(v);
        if (n < 0 || n > 100000) return cli_error(CLI_USAGE, "bad %s '%s'", a, v);
        *(strcmp(a, "--top") ? &c->base.n_threads : &c->top) = (int)n;
    } else if (!strcmp(a, "--input-shape")) {
        if (parse_shape(c, v)) return cli_error(CLI_USAGE, "bad --input-shape '%s'", v);
    } else if (!strcmp(a, "--freeze")) {
        if (c->base.n_freeze == MAX_SHAPES) return cli_error(CLI_USAGE, "too many --freeze");
        if (af_freeze_parse(argv[*i], &c->freeze[c->base.n_freeze], msg, sizeof msg))
            return cli_error(CLI_USAGE, "%s", msg);
        c->base.freeze = c->freeze;
        c->base.n_freeze++;
    } else if (!strcmp(a, "--image-input")) {
        if (c->base.n_image_inputs == 4) return cli_error(CLI_USAGE, "too many --image-input");
        if (af_image_input_parse(v, &c->images[c->base.n_image_inputs], msg, sizeof msg))
            return cli_error(CLI_USAGE, "%s", msg);
        c->base.image_inputs = c->images;
        c->base.n_image_inputs++;
    } else {
        (*i)--;
        return -1;
    }
    return CLI_OK;
}

/* ---- manifest: one component per line: NAME MODEL BUNDLE [INPUTS|-] [REFERENCE|-] --------- */

typedef struct manifest_line {
    char name[128];
    char path[4][4096]; /* model, bundle, inputs, reference ("" when absent or "-") */
} manifest_line;

/* Paths are relative to the manifest's folder unless absolute. */
static void resolve(const char *manifest, const char *p, char *out, size_t size)
{
    const char *slash = strrchr(manifest, '/');
    if (p[0] == '/' || !slash) snprintf(out, size, "%s", p);
    else snprintf(out, size, "%.*s/%s", (int)(slash - manifest), manifest, p);
}

static int parse_manifest_line(const char *file, int lineno, char *line, manifest_line *m)
{
    char *tok[6];
    int n = 0;
    for (char *t = strtok(line, " \t\r\n"); t && n < 6; t = strtok(NULL, " \t\r\n")) tok[n++] = t;
    if (n < 3 || n > 5)
        return cli_error(CLI_BAD_INPUT, "%s:%d: want NAME MODEL BUNDLE [INPUTS] [REFERENCE], "
                         "got %d fields", file, lineno, n);
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", tok[0]);
    for (int k = 1; k < n; k++)
        if (strcmp(tok[k], "-")) resolve(file, tok[k], m->path[k - 1], sizeof m->path[k - 1]);
    return CLI_OK;
}

static int read_manifest(const char *file, manifest_line *lines, int *n)
{
    FILE *f = fopen(file, "r");
    if (!f) return cli_error(CLI_BAD_INPUT, "%s: cannot open the manifest: %s", file, strerror(errno));
    char buf[8192];
    int lineno = 0, rc = CLI_OK;
    *n = 0;
    while (rc == CLI_OK && fgets(buf, sizeof buf, f)) {
        lineno++;
        char *p = buf;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (*n == MAX_COMPONENTS)
            rc = cli_error(CLI_BAD_INPUT, "%s: more than %d components", file, MAX_COMPONENTS);
        else rc = parse_manifest_line(file, lineno, p, &lines[(*n)++]);
    }
    fclose(f);
    if (rc == CLI_OK && *n == 0) rc = cli_error(CLI_BAD_INPUT, "%s: no components listed", file);
    return rc;
}

/* ---- running and reporting ------------------------------------------------------------- */

static int run_component(const af_val_options *o, af_val_result *r)
{
    af_err err = {0};
    if (af_validate_run(o, r, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s%s%s", o->name ? o->name : "",
                         o->name ? ": " : "", err.msg);
    if (r->inputs_from_f64) cli_warn_f64(r->inputs_from_f64, o->inputs_dir);
    return CLI_OK;
}

static int report(const val_cli *c, af_val_result *r, int n)
{
    af_val_print_table(stdout, r, n, &c->gates, c->base.per_layer, c->top);
    af_err err = {0};
    if (c->json && af_val_write_json(c->json, r, n, &c->gates, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    if (c->plot && af_val_write_svg(c->plot, r, n, c->gates.min_psnr, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    for (int i = 0; i < n; i++)
        if (af_val_failed(&r[i], &c->gates)) return CLI_CHECK_FAILED;
    return CLI_OK;
}

static int run_manifest(val_cli *c)
{
    static manifest_line lines[MAX_COMPONENTS];
    static af_val_result res[MAX_COMPONENTS];
    int n = 0, rc = read_manifest(c->manifest, lines, &n);
    for (int done = 0; rc == CLI_OK && done < n; done++) {
        af_val_options o = c->base;
        o.name = lines[done].name;
        o.model_path = lines[done].path[0];
        o.bundle_path = lines[done].path[1];
        if (lines[done].path[2][0]) o.inputs_dir = lines[done].path[2];
        if (lines[done].path[3][0]) o.reference_dir = lines[done].path[3];
        rc = run_component(&o, &res[done]);
    }
    if (rc == CLI_OK) rc = report(c, res, n);
    for (int i = 0; i < n; i++) af_val_result_free(&res[i]); /* safe on untouched records */
    return rc;
}

/* --cond/--uncond: c, u, c − u and the guided output, bundle vs fp32 program. */
static int run_cfg(const val_cli *c)
{
    if (c->manifest || !c->cond || !c->uncond || c->base.inputs_dir || c->plot ||
        c->base.n_tasks || af_gates_set(&c->gates) & ~AF_GATE_PSNR)
        return cli_error(CLI_USAGE, "validate: guidance takes --cond DIR and --uncond DIR together, "
                         "with neither --manifest, --inputs, --plot nor task measures");
    if (!c->base.model_path || !c->base.bundle_path)
        return cli_error(CLI_USAGE, "validate: MODEL.onnx and BUNDLE.afb required");
    af_cfg_options o = {c->base, c->cond, c->uncond, c->cfg_scale > 0 ? c->cfg_scale : 7.5, 0};
    af_cfg_result r;
    af_err err = {0};
    if (af_validate_cfg_run(&o, &r, &err) != AF_OK) {
        af_cfg_result_free(&r);
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    }
    double gate = c->gates.min_psnr;
    af_cfg_print_table(stdout, &r, gate, c->base.per_layer, c->top);
    int rc = CLI_OK;
    if (c->json && af_cfg_write_json(c->json, &r, gate, &err) != AF_OK)
        rc = cli_error(cli_exit_code(err.code), "%s", err.msg);
    if (rc == CLI_OK && gate > 0 && !(af_cfg_guided_psnr(&r) >= gate)) rc = CLI_CHECK_FAILED;
    af_cfg_result_free(&r);
    return rc;
}

int cmd_validate(int argc, char **argv)
{
    static val_cli c;
    memset(&c, 0, sizeof c);
    af_gates_none(&c.gates);
    c.base.gates = &c.gates;
    c.base.seed = 1;
    c.base.shapes = c.shapes;
    c.top = 30;
    for (int i = 1; i < argc; i++) {
        int rc = parse_flag(&c, argc, argv, &i);
        if (rc > 0) return rc;
        if (rc == CLI_OK) continue;
        if (argv[i][0] == '-')
            return cli_error(CLI_USAGE, "validate: unknown or incomplete option '%s'", argv[i]);
        if (!c.base.model_path) c.base.model_path = argv[i];
        else if (!c.base.bundle_path) c.base.bundle_path = argv[i];
        else return cli_error(CLI_USAGE, "validate: unexpected argument '%s'", argv[i]);
    }
    if (c.cond || c.uncond || c.cfg_scale > 0) return run_cfg(&c);
    af_err err = {0};
    if (af_task_specs_check(c.base.tasks, c.base.n_tasks, &c.gates, &err) != AF_OK)
        return cli_error(CLI_USAGE, "validate: %s", err.msg);
    if (c.manifest) {
        if (c.base.model_path) return cli_error(CLI_USAGE, "validate: --manifest takes no MODEL/BUNDLE");
        return run_manifest(&c);
    }
    if (!c.base.model_path || !c.base.bundle_path) {
        fprintf(stderr, "%s\n", usage);
        return cli_error(CLI_USAGE, "validate: MODEL.onnx and BUNDLE.afb (or --manifest) required");
    }
    af_val_result r;
    int rc = run_component(&c.base, &r);
    if (rc == CLI_OK) rc = report(&c, &r, 1);
    af_val_result_free(&r);
    return rc;
}

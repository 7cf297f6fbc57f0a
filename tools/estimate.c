/* tools/estimate.c — `aneforge estimate BUNDLE.afb|MODEL.onnx --target TARGET|host [--json]
 * [--assume-weights ENC] [--top N] [--measure [--runs N] [--inputs DIR]]`: the roofline estimate per op and in
 * total, with the figures used, their sources and the rows they come from (a device's own
 * figures on its family row, see targets/resolve.c); a bundle without --target is estimated on
 * the target its metadata records. `--target host` probes this machine;
 * `--measure` (bundles only) also times af_session_run so the estimate can be compared. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../convert/placement.h"
#include "../importers/npy/npy.h"
#include "../targets/targets_internal.h"
#include "aneforge/runtime.h"
#include "cli.h"
#include "targets_cli.h"

typedef struct est_args {
    const char *path, *target, *inputs;
    int as_json, top, measure, runs, assume;
    af_shape_spec shapes[TCLI_MAX_SHAPES];
    char names[TCLI_MAX_SHAPES][256];
    int n_shapes;
} est_args;

static int parse_args(int argc, char **argv, est_args *a)
{
    a->top = 10;
    a->runs = 20;
    a->assume = -1;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_val = i + 1 < argc;
        long n;
        if (!strcmp(s, "--target") && has_val) a->target = argv[++i];
        else if (!strcmp(s, "--json")) a->as_json = 1;
        else if (!strcmp(s, "--measure")) a->measure = 1;
        else if (!strcmp(s, "--inputs") && has_val) a->inputs = argv[++i];
        else if ((!strcmp(s, "--top") || !strcmp(s, "--runs")) && has_val) {
            if ((n = cli_parse_count(argv[++i])) < 0 || n > 100000)
                return cli_error(CLI_USAGE, "bad %s '%s'", s, argv[i]);
            *(s[2] == 't' ? &a->top : &a->runs) = (int)n;
        } else if (!strcmp(s, "--assume-weights") && has_val) {
            a->assume = af_wenc_from_name(argv[++i]);
            if (a->assume < 0)
                return cli_error(CLI_USAGE, "unknown --assume-weights '%s' (known: fp32, fp16, int8, int4, sparse, blockwise)", argv[i]);
        } else if (!strcmp(s, "--input-shape") && has_val) {
            if (a->n_shapes == TCLI_MAX_SHAPES ||
                tcli_parse_shape(argv[++i], &a->shapes[a->n_shapes], &a->names[a->n_shapes]))
                return cli_error(CLI_USAGE, "bad --input-shape '%s' (want NAME=D0,D1,...)", argv[i]);
            a->n_shapes++;
        } else if (s[0] == '-') return cli_error(CLI_USAGE, "estimate: unknown or incomplete option '%s'", s);
        else if (!a->path) a->path = s;
        else return cli_error(CLI_USAGE, "estimate: unexpected argument '%s'", s);
    }
    size_t n = a->path ? strlen(a->path) : 0;
    int bundle = n >= 4 && !strcmp(a->path + n - 4, ".afb");
    if (!a->path || (!a->target && !bundle))
        return cli_error(CLI_USAGE, "usage: aneforge estimate BUNDLE.afb|MODEL.onnx --target FAMILY|CHIP|DEVICE|host [--json] "
                                    "(a bundle converted with --target defaults to its target)");
    if (a->inputs && !a->measure) return cli_error(CLI_USAGE, "estimate: --inputs goes with --measure");
    if (a->measure && !bundle)
        return cli_error(CLI_USAGE, "estimate: --measure needs a bundle (.afb)");
    return CLI_OK;
}

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Input i from DIR/<name>.npy, or seeded N(0,1) floats (zeros for other dtypes) without a DIR:
 * kernels can be slower on all-zero data (denormal paths), so zeros are not used for timing. */
static int set_input(af_session *s, const af_bundle *b, int i, const char *dir)
{
    af_tensor_info info;
    af_bundle_input_info(b, i, &info);
    af_err err = {0};
    af_npy n = {0};
    char path[4096];
    if (dir && (af_npy_path(dir, info.name, path, sizeof path, &err) != AF_OK ||
                af_npy_read_file(path, &n, &err) != AF_OK))
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    void *data = dir ? n.data : calloc(info.nbytes + 1, 1);
    if (!data) return cli_error(CLI_INTERNAL, "out of memory");
    if (!dir && info.dtype == AF_DTYPE_F32) af_target_fill_normal(data, (int64_t)(info.nbytes / 4), (uint64_t)i + 1);
    int rc = CLI_OK;
    if ((dir ? n.nbytes : info.nbytes) != info.nbytes || af_session_set_input(s, i, data, info.nbytes) != AF_OK)
        rc = cli_error(CLI_BAD_INPUT, "%s: input '%s' does not match the bundle", dir ? path : "seeded", info.name);
    if (dir) af_npy_free(&n);
    else free(data);
    return rc;
}

/* Median wall time and median process CPU time of af_session_run over runs (after 2 warm-up
 * runs), one thread (the runtime's default, as `aneforge run`). On a busy machine the wall time
 * includes waiting for a CPU; the CPU time is what the host probe compares with. */
static int measure(const char *path, const char *dir, int runs, double *median_ms, double *cpu_ms)
{
    char msg[600];
    af_bundle *b;
    af_session *s;
    af_status st = af_bundle_open(path, &b, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    if ((st = af_session_create(b, NULL, &s, msg, sizeof msg)) != AF_OK) {
        af_bundle_close(b);
        return cli_error(cli_exit_code(st), "%s: %s", path, msg);
    }
    double *t = calloc((size_t)runs * 2, sizeof *t), *c = t + runs;
    int rc = t ? CLI_OK : cli_error(CLI_INTERNAL, "out of memory");
    for (int i = 0; rc == CLI_OK && i < af_bundle_input_count(b); i++) rc = set_input(s, b, i, dir);
    for (int i = -2; rc == CLI_OK && i < runs; i++) {
        double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (af_session_run(s) != AF_OK) rc = cli_error(CLI_BAD_INPUT, "%s: %s", path, af_session_error(s));
        else if (i >= 0) {
            t[i] = now_ms(CLOCK_MONOTONIC) - t0;
            c[i] = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
        }
    }
    if (rc == CLI_OK) {
        *median_ms = median(t, runs);
        *cpu_ms = median(c, runs);
    }
    free(t);
    af_session_free(s);
    af_bundle_close(b);
    return rc;
}

/* Indices of the top n ops by time (descending; ties keep program order). */
static int top_ops(const af_cost_report *r, int *idx, int n)
{
    int k = 0;
    for (; k < n && k < r->n; k++) {
        int best = -1;
        for (int i = 0; i < r->n; i++) {
            int taken = 0;
            for (int m = 0; m < k && !taken; m++) taken = idx[m] == i;
            if (!taken && (best < 0 || r->ops[i].time_us > r->ops[best].time_us)) best = i;
        }
        idx[k] = best;
    }
    return k;
}

/* Which rows the figures come from and how many are sourced; nothing for the host. */
static void print_provenance(const af_target_provenance_info *p)
{
    if (!p) return;
    printf("  target: %s = %s, generation %s, family %s%s\n", p->name, p->chip, p->generation, p->family,
           p->extrapolated ? ": extrapolated from this anchor row (its generation has none)" : "");
    printf("    figures from the %s row: peak, bandwidth%s; the rest from %s; %d sourced, %d assumed "
           "(aneforge targets --provenance %s)\n",
           p->figures[0].row, strcmp(p->figures[0].row, p->family) ? ", the rates derived from the peak" : "",
           p->family, p->n_sourced, p->n_assumed, p->name);
    if (p->note[0]) printf("    note: %s\n", p->note);
}

static void print_text(const est_args *a, const af_target_family *f, const af_target_provenance_info *p,
                       const af_cost_report *r, double measured_ms, double cpu_ms)
{
    char buf[128];
    printf("%s on %s (%s): estimated %.3f ms (%.3f ms of it per-op floors), %d ops\n", a->path,
           f->name, f->chip, r->time_us / 1e3, r->floor_us / 1e3, r->n);
    print_provenance(p);
    printf("  %.4g GMAC, weights %.3f MB read (%s), activations %.3f MB moved\n", r->macs / 1e9,
           r->weight_bytes / 1e6, a->assume >= 0 ? af_wenc_table[a->assume].name : "as stored",
           r->act_bytes / 1e6);
    int idx[64], n = top_ops(r, idx, a->top < 64 ? a->top : 64);
    printf("  top ops:\n    %-32s %-14s %10s %10s %10s %9s\n", "node", "op", "MMAC", "MB", "us", "bound");
    for (int i = 0; i < n; i++) {
        const af_op_cost *c = &r->ops[idx[i]];
        printf("    %-32.32s %-14s %10.3f %10.4f %10.2f %9s\n", c->node, c->op, c->macs / 1e6,
               (c->act_bytes + c->weight_bytes) / 1e6, c->time_us, c->memory_bound ? "memory" : "compute");
    }
    printf("  figures:\n    peak %.4g TOPS, half at GEMM size %.3g: %s\n", f->peak_fp16_tops.value,
           f->gemm_half.value, f->peak_fp16_tops.source);
    printf("    elementwise %.4g TOPS: %s\n", f->vector_tops.value, f->vector_tops.source);
    printf("    exp-like %.4g G/s: %s\n", f->special_gops.value, f->special_gops.source);
    printf("    indexed taps %.4g G/s: %s\n", f->tap_gops.value, f->tap_gops.source);
    printf("    bandwidth %.4g GB/s: %s\n", f->dram_gbps.value, f->dram_gbps.source);
    printf("    weight bandwidth %.4g GB/s: %s\n", f->weight_gbps.value, f->weight_gbps.source);
    printf("    floor %.3g us/op: %s\n", f->op_floor_us.value, f->op_floor_us.source);
    printf("    native weights %s: %s\n", tcli_streams(f->native_streams, buf, sizeof buf),
           f->native_streams_source);
    double cpu, extra;
    int nf, np;
    if (af_placement_bundle_shares(a->path, r, &cpu, &extra, &nf, &np))
        printf("  precision placement: %d nodes fp32 on the CPU take %.1f %% of this estimate "
               "(off the ANE); %d paired fp16 nodes add %.1f %% (one more pass each)\n", nf,
               100 * cpu, np, 100 * extra);
    if (measured_ms >= 0)
        printf("  measured: median %.3f ms wall, %.3f ms CPU over %d runs of af_session_run "
               "(estimate/measured CPU %.2f)\n",
               measured_ms, cpu_ms, a->runs, r->time_us / 1e3 / cpu_ms);
}

static void print_json(const est_args *a, const af_target_family *f, const af_target_provenance_info *p,
                       const af_cost_report *r, double measured_ms, double cpu_ms)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "file", a->path);
    json_kv_str(&j, "target", p ? p->name : f->name);
    json_kv_str(&j, "target_family", f->name);
    json_kv_str(&j, "assume_weights", a->assume >= 0 ? af_wenc_table[a->assume].name : NULL);
    json_kv_num(&j, "time_ms", r->time_us / 1e3);
    json_kv_num(&j, "floor_ms", r->floor_us / 1e3);
    json_kv_num(&j, "macs", r->macs);
    json_kv_num(&j, "weight_bytes", r->weight_bytes);
    json_kv_num(&j, "act_bytes", r->act_bytes);
    if (measured_ms >= 0) {
        json_kv_num(&j, "measured_ms_median", measured_ms);
        json_kv_num(&j, "measured_cpu_ms_median", cpu_ms);
    }
    double cpu, extra;
    int nf, np;
    if (af_placement_bundle_shares(a->path, r, &cpu, &extra, &nf, &np)) {
        json_kv_int(&j, "fp32_nodes", nf);
        json_kv_num(&j, "cpu_time_share", cpu);
        json_kv_int(&j, "paired_fp16_nodes", np);
        json_kv_num(&j, "paired_time_extra", extra);
    }
    json_key(&j, "family");
    tcli_json_family(&j, f);
    if (p) { /* which figures were used, their sources and rows */
        json_key(&j, "provenance");
        tcli_json_provenance(&j, p);
    }
    json_key(&j, "ops");
    json_open(&j, '[');
    for (int i = 0; i < r->n; i++) {
        const af_op_cost *c = &r->ops[i];
        json_raw(&j, i ? ",{" : "{");
        j.need_comma = 0;
        json_kv_str(&j, "node", c->node);
        json_kv_str(&j, "op", c->op);
        json_kv_num(&j, "macs", c->macs);
        json_kv_num(&j, "ops", c->ops);
        json_kv_num(&j, "special", c->special);
        json_kv_num(&j, "taps", c->taps);
        json_kv_num(&j, "act_bytes", c->act_bytes);
        json_kv_num(&j, "weight_bytes", c->weight_bytes);
        json_kv_num(&j, "time_us", c->time_us);
        json_kv_str(&j, "bound", c->memory_bound ? "memory" : "compute");
        json_close(&j, '}');
    }
    json_close(&j, ']');
    json_close(&j, '}');
    if (json_ok(&j)) puts(j.buf);
    json_free(&j);
}

/* No --target: the target the bundle's metadata records (convert --target), resolved. */
static int recorded_target(est_args *a)
{
    char name[64];
    afb_file *f;
    af_err err = {0};
    if (afb_open_file(a->path, &f, &err) != AF_OK) return cli_error(cli_exit_code(err.code), "%s", err.msg);
    af_target t;
    int got = af_target_meta_read(f->meta_json, f->meta_len, &t, name, sizeof name);
    afb_close(f);
    if (got == 0) return cli_error(CLI_USAGE, "estimate: %s records no target (converted without --target): pass --target", a->path);
    if (got < 0) return cli_error(CLI_USAGE, "estimate: %s records target '%s', unknown to this build: pass --target", a->path, name);
    a->target = t.name; /* static: the table's spelling */
    return CLI_OK;
}

int cmd_estimate(int argc, char **argv)
{
    static est_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_args(argc, argv, &a);
    if (rc == CLI_OK && !a.target) rc = recorded_target(&a);
    if (rc != CLI_OK) return rc;
    af_target_family host;
    af_target t;
    af_target_provenance_info prov, *p = NULL;
    const af_target_family *f = NULL;
    char msg[600];
    af_status st;
    if (!strcmp(a.target, "host")) {
        if ((st = af_target_host_probe(&host, msg, sizeof msg)) != AF_OK)
            return cli_error(cli_exit_code(st), "%s", msg);
        f = &host;
    } else if ((rc = tcli_target(a.target, &t)) != CLI_OK) {
        return rc;
    } else {
        f = &t.figures;
        if (af_target_provenance(a.target, &prov, msg, sizeof msg) == AF_OK) p = &prov;
    }
    af_estimate_options o = {a.shapes, a.n_shapes, a.assume};
    af_cost_report r;
    if ((st = af_estimate_file(a.path, f, &o, &r, msg, sizeof msg)) != AF_OK)
        return cli_error(cli_exit_code(st), "%s", msg);
    double measured = -1, cpu = -1;
    if (a.measure) rc = measure(a.path, a.inputs, a.runs, &measured, &cpu);
    if (rc == CLI_OK) {
        if (a.as_json) print_json(&a, f, p, &r, measured, cpu);
        else print_text(&a, f, p, &r, measured, cpu);
    }
    af_cost_report_free(&r);
    return rc;
}

/* tools/targets.c — `aneforge targets [--json] [--peak | --provenance TARGET | --detect]`: the
 * ANE family and device tables with the source of every figure, the generational peak table,
 * where a target's figures come from, and the running machine's chip; plus the helpers the
 * check and estimate subcommands share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "targets_cli.h"

int tcli_parse_shape(const char *arg, af_shape_spec *spec, char (*name)[256])
{
    const char *eq = strrchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof *name) return -1;
    memcpy(*name, arg, (size_t)(eq - arg));
    (*name)[eq - arg] = '\0';
    spec->name = *name;
    spec->rank = cli_parse_dims(eq + 1, spec->dims, AF_MAX_RANK);
    return spec->rank < 0 ? -1 : 0;
}

int tcli_family(const char *name, const af_target_family **out)
{
    char msg[512];
    if (af_target_lookup(name, out, msg, sizeof msg) != AF_OK) return cli_error(CLI_USAGE, "%s", msg);
    return CLI_OK;
}

int tcli_target(const char *name, af_target *out)
{
    char msg[512];
    if (af_target_resolve(name, out, msg, sizeof msg) != AF_OK) return cli_error(CLI_USAGE, "%s", msg);
    return CLI_OK;
}

const char *tcli_streams(uint32_t mask, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int e = 0; e < AF_WENC_COUNT && used < size; e++)
        if (mask >> e & 1u) {
            int n = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", af_wenc_table[e].name);
            if (n < 0) break;
            used += (size_t)n;
        }
    return buf;
}

void tcli_json_figure(af_json *j, const char *key, const af_figure *f)
{
    json_key(j, key);
    json_open(j, '{');
    json_kv_num(j, "value", f->value);
    json_kv_str(j, "source", f->source);
    json_key(j, "assumed");
    json_raw(j, f->assumed ? "true" : "false");
    j->need_comma = 1;
    json_close(j, '}');
}

void tcli_json_family(af_json *j, const af_target_family *f)
{
    char buf[128];
    json_open(j, '{');
    json_kv_str(j, "name", f->name);
    json_kv_str(j, "alias", f->alias);
    json_kv_str(j, "chip", f->chip);
    tcli_json_figure(j, "peak_fp16_tops", &f->peak_fp16_tops);
    tcli_json_figure(j, "gemm_half", &f->gemm_half);
    tcli_json_figure(j, "vector_tops", &f->vector_tops);
    tcli_json_figure(j, "special_gops", &f->special_gops);
    tcli_json_figure(j, "tap_gops", &f->tap_gops);
    tcli_json_figure(j, "dram_gbps", &f->dram_gbps);
    tcli_json_figure(j, "weight_gbps", &f->weight_gbps);
    tcli_json_figure(j, "op_floor_us", &f->op_floor_us);
    tcli_json_figure(j, "act_bytes", &f->act_bytes);
    tcli_json_figure(j, "decompressed_bits", &f->decompressed_bits);
    json_kv_str(j, "native_streams", tcli_streams(f->native_streams, buf, sizeof buf));
    json_kv_str(j, "native_streams_source", f->native_streams_source);
    tcli_json_figure(j, "max_dim", &f->max_dim);
    tcli_json_figure(j, "max_rank", &f->max_rank);
    tcli_json_figure(j, "pool_kernel_max", &f->pool_kernel_max);
    tcli_json_figure(j, "pool_stride_max", &f->pool_stride_max);
    tcli_json_figure(j, "upsample_max", &f->upsample_max);
    tcli_json_figure(j, "dilation_max", &f->dilation_max);
    json_kv_str(j, "missing_ops", f->missing_ops);
    json_kv_str(j, "missing_ops_source", f->missing_ops_source);
    json_close(j, '}');
}

static void print_figure(const char *what, const af_figure *f, const char *unit)
{
    printf("  %-18s %-10.10g %-6s %s\n", what, f->value, unit, f->source); /* "assumed: ..." */
}

static void print_family(const af_target_family *f)
{
    char buf[128];
    printf("%s (%s) — %s\n", f->name, f->alias, f->chip);
    print_figure("peak fp16", &f->peak_fp16_tops, "TOPS");
    print_figure("GEMM half size", &f->gemm_half, "");
    print_figure("elementwise", &f->vector_tops, "TOPS");
    print_figure("exp-like", &f->special_gops, "G/s");
    print_figure("indexed taps", &f->tap_gops, "G/s");
    print_figure("DRAM bandwidth", &f->dram_gbps, "GB/s");
    print_figure("weight bandwidth", &f->weight_gbps, "GB/s");
    print_figure("per-op floor", &f->op_floor_us, "us");
    printf("  %-18s %-17s %s\n", "native weights", tcli_streams(f->native_streams, buf, sizeof buf),
           f->native_streams_source);
    print_figure("max dimension", &f->max_dim, "");
    print_figure("max rank", &f->max_rank, "");
    print_figure("pool kernel max", &f->pool_kernel_max, "");
    print_figure("pool stride max", &f->pool_stride_max, "");
    print_figure("upsample max", &f->upsample_max, "x");
    print_figure("dilation max", &f->dilation_max, "");
    if (f->missing_ops[0])
        printf("  %-18s %-17s %s\n", "below the floor", f->missing_ops, f->missing_ops_source);
}

void tcli_json_provenance(af_json *j, const af_target_provenance_info *p)
{
    json_open(j, '{');
    json_kv_str(j, "target", p->name);
    json_kv_str(j, "chip", p->chip);
    json_kv_str(j, "generation", p->generation);
    json_kv_str(j, "family", p->family);
    json_key(j, "extrapolated");
    json_raw(j, p->extrapolated ? "true" : "false");
    j->need_comma = 1;
    json_kv_str(j, "anchor", p->family);
    json_kv_str(j, "family_source", p->family_source);
    json_kv_str(j, "note", p->note);
    json_kv_int(j, "sourced", p->n_sourced);
    json_kv_int(j, "assumed", p->n_assumed);
    json_key(j, "figures");
    json_open(j, '[');
    for (int i = 0; i < p->n; i++) {
        const af_target_figure_row *r = &p->figures[i];
        json_raw(j, i ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "key", r->key);
        json_kv_str(j, "unit", r->unit);
        json_kv_num(j, "value", r->fig.value);
        json_kv_str(j, "source", r->fig.source);
        json_key(j, "assumed");
        json_raw(j, r->fig.assumed ? "true" : "false");
        j->need_comma = 1;
        json_kv_str(j, "row", r->row);
        json_close(j, '}');
    }
    json_close(j, ']');
    json_close(j, '}');
}

static void json_device(af_json *j, const af_target_device *d)
{
    json_open(j, '{');
    json_kv_str(j, "name", d->name);
    json_kv_str(j, "chip", d->chip);
    json_kv_str(j, "generation", d->generation);
    json_kv_str(j, "family", d->family);
    json_kv_str(j, "family_source", d->family_source);
    json_key(j, "extrapolated");
    json_raw(j, d->extrapolated ? "true" : "false");
    j->need_comma = 1;
    json_kv_int(j, "year", d->year);
    tcli_json_figure(j, "public_tops", &d->public_tops);
    tcli_json_figure(j, "peak_fp16_tops", &d->peak_fp16_tops);
    tcli_json_figure(j, "dram_gbps", &d->dram_gbps);
    tcli_json_figure(j, "ane_cores", &d->ane_cores);
    json_kv_str(j, "aliases", d->aliases);
    json_kv_str(j, "note", d->note);
    json_close(j, '}');
}

static int emit(af_json *j)
{
    int ok = json_ok(j);
    if (ok) puts(j->buf);
    json_free(j);
    return ok ? CLI_OK : cli_error(CLI_INTERNAL, "out of memory");
}

static const char *mark(const af_figure *f) { return f->assumed ? "*" : " "; }

static void print_devices(void)
{
    printf("devices (* = assumed; sources: aneforge targets --provenance NAME or --json)\n");
    printf("  %-8s %-11s %-4s %-6s %8s %9s %9s %6s  %s\n", "name", "chip", "gen", "family", "TOPS",
           "fp16 TOPS", "GB/s", "cores", "aliases");
    for (int i = 0; i < af_target_device_count(); i++) {
        const af_target_device *d = af_target_device_at(i);
        printf("  %-8s %-11s %-4s %-4s%-2s %7.4g%s %8.4g%s %8.4g%s %5.0f%s  %s\n", d->name, d->chip,
               d->generation, d->family, d->extrapolated ? "~" : "", d->public_tops.value,
               mark(&d->public_tops), d->peak_fp16_tops.value, mark(&d->peak_fp16_tops),
               d->dram_gbps.value, mark(&d->dram_gbps), d->ane_cores.value, mark(&d->ane_cores),
               d->aliases);
    }
    printf("  ~ = extrapolated: no family row of its own generation; the family shown is the anchor\n");
}

static int table(int as_json)
{
    if (as_json) {
        af_json j;
        json_init(&j);
        json_open(&j, '{');
        json_key(&j, "families");
        json_open(&j, '[');
        for (int i = 0; i < af_target_count(); i++) {
            if (i) json_raw(&j, ",");
            tcli_json_family(&j, af_target_at(i));
        }
        json_close(&j, ']');
        json_key(&j, "devices");
        json_open(&j, '[');
        for (int i = 0; i < af_target_device_count(); i++) {
            if (i) json_raw(&j, ",");
            json_device(&j, af_target_device_at(i));
        }
        json_close(&j, ']');
        json_kv_str(&j, "never_ane", af_target_never_ops);
        json_kv_str(&j, "never_ane_source", af_target_never_ops_source);
        json_kv_str(&j, "dtype_source", af_target_dtype_source);
        json_close(&j, '}');
        return emit(&j);
    }
    for (int i = 0; i < af_target_count(); i++) {
        print_family(af_target_at(i));
        putchar('\n');
    }
    print_devices();
    putchar('\n');
    printf("every family: never on the ANE: %s\n  %s\n", af_target_never_ops, af_target_never_ops_source);
    printf("every family: non-float activations run off the ANE\n  %s\n", af_target_dtype_source);
    printf("host: not a row; `estimate --target host` measures this machine\n");
    return CLI_OK;
}

/* The generational peak table: every device by generation, Apple's figure and the fp16 peak. */
static int peak_table(int as_json)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_key(&j, "peak");
    json_open(&j, '[');
    if (!as_json)
        printf("%-4s %-8s %-11s %-6s %9s %9s  %s\n", "gen", "target", "chip", "family", "public", "fp16",
               "fp16 source");
    int first = 1;
    for (int g = 0; g < 100; g++)
        for (int i = 0; i < af_target_device_count(); i++) {
            const af_target_device *d = af_target_device_at(i);
            if (atoi(d->generation + 1) != g) continue;
            if (!as_json) {
                printf("%-4s %-8s %-11s %-4s%-2s %8.4g%s %8.4g%s  %s\n", d->generation, d->name, d->chip,
                       d->family, d->extrapolated ? "~" : "", d->public_tops.value, mark(&d->public_tops),
                       d->peak_fp16_tops.value, mark(&d->peak_fp16_tops), d->peak_fp16_tops.source);
                continue;
            }
            if (!first) json_raw(&j, ",");
            first = 0;
            json_open(&j, '{');
            json_kv_str(&j, "target", d->name);
            json_kv_str(&j, "chip", d->chip);
            json_kv_str(&j, "generation", d->generation);
            json_kv_str(&j, "family", d->family);
            json_key(&j, "extrapolated");
            json_raw(&j, d->extrapolated ? "true" : "false");
            j.need_comma = 1;
            tcli_json_figure(&j, "public_tops", &d->public_tops);
            tcli_json_figure(&j, "peak_fp16_tops", &d->peak_fp16_tops);
            json_close(&j, '}');
        }
    json_close(&j, ']');
    json_close(&j, '}');
    if (!as_json) {
        json_free(&j);
        printf("public = Apple's headline Neural Engine ops/s (int8 from A17 Pro and M4 on); "
               "fp16 = what estimates use; * = assumed; ~ = extrapolated from the family shown\n");
        return CLI_OK;
    }
    return emit(&j);
}

static int provenance(const char *name, int as_json)
{
    af_target_provenance_info p;
    char msg[512];
    if (af_target_provenance(name, &p, msg, sizeof msg) != AF_OK) return cli_error(CLI_USAGE, "%s", msg);
    if (as_json) {
        af_json j;
        json_init(&j);
        tcli_json_provenance(&j, &p);
        return emit(&j);
    }
    printf("%s = %s, generation %s, family %s%s\n  family: %s\n", p.name, p.chip, p.generation, p.family,
           p.extrapolated ? " (extrapolated: the nearest family row is the anchor)" : "", p.family_source);
    if (p.note[0]) printf("  note: %s\n", p.note);
    printf("  %d figures sourced, %d assumed:\n", p.n_sourced, p.n_assumed);
    for (int i = 0; i < p.n; i++) {
        const af_target_figure_row *r = &p.figures[i];
        printf("    %-18s %10.4g %-5s %-8s from %-8s %s\n", r->key, r->fig.value, r->unit,
               r->fig.assumed ? "assumed" : "sourced", r->row, r->fig.source);
    }
    return CLI_OK;
}

static int detect(const char *model, const char *brand, int as_json)
{
    af_detect_result r;
    char msg[256];
    af_status st = model || brand ? af_detect_family(model, brand, &r) : af_detect_host(&r, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    if (as_json) {
        af_json j;
        json_init(&j);
        json_open(&j, '{');
        json_key(&j, "has_ane");
        json_raw(&j, r.has_ane ? "true" : "false");
        j.need_comma = 1;
        json_kv_str(&j, "device", r.device);
        json_kv_str(&j, "chip", r.chip);
        json_kv_str(&j, "generation", r.generation);
        json_kv_str(&j, "family", r.family);
        json_key(&j, "extrapolated");
        json_raw(&j, r.extrapolated ? "true" : "false");
        j.need_comma = 1;
        json_kv_str(&j, "why", r.why);
        json_close(&j, '}');
        return emit(&j);
    }
    if (!r.has_ane) printf("no ANE: %s\n", r.why);
    else
        printf("%s%s%s%s, generation %s, family %s%s\n  %s\n", r.chip, r.device[0] ? " (--target " : "",
               r.device, r.device[0] ? ")" : "", r.generation, r.family,
               r.extrapolated ? " (extrapolated: nearest family row)" : "", r.why);
    return CLI_OK;
}

#define TARGETS_USAGE \
    "usage: aneforge targets [--json] [--peak | --provenance TARGET | --detect [--hw-model S] [--brand S]]"

int cmd_targets(int argc, char **argv)
{
    int as_json = 0, peak = 0, det = 0;
    const char *prov = NULL, *model = NULL, *brand = NULL;
    for (int i = 1; i < argc; i++) {
        int has_val = i + 1 < argc;
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else if (!strcmp(argv[i], "--peak")) peak = 1;
        else if (!strcmp(argv[i], "--detect")) det = 1;
        else if (!strcmp(argv[i], "--provenance") && has_val) prov = argv[++i];
        else if (!strcmp(argv[i], "--hw-model") && has_val) model = argv[++i];
        else if (!strcmp(argv[i], "--brand") && has_val) brand = argv[++i];
        else return cli_error(CLI_USAGE, "targets: unknown or incomplete option '%s' (" TARGETS_USAGE ")", argv[i]);
    }
    if (peak + det + (prov != NULL) > 1) return cli_error(CLI_USAGE, "targets: one of --peak, --provenance, --detect (" TARGETS_USAGE ")");
    if ((model || brand) && !det) return cli_error(CLI_USAGE, "targets: --hw-model and --brand go with --detect");
    if (peak) return peak_table(as_json);
    if (prov) return provenance(prov, as_json);
    if (det) return detect(model, brand, as_json);
    return table(as_json);
}

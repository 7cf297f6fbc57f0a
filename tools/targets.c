/* tools/targets.c — `aneforge targets [--json]`: the ANE family table with the source of every
 * figure; plus the helpers the check and estimate subcommands share. */
#include <stdio.h>
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

int cmd_targets(int argc, char **argv)
{
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) as_json = 1;
        else return cli_error(CLI_USAGE, "targets: unknown option '%s' (usage: aneforge targets [--json])", argv[i]);
    }
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
        json_kv_str(&j, "never_ane", af_target_never_ops);
        json_kv_str(&j, "never_ane_source", af_target_never_ops_source);
        json_kv_str(&j, "dtype_source", af_target_dtype_source);
        json_close(&j, '}');
        int ok = json_ok(&j);
        if (ok) puts(j.buf);
        json_free(&j);
        return ok ? CLI_OK : cli_error(CLI_INTERNAL, "out of memory");
    }
    for (int i = 0; i < af_target_count(); i++) {
        print_family(af_target_at(i));
        putchar('\n');
    }
    printf("every family: never on the ANE: %s\n  %s\n", af_target_never_ops, af_target_never_ops_source);
    printf("every family: non-float activations run off the ANE\n  %s\n", af_target_dtype_source);
    printf("host: not a row; `estimate --target host` measures this machine\n");
    return CLI_OK;
}

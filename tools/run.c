/* tools/run.c — `aneforge run BUNDLE.afb --inputs DIR [--outputs DIR] [--threads N] [--fp16]`
 * [--stream-weights] [--expand-weights] (--fp16: emulate the ANE's fp16 activations,
 * af_session_options.fp16; --stream-weights: decode weights per layer on every run;
 * --expand-weights: no compressed panels, every weight widened to f32; af_bundle_options;
 * --int8-compute: int8 weights multiply in int8, af_session_options.int8_compute). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../graph/graph.h"
#include "../importers/npy/npy.h"
#include "aneforge/runtime.h"
#include "cli.h"

static int same_shape(const af_npy *n, const af_tensor_info *info)
{
    if (n->rank != info->rank) return 0;
    for (int k = 0; k < n->rank; k++)
        if (n->dims[k] != info->dims[k]) return 0;
    return 1;
}

static int load_input(af_session *s, const af_bundle *b, int i, const char *dir)
{
    af_tensor_info info;
    af_bundle_input_info(b, i, &info);
    char path[4096], ds[128], ns[128];
    af_npy n;
    af_err err = {0};
    if (af_npy_read_input(dir, info.name, &n, path, sizeof path, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    cli_warn_f64(n.from_f64, path);
    int rc = CLI_OK;
    if (n.dtype != info.dtype || !same_shape(&n, &info))
        rc = cli_error(CLI_BAD_INPUT, "%s: input '%s' must be %s%s, file holds %s%s", path,
                       info.name, af_dtype_name(info.dtype), af_shape_str(info.rank, info.dims, ds, sizeof ds),
                       af_dtype_name(n.dtype), af_shape_str(n.rank, n.dims, ns, sizeof ns));
    else if (af_session_set_input(s, i, n.data, n.nbytes) != AF_OK)
        rc = cli_error(CLI_INTERNAL, "%s", af_session_error(s));
    af_npy_free(&n);
    return rc;
}

static void print_summary(const af_tensor_info *info, const void *data)
{
    char ds[128];
    printf("%s: %s%s", info->name, af_dtype_name(info->dtype),
           af_shape_str(info->rank, info->dims, ds, sizeof ds));
    if (info->dtype != AF_DTYPE_F32 && info->dtype != AF_DTYPE_F16) { /* f16 I/O */
        putchar('\n');
        return;
    }
    size_t n = info->nbytes / af_dtype_size(info->dtype), arg = 0;
    double sum = 0, xa = 0;
    for (size_t k = 0; k < n; k++) {
        double v = af_dtype_get(info->dtype, data, k);
        sum += v;
        if (k == 0 || v > xa) arg = k, xa = v;
    }
    printf("  mean %.6g  max %.6g at %zu  first [", n ? sum / (double)n : 0.0, xa, arg);
    for (size_t k = 0; k < n && k < 5; k++)
        printf("%s%.6g", k ? ", " : "", af_dtype_get(info->dtype, data, k));
    printf("%s]\n", n > 5 ? ", ..." : "");
}

static int save_outputs(af_session *s, const af_bundle *b, const char *dir)
{
    if (dir && mkdir(dir, 0777) != 0 && errno != EEXIST)
        return cli_error(CLI_BAD_INPUT, "%s: cannot create the output folder: %s", dir, strerror(errno));
    for (int i = 0; i < af_bundle_output_count(b); i++) {
        const void *data;
        af_tensor_info info;
        af_session_get_output(s, i, &data, &info);
        if (!dir) {
            print_summary(&info, data);
            continue;
        }
        char fname[512], path[4096];
        snprintf(path, sizeof path, "%s/%s.npy", dir, af_npy_file_name(info.name, fname, sizeof fname));
        af_err err = {0};
        if (af_npy_write_file(path, info.dtype, info.rank, info.dims, data, &err) != AF_OK)
            return cli_error(cli_exit_code(err.code), "%s", err.msg);
    }
    return CLI_OK;
}

int cmd_run(int argc, char **argv)
{
    const char *bundle = NULL, *in_dir = NULL, *out_dir = NULL;
    af_session_options so = {0};
    so.n_threads = 1;
    af_bundle_options bo = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--inputs") && has_val) in_dir = argv[++i];
        else if (!strcmp(a, "--outputs") && has_val) out_dir = argv[++i];
        else if (!strcmp(a, "--fp16")) so.fp16 = 1;
        else if (!strcmp(a, "--stream-weights")) bo.stream_weights = 1;
        else if (!strcmp(a, "--expand-weights")) bo.expand_weights = 1;
        else if (!strcmp(a, "--int8-compute")) so.int8_compute = 1;
        else if (!strcmp(a, "--threads") && has_val) {
            long n = cli_parse_count(argv[++i]);
            if (n < 0 || n > 256) return cli_error(CLI_USAGE, "bad --threads '%s'", argv[i]);
            so.n_threads = (int)n;
        } else if (a[0] == '-') return cli_error(CLI_USAGE, "run: unknown or incomplete option '%s'", a);
        else if (!bundle) bundle = a;
        else return cli_error(CLI_USAGE, "run: unexpected argument '%s'", a);
    }
    if (!bundle || !in_dir)
        return cli_error(CLI_USAGE, "usage: aneforge run BUNDLE.afb --inputs DIR [--outputs DIR]");
    char msg[600];
    af_bundle *b;
    af_status st = af_bundle_open_ex(bundle, &bo, &b, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    af_session *s;
    st = af_session_create(b, &so, &s, msg, sizeof msg);
    if (st != AF_OK) {
        af_bundle_close(b);
        return cli_error(cli_exit_code(st), "%s: %s", bundle, msg);
    }
    int rc = CLI_OK;
    for (int i = 0; i < af_bundle_input_count(b) && rc == CLI_OK; i++) rc = load_input(s, b, i, in_dir);
    if (rc == CLI_OK && (st = af_session_run(s)) != AF_OK)
        rc = cli_error(cli_exit_code(st), "%s: %s", bundle, af_session_error(s));
    if (rc == CLI_OK) rc = save_outputs(s, b, out_dir);
    af_session_free(s);
    af_bundle_close(b);
    return rc;
}

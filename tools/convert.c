/* tools/convert.c — `aneforge convert MODEL.onnx -o OUT.afb [...]`. */
#include <stdio.h>
#include <string.h>

#include "aneforge/converter.h"
#include "cli.h"

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
           "%d batchnorms folded, %d activations fused)\n",
           r->opset, r->nodes_imported, r->nodes_lowered, r->folded, r->removed, r->bn_folded,
           r->act_fused);
    printf("  weights %.2f MB as %s (%.2f MB as fp32); activation arena %.2f MB "
           "(%.2f MB without reuse); bundle %.2f MB\n",
           r->weight_bytes / 1e6, o->compress, r->weight_bytes_fp32 / 1e6, r->arena_bytes / 1e6,
           r->naive_arena_bytes / 1e6, r->file_bytes / 1e6);
}

int cmd_convert(int argc, char **argv)
{
    af_convert_options o = {0};
    af_shape_spec shapes[MAX_SHAPES];
    int quiet = 0;
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
        } else if (!strcmp(a, "--no-fuse")) o.no_fuse = 1;
        else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-') return cli_error(CLI_USAGE, "convert: unknown or incomplete option '%s'", a);
        else if (!o.model_path) o.model_path = a;
        else return cli_error(CLI_USAGE, "convert: unexpected argument '%s'", a);
    }
    if (!o.model_path || !o.out_path)
        return cli_error(CLI_USAGE, "usage: aneforge convert MODEL.onnx -o OUT.afb [options]");
    if (af_compress_mode_from_name(o.compress) < 0)
        return cli_error(CLI_USAGE, "unknown --compress '%s' (known: fp32, fp16)", o.compress);
    if (o.target)
        return cli_error(CLI_USAGE, "--target: no ANE family table in this build yet");
    o.shapes = shapes;
    af_convert_report r;
    char msg[600];
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    if (!quiet) print_report(&o, &r);
    return CLI_OK;
}

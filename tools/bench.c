/* tools/bench.c — `aneforge bench BUNDLE.afb [--inputs DIR] [--threads N] [--runs N]
 * [--stream-weights] [--expand-weights] [--int8-compute] [--json] [--profile]`: load time
 * (bundle open → session ready), first run, median of the timed runs, peak RSS; --profile adds
 * time per node (bench_profile.c); --int8-compute runs with af_session_options.int8_compute and
 * then once more with f32 compute on the same inputs (after the timing, so peak RSS is the int8
 * session's), reporting each f32 output's PSNR, cosine, max abs and relative L2 error against
 * the f32-compute one (convert/metrics.h). Inputs come from DIR/<name>.npy, or are seeded
 * values in [-1, 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../convert/metrics.h"
#include "../graph/dtype.h"
#include "../importers/npy/npy.h"
#include "aneforge/runtime.h"
#include "bench_profile.h"
#include "cli.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* CPU time of the whole process (every thread's), ms. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Fills input i with DIR/<name>.npy, or with seeded values when dir is NULL. */
static int bench_input(af_session *s, const af_bundle *b, int i, const char *dir)
{
    af_tensor_info info;
    af_bundle_input_info(b, i, &info);
    if (dir) {
        char path[4096];
        af_npy n;
        af_err err = {0};
        if (af_npy_read_input(dir, info.name, &n, path, sizeof path, &err) != AF_OK)
            return cli_error(cli_exit_code(err.code), "%s", err.msg);
        cli_warn_f64(n.from_f64, path);
        af_status st = af_session_set_input(s, i, n.data, n.nbytes);
        af_npy_free(&n);
        if (st != AF_OK) return cli_error(CLI_BAD_INPUT, "%s: %s", path, af_session_error(s));
        return CLI_OK;
    }
    unsigned char *buf = malloc(info.nbytes ? info.nbytes : 1);
    if (!buf) return cli_error(CLI_INTERNAL, "out of memory for input '%s'", info.name);
    uint32_t state = 12345u + (uint32_t)i;
    if (info.dtype == AF_DTYPE_F32) {
        float *x = (float *)buf;
        for (size_t k = 0; k < info.nbytes / sizeof(float); k++) {
            state = state * 1664525u + 1013904223u;
            x[k] = (float)(state >> 8) / (float)(1u << 23) - 1.0f;
        }
    } else if (info.dtype == AF_DTYPE_F16) { /* the same values as halves */
        uint16_t *x = (uint16_t *)buf;
        for (size_t k = 0; k < info.nbytes / sizeof(uint16_t); k++) {
            state = state * 1664525u + 1013904223u;
            x[k] = af_f32_to_f16((float)(state >> 8) / (float)(1u << 23) - 1.0f);
        }
    } else {
        memset(buf, 0, info.nbytes);
    }
    af_status st = af_session_set_input(s, i, buf, info.nbytes);
    free(buf);
    if (st != AF_OK) return cli_error(CLI_INTERNAL, "%s", af_session_error(s));
    return CLI_OK;
}

typedef struct bench_args {
    const char *bundle, *in_dir;
    int threads, runs, json, stream, expand, profile, int8;
} bench_args;

static int parse_args(int argc, char **argv, bench_args *a)
{
    memset(a, 0, sizeof *a);
    a->threads = 1;
    a->runs = 10;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(s, "--inputs") && has_val) a->in_dir = argv[++i];
        else if (!strcmp(s, "--json")) a->json = 1;
        else if (!strcmp(s, "--stream-weights")) a->stream = 1;
        else if (!strcmp(s, "--expand-weights")) a->expand = 1;
        else if (!strcmp(s, "--int8-compute")) a->int8 = 1;
        else if (!strcmp(s, "--profile")) a->profile = 1;
        else if ((!strcmp(s, "--threads") || !strcmp(s, "--runs")) && has_val) {
            long n = cli_parse_count(argv[++i]);
            if (n < 0 || n > 100000) return cli_error(CLI_USAGE, "bad %s '%s'", s, argv[i]);
            if (!strcmp(s, "--threads")) a->threads = n > 256 ? 256 : (int)n;
            else a->runs = (int)n;
        } else if (s[0] == '-') return cli_error(CLI_USAGE, "bench: unknown or incomplete option '%s'", s);
        else if (!a->bundle) a->bundle = s;
        else return cli_error(CLI_USAGE, "bench: unexpected argument '%s'", s);
    }
    if (!a->bundle)
        return cli_error(CLI_USAGE, "usage: aneforge bench BUNDLE.afb [--inputs DIR] [--threads N] "
                                    "[--runs N] [--stream-weights] [--expand-weights] [--int8-compute] "
                                    "[--json] [--profile]");
    return CLI_OK;
}

static double median(double *t, int n)
{
    if (n <= 0) return 0;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* t: wall-clock ms of the timed runs, then (t + runs) their process CPU ms. */
static void report(const bench_args *a, double load, double first, double *t, size_t arena,
                   size_t wbytes)
{
    double *sorted = t, med = median(t, a->runs), cmed = median(t + a->runs, a->runs);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (a->json)
        printf("{\"bundle\": \"%s\", \"threads\": %d, \"runs\": %d, \"stream_weights\": %s, "
               "\"load_ms\": %.3f, \"first_run_ms\": %.3f, \"run_ms_median\": %.3f, "
               "\"run_ms_min\": %.3f, \"cpu_ms_median\": %.3f, \"cpu_ms_min\": %.3f, "
               "\"peak_rss_kb\": %ld, \"arena_bytes\": %zu, "
               "\"weight_bytes\": %zu, \"expand_weights\": %s, \"int8_compute\": %s%s",
               a->bundle, a->threads, a->runs, a->stream ? "true" : "false", load, first, med,
               sorted[0], cmed, t[a->runs], ru.ru_maxrss, arena, wbytes,
               a->expand ? "true" : "false",
               a->int8 ? "true" : "false", a->int8 ? "" : "}\n");
    else
        printf("%s: threads %d, runs %d%s\n  load %.3f ms  first run %.3f ms  median %.3f ms  "
               "min %.3f ms\n  peak RSS %ld KiB  arena+scratch %zu bytes  resident weights %zu "
               "bytes\n",
               a->bundle, a->threads, a->runs, a->stream ? ", streamed weights" : "", load,
               first, med, sorted[0], ru.ru_maxrss, arena, wbytes);
}

/* --int8-compute: s's outputs against a session with f32 compute on the same bundle and
 * inputs; one line per f32 output (text), or the "int8_vs_f32" list closing the JSON object. */
static int int8_accuracy(const bench_args *a, af_bundle *b, af_session *s)
{
    char msg[600];
    af_session *ref = NULL;
    af_session_options so = {.n_threads = a->threads};
    if (a->json) printf(", \"int8_vs_f32\": [");
    af_status st = af_session_create(b, &so, &ref, msg, sizeof msg);
    int rc = st == AF_OK ? CLI_OK : cli_error(cli_exit_code(st), "%s: %s", a->bundle, msg);
    for (int i = 0; i < af_bundle_input_count(b) && rc == CLI_OK; i++)
        rc = bench_input(ref, b, i, a->in_dir);
    if (rc == CLI_OK && (st = af_session_run(ref)) != AF_OK)
        rc = cli_error(cli_exit_code(st), "%s: %s", a->bundle, af_session_error(ref));
    if (!a->json && rc == CLI_OK) printf("  int8 compute against f32 compute:\n");
    for (int i = 0, n = 0; rc == CLI_OK && i < af_bundle_output_count(b); i++) {
        const void *x, *r;
        af_tensor_info xi, ri;
        af_session_get_output(s, i, &x, &xi);
        af_session_get_output(ref, i, &r, &ri);
        if (xi.dtype != AF_DTYPE_F32 || xi.nbytes != ri.nbytes) continue;
        af_metrics m;
        af_metrics_compute(r, x, xi.nbytes / sizeof(float), &m);
        if (a->json)
            printf("%s{\"output\": \"%s\", \"psnr\": %.3f, \"cosine\": %.8f, \"max_abs\": %.6g, "
                   "\"rel_l2\": %.6g}", n++ ? ", " : "", xi.name, m.psnr > 999 ? 999.0 : m.psnr,
                   m.cosine, m.max_abs, m.rel_l2);
        else
            printf("    %s: PSNR %.2f dB  cosine %.6f  max abs %.4g  rel L2 %.4g\n", xi.name,
                   m.psnr, m.cosine, m.max_abs, m.rel_l2);
    }
    if (a->json) printf("]}\n");
    af_session_free(ref);
    return rc;
}

int cmd_bench(int argc, char **argv)
{
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != CLI_OK) return rc;
    char msg[600];
    af_bundle *b;
    af_session *s;
    af_bundle_options bo = {.stream_weights = a.stream, .expand_weights = a.expand};
    af_session_options so = {.n_threads = a.threads, .int8_compute = a.int8};
    double t0 = now_ms();
    af_status st = af_bundle_open_ex(a.bundle, &bo, &b, msg, sizeof msg);
    if (st != AF_OK) return cli_error(cli_exit_code(st), "%s", msg);
    st = af_session_create(b, &so, &s, msg, sizeof msg);
    double load = now_ms() - t0;
    if (st != AF_OK) {
        af_bundle_close(b);
        return cli_error(cli_exit_code(st), "%s: %s", a.bundle, msg);
    }
    for (int i = 0; i < af_bundle_input_count(b) && rc == CLI_OK; i++)
        rc = bench_input(s, b, i, a.in_dir);
    double *times = calloc(2 * (size_t)a.runs + 1, sizeof *times), first = 0;
    bench_prof *prof = a.profile ? bench_prof_new() : NULL;
    if (rc == CLI_OK && (!times || (a.profile && !prof))) rc = cli_error(CLI_INTERNAL, "out of memory");
    for (int r = -1; rc == CLI_OK && r < a.runs; r++) {
        if (prof && r == 0) af_session_set_observer(s, bench_prof_observe, prof);
        if (prof) bench_prof_start(prof);
        double r0 = now_ms(), c0 = cpu_ms();
        if ((st = af_session_run(s)) != AF_OK)
            rc = cli_error(cli_exit_code(st), "%s: %s", a.bundle, af_session_error(s));
        double dt = now_ms() - r0, dc = cpu_ms() - c0;
        if (r < 0) first = dt;
        else times[r] = dt, times[a.runs + r] = dc;
    }
    if (rc == CLI_OK) report(&a, load, first, times, af_session_arena_bytes(s), af_session_weight_bytes(s));
    if (rc == CLI_OK && a.int8) rc = int8_accuracy(&a, b, s);
    if (rc == CLI_OK && prof) bench_prof_report(prof, 25);
    bench_prof_free(prof);
    free(times);
    af_session_free(s);
    af_bundle_close(b);
    return rc;
}

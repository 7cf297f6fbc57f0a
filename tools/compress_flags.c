/* tools/compress_flags.c — see compress_flags.h. */
#include "compress_flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../convert/compress_step.h"
#include "cli.h"

static int parse_int(const char *flag, const char *s, long lo, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < lo) {
        cli_error(CLI_USAGE, "%s '%s': want an integer >= %ld", flag, s, lo);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_num(const char *flag, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) {
        cli_error(CLI_USAGE, "%s '%s': want a number", flag, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* --min-cosine C, --min-topk P, --min-argmax P, --min-iou P: fractions in [0, 1]. 1 consumed,
 * 0 not one of them, -1 bad value. */
static int gate_flag(const char *a, const char *v, af_convert_options *o)
{
    static const char *const flags[] = {"--min-cosine", "--min-topk", "--min-argmax", "--min-iou"};
    double *dst[] = {&o->min_cosine, &o->min_topk, &o->min_argmax, &o->min_iou};
    for (int k = 0; k < 4; k++) {
        if (strcmp(a, flags[k])) continue;
        if (parse_num(a, v, dst[k])) return -1;
        if (*dst[k] < 0 || *dst[k] > 1) {
            cli_error(CLI_USAGE, "%s %s: want a fraction in [0, 1] (e.g. 0.99)", a, v);
            return -1;
        }
        return 1;
    }
    return 0;
}

/* --topk [OUT=]K, --argmax-axis [OUT=]A, --iou [OUT=]T. */
static int task_flag(const char *a, char *v, af_convert_options *o)
{
    static const char *const flags[] = {"--topk", "--argmax-axis", "--iou"};
    static af_task_spec specs[32];
    for (int k = 0; k < 3; k++) {
        if (strcmp(a, flags[k])) continue;
        char msg[400];
        if (o->n_tasks == 32) {
            cli_error(CLI_USAGE, "too many task measures (at most 32)");
            return -1;
        }
        if (af_task_spec_parse(v, (af_task_kind)(k + 1), &specs[o->n_tasks], msg, sizeof msg)) {
            cli_error(CLI_USAGE, "%s", msg);
            return -1;
        }
        o->tasks = specs;
        o->n_tasks++;
        return 1;
    }
    return 0;
}

/* The valued flags of the task gates; 1 consumed, 0 not one, -1 error. */
static int gates_flag(int argc, char **argv, int *i, af_convert_options *o)
{
    const char *a = argv[*i];
    static const char *const names[] = {"--min-cosine", "--min-topk", "--min-argmax", "--min-iou",
                                        "--topk", "--argmax-axis", "--iou"};
    int known = 0;
    for (int k = 0; k < 7; k++) known |= !strcmp(a, names[k]);
    if (!known) return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_USAGE, "%s needs a value", a);
        return -1;
    }
    int rc = gate_flag(a, argv[*i + 1], o);
    if (!rc) rc = task_flag(a, argv[*i + 1], o);
    if (rc > 0) ++*i;
    return rc;
}

/* --palette-bits N (checked with the mode in af_convert_check_compress), --palette-scale S.
 * 1 consumed, 0 not one of them, -1 bad value. */
static int palette_flag(int argc, char **argv, int *i, af_convert_options *o)
{
    const char *a = argv[*i];
    int bits = !strcmp(a, "--palette-bits");
    if (!bits && strcmp(a, "--palette-scale")) return 0;
    if (*i + 1 >= argc) {
        cli_error(CLI_USAGE, "%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    long n = 0;
    if (!bits) return o->palette_scale = v, 1;
    if (parse_int(a, v, 1, &n)) return -1;
    if (n > 8) {
        cli_error(CLI_USAGE, "--palette-bits %s: want 1, 2, 3, 4, 6 or 8", v);
        return -1;
    }
    o->palette_bits = (int)n;
    return 1;
}

int cli_compress_flag(int argc, char **argv, int *i, af_convert_options *o)
{
    const char *a = argv[*i];
    if (!strcmp(a, "--int8-asymmetric")) return o->int8_asymmetric = 1;
    if (!strcmp(a, "--int8-per-tensor")) return o->int8_per_tensor = 1;
    if (!strcmp(a, "--data-free")) return o->data_free = 1;
    int g = gates_flag(argc, argv, i, o);
    if (g) return g;
    static const char *const valued[] = {"--group-size", "--block-size", "--block-bits",
                                         "--sparsity", "--calib", "--max-size", "--min-psnr"};
    int k = -1;
    for (int j = 0; j < 7; j++)
        if (!strcmp(a, valued[j])) k = j;
    if (k < 0) return palette_flag(argc, argv, i, o);
    if (*i + 1 >= argc) {
        cli_error(CLI_USAGE, "%s needs a value", a);
        return -1;
    }
    const char *v = argv[++*i];
    long n = 0;
    int bad = 0;
    switch (k) {
    case 0: bad = parse_int(a, v, 0, &n); o->group_size = n ? (int)n : -1; break;
    case 1:
        bad = parse_int(a, v, 0, &n);
        if (!bad && (n < 8 || (n & (n - 1)) || n > 1 << 30)) {
            cli_error(CLI_USAGE, "--block-size %s is not a power of two >= 8", v);
            bad = -1;
        }
        o->block_size = (int)n;
        break;
    case 2:
        bad = parse_int(a, v, 0, &n);
        if (!bad && n != 4 && n != 8) {
            cli_error(CLI_USAGE, "--block-bits %s: want 4 or 8", v);
            bad = -1;
        }
        o->block_bits = (int)n;
        break;
    case 3: bad = parse_num(a, v, &o->sparsity); break;
    case 4: o->calib_dir = v; break;
    case 5: bad = parse_num(a, v, &o->max_size); break;
    default: bad = parse_num(a, v, &o->min_psnr); if (!bad && o->min_psnr <= 0) {
            cli_error(CLI_USAGE, "--min-psnr %s: want a positive value in dB", v);
            bad = -1;
        }
    }
    return bad ? -1 : 1;
}

int cli_compress_check(const af_convert_options *o)
{
    af_err err = {0};
    if (af_convert_check_compress(o, &err) != AF_OK) return cli_error(CLI_USAGE, "%s", err.msg);
    return 0;
}

/* ---- progress ---------------------------------------------------------------------------- */

typedef struct progress_state {
    int tty;
    double start;
    char stage[64];
    int shown;
} progress_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void show(void *user, const char *stage, uint64_t done, uint64_t total)
{
    progress_state *p = user;
    int new_stage = strcmp(stage, p->stage) != 0;
    if (new_stage) snprintf(p->stage, sizeof p->stage, "%s", stage);
    if (now_s() - p->start < 2.0) return; /* short conversions stay quiet */
    if (p->tty) {
        int w = 30, fill = total ? (int)((double)w * (double)done / (double)total) : w;
        if (fill > w) fill = w;
        fprintf(stderr, "\r%-20s [%.*s%*s] %llu/%llu", stage, fill,
                "##############################", w - fill, "", (unsigned long long)done,
                (unsigned long long)total);
        p->shown = 1;
    } else if (new_stage || done == total) {
        fprintf(stderr, "aneforge: %s: %llu/%llu\n", stage, (unsigned long long)done,
                (unsigned long long)total);
    }
    fflush(stderr);
}

void cli_compress_progress(af_convert_options *o)
{
    static progress_state st;
    st.tty = isatty(2);
    st.start = now_s();
    o->progress = show;
    o->progress_user = &st;
}

/* auto with task gates or measures: the final measures and which gate decided. */
static void print_gates(const af_convert_report *r)
{
    printf("  auto gates: decided by %s%s; cosine %.6f", r->decided_by,
           r->gates_met ? "" : " (NOT met: see the warning)", r->model_cosine);
    static const char *const names[] = {"top-1", "top-K", "argmax", "IoU"};
    const double v[] = {r->model_top1, r->model_topk, r->model_argmax, r->model_iou};
    for (int k = 0; k < 4; k++)
        if (!isnan(v[k])) printf(", %s %.4f", names[k], v[k]);
    printf(" (worst output, calibration data)\n");
}

void cli_compress_report(const af_convert_options *o, const af_convert_report *r, int quiet)
{
    progress_state *p = o->progress_user;
    if (p && p->shown) fputc('\n', stderr);
    if (r->compress_warning[0]) fprintf(stderr, "aneforge: warning: %s\n", r->compress_warning);
    if (quiet || af_compress_mode_from_name(o->compress) < AF_CMODE_INT8) return;
    printf("  compress %s: %d weight tensors compressed; weights %.3f of fp32",
           o->compress, r->weights_compressed,
           r->weight_bytes_fp32 ? (double)r->weight_bytes / (double)r->weight_bytes_fp32 : 0.0);
    if (!isnan(r->model_psnr_db))
        printf("; model output PSNR %.1f dB (%d layers promoted)", r->model_psnr_db,
               r->promotions);
    printf("\n");
    if (!isnan(r->model_psnr_db) && (o->n_tasks || o->min_cosine > 0)) print_gates(r);
}

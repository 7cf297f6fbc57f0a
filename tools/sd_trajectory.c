/* tools/sd_trajectory.c — `aneforge sd-trajectory UNET.afb [--steps N] [--cfg-scale S]
 * [--scheduler ddim] [--seed K] [--fp16] [--reference FP32.afb] [--cond DIR --uncond DIR]
 * [--min-psnr DB] [--threads N] [--json]`: N DDIM steps with classifier-free guidance, the
 * bundle as deployed vs in fp32, the latent measured after every step (convert/sd_trajectory.h
 * does the work). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../convert/sd_trajectory.h"
#include "cli.h"

typedef struct traj_cli {
    af_traj_options o;
    int json;
    double min_psnr;  /* 0 = no gate */
} traj_cli;

static int parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end || errno || !isfinite(*v) ? -1 : 0;
}

/* A non-negative whole number below 2^53 (exact in a double, as JSON readers see it). */
static int parse_seed(const char *s, uint64_t *v)
{
    double d;
    if (parse_number(s, &d) || d < 0 || d != floor(d) || d >= 9007199254740992.0) return -1;
    *v = (uint64_t)d;
    return 0;
}

/* One flag with a value (argv[*i] the flag); -1 when not one of them, else a CLI code. */
static int parse_valued(traj_cli *c, const char *a, const char *v)
{
    double d;
    if (!strcmp(a, "--steps")) {
        long n = cli_parse_count(v);
        if (n < 1 || n > AF_TRAJ_MAX_STEPS)
            return cli_error(CLI_USAGE, "bad --steps '%s' (want 1 to %d)", v, AF_TRAJ_MAX_STEPS);
        c->o.steps = (int)n;
    } else if (!strcmp(a, "--cfg-scale")) {
        if (parse_number(v, &d) || d < 0)
            return cli_error(CLI_USAGE, "bad --cfg-scale '%s' (want a number >= 0, e.g. 7.5)", v);
        c->o.cfg_scale = d;
    } else if (!strcmp(a, "--scheduler")) {
        if (strcmp(v, "ddim"))
            return cli_error(CLI_USAGE, "unknown --scheduler '%s' (sd-trajectory has ddim)", v);
    } else if (!strcmp(a, "--seed")) {
        if (parse_seed(v, &c->o.seed))
            return cli_error(CLI_USAGE, "bad --seed '%s' (want a whole number >= 0)", v);
    } else if (!strcmp(a, "--min-psnr")) {
        if (parse_number(v, &c->min_psnr))
            return cli_error(CLI_USAGE, "bad --min-psnr '%s' (want a number of dB)", v);
    } else if (!strcmp(a, "--threads")) {
        long n = cli_parse_count(v);
        if (n < 0 || n > 256) return cli_error(CLI_USAGE, "bad --threads '%s'", v);
        c->o.n_threads = (int)n;
    } else if (!strcmp(a, "--reference")) c->o.reference_path = v;
    else if (!strcmp(a, "--cond")) c->o.cond_dir = v;
    else if (!strcmp(a, "--uncond")) c->o.uncond_dir = v;
    else return -1;
    return CLI_OK;
}

static int parse_args(traj_cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--fp16")) c->o.fp16 = 1;
        else if (!strcmp(a, "--json")) c->json = 1;
        else if (a[0] == '-' && i + 1 < argc) {
            int rc = parse_valued(c, a, argv[i + 1]);
            if (rc < 0) return cli_error(CLI_USAGE, "sd-trajectory: unknown option '%s'", a);
            if (rc != CLI_OK) return rc;
            i++;
        } else if (a[0] == '-') {
            return cli_error(CLI_USAGE, "sd-trajectory: unknown or incomplete option '%s'", a);
        } else if (!c->o.bundle_path) {
            c->o.bundle_path = a;
        } else {
            return cli_error(CLI_USAGE, "sd-trajectory: unexpected argument '%s'", a);
        }
    }
    if (!c->o.bundle_path)
        return cli_error(CLI_USAGE, "usage: aneforge sd-trajectory UNET.afb [--steps N] "
                         "[--cfg-scale S] [--seed K] [--fp16] [--json]");
    if (!c->o.cond_dir != !c->o.uncond_dir)
        return cli_error(CLI_USAGE, "sd-trajectory: --cond DIR and --uncond DIR go together");
    return CLI_OK;
}

static void fmt_psnr(double p, char *buf, size_t size)
{
    if (isnan(p)) snprintf(buf, size, "nan");
    else if (isinf(p)) snprintf(buf, size, p > 0 ? "inf" : "-inf");
    else snprintf(buf, size, "%.2f", p);
}

static void print_table(const traj_cli *c, const af_traj_result *r)
{
    const af_traj_options *o = &c->o;
    printf("%s: %d DDIM steps (eta 0, SD-1.5 scaled-linear schedule), guidance scale %g, seed "
           "%llu\n", o->bundle_path, o->steps, o->cfg_scale, (unsigned long long)o->seed);
    if (o->fp16)
        printf("  deployed: fp16 emulation, placement %d nodes fp32, %d paired fp16", r->n_fp32,
               r->n_paired);
    else printf("  deployed: fp32 (no --fp16)");
    printf("; reference: %s in fp32\n", o->reference_path ? o->reference_path : o->bundle_path);
    printf("  cond: %s; uncond: %s\n", o->cond_dir ? o->cond_dir : "seeded N(0,1)",
           o->uncond_dir ? o->uncond_dir : "zeros");
    printf("  %4s %5s %9s %10s %10s %10s\n", "step", "t", "psnr_db", "rel_drift", "max_abs",
           "ref_max");
    char p[32];
    for (int k = 0; k < r->steps; k++) {
        const af_traj_step *s = &r->step[k];
        fmt_psnr(s->m.psnr, p, sizeof p);
        printf("  %4d %5d %9s %10.3g %10.3g %10.4g\n", k + 1, s->t, p, s->m.rel_l2, s->m.max_abs,
               s->ref_max_abs);
    }
    const af_traj_step *f = &r->step[r->steps - 1];
    fmt_psnr(f->m.psnr, p, sizeof p);
    printf("final latent: PSNR %s dB, relative drift %.3g (reference |max| %.4g)\n", p, f->m.rel_l2,
           f->ref_max_abs);
}

int cmd_sd_trajectory(int argc, char **argv)
{
    static traj_cli c;
    memset(&c, 0, sizeof c);
    c.o.steps = 20;
    c.o.cfg_scale = 7.5;
    c.o.n_threads = 1;
    int rc = parse_args(&c, argc, argv);
    if (rc != CLI_OK) return rc;
    af_traj_result r;
    af_err err = {0};
    if (af_sd_trajectory(&c.o, &r, &err) != AF_OK)
        return cli_error(cli_exit_code(err.code), "%s", err.msg);
    double final = r.step[r.steps - 1].m.psnr;
    if (c.json) {
        char *j = af_traj_json(&c.o, &r, c.min_psnr);
        if (!j) rc = cli_error(CLI_INTERNAL, "out of memory");
        else puts(j);
        free(j);
    } else {
        print_table(&c, &r);
    }
    if (rc == CLI_OK && c.min_psnr != 0 && !(final >= c.min_psnr)) {
        char p[32]; /* with --json the document says it ("passed": 0) */
        fmt_psnr(final, p, sizeof p);
        if (!c.json)
            printf("FAIL: %s: final latent PSNR %s dB < --min-psnr %.2f dB\n", c.o.bundle_path,
                   p, c.min_psnr);
        rc = CLI_CHECK_FAILED;
    }
    af_traj_result_free(&r);
    return rc;
}

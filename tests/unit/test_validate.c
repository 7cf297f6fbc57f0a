/* tests/unit/test_validate.c — fp16 activation emulation, the session observer, --image-input
 * parsing, and the validation engine and its reports (convert/validate.h) on committed models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../convert/validate.h"
#include "../../graph/dtype.h"
#include "../../runtime/fp16_round.h"
#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "aneforge/validate.h"
#include "check.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static int same_float(float a, float b)
{
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* The branch-free rounding must agree with the reference half conversion bit for bit. */
static void test_f16_round(void)
{
    int bad = 0;
    uint32_t first_bad = 0;
    for (uint64_t u = 0; u <= 0xFFFFFFFFu; u += 4093) {
        float x = from_bits((uint32_t)u);
        if (!same_float(af_f16_round(x), af_f16_to_f32(af_f32_to_f16(x))) && !bad++)
            first_bad = (uint32_t)u;
    }
    static const float special[] = {0.0f, -0.0f, 65504.0f, 65519.99f, 65520.0f, -65520.0f,
                                    6.1035156e-05f, 5.9604645e-08f, 2.9802322e-08f,
                                    2.9802326e-08f, 1e-10f, 1.0f / 3.0f, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++)
        if (!same_float(af_f16_round(special[i]), af_f16_to_f32(af_f32_to_f16(special[i]))) &&
            !bad++)
            memcpy(&first_bad, &special[i], 4);
    CHECK(bad == 0, "%d mismatches, first bits 0x%08x", bad, first_bad);
    CHECK(isinf(af_f16_round(70000.0f)), "70000 must overflow to Inf");
    CHECK(isnan(af_f16_round(NAN)), "NaN stays NaN");
}

/* hi + lo: within 2^-22 relative (hi keeps 11 bits, lo 11 more) while lo is a normal half, within
 * 2^-25 absolute below (lo's subnormal step 2^-24, half of it by rounding); Inf beyond the range. */
static void test_pair_round(void)
{
    uint64_t st = 7;
    int bad = 0, inexact = 0;
    for (int i = 0; i < 200000; i++) {
        st = st * 6364136223846793005ull + 1442695040888963407ull;
        double mag = pow(10.0, (double)(st >> 11) * 0x1p-53 * 10 - 6); /* 1e-6 .. 1e4 */
        float x = (float)((st & 1) ? mag : -mag);
        float y = af_f16_pair_round(x);
        double e = fabs((double)y - x), lim = fmax(0x1p-22 * fabs((double)x), 0x1p-25);
        if (!(e <= lim) && !bad++) fprintf(stderr, "pair(%.9g) = %.9g\n", x, y);
        inexact += y != x;
        double eh = fabs((double)af_f16_round(x) - x); /* lo is not 0 beyond 2^-23 */
        if (eh > 0x1p-23 && !(e < eh)) bad++;
    }
    CHECK(!bad, "%d pairs beyond 2^-22 relative / 2^-25 absolute or no better than a half", bad);
    CHECK(inexact > 0, "a pair of halves cannot hold every float");
    CHECK(isinf(af_f16_pair_round(70000.0f)), "70000 overflows the pair too");
    CHECK(isnan(af_f16_pair_round(NAN)), "NaN stays NaN");
    float v[4] = {1.0f + 0x1p-20f, 3.0f, 70000.0f, 0.1f}, w[4];
    memcpy(w, v, sizeof v);
    af_prec_round_buf(AF_PREC_FP32, w, 4);
    CHECK(!memcmp(v, w, sizeof v), "fp32 placement keeps values");
}

static int convert_to(const char *model, const char *out, const char *compress, int no_fuse)
{
    af_convert_options o = {0};
    o.model_path = model;
    o.out_path = out;
    o.compress = compress;
    o.no_fuse = no_fuse;
    char msg[512];
    af_status st = af_convert(&o, NULL, msg, sizeof msg);
    if (st != AF_OK) fprintf(stderr, "convert %s: %s\n", model, msg);
    return st == AF_OK;
}

typedef struct seen {
    int events, not_half, last_index;
    int ordered;
    int by_mode[3];  /* f32 events per rounding (AF_PREC_*) */
} seen;

static void observe(void *user, const af_node_event *ev)
{
    seen *s = user;
    s->events++;
    if (ev->node_index < s->last_index) s->ordered = 0;
    s->last_index = ev->node_index;
    if (ev->info.dtype != AF_DTYPE_F32) return;
    if (ev->rounding >= 0 && ev->rounding < 3) s->by_mode[ev->rounding]++;
    const float *x = ev->data;
    for (size_t i = 0; i < ev->info.nbytes / 4; i++)
        if (!same_float(x[i], af_f16_round(x[i]))) s->not_half++;
}

static seen run_observed_prec(af_bundle *b, int fp16, const uint8_t *prec, const float *in,
                              size_t nbytes, float *out0)
{
    seen s = {0, 0, -1, 1, {0, 0, 0}};
    af_session_options so = {0};
    so.fp16 = fp16;
    so.node_precision = prec;
    af_session *ss;
    char msg[256];
    if (af_session_create(b, &so, &ss, msg, sizeof msg) != AF_OK) return s;
    af_session_set_observer(ss, observe, &s);
    af_session_set_input(ss, 0, in, nbytes);
    CHECK(af_session_run(ss) == AF_OK, "run: %s", af_session_error(ss));
    const void *o;
    af_tensor_info oi;
    if (out0 && af_session_get_output(ss, 0, &o, &oi) == AF_OK) memcpy(out0, o, oi.nbytes);
    af_session_free(ss);
    return s;
}

static seen run_observed(af_bundle *b, int fp16, const float *in, size_t nbytes)
{
    return run_observed_prec(b, fp16, NULL, in, nbytes, NULL);
}

/* Placement under fp16 emulation: every node fp32 = the fp32 run bit for bit; every node paired:
 * every f32 tensor stored as pairs; one node fp32 whose readers stay fp16: its output still
 * halves (a tensor is stored at the lowest precision of its writer and readers). */
static void test_session_placement(af_bundle *b, const float *in, size_t nbytes)
{
    int n = af_bundle_node_count(b);
    uint8_t *prec = malloc((size_t)n);
    float o32[64], o16[64];
    memset(prec, AF_PREC_FP32, (size_t)n);
    run_observed_prec(b, 0, NULL, in, nbytes, o32);
    seen a = run_observed_prec(b, 1, prec, in, nbytes, o16);
    CHECK(!memcmp(o32, o16, sizeof(float) * 16), "all fp32 placed differs from the fp32 run");
    CHECK(a.by_mode[AF_PREC_FP16] == 0 && a.by_mode[AF_PREC_PAIRED] == 0, "all fp32: %d fp16 events",
          a.by_mode[AF_PREC_FP16]);
    memset(prec, AF_PREC_PAIRED, (size_t)n);
    seen p = run_observed_prec(b, 1, prec, in, nbytes, NULL);
    CHECK(p.by_mode[AF_PREC_PAIRED] > 0 && p.by_mode[AF_PREC_FP16] == 0, "all paired: %d/%d",
          p.by_mode[AF_PREC_PAIRED], p.by_mode[AF_PREC_FP16]);
    memset(prec, AF_PREC_FP16, (size_t)n);
    prec[0] = AF_PREC_FP32; /* the first node alone: its readers are fp16 */
    seen one = run_observed_prec(b, 1, prec, in, nbytes, NULL);
    CHECK(one.not_half == 0 && one.by_mode[AF_PREC_FP32] == 0, "a lone fp32 node: %d not halves",
          one.not_half);
    free(prec);
}

/* With fp16 on, every f32 activation the observer sees is a half value; without, some are not. */
static void test_session_fp16_and_observer(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/mlp32.afb", dir);
    if (!convert_to("../models/tiny_mlp/model.onnx", path, "fp32", 1)) {
        CHECK(0, "conversion failed");
        return;
    }
    af_bundle *b;
    char msg[256];
    CHECK(af_bundle_open(path, &b, msg, sizeof msg) == AF_OK, "%s", msg);
    af_tensor_info info;
    af_bundle_input_info(b, 0, &info);
    float *in = malloc(info.nbytes);
    for (size_t i = 0; i < info.nbytes / 4; i++) in[i] = 0.1f + 0.37f * (float)i; /* not halves */
    seen s32 = run_observed(b, 0, in, info.nbytes), s16 = run_observed(b, 1, in, info.nbytes);
    CHECK(s32.events >= 6 && s32.events == s16.events, "events %d / %d", s32.events, s16.events);
    CHECK(s32.ordered && s16.ordered, "events in program order");
    CHECK(s32.not_half > 0, "fp32 run should hold non-half values");
    CHECK(s16.not_half == 0, "fp16 run: %d values not rounded to half", s16.not_half);
    test_session_placement(b, in, info.nbytes);
    free(in);
    af_bundle_close(b);
}

static void test_image_input_parse(void)
{
    af_image_input_spec sp;
    char msg[256];
    CHECK(af_image_input_parse("input:scale=0.5,bias=1,2,3", &sp, msg, sizeof msg) == AF_OK, "%s", msg);
    CHECK(!strcmp(sp.name, "input") && sp.n_scale == 1 && sp.scale[0] == 0.5f && sp.n_bias == 3 &&
          sp.bias[2] == 3.0f, "parsed %s %d %d", sp.name, sp.n_scale, sp.n_bias);
    CHECK(af_image_input_parse("a:b:bias=-1,scale=2,3,4", &sp, msg, sizeof msg) == AF_OK, "%s", msg);
    CHECK(!strcmp(sp.name, "a:b") && sp.n_scale == 3 && sp.scale[2] == 4.0f && sp.bias[0] == -1.0f,
          "names with ':' and key order");
    const char *bad[] = {"input", ":scale=1", "x:scale=", "x:scale=1,,2", "x:gain=2",
                         "x:scale=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(af_image_input_parse(bad[i], &sp, msg, sizeof msg) == AF_ERR_USAGE, "accepted '%s'",
              bad[i]);
}

static int file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}

/* tiny_mlp: its own fp32 no-fuse program is identical at every layer; the fp16 bundle is close. */
static void test_validate_tiny_mlp(const char *dir)
{
    char b32[512], b16[512], svg[512], js[512];
    snprintf(b32, sizeof b32, "%s/mlp_nofuse.afb", dir);
    snprintf(b16, sizeof b16, "%s/mlp16.afb", dir);
    if (!convert_to("../models/tiny_mlp/model.onnx", b32, "fp32", 1) ||
        !convert_to("../models/tiny_mlp/model.onnx", b16, "fp16", 0)) {
        CHECK(0, "conversion failed");
        return;
    }
    af_val_options o = {0};
    o.model_path = "../models/tiny_mlp/model.onnx";
    o.bundle_path = b32;
    o.inputs_dir = "../models/tiny_mlp/inputs";
    o.reference_dir = "../models/tiny_mlp/reference";
    o.per_layer = 1;
    af_val_result r[2];
    af_err err = {0};
    CHECK(af_validate_run(&o, &r[0], &err) == AF_OK, "%s", err.msg);
    CHECK(r[0].n_outputs == 2 && r[0].n_layers >= 6, "%d outputs, %d layers", r[0].n_outputs,
          r[0].n_layers);
    for (int i = 0; i < r[0].n_layers; i++)
        CHECK(isinf(r[0].layers[i].m.psnr) && r[0].layers[i].m.psnr > 0, "layer %s: %g dB",
              r[0].layers[i].name, r[0].layers[i].m.psnr);
    /* ONNX Runtime vs our fp32 program: float32 kernels in another order; 80 dB as in
     * tests/e2e/cnn_small.sh */
    CHECK(r[0].outputs[0].has_expected && r[0].outputs[0].m_ref_expected.psnr > 80, "vs ORT %g",
          r[0].outputs[0].m_ref_expected.psnr);
    o.bundle_path = b16;
    o.fp16 = 1;
    o.inputs_dir = NULL; /* seeded random inputs */
    o.seed = 4;
    o.reference_dir = NULL;
    CHECK(af_validate_run(&o, &r[1], &err) == AF_OK, "%s", err.msg);
    /* fp16 weights and activations on a 2-layer MLP with N(0,1) inputs: ~11 bits of mantissa,
     * PSNR far above 40 dB yet not exact */
    for (int i = 0; i < r[1].n_outputs; i++)
        CHECK(r[1].outputs[i].m.psnr > 40 && isfinite(r[1].outputs[i].m.psnr), "%s: %g dB",
              r[1].outputs[i].name, r[1].outputs[i].m.psnr);
    CHECK(af_val_worst_layer(&r[1]) >= 0, "a worst layer");
    CHECK(af_val_passes(&r[1], 40) && !af_val_passes(&r[1], 500), "threshold");
    snprintf(svg, sizeof svg, "%s/plot.svg", dir);
    snprintf(js, sizeof js, "%s/report.json", dir);
    CHECK(af_val_write_svg(svg, r, 2, 45, &err) == AF_OK, "%s", err.msg);
    af_gates g;
    af_gates_none(&g);
    g.min_psnr = 45;
    CHECK(af_val_write_json(js, r, 2, &g, &err) == AF_OK, "%s", err.msg);
    CHECK(file_has(svg, "</svg>") && file_has(svg, "stroke-dasharray") &&
          file_has(svg, "<polyline"), "svg content");
    CHECK(file_has(js, "\"components\":[{") && file_has(js, "\"worst_layer\":"), "json content");
    af_val_result_free(&r[0]);
    af_val_result_free(&r[1]);
}

/* overflow_mlp: 'hidden' exceeds 65504 in fp32; with fp16 activations the bundle turns
 * non-finite there, and the output fails any threshold. */
static void test_validate_overflow(const char *dir)
{
    char b[512];
    snprintf(b, sizeof b, "%s/ovf.afb", dir);
    if (!convert_to("../models/overflow_mlp/model.onnx", b, "fp16", 0)) {
        CHECK(0, "conversion failed");
        return;
    }
    af_val_options o = {0};
    o.model_path = "../models/overflow_mlp/model.onnx";
    o.bundle_path = b;
    o.inputs_dir = "../models/overflow_mlp/inputs";
    o.fp16 = 1;
    af_val_result r;
    af_err err = {0};
    CHECK(af_validate_run(&o, &r, &err) == AF_OK, "%s", err.msg);
    CHECK(r.n_overflow >= 1 && !strcmp(r.overflow[0].name, "hidden") && r.overflow[0].count == 8,
          "overflow list: %d, first %s", r.n_overflow, r.n_overflow ? r.overflow[0].name : "-");
    CHECK(r.first_nonfinite != NULL, "the fp16 bundle must go non-finite");
    CHECK(!af_val_passes(&r, 0), "a NaN/Inf output fails any threshold");
    af_val_result_free(&r);
}

/* The public API's guidance measure (models/cfg_cancel, tests/e2e/cfg.sh has the figures):
 * c passes 65 dB, the guided output does not, and the report is the CLI's document. */
static void test_validate_api_cfg(const char *dir)
{
    char b[512], msg[512];
    snprintf(b, sizeof b, "%s/cfg.afb", dir);
    if (!convert_to("../models/cfg_cancel/model.onnx", b, "fp16", 0)) {
        CHECK(0, "conversion failed");
        return;
    }
    af_validate_options o = {0};
    o.model_path = "../models/cfg_cancel/model.onnx";
    o.bundle_path = b;
    o.fp16 = 1;
    o.min_psnr = 65;
    o.cond_dir = "../models/cfg_cancel/cfg/cond";
    o.uncond_dir = "../models/cfg_cancel/cfg/uncond";
    af_validation *v = NULL;
    CHECK(af_validate(&o, &v, msg, sizeof msg) == AF_OK, "af_validate: %s", msg);
    if (!v) return;
    const char *j = af_validation_json(v);
    CHECK(j && strstr(j, "\"cfg_scale\":7.5") && strstr(j, "\"guided\":{\"psnr_db\":58."),
          "guidance report: %.200s", j ? j : "(null)");
    CHECK(!af_validation_passed(v), "the guided output passes 65 dB");
    CHECK(af_validation_write_svg(v, "/dev/null", msg, sizeof msg) == AF_ERR_USAGE, "a plot");
    af_validation_free(v);
    o.uncond_dir = "/nonexistent";
    CHECK(af_validate(&o, &v, msg, sizeof msg) != AF_OK && strstr(msg, "/nonexistent"),
          "a missing input set: %s", msg);
}

int main(void)
{
    char dir[] = "/tmp/af_test_validate_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    test_f16_round();
    test_pair_round();
    test_session_fp16_and_observer(dir);
    test_image_input_parse();
    test_validate_tiny_mlp(dir);
    test_validate_overflow(dir);
    test_validate_api_cfg(dir);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return check_report("validate");
}

/* tests/unit/test_wino_session.c — a session runs a compressed 3x3 conv weight by Winograd,
 * transformed on every run from its compressed panels into the session's shared buffer
 * (runtime/kernels/wino_weights.c; ctx.shared sized by af_kernel_shared_bytes), with the
 * outputs of the decode-at-open path (expand_weights: decoded, transformed once), byte for
 * byte, at 1 and 2 threads.
 *
 * models/sd_resnet (the reduced SD ResnetBlock2D: two 3x3 convs) is converted with int4 and
 * int8 weights. Its transformed weights are small, so the default rules keep them resident;
 * here afk_cw_wino_max is 0 (nothing resident) and Winograd forced (afk_wino_mode 1: F(4x4)),
 * so both convs take the per-run transform. Were the compressed session to run them as direct
 * GEMMs instead (no shared buffer, say), the sums would round otherwise and differ.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "check.h"
#include "importers/npy/npy.h"
#include "runtime/kernels/cpanel.h"
#include "runtime/kernels/internal.h"

enum { MAX_OUT = 4 };

/* Runs bundle b on inputs x (sample, temb) at n threads; copies of the outputs into out
 * (caller frees). */
static int run(af_bundle *b, const af_npy *x, int n, void **out, size_t *bytes)
{
    char msg[512];
    af_session *s = NULL;
    af_session_options opt = {0};
    opt.n_threads = n;
    af_status st = af_session_create(b, &opt, &s, msg, sizeof msg);
    CHECK(st == AF_OK, "session: %s", msg);
    if (st) return -1;
    st = af_session_set_input(s, af_bundle_find_input(b, "sample"), x[0].data, x[0].nbytes);
    if (!st) st = af_session_set_input(s, af_bundle_find_input(b, "temb"), x[1].data, x[1].nbytes);
    if (!st) st = af_session_run(s);
    CHECK(st == AF_OK, "run: %s", af_session_error(s));
    int k = 0;
    for (; !st && k < af_bundle_output_count(b) && k < MAX_OUT; k++) {
        const void *d;
        af_tensor_info info;
        CHECK(af_session_get_output(s, k, &d, &info) == AF_OK, "output %d", k);
        out[k] = malloc(info.nbytes ? info.nbytes : 1);
        memcpy(out[k], d, info.nbytes);
        bytes[k] = info.nbytes;
    }
    af_session_free(s);
    return st ? -1 : k;
}

static void one(const char *dir, const char *enc, const af_npy *x)
{
    char path[256], msg[512];
    snprintf(path, sizeof path, "%s/%s.afb", dir, enc);
    af_convert_options o = {0};
    o.model_path = "../models/sd_resnet/model.onnx";
    o.out_path = path;
    o.compress = enc;
    af_convert_report r;
    CHECK(af_convert(&o, &r, msg, sizeof msg) == AF_OK, "convert %s: %s", enc, msg);
    af_bundle *bc = NULL, *be = NULL;
    af_bundle_options eo = {0};
    eo.expand_weights = 1;
    CHECK(af_bundle_open(path, &bc, msg, sizeof msg) == AF_OK, "open: %s", msg);
    CHECK(af_bundle_open_ex(path, &eo, &be, msg, sizeof msg) == AF_OK, "open expanded: %s", msg);
    unlink(path);
    if (!bc || !be) return;
    void *ref[MAX_OUT] = {0}, *got[MAX_OUT] = {0};
    size_t rb[MAX_OUT], gb[MAX_OUT];
    int n = run(be, x, 1, ref, rb);
    for (int t = 1; t <= 2 && n > 0; t++) {
        int m = run(bc, x, t, got, gb);
        CHECK(m == n, "%s: outputs", enc);
        for (int k = 0; k < n && k < m; k++) {
            CHECK(gb[k] == rb[k] && !memcmp(got[k], ref[k], rb[k]),
                  "%s, %d thread(s): output %d of the per-run transform differs from the "
                  "decode-at-open path", enc, t, k);
            free(got[k]);
        }
    }
    for (int k = 0; k < n; k++) free(ref[k]);
    af_bundle_close(bc), af_bundle_close(be);
}

int main(void)
{
    if (!afk_pgemm_nr()) return check_report("wino_session (no packed GEMM here)");
    char dir[] = "/tmp/af_wino_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    af_npy x[2];
    af_err err;
    af_err_clear(&err);
    af_status st = af_npy_read_file("../models/sd_resnet/inputs/sample.npy", &x[0], &err);
    if (!st) st = af_npy_read_file("../models/sd_resnet/inputs/temb.npy", &x[1], &err);
    CHECK(st == AF_OK, "inputs: %s", err.msg);
    if (!st) {
        afk_cw_wino_max = 0, afk_wino_mode = 1;
        one(dir, "int4", x);
        one(dir, "int8", x);
        af_npy_free(&x[0]), af_npy_free(&x[1]);
    }
    rmdir(dir);
    return check_report("wino_session");
}

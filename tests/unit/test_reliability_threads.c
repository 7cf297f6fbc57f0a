/* tests/unit/test_reliability_threads.c — one bundle shared by several sessions on several
 * threads gives the same results as one session alone (docs/reliability.md).
 *
 * models/small_cnn is converted (fp16, so the bundle also holds the widened weight buffers
 * every session reads) and opened once. A reference output comes from one session on the main
 * thread; then THREADS threads each create their own session on the shared af_bundle and run
 * it RUNS times with their own copy of the input, comparing every output byte for byte with
 * the reference (same program, same kernels, same input: any difference is a data race or
 * shared mutable state). `make check-tsan` builds and runs this test under ThreadSanitizer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "check.h"
#include "importers/npy/npy.h"

#define THREADS 4
#define RUNS 3

static af_bundle *bundle;
static af_npy input;
static void *ref[16];
static size_t ref_bytes[16];
static int n_out;

typedef struct worker {
    int id;
    int mismatches;
    int failures;
    char msg[512];
} worker;

/* Runs one session once; copies of the outputs go to out[] when out is not NULL, else each
 * output is compared with ref[]. Returns the number of outputs that differ (-1 on failure). */
static int run_once(af_session *s, void **out, char *msg, size_t msz)
{
    if (af_session_set_input(s, 0, input.data, input.nbytes) != AF_OK ||
        af_session_run(s) != AF_OK) {
        snprintf(msg, msz, "%s", af_session_error(s));
        return -1;
    }
    int diff = 0;
    for (int k = 0; k < n_out; k++) {
        const void *d;
        af_tensor_info info;
        if (af_session_get_output(s, k, &d, &info) != AF_OK) return -1;
        if (out) {
            out[k] = malloc(info.nbytes ? info.nbytes : 1);
            memcpy(out[k], d, info.nbytes);
            ref_bytes[k] = info.nbytes;
        } else if (info.nbytes != ref_bytes[k] || memcmp(d, ref[k], info.nbytes) != 0) {
            diff++;
        }
    }
    return diff;
}

static void *work(void *arg)
{
    worker *w = arg;
    af_session *s = NULL;
    af_session_options opt = {0};
    opt.n_threads = 1 + w->id % 2; /* the thread-count hint must not change results either */
    if (af_session_create(bundle, &opt, &s, w->msg, sizeof w->msg) != AF_OK) {
        w->failures++;
        return NULL;
    }
    for (int r = 0; r < RUNS; r++) {
        int d = run_once(s, NULL, w->msg, sizeof w->msg);
        if (d < 0) w->failures++;
        else w->mismatches += d;
    }
    af_session_free(s);
    return NULL;
}

static int setup(char *dir)
{
    char out[256], msg[512];
    snprintf(out, sizeof out, "%s/cnn.afb", dir);
    af_convert_options o = {0};
    o.model_path = "../models/small_cnn/model.onnx";
    o.out_path = out;
    o.compress = "fp16";
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert: %s", msg);
    if (st) return -1;
    st = af_bundle_open(out, &bundle, msg, sizeof msg);
    unlink(out); /* the mapping stays valid */
    CHECK(st == AF_OK, "open: %s", msg);
    if (st) return -1;
    af_err err;
    af_err_clear(&err);
    st = af_npy_read_file("../models/small_cnn/inputs/input.npy", &input, &err);
    CHECK(st == AF_OK, "input: %s", err.msg);
    n_out = af_bundle_output_count(bundle);
    CHECK(af_bundle_input_count(bundle) == 1 && n_out >= 1 && n_out <= 16, "small_cnn I/O");
    return st == AF_OK ? 0 : -1;
}

int main(void)
{
    char dir[] = "/tmp/af_threads_XXXXXX";
    if (!mkdtemp(dir)) return 1;
    if (setup(dir) == 0) {
        char msg[512];
        af_session *s = NULL;
        CHECK(af_session_create(bundle, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
        if (s) CHECK(run_once(s, ref, msg, sizeof msg) == 0, "reference run: %s", msg);
        af_session_free(s);

        pthread_t th[THREADS];
        worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].id = i;
            CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0, "pthread_create %d", i);
        }
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            CHECK(w[i].failures == 0, "thread %d: %d failed runs: %s", i, w[i].failures,
                  w[i].msg);
            CHECK(w[i].mismatches == 0, "thread %d: %d outputs differ from the reference", i,
                  w[i].mismatches);
        }
        printf("reliability_threads: %d threads x %d runs on one shared bundle, outputs "
               "byte-identical to a single session\n", THREADS, RUNS);
    }
    for (int k = 0; k < n_out; k++) free(ref[k]);
    af_npy_free(&input);
    af_bundle_close(bundle);
    rmdir(dir);
    return check_report("reliability_threads");
}

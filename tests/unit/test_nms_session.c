/* tests/unit/test_nms_session.c — NonMaxSuppression's data-dependent row count through the
 * public API: the bundle's output info holds the capacity (batches x classes x
 * min(max_output_boxes_per_class, boxes) rows), each run of one session reports the rows it
 * selected in af_session_get_output, the rows change with the data between runs, and a node
 * reading the NMS output (a Cast) runs on those rows.
 * Selected indices are integers: compared exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "check.h"

#define D "data/onnx/"

/* Runs s on boxes/scores; returns the rows reported (-1 on failure), copying them to sel. */
static int run_rows(af_session *s, const float *boxes, const float *scores, int64_t *sel)
{
    const void *data;
    af_tensor_info info;
    if (af_session_set_input(s, 0, boxes, 16 * sizeof(float)) != AF_OK ||
        af_session_set_input(s, 1, scores, 8 * sizeof(float)) != AF_OK ||
        af_session_run(s) != AF_OK || af_session_get_output(s, 0, &data, &info) != AF_OK) {
        fprintf(stderr, "  session: %s\n", af_session_error(s));
        return -1;
    }
    if (info.rank != 2 || info.dims[1] != 3 || info.nbytes != (size_t)info.dims[0] * 24)
        return -1;
    memcpy(sel, data, info.nbytes);
    return (int)info.dims[0];
}

static void test_rows(const char *afb)
{
    char msg[512];
    af_convert_options o = {0};
    o.model_path = D "nms.onnx";
    o.out_path = afb;
    o.compress = "fp32";
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert: %s", msg);
    if (st) return;
    af_bundle *b;
    af_session *s;
    af_tensor_info cap;
    if (af_bundle_open(afb, &b, msg, sizeof msg) != AF_OK) {
        CHECK(0, "open: %s", msg);
        return;
    }
    CHECK(af_bundle_output_info(b, 0, &cap) == AF_OK && cap.dims[0] == 4 && cap.dims[1] == 3,
          "capacity %lld", (long long)cap.dims[0]);
    CHECK(af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
    /* boxes 0 and 1 overlap (IoU 0.6), 2 and 3 are apart */
    float boxes[16] = {0, 0, 1, 1, 0, 0, 1, 0.6f, 2, 2, 3, 3, 5, 5, 6, 6};
    float scores[8] = {0.9f, 0.8f, 0.05f, 0.7f, /* class 1: */ 0.05f, 0.05f, 0.05f, 0.05f};
    int64_t sel[12], want1[6] = {0, 0, 0, 0, 0, 3};
    int n = run_rows(s, boxes, scores, sel);
    CHECK(n == 2 && !memcmp(sel, want1, sizeof want1), "run 1: %d rows", n);
    /* every score above the threshold in both classes: 2 + 2 rows (the capacity) */
    float scores2[8] = {0.2f, 0.3f, 0.4f, 0.5f, 0.9f, 0.2f, 0.8f, 0.7f};
    int64_t want2[12] = {0, 0, 3, 0, 0, 2, 0, 1, 0, 0, 1, 2};
    n = run_rows(s, boxes, scores2, sel);
    CHECK(n == 4 && !memcmp(sel, want2, sizeof want2), "run 2: %d rows", n);
    float none[8] = {0};
    n = run_rows(s, boxes, none, sel);
    CHECK(n == 0, "run 3: %d rows, want 0", n);
    af_session_free(s);
    af_bundle_close(b);
}

/* NMS's rows read by a Cast: the Cast runs on the rows of each run (docs/dynamic-shapes.md). */
static void test_consumed(const char *afb)
{
    char msg[512];
    af_convert_options o = {0};
    o.model_path = D "nms_consumed.onnx";
    o.out_path = afb;
    o.compress = "fp32";
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert: %d: %s", (int)st, msg);
    af_bundle *b;
    af_session *s;
    if (st || af_bundle_open(afb, &b, msg, sizeof msg) != AF_OK) return;
    CHECK(af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
    float boxes[16] = {0, 0, 1, 1, 0, 0, 1, 0.6f, 2, 2, 3, 3, 5, 5, 6, 6};
    float scores[8] = {0.9f, 0.8f, 0.05f, 0.7f, 0.05f, 0.05f, 0.05f, 0.05f}, none[8] = {0};
    float want[6] = {0, 0, 0, 0, 0, 3};
    const void *data;
    af_tensor_info info;
    for (int run = 0; run < 2; run++) {
        int ok = af_session_set_input(s, 0, boxes, sizeof boxes) == AF_OK &&
                 af_session_set_input(s, 1, run ? none : scores, sizeof scores) == AF_OK &&
                 af_session_run(s) == AF_OK && af_session_get_output(s, 0, &data, &info) == AF_OK;
        CHECK(ok, "run %d: %s", run, af_session_error(s));
        if (!ok) break;
        int64_t rows = run ? 0 : 2;
        CHECK(info.rank == 2 && info.dims[0] == rows && info.dims[1] == 3 &&
                  info.nbytes == (size_t)rows * 3 * sizeof(float) &&
                  (run || !memcmp(data, want, sizeof want)),
              "run %d: %lld rows", run, (long long)info.dims[0]);
    }
    af_session_free(s);
    af_bundle_close(b);
}

int main(void)
{
    char afb[64];
    snprintf(afb, sizeof afb, "/tmp/af_nms_%ld.afb", (long)getpid());
    test_rows(afb);
    test_consumed(afb);
    unlink(afb);
    return check_report("test_nms_session");
}

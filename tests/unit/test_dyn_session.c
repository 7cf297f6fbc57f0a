/* tests/unit/test_dyn_session.c — data-dependent row counts through a graph
 * (docs/dynamic-shapes.md), several runs of one session: data/dynamic/dyn_topk.onnx keeps the
 * rows with score > 0.5 (NonZero), transforms them, and takes the top k = min(5, rows) by
 * 2*score+1 with their boxes (box - 0.5) * 10. Runs with 7, 0, 2 and 64 rows in that order (a
 * run after a larger one, an empty one between) must each report their own shapes and values,
 * computed here in C: values are one f32 multiply and add (exact to compare), indices and the
 * NonZero coordinates integers. data/dynamic/dyn_loop.onnx loops once per kept row (a trip count
 * known at run time only, unrolled to its capacity): the same session runs 20, 0, 3 and 64
 * rows and must give each run's running sum of 2*row (the same f32 adds in row order) and its
 * rows + i. data/dynamic/dyn_paste.onnx pastes a map resized to each kept row's box (its
 * values clipped to a 12x12 image: bounded, so planned at the bound and read on every run)
 * into a 12x12 canvas: the same session runs 20, 0, 3, 64 and 5 rows; each canvas must be
 * non-zero exactly on the box's pixels inside the image (the map is positive), its top-left
 * pixel the map's (1.0: half-pixel upsampling clamps there). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aneforge/converter.h"
#include "aneforge/runtime.h"
#include "check.h"

#define S 64
#define K 5

/* The expected outputs for scores/boxes: top rows by score (distinct scores), their count. */
static int expect_top(const float *scores, int *top)
{
    int n = 0, sel[S];
    for (int i = 0; i < S; i++)
        if (scores[i] > 0.5f) sel[n++] = i;
    int k = n < K ? n : K;
    for (int j = 0; j < k; j++) { /* selection sort of the rows by descending score */
        int best = j;
        for (int t = j + 1; t < n; t++)
            if (scores[sel[t]] > scores[sel[best]]) best = t;
        int tmp = sel[j];
        sel[j] = sel[best], sel[best] = tmp;
        top[j] = sel[j];
    }
    return n;
}

/* Output index by name (the bundle keeps the graph's order, but names are the contract). */
static int out_index(const af_bundle *b, const char *name)
{
    int i = af_bundle_find_output(b, name);
    CHECK(i >= 0, "no output '%s'", name);
    return i;
}

static void check_run(af_bundle *b, af_session *s, const float *scores, const float *boxes)
{
    int top[K], n = expect_top(scores, top), k = n < K ? n : K;
    const void *d[4];
    af_tensor_info info[4];
    const char *names[4] = {"vals", "ids", "top_boxes", "nz"};
    int ok = af_session_set_input(s, 0, scores, S * sizeof(float)) == AF_OK &&
             af_session_set_input(s, 1, boxes, S * 4 * sizeof(float)) == AF_OK &&
             af_session_run(s) == AF_OK;
    for (int i = 0; ok && i < 4; i++)
        ok = af_session_get_output(s, out_index(b, names[i]), &d[i], &info[i]) == AF_OK;
    CHECK(ok, "%d rows: %s", n, af_session_error(s));
    if (!ok) return;
    CHECK(info[0].rank == 1 && info[0].dims[0] == k && info[0].nbytes == (size_t)k * 4,
          "%d rows: vals has %lld", n, (long long)info[0].dims[0]);
    CHECK(info[1].rank == 1 && info[1].dims[0] == k, "%d rows: ids has %lld", n,
          (long long)info[1].dims[0]);
    CHECK(info[2].rank == 2 && info[2].dims[0] == k && info[2].dims[1] == 4, "%d rows: boxes",
          n);
    CHECK(info[3].rank == 2 && info[3].dims[0] == 1 && info[3].dims[1] == n, "%d rows: nz %lld",
          n, (long long)info[3].dims[1]);
    if (info[0].dims[0] != k || info[2].dims[0] != k || info[3].dims[1] != n) return;
    const float *v = d[0], *bx = d[2];
    const int64_t *ids = d[1], *nz = d[3];
    for (int j = 0; j < k; j++) {
        int row = top[j];
        /* ids index the kept rows (NonZero order = ascending row) */
        CHECK(nz[ids[j]] == row, "%d rows: top %d is row %lld, want %d", n, j,
              (long long)nz[ids[j]], row);
        volatile float m = scores[row] * 2.0f; /* rounded apart, as the two ONNX nodes */
        CHECK(v[j] == m + 1.0f, "%d rows: value %d", n, j);
        for (int c = 0; c < 4; c++) {
            volatile float t = boxes[row * 4 + c] - 0.5f;
            CHECK(bx[j * 4 + c] == t * 10.0f, "%d rows: box %d", n, j);
        }
    }
}

/* scores with `rows` entries above 0.5 (distinct values), spread by a fixed stride. */
static void make_scores(float *scores, int rows)
{
    for (int i = 0; i < S; i++) scores[i] = 0.001f * (float)i; /* all below 0.5 */
    for (int j = 0; j < rows; j++) scores[(j * 37) % S] = 0.55f + 0.005f * (float)j;
}

/* model converted (fp32) to afb and opened; 0 (checked) when any step fails. */
static int open_model(const char *model, const char *afb, af_bundle **b)
{
    char msg[512];
    af_convert_options o = {0};
    o.model_path = model;
    o.out_path = afb;
    o.compress = "fp32";
    af_convert_report r;
    af_status st = af_convert(&o, &r, msg, sizeof msg);
    CHECK(st == AF_OK, "convert %s: %s", model, msg);
    if (st) return 0;
    st = af_bundle_open(afb, b, msg, sizeof msg);
    CHECK(st == AF_OK, "open %s: %s", afb, msg);
    return st == AF_OK;
}

static void test_runs(const char *afb)
{
    char msg[512];
    af_bundle *b;
    af_session *s;
    if (!open_model("data/dynamic/dyn_topk.onnx", afb, &b)) return;
    af_tensor_info cap;
    CHECK(af_bundle_output_info(b, out_index(b, "vals"), &cap) == AF_OK && cap.dims[0] == K,
          "vals capacity %lld, want %d", (long long)cap.dims[0], K);
    CHECK(af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
    float scores[S], boxes[S * 4];
    for (int i = 0; i < S * 4; i++) boxes[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    static const int rows[] = {7, 0, 2, 64, 5};
    for (size_t t = 0; t < sizeof rows / sizeof rows[0]; t++) {
        make_scores(scores, rows[t]);
        check_run(b, s, scores, boxes);
    }
    af_session_free(s);
    af_bundle_close(b);
}

static void check_loop_run(af_bundle *b, af_session *s, const float *scores, const float *boxes)
{
    int n = 0, sel[S];
    for (int i = 0; i < S; i++)
        if (scores[i] > 0.5f) sel[n++] = i;
    const void *d[2];
    af_tensor_info info[2];
    int ok = af_session_set_input(s, 0, scores, S * sizeof(float)) == AF_OK &&
             af_session_set_input(s, 1, boxes, S * 4 * sizeof(float)) == AF_OK &&
             af_session_run(s) == AF_OK &&
             af_session_get_output(s, out_index(b, "acc_final"), &d[0], &info[0]) == AF_OK &&
             af_session_get_output(s, out_index(b, "rows"), &d[1], &info[1]) == AF_OK;
    CHECK(ok, "loop, %d rows: %s", n, af_session_error(s));
    if (!ok) return;
    CHECK(info[1].rank == 2 && info[1].dims[0] == n && info[1].dims[1] == 4,
          "loop, %d rows: rows has %lld", n, (long long)info[1].dims[0]);
    if (info[1].dims[0] != n) return;
    const float *acc = d[0], *rows = d[1];
    for (int c = 0; c < 4; c++) {
        volatile float sum = 0.0f;
        for (int j = 0; j < n; j++) sum = sum + boxes[sel[j] * 4 + c] * 2.0f;
        CHECK(acc[c] == sum, "loop, %d rows: sum %d is %g, want %g", n, c, acc[c], sum);
        for (int j = 0; j < n; j++) {
            volatile float want = boxes[sel[j] * 4 + c] + (float)j;
            CHECK(rows[j * 4 + c] == want, "loop, %d rows: row %d", n, j);
        }
    }
}

static void test_loop_runs(const char *afb)
{
    char msg[512];
    af_bundle *b;
    af_session *s;
    if (!open_model("data/dynamic/dyn_loop.onnx", afb, &b)) return;
    CHECK(af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
    float scores[S], boxes[S * 4];
    for (int i = 0; i < S * 4; i++) boxes[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
    static const int rows[] = {20, 0, 3, 64};
    for (size_t t = 0; t < sizeof rows / sizeof rows[0]; t++) {
        make_scores(scores, rows[t]);
        check_loop_run(b, s, scores, boxes);
    }
    af_session_free(s);
    af_bundle_close(b);
}

/* Row j's integer box (x0, y0, x1, y1) as dyn_paste.onnx computes it in f32. */
static void paste_box(const float *b, int64_t *box)
{
    for (int c = 0; c < 4; c++) {
        float p = b[c % 2], q = b[2 + c % 2];
        volatile float v = (c < 2 ? (p < q ? p : q) : (p < q ? q : p)) * 4.0f;
        v = v + 6.0f;
        v = v < 0.0f ? 0.0f : v > 12.0f ? 12.0f : v;
        box[c] = (int64_t)v;
    }
}

static void check_paste(const float *canvas, const int64_t *box, int j)
{
    int64_t x0 = box[0], y0 = box[1], x1 = box[2] + 1 < 12 ? box[2] + 1 : 12;
    int64_t y1 = box[3] + 1 < 12 ? box[3] + 1 : 12;
    int bad = 0;
    for (int y = 0; y < 12; y++)
        for (int x = 0; x < 12; x++) {
            int in = y >= y0 && y < y1 && x >= x0 && x < x1;
            bad += in != (canvas[y * 12 + x] != 0.0f);
        }
    CHECK(!bad, "paste, row %d: %d pixels off the box [%lld,%lld)x[%lld,%lld)", j, bad,
          (long long)y0, (long long)y1, (long long)x0, (long long)x1);
    if (box[3] > box[1] && box[2] > box[0]) /* h, w >= 2: an upsampling */
        CHECK(canvas[y0 * 12 + x0] == 1.0f, "paste, row %d: top-left %g", j,
              canvas[y0 * 12 + x0]);
}

static void test_paste_runs(const char *afb)
{
    char msg[512];
    af_bundle *b;
    af_session *s;
    if (!open_model("data/dynamic/dyn_paste.onnx", afb, &b)) return;
    CHECK(af_session_create(b, NULL, &s, msg, sizeof msg) == AF_OK, "session: %s", msg);
    float scores[S], boxes[S * 4];
    for (int i = 0; i < S * 4; i++) boxes[i] = (float)((i * 7919) % 101) / 25.0f - 2.0f;
    static const int rows[] = {20, 0, 3, 64, 5};
    for (size_t t = 0; t < sizeof rows / sizeof rows[0]; t++) {
        make_scores(scores, rows[t]);
        const void *d;
        af_tensor_info info;
        int ok = af_session_set_input(s, 0, scores, sizeof scores) == AF_OK &&
                 af_session_set_input(s, 1, boxes, sizeof boxes) == AF_OK &&
                 af_session_run(s) == AF_OK &&
                 af_session_get_output(s, out_index(b, "canvases"), &d, &info) == AF_OK;
        CHECK(ok, "paste, %d rows: %s", rows[t], af_session_error(s));
        if (!ok) continue;
        CHECK(info.rank == 3 && info.dims[0] == rows[t] && info.dims[1] == 12 &&
              info.dims[2] == 12, "paste, %d rows: %lld canvases", rows[t],
              (long long)info.dims[0]);
        if (info.dims[0] != rows[t]) continue;
        for (int i = 0, j = 0; i < S; i++) {
            if (!(scores[i] > 0.5f)) continue;
            int64_t box[4];
            paste_box(&boxes[i * 4], box);
            check_paste((const float *)d + (size_t)j * 144, box, j);
            j++;
        }
    }
    af_session_free(s);
    af_bundle_close(b);
}

int main(void)
{
    char afb[64];
    snprintf(afb, sizeof afb, "/tmp/af_dyn_%ld.afb", (long)getpid());
    test_runs(afb);
    test_loop_runs(afb);
    test_paste_runs(afb);
    unlink(afb);
    return check_report("test_dyn_session");
}

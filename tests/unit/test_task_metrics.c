/* tests/unit/test_task_metrics.c — the task measures of convert/metrics.h (top-K, argmax, IoU)
 * on hand-computed cases, their tie and NaN rules, accumulation over several tensors, and the
 * gates and per-output spec rules of convert/gates.h. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../convert/gates.h"
#include "../../convert/metrics.h"
#include "check.h"

static void test_topk(void)
{
    /* row 0: reference argmax 1; the bundle ranks 2 (0.45) above 1 (0.4): top-1 miss, top-2 hit.
     * row 1: reference tie 0/1 -> class 0; the bundle is flat -> class 0 is its top-1 (lowest
     * index wins): hit. row 2: reference argmax 1; the bundle ties 0 and 1 -> 1 is second. */
    const float ref[] = {0.1f, 0.5f, 0.3f, 0.1f, 0.3f, 0.3f, 0.2f, 0.2f, 0.0f, 0.9f, 0.0f, 0.0f};
    const float out[] = {0.2f, 0.4f, 0.45f, 0.0f, 0.25f, 0.25f, 0.25f, 0.25f, 0.5f, 0.5f, 0.f, 0.f};
    int64_t t1 = 0, t2 = 0, t4 = 0, unused = 0;
    af_topk_count(ref, out, 3, 4, 2, &t1, &t2);
    CHECK(t1 == 1 && t2 == 3, "top-1 %lld (want 1), top-2 %lld (want 3)", (long long)t1,
          (long long)t2);
    af_topk_count(ref, out, 3, 4, 4, &unused, &t4);
    CHECK(t4 == 3, "top-4 of 4 classes: every row, got %lld", (long long)t4);
    /* NaN anywhere in a row of either is a miss, even where the argmax would agree */
    const float rn[] = {1.0f, NAN, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f};
    const float on[] = {1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, NAN, 0.0f};
    t1 = t2 = 0;
    af_topk_count(rn, on, 2, 4, 2, &t1, &t2);
    CHECK(t1 == 0 && t2 == 0, "NaN rows miss: %lld %lld", (long long)t1, (long long)t2);
}

static void test_argmax(void)
{
    /* [outer 2, len 3, inner 2], argmax over the middle axis:
     * o0 i0: ref (1,5,2) -> 1, out (1,4,6) -> 2  miss
     * o0 i1: ref (0,0,0) -> 0, out (3,3,1) -> 0  hit (ties: lowest index)
     * o1 i0: ref (7,1,7) -> 0, out (6,1,7) -> 2  miss
     * o1 i1: ref (2,9,1) -> 1, out (2,8,1) -> 1  hit */
    const float ref[] = {1, 0, 5, 0, 2, 0, 7, 2, 1, 9, 7, 1};
    const float out[] = {1, 3, 4, 3, 6, 1, 6, 2, 1, 8, 7, 1};
    int64_t n = af_argmax_count(ref, out, 2, 3, 2);
    CHECK(n == 2, "argmax agreement %lld of 4 (want 2)", (long long)n);
    const float on[] = {1, 3, 4, 3, 6, 1, 6, 2, 1, NAN, 7, 1};
    n = af_argmax_count(ref, on, 2, 3, 2);
    CHECK(n == 1, "the NaN position misses: %lld (want 1)", (long long)n);
}

static void test_iou(void)
{
    /* T 0.5: R = {0, 1}, B = {0, 2} -> |R∩B| 1, |R∪B| 3; 0.5 itself is not > 0.5 */
    const float ref[] = {0.9f, 0.6f, 0.2f, 0.5f}, out[] = {0.8f, 0.4f, 0.7f, 0.5f};
    int64_t i = 0, u = 0;
    af_iou_count(ref, out, 4, 0.5, &i, &u);
    CHECK(i == 1 && u == 3, "IoU %lld/%lld (want 1/3)", (long long)i, (long long)u);
    af_task_plan p = {0, -1, 1, 0.5};
    af_task_counts c;
    af_task_metrics m;
    memset(&c, 0, sizeof c);
    int64_t dims[1] = {4};
    af_task_add(&p, 1, dims, ref, out, &c);
    af_task_finish(&p, &c, &m);
    CHECK(fabs(m.iou - 1.0 / 3.0) < 1e-15 && isnan(m.top1) && isnan(m.argmax), "iou %g", m.iou);
    /* both masks empty: IoU 1 */
    const float lo[] = {0.1f, 0.2f, 0.3f, 0.4f};
    memset(&c, 0, sizeof c);
    af_task_add(&p, 1, dims, lo, lo, &c);
    af_task_finish(&p, &c, &m);
    CHECK(m.iou == 1.0 && c.uni == 0, "empty masks: IoU %g", m.iou);
    /* a NaN in the bundle is in the union only */
    const float on[] = {0.8f, NAN, 0.7f, 0.5f};
    i = u = 0;
    af_iou_count(ref, on, 4, 0.5, &i, &u);
    CHECK(i == 1 && u == 3, "NaN: %lld/%lld (want 1/3)", (long long)i, (long long)u);
}

/* [1, 3, 4] viewed by af_task_add: top-2 over 3 rows, argmax over axis 1 (4 positions), and
 * the same data added twice accumulates the counts. */
static void test_task_add(void)
{
    const float ref[] = {0.1f, 0.5f, 0.3f, 0.1f, 0.3f, 0.3f, 0.2f, 0.2f, 0.0f, 0.9f, 0.0f, 0.0f};
    const float out[] = {0.2f, 0.4f, 0.45f, 0.0f, 0.25f, 0.25f, 0.25f, 0.25f, 0.5f, 0.5f, 0.f, 0.f};
    int64_t dims[3] = {1, 3, 4};
    af_task_plan p = {2, 1, 0, 0};
    af_task_counts c;
    memset(&c, 0, sizeof c);
    af_task_add(&p, 3, dims, ref, out, &c);
    af_task_add(&p, 3, dims, ref, out, &c);
    af_task_metrics m;
    af_task_finish(&p, &c, &m);
    /* axis 1 argmax per column j: ref col0 (0.1,0.3,0) -> 1, out (0.2,0.25,0.5) -> 2 miss;
     * col1 ref (0.5,0.3,0.9) -> 2, out (0.4,0.25,0.5) -> 2 hit; col2 ref (0.3,0.2,0) -> 0,
     * out (0.45,0.25,0) -> 0 hit; col3 ref (0.1,0.2,0) -> 1, out (0,0.25,0) -> 1 hit */
    CHECK(c.rows == 6 && c.top1 == 2 && c.topk == 6, "rows %lld top1 %lld topk %lld",
          (long long)c.rows, (long long)c.top1, (long long)c.topk);
    CHECK(c.positions == 8 && c.argmax == 6 && m.argmax == 0.75, "argmax %lld/%lld = %g",
          (long long)c.argmax, (long long)c.positions, m.argmax);
    CHECK(fabs(m.top1 - 1.0 / 3.0) < 1e-15 && m.topk == 1.0 && isnan(m.iou), "top1 %g", m.top1);
}

/* Accumulating two tensors equals measuring their concatenation, bit for bit. */
static void test_metrics_acc(void)
{
    float ref[64], out[64];
    for (int i = 0; i < 64; i++) {
        ref[i] = sinf((float)i * 0.37f) * 3.0f;
        out[i] = ref[i] + 0.01f * cosf((float)i * 1.3f);
    }
    af_metrics whole, parts;
    af_metrics_compute(ref, out, 64, &whole);
    af_metrics_acc a;
    memset(&a, 0, sizeof a);
    af_metrics_add(&a, ref, out, 20);
    af_metrics_add(&a, ref + 20, out + 20, 44);
    af_metrics_finish(&a, &parts);
    CHECK(whole.psnr == parts.psnr && whole.cosine == parts.cosine &&
          whole.rel_l2 == parts.rel_l2 && whole.max_abs == parts.max_abs && parts.n == 64,
          "acc %.17g vs %.17g dB", parts.psnr, whole.psnr);
}

static void test_gates(void)
{
    af_gates g;
    af_gates_none(&g);
    af_metrics m = {0};
    m.psnr = 40;
    m.cosine = 0.99;
    af_task_metrics t;
    memset(&t, 0, sizeof t);
    t.plan.argmax_axis = -1;
    t.plan.topk = 5;
    t.topk = 0.8;
    t.argmax = t.iou = NAN;
    CHECK(af_gates_set(&g) == 0 && af_gates_failed(&g, &m, &t) == 0, "no gate");
    m.psnr = NAN;
    CHECK(af_gates_failed(&g, &m, &t) == AF_GATE_PSNR, "a NaN PSNR fails even without a gate");
    m.psnr = 40;
    g.min_psnr = 30;
    g.min_cosine = 0.999;
    g.min_topk = 0.9;
    g.min_argmax = 0.9; /* not measured on this output: does not apply */
    int f = af_gates_failed(&g, &m, &t);
    char buf[64];
    CHECK(f == (AF_GATE_COSINE | AF_GATE_TOPK), "mask %d", f);
    CHECK(!strcmp(af_gates_str(f, buf, sizeof buf), "cosine,topk"), "'%s'", buf);
    CHECK(!strcmp(af_gates_str(AF_GATE_ALL, buf, sizeof buf), "psnr,cosine,topk,argmax,iou"),
          "'%s'", buf);
    CHECK(af_gates_set(&g) == (AF_GATE_PSNR | AF_GATE_COSINE | AF_GATE_TOPK | AF_GATE_ARGMAX),
          "set %d", af_gates_set(&g));
    m.cosine = NAN;
    CHECK(af_gates_failed(&g, &m, &t) & AF_GATE_COSINE, "a NaN cosine fails");
}

static void test_spec_parse(void)
{
    char a1[] = "5", a2[] = "probs=-1", a3[] = "a=b=0.25", bad1[] = "0", bad2[] = "x=",
         bad3[] = "=3", bad4[] = "2.5", bad5[] = "nan";
    af_task_spec s;
    char msg[256];
    CHECK(af_task_spec_parse(a1, AF_TASK_TOPK, &s, msg, sizeof msg) == AF_OK && s.k == 5 &&
          !s.output, "topk 5");
    CHECK(af_task_spec_parse(a2, AF_TASK_ARGMAX, &s, msg, sizeof msg) == AF_OK && s.axis == -1 &&
          s.output && !strcmp(s.output, "probs"), "argmax probs=-1");
    CHECK(af_task_spec_parse(a3, AF_TASK_IOU, &s, msg, sizeof msg) == AF_OK &&
          s.threshold == 0.25 && !strcmp(s.output, "a=b"), "iou a=b=0.25 (the last '=' splits)");
    CHECK(af_task_spec_parse(bad1, AF_TASK_TOPK, &s, msg, sizeof msg) == AF_ERR_USAGE &&
          strstr(msg, "--topk"), "topk 0: %s", msg);
    CHECK(af_task_spec_parse(bad2, AF_TASK_TOPK, &s, msg, sizeof msg) == AF_ERR_USAGE, "x=");
    CHECK(af_task_spec_parse(bad3, AF_TASK_TOPK, &s, msg, sizeof msg) == AF_ERR_USAGE, "=3");
    CHECK(af_task_spec_parse(bad4, AF_TASK_ARGMAX, &s, msg, sizeof msg) == AF_ERR_USAGE, "2.5");
    CHECK(af_task_spec_parse(bad5, AF_TASK_IOU, &s, msg, sizeof msg) == AF_ERR_USAGE, "nan");
}

static void test_plans(void)
{
    af_task_spec s[3] = {{NULL, AF_TASK_TOPK, 5, 0, 0}, {NULL, AF_TASK_ARGMAX, 0, -1, 0},
                         {"mask", AF_TASK_IOU, 0, 0, 0.5}};
    af_err err = {0};
    af_task_plan p;
    int64_t cls[2] = {8, 1000}, small[2] = {8, 5}, map[4] = {1, 1, 16, 16};
    CHECK(af_task_plan_for(s, 3, "logits", 2, cls, &p, &err) == AF_OK && p.topk == 5 &&
          p.argmax_axis == 1 && !p.iou, "logits: topk %d axis %d", p.topk, p.argmax_axis);
    /* unnamed top-5 does not fit 5 classes: skipped, not an error */
    CHECK(af_task_plan_for(s, 3, "five", 2, small, &p, &err) == AF_OK && p.topk == 0, "five");
    CHECK(af_task_plan_for(s, 3, "mask", 4, map, &p, &err) == AF_OK && p.iou &&
          p.iou_threshold == 0.5 && p.argmax_axis == 3, "mask");
    af_task_spec named = {"five", AF_TASK_TOPK, 5, 0, 0};
    CHECK(af_task_plan_for(&named, 1, "five", 2, small, &p, &err) == AF_ERR_USAGE &&
          strstr(err.msg, "longer than K"), "named top-5 on 5 classes: %s", err.msg);
    af_gates g;
    af_gates_none(&g);
    g.min_iou = 0.9;
    err = (af_err){0};
    CHECK(af_task_specs_check(s, 2, &g, &err) == AF_ERR_USAGE && strstr(err.msg, "--iou"),
          "--min-iou without --iou: %s", err.msg);
    err = (af_err){0};
    CHECK(af_task_specs_check(s, 3, &g, &err) == AF_OK, "%s", err.msg);
    af_task_spec dup[2] = {{NULL, AF_TASK_TOPK, 5, 0, 0}, {NULL, AF_TASK_TOPK, 1, 0, 0}};
    CHECK(af_task_specs_check(dup, 2, &g, &err) == AF_ERR_USAGE && strstr(err.msg, "twice"),
          "dup: %s", err.msg);
    const char *names[1] = {"logits"};
    af_task_plan plans[1] = {{5, 1, 0, 0}};
    err = (af_err){0};
    CHECK(af_task_plans_check(s, 3, &g, names, plans, 1, "m.afb", &err) == AF_ERR_USAGE &&
          strstr(err.msg, "no output 'mask'"), "%s", err.msg);
    err = (af_err){0};
    CHECK(af_task_plans_check(s, 2, &g, names, plans, 1, "m.afb", &err) == AF_ERR_USAGE &&
          strstr(err.msg, "--min-iou: no output of m.afb fits --iou"), "%s", err.msg);
}

int main(void)
{
    test_topk();
    test_argmax();
    test_iou();
    test_task_add();
    test_metrics_acc();
    test_gates();
    test_spec_parse();
    test_plans();
    return check_report("test_task_metrics");
}

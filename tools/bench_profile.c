/* tools/bench_profile.c — `aneforge bench --profile`: time per node through the session
 * observer (the gap between consecutive node events; the first node from the run's start),
 * the fastest of the timed runs per node, printed as the slowest nodes and totals per op. */
#include "bench_profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct prof_node {
    const char *name, *op; /* owned by the bundle / the op table */
    char shape[64];
    double best;           /* fastest over the runs, ms */
} prof_node;

struct bench_prof {
    prof_node *nodes;
    int n, cap;
    double last;           /* time of the previous event (or the run's start) */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

bench_prof *bench_prof_new(void) { return calloc(1, sizeof(bench_prof)); }

void bench_prof_free(bench_prof *p)
{
    if (p) free(p->nodes);
    free(p);
}

void bench_prof_start(bench_prof *p) { p->last = now_ms(); }

/* Node i's slot, grown on first sight; NULL when out of memory (that node is not timed). */
static prof_node *slot(bench_prof *p, int i, const af_node_event *ev)
{
    if (i < 0) return NULL;
    if (i >= p->cap) {
        int cap = p->cap ? p->cap : 64;
        while (cap <= i) cap *= 2;
        prof_node *n = realloc(p->nodes, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        memset(n + p->cap, 0, (size_t)(cap - p->cap) * sizeof *n);
        p->nodes = n, p->cap = cap;
    }
    prof_node *s = &p->nodes[i];
    if (!s->op) {
        s->name = ev->node, s->op = ev->op, s->best = -1;
        int k = 0;
        for (int d = 0; d < ev->info.rank && k < (int)sizeof s->shape - 24; d++)
            k += snprintf(s->shape + k, sizeof s->shape - (size_t)k, d ? "x%lld" : "%lld",
                          (long long)ev->info.dims[d]);
    }
    if (i >= p->n) p->n = i + 1;
    return s;
}

void bench_prof_observe(void *user, const af_node_event *ev)
{
    bench_prof *p = user;
    if (ev->output_index != 0) return;
    double t = now_ms();
    prof_node *s = slot(p, ev->node_index, ev);
    if (s && (s->best < 0 || t - p->last < s->best)) s->best = t - p->last;
    p->last = now_ms(); /* the observer's own time is not charged to the next node */
}

static int by_time(const void *a, const void *b)
{
    double x = ((const prof_node *)a)->best, y = ((const prof_node *)b)->best;
    return (x < y) - (x > y);
}

/* Totals per op, in order of each op's slowest node. */
static void print_ops(const prof_node *v, int n, double total)
{
    char *done = calloc((size_t)(n > 0 ? n : 1), 1); /* nodes already counted */
    if (!done) return;
    printf("  per op:\n");
    for (int i = 0; i < n; i++) {
        if (!v[i].op || done[i]) continue;
        double t = 0;
        int count = 0;
        for (int j = i; j < n; j++)
            if (v[j].op && !strcmp(v[j].op, v[i].op)) t += v[j].best, count++, done[j] = 1;
        printf("    %-16s %4d nodes %9.3f ms %5.1f%%\n", v[i].op, count, t,
               total > 0 ? 100 * t / total : 0);
    }
    free(done);
}

void bench_prof_report(const bench_prof *p, int top)
{
    prof_node *v = malloc((size_t)(p->n ? p->n : 1) * sizeof *v);
    if (!v) return;
    memcpy(v, p->nodes, (size_t)p->n * sizeof *v);
    qsort(v, (size_t)p->n, sizeof *v, by_time);
    double total = 0;
    for (int i = 0; i < p->n; i++) total += v[i].best > 0 ? v[i].best : 0;
    printf("profile: fastest run of each node, %d nodes, sum %.3f ms\n", p->n, total);
    for (int i = 0; i < p->n && i < top; i++)
        printf("  %8.3f ms %5.1f%%  %-14s %-20s %s\n", v[i].best,
               total > 0 ? 100 * v[i].best / total : 0, v[i].op ? v[i].op : "?", v[i].shape,
               v[i].name ? v[i].name : "?");
    print_ops(v, p->n, total);
    free(v);
}

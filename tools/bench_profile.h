/* tools/bench_profile.h — per-node timing for `aneforge bench --profile` (a session observer). */
#ifndef AF_TOOLS_BENCH_PROFILE_H
#define AF_TOOLS_BENCH_PROFILE_H

#include "aneforge/runtime.h"

typedef struct bench_prof bench_prof;
bench_prof *bench_prof_new(void); /* NULL when out of memory */
void bench_prof_free(bench_prof *p);
void bench_prof_start(bench_prof *p);                         /* call right before a run */
void bench_prof_observe(void *user, const af_node_event *ev); /* the observer; user = p */
void bench_prof_report(const bench_prof *p, int top);        /* the `top` slowest nodes, ops */

#endif

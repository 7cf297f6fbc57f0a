/* tests/unit/geval_util.h — one evaluation of a graph with the reference evaluator (the lowering
 * tests compare a fused graph's output with the unfused one's). Include after check.h. */
#ifndef AF_TEST_GEVAL_UTIL_H
#define AF_TEST_GEVAL_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "../../compress/calib.h"

/* Every input element i set to ((i * mul) % mod) * scale + offset; returns the first output's
 * values (malloc'd, *n_out of them when n_out is not NULL), or NULL after a failed CHECK. */
static float *eval_graph(const af_graph *g, int64_t mul, int64_t mod, float scale, float offset,
                         int64_t *n_out)
{
    af_geval e;
    af_err err = {0};
    float *out = NULL;
    if (af_geval_init(&e, g, &err) != AF_OK) {
        CHECK(0, "evaluator: %s", err.msg);
        return NULL;
    }
    for (int k = 0; k < g->n_inputs; k++) {
        af_tview v = af_geval_view(&e, g->inputs[k]);
        for (int64_t i = 0; i < af_tview_numel(&v); i++)
            ((float *)v.data)[i] = (float)((i * mul) % mod) * scale + offset;
    }
    if (af_geval_run(&e, &err) == AF_OK) {
        af_tview y = af_geval_view(&e, g->outputs[0]);
        size_t bytes = sizeof(float) * (size_t)af_tview_numel(&y);
        if (n_out) *n_out = af_tview_numel(&y);
        if ((out = malloc(bytes))) memcpy(out, y.data, bytes);
    }
    CHECK(out != NULL, "evaluation failed: %s", err.msg);
    af_geval_free(&e);
    return out;
}

#endif

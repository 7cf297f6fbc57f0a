/* lowering/half.h — FLOAT16 / BFLOAT16 graphs in lowering (lowering/half.c). */
#ifndef AF_LOWERING_HALF_H
#define AF_LOWERING_HALF_H

#include "../graph/graph.h"
#include "../runtime/kernels/kernels.h"

/* Constant folding of node n: the kernel runs with half inputs widened to f32 and half outputs
 * computed in f32 then rounded to their half type (a Cast converts half dtypes itself). */
af_status af_half_kernel_run(const af_node *n, const af_tview *in, af_tview *out, af_err *err);

#endif

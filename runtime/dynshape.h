/* runtime/dynshape.h — the extents of data-dependent tensors, run by run
 * (docs/dynamic-shapes.md).
 *
 * A bundle marks the axes of activations whose extent depends on the data (afb_tensor.dyn):
 * their dims are capacities the arena is planned for. Before such a node runs, the session
 * hands it input views with the extents of this run; af_dyn_out_shapes() then sets the output
 * views' extents by the op's rule (NonZero, NonMaxSuppression and Compress set theirs while
 * running) and p's fields that follow them (TopK's k). Data stay compact (row-major for the
 * actual extents), so every kernel runs unchanged on the smaller views. */
#ifndef AF_RUNTIME_DYNSHAPE_H
#define AF_RUNTIME_DYNSHAPE_H

#include <stdint.h>

#include "kernels/kernels.h"

/* out[k] arrive with the capacity shapes; dyn[k] = output k's data-dependent axes, in_dyn[k]
 * input k's. Fails when the extents do not fit the capacities or the op's rules (a message
 * without the node name). */
af_status af_dyn_out_shapes(af_op op, af_params *p, const af_tview *in, int n_in,
                            const uint8_t *in_dyn, af_tview *out, int n_out, const uint8_t *dyn,
                            af_err *err);

/* 1 for ops whose kernel sets an output extent from the data (NMS, NonZero, Compress). */
int af_dyn_sets_own(af_op op);

#endif

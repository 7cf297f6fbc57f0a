/* convert/image_input.h — the --image-input graph step (see af_image_input_spec in
 * aneforge/converter.h): a float32 graph input becomes uint8 and is dequantised in the program. */
#ifndef AF_CONVERT_IMAGE_INPUT_H
#define AF_CONVERT_IMAGE_INPUT_H

#include "../graph/graph.h"
#include "aneforge/converter.h"

/* Before lowering: input NAME (f32, rank >= 2, channels on axis 1) is replaced by a uint8 input
 * of the same name and shape, followed by Cast(f32) → Mul(scale) → Add(bias) whose result is the
 * old tensor (renamed NAME:dequantized). scale/bias are (1,C,1,...) f32 constants flagged
 * AF_TENSOR_KEEP_RAW so no encoding rounds them. The new nodes go first in the node list. */
af_status af_image_input_apply(af_graph *g, const af_image_input_spec *spec, af_err *err);

#endif

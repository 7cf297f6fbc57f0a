/* convert/prequant_meta.h — see prequant_meta.c. */
#ifndef AF_CONVERT_PREQUANT_META_H
#define AF_CONVERT_PREQUANT_META_H

#include "../graph/graph.h"
#include "json.h"

/* Adds "pre_quantized": [{tensor, codes, granularity, axis?, block_size?, scales, zero_points,
 * bytes}] when g has weights that keep a model's own quantization; nothing otherwise. */
void af_prequant_meta_json(af_json *j, const af_graph *g);

#endif

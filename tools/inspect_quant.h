/* tools/inspect_quant.h — see inspect_quant.c. */
#ifndef AF_TOOLS_INSPECT_QUANT_H
#define AF_TOOLS_INSPECT_QUANT_H

#include <stddef.h>

#include "../bundle/bundle.h"

/* "pre-quantized: int8, per-axis 0 (16 scales), with zero points" for an int8 weight that
 * keeps an ONNX model's own quantization; "" for anything else. */
const char *inspect_int8_origin(const afb_tensor *t, char *buf, size_t size);

#endif

/* tools/inspect_quant.c — how a pre-quantized (ONNX QDQ) int8 weight came in. */
#include <stdio.h>

#include "../runtime/wdecode.h"
#include "inspect_quant.h"

const char *inspect_int8_origin(const afb_tensor *t, char *buf, size_t size)
{
    af_wblob_head h;
    buf[0] = '\0';
    if (t->encoding != AFB_ENC_INT8 || t->data_bytes < AFB_BLOB_HEADER_SIZE) return buf;
    af_wblob_get_head(t->data, &h);
    if (!(h.flags & AF_WBLOB_F32_SCALE)) return buf;
    const char *dt = (h.flags & AF_WBLOB_UNSIGNED) ? "uint8" : "int8";
    const char *zp = (h.flags & AF_WBLOB_ASYMMETRIC) ? "with zero points" : "no zero points";
    if (!(h.flags & AF_WBLOB_AXIS))
        snprintf(buf, size, "pre-quantized: %s, per-tensor, %s", dt, zp);
    else if (h.flags & AF_WBLOB_BLOCKED)
        snprintf(buf, size, "pre-quantized: %s, axis %u, blocks of %u (%u scales), %s", dt, h.b,
                 h.c, h.a, zp);
    else
        snprintf(buf, size, "pre-quantized: %s, per-axis %u (%u scales), %s", dt, h.b, h.a, zp);
    return buf;
}

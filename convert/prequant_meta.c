/* convert/prequant_meta.c — the bundle metadata's "pre_quantized" list: every weight
 * stored with an ONNX model's own quantization (compress/enc_qdq.c), and how it came in. */
#include "prequant_meta.h"

#include "../runtime/wdecode.h"

static int prequant_head(const af_tensor *t, af_wblob_head *h)
{
    if (!t->data || !t->blob || t->encoding != AF_ENC_INT8 || t->blob_bytes < AFB_BLOB_HEADER_SIZE)
        return 0;
    af_wblob_get_head(t->blob, h);
    return (h->flags & AF_WBLOB_F32_SCALE) != 0;
}

void af_prequant_meta_json(af_json *j, const af_graph *g)
{
    af_wblob_head h;
    int n = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        if (!prequant_head(&g->tensors[i], &h)) continue;
        if (!n++) {
            json_key(j, "pre_quantized");
            json_open(j, '[');
        }
        json_raw(j, n > 1 ? ",{" : "{");
        j->need_comma = 0;
        json_kv_str(j, "tensor", g->tensors[i].name);
        json_kv_str(j, "codes", (h.flags & AF_WBLOB_UNSIGNED) ? "uint8" : "int8");
        json_kv_str(j, "granularity", !(h.flags & AF_WBLOB_AXIS) ? "per-tensor"
                                      : (h.flags & AF_WBLOB_BLOCKED) ? "blocked"
                                                                      : "per-axis");
        if (h.flags & AF_WBLOB_AXIS) json_kv_int(j, "axis", h.b);
        if (h.flags & AF_WBLOB_BLOCKED) json_kv_int(j, "block_size", h.c);
        json_kv_int(j, "scales", h.a);
        json_kv_int(j, "zero_points", (h.flags & AF_WBLOB_ASYMMETRIC) != 0);
        json_kv_int(j, "bytes", (int64_t)g->tensors[i].blob_bytes);
        json_close(j, '}');
    }
    if (n) json_close(j, ']');
}

/* compress/enc_qdq.c — pre-quantized weights: the INT8 blob of an ONNX
 * DequantizeLinear of constant int8/uint8 codes, holding the model's own codes, f32 scales and
 * zero points (no re-quantization), and the converter step that keeps such blobs only where
 * they decode bit-exactly to the weight lowering produced. Blob layout: runtime/wdecode.h,
 * docs/bundle-format.md ("INT8", ONNX form). */
#include "enc_qdq.h"

#include <stdlib.h>
#include <string.h>

#include "../runtime/qparam.h"
#include "../runtime/wdecode.h"

/* The header for codes q quantized by scale s along axis (block: 0 or the block size); 0 when
 * the shapes do not fit (shape inference reports that later, naming the node). */
static int qdq_head(const af_tensor *q, const af_tensor *s, const af_tensor *z, int64_t axis,
                    int64_t block, af_wblob_head *h)
{
    int64_t ns = af_tensor_numel(s);
    memset(h, 0, sizeof *h);
    h->enc = AFB_ENC_INT8;
    h->bits = 8;
    h->flags = (uint8_t)(AF_WBLOB_F32_SCALE | (z ? AF_WBLOB_ASYMMETRIC : 0) |
                         (q->dtype == AF_DTYPE_U8 ? AF_WBLOB_UNSIGNED : 0));
    if (axis < 0) axis += q->rank;
    af_qgeom g;
    if (block > 0) {
        if (axis < 0 || axis >= q->rank || s->rank != q->rank) return 0;
        if (af_qgeom_init(&g, AF_QMODE_BLOCK, q->rank, q->dims, (int)axis, block) != ns) return 0;
        h->flags |= AF_WBLOB_AXIS | AF_WBLOB_BLOCKED;
        h->b = (uint32_t)axis;
        h->c = (uint32_t)block;
    } else if (ns == 1 && s->rank <= 1) {
        h->a = 1;
        return 1;
    } else {
        if (axis < 0 || axis >= q->rank || s->rank != 1 || s->dims[0] != q->dims[axis]) return 0;
        h->flags |= AF_WBLOB_AXIS | AF_WBLOB_PER_CHANNEL;
        h->b = (uint32_t)axis;
    }
    if (ns > UINT32_MAX) return 0;
    h->a = (uint32_t)ns;
    return 1;
}

af_status af_enc_qdq(const af_tensor *q, const af_tensor *s, const af_tensor *z, int64_t axis,
                     int64_t block, af_cblob *out, af_err *err)
{
    memset(out, 0, sizeof *out);
    if (!q->data || !s->data || (z && !z->data) || s->dtype != AF_DTYPE_F32 ||
        (q->dtype != AF_DTYPE_I8 && q->dtype != AF_DTYPE_U8) || (z && z->dtype != q->dtype) ||
        (z && af_tensor_numel(z) != af_tensor_numel(s)))
        return AF_OK;
    af_wblob_head h;
    af_wblob_layout l;
    if (!qdq_head(q, s, z, axis, block, &h) || af_wblob_layout_of(&h, q->rank, q->dims, &l))
        return AF_OK;
    if (af_cblob_alloc(out, l.total, err) != AF_OK) return err->code;
    af_wblob_put_head(out->data, &h);
    memcpy(out->data + l.params_off, s->data, 4 * (size_t)h.a); /* little-endian host */
    if (z) memcpy(out->data + l.params2_off, z->data, h.a);
    memcpy(out->data + l.data_off, q->data, (size_t)l.numel);
    return AF_OK;
}

/* 1 when the blob decodes to exactly (bit for bit) the tensor's f32 data. */
static int blob_matches(const af_tensor *t)
{
    int64_t n = af_tensor_numel(t);
    float *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
    af_err e = {0};
    int ok = d && af_wdecode(AFB_ENC_INT8, t->blob, t->blob_bytes, t->rank, t->dims, d, t->name,
                             &e) == AF_OK &&
             memcmp(d, t->data, (size_t)n * sizeof *d) == 0;
    free(d);
    return ok;
}

int af_prequant_settle(af_graph *g)
{
    int kept = 0;
    for (int i = 0; i < g->n_tensors; i++) {
        af_tensor *t = &g->tensors[i];
        if (!t->blob) continue;
        if (t->data && t->dtype == AF_DTYPE_F32 && blob_matches(t)) {
            kept++;
            continue;
        }
        free(t->blob);
        t->blob = NULL;
        t->blob_bytes = 0;
    }
    return kept;
}

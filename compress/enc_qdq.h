/* compress/enc_qdq.h — pre-quantized ONNX weights, see enc_qdq.c. */
#ifndef AF_COMPRESS_ENC_QDQ_H
#define AF_COMPRESS_ENC_QDQ_H

#include "encodings.h"

/* The INT8 blob (ONNX form: f32 scales, int8/uint8 codes and zero points, per tensor, per axis
 * or blocked) of DequantizeLinear(q, s, z) with the given axis (may be negative) and block size
 * (0: none). out->data is NULL when the inputs are not constant int8/uint8 codes with f32 scales
 * of a fitting shape (nothing to keep); an error only for out of memory. */
af_status af_enc_qdq(const af_tensor *q, const af_tensor *s, const af_tensor *z, int64_t axis,
                     int64_t block, af_cblob *out, af_err *err);

/* After lowering: keeps each tensor's pre-quantized blob only when the tensor is an f32
 * constant whose data its blob decodes to bit for bit (lowering may have folded it into
 * something else, e.g. a BatchNorm); drops the others. Returns the number kept. */
int af_prequant_settle(af_graph *g);

#endif

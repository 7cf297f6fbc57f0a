/* runtime/qparam.h — where the scale / zero point of an element of a quantized tensor lives
 * (ONNX QuantizeLinear / DequantizeLinear, opsets 10..21), shared by the quantize kernels
 * (runtime/kernels/quant.c) and the int8 weight decoder (runtime/wdecode.c) so the two cannot
 * disagree.
 *
 * A tensor x of shape dims is viewed as (outer, D, inner) around `axis` (D = dims[axis]):
 *   per-tensor  (one scale)                      element (o, i, j) uses scale 0
 *   per-axis    (D scales, 1-D)                  uses scale i
 *   blocked     (scale shaped like x with dims[axis] = ceil(D / block)) uses scale
 *               (o * ceil(D / block) + i / block) * inner + j
 * The dequantized value is (float)((int32)q - (int32)zp) * scale, computed in f32 as ONNX
 * Runtime does; quantization is saturate(rint(x / scale) + zp), rint = round half to even.
 */
#ifndef AF_RUNTIME_QPARAM_H
#define AF_RUNTIME_QPARAM_H

#include <math.h>
#include <stdint.h>

typedef enum af_qmode { AF_QMODE_TENSOR = 0, AF_QMODE_AXIS = 1, AF_QMODE_BLOCK = 2 } af_qmode;

typedef struct af_qgeom {
    af_qmode mode;
    int64_t outer, d, inner; /* x as (outer, D, inner) around the axis */
    int64_t block, nb;       /* blocked: elements per scale along the axis, ceil(D / block) */
} af_qgeom;

/* Fills g for a tensor (rank, dims) quantized along axis (already in [0, rank) or ignored for
 * per-tensor) with block size block (0: none). Returns the number of scales the mode needs. */
static inline int64_t af_qgeom_init(af_qgeom *g, af_qmode mode, int rank, const int64_t *dims,
                                    int axis, int64_t block)
{
    g->mode = mode;
    g->outer = g->d = g->inner = 1;
    g->block = block > 0 ? block : 1;
    g->nb = 1;
    if (mode == AF_QMODE_TENSOR) {
        for (int k = 0; k < rank; k++) g->d *= dims[k];
        return 1;
    }
    for (int k = 0; k < axis; k++) g->outer *= dims[k];
    g->d = dims[axis];
    for (int k = axis + 1; k < rank; k++) g->inner *= dims[k];
    if (mode == AF_QMODE_AXIS) return g->d;
    g->nb = (g->d + g->block - 1) / g->block;
    return g->outer * g->nb * g->inner;
}

/* Scale index of element (o, i, j). */
static inline int64_t af_qgeom_index(const af_qgeom *g, int64_t o, int64_t i, int64_t j)
{
    switch (g->mode) {
    case AF_QMODE_AXIS: return i;
    case AF_QMODE_BLOCK: return (o * g->nb + i / g->block) * g->inner + j;
    default: return 0;
    }
}

/* saturate(rint(x / s) + zp) into [lo, hi]; NaN gives the zero point. */
static inline int32_t af_quantize_one(float x, float s, int32_t zp, int32_t lo, int32_t hi)
{
    float v = x / s;
    if (v != v) return zp;
    float flo = (float)(lo - zp), fhi = (float)(hi - zp);
    v = v < flo ? flo : v > fhi ? fhi : v;
    return (int32_t)rintf(v) + zp;
}

/* (q - zp) in 64 bits: exact for int8/uint8 (ONNX requires zp = 0 for int32 codes, so ONNX
 * Runtime's int32 subtraction never wraps on a valid model; this never overflows at all). */
static inline float af_dequantize_one(int32_t q, int32_t zp, float s)
{
    return (float)((int64_t)q - zp) * s;
}

#endif

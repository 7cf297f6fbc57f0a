/* runtime/precision.h — precision placement under fp16 emulation (runtime/precision.c). */
#ifndef AF_RUNTIME_PRECISION_H
#define AF_RUNTIME_PRECISION_H

#include <stdint.h>

#include "../bundle/bundle.h"
#include "../graph/error.h"
#include "aneforge/runtime.h"

/* prec[f->n_nodes] = the metadata's "precision" placement, AF_PREC_FP16 elsewhere. */
af_status af_prec_from_meta(const afb_file *f, uint8_t *prec, af_err *err);
/* tmode[f->n_tensors] = how each tensor is stored (AF_PREC_*), given each node's precision
 * and which nodes are in-place aliases (skip[i]: out[0] shares in[0]'s bytes). */
af_status af_prec_tensor_modes(const afb_file *f, const uint8_t *skip, const uint8_t *prec,
                               uint8_t *tmode, af_err *err);

#endif

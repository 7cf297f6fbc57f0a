/* convert/freeze.h — --freeze for the converter: reading the files into importer options, and
 * the hint that proposes --freeze when lowering needs a constant computed from graph inputs. */
#ifndef AF_CONVERT_FREEZE_H
#define AF_CONVERT_FREEZE_H

#include "../graph/graph.h"
#include "../importers/npy/npy.h"
#include "../importers/onnx/onnx_import.h"
#include "aneforge/converter.h"

/* Reads every o->freeze file into files[i] and describes it in out[i] (n = o->n_freeze; the
 * caller frees files with af_npy_free). A file that cannot be read is its npy error
 * (AF_ERR_IO/FORMAT/UNSUPPORTED: exit 3). */
af_status af_freeze_read(const af_convert_options *o, af_npy *files, af_onnx_freeze *out,
                         af_err *err);

/* After a failed import or lowering: when err says a tensor must be a constant (the message contains
 * "constant" and quotes the tensor's name) and that tensor is computed from graph inputs,
 * appends "; fix it with --freeze NAME=FILE.npy" for each such input. */
void af_freeze_hint(const af_graph *g, af_err *err);

#endif

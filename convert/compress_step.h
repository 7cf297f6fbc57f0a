/* convert/compress_step.h — the converter's compression step: option checks, running
 * compress/ on the lowered graph, and the "compression" metadata object. */
#ifndef AF_CONVERT_COMPRESS_STEP_H
#define AF_CONVERT_COMPRESS_STEP_H

#include "../compress/compress.h"
#include "aneforge/converter.h"
#include "json.h"

/* AF_ERR_USAGE with a precise message for an unknown mode or a bad compression option. */
af_status af_convert_check_compress(const af_convert_options *o, af_err *err);
/* Runs compress/ on g for o's mode (nothing for fp32/fp16; cr is then empty) and updates the
 * report's byte counts, warning and auto figures. cr must be freed by the caller on success. */
af_status af_convert_compress(const af_convert_options *o, af_graph *g, af_convert_report *r,
                              af_compress_result *cr, af_err *err);
/* "compression": {mode, params, per-tensor choices, model PSNR} (nothing for fp32/fp16). */
void af_compress_meta_json(af_json *j, const af_graph *g, const af_convert_options *o,
                           const af_compress_result *cr);

#endif

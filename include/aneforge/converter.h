/* aneforge/converter.h — the converter: ONNX model → lowered, compressed .afb bundle.
 *
 *   af_convert_options o = {0};
 *   o.model_path = "resnet18.onnx";  o.out_path = "resnet18.afb";  o.compress = "fp16";
 *   af_convert_report r;  char msg[512];
 *   if (af_convert(&o, &r, msg, sizeof msg) != AF_OK) fprintf(stderr, "%s\n", msg);
 *
 * Conversion is deterministic (same model and options → byte-identical bundle) and atomic
 * (the bundle appears complete or not at all). Errors name the file and what is wrong.
 */
#ifndef ANEFORGE_CONVERTER_H
#define ANEFORGE_CONVERTER_H

#include <stddef.h>
#include <stdint.h>

#include "aneforge/status.h"
#include "aneforge/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct af_shape_spec {
    const char *name; /* graph input name */
    int rank;
    int64_t dims[AF_MAX_RANK];
} af_shape_spec;

typedef struct af_convert_options {
    const char *model_path;
    const char *out_path;
    const char *compress;       /* "fp32" or "fp16" (default) */
    const char *target;         /* ANE family name, or NULL */
    const af_shape_spec *shapes; /* fixes dynamic input dimensions */
    int n_shapes;
    int no_fuse;                /* keep BatchNorm and activations as separate ops */
} af_convert_options;

typedef struct af_convert_report {
    int opset;
    int nodes_imported;
    int nodes_lowered;
    int folded, removed, bn_folded, act_fused;
    uint64_t weight_bytes_fp32; /* constants as float32 */
    uint64_t weight_bytes;      /* constants as stored */
    uint64_t arena_bytes;       /* planned activation arena */
    uint64_t naive_arena_bytes; /* without buffer reuse */
    uint64_t file_bytes;
} af_convert_report;

af_status af_convert(const af_convert_options *opt, af_convert_report *report, char *msg,
                     size_t msg_size);

/* "fp32"/"fp16" → 0/1; -1 for an unknown name. */
int af_compress_mode_from_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif

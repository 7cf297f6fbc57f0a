/* graph/error.h — the error record passed through converter internals.
 *
 * A function that can fail takes `af_err *err` and returns af_status; on failure it fills the
 * record once (the first, innermost message wins) with a one-line message, e.g.
 *   "model.onnx: node 'Conv_3' (Conv): kernel rank 3 not supported".
 */
#ifndef AF_GRAPH_ERROR_H
#define AF_GRAPH_ERROR_H

#include "aneforge/status.h"

typedef struct af_err {
    af_status code;
    char msg[512];
} af_err;

/* Records (code, message) unless a message is already there; returns code. err may be NULL. */
af_status af_err_set(af_err *err, af_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with "prefix: " (e.g. the file name); returns err->code. */
af_status af_err_prefix(af_err *err, const char *prefix);

void af_err_clear(af_err *err);

#endif

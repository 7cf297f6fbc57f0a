/* tools/inspect.h — pieces of `aneforge inspect` shared by inspect.c and inspect_onnx.c. */
#ifndef AF_TOOLS_INSPECT_H
#define AF_TOOLS_INSPECT_H

#include <stddef.h>

#include "../graph/ops.h"

typedef struct op_count {
    const char *name;
    int n;
} op_count;

/* Op name for display: unary/binary/reduce nodes show their function. */
const char *inspect_display_op(af_op op, const af_params *p);
/* Counts one more `name` in c[0..*n) (at most 64 distinct names). */
void inspect_count_op(op_count *c, int *n, const char *name);
/* The whole-model gate line of --compress auto bundles (inspect_auto.c); nothing otherwise. */
void inspect_print_auto(const char *meta, size_t len);
/* The ONNX branch of inspect (inspect_onnx.c). */
int inspect_onnx(const char *path, int as_json);

#endif

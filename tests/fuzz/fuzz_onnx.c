/* tests/fuzz/fuzz_onnx.c — ONNX import from bytes, then shape inference (the first stages of
 * `aneforge convert` on a stranger's model). External data is refused for in-memory models,
 * so the harness never touches the filesystem. */
#include "fuzz_common.h"

#include "graph/graph.h"
#include "graph/shape.h"
#include "importers/onnx/onnx_import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    af_err_clear(&err);
    af_status st = af_onnx_import_memory(data, size, NULL, "fuzz.onnx", NULL, &g, &err);
    if (st == AF_OK) {
        af_err_clear(&err);
        st = af_shape_infer_graph(&g, &err);
    }
    if (st != AF_OK) fuzz_check_message(err.msg);
    af_graph_free(&g);
    return 0;
}

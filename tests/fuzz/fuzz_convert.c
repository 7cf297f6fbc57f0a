/* tests/fuzz/fuzz_convert.c — the whole converter front half on a stranger's model: ONNX import
 * from bytes, then every lowering pass (shape inference, constant folding with the runtime's
 * kernels on the file's constants, simplification, fusion, legality, memory plan). Only the
 * bundle writer is left out (it is tested against the reader). Seeds and dictionary: the ONNX
 * ones. */
#include "fuzz_common.h"

#include "graph/graph.h"
#include "importers/onnx/onnx_import.h"
#include "lowering/lower.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    af_graph g;
    af_err err;
    af_graph_init(&g);
    af_err_clear(&err);
    af_status st = af_onnx_import_memory(data, size, NULL, "fuzz.onnx", NULL, &g, &err);
    if (st == AF_OK) {
        af_lower_options lo = {0};
        af_lower_stats ls = {0};
        af_err_clear(&err);
        st = af_lower_run(&g, &lo, &ls, &err);
    }
    if (st != AF_OK) fuzz_check_message(err.msg);
    af_graph_free(&g);
    return 0;
}

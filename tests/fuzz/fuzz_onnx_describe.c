/* tests/fuzz/fuzz_onnx_describe.c — af_onnx_describe_memory (what `aneforge inspect MODEL.onnx`
 * reads from any model that parses: values, ops, subgraphs of If/Loop/Scan) on arbitrary bytes.
 * Seeds: the ONNX corpus (fuzz_onnx's). */
#include "fuzz_common.h"

#include "importers/onnx/onnx_describe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    af_onnx_desc d;
    af_err err;
    af_err_clear(&err);
    if (af_onnx_describe_memory(data, size, "fuzz.onnx", &d, &err) != AF_OK)
        fuzz_check_message(err.msg);
    else af_onnx_desc_free(&d);
    return 0;
}

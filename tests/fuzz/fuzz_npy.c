/* tests/fuzz/fuzz_npy.c — the .npy reader (`aneforge run --inputs DIR` reads these). An
 * accepted file must describe exactly the bytes it holds. */
#include "fuzz_common.h"

#include "graph/dtype.h"
#include "importers/npy/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    af_npy n;
    af_err err;
    af_err_clear(&err);
    if (af_npy_parse(data, size, "fuzz.npy", &n, &err) != AF_OK) {
        fuzz_check_message(err.msg);
        return 0;
    }
    uint64_t numel = 1;
    for (int k = 0; k < n.rank; k++) numel *= (uint64_t)n.dims[k];
    FUZZ_REQUIRE(n.data != NULL);
    FUZZ_REQUIRE(n.nbytes == numel * af_dtype_size(n.dtype));
    FUZZ_REQUIRE(n.nbytes <= size); /* the file backs every byte it claims */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < n.nbytes; i++) sink ^= ((const uint8_t *)n.data)[i];
    (void)sink;
    af_npy_free(&n);
    return 0;
}

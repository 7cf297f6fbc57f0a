/* tests/fuzz/fuzz_safetensors.c — importers/safetensors/safetensors.h: the header parser and the
 * index parser. An accepted file must describe exactly the bytes it holds: tensors tile the
 * data buffer, every tensor's bytes are inside the input (each byte is read to let ASan check),
 * and names are NUL-terminated strings. Seed corpus: tests/fuzz/corpus/safetensors/.
 *   clang -fsanitize=fuzzer,address,undefined -Iimporters/safetensors \
 *     tests/fuzz/fuzz_safetensors.c -o fuzz_safetensors   (standalone: the header is enough)
 */
#include <string.h>

#include "fuzz_common.h"

#define SAFETENSORS_IMPLEMENTATION
#define st_parse_memory fz_st_parse_memory /* a private copy: no clash with libaneforge's */
#define st_open_file fz_st_open_file
#define st_read_tensor fz_st_read_tensor
#define st_close fz_st_close
#define st_index_parse fz_st_index_parse
#define st_index_free fz_st_index_free
#define st_status_name fz_st_status_name
#define st_dtype_name fz_st_dtype_name
#define st_dtype_size fz_st_dtype_size
#define st_find fz_st_find
#include "importers/safetensors/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file *f;
    st_error e;
    if (st_parse_memory(data, size, &f, &e) != ST_OK) {
        fuzz_check_message(e.msg);
        FUZZ_REQUIRE(e.code > ST_ERR_NOMEM && e.code < ST_STATUS_COUNT);
    } else {
        uint64_t total = 0;
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < f->n_tensors; i++) {
            const st_tensor *t = &f->tensors[i];
            FUZZ_REQUIRE(t->name[0] != '\0');
            FUZZ_REQUIRE(t->end - t->begin == t->numel * st_dtype_size(t->dtype));
            FUZZ_REQUIRE(t->end <= f->data_size);
            total += t->end - t->begin;
            for (uint64_t b = t->begin; b < t->end; b++) sink ^= f->data[b];
        }
        FUZZ_REQUIRE(total == f->data_size);
        FUZZ_REQUIRE(f->data_offset + f->data_size == size);
        for (size_t i = 0; i < f->n_meta; i++) sink ^= (uint8_t)strlen(f->meta[i].value);
        (void)sink;
        st_close(f);
    }
    st_index *ix;
    if (st_index_parse(data, size, &ix, &e) == ST_OK) st_index_free(ix);
    else fuzz_check_message(e.msg);
    return 0;
}

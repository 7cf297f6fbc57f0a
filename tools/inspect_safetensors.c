/* tools/inspect_safetensors.c — `aneforge inspect FILE.safetensors [--json]`: tensors (name,
 * dtype, shape, bytes) in header order and the __metadata__ map. */
#include <stdio.h>

#include "../convert/json.h"
#include "../importers/safetensors/safetensors.h"
#include "cli.h"

static void shape_text(const st_tensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->rank && n < size; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%llu", d ? "," : "", (unsigned long long)t->shape[d]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

static void print_json(const char *path, const st_file *f)
{
    af_json j;
    json_init(&j);
    json_open(&j, '{');
    json_kv_str(&j, "file", path);
    json_kv_str(&j, "kind", "safetensors");
    json_kv_int(&j, "header_bytes", (int64_t)f->header_len);
    json_kv_int(&j, "data_bytes", (int64_t)f->data_size);
    json_key(&j, "tensors");
    json_open(&j, '[');
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (i) json_raw(&j, ",");
        json_open(&j, '{');
        json_kv_str(&j, "name", t->name);
        json_kv_str(&j, "dtype", st_dtype_name(t->dtype));
        json_key(&j, "shape");
        json_open(&j, '[');
        for (int d = 0; d < t->rank; d++) json_value_int(&j, (int64_t)t->shape[d]);
        json_close(&j, ']');
        json_kv_int(&j, "bytes", (int64_t)(t->end - t->begin));
        json_kv_int(&j, "offset", (int64_t)t->begin);
        json_close(&j, '}');
    }
    json_close(&j, ']');
    json_key(&j, "metadata");
    json_open(&j, '{');
    for (size_t i = 0; i < f->n_meta; i++) json_kv_str(&j, f->meta[i].key, f->meta[i].value);
    json_close(&j, '}');
    json_close(&j, '}');
    if (json_ok(&j)) puts(j.buf);
    json_free(&j);
}

static void print_text(const char *path, const st_file *f)
{
    printf("%s: safetensors, %zu tensors, %llu data bytes, %llu-byte header\n", path, f->n_tensors,
           (unsigned long long)f->data_size, (unsigned long long)f->header_len);
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        char shape[256];
        shape_text(t, shape, sizeof shape);
        printf("  %-40s %-5s %-20s %llu bytes\n", t->name, st_dtype_name(t->dtype), shape,
               (unsigned long long)(t->end - t->begin));
    }
    for (size_t i = 0; i < f->n_meta; i++) printf("  metadata %s = %s\n", f->meta[i].key, f->meta[i].value);
}

int inspect_safetensors(const char *path, int as_json)
{
    st_file *f;
    st_error e;
    if (st_open_file(path, &f, &e) != ST_OK)
        return cli_error(e.code == ST_ERR_NOMEM ? CLI_INTERNAL : CLI_BAD_INPUT, "%s: %s", path, e.msg);
    if (as_json) print_json(path, f);
    else print_text(path, f);
    st_close(f);
    return CLI_OK;
}

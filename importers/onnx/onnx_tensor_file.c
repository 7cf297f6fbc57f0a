/* importers/onnx/onnx_tensor_file.c — a serialized TensorProto file (the ONNX test data's
 * input_N.pb / output_N.pb) → dtype, shape and a fresh buffer, with the same decoding rules as
 * initializers (DOUBLE narrowed to f32; external data refused). */
#include "onnx_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

af_status onnx_read_file(const char *path, void **buf, size_t *size, af_err *err)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f) return af_err_set(err, AF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > INT32_MAX) {
        fclose(f);
        return af_err_set(err, AF_ERR_IO, "%s: not a regular file under 2 GiB", path);
    }
    *size = (size_t)sb.st_size;
    *buf = malloc(*size ? *size : 1);
    size_t got = *buf ? fread(*buf, 1, *size, f) : 0;
    fclose(f);
    if (!*buf) return af_err_set(err, AF_ERR_NOMEM, "%s: out of memory", path);
    if (got != *size) {
        free(*buf);
        return af_err_set(err, AF_ERR_IO, "%s: read failed", path);
    }
    return AF_OK;
}

af_status af_onnx_read_tensor_file(const char *path, af_onnx_tensor *t, af_err *err)
{
    af_err local;
    if (!err) err = &local;
    af_err_clear(err);
    memset(t, 0, sizeof *t);
    void *buf = NULL;
    size_t size = 0;
    af_status st = onnx_read_file(path, &buf, &size, err);
    if (st) return st;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, size, buf);
    free(buf);
    if (!tp)
        return af_err_set(err, AF_ERR_FORMAT, "%s is not a TensorProto: the protobuf cannot be "
                          "parsed", path);
    onnx_ctx c = {.err = err};
    t->onnx_type = tp->data_type;
    snprintf(t->name, sizeof t->name, "%s", tp->name ? tp->name : "");
    st = onnx_decode_tensor(&c, tp, path, &t->dtype, &t->rank, t->dims, &t->data);
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return st;
}

void af_onnx_tensor_free(af_onnx_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

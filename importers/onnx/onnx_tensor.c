/* importers/onnx/onnx_tensor.c — TensorProto → constant tensor: dtypes, raw_data, typed fields,
 * external data files (confined to the model's folder), and Constant nodes. */
#include "onnx_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "raw_data is little-endian; this importer copies it as is"
#endif

int onnx_dtype(int32_t t, af_dtype *out)
{
    switch (t) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *out = AF_DTYPE_F32; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: *out = AF_DTYPE_F16; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: *out = AF_DTYPE_BF16; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: *out = AF_DTYPE_I8; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: *out = AF_DTYPE_U8; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *out = AF_DTYPE_I32; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *out = AF_DTYPE_I64; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *out = AF_DTYPE_BOOL; return 0;
    /* The IR has no f64: double constants are narrowed to f32 (ample for weights). */
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *out = AF_DTYPE_F32; return 1;
    /* 16/32/64-bit integer types */
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: *out = AF_DTYPE_I16; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: *out = AF_DTYPE_U16; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: *out = AF_DTYPE_U32; return 0;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: *out = AF_DTYPE_U64; return 0;
    default: return -1;
    }
}

const char *onnx_dtype_name(int32_t t)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16",
                                        "INT16", "INT32", "INT64", "STRING", "BOOL", "FLOAT16",
                                        "DOUBLE", "UINT32", "UINT64", "COMPLEX64",
                                        "COMPLEX128", "BFLOAT16"};
    return t >= 0 && t < (int32_t)(sizeof names / sizeof *names) ? names[t] : "unknown";
}

/* ---- external data ---- */

typedef struct ext_ref {
    const char *location;
    int64_t offset, length; /* length -1 = to the end */
} ext_ref;

static af_status parse_i64(onnx_ctx *c, const char *name, const char *key, const char *s,
                           int64_t *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || x < 0)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data %s '%s' is not a "
                          "non-negative integer", name, key, s ? s : "");
    *v = x;
    return AF_OK;
}

static af_status ext_parse(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                           ext_ref *r)
{
    r->location = NULL;
    r->offset = 0;
    r->length = -1;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key, *v = tp->external_data[i]->value;
        af_status st = AF_OK;
        if (!k) continue;
        if (strcmp(k, "location") == 0) r->location = v;
        else if (strcmp(k, "offset") == 0) st = parse_i64(c, name, k, v, &r->offset);
        else if (strcmp(k, "length") == 0) st = parse_i64(c, name, k, v, &r->length);
        if (st) return st;
    }
    if (!r->location || !*r->location)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data has no location",
                          name);
    return AF_OK;
}

/* Lexical checks: relative, no ".." component. */
static af_status ext_check_path(onnx_ctx *c, const char *name, const char *loc)
{
    if (loc[0] == '/' || loc[0] == '\\')
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data path '%s' is "
                          "absolute (must be relative to the model's folder)", name, loc);
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/\\");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data path '%s' "
                              "leaves the model's folder", name, loc);
        p += n;
        if (*p) p++;
    }
    return AF_OK;
}

/* Resolves symlinks and checks the file is still inside base_dir. */
static af_status ext_resolve(onnx_ctx *c, const char *name, const char *loc, char *out)
{
    char joined[PATH_MAX], rbase[PATH_MAX];
    if (snprintf(joined, sizeof joined, "%s/%s", c->base_dir, loc) >= (int)sizeof joined)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data path '%s' is too "
                          "long", name, loc);
    if (!realpath(c->base_dir, rbase))
        return af_err_set(c->err, AF_ERR_IO, "tensor '%s': cannot resolve the model folder "
                          "'%s': %s", name, c->base_dir, strerror(errno));
    if (!realpath(joined, out))
        return af_err_set(c->err, AF_ERR_IO, "tensor '%s': cannot open external data file "
                          "'%s': %s", name, joined, strerror(errno));
    size_t n = strlen(rbase);
    int inside = strncmp(out, rbase, n) == 0 && (out[n] == '/' || (n == 1 && rbase[0] == '/'));
    if (!inside)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data path '%s' "
                          "resolves to '%s', outside the model's folder", name, loc, out);
    return AF_OK;
}

static af_status read_range(onnx_ctx *c, const char *name, const char *path, int fd,
                            int64_t off, size_t want, void **out)
{
    unsigned char *buf = malloc(want ? want : 1);
    if (!buf) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory (%zu bytes)", want);
    size_t got = 0;
    while (got < want) {
        ssize_t r = pread(fd, buf + got, want - got, (off_t)(off + (int64_t)got));
        if (r <= 0) {
            free(buf);
            return af_err_set(c->err, AF_ERR_IO, "tensor '%s': reading '%s' failed: %s", name,
                              path, r < 0 ? strerror(errno) : "unexpected end of file");
        }
        got += (size_t)r;
    }
    *out = buf;
    return AF_OK;
}

static af_status read_external(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                               size_t want, void **out)
{
    ext_ref r;
    char path[PATH_MAX];
    if (!c->base_dir)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s' uses external data, which is not "
                          "allowed for a model loaded from memory", name);
    af_status st = ext_parse(c, tp, name, &r);
    if (!st) st = ext_check_path(c, name, r.location);
    if (!st) st = ext_resolve(c, name, r.location, path);
    if (st) return st;
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return af_err_set(c->err, AF_ERR_IO, "tensor '%s': cannot read external data file "
                          "'%s'", name, path);
    }
    int64_t size = sb.st_size;
    if (r.offset > size || (r.length >= 0 && r.length > size - r.offset) ||
        (uint64_t)(size - r.offset) < want || (r.length >= 0 && (uint64_t)r.length != want)) {
        close(fd);
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s': external data '%s' (offset %lld, "
                          "length %lld) does not hold the %zu bytes needed (file has %lld)",
                          name, r.location, (long long)r.offset, (long long)r.length, want,
                          (long long)size);
    }
    st = read_range(c, name, path, fd, r.offset, want, out);
    close(fd);
    return st;
}

/* ---- in-file data ---- */

/* Checks the typed field that holds tp's values has numel entries. */
static af_status typed_check(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                             int64_t numel)
{
    int32_t t = tp->data_type;
    size_t have;
    if (t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) have = tp->n_float_data;
    else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) have = tp->n_int64_data;
    else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE) have = tp->n_double_data;
    else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__UINT32 || t == ONNX__TENSOR_PROTO__DATA_TYPE__UINT64)
        have = tp->n_uint64_data; /* onnx.proto keeps these in uint64_data */
    else have = tp->n_int32_data; /* int32, and f16/bf16/int8/uint8/bool bit patterns */
    if ((int64_t)have != numel)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s' (%s) holds %zu values, its dims "
                          "give %lld", name, onnx_dtype_name(t), have, (long long)numel);
    return AF_OK;
}

/* Copies the typed field into dst as the IR dtype (count checked by typed_check). */
static void typed_fill(const Onnx__TensorProto *tp, af_dtype dt, int64_t numel, void *dst)
{
    int32_t t = tp->data_type;
    for (int64_t i = 0; i < numel; i++) {
        if (t == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) ((float *)dst)[i] = tp->float_data[i];
        else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
            ((int64_t *)dst)[i] = tp->int64_data[i];
        else if (t == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
            ((float *)dst)[i] = (float)tp->double_data[i];
        else if (dt == AF_DTYPE_I32) ((int32_t *)dst)[i] = tp->int32_data[i];
        else if (dt == AF_DTYPE_F16 || dt == AF_DTYPE_BF16)
            ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
        else if (dt == AF_DTYPE_BOOL) ((uint8_t *)dst)[i] = tp->int32_data[i] != 0;
        /* int16/uint16 in int32_data, uint32/uint64 in uint64_data */
        else if (dt == AF_DTYPE_I16) ((int16_t *)dst)[i] = (int16_t)tp->int32_data[i];
        else if (dt == AF_DTYPE_U16) ((uint16_t *)dst)[i] = (uint16_t)tp->int32_data[i];
        else if (dt == AF_DTYPE_U32) ((uint32_t *)dst)[i] = (uint32_t)tp->uint64_data[i];
        else if (dt == AF_DTYPE_U64) ((uint64_t *)dst)[i] = tp->uint64_data[i];
        else ((uint8_t *)dst)[i] = (uint8_t)tp->int32_data[i]; /* i8 / u8 */
    }
}

static af_status check_dims(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                            int64_t *dims, int64_t *numel)
{
    if (tp->n_dims > AF_MAX_RANK)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "tensor '%s' has rank %zu (at most %d)",
                          name, tp->n_dims, AF_MAX_RANK);
    int64_t n = 1;
    for (size_t i = 0; i < tp->n_dims; i++) {
        dims[i] = tp->dims[i];
        if (dims[i] < 0)
            return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s' has a negative dim %lld",
                              name, (long long)dims[i]);
        if (dims[i] && n > (INT64_MAX / 16) / dims[i])
            return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s' is impossibly large", name);
        n *= dims[i];
    }
    *numel = n;
    return AF_OK;
}

/* Narrows raw little-endian doubles to f32 (the IR has no f64). */
static void doubles_to_f32(const void *src, float *dst, int64_t numel)
{
    for (int64_t i = 0; i < numel; i++) {
        double d;
        memcpy(&d, (const unsigned char *)src + 8 * i, 8);
        dst[i] = (float)d;
    }
}

static af_status bytes_source(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                              size_t src_bytes, void **ext, const void **src)
{
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        af_status st = read_external(c, tp, name, src_bytes, ext);
        *src = *ext;
        return st;
    }
    if (tp->raw_data.len != src_bytes)
        return af_err_set(c->err, AF_ERR_FORMAT, "tensor '%s' (%s): raw_data has %zu bytes, "
                          "its dims need %zu", name, onnx_dtype_name(tp->data_type),
                          tp->raw_data.len, src_bytes);
    *src = tp->raw_data.data;
    return AF_OK;
}

af_status onnx_decode_tensor(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name,
                             af_dtype *dt, int *rank, int64_t *dims, void **data)
{
    int conv = onnx_dtype(tp->data_type, dt);
    if (conv < 0)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "tensor '%s' has data type %s, which is "
                          "not supported", name, onnx_dtype_name(tp->data_type));
    int64_t numel = 0;
    af_status st = check_dims(c, tp, name, dims, &numel);
    if (st) return st;
    *rank = (int)tp->n_dims;
    size_t out_bytes = (size_t)numel * af_dtype_size(*dt);
    size_t src_bytes = (size_t)numel * (conv ? 8 : af_dtype_size(*dt));
    int external = tp->has_data_location &&
                   tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    void *ext = NULL;
    const void *src = NULL;
    /* validate the source size before allocating anything the file claims */
    if (external || tp->has_raw_data) st = bytes_source(c, tp, name, src_bytes, &ext, &src);
    else st = typed_check(c, tp, name, numel);
    unsigned char *buf = st ? NULL : malloc(out_bytes ? out_bytes : 1);
    if (!st && !buf) st = af_err_set(c->err, AF_ERR_NOMEM, "out of memory for tensor '%s'", name);
    if (!st) {
        if (!src) typed_fill(tp, *dt, numel, buf);
        else if (conv) doubles_to_f32(src, (float *)buf, numel);
        else if (out_bytes) memcpy(buf, src, out_bytes);
    }
    free(ext);
    if (st) return st;
    *data = buf;
    return AF_OK;
}

af_status onnx_load_tensor(onnx_ctx *c, const Onnx__TensorProto *tp, const char *name, int *idx)
{
    af_dtype dt;
    int rank;
    int64_t dims[AF_MAX_RANK];
    void *data;
    af_status st = onnx_decode_tensor(c, tp, name, &dt, &rank, dims, &data);
    if (st) return st;
    st = onnx_define(c, name, dt, rank, dims, idx);
    if (st) {
        free(data);
        return st;
    }
    af_tensor_set_data(&c->g->tensors[*idx], data);
    return AF_OK;
}

/* safetensors.h — a strict safetensors reader, single-header (stb style), libc only.
 *
 *   #define SAFETENSORS_IMPLEMENTATION   // in exactly one .c file, before the include
 *   #include "safetensors.h"
 *
 * Optional overrides (define before the implementation include):
 *   ST_MALLOC(n), ST_REALLOC(p, n), ST_FREE(p)   the allocator (default malloc/realloc/free)
 *   ST_MAX_RANK                                    dims per tensor (default 16)
 *
 * File layout (https://github.com/huggingface/safetensors, written down from the format
 * description): 8-byte little-endian header length N; N bytes of UTF-8 JSON; then the data
 * buffer. The JSON is one object: each key is a tensor name mapped to
 *   {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}
 * (offsets relative to the data buffer), plus optionally "__metadata__": {string: string}.
 *
 * What is checked (every failure has its own st_status, named by st_status_name()):
 *   length field present (TOO_SMALL); N <= 100,000,000 (HEADER_TOO_LARGE); 8 + N within the
 *   file (HEADER_BEYOND_FILE); header starts with '{' (HEADER_START); UTF-8 (UTF8); strict JSON
 *   per RFC 8259 with only trailing whitespace after the object (JSON, JSON_STRING); no key twice
 *   in any object (DUPLICATE_KEY); __metadata__ a string→string map (METADATA); each tensor an
 *   object (TENSOR_ENTRY) with exactly the three fields (MISSING_FIELD, UNKNOWN_FIELD), a known
 *   dtype (DTYPE), a shape of non-negative integers (SHAPE, RANK), two offsets BEGIN <= END
 *   (OFFSETS); integers <= 2^63-1 (INT_RANGE); numel × dtype size without overflow
 *   (NUMEL_OVERFLOW); END - BEGIN == numel × size (SIZE_MISMATCH); END within the data buffer
 *   (DATA_BEYOND_FILE); sorted by offset, the tensors start at 0 and follow each other with no
 *   hole (OFFSET_HOLE) and no overlap (OFFSET_OVERLAP) and the last one ends where the file
 *   ends (TRAILING_BYTES); no empty tensor name (EMPTY_NAME).
 * The JSON reader is schema-driven: nesting is at most 3 levels by construction (root object →
 * tensor object → shape array), so no recursion depends on the input. The same reader parses
 * the sharded-checkpoint index (model.safetensors.index.json), whose "metadata" object may hold
 * any JSON values: those are skipped with an explicit depth limit (ST_MAX_DEPTH, 64).
 *
 * Two ways to read:
 *   st_parse_memory(buf, size, &f, &e)  validates the whole buffer; f->data points into buf
 *                                         (which must outlive f). Zero copy.
 *   st_open_file(path, &f, &e)           reads only the 8 + N header bytes, validates against the
 *                                         file size; st_read_tensor() then reads one tensor.
 *   st_close(f)                          frees either.
 * Errors: st_error has the code and a one-line message naming the tensor or the header byte,
 * e.g. "header byte 57: duplicate key 'w' [duplicate_key]".
 */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#ifndef ST_MAX_RANK
#define ST_MAX_RANK 16
#endif
#define ST_MAX_HEADER 100000000ull
#define ST_MAX_DEPTH 64

#ifdef __cplusplus
extern "C" {
#endif

typedef enum st_status {
    ST_OK = 0,
    ST_ERR_USAGE,            /* a NULL argument */
    ST_ERR_IO,               /* the file could not be opened or read */
    ST_ERR_NOMEM,            /* an allocation failed */
    ST_ERR_TOO_SMALL,        /* fewer than 8 bytes: no header length */
    ST_ERR_HEADER_TOO_LARGE, /* header length above 100,000,000 */
    ST_ERR_HEADER_BEYOND_FILE, /* 8 + header length past the end of the file */
    ST_ERR_HEADER_START,     /* the header does not start with '{' */
    ST_ERR_UTF8,             /* the header is not valid UTF-8 */
    ST_ERR_JSON,             /* JSON syntax error (or bytes after the object) */
    ST_ERR_JSON_STRING,      /* a bad string: control byte, bad escape, lone surrogate, \u0000 */
    ST_ERR_DUPLICATE_KEY,    /* the same key twice in one object */
    ST_ERR_METADATA,         /* __metadata__ is not an object of strings */
    ST_ERR_TENSOR_ENTRY,     /* a tensor's value is not an object */
    ST_ERR_MISSING_FIELD,    /* dtype, shape or data_offsets missing */
    ST_ERR_UNKNOWN_FIELD,    /* a tensor field other than those three */
    ST_ERR_DTYPE,            /* dtype not a string naming a known type */
    ST_ERR_SHAPE,            /* shape not an array of non-negative integers */
    ST_ERR_RANK,             /* more than ST_MAX_RANK dims */
    ST_ERR_OFFSETS,          /* data_offsets not [BEGIN, END] integers with BEGIN <= END */
    ST_ERR_INT_RANGE,        /* an integer above 2^63-1 */
    ST_ERR_NUMEL_OVERFLOW,   /* element count × element size overflows */
    ST_ERR_SIZE_MISMATCH,    /* END - BEGIN != numel × element size */
    ST_ERR_DATA_BEYOND_FILE, /* END past the end of the data buffer */
    ST_ERR_OFFSET_HOLE,      /* bytes no tensor covers between tensors (or before the first) */
    ST_ERR_OFFSET_OVERLAP,   /* two tensors share bytes */
    ST_ERR_TRAILING_BYTES,   /* the data buffer goes on after the last tensor */
    ST_ERR_EMPTY_NAME,       /* a tensor named "" */
    ST_ERR_INDEX,            /* an index.json without a valid "weight_map" object of strings */
    ST_STATUS_COUNT
} st_status;

typedef enum st_dtype {
    ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
    ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64,
    ST_DTYPE_COUNT
} st_dtype;

typedef struct st_error {
    st_status code;
    char msg[256];
} st_error;

typedef struct st_tensor {
    const char *name;
    st_dtype dtype;
    int rank;
    uint64_t shape[ST_MAX_RANK];
    uint64_t numel;
    uint64_t begin, end; /* byte offsets in the data buffer; end - begin = numel × size */
} st_tensor;

typedef struct st_kv {
    const char *key, *value;
} st_kv;

typedef struct st_file {
    st_tensor *tensors; /* in header order */
    size_t n_tensors;
    st_kv *meta;        /* __metadata__, in header order */
    size_t n_meta;
    uint64_t header_len;   /* N */
    uint64_t data_offset;  /* 8 + N: where the data buffer starts in the file */
    uint64_t data_size;    /* bytes in the data buffer */
    const uint8_t *data;   /* the data buffer (st_parse_memory), NULL for st_open_file */
    void *fp_;             /* private: FILE * of st_open_file */
    char *strings_;        /* private: decoded names and metadata */
} st_file;

typedef struct st_index_entry {
    const char *tensor, *file;
} st_index_entry;

typedef struct st_index {
    st_index_entry *entries; /* "weight_map", in file order */
    size_t n_entries;
    char *strings_;
} st_index;

st_status st_parse_memory(const void *buf, size_t size, st_file **out, st_error *err);
st_status st_open_file(const char *path, st_file **out, st_error *err);
/* Copies tensor t's bytes (t->end - t->begin, as stored, little-endian) into dst. */
st_status st_read_tensor(st_file *f, const st_tensor *t, void *dst, size_t dst_size,
                         st_error *err);
void st_close(st_file *f);

/* Parses a sharded-checkpoint index: {"metadata": {...}, "weight_map": {tensor: file}}. */
st_status st_index_parse(const void *buf, size_t size, st_index **out, st_error *err);
void st_index_free(st_index *ix);

const char *st_status_name(st_status s);  /* "duplicate_key" */
const char *st_dtype_name(st_dtype t);     /* "F32" */
size_t st_dtype_size(st_dtype t);          /* bytes per element */
/* Index of a tensor by name (linear scan), or -1. */
long st_find(const st_file *f, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* SAFETENSORS_H */

/* ======================================================================================== */
#ifdef SAFETENSORS_IMPLEMENTATION

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ST_MALLOC
#define ST_MALLOC(n) malloc(n)
#define ST_REALLOC(p, n) realloc(p, n)
#define ST_FREE(p) free(p)
#endif

static const char *const st__status_names[ST_STATUS_COUNT] = {
    "ok", "usage", "io", "nomem", "too_small", "header_too_large", "header_beyond_file",
    "header_start", "utf8", "json", "json_string", "duplicate_key", "metadata", "tensor_entry",
    "missing_field", "unknown_field", "dtype", "shape", "rank", "offsets", "int_range",
    "numel_overflow", "size_mismatch", "data_beyond_file", "offset_hole", "offset_overlap",
    "trailing_bytes", "empty_name", "index",
};

static const struct {
    const char *name;
    size_t size;
} st__dtypes[ST_DTYPE_COUNT] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"F64", 8}, {"I64", 8},     {"U64", 8},
};

const char *st_status_name(st_status s)
{
    return (unsigned)s < ST_STATUS_COUNT ? st__status_names[s] : "?";
}
const char *st_dtype_name(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? st__dtypes[t].name : "?"; }
size_t st_dtype_size(st_dtype t) { return (unsigned)t < ST_DTYPE_COUNT ? st__dtypes[t].size : 0; }

static st_status st__fail(st_error *e, st_status code, const char *fmt, ...)
{
    if (!e || e->code != ST_OK) return code;
    char tmp[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    for (char *c = tmp; *c; c++) /* names may hold control bytes: keep the message one line */
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    e->code = code;
    snprintf(e->msg, sizeof e->msg, "%s [%s]", tmp, st_status_name(code));
    return code;
}

/* ---- UTF-8 (RFC 3629: no overlongs, no surrogates, at most U+10FFFF) ---- */

static size_t st__utf8_bad(const uint8_t *s, size_t n) /* offset of the first bad byte, or n */
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1fu, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0fu, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07u, min = 0x10000;
        else return i;
        if (n - i < len) return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += len;
    }
    return n;
}

/* ---- the JSON cursor ---- */

typedef struct st__json {
    const uint8_t *s;
    size_t n, i;
    char *out;   /* string arena: decoded strings never exceed their encoded length */
    size_t used;
    st_error *err;
} st__json;

static void st__ws(st__json *j)
{
    while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
                           j->s[j->i] == '\r'))
        j->i++;
}

static int st__peek(st__json *j) /* next non-blank byte, or -1 at the end */
{
    st__ws(j);
    return j->i < j->n ? j->s[j->i] : -1;
}

static st_status st__expect(st__json *j, char c, const char *what)
{
    if (st__peek(j) != (unsigned char)c)
        return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected '%c' %s", j->i, c, what);
    j->i++;
    return ST_OK;
}

static int st__hex4(const uint8_t *p, uint32_t *v)
{
    *v = 0;
    for (int k = 0; k < 4; k++) {
        int c = p[k], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        *v = (*v << 4) | (uint32_t)d;
    }
    return 0;
}

static size_t st__put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f)); return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f)); return 4;
}

/* A \uXXXX escape (with its low surrogate if any) at j->i (just after the backslash-u). */
static st_status st__escape_u(st__json *j, uint32_t *cp)
{
    size_t at = j->i;
    if (j->n - j->i < 4 || st__hex4(j->s + j->i, cp))
        return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: bad \\u escape", at);
    j->i += 4;
    if (*cp >= 0xdc00 && *cp <= 0xdfff)
        return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: lone low surrogate", at);
    if (*cp >= 0xd800 && *cp <= 0xdbff) {
        uint32_t lo;
        if (j->n - j->i < 6 || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u' ||
            st__hex4(j->s + j->i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: lone high surrogate", at);
        j->i += 6;
        *cp = 0x10000 + ((*cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (*cp == 0)
        return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: \\u0000 in a string", at);
    return ST_OK;
}

/* A string at the cursor, decoded into the arena; *out points at it (NUL-terminated). */
static st_status st__string(st__json *j, const char **out)
{
    if (st__peek(j) != '"')
        return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected a string", j->i);
    j->i++;
    char *o = j->out + j->used;
    size_t k = 0;
    for (;;) {
        if (j->i >= j->n)
            return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: unterminated string", j->i);
        uint8_t c = j->s[j->i++];
        if (c == '"') break;
        if (c < 0x20)
            return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: control byte 0x%02x "
                            "in a string", j->i - 1, c);
        if (c != '\\') { o[k++] = (char)c; continue; }
        if (j->i >= j->n)
            return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: unterminated string", j->i);
        c = j->s[j->i++];
        static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
        const char *p = c ? strchr(esc_in, c) : NULL;
        if (p) { o[k++] = esc_out[p - esc_in]; continue; }
        if (c != 'u')
            return st__fail(j->err, ST_ERR_JSON_STRING, "header byte %zu: bad escape '\\%c'",
                            j->i - 1, c >= 0x20 && c < 0x7f ? c : '?');
        uint32_t cp = 0;
        if (st__escape_u(j, &cp)) return j->err->code;
        k += st__put_utf8(o + k, cp);
    }
    o[k] = '\0';
    j->used += k + 1;
    *out = o;
    return ST_OK;
}

/* A JSON number token per RFC 8259 at j->i (after blanks): sets sign, whether it has a fraction
 * or exponent, and its integer digits [d0, d1). Not a number at all → bad_code (the field has
 * the wrong type); a malformed number → ST_ERR_JSON. */
static st_status st__number(st__json *j, int *neg, int *frac, size_t *d0, size_t *d1,
                            st_status bad_code, const char *what)
{
    size_t at = j->i, i = j->i;
    const uint8_t *s = j->s;
    *neg = *frac = 0;
    if (i < j->n && s[i] == '-') *neg = 1, i++;
    if (i >= j->n || s[i] < '0' || s[i] > '9')
        return st__fail(j->err, bad_code, "header byte %zu: %s: expected a number", at, what);
    *d0 = i;
    while (i < j->n && s[i] >= '0' && s[i] <= '9') i++;
    *d1 = i;
    if (s[*d0] == '0' && *d1 - *d0 > 1)
        return st__fail(j->err, ST_ERR_JSON, "header byte %zu: number with a leading zero", at);
    if (i < j->n && s[i] == '.') {
        *frac = 1, i++;
        if (i >= j->n || s[i] < '0' || s[i] > '9')
            return st__fail(j->err, ST_ERR_JSON, "header byte %zu: bad number", at);
        while (i < j->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    if (i < j->n && (s[i] == 'e' || s[i] == 'E')) {
        *frac = 1, i++;
        if (i < j->n && (s[i] == '+' || s[i] == '-')) i++;
        if (i >= j->n || s[i] < '0' || s[i] > '9')
            return st__fail(j->err, ST_ERR_JSON, "header byte %zu: bad number", at);
        while (i < j->n && s[i] >= '0' && s[i] <= '9') i++;
    }
    j->i = i;
    return ST_OK;
}

/* A non-negative integer: negative or fractional → bad_code; above 2^63-1 → ST_ERR_INT_RANGE. */
static st_status st__uint(st__json *j, uint64_t *v, st_status bad_code, const char *what)
{
    st__ws(j);
    size_t at = j->i, d0, d1;
    int neg, frac;
    if (st__number(j, &neg, &frac, &d0, &d1, bad_code, what)) return j->err->code;
    if (neg) return st__fail(j->err, bad_code, "header byte %zu: %s: negative value", at, what);
    if (frac) return st__fail(j->err, bad_code, "header byte %zu: %s: not an integer", at, what);
    uint64_t x = 0;
    for (size_t k = d0; k < d1; k++) {
        uint64_t dig = (uint64_t)(j->s[k] - '0');
        if (x > (UINT64_C(0x7fffffffffffffff) - dig) / 10)
            return st__fail(j->err, ST_ERR_INT_RANGE, "header byte %zu: %s: %.*s is above 2^63-1",
                            at, what, (int)(d1 - d0 > 40 ? 40 : d1 - d0), (const char *)j->s + d0);
        x = x * 10 + dig;
    }
    *v = x;
    return ST_OK;
}

/* Array of non-negative integers: "[" (int ("," int)*)? "]". */
static st_status st__uint_array(st__json *j, uint64_t *v, int cap, int *count, st_status bad,
                                st_status too_many, const char *what)
{
    if (st__peek(j) != '[')
        return st__fail(j->err, bad, "header byte %zu: %s is not an array", j->i, what);
    j->i++;
    *count = 0;
    if (st__peek(j) == ']') { j->i++; return ST_OK; }
    for (;;) {
        uint64_t x = 0;
        if (st__uint(j, &x, bad, what)) return j->err->code;
        if (*count == cap)
            return st__fail(j->err, too_many, "header byte %zu: %s has more than %d values",
                            j->i, what, cap);
        v[(*count)++] = x;
        int c = st__peek(j);
        j->i++;
        if (c == ']') return ST_OK;
        if (c != ',')
            return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected ',' or ']' in %s",
                            j->i - 1, what);
    }
}

/* Iterates "{" (key ":" value ("," ...)*)? "}": calls member(j, key, ctx) positioned at each
 * value. not_obj is the status when the value is not an object. */
typedef st_status (*st__member_fn)(st__json *j, const char *key, void *ctx);

static st_status st__object(st__json *j, st__member_fn member, void *ctx, st_status not_obj,
                            const char *what)
{
    if (st__peek(j) != '{')
        return st__fail(j->err, not_obj, "header byte %zu: %s is not an object", j->i, what);
    j->i++;
    if (st__peek(j) == '}') { j->i++; return ST_OK; }
    for (;;) {
        const char *key;
        if (st__string(j, &key) || st__expect(j, ':', "after a key")) return j->err->code;
        if (member(j, key, ctx)) return j->err->code;
        int c = st__peek(j);
        j->i++;
        if (c == '}') return ST_OK;
        if (c != ',')
            return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected ',' or '}' in %s",
                            j->i - 1, what);
    }
}

/* Skips any JSON value (for the index's free-form "metadata"), depth-limited. */
static st_status st__skip(st__json *j, int depth);

static st_status st__skip_member(st__json *j, const char *key, void *ctx)
{
    (void)key;
    return st__skip(j, *(int *)ctx);
}

static st_status st__skip(st__json *j, int depth)
{
    if (depth > ST_MAX_DEPTH)
        return st__fail(j->err, ST_ERR_JSON, "header byte %zu: nesting deeper than %d", j->i,
                        ST_MAX_DEPTH);
    int c = st__peek(j), d = depth + 1;
    if (c == '{') return st__object(j, st__skip_member, &d, ST_ERR_JSON, "a value");
    if (c == '"') { const char *s; return st__string(j, &s); }
    if (c == '[') {
        j->i++;
        if (st__peek(j) == ']') { j->i++; return ST_OK; }
        for (;;) {
            if (st__skip(j, d)) return j->err->code;
            c = st__peek(j);
            j->i++;
            if (c == ']') return ST_OK;
            if (c != ',') return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected ',' or ']'", j->i - 1);
        }
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t L = strlen(lits[k]);
        if (j->n - j->i >= L && !memcmp(j->s + j->i, lits[k], L)) { j->i += L; return ST_OK; }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int neg, frac;
        size_t d0, d1;
        return st__number(j, &neg, &frac, &d0, &d1, ST_ERR_JSON, "a value");
    }
    return st__fail(j->err, ST_ERR_JSON, "header byte %zu: expected a value", j->i);
}

/* ---- the safetensors header schema ---- */

typedef struct st__parse {
    st_file *f;
    size_t cap_tensors, cap_meta;
    int seen_metadata;
    size_t key_at; /* byte offset of the current tensor key, for messages */
} st__parse;

enum { ST__F_DTYPE = 1, ST__F_SHAPE = 2, ST__F_OFFSETS = 4 };

typedef struct st__tctx {
    st_tensor *t;
    unsigned seen;
} st__tctx;

static st_status st__dtype_lookup(st__json *j, const char *name, st_dtype *out)
{
    for (int k = 0; k < ST_DTYPE_COUNT; k++)
        if (!strcmp(name, st__dtypes[k].name)) { *out = (st_dtype)k; return ST_OK; }
    return st__fail(j->err, ST_ERR_DTYPE, "header byte %zu: unknown dtype '%.40s'", j->i, name);
}

static st_status st__tensor_field(st__json *j, const char *key, void *vctx)
{
    st__tctx *c = (st__tctx *)vctx;
    st_tensor *t = c->t;
    unsigned bit = !strcmp(key, "dtype") ? ST__F_DTYPE : !strcmp(key, "shape") ? ST__F_SHAPE
                 : !strcmp(key, "data_offsets") ? ST__F_OFFSETS : 0;
    if (!bit)
        return st__fail(j->err, ST_ERR_UNKNOWN_FIELD, "tensor '%.60s': unknown field '%.40s'",
                        t->name, key);
    if (c->seen & bit)
        return st__fail(j->err, ST_ERR_DUPLICATE_KEY, "tensor '%.60s': duplicate key '%s'",
                        t->name, key);
    c->seen |= bit;
    if (bit == ST__F_DTYPE) {
        const char *s;
        if (st__peek(j) != '"')
            return st__fail(j->err, ST_ERR_DTYPE, "tensor '%.60s': dtype is not a string", t->name);
        if (st__string(j, &s)) return j->err->code;
        return st__dtype_lookup(j, s, &t->dtype);
    }
    if (bit == ST__F_SHAPE)
        return st__uint_array(j, t->shape, ST_MAX_RANK, &t->rank, ST_ERR_SHAPE, ST_ERR_RANK, "shape");
    uint64_t off[3];
    int n;
    if (st__uint_array(j, off, 3, &n, ST_ERR_OFFSETS, ST_ERR_OFFSETS, "data_offsets"))
        return j->err->code;
    if (n != 2)
        return st__fail(j->err, ST_ERR_OFFSETS, "tensor '%.60s': data_offsets has %d values, not 2",
                        t->name, n);
    if (off[1] < off[0])
        return st__fail(j->err, ST_ERR_OFFSETS, "tensor '%.60s': data_offsets end %llu < begin %llu",
                        t->name, (unsigned long long)off[1], (unsigned long long)off[0]);
    t->begin = off[0];
    t->end = off[1];
    return ST_OK;
}

static st_status st__meta_member(st__json *j, const char *key, void *vctx)
{
    st__parse *p = (st__parse *)vctx;
    st_file *f = p->f;
    if (st__peek(j) != '"')
        return st__fail(j->err, ST_ERR_METADATA, "header byte %zu: __metadata__ '%.60s' is not a "
                        "string", j->i, key);
    if (f->n_meta == p->cap_meta) {
        size_t cap = p->cap_meta ? p->cap_meta * 2 : 16;
        st_kv *m = (st_kv *)ST_REALLOC(f->meta, cap * sizeof *m);
        if (!m) return st__fail(j->err, ST_ERR_NOMEM, "out of memory");
        f->meta = m;
        p->cap_meta = cap;
    }
    st_kv *kv = &f->meta[f->n_meta];
    kv->key = key;
    if (st__string(j, &kv->value)) return j->err->code;
    f->n_meta++;
    return ST_OK;
}

static st_status st__root_member(st__json *j, const char *key, void *vctx)
{
    st__parse *p = (st__parse *)vctx;
    st_file *f = p->f;
    if (!strcmp(key, "__metadata__")) {
        if (p->seen_metadata)
            return st__fail(j->err, ST_ERR_DUPLICATE_KEY, "header byte %zu: duplicate key "
                            "'__metadata__'", j->i);
        p->seen_metadata = 1;
        return st__object(j, st__meta_member, p, ST_ERR_METADATA, "__metadata__");
    }
    if (!*key) return st__fail(j->err, ST_ERR_EMPTY_NAME, "header byte %zu: a tensor named \"\"", j->i);
    if (f->n_tensors == p->cap_tensors) {
        size_t cap = p->cap_tensors ? p->cap_tensors * 2 : 64;
        st_tensor *t = (st_tensor *)ST_REALLOC(f->tensors, cap * sizeof *t);
        if (!t) return st__fail(j->err, ST_ERR_NOMEM, "out of memory");
        f->tensors = t;
        p->cap_tensors = cap;
    }
    st_tensor *t = &f->tensors[f->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = key;
    st__tctx c = {t, 0};
    char what[96];
    snprintf(what, sizeof what, "tensor '%.60s'", key);
    if (st__object(j, st__tensor_field, &c, ST_ERR_TENSOR_ENTRY, what)) return j->err->code;
    static const char *const fields[] = {"dtype", "shape", "data_offsets"};
    for (int k = 0; k < 3; k++)
        if (!(c.seen & (1u << k)))
            return st__fail(j->err, ST_ERR_MISSING_FIELD, "tensor '%.60s' has no %s", key, fields[k]);
    f->n_tensors++;
    return ST_OK;
}

/* ---- checks over the whole table ---- */

static int st__cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Duplicate names in an array of structs whose first member is the name. */
static st_status st__dup_names(const void *base, size_t n, size_t stride, const char *what,
                               st_error *e)
{
    if (n < 2) return ST_OK;
    const char **v = (const char **)ST_MALLOC(n * sizeof *v);
    if (!v) return st__fail(e, ST_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = *(const char *const *)((const char *)base + i * stride);
    qsort(v, n, sizeof *v, st__cmp_name);
    st_status st = ST_OK;
    for (size_t i = 1; i < n && !st; i++)
        if (!strcmp(v[i], v[i - 1]))
            st = st__fail(e, ST_ERR_DUPLICATE_KEY, "duplicate %s '%.80s'", what, v[i]);
    ST_FREE(v);
    return st;
}

static st_status st__sizes(st_file *f, st_error *e)
{
    for (size_t i = 0; i < f->n_tensors; i++) {
        st_tensor *t = &f->tensors[i];
        uint64_t n = 1, size = st__dtypes[t->dtype].size;
        for (int d = 0; d < t->rank; d++) {
            if (t->shape[d] && n > UINT64_MAX / t->shape[d])
                return st__fail(e, ST_ERR_NUMEL_OVERFLOW, "tensor '%.60s': element count overflows",
                                t->name);
            n *= t->shape[d];
        }
        if (n > (uint64_t)INT64_MAX / size)
            return st__fail(e, ST_ERR_NUMEL_OVERFLOW, "tensor '%.60s': %llu elements × %zu bytes "
                            "overflows", t->name, (unsigned long long)n, (size_t)size);
        t->numel = n;
        if (t->end - t->begin != n * size)
            return st__fail(e, ST_ERR_SIZE_MISMATCH, "tensor '%.60s': data_offsets span %llu bytes, "
                            "%s%s needs %llu", t->name, (unsigned long long)(t->end - t->begin),
                            st__dtypes[t->dtype].name, t->rank ? " shape" : " scalar",
                            (unsigned long long)(n * size));
        if (t->end > f->data_size)
            return st__fail(e, ST_ERR_DATA_BEYOND_FILE, "tensor '%.60s': data_offsets end %llu is "
                            "past the data buffer (%llu bytes)", t->name,
                            (unsigned long long)t->end, (unsigned long long)f->data_size);
    }
    return ST_OK;
}

static int st__cmp_off(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Sorted by offset, tensors tile [0, data_size) exactly. */
static st_status st__coverage(st_file *f, st_error *e)
{
    size_t n = f->n_tensors;
    const st_tensor **v = (const st_tensor **)ST_MALLOC((n ? n : 1) * sizeof *v);
    if (!v) return st__fail(e, ST_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) v[i] = &f->tensors[i];
    qsort(v, n, sizeof *v, st__cmp_off);
    uint64_t at = 0;
    const char *prev = NULL;
    st_status st = ST_OK;
    for (size_t i = 0; i < n && !st; i++) {
        if (v[i]->begin > at)
            st = st__fail(e, ST_ERR_OFFSET_HOLE, "bytes %llu..%llu of the data buffer belong to no "
                          "tensor (before '%.60s')", (unsigned long long)at,
                          (unsigned long long)v[i]->begin, v[i]->name);
        else if (v[i]->begin < at)
            st = st__fail(e, ST_ERR_OFFSET_OVERLAP, "tensors '%.60s' and '%.60s' overlap at byte %llu",
                          prev, v[i]->name, (unsigned long long)v[i]->begin);
        at = v[i]->end;
        prev = v[i]->name;
    }
    if (!st && at != f->data_size)
        st = st__fail(e, ST_ERR_TRAILING_BYTES, "%llu bytes after the last tensor (data buffer "
                      "%llu bytes, tensors end at %llu)", (unsigned long long)(f->data_size - at),
                      (unsigned long long)f->data_size, (unsigned long long)at);
    ST_FREE(v);
    return st;
}

/* Parses and validates header bytes h[0..N) for a file of file_size bytes into f. */
static st_status st__header(st_file *f, const uint8_t *h, uint64_t N, uint64_t file_size,
                            st_error *e)
{
    f->header_len = N;
    f->data_offset = 8 + N;
    f->data_size = file_size - 8 - N;
    if (N == 0 || h[0] != '{')
        return st__fail(e, ST_ERR_HEADER_START, "the header does not start with '{'");
    size_t bad = st__utf8_bad(h, (size_t)N);
    if (bad != N) return st__fail(e, ST_ERR_UTF8, "header byte %zu: invalid UTF-8", bad);
    f->strings_ = (char *)ST_MALLOC((size_t)N + 1);
    if (!f->strings_) return st__fail(e, ST_ERR_NOMEM, "out of memory (%llu-byte header)",
                                      (unsigned long long)N);
    st__json j = {h, (size_t)N, 0, f->strings_, 0, e};
    st__parse p = {f, 0, 0, 0, 0};
    if (st__object(&j, st__root_member, &p, ST_ERR_HEADER_START, "the header")) return e->code;
    if (st__peek(&j) >= 0)
        return st__fail(e, ST_ERR_JSON, "header byte %zu: bytes after the JSON object", j.i);
    if (st__dup_names(f->tensors, f->n_tensors, sizeof *f->tensors, "tensor name", e) ||
        st__dup_names(f->meta, f->n_meta, sizeof *f->meta, "__metadata__ key", e) ||
        st__sizes(f, e) || st__coverage(f, e))
        return e->code;
    return ST_OK;
}

static uint64_t st__le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--) v = (v << 8) | p[k];
    return v;
}

static st_status st__length(const uint8_t *p, uint64_t size, uint64_t *N, st_error *e)
{
    if (size < 8) return st__fail(e, ST_ERR_TOO_SMALL, "%llu bytes: too small for the 8-byte "
                                  "header length", (unsigned long long)size);
    *N = st__le64(p);
    if (*N > ST_MAX_HEADER)
        return st__fail(e, ST_ERR_HEADER_TOO_LARGE, "header length %llu is above the %llu limit",
                        (unsigned long long)*N, ST_MAX_HEADER);
    if (*N > size - 8)
        return st__fail(e, ST_ERR_HEADER_BEYOND_FILE, "header length %llu goes past the end of the "
                        "file (%llu bytes)", (unsigned long long)*N, (unsigned long long)size);
    return ST_OK;
}

static st_file *st__new(st_error *err)
{
    err->code = ST_OK;
    err->msg[0] = '\0';
    st_file *f = (st_file *)ST_MALLOC(sizeof *f);
    if (f) memset(f, 0, sizeof *f);
    else st__fail(err, ST_ERR_NOMEM, "out of memory");
    return f;
}

st_status st_parse_memory(const void *buf, size_t size, st_file **out, st_error *err)
{
    st_error local;
    if (!err) err = &local;
    if (!out || (!buf && size)) {
        err->code = ST_OK;
        return st__fail(err, ST_ERR_USAGE, "st_parse_memory: NULL argument");
    }
    *out = NULL;
    st_file *f = st__new(err);
    if (!f) return ST_ERR_NOMEM;
    uint64_t N = 0;
    const uint8_t *b = (const uint8_t *)buf;
    if (st__length(b, size, &N, err) || st__header(f, b + 8, N, size, err)) {
        st_close(f);
        return err->code;
    }
    f->data = b + 8 + N;
    *out = f;
    return ST_OK;
}

st_status st_open_file(const char *path, st_file **out, st_error *err)
{
    st_error local;
    if (!err) err = &local;
    if (!out || !path) {
        err->code = ST_OK;
        return st__fail(err, ST_ERR_USAGE, "st_open_file: NULL argument");
    }
    *out = NULL;
    st_file *f = st__new(err);
    if (!f) return ST_ERR_NOMEM;
    FILE *fp = fopen(path, "rb");
    if (!fp) { st_close(f); return st__fail(err, ST_ERR_IO, "cannot open the file"); }
    f->fp_ = fp;
    uint8_t len8[8];
    long end = -1;
    if (fseek(fp, 0, SEEK_END) == 0) end = ftell(fp);
    if (end < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        st_close(f);
        return st__fail(err, ST_ERR_IO, "cannot read the file (not a regular file?)");
    }
    uint64_t size = (uint64_t)end, N = 0;
    size_t got = fread(len8, 1, size < 8 ? (size_t)size : 8, fp);
    if (got != (size < 8 ? size : 8)) { st_close(f); return st__fail(err, ST_ERR_IO, "read error"); }
    if (st__length(len8, size, &N, err)) { st_close(f); return err->code; }
    uint8_t *h = (uint8_t *)ST_MALLOC(N ? (size_t)N : 1);
    if (!h) { st_close(f); return st__fail(err, ST_ERR_NOMEM, "out of memory"); }
    st_status st = fread(h, 1, (size_t)N, fp) == N ? ST_OK : st__fail(err, ST_ERR_IO, "read error");
    if (!st) st = st__header(f, h, N, size, err);
    ST_FREE(h);
    if (st) { st_close(f); return st; }
    *out = f;
    return ST_OK;
}

st_status st_read_tensor(st_file *f, const st_tensor *t, void *dst, size_t dst_size, st_error *err)
{
    st_error local;
    if (!err) err = &local;
    err->code = ST_OK;
    if (!f || !t || (!dst && t->end > t->begin))
        return st__fail(err, ST_ERR_USAGE, "st_read_tensor: NULL argument");
    uint64_t n = t->end - t->begin;
    if (n > dst_size || t->end > f->data_size)
        return st__fail(err, ST_ERR_USAGE, "st_read_tensor: '%.60s' needs %llu bytes", t->name,
                        (unsigned long long)n);
    if (!n) return ST_OK;
    if (f->data) { memcpy(dst, f->data + t->begin, (size_t)n); return ST_OK; }
    FILE *fp = (FILE *)f->fp_;
    uint64_t at = f->data_offset + t->begin;
    if (at > (uint64_t)LONG_MAX || fseek(fp, (long)at, SEEK_SET) != 0 ||
        fread(dst, 1, (size_t)n, fp) != n)
        return st__fail(err, ST_ERR_IO, "tensor '%.60s': read error", t->name);
    return ST_OK;
}

void st_close(st_file *f)
{
    if (!f) return;
    if (f->fp_) fclose((FILE *)f->fp_);
    ST_FREE(f->tensors);
    ST_FREE(f->meta);
    ST_FREE(f->strings_);
    ST_FREE(f);
}

long st_find(const st_file *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->n_tensors; i++)
        if (!strcmp(f->tensors[i].name, name)) return (long)i;
    return -1;
}

/* ---- index.json ---- */

typedef struct st__ictx {
    st_index *ix;
    size_t cap;
    int seen_map, seen_meta;
} st__ictx;

static st_status st__index_entry(st__json *j, const char *key, void *vctx)
{
    st__ictx *c = (st__ictx *)vctx;
    if (st__peek(j) != '"')
        return st__fail(j->err, ST_ERR_INDEX, "weight_map '%.60s' is not a file name", key);
    if (c->ix->n_entries == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        st_index_entry *e = (st_index_entry *)ST_REALLOC(c->ix->entries, cap * sizeof *e);
        if (!e) return st__fail(j->err, ST_ERR_NOMEM, "out of memory");
        c->ix->entries = e;
        c->cap = cap;
    }
    st_index_entry *e = &c->ix->entries[c->ix->n_entries];
    e->tensor = key;
    if (st__string(j, &e->file)) return j->err->code;
    if (!*key || !*e->file)
        return st__fail(j->err, ST_ERR_INDEX, "weight_map has an empty tensor or file name");
    c->ix->n_entries++;
    return ST_OK;
}

static st_status st__index_member(st__json *j, const char *key, void *vctx)
{
    st__ictx *c = (st__ictx *)vctx;
    int is_map = !strcmp(key, "weight_map");
    int *seen = is_map ? &c->seen_map : &c->seen_meta;
    if (!is_map && strcmp(key, "metadata"))
        return st__fail(j->err, ST_ERR_INDEX, "unknown key '%.60s' (expected metadata, weight_map)", key);
    if (*seen) return st__fail(j->err, ST_ERR_DUPLICATE_KEY, "duplicate key '%s'", key);
    *seen = 1;
    if (is_map) return st__object(j, st__index_entry, c, ST_ERR_INDEX, "weight_map");
    return st__skip(j, 1);
}

st_status st_index_parse(const void *buf, size_t size, st_index **out, st_error *err)
{
    st_error local;
    if (!err) err = &local;
    err->code = ST_OK;
    err->msg[0] = '\0';
    if (!out || (!buf && size)) return st__fail(err, ST_ERR_USAGE, "st_index_parse: NULL argument");
    *out = NULL;
    const uint8_t *s = (const uint8_t *)buf;
    if (st__utf8_bad(s, size) != size) return st__fail(err, ST_ERR_UTF8, "invalid UTF-8");
    st_index *ix = (st_index *)ST_MALLOC(sizeof *ix);
    char *arena = (char *)ST_MALLOC(size + 1);
    if (!ix || !arena) {
        ST_FREE(ix);
        ST_FREE(arena);
        return st__fail(err, ST_ERR_NOMEM, "out of memory");
    }
    memset(ix, 0, sizeof *ix);
    ix->strings_ = arena;
    st__json j = {s, size, 0, arena, 0, err};
    st__ictx c = {ix, 0, 0, 0};
    st_status st = st__object(&j, st__index_member, &c, ST_ERR_INDEX, "the index");
    if (!st && st__peek(&j) >= 0) st = st__fail(err, ST_ERR_JSON, "byte %zu: bytes after the JSON object", j.i);
    if (!st && !c.seen_map) st = st__fail(err, ST_ERR_INDEX, "no \"weight_map\"");
    if (!st) st = st__dup_names(ix->entries, ix->n_entries, sizeof *ix->entries, "weight_map key", err);
    if (st) { st_index_free(ix); return st; }
    *out = ix;
    return ST_OK;
}

void st_index_free(st_index *ix)
{
    if (!ix) return;
    ST_FREE(ix->entries);
    ST_FREE(ix->strings_);
    ST_FREE(ix);
}

#endif /* SAFETENSORS_IMPLEMENTATION */

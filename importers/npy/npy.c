/* importers/npy/npy.c — .npy reader and writer (see npy.h for the format and the rules). */
#include "importers/npy/npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/dtype.h"

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
enum { NPY_ALIGN = 64, NPY_GROWTH_DIGITS = 21, NPY_DESCR_MAX = 32 };

/* ---------------------------------------------------------------- descr ↔ dtype */

typedef struct npy_kind {
    char kind;     /* numpy kind letter */
    int size;      /* bytes per element */
    af_dtype dtype;
} npy_kind;

static const npy_kind NPY_KINDS[] = {
    {'f', 4, AF_DTYPE_F32}, {'f', 2, AF_DTYPE_F16}, {'u', 1, AF_DTYPE_U8}, {'i', 1, AF_DTYPE_I8},
    {'i', 4, AF_DTYPE_I32}, {'i', 8, AF_DTYPE_I64}, {'b', 1, AF_DTYPE_BOOL},
    /* 16/32/64-bit integer types */
    {'i', 2, AF_DTYPE_I16}, {'u', 2, AF_DTYPE_U16}, {'u', 4, AF_DTYPE_U32}, {'u', 8, AF_DTYPE_U64},
};

/* Maps a descr string ("<f4") to a dtype; AF_ERR_UNSUPPORTED naming the descr otherwise. */
static af_status descr_to_dtype(const char *descr, const char *file, af_dtype *out, af_err *err)
{
    size_t len = strlen(descr);
    if (!strcmp(descr, "<f8")) { /* narrowed to f32 by af_npy_parse (from_f64) */
        *out = AF_DTYPE_F32;
        return AF_OK;
    }
    if (len == 3 && strchr("<>|=", descr[0]) && descr[2] >= '1' && descr[2] <= '9') {
        for (size_t k = 0; k < sizeof NPY_KINDS / sizeof NPY_KINDS[0]; k++) {
            const npy_kind *nk = &NPY_KINDS[k];
            if (nk->kind != descr[1] || nk->size != descr[2] - '0') continue;
            if (nk->size == 1 || descr[0] == '<') {
                *out = nk->dtype;
                return AF_OK;
            }
            return af_err_set(err, AF_ERR_UNSUPPORTED,
                              "%s: dtype '%s' not supported (only little-endian '<' data)", file,
                              descr);
        }
    }
    return af_err_set(err, AF_ERR_UNSUPPORTED,
                      "%s: dtype '%s' not supported (supported: <f4 <f2 <f8 |u1 |i1 <i4 <i8 |b1 "
                      "<i2 <u2 <u4 <u8)",
                      file, descr);
}

/* ---------------------------------------------------------------- header dict parser */

typedef struct cursor {
    const char *s;
    size_t n, i;
    const char *file;
    af_err *err;
} cursor;

typedef struct npy_header {
    char descr[NPY_DESCR_MAX + 1];
    int fortran;
    int rank;
    int64_t dims[AF_MAX_RANK];
    int seen_descr, seen_fortran, seen_shape;
} npy_header;

static int at_end(const cursor *c) { return c->i >= c->n; }
static char peek(const cursor *c) { return at_end(c) ? '\0' : c->s[c->i]; }

static void skip_ws(cursor *c)
{
    while (!at_end(c) && strchr(" \t\n\r\f\v", c->s[c->i]) && c->s[c->i] != '\0') c->i++;
}

static af_status bad(cursor *c, const char *what)
{
    return af_err_set(c->err, AF_ERR_FORMAT, "%s: malformed header: %s at byte %zu", c->file,
                      what, c->i);
}

static af_status expect(cursor *c, char ch, const char *what)
{
    skip_ws(c);
    if (peek(c) != ch) return bad(c, what);
    c->i++;
    return AF_OK;
}

/* A Python string literal in ' or " quotes without escapes; copied into out (cap bytes). */
static af_status parse_string(cursor *c, char *out, size_t cap)
{
    skip_ws(c);
    char q = peek(c);
    if (q != '\'' && q != '"') return bad(c, "expected a quoted string");
    size_t start = ++c->i;
    while (!at_end(c) && c->s[c->i] != q) {
        char ch = c->s[c->i];
        if (ch == '\\' || ch == '\n' || ch == '\0') return bad(c, "unsupported character in string");
        c->i++;
    }
    if (at_end(c)) return bad(c, "unterminated string");
    size_t len = c->i - start;
    c->i++; /* closing quote */
    if (len >= cap) len = cap - 1; /* long strings are kept truncated: they match no key/descr */
    memcpy(out, c->s + start, len);
    out[len] = '\0';
    return AF_OK;
}

static af_status parse_bool(cursor *c, int *out)
{
    skip_ws(c);
    const char *p = c->s + c->i;
    size_t left = c->n - c->i;
    if (left >= 4 && memcmp(p, "True", 4) == 0) {
        *out = 1;
        c->i += 4;
    } else if (left >= 5 && memcmp(p, "False", 5) == 0) {
        *out = 0;
        c->i += 5;
    } else {
        return bad(c, "fortran_order is not True or False");
    }
    char next = peek(c);
    if ((next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z') || next == '_' ||
        (next >= '0' && next <= '9'))
        return bad(c, "fortran_order is not True or False");
    return AF_OK;
}

/* A non-negative Python int (decimal, no leading zeros, optional Python 2 'L' suffix). */
static af_status parse_dim(cursor *c, int64_t *out)
{
    skip_ws(c);
    if (peek(c) == '-') return af_err_set(c->err, AF_ERR_FORMAT, "%s: negative dimension in shape", c->file);
    char ch = peek(c);
    if (ch < '0' || ch > '9') return bad(c, "expected a dimension");
    if (ch == '0' && c->i + 1 < c->n && c->s[c->i + 1] >= '0' && c->s[c->i + 1] <= '9')
        return bad(c, "dimension with a leading zero");
    int64_t v = 0;
    while ((ch = peek(c)) >= '0' && ch <= '9') {
        int d = ch - '0';
        if (v > (INT64_MAX - d) / 10)
            return af_err_set(c->err, AF_ERR_FORMAT, "%s: dimension in shape overflows int64", c->file);
        v = v * 10 + d;
        c->i++;
    }
    if (peek(c) == 'L' || peek(c) == 'l') c->i++;
    *out = v;
    return AF_OK;
}

/* A tuple of dims: "()", "(3,)", "(1, 3, 224, 224)", "(1, 3,)". "(3)" is an int, not a tuple. */
static af_status parse_shape(cursor *c, npy_header *h)
{
    af_status st = expect(c, '(', "shape is not a tuple");
    if (st) return st;
    h->rank = 0;
    skip_ws(c);
    if (peek(c) == ')') {
        c->i++;
        return AF_OK;
    }
    for (;;) {
        if (h->rank == AF_MAX_RANK)
            return af_err_set(c->err, AF_ERR_UNSUPPORTED, "%s: rank above %d not supported",
                              c->file, AF_MAX_RANK);
        if ((st = parse_dim(c, &h->dims[h->rank]))) return st;
        h->rank++;
        skip_ws(c);
        if (peek(c) == ')') {
            if (h->rank == 1) return bad(c, "shape (n) is not a tuple (missing comma)");
            c->i++;
            return AF_OK;
        }
        if ((st = expect(c, ',', "expected ',' or ')' in shape"))) return st;
        skip_ws(c);
        if (peek(c) == ')') {
            c->i++;
            return AF_OK;
        }
    }
}

static af_status parse_entry(cursor *c, npy_header *h)
{
    char key[32];
    af_status st = parse_string(c, key, sizeof key);
    if (st) return st;
    if ((st = expect(c, ':', "expected ':' after key"))) return st;
    int *seen;
    if (strcmp(key, "descr") == 0) {
        seen = &h->seen_descr;
        skip_ws(c);
        if (peek(c) == '[')
            return af_err_set(c->err, AF_ERR_UNSUPPORTED, "%s: structured dtypes not supported", c->file);
        st = parse_string(c, h->descr, sizeof h->descr);
    } else if (strcmp(key, "fortran_order") == 0) {
        seen = &h->seen_fortran;
        st = parse_bool(c, &h->fortran);
    } else if (strcmp(key, "shape") == 0) {
        seen = &h->seen_shape;
        st = parse_shape(c, h);
    } else {
        return af_err_set(c->err, AF_ERR_FORMAT, "%s: malformed header: unexpected key '%s'",
                          c->file, key);
    }
    if (st) return st;
    if (*seen) return af_err_set(c->err, AF_ERR_FORMAT, "%s: malformed header: duplicate key '%s'", c->file, key);
    *seen = 1;
    return AF_OK;
}

/* The whole dict: '{' entries separated by ',' (trailing comma allowed) '}' then only padding. */
static af_status parse_dict(cursor *c, npy_header *h)
{
    af_status st = expect(c, '{', "expected '{'");
    if (st) return st;
    for (;;) {
        skip_ws(c);
        if (peek(c) == '}') break;
        if ((st = parse_entry(c, h))) return st;
        skip_ws(c);
        if (peek(c) == ',') {
            c->i++;
            continue;
        }
        if (peek(c) != '}') return bad(c, "expected ',' or '}'");
    }
    c->i++; /* '}' */
    skip_ws(c);
    if (!at_end(c)) return bad(c, "unexpected bytes after the dict");
    if (!h->seen_descr || !h->seen_fortran || !h->seen_shape)
        return af_err_set(c->err, AF_ERR_FORMAT, "%s: malformed header: missing key '%s'", c->file,
                          !h->seen_descr ? "descr" : !h->seen_fortran ? "fortran_order" : "shape");
    return AF_OK;
}

/* ---------------------------------------------------------------- sizes */

/* Element count × element size with overflow checks; 0 when any dim is 0. */
static af_status shape_bytes(int rank, const int64_t *dims, size_t elem, const char *file,
                             size_t *out, af_err *err)
{
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0) return af_err_set(err, AF_ERR_FORMAT, "%s: negative dimension in shape", file);
        if (dims[i] == 0) {
            *out = 0;
            return AF_OK;
        }
    }
    size_t total = elem;
    for (int i = 0; i < rank; i++) {
        if ((uint64_t)dims[i] > SIZE_MAX || total > SIZE_MAX / (size_t)dims[i])
            return af_err_set(err, AF_ERR_FORMAT, "%s: shape is too large (size overflows)", file);
        total *= (size_t)dims[i];
    }
    *out = total;
    return AF_OK;
}

/* ---------------------------------------------------------------- parse */

static uint32_t rd_le(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Checks magic and version; returns the header's byte range [*start, *end) within size. */
static af_status parse_preamble(const unsigned char *b, size_t size, const char *file,
                                size_t *start, size_t *end, af_err *err)
{
    size_t m = size < sizeof NPY_MAGIC ? size : sizeof NPY_MAGIC;
    if (size == 0 || memcmp(b, NPY_MAGIC, m) != 0)
        return af_err_set(err, AF_ERR_FORMAT, "%s: not a .npy file (bad magic)", file);
    if (size < 8) return af_err_set(err, AF_ERR_FORMAT, "%s: truncated header", file);
    int major = b[6], minor = b[7];
    if (major < 1 || major > 3 || minor != 0)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: .npy format version %d.%d not supported",
                          file, major, minor);
    int lenbytes = major == 1 ? 2 : 4;
    if (size < 8 + (size_t)lenbytes)
        return af_err_set(err, AF_ERR_FORMAT, "%s: truncated header", file);
    uint32_t hlen = rd_le(b + 8, lenbytes);
    *start = 8 + (size_t)lenbytes;
    if (hlen > size - *start)
        return af_err_set(err, AF_ERR_FORMAT,
                          "%s: header length %u goes beyond the end of the file (%zu bytes)", file,
                          (unsigned)hlen, size);
    *end = *start + hlen;
    return AF_OK;
}

static af_status check_data_size(size_t have, size_t want, const char *file, af_err *err)
{
    if (have < want)
        return af_err_set(err, AF_ERR_FORMAT, "%s: data truncated: shape needs %zu bytes, file has %zu",
                          file, want, have);
    if (have > want)
        return af_err_set(err, AF_ERR_FORMAT, "%s: %zu trailing bytes after the data", file,
                          have - want);
    return AF_OK;
}

/* <f8 data → f32 (round to nearest; the ANE has no fp64). */
static void narrow_f64(const unsigned char *src, float *dst, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, src + 8 * i, sizeof v);
        dst[i] = (float)v;
    }
}

af_status af_npy_parse(const void *buf, size_t size, const char *display_name, af_npy *out,
                       af_err *err)
{
    const char *file = display_name ? display_name : "<memory>";
    if (!out) return af_err_set(err, AF_ERR_USAGE, "%s: af_npy_parse: no output record", file);
    memset(out, 0, sizeof *out);
    if (!buf && size) return af_err_set(err, AF_ERR_USAGE, "%s: af_npy_parse: NULL buffer", file);
    const unsigned char *b = buf;
    size_t start = 0, end = 0;
    af_status st = parse_preamble(b, size, file, &start, &end, err);
    if (st) return st;
    npy_header h;
    memset(&h, 0, sizeof h);
    cursor c = {(const char *)b + start, end - start, 0, file, err};
    if ((st = parse_dict(&c, &h))) return st;
    af_dtype dtype = AF_DTYPE_F32;
    if ((st = descr_to_dtype(h.descr, file, &dtype, err))) return st;
    if (h.fortran)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: fortran_order True not supported", file);
    int f64 = !strcmp(h.descr, "<f8");
    size_t nbytes = 0;
    if ((st = shape_bytes(h.rank, h.dims, f64 ? 8 : af_dtype_size(dtype), file, &nbytes, err)))
        return st;
    if ((st = check_data_size(size - end, nbytes, file, err))) return st;
    if (f64) nbytes /= 2;
    void *data = malloc(nbytes ? nbytes : 1);
    if (!data) return af_err_set(err, AF_ERR_NOMEM, "%s: out of memory (%zu bytes)", file, nbytes);
    if (f64) narrow_f64(b + end, (float *)data, nbytes / sizeof(float));
    else if (nbytes) memcpy(data, b + end, nbytes);
    out->from_f64 = f64;
    out->dtype = dtype;
    out->rank = h.rank;
    memcpy(out->dims, h.dims, sizeof h.dims);
    out->data = data;
    out->nbytes = nbytes;
    return AF_OK;
}

/* ---------------------------------------------------------------- read file */

static af_status read_whole_file(const char *path, unsigned char **out, size_t *size, af_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return af_err_set(err, AF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return af_err_set(err, AF_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > SIZE_MAX - 1) {
        fclose(f);
        return af_err_set(err, AF_ERR_NOMEM, "%s: file too large", path);
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return af_err_set(err, AF_ERR_NOMEM, "%s: out of memory (%zu bytes)", path, n);
    }
    size_t got = fread(buf, 1, n, f);
    int failed = ferror(f) || got != n || fgetc(f) != EOF;
    fclose(f);
    if (failed) {
        free(buf);
        return af_err_set(err, AF_ERR_IO, "%s: read failed (file changed or unreadable)", path);
    }
    *out = buf;
    *size = n;
    return AF_OK;
}

af_status af_npy_read_file(const char *path, af_npy *out, af_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) return af_err_set(err, AF_ERR_USAGE, "af_npy_read_file: NULL argument");
    unsigned char *buf = NULL;
    size_t size = 0;
    af_status st = read_whole_file(path, &buf, &size, err);
    if (st) return st;
    st = af_npy_parse(buf, size, path, out, err);
    free(buf);
    return st;
}

void af_npy_free(af_npy *n)
{
    if (!n) return;
    free(n->data);
    memset(n, 0, sizeof *n);
}

/* ---------------------------------------------------------------- write */

/* numpy 1.24's header: dict repr, spare room for the first axis, spaces, '\n'; total length
 * (10-byte preamble included) a multiple of 64. Returns the header length (without preamble). */
static size_t format_header(const char *descr, int rank, const int64_t *dims, char *out, size_t cap)
{
    char shape[AF_MAX_RANK * 24 + 4];
    size_t n = 0;
    shape[n++] = '(';
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(shape + n, sizeof shape - n, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (rank == 1) shape[n++] = ',';
    shape[n++] = ')';
    shape[n] = '\0';
    int len = snprintf(out, cap, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    size_t h = (size_t)len;
    if (rank > 0) {
        char first[24];
        int digits = snprintf(first, sizeof first, "%lld", (long long)dims[0]);
        for (int i = digits; i < NPY_GROWTH_DIGITS; i++) out[h++] = ' ';
    }
    size_t total = 10 + h + 1;
    size_t pad = NPY_ALIGN - total % NPY_ALIGN;
    if (pad == NPY_ALIGN) pad = 0;
    memset(out + h, ' ', pad);
    h += pad;
    out[h++] = '\n';
    return h;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates a new, unique temp file beside path; fills tmp (cap bytes). Returns fd or -1. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    static atomic_uint counter; /* O_EXCL makes a clash with another process a retry, not a bug */
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&counter, 1u));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

static af_status check_write_args(const char *path, af_dtype dtype, int rank, const int64_t *dims,
                                  const void *data, size_t *nbytes, af_err *err)
{
    if (!path) return af_err_set(err, AF_ERR_USAGE, "af_npy_write_file: NULL path");
    if ((unsigned)dtype >= AF_DTYPE_COUNT || !af_dtype_table[dtype].npy_descr)
        return af_err_set(err, AF_ERR_UNSUPPORTED, "%s: dtype %s has no .npy equivalent", path,
                          af_dtype_name(dtype));
    if (rank < 0 || rank > AF_MAX_RANK || (rank > 0 && !dims))
        return af_err_set(err, AF_ERR_USAGE, "%s: bad rank %d", path, rank);
    for (int i = 0; i < rank; i++)
        if (dims[i] < 0) return af_err_set(err, AF_ERR_USAGE, "%s: negative dimension %lld", path, (long long)dims[i]);
    af_status st = shape_bytes(rank, dims, af_dtype_size(dtype), path, nbytes, err);
    if (st) return st;
    if (*nbytes && !data) return af_err_set(err, AF_ERR_USAGE, "%s: NULL data", path);
    return AF_OK;
}

af_status af_npy_write_file(const char *path, af_dtype dtype, int rank, const int64_t *dims,
                            const void *data, af_err *err)
{
    size_t nbytes = 0;
    af_status st = check_write_args(path, dtype, rank, dims, data, &nbytes, err);
    if (st) return st;
    unsigned char pre[10 + 512];
    memcpy(pre, NPY_MAGIC, sizeof NPY_MAGIC);
    pre[6] = 1;
    pre[7] = 0;
    size_t hlen = format_header(af_dtype_table[dtype].npy_descr, rank, dims, (char *)pre + 10, sizeof pre - 10);
    pre[8] = (unsigned char)(hlen & 0xff);
    pre[9] = (unsigned char)(hlen >> 8);

    size_t cap = strlen(path) + 48;
    char *tmp = malloc(cap);
    if (!tmp) return af_err_set(err, AF_ERR_NOMEM, "%s: out of memory", path);
    int fd = open_temp(path, tmp, cap);
    if (fd < 0) {
        st = af_err_set(err, AF_ERR_IO, "%s: cannot create temp file: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    int failed = write_all(fd, pre, 10 + hlen) || (nbytes && write_all(fd, data, nbytes)) || fsync(fd);
    int saved = errno;
    if (close(fd) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        unlink(tmp);
        st = af_err_set(err, AF_ERR_IO, "%s: write failed: %s", path, strerror(saved));
    }
    free(tmp);
    return failed ? st : AF_OK;
}

/* ---------------------------------------------------------------- names */

char *af_npy_file_name(const char *tensor_name, char *out, size_t size)
{
    if (!out || size == 0) return out;
    size_t i = 0;
    for (; tensor_name && tensor_name[i] && i + 1 < size; i++) {
        unsigned char ch = (unsigned char)tensor_name[i];
        int ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || ch == '.' || ch == '-';
        out[i] = ok ? (char)ch : '_';
    }
    out[i] = '\0';
    return out;
}

af_status af_npy_path(const char *dir, const char *tensor_name, char *out, size_t size, af_err *err)
{
    if (!dir || !tensor_name || !out || size == 0)
        return af_err_set(err, AF_ERR_USAGE, "af_npy_path: NULL argument");
    size_t dl = strlen(dir), nl = strlen(tensor_name);
    int slash = dl > 0 && dir[dl - 1] != '/';
    if (dl + (size_t)slash + nl + 5 > size)
        return af_err_set(err, AF_ERR_USAGE, "%s: path for tensor '%s' too long", dir, tensor_name);
    memcpy(out, dir, dl);
    if (slash) out[dl++] = '/';
    af_npy_file_name(tensor_name, out + dl, nl + 1);
    memcpy(out + dl + nl, ".npy", 5);
    return AF_OK;
}

/* The sanitized name first (what `run --outputs` writes), then the exact tensor name. */
af_status af_npy_read_input(const char *dir, const char *tensor_name, af_npy *out, char *path,
                            size_t path_size, af_err *err)
{
    if (out) memset(out, 0, sizeof *out);
    if (!dir || !tensor_name || !out || !path || !path_size)
        return af_err_set(err, AF_ERR_USAGE, "af_npy_read_input: NULL argument");
    af_status st = af_npy_path(dir, tensor_name, path, path_size, err);
    if (st) return st;
    struct stat sb;
    char exact[4096];
    int n = snprintf(exact, sizeof exact, "%s/%s.npy", dir, tensor_name);
    int other = n > 0 && (size_t)n < sizeof exact && (size_t)n < path_size && strcmp(exact, path);
    if (stat(path, &sb) != 0 && other) {
        if (stat(exact, &sb) != 0)
            return af_err_set(err, AF_ERR_IO, "%s: cannot open: %s (nor %s)", path,
                              strerror(errno), exact);
        memcpy(path, exact, (size_t)n + 1);
    }
    return af_npy_read_file(path, out, err);
}

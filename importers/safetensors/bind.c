/* importers/safetensors/bind.c — safetensors weights → graph initializers (see bind.h). */
#include "bind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors.h"

#define MAX_TEXT_FILE (64u << 20) /* weight maps and indexes */

typedef struct bind_src {
    st_file *f;
    char *path;
} bind_src;

typedef struct bind_ent {
    char *name; /* after the weight map */
    int src;
    size_t t;   /* index in the source's tensor table */
} bind_ent;

typedef struct bind_ctx {
    af_graph *g;
    af_err *err;
    bind_src *src;
    int n_src, cap_src;
    bind_ent *ent;
    size_t n_ent, cap_ent;
} bind_ctx;

static af_status st_to_af(st_status s)
{
    return s == ST_ERR_IO ? AF_ERR_IO : s == ST_ERR_NOMEM ? AF_ERR_NOMEM : AF_ERR_FORMAT;
}

static af_status read_text(const char *path, char **buf, size_t *len, af_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return af_err_set(err, AF_ERR_IO, "%s: cannot open the file", path);
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return af_err_set(err, AF_ERR_IO, "%s: cannot read the file", path);
    }
    if ((unsigned long)n > MAX_TEXT_FILE) {
        fclose(f);
        return af_err_set(err, AF_ERR_FORMAT, "%s: %ld bytes, above the %u-byte limit", path, n,
                          MAX_TEXT_FILE);
    }
    *buf = malloc((size_t)n + 1);
    if (!*buf) {
        fclose(f);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    *len = fread(*buf, 1, (size_t)n, f);
    fclose(f);
    (*buf)[*len] = '\0';
    if (*len != (size_t)n) {
        free(*buf);
        return af_err_set(err, AF_ERR_IO, "%s: read error", path);
    }
    return AF_OK;
}

/* ---- weight map ---- */

static af_status map_add(af_st_map *m, int exact, const char *from, const char *to)
{
    af_st_rule *r = realloc(m->rules, (size_t)(m->n_rules + 1) * sizeof *r);
    if (!r) return AF_ERR_NOMEM;
    m->rules = r;
    r = &m->rules[m->n_rules];
    r->exact = exact;
    r->from = strdup(from);
    r->to = strdup(to);
    if (!r->from || !r->to) {
        free(r->from);
        free(r->to);
        return AF_ERR_NOMEM;
    }
    m->n_rules++;
    return AF_OK;
}

/* One line: fields split by blanks, '#' to the end of the line is a comment. */
static af_status map_line(af_st_map *m, char *line, const char *name, int lineno, af_err *err)
{
    char *hash = strchr(line, '#');
    if (hash) *hash = '\0';
    char *f[4];
    int n = 0;
    for (char *tok = strtok(line, " \t\r"); tok; tok = strtok(NULL, " \t\r"))
        if (n < 4) f[n++] = tok;
        else return af_err_set(err, AF_ERR_FORMAT, "%s:%d: too many fields", name, lineno);
    if (n == 0) return AF_OK;
    int want = !strcmp(f[0], "strip") ? 2 : (!strcmp(f[0], "rename") || !strcmp(f[0], "prefix")) ? 3 : 0;
    if (!want)
        return af_err_set(err, AF_ERR_FORMAT, "%s:%d: unknown rule '%.40s' (known: rename, prefix, "
                          "strip)", name, lineno, f[0]);
    if (n != want)
        return af_err_set(err, AF_ERR_FORMAT, "%s:%d: '%s' takes %d names, got %d", name, lineno,
                          f[0], want - 1, n - 1);
    int exact = !strcmp(f[0], "rename");
    for (int i = 0; i < m->n_rules; i++)
        if (m->rules[i].exact == exact && !strcmp(m->rules[i].from, f[1]))
            return af_err_set(err, AF_ERR_FORMAT, "%s:%d: a second rule for '%.80s'", name, lineno, f[1]);
    if (map_add(m, exact, f[1], n == 3 ? f[2] : "") != AF_OK)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    return AF_OK;
}

af_status af_st_map_parse(const char *text, size_t len, const char *name, af_st_map *m, af_err *err)
{
    m->rules = NULL;
    m->n_rules = 0;
    char *copy = malloc(len + 1);
    if (!copy) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    memcpy(copy, text, len);
    copy[len] = '\0';
    if (strlen(copy) != len) {
        free(copy);
        return af_err_set(err, AF_ERR_FORMAT, "%s: a NUL byte in a text file", name);
    }
    af_status st = AF_OK;
    int lineno = 1;
    for (char *line = copy; line && !st; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        st = map_line(m, line, name, lineno, err);
        line = nl ? nl + 1 : NULL;
    }
    free(copy);
    if (st) af_st_map_free(m);
    return st;
}

af_status af_st_map_load(const char *path, af_st_map *m, af_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    m->rules = NULL;
    m->n_rules = 0;
    if (read_text(path, &buf, &len, err) != AF_OK) return err->code;
    af_status st = af_st_map_parse(buf, len, path, m, err);
    free(buf);
    return st;
}

char *af_st_map_apply(const af_st_map *m, const char *name)
{
    const af_st_rule *best = NULL;
    size_t best_len = 0;
    for (int i = 0; m && i < m->n_rules; i++) {
        const af_st_rule *r = &m->rules[i];
        size_t n = strlen(r->from);
        if (r->exact && !strcmp(name, r->from)) return strdup(r->to);
        if (!r->exact && !strncmp(name, r->from, n) && (!best || n > best_len)) best = r, best_len = n;
    }
    if (!best) return strdup(name);
    size_t a = strlen(best->to), b = strlen(name + best_len);
    char *s = malloc(a + b + 1);
    if (!s) return NULL;
    memcpy(s, best->to, a);
    memcpy(s + a, name + best_len, b + 1);
    return s;
}

void af_st_map_free(af_st_map *m)
{
    for (int i = 0; i < m->n_rules; i++) {
        free(m->rules[i].from);
        free(m->rules[i].to);
    }
    free(m->rules);
    m->rules = NULL;
    m->n_rules = 0;
}

/* ---- sources ---- */

static af_status add_source(bind_ctx *c, const char *path, int *idx)
{
    if (c->n_src == c->cap_src) {
        int cap = c->cap_src ? c->cap_src * 2 : 8;
        bind_src *s = realloc(c->src, (size_t)cap * sizeof *s);
        if (!s) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
        c->src = s;
        c->cap_src = cap;
    }
    bind_src *s = &c->src[c->n_src];
    st_error e;
    s->f = NULL;
    s->path = strdup(path);
    if (!s->path) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    if (st_open_file(path, &s->f, &e) != ST_OK) {
        free(s->path);
        return af_err_set(c->err, st_to_af(e.code), "%s: %s", path, e.msg);
    }
    *idx = c->n_src++;
    return AF_OK;
}

/* A shard named by an index: a plain relative path inside the index's folder. */
static af_status shard_path(bind_ctx *c, const char *index, const char *file, char *out, size_t size)
{
    if (file[0] == '/' || !strcmp(file, "..") || !strncmp(file, "../", 3) || strstr(file, "/../") ||
        (strlen(file) >= 3 && !strcmp(file + strlen(file) - 3, "/..")))
        return af_err_set(c->err, AF_ERR_FORMAT, "%s: shard '%.80s' is outside the index's folder",
                          index, file);
    const char *slash = strrchr(index, '/');
    int dir = slash ? (int)(slash - index + 1) : 0;
    if ((size_t)snprintf(out, size, "%.*s%s", dir, index, file) >= size)
        return af_err_set(c->err, AF_ERR_USAGE, "%s: shard path too long", index);
    return AF_OK;
}

/* Opens every shard the index names (each once) and checks the index against their contents. */
static af_status add_index(bind_ctx *c, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    if (read_text(path, &buf, &len, c->err) != AF_OK) return c->err->code;
    st_index *ix;
    st_error e;
    st_status ss = st_index_parse(buf, len, &ix, &e);
    free(buf);
    if (ss) return af_err_set(c->err, st_to_af(ss), "%s: %s", path, e.msg);
    af_status st = AF_OK;
    int first = c->n_src;
    size_t listed = 0;
    for (size_t i = 0; i < ix->n_entries && !st; i++) {
        char sp[4096];
        int s = -1;
        st = shard_path(c, path, ix->entries[i].file, sp, sizeof sp);
        for (int k = first; k < c->n_src && !st && s < 0; k++)
            if (!strcmp(c->src[k].path, sp)) s = k;
        if (!st && s < 0) st = add_source(c, sp, &s);
        if (!st && st_find(c->src[s].f, ix->entries[i].tensor) < 0)
            st = af_err_set(c->err, AF_ERR_FORMAT, "%s: weight_map puts '%.80s' in %s, which does "
                            "not hold it", path, ix->entries[i].tensor, ix->entries[i].file);
    }
    for (int k = first; k < c->n_src; k++) listed += c->src[k].f->n_tensors;
    if (!st && listed != ix->n_entries)
        st = af_err_set(c->err, AF_ERR_FORMAT, "%s: the shards hold %zu tensors, the weight_map "
                        "lists %zu", path, listed, ix->n_entries);
    st_index_free(ix);
    return st;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static af_status collect(bind_ctx *c, const af_st_map *map)
{
    for (int s = 0; s < c->n_src; s++)
        for (size_t t = 0; t < c->src[s].f->n_tensors; t++) {
            if (c->n_ent == c->cap_ent) {
                size_t cap = c->cap_ent ? c->cap_ent * 2 : 256;
                bind_ent *e = realloc(c->ent, cap * sizeof *e);
                if (!e) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
                c->ent = e;
                c->cap_ent = cap;
            }
            char *name = af_st_map_apply(map, c->src[s].f->tensors[t].name);
            if (!name) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
            c->ent[c->n_ent++] = (bind_ent){name, s, t};
        }
    return AF_OK;
}

static int cmp_ent(const void *a, const void *b)
{
    return strcmp(((const bind_ent *)a)->name, ((const bind_ent *)b)->name);
}

static af_status check_unique(bind_ctx *c)
{
    qsort(c->ent, c->n_ent, sizeof *c->ent, cmp_ent);
    for (size_t i = 1; i < c->n_ent; i++)
        if (!strcmp(c->ent[i].name, c->ent[i - 1].name)) {
            const bind_ent *a = &c->ent[i - 1], *b = &c->ent[i];
            return af_err_set(c->err, AF_ERR_FORMAT, "two weights bind to '%.80s': '%.80s' in %s "
                              "and '%.80s' in %s", a->name, c->src[a->src].f->tensors[a->t].name,
                              c->src[a->src].path, c->src[b->src].f->tensors[b->t].name,
                              c->src[b->src].path);
        }
    return AF_OK;
}

/* ---- values ---- */

static int st_to_graph_dtype(st_dtype s, af_dtype *d)
{
    static const struct { st_dtype s; af_dtype d; } same[] = {
        {ST_F32, AF_DTYPE_F32}, {ST_F16, AF_DTYPE_F16}, {ST_BF16, AF_DTYPE_BF16},
        {ST_I8, AF_DTYPE_I8},   {ST_U8, AF_DTYPE_U8},   {ST_I32, AF_DTYPE_I32},
        {ST_I64, AF_DTYPE_I64}, {ST_BOOL, AF_DTYPE_BOOL},
        /* 16/32/64-bit integer types */
        {ST_I16, AF_DTYPE_I16}, {ST_U16, AF_DTYPE_U16}, {ST_U32, AF_DTYPE_U32}, {ST_U64, AF_DTYPE_U64},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (same[i].s == s) { *d = same[i].d; return 0; }
    return -1;
}

static int is_float_dst(af_dtype d) { return d == AF_DTYPE_F32 || d == AF_DTYPE_F16 || d == AF_DTYPE_BF16; }

/* Element i of a float source as f32 (F64 rounds to nearest). Little-endian host assumed. */
static float src_float(st_dtype s, const unsigned char *p, size_t i)
{
    if (s == ST_F32) { float v; memcpy(&v, p + 4 * i, 4); return v; }
    if (s == ST_F64) { double v; memcpy(&v, p + 8 * i, 8); return (float)v; }
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    return s == ST_F16 ? af_f16_to_f32(h) : af_bf16_to_f32(h);
}

static void put_float(af_dtype d, unsigned char *p, size_t i, float v)
{
    if (d == AF_DTYPE_F32) { memcpy(p + 4 * i, &v, 4); return; }
    uint16_t h = d == AF_DTYPE_F16 ? af_f32_to_f16(v) : af_f32_to_bf16(v);
    memcpy(p + 2 * i, &h, 2);
}

static af_status check_shape(bind_ctx *c, const bind_ent *e, const st_tensor *st, const af_tensor *t)
{
    int same = st->rank == t->rank;
    for (int d = 0; same && d < t->rank; d++) same = st->shape[d] == (uint64_t)t->dims[d];
    if (same) return AF_OK;
    char fs[200] = "[", gs[200];
    for (int d = 0; d < st->rank; d++) {
        size_t n = strlen(fs);
        snprintf(fs + n, sizeof fs - n, "%s%llu", d ? "," : "", (unsigned long long)st->shape[d]);
    }
    strncat(fs, "]", sizeof fs - strlen(fs) - 1);
    return af_err_set(c->err, AF_ERR_SHAPE, "%s: tensor '%.80s' has shape %s in the file, the "
                      "model's initializer '%.80s' has %s", c->src[e->src].path, st->name, fs,
                      e->name, af_shape_str(t->rank, t->dims, gs, sizeof gs));
}

/* Reads the file tensor, converts it to the initializer's dtype, and gives it to the graph. */
static af_status bind_one(bind_ctx *c, const bind_ent *e, af_tensor *t, int *converted)
{
    bind_src *s = &c->src[e->src];
    const st_tensor *st = &s->f->tensors[e->t];
    if (check_shape(c, e, st, t)) return c->err->code;
    af_dtype same;
    int direct = st_to_graph_dtype(st->dtype, &same) == 0 && same == t->dtype;
    int floats = (st->dtype == ST_F32 || st->dtype == ST_F16 || st->dtype == ST_BF16 ||
                  st->dtype == ST_F64) && is_float_dst(t->dtype);
    if (!direct && !floats)
        return af_err_set(c->err, AF_ERR_UNSUPPORTED, "%s: tensor '%.80s' is %s, the model's "
                          "initializer '%.80s' is %s: no conversion", s->path, st->name,
                          st_dtype_name(st->dtype), e->name, af_dtype_name(t->dtype));
    size_t n = (size_t)(st->end - st->begin), out = (size_t)st->numel * af_dtype_size(t->dtype);
    unsigned char *raw = malloc(n ? n : 1), *dst = direct ? raw : malloc(out ? out : 1);
    st_error se;
    if (!raw || !dst) {
        free(raw);
        if (!direct) free(dst);
        return af_err_set(c->err, AF_ERR_NOMEM, "out of memory reading '%.80s'", st->name);
    }
    if (st_read_tensor(s->f, st, raw, n, &se) != ST_OK) {
        free(raw);
        if (!direct) free(dst);
        return af_err_set(c->err, st_to_af(se.code), "%s: %s", s->path, se.msg);
    }
    if (!direct) {
        for (size_t i = 0; i < (size_t)st->numel; i++) put_float(t->dtype, dst, i, src_float(st->dtype, raw, i));
        free(raw);
        (*converted)++;
    }
    af_tensor_set_data(t, dst);
    return AF_OK;
}

static void note_add(char *note, size_t size, int *first, const char *name)
{
    size_t n = strlen(note);
    if (n + 8 >= size) return;
    if (n + strlen(name) + 6 >= size) {
        snprintf(note + n, size - n, ", ...");
        note[size - 1] = '\0';
        return;
    }
    snprintf(note + n, size - n, "%s'%s'", *first ? "" : ", ", name);
    *first = 0;
}

/* Binds every entry; lists the unmatched and uncovered names into r. */
static af_status bind_all(bind_ctx *c, af_st_bind_report *r)
{
    af_graph *g = c->g;
    char *bound = calloc((size_t)g->n_tensors + 1, 1);
    if (!bound) return af_err_set(c->err, AF_ERR_NOMEM, "out of memory");
    char unm[512] = "", unc[512] = "";
    int f1 = 1, f2 = 1;
    af_status st = AF_OK;
    for (size_t i = 0; i < c->n_ent && !st; i++) {
        int t = af_graph_find_tensor(g, c->ent[i].name);
        if (t < 0 || !(g->tensors[t].flags & AF_TENSOR_INITIALIZER) || !g->tensors[t].data) {
            r->unmatched++;
            note_add(unm, sizeof unm, &f1, c->ent[i].name);
            continue;
        }
        st = bind_one(c, &c->ent[i], &g->tensors[t], &r->converted);
        bound[t] = 1;
        r->bound++;
    }
    for (int t = 0; t < g->n_tensors && !st; t++)
        if ((g->tensors[t].flags & AF_TENSOR_INITIALIZER) && g->tensors[t].data && !bound[t]) {
            r->uncovered++;
            note_add(unc, sizeof unc, &f2, g->tensors[t].name);
        }
    free(bound);
    if (st) return st;
    snprintf(r->note, sizeof r->note, "%s%d file tensor%s with no initializer%s%s; %d "
             "initializer%s not in the files%s%s", "", r->unmatched, r->unmatched == 1 ? "" : "s",
             r->unmatched ? ": " : "", unm, r->uncovered, r->uncovered == 1 ? "" : "s",
             r->uncovered ? ": " : "", unc);
    if (!r->unmatched && !r->uncovered) r->note[0] = '\0';
    return AF_OK;
}

af_status af_st_bind(af_graph *g, const af_st_bind_options *o, af_st_bind_report *r, af_err *err)
{
    af_st_bind_report local;
    if (!r) r = &local;
    memset(r, 0, sizeof *r);
    if (!g || !o || (o->n_paths && !o->paths))
        return af_err_set(err, AF_ERR_USAGE, "af_st_bind: NULL argument");
    bind_ctx c = {g, err, NULL, 0, 0, NULL, 0, 0};
    af_st_map map = {NULL, 0};
    af_status st = o->weight_map ? af_st_map_load(o->weight_map, &map, err) : AF_OK;
    for (int i = 0; i < o->n_paths && !st; i++) {
        int idx;
        st = ends_with(o->paths[i], ".json") ? add_index(&c, o->paths[i])
                                             : add_source(&c, o->paths[i], &idx);
    }
    if (!st) st = collect(&c, &map);
    if (!st) st = check_unique(&c);
    if (!st) st = bind_all(&c, r);
    r->files = c.n_src;
    if (!st && r->note[0] && !o->allow_partial)
        st = af_err_set(err, AF_ERR_FORMAT, "weights do not match the model: %s (--allow-partial "
                        "accepts this)", r->note);
    for (size_t i = 0; i < c.n_ent; i++) free(c.ent[i].name);
    free(c.ent);
    for (int i = 0; i < c.n_src; i++) {
        st_close(c.src[i].f);
        free(c.src[i].path);
    }
    free(c.src);
    af_st_map_free(&map);
    if (st && err) /* tensor names may hold control bytes: keep the message one line */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20) *c = '?';
    return st;
}

/* compress/calib.c — graph evaluation with replaceable constants, and calibration inputs. */
#include "calib.h"

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../importers/npy/npy.h"

af_tview af_geval_view(const af_geval *e, int t)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    if (t < 0) return v;
    const af_tensor *x = &e->g->tensors[t];
    v.dtype = x->dtype;
    v.rank = x->rank;
    memcpy(v.dims, x->dims, sizeof v.dims);
    v.data = x->data ? (void *)(e->over[t] ? e->over[t] : x->data) : e->buf[t];
    return v;
}

#define MAX_IO 64

static int node_views(const af_geval *e, const af_node *n, af_tview *in, af_tview *out)
{
    if (n->n_in > MAX_IO || n->n_out > MAX_IO) return 0;
    for (int k = 0; k < n->n_in; k++) in[k] = af_geval_view(e, n->in[k]);
    for (int k = 0; k < n->n_out; k++) out[k] = af_geval_view(e, n->out[k]);
    return 1;
}

/* The activation buffer of tensor t, allocated (zeroed) when missing. */
static af_status alloc_buf(af_geval *e, int t, af_err *err)
{
    const af_tensor *x = &e->g->tensors[t];
    if (x->data || e->buf[t]) return AF_OK;
    if (!(e->buf[t] = calloc(1, (size_t)af_tensor_nbytes(x) + 1)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for activation '%s'", x->name);
    return AF_OK;
}

af_status af_geval_init(af_geval *e, const af_graph *g, af_err *err)
{
    memset(e, 0, sizeof *e);
    e->g = g;
    e->buf = calloc((size_t)g->n_tensors + 1, sizeof *e->buf);
    e->over = calloc((size_t)g->n_tensors + 1, sizeof *e->over);
    e->last_use = malloc(((size_t)g->n_tensors + 1) * sizeof *e->last_use);
    if (!e->buf || !e->over || !e->last_use) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int i = 0; i < g->n_tensors; i++) {
        if (!g->tensors[i].data && af_tensor_nbytes(&g->tensors[i]) < 0)
            return af_err_set(err, AF_ERR_INTERNAL, "tensor '%s': shape unknown",
                              g->tensors[i].name);
        e->last_use[i] = -1;
    }
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) e->last_use[g->nodes[i].in[k]] = i;
    for (int k = 0; k < g->n_outputs; k++) e->last_use[g->outputs[k]] = INT_MAX; /* kept */
    for (int k = 0; k < g->n_inputs; k++) { /* inputs: allocated once, kept */
        int t = g->inputs[k];
        e->last_use[t] = INT_MAX;
        if (alloc_buf(e, t, err) != AF_OK) return err->code;
    }
    size_t need = 0;
    af_tview in[MAX_IO], out[MAX_IO];
    for (int i = 0; i < g->n_nodes; i++) {
        const af_node *n = &g->nodes[i];
        if (n->op == AF_OP_NONE) continue;
        if (!node_views(e, n, in, out))
            return af_err_set(err, AF_ERR_UNSUPPORTED, "node '%s': too many inputs", n->name);
        size_t b = af_kernel_scratch_bytes(n->op, &n->p, in, n->n_in, out, n->n_out);
        if (b > need) need = b;
    }
    /* every online core (at most 8): the kernels' results do not depend on the thread count */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    e->scratch_bytes = ((need + 63) & ~(size_t)63) * (size_t)nt; /* one slice per thread */
    if (need && !(e->scratch = aligned_alloc(64, e->scratch_bytes)))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for scratch");
    if (nt > 1 && afk_pool_create(nt, &e->ctx.pool, err) != AF_OK) return err->code;
    e->ctx.scratch = e->scratch;
    e->ctx.scratch_bytes = e->scratch_bytes;
    e->ctx.n_threads = nt;
    return AF_OK;
}

void af_geval_free(af_geval *e)
{
    if (e->buf)
        for (int i = 0; i < e->g->n_tensors; i++) free(e->buf[i]);
    free(e->buf);
    free(e->over);
    free(e->last_use);
    free(e->scratch);
    afk_pool_free(e->ctx.pool);
    memset(e, 0, sizeof *e);
}

af_status af_geval_node(af_geval *e, int i, void *out_data, af_err *err)
{
    const af_node *n = &e->g->nodes[i];
    af_tview in[MAX_IO], out[MAX_IO];
    if (n->op == AF_OP_NONE) return AF_OK;
    for (int k = 0; k < n->n_out; k++)
        if (n->out[k] >= 0 && (k || !out_data) && alloc_buf(e, n->out[k], err) != AF_OK)
            return err->code;
    node_views(e, n, in, out);
    if (out_data) out[0].data = out_data;
    if (af_kernel_run(n->op, &n->p, in, n->n_in, out, n->n_out, &e->ctx, err) != AF_OK)
        return af_err_prefix(err, n->name);
    return AF_OK;
}

af_status af_geval_run(af_geval *e, af_err *err)
{
    for (int i = 0; i < e->g->n_nodes; i++)
        if (af_geval_node(e, i, NULL, err) != AF_OK) return err->code;
    return AF_OK;
}

static void drop_dead(af_geval *e, const af_node *n, int i)
{
    for (int k = 0; k < n->n_in + n->n_out; k++) {
        int t = k < n->n_in ? n->in[k] : n->out[k - n->n_in];
        if (t >= 0 && e->last_use[t] <= i && e->buf[t]) {
            free(e->buf[t]);
            e->buf[t] = NULL;
        }
    }
}

af_status af_geval_run_live(af_geval *e, af_geval_hook pre, af_geval_hook post, void *user,
                            af_err *err)
{
    for (int i = 0; i < e->g->n_nodes; i++) {
        if ((pre && pre(user, i, err) != AF_OK) || af_geval_node(e, i, NULL, err) != AF_OK ||
            (post && post(user, i, err) != AF_OK))
            return err->code;
        drop_dead(e, &e->g->nodes[i], i);
    }
    return AF_OK;
}

/* ---- calibration inputs ---------------------------------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return *s;
}

static void random_normal(float *x, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i += 2) { /* Box-Muller on two uniforms in (0, 1] */
        double u1 = ((rng_next(s) >> 11) + 1.0) / 9007199254740992.0;
        double u2 = ((rng_next(s) >> 11) + 1.0) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        x[i] = (float)(r * cos(6.283185307179586 * u2));
        if (i + 1 < n) x[i + 1] = (float)(r * sin(6.283185307179586 * u2));
    }
}

static af_status load_one(const af_graph *g, const char *dir, void **set, af_err *err)
{
    for (int k = 0; k < g->n_inputs; k++) {
        const af_tensor *t = &g->tensors[g->inputs[k]];
        char path[4096];
        af_npy npy;
        if (af_npy_path(dir, t->name, path, sizeof path, err) != AF_OK) return err->code;
        if (af_npy_read_file(path, &npy, err) != AF_OK) return err->code;
        int ok = npy.dtype == t->dtype && npy.rank == t->rank &&
                 !memcmp(npy.dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
        if (!ok) {
            char a[128], b[128];
            af_err_set(err, AF_ERR_USAGE, "%s: calibration input is %s %s, '%s' needs %s %s",
                       path, af_dtype_name(npy.dtype), af_shape_str(npy.rank, npy.dims, a, sizeof a),
                       t->name, af_dtype_name(t->dtype), af_shape_str(t->rank, t->dims, b, sizeof b));
            af_npy_free(&npy);
            return err->code;
        }
        set[k] = npy.data; /* ownership moves to the set */
    }
    return AF_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted subfolder names of dir (at most 64). */
static int list_sets(const char *dir, char **names, int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    for (struct dirent *de; (de = readdir(d)) && n < max;) {
        char p[4096];
        struct stat sb;
        if (de->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) names[n++] = strdup(p);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

static af_status alloc_sets(af_calib *c, int n_sets, int n_inputs, af_err *err)
{
    c->inputs = calloc((size_t)n_sets, sizeof *c->inputs);
    if (!c->inputs) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    c->n_sets = n_sets;
    for (int s = 0; s < n_sets; s++)
        if (!(c->inputs[s] = calloc((size_t)n_inputs + 1, sizeof(void *))))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    return AF_OK;
}

static af_status random_set(const af_graph *g, uint32_t seed, af_calib *c, af_err *err)
{
    if (alloc_sets(c, 1, g->n_inputs, err) != AF_OK) return err->code;
    c->random = 1;
    uint64_t s = 0x9e3779b97f4a7c15ull ^ seed;
    for (int k = 0; k < g->n_inputs; k++) {
        const af_tensor *t = &g->tensors[g->inputs[k]];
        int64_t b = af_tensor_nbytes(t);
        if (!(c->inputs[0][k] = calloc(1, (size_t)(b > 0 ? b : 1))))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        if (t->dtype == AF_DTYPE_F32) random_normal(c->inputs[0][k], af_tensor_numel(t), &s);
    }
    return AF_OK;
}

af_status af_calib_load(const af_graph *g, const char *dir, uint32_t seed, af_calib *c,
                        af_err *err)
{
    memset(c, 0, sizeof *c);
    if (!dir) return random_set(g, seed, c, err);
    char path[4096];
    struct stat sb;
    if (g->n_inputs == 0) return af_err_set(err, AF_ERR_USAGE, "--calib: the model has no inputs");
    if (af_npy_path(dir, g->tensors[g->inputs[0]].name, path, sizeof path, err) != AF_OK)
        return err->code;
    if (stat(path, &sb) == 0) {
        if (alloc_sets(c, 1, g->n_inputs, err) != AF_OK) return err->code;
        return load_one(g, dir, c->inputs[0], err);
    }
    char *names[64];
    int n = list_sets(dir, names, 64);
    if (n < 0) return af_err_set(err, AF_ERR_IO, "--calib %s: cannot open the folder", dir);
    af_status st = n ? alloc_sets(c, n, g->n_inputs, err)
                     : af_err_set(err, AF_ERR_USAGE, "--calib %s: no %s and no subfolders with "
                                  "input sets", dir, path);
    for (int s = 0; s < n && st == AF_OK; s++) st = load_one(g, names[s], c->inputs[s], err);
    for (int s = 0; s < n; s++) free(names[s]);
    return st;
}

void af_calib_free(af_calib *c, int n_inputs)
{
    for (int s = 0; c->inputs && s < c->n_sets; s++) {
        for (int k = 0; c->inputs[s] && k < n_inputs; k++) free(c->inputs[s][k]);
        free(c->inputs[s]);
    }
    free(c->inputs);
    memset(c, 0, sizeof *c);
}

void af_calib_set(const af_calib *c, int s, af_geval *e)
{
    const af_graph *g = e->g;
    for (int k = 0; k < g->n_inputs; k++) {
        int t = g->inputs[k];
        int64_t b = af_tensor_nbytes(&g->tensors[t]);
        if (b > 0) memcpy(e->buf[t], c->inputs[s][k], (size_t)b);
    }
}

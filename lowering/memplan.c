/* lowering/memplan.c — the activation memory plan.
 *
 * Every non-constant tensor gets a byte offset in one arena. Liveness is [producer, last
 * reader]; graph inputs are live from the start and graph outputs to the end. Nodes are
 * visited in order: outputs are placed first-fit into the gaps between live blocks, then the
 * inputs whose last reader this was are released. A reshape/identity whose input dies there
 * takes over the input's block (in place, no copy). Blocks are 64-byte aligned.
 *
 * In-place Concat (memplan_concat.c chooses): an input living inside its Concat's output takes
 * no block of its own; the output's block (the group's root, following chains of Concats) is
 * placed when the first of its parts is produced and released after the root's last reader. */
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "memplan.h"

#define PLAN_ALIGN 64
/* Shapes come from the model file: an arena beyond 2^50 bytes (1 PiB) is refused, which also
 * keeps every offset + size sum far from int64 overflow. */
#define PLAN_MAX_BYTES ((int64_t)1 << 50)

typedef struct block {
    int64_t off, size;
    int owner; /* tensor index */
} block;

typedef struct plan {
    block *live;
    int n_live;
    int64_t top;
    int *last_use;
    int *parent;     /* per tensor: the Concat output it lives inside, or -1 (memplan.h) */
    int64_t *sub;    /* per tensor: its byte offset inside parent */
} plan;

static int64_t align_up(int64_t n) { return (n + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

static int block_cmp(const void *a, const void *b)
{
    int64_t x = ((const block *)a)->off, y = ((const block *)b)->off;
    return (x > y) - (x < y);
}

/* First gap between live blocks (kept sorted by offset) that fits size. */
static int64_t find_gap(const plan *p, int64_t size)
{
    int64_t cur = 0;
    for (int i = 0; i < p->n_live; i++) {
        if (p->live[i].off - cur >= size) return cur;
        int64_t end = p->live[i].off + p->live[i].size;
        if (end > cur) cur = end;
    }
    return cur;
}

/* The aligned block size of t, or -1 when unknown or beyond PLAN_MAX_BYTES. */
static int64_t block_size(const af_tensor *t)
{
    int64_t n = af_tensor_nbytes(t);
    return n < 0 || n > PLAN_MAX_BYTES ? -1 : align_up(n);
}

/* Returns -1 (nothing placed) when the block would end beyond PLAN_MAX_BYTES. */
static int place(plan *p, af_tensor *t, int id, int64_t off, int64_t size)
{
    if (size < 0 || off > PLAN_MAX_BYTES - size) return -1;
    t->mem_offset = off;
    p->live[p->n_live++] = (block){off, size, id};
    qsort(p->live, (size_t)p->n_live, sizeof(block), block_cmp);
    if (off + size > p->top) p->top = off + size;
    return 0;
}

static void release(plan *p, int owner)
{
    for (int i = 0; i < p->n_live; i++) {
        if (p->live[i].owner != owner) continue;
        memmove(&p->live[i], &p->live[i + 1], sizeof(block) * (size_t)(p->n_live - i - 1));
        p->n_live--;
        return;
    }
}

static int transfer(plan *p, int from, int to)
{
    for (int i = 0; i < p->n_live; i++)
        if (p->live[i].owner == from) {
            p->live[i].owner = to;
            return 1;
        }
    return 0;
}

static int pinned(const af_tensor *t) { return (t->flags & (AF_TENSOR_INPUT | AF_TENSOR_OUTPUT)) != 0; }

static void compute_last_use(const af_graph *g, int *last)
{
    for (int i = 0; i < g->n_tensors; i++) last[i] = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] >= 0) last[g->nodes[i].in[k]] = i;
    for (int k = 0; k < g->n_outputs; k++) last[g->outputs[k]] = g->n_nodes;
}

/* Places t, which lives inside a Concat output: the root of its chain gets its block now if
 * it has none yet, t sits at its accumulated offset inside it. */
static int place_inside(plan *p, af_graph *g, int t)
{
    int64_t at = 0;
    int r = t;
    for (; p->parent[r] >= 0; r = p->parent[r]) at += p->sub[r];
    af_tensor *root = &g->tensors[r];
    if (root->mem_offset < 0) {
        int64_t size = block_size(root);
        if (size < 0) return r;
        if (place(p, root, r, find_gap(p, size), size)) return r;
    }
    g->tensors[t].mem_offset = root->mem_offset + at; /* at + t's bytes <= root's bytes */
    return -1;
}

/* Returns the tensor that did not fit, or -1. */
static int place_outputs(plan *p, af_graph *g, int i, af_lower_stats *st)
{
    af_node *n = &g->nodes[i];
    int x = n->n_in ? n->in[0] : -1;
    int alias = (n->op == AF_OP_RESHAPE || n->op == AF_OP_IDENTITY) && x >= 0 &&
                !g->tensors[x].data && !pinned(&g->tensors[x]) && p->last_use[x] == i;
    for (int k = 0; k < n->n_out; k++) {
        int y = n->out[k];
        af_tensor *t = &g->tensors[y];
        int64_t size = block_size(t);
        if (size < 0) return y;
        if (st) st->naive_bytes += (uint64_t)size;
        if (p->parent[y] >= 0) {
            int bad = place_inside(p, g, y);
            if (bad >= 0) return bad;
            continue;
        }
        if (t->mem_offset >= 0) continue; /* a Concat root placed with its first part */
        if (k == 0 && alias && transfer(p, x, y)) {
            t->mem_offset = g->tensors[x].mem_offset;
            continue;
        }
        if (place(p, t, y, find_gap(p, size), size)) return y;
    }
    return -1;
}

static void free_plan(plan *p)
{
    free(p->live);
    free(p->last_use);
    free(p->parent);
    free(p->sub);
}

af_status af_lower_plan(af_graph *g, af_lower_stats *st, af_err *err)
{
    return af_lower_plan_ex(g, NULL, st, err);
}

af_status af_lower_plan_ex(af_graph *g, const af_lower_options *opt, af_lower_stats *st,
                           af_err *err)
{
    plan p = {0};
    p.live = malloc(sizeof(block) * ((size_t)g->n_tensors + 1));
    p.last_use = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
    p.parent = malloc(sizeof(int) * ((size_t)g->n_tensors + 1));
    p.sub = malloc(sizeof(int64_t) * ((size_t)g->n_tensors + 1));
    if (!p.live || !p.last_use || !p.parent || !p.sub) {
        free_plan(&p);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory planning memory");
    }
    compute_last_use(g, p.last_use);
    if (opt && opt->no_inplace_concat) {
        for (int i = 0; i < g->n_tensors; i++) p.parent[i] = -1, p.sub[i] = 0;
    } else {
        int aliased = af_plan_concat_aliases(g, p.last_use, p.parent, p.sub);
        if (st) st->concat_aliased += aliased;
    }
    for (int i = 0; i < g->n_tensors; i++) g->tensors[i].mem_offset = -1;
    int bad = -1;
    for (int k = 0; k < g->n_inputs && bad < 0; k++) {
        int t = g->inputs[k];
        int64_t size = block_size(&g->tensors[t]);
        if (place(&p, &g->tensors[t], t, find_gap(&p, size), size)) bad = t;
    }
    for (int i = 0; i < g->n_nodes && bad < 0; i++) {
        if ((bad = place_outputs(&p, g, i, st)) >= 0) break;
        const af_node *n = &g->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int x = n->in[k];
            if (x >= 0 && p.last_use[x] == i && !pinned(&g->tensors[x])) release(&p, x);
        }
        for (int k = 0; k < n->n_out; k++) /* outputs nobody reads */
            if (p.last_use[n->out[k]] < 0) release(&p, n->out[k]);
    }
    if (st) st->arena_bytes = (uint64_t)p.top;
    free_plan(&p);
    if (bad >= 0)
        return af_err_set(err, AF_ERR_SHAPE, "activation '%s' is too large: the arena would "
                          "exceed 2^50 bytes", g->tensors[bad].name);
    return AF_OK;
}

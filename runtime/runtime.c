/* runtime/runtime.c — the public runtime API: bundles (verified, weights made usable once)
 * and sessions (one arena, precomputed kernel views, no allocation while running). */
#include "aneforge/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../bundle/bundle.h"
#include "dynshape.h"
#include "fp16_round.h"
#include "precision.h"
#include "wdecode.h"
#include "kernels/kernels.h"
#include "kernels/cpanel.h"

struct af_bundle {
    afb_file *f;
    const void **tensor_data; /* per tensor: usable constant data (f32 for encoded blobs);
                               * NULL for encoded constants when streaming */
    void *decoded;            /* one buffer holding every decoded constant */
    int stream;               /* af_bundle_options.stream_weights */
    int expand;               /* af_bundle_options.expand_weights */
    uint8_t *pack_only;       /* per tensor: 1 = encoded and read only by nodes that pack it:
                               * packed by each session (compressed panels, halves, or decoded
                               * just for packing), never widened at open */
    size_t decoded_bytes;     /* bytes of decoded */
};

struct af_session {
    af_bundle *b;
    uint8_t *arena;
    size_t arena_bytes;
    void *scratch;
    size_t scratch_bytes;
    af_tview *views;  /* per node: n_in input views then n_out output views */
    int *view_off;    /* per node: index of its first view */
    uint8_t *skip;    /* per node: 1 when the op is a no-op in place (reshape aliasing) */
    af_kctx ctx;
    afk_pool *pool;   /* n_threads - 1 workers, created with the session */
    uint8_t *packed;  /* weights packed for the kernels once (prepack_weights) */
    size_t packed_bytes;
    void **node_packed; /* per node: its slice of packed, or NULL */
    uint8_t *packed_ready;    /* per node: 1 once its slice is filled (by the first run) */
    float *wbuf;      /* --stream-weights: one node's decoded constants */
    size_t wbuf_bytes;
    uint8_t *shared;  /* ctx.shared: af_kernel_shared_bytes of the hungriest node (lazy pages) */
    size_t shared_bytes;
    int *dec_off;     /* per node: first entry in dec_ids/dec_dst (n_nodes + 1 entries) */
    int32_t *dec_ids; /* constants to decode before the node runs ... */
    float **dec_dst;  /* ... and where to (inside wbuf) */
    int fp16;         /* round f32 activations to half after each op (af_session_options) */
    int int8;         /* af_session_options.int8_compute */
    uint8_t *tmode;   /* with fp16: per tensor, how it is stored (AF_PREC_*, precision.c) */
    void **wround;    /* fp16_weights: per tensor, its copy rounded to half (f32) and as halves */
    void **pack_half; /* fp16_weights: per node, the halves its packing reads (or NULL) */
    af_session_observer observer;
    void *observer_user;
    /* data-dependent extents (dynshape.h); all NULL for a static bundle */
    uint8_t *dyn_node; /* per node: 1 = its views follow this run's extents */
    uint8_t *tdyn;     /* per tensor: its data-dependent axes (nonzero: extents set per run) */
    uint8_t *in_dyn;   /* one node's inputs' tdyn (as many as the widest node has) */
    int64_t *cur;      /* per tensor: AF_MAX_RANK extents of this run (tdyn tensors) */
    char err[512];
};

static void put_msg(char *msg, size_t size, const af_err *e)
{
    if (msg && size) snprintf(msg, size, "%s", e->msg);
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Elements of a constant (the reader bounded the product). */
static size_t const_numel(const afb_tensor *t)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++) n *= (size_t)t->dims[k];
    return n;
}

/* Bytes of t decoded to f32, 64-byte aligned; 0 for raw constants and activations. */
static size_t decoded_bytes(const afb_tensor *t)
{
    if (t->storage != AFB_STORAGE_CONST || t->encoding == AFB_ENC_RAW) return 0;
    return align64(const_numel(t) * sizeof(float));
}

/* dst (numel f32) = decode(t): the one hook every weight decoder plugs into. Both open-time
 * decoding and --stream-weights (per node, on every run) call it. */
static af_status decode_const(const afb_tensor *t, float *dst, af_err *err)
{
    size_t n = const_numel(t);
    switch (t->encoding) {
    case AFB_ENC_FP16: {
        afk_f16_to_f32_n(t->data, dst, n);
        return AF_OK;
    }
    default: /* compressed blobs: validated and decoded by the table in wdecode.c */
        return af_wdecode(t->encoding, t->data, t->data_bytes, t->rank, t->dims, dst, t->name,
                          err);
    }
}

/* A view of tensor id's record: dtype and shape, no data (an omitted input: rank 0). */
static af_tview record_view(const afb_file *f, int32_t id)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    if (id < 0) return v;
    v.dtype = f->tensors[id].dtype;
    v.rank = f->tensors[id].rank;
    memcpy(v.dims, f->tensors[id].dims, sizeof v.dims);
    return v;
}

/* v[1] = the view packing node n gets of its encoded constant in[1] when only packing nodes
 * read it: with int8 (af_session_options.int8_compute) an int8 blob as dtype I8 when the
 * kernel runs it with int8 compute (qgemm.h); else its compressed blob (dtype U8, cpanel.h)
 * when the kernel keeps that compressed and the bundle is not opened with expand_weights, else
 * the halves of a weight stored in halves (dtype F16), else v[1] as it is (f32). Returns the
 * packed bytes (0: the node packs nothing). */
static size_t pack_view(const af_bundle *b, const afb_node *n, af_tview *v, int int8)
{
    const afb_tensor *t = &b->f->tensors[n->in[1]];
    if (int8 && t->encoding == AFB_ENC_INT8 && !b->expand) {
        af_tview keep = v[1];
        v[1].dtype = AF_DTYPE_I8, v[1].data = (void *)t->data;
        size_t bytes = af_kernel_prepack_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out);
        if (bytes) return bytes;
        v[1] = keep;
    }
    if (t->encoding > AFB_ENC_FP16 && !b->expand) {
        af_tview keep = v[1];
        v[1].dtype = AF_DTYPE_U8, v[1].data = (void *)t->data;
        size_t bytes = af_kernel_prepack_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out);
        if (bytes) return bytes;
        v[1] = keep;
    }
    if (t->encoding == AFB_ENC_FP16) v[1].dtype = AF_DTYPE_F16, v[1].data = (void *)t->data;
    return af_kernel_prepack_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out);
}

/* Does node n pack its constant in[1] once per session (af_kernel_prepack)? MatMul, Gemm and
 * Conv: their kernels read nothing but the packed copy then. */
static int packs_weight(const af_bundle *b, const afb_node *n, af_dtype *handed)
{
    enum { MAX_IO = 16 };
    const afb_file *f = b->f;
    if ((n->op != AF_OP_MATMUL && n->op != AF_OP_GEMM && n->op != AF_OP_CONV) || n->n_in < 2 ||
        n->n_in + n->n_out > MAX_IO || n->in[1] < 0)
        return 0;
    af_tview v[MAX_IO];
    for (int k = 0; k < n->n_in; k++) v[k] = record_view(f, n->in[k]);
    for (int k = 0; k < n->n_out; k++) v[n->n_in + k] = record_view(f, n->out[k]);
    size_t bytes = pack_view(b, n, v, 0); /* as packing_views will hand it over */
    if (handed) *handed = v[1].dtype;
    return bytes > 0;
}

/* Would node n pack its weight in[1] were it handed over as halves (fp16_weights)? */
static int packs_as_halves(const afb_file *f, const afb_node *n)
{
    enum { MAX_IO = 16 };
    if ((n->op != AF_OP_MATMUL && n->op != AF_OP_GEMM && n->op != AF_OP_CONV) || n->n_in < 2 ||
        n->n_in + n->n_out > MAX_IO || n->in[1] < 0)
        return 0;
    af_tview v[MAX_IO];
    for (int k = 0; k < n->n_in; k++) v[k] = record_view(f, n->in[k]);
    for (int k = 0; k < n->n_out; k++) v[n->n_in + k] = record_view(f, n->out[k]);
    v[1].dtype = AF_DTYPE_F16;
    return af_kernel_prepack_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out) > 0;
}

/* Marks the encoded constants only packing nodes read (b->pack_only; 2 = read otherwise). */
static void mark_pack_only(af_bundle *b)
{
    const afb_file *f = b->f;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            int32_t id = n->in[k];
            if (id < 0 || f->tensors[id].storage != AFB_STORAGE_CONST ||
                f->tensors[id].encoding == AFB_ENC_RAW)
                continue;
            int packs = k == 1 && packs_weight(b, n, NULL);
            b->pack_only[id] = packs && b->pack_only[id] != 2 ? 1 : 2;
        }
    }
    for (uint32_t i = 0; i < f->n_tensors; i++) b->pack_only[i] = b->pack_only[i] == 1;
}

/* Decodes every encoded constant into one aligned f32 buffer (none when streaming), but those
 * only packing nodes read. */
static af_status decode_constants(af_bundle *b, af_err *err)
{
    const afb_file *f = b->f;
    size_t total = 0;
    /* Blob layouts are checked against their shapes first: the decoded sizes below come from
     * the shapes, which only a checked blob bounds (at most 32 floats per blob byte). */
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const afb_tensor *t = &f->tensors[i];
        if (t->storage == AFB_STORAGE_CONST && t->encoding > AFB_ENC_FP16 &&
            af_wdecode_check(t->encoding, t->data, t->data_bytes, t->rank, t->dims, t->name,
                             err) != AF_OK)
            return err->code;
    }
    b->tensor_data = calloc(f->n_tensors ? f->n_tensors : 1, sizeof(void *));
    b->pack_only = calloc(f->n_tensors ? f->n_tensors : 1, 1);
    if (!b->tensor_data || !b->pack_only) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    if (!b->stream) mark_pack_only(b);
    for (uint32_t i = 0; i < f->n_tensors && !b->stream; i++)
        if (!b->pack_only[i]) total += decoded_bytes(&f->tensors[i]);
    b->decoded_bytes = total;
    if (total) {
        b->decoded = aligned_alloc(64, total);
        if (!b->decoded)
            return af_err_set(err, AF_ERR_NOMEM, "out of memory widening %zu bytes of weights",
                              total);
    }
    size_t off = 0;
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const afb_tensor *t = &f->tensors[i];
        if (t->storage != AFB_STORAGE_CONST) continue;
        if (t->encoding == AFB_ENC_RAW) {
            b->tensor_data[i] = t->data;
            continue;
        }
        if (b->stream || b->pack_only[i]) continue;
        float *dst = (float *)((uint8_t *)b->decoded + off);
        af_status st = decode_const(t, dst, err);
        if (st) return st;
        b->tensor_data[i] = dst;
        off += decoded_bytes(t);
    }
    return AF_OK;
}

static af_status bundle_init(afb_file *f, const af_bundle_options *opt, af_bundle **out,
                             char *msg, size_t msg_size)
{
    af_err err = {0};
    af_bundle *b = calloc(1, sizeof *b);
    if (!b) {
        afb_close(f);
        af_err_set(&err, AF_ERR_NOMEM, "out of memory");
        put_msg(msg, msg_size, &err);
        return AF_ERR_NOMEM;
    }
    b->f = f;
    b->stream = opt && opt->stream_weights;
    b->expand = opt && opt->expand_weights;
    if (decode_constants(b, &err) != AF_OK) {
        af_bundle_close(b);
        put_msg(msg, msg_size, &err);
        return err.code;
    }
    *out = b;
    return AF_OK;
}

af_status af_bundle_open(const char *path, af_bundle **out, char *msg, size_t msg_size)
{
    return af_bundle_open_ex(path, NULL, out, msg, msg_size);
}

af_status af_bundle_open_ex(const char *path, const af_bundle_options *opt, af_bundle **out,
                            char *msg, size_t msg_size)
{
    af_err err = {0};
    afb_file *f = NULL;
    *out = NULL;
    if (afb_open_file(path, &f, &err) != AF_OK) {
        put_msg(msg, msg_size, &err);
        return err.code;
    }
    return bundle_init(f, opt, out, msg, msg_size);
}

af_status af_bundle_open_memory(const void *buf, size_t size, af_bundle **out, char *msg,
                                size_t msg_size)
{
    af_err err = {0};
    afb_file *f = NULL;
    *out = NULL;
    if (afb_open_memory(buf, size, &f, &err) != AF_OK) {
        put_msg(msg, msg_size, &err);
        return err.code;
    }
    return bundle_init(f, NULL, out, msg, msg_size);
}

void af_bundle_close(af_bundle *b)
{
    if (!b) return;
    afb_close(b->f);
    free(b->tensor_data);
    free(b->pack_only);
    free(b->decoded);
    free(b);
}

int af_bundle_input_count(const af_bundle *b) { return (int)b->f->n_inputs; }
int af_bundle_output_count(const af_bundle *b) { return (int)b->f->n_outputs; }

static void fill_info(const afb_tensor *t, af_tensor_info *info)
{
    info->name = t->name;
    info->dtype = t->dtype;
    info->rank = t->rank;
    size_t n = 1;
    for (int k = 0; k < AF_MAX_RANK; k++) {
        info->dims[k] = k < t->rank ? t->dims[k] : 0;
        if (k < t->rank) n *= (size_t)t->dims[k];
    }
    info->nbytes = n * af_dtype_size(t->dtype);
}

af_status af_bundle_input_info(const af_bundle *b, int index, af_tensor_info *info)
{
    if (index < 0 || (uint32_t)index >= b->f->n_inputs) return AF_ERR_USAGE;
    fill_info(&b->f->tensors[b->f->inputs[index]], info);
    return AF_OK;
}

af_status af_bundle_output_info(const af_bundle *b, int index, af_tensor_info *info)
{
    if (index < 0 || (uint32_t)index >= b->f->n_outputs) return AF_ERR_USAGE;
    fill_info(&b->f->tensors[b->f->outputs[index]], info);
    return AF_OK;
}

static int find_name(const afb_file *f, const int32_t *ids, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(f->tensors[ids[i]].name, name) == 0) return (int)i;
    return -1;
}

int af_bundle_find_input(const af_bundle *b, const char *name)
{
    return find_name(b->f, b->f->inputs, b->f->n_inputs, name);
}

int af_bundle_find_output(const af_bundle *b, const char *name)
{
    return find_name(b->f, b->f->outputs, b->f->n_outputs, name);
}

int af_bundle_node_count(const af_bundle *b) { return (int)b->f->n_nodes; }

const char *af_bundle_node_name(const af_bundle *b, int i)
{
    return i >= 0 && (uint32_t)i < b->f->n_nodes ? b->f->nodes[i].name : NULL;
}

af_status af_bundle_node_precision(const af_bundle *b, uint8_t *prec, char *msg, size_t msg_size)
{
    af_err err = {0};
    af_status st = af_prec_from_meta(b->f, prec, &err);
    put_msg(msg, msg_size, &err);
    return st;
}

const char *af_bundle_metadata(const af_bundle *b, size_t *len)
{
    if (len) *len = b->f->meta_len;
    return b->f->meta_json;
}

/* ---- sessions ---------------------------------------------------------------------------- */

static af_tview tensor_view(const af_session *s, int32_t id)
{
    af_tview v;
    memset(&v, 0, sizeof v);
    if (id < 0) return v;
    const afb_tensor *t = &s->b->f->tensors[id];
    v.dtype = t->dtype;
    v.rank = t->rank;
    memcpy(v.dims, t->dims, sizeof v.dims);
    if (t->storage == AFB_STORAGE_ARENA)
        v.data = s->arena + t->arena_offset;
    else
        v.data = (void *)s->b->tensor_data[id];
    return v;
}

/* A reshape/identity whose output shares its input's bytes needs no work. */
static int is_alias(const afb_file *f, const afb_node *n)
{
    if (n->op != AF_OP_RESHAPE && n->op != AF_OP_IDENTITY) return 0;
    const afb_tensor *a = &f->tensors[n->in[0]], *b = &f->tensors[n->out[0]];
    return a->storage == AFB_STORAGE_ARENA && b->storage == AFB_STORAGE_ARENA &&
           a->arena_offset == b->arena_offset;
}

static af_status build_views(af_session *s, af_err *err)
{
    const afb_file *f = s->b->f;
    size_t total = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) total += (size_t)(f->nodes[i].n_in + f->nodes[i].n_out);
    s->views = calloc(total ? total : 1, sizeof(af_tview));
    s->view_off = calloc(f->n_nodes ? f->n_nodes : 1, sizeof(int));
    s->skip = calloc(f->n_nodes ? f->n_nodes : 1, 1);
    if (!s->views || !s->view_off || !s->skip) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    size_t pos = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        s->view_off[i] = (int)pos;
        for (int k = 0; k < n->n_in; k++) s->views[pos++] = tensor_view(s, n->in[k]);
        for (int k = 0; k < n->n_out; k++) s->views[pos++] = tensor_view(s, n->out[k]);
        s->skip[i] = (uint8_t)is_alias(f, n);
    }
    return AF_OK;
}

/* Streamed constants of node n (encoded and not decoded at open): calls fn for each with its
 * offset in the node's slice of wbuf; returns the slice's size. */
static size_t stream_inputs(const af_session *s, const afb_node *n,
                            void (*fn)(af_session *, int32_t, size_t), af_session *target)
{
    const afb_file *f = s->b->f;
    size_t off = 0;
    for (int k = 0; k < n->n_in; k++) {
        int32_t id = n->in[k];
        if (id < 0 || f->tensors[id].storage != AFB_STORAGE_CONST || s->b->tensor_data[id] ||
            s->b->pack_only[id])
            continue;
        if (fn) fn(target, id, off);
        off += decoded_bytes(&f->tensors[id]);
    }
    return off;
}

static void add_stream_entry(af_session *s, int32_t id, size_t off)
{
    int e = s->dec_off[s->b->f->n_nodes]++; /* the last slot counts entries while planning */
    s->dec_ids[e] = id;
    s->dec_dst[e] = (float *)((uint8_t *)s->wbuf + off);
}

/* --stream-weights: sizes wbuf for the hungriest node and points the views of every streamed
 * constant into it; af_session_run decodes them just before their node. */
static af_status plan_stream(af_session *s, af_err *err)
{
    const afb_file *f = s->b->f;
    size_t most = 0, entries = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        size_t b = stream_inputs(s, &f->nodes[i], NULL, NULL);
        if (b > most) most = b;
        entries += (size_t)f->nodes[i].n_in;
    }
    s->dec_off = calloc((size_t)f->n_nodes + 1, sizeof(int));
    s->dec_ids = calloc(entries ? entries : 1, sizeof(int32_t));
    s->dec_dst = calloc(entries ? entries : 1, sizeof(float *));
    s->wbuf_bytes = most;
    s->wbuf = most ? aligned_alloc(64, most) : NULL;
    if (!s->dec_off || !s->dec_ids || !s->dec_dst || (most && !s->wbuf))
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for %zu bytes of weight scratch", most);
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        int first = s->dec_off[f->n_nodes];
        s->dec_off[i] = first;
        stream_inputs(s, &f->nodes[i], add_stream_entry, s);
        af_tview *v = s->views + s->view_off[i];
        for (int k = 0, e = first; k < f->nodes[i].n_in; k++) /* same order as the entries */
            if (e < s->dec_off[f->n_nodes] && f->nodes[i].in[k] == s->dec_ids[e])
                v[k].data = s->dec_dst[e++];
    }
    return AF_OK;
}

/* Decodes node i's streamed constants into wbuf. */
static af_status decode_node_weights(af_session *s, uint32_t i, af_err *err)
{
    for (int e = s->dec_off[i]; e < s->dec_off[i + 1]; e++) {
        af_status st = decode_const(&s->b->f->tensors[s->dec_ids[e]], s->dec_dst[e], err);
        if (st) return st;
    }
    return AF_OK;
}

/* Plans packing constant weights once into the kernels' GEMM panels (af_kernel_prepack: conv,
 * MatMul, Gemm), so runs skip that work; streamed weights (decoded per run) are left alone. The
 * buffer is reserved here (anonymous pages, huge pages when the kernel allows); the session
 * fills every slice before it is returned (prepack_node). */
static uint8_t *arena_alloc(size_t bytes);
/* Packed weights on 2 MiB pages (a hint): sd_transformer_1280's feed-forward MatMuls, which
 * stream 26-52 MB of weights per run, ran 4-10 % faster than on 4 KiB pages (1 thread,
 * fastest of 6 alternating runs). But the first touch of a huge page can cost far more than
 * that of small pages when a hypervisor has reclaimed the memory: the 4.2 GB of a full SD
 * UNet's packed weights took 36-40 s to fault in against 4 s on small pages, for no
 * measurable run-time gain at 2 threads. So sessions with more packed bytes than this stay
 * on small pages. */
#define HUGE_PACKED_MAX ((size_t)1 << 30)
static af_status prepack_node(af_session *s, uint32_t i, af_err *err);

enum { PACK_IO = 16 }; /* inputs + outputs of a node whose weight is packed, at most */

/* pv = the views node n's packing sees, and returns the packed bytes (0: none). They are its
 * own, but a weight stored in halves and left for packing (pack_only) is handed over as those
 * halves (dtype F16, in the bundle), so the packed copy keeps them as halves. */
static size_t packing_views(const af_session *s, const afb_node *n, const af_tview *v,
                            af_tview *pv)
{
    memcpy(pv, v, sizeof(af_tview) * (size_t)(n->n_in + n->n_out));
    if (af_kernel_weight_input(n->op) != 1) /* QLINEAR_CONV: its raw integer weight */
        return af_kernel_prepack_bytes(n->op, &n->p, pv, n->n_in, pv + n->n_in, n->n_out);
    if (s->b->pack_only[n->in[1]]) return pack_view(s->b, n, pv, s->int8);
    void *half = s->pack_half ? s->pack_half[n - s->b->f->nodes] : NULL;
    if (half) { /* fp16_weights: packed from halves, as a bundle storing them so would be */
        pv[1].dtype = AF_DTYPE_F16;
        pv[1].data = half;
    }
    return af_kernel_prepack_bytes(n->op, &n->p, pv, n->n_in, pv + n->n_in, n->n_out);
}

static af_status prepack_weights(af_session *s, af_err *err)
{
    const afb_file *f = s->b->f;
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t off = 0;
        for (uint32_t i = 0; i < f->n_nodes; i++) {
            const afb_node *n = &f->nodes[i];
            const af_tview *v = s->views + s->view_off[i];
            int wi = af_kernel_weight_input(n->op);
            if (n->n_in <= wi || n->in[wi] < 0 ||
                f->tensors[n->in[wi]].storage != AFB_STORAGE_CONST ||
                (!s->b->tensor_data[n->in[wi]] && !s->b->pack_only[n->in[wi]]))
                continue;
            af_tview pv[PACK_IO];
            size_t b = n->n_in + n->n_out <= PACK_IO ? packing_views(s, n, v, pv) : 0;
            if (!b) continue;
            if (pass == 1) s->node_packed[i] = s->packed + off;
            off += align64(b);
        }
        total = off;
        if (pass == 1 || !total) break;
        s->packed = arena_alloc(total);
        s->packed_bytes = s->packed ? total : 0;
#ifdef MADV_HUGEPAGE
        if (s->packed && total <= HUGE_PACKED_MAX) madvise(s->packed, total, MADV_HUGEPAGE);
#endif
        s->node_packed = calloc(f->n_nodes, sizeof *s->node_packed);
        s->packed_ready = calloc(f->n_nodes, 1);
        if (!s->packed || !s->node_packed || !s->packed_ready)
            return af_err_set(err, AF_ERR_NOMEM, "out of memory for %zu bytes of packed weights",
                              total);
    }
    return AF_OK;
}

/* Checks every node has a kernel and sizes the shared scratch buffer. */
static af_status plan_scratch(af_session *s, af_err *err)
{
    const afb_file *f = s->b->f;
    size_t need = 0;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        const af_tview *v = s->views + s->view_off[i];
        /* a node with data-dependent extents is checked on every run, with its extents then
         * (two capacities need not agree where the extents will) */
        if ((!s->dyn_node || !s->dyn_node[i]) &&
            af_kernel_check(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out, err) != AF_OK)
            return af_err_prefix(err, n->name);
        size_t b = af_kernel_scratch_bytes(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out);
        if (b > need) need = b;
    }
    s->scratch_bytes = align64(need) * (size_t)s->ctx.n_threads; /* one slice per thread */
    if (need) {
        s->scratch = aligned_alloc(64, s->scratch_bytes);
        if (!s->scratch)
            return af_err_set(err, AF_ERR_NOMEM, "out of memory for %zu bytes of scratch", need);
    }
    return AF_OK;
}

/* ctx.shared, sized for the node whose packed weights need the most (af_kernel_shared_bytes);
 * its pages are faulted in by the first run that uses them. */
static af_status plan_shared(af_session *s, af_err *err)
{
    size_t need = 0;
    for (uint32_t i = 0; s->node_packed && i < s->b->f->n_nodes; i++) {
        size_t b = af_kernel_shared_bytes(s->b->f->nodes[i].op, s->node_packed[i]);
        if (b > need) need = b;
    }
    if (!need) return AF_OK;
    s->shared_bytes = align64(need);
    s->shared = arena_alloc(s->shared_bytes);
    if (!s->shared) {
        s->shared_bytes = 0;
        return af_err_set(err, AF_ERR_NOMEM, "out of memory for %zu bytes of shared scratch", need);
    }
    s->ctx.shared = s->shared, s->ctx.shared_bytes = s->shared_bytes;
    return AF_OK;
}

/* The arena: zero-filled anonymous pages, page-aligned, faulted in lazily by the first run
 * (touching it here made session creation pay for every page of a large arena). */
static uint8_t *arena_alloc(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 64, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void arena_free(uint8_t *p, size_t bytes)
{
    if (p) munmap(p, bytes ? bytes : 64);
}

/* fp16 emulation: how each tensor is stored, from the caller's node placement or the
 * bundle's (runtime/precision.c). */
/* fp16_weights: node i (placed fp16 or paired) reads a half-rounded copy of each f32 constant
 * it reads directly; the weight a conv, MatMul or Gemm packs is also kept as halves for its
 * packing (pack_half), so it is packed as a bundle storing it in halves packs it (the same
 * kernel path, the same sums). Copies are per tensor and form, shared by the readers. */
static af_status round_node_weights(af_session *s, uint32_t i, af_err *err)
{
    const afb_file *f = s->b->f;
    const afb_node *n = &f->nodes[i];
    for (int k = 0; k < n->n_in; k++) {
        af_tview *v = &s->views[s->view_off[i] + k];
        if (n->in[k] < 0 || !v->data || f->tensors[n->in[k]].storage != AFB_STORAGE_CONST ||
            v->dtype != AF_DTYPE_F32)
            continue;
        size_t cnt = const_numel(&f->tensors[n->in[k]]);
        void **c = &s->wround[2 * (size_t)n->in[k]], **h = c + 1;
        if (k == 1 && packs_as_halves(f, n)) {
            if (!*h && !(*h = malloc(cnt * sizeof(uint16_t) + 1)))
                return af_err_set(err, AF_ERR_NOMEM, "out of memory rounding weights");
            for (size_t e = 0; e < cnt; e++)
                ((uint16_t *)*h)[e] = af_f32_to_f16(((const float *)v->data)[e]);
            s->pack_half[i] = *h;
        }
        if (!*c && !(*c = malloc(cnt * sizeof(float) + 1)))
            return af_err_set(err, AF_ERR_NOMEM, "out of memory rounding weights");
        memcpy(*c, v->data, cnt * sizeof(float));
        af_f16_round_buf(*c, cnt);
        v->data = *c;
    }
    return AF_OK;
}

static af_status plan_precision(af_session *s, const af_session_options *opt, af_err *err)
{
    const uint8_t *given = opt->node_precision;
    const afb_file *f = s->b->f;
    uint8_t *prec = malloc(f->n_nodes ? f->n_nodes : 1);
    s->tmode = malloc(f->n_tensors ? f->n_tensors : 1);
    if (!prec || !s->tmode) {
        free(prec);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    if (given) memcpy(prec, given, f->n_nodes);
    if ((given || af_prec_from_meta(f, prec, err) == AF_OK))
        af_prec_tensor_modes(f, s->skip, prec, s->tmode, err);
    if (err->code == AF_OK && opt->fp16_weights && !s->b->stream) {
        s->wround = calloc(2 * (size_t)f->n_tensors + 1, sizeof *s->wround);
        s->pack_half = calloc((size_t)f->n_nodes + 1, sizeof *s->pack_half);
        if (!s->wround || !s->pack_half) af_err_set(err, AF_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; err->code == AF_OK && i < f->n_nodes; i++)
            if (prec[i] != AF_PREC_FP32) round_node_weights(s, i, err);
    }
    free(prec);
    return err->code;
}

static af_status plan_dynamic(af_session *s, af_err *err);

af_status af_session_create(af_bundle *b, const af_session_options *opt, af_session **out,
                            char *msg, size_t msg_size)
{
    af_err err = {0};
    *out = NULL;
    af_session *s = calloc(1, sizeof *s);
    if (!s) {
        af_err_set(&err, AF_ERR_NOMEM, "out of memory");
        put_msg(msg, msg_size, &err);
        return AF_ERR_NOMEM;
    }
    s->b = b;
    s->ctx.n_threads = opt && opt->n_threads > 0 ? opt->n_threads : 1;
    s->arena_bytes = align64((size_t)b->f->arena_bytes);
    s->arena = arena_alloc(s->arena_bytes);
    if (!s->arena) {
        af_err_set(&err, AF_ERR_NOMEM, "out of memory for a %zu-byte arena", s->arena_bytes);
    } else {
        s->fp16 = opt && opt->fp16;
        s->int8 = opt && opt->int8_compute;
        if (build_views(s, &err) == AF_OK && (!s->fp16 || plan_precision(s, opt, &err) == AF_OK) &&
            (!b->stream || plan_stream(s, &err) == AF_OK) && plan_dynamic(s, &err) == AF_OK &&
            plan_scratch(s, &err) == AF_OK && prepack_weights(s, &err) == AF_OK)
            afk_pool_create(opt && opt->n_threads > 1 ? opt->n_threads : 1, &s->pool, &err);
    }
    if (err.code != AF_OK) {
        put_msg(msg, msg_size, &err);
        af_session_free(s);
        return err.code;
    }
    s->ctx.scratch = s->scratch;
    s->ctx.scratch_bytes = s->scratch_bytes;
    s->ctx.n_threads = opt && opt->n_threads > 0 ? opt->n_threads : 1;
    s->ctx.pool = s->pool;
    afk_blas_single_thread();
    /* weights are packed now, not by the first run: a session is ready to run at full speed
     * when it is created (its packed pages faulted in here, and the stored forms released) */
    for (uint32_t i = 0; s->node_packed && i < b->f->n_nodes; i++)
        if (s->node_packed[i] && prepack_node(s, i, &err) != AF_OK) {
            af_err_prefix(&err, b->f->nodes[i].name);
            put_msg(msg, msg_size, &err);
            af_session_free(s);
            return err.code;
        }
    if (plan_shared(s, &err) != AF_OK) {
        put_msg(msg, msg_size, &err);
        af_session_free(s);
        return err.code;
    }
    *out = s;
    return AF_OK;
}

void af_session_free(af_session *s)
{
    if (!s) return;
    arena_free(s->arena, s->arena_bytes);
    free(s->scratch);
    arena_free(s->packed, s->packed_bytes);
    free(s->node_packed);
    free(s->packed_ready);
    free(s->views);
    free(s->view_off);
    free(s->skip);
    free(s->tmode);
    for (size_t i = 0; s->wround && i < 2 * (size_t)s->b->f->n_tensors; i++) free(s->wround[i]);
    free(s->wround);
    free(s->pack_half);
    afk_pool_free(s->pool);
    free(s->wbuf);
    arena_free(s->shared, s->shared_bytes);
    free(s->dec_off);
    free(s->dec_ids);
    free(s->dec_dst);
    free(s->dyn_node);
    free(s->tdyn);
    free(s->in_dyn);
    free(s->cur);
    free(s);
}

static af_status session_fail(af_session *s, af_status st, const char *what)
{
    snprintf(s->err, sizeof s->err, "%s", what);
    return st;
}

af_status af_session_set_input(af_session *s, int index, const void *data, size_t nbytes)
{
    af_tensor_info info;
    if (af_bundle_input_info(s->b, index, &info) != AF_OK)
        return session_fail(s, AF_ERR_USAGE, "input index out of range");
    if (nbytes != info.nbytes) {
        snprintf(s->err, sizeof s->err, "input '%s' needs %zu bytes, got %zu", info.name,
                 info.nbytes, nbytes);
        return AF_ERR_USAGE;
    }
    const afb_tensor *t = &s->b->f->tensors[s->b->f->inputs[index]];
    memcpy(s->arena + t->arena_offset, data, nbytes);
    if (s->fp16 && t->dtype == AF_DTYPE_F32)
        af_prec_round_buf(s->tmode[s->b->f->inputs[index]], (float *)(s->arena + t->arena_offset),
                          nbytes / sizeof(float));
    return AF_OK;
}

static void actual_shape(const af_session *s, int32_t id, af_tensor_info *info);

/* fp16 emulation and the observer, after node i ran (or was skipped as an in-place alias). */
static void after_node(af_session *s, uint32_t i)
{
    const afb_file *f = s->b->f;
    const afb_node *n = &f->nodes[i];
    for (int k = 0; k < n->n_out; k++) {
        if (n->out[k] < 0 || f->tensors[n->out[k]].storage != AFB_STORAGE_ARENA) continue;
        const afb_tensor *t = &f->tensors[n->out[k]];
        uint8_t *data = s->arena + t->arena_offset;
        af_node_event ev;
        fill_info(t, &ev.info);
        actual_shape(s, n->out[k], &ev.info);
        int mode = s->fp16 && t->dtype == AF_DTYPE_F32 ? s->tmode[n->out[k]] : AF_PREC_FP32;
        if (!s->skip[i]) af_prec_round_buf(mode, (float *)data, ev.info.nbytes / sizeof(float));
        ev.rounding = mode;
        if (!s->observer) continue;
        ev.node_index = (int)i;
        ev.node = n->name;
        ev.op = af_op_name(n->op);
        ev.output_index = k;
        ev.data = data;
        s->observer(s->observer_user, &ev);
    }
}

af_status af_session_set_observer(af_session *s, af_session_observer fn, void *user)
{
    s->observer = fn;
    s->observer_user = user;
    return AF_OK;
}

/* ---- data-dependent extents (docs/dynamic-shapes.md) ------------------------------------- */

/* Marks the tensors whose extents are set per run (the bundle's dyn axes, and the outputs of
 * NMS/NonZero/Compress, which bundles written before those axes existed do not mark) and the
 * nodes reading or writing one. A static bundle allocates nothing. */
static af_status plan_dynamic(af_session *s, af_err *err)
{
    const afb_file *f = s->b->f;
    int any = 0;
    for (uint32_t i = 0; i < f->n_tensors && !any; i++) any = f->tensors[i].dyn != 0;
    for (uint32_t i = 0; i < f->n_nodes && !any; i++) any = af_dyn_sets_own(f->nodes[i].op);
    if (!any) return AF_OK;
    int most = 1;
    for (uint32_t i = 0; i < f->n_nodes; i++) most = f->nodes[i].n_in > most ? f->nodes[i].n_in : most;
    s->dyn_node = calloc(f->n_nodes ? f->n_nodes : 1, 1);
    s->tdyn = calloc(f->n_tensors ? f->n_tensors : 1, 1);
    s->in_dyn = calloc((size_t)most, 1);
    s->cur = calloc((size_t)(f->n_tensors ? f->n_tensors : 1) * AF_MAX_RANK, sizeof(int64_t));
    if (!s->dyn_node || !s->tdyn || !s->cur || !s->in_dyn)
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        s->tdyn[i] = f->tensors[i].dyn;
        memcpy(s->cur + (size_t)i * AF_MAX_RANK, f->tensors[i].dims, sizeof f->tensors[i].dims);
    }
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        for (int k = 0; af_dyn_sets_own(n->op) && k < n->n_out; k++) /* older bundles: 0 */
            s->tdyn[n->out[k]] = s->tdyn[n->out[k]] ? s->tdyn[n->out[k]] : 0xff;
        s->dyn_node[i] = (uint8_t)af_dyn_sets_own(n->op);
        for (int k = 0; k < n->n_in; k++) s->dyn_node[i] |= n->in[k] >= 0 && s->tdyn[n->in[k]];
        for (int k = 0; k < n->n_out; k++) s->dyn_node[i] |= s->tdyn[n->out[k]] != 0;
    }
    return AF_OK;
}

/* Before node i runs: its input views take this run's extents, its output views the
 * capacities, then the op's rule sets the outputs' extents and the params that follow them
 * (pc, a copy of the node's). */
static af_status dyn_prepare(af_session *s, uint32_t i, af_params *pc, af_err *err)
{
    const afb_file *f = s->b->f;
    const afb_node *n = &f->nodes[i];
    af_tview *v = s->views + s->view_off[i];
    uint8_t dyn[16], *in_dyn = s->in_dyn;
    if (n->n_out > 16) return af_err_set(err, AF_ERR_UNSUPPORTED, "too many outputs");
    for (int k = 0; k < n->n_in; k++) {
        in_dyn[k] = n->in[k] >= 0 ? s->tdyn[n->in[k]] : 0;
        if (in_dyn[k]) memcpy(v[k].dims, s->cur + (size_t)n->in[k] * AF_MAX_RANK, sizeof v[k].dims);
    }
    for (int k = 0; k < n->n_out; k++) {
        af_tview *o = &v[n->n_in + k];
        memcpy(o->dims, f->tensors[n->out[k]].dims, sizeof o->dims);
        dyn[k] = f->tensors[n->out[k]].dyn;
    }
    *pc = n->p;
    return af_dyn_out_shapes(n->op, pc, v, n->n_in, in_dyn, v + n->n_in, n->n_out, dyn, err);
}

/* After node i ran: its outputs' extents of this run. */
static void dyn_finish(af_session *s, uint32_t i)
{
    const afb_node *n = &s->b->f->nodes[i];
    const af_tview *v = s->views + s->view_off[i] + n->n_in;
    for (int k = 0; k < n->n_out; k++)
        if (s->tdyn[n->out[k]])
            memcpy(s->cur + (size_t)n->out[k] * AF_MAX_RANK, v[k].dims, sizeof v[k].dims);
}

/* info (the bundle's capacity shape of tensor id) with this run's extents. */
static void actual_shape(const af_session *s, int32_t id, af_tensor_info *info)
{
    if (!s->tdyn || !s->tdyn[id]) return;
    size_t bytes = af_dtype_size(info->dtype);
    for (int d = 0; d < info->rank; d++)
        bytes *= (size_t)(info->dims[d] = s->cur[(size_t)id * AF_MAX_RANK + d]);
    info->nbytes = bytes;
}

/* Node i's weight was just packed for its kernel, which reads only the packed copy from now
 * on: the pages of the stored form are released when they belong to a mapped bundle file (read
 * only, so they are re-read from the file should anything touch them again), and the weight is
 * resident once, not twice. A bundle given in memory is the caller's and left alone. */
static void release_packed_source(const af_session *s, const afb_node *n)
{
    const afb_file *f = s->b->f;
    int32_t id = n->in[af_kernel_weight_input(n->op)];
    const afb_tensor *t = &f->tensors[id];
    long pg = sysconf(_SC_PAGESIZE);
    if (!f->mapped || (t->encoding != AFB_ENC_RAW && !s->b->pack_only[id]) || pg <= 0)
        return;
    uintptr_t a = (uintptr_t)t->data, e = a + (uintptr_t)t->data_bytes, m = (uintptr_t)pg - 1;
    a = (a + m) & ~m;
    e &= ~m;
    if (e > a) madvise((void *)a, e - a, MADV_DONTNEED); /* a hint: failure changes nothing */
}

/* Fills node i's packed slice (at session creation), from a temporary f32 copy when the
 * weight is encoded otherwise than in halves and was left for packing (pack_only), then
 * releases the stored form's pages. */
static af_status prepack_node(af_session *s, uint32_t i, af_err *err)
{
    const afb_node *n = &s->b->f->nodes[i];
    af_tview v[PACK_IO];
    float *tmp = NULL;
    packing_views(s, n, s->views + s->view_off[i], v);
    if (af_kernel_weight_input(n->op) == 1 && !v[1].data) { /* left for packing in another
                                                             * encoding: decoded just for it */
        const afb_tensor *t = &s->b->f->tensors[n->in[1]];
        tmp = malloc(const_numel(t) * sizeof(float) + 1);
        if (!tmp)
            return af_err_set(err, AF_ERR_NOMEM, "out of memory decoding '%s' for packing",
                              t->name);
        af_status st = decode_const(t, tmp, err);
        if (st) {
            free(tmp);
            return st;
        }
        v[1].data = tmp;
    }
    af_kernel_prepack(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out, s->node_packed[i]);
    s->packed_ready[i] = 1;
    free(tmp);
    release_packed_source(s, n);
    return AF_OK;
}

/* Node i of a bundle with data-dependent extents: its views follow this run's extents and its
 * params (pc) the values that depend on them. */
static af_status run_dynamic(af_session *s, uint32_t i, af_err *err)
{
    const afb_node *n = &s->b->f->nodes[i];
    af_tview *v = s->views + s->view_off[i];
    af_params pc;
    af_status st = dyn_prepare(s, i, &pc, err);
    if (!st && !s->skip[i])
        st = af_kernel_run(n->op, &pc, v, n->n_in, v + n->n_in, n->n_out, &s->ctx, err);
    if (!st) dyn_finish(s, i);
    return st;
}

af_status af_session_run(af_session *s)
{
    const afb_file *f = s->b->f;
    af_err err = {0};
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        af_tview *v = s->views + s->view_off[i];
        s->ctx.packed = s->node_packed ? s->node_packed[i] : NULL;
        af_status st = AF_OK;
        if (s->ctx.packed && !s->packed_ready[i]) st = prepack_node(s, i, &err);
        if (!st && s->dec_off) st = decode_node_weights(s, i, &err);
        if (!st && s->dyn_node && s->dyn_node[i]) st = run_dynamic(s, i, &err);
        else if (!st && !s->skip[i])
            st = af_kernel_run(n->op, &n->p, v, n->n_in, v + n->n_in, n->n_out, &s->ctx, &err);
        if (st) {
            snprintf(s->err, sizeof s->err, "node '%s' (%s): %s", n->name, af_op_name(n->op),
                     err.msg);
            return err.code;
        }
        if (s->fp16 || s->observer) after_node(s, i);
    }
    return AF_OK;
}

af_status af_session_get_output(af_session *s, int index, const void **data,
                                af_tensor_info *info)
{
    af_tensor_info tmp;
    if (!info) info = &tmp;
    if (af_bundle_output_info(s->b, index, info) != AF_OK)
        return session_fail(s, AF_ERR_USAGE, "output index out of range");
    const afb_tensor *t = &s->b->f->tensors[s->b->f->outputs[index]];
    *data = s->arena + t->arena_offset;
    actual_shape(s, s->b->f->outputs[index], info);
    return AF_OK;
}

size_t af_session_arena_bytes(const af_session *s)
{
    return s->arena_bytes + s->scratch_bytes + s->wbuf_bytes + s->packed_bytes + s->shared_bytes;
}

const char *af_session_error(const af_session *s) { return s->err; }

/* ---- what the weights cost and how they run ------------------------------------------------- */

/* rel[id] = 1 for constants whose stored pages release_packed_source gives back. */
static void released_sources(const af_session *s, uint8_t *rel)
{
    const afb_file *f = s->b->f;
    for (uint32_t i = 0; s->node_packed && i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        if (!s->node_packed[i] || !f->mapped) continue;
        int32_t id = n->in[af_kernel_weight_input(n->op)];
        const afb_tensor *t = &f->tensors[id];
        if (t->encoding == AFB_ENC_RAW || s->b->pack_only[id]) rel[id] = 1;
    }
}

size_t af_session_weight_bytes(const af_session *s)
{
    const afb_file *f = s->b->f;
    size_t total = s->packed_bytes + s->b->decoded_bytes;
    uint8_t *rel = calloc(f->n_tensors ? f->n_tensors : 1, 1);
    if (!rel) return total;
    released_sources(s, rel);
    for (uint32_t i = 0; i < f->n_tensors; i++) {
        const afb_tensor *t = &f->tensors[i];
        if (t->storage != AFB_STORAGE_CONST || rel[i] || s->b->pack_only[i]) continue;
        if (t->encoding == AFB_ENC_RAW || s->b->stream) total += (size_t)t->data_bytes;
    }
    free(rel);
    return total;
}

/* Why a weight left for packing runs from f32 panels: what the compressed panels refuse. */
static const char *expanded_why(const afb_node *n, const afb_tensor *t)
{
    if (t->encoding == AFB_ENC_FP16) return "decoded into f32 panels";
    const char *no = afk_cw_why_not(t->data, t->rank, t->dims);
    if (n->op != AF_OP_CONV) return no ? no : "MatMul/Gemm weight: decoded into f32 panels";
    return no ? no : "3x3 conv kept on Winograd (its transformed weights fit 3 MiB): "
                     "decoded and transformed to f32";
}

/* Why a weight is decoded at open: the first node reading it that does not pack it. */
static const char *open_why(const af_bundle *b, int32_t id)
{
    const afb_file *f = b->f;
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        for (int k = 0; k < n->n_in; k++) {
            if (n->in[k] != id || (k == 1 && packs_weight(b, n, NULL))) continue;
            if (n->op == AF_OP_CONV && k == 1) {
                const afb_tensor *t = &f->tensors[id];
                if (n->p.conv.group > 1 && t->rank >= 2 && t->dims[1] == 1 &&
                    t->dims[0] == n->p.conv.group)
                    return "depthwise conv: decoded at open, by measurement (its direct loop "
                           "reads f32; its weights are small: docs/performance.md)";
                return "conv outside the packed GEMM (a CPU without AVX2): decoded at open";
            }
            if ((n->op == AF_OP_GEMM || n->op == AF_OP_MATMUL) && k == 1) {
                const afb_tensor *t = &f->tensors[id];
                const char *no = t->encoding > AFB_ENC_FP16 && !b->expand
                                     ? afk_cw_why_not(t->data, t->rank, t->dims) : NULL;
                return no ? no : "MatMul/Gemm weight not packed (B batched; or one output row "
                                 "read by the f32 GEMV: a weight in halves, or a K past its "
                                 "work buffer): decoded at open";
            }
            return "read by a kernel that takes f32: decoded at open";
        }
    }
    return "decoded at open";
}

/* Does conv node n run its compressed weight by Winograd transformed per run? */
static int cw_wino(const afb_file *f, const afb_node *n)
{
    if (n->n_in + n->n_out > PACK_IO || n->n_out < 1) return 0;
    af_tview v[PACK_IO];
    for (int k = 0; k < n->n_in; k++) v[k] = record_view(f, n->in[k]);
    for (int k = 0; k < n->n_out; k++) v[n->n_in + k] = record_view(f, n->out[k]);
    v[1].dtype = AF_DTYPE_U8;
    return afk_conv_cw_wino(&n->p, v, v + n->n_in) != 0;
}

const char *af_bundle_weight_form(const af_bundle *b, const char *tensor, const char **why)
{
    const afb_file *f = b->f;
    const char *dummy;
    if (!why) why = &dummy;
    *why = "";
    int32_t id = -1;
    for (uint32_t i = 0; i < f->n_tensors && id < 0; i++)
        if (!strcmp(f->tensors[i].name, tensor)) id = (int32_t)i;
    if (id < 0 || f->tensors[id].storage != AFB_STORAGE_CONST) return NULL;
    const afb_tensor *t = &f->tensors[id];
    if (t->encoding == AFB_ENC_RAW) return "raw";
    if (b->stream) return "streamed";
    if (!b->pack_only[id]) {
        *why = b->expand ? "expand_weights" : open_why(b, id);
        return "expanded";
    }
    for (uint32_t i = 0; i < f->n_nodes; i++) {
        const afb_node *n = &f->nodes[i];
        af_dtype dt = AF_DTYPE_F32;
        if (n->n_in < 2 || n->in[1] != id || !packs_weight(b, n, &dt)) continue;
        if (dt == AF_DTYPE_U8 && n->op == AF_OP_CONV && cw_wino(f, n))
            *why = "3x3 conv on Winograd, its transformed weights made from the compressed "
                   "panels on every run (too big to keep)";
        if (dt == AF_DTYPE_U8) return "compressed";
        if (dt == AF_DTYPE_F16) return "halves";
        *why = b->expand ? "expand_weights" : expanded_why(n, t);
        return "expanded";
    }
    return "expanded";
}

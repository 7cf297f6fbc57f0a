/* compress/compress.c — the compression pass: which tensors are weights, single-encoding modes,
 * and the dispatch to auto (auto.c). See compress.h. */
#include "compress.h"
#include "gptq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const af_cmode_names[AF_CMODE_COUNT] = {
    [AF_CMODE_FP32] = "fp32",   [AF_CMODE_FP16] = "fp16",     [AF_CMODE_INT8] = "int8",
    [AF_CMODE_INT4] = "int4",   [AF_CMODE_SPARSE] = "sparse", [AF_CMODE_BLOCKWISE] = "blockwise",
    [AF_CMODE_PALETTE] = "palette", [AF_CMODE_AUTO] = "auto",
};

void af_compress_options_init(af_compress_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = AF_CMODE_FP16;
    o->block_bits = 4;
    o->palette_bits = 4;
    o->min_psnr = 35.0;
    o->seed = 1;
}

double af_psnr_db(double peak, double sse, double n)
{
    if (sse <= 0) return INFINITY;
    double rmse = sqrt(sse / (n > 0 ? n : 1));
    if (peak <= 0) return -INFINITY;
    return 20.0 * log10(peak / rmse);
}

/* Input slots that hold weights: op, input index, embedding-like. */
static const struct { af_op op; int slot; int embedding; } weight_slots[] = {
    {AF_OP_CONV, 1, 0}, {AF_OP_CONV_TRANSPOSE, 1, 0}, {AF_OP_GEMM, 1, 0},
    {AF_OP_MATMUL, 1, 0}, {AF_OP_GATHER, 0, 1},
};

/* The tensor in node n's weight slot (-1: none); *embedding for Gather's. */
static int weight_of(const af_node *n, int *embedding)
{
    for (size_t s = 0; s < sizeof weight_slots / sizeof weight_slots[0]; s++)
        if (n->op == weight_slots[s].op && weight_slots[s].slot < n->n_in) {
            if (embedding) *embedding = weight_slots[s].embedding;
            return n->in[weight_slots[s].slot];
        }
    return -1;
}

int af_compress_is_weight(const af_graph *g, int t, int *embedding)
{
    const af_tensor *x = &g->tensors[t];
    int found = 0, emb = 0;
    if (!x->data || x->dtype != AF_DTYPE_F32 || x->rank < 2 ||
        af_tensor_numel(x) <= AF_COMPRESS_MIN_ELEMS)
        return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        int e = 0;
        if (weight_of(&g->nodes[i], &e) == t) found = 1, emb |= e;
    }
    if (embedding) *embedding = emb;
    return found;
}

af_status af_compress_node_weights(const af_graph *g, const int *w, int n_w, int *node_w,
                                   af_err *err)
{
    int *idx = malloc(((size_t)g->n_tensors + 1) * sizeof *idx);
    if (!idx) return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    for (int t = 0; t < g->n_tensors; t++) idx[t] = -1;
    for (int k = 0; k < n_w; k++) idx[w[k]] = k;
    for (int i = 0; i < g->n_nodes; i++) {
        int t = weight_of(&g->nodes[i], NULL);
        node_w[i] = t >= 0 ? idx[t] : -1;
    }
    free(idx);
    return AF_OK;
}

int af_compress_palette_scale(const af_compress_options *o, int bits)
{
    if (o->p.palette_scale != AF_PSCALE_DEFAULT) return o->p.palette_scale;
    if (bits == 4 && o->family && !((o->family->native_streams >> AF_WENC_PALETTE) & 1u))
        return AF_PSCALE_NONE; /* the plain 4-bit palette is the family's stream */
    return AF_PSCALE_ROW;
}

static int native_for(const af_compress_options *o, af_ckind k)
{
    return !o->family || (o->family->native_streams >> af_ctraits_table[k].wenc) & 1u;
}

/* The encoding a single mode gives one weight. */
static af_ckind single_kind(const af_compress_options *o, const af_tensor *t, int embedding,
                            af_cparams *p)
{
    switch (o->mode) {
    case AF_CMODE_INT8: return AF_CK_INT8;
    case AF_CMODE_INT4: return af_palette_kind(4, af_compress_palette_scale(o, 4));
    case AF_CMODE_PALETTE:
        p->palette_scale = af_compress_palette_scale(o, o->palette_bits);
        return af_palette_kind(o->palette_bits, p->palette_scale);
    case AF_CMODE_BLOCKWISE: return o->block_bits == 8 ? AF_CK_BW8 : AF_CK_BW4;
    case AF_CMODE_SPARSE:
        if (embedding) p->sparsity = 0; /* embedding tables are never pruned */
        if (p->sparsity > 0) return AF_CK_SPARSE;
        return af_ctraits_table[AF_CK_SPARSE].stored_size(t->data, t->rank, t->dims, p) <
                       af_ctraits_table[AF_CK_FP16].stored_size(t->data, t->rank, t->dims, p)
                   ? AF_CK_SPARSE
                   : AF_CK_FP16;
    default: return AF_CK_FP16;
    }
}

/* PSNR of the decoded weights against the f32 originals. */
static double weight_psnr(af_ckind k, const af_tensor *t, const af_cblob *b, af_err *err)
{
    int64_t n = af_tensor_numel(t);
    float *d = malloc((size_t)n * sizeof *d);
    if (!d) return NAN;
    double psnr = NAN;
    if (af_cenc_decode(k, t->data, b, t->rank, t->dims, d, err) == AF_OK) {
        const float *x = t->data;
        double sse = 0, peak = 0;
        for (int64_t i = 0; i < n; i++) {
            double e = (double)d[i] - x[i];
            sse += e * e;
            if (fabs(x[i]) > peak) peak = fabs(x[i]);
        }
        psnr = af_psnr_db(peak, sse, (double)n);
    }
    free(d);
    return psnr;
}

af_status af_compress_apply(af_tensor *t, af_ckind k, const af_cparams *p, af_cblob *keep,
                            af_err *err)
{
    af_cblob b = {0};
    if (keep && keep->data) b = *keep, keep->data = NULL;
    else if (af_ctraits_table[k].encode &&
             af_ctraits_table[k].encode(t->data, t->rank, t->dims, p, &b, err) != AF_OK)
        return af_err_prefix(err, t->name);
    free(t->blob);
    t->blob = b.data;
    t->blob_bytes = b.bytes;
    t->encoding = af_ctraits_table[k].encoding;
    return AF_OK;
}

/* With calibration data: each weight's input statistics (wstats.h), for data-aware codes. */
static af_status single_stats(af_graph *g, const af_compress_options *o, const int *w, int nw,
                              af_compress_result *r, af_wstats **stats, af_err *err)
{
    *stats = NULL;
    if (!o->calib_dir || o->data_free) return AF_OK;
    af_calib cal;
    if (af_calib_load(g, o->calib_dir, o->seed, &cal, err) != AF_OK) return err->code;
    r->n_calib_sets = cal.n_sets;
    *stats = calloc((size_t)(nw ? nw : 1), sizeof **stats);
    af_status st = *stats ? af_wstats_collect(g, &cal, w, nw, AF_WSTATS_MAX_FULL, *stats, err)
                          : af_err_set(err, AF_ERR_NOMEM, "out of memory");
    af_calib_free(&cal, g->n_inputs);
    return st;
}

/* Encodes t as k; with statistics, GPTQ re-chooses the codes (gptq.h). */
static af_status encode_one(af_tensor *t, af_ckind k, const af_cparams *p, af_wstats *s,
                            af_err *err)
{
    af_cblob b = {0};
    if (!s || !af_ctraits_table[k].encode) return af_compress_apply(t, k, p, NULL, err);
    af_cparams q = *p; /* palettes: k-means weighted by the inputs' second moments */
    q.col_importance = af_wstats_col_importance(s);
    if (af_ctraits_table[k].encode(t->data, t->rank, t->dims, &q, &b, err) != AF_OK ||
        af_gptq_recode(k, t->data, t->rank, t->dims, s, &b, err) != AF_OK) {
        af_cblob_drop(&b);
        return af_err_prefix(err, t->name);
    }
    return af_compress_apply(t, k, p, &b, err);
}

static af_status single_mode(af_graph *g, const af_compress_options *o, const int *w, int nw,
                             af_compress_result *r, af_err *err)
{
    af_wstats *stats = NULL;
    af_status st = single_stats(g, o, w, nw, r, &stats, err);
    for (int i = 0; st == AF_OK && i < nw; i++) {
        af_tensor *t = &g->tensors[w[i]];
        int emb = 0;
        af_compress_is_weight(g, w[i], &emb);
        af_cparams p = o->p;
        af_ckind k = single_kind(o, t, emb, &p);
        if (k == AF_CK_COUNT) {
            st = af_err_set(err, AF_ERR_USAGE, "no %d-bit palette (want 1, 2, 3, 4, 6 or 8)",
                            o->palette_bits);
            break;
        }
        if ((st = encode_one(t, k, &p, stats ? &stats[i] : NULL, err)) != AF_OK) break;
        r->data_aware += stats && stats[i].factored == 1;
        af_cblob b = {t->blob, t->blob_bytes};
        af_compress_choice *c = &r->choices[r->n++];
        c->tensor = w[i];
        c->kind = k;
        c->psnr_db = weight_psnr(k, t, &b, err);
        c->bytes = k == AF_CK_FP16 ? 2 * (uint64_t)af_tensor_numel(t) : t->blob_bytes;
        c->fp32_bytes = 4 * (uint64_t)af_tensor_numel(t);
        c->native = native_for(o, k);
        if (!c->native && !r->warning[0])
            snprintf(r->warning, sizeof r->warning,
                     "--compress %s: family %s does not stream %s weights natively; they are "
                     "expanded to fp16 before use (a footprint lever only)",
                     af_cmode_names[o->mode], o->family->name, af_ctraits_table[k].name);
        if (o->progress) o->progress(o->progress_user, "encoding", (uint64_t)i + 1, (uint64_t)nw);
    }
    for (int i = 0; stats && i < nw; i++) af_wstats_free(&stats[i]);
    free(stats);
    return st;
}

af_status af_compress_graph(af_graph *g, const af_compress_options *o, af_compress_result *r,
                            af_err *err)
{
    memset(r, 0, sizeof *r);
    r->model_psnr_db = NAN;
    r->model_cosine = r->model_top1 = r->model_topk = r->model_argmax = r->model_iou = NAN;
    if (o->mode == AF_CMODE_FP32 || o->mode == AF_CMODE_FP16) return AF_OK;
    int *w = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *w), nw = 0;
    r->choices = calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *r->choices);
    if (!w || !r->choices) {
        free(w);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_tensors; i++)
        if (!g->tensors[i].blob /* pre-quantized, kept */ &&
            af_compress_is_weight(g, i, NULL))
            w[nw++] = i;
    af_status st = o->mode == AF_CMODE_AUTO ? af_compress_auto(g, o, w, nw, r, err)
                                            : single_mode(g, o, w, nw, r, err);
    free(w);
    return st;
}

void af_compress_result_free(af_compress_result *r)
{
    free(r->choices);
    memset(r, 0, sizeof *r);
}

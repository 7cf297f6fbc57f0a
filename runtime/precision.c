/* runtime/precision.c — per-node precision placement under fp16 emulation: reading the
 * placement the converter records in the metadata, and deciding how each tensor is stored.
 *
 * Metadata (convert/placement.c writes it, this reads only its head):
 *   "precision":{"fp32":["node",...],"paired_fp16":["node",...],...}
 * A tensor is stored at the lowest precision of its writer and its readers (fp16 < paired <
 * fp32): an ANE node reads and writes halves whatever its neighbours do, so a tensor keeps fp32
 * only when every node touching it runs fp32 on the CPU. The caller (inputs, outputs) counts as
 * fp32; an in-place reshape is transparent (its readers read the tensor it aliases). */
#include "precision.h"

#include <stdlib.h>
#include <string.h>

/* fp16 0 < paired 1 < fp32 2 */
static int prec_rank(int p) { return p == AF_PREC_FP32 ? 2 : p == AF_PREC_PAIRED ? 1 : 0; }
static uint8_t rank_prec(int r) { return r == 2 ? AF_PREC_FP32 : r == 1 ? AF_PREC_PAIRED : AF_PREC_FP16; }

/* Decodes the JSON string at s (after its opening quote, as json_string writes it: \" \\ and
 * \u00XX) into out (size bytes, truncated); returns the position after the closing quote, NULL
 * when it does not close before end. */
static const char *read_str(const char *s, const char *end, char *out, size_t size)
{
    size_t k = 0;
    while (s < end && *s != '"') {
        char ch = *s++;
        if (ch == '\\') {
            if (s >= end) return NULL;
            ch = *s++;
            if (ch == 'u') {
                unsigned v = 0;
                for (int d = 0; d < 4; d++, s++) {
                    if (s >= end) return NULL;
                    char h = *s;
                    v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 : h >= 'A' ? h - 'A' + 10 : h - '0');
                }
                ch = (char)(v & 0xFF);
            } else if (ch == 'n') ch = '\n';
            else if (ch == 't') ch = '\t';
        }
        if (k + 1 < size) out[k++] = ch;
    }
    if (size) out[k] = '\0';
    return s < end ? s + 1 : NULL;
}

static int find_node(const afb_file *f, const char *name)
{
    for (uint32_t i = 0; i < f->n_nodes; i++)
        if (f->nodes[i].name && !strcmp(f->nodes[i].name, name)) return (int)i;
    return -1;
}

/* The array of node names at *ps ("key":[...]) sets prec of each to p; advances *ps. */
static af_status read_list(const afb_file *f, const char **ps, const char *end, const char *key,
                           uint8_t p, uint8_t *prec, af_err *err)
{
    size_t kl = strlen(key);
    const char *s = *ps;
    if ((size_t)(end - s) < kl || memcmp(s, key, kl))
        return af_err_set(err, AF_ERR_FORMAT, "metadata: malformed precision placement");
    s += kl;
    char name[1024];
    while (s < end && *s != ']') {
        if (*s == ',') s++;
        if (s >= end || *s != '"' || !(s = read_str(s + 1, end, name, sizeof name)))
            return af_err_set(err, AF_ERR_FORMAT, "metadata: malformed precision placement");
        int i = find_node(f, name);
        if (i < 0)
            return af_err_set(err, AF_ERR_FORMAT, "metadata: the precision placement names node "
                              "'%s', which the program lacks", name);
        prec[i] = p;
    }
    if (s >= end) return af_err_set(err, AF_ERR_FORMAT, "metadata: malformed precision placement");
    *ps = s + 1;
    return AF_OK;
}

af_status af_prec_from_meta(const afb_file *f, uint8_t *prec, af_err *err)
{
    static const char key[] = "\"precision\":{";
    memset(prec, AF_PREC_FP16, f->n_nodes);
    const char *m = f->meta_json, *end = m ? m + f->meta_len : NULL, *s = NULL;
    for (const char *p = m; p && p + sizeof key - 1 <= end; p++)
        if (!memcmp(p, key, sizeof key - 1)) {
            s = p + sizeof key - 1;
            break;
        }
    if (!s) return AF_OK;
    if (read_list(f, &s, end, "\"fp32\":[", AF_PREC_FP32, prec, err) != AF_OK) return err->code;
    if (s < end && *s == ',') s++;
    return read_list(f, &s, end, "\"paired_fp16\":[", AF_PREC_PAIRED, prec, err);
}

af_status af_prec_tensor_modes(const afb_file *f, const uint8_t *skip, const uint8_t *prec,
                               uint8_t *tmode, af_err *err)
{
    int32_t *root = malloc(sizeof(int32_t) * (f->n_tensors ? f->n_tensors : 1));
    uint8_t *rank = malloc(f->n_tensors ? f->n_tensors : 1);
    if (!root || !rank) {
        free(root);
        free(rank);
        return af_err_set(err, AF_ERR_NOMEM, "out of memory");
    }
    for (uint32_t t = 0; t < f->n_tensors; t++) root[t] = (int32_t)t, rank[t] = 2;
    for (uint32_t i = 0; i < f->n_nodes; i++) { /* program order: a reshape's input is rooted */
        const afb_node *n = &f->nodes[i];
        if (skip[i]) {
            root[n->out[0]] = root[n->in[0]];
            continue;
        }
        int r = prec_rank(prec[i]);
        for (int k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && rank[root[n->in[k]]] > r) rank[root[n->in[k]]] = (uint8_t)r;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && rank[root[n->out[k]]] > r) rank[root[n->out[k]]] = (uint8_t)r;
    }
    for (uint32_t t = 0; t < f->n_tensors; t++) tmode[t] = rank_prec(rank[root[t]]);
    free(root);
    free(rank);
    return AF_OK;
}

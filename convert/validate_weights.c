/* convert/validate_weights.c — which weight each compared layer reads, how the bundle stores it,
 * and what --compress auto decided for it (see validate.h, af_val_weight).
 *
 * The node → weight link comes from the bundle's program (the node at the layer's depth, its
 * weight input: slot 1 of Conv/ConvTranspose/Gemm/MatMul, slot 0 of Gather, when constant).
 * Auto's decisions come from the metadata the converter wrote (convert/compress_step.c):
 * "compression":{"mode":"auto",...,"tensors":[{"tensor":NAME,"encoding":E,"layer_psnr_db":P,
 * ...,"layer_gate_encoding":G,"layer_gate_psnr_db":Q,"promotion":N},...]}. The reader below
 * only finds fields in objects of that writer's shape; a bundle without them shows no auto
 * column, it is not an error (other modes' objects name the encoding only). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../bundle/bundle.h"
#include "json.h"
#include "validate.h"

/* afb_encoding → name, for bundles whose metadata does not name the encoding. */
static const char *const enc_names[AFB_ENC_COUNT] = {"raw", "fp16", "int8", "int4", "sparse",
                                                     "blockwise", "palette"};

static int weight_slot(af_op op)
{
    switch (op) {
    case AF_OP_CONV: case AF_OP_CONV_TRANSPOSE: case AF_OP_GEMM: case AF_OP_MATMUL: return 1;
    case AF_OP_GATHER: return 0;
    default: return -1;
    }
}

/* ---- the metadata's per-tensor objects ----------------------------------------------------- */

typedef struct meta_text {
    const char *s;
    size_t n;
} meta_text;

static const char *find_in(meta_text m, const char *from, const char *needle)
{
    size_t k = strlen(needle);
    for (const char *p = from; p + k <= m.s + m.n; p++)
        if (!memcmp(p, needle, k)) return p;
    return NULL;
}

/* The value after "key": within [obj, end) (our writer puts no '}' inside these values). */
static const char *field(const char *obj, const char *end, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    size_t k = strlen(pat);
    for (const char *p = obj; p + k <= end; p++)
        if (!memcmp(p, pat, k)) return p + k;
    return NULL;
}

static void field_str(const char *obj, const char *end, const char *key, char *out, size_t size)
{
    const char *v = field(obj, end, key);
    out[0] = '\0';
    if (!v || *v != '"') return;
    size_t i = 0;
    for (v++; v < end && *v != '"' && i + 1 < size; v++) out[i++] = *v;
    out[i] = '\0';
}

static double field_num(const char *obj, const char *end, const char *key)
{
    const char *v = field(obj, end, key);
    if (!v) return NAN;
    if (*v == 'n') return INFINITY; /* null: the writer's non-finite PSNR, i.e. exact */
    char buf[48];
    size_t i = 0;
    while (v + i < end && i + 1 < sizeof buf && strchr("0123456789+-.eE", v[i])) buf[i] = v[i], i++;
    buf[i] = '\0';
    return i ? strtod(buf, NULL) : NAN;
}

/* Auto's record for tensor name, if the metadata has one. */
static void read_auto(meta_text m, const char *tensors, const char *name, af_val_weight *w)
{
    af_json key;
    json_init(&key);
    json_raw(&key, "{\"tensor\":");
    json_string(&key, name);
    json_raw(&key, ",");
    const char *obj = json_ok(&key) ? find_in(m, tensors, key.buf) : NULL;
    json_free(&key);
    if (!obj) return;
    const char *end = find_in(m, obj, "}");
    if (!end) return;
    field_str(obj, end, "encoding", w->encoding, sizeof w->encoding);
    field_str(obj, end, "layer_gate_encoding", w->gate_encoding, sizeof w->gate_encoding);
    if (!w->gate_encoding[0]) return; /* not written by auto */
    w->has_auto = 1;
    w->gate_psnr = field_num(obj, end, "layer_gate_psnr_db");
    w->auto_psnr = field_num(obj, end, "layer_psnr_db");
    double p = field_num(obj, end, "promotion");
    w->promotion = p >= 1 && p < 1e9 ? (int)p : 0;
}

/* ---- per layer --------------------------------------------------------------------------- */

static int attach_one(const afb_file *f, meta_text m, const char *tensors, af_val_layer *l)
{
    if (l->depth < 0 || (uint32_t)l->depth >= f->n_nodes) return 0;
    const afb_node *n = &f->nodes[l->depth];
    int slot = weight_slot(n->op);
    if (!n->name || strcmp(n->name, l->node) || slot < 0 || slot >= n->n_in || n->in[slot] < 0) return 0;
    const afb_tensor *t = &f->tensors[n->in[slot]];
    if (t->storage != AFB_STORAGE_CONST || t->dtype != AF_DTYPE_F32) return 0;
    if (!(l->w.tensor = strdup(t->name))) return -1;
    snprintf(l->w.encoding, sizeof l->w.encoding, "%s",
             t->encoding < AFB_ENC_COUNT ? enc_names[t->encoding] : "?");
    if (tensors) read_auto(m, tensors, t->name, &l->w);
    return l->w.has_auto;
}

af_status af_val_attach_weights(const char *bundle_path, af_val_result *r, af_err *err)
{
    afb_file *f = NULL;
    if (afb_open_file(bundle_path, &f, err) != AF_OK) return err->code;
    meta_text m = {f->meta_json ? f->meta_json : "", f->meta_json ? f->meta_len : 0};
    const char *comp = find_in(m, m.s, "\"compression\":{\"mode\":");
    const char *tensors = comp ? find_in(m, comp, "\"tensors\":[") : NULL;
    for (int i = 0; i < r->n_layers; i++) {
        int rc = attach_one(f, m, tensors, &r->layers[i]);
        if (rc < 0) {
            afb_close(f);
            return af_err_set(err, AF_ERR_NOMEM, "out of memory");
        }
        r->auto_bundle |= rc;
    }
    afb_close(f);
    return AF_OK;
}

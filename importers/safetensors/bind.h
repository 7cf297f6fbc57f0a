/* importers/safetensors/bind.h — puts safetensors weights into an imported graph, by name.
 *
 * Sources: *.safetensors files and sharded-checkpoint indexes (*.json, e.g.
 * model.safetensors.index.json: {"metadata": {...}, "weight_map": {tensor: shard file}}; shard
 * files are looked up next to the index and must stay inside its folder).
 * Every tensor of every file is renamed by the weight map (if any), then must name an ONNX
 * initializer (AF_TENSOR_INITIALIZER) of the same shape; its values replace the initializer's.
 * Dtypes: equal dtypes are copied; F32, F16, BF16 and F64 convert to an F32, F16 or BF16
 * initializer (round to nearest even; F64 → F16 goes through F32). Any other pair is refused.
 * File tensors with no initializer ("unmatched") and initializers no file covers ("uncovered")
 * are an error unless allow_partial; they are listed either way in the report.
 *
 * Weight map (a text file, one rule a line, '#' starts a comment, fields split by blanks):
 *   rename OLD NEW     the file tensor named exactly OLD binds to initializer NEW
 *   prefix OLD NEW     a file name starting with OLD has that part replaced by NEW
 *   strip OLD          same as prefix OLD with an empty NEW
 * An exact rename wins over prefixes; among prefixes the longest OLD wins; one rule applies
 * to a name (no chaining). Two file tensors that end up with the same name are an error.
 */
#ifndef AF_SAFETENSORS_BIND_H
#define AF_SAFETENSORS_BIND_H

#include "graph/graph.h"

typedef struct af_st_bind_options {
    const char *const *paths; /* .safetensors files or .json indexes */
    int n_paths;
    const char *weight_map;   /* path or NULL */
    int allow_partial;
} af_st_bind_options;

typedef struct af_st_bind_report {
    int files;      /* safetensors files read (shards included) */
    int bound;      /* initializers replaced */
    int converted;  /* of which changed dtype */
    int unmatched;  /* file tensors with no initializer of that name */
    int uncovered;  /* initializers no file covers */
    char note[512]; /* the unmatched and uncovered names (truncated), "" if none */
} af_st_bind_report;

af_status af_st_bind(af_graph *g, const af_st_bind_options *o, af_st_bind_report *r, af_err *err);

/* ---- the weight map, exposed for tests ---- */
typedef struct af_st_rule {
    int exact;       /* 1 rename, 0 prefix */
    char *from, *to;
} af_st_rule;

typedef struct af_st_map {
    af_st_rule *rules;
    int n_rules;
} af_st_map;

/* Parses weight-map text (name is the file, for messages). */
af_status af_st_map_parse(const char *text, size_t len, const char *name, af_st_map *m,
                          af_err *err);
af_status af_st_map_load(const char *path, af_st_map *m, af_err *err);
/* The mapped name of `name` as a new malloc'd string (NULL on OOM). */
char *af_st_map_apply(const af_st_map *m, const char *name);
void af_st_map_free(af_st_map *m);

#endif

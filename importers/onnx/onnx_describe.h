/* importers/onnx/onnx_describe.h — what a model holds, without importing it: opsets, declared
 * inputs and outputs, op types with their nodes (subgraphs of If/Loop/Scan included) and
 * whether the importer has a mapper for each, and the data types it uses. Works on any model
 * that parses, whatever ops it uses (`aneforge inspect MODEL.onnx`).
 */
#ifndef AF_ONNX_DESCRIBE_H
#define AF_ONNX_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "graph/error.h"

typedef struct af_onnx_value_desc {
    char *name;
    char *type;    /* "f32", "i64", ... when the IR has the dtype, else the ONNX name ("DOUBLE",
                    * "STRING"); "sequence", "optional", "map" for non-tensor values */
    int rank;      /* -1 when not declared */
    char *shape;   /* "[1,3,N,?]" (dim params by name, '?' unknown) or "" when rank is -1 */
    int64_t *dims; /* rank entries, -1 for a dim param or unknown dim (NULL when rank <= 0) */
} af_onnx_value_desc;

typedef struct af_onnx_op_desc {
    char *op_type;
    char *domain;  /* "" for the default domain */
    int supported; /* the importer maps this op (attribute forms may still be refused) */
    int count;
    char **nodes;  /* node names; unnamed nodes as the importer names them ("<OpType>_<i>"),
                    * prefixed "<parent>/<attribute>/" inside subgraphs */
} af_onnx_op_desc;

typedef struct af_onnx_desc {
    int64_t ir_version;
    char *producer;             /* "name version" or "" */
    int n_opsets;
    char **opset_domains;       /* "" = ai.onnx */
    int64_t *opset_versions;
    int n_inputs, n_outputs;    /* inputs exclude initializers listed as inputs */
    af_onnx_value_desc *inputs, *outputs;
    int n_ops;                  /* in order of first appearance */
    af_onnx_op_desc *ops;
    int n_nodes;                /* top-level nodes */
    int n_subgraph_nodes;       /* nodes inside If/Loop/Scan bodies */
    int n_unsupported_nodes;    /* nodes (anywhere) whose op has no mapper */
    int n_initializers;
    int64_t parameters;         /* initializer elements */
    uint32_t dtypes;            /* bit t set: ONNX data type t appears (values, initializers,
                                 * Constant values, Cast targets) */
} af_onnx_desc;

/* Parses path; AF_ERR_IO when it cannot be read, AF_ERR_FORMAT when it is not an ONNX model. */
af_status af_onnx_describe_file(const char *path, af_onnx_desc *d, af_err *err);
/* The same from a buffer; display_name names the model in messages (NULL: "<memory>"). */
af_status af_onnx_describe_memory(const void *buf, size_t size, const char *display_name,
                                  af_onnx_desc *d, af_err *err);
void af_onnx_desc_free(af_onnx_desc *d);

/* The ONNX name of data type t ("FLOAT", "INT64", ...; "unknown" outside the enum). */
const char *af_onnx_dtype_name(int32_t t);

/* 1 when the importer has a mapper for (domain, op_type) (onnx_ops.c's table). */
int af_onnx_op_supported(const char *domain, const char *op_type);

#endif

/* targets/targets_internal.h — graph-level entry points behind aneforge/targets.h, shared by
 * the converter pipeline (convert/convert.c), the CLI and the tests.
 *
 *   check.c     caps of a family against a lowered graph (per-node violations, placement);
 *               the placement and target a bundle's META records, read back
 *   fp16.c      fp16 divergence prediction by running the fp32 program node by node
 *   cost.c      MACs / bytes / roofline time per op over a neutral op description, with
 *               adapters from a lowered graph and from an opened bundle
 *   probe.c     the "host" pseudo-family measured on this machine
 *   model.c     import + lower a model the way convert does
 */
#ifndef AF_TARGETS_INTERNAL_H
#define AF_TARGETS_INTERNAL_H

#include "../bundle/bundle.h"
#include "../graph/graph.h"
#include "aneforge/targets.h"

/* Display name of a node's operation: unary/binary/reduce show their function ("sin", "sub"). */
const char *af_target_op_name(af_op op, const af_params *p);
/* 1 when name is one of the comma-separated tokens of list. */
int af_target_name_in(const char *list, const char *name);

/* Appends every cap violation of g's nodes to r; cpu_nodes (n_nodes bytes, may be NULL) gets 1
 * for each node that must run off the ANE. */
af_status af_target_check_graph(const af_graph *g, const af_target_family *fam,
                                af_target_check_result *r, uint8_t *cpu_nodes, af_err *err);

/* Placement as a JSON array value: [{"node":"conv1","device":"ane"},...]. Returns a malloc'd
 * string or NULL on OOM. */
char *af_target_placement_json(const af_graph *g, const uint8_t *cpu_nodes);
/* Counts the placement entries found in a bundle's META JSON; calls each_cpu (if not NULL) with
 * every node placed on the CPU. Returns 0 when the META has no placement. */
int af_target_placement_scan(const char *meta, size_t len, int *n_ane, int *n_cpu,
                             void (*each_cpu)(const char *node, void *ctx), void *ctx);

/* The target a bundle's META records, resolved: "target_device" (a chip) when present, else
 * "target" (a family, or the name as typed in bundles written before target_device existed).
 * The recorded name is copied into recorded. Returns 1 when resolved, 0 when the META records
 * no target, -1 when it names one this build does not know. */
int af_target_meta_read(const char *meta, size_t len, af_target *out, char *recorded,
                        size_t recorded_size);

/* Runs g (lowered; every shape known) in fp32 on inputs (data of g->inputs[i], in the input's
 * dtype) and flags tensors per af_fp16_kind. */
af_status af_fp16_predict_graph(const af_graph *g, void *const *inputs, af_fp16_report *r,
                                af_err *err);

/* n seeded N(0,1) floats (the same for the same seed): calibration and timing inputs when none
 * are given. */
void af_target_fill_normal(float *x, int64_t n, uint64_t seed);

/* ---- cost model over a neutral description ---- */
typedef struct af_cost_tensor {
    af_dtype dtype;
    int rank;
    int64_t dims[AF_MAX_RANK];
    int is_const;
    int wenc;             /* AF_WENC_x of a constant */
    double stored_bytes;  /* a bundle constant's bytes as stored (0: use bits per weight) */
    int alias;            /* an output sharing its input's bytes (in-place reshape) */
} af_cost_tensor;

typedef struct af_cost_node {
    const char *name;
    af_op op;
    const af_params *p;
    int n_in, n_out;
    const af_cost_tensor *in;  /* omitted optional inputs have rank -1 */
    const af_cost_tensor *out;
} af_cost_node;

/* Fills c with the node's work and roofline time on fam. */
void af_cost_node_eval(const af_cost_node *n, const af_target_family *fam, af_op_cost *c);
/* assume_wenc: -1 keeps each constant's stored encoding; else large f32/fp16 weights (more than
 * 2048 elements, rank >= 2) are taken as that encoding. */
af_status af_cost_graph(const af_graph *g, const af_target_family *fam, int assume_wenc,
                        af_cost_report *r, af_err *err);
af_status af_cost_bundle(const afb_file *f, const af_target_family *fam, int assume_wenc,
                         af_cost_report *r, af_err *err);

/* Imports path and lowers it as af_convert does (fusion on); g initialised by the caller. */
af_status af_target_load_model(const char *path, const af_shape_spec *shapes, int n_shapes,
                               af_graph *g, af_err *err);

#endif

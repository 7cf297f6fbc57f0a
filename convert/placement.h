/* convert/placement.h — precision placement under fp16 (convert --keep-fp32, --paired-fp16;
 * docs/sd-fp16.md): which nodes of the lowered program run fp32 on the CPU or carry paired
 * halves, chosen by hand or by measuring the guided output of classifier-free guidance
 * (placement.c); its metadata and shares of an estimate (placement_meta.c). */
#ifndef AF_CONVERT_PLACEMENT_H
#define AF_CONVERT_PLACEMENT_H

#include <stdint.h>

#include "../graph/graph.h"
#include "aneforge/converter.h"
#include "aneforge/targets.h"
#include "json.h"

typedef struct af_placement {
    char **fp32, **paired;      /* node names */
    int n_fp32, n_paired;
    const char *mode_fp32, *mode_paired; /* "manual", "auto" or NULL (none) */
    int measured;               /* --cfg-calib given: the figures below are set */
    int n_pairs;                /* --cfg-calib input-set pairs measured (the worst decides) */
    double scale, gate;         /* guidance scale, --min-cfg-psnr */
    double psnr_fp16, psnr_placed; /* guided output PSNR, all fp16 / with the placement */
    double cpu_share, paired_extra; /* of the estimated time (cost_family's figures) */
    char family[16];
} af_placement;

/* af_convert with --keep-fp32 / --paired-fp16: chooses (auto) or resolves the placement,
 * measures it on --cfg-calib, then converts with it. */
af_status af_placement_convert(const af_convert_options *o, af_convert_report *r, af_err *err);
/* The converter proper with a placement (NULL: none) — convert/convert.c. */
af_status af_convert_with(const af_convert_options *o, af_convert_report *r,
                          const af_placement *pl, af_err *err);
/* On the lowered graph: every named node must exist (AF_ERR_USAGE naming it otherwise); fp32
 * nodes' weights stored in halves are stored fp32 again (r->weight_bytes updated) and marked in
 * cpu[g->n_nodes] when cpu is not NULL. */
af_status af_placement_apply(af_graph *g, const af_placement *pl, af_convert_report *r,
                             uint8_t *cpu, af_err *err);
/* "precision": {"fp32": [...], "paired_fp16": [...], mode, figures} (nothing without one). */
void af_placement_meta_json(af_json *j, const af_placement *pl);
/* t[n] = the estimated time of each named node in cr (names longer than the report keeps are cut
 * alike; 0 when absent). */
void af_placement_node_times(const af_cost_report *cr, const char *const *names, int n, double *t);
/* Of cr's estimated time: the share of nodes with prec AF_PREC_FP32 (moved to the CPU) and the
 * time paired nodes add (one more pass each), both as fractions of cr->time_us; names[n] and
 * prec[n] are the program's nodes. */
void af_placement_shares(const af_cost_report *cr, const char *const *names, const uint8_t *prec,
                         int n, double *cpu_share, double *paired_extra);
/* What a bundle's metadata records of its placement (inspect): 0 when it has none. Counts of
 * the lists; the figures NaN (cpu_share, paired_extra, psnr_*) when absent. */
typedef struct af_placement_info {
    int n_fp32, n_paired;
    char mode_fp32[8], mode_paired[8], family[16];
    double cpu_share, paired_extra, scale, gate, psnr_fp16, psnr_placed;
    int n_pairs;                /* cfg_calib_pairs (0 when absent) */
} af_placement_info;
int af_placement_read(const char *meta, size_t len, af_placement_info *out);
/* The share of the estimated time cr (a bundle's) that its recorded placement moves to the CPU
 * and adds for pairs; 0 when it records none (or on an error: *share stays 0). */
int af_placement_bundle_shares(const char *bundle_path, const af_cost_report *cr,
                               double *cpu_share, double *paired_extra, int *n_fp32,
                               int *n_paired);
/* "h13" or the --target family (cost figures of the search and the shares). */
const af_target_family *af_placement_family(const af_convert_options *o);

#endif

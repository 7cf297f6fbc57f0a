/* tools/targets_cli.h — helpers shared by the targets, check and estimate subcommands. */
#ifndef AF_TOOLS_TARGETS_CLI_H
#define AF_TOOLS_TARGETS_CLI_H

#include "../convert/json.h"
#include "aneforge/targets.h"

#define TCLI_MAX_SHAPES 64

/* NAME=D0,D1,... into spec, the name copied into names[k] (k = the spec's index); 0 or -1. */
int tcli_parse_shape(const char *arg, af_shape_spec *spec, char (*name)[256]);
/* Looks the family up; on failure prints the error with the known names and returns 2. */
int tcli_family(const char *name, const af_target_family **out);
/* Resolves a family, chip or device alias; on failure prints the error and returns 2. */
int tcli_target(const char *name, af_target *out);
/* The provenance of a target's figures as one JSON object value. */
void tcli_json_provenance(af_json *j, const af_target_provenance_info *p);
/* {"value": v, "source": "...", "assumed": false} under key. */
void tcli_json_figure(af_json *j, const char *key, const af_figure *f);
/* The family's figures as one JSON object value. */
void tcli_json_family(af_json *j, const af_target_family *f);
/* "fp16, int4" into buf. */
const char *tcli_streams(uint32_t mask, char *buf, size_t size);

#endif

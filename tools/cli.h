/* tools/cli.h — shared pieces of the aneforge CLI: exit codes, error printing, flag parsing.
 *
 * Exit codes (docs/cli.md): 0 success; 1 a check did not pass; 2 usage error; 3 bad input file
 * or model; 4 internal error. Errors are one line on stderr starting "aneforge: error: ".
 */
#ifndef AF_TOOLS_CLI_H
#define AF_TOOLS_CLI_H

#include <stdint.h>

#include "aneforge/status.h"
#include "aneforge/types.h"

enum {
    CLI_OK = 0,
    CLI_CHECK_FAILED = 1,
    CLI_USAGE = 2,
    CLI_BAD_INPUT = 3,
    CLI_INTERNAL = 4,
};

/* Prints "aneforge: error: <message>" and returns code. */
int cli_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps a library status to an exit code. */
int cli_exit_code(af_status st);

/* Parses "D0,D1,..." into dims; returns the rank or -1. */
int cli_parse_dims(const char *s, int64_t *dims, int max_rank);
/* Parses a positive integer flag value; returns -1 when invalid. */
long cli_parse_count(const char *s);

/* One-line warning on stderr when an input file held '<f8' data (narrowed to f32: the ANE has
 * no fp64); what names the file or folder. No-op when n == 0. */
void cli_warn_f64(int n, const char *what);

int cmd_convert(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_validate(int argc, char **argv);
/* tools/inspect_safetensors.c: the .safetensors branch of inspect. */
int inspect_safetensors(const char *path, int as_json);
int cmd_bench(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_estimate(int argc, char **argv);
int cmd_targets(int argc, char **argv);
int cmd_sd_trajectory(int argc, char **argv);

#endif

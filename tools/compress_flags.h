/* tools/compress_flags.h — `aneforge convert`'s compression flags and progress display. */
#ifndef AF_TOOLS_COMPRESS_FLAGS_H
#define AF_TOOLS_COMPRESS_FLAGS_H

#include "aneforge/converter.h"

/* Parses argv[*i] if it is a compression flag (--group-size N, --block-size N, --block-bits N,
 * --sparsity S, --int8-asymmetric, --int8-per-tensor, --calib DIR, --min-psnr DB, and auto's
 * task gates --min-cosine C, --min-topk P, --min-argmax P, --min-iou P with --topk [OUT=]K,
 * --argmax-axis [OUT=]A, --iou [OUT=]T), advancing *i past its value. Returns 1 when consumed, 0 when not a compression flag, -1 after printing a
 * usage error. */
int cli_compress_flag(int argc, char **argv, int *i, af_convert_options *o);

/* Checks the compression options (exit code 2 with a precise message); 0 when fine. */
int cli_compress_check(const af_convert_options *o);

/* Installs a progress display on stderr: a bar when stderr is a terminal, else one line per
 * stage once the conversion has run for a few seconds. */
void cli_compress_progress(af_convert_options *o);

/* Prints the compression lines of the report (stdout) and any warning (stderr). */
void cli_compress_report(const af_convert_options *o, const af_convert_report *r, int quiet);

#endif

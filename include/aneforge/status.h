/* aneforge/status.h — status codes shared by the converter and the runtime.
 *
 * Library code never aborts or exits: every fallible call returns an af_status and, where a
 * handle or an af_err is at hand, a one-line message saying what went wrong and where.
 * The CLI maps these to the documented exit codes (see docs/cli.md):
 *   AF_ERR_USAGE → 2; AF_ERR_IO, AF_ERR_FORMAT, AF_ERR_UNSUPPORTED, AF_ERR_SHAPE → 3;
 *   AF_ERR_NOMEM, AF_ERR_INTERNAL → 4.
 */
#ifndef ANEFORGE_STATUS_H
#define ANEFORGE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum af_status {
    AF_OK = 0,
    AF_ERR_USAGE,       /* a bad argument from the caller (API misuse, bad CLI flag value) */
    AF_ERR_IO,          /* a file could not be opened, read, mapped or written */
    AF_ERR_FORMAT,      /* a file is truncated, corrupt, foreign or malicious */
    AF_ERR_UNSUPPORTED, /* a valid model uses an op, dtype or attribute we do not support */
    AF_ERR_SHAPE,       /* shapes are unknown, inconsistent or out of range */
    AF_ERR_NOMEM,       /* an allocation failed or a size overflowed */
    AF_ERR_INTERNAL,    /* a bug: an invariant did not hold */
    AF_STATUS_COUNT
} af_status;

/* A short constant name for a status ("format error", ...). Never NULL. */
const char *af_status_str(af_status s);

#ifdef __cplusplus
}
#endif
#endif

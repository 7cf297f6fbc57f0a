#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cli_error(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("aneforge: error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

void cli_warn_f64(int n, const char *what)
{
    if (n)
        fprintf(stderr, "aneforge: warning: %s: float64 input%s narrowed to float32 (the ANE has "
                "no fp64)\n", what, n > 1 ? "s" : "");
}

int cli_exit_code(af_status st)
{
    switch (st) {
    case AF_OK: return CLI_OK;
    case AF_ERR_USAGE: return CLI_USAGE;
    case AF_ERR_IO:
    case AF_ERR_FORMAT:
    case AF_ERR_UNSUPPORTED:
    case AF_ERR_SHAPE: return CLI_BAD_INPUT;
    default: return CLI_INTERNAL;
    }
}

int cli_parse_dims(const char *s, int64_t *dims, int max_rank)
{
    int rank = 0;
    while (*s) {
        if (rank == max_rank) return -1;
        errno = 0;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (end == s || errno || v < 0) return -1;
        dims[rank++] = v;
        if (*end == ',') end++;
        else if (*end) return -1;
        s = end;
    }
    return rank;
}

long cli_parse_count(const char *s)
{
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v <= 0) return -1;
    return v;
}

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[AF_STATUS_COUNT] = {
    [AF_OK] = "ok",
    [AF_ERR_USAGE] = "usage error",
    [AF_ERR_IO] = "i/o error",
    [AF_ERR_FORMAT] = "format error",
    [AF_ERR_UNSUPPORTED] = "unsupported",
    [AF_ERR_SHAPE] = "shape error",
    [AF_ERR_NOMEM] = "out of memory",
    [AF_ERR_INTERNAL] = "internal error",
};

const char *af_status_str(af_status s)
{
    if ((unsigned)s >= AF_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

/* Messages stay one line even when they quote names from a file: control bytes become '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

af_status af_err_set(af_err *err, af_status code, const char *fmt, ...)
{
    if (!err || err->code != AF_OK) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    one_line(err->msg);
    return code;
}

af_status af_err_prefix(af_err *err, const char *prefix)
{
    if (!err) return AF_ERR_INTERNAL;
    char tmp[sizeof err->msg];
    size_t n = strlen(prefix);
    if (n > sizeof tmp - 3) n = sizeof tmp - 3;
    memcpy(tmp, prefix, n);
    memcpy(tmp + n, ": ", 2);
    size_t rest = sizeof tmp - n - 3;
    size_t m = strlen(err->msg);
    if (m > rest) m = rest;
    memcpy(tmp + n + 2, err->msg, m);
    tmp[n + 2 + m] = '\0';
    one_line(tmp);
    memcpy(err->msg, tmp, sizeof tmp);
    return err->code;
}

void af_err_clear(af_err *err)
{
    if (!err) return;
    err->code = AF_OK;
    err->msg[0] = '\0';
}

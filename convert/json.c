#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(af_json *j) { memset(j, 0, sizeof *j); }
void json_free(af_json *j) { free(j->buf); memset(j, 0, sizeof *j); }
int json_ok(const af_json *j) { return !j->oom && j->buf; }

static void append(af_json *j, const char *s, size_t n)
{
    if (j->oom) return;
    if (j->len + n + 1 > j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 256;
        while (cap < j->len + n + 1) cap *= 2;
        char *p = realloc(j->buf, cap);
        if (!p) {
            j->oom = 1;
            return;
        }
        j->buf = p;
        j->cap = cap;
    }
    memcpy(j->buf + j->len, s, n);
    j->len += n;
    j->buf[j->len] = '\0';
}

void json_raw(af_json *j, const char *s) { append(j, s, strlen(s)); }
void json_raw_n(af_json *j, const char *s, size_t n) { append(j, s, n); }

void json_printf(af_json *j, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n >= 0) append(j, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

void json_string(af_json *j, const char *s)
{
    append(j, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            append(j, e, 2);
        } else if (*p < 0x20) {
            json_printf(j, "\\u%04x", *p);
        } else {
            append(j, (const char *)p, 1);
        }
    }
    append(j, "\"", 1);
}

static void comma(af_json *j)
{
    if (j->need_comma) append(j, ",", 1);
    j->need_comma = 1;
}

void json_open(af_json *j, char brace)
{
    char s[2] = {brace, 0};
    json_raw(j, s);
    j->need_comma = 0;
}

void json_close(af_json *j, char brace)
{
    char s[2] = {brace, 0};
    json_raw(j, s);
    j->need_comma = 1;
}

void json_key(af_json *j, const char *key)
{
    comma(j);
    json_string(j, key);
    append(j, ":", 1);
    j->need_comma = 0;
}

void json_kv_str(af_json *j, const char *key, const char *v)
{
    json_key(j, key);
    if (v) json_string(j, v);
    else json_raw(j, "null");
    j->need_comma = 1;
}

void json_kv_int(af_json *j, const char *key, int64_t v)
{
    json_key(j, key);
    json_printf(j, "%lld", (long long)v);
    j->need_comma = 1;
}

void json_kv_num(af_json *j, const char *key, double v)
{
    json_key(j, key);
    if (isfinite(v)) json_printf(j, "%.9g", v);
    else json_raw(j, "null");
    j->need_comma = 1;
}

void json_value_int(af_json *j, int64_t v)
{
    comma(j);
    json_printf(j, "%lld", (long long)v);
}

void json_value_str(af_json *j, const char *s)
{
    comma(j);
    json_string(j, s);
}

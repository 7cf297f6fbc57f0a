/* convert/json.h — a growable string with JSON writing helpers (for bundle metadata and the
 * CLI's --json reports). Writes only; errors (OOM) are sticky and reported by json_ok(). */
#ifndef AF_CONVERT_JSON_H
#define AF_CONVERT_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef struct af_json {
    char *buf;
    size_t len, cap;
    int oom;
    int need_comma; /* a value was written at the current nesting level */
} af_json;

void json_init(af_json *j);
void json_free(af_json *j);
int json_ok(const af_json *j);

void json_raw(af_json *j, const char *s);           /* appends s verbatim */
void json_raw_n(af_json *j, const char *s, size_t n);
void json_printf(af_json *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void json_string(af_json *j, const char *s);        /* a quoted, escaped string value */

/* Structure: open/close emit braces; key() writes "name": with the comma before it. */
void json_open(af_json *j, char brace);   /* '{' or '[' (as a value) */
void json_close(af_json *j, char brace);  /* '}' or ']' */
void json_key(af_json *j, const char *key);
void json_kv_str(af_json *j, const char *key, const char *v); /* NULL → null */
void json_kv_int(af_json *j, const char *key, int64_t v);
void json_kv_num(af_json *j, const char *key, double v);     /* non-finite → null */
void json_value_int(af_json *j, int64_t v);                    /* an array element */
void json_value_str(af_json *j, const char *s);

#endif

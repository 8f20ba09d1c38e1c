/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* JSON rendering with json-c, for every JSON stafd produces. */

#include <json-c/json.h>
#include <stdbool.h>

#include "conf.h"
#include "dlp.h"
#include "tid.h"

/* --dump-config: effective configuration (every global with its effective
 * value, every controller/exclude as parsed). */
struct json_object *json_conf(const Conf *c);
struct json_object *json_sysconf(const SysConf *s);

/* obj[key] = value as a JSON string (NULL = ""). */
int json_add_string(struct json_object *obj, const char *key, const char *value);

/*
 * A streaming writer for the large documents (get_all_log_pages, the cache
 * file): no object tree, one growing buffer, RFC 8259 string escaping;
 * bytes that are not valid UTF-8 come out as U+FFFD, so the text always is.
 * Errors are sticky: calls after a failure do nothing, json_writer_take()
 * reports it.  Nesting is limited to JSON_WRITER_MAX_DEPTH levels.
 */
#define JSON_WRITER_MAX_DEPTH 16

typedef struct JsonWriter {
        char *buf;
        size_t len, cap;
        int error;
        unsigned depth;
        bool first[JSON_WRITER_MAX_DEPTH]; /* nothing written yet at this level */
        bool after_key;
} JsonWriter;

void json_writer_begin_object(JsonWriter *w);
void json_writer_end_object(JsonWriter *w);
void json_writer_begin_array(JsonWriter *w);
void json_writer_end_array(JsonWriter *w);
void json_writer_key(JsonWriter *w, const char *key);
void json_writer_string(JsonWriter *w, const char *value); /* NULL = "" */
void json_writer_int(JsonWriter *w, long long value);
void json_writer_kv(JsonWriter *w, const char *key, const char *value);
/* One DLPE as an object with the spec's keys in order; extras only when set. */
void json_writer_dlpe(JsonWriter *w, const DlpEntry *e);
void json_writer_dlp(JsonWriter *w, const Dlp *d); /* array of DLPEs; NULL = [] */
void json_writer_tid_fields(JsonWriter *w, const Tid *t); /* the 7 keys, inside an object */
/* The NUL-terminated text (malloc'd; *ret_len without the NUL), or -errno. */
int json_writer_take(JsonWriter *w, char **ret, size_t *ret_len);
void json_writer_done(JsonWriter *w);

/* Serialise; pretty = 4-space indented.  malloc'd, NULL on OOM. */
char *json_to_string_dup(struct json_object *o, bool pretty);

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
        *o = NULL;
}
#define _cleanup_json_ __attribute__((cleanup(json_object_putp)))

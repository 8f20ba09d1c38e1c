/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON shapes of DLPEs and TIDs.  (The configuration dump, json_add_string
 * and json_to_string_dup live in json-conf.c.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "json.h"
#include "macro.h"

static int add_str(struct json_object *obj, const char *key, const char *value) {
        struct json_object *v = json_object_new_string(strempty(value));

        if (!v)
                return -ENOMEM;
        if (json_object_object_add(obj, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

struct json_object *json_dlpe(const DlpEntry *e) {
        _cleanup_json_ struct json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                const char *v = dlpe_get(e, k);

                if (k >= _DLPE_N_BASE && isempty(v))
                        continue;
                if (add_str(o, dlp_key_name(k), v) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);
}

struct json_object *json_dlp(const Dlp *d) {
        _cleanup_json_ struct json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; d && i < d->n; i++) {
                struct json_object *e = json_dlpe(d->entries[i]);

                if (!e)
                        return NULL;
                if (json_object_array_add(a, e) < 0) {
                        json_object_put(e);
                        return NULL;
                }
        }
        return TAKE_PTR(a);
}

int json_add_tid(struct json_object *obj, const Tid *t) {
        int r;

        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                r = add_str(obj, tid_field_names[i], tid_field_const(t, i));
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- streaming writer ---- */

static void jw_reserve(JsonWriter *w, size_t n) {
        size_t cap;
        char *b;

        if (w->error)
                return;
        if (w->len + n + 1 <= w->cap)
                return;
        cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n + 1) {
                if (cap > SIZE_MAX / 2) {
                        w->error = -ENOMEM;
                        return;
                }
                cap *= 2;
        }
        b = realloc(w->buf, cap);
        if (!b) {
                w->error = -ENOMEM;
                return;
        }
        w->buf = b;
        w->cap = cap;
}

static void jw_raw(JsonWriter *w, const char *p, size_t n) {
        jw_reserve(w, n);
        if (w->error)
                return;
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        w->buf[w->len] = 0;
}

/* Before any value or key: the separator its position needs. */
static void jw_sep(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->depth > 0) {
                if (!w->first[w->depth - 1])
                        jw_raw(w, ",", 1);
                w->first[w->depth - 1] = false;
        }
}

static void jw_open(JsonWriter *w, char c) {
        jw_sep(w);
        if (w->depth >= JSON_WRITER_MAX_DEPTH) {
                w->error = -E2BIG;
                return;
        }
        jw_raw(w, &c, 1);
        w->first[w->depth++] = true;
}

static void jw_close(JsonWriter *w, char c) {
        if (w->depth == 0 || w->after_key) {
                w->error = w->error ?: -EINVAL;
                return;
        }
        w->depth--;
        jw_raw(w, &c, 1);
}

void json_writer_begin_object(JsonWriter *w) {
        jw_open(w, '{');
}

void json_writer_end_object(JsonWriter *w) {
        jw_close(w, '}');
}

void json_writer_begin_array(JsonWriter *w) {
        jw_open(w, '[');
}

void json_writer_end_array(JsonWriter *w) {
        jw_close(w, ']');
}

/* Bytes that need an escape in a JSON string: control characters (NUL
 * included, which also ends the scan), quote and backslash. */
static const bool escape_table[256] = {
        [0x00 ... 0x1f] = true,
        ['"'] = true,
        ['\\'] = true,
};

static bool needs_escape(unsigned char c) {
        return escape_table[c];
}

static void jw_quoted_slow(JsonWriter *w, const char *s) {
        const char *run = s;

        jw_raw(w, "\"", 1);
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                char esc[8];

                if (!needs_escape(c))
                        continue;
                jw_raw(w, run, (size_t) (p - run));
                run = p + 1;
                switch (c) {
                case '"':
                        jw_raw(w, "\\\"", 2);
                        break;
                case '\\':
                        jw_raw(w, "\\\\", 2);
                        break;
                case '\n':
                        jw_raw(w, "\\n", 2);
                        break;
                case '\t':
                        jw_raw(w, "\\t", 2);
                        break;
                case '\r':
                        jw_raw(w, "\\r", 2);
                        break;
                default:
                        (void) snprintf(esc, sizeof(esc), "\\u%04x", c);
                        jw_raw(w, esc, 6);
                }
        }
        jw_raw(w, run, strlen(run));
        jw_raw(w, "\"", 1);
}

/* Almost every string (NQNs, addresses, numbers) needs no escape: one
 * scan, one reservation, one copy. */
static void jw_quoted(JsonWriter *w, const char *s) {
        size_t n = 0;

        while (!escape_table[(unsigned char) s[n]])
                n++;
        if (s[n]) {
                jw_quoted_slow(w, s);
                return;
        }
        jw_reserve(w, n + 2);
        if (w->error)
                return;
        w->buf[w->len++] = '"';
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len++] = '"';
        w->buf[w->len] = 0;
}

void json_writer_key(JsonWriter *w, const char *key) {
        if (w->depth == 0 || w->after_key) {
                w->error = w->error ?: -EINVAL;
                return;
        }
        jw_sep(w);
        jw_quoted(w, key);
        jw_raw(w, ":", 1);
        w->after_key = true;
}

void json_writer_string(JsonWriter *w, const char *value) {
        jw_sep(w);
        jw_quoted(w, strempty(value));
}

void json_writer_int(JsonWriter *w, long long value) {
        char b[32];
        int n = snprintf(b, sizeof(b), "%lld", value);

        jw_sep(w);
        jw_raw(w, b, (size_t) n);
}

void json_writer_kv(JsonWriter *w, const char *key, const char *value) {
        json_writer_key(w, key);
        json_writer_string(w, value);
}

void json_writer_dlpe(JsonWriter *w, const DlpEntry *e) {
        json_writer_begin_object(w);
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                const char *v = dlpe_get(e, k);

                if (k >= _DLPE_N_BASE && isempty(v))
                        continue;
                json_writer_kv(w, dlp_key_name(k), v);
        }
        json_writer_end_object(w);
}

void json_writer_dlp(JsonWriter *w, const Dlp *d) {
        json_writer_begin_array(w);
        for (size_t i = 0; d && i < d->n; i++)
                json_writer_dlpe(w, d->entries[i]);
        json_writer_end_array(w);
}

void json_writer_tid_fields(JsonWriter *w, const Tid *t) {
        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                json_writer_kv(w, tid_field_names[i], tid_field_const(t, i));
}

int json_writer_take(JsonWriter *w, char **ret, size_t *ret_len) {
        if (!w->error && (w->depth != 0 || w->after_key))
                w->error = -EINVAL;
        if (!w->error && !w->buf) {
                jw_reserve(w, 0);
                if (!w->error)
                        w->buf[0] = 0;
        }
        if (w->error) {
                int r = w->error;

                json_writer_done(w);
                return r;
        }
        *ret = w->buf;
        if (ret_len)
                *ret_len = w->len;
        *w = (JsonWriter) {};
        return 0;
}

void json_writer_done(JsonWriter *w) {
        free(w->buf);
        *w = (JsonWriter) {};
}

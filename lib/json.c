/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every JSON stafd produces: the configuration dump (json-c) and the
 * streaming writer for the large documents (D-Bus answers, the cache).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "macro.h"
#include "utf8.h"

/* ---- configuration dump (--dump-config) ----
 *
 * Conventions (docs/configuration.md):
 * - an option left to the driver (CONF_UNSET) is JSON null;
 * - booleans are JSON booleans, numbers JSON numbers, enabled/disabled
 *   options the strings "enabled"/"disabled";
 * - secrets (dhchap-secret, dhchap-ctrl-secret, the host key) are never
 *   printed: "<set>" when present.
 */

#define SECRET_SET "<set>"

int json_add_string(struct json_object *obj, const char *key, const char *value) {
        struct json_object *v;

        /* D-Bus dictionaries carry strings only: NULL becomes "". */
        v = json_object_new_string(strempty(value));
        if (!v)
                return -ENOMEM;
        if (json_object_object_add(obj, key, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

char *json_to_string_dup(struct json_object *o, bool pretty) {
        const char *s;
        size_t n_extra = 0;
        char *ret, *d;

        s = json_object_to_json_string_ext(
                o,
                JSON_C_TO_STRING_NOSLASHESCAPE | (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
                                                         : JSON_C_TO_STRING_PLAIN));
        if (!s)
                return NULL;
        if (!pretty)
                return strdup(s);

        /* json-c indents by 2; we want 4 like Python's json.dumps(indent=4).
         * Only leading blanks are doubled: newlines inside strings are
         * escaped, so every line start is structural. */
        for (const char *p = s, *bol = s; *p; p++) {
                if (p == bol && *p == ' ')
                        n_extra++, bol++;
                else if (*p == '\n')
                        bol = p + 1;
        }
        ret = malloc(strlen(s) + n_extra + 1);
        if (!ret)
                return NULL;
        d = ret;
        for (const char *p = s, *bol = s; *p; p++) {
                if (p == bol && *p == ' ') {
                        *d++ = ' ';
                        bol++;
                } else if (*p == '\n')
                        bol = p + 1;
                *d++ = *p;
        }
        *d = '\0';
        return ret;
}

static int add(struct json_object *obj, const char *key, struct json_object *v) {
        /* A NULL v (OOM, or an intended null) is stored as JSON null. */
        return json_object_object_add(obj, key, v) < 0 ? -ENOMEM : 0;
}

static struct json_object *json_int_or_null(int v) {
        return v == CONF_UNSET ? NULL : json_object_new_int(v);
}

static struct json_object *json_bool_or_null(int v) {
        return v == CONF_UNSET ? NULL : json_object_new_boolean(v);
}

static struct json_object *json_string_or_null(const char *s) {
        return s ? json_object_new_string(s) : NULL;
}

static const char *ip_family_str(unsigned f) {
        switch (f & (IP_FAMILY_V4 | IP_FAMILY_V6)) {
        case IP_FAMILY_V4:
                return "ipv4";
        case IP_FAMILY_V6:
                return "ipv6";
        default:
                return "ipv4+ipv6";
        }
}

/* Per-DC overrides: only the ones given. */
static void add_conn_overrides(struct json_object *o, const ConfConnOpts *c) {
        if (c->hdr_digest != CONF_UNSET)
                (void) add(o, "hdr-digest", json_object_new_boolean(c->hdr_digest));
        if (c->data_digest != CONF_UNSET)
                (void) add(o, "data-digest", json_object_new_boolean(c->data_digest));
        if (c->kato != CONF_UNSET)
                (void) add(o, "kato", json_object_new_int(c->kato));
        if (c->queue_size != CONF_UNSET)
                (void) add(o, "queue-size", json_object_new_int(c->queue_size));
        if (c->reconnect_delay != CONF_UNSET)
                (void) add(o, "reconnect-delay", json_object_new_int(c->reconnect_delay));
        if (c->ctrl_loss_tmo != CONF_UNSET)
                (void) add(o, "ctrl-loss-tmo", json_object_new_int(c->ctrl_loss_tmo));
        if (c->disable_sqflow != CONF_UNSET)
                (void) add(o, "disable-sqflow", json_object_new_boolean(c->disable_sqflow));
}

static struct json_object *json_controller(const ConfController *c) {
        struct json_object *o;
        const struct {
                const char *key;
                const char *value;
                bool secret;
        } f[] = {
                { "transport", c->transport, false },
                { "traddr", c->traddr, false },
                { "trsvcid", c->trsvcid, false },
                { "nqn", c->nqn, false },
                { "host-traddr", c->host_traddr, false },
                { "host-iface", c->host_iface, false },
                { "host-nqn", c->host_nqn, false },
                { "dhchap-secret", c->dhchap_secret, true },
                { "dhchap-ctrl-secret", c->dhchap_ctrl_secret, true },
        };

        o = json_object_new_object();
        if (!o)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(f); i++)
                if (f[i].value)
                        (void) add(o, f[i].key,
                                   json_object_new_string(f[i].secret ? SECRET_SET : f[i].value));
        add_conn_overrides(o, &c->opts);
        (void) add(o, "line", json_object_new_int((int) c->line));
        return o;
}

static struct json_object *json_controller_array(const ConfController *a, size_t n) {
        struct json_object *arr;

        arr = json_object_new_array();
        if (!arr)
                return NULL;
        for (size_t i = 0; i < n; i++)
                (void) json_object_array_add(arr, json_controller(&a[i]));
        return arr;
}

struct json_object *json_conf(const Conf *c) {
        struct json_object *o, *g, *sd, *dccm, *ctrls;

        if (!c)
                return NULL;
        o = json_object_new_object();
        g = json_object_new_object();
        sd = json_object_new_object();
        dccm = json_object_new_object();
        ctrls = json_object_new_object();
        if (!o || !g || !sd || !dccm || !ctrls) {
                (void) json_object_put(o);
                (void) json_object_put(g);
                (void) json_object_put(sd);
                (void) json_object_put(dccm);
                (void) json_object_put(ctrls);
                return NULL;
        }

        (void) add(o, "path", json_string_or_null(c->path));

        (void) add(g, "tron", json_object_new_boolean(c->tron));
        (void) add(g, "hdr-digest", json_bool_or_null(c->conn.hdr_digest));
        (void) add(g, "data-digest", json_bool_or_null(c->conn.data_digest));
        (void) add(g, "kato", json_int_or_null(c->conn.kato));
        (void) add(g, "queue-size", json_int_or_null(c->conn.queue_size));
        (void) add(g, "reconnect-delay", json_int_or_null(c->conn.reconnect_delay));
        (void) add(g, "ctrl-loss-tmo", json_int_or_null(c->conn.ctrl_loss_tmo));
        (void) add(g, "disable-sqflow", json_bool_or_null(c->conn.disable_sqflow));
        (void) add(g, "ignore-iface", json_object_new_boolean(c->ignore_iface));
        (void) add(g, "ip-family", json_object_new_string(ip_family_str(c->ip_family)));
        (void) add(g, "pleo", json_object_new_string(c->pleo ? "enabled" : "disabled"));
        (void) add(o, "Global", g);

        (void) add(sd, "zeroconf", json_object_new_string(c->zeroconf ? "enabled" : "disabled"));
        (void) add(o, "Service Discovery", sd);

        (void) add(dccm, "persistent-connections", json_object_new_boolean(c->persistent_connections));
        (void) add(dccm, "zeroconf-connections-persistence",
                   json_object_new_int64(c->zeroconf_persistence_sec));
        (void) add(dccm, "max-referrals-per-dc", json_object_new_int64(c->max_referrals_per_dc));
        (void) add(dccm, "max-dcs", json_object_new_int64(c->max_dcs));
        (void) add(o, "Discovery controller connection management", dccm);

        (void) add(ctrls, "controller", json_controller_array(c->controllers, c->n_controllers));
        (void) add(ctrls, "exclude", json_controller_array(c->excludes, c->n_excludes));
        (void) add(o, "Controllers", ctrls);

        return o;
}

struct json_object *json_sysconf(const SysConf *s) {
        struct json_object *o;

        if (!s)
                return NULL;
        o = json_object_new_object();
        if (!o)
                return NULL;
        (void) add(o, "path", json_string_or_null(s->path));
        (void) add(o, "hostnqn", json_string_or_null(s->hostnqn));
        (void) add(o, "hostnqn source", json_string_or_null(s->hostnqn_source));
        (void) add(o, "hostnqn generated", json_object_new_boolean(s->hostnqn_generated));
        (void) add(o, "hostid", json_string_or_null(s->hostid));
        (void) add(o, "hostid source", json_string_or_null(s->hostid_source));
        (void) add(o, "hostkey", json_string_or_null(s->hostkey ? SECRET_SET : NULL));
        /* A literal key= value is the key itself: only a file:// path is shown. */
        (void) add(o, "hostkey source",
                   json_string_or_null(s->hostkey_source && strncmp(s->hostkey_source, "file://", 7) != 0
                                               ? SECRET_SET
                                               : s->hostkey_source));
        (void) add(o, "symname", json_string_or_null(s->symname));
        return o;
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

/* Bytes that need a look in a JSON string: control characters (NUL
 * included, which also ends the scan), quote and backslash need an escape;
 * bytes above 0x7f must form valid UTF-8 (else they are replaced). */
static const bool escape_table[256] = {
        [0x00 ... 0x1f] = true,
        ['"'] = true,
        ['\\'] = true,
        [0x80 ... 0xff] = true,
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
                if (c >= 0x80) {
                        size_t n = utf8_char_len(p);

                        if (n > 0) {
                                p += n - 1; /* valid: copied with the run */
                                continue;
                        }
                        /* Not UTF-8 (a stray byte, a CESU surrogate from a
                         * "\ud800" escape): JSON text must be UTF-8. */
                        jw_raw(w, run, (size_t) (p - run));
                        run = p + 1;
                        jw_raw(w, UTF8_REPLACEMENT, strlen(UTF8_REPLACEMENT));
                        continue;
                }
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
        *w = (JsonWriter){};
        return 0;
}

void json_writer_done(JsonWriter *w) {
        free(w->buf);
        *w = (JsonWriter){};
}

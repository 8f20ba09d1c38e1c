/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafctl's text output: tables and detailed views of the JSON stafd
 * answers.  Pure functions writing to a FILE, unit-tested.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "render.h"
#include "utf8.h"

const char *const render_ls_columns[] = {
        "device",      "transport",  "traddr",   "trsvcid", "subsysnqn",
        "host-traddr", "host-iface", "host-nqn", NULL,
};

const char *const render_ls_detailed_columns[] = {
        "device",
        "transport",
        "traddr",
        "trsvcid",
        "subsysnqn",
        "host-traddr",
        "host-iface",
        "host-nqn",
        "origin",
        "connected",
        "owner",
        "nbft",
        "dctype",
        "cntrltype",
        "connect attempts",
        "retry connect timer",
        NULL,
};

/* subnqn last: it is the long one, and nothing needs aligning after it. */
const char *const render_dlpe_columns[] = {
        "trtype", "adrfam", "traddr", "trsvcid", "subtype", "portid",
        "cntlid", "treq",   "asqsz",  "eflags",  "subnqn",  NULL,
};

/* Keys shown on the id line; the detailed view lists the others. */
static const char *const id_keys[] = {
        "transport",  "traddr",   "trsvcid", "subsysnqn", "host-traddr",
        "host-iface", "host-nqn", "device",  NULL,
};

/* Strings come from the network (NQNs, addresses, mDNS names): on a
 * terminal, control characters (ESC sequences, CR, C1 controls) and bytes
 * that are not UTF-8 are shown as \xNN, never passed through. */
static size_t esc_char(const char *p, char *buf) {
        unsigned char c = (unsigned char) *p;
        size_t n = c < 0x80 ? 1 : utf8_char_len(p);

        if (c < 0x20 || c == 0x7f || n == 0 || (c == 0xc2 && (unsigned char) p[1] < 0xa0)) {
                /* A C1 control (U+0080..U+009F) is two bytes: escape both. */
                if (c == 0xc2 && n == 2) {
                        (void) snprintf(buf, 9, "\\x%02x\\x%02x", c, (unsigned char) p[1]);
                        return 2;
                }
                (void) snprintf(buf, 5, "\\x%02x", c);
                return 1;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        return n;
}

static size_t esc_len(const char *s) {
        size_t len = 0;
        char buf[9];

        while (*s) {
                s += esc_char(s, buf);
                len += strlen(buf);
        }
        return len;
}

static void put_esc(FILE *f, const char *s) {
        char buf[9];

        while (*s) {
                s += esc_char(s, buf);
                fputs(buf, f);
        }
}

static void put_esc_padded(FILE *f, const char *s, size_t width) {
        put_esc(f, s);
        for (size_t l = esc_len(s); l < width; l++)
                fputc(' ', f);
}

static bool strv_contains(const char *const *l, const char *s) {
        for (; *l; l++)
                if (streq(*l, s))
                        return true;
        return false;
}

/* A scalar's text; objects and arrays as compact JSON. */
static const char *value_str(struct json_object *v) {
        if (!v)
                return "";
        if (json_object_is_type(v, json_type_null))
                return "null";
        if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
                return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
                                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
        return json_object_get_string(v);
}

const char *render_get(struct json_object *obj, const char *key) {
        struct json_object *v;

        if (!obj || !json_object_is_type(obj, json_type_object))
                return "";
        if (!json_object_object_get_ex(obj, key, &v))
                return "";
        return value_str(v);
}

static const char *cell(struct json_object *row, const char *key) {
        const char *s = render_get(row, key);

        return isempty(s) ? "-" : s;
}

static int table(FILE *f, struct json_object *rows, const char *const *columns, unsigned indent) {
        _cleanup_free_ size_t *width = NULL;
        size_t ncol = 0, nrow;

        if (!rows || !json_object_is_type(rows, json_type_array))
                return -EINVAL;

        while (columns[ncol])
                ncol++;
        if (ncol == 0)
                return -EINVAL;

        width = calloc(ncol, sizeof(*width));
        if (!width)
                return -ENOMEM;

        nrow = json_object_array_length(rows);
        for (size_t c = 0; c < ncol; c++) {
                width[c] = strlen(columns[c]);
                for (size_t i = 0; i < nrow; i++) {
                        size_t l = esc_len(cell(json_object_array_get_idx(rows, i), columns[c]));

                        if (l > width[c])
                                width[c] = l;
                }
        }

        /* Row -1 is the header. */
        for (ssize_t i = -1; i < (ssize_t) nrow; i++) {
                struct json_object *row = i < 0 ? NULL : json_object_array_get_idx(rows, i);

                fprintf(f, "%*s", (int) indent, "");
                for (size_t c = 0; c < ncol; c++) {
                        const char *s = i < 0 ? columns[c] : cell(row, columns[c]);

                        if (c + 1 == ncol) {
                                put_esc(f, s);
                                fputc('\n', f);
                        } else {
                                put_esc_padded(f, s, width[c]);
                                fputs("  ", f);
                        }
                }
        }

        return ferror(f) ? -EIO : 0;
}

int render_table(FILE *f, struct json_object *rows, const char *const *columns) {
        return table(f, rows, columns, 0);
}

int render_dc_id(FILE *f, struct json_object *dc) {
        static const char *const keys[] = {
                "transport", "traddr", "trsvcid", "subsysnqn", "host-iface", "host-traddr", NULL,
        };
        const char *sep = "";

        fputc('(', f);
        for (const char *const *k = keys; *k; k++) {
                const char *s = render_get(dc, *k);

                if (isempty(s))
                        continue;
                fputs(sep, f);
                put_esc(f, s);
                sep = ", ";
        }
        fputc(')', f);

        if (!isempty(render_get(dc, "device"))) {
                fputs(" | ", f);
                put_esc(f, render_get(dc, "device"));
        }
        fputc('\n', f);

        return ferror(f) ? -EIO : 0;
}

static bool is_container(struct json_object *v) {
        return v && (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array));
}

static bool is_empty_container(struct json_object *v) {
        if (json_object_is_type(v, json_type_object))
                return json_object_object_length(v) == 0;
        return json_object_array_length(v) == 0;
}

static void tree_item(FILE *f, const char *label, struct json_object *v, unsigned indent) {
        const char *s = is_container(v) ? "(none)" : value_str(v);

        fprintf(f, "%*s", (int) indent, "");
        put_esc(f, label);
        fputc(':', f);
        if (is_container(v) && !is_empty_container(v)) {
                fputc('\n', f);
                (void) render_tree(f, v, indent + 4);
                return;
        }
        if (!isempty(s)) {
                fputc(' ', f);
                put_esc(f, s);
        }
        fputc('\n', f);
}

int render_tree(FILE *f, struct json_object *o, unsigned indent) {
        if (!o)
                return -EINVAL;

        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, v) tree_item(f, key, v, indent);
        } else if (json_object_is_type(o, json_type_array)) {
                size_t n = json_object_array_length(o);

                for (size_t i = 0; i < n; i++) {
                        char label[32];

                        (void) snprintf(label, sizeof(label), "[%zu]", i);
                        tree_item(f, label, json_object_array_get_idx(o, i), indent);
                }
        } else {
                fprintf(f, "%*s", (int) indent, "");
                put_esc(f, value_str(o));
                fputc('\n', f);
        }

        return ferror(f) ? -EIO : 0;
}

int render_all_log_pages(FILE *f, struct json_object *adlp, int detailed) {
        size_t n;
        int r;

        if (!adlp || !json_object_is_type(adlp, json_type_array))
                return -EINVAL;

        n = json_object_array_length(adlp);
        for (size_t i = 0; i < n; i++) {
                struct json_object *item = json_object_array_get_idx(adlp, i), *dc = NULL, *lp = NULL;

                if (!item || !json_object_is_type(item, json_type_object))
                        return -EBADMSG;
                (void) json_object_object_get_ex(item, "discovery-controller", &dc);
                (void) json_object_object_get_ex(item, "log-pages", &lp);

                if (i > 0)
                        fputc('\n', f);
                r = render_dc_id(f, dc);
                if (r < 0)
                        return r;

                if (detailed && dc && json_object_is_type(dc, json_type_object)) {
                        json_object_object_foreach(dc, key, v) {
                                if (strv_contains(id_keys, key))
                                        continue;
                                tree_item(f, key, v, 4);
                        }
                }

                if (!lp || !json_object_is_type(lp, json_type_array) || json_object_array_length(lp) == 0) {
                        fprintf(f, "    (no discovery log page entries)\n");
                        continue;
                }
                r = table(f, lp, render_dlpe_columns, 4);
                if (r < 0)
                        return r;
        }

        return ferror(f) ? -EIO : 0;
}

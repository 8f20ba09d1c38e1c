/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The text layer of stafd.conf and sys.conf: lines -> section headers and
 * key=value items in file order, with a warning for every line that cannot
 * be used.  What the keys mean is conf.c's business.  inih is underneath
 * (see conf-lines.c for its exact, small role).  Private to lib/conf*.c.
 */

#include <stdbool.h>
#include <stddef.h>

/* One item of the file: a section header or a key=value. */
typedef enum ConfItemKind {
        CONF_ITEM_SECTION,
        CONF_ITEM_KEY,
} ConfItemKind;

typedef struct ConfItem {
        unsigned line;
        ConfItemKind kind;
        const char *section; /* section name as written */
        const char *key; /* lower-cased (key items) */
        const char *value;
} ConfItem;

typedef struct ConfLines {
        /* Set by the caller: */
        const char *name; /* file name for warnings */
        char ***warnings; /* where warnings go, in file order (a handler
                              * adds its own through this too) */
        /* Is this section name one we know?  Unknown ones get one warning. */
        bool (*section_known)(const char *name);
        /* Are continuation lines of this key further values? (may be NULL) */
        bool (*is_multi)(const char *key);
        /* Consumer of one key item; -ENOMEM stops the parse. */
        int (*handle)(struct ConfLines *pre, const ConfItem *it, void *userdata);
        void *userdata;

        /* Private: the text being read, */
        char *p, *end;
        unsigned lineno;
        char *section, *prev_key;
        ConfItem cur;
        bool oom;
        /* and the warnings so far, collapsed as they come. */
        char **out;
        size_t n_out, cap_out;
        size_t run_first, run_len, run_dropped, n_dropped;
        unsigned long run_last;
} ConfLines;

/* Read text item by item (inih walks them and pairs each key with its
 * section) and call l->handle for each key, in file order.  Warnings, the
 * handler's included, are collapsed as they come: a run of
 * CONF_WARNINGS_RUN or more of one kind (same text but for the line number
 * and the quoted value) becomes one line with a count, at most
 * CONF_WARNINGS_MAX lines are kept, then one line says how many more there
 * were.  Time and memory are linear in the text.  0, or -ENOMEM. */
#define CONF_WARNINGS_MAX 50
#define CONF_WARNINGS_RUN 4
int conf_lines_parse(ConfLines *l, const char *text, size_t len);

/* A user value for a warning: at most 80 bytes, controls and bytes that are
 * not UTF-8 as \xNN.  NULL on out-of-memory. */
char *conf_escape(const char *v);

/* Trim blanks (and a trailing CR/LF) in place. */
char *conf_strip(char *s);
void conf_ascii_lower(char *s);

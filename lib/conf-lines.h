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

/* One logical line of the file: a section header, a key=value, or a warning
 * about a line we could not use (kept in the same list so that warnings come
 * out in file order, interleaved with those of the values). */
typedef enum ConfItemKind {
        CONF_ITEM_SECTION,
        CONF_ITEM_KEY,
        CONF_ITEM_WARNING,
} ConfItemKind;

typedef struct ConfItem {
        unsigned line;
        ConfItemKind kind;
        char *section; /* section name as written (header and key items) */
        char *key;     /* lower-cased (key items); the text (warning items) */
        char *value;
} ConfItem;

typedef struct ConfLines {
        /* Set by the caller: */
        const char *name;    /* file name for warnings */
        char ***warnings;    /* where warnings go, in file order */
        /* Is this section name one we know?  Unknown ones get one warning. */
        bool (*section_known)(const char *name);
        /* Are continuation lines of this key further values? (may be NULL) */
        bool (*is_multi)(const char *key);
        /* Consumer of one key item; -ENOMEM stops the parse. */
        int (*handle)(struct ConfLines *pre, const ConfItem *it, void *userdata);
        void *userdata;

        /* Private: */
        ConfItem *items;
        size_t n_items;
        size_t next;         /* reader cursor */
        bool oom;
} ConfLines;

/* Split text into items, then call l->handle for each key item (inih walks
 * them and pairs each key with its section).  0, or -ENOMEM. */
int conf_lines_parse(ConfLines *l, const char *text, size_t len);

/* Keep a garbage file's log short: a run of CONF_WARNINGS_RUN or more
 * warnings of one kind (same text but for the line number and the quoted
 * value) becomes one line with a count; at most CONF_WARNINGS_MAX lines are
 * kept, then one line says how many more there were. */
#define CONF_WARNINGS_MAX 50
#define CONF_WARNINGS_RUN 4
int conf_warnings_collapse(char ***warnings, const char *name);

/* A user value for a warning: at most 80 bytes, controls and bytes that are
 * not UTF-8 as \xNN.  NULL on out-of-memory. */
char *conf_escape(const char *v);

/* Trim blanks (and a trailing CR/LF) in place. */
char *conf_strip(char *s);
void conf_ascii_lower(char *s);

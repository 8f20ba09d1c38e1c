/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The text layer of stafd.conf and sys.conf (see conf-lines.h).
 *
 * What inih does here, and no more: it pairs each key with the section
 * header above it.  Debian's libinih is built with a 200-byte line limit and
 * ';' as inline comment prefix, both of which would silently cut controller=
 * entries, so inih never sees a user line.  pre_next() does the lexing
 * (CRLF, BOM, comments, ' #' inline comments, continuation lines) one item
 * (header or key=value) at a time, when inih's reader asks for a line, and
 * hands inih a short token ("[s]", "k=v"); inih calls the handler for a line
 * before it reads the next, so the handler gets the current item.  Warnings
 * about unusable lines go straight into a collapsing sink, in file order
 * with the handlers' own.  Memory and time are linear in the text.  See
 * docs/configuration.md.
 */

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "conf-lines.h"
#include "macro.h"
#include "strv.h"
#include "utf8.h"

#define ESCAPE_MAX 80

/* ----------------------------------------------------------- helpers */

char *conf_strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                e--;
        *e = '\0';
        return s;
}

void conf_ascii_lower(char *s) {
        for (; *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

char *conf_escape(const char *v) {
        return utf8_escape(v, ESCAPE_MAX);
}

/* ---------------------------------------------------------- warnings */

/* The part of a warning after "FILE:LINE: " (or the whole line). */
static const char *warning_body(const char *w, unsigned long *ret_line) {
        const char *p = strstr(w, ": ");

        *ret_line = 0;
        for (const char *q = w; q && p && q < p; q++)
                if (*q == ':' && isdigit((unsigned char) q[1])) {
                        *ret_line = strtoul(q + 1, NULL, 10);
                        break;
                }
        return p ? p + 2 : w;
}

/* Two warnings say the same thing if they differ only in the line number and
 * in what is quoted ('...'). */
static bool warning_same_kind(const char *a, const char *b) {
        unsigned long la, lb;
        const char *qa1, *qa2, *qb1, *qb2;

        a = warning_body(a, &la);
        b = warning_body(b, &lb);
        qa1 = strchr(a, '\''), qa2 = strrchr(a, '\'');
        qb1 = strchr(b, '\''), qb2 = strrchr(b, '\'');
        if (!qa1 || !qb1 || qa1 == qa2 || qb1 == qb2)
                return streq(a, b);
        return qa1 - a == qb1 - b && strncmp(a, b, (size_t) (qa1 - a)) == 0 && streq(qa2, qb2);
}

/* Warnings go through a sink that collapses them as they come: time O(1)
 * and memory O(CONF_WARNINGS_MAX) per warning, whatever the file holds
 * (16 MiB of one-byte lines are 8 million warnings). */

static int sink_store(ConfLines *pre, char *w) {
        if (pre->n_out + 2 > pre->cap_out) {
                size_t cap = pre->cap_out ? pre->cap_out * 2 : 16;
                char **t = realloc(pre->out, cap * sizeof(char *));

                if (!t) {
                        free(w);
                        return -ENOMEM;
                }
                pre->out = t;
                pre->cap_out = cap;
        }
        pre->out[pre->n_out++] = w;
        pre->out[pre->n_out] = NULL;
        return 0;
}

/* A run of CONF_WARNINGS_RUN or more ends: its first line gets the count. */
static void sink_end_run(ConfLines *pre) {
        char *t;

        if (pre->run_len >= CONF_WARNINGS_RUN &&
            asprintf(&t, "%s (and %zu more like it, up to line %lu)", pre->out[pre->run_first],
                     pre->run_len - 1, pre->run_last) >= 0) {
                free(pre->out[pre->run_first]);
                pre->out[pre->run_first] = t;
        }
        /* Out of memory: the first line alone still says it. */
        pre->run_len = 0;
        pre->run_dropped = 0;
}

/* Take w (malloc'd) into the sink. */
static int sink_add(ConfLines *pre, char *w) {
        if (pre->run_len > 0 && warning_same_kind(pre->out[pre->run_first], w)) {
                pre->run_len++;
                (void) warning_body(w, &pre->run_last);
                if (pre->run_len < CONF_WARNINGS_RUN) {
                        /* Short so far: every line is kept (while there is room). */
                        if (pre->n_out < CONF_WARNINGS_MAX)
                                return sink_store(pre, w);
                        pre->n_dropped++;
                        pre->run_dropped++;
                } else if (pre->run_len == CONF_WARNINGS_RUN) {
                        /* Long enough: one line with a count instead. */
                        while (pre->n_out > pre->run_first + 1)
                                free(pre->out[--pre->n_out]);
                        pre->out[pre->n_out] = NULL;
                        pre->n_dropped -= pre->run_dropped;
                        pre->run_dropped = 0;
                }
                free(w);
                return 0;
        }
        sink_end_run(pre);
        if (pre->n_out >= CONF_WARNINGS_MAX) {
                pre->n_dropped++;
                free(w);
                return 0;
        }
        pre->run_first = pre->n_out;
        pre->run_len = 1;
        (void) warning_body(w, &pre->run_last);
        return sink_store(pre, w);
}

/* Hand the sink's lines to *dest (appended after what is there). */
static int sink_finish(ConfLines *pre, char ***dest) {
        int r = 0;

        sink_end_run(pre);
        if (!*dest) {
                *dest = TAKE_PTR(pre->out);
                pre->n_out = pre->cap_out = 0;
        } else {
                for (size_t i = 0; i < pre->n_out && r >= 0; i++)
                        r = strv_consume(dest, TAKE_PTR(pre->out[i]));
                pre->out = strv_free(pre->out);
                pre->n_out = pre->cap_out = 0;
        }
        if (r >= 0 && pre->n_dropped > 0)
                r = strv_extendf(dest, "%s: %zu more warnings not shown", pre->name, pre->n_dropped);
        return r;
}

/* ------------------------------------------------------------- lines */

/* "NAME:LINE: " + message, straight into the sink: everything before it in
 * the file has been handled already. */
_printf_(3, 4) static void pre_warn(ConfLines *pre, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        char *s;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0 || asprintf(&s, "%s:%u: %s", pre->name, line, msg) < 0) {
                pre->oom = true;
                return;
        }
        if (sink_add(pre, s) < 0)
                pre->oom = true;
}

/* Cut a ' #' / '\t#' inline comment. */
static void strip_inline_comment(char *s) {
        for (char *p = s + 1; *p; p++)
                if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = '\0';
                        return;
                }
}

/* The next section header or key=value of the text: 1 with pre->cur set (a
 * header is CONF_ITEM_SECTION, a key CONF_ITEM_KEY), 0 at the end, -ENOMEM.
 * Lines that cannot be used are warned about on the way. */
static int pre_next(ConfLines *pre) {
        while (pre->p < pre->end && !pre->oom) {
                _cleanup_free_ char *e = NULL;
                char *nl, *s, *eq, *k, *v;
                bool indented;

                pre->lineno++;
                nl = memchr(pre->p, '\n', (size_t) (pre->end - pre->p));
                if (nl)
                        *nl = '\0';
                s = pre->p;
                pre->p = nl ? nl + 1 : pre->end;

                indented = *s == ' ' || *s == '\t';
                s = conf_strip(s);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue; /* blank lines and comments do not end a value */
                strip_inline_comment(s);
                s = conf_strip(s);

                if (indented && pre->prev_key) {
                        if (pre->is_multi && pre->is_multi(pre->prev_key)) {
                                pre->cur = (ConfItem){ pre->lineno, CONF_ITEM_KEY, pre->section,
                                                       pre->prev_key, s };
                                return 1;
                        } else {
                                _cleanup_free_ char *es = conf_escape(pre->section),
                                                    *ek = conf_escape(pre->prev_key);

                                e = conf_escape(s);
                                pre_warn(pre, pre->lineno, "[%s] %s: continuation line '%s' ignored",
                                         strempty(es), strempty(ek), strempty(e));
                        }
                        continue;
                }

                pre->prev_key = mfree(pre->prev_key);

                if (*s == '[') {
                        size_t l = strlen(s);
                        char *name;

                        if (l < 2 || s[l - 1] != ']') {
                                e = conf_escape(s);
                                pre_warn(pre, pre->lineno,
                                         "syntax error, '%s' is not a [section] header, ignored",
                                         strempty(e));
                                continue;
                        }
                        s[l - 1] = '\0';
                        name = conf_strip(s + 1);
                        /* Keys below an empty header belong to no section we know. */
                        if (free_and_strdup(&pre->section, name) < 0)
                                return -ENOMEM;
                        if (*name == '\0') {
                                pre_warn(pre, pre->lineno, "syntax error, empty section name, ignored");
                                continue;
                        }
                        if (!pre->section_known(name)) {
                                e = conf_escape(name);
                                pre_warn(pre, pre->lineno, "unknown section [%s], ignored", strempty(e));
                        }
                        pre->cur = (ConfItem){ pre->lineno, CONF_ITEM_SECTION, pre->section, NULL, NULL };
                        return 1;
                }

                eq = strchr(s, '=');
                if (!eq) {
                        e = conf_escape(s);
                        pre_warn(pre, pre->lineno, "syntax error, no '=' in '%s', line ignored",
                                 strempty(e));
                        continue;
                }
                *eq = '\0';
                k = conf_strip(s);
                v = conf_strip(eq + 1);
                conf_ascii_lower(k);
                if (*k == '\0') {
                        e = conf_escape(v);
                        pre_warn(pre, pre->lineno, "syntax error, no key before '=%s', line ignored",
                                 strempty(e));
                        continue;
                }
                if (!pre->section) {
                        e = conf_escape(k);
                        pre_warn(pre, pre->lineno, "key '%s' outside of any [section], ignored",
                                 strempty(e));
                        continue;
                }
                if (*pre->section == '\0')
                        continue; /* under a broken header: already warned */

                pre->prev_key = strdup(k);
                if (!pre->prev_key)
                        return -ENOMEM;
                pre->cur = (ConfItem){ pre->lineno, CONF_ITEM_KEY, pre->section, pre->prev_key, v };
                return 1;
        }
        return pre->oom ? -ENOMEM : 0;
}

/* ini_reader: one synthetic line per item, "[s]" for a header, "k=v" for a
 * key.  inih calls the handler for a line before it reads the next one, so
 * the item in pre->cur is the one the handler gets. */
static char *pre_reader(char *str, int num, void *stream) {
        ConfLines *pre = stream;
        int r;

        r = pre_next(pre);
        if (r < 0)
                pre->oom = true;
        if (r <= 0)
                return NULL;
        (void) snprintf(str, (size_t) num, pre->cur.kind == CONF_ITEM_SECTION ? "[s]\n" : "k=v\n");
        return str;
}

/* inih's part: it pairs every key with the header above it. */
static int pre_ini_handler(void *user, const char *section, const char *name, const char *value) {
        ConfLines *pre = user;
        char **scratch = NULL, ***dest;
        int r;

        (void) value;
        if (!streq(section, "s") || !streq(name, "k") || pre->cur.kind != CONF_ITEM_KEY)
                return 1; /* cannot happen: we wrote every line inih sees */

        /* The handler's warnings come back through the sink. */
        dest = pre->warnings;
        pre->warnings = &scratch;
        r = pre->handle(pre, &pre->cur, pre->userdata);
        pre->warnings = dest;
        for (size_t i = 0; scratch && scratch[i]; i++)
                if (sink_add(pre, TAKE_PTR(scratch[i])) < 0)
                        r = -ENOMEM;
        free(scratch);
        if (r == -ENOMEM)
                pre->oom = true;
        return 1;
}

int conf_lines_parse(ConfLines *pre, const char *text, size_t len) {
        _cleanup_free_ char *buf = NULL;
        int r;

        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        if (len > 0)
                memcpy(buf, text, len);
        buf[len] = '\0';
        /* An embedded NUL would end C strings mid-line: make it a blank. */
        for (size_t i = 0; i < len; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';
        pre->p = buf;
        pre->end = buf + len;
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
                pre->p += 3;

        r = ini_parse_stream(pre_reader, pre, pre_ini_handler, pre);
        r = (r == -2 || pre->oom) ? -ENOMEM : 0;
        if (r >= 0 && pre->warnings)
                r = sink_finish(pre, pre->warnings);

        pre->out = strv_free(pre->out);
        pre->section = mfree(pre->section);
        pre->prev_key = mfree(pre->prev_key);
        pre->p = pre->end = NULL;
        return r;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The text layer of stafd.conf and sys.conf (see conf-lines.h).
 *
 * What inih does here, and no more: it pairs each key with the section
 * header above it.  Debian's libinih is built with a 200-byte line limit and
 * ';' as inline comment prefix, both of which would silently cut controller=
 * entries, so inih never sees a user line.  conf_lines_split() does the
 * lexing (CRLF, BOM, comments, ' #' inline comments, continuation lines)
 * into a table of items (header, key=value, or a warning about an unusable
 * line) with their line numbers; inih reads a synthetic file of short tokens
 * ("[s<N>]", "k<N>=v") that reference the table, in file order, so warnings
 * come out in file order too.  See docs/configuration.md.
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

int conf_warnings_collapse(char ***warnings, const char *name) {
        char **w = *warnings;
        size_t n = strv_length(w), out = 0, dropped = 0;

        for (size_t i = 0; i < n;) {
                size_t j = i + 1;
                unsigned long last = 0;

                while (j < n && warning_same_kind(w[i], w[j]))
                        j++;
                if (out >= CONF_WARNINGS_MAX) {
                        dropped += j - i;
                        for (size_t k = i; k < j; k++)
                                free(w[k]);
                        i = j;
                        continue;
                }
                if (j - i < CONF_WARNINGS_RUN) {
                        /* A short run: every line stays. */
                        for (size_t k = i; k < j && out < CONF_WARNINGS_MAX; k++, i++)
                                w[out++] = w[k];
                        continue;
                }
                {
                        char *t;

                        /* Out of memory: the first line alone still says it. */
                        (void) warning_body(w[j - 1], &last);
                        if (asprintf(&t, "%s (and %zu more like it, up to line %lu)", w[i], j - i - 1, last) >= 0) {
                                free(w[i]);
                                w[i] = t;
                        }
                }
                w[out++] = w[i];
                for (size_t k = i + 1; k < j; k++)
                        free(w[k]);
                i = j;
        }
        if (w)
                w[out] = NULL;
        if (dropped > 0)
                return strv_extendf(warnings, "%s: %zu more warnings not shown", name, dropped);
        return 0;
}

/* ------------------------------------------------------------- lines */

static void pre_done(ConfLines *pre) {
        for (size_t i = 0; i < pre->n_items; i++) {
                free(pre->items[i].section);
                free(pre->items[i].key);
                free(pre->items[i].value);
        }
        free(pre->items);
        pre->items = NULL;
        pre->n_items = 0;
}

static int pre_add(ConfLines *pre, ConfItemKind kind, unsigned line, const char *section, const char *key,
                   const char *value) {
        ConfItem it = { .line = line, .kind = kind };

        if (array_grow(&pre->items, pre->n_items, sizeof(ConfItem)) < 0)
                return -ENOMEM;
        it.section = section ? strdup(section) : NULL;
        it.key = key ? strdup(key) : NULL;
        it.value = value ? strdup(value) : NULL;
        if ((section && !it.section) || (key && !it.key) || (value && !it.value)) {
                free(it.section);
                free(it.key);
                free(it.value);
                return -ENOMEM;
        }
        pre->items[pre->n_items++] = it;
        return 0;
}

/* "NAME:LINE: " + message, queued in file order. */
_printf_(3, 4)
static int pre_warn(ConfLines *pre, unsigned line, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL, *s = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        if (asprintf(&s, "%s:%u: %s", pre->name, line, msg) < 0) {
                s = NULL;
                return -ENOMEM;
        }
        return pre_add(pre, CONF_ITEM_WARNING, line, NULL, s, NULL);
}

/* Cut a ' #' / '\t#' inline comment. */
static void strip_inline_comment(char *s) {
        for (char *p = s + 1; *p; p++)
                if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = '\0';
                        return;
                }
}

/* Split text into items. */
static int conf_lines_split(ConfLines *pre, const char *text, size_t len) {
        _cleanup_free_ char *buf = NULL, *section = NULL, *prev_key = NULL;
        char *p, *end;
        unsigned lineno = 0;
        int r;

        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, text, len);
        buf[len] = '\0';
        /* An embedded NUL would end C strings mid-line: make it a blank. */
        for (size_t i = 0; i < len; i++)
                if (buf[i] == '\0')
                        buf[i] = ' ';

        p = buf;
        end = buf + len;
        if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
                p += 3;

        while (p < end) {
                _cleanup_free_ char *e = NULL;
                char *nl, *s, *eq, *k, *v;
                bool indented;

                lineno++;
                nl = memchr(p, '\n', (size_t) (end - p));
                if (nl)
                        *nl = '\0';
                s = p;
                p = nl ? nl + 1 : end;

                indented = *s == ' ' || *s == '\t';
                s = conf_strip(s);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue; /* blank lines and comments do not end a value */
                strip_inline_comment(s);
                s = conf_strip(s);

                if (indented && prev_key) {
                        if (pre->is_multi && pre->is_multi(prev_key))
                                r = pre_add(pre, CONF_ITEM_KEY, lineno, section, prev_key, s);
                        else {
                                _cleanup_free_ char *es = conf_escape(section), *ek = conf_escape(prev_key);

                                e = conf_escape(s);
                                r = pre_warn(pre, lineno, "[%s] %s: continuation line '%s' ignored",
                                             strempty(es), strempty(ek), strempty(e));
                        }
                        if (r < 0)
                                return r;
                        continue;
                }

                prev_key = mfree(prev_key);

                if (*s == '[') {
                        size_t l = strlen(s);
                        char *name;

                        if (l < 2 || s[l - 1] != ']') {
                                e = conf_escape(s);
                                r = pre_warn(pre, lineno, "syntax error, '%s' is not a [section] header, ignored",
                                             strempty(e));
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        s[l - 1] = '\0';
                        name = conf_strip(s + 1);
                        /* Keys below an empty header belong to no section we know. */
                        r = free_and_strdup(&section, name);
                        if (r < 0)
                                return r;
                        if (*name == '\0')
                                r = pre_warn(pre, lineno, "syntax error, empty section name, ignored");
                        else {
                                r = pre_add(pre, CONF_ITEM_SECTION, lineno, section, NULL, NULL);
                                if (r >= 0 && !pre->section_known(name)) {
                                        e = conf_escape(name);
                                        r = pre_warn(pre, lineno, "unknown section [%s], ignored", strempty(e));
                                }
                        }
                        if (r < 0)
                                return r;
                        continue;
                }

                eq = strchr(s, '=');
                if (!eq) {
                        e = conf_escape(s);
                        r = pre_warn(pre, lineno, "syntax error, no '=' in '%s', line ignored", strempty(e));
                        if (r < 0)
                                return r;
                        continue;
                }
                *eq = '\0';
                k = conf_strip(s);
                v = conf_strip(eq + 1);
                conf_ascii_lower(k);
                if (*k == '\0') {
                        e = conf_escape(v);
                        r = pre_warn(pre, lineno, "syntax error, no key before '=%s', line ignored",
                                     strempty(e));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (!section) {
                        e = conf_escape(k);
                        r = pre_warn(pre, lineno, "key '%s' outside of any [section], ignored", strempty(e));
                        if (r < 0)
                                return r;
                        continue;
                }
                if (*section == '\0')
                        continue; /* under a broken header: already warned */

                r = pre_add(pre, CONF_ITEM_KEY, lineno, section, k, v);
                if (r < 0)
                        return r;
                prev_key = strdup(k);
                if (!prev_key)
                        return -ENOMEM;
        }
        return 0;
}

/* ini_reader: hand inih one synthetic line per item: "[s<N>]" for a header,
 * "k<N>=v" for a key or a warning. */
static char *pre_reader(char *str, int num, void *stream) {
        ConfLines *pre = stream;
        const ConfItem *it;

        if (pre->next >= pre->n_items)
                return NULL;
        it = &pre->items[pre->next];
        if (it->kind == CONF_ITEM_SECTION)
                (void) snprintf(str, (size_t) num, "[s%zu]\n", pre->next);
        else
                (void) snprintf(str, (size_t) num, "k%zu=v\n", pre->next);
        pre->next++;
        return str;
}

static int token_index(const char *tok, char prefix, const ConfLines *pre, size_t *ret) {
        char *end;
        unsigned long long n;

        if (!tok || tok[0] != prefix || !isdigit((unsigned char) tok[1]))
                return -EINVAL;
        errno = 0;
        n = strtoull(tok + 1, &end, 10);
        if (errno || *end || n >= pre->n_items)
                return -EINVAL;
        *ret = (size_t) n;
        return 0;
}

/* inih's part: it pairs every key with the header above it. */
static int pre_ini_handler(void *user, const char *section, const char *name, const char *value) {
        ConfLines *pre = user;
        const ConfItem *it;
        size_t si, ki;

        (void) value;
        if (token_index(name, 'k', pre, &ki) < 0)
                return 1; /* cannot happen: we wrote every line inih sees */
        it = &pre->items[ki];
        if (it->kind == CONF_ITEM_WARNING) {
                if (pre->warnings && strv_extend(pre->warnings, it->key) < 0)
                        pre->oom = true;
                return 1;
        }
        if (token_index(section, 's', pre, &si) < 0 || pre->items[si].kind != CONF_ITEM_SECTION)
                return 1;
        if (pre->handle(pre, it, pre->userdata) == -ENOMEM)
                pre->oom = true;
        return 1;
}

/* Split, then let inih walk the items and call pre->handle for each key. */
int conf_lines_parse(ConfLines *pre, const char *text, size_t len) {
        int r;

        r = conf_lines_split(pre, text ?: "", len);
        if (r >= 0) {
                r = ini_parse_stream(pre_reader, pre, pre_ini_handler, pre);
                r = (r == -2 || pre->oom) ? -ENOMEM : 0;
        }
        pre_done(pre);
        return r;
}

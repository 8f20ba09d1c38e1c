/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafd.conf and sys.conf parsing.
 *
 * inih does the section/key structure, but Debian's libinih is built with a
 * 200-byte line limit and ';' as inline comment prefix, both of which would
 * silently cut controller= entries.  So we never show inih a user line: we
 * split the text into lines ourselves (CRLF, comments, ' #' inline
 * comments, continuation lines), store every section header and key=value
 * in a side table with its original line number, and feed inih through
 * ini_parse_stream() a synthetic file of short tokens ("[s<N>]", "k<N>=v")
 * that reference the table.  See docs/configuration.md.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf.h"
#include "macro.h"
#include "strv.h"

#define CONF_FILE_MAX (16U * 1024U * 1024U)
#define WARN_VALUE_MAX 80
#define DEFAULT_KATO 30
#define DEFAULT_ZC_PERSISTENCE_SEC (72 * 3600)

/* ---------------------------------------------------------------- helpers */

static char *strip(char *s) {
        char *e;

        while (*s == ' ' || *s == '\t')
                s++;
        e = s + strlen(s);
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
                e--;
        *e = '\0';
        return s;
}

static void ascii_lower(char *s) {
        for (; *s; s++)
                *s = (char) tolower((unsigned char) *s);
}

/* Printable, bounded rendering of a user value for a warning line. */
static char *warn_escape(const char *v) {
        size_t n = 0;
        char *buf, *p;

        buf = malloc(WARN_VALUE_MAX * 4 + 4);
        if (!buf)
                return NULL;
        p = buf;
        for (; *v && n < WARN_VALUE_MAX; v++, n++) {
                unsigned char ch = (unsigned char) *v;

                if (ch < 0x20 || ch == 0x7f) {
                        p += sprintf(p, "\\x%02x", ch);
                } else
                        *p++ = (char) ch;
        }
        if (*v)
                p += sprintf(p, "...");
        *p = '\0';
        return buf;
}

_printf_(2, 3)
static void warn(char ***warnings, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!warnings)
                return;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (s)
                (void) strv_consume(warnings, s);
}

/* "file:line: [section] key='value': why, what we do" */
static void warn_value(char ***warnings, const char *file, unsigned line, const char *section,
                       const char *key, const char *value, const char *why, const char *action) {
        _cleanup_free_ char *v = warn_escape(value);

        warn(warnings, "%s:%u: [%s] %s='%s': %s, %s", file, line, section, key, strempty(v), why, action);
}

/* Python configparser's getboolean(): 1/yes/true/on, 0/no/false/off. */
static int parse_bool(const char *v) {
        static const char * const yes[] = { "1", "yes", "true", "on" };
        static const char * const no[] = { "0", "no", "false", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0)
                        return 1;
                if (strcasecmp(v, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

/* enabled/disabled, and for leniency every boolean word too. */
static int parse_enabled(const char *v) {
        if (strcasecmp(v, "enabled") == 0)
                return 1;
        if (strcasecmp(v, "disabled") == 0)
                return 0;
        return parse_bool(v);
}

/* Decimal integer, optional sign, surrounding blanks already stripped. */
static int parse_int(const char *v, int *ret) {
        char *end;
        long l;

        if (isempty(v))
                return -EINVAL;
        errno = 0;
        l = strtol(v, &end, 10);
        if (*end || end == v || isspace((unsigned char) *v))
                return -EINVAL;
        if (errno == ERANGE || l > INT_MAX || l < INT_MIN)
                return -ERANGE;
        *ret = (int) l;
        return 0;
}

static int parse_ip_family(const char *v, unsigned *ret) {
        if (strcasecmp(v, "ipv4") == 0)
                *ret = IP_FAMILY_V4;
        else if (strcasecmp(v, "ipv6") == 0)
                *ret = IP_FAMILY_V6;
        else if (strcasecmp(v, "ipv4+ipv6") == 0 || strcasecmp(v, "ipv6+ipv4") == 0)
                *ret = IP_FAMILY_V4 | IP_FAMILY_V6;
        else
                return -EINVAL;
        return 0;
}

/* --------------------------------------------------------------- timespan */

static const struct {
        const char *name;
        int64_t mult;
} timespan_units[] = {
        { "s", 1 },      { "sec", 1 },      { "secs", 1 },    { "second", 1 },   { "seconds", 1 },
        { "m", 60 },     { "min", 60 },     { "mins", 60 },   { "minute", 60 },  { "minutes", 60 },
        { "h", 3600 },   { "hr", 3600 },    { "hrs", 3600 },  { "hour", 3600 },  { "hours", 3600 },
        { "d", 86400 },  { "day", 86400 },  { "days", 86400 },
        { "w", 604800 }, { "week", 604800 }, { "weeks", 604800 },
};

static int ts_add(int64_t *acc, int64_t n, int64_t mult) {
        if (n > INT64_MAX / mult)
                return -ERANGE;
        n *= mult;
        if (*acc > INT64_MAX - n)
                return -ERANGE;
        *acc += n;
        return 0;
}

/* Unsigned decimal at *p; advances *p. */
static int ts_number(const char **p, int64_t *ret) {
        int64_t n = 0;

        if (!isdigit((unsigned char) **p))
                return -EINVAL;
        for (; isdigit((unsigned char) **p); (*p)++) {
                int d = **p - '0';

                if (n > (INT64_MAX - d) / 10)
                        return -ERANGE;
                n = n * 10 + d;
        }
        *ret = n;
        return 0;
}

/* "[[h:]m:]s" clock form: 1:30:00 = 1h30m, 30:00 = 30 minutes (m:s).  The
 * leading field is unbounded, the following ones must be < 60. */
static int timespan_parse_clock(const char *p, int64_t *ret) {
        int64_t f[3], acc = 0;
        int n = 0, r;

        for (;;) {
                if (n == 3)
                        return -EINVAL;
                r = ts_number(&p, &f[n]);
                if (r < 0)
                        return r;
                n++;
                if (*p == '\0')
                        break;
                if (*p != ':')
                        return -EINVAL;
                p++;
        }
        if (n < 2)
                return -EINVAL;
        for (int i = 1; i < n; i++)
                if (f[i] >= 60)
                        return -EINVAL;
        for (int i = 0; i < n; i++) {
                int64_t mult = 1;

                for (int j = i + 1; j < n; j++)
                        mult *= 60;
                r = ts_add(&acc, f[i], mult);
                if (r < 0)
                        return r;
        }
        *ret = acc;
        return 0;
}

int timespan_parse(const char *s, int64_t *ret_sec) {
        const char *p, *end;
        int64_t acc = 0;
        size_t len;
        int r;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        len = strlen(s);
        while (len > 0 && isspace((unsigned char) s[len - 1]))
                len--;
        if (len == 0)
                return -EINVAL;
        end = s + len;

        if (len == 2 && s[0] == '-' && s[1] == '1') {
                *ret_sec = -1;
                return 0;
        }

        if (memchr(s, ':', len)) {
                char buf[64];

                if (len >= sizeof(buf))
                        return -EINVAL;
                memcpy(buf, s, len);
                buf[len] = '\0';
                r = timespan_parse_clock(buf, &acc);
                if (r < 0)
                        return -EINVAL;
                *ret_sec = acc;
                return 0;
        }

        for (p = s; p < end;) {
                const char *u;
                int64_t n, mult = 1;
                size_t ulen;

                r = ts_number(&p, &n);
                if (r < 0 || p > end)
                        return -EINVAL;
                while (p < end && isspace((unsigned char) *p))
                        p++;
                for (u = p; p < end && isalpha((unsigned char) *p); p++)
                        ;
                ulen = (size_t) (p - u);
                if (ulen > 0) {
                        size_t i;

                        for (i = 0; i < ELEMENTSOF(timespan_units); i++)
                                if (strlen(timespan_units[i].name) == ulen &&
                                    strncasecmp(u, timespan_units[i].name, ulen) == 0)
                                        break;
                        if (i >= ELEMENTSOF(timespan_units))
                                return -EINVAL;
                        mult = timespan_units[i].mult;
                }
                if (ts_add(&acc, n, mult) < 0)
                        return -EINVAL;
                while (p < end && (isspace((unsigned char) *p) || *p == ','))
                        p++;
        }
        *ret_sec = acc;
        return 0;
}

/* ------------------------------------------------------ controller strings */

void conf_controller_done(ConfController *c) {
        if (!c)
                return;
        free(c->transport);
        free(c->traddr);
        free(c->trsvcid);
        free(c->nqn);
        free(c->host_traddr);
        free(c->host_iface);
        free(c->host_nqn);
        free(c->dhchap_secret);
        free(c->dhchap_ctrl_secret);
        memset(c, 0, sizeof(*c));
}

static void conn_opts_unset(ConfConnOpts *o) {
        *o = (ConfConnOpts) {
                .hdr_digest = CONF_UNSET,
                .data_digest = CONF_UNSET,
                .kato = CONF_UNSET,
                .queue_size = CONF_UNSET,
                .reconnect_delay = CONF_UNSET,
                .ctrl_loss_tmo = CONF_UNSET,
                .disable_sqflow = CONF_UNSET,
        };
}

int conf_controller_copy(ConfController *dst, const ConfController *src) {
        ConfController c = {
                .opts = src->opts,
                .line = src->line,
        };
        const char * const *from[] = {
                (const char * const *) &src->transport, (const char * const *) &src->traddr,
                (const char * const *) &src->trsvcid, (const char * const *) &src->nqn,
                (const char * const *) &src->host_traddr, (const char * const *) &src->host_iface,
                (const char * const *) &src->host_nqn, (const char * const *) &src->dhchap_secret,
                (const char * const *) &src->dhchap_ctrl_secret,
        };
        char **to[] = {
                &c.transport, &c.traddr, &c.trsvcid, &c.nqn, &c.host_traddr, &c.host_iface,
                &c.host_nqn, &c.dhchap_secret, &c.dhchap_ctrl_secret,
        };

        for (size_t i = 0; i < ELEMENTSOF(to); i++) {
                if (!*from[i])
                        continue;
                *to[i] = strdup(*from[i]);
                if (!*to[i]) {
                        conf_controller_done(&c);
                        return -ENOMEM;
                }
        }
        *dst = c;
        return 0;
}

enum {
        OPT_BOOL,
        OPT_KATO,
        OPT_QUEUE_SIZE,
        OPT_RECONNECT_DELAY,
        OPT_CTRL_LOSS_TMO,
};

static const struct {
        const char *key;
        int type;
        size_t offset;
} conn_opts_table[] = {
        { "hdr-digest",      OPT_BOOL,            offsetof(ConfConnOpts, hdr_digest)      },
        { "data-digest",     OPT_BOOL,            offsetof(ConfConnOpts, data_digest)     },
        { "kato",            OPT_KATO,            offsetof(ConfConnOpts, kato)            },
        { "queue-size",      OPT_QUEUE_SIZE,      offsetof(ConfConnOpts, queue_size)      },
        { "reconnect-delay", OPT_RECONNECT_DELAY, offsetof(ConfConnOpts, reconnect_delay) },
        { "ctrl-loss-tmo",   OPT_CTRL_LOSS_TMO,   offsetof(ConfConnOpts, ctrl_loss_tmo)   },
        { "disable-sqflow",  OPT_BOOL,            offsetof(ConfConnOpts, disable_sqflow)  },
};

/* Look key up among the connection options.  Returns its table index, or -1. */
static int conn_opt_lookup(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(conn_opts_table); i++)
                if (streq(key, conn_opts_table[i].key))
                        return (int) i;
        return -1;
}

/* Parse value for conn option idx.  Returns the value, or -EINVAL with *why set. */
static int conn_opt_parse(int idx, const char *v, int *ret, const char **why) {
        int n, r;

        if (conn_opts_table[idx].type == OPT_BOOL) {
                r = parse_bool(v);
                if (r < 0) {
                        *why = "not a boolean (true/false, yes/no, on/off, 1/0)";
                        return -EINVAL;
                }
                *ret = r;
                return 0;
        }

        r = parse_int(v, &n);
        if (r < 0) {
                *why = r == -ERANGE ? "number out of range" : "not a number";
                return -EINVAL;
        }
        switch (conn_opts_table[idx].type) {
        case OPT_KATO:
                if (n < 0) {
                        *why = "must be >= 0";
                        return -EINVAL;
                }
                break;
        case OPT_QUEUE_SIZE:
                if (n < 16 || n > 1024) {
                        *why = "must be within 16..1024";
                        return -EINVAL;
                }
                break;
        case OPT_RECONNECT_DELAY:
                if (n < 1) {
                        *why = "must be >= 1";
                        return -EINVAL;
                }
                break;
        case OPT_CTRL_LOSS_TMO:
                if (n < -1) {
                        *why = "must be -1 or >= 0";
                        return -EINVAL;
                }
                break;
        }
        *ret = n;
        return 0;
}

static int *conn_opt_field(ConfConnOpts *o, int idx) {
        return (int *) ((char *) o + conn_opts_table[idx].offset);
}

/* The controller string for a warning, with dhchap secrets blanked out. */
static char *controller_redacted(const char *s) {
        _cleanup_free_ char *copy = strdup(s), *out = NULL;
        size_t size = 0;
        FILE *f;
        char *p, *field;
        bool first = true;

        if (!copy)
                return NULL;
        f = open_memstream(&out, &size);
        if (!f)
                return NULL;
        for (p = copy; (field = strsep(&p, ";"));) {
                char *eq, *k;

                field = strip(field);
                if (*field == '\0')
                        continue;
                fputs(first ? "" : ";", f);
                first = false;
                eq = strchr(field, '=');
                if (!eq) {
                        fputs(field, f);
                        continue;
                }
                *eq = '\0';
                k = strip(field);
                if (strncasecmp(k, "dhchap-", 7) == 0)
                        fprintf(f, "%s=<redacted>", k);
                else
                        fprintf(f, "%s=%s", k, strip(eq + 1));
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(out);
}

static void warn_controller(char ***warnings, const char *file, unsigned line, const char *key,
                            const char *s, const char *why) {
        _cleanup_free_ char *r = controller_redacted(s), *e = NULL;

        e = warn_escape(strempty(r));
        warn(warnings, "%s:%u: [Controllers] %s='%s': %s, entry ignored", file, line, key, strempty(e), why);
}

int conf_parse_controller(const char *s, ConfController *ret, char ***warnings,
                          const char *file, unsigned line, const char *key) {
        _cleanup_strv_free_ char **fw = NULL; /* field warnings, kept if the entry is */
        _cleanup_free_ char *copy = NULL;
        ConfController c = {};
        char *p, *field;
        unsigned n_keys = 0;
        bool bad_transport = false;

        if (!s || !ret)
                return -EINVAL;
        file = file ?: "(string)";
        key = key ?: "controller";

        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        conn_opts_unset(&c.opts);
        c.line = line;

        for (p = copy; (field = strsep(&p, ";"));) {
                char *eq, *k, *v, **dst = NULL;
                int idx;

                field = strip(field);
                if (*field == '\0')
                        continue;
                eq = strchr(field, '=');
                if (!eq) {
                        _cleanup_free_ char *f = warn_escape(field);

                        warn(&fw, "%s:%u: [Controllers] %s: field '%s' has no '=', ignored",
                             file, line, key, strempty(f));
                        continue;
                }
                *eq = '\0';
                k = strip(field);
                v = strip(eq + 1);
                ascii_lower(k);

                if (streq(k, "transport"))
                        dst = &c.transport;
                else if (streq(k, "traddr"))
                        dst = &c.traddr;
                else if (streq(k, "trsvcid"))
                        dst = &c.trsvcid;
                else if (streq(k, "nqn") || streq(k, "subsysnqn"))
                        dst = &c.nqn;
                else if (streq(k, "host-traddr"))
                        dst = &c.host_traddr;
                else if (streq(k, "host-iface"))
                        dst = &c.host_iface;
                else if (streq(k, "host-nqn"))
                        dst = &c.host_nqn;
                else if (streq(k, "dhchap-secret"))
                        dst = &c.dhchap_secret;
                else if (streq(k, "dhchap-ctrl-secret"))
                        dst = &c.dhchap_ctrl_secret;

                if (dst) {
                        /* "key=" with nothing after it means "not given". */
                        if (*v == '\0') {
                                free(*dst);
                                *dst = NULL;
                                continue;
                        }
                        if (dst == &c.transport) {
                                ascii_lower(v);
                                if (!streq(v, "tcp") && !streq(v, "rdma") && !streq(v, "fc") &&
                                    !streq(v, "loop")) {
                                        _cleanup_free_ char *e = warn_escape(v);

                                        warn(warnings, "%s:%u: [Controllers] %s: transport='%s': "
                                             "not one of tcp, rdma, fc, loop, entry ignored",
                                             file, line, key, strempty(e));
                                        bad_transport = true;
                                        continue;
                                }
                        }
                        if (free_and_strdup(dst, v) < 0) {
                                conf_controller_done(&c);
                                return -ENOMEM;
                        }
                        n_keys++;
                        continue;
                }

                idx = conn_opt_lookup(k);
                if (idx >= 0) {
                        const char *why = NULL;
                        int val;

                        if (*v == '\0') {
                                *conn_opt_field(&c.opts, idx) = CONF_UNSET;
                                continue;
                        }
                        if (conn_opt_parse(idx, v, &val, &why) < 0) {
                                _cleanup_free_ char *e = warn_escape(v);

                                warn(&fw, "%s:%u: [Controllers] %s: %s='%s': %s, using the global value",
                                     file, line, key, k, strempty(e), why);
                                *conn_opt_field(&c.opts, idx) = CONF_UNSET;
                                continue;
                        }
                        *conn_opt_field(&c.opts, idx) = val;
                        n_keys++;
                        continue;
                }

                {
                        _cleanup_free_ char *e = warn_escape(k);

                        warn(&fw, "%s:%u: [Controllers] %s: unknown key '%s', ignored",
                             file, line, key, strempty(e));
                }
        }

        if (bad_transport || n_keys == 0) {
                if (!bad_transport)
                        warn_controller(warnings, file, line, key, s, "no usable key");
                conf_controller_done(&c);
                return -EINVAL;
        }
        for (size_t i = 0; warnings && fw && fw[i]; i++)
                warn(warnings, "%s", fw[i]);
        *ret = c;
        return 0;
}

/* ------------------------------------------------------- line pre-parsing */

typedef struct Item {
        unsigned line;
        bool is_section;
        char *section; /* section name as written (header items and key items) */
        char *key;     /* lower-cased; NULL for section headers */
        char *value;
} Item;

typedef struct Pre {
        const char *name;
        Item *items;
        size_t n_items;
        size_t next;         /* reader cursor */
        char ***warnings;
        bool oom;
        /* handler: consumer of one key item */
        int (*handle)(struct Pre *pre, const Item *it, void *userdata);
        void *userdata;
} Pre;

static void pre_done(Pre *pre) {
        for (size_t i = 0; i < pre->n_items; i++) {
                free(pre->items[i].section);
                free(pre->items[i].key);
                free(pre->items[i].value);
        }
        free(pre->items);
        pre->items = NULL;
        pre->n_items = 0;
}

static int pre_add(Pre *pre, unsigned line, const char *section, const char *key, const char *value) {
        Item *t, it = { .line = line, .is_section = !key };

        t = realloc(pre->items, sizeof(Item) * (pre->n_items + 1));
        if (!t)
                return -ENOMEM;
        pre->items = t;

        it.section = strdup(section);
        it.key = key ? strdup(key) : NULL;
        it.value = value ? strdup(value) : NULL;
        if (!it.section || (key && !it.key) || (value && !it.value)) {
                free(it.section);
                free(it.key);
                free(it.value);
                return -ENOMEM;
        }
        pre->items[pre->n_items++] = it;
        return 0;
}

/* Cut a ' #' / '\t#' inline comment. */
static void strip_inline_comment(char *s) {
        for (char *p = s + 1; *p; p++)
                if (*p == '#' && (p[-1] == ' ' || p[-1] == '\t')) {
                        *p = '\0';
                        return;
                }
}

/* Split text into items.  is_multi(key) says whether continuation lines of
 * that key are further entries. */
static int pre_split(Pre *pre, const char *text, size_t len, bool (*is_multi)(const char *key)) {
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
                char *nl, *s, *eq, *k, *v;
                bool indented;

                lineno++;
                nl = memchr(p, '\n', (size_t) (end - p));
                if (nl)
                        *nl = '\0';
                s = p;
                p = nl ? nl + 1 : end;

                indented = *s == ' ' || *s == '\t';
                s = strip(s);
                if (*s == '\0' || *s == '#' || *s == ';')
                        continue; /* blank lines and comments do not end a value */
                strip_inline_comment(s);
                s = strip(s);

                if (indented && prev_key) {
                        if (is_multi && is_multi(prev_key)) {
                                r = pre_add(pre, lineno, section, prev_key, s);
                                if (r < 0)
                                        return r;
                        } else {
                                _cleanup_free_ char *e = warn_escape(s);

                                warn(pre->warnings, "%s:%u: [%s] %s: continuation line '%s' ignored",
                                     pre->name, lineno, section, prev_key, strempty(e));
                        }
                        continue;
                }

                free(prev_key);
                prev_key = NULL;

                if (*s == '[') {
                        size_t l = strlen(s);
                        char *name;

                        if (l < 2 || s[l - 1] != ']') {
                                _cleanup_free_ char *e = warn_escape(s);

                                warn(pre->warnings, "%s:%u: syntax error, '%s' is not a [section] header, ignored",
                                     pre->name, lineno, strempty(e));
                                continue;
                        }
                        s[l - 1] = '\0';
                        name = strip(s + 1);
                        if (*name == '\0') {
                                warn(pre->warnings, "%s:%u: syntax error, empty section name, ignored",
                                     pre->name, lineno);
                                /* Keys below it belong to no section we know. */
                                name = "";
                        }
                        r = free_and_strdup(&section, name);
                        if (r < 0)
                                return r;
                        if (*name) {
                                r = pre_add(pre, lineno, section, NULL, NULL);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }

                eq = strchr(s, '=');
                if (!eq) {
                        _cleanup_free_ char *e = warn_escape(s);

                        warn(pre->warnings, "%s:%u: syntax error, no '=' in '%s', line ignored",
                             pre->name, lineno, strempty(e));
                        continue;
                }
                *eq = '\0';
                k = strip(s);
                v = strip(eq + 1);
                ascii_lower(k);
                if (*k == '\0') {
                        _cleanup_free_ char *e = warn_escape(v);

                        warn(pre->warnings, "%s:%u: syntax error, no key before '=%s', line ignored",
                             pre->name, lineno, strempty(e));
                        continue;
                }
                if (!section) {
                        _cleanup_free_ char *e = warn_escape(k);

                        warn(pre->warnings, "%s:%u: key '%s' outside of any [section], ignored",
                             pre->name, lineno, strempty(e));
                        continue;
                }
                if (*section == '\0')
                        continue; /* under a broken header: already warned */

                r = pre_add(pre, lineno, section, k, v);
                if (r < 0)
                        return r;
                prev_key = strdup(k);
                if (!prev_key)
                        return -ENOMEM;
        }
        return 0;
}

/* ini_reader: hand inih one synthetic line per item. */
static char *pre_reader(char *str, int num, void *stream) {
        Pre *pre = stream;
        const Item *it;

        if (pre->next >= pre->n_items)
                return NULL;
        it = &pre->items[pre->next];
        if (it->is_section)
                (void) snprintf(str, (size_t) num, "[s%zu]\n", pre->next);
        else
                (void) snprintf(str, (size_t) num, "k%zu=v\n", pre->next);
        pre->next++;
        return str;
}

static int token_index(const char *tok, char prefix, const Pre *pre, size_t *ret) {
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

static int pre_ini_handler(void *user, const char *section, const char *name, const char *value) {
        Pre *pre = user;
        size_t si, ki;

        if (token_index(section, 's', pre, &si) < 0 || token_index(name, 'k', pre, &ki) < 0)
                return 1; /* cannot happen: we wrote every line inih sees */
        if (!pre->items[si].is_section || pre->items[ki].is_section)
                return 1;
        if (pre->handle(pre, &pre->items[ki], pre->userdata) == -ENOMEM)
                pre->oom = true;
        return 1;
}

/* --------------------------------------------------------------- stafd.conf */

enum {
        SEC_GLOBAL,
        SEC_SERVICE_DISCOVERY,
        SEC_DCCM,
        SEC_CONTROLLERS,
        SEC_UNKNOWN,
};

static const char * const conf_sections[] = {
        [SEC_GLOBAL] = "Global",
        [SEC_SERVICE_DISCOVERY] = "Service Discovery",
        [SEC_DCCM] = "Discovery controller connection management",
        [SEC_CONTROLLERS] = "Controllers",
};

/* Section names compare case-insensitively (configparser itself is case-
 * sensitive there, but a user writing [global] surely means [Global]). */
static int conf_section_lookup(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(conf_sections); i++)
                if (strcasecmp(name, conf_sections[i]) == 0)
                        return (int) i;
        return SEC_UNKNOWN;
}

static bool conf_is_multi(const char *key) {
        return streq(key, "controller") || streq(key, "exclude");
}

static void conf_defaults(Conf *c) {
        conn_opts_unset(&c->conn);
        c->conn.hdr_digest = 0;
        c->conn.data_digest = 0;
        c->conn.kato = DEFAULT_KATO;
        c->tron = false;
        c->ignore_iface = false;
        c->ip_family = IP_FAMILY_V4 | IP_FAMILY_V6;
        c->pleo = true;
        c->zeroconf = true;
        c->persistent_connections = true;
        c->zeroconf_persistence_sec = DEFAULT_ZC_PERSISTENCE_SEC;
        c->max_referrals_per_dc = DEFAULT_MAX_REFERRALS_PER_DC;
        c->max_dcs = DEFAULT_MAX_DCS;
}

static const char *conn_opt_default_text(int idx, char *buf, size_t size) {
        switch (conn_opts_table[idx].type) {
        case OPT_BOOL:
                if (streq(conn_opts_table[idx].key, "disable-sqflow"))
                        return "using the driver default";
                return "using default false";
        case OPT_KATO:
                (void) snprintf(buf, size, "using default %d", DEFAULT_KATO);
                return buf;
        default:
                return "using the driver default";
        }
}

static int conf_add_entry(ConfController **arr, size_t *n, ConfController *c) {
        ConfController *t;

        t = realloc(*arr, sizeof(ConfController) * (*n + 1));
        if (!t)
                return -ENOMEM;
        *arr = t;
        t[(*n)++] = *c;
        return 0;
}

static int conf_handle(Pre *pre, const Item *it, void *userdata) {
        Conf *c = userdata;
        const char *sec = it->section, *k = it->key, *v = it->value;
        int s = conf_section_lookup(sec), r;

        switch (s) {
        case SEC_GLOBAL: {
                int idx;

                if (streq(k, "tron") || streq(k, "ignore-iface")) {
                        bool *dst = streq(k, "tron") ? &c->tron : &c->ignore_iface;

                        r = parse_bool(v);
                        if (r < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not a boolean (true/false, yes/no, on/off, 1/0)",
                                           "using default false");
                                *dst = false;
                        } else
                                *dst = r;
                        return 0;
                }
                if (streq(k, "ip-family")) {
                        if (parse_ip_family(v, &c->ip_family) < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not one of ipv4, ipv6, ipv4+ipv6, ipv6+ipv4",
                                           "using default ipv4+ipv6");
                                c->ip_family = IP_FAMILY_V4 | IP_FAMILY_V6;
                        }
                        return 0;
                }
                if (streq(k, "pleo")) {
                        r = parse_enabled(v);
                        if (r < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not enabled/disabled", "using default enabled");
                                r = 1;
                        }
                        c->pleo = r;
                        return 0;
                }
                idx = conn_opt_lookup(k);
                if (idx >= 0) {
                        const char *why = NULL;
                        char buf[64];
                        int val;

                        if (conn_opt_parse(idx, v, &val, &why) < 0) {
                                Conf d = {};

                                warn_value(pre->warnings, pre->name, it->line, sec, k, v, why,
                                           conn_opt_default_text(idx, buf, sizeof(buf)));
                                conf_defaults(&d);
                                val = *conn_opt_field(&d.conn, idx);
                        }
                        *conn_opt_field(&c->conn, idx) = val;
                        return 0;
                }
                break;
        }
        case SEC_SERVICE_DISCOVERY:
                if (streq(k, "zeroconf")) {
                        r = parse_enabled(v);
                        if (r < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not enabled/disabled", "using default enabled");
                                r = 1;
                        }
                        c->zeroconf = r;
                        return 0;
                }
                break;
        case SEC_DCCM:
                if (streq(k, "persistent-connections")) {
                        r = parse_bool(v);
                        if (r < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not a boolean (true/false, yes/no, on/off, 1/0)",
                                           "using default true");
                                r = 1;
                        }
                        c->persistent_connections = r;
                        return 0;
                }
                if (streq(k, "zeroconf-connections-persistence")) {
                        int64_t t;

                        if (timespan_parse(v, &t) < 0) {
                                warn_value(pre->warnings, pre->name, it->line, sec, k, v,
                                           "not a time span (e.g. 3600, 72hours, 1d 12h, 1:30:00, -1)",
                                           "using default 72 hours");
                                t = DEFAULT_ZC_PERSISTENCE_SEC;
                        }
                        c->zeroconf_persistence_sec = t;
                        return 0;
                }
                break;
        case SEC_CONTROLLERS:
                if (conf_is_multi(k)) {
                        bool is_ctrl = streq(k, "controller");
                        ConfController e;

                        r = conf_parse_controller(v, &e, pre->warnings, pre->name, it->line, k);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return 0;
                        if (is_ctrl && (!e.transport || !e.traddr)) {
                                warn_controller(pre->warnings, pre->name, it->line, k, v,
                                                !e.transport && !e.traddr ? "no transport and no traddr" :
                                                !e.transport ? "no transport" : "no traddr");
                                conf_controller_done(&e);
                                return 0;
                        }
                        r = is_ctrl ? conf_add_entry(&c->controllers, &c->n_controllers, &e) :
                                      conf_add_entry(&c->excludes, &c->n_excludes, &e);
                        if (r < 0) {
                                conf_controller_done(&e);
                                return r;
                        }
                        return 0;
                }
                break;
        default:
                return 0; /* unknown section: warned about once, at its header */
        }

        {
                _cleanup_free_ char *e = warn_escape(k);

                warn(pre->warnings, "%s:%u: [%s] unknown key '%s', ignored", pre->name, it->line, sec,
                     strempty(e));
        }
        return 0;
}

int conf_new_default(Conf **ret) {
        Conf *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        conf_defaults(c);
        *ret = c;
        return 0;
}

Conf *conf_free(Conf *c) {
        if (!c)
                return NULL;
        free(c->path);
        for (size_t i = 0; i < c->n_controllers; i++)
                conf_controller_done(&c->controllers[i]);
        free(c->controllers);
        for (size_t i = 0; i < c->n_excludes; i++)
                conf_controller_done(&c->excludes[i]);
        free(c->excludes);
        strv_free(c->warnings);
        free(c);
        return NULL;
}

/* Warn about every unknown section header (once per header line). */
static void warn_unknown_sections(Pre *pre, int (*lookup)(const char *name), int unknown) {
        for (size_t i = 0; i < pre->n_items; i++) {
                const Item *it = &pre->items[i];

                if (it->is_section && lookup(it->section) == unknown) {
                        _cleanup_free_ char *e = warn_escape(it->section);

                        warn(pre->warnings, "%s:%u: unknown section [%s], ignored", pre->name, it->line,
                             strempty(e));
                }
        }
}

typedef struct WarnSort {
        unsigned long line;
        size_t idx;
        char *text;
} WarnSort;

static int warn_sort_cmp(const void *a, const void *b) {
        const WarnSort *x = a, *y = b;

        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Warnings come from two passes (line splitting, then values); present them
 * in file order.  Each starts with "NAME:LINE:". */
static void warnings_sort(char **w, const char *name) {
        size_t n = strv_length(w), skip = strlen(name) + 1;
        _cleanup_free_ WarnSort *t = NULL;

        if (n < 2)
                return;
        t = calloc(n, sizeof(*t));
        if (!t)
                return; /* unsorted is still correct */
        for (size_t i = 0; i < n; i++) {
                t[i].idx = i;
                t[i].text = w[i];
                t[i].line = strlen(w[i]) > skip ? strtoul(w[i] + skip, NULL, 10) : 0;
        }
        qsort(t, n, sizeof(*t), warn_sort_cmp);
        for (size_t i = 0; i < n; i++)
                w[i] = t[i].text;
}

int conf_parse_string(const char *name, const char *text, size_t len, Conf **ret) {
        _cleanup_(conf_freep) Conf *c = NULL;
        Pre pre = {};
        int r;

        if (!ret || (!text && len > 0))
                return -EINVAL;
        name = name ?: "stafd.conf";

        r = conf_new_default(&c);
        if (r < 0)
                return r;
        c->path = strdup(name);
        if (!c->path)
                return -ENOMEM;

        pre.name = name;
        pre.warnings = &c->warnings;
        pre.handle = conf_handle;
        pre.userdata = c;

        r = pre_split(&pre, text ?: "", len, conf_is_multi);
        if (r >= 0) {
                warn_unknown_sections(&pre, conf_section_lookup, SEC_UNKNOWN);
                r = ini_parse_stream(pre_reader, &pre, pre_ini_handler, &pre);
                r = (r == -2 || pre.oom) ? -ENOMEM : 0;
        }
        pre_done(&pre);
        if (r < 0)
                return r;
        warnings_sort(c->warnings, name);

        *ret = TAKE_PTR(c);
        return 0;
}

/* Read a whole (regular or not) file into a NUL-terminated buffer. */
static int read_full_file(const char *path, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n;

                if (cap - len < 4096) {
                        char *t;

                        if (cap >= CONF_FILE_MAX)
                                return -EFBIG;
                        cap = cap ? cap * 2 : 8192;
                        t = realloc(buf, cap + 1);
                        if (!t)
                                return -ENOMEM;
                        buf = t;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (!buf) {
                buf = strdup("");
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int conf_load(const char *path, Conf **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, &text, &len);
        if (r < 0)
                return r;
        return conf_parse_string(path, text, len, ret);
}

/* ----------------------------------------------------------------- sys.conf */

#define SYSCONF_NQN_DEFAULT "file:///etc/nvme/hostnqn"
#define SYSCONF_ID_DEFAULT "file:///etc/nvme/hostid"
#define SYSCONF_KEY_DEFAULT "file:///etc/nvme/hostkey"

static int sysconf_section_lookup(const char *name) {
        return strcasecmp(name, "Host") == 0 ? 0 : 1;
}

typedef struct SysParse {
        SysConf *s;
        unsigned nqn_line, id_line, key_line; /* 0: not in the file */
} SysParse;

static int sysconf_handle(Pre *pre, const Item *it, void *userdata) {
        SysParse *sp = userdata;
        SysConf *s = sp->s;
        char **dst = NULL;
        unsigned *line = NULL;

        if (sysconf_section_lookup(it->section) != 0)
                return 0;
        if (streq(it->key, "nqn"))
                dst = &s->hostnqn_source, line = &sp->nqn_line;
        else if (streq(it->key, "id"))
                dst = &s->hostid_source, line = &sp->id_line;
        else if (streq(it->key, "key"))
                dst = &s->hostkey_source, line = &sp->key_line;
        else if (streq(it->key, "symname"))
                dst = &s->symname;
        if (!dst) {
                _cleanup_free_ char *e = warn_escape(it->key);

                warn(pre->warnings, "%s:%u: [%s] unknown key '%s', ignored", pre->name, it->line,
                     it->section, strempty(e));
                return 0;
        }
        /* An empty value means "not set": the default source applies. */
        if (line)
                *line = isempty(it->value) ? 0 : it->line;
        return free_and_strdup(dst, isempty(it->value) ? NULL : it->value);
}

/* Resolve a sys.conf value: "file://PATH" -> first token of PATH's first line. */
static int sysconf_resolve(const char *source, char **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len, n;
        char *p;
        int r;

        if (strncmp(source, "file://", 7) != 0)
                return free_and_strdup(ret, source);

        r = read_full_file(source + 7, &text, &len);
        if (r < 0)
                return r;
        p = text;
        while (*p == ' ' || *p == '\t')
                p++;
        n = strcspn(p, " \t\r\n");
        if (n == 0)
                return -ENODATA;
        p[n] = '\0';
        return free_and_strdup(ret, p);
}

static bool hostnqn_valid(const char *nqn) {
        return nqn && strncmp(nqn, "nqn.", 4) == 0 && strlen(nqn) <= NVMF_NQN_MAX;
}

static int generate_uuid(char ret[static 37]) {
        _cleanup_free_ char *text = NULL;
        uint8_t b[16];
        size_t len;

        if (read_full_file("/proc/sys/kernel/random/uuid", &text, &len) >= 0 && len >= 36) {
                memcpy(ret, text, 36);
                ret[36] = '\0';
                return 0;
        }
        if (getrandom(b, sizeof(b), 0) != (ssize_t) sizeof(b))
                return -EIO;
        b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
        b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
        (void) snprintf(ret, 37,
                        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                        b[12], b[13], b[14], b[15]);
        return 0;
}

/* "sys.conf:3: [Host] nqn='file:///x'" or "sys.conf: [Host] nqn (default 'file:///x')" */
_printf_(5, 6)
static void sysconf_warn(SysConf *s, unsigned line, const char *key, const char *source, const char *fmt, ...) {
        _cleanup_free_ char *e = warn_escape(source), *what = NULL, *why = NULL;
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&why, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        if (line > 0)
                r = asprintf(&what, "%s:%u: [Host] %s='%s'", s->path, line, key, strempty(e));
        else
                r = asprintf(&what, "%s: [Host] %s (default '%s')", s->path, key, strempty(e));
        if (r < 0)
                return;
        warn(&s->warnings, "%s: %s", what, why);
}

static int sysconf_default(char **source, const char *def) {
        return *source ? 0 : free_and_strdup(source, def);
}

static int sysconf_finish(SysParse *sp) {
        SysConf *s = sp->s;
        char uuid[37];
        int r;

        if (sysconf_default(&s->hostnqn_source, SYSCONF_NQN_DEFAULT) < 0 ||
            sysconf_default(&s->hostid_source, SYSCONF_ID_DEFAULT) < 0 ||
            sysconf_default(&s->hostkey_source, SYSCONF_KEY_DEFAULT) < 0)
                return -ENOMEM;

        r = sysconf_resolve(s->hostnqn_source, &s->hostnqn);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !hostnqn_valid(s->hostnqn)) {
                _cleanup_free_ char *bad = r < 0 ? NULL : warn_escape(s->hostnqn);
                int q;

                q = generate_uuid(uuid);
                if (q < 0)
                        return q;
                free(s->hostnqn);
                if (asprintf(&s->hostnqn, "nqn.2014-08.org.nvmexpress:uuid:%s", uuid) < 0) {
                        s->hostnqn = NULL;
                        return -ENOMEM;
                }
                s->hostnqn_generated = true;
                if (r < 0)
                        sysconf_warn(s, sp->nqn_line, "nqn", s->hostnqn_source,
                                     "no host NQN found (%s), using generated %s", strerror(-r), s->hostnqn);
                else
                        sysconf_warn(s, sp->nqn_line, "nqn", s->hostnqn_source,
                                     "invalid host NQN '%s' (must start with 'nqn.' and be at most %d "
                                     "bytes), using generated %s", strempty(bad), NVMF_NQN_MAX, s->hostnqn);
        }

        r = sysconf_resolve(s->hostid_source, &s->hostid);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                sysconf_warn(s, sp->id_line, "id", s->hostid_source, "no host ID found (%s), none used",
                             strerror(-r));

        r = sysconf_resolve(s->hostkey_source, &s->hostkey);
        if (r == -ENOMEM)
                return r;
        /* The host key is optional: only complain when one was asked for. */
        if (r < 0 && sp->key_line > 0)
                sysconf_warn(s, sp->key_line, "key", s->hostkey_source, "no host key found (%s), none used",
                             strerror(-r));
        return 0;
}

int sysconf_parse_string(const char *name, const char *text, size_t len, SysConf **ret) {
        _cleanup_(sysconf_freep) SysConf *s = NULL;
        SysParse sp = {};
        Pre pre = {};
        int r;

        if (!ret || (!text && len > 0))
                return -EINVAL;
        name = name ?: "sys.conf";

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->path = strdup(name);
        if (!s->path)
                return -ENOMEM;
        sp.s = s;

        pre.name = name;
        pre.warnings = &s->warnings;
        pre.handle = sysconf_handle;
        pre.userdata = &sp;

        r = pre_split(&pre, text ?: "", len, NULL);
        if (r >= 0) {
                warn_unknown_sections(&pre, sysconf_section_lookup, 1);
                r = ini_parse_stream(pre_reader, &pre, pre_ini_handler, &pre);
                r = (r == -2 || pre.oom) ? -ENOMEM : 0;
        }
        pre_done(&pre);
        if (r < 0)
                return r;
        warnings_sort(s->warnings, name);

        r = sysconf_finish(&sp);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int sysconf_load(const char *path, SysConf **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, &text, &len);
        if (r == -ENOENT)
                return sysconf_parse_string(path, "", 0, ret);
        if (r < 0)
                return r;
        return sysconf_parse_string(path, text, len, ret);
}

SysConf *sysconf_free(SysConf *s) {
        if (!s)
                return NULL;
        free(s->path);
        free(s->hostnqn);
        free(s->hostid);
        free(s->hostkey);
        free(s->symname);
        free(s->hostnqn_source);
        free(s->hostid_source);
        free(s->hostkey_source);
        strv_free(s->warnings);
        free(s);
        return NULL;
}

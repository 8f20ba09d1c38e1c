/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stafd.conf and sys.conf parsing.
 *
 * What each key means, as tables (name, type, field, range, fallback):
 * conf_keys[] for stafd.conf, conn_opts_table[] for the connection options
 * (global and per controller), controller_str_keys[] for the strings of a
 * controller=/exclude= entry.  The text itself (lines, sections, comments,
 * continuations, warnings in file order; inih underneath) is conf-lines.c.
 * Files are read here: regular files only, never blocking.
 * See docs/configuration.md.
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

#include "conf.h"
#include "conf-lines.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"
#include "utf8.h"

#define CONF_FILE_MAX (16U * 1024U * 1024U)
#define DEFAULT_KATO 30
#define DEFAULT_ZC_PERSISTENCE_SEC (72 * 3600)

/* ---------------------------------------------------------------- helpers */

_printf_(2, 3) static void warn(char ***warnings, const char *fmt, ...) {
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
        _cleanup_free_ char *v = conf_escape(value);

        warn(warnings, "%s:%u: [%s] %s='%s': %s, %s", file, line, section, key, strempty(v), why, action);
}

/* Python configparser's getboolean(): 1/yes/true/on, 0/no/false/off. */
static int parse_bool(const char *v) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

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
        { "s", 1 },          { "sec", 1 },     { "secs", 1 },     { "second", 1 },  { "seconds", 1 },
        { "m", 60 },         { "min", 60 },    { "mins", 60 },    { "minute", 60 }, { "minutes", 60 },
        { "h", 3600 },       { "hr", 3600 },   { "hrs", 3600 },   { "hour", 3600 }, { "hours", 3600 },
        { "d", 86400 },      { "day", 86400 }, { "days", 86400 }, { "w", 604800 },  { "week", 604800 },
        { "weeks", 604800 },
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

/* The string fields of a controller=/exclude= entry.  Aliases come after the
 * key they stand for and are skipped where a field is visited once. */
static const struct {
        const char *key;
        size_t offset;
        bool alias;
} controller_str_keys[] = {
        { "transport", offsetof(ConfController, transport), false },
        { "traddr", offsetof(ConfController, traddr), false },
        { "trsvcid", offsetof(ConfController, trsvcid), false },
        { "nqn", offsetof(ConfController, nqn), false },
        { "subsysnqn", offsetof(ConfController, nqn), true },
        { "host-traddr", offsetof(ConfController, host_traddr), false },
        { "host-iface", offsetof(ConfController, host_iface), false },
        { "host-nqn", offsetof(ConfController, host_nqn), false },
        { "dhchap-secret", offsetof(ConfController, dhchap_secret), false },
        { "dhchap-ctrl-secret", offsetof(ConfController, dhchap_ctrl_secret), false },
};

static char **controller_str_field(ConfController *c, size_t i) {
        return (char **) ((char *) c + controller_str_keys[i].offset);
}

static char **controller_str_lookup(ConfController *c, const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(controller_str_keys); i++)
                if (streq(key, controller_str_keys[i].key))
                        return controller_str_field(c, i);
        return NULL;
}

void conf_controller_done(ConfController *c) {
        if (!c)
                return;
        for (size_t i = 0; i < ELEMENTSOF(controller_str_keys); i++)
                if (!controller_str_keys[i].alias)
                        free(*controller_str_field(c, i));
        memset(c, 0, sizeof(*c));
}

static void conn_opts_unset(ConfConnOpts *o) {
        *o = (ConfConnOpts){
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

        for (size_t i = 0; i < ELEMENTSOF(controller_str_keys); i++) {
                const char *from = *controller_str_field((ConfController *) src, i);

                if (controller_str_keys[i].alias || !from)
                        continue;
                if (free_and_strdup(controller_str_field(&c, i), from) < 0) {
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
        { "hdr-digest", OPT_BOOL, offsetof(ConfConnOpts, hdr_digest) },
        { "data-digest", OPT_BOOL, offsetof(ConfConnOpts, data_digest) },
        { "kato", OPT_KATO, offsetof(ConfConnOpts, kato) },
        { "queue-size", OPT_QUEUE_SIZE, offsetof(ConfConnOpts, queue_size) },
        { "reconnect-delay", OPT_RECONNECT_DELAY, offsetof(ConfConnOpts, reconnect_delay) },
        { "ctrl-loss-tmo", OPT_CTRL_LOSS_TMO, offsetof(ConfConnOpts, ctrl_loss_tmo) },
        { "disable-sqflow", OPT_BOOL, offsetof(ConfConnOpts, disable_sqflow) },
};

/* Look key up among the connection options: its table index, or -ENOENT. */
static int conn_opt_lookup(const char *key) {
        for (size_t i = 0; i < ELEMENTSOF(conn_opts_table); i++)
                if (streq(key, conn_opts_table[i].key))
                        return (int) i;
        return -ENOENT;
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

                field = conf_strip(field);
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
                k = conf_strip(field);
                if (strncasecmp(k, "dhchap-", 7) == 0)
                        fprintf(f, "%s=<redacted>", k);
                else
                        fprintf(f, "%s=%s", k, conf_strip(eq + 1));
        }
        if (fclose(f) != 0)
                return NULL;
        return TAKE_PTR(out);
}

static void warn_controller(char ***warnings, const char *file, unsigned line, const char *key,
                            const char *s, const char *why) {
        _cleanup_free_ char *r = controller_redacted(s), *e = NULL;

        e = conf_escape(strempty(r));
        warn(warnings, "%s:%u: [Controllers] %s='%s': %s, entry ignored", file, line, key, strempty(e), why);
}

int conf_parse_controller(const char *s, ConfController *ret, char ***warnings, const char *file,
                          unsigned line, const char *key) {
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

        /* Everything here may reach D-Bus, which carries UTF-8 only: a
         * value that is not is refused where it enters. */
        if (!utf8_is_valid(s)) {
                warn_controller(warnings, file, line, key, s, "not valid UTF-8");
                return -EINVAL;
        }
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        conn_opts_unset(&c.opts);
        c.line = line;

        for (p = copy; (field = strsep(&p, ";"));) {
                char *eq, *k, *v, **dst = NULL;
                int idx;

                field = conf_strip(field);
                if (*field == '\0')
                        continue;
                eq = strchr(field, '=');
                if (!eq) {
                        _cleanup_free_ char *f = conf_escape(field);

                        warn(&fw, "%s:%u: [Controllers] %s: field '%s' has no '=', ignored", file, line, key,
                             strempty(f));
                        continue;
                }
                *eq = '\0';
                k = conf_strip(field);
                v = conf_strip(eq + 1);
                conf_ascii_lower(k);

                dst = controller_str_lookup(&c, k);
                if (dst) {
                        /* "key=" with nothing after it means "not given". */
                        if (*v == '\0') {
                                free(*dst);
                                *dst = NULL;
                                continue;
                        }
                        if (dst == &c.transport) {
                                conf_ascii_lower(v);
                                if (!streq(v, "tcp") && !streq(v, "rdma") && !streq(v, "fc") &&
                                    !streq(v, "loop")) {
                                        _cleanup_free_ char *e = conf_escape(v);

                                        warn(warnings,
                                             "%s:%u: [Controllers] %s: transport='%s': "
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
                                _cleanup_free_ char *e = conf_escape(v);

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
                        _cleanup_free_ char *e = conf_escape(k);

                        warn(&fw, "%s:%u: [Controllers] %s: unknown key '%s', ignored", file, line, key,
                             strempty(e));
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

/* --------------------------------------------------------------- stafd.conf */

enum {
        SEC_GLOBAL,
        SEC_SERVICE_DISCOVERY,
        SEC_DCCM,
        SEC_CONTROLLERS,
        SEC_UNKNOWN,
};

static const char *const conf_sections[] = {
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

static bool conf_section_known(const char *name) {
        return conf_section_lookup(name) != SEC_UNKNOWN;
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
        c->max_referrals_per_dc = CONF_MAX_REFERRALS_PER_DC_DEFAULT;
        c->max_dcs = CONF_MAX_DCS_DEFAULT;
}

typedef enum KeyType {
        KEY_BOOL, /* bool: true/false, yes/no, on/off, 1/0 */
        KEY_ENABLED, /* bool: enabled/disabled (or a boolean word) */
        KEY_IP_FAMILY, /* unsigned IP_FAMILY_* mask */
        KEY_CONN_OPT, /* int of ConfConnOpts, parsed by conn_opts_table */
        KEY_TIMESPAN, /* int64_t seconds, -1 = never, clamped to max */
        KEY_UNSIGNED, /* unsigned within min..max */
        KEY_ENTRY, /* controller= / exclude= (repeatable) */
} KeyType;

/* Every stafd.conf key: where it lives, how it is read, and what a bad value
 * falls back to (the value conf_defaults() gives the field). */
static const struct ConfKey {
        int section;
        const char *name;
        KeyType type;
        size_t offset; /* of the field in Conf */
        int64_t min, max; /* KEY_UNSIGNED; max also for KEY_TIMESPAN */
        const char *fallback; /* end of the warning for a bad value */
} conf_keys[] = {
        { SEC_GLOBAL, "tron", KEY_BOOL, offsetof(Conf, tron), .fallback = "using default false" },
        { SEC_GLOBAL, "hdr-digest", KEY_CONN_OPT, offsetof(Conf, conn.hdr_digest),
          .fallback = "using default false" },
        { SEC_GLOBAL, "data-digest", KEY_CONN_OPT, offsetof(Conf, conn.data_digest),
          .fallback = "using default false" },
        { SEC_GLOBAL, "kato", KEY_CONN_OPT, offsetof(Conf, conn.kato), .fallback = "using default 30" },
        { SEC_GLOBAL, "queue-size", KEY_CONN_OPT, offsetof(Conf, conn.queue_size),
          .fallback = "using the driver default" },
        { SEC_GLOBAL, "reconnect-delay", KEY_CONN_OPT, offsetof(Conf, conn.reconnect_delay),
          .fallback = "using the driver default" },
        { SEC_GLOBAL, "ctrl-loss-tmo", KEY_CONN_OPT, offsetof(Conf, conn.ctrl_loss_tmo),
          .fallback = "using the driver default" },
        { SEC_GLOBAL, "disable-sqflow", KEY_CONN_OPT, offsetof(Conf, conn.disable_sqflow),
          .fallback = "using the driver default" },
        { SEC_GLOBAL, "ignore-iface", KEY_BOOL, offsetof(Conf, ignore_iface),
          .fallback = "using default false" },
        { SEC_GLOBAL, "ip-family", KEY_IP_FAMILY, offsetof(Conf, ip_family),
          .fallback = "using default ipv4+ipv6" },
        { SEC_GLOBAL, "pleo", KEY_ENABLED, offsetof(Conf, pleo), .fallback = "using default enabled" },
        { SEC_SERVICE_DISCOVERY, "zeroconf", KEY_ENABLED, offsetof(Conf, zeroconf),
          .fallback = "using default enabled" },
        { SEC_DCCM, "persistent-connections", KEY_BOOL, offsetof(Conf, persistent_connections),
          .fallback = "using default true" },
        { SEC_DCCM, "zeroconf-connections-persistence", KEY_TIMESPAN,
          offsetof(Conf, zeroconf_persistence_sec), .max = CONF_TIMESPAN_MAX_SEC,
          .fallback = "using default 72 hours" },
        { SEC_DCCM, "max-referrals-per-dc", KEY_UNSIGNED, offsetof(Conf, max_referrals_per_dc), .min = 0,
          .max = CONF_MAX_REFERRALS_PER_DC_MAX, .fallback = "using default 64" },
        { SEC_DCCM, "max-dcs", KEY_UNSIGNED, offsetof(Conf, max_dcs), .min = 1, .max = CONF_MAX_DCS_MAX,
          .fallback = "using default 512" },
        { SEC_CONTROLLERS, "controller", KEY_ENTRY, 0, .fallback = NULL },
        { SEC_CONTROLLERS, "exclude", KEY_ENTRY, 0, .fallback = NULL },
};

static const struct ConfKey *conf_key_lookup(int section, const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(conf_keys); i++)
                if (conf_keys[i].section == section && streq(conf_keys[i].name, name))
                        return &conf_keys[i];
        return NULL;
}

static size_t conf_key_size(KeyType t) {
        switch (t) {
        case KEY_BOOL:
        case KEY_ENABLED:
                return sizeof(bool);
        case KEY_IP_FAMILY:
        case KEY_UNSIGNED:
                return sizeof(unsigned);
        case KEY_CONN_OPT:
                return sizeof(int);
        case KEY_TIMESPAN:
                return sizeof(int64_t);
        default:
                return 0;
        }
}

/* Store v into the field at dst.  0, or -EINVAL with *why set (the field is
 * then untouched). */
static int conf_key_parse(const struct ConfKey *k, const char *v, void *dst, const char **why, char *buf,
                          size_t size) {
        int64_t t;
        int r, n;

        switch (k->type) {
        case KEY_BOOL:
        case KEY_ENABLED:
                r = k->type == KEY_BOOL ? parse_bool(v) : parse_enabled(v);
                if (r < 0) {
                        *why = k->type == KEY_BOOL ? "not a boolean (true/false, yes/no, on/off, 1/0)"
                                                   : "not enabled/disabled";
                        return -EINVAL;
                }
                *(bool *) dst = r;
                return 0;
        case KEY_IP_FAMILY:
                if (parse_ip_family(v, dst) < 0) {
                        *why = "not one of ipv4, ipv6, ipv4+ipv6, ipv6+ipv4";
                        return -EINVAL;
                }
                return 0;
        case KEY_CONN_OPT:
                r = conn_opt_parse(conn_opt_lookup(k->name), v, &n, why);
                if (r < 0)
                        return r;
                *(int *) dst = n;
                return 0;
        case KEY_TIMESPAN:
                if (timespan_parse(v, &t) < 0) {
                        *why = "not a time span (e.g. 3600, 72hours, 1d 12h, 1:30:00, -1)";
                        return -EINVAL;
                }
                *(int64_t *) dst = t;
                return 0;
        case KEY_UNSIGNED:
                r = parse_int(v, &n);
                if (r < 0) {
                        *why = r == -ERANGE ? "number out of range" : "not a number";
                        return -EINVAL;
                }
                if (n < k->min || n > k->max) {
                        (void) snprintf(buf, size, "must be within %" PRId64 "..%" PRId64, k->min, k->max);
                        *why = buf;
                        return -EINVAL;
                }
                *(unsigned *) dst = (unsigned) n;
                return 0;
        default:
                return -EINVAL;
        }
}

static int conf_add_entry(ConfController **arr, size_t *n, ConfController *c) {
        if (array_grow(arr, *n, sizeof(ConfController)) < 0)
                return -ENOMEM;
        (*arr)[(*n)++] = *c;
        return 0;
}

static int conf_handle_entry(ConfLines *pre, const ConfItem *it, Conf *c) {
        bool is_ctrl = streq(it->key, "controller");
        ConfController e;
        int r;

        r = conf_parse_controller(it->value, &e, pre->warnings, pre->name, it->line, it->key);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        if (is_ctrl && (!e.transport || !e.traddr)) {
                warn_controller(pre->warnings, pre->name, it->line, it->key, it->value,
                                !e.transport && !e.traddr ? "no transport and no traddr"
                                : !e.transport            ? "no transport"
                                                          : "no traddr");
                conf_controller_done(&e);
                return 0;
        }
        r = is_ctrl ? conf_add_entry(&c->controllers, &c->n_controllers, &e)
                    : conf_add_entry(&c->excludes, &c->n_excludes, &e);
        if (r < 0)
                conf_controller_done(&e);
        return r;
}

static int conf_handle(ConfLines *pre, const ConfItem *it, void *userdata) {
        Conf *c = userdata;
        int s = conf_section_lookup(it->section);
        const struct ConfKey *k;
        const char *why = NULL;
        char buf[64];
        void *dst;

        if (s == SEC_UNKNOWN)
                return 0; /* warned about once, at its header */
        k = conf_key_lookup(s, it->key);
        if (!k) {
                _cleanup_free_ char *e = conf_escape(it->key);

                warn(pre->warnings, "%s:%u: [%s] unknown key '%s', ignored", pre->name, it->line,
                     it->section, strempty(e));
                return 0;
        }
        if (k->type == KEY_ENTRY)
                return conf_handle_entry(pre, it, c);

        dst = (char *) c + k->offset;
        if (conf_key_parse(k, it->value, dst, &why, buf, sizeof(buf)) < 0) {
                Conf d = {};

                warn_value(pre->warnings, pre->name, it->line, it->section, it->key, it->value, why,
                           k->fallback);
                conf_defaults(&d);
                memcpy(dst, (const char *) &d + k->offset, conf_key_size(k->type));
                return 0;
        }
        if (k->type == KEY_TIMESPAN && *(int64_t *) dst > k->max) {
                /* Far beyond any useful period, and times in microseconds
                 * must not overflow: clamp, and say so. */
                (void) snprintf(buf, sizeof(buf), "using the maximum %" PRId64 " seconds", k->max);
                warn_value(pre->warnings, pre->name, it->line, it->section, it->key, it->value,
                           "longer than the maximum", buf);
                *(int64_t *) dst = k->max;
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

int conf_parse_string(const char *name, const char *text, size_t len, Conf **ret) {
        _cleanup_(conf_freep) Conf *c = NULL;
        ConfLines pre = {};
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
        pre.section_known = conf_section_known;
        pre.is_multi = conf_is_multi;
        pre.handle = conf_handle;
        pre.userdata = c;

        r = conf_lines_parse(&pre, text, len);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

/* Regular files only, never blocking (lib/fileio). */
static int read_full_file(const char *path, char **ret, size_t *ret_len) {
        return read_regular_file_at(AT_FDCWD, path, 0, CONF_FILE_MAX, ret, ret_len);
}

const char *conf_strerror(int error) {
        switch (error) {
        case -EBADFD:
                return "not a regular file (a FIFO, device or socket is never read)";
        case -EFBIG:
                return "file too large";
        case -EILSEQ:
                return "not valid UTF-8";
        default:
                return strerror(error < 0 ? -error : error);
        }
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

static bool sysconf_section_known(const char *name) {
        return strcasecmp(name, "Host") == 0;
}

typedef struct SysParse {
        SysConf *s;
        unsigned nqn_line, id_line, key_line, symname_line; /* 0: not in the file */
} SysParse;

static int sysconf_handle(ConfLines *pre, const ConfItem *it, void *userdata) {
        SysParse *sp = userdata;
        SysConf *s = sp->s;
        char **dst = NULL;
        unsigned *line = NULL;

        if (!sysconf_section_known(it->section))
                return 0;
        if (streq(it->key, "nqn"))
                dst = &s->hostnqn_source, line = &sp->nqn_line;
        else if (streq(it->key, "id"))
                dst = &s->hostid_source, line = &sp->id_line;
        else if (streq(it->key, "key"))
                dst = &s->hostkey_source, line = &sp->key_line;
        else if (streq(it->key, "symname"))
                dst = &s->symname, line = &sp->symname_line;
        if (!dst) {
                _cleanup_free_ char *e = conf_escape(it->key);

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

        if (strncmp(source, "file://", 7) != 0) {
                if (!utf8_is_valid(source))
                        return -EILSEQ;
                return free_and_strdup(ret, source);
        }

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
        if (!utf8_is_valid(p))
                return -EILSEQ; /* it may reach D-Bus, which carries UTF-8 only */
        return free_and_strdup(ret, p);
}

static bool hostnqn_valid(const char *nqn) {
        return nqn && strncmp(nqn, "nqn.", 4) == 0 && strlen(nqn) <= NVMF_NQN_MAX && utf8_is_valid(nqn);
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
        (void) snprintf(ret, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                        b[13], b[14], b[15]);
        return 0;
}

/* "sys.conf:3: [Host] nqn='file:///x'" or "sys.conf: [Host] nqn (default 'file:///x')" */
_printf_(5, 6) static void sysconf_warn(SysConf *s, unsigned line, const char *key, const char *source,
                                        const char *fmt, ...) {
        _cleanup_free_ char *e = conf_escape(source), *what = NULL, *why = NULL;
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

static int sysconf_finish(SysParse *sp, const char *fallback_uuid) {
        SysConf *s = sp->s;
        char uuid[37];
        const char *how;
        int r;

        if (sysconf_default(&s->hostnqn_source, SYSCONF_NQN_DEFAULT) < 0 ||
            sysconf_default(&s->hostid_source, SYSCONF_ID_DEFAULT) < 0 ||
            sysconf_default(&s->hostkey_source, SYSCONF_KEY_DEFAULT) < 0)
                return -ENOMEM;

        r = sysconf_resolve(s->hostnqn_source, &s->hostnqn);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !hostnqn_valid(s->hostnqn)) {
                _cleanup_free_ char *bad = r < 0 ? NULL : conf_escape(s->hostnqn);
                int q;

                /* Stable across restarts when the caller gave us a UUID
                 * (the daemon derives one from the machine id): a new NQN
                 * at every start would leave connections behind. */
                if (fallback_uuid && strlen(fallback_uuid) == 36) {
                        memcpy(uuid, fallback_uuid, 37);
                        how = "derived from the machine id";
                        s->hostnqn_stable = true;
                } else {
                        q = generate_uuid(uuid);
                        if (q < 0)
                                return q;
                        how = "random, new at every start";
                }
                free(s->hostnqn);
                if (asprintf(&s->hostnqn, "nqn.2014-08.org.nvmexpress:uuid:%s", uuid) < 0) {
                        s->hostnqn = NULL;
                        return -ENOMEM;
                }
                s->hostnqn_generated = true;
                if (r < 0)
                        sysconf_warn(s, sp->nqn_line, "nqn", s->hostnqn_source,
                                     "no host NQN found (%s), using generated %s (%s)", conf_strerror(r),
                                     s->hostnqn, how);
                else
                        sysconf_warn(s, sp->nqn_line, "nqn", s->hostnqn_source,
                                     "invalid host NQN '%s' (must start with 'nqn.' and be at most %d "
                                     "bytes), using generated %s (%s)",
                                     strempty(bad), NVMF_NQN_MAX, s->hostnqn, how);
        }

        if (!utf8_is_valid(s->symname)) {
                sysconf_warn(s, sp->symname_line, "symname", s->symname, "not valid UTF-8, none used");
                s->symname = mfree(s->symname);
        }

        r = sysconf_resolve(s->hostid_source, &s->hostid);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                sysconf_warn(s, sp->id_line, "id", s->hostid_source, "no host ID found (%s), none used",
                             conf_strerror(r));

        r = sysconf_resolve(s->hostkey_source, &s->hostkey);
        if (r == -ENOMEM)
                return r;
        /* The host key is optional: only complain when one was asked for. */
        if (r < 0 && sp->key_line > 0)
                sysconf_warn(s, sp->key_line, "key", s->hostkey_source, "no host key found (%s), none used",
                             conf_strerror(r));
        return 0;
}

int sysconf_parse_string(const char *name, const char *text, size_t len, SysConf **ret) {
        return sysconf_parse_string_full(name, text, len, NULL, ret);
}

int sysconf_parse_string_full(const char *name, const char *text, size_t len, const char *fallback_uuid,
                              SysConf **ret) {
        _cleanup_(sysconf_freep) SysConf *s = NULL;
        SysParse sp = {};
        ConfLines pre = {};
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
        pre.section_known = sysconf_section_known;
        pre.handle = sysconf_handle;
        pre.userdata = &sp;

        r = conf_lines_parse(&pre, text, len);
        if (r < 0)
                return r;

        r = sysconf_finish(&sp, fallback_uuid);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

int sysconf_load(const char *path, SysConf **ret) {
        return sysconf_load_full(path, NULL, ret);
}

int sysconf_load_full(const char *path, const char *fallback_uuid, SysConf **ret) {
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        if (!path || !ret)
                return -EINVAL;
        r = read_full_file(path, &text, &len);
        if (r == -ENOENT)
                return sysconf_parse_string_full(path, "", 0, fallback_uuid, ret);
        if (r < 0)
                return r;
        return sysconf_parse_string_full(path, text, len, fallback_uuid, ret);
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

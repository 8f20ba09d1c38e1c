/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * stafd.conf and sys.conf -> plain structs.  Semantics follow the Python
 * stafd parser (see docs/configuration.md and shared spec section 2).
 * Nothing here logs: every problem becomes one human-readable line appended
 * to the warnings vector, naming file, line, section, key and value.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "macro.h"

#define DISC_NQN "nqn.2014-08.org.nvmexpress.discovery"
#define NVMF_NQN_MAX 223

/* The longest time span a key accepts (longer values are clamped, with a
 * warning): 100 years, so that seconds * USEC_PER_SEC, even added to a
 * CLOCK_MONOTONIC time, stays far from overflowing 64 bits. */
#define CONF_TIMESPAN_MAX_SEC ((int64_t) 100 * 365 * 24 * 3600)

#define CONF_MAX_REFERRALS_PER_DC_DEFAULT 64U
#define CONF_MAX_REFERRALS_PER_DC_MAX 16384U
#define CONF_MAX_DCS_DEFAULT 512U
#define CONF_MAX_DCS_MAX 1000000U

/* Tri-state for options whose default is "whatever the driver says". */
#define CONF_UNSET (-2)

enum {
        IP_FAMILY_V4 = 1 << 0,
        IP_FAMILY_V6 = 1 << 1,
};

/* Connection parameters: global in [Global], per-DC overrides on controller=.
 * Any field may be CONF_UNSET (for per-DC: inherit; for global: driver default,
 * except kato whose global default is 30). */
typedef struct ConfConnOpts {
        int hdr_digest; /* 0/1 or CONF_UNSET */
        int data_digest; /* 0/1 or CONF_UNSET */
        int kato; /* seconds >= 0 or CONF_UNSET */
        int queue_size; /* 16..1024 or CONF_UNSET */
        int reconnect_delay; /* seconds >= 1 or CONF_UNSET */
        int ctrl_loss_tmo; /* -1 or seconds >= 0, or CONF_UNSET */
        int disable_sqflow; /* 0/1 or CONF_UNSET */
} ConfConnOpts;

/* One controller= or exclude= entry as parsed.  Strings are NULL when the
 * key was not given (defaults are applied later, by tid). */
typedef struct ConfController {
        char *transport;
        char *traddr;
        char *trsvcid;
        char *nqn;
        char *host_traddr;
        char *host_iface;
        char *host_nqn;
        char *dhchap_secret;
        char *dhchap_ctrl_secret;
        ConfConnOpts opts;
        unsigned line; /* line number in the file (0 if not from a file) */
} ConfController;

typedef struct Conf {
        char *path;

        /* [Global] */
        bool tron;
        ConfConnOpts conn; /* conn.kato defaults to 30 */
        bool ignore_iface;
        unsigned ip_family; /* IP_FAMILY_* bitmask, default both */
        bool pleo; /* default true */

        /* [Service Discovery] */
        bool zeroconf; /* default true */

        /* [Discovery controller connection management] */
        bool persistent_connections; /* default true */
        int64_t zeroconf_persistence_sec; /* default 72h; -1 = never; <= CONF_TIMESPAN_MAX_SEC */
        unsigned max_referrals_per_dc; /* default 64, 0..16384 (0 = follow none) */
        unsigned max_dcs; /* default 512, 1..1000000: all DCs; referral and
                                               * mDNS ones only while below it */

        /* [Controllers] */
        ConfController *controllers;
        size_t n_controllers;
        ConfController *excludes;
        size_t n_excludes;

        char **warnings; /* NULL-terminated; one line each, in file order */
} Conf;

typedef struct SysConf {
        char *path;
        char *hostnqn; /* effective value; never NULL after sysconf_load */
        char *hostid; /* effective value or NULL */
        char *hostkey; /* effective value or NULL */
        char *symname; /* or NULL */
        char *hostnqn_source; /* what the file said, e.g. "file:///etc/nvme/hostnqn" */
        char *hostid_source;
        char *hostkey_source;
        bool hostnqn_generated; /* no usable NQN found: a uuid one was made up */
        bool hostnqn_stable; /* ... from the caller's fallback UUID, not at random */
        char **warnings;
} SysConf;

/* Defaults only (what a missing file means). */
int conf_new_default(Conf **ret);

/* Parse a file.  -ENOENT/-EACCES/... if it cannot be opened: *ret unset.
 * Any content problem is a warning, never an error. */
int conf_load(const char *path, Conf **ret);

/* Only regular files are read (opened non-blocking, checked with fstat
 * first): a directory gives -EISDIR, a FIFO, device or socket -EBADFD, more
 * than 16 MiB -EFBIG.  conf_strerror() words these for a message. */
const char *conf_strerror(int error);

/* Parse text (for tests and fuzzing); name is used in warnings. */
int conf_parse_string(const char *name, const char *text, size_t len, Conf **ret);

Conf *conf_free(Conf *c);

/* Parse one "k=v;k=v" controller string (also used for exclude=).
 * Keys are case-insensitive, keys and values trimmed, split on the first '='
 * only; empty fields are skipped; "key=" with an empty value = not given;
 * "subsysnqn" is accepted as an alias of "nqn"; transport is lower-cased.
 * Unknown keys and bad per-DC option values are warnings appended to
 * *warnings (may be NULL) and the entry is kept (a bad option = inherit).
 * Returns 0, or -EINVAL (exactly one warning, *ret untouched) if the string
 * holds no usable key at all or its transport is not tcp/rdma/fc/loop.
 * Required keys (transport, traddr for controller=) are checked by the
 * caller; file/key may be NULL. */
int conf_parse_controller(const char *s, ConfController *ret, char ***warnings, const char *file,
                          unsigned line, const char *key);
void conf_controller_done(ConfController *c);
int conf_controller_copy(ConfController *dst, const ConfController *src);

/* sys.conf.  A missing file is not an error (defaults apply). -errno only
 * if the file exists but cannot be read. */
int sysconf_load(const char *path, SysConf **ret);
int sysconf_parse_string(const char *name, const char *text, size_t len, SysConf **ret);
/* The same, with the UUID ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx") of the
 * host NQN to use when none is configured, so that it is the same at every
 * start (the daemon derives it from the machine id; lib/ does not call
 * libsystemd).  NULL: a random one, with a warning saying so. */
int sysconf_load_full(const char *path, const char *fallback_uuid, SysConf **ret);
int sysconf_parse_string_full(const char *name, const char *text, size_t len, const char *fallback_uuid,
                              SysConf **ret);
SysConf *sysconf_free(SysConf *s);

/* Time spans: "3600" (plain number = seconds), "-1" (never: *ret = -1), "0",
 * "72hours", "3 days 5 hours", "1d12h", "1h, 30min", "90m", with units
 * s/sec(s)/second(s), m/min(s)/minute(s), h/hr(s)/hour(s), d/day(s),
 * w/week(s), case-insensitive; a number without unit inside a combination is
 * seconds.  Clock forms: "1:30:00" = h:m:s, "30:00" = m:s (30 minutes); the
 * fields after the first must be < 60.  Rejected: other negative values,
 * fractions, unknown units, junk, int64 overflow.  Returns 0 or -EINVAL
 * (*ret_sec untouched on error). */
int timespan_parse(const char *s, int64_t *ret_sec);

DEFINE_TRIVIAL_CLEANUP_FUNC(Conf *, conf_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(SysConf *, sysconf_free);

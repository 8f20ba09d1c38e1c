/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The TP8009 TXT record parser of _nvme-disc services: one raw entry at a
 * time in, transport and subsystem NQN out.  Pure (no Avahi types), so it is
 * unit-tested and fuzzed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "zeroconf-txt.h"

void zeroconf_txt_init(ZeroconfTxt *t) {
        *t = (ZeroconfTxt){};
}

void zeroconf_txt_done(ZeroconfTxt *t) {
        free(t->subsysnqn);
        zeroconf_txt_init(t);
}

static bool printable(const unsigned char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] > 0x7e)
                        return false;
        return true;
}

static bool key_is(const char *key, size_t klen, const char *name) {
        return klen == strlen(name) && strncasecmp(key, name, klen) == 0;
}

static bool value_is(const char *v, size_t vlen, const char *name) {
        return key_is(v, vlen, name);
}

int zeroconf_txt_add(ZeroconfTxt *t, const void *entry, size_t len) {
        const char *s = entry, *eq, *v;
        size_t klen, vlen;

        if (!s || len == 0)
                return ZEROCONF_TXT_SKIPPED;
        if (!printable(entry, len))
                return ZEROCONF_TXT_NONPRINTABLE;

        eq = memchr(s, '=', len);
        klen = eq ? (size_t) (eq - s) : len;
        if (klen == 0)
                return ZEROCONF_TXT_SKIPPED; /* RFC 6763 6.4: no key, ignore */
        v = eq ? eq + 1 : NULL;
        vlen = eq ? len - klen - 1 : 0;

        if (key_is(s, klen, "p")) {
                if (t->have_protocol)
                        return ZEROCONF_TXT_SKIPPED;
                t->have_protocol = true;
                if (v) {
                        size_t n = vlen < ZEROCONF_TXT_PROTO_MAX ? vlen : ZEROCONF_TXT_PROTO_MAX;

                        memcpy(t->protocol, v, n);
                        t->protocol[n] = 0;
                }
                if (!v)
                        t->transport = NULL;
                else if (value_is(v, vlen, "tcp"))
                        t->transport = "tcp";
                else if (value_is(v, vlen, "roce") || value_is(v, vlen, "iwarp") ||
                         value_is(v, vlen, "rdma"))
                        t->transport = "rdma";
                else
                        t->transport = NULL;
                return ZEROCONF_TXT_USED;
        }

        if (key_is(s, klen, "nqn")) {
                char *n;

                if (t->subsysnqn)
                        return ZEROCONF_TXT_SKIPPED;
                if (!v || vlen == 0 || vlen > ZEROCONF_NQN_MAX)
                        return ZEROCONF_TXT_BAD_NQN;
                n = strndup(v, vlen);
                if (!n)
                        return -ENOMEM;
                t->subsysnqn = n;
                return ZEROCONF_TXT_USED;
        }

        return ZEROCONF_TXT_SKIPPED;
}

int zeroconf_txt_finish(ZeroconfTxt *t) {
        if (!t->have_protocol)
                return -ENOENT;
        if (!t->transport)
                return -EPROTONOSUPPORT;
        if (!t->subsysnqn) {
                t->subsysnqn = strdup(DISC_NQN);
                if (!t->subsysnqn)
                        return -ENOMEM;
        }
        return 0;
}

const char *zeroconf_txt_entry_to_string(ZeroconfTxtEntry e) {
        switch (e) {
        case ZEROCONF_TXT_USED:
                return "used";
        case ZEROCONF_TXT_SKIPPED:
                return "skipped";
        case ZEROCONF_TXT_NONPRINTABLE:
                return "non-printable bytes";
        case ZEROCONF_TXT_BAD_NQN:
                return "empty or over-long nqn";
        }
        return "unknown";
}

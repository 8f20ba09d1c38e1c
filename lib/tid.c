/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Transport identifier: normalisation, comparison, printable form.
 *
 * Decisions (see tid.h):
 * - traddr / host_traddr that parse as IP literals are stored in canonical
 *   form (inet_ntop spelling; IPv4-mapped IPv6 becomes IPv4).  A "%scope"
 *   suffix on an IPv6 literal is kept, lower-cased, and compared as a
 *   string: "fe80::1%eth0" and "fe80::1%2" are different TIDs even when
 *   interface 2 is eth0 (resolving names to indexes would need the host's
 *   interface table, which lib/ does not read).
 * - traddr that is not an IP literal (host name, FC "nn-0x..:pn-0x..") is
 *   lower-cased: DNS names and FC WWNs (hex) are case-insensitive.
 * - transport is lower-cased; all other fields are compared exactly.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "tid.h"

const char *const tid_field_names[TID_N_FIELDS] = {
        "transport", "traddr", "trsvcid", "subsysnqn", "host-traddr", "host-iface", "host-nqn",
};

char **tid_field(Tid *t, unsigned i) {
        switch (i) {
        case 0:
                return &t->transport;
        case 1:
                return &t->traddr;
        case 2:
                return &t->trsvcid;
        case 3:
                return &t->subsysnqn;
        case 4:
                return &t->host_traddr;
        case 5:
                return &t->host_iface;
        case 6:
                return &t->host_nqn;
        default:
                return NULL;
        }
}

const char *tid_field_const(const Tid *t, unsigned i) {
        char **p = tid_field((Tid *) t, i);

        return p ? strempty(*p) : "";
}

int ip_canonical(const char *s, char *buf, size_t size) {
        char addr[INET6_ADDRSTRLEN + 1], out[INET6_ADDRSTRLEN];
        const char *pct, *scope = NULL;
        unsigned char bin[sizeof(struct in6_addr)];
        size_t alen;
        int r;

        if (isempty(s))
                return -EINVAL;

        pct = strchr(s, '%');
        alen = pct ? (size_t) (pct - s) : strlen(s);
        if (alen == 0 || alen >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s, alen);
        addr[alen] = 0;
        if (pct) {
                scope = pct + 1;
                if (!*scope)
                        return -EINVAL;
        }

        if (inet_pton(AF_INET, addr, bin) == 1) {
                if (scope)
                        return -EINVAL; /* no scope ids for IPv4 */
                if (!inet_ntop(AF_INET, bin, out, sizeof(out)))
                        return -EINVAL;
        } else if (inet_pton(AF_INET6, addr, bin) == 1) {
                if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *) bin)) {
                        if (scope)
                                return -EINVAL;
                        if (!inet_ntop(AF_INET, bin + 12, out, sizeof(out)))
                                return -EINVAL;
                } else if (!inet_ntop(AF_INET6, bin, out, sizeof(out)))
                        return -EINVAL;
        } else
                return -EINVAL;

        if (scope) {
                size_t n = strlen(out), m = strlen(scope);

                if (n + 1 + m + 1 > size)
                        return -ENOBUFS;
                memcpy(buf, out, n);
                buf[n] = '%';
                for (size_t i = 0; i < m; i++)
                        buf[n + 1 + i] = (char) tolower((unsigned char) scope[i]);
                buf[n + 1 + m] = 0;
        } else {
                r = snprintf(buf, size, "%s", out);
                if (r < 0 || (size_t) r >= size)
                        return -ENOBUFS;
        }
        return 0;
}

int ip_family_of(const char *s) {
        unsigned char bin[sizeof(struct in6_addr)];
        char buf[INET6_ADDRSTRLEN + 1];
        const char *pct;
        size_t alen;

        if (isempty(s))
                return 0;
        pct = strchr(s, '%');
        alen = pct ? (size_t) (pct - s) : strlen(s);
        if (alen == 0 || alen >= sizeof(buf) || (pct && !pct[1]))
                return 0;
        memcpy(buf, s, alen);
        buf[alen] = 0;
        if (inet_pton(AF_INET, buf, bin) == 1)
                return pct ? 0 : 4;
        if (inet_pton(AF_INET6, buf, bin) == 1) {
                if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *) bin))
                        return pct ? 0 : 4;
                return 6;
        }
        return 0;
}

/* Canonical comparison key of an address field: canonical IP, or the string
 * lower-cased.  Returns a pointer into buf or to s itself. */
#define ADDR_KEY_MAX 512
static const char *addr_key(const char *s, char *buf, size_t size) {
        size_t i;

        s = strempty(s);
        if (ip_canonical(s, buf, size) >= 0)
                return buf;
        for (i = 0; s[i] && i + 1 < size; i++)
                buf[i] = (char) tolower((unsigned char) s[i]);
        if (s[i])
                return s; /* too long to copy: compare as given */
        buf[i] = 0;
        return buf;
}

bool ip_equal(const char *a, const char *b) {
        char ba[ADDR_KEY_MAX], bb[ADDR_KEY_MAX];

        return streq(addr_key(a, ba, sizeof(ba)), addr_key(b, bb, sizeof(bb)));
}

bool ip_equal_any_scope(const char *a, const char *b) {
        char ba[ADDR_KEY_MAX], bb[ADDR_KEY_MAX];
        char *pa, *pb;

        if (ip_canonical(strempty(a), ba, sizeof(ba)) < 0 || ip_canonical(strempty(b), bb, sizeof(bb)) < 0)
                return ip_equal(a, b);
        pa = strchr(ba, '%');
        pb = strchr(bb, '%');
        if (!pa || !pb) {
                if (pa)
                        *pa = 0;
                if (pb)
                        *pb = 0;
        }
        return streq(ba, bb);
}

static char *lowercase_dup(const char *s) {
        char *t = strdup(s);

        if (t)
                for (char *p = t; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        return t;
}

static char *addr_dup(const char *s) {
        char buf[ADDR_KEY_MAX];

        if (ip_canonical(s, buf, sizeof(buf)) >= 0)
                return strdup(buf);
        return lowercase_dup(s);
}

void tid_done(Tid *t) {
        if (!t)
                return;
        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                char **p = tid_field(t, i);

                free(*p);
                *p = NULL;
        }
}

int tid_init(Tid *t, const char *transport, const char *traddr, const char *trsvcid, const char *subsysnqn,
             const char *host_traddr, const char *host_iface, const char *host_nqn,
             const char *default_host_nqn, bool ignore_iface) {
        Tid n = {};

        n.transport = lowercase_dup(strempty(transport));
        n.traddr = addr_dup(strempty(traddr));
        if (!isempty(trsvcid))
                n.trsvcid = strdup(trsvcid);
        else if (n.transport && streq(n.transport, "tcp"))
                n.trsvcid = strdup("8009");
        else if (n.transport && streq(n.transport, "rdma"))
                n.trsvcid = strdup("4420");
        else
                n.trsvcid = strdup("");
        n.subsysnqn = strdup(isempty(subsysnqn) ? DISC_NQN : subsysnqn);
        n.host_traddr = addr_dup(strempty(host_traddr));
        n.host_iface = strdup(ignore_iface ? "" : strempty(host_iface));
        n.host_nqn = strdup(!isempty(host_nqn) ? host_nqn : strempty(default_host_nqn));

        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                if (!*tid_field(&n, i)) {
                        tid_done(&n);
                        return -ENOMEM;
                }
        *t = n;
        return 0;
}

int tid_copy(Tid *dst, const Tid *src) {
        Tid n = {};

        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                char **p = tid_field(&n, i);

                *p = strdup(tid_field_const(src, i));
                if (!*p) {
                        tid_done(&n);
                        return -ENOMEM;
                }
        }
        *dst = n;
        return 0;
}

bool tid_equal(const Tid *a, const Tid *b) {
        if (a == b)
                return true;
        if (!a || !b)
                return false;
        /* Normalised by tid_init: addresses are canonical, so plain string
         * equality is address equality. */
        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                if (!streq(tid_field_const(a, i), tid_field_const(b, i)))
                        return false;
        return true;
}

/* FNV-1a, stable across runs. */
static unsigned long hash_str(unsigned long h, const char *s) {
        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= 0x100000001b3UL;
        }
        /* field separator so ("ab","c") != ("a","bc") */
        h ^= 0xff;
        h *= 0x100000001b3UL;
        return h;
}

unsigned long tid_hash(const Tid *t) {
        unsigned long h = 0xcbf29ce484222325UL;

        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                h = hash_str(h, tid_field_const(t, i));
        return h;
}

/* ---- index: open addressing, linear probing, backward-shift deletion ---- */

typedef struct TidSlot {
        const Tid *key; /* NULL = empty */
        void *value;
        unsigned long hash;
} TidSlot;

struct TidIndex {
        TidSlot *slots;
        size_t mask; /* capacity - 1; capacity a power of two */
        size_t n;
};

int tid_index_new(TidIndex **ret) {
        TidIndex *x = calloc(1, sizeof(TidIndex));

        if (!x)
                return -ENOMEM;
        x->slots = calloc(16, sizeof(TidSlot));
        if (!x->slots) {
                free(x);
                return -ENOMEM;
        }
        x->mask = 15;
        *ret = x;
        return 0;
}

TidIndex *tid_index_free(TidIndex *x) {
        if (x) {
                free(x->slots);
                free(x);
        }
        return NULL;
}

size_t tid_index_size(const TidIndex *x) {
        return x ? x->n : 0;
}

static size_t slot_find(const TidIndex *x, const Tid *key, unsigned long h) {
        size_t i = h & x->mask;

        for (; x->slots[i].key; i = (i + 1) & x->mask)
                if (x->slots[i].hash == h && tid_equal(x->slots[i].key, key))
                        return i;
        return i; /* the empty slot ending the probe */
}

static int index_grow(TidIndex *x) {
        size_t cap = (x->mask + 1) * 2;
        TidSlot *old = x->slots, *s;

        if (cap > SIZE_MAX / sizeof(TidSlot))
                return -ENOMEM;
        s = calloc(cap, sizeof(TidSlot));
        if (!s)
                return -ENOMEM;
        x->slots = s;
        for (size_t i = 0, oldcap = x->mask + 1; i < oldcap; i++)
                if (old[i].key) {
                        size_t k = old[i].hash & (cap - 1);

                        while (s[k].key)
                                k = (k + 1) & (cap - 1);
                        s[k] = old[i];
                }
        x->mask = cap - 1;
        free(old);
        return 0;
}

int tid_index_put(TidIndex *x, const Tid *key, void *value) {
        unsigned long h = tid_hash(key);
        size_t i;
        int r;

        if ((x->n + 1) * 2 > x->mask + 1) {
                r = index_grow(x);
                if (r < 0)
                        return r;
        }
        i = slot_find(x, key, h);
        if (x->slots[i].key)
                return -EEXIST;
        x->slots[i] = (TidSlot){ key, value, h };
        x->n++;
        return 0;
}

void *tid_index_get(const TidIndex *x, const Tid *key) {
        size_t i;

        if (!x || !key)
                return NULL;
        i = slot_find(x, key, tid_hash(key));
        return x->slots[i].key ? x->slots[i].value : NULL;
}

void *tid_index_remove(TidIndex *x, const Tid *key) {
        size_t i, j;
        void *value;

        if (!x || !key)
                return NULL;
        i = slot_find(x, key, tid_hash(key));
        if (!x->slots[i].key)
                return NULL;
        value = x->slots[i].value;
        /* Shift later members of the probe run back over the hole. */
        for (j = (i + 1) & x->mask; x->slots[j].key; j = (j + 1) & x->mask) {
                size_t home = x->slots[j].hash & x->mask;

                /* Move j into i unless its home lies cyclically in (i, j]. */
                if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
                        x->slots[i] = x->slots[j];
                        i = j;
                }
        }
        x->slots[i] = (TidSlot){};
        x->n--;
        return value;
}

char *tid_to_string(const Tid *t) {
        /* nvme-stas order: transport, traddr, trsvcid, subsysnqn, host-iface,
         * host-traddr; host-nqn is not shown. */
        static const unsigned order[] = { 0, 1, 2, 3, 5, 4 };
        size_t len = 3;
        char *s, *p;

        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                len += strlen(tid_field_const(t, order[i])) + 2;
        s = malloc(len);
        if (!s)
                return NULL;
        p = s;
        *p++ = '(';
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                const char *f = tid_field_const(t, order[i]);
                size_t n = strlen(f);

                if (n == 0)
                        continue;
                if (p != s + 1) {
                        *p++ = ',';
                        *p++ = ' ';
                }
                memcpy(p, f, n);
                p += n;
        }
        *p++ = ')';
        *p = 0;
        return s;
}

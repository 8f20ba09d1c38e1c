/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The 7-field transport identifier of a discovery controller.
 * Two DCs are the same iff all seven fields are equal, with traddr and
 * host_traddr compared as IP addresses when both parse as such
 * ("::ffff:1.2.3.4" == "1.2.3.4", "fe80::1" == "FE80::0:1").  Empty and NULL
 * are the same.
 *
 * Canonicalisation happens once, in tid_init: tid_equal and tid_hash
 * compare the stored strings and expect TIDs built by tid_init (or copied
 * with tid_copy).  A TID filled in by hand must go through tid_init first.
 * ip_canonical is the one IP canonicaliser of stafd; ip_equal and
 * ip_equal_any_scope are the address equalities built on it.
 *
 * Decisions:
 * - A "%scope" suffix (IPv6 only) is kept, lower-cased, and compared as a
 *   string: "fe80::1%eth0" == "FE80::1%ETH0", but "fe80::1%2" != "fe80::1%eth0"
 *   even if interface 2 is eth0 (lib/ does not look at the host's interfaces).
 *   "fe80::1" (no scope) != "fe80::1%eth0".
 * - traddr/host_traddr that are not IP literals (host names, FC WWN pairs)
 *   are lower-cased by tid_init and compared case-insensitively: both DNS
 *   names and FC hex WWNs are case-insensitive.
 * - transport is lower-cased; the other fields are compared exactly.
 */

#include <stdbool.h>
#include <stddef.h>

typedef struct Tid {
        char *transport;
        char *traddr;
        char *trsvcid;
        char *subsysnqn;
        char *host_traddr;
        char *host_iface;
        char *host_nqn;
} Tid;

#define TID_N_FIELDS 7
/* D-Bus / JSON key names, in order: transport traddr trsvcid subsysnqn
 * host-traddr host-iface host-nqn */
extern const char *const tid_field_names[TID_N_FIELDS];
/* Access field i (0..6) in the order above. */
char **tid_field(Tid *t, unsigned i);
const char *tid_field_const(const Tid *t, unsigned i);

/* Build from strings (NULL allowed), then normalise: lower-case transport,
 * default trsvcid (tcp 8009, rdma 4420, else ""), default subsysnqn
 * (DISC_NQN), default host_nqn (given), canonical IP spelling for traddr and
 * host_traddr (IPv4-mapped IPv6 -> IPv4; IPv6 compressed lower-case; "%scope"
 * kept), blank host_iface when ignore_iface.  All fields non-NULL after. */
int tid_init(Tid *t, const char *transport, const char *traddr, const char *trsvcid, const char *subsysnqn,
             const char *host_traddr, const char *host_iface, const char *host_nqn,
             const char *default_host_nqn, bool ignore_iface);
void tid_done(Tid *t);
int tid_copy(Tid *dst, const Tid *src);

/* Field-wise string equality of two normalised TIDs (no re-parsing). */
bool tid_equal(const Tid *a, const Tid *b);
/* Stable hash consistent with tid_equal. */
unsigned long tid_hash(const Tid *t);

/* A hash index of TIDs: normalised Tid -> value, O(1) average.  The key
 * pointer is stored, not copied: it must stay valid and unchanged while in
 * the index (usually it is the value's own Tid). */
typedef struct TidIndex TidIndex;
int tid_index_new(TidIndex **ret);
TidIndex *tid_index_free(TidIndex *x);
/* 0, -EEXIST if an equal key is present (nothing changed), -ENOMEM. */
int tid_index_put(TidIndex *x, const Tid *key, void *value);
/* The value stored under a key equal to key, or NULL. */
void *tid_index_get(const TidIndex *x, const Tid *key);
/* Remove the entry of a key equal to key; returns its value or NULL. */
void *tid_index_remove(TidIndex *x, const Tid *key);
size_t tid_index_size(const TidIndex *x);
static inline void tid_index_freep(TidIndex **x) {
        if (*x)
                *x = tid_index_free(*x);
}

/* "(tcp, 192.168.1.10, 8009, nqn..., eth0, 10.0.0.1)": the order of
 * nvme-stas's TID.__str__: transport, traddr, trsvcid, subsysnqn, host-iface,
 * host-traddr; empty fields left out (nvme-stas always prints trsvcid, even
 * empty; we do not); host-nqn is never printed (as in nvme-stas).
 * Returns a malloc'd string or NULL on OOM. */
char *tid_to_string(const Tid *t);

/* IP helpers used by tid, filter and the daemon. */
/* Canonical printable form of an IP literal (with optional %scope) into buf;
 * returns 0, or -EINVAL if s is not an IP literal. */
int ip_canonical(const char *s, char *buf, size_t size);
/* 4 or 6 for an IP literal (IPv4-mapped counts as 4), 0 otherwise.  A
 * "%scope" is accepted on IPv6 only. */
int ip_family_of(const char *s);
/* Equal as canonical IPs when both parse, else case-insensitive strings.
 * Scopes must match too ("fe80::1" != "fe80::1%eth0"). */
bool ip_equal(const char *a, const char *b);
/* Like ip_equal, but a side without "%scope" matches any scope of the
 * other ("fe80::1" == "fe80::1%eth0", "fe80::1%eth0" != "fe80::1%eth1"): for
 * comparing an address that says where to look with one that says where it
 * was seen (the kernel's sysfs address, an mDNS announcement). */
bool ip_equal_any_scope(const char *a, const char *b);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * TP8009 TXT record of an _nvme-disc service -> transport and subsystem NQN.
 * Pure logic (no Avahi types): fed one raw TXT entry at a time, exactly the
 * bytes of the DNS character-string, so it can be unit-tested and fuzzed.
 *
 * Rules:
 *  - an entry is "key" or "key=value"; keys are case-insensitive;
 *  - an entry containing a byte outside 0x20..0x7e is ignored (reported);
 *  - a key seen again is ignored (RFC 6763 6.4: the first one counts);
 *  - p=tcp -> "tcp"; p=roce|iwarp|rdma -> "rdma" (values case-insensitive);
 *    anything else, or no p=, makes the service unusable;
 *  - nqn= -> subsysnqn (default DISC_NQN); an empty or over-long (> 223
 *    bytes) nqn is ignored (reported);
 *  - other keys are ignored.
 */

#include <stdbool.h>
#include <stddef.h>

/* Same as lib/conf.h; kept here so this file needs nothing from lib/. */
#ifndef DISC_NQN
#define DISC_NQN "nqn.2014-08.org.nvmexpress.discovery"
#endif
#define ZEROCONF_NQN_MAX 223
#define ZEROCONF_TXT_PROTO_MAX 32

typedef struct ZeroconfTxt {
        const char *transport; /* "tcp", "rdma", or NULL when p= unusable/missing */
        char protocol[ZEROCONF_TXT_PROTO_MAX + 1]; /* p= value as seen (for messages), may be truncated */
        bool have_protocol;
        char *subsysnqn; /* malloc'd; NULL = not given (yet) */
} ZeroconfTxt;

typedef enum ZeroconfTxtEntry {
        ZEROCONF_TXT_USED, /* p= or nqn= taken */
        ZEROCONF_TXT_SKIPPED, /* unknown key, duplicate or empty key: silently skipped */
        ZEROCONF_TXT_NONPRINTABLE, /* ignored: non-printable byte */
        ZEROCONF_TXT_BAD_NQN, /* ignored: empty or over-long nqn= */
} ZeroconfTxtEntry;

void zeroconf_txt_init(ZeroconfTxt *t);
void zeroconf_txt_done(ZeroconfTxt *t);
/* Feed one entry (len bytes, not NUL-terminated, any content).  Returns a
 * ZeroconfTxtEntry (>= 0) or -ENOMEM. */
int zeroconf_txt_add(ZeroconfTxt *t, const void *entry, size_t len);
/* After all entries: 0 when the service is usable (transport set, subsysnqn
 * defaulted to DISC_NQN if absent), -ENOENT when p= is missing,
 * -EPROTONOSUPPORT when p= names something else, -ENOMEM. */
int zeroconf_txt_finish(ZeroconfTxt *t);
const char *zeroconf_txt_entry_to_string(ZeroconfTxtEntry e);

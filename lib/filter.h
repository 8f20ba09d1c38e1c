/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "tid.h"

/* Minimal match: an exclude entry matches a TID when every key the entry
 * gives matches (transport, traddr as address, trsvcid, nqn = subsysnqn,
 * host-iface, host-nqn; host-traddr is ignored).  An entry that gives no key
 * matches nothing.  A key that is NULL or "" counts as not given; transport
 * is compared case-insensitively, traddr with ip_equal, the rest exactly.
 * The TID is expected normalised by tid_init (defaults applied), so an
 * exclude "trsvcid=8009" matches a tcp DC configured without trsvcid. */
bool filter_exclude_matches(const ConfController *excl, const Tid *tid);
/* Index (>= 0) of the first matching exclude entry, or -ENOENT. */
long filter_excluded(const ConfController *excl, size_t n, const Tid *tid);

/* Result of checking a candidate's address. */
typedef enum FilterVerdict {
        FILTER_OK,
        FILTER_BAD_ADDRESS, /* tcp/rdma traddr is not an IP literal */
        FILTER_IP_FAMILY, /* filtered out by ip-family */
} FilterVerdict;

/* For tcp and rdma (case-insensitive) the traddr must be an IP literal of an
 * allowed family (ip_family: IP_FAMILY_* mask; 0 = no restriction); other
 * transports (fc, loop) are not address-checked. */
FilterVerdict filter_address(const char *transport, const char *traddr, unsigned ip_family);
const char *filter_verdict_to_string(FilterVerdict v);

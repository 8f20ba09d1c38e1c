/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "tid.h"

/* Minimal match: an exclude entry matches a TID when every key the entry
 * gives matches (transport, traddr as address, trsvcid, nqn = subsysnqn,
 * host-iface, host-nqn; host-traddr is ignored).  An entry that gives no key
 * matches nothing. */
bool filter_exclude_matches(const ConfController *excl, const Tid *tid);
/* Index of the first matching exclude entry, or -1. */
long filter_excluded(const ConfController *excl, size_t n, const Tid *tid);

/* Result of checking a candidate's address. */
typedef enum FilterVerdict {
        FILTER_OK,
        FILTER_BAD_ADDRESS,  /* tcp/rdma traddr is not an IP literal */
        FILTER_IP_FAMILY,    /* filtered out by ip-family */
} FilterVerdict;

/* For tcp and rdma the traddr must be an IP literal of an allowed family;
 * fc and loop are not address-checked. */
FilterVerdict filter_address(const char *transport, const char *traddr, unsigned ip_family);
const char *filter_verdict_to_string(FilterVerdict v);

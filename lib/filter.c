/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Exclusion matching, ip-family and address validity.
 *
 * An exclude key that is NULL or empty counts as not given.  transport is
 * compared case-insensitively, traddr as an address (ip_equal: canonical IP
 * or case-insensitive string), every other key exactly.
 */
#include <errno.h>
#include <strings.h>

#include "filter.h"
#include "macro.h"

bool filter_exclude_matches(const ConfController *excl, const Tid *tid) {
        bool any = false;

        if (!excl || !tid)
                return false;

        if (!isempty(excl->transport)) {
                if (strcasecmp(excl->transport, strempty(tid->transport)) != 0)
                        return false;
                any = true;
        }
        if (!isempty(excl->traddr)) {
                if (!ip_equal(excl->traddr, tid->traddr))
                        return false;
                any = true;
        }
        if (!isempty(excl->trsvcid)) {
                if (!streq(excl->trsvcid, strempty(tid->trsvcid)))
                        return false;
                any = true;
        }
        if (!isempty(excl->nqn)) {
                if (!streq(excl->nqn, strempty(tid->subsysnqn)))
                        return false;
                any = true;
        }
        if (!isempty(excl->host_iface)) {
                if (!streq(excl->host_iface, strempty(tid->host_iface)))
                        return false;
                any = true;
        }
        if (!isempty(excl->host_nqn)) {
                if (!streq(excl->host_nqn, strempty(tid->host_nqn)))
                        return false;
                any = true;
        }
        /* host-traddr is ignored on purpose (nvme-stas semantics). */
        return any;
}

long filter_excluded(const ConfController *excl, size_t n, const Tid *tid) {
        for (size_t i = 0; i < n; i++)
                if (filter_exclude_matches(&excl[i], tid))
                        return (long) i;
        return -ENOENT;
}

FilterVerdict filter_address(const char *transport, const char *traddr, unsigned ip_family) {
        int fam;

        if (!transport || (strcasecmp(transport, "tcp") != 0 && strcasecmp(transport, "rdma") != 0))
                return FILTER_OK;

        fam = ip_family_of(traddr);
        if (fam == 0)
                return FILTER_BAD_ADDRESS;
        /* ip_family == 0 is treated as "no restriction". */
        if (ip_family == 0)
                return FILTER_OK;
        if (fam == 4 && !(ip_family & IP_FAMILY_V4))
                return FILTER_IP_FAMILY;
        if (fam == 6 && !(ip_family & IP_FAMILY_V6))
                return FILTER_IP_FAMILY;
        return FILTER_OK;
}

const char *filter_verdict_to_string(FilterVerdict v) {
        switch (v) {
        case FILTER_OK:
                return "ok";
        case FILTER_BAD_ADDRESS:
                return "not a valid IP address";
        case FILTER_IP_FAMILY:
                return "filtered out by ip-family";
        }
        return "unknown";
}

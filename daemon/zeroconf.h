/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * zeroconf: TP8009 mDNS discovery of NVMe-oF discovery controllers through
 * avahi-client on sd-event.  Browses _nvme-disc._tcp and _nvme-disc._udp
 * (all interfaces, both IP families, domain "local") while enabled,
 * resolves each service, parses its TXT record, and checks that tcp
 * services accept a TCP connection on the interface they were seen on.
 * Follows avahi-daemon (and the bus) going away and coming back.
 * See docs/zeroconf.md.
 */

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Zeroconf Zeroconf;

typedef struct ZeroconfService {
        char *transport; /* "tcp" | "rdma" */
        char *traddr; /* canonical IP literal; IPv4-mapped -> IPv4; link-local IPv6 keeps "%iface" */
        char *trsvcid; /* port as decimal string */
        char *subsysnqn; /* nqn= TXT or DISC_NQN */
        char *host_iface; /* interface the service was seen on (tcp only; "" for rdma) */
        char *name, *type, *domain; /* DNS-SD identity */
        int ifindex, protocol; /* AVAHI_IF_*, AVAHI_PROTO_* */
        bool reachable;
} ZeroconfService;

/* Called (on the loop) whenever the set of reachable services changes. */
typedef void (*ZeroconfChangedFn)(Zeroconf *z, void *userdata);

int zeroconf_new(Zeroconf **ret, sd_event *e, ZeroconfChangedFn cb, void *userdata);
Zeroconf *zeroconf_free(Zeroconf *z);
/* Browsers created when enabled, freed when disabled (reload). */
int zeroconf_set_enabled(Zeroconf *z, bool enabled);
/* Reachable services only; array valid until the next callback/loop iteration. */
size_t zeroconf_get_services(Zeroconf *z, ZeroconfService *const **ret);
/* Is this (transport, traddr, trsvcid) currently announced (resolved, reachable or
 * not)?  traddr is compared as an IP address. */
bool zeroconf_is_announced(Zeroconf *z, const char *transport, const char *traddr, const char *trsvcid);
/* Services ignored because a field failed validation (each counted once
 * per service and problem). */
unsigned zeroconf_n_rejected(Zeroconf *z);
/* process_info "avahi" block: {"service types": [...], "services": {...}} with each service's identity and "reachable". */
struct json_object *zeroconf_to_json(Zeroconf *z);

DEFINE_TRIVIAL_CLEANUP_FUNC(Zeroconf *, zeroconf_free);

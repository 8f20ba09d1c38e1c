/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host names in controller= lines, resolved by getaddrinfo on the resolver's
 * own worker threads (a pool lane of RESOLVE_WORKERS): never on the loop, and
 * never on a fabric worker, where a slow DNS server would hold up log pages.
 * Results are kept until flushed (on reload); failures are retried after a
 * while.  The owner is told through a callback whenever an answer arrives,
 * and reconciles then.
 */

#include <stdbool.h>

#include <systemd/sd-event.h>

typedef struct Resolver Resolver;
typedef void (*ResolverChangedFn)(Resolver *r, void *userdata);

int resolver_new(Resolver **ret, sd_event *event, ResolverChangedFn cb, void *userdata);
/* Does not wait for a getaddrinfo() in progress (it can take 30 s with
 * unreachable name servers): its worker is left to the exiting process. */
Resolver *resolver_free(Resolver *r);

/* The address of host for the allowed families (IP_FAMILY_* mask):
 * 1 and *ret_addr set (valid until the next flush) when known;
 * 0 while a lookup is in flight (started now if needed);
 * -errno when the last lookup failed (retried later). */
int resolver_lookup(Resolver *r, const char *host, unsigned ip_family, const char **ret_addr);
/* Forget everything (configuration reloaded): names are looked up again. */
void resolver_flush(Resolver *r);

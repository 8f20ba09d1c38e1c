/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host names in controller= lines, resolved on the fabric worker pool (never
 * a blocking getaddrinfo on the loop).  Results are kept until flushed (on
 * reload); failures are retried after a while.  The owner is told through
 * a callback whenever an answer arrives, and reconciles then.
 */

#include <stdbool.h>

#include "fabric.h"

typedef struct Resolver Resolver;
typedef void (*ResolverChangedFn)(Resolver *r, void *userdata);

int resolver_new(Resolver **ret, sd_event *event, Fabric *fabric, ResolverChangedFn cb, void *userdata);
Resolver *resolver_free(Resolver *r);

/* The address of host for the allowed families (IP_FAMILY_* mask):
 * 1 and *ret_addr set (valid until the next flush) when known;
 * 0 while a lookup is in flight (started now if needed);
 * -errno when the last lookup failed (retried later). */
int resolver_lookup(Resolver *r, const char *host, unsigned ip_family, const char **ret_addr);
/* Forget everything (configuration reloaded): names are looked up again. */
void resolver_flush(Resolver *r);

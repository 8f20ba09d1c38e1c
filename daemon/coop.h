/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Host cooperation: how stafd lives with the other orchestrators of NVMe-oF
 * connections (the initramfs/NBFT, nvme-cli, nvme-discoverd, stacd).
 *
 * - The system exclusion list (/etc/nvme/exclusions.conf{,.d/ *.conf},
 *   lib/exclusions): DCs it names are dropped from the candidate set, on top
 *   of stafd.conf's exclude=.  The files are watched with inotify; a change
 *   schedules a reconciliation, which re-reads them.
 * - The ownership registry (/run/nvme/registry, lib/registry): stafd
 *   registers owner=stas for the controllers it connects, claims adopted
 *   ones only when unowned, never disconnects one another orchestrator
 *   owns, and removes its own entries when it disconnects.
 *
 * A missing or read-only /etc/nvme or /run/nvme is not an error.
 */

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "reconcile.h"
#include "tid.h"

typedef struct Coop Coop;
typedef struct Dc Dc;
typedef struct Manager Manager;

#define COOP_EXCLUSIONS_ROOT "/etc/nvme"
#define COOP_UEVENT_SEQNUM "/sys/kernel/uevent_seqnum"

int coop_new(Coop **ret, Manager *m);
Coop *coop_free(Coop *c);

/* Exclusions.  Drop the inputs of candidates_build the system exclusion
 * list names, before it runs (so that excluded DCs take no place under
 * max-dcs), with one warning per DC naming file:line until the list
 * changes.  Each compacts its array in place and updates *n; hostnqn and
 * ignore_iface as given to candidates_build. */
void coop_filter_configured(Coop *c, ConfController *l, size_t *n, const char *hostnqn, bool ignore_iface);
/* refs may be grouped: start[g] is the index of group g's first referral,
 * start[n_groups] == *n; the starts are updated (start may be NULL). */
void coop_filter_referrals(Coop *c, ReferralSource *refs, size_t *n, size_t *start, size_t n_groups,
                           const char *hostnqn, bool ignore_iface);
void coop_filter_discovered(Coop *c, DiscoveredService *d, size_t *n, const char *hostnqn,
                            bool ignore_iface);
/* Whether a current DC is excluded (same warning rule). */
bool coop_excluded(Coop *c, const Tid *tid);

/* Registry. */
/* dc just connected (or adopted) its kernel controller. */
void coop_dc_connected(Coop *c, Dc *dc);
/* Whether stafd may disconnect dc's controller: false (and a log line) when
 * another orchestrator owns it. */
bool coop_may_disconnect(Coop *c, Dc *dc);
/* stafd disconnected device: remove its own entry. */
void coop_disconnected(Coop *c, const char *device);
/* A "remove" uevent (SEQNUM seqnum) for device. */
void coop_device_removed(Coop *c, const char *device, uint64_t seqnum);
/* The owner the registry names for dc's controller, "" if none or unknown. */
const char *coop_owner(Coop *c, const Dc *dc);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * handoff: a discovery controller stafd does not manage asked for
 * rediscovery (AEN or NVME_EVENT=rediscover): do what nvme-cli's udev rule
 * would have done, start nvmf-connect@<instance>.service through
 * "systemctl --no-block restart", so mixed setups keep working.
 *
 * Rate limit: at most one hand-off per device per HANDOFF_INTERVAL_USEC; a
 * controller that sends a storm of events costs one systemctl, not one per
 * event (the suppressed ones are counted in the next hand-off's message).
 */

#include <stdint.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#define HANDOFF_INTERVAL_USEC (5 * 1000 * 1000ULL)

typedef struct Handoff Handoff;

int handoff_new(Handoff **ret, sd_event *event);
Handoff *handoff_free(Handoff *h);

/* device: the uevent's device (NVME_TRTYPE, NVME_TRADDR, ... properties);
 * sysname "nvmeN".  Returns 1 if systemctl was started, 0 if nothing was
 * done (not a discovery controller, missing properties, rate-limited),
 * negative errno on failure (logged). */
int handoff_nvmecli(Handoff *h, sd_device *device, const char *sysname);

/* The rate limit on its own: 1 = go ahead (*ret_suppressed = events
 * suppressed since the last hand-off of this device), 0 = suppressed
 * (*ret_suppressed counts it), -ENOMEM.  now: CLOCK_MONOTONIC usec. */
int handoff_ratelimit(Handoff *h, const char *sysname, uint64_t now, unsigned *ret_suppressed);

/* The instance string's escaping, as systemd-escape does (for tests).
 * Returns a malloc'd string or NULL on OOM. */
char *handoff_unit_escape(const char *s);

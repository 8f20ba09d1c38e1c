/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * avahi-poll: an AvahiPoll (the main-loop abstraction of avahi-client)
 * implemented on sd-event, so avahi-client runs on stafd's loop.
 *
 *   watches  -> sd-event io sources (EPOLLIN/OUT/ERR/HUP)
 *   timeouts -> sd-event CLOCK_MONOTONIC timers.  Avahi hands us absolute
 *               wall-clock deadlines (gettimeofday); we convert them to a
 *               monotonic deadline when set, so a wall-clock step does not
 *               stall or fire them early.  NULL = disabled, a time in the
 *               past = fires on the next loop iteration.
 *
 * Avahi creates, updates and frees watches and timeouts from inside their
 * own callbacks; see avahi-poll.c for why that is safe.
 */

#include <avahi-common/watch.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct AvahiSdPoll AvahiSdPoll;

int avahi_sd_poll_new(AvahiSdPoll **ret, sd_event *e);
const AvahiPoll *avahi_sd_poll_get(AvahiSdPoll *p);
/* Frees any watch/timeout Avahi left behind; free the AvahiClient first. */
AvahiSdPoll *avahi_sd_poll_free(AvahiSdPoll *p);

DEFINE_TRIVIAL_CLEANUP_FUNC(AvahiSdPoll *, avahi_sd_poll_free);

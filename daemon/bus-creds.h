/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Who is calling: the uid of a method call's sender, without ever making the
 * event loop wait on the bus.  A sender's uid is asked for once, with an
 * asynchronous GetConnectionUnixUser; the calls that need it meanwhile are
 * kept (a reference to the message) and run again when the answer arrives.
 * Entries are dropped when NameOwnerChanged says the unique name is gone
 * (dbus-daemon never reuses one, so a stale entry is never wrong).
 * It also keeps each sender's answer budget, so that a client that does not
 * read its answers cannot clog stafd's connection for everyone.
 */

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

typedef struct BusCreds BusCreds;

int bus_creds_new(BusCreds **ret, sd_bus *bus);
BusCreds *bus_creds_free(BusCreds *c);

/*
 * The uid of msg's sender.  Returns 0 with *ret_uid set when it is known.
 * Returns 1 when it is not known yet (or msg was answered with an error,
 * e.g. too many waiting calls): msg is kept and handler(msg, userdata) runs
 * again once the uid is known, its result being the method's reply, errors
 * included.  A method handler just returns this 1 ("handled, replied
 * later"), so the usual idiom is `r = bus_creds_get_uid(...); if (r != 0)
 * return r;`.  A negative errno if the call cannot be kept.
 * With handler NULL only the cache is consulted: -ENODATA if unknown.
 * A message without a sender (a direct connection) gets UID_NOBODY.
 */
int bus_creds_get_uid(BusCreds *c, sd_bus_message *msg, sd_bus_message_handler_t handler, void *userdata,
                      uid_t *ret_uid);

/*
 * The answer budget (see bus-creds.c): before answering msg, 0 = go ahead;
 * 1 = refused (answered with a LimitsExceeded error, or dropped for a peer
 * that does not read its answers): return it from the handler.
 */
int bus_creds_admit(BusCreds *c, sd_bus_message *msg);
/* After answering msg with about size bytes. */
void bus_creds_charge(BusCreds *c, sd_bus_message *msg, size_t size);

/* Number of senders whose uid is cached or being asked for (tests, debug). */
size_t bus_creds_size(const BusCreds *c);

#define UID_NOBODY ((uid_t) 65534)

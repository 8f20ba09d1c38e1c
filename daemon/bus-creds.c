/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The uid cache of bus senders (see bus-creds.h).
 *
 * sd_bus_query_sender_creds() on a dbus-daemon connection is a synchronous
 * GetConnectionCredentials round trip: an unprivileged client that floods
 * stafd and never reads its replies could make it wait up to sd-bus's 25 s
 * per call, freezing the loop for everyone.  Here nothing waits: the
 * question is asked once per sender and the calls that need the answer
 * wait for it, not the loop.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus-creds.h"
#include "log.h"
#include "macro.h"

/*
 * The answer budget.  Whatever stafd sent that dbus-daemon could not yet
 * deliver (a client that does not read) counts against stafd's own
 * max_incoming_bytes (127 MiB on the system bus); past it dbus-daemon stops
 * reading stafd at all, and every client starves.  So once a peer holds
 * more than PING_AFTER bytes of answers it has not been seen to read, it is
 * pinged (org.freedesktop.DBus.Peer.Ping, answered by every D-Bus library:
 * the pong comes after everything queued before it).  A pong clears what
 * was sent before the ping.  A peer that leaves a ping unanswered is deaf,
 * and so is one past PEER_MAX: it gets a short LimitsExceeded error instead
 * of its answers (a client that reads but never dispatches incoming calls
 * sees why, rather than a time-out).  Beyond UID_MAX (all the connections
 * of one user), or past TOTAL_MAX for a peer that owes anything, the same
 * error, and a deaf peer's calls are then dropped unanswered.  So what one
 * user can leave unread is UID_MAX plus one answer, whatever number of
 * connections it opens (dbus-daemon allows 256 per user).  The methods
 * that answer ask for the caller's uid first for that reason.
 */
#define PING_AFTER (1ULL << 20)
#define PEER_MAX (16ULL << 20)
#define UID_MAX (24ULL << 20)
#define TOTAL_MAX (64ULL << 20)
#define PING_TIMEOUT_USEC (5 * 1000000ULL)
/* What a LimitsExceeded error weighs in dbus-daemon's queue, about. */
#define ERROR_REPLY_SIZE 192

/* dbus-daemon's system bus allows 2048 connections; more senders than this
 * evict the least recently used entry that nobody waits for. */
#define MAX_PEERS 4096
/* Calls of one sender waiting for its uid; beyond: LimitsExceeded. */
#define MAX_WAITERS 1024
#define LOOKUP_TIMEOUT_USEC (5 * 1000000ULL)

typedef struct Waiter {
        sd_bus_message *msg;
        sd_bus_message_handler_t handler;
        void *userdata;
} Waiter;

typedef struct Peer {
        BusCreds *creds;
        char *name;
        uid_t uid;
        bool known;
        uint64_t used;
        sd_bus_slot *lookup; /* GetConnectionUnixUser in flight */
        Waiter *waiters;
        size_t n_waiters;

        /* Answers sent that the peer has not been seen to read. */
        uint64_t unconfirmed;
        uint64_t charged; /* all bytes ever sent: the ping's mark */
        uint64_t ping_mark;
        sd_bus_slot *ping; /* Peer.Ping in flight */
        bool deaf; /* the last ping went unanswered */
        bool deaf_logged;
} Peer;

struct BusCreds {
        sd_bus *bus;
        sd_bus_slot *match;
        Peer **peers;
        size_t n_peers;
        uint64_t tick;
        uint64_t unconfirmed; /* sum over the peers */
};

static void waiters_drop(Waiter *w, size_t n) {
        for (size_t i = 0; i < n; i++)
                sd_bus_message_unref(w[i].msg);
        free(w);
}

static Peer *peer_free(Peer *p) {
        if (!p)
                return NULL;
        p->creds->unconfirmed -= p->unconfirmed;
        sd_bus_slot_unref(p->ping);
        sd_bus_slot_unref(p->lookup);
        waiters_drop(p->waiters, p->n_waiters);
        free(p->name);
        free(p);
        return NULL;
}

static void peers_remove_at(BusCreds *c, size_t i) {
        peer_free(c->peers[i]);
        c->peers[i] = c->peers[--c->n_peers];
}

static ssize_t peers_find(BusCreds *c, const char *name) {
        for (size_t i = 0; i < c->n_peers; i++)
                if (streq(c->peers[i]->name, name))
                        return (ssize_t) i;
        return -1;
}

static bool peer_idle(const Peer *p) {
        return !p->lookup && !p->ping && p->n_waiters == 0 && p->unconfirmed == 0;
}

/* Room for one more: drop the least recently used idle entry. */
static int peers_make_room(BusCreds *c) {
        ssize_t victim = -1;

        if (c->n_peers < MAX_PEERS)
                return 0;
        for (size_t i = 0; i < c->n_peers; i++)
                if (peer_idle(c->peers[i]) && (victim < 0 || c->peers[i]->used < c->peers[victim]->used))
                        victim = (ssize_t) i;
        if (victim < 0)
                return -EBUSY;
        peers_remove_at(c, (size_t) victim);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusCreds *c = userdata;
        const char *name, *old_owner, *new_owner;
        ssize_t i;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] != ':' || !isempty(new_owner))
                return 0;
        i = peers_find(c, name);
        if (i >= 0)
                peers_remove_at(c, (size_t) i); /* its waiting calls have nobody to answer */
        return 0;
}

/* Run the kept calls now that their sender's uid is known (or not). */
static void waiters_run(Waiter *w, size_t n, int error) {
        for (size_t i = 0; i < n; i++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                int r = error;

                if (r >= 0) {
                        (void) sd_bus_message_rewind(w[i].msg, true);
                        r = w[i].handler(w[i].msg, w[i].userdata, &e);
                }
                if (r < 0 || sd_bus_error_is_set(&e))
                        (void) sd_bus_reply_method_errno(w[i].msg, r, &e);
        }
        waiters_drop(w, n);
}

static int on_uid_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Peer *p = userdata;
        BusCreds *c = p->creds;
        Waiter *w = TAKE_PTR(p->waiters);
        size_t n = p->n_waiters;
        uint32_t uid;
        int r;

        p->n_waiters = 0;
        p->lookup = sd_bus_slot_unref(p->lookup);
        r = sd_bus_message_get_errno(reply);
        if (sd_bus_message_is_method_error(reply, NULL))
                r = -(r ?: EIO);
        else
                r = sd_bus_message_read(reply, "u", &uid);
        if (r < 0) {
                ssize_t i = peers_find(c, p->name);

                log_debug_errno(r, "Cannot identify bus peer %s: %m", p->name);
                /* Forget it: a later call asks again. */
                if (i >= 0)
                        peers_remove_at(c, (size_t) i);
                waiters_run(w, n, -EACCES);
                return 0;
        }
        p->uid = uid;
        p->known = true;
        waiters_run(w, n, 0);
        return 0;
}

static int peer_lookup(BusCreds *c, Peer *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        r = sd_bus_message_new_method_call(c->bus, &call, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                           "org.freedesktop.DBus", "GetConnectionUnixUser");
        if (r >= 0)
                r = sd_bus_message_append(call, "s", p->name);
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &p->lookup, call, on_uid_reply, p, LOOKUP_TIMEOUT_USEC);
        return r;
}

/* The entry of sender, created if needed (-EBUSY: the table is full of
 * busy entries). */
static int peer_get(BusCreds *c, const char *sender, Peer **ret) {
        ssize_t i = peers_find(c, sender);
        Peer *p;
        int r;

        if (i >= 0) {
                p = c->peers[i];
                p->used = ++c->tick;
                *ret = p;
                return 0;
        }
        r = peers_make_room(c);
        if (r < 0)
                return r;
        p = calloc(1, sizeof(Peer));
        if (!p)
                return -ENOMEM;
        p->creds = c;
        p->used = ++c->tick;
        p->name = strdup(sender);
        if (!p->name) {
                free(p);
                return -ENOMEM;
        }
        c->peers[c->n_peers++] = p;
        *ret = p;
        return 0;
}

int bus_creds_get_uid(BusCreds *c, sd_bus_message *msg, sd_bus_message_handler_t handler, void *userdata,
                      uid_t *ret_uid) {
        const char *sender = sd_bus_message_get_sender(msg);
        Waiter *t;
        ssize_t i;
        Peer *p;
        int r;

        if (!sender) {
                *ret_uid = UID_NOBODY;
                return 0;
        }
        i = peers_find(c, sender);
        if (i >= 0) {
                p = c->peers[i];
                p->used = ++c->tick;
                if (p->known) {
                        *ret_uid = p->uid;
                        return 0;
                }
        }
        if (!handler)
                return -ENODATA; /* only the cache was asked */
        r = peer_get(c, sender, &p);
        if (r == -EBUSY) {
                r = sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                               "Too many callers being identified");
                return r < 0 ? r : 1;
        }
        if (r < 0)
                return r;
        if (!p->lookup) {
                r = peer_lookup(c, p);
                if (r < 0)
                        return r;
        }

        if (p->n_waiters >= MAX_WAITERS) {
                r = sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                               "Too many calls waiting for the caller's identity");
                return r < 0 ? r : 1;
        }
        t = realloc(p->waiters, sizeof(Waiter) * (p->n_waiters + 1));
        if (!t)
                return -ENOMEM;
        p->waiters = t;
        p->waiters[p->n_waiters++] = (Waiter){
                .msg = sd_bus_message_ref(msg),
                .handler = handler,
                .userdata = userdata,
        };
        return 1;
}

int bus_creds_new(BusCreds **ret, sd_bus *bus) {
        BusCreds *c;
        int r;

        c = calloc(1, sizeof(BusCreds));
        if (!c)
                return -ENOMEM;
        c->peers = calloc(MAX_PEERS, sizeof(Peer *));
        if (!c->peers) {
                free(c);
                return -ENOMEM;
        }
        c->bus = sd_bus_ref(bus);
        r = sd_bus_match_signal_async(bus, &c->match, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed,
                                      NULL, c);
        if (r < 0) {
                bus_creds_free(c);
                return r;
        }
        *ret = c;
        return 0;
}

BusCreds *bus_creds_free(BusCreds *c) {
        if (!c)
                return NULL;
        sd_bus_slot_unref(c->match);
        for (size_t i = 0; i < c->n_peers; i++)
                peer_free(c->peers[i]);
        free(c->peers);
        sd_bus_unref(c->bus);
        free(c);
        return NULL;
}

static int on_pong(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Peer *p = userdata;
        BusCreds *c = p->creds;
        uint64_t confirmed, done;

        p->ping = sd_bus_slot_unref(p->ping);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* Unanswered (or refused): treat it as not reading.  If it
                 * has gone, NameOwnerChanged drops the entry. */
                p->deaf = true;
                if (!p->deaf_logged)
                        log_warning("Bus peer %s does not read its answers (%llu bytes pending): "
                                    "refusing its calls until it does",
                                    p->name, (unsigned long long) p->unconfirmed);
                p->deaf_logged = true;
                return 0;
        }
        /* Everything sent before the ping has been read. */
        confirmed = p->charged - p->unconfirmed;
        done = p->ping_mark > confirmed ? p->ping_mark - confirmed : 0;
        p->unconfirmed -= done;
        c->unconfirmed -= done;
        p->deaf = false;
        return 0;
}

static void peer_ping(BusCreds *c, Peer *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        int r;

        if (p->ping)
                return;
        r = sd_bus_message_new_method_call(c->bus, &call, p->name, "/", "org.freedesktop.DBus.Peer", "Ping");
        if (r >= 0)
                r = sd_bus_call_async(c->bus, &p->ping, call, on_pong, p, PING_TIMEOUT_USEC);
        if (r < 0)
                log_debug_errno(r, "Cannot ping bus peer %s: %m", p->name);
        else
                p->ping_mark = p->charged;
}

/* What all the peers of uid owe: one user's many connections count as one. */
static uint64_t uid_unconfirmed(BusCreds *c, uid_t uid) {
        uint64_t sum = 0;

        for (size_t i = 0; i < c->n_peers; i++)
                if (c->peers[i]->known && c->peers[i]->uid == uid)
                        sum += c->peers[i]->unconfirmed;
        return sum;
}

int bus_creds_admit(BusCreds *c, sd_bus_message *msg) {
        const char *sender = sd_bus_message_get_sender(msg);
        uint64_t by_uid;
        bool over;
        Peer *p;
        int r;

        if (!c || !sender)
                return 0;
        r = peer_get(c, sender, &p);
        if (r < 0)
                return 0; /* cannot track it: answer */
        if (c->unconfirmed == 0)
                return 0; /* the common case: nobody owes anything */
        by_uid = p->known ? uid_unconfirmed(c, p->uid) : p->unconfirmed;
        if (p->unconfirmed <= PING_AFTER && by_uid <= UID_MAX && c->unconfirmed <= TOTAL_MAX)
                return 0;
        if (p->unconfirmed > PING_AFTER)
                peer_ping(c, p); /* no-op while one is in flight */
        over = by_uid > UID_MAX || (c->unconfirmed > TOTAL_MAX && p->unconfirmed > 0);
        if (over && p->deaf)
                return 1; /* dropped: even an error would add to the pile */
        if (over || p->deaf || p->unconfirmed > PEER_MAX) {
                r = sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                               "Too many answers not read yet: read them and call again");
                if (r < 0)
                        return r;
                bus_creds_charge(c, msg, ERROR_REPLY_SIZE);
                return 1;
        }
        return 0;
}

void bus_creds_charge(BusCreds *c, sd_bus_message *msg, size_t size) {
        const char *sender = sd_bus_message_get_sender(msg);
        Peer *p;

        if (!c || !sender || peer_get(c, sender, &p) < 0)
                return;
        p->charged += size;
        p->unconfirmed += size;
        c->unconfirmed += size;
        if (p->unconfirmed > PING_AFTER)
                peer_ping(c, p);
}

size_t bus_creds_size(const BusCreds *c) {
        return c ? c->n_peers : 0;
}

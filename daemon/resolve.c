/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host names of controller= lines resolved with getaddrinfo() on the
 * resolver's own worker lane, results cached until reload, failures retried;
 * the owner hears of each change through a callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conf.h"
#include "log.h"
#include "macro.h"
#include "pool.h"
#include "resolve.h"

#define RETRY_USEC (30 * USEC_PER_SEC)
#define RESOLVE_WORKERS 2

typedef struct Lookup {
        Resolver *resolver;
        struct Lookup *next;
        char *host;
        unsigned ip_family;
        PoolJob *op; /* in flight */
        int error; /* last result: 0 ok, -errno */
        bool done;
        uint64_t failed_at; /* CLOCK_MONOTONIC */
        char addr[INET6_ADDRSTRLEN];
        /* written by the worker */
        int w_error;
        char w_addr[INET6_ADDRSTRLEN];
} Lookup;

struct Resolver {
        sd_event *event;
        Pool *pool;
        bool freeing;
        ResolverChangedFn cb;
        void *userdata;
        Lookup *lookups;
        sd_event_source *retry_timer;
};

/* Only for lookups no worker is writing into (see resolver_flush/free). */
static Lookup *lookup_free(Lookup *l) {
        if (!l)
                return NULL;
        free(l->host);
        free(l);
        return NULL;
}

/* Runs on a worker thread. */
static int job_resolve(void *arg) {
        Lookup *l = arg;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
        struct addrinfo *res = NULL;
        int r;

        if (l->ip_family == IP_FAMILY_V4)
                hints.ai_family = AF_INET;
        else if (l->ip_family == IP_FAMILY_V6)
                hints.ai_family = AF_INET6;
        else
                hints.ai_family = AF_UNSPEC;

        r = getaddrinfo(l->host, NULL, &hints, &res);
        if (r != 0) {
                l->w_error = r == EAI_SYSTEM                      ? -errno
                             : r == EAI_NONAME || r == EAI_NODATA ? -ENOENT
                                                                  : -EHOSTUNREACH;
                return l->w_error;
        }
        l->w_error = -ENOENT;
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                const void *p = a->ai_family == AF_INET
                                        ? (const void *) &((struct sockaddr_in *) a->ai_addr)->sin_addr
                                        : (const void *) &((struct sockaddr_in6 *) a->ai_addr)->sin6_addr;

                if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
                        continue;
                if (inet_ntop(a->ai_family, p, l->w_addr, sizeof(l->w_addr))) {
                        l->w_error = 0;
                        break;
                }
        }
        freeaddrinfo(res);
        return l->w_error;
}

static void on_resolved(void *userdata, int error) {
        Lookup *l = userdata;
        Resolver *r = l->resolver;

        l->op = NULL;
        if (r->freeing || error == -ECANCELED)
                return;
        l->done = true;
        l->error = l->w_error;
        if (l->error == 0) {
                memcpy(l->addr, l->w_addr, sizeof(l->addr));
                log_info("Resolved %s to %s", l->host, l->addr);
        } else {
                (void) sd_event_now(r->event, CLOCK_MONOTONIC, &l->failed_at);
                log_warning_errno(l->error, "Cannot resolve %s (retrying in %us): %m", l->host,
                                  (unsigned) (RETRY_USEC / USEC_PER_SEC));
                if (r->retry_timer) {
                        (void) sd_event_source_set_time_relative(r->retry_timer, RETRY_USEC);
                        (void) sd_event_source_set_enabled(r->retry_timer, SD_EVENT_ONESHOT);
                }
        }
        r->cb(r, r->userdata);
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Resolver *r = userdata;

        r->cb(r, r->userdata);
        return 0;
}

int resolver_new(Resolver **ret, sd_event *event, ResolverChangedFn cb, void *userdata) {
        static const PoolLaneSpec lane = { "resolve", RESOLVE_WORKERS };
        Resolver *r;
        int k;

        r = calloc(1, sizeof(Resolver));
        if (!r)
                return -ENOMEM;
        *r = (Resolver){ .event = event, .cb = cb, .userdata = userdata };
        k = pool_new(&r->pool, event, "resolve", &lane, 1);
        if (k < 0) {
                free(r);
                return k;
        }
        k = sd_event_add_time_relative(event, &r->retry_timer, CLOCK_MONOTONIC, RETRY_USEC, USEC_PER_SEC,
                                       on_retry, r);
        if (k < 0) {
                pool_free(r->pool);
                free(r);
                return k;
        }
        (void) sd_event_source_set_enabled(r->retry_timer, SD_EVENT_OFF);
        *ret = r;
        return 0;
}

void resolver_flush(Resolver *r) {
        Lookup **p = &r->lookups;

        /* Keep lookups in flight (the worker writes into them); drop the rest. */
        while (*p) {
                Lookup *l = *p;

                if (l->op) {
                        l->done = false;
                        p = &l->next;
                        continue;
                }
                *p = l->next;
                lookup_free(l);
        }
}

Resolver *resolver_free(Resolver *r) {
        if (!r)
                return NULL;
        r->freeing = true;
        if (pool_n_running(r->pool) > 0) {
                /* A worker still writes into its Lookup: leave both to the
                 * exiting process; queued lookups are dropped. */
                pool_abandon(r->pool);
                sd_event_source_disable_unref(r->retry_timer);
                return NULL;
        }
        r->pool = pool_free(r->pool);
        while (r->lookups) {
                Lookup *l = r->lookups;

                r->lookups = l->next;
                lookup_free(l);
        }
        sd_event_source_disable_unref(r->retry_timer);
        free(r);
        return NULL;
}

int resolver_lookup(Resolver *r, const char *host, unsigned ip_family, const char **ret_addr) {
        Lookup *l;
        uint64_t now = 0;
        int k;

        for (l = r->lookups; l; l = l->next)
                if (l->ip_family == ip_family && strcasecmp(l->host, host) == 0)
                        break;

        if (l && l->op)
                return 0;
        if (l && l->done) {
                if (l->error == 0) {
                        *ret_addr = l->addr;
                        return 1;
                }
                (void) sd_event_now(r->event, CLOCK_MONOTONIC, &now);
                if (now < l->failed_at + RETRY_USEC)
                        return l->error;
        }

        if (!l) {
                l = calloc(1, sizeof(Lookup));
                if (!l)
                        return -ENOMEM;
                l->host = strdup(host);
                if (!l->host) {
                        free(l);
                        return -ENOMEM;
                }
                l->resolver = r;
                l->ip_family = ip_family;
                l->next = r->lookups;
                r->lookups = l;
        }
        l->done = false;
        k = pool_submit(r->pool, 0, job_resolve, on_resolved, l, &l->op);
        if (k < 0)
                return k;
        log_debug("Resolving %s", host);
        return 0;
}

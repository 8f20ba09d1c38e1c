/* SPDX-License-Identifier: Apache-2.0 */
/*
 * zeroconf: browse, resolve, parse TXT, probe reachability.  See zeroconf.h
 * and docs/zeroconf.md.
 *
 * Object lifetimes:
 *  - the AvahiClient is created with AVAHI_CLIENT_NO_FAIL while enabled.  It
 *    survives avahi-daemon being absent (state CONNECTING).  When it fails
 *    (daemon left, bus gone) it is replaced on the next loop iteration from
 *    a timer, never freed inside its own callback.  If even the bus cannot
 *    be reached, creation is retried every ZC_CLIENT_RETRY.
 *  - one Service per browse result (ifindex, protocol, name, type, domain);
 *    its resolver stays alive so TXT/address changes are followed.
 *  - Service.timer is the one timer of a service: connect timeout while a
 *    probe is in flight, else the next probe retry or re-resolve.
 */
#include <arpa/inet.h>
#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "avahi-poll.h"
#include "log.h"
#include "macro.h"
#include "tid.h"
#include "validate.h"
#include "zeroconf-txt.h"
#include "zeroconf.h"

#define ZC_CONNECT_TIMEOUT (3 * USEC_PER_SEC)
#define ZC_CLIENT_RETRY (5 * USEC_PER_SEC)
#define ZC_DOMAIN "local"

/* Retry schedule for unreachable tcp services, seconds; the last repeats. */
static const unsigned zc_retry_sec[] = { 5, 10, 30, 60, 300, 600 };
/* Retry schedule for announcements that do not resolve (any host on the
 * LAN can announce one), seconds; the last repeats. */
static const unsigned zc_resolve_retry_sec[] = { 10, 30, 60, 120, 300, 600 };

static const char *const zc_service_types[] = { "_nvme-disc._tcp", "_nvme-disc._udp" };
#define ZC_N_TYPES ELEMENTSOF(zc_service_types)

typedef enum DaemonState {
        DAEMON_UNKNOWN,
        DAEMON_PRESENT,
        DAEMON_ABSENT,
} DaemonState;

typedef struct Service {
        ZeroconfService pub;
        Zeroconf *z;
        AvahiServiceResolver *resolver;
        bool resolved; /* address, port and a usable TXT known */
        bool dup_warned;
        char ifname[IF_NAMESIZE]; /* where it was seen, whatever the transport */
        int probe_fd;
        sd_event_source *probe_io;
        sd_event_source *timer;
        unsigned n_failures;
        char *last_txt_error; /* last TXT complaint, so a re-resolve does not repeat it */
        unsigned n_resolve_failures; /* failed resolutions in a row */
        int resolve_error; /* Avahi error of the last one (logged once per streak) */
} Service;

struct Zeroconf {
        sd_event *event;
        AvahiSdPoll *poll;
        AvahiClient *client;
        AvahiServiceBrowser *browsers[ZC_N_TYPES];
        sd_event_source *client_timer; /* (re)create the client */
        sd_event_source *notify; /* defer: run cb once per iteration */
        ZeroconfChangedFn cb;
        void *userdata;
        bool enabled;
        DaemonState daemon;

        Service **services;
        size_t n_services;
        ZeroconfService **view; /* zeroconf_get_services() result */
        unsigned n_rejected; /* services that failed validation (logged ones) */
};

/* The one place Avahi error codes (negative, colliding with -errno) become
 * negative errno values.  Logs carry avahi_strerror() as well. */
static int avahi_error_to_errno(int e) {
        switch (e) {
        case AVAHI_OK:
                return 0;
        case AVAHI_ERR_NO_MEMORY:
                return -ENOMEM;
        case AVAHI_ERR_DISCONNECTED:
                return -ENOTCONN;
        case AVAHI_ERR_NO_DAEMON:
                return -ECONNREFUSED;
        case AVAHI_ERR_TIMEOUT:
                return -ETIMEDOUT;
        case AVAHI_ERR_NOT_FOUND:
                return -ENOENT;
        case AVAHI_ERR_ACCESS_DENIED:
        case AVAHI_ERR_NOT_PERMITTED:
                return -EACCES;
        case AVAHI_ERR_BAD_STATE:
                return -EBADFD;
        case AVAHI_ERR_NOT_SUPPORTED:
                return -EOPNOTSUPP;
        case AVAHI_ERR_TOO_MANY_CLIENTS:
        case AVAHI_ERR_TOO_MANY_OBJECTS:
        case AVAHI_ERR_TOO_MANY_ENTRIES:
                return -ENOBUFS;
        case AVAHI_ERR_NO_NETWORK:
                return -ENETDOWN;
        case AVAHI_ERR_INVALID_HOST_NAME:
        case AVAHI_ERR_INVALID_DOMAIN_NAME:
        case AVAHI_ERR_INVALID_SERVICE_NAME:
        case AVAHI_ERR_INVALID_SERVICE_TYPE:
        case AVAHI_ERR_INVALID_PORT:
        case AVAHI_ERR_INVALID_KEY:
        case AVAHI_ERR_INVALID_ADDRESS:
        case AVAHI_ERR_INVALID_OBJECT:
        case AVAHI_ERR_INVALID_INTERFACE:
        case AVAHI_ERR_INVALID_PROTOCOL:
        case AVAHI_ERR_INVALID_FLAGS:
        case AVAHI_ERR_INVALID_ARGUMENT:
        case AVAHI_ERR_INVALID_CONFIG:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* Log with both the errno (for %m / ERRNO=) and Avahi's own text. */
#define log_avahi(level, aerr, fmt, ...)                                                    \
        ({                                                                                  \
                int _ae = (aerr);                                                           \
                log_full_errno(level, avahi_error_to_errno(_ae), fmt ": %s", ##__VA_ARGS__, \
                               avahi_strerror(_ae));                                        \
        })

static const char *proto_str(int protocol) {
        return protocol == AVAHI_PROTO_INET ? "IPv4" : protocol == AVAHI_PROTO_INET6 ? "IPv6" : "any";
}

static void zeroconf_changed(Zeroconf *z) {
        (void) sd_event_source_set_enabled(z->notify, SD_EVENT_ONESHOT);
}

static int notify_handler(sd_event_source *s, void *userdata) {
        Zeroconf *z = userdata;

        if (z->cb)
                z->cb(z, z->userdata);
        return 0;
}

/* AvahiAddress -> canonical traddr; link-local IPv6 gets "%ifname". */
static int address_to_traddr(const AvahiAddress *a, int ifindex, char *out, size_t size) {
        char buf[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
        const struct in6_addr *a6;

        if (a->proto == AVAHI_PROTO_INET) {
                if (!inet_ntop(AF_INET, &a->data.ipv4.address, buf, sizeof(buf)))
                        return -errno;
                return snprintf(out, size, "%s", buf) >= (int) size ? -ENOBUFS : 0;
        }
        if (a->proto != AVAHI_PROTO_INET6)
                return -EAFNOSUPPORT;

        a6 = (const struct in6_addr *) a->data.ipv6.address;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
                if (!inet_ntop(AF_INET, &a6->s6_addr[12], buf, sizeof(buf)))
                        return -errno;
                return snprintf(out, size, "%s", buf) >= (int) size ? -ENOBUFS : 0;
        }
        if (!inet_ntop(AF_INET6, a6, buf, sizeof(buf)))
                return -errno;
        if (IN6_IS_ADDR_LINKLOCAL(a6) && ifindex > 0 && if_indextoname(ifindex, ifname))
                return snprintf(out, size, "%s%%%s", buf, ifname) >= (int) size ? -ENOBUFS : 0;
        return snprintf(out, size, "%s", buf) >= (int) size ? -ENOBUFS : 0;
}

/* ---- services ---- */

static void service_stop_probe(Service *s) {
        s->probe_io = sd_event_source_disable_unref(s->probe_io);
        s->probe_fd = safe_close(s->probe_fd);
}

static void service_stop_timers(Service *s) {
        service_stop_probe(s);
        s->timer = sd_event_source_disable_unref(s->timer);
}

static Service *service_free(Service *s) {
        if (!s)
                return NULL;
        service_stop_timers(s);
        if (s->resolver)
                avahi_service_resolver_free(s->resolver);
        free(s->pub.transport);
        free(s->pub.traddr);
        free(s->pub.trsvcid);
        free(s->pub.subsysnqn);
        free(s->pub.host_iface);
        free(s->pub.name);
        free(s->pub.type);
        free(s->pub.domain);
        free(s->last_txt_error);
        free(s);
        return NULL;
}

static const char *service_iface(const Service *s) {
        return isempty(s->ifname) ? "?" : s->ifname;
}

/* Remove from z->services (by pointer) and free. */
static void zeroconf_drop_service(Zeroconf *z, Service *s) {
        for (size_t i = 0; i < z->n_services; i++)
                if (z->services[i] == s) {
                        memmove(z->services + i, z->services + i + 1,
                                (z->n_services - i - 1) * sizeof(Service *));
                        z->n_services--;
                        break;
                }
        if (s->pub.reachable)
                zeroconf_changed(z);
        service_free(s);
}

static void zeroconf_drop_all_services(Zeroconf *z) {
        while (z->n_services > 0)
                zeroconf_drop_service(z, z->services[z->n_services - 1]);
        free(z->services);
        z->services = NULL;
}

static Service *zeroconf_find_service(Zeroconf *z, int ifindex, int protocol, const char *name,
                                      const char *type, const char *domain) {
        for (size_t i = 0; i < z->n_services; i++) {
                Service *s = z->services[i];

                if (s->pub.ifindex == ifindex && s->pub.protocol == protocol && streq(s->pub.name, name) &&
                    streq(s->pub.type, type) && strcasecmp(s->pub.domain, domain) == 0)
                        return s;
        }
        return NULL;
}

static void service_set_reachable(Service *s, bool reachable) {
        if (s->pub.reachable == reachable)
                return;
        s->pub.reachable = reachable;
        zeroconf_changed(s->z);
}

/* Service no longer usable (resolve failed, TXT now invalid): not reachable. */
static void service_unresolve(Service *s) {
        service_stop_timers(s);
        s->resolved = false;
        s->n_failures = 0;
        service_set_reachable(s, false);
}

static int service_arm_timer(Service *s, uint64_t usec, sd_event_time_handler_t handler) {
        int r;

        s->timer = sd_event_source_disable_unref(s->timer);
        r = sd_event_add_time_relative(s->z->event, &s->timer, CLOCK_MONOTONIC, usec, USEC_PER_MSEC, handler,
                                       s);
        if (r < 0)
                return log_error_errno(r, "Failed to arm timer for service '%s': %m", s->pub.name);
        (void) sd_event_source_set_description(s->timer, "zeroconf-service");
        return 0;
}

static void service_probe_start(Service *s);

static int probe_retry_handler(sd_event_source *es, uint64_t usec, void *userdata) {
        service_probe_start(userdata);
        return 0;
}

static void service_probe_done(Service *s, int error) {
        const char *tr = s->pub.traddr, *port = s->pub.trsvcid, *ifn = service_iface(s);

        service_stop_timers(s);
        if (error == 0) {
                if (s->n_failures > 0)
                        log_info("mDNS service '%s' (%s, %s, %s, %s) is now reachable.", s->pub.name,
                                 s->pub.transport, tr, port, ifn);
                else
                        log_debug("mDNS service '%s' (%s, %s, %s, %s) is reachable.", s->pub.name,
                                  s->pub.transport, tr, port, ifn);
                s->n_failures = 0;
                service_set_reachable(s, true);
                return;
        }

        unsigned idx =
                s->n_failures < ELEMENTSOF(zc_retry_sec) ? s->n_failures : ELEMENTSOF(zc_retry_sec) - 1;
        unsigned delay = zc_retry_sec[idx];

        /* Log the first failure only; the retries are debug noise. */
        if (s->n_failures == 0)
                log_info_errno(error,
                               "mDNS service '%s' (%s, %s, %s, %s) is not reachable: %m; "
                               "retrying in %u s.",
                               s->pub.name, s->pub.transport, tr, port, ifn, delay);
        else
                log_debug_errno(error,
                                "mDNS service '%s' (%s, %s, %s, %s) still not reachable: %m; "
                                "retrying in %u s.",
                                s->pub.name, s->pub.transport, tr, port, ifn, delay);
        if (s->n_failures < UINT32_MAX)
                s->n_failures++;
        service_set_reachable(s, false);
        (void) service_arm_timer(s, delay * USEC_PER_SEC, probe_retry_handler);
}

static int probe_io_handler(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Service *s = userdata;
        int error = 0;
        socklen_t len = sizeof(error);

        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
                error = errno;
        else if (error == 0 && (revents & (EPOLLERR | EPOLLHUP)))
                error = ECONNREFUSED;
        service_probe_done(s, -error);
        return 0;
}

static int probe_timeout_handler(sd_event_source *es, uint64_t usec, void *userdata) {
        service_probe_done(userdata, -ETIMEDOUT);
        return 0;
}

/* Non-blocking connect to traddr:trsvcid bound to the interface the service
 * was seen on.  Completion: EPOLLOUT + SO_ERROR, or the connect timeout. */
static int service_probe_connect(Service *s) {
        union {
                struct sockaddr sa;
                struct sockaddr_in in;
                struct sockaddr_in6 in6;
        } sa = {};
        _cleanup_close_ int fd = -EBADF;
        char addr[INET6_ADDRSTRLEN + 1];
        const char *pct = strchr(s->pub.traddr, '%');
        size_t n = pct ? (size_t) (pct - s->pub.traddr) : strlen(s->pub.traddr);
        socklen_t salen;
        char *end;
        unsigned long port;
        int r;

        if (n >= sizeof(addr))
                return -EINVAL;
        memcpy(addr, s->pub.traddr, n);
        addr[n] = 0;
        errno = 0;
        port = strtoul(s->pub.trsvcid, &end, 10);
        if (errno || *end || port == 0 || port > 65535)
                return -EINVAL;

        if (inet_pton(AF_INET, addr, &sa.in.sin_addr) == 1) {
                sa.in.sin_family = AF_INET;
                sa.in.sin_port = htons(port);
                salen = sizeof(sa.in);
        } else if (inet_pton(AF_INET6, addr, &sa.in6.sin6_addr) == 1) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons(port);
                if (IN6_IS_ADDR_LINKLOCAL(&sa.in6.sin6_addr))
                        sa.in6.sin6_scope_id = s->pub.ifindex > 0 ? (uint32_t) s->pub.ifindex : 0;
                salen = sizeof(sa.in6);
        } else
                return -EINVAL;

        fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;

        /* Same path the kernel's nvme-tcp will use with host-iface. */
        if (!isempty(s->pub.host_iface) && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->pub.host_iface,
                                                      strlen(s->pub.host_iface) + 1) < 0)
                log_debug_errno(errno, "SO_BINDTODEVICE %s failed, probing unbound: %m", s->pub.host_iface);

        if (connect(fd, &sa.sa, salen) < 0) {
                if (errno != EINPROGRESS)
                        return -errno;
        } else {
                /* Connected at once (loopback can do that). */
                return 1;
        }

        r = sd_event_add_io(s->z->event, &s->probe_io, fd, EPOLLOUT, probe_io_handler, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->probe_io, "zeroconf-probe");
        s->probe_fd = TAKE_FD(fd);
        r = service_arm_timer(s, ZC_CONNECT_TIMEOUT, probe_timeout_handler);
        if (r < 0)
                return r;
        return 0;
}

static void service_probe_start(Service *s) {
        int r;

        service_stop_timers(s);
        if (!s->resolved)
                return;
        if (!streq(s->pub.transport, "tcp")) {
                /* No cheap probe for RDMA: trust the announcement. */
                service_set_reachable(s, true);
                return;
        }
        r = service_probe_connect(s);
        if (r > 0)
                service_probe_done(s, 0);
        else if (r < 0) {
                service_stop_probe(s);
                service_probe_done(s, r);
        }
}

static void zeroconf_check_duplicate(Zeroconf *z, Service *s) {
        if (s->dup_warned || strchr(s->pub.traddr, '%'))
                return;
        for (size_t i = 0; i < z->n_services; i++) {
                Service *o = z->services[i];

                if (o == s || !o->resolved || o->pub.ifindex == s->pub.ifindex ||
                    !streq(o->pub.traddr, s->pub.traddr))
                        continue;
                log_warning("mDNS: address %s is announced on two interfaces, %s ('%s') and %s ('%s'); "
                            "check the network configuration.",
                            s->pub.traddr, service_iface(o), o->pub.name, service_iface(s), s->pub.name);
                s->dup_warned = o->dup_warned = true;
                return;
        }
}

/* Log a TXT problem once per distinct message per service; true if logged. */
static bool service_txt_complaint(Service *s, int level, const char *msg) {
        if (streq_ptr(s->last_txt_error, msg))
                return false;
        log_full(level, "mDNS service '%s' on %s: %s", s->pub.name, service_iface(s), msg);
        (void) free_and_strdup(&s->last_txt_error, msg);
        return true;
}

static int parse_txt(Service *s, AvahiStringList *txt, ZeroconfTxt *t) {
        char msg[256];
        int r;

        zeroconf_txt_init(t);
        for (AvahiStringList *l = txt; l; l = avahi_string_list_get_next(l)) {
                r = zeroconf_txt_add(t, avahi_string_list_get_text(l), avahi_string_list_get_size(l));
                if (r < 0)
                        return r;
                if (r == ZEROCONF_TXT_NONPRINTABLE || r == ZEROCONF_TXT_BAD_NQN) {
                        (void) snprintf(msg, sizeof(msg), "ignoring TXT entry with %s.",
                                        zeroconf_txt_entry_to_string(r));
                        service_txt_complaint(s, LOG_WARNING, msg);
                }
        }
        r = zeroconf_txt_finish(t);
        if (r == -ENOENT)
                service_txt_complaint(s, LOG_ERR, "no protocol (p=) in TXT record; service ignored.");
        else if (r == -EPROTONOSUPPORT) {
                (void) snprintf(msg, sizeof(msg),
                                "unsupported protocol p=%s in TXT record; service ignored.", t->protocol);
                service_txt_complaint(s, LOG_ERR, msg);
        }
        return r;
}

static void resolver_cb(AvahiServiceResolver *r, AvahiIfIndex ifindex, AvahiProtocol protocol,
                        AvahiResolverEvent event, const char *name, const char *type, const char *domain,
                        const char *host_name, const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
                        AvahiLookupResultFlags flags, void *userdata);

static int resolve_retry_handler(sd_event_source *es, uint64_t usec, void *userdata);

/* A resolution failed: retry later and later; warn once per streak (and
 * when the error changes), like connect failures, then only at debug. */
static void service_resolve_failed(Service *s, int e) {
        unsigned i = s->n_resolve_failures < ELEMENTSOF(zc_resolve_retry_sec)
                             ? s->n_resolve_failures
                             : ELEMENTSOF(zc_resolve_retry_sec) - 1;
        unsigned delay = zc_resolve_retry_sec[i];

        s->n_resolve_failures++;
        if (s->n_resolve_failures == 1 || e != s->resolve_error)
                log_avahi(
                        LOG_WARNING, e,
                        "Failed to resolve mDNS service '%s' (%s) on %s; retrying in %u s, then less often "
                        "(up to every %u s)",
                        s->pub.name, s->pub.type, service_iface(s), delay,
                        zc_resolve_retry_sec[ELEMENTSOF(zc_resolve_retry_sec) - 1]);
        else
                log_avahi(LOG_DEBUG, e,
                          "mDNS service '%s' on %s: resolution attempt %u failed; next in %u s", s->pub.name,
                          service_iface(s), s->n_resolve_failures, delay);
        s->resolve_error = e;
        (void) service_arm_timer(s, (uint64_t) delay * USEC_PER_SEC, resolve_retry_handler);
}

static int service_resolve(Service *s) {
        Zeroconf *z = s->z;

        if (s->resolver || !z->client)
                return 0;
        /* Address of the same family as the announcement: an IPv6 browse
         * result yields the IPv6 address, an IPv4 one the IPv4 address. */
        s->resolver =
                avahi_service_resolver_new(z->client, s->pub.ifindex, s->pub.protocol, s->pub.name,
                                           s->pub.type, s->pub.domain, s->pub.protocol, 0, resolver_cb, s);
        if (!s->resolver) {
                int e = avahi_client_errno(z->client);

                service_resolve_failed(s, e);
                return avahi_error_to_errno(e);
        }
        return 0;
}

static int resolve_retry_handler(sd_event_source *es, uint64_t usec, void *userdata) {
        Service *s = userdata;

        s->timer = sd_event_source_disable_unref(s->timer);
        (void) service_resolve(s);
        return 0;
}

static void resolver_cb(AvahiServiceResolver *r, AvahiIfIndex ifindex, AvahiProtocol protocol,
                        AvahiResolverEvent event, const char *name, const char *type, const char *domain,
                        const char *host_name, const AvahiAddress *a, uint16_t port, AvahiStringList *txt,
                        AvahiLookupResultFlags flags, void *userdata) {
        Service *s = userdata;
        Zeroconf *z = s->z;
        ZeroconfTxt t;
        char traddr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], portstr[8];
        bool changed;
        int k;

        if (event == AVAHI_RESOLVER_FAILURE) {
                int e = z->client ? avahi_client_errno(z->client) : AVAHI_ERR_FAILURE;

                avahi_service_resolver_free(r);
                s->resolver = NULL;
                service_unresolve(s);
                service_resolve_failed(s, e);
                return;
        }
        if (event != AVAHI_RESOLVER_FOUND || !a)
                return;
        if (s->n_resolve_failures > 0) {
                log_info("mDNS service '%s' on %s resolved after %u failed attempt(s)", name,
                         service_iface(s), s->n_resolve_failures);
                s->n_resolve_failures = 0;
        }

        k = parse_txt(s, txt, &t);
        if (k == -ENOMEM) {
                log_oom();
                zeroconf_txt_done(&t);
                return;
        }
        if (k < 0) {
                zeroconf_txt_done(&t);
                service_unresolve(s);
                return;
        }
        k = address_to_traddr(a, ifindex, traddr, sizeof(traddr));
        if (k < 0) {
                log_warning_errno(k, "mDNS service '%s' on %s: unusable address: %m", name,
                                  service_iface(s));
                zeroconf_txt_done(&t);
                service_unresolve(s);
                return;
        }
        (void) snprintf(portstr, sizeof(portstr), "%u", (unsigned) port);

        /* What the network said must pass the transport id validator
         * before it can become a DC (issue 11): logged once per service
         * and problem, counted for process_info. */
        {
                const char *what = NULL;

                if (!validate_nqn(t.subsysnqn))
                        what = "TXT nqn= is not a valid NQN (NVMe NQN format; no ',', '=', white space or "
                               "control characters); service ignored.";
                else if (!validate_ip(traddr))
                        what = "resolved address is not a usable IP address; service ignored.";
                else if (!validate_port(portstr))
                        what = "port is not 1-65535; service ignored.";
                else if (streq(t.transport, "tcp") && !validate_ifname(s->ifname))
                        what = "seen on an interface whose name cannot be used as host-iface; service "
                               "ignored.";
                if (what) {
                        if (service_txt_complaint(s, LOG_WARNING, what))
                                z->n_rejected++;
                        zeroconf_txt_done(&t);
                        service_unresolve(s);
                        return;
                }
        }
        free(s->last_txt_error);
        s->last_txt_error = NULL;

        changed = !s->resolved || !streq(s->pub.transport, t.transport) || !streq(s->pub.traddr, traddr) ||
                  !streq(s->pub.trsvcid, portstr) || !streq(s->pub.subsysnqn, t.subsysnqn);
        if (!changed) {
                zeroconf_txt_done(&t);
                return;
        }

        if (free_and_strdup(&s->pub.transport, t.transport) < 0 ||
            free_and_strdup(&s->pub.traddr, traddr) < 0 || free_and_strdup(&s->pub.trsvcid, portstr) < 0 ||
            free_and_strdup(&s->pub.subsysnqn, t.subsysnqn) < 0) {
                log_oom();
                zeroconf_txt_done(&t);
                service_unresolve(s);
                return;
        }
        zeroconf_txt_done(&t);

        /* host-iface: the interface it was seen on, for tcp only. */
        if (free_and_strdup(&s->pub.host_iface, streq(s->pub.transport, "tcp") ? s->ifname : "") < 0) {
                log_oom();
                service_unresolve(s);
                return;
        }

        log_info("mDNS: found service '%s' (%s) on %s/%s: %s %s:%s host %s, nqn %s.", name, type,
                 service_iface(s), proto_str(protocol), s->pub.transport, s->pub.traddr, s->pub.trsvcid,
                 strempty(host_name), s->pub.subsysnqn);

        /* Changed identity: whatever we knew about reachability is stale. */
        service_unresolve(s);
        s->resolved = true;
        zeroconf_changed(z);
        zeroconf_check_duplicate(z, s);
        service_probe_start(s);
}

static void zeroconf_service_new(Zeroconf *z, int ifindex, int protocol, const char *name, const char *type,
                                 const char *domain) {
        _cleanup_(freep) Service *s = NULL;
        Service **l;
        char ifname[IF_NAMESIZE];

        s = calloc(1, sizeof(*s));
        if (!s) {
                log_oom();
                return;
        }
        s->z = z;
        s->probe_fd = -EBADF;
        s->pub.ifindex = ifindex;
        s->pub.protocol = protocol;
        s->pub.name = strdup(name);
        s->pub.type = strdup(type);
        s->pub.domain = strdup(domain);
        s->pub.transport = strdup("");
        s->pub.traddr = strdup("");
        s->pub.trsvcid = strdup("");
        s->pub.subsysnqn = strdup("");
        if (if_indextoname(ifindex, ifname))
                memcpy(s->ifname, ifname, sizeof(s->ifname));
        s->pub.host_iface = strdup("");
        l = reallocarray(z->services, z->n_services + 1, sizeof(Service *));
        if (l)
                z->services = l;
        if (!l || !s->pub.name || !s->pub.type || !s->pub.domain || !s->pub.transport || !s->pub.traddr ||
            !s->pub.trsvcid || !s->pub.subsysnqn || !s->pub.host_iface) {
                service_free(TAKE_PTR(s));
                log_oom();
                return;
        }
        z->services[z->n_services++] = s;
        log_debug("mDNS: new service '%s' (%s) on %s/%s.", name, type, service_iface(s),
                  proto_str(protocol));
        (void) service_resolve(TAKE_PTR(s));
}

/* ---- browsers and client ---- */

static void zeroconf_free_browsers(Zeroconf *z) {
        for (size_t i = 0; i < ZC_N_TYPES; i++)
                if (z->browsers[i]) {
                        avahi_service_browser_free(z->browsers[i]);
                        z->browsers[i] = NULL;
                }
}

static void zeroconf_restart_client_soon(Zeroconf *z, uint64_t usec);

static void browser_cb(AvahiServiceBrowser *b, AvahiIfIndex ifindex, AvahiProtocol protocol,
                       AvahiBrowserEvent event, const char *name, const char *type, const char *domain,
                       AvahiLookupResultFlags flags, void *userdata) {
        Zeroconf *z = userdata;
        Service *s;

        switch (event) {
        case AVAHI_BROWSER_NEW:
                if (!name || !type || !domain)
                        return;
                if (zeroconf_find_service(z, ifindex, protocol, name, type, domain))
                        return;
                zeroconf_service_new(z, ifindex, protocol, name, type, domain);
                return;
        case AVAHI_BROWSER_REMOVE:
                if (!name || !type || !domain)
                        return;
                s = zeroconf_find_service(z, ifindex, protocol, name, type, domain);
                if (!s)
                        return;
                log_info("mDNS: service '%s' (%s) on %s/%s withdrawn.", name, type, service_iface(s),
                         proto_str(protocol));
                zeroconf_drop_service(z, s);
                return;
        case AVAHI_BROWSER_ALL_FOR_NOW:
        case AVAHI_BROWSER_CACHE_EXHAUSTED:
                log_debug("mDNS browser: %s.",
                          event == AVAHI_BROWSER_ALL_FOR_NOW ? "all for now" : "cache exhausted");
                return;
        case AVAHI_BROWSER_FAILURE:
                log_avahi(LOG_WARNING, z->client ? avahi_client_errno(z->client) : AVAHI_ERR_FAILURE,
                          "mDNS browser failed; restarting avahi client in %u s",
                          (unsigned) (ZC_CLIENT_RETRY / USEC_PER_SEC));
                zeroconf_restart_client_soon(z, ZC_CLIENT_RETRY);
                return;
        }
}

static int zeroconf_create_browsers(Zeroconf *z) {
        bool created = false;

        for (size_t i = 0; i < ZC_N_TYPES; i++) {
                if (z->browsers[i])
                        continue;
                created = true;
                z->browsers[i] = avahi_service_browser_new(z->client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                           zc_service_types[i], ZC_DOMAIN, 0, browser_cb, z);
                if (!z->browsers[i]) {
                        int e = avahi_client_errno(z->client);

                        log_avahi(LOG_ERR, e, "Failed to browse %s; retrying in %u s", zc_service_types[i],
                                  (unsigned) (ZC_CLIENT_RETRY / USEC_PER_SEC));
                        zeroconf_restart_client_soon(z, ZC_CLIENT_RETRY);
                        return avahi_error_to_errno(e);
                }
        }
        if (created)
                log_debug("mDNS: browsing %s and %s.", zc_service_types[0], zc_service_types[1]);
        return 0;
}

static void client_cb(AvahiClient *c, AvahiClientState state, void *userdata) {
        Zeroconf *z = userdata;

        /* The first call comes from inside avahi_client_new(), before it
         * has returned the client to us. */
        if (!z->client)
                z->client = c;
        if (c != z->client)
                return;

        switch (state) {
        case AVAHI_CLIENT_S_RUNNING:
        case AVAHI_CLIENT_S_REGISTERING:
        case AVAHI_CLIENT_S_COLLISION:
                if (z->daemon == DAEMON_ABSENT)
                        log_info("avahi-daemon is back.");
                else if (z->daemon == DAEMON_UNKNOWN)
                        log_debug("Connected to avahi-daemon %s.",
                                  strempty(avahi_client_get_version_string(c)));
                z->daemon = DAEMON_PRESENT;
                (void) zeroconf_create_browsers(z);
                return;
        case AVAHI_CLIENT_CONNECTING:
                if (z->daemon != DAEMON_ABSENT)
                        log_notice("avahi-daemon is not running; will browse when it appears.");
                z->daemon = DAEMON_ABSENT;
                return;
        case AVAHI_CLIENT_FAILURE:
                if (z->daemon != DAEMON_ABSENT)
                        log_avahi(LOG_WARNING, avahi_client_errno(c),
                                  "Lost avahi-daemon; will browse when it appears");
                z->daemon = DAEMON_ABSENT;
                /* Not inside its own callback: replace it from the loop. */
                zeroconf_restart_client_soon(z, 0);
                return;
        }
}

static void zeroconf_stop_client(Zeroconf *z) {
        zeroconf_drop_all_services(z);
        zeroconf_free_browsers(z);
        if (z->client) {
                avahi_client_free(z->client);
                z->client = NULL;
        }
}

static int zeroconf_start_client(Zeroconf *z) {
        AvahiClient *c;
        int e = 0;

        c = avahi_client_new(avahi_sd_poll_get(z->poll), AVAHI_CLIENT_NO_FAIL, client_cb, z, &e);
        if (!c) {
                /* Without NO_FAIL's help: typically no system bus at all. */
                if (z->daemon != DAEMON_ABSENT)
                        log_avahi(LOG_NOTICE, e,
                                  "avahi-daemon is not running (cannot create avahi client); "
                                  "will browse when it appears");
                z->daemon = DAEMON_ABSENT;
                z->client = NULL;
                zeroconf_restart_client_soon(z, ZC_CLIENT_RETRY);
                return avahi_error_to_errno(e);
        }
        z->client = c;
        return 0;
}

static int client_timer_handler(sd_event_source *es, uint64_t usec, void *userdata) {
        Zeroconf *z = userdata;

        zeroconf_stop_client(z);
        if (z->enabled)
                (void) zeroconf_start_client(z);
        return 0;
}

static void zeroconf_restart_client_soon(Zeroconf *z, uint64_t usec) {
        uint64_t now;

        if (sd_event_now(z->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_set_time(z->client_timer, now + usec);
        (void) sd_event_source_set_enabled(z->client_timer, SD_EVENT_ONESHOT);
}

/* ---- public ---- */

int zeroconf_new(Zeroconf **ret, sd_event *e, ZeroconfChangedFn cb, void *userdata) {
        Zeroconf *z;
        int r;

        if (!ret || !e)
                return -EINVAL;
        z = calloc(1, sizeof(*z));
        if (!z)
                return -ENOMEM;
        z->event = sd_event_ref(e);
        z->cb = cb;
        z->userdata = userdata;

        r = avahi_sd_poll_new(&z->poll, e);
        if (r < 0)
                goto fail;
        r = sd_event_add_defer(e, &z->notify, notify_handler, z);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(z->notify, SD_EVENT_OFF);
        (void) sd_event_source_set_description(z->notify, "zeroconf-notify");
        r = sd_event_add_time(e, &z->client_timer, CLOCK_MONOTONIC, USEC_INFINITY, USEC_PER_MSEC,
                              client_timer_handler, z);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_enabled(z->client_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(z->client_timer, "zeroconf-client");

        *ret = z;
        return 0;
fail:
        zeroconf_free(z);
        return r;
}

Zeroconf *zeroconf_free(Zeroconf *z) {
        if (!z)
                return NULL;
        zeroconf_stop_client(z);
        z->notify = sd_event_source_disable_unref(z->notify);
        z->client_timer = sd_event_source_disable_unref(z->client_timer);
        avahi_sd_poll_free(z->poll);
        free(z->view);
        sd_event_unref(z->event);
        free(z);
        return NULL;
}

int zeroconf_set_enabled(Zeroconf *z, bool enabled) {
        if (!z)
                return -EINVAL;
        if (z->enabled == enabled)
                return 0;
        z->enabled = enabled;
        if (!enabled) {
                log_info("mDNS discovery disabled.");
                (void) sd_event_source_set_enabled(z->client_timer, SD_EVENT_OFF);
                zeroconf_stop_client(z);
                z->daemon = DAEMON_UNKNOWN;
                return 0;
        }
        log_info("mDNS discovery enabled: browsing %s and %s.", zc_service_types[0], zc_service_types[1]);
        /* A missing avahi-daemon (or bus) is not an error for our caller:
         * the client follows it and the retry timer is armed. */
        (void) zeroconf_start_client(z);
        return 0;
}

static bool same_dc(const ZeroconfService *a, const ZeroconfService *b) {
        return streq(a->transport, b->transport) && streq(a->traddr, b->traddr) &&
               streq(a->trsvcid, b->trsvcid) && streq(a->host_iface, b->host_iface) &&
               streq(a->subsysnqn, b->subsysnqn);
}

size_t zeroconf_get_services(Zeroconf *z, ZeroconfService *const **ret) {
        ZeroconfService **v;
        size_t n = 0;

        if (!z || !ret)
                return 0;
        v = reallocarray(z->view, z->n_services + 1, sizeof(ZeroconfService *));
        if (!v) {
                log_oom();
                *ret = (ZeroconfService *const *) z->view;
                return 0;
        }
        z->view = v;
        for (size_t i = 0; i < z->n_services; i++) {
                Service *s = z->services[i];
                bool dup = false;

                if (!s->resolved || !s->pub.reachable)
                        continue;
                /* The same DC announced over IPv4 and IPv6, or as _tcp and _udp. */
                for (size_t j = 0; j < n && !dup; j++)
                        dup = same_dc(v[j], &s->pub);
                if (!dup)
                        v[n++] = &s->pub;
        }
        v[n] = NULL;
        *ret = (ZeroconfService *const *) v;
        return n;
}

bool zeroconf_is_announced(Zeroconf *z, const char *transport, const char *traddr, const char *trsvcid) {
        if (!z || !transport || !traddr || !trsvcid || ip_family_of(traddr) == 0)
                return false;
        for (size_t i = 0; i < z->n_services; i++) {
                Service *s = z->services[i];

                if (!s->resolved || strcasecmp(s->pub.transport, transport) != 0 ||
                    !streq(s->pub.trsvcid, trsvcid))
                        continue;
                /* lib/tid's address equality; a caller without %scope
                 * matches any scope. */
                if (ip_family_of(s->pub.traddr) != 0 && ip_equal_any_scope(traddr, s->pub.traddr))
                        return true;
        }
        return false;
}

unsigned zeroconf_n_rejected(Zeroconf *z) {
        return z ? z->n_rejected : 0;
}

struct json_object *zeroconf_to_json(Zeroconf *z) {
        struct json_object *root, *types, *services;

        root = json_object_new_object();
        types = json_object_new_array();
        services = json_object_new_object();
        if (!root || !types || !services) {
                json_object_put(root);
                json_object_put(types);
                json_object_put(services);
                return NULL;
        }
        for (size_t i = 0; i < ZC_N_TYPES; i++)
                json_object_array_add(types, json_object_new_string(zc_service_types[i]));
        json_object_object_add(root, "service types", types);
        json_object_object_add(root, "avahi-daemon",
                               json_object_new_string(!z || !z->enabled             ? "disabled"
                                                      : z->daemon == DAEMON_PRESENT ? "running"
                                                                                    : "not running"));

        for (size_t i = 0; z && i < z->n_services; i++) {
                Service *s = z->services[i];
                struct json_object *o = json_object_new_object();
                char key[1024];

                if (!o)
                        break;
                /* Same spelling as the Python daemon's tuple key. */
                (void) snprintf(key, sizeof(key), "(%d, %d, '%s', '%s', '%s')", s->pub.ifindex,
                                s->pub.protocol, s->pub.name, s->pub.type, s->pub.domain);
                json_object_object_add(o, "interface", json_object_new_string(service_iface(s)));
                json_object_object_add(o, "protocol", json_object_new_string(proto_str(s->pub.protocol)));
                json_object_object_add(o, "name", json_object_new_string(s->pub.name));
                json_object_object_add(o, "type", json_object_new_string(s->pub.type));
                json_object_object_add(o, "domain", json_object_new_string(s->pub.domain));
                json_object_object_add(o, "resolved", json_object_new_boolean(s->resolved));
                json_object_object_add(o, "transport", json_object_new_string(s->pub.transport));
                json_object_object_add(o, "traddr", json_object_new_string(s->pub.traddr));
                json_object_object_add(o, "trsvcid", json_object_new_string(s->pub.trsvcid));
                json_object_object_add(o, "subsysnqn", json_object_new_string(s->pub.subsysnqn));
                json_object_object_add(o, "host-iface", json_object_new_string(s->pub.host_iface));
                json_object_object_add(o, "reachable", json_object_new_boolean(s->pub.reachable));
                json_object_object_add(services, key, o);
        }
        json_object_object_add(root, "services", services);
        return root;
}

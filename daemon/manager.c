/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The manager: owns the DC set (index by TID and by device, zombies), runs
 * reconciliation of configured, referral, mDNS and NBFT candidates against
 * it, routes uevents to DCs, reloads on SIGHUP and stops on SIGTERM.  The
 * bus, the cache file (persist.c), the fabric and mDNS are their own modules
 * that it wires together.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <systemd/sd-daemon.h>

#include "bus.h"
#include "config.h"
#include "coop.h"
#include "firmware.h"
#include "dc.h"
#include "fabric.h"
#include "filter.h"
#include "handoff.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "persist.h"
#include "resolve.h"
#include "strv.h"
#include "sysfs.h"
#include "udev.h"
#include "validate.h"
#include "zeroconf.h"

#define RECONCILE_DELAY_USEC (1500 * USEC_PER_MSEC)
/* On stop, how long operations blocked in the kernel are waited for. */
#define STOP_WAIT_USEC (20 * USEC_PER_SEC)
/* Lanes of the fabric pool: connects, and everything else (log pages, DIM,
 * disconnects, identity).  The kernel serialises fabrics connects (one
 * mutex around /dev/nvme-fabrics), so more than 2 connect workers would only
 * queue in the kernel, where stop cannot drop them. */
#define FABRIC_CONNECT_WORKERS 2
#define FABRIC_CONTROL_WORKERS 4

static void manager_apply_log_level(Manager *m) {
        bool on = m->tron || (m->conf && m->conf->tron);
        bool was = log_get_max_level() >= LOG_DEBUG;

        log_set_max_level(on ? LOG_DEBUG : LOG_INFO);
        if (m->fabric)
                fabric_set_debug(m->fabric, on);
        /* A reload can switch tron too: tell property watchers. */
        if (m->bus && was != on)
                (void) sd_bus_emit_properties_changed(m->bus, STAF_BUS_PATH, STAF_IFACE_DBG, "tron",
                                                      "log_level", NULL);
}

int manager_set_tron(Manager *m, bool on) {
        m->tron = on;
        if (!on && m->conf)
                m->conf->tron = false;
        manager_apply_log_level(m);
        log_info("Trace %s", on ? "on" : "off");
        return 0;
}

/* ---- the DC set ---- */

Dc *manager_find_dc(Manager *m, const Tid *tid) {
        /* Every DC in the set passed validation: an invalid id names none. */
        if (!tid || tid_validate(tid, NULL, NULL) < 0)
                return NULL;
        return tid_index_get(m->dc_index, tid);
}

/* "nvme12" -> 12; -EINVAL for anything else. */
static long devnum_of(const char *device) {
        unsigned long n = 0;
        const char *p;

        if (!device || strncmp(device, "nvme", 4) != 0 || !device[4] || strlen(device) > 12)
                return -EINVAL;
        for (p = device + 4; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                n = n * 10 + (unsigned long) (*p - '0');
        }
        return n < (1UL << 20) ? (long) n : -ERANGE;
}

static void devnum_forget(Manager *m, Dc *dc) {
        if (dc->devnum_slot > 0 && dc->devnum_slot <= m->n_by_devnum &&
            m->by_devnum[dc->devnum_slot - 1] == dc)
                m->by_devnum[dc->devnum_slot - 1] = NULL;
        dc->devnum_slot = 0;
}

static void devnum_remember(Manager *m, Dc *dc, long n) {
        if (n < 0)
                return;
        if ((size_t) n >= m->n_by_devnum) {
                size_t k = m->n_by_devnum ?: 64;
                Dc **t;

                while (k <= (size_t) n)
                        k *= 2;
                t = reallocarray(m->by_devnum, k, sizeof(Dc *));
                if (!t)
                        return; /* only a cache */
                memset(t + m->n_by_devnum, 0, (k - m->n_by_devnum) * sizeof(Dc *));
                m->by_devnum = t;
                m->n_by_devnum = k;
        }
        if (m->by_devnum[n] && m->by_devnum[n] != dc)
                m->by_devnum[n]->devnum_slot = 0;
        devnum_forget(m, dc);
        m->by_devnum[n] = dc;
        dc->devnum_slot = (size_t) n + 1;
}

Dc *manager_find_dc_by_device(Manager *m, const char *device) {
        long n = devnum_of(device);
        Dc *dc;

        if (n >= 0 && (size_t) n < m->n_by_devnum) {
                dc = m->by_devnum[n];
                if (dc && streq(dc->device, device))
                        return dc;
        }
        /* Devices change under a DC (reconnects): find it and remember. */
        for (size_t i = 0; i < m->n_dcs; i++)
                if (m->dcs[i]->device[0] && streq(m->dcs[i]->device, device)) {
                        devnum_remember(m, m->dcs[i], n);
                        return m->dcs[i];
                }
        return NULL;
}

int manager_add_dc(Manager *m, Dc *dc) {
        int r;

        if (m->n_dcs % 64 == 0) {
                Dc **t = reallocarray(m->dcs, m->n_dcs + 64, sizeof(Dc *));

                if (!t)
                        return -ENOMEM;
                m->dcs = t;
        }
        r = tid_index_put(m->dc_index, &dc->tid, dc);
        if (r < 0)
                return r;
        m->dcs[m->n_dcs++] = dc;
        return 0;
}

/* Take dc out of the index and the device cache (not out of dcs[]). */
static void manager_unindex_dc(Manager *m, Dc *dc) {
        (void) tid_index_remove(m->dc_index, &dc->tid);
        devnum_forget(m, dc);
}

/* Delete a DC (already out of the set): disconnect it now, or once its
 * in-flight operation is done. */
static void manager_delete_dc(Manager *m, Dc *dc, bool disconnect) {
        if (dc_begin_delete(dc, disconnect)) {
                dc_free(dc);
                return;
        }
        if (m->n_zombies % 64 == 0) {
                Dc **t = reallocarray(m->zombies, m->n_zombies + 64, sizeof(Dc *));

                if (!t) {
                        /* Cannot track it: let the operation's result be ignored. */
                        (void) log_oom();
                        dc_free(dc);
                        return;
                }
                m->zombies = t;
        }
        dc->zombie_slot = m->n_zombies;
        m->zombies[m->n_zombies++] = dc;
}

/* Stopping is done once no operation that must finish is left. */
static void manager_maybe_exit(Manager *m) {
        if (m->stopping && m->n_zombies == 0 && m->n_disconnecting == 0)
                (void) sd_event_exit(m->event, 0);
}

/* Stop took too long: operations still blocked in the kernel are left to
 * the exiting process (see docs/design.md, "Stop time"). */
static int on_stop_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("Stopping: %u operation(s) still blocked in the kernel after %us; exiting without them",
                    fabric_n_running(m->fabric), (unsigned) (STOP_WAIT_USEC / USEC_PER_SEC));
        m->abandon_workers = true;
        (void) sd_event_exit(m->event, 0);
        return 0;
}

typedef struct Disconnect {
        Manager *manager;
        char *name;
        char device[32];
} Disconnect;

static void on_disconnect_done(FabricOp *op, int error, unsigned status, void *result, void *userdata) {
        Disconnect *d = userdata;
        char buf[128];

        if (error != 0)
                log_warning("%s: disconnect failed: %s", d->name,
                            fabric_strerror(error, status, buf, sizeof(buf)));
        else
                coop_disconnected(d->manager->coop, d->device); /* coop: our registry entry goes */
        fabric_set_owned(d->manager->fabric, d->device, false);
        d->manager->n_disconnecting--;
        manager_maybe_exit(d->manager);
        free(d->name);
        free(d);
}

static void manager_disconnect(Manager *m, const char *device, const char *name) {
        Disconnect *d = calloc(1, sizeof(Disconnect));

        if (!d || !(d->name = strdup(name))) {
                free(d);
                (void) log_oom();
                return;
        }
        d->manager = m;
        (void) snprintf(d->device, sizeof(d->device), "%s", device);
        if (fabric_disconnect(m->fabric, device, on_disconnect_done, d, NULL) < 0) {
                log_warning("%s: cannot disconnect %s", name, device);
                free(d->name);
                free(d);
                return;
        }
        m->n_disconnecting++;
}

static void manager_zombie_done(Manager *m, Dc *dc) {
        size_t i = dc->zombie_slot;

        if (i < m->n_zombies && m->zombies[i] == dc) {
                /* Unordered: move the last one into the hole. */
                m->zombies[i] = m->zombies[--m->n_zombies];
                m->zombies[i]->zombie_slot = i;
        }
        dc_free(dc);
        manager_maybe_exit(m);
}

/* ---- reconciliation ---- */

/* Configured DCs named by host name: the resolved address stands in for the
 * name (exclusions apply to both spellings).  Returns a shallow copy of the
 * configuration whose controller list is *ret_list (free both with free()). */
static int resolve_configured(Manager *m, Conf *ret_conf, ConfController **ret_list) {
        size_t n = 0, n_nbft = m->firmware ? m->firmware->n_nbft : 0;
        ConfController *l;

        l = calloc(m->conf->n_controllers + n_nbft ?: 1, sizeof(ConfController));
        if (!l)
                return -ENOMEM;
        /* NBFT DCs count as configured, after stafd.conf's lines (which win
         * for a DC named in both). */
        for (size_t i = 0; i < m->conf->n_controllers + n_nbft; i++) {
                const ConfController *c = i < m->conf->n_controllers
                                                  ? &m->conf->controllers[i]
                                                  : &m->firmware->nbft[i - m->conf->n_controllers].conf;
                const char *addr = NULL;
                Tid t;
                int r;

                l[n] = *c;
                if (!c->transport || !c->traddr ||
                    (!streq(c->transport, "tcp") && !streq(c->transport, "rdma")) ||
                    ip_family_of(c->traddr) != 0) {
                        n++;
                        continue;
                }
                /* Excluded by name: no need to resolve it. */
                if (tid_init(&t, c->transport, c->traddr, c->trsvcid, c->nqn, c->host_traddr, c->host_iface,
                             c->host_nqn, m->sys->hostnqn, m->conf->ignore_iface) >= 0) {
                        long k = filter_excluded(m->conf->excludes, m->conf->n_excludes, &t);

                        tid_done(&t);
                        if (k >= 0) {
                                log_debug("%s excluded by name (line %u)", c->traddr,
                                          m->conf->excludes[k].line);
                                continue;
                        }
                }
                r = resolver_lookup(m->resolver, c->traddr, m->conf->ip_family, &addr);
                if (r <= 0)
                        continue; /* in flight, or failed: not a candidate (yet) */
                l[n++].traddr = (char *) addr;
        }
        *ret_conf = *m->conf;
        ret_conf->controllers = l;
        ret_conf->n_controllers = n;
        *ret_list = l;
        return 0;
}

/* A string from the network, printable for the log: bytes outside
 * printable ASCII become \xNN, long strings are cut. */
static const char *log_escape(const char *s, char *buf, size_t size) {
        size_t o = 0;

        for (const unsigned char *p = (const unsigned char *) strempty(s); *p && o + 5 < size; p++) {
                if (*p < 0x20 || *p >= 0x7f || *p == '\\')
                        o += (size_t) snprintf(buf + o, size - o, "\\x%02x", *p);
                else
                        buf[o++] = (char) *p;
        }
        buf[o] = 0;
        return buf;
}

/* What candidate building said about each DC's referrals: one warning per
 * DC when its numbers change (a log that stays the same is not re-logged),
 * counters for controller_info and process_info. */
static void report_referrals(Manager *m, const CandidateSet *cand, const ReferralSource *refs,
                             const size_t *ref_start) {
        unsigned total = 0;

        for (size_t i = 0; i < m->n_dcs; i++) {
                Dc *dc = m->dcs[i];
                size_t first_bad = SIZE_MAX, n_refs = ref_start[i + 1] - ref_start[i];
                unsigned bad = 0, over_dc = 0, over_total = 0;

                for (size_t k = ref_start[i]; k < ref_start[i + 1]; k++)
                        switch (cand->ref_out[k].verdict) {
                        case CANDIDATE_INVALID:
                                if (bad++ == 0)
                                        first_bad = k;
                                break;
                        case CANDIDATE_OVER_DC_CAP:
                                over_dc++;
                                break;
                        case CANDIDATE_OVER_TOTAL_CAP:
                                over_total++;
                                break;
                        default:
                                break;
                        }

                if (bad != dc->n_rejected && bad > 0) {
                        const CandidateOutcome *o = &cand->ref_out[first_bad];
                        const DlpEntry *e = refs[first_bad].entry;
                        char b1[128], b2[128];

                        log_dc(LOG_WARNING, dc->name, dc_device(dc),
                               "Ignoring %u of %zu referral(s) in the discovery log that fail validation; "
                               "first: referral to %s port %s, %s %s",
                               bad, n_refs, log_escape(dlpe_get(e, DLPE_TRADDR), b1, sizeof(b1)),
                               log_escape(dlpe_get(e, DLPE_TRSVCID), b2, sizeof(b2)),
                               tid_field_names[o->field], o->reason);
                }
                if (over_dc + over_total != dc->n_capped && over_dc + over_total > 0) {
                        if (over_dc > 0)
                                log_dc(LOG_WARNING, dc->name, dc_device(dc),
                                       "max-referrals-per-dc=%u reached: not following %u of its %zu "
                                       "referral(s)%s",
                                       m->conf->max_referrals_per_dc, over_dc + over_total, n_refs,
                                       over_total > 0 ? " (max-dcs reached too)" : "");
                        else
                                log_dc(LOG_WARNING, dc->name, dc_device(dc),
                                       "max-dcs=%u reached: not following %u of its %zu referral(s)",
                                       m->conf->max_dcs, over_total, n_refs);
                }
                dc->n_rejected = bad;
                dc->n_capped = over_dc + over_total;
                total += bad;
        }
        m->n_rejected_referrals = total;
}

static void report_configured(Manager *m, const CandidateSet *cand, const Conf *resolved) {
        unsigned bad = 0;
        bool log = m->conf_checked != m->conf;

        for (size_t i = 0; i < resolved->n_controllers; i++) {
                const CandidateOutcome *o = &cand->conf_out[i];

                if (o->verdict != CANDIDATE_INVALID)
                        continue;
                bad++;
                if (log)
                        log_warning("%s:%u: controller= ignored: %s %s", strempty(m->conf->path),
                                    resolved->controllers[i].line, tid_field_names[o->field], o->reason);
        }
        m->n_rejected_conf = bad;
        m->conf_checked = m->conf;
}

static void report_discovered(Manager *m, const CandidateSet *cand, const DiscoveredService *disc,
                              size_t n) {
        unsigned capped = 0;

        for (size_t i = 0; i < n; i++) {
                const CandidateOutcome *o = &cand->disc_out[i];
                char b[128];

                /* zeroconf validated the service already: this is a second line. */
                if (o->verdict == CANDIDATE_INVALID)
                        log_debug("mDNS DC %s: %s %s", log_escape(disc[i].traddr, b, sizeof(b)),
                                  tid_field_names[o->field], o->reason);
                else if (o->verdict == CANDIDATE_OVER_TOTAL_CAP)
                        capped++;
        }
        if (capped != m->n_capped_mdns && capped > 0)
                log_warning("max-dcs=%u reached: not following %u of %zu mDNS-discovered DC(s)",
                            m->conf->max_dcs, capped, n);
        m->n_capped_mdns = capped;
}

static uint64_t mono_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* A reconciliation pass stops creating DCs once it has spent this long
 * creating them (and created at least ADD_MIN), and continues in the next
 * pass. */
#define ADD_BUDGET_USEC (200 * USEC_PER_MSEC)
#define ADD_MIN 1024

/* One log line per added/removed DC up to this many per reconciliation,
 * then a count: 100 000 lines would hold the loop (and flood the journal). */
#define LOG_EACH_MAX 32

/* Start DCs that are not running yet, a slice per loop iteration. */
#define START_SLICE 256

static int on_start_slice(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        unsigned started = 0;

        while (m->start_cursor < m->n_dcs && started < START_SLICE && !m->stopping) {
                Dc *dc = m->dcs[m->start_cursor++];

                if (dc->started)
                        continue;
                dc->started = true;
                /* NBFT: where the DC came from, and the host ID that goes with the table's NQN. */
                dc->nbft = firmware_nbft_source(m->firmware, &dc->tid);
                dc->hostid = firmware_hostid(m->firmware, dc->tid.host_nqn);
                dc_start(dc);
                started++;
        }
        if (m->start_cursor >= m->n_dcs || m->stopping)
                (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        return 0;
}

static void manager_schedule_starts(Manager *m) {
        int r;

        m->start_cursor = 0;
        if (!m->start_event) {
                r = sd_event_add_defer(m->event, &m->start_event, on_start_slice, m);
                if (r < 0) {
                        log_error_errno(r, "Cannot schedule DC starts: %m");
                        return;
                }
                /* After I/O (bus calls, completions) of the same iteration. */
                (void) sd_event_source_set_priority(m->start_event, SD_EVENT_PRIORITY_IDLE);
        }
        (void) sd_event_source_set_enabled(m->start_event, SD_EVENT_ON);
}

static void manager_arm_reconcile(Manager *m, uint64_t delay);

/* Same controller= entry (so a DC's copy need not be replaced)? */
static bool conf_controller_same(const ConfController *a, const ConfController *b) {
        const char *const sa[] = { a ? a->transport : NULL,         a ? a->traddr : NULL,
                                   a ? a->trsvcid : NULL,           a ? a->nqn : NULL,
                                   a ? a->host_traddr : NULL,       a ? a->host_iface : NULL,
                                   a ? a->host_nqn : NULL,          a ? a->dhchap_secret : NULL,
                                   a ? a->dhchap_ctrl_secret : NULL };
        const char *const sb[] = { b ? b->transport : NULL,         b ? b->traddr : NULL,
                                   b ? b->trsvcid : NULL,           b ? b->nqn : NULL,
                                   b ? b->host_traddr : NULL,       b ? b->host_iface : NULL,
                                   b ? b->host_nqn : NULL,          b ? b->dhchap_secret : NULL,
                                   b ? b->dhchap_ctrl_secret : NULL };

        if (!a || !b)
                return a == b;
        for (size_t i = 0; i < ELEMENTSOF(sa); i++)
                if (!streq_ptr(sa[i], sb[i]))
                        return false;
        return a->line == b->line && memcmp(&a->opts, &b->opts, sizeof(a->opts)) == 0;
}

static int build_and_reconcile(Manager *m) {
        _cleanup_free_ ReferralSource *refs = NULL;
        _cleanup_free_ size_t *ref_start = NULL;
        _cleanup_free_ DiscoveredService *disc = NULL;
        _cleanup_free_ CurrentDc *cur = NULL;
        _cleanup_free_ bool *gone = NULL;
        ZeroconfService *const *zs = NULL;
        _cleanup_free_ ConfController *resolved_list = NULL;
        Conf resolved;
        CandidateSet cand = {};
        ReconcilePlan plan = {};
        size_t n_refs = 0, n_disc = 0, n_alloc = 0, n_gone = 0;
        uint64_t t_add;
        bool more = false;
        int r;

        for (size_t i = 0; i < m->n_dcs; i++)
                if (m->dcs[i]->dlp)
                        n_alloc += m->dcs[i]->dlp->n_referrals;
        refs = calloc(n_alloc ?: 1, sizeof(ReferralSource));
        ref_start = calloc(m->n_dcs + 1, sizeof(size_t));
        if (!refs || !ref_start)
                return -ENOMEM;
        /* Grouped by DC, in the order of dcs[] and of each log page: caps
         * keep the first ones. */
        for (size_t i = 0; i < m->n_dcs; i++) {
                Dlp *d = m->dcs[i]->dlp;

                ref_start[i] = n_refs;
                for (size_t k = 0; d && k < d->n_referrals; k++)
                        refs[n_refs++] = (ReferralSource){ d->referrals[k], &m->dcs[i]->tid };
        }
        ref_start[m->n_dcs] = n_refs;

        if (m->zeroconf && m->conf->zeroconf) {
                n_disc = zeroconf_get_services(m->zeroconf, &zs);
                disc = calloc(n_disc ?: 1, sizeof(DiscoveredService));
                if (!disc)
                        return -ENOMEM;
                for (size_t i = 0; i < n_disc; i++)
                        disc[i] = (DiscoveredService){
                                zs[i]->transport, zs[i]->traddr,     zs[i]->trsvcid,
                                zs[i]->subsysnqn, zs[i]->host_iface,
                        };
        }

        r = resolve_configured(m, &resolved, &resolved_list);
        if (r < 0)
                return r;
        /* coop: the system exclusion list applies on top of exclude=. */
        coop_filter_configured(m->coop, resolved_list, &resolved.n_controllers, m->sys->hostnqn,
                               m->conf->ignore_iface);
        coop_filter_referrals(m->coop, refs, &n_refs, ref_start, m->n_dcs, m->sys->hostnqn,
                              m->conf->ignore_iface);
        coop_filter_discovered(m->coop, disc, &n_disc, m->sys->hostnqn, m->conf->ignore_iface);
        r = candidates_build(&cand, &resolved, m->sys->hostnqn, refs, n_refs, disc, n_disc);
        if (r < 0)
                return r;
        for (char **msg = cand.messages; msg && *msg; msg++)
                log_info("%s", *msg);
        report_configured(m, &cand, &resolved);
        report_referrals(m, &cand, refs, ref_start);
        report_discovered(m, &cand, disc, n_disc);

        cur = calloc(m->n_dcs ?: 1, sizeof(CurrentDc));
        gone = calloc(m->n_dcs ?: 1, sizeof(bool));
        if (!cur || !gone) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < m->n_dcs; i++)
                cur[i] = (CurrentDc){
                        .tid = &m->dcs[i]->tid,
                        .origin = m->dcs[i]->origin,
                        /* coop: a DC the system exclusion list names goes,
                         * even a discovered one within its persistence. */
                        .expired = m->dcs[i]->expired || coop_excluded(m->coop, &m->dcs[i]->tid),
                };

        r = reconcile(&cand, cur, m->n_dcs, &resolved, &plan);
        if (r < 0)
                goto finish;

        for (size_t i = 0; i < plan.n_reorigin; i++) {
                Dc *dc = m->dcs[plan.reorigin[i]];

                log_dc(LOG_INFO, dc->name, dc_device(dc), "Origin %s -> %s", dc_origin_to_string(dc->origin),
                       dc_origin_to_string(plan.new_origin[i]));
                dc->origin = plan.new_origin[i];
                /* A DC that is no longer (or now) discovered: (re)set its persistence clock. */
                dc_set_announced(dc, true);
        }

        /* Update per-DC configuration of configured DCs (new connections use it). */
        for (size_t i = 0; i < m->n_dcs; i++) {
                long k = candidates_find(&cand, &m->dcs[i]->tid);

                if (k >= 0 && cand.items[k].origin == DC_ORIGIN_CONFIGURED &&
                    !conf_controller_same(m->dcs[i]->conf, cand.items[k].conf))
                        dc_set_conf(m->dcs[i], cand.items[k].conf);
                /* Announced = a reachable candidate, or still resolved by
                 * mDNS even if it is not reachable right now. */
                if (m->dcs[i]->origin == DC_ORIGIN_DISCOVERED)
                        dc_set_announced(m->dcs[i],
                                         k >= 0 || (m->zeroconf && m->conf->zeroconf &&
                                                    zeroconf_is_announced(
                                                            m->zeroconf, m->dcs[i]->tid.transport,
                                                            m->dcs[i]->tid.traddr, m->dcs[i]->tid.trsvcid)));
        }

        /* Delete: mark, then compact dcs[] in one pass (order kept). */
        for (size_t i = 0; i < plan.n_del; i++)
                gone[plan.del[i]] = true;
        if (plan.n_del > 0) {
                size_t w = 0;

                for (size_t i = 0; i < m->n_dcs; i++) {
                        Dc *dc = m->dcs[i];

                        if (!gone[i]) {
                                m->dcs[w++] = dc;
                                continue;
                        }
                        manager_unindex_dc(m, dc);
                        log_dc(n_gone < LOG_EACH_MAX ? LOG_INFO : LOG_DEBUG, dc->name, dc_device(dc),
                               "Removing %s DC", dc_origin_to_string(dc->origin));
                        manager_delete_dc(m, dc, true);
                        n_gone++;
                }
                m->n_dcs = w;
                if (n_gone > LOG_EACH_MAX)
                        log_info("Removed %zu more DCs (listed at debug level)", n_gone - LOG_EACH_MAX);
        }

        t_add = mono_usec();
        for (size_t i = 0; i < plan.n_add; i++) {
                const Candidate *c = &cand.items[plan.add[i]];
                Dc *dc;

                /* 100 000 new DCs take seconds to create: create them over
                 * several passes, each bounded in time, so that the loop
                 * answers the bus and signals in between. */
                if (i >= ADD_MIN && i % 256 == 0 && mono_usec() - t_add > ADD_BUDGET_USEC) {
                        log_info("Created %zu of %zu new DCs; continuing in the next pass", i, plan.n_add);
                        plan.n_add = i;
                        more = true;
                        break;
                }

                r = dc_new(&dc, &m->dc_ctx, &c->tid, c->origin, c->conf);
                if (r < 0)
                        goto finish;
                r = manager_add_dc(m, dc);
                if (r < 0) {
                        dc_free(dc);
                        goto finish;
                }
                log_dc(i < LOG_EACH_MAX ? LOG_INFO : LOG_DEBUG, dc->name, "nvme?", "New %s DC",
                       dc_origin_to_string(c->origin));
                /* It is a candidate, so announced: no persistence clock
                 * while its first connection attempts fail. */
                dc_set_announced(dc, true);
        }

        if (plan.n_add > LOG_EACH_MAX)
                log_info("%zu more new DCs (listed at debug level)", plan.n_add - LOG_EACH_MAX);

        /* Start whatever is not running yet (new, or restored from the cache). */
        manager_schedule_starts(m);

        if (more)
                manager_arm_reconcile(m, 0);
        if (n_gone > 0)
                bus_emit_dc_removed(m);
        /* Saved once the last pass is done, not after each. */
        if (!more && (n_gone > 0 || plan.n_add > 0 || plan.n_reorigin > 0 || m->save_after_passes)) {
                persist_schedule_save(m);
                m->save_after_passes = false;
        } else if (more)
                m->save_after_passes = true;
        r = 0;
finish:
        reconcile_plan_done(&plan);
        candidates_done(&cand);
        return r;
}

static int on_reconcile(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        uint64_t t0 = mono_usec();

        if (m->stopping)
                return 0;
        r = build_and_reconcile(m);
        if (r < 0)
                log_error_errno(r, "Reconciliation failed: %m");
        t0 = mono_usec() - t0;
        /* A slow pass is worth knowing about without tron. */
        log_full(t0 >= 250 * USEC_PER_MSEC ? LOG_INFO : LOG_DEBUG, "Reconciliation of %zu DCs took %.1f ms",
                 m->n_dcs, (double) t0 / USEC_PER_MSEC);
        return 0;
}

static void manager_arm_reconcile(Manager *m, uint64_t delay) {
        int r;

        if (m->reconcile_timer) {
                r = sd_event_source_set_time_relative(m->reconcile_timer, delay);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->reconcile_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->reconcile_timer, CLOCK_MONOTONIC, delay,
                                               10 * USEC_PER_MSEC, on_reconcile, m);
        if (r < 0)
                log_error_errno(r, "Failed to arm the reconciliation timer: %m");
}

void manager_schedule_reconcile(Manager *m, const char *why) {
        if (m->stopping)
                return;
        log_debug("Reconciliation in %.1fs: %s", (double) m->reconcile_delay_usec / USEC_PER_SEC, why);
        manager_arm_reconcile(m, m->reconcile_delay_usec);
}

static void manager_dc_expired(Manager *m, Dc *dc) {
        dc->expired = true;
        manager_schedule_reconcile(m, "discovered DC unresponsive");
}

static void manager_dc_log_pages_changed(Manager *m, Dc *dc, bool referrals_changed) {
        bus_emit_log_pages_changed(m, dc);
        persist_schedule_save(m);
        if (referrals_changed)
                manager_schedule_reconcile(m, "referrals changed");
}

/* ---- what DCs see of the manager (Manager.dc_ctx) ---- */

static const Conf *dc_cb_conf(void *userdata) {
        return ((Manager *) userdata)->conf;
}

static const SysConf *dc_cb_sys(void *userdata) {
        return ((Manager *) userdata)->sys;
}

static bool dc_cb_stopping(void *userdata) {
        return ((Manager *) userdata)->stopping;
}

static void dc_cb_save_requested(void *userdata) {
        persist_schedule_save(userdata);
}

static void dc_cb_log_pages_changed(void *userdata, Dc *dc, bool referrals_changed) {
        manager_dc_log_pages_changed(userdata, dc, referrals_changed);
}

static void dc_cb_expired(void *userdata, Dc *dc) {
        manager_dc_expired(userdata, dc);
}

static void dc_cb_zombie_done(void *userdata, Dc *dc) {
        manager_zombie_done(userdata, dc);
}

static void dc_cb_disconnect(void *userdata, const char *device, const char *name) {
        manager_disconnect(userdata, device, name);
}

static const DcCallbacks dc_callbacks = {
        .conf = dc_cb_conf,
        .sys = dc_cb_sys,
        .stopping = dc_cb_stopping,
        .save_requested = dc_cb_save_requested,
        .log_pages_changed = dc_cb_log_pages_changed,
        .expired = dc_cb_expired,
        .zombie_done = dc_cb_zombie_done,
        .disconnect = dc_cb_disconnect,
};

/* ---- uevents ---- */

static void on_uevent(Udev *u, const UdevEvent *ev, void *userdata) {
        Manager *m = userdata;
        Dc *dc = manager_find_dc_by_device(m, ev->sysname);
        bool aen = ev->aen && strcasecmp(ev->aen, "0x70f002") == 0;

        /* A controller appeared or went: the adoption index is stale. */
        if (!streq(ev->action, "change"))
                sysfs_index_invalidate();
        if (streq(ev->action, "remove")) {
                uint64_t seqnum = 0;

                (void) sd_device_get_seqnum(ev->device, &seqnum);
                coop_device_removed(m->coop, ev->sysname, seqnum); /* coop: registry */
        }
        if (!dc) {
                if (streq(ev->action, "change") && (aen || streq_ptr(ev->nvme_event, "rediscover")))
                        (void) handoff_nvmecli(m->handoff, ev->device, ev->sysname);
                return;
        }

        if (streq(ev->action, "remove"))
                dc_on_remove(dc);
        else if (streq(ev->action, "change")) {
                if (aen)
                        dc_on_aen(dc);
                else if (streq_ptr(ev->nvme_event, "connected") || streq_ptr(ev->nvme_event, "rediscover"))
                        dc_on_nvme_event(dc, ev->nvme_event);
        }
}

static void on_resolved(Resolver *r, void *userdata) {
        Manager *m = userdata;

        /* An address arrived (or a retry is due): reconcile at once. */
        if (!m->stopping)
                manager_arm_reconcile(m, 0);
}

/* ---- zeroconf ---- */

static void on_zeroconf_changed(Zeroconf *z, void *userdata) {
        manager_schedule_reconcile(userdata, "mDNS services changed");
}

/* ---- life cycle ---- */

static int manager_reload(Manager *m) {
        _cleanup_(conf_freep) Conf *c = NULL;
        int r;

        (void) sd_notify(false, "RELOADING=1\nSTATUS=Reloading configuration");
        r = conf_load(m->conf_file, &c);
        if (r < 0) {
                log_warning("Cannot read %s, keeping the current configuration: %s", m->conf_file,
                            conf_strerror(r));
                goto done;
        }
        for (char **w = c->warnings; w && *w; w++)
                log_warning("%s", *w);
        conf_free(m->conf);
        m->conf = TAKE_PTR(c);
        manager_apply_log_level(m);
        if (m->zeroconf)
                (void) zeroconf_set_enabled(m->zeroconf, m->conf->zeroconf);
        resolver_flush(m->resolver);
        log_info("Reloaded %s", m->conf_file);
        manager_arm_reconcile(m, 0);
done:
        (void) sd_notify(false, "READY=1\nSTATUS=Running");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        /* Stopping: a reload would only announce READY=1 to a unit that is
         * going away. */
        if (m->stopping) {
                log_debug("Ignoring SIGHUP while stopping");
                return 0;
        }
        return manager_reload(m);
}

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;
        bool disconnect;

        if (m->stopping)
                return 0;
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Stopping");
        log_info("Stopping");
        /* The last save, with every DC; a scheduled one is cancelled, and
         * none can be scheduled once stopping is set. */
        (void) persist_save_now(m);
        m->stopping = true;

        /* Work not started yet is dropped (dc_begin_delete); only what is
         * blocked in the kernel, and the disconnects, are waited for, at
         * most STOP_WAIT_USEC. */
        disconnect = !m->conf->persistent_connections;
        while (m->n_dcs > 0) {
                Dc *dc = m->dcs[m->n_dcs - 1];

                manager_unindex_dc(m, dc);
                m->n_dcs--;
                manager_delete_dc(m, dc, disconnect);
        }
        if (sd_event_add_time_relative(m->event, &m->stop_timer, CLOCK_MONOTONIC, STOP_WAIT_USEC,
                                       USEC_PER_SEC / 10, on_stop_timeout, m) < 0)
                log_warning("Cannot arm the stop timer: stop waits for every operation");
        manager_maybe_exit(m);
        return 0;
}

int manager_new(Manager **ret, const ManagerArgs *args, Conf *conf, SysConf *sys) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m) {
                conf_free(conf);
                sysconf_free(sys);
                return log_oom();
        }
        m->conf = conf;
        m->sys = sys;
        m->tron = args->tron;
        m->reconcile_delay_usec = RECONCILE_DELAY_USEC;
        m->conf_file = strdup(args->conf_file);
        m->sys_conf_file = strdup(args->sys_conf_file);
        if (!m->conf_file || !m->sys_conf_file)
                return log_oom();
        r = persist_path(&m->cache_path);
        if (r < 0)
                return log_oom();
        r = tid_index_new(&m->dc_index);
        if (r < 0)
                return log_oom();

        for (char **w = conf->warnings; w && *w; w++)
                log_warning("%s", *w);
        for (char **w = sys->warnings; w && *w; w++)
                log_warning("%s", *w);

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* main() blocked the signals first thing (sd-event needs them
         * blocked): a SIGHUP while the configuration was read is handled
         * here, not fatal. */
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_sigterm, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        r = fabric_new(&m->fabric, m->event,
                       &(FabricLanes){ FABRIC_CONNECT_WORKERS, FABRIC_CONTROL_WORKERS });
        if (r < 0)
                return log_error_errno(r, "Failed to start the fabric workers: %m");
        manager_apply_log_level(m);
        r = resolver_new(&m->resolver, m->event, on_resolved, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up name resolution: %m");
        if (!fabric_have_fabrics())
                log_error("/dev/nvme-fabrics is missing (is nvme-fabrics loaded?): connections will be "
                          "retried");

        r = handoff_new(&m->handoff, m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the nvme-cli hand-off: %m");
        r = udev_new(&m->udev, m->event, on_uevent, m);
        if (r < 0)
                log_warning_errno(r, "No uevents: AENs and removals will not be seen: %m");

        r = coop_new(&m->coop, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up host cooperation: %m");
        r = firmware_new(&m->firmware, getenv("STAFD_NBFT_DIR"), NULL, m->sys->hostnqn);
        if (r < 0)
                return log_oom();
        m->dc_ctx = (DcContext){
                .event = m->event,
                .fabric = m->fabric,
                .coop = m->coop,
                .cb = &dc_callbacks,
                .userdata = m,
        };

        (void) persist_load(m);

        r = bus_setup(m);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* DCs first: dc_free() cancels their operations, so no completion
         * can reach a freed DC (completions are only delivered by the loop,
         * which no longer runs). */
        for (size_t i = 0; i < m->n_dcs; i++)
                dc_free(m->dcs[i]);
        free(m->dcs);
        tid_index_free(m->dc_index);
        free(m->by_devnum);
        sd_event_source_disable_unref(m->start_event);
        for (size_t i = 0; i < m->n_zombies; i++)
                dc_free(m->zombies[i]);
        free(m->zombies);
        if (m->abandon_workers && fabric_n_running(m->fabric) > 0) {
                fabric_abandon(m->fabric); /* left to the exiting process */
                m->fabric = NULL;
        } else
                m->fabric = fabric_free(m->fabric);
        m->resolver = resolver_free(m->resolver);
        sd_event_source_disable_unref(m->stop_timer);
        firmware_free(m->firmware);
        zeroconf_free(m->zeroconf);
        udev_free(m->udev);
        handoff_free(m->handoff);
        coop_free(m->coop);
        sd_event_source_disable_unref(m->reconcile_timer);
        sd_event_source_disable_unref(m->save_timer);
        bus_teardown(m);
        sd_event_unref(m->event);
        conf_free(m->conf);
        sysconf_free(m->sys);
        free(m->conf_file);
        free(m->sys_conf_file);
        free(m->cache_path);
        free(m);
        return NULL;
}

/* mDNS starts right after READY=1: creating the Avahi client costs several
 * synchronous bus round trips that nothing before READY needs. */
static int on_start_zeroconf(sd_event_source *s, void *userdata) {
        Manager *m = userdata;
        int r;

        /* A floating source owned by the loop: just switch it off. */
        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        r = zeroconf_new(&m->zeroconf, m->event, on_zeroconf_changed, m);
        if (r < 0)
                log_warning_errno(r, "mDNS discovery unavailable: %m");
        else
                (void) zeroconf_set_enabled(m->zeroconf, m->conf->zeroconf);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_add_defer(m->event, NULL, on_start_zeroconf, m);
        if (r < 0)
                log_warning_errno(r, "mDNS discovery unavailable: %m");

        /* The first reconciliation runs at once: serve the cache and start
         * connecting without the coalescing delay. */
        manager_arm_reconcile(m, 0);
        (void) sd_notify(false, "READY=1\nSTATUS=Running");
        log_info("stafd %s ready (host NQN %s)", STAFD_VERSION, m->sys->hostnqn);

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Exiting with an error: %m");
        return 0;
}

void manager_bus_lost(Manager *m) {
        /* A stop in progress needs no bus: let it finish. */
        if (m->stopping)
                return;
        (void) persist_save_now(m);
        m->stopping = true;
        /* Kernel connections stay: the restarted stafd adopts them. */
        (void) sd_event_exit(m->event, -ENOTCONN);
}

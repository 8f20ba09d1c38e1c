/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host cooperation glue: watches the system exclusion list (inotify) and
 * feeds it to reconciliation, keeps the ownership registry entries of the
 * controllers stafd connects or adopts, and answers whether a controller may
 * be disconnected.  The file formats are lib/exclusions' and lib/registry's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

#include "coop.h"
#include "dlp.h"
#include "dc.h"
#include "exclusions.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "registry.h"

#define dc_log(dc, level, ...) log_dc(level, (dc)->name, dc_device(dc), __VA_ARGS__)

/* What the registry says about one kernel controller stafd tracks. */
typedef struct CoopDev {
        char device[32];
        char *owner; /* NULL: unowned or unknown */
        uint64_t seqnum; /* of our registration, 0 if not ours */
} CoopDev;

struct Coop {
        Manager *manager;
        /* COOP_EXCLUSIONS_ROOT, its parent, its last component, its .d
         * directory; REGISTRY_ROOT (or the test overrides of coop_new) */
        char *excl_root, *excl_parent, *excl_name, *excl_d;
        char *registry_root;

        ExclList *excl;
        bool excl_dirty;
        /* tid_hash of the DCs whose exclusion was logged (sorted). */
        unsigned long *warned;
        size_t n_warned;
        /* /etc/nvme/exclusions.conf.d, /etc/nvme, or /etc while /etc/nvme is missing. */
        sd_event_source *watch_d, *watch_root, *watch_parent;
        sd_event_source *rewatch;

        CoopDev *devs; /* devs[N] for nvmeN; device[0] == 0: unused */
        size_t n_devs;
        bool registry_failure_logged;
};

/* ---- exclusions ---- */

static void coop_watch(Coop *c);
static void coop_excl_changed(Coop *c);

static int on_rewatch(sd_event_source *s, void *userdata) {
        Coop *c = userdata;

        (void) sd_event_source_set_enabled(s, SD_EVENT_OFF);
        coop_watch(c);
        /* Files may have appeared before the new watches did. */
        coop_excl_changed(c);
        return 0;
}

static void coop_schedule_rewatch(Coop *c) {
        int r;

        if (c->rewatch)
                r = sd_event_source_set_enabled(c->rewatch, SD_EVENT_ONESHOT);
        else
                r = sd_event_add_defer(c->manager->event, &c->rewatch, on_rewatch, c);
        if (r < 0)
                log_warning_errno(r, "Cannot re-arm the exclusion list watch: %m");
}

static void coop_excl_changed(Coop *c) {
        c->excl_dirty = true;
        manager_schedule_reconcile(c->manager, "system exclusion list changed");
}

static bool is_excl_name(const char *name) {
        return streq(name, "exclusions.conf") || streq(name, "exclusions.conf.d");
}

static int on_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        Coop *c = userdata;
        const char *name = ev->len > 0 ? ev->name : "";

        if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                /* A watched directory went away: watch what exists now. */
                coop_schedule_rewatch(c);
                coop_excl_changed(c);
                return 0;
        }
        if (s == c->watch_parent) {
                if (streq(name, c->excl_name))
                        coop_schedule_rewatch(c);
                return 0;
        }
        if (s == c->watch_root) {
                if (!is_excl_name(name))
                        return 0;
                if (streq(name, "exclusions.conf.d"))
                        coop_schedule_rewatch(c);
        } else if (name[0] == '.')
                return 0; /* editors' temporary files */
        log_debug("Exclusion list: inotify 0x%x %s", (unsigned) ev->mask, name);
        coop_excl_changed(c);
        return 0;
}

#define WATCH_MASK                                                                          \
        (IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
         IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

static void coop_watch(Coop *c) {
        sd_event *e = c->manager->event;
        int r;

        c->watch_d = sd_event_source_disable_unref(c->watch_d);
        c->watch_root = sd_event_source_disable_unref(c->watch_root);
        c->watch_parent = sd_event_source_disable_unref(c->watch_parent);

        r = sd_event_add_inotify(e, &c->watch_root, c->excl_root, WATCH_MASK, on_inotify, c);
        if (r < 0) {
                /* Wait for /etc/nvme to appear. */
                if (r != -ENOENT)
                        log_debug_errno(r, "Cannot watch %s: %m", c->excl_root);
                r = sd_event_add_inotify(e, &c->watch_parent, c->excl_parent,
                                         IN_CREATE | IN_MOVED_TO | IN_ONLYDIR, on_inotify, c);
                if (r < 0)
                        log_warning_errno(r, "Cannot watch %s: exclusion list edits need a reload: %m",
                                          c->excl_parent);
                return;
        }
        r = sd_event_add_inotify(e, &c->watch_d, c->excl_d, WATCH_MASK, on_inotify, c);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Cannot watch %s: %m", c->excl_d);
        /* Whatever changed while no watch was there. */
        c->excl_dirty = true;
}

static int coop_excl_load(Coop *c) {
        ExclList *l;
        int r;

        r = excl_load(c->excl_root, &l);
        if (r < 0)
                return log_warning_errno(r, "Cannot load the system exclusion list: %m");
        for (char **w = l->warnings; w && *w; w++)
                log_warning("%s", *w);
        if (l->n > 0 || c->excl)
                log_info("System exclusion list: %zu exclusions", l->n);
        excl_list_free(c->excl);
        c->excl = l;
        c->excl_dirty = false;
        /* A new list: say again which DCs it excludes. */
        c->n_warned = 0;
        return 0;
}

static long warned_find(Coop *c, unsigned long h, bool *found) {
        size_t lo = 0, hi = c->n_warned;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (c->warned[mid] < h)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *found = lo < c->n_warned && c->warned[lo] == h;
        return (long) lo;
}

/* True the first time for each DC (per version of the list). */
static bool coop_first_warning(Coop *c, const Tid *tid) {
        unsigned long h = tid_hash(tid), *t;
        bool found;
        long i = warned_find(c, h, &found);

        if (found)
                return false;
        if (c->n_warned % 64 == 0) {
                t = realloc(c->warned, sizeof(unsigned long) * (c->n_warned + 64));
                if (!t)
                        return true;
                c->warned = t;
        }
        memmove(c->warned + i + 1, c->warned + i, sizeof(unsigned long) * (c->n_warned - (size_t) i));
        c->warned[i] = h;
        c->n_warned++;
        return true;
}

static bool coop_excl_active(Coop *c);

bool coop_excluded(Coop *c, const Tid *tid) {
        const ExclEntry *e;
        ExclTarget t;
        char *name;

        if (!coop_excl_active(c))
                return false;
        excl_target_from_tid(&t, tid, c->manager->sys->hostid);
        e = excl_match(c->excl, &t);
        if (!e)
                return false;
        if (coop_first_warning(c, tid)) {
                name = tid_to_string(tid);
                log_warning("%s excluded by %s:%u", name ?: "DC", e->file, e->line);
                free(name);
        }
        return true;
}

/* Whether the list is worth consulting (re-reading it first if it changed). */
static bool coop_excl_active(Coop *c) {
        if (!c)
                return false;
        if (c->excl_dirty)
                (void) coop_excl_load(c);
        return c->excl && c->excl->n > 0;
}

/* Is the DC these strings make (normalised as candidates_build does)
 * excluded?  An input tid_init rejects is left for candidates_build. */
static bool coop_input_excluded(Coop *c, const char *transport, const char *traddr, const char *trsvcid,
                                const char *nqn, const char *host_traddr, const char *host_iface,
                                const char *host_nqn, const char *hostnqn, bool ignore_iface) {
        Tid t;
        bool x;

        if (tid_init(&t, transport, traddr, trsvcid, nqn, host_traddr, host_iface, host_nqn, hostnqn,
                     ignore_iface) < 0)
                return false;
        x = coop_excluded(c, &t);
        tid_done(&t);
        return x;
}

void coop_filter_configured(Coop *c, ConfController *l, size_t *n, const char *hostnqn, bool ignore_iface) {
        size_t k = 0;

        if (!coop_excl_active(c))
                return;
        for (size_t i = 0; i < *n; i++)
                if (!coop_input_excluded(c, l[i].transport, l[i].traddr, l[i].trsvcid, l[i].nqn,
                                         l[i].host_traddr, l[i].host_iface, l[i].host_nqn, hostnqn,
                                         ignore_iface))
                        l[k++] = l[i];
        *n = k;
}

static bool coop_referral_excluded(Coop *c, const ReferralSource *ref, const char *hostnqn,
                                   bool ignore_iface) {
        const DlpEntry *e = ref->entry;
        const Tid *p = ref->parent;

        /* DLPE trtype names are transport names (unknown ones are dropped
         * by candidates_build anyway). */
        return coop_input_excluded(c, dlpe_get(e, DLPE_TRTYPE), dlpe_get(e, DLPE_TRADDR),
                                   dlpe_get(e, DLPE_TRSVCID), dlpe_get(e, DLPE_SUBNQN), p->host_traddr,
                                   p->host_iface, p->host_nqn, hostnqn, ignore_iface);
}

void coop_filter_referrals(Coop *c, ReferralSource *refs, size_t *n, size_t *start, size_t n_groups,
                           const char *hostnqn, bool ignore_iface) {
        size_t k = 0;

        if (!coop_excl_active(c))
                return;
        if (!start) {
                for (size_t i = 0; i < *n; i++)
                        if (!coop_referral_excluded(c, &refs[i], hostnqn, ignore_iface))
                                refs[k++] = refs[i];
                *n = k;
                return;
        }
        for (size_t g = 0; g < n_groups; g++) {
                size_t from = start[g], to = start[g + 1];

                start[g] = k;
                for (size_t i = from; i < to; i++)
                        if (!coop_referral_excluded(c, &refs[i], hostnqn, ignore_iface))
                                refs[k++] = refs[i];
        }
        start[n_groups] = k;
        *n = k;
}

void coop_filter_discovered(Coop *c, DiscoveredService *d, size_t *n, const char *hostnqn,
                            bool ignore_iface) {
        size_t k = 0;

        if (!coop_excl_active(c))
                return;
        for (size_t i = 0; i < *n; i++)
                if (!coop_input_excluded(c, d[i].transport, d[i].traddr, d[i].trsvcid, d[i].subsysnqn, NULL,
                                         d[i].host_iface, NULL, hostnqn, ignore_iface))
                        d[k++] = d[i];
        *n = k;
}

/* ---- registry ---- */

/* Indexed by N of nvmeN (the kernel hands out small numbers): O(1) for the
 * per-DC owner lookups of detailed D-Bus answers. */
#define COOP_DEV_MAX 1000000

static long dev_index(const char *device) {
        unsigned long n;
        char *end;

        if (!registry_device_valid(device))
                return -1;
        errno = 0;
        n = strtoul(device + 4, &end, 10);
        if (errno != 0 || *end || n >= COOP_DEV_MAX)
                return -1;
        return (long) n;
}

static CoopDev *coop_dev(Coop *c, const char *device, bool create) {
        long n = dev_index(device);
        CoopDev *t;

        if (n < 0)
                return NULL;
        if ((size_t) n < c->n_devs && c->devs[n].device[0])
                return &c->devs[n];
        if (!create)
                return NULL;
        if ((size_t) n >= c->n_devs) {
                size_t want = (size_t) n + 1 < 2 * c->n_devs ? 2 * c->n_devs : (size_t) n + 1;

                t = realloc(c->devs, sizeof(CoopDev) * want);
                if (!t)
                        return NULL;
                memset(t + c->n_devs, 0, sizeof(CoopDev) * (want - c->n_devs));
                c->devs = t;
                c->n_devs = want;
        }
        t = &c->devs[n];
        *t = (CoopDev){};
        (void) snprintf(t->device, sizeof(t->device), "%s", device);
        return t;
}

static void coop_dev_forget(Coop *c, const char *device) {
        CoopDev *d = coop_dev(c, device, false);

        if (d) {
                free(d->owner);
                *d = (CoopDev){};
        }
}

static void coop_registry_failed(Coop *c, int r, const char *device) {
        if (c->registry_failure_logged) {
                log_debug_errno(r, "Ownership registry: %s: %m", device);
                return;
        }
        c->registry_failure_logged = true;
        log_info_errno(r, "Ownership registry %s unavailable (%m): stafd's connections are not registered",
                       c->registry_root);
}

void coop_dc_connected(Coop *c, Dc *dc) {
        _cleanup_free_ char *other = NULL;
        uint64_t seq = 0;
        CoopDev *d;
        int r;

        if (!c || !registry_device_valid(dc->device))
                return;
        d = coop_dev(c, dc->device, true);
        if (!d) {
                (void) log_oom();
                return;
        }
        d->owner = mfree(d->owner);
        d->seqnum = 0;

        if (dc->info.adopted && registry_get_owner(c->registry_root, dc->device, &other) >= 0 &&
            streq_ptr(other, REGISTRY_OWNER_STAS)) {
                _cleanup_free_ char *v = NULL;

                /* Ours already (stafd restarted): keep the seqnum of the
                 * connect, which is what a remove uevent is compared with. */
                if (registry_read(c->registry_root, dc->device, "seqnum", &v) >= 0)
                        d->seqnum = strtoull(v, NULL, 10);
                d->owner = TAKE_PTR(other);
                dc_log(dc, LOG_DEBUG, "Already registered owner=%s seqnum=%llu", d->owner,
                       (unsigned long long) d->seqnum);
                return;
        }
        other = mfree(other);

        r = registry_read_seqnum(COOP_UEVENT_SEQNUM, &seq);
        if (r < 0)
                log_debug_errno(r, "Cannot read %s: %m", COOP_UEVENT_SEQNUM);

        /* registry_register() claims an adopted controller only when it is
         * unowned and never touches another owner's entry. */
        r = registry_register(c->registry_root, dc->device, REGISTRY_OWNER_STAS, seq, &other);
        if (r == -EBUSY) {
                d->owner = TAKE_PTR(other);
                if (dc->info.adopted)
                        dc_log(dc, LOG_INFO, "Owned by %s: stafd tracks it but never disconnects it",
                               d->owner);
                else
                        /* A stale entry of a recycled nvmeN, or a race with
                         * another orchestrator: its entry wins. */
                        dc_log(dc, LOG_WARNING,
                               "The registry says %s owns %s: not registering, never disconnecting",
                               d->owner, dc->device);
                return;
        }
        if (r < 0) {
                coop_registry_failed(c, r, dc->device);
                return;
        }
        d->owner = strdup(REGISTRY_OWNER_STAS);
        d->seqnum = seq;
        dc_log(dc, LOG_DEBUG, "Registered owner=%s seqnum=%llu", REGISTRY_OWNER_STAS,
               (unsigned long long) seq);
}

bool coop_may_disconnect(Coop *c, Dc *dc) {
        _cleanup_free_ char *owner = NULL;
        CoopDev *d;
        int r;

        if (!c || !registry_device_valid(dc->device))
                return true;
        /* Ask the registry now: ownership may have changed hands. */
        r = registry_get_owner(c->registry_root, dc->device, &owner);
        if (r < 0) {
                log_debug_errno(r, "Cannot read the owner of %s: %m", dc->device);
                return true;
        }
        if (!owner || streq(owner, REGISTRY_OWNER_STAS))
                return true;
        dc_log(dc, LOG_INFO, "Owned by %s: not disconnecting it, only no longer tracking it", owner);
        d = coop_dev(c, dc->device, false);
        if (d) {
                free(d->owner);
                d->owner = TAKE_PTR(owner);
        }
        return false;
}

void coop_disconnected(Coop *c, const char *device) {
        CoopDev *d;
        int r;

        if (!c || !(d = coop_dev(c, device, false)))
                return;
        if (d->seqnum != 0 || streq_ptr(d->owner, REGISTRY_OWNER_STAS)) {
                /* Only the entry we wrote (same seqnum): nvmeN may already
                 * be someone else's. */
                r = registry_unregister(c->registry_root, device, REGISTRY_OWNER_STAS, d->seqnum, 0);
                if (r < 0)
                        log_debug_errno(r, "Cannot remove the registry entry of %s: %m", device);
                else if (r > 0)
                        log_debug("%s: registry entry removed", device);
        }
        coop_dev_forget(c, device);
}

void coop_device_removed(Coop *c, const char *device, uint64_t seqnum) {
        CoopDev *d;
        int r;

        if (!c || !(d = coop_dev(c, device, false)))
                return;
        if (streq_ptr(d->owner, REGISTRY_OWNER_STAS)) {
                /* A remove older than our registration is of an earlier
                 * controller of the same name. */
                r = registry_unregister(c->registry_root, device, REGISTRY_OWNER_STAS, 0,
                                        seqnum ?: UINT64_MAX);
                if (r < 0)
                        log_debug_errno(r, "Cannot remove the registry entry of %s: %m", device);
                else if (r > 0)
                        log_info("%s removed: registry entry removed", device);
                if (seqnum != 0 && d->seqnum >= seqnum)
                        return;
        }
        coop_dev_forget(c, device);
}

const char *coop_owner(Coop *c, const Dc *dc) {
        CoopDev *d;

        if (!c || !(d = coop_dev(c, dc->device, false)))
                return "";
        return strempty(d->owner);
}

/* ---- life cycle ---- */

/* Tests replace /etc/nvme and /run/nvme/registry through the environment
 * (STAFD_NVME_CONF_DIR, STAFD_NVME_REGISTRY; documented in stafd(8)). */
static int coop_set_paths(Coop *c, const char *excl_root, const char *registry_root) {
        char *slash;

        c->excl_root = strdup(isempty(excl_root) ? COOP_EXCLUSIONS_ROOT : excl_root);
        c->registry_root = strdup(isempty(registry_root) ? REGISTRY_ROOT : registry_root);
        if (!c->excl_root || !c->registry_root)
                return -ENOMEM;
        while (strlen(c->excl_root) > 1 && c->excl_root[strlen(c->excl_root) - 1] == '/')
                c->excl_root[strlen(c->excl_root) - 1] = 0;
        slash = strrchr(c->excl_root, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        c->excl_parent =
                slash == c->excl_root ? strdup("/") : strndup(c->excl_root, (size_t) (slash - c->excl_root));
        c->excl_name = strdup(slash + 1);
        if (!c->excl_parent || !c->excl_name ||
            asprintf(&c->excl_d, "%s/exclusions.conf.d", c->excl_root) < 0)
                return -ENOMEM;
        return 0;
}

int coop_new(Coop **ret, Manager *m) {
        Coop *c = calloc(1, sizeof(Coop));
        int r;

        if (!c)
                return -ENOMEM;
        c->manager = m;
        r = coop_set_paths(c, getenv("STAFD_NVME_CONF_DIR"), getenv("STAFD_NVME_REGISTRY"));
        if (r < 0) {
                coop_free(c);
                return r;
        }
        (void) registry_cleanup(c->registry_root);
        coop_watch(c);
        (void) coop_excl_load(c);
        *ret = c;
        return 0;
}

Coop *coop_free(Coop *c) {
        if (!c)
                return NULL;
        sd_event_source_disable_unref(c->watch_d);
        sd_event_source_disable_unref(c->watch_root);
        sd_event_source_disable_unref(c->watch_parent);
        sd_event_source_disable_unref(c->rewatch);
        excl_list_free(c->excl);
        free(c->excl_root);
        free(c->excl_parent);
        free(c->excl_name);
        free(c->excl_d);
        free(c->registry_root);
        free(c->warned);
        for (size_t i = 0; i < c->n_devs; i++)
                free(c->devs[i].owner);
        free(c->devs);
        free(c);
        return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "dc.h"
#include "reconcile.h"

typedef struct BusCreds BusCreds;
typedef struct Coop Coop;
typedef struct Firmware Firmware;
typedef struct Dc Dc;
typedef struct Fabric Fabric;
typedef struct Handoff Handoff;
typedef struct Resolver Resolver;
typedef struct Udev Udev;
typedef struct Zeroconf Zeroconf;

typedef struct ManagerArgs {
        const char *conf_file;
        const char *sys_conf_file;
        bool tron;
} ManagerArgs;

typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        sd_bus_slot *slot_main, *slot_debug, *slot_filter;
        BusCreds *bus_creds;
        Fabric *fabric;
        Resolver *resolver;
        Udev *udev;
        Handoff *handoff;
        Zeroconf *zeroconf;
        Coop *coop; /* host cooperation: exclusion list, ownership registry */
        Firmware *firmware; /* NBFT discovery controllers (daemon/firmware.c) */
        DcContext dc_ctx; /* what every DC sees of the manager */

        char *conf_file;
        char *sys_conf_file;
        Conf *conf;
        SysConf *sys;
        bool tron;

        /* The DC set: dcs[] keeps the order (cache, then creation: caps and
         * slices follow it), dc_index finds a DC by normalised TID. */
        Dc **dcs;
        size_t n_dcs;
        TidIndex *dc_index;
        /* Device -> DC: by_devnum[N] caches the DC that owns "nvmeN" (checked
         * against dc->device on use; a miss falls back to a scan). */
        Dc **by_devnum;
        size_t n_by_devnum;
        /* DCs not started yet are started in slices, from a deferred event,
         * so that no loop iteration runs long (100 000 configured DCs). */
        sd_event_source *start_event;
        size_t start_cursor;
        bool save_after_passes; /* DCs were added in an unfinished multi-pass reconciliation */

        /* Entries from outside rejected by validation (process_info). */
        unsigned n_rejected_referrals; /* in DC logs, at the last reconciliation */
        unsigned n_rejected_conf; /* controller= lines of the current configuration */
        unsigned n_rejected_cache; /* cache entries at load */
        unsigned n_capped_mdns; /* mDNS DCs over max-dcs, last reconciliation */
        const Conf *conf_checked; /* configuration whose rejects were logged */

        /* Reconciliation is coalesced: any trigger (re)starts this timer. */
        sd_event_source *reconcile_timer;
        uint64_t reconcile_delay_usec;
        /* The last-known configuration (daemon/persist.c): saves are
         * coalesced by this timer (persist_schedule_save). */
        sd_event_source *save_timer;
        char *cache_path;

        bool stopping;
        /* DCs being deleted that wait for an in-flight operation before disconnecting. */
        Dc **zombies; /* unordered; dc->zombie_slot is the position */
        size_t n_zombies;
        /* Disconnects in flight: stopping waits for them. */
        unsigned n_disconnecting;
        /* Stop deadline; past it, workers blocked in the kernel are abandoned. */
        sd_event_source *stop_timer;
        bool abandon_workers;
} Manager;

/* Takes ownership of conf and sys. */
int manager_new(Manager **ret, const ManagerArgs *args, Conf *conf, SysConf *sys);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);
int manager_write_idl(const char *path);

/* Triggers, called by zeroconf, udev, the bus (DCs use Manager.dc_ctx). */
void manager_schedule_reconcile(Manager *m, const char *why);
int manager_set_tron(Manager *m, bool on);
/* The system bus connection broke: save and exit with an error. */
void manager_bus_lost(Manager *m);

Dc *manager_find_dc(Manager *m, const Tid *tid);
/* Add a DC to the set (index and order); the caller starts it or not. */
int manager_add_dc(Manager *m, Dc *dc);
Dc *manager_find_dc_by_device(Manager *m, const char *device);

DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

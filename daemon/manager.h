/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "reconcile.h"

typedef struct Firmware Firmware;
typedef struct Dc Dc;
typedef struct Fabric Fabric;
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
        sd_bus_slot *slot_main, *slot_debug;
        Fabric *fabric;
        Resolver *resolver;
        Udev *udev;
        Zeroconf *zeroconf;
        Firmware *firmware;             /* NBFT discovery controllers (daemon/firmware.c) */

        char *conf_file;
        char *sys_conf_file;
        Conf *conf;
        SysConf *sys;
        bool tron;

        Dc **dcs;
        size_t n_dcs;

        /* Reconciliation is coalesced: any trigger (re)starts this timer. */
        sd_event_source *reconcile_timer;
        uint64_t reconcile_delay_usec;
        /* The cache is written from a deferred event, once per loop iteration. */
        sd_event_source *save_event;
        char *cache_path;

        bool stopping;
        /* DCs being deleted that wait for an in-flight operation before disconnecting. */
        Dc **zombies;
        size_t n_zombies;
        /* Disconnects in flight: stopping waits for them. */
        unsigned n_disconnecting;
} Manager;

/* Takes ownership of conf and sys. */
int manager_new(Manager **ret, const ManagerArgs *args, Conf *conf, SysConf *sys);
Manager *manager_free(Manager *m);
int manager_run(Manager *m);
int manager_write_idl(const char *path);

/* Triggers, called by DCs, zeroconf, udev. */
void manager_schedule_reconcile(Manager *m, const char *why);
void manager_schedule_save(Manager *m);
void manager_dc_log_pages_changed(Manager *m, Dc *dc, bool referrals_changed);
void manager_dc_expired(Manager *m, Dc *dc);
/* Disconnect a kernel controller; on stop, exit waits for it. */
void manager_disconnect(Manager *m, const char *device, const char *name);
/* A deleted DC finished its last operation: free it. */
void manager_zombie_done(Manager *m, Dc *dc);
int manager_set_tron(Manager *m, bool on);

Dc *manager_find_dc(Manager *m, const Tid *tid);
Dc *manager_find_dc_by_device(Manager *m, const char *device);

DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

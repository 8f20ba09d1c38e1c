/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * One discovery controller: identity, kernel device, cached log page, and
 * the work still to do.  At most one fabric operation is in flight per DC;
 * further work is queued as "pending" bits and started when it completes or
 * when its retry timer fires.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "dlp.h"
#include "fabric.h"
#include "reconcile.h"
#include "tid.h"

typedef struct Coop Coop;
typedef struct Dc Dc;

/*
 * What a DC may reach outside itself: the loop, the fabric, host
 * cooperation, and its owner through these calls (the manager fills them
 * in; test-dc a fake).  The configuration is read through conf()/sys()
 * because a reload replaces it.
 */
typedef struct DcCallbacks {
        const Conf *(*conf)(void *userdata);
        const SysConf *(*sys)(void *userdata);
        bool (*stopping)(void *userdata); /* no new work once stopping */
        void (*save_requested)(void *userdata);
        void (*log_pages_changed)(void *userdata, Dc *dc, bool referrals_changed);
        void (*expired)(void *userdata, Dc *dc); /* discovered: persistence period over */
        void (*zombie_done)(void *userdata, Dc *dc); /* a deleted DC may now be freed */
        /* Disconnect a kernel controller (the owner tracks it until done). */
        void (*disconnect)(void *userdata, const char *device, const char *name);
} DcCallbacks;

typedef struct DcContext {
        sd_event *event;
        Fabric *fabric;
        Coop *coop;
        const DcCallbacks *cb;
        void *userdata;
} DcContext;

typedef enum DcWork {
        DC_WORK_CONNECT = 1 << 0,
        DC_WORK_REGISTER = 1 << 1,
        DC_WORK_DLP = 1 << 2,
} DcWork;

/* One retry timer per kind of work, indexed like the DcWork bits. */
enum {
        DC_TIMER_CONNECT,
        DC_TIMER_REGISTER,
        DC_TIMER_DLP,
        _DC_TIMER_MAX,
};

struct Dc {
        const DcContext *ctx;
        Tid tid;
        char *name; /* printable TID, for logs */
        DcOrigin origin;
        ConfController *conf; /* copy of the controller= entry, or NULL */
        const char *nbft; /* NBFT file naming this DC, or NULL (owned by Manager.firmware) */
        const char *hostid; /* host ID for its host NQN from an NBFT, or NULL = sys.conf's */

        char device[32]; /* "" when no kernel controller is known */
        FabricCtrlInfo info; /* sysfs identity of the device */
        Dlp *dlp; /* cached DLPEs (kept across disconnects) */

        unsigned pending; /* DcWork bits */
        FabricOp *op; /* in-flight operation */
        DcWork op_kind;

        unsigned connect_attempts;
        bool failure_logged; /* log a failure streak once */
        bool own_connect_event_due; /* the kernel's "connected" uevent for our connect is still to come */
        char nvme_event_pair_due[16]; /* the other NVME_EVENT of a kernel reconnect, to skip once */
        uint64_t nvme_event_at; /* CLOCK_MONOTONIC usec of the first one */
        int last_error;

        /* Work waiting for its retry time; it moves to "pending" when the
         * timer of its kind fires. */
        unsigned deferred;
        sd_event_source *timers[_DC_TIMER_MAX];
        uint64_t intervals[_DC_TIMER_MAX]; /* for display */

        /* discovered DCs: not announced and not connected -> expiry */
        sd_event_source *unresponsive_timer;
        uint64_t unresponsive_since; /* CLOCK_MONOTONIC usec, 0 = responsive */
        /* discovered, not announced, connected: the kernel controller can
         * leave "live" without a uevent (target gone, reconnecting), so
         * its state is polled to start the persistence clock. */
        sd_event_source *live_poll_timer;
        bool announced; /* discovered: mDNS announces it (last reconcile) */

        bool started; /* dc_start() was called */
        bool expired; /* discovered: persistence period over */
        bool deleted; /* zombie: waiting for its in-flight op */
        bool disconnect_on_free; /* zombie: disconnect once op completes */

        /* Manager bookkeeping (index, caps, validation); dc.c leaves these alone. */
        size_t zombie_slot; /* position in Manager.zombies while a zombie */
        size_t devnum_slot; /* 1 + N while cached in Manager.by_devnum[N], else 0 */
        unsigned n_rejected; /* referrals in the log that failed validation (last reconcile) */
        unsigned n_capped; /* referrals dropped by max-referrals-per-dc / max-dcs */
};

int dc_new(Dc **ret, const DcContext *ctx, const Tid *tid, DcOrigin origin, const ConfController *conf);
Dc *dc_free(Dc *dc);

/* Start connecting (adopting an existing kernel controller if one matches). */
void dc_start(Dc *dc);
void dc_set_conf(Dc *dc, const ConfController *conf);
/* Take ownership of a cached log page (restored from the cache file). */
void dc_set_dlp(Dc *dc, Dlp *dlp);

/* uevents for our device. */
void dc_on_aen(Dc *dc);
void dc_on_nvme_event(Dc *dc, const char *event);
void dc_on_remove(Dc *dc);

/* Live = the kernel controller exists and is in state "live". */
bool dc_is_connected(const Dc *dc);
const char *dc_device(const Dc *dc);

/* discovered DCs: record whether mDNS announces it, and start/stop the
 * unresponsive timer (persistence) accordingly. */
void dc_set_announced(Dc *dc, bool announced);

/* Delete: returns true if the DC could be freed now, false if it must wait
 * for its in-flight operation (it then disconnects and frees itself through
 * manager zombie handling). */
bool dc_begin_delete(Dc *dc, bool disconnect);

/* "60.0s [59.87s]" / "60.0s [off]" */
void dc_format_timer(sd_event_source *s, uint64_t interval, char *buf, size_t size);

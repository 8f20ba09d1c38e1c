/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * fabric: the ONLY caller of libnvme.  Every call that can block (the write
 * to /dev/nvme-fabrics, admin commands: Identify, Get Log Page, DIM) runs on
 * a small pool of worker threads and completes back into sd-event through an
 * eventfd.  No libnvme object is shared between threads: each operation
 * builds its own nvme_root_t / host / ctrl objects on the worker, uses them
 * and frees them (nvme_free_tree never disconnects).  Completion callbacks
 * run on the loop thread.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "conf.h"
#include "dlp.h"
#include "tid.h"

typedef struct Fabric Fabric;
typedef struct FabricOp FabricOp;

typedef struct FabricHost {
        const char *hostnqn;
        const char *hostid;     /* may be NULL */
        const char *hostkey;    /* may be NULL */
        const char *symname;    /* may be NULL: used for DIM */
} FabricHost;

typedef struct FabricConnectParams {
        const Tid *tid;                   /* transport..host_nqn (host_iface may be "") */
        const char *dhchap_secret;        /* may be NULL */
        const char *dhchap_ctrl_secret;   /* may be NULL */
        ConfConnOpts opts;                /* effective: CONF_UNSET = driver default */
} FabricConnectParams;

/* What we know about a connected controller (sysfs + Identify). */
typedef struct FabricCtrlInfo {
        char device[32];     /* "nvme3" */
        char dctype[16];     /* "ddc", "cdc", "none" or "" */
        char cntrltype[16];  /* "discovery", "io", "admin" or "" */
        char model[64];
        char serial[32];
        char hostnqn[256];
        char hostid[64];
} FabricCtrlInfo;

typedef struct FabricDlpResult {
        Dlp *dlp;            /* owned by the callback on success */
        bool pleo_used;
        unsigned retries;    /* genctr changes seen */
        size_t dropped;      /* entries dropped for empty/0.0.0.0/:: traddr */
} FabricDlpResult;

/* error: 0, negative errno, or a positive NVMe status code (see
 * fabric_strerror).  result depends on the operation:
 *   connect/adopt/info -> const FabricCtrlInfo *
 *   get_dlp            -> FabricDlpResult * (take ->dlp to keep it)
 *   register, disconnect -> NULL */
typedef void (*FabricDoneFn)(FabricOp *op, int error, void *result, void *userdata);

int fabric_new(Fabric **ret, sd_event *event, unsigned n_workers);
/* Waits for in-flight operations (their callbacks are not called). */
Fabric *fabric_free(Fabric *f);

/* libnvme log level follows tron. */
void fabric_set_debug(Fabric *f, bool on);
/* Does /dev/nvme-fabrics exist / is nvme_tcp etc. loaded: for process_info. */
bool fabric_have_fabrics(void);

/* Connect a new discovery controller (persistent, discovery flag set). */
int fabric_connect(Fabric *f, const FabricHost *host, const FabricConnectParams *p,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op);
/* Read identity of an existing controller (sysfs attributes + Identify). */
int fabric_ctrl_info(Fabric *f, const char *device, FabricDoneFn cb, void *userdata,
                     FabricOp **ret_op);
/* DIM registration (TAS register/deregister). */
int fabric_register(Fabric *f, const FabricHost *host, const char *device, bool deregister,
                    FabricDoneFn cb, void *userdata, FabricOp **ret_op);
/* Fetch the DLP: if try_pleo, read Supported Log Pages first and use LSP PLEO
 * when log 0x70 advertises PLEOS.  Header, entries in chunks, header again,
 * retry on genctr change (bounded), RAE cleared on the final read; numrec is
 * capped so a hostile DC cannot make us allocate without limit. */
int fabric_get_dlp(Fabric *f, const char *device, bool try_pleo,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op);
int fabric_disconnect(Fabric *f, const char *device, FabricDoneFn cb, void *userdata,
                      FabricOp **ret_op);

/* The callback will not be called; the operation itself still runs to its
 * end on the worker (a blocking kernel call cannot be interrupted). */
void fabric_op_cancel(FabricOp *op);
/* Is any operation in flight for this device? */
bool fabric_busy(Fabric *f, const char *device);

const char *fabric_strerror(int error, char *buf, size_t size);

/* Synchronous, sysfs only (cheap enough for the loop). */
int fabric_read_sysfs_info(const char *device, FabricCtrlInfo *ret);
/* A kernel discovery controller matching tid (spec section 5 step 1):
 * 1 and its name in ret_device, 0 if none. */
int fabric_find_existing(const FabricHost *host, const Tid *tid, char *ret_device, size_t size);

static inline void fabric_freep(Fabric **f) {
        if (*f)
                *f = fabric_free(*f);
}

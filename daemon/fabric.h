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
 *
 * Concretely, a job on a worker does: nvme_create_root(NULL, level) (never
 * nvme_scan: far too slow with many controllers), nvme_init_logging() at the
 * level chosen by fabric_set_debug(), nvme_lookup_host() + host key/symname,
 * then either nvme_create_ctrl() (connect) or nvme_scan_ctrl(root, "nvmeN")
 * (an existing device), the blocking call(s), and nvme_free_tree().  Admin
 * commands on an existing device use their own fd on /dev/nvmeN.
 *
 * Lifetime of a FabricOp: owned by the Fabric.  The pointer handed out in
 * *ret_op stays valid until the callback has returned, or, after
 * fabric_op_cancel(), until the next return to the event loop; forget it then.
 * Callbacks may submit new operations and cancel others, but must not call
 * fabric_free().
 *
 * Errors (the "error" of a callback, fabric_* return values): 0, a negative
 * errno, or (admin commands only) a positive NVMe status (SCT << 8 | SC, with
 * the DNR/MORE bits as the kernel reports them).  libnvme's -1/errno and its
 * private ENVME_CONNECT_* codes are translated to plain errnos here and
 * nowhere else:
 *   ENVME_CONNECT_ALREADY -> -EALREADY, _ADDRINUSE -> -EADDRINUSE,
 *   _NODEV -> -ENODEV, _OPNOTSUPP -> -EOPNOTSUPP, _CONNREFUSED -> -ECONNREFUSED,
 *   _OPEN -> -ENOENT (no /dev/nvme-fabrics), _INVAL* / _TARG / _AARG /
 *   _PARSE -> -EINVAL, _RESOLVE / _ADDRFAM / _TRADDR -> -EADDRNOTAVAIL,
 *   _WRITE / _READ / _LOOKUP_SUBSYS* -> -EIO (the kernel refused the connect
 *   for a reason libnvme 1.3 does not pass on; dmesg has it).
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
        bool adopted;        /* connect found an existing kernel controller */
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
 * end on the worker (a blocking kernel call cannot be interrupted).
 * Careful with connects: a cancelled connect that succeeds leaves a kernel
 * controller nobody knows about (and fabric_busy() cannot see a connect,
 * whose device is unknown until it completes).  To drop a DC while its
 * connect is in flight, keep the callback and disconnect from there. */
void fabric_op_cancel(FabricOp *op);
/* Is any operation in flight for this device (cancelled ones included, as
 * they still run)?  False inside the op's own callback: the op is finished
 * then, so the manager may disconnect right there.  Connects are not
 * counted (see fabric_op_cancel). */
bool fabric_busy(Fabric *f, const char *device);

/* Human-readable text for an error as above: strerror for errnos, the NVMe
 * status name (libnvme's table, fabrics flavour) plus the hex value for a
 * positive status.  Always returns buf. */
const char *fabric_strerror(int error, char *buf, size_t size);

/* ---- Synchronous helpers: sysfs only, cheap, fine on the loop thread ---- */

/* Where sysfs is mounted ("/sys" unless changed; tests point it at a fake
 * tree).  Call before any operation is submitted; NULL restores "/sys". */
int fabric_set_sysfs_root(const char *path);

/* Fill ret from /sys/class/nvme/<device>/{model,serial,cntrltype,dctype,
 * hostnqn,hostid} (trimmed; a missing attribute stays "").  Returns 0, or
 * -ENOENT if the device does not exist. */
int fabric_read_sysfs_info(const char *device, FabricCtrlInfo *ret);

/* Spec section 5 step 1: is there a kernel discovery controller we can adopt
 * for this TID?  A candidate /sys/class/nvme/nvmeN must be a discovery
 * controller (cntrltype "discovery", or the well-known subsysnqn, or no
 * namespaces), have the same transport, trsvcid and host NQN, the same
 * traddr compared as an address, a subsysnqn equal to the TID's (either side
 * being the well-known NQN also matches), and a state other than "deleting";
 * for tcp, a host-traddr in the TID must equal host_traddr= or src_addr= of
 * the "address" attribute, and a host-iface must equal host_iface= (or the
 * interface owning src_addr= when the kernel does not print host_iface).
 * A "live" match is preferred over others.  host may be NULL (the TID's
 * host_nqn is what is compared).  Returns 1 and the device name ("nvme3") in
 * ret_device, 0 if there is none, negative errno on error. */
int fabric_find_existing(const FabricHost *host, const Tid *tid, char *ret_device, size_t size);

/* Run any blocking fn(arg) on a worker like an operation (device may be
 * NULL: what fabric_busy() matches).  The callback gets fn's return value as
 * error and NULL as result.  Used for host name resolution and by tests. */
int fabric_submit(Fabric *f, const char *device, int (*fn)(void *arg), void *arg,
                  FabricDoneFn cb, void *userdata, FabricOp **ret_op);

DEFINE_TRIVIAL_CLEANUP_FUNC(Fabric *, fabric_free);

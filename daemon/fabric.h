/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * fabric: the ONLY caller of libnvme.  Every call that can block (the write
 * to /dev/nvme-fabrics, admin commands: Identify, Get Log Page, DIM) runs on
 * worker threads of a pool (pool.h) and completes back into sd-event.  Two
 * lanes: connects (at most n_connect at a time) and control work (log-page
 * fetch, DIM, disconnect, identity), so a fetch or a disconnect never waits
 * behind connects to DCs that do not answer.  No libnvme object is shared
 * between threads: each operation builds its own nvme_root_t / host / ctrl
 * objects on the worker, uses them and frees them (nvme_free_tree never
 * disconnects).  Completion callbacks run on the loop thread.
 *
 * Concretely, a job on a worker does: nvme_create_root(NULL, level) (never
 * nvme_scan: far too slow with many controllers), nvme_init_logging() at the
 * level chosen by fabric_set_debug(), nvme_lookup_host() + host key/symname,
 * then either nvme_create_ctrl() (connect) or nvme_scan_ctrl(root, "nvmeN")
 * (an existing device), the blocking call(s), and nvme_free_tree().  Admin
 * commands on an existing device use their own fd on /dev/nvmeN; Get Log
 * Page and Identify carry an explicit timeout (FABRIC_ADMIN_TIMEOUT_MS).
 *
 * Adoption (spec section 5 step 1) is part of a connect: sysfs.h's matcher,
 * skipping devices owned by a DC (fabric_set_owned), so two DCs never adopt
 * the same kernel controller.  A connect marks the device it returns as owned.
 *
 * Lifetime of a FabricOp: owned by the Fabric.  The pointer handed out in
 * *ret_op stays valid until the callback has returned, or, after
 * fabric_op_cancel() or a successful fabric_op_drop(), until the next return
 * to the event loop; forget it then.  Callbacks may submit new operations
 * and cancel others, but must not call fabric_free().
 *
 * Errors: "error" is 0 or a negative errno, never anything else.  When the
 * controller answered an admin command with a non-zero NVMe status, error is
 * -EREMOTEIO and "status" holds it (SCT << 8 | SC, with the DNR/MORE bits as
 * the kernel reports them); status is 0 otherwise.  libnvme's -1/errno, its
 * positive status returns and its private ENVME_CONNECT_* codes are
 * translated here and nowhere else:
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
#include "sysfs.h"
#include "tid.h"

/* Explicit timeout of our Get Log Page / Identify commands: a DC that stops
 * answering holds a worker this long, not the kernel's 60 s default. */
#define FABRIC_ADMIN_TIMEOUT_MS 10000U

typedef struct Fabric Fabric;
typedef struct FabricOp FabricOp;

typedef struct FabricHost {
        const char *hostnqn;
        const char *hostid; /* may be NULL */
        const char *hostkey; /* may be NULL */
        const char *symname; /* may be NULL: used for DIM */
} FabricHost;

typedef struct FabricConnectParams {
        const Tid *tid; /* transport..host_nqn (host_iface may be "") */
        const char *dhchap_secret; /* may be NULL */
        const char *dhchap_ctrl_secret; /* may be NULL */
        ConfConnOpts opts; /* effective: CONF_UNSET = driver default */
} FabricConnectParams;

typedef struct FabricDlpResult {
        Dlp *dlp; /* owned by the callback on success */
        bool pleo_used;
        unsigned retries; /* genctr changes seen */
        size_t dropped; /* entries dropped for empty/0.0.0.0/:: traddr */
} FabricDlpResult;

/* error: 0 or negative errno; status: NVMe status when error is -EREMOTEIO.
 * result depends on the operation:
 *   connect/info -> const FabricCtrlInfo *
 *   get_dlp      -> FabricDlpResult * (take ->dlp to keep it)
 *   register, disconnect, submit -> NULL */
typedef void (*FabricDoneFn)(FabricOp *op, int error, unsigned status, void *result, void *userdata);

typedef struct FabricLanes {
        unsigned n_connect; /* concurrent connects */
        unsigned n_control; /* fetch / DIM / disconnect / info */
} FabricLanes;

int fabric_new(Fabric **ret, sd_event *event, const FabricLanes *lanes);
/* Waits for operations running on a worker; queued ones never start.  No
 * callback is called. */
Fabric *fabric_free(Fabric *f);
/* For an exit while workers are blocked in the kernel: drop queued work,
 * make running log-page reads stop at their next command, and leave the
 * workers to the exiting process (the Fabric is not freed). */
void fabric_abandon(Fabric *f);
/* Operations running on a worker right now. */
unsigned fabric_n_running(Fabric *f);

/* libnvme log level follows tron. */
void fabric_set_debug(Fabric *f, bool on);
/* Does /dev/nvme-fabrics exist / is nvme_tcp etc. loaded: for process_info. */
bool fabric_have_fabrics(void);

/* A DC owns (or no longer owns) this kernel controller: adoption skips it. */
void fabric_set_owned(Fabric *f, const char *device, bool owned);
bool fabric_is_owned(Fabric *f, const char *device);

/* Connect a new discovery controller (persistent, discovery flag set), or
 * adopt a matching kernel controller no DC owns.  A string that would reach
 * the connect options with an option separator (',', '=' outside secrets,
 * whitespace, control characters) is refused with -EINVAL and logged as a
 * bug: the validators upstream must have caught it. */
int fabric_connect(Fabric *f, const FabricHost *host, const FabricConnectParams *p, FabricDoneFn cb,
                   void *userdata, FabricOp **ret_op);
/* Read identity of an existing controller (sysfs attributes + Identify). */
int fabric_ctrl_info(Fabric *f, const char *device, FabricDoneFn cb, void *userdata, FabricOp **ret_op);
/* DIM registration (TAS register/deregister). */
int fabric_register(Fabric *f, const FabricHost *host, const char *device, bool deregister, FabricDoneFn cb,
                    void *userdata, FabricOp **ret_op);
/* Fetch the DLP (lib/dlp.c's dlp_fetch): if try_pleo, read Supported Log
 * Pages first and use LSP PLEO when log 0x70 advertises PLEOS.  numrec is
 * capped so a hostile DC cannot make us allocate without limit; every
 * command has FABRIC_ADMIN_TIMEOUT_MS; a cancelled fetch stops at the next
 * command (after clearing RAE). */
int fabric_get_dlp(Fabric *f, const char *device, bool try_pleo, FabricDoneFn cb, void *userdata,
                   FabricOp **ret_op);
int fabric_disconnect(Fabric *f, const char *device, FabricDoneFn cb, void *userdata, FabricOp **ret_op);

/* The callback will not be called; an operation already running still runs
 * to its end on the worker (a blocking kernel call cannot be interrupted).
 * Careful with connects: a cancelled connect that succeeds leaves a kernel
 * controller nobody knows about (and fabric_busy() cannot see a connect,
 * whose device is unknown until it completes).  To drop a DC while its
 * connect is in flight, keep the callback and disconnect from there. */
void fabric_op_cancel(FabricOp *op);
/* Ask a running operation to stop early; its callback is still called (a
 * stopped log-page fetch reports -ECANCELED, after clearing RAE).  Only
 * fetches stop early; other operations run to their end. */
void fabric_op_abort(FabricOp *op);
/* Take an operation that has not started yet off its queue: true, and it
 * never runs (no callback; forget op).  False if it already runs. */
bool fabric_op_drop(FabricOp *op);
/* Is any operation in flight for this device (cancelled ones included, as
 * they still run)?  False inside the op's own callback: the op is finished
 * then, so the manager may disconnect right there.  Connects are not
 * counted (see fabric_op_cancel). */
bool fabric_busy(Fabric *f, const char *device);

/* "Success", strerror(-error), or for -EREMOTEIO with a status the NVMe
 * status name (libnvme's table, fabrics flavour) plus its hex value.
 * Always returns buf. */
const char *fabric_strerror(int error, unsigned status, char *buf, size_t size);

DEFINE_TRIVIAL_CLEANUP_FUNC(Fabric *, fabric_free);

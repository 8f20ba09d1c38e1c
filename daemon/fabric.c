/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fabric: the libnvme jobs, run on a two-lane worker pool.  See fabric.h
 * for the contract, pool.h for the threads and sysfs.h for the adoption
 * matcher.
 *
 * Threading: the loop thread owns Fabric.ops (every op not yet completed on
 * the loop) and FabricOp.cancelled; FabricOp.abort is read by the worker
 * (a cancelled fetch stops early); Fabric.owned is under owned_lock, which
 * is never held across I/O (the loop takes it).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <libnvme.h>

#include "fabric.h"
#include "log.h"
#include "macro.h"
#include "pool.h"

/* Bounds for the DLP fetch.  16384 entries is 16 MiB of raw log: more than
 * any real DC serves, small enough that a hostile numrec cannot hurt. */
#define DLP_MAX_RETRIES 10
#define DLP_MAX_ENTRIES 16384
/* Discovery controllers often have a small MDTS; 4 KiB always works. */
#define DLP_CHUNK 4096

enum {
        LANE_CONNECT,
        LANE_CONTROL,
        _LANE_MAX,
};

typedef enum FabricOpType {
        OP_CONNECT,
        OP_INFO,
        OP_REGISTER,
        OP_GET_DLP,
        OP_DISCONNECT,
} FabricOpType;

struct FabricOp {
        Fabric *fabric;
        FabricOpType type;
        PoolJob *job;
        FabricOp *ops_prev, *ops_next; /* Fabric.ops (loop thread) */
        bool cancelled; /* loop thread only */
        atomic_bool abort; /* read by the worker */

        char device[32];
        FabricDoneFn cb;
        void *userdata;

        /* inputs (copied) */
        char *hostnqn, *hostid, *hostkey, *symname;
        char *transport, *traddr, *trsvcid, *subsysnqn, *host_traddr, *host_iface;
        char *dhchap_secret, *dhchap_ctrl_secret;
        ConfConnOpts opts;
        bool flag; /* deregister / try_pleo */

        /* outputs */
        int error;
        unsigned status;
        FabricCtrlInfo info;
        FabricDlpResult dlp;
};

struct Fabric {
        sd_event *event;
        Pool *pool;
        FabricOp *ops; /* all not completed ops */
        bool freeing;

        pthread_mutex_t owned_lock;
        uint8_t *owned; /* by device number */
        size_t n_owned;
};

/* libnvme log level for every root a worker creates. */
static atomic_int fabric_nvme_log_level = LOG_CRIT;

/* ------------------------------------------------------------------ */
/* Error translation: the one place libnvme's codes become ours. */

static int errno_from_libnvme(int e) {
        switch (e) {
        case 0:
                return EIO;
        case ENVME_CONNECT_ALREADY:
                return EALREADY;
        case ENVME_CONNECT_ADDRINUSE:
                return EADDRINUSE;
        case ENVME_CONNECT_NODEV:
                return ENODEV;
        case ENVME_CONNECT_OPNOTSUPP:
                return EOPNOTSUPP;
        case ENVME_CONNECT_CONNREFUSED:
                return ECONNREFUSED;
        case ENVME_CONNECT_OPEN:
                return ENOENT;
        case ENVME_CONNECT_INVAL:
        case ENVME_CONNECT_INVAL_TR:
        case ENVME_CONNECT_TARG:
        case ENVME_CONNECT_AARG:
        case ENVME_CONNECT_PARSE:
                return EINVAL;
        case ENVME_CONNECT_RESOLVE:
        case ENVME_CONNECT_ADDRFAM:
        case ENVME_CONNECT_TRADDR:
                return EADDRNOTAVAIL;
        case ENVME_CONNECT_WRITE:
        case ENVME_CONNECT_READ:
        case ENVME_CONNECT_LOOKUP_SUBSYS_NAME:
        case ENVME_CONNECT_LOOKUP_SUBSYS:
                return EIO;
        default:
                /* Any other private code would not be a real errno. */
                return e >= ENVME_CONNECT_RESOLVE ? EIO : e;
        }
}

/* r is a libnvme return value: 0, -1 with errno set, a negative errno (some
 * 1.3 helpers), or a positive NVMe status.  Returns 0 or -errno; a status
 * goes to *status (if given) as -EREMOTEIO. */
static int fabric_result(int r, unsigned *status) {
        if (r > 0) {
                if (status)
                        *status = (unsigned) r;
                return -EREMOTEIO;
        }
        if (r == -1)
                return -errno_from_libnvme(errno);
        return r;
}

const char *fabric_strerror(int error, unsigned status, char *buf, size_t size) {
        if (error == -EREMOTEIO && status != 0)
                (void) snprintf(buf, size, "NVMe status 0x%04x: %s", status,
                                nvme_status_to_string((int) status, true));
        else if (error < 0)
                (void) snprintf(buf, size, "%s", strerror(-error));
        else
                (void) snprintf(buf, size, "Success");
        return buf;
}

/* ------------------------------------------------------------------ */
/* Ownership: adoption skips devices owned by a DC. */

static int device_number(const char *device) {
        return sysfs_device_name_valid(device) ? atoi(device + 4) : -1;
}

/* Caller holds owned_lock. */
static bool owned_locked(Fabric *f, const char *device) {
        int n = device_number(device);

        return n >= 0 && (size_t) n < f->n_owned && f->owned[n];
}

/* Caller holds owned_lock.  Best effort: on OOM the device stays unmarked. */
static void set_owned_locked(Fabric *f, const char *device, bool owned) {
        int n = device_number(device);

        if (n < 0)
                return;
        if ((size_t) n >= f->n_owned) {
                size_t nn = (size_t) n + 64;
                uint8_t *t;

                if (!owned)
                        return;
                t = realloc(f->owned, nn);
                if (!t)
                        return;
                memset(t + f->n_owned, 0, nn - f->n_owned);
                f->owned = t;
                f->n_owned = nn;
        }
        f->owned[n] = owned;
}

void fabric_set_owned(Fabric *f, const char *device, bool owned) {
        if (!f || isempty(device))
                return;
        pthread_mutex_lock(&f->owned_lock);
        set_owned_locked(f, device, owned);
        pthread_mutex_unlock(&f->owned_lock);
}

bool fabric_is_owned(Fabric *f, const char *device) {
        bool r;

        if (!f)
                return false;
        pthread_mutex_lock(&f->owned_lock);
        r = owned_locked(f, device);
        pthread_mutex_unlock(&f->owned_lock);
        return r;
}

/* The matcher's filter; it runs with the sysfs index locked, which a worker
 * may hold across slow sysfs reads: owned_lock is taken only briefly, so the
 * loop thread (fabric_set_owned) never waits for sysfs. */
static bool skip_owned(const char *device, void *ud) {
        return fabric_is_owned(ud, device);
}

bool fabric_have_fabrics(void) {
        return access("/dev/nvme-fabrics", F_OK) == 0;
}

/* ------------------------------------------------------------------ */
/* Jobs (worker threads) */

static nvme_root_t job_root(void) {
        int level = atomic_load(&fabric_nvme_log_level);
        nvme_root_t r;

        r = nvme_create_root(NULL, level);
        if (r)
                nvme_init_logging(r, level, false, false);
        return r;
}

static void nvme_free_treep(nvme_root_t *r) {
        if (*r)
                nvme_free_tree(*r);
}

static nvme_host_t job_host(nvme_root_t r, FabricOp *op) {
        nvme_host_t h;

        h = nvme_lookup_host(r, op->hostnqn, op->hostid);
        if (!h)
                return NULL;
        if (op->hostkey)
                nvme_host_set_dhchap_key(h, op->hostkey);
        if (op->symname)
                nvme_host_set_hostsymname(h, op->symname);
        return h;
}

/* Identify Controller fallback for cntrltype/dctype (pre-6.x kernels). */
static int job_identify(FabricOp *op) {
        static const char *const cntrltype[] = { [1] = "io", [2] = "discovery", [3] = "admin" };
        static const char *const dctype[] = { [0] = "none", [1] = "ddc", [2] = "cdc" };
        FabricCtrlInfo *info = &op->info;
        struct nvme_id_ctrl id = {};
        _cleanup_close_ int fd = -EBADF;
        char path[64];
        int r;

        (void) snprintf(path, sizeof(path), "/dev/%s", info->device);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct nvme_identify_args args = {
                .data = &id,
                .args_size = sizeof(args),
                .fd = fd,
                .timeout = FABRIC_ADMIN_TIMEOUT_MS,
                .cns = NVME_IDENTIFY_CNS_CTRL,
                .csi = NVME_CSI_NVM,
                .nsid = NVME_NSID_NONE,
                .cntid = NVME_CNTLID_NONE,
                .cns_specific_id = NVME_CNSSPECID_NONE,
                .uuidx = NVME_UUID_NONE,
        };
        r = fabric_result(nvme_identify(&args), &op->status);
        if (r != 0)
                return r;
        if (isempty(info->cntrltype))
                (void) snprintf(info->cntrltype, sizeof(info->cntrltype), "%s",
                                id.cntrltype < ELEMENTSOF(cntrltype) && cntrltype[id.cntrltype]
                                        ? cntrltype[id.cntrltype]
                                        : "reserved");
        if (isempty(info->dctype))
                (void) snprintf(info->dctype, sizeof(info->dctype), "%s",
                                id.dctype < ELEMENTSOF(dctype) ? dctype[id.dctype] : "reserved");
        if (isempty(info->model)) {
                char mn[sizeof(id.mn) + 1] = {};

                memcpy(mn, id.mn, sizeof(id.mn));
                sysfs_trim_copy(info->model, sizeof(info->model), mn);
        }
        if (isempty(info->serial)) {
                char sn[sizeof(id.sn) + 1] = {};

                memcpy(sn, id.sn, sizeof(id.sn));
                sysfs_trim_copy(info->serial, sizeof(info->serial), sn);
        }
        return 0;
}

static int job_info(FabricOp *op) {
        int r;

        r = sysfs_read_info(op->device, &op->info);
        if (r < 0)
                return r;
        if (isempty(op->info.cntrltype) || isempty(op->info.dctype)) {
                r = job_identify(op);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int job_connect(FabricOp *op) {
        _cleanup_(nvme_free_treep) nvme_root_t root = NULL;
        Fabric *f = op->fabric;
        struct nvme_fabrics_config cfg;
        const ConfConnOpts *o = &op->opts;
        const Tid tid = {
                .transport = (char *) strempty(op->transport),
                .traddr = (char *) strempty(op->traddr),
                .trsvcid = (char *) strempty(op->trsvcid),
                .subsysnqn = (char *) strempty(op->subsysnqn),
                .host_traddr = (char *) strempty(op->host_traddr),
                .host_iface = (char *) strempty(op->host_iface),
                .host_nqn = (char *) strempty(op->hostnqn),
        };
        char existing[32];
        nvme_host_t h;
        nvme_ctrl_t c;
        const char *name;
        int r;

        /* Adopt a kernel controller that already matches (spec section 5
         * step 1) and that no DC owns: after a restart, or one made by
         * nvme-cli.  Done here, not on the loop: sysfs attributes of a
         * controller that is being created can block while the kernel
         * connects.  The claim is a test-and-set under owned_lock: two
         * connects racing for the same controller cannot both take it
         * (the loser looks again). */
        for (unsigned attempt = 0;; attempt++) {
                bool claimed;

                r = sysfs_find_existing(&tid, NULL, skip_owned, f, existing, sizeof(existing));
                if (r <= 0 || attempt >= 8)
                        break;
                /* Claim it unless another connect just did. */
                pthread_mutex_lock(&f->owned_lock);
                claimed = !owned_locked(f, existing);
                if (claimed)
                        set_owned_locked(f, existing, true);
                pthread_mutex_unlock(&f->owned_lock);
                if (claimed)
                        break;
                r = 0;
        }
        if (r > 0) {
                (void) snprintf(op->device, sizeof(op->device), "%s", existing);
                r = job_info(op);
                if (r < 0) {
                        fabric_set_owned(f, existing, false);
                        return r;
                }
                op->info.adopted = true;
                return 0;
        }

        root = job_root();
        if (!root)
                return -ENOMEM;
        h = job_host(root, op);
        if (!h)
                return -ENOMEM;
        c = nvme_create_ctrl(root, op->subsysnqn, op->transport, op->traddr, op->host_traddr, op->host_iface,
                             op->trsvcid);
        if (!c)
                return fabric_result(-1, NULL);
        nvme_ctrl_set_discovery_ctrl(c, true);
        nvme_ctrl_set_persistent(c, true);
        if (op->dhchap_secret)
                nvme_ctrl_set_dhchap_host_key(c, op->dhchap_secret);
        if (op->dhchap_ctrl_secret)
                nvme_ctrl_set_dhchap_key(c, op->dhchap_ctrl_secret);

        nvmf_default_config(&cfg);
        cfg.host_traddr = op->host_traddr;
        cfg.host_iface = op->host_iface;
        cfg.keep_alive_tmo = o->kato != CONF_UNSET ? o->kato : 30;
        /* CONF_UNSET keeps libnvme's default.  libnvme 1.3 does not pass
         * queue_size for a discovery controller (admin queue only); it is
         * set anyway in case a later one does. */
#define SET_OPT(f)                      \
        do {                            \
                if (o->f != CONF_UNSET) \
                        cfg.f = o->f;   \
        } while (0)
        SET_OPT(hdr_digest);
        SET_OPT(data_digest);
        SET_OPT(queue_size);
        SET_OPT(reconnect_delay);
        SET_OPT(ctrl_loss_tmo);
        SET_OPT(disable_sqflow);
#undef SET_OPT

        r = fabric_result(nvmf_add_ctrl(h, c, &cfg), NULL);
        if (r != 0) {
                /* Not linked into the tree on failure: nvme_free_tree()
                 * would not free it. */
                nvme_free_ctrl(c);
                return r;
        }

        name = nvme_ctrl_get_name(c);
        if (!name || !sysfs_device_name_valid(name))
                return -EIO;
        (void) snprintf(op->device, sizeof(op->device), "%s", name);
        fabric_set_owned(f, name, true);
        sysfs_index_invalidate();

        r = job_info(op);
        if (r == -ENOENT) {
                fabric_set_owned(f, name, false);
                return r; /* gone already */
        }
        if (r < 0)
                /* Connected; identity can be read again later. */
                (void) snprintf(op->info.device, sizeof(op->info.device), "%s", name);
        op->status = 0;
        return 0;
}

static int job_register(FabricOp *op) {
        _cleanup_(nvme_free_treep) nvme_root_t root = NULL;
        nvme_subsystem_t s;
        nvme_host_t h;
        nvme_ctrl_t c;
        __u32 result = 0;

        root = job_root();
        if (!root)
                return -ENOMEM;
        /* Create our host first so the scan attaches the controller to it
         * (same hostnqn/hostid); in any case set the symname on whatever
         * host the controller ends up under: nvmf_dim reads it from there. */
        (void) job_host(root, op);
        c = nvme_scan_ctrl(root, op->device);
        if (!c)
                return fabric_result(-1, NULL);
        s = nvme_ctrl_get_subsystem(c);
        h = s ? nvme_subsystem_get_host(s) : NULL;
        if (h && op->symname)
                nvme_host_set_hostsymname(h, op->symname);
        if (h && op->hostkey)
                nvme_host_set_dhchap_key(h, op->hostkey);

        return fabric_result(
                nvmf_register_ctrl(c, op->flag ? NVMF_DIM_TAS_DEREGISTER : NVMF_DIM_TAS_REGISTER, &result),
                &op->status);
}

static int job_disconnect(FabricOp *op) {
        _cleanup_(nvme_free_treep) nvme_root_t root = NULL;
        nvme_ctrl_t c;

        root = job_root();
        if (!root)
                return -ENOMEM;
        c = nvme_scan_ctrl(root, op->device);
        if (!c)
                return fabric_result(-1, NULL);
        return fabric_result(nvme_disconnect_ctrl(c), &op->status);
}

typedef struct DlpReader {
        FabricOp *op;
        int fd;
        uint8_t lsp;
} DlpReader;

static int get_log(int fd, uint8_t lid, uint8_t lsp, uint64_t offset, void *buf, size_t len, bool rae,
                   unsigned *status) {
        __u32 result = 0;
        struct nvme_get_log_args args = {
                .lpo = offset,
                .result = &result,
                .log = buf,
                .args_size = sizeof(args),
                .fd = fd,
                .timeout = FABRIC_ADMIN_TIMEOUT_MS,
                .lid = lid,
                .len = len,
                .nsid = NVME_NSID_NONE,
                .csi = NVME_CSI_NVM,
                .lsi = NVME_LOG_LSI_NONE,
                .lsp = lsp,
                .uuidx = NVME_UUID_NONE,
                .rae = rae,
                .ot = false,
        };

        return fabric_result(nvme_get_log(&args), status);
}

/* dlp_fetch's reader: 0 or -errno (-EREMOTEIO with op->status set). */
static int dlp_read(void *ud, uint64_t offset, void *buf, size_t len, bool rae) {
        DlpReader *rd = ud;
        uint8_t *p = buf;

        /* Chunks; RAE stays set until the very last chunk of a read asked
         * to clear it. */
        while (len > 0) {
                size_t n = len > DLP_CHUNK ? DLP_CHUNK : len;
                bool chunk_rae = n == len ? rae : true;
                int r;

                /* Cancelled (DC gone, or stopping): no more commands, except
                 * the one that clears RAE. */
                if (chunk_rae && atomic_load(&rd->op->abort))
                        return -ECANCELED;
                r = get_log(rd->fd, NVME_LOG_LID_DISCOVER, rd->lsp, offset, p, n, chunk_rae,
                            &rd->op->status);
                if (r != 0)
                        return r;
                offset += n;
                p += n;
                len -= n;
        }
        return 0;
}

static int job_get_dlp(FabricOp *op) {
        _cleanup_close_ int fd = -EBADF;
        DlpReader rd = { .op = op };
        char path[64];
        int r;

        (void) snprintf(path, sizeof(path), "/dev/%s", op->device);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (op->flag) {
                struct nvme_supported_log_pages log = {};
                unsigned st = 0;

                /* A DC that cannot answer this simply gets no PLEO. */
                if (get_log(fd, NVME_LOG_LID_SUPPORTED_LOG_PAGES, NVME_LOG_LSP_NONE, 0, &log, sizeof(log),
                            true, &st) == 0) {
                        uint32_t v = le32toh(log.lid_support[NVME_LOG_LID_DISCOVER]);

                        /* bits 31:16 are the LID specific parameter */
                        if ((v >> 16) & NVMF_LOG_DISC_LID_PLEOS)
                                rd.lsp = NVMF_LOG_DISC_LSP_PLEO;
                }
        }
        op->dlp.pleo_used = rd.lsp == NVMF_LOG_DISC_LSP_PLEO;

        rd.fd = fd;
        op->status = 0;
        r = dlp_fetch(dlp_read, &rd, DLP_MAX_RETRIES, DLP_MAX_ENTRIES, &op->dlp.dlp, &op->dlp.retries,
                      &op->dlp.dropped);
        if (r != -EREMOTEIO)
                op->status = 0;
        return r;
}

static int job_run(void *data) {
        FabricOp *op = data;

        switch (op->type) {
        case OP_CONNECT:
                return job_connect(op);
        case OP_INFO:
                return job_info(op);
        case OP_REGISTER:
                return job_register(op);
        case OP_GET_DLP:
                return job_get_dlp(op);
        case OP_DISCONNECT:
                return job_disconnect(op);
        }
        return -EINVAL;
}

/* ------------------------------------------------------------------ */
/* Loop side */

static FabricOp *op_free(FabricOp *op) {
        if (!op)
                return NULL;
        dlp_free(op->dlp.dlp);
        free(op->hostnqn);
        free(op->hostid);
        free(op->hostkey);
        free(op->symname);
        free(op->transport);
        free(op->traddr);
        free(op->trsvcid);
        free(op->subsysnqn);
        free(op->host_traddr);
        free(op->host_iface);
        free(op->dhchap_secret);
        free(op->dhchap_ctrl_secret);
        free(op);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(FabricOp *, op_free);

static void ops_unlink(Fabric *f, FabricOp *op) {
        if (op->ops_prev)
                op->ops_prev->ops_next = op->ops_next;
        else
                f->ops = op->ops_next;
        if (op->ops_next)
                op->ops_next->ops_prev = op->ops_prev;
        op->ops_prev = op->ops_next = NULL;
}

/* The pool's done(): on the loop thread. */
static void op_done(void *data, int result) {
        FabricOp *op = data;
        Fabric *f = op->fabric;
        void *res = NULL;

        ops_unlink(f, op);
        op->job = NULL;
        op->error = result;
        if (op->error != -EREMOTEIO)
                op->status = 0;
        /* A connect nobody will hear about must not keep its claim. */
        if (op->type == OP_CONNECT && op->error == 0 && (op->cancelled || f->freeing || !op->cb))
                fabric_set_owned(f, op->device, false);
        if (!op->cancelled && !f->freeing && op->cb && result != -ECANCELED) {
                switch (op->type) {
                case OP_CONNECT:
                case OP_INFO:
                        res = op->error == 0 ? &op->info : NULL;
                        break;
                case OP_GET_DLP:
                        res = op->error == 0 ? &op->dlp : NULL;
                        break;
                default:
                        break;
                }
                op->cb(op, op->error, op->status, res, op->userdata);
        }
        op_free(op);
}

int fabric_new(Fabric **ret, sd_event *event, const FabricLanes *lanes) {
        _cleanup_(fabric_freep) Fabric *f = NULL;
        PoolLaneSpec spec[_LANE_MAX];
        int r;

        if (!ret || !event || !lanes || lanes->n_connect == 0 || lanes->n_control == 0)
                return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        pthread_mutex_init(&f->owned_lock, NULL);
        f->event = sd_event_ref(event);
        spec[LANE_CONNECT] = (PoolLaneSpec){ "fabric-connect", lanes->n_connect };
        spec[LANE_CONTROL] = (PoolLaneSpec){ "fabric-control", lanes->n_control };
        r = pool_new(&f->pool, event, "fabric", spec, _LANE_MAX);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(f);
        return 0;
}

Fabric *fabric_free(Fabric *f) {
        if (!f)
                return NULL;
        f->freeing = true;
        /* Joins the workers; every op left gets op_done(-ECANCELED), which
         * frees it without calling back. */
        f->pool = pool_free(f->pool);
        assert(!f->ops);
        sd_event_unref(f->event);
        free(f->owned);
        pthread_mutex_destroy(&f->owned_lock);
        free(f);
        return NULL;
}

void fabric_abandon(Fabric *f) {
        if (!f)
                return;
        f->freeing = true;
        for (FabricOp *op = f->ops; op; op = op->ops_next)
                atomic_store(&op->abort, true);
        pool_abandon(f->pool);
}

unsigned fabric_n_running(Fabric *f) {
        return f ? pool_n_running(f->pool) : 0;
}

void fabric_set_debug(Fabric *f, bool on) {
        atomic_store(&fabric_nvme_log_level, on ? LOG_DEBUG : LOG_CRIT);
}

static int op_new(Fabric *f, FabricOpType type, const char *device, FabricDoneFn cb, void *userdata,
                  FabricOp **ret) {
        FabricOp *op;

        if (!f)
                return -EINVAL;
        if (device && !sysfs_device_name_valid(device))
                return -EINVAL;
        op = calloc(1, sizeof(*op));
        if (!op)
                return -ENOMEM;
        op->fabric = f;
        op->type = type;
        op->cb = cb;
        op->userdata = userdata;
        if (device)
                (void) snprintf(op->device, sizeof(op->device), "%s", device);
        *ret = op;
        return 0;
}

static int op_set_host(FabricOp *op, const FabricHost *host) {
        if (!host || isempty(host->hostnqn))
                return -EINVAL;
        if (free_and_strdup(&op->hostnqn, host->hostnqn) < 0 ||
            free_and_strdup(&op->hostid, isempty(host->hostid) ? NULL : host->hostid) < 0 ||
            free_and_strdup(&op->hostkey, isempty(host->hostkey) ? NULL : host->hostkey) < 0 ||
            free_and_strdup(&op->symname, isempty(host->symname) ? NULL : host->symname) < 0)
                return -ENOMEM;
        return 0;
}

/* Hands op to the workers: it belongs to the Fabric from here on (also on
 * failure, when it is freed). */
static int op_submit(FabricOp *op, FabricOp **ret_op) {
        Fabric *f = op->fabric;
        int r;

        r = pool_submit(f->pool, op->type == OP_CONNECT ? LANE_CONNECT : LANE_CONTROL, job_run, op_done, op,
                        &op->job);
        if (r < 0) {
                op_free(op);
                return r;
        }
        op->ops_next = f->ops;
        if (f->ops)
                f->ops->ops_prev = op;
        f->ops = op;

        if (ret_op)
                *ret_op = op;
        return 0;
}

static int dup_nonempty(char **p, const char *s) {
        return free_and_strdup(p, isempty(s) ? NULL : s);
}

/* Would s change the meaning of libnvme's "k=v,k=v" option string?  Secrets
 * (base64, may end in '=') may hold '=' but nothing else. */
static bool has_option_separator(const char *s, bool secret) {
        for (; s && *s; s++) {
                unsigned char c = (unsigned char) *s;

                if (c == ',' || (c == '=' && !secret) || isspace(c) || c < 0x20 || c == 0x7f)
                        return true;
        }
        return false;
}

static int connect_check_options(const FabricOp *op) {
        const struct {
                const char *name;
                const char *value;
                bool secret;
        } fields[] = {
                { "transport", op->transport, false },
                { "traddr", op->traddr, false },
                { "trsvcid", op->trsvcid, false },
                { "subsysnqn", op->subsysnqn, false },
                { "host-traddr", op->host_traddr, false },
                { "host-iface", op->host_iface, false },
                { "host-nqn", op->hostnqn, false },
                { "host-id", op->hostid, false },
                { "host key", op->hostkey, true },
                { "dhchap-secret", op->dhchap_secret, true },
                { "dhchap-ctrl-secret", op->dhchap_ctrl_secret, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (has_option_separator(fields[i].value, fields[i].secret)) {
                        /* log.c escapes what it prints. */
                        log_error("BUG: refusing to connect to (%s, %s, %s): %s \"%s\" contains a connect "
                                  "option separator; it should have been rejected where it entered",
                                  strempty(op->transport), strempty(op->traddr), strempty(op->trsvcid),
                                  fields[i].name, fields[i].secret ? "<redacted>" : fields[i].value);
                        return -EINVAL;
                }
        return 0;
}

int fabric_connect(Fabric *f, const FabricHost *host, const FabricConnectParams *p, FabricDoneFn cb,
                   void *userdata, FabricOp **ret_op) {
        _cleanup_(op_freep) FabricOp *op = NULL;
        const Tid *t;
        int r;

        if (!p || !p->tid || isempty(p->tid->transport) || isempty(p->tid->traddr))
                return -EINVAL;
        t = p->tid;
        r = op_new(f, OP_CONNECT, NULL, cb, userdata, &op);
        if (r < 0)
                return r;
        r = op_set_host(op, host);
        if (r < 0)
                return r;
        /* The TID's host NQN wins over the default host's. */
        if (!isempty(t->host_nqn) && free_and_strdup(&op->hostnqn, t->host_nqn) < 0)
                return -ENOMEM;
        if (dup_nonempty(&op->transport, t->transport) < 0 || dup_nonempty(&op->traddr, t->traddr) < 0 ||
            dup_nonempty(&op->trsvcid, t->trsvcid) < 0 ||
            free_and_strdup(&op->subsysnqn, isempty(t->subsysnqn) ? DISC_NQN : t->subsysnqn) < 0 ||
            dup_nonempty(&op->host_traddr, t->host_traddr) < 0 ||
            dup_nonempty(&op->host_iface, t->host_iface) < 0 ||
            dup_nonempty(&op->dhchap_secret, p->dhchap_secret) < 0 ||
            dup_nonempty(&op->dhchap_ctrl_secret, p->dhchap_ctrl_secret) < 0)
                return -ENOMEM;
        r = connect_check_options(op);
        if (r < 0)
                return r;
        op->opts = p->opts;
        return op_submit(TAKE_PTR(op), ret_op);
}

/* An operation on an existing device that needs nothing but the device. */
static int submit_on_device(Fabric *f, FabricOpType type, const char *device, bool flag, FabricDoneFn cb,
                            void *userdata, FabricOp **ret_op) {
        FabricOp *op;
        int r;

        r = op_new(f, type, device, cb, userdata, &op);
        if (r < 0)
                return r;
        op->flag = flag;
        return op_submit(op, ret_op);
}

int fabric_ctrl_info(Fabric *f, const char *device, FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        return submit_on_device(f, OP_INFO, device, false, cb, userdata, ret_op);
}

int fabric_register(Fabric *f, const FabricHost *host, const char *device, bool deregister, FabricDoneFn cb,
                    void *userdata, FabricOp **ret_op) {
        _cleanup_(op_freep) FabricOp *op = NULL;
        int r;

        r = op_new(f, OP_REGISTER, device, cb, userdata, &op);
        if (r < 0)
                return r;
        r = op_set_host(op, host);
        if (r < 0)
                return r;
        op->flag = deregister;
        return op_submit(TAKE_PTR(op), ret_op);
}

int fabric_get_dlp(Fabric *f, const char *device, bool try_pleo, FabricDoneFn cb, void *userdata,
                   FabricOp **ret_op) {
        return submit_on_device(f, OP_GET_DLP, device, try_pleo, cb, userdata, ret_op);
}

int fabric_disconnect(Fabric *f, const char *device, FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        return submit_on_device(f, OP_DISCONNECT, device, false, cb, userdata, ret_op);
}

void fabric_op_cancel(FabricOp *op) {
        if (!op)
                return;
        op->cancelled = true;
        atomic_store(&op->abort, true);
}

void fabric_op_abort(FabricOp *op) {
        if (op)
                atomic_store(&op->abort, true);
}

bool fabric_op_drop(FabricOp *op) {
        Fabric *f;

        if (!op || !op->job || !pool_job_drop(op->job))
                return false;
        f = op->fabric;
        ops_unlink(f, op);
        op_free(op);
        return true;
}

bool fabric_busy(Fabric *f, const char *device) {
        if (!f || isempty(device))
                return false;
        /* A connect learns its device only on the worker: op->device is
         * written there, so only look at it for the other types. */
        for (FabricOp *op = f->ops; op; op = op->ops_next)
                if (op->type != OP_CONNECT && streq(op->device, device))
                        return true;
        return false;
}

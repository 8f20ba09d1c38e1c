/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fabric: libnvme on worker threads.  See fabric.h for the contract.
 *
 * Threading: the loop thread owns Fabric.ops (every op not yet completed on
 * the loop) and FabricOp.cancelled; the mutex protects the job queue, the
 * done list and the stop flag.  A worker takes a job, runs it with no lock
 * held, appends it to the done list and writes the eventfd; the loop drains
 * the done list and calls the callbacks.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <syslog.h>

#include <libnvme.h>

#include "fabric.h"
#include "log.h"
#include "macro.h"

/* Bounds for the DLP fetch.  16384 entries is 16 MiB of raw log: more than
 * any real DC serves, small enough that a hostile numrec cannot hurt. */
#define DLP_MAX_RETRIES 10
#define DLP_MAX_ENTRIES 16384
/* Discovery controllers often have a small MDTS; 4 KiB always works. */
#define DLP_CHUNK 4096

typedef enum FabricOpType {
        OP_CONNECT,
        OP_INFO,
        OP_REGISTER,
        OP_GET_DLP,
        OP_DISCONNECT,
        OP_TEST,
} FabricOpType;

struct FabricOp {
        Fabric *fabric;
        FabricOpType type;
        FabricOp *next;               /* job queue / done list */
        FabricOp *ops_prev, *ops_next; /* Fabric.ops (loop thread) */
        bool cancelled;               /* loop thread only */

        char device[32];
        FabricDoneFn cb;
        void *userdata;

        /* inputs (copied) */
        char *hostnqn, *hostid, *hostkey, *symname;
        char *transport, *traddr, *trsvcid, *subsysnqn, *host_traddr, *host_iface;
        char *dhchap_secret, *dhchap_ctrl_secret;
        ConfConnOpts opts;
        bool flag;                    /* deregister / try_pleo */
        int (*test_fn)(void *arg);
        void *test_arg;

        /* outputs */
        int error;
        FabricCtrlInfo info;
        FabricDlpResult dlp;
};

struct Fabric {
        sd_event *event;
        sd_event_source *efd_source;
        int efd;

        pthread_t *threads;
        unsigned n_threads;

        pthread_mutex_t lock;
        pthread_cond_t cond;
        FabricOp *queue_head, *queue_tail;
        FabricOp *done;               /* LIFO; reversed when drained */
        bool stop;

        FabricOp *ops;                /* all not completed ops */
};

/* libnvme log level for every root a worker creates. */
static atomic_int fabric_nvme_log_level = LOG_CRIT;
static char *fabric_sysfs_root;

static const char *sysfs_root(void) {
        return fabric_sysfs_root ?: "/sys";
}

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
 * 1.3 helpers), or a positive NVMe status. */
static int fabric_result(int r) {
        if (r > 0)
                return r;
        if (r == -1)
                return -errno_from_libnvme(errno);
        return r;
}

const char *fabric_strerror(int error, char *buf, size_t size) {
        if (error > 0)
                (void) snprintf(buf, size, "NVMe status 0x%04x: %s", (unsigned) error,
                                nvme_status_to_string(error, true));
        else if (error < 0)
                (void) snprintf(buf, size, "%s", strerror(-error));
        else
                (void) snprintf(buf, size, "Success");
        return buf;
}

/* ------------------------------------------------------------------ */
/* sysfs helpers */

static void strtrim_copy(char *dst, size_t size, const char *src) {
        size_t n;

        while (isspace((unsigned char) *src))
                src++;
        n = strlen(src);
        while (n > 0 && isspace((unsigned char) src[n - 1]))
                n--;
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
}

/* Read one attribute, trimmed, into buf.  "" and -errno when unreadable. */
static int sysfs_read_attr(const char *device, const char *attr, char *buf, size_t size) {
        char path[PATH_MAX], tmp[1024];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        buf[0] = 0;
        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s/%s", sysfs_root(), device, attr);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, tmp, sizeof(tmp) - 1);
        if (n < 0)
                return -errno;
        tmp[n] = 0;
        strtrim_copy(buf, size, tmp);
        return 0;
}

static bool device_name_valid(const char *device) {
        /* "nvme" + digits: this goes into paths. */
        if (!device || strncmp(device, "nvme", 4) != 0 || !device[4])
                return false;
        for (const char *p = device + 4; *p; p++)
                if (!isdigit((unsigned char) *p))
                        return false;
        return strlen(device) < sizeof(((FabricCtrlInfo *) NULL)->device);
}

int fabric_set_sysfs_root(const char *path) {
        return free_and_strdup(&fabric_sysfs_root, path);
}

int fabric_read_sysfs_info(const char *device, FabricCtrlInfo *ret) {
        char path[PATH_MAX];
        FabricCtrlInfo info = {};

        if (!device_name_valid(device))
                return -EINVAL;
        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s", sysfs_root(), device);
        if (access(path, F_OK) < 0)
                return -errno;

        (void) snprintf(info.device, sizeof(info.device), "%s", device);
        (void) sysfs_read_attr(device, "dctype", info.dctype, sizeof(info.dctype));
        (void) sysfs_read_attr(device, "cntrltype", info.cntrltype, sizeof(info.cntrltype));
        (void) sysfs_read_attr(device, "model", info.model, sizeof(info.model));
        (void) sysfs_read_attr(device, "serial", info.serial, sizeof(info.serial));
        (void) sysfs_read_attr(device, "hostnqn", info.hostnqn, sizeof(info.hostnqn));
        (void) sysfs_read_attr(device, "hostid", info.hostid, sizeof(info.hostid));
        *ret = info;
        return 0;
}

bool fabric_have_fabrics(void) {
        return access("/dev/nvme-fabrics", F_OK) == 0;
}

/* ------------------------------------------------------------------ */
/* Adoption matcher */

/* Value of key in a "k=v,k=v" address attribute, into buf ("" if absent). */
static void address_get(const char *address, const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);
        const char *p = address;

        buf[0] = 0;
        while (p && *p) {
                const char *end = strchr(p, ',');
                size_t len = end ? (size_t) (end - p) : strlen(p);

                if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
                        char tmp[256];

                        len -= klen + 1;
                        if (len >= sizeof(tmp))
                                len = sizeof(tmp) - 1;
                        memcpy(tmp, p + klen + 1, len);
                        tmp[len] = 0;
                        strtrim_copy(buf, size, tmp);
                        return;
                }
                p = end ? end + 1 : NULL;
        }
}

/* Parse an IP literal with optional %scope into a 16-byte v6 form (IPv4 as
 * v4-mapped, so "::ffff:1.2.3.4" == "1.2.3.4").  The tid module does this for
 * configuration input; here we only need equality with what the kernel
 * prints. */
static bool addr_parse(const char *s, unsigned char out[16], const char **ret_scope) {
        char tmp[INET6_ADDRSTRLEN + 1];
        const char *pct = strchr(s, '%');
        size_t n = pct ? (size_t) (pct - s) : strlen(s);
        struct in_addr a4;

        if (n >= sizeof(tmp))
                return false;
        memcpy(tmp, s, n);
        tmp[n] = 0;
        *ret_scope = pct ? pct + 1 : "";

        if (inet_pton(AF_INET, tmp, &a4) == 1) {
                memset(out, 0, 10);
                out[10] = out[11] = 0xff;
                memcpy(out + 12, &a4, 4);
                return true;
        }
        return inet_pton(AF_INET6, tmp, out) == 1;
}

static bool addr_equal(const char *a, const char *b) {
        unsigned char x[16], y[16];
        const char *sa, *sb;

        if (!addr_parse(a, x, &sa) || !addr_parse(b, y, &sb))
                return strcasecmp(a, b) == 0; /* host names, fc addresses */
        if (memcmp(x, y, 16) != 0)
                return false;
        return isempty(sa) || isempty(sb) || streq(sa, sb);
}

/* Name of the interface owning address addr, into buf; false if unknown. */
static bool iface_of_addr(const char *addr, char *buf, size_t size) {
        struct ifaddrs *ifa_list, *ifa;
        unsigned char want[16];
        const char *scope;
        bool found = false;

        if (!addr_parse(addr, want, &scope) || getifaddrs(&ifa_list) < 0)
                return false;
        for (ifa = ifa_list; ifa && !found; ifa = ifa->ifa_next) {
                char s[INET6_ADDRSTRLEN];
                unsigned char got[16];
                const char *sc;

                if (!ifa->ifa_addr)
                        continue;
                if (ifa->ifa_addr->sa_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) ifa->ifa_addr)->sin_addr, s, sizeof(s));
                else if (ifa->ifa_addr->sa_family == AF_INET6)
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr, s, sizeof(s));
                else
                        continue;
                if (addr_parse(s, got, &sc) && memcmp(got, want, 16) == 0) {
                        (void) snprintf(buf, size, "%s", ifa->ifa_name);
                        found = true;
                }
        }
        freeifaddrs(ifa_list);
        return found;
}

static bool has_namespaces(const char *device) {
        char path[PATH_MAX];
        DIR *d;
        struct dirent *de;
        size_t dl = strlen(device);
        bool found = false;

        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s", sysfs_root(), device);
        d = opendir(path);
        if (!d)
                return false;
        while (!found && (de = readdir(d))) {
                /* nvme3n1, or nvme0c3n1 with native multipath */
                if (strncmp(de->d_name, device, dl) == 0 && de->d_name[dl] == 'n')
                        found = true;
                else if (strncmp(de->d_name, "nvme", 4) == 0 && strchr(de->d_name + 4, 'c') &&
                         strchr(strchr(de->d_name + 4, 'c'), 'n'))
                        found = true;
        }
        closedir(d);
        return found;
}

/* 0: no match, 1: match, 2: match and live. */
static int match_one(const Tid *tid, const char *hostnqn, const char *device) {
        char buf[256], address[1024], v[256];

        if (sysfs_read_attr(device, "state", buf, sizeof(buf)) == 0 && strncmp(buf, "deleting", 8) == 0)
                return 0;
        bool live = streq(buf, "live");

        if (sysfs_read_attr(device, "transport", buf, sizeof(buf)) < 0 ||
            strcasecmp(buf, strempty(tid->transport)) != 0)
                return 0;
        if (sysfs_read_attr(device, "hostnqn", buf, sizeof(buf)) < 0 || !streq(buf, strempty(hostnqn)))
                return 0;

        if (sysfs_read_attr(device, "subsysnqn", buf, sizeof(buf)) < 0)
                return 0;
        bool well_known = streq(buf, DISC_NQN);
        if (!streq(buf, strempty(tid->subsysnqn)) && !well_known && !streq_ptr(tid->subsysnqn, DISC_NQN))
                return 0;

        char ctype[32];
        (void) sysfs_read_attr(device, "cntrltype", ctype, sizeof(ctype));
        if (!streq(ctype, "discovery") && !well_known) {
                /* Old kernels lack cntrltype: a controller without namespaces
                 * is taken as a discovery controller; an I/O one is not ours. */
                if (!isempty(ctype) || has_namespaces(device))
                        return 0;
        }

        if (sysfs_read_attr(device, "address", address, sizeof(address)) < 0)
                return 0;
        address_get(address, "traddr", v, sizeof(v));
        if (!addr_equal(v, strempty(tid->traddr)))
                return 0;
        address_get(address, "trsvcid", v, sizeof(v));
        if (!streq(v, strempty(tid->trsvcid)))
                return 0;

        if (strcasecmp(strempty(tid->transport), "tcp") == 0) {
                char src[256];

                address_get(address, "src_addr", src, sizeof(src));
                if (!isempty(tid->host_traddr)) {
                        address_get(address, "host_traddr", v, sizeof(v));
                        if (isempty(v))
                                strcpy(v, src);
                        if (!addr_equal(v, tid->host_traddr))
                                return 0;
                }
                if (!isempty(tid->host_iface)) {
                        address_get(address, "host_iface", v, sizeof(v));
                        if (isempty(v) && !isempty(src) && !iface_of_addr(src, v, sizeof(v)))
                                return 0;
                        if (!streq(v, tid->host_iface))
                                return 0;
                }
        }

        return live ? 2 : 1;
}

static int device_number(const char *name) {
        return atoi(name + 4);
}

int fabric_find_existing(const FabricHost *host, const Tid *tid, char *ret_device, size_t size) {
        char path[PATH_MAX], best[64] = "";
        const char *hostnqn;
        struct dirent *de;
        int best_score = 0, best_num = -1;
        DIR *d;

        if (!tid || !ret_device)
                return -EINVAL;
        hostnqn = !isempty(tid->host_nqn) ? tid->host_nqn : host ? host->hostnqn : NULL;

        (void) snprintf(path, sizeof(path), "%s/class/nvme", sysfs_root());
        d = opendir(path);
        if (!d)
                return errno == ENOENT ? 0 : -errno;

        while ((de = readdir(d))) {
                int score, num;

                if (!device_name_valid(de->d_name))
                        continue;
                score = match_one(tid, hostnqn, de->d_name);
                if (score == 0)
                        continue;
                /* Deterministic choice: live first, then lowest number. */
                num = device_number(de->d_name);
                if (score > best_score || (score == best_score && num < best_num)) {
                        best_score = score;
                        best_num = num;
                        (void) snprintf(best, sizeof(best), "%s", de->d_name);
                }
        }
        closedir(d);

        if (best_score == 0)
                return 0;
        if (strlen(best) >= size)
                return -ENOBUFS;
        strcpy(ret_device, best);
        return 1;
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
static int job_identify(FabricCtrlInfo *info) {
        static const char * const cntrltype[] = { [1] = "io", [2] = "discovery", [3] = "admin" };
        static const char * const dctype[] = { [0] = "none", [1] = "ddc", [2] = "cdc" };
        struct nvme_id_ctrl id = {};
        _cleanup_close_ int fd = -EBADF;
        char path[64];
        int r;

        (void) snprintf(path, sizeof(path), "/dev/%s", info->device);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fabric_result(nvme_identify_ctrl(fd, &id));
        if (r != 0)
                return r;
        if (isempty(info->cntrltype))
                (void) snprintf(info->cntrltype, sizeof(info->cntrltype), "%s",
                                id.cntrltype < ELEMENTSOF(cntrltype) && cntrltype[id.cntrltype]
                                ? cntrltype[id.cntrltype] : "reserved");
        if (isempty(info->dctype))
                (void) snprintf(info->dctype, sizeof(info->dctype), "%s",
                                id.dctype < ELEMENTSOF(dctype) ? dctype[id.dctype] : "reserved");
        if (isempty(info->model)) {
                char mn[sizeof(id.mn) + 1] = {};

                memcpy(mn, id.mn, sizeof(id.mn));
                strtrim_copy(info->model, sizeof(info->model), mn);
        }
        if (isempty(info->serial)) {
                char sn[sizeof(id.sn) + 1] = {};

                memcpy(sn, id.sn, sizeof(id.sn));
                strtrim_copy(info->serial, sizeof(info->serial), sn);
        }
        return 0;
}

static int job_info(FabricOp *op) {
        int r;

        r = fabric_read_sysfs_info(op->device, &op->info);
        if (r < 0)
                return r;
        if (isempty(op->info.cntrltype) || isempty(op->info.dctype)) {
                r = job_identify(&op->info);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int job_connect(FabricOp *op) {
        _cleanup_(nvme_free_treep) nvme_root_t root = NULL;
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
         * step 1): after a restart, or one made by nvme-cli.  Done here, not
         * on the loop: sysfs attributes of a controller that is being
         * created can block while the kernel connects. */
        if (fabric_find_existing(NULL, &tid, existing, sizeof(existing)) > 0) {
                (void) snprintf(op->device, sizeof(op->device), "%s", existing);
                r = job_info(op);
                if (r < 0)
                        return r;
                op->info.adopted = true;
                return 0;
        }

        root = job_root();
        if (!root)
                return -ENOMEM;
        h = job_host(root, op);
        if (!h)
                return -ENOMEM;
        c = nvme_create_ctrl(root, op->subsysnqn, op->transport, op->traddr,
                             op->host_traddr, op->host_iface, op->trsvcid);
        if (!c)
                return fabric_result(-1);
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
        if (o->hdr_digest != CONF_UNSET)
                cfg.hdr_digest = o->hdr_digest;
        if (o->data_digest != CONF_UNSET)
                cfg.data_digest = o->data_digest;
        /* libnvme 1.3 does not pass queue_size for a discovery controller
         * (admin queue only); set it anyway in case a later one does. */
        if (o->queue_size != CONF_UNSET)
                cfg.queue_size = o->queue_size;
        if (o->reconnect_delay != CONF_UNSET)
                cfg.reconnect_delay = o->reconnect_delay;
        if (o->ctrl_loss_tmo != CONF_UNSET)
                cfg.ctrl_loss_tmo = o->ctrl_loss_tmo;
        if (o->disable_sqflow != CONF_UNSET)
                cfg.disable_sqflow = o->disable_sqflow;

        r = fabric_result(nvmf_add_ctrl(h, c, &cfg));
        if (r != 0) {
                /* Not linked into the tree on failure: nvme_free_tree()
                 * would not free it. */
                nvme_free_ctrl(c);
                return r;
        }

        name = nvme_ctrl_get_name(c);
        if (!name || !device_name_valid(name))
                return -EIO;
        (void) snprintf(op->device, sizeof(op->device), "%s", name);

        r = job_info(op);
        if (r < 0 && r != -ENOENT)
                /* Connected; identity can be read again later. */
                (void) snprintf(op->info.device, sizeof(op->info.device), "%s", name);
        else if (r == -ENOENT)
                return r; /* gone already */
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
                return fabric_result(-1);
        s = nvme_ctrl_get_subsystem(c);
        h = s ? nvme_subsystem_get_host(s) : NULL;
        if (h && op->symname)
                nvme_host_set_hostsymname(h, op->symname);
        if (h && op->hostkey)
                nvme_host_set_dhchap_key(h, op->hostkey);

        return fabric_result(nvmf_register_ctrl(c, op->flag ? NVMF_DIM_TAS_DEREGISTER
                                                           : NVMF_DIM_TAS_REGISTER, &result));
}

static int job_disconnect(FabricOp *op) {
        _cleanup_(nvme_free_treep) nvme_root_t root = NULL;
        nvme_ctrl_t c;

        root = job_root();
        if (!root)
                return -ENOMEM;
        c = nvme_scan_ctrl(root, op->device);
        if (!c)
                return fabric_result(-1);
        return fabric_result(nvme_disconnect_ctrl(c));
}

typedef struct DlpReader {
        int fd;
        uint8_t lsp;
} DlpReader;

static int dlp_read(void *ud, uint64_t offset, void *buf, size_t len, bool rae) {
        DlpReader *rd = ud;
        uint8_t *p = buf;

        /* Chunks; RAE stays set until the very last chunk of a read asked
         * to clear it. */
        while (len > 0) {
                size_t n = len > DLP_CHUNK ? DLP_CHUNK : len;
                __u32 result = 0;
                struct nvme_get_log_args args = {
                        .lpo = offset,
                        .result = &result,
                        .log = p,
                        .args_size = sizeof(args),
                        .fd = rd->fd,
                        .timeout = NVME_DEFAULT_IOCTL_TIMEOUT,
                        .lid = NVME_LOG_LID_DISCOVER,
                        .len = n,
                        .nsid = NVME_NSID_NONE,
                        .csi = NVME_CSI_NVM,
                        .lsi = NVME_LOG_LSI_NONE,
                        .lsp = rd->lsp,
                        .uuidx = NVME_UUID_NONE,
                        .rae = n == len ? rae : true,
                        .ot = false,
                };
                int r;

                r = fabric_result(nvme_get_log(&args));
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
        DlpReader rd = {};
        char path[64];

        (void) snprintf(path, sizeof(path), "/dev/%s", op->device);
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (op->flag) {
                struct nvme_supported_log_pages log = {};

                /* A DC that cannot answer this simply gets no PLEO. */
                if (nvme_get_log_supported_log_pages(fd, true, &log) == 0) {
                        uint32_t v = le32toh(log.lid_support[NVME_LOG_LID_DISCOVER]);

                        /* bits 31:16 are the LID specific parameter */
                        if ((v >> 16) & NVMF_LOG_DISC_LID_PLEOS)
                                rd.lsp = NVMF_LOG_DISC_LSP_PLEO;
                }
        }
        op->dlp.pleo_used = rd.lsp == NVMF_LOG_DISC_LSP_PLEO;

        rd.fd = fd;
        return dlp_fetch(dlp_read, &rd, DLP_MAX_RETRIES, DLP_MAX_ENTRIES, &op->dlp.dlp,
                         &op->dlp.retries, &op->dlp.dropped);
}

static int job_run(FabricOp *op) {
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
        case OP_TEST:
                return op->test_fn(op->test_arg);
        }
        return -EINVAL;
}

static void *worker_main(void *arg) {
        Fabric *f = arg;

        pthread_mutex_lock(&f->lock);
        for (;;) {
                FabricOp *op;

                while (!f->stop && !f->queue_head)
                        pthread_cond_wait(&f->cond, &f->lock);
                if (f->stop)
                        break;
                op = f->queue_head;
                f->queue_head = op->next;
                if (!f->queue_head)
                        f->queue_tail = NULL;
                op->next = NULL;
                pthread_mutex_unlock(&f->lock);

                op->error = job_run(op);

                pthread_mutex_lock(&f->lock);
                op->next = f->done;
                f->done = op;
                /* Wake the loop; the counter value does not matter. */
                (void) eventfd_write(f->efd, 1);
        }
        pthread_mutex_unlock(&f->lock);
        return NULL;
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

static void op_complete(FabricOp *op) {
        Fabric *f = op->fabric;
        void *result = NULL;

        ops_unlink(f, op);
        if (!op->cancelled && op->cb) {
                switch (op->type) {
                case OP_CONNECT:
                case OP_INFO:
                        result = op->error == 0 ? &op->info : NULL;
                        break;
                case OP_GET_DLP:
                        result = op->error == 0 ? &op->dlp : NULL;
                        break;
                default:
                        break;
                }
                op->cb(op, op->error, result, op->userdata);
        }
        op_free(op);
}

static int on_efd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Fabric *f = userdata;
        FabricOp *list, *rev = NULL;
        eventfd_t v;

        (void) eventfd_read(f->efd, &v);

        pthread_mutex_lock(&f->lock);
        list = f->done;
        f->done = NULL;
        pthread_mutex_unlock(&f->lock);

        /* Completion order */
        while (list) {
                FabricOp *n = list->next;

                list->next = rev;
                rev = list;
                list = n;
        }
        while (rev) {
                FabricOp *n = rev->next;

                op_complete(rev);
                rev = n;
        }
        return 0;
}

int fabric_new(Fabric **ret, sd_event *event, unsigned n_workers) {
        _cleanup_(fabric_freep) Fabric *f = NULL;
        sigset_t all, old;
        int r;

        if (!ret || !event || n_workers == 0)
                return -EINVAL;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        f->efd = -EBADF;
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cond, NULL);
        f->event = sd_event_ref(event);

        f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (f->efd < 0)
                return -errno;
        r = sd_event_add_io(event, &f->efd_source, f->efd, EPOLLIN, on_efd, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->efd_source, "fabric-completions");

        f->threads = calloc(n_workers, sizeof(pthread_t));
        if (!f->threads)
                return -ENOMEM;

        /* Workers never take signals: the loop owns them (signalfd). */
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        for (unsigned i = 0; i < n_workers; i++) {
                r = -pthread_create(&f->threads[i], NULL, worker_main, f);
                if (r < 0)
                        break;
                f->n_threads++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(f);
        return 0;
}

Fabric *fabric_free(Fabric *f) {
        FabricOp *op;

        if (!f)
                return NULL;

        pthread_mutex_lock(&f->lock);
        f->stop = true;
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);
        /* Running jobs finish (a kernel call cannot be interrupted); queued
         * ones never start. */
        for (unsigned i = 0; i < f->n_threads; i++)
                (void) pthread_join(f->threads[i], NULL);
        free(f->threads);

        /* Every op is on f->ops, whether queued, done or never started. */
        while ((op = f->ops)) {
                ops_unlink(f, op);
                op_free(op);
        }

        sd_event_source_disable_unref(f->efd_source);
        safe_close(f->efd);
        sd_event_unref(f->event);
        pthread_cond_destroy(&f->cond);
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
}

void fabric_set_debug(Fabric *f, bool on) {
        atomic_store(&fabric_nvme_log_level, on ? LOG_DEBUG : LOG_CRIT);
}

static int op_new(Fabric *f, FabricOpType type, const char *device, FabricDoneFn cb,
                  void *userdata, FabricOp **ret) {
        FabricOp *op;

        if (!f)
                return -EINVAL;
        if (device && !device_name_valid(device))
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

/* Hands op to the workers: it belongs to the Fabric from here on. */
static int op_submit(FabricOp *op, FabricOp **ret_op) {
        Fabric *f = op->fabric;

        op->ops_next = f->ops;
        if (f->ops)
                f->ops->ops_prev = op;
        f->ops = op;

        pthread_mutex_lock(&f->lock);
        if (f->queue_tail)
                f->queue_tail->next = op;
        else
                f->queue_head = op;
        f->queue_tail = op;
        pthread_cond_signal(&f->cond);
        pthread_mutex_unlock(&f->lock);

        if (ret_op)
                *ret_op = op;
        return 0;
}

static int dup_nonempty(char **p, const char *s) {
        return free_and_strdup(p, isempty(s) ? NULL : s);
}

int fabric_connect(Fabric *f, const FabricHost *host, const FabricConnectParams *p,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
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
        if (dup_nonempty(&op->transport, t->transport) < 0 ||
            dup_nonempty(&op->traddr, t->traddr) < 0 ||
            dup_nonempty(&op->trsvcid, t->trsvcid) < 0 ||
            free_and_strdup(&op->subsysnqn, isempty(t->subsysnqn) ? DISC_NQN : t->subsysnqn) < 0 ||
            dup_nonempty(&op->host_traddr, t->host_traddr) < 0 ||
            dup_nonempty(&op->host_iface, t->host_iface) < 0 ||
            dup_nonempty(&op->dhchap_secret, p->dhchap_secret) < 0 ||
            dup_nonempty(&op->dhchap_ctrl_secret, p->dhchap_ctrl_secret) < 0)
                return -ENOMEM;
        op->opts = p->opts;
        return op_submit(TAKE_PTR(op), ret_op);
}

int fabric_ctrl_info(Fabric *f, const char *device, FabricDoneFn cb, void *userdata,
                     FabricOp **ret_op) {
        FabricOp *op;
        int r;

        r = op_new(f, OP_INFO, device, cb, userdata, &op);
        if (r < 0)
                return r;
        return op_submit(op, ret_op);
}

int fabric_register(Fabric *f, const FabricHost *host, const char *device, bool deregister,
                    FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
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

int fabric_get_dlp(Fabric *f, const char *device, bool try_pleo,
                   FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        FabricOp *op;
        int r;

        r = op_new(f, OP_GET_DLP, device, cb, userdata, &op);
        if (r < 0)
                return r;
        op->flag = try_pleo;
        return op_submit(op, ret_op);
}

int fabric_disconnect(Fabric *f, const char *device, FabricDoneFn cb, void *userdata,
                      FabricOp **ret_op) {
        FabricOp *op;
        int r;

        r = op_new(f, OP_DISCONNECT, device, cb, userdata, &op);
        if (r < 0)
                return r;
        return op_submit(op, ret_op);
}

int fabric_submit(Fabric *f, const char *device, int (*fn)(void *arg), void *arg,
                           FabricDoneFn cb, void *userdata, FabricOp **ret_op) {
        FabricOp *op;
        int r;

        if (!fn)
                return -EINVAL;
        r = op_new(f, OP_TEST, device, cb, userdata, &op);
        if (r < 0)
                return r;
        op->test_fn = fn;
        op->test_arg = arg;
        return op_submit(op, ret_op);
}

void fabric_op_cancel(FabricOp *op) {
        if (op)
                op->cancelled = true;
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

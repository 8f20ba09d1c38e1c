/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The NBFT glue: reads the firmware's boot tables once at start (lib/nbft)
 * and turns each discovery controller they name into a controller= entry
 * for the manager (host interface by the HFI's MAC address).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "firmware.h"
#include "log.h"
#include "macro.h"
#include "nbft.h"

static void nbft_dc_done(FirmwareDc *d) {
        conf_controller_done(&d->conf);
        tid_done(&d->tid);
        free(d->file);
}

Firmware *firmware_free(Firmware *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_nbft; i++)
                nbft_dc_done(&c->nbft[i]);
        free(c->nbft);
        for (size_t i = 0; i < c->n_hosts; i++) {
                free(c->hosts[i].hostnqn);
                free(c->hosts[i].hostid);
        }
        free(c->hosts);
        free(c);
        return NULL;
}

/* A small sysfs-style attribute, trailing blanks stripped; -errno. */
static int read_attr(const char *dir, const char *name, const char *attr, char *buf, size_t size) {
        _cleanup_close_ int fd = -EBADF;
        char path[PATH_MAX];
        ssize_t n;

        (void) snprintf(path, sizeof(path), "%s/%s/%s", dir, name, attr);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                n--;
        buf[n] = 0;
        return 0;
}

/* The interface whose MAC address is mac, into buf.  Interfaces enslaved to
 * another (bond or bridge ports, which share the MAC) are passed over: the
 * addresses live on the master.  Among several, the lowest ifindex wins. */
static bool iface_of_mac(const char *net_dir, const char *mac, char *buf, size_t size) {
        _cleanup_free_ struct dirent **list = NULL;
        long best_index = -1;
        unsigned matches = 0;
        int n;

        n = scandir(net_dir, &list, NULL, alphasort);
        if (n < 0) {
                log_warning_errno(errno, "Cannot list %s: %m", net_dir);
                return false;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                char addr[64], idx[32], path[PATH_MAX];
                struct stat st;
                long index;

                if (name[0] != '.' && read_attr(net_dir, name, "address", addr, sizeof(addr)) >= 0 &&
                    strcasecmp(addr, mac) == 0) {
                        (void) snprintf(path, sizeof(path), "%s/%s/master", net_dir, name);
                        if (stat(path, &st) < 0 && strlen(name) < size) {
                                index = read_attr(net_dir, name, "ifindex", idx, sizeof(idx)) >= 0
                                                ? strtol(idx, NULL, 10)
                                                : 0;
                                matches++;
                                if (best_index < 0 || index < best_index) {
                                        best_index = index;
                                        memcpy(buf, name, strlen(name) + 1);
                                }
                        }
                }
                free(list[i]);
        }
        if (matches > 1)
                log_info("%u interfaces have MAC address %s: using %s", matches, mac, buf);
        return matches > 0;
}

static int add_host(Firmware *c, const Nbft *n, const char *file) {
        FirmwareHost *t;

        if (!n->host_nqn_configured || !n->host_id)
                return 0;
        for (size_t i = 0; i < c->n_hosts; i++)
                if (streq(c->hosts[i].hostnqn, n->host_nqn)) {
                        if (!streq(c->hosts[i].hostid, n->host_id))
                                log_warning("%s: host NQN %s comes with host ID %s, another table said %s: "
                                            "keeping %s",
                                            file, n->host_nqn, n->host_id, c->hosts[i].hostid,
                                            c->hosts[i].hostid);
                        return 0;
                }
        t = realloc(c->hosts, sizeof(FirmwareHost) * (c->n_hosts + 1));
        if (!t)
                return -ENOMEM;
        c->hosts = t;
        t[c->n_hosts] = (FirmwareHost){ strdup(n->host_nqn), strdup(n->host_id) };
        if (!t[c->n_hosts].hostnqn || !t[c->n_hosts].hostid) {
                free(t[c->n_hosts].hostnqn);
                free(t[c->n_hosts].hostid);
                return -ENOMEM;
        }
        c->n_hosts++;
        return 0;
}

/* The interface of each HFI of a table (indexed by the 8-bit HFI index),
 * looked up and complained about once. */
typedef struct HfiIface {
        bool done;
        char iface[IF_NAMESIZE]; /* "" = none */
} HfiIface;

static const char *hfi_iface(HfiIface cache[256], const NbftDiscovery *d, const char *file,
                             const char *net_dir) {
        static const uint8_t zero[6];
        HfiIface *h = &cache[d->hfi_index & 0xff];
        char mac[18];

        if (h->done)
                return h->iface;
        h->done = true;
        nbft_format_mac(d->mac, mac, sizeof(mac));
        if (memcmp(d->mac, zero, 6) == 0)
                log_warning("%s: HFI %u has no MAC address: its DCs get no host-iface", file, d->hfi_index);
        else if (!iface_of_mac(net_dir, mac, h->iface, sizeof(h->iface)))
                log_warning("%s: no interface has the MAC address %s of HFI %u: its DCs get no host-iface",
                            file, mac, d->hfi_index);
        return h->iface;
}

static int add_dc(Firmware *c, const NbftDiscovery *d, const char *file, const char *iface,
                  const char *hostnqn) {
        _cleanup_free_ char *name = NULL;
        FirmwareDc e = {}, *t;
        char mac[18];
        int r;

        nbft_format_mac(d->mac, mac, sizeof(mac));

        e.conf = (ConfController){
                .transport = strdup(d->transport),
                .traddr = strdup(d->traddr),
                .trsvcid = d->trsvcid ? strdup(d->trsvcid) : NULL,
                .nqn = strdup(d->subsysnqn),
                .host_iface = iface[0] ? strdup(iface) : NULL,
                .host_nqn = d->host_nqn ? strdup(d->host_nqn) : NULL,
                .opts = { CONF_UNSET, CONF_UNSET, CONF_UNSET, CONF_UNSET, CONF_UNSET, CONF_UNSET,
                          CONF_UNSET },
        };
        e.file = strdup(file);
        if (!e.conf.transport || !e.conf.traddr || (d->trsvcid && !e.conf.trsvcid) || !e.conf.nqn ||
            (iface[0] && !e.conf.host_iface) || (d->host_nqn && !e.conf.host_nqn) || !e.file) {
                nbft_dc_done(&e);
                return -ENOMEM;
        }
        r = tid_init(&e.tid, e.conf.transport, e.conf.traddr, e.conf.trsvcid, e.conf.nqn, NULL,
                     e.conf.host_iface, e.conf.host_nqn, hostnqn, false);
        if (r < 0) {
                e.tid = (Tid){};
                nbft_dc_done(&e);
                return r;
        }
        t = realloc(c->nbft, sizeof(FirmwareDc) * (c->n_nbft + 1));
        if (!t) {
                nbft_dc_done(&e);
                return -ENOMEM;
        }
        c->nbft = t;
        c->nbft[c->n_nbft++] = e;

        name = tid_to_string(&e.tid);
        log_info("%s: discovery controller %s (HFI %u, MAC %s)%s", file, strempty(name), d->hfi_index, mac,
                 d->host_nqn ? ", with the table's host NQN" : "");
        return 0;
}

/* Read one table file into a malloc'd buffer: regular files only, at most
 * NBFT_MAX_SIZE bytes.  O_NONBLOCK: a FIFO planted there must not hang us. */
static int read_table(int dir_fd, const char *name, uint8_t **ret, size_t *ret_size) {
        char *buf = NULL;
        int r;

        r = read_regular_file_at(dir_fd, name, O_NOFOLLOW, NBFT_MAX_SIZE, &buf, ret_size);
        if (r < 0)
                return r == -EISDIR ? -EBADFD : r;
        *ret = (uint8_t *) buf;
        return 0;
}

static int nbft_filter(const struct dirent *de) {
        return strncmp(de->d_name, "NBFT", 4) == 0;
}

static int load_tables(Firmware *c, const char *dir, const char *net_dir, const char *hostnqn) {
        _cleanup_free_ struct dirent **list = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        int n, r = 0;

        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0) {
                if (errno == ENOENT)
                        log_debug("No %s: no NBFT", dir);
                else
                        log_warning_errno(errno, "Cannot open %s, NBFT not read: %m", dir);
                return 0;
        }
        n = scandir(dir, &list, nbft_filter, alphasort);
        if (n < 0) {
                log_warning_errno(errno, "Cannot list %s, NBFT not read: %m", dir);
                return 0;
        }
        for (int i = 0; i < n; i++) {
                _cleanup_(nbft_freep) Nbft *t = NULL;
                _cleanup_free_ uint8_t *buf = NULL;
                _cleanup_free_ char *err = NULL, *file = NULL;
                size_t size = 0;
                int k;

                if (r >= 0 && asprintf(&file, "%s/%s", dir, list[i]->d_name) < 0)
                        r = -ENOMEM;
                if (r < 0)
                        goto next;
                k = read_table(dir_fd, list[i]->d_name, &buf, &size);
                if (k == -ENOMEM) {
                        r = k;
                        goto next;
                }
                if (k < 0) {
                        if (k == -EBADFD)
                                log_warning("Ignoring %s: not a regular file", file);
                        else if (k == -EFBIG)
                                log_warning("Ignoring %s: larger than %u bytes", file, NBFT_MAX_SIZE);
                        else
                                log_warning_errno(k, "Cannot read %s: %m", file);
                        goto next;
                }
                k = nbft_parse(buf, size, &t, &err);
                if (k == -ENOMEM) {
                        r = k;
                        goto next;
                }
                if (k < 0) {
                        log_warning("Ignoring %s: %s", file, err ?: strerror(-k));
                        goto next;
                }
                for (char **m = t->messages; m && *m; m++)
                        log_warning("%s: %s", file, *m);
                log_info("%s: %zu discovery controller%s, host NQN %s%s", file, t->n_dcs,
                         t->n_dcs == 1 ? "" : "s", t->host_nqn ?: "(none)",
                         t->host_nqn_configured ? " (configured)" : " (driver default: not used)");
                r = add_host(c, t, file);
                {
                        HfiIface cache[256] = {};

                        for (size_t j = 0; r >= 0 && j < t->n_dcs; j++)
                                r = add_dc(c, &t->dcs[j], file, hfi_iface(cache, &t->dcs[j], file, net_dir),
                                           hostnqn);
                }
next:
                free(list[i]);
        }
        return r;
}

int firmware_new(Firmware **ret, const char *tables_dir, const char *net_dir, const char *hostnqn) {
        _cleanup_(firmware_freep) Firmware *c = NULL;
        int r;

        c = calloc(1, sizeof(Firmware));
        if (!c)
                return -ENOMEM;
        r = load_tables(c, isempty(tables_dir) ? FIRMWARE_NBFT_DIR : tables_dir,
                        isempty(net_dir) ? FIRMWARE_NET_DIR : net_dir, hostnqn);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

const char *firmware_nbft_source(const Firmware *c, const Tid *tid) {
        for (size_t i = 0; c && i < c->n_nbft; i++) {
                const Tid *t = &c->nbft[i].tid;

                if (strcasecmp(t->transport, tid->transport) == 0 && ip_equal(t->traddr, tid->traddr) &&
                    streq(t->trsvcid, tid->trsvcid) && streq(t->subsysnqn, tid->subsysnqn) &&
                    streq(t->host_nqn, tid->host_nqn) &&
                    (isempty(t->host_iface) || isempty(tid->host_iface) ||
                     streq(t->host_iface, tid->host_iface)))
                        return c->nbft[i].file;
        }
        return NULL;
}

const char *firmware_hostid(const Firmware *c, const char *hostnqn) {
        for (size_t i = 0; c && hostnqn && i < c->n_hosts; i++)
                if (streq(c->hosts[i].hostnqn, hostnqn))
                        return c->hosts[i].hostid;
        return NULL;
}

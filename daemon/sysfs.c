/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sysfs: attribute reads under a movable root, and the adoption index.
 * See sysfs.h for the contract.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "macro.h"
#include "sysfs.h"

/* sysfs_lock is held by workers across blocking sysfs reads (index build):
 * the loop thread never takes it (sysfs_index_invalidate is an atomic). */
static pthread_mutex_t sysfs_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t index_gen;
static char *root_path; /* under sysfs_lock for writers; set before threads use it */

typedef struct Ctrl {
        char device[32];
        unsigned num;
        bool live, deleting, discovery, well_known;
        char *key; /* transport \n addr \n trsvcid \n hostnqn */
        char *scope; /* of traddr, lower-case, "" if none */
        char *subsysnqn;
        char *host_traddr, *src_addr, *host_iface;
        struct Ctrl *bucket_next;
} Ctrl;

typedef struct Index {
        Ctrl *ctrls;
        size_t n;
        Ctrl **buckets;
        size_t n_buckets; /* power of two */
        uint64_t built_at; /* CLOCK_MONOTONIC usec */
        uint64_t gen; /* index_gen when the build started */
        bool valid;
        uint64_t builds;
} Index;

static Index idx;

const char *sysfs_root(void) {
        return root_path ?: "/sys";
}

static void index_clear(void) {
        for (size_t i = 0; i < idx.n; i++) {
                free(idx.ctrls[i].key);
                free(idx.ctrls[i].scope);
                free(idx.ctrls[i].subsysnqn);
                free(idx.ctrls[i].host_traddr);
                free(idx.ctrls[i].src_addr);
                free(idx.ctrls[i].host_iface);
        }
        idx.ctrls = mfree(idx.ctrls);
        idx.buckets = mfree(idx.buckets);
        idx.n = idx.n_buckets = 0;
        idx.valid = false;
}

int sysfs_set_root(const char *path) {
        int r;

        pthread_mutex_lock(&sysfs_lock);
        r = free_and_strdup(&root_path, path);
        index_clear();
        pthread_mutex_unlock(&sysfs_lock);
        return r;
}

void sysfs_index_invalidate(void) {
        atomic_fetch_add(&index_gen, 1);
}

uint64_t sysfs_index_builds(void) {
        uint64_t n;

        pthread_mutex_lock(&sysfs_lock);
        n = idx.builds;
        pthread_mutex_unlock(&sysfs_lock);
        return n;
}

bool sysfs_device_name_valid(const char *device) {
        /* "nvme" + digits: this goes into paths. */
        if (!device || strncmp(device, "nvme", 4) != 0 || !device[4])
                return false;
        for (const char *p = device + 4; *p; p++)
                if (!isdigit((unsigned char) *p))
                        return false;
        return strlen(device) < sizeof(((FabricCtrlInfo *) NULL)->device);
}

void sysfs_trim_copy(char *dst, size_t size, const char *src) {
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

int sysfs_attr(const char *device, const char *attr, char *buf, size_t size) {
        char path[PATH_MAX], tmp[1024];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;

        buf[0] = 0;
        if (!sysfs_device_name_valid(device))
                return -EINVAL;
        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s/%s", sysfs_root(), device, attr);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, tmp, sizeof(tmp) - 1);
        if (n < 0)
                return -errno;
        tmp[n] = 0;
        sysfs_trim_copy(buf, size, tmp);
        return 0;
}

int sysfs_read_info(const char *device, FabricCtrlInfo *ret) {
        char path[PATH_MAX];
        FabricCtrlInfo info = {};

        if (!sysfs_device_name_valid(device))
                return -EINVAL;
        (void) snprintf(path, sizeof(path), "%s/class/nvme/%s", sysfs_root(), device);
        if (access(path, F_OK) < 0)
                return -errno;

        (void) snprintf(info.device, sizeof(info.device), "%s", device);
        (void) sysfs_attr(device, "dctype", info.dctype, sizeof(info.dctype));
        (void) sysfs_attr(device, "cntrltype", info.cntrltype, sizeof(info.cntrltype));
        (void) sysfs_attr(device, "model", info.model, sizeof(info.model));
        (void) sysfs_attr(device, "serial", info.serial, sizeof(info.serial));
        (void) sysfs_attr(device, "hostnqn", info.hostnqn, sizeof(info.hostnqn));
        (void) sysfs_attr(device, "hostid", info.hostid, sizeof(info.hostid));
        *ret = info;
        return 0;
}

/* ------------------------------------------------------------------ */
/* Addresses */

void sysfs_address_get(const char *address, const char *key, char *buf, size_t size) {
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
                        sysfs_trim_copy(buf, size, tmp);
                        return;
                }
                p = end ? end + 1 : NULL;
        }
}

/* Split s into a comparison key for its address part (lib's canonical IP,
 * else lower-cased) and its lower-cased "%scope" ("" if none). */
static void addr_split(const char *s, char *key, size_t ksize, char *scope, size_t ssize) {
        char a[256];
        const char *pct = strchr(s, '%');
        size_t n = pct ? (size_t) (pct - s) : strlen(s);

        if (n >= sizeof(a))
                n = sizeof(a) - 1;
        memcpy(a, s, n);
        a[n] = 0;
        scope[0] = 0;
        if (pct && ip_family_of(s) == 6) {
                size_t i;

                for (i = 0; pct[1 + i] && i + 1 < ssize; i++)
                        scope[i] = (char) tolower((unsigned char) pct[1 + i]);
                scope[i] = 0;
        } else if (pct) {
                /* Not an IPv6 literal with a scope: compare whole. */
                n = strlen(s) < sizeof(a) ? strlen(s) : sizeof(a) - 1;
                memcpy(a, s, n);
                a[n] = 0;
        }
        if (ip_canonical(a, key, ksize) >= 0)
                return;
        (void) snprintf(key, ksize, "%s", a);
        for (char *p = key; *p; p++)
                *p = (char) tolower((unsigned char) *p);
}

bool sysfs_addr_equal(const char *a, const char *b) {
        char ka[256], kb[256], sa[64], sb[64];

        addr_split(a, ka, sizeof(ka), sa, sizeof(sa));
        addr_split(b, kb, sizeof(kb), sb, sizeof(sb));
        return streq(ka, kb) && (isempty(sa) || isempty(sb) || streq(sa, sb));
}

/* Name of the interface owning address addr, into buf; false if unknown. */
static bool iface_of_addr(const char *addr, char *buf, size_t size) {
        struct ifaddrs *ifa_list, *ifa;
        bool found = false;

        if (ip_family_of(addr) == 0 || getifaddrs(&ifa_list) < 0)
                return false;
        for (ifa = ifa_list; ifa && !found; ifa = ifa->ifa_next) {
                char s[INET6_ADDRSTRLEN];

                if (!ifa->ifa_addr)
                        continue;
                if (ifa->ifa_addr->sa_family == AF_INET)
                        inet_ntop(AF_INET, &((struct sockaddr_in *) ifa->ifa_addr)->sin_addr, s, sizeof(s));
                else if (ifa->ifa_addr->sa_family == AF_INET6)
                        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) ifa->ifa_addr)->sin6_addr, s,
                                  sizeof(s));
                else
                        continue;
                if (sysfs_addr_equal(s, addr)) {
                        (void) snprintf(buf, size, "%s", ifa->ifa_name);
                        found = true;
                }
        }
        freeifaddrs(ifa_list);
        return found;
}

/* ------------------------------------------------------------------ */
/* Index */

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

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static size_t key_hash(const char *s) {
        size_t h = 14695981039346656037ULL;

        for (; *s; s++)
                h = (h ^ (unsigned char) *s) * 1099511628211ULL;
        return h;
}

static char *make_key(const char *transport, const char *traddr, const char *trsvcid, const char *hostnqn,
                      char *scope, size_t ssize) {
        char addr[256], tr[32];
        char *k;
        size_t i;

        for (i = 0; transport[i] && i + 1 < sizeof(tr); i++)
                tr[i] = (char) tolower((unsigned char) transport[i]);
        tr[i] = 0;
        addr_split(traddr, addr, sizeof(addr), scope, ssize);
        if (asprintf(&k, "%s\n%s\n%s\n%s", tr, addr, trsvcid, hostnqn) < 0)
                return NULL;
        return k;
}

/* Read one controller into c; false if it is not a usable entry. */
static bool ctrl_read(const char *device, Ctrl *c) {
        char state[64], transport[32], hostnqn[256], subsys[256], ctype[32], address[1024];
        char traddr[256], trsvcid[64], v[256], scope[64];

        if (sysfs_attr(device, "transport", transport, sizeof(transport)) < 0 ||
            sysfs_attr(device, "hostnqn", hostnqn, sizeof(hostnqn)) < 0 ||
            sysfs_attr(device, "subsysnqn", subsys, sizeof(subsys)) < 0 ||
            sysfs_attr(device, "address", address, sizeof(address)) < 0)
                return false;
        (void) sysfs_attr(device, "state", state, sizeof(state));
        (void) sysfs_attr(device, "cntrltype", ctype, sizeof(ctype));

        *c = (Ctrl){};
        (void) snprintf(c->device, sizeof(c->device), "%.31s", device);
        c->num = (unsigned) strtoul(device + 4, NULL, 10);
        c->live = streq(state, "live");
        c->deleting = strncmp(state, "deleting", 8) == 0;
        c->well_known = streq(subsys, DISC_NQN);
        /* Old kernels lack cntrltype: a controller without namespaces is
         * taken as a discovery controller; an I/O one is not ours. */
        c->discovery =
                streq(ctype, "discovery") || c->well_known || (isempty(ctype) && !has_namespaces(device));

        sysfs_address_get(address, "traddr", traddr, sizeof(traddr));
        sysfs_address_get(address, "trsvcid", trsvcid, sizeof(trsvcid));
        c->key = make_key(transport, traddr, trsvcid, hostnqn, scope, sizeof(scope));
        c->scope = strdup(scope);
        c->subsysnqn = strdup(subsys);
        sysfs_address_get(address, "host_traddr", v, sizeof(v));
        c->host_traddr = strdup(v);
        sysfs_address_get(address, "src_addr", v, sizeof(v));
        c->src_addr = strdup(v);
        sysfs_address_get(address, "host_iface", v, sizeof(v));
        c->host_iface = strdup(v);
        if (!c->key || !c->scope || !c->subsysnqn || !c->host_traddr || !c->src_addr || !c->host_iface) {
                free(c->key);
                free(c->scope);
                free(c->subsysnqn);
                free(c->host_traddr);
                free(c->src_addr);
                free(c->host_iface);
                return false;
        }
        return true;
}

/* Caller holds sysfs_lock. */
static int index_build(void) {
        char path[PATH_MAX];
        struct dirent *de;
        size_t cap = 0;
        DIR *d;

        index_clear();
        idx.builds++;
        idx.built_at = now_usec();
        idx.gen = atomic_load(&index_gen);

        (void) snprintf(path, sizeof(path), "%s/class/nvme", sysfs_root());
        d = opendir(path);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                idx.valid = true;
                return 0;
        }
        while ((de = readdir(d))) {
                if (!sysfs_device_name_valid(de->d_name))
                        continue;
                if (idx.n == cap) {
                        size_t nc = cap ? cap * 2 : 16;
                        Ctrl *t = reallocarray(idx.ctrls, nc, sizeof(Ctrl));

                        if (!t) {
                                closedir(d);
                                index_clear();
                                return -ENOMEM;
                        }
                        idx.ctrls = t;
                        cap = nc;
                }
                if (ctrl_read(de->d_name, &idx.ctrls[idx.n]))
                        idx.n++;
        }
        closedir(d);

        idx.n_buckets = 16;
        while (idx.n_buckets < idx.n * 2)
                idx.n_buckets *= 2;
        idx.buckets = calloc(idx.n_buckets, sizeof(Ctrl *));
        if (!idx.buckets) {
                index_clear();
                return -ENOMEM;
        }
        for (size_t i = 0; i < idx.n; i++) {
                Ctrl *c = &idx.ctrls[i];
                size_t b = key_hash(c->key) & (idx.n_buckets - 1);

                c->bucket_next = idx.buckets[b];
                idx.buckets[b] = c;
        }
        idx.valid = true;
        return 0;
}

/* The rest of the rules, for a candidate with the right key. */
static bool ctrl_matches(const Ctrl *c, const Tid *tid, const char *scope) {
        if (c->deleting || !c->discovery)
                return false;
        if (!streq(c->subsysnqn, strempty(tid->subsysnqn)) && !c->well_known &&
            !streq_ptr(tid->subsysnqn, DISC_NQN))
                return false;
        if (!isempty(scope) && !isempty(c->scope) && !streq(scope, c->scope))
                return false;

        if (strcasecmp(strempty(tid->transport), "tcp") == 0) {
                if (!isempty(tid->host_traddr)) {
                        const char *v = !isempty(c->host_traddr) ? c->host_traddr : c->src_addr;

                        if (!sysfs_addr_equal(v, tid->host_traddr))
                                return false;
                }
                if (!isempty(tid->host_iface)) {
                        char v[64];

                        (void) snprintf(v, sizeof(v), "%s", c->host_iface);
                        if (isempty(v) && !isempty(c->src_addr) && !iface_of_addr(c->src_addr, v, sizeof(v)))
                                return false;
                        if (!streq(v, tid->host_iface))
                                return false;
                }
        }
        return true;
}

int sysfs_find_existing(const Tid *tid, const char *hostnqn, bool (*skip)(const char *device, void *ud),
                        void *ud, char *ret_device, size_t size) {
        _cleanup_free_ char *key = NULL;
        const Ctrl *best = NULL;
        char scope[64];
        int r = 0;

        if (!tid || !ret_device)
                return -EINVAL;
        hostnqn = !isempty(tid->host_nqn) ? tid->host_nqn : hostnqn;
        key = make_key(strempty(tid->transport), strempty(tid->traddr), strempty(tid->trsvcid),
                       strempty(hostnqn), scope, sizeof(scope));
        if (!key)
                return -ENOMEM;

        pthread_mutex_lock(&sysfs_lock);
        if (!idx.valid || idx.gen != atomic_load(&index_gen) ||
            now_usec() - idx.built_at > SYSFS_INDEX_MAX_AGE_USEC)
                r = index_build();
        if (r >= 0 && idx.n_buckets > 0)
                for (const Ctrl *c = idx.buckets[key_hash(key) & (idx.n_buckets - 1)]; c;
                     c = c->bucket_next) {
                        if (!streq(c->key, key) || !ctrl_matches(c, tid, scope))
                                continue;
                        if (skip && skip(c->device, ud))
                                continue;
                        /* Deterministic choice: live first, then lowest number. */
                        if (!best || (c->live && !best->live) ||
                            (c->live == best->live && c->num < best->num))
                                best = c;
                }
        if (r >= 0 && best) {
                if (strlen(best->device) >= size)
                        r = -ENOBUFS;
                else {
                        strcpy(ret_device, best->device);
                        r = 1;
                }
        }
        pthread_mutex_unlock(&sysfs_lock);
        return r;
}

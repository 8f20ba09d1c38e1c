/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host's NVMe-oF ownership registry under /run/nvme/registry: reading,
 * registering and unregistering owners with atomic writes (temporary file,
 * fsync, rename), seqnums that keep a recycled nvmeN's entry safe from an
 * old remove, and purging what a crashed writer left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"
#include "registry.h"

#define HIDDEN_PREFIX ".stafd-"

bool registry_device_valid(const char *device) {
        if (!device || strncmp(device, "nvme", 4) != 0 || !device[4])
                return false;
        for (const char *p = device + 4; *p; p++)
                if (*p < '0' || *p > '9')
                        return false;
        return strlen(device) < 32;
}

static bool attr_valid(const char *attr) {
        return !isempty(attr) && attr[0] != '.' && !strchr(attr, '/');
}

static int read_value(const char *path, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        int r;

        r = read_regular_file_at(AT_FDCWD, path, 0, REGISTRY_VALUE_MAX, &buf, &n);
        if (r == -EISDIR || r == -EBADFD || r == -EFBIG)
                return -EINVAL;
        if (r < 0)
                return r;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                n--;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int registry_read(const char *root, const char *device, const char *attr, char **ret) {
        _cleanup_free_ char *path = NULL;

        if (!registry_device_valid(device) || !attr_valid(attr))
                return -EINVAL;
        if (asprintf(&path, "%s/%s/%s", root, device, attr) < 0)
                return -ENOMEM;
        return read_value(path, ret);
}

int registry_get_owner(const char *root, const char *device, char **ret) {
        char *v = NULL;
        int r;

        r = registry_read(root, device, "owner", &v);
        if (r == -ENOENT || r == -ENOTDIR) {
                *ret = NULL;
                return 0;
        }
        if (r < 0)
                return r;
        if (!*v) {
                /* An empty owner file names nobody. */
                free(v);
                v = NULL;
        }
        *ret = v;
        return 0;
}

/* Write dir/.NAME.tmp, fsync it, then rename it to dir/NAME (replace) or
 * link it there (noreplace: -EEXIST if NAME exists). */
static int write_attr(const char *dir, const char *name, const char *value, bool noreplace) {
        _cleanup_free_ char *tmp = NULL, *dst = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r = 0;

        if (asprintf(&tmp, "%s/" HIDDEN_PREFIX "%s.%d.tmp", dir, name, (int) getpid()) < 0 ||
            asprintf(&dst, "%s/%s", dir, name) < 0 || asprintf(&text, "%s\n", value) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        (void) fchmod(fd, 0644); /* whatever the umask */
        r = write_all(fd, text, strlen(text));
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (noreplace) {
                if (link(tmp, dst) < 0)
                        r = -errno;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, dst) < 0) {
                r = -errno;
                goto fail;
        }
        return 0;
fail:
        (void) unlink(tmp);
        return r;
}

static void purge(const char *path) {
        DIR *d = opendir(path);

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno == EISDIR) {
                        _cleanup_free_ char *sub = NULL;

                        if (asprintf(&sub, "%s/%s", path, de->d_name) >= 0)
                                purge(sub);
                }
        }
        closedir(d);
        (void) rmdir(path);
}

/* mkdir with mode 0755 whatever the umask (stafd runs with UMask=0077). */
static int mkdir_0755(const char *path) {
        if (mkdir(path, 0755) < 0)
                return -errno;
        (void) chmod(path, 0755);
        return 0;
}

static int mkdir_root(const char *root) {
        _cleanup_free_ char *parent = strdup(root);
        char *slash;
        int r;

        if (!parent)
                return -ENOMEM;
        r = mkdir_0755(root);
        if (r == 0 || r == -EEXIST)
                return 0;
        if (r != -ENOENT)
                return r;
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return -ENOENT;
        *slash = 0;
        r = mkdir_0755(parent);
        if (r < 0 && r != -EEXIST)
                return r;
        r = mkdir_0755(root);
        return r == -EEXIST ? 0 : r;
}

/* Build a complete entry in a hidden directory and rename it into place
 * without replacing anything.  -EEXIST if an entry appeared. */
static int create_entry(const char *root, const char *device, const char *owner, const char *seq) {
        _cleanup_free_ char *tmp = NULL, *dst = NULL;
        int r;

        if (asprintf(&tmp, "%s/" HIDDEN_PREFIX "new.%s.XXXXXX", root, device) < 0 ||
            asprintf(&dst, "%s/%s", root, device) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        if (chmod(tmp, 0755) < 0) {
                r = -errno;
                goto fail;
        }
        r = write_attr(tmp, "owner", owner, false);
        if (r >= 0)
                r = write_attr(tmp, "seqnum", seq, false);
        if (r >= 0)
                r = fsync_directory(tmp);
        if (r < 0)
                goto fail;
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) < 0) {
                r = -errno;
                goto fail;
        }
        (void) fsync_directory(root);
        return 0;
fail:
        purge(tmp);
        return r;
}

int registry_register(const char *root, const char *device, const char *owner, uint64_t seqnum,
                      char **ret_owner) {
        _cleanup_free_ char *dir = NULL, *cur = NULL;
        char seq[32];
        int r;

        if (!registry_device_valid(device) || !attr_valid(owner) || strchr(owner, '\n'))
                return -EINVAL;
        (void) snprintf(seq, sizeof(seq), "%" PRIu64, seqnum);
        if (asprintf(&dir, "%s/%s", root, device) < 0)
                return -ENOMEM;
        r = mkdir_root(root);
        if (r < 0)
                return r;

        for (unsigned attempt = 0; attempt < 3; attempt++) {
                struct stat st;

                if (lstat(dir, &st) < 0) {
                        if (errno != ENOENT)
                                return -errno;
                        r = create_entry(root, device, owner, seq);
                        if (r == -EEXIST || r == -ENOTEMPTY)
                                continue; /* someone else was faster: look again */
                        return r;
                }
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;

                free(cur);
                r = registry_get_owner(root, device, &cur);
                if (r < 0)
                        return r;
                if (cur && !streq(cur, owner)) {
                        if (ret_owner)
                                *ret_owner = TAKE_PTR(cur);
                        return -EBUSY;
                }
                if (!cur) {
                        /* Claim an unowned entry: never replace an owner
                         * that appears meanwhile. */
                        r = write_attr(dir, "owner", owner, true);
                        if (r == -EEXIST)
                                continue;
                        if (r == -ENOENT)
                                continue; /* the directory went away */
                        if (r < 0)
                                return r;
                }
                r = write_attr(dir, "seqnum", seq, false);
                if (r < 0)
                        return r;
                (void) fsync_directory(dir);
                return 0;
        }
        return -EAGAIN;
}

int registry_unregister(const char *root, const char *device, const char *owner, uint64_t seqnum,
                        uint64_t max_seqnum) {
        _cleanup_free_ char *cur = NULL, *seq = NULL, *dir = NULL, *hidden = NULL;
        static unsigned counter;
        int r;

        if (!registry_device_valid(device))
                return -EINVAL;
        r = registry_get_owner(root, device, &cur);
        if (r < 0)
                return r;
        if (!cur || !streq(cur, owner))
                return 0;
        if (seqnum != 0 || max_seqnum != 0) {
                uint64_t stored;
                char *end;

                r = registry_read(root, device, "seqnum", &seq);
                if (r < 0 && r != -ENOENT)
                        return r;
                errno = 0;
                stored = seq ? strtoull(seq, &end, 10) : 0;
                if (!seq || errno != 0 || end == seq || *end)
                        stored = 0;
                if (seqnum != 0 && stored != seqnum)
                        return 0;
                if (max_seqnum != 0 && stored >= max_seqnum)
                        return 0;
        }
        if (asprintf(&dir, "%s/%s", root, device) < 0 ||
            asprintf(&hidden, "%s/" HIDDEN_PREFIX "del.%s.%d.%u", root, device, (int) getpid(), counter++) <
                    0)
                return -ENOMEM;
        if (rename(dir, hidden) < 0)
                return errno == ENOENT ? 0 : -errno;
        (void) fsync_directory(root);
        purge(hidden);
        return 1;
}

/* Remove our hidden leftovers in dir; recurse into entries once. */
static void cleanup_dir(const char *dir, bool entries) {
        DIR *d = opendir(dir);

        if (!d)
                return;
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *p = NULL;
                bool ours = strncmp(de->d_name, HIDDEN_PREFIX, strlen(HIDDEN_PREFIX)) == 0;

                if (!ours && !(entries && registry_device_valid(de->d_name)))
                        continue;
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0)
                        break;
                if (!ours)
                        cleanup_dir(p, false); /* temporary attribute files */
                else if (unlink(p) < 0 && errno == EISDIR)
                        purge(p);
        }
        closedir(d);
}

int registry_cleanup(const char *root) {
        if (access(root, F_OK) < 0)
                return errno == ENOENT ? 0 : -errno;
        cleanup_dir(root, true);
        return 0;
}

int registry_read_seqnum(const char *path, uint64_t *ret) {
        _cleanup_free_ char *v = NULL;
        unsigned long long u;
        char *end;
        int r;

        r = read_value(path, &v);
        if (r < 0)
                return r;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end || v[0] == '-')
                return -EINVAL;
        *ret = u;
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Last-known configuration cache: atomic save, tolerant load.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "json.h"
#include "macro.h"

void cache_entries_free(CacheEntry *entries, size_t n) {
        if (!entries)
                return;
        for (size_t i = 0; i < n; i++) {
                tid_done(&entries[i].tid);
                free(entries[i].origin);
                dlp_free(entries[i].dlp);
        }
        free(entries);
}

/* ---- save ---- */

/* The document is streamed, not built as a json-c tree: with 10 000 DLPEs a
 * tree costs tens of MB of short-lived allocations on every save. */
static int cache_to_text(const CacheEntry *entries, size_t n, char **ret, size_t *ret_len) {
        JsonWriter w = {};

        json_writer_begin_object(&w);
        json_writer_kv(&w, "format", CACHE_FORMAT);
        json_writer_key(&w, "version");
        json_writer_int(&w, CACHE_VERSION);
        json_writer_key(&w, "controllers");
        json_writer_begin_array(&w);
        for (size_t i = 0; i < n; i++) {
                json_writer_begin_object(&w);
                json_writer_key(&w, "tid");
                json_writer_begin_object(&w);
                json_writer_tid_fields(&w, &entries[i].tid);
                json_writer_end_object(&w);
                json_writer_kv(&w, "origin", entries[i].origin);
                json_writer_key(&w, "log-pages");
                json_writer_dlp(&w, entries[i].dlp);
                json_writer_end_object(&w);
        }
        json_writer_end_array(&w);
        json_writer_end_object(&w);
        return json_writer_take(&w, ret, ret_len);
}

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int cache_save(const char *path, const CacheEntry *entries, size_t n) {
        _cleanup_free_ char *tmp = NULL, *dir = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF, dfd = -EBADF;
        const char *slash, *base;
        size_t len;
        int r;

        if (isempty(path))
                return -EINVAL;

        if (n > CACHE_MAX_ENTRIES)
                return -EFBIG;
        r = cache_to_text(entries, n, &text, &len);
        if (r < 0)
                return r;
        /* Never write what cache_load() would refuse (+1: the final newline). */
        if (len + 1 > CACHE_MAX_SIZE)
                return -EFBIG;

        slash = strrchr(path, '/');
        if (slash) {
                dir = strndup(path, slash == path ? 1 : (size_t) (slash - path));
                base = slash + 1;
        } else {
                dir = strdup(".");
                base = path;
        }
        if (!dir)
                return -ENOMEM;
        if (!*base)
                return -EINVAL;
        if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;

        if (fchmod(fd, 0644) < 0) {
                r = -errno;
                goto fail;
        }
        r = write_all(fd, text, len);
        if (r < 0)
                goto fail;
        r = write_all(fd, "\n", 1);
        if (r < 0)
                goto fail;
        if (fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        if (close(TAKE_FD(fd)) < 0) {
                r = -errno;
                goto fail;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }

        /* Make the rename durable.  Failure here is not worth reporting as
         * a failed save: the new file is in place. */
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return 0;

fail:
        (void) unlink(tmp);
        return r;
}

/* ---- stale temp files ---- */

/* Is name ".<base>.XXXXXX", as mkostemp() makes them in cache_save()? */
static bool is_temp_name(const char *name, const char *base) {
        size_t bl = strlen(base);

        if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 || name[1 + bl] != '.')
                return false;
        name += 2 + bl;
        if (strlen(name) != 6)
                return false;
        for (; *name; name++)
                if (!isalnum((unsigned char) *name))
                        return false;
        return true;
}

int cache_remove_stale_temp(const char *path) {
        _cleanup_free_ char *dir = NULL;
        const char *slash, *base;
        DIR *d;
        int n = 0, r = 0;

        if (isempty(path))
                return -EINVAL;
        slash = strrchr(path, '/');
        dir = slash ? strndup(path, slash == path ? 1 : (size_t) (slash - path)) : strdup(".");
        base = slash ? slash + 1 : path;
        if (!dir)
                return -ENOMEM;
        if (!*base)
                return -EINVAL;
        d = opendir(dir);
        if (!d)
                return -errno;
        for (struct dirent *de; (de = readdir(d));) {
                struct stat st;

                if (!is_temp_name(de->d_name, base))
                        continue;
                /* Only our own kind of file: never follow a symlink. */
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (unlinkat(dirfd(d), de->d_name, 0) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = -errno;
                        continue;
                }
                n++;
        }
        closedir(d);
        return r < 0 ? r : n;
}

/* ---- load ---- */

_printf_(2, 3)
static int bad(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EBADMSG;
}

static const char *get_string(struct json_object *o, const char *key) {
        struct json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

/* 0 = parsed, 1 = skip (malformed), <0 = error. */
static int parse_dlpe(struct json_object *o, DlpEntry **ret) {
        const char *vals[_DLPE_N_KEYS] = {};
        int r;

        if (!json_object_is_type(o, json_type_object))
                return 1;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                vals[k] = get_string(o, dlp_key_name(k));
                if (!vals[k] && k < _DLPE_N_BASE)
                        return 1;
        }
        r = dlpe_new(ret, vals);
        if (r == -E2BIG)
                return 1;
        return r;
}

static int parse_controller(struct json_object *o, CacheEntry *ret) {
        const char *vals[TID_N_FIELDS], *origin;
        struct json_object *tid, *lp;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        CacheEntry e = {};
        int r;

        if (!json_object_is_type(o, json_type_object))
                return 1;
        if (!json_object_object_get_ex(o, "tid", &tid) || !json_object_is_type(tid, json_type_object))
                return 1;
        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                vals[i] = get_string(tid, tid_field_names[i]);
                if (!vals[i])
                        return 1;
        }
        if (isempty(vals[0]) || isempty(vals[1]))
                return 1;
        origin = get_string(o, "origin");
        if (!origin || !(streq(origin, "configured") || streq(origin, "discovered") ||
                         streq(origin, "referral")))
                return 1;

        d = dlp_new_empty();
        if (!d)
                return -ENOMEM;
        if (json_object_object_get_ex(o, "log-pages", &lp) && json_object_is_type(lp, json_type_array)) {
                size_t n = json_object_array_length(lp);

                for (size_t i = 0; i < n; i++) {
                        DlpEntry *de;

                        r = parse_dlpe(json_object_array_get_idx(lp, i), &de);
                        if (r < 0)
                                return r;
                        if (r > 0)
                                continue;
                        r = dlp_append(d, de);
                        if (r < 0) {
                                dlpe_free(de);
                                return r;
                        }
                }
        }

        r = tid_init(&e.tid, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], NULL, false);
        if (r < 0)
                return r;
        e.origin = strdup(origin);
        if (!e.origin) {
                tid_done(&e.tid);
                return -ENOMEM;
        }
        e.dlp = TAKE_PTR(d);
        *ret = e;
        return 0;
}

static void tokener_freep(struct json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

int cache_load_from_string(const char *text, size_t len, CacheEntry **ret, size_t *ret_n,
                           char **ret_error) {
        struct json_tokener *tok _cleanup_(tokener_freep) = NULL;
        _cleanup_json_ struct json_object *root = NULL;
        struct json_object *v, *arr;
        enum json_tokener_error jerr;
        CacheEntry *entries = NULL;
        size_t n_arr, n = 0;
        const char *fmt;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (len > CACHE_MAX_SIZE)
                return bad(ret_error, "file too large (%zu bytes)", len);
        if (len == 0)
                return bad(ret_error, "empty file");
        if (memchr(text, 0, len))
                return bad(ret_error, "NUL byte in file");

        tok = json_tokener_new_ex(32);
        if (!tok)
                return -ENOMEM;
        root = json_tokener_parse_ex(tok, text, (int) len);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue)
                return bad(ret_error, "truncated JSON");
        if (jerr != json_tokener_success || !root)
                return bad(ret_error, "invalid JSON: %s", json_tokener_error_desc(jerr));
        for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
                if (!strchr(" \t\r\n", text[i]))
                        return bad(ret_error, "trailing data after JSON at offset %zu", i);

        if (!json_object_is_type(root, json_type_object))
                return bad(ret_error, "not a JSON object");
        fmt = get_string(root, "format");
        if (!fmt || !streq(fmt, CACHE_FORMAT))
                return bad(ret_error, "not a %s file", CACHE_FORMAT);
        if (!json_object_object_get_ex(root, "version", &v) || !json_object_is_type(v, json_type_int))
                return bad(ret_error, "missing version");
        if (json_object_get_int64(v) != CACHE_VERSION)
                return bad(ret_error, "unsupported version %" PRId64, json_object_get_int64(v));
        if (!json_object_object_get_ex(root, "controllers", &arr) || !json_object_is_type(arr, json_type_array))
                return bad(ret_error, "missing controllers array");

        n_arr = json_object_array_length(arr);
        if (n_arr > 0) {
                entries = calloc(n_arr, sizeof(CacheEntry));
                if (!entries)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < n_arr; i++) {
                r = parse_controller(json_object_array_get_idx(arr, i), &entries[n]);
                if (r < 0) {
                        cache_entries_free(entries, n);
                        return r;
                }
                if (r == 0)
                        n++;
        }

        *ret = entries;
        *ret_n = n;
        return 0;
}

int cache_load(const char *path, CacheEntry **ret, size_t *ret_n, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0, cap;

        if (ret_error)
                *ret_error = NULL;
        /* Non-blocking: a FIFO at the cache path must not hang the start. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return bad(ret_error, "not a regular file");
        if (st.st_size > (off_t) CACHE_MAX_SIZE)
                return bad(ret_error, "file too large (%jd bytes)", (intmax_t) st.st_size);

        /* Read until EOF, not st_size: the file may change under us. */
        cap = (size_t) st.st_size + 4096;
        if (cap > CACHE_MAX_SIZE + 1)
                cap = CACHE_MAX_SIZE + 1;
        buf = malloc(cap);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k;

                if (len == cap)
                        return bad(ret_error, "file too large or growing while read");
                k = read(fd, buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        return cache_load_from_string(buf, len, ret, ret_n, ret_error);
}

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
#include "fileio.h"
#include "json.h"
#include "macro.h"
#include "utf8.h"

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

int cache_save(const char *path, const CacheEntry *entries, size_t n) {
        _cleanup_free_ char *tmp = NULL, *dir = NULL, *text = NULL;
        _cleanup_close_ int fd = -EBADF;
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
        (void) fsync_directory(dir);
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

/*
 * The loader never builds a tree of the whole document: 3 MB of "{}" make a
 * json-c tree of hundreds of MB.  A small scanner walks the two outer levels
 * (the root object and the "controllers" array), and each piece that is
 * used (a key, "format", a tid, "origin", one DLPE) is handed to json-c's
 * tokener on its own; a piece with more than a few containers is not parsed
 * at all.  Memory is the result plus one small piece.
 */

#define SCAN_MAX_DEPTH 32
/* A tid or a DLPE is one flat object: anything with more containers is not
 * one, and is skipped without being parsed. */
#define PIECE_MAX_CONTAINERS 8

static void tokener_freep(struct json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

_printf_(2, 3) static int bad(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error && !*ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EBADMSG;
}

typedef struct Scan {
        const char *text;
        size_t len, pos;
        char **error;
        struct json_tokener *tok;
} Scan;

static void scan_ws(Scan *s) {
        while (s->pos < s->len && strchr(" \t\r\n", s->text[s->pos]) && s->text[s->pos])
                s->pos++;
}

static int scan_truncated(Scan *s) {
        return bad(s->error, "truncated JSON");
}

/* Expect character c (after blanks). */
static int scan_expect(Scan *s, char c) {
        scan_ws(s);
        if (s->pos >= s->len)
                return scan_truncated(s);
        if (s->text[s->pos] != c)
                return bad(s->error, "invalid JSON at offset %zu: expected '%c'", s->pos, c);
        s->pos++;
        return 0;
}

/* Skip one value (after blanks): *start and *end delimit it, *n_containers
 * counts the objects and arrays in it.  Structure only; the tokener checks
 * the details of what is used. */
static int scan_value(Scan *s, size_t *start, size_t *end, size_t *n_containers) {
        char stack[SCAN_MAX_DEPTH];
        unsigned depth = 0;
        size_t n = 0;

        scan_ws(s);
        if (s->pos >= s->len)
                return scan_truncated(s);
        *start = s->pos;
        do {
                char c;

                if (s->pos >= s->len)
                        return scan_truncated(s);
                c = s->text[s->pos];
                if (c == '"') {
                        for (s->pos++;; s->pos++) {
                                if (s->pos >= s->len)
                                        return scan_truncated(s);
                                if (s->text[s->pos] == '\\')
                                        s->pos++;
                                else if (s->text[s->pos] == '"')
                                        break;
                        }
                        s->pos++;
                } else if (c == '{' || c == '[') {
                        if (depth >= SCAN_MAX_DEPTH)
                                return bad(s->error, "JSON nested too deeply at offset %zu", s->pos);
                        stack[depth++] = c == '{' ? '}' : ']';
                        n++;
                        s->pos++;
                } else if (c == '}' || c == ']') {
                        if (depth == 0 || stack[depth - 1] != c)
                                return bad(s->error, "invalid JSON at offset %zu", s->pos);
                        depth--;
                        s->pos++;
                } else if (depth > 0) {
                        s->pos++;
                } else {
                        /* A scalar at the top: up to the next delimiter. */
                        while (s->pos < s->len && !strchr(",:]} \t\r\n", s->text[s->pos]))
                                s->pos++;
                }
        } while (depth > 0);
        if (s->pos == *start)
                return bad(s->error, "invalid JSON at offset %zu", s->pos);
        *end = s->pos;
        if (n_containers)
                *n_containers = n;
        return 0;
}

/* Parse text[start, end) as one JSON value with json-c.  Errors, with the
 * cause: -EBADMSG for bad JSON, -ENOMEM when json-c ran out of memory
 * (which it reports as "success" with no object). */
static int scan_parse(Scan *s, size_t start, size_t end, struct json_object **ret) {
        struct json_object *o;
        enum json_tokener_error jerr;

        json_tokener_reset(s->tok);
        o = json_tokener_parse_ex(s->tok, s->text + start, (int) (end - start));
        jerr = json_tokener_get_error(s->tok);
        if (jerr == json_tokener_continue) {
                /* A number needs to see its end: give it one. */
                json_object_put(o);
                o = json_tokener_parse_ex(s->tok, "", 1);
                jerr = json_tokener_get_error(s->tok);
        }
        if (jerr != json_tokener_success) {
                json_object_put(o);
                return bad(s->error, "invalid JSON at offset %zu: %s", start, json_tokener_error_desc(jerr));
        }
        if (!o) {
                /* "null", or json-c could not allocate. */
                if (end - start == 4 && memcmp(s->text + start, "null", 4) == 0) {
                        *ret = NULL;
                        return 0;
                }
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* After white space, is the next character c?  (Not consumed.) */
static bool scan_at(Scan *s, char c) {
        scan_ws(s);
        return s->pos < s->len && s->text[s->pos] == c;
}

/* A member's value: parsed into *dst (replacing what a repeated key left
 * there) when dst is given and the value nests at most max_containers
 * containers, else skipped (*dst is then NULL). */
static int scan_member(Scan *s, struct json_object **dst, size_t max_containers) {
        size_t start = 0, end = 0, nc = 0;
        int r;

        r = scan_value(s, &start, &end, &nc);
        if (r < 0 || !dst)
                return r;
        json_object_put(*dst);
        *dst = NULL;
        if (nc > max_containers)
                return 0;
        return scan_parse(s, start, end, dst);
}

/* Before the next member of an object or array (after its opening or a
 * member): 0 at the closing character (consumed), 1 before the member
 * (the ',' between consumed). */
static int scan_next(Scan *s, bool first, char close) {
        int r;

        scan_ws(s);
        if (s->pos >= s->len)
                return scan_truncated(s);
        if (s->text[s->pos] == close) {
                s->pos++;
                return 0;
        }
        if (!first) {
                r = scan_expect(s, ',');
                if (r < 0)
                        return r;
                scan_ws(s);
        }
        return 1;
}

/* The next key of an object (after '{' or ','): *ret is NULL at '}'. */
static int scan_key(Scan *s, bool first, char **ret) {
        _cleanup_json_ struct json_object *k = NULL;
        size_t start = 0, end = 0;
        int r;

        *ret = NULL;
        r = scan_next(s, first, '}');
        if (r <= 0)
                return r;
        if (s->pos >= s->len)
                return scan_truncated(s);
        if (s->text[s->pos] != '"')
                return bad(s->error, "invalid JSON at offset %zu: expected a key", s->pos);
        r = scan_value(s, &start, &end, NULL);
        if (r < 0)
                return r;
        r = scan_parse(s, start, end, &k);
        if (r < 0)
                return r;
        r = scan_expect(s, ':');
        if (r < 0)
                return r;
        *ret = strdup(json_object_get_string(k));
        return *ret ? 1 : -ENOMEM;
}

/* The next element of an array (after '[' or ','): 0 at ']', 1 with the
 * element's span. */
static int scan_element(Scan *s, bool first, size_t *start, size_t *end, size_t *n_containers) {
        int r;

        r = scan_next(s, first, ']');
        if (r <= 0)
                return r;
        r = scan_value(s, start, end, n_containers);
        return r < 0 ? r : 1;
}

/* A string that may reach D-Bus: present, valid UTF-8, no embedded NUL. */
static const char *get_text(struct json_object *o, const char *key) {
        struct json_object *v;
        const char *s;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        s = json_object_get_string(v);
        if ((size_t) json_object_get_string_len(v) != strlen(s) || !utf8_is_valid(s))
                return NULL;
        return s;
}

/* 0 = parsed, 1 = skip (malformed), <0 = error. */
static int parse_dlpe(struct json_object *o, DlpEntry **ret) {
        const char *vals[_DLPE_N_KEYS] = {};
        struct json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return 1;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                vals[k] = get_text(o, dlp_key_name(k));
                if (vals[k])
                        continue;
                /* A base key must be there; an extra that is not a string
                 * is ignored, one that is not UTF-8 spoils the entry. */
                if (k < _DLPE_N_BASE || (json_object_object_get_ex(o, dlp_key_name(k), &v) &&
                                         json_object_is_type(v, json_type_string)))
                        return 1;
        }
        r = dlpe_new(ret, vals);
        if (r == -E2BIG)
                return 1;
        return r;
}

/* "log-pages": [DLPE, ...], one DLPE parsed at a time. */
static int scan_log_pages(Scan *s, Dlp *d, size_t *n_skipped) {
        size_t start = 0, end = 0, nc = 0;
        int r;

        r = scan_expect(s, '[');
        if (r < 0)
                return r;
        for (bool first = true;; first = false) {
                _cleanup_json_ struct json_object *o = NULL;
                DlpEntry *de;

                r = scan_element(s, first, &start, &end, &nc);
                if (r <= 0)
                        return r;
                if (nc > PIECE_MAX_CONTAINERS) {
                        (*n_skipped)++;
                        continue;
                }
                r = scan_parse(s, start, end, &o);
                if (r < 0)
                        return r;
                r = parse_dlpe(o, &de);
                if (r < 0)
                        return r;
                if (r > 0) {
                        (*n_skipped)++;
                        continue;
                }
                r = dlp_append(d, de);
                if (r < 0) {
                        dlpe_free(de);
                        return r;
                }
        }
}

/* One controller object.  0 = parsed, 1 = skip (malformed), <0 = error. */
static int scan_controller(Scan *s, CacheEntry *ret, size_t *n_skipped) {
        _cleanup_json_ struct json_object *tid = NULL, *origin = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        const char *vals[TID_N_FIELDS], *o;
        bool have_pages = false;
        CacheEntry e = {};
        int r;

        d = dlp_new_empty();
        if (!d)
                return -ENOMEM;
        scan_ws(s);
        if (s->pos < s->len && s->text[s->pos] != '{') {
                size_t start = 0, end = 0;

                /* Not an object: skip it whole. */
                r = scan_value(s, &start, &end, NULL);
                return r < 0 ? r : 1;
        }
        r = scan_expect(s, '{');
        if (r < 0)
                return r;
        for (bool first = true;; first = false) {
                _cleanup_free_ char *key = NULL;
                struct json_object **dst = NULL;

                r = scan_key(s, first, &key);
                if (r < 0)
                        return r;
                if (!key)
                        break;
                if (streq(key, "log-pages") && !have_pages) {
                        if (scan_at(s, '[')) {
                                have_pages = true;
                                r = scan_log_pages(s, d, n_skipped);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                }
                if (streq(key, "tid"))
                        dst = &tid;
                else if (streq(key, "origin"))
                        dst = &origin;
                /* Unknown keys are ignored; a value that is not a flat
                 * object is left NULL: malformed, below. */
                r = scan_member(s, dst, PIECE_MAX_CONTAINERS);
                if (r < 0)
                        return r;
        }

        if (!tid || !json_object_is_type(tid, json_type_object))
                return 1;
        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                vals[i] = get_text(tid, tid_field_names[i]);
                if (!vals[i])
                        return 1;
        }
        if (isempty(vals[0]) || isempty(vals[1]))
                return 1;
        o = origin && json_object_is_type(origin, json_type_string) ? json_object_get_string(origin) : NULL;
        if (!o || !(streq(o, "configured") || streq(o, "discovered") || streq(o, "referral")))
                return 1;

        r = tid_init(&e.tid, vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], NULL, false);
        if (r < 0)
                return r;
        e.origin = strdup(o);
        if (!e.origin) {
                tid_done(&e.tid);
                return -ENOMEM;
        }
        e.dlp = TAKE_PTR(d);
        *ret = e;
        return 0;
}

typedef struct Loaded {
        CacheEntry *entries;
        size_t n;
        size_t n_skipped;
} Loaded;

static int scan_controllers(Scan *s, Loaded *l) {
        int r;

        r = scan_expect(s, '[');
        if (r < 0)
                return r;
        for (bool first = true;; first = false) {
                scan_ws(s);
                if (s->pos >= s->len)
                        return scan_truncated(s);
                if (s->text[s->pos] == ']') {
                        s->pos++;
                        return 0;
                }
                if (!first) {
                        r = scan_expect(s, ',');
                        if (r < 0)
                                return r;
                }
                if (l->n >= CACHE_MAX_ENTRIES)
                        return bad(s->error, "more than %u controllers", CACHE_MAX_ENTRIES);
                if (array_grow(&l->entries, l->n, sizeof(CacheEntry)) < 0)
                        return -ENOMEM;
                r = scan_controller(s, &l->entries[l->n], &l->n_skipped);
                if (r < 0)
                        return r;
                if (r == 0)
                        l->n++;
                else
                        l->n_skipped++;
        }
}

int cache_load_from_string(const char *text, size_t len, CacheEntry **ret, size_t *ret_n, char **ret_error) {
        struct json_tokener *tok _cleanup_(tokener_freep) = NULL;
        _cleanup_json_ struct json_object *format = NULL, *version = NULL;
        Loaded l = {};
        bool have_controllers = false;
        Scan s = {
                .text = text,
                .len = len,
                .error = ret_error,
        };
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (len > CACHE_MAX_SIZE)
                return bad(ret_error, "file too large (%zu bytes)", len);
        if (len == 0)
                return bad(ret_error, "empty file");
        if (memchr(text, 0, len))
                return bad(ret_error, "NUL byte in file");

        tok = json_tokener_new_ex(SCAN_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        s.tok = tok;

        scan_ws(&s);
        if (s.pos < len && s.text[s.pos] != '{') {
                size_t start = 0, end = 0;

                /* Tell "not JSON" from "JSON, but not an object". */
                r = scan_value(&s, &start, &end, NULL);
                if (r < 0)
                        goto fail;
                r = scan_parse(&s, start, end, &format);
                if (r < 0)
                        goto fail;
                r = bad(ret_error, "not a JSON object");
                goto fail;
        }
        r = scan_expect(&s, '{');
        if (r < 0)
                goto fail;
        for (bool first = true;; first = false) {
                _cleanup_free_ char *key = NULL;
                struct json_object **dst = NULL;

                r = scan_key(&s, first, &key);
                if (r < 0)
                        goto fail;
                if (!key)
                        break;
                if (streq(key, "controllers")) {
                        if (have_controllers || !scan_at(&s, '[')) {
                                r = bad(ret_error, "missing controllers array");
                                goto fail;
                        }
                        have_controllers = true;
                        r = scan_controllers(&s, &l);
                        if (r < 0)
                                goto fail;
                        continue;
                }
                if (streq(key, "format"))
                        dst = &format;
                else if (streq(key, "version"))
                        dst = &version;
                /* A value that is not a scalar is left NULL: wrong, below. */
                r = scan_member(&s, dst, 0);
                if (r < 0)
                        goto fail;
        }
        scan_ws(&s);
        if (s.pos < len) {
                r = bad(ret_error, "trailing data after JSON at offset %zu", s.pos);
                goto fail;
        }

        if (!format || !json_object_is_type(format, json_type_string) ||
            !streq(json_object_get_string(format), CACHE_FORMAT)) {
                r = bad(ret_error, "not a %s file", CACHE_FORMAT);
                goto fail;
        }
        if (!version || !json_object_is_type(version, json_type_int)) {
                r = bad(ret_error, "missing version");
                goto fail;
        }
        if (json_object_get_int64(version) != CACHE_VERSION) {
                r = bad(ret_error, "unsupported version %" PRId64, json_object_get_int64(version));
                goto fail;
        }
        if (!have_controllers) {
                r = bad(ret_error, "missing controllers array");
                goto fail;
        }

        *ret = l.entries;
        *ret_n = l.n;
        return 0;

fail:
        cache_entries_free(l.entries, l.n);
        return r;
}

int cache_load(const char *path, CacheEntry **ret, size_t *ret_n, char **ret_error) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

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
        r = read_full_fd(fd, CACHE_MAX_SIZE, &buf, &len);
        if (r == -EFBIG)
                return bad(ret_error, "file too large or growing while read");
        if (r < 0)
                return r;
        return cache_load_from_string(buf, len, ret, ret_n, ret_error);
}

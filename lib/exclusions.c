/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The host-wide NVMe-oF exclusion list (/etc/nvme/exclusions.conf and its
 * .conf.d): parsing the files and matching transport ids against them.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "exclusions.h"
#include "fileio.h"
#include "macro.h"
#include "strv.h"

const char *const excl_key_names[_EXCL_KEY_MAX] = {
        [EXCL_TRANSPORT] = "transport",     [EXCL_TRADDR] = "traddr",
        [EXCL_TRSVCID] = "trsvcid",         [EXCL_NQN] = "nqn",
        [EXCL_HOST_TRADDR] = "host-traddr", [EXCL_HOST_IFACE] = "host-iface",
        [EXCL_HOSTNQN] = "hostnqn",         [EXCL_HOSTID] = "hostid",
};

int excl_list_new(ExclList **ret) {
        ExclList *l = calloc(1, sizeof(ExclList));

        if (!l)
                return -ENOMEM;
        *ret = l;
        return 0;
}

static void excl_entry_done(ExclEntry *e) {
        for (unsigned k = 0; k < _EXCL_KEY_MAX; k++)
                free(e->value[k]);
}

ExclList *excl_list_free(ExclList *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n; i++)
                excl_entry_done(&l->entries[i]);
        free(l->entries);
        strv_free(l->files);
        strv_free(l->warnings);
        free(l);
        return NULL;
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Trim [*b, *e) in place. */
static void trim(const char **b, const char **e) {
        while (*b < *e && is_blank(**b))
                (*b)++;
        while (*e > *b && is_blank((*e)[-1]))
                (*e)--;
}

static bool span_eq(const char *b, const char *e, const char *s) {
        size_t n = strlen(s);

        return (size_t) (e - b) == n && memcmp(b, s, n) == 0;
}

static int excl_key_from_span(const char *b, const char *e) {
        for (unsigned k = 0; k < _EXCL_KEY_MAX; k++)
                if (span_eq(b, e, excl_key_names[k]))
                        return (int) k;
        return -1;
}

/* Parse the value of one "exclusion =" line, [b, e).  Returns 1 if the entry
 * is valid (stored in *ret), 0 if invalid (a warning was added), -ENOMEM. */
static int parse_entry(ExclList *l, const char *file, unsigned line, const char *b, const char *e,
                       ExclEntry *ret) {
        ExclEntry x = { .line = line };
        bool any = false;
        int r;

        while (b <= e) {
                const char *semi = memchr(b, ';', (size_t) (e - b)), *te = semi ?: e;
                const char *kb = b, *ke, *vb, *ve = te, *eq;
                int k;

                b = te + 1;
                trim(&kb, &ve);
                if (kb == ve) {
                        if (!semi)
                                break;
                        continue; /* empty token */
                }
                eq = memchr(kb, '=', (size_t) (ve - kb));
                if (!eq) {
                        r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: '%.*s' is not key=value",
                                         file, line, (int) (ve - kb), kb);
                        goto invalid;
                }
                ke = eq;
                vb = eq + 1;
                trim(&kb, &ke);
                trim(&vb, &ve);
                k = excl_key_from_span(kb, ke);
                if (k < 0) {
                        r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: unknown key '%.*s'", file,
                                         line, (int) (ke - kb), kb);
                        goto invalid;
                }
                if (vb == ve) {
                        r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: empty value for '%s'",
                                         file, line, excl_key_names[k]);
                        goto invalid;
                }
                if (x.value[k]) {
                        r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: '%s' given twice", file,
                                         line, excl_key_names[k]);
                        goto invalid;
                }
                if (memchr(vb, 0, (size_t) (ve - vb))) {
                        r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: NUL byte in '%s'", file,
                                         line, excl_key_names[k]);
                        goto invalid;
                }
                x.value[k] = strndup(vb, (size_t) (ve - vb));
                if (!x.value[k]) {
                        excl_entry_done(&x);
                        return -ENOMEM;
                }
                any = true;
                if (!semi)
                        break;
        }

        if (!any) {
                r = strv_extendf(&l->warnings, "%s:%u: invalid exclusion: no field", file, line);
                goto invalid;
        }
        if (x.value[EXCL_TRANSPORT] && (strcasecmp(x.value[EXCL_TRANSPORT], "tcp") == 0 ||
                                        strcasecmp(x.value[EXCL_TRANSPORT], "rdma") == 0))
                for (unsigned i = 0; i < 2; i++) {
                        unsigned k = i == 0 ? EXCL_TRADDR : EXCL_HOST_TRADDR;

                        if (x.value[k] && ip_family_of(x.value[k]) == 0) {
                                r = strv_extendf(&l->warnings,
                                                 "%s:%u: invalid exclusion: %s '%s' is not an IP address",
                                                 file, line, excl_key_names[k], x.value[k]);
                                goto invalid;
                        }
                }
        /* Addresses in the form tid_init gives a DC's (canonical IP, or
         * lower case): matching is then a plain string comparison. */
        for (unsigned i = 0; i < 2; i++) {
                unsigned k = i == 0 ? EXCL_TRADDR : EXCL_HOST_TRADDR;
                char buf[256];

                if (!x.value[k])
                        continue;
                if (ip_canonical(x.value[k], buf, sizeof(buf)) >= 0) {
                        char *t = strdup(buf);

                        if (!t) {
                                excl_entry_done(&x);
                                return -ENOMEM;
                        }
                        free(x.value[k]);
                        x.value[k] = t;
                } else
                        for (char *c = x.value[k]; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
        }
        *ret = x;
        return 1;

invalid:
        excl_entry_done(&x);
        return r < 0 ? r : 0;
}

static int excl_add(ExclList *l, ExclEntry *e) {
        ExclEntry *t;

        if (l->n % 16 == 0) {
                t = realloc(l->entries, sizeof(ExclEntry) * (l->n + 16));
                if (!t)
                        return -ENOMEM;
                l->entries = t;
        }
        l->entries[l->n++] = *e;
        return 0;
}

int excl_parse_string(ExclList *l, const char *file, const char *text, size_t size) {
        const char *p = text, *end = text + size, *fname;
        bool in_section = false, capped = false;
        unsigned line = 0;
        int r;

        r = strv_extend(&l->files, file);
        if (r < 0)
                return r;
        fname = l->files[strv_length(l->files) - 1];

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *b = p, *e = nl ?: end, *eq, *kb, *ke;
                ExclEntry x;

                p = nl ? nl + 1 : end;
                line++;
                trim(&b, &e);
                if (b == e || *b == '#' || *b == ';')
                        continue;
                if (*b == '[') {
                        const char *sb = b + 1, *se = memchr(b, ']', (size_t) (e - b));

                        if (!se) {
                                r = strv_extendf(&l->warnings, "%s:%u: ignoring malformed section header",
                                                 fname, line);
                                if (r < 0)
                                        return r;
                                in_section = false;
                                continue;
                        }
                        trim(&sb, &se);
                        in_section = span_eq(sb, se, "exclusions");
                        continue;
                }
                eq = memchr(b, '=', (size_t) (e - b));
                kb = b;
                ke = eq ?: e;
                trim(&kb, &ke);
                if (!eq || !span_eq(kb, ke, "exclusion")) {
                        if (in_section) {
                                r = strv_extendf(&l->warnings, "%s:%u: ignoring unknown line '%.*s'", fname,
                                                 line, (int) (ke - kb), kb);
                                if (r < 0)
                                        return r;
                        }
                        continue;
                }
                if (!in_section) {
                        r = strv_extendf(&l->warnings, "%s:%u: ignoring exclusion outside [exclusions]",
                                         fname, line);
                        if (r < 0)
                                return r;
                        continue;
                }
                r = parse_entry(l, fname, line, eq + 1, e, &x);
                if (r <= 0) {
                        if (r < 0)
                                return r;
                        continue;
                }
                x.file = fname;
                if (l->n >= EXCL_ENTRIES_MAX) {
                        excl_entry_done(&x);
                        if (!capped) {
                                r = strv_extendf(&l->warnings,
                                                 "%s:%u: more than %u exclusions, ignoring the rest", fname,
                                                 line, EXCL_ENTRIES_MAX);
                                if (r < 0)
                                        return r;
                        }
                        capped = true;
                        continue;
                }
                r = excl_add(l, &x);
                if (r < 0) {
                        excl_entry_done(&x);
                        return r;
                }
        }
        return 0;
}

/* Read a regular file of at most EXCL_FILE_MAX bytes (lib/fileio).  -ENOENT
 * when missing, other negative errno (with a warning added) when unusable. */
static int read_file(ExclList *l, const char *path, char **ret, size_t *ret_size) {
        int r, k;

        r = read_regular_file_at(AT_FDCWD, path, 0, EXCL_FILE_MAX, ret, ret_size);
        if (r >= 0 || r == -ENOENT || r == -ENOMEM)
                return r;
        if (r == -EISDIR || r == -EBADFD || r == -EFBIG)
                k = strv_extendf(&l->warnings, "%s: ignored (%s)", path,
                                 r == -EFBIG ? "too large" : "not a regular file");
        else
                k = strv_extendf(&l->warnings, "%s: cannot read: %s", path, strerror(-r));
        if (k < 0)
                return -ENOMEM;
        return r == -EFBIG || r == -EISDIR || r == -EBADFD ? -EINVAL : r;
}

static int load_one(ExclList *l, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        int r;

        r = read_file(l, path, &text, &size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0; /* fail-open */
        return excl_parse_string(l, path, text, size);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int excl_load(const char *root, ExclList **ret) {
        _cleanup_(excl_list_freep) ExclList *l = NULL;
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_free_ char *path = NULL, *dir = NULL;
        DIR *d;
        size_t n;
        int r;

        r = excl_list_new(&l);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/exclusions.conf", root) < 0)
                return -ENOMEM;
        r = load_one(l, path);
        if (r < 0)
                return r;

        if (asprintf(&dir, "%s/exclusions.conf.d", root) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT && strv_extendf(&l->warnings, "%s: cannot open: %m", dir) < 0)
                        return -ENOMEM;
                *ret = TAKE_PTR(l);
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                size_t len = strlen(de->d_name);

                if (de->d_name[0] == '.' || len <= 5 || !streq(de->d_name + len - 5, ".conf"))
                        continue;
                if (strv_length(names) >= EXCL_FILES_MAX) {
                        (void) strv_extendf(&l->warnings, "%s: more than %u files, ignoring the rest", dir,
                                            EXCL_FILES_MAX);
                        break;
                }
                if (strv_extend(&names, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        n = strv_length(names);
        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_str);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (asprintf(&p, "%s/%s", dir, names[i]) < 0)
                        return -ENOMEM;
                r = load_one(l, p);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

void excl_target_from_tid(ExclTarget *ret, const Tid *tid, const char *hostid) {
        *ret = (ExclTarget){ .value = {
                                     [EXCL_TRANSPORT] = tid->transport,
                                     [EXCL_TRADDR] = tid->traddr,
                                     [EXCL_TRSVCID] = tid->trsvcid,
                                     [EXCL_NQN] = tid->subsysnqn,
                                     [EXCL_HOST_TRADDR] = tid->host_traddr,
                                     [EXCL_HOST_IFACE] = tid->host_iface,
                                     [EXCL_HOSTNQN] = tid->host_nqn,
                                     [EXCL_HOSTID] = hostid,
                             } };
}

bool excl_entry_matches(const ExclEntry *e, const ExclTarget *t) {
        bool any = false;

        for (unsigned k = 0; k < _EXCL_KEY_MAX; k++) {
                const char *want = e->value[k], *have = t->value[k];
                bool eq;

                if (!want)
                        continue;
                if (isempty(have))
                        return false;
                switch (k) {
                case EXCL_TRADDR:
                case EXCL_HOST_TRADDR:
                        /* Both canonical (see parse_entry, tid_init). */
                        eq = streq(want, have);
                        break;
                case EXCL_TRANSPORT:
                case EXCL_HOSTID:
                        eq = strcasecmp(want, have) == 0;
                        break;
                default:
                        eq = streq(want, have);
                }
                if (!eq)
                        return false;
                any = true;
        }
        return any;
}

const ExclEntry *excl_match(const ExclList *l, const ExclTarget *t) {
        for (size_t i = 0; l && i < l->n; i++)
                if (excl_entry_matches(&l->entries[i], t))
                        return &l->entries[i];
        return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The host-wide NVMe-oF exclusion list shared by nvme-cli, libnvme and the
 * other orchestrators: /etc/nvme/exclusions.conf and every
 * /etc/nvme/exclusions.conf.d/NAME.conf (in strcmp order of NAME).
 *
 *   # comment
 *   [exclusions]
 *   exclusion = transport=tcp;traddr=192.168.1.10;trsvcid=8009
 *
 * Keys: transport traddr trsvcid nqn host-traddr host-iface hostnqn hostid.
 * An entry with an unknown or repeated key, a token without '=', an empty
 * value, no field at all, or (transport tcp/rdma) a traddr/host-traddr that
 * is not a numeric IP is invalid: it matches nothing and leaves a warning
 * naming file:line.  Empty tokens (";;", a trailing ';') are allowed.
 * "exclusion =" lines outside [exclusions] and other lines inside it are
 * ignored with a warning; other lines of other sections silently.  Only whole-line '#' and ';'
 * comments exist: a value runs to the end of its token.
 *
 * Decisions (no standard says otherwise):
 * - A file over EXCL_FILE_MAX bytes, a non-regular file, a missing or
 *   unreadable file excludes nothing (fail-open) and, except for "missing",
 *   leaves a warning.
 * - At most EXCL_ENTRIES_MAX entries are kept in all; the rest are ignored
 *   with one warning.
 */

#include <stdbool.h>
#include <stddef.h>

#include "tid.h"

#define EXCL_FILE_MAX (1024 * 1024)
#define EXCL_ENTRIES_MAX 65536
#define EXCL_FILES_MAX 1024

typedef enum ExclKey {
        EXCL_TRANSPORT,
        EXCL_TRADDR,
        EXCL_TRSVCID,
        EXCL_NQN,
        EXCL_HOST_TRADDR,
        EXCL_HOST_IFACE,
        EXCL_HOSTNQN,
        EXCL_HOSTID,
        _EXCL_KEY_MAX,
} ExclKey;

extern const char *const excl_key_names[_EXCL_KEY_MAX];

typedef struct ExclEntry {
        const char *file; /* points into ExclList.files */
        unsigned line;
        char *value[_EXCL_KEY_MAX]; /* NULL = not given */
} ExclEntry;

typedef struct ExclList {
        ExclEntry *entries; /* valid entries only */
        size_t n;
        char **files; /* every file name parsed (entries point here) */
        char **warnings; /* "file:line: ..." */
} ExclList;

int excl_list_new(ExclList **ret);
ExclList *excl_list_free(ExclList *l);

/* Parse the text of one file named file (for messages) and append its valid
 * entries to l.  Returns 0 (invalid lines only add warnings) or -ENOMEM. */
int excl_parse_string(ExclList *l, const char *file, const char *text, size_t size);

/* Load root/exclusions.conf and root/exclusions.conf.d/ *.conf (root is
 * "/etc/nvme" outside tests).  Problems with files become warnings; returns
 * 0 or -ENOMEM. */
int excl_load(const char *root, ExclList **ret);

/* The fields of a DC as the exclusion list sees them: NULL or "" = the DC
 * has no such field.  traddr and host-traddr as tid_init leaves them:
 * canonical IP literals (ip_canonical), anything else lower case; entries
 * store theirs the same way, so they compare as plain strings. */
typedef struct ExclTarget {
        const char *value[_EXCL_KEY_MAX];
} ExclTarget;

/* From a TID (normalised by tid_init) and the host ID used with it. */
void excl_target_from_tid(ExclTarget *ret, const Tid *tid, const char *hostid);

/* Does this entry exclude t?  Every field the entry gives must equal t's:
 * transport and hostid case-insensitively, traddr and host-traddr as
 * addresses (IP literals canonically, anything else - FC names - case-
 * insensitively, as ip_equal does), the others exactly.  A field t lacks =
 * no match. */
bool excl_entry_matches(const ExclEntry *e, const ExclTarget *t);
/* The first entry that excludes t, or NULL. */
const ExclEntry *excl_match(const ExclList *l, const ExclTarget *t);

static inline void excl_list_freep(ExclList **l) {
        if (*l)
                *l = excl_list_free(*l);
}

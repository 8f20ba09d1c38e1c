/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Last-known configuration: every DC's TID, origin and DLPEs, so that a
 * restarted daemon serves its cache before any DC answers.
 * File: {"format": "stafd-last-known-config", "version": 1,
 *        "controllers": [{"tid": {7 keys}, "origin": "...", "log-pages": [DLPE...]}]}
 */

#include <stddef.h>

#include "dlp.h"
#include "tid.h"

typedef struct CacheEntry {
        Tid tid;
        char *origin; /* "configured" | "discovered" | "referral" */
        Dlp *dlp; /* may be NULL / empty */
} CacheEntry;

#define CACHE_FORMAT "stafd-last-known-config"
#define CACHE_VERSION 1
/* Files larger than this are refused (-EBADMSG); cache_save() never writes
 * one (-EFBIG). */
#define CACHE_MAX_SIZE (64U * 1024U * 1024U)
/* At most this many controllers are loaded or saved (the largest max-dcs). */
#define CACHE_MAX_ENTRIES 1000000U

/* Write atomically: temp file ".<name>.XXXXXX" in the same dir (mode 0644:
 * the cache holds no secrets), write, fsync, rename, fsync dir.  The temp
 * file is removed on failure.  -EFBIG, and nothing written, if the document
 * would be larger than CACHE_MAX_SIZE or hold more than CACHE_MAX_ENTRIES. */
int cache_save(const char *path, const CacheEntry *entries, size_t n);

/* Remove the temp files (".<name>.XXXXXX", regular files only) that saves
 * interrupted by a crash or SIGKILL left next to path.  Returns how many were
 * removed, or -errno (the first unlink error; the others are still tried). */
int cache_remove_stale_temp(const char *path);

/* Load tolerantly.  -ENOENT if absent; -EBADMSG for corrupt/foreign content
 * (with *ret_error a malloc'd reason when non-NULL).  Individual bad entries
 * are skipped, not fatal. */
int cache_load(const char *path, CacheEntry **ret, size_t *ret_n, char **ret_error);
/* Same, from text in memory (tests, fuzzing).  A controller is skipped when
 * its tid is not an object of strings with non-empty transport and traddr,
 * or origin is not one of the three names; a DLPE is skipped when it is not
 * an object or lacks one of the 11 base keys as a string.  Unknown keys are
 * ignored.  Tids are re-normalised with tid_init (ignore_iface false). */
int cache_load_from_string(const char *text, size_t len, CacheEntry **ret, size_t *ret_n, char **ret_error);

void cache_entries_free(CacheEntry *entries, size_t n);

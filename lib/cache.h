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
        char *origin;  /* "configured" | "discovered" | "referral" */
        Dlp *dlp;      /* may be NULL / empty */
} CacheEntry;

/* Write atomically: temp file in the same dir, fsync, rename, fsync dir. */
int cache_save(const char *path, const CacheEntry *entries, size_t n);

/* Load tolerantly.  -ENOENT if absent; -EBADMSG for corrupt/foreign content
 * (with *ret_error a malloc'd reason when non-NULL).  Individual bad entries
 * are skipped, not fatal. */
int cache_load(const char *path, CacheEntry **ret, size_t *ret_n, char **ret_error);

void cache_entries_free(CacheEntry *entries, size_t n);

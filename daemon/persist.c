/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's side of the last-known configuration: the file's path, the
 * restore at start (each entry through the same validation as the network)
 * and the coalesced save timer.  The file format is lib/cache.c's.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "config.h"
#include "dc.h"
#include "log.h"
#include "macro.h"
#include "manager.h"
#include "persist.h"
#include "validate.h"

#define SAVE_DELAY_USEC (1 * USEC_PER_SEC)

int persist_path(char **ret) {
        const char *rd = getenv("RUNTIME_DIRECTORY");
        char *p;

        if (!isempty(rd)) {
                /* systemd may list several directories separated by ':'. */
                size_t n = strcspn(rd, ":");

                if (asprintf(&p, "%.*s/last-known-config.json", (int) n, rd) < 0)
                        return -ENOMEM;
        } else {
                if (mkdir(STAFD_RUNTIME_DIR, 0755) < 0 && errno != EEXIST)
                        log_warning_errno(errno, "Cannot create %s: %m", STAFD_RUNTIME_DIR);
                if (asprintf(&p, "%s/last-known-config.json", STAFD_RUNTIME_DIR) < 0)
                        return -ENOMEM;
        }
        *ret = p;
        return 0;
}

int persist_save_now(Manager *m) {
        _cleanup_free_ CacheEntry *e = NULL;
        int r;

        /* Whatever was scheduled is covered by this save. */
        if (m->save_timer)
                (void) sd_event_source_set_enabled(m->save_timer, SD_EVENT_OFF);
        e = calloc(m->n_dcs ?: 1, sizeof(CacheEntry));
        if (!e)
                return log_oom();
        for (size_t i = 0; i < m->n_dcs; i++)
                e[i] = (CacheEntry){
                        .tid = m->dcs[i]->tid,
                        .origin = (char *) dc_origin_to_string(m->dcs[i]->origin),
                        .dlp = m->dcs[i]->dlp,
                };
        r = cache_save(m->cache_path, e, m->n_dcs);
        /* The document can be megabytes: hand the memory back at once. */
        (void) malloc_trim(0);
        if (r < 0)
                return log_warning_errno(r, "Failed to save %s: %m", m->cache_path);
        log_debug("Saved %zu controllers to %s", m->n_dcs, m->cache_path);
        return 0;
}

static int on_save_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) persist_save_now(userdata);
        return 0;
}

/* Saves are coalesced: the first change arms a timer, later ones ride on
 * it, so a burst of changes costs one rewrite and fsync, at most
 * SAVE_DELAY_USEC after the first.  Stopping saves at once (and nothing
 * changes the cache after that: the DC set is emptied on purpose). */
void persist_schedule_save(Manager *m) {
        int enabled = SD_EVENT_OFF;
        int r;

        if (m->stopping)
                return;
        if (m->save_timer) {
                (void) sd_event_source_get_enabled(m->save_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return;
                r = sd_event_source_set_time_relative(m->save_timer, SAVE_DELAY_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->save_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(m->event, &m->save_timer, CLOCK_MONOTONIC, SAVE_DELAY_USEC,
                                               50 * USEC_PER_MSEC, on_save_timer, m);
        if (r < 0) {
                log_warning_errno(r, "Failed to schedule a cache save, saving now: %m");
                (void) persist_save_now(m);
        }
}

int persist_load(Manager *m) {
        CacheEntry *e = NULL;
        _cleanup_free_ char *err = NULL;
        size_t n = 0;
        int r;

        r = cache_remove_stale_temp(m->cache_path);
        if (r > 0)
                log_info("Removed %d temporary file(s) of interrupted saves next to %s", r, m->cache_path);
        r = cache_load(m->cache_path, &e, &n, &err);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                log_warning("Ignoring the last-known configuration %s: %s", m->cache_path,
                            err ?: strerror(-r));
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                DcOrigin o = dc_origin_from_string(e[i].origin);
                const char *reason;
                unsigned field;
                Dc *dc;

                /* The cache is ours, but a file can be edited or damaged:
                 * it passes the same gate as the network. */
                if (tid_validate(&e[i].tid, &field, &reason) < 0) {
                        if (m->n_rejected_cache++ == 0)
                                log_warning("%s: ignoring controller entry %zu: %s %s%s", m->cache_path, i,
                                            tid_field_names[field], reason,
                                            n > i + 1 ? " (further ones are counted, not logged)" : "");
                        continue;
                }
                if (o < 0 || manager_find_dc(m, &e[i].tid))
                        continue;
                if (dc_new(&dc, &m->dc_ctx, &e[i].tid, o, NULL) < 0)
                        continue;
                dc_set_dlp(dc, TAKE_PTR(e[i].dlp));
                if (manager_add_dc(m, dc) < 0)
                        dc_free(dc);
        }
        if (m->n_rejected_cache > 1)
                log_warning("%s: %u controller entries failed validation and were ignored", m->cache_path,
                            m->n_rejected_cache);
        log_info("Restored %zu controllers from %s", m->n_dcs, m->cache_path);
        cache_entries_free(e, n);
        /* Parsing built a json-c tree many times the size of what we keep. */
        (void) malloc_trim(0);
        return 0;
}

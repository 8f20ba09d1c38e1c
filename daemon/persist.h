/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The last-known configuration (lib/cache.c's file format) as the daemon
 * uses it: where the file lives, restoring the DC set from it at start, and
 * coalesced saves.  The state (path, timer, count of rejected entries) lives
 * in the Manager, which the bus reports.
 */

typedef struct Manager Manager;

/* $RUNTIME_DIRECTORY/last-known-config.json, else under STAFD_RUNTIME_DIR. */
int persist_path(char **ret);
/* Restore the DCs of the file (validated like the network's); not started. */
int persist_load(Manager *m);
/* Save now, cancelling a scheduled save. */
int persist_save_now(Manager *m);
/* Save within a second; a burst of calls costs one save.  No-op when stopping. */
void persist_schedule_save(Manager *m);

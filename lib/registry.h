/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The host's NVMe-oF ownership registry, shared by the orchestrators of
 * fabrics connections (nbft, stas, discoverd, autoconnect, ...):
 *
 *   /run/nvme/registry/nvmeN/owner    "stas\n"
 *   /run/nvme/registry/nvmeN/seqnum   /sys/kernel/uevent_seqnum at connect
 *   /run/nvme/registry/nvmeN/...      other attributes: left alone
 *
 * No directory or no owner file = unowned.  Directories 0755, files 0644,
 * values end in '\n' (readers strip trailing '\n'/'\r').  An entry appears
 * atomically (built in a hidden temporary directory of the registry root,
 * each file written to a temporary name, fsync'ed and renamed, then the
 * directory renamed into place without replacing anything) and disappears
 * atomically (renamed to a hidden name, then purged).
 *
 * root is "/run/nvme/registry" outside tests.  Hidden names this module
 * makes start with ".stafd-"; registry_cleanup() purges those a crashed
 * stafd left behind (stafd runs once per host).
 */

#include <stdbool.h>
#include <stdint.h>

#define REGISTRY_ROOT "/run/nvme/registry"
#define REGISTRY_OWNER_STAS "stas"
#define REGISTRY_VALUE_MAX 4096

/* "nvme" followed by digits only (no path tricks). */
bool registry_device_valid(const char *device);

/* Read one attribute, trailing '\n'/'\r' stripped.  -ENOENT when the entry or
 * the attribute does not exist, -EINVAL for a bad device name or a value
 * over REGISTRY_VALUE_MAX. */
int registry_read(const char *root, const char *device, const char *attr, char **ret);
/* The owner, or NULL (returning 0) when unowned. */
int registry_get_owner(const char *root, const char *device, char **ret);

/* Make owner the owner of device, with seqnum (written in decimal).
 * - no entry: a new one appears atomically;
 * - an entry without owner: owner is added without replacing anything (an
 *   owner appearing meanwhile wins), seqnum is (re)written, other
 *   attributes are left alone;
 * - an entry of the same owner: seqnum is rewritten;
 * - another owner's entry: untouched, -EBUSY, *ret_owner (if not NULL)
 *   gets a copy of the other owner's name.
 * The registry root (and its parent) are created if missing.  Other
 * failures (read-only /run, permissions) return negative errno. */
int registry_register(const char *root, const char *device, const char *owner, uint64_t seqnum,
                      char **ret_owner);

/* Remove device's entry if owner owns it and, when max_seqnum is not 0, its
 * seqnum is below max_seqnum (a remove uevent older than the registration
 * must not remove the entry of a recycled nvmeN).  When seqnum is not 0,
 * the stored seqnum must equal it instead.  Returns 1 if removed, 0 if not
 * (not ours, no entry, seqnum condition), negative errno on failure. */
int registry_unregister(const char *root, const char *device, const char *owner, uint64_t seqnum,
                        uint64_t max_seqnum);

/* Purge the hidden directories a crashed stafd left in root. */
int registry_cleanup(const char *root);

/* Read a decimal counter such as /sys/kernel/uevent_seqnum. */
int registry_read_seqnum(const char *path, uint64_t *ret);

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * sysfs: the one way stafd reads the kernel's NVMe controllers
 * (/sys/class/nvme/nvmeN/...), and the adoption matcher built on it.
 *
 * Every read goes through sysfs_attr(), under a root that tests move to a
 * fake tree (sysfs_set_root).  sd-device is not used here for that reason:
 * libsystemd cannot be pointed at another sysfs.  (uevents still arrive as
 * sd_device objects; udev.c reads their properties.)
 *
 * Blocking: an attribute of a controller the kernel is creating or tearing
 * down can block for as long as that takes, so the matcher and the identity
 * reads run on fabric workers; only the "state" attribute of a DC's own
 * device is read on the loop.
 *
 * Adoption index: the controllers are read ONCE per pass into an index
 * keyed by (transport, address, trsvcid, host NQN); lookups are hash
 * lookups.  A pass ends when sysfs_index_invalidate() is called (a uevent
 * added or removed a controller) or after SYSFS_INDEX_MAX_AGE_USEC.  The
 * index is shared by all threads (its own mutex).
 *
 * Address equality: both sides go through lib's ip_canonical (IPv4-mapped
 * IPv6 = IPv4, IPv6 compressed, case-folded).  The kernel prints the traddr
 * it was given; a "%scope" missing on either side matches any scope (the
 * kernel drops it for a connect made with host_iface), a scope on both
 * sides must be equal.  Non-IP addresses (fc) compare case-insensitively.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tid.h"

#define SYSFS_INDEX_MAX_AGE_USEC (1000 * 1000ULL)

/* What we know about a connected controller (sysfs + Identify). */
typedef struct FabricCtrlInfo {
        char device[32]; /* "nvme3" */
        char dctype[16]; /* "ddc", "cdc", "none" or "" */
        char cntrltype[16]; /* "discovery", "io", "admin" or "" */
        char model[64];
        char serial[32];
        char hostnqn[256];
        char hostid[64];
        bool adopted; /* connect found an existing kernel controller */
} FabricCtrlInfo;

/* "/sys" unless changed; NULL restores "/sys".  Invalidates the index. */
int sysfs_set_root(const char *path);
const char *sysfs_root(void);

/* src without leading and trailing white space, into dst (truncated to
 * size): how attribute values are read (also used for Identify strings). */
void sysfs_trim_copy(char *dst, size_t size, const char *src);

/* "nvme" + digits, short enough for FabricCtrlInfo.device. */
bool sysfs_device_name_valid(const char *device);

/* /sys/class/nvme/<device>/<attr>, whitespace-trimmed, into buf ("" on
 * error).  Returns 0 or -errno (-EINVAL for a bad device name). */
int sysfs_attr(const char *device, const char *attr, char *buf, size_t size);

/* Fill ret from {model,serial,cntrltype,dctype,hostnqn,hostid} (a missing
 * attribute stays "").  Returns 0, -ENOENT if the device does not exist,
 * -EINVAL for a bad name. */
int sysfs_read_info(const char *device, FabricCtrlInfo *ret);

/* Spec section 5 step 1: a kernel discovery controller to adopt for tid.
 * A candidate must be a discovery controller (cntrltype "discovery", or the
 * well-known subsysnqn, or no cntrltype and no namespaces), have the same
 * transport, trsvcid and host NQN (tid's, else hostnqn), the same traddr as
 * an address (scope rule above), a subsysnqn equal to the TID's (either side
 * the well-known NQN also matches), and a state other than "deleting"; for
 * tcp, a host-traddr in the TID must equal host_traddr= (or src_addr=) of
 * "address", a host-iface must equal host_iface= (or the interface owning
 * src_addr=).  Devices for which skip(device, ud) is true are not considered
 * (owned by another DC).  A "live" match wins, then the lowest number.
 * Returns 1 and the device name, 0 if none, negative errno on error. */
int sysfs_find_existing(const Tid *tid, const char *hostnqn, bool (*skip)(const char *device, void *ud),
                        void *ud, char *ret_device, size_t size);

/* Value of key in a "k=v,k=v" address attribute, trimmed, into buf ("" if
 * absent; truncated to size). */
void sysfs_address_get(const char *address, const char *key, char *buf, size_t size);
/* Address equality with the scope rule above (symmetric). */
bool sysfs_addr_equal(const char *a, const char *b);

/* The kernel's set of controllers changed: the next lookup re-reads. */
void sysfs_index_invalidate(void);
/* Number of index builds so far (tests, debug). */
uint64_t sysfs_index_builds(void);

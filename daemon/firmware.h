/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The discovery controllers named by the firmware's NVMe Boot Firmware
 * Tables (lib/nbft), read once at start (the tables do not change while
 * the system runs).  The other orchestrators of the host (registry,
 * exclusion list) are daemon/coop's.  Each becomes a controller= entry:
 * host-iface = the interface carrying the HFI's MAC address, host-nqn = the
 * table's host NQN when the table says it is configured.
 */

#include <stddef.h>

#include "conf.h"
#include "tid.h"

#define FIRMWARE_NBFT_DIR "/sys/firmware/acpi/tables"
#define FIRMWARE_NET_DIR "/sys/class/net"

typedef struct FirmwareDc {
        ConfController conf; /* as a controller= line (line 0) */
        Tid tid; /* normalised, for matching DCs to it */
        char *file; /* the table file it came from */
} FirmwareDc;

typedef struct FirmwareHost {
        char *hostnqn; /* a table's configured host NQN */
        char *hostid; /* and its host ID */
} FirmwareHost;

typedef struct Firmware {
        FirmwareDc *nbft;
        size_t n_nbft;
        FirmwareHost *hosts;
        size_t n_hosts;
} Firmware;

/* Read every NBFT* regular file of tables_dir (NULL or "": FIRMWARE_NBFT_DIR) and
 * find the HFIs' interfaces under net_dir (NULL or "": FIRMWARE_NET_DIR).  Problems with a
 * table are logged and the table skipped; only -ENOMEM fails.  hostnqn is
 * the system's (the default of the normalised TIDs). */
int firmware_new(Firmware **ret, const char *tables_dir, const char *net_dir, const char *hostnqn);
Firmware *firmware_free(Firmware *c);

/* The table file a DC was found in, or NULL (c may be NULL).  Compared as
 * TIDs, host-iface only when both give one. */
const char *firmware_nbft_source(const Firmware *c, const Tid *tid);
/* The host ID a table pairs with this configured host NQN, or NULL: the
 * kernel accepts one host ID per host NQN, so connections made with a
 * table's host NQN (its DCs and their referrals) use the table's ID. */
const char *firmware_hostid(const Firmware *c, const char *hostnqn);

static inline void firmware_freep(Firmware **c) {
        if (*c)
                *c = firmware_free(*c);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Cooperation with the other orchestrators of the host's NVMe-oF
 * connections.  For now: the discovery controllers named by the firmware's
 * NVMe Boot Firmware Tables (lib/nbft), read once at start (the tables do
 * not change while the system runs).  Each becomes a controller= entry:
 * host-iface = the interface carrying the HFI's MAC address, host-nqn = the
 * table's host NQN when the table says it is configured.
 */

#include <stddef.h>

#include "conf.h"
#include "tid.h"

#define COOP_NBFT_DIR "/sys/firmware/acpi/tables"
#define COOP_NET_DIR "/sys/class/net"

typedef struct CoopNbftDc {
        ConfController conf; /* as a controller= line (line 0) */
        Tid tid; /* normalised, for matching DCs to it */
        char *file; /* the table file it came from */
} CoopNbftDc;

typedef struct CoopHost {
        char *hostnqn; /* a table's configured host NQN */
        char *hostid; /* and its host ID */
} CoopHost;

typedef struct Coop {
        CoopNbftDc *nbft;
        size_t n_nbft;
        CoopHost *hosts;
        size_t n_hosts;
} Coop;

/* Read every NBFT* regular file of tables_dir (NULL or "": COOP_NBFT_DIR) and
 * find the HFIs' interfaces under net_dir (NULL or "": COOP_NET_DIR).  Problems with a
 * table are logged and the table skipped; only -ENOMEM fails.  hostnqn is
 * the system's (the default of the normalised TIDs). */
int coop_new(Coop **ret, const char *tables_dir, const char *net_dir, const char *hostnqn);
Coop *coop_free(Coop *c);

/* The table file a DC was found in, or NULL (c may be NULL).  Compared as
 * TIDs, host-iface only when both give one. */
const char *coop_nbft_source(const Coop *c, const Tid *tid);
/* The host ID a table pairs with this configured host NQN, or NULL: the
 * kernel accepts one host ID per host NQN, so connections made with a
 * table's host NQN (its DCs and their referrals) use the table's ID. */
const char *coop_hostid(const Coop *c, const char *hostnqn);

static inline void coop_freep(Coop **c) {
        if (*c)
                *c = coop_free(*c);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The NVMe Boot Firmware Table (ACPI "NBFT", NVMe Boot Specification 1.0):
 * one table buffer in, the discovery controllers it names out.  Pure: no
 * I/O, no logging; every offset and length is checked against the table.
 *
 * Layout facts used (little-endian; a heap object is {u32 offset from the
 * table start, u16 length} and must lie inside the heap):
 *   header      64 bytes: signature @0, length u32 @4, major revision @8
 *               (the ACPI header's revision byte), checksum @9, heap
 *               offset u32 @36, heap length u32 @40
 *   control     @64: structure id 1 @0, length u16 @4, flags @6 (bit0
 *               valid), host descriptor {u32 offset @8, u16 length @12},
 *               lists {u32 offset, u16 element length, u8 version, u8
 *               count}: HFI @16, SSNS @24, security @32, discovery @40
 *   host        id 2 @0, flags @1 (bit0 valid, bit1 host ID configured,
 *               bit2 host NQN configured), host ID 16 bytes @2, host NQN
 *               heap object @18
 *   HFI         id 3 @0, index @1, flags @2 (bit0 valid), transport @3
 *               (3 = tcp), transport info heap object @16 -> TCP info
 *               record: id 7 @0, transport @2, flags @6, MAC @11
 *   discovery   id 6 @0, flags @1 (bit0 valid), index @2, HFI index @3,
 *               security index @4, DC address heap object @6 (a URI
 *               "nvme+tcp://addr:port/", IPv6 in brackets), DC NQN heap
 *               object @12 (empty = the well-known discovery NQN)
 * Indices are 1-based and resolved through each descriptor's own index
 * field; element lengths larger than the structures above are skipped.
 *
 * Errors in the table as a whole (size, signature, revision, checksum,
 * control descriptor, list bounds) reject it.  A discovery descriptor that
 * is unusable on its own (bad URI, HFI index that resolves to no valid HFI,
 * unsupported transport, bad string: an address with characters no host
 * name or IP address has, an NQN not starting with "nqn." or holding ',',
 * '=' or a blank) is skipped with a message; descriptors
 * whose valid flag is clear are skipped silently (the spec calls them
 * reserved).  The security profile is not used: stafd has no TLS.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBFT_HEADER_SIZE 64
/* Far beyond any real table (a few KiB), small enough to read at once. */
#define NBFT_MAX_SIZE (1024 * 1024)

typedef struct NbftDiscovery {
        unsigned index; /* the descriptor's own index */
        unsigned hfi_index;
        char *transport; /* "tcp" */
        char *traddr; /* IPv6 without brackets; "%25" zone -> "%" */
        char *trsvcid; /* NULL when the URI has no port */
        char *subsysnqn; /* DISC_NQN when the table gives none */
        char *host_nqn; /* the table's host NQN when "configured", else NULL */
        uint8_t mac[6]; /* the HFI's MAC address */
} NbftDiscovery;

typedef struct Nbft {
        char *host_nqn; /* NULL when the table has none */
        bool host_nqn_configured;
        char *host_id; /* "xxxxxxxx-xxxx-..." or NULL when all zero */
        bool host_id_configured;
        NbftDiscovery *dcs;
        size_t n_dcs;
        char **messages; /* descriptors skipped, and why (NULL-terminated) */
} Nbft;

/* Parse one table.  Returns 0, or a negative errno with *ret_error set to a
 * malloc'd human-readable reason (when not NULL): -EBADMSG for a malformed
 * table, -EPROTONOSUPPORT for a major revision other than 1, -ENOMEM. */
int nbft_parse(const void *buf, size_t size, Nbft **ret, char **ret_error);
Nbft *nbft_free(Nbft *n);

/* "52:54:00:12:34:56" into buf (at least 18 bytes). */
void nbft_format_mac(const uint8_t mac[6], char *buf, size_t size);

static inline void nbft_freep(Nbft **n) {
        if (*n)
                *n = nbft_free(*n);
}

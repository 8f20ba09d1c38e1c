/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Discovery Log Page (log id 0x70) -> ordered string entries.
 * Each entry is one allocation holding all of its values (memory matters:
 * 10 000 cached entries must fit in a few MB).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

typedef enum DlpKey {
        DLPE_TRTYPE,
        DLPE_ADRFAM,
        DLPE_TRADDR,
        DLPE_TRSVCID,
        DLPE_SUBNQN,
        DLPE_SUBTYPE,
        DLPE_TREQ,
        DLPE_PORTID,
        DLPE_CNTLID,
        DLPE_ASQSZ,
        DLPE_EFLAGS,
        _DLPE_N_BASE,
        /* Optional extras (present only when meaningful, e.g. tcp sectype,
         * rdma qptype/prtype/cms/pkey). Value "" means absent. */
        DLPE_SECTYPE = _DLPE_N_BASE,
        DLPE_RDMA_QPTYPE,
        DLPE_RDMA_PRTYPE,
        DLPE_RDMA_CMS,
        DLPE_RDMA_PKEY,
        _DLPE_N_KEYS,
} DlpKey;

typedef struct DlpEntry DlpEntry; /* opaque, immutable once built */

typedef struct Dlp {
        uint64_t genctr;
        size_t n;
        DlpEntry **entries;
        size_t n_allocated; /* capacity of entries[] (internal) */
        /* The referral entries among entries[], in log order (maintained by
         * dlp_append/dlp_decode; do not add entries any other way). */
        DlpEntry **referrals;
        size_t n_referrals;
        size_t n_referrals_allocated;
} Dlp;

/* Wire layout sizes (NVMe Base spec, Get Log Page 0x70). */
#define DLP_HEADER_SIZE 1024U
#define DLP_ENTRY_SIZE 1024U

/* "trtype", "adrfam", ... ; extras: "sectype" (tcp: none, tls1.2, tls1.3 or
 * the number), "rdma_qptype" (connected, datagram), "rdma_prtype" (not
 * specified, infiniband, roce, roce-v2, iwarp), "rdma_cms" (rdma-cm),
 * "rdma_pkey" (decimal).  Extras are filled for tcp resp. rdma entries only.
 *
 * Value spellings follow libnvme's Python binding, which nvme-stas uses:
 * trtype unspecified(0) rdma fc tcp loop, else decimal; adrfam pci ipv4 ipv6
 * infiniband fc, else decimal (254 "loop" is not named there: decimal);
 * subtype referral(1) nvme(2) discovery(3), else decimal; treq exactly
 * 0 "not specified", 1 "required", 2 "not required", 4 "disable sqflow",
 * any other value (e.g. 5 = required + disable sqflow) in decimal. */
const char *dlp_key_name(DlpKey k);
/* Lookup by name, -EINVAL if unknown. */
int dlp_key_from_name(const char *name);

/* Value of key k; never NULL ("" when absent). */
const char *dlpe_get(const DlpEntry *e, DlpKey k);
bool dlpe_is_referral(const DlpEntry *e);
bool dlpe_equal(const DlpEntry *a, const DlpEntry *b);
DlpEntry *dlpe_free(DlpEntry *e);
/* Build from values (vals[k] may be NULL = ""); used by the cache loader.
 * -E2BIG if the values together exceed 64 KiB. */
int dlpe_new(DlpEntry **ret, const char *const vals[_DLPE_N_KEYS]);
/* Bytes requested from malloc for e (header + packed strings; malloc's own
 * overhead, ~8-16 B, not included). */
size_t dlpe_mem_size(const DlpEntry *e);

/* Decode a raw log: buf holds the 1024-byte header followed by entries
 * (1024 bytes each, struct nvmf_disc_log_entry).  Only whole entries that fit
 * in len are decoded (numrec from the network is not trusted).  Fixed-size
 * string fields may lack a NUL or hold garbage: never read past them, strip
 * trailing spaces/NULs, replace non-printable bytes.  Entries whose traddr is
 * empty, "0.0.0.0" or "::" are dropped (*ret_dropped counts them, may be NULL).
 * Returns 0 or -ENOMEM / -EBADMSG (len < header). */
int dlp_decode(const void *buf, size_t len, Dlp **ret, size_t *ret_dropped);

Dlp *dlp_new_empty(void);
Dlp *dlp_free(Dlp *d);
int dlp_append(Dlp *d, DlpEntry *e); /* takes e on success */
/* Same entries in the same order (genctr is not compared). */
bool dlp_equal(const Dlp *a, const Dlp *b);
/* Set of referral entries changed between a and b (either may be NULL = no
 * referrals)?  Order-insensitive; a referral is identified by trtype, adrfam,
 * traddr, trsvcid and subnqn (the fields that make a candidate DC).  A set
 * difference through a hash set: linear in the size of both logs. */
bool dlp_referrals_differ(const Dlp *a, const Dlp *b);

/* Read len bytes of log page 0x70 at offset into buf, with Retain
 * Asynchronous Event = rae.  Returns 0 or a negative errno (a reader that
 * got an NVMe status returns e.g. -EREMOTEIO and keeps the status itself:
 * one int never carries both error spaces). */
typedef int (*DlpReadFn)(void *ud, uint64_t offset, void *buf, size_t len, bool rae);

#define DLP_FETCH_CHUNK (64U * 1024U)

/* Fetch a whole, consistent log: header (rae=true), the entries in chunks of
 * DLP_FETCH_CHUNK (rae=true), then the header again with rae=false.  If genctr
 * or numrec changed meanwhile, start over, at most max_retries more times,
 * then give up with -EAGAIN.  Every attempt ends with the rae=false header
 * read, so RAE is never left set (whether it succeeds or gives up), and the
 * DC keeps sending AENs; when a read with rae=true fails part-way, one more
 * header read with rae=false is made (its result ignored) before returning.
 * numrec is not trusted: at most max_entries entries are read (allocation is
 * bounded by max_entries * 1 KiB); the excess is counted in *ret_dropped
 * together with entries dropped by dlp_decode (the log is truncated, not
 * refused).  *ret_retries (may be NULL) = number of restarts.
 * Returns 0, -ENOMEM, -EAGAIN, or the reader's (first) error unchanged. */
int dlp_fetch(DlpReadFn read, void *ud, unsigned max_retries, size_t max_entries, Dlp **ret,
              unsigned *ret_retries, size_t *ret_dropped);

DEFINE_TRIVIAL_CLEANUP_FUNC(Dlp *, dlp_free);

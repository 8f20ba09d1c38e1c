/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Discovery Log Page decoding and fetching.
 *
 * Wire layout of one 1024-byte entry (struct nvmf_disc_log_entry):
 *   0 trtype u8, 1 adrfam u8, 2 subtype u8, 3 treq u8, 4 portid le16,
 *   6 cntlid le16, 8 asqsz le16, 10 eflags le16, 32 trsvcid[32],
 *   256 subnqn[256], 512 traddr[256], 768 tsas[256]
 *   (tsas.tcp.sectype @768; tsas.rdma qptype @768, prtype @769, cms @770,
 *   pkey le16 @776).
 * Header: 0 genctr le64, 8 numrec le64, 16 recfmt le16, entries at 1024.
 *
 * A DlpEntry is one allocation: an offset table into a packed block of
 * NUL-terminated strings; offset 0 is the shared empty string.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp.h"
#include "macro.h"
#include "tid.h"

struct DlpEntry {
        uint16_t off[_DLPE_N_KEYS];
        uint16_t size; /* bytes in data[] */
        char data[];
};

#define DLPE_DATA_MAX UINT16_MAX

enum {
        OFF_TRTYPE = 0,
        OFF_ADRFAM = 1,
        OFF_SUBTYPE = 2,
        OFF_TREQ = 3,
        OFF_PORTID = 4,
        OFF_CNTLID = 6,
        OFF_ASQSZ = 8,
        OFF_EFLAGS = 10,
        OFF_TRSVCID = 32,
        SIZE_TRSVCID = 32,
        OFF_SUBNQN = 256,
        SIZE_SUBNQN = 256,
        OFF_TRADDR = 512,
        SIZE_TRADDR = 256,
        OFF_TSAS = 768,
};

static const char *const key_names[_DLPE_N_KEYS] = {
        [DLPE_TRTYPE] = "trtype",
        [DLPE_ADRFAM] = "adrfam",
        [DLPE_TRADDR] = "traddr",
        [DLPE_TRSVCID] = "trsvcid",
        [DLPE_SUBNQN] = "subnqn",
        [DLPE_SUBTYPE] = "subtype",
        [DLPE_TREQ] = "treq",
        [DLPE_PORTID] = "portid",
        [DLPE_CNTLID] = "cntlid",
        [DLPE_ASQSZ] = "asqsz",
        [DLPE_EFLAGS] = "eflags",
        [DLPE_SECTYPE] = "sectype",
        [DLPE_RDMA_QPTYPE] = "rdma_qptype",
        [DLPE_RDMA_PRTYPE] = "rdma_prtype",
        [DLPE_RDMA_CMS] = "rdma_cms",
        [DLPE_RDMA_PKEY] = "rdma_pkey",
};

const char *dlp_key_name(DlpKey k) {
        if ((unsigned) k >= _DLPE_N_KEYS)
                return NULL;
        return key_names[k];
}

int dlp_key_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                if (streq(key_names[k], name))
                        return (int) k;
        return -EINVAL;
}

const char *dlpe_get(const DlpEntry *e, DlpKey k) {
        if (!e || (unsigned) k >= _DLPE_N_KEYS)
                return "";
        return e->data + e->off[k];
}

bool dlpe_is_referral(const DlpEntry *e) {
        return streq(dlpe_get(e, DLPE_SUBTYPE), "referral");
}

bool dlpe_equal(const DlpEntry *a, const DlpEntry *b) {
        if (a == b)
                return true;
        if (!a || !b)
                return false;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                if (!streq(dlpe_get(a, k), dlpe_get(b, k)))
                        return false;
        return true;
}

DlpEntry *dlpe_free(DlpEntry *e) {
        free(e);
        return NULL;
}

size_t dlpe_mem_size(const DlpEntry *e) {
        return e ? sizeof(*e) + e->size : 0;
}

/* Pack n-length values (lens[k]; vals[k] need not be NUL-terminated). */
static int dlpe_pack(DlpEntry **ret, const char *const vals[_DLPE_N_KEYS], const size_t lens[_DLPE_N_KEYS]) {
        size_t total = 1;
        DlpEntry *e;
        char *p;

        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                if (lens[k] > 0)
                        total += lens[k] + 1;
        if (total > DLPE_DATA_MAX)
                return -E2BIG;

        e = malloc(sizeof(*e) + total);
        if (!e)
                return -ENOMEM;
        e->size = (uint16_t) total;
        e->data[0] = 0;
        p = e->data + 1;
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                if (lens[k] == 0) {
                        e->off[k] = 0;
                        continue;
                }
                e->off[k] = (uint16_t) (p - e->data);
                memcpy(p, vals[k], lens[k]);
                p[lens[k]] = 0;
                p += lens[k] + 1;
        }
        *ret = e;
        return 0;
}

int dlpe_new(DlpEntry **ret, const char *const vals[_DLPE_N_KEYS]) {
        size_t lens[_DLPE_N_KEYS];

        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                lens[k] = vals[k] ? strlen(vals[k]) : 0;
        return dlpe_pack(ret, vals, lens);
}

/* ---- decoding ---- */

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | (p[1] << 8));
}

static uint64_t le64(const uint8_t *p) {
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

/* Copy a fixed-size field: up to the first NUL or size bytes, trailing
 * spaces dropped, bytes outside printable ASCII replaced by '?'.  out must
 * hold size + 1 bytes.  Returns the length. */
static size_t field_str(const uint8_t *p, size_t size, char *out) {
        size_t n = 0;

        while (n < size && p[n])
                n++;
        while (n > 0 && p[n - 1] == ' ')
                n--;
        for (size_t i = 0; i < n; i++)
                out[i] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char) p[i] : '?';
        out[n] = 0;
        return n;
}

/* Names of the entry's enumerations (the Discovery Log Page Entry of the
 * NVMe Base spec); a value without one is shown as its number. */
static const char *const trtype_names[] = {
        [0] = "unspecified", [1] = "rdma", [2] = "fc", [3] = "tcp", [254] = "loop",
};
static const char *const adrfam_names[] = {
        [0] = "pci", [1] = "ipv4", [2] = "ipv6", [3] = "infiniband", [4] = "fc",
};
static const char *const subtype_names[] = {
        [1] = "referral",
        [2] = "nvme",
        [3] = "discovery",
};
static const char *const treq_names[] = {
        [0] = "not specified",
        [1] = "required",
        [2] = "not required",
        [4] = "disable sqflow",
};
static const char *const sectype_names[] = {
        [0] = "none",
        [1] = "tls1.2",
        [2] = "tls1.3",
};
static const char *const qptype_names[] = {
        [1] = "connected",
        [2] = "datagram",
};
static const char *const prtype_names[] = {
        [1] = "not specified", [2] = "infiniband", [3] = "roce", [4] = "roce-v2", [5] = "iwarp",
};
static const char *const cms_names[] = {
        [1] = "rdma-cm",
};

static const char *name_or_num(const char *const *names, size_t n, unsigned v, char *buf, size_t size) {
        if (v < n && names[v])
                return names[v];
        (void) snprintf(buf, size, "%u", v);
        return buf;
}

static bool traddr_is_void(const char *traddr) {
        char buf[64];

        if (isempty(traddr))
                return true;
        if (ip_canonical(traddr, buf, sizeof(buf)) < 0)
                return false;
        return streq(buf, "0.0.0.0") || streq(buf, "::");
}

/* Decode one entry.  Returns 0 and *ret = NULL when the entry is dropped. */
static int decode_entry(const uint8_t *p, DlpEntry **ret) {
        char num[_DLPE_N_KEYS][8];
        char trsvcid[SIZE_TRSVCID + 1], subnqn[SIZE_SUBNQN + 1], traddr[SIZE_TRADDR + 1];
        const char *vals[_DLPE_N_KEYS] = {};
        size_t lens[_DLPE_N_KEYS];

        lens[DLPE_TRADDR] = field_str(p + OFF_TRADDR, SIZE_TRADDR, traddr);
        if (traddr_is_void(traddr)) {
                *ret = NULL;
                return 0;
        }
        vals[DLPE_TRADDR] = traddr;
        lens[DLPE_TRSVCID] = field_str(p + OFF_TRSVCID, SIZE_TRSVCID, trsvcid);
        vals[DLPE_TRSVCID] = trsvcid;
        lens[DLPE_SUBNQN] = field_str(p + OFF_SUBNQN, SIZE_SUBNQN, subnqn);
        vals[DLPE_SUBNQN] = subnqn;

#define NUM(k, v) vals[k] = name_or_num(NULL, 0, v, num[k], sizeof(num[k]))
#define NAMED(k, names, v) vals[k] = name_or_num(names, ELEMENTSOF(names), v, num[k], sizeof(num[k]))
        NAMED(DLPE_TRTYPE, trtype_names, p[OFF_TRTYPE]);
        NAMED(DLPE_ADRFAM, adrfam_names, p[OFF_ADRFAM]);
        NAMED(DLPE_SUBTYPE, subtype_names, p[OFF_SUBTYPE]);
        NAMED(DLPE_TREQ, treq_names, p[OFF_TREQ]);
        NUM(DLPE_PORTID, le16(p + OFF_PORTID));
        NUM(DLPE_CNTLID, le16(p + OFF_CNTLID));
        NUM(DLPE_ASQSZ, le16(p + OFF_ASQSZ));
        NUM(DLPE_EFLAGS, le16(p + OFF_EFLAGS));
        if (p[OFF_TRTYPE] == 3) {
                NAMED(DLPE_SECTYPE, sectype_names, p[OFF_TSAS]);
        } else if (p[OFF_TRTYPE] == 1) {
                NAMED(DLPE_RDMA_QPTYPE, qptype_names, p[OFF_TSAS]);
                NAMED(DLPE_RDMA_PRTYPE, prtype_names, p[OFF_TSAS + 1]);
                NAMED(DLPE_RDMA_CMS, cms_names, p[OFF_TSAS + 2]);
                NUM(DLPE_RDMA_PKEY, le16(p + OFF_TSAS + 8));
        }
#undef NAMED
#undef NUM
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                if (k != DLPE_TRADDR && k != DLPE_TRSVCID && k != DLPE_SUBNQN)
                        lens[k] = vals[k] ? strlen(vals[k]) : 0;

        return dlpe_pack(ret, vals, lens);
}

Dlp *dlp_new_empty(void) {
        return calloc(1, sizeof(Dlp));
}

Dlp *dlp_free(Dlp *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n; i++)
                dlpe_free(d->entries[i]);
        free(d->entries);
        free(d->referrals);
        free(d);
        return NULL;
}

static int dlp_reserve(Dlp *d, size_t n) {
        DlpEntry **t;

        if (n <= d->n_allocated)
                return 0;
        if (n > SIZE_MAX / sizeof(DlpEntry *))
                return -ENOMEM;
        t = realloc(d->entries, n * sizeof(DlpEntry *));
        if (!t)
                return -ENOMEM;
        d->entries = t;
        d->n_allocated = n;
        return 0;
}

int dlp_append(Dlp *d, DlpEntry *e) {
        int r;

        if (!d || !e)
                return -EINVAL;
        if (d->n >= d->n_allocated) {
                r = dlp_reserve(d, d->n_allocated ? d->n_allocated * 2 : 8);
                if (r < 0)
                        return r;
        }
        if (dlpe_is_referral(e)) {
                if (d->n_referrals >= d->n_referrals_allocated) {
                        size_t k = d->n_referrals_allocated ? d->n_referrals_allocated * 2 : 4;
                        DlpEntry **t = reallocarray(d->referrals, k, sizeof(DlpEntry *));

                        if (!t)
                                return -ENOMEM;
                        d->referrals = t;
                        d->n_referrals_allocated = k;
                }
                d->referrals[d->n_referrals++] = e;
        }
        d->entries[d->n++] = e;
        return 0;
}

int dlp_decode(const void *buf, size_t len, Dlp **ret, size_t *ret_dropped) {
        const uint8_t *p = buf;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        uint64_t numrec;
        size_t n, dropped = 0;
        int r;

        if (!buf || len < DLP_HEADER_SIZE)
                return -EBADMSG;

        numrec = le64(p + 8);
        n = (len - DLP_HEADER_SIZE) / DLP_ENTRY_SIZE;
        if (numrec < n)
                n = (size_t) numrec;

        d = dlp_new_empty();
        if (!d)
                return -ENOMEM;
        d->genctr = le64(p);
        r = dlp_reserve(d, n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n; i++) {
                DlpEntry *e;

                r = decode_entry(p + DLP_HEADER_SIZE + i * DLP_ENTRY_SIZE, &e);
                if (r < 0)
                        return r;
                if (!e) {
                        dropped++;
                        continue;
                }
                r = dlp_append(d, e); /* entries[] reserved above */
                if (r < 0) {
                        dlpe_free(e);
                        return r;
                }
        }

        if (ret_dropped)
                *ret_dropped = dropped;
        *ret = TAKE_PTR(d);
        return 0;
}

bool dlp_equal(const Dlp *a, const Dlp *b) {
        size_t na = a ? a->n : 0, nb = b ? b->n : 0;

        if (na != nb)
                return false;
        for (size_t i = 0; i < na; i++)
                if (!dlpe_equal(a->entries[i], b->entries[i]))
                        return false;
        return true;
}

static const DlpKey referral_keys[] = { DLPE_TRTYPE, DLPE_ADRFAM, DLPE_TRADDR, DLPE_TRSVCID, DLPE_SUBNQN };

static bool referral_same(const DlpEntry *a, const DlpEntry *b) {
        for (size_t i = 0; i < ELEMENTSOF(referral_keys); i++)
                if (!streq(dlpe_get(a, referral_keys[i]), dlpe_get(b, referral_keys[i])))
                        return false;
        return true;
}

static uint64_t referral_hash(const DlpEntry *e) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (size_t i = 0; i < ELEMENTSOF(referral_keys); i++) {
                for (const char *p = dlpe_get(e, referral_keys[i]); *p; p++)
                        h = (h ^ (unsigned char) *p) * 0x100000001b3ULL;
                h = (h ^ 0xff) * 0x100000001b3ULL;
        }
        return h;
}

typedef struct RefSlot {
        const DlpEntry *e;
        uint64_t hash;
        bool seen;
} RefSlot;

static size_t count_referrals(const Dlp *d) {
        return d ? d->n_referrals : 0;
}

/* The slot of e in the open-addressed table t (cap a power of two): its
 * own, or the empty one where it would go. */
static size_t ref_slot_find(const RefSlot *t, size_t cap, const DlpEntry *e, uint64_t h) {
        size_t k;

        for (k = h & (cap - 1); t[k].e; k = (k + 1) & (cap - 1))
                if (t[k].hash == h && referral_same(t[k].e, e))
                        break;
        return k;
}

/* Set difference through a hash set of a's referrals: linear in both logs.
 * Falls back to "differ" (a harmless extra reconciliation) if memory runs
 * out. */
bool dlp_referrals_differ(const Dlp *a, const Dlp *b) {
        size_t na = count_referrals(a), nb = count_referrals(b), cap = 16, distinct = 0, seen = 0;
        _cleanup_free_ RefSlot *t = NULL;

        if (na == 0 || nb == 0)
                return (na == 0) != (nb == 0);
        while (cap < 2 * na)
                cap *= 2;
        t = calloc(cap, sizeof(RefSlot));
        if (!t)
                return true;

        for (size_t i = 0; i < a->n_referrals; i++) {
                const DlpEntry *e = a->referrals[i];
                uint64_t h = referral_hash(e);
                size_t k = ref_slot_find(t, cap, e, h);

                if (!t[k].e) {
                        t[k] = (RefSlot){ e, h, false };
                        distinct++;
                }
        }
        for (size_t i = 0; i < b->n_referrals; i++) {
                const DlpEntry *e = b->referrals[i];
                size_t k = ref_slot_find(t, cap, e, referral_hash(e));

                if (!t[k].e)
                        return true; /* in b, not in a */
                if (!t[k].seen) {
                        t[k].seen = true;
                        seen++;
                }
        }
        return seen != distinct; /* some of a's are not in b */
}

/* ---- fetching ---- */

/* A read with RAE set failed part-way: the log must not be left with RAE
 * set (the DC would send no more AENs), so end with one rae=false read of
 * the header, whatever it returns.  Returns the first error. */
static int fetch_fail(DlpReadFn read, void *ud, uint8_t hdr[DLP_HEADER_SIZE], int error) {
        (void) read(ud, 0, hdr, DLP_HEADER_SIZE, false);
        return error;
}

int dlp_fetch(DlpReadFn read, void *ud, unsigned max_retries, size_t max_entries, Dlp **ret,
              unsigned *ret_retries, size_t *ret_dropped) {
        uint8_t hdr[DLP_HEADER_SIZE], hdr2[DLP_HEADER_SIZE];
        const size_t cap = (SIZE_MAX - DLP_HEADER_SIZE) / DLP_ENTRY_SIZE;
        int r;

        if (!read || !ret)
                return -EINVAL;
        if (max_entries > cap)
                max_entries = cap;

        for (unsigned attempt = 0; attempt <= max_retries; attempt++) {
                _cleanup_free_ uint8_t *buf = NULL;
                uint64_t genctr, numrec;
                size_t n, len, truncated = 0, dropped = 0;
                Dlp *d;

                r = read(ud, 0, hdr, sizeof(hdr), true);
                if (r != 0)
                        return fetch_fail(read, ud, hdr, r);
                genctr = le64(hdr);
                numrec = le64(hdr + 8);
                n = numrec > max_entries ? max_entries : (size_t) numrec;
                if (numrec > n) {
                        uint64_t excess = numrec - n;

                        truncated = excess > (uint64_t) SIZE_MAX ? SIZE_MAX : (size_t) excess;
                }
                len = DLP_HEADER_SIZE + n * DLP_ENTRY_SIZE;

                buf = malloc(len);
                if (!buf)
                        return -ENOMEM;
                memcpy(buf, hdr, sizeof(hdr));
                for (size_t off = DLP_HEADER_SIZE; off < len;) {
                        size_t chunk = len - off > DLP_FETCH_CHUNK ? DLP_FETCH_CHUNK : len - off;

                        r = read(ud, off, buf + off, chunk, true);
                        if (r != 0)
                                return fetch_fail(read, ud, hdr2, r);
                        off += chunk;
                }

                /* Final read of this attempt: clears RAE. */
                r = read(ud, 0, hdr2, sizeof(hdr2), false);
                if (r != 0)
                        return r;
                if (le64(hdr2) != genctr || le64(hdr2 + 8) != numrec)
                        continue;

                r = dlp_decode(buf, len, &d, &dropped);
                if (r < 0)
                        return r;
                if (ret_retries)
                        *ret_retries = attempt;
                if (ret_dropped)
                        *ret_dropped = dropped + truncated;
                *ret = d;
                return 0;
        }

        if (ret_retries)
                *ret_retries = max_retries;
        return -EAGAIN;
}

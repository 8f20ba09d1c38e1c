/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp-build.h"
#include "dlp.h"
#include "macro.h"

#define SUBNQN "nqn.1988-11.com.dell:SFSS:2:20220208134025e8"

static const RawEntry normal[] = {
        { .trtype = 3, .adrfam = 1, .subtype = 2, .treq = 0, .portid = 1, .cntlid = 0xffff, .asqsz = 32,
          .eflags = 0, .trsvcid = "4420", .subnqn = SUBNQN, .traddr = "192.168.1.20" },
        { .trtype = 3, .adrfam = 2, .subtype = 1, .treq = 2, .portid = 2, .cntlid = 65534, .asqsz = 128,
          .eflags = 3, .trsvcid = "8009  ", .subnqn = "nqn.2014-08.org.nvmexpress.discovery",
          .traddr = "fe80::1   ", .tsas0 = 2 },
        { .trtype = 1, .adrfam = 3, .subtype = 3, .treq = 4, .portid = 3, .trsvcid = "4420",
          .subnqn = "nqn.x", .traddr = "10.0.0.1", .tsas0 = 1 },
};

static void test_decode_normal(void **state) {
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t len, dropped = 99;
        const DlpEntry *e;

        buf = raw_log(42, normal, ELEMENTSOF(normal), &len);
        buf[DLP_HEADER_SIZE + 2 * DLP_ENTRY_SIZE + 768 + 1] = 4;     /* rdma prtype roce-v2 */
        buf[DLP_HEADER_SIZE + 2 * DLP_ENTRY_SIZE + 768 + 2] = 1;     /* cms */
        put_le16(buf + DLP_HEADER_SIZE + 2 * DLP_ENTRY_SIZE + 768 + 8, 0x1234);
        assert_int_equal(dlp_decode(buf, len, &d, &dropped), 0);
        assert_int_equal(dropped, 0);
        assert_int_equal(d->genctr, 42);
        assert_int_equal(d->n, 3);

        e = d->entries[0];
        assert_string_equal(dlpe_get(e, DLPE_TRTYPE), "tcp");
        assert_string_equal(dlpe_get(e, DLPE_ADRFAM), "ipv4");
        assert_string_equal(dlpe_get(e, DLPE_TRADDR), "192.168.1.20");
        assert_string_equal(dlpe_get(e, DLPE_TRSVCID), "4420");
        assert_string_equal(dlpe_get(e, DLPE_SUBNQN), SUBNQN);
        assert_string_equal(dlpe_get(e, DLPE_SUBTYPE), "nvme");
        assert_string_equal(dlpe_get(e, DLPE_TREQ), "not specified");
        assert_string_equal(dlpe_get(e, DLPE_PORTID), "1");
        assert_string_equal(dlpe_get(e, DLPE_CNTLID), "65535");
        assert_string_equal(dlpe_get(e, DLPE_ASQSZ), "32");
        assert_string_equal(dlpe_get(e, DLPE_EFLAGS), "0");
        assert_string_equal(dlpe_get(e, DLPE_SECTYPE), "none");
        assert_string_equal(dlpe_get(e, DLPE_RDMA_QPTYPE), "");
        assert_false(dlpe_is_referral(e));

        e = d->entries[1];
        assert_string_equal(dlpe_get(e, DLPE_ADRFAM), "ipv6");
        assert_string_equal(dlpe_get(e, DLPE_TRADDR), "fe80::1");
        assert_string_equal(dlpe_get(e, DLPE_TRSVCID), "8009");
        assert_string_equal(dlpe_get(e, DLPE_SUBTYPE), "referral");
        assert_string_equal(dlpe_get(e, DLPE_TREQ), "not required");
        assert_string_equal(dlpe_get(e, DLPE_EFLAGS), "3");
        assert_string_equal(dlpe_get(e, DLPE_SECTYPE), "tls1.3");
        assert_true(dlpe_is_referral(e));

        e = d->entries[2];
        assert_string_equal(dlpe_get(e, DLPE_TRTYPE), "rdma");
        assert_string_equal(dlpe_get(e, DLPE_ADRFAM), "infiniband");
        assert_string_equal(dlpe_get(e, DLPE_SUBTYPE), "discovery");
        assert_string_equal(dlpe_get(e, DLPE_TREQ), "disable sqflow");
        assert_string_equal(dlpe_get(e, DLPE_SECTYPE), "");
        assert_string_equal(dlpe_get(e, DLPE_RDMA_QPTYPE), "connected");
        assert_string_equal(dlpe_get(e, DLPE_RDMA_PRTYPE), "roce-v2");
        assert_string_equal(dlpe_get(e, DLPE_RDMA_CMS), "rdma-cm");
        assert_string_equal(dlpe_get(e, DLPE_RDMA_PKEY), "4660");

        assert_string_equal(dlpe_get(NULL, DLPE_TRTYPE), "");
        assert_string_equal(dlpe_get(e, _DLPE_N_KEYS), "");
}

static void test_decode_unknown_numbers(void **state) {
        RawEntry r[] = {
                { .trtype = 7, .adrfam = 254, .subtype = 9, .treq = 5, .traddr = "1.1.1.1", .tsas0 = 0 },
                { .trtype = 0, .adrfam = 0, .subtype = 0, .treq = 3, .traddr = "x" },
                { .trtype = 254, .adrfam = 4, .subtype = 2, .treq = 1, .traddr = "y" },
                { .trtype = 2, .adrfam = 4, .subtype = 2, .treq = 255, .traddr = "nn-1:pn-2" },
                { .trtype = 3, .tsas0 = 77, .traddr = "1.1.1.1" },
        };
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t len;

        buf = raw_log(1, r, ELEMENTSOF(r), &len);
        assert_int_equal(dlp_decode(buf, len, &d, NULL), 0);
        assert_int_equal(d->n, 5);
        assert_string_equal(dlpe_get(d->entries[0], DLPE_TRTYPE), "7");
        assert_string_equal(dlpe_get(d->entries[0], DLPE_ADRFAM), "254");
        assert_string_equal(dlpe_get(d->entries[0], DLPE_SUBTYPE), "9");
        assert_string_equal(dlpe_get(d->entries[0], DLPE_TREQ), "5");
        assert_string_equal(dlpe_get(d->entries[1], DLPE_TRTYPE), "unspecified");
        assert_string_equal(dlpe_get(d->entries[1], DLPE_ADRFAM), "pci");
        assert_string_equal(dlpe_get(d->entries[1], DLPE_SUBTYPE), "0");
        assert_string_equal(dlpe_get(d->entries[1], DLPE_TREQ), "3");
        assert_string_equal(dlpe_get(d->entries[2], DLPE_TRTYPE), "loop");
        assert_string_equal(dlpe_get(d->entries[2], DLPE_ADRFAM), "fc");
        assert_string_equal(dlpe_get(d->entries[2], DLPE_TREQ), "required");
        assert_string_equal(dlpe_get(d->entries[3], DLPE_TRTYPE), "fc");
        assert_string_equal(dlpe_get(d->entries[3], DLPE_TREQ), "255");
        assert_string_equal(dlpe_get(d->entries[4], DLPE_SECTYPE), "77");
}

static void test_decode_unterminated_garbage(void **state) {
        char big[257];
        RawEntry r[1] = {};
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t len;
        uint8_t *p;

        memset(big, 'a', 256);
        big[256] = 0;
        r[0] = (RawEntry) { .trtype = 3, .traddr = big, .subnqn = big, .trsvcid = big };
        buf = raw_log(1, r, 1, &len);
        p = buf + DLP_HEADER_SIZE;
        /* garbage in trsvcid: control chars, high bytes */
        memcpy(p + 32, "\x01\xff" "ab\x7f", 5);
        assert_int_equal(dlp_decode(buf, len, &d, NULL), 0);
        assert_int_equal(d->n, 1);
        assert_int_equal(strlen(dlpe_get(d->entries[0], DLPE_TRADDR)), 256);
        assert_int_equal(strlen(dlpe_get(d->entries[0], DLPE_SUBNQN)), 256);
        /* trsvcid is 32 bytes, unterminated: its first 5 replaced + 27 'a' */
        assert_int_equal(strlen(dlpe_get(d->entries[0], DLPE_TRSVCID)), 32);
        assert_memory_equal(dlpe_get(d->entries[0], DLPE_TRSVCID), "??ab?aaa", 8);
        /* the decoded traddr did not run into tsas (which is 0 here anyway) */
        assert_int_equal(dlpe_get(d->entries[0], DLPE_TRADDR)[255], 'a');
        for (const char *s = dlpe_get(d->entries[0], DLPE_TRSVCID); *s; s++)
                assert_true(*s >= 0x20 && *s < 0x7f);
}

static void test_decode_lengths(void **state) {
        _cleanup_free_ uint8_t *buf = NULL;
        Dlp *d = NULL;
        size_t len;

        buf = raw_log(7, normal, ELEMENTSOF(normal), &len);
        assert_int_equal(dlp_decode(buf, DLP_HEADER_SIZE - 1, &d, NULL), -EBADMSG);
        assert_null(d);
        assert_int_equal(dlp_decode(NULL, 0, &d, NULL), -EBADMSG);

        /* header only, numrec says 3 */
        assert_int_equal(dlp_decode(buf, DLP_HEADER_SIZE, &d, NULL), 0);
        assert_int_equal(d->n, 0);
        d = dlp_free(d);

        /* numrec larger than the data: only whole entries */
        put_le64(buf + 8, UINT64_MAX);
        assert_int_equal(dlp_decode(buf, len - 1, &d, NULL), 0);
        assert_int_equal(d->n, 2);
        d = dlp_free(d);
        assert_int_equal(dlp_decode(buf, len, &d, NULL), 0);
        assert_int_equal(d->n, 3);
        d = dlp_free(d);

        /* numrec smaller than the data */
        put_le64(buf + 8, 1);
        assert_int_equal(dlp_decode(buf, len, &d, NULL), 0);
        assert_int_equal(d->n, 1);
        d = dlp_free(d);
}

static void test_decode_dropped(void **state) {
        RawEntry r[] = {
                { .trtype = 3, .traddr = "" },
                { .trtype = 3, .traddr = "0.0.0.0" },
                { .trtype = 3, .traddr = "::" },
                { .trtype = 3, .traddr = "0:0::0" },
                { .trtype = 3, .traddr = "::ffff:0.0.0.0" },
                { .trtype = 3, .traddr = "    " },
                { .trtype = 3, .traddr = "1.2.3.4" },
        };
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t len, dropped;

        buf = raw_log(1, r, ELEMENTSOF(r), &len);
        assert_int_equal(dlp_decode(buf, len, &d, &dropped), 0);
        assert_int_equal(dropped, 6);
        assert_int_equal(d->n, 1);
        assert_string_equal(dlpe_get(d->entries[0], DLPE_TRADDR), "1.2.3.4");
}

static void test_new_equal_referrals(void **state) {
        const char *vals[_DLPE_N_KEYS] = { "tcp", "ipv4", "1.1.1.1", "8009", "nqn.a", "referral",
                                           "not specified", "1", "2", "3", "4" };
        DlpEntry *e1, *e2, *e3, *n1;
        _cleanup_(dlp_freep) Dlp *a = dlp_new_empty(), *b = dlp_new_empty();
        char big[70000];

        assert_int_equal(dlpe_new(&e1, vals), 0);
        assert_int_equal(dlpe_new(&e2, vals), 0);
        assert_true(dlpe_equal(e1, e2));
        assert_string_equal(dlpe_get(e1, DLPE_SECTYPE), "");
        vals[DLPE_PORTID] = "9";  /* not part of referral identity */
        assert_int_equal(dlpe_new(&e3, vals), 0);
        assert_false(dlpe_equal(e1, e3));
        vals[DLPE_SUBTYPE] = "nvme";
        assert_int_equal(dlpe_new(&n1, vals), 0);
        assert_true(dlpe_mem_size(e1) < 128);

        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        vals[DLPE_SUBNQN] = big;
        {
                DlpEntry *t = NULL;
                assert_int_equal(dlpe_new(&t, vals), -E2BIG);
                assert_null(t);
        }

        assert_false(dlp_referrals_differ(NULL, NULL));
        assert_false(dlp_referrals_differ(a, NULL));
        assert_int_equal(dlp_append(a, n1), 0);
        assert_false(dlp_referrals_differ(a, b));   /* nvme entries don't count */
        assert_int_equal(dlp_append(a, e1), 0);
        assert_true(dlp_referrals_differ(a, b));
        assert_true(dlp_referrals_differ(NULL, a));
        assert_int_equal(dlp_append(b, e3), 0);     /* same referral, other portid */
        assert_false(dlp_referrals_differ(a, b));
        assert_false(dlp_equal(a, b));
        assert_int_equal(dlp_append(b, e2), 0);
        assert_false(dlp_referrals_differ(a, b));
        assert_true(dlp_equal(a, a));
        assert_int_equal(dlp_append(b, NULL), -EINVAL);

        /* Sets, not multisets: {r1, r1} == {r1}; {r1, r4} != {r1, r1}. */
        {
                _cleanup_(dlp_freep) Dlp *x = dlp_new_empty(), *y = dlp_new_empty();
                DlpEntry *f1, *f2, *f3;

                vals[DLPE_SUBNQN] = "nqn.2014-08.org.nvmexpress.discovery";
                vals[DLPE_SUBTYPE] = "referral";
                assert_int_equal(dlpe_new(&f1, vals), 0);
                assert_int_equal(dlpe_new(&f2, vals), 0);
                vals[DLPE_TRSVCID] = "8010";
                assert_int_equal(dlpe_new(&f3, vals), 0);
                assert_int_equal(dlp_append(x, f1), 0);
                assert_int_equal(dlp_append(x, f2), 0);
                assert_int_equal(dlp_append(y, f3), 0);
                assert_true(dlp_referrals_differ(x, y));
                assert_true(dlp_referrals_differ(y, x));
                assert_int_equal(dlpe_new(&f3, vals), 0);
                vals[DLPE_TRSVCID] = "8009";
                assert_int_equal(dlp_append(x, f3), 0);   /* x = {r, r, r'} */
                assert_int_equal(dlpe_new(&f1, vals), 0);
                assert_int_equal(dlp_append(y, f1), 0);   /* y = {r', r} */
                assert_false(dlp_referrals_differ(x, y));
                assert_false(dlp_referrals_differ(y, x));
        }
}

/* ---- dlp_fetch with a fake reader ---- */

typedef struct Fake {
        uint8_t *log;
        size_t len;
        unsigned reads;
        bool rae[64];
        unsigned change_at;     /* bump genctr after this read (1-based), 0 = never */
        bool change_every;
        unsigned fail_at;       /* fail this read (1-based) with fail_r */
        int fail_r;
        uint64_t max_len_seen;
        uint64_t total_bytes;
} Fake;

static int fake_read(void *ud, uint64_t offset, void *buf, size_t len, bool rae) {
        Fake *f = ud;
        unsigned k = ++f->reads;

        if (k <= ELEMENTSOF(f->rae))
                f->rae[k - 1] = rae;
        if (len > f->max_len_seen)
                f->max_len_seen = len;
        f->total_bytes += len;
        if (f->fail_at == k)
                return f->fail_r;
        memset(buf, 0, len);
        if (offset < f->len)
                memcpy(buf, f->log + offset, f->len - offset < len ? f->len - offset : len);
        if (f->change_every || f->change_at == k)
                put_le64(f->log, (f->log[0] | (uint64_t) f->log[1] << 8) + 1);
        return 0;
}

static void check_rae(const Fake *f) {
        for (unsigned i = 0; i + 1 < f->reads; i++)
                assert_true(f->rae[i]);
        assert_false(f->rae[f->reads - 1]);
}

static void test_fetch_normal(void **state) {
        Fake f = {};
        _cleanup_(dlp_freep) Dlp *d = NULL;
        unsigned retries = 99;
        size_t dropped = 99;

        f.log = raw_log(5, normal, ELEMENTSOF(normal), &f.len);
        assert_int_equal(dlp_fetch(fake_read, &f, 3, 1000, &d, &retries, &dropped), 0);
        assert_int_equal(retries, 0);
        assert_int_equal(dropped, 0);
        assert_int_equal(d->n, 3);
        assert_int_equal(d->genctr, 5);
        assert_int_equal(f.reads, 3);
        check_rae(&f);
        free(f.log);
}

static void test_fetch_big_chunks(void **state) {
        RawEntry r[200];
        Fake f = {};
        _cleanup_(dlp_freep) Dlp *d = NULL;
        char addrs[200][16];

        for (int i = 0; i < 200; i++) {
                snprintf(addrs[i], sizeof(addrs[i]), "10.0.%d.%d", i / 250, i % 250 + 1);
                r[i] = (RawEntry) { .trtype = 3, .adrfam = 1, .subtype = 2, .traddr = addrs[i] };
        }
        f.log = raw_log(1, r, 200, &f.len);
        assert_int_equal(dlp_fetch(fake_read, &f, 3, 1000, &d, NULL, NULL), 0);
        assert_int_equal(d->n, 200);
        assert_int_equal(f.reads, 1 + 4 + 1); /* 200 KiB in 64 KiB chunks */
        assert_int_equal(f.max_len_seen, DLP_FETCH_CHUNK);
        assert_string_equal(dlpe_get(d->entries[199], DLPE_TRADDR), "10.0.0.200");
        check_rae(&f);
        free(f.log);
}

static void test_fetch_genctr_once(void **state) {
        Fake f = { .change_at = 2 };
        _cleanup_(dlp_freep) Dlp *d = NULL;
        unsigned retries = 0;

        f.log = raw_log(5, normal, ELEMENTSOF(normal), &f.len);
        assert_int_equal(dlp_fetch(fake_read, &f, 3, 1000, &d, &retries, NULL), 0);
        assert_int_equal(retries, 1);
        assert_int_equal(d->genctr, 6);
        assert_int_equal(f.reads, 6);
        /* each attempt ends with rae=false; the very last read is rae=false */
        assert_true(f.rae[0]);
        assert_true(f.rae[1]);
        assert_false(f.rae[2]);
        assert_true(f.rae[3]);
        assert_true(f.rae[4]);
        assert_false(f.rae[5]);
        free(f.log);
}

static void test_fetch_genctr_always(void **state) {
        Fake f = { .change_every = true };
        Dlp *d = NULL;
        unsigned retries = 0;

        f.log = raw_log(5, normal, ELEMENTSOF(normal), &f.len);
        assert_int_equal(dlp_fetch(fake_read, &f, 4, 1000, &d, &retries, NULL), -EAGAIN);
        assert_null(d);
        assert_int_equal(retries, 4);
        assert_int_equal(f.reads, 5 * 3);
        assert_false(f.rae[f.reads - 1]);
        free(f.log);
}

static void test_fetch_hostile_numrec(void **state) {
        Fake f = {};
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t dropped = 0;

        f.log = raw_log(5, normal, ELEMENTSOF(normal), &f.len);
        put_le64(f.log + 8, UINT64_C(1) << 63);
        assert_int_equal(dlp_fetch(fake_read, &f, 2, 16, &d, NULL, &dropped), 0);
        /* 16 entries read: 3 real, 13 zero-filled (empty traddr, dropped) */
        assert_int_equal(d->n, 3);
        assert_int_equal(dropped, 13 + ((UINT64_C(1) << 63) - 16));
        assert_true(f.total_bytes <= 2 * DLP_HEADER_SIZE + 16 * DLP_ENTRY_SIZE);
        check_rae(&f);
        free(f.log);
}

static void test_fetch_errors(void **state) {
        /* Reads: 1 header (rae), 2 entries (rae), 3 header (rae=false).  A
         * failure part-way must still end with a read that clears RAE, or
         * the DC sends no more AENs. */
        for (unsigned at = 1; at <= 3; at++) {
                Fake f = { .fail_at = at, .fail_r = at == 2 ? -EREMOTEIO : -EIO };
                Dlp *d = NULL;

                f.log = raw_log(5, normal, ELEMENTSOF(normal), &f.len);
                assert_int_equal(dlp_fetch(fake_read, &f, 3, 1000, &d, NULL, NULL), f.fail_r);
                assert_null(d);
                assert_int_equal(f.reads, at == 3 ? 3 : at + 1);
                assert_false(f.rae[f.reads - 1]);
                free(f.log);
        }
        /* In the middle of a large log (chunk 2 of 4). */
        {
                RawEntry r[200];
                char addrs[200][16];
                Fake f = { .fail_at = 3, .fail_r = -ETIMEDOUT };
                Dlp *d = NULL;

                for (int i = 0; i < 200; i++) {
                        snprintf(addrs[i], sizeof(addrs[i]), "10.0.%d.%d", i / 250, i % 250 + 1);
                        r[i] = (RawEntry) { .trtype = 3, .adrfam = 1, .subtype = 2, .traddr = addrs[i] };
                }
                f.log = raw_log(1, r, 200, &f.len);
                assert_int_equal(dlp_fetch(fake_read, &f, 3, 1000, &d, NULL, NULL), -ETIMEDOUT);
                assert_null(d);
                assert_int_equal(f.reads, 4);
                assert_true(f.rae[2]);
                assert_false(f.rae[3]);
                free(f.log);
        }
        assert_int_equal(dlp_fetch(NULL, NULL, 3, 10, &(Dlp *) { NULL }, NULL, NULL), -EINVAL);
}

static void test_mem_size(void **state) {
        /* 10 000 typical tcp entries: report the footprint. */
        RawEntry r = { .trtype = 3, .adrfam = 1, .subtype = 2, .treq = 0, .portid = 1, .cntlid = 65535,
                       .asqsz = 32, .trsvcid = "4420", .traddr = "192.168.100.200",
                       .subnqn = "nqn.1988-11.com.dell:powerstore:00:2a64abf1c5b81F6C4549" };
        _cleanup_free_ uint8_t *buf = NULL;
        _cleanup_(dlp_freep) Dlp *d = NULL;
        size_t len, total = 0;

        buf = malloc(DLP_HEADER_SIZE + 10000 * DLP_ENTRY_SIZE);
        raw_header(buf, 1, 10000);
        for (int i = 0; i < 10000; i++)
                raw_entry(buf + DLP_HEADER_SIZE + i * DLP_ENTRY_SIZE, &r);
        len = DLP_HEADER_SIZE + 10000 * (size_t) DLP_ENTRY_SIZE;
        assert_int_equal(dlp_decode(buf, len, &d, NULL), 0);
        assert_int_equal(d->n, 10000);
        for (size_t i = 0; i < d->n; i++)
                total += dlpe_mem_size(d->entries[i]) + 16 /* malloc overhead */ + sizeof(DlpEntry *);
        print_message("10000 DLPEs: %zu bytes (%zu per entry incl. malloc overhead and pointer)\n",
                      total, total / 10000);
        assert_true(total < 5 * 1024 * 1024);
}

static void test_key_names(void **state) {
        assert_string_equal(dlp_key_name(DLPE_TRTYPE), "trtype");
        assert_string_equal(dlp_key_name(DLPE_EFLAGS), "eflags");
        assert_null(dlp_key_name(_DLPE_N_KEYS));
        for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                assert_int_equal(dlp_key_from_name(dlp_key_name(k)), k);
        assert_int_equal(dlp_key_from_name("nope"), -EINVAL);
        assert_int_equal(dlp_key_from_name(NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_decode_normal),
                cmocka_unit_test(test_decode_unknown_numbers),
                cmocka_unit_test(test_decode_unterminated_garbage),
                cmocka_unit_test(test_decode_lengths),
                cmocka_unit_test(test_decode_dropped),
                cmocka_unit_test(test_new_equal_referrals),
                cmocka_unit_test(test_fetch_normal),
                cmocka_unit_test(test_fetch_big_chunks),
                cmocka_unit_test(test_fetch_genctr_once),
                cmocka_unit_test(test_fetch_genctr_always),
                cmocka_unit_test(test_fetch_hostile_numrec),
                cmocka_unit_test(test_fetch_errors),
                cmocka_unit_test(test_mem_size),
                cmocka_unit_test(test_key_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "macro.h"
#include "nbft-build.h"
#include "nbft.h"
#include "strv.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define DCNQN "nqn.1988-11.com.example:dc1"

static uint8_t buf[4096];

static NbTable one(void) {
        return (NbTable){
                .hostnqn = HOSTNQN,
                .host_id = { 0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x33, 0x33, 0x44, 0x44, 0x55, 0x55, 0x55,
                             0x55, 0x55, 0x55 },
                .hfi = { { .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } } },
                .n_hfi = 1,
                .dc = { { .uri = "nvme+tcp://192.168.100.1:8009/" } },
                .n_dc = 1,
        };
}

/* Parse and expect a whole-table error whose message contains what. */
static void expect_error(size_t len, int err, const char *what) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(nbft_parse(buf, len, &n, &msg), err);
        assert_null(n);
        assert_non_null(msg);
        if (!strstr(msg, what))
                fail_msg("'%s' does not say '%s'", msg, what);
}

/* Parse: the table is fine but no DC comes out; the message says what. */
static void expect_skipped(size_t len, const char *what) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        _cleanup_free_ char *msg = NULL;

        assert_int_equal(nbft_parse(buf, len, &n, &msg), 0);
        assert_null(msg);
        assert_int_equal(n->n_dcs, 0);
        if (what) {
                assert_int_equal(strv_length(n->messages), 1);
                if (!strstr(n->messages[0], what))
                        fail_msg("'%s' does not say '%s'", n->messages[0], what);
        } else
                assert_null(n->messages);
}

static void test_one(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len = nb_build(&t, buf, sizeof(buf), NULL);
        char mac[18];

        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_string_equal(n->host_nqn, HOSTNQN);
        assert_true(n->host_nqn_configured);
        assert_true(n->host_id_configured);
        assert_string_equal(n->host_id, "11111111-2222-3333-4444-555555555555");
        assert_int_equal(n->n_dcs, 1);
        assert_null(n->messages);
        assert_string_equal(n->dcs[0].transport, "tcp");
        assert_string_equal(n->dcs[0].traddr, "192.168.100.1");
        assert_string_equal(n->dcs[0].trsvcid, "8009");
        assert_string_equal(n->dcs[0].subsysnqn, DISC_NQN);
        assert_string_equal(n->dcs[0].host_nqn, HOSTNQN);
        assert_int_equal(n->dcs[0].index, 1);
        assert_int_equal(n->dcs[0].hfi_index, 1);
        nbft_format_mac(n->dcs[0].mac, mac, sizeof(mac));
        assert_string_equal(mac, "52:54:00:12:34:56");

        /* Bytes after the table (sysfs never adds any, but a file might) are ignored. */
        n = nbft_free(n);
        assert_int_equal(nbft_parse(buf, len + 100, &n, NULL), 0);
        assert_int_equal(n->n_dcs, 1);
}

static void test_host_not_configured(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len;

        t.host_flags = 0x1; /* valid, nothing configured */
        memset(t.host_id, 0, sizeof(t.host_id));
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_string_equal(n->host_nqn, HOSTNQN);
        assert_false(n->host_nqn_configured);
        assert_false(n->host_id_configured);
        assert_null(n->host_id);
        assert_int_equal(n->n_dcs, 1);
        assert_null(n->dcs[0].host_nqn);

        /* A host descriptor that is not valid says nothing at all. */
        n = nbft_free(n);
        t.host_flags = 0x6;
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->host_nqn);
        assert_false(n->host_nqn_configured);
        assert_null(n->dcs[0].host_nqn);
}

static void test_several(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len;

        /* HFI indices deliberately out of order: resolved by their own index field. */
        t.hfi[0] = (NbHfi){ .index = 7, .mac = { 2, 0, 0, 0, 0, 7 } };
        t.hfi[1] = (NbHfi){ .index = 3, .mac = { 2, 0, 0, 0, 0, 3 } };
        t.n_hfi = 2;
        t.dc[0] = (NbDc){ .index = 2, .hfi_index = 3, .uri = "nvme+tcp://10.0.0.1/", .nqn = DCNQN };
        t.dc[1] = (NbDc){ .index = 1, .hfi_index = 7, .uri = "NVME+TCP://[fe80::1%25eth0]:4420" };
        t.dc[2] = (NbDc){ .index = 3, .hfi_index = 7, .uri = "nvme+tcp://[2001:db8::5]/" };
        t.dc[3] = (NbDc){ .index = 4, .hfi_index = 3, .uri = "nvme+tcp://dc.example.com:8010/x?y" };
        t.n_dc = 4;
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->messages);
        assert_int_equal(n->n_dcs, 4);

        assert_string_equal(n->dcs[0].traddr, "10.0.0.1");
        assert_null(n->dcs[0].trsvcid);
        assert_string_equal(n->dcs[0].subsysnqn, DCNQN);
        assert_int_equal(n->dcs[0].index, 2);
        assert_int_equal(n->dcs[0].mac[5], 3);

        assert_string_equal(n->dcs[1].traddr, "fe80::1%eth0");
        assert_string_equal(n->dcs[1].trsvcid, "4420");
        assert_int_equal(n->dcs[1].mac[5], 7);

        assert_string_equal(n->dcs[2].traddr, "2001:db8::5");
        assert_null(n->dcs[2].trsvcid);

        assert_string_equal(n->dcs[3].traddr, "dc.example.com");
        assert_string_equal(n->dcs[3].trsvcid, "8010");
}

static void test_larger_elements(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len;

        t.hfi[1] = (NbHfi){ .mac = { 2, 0, 0, 0, 0, 2 } };
        t.n_hfi = 2;
        t.dc[1] = (NbDc){ .hfi_index = 2, .uri = "nvme+tcp://192.168.100.2:8009/" };
        t.n_dc = 2;
        t.hfi_elen = 48;
        t.disc_elen = 100;
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->messages);
        assert_int_equal(n->n_dcs, 2);
        assert_string_equal(n->dcs[1].traddr, "192.168.100.2");
        assert_int_equal(n->dcs[1].mac[5], 2);
        assert_int_equal(n->dcs[0].mac[5], 0x56);
}

static void test_no_dcs(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len;

        t.n_dc = 0;
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_int_equal(n->n_dcs, 0);
        assert_string_equal(n->host_nqn, HOSTNQN);
}

static void test_header_errors(void **state) {
        NbTable t = one();
        NbLayout l;
        size_t len;

        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_error(len - 1, -EBADMSG, "truncated");
        expect_error(63, -EBADMSG, "too short");
        expect_error(0, -EBADMSG, "too short");

        buf[100]++;
        expect_error(len, -EBADMSG, "checksum");
        buf[100]--;

        memcpy(buf, "NBFX", 4);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "signature");
        memcpy(buf, "NBFT", 4);

        buf[8] = 2;
        nb_fix_checksum(buf, len);
        expect_error(len, -EPROTONOSUPPORT, "revision 2");
        buf[8] = 1;

        /* Length fields: smaller than a header, absurdly large. */
        nb_le32(buf + 4, 32);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "length");
        nb_le32(buf + 4, 0xffffffff);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "length");
        nb_le32(buf + 4, (uint32_t) len);

        /* The heap beyond the end of the table. */
        nb_le32(buf + 36, (uint32_t) len - 4);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "heap");
        nb_le32(buf + 36, 0xfffffff0);
        nb_le32(buf + 40, 0x20);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "heap");
}

static void test_control_errors(void **state) {
        NbTable t = one();
        NbLayout l;
        size_t len;

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.control] = 2;
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "structure id 2");

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.control + 6] = 0; /* flags: not valid */
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "not valid");

        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.control + 4, 20);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "control descriptor length");

        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.control + 4, 0xffff);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "control descriptor length");

        /* Host descriptor outside the table. */
        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le32(buf + l.control + 8, (uint32_t) len - 8);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "host descriptor");

        /* Lists outside the table, or with elements too short to hold a descriptor. */
        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le32(buf + l.control + 40, (uint32_t) len - 16);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "discovery list");

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.control + 23] = 200; /* 200 HFIs */
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "HFI list");

        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.control + 44, 8);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "discovery descriptors are 8 bytes");

        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le32(buf + l.control + 16, 0xfffffff0);
        nb_fix_checksum(buf, len);
        expect_error(len, -EBADMSG, "HFI list");
}

static void test_host_problems(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        NbLayout l;
        size_t len;

        /* Host NQN heap object past the end of the heap: NQN ignored, DCs kept. */
        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.host + 22, 0xfff0);
        nb_fix_checksum(buf, len);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->host_nqn);
        assert_false(n->host_nqn_configured);
        assert_int_equal(n->n_dcs, 1);
        assert_null(n->dcs[0].host_nqn);
        assert_int_equal(strv_length(n->messages), 1);
        assert_non_null(strstr(n->messages[0], "outside the heap"));
        n = nbft_free(n);

        /* Wrong structure id. */
        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.host] = 5;
        nb_fix_checksum(buf, len);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->host_nqn);
        assert_int_equal(n->n_dcs, 1);
        assert_int_equal(strv_length(n->messages), 1);
        n = nbft_free(n);

        /* A host NQN that is not one. */
        t.hostnqn = "nqn.x,hostid=y";
        len = nb_build(&t, buf, sizeof(buf), &l);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->host_nqn);
        assert_false(n->host_nqn_configured);
        assert_int_equal(n->n_dcs, 1);
        assert_null(n->dcs[0].host_nqn);
        assert_non_null(strstr(n->messages[0], "holds ','"));
        n = nbft_free(n);
        t = one();

        /* Non-printable host NQN. */
        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[nb_get_le32(buf + l.host + 18)] = 0x01;
        nb_fix_checksum(buf, len);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_null(n->host_nqn);
        assert_non_null(strstr(n->messages[0], "non-printable"));
}

static void test_discovery_problems(void **state) {
        NbTable t = one();
        NbLayout l;
        size_t len;

        /* HFI index that resolves to nothing: 0, 9, an invalid HFI. */
        t.dc[0].hfi_index = 9;
        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_skipped(len, "HFI index 9 names no valid HFI");

        t = one();
        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.disc + 3] = 0;
        nb_fix_checksum(buf, len);
        expect_skipped(len, "HFI index 0");

        t = one();
        t.hfi[0].flags = 0x2; /* not valid */
        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_skipped(len, "HFI index 1 names no valid HFI");

        t = one();
        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.hfi] = 4; /* wrong structure id */
        nb_fix_checksum(buf, len);
        expect_skipped(len, "HFI index 1 names no valid HFI");

        /* Discovery descriptor not valid: reserved, skipped silently. */
        t = one();
        t.dc[0].flags = 0x2;
        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_skipped(len, NULL);

        t = one();
        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.disc] = 3;
        nb_fix_checksum(buf, len);
        expect_skipped(len, "structure id 3");

        /* Transport type other than tcp. */
        t = one();
        t.hfi[0].trtype = 1;
        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_skipped(len, "transport type 1");

        /* Transport info: past the end of the heap, too short, wrong id, not valid. */
        t = one();
        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le32(buf + l.hfi + 16, (uint32_t) len - 8);
        nb_fix_checksum(buf, len);
        expect_skipped(len, "no usable transport info");

        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.hfi + 20, 12);
        nb_fix_checksum(buf, len);
        expect_skipped(len, "no usable transport info");

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.trinfo[0]] = 8;
        nb_fix_checksum(buf, len);
        expect_skipped(len, "not a valid tcp record");

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.trinfo[0] + 6] = 0;
        nb_fix_checksum(buf, len);
        expect_skipped(len, "not a valid tcp record");

        /* Address: missing, past the heap, non-printable. */
        t = one();
        t.dc[0].uri = NULL;
        len = nb_build(&t, buf, sizeof(buf), &l);
        expect_skipped(len, "no address");

        t = one();
        len = nb_build(&t, buf, sizeof(buf), &l);
        nb_le16(buf + l.disc + 10, 2000);
        nb_fix_checksum(buf, len);
        expect_skipped(len, "outside the heap");

        len = nb_build(&t, buf, sizeof(buf), &l);
        buf[l.uri[0] + 13] = 0x80;
        nb_fix_checksum(buf, len);
        expect_skipped(len, "non-printable");

        /* NQNs that would not survive the kernel's connect string. */
        {
                static const struct {
                        const char *nqn, *why;
                } bad[] = {
                        { "nqn.x,hostnqn=y", "holds ','" },
                        { "nqn.x=y", "holds ','" },
                        { "nqn.x y", "holds ','" },
                        { "iqn.2001-04.com.example", "does not start with 'nqn.'" },
                };

                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        t = one();
                        t.dc[0].nqn = bad[i].nqn;
                        len = nb_build(&t, buf, sizeof(buf), &l);
                        expect_skipped(len, bad[i].why);
                }
        }

        /* NQN too long. */
        {
                char nqn[300];

                memset(nqn, 'a', sizeof(nqn) - 1);
                nqn[sizeof(nqn) - 1] = 0;
                t = one();
                t.dc[0].nqn = nqn;
                len = nb_build(&t, buf, sizeof(buf), &l);
                expect_skipped(len, "NQN is too long");
        }
}

static void test_bad_uris(void **state) {
        static const struct {
                const char *uri, *why;
        } bad[] = {
                { "nvme+rdma://10.0.0.1:4420/", "not an nvme+tcp" },
                { "10.0.0.1", "not an nvme+tcp" },
                { "nvme+tcp://", "no address" },
                { "nvme+tcp://:8009/", "no address" },
                { "nvme+tcp://[]:8009/", "no address" },
                { "nvme+tcp://fe80::1/", "without brackets" },
                { "nvme+tcp://[fe80::1/", "unclosed" },
                { "nvme+tcp://[fe80::1]x/", "junk" },
                { "nvme+tcp://[10.0.0.1]/", "not IPv6" },
                { "nvme+tcp://10.0.0.1:0/", "bad port" },
                { "nvme+tcp://10.0.0.1:65536/", "bad port" },
                { "nvme+tcp://10.0.0.1:99999999999999999999/", "bad port" },
                { "nvme+tcp://10.0.0.1:80a/", "bad port" },
                { "nvme+tcp://user@10.0.0.1/", "user information" },
                { "nvme+tcp://10.0.0.1,host_iface=x:8009/", "characters no host name" },
                { "nvme+tcp://a=b/", "characters no host name" },
                { "nvme+tcp://a b/", "characters no host name" },
                { "nvme+tcp://[fe80::1%25eth0,x]/", "characters no host name" },
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                NbTable t = one();
                size_t len;

                t.dc[0].uri = bad[i].uri;
                len = nb_build(&t, buf, sizeof(buf), NULL);
                expect_skipped(len, bad[i].why);
        }
}

/* A bad descriptor does not hide the good ones. */
static void test_mixed(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        NbTable t = one();
        size_t len;

        t.dc[1] = (NbDc){ .hfi_index = 5, .uri = "nvme+tcp://10.0.0.2/" };
        t.dc[2] = (NbDc){ .uri = "nvme+tcp://10.0.0.3:8009" };
        t.n_dc = 3;
        len = nb_build(&t, buf, sizeof(buf), NULL);
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_int_equal(n->n_dcs, 2);
        assert_string_equal(n->dcs[1].traddr, "10.0.0.3");
        assert_int_equal(strv_length(n->messages), 1);
        assert_non_null(strstr(n->messages[0], "discovery descriptor 2"));
}

/* The tables of test/nbft-build.py (the VM suite's builder), as committed
 * for the fuzzer, say the same as the C builder's. */
#define SEEDS TEST_DATA_DIR "/../../fuzz/corpus/fuzz-nbft/"

static size_t read_seed(const char *name) {
        FILE *f = fopen(name, "re");
        size_t n;

        assert_non_null(f);
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        return n;
}

static void test_python_builder(void **state) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        _cleanup_free_ char *msg = NULL;
        size_t len;

        len = read_seed(SEEDS "several");
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_string_equal(n->host_id, "11111111-2222-3333-4444-555555555555");
        assert_string_equal(n->host_nqn, HOSTNQN);
        /* The third names HFI 3, which does not exist. */
        assert_int_equal(n->n_dcs, 2);
        assert_int_equal(strv_length(n->messages), 1);
        assert_string_equal(n->dcs[0].subsysnqn, "nqn.1988-11.com.example:dc");
        assert_string_equal(n->dcs[0].host_nqn, HOSTNQN);
        assert_int_equal(n->dcs[0].mac[5], 0x56);
        assert_string_equal(n->dcs[1].traddr, "fe80::1%eth0");
        assert_string_equal(n->dcs[1].trsvcid, "4420");
        assert_int_equal(n->dcs[1].mac[5], 0x57);
        n = nbft_free(n);

        len = read_seed(SEEDS "large-elements");
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_int_equal(n->n_dcs, 2);
        assert_null(n->dcs[0].host_nqn);
        assert_string_equal(n->dcs[1].traddr, "10.0.0.2");
        n = nbft_free(n);

        len = read_seed(SEEDS "empty");
        assert_int_equal(nbft_parse(buf, len, &n, NULL), 0);
        assert_int_equal(n->n_dcs, 0);
        assert_null(n->host_nqn);
        n = nbft_free(n);

        len = read_seed(SEEDS "bad-checksum");
        assert_int_equal(nbft_parse(buf, len, &n, &msg), -EBADMSG);
        msg = mfree(msg);
        len = read_seed(SEEDS "bad-list");
        assert_int_equal(nbft_parse(buf, len, &n, &msg), -EBADMSG);
        assert_non_null(strstr(msg, "discovery list"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_one),
                cmocka_unit_test(test_host_not_configured),
                cmocka_unit_test(test_several),
                cmocka_unit_test(test_larger_elements),
                cmocka_unit_test(test_no_dcs),
                cmocka_unit_test(test_header_errors),
                cmocka_unit_test(test_control_errors),
                cmocka_unit_test(test_host_problems),
                cmocka_unit_test(test_discovery_problems),
                cmocka_unit_test(test_bad_uris),
                cmocka_unit_test(test_mixed),
                cmocka_unit_test(test_python_builder),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

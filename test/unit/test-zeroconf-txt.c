/* SPDX-License-Identifier: Apache-2.0 */
/* TP8009 TXT parsing: the rules in daemon/zeroconf-txt.h. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zeroconf-txt.h"

/* Parse NULL-terminated list of C-string entries; returns finish() result. */
static int parse(ZeroconfTxt *t, const char * const *entries) {
        zeroconf_txt_init(t);
        for (; *entries; entries++)
                assert_true(zeroconf_txt_add(t, *entries, strlen(*entries)) >= 0);
        return zeroconf_txt_finish(t);
}

static void expect(const char * const *entries, int r, const char *transport, const char *nqn) {
        ZeroconfTxt t;

        assert_int_equal(parse(&t, entries), r);
        if (r == 0) {
                assert_string_equal(t.transport, transport);
                assert_string_equal(t.subsysnqn, nqn);
        }
        zeroconf_txt_done(&t);
}

static void test_tcp_default_nqn(void **state) {
        expect((const char *[]) { "p=tcp", NULL }, 0, "tcp", DISC_NQN);
}

static void test_case_insensitive(void **state) {
        expect((const char *[]) { "P=TCP", "NQN=nqn.x:y", NULL }, 0, "tcp", "nqn.x:y");
        expect((const char *[]) { "p=Tcp", "Nqn=nqn.A", NULL }, 0, "tcp", "nqn.A");
}

static void test_rdma_aliases(void **state) {
        expect((const char *[]) { "p=roce", NULL }, 0, "rdma", DISC_NQN);
        expect((const char *[]) { "p=iWARP", NULL }, 0, "rdma", DISC_NQN);
        expect((const char *[]) { "p=rdma", NULL }, 0, "rdma", DISC_NQN);
}

static void test_bad_protocol(void **state) {
        ZeroconfTxt t;

        expect((const char *[]) { "p=bogus", NULL }, -EPROTONOSUPPORT, NULL, NULL);
        expect((const char *[]) { "p=", NULL }, -EPROTONOSUPPORT, NULL, NULL);
        expect((const char *[]) { "p", NULL }, -EPROTONOSUPPORT, NULL, NULL);
        expect((const char *[]) { "p=tcpx", NULL }, -EPROTONOSUPPORT, NULL, NULL);
        expect((const char *[]) { "p=tc", NULL }, -EPROTONOSUPPORT, NULL, NULL);
        expect((const char *[]) { "nqn=nqn.a", NULL }, -ENOENT, NULL, NULL);
        expect((const char *[]) { NULL }, -ENOENT, NULL, NULL);

        assert_int_equal(parse(&t, (const char *[]) { "p=bogus", NULL }), -EPROTONOSUPPORT);
        assert_string_equal(t.protocol, "bogus");
        zeroconf_txt_done(&t);
}

static void test_first_wins(void **state) {
        expect((const char *[]) { "p=tcp", "p=rdma", "nqn=nqn.1", "NQN=nqn.2", NULL }, 0, "tcp", "nqn.1");
        expect((const char *[]) { "p=bogus", "p=tcp", NULL }, -EPROTONOSUPPORT, NULL, NULL);
}

static void test_other_keys_and_empty(void **state) {
        ZeroconfTxt t;

        expect((const char *[]) { "", "=tcp", "x=1", "pp=rdma", "p=tcp", "nqnx=1", NULL }, 0, "tcp",
               DISC_NQN);
        zeroconf_txt_init(&t);
        assert_int_equal(zeroconf_txt_add(&t, "=x", 2), ZEROCONF_TXT_SKIPPED);
        assert_int_equal(zeroconf_txt_add(&t, NULL, 0), ZEROCONF_TXT_SKIPPED);
        assert_int_equal(zeroconf_txt_add(&t, "foo", 3), ZEROCONF_TXT_SKIPPED);
        assert_int_equal(zeroconf_txt_add(&t, "p=tcp", 5), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_add(&t, "p=tcp", 5), ZEROCONF_TXT_SKIPPED);
        zeroconf_txt_done(&t);
}

static void test_nonprintable(void **state) {
        ZeroconfTxt t;
        static const char nul[] = { 'p', '=', 't', 0, 'p' };
        static const char hi[] = { 'n', 'q', 'n', '=', 'n', (char) 0xc3, (char) 0xa9 };

        zeroconf_txt_init(&t);
        assert_int_equal(zeroconf_txt_add(&t, nul, sizeof(nul)), ZEROCONF_TXT_NONPRINTABLE);
        assert_int_equal(zeroconf_txt_add(&t, "p=\ttcp", 6), ZEROCONF_TXT_NONPRINTABLE);
        assert_int_equal(zeroconf_txt_add(&t, "p=tcp\x7f", 6), ZEROCONF_TXT_NONPRINTABLE);
        assert_int_equal(zeroconf_txt_add(&t, hi, sizeof(hi)), ZEROCONF_TXT_NONPRINTABLE);
        /* Ignored entries do not count as "seen": later valid ones are used. */
        assert_int_equal(zeroconf_txt_add(&t, "p=rdma", 6), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_finish(&t), 0);
        assert_string_equal(t.transport, "rdma");
        assert_string_equal(t.subsysnqn, DISC_NQN);
        zeroconf_txt_done(&t);
}

static void test_not_nul_terminated(void **state) {
        ZeroconfTxt t;
        const char buf[] = "p=tcpnqn=nqn.abcXXXX";

        zeroconf_txt_init(&t);
        assert_int_equal(zeroconf_txt_add(&t, buf, 5), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_add(&t, buf + 5, 11), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_finish(&t), 0);
        assert_string_equal(t.transport, "tcp");
        assert_string_equal(t.subsysnqn, "nqn.abc");
        zeroconf_txt_done(&t);
}

static void test_nqn_limits(void **state) {
        ZeroconfTxt t;
        char buf[4 + 300];

        memcpy(buf, "nqn=", 4);
        memset(buf + 4, 'a', 300);

        zeroconf_txt_init(&t);
        assert_int_equal(zeroconf_txt_add(&t, buf, 4 + 224), ZEROCONF_TXT_BAD_NQN);
        assert_int_equal(zeroconf_txt_add(&t, "nqn=", 4), ZEROCONF_TXT_BAD_NQN);
        assert_int_equal(zeroconf_txt_add(&t, "nqn", 3), ZEROCONF_TXT_BAD_NQN);
        assert_int_equal(zeroconf_txt_add(&t, buf, 4 + 223), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_add(&t, "p=tcp", 5), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_finish(&t), 0);
        assert_int_equal(strlen(t.subsysnqn), 223);
        zeroconf_txt_done(&t);
}

static void test_long_protocol_truncated(void **state) {
        ZeroconfTxt t;
        char buf[2 + 255];

        memcpy(buf, "p=", 2);
        memset(buf + 2, 'z', 255);
        zeroconf_txt_init(&t);
        assert_int_equal(zeroconf_txt_add(&t, buf, sizeof(buf)), ZEROCONF_TXT_USED);
        assert_int_equal(zeroconf_txt_finish(&t), -EPROTONOSUPPORT);
        assert_int_equal(strlen(t.protocol), ZEROCONF_TXT_PROTO_MAX);
        zeroconf_txt_done(&t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_tcp_default_nqn),
                cmocka_unit_test(test_case_insensitive),
                cmocka_unit_test(test_rdma_aliases),
                cmocka_unit_test(test_bad_protocol),
                cmocka_unit_test(test_first_wins),
                cmocka_unit_test(test_other_keys_and_empty),
                cmocka_unit_test(test_nonprintable),
                cmocka_unit_test(test_not_nul_terminated),
                cmocka_unit_test(test_nqn_limits),
                cmocka_unit_test(test_long_protocol_truncated),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "filter.h"
#include "macro.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:host"

static Tid tid;

static int setup(void **state) {
        return tid_init(&tid, "tcp", "192.168.1.10", NULL, "nqn.sub", "10.0.0.1", "eth0", NULL, HOSTNQN, false);
}

static int teardown(void **state) {
        tid_done(&tid);
        return 0;
}

static void test_empty_entry(void **state) {
        ConfController e = {};

        assert_false(filter_exclude_matches(&e, &tid));
        e.host_traddr = (char *) "10.0.0.1"; /* ignored: still no key */
        assert_false(filter_exclude_matches(&e, &tid));
        e.transport = (char *) "";           /* empty = not given */
        assert_false(filter_exclude_matches(&e, &tid));
        assert_false(filter_exclude_matches(NULL, &tid));
}

static void test_each_key(void **state) {
        struct {
                size_t off;
                const char *match, *nomatch;
        } cases[] = {
                { offsetof(ConfController, transport), "TCP", "rdma" },
                { offsetof(ConfController, traddr), "::ffff:192.168.1.10", "192.168.1.11" },
                { offsetof(ConfController, trsvcid), "8009", "4420" },
                { offsetof(ConfController, nqn), "nqn.sub", DISC_NQN },
                { offsetof(ConfController, host_iface), "eth0", "eth1" },
                { offsetof(ConfController, host_nqn), HOSTNQN, "nqn.other" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ConfController e = {};
                char **f = (char **) ((char *) &e + cases[i].off);

                *f = (char *) cases[i].match;
                assert_true(filter_exclude_matches(&e, &tid));
                *f = (char *) cases[i].nomatch;
                assert_false(filter_exclude_matches(&e, &tid));
        }
}

static void test_minimal_match(void **state) {
        ConfController e = { .transport = (char *) "tcp", .traddr = (char *) "192.168.1.10",
                             .host_traddr = (char *) "9.9.9.9" /* ignored */ };
        ConfController list[3] = {
                { .traddr = (char *) "1.1.1.1" },
                { .transport = (char *) "tcp", .trsvcid = (char *) "4420" },
                { .nqn = (char *) "nqn.sub", .host_iface = (char *) "eth0" },
        };

        assert_true(filter_exclude_matches(&e, &tid));
        e.trsvcid = (char *) "4420";
        assert_false(filter_exclude_matches(&e, &tid));

        assert_int_equal(filter_excluded(list, 3, &tid), 2);
        assert_int_equal(filter_excluded(list, 2, &tid), -ENOENT);
        assert_int_equal(filter_excluded(NULL, 0, &tid), -ENOENT);
}

static void test_address(void **state) {
        const unsigned both = IP_FAMILY_V4 | IP_FAMILY_V6;

        assert_int_equal(filter_address("tcp", "1.2.3.4", both), FILTER_OK);
        assert_int_equal(filter_address("tcp", "fe80::1%eth0", both), FILTER_OK);
        assert_int_equal(filter_address("rdma", "::ffff:1.2.3.4", IP_FAMILY_V4), FILTER_OK);
        assert_int_equal(filter_address("tcp", "1.2.3.4", IP_FAMILY_V6), FILTER_IP_FAMILY);
        assert_int_equal(filter_address("TCP", "::ffff:1.2.3.4", IP_FAMILY_V6), FILTER_IP_FAMILY);
        assert_int_equal(filter_address("tcp", "2001:db8::1", IP_FAMILY_V4), FILTER_IP_FAMILY);
        assert_int_equal(filter_address("tcp", "2001:db8::1", IP_FAMILY_V6), FILTER_OK);
        assert_int_equal(filter_address("tcp", "1.2.3.4", 0), FILTER_OK);
        assert_int_equal(filter_address("tcp", "host.example.com", both), FILTER_BAD_ADDRESS);
        assert_int_equal(filter_address("tcp", "", both), FILTER_BAD_ADDRESS);
        assert_int_equal(filter_address("rdma", NULL, both), FILTER_BAD_ADDRESS);
        assert_int_equal(filter_address("tcp", "1.2.3.4%eth0", both), FILTER_BAD_ADDRESS);
        assert_int_equal(filter_address("tcp", "256.1.1.1", both), FILTER_BAD_ADDRESS);
        assert_int_equal(filter_address("fc", "nn-0x1:pn-0x2", IP_FAMILY_V4), FILTER_OK);
        assert_int_equal(filter_address("loop", "", IP_FAMILY_V4), FILTER_OK);
        assert_string_equal(filter_verdict_to_string(FILTER_OK), "ok");
        assert_non_null(filter_verdict_to_string(FILTER_BAD_ADDRESS));
        assert_non_null(filter_verdict_to_string(FILTER_IP_FAMILY));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty_entry),
                cmocka_unit_test(test_each_key),
                cmocka_unit_test(test_minimal_match),
                cmocka_unit_test(test_address),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

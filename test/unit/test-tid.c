/* SPDX-License-Identifier: Apache-2.0 */
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
#include "tid.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"

static void mk(Tid *t, const char *transport, const char *traddr, const char *trsvcid,
               const char *nqn, const char *htraddr, const char *hiface) {
        assert_int_equal(tid_init(t, transport, traddr, trsvcid, nqn, htraddr, hiface, NULL, HOSTNQN, false), 0);
}

static void test_ip_canonical(void **state) {
        char buf[128];

        assert_int_equal(ip_canonical("1.2.3.4", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1.2.3.4");
        assert_int_equal(ip_canonical("::ffff:1.2.3.4", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1.2.3.4");
        assert_int_equal(ip_canonical("::FFFF:0102:0304", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "1.2.3.4");
        assert_int_equal(ip_canonical("FE80::0:1", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "fe80::1");
        assert_int_equal(ip_canonical("2001:DB8:0:0:0:0:0:1", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "2001:db8::1");
        assert_int_equal(ip_canonical("fe80::1%ETH0", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "fe80::1%eth0");
        assert_int_equal(ip_canonical("fe80::1%", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical("1.2.3.4%eth0", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical("host.example.com", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical("", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical(NULL, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical("1.2.3", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(ip_canonical("fe80::1", buf, 4), -ENOBUFS);
}

static void test_ip_family(void **state) {
        assert_int_equal(ip_family_of("1.2.3.4"), 4);
        assert_int_equal(ip_family_of("::ffff:1.2.3.4"), 4);
        assert_int_equal(ip_family_of("fe80::1"), 6);
        assert_int_equal(ip_family_of("fe80::1%eth0"), 6);
        assert_int_equal(ip_family_of("fe80::1%"), 0);
        assert_int_equal(ip_family_of("example.com"), 0);
        assert_int_equal(ip_family_of(""), 0);
        assert_int_equal(ip_family_of(NULL), 0);
        assert_true(ip_equal("::ffff:1.2.3.4", "1.2.3.4"));
        assert_true(ip_equal("fe80::1", "FE80::0:1"));
        assert_true(ip_equal("Host.Example.COM", "host.example.com"));
        assert_false(ip_equal("fe80::1%eth0", "fe80::1%eth1"));
        assert_false(ip_equal("fe80::1%eth0", "fe80::1"));
        assert_true(ip_equal("fe80::1%eth0", "FE80::1%ETH0"));
        assert_true(ip_equal(NULL, ""));
}

static void test_defaults(void **state) {
        Tid t;

        mk(&t, "TCP", "1.2.3.4", NULL, NULL, NULL, "eth0");
        assert_string_equal(t.transport, "tcp");
        assert_string_equal(t.trsvcid, "8009");
        assert_string_equal(t.subsysnqn, DISC_NQN);
        assert_string_equal(t.host_nqn, HOSTNQN);
        assert_string_equal(t.host_traddr, "");
        assert_string_equal(t.host_iface, "eth0");
        tid_done(&t);

        mk(&t, "rdma", "::ffff:10.0.0.1", "", "", "", "");
        assert_string_equal(t.trsvcid, "4420");
        assert_string_equal(t.traddr, "10.0.0.1");
        tid_done(&t);

        mk(&t, "fc", "nn-0x20000090FA942779:pn-0x10000090FA942779", NULL, "nqn.x", NULL, NULL);
        assert_string_equal(t.trsvcid, "");
        assert_string_equal(t.traddr, "nn-0x20000090fa942779:pn-0x10000090fa942779");
        assert_string_equal(t.subsysnqn, "nqn.x");
        tid_done(&t);

        assert_int_equal(tid_init(&t, "tcp", "1.2.3.4", "4420", NULL, "10.0.0.1", "eth0", "nqn.mine", HOSTNQN,
                                  true), 0);
        assert_string_equal(t.host_iface, "");
        assert_string_equal(t.host_nqn, "nqn.mine");
        assert_string_equal(t.trsvcid, "4420");
        tid_done(&t);

        /* everything NULL: still all fields non-NULL */
        assert_int_equal(tid_init(&t, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false), 0);
        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                assert_non_null(*tid_field(&t, i));
        tid_done(&t);
        tid_done(&t); /* idempotent */
        tid_done(NULL);
}

static void test_equal_hash(void **state) {
        Tid a, b, c;

        mk(&a, "tcp", "::ffff:1.2.3.4", NULL, NULL, "fe80::1", "eth0");
        mk(&b, "TCP", "1.2.3.4", "8009", DISC_NQN, "FE80::0:1", "eth0");
        assert_true(tid_equal(&a, &b));
        assert_int_equal(tid_hash(&a), tid_hash(&b));

        /* Un-normalised spellings are equal once tid_init normalised them
         * (tid_equal itself compares stored strings). */
        assert_int_equal(tid_init(&c, "tcp", "::FFFF:1.2.3.4", "8009", DISC_NQN, "fe80::0:1", "eth0", HOSTNQN,
                                  NULL, false), 0);
        assert_true(tid_equal(&a, &c));
        assert_int_equal(tid_hash(&a), tid_hash(&c));
        tid_done(&c);

        for (unsigned i = 0; i < TID_N_FIELDS; i++) {
                Tid d;
                char **f;

                assert_int_equal(tid_copy(&d, &a), 0);
                assert_true(tid_equal(&a, &d));
                f = tid_field(&d, i);
                free(*f);
                *f = strdup("different");
                assert_false(tid_equal(&a, &d));
                assert_int_not_equal(tid_hash(&a), tid_hash(&d));
                tid_done(&d);
        }

        /* NULL == "" */
        c = (Tid) {};
        {
                Tid e = { .transport = (char *) "", .traddr = (char *) "" };
                assert_true(tid_equal(&c, &e));
                assert_int_equal(tid_hash(&c), tid_hash(&e));
        }

        /* scope ids */
        tid_done(&b);
        mk(&b, "tcp", "fe80::5%eth0", NULL, NULL, NULL, NULL);
        tid_done(&a);
        mk(&a, "tcp", "FE80::5%ETH0", NULL, NULL, NULL, NULL);
        assert_true(tid_equal(&a, &b));
        assert_int_equal(tid_hash(&a), tid_hash(&b));
        tid_done(&a);
        mk(&a, "tcp", "fe80::5%2", NULL, NULL, NULL, NULL);
        assert_false(tid_equal(&a, &b));
        tid_done(&a);
        tid_done(&b);

        assert_true(tid_equal(NULL, NULL));
        assert_false(tid_equal(&c, NULL));
}

static void test_to_string(void **state) {
        Tid t;
        char *s;

        mk(&t, "tcp", "192.168.1.10", NULL, NULL, "10.0.0.1", "eth0");
        s = tid_to_string(&t);
        assert_string_equal(s, "(tcp, 192.168.1.10, 8009, " DISC_NQN ", eth0, 10.0.0.1)");
        free(s);
        tid_done(&t);

        mk(&t, "fc", "nn-1:pn-2", NULL, "nqn.a", NULL, NULL);
        s = tid_to_string(&t);
        assert_string_equal(s, "(fc, nn-1:pn-2, nqn.a)");
        free(s);
        tid_done(&t);

        t = (Tid) {};
        s = tid_to_string(&t);
        assert_string_equal(s, "()");
        free(s);
}

static void test_equal_any_scope(void **state) {
        assert_true(ip_equal_any_scope("fe80::1", "FE80::0:1%eth0"));
        assert_true(ip_equal_any_scope("fe80::1%ETH0", "fe80::1"));
        assert_true(ip_equal_any_scope("fe80::1%eth0", "fe80::1%eth0"));
        assert_false(ip_equal_any_scope("fe80::1%eth0", "fe80::1%eth1"));
        assert_false(ip_equal_any_scope("fe80::1", "fe80::2%eth0"));
        assert_true(ip_equal_any_scope("::ffff:1.2.3.4", "1.2.3.4"));
        assert_true(ip_equal_any_scope("Host.Example", "host.example"));
        assert_false(ip_equal_any_scope("1.2.3.4", "host.example"));
        assert_true(ip_equal_any_scope("", NULL));
        /* ip_equal keeps scopes strict */
        assert_false(ip_equal("fe80::1", "fe80::1%eth0"));
}

static void test_index(void **state) {
        _cleanup_(tid_index_freep) TidIndex *x = NULL;
        enum { N = 5000 };
        Tid *t = calloc(N, sizeof(Tid));
        char a[64];

        assert_non_null(t);
        assert_int_equal(tid_index_new(&x), 0);
        for (unsigned i = 0; i < N; i++) {
                (void) snprintf(a, sizeof(a), "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
                mk(&t[i], "tcp", a, NULL, NULL, NULL, NULL);
                assert_int_equal(tid_index_put(x, &t[i], &t[i]), 0);
        }
        assert_int_equal(tid_index_size(x), N);
        assert_int_equal(tid_index_put(x, &t[7], NULL), -EEXIST);
        for (unsigned i = 0; i < N; i++) {
                Tid q;

                (void) snprintf(a, sizeof(a), "::ffff:10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
                mk(&q, "TCP", a, "8009", NULL, NULL, NULL);
                assert_ptr_equal(tid_index_get(x, &q), &t[i]);
                tid_done(&q);
        }
        /* Remove every third, then everything must still be found or not. */
        for (unsigned i = 0; i < N; i += 3)
                assert_ptr_equal(tid_index_remove(x, &t[i]), &t[i]);
        assert_null(tid_index_remove(x, &t[0]));
        for (unsigned i = 0; i < N; i++)
                assert_ptr_equal(tid_index_get(x, &t[i]), i % 3 == 0 ? NULL : &t[i]);
        for (unsigned i = 0; i < N; i++)
                if (i % 3 != 0)
                        assert_ptr_equal(tid_index_remove(x, &t[i]), &t[i]);
        assert_int_equal(tid_index_size(x), 0);
        for (unsigned i = 0; i < N; i++)
                tid_done(&t[i]);
        free(t);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ip_canonical),
                cmocka_unit_test(test_ip_family),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_equal_hash),
                cmocka_unit_test(test_to_string),
                cmocka_unit_test(test_equal_any_scope),
                cmocka_unit_test(test_index),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "conf.h"
#include "tid.h"
#include "validate.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555"
#define FC_A "nn-0x20000090fa942779:pn-0x10000090fa942779"

static void test_chars(void **state) {
        assert_true(validate_chars(""));
        assert_true(validate_chars("abc.def:1-2_3"));
        assert_true(validate_chars("caf\xc3\xa9")); /* UTF-8 é */
        assert_false(validate_chars(NULL));
        assert_false(validate_chars("a,b"));
        assert_false(validate_chars("a=b"));
        assert_false(validate_chars("a b"));
        assert_false(validate_chars("a\tb"));
        assert_false(validate_chars("a\nb"));
        assert_false(validate_chars("a\x7f"));
        assert_false(validate_chars("\xc2\x85")); /* C1 control */
        assert_false(validate_chars("\xff"));
        assert_false(validate_chars("\xc3")); /* truncated */
        assert_false(validate_chars("\xed\xa0\x80")); /* surrogate */
        assert_false(validate_chars("\xc0\xaf")); /* overlong */
}

static void test_port(void **state) {
        assert_true(validate_port("1"));
        assert_true(validate_port("8009"));
        assert_true(validate_port("65535"));
        assert_false(validate_port("0"));
        assert_false(validate_port("65536"));
        assert_false(validate_port("080"));
        assert_false(validate_port("+80"));
        assert_false(validate_port("-1"));
        assert_false(validate_port("8011,traddr=127.0.0.3"));
        assert_false(validate_port("1000000"));
        assert_false(validate_port(""));
        assert_false(validate_port(NULL));
}

static void test_ip(void **state) {
        assert_true(validate_ip("192.168.1.1"));
        assert_true(validate_ip("2001:db8::1"));
        assert_true(validate_ip("::ffff:1.2.3.4"));
        assert_true(validate_ip("fe80::1%eth0"));
        assert_true(validate_ip("fe80::1%2"));
        assert_false(validate_ip("2001:db8::1%eth0")); /* scope on a global address */
        assert_false(validate_ip("1.2.3.4%eth0"));
        assert_false(validate_ip("fe80::1%"));
        assert_false(validate_ip("fe80::1%eth0,x"));
        assert_false(validate_ip("fe80::1%a/b"));
        assert_false(validate_ip("host.example.com"));
        assert_false(validate_ip("1.2.3"));
        assert_false(validate_ip(" 1.2.3.4"));
        assert_false(validate_ip(""));
}

static void test_fc(void **state) {
        assert_true(validate_fc_addr(FC_A));
        assert_true(validate_fc_addr("NN-0x20000090FA942779:PN-0x10000090FA942779"));
        assert_false(validate_fc_addr("nn-0x20000090fa94277:pn-0x10000090fa942779"));
        assert_false(validate_fc_addr("nn-0x20000090fa942779,pn-0x10000090fa942779"));
        assert_false(validate_fc_addr("nn-0x20000090fa94277g:pn-0x10000090fa942779"));
        assert_false(validate_fc_addr("nn-1:pn-2"));
}

static void test_ifname(void **state) {
        assert_true(validate_ifname("eth0"));
        assert_true(validate_ifname("enp0s31f6.100"));
        assert_true(validate_ifname("abcdefghijklmno")); /* 15 */
        assert_false(validate_ifname("abcdefghijklmnop")); /* 16 */
        assert_false(validate_ifname(""));
        assert_false(validate_ifname("."));
        assert_false(validate_ifname(".."));
        assert_false(validate_ifname("a/b"));
        assert_false(validate_ifname("a:b"));
        assert_false(validate_ifname("a b"));
}

static void test_nqn(void **state) {
        char big[NVMF_NQN_MAX + 2];

        assert_true(validate_nqn(DISC_NQN));
        assert_true(validate_nqn(HOSTNQN));
        assert_true(validate_nqn("nqn.2024-01.io.example:disc"));
        assert_true(validate_nqn("nqn.1988-11.com.dell:powerstore:00:a1b2"));
        assert_true(validate_nqn("nqn.2014-08.org.example"));
        assert_true(validate_nqn("nqn.2024-01.io.example:sub\xc3\xa9"));
        assert_false(validate_nqn("nqn.2024-01.io.example:"));
        assert_false(validate_nqn("nqn.2024-13.io.example:x"));
        assert_false(validate_nqn("nqn.2024-00.io.example:x"));
        assert_false(validate_nqn("nqn.24-01.io.example:x"));
        assert_false(validate_nqn("nqn.2024-01.:x"));
        assert_false(validate_nqn("nqn.2024-01.io..example:x"));
        assert_false(validate_nqn("nqn.2024-01.io.example.:x"));
        assert_false(validate_nqn("nqn.2014-08.org.nvmexpress:uuid:1234"));
        assert_false(validate_nqn("nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-55555555555x"));
        assert_false(validate_nqn("nqn.2024-01.io.example:a,traddr=1.2.3.4"));
        assert_false(validate_nqn("nqn.2024-01.io.example:a b"));
        assert_false(validate_nqn("hello"));
        assert_false(validate_nqn(""));

        memset(big, 'x', sizeof(big));
        memcpy(big, "nqn.2024-01.io.example:", 23);
        big[NVMF_NQN_MAX] = 0;
        assert_true(validate_nqn(big));
        big[NVMF_NQN_MAX] = 'x';
        big[NVMF_NQN_MAX + 1] = 0;
        assert_false(validate_nqn(big));
}

static int check(const char *transport, const char *traddr, const char *trsvcid, const char *nqn,
                 const char *htraddr, const char *hiface, const char *hnqn, unsigned *field) {
        Tid t;
        int r;

        assert_int_equal(
                tid_init(&t, transport, traddr, trsvcid, nqn, htraddr, hiface, hnqn, HOSTNQN, false), 0);
        r = tid_validate(&t, field, NULL);
        tid_done(&t);
        return r;
}

static void test_tid(void **state) {
        unsigned f = 99;

        assert_int_equal(check("tcp", "192.168.1.1", NULL, NULL, NULL, NULL, NULL, &f), 0);
        assert_int_equal(check("tcp", "fe80::1%eth0", "4420", "nqn.2024-01.io.example:x", "fe80::2", "eth0",
                               NULL, &f),
                         0);
        assert_int_equal(check("rdma", "10.0.0.1", NULL, NULL, NULL, NULL, NULL, &f), 0);
        assert_int_equal(check("fc", FC_A, NULL, NULL, FC_A, NULL, NULL, &f), 0);
        assert_int_equal(check("loop", "x", NULL, NULL, NULL, NULL, NULL, &f), 0);

        /* The smuggling of issue 11, field by field. */
        assert_int_equal(check("tcp", "127.0.0.2", "8011,traddr=127.0.0.3", NULL, NULL, NULL, NULL, &f),
                         -EINVAL);
        assert_string_equal(tid_field_names[f], "trsvcid");
        assert_int_equal(check("tcp", "127.0.0.2,traddr=127.0.0.3", NULL, NULL, NULL, NULL, NULL, &f),
                         -EINVAL);
        assert_string_equal(tid_field_names[f], "traddr");
        assert_int_equal(
                check("tcp", "127.0.0.2", NULL, "nqn.2024-01.io.x:a,traddr=127.0.0.3", NULL, NULL, NULL, &f),
                -EINVAL);
        assert_string_equal(tid_field_names[f], "subsysnqn");
        assert_int_equal(check("tcp", "127.0.0.2", NULL, NULL, "1.2.3.4,x", NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "host-traddr");
        assert_int_equal(check("tcp", "127.0.0.2", NULL, NULL, NULL, "eth0,x", NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "host-iface");
        assert_int_equal(check("tcp", "127.0.0.2", NULL, NULL, NULL, NULL, "nqn.x=y", &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "host-nqn");

        assert_int_equal(check("tcp", "host.example.com", NULL, NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "traddr");
        assert_int_equal(check("tcp", "1.2.3.4", "0", NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "trsvcid");
        assert_int_equal(check("tcp", "1.2.3.4", NULL, "hello", NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "subsysnqn");
        assert_int_equal(check("fc", "nn-1:pn-2", NULL, NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "traddr");
        assert_int_equal(check("fc", FC_A, "8009", NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "trsvcid");
        assert_int_equal(check("pcie", "x", NULL, NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "transport");
        assert_int_equal(check("loop", "a b", NULL, NULL, NULL, NULL, NULL, &f), -EINVAL);
        assert_string_equal(tid_field_names[f], "traddr");

        assert_int_equal(tid_validate(NULL, NULL, NULL), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_chars), cmocka_unit_test(test_port),   cmocka_unit_test(test_ip),
                cmocka_unit_test(test_fc),    cmocka_unit_test(test_ifname), cmocka_unit_test(test_nqn),
                cmocka_unit_test(test_tid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}

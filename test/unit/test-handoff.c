/* SPDX-License-Identifier: Apache-2.0 */
/*
 * daemon/handoff.c without systemctl: the per-device rate limit and the
 * unit-name escaping; and daemon/log.c's escaping of strings from the
 * network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "handoff.h"
#include "log.h"
#include "macro.h"

static void test_ratelimit(void **state) {
        sd_event *e = NULL;
        Handoff *h = NULL;
        unsigned sup = 99;
        uint64_t t = 1000 * USEC_PER_SEC;

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(handoff_new(&h, e), 0);

        assert_int_equal(handoff_ratelimit(h, "nvme3", t, &sup), 1);
        assert_int_equal(sup, 0);
        /* A storm from nvme3: suppressed and counted... */
        for (unsigned i = 1; i <= 100; i++) {
                assert_int_equal(handoff_ratelimit(h, "nvme3", t + i * 10000, &sup), 0);
                assert_int_equal(sup, i);
        }
        /* ... while another device is not held up. */
        assert_int_equal(handoff_ratelimit(h, "nvme4", t + 1, &sup), 1);
        /* After the interval: allowed again, with the count. */
        assert_int_equal(handoff_ratelimit(h, "nvme3", t + HANDOFF_INTERVAL_USEC, &sup), 1);
        assert_int_equal(sup, 100);
        assert_int_equal(handoff_ratelimit(h, "nvme3", t + HANDOFF_INTERVAL_USEC + 1, &sup), 0);
        assert_int_equal(sup, 1);

        assert_null(handoff_free(h));
        sd_event_unref(e);
}

static void test_unit_escape(void **state) {
        _cleanup_free_ char *a = handoff_unit_escape("--device=nvme1\t--traddr=fe80::1%eth0/x");

        /* systemd-escape: "-" is escaped, "/" becomes "-". */
        assert_string_equal(a, "\\x2d\\x2ddevice\\x3dnvme1\\x09\\x2d\\x2dtraddr\\x3dfe80::1\\x25eth0-x");
}

static void test_log_escape(void **state) {
        char buf[64];

        /* A forged line, an escape sequence, invalid UTF-8 (a lone 0xff, a
         * truncated sequence, an encoded surrogate), valid UTF-8 kept. */
        assert_int_equal(log_escape_to("a\nb\x1b[1mc", buf, sizeof(buf)), strlen("a\\x0ab\\x1b[1mc"));
        assert_string_equal(buf, "a\\x0ab\\x1b[1mc");
        (void) log_escape_to("x\xffy\xc3", buf, sizeof(buf));
        assert_string_equal(buf, "x\\xffy\\xc3");
        (void) log_escape_to("\xed\xa0\x80", buf, sizeof(buf));
        assert_string_equal(buf, "\\xed\\xa0\\x80");
        (void) log_escape_to("caf\xc3\xa9 \xe2\x82\xac", buf, sizeof(buf));
        assert_string_equal(buf, "caf\xc3\xa9 \xe2\x82\xac");
        (void) log_escape_to(NULL, buf, sizeof(buf));
        assert_string_equal(buf, "");
        /* Truncation never splits an escape or a character. */
        (void) log_escape_to("ab\n", buf, 5);
        assert_string_equal(buf, "ab");
        (void) log_escape_to("a\xc3\xa9", buf, 3);
        assert_string_equal(buf, "a");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ratelimit),
                cmocka_unit_test(test_unit_escape),
                cmocka_unit_test(test_log_escape),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* lib/utf8: the repair applied wherever a string leaves stafd. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "utf8.h"

#define R UTF8_REPLACEMENT

static void test_char_len(void **state) {
        static const struct {
                const char *s;
                size_t len;
        } cases[] = {
                { "a", 1 },
                { "\xc3\xa9", 2 },
                { "\xe2\x82\xac", 3 },
                { "\xf0\x9f\x98\x80", 4 },
                { "\xf4\x8f\xbf\xbf", 4 },      /* U+10FFFF */
                { "\xf4\x90\x80\x80", 0 },      /* above U+10FFFF */
                { "\xed\x9f\xbf", 3 },          /* U+D7FF */
                { "\xed\xa0\x80", 0 },          /* U+D800: surrogate */
                { "\xed\xbf\xbf", 0 },          /* U+DFFF */
                { "\xc0\x80", 0 },              /* overlong NUL */
                { "\xc1\xbf", 0 },
                { "\xe0\x9f\xbf", 0 },          /* overlong */
                { "\xf0\x8f\xbf\xbf", 0 },      /* overlong */
                { "\x80", 0 },                  /* stray continuation */
                { "\xe2\x82", 0 },              /* truncated by the NUL */
                { "\xff", 0 },
                { "\xf5\x80\x80\x80", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(utf8_char_len(cases[i].s), cases[i].len);
}

static void test_sanitize(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "", "" },
                { "plain nqn.2014-08.org.nvmexpress", "plain nqn.2014-08.org.nvmexpress" },
                { "caf\xc3\xa9", "caf\xc3\xa9" },
                { "a\xff" "b", "a" R "b" },
                { "\xed\xa0\x80\xed\xbf\xbf", R R R R R R },     /* CESU "\ud800\udfff" */
                { "\xe2\x82", R R },
                { "\xc3", R },
                { "\xff\xfe\xfd", R R R },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *s = utf8_sanitize(cases[i].in);

                assert_non_null(s);
                assert_string_equal(s, cases[i].out);
                assert_true(utf8_is_valid(s));
                assert_int_equal(utf8_is_valid(cases[i].in), streq(cases[i].in, cases[i].out));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_char_len),
                cmocka_unit_test(test_sanitize),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

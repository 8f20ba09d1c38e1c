/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "json-tree.h"
#include "macro.h"

static char *take(JsonWriter *w) {
        char *s = NULL;
        size_t n = 0;

        assert_int_equal(json_writer_take(w, &s, &n), 0);
        assert_int_equal(strlen(s), n);
        return s;
}

static void test_shapes(void **state) {
        JsonWriter w = {};
        _cleanup_free_ char *s = NULL;

        json_writer_begin_object(&w);
        json_writer_kv(&w, "a", "1");
        json_writer_key(&w, "n");
        json_writer_int(&w, -42);
        json_writer_key(&w, "list");
        json_writer_begin_array(&w);
        json_writer_string(&w, "x");
        json_writer_begin_object(&w);
        json_writer_end_object(&w);
        json_writer_begin_array(&w);
        json_writer_end_array(&w);
        json_writer_string(&w, NULL);
        json_writer_end_array(&w);
        json_writer_end_object(&w);
        s = take(&w);
        assert_string_equal(s, "{\"a\":\"1\",\"n\":-42,\"list\":[\"x\",{},[],\"\"]}");
}

static void test_escaping_round_trip(void **state) {
        const char *nasty = "quote\" back\\slash\nnew\ttab\rcr\x01\x1f end/é";
        JsonWriter w = {};
        _cleanup_free_ char *s = NULL;
        _cleanup_json_ struct json_object *o = NULL;

        json_writer_begin_object(&w);
        json_writer_kv(&w, nasty, nasty);
        json_writer_end_object(&w);
        s = take(&w);
        o = json_tokener_parse(s);
        assert_non_null(o);
        json_object_object_foreach(o, k, v) {
                assert_string_equal(k, nasty);
                assert_string_equal(json_object_get_string(v), nasty);
        }
}

/* Invalid UTF-8 never leaves the writer: each bad byte is U+FFFD; valid
 * multi-byte characters are kept. */
static void test_invalid_utf8(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "a\xff" "b",             "\"a\xef\xbf\xbd" "b\"" },
                { "\xed\xa0\x80",          "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },  /* "\ud800" as json-c decodes it */
                { "\xc0\xaf",              "\"\xef\xbf\xbd\xef\xbf\xbd\"" },              /* overlong '/' */
                { "\xf4\x90\x80\x80",      "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"" },
                { "\xe2\x82",              "\"\xef\xbf\xbd\xef\xbf\xbd\"" },              /* truncated */
                { "caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"" },
                { "q\"\xff",               "\"q\\\"\xef\xbf\xbd\"" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                JsonWriter w = {};
                _cleanup_free_ char *s = NULL;

                json_writer_string(&w, cases[i].in);
                s = take(&w);
                assert_string_equal(s, cases[i].out);
        }
}

static void test_errors(void **state) {
        JsonWriter w = {};
        char *s = NULL;

        /* unbalanced */
        json_writer_begin_array(&w);
        assert_int_equal(json_writer_take(&w, &s, NULL), -EINVAL);
        assert_null(w.buf);
        /* a key outside an object is refused, and the error sticks */
        json_writer_key(&w, "k");
        json_writer_begin_object(&w);
        json_writer_end_object(&w);
        assert_int_equal(json_writer_take(&w, &s, NULL), -EINVAL);
        /* closing what was never opened */
        json_writer_end_object(&w);
        assert_int_equal(json_writer_take(&w, &s, NULL), -EINVAL);
        /* too deep */
        for (unsigned i = 0; i <= JSON_WRITER_MAX_DEPTH; i++)
                json_writer_begin_array(&w);
        assert_int_equal(json_writer_take(&w, &s, NULL), -E2BIG);
        /* key without a value */
        json_writer_begin_object(&w);
        json_writer_key(&w, "k");
        json_writer_end_object(&w);
        assert_int_equal(json_writer_take(&w, &s, NULL), -EINVAL);
        /* nothing at all is an empty document, not an error */
        assert_int_equal(json_writer_take(&w, &s, NULL), 0);
        assert_string_equal(s, "");
        free(s);
}

/* The streamed DLP equals json-c's rendering of the same entries. */
static void test_dlp_matches_json_c(void **state) {
        Dlp *d = dlp_new_empty();
        JsonWriter w = {};
        _cleanup_free_ char *s = NULL;
        _cleanup_json_ struct json_object *mine = NULL, *ref = NULL;

        for (unsigned i = 0; i < 300; i++) {
                char addr[32], nqn[64];
                const char *v[_DLPE_N_KEYS] = {
                        [DLPE_TRTYPE] = "tcp", [DLPE_ADRFAM] = "ipv4", [DLPE_TRADDR] = addr,
                        [DLPE_TRSVCID] = "4420", [DLPE_SUBNQN] = nqn, [DLPE_SUBTYPE] = "nvme",
                        [DLPE_TREQ] = "not specified", [DLPE_PORTID] = "1", [DLPE_CNTLID] = "65535",
                        [DLPE_ASQSZ] = "32", [DLPE_EFLAGS] = "0", [DLPE_SECTYPE] = i % 2 ? "none" : NULL,
                };
                DlpEntry *e;

                (void) snprintf(addr, sizeof(addr), "10.0.%u.%u", i / 256, i % 256);
                (void) snprintf(nqn, sizeof(nqn), "nqn.2024-01.io.example:\"s%u\"", i);
                assert_int_equal(dlpe_new(&e, v), 0);
                assert_int_equal(dlp_append(d, e), 0);
        }
        json_writer_dlp(&w, d);
        s = take(&w);
        mine = json_tokener_parse(s);
        ref = json_dlp(d);
        assert_non_null(mine);
        assert_non_null(ref);
        assert_true(json_object_equal(mine, ref));
        dlp_free(d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_shapes),
                cmocka_unit_test(test_escaping_round_trip),
                cmocka_unit_test(test_invalid_utf8),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_dlp_matches_json_c),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "macro.h"
#include "render.h"

/* Run a renderer into a memory buffer; returns the malloc'd text. */
typedef int (*render_fn)(FILE *f, struct json_object *o, const void *arg);

static char *capture(render_fn fn, struct json_object *o, const void *arg, int *ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        *ret = fn(f, o, arg);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static int do_table(FILE *f, struct json_object *o, const void *arg) {
        return render_table(f, o, arg);
}

static int do_dc_id(FILE *f, struct json_object *o, const void *arg) {
        return render_dc_id(f, o);
}

static int do_tree(FILE *f, struct json_object *o, const void *arg) {
        return render_tree(f, o, 0);
}

static int do_adlp(FILE *f, struct json_object *o, const void *arg) {
        return render_all_log_pages(f, o, arg != NULL);
}

static struct json_object *parse(const char *s) {
        struct json_object *o = json_tokener_parse(s);

        assert_non_null(o);
        return o;
}

static void test_table_aligned(void **state) {
        static const char * const cols[] = { "a", "long-name", "c", NULL };
        struct json_object *rows = parse(
                "[{\"a\": \"xxxx\", \"long-name\": \"1\", \"c\": \"last\"},"
                " {\"a\": \"y\", \"c\": \"\"}]");
        _cleanup_free_ char *out = NULL;
        int r;

        out = capture(do_table, rows, cols, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out,
                "a     long-name  c\n"
                "xxxx  1          last\n"
                "y     -          -\n");
        json_object_put(rows);
}

/* Strings from the network reach a terminal escaped: no ESC sequence, CR
 * or C1 control gets through, nor a byte that is not UTF-8. */
static void test_terminal_escapes(void **state) {
        static const char * const cols[] = { "a", "b", NULL };
        struct json_object *rows = json_object_new_array(), *row = json_object_new_object();
        _cleanup_free_ char *out = NULL, *out2 = NULL;
        int r;

        json_object_object_add(row, "a", json_object_new_string("\x1b[2Jx\r"));
        json_object_object_add(row, "b", json_object_new_string("\xc2\x9b" "caf\xc3\xa9\xff"));
        json_object_array_add(rows, row);
        out = capture(do_table, rows, cols, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out,
                "a             b\n"
                "\\x1b[2Jx\\x0d  \\xc2\\x9bcaf\xc3\xa9\\xff\n");
        out2 = capture(do_tree, row, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out2, "a: \\x1b[2Jx\\x0d\nb: \\xc2\\x9bcaf\xc3\xa9\\xff\n");
        json_object_put(rows);
}

static void test_table_empty_and_bad(void **state) {
        struct json_object *rows = parse("[]"), *obj = parse("{}");
        _cleanup_free_ char *out = NULL, *out2 = NULL;
        int r;

        out = capture(do_table, rows, render_ls_columns, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out, "device  transport  traddr  trsvcid  subsysnqn  host-traddr  host-iface  host-nqn\n");

        out2 = capture(do_table, obj, render_ls_columns, &r);
        assert_int_equal(r, -EINVAL);
        json_object_put(rows);
        json_object_put(obj);
}

static void test_dc_id(void **state) {
        struct json_object *full = parse(
                "{\"transport\": \"tcp\", \"traddr\": \"192.168.1.10\", \"trsvcid\": \"8009\","
                " \"subsysnqn\": \"nqn.2014-08.org.nvmexpress.discovery\", \"host-traddr\": \"10.0.0.1\","
                " \"host-iface\": \"eth0\", \"host-nqn\": \"nqn.h\", \"device\": \"nvme3\"}");
        struct json_object *bare = parse(
                "{\"transport\": \"fc\", \"traddr\": \"nn-1:pn-2\", \"trsvcid\": \"\","
                " \"subsysnqn\": \"nqn.x\", \"host-traddr\": \"\", \"host-iface\": \"\"}");
        _cleanup_free_ char *a = NULL, *b = NULL;
        int r;

        a = capture(do_dc_id, full, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(a, "(tcp, 192.168.1.10, 8009, nqn.2014-08.org.nvmexpress.discovery, eth0, 10.0.0.1) | nvme3\n");

        b = capture(do_dc_id, bare, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(b, "(fc, nn-1:pn-2, nqn.x)\n");
        json_object_put(full);
        json_object_put(bare);
}

static void test_tree(void **state) {
        struct json_object *o = parse(
                "{\"tron\": false, \"hostnqn\": \"nqn.h\", \"symname\": \"\", \"n\": 3,"
                " \"avahi\": {\"service types\": [\"_nvme-disc._tcp\"], \"services\": {}}}");
        _cleanup_free_ char *out = NULL;
        int r;

        out = capture(do_tree, o, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out,
                "tron: false\n"
                "hostnqn: nqn.h\n"
                "symname:\n"
                "n: 3\n"
                "avahi:\n"
                "    service types:\n"
                "        [0]: _nvme-disc._tcp\n"
                "    services: (none)\n");
        json_object_put(o);
}

static const char adlp_json[] =
        "[{\"discovery-controller\": {\"transport\": \"tcp\", \"traddr\": \"10.0.0.5\","
        "   \"trsvcid\": \"8009\", \"subsysnqn\": \"nqn.d\", \"host-traddr\": \"\","
        "   \"host-iface\": \"\", \"host-nqn\": \"nqn.h\", \"device\": \"nvme1\","
        "   \"origin\": \"configured\", \"connected\": \"True\"},"
        "  \"log-pages\": [{\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"10.0.0.5\","
        "   \"trsvcid\": \"4420\", \"subnqn\": \"nqn.io\", \"subtype\": \"nvme\","
        "   \"treq\": \"not specified\", \"portid\": \"1\", \"cntlid\": \"65535\","
        "   \"asqsz\": \"32\", \"eflags\": \"0\"}]},"
        " {\"discovery-controller\": {\"transport\": \"tcp\", \"traddr\": \"10.0.0.6\","
        "   \"trsvcid\": \"8009\", \"subsysnqn\": \"nqn.d\", \"device\": \"nvme?\"},"
        "  \"log-pages\": []}]";

static void test_adlp(void **state) {
        struct json_object *o = parse(adlp_json);
        _cleanup_free_ char *out = NULL;
        int r;

        out = capture(do_adlp, o, NULL, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out,
                "(tcp, 10.0.0.5, 8009, nqn.d) | nvme1\n"
                "    trtype  adrfam  traddr    trsvcid  subtype  portid  cntlid  treq           asqsz  eflags  subnqn\n"
                "    tcp     ipv4    10.0.0.5  4420     nvme     1       65535   not specified  32     0       nqn.io\n"
                "\n"
                "(tcp, 10.0.0.6, 8009, nqn.d) | nvme?\n"
                "    (no discovery log page entries)\n");
        json_object_put(o);
}

static void test_adlp_detailed(void **state) {
        struct json_object *o = parse(adlp_json);
        _cleanup_free_ char *out = NULL;
        int r;

        out = capture(do_adlp, o, "detailed", &r);
        assert_int_equal(r, 0);
        assert_non_null(strstr(out, "| nvme1\n    origin: configured\n    connected: True\n    trtype"));
        /* Identity keys are on the id line only. */
        assert_null(strstr(out, "host-nqn"));
        json_object_put(o);
}

static void test_adlp_bad(void **state) {
        struct json_object *o = parse("{}"), *a = parse("[1]");
        _cleanup_free_ char *x = NULL, *y = NULL;
        int r;

        x = capture(do_adlp, o, NULL, &r);
        assert_int_equal(r, -EINVAL);
        y = capture(do_adlp, a, NULL, &r);
        assert_int_equal(r, -EBADMSG);
        json_object_put(o);
        json_object_put(a);
}

static void test_get(void **state) {
        struct json_object *o = parse("{\"s\": \"v\", \"b\": true, \"o\": {\"k\": \"/x\"}}");

        assert_string_equal(render_get(o, "s"), "v");
        assert_string_equal(render_get(o, "b"), "true");
        assert_string_equal(render_get(o, "missing"), "");
        assert_string_equal(render_get(o, "o"), "{\"k\":\"/x\"}");
        assert_string_equal(render_get(NULL, "s"), "");
        json_object_put(o);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table_aligned),
                cmocka_unit_test(test_table_empty_and_bad),
                cmocka_unit_test(test_terminal_escapes),
                cmocka_unit_test(test_dc_id),
                cmocka_unit_test(test_tree),
                cmocka_unit_test(test_adlp),
                cmocka_unit_test(test_adlp_detailed),
                cmocka_unit_test(test_adlp_bad),
                cmocka_unit_test(test_get),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

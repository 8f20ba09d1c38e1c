/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exclusions.h"
#include "macro.h"
#include "strv.h"

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:host"

static ExclList *parse(const char *text) {
        ExclList *l;

        assert_int_equal(excl_list_new(&l), 0);
        assert_int_equal(excl_parse_string(l, "x.conf", text, strlen(text)), 0);
        return l;
}

static bool has_warning(const ExclList *l, const char *needle) {
        for (char **w = l->warnings; w && *w; w++)
                if (strstr(*w, needle))
                        return true;
        return false;
}

static void test_parse_valid(void **state) {
        _cleanup_(excl_list_freep) ExclList *l = parse(
                "# comment\n"
                "exclusion = traddr=1.1.1.1\n"   /* outside the section */
                "[exclusions]\n"
                "  exclusion = transport=tcp ; traddr=192.168.1.10;trsvcid=8009;\r\n"
                "; another comment\n"
                "exclusion=nqn=nqn.a;hostnqn=" HOSTNQN ";hostid=ABC;host-iface=eth0;host-traddr=10.0.0.1\n"
                "[other]\n"
                "exclusion = traddr=2.2.2.2\n"
                "[ exclusions ]\n"
                "exclusion = transport=fc;traddr=nn-0x20000090fa942779:pn-0x10000090fa942779");

        assert_int_equal(l->n, 3);
        assert_string_equal(l->entries[0].file, "x.conf");
        assert_int_equal(l->entries[0].line, 4);
        assert_string_equal(l->entries[0].value[EXCL_TRANSPORT], "tcp");
        assert_string_equal(l->entries[0].value[EXCL_TRADDR], "192.168.1.10");
        assert_string_equal(l->entries[0].value[EXCL_TRSVCID], "8009");
        assert_null(l->entries[0].value[EXCL_NQN]);
        assert_int_equal(l->entries[1].line, 6);
        assert_string_equal(l->entries[1].value[EXCL_HOSTID], "ABC");
        assert_string_equal(l->entries[1].value[EXCL_HOST_TRADDR], "10.0.0.1");
        assert_int_equal(l->entries[2].line, 10);
        assert_true(has_warning(l, "x.conf:2: ignoring exclusion outside [exclusions]"));
        assert_true(has_warning(l, "x.conf:8: ignoring exclusion outside [exclusions]"));
        assert_int_equal(strv_length(l->warnings), 2);
}

static void test_parse_invalid(void **state) {
        static const struct {
                const char *line, *warning;
        } cases[] = {
                { "exclusion = traddr=1.2.3.4;port=1", "x.conf:2: invalid exclusion: unknown key 'port'" },
                { "exclusion = traddr=1.2.3.4;tcp", "x.conf:2: invalid exclusion: 'tcp' is not key=value" },
                { "exclusion = traddr=", "x.conf:2: invalid exclusion: empty value for 'traddr'" },
                { "exclusion = traddr= ;nqn=x", "x.conf:2: invalid exclusion: empty value for 'traddr'" },
                { "exclusion =", "x.conf:2: invalid exclusion: no field" },
                { "exclusion = ;;", "x.conf:2: invalid exclusion: no field" },
                { "exclusion = transport=tcp;traddr=host.example", "'host.example' is not an IP address" },
                { "exclusion = transport=RDMA;host-traddr=eth0", "host-traddr 'eth0' is not an IP address" },
                { "exclusion = traddr=1.1.1.1;traddr=2.2.2.2", "'traddr' given twice" },
                { "exclusion = Traddr=1.1.1.1", "unknown key 'Traddr'" },
                { "exclude = traddr=1.1.1.1", "x.conf:2: ignoring unknown line 'exclude'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *text = NULL;
                ExclList *l;

                assert_true(asprintf(&text, "[exclusions]\n%s\n", cases[i].line) > 0);
                l = parse(text);
                if (l->n != 0 || !has_warning(l, cases[i].warning))
                        fail_msg("case '%s': %zu entries, warning '%s'", cases[i].line, l->n,
                                 l->warnings ? l->warnings[0] : "(none)");
                excl_list_free(l);
        }

        /* No IP check when the entry does not say tcp/rdma. */
        {
                _cleanup_(excl_list_freep) ExclList *l = parse("[exclusions]\nexclusion = traddr=host.example\n");
                assert_int_equal(l->n, 1);
        }
}

static void test_match(void **state) {
        _cleanup_(excl_list_freep) ExclList *l = parse(
                "[exclusions]\n"
                "exclusion = transport=TCP;traddr=::ffff:192.168.1.10;trsvcid=8009\n"
                "exclusion = nqn=nqn.only\n"
                "exclusion = host-traddr=10.0.0.1;traddr=10.9.9.9\n"
                "exclusion = transport=fc;traddr=NN-0x20000090FA942779:pn-0x10000090fa942779\n"
                "exclusion = hostid=0A0B;nqn=nqn.hostid\n"
                "exclusion = transport=tcp;traddr=FE80::0:1%ETH0;host-traddr=2001:DB8:0::1\n");
        Tid t;
        ExclTarget x;
        const ExclEntry *e;

        assert_int_equal(l->n, 6);
        assert_int_equal(tid_init(&t, "tcp", "192.168.1.10", NULL, NULL, NULL, NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        e = excl_match(l, &x);
        assert_non_null(e);
        assert_int_equal(e->line, 2);
        tid_done(&t);

        /* trsvcid differs */
        assert_int_equal(tid_init(&t, "tcp", "192.168.1.10", "4420", NULL, NULL, NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        assert_null(excl_match(l, &x));
        tid_done(&t);

        /* nqn only */
        assert_int_equal(tid_init(&t, "rdma", "1.2.3.4", NULL, "nqn.only", NULL, NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        e = excl_match(l, &x);
        assert_non_null(e);
        assert_int_equal(e->line, 3);
        tid_done(&t);

        /* host-traddr given by the entry but absent from the DC: no match */
        assert_int_equal(tid_init(&t, "tcp", "10.9.9.9", NULL, NULL, NULL, NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        assert_null(excl_match(l, &x));
        tid_done(&t);
        assert_int_equal(tid_init(&t, "tcp", "10.9.9.9", NULL, NULL, "10.0.0.1", NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        assert_non_null(excl_match(l, &x));
        tid_done(&t);

        /* FC names case-insensitively */
        assert_int_equal(tid_init(&t, "fc", "nn-0x20000090fa942779:pn-0x10000090FA942779", NULL, NULL, NULL, NULL,
                                  NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        e = excl_match(l, &x);
        assert_non_null(e);
        assert_int_equal(e->line, 5);
        tid_done(&t);

        /* hostid: the DC's host ID, case-insensitively; absent = no match */
        assert_int_equal(tid_init(&t, "tcp", "1.2.3.4", NULL, "nqn.hostid", NULL, NULL, NULL, HOSTNQN, false), 0);
        excl_target_from_tid(&x, &t, NULL);
        assert_null(excl_match(l, &x));
        excl_target_from_tid(&x, &t, "0a0b");
        assert_non_null(excl_match(l, &x));
        excl_target_from_tid(&x, &t, "0a0c");
        assert_null(excl_match(l, &x));
        tid_done(&t);

        /* IPv6 spelled differently, scope case-insensitively */
        assert_int_equal(tid_init(&t, "tcp", "fe80::1%eth0", NULL, NULL, "2001:db8::1", NULL, NULL, HOSTNQN,
                                  false), 0);
        excl_target_from_tid(&x, &t, NULL);
        e = excl_match(l, &x);
        assert_non_null(e);
        assert_int_equal(e->line, 7);
        tid_done(&t);
        assert_int_equal(tid_init(&t, "tcp", "fe80::1%eth1", NULL, NULL, "2001:db8::1", NULL, NULL, HOSTNQN,
                                  false), 0);
        excl_target_from_tid(&x, &t, NULL);
        assert_null(excl_match(l, &x));
        tid_done(&t);
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_load(void **state) {
        char root[] = "/tmp/test-exclusions.XXXXXX", p[256];
        ExclList *l;

        assert_non_null(mkdtemp(root));

        /* Nothing there: excludes nothing, no warning. */
        assert_int_equal(excl_load(root, &l), 0);
        assert_int_equal(l->n, 0);
        assert_null(l->warnings);
        excl_list_free(l);

        snprintf(p, sizeof(p), "%s/exclusions.conf", root);
        write_file(p, "[exclusions]\nexclusion = traddr=1.1.1.1\n");
        snprintf(p, sizeof(p), "%s/exclusions.conf.d", root);
        assert_int_equal(mkdir(p, 0755), 0);
        snprintf(p, sizeof(p), "%s/exclusions.conf.d/b.conf", root);
        write_file(p, "[exclusions]\nexclusion = traddr=3.3.3.3\n");
        snprintf(p, sizeof(p), "%s/exclusions.conf.d/a.conf", root);
        write_file(p, "[exclusions]\n\nexclusion = traddr=2.2.2.2\n");
        snprintf(p, sizeof(p), "%s/exclusions.conf.d/c.conf.bak", root);
        write_file(p, "[exclusions]\nexclusion = traddr=4.4.4.4\n");
        snprintf(p, sizeof(p), "%s/exclusions.conf.d/d.conf", root);
        assert_int_equal(mkdir(p, 0755), 0);       /* not a regular file */
        snprintf(p, sizeof(p), "%s/exclusions.conf.d/e.conf", root);
        assert_int_equal(mkfifo(p, 0644), 0);      /* must not block */

        assert_int_equal(excl_load(root, &l), 0);
        assert_int_equal(l->n, 3);
        assert_string_equal(l->entries[0].value[EXCL_TRADDR], "1.1.1.1");
        assert_string_equal(l->entries[1].value[EXCL_TRADDR], "2.2.2.2");
        assert_int_equal(l->entries[1].line, 3);
        assert_non_null(strstr(l->entries[1].file, "/exclusions.conf.d/a.conf"));
        assert_string_equal(l->entries[2].value[EXCL_TRADDR], "3.3.3.3");
        assert_true(has_warning(l, "d.conf: ignored (not a regular file)"));
        assert_true(has_warning(l, "e.conf: ignored (not a regular file)"));
        excl_list_free(l);

        /* Too large: ignored (fail-open). */
        snprintf(p, sizeof(p), "%s/exclusions.conf", root);
        assert_int_equal(truncate(p, EXCL_FILE_MAX + 1), 0);
        assert_int_equal(excl_load(root, &l), 0);
        assert_int_equal(l->n, 2);
        assert_true(has_warning(l, "exclusions.conf: ignored (too large)"));
        excl_list_free(l);

        snprintf(p, sizeof(p), "rm -rf '%s'", root);
        assert_int_equal(system(p), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_valid),
                cmocka_unit_test(test_parse_invalid),
                cmocka_unit_test(test_match),
                cmocka_unit_test(test_load),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "registry.h"

static char base[] = "/tmp/test-registry.XXXXXX";
static char root[300];

static int setup(void **state) {
        strcpy(base, "/tmp/test-registry.XXXXXX");
        if (!mkdtemp(base))
                return -1;
        /* The registry root and its parent do not exist yet. */
        snprintf(root, sizeof(root), "%s/nvme/registry", base);
        return 0;
}

static int teardown(void **state) {
        char cmd[400];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
        return system(cmd);
}

static void put(const char *rel, const char *text) {
        char p[400];
        FILE *f;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        f = fopen(p, "w");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void mk(const char *rel) {
        char p[400];

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static mode_t mode_of(const char *rel) {
        char p[400];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        assert_int_equal(stat(p, &st), 0);
        return st.st_mode & 07777;
}

static bool exists(const char *rel) {
        char p[400];

        snprintf(p, sizeof(p), "%s/%s", root, rel);
        return access(p, F_OK) == 0;
}

/* Entries and anything hidden in root. */
static unsigned count_hidden(void) {
        DIR *d = opendir(root);
        unsigned n = 0;

        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                if (de->d_name[0] == '.' && !streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void assert_attr(const char *dev, const char *attr, const char *want) {
        _cleanup_free_ char *v = NULL;

        assert_int_equal(registry_read(root, dev, attr, &v), 0);
        assert_string_equal(v, want);
}

static void test_register_new(void **state) {
        _cleanup_free_ char *o = NULL;
        char p[400];
        FILE *f;
        char buf[64] = {};

        /* Missing root: unowned, and nothing is created by reading. */
        assert_int_equal(registry_get_owner(root, "nvme3", &o), 0);
        assert_null(o);

        umask(0077);  /* as under stafd.service */
        assert_int_equal(registry_register(root, "nvme3", "stas", 1234, NULL), 0);
        umask(0022);
        assert_int_equal(mode_of("."), 0755);
        assert_int_equal(mode_of(".."), 0755);
        assert_attr("nvme3", "owner", "stas");
        assert_attr("nvme3", "seqnum", "1234");
        assert_int_equal(mode_of("nvme3"), 0755);
        assert_int_equal(mode_of("nvme3/owner"), 0644);
        assert_int_equal(mode_of("nvme3/seqnum"), 0644);
        assert_int_equal(count_hidden(), 0);

        /* On disk: value + '\n'. */
        snprintf(p, sizeof(p), "%s/nvme3/owner", root);
        f = fopen(p, "r");
        assert_non_null(f);
        assert_non_null(fgets(buf, sizeof(buf), f));
        fclose(f);
        assert_string_equal(buf, "stas\n");

        /* Same owner again: seqnum rewritten. */
        assert_int_equal(registry_register(root, "nvme3", "stas", 1300, NULL), 0);
        assert_attr("nvme3", "seqnum", "1300");

        /* Bad names are refused. */
        assert_int_equal(registry_register(root, "../etc", "stas", 1, NULL), -EINVAL);
        assert_int_equal(registry_register(root, "nvme1n1", "stas", 1, NULL), -EINVAL);
        assert_int_equal(registry_register(root, "nvme1", "st/as", 1, NULL), -EINVAL);
        assert_int_equal(registry_read(root, "nvme3", "../x", &o), -EINVAL);
}

static void test_other_owner(void **state) {
        _cleanup_free_ char *o = NULL;

        assert_int_equal(registry_register(root, "nvme1", "nbft", 10, NULL), 0);
        put("nvme1/owner", "nbft\r\n");
        put("nvme1/extra", "keep me\n");
        assert_int_equal(registry_register(root, "nvme1", "stas", 20, &o), -EBUSY);
        assert_string_equal(o, "nbft");
        assert_attr("nvme1", "seqnum", "10");
        /* Not ours: never removed. */
        assert_int_equal(registry_unregister(root, "nvme1", "stas", 0, 0), 0);
        assert_int_equal(registry_unregister(root, "nvme1", "stas", 0, 99), 0);
        assert_true(exists("nvme1/owner"));
        assert_attr("nvme1", "extra", "keep me");
}

static void test_claim_unowned(void **state) {
        _cleanup_free_ char *o = NULL;

        assert_int_equal(registry_register(root, "nvme0", "stas", 1, NULL), 0); /* creates root */
        mk("nvme2");
        put("nvme2/note", "from someone\n");
        assert_int_equal(registry_get_owner(root, "nvme2", &o), 0);
        assert_null(o);
        assert_int_equal(registry_register(root, "nvme2", "stas", 77, NULL), 0);
        assert_attr("nvme2", "owner", "stas");
        assert_attr("nvme2", "seqnum", "77");
        assert_attr("nvme2", "note", "from someone");
        assert_int_equal(count_hidden(), 0);

        /* An empty owner file is unowned too. */
        mk("nvme4");
        put("nvme4/owner", "\n");
        assert_int_equal(registry_get_owner(root, "nvme4", &o), 0);
        assert_null(o);
}

static void test_unregister_seqnum(void **state) {
        assert_int_equal(registry_register(root, "nvme5", "stas", 500, NULL), 0);
        /* An older remove uevent (a previous nvme5) leaves it alone. */
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 0, 400), 0);
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 0, 500), 0);
        /* Exact seqnum must match when given. */
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 499, 0), 0);
        assert_true(exists("nvme5/owner"));
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 0, 501), 1);
        assert_false(exists("nvme5"));
        assert_int_equal(count_hidden(), 0);
        /* Gone: nothing to do. */
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 0, 0), 0);

        assert_int_equal(registry_register(root, "nvme5", "stas", 600, NULL), 0);
        assert_int_equal(registry_unregister(root, "nvme5", "stas", 600, 0), 1);
        assert_false(exists("nvme5"));
}

static void test_leftovers(void **state) {
        assert_int_equal(registry_register(root, "nvme0", "stas", 1, NULL), 0);
        /* A half-built entry of a crashed stafd and an unfinished removal. */
        mk(".stafd-new.nvme6.abcdef");
        put(".stafd-new.nvme6.abcdef/owner", "stas\n");
        mk(".stafd-del.nvme7.1.0");
        put(".stafd-del.nvme7.1.0/seqnum", "5\n");
        /* An attribute file a crash left half-written. */
        mk("nvme7");
        put("nvme7/.stafd-seqnum.123.tmp", "12");
        put("nvme7/.other", "x");
        /* Another tool's temporary directory. */
        mk(".other-tmp");
        /* A leftover does not hide or block the real entry. */
        assert_int_equal(registry_register(root, "nvme6", "stas", 9, NULL), 0);
        assert_attr("nvme6", "seqnum", "9");
        assert_int_equal(registry_cleanup(root), 0);
        assert_false(exists(".stafd-new.nvme6.abcdef"));
        assert_false(exists(".stafd-del.nvme7.1.0"));
        assert_true(exists(".other-tmp"));
        assert_false(exists("nvme7/.stafd-seqnum.123.tmp"));
        assert_true(exists("nvme7/.other"));
        assert_true(exists("nvme6/owner"));
}

static void test_not_a_directory(void **state) {
        assert_int_equal(registry_register(root, "nvme0", "stas", 1, NULL), 0);
        put("nvme8", "junk");
        assert_int_equal(registry_register(root, "nvme8", "stas", 1, NULL), -ENOTDIR);
}

static void test_read_only(void **state) {
        char p[400];

        if (geteuid() == 0)
                skip();  /* root writes anyway */
        assert_int_equal(registry_register(root, "nvme0", "stas", 1, NULL), 0);
        assert_int_equal(chmod(root, 0555), 0);
        assert_int_equal(registry_register(root, "nvme9", "stas", 1, NULL), -EACCES);
        assert_int_equal(registry_unregister(root, "nvme0", "stas", 0, 0), -EACCES);
        assert_true(exists("nvme0/owner"));
        snprintf(p, sizeof(p), "%s", root);
        assert_int_equal(chmod(p, 0755), 0);
}

static void test_seqnum_file(void **state) {
        char p[400];
        uint64_t u = 0;
        FILE *f;

        snprintf(p, sizeof(p), "%s/seqnum", base);
        f = fopen(p, "w");
        fputs("18446744073709551615\n", f);
        fclose(f);
        assert_int_equal(registry_read_seqnum(p, &u), 0);
        assert_true(u == UINT64_MAX);
        f = fopen(p, "w");
        fputs("12x\n", f);
        fclose(f);
        assert_int_equal(registry_read_seqnum(p, &u), -EINVAL);
        assert_int_equal(registry_read_seqnum("/nonexistent/seqnum", &u), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_register_new, setup, teardown),
                cmocka_unit_test_setup_teardown(test_other_owner, setup, teardown),
                cmocka_unit_test_setup_teardown(test_claim_unowned, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unregister_seqnum, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_a_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seqnum_file, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

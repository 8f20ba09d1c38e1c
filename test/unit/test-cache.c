/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "json.h"
#include "json-tree.h"
#include "macro.h"
#include "utf8.h"

static char dir[] = "/tmp/test-cache-XXXXXX";
static char path[256];

static int setup(void **state) {
        if (!mkdtemp(dir))
                return -1;
        snprintf(path, sizeof(path), "%s/last-known-config.json", dir);
        return 0;
}

static int teardown(void **state) {
        DIR *d = opendir(dir);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char p[512];

                if (de->d_name[0] == '.' && (!de->d_name[1] || streq(de->d_name, "..")))
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                unlink(p);
        }
        if (d)
                closedir(d);
        return rmdir(dir);
}

static unsigned count_files(void) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void write_file(const char *text, size_t len) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, len, f), len);
        fclose(f);
}

static DlpEntry *mk_dlpe(const char *traddr, const char *subtype) {
        const char *vals[_DLPE_N_KEYS] = { "tcp", "ipv4", traddr, "4420", "nqn.sub", subtype,
                                           "not specified", "1", "65535", "32", "0", "none" };
        DlpEntry *e;

        assert_int_equal(dlpe_new(&e, vals), 0);
        return e;
}

static void test_round_trip(void **state) {
        CacheEntry in[2] = {};
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;
        struct stat st;

        assert_int_equal(tid_init(&in[0].tid, "tcp", "192.168.1.10", NULL, NULL, "10.0.0.1", "eth0", NULL,
                                  "nqn.host", false), 0);
        in[0].origin = strdup("configured");
        in[0].dlp = dlp_new_empty();
        in[0].dlp->genctr = 3;
        assert_int_equal(dlp_append(in[0].dlp, mk_dlpe("192.168.1.20", "nvme")), 0);
        assert_int_equal(dlp_append(in[0].dlp, mk_dlpe("192.168.1.21", "referral")), 0);
        assert_int_equal(tid_init(&in[1].tid, "rdma", "fe80::1%eth1", NULL, "nqn.\"quoted\"/x", NULL, NULL,
                                  NULL, "nqn.host", false), 0);
        in[1].origin = strdup("discovered");
        in[1].dlp = NULL;

        assert_int_equal(cache_save(path, in, 2), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0644);
        assert_int_equal(count_files(), 1);

        assert_int_equal(cache_load(path, &out, &n, &err), 0);
        assert_null(err);
        assert_int_equal(n, 2);
        assert_true(tid_equal(&out[0].tid, &in[0].tid));
        assert_string_equal(out[0].origin, "configured");
        assert_true(dlp_equal(out[0].dlp, in[0].dlp));
        assert_true(tid_equal(&out[1].tid, &in[1].tid));
        assert_string_equal(out[1].tid.subsysnqn, "nqn.\"quoted\"/x");
        assert_string_equal(out[1].origin, "discovered");
        assert_non_null(out[1].dlp);
        assert_int_equal(out[1].dlp->n, 0);
        cache_entries_free(out, n);

        /* overwrite with nothing */
        assert_int_equal(cache_save(path, NULL, 0), 0);
        assert_int_equal(cache_load(path, &out, &n, NULL), 0);
        assert_int_equal(n, 0);
        cache_entries_free(out, n);
        assert_int_equal(count_files(), 1);

        tid_done(&in[0].tid);
        tid_done(&in[1].tid);
        free(in[0].origin);
        free(in[1].origin);
        dlp_free(in[0].dlp);
}

static void expect_bad(const char *text) {
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;

        write_file(text, strlen(text));
        assert_int_equal(cache_load(path, &out, &n, &err), -EBADMSG);
        assert_non_null(err);
        assert_true(strlen(err) > 0);
        free(err);
        assert_null(out);
}

static void test_corrupt(void **state) {
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = (char *) 1;

        unlink(path);
        assert_int_equal(cache_load(path, &out, &n, &err), -ENOENT);
        assert_null(err);

        expect_bad("");
        expect_bad("{\"format\": \"stafd-last-known-config\", \"version\": 1, \"contr");  /* truncated */
        expect_bad("garbage");
        expect_bad("[1,2,3]");
        expect_bad("{\"foo\": 1}");
        expect_bad("{\"format\": \"nvme-stas\", \"version\": 1, \"controllers\": []}");
        expect_bad("{\"format\": \"stafd-last-known-config\", \"version\": 2, \"controllers\": []}");
        expect_bad("{\"format\": \"stafd-last-known-config\", \"version\": \"1\", \"controllers\": []}");
        expect_bad("{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": {}}");
        expect_bad("{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": []} x");
        expect_bad("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");

        write_file("{\"a\":\0}", 7);
        assert_int_equal(cache_load(path, &out, &n, &err), -EBADMSG);
        free(err);

        /* directory instead of a file */
        assert_int_equal(cache_load(dir, &out, &n, &err), -EBADMSG);
        free(err);
}

/* ASan keeps freed memory in quarantine: peak RSS means nothing there. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

/* Nor under valgrind (its preload library is how we tell). */
static bool rss_meaningful(void) {
        const char *p = getenv("LD_PRELOAD");

        return RSS_MEANINGFUL && !(p && strstr(p, "vgpreload"));
}

/* Peak RSS of this process since the last reset, in kB (VmHWM). */
static long peak_rss_kb(bool reset) {
        char line[256];
        long kb = -1;
        FILE *f;

        if (reset) {
                f = fopen("/proc/self/clear_refs", "we");
                assert_non_null(f);
                fputs("5", f);
                fclose(f);
        }
        f = fopen("/proc/self/status", "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
                        break;
        fclose(f);
        return kb;
}

static char *repeat_doc(const char *head, const char *item, size_t n, const char *tail) {
        size_t hl = strlen(head), il = strlen(item), tl = strlen(tail), len = hl + n * (il + 1) + tl;
        char *t = malloc(len + 1), *p = t;

        assert_non_null(t);
        p = stpcpy(p, head);
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *p++ = ',';
                p = stpcpy(p, item);
        }
        p = stpcpy(p, tail);
        return t;
}

/* 3 MB of "{}" used to build a json-c tree of ~780 MB.  Now a load costs
 * the result plus one small piece at a time. */
static void test_load_memory_bounded(void **state) {
        static const char head[] = "{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": [";
        static const char tid[] = "{\"tid\": {\"transport\": \"tcp\", \"traddr\": \"1.1.1.1\", \"trsvcid\": \"8009\", "
                                  "\"subsysnqn\": \"nqn.d\", \"host-traddr\": \"\", \"host-iface\": \"\", "
                                  "\"host-nqn\": \"nqn.h\"}, \"origin\": \"configured\", \"log-pages\": [";
        _cleanup_free_ char *a = NULL, *b = NULL, *h = NULL, *c = NULL;
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;
        long base, peak;

        a = repeat_doc(head, "{}", 1000000, "]}");
        assert_true(asprintf(&h, "%s%s", head, tid) > 0);
        b = repeat_doc(h, "{}", 1000000, "]}]}");
        /* Deep nesting inside an entry is refused, not recursed into. */
        c = repeat_doc(h, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 1, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}");

        base = peak_rss_kb(true);
        assert_true(base > 0);
        assert_int_equal(cache_load_from_string(a, strlen(a), &out, &n, &err), 0);
        assert_int_equal(n, 0);
        cache_entries_free(out, n);
        peak = peak_rss_kb(false);
        fprintf(stderr, "1M {} controllers (%zu bytes): peak RSS +%ld kB\n", strlen(a), peak - base);
        assert_true(!rss_meaningful() || peak - base < 16 * 1024);

        base = peak_rss_kb(true);
        assert_int_equal(cache_load_from_string(b, strlen(b), &out, &n, &err), 0);
        assert_int_equal(n, 1);
        assert_int_equal(out[0].dlp->n, 0);
        cache_entries_free(out, n);
        peak = peak_rss_kb(false);
        fprintf(stderr, "1M {} DLPEs (%zu bytes): peak RSS +%ld kB\n", strlen(b), peak - base);
        assert_true(!rss_meaningful() || peak - base < 16 * 1024);

        assert_int_equal(cache_load_from_string(c, strlen(c), &out, &n, &err), -EBADMSG);
        assert_non_null(strstr(err, "nested too deeply"));
        free(err);
}

/* Every string of a loaded entry can go to D-Bus: bytes that are not UTF-8
 * (raw, or from a \u escape of a lone surrogate) are not loaded. */
static void test_load_not_utf8(void **state) {
        static const char doc[] =
                "{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": ["
                /* 0: traddr with a raw 0xff: skipped */
                "{\"tid\": {\"transport\": \"tcp\", \"traddr\": \"1.1.1.\xff\", \"trsvcid\": \"8009\", "
                "\"subsysnqn\": \"nqn.d\", \"host-traddr\": \"\", \"host-iface\": \"\", \"host-nqn\": \"nqn.h\"}, "
                "\"origin\": \"configured\"},"
                /* 1: a lone surrogate escape in the NQN, a raw byte in one DLPE, a NUL escape in another */
                "{\"tid\": {\"transport\": \"tcp\", \"traddr\": \"2.2.2.2\", \"trsvcid\": \"8009\", "
                "\"subsysnqn\": \"nqn.\\ud800\", \"host-traddr\": \"\", \"host-iface\": \"\", \"host-nqn\": \"nqn.h\"}, "
                "\"origin\": \"configured\", \"log-pages\": ["
                "{\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"3.3.3.3\", \"trsvcid\": \"4420\", "
                "\"subnqn\": \"nqn.s\xc3\", \"subtype\": \"nvme\", \"treq\": \"not specified\", \"portid\": \"1\", "
                "\"cntlid\": \"1\", \"asqsz\": \"32\", \"eflags\": \"0\"},"
                "{\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"3.3.3.3\", \"trsvcid\": \"4420\", "
                "\"subnqn\": \"nqn.s\\u0000x\", \"subtype\": \"nvme\", \"treq\": \"not specified\", \"portid\": \"1\", "
                "\"cntlid\": \"1\", \"asqsz\": \"32\", \"eflags\": \"0\"},"
                "{\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"3.3.3.3\", \"trsvcid\": \"4420\", "
                "\"subnqn\": \"nqn.s\\u00e9\", \"subtype\": \"nvme\", \"treq\": \"not specified\", \"portid\": \"1\", "
                "\"cntlid\": \"1\", \"asqsz\": \"32\", \"eflags\": \"0\"}]}"
                "]}";
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;

        assert_int_equal(cache_load_from_string(doc, strlen(doc), &out, &n, &err), 0);
        /* The surrogate entry is either refused or loaded as valid UTF-8
         * (json-c 0.16 turns it into U+FFFD). */
        for (size_t i = 0; i < n; i++) {
                assert_true(utf8_is_valid(out[i].tid.traddr));
                assert_true(utf8_is_valid(out[i].tid.subsysnqn));
                assert_string_equal(out[i].tid.traddr, "2.2.2.2");
                assert_int_equal(out[i].dlp->n, 1);
                assert_string_equal(dlpe_get(out[i].dlp->entries[0], DLPE_SUBNQN), "nqn.s\xc3\xa9");
        }
        assert_true(n <= 1);
        cache_entries_free(out, n);
}

/* A FIFO at the cache path (or a symlink to one) is refused at once. */
static void test_fifo_refused(void **state) {
        char fifo[300], link[300];
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;

        snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
        snprintf(link, sizeof(link), "%s/fifo-link", dir);
        unlink(path);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(symlink(fifo, path), 0);
        alarm(10);
        assert_int_equal(cache_load(path, &out, &n, &err), -EBADMSG);
        assert_non_null(err);
        assert_string_equal(err, "not a regular file");
        free(err);
        alarm(0);
        unlink(path);
        unlink(fifo);
        (void) link;
}

/* Temp files of interrupted saves are removed; nothing else is. */
static void test_stale_temp_removed(void **state) {
        static const char * const stale[] = {
                ".last-known-config.json.AbC123", ".last-known-config.json.zzzzzz",
        };
        static const char * const kept[] = {
                "last-known-config.json", ".last-known-config.json.short", ".last-known-config.json.toolong1",
                ".other.json.AbC123", "last-known-config.json.AbC123",
        };
        char p[512], target[512];
        struct stat st;

        write_file("{}", 2);
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, stale[i]);
                assert_int_equal(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        }
        for (size_t i = 1; i < ELEMENTSOF(kept); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, kept[i]);
                assert_int_equal(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        }
        /* A symlink with a temp name is not ours: left alone, target too. */
        snprintf(target, sizeof(target), "%s/target", dir);
        assert_int_equal(close(open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
        snprintf(p, sizeof(p), "%s/.last-known-config.json.LiNk00", dir);
        assert_int_equal(symlink(target, p), 0);

        assert_int_equal(cache_remove_stale_temp(path), (int) ELEMENTSOF(stale));
        for (size_t i = 0; i < ELEMENTSOF(stale); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, stale[i]);
                assert_int_equal(lstat(p, &st), -1);
        }
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                snprintf(p, sizeof(p), "%s/%s", dir, kept[i]);
                assert_int_equal(lstat(p, &st), 0);
                unlink(p);
        }
        snprintf(p, sizeof(p), "%s/.last-known-config.json.LiNk00", dir);
        assert_int_equal(lstat(p, &st), 0);
        unlink(p);
        unlink(target);
        assert_int_equal(cache_remove_stale_temp(path), 0);
        assert_int_equal(count_files(), 0);
}

/* A document the loader would refuse is never written. */
static void test_save_too_large(void **state) {
        _cleanup_free_ char *big = NULL;
        CacheEntry e = { .origin = (char *) "configured" };
        size_t len = CACHE_MAX_SIZE;

        /* One huge but valid string field makes the document too large. */
        big = malloc(len + 1);
        assert_non_null(big);
        memset(big, 'a', len);
        big[len] = '\0';
        assert_int_equal(tid_init(&e.tid, "tcp", "1.1.1.1", "8009", big, NULL, NULL, NULL, NULL, false), 0);
        unlink(path);
        assert_int_equal(cache_save(path, &e, 1), -EFBIG);
        assert_int_equal(count_files(), 0);
        tid_done(&e.tid);
}

static void test_bad_entries_skipped(void **state) {
        const char *text =
                "{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": ["
                " 5,"
                " {\"origin\": \"configured\"},"
                " {\"tid\": {\"transport\": \"tcp\"}, \"origin\": \"configured\"},"
                " {\"tid\": {\"transport\": \"tcp\", \"traddr\": \"1.1.1.1\", \"trsvcid\": \"\", \"subsysnqn\": \"\","
                "   \"host-traddr\": \"\", \"host-iface\": \"\", \"host-nqn\": \"h\"}, \"origin\": \"bogus\"},"
                " {\"tid\": {\"transport\": \"tcp\", \"traddr\": \"::ffff:1.1.1.1\", \"trsvcid\": \"\","
                "   \"subsysnqn\": \"\", \"host-traddr\": \"\", \"host-iface\": \"\", \"host-nqn\": \"h\"},"
                "  \"origin\": \"referral\", \"extra\": [1], \"log-pages\": ["
                "   {\"trtype\": \"tcp\"},"
                "   7,"
                "   {\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"2.2.2.2\", \"trsvcid\": \"4420\","
                "    \"subnqn\": \"n\", \"subtype\": \"nvme\", \"treq\": \"not specified\", \"portid\": \"1\","
                "    \"cntlid\": \"1\", \"asqsz\": \"32\", \"eflags\": 0},"
                "   {\"trtype\": \"tcp\", \"adrfam\": \"ipv4\", \"traddr\": \"3.3.3.3\", \"trsvcid\": \"4420\","
                "    \"subnqn\": \"n\", \"subtype\": \"nvme\", \"treq\": \"not specified\", \"portid\": \"1\","
                "    \"cntlid\": \"1\", \"asqsz\": \"32\", \"eflags\": \"0\", \"sectype\": \"tls1.3\", \"zzz\": \"q\"}"
                "  ]}"
                "]}";
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;

        write_file(text, strlen(text));
        assert_int_equal(cache_load(path, &out, &n, &err), 0);
        assert_null(err);
        assert_int_equal(n, 1);
        assert_string_equal(out[0].tid.traddr, "1.1.1.1");
        assert_string_equal(out[0].tid.trsvcid, "8009");
        assert_string_equal(out[0].tid.subsysnqn, DISC_NQN);
        assert_string_equal(out[0].origin, "referral");
        assert_int_equal(out[0].dlp->n, 1);
        assert_string_equal(dlpe_get(out[0].dlp->entries[0], DLPE_TRADDR), "3.3.3.3");
        assert_string_equal(dlpe_get(out[0].dlp->entries[0], DLPE_SECTYPE), "tls1.3");
        cache_entries_free(out, n);
}

static void test_save_failure_cleans_up(void **state) {
        char bad[300];
        CacheEntry e = {};

        assert_int_equal(tid_init(&e.tid, "tcp", "1.1.1.1", NULL, NULL, NULL, NULL, NULL, "h", false), 0);
        e.origin = strdup("configured");

        /* target is a non-empty directory: rename fails, temp file removed */
        snprintf(bad, sizeof(bad), "%s/sub", dir);
        assert_int_equal(mkdir(bad, 0755), 0);
        snprintf(bad, sizeof(bad), "%s/sub/x", dir);
        assert_int_equal(close(open(bad, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        snprintf(bad, sizeof(bad), "%s/sub", dir);
        assert_true(cache_save(bad, &e, 1) < 0);
        unlink(path);
        assert_int_equal(count_files(), 1); /* just sub/ */
        snprintf(bad, sizeof(bad), "%s/sub/x", dir);
        unlink(bad);
        snprintf(bad, sizeof(bad), "%s/sub", dir);
        rmdir(bad);

        assert_int_equal(cache_save("/nonexistent-dir/x.json", &e, 1), -ENOENT);
        assert_int_equal(cache_save("", &e, 1), -EINVAL);
        snprintf(bad, sizeof(bad), "%s/", dir);
        assert_int_equal(cache_save(bad, &e, 1), -EINVAL);
        assert_int_equal(count_files(), 0);

        tid_done(&e.tid);
        free(e.origin);
}

static void test_from_string(void **state) {
        CacheEntry *out = NULL;
        size_t n = 0;
        char *err = NULL;
        const char ok[] = "{\"format\": \"stafd-last-known-config\", \"version\": 1, \"controllers\": []}\n";

        assert_int_equal(cache_load_from_string(ok, strlen(ok), &out, &n, &err), 0);
        assert_int_equal(n, 0);
        assert_null(out);
        assert_int_equal(cache_load_from_string(ok, 10, &out, &n, &err), -EBADMSG);
        assert_string_equal(err, "truncated JSON");
        free(err);
}

static void test_json_shapes(void **state) {
        _cleanup_json_ struct json_object *o = NULL, *a = NULL, *t = json_object_new_object();
        _cleanup_(dlp_freep) Dlp *d = dlp_new_empty();
        DlpEntry *e = mk_dlpe("1.2.3.4", "nvme");
        const char *vals[_DLPE_N_KEYS] = { "tcp", "ipv4", "5.6.7.8" };
        Tid tid;

        o = json_dlpe(e);
        assert_string_equal(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                            "{\"trtype\":\"tcp\",\"adrfam\":\"ipv4\",\"traddr\":\"1.2.3.4\","
                            "\"trsvcid\":\"4420\",\"subnqn\":\"nqn.sub\",\"subtype\":\"nvme\","
                            "\"treq\":\"not specified\",\"portid\":\"1\",\"cntlid\":\"65535\","
                            "\"asqsz\":\"32\",\"eflags\":\"0\",\"sectype\":\"none\"}");
        assert_int_equal(dlp_append(d, e), 0);
        assert_int_equal(dlpe_new(&e, vals), 0);
        assert_int_equal(dlp_append(d, e), 0);
        a = json_dlp(d);
        assert_int_equal(json_object_array_length(a), 2);
        /* base keys always present, extras only when set */
        assert_int_equal(json_object_object_length(json_object_array_get_idx(a, 1)), 11);
        json_object_put(a);
        a = json_dlp(NULL);
        assert_int_equal(json_object_array_length(a), 0);

        assert_int_equal(tid_init(&tid, "tcp", "1.1.1.1", NULL, NULL, NULL, "eth0", NULL, "h", false), 0);
        assert_int_equal(json_add_tid(t, &tid), 0);
        assert_string_equal(json_object_to_json_string_ext(t, JSON_C_TO_STRING_PLAIN),
                            "{\"transport\":\"tcp\",\"traddr\":\"1.1.1.1\",\"trsvcid\":\"8009\","
                            "\"subsysnqn\":\"" DISC_NQN "\",\"host-traddr\":\"\",\"host-iface\":\"eth0\","
                            "\"host-nqn\":\"h\"}");
        tid_done(&tid);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_round_trip),
                cmocka_unit_test(test_corrupt),
                cmocka_unit_test(test_bad_entries_skipped),
                cmocka_unit_test(test_fifo_refused),
                cmocka_unit_test(test_load_memory_bounded),
                cmocka_unit_test(test_load_not_utf8),
                cmocka_unit_test(test_stale_temp_removed),
                cmocka_unit_test(test_save_too_large),
                cmocka_unit_test(test_save_failure_cleans_up),
                cmocka_unit_test(test_from_string),
                cmocka_unit_test(test_json_shapes),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}

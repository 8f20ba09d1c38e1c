/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/fileio: the size limit of read_full_fd() at its edges (a pipe stands
 * in for a file that keeps growing), write_all() over a pipe smaller than
 * the buffer, fsync_directory() on a directory and on a file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

/* A file of n bytes 'x' (unlinked at once); returns its fd at offset 0. */
static int file_of(size_t n) {
        char path[] = "/tmp/test-fileio.XXXXXX";
        _cleanup_free_ char *buf = malloc(n ?: 1);
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        assert_non_null(buf);
        (void) unlink(path);
        memset(buf, 'x', n);
        assert_int_equal(write_all(fd, buf, n), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

static void test_read_limit_edges(void **state) {
        static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, 100000 };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                size_t n = sizes[i], len = SIZE_MAX;
                char *buf = NULL;
                int fd;

                /* Exactly the limit: read whole, NUL-terminated. */
                fd = file_of(n);
                assert_int_equal(read_full_fd(fd, n, &buf, &len), 0);
                assert_int_equal(len, n);
                assert_int_equal(strlen(buf), n);
                assert_true(n == 0 || (buf[0] == 'x' && buf[n - 1] == 'x'));
                free(buf);
                buf = NULL;
                close(fd);

                /* One byte over: refused, nothing handed out. */
                fd = file_of(n + 1);
                assert_int_equal(read_full_fd(fd, n, &buf, &len), -EFBIG);
                assert_null(buf);
                close(fd);
        }
}

/* A writer that never stops (a file growing while it is read) is held to
 * the limit, and memory to limit + 1. */
static void test_read_growing(void **state) {
        int p[2];
        pid_t pid;
        char *buf = NULL;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char chunk[4096];

                close(p[0]);
                memset(chunk, 'y', sizeof(chunk));
                for (;;)
                        if (write(p[1], chunk, sizeof(chunk)) < 0)
                                _exit(0);
        }
        close(p[1]);
        assert_int_equal(read_full_fd(p[0], 1 << 20, &buf, NULL), -EFBIG);
        assert_null(buf);
        close(p[0]);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* write_all() finishes through short writes: a reader drains a pipe whose
 * buffer is smaller than what is written. */
static void test_write_all_short_writes(void **state) {
        size_t n = 1 << 20;
        _cleanup_free_ char *out = malloc(n);
        char *in = NULL;
        size_t len = 0;
        int p[2], status = 0;
        pid_t pid;

        assert_non_null(out);
        for (size_t i = 0; i < n; i++)
                out[i] = (char) ('a' + i % 26);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[0]);
                _exit(write_all(p[1], out, n) == 0 ? 0 : 1);
        }
        close(p[1]);
        assert_int_equal(read_full_fd(p[0], n, &in, &len), 0);
        close(p[0]);
        assert_int_equal(len, n);
        assert_memory_equal(in, out, n);
        free(in);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_fsync_directory(void **state) {
        char path[] = "/tmp/test-fileio.XXXXXX";
        int fd = mkstemp(path);

        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(fsync_directory("/tmp"), 0);
        assert_int_equal(fsync_directory(path), -ENOTDIR);
        assert_int_equal(fsync_directory("/nonexistent-test-fileio"), -ENOENT);
        (void) unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_read_limit_edges),
                cmocka_unit_test(test_read_growing),
                cmocka_unit_test(test_write_all_short_writes),
                cmocka_unit_test(test_fsync_directory),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Read fd to its end into a NUL-terminated buffer (*ret, "" when empty).
 * -EFBIG once more than max bytes arrive: a file that grows while it is
 * read is held to the same limit. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* Open path (relative to dir_fd, or AT_FDCWD) non-blocking with extra open
 * flags (e.g. O_NOFOLLOW), check it before any read, and read it whole: a
 * FIFO, device or socket where a file belongs must never hang the loop.
 * -EISDIR for a directory, -EBADFD for anything else that is not a regular
 * file, -EFBIG when it holds (or grows to) more than max bytes. */
int read_regular_file_at(int dir_fd, const char *path, int flags, size_t max, char **ret, size_t *ret_len);

/* Write all n bytes (short writes and EINTR are retried). */
int write_all(int fd, const void *p, size_t n);

/* fsync a directory, to make a rename or link in it durable. */
int fsync_directory(const char *path);

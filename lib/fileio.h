/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

/* Read fd to its end into a NUL-terminated buffer (*ret, "" when empty).
 * -EFBIG once more than max bytes arrive: a file that grows while it is
 * read is held to the same limit. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len);

/* Write all n bytes (short writes and EINTR are retried). */
int write_all(int fd, const void *p, size_t n);

/* fsync a directory, to make a rename or link in it durable. */
int fsync_directory(const char *path);

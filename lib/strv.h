/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stddef.h>

#include "macro.h"

/* NULL-terminated string vectors. */
char **strv_free(char **l);
size_t strv_length(char *const *l);
/* Append a copy of s. Returns 0 or -ENOMEM (l unchanged on failure). */
int strv_extend(char ***l, const char *s);
/* Append s itself (takes ownership on success). */
int strv_consume(char ***l, char *s);
/* Append a printf-formatted string. */
int strv_extendf(char ***l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))

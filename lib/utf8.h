/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* UTF-8 validity as D-Bus defines it (RFC 3629: no overlong forms, no
 * surrogates U+D800..U+DFFF, nothing above U+10FFFF), and the repair used
 * wherever a string leaves stafd: each invalid byte becomes U+FFFD. */

#include <stdbool.h>
#include <stddef.h>

#define UTF8_REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD, 3 bytes */

/* Length (1..4) of the valid UTF-8 character at s, 0 if the bytes at s
 * (NUL-terminated) do not start one. */
size_t utf8_char_len(const char *s);
bool utf8_is_valid(const char *s);
/* A malloc'd copy of s with every byte that does not belong to a valid
 * character replaced by U+FFFD; NULL on OOM. */
char *utf8_sanitize(const char *s);

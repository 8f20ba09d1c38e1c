/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * UTF-8 checks for text that enters stafd from files (stafd.conf, sys.conf,
 * the cache): every string that can reach D-Bus must be valid UTF-8, and
 * what we log must not copy raw bytes into the journal.
 */

#include <stdbool.h>
#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s does not start
 * one (stray continuation byte, overlong form, surrogate, > U+10FFFF,
 * truncated).  n is how many bytes may be read. */
size_t utf8_sequence_len(const char *s, size_t n);

/* Is the NUL-terminated s valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates)?  NULL counts as valid. */
bool utf8_is_valid(const char *s);

/* A printable copy of s for a log line: control characters and bytes that
 * are not part of valid UTF-8 become \xNN; at most max input bytes are
 * shown, then "...".  NULL on out-of-memory. */
char *utf8_escape(const char *s, size_t max);

/* The repair used wherever a string leaves stafd (D-Bus, JSON, stafctl's
 * terminal): each byte that does not belong to a valid character becomes
 * U+FFFD. */
#define UTF8_REPLACEMENT "\xef\xbf\xbd" /* U+FFFD, 3 bytes */

/* Length (1..4) of the valid UTF-8 character at the NUL-terminated s, 0 if
 * the bytes at s do not start one (a NUL counts as a 1-byte character). */
size_t utf8_char_len(const char *s);
/* A malloc'd copy of s with every invalid byte replaced by U+FFFD; NULL on OOM. */
char *utf8_sanitize(const char *s);

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 validation and escaping (see utf8.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t utf8_sequence_len(const char *s, size_t n) {
        const unsigned char *p = (const unsigned char *) s;
        uint32_t cp;
        size_t len;

        if (n == 0)
                return 0;
        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                len = 2, cp = p[0] & 0x1f;
        else if (p[0] >= 0xe0 && p[0] <= 0xef)
                len = 3, cp = p[0] & 0x0f;
        else if (p[0] >= 0xf0 && p[0] <= 0xf4)
                len = 4, cp = p[0] & 0x07;
        else
                return 0; /* continuation byte, 0xc0/0xc1 (overlong), > 0xf4 */
        if (n < len)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
                return 0; /* overlong, or beyond Unicode */
        if (cp >= 0xd800 && cp <= 0xdfff)
                return 0; /* UTF-16 surrogate */
        return len;
}

bool utf8_is_valid(const char *s) {
        size_t n;

        if (!s)
                return true;
        n = strlen(s);
        while (n > 0) {
                size_t l = utf8_sequence_len(s, n);

                if (l == 0)
                        return false;
                s += l;
                n -= l;
        }
        return true;
}

char *utf8_escape(const char *s, size_t max) {
        size_t n = strlen(s), shown = 0;
        char *buf, *p;

        /* Worst case: every byte becomes \xNN, plus "..." and the NUL. */
        buf = malloc((n < max ? n : max) * 4 + 4);
        if (!buf)
                return NULL;
        p = buf;
        while (n > 0 && shown < max) {
                unsigned char ch = (unsigned char) *s;
                size_t l = utf8_sequence_len(s, n);

                if (l == 0 || ch < 0x20 || ch == 0x7f || shown + l > max) {
                        if (l > 1 && shown + l > max)
                                break; /* do not cut a character in two */
                        p += sprintf(p, "\\x%02x", ch);
                        l = 1;
                } else {
                        memcpy(p, s, l);
                        p += l;
                }
                s += l;
                n -= l;
                shown += l;
        }
        if (n > 0)
                p = stpcpy(p, "...");
        *p = '\0';
        return buf;
}

size_t utf8_char_len(const char *s) {
        if (*s == '\0')
                return 1;
        return utf8_sequence_len(s, strnlen(s, 4));
}

char *utf8_sanitize(const char *s) {
        size_t len = strlen(s);
        char *ret, *d;

        /* At worst every byte grows to the 3 bytes of U+FFFD. */
        if (len > (SIZE_MAX - 1) / 3)
                return NULL;
        ret = malloc(len * 3 + 1);
        if (!ret)
                return NULL;
        d = ret;
        while (*s) {
                size_t n = utf8_char_len(s);

                if (n == 0) {
                        memcpy(d, UTF8_REPLACEMENT, 3);
                        d += 3;
                        s++;
                        continue;
                }
                memcpy(d, s, n);
                d += n;
                s += n;
        }
        *d = '\0';
        return ret;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * UTF-8 checks and repair (see utf8.h).  The network, stafd.conf and the
 * cache may hold any bytes; D-Bus rejects a whole message for one invalid
 * string, so everything is checked where it goes out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t utf8_char_len(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned char lo = 0x80, hi = 0xbf;
        size_t n;

        if (p[0] < 0x80)
                return 1;
        if (p[0] >= 0xc2 && p[0] <= 0xdf)
                n = 2;
        else if (p[0] >= 0xe0 && p[0] <= 0xef) {
                n = 3;
                if (p[0] == 0xe0)
                        lo = 0xa0;      /* overlong */
                else if (p[0] == 0xed)
                        hi = 0x9f;      /* surrogates */
        } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
                n = 4;
                if (p[0] == 0xf0)
                        lo = 0x90;      /* overlong */
                else if (p[0] == 0xf4)
                        hi = 0x8f;      /* above U+10FFFF */
        } else
                return 0;

        /* The second byte has the narrowed range; a NUL fails every test. */
        if (p[1] < lo || p[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (p[i] < 0x80 || p[i] > 0xbf)
                        return 0;
        return n;
}

bool utf8_is_valid(const char *s) {
        while (*s) {
                size_t n = utf8_char_len(s);

                if (n == 0)
                        return false;
                s += n;
        }
        return true;
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

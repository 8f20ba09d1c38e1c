/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz daemon/log.c's escaping of strings from the network: whatever the
 * bytes, the output holds no control character and only valid UTF-8, and
 * fits the buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t utf8_ok(const unsigned char *s) {
        size_t n;

        if (s[0] < 0x80)
                return 1;
        n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *in, out[256];
        size_t len;

        if (size > 4096)
                return 0;
        in = malloc(size + 1);
        if (!in)
                return 0;
        memcpy(in, data, size);
        in[size] = 0;
        len = log_escape_to(in, out, 1 + (size % sizeof(out)));
        if (len != strlen(out) || len >= sizeof(out))
                __builtin_trap();
        for (size_t i = 0; i < len;) {
                const unsigned char *p = (const unsigned char *) out + i;
                size_t n = utf8_ok(p);

                if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7f)))
                        __builtin_trap();
                i += n;
        }
        free(in);
        return 0;
}

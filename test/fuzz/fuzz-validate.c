/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the transport id validator.  Input: up to seven NUL-separated
 * fields (transport traddr trsvcid subsysnqn host-traddr host-iface
 * host-nqn), as a referral, an mDNS service or a cache entry could carry
 * them.  Whatever tid_validate accepts must be safe to join into libnvme's
 * option string: no ',', '=', white space or control character anywhere.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tid.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *buf, *f[TID_N_FIELDS] = {};
        size_t i = 0;
        unsigned n = 0, field = 0;
        const char *reason = NULL;
        Tid t;
        int r;

        if (size > 4096)
                return 0;
        buf = malloc(size + 1);
        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = 0;
        while (n < TID_N_FIELDS && i <= size) {
                f[n++] = buf + i;
                i += strlen(buf + i) + 1;
        }

        /* Raw (unnormalised) and normalised. */
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 0) {
                        t = (Tid){ f[0], f[1], f[2], f[3], f[4], f[5], f[6] };
                        r = tid_validate(&t, &field, &reason);
                } else {
                        if (tid_init(&t, f[0], f[1], f[2], f[3], f[4], f[5], f[6],
                                     "nqn.2014-08.org.example:h", pass & 1) < 0)
                                break;
                        r = tid_validate(&t, &field, &reason);
                }
                if (r == 0) {
                        for (unsigned k = 0; k < TID_N_FIELDS; k++)
                                for (const unsigned char *p = (const unsigned char *) tid_field_const(&t, k);
                                     *p; p++)
                                        if (*p <= ' ' || *p == ',' || *p == '=' || *p == 0x7f)
                                                __builtin_trap();
                } else if (r != -EINVAL || field >= TID_N_FIELDS || !reason)
                        __builtin_trap();
                if (pass == 1)
                        tid_done(&t);
        }
        (void) validate_nqn(f[0]);
        (void) validate_ip(f[0]);
        free(buf);
        return 0;
}

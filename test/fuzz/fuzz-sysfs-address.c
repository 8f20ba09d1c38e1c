/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz daemon/sysfs.c's parsing of a controller's "address" attribute
 * ("traddr=...,trsvcid=...,src_addr=...") and its address equality.  Input:
 * the attribute, a NUL, then an address to compare with.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char * const keys[] = { "traddr", "trsvcid", "host_traddr", "src_addr", "host_iface" };
        char *attr, *other, v[64];
        const char *nul;

        if (size > 4096)
                return 0;
        attr = malloc(size + 1);
        if (!attr)
                return 0;
        memcpy(attr, data, size);
        attr[size] = 0;
        nul = memchr(data, 0, size);
        other = nul ? attr + (nul - (const char *) data) + 1 : attr + size;

        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                sysfs_address_get(attr, keys[i], v, sizeof(v));
                if (strlen(v) >= sizeof(v))
                        __builtin_trap();
                /* Equality is symmetric and reflexive. */
                if (sysfs_addr_equal(v, other) != sysfs_addr_equal(other, v))
                        __builtin_trap();
                if (!sysfs_addr_equal(v, v))
                        __builtin_trap();
        }
        free(attr);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* nbft_parse on arbitrary bytes: never reads outside the buffer, and what
 * it hands out is printable and complete. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "nbft.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, bool may_be_null) {
        if (!s) {
                if (!may_be_null)
                        __builtin_trap();
                return;
        }
        if (!*s && !may_be_null)
                __builtin_trap();
        for (; *s; s++)
                if (*s < 0x20 || *s >= 0x7f)
                        __builtin_trap();
}

static void one(const uint8_t *data, size_t size, bool fix) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        _cleanup_free_ char *err = NULL;
        uint8_t *copy, sum = 0;
        char mac[18];
        int r;

        /* An exact-size heap copy, so ASan sees any read past the end. */
        copy = malloc(size ?: 1);
        if (!copy)
                return;
        memcpy(copy, data, size);
        /* Most random inputs die at the signature or the checksum: make a
         * well-formed header so the descriptors get explored too. */
        if (fix) {
                memcpy(copy, "NBFT", 4);
                copy[4] = (uint8_t) size;
                copy[5] = (uint8_t) (size >> 8);
                copy[6] = (uint8_t) (size >> 16);
                copy[7] = 0;
                copy[8] = 1;
                copy[9] = 0;
                for (size_t i = 0; i < size; i++)
                        sum = (uint8_t) (sum + copy[i]);
                copy[9] = (uint8_t) (0x100 - sum);
        }
        r = nbft_parse(copy, size, &n, &err);
        free(copy);
        if (r < 0) {
                if (n || !err)
                        __builtin_trap();
                return;
        }
        if (err || n->n_dcs > 255)
                __builtin_trap();
        check_string(n->host_nqn, true);
        check_string(n->host_id, true);
        if (n->host_nqn_configured && !n->host_nqn)
                __builtin_trap();
        for (size_t i = 0; i < n->n_dcs; i++) {
                const NbftDiscovery *d = &n->dcs[i];

                check_string(d->transport, false);
                check_string(d->traddr, false);
                check_string(d->trsvcid, true);
                check_string(d->subsysnqn, false);
                check_string(d->host_nqn, true);
                if (!!d->host_nqn != n->host_nqn_configured)
                        __builtin_trap();
                nbft_format_mac(d->mac, mac, sizeof(mac));
        }
        for (char **m = n->messages; m && *m; m++)
                check_string(*m, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        one(data, size, false);
        if (size >= NBFT_HEADER_SIZE && size <= NBFT_MAX_SIZE)
                one(data, size, true);
        return 0;
}

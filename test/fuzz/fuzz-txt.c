/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz the TP8009 TXT parser.  Input = TXT RDATA in DNS wire format: a
 * sequence of <length byte><length bytes>, exactly what an mDNS responder
 * on the network controls.  A truncated last entry is fed as is.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zeroconf-txt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ZeroconfTxt t;
        size_t i = 0;

        zeroconf_txt_init(&t);
        while (i < size) {
                size_t len = data[i++];

                if (len > size - i)
                        len = size - i;
                if (zeroconf_txt_add(&t, data + i, len) < 0)
                        break;
                i += len;
        }
        if (zeroconf_txt_finish(&t) == 0) {
                /* Postconditions the daemon relies on. */
                if (!t.transport || (strcmp(t.transport, "tcp") && strcmp(t.transport, "rdma")))
                        __builtin_trap();
                if (!t.subsysnqn || strlen(t.subsysnqn) == 0 || strlen(t.subsysnqn) > ZEROCONF_NQN_MAX)
                        __builtin_trap();
        }
        (void) zeroconf_txt_entry_to_string(ZEROCONF_TXT_USED);
        zeroconf_txt_done(&t);
        return 0;
}

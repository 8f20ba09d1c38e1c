/* SPDX-License-Identifier: Apache-2.0 */
/* The exclusion-list parser on arbitrary bytes, then matching against a DC. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "exclusions.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(excl_list_freep) ExclList *l = NULL;
        ExclTarget t = { .value = {
                "tcp", "192.168.1.10", "8009", "nqn.2014-08.org.nvmexpress.discovery", "10.0.0.1", "eth0",
                "nqn.host", "0a0b",
        } };

        if (size > EXCL_FILE_MAX)
                return 0;
        if (excl_list_new(&l) < 0)
                return 0;
        if (excl_parse_string(l, "fuzz.conf", (const char *) data, size) < 0)
                return 0;
        for (size_t i = 0; i < l->n; i++) {
                bool any = false;

                for (unsigned k = 0; k < _EXCL_KEY_MAX; k++)
                        if (l->entries[i].value[k]) {
                                if (!*l->entries[i].value[k])
                                        abort(); /* empty values are invalid */
                                any = true;
                        }
                if (!any)
                        abort(); /* an entry with no field is invalid */
                (void) excl_entry_matches(&l->entries[i], &t);
        }
        (void) excl_match(l, &t);
        return 0;
}

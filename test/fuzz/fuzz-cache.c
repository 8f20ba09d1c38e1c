/* SPDX-License-Identifier: Apache-2.0 */
/* cache_load_from_string on arbitrary text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cache.h"
#include "json.h"
#include "json-tree.h"
#include "macro.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        CacheEntry *entries = NULL;
        size_t n = 0;
        char *err = NULL;
        int r;

        r = cache_load_from_string((const char *) data, size, &entries, &n, &err);
        if (r == 0) {
                for (size_t i = 0; i < n; i++) {
                        _cleanup_json_ struct json_object *o = json_object_new_object();

                        const Tid *t = &entries[i].tid;

                        /* Everything loaded can reach D-Bus. */
                        if (!utf8_is_valid(t->transport) || !utf8_is_valid(t->traddr) ||
                            !utf8_is_valid(t->trsvcid) || !utf8_is_valid(t->subsysnqn) ||
                            !utf8_is_valid(t->host_traddr) || !utf8_is_valid(t->host_iface) ||
                            !utf8_is_valid(t->host_nqn))
                                __builtin_trap();
                        for (size_t j = 0; entries[i].dlp && j < entries[i].dlp->n; j++)
                                for (unsigned k = 0; k < _DLPE_N_KEYS; k++)
                                        if (!utf8_is_valid(dlpe_get(entries[i].dlp->entries[j], k)))
                                                __builtin_trap();
                        free(tid_to_string(&entries[i].tid));
                        if (o)
                                (void) json_add_tid(o, &entries[i].tid);
                        json_object_put(json_dlp(entries[i].dlp));
                        (void) tid_hash(&entries[i].tid);
                        (void) tid_equal(&entries[i].tid, &entries[0].tid);
                }
                cache_entries_free(entries, n);
        } else if (r == -EBADMSG && !err)
                __builtin_trap();
        free(err);
        return 0;
}

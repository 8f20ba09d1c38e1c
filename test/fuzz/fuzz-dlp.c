/* SPDX-License-Identifier: Apache-2.0 */
/* dlp_decode on arbitrary bytes, and dlp_fetch with a reader serving them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dlp.h"
#include "json.h"
#include "json-tree.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Src {
        const uint8_t *data;
        size_t size;
        unsigned reads;
        uint8_t mode;
} Src;

static int src_read(void *ud, uint64_t offset, void *buf, size_t len, bool rae) {
        Src *s = ud;

        s->reads++;
        /* mode bits: fail some read, or perturb genctr on header reads */
        if ((s->mode & 0x80) && s->reads == (unsigned) (s->mode & 0x7) + 1)
                return (s->mode & 0x40) ? -EIO : -EREMOTEIO;
        memset(buf, 0, len);
        if (offset < s->size)
                memcpy(buf, s->data + offset, s->size - offset < len ? s->size - offset : len);
        if ((s->mode & 0x20) && offset == 0 && len >= 8 && (s->reads % 3) == 0)
                ((uint8_t *) buf)[0] ^= 1;
        return 0;
}

static void exercise(const Dlp *d) {
        _cleanup_json_ struct json_object *o = json_dlp(d);

        if (o)
                (void) json_object_to_json_string(o);
        (void) dlp_equal(d, d);
        (void) dlp_referrals_differ(d, NULL);
        for (size_t i = 0; i < d->n; i++) {
                const DlpEntry *e = d->entries[i];

                for (unsigned k = 0; k < _DLPE_N_KEYS; k++) {
                        const char *v = dlpe_get(e, k);

                        for (; *v; v++)
                                if (*v < 0x20 || *v >= 0x7f)
                                        __builtin_trap();
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(dlp_freep) Dlp *d = NULL, *f = NULL;
        size_t dropped;
        Src s;

        if (dlp_decode(data, size, &d, &dropped) == 0) {
                if (d->n > (size - DLP_HEADER_SIZE) / DLP_ENTRY_SIZE)
                        __builtin_trap();
                exercise(d);
        }

        s = (Src) { .data = data, .size = size, .mode = size > 16 ? data[16] : 0 };
        if (dlp_fetch(src_read, &s, 3, 64, &f, NULL, &dropped) == 0) {
                if (f->n > 64)
                        __builtin_trap();
                exercise(f);
        }
        return 0;
}

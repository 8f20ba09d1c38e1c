/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build raw discovery log pages for tests (header-only). */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dlp.h"

typedef struct RawEntry {
        uint8_t trtype, adrfam, subtype, treq;
        uint16_t portid, cntlid, asqsz, eflags;
        const char *trsvcid, *subnqn, *traddr;
        uint8_t tsas0;
} RawEntry;

static inline void put_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void put_le64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static inline void raw_header(uint8_t *p, uint64_t genctr, uint64_t numrec) {
        memset(p, 0, DLP_HEADER_SIZE);
        put_le64(p, genctr);
        put_le64(p + 8, numrec);
}

/* Strings are copied with strncpy semantics: a string as long as the field
 * leaves no NUL. */
static inline void raw_entry(uint8_t *p, const RawEntry *e) {
        memset(p, 0, DLP_ENTRY_SIZE);
        p[0] = e->trtype;
        p[1] = e->adrfam;
        p[2] = e->subtype;
        p[3] = e->treq;
        put_le16(p + 4, e->portid);
        put_le16(p + 6, e->cntlid);
        put_le16(p + 8, e->asqsz);
        put_le16(p + 10, e->eflags);
        if (e->trsvcid)
                memcpy(p + 32, e->trsvcid, strnlen(e->trsvcid, 32));
        if (e->subnqn)
                memcpy(p + 256, e->subnqn, strnlen(e->subnqn, 256));
        if (e->traddr)
                memcpy(p + 512, e->traddr, strnlen(e->traddr, 256));
        p[768] = e->tsas0;
}

/* malloc'd log of n entries; *len set. */
static inline uint8_t *raw_log(uint64_t genctr, const RawEntry *e, size_t n, size_t *len) {
        uint8_t *p;

        *len = DLP_HEADER_SIZE + n * DLP_ENTRY_SIZE;
        p = malloc(*len);
        if (!p)
                return NULL;
        raw_header(p, genctr, n);
        for (size_t i = 0; i < n; i++)
                raw_entry(p + DLP_HEADER_SIZE + i * DLP_ENTRY_SIZE, &e[i]);
        return p;
}

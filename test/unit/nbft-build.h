/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Build NBFT tables for tests (header-only); test/nbft-build.py writes the
 * same layout for the VM suite.  Layout: header (64) | control (64) | host
 * (32) | HFI list | discovery list | heap (one 128-byte TCP info record per
 * HFI, then the strings).  The checksum is fixed last. */

#include <stdint.h>
#include <string.h>

#define NB_MAX_HFI 4
#define NB_MAX_DC 8

typedef struct NbHfi {
        uint8_t index; /* 0 = position + 1 */
        uint8_t flags; /* 0 = valid */
        uint8_t trtype; /* 0 = tcp (3) */
        uint8_t mac[6];
} NbHfi;

typedef struct NbDc {
        uint8_t index; /* 0 = position + 1 */
        uint8_t flags; /* 0 = valid */
        uint8_t hfi_index; /* 0 = 1 */
        const char *uri;
        const char *nqn; /* NULL = none */
} NbDc;

typedef struct NbTable {
        const char *hostnqn;
        uint8_t host_flags; /* 0 = valid | host NQN configured | host ID configured */
        uint8_t host_id[16];
        NbHfi hfi[NB_MAX_HFI];
        unsigned n_hfi;
        NbDc dc[NB_MAX_DC];
        unsigned n_dc;
        uint16_t hfi_elen, disc_elen; /* 0 = 32 */
} NbTable;

/* Where things landed, for tests that break them on purpose. */
typedef struct NbLayout {
        size_t len, control, host, hfi, disc, heap;
        size_t trinfo[NB_MAX_HFI];
        size_t uri[NB_MAX_DC];
} NbLayout;

static inline void nb_le16(uint8_t *p, uint16_t v) {
        p[0] = (uint8_t) v;
        p[1] = (uint8_t) (v >> 8);
}

static inline void nb_le32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static inline uint32_t nb_get_le32(const uint8_t *p) {
        return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static inline void nb_heap_ref(uint8_t *p, size_t off, size_t len) {
        nb_le32(p, (uint32_t) off);
        nb_le16(p + 4, (uint16_t) len);
}

static inline void nb_fix_checksum(uint8_t *buf, size_t len) {
        uint8_t sum = 0;

        buf[9] = 0;
        for (size_t i = 0; i < len; i++)
                sum = (uint8_t) (sum + buf[i]);
        buf[9] = (uint8_t) (0x100 - sum);
}

/* Copy a string into the heap; returns its offset. */
static inline size_t nb_put_string(uint8_t *buf, size_t *pos, const char *s) {
        size_t off = *pos, n = strlen(s);

        memcpy(buf + off, s, n);
        *pos += n;
        return off;
}

/* Write the table into buf (size bytes; 4096 is plenty for the tests);
 * returns its length. */
static inline size_t nb_build(const NbTable *t, uint8_t *buf, size_t size, NbLayout *lay) {
        size_t hfil = t->hfi_elen ?: 32, discl = t->disc_elen ?: 32, pos;
        NbLayout l = { .control = 64, .host = 128 };
        uint8_t *c;

        memset(buf, 0, size);
        l.hfi = l.host + 32;
        l.disc = l.hfi + hfil * t->n_hfi;
        l.heap = l.disc + discl * t->n_dc;
        pos = l.heap;

        /* control descriptor */
        c = buf + l.control;
        c[0] = 1;
        c[1] = 1;
        nb_le16(c + 4, 64);
        c[6] = 1;
        nb_heap_ref(c + 8, l.host, 32);
        c[14] = 1;
        nb_le32(c + 16, t->n_hfi ? (uint32_t) l.hfi : 0);
        nb_le16(c + 20, t->n_hfi ? (uint16_t) hfil : 0);
        c[22] = 1;
        c[23] = (uint8_t) t->n_hfi;
        nb_le32(c + 40, t->n_dc ? (uint32_t) l.disc : 0);
        nb_le16(c + 44, t->n_dc ? (uint16_t) discl : 0);
        c[46] = 1;
        c[47] = (uint8_t) t->n_dc;

        /* host descriptor */
        buf[l.host] = 2;
        buf[l.host + 1] = t->host_flags ?: 0x7;
        memcpy(buf + l.host + 2, t->host_id, 16);
        if (t->hostnqn) {
                size_t off = nb_put_string(buf, &pos, t->hostnqn);

                nb_heap_ref(buf + l.host + 18, off, strlen(t->hostnqn));
        }

        for (unsigned i = 0; i < t->n_hfi; i++) {
                uint8_t *h = buf + l.hfi + hfil * i, *ti = buf + pos;

                h[0] = 3;
                h[1] = t->hfi[i].index ?: (uint8_t) (i + 1);
                h[2] = t->hfi[i].flags ?: 1;
                h[3] = t->hfi[i].trtype ?: 3;
                l.trinfo[i] = pos;
                nb_heap_ref(h + 16, pos, 128);
                ti[0] = 7;
                ti[1] = 1;
                ti[2] = 3;
                ti[3] = 1;
                nb_le16(ti + 4, h[1]);
                ti[6] = 1;
                memcpy(ti + 11, t->hfi[i].mac, 6);
                pos += 128;
        }

        for (unsigned i = 0; i < t->n_dc; i++) {
                uint8_t *d = buf + l.disc + discl * i;

                d[0] = 6;
                d[1] = t->dc[i].flags ?: 1;
                d[2] = t->dc[i].index ?: (uint8_t) (i + 1);
                d[3] = t->dc[i].hfi_index ?: 1;
                if (t->dc[i].uri) {
                        l.uri[i] = nb_put_string(buf, &pos, t->dc[i].uri);
                        nb_heap_ref(d + 6, l.uri[i], strlen(t->dc[i].uri));
                }
                if (t->dc[i].nqn) {
                        size_t off = nb_put_string(buf, &pos, t->dc[i].nqn);

                        nb_heap_ref(d + 12, off, strlen(t->dc[i].nqn));
                }
        }

        /* header */
        memcpy(buf, "NBFT", 4);
        nb_le32(buf + 4, (uint32_t) pos);
        buf[8] = 1;
        memcpy(buf + 10, "STAFD ", 6);
        memcpy(buf + 16, "NBFTTEST", 8);
        nb_le32(buf + 36, (uint32_t) l.heap);
        nb_le32(buf + 40, (uint32_t) (pos - l.heap));
        buf[50] = 0;
        l.len = pos;
        nb_fix_checksum(buf, pos);
        if (lay)
                *lay = l;
        return pos;
}

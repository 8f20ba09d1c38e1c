/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "macro.h"
#include "nbft.h"
#include "strv.h"
#include "tid.h"

/* Structure ids and flags (NVMe Boot Specification 1.0). */
enum {
        NBFT_ID_CONTROL = 1,
        NBFT_ID_HOST = 2,
        NBFT_ID_HFI = 3,
        NBFT_ID_DISCOVERY = 6,
        NBFT_ID_HFI_TRINFO = 7,
        NBFT_TRTYPE_TCP = 3,
        NBFT_FLAG_VALID = 1 << 0,
        NBFT_HOST_ID_CONFIGURED = 1 << 1,
        NBFT_HOST_NQN_CONFIGURED = 1 << 2,
};

/* Bytes of each structure this parser reads: a shorter element cannot hold
 * the fields, a longer one is skipped over. */
#define CONTROL_MIN 48
#define HOST_MIN 24
#define HFI_MIN 22
#define DISCOVERY_MIN 18
#define TRINFO_MIN 17
#define HEAP_OBJ_SIZE 6
#define URI_SCHEME "nvme+tcp://"

typedef struct Table {
        const uint8_t *p;
        uint32_t len;
        uint32_t heap_off, heap_len;
} Table;

typedef struct List {
        uint32_t off;
        uint16_t elen;
        uint8_t count;
} List;

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t le32(const uint8_t *p) {
        return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 24);
}

static bool range_ok(const Table *t, uint64_t off, uint64_t len) {
        return off <= t->len && len <= t->len - off;
}

/* Resolve a heap object reference (6 bytes at ref, already inside the
 * table).  An object of length 0 is empty, whatever its offset. */
static int heap_obj(const Table *t, const uint8_t *ref, const uint8_t **ret, size_t *ret_len) {
        uint32_t off = le32(ref);
        uint16_t len = le16(ref + 4);

        *ret = NULL;
        *ret_len = 0;
        if (len == 0)
                return 0;
        if (off < t->heap_off || (uint64_t) off + len > (uint64_t) t->heap_off + t->heap_len)
                return -EBADMSG;
        *ret = t->p + off;
        *ret_len = len;
        return 0;
}

/* A heap object holding a string: up to the first NUL, printable ASCII
 * only.  *ret = NULL for an empty string. */
static int heap_string(const Table *t, const uint8_t *ref, char **ret) {
        const uint8_t *s;
        size_t len;
        char *r;
        int e;

        e = heap_obj(t, ref, &s, &len);
        if (e < 0)
                return e;
        len = s ? strnlen((const char *) s, len) : 0;
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x20 || s[i] >= 0x7f)
                        return -EILSEQ;
        if (len == 0) {
                *ret = NULL;
                return 0;
        }
        r = strndup((const char *) s, len);
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

/* What goes into the kernel's "key=value,key=value" connect string must not
 * hold ',', '=' or blanks: NULL if nqn is acceptable, else why not. */
static const char *nqn_problem(const char *nqn) {
        if (strlen(nqn) > NVMF_NQN_MAX)
                return "is too long";
        if (strncmp(nqn, "nqn.", 4) != 0)
                return "does not start with 'nqn.'";
        if (nqn[strcspn(nqn, ",= ")])
                return "holds ',', '=' or a blank";
        return NULL;
}

/* A host name or IP literal, with an optional "%zone": letters, digits and
 * ".-:_%" only. */
static bool addr_chars_ok(const char *s) {
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                      strchr(".-:_%", *s)))
                        return false;
        return true;
}

static const char *heap_strerror(int e) {
        return e == -EILSEQ ? "holds a non-printable byte" : "lies outside the heap";
}

static int fail(char **ret_error, int e, const char *fmt, ...) _printf_(3, 4);
static int fail(char **ret_error, int e, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return e;
}

void nbft_format_mac(const uint8_t mac[6], char *buf, size_t size) {
        (void) snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                        mac[5]);
}

static void discovery_done(NbftDiscovery *d) {
        free(d->transport);
        free(d->traddr);
        free(d->trsvcid);
        free(d->subsysnqn);
        free(d->host_nqn);
}

Nbft *nbft_free(Nbft *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_dcs; i++)
                discovery_done(&n->dcs[i]);
        free(n->dcs);
        free(n->host_nqn);
        free(n->host_id);
        strv_free(n->messages);
        free(n);
        return NULL;
}

/* "nvme+tcp://<host>[:<port>][/...]", host an IPv4 address, a name or a
 * bracketed IPv6 address (zone as "%25zone" or "%zone").  Returns 0 or
 * -EINVAL with *why set; -ENOMEM. */
static int parse_uri(const char *uri, char **ret_addr, char **ret_port, const char **why) {
        _cleanup_free_ char *addr = NULL, *port = NULL;
        const char *a, *end, *h, *he, *p = NULL;
        size_t n;

        if (strncasecmp(uri, URI_SCHEME, strlen(URI_SCHEME)) != 0) {
                *why = "is not an nvme+tcp:// URI";
                return -EINVAL;
        }
        a = uri + strlen(URI_SCHEME);
        end = a + strcspn(a, "/?#");
        if (memchr(a, '@', (size_t) (end - a))) {
                *why = "has user information";
                return -EINVAL;
        }
        if (*a == '[') {
                h = a + 1;
                he = memchr(h, ']', (size_t) (end - h));
                if (!he) {
                        *why = "has an unclosed '['";
                        return -EINVAL;
                }
                if (he + 1 < end) {
                        if (he[1] != ':') {
                                *why = "has junk after ']'";
                                return -EINVAL;
                        }
                        p = he + 2;
                }
        } else {
                h = a;
                he = memchr(a, ':', (size_t) (end - a));
                if (!he)
                        he = end;
                else {
                        p = he + 1;
                        if (memchr(p, ':', (size_t) (end - p))) {
                                *why = "has an IPv6 address without brackets";
                                return -EINVAL;
                        }
                }
        }
        if (he == h) {
                *why = "has no address";
                return -EINVAL;
        }

        /* The address, with a URI-encoded zone "%25" turned into "%". */
        addr = malloc((size_t) (he - h) + 1);
        if (!addr)
                return -ENOMEM;
        n = 0;
        for (const char *c = h; c < he; c++) {
                addr[n++] = *c;
                if (*c == '%' && he - c >= 3 && c[1] == '2' && c[2] == '5')
                        c += 2;
        }
        addr[n] = 0;
        if (!addr_chars_ok(addr)) {
                *why = "has an address with characters no host name or IP address has";
                return -EINVAL;
        }
        if (*a == '[' && ip_family_of(addr) != 6) {
                *why = "has a bracketed address that is not IPv6";
                return -EINVAL;
        }

        if (p && p < end) {
                unsigned long v = 0;

                for (const char *c = p; c < end; c++) {
                        if (*c < '0' || *c > '9' || v > 65535) {
                                *why = "has a bad port";
                                return -EINVAL;
                        }
                        v = v * 10 + (unsigned long) (*c - '0');
                }
                if (v == 0 || v > 65535) {
                        *why = "has a bad port";
                        return -EINVAL;
                }
                if (asprintf(&port, "%lu", v) < 0)
                        return -ENOMEM;
        }
        *ret_addr = TAKE_PTR(addr);
        *ret_port = TAKE_PTR(port);
        return 0;
}

static int read_list(const Table *t, const uint8_t *ref, size_t min, const char *name, List *ret,
                     char **ret_error) {
        *ret = (List){ .off = le32(ref), .elen = le16(ref + 4), .count = ref[7] };
        if (ret->count == 0)
                return 0;
        if (ret->elen < min)
                return fail(ret_error, -EBADMSG, "%s descriptors are %u bytes long, at least %zu expected",
                            name, ret->elen, min);
        if (!range_ok(t, ret->off, (uint64_t) ret->elen * ret->count))
                return fail(ret_error, -EBADMSG, "%s list (%u x %u bytes at %u) lies outside the table",
                            name, ret->count, ret->elen, ret->off);
        return 0;
}

static int parse_host(const Table *t, const uint8_t *ctl, Nbft *n, char **ret_error) {
        uint32_t off = le32(ctl + 8);
        uint16_t len = le16(ctl + 12);
        const uint8_t *h;
        bool zero = true;
        int e;

        if (len == 0)
                return 0;
        if (len < HOST_MIN || !range_ok(t, off, len))
                return fail(ret_error, -EBADMSG, "host descriptor (%u bytes at %u) lies outside the table",
                            len, off);
        h = t->p + off;
        if (h[0] != NBFT_ID_HOST)
                return strv_extendf(&n->messages, "host descriptor has structure id %u: ignored", h[0]);
        if (!(h[1] & NBFT_FLAG_VALID))
                return 0;

        n->host_id_configured = h[1] & NBFT_HOST_ID_CONFIGURED;
        n->host_nqn_configured = h[1] & NBFT_HOST_NQN_CONFIGURED;
        for (unsigned i = 0; i < 16; i++)
                zero = zero && h[2 + i] == 0;
        if (!zero) {
                const uint8_t *u = h + 2;

                if (asprintf(&n->host_id,
                             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                             u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                             u[13], u[14], u[15]) < 0) {
                        n->host_id = NULL;
                        return -ENOMEM;
                }
        }
        e = heap_string(t, h + 18, &n->host_nqn);
        if (e == -ENOMEM)
                return e;
        if (e < 0 || (n->host_nqn && nqn_problem(n->host_nqn))) {
                const char *why = e < 0 ? heap_strerror(e) : nqn_problem(n->host_nqn);
                int r = strv_extendf(&n->messages, "host NQN %s: ignored", why);

                n->host_nqn = mfree(n->host_nqn);
                n->host_nqn_configured = false;
                return r;
        }
        if (!n->host_nqn)
                n->host_nqn_configured = false;
        return 0;
}

/* The valid HFI whose own index field is idx, or NULL. */
static const uint8_t *find_hfi(const Table *t, const List *hfi, unsigned idx) {
        if (idx == 0)
                return NULL;
        for (unsigned i = 0; i < hfi->count; i++) {
                const uint8_t *q = t->p + hfi->off + (size_t) i * hfi->elen;

                if (q[0] == NBFT_ID_HFI && (q[2] & NBFT_FLAG_VALID) && q[1] == idx)
                        return q;
        }
        return NULL;
}

/* One discovery descriptor: appended to n->dcs, or a message saying why not. */
static int parse_discovery(const Table *t, const List *hfi, const uint8_t *d, unsigned pos, Nbft *n) {
        _cleanup_free_ char *uri = NULL, *nqn = NULL, *addr = NULL, *port = NULL;
        const uint8_t *q, *ti;
        const char *why = NULL;
        NbftDiscovery *l, e = {};
        size_t ti_len;
        int r;

        if (d[0] != NBFT_ID_DISCOVERY)
                return strv_extendf(&n->messages, "discovery descriptor #%u has structure id %u: skipped",
                                    pos, d[0]);
        if (!(d[1] & NBFT_FLAG_VALID))
                return 0;
        e.index = d[2];
        e.hfi_index = d[3];

        q = find_hfi(t, hfi, e.hfi_index);
        if (!q)
                return strv_extendf(
                        &n->messages,
                        "discovery descriptor %u: HFI index %u names no valid HFI descriptor: skipped",
                        e.index, e.hfi_index);
        if (q[3] != NBFT_TRTYPE_TCP)
                return strv_extendf(&n->messages,
                                    "discovery descriptor %u: HFI %u has transport type %u, only tcp (3) is "
                                    "supported: skipped",
                                    e.index, e.hfi_index, q[3]);
        if (heap_obj(t, q + 16, &ti, &ti_len) < 0 || ti_len < TRINFO_MIN)
                return strv_extendf(&n->messages,
                                    "discovery descriptor %u: HFI %u has no usable transport info: skipped",
                                    e.index, e.hfi_index);
        if (ti[0] != NBFT_ID_HFI_TRINFO || ti[2] != NBFT_TRTYPE_TCP || !(ti[6] & NBFT_FLAG_VALID))
                return strv_extendf(
                        &n->messages,
                        "discovery descriptor %u: HFI %u transport info is not a valid tcp record: skipped",
                        e.index, e.hfi_index);
        memcpy(e.mac, ti + 11, 6);

        r = heap_string(t, d + 6, &uri);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return strv_extendf(&n->messages, "discovery descriptor %u: address %s: skipped", e.index,
                                    heap_strerror(r));
        if (!uri)
                return strv_extendf(&n->messages, "discovery descriptor %u: no address: skipped", e.index);
        r = parse_uri(uri, &addr, &port, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return strv_extendf(&n->messages, "discovery descriptor %u: address '%s' %s: skipped",
                                    e.index, uri, why);

        r = heap_string(t, d + 12, &nqn);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || (nqn && nqn_problem(nqn)))
                return strv_extendf(&n->messages, "discovery descriptor %u: NQN %s: skipped", e.index,
                                    r < 0 ? heap_strerror(r) : nqn_problem(nqn));

        e.transport = strdup("tcp");
        e.subsysnqn = nqn ? TAKE_PTR(nqn) : strdup(DISC_NQN);
        e.host_nqn = n->host_nqn_configured ? strdup(n->host_nqn) : NULL;
        e.traddr = TAKE_PTR(addr);
        e.trsvcid = TAKE_PTR(port);
        l = realloc(n->dcs, sizeof(NbftDiscovery) * (n->n_dcs + 1));
        if (!e.transport || !e.subsysnqn || (n->host_nqn_configured && !e.host_nqn) || !l) {
                if (l)
                        n->dcs = l;
                discovery_done(&e);
                return -ENOMEM;
        }
        n->dcs = l;
        n->dcs[n->n_dcs++] = e;
        return 0;
}

int nbft_parse(const void *buf, size_t size, Nbft **ret, char **ret_error) {
        _cleanup_(nbft_freep) Nbft *n = NULL;
        const uint8_t *p = buf, *ctl;
        List hfi, disc;
        uint8_t sum = 0;
        uint16_t csl;
        Table t;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (size < NBFT_HEADER_SIZE)
                return fail(ret_error, -EBADMSG, "table too short (%zu bytes)", size);
        if (memcmp(p, "NBFT", 4) != 0)
                return fail(ret_error, -EBADMSG, "wrong signature");
        t = (Table){ .p = p, .len = le32(p + 4) };
        if (t.len < NBFT_HEADER_SIZE || t.len > NBFT_MAX_SIZE)
                return fail(ret_error, -EBADMSG, "bad table length %u", t.len);
        if (t.len > size)
                return fail(ret_error, -EBADMSG, "truncated: the header says %u bytes, %zu present", t.len,
                            size);
        for (uint32_t i = 0; i < t.len; i++)
                sum = (uint8_t) (sum + p[i]);
        if (sum != 0)
                return fail(ret_error, -EBADMSG, "bad checksum (byte sum 0x%02x)", sum);
        if (p[8] != 1)
                return fail(ret_error, -EPROTONOSUPPORT, "major revision %u is not supported (1 is)", p[8]);

        t.heap_off = le32(p + 36);
        t.heap_len = le32(p + 40);
        if (t.heap_len > 0 && !range_ok(&t, t.heap_off, t.heap_len))
                return fail(ret_error, -EBADMSG, "heap (%u bytes at %u) lies outside the table", t.heap_len,
                            t.heap_off);

        if (!range_ok(&t, NBFT_HEADER_SIZE, CONTROL_MIN))
                return fail(ret_error, -EBADMSG, "no control descriptor");
        ctl = p + NBFT_HEADER_SIZE;
        csl = le16(ctl + 4);
        if (ctl[0] != NBFT_ID_CONTROL)
                return fail(ret_error, -EBADMSG, "control descriptor has structure id %u", ctl[0]);
        if (csl < CONTROL_MIN || !range_ok(&t, NBFT_HEADER_SIZE, csl))
                return fail(ret_error, -EBADMSG, "control descriptor length %u is out of range", csl);
        if (!(ctl[6] & NBFT_FLAG_VALID))
                return fail(ret_error, -EBADMSG, "control descriptor is not valid");

        n = calloc(1, sizeof(Nbft));
        if (!n)
                return -ENOMEM;
        r = parse_host(&t, ctl, n, ret_error);
        if (r < 0)
                return r;
        r = read_list(&t, ctl + 16, HFI_MIN, "HFI", &hfi, ret_error);
        if (r < 0)
                return r;
        r = read_list(&t, ctl + 40, DISCOVERY_MIN, "discovery", &disc, ret_error);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < disc.count; i++) {
                r = parse_discovery(&t, &hfi, p + disc.off + (size_t) i * disc.elen, i + 1, n);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of transport ids from outside: see validate.h for the rules.
 * Everything here is a pure function of its input.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "macro.h"
#include "validate.h"

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alnum(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the UTF-8 sequence at s (shortest form, no surrogates, at most
 * U+10FFFF), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s) {
        uint32_t cp;
        size_t n;

        if (s[0] < 0x80)
                return 1;
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
                n = 2;
                cp = s[0] & 0x1f;
        } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
                n = 3;
                cp = s[0] & 0x0f;
        } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
                n = 4;
                cp = s[0] & 0x07;
        } else
                return 0;
        for (size_t i = 1; i < n; i++) {
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        /* C1 controls (U+0080..U+009F) count as control characters. */
        if (cp >= 0x80 && cp <= 0x9f)
                return 0;
        return n;
}

bool validate_chars(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        if (!s)
                return false;
        while (*p) {
                size_t n;

                if (*p < 0x20 || *p == 0x7f || *p == ' ' || *p == ',' || *p == '=')
                        return false;
                n = utf8_len(p);
                if (n == 0)
                        return false;
                p += n;
        }
        return true;
}

bool validate_transport(const char *s) {
        return s && (streq(s, "tcp") || streq(s, "rdma") || streq(s, "fc") || streq(s, "loop"));
}

bool validate_port(const char *s) {
        unsigned long v = 0;
        size_t i;

        if (!s || !is_digit(s[0]) || s[0] == '0')
                return false;
        for (i = 0; s[i]; i++) {
                if (!is_digit(s[i]) || i >= 5)
                        return false;
                v = v * 10 + (unsigned long) (s[i] - '0');
        }
        return v >= 1 && v <= 65535;
}

bool validate_ifname(const char *s) {
        size_t n;

        if (!validate_chars(s))
                return false;
        n = strlen(s);
        if (n == 0 || n > IFNAME_MAX || streq(s, ".") || streq(s, ".."))
                return false;
        return !strpbrk(s, "/:");
}

static bool is_index(const char *s) {
        if (!is_digit(s[0]) || s[0] == '0')
                return false;
        for (size_t i = 0; s[i]; i++)
                if (!is_digit(s[i]) || i >= 10)
                        return false;
        return true;
}

bool validate_ip(const char *s) {
        char addr[INET6_ADDRSTRLEN + 1];
        unsigned char bin[sizeof(struct in6_addr)];
        const char *pct;
        size_t n;

        if (!validate_chars(s))
                return false;
        pct = strchr(s, '%');
        n = pct ? (size_t) (pct - s) : strlen(s);
        if (n == 0 || n >= sizeof(addr))
                return false;
        memcpy(addr, s, n);
        addr[n] = 0;
        if (inet_pton(AF_INET, addr, bin) == 1)
                return !pct;
        if (inet_pton(AF_INET6, addr, bin) != 1)
                return false;
        if (!pct)
                return true;
        /* A scope is meaningful for link-local addresses only. */
        if (!IN6_IS_ADDR_LINKLOCAL((struct in6_addr *) bin))
                return false;
        return validate_ifname(pct + 1) || is_index(pct + 1);
}

static bool wwn_part(const char *s, const char *prefix) {
        if (strncasecmp(s, prefix, 5) != 0)
                return false;
        for (size_t i = 5; i < 21; i++)
                if (!is_hex(s[i]))
                        return false;
        return true;
}

bool validate_fc_addr(const char *s) {
        /* nn-0x + 16 hex + ':' + pn-0x + 16 hex = 43 */
        if (!s || strlen(s) != 43 || s[21] != ':')
                return false;
        return wwn_part(s, "nn-0x") && wwn_part(s + 22, "pn-0x");
}

/* Reverse domain name: labels of [A-Za-z0-9-], not empty, separated by
 * single dots.  Returns the length consumed, 0 if none. */
static size_t domain_len(const char *s) {
        size_t i = 0, label = 0;

        for (;; i++) {
                char c = s[i];

                if (is_alnum(c) || c == '-') {
                        label++;
                        continue;
                }
                if (c == '.' && label > 0) {
                        label = 0;
                        continue;
                }
                break;
        }
        if (label == 0)
                return 0; /* empty, or ends with '.' */
        return i;
}

bool validate_nqn(const char *s) {
        static const char uuid_prefix[] = "nqn.2014-08.org.nvmexpress:uuid:";
        size_t n, d;

        if (!validate_chars(s))
                return false;
        n = strlen(s);
        if (n == 0 || n > NVMF_NQN_MAX)
                return false;
        if (streq(s, DISC_NQN))
                return true;
        if (strncmp(s, uuid_prefix, sizeof(uuid_prefix) - 1) == 0) {
                const char *u = s + sizeof(uuid_prefix) - 1;

                if (strlen(u) != 36)
                        return false;
                for (size_t i = 0; i < 36; i++)
                        if ((i == 8 || i == 13 || i == 18 || i == 23) ? u[i] != '-' : !is_hex(u[i]))
                                return false;
                return true;
        }
        /* nqn.yyyy-mm. */
        if (n < 12 || strncmp(s, "nqn.", 4) != 0 || !is_digit(s[4]) || !is_digit(s[5]) || !is_digit(s[6]) ||
            !is_digit(s[7]) || s[8] != '-' || !is_digit(s[9]) || !is_digit(s[10]) || s[11] != '.')
                return false;
        {
                int month = (s[9] - '0') * 10 + (s[10] - '0');

                if (month < 1 || month > 12)
                        return false;
        }
        d = domain_len(s + 12);
        if (d == 0)
                return false;
        if (s[12 + d] == 0)
                return true;
        return s[12 + d] == ':' && s[13 + d] != 0;
}

enum {
        F_TRANSPORT,
        F_TRADDR,
        F_TRSVCID,
        F_SUBSYSNQN,
        F_HOST_TRADDR,
        F_HOST_IFACE,
        F_HOST_NQN
};

static int bad(unsigned field, const char *reason, unsigned *ret_field, const char **ret_reason) {
        if (ret_field)
                *ret_field = field;
        if (ret_reason)
                *ret_reason = reason;
        return -EINVAL;
}

int tid_validate(const Tid *t, unsigned *ret_field, const char **ret_reason) {
        const char *transport, *traddr, *trsvcid, *host_traddr, *host_iface, *host_nqn;

        if (!t)
                return bad(F_TRANSPORT, "missing", ret_field, ret_reason);
        /* The character rule first, for every field: nothing below may see
         * a separator. */
        for (unsigned i = 0; i < TID_N_FIELDS; i++)
                if (!validate_chars(tid_field_const(t, i)))
                        return bad(i, "contains ',', '=', white space, a control character or invalid UTF-8",
                                   ret_field, ret_reason);

        transport = tid_field_const(t, F_TRANSPORT);
        traddr = tid_field_const(t, F_TRADDR);
        trsvcid = tid_field_const(t, F_TRSVCID);
        host_traddr = tid_field_const(t, F_HOST_TRADDR);
        host_iface = tid_field_const(t, F_HOST_IFACE);
        host_nqn = tid_field_const(t, F_HOST_NQN);

        if (!validate_transport(transport))
                return bad(F_TRANSPORT, "not one of tcp, rdma, fc, loop", ret_field, ret_reason);

        if (streq(transport, "tcp") || streq(transport, "rdma")) {
                if (!validate_ip(traddr))
                        return bad(F_TRADDR, "not a numeric IP address (a scope only on link-local IPv6)",
                                   ret_field, ret_reason);
                if (!validate_port(trsvcid))
                        return bad(F_TRSVCID, "not a port number 1-65535", ret_field, ret_reason);
                if (*host_traddr && !validate_ip(host_traddr))
                        return bad(F_HOST_TRADDR, "not a numeric IP address", ret_field, ret_reason);
        } else if (streq(transport, "fc")) {
                if (!validate_fc_addr(traddr))
                        return bad(F_TRADDR, "not nn-0x<16 hex>:pn-0x<16 hex>", ret_field, ret_reason);
                if (*trsvcid)
                        return bad(F_TRSVCID, "must be empty for fc", ret_field, ret_reason);
                if (*host_traddr && !validate_fc_addr(host_traddr))
                        return bad(F_HOST_TRADDR, "not nn-0x<16 hex>:pn-0x<16 hex>", ret_field, ret_reason);
        }
        /* loop: no address rules. */

        if (!validate_nqn(tid_field_const(t, F_SUBSYSNQN)))
                return bad(F_SUBSYSNQN, "not a valid NQN", ret_field, ret_reason);
        if (*host_iface && !validate_ifname(host_iface))
                return bad(F_HOST_IFACE, "not a valid interface name", ret_field, ret_reason);
        if (*host_nqn && !validate_nqn(host_nqn))
                return bad(F_HOST_NQN, "not a valid NQN", ret_field, ret_reason);
        return 0;
}

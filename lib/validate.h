/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * One validator for every transport id that comes from outside stafd
 * (discovery log entries, mDNS services, controller=/exclude= lines, cache
 * entries, D-Bus arguments).  Whatever passes here is safe to hand to
 * libnvme, which joins the connect options with ',' and '=' into one string
 * for the kernel.
 *
 * Rules (field names as in tid_field_names):
 * - No field contains ',', '=', whitespace, a control character (< 0x20,
 *   0x7f) or a byte sequence that is not UTF-8.
 * - transport: one of tcp, rdma, fc, loop.
 * - tcp/rdma: traddr a numeric IP (IPv4, or IPv6 where a "%scope" is
 *   allowed only for link-local fe80::/10 and must be an interface name or
 *   index); trsvcid a decimal port 1-65535 without leading zeros or sign;
 *   host-traddr empty or a numeric IP.
 * - fc: traddr and host-traddr (host-traddr may be empty) of the form
 *   "nn-0x<16 hex>:pn-0x<16 hex>"; trsvcid empty.
 * - loop: no address: traddr, trsvcid and host-traddr are only held to
 *   the character rule (the kernel ignores them for loop).
 * - subsysnqn and host-nqn: an NQN (below); host-nqn may be empty.
 * - host-iface: empty or a valid interface name (1-15 bytes, not "." or
 *   "..", no '/' or ':').
 *
 * NQN (NVMe Base spec 4.5): at most 223 bytes; the well-known discovery NQN,
 * "nqn.2014-08.org.nvmexpress:uuid:" + a 36-character UUID, or
 * "nqn.yyyy-mm." + a reverse domain name (labels of letters, digits and '-'
 * separated by '.'), optionally followed by ':' and a non-empty
 * user-chosen string.
 */

#include <stdbool.h>
#include <stddef.h>

#include "tid.h"

/* Generic rule only: non-NULL, valid UTF-8, no ',', '=', space or control. */
bool validate_chars(const char *s);
bool validate_nqn(const char *s);
bool validate_ifname(const char *s);
/* Decimal 1..65535 without sign or leading zeros. */
bool validate_port(const char *s);
/* Numeric IPv4/IPv6 literal; "%scope" only on IPv6 link-local. */
bool validate_ip(const char *s);
/* "nn-0x<16 hex>:pn-0x<16 hex>" (either case). */
bool validate_fc_addr(const char *s);
bool validate_transport(const char *s);

/* Check a whole TID (as built by tid_init or given raw).  Returns 0 if
 * valid, -EINVAL otherwise with *ret_field (may be NULL) set to the index of
 * the first bad field (tid_field_names order) and *ret_reason (may be NULL)
 * to a static description ("not a port number", ...). */
int tid_validate(const Tid *t, unsigned *ret_field, const char **ret_reason);

/* Address ranges in CIDR notation (192.168.1.0/24, fd00::/8, a bare address
 * for one host), IPv4 and IPv6, for TRUSTED_PROXIES: parsed and checked once
 * when the configuration is read, then matched against each connection's
 * peer address. An IPv4-mapped IPv6 address (::ffff:10.0.0.1) matches the
 * IPv4 ranges, since a dual-stack socket reports IPv4 clients that way. No
 * allocation; used by core/config.c and api/auth.c. */
#ifndef MT_CORE_CIDR_H
#define MT_CORE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct mt_cidr {
    bool v6;
    uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
    unsigned prefix;  /* 0-32 (IPv4) or 0-128 (IPv6) */
};

/* Parses "ADDRESS" or "ADDRESS/PREFIX" (len bytes at s, surrounding white
 * space ignored). Bits of the address beyond the prefix must be zero
 * (10.0.0.1/8 is refused as a likely typo). -1 with MT_EINVAL and a message
 * quoting the text otherwise. */
int mt_cidr_parse(const char *s, size_t len, struct mt_cidr *out, struct mt_err *err);

/* Parses an address as a connection reports it ("127.0.0.1", "::1",
 * "::ffff:10.0.0.1"); IPv4-mapped IPv6 addresses become IPv4. false when
 * addr is not an address. */
bool mt_addr_parse(const char *addr, struct mt_cidr *out);

/* Whether the address addr (from mt_addr_parse) lies in range. */
bool mt_cidr_contains(const struct mt_cidr *range, const struct mt_cidr *addr);

/* Whether addr is within any of the n ranges; false for text that is not an
 * address. */
bool mt_cidr_list_contains(const struct mt_cidr *ranges, size_t n, const char *addr);

#endif

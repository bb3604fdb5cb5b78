/* CIDR ranges for TRUSTED_PROXIES (see cidr.h): inet_pton does the address
 * syntax, this file the prefix, the check that no host bits are set, and
 * the comparison of the first prefix bits. */
#include "core/cidr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "core/parse.h"
#include "core/str.h"

/* ::ffff:a.b.c.d */
static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool mt_addr_parse(const char *addr, struct mt_cidr *out)
{
    memset(out, 0, sizeof(*out));
    if (!addr)
        return false;
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->prefix = 32;
        return true;
    }
    uint8_t a6[16];
    if (inet_pton(AF_INET6, addr, a6) != 1)
        return false;
    if (memcmp(a6, v4_mapped, sizeof(v4_mapped)) == 0) {
        memcpy(out->addr, a6 + 12, 4);
        out->prefix = 32;
        return true;
    }
    memcpy(out->addr, a6, 16);
    out->v6 = true;
    out->prefix = 128;
    return true;
}

/* Whether the bits of a beyond prefix are all zero. */
static bool host_bits_zero(const uint8_t *a, unsigned prefix, unsigned bits)
{
    for (unsigned i = prefix; i < bits; i++)
        if (a[i / 8] & (0x80u >> (i % 8)))
            return false;
    return true;
}

int mt_cidr_parse(const char *s, size_t len, struct mt_cidr *out, struct mt_err *err)
{
    char q[MT_QUOTE_SIZE];
    struct mt_str t = mt_str_trim((struct mt_str){s, len});
    char text[64];
    if (t.len == 0 || t.len >= sizeof(text))
        return mt_fail(err, MT_EINVAL, "expected an address or ADDRESS/PREFIX, got %s",
                       mt_quote(q, sizeof(q), s, len));
    memcpy(text, t.p, t.len);
    text[t.len] = '\0';
    char *slash = strchr(text, '/');
    if (slash)
        *slash = '\0';
    if (!mt_addr_parse(text, out) || strchr(text, '%'))
        return mt_fail(err, MT_EINVAL, "%s is not an IPv4 or IPv6 address or range",
                       mt_quote(q, sizeof(q), t.p, t.len));
    unsigned bits = out->v6 ? 128 : 32;
    if (slash) {
        int64_t prefix = 0;
        struct mt_err perr = {0};
        const char *p = slash + 1;
        if (mt_parse_i64(p, strlen(p), 0, bits, &prefix, &perr) < 0 || !*p || *p == '+' ||
            *p == '-' || *p == ' ')
            return mt_fail(err, MT_EINVAL, "%s: the prefix length must be 0 to %u",
                           mt_quote(q, sizeof(q), t.p, t.len), bits);
        out->prefix = (unsigned)prefix;
    }
    if (!host_bits_zero(out->addr, out->prefix, bits))
        return mt_fail(err, MT_EINVAL,
                       "%s has address bits set beyond its /%u prefix (did you mean the network "
                       "address?)",
                       mt_quote(q, sizeof(q), t.p, t.len), out->prefix);
    return 0;
}

bool mt_cidr_contains(const struct mt_cidr *range, const struct mt_cidr *addr)
{
    if (range->v6 != addr->v6)
        return false;
    unsigned full = range->prefix / 8, rest = range->prefix % 8;
    if (memcmp(range->addr, addr->addr, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (range->addr[full] & mask) == (addr->addr[full] & mask);
}

bool mt_cidr_list_contains(const struct mt_cidr *ranges, size_t n, const char *addr)
{
    struct mt_cidr a;
    if (!mt_addr_parse(addr, &a))
        return false;
    for (size_t i = 0; i < n; i++)
        if (mt_cidr_contains(&ranges[i], &a))
            return true;
    return false;
}

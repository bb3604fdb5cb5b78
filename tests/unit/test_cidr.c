/* Unit tests of src/core/cidr.c (TRUSTED_PROXIES): ranges and single
 * addresses of both families, IPv4-mapped IPv6 peers, the refusals a
 * configuration error must give (bad syntax, prefixes out of range, host
 * bits beyond the prefix), and the TRUSTED_PROXIES setting itself. */
#include "../check.h"
#include "core/cidr.h"
#include "core/config.h"

static bool in(const char *range, const char *addr)
{
    struct mt_cidr c;
    struct mt_err err = {0};
    if (mt_cidr_parse(range, strlen(range), &c, &err) < 0)
        return false;
    return mt_cidr_list_contains(&c, 1, addr);
}

static bool refused(const char *range)
{
    struct mt_cidr c;
    struct mt_err err = {0};
    return mt_cidr_parse(range, strlen(range), &c, &err) < 0 && err.code == MT_EINVAL &&
           err.msg[0];
}

static void test_match(void)
{
    CHECK(in("127.0.0.1", "127.0.0.1"));
    CHECK(!in("127.0.0.1", "127.0.0.2"));
    CHECK(in("127.0.0.1/32", "127.0.0.1"));
    CHECK(in("10.0.0.0/8", "10.255.3.4"));
    CHECK(!in("10.0.0.0/8", "11.0.0.1"));
    CHECK(in("192.168.1.0/24", "192.168.1.200"));
    CHECK(!in("192.168.1.0/24", "192.168.2.1"));
    CHECK(in("172.16.0.0/12", "172.31.255.255"));
    CHECK(!in("172.16.0.0/12", "172.32.0.0"));
    CHECK(in("0.0.0.0/0", "8.8.8.8"));
    CHECK(!in("0.0.0.0/0", "::1"));
    CHECK(in(" ::1 ", "::1"));
    CHECK(in("fd00::/8", "fd12:3456::1"));
    CHECK(!in("fd00::/8", "fe80::1"));
    CHECK(in("2001:db8::/32", "2001:db8:ffff::1"));
    /* A dual-stack socket reports IPv4 clients as mapped addresses. */
    CHECK(in("10.0.0.0/8", "::ffff:10.1.2.3"));
    CHECK(!in("::ffff:0:0/96", "10.1.2.3"));
    CHECK(!in("10.0.0.0/8", "not an address"));
    CHECK(!in("10.0.0.0/8", ""));
}

static void test_refused(void)
{
    CHECK(refused(""));
    CHECK(refused("10.0.0.0/"));
    CHECK(refused("10.0.0.0/33"));
    CHECK(refused("10.0.0.0/-1"));
    CHECK(refused("10.0.0.0/+8"));
    CHECK(refused("10.0.0.0/8x"));
    CHECK(refused("10.0.0.1/8"));
    CHECK(refused("::1/129"));
    CHECK(refused("fd00::1/8"));
    CHECK(refused("300.0.0.1"));
    CHECK(refused("localhost"));
    CHECK(refused("fe80::1%eth0"));
    CHECK(refused("10.0.0.0/8/8"));
}

static void test_setting(void)
{
    struct mt_config cfg;
    struct mt_err err = {0};
    struct mt_config_override ok[] = {{"TRUSTED_PROXIES", " 10.0.0.0/8 , ::1,,192.168.1.5 "},
                                       {"ENV_FILE", "/dev/null"}};
    CHECK_EQ(mt_config_load(&cfg, ok, 2, &err), 0);
    CHECK_EQ(cfg.n_trusted_proxies, 3);
    if (cfg.n_trusted_proxies == 3) {
        CHECK_STR(cfg.trusted_proxies[0], "10.0.0.0/8");
        CHECK_STR(cfg.trusted_proxies[1], "::1");
        CHECK_STR(cfg.trusted_proxies[2], "192.168.1.5");
    }
    CHECK(cfg.auth);
    CHECK_EQ(cfg.session_idle_timeout, 7 * 86400);
    CHECK_EQ(cfg.session_max_age, 30 * 86400);
    mt_config_release(&cfg);

    struct mt_config_override bad[] = {{"TRUSTED_PROXIES", "10.0.0.0/8,10.0.0.1/8"},
                                       {"ENV_FILE", "/dev/null"}};
    CHECK_EQ(mt_config_load(&cfg, bad, 2, &err), -1);
    CHECK(strstr(err.msg, "TRUSTED_PROXIES") != NULL);
    struct mt_config_override off[] = {{"AUTH", "off"}, {"ENV_FILE", "/dev/null"}};
    CHECK_EQ(mt_config_load(&cfg, off, 2, &err), 0);
    CHECK(!cfg.auth);
    mt_config_release(&cfg);
}

int main(void)
{
    test_match();
    test_refused();
    test_setting();
    return check_report();
}

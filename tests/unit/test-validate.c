/* test-validate.c - the shared name and address checks (daemon/validate.h). */
#include "config.h"

#include <glib.h>
#include <sys/socket.h>

#include "validate.h"

static void test_tunnel_names(void)
{
	const char *good[] = { "corp", "a", "wg0", "my-vpn.2", "_x", "abcdefghijklmno", NULL };
	const char *bad[] = { "", "-corp", ".hidden", "..", "all", "a/b", "a b", "abcdefghijklmnop",
			      "caf\xc3\xa9", "x:y", NULL };

	for (int i = 0; good[i]; i++)
		g_assert_true(rv_tunnel_name_valid(good[i]));
	for (int i = 0; bad[i]; i++)
		g_assert_false(rv_tunnel_name_valid(bad[i]));
	g_assert_false(rv_tunnel_name_valid(NULL));
}

static void test_ifnames(void)
{
	g_assert_true(rv_ifname_valid("eth0"));
	g_assert_true(rv_ifname_valid("veth@x+1"));	/* the kernel allows these */
	g_assert_false(rv_ifname_valid(""));
	g_assert_false(rv_ifname_valid("."));
	g_assert_false(rv_ifname_valid(".."));
	g_assert_false(rv_ifname_valid("a/b"));
	g_assert_false(rv_ifname_valid("a:b"));
	g_assert_false(rv_ifname_valid("a b"));
	g_assert_false(rv_ifname_valid("a\x01"));
	g_assert_false(rv_ifname_valid("0123456789abcdef"));
	g_assert_true(rv_ifname_valid("0123456789abcde"));
	g_assert_true(rv_ifname_plain("tun0"));
	g_assert_true(rv_ifname_plain("ppp-1.2"));
	g_assert_false(rv_ifname_plain("veth@x"));
	g_assert_false(rv_ifname_plain(".."));
}

static void test_groups(void)
{
	g_assert_true(rv_group_name_valid("netdev"));
	g_assert_true(rv_group_name_valid("vpn-admins"));
	g_assert_false(rv_group_name_valid("-x"));
	g_assert_false(rv_group_name_valid("wheel group"));
	g_assert_false(rv_group_name_valid(""));
}

static void test_domains(void)
{
	g_assert_true(rv_domain_valid("example.com"));
	g_assert_true(rv_domain_valid("corp"));
	g_assert_true(rv_domain_valid("_sip.x-y.example"));
	g_assert_false(rv_domain_valid(""));
	g_assert_false(rv_domain_valid(".example.com"));
	g_assert_false(rv_domain_valid("-x.com"));
	g_assert_false(rv_domain_valid("a..b"));
	g_assert_false(rv_domain_valid("a b"));
	g_assert_false(rv_domain_valid("~corp"));
	g_assert_true(rv_routing_domain_valid("~corp"));
	g_assert_true(rv_routing_domain_valid("~."));
	g_assert_true(rv_routing_domain_valid("corp.example"));
	g_assert_false(rv_routing_domain_valid("~"));
	g_assert_false(rv_routing_domain_valid("~-x"));
	{
		g_autofree char *long_name = g_strnfill(254, 'a');

		g_assert_false(rv_domain_valid(long_name));
		long_name[253] = '\0';
		g_assert_true(rv_domain_valid(long_name));
	}
}

static void test_addresses(void)
{
	int family = 0;

	g_assert_true(rv_ip_valid("10.0.0.1", &family));
	g_assert_cmpint(family, ==, AF_INET);
	g_assert_true(rv_ip_valid("fd00::1", &family));
	g_assert_cmpint(family, ==, AF_INET6);
	g_assert_true(rv_ip_valid("fd00::1", NULL));
	g_assert_false(rv_ip_valid("10.0.0.256", NULL));
	g_assert_false(rv_ip_valid("example.com", NULL));
	g_assert_false(rv_ip_valid(NULL, NULL));
	g_assert_true(rv_ipv4_valid("192.0.2.1"));
	g_assert_false(rv_ipv4_valid("::1"));
	g_assert_true(rv_cidr_valid("10.0.0.0/8"));
	g_assert_true(rv_cidr_valid("10.0.0.1"));
	g_assert_true(rv_cidr_valid("::/0"));
	g_assert_false(rv_cidr_valid("10.0.0.0/33"));
	g_assert_true(rv_cidr_valid("fd00::/128"));
	g_assert_false(rv_cidr_valid("fd00::/129"));
	g_assert_false(rv_cidr_valid("10.0.0.0/"));
	g_assert_false(rv_cidr_valid("10.0.0.0/x"));
	g_assert_true(rv_host_valid("vpn.example.com"));
	g_assert_true(rv_host_valid("192.0.2.1"));
	g_assert_true(rv_host_valid("fd00::1"));
	g_assert_false(rv_host_valid("-oProxyCommand=x"));	/* never an option */
	g_assert_false(rv_host_valid("https://vpn.example.com"));
	g_assert_false(rv_host_valid("a b"));
	g_assert_false(rv_host_valid(""));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/validate/tunnel-names", test_tunnel_names);
	g_test_add_func("/validate/ifnames", test_ifnames);
	g_test_add_func("/validate/groups", test_groups);
	g_test_add_func("/validate/domains", test_domains);
	g_test_add_func("/validate/addresses", test_addresses);
	return g_test_run();
}

/* test-hook-report.c - vpnc and pppd script reports, including hostile values. */
#include "config.h"

#include "error.h"
#include "hook-report.h"

static GHashTable *env_of(const char *const *kv)
{
	GHashTable *env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	for (; *kv; kv += 2)
		g_hash_table_insert(env, g_strdup(kv[0]), g_strdup(kv[1]));
	return env;
}

static char *no_argv[] = { "roamvpn-hook", NULL };

static void test_vpnc_connect_split(void)
{
	/* The variables vpnc 0.5.3 passed against strongSwan in the lab. */
	static const char *const kv[] = {
		"reason", "connect", "TUNDEV", "tun0", "VPNGATEWAY", "10.77.0.2",
		"INTERNAL_IP4_ADDRESS", "10.77.100.10", "INTERNAL_IP4_NETMASK", "255.255.255.255",
		"INTERNAL_IP4_NETMASKLEN", "32", "INTERNAL_IP4_DNS", "10.77.2.53 10.77.2.54",
		"CISCO_DEF_DOMAIN", "corp.example", "CISCO_SPLIT_INC", "2",
		"CISCO_SPLIT_INC_0_ADDR", "10.77.2.0", "CISCO_SPLIT_INC_0_MASKLEN", "24",
		"CISCO_SPLIT_INC_1_ADDR", "10.88.0.0", "CISCO_SPLIT_INC_1_MASKLEN", "16",
		"INTERNAL_IP4_MTU", "1412", NULL };
	g_autoptr(GHashTable) env = env_of(kv);
	g_autoptr(rv_tunnel_net) net = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(rv_hook_report_parse(no_argv, env, &net, &error), ==, RV_HOOK_UP);
	g_assert_no_error(error);
	g_assert_cmpstr(net->ifname, ==, "tun0");
	g_assert_cmpstr(g_ptr_array_index(net->addresses, 0), ==, "10.77.100.10/32");
	g_assert_false(net->addresses_assigned);
	g_assert_cmpuint(net->routes->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(net->routes, 1), ==, "10.88.0.0/16");
	g_assert_cmpstr(net->dns[1], ==, "10.77.2.54");
	g_assert_cmpstr(net->domains[0], ==, "corp.example");
	g_assert_cmpstr(net->endpoint, ==, "10.77.0.2");
	g_assert_cmpint(net->mtu, ==, 1412);
}

static void test_vpnc_full_and_other_reasons(void)
{
	static const char *const full[] = { "reason", "connect", "TUNDEV", "tun1",
		"INTERNAL_IP4_ADDRESS", "192.0.2.5", NULL };
	static const char *const pre[] = { "reason", "pre-init", NULL };
	static const char *const dis[] = { "reason", "disconnect", "TUNDEV", "tun1", NULL };
	g_autoptr(GHashTable) e1 = env_of(full), e2 = env_of(pre), e3 = env_of(dis);
	g_autoptr(rv_tunnel_net) net = NULL;
	struct rv_tunnel_net *none = NULL;

	g_assert_cmpint(rv_hook_report_parse(no_argv, e1, &net, NULL), ==, RV_HOOK_UP);
	g_assert_cmpstr(g_ptr_array_index(net->routes, 0), ==, "0.0.0.0/0");
	g_assert_cmpint(rv_hook_report_parse(no_argv, e2, &none, NULL), ==, RV_HOOK_IGNORE);
	g_assert_cmpint(rv_hook_report_parse(no_argv, e3, &none, NULL), ==, RV_HOOK_DOWN);
	g_assert_null(none);
}

static void test_pppd(void)
{
	static const char *const up[] = { "IFNAME", "ppp0", "IPLOCAL", "10.66.0.2",
		"IPREMOTE", "10.66.0.1", "DNS1", "10.66.0.53", "USEPEERDNS", "1", NULL };
	static const char *const down[] = { "IFNAME", "ppp0", "IPLOCAL", "10.66.0.2",
		"CONNECT_TIME", "12", NULL };
	char *argv[] = { "/usr/libexec/roamvpn/roamvpn-hook", "ppp0", "", "0", "10.66.0.2",
			 "10.66.0.1", NULL };
	g_autoptr(GHashTable) e1 = env_of(up), e2 = env_of(down);
	g_autoptr(rv_tunnel_net) net = NULL;
	struct rv_tunnel_net *none = NULL;

	g_assert_cmpint(rv_hook_report_parse(argv, e1, &net, NULL), ==, RV_HOOK_UP);
	g_assert_cmpstr(net->ifname, ==, "ppp0");
	g_assert_true(net->addresses_assigned);
	g_assert_cmpstr(net->dns[0], ==, "10.66.0.53");
	g_assert_null(net->dns[1]);
	g_assert_cmpint(rv_hook_report_parse(argv, e2, &none, NULL), ==, RV_HOOK_DOWN);
}

static void test_hostile(void)
{
	static const char *const cases[][10] = {
		{ "reason", "connect", "TUNDEV", "../../etc", "INTERNAL_IP4_ADDRESS", "10.0.0.1", NULL },
		{ "reason", "connect", "TUNDEV", "tun0;reboot", "INTERNAL_IP4_ADDRESS", "10.0.0.1", NULL },
		{ "reason", "connect", "TUNDEV", "averyveryverylongname", "INTERNAL_IP4_ADDRESS", "10.0.0.1", NULL },
		{ "reason", "connect", "TUNDEV", "tun0", "INTERNAL_IP4_ADDRESS", "10.0.0.1; rm -rf /", NULL },
		{ "reason", "connect", "TUNDEV", "tun0", "INTERNAL_IP4_ADDRESS", "10.0.0.1",
		  "INTERNAL_IP4_DNS", "$(reboot)", NULL },
		{ "reason", "connect", "TUNDEV", "tun0", "INTERNAL_IP4_ADDRESS", "10.0.0.1",
		  "CISCO_SPLIT_INC", "99999999999", NULL },
		{ "reason", "connect", "TUNDEV", "tun0", "INTERNAL_IP4_ADDRESS", "10.0.0.1",
		  "CISCO_SPLIT_INC", "1", NULL },	/* entry missing */
		{ "reason", "connect", "TUNDEV", "tun0", "INTERNAL_IP4_ADDRESS", "10.0.0.1",
		  "CISCO_DEF_DOMAIN", "corp.example\nnameserver 6.6.6.6", NULL },
		{ "IFNAME", "ppp0", "IPLOCAL", "not-an-ip", NULL },
		/* a good DNS1 before a bad DNS2 (leaked DNS1 under ASan; found by fuzz-hook) */
		{ "IFNAME", "ppp0", "IPLOCAL", "10.66.0.2", "DNS1", "10.66.0.53", "DNS2", "x", NULL },
		{ "HOME", "/root", NULL },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GHashTable) env = env_of(cases[i]);
		g_autoptr(GError) error = NULL;
		struct rv_tunnel_net *net = NULL;

		g_assert_cmpint(rv_hook_report_parse(no_argv, env, &net, &error), <, 0);
		g_assert_nonnull(error);
		g_assert_null(net);
		g_test_message("case %zu: %s", i, error->message);
	}
}

/* The wire format roamvpn-hook sends (hook-server.h). */
#define WIRE(lit) { (const guint8 *)(lit), sizeof(lit) - 1 }
static void test_wire(void)
{
	static const char good[] = "ROAMVPN-HOOK 1\0Aconnect\0Ereason=connect\0EX=a=b\0A\0";
	static const struct { const guint8 *data; gsize len; } bad[] = {
		WIRE("ROAMVPN-HOOK 2\0"),
		WIRE("ROAMVPN-HOOK 1\0Zx\0"),		/* neither argument nor variable */
		WIRE("ROAMVPN-HOOK 1\0Enoequals\0"),
		WIRE("ROAMVPN-HOOK 1\0Aunterminated"),	/* not NUL-terminated */
		WIRE(""),
	};
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	g_assert_true(rv_hook_wire_parse((const guint8 *)good, sizeof(good) - 1, argv, env));
	g_assert_cmpuint(argv->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(argv, 0), ==, "connect");
	g_assert_cmpstr(g_ptr_array_index(argv, 1), ==, "");
	g_assert_cmpstr(g_hash_table_lookup(env, "reason"), ==, "connect");
	g_assert_cmpstr(g_hash_table_lookup(env, "X"), ==, "a=b");
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_false(rv_hook_wire_parse(bad[i].data, bad[i].len, argv, env));
}

static void test_openvpn(void)
{
	/* What OpenVPN 2.6.14 gave --route-up against a real server (topology subnet,
	 * pushed route and dhcp-options), plus a point-to-point peer-less variant. */
	static const char *const up[] = { "script_type", "route-up", "dev", "tun0",
		"dev_type", "tun", "ifconfig_local", "10.77.8.2", "ifconfig_netmask", "255.255.255.0",
		"route_network_1", "10.77.2.0", "route_netmask_1", "255.255.255.0",
		"route_gateway_1", "10.77.8.1", "route_network_2", "10.88.0.0",
		"route_netmask_2", "255.255.0.0", "foreign_option_1", "dhcp-option DNS 10.77.2.53",
		"foreign_option_2", "dhcp-option DOMAIN corp.example",
		"foreign_option_3", "dhcp-option NTP 10.77.2.123", "trusted_ip", "10.77.0.2",
		"tun_mtu", "1500", NULL };
	static const char *const full[] = { "script_type", "route-up", "dev", "tun1",
		"ifconfig_local", "10.8.0.6", NULL };	/* no route pushed: a full tunnel */
	static const char *const down[] = { "script_type", "down", "dev", "tun0", NULL };
	static const char *const other[] = { "script_type", "up", "dev", "tun0", NULL };
	static const char *const evil_dns[] = { "script_type", "route-up", "dev", "tun0",
		"foreign_option_1", "dhcp-option DNS 10.0.0.1;reboot", NULL };
	static const char *const evil_dom[] = { "script_type", "route-up", "dev", "tun0",
		"foreign_option_1", "dhcp-option DOMAIN $(id)", NULL };
	static const char *const evil_mask[] = { "script_type", "route-up", "dev", "tun0",
		"route_network_1", "10.0.0.0", "route_netmask_1", "255.0.255.0", NULL };
	static const char *const evil_dev[] = { "script_type", "route-up", "dev", "../eth0", NULL };
	g_autoptr(GHashTable) e1 = env_of(up), e2 = env_of(full), e3 = env_of(down), e4 = env_of(other);
	g_autoptr(rv_tunnel_net) net = NULL, net2 = NULL;
	struct rv_tunnel_net *none = NULL;
	const char *const *const evil[] = { evil_dns, evil_dom, evil_mask, evil_dev };

	g_assert_cmpint(rv_hook_report_parse(no_argv, e1, &net, NULL), ==, RV_HOOK_UP);
	g_assert_cmpstr(net->ifname, ==, "tun0");
	g_assert_cmpstr(g_ptr_array_index(net->addresses, 0), ==, "10.77.8.2/24");
	g_assert_true(net->addresses_assigned);
	g_assert_cmpuint(net->routes->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(net->routes, 0), ==, "10.77.2.0/24");
	g_assert_cmpstr(g_ptr_array_index(net->routes, 1), ==, "10.88.0.0/16");
	g_assert_cmpstr(net->dns[0], ==, "10.77.2.53");
	g_assert_null(net->dns[1]);
	g_assert_cmpstr(net->domains[0], ==, "corp.example");
	g_assert_cmpstr(net->endpoint, ==, "10.77.0.2");

	g_assert_cmpint(rv_hook_report_parse(no_argv, e2, &net2, NULL), ==, RV_HOOK_UP);
	g_assert_cmpstr(g_ptr_array_index(net2->addresses, 0), ==, "10.8.0.6/32");
	g_assert_cmpstr(g_ptr_array_index(net2->routes, 0), ==, "0.0.0.0/0");

	g_assert_cmpint(rv_hook_report_parse(no_argv, e3, &none, NULL), ==, RV_HOOK_DOWN);
	g_assert_cmpint(rv_hook_report_parse(no_argv, e4, &none, NULL), ==, RV_HOOK_IGNORE);
	for (gsize i = 0; i < G_N_ELEMENTS(evil); i++) {
		g_autoptr(GHashTable) e = env_of(evil[i]);
		g_autoptr(GError) error = NULL;

		g_assert_cmpint(rv_hook_report_parse(no_argv, e, &none, &error), ==, -EINVAL);
		g_assert_error(error, RV_ERROR, RV_ERROR_INVALID);
		g_assert_null(none);
	}
}

static void test_strongswan(void)
{
	/* What strongSwan 5.9.8's updown gave a charon initiator (kernel-libipsec, EAP)
	 * against a real responder with a pool and DNS. */
	static const char *const up[] = { "PLUTO_VERB", "up-client", "PLUTO_INTERFACE", "plc0",
		"PLUTO_MY_SOURCEIP", "10.77.10.1", "PLUTO_MY_CLIENT", "10.77.10.1/32",
		"PLUTO_PEER", "10.77.0.2", "PLUTO_PEER_CLIENT", "10.77.2.0/24",
		"PLUTO_DNS4_1", "10.77.2.53", "PLUTO_DNS4_2", "10.77.2.54", NULL };
	static const char *const down[] = { "PLUTO_VERB", "down-client", "PLUTO_INTERFACE", "plc0", NULL };
	static const char *const host[] = { "PLUTO_VERB", "up-host", NULL };
	static const char *const evil[] = { "PLUTO_VERB", "up-client", "PLUTO_INTERFACE", "plc0",
		"PLUTO_MY_SOURCEIP", "10.77.10.1", "PLUTO_PEER_CLIENT", "10.0.0.0/8;reboot", NULL };
	g_autoptr(GHashTable) e1 = env_of(up), e2 = env_of(down), e3 = env_of(host), e4 = env_of(evil);
	g_autoptr(rv_tunnel_net) net = NULL;
	struct rv_tunnel_net *none = NULL;

	g_assert_cmpint(rv_hook_report_parse(no_argv, e1, &net, NULL), ==, RV_HOOK_UP);
	g_assert_cmpstr(g_ptr_array_index(net->addresses, 0), ==, "10.77.10.1/32");
	g_assert_true(net->addresses_assigned);
	g_assert_cmpstr(g_ptr_array_index(net->routes, 0), ==, "10.77.2.0/24");
	g_assert_cmpstr(net->dns[1], ==, "10.77.2.54");
	g_assert_cmpstr(net->endpoint, ==, "10.77.0.2");
	g_assert_cmpint(rv_hook_report_parse(no_argv, e2, &none, NULL), ==, RV_HOOK_DOWN);
	g_assert_cmpint(rv_hook_report_parse(no_argv, e3, &none, NULL), ==, RV_HOOK_IGNORE);
	g_assert_cmpint(rv_hook_report_parse(no_argv, e4, &none, NULL), ==, -EINVAL);
	g_assert_null(none);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hook-report/vpnc-connect-split", test_vpnc_connect_split);
	g_test_add_func("/hook-report/vpnc-full-and-reasons", test_vpnc_full_and_other_reasons);
	g_test_add_func("/hook-report/pppd", test_pppd);
	g_test_add_func("/hook-report/openvpn", test_openvpn);
	g_test_add_func("/hook-report/strongswan", test_strongswan);
	g_test_add_func("/hook-report/hostile", test_hostile);
	g_test_add_func("/hook-report/wire", test_wire);
	return g_test_run();
}

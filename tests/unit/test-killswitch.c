/* test-killswitch.c - what a tunnel file lets through a closed kill switch, per backend
 * (the nftables table itself is checked with real packets by daemon-killswitch.sh). */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ini.h"
#include "killswitch.h"

static char *endpoints_of(const char *backend, const char *text)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_tunnel_config cfg = { .name = (char *)"t", .path = (char *)"t.conf",
					.backend = (char *)backend };
	g_autoptr(GPtrArray) eps = NULL;

	cfg.ini = rv_ini_parse("t.conf", text, RV_INI_INLINE_COMMENTS, errors);
	g_assert_nonnull(cfg.ini);
	eps = rv_killswitch_endpoints(&cfg);
	rv_ini_free(cfg.ini);
	g_ptr_array_add(eps, NULL);
	return g_strjoinv(", ", (char **)eps->pdata);
}

static void assert_endpoints(const char *backend, const char *text, const char *want)
{
	g_autofree char *got = endpoints_of(backend, text);

	g_assert_cmpstr(got, ==, want);
}

static void test_builtin(void)
{
	assert_endpoints("builtin",
			 "[Interface]\nPrivateKey = x\n[Peer]\nPublicKey = a\nEndpoint = 192.0.2.1:51820\n"
			 "[Peer]\nPublicKey = b\nEndpoint = [2001:db8::1]:4500 # v6\n"
			 "[Peer]\nPublicKey = c\nEndpoint = vpn.example.com:1194\n[Peer]\nPublicKey = d\n",
			 "udp 192.0.2.1 51820, udp 2001:db8::1 4500, udp vpn.example.com 1194");
}

static void test_vpnc(void)
{
	g_autofree char *dir = g_dir_make_tmp("roamvpn-ks-XXXXXX", NULL);
	g_autofree char *conf = g_build_filename(dir, "vpnc.conf", NULL);
	g_autofree char *text = NULL;

	assert_endpoints("vpnc", "[Tunnel]\nBackend=vpnc\n[vpnc]\nGateway=gw.example.com\nID=g\n",
			 "udp gw.example.com 500, udp gw.example.com 4500, udp gw.example.com 10000, esp gw.example.com");
	/* Config=: the user's vpnc.conf names the gateway. */
	g_assert_true(g_file_set_contents(conf, "IPSec ID g\nIPSec gateway 198.51.100.7\n", -1, NULL));
	text = g_strdup_printf("[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=%s\n", conf);
	assert_endpoints("vpnc", text,
			 "udp 198.51.100.7 500, udp 198.51.100.7 4500, udp 198.51.100.7 10000, esp 198.51.100.7");
	g_assert_cmpint(g_remove(conf), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_others(void)
{
	assert_endpoints("pptp", "[Tunnel]\nBackend=pptp\n[pptp]\nServer=pptp.example.com\nUser=u\n",
			 "tcp pptp.example.com 1723, gre pptp.example.com");
	assert_endpoints("ipsec", "[Tunnel]\nBackend=ipsec\n[ipsec]\nServer=203.0.113.9\n",
			 "udp 203.0.113.9 500, udp 203.0.113.9 4500, esp 203.0.113.9");
	assert_endpoints("openconnect", "[Tunnel]\nBackend=openconnect\n[openconnect]\nServer=https://vpn.example.org:8443/group\n",
			 "tcp vpn.example.org 8443, udp vpn.example.org 8443");
	assert_endpoints("openconnect", "[Tunnel]\nBackend=openconnect\n[openconnect]\nServer=vpn.example.org\n",
			 "tcp vpn.example.org 443, udp vpn.example.org 443");
	/* exec tunnels do not say where they connect to: nothing is let through. */
	assert_endpoints("exec", "[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\n", "");
	assert_endpoints("vpnc", "[Tunnel]\nBackend=vpnc\n[vpnc]\nID=g\n", "");
}

static void test_openvpn(void)
{
	g_autofree char *dir = g_dir_make_tmp("roamvpn-ks-XXXXXX", NULL);
	g_autofree char *ovpn = g_build_filename(dir, "c.ovpn", NULL);
	g_autofree char *text = g_strdup_printf("[Tunnel]\nBackend=openvpn\n[openvpn]\nConfig=%s\n", ovpn);

	g_assert_true(g_file_set_contents(ovpn, "client\nproto tcp-client\nport 443\nremote a.example.net\n"
					  "remote 192.0.2.5 1195 udp\n", -1, NULL));
	assert_endpoints("openvpn", text, "tcp a.example.net 443, udp 192.0.2.5 1195");
	g_assert_cmpint(g_remove(ovpn), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/killswitch/endpoints/builtin", test_builtin);
	g_test_add_func("/killswitch/endpoints/vpnc", test_vpnc);
	g_test_add_func("/killswitch/endpoints/others", test_others);
	g_test_add_func("/killswitch/endpoints/openvpn", test_openvpn);
	return g_test_run();
}

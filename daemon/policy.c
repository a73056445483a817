/* policy.c - links x rules -> wanted tunnels (the combination rule is in policy.h). */
#include "config.h"

#include <linux/if.h>

#include "policy.h"
#include "ssid.h"

const char *rv_policy_link_excluded(const struct rv_link *l, GHashTable *tunnel_devices,
				    GHashTable *skip)
{
	if (l->tunnel_device || (tunnel_devices && g_hash_table_contains(tunnel_devices, l->name)))
		return "tunnel device";
	if (l->type && g_str_equal(l->type, "loopback"))
		return "loopback";
	if (skip && g_hash_table_contains(skip, l->name))
		return "going down (predown hook)";
	if (!(l->flags & IFF_UP))
		return "inactive (down)";
	if (!l->carrier)
		return "inactive (no carrier)";
	if (!rv_link_is_active(l))
		return "inactive (not joined yet)";
	return NULL;
}

void rv_policy_evaluate(const struct rv_ruleset *rules, GPtrArray *links,
			GHashTable *tunnel_devices, GHashTable *skip, GHashTable *wanted)
{
	for (guint i = 0; i < links->len; i++) {
		struct rv_link *l = g_ptr_array_index(links, i);
		const struct rv_rule *rule;
		g_autofree char *decision = NULL;

		if (rv_policy_link_excluded(l, tunnel_devices, skip)) {
			rv_links_set_decision(l, NULL, NULL);
			continue;
		}
		rule = rules ? rv_ruleset_match(rules, l) : NULL;
		if (!rule) {
			rv_links_set_decision(l, NULL, "none");
			continue;
		}
		decision = rv_rule_describe_action(rule);
		rv_links_set_decision(l, rv_rule_id(rule), decision);
		if (rv_rule_action(rule) == RV_ACTION_CONNECT &&
		    !g_hash_table_contains(wanted, rv_rule_tunnel(rule)))
			g_hash_table_insert(wanted, g_strdup(rv_rule_tunnel(rule)), g_strdup(l->name));
	}
}

static char *fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip,
			 bool identity_only)
{
	GString *fp = g_string_new(NULL);

	for (guint i = 0; i < links->len; i++) {
		struct rv_link *l = g_ptr_array_index(links, i);

		if (rv_policy_link_excluded(l, tunnel_devices, skip))
			continue;
		g_string_append_printf(fp, "%s/%s/%s", l->name, l->type ? l->type : "",
				       l->kind ? l->kind : "");
		if (l->ssid) {
			gsize len;
			const uint8_t *b = g_bytes_get_data(l->ssid, &len);
			g_autofree char *s = rv_ssid_escape(b, len);

			g_string_append_printf(fp, "/ssid=%s", s);
		}
		if (l->has_bssid && !identity_only)
			g_string_append_printf(fp, "/bssid=%02x%02x%02x%02x%02x%02x", l->bssid[0],
					       l->bssid[1], l->bssid[2], l->bssid[3], l->bssid[4],
					       l->bssid[5]);
		if (l->has_gateway_mac && !identity_only)
			g_string_append_printf(fp, "/gw=%02x%02x%02x%02x%02x%02x",
					       l->gateway_mac[0], l->gateway_mac[1], l->gateway_mac[2],
					       l->gateway_mac[3], l->gateway_mac[4], l->gateway_mac[5]);
		g_string_append_c(fp, ';');
	}
	return g_string_free(fp, FALSE);
}

char *rv_policy_fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip)
{
	return fingerprint(links, tunnel_devices, skip, false);
}

char *rv_policy_network_identity(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip)
{
	return fingerprint(links, tunnel_devices, skip, true);
}

/* policy.c - links x rules -> decisions and wanted tunnels (pure; see policy.h). */
#include "config.h"

#include <linux/if.h>

#include "policy.h"
#include "ssid.h"

const char *rv_policy_link_excluded(const struct rv_link *l, GHashTable *tunnel_devices,
				    GHashTable *skip)
{
	if (tunnel_devices && g_hash_table_contains(tunnel_devices, l->name))
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

static void verdict_free(gpointer p)
{
	struct rv_verdict *v = p;

	g_free(v->rule);
	g_free(v->reason);
	g_free(v);
}

struct rv_decision *rv_policy_decide(const struct rv_ruleset *rules, const struct rv_link *l,
				     GHashTable *tunnel_devices, GHashTable *skip)
{
	struct rv_decision *d = g_new0(struct rv_decision, 1);
	const char *excluded = rv_policy_link_excluded(l, tunnel_devices, skip);

	d->ifindex = l->ifindex;
	d->verdicts = g_ptr_array_new_with_free_func(verdict_free);
	if (excluded) {
		d->excluded = g_strdup(excluded);
		return d;
	}
	for (guint i = 0; rules && i < rules->rules->len; i++) {
		const struct rv_rule *rule = g_ptr_array_index(rules->rules, i);
		struct rv_verdict *v = g_new0(struct rv_verdict, 1);

		char *why = NULL;

		v->rule = g_strdup(rv_rule_id(rule));
		v->matched = rv_rule_matches(rule, l, &why);
		/* A reason quotes the link's values: text for D-Bus and explain. */
		v->reason = why ? rv_text_escape(why) : NULL;
		g_free(why);
		g_ptr_array_add(d->verdicts, v);
		if (!v->matched)
			continue;
		d->rule = g_strdup(rv_rule_id(rule));
		d->action = rv_rule_describe_action(rule);
		if (rv_rule_action(rule) == RV_ACTION_CONNECT)
			d->connect = g_strdup(rv_rule_tunnel(rule));
		return d;
	}
	d->action = g_strdup("none");
	return d;
}

void rv_decision_free(struct rv_decision *d)
{
	if (!d)
		return;
	g_free(d->excluded);
	g_free(d->rule);
	g_free(d->action);
	g_free(d->connect);
	g_ptr_array_unref(d->verdicts);
	g_free(d);
}

bool rv_decision_same(const struct rv_decision *a, const struct rv_decision *b)
{
	if (!a || !b)
		return a == b;
	return g_strcmp0(a->rule, b->rule) == 0 && g_strcmp0(a->action, b->action) == 0;
}

GHashTable *rv_policy_decisions_new(void)
{
	return g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
				     (GDestroyNotify)rv_decision_free);
}

void rv_policy_evaluate(const struct rv_ruleset *rules, GPtrArray *links,
			GHashTable *tunnel_devices, GHashTable *skip,
			GHashTable *decisions, GHashTable *wanted)
{
	for (guint i = 0; i < links->len; i++) {
		const struct rv_link *l = g_ptr_array_index(links, i);
		struct rv_decision *d = rv_policy_decide(rules, l, tunnel_devices, skip);

		if (d->connect && !g_hash_table_contains(wanted, d->connect))
			g_hash_table_insert(wanted, g_strdup(d->connect), g_strdup(l->name));
		g_hash_table_replace(decisions, GINT_TO_POINTER(l->ifindex), d);
	}
}

static void append_mac(GString *out, const char *key, const uint8_t mac[6])
{
	g_string_append_printf(out, "/%s=%02x%02x%02x%02x%02x%02x", key, mac[0], mac[1], mac[2],
			       mac[3], mac[4], mac[5]);
}

static char *link_fingerprint(const struct rv_link *l, GHashTable *tunnel_devices,
			      GHashTable *skip, bool identity_only)
{
	GString *fp;

	if (rv_policy_link_excluded(l, tunnel_devices, skip))
		return g_strdup("");
	fp = g_string_new(NULL);
	g_string_append_printf(fp, "%s/%s/%s", l->name, l->type ? l->type : "",
			       l->kind ? l->kind : "");
	if (l->ssid) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(l->ssid, &len);
		g_autofree char *s = rv_ssid_escape(b, len);

		g_string_append_printf(fp, "/ssid=%s", s);
	}
	if (l->has_bssid && !identity_only)
		append_mac(fp, "bssid", l->bssid);
	if (l->has_gateway_mac && !identity_only)
		append_mac(fp, "gw", l->gateway_mac);
	g_string_append_c(fp, ';');
	return g_string_free(fp, FALSE);
}

char *rv_policy_link_fingerprint(const struct rv_link *link, GHashTable *tunnel_devices,
				 GHashTable *skip)
{
	return link_fingerprint(link, tunnel_devices, skip, false);
}

char *rv_policy_link_identity(const struct rv_link *link, GHashTable *tunnel_devices,
			      GHashTable *skip)
{
	return link_fingerprint(link, tunnel_devices, skip, true);
}

static char *view_fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip,
			      bool identity_only)
{
	GString *fp = g_string_new(NULL);

	for (guint i = 0; i < links->len; i++) {
		g_autofree char *one = link_fingerprint(g_ptr_array_index(links, i), tunnel_devices,
							skip, identity_only);

		g_string_append(fp, one);
	}
	return g_string_free(fp, FALSE);
}

char *rv_policy_fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip)
{
	return view_fingerprint(links, tunnel_devices, skip, false);
}

char *rv_policy_network_identity(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip)
{
	return view_fingerprint(links, tunnel_devices, skip, true);
}

/* explain.c - `roamvpnctl explain` / Manager.Explain: the kept decisions told as text
 * (the part of manager.h that only reads).
 *
 * Everything here reads what the stages own: the link facts (links.c), the policy's
 * kept decision (rv_manager_link_decision), the kill switch and the portal check.
 * It decides nothing: what is shown is what the policy last decided.
 */
#include "config.h"

#include <string.h>

#include "error.h"
#include "killswitch.h"
#include "link.h"
#include "manager.h"
#include "policy.h"
#include "portal.h"
#include "ssid.h"

static void describe_link(GString *out, const struct rv_link *l)
{
	g_string_append_printf(out, "%s (%s", rv_link_name_text(l), l->type ? l->type : "?");
	if (l->kind)
		g_string_append_printf(out, "/%s", l->kind);
	if (l->ssid) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(l->ssid, &len);
		g_autofree char *s = rv_ssid_escape(b, len);

		g_string_append_printf(out, ", SSID \"%s\"", s);
	}
	if (l->has_bssid) {
		g_autofree char *m = rv_mac_to_string(l->bssid);

		g_string_append_printf(out, ", BSSID %s", m);
	}
	if (l->has_gateway_mac) {
		g_autofree char *m = rv_mac_to_string(l->gateway_mac);

		g_string_append_printf(out, ", gateway %s", m);
	}
	g_string_append(out, ")");
}

/* A link by its name, or by the escaped text of a name that is not UTF-8 (what
 * D-Bus and roamvpnctl show, and all a D-Bus caller can send). */
static struct rv_link *lookup_link(const char *name)
{
	struct rv_link *l = rv_links_lookup_name(name);
	g_autoptr(GBytes) raw = NULL;
	g_autofree char *bytes = NULL;
	gsize len;

	if (l || !strstr(name, "\\x") || !(raw = rv_ssid_unescape(name, NULL)))
		return l;
	bytes = g_strndup(g_bytes_get_data(raw, &len), g_bytes_get_size(raw));
	l = rv_links_lookup_name(bytes);
	return l && l->name_text && g_str_equal(l->name_text, name) ? l : NULL;
}

GPtrArray *rv_manager_explain_link(const char *ifname, GError **error)
{
	struct rv_link *l = lookup_link(ifname);
	const struct rv_decision *d;

	if (!l) {
		g_autofree char *shown = rv_text_escape(ifname);

		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no link named '%s'", shown);
		return NULL;
	}
	d = rv_manager_link_decision(l->ifindex);
	return d ? g_ptr_array_ref(d->verdicts) : g_ptr_array_new();
}

/* What the kill switch lets out of the link now, and the portal check's state. */
static void explain_extra(GString *out, const struct rv_link *l)
{
	g_autofree char *ks = rv_killswitch_explain(l->name);
	g_autofree char *portal = rv_portal_explain(l->name);

	g_string_append(out, ks ? ks : "  kill switch: off\n");
	g_string_append(out, portal);
}

char *rv_manager_explain(const char *ifname, GError **error)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	GString *out = g_string_new(NULL);
	struct rv_link *target = ifname ? lookup_link(ifname) : NULL;
	g_autofree char *text = NULL;
	bool found = false;

	for (guint i = 0; i < links->len; i++) {
		struct rv_link *l = g_ptr_array_index(links, i);
		const struct rv_decision *d;

		if (ifname && l != target)
			continue;
		found = true;
		describe_link(out, l);
		d = rv_manager_link_decision(l->ifindex);
		if (!d) {
			g_string_append(out, ": not evaluated yet: waiting for the network to settle\n");
			continue;
		}
		if (d->excluded) {
			g_string_append_printf(out, ": not evaluated: %s\n", d->excluded);
			explain_extra(out, l);
			continue;
		}
		g_string_append(out, ":\n");
		for (guint j = 0; j < d->verdicts->len; j++) {
			const struct rv_verdict *v = g_ptr_array_index(d->verdicts, j);

			if (v->matched)
				g_string_append_printf(out, "  %s: matched -> %s\n", v->rule, d->action);
			else
				g_string_append_printf(out, "  %s: no match: %s\n", v->rule, v->reason);
		}
		if (!d->rule)
			g_string_append(out, "  no rule matched: no tunnel wanted for this link\n");
		explain_extra(out, l);
	}
	if (rv_manager_is_paused())
		g_string_append(out, "automation is paused until the next network change\n");
	if (ifname && !found) {
		g_autofree char *shown = rv_text_escape(ifname);

		g_string_free(out, TRUE);
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no link named '%s'", shown);
		return NULL;
	}
	/* Parts (kill switch, portal) may quote a name as the kernel has it. */
	text = g_string_free(out, FALSE);
	return rv_text_escape(text);
}

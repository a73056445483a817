/* ctl-commands.c - the roamvpnctl commands that ask roamvpnd once and print.
 *
 * Owns: status, tunnels, links, explain, killswitch, portal, pause, resume and
 * reload (the handlers the command table in roamvpnctl.c points to). Waiting
 * commands are in ctl-wait.c, monitor in ctl-monitor.c.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json.h"

int ctl_cmd_status(const struct cmd_line *line)
{
	g_autoptr(GVariant) mgr = NULL;
	g_autoptr(GPtrArray) tunnels = NULL;
	g_autoptr(GPtrArray) links = NULL;
	guint32 n_links = 0;
	int r;

	if ((r = ctl_get_some(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE,
			  (const char *const[]){ "State", "Paused", "DNSMethod", NULL }, &mgr)) ||
	    (r = ctl_status_objects(&tunnels, &links, &n_links)))
		return r;

	if (ctl.json) {
		GString *out = g_string_new("{\"State\":");

		rv_json_append_string(out, ctl_prop_str(mgr, "State"), -1);
		g_string_append_printf(out, ",\"Paused\":%s,\"DNSMethod\":",
				       ctl_prop_bool(mgr, "Paused") ? "true" : "false");
		rv_json_append_string(out, ctl_prop_str(mgr, "DNSMethod"), -1);
		g_string_append(out, ",\"Tunnels\":");
		ctl_json_objects(out, tunnels);
		g_string_append(out, ",\"Links\":");
		ctl_json_objects(out, links);
		g_string_append_c(out, '}');
		ctl_print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	{
		g_autofree char *state = ctl_cell_text(ctl_prop_str(mgr, "State"));
		g_autofree char *dns = ctl_cell_text(ctl_prop_str(mgr, "DNSMethod"));

		printf("%s %s%s\n", _("State:"), state,
		       ctl_prop_bool(mgr, "Paused") ? _(" (automation paused)") : "");
		printf("%s %s\n\n", _("DNS method:"), dns);
	}
	if (tunnels->len)
		ctl_print_tunnel_table(tunnels);
	else
		printf("%s\n", _("No tunnels configured."));
	putchar('\n');
	ctl_print_link_table(links);
	if (n_links > links->len)
		printf(ngettext("\n%u other link without a rule, address, Wi-Fi or tunnel; "
				"`roamvpnctl links` lists all.\n",
				"\n%u other links without a rule, address, Wi-Fi or tunnel; "
				"`roamvpnctl links` lists all.\n", n_links - links->len),
		       n_links - links->len);
	return EXIT_OK;
}

static int cmd_list(const char *iface)
{
	g_autoptr(GPtrArray) objects = NULL;
	int r = ctl_managed_objects(iface, &objects);
	bool tunnels = g_str_equal(iface, RV_DBUS_TUNNEL_IFACE);

	if (r)
		return r;
	if (ctl.json) {
		GString *out = g_string_new(NULL);

		ctl_json_objects(out, objects);
		ctl_print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	for (guint i = 0; i < objects->len; i++) {
		if (tunnels)
			ctl_print_tunnel(objects->pdata[i]);
		else
			ctl_print_link(objects->pdata[i]);
	}
	return EXIT_OK;
}

int ctl_cmd_tunnels(const struct cmd_line *line)
{
	return cmd_list(RV_DBUS_TUNNEL_IFACE);
}

int ctl_cmd_links(const struct cmd_line *line)
{
	return cmd_list(RV_DBUS_LINK_IFACE);
}

int ctl_cmd_explain(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) verdicts = NULL;
	g_autofree char *safe = NULL;
	const char *text;
	int r = ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Explain",
		     g_variant_new("(s)", ifname ? ifname : ""), &reply);

	if (r)
		return r;
	g_variant_get(reply, "(&s@a(sbs))", &text, &verdicts);
	if (ctl.json) {
		GString *out = g_string_new("{\"Interface\":");
		GVariantIter iter;
		const char *rule, *reason;
		gboolean matched;
		bool first = true;

		rv_json_append_string(out, ifname ? ifname : "", -1);
		g_string_append(out, ",\"Text\":");
		rv_json_append_string(out, text, -1);
		g_string_append(out, ",\"Verdicts\":[");
		g_variant_iter_init(&iter, verdicts);
		while (g_variant_iter_next(&iter, "(&sb&s)", &rule, &matched, &reason)) {
			g_string_append(out, first ? "{\"Rule\":" : ",{\"Rule\":");
			first = false;
			rv_json_append_string(out, rule, -1);
			g_string_append_printf(out, ",\"Matched\":%s,\"Reason\":",
					       matched ? "true" : "false");
			rv_json_append_string(out, reason, -1);
			g_string_append_c(out, '}');
		}
		g_string_append(out, "]}");
		ctl_print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	/* Link and rule names in it are untrusted bytes (escape sequences included). */
	safe = ctl_block_text(text);
	fputs(safe, stdout);
	if (*safe && safe[strlen(safe) - 1] != '\n')
		putchar('\n');
	return EXIT_OK;
}

/* killswitch [IFACE]: is the kill switch on for the link(s), and why. */
int ctl_cmd_killswitch(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GPtrArray) links = NULL;
	GString *out = g_string_new("[");
	bool found = false;
	int r = ctl_managed_objects(RV_DBUS_LINK_IFACE, &links);

	if (r) {
		g_string_free(out, TRUE);
		return r;
	}
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		const char *ks = ctl_prop_str(l, "KillSwitch");
		g_autofree char *name = ctl_cell_text(ctl_prop_str(l, "Name"));
		g_autofree char *reason = ctl_cell_text(ctl_prop_str(l, "KillSwitchReason"));

		if (ifname ? !g_str_equal(ctl_prop_str(l, "Name"), ifname) : !*ks)
			continue;
		if (ctl.json) {
			g_string_append(out, found ? ",{\"Interface\":" : "{\"Interface\":");
			rv_json_append_string(out, ctl_prop_str(l, "Name"), -1);
			g_string_append(out, ",\"KillSwitch\":");
			rv_json_append_string(out, ks, -1);
			g_string_append(out, ",\"Reason\":");
			rv_json_append_string(out, ctl_prop_str(l, "KillSwitchReason"), -1);
			g_string_append(out, ",\"Portal\":");
			rv_json_append_string(out, ctl_prop_str(l, "Portal"), -1);
			g_string_append(out, ",\"PortalURL\":");
			rv_json_append_string(out, ctl_prop_str(l, "PortalURL"), -1);
			g_string_append_c(out, '}');
		} else if (g_str_equal(ks, "unavailable")) {
			/* A rule wants it, the kernel cannot: not "on". */
			printf("%s: %s (%s)\n", name, ks, reason);
		} else if (*ks) {
			g_autofree char *state = ctl_cell_text(ks);

			printf("%s: %s %s (%s)\n", name, _("kill switch on:"), state, reason);
		} else {
			printf("%s: %s\n", name, _("kill switch off"));
		}
		found = true;
	}
	if (ctl.json) {
		g_string_append_c(out, ']');
		ctl_print_json(out);
	} else if (!found && !ifname) {
		printf("%s\n", _("The kill switch is off on every link."));
	}
	g_string_free(out, TRUE);
	if (ifname && !found) {
		g_printerr(_("No link named %s\n"), ifname);
		return EXIT_FAILURE_;
	}
	return EXIT_OK;
}

/* portal [IFACE]: open the login window of a captive portal. */
int ctl_cmd_portal(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GVariant) reply = NULL;
	guint32 seconds = 0;
	int r = ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "OpenPortal",
		     g_variant_new("(s)", ifname ? ifname : ""), &reply);

	if (r)
		return r;
	g_variant_get(reply, "(u)", &seconds);
	if (ctl.json) {
		GString *out = g_string_new(NULL);

		g_string_append_printf(out, "{\"Seconds\":%u}", seconds);
		ctl_print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	printf(_("Login window open for %u s: log in with a browser now; the tunnel starts "
		 "as soon as the network lets us out.\n"), seconds);
	return EXIT_OK;
}

static int call_manager(const char *method)
{
	return ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, method, NULL, NULL);
}

int ctl_cmd_pause(const struct cmd_line *line)
{
	return call_manager("Pause");
}

int ctl_cmd_resume(const struct cmd_line *line)
{
	return call_manager("Resume");
}

int ctl_cmd_reload(const struct cmd_line *line)
{
	return call_manager("Reload");
}

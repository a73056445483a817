/* roamvpnctl.c - command-line client for roamvpnd over D-Bus (net.roamvpn1).
 *
 * Owns: command-line parsing, human and --json output, waiting for tunnel states,
 * and the live event monitor. Exit codes (DESIGN.md): 0 ok, 1 failure, 2 usage,
 * 3 daemon not reachable. Everything the daemon says is untrusted text: SSIDs are
 * printed escaped, JSON strings are escaped (json.c).
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "error.h"
#include "json.h"
#include "ssid.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define DEFAULT_CALL_TIMEOUT_MS 30000

static struct {
	const char *bus;
	bool json;
	DBusConnection *conn;
} ctl = { "system", false, NULL };

/* --- talking to the daemon ----------------------------------------------------------- */

static bool error_means_unreachable(const char *name)
{
	return g_str_equal(name, DBUS_ERROR_SERVICE_UNKNOWN) ||
	       g_str_equal(name, DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	       g_str_equal(name, DBUS_ERROR_NO_REPLY) ||
	       g_str_equal(name, DBUS_ERROR_DISCONNECTED) ||
	       g_str_has_prefix(name, "org.freedesktop.DBus.Error.Spawn.");
}

static int report_dbus_error(const DBusError *err)
{
	if (error_means_unreachable(err->name)) {
		g_printerr(_("roamvpnd is not running (%s)\n"), err->message);
		return EXIT_UNREACHABLE;
	}
	if (g_str_equal(err->name, DBUS_ERROR_ACCESS_DENIED) ||
	    g_str_equal(err->name, "net.roamvpn1.Error.PermissionDenied")) {
		g_printerr(_("Permission denied: %s\n"), err->message);
		return EXIT_FAILURE_;
	}
	g_printerr("%s\n", err->message ? err->message : err->name);
	return EXIT_FAILURE_;
}

static int connect_bus(void)
{
	g_autoptr(GError) error = NULL;

	ctl.conn = rv_dbus_open(ctl.bus, &error);
	if (!ctl.conn) {
		if (g_error_matches(error, RV_ERROR, RV_ERROR_INVALID)) {
			g_printerr("%s\n", error->message);
			return EXIT_USAGE;
		}
		g_printerr(_("Cannot reach the bus: %s\n"), error->message);
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
}

/* Call a method of the daemon; on success *result holds the reply's arguments as a
 * tuple. On failure prints why and returns the exit code. */
static int call(const char *path, const char *iface, const char *method, GVariant *args,
		GVariant **result)
{
	DBusMessage *msg = dbus_message_new_method_call(RV_DBUS_NAME, path, iface, method);
	DBusMessage *reply;
	DBusError err;
	int r = EXIT_OK;

	if (args) {
		DBusMessageIter iter;
		GVariantIter children;
		GVariant *child;

		g_variant_ref_sink(args);
		dbus_message_iter_init_append(msg, &iter);
		g_variant_iter_init(&children, args);
		while ((child = g_variant_iter_next_value(&children))) {
			rv_dbus_append_variant(&iter, child);
			g_variant_unref(child);
		}
		g_variant_unref(args);
	}
	dbus_error_init(&err);
	reply = dbus_connection_send_with_reply_and_block(ctl.conn, msg, DEFAULT_CALL_TIMEOUT_MS,
							  &err);
	dbus_message_unref(msg);
	if (!reply) {
		r = report_dbus_error(&err);
		dbus_error_free(&err);
		return r;
	}
	if (result) {
		*result = rv_dbus_message_to_variant(reply);
		if (!*result) {
			g_printerr(_("Unexpected reply from roamvpnd\n"));
			r = EXIT_FAILURE_;
		}
	}
	dbus_message_unref(reply);
	return r;
}

static int get_all(const char *path, const char *iface, GVariant **props)
{
	g_autoptr(GVariant) reply = NULL;
	int r = call(path, PROPERTIES_IFACE, "GetAll", g_variant_new("(s)", iface), &reply);

	if (r == EXIT_OK)
		*props = g_variant_get_child_value(reply, 0);
	return r;
}

/* Objects of one interface from GetManagedObjects, as an array of a{sv} in the
 * order the daemon listed them; each dict gets its path as "_path". */
static int managed_objects(const char *iface, GPtrArray **objects)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) all = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;
	int r = call(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects", NULL, &reply);

	if (r != EXIT_OK)
		return r;
	*objects = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	all = g_variant_get_child_value(reply, 0);
	g_variant_iter_init(&iter, all);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		GVariant *props = g_variant_lookup_value(ifaces, iface, G_VARIANT_TYPE_VARDICT);

		if (props) {
			GVariantBuilder b;

			/* Keep the path with the properties for --json and --wait. */
			g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
			g_variant_builder_add(&b, "{sv}", "_path", g_variant_new_object_path(path));
			{
				GVariantIter pi;
				const char *name;
				GVariant *value;

				g_variant_iter_init(&pi, props);
				while (g_variant_iter_next(&pi, "{&sv}", &name, &value)) {
					g_variant_builder_add(&b, "{sv}", name, value);
					g_variant_unref(value);
				}
			}
			g_ptr_array_add(*objects, g_variant_ref_sink(g_variant_builder_end(&b)));
			g_variant_unref(props);
		}
		g_variant_unref(ifaces);
	}
	return EXIT_OK;
}

/* --- property access for printing -------------------------------------------------------- */

static const char *prop_str(GVariant *props, const char *name)
{
	const char *s = NULL;

	if (!g_variant_lookup(props, name, "&s", &s))
		return "";
	return s;
}

static bool prop_bool(GVariant *props, const char *name)
{
	gboolean b = FALSE;

	g_variant_lookup(props, name, "b", &b);
	return b;
}

static guint64 prop_u64(GVariant *props, const char *name)
{
	guint64 t = 0;

	g_variant_lookup(props, name, "t", &t);
	return t;
}

static char *prop_strv_joined(GVariant *props, const char *name)
{
	g_autofree const char **strv = NULL;

	if (!g_variant_lookup(props, name, "^a&s", &strv))
		return g_strdup("");
	return g_strjoinv(" ", (char **)strv);
}

static char *prop_ssid(GVariant *props)
{
	g_autoptr(GVariant) v = g_variant_lookup_value(props, "SSID", G_VARIANT_TYPE_BYTESTRING);
	gsize n = 0;
	const guint8 *bytes;

	if (!v)
		return NULL;
	bytes = g_variant_get_fixed_array(v, &n, 1);
	return n ? rv_ssid_escape(bytes, n) : NULL;
}

/* JSON for a list of objects; "_path" becomes "Path". */
static void json_objects(GString *out, GPtrArray *objects)
{
	g_string_append_c(out, '[');
	for (guint i = 0; i < objects->len; i++) {
		GVariant *obj = objects->pdata[i];
		GVariantBuilder b;
		GVariantIter it;
		const char *name;
		GVariant *value;
		g_autoptr(GVariant) props = NULL;
		GString *extra = g_string_new("\"Path\":");

		rv_json_append_string(extra, prop_str(obj, "_path"), -1);
		/* prop_str reads "s"; _path is "o": fetch it explicitly. */
		{
			const char *path = NULL;

			g_string_truncate(extra, strlen("\"Path\":"));
			g_variant_lookup(obj, "_path", "&o", &path);
			rv_json_append_string(extra, path ? path : "", -1);
		}
		g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
		g_variant_iter_init(&it, obj);
		while (g_variant_iter_next(&it, "{&sv}", &name, &value)) {
			if (!g_str_equal(name, "_path"))
				g_variant_builder_add(&b, "{sv}", name, value);
			g_variant_unref(value);
		}
		props = g_variant_ref_sink(g_variant_builder_end(&b));
		if (i)
			g_string_append_c(out, ',');
		rv_json_append_properties(out, props, extra->str);
		g_string_free(extra, TRUE);
	}
	g_string_append_c(out, ']');
}

static void print_json(GString *out)
{
	g_string_append_c(out, '\n');
	fputs(out->str, stdout);
	fflush(stdout);
}

/* --- human output ------------------------------------------------------------------- */

static char *format_time(guint64 usec)
{
	g_autoptr(GDateTime) t = NULL;

	if (!usec)
		return g_strdup("-");
	t = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
	return t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("-");
}

static void print_tunnel(GVariant *t)
{
	g_autofree char *since = format_time(prop_u64(t, "Since"));
	g_autofree char *addresses = prop_strv_joined(t, "Addresses");
	g_autofree char *dns = prop_strv_joined(t, "DNS");
	const char *iface = prop_str(t, "Interface");
	const char *trigger = prop_str(t, "TriggeredBy");
	const char *last_error = prop_str(t, "LastError");

	printf("  %-16s %-9s %-8s %s\n", prop_str(t, "Name"), prop_str(t, "State"),
	       prop_str(t, "Backend"), *iface ? iface : "-");
	printf("    %s %s", _("since"), since);
	if (*trigger)
		printf(", %s %s", _("triggered by"), trigger);
	printf("\n");
	if (*addresses)
		printf("    %s %s\n", _("addresses"), addresses);
	if (*dns)
		printf("    %s %s\n", _("DNS"), dns);
	if (*last_error)
		printf("    %s %s\n", _("last error:"), last_error);
}

static void print_link(GVariant *l)
{
	g_autofree char *ssid = prop_ssid(l);
	g_autofree char *addresses = prop_strv_joined(l, "Addresses");
	const char *wifi = prop_str(l, "WifiState");
	const char *rule = prop_str(l, "MatchedRule");
	const char *decision = prop_str(l, "Decision");
	const char *gateway = prop_str(l, "Gateway");

	printf("  %-16s %-8s %-8s %s\n", prop_str(l, "Name"), prop_str(l, "Type"),
	       prop_bool(l, "Active") ? _("active") : _("inactive"), prop_str(l, "OperState"));
	if (*wifi) {
		/* ssid is escaped (printable ASCII only, quotes as \x22): safe to quote. */
		printf("    %s %s", _("wifi"), wifi);
		if (ssid)
			printf(" SSID \"%s\"", ssid);
		if (*prop_str(l, "BSSID"))
			printf(" BSSID %s", prop_str(l, "BSSID"));
		printf("\n");
	}
	if (*addresses)
		printf("    %s %s\n", _("addresses"), addresses);
	if (*gateway)
		printf("    %s %s %s\n", _("gateway"), gateway, prop_str(l, "GatewayMAC"));
	if (*rule || *decision)
		printf("    %s %s (%s)\n", _("decision"), *decision ? decision : "-",
		       *rule ? rule : _("no rule"));
}

/* --- commands ----------------------------------------------------------------------- */

static int cmd_status(void)
{
	g_autoptr(GVariant) mgr = NULL;
	g_autoptr(GPtrArray) tunnels = NULL;
	g_autoptr(GPtrArray) links = NULL;
	int r;

	if ((r = get_all(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, &mgr)) ||
	    (r = managed_objects(RV_DBUS_TUNNEL_IFACE, &tunnels)) ||
	    (r = managed_objects(RV_DBUS_LINK_IFACE, &links)))
		return r;

	if (ctl.json) {
		GString *out = g_string_new("{\"State\":");

		rv_json_append_string(out, prop_str(mgr, "State"), -1);
		g_string_append_printf(out, ",\"Paused\":%s,\"DNSMethod\":",
				       prop_bool(mgr, "Paused") ? "true" : "false");
		rv_json_append_string(out, prop_str(mgr, "DNSMethod"), -1);
		g_string_append(out, ",\"Tunnels\":");
		json_objects(out, tunnels);
		g_string_append(out, ",\"Links\":");
		json_objects(out, links);
		g_string_append_c(out, '}');
		print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	printf("%s %s%s\n", _("State:"), prop_str(mgr, "State"),
	       prop_bool(mgr, "Paused") ? _(" (automation paused)") : "");
	printf("%s %s\n", _("DNS method:"), prop_str(mgr, "DNSMethod"));
	printf("%s\n", _("Tunnels:"));
	if (!tunnels->len)
		printf("  %s\n", _("(none configured)"));
	for (guint i = 0; i < tunnels->len; i++)
		print_tunnel(tunnels->pdata[i]);
	printf("%s\n", _("Links:"));
	for (guint i = 0; i < links->len; i++)
		print_link(links->pdata[i]);
	return EXIT_OK;
}

static int cmd_list(const char *iface)
{
	g_autoptr(GPtrArray) objects = NULL;
	int r = managed_objects(iface, &objects);
	bool tunnels = g_str_equal(iface, RV_DBUS_TUNNEL_IFACE);

	if (r)
		return r;
	if (ctl.json) {
		GString *out = g_string_new(NULL);

		json_objects(out, objects);
		print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	for (guint i = 0; i < objects->len; i++) {
		if (tunnels)
			print_tunnel(objects->pdata[i]);
		else
			print_link(objects->pdata[i]);
	}
	return EXIT_OK;
}

static int cmd_explain(const char *ifname)
{
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) verdicts = NULL;
	const char *text;
	int r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Explain",
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
		print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	fputs(text, stdout);
	if (*text && text[strlen(text) - 1] != '\n')
		putchar('\n');
	return EXIT_OK;
}

/* --- waiting for a tunnel state ------------------------------------------------------------ */

struct wait_state {
	const char *path;
	const char *target;	/* "up" or "down" */
	char *state;
	char *last_error;
	bool finished;
	bool timed_out;
	GMainLoop *loop;
};

static bool wait_check(struct wait_state *w)
{
	if (!w->state)
		return false;
	if (g_str_equal(w->state, w->target) ||
	    (g_str_equal(w->target, "up") && g_str_equal(w->state, "failed")))
		w->finished = true;
	if (w->finished)
		g_main_loop_quit(w->loop);
	return w->finished;
}

static DBusHandlerResult wait_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct wait_state *w = data;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) changed = NULL;
	const char *iface, *s;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		g_main_loop_quit(w->loop);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (!dbus_message_is_signal(msg, PROPERTIES_IFACE, "PropertiesChanged") ||
	    !dbus_message_has_path(msg, w->path))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	args = rv_dbus_message_to_variant(msg);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(sa{sv}as)")))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	g_variant_get(args, "(&s@a{sv}@as)", &iface, &changed, NULL);
	if (g_variant_lookup(changed, "LastError", "&s", &s)) {
		g_free(w->last_error);
		w->last_error = g_strdup(s);
	}
	if (g_variant_lookup(changed, "State", "&s", &s)) {
		g_free(w->state);
		w->state = g_strdup(s);
		wait_check(w);
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean wait_timeout(gpointer data)
{
	struct wait_state *w = data;

	w->timed_out = true;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static int cmd_updown(const char *name, bool up, bool wait, double timeout_s)
{
	/* Not rv_dbus_tunnel_path(): that would link the whole service in. */
	g_autofree char *label = rv_dbus_label_escape(name);
	g_autofree char *path = g_strconcat(RV_DBUS_TUNNEL_PREFIX "/", label, NULL);
	g_autofree char *match = NULL;
	struct wait_state w = { path, up ? "up" : "down", NULL, NULL, false, false, NULL };
	g_autoptr(GVariant) props = NULL;
	guint timer = 0;
	int r;

	if (wait) {
		/* Subscribe before asking, so that no change can slip between. */
		match = g_strdup_printf("type='signal',sender='%s',interface='%s',"
					"member='PropertiesChanged',path='%s'",
					RV_DBUS_NAME, PROPERTIES_IFACE, path);
		dbus_bus_add_match(ctl.conn, match, NULL);
		w.loop = g_main_loop_new(NULL, FALSE);
		dbus_connection_add_filter(ctl.conn, wait_filter, &w, NULL);
	}
	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, up ? "Connect" : "Disconnect",
		 g_variant_new("(s)", name), NULL);
	if (r || !wait)
		goto out;

	/* The state may already be the target (or was reached before our match). */
	r = get_all(path, RV_DBUS_TUNNEL_IFACE, &props);
	if (r)
		goto out;
	g_free(w.state);
	w.state = g_strdup(prop_str(props, "State"));
	w.last_error = g_strdup(prop_str(props, "LastError"));
	/* A tunnel that failed before this request may still say so: only trust
	 * "failed" once a change arrives, unless it is already the target. */
	if (!(g_str_equal(w.state, w.target))) {
		g_free(w.state);
		w.state = NULL;
		timer = g_timeout_add((guint)(timeout_s * 1000), wait_timeout, &w);
		g_main_loop_run(w.loop);
	} else {
		w.finished = true;
	}

	if (w.timed_out) {
		g_printerr(_("Timed out after %.0f s waiting for tunnel %s to be %s\n"), timeout_s,
			   name, w.target);
		r = EXIT_FAILURE_;
	} else if (!w.finished) {
		g_printerr(_("Lost the connection to roamvpnd while waiting\n"));
		r = EXIT_UNREACHABLE;
	} else if (!g_str_equal(w.state, w.target)) {
		g_printerr(_("Tunnel %s failed: %s\n"), name,
			   w.last_error && *w.last_error ? w.last_error : _("no reason given"));
		r = EXIT_FAILURE_;
	} else if (!ctl.json) {
		printf(_("Tunnel %s is %s\n"), name, w.target);
	}
	if (timer && !w.timed_out)
		g_source_remove(timer);
out:
	if (ctl.json && r == EXIT_OK) {
		GString *out = g_string_new("{\"Tunnel\":");

		rv_json_append_string(out, name, -1);
		g_string_append(out, ",\"State\":");
		if (w.state)
			rv_json_append_string(out, w.state, -1);
		else
			g_string_append(out, "null");
		g_string_append_c(out, '}');
		print_json(out);
		g_string_free(out, TRUE);
	}
	if (wait) {
		dbus_connection_remove_filter(ctl.conn, wait_filter, &w);
		dbus_bus_remove_match(ctl.conn, match, NULL);
		g_main_loop_unref(w.loop);
	}
	g_free(w.state);
	g_free(w.last_error);
	return r;
}

/* --- monitor ---------------------------------------------------------------------------- */

static GMainLoop *monitor_loop;

static void monitor_print(const char *kind, const char *object, const char *message)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	if (ctl.json) {
		GString *out = g_string_new("{\"Time\":");
		g_autofree char *iso = g_date_time_format_iso8601(now);

		rv_json_append_string(out, iso, -1);
		g_string_append(out, ",\"Kind\":");
		rv_json_append_string(out, kind, -1);
		g_string_append(out, ",\"Object\":");
		rv_json_append_string(out, object, -1);
		g_string_append(out, ",\"Message\":");
		rv_json_append_string(out, message, -1);
		g_string_append_c(out, '}');
		print_json(out);
		g_string_free(out, TRUE);
		return;
	}
	{
		g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
		/* Strip control characters: a terminal must not be steered by the daemon's text. */
		g_autofree char *safe = g_strdup(message);

		for (char *p = safe; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		}
		printf("%s %-15s %s %s\n", stamp, kind, object, safe);
		fflush(stdout);
	}
}

static DBusHandlerResult monitor_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	const char *kind, *object, *message, *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		monitor_print("bus-disconnected", "", "");
		g_main_loop_quit(monitor_loop);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(msg, RV_DBUS_MANAGER_IFACE, "Event") &&
	    dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &kind, DBUS_TYPE_STRING, &object,
				  DBUS_TYPE_STRING, &message, DBUS_TYPE_INVALID)) {
		monitor_print(kind, object, message);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(msg, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	    dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
				  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	    g_str_equal(name, RV_DBUS_NAME)) {
		monitor_print(*new_owner ? "daemon-started" : "daemon-stopped", RV_DBUS_PATH,
			      *new_owner ? new_owner : old_owner);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean monitor_quit(gpointer data)
{
	g_main_loop_quit(monitor_loop);
	return G_SOURCE_REMOVE;
}

static int cmd_monitor(void)
{
	DBusError err;

	dbus_error_init(&err);
	dbus_connection_add_filter(ctl.conn, monitor_filter, NULL, NULL);
	dbus_bus_add_match(ctl.conn, "type='signal',sender='" RV_DBUS_NAME "',interface='"
			   RV_DBUS_MANAGER_IFACE "',member='Event'", &err);
	if (!dbus_error_is_set(&err))
		dbus_bus_add_match(ctl.conn, "type='signal',sender='" DBUS_SERVICE_DBUS "',"
				   "member='NameOwnerChanged',arg0='" RV_DBUS_NAME "'", &err);
	if (dbus_error_is_set(&err)) {
		int r = report_dbus_error(&err);

		dbus_error_free(&err);
		return r;
	}
	/* Not running is not an error for a monitor: it reports when it starts. */
	if (!dbus_bus_name_has_owner(ctl.conn, RV_DBUS_NAME, NULL))
		monitor_print("daemon-stopped", RV_DBUS_PATH, _("roamvpnd is not running"));

	monitor_loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, monitor_quit, NULL);
	g_unix_signal_add(SIGTERM, monitor_quit, NULL);
	g_main_loop_run(monitor_loop);
	g_main_loop_unref(monitor_loop);
	return EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------ */

static void usage(FILE *to)
{
	fprintf(to, "%s", _("Usage: roamvpnctl [--bus system|session|unix:ADDRESS] [--json] COMMAND\n"
		"\n"
		"Commands:\n"
		"  status                        daemon state, tunnels and links\n"
		"  tunnels                       configured tunnels and their state\n"
		"  links                         network interfaces as the daemon sees them\n"
		"  up NAME [--wait] [--timeout S]    start a tunnel (until the next network change)\n"
		"  down NAME [--wait] [--timeout S]  stop a tunnel (until the next network change)\n"
		"  explain [IFACE]               which rule decided, and why earlier ones did not\n"
		"  pause                         suspend automation until the next network change\n"
		"  resume                        end a pause\n"
		"  reload                        re-read configuration\n"
		"  monitor                       print events as they happen (Ctrl-C ends)\n"
		"  hook postup|predown IFACE     for netifrc and other network managers\n"
		"\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 daemon not reachable.\n"));
}

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	g_autofree char *message = NULL;

	va_start(ap, fmt);
	message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("%s\n", message);
	usage(stderr);
	return EXIT_USAGE;
}

static int run(int argc, char **argv)
{
	const char *cmd;
	int i = 1, r;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (g_str_equal(argv[i], "--json")) {
			ctl.json = true;
		} else if (g_str_equal(argv[i], "--bus") && i + 1 < argc) {
			ctl.bus = argv[++i];
		} else if (g_str_has_prefix(argv[i], "--bus=")) {
			ctl.bus = argv[i] + strlen("--bus=");
		} else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		} else if (g_str_equal(argv[i], "--version")) {
			printf("roamvpnctl %s\n", VERSION);
			return EXIT_OK;
		} else {
			return usage_error(_("Unknown option %s"), argv[i]);
		}
	}
	if (i >= argc)
		return usage_error("%s", _("No command given"));
	cmd = argv[i++];
	argc -= i;
	argv += i;

	/* Check the command line completely before touching the bus. */
	if (g_str_equal(cmd, "status") || g_str_equal(cmd, "tunnels") || g_str_equal(cmd, "links") ||
	    g_str_equal(cmd, "pause") || g_str_equal(cmd, "resume") || g_str_equal(cmd, "reload") ||
	    g_str_equal(cmd, "monitor")) {
		if (argc)
			return usage_error(_("Too many arguments for %s"), cmd);
	} else if (g_str_equal(cmd, "explain")) {
		if (argc > 1)
			return usage_error(_("Too many arguments for %s"), cmd);
	} else if (g_str_equal(cmd, "hook")) {
		if (argc != 2 || (!g_str_equal(argv[0], "postup") && !g_str_equal(argv[0], "predown")))
			return usage_error("%s", _("Usage: roamvpnctl hook postup|predown IFACE"));
	} else if (g_str_equal(cmd, "up") || g_str_equal(cmd, "down")) {
		/* Parsed below. */
	} else {
		return usage_error(_("Unknown command %s"), cmd);
	}

	if (g_str_equal(cmd, "up") || g_str_equal(cmd, "down")) {
		const char *name = NULL;
		bool wait = false;
		double timeout_s = 30;

		for (int k = 0; k < argc; k++) {
			if (g_str_equal(argv[k], "--wait")) {
				wait = true;
			} else if (g_str_equal(argv[k], "--timeout") && k + 1 < argc) {
				char *end = NULL;

				timeout_s = g_ascii_strtod(argv[++k], &end);
				if (!end || *end || !(timeout_s > 0) || timeout_s > 86400)
					return usage_error(_("Bad timeout %s (seconds, > 0)"), argv[k]);
			} else if (argv[k][0] == '-' || name) {
				return usage_error(_("Unexpected argument %s"), argv[k]);
			} else {
				name = argv[k];
			}
		}
		if (!name)
			return usage_error(_("%s needs a tunnel name"), cmd);
		if ((r = connect_bus()))
			return r;
		return cmd_updown(name, g_str_equal(cmd, "up"), wait, timeout_s);
	}

	if ((r = connect_bus()))
		return r;
	if (g_str_equal(cmd, "status"))
		return cmd_status();
	if (g_str_equal(cmd, "tunnels"))
		return cmd_list(RV_DBUS_TUNNEL_IFACE);
	if (g_str_equal(cmd, "links"))
		return cmd_list(RV_DBUS_LINK_IFACE);
	if (g_str_equal(cmd, "explain"))
		return cmd_explain(argc ? argv[0] : NULL);
	if (g_str_equal(cmd, "monitor"))
		return cmd_monitor();
	if (g_str_equal(cmd, "hook"))
		return call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
			    g_variant_new("(ss)", argv[0], argv[1]), NULL);
	/* pause, resume, reload */
	{
		const char *method = g_str_equal(cmd, "pause") ? "Pause"
				   : g_str_equal(cmd, "resume") ? "Resume" : "Reload";

		return call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, method, NULL, NULL);
	}
}

int main(int argc, char **argv)
{
	int r;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);

	r = run(argc, argv);
	if (ctl.conn)
		rv_dbus_close(ctl.conn);
	return r;
}

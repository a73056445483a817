/* roamvpnctl.c - command-line client for roamvpnd over D-Bus (net.roamvpn1).
 *
 * Owns: the command table (one entry per command: name, arguments, help, handler;
 * it drives parsing, usage and shell completion), human and --json output, waiting
 * for tunnel states (up/down --wait, hook predown), and the live event monitor.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 the bus is there but roamvpnd is not
 * (not running, or it went away), 4 no bus at all (dbus-daemon not running or the
 * address is wrong). Everything the daemon says is untrusted text: SSIDs are
 * printed escaped, JSON strings are escaped (json.c), control characters never
 * reach the terminal.
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "error.h"
#include "json.h"
#include "ssid.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,	/* bus, but no roamvpnd on it */
	EXIT_NO_BUS = 4,	/* no bus to ask */
};

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define DEFAULT_CALL_TIMEOUT_MS 30000

struct command;

static struct {
	const char *bus;
	bool json;
	bool color;			/* stdout is a terminal and NO_COLOR is unset */
	const struct command *cmd;	/* the command running, for error sentences */
	DBusConnection *conn;
} ctl = { "system", false, false, NULL, NULL };

static const char *command_denied_action(const struct command *cmd);

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
	if (g_str_equal(err->name, "net.roamvpn1.Error.PermissionDenied") && err->message &&
	    !strstr(err->message, "needs root or group")) {
		/* polkit refused: roamvpnd's sentence says who, which action and why. */
		const char *why = err->message;

		if (g_str_has_prefix(why, "access denied: "))
			why += strlen("access denied: ");
		g_printerr(_("Permission denied: %s\n"), why);
		return EXIT_FAILURE_;
	}
	if (g_str_equal(err->name, DBUS_ERROR_ACCESS_DENIED) ||
	    g_str_equal(err->name, "net.roamvpn1.Error.PermissionDenied")) {
		/* The bus's own text names match rules and uids: say what it means. */
		g_printerr(_("Permission denied: only root or members of group %s may %s.\n"),
			   RV_DBUS_GROUP, command_denied_action(ctl.cmd));
		/* roamvpnd's rule names the AdminGroup it really uses and whether polkit runs. */
		if (g_str_equal(err->name, "net.roamvpn1.Error.PermissionDenied") && err->message)
			g_printerr("roamvpnd: %s\n", err->message);
		g_debug("%s: %s", err->name, err->message);
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
		g_printerr(_("No D-Bus connection (is dbus-daemon running?): %s\n"),
			   error->message);
		return EXIT_NO_BUS;
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

	/* polkit may ask for a password through the session's agent (Reload). */
	dbus_message_set_allow_interactive_authorization(msg, TRUE);

	if (args) {
		g_variant_ref_sink(args);
		rv_dbus_append_tuple(msg, args);
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

/* Some properties of one object, as a{sv}: the manager's GetAll carries Links,
 * one path per link, which a status of 10,000 links does not need. */
static int get_some(const char *path, const char *iface, const char *const *names,
		    GVariant **props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (const char *const *n = names; *n; n++) {
		g_autoptr(GVariant) reply = NULL;
		g_autoptr(GVariant) value = NULL;
		int r = call(path, PROPERTIES_IFACE, "Get", g_variant_new("(ss)", iface, *n), &reply);

		if (r != EXIT_OK) {
			g_variant_builder_clear(&b);
			return r;
		}
		g_variant_get(reply, "(v)", &value);
		g_variant_builder_add(&b, "{sv}", *n, value);
	}
	*props = g_variant_ref_sink(g_variant_builder_end(&b));
	return EXIT_OK;
}

/* Objects of one interface from GetManagedObjects, as an array of a{sv} in the
 * order the daemon listed them; each dict gets its path as "_path". */
/* The objects of one interface from a GetManagedObjects reply. */
static GPtrArray *objects_of(GVariant *reply, const char *iface)
{
	GPtrArray *objects = g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	g_autoptr(GVariant) all = g_variant_get_child_value(reply, 0);
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	g_variant_iter_init(&iter, all);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		GVariant *props = g_variant_lookup_value(ifaces, iface, G_VARIANT_TYPE_VARDICT);

		if (props) {
			gsize n = g_variant_n_children(props);
			g_autofree GVariant **entries = g_new(GVariant *, n + 1);

			/* Keep the path with the properties for --json and --wait. The
			 * entries are taken as they are (no format string per property:
			 * a status of thousands of links reads tens of thousands). */
			entries[0] = g_variant_new_dict_entry(g_variant_new_string("_path"),
				g_variant_new_variant(g_variant_new_object_path(path)));
			for (gsize i = 0; i < n; i++)
				entries[i + 1] = g_variant_get_child_value(props, i);
			g_ptr_array_add(objects, g_variant_ref_sink(
				g_variant_new_array(G_VARIANT_TYPE("{sv}"), entries, n + 1)));
			for (gsize i = 0; i < n; i++)
				g_variant_unref(entries[i + 1]);
			g_variant_unref(props);
		}
		g_variant_unref(ifaces);
	}
	return objects;
}

static int managed_objects(const char *iface, GPtrArray **objects)
{
	g_autoptr(GVariant) reply = NULL;
	int r = call(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects", NULL, &reply);

	if (r != EXIT_OK)
		return r;
	*objects = objects_of(reply, iface);
	return EXIT_OK;
}

/* What status shows, from one call: every tunnel and only the links that matter
 * (the daemon picks them, see GetStatus in docs/manager-api.txt); n_links is how
 * many links there are in all. With thousands of links, fetching every Link
 * object took seconds; `links` still lists them all. */
static int status_objects(GPtrArray **tunnels, GPtrArray **links, guint32 *n_links)
{
	g_autoptr(GVariant) reply = NULL;
	int r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "GetStatus", NULL, &reply);

	if (r != EXIT_OK)
		return r;
	if (!g_variant_is_of_type(reply, G_VARIANT_TYPE("(a{oa{sa{sv}}}u)"))) {
		g_printerr(_("Unexpected reply from roamvpnd\n"));
		return EXIT_FAILURE_;
	}
	*tunnels = objects_of(reply, RV_DBUS_TUNNEL_IFACE);
	*links = objects_of(reply, RV_DBUS_LINK_IFACE);
	g_variant_get_child(reply, 1, "u", n_links);
	return EXIT_OK;
}

/* --- property access for printing -------------------------------------------------------- */

/* Each object's properties by name. A table of thousands of links reads a dozen
 * properties of each, and g_variant_lookup() walks the dictionary every time. */
static GHashTable *prop_index;	/* GVariant *props -> GHashTable (name -> GVariant *) */

static GVariant *prop_value(GVariant *props, const char *name, const GVariantType *type)
{
	GHashTable *byname;
	GVariant *v;

	if (!prop_index)
		prop_index = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)g_variant_unref,
						   (GDestroyNotify)g_hash_table_unref);
	byname = g_hash_table_lookup(prop_index, props);
	if (!byname) {
		GVariantIter iter;
		const char *key;
		GVariant *value;

		byname = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					       (GDestroyNotify)g_variant_unref);
		g_variant_iter_init(&iter, props);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &value))
			g_hash_table_insert(byname, (gpointer)key, value);
		g_hash_table_insert(prop_index, g_variant_ref(props), byname);
	}
	v = g_hash_table_lookup(byname, name);
	return v && g_variant_is_of_type(v, type) ? v : NULL;
}

static const char *prop_str(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_STRING);

	return v ? g_variant_get_string(v, NULL) : "";
}

static bool prop_bool(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_BOOLEAN);

	return v && g_variant_get_boolean(v);
}

static guint64 prop_u64(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_UINT64);

	return v ? g_variant_get_uint64(v) : 0;
}

static char *prop_strv_joined(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_STRING_ARRAY);
	g_autofree const char **strv = v ? g_variant_get_strv(v, NULL) : NULL;

	return strv ? g_strjoinv(" ", (char **)strv) : g_strdup("");
}

static char *prop_ssid(GVariant *props)
{
	GVariant *v = prop_value(props, "SSID", G_VARIANT_TYPE_BYTESTRING);
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

/* --- tables for people: aligned columns, colour only on a terminal ---------------------- */

/* Daemon text in a table cell: control characters would steer the terminal. */
static char *cell_text(const char *s)
{
	char *safe = g_strdup(s && *s ? s : "-");

	for (char *p = safe; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return safe;
}

/* Daemon text of several lines (explain): the same, but line breaks stay. */
static char *block_text(const char *s)
{
	char *safe = g_strdup(s);

	for (char *p = safe; *p; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
			*p = '?';
	}
	return safe;
}

static const char *state_color(const char *state)
{
	static const struct { const char *state; const char *sgr; } colors[] = {
		{ "up", "32" }, { "active", "32" }, { "running", "32" },
		{ "starting", "33" }, { "stopping", "33" }, { "portal", "33" },
		{ "failed", "31" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(colors); i++) {
		if (g_str_equal(state, colors[i].state))
			return colors[i].sgr;
	}
	return NULL;
}

/* Rows of cells (GPtrArray of char*), the first row the header; color_col is the
 * column coloured by state_color (-1 for none). The last column is not padded. */
static void print_table(GPtrArray *rows, guint n_cols, int color_col)
{
	g_autofree gsize *width = g_new0(gsize, n_cols);

	for (guint r = 0; r < rows->len; r++) {
		GPtrArray *row = rows->pdata[r];

		for (guint c = 0; c < n_cols; c++)
			width[c] = MAX(width[c], (gsize)g_utf8_strlen(row->pdata[c], -1));
	}
	for (guint r = 0; r < rows->len; r++) {
		GPtrArray *row = rows->pdata[r];

		for (guint c = 0; c < n_cols; c++) {
			const char *text = row->pdata[c];
			const char *sgr = NULL;
			gsize pad = width[c] - g_utf8_strlen(text, -1);

			if (ctl.color && r == 0)
				sgr = "1";
			else if (ctl.color && (int)c == color_col)
				sgr = state_color(text);
			if (sgr)
				printf("\033[%sm%s\033[0m", sgr, text);
			else
				fputs(text, stdout);
			if (c + 1 < n_cols)
				printf("%*s", (int)(pad + 2), "");
		}
		putchar('\n');
	}
}

/* A row of n cells; a NULL or empty cell shows as "-". */
static GPtrArray *table_row(guint n, ...)
{
	GPtrArray *row = g_ptr_array_new_with_free_func(g_free);
	va_list ap;

	va_start(ap, n);
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(row, cell_text(va_arg(ap, const char *)));
	va_end(ap);
	return row;
}

static char *format_since(guint64 usec)
{
	g_autoptr(GDateTime) t = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	if (!usec)
		return g_strdup("-");
	t = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
	if (!t)
		return g_strdup("-");
	/* Today's changes need no date, like ls -l's recent files. */
	if (g_date_time_get_year(t) == g_date_time_get_year(now) &&
	    g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(now))
		return g_date_time_format(t, "%H:%M:%S");
	return g_date_time_format(t, "%Y-%m-%d %H:%M");
}

static void print_tunnel_table(GPtrArray *tunnels)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);

	g_ptr_array_add(rows, table_row(7, _("TUNNEL"), _("STATE"), _("BACKEND"), _("DEVICE"),
					_("TRIGGERED BY"), _("SINCE"), _("DNS")));
	for (guint i = 0; i < tunnels->len; i++) {
		GVariant *t = tunnels->pdata[i];
		g_autofree char *since = format_since(prop_u64(t, "Since"));
		g_autofree char *dns = prop_strv_joined(t, "DNS");

		g_ptr_array_add(rows, table_row(7, prop_str(t, "Name"), prop_str(t, "State"),
						prop_str(t, "Backend"), prop_str(t, "Interface"),
						prop_str(t, "TriggeredBy"), since, dns));
	}
	print_table(rows, 7, 1);
}

static void print_link_table(GPtrArray *links)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);

	g_ptr_array_add(rows, table_row(7, _("LINK"), _("TYPE"), _("STATE"), _("NETWORK"),
					_("RULE"), _("DECISION"), _("KILL SWITCH")));
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		g_autofree char *ssid = prop_ssid(l);
		g_autofree char *network = NULL;
		const char *state = prop_bool(l, "Active") ? "active" : prop_str(l, "OperState");
		const char *portal = prop_str(l, "Portal");

		/* Behind a captive portal the link is up but useless: say so. */
		if (g_str_equal(portal, "portal") || g_str_equal(portal, "login-window") ||
		    g_str_equal(portal, "probing"))
			state = portal;

		/* What the rules can tell networks by: the SSID (escaped), else the
		 * gateway's MAC. */
		if (ssid)
			network = g_strdup_printf("\"%s\"", ssid);
		else if (*prop_str(l, "GatewayMAC"))
			network = g_strdup_printf("%s %s", _("gateway"), prop_str(l, "GatewayMAC"));
		g_ptr_array_add(rows, table_row(7, prop_str(l, "Name"), prop_str(l, "Type"), state,
						network, prop_str(l, "MatchedRule"),
						prop_str(l, "Decision"), prop_str(l, "KillSwitch")));
	}
	print_table(rows, 7, 2);
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		g_autofree char *name = cell_text(prop_str(l, "Name"));
		g_autofree char *url = cell_text(prop_str(l, "PortalURL"));

		if (g_str_equal(prop_str(l, "Portal"), "portal"))
			printf(_("\n%s is behind a captive portal (login page %s); the tunnel waits.\n"
				 "`roamvpnctl portal %s` opens a login window.\n"), name, url, name);
	}
}

/* --- commands ----------------------------------------------------------------------- */

/* A command line after parsing against the command table. */
struct cmd_line {
	const struct command *cmd;
	const char *args[2];
	int n_args;
	bool wait;
	double timeout_s;
};

static int cmd_status(const struct cmd_line *line)
{
	g_autoptr(GVariant) mgr = NULL;
	g_autoptr(GPtrArray) tunnels = NULL;
	g_autoptr(GPtrArray) links = NULL;
	guint32 n_links = 0;
	int r;

	if ((r = get_some(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE,
			  (const char *const[]){ "State", "Paused", "DNSMethod", NULL }, &mgr)) ||
	    (r = status_objects(&tunnels, &links, &n_links)))
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
	{
		g_autofree char *state = cell_text(prop_str(mgr, "State"));
		g_autofree char *dns = cell_text(prop_str(mgr, "DNSMethod"));

		printf("%s %s%s\n", _("State:"), state,
		       prop_bool(mgr, "Paused") ? _(" (automation paused)") : "");
		printf("%s %s\n\n", _("DNS method:"), dns);
	}
	if (tunnels->len)
		print_tunnel_table(tunnels);
	else
		printf("%s\n", _("No tunnels configured."));
	putchar('\n');
	print_link_table(links);
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

static int cmd_tunnels(const struct cmd_line *line)
{
	return cmd_list(RV_DBUS_TUNNEL_IFACE);
}

static int cmd_links(const struct cmd_line *line)
{
	return cmd_list(RV_DBUS_LINK_IFACE);
}

static int cmd_explain(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GVariant) reply = NULL;
	g_autoptr(GVariant) verdicts = NULL;
	g_autofree char *safe = NULL;
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
	/* Link and rule names in it are untrusted bytes (escape sequences included). */
	safe = block_text(text);
	fputs(safe, stdout);
	if (*safe && safe[strlen(safe) - 1] != '\n')
		putchar('\n');
	return EXIT_OK;
}

/* killswitch [IFACE]: is the kill switch on for the link(s), and why. */
static int cmd_killswitch(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GPtrArray) links = NULL;
	GString *out = g_string_new("[");
	bool found = false;
	int r = managed_objects(RV_DBUS_LINK_IFACE, &links);

	if (r) {
		g_string_free(out, TRUE);
		return r;
	}
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		const char *ks = prop_str(l, "KillSwitch");
		g_autofree char *name = cell_text(prop_str(l, "Name"));
		g_autofree char *reason = cell_text(prop_str(l, "KillSwitchReason"));

		if (ifname ? !g_str_equal(prop_str(l, "Name"), ifname) : !*ks)
			continue;
		if (ctl.json) {
			g_string_append(out, found ? ",{\"Interface\":" : "{\"Interface\":");
			rv_json_append_string(out, prop_str(l, "Name"), -1);
			g_string_append(out, ",\"KillSwitch\":");
			rv_json_append_string(out, ks, -1);
			g_string_append(out, ",\"Reason\":");
			rv_json_append_string(out, prop_str(l, "KillSwitchReason"), -1);
			g_string_append(out, ",\"Portal\":");
			rv_json_append_string(out, prop_str(l, "Portal"), -1);
			g_string_append(out, ",\"PortalURL\":");
			rv_json_append_string(out, prop_str(l, "PortalURL"), -1);
			g_string_append_c(out, '}');
		} else if (g_str_equal(ks, "unavailable")) {
			/* A rule wants it, the kernel cannot: not "on". */
			printf("%s: %s (%s)\n", name, ks, reason);
		} else if (*ks) {
			g_autofree char *state = cell_text(ks);

			printf("%s: %s %s (%s)\n", name, _("kill switch on:"), state, reason);
		} else {
			printf("%s: %s\n", name, _("kill switch off"));
		}
		found = true;
	}
	if (ctl.json) {
		g_string_append_c(out, ']');
		print_json(out);
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
static int cmd_portal(const struct cmd_line *line)
{
	const char *ifname = line->n_args ? line->args[0] : NULL;
	g_autoptr(GVariant) reply = NULL;
	guint32 seconds = 0;
	int r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "OpenPortal",
		     g_variant_new("(s)", ifname ? ifname : ""), &reply);

	if (r)
		return r;
	g_variant_get(reply, "(u)", &seconds);
	if (ctl.json) {
		GString *out = g_string_new(NULL);

		g_string_append_printf(out, "{\"Seconds\":%u}", seconds);
		print_json(out);
		g_string_free(out, TRUE);
		return EXIT_OK;
	}
	printf(_("Login window open for %u s: log in with a browser now; the tunnel starts "
		 "as soon as the network lets us out.\n"), seconds);
	return EXIT_OK;
}

static int call_manager(const char *method)
{
	return call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, method, NULL, NULL);
}

static int cmd_pause(const struct cmd_line *line)
{
	return call_manager("Pause");
}

static int cmd_resume(const struct cmd_line *line)
{
	return call_manager("Resume");
}

static int cmd_reload(const struct cmd_line *line)
{
	return call_manager("Reload");
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

static int cmd_up(const struct cmd_line *line)
{
	return cmd_updown(line->args[0], true, line->wait, line->timeout_s);
}

static int cmd_down(const struct cmd_line *line)
{
	return cmd_updown(line->args[0], false, line->wait, line->timeout_s);
}

/* --- hook: postup returns at once; predown waits until the interface's tunnels are down --
 *
 * The daemon stops the tunnels an interface triggered while it handles Hook (the
 * rules run synchronously), so right after the call those tunnels are "stopping";
 * a tunnel only reaches "down" after its DNS and routes are restored. predown
 * therefore waits, bounded, until every tunnel that was stopping with
 * TriggeredBy == IFACE is down (or failed, or gone), so that netifrc flushes the
 * addresses only afterwards. Signals and the snapshot arrive in order on one
 * connection: the snapshot (an asynchronous GetManagedObjects) replaces whatever
 * earlier signals said, and later signals update it. */

struct predown_wait {
	const char *ifname;
	GHashTable *pending;	/* object path -> tunnel name, still stopping */
	bool have_snapshot;
	bool daemon_gone;
	bool timed_out;
	GMainLoop *loop;
};

static bool tunnel_is_stopped(const char *state)
{
	return g_str_equal(state, "down") || g_str_equal(state, "failed");
}

static void predown_check_done(struct predown_wait *w)
{
	if (w->have_snapshot && g_hash_table_size(w->pending) == 0)
		g_main_loop_quit(w->loop);
}

static void predown_snapshot(DBusPendingCall *pending, void *data)
{
	struct predown_wait *w = data;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) all = NULL;
	GVariantIter iter;
	const char *path;
	GVariant *ifaces;

	w->have_snapshot = true;
	if (reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN)
		args = rv_dbus_message_to_variant(reply);
	if (reply)
		dbus_message_unref(reply);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(a{oa{sa{sv}}})"))) {
		/* Nothing known to wait for; the daemon going away is reported apart. */
		predown_check_done(w);
		return;
	}
	all = g_variant_get_child_value(args, 0);
	g_variant_iter_init(&iter, all);
	while (g_variant_iter_next(&iter, "{&o@a{sa{sv}}}", &path, &ifaces)) {
		g_autoptr(GVariant) props = g_variant_lookup_value(ifaces, RV_DBUS_TUNNEL_IFACE,
								   G_VARIANT_TYPE_VARDICT);

		/* A tunnel still wanted (by another link, or by hand) stays up or
		 * starting: that one is not waited for. */
		if (props && g_str_equal(prop_str(props, "TriggeredBy"), w->ifname) &&
		    g_str_equal(prop_str(props, "State"), "stopping"))
			g_hash_table_insert(w->pending, g_strdup(path),
					    g_strdup(prop_str(props, "Name")));
		g_variant_unref(ifaces);
	}
	predown_check_done(w);
}

static DBusHandlerResult predown_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct predown_wait *w = data;
	g_autoptr(GVariant) args = NULL;
	g_autoptr(GVariant) changed = NULL;
	const char *s, *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected") ||
	    (dbus_message_is_signal(msg, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	     dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING,
				   &old_owner, DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	     g_str_equal(name, RV_DBUS_NAME) && !*new_owner)) {
		w->daemon_gone = true;
		g_main_loop_quit(w->loop);
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (!w->have_snapshot)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;	/* the snapshot decides */
	if (dbus_message_is_signal(msg, OBJECT_MANAGER_IFACE, "InterfacesRemoved")) {
		const char *path = NULL;

		if (dbus_message_get_args(msg, NULL, DBUS_TYPE_OBJECT_PATH, &path,
					  DBUS_TYPE_INVALID) && path)
			g_hash_table_remove(w->pending, path);
		predown_check_done(w);
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	}
	if (!dbus_message_is_signal(msg, PROPERTIES_IFACE, "PropertiesChanged") ||
	    !dbus_message_get_path(msg) ||
	    !g_hash_table_contains(w->pending, dbus_message_get_path(msg)))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	args = rv_dbus_message_to_variant(msg);
	if (!args || !g_variant_is_of_type(args, G_VARIANT_TYPE("(sa{sv}as)")))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	g_variant_get(args, "(&s@a{sv}@as)", NULL, &changed, NULL);
	if (g_variant_lookup(changed, "State", "&s", &s) && tunnel_is_stopped(s))
		g_hash_table_remove(w->pending, dbus_message_get_path(msg));
	predown_check_done(w);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean predown_timeout(gpointer data)
{
	struct predown_wait *w = data;

	w->timed_out = true;
	g_main_loop_quit(w->loop);
	return G_SOURCE_REMOVE;
}

static const char *const predown_matches[] = {
	"type='signal',sender='" RV_DBUS_NAME "',interface='" PROPERTIES_IFACE "',"
	"member='PropertiesChanged',path_namespace='" RV_DBUS_TUNNEL_PREFIX "'",
	"type='signal',sender='" RV_DBUS_NAME "',interface='" OBJECT_MANAGER_IFACE "',"
	"member='InterfacesRemoved'",
	"type='signal',sender='" DBUS_SERVICE_DBUS "',member='NameOwnerChanged',"
	"arg0='" RV_DBUS_NAME "'",
};

static int cmd_hook(const struct cmd_line *line)
{
	const char *event = line->args[0], *ifname = line->args[1];
	struct predown_wait w = { ifname, NULL, false, false, false, NULL };
	bool wait = g_str_equal(event, "predown") && line->timeout_s > 0;
	DBusMessage *msg;
	DBusPendingCall *pending = NULL;
	guint timer;
	int r;

	if (!wait)
		return call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
			    g_variant_new("(ss)", event, ifname), NULL);

	/* Subscribe before asking, so that no change can slip between. */
	for (gsize i = 0; i < G_N_ELEMENTS(predown_matches); i++)
		dbus_bus_add_match(ctl.conn, predown_matches[i], NULL);
	w.pending = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	w.loop = g_main_loop_new(NULL, FALSE);
	dbus_connection_add_filter(ctl.conn, predown_filter, &w, NULL);

	r = call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Hook",
		 g_variant_new("(ss)", event, ifname), NULL);
	if (r)
		goto out;
	msg = dbus_message_new_method_call(RV_DBUS_NAME, RV_DBUS_PATH, OBJECT_MANAGER_IFACE,
					   "GetManagedObjects");
	if (!dbus_connection_send_with_reply(ctl.conn, msg, &pending, DEFAULT_CALL_TIMEOUT_MS) ||
	    !pending) {
		dbus_message_unref(msg);
		g_printerr(_("Lost the connection to roamvpnd while waiting\n"));
		r = EXIT_UNREACHABLE;
		goto out;
	}
	dbus_message_unref(msg);
	dbus_pending_call_set_notify(pending, predown_snapshot, &w, NULL);

	timer = g_timeout_add((guint)(line->timeout_s * 1000), predown_timeout, &w);
	g_main_loop_run(w.loop);
	if (!w.timed_out)
		g_source_remove(timer);

	if (w.daemon_gone) {
		/* A daemon that stops takes its tunnels down and restores DNS itself. */
		g_printerr(_("roamvpnd went away while %s was going down\n"), ifname);
		r = EXIT_UNREACHABLE;
	} else if (w.timed_out) {
		GHashTableIter it;
		gpointer name;
		g_autoptr(GString) names = g_string_new(NULL);

		g_hash_table_iter_init(&it, w.pending);
		while (g_hash_table_iter_next(&it, NULL, &name))
			g_string_append_printf(names, "%s%s", names->len ? ", " : "",
					       (char *)name);
		if (!w.have_snapshot)
			g_printerr(_("Timed out after %.0f s waiting for roamvpnd\n"),
				   line->timeout_s);
		else
			g_printerr(_("Timed out after %.0f s: tunnel(s) %s not down yet\n"),
				   line->timeout_s, names->str);
		r = EXIT_FAILURE_;
	}
out:
	if (pending) {
		dbus_pending_call_cancel(pending);
		dbus_pending_call_unref(pending);
	}
	dbus_connection_remove_filter(ctl.conn, predown_filter, &w);
	for (gsize i = 0; i < G_N_ELEMENTS(predown_matches); i++)
		dbus_bus_remove_match(ctl.conn, predown_matches[i], NULL);
	g_main_loop_unref(w.loop);
	g_hash_table_destroy(w.pending);
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

static int cmd_monitor(const struct cmd_line *line)
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

/* --- the command table ---------------------------------------------------------------- */

/* What a positional argument is: for checking and for shell completion. */
enum arg_kind {
	ARG_TUNNEL,		/* a tunnel name (completion asks the daemon) */
	ARG_LINK,		/* an interface name (likewise) */
	ARG_HOOK_EVENT,		/* one of hook_events */
};

/* Options a command accepts after its name (global ones go anywhere). */
enum {
	OPT_WAIT = 1 << 0,	/* --wait */
	OPT_TIMEOUT = 1 << 1,	/* --timeout SECONDS */
};

struct command {
	const char *name;
	const char *synopsis;		/* arguments as shown in usage */
	const char *help;		/* N_(): one line */
	const char *denied;		/* N_(): "only root ... may <this>"; NULL: read-only */
	int min_args, max_args;
	enum arg_kind arg_kinds[2];
	unsigned options;
	double default_timeout_s;
	bool needs_bus;
	int (*run)(const struct cmd_line *line);
};

static const char *const hook_events[] = { "postup", "predown", NULL };

/* Adding a command is adding a line here (and its handler above): usage, argument
 * checks and completion all come from this table. */
static const struct command commands[] = {
	{ "status", "", N_("daemon state, tunnels and links"), NULL,
	  0, 0, { 0 }, 0, 0, true, cmd_status },
	{ "tunnels", "", N_("configured tunnels in detail"), NULL,
	  0, 0, { 0 }, 0, 0, true, cmd_tunnels },
	{ "links", "", N_("network interfaces as the daemon sees them"), NULL,
	  0, 0, { 0 }, 0, 0, true, cmd_links },
	{ "up", N_("NAME [--wait] [--timeout S]"),
	  N_("start a tunnel (until the next network change)"), N_("start tunnels"),
	  1, 1, { ARG_TUNNEL }, OPT_WAIT | OPT_TIMEOUT, 30, true, cmd_up },
	{ "down", N_("NAME [--wait] [--timeout S]"),
	  N_("stop a tunnel (until the next network change)"), N_("stop tunnels"),
	  1, 1, { ARG_TUNNEL }, OPT_WAIT | OPT_TIMEOUT, 30, true, cmd_down },
	{ "explain", N_("[IFACE]"), N_("which rule decided, and why earlier ones did not"), NULL,
	  0, 1, { ARG_LINK }, 0, 0, true, cmd_explain },
	{ "killswitch", N_("[IFACE]"), N_("is the kill switch on, and why"), NULL,
	  0, 1, { ARG_LINK }, 0, 0, true, cmd_killswitch },
	{ "portal", N_("[IFACE]"), N_("open a captive portal's login window (the kill switch lets a browser through)"),
	  N_("open a portal login window"), 0, 1, { ARG_LINK }, 0, 0, true, cmd_portal },
	{ "pause", "", N_("suspend automation until the next network change"),
	  N_("pause the automation"), 0, 0, { 0 }, 0, 0, true, cmd_pause },
	{ "resume", "", N_("end a pause"), N_("resume the automation"),
	  0, 0, { 0 }, 0, 0, true, cmd_resume },
	{ "reload", "", N_("re-read the configuration"), N_("reload the configuration"),
	  0, 0, { 0 }, 0, 0, true, cmd_reload },
	{ "monitor", "", N_("print events as they happen (Ctrl-C ends)"), NULL,
	  0, 0, { 0 }, 0, 0, true, cmd_monitor },
	{ "hook", N_("postup|predown IFACE [--timeout S]"),
	  N_("for netifrc and other network managers (predown waits)"),
	  N_("send network hooks"),
	  2, 2, { ARG_HOOK_EVENT, ARG_LINK }, OPT_TIMEOUT, 10, true, cmd_hook },
};

static const struct command *command_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

static const char *command_denied_action(const struct command *cmd)
{
	return cmd && cmd->denied ? _(cmd->denied) : _("do this");
}

/* Global options, valid before or after the command. */
static const struct {
	const char *name;
	const char *short_name;
	const char *value;	/* NULL: a flag */
	const char *help;
} global_options[] = {
	{ "--bus", NULL, N_("system|session|unix:ADDRESS"), N_("the bus roamvpnd is on (default system)") },
	{ "--json", NULL, NULL, N_("machine-readable output, one JSON document per line") },
	{ "--help", "-h", NULL, N_("show this help") },
	{ "--version", "-V", NULL, N_("show the version") },
};

static void usage(FILE *to)
{
	fprintf(to, "%s\n\n", _("Usage: roamvpnctl [OPTIONS] COMMAND [ARGUMENTS]"));
	fprintf(to, "%s\n", _("Commands:"));
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		const struct command *c = &commands[i];
		g_autofree char *left = g_strdup_printf("%s %s", c->name,
							*c->synopsis ? _(c->synopsis) : "");
		glong w = g_utf8_strlen(left, -1);

		fprintf(to, "  %s%*s  %s\n", left, (int)MAX(0, 40 - w), "", _(c->help));
	}
	fprintf(to, "\n%s\n", _("Options:"));
	for (gsize i = 0; i < G_N_ELEMENTS(global_options); i++) {
		g_autofree char *left = g_strdup_printf("%s%s%s%s%s",
			global_options[i].short_name ? global_options[i].short_name : "",
			global_options[i].short_name ? ", " : "", global_options[i].name,
			global_options[i].value ? " " : "",
			global_options[i].value ? _(global_options[i].value) : "");
		glong w = g_utf8_strlen(left, -1);

		fprintf(to, "  %s%*s  %s\n", left, (int)MAX(0, 40 - w), "",
			_(global_options[i].help));
	}
	fprintf(to, "\n%s\n", _("Exit status: 0 ok, 1 failure, 2 usage error, "
				"3 roamvpnd not running, 4 no D-Bus bus."));
}

/* A usage error: the message, then one usage: the command's if known, else all. */
static int usage_error(const struct command *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *message = NULL;

	va_start(ap, fmt);
	message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("roamvpnctl: %s\n", message);
	if (cmd) {
		g_printerr(_("Usage: roamvpnctl %s %s\n"), cmd->name,
			   *cmd->synopsis ? _(cmd->synopsis) : "");
		g_printerr("%s\n", _("Try 'roamvpnctl --help' for more information."));
	} else {
		usage(stderr);
	}
	return EXIT_USAGE;
}

/* --- parsing ---------------------------------------------------------------------------- */

/* A global option at argv[*i]: 1 if consumed (value included), 0 if not one,
 * negative an exit code. */
static int parse_global_option(int argc, char **argv, int *i, const struct command *cmd)
{
	const char *a = argv[*i];

	if (g_str_equal(a, "--json")) {
		ctl.json = true;
	} else if (g_str_equal(a, "--bus")) {
		if (*i + 1 >= argc)
			return -usage_error(cmd, _("--bus needs a value"));
		ctl.bus = argv[++*i];
	} else if (g_str_has_prefix(a, "--bus=")) {
		ctl.bus = a + strlen("--bus=");
	} else if (g_str_equal(a, "--help") || g_str_equal(a, "-h")) {
		usage(stdout);
		return -1000;	/* done, exit 0 */
	} else if (g_str_equal(a, "--version") || g_str_equal(a, "-V")) {
		printf("roamvpnctl %s\n", VERSION);
		return -1000;
	} else {
		return 0;
	}
	return 1;
}

static bool parse_timeout(const char *text, double *out)
{
	char *end = NULL;
	double v = g_ascii_strtod(text, &end);

	if (!end || end == text || *end || !(v >= 0) || v > 86400)
		return false;
	*out = v;
	return true;
}

static int check_argument(const struct command *cmd, int index, const char *arg)
{
	if (cmd->arg_kinds[index] == ARG_HOOK_EVENT &&
	    !g_strv_contains((const char *const *)hook_events, arg))
		return usage_error(cmd, _("Unknown hook event %s (postup or predown)"), arg);
	if (!*arg)
		return usage_error(cmd, _("Empty argument"));
	return EXIT_OK;
}

/* Parse the whole command line against the table before touching the bus.
 * Returns EXIT_OK with *line filled, or an exit code (-1 for "done, exit 0"). */
static int parse_command_line(int argc, char **argv, struct cmd_line *line)
{
	const struct command *cmd = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		r = parse_global_option(argc, argv, &i, cmd);
		if (r == -1000)
			return -1;
		if (r < 0)
			return -r;
		if (r > 0)
			continue;
		if (!cmd) {
			if (a[0] == '-')
				return usage_error(NULL, _("Unknown option %s"), a);
			cmd = command_lookup(a);
			if (!cmd)
				return usage_error(NULL, _("Unknown command %s"), a);
			line->cmd = cmd;
			line->timeout_s = cmd->default_timeout_s;
			continue;
		}
		if ((cmd->options & OPT_WAIT) && g_str_equal(a, "--wait")) {
			line->wait = true;
		} else if ((cmd->options & OPT_TIMEOUT) &&
			   (g_str_equal(a, "--timeout") || g_str_has_prefix(a, "--timeout="))) {
			const char *v = strchr(a, '=') ? strchr(a, '=') + 1
				      : i + 1 < argc ? argv[++i] : NULL;

			if (!v || !parse_timeout(v, &line->timeout_s))
				return usage_error(cmd, _("Bad timeout %s (seconds, 0 to 86400)"),
						   v ? v : "");
		} else if (a[0] == '-' && a[1]) {
			return usage_error(cmd, _("Unknown option %s for %s"), a, cmd->name);
		} else if (line->n_args >= cmd->max_args) {
			return usage_error(cmd, _("Too many arguments for %s"), cmd->name);
		} else {
			if ((r = check_argument(cmd, line->n_args, a)))
				return r;
			line->args[line->n_args++] = a;
		}
	}
	if (!cmd)
		return usage_error(NULL, _("No command given"));
	if (line->n_args < cmd->min_args)
		return usage_error(cmd, _("Missing arguments for %s"), cmd->name);
	if ((cmd->options & OPT_WAIT) && line->wait && !(line->timeout_s > 0))
		return usage_error(cmd, _("--wait needs a timeout above 0"));
	return EXIT_OK;
}

/* --- shell completion --------------------------------------------------------------------
 *
 * `roamvpnctl __complete bash|zsh WORD...`: WORD... are the words after
 * "roamvpnctl" up to and including the one being completed (possibly empty).
 * Prints one candidate per line that starts with that word; for zsh commands and
 * options come as "word:description". Tunnel and interface names come from the
 * running daemon (on the --bus given on the line); when it cannot be reached
 * there are simply none. The shell scripts stay thin: this table decides. */

static void complete_print(bool zsh, const char *prefix, const char *word, const char *help)
{
	if (!g_str_has_prefix(word, prefix))
		return;
	if (zsh && help) {
		g_autofree char *escaped = NULL;
		GString *w = g_string_new(NULL);

		/* _describe splits at the first unescaped colon. */
		for (const char *p = word; *p; p++) {
			if (*p == ':' || *p == '\\')
				g_string_append_c(w, '\\');
			g_string_append_c(w, *p);
		}
		escaped = g_string_free(w, FALSE);
		printf("%s:%s\n", escaped, _(help));
	} else {
		printf("%s\n", word);
	}
}

static void complete_objects(const char *iface, const char *prefix)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) objects = NULL;

	ctl.conn = rv_dbus_open(ctl.bus, &error);
	if (!ctl.conn)
		return;
	/* Quietly: completion never prints errors into the user's command line. */
	if (dup2(open("/dev/null", O_WRONLY | O_CLOEXEC), STDERR_FILENO) < 0)
		return;
	if (managed_objects(iface, &objects) != EXIT_OK)
		return;
	for (guint i = 0; i < objects->len; i++) {
		g_autofree char *name = cell_text(prop_str(objects->pdata[i], "Name"));

		if (!strpbrk(name, " \t\n"))
			complete_print(false, prefix, name, NULL);
	}
}

static int complete(int argc, char **argv)
{
	bool zsh;
	const struct command *cmd = NULL;
	const char *cur, *prev = NULL;
	int n_args = 0;

	if (argc < 2)
		return EXIT_USAGE;
	zsh = g_str_equal(argv[0], "zsh");
	cur = argv[argc - 1];
	/* Walk the finished words: the command, its arguments, option values. */
	for (int i = 1; i < argc - 1; i++) {
		const char *a = argv[i];

		if (g_str_equal(a, "--bus") && i + 1 < argc - 1) {
			ctl.bus = argv[++i];
		} else if (g_str_has_prefix(a, "--bus=")) {
			ctl.bus = a + strlen("--bus=");
		} else if (g_str_equal(a, "--timeout") && i + 1 < argc - 1) {
			i++;
		} else if (a[0] == '-') {
			continue;
		} else if (!cmd) {
			cmd = command_lookup(a);
		} else {
			n_args++;
		}
	}
	if (argc >= 3)
		prev = argv[argc - 2];
	if (prev && g_str_equal(prev, "--bus")) {
		complete_print(zsh, cur, "system", NULL);
		complete_print(zsh, cur, "session", NULL);
		complete_print(zsh, cur, "unix:path=", NULL);
		return EXIT_OK;
	}
	if (prev && g_str_equal(prev, "--timeout") && cmd && (cmd->options & OPT_TIMEOUT))
		return EXIT_OK;		/* a number: nothing to offer */
	if (cur[0] == '-') {
		for (gsize i = 0; i < G_N_ELEMENTS(global_options); i++)
			complete_print(zsh, cur, global_options[i].name, global_options[i].help);
		if (cmd && (cmd->options & OPT_WAIT))
			complete_print(zsh, cur, "--wait", N_("wait until the tunnel is there"));
		if (cmd && (cmd->options & OPT_TIMEOUT))
			complete_print(zsh, cur, "--timeout", N_("how long to wait, in seconds"));
		return EXIT_OK;
	}
	if (!cmd) {
		for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
			complete_print(zsh, cur, commands[i].name, commands[i].help);
		return EXIT_OK;
	}
	if (n_args >= cmd->max_args)
		return EXIT_OK;
	switch (cmd->arg_kinds[n_args]) {
	case ARG_HOOK_EVENT:
		for (gsize i = 0; hook_events[i]; i++)
			complete_print(zsh, cur, hook_events[i], NULL);
		break;
	case ARG_TUNNEL:
		complete_objects(RV_DBUS_TUNNEL_IFACE, cur);
		break;
	case ARG_LINK:
		complete_objects(RV_DBUS_LINK_IFACE, cur);
		break;
	}
	return EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------ */

static int run(int argc, char **argv)
{
	struct cmd_line line = { 0 };
	int r;

	if (argc >= 2 && g_str_equal(argv[1], "__complete"))
		return complete(argc - 2, argv + 2);
	r = parse_command_line(argc, argv, &line);
	if (r < 0)
		return EXIT_OK;		/* --help, --version */
	if (r)
		return r;
	ctl.cmd = line.cmd;
	if (line.cmd->needs_bus && (r = connect_bus()))
		return r;
	return line.cmd->run(&line);
}

/* Colour for people at a terminal only; NO_COLOR (https://no-color.org) wins. */
static bool want_color(void)
{
	const char *no_color = g_getenv("NO_COLOR");
	const char *term = g_getenv("TERM");

	if (no_color && *no_color)
		return false;
	if (!term || g_str_equal(term, "dumb"))
		return false;
	return isatty(STDOUT_FILENO);
}

int main(int argc, char **argv)
{
	int r;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	ctl.color = want_color();

	r = run(argc, argv);
	if (ctl.conn)
		rv_dbus_close(ctl.conn);
	return r;
}

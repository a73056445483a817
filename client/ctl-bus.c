/* ctl-bus.c - roamvpnctl's calls to roamvpnd over D-Bus.
 *
 * Owns: the connection (ctl.conn), method calls with their timeout, property and
 * object fetches (GetAll, Get, GetManagedObjects, GetStatus), and turning D-Bus
 * errors into a sentence and an exit code (3 for no roamvpnd, 4 for no bus,
 * permission errors naming the group or polkit's reason).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "ctl.h"
#include "error.h"

/* --- talking to the daemon ----------------------------------------------------------- */

static bool error_means_unreachable(const char *name)
{
	return g_str_equal(name, DBUS_ERROR_SERVICE_UNKNOWN) ||
	       g_str_equal(name, DBUS_ERROR_NAME_HAS_NO_OWNER) ||
	       g_str_equal(name, DBUS_ERROR_NO_REPLY) ||
	       g_str_equal(name, DBUS_ERROR_DISCONNECTED) ||
	       g_str_has_prefix(name, "org.freedesktop.DBus.Error.Spawn.");
}

int ctl_report_dbus_error(const DBusError *err)
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
			   RV_DBUS_GROUP, ctl_command_denied_action(ctl.cmd));
		/* roamvpnd's rule names the AdminGroup it really uses and whether polkit runs. */
		if (g_str_equal(err->name, "net.roamvpn1.Error.PermissionDenied") && err->message)
			g_printerr("roamvpnd: %s\n", err->message);
		g_debug("%s: %s", err->name, err->message);
		return EXIT_FAILURE_;
	}
	g_printerr("%s\n", err->message ? err->message : err->name);
	return EXIT_FAILURE_;
}

int ctl_connect_bus(void)
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
int ctl_call(const char *path, const char *iface, const char *method, GVariant *args,
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
		r = ctl_report_dbus_error(&err);
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

int ctl_get_all(const char *path, const char *iface, GVariant **props)
{
	g_autoptr(GVariant) reply = NULL;
	int r = ctl_call(path, PROPERTIES_IFACE, "GetAll", g_variant_new("(s)", iface), &reply);

	if (r == EXIT_OK)
		*props = g_variant_get_child_value(reply, 0);
	return r;
}

/* Some properties of one object, as a{sv}: the manager's GetAll carries Links,
 * one path per link, which a status of 10,000 links does not need. */
int ctl_get_some(const char *path, const char *iface, const char *const *names,
		    GVariant **props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (const char *const *n = names; *n; n++) {
		g_autoptr(GVariant) reply = NULL;
		g_autoptr(GVariant) value = NULL;
		int r = ctl_call(path, PROPERTIES_IFACE, "Get", g_variant_new("(ss)", iface, *n), &reply);

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

int ctl_managed_objects(const char *iface, GPtrArray **objects)
{
	g_autoptr(GVariant) reply = NULL;
	int r = ctl_call(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "GetManagedObjects", NULL, &reply);

	if (r != EXIT_OK)
		return r;
	*objects = objects_of(reply, iface);
	return EXIT_OK;
}

/* What status shows, from one call: every tunnel and only the links that matter
 * (the daemon picks them, see GetStatus in docs/manager-api.txt); n_links is how
 * many links there are in all. With thousands of links, fetching every Link
 * object took seconds; `links` still lists them all. */
int ctl_status_objects(GPtrArray **tunnels, GPtrArray **links, guint32 *n_links)
{
	g_autoptr(GVariant) reply = NULL;
	int r = ctl_call(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "GetStatus", NULL, &reply);

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

/* fake-desktop - the parts of a desktop session roamvpn-applet talks to, on a
 * private session bus, for tests/netns/applet.sh:
 *  - a StatusNotifierWatcher and host (org.kde.StatusNotifierWatcher): items
 *    register with it; it reads their properties and menus as a panel would;
 *  - a notification server (org.freedesktop.Notifications) that records every
 *    Notify as a line "notify: SUMMARY | BODY".
 * Commands on stdin, one per line, answered on stdout:
 *   icon          -> "icon NAME" (the registered item's IconName)
 *   menu          -> "menu: LABEL" per item of its exported menu, then "menu end"
 *   click LABEL   -> clicks the menu item with that label through com.canonical.dbusmenu,
 *                    as a panel does: "clicked ID LABEL" or "no item LABEL"
 */
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>

static GDBusConnection *bus;
static char *item_name, *item_path;
static guint notify_id;

static const char watcher_xml[] =
	"<node><interface name='org.kde.StatusNotifierWatcher'>"
	"<method name='RegisterStatusNotifierItem'><arg name='service' type='s' direction='in'/></method>"
	"<method name='RegisterStatusNotifierHost'><arg name='service' type='s' direction='in'/></method>"
	"<property name='RegisteredStatusNotifierItems' type='as' access='read'/>"
	"<property name='IsStatusNotifierHostRegistered' type='b' access='read'/>"
	"<property name='ProtocolVersion' type='i' access='read'/>"
	"<signal name='StatusNotifierItemRegistered'><arg type='s'/></signal>"
	"<signal name='StatusNotifierItemUnregistered'><arg type='s'/></signal>"
	"<signal name='StatusNotifierHostRegistered'/>"
	"</interface></node>";

static const char notifications_xml[] =
	"<node><interface name='org.freedesktop.Notifications'>"
	"<method name='Notify'><arg type='s' direction='in'/><arg type='u' direction='in'/>"
	"<arg type='s' direction='in'/><arg type='s' direction='in'/><arg type='s' direction='in'/>"
	"<arg type='as' direction='in'/><arg type='a{sv}' direction='in'/><arg type='i' direction='in'/>"
	"<arg type='u' direction='out'/></method>"
	"<method name='CloseNotification'><arg type='u' direction='in'/></method>"
	"<method name='GetCapabilities'><arg type='as' direction='out'/></method>"
	"<method name='GetServerInformation'><arg type='s' direction='out'/><arg type='s' direction='out'/>"
	"<arg type='s' direction='out'/><arg type='s' direction='out'/></method>"
	"<signal name='NotificationClosed'><arg type='u'/><arg type='u'/></signal>"
	"</interface></node>";

static void say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void watcher_call(GDBusConnection *conn, const char *sender, const char *path,
			 const char *iface, const char *method, GVariant *params,
			 GDBusMethodInvocation *inv, gpointer data)
{
	const char *service;

	g_variant_get(params, "(&s)", &service);
	if (g_str_equal(method, "RegisterStatusNotifierItem")) {
		g_free(item_name);
		g_free(item_path);
		/* ayatana registers its object path; others their bus name. */
		item_name = g_strdup(service[0] == '/' ? sender : service);
		item_path = g_strdup(service[0] == '/' ? service : "/StatusNotifierItem");
		say("registered %s %s", item_name, item_path);
		g_dbus_connection_emit_signal(conn, NULL, "/StatusNotifierWatcher",
					      "org.kde.StatusNotifierWatcher",
					      "StatusNotifierItemRegistered",
					      g_variant_new("(s)", item_name), NULL);
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

static GVariant *watcher_get(GDBusConnection *conn, const char *sender, const char *path,
			     const char *iface, const char *prop, GError **error, gpointer data)
{
	if (g_str_equal(prop, "RegisteredStatusNotifierItems")) {
		const char *items[] = { item_name, NULL };

		return g_variant_new_strv(item_name ? items : NULL, item_name ? 1 : 0);
	}
	if (g_str_equal(prop, "IsStatusNotifierHostRegistered"))
		return g_variant_new_boolean(TRUE);
	return g_variant_new_int32(0);
}

static void notifications_call(GDBusConnection *conn, const char *sender, const char *path,
			       const char *iface, const char *method, GVariant *params,
			       GDBusMethodInvocation *inv, gpointer data)
{
	if (g_str_equal(method, "Notify")) {
		const char *app, *icon, *summary, *body;
		guint32 replaces;

		g_variant_get(params, "(&su&s&s&s@as@a{sv}i)", &app, &replaces, &icon, &summary,
			      &body, NULL, NULL, NULL);
		say("notify: %s | %s | icon=%s", summary, body, icon);
		g_dbus_method_invocation_return_value(inv, g_variant_new("(u)", ++notify_id));
	} else if (g_str_equal(method, "GetCapabilities")) {
		const char *caps[] = { "body", NULL };

		g_dbus_method_invocation_return_value(inv, g_variant_new("(^as)", caps));
	} else if (g_str_equal(method, "GetServerInformation")) {
		g_dbus_method_invocation_return_value(inv, g_variant_new("(ssss)", "fake-desktop",
									 "roamvpn", "1", "1.2"));
	} else {
		g_dbus_method_invocation_return_value(inv, NULL);
	}
}

static GVariant *item_property(const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) r = NULL;
	GVariant *v;

	if (!item_name)
		return NULL;
	r = g_dbus_connection_call_sync(bus, item_name, item_path, "org.freedesktop.DBus.Properties",
					"Get", g_variant_new("(ss)", "org.kde.StatusNotifierItem", name),
					G_VARIANT_TYPE("(v)"), 0, 5000, NULL, &error);
	if (!r)
		return NULL;
	g_variant_get(r, "(v)", &v);
	return v;
}

/* Depth-first over a dbusmenu layout (ia{sv}av): calls fn for labelled items. */
static gboolean walk(GVariant *node, gboolean (*fn)(int id, const char *label, void *), void *data)
{
	gint32 id;
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) children = NULL;
	const char *label = NULL;
	GVariantIter iter;
	GVariant *child;

	g_variant_get(node, "(i@a{sv}@av)", &id, &props, &children);
	if (g_variant_lookup(props, "label", "&s", &label) && fn(id, label, data))
		return TRUE;
	g_variant_iter_init(&iter, children);
	while ((child = g_variant_iter_next_value(&iter))) {
		g_autoptr(GVariant) inner = g_variant_get_variant(child);

		g_variant_unref(child);
		if (walk(inner, fn, data))
			return TRUE;
	}
	return FALSE;
}

static GVariant *menu_layout(char **menu_path)
{
	g_autoptr(GVariant) menu = item_property("Menu");
	g_autoptr(GError) error = NULL;
	GVariant *r;

	if (!menu)
		return NULL;
	*menu_path = g_variant_dup_string(menu, NULL);
	r = g_dbus_connection_call_sync(bus, item_name, *menu_path, "com.canonical.dbusmenu",
					"GetLayout", g_variant_new("(ii@as)", 0, -1,
								   g_variant_new_strv(NULL, 0)),
					G_VARIANT_TYPE("(u(ia{sv}av))"), 0, 5000, NULL, &error);
	if (!r)
		say("error GetLayout: %s", error->message);
	return r;
}

static gboolean print_label(int id, const char *label, void *data)
{
	say("menu: %s", label);
	return FALSE;
}

struct find {
	const char *label;
	int id;
};

static gboolean match_label(int id, const char *label, void *data)
{
	struct find *f = data;

	if (!g_str_equal(label, f->label))
		return FALSE;
	f->id = id;
	return TRUE;
}

static void command(const char *line)
{
	g_autofree char *menu_path = NULL;
	g_autoptr(GVariant) layout = NULL;
	g_autoptr(GVariant) root = NULL;

	if (g_str_equal(line, "icon")) {
		g_autoptr(GVariant) icon = item_property("IconName");

		say("icon %s", icon ? g_variant_get_string(icon, NULL) : "(none)");
		return;
	}
	layout = menu_layout(&menu_path);
	if (!layout) {
		say("no menu");
		return;
	}
	root = g_variant_get_child_value(layout, 1);
	if (g_str_equal(line, "menu")) {
		walk(root, print_label, NULL);
		say("menu end");
	} else if (g_str_has_prefix(line, "click ")) {
		struct find f = { line + 6, -1 };
		g_autoptr(GError) error = NULL;
		g_autoptr(GVariant) r = NULL;

		if (!walk(root, match_label, &f)) {
			say("no item %s", f.label);
			return;
		}
		r = g_dbus_connection_call_sync(bus, item_name, menu_path, "com.canonical.dbusmenu",
						"Event", g_variant_new("(isvu)", f.id, "clicked",
								       g_variant_new_int32(0), 0),
						NULL, 0, 5000, NULL, &error);
		if (r)
			say("clicked %d %s", f.id, f.label);
		else
			say("error click: %s", error->message);
	} else {
		say("unknown command %s", line);
	}
}

static gboolean on_stdin(GIOChannel *ch, GIOCondition cond, gpointer data)
{
	g_autofree char *line = NULL;
	gsize len = 0;
	GIOStatus st = g_io_channel_read_line(ch, &line, &len, NULL, NULL);

	if (st == G_IO_STATUS_EOF || st == G_IO_STATUS_ERROR) {
		g_main_loop_quit(data);
		return G_SOURCE_REMOVE;
	}
	if (line) {
		g_strchomp(line);
		if (*line)
			command(line);
	}
	return G_SOURCE_CONTINUE;
}

static void own(const char *name)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) r = g_dbus_connection_call_sync(bus, "org.freedesktop.DBus",
		"/org/freedesktop/DBus", "org.freedesktop.DBus", "RequestName",
		g_variant_new("(su)", name, 4), G_VARIANT_TYPE("(u)"), 0, 5000, NULL, &error);

	if (!r)
		g_error("RequestName %s: %s", name, error->message);
}

int main(int argc, char **argv)
{
	static const GDBusInterfaceVTable watcher_vtable = { watcher_call, watcher_get, NULL, { 0 } };
	static const GDBusInterfaceVTable notif_vtable = { notifications_call, NULL, NULL, { 0 } };
	g_autoptr(GDBusNodeInfo) watcher = g_dbus_node_info_new_for_xml(watcher_xml, NULL);
	g_autoptr(GDBusNodeInfo) notif = g_dbus_node_info_new_for_xml(notifications_xml, NULL);
	g_autoptr(GError) error = NULL;
	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	GIOChannel *in = g_io_channel_unix_new(0);

	bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &error);
	if (!bus)
		g_error("session bus: %s", error->message);
	g_dbus_connection_register_object(bus, "/StatusNotifierWatcher", watcher->interfaces[0],
					  &watcher_vtable, NULL, NULL, &error);
	g_dbus_connection_register_object(bus, "/org/freedesktop/Notifications",
					  notif->interfaces[0], &notif_vtable, NULL, NULL, &error);
	own("org.kde.StatusNotifierWatcher");
	own("org.freedesktop.Notifications");
	say("ready");
	g_io_add_watch(in, G_IO_IN | G_IO_HUP, on_stdin, loop);
	g_main_loop_run(loop);
	return 0;
}

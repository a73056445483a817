/* dbus-signals.c - what net.roamvpn1 announces (see dbus-signals.h).
 *
 * Owns: for every exported object what we last announced, and the signals that
 * follow a core event: PropertiesChanged with only the properties whose value
 * differs (g_variant_equal), as an applet expects; InterfacesAdded/Removed when a
 * tunnel or link comes, goes or is renamed; the manager's Event with a short text
 * for `roamvpnctl monitor`. dbus-service.c owns the objects and the method calls.
 */
#include "config.h"

#include <dbus/dbus.h>

#include "dbus-interfaces.h"
#include "dbus-mainloop.h"
#include "dbus-signals.h"
#include "events.h"
#include "link.h"
#include "manager.h"
#include "protocol.h"
#include "ssid.h"
#include "tunnel.h"

#define PROPERTIES_IFACE RV_DBUS_PROPERTIES_IFACE
#define OBJECT_MANAGER_IFACE RV_DBUS_OBJECT_MANAGER_IFACE

static struct {
	DBusConnection *conn;
	guint events_id;
	GHashTable *announced;		/* path -> GHashTable (name -> GVariant) */
	GHashTable *link_paths;		/* GINT_TO_POINTER(ifindex) -> path */
	GHashTable *tunnel_paths;	/* name -> path */
	guint manager_idle;		/* the manager's Links changed: announce once per burst */
} svc;

static GVariant *manager_properties(void)
{
	return rv_dbus_properties(&rv_dbus_manager_iface, NULL);
}

static GVariant *tunnel_properties(const struct rv_tunnel *t)
{
	return rv_dbus_properties(&rv_dbus_tunnel_iface, t);
}

static GVariant *link_properties(const struct rv_link *l)
{
	return rv_dbus_properties(&rv_dbus_link_iface, l);
}

static void emit_signal(const char *path, const char *iface, const char *member, GVariant *tuple)
{
	DBusMessage *signal;
	DBusMessageIter iter;
	GVariantIter children;
	GVariant *child;
	bool ok = true;

	g_variant_ref_sink(tuple);
	if (!svc.conn) {
		g_variant_unref(tuple);
		return;
	}
	signal = dbus_message_new_signal(path, iface, member);
	dbus_message_iter_init_append(signal, &iter);
	g_variant_iter_init(&children, tuple);
	while ((child = g_variant_iter_next_value(&children))) {
		ok = ok && rv_dbus_append_variant(&iter, child);
		g_variant_unref(child);
	}
	g_variant_unref(tuple);
	if (ok)
		dbus_connection_send(svc.conn, signal, NULL);
	else
		g_warning("cannot marshal %s.%s on %s", iface, member, path);
	dbus_message_unref(signal);
}

static GVariant *interfaces_dict(const char *iface, GVariant *props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&b, "{s@a{sv}}", iface, props);
	return g_variant_builder_end(&b);
}

static GHashTable *props_table(GVariant *props)
{
	GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						  (GDestroyNotify)g_variant_unref);
	GVariantIter iter;
	const char *name;
	GVariant *value;

	g_variant_iter_init(&iter, props);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value))
		g_hash_table_insert(table, g_strdup(name), value);
	return table;
}

/* Short human text for monitor: "Name=value" pairs; SSIDs escaped. */
static void describe_value(GString *out, const char *name, GVariant *value)
{
	if (g_variant_is_of_type(value, G_VARIANT_TYPE_BYTESTRING)) {
		gsize n = 0;
		const guint8 *bytes = g_variant_get_fixed_array(value, &n, 1);
		g_autofree char *text = rv_ssid_escape(bytes, n);

		g_string_append_printf(out, "%s=\"%s\"", name, text);
	} else if (g_variant_is_of_type(value, G_VARIANT_TYPE_STRING)) {
		g_string_append_printf(out, "%s=%s", name, g_variant_get_string(value, NULL));
	} else {
		g_autofree char *text = g_variant_print(value, FALSE);

		g_string_append_printf(out, "%s=%s", name, text);
	}
}

static void emit_event(const char *kind, const char *path, const char *message)
{
	emit_signal(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Event",
		    g_variant_new("(sss)", kind, path, message));
}

/* Diff props against what we announced for path; emit PropertiesChanged with the
 * differences and return a description of them (NULL if nothing changed). */
static char *announce_changes(const char *path, const char *iface, GVariant *props)
{
	GHashTable *old = g_hash_table_lookup(svc.announced, path);
	GVariantBuilder changed;
	GString *text = g_string_new(NULL);
	GVariantIter iter;
	const char *name;
	GVariant *value;
	guint n = 0;

	if (!old) {
		g_hash_table_insert(svc.announced, g_strdup(path), props_table(props));
		g_string_free(text, TRUE);
		return NULL;
	}
	g_variant_builder_init(&changed, G_VARIANT_TYPE_VARDICT);
	g_variant_iter_init(&iter, props);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		GVariant *before = g_hash_table_lookup(old, name);

		if (before && g_variant_equal(before, value)) {
			g_variant_unref(value);
			continue;
		}
		g_variant_builder_add(&changed, "{sv}", name, value);
		n++;
		/* Since moves with every State change: for people the state says it all. */
		if (!g_str_equal(name, "Since")) {
			if (text->len)
				g_string_append(text, ", ");
			describe_value(text, name, value);
		}
		g_hash_table_insert(old, g_strdup(name), value);
	}
	if (!n) {
		g_variant_builder_clear(&changed);
		g_string_free(text, TRUE);
		return NULL;
	}
	emit_signal(path, PROPERTIES_IFACE, "PropertiesChanged",
		    g_variant_new("(sa{sv}@as)", iface, &changed, g_variant_new_strv(NULL, 0)));
	if (!text->len) {
		g_string_free(text, TRUE);
		return NULL;
	}
	return g_string_free(text, FALSE);
}

static void manager_changed(void)
{
	g_autoptr(GVariant) props = NULL;
	g_autofree char *changes = NULL;

	g_clear_handle_id(&svc.manager_idle, g_source_remove);
	props = manager_properties();
	changes = announce_changes(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, props);
	if (changes)
		emit_event("manager-changed", RV_DBUS_PATH, changes);
}

static gboolean manager_changed_cb(gpointer data)
{
	svc.manager_idle = 0;
	manager_changed();
	return G_SOURCE_REMOVE;
}

/* Links appearing in a burst (a container runtime starting hundreds of veths)
 * change the manager's Links once, not once per link: rebuilding that list is
 * proportional to the number of links. */
static void manager_changed_later(void)
{
	if (!svc.manager_idle)
		svc.manager_idle = g_idle_add(manager_changed_cb, NULL);
}

static void manager_changed_flush(void)
{
	if (svc.manager_idle)
		manager_changed();
}

static void object_added(const char *kind, const char *path, const char *iface, GVariant *props)
{
	g_hash_table_insert(svc.announced, g_strdup(path), props_table(props));
	emit_signal(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "InterfacesAdded",
		    g_variant_new("(o@a{sa{sv}})", path, interfaces_dict(iface, props)));
	emit_event(kind, path, "added");
}

static void object_removed(const char *kind, const char *path, const char *iface)
{
	const char *ifaces[] = { iface, NULL };

	g_hash_table_remove(svc.announced, path);
	emit_signal(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "InterfacesRemoved",
		    g_variant_new("(o^as)", path, ifaces));
	emit_event(kind, path, "removed");
}

/* Returns whether the set of link objects changed (added, removed, renamed). */
static bool link_event(enum rv_event_kind kind, const struct rv_link *link)
{
	gpointer key = GINT_TO_POINTER(link->ifindex);
	const char *old_path = g_hash_table_lookup(svc.link_paths, key);
	g_autofree char *path = rv_dbus_link_path(link->name);
	g_autoptr(GVariant) props = NULL;
	g_autofree char *changes = NULL;

	if (kind == RV_EVENT_LINK_REMOVED) {
		if (old_path) {
			object_removed("link-removed", old_path, RV_DBUS_LINK_IFACE);
			g_hash_table_remove(svc.link_paths, key);
		}
		return true;
	}
	/* A rename moves the object: announce it gone under the old name. */
	if (old_path && !g_str_equal(old_path, path)) {
		object_removed("link-removed", old_path, RV_DBUS_LINK_IFACE);
		g_hash_table_remove(svc.link_paths, key);
		old_path = NULL;
	}
	props = link_properties(link);
	if (!old_path) {
		g_hash_table_insert(svc.link_paths, key, g_strdup(path));
		object_added("link-added", path, RV_DBUS_LINK_IFACE, props);
		return true;
	}
	changes = announce_changes(path, RV_DBUS_LINK_IFACE, props);
	if (changes)
		emit_event("link-changed", path, changes);
	return false;
}

/* Returns whether the tunnel's State changed (or it came or went). */
static bool tunnel_event(enum rv_event_kind kind, const struct rv_tunnel *tunnel)
{
	const char *old_path = g_hash_table_lookup(svc.tunnel_paths, tunnel->name);
	g_autofree char *path = rv_dbus_tunnel_path(tunnel->name);
	g_autoptr(GVariant) props = NULL;
	g_autoptr(GVariant) state_before = NULL;
	g_autofree char *changes = NULL;
	GHashTable *announced;
	GVariant *state_after;

	if (kind == RV_EVENT_TUNNEL_REMOVED) {
		if (old_path) {
			object_removed("tunnel-removed", old_path, RV_DBUS_TUNNEL_IFACE);
			g_hash_table_remove(svc.tunnel_paths, tunnel->name);
		}
		return true;
	}
	props = tunnel_properties(tunnel);
	if (!old_path) {
		g_hash_table_insert(svc.tunnel_paths, g_strdup(tunnel->name), g_strdup(path));
		object_added("tunnel-added", path, RV_DBUS_TUNNEL_IFACE, props);
		return true;
	}
	announced = g_hash_table_lookup(svc.announced, path);
	state_before = announced ? g_hash_table_lookup(announced, "State") : NULL;
	if (state_before)
		g_variant_ref(state_before);
	changes = announce_changes(path, RV_DBUS_TUNNEL_IFACE, props);
	if (changes)
		emit_event("tunnel-changed", path, changes);
	announced = g_hash_table_lookup(svc.announced, path);
	state_after = announced ? g_hash_table_lookup(announced, "State") : NULL;
	return !state_before || !state_after || !g_variant_equal(state_before, state_after);
}

/* Link properties that derive from a tunnel's state (KillSwitch: "closed" or
 * "tunnel") change with no event about the link: look at every link again when a
 * tunnel's state changes. Counters do not get here, only state changes, so the
 * cost per link stays with the rare events. */
static void links_may_have_changed(void)
{
	g_autoptr(GPtrArray) links = rv_links_list();

	for (guint i = 0; links && i < links->len; i++)
		link_event(RV_EVENT_LINK_CHANGED, links->pdata[i]);
}

static void on_core_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	switch (kind) {
	case RV_EVENT_LINK_ADDED:
	case RV_EVENT_LINK_CHANGED:
	case RV_EVENT_LINK_REMOVED:
	case RV_EVENT_DECISION_CHANGED:
		/* The manager's Links only change with the set of links. */
		if (object && link_event(kind == RV_EVENT_DECISION_CHANGED ? RV_EVENT_LINK_CHANGED
									      : kind, object))
			manager_changed_later();
		return;
	case RV_EVENT_TUNNEL_CHANGED:
		/* A tunnel's state or counters: nothing the manager shows. */
		if (object && tunnel_event(kind, object))
			links_may_have_changed();
		return;
	case RV_EVENT_TUNNEL_ADDED:
	case RV_EVENT_TUNNEL_REMOVED:
		if (object && tunnel_event(kind, object))
			links_may_have_changed();
		break;
	case RV_EVENT_MANAGER_CHANGED:
		break;
	}
	/* Tunnels, State and Paused live on the manager. */
	manager_changed();
}

static void snapshot_all(void)
{
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GVariant) manager = manager_properties();

	g_hash_table_insert(svc.announced, g_strdup(RV_DBUS_PATH), props_table(manager));
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		char *path = rv_dbus_tunnel_path(t->name);
		g_autoptr(GVariant) props = tunnel_properties(t);

		g_hash_table_insert(svc.announced, g_strdup(path), props_table(props));
		g_hash_table_insert(svc.tunnel_paths, g_strdup(t->name), path);
	}
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		char *path = rv_dbus_link_path(l->name);
		g_autoptr(GVariant) props = link_properties(l);

		g_hash_table_insert(svc.announced, g_strdup(path), props_table(props));
		g_hash_table_insert(svc.link_paths, GINT_TO_POINTER(l->ifindex), path);
	}
}

void rv_dbus_signals_start(DBusConnection *conn)
{
	g_return_if_fail(!svc.conn);
	svc.conn = dbus_connection_ref(conn);
	svc.announced = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      (GDestroyNotify)g_hash_table_unref);
	svc.link_paths = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	svc.tunnel_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	snapshot_all();
	svc.events_id = rv_events_subscribe(on_core_event, NULL);
}

void rv_dbus_signals_flush(void)
{
	manager_changed_flush();
}

void rv_dbus_signals_stop(void)
{
	if (!svc.conn)
		return;
	if (svc.events_id)
		rv_events_unsubscribe(svc.events_id);
	svc.events_id = 0;
	g_clear_pointer(&svc.announced, g_hash_table_unref);
	g_clear_pointer(&svc.link_paths, g_hash_table_unref);
	g_clear_pointer(&svc.tunnel_paths, g_hash_table_unref);
	g_clear_handle_id(&svc.manager_idle, g_source_remove);
	dbus_connection_unref(svc.conn);
	svc.conn = NULL;
}

/* dbus-signals.c - what net.roamvpn1 announces (see dbus-signals.h).
 *
 * Owns: for every exported object what we last announced, and the signals that
 * follow a core event: PropertiesChanged with only the properties whose value
 * differs (g_variant_equal), as an applet expects (each value is compared by
 * itself against the one kept for it, in the interface table's order: a change
 * builds no dictionary of all properties, which with thousands of links flapping
 * was most of the cost of an event); InterfacesAdded/Removed when a
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
	GHashTable *announced;		/* path -> struct announced */
	GHashTable *link_paths;		/* GINT_TO_POINTER(ifindex) -> path */
	GHashTable *tunnel_paths;	/* name -> path */
	guint manager_idle;		/* the manager's Links changed: announce once per burst */
	GHashTable *pending_links;	/* ifindexes changed in this main-loop pass */
	guint links_idle;		/* announces them */
} svc;

/* What was last announced for one object: one value per property of its
 * interface, in the table's order. */
#define MAX_PROPERTIES 32	/* the biggest interface (Link) has 19 */
struct announced {
	const struct rv_dbus_interface *iface;
	guint n;
	GVariant *values[];
};

static void announced_free(gpointer p)
{
	struct announced *a = p;

	for (guint i = 0; i < a->n; i++)
		g_variant_unref(a->values[i]);
	g_free(a);
}

static GVariant *property_value(const struct rv_dbus_property *p, const void *object)
{
	GVariant *value = g_variant_ref_sink(p->get(object));

	/* A getter returning another type than declared would lie in Introspect. */
	g_warn_if_fail(g_variant_is_of_type(value, G_VARIANT_TYPE(p->type)));
	return value;
}

/* Every property's value now, kept under path (replacing what was there). */
static struct announced *announce_all(const char *path, const struct rv_dbus_interface *iface,
				      const void *object)
{
	guint n = 0;
	struct announced *a;

	while (iface->properties && iface->properties[n].name)
		n++;
	g_assert(n <= MAX_PROPERTIES);	/* our own tables */
	a = g_malloc(sizeof(*a) + n * sizeof(a->values[0]));
	a->iface = iface;
	a->n = n;
	for (guint i = 0; i < n; i++)
		a->values[i] = property_value(&iface->properties[i], object);
	g_hash_table_insert(svc.announced, g_strdup(path), a);
	return a;
}

/* The a{sv} of what a holds (InterfacesAdded). */
static GVariant *announced_dict(const struct announced *a)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (guint i = 0; i < a->n; i++)
		g_variant_builder_add(&b, "{sv}", a->iface->properties[i].name, a->values[i]);
	return g_variant_builder_end(&b);
}

static void emit_signal(const char *path, const char *iface, const char *member, GVariant *tuple)
{
	DBusMessage *signal;
	bool ok;

	g_variant_ref_sink(tuple);
	if (!svc.conn) {
		g_variant_unref(tuple);
		return;
	}
	signal = dbus_message_new_signal(path, iface, member);
	ok = rv_dbus_append_tuple(signal, tuple);
	g_variant_unref(tuple);
	if (ok)
		dbus_connection_send(svc.conn, signal, NULL);
	else
		g_warning("cannot marshal %s.%s on %s", iface, member, path);
	dbus_message_unref(signal);
}

/* PropertiesChanged with the values a holds at the indexes in changed, marshalled
 * straight into the message (no GVariant dictionary and tuple to walk again). */
static void emit_properties_changed(const char *path, const struct announced *a,
				    const guint *changed, guint n)
{
	DBusMessage *signal;
	DBusMessageIter iter, dict, entry, value, none;
	const char *iface = a->iface->name;
	bool ok;

	if (!svc.conn)
		return;
	signal = dbus_message_new_signal(path, PROPERTIES_IFACE, "PropertiesChanged");
	dbus_message_iter_init_append(signal, &iter);
	ok = dbus_message_iter_append_basic(&iter, DBUS_TYPE_STRING, &iface) &&
	     dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{sv}", &dict);
	for (guint i = 0; ok && i < n; i++) {
		const char *name = a->iface->properties[changed[i]].name;
		GVariant *v = a->values[changed[i]];

		ok = dbus_message_iter_open_container(&dict, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
		     dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &name) &&
		     dbus_message_iter_open_container(&entry, DBUS_TYPE_VARIANT,
						      g_variant_get_type_string(v), &value) &&
		     rv_dbus_append_variant(&value, v) &&
		     dbus_message_iter_close_container(&entry, &value) &&
		     dbus_message_iter_close_container(&dict, &entry);
	}
	ok = ok && dbus_message_iter_close_container(&iter, &dict) &&
	     dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "s", &none) &&
	     dbus_message_iter_close_container(&iter, &none);
	if (ok)
		dbus_connection_send(svc.conn, signal, NULL);
	else
		g_warning("cannot marshal %s.PropertiesChanged on %s", PROPERTIES_IFACE, path);
	dbus_message_unref(signal);
}

static GVariant *interfaces_dict(const char *iface, GVariant *props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&b, "{s@a{sv}}", iface, props);
	return g_variant_builder_end(&b);
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

/* Three strings: appended as they are (this follows every change of every link). */
static void emit_event(const char *kind, const char *path, const char *message)
{
	DBusMessage *signal;

	if (!svc.conn)
		return;
	signal = dbus_message_new_signal(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, "Event");
	if (dbus_message_append_args(signal, DBUS_TYPE_STRING, &kind, DBUS_TYPE_STRING, &path,
				     DBUS_TYPE_STRING, &message, DBUS_TYPE_INVALID))
		dbus_connection_send(svc.conn, signal, NULL);
	else
		g_warning("cannot marshal %s.Event on %s", RV_DBUS_MANAGER_IFACE, path);
	dbus_message_unref(signal);
}

/* Compare each property of object with what we announced for path; emit
 * PropertiesChanged with the differences and return a description of them (NULL
 * if nothing changed). */
static char *announce_changes(const char *path, const struct rv_dbus_interface *iface,
			      const void *object)
{
	struct announced *old = g_hash_table_lookup(svc.announced, path);
	guint changed[MAX_PROPERTIES];
	GString *text;
	guint n = 0;

	if (!old || old->iface != iface) {
		announce_all(path, iface, object);
		return NULL;
	}
	for (guint i = 0; i < old->n; i++) {
		const struct rv_dbus_property *p = &iface->properties[i];
		GVariant *value;

		if (p->same && p->same(object, old->values[i]))
			continue;
		value = property_value(p, object);

		if (g_variant_equal(old->values[i], value)) {
			g_variant_unref(value);
			continue;
		}
		g_variant_unref(old->values[i]);
		old->values[i] = value;
		changed[n++] = i;
	}
	if (!n)
		return NULL;
	emit_properties_changed(path, old, changed, n);
	text = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		const char *name = iface->properties[changed[i]].name;

		/* Since moves with every State change: for people the state says it all. */
		if (g_str_equal(name, "Since"))
			continue;
		if (text->len)
			g_string_append(text, ", ");
		describe_value(text, name, old->values[changed[i]]);
	}
	if (!text->len) {
		g_string_free(text, TRUE);
		return NULL;
	}
	return g_string_free(text, FALSE);
}

static void manager_changed(void)
{
	g_autofree char *changes = NULL;

	g_clear_handle_id(&svc.manager_idle, g_source_remove);
	changes = announce_changes(RV_DBUS_PATH, &rv_dbus_manager_iface, NULL);
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

static void object_added(const char *kind, const char *path, const struct rv_dbus_interface *iface,
			 const void *object)
{
	struct announced *a = announce_all(path, iface, object);

	emit_signal(RV_DBUS_PATH, OBJECT_MANAGER_IFACE, "InterfacesAdded",
		    g_variant_new("(o@a{sa{sv}})", path, interfaces_dict(iface->name, announced_dict(a))));
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
	if (!old_path) {
		g_hash_table_insert(svc.link_paths, key, g_strdup(path));
		object_added("link-added", path, &rv_dbus_link_iface, link);
		return true;
	}
	changes = announce_changes(path, &rv_dbus_link_iface, link);
	if (changes)
		emit_event("link-changed", path, changes);
	return false;
}

/* The tunnel's State as last announced for path, or NULL. */
static GVariant *announced_state(const char *path)
{
	const struct announced *a = g_hash_table_lookup(svc.announced, path);
	const struct rv_dbus_property *state = rv_dbus_find_property(&rv_dbus_tunnel_iface, "State");

	if (!a || a->iface != &rv_dbus_tunnel_iface || !state)
		return NULL;
	return a->values[state - rv_dbus_tunnel_iface.properties];
}

/* Returns whether the tunnel's State changed (or it came or went). */
static bool tunnel_event(enum rv_event_kind kind, const struct rv_tunnel *tunnel)
{
	const char *old_path = g_hash_table_lookup(svc.tunnel_paths, tunnel->name);
	g_autofree char *path = rv_dbus_tunnel_path(tunnel->name);
	g_autoptr(GVariant) state_before = NULL;
	g_autofree char *changes = NULL;
	GVariant *state_after;

	if (kind == RV_EVENT_TUNNEL_REMOVED) {
		if (old_path) {
			object_removed("tunnel-removed", old_path, RV_DBUS_TUNNEL_IFACE);
			g_hash_table_remove(svc.tunnel_paths, tunnel->name);
		}
		return true;
	}
	if (!old_path) {
		g_hash_table_insert(svc.tunnel_paths, g_strdup(tunnel->name), g_strdup(path));
		object_added("tunnel-added", path, &rv_dbus_tunnel_iface, tunnel);
		return true;
	}
	state_before = announced_state(path);
	if (state_before)
		g_variant_ref(state_before);
	changes = announce_changes(path, &rv_dbus_tunnel_iface, tunnel);
	if (changes)
		emit_event("tunnel-changed", path, changes);
	state_after = announced_state(path);
	return !state_before || !state_after || !g_variant_equal(state_before, state_after);
}

/* Link properties that derive from a tunnel's state (KillSwitch: "closed" or
 * "tunnel") change with no event about the link: look at every link again when a
 * tunnel's state changes. Counters do not get here, only state changes, so the
 * cost per link stays with the rare events. */
static void links_may_have_changed(void)
{
	g_autoptr(GPtrArray) links = rv_links_list();

	g_hash_table_remove_all(svc.pending_links);	/* all of them, now */
	for (guint i = 0; links && i < links->len; i++)
		link_event(RV_EVENT_LINK_CHANGED, links->pdata[i]);
}

static gint compare_ints(gconstpointer a, gconstpointer b)
{
	return *(const int *)a - *(const int *)b;
}

/* The links that changed since the last call, each announced once with what it
 * shows now, in ifindex order. */
static void announce_pending_links(void)
{
	g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(int));
	GHashTableIter iter;
	gpointer key;

	g_clear_handle_id(&svc.links_idle, g_source_remove);
	g_hash_table_iter_init(&iter, svc.pending_links);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		int ifindex = GPOINTER_TO_INT(key);

		g_array_append_val(todo, ifindex);
	}
	g_hash_table_remove_all(svc.pending_links);
	g_array_sort(todo, compare_ints);
	for (guint i = 0; i < todo->len; i++) {
		const struct rv_link *l = rv_links_lookup_index(g_array_index(todo, int, i));

		if (l && link_event(RV_EVENT_LINK_CHANGED, l))
			manager_changed_later();
	}
}

static gboolean links_changed_cb(gpointer data)
{
	svc.links_idle = 0;
	announce_pending_links();
	return G_SOURCE_REMOVE;
}

/* A link change and the decision it leads to (the manager re-decides from an
 * idle), or several changes of one link read in one pass, give one
 * PropertiesChanged with the values the link has then, not one per event: each
 * costs building and comparing the link's properties and two signals. After the
 * manager's idle (G_PRIORITY_DEFAULT_IDLE), within the same pass of the loop. */
static void link_changed_later(const struct rv_link *l)
{
	g_hash_table_add(svc.pending_links, GINT_TO_POINTER(l->ifindex));
	if (!svc.links_idle)
		svc.links_idle = g_idle_add_full(G_PRIORITY_DEFAULT_IDLE + 10, links_changed_cb,
						 NULL, NULL);
}

static void on_core_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	switch (kind) {
	case RV_EVENT_LINK_CHANGED:
	case RV_EVENT_DECISION_CHANGED:
		if (object)
			link_changed_later(object);
		return;
	case RV_EVENT_LINK_ADDED:
	case RV_EVENT_LINK_REMOVED:
		/* What changed before comes first: a removed link's last change too. */
		announce_pending_links();
		/* The manager's Links only change with the set of links. */
		if (object && link_event(kind, object))
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

	announce_all(RV_DBUS_PATH, &rv_dbus_manager_iface, NULL);
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		char *path = rv_dbus_tunnel_path(t->name);

		announce_all(path, &rv_dbus_tunnel_iface, t);
		g_hash_table_insert(svc.tunnel_paths, g_strdup(t->name), path);
	}
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		char *path = rv_dbus_link_path(l->name);

		announce_all(path, &rv_dbus_link_iface, l);
		g_hash_table_insert(svc.link_paths, GINT_TO_POINTER(l->ifindex), path);
	}
}

void rv_dbus_signals_start(DBusConnection *conn)
{
	g_return_if_fail(!svc.conn);
	svc.conn = dbus_connection_ref(conn);
	svc.announced = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, announced_free);
	svc.link_paths = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	svc.tunnel_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	svc.pending_links = g_hash_table_new(NULL, NULL);
	snapshot_all();
	svc.events_id = rv_events_subscribe(on_core_event, NULL);
}

void rv_dbus_signals_flush(void)
{
	announce_pending_links();
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
	g_clear_handle_id(&svc.links_idle, g_source_remove);
	g_clear_pointer(&svc.pending_links, g_hash_table_unref);
	dbus_connection_unref(svc.conn);
	svc.conn = NULL;
}

/* model.c - roamvpnd's state as the applet sees it (see model.h).
 *
 * On every signal the model is rebuilt from the proxies' property caches (a few
 * objects: cheaper to read than to patch) and compared with the previous one to
 * find the tunnel and portal transitions worth a notification. */
#include "config.h"

#include <string.h>

#include "model.h"
#include "protocol.h"
#include "sorted.h"
#include "ssid.h"

struct rv_model {
	GDBusConnection *conn;
	GDBusObjectManager *om;
	GDBusProxy *manager;
	struct rv_model_callbacks cb;
	GHashTable *tunnels;	/* path -> struct rv_model_tunnel * */
	GHashTable *links;	/* path -> struct rv_model_link * */
	guint rebuild_idle;
};

static void tunnel_free(struct rv_model_tunnel *t)
{
	g_free(t->path);
	g_free(t->name);
	g_free(t->state);
	g_free(t->last_error);
	g_free(t->triggered_by);
	g_free(t);
}

static void link_free(struct rv_model_link *l)
{
	g_free(l->path);
	g_free(l->name);
	g_free(l->type);
	g_free(l->ssid);
	g_free(l->rule);
	g_free(l->decision);
	g_free(l->portal);
	g_free(l->portal_url);
	g_free(l->kill_switch);
	g_free(l);
}

static char *prop_string(GDBusProxy *p, const char *name)
{
	g_autoptr(GVariant) v = p ? g_dbus_proxy_get_cached_property(p, name) : NULL;

	return g_strdup(v && g_variant_is_of_type(v, G_VARIANT_TYPE_STRING)
				? g_variant_get_string(v, NULL) : "");
}

static guint64 prop_u64(GDBusProxy *p, const char *name)
{
	g_autoptr(GVariant) v = p ? g_dbus_proxy_get_cached_property(p, name) : NULL;

	return v && g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64) ? g_variant_get_uint64(v) : 0;
}

static bool prop_bool(GDBusProxy *p, const char *name)
{
	g_autoptr(GVariant) v = p ? g_dbus_proxy_get_cached_property(p, name) : NULL;

	return v && g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN) && g_variant_get_boolean(v);
}

/* An SSID is bytes: shown escaped, never as raw text. NULL when empty. */
static char *prop_ssid(GDBusProxy *p)
{
	g_autoptr(GVariant) v = p ? g_dbus_proxy_get_cached_property(p, "SSID") : NULL;
	const guint8 *bytes;
	gsize n = 0;

	if (!v || !g_variant_is_of_type(v, G_VARIANT_TYPE_BYTESTRING))
		return NULL;
	bytes = g_variant_get_fixed_array(v, &n, 1);
	return n ? rv_ssid_escape(bytes, n) : NULL;
}

static void rebuild(struct rv_model *m)
{
	GHashTable *old_tunnels = m->tunnels, *old_links = m->links;
	GList *objects = g_dbus_object_manager_get_objects(m->om);

	m->tunnels = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)tunnel_free);
	m->links = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, (GDestroyNotify)link_free);
	for (GList *o = objects; o; o = o->next) {
		const char *path = g_dbus_object_get_object_path(o->data);
		g_autoptr(GDBusInterface) ti = g_dbus_object_get_interface(o->data, RV_DBUS_TUNNEL_IFACE);
		g_autoptr(GDBusInterface) li = g_dbus_object_get_interface(o->data, RV_DBUS_LINK_IFACE);

		if (ti) {
			GDBusProxy *p = G_DBUS_PROXY(ti);
			struct rv_model_tunnel *t = g_new0(struct rv_model_tunnel, 1);

			t->path = g_strdup(path);
			t->name = prop_string(p, "Name");
			t->state = prop_string(p, "State");
			t->since = prop_u64(p, "Since");
			t->last_error = prop_string(p, "LastError");
			t->triggered_by = prop_string(p, "TriggeredBy");
			g_hash_table_replace(m->tunnels, t->path, t);
		}
		if (li) {
			GDBusProxy *p = G_DBUS_PROXY(li);
			struct rv_model_link *l = g_new0(struct rv_model_link, 1);

			l->path = g_strdup(path);
			l->name = prop_string(p, "Name");
			l->type = prop_string(p, "Type");
			l->ssid = prop_ssid(p);
			l->rule = prop_string(p, "MatchedRule");
			l->decision = prop_string(p, "Decision");
			l->portal = prop_string(p, "Portal");
			l->portal_url = prop_string(p, "PortalURL");
			l->kill_switch = prop_string(p, "KillSwitch");
			l->active = prop_bool(p, "Active");
			g_hash_table_replace(m->links, l->path, l);
		}
	}
	g_list_free_full(objects, g_object_unref);

	/* Transitions of objects we knew before: a new object (first snapshot, daemon
	 * restart, reload) says nothing new happened. */
	if (old_tunnels && m->cb.tunnel_state) {
		GHashTableIter iter;
		struct rv_model_tunnel *t;

		g_hash_table_iter_init(&iter, m->tunnels);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&t)) {
			const struct rv_model_tunnel *before = g_hash_table_lookup(old_tunnels, t->path);

			if (before && !g_str_equal(before->state, t->state))
				m->cb.tunnel_state(m, t, before->state, m->cb.user_data);
		}
	}
	if (old_links && m->cb.link_portal) {
		GHashTableIter iter;
		struct rv_model_link *l;

		g_hash_table_iter_init(&iter, m->links);
		while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&l)) {
			const struct rv_model_link *before = g_hash_table_lookup(old_links, l->path);

			if (before && !g_str_equal(before->portal, l->portal))
				m->cb.link_portal(m, l, before->portal, m->cb.user_data);
		}
	}
	if (old_tunnels)
		g_hash_table_unref(old_tunnels);
	if (old_links)
		g_hash_table_unref(old_links);
	if (m->cb.changed)
		m->cb.changed(m, m->cb.user_data);
}

/* Signals come in bursts (GetManagedObjects after a restart adds every object):
 * one rebuild per burst, from an idle callback. */
static gboolean rebuild_cb(gpointer data)
{
	struct rv_model *m = data;

	m->rebuild_idle = 0;
	rebuild(m);
	return G_SOURCE_REMOVE;
}

static void schedule(struct rv_model *m)
{
	if (!m->rebuild_idle)
		m->rebuild_idle = g_idle_add(rebuild_cb, m);
}

static void on_om_signal(gpointer instance, ...)
{
	/* Connected with g_signal_connect_swapped: instance is the model. */
	schedule(instance);
}

struct rv_model *rv_model_new(const char *bus, const struct rv_model_callbacks *cb, GError **error)
{
	struct rv_model *m = g_new0(struct rv_model, 1);

	if (cb)
		m->cb = *cb;
	if (bus && *bus && !g_str_equal(bus, "system"))
		m->conn = g_dbus_connection_new_for_address_sync(bus,
			G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, error);
	else
		m->conn = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, error);
	if (!m->conn)
		goto fail;
	/* Not auto-started: the applet shows that roamvpnd is not running, it does
	 * not start it. */
	m->om = g_dbus_object_manager_client_new_sync(m->conn,
		G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START, RV_DBUS_NAME, RV_DBUS_PATH,
		NULL, NULL, NULL, NULL, error);
	if (!m->om)
		goto fail;
	m->manager = g_dbus_proxy_new_sync(m->conn, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START, NULL,
					   RV_DBUS_NAME, RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, NULL, error);
	if (!m->manager)
		goto fail;
	g_signal_connect_swapped(m->om, "object-added", G_CALLBACK(on_om_signal), m);
	g_signal_connect_swapped(m->om, "object-removed", G_CALLBACK(on_om_signal), m);
	g_signal_connect_swapped(m->om, "interface-proxy-properties-changed",
				 G_CALLBACK(on_om_signal), m);
	g_signal_connect_swapped(m->om, "notify::name-owner", G_CALLBACK(on_om_signal), m);
	g_signal_connect_swapped(m->manager, "g-properties-changed", G_CALLBACK(on_om_signal), m);
	g_signal_connect_swapped(m->manager, "notify::g-name-owner", G_CALLBACK(on_om_signal), m);
	rebuild(m);
	return m;

fail:
	rv_model_free(m);
	return NULL;
}

void rv_model_free(struct rv_model *m)
{
	if (!m)
		return;
	if (m->rebuild_idle)
		g_source_remove(m->rebuild_idle);
	if (m->om)
		g_signal_handlers_disconnect_by_data(m->om, m);
	if (m->manager)
		g_signal_handlers_disconnect_by_data(m->manager, m);
	g_clear_object(&m->manager);
	g_clear_object(&m->om);
	g_clear_object(&m->conn);
	g_clear_pointer(&m->tunnels, g_hash_table_unref);
	g_clear_pointer(&m->links, g_hash_table_unref);
	g_free(m);
}

bool rv_model_daemon_running(const struct rv_model *m)
{
	g_autofree char *owner = g_dbus_object_manager_client_get_name_owner(
		G_DBUS_OBJECT_MANAGER_CLIENT(m->om));

	return owner != NULL;
}

bool rv_model_paused(const struct rv_model *m)
{
	return rv_model_daemon_running(m) && prop_bool(m->manager, "Paused");
}

static int by_name(gconstpointer a, gconstpointer b)
{
	/* Both structs start with path, then name. */
	const struct rv_model_tunnel *x = *(const struct rv_model_tunnel *const *)a;
	const struct rv_model_tunnel *y = *(const struct rv_model_tunnel *const *)b;

	return g_strcmp0(x->name, y->name);
}

GPtrArray *rv_model_tunnels(const struct rv_model *m)
{
	return rv_hash_values_sorted(m->tunnels, by_name);
}

GPtrArray *rv_model_links(const struct rv_model *m)
{
	return rv_hash_values_sorted(m->links, by_name);
}

enum rv_overall rv_model_overall(const struct rv_model *m)
{
	g_autoptr(GPtrArray) tunnels = rv_model_tunnels(m);
	g_autoptr(GPtrArray) links = rv_model_links(m);
	bool up = false, moving = false, failed = false, portal = false;

	if (!rv_model_daemon_running(m))
		return RV_OVERALL_UNPROTECTED;
	for (guint i = 0; i < tunnels->len; i++) {
		const struct rv_model_tunnel *t = tunnels->pdata[i];

		up |= g_str_equal(t->state, "up");
		moving |= g_str_equal(t->state, "starting") || g_str_equal(t->state, "stopping");
		failed |= g_str_equal(t->state, "failed");
	}
	for (guint i = 0; i < links->len; i++)
		portal |= g_str_equal(((const struct rv_model_link *)links->pdata[i])->portal, "portal");
	if (rv_model_paused(m))
		return RV_OVERALL_PAUSED;
	if (portal)
		return RV_OVERALL_PORTAL;
	if (failed)
		return RV_OVERALL_FAILED;
	if (moving)
		return RV_OVERALL_CONNECTING;
	return up ? RV_OVERALL_PROTECTED : RV_OVERALL_UNPROTECTED;
}

const char *rv_overall_name(enum rv_overall overall)
{
	static const char *const names[] = {
		[RV_OVERALL_UNPROTECTED] = "unprotected",
		[RV_OVERALL_PROTECTED] = "protected",
		[RV_OVERALL_CONNECTING] = "connecting",
		[RV_OVERALL_FAILED] = "failed",
		[RV_OVERALL_PORTAL] = "portal",
		[RV_OVERALL_PAUSED] = "paused",
	};

	return overall < G_N_ELEMENTS(names) ? names[overall] : "unknown";
}

static void dump_field(GString *out, const char *key, const char *value)
{
	g_autofree char *escaped = g_strescape(value ? value : "", NULL);

	g_string_append_printf(out, " %s=\"%s\"", key, escaped);
}

char *rv_model_dump(const struct rv_model *m)
{
	g_autoptr(GPtrArray) tunnels = rv_model_tunnels(m);
	g_autoptr(GPtrArray) links = rv_model_links(m);
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "daemon %s\n", rv_model_daemon_running(m) ? "running" : "absent");
	g_string_append_printf(out, "paused %s\n", rv_model_paused(m) ? "yes" : "no");
	g_string_append_printf(out, "overall %s\n", rv_overall_name(rv_model_overall(m)));
	for (guint i = 0; i < tunnels->len; i++) {
		const struct rv_model_tunnel *t = tunnels->pdata[i];
		g_autofree char *since = g_strdup_printf("%" G_GUINT64_FORMAT, t->since);

		g_string_append_printf(out, "tunnel %s", t->name);
		dump_field(out, "state", t->state);
		dump_field(out, "since", since);
		dump_field(out, "triggered_by", t->triggered_by);
		dump_field(out, "last_error", t->last_error);
		g_string_append_c(out, '\n');
	}
	for (guint i = 0; i < links->len; i++) {
		const struct rv_model_link *l = links->pdata[i];

		g_string_append_printf(out, "link %s", l->name);
		dump_field(out, "type", l->type);
		dump_field(out, "ssid", l->ssid);
		dump_field(out, "rule", l->rule);
		dump_field(out, "decision", l->decision);
		dump_field(out, "portal", l->portal);
		dump_field(out, "kill_switch", l->kill_switch);
		g_string_append_c(out, '\n');
	}
	return g_string_free(out, FALSE);
}

struct call {
	rv_model_done_fn done;
	void *user_data;
};

static void call_done(GObject *source, GAsyncResult *res, gpointer data)
{
	struct call *c = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GVariant) reply = g_dbus_proxy_call_finish(G_DBUS_PROXY(source), res, &error);
	const char *text = NULL;

	if (error)
		g_dbus_error_strip_remote_error(error);
	if (reply && g_variant_n_children(reply) > 0) {
		g_autoptr(GVariant) first = g_variant_get_child_value(reply, 0);

		if (g_variant_is_of_type(first, G_VARIANT_TYPE_STRING))
			text = g_variant_get_string(first, NULL);
	}
	if (c->done)
		c->done(error, text, c->user_data);
	g_free(c);
}

void rv_model_call(struct rv_model *m, const char *method, GVariant *args,
		   rv_model_done_fn done, void *user_data)
{
	struct call *c = g_new0(struct call, 1);

	c->done = done;
	c->user_data = user_data;
	/* polkit may ask the person for a password through the session's agent. */
	g_dbus_proxy_call(m->manager, method, args, G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION,
			  120 * 1000, NULL, call_done, c);
}

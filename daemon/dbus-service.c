/* dbus-service.c - the net.roamvpn1 service (see dbus-service.h, docs/manager-api.txt and friends).
 *
 * Owns: the three interface tables (each member declared once: see dbus-table.h),
 * the object tree under /net/roamvpn1 and method dispatch. Who may
 * call what is dbus-auth.c's. It reads the model (manager.h, link.h, tunnel.h) and
 * never keeps pointers into it: objects are looked up by path for every call (and
 * again when an authorization comes back), so a tunnel or link that vanished is
 * simply NotFound.
 *
 * What changes is announced by dbus-signals.c (PropertiesChanged, InterfacesAdded/
 * Removed, Event); this file only asks it to flush before answering a call.
 */
#include "config.h"

#include <errno.h>
#include <linux/if.h>
#include <string.h>

#include "backend.h"
#include "dbus-auth.h"
#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "dbus-signals.h"
#include "dbus-interfaces.h"
#include "error.h"
#include "link.h"
#include "manager.h"
#include "tunnel.h"

#define PROPERTIES_IFACE RV_DBUS_PROPERTIES_IFACE
#define INTROSPECTABLE_IFACE RV_DBUS_INTROSPECTABLE_IFACE
#define OBJECT_MANAGER_IFACE RV_DBUS_OBJECT_MANAGER_IFACE

/* --- state ------------------------------------------------------------------------ */

static struct {
	DBusConnection *conn;
} svc;

void rv_dbus_service_set_admin_group(const char *group)
{
	rv_dbus_auth_set_admin_group(group);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* --- object lookup ------------------------------------------------------------------- */

enum object_kind { OBJ_NONE, OBJ_ROOT, OBJ_MANAGER, OBJ_TUNNEL_DIR, OBJ_LINK_DIR,
		   OBJ_TUNNEL, OBJ_LINK };

struct object_ref {
	enum object_kind kind;
	const void *object;	/* struct rv_tunnel or rv_link; NULL for the others */
};

static struct object_ref resolve_path(const char *path)
{
	struct object_ref ref = { OBJ_NONE, NULL };
	const char *label = NULL;

	if (g_str_equal(path, "/") || g_str_equal(path, "/net")) {
		ref.kind = OBJ_ROOT;
	} else if (g_str_equal(path, RV_DBUS_PATH)) {
		ref.kind = OBJ_MANAGER;
	} else if (g_str_equal(path, RV_DBUS_TUNNEL_PREFIX)) {
		ref.kind = OBJ_TUNNEL_DIR;
	} else if (g_str_equal(path, RV_DBUS_LINK_PREFIX)) {
		ref.kind = OBJ_LINK_DIR;
	} else if (g_str_has_prefix(path, RV_DBUS_TUNNEL_PREFIX "/")) {
		label = path + strlen(RV_DBUS_TUNNEL_PREFIX "/");
		if (!strchr(label, '/')) {
			g_autofree char *name = rv_dbus_label_unescape(label);

			ref.object = name ? rv_manager_lookup_tunnel(name) : NULL;
			if (ref.object)
				ref.kind = OBJ_TUNNEL;
		}
	} else if (g_str_has_prefix(path, RV_DBUS_LINK_PREFIX "/")) {
		label = path + strlen(RV_DBUS_LINK_PREFIX "/");
		if (!strchr(label, '/')) {
			g_autofree char *name = rv_dbus_label_unescape(label);

			ref.object = name ? rv_links_lookup_name(name) : NULL;
			if (ref.object)
				ref.kind = OBJ_LINK;
		}
	}
	return ref;
}

/* The roamvpn interface an object implements, NULL for the directories. */
static const struct rv_dbus_interface *object_interface(enum object_kind kind)
{
	switch (kind) {
	case OBJ_MANAGER: return &rv_dbus_manager_iface;
	case OBJ_TUNNEL: return &rv_dbus_tunnel_iface;
	case OBJ_LINK: return &rv_dbus_link_iface;
	default: return NULL;
	}
}

/* --- replies ------------------------------------------------------------------------- */

static DBusHandlerResult send_and_unref(DBusConnection *conn, DBusMessage *reply)
{
	if (!reply)
		g_error("out of memory");
	dbus_connection_send(conn, reply, NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

static DBusHandlerResult reply_error(DBusConnection *conn, DBusMessage *msg,
				     const char *name, const char *text)
{
	return send_and_unref(conn, dbus_message_new_error(msg, name, text));
}

static DBusHandlerResult reply_gerror(DBusConnection *conn, DBusMessage *msg, const GError *error)
{
	const char *name = error && error->domain == RV_ERROR ? rv_error_dbus_name(error->code)
							       : rv_error_dbus_name(RV_ERROR_FAILED);

	return reply_error(conn, msg, name, error ? error->message : "failed");
}

/* Reply with the arguments in tuple (a GVariant tuple, consumed if floating). */
static DBusHandlerResult reply_variant(DBusConnection *conn, DBusMessage *msg, GVariant *tuple)
{
	DBusMessage *reply = dbus_message_new_method_return(msg);
	bool ok;

	g_variant_ref_sink(tuple);
	ok = rv_dbus_append_tuple(reply, tuple);
	g_variant_unref(tuple);
	if (!ok) {
		dbus_message_unref(reply);
		return reply_error(conn, msg, DBUS_ERROR_FAILED, "cannot marshal reply");
	}
	return send_and_unref(conn, reply);
}

/* --- Introspectable -------------------------------------------------------------------- */

static void append_child_nodes(GString *xml, const char *path, enum object_kind kind)
{
	if (g_str_equal(path, "/")) {
		g_string_append(xml, "  <node name=\"net\"/>\n");
	} else if (g_str_equal(path, "/net")) {
		g_string_append(xml, "  <node name=\"roamvpn1\"/>\n");
	} else if (kind == OBJ_MANAGER) {
		g_string_append(xml, "  <node name=\"tunnel\"/>\n  <node name=\"link\"/>\n");
	} else if (kind == OBJ_TUNNEL_DIR) {
		g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();

		for (guint i = 0; tunnels && i < tunnels->len; i++) {
			const struct rv_tunnel *t = tunnels->pdata[i];
			g_autofree char *label = rv_dbus_label_escape(t->name);

			g_string_append_printf(xml, "  <node name=\"%s\"/>\n", label);
		}
	} else if (kind == OBJ_LINK_DIR) {
		g_autoptr(GPtrArray) links = rv_links_list();

		for (guint i = 0; links && i < links->len; i++) {
			const struct rv_link *l = links->pdata[i];
			g_autofree char *label = rv_dbus_label_escape(l->name);

			g_string_append_printf(xml, "  <node name=\"%s\"/>\n", label);
		}
	}
}

static DBusHandlerResult handle_introspect(DBusConnection *conn, DBusMessage *msg,
					   const struct object_ref *ref, const char *path)
{
	GString *xml = g_string_new(DBUS_INTROSPECT_1_0_XML_DOCTYPE_DECL_NODE "<node>\n");
	const struct rv_dbus_interface *own = object_interface(ref->kind);
	DBusMessage *reply;

	rv_dbus_append_interface_xml(xml, &rv_dbus_introspectable_iface);
	if (own) {
		rv_dbus_append_interface_xml(xml, &rv_dbus_properties_iface);
		rv_dbus_append_interface_xml(xml, own);
	}
	if (ref->kind == OBJ_MANAGER)
		rv_dbus_append_interface_xml(xml, &rv_dbus_object_manager_iface);
	append_child_nodes(xml, path, ref->kind);
	g_string_append(xml, "</node>\n");

	reply = dbus_message_new_method_return(msg);
	dbus_message_append_args(reply, DBUS_TYPE_STRING, &xml->str, DBUS_TYPE_INVALID);
	g_string_free(xml, TRUE);
	return send_and_unref(conn, reply);
}

/* --- Properties ------------------------------------------------------------------------ */

static DBusHandlerResult handle_properties(DBusConnection *conn, DBusMessage *msg,
					   const struct object_ref *ref)
{
	const char *member = dbus_message_get_member(msg);
	const struct rv_dbus_interface *own = object_interface(ref->kind);
	const struct rv_dbus_method *m = rv_dbus_find_method(&rv_dbus_properties_iface, member);
	const struct rv_dbus_property *prop;
	g_autofree char *sig = m ? rv_dbus_args_signature(m->in) : NULL;
	g_autoptr(GVariant) args = NULL;
	const char *iface = NULL, *name = NULL;

	if (!m)
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_METHOD, member);
	if (!dbus_message_has_signature(msg, sig)) {
		g_autofree char *text = g_strdup_printf("%s takes (%s)", member, m->in);

		return reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, text);
	}
	args = rv_dbus_message_to_variant(msg);
	g_variant_get_child(args, 0, "&s", &iface);

	if (g_str_equal(member, "GetAll")) {
		g_autoptr(GVariant) props = NULL;

		if (!own || !g_str_equal(iface, own->name)) {
			/* Empty dict for interfaces without properties, as the spec asks. */
			if (g_str_equal(iface, PROPERTIES_IFACE) ||
			    g_str_equal(iface, INTROSPECTABLE_IFACE) ||
			    (ref->kind == OBJ_MANAGER && g_str_equal(iface, OBJECT_MANAGER_IFACE)))
				return reply_variant(conn, msg, g_variant_new_parsed("(@a{sv} {},)"));
			return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_INTERFACE, iface);
		}
		props = rv_dbus_properties(own, ref->object);
		return reply_variant(conn, msg, g_variant_new_tuple(&props, 1));
	}

	g_variant_get_child(args, 1, "&s", &name);
	if (!own || !g_str_equal(iface, own->name))
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_INTERFACE, iface);
	prop = rv_dbus_find_property(own, name);
	if (!prop)
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_PROPERTY, name);
	if (g_str_equal(member, "Set"))
		return reply_error(conn, msg, DBUS_ERROR_PROPERTY_READ_ONLY,
				   "all roamvpn properties are read-only");
	return reply_variant(conn, msg, g_variant_new("(v)", prop->get(ref->object)));
}

/* --- ObjectManager --------------------------------------------------------------------- */

/* One {o: {iface: {name: value}}} entry of GetManagedObjects, written into the reply. */
static bool append_object(DBusMessageIter *array, const char *path,
			  const struct rv_dbus_interface *iface, const void *object)
{
	DBusMessageIter entry, ifaces, ientry, props;
	bool ok;

	ok = dbus_message_iter_open_container(array, DBUS_TYPE_DICT_ENTRY, NULL, &entry) &&
	     dbus_message_iter_append_basic(&entry, DBUS_TYPE_OBJECT_PATH, &path) &&
	     dbus_message_iter_open_container(&entry, DBUS_TYPE_ARRAY, "{sa{sv}}", &ifaces) &&
	     dbus_message_iter_open_container(&ifaces, DBUS_TYPE_DICT_ENTRY, NULL, &ientry) &&
	     dbus_message_iter_append_basic(&ientry, DBUS_TYPE_STRING, &iface->name) &&
	     dbus_message_iter_open_container(&ientry, DBUS_TYPE_ARRAY, "{sv}", &props);
	for (const struct rv_dbus_property *p = iface->properties; ok && p->name; p++) {
		g_autoptr(GVariant) value = g_variant_ref_sink(p->get(object));
		DBusMessageIter pentry, var;

		ok = dbus_message_iter_open_container(&props, DBUS_TYPE_DICT_ENTRY, NULL, &pentry) &&
		     dbus_message_iter_append_basic(&pentry, DBUS_TYPE_STRING, &p->name) &&
		     dbus_message_iter_open_container(&pentry, DBUS_TYPE_VARIANT,
						      g_variant_get_type_string(value), &var) &&
		     rv_dbus_append_variant(&var, value) &&
		     dbus_message_iter_close_container(&pentry, &var) &&
		     dbus_message_iter_close_container(&props, &pentry);
	}
	return ok && dbus_message_iter_close_container(&ientry, &props) &&
	       dbus_message_iter_close_container(&ifaces, &ientry) &&
	       dbus_message_iter_close_container(&entry, &ifaces) &&
	       dbus_message_iter_close_container(array, &entry);
}

/* GetManagedObjects straight into the reply, property by property: the same
 * content as the GVariant path would give, without building one GVariant of everything and
 * walking it again, which with thousands of links cost more than all the rest. */
static DBusHandlerResult reply_managed_objects(DBusConnection *conn, DBusMessage *msg)
{
	DBusMessage *reply = dbus_message_new_method_return(msg);
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	g_autoptr(GPtrArray) links = rv_links_list();
	DBusMessageIter iter, array;
	bool ok;

	if (!reply)
		g_error("out of memory");
	dbus_message_iter_init_append(reply, &iter);
	ok = dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "{oa{sa{sv}}}", &array);
	for (guint i = 0; ok && tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		g_autofree char *path = rv_dbus_tunnel_path(t->name);

		ok = append_object(&array, path, &rv_dbus_tunnel_iface, t);
	}
	for (guint i = 0; ok && links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		g_autofree char *path = rv_dbus_link_path(l->name);

		ok = append_object(&array, path, &rv_dbus_link_iface, l);
	}
	if (!ok || !dbus_message_iter_close_container(&iter, &array)) {
		dbus_message_unref(reply);
		return reply_error(conn, msg, DBUS_ERROR_FAILED, "cannot marshal reply");
	}
	return send_and_unref(conn, reply);
}

/* --- methods from the tables ------------------------------------------------------------ */

/* A call waiting for its authorization. Holds the message only: the object is
 * looked up again when the answer comes, it may have gone meanwhile. */
struct pending_call {
	DBusConnection *conn;
	DBusMessage *msg;
	const struct rv_dbus_method *method;
};

static void run_method(DBusConnection *conn, DBusMessage *msg, const struct rv_dbus_method *m)
{
	struct object_ref ref = resolve_path(dbus_message_get_path(msg));
	g_autoptr(GVariant) args = rv_dbus_message_to_variant(msg);
	g_autoptr(GError) error = NULL;
	GVariant *out;

	if (ref.kind == OBJ_NONE) {
		reply_error(conn, msg, DBUS_ERROR_UNKNOWN_OBJECT, dbus_message_get_path(msg));
		return;
	}
	if (m->auth != RV_AUTH_ANYONE) {
		g_autofree char *text = g_variant_print(args, FALSE);

		g_debug("%s%s from %s", m->name, text, or_empty(dbus_message_get_sender(msg)));
	}
	out = m->call(ref.object, args, &error);
	if (!out) {
		if (!error)
			g_set_error(&error, RV_ERROR, RV_ERROR_FAILED, "%s failed", m->name);
		reply_gerror(conn, msg, error);
		return;
	}
	reply_variant(conn, msg, out);
}

static void on_authorized(bool allowed, const GError *error, void *user_data)
{
	struct pending_call *p = user_data;

	if (allowed) {
		run_method(p->conn, p->msg, p->method);
	} else {
		g_message("refused %s from %s: %s", p->method->name,
			  or_empty(dbus_message_get_sender(p->msg)), error->message);
		reply_gerror(p->conn, p->msg, error);
	}
	dbus_message_unref(p->msg);
	dbus_connection_unref(p->conn);
	g_free(p);
}

static DBusHandlerResult handle_method(DBusConnection *conn, DBusMessage *msg,
				       const struct rv_dbus_interface *iface)
{
	const char *member = dbus_message_get_member(msg);
	const struct rv_dbus_method *m = rv_dbus_find_method(iface, member);
	g_autofree char *sig = NULL;
	struct pending_call *p;
	GVariant *details = NULL;

	if (!m || !m->call)
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_METHOD, member);
	sig = rv_dbus_args_signature(m->in);
	if (!dbus_message_has_signature(msg, sig)) {
		g_autofree char *text = *m->in ? g_strdup_printf("%s takes (%s)", m->name, m->in)
					       : g_strdup_printf("%s takes no arguments", m->name);

		return reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, text);
	}
	if (m->auth == RV_AUTH_ANYONE) {
		run_method(conn, msg, m);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	/* The string arguments by name, for polkit rules (action.lookup("tunnel")). */
	if (rv_dbus_auth_action(m->auth)) {
		g_autoptr(GVariant) args = rv_dbus_message_to_variant(msg);

		details = rv_dbus_string_args(m->in, args);
	}
	p = g_new0(struct pending_call, 1);
	p->conn = dbus_connection_ref(conn);
	p->msg = dbus_message_ref(msg);
	p->method = m;
	rv_dbus_auth_check(conn, msg, m->auth, details, on_authorized, p);
	return DBUS_HANDLER_RESULT_HANDLED;
}

/* --- dispatch ------------------------------------------------------------------------ */

static DBusHandlerResult handle_message(DBusConnection *conn, DBusMessage *msg, void *user_data)
{
	const char *path = dbus_message_get_path(msg);
	const char *iface = dbus_message_get_interface(msg);
	const char *member = dbus_message_get_member(msg);
	const struct rv_dbus_interface *own;
	struct object_ref ref;

	if (dbus_message_get_type(msg) != DBUS_MESSAGE_TYPE_METHOD_CALL || !path || !member)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

	/* A caller sees the manager's pending change before any reply. */
	rv_dbus_signals_flush();
	ref = resolve_path(path);
	if (ref.kind == OBJ_NONE)
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_OBJECT, path);
	own = object_interface(ref.kind);

	if ((!iface || g_str_equal(iface, INTROSPECTABLE_IFACE)) && g_str_equal(member, "Introspect"))
		return handle_introspect(conn, msg, &ref, path);

	if (iface && g_str_equal(iface, PROPERTIES_IFACE) && own)
		return handle_properties(conn, msg, &ref);

	if (ref.kind == OBJ_MANAGER && (!iface || g_str_equal(iface, OBJECT_MANAGER_IFACE)) &&
	    g_str_equal(member, "GetManagedObjects"))
		return reply_managed_objects(conn, msg);

	if (own && (!iface || g_str_equal(iface, own->name)))
		return handle_method(conn, msg, own);

	return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_METHOD, member);
}

static const DBusObjectPathVTable vtable = {
	.message_function = handle_message,
};

/* --- init / exit --------------------------------------------------------------------- */

static const char *const registered_paths[] = { "/", "/net", RV_DBUS_PATH };
static const char *const fallback_paths[] = { RV_DBUS_TUNNEL_PREFIX, RV_DBUS_LINK_PREFIX };

int rv_dbus_service_init(DBusConnection *conn, GError **error)
{
	DBusError err;
	int r;

	g_return_val_if_fail(!svc.conn, -EALREADY);
	svc.conn = dbus_connection_ref(conn);
	for (gsize i = 0; i < G_N_ELEMENTS(registered_paths); i++)
		dbus_connection_register_object_path(conn, registered_paths[i], &vtable, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(fallback_paths); i++)
		dbus_connection_register_fallback(conn, fallback_paths[i], &vtable, NULL);
	/* What is announced from now on is diffed against this moment's snapshot. */
	rv_dbus_signals_start(conn);

	dbus_error_init(&err);
	r = dbus_bus_request_name(conn, RV_DBUS_NAME, DBUS_NAME_FLAG_DO_NOT_QUEUE, &err);
	if (r != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
		g_set_error(error, RV_ERROR, r == DBUS_REQUEST_NAME_REPLY_EXISTS ? RV_ERROR_BUSY
										 : RV_ERROR_PERMISSION,
			    "cannot own %s: %s", RV_DBUS_NAME,
			    dbus_error_is_set(&err) ? err.message : "another daemon has it");
		dbus_error_free(&err);
		rv_dbus_service_exit();
		return r == DBUS_REQUEST_NAME_REPLY_EXISTS ? -EBUSY : -EACCES;
	}
	g_debug("owning %s", RV_DBUS_NAME);
	return 0;
}

void rv_dbus_service_exit(void)
{
	if (!svc.conn)
		return;
	rv_dbus_signals_stop();
	for (gsize i = 0; i < G_N_ELEMENTS(registered_paths); i++)
		dbus_connection_unregister_object_path(svc.conn, registered_paths[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(fallback_paths); i++)
		dbus_connection_unregister_object_path(svc.conn, fallback_paths[i]);
	if (dbus_connection_get_is_connected(svc.conn))
		dbus_bus_release_name(svc.conn, RV_DBUS_NAME, NULL);
	dbus_connection_unref(svc.conn);
	svc.conn = NULL;
	rv_dbus_auth_cancel_all();
}

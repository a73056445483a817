/* dbus-service.c - the net.roamvpn1 service (see dbus-service.h, docs/manager-api.txt and friends).
 *
 * Owns: the object tree under /net/roamvpn1, method dispatch, the in-daemon
 * authorization check, and change signals. It reads the model (manager.h, link.h,
 * tunnel.h) and never keeps pointers into it: objects are looked up by name for
 * every call, so a tunnel or link that vanished is simply NotFound.
 *
 * Properties are built as GVariants; for every exported object we keep what we
 * last announced and, on a core event, emit PropertiesChanged with only the
 * properties whose value differs (g_variant_equal), as an applet expects.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <linux/if.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "backend.h"
#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "error.h"
#include "events.h"
#include "link.h"
#include "manager.h"
#include "policy.h"
#include "ssid.h"
#include "tunnel.h"

#ifndef RV_DBUS_GROUP
#define RV_DBUS_GROUP "netdev"
#endif

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_IFACE "org.freedesktop.DBus.Introspectable"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

/* --- introspection -------------------------------------------------------------
 * Keep these equal to data/net.roamvpn1.*.xml: tests/unit/test-dbus-service.c
 * compares them (whitespace between tags aside). */

static const char manager_xml[] =
	"  <interface name=\"net.roamvpn1.Manager\">\n"
	"    <method name=\"Connect\">\n"
	"      <arg name=\"tunnel\" type=\"s\" direction=\"in\"/>\n"
	"    </method>\n"
	"    <method name=\"Disconnect\">\n"
	"      <arg name=\"tunnel\" type=\"s\" direction=\"in\"/>\n"
	"    </method>\n"
	"    <method name=\"Reload\"/>\n"
	"    <method name=\"Explain\">\n"
	"      <arg name=\"interface\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"text\" type=\"s\" direction=\"out\"/>\n"
	"      <arg name=\"verdicts\" type=\"a(sbs)\" direction=\"out\"/>\n"
	"    </method>\n"
	"    <method name=\"Pause\"/>\n"
	"    <method name=\"Resume\"/>\n"
	"    <method name=\"Hook\">\n"
	"      <arg name=\"event\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"interface\" type=\"s\" direction=\"in\"/>\n"
	"    </method>\n"
	"    <signal name=\"Event\">\n"
	"      <arg name=\"kind\" type=\"s\"/>\n"
	"      <arg name=\"object\" type=\"s\"/>\n"
	"      <arg name=\"message\" type=\"s\"/>\n"
	"    </signal>\n"
	"    <property name=\"State\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Paused\" type=\"b\" access=\"read\"/>\n"
	"    <property name=\"DNSMethod\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Tunnels\" type=\"ao\" access=\"read\"/>\n"
	"    <property name=\"Links\" type=\"ao\" access=\"read\"/>\n"
	"  </interface>\n";

static const char tunnel_xml[] =
	"  <interface name=\"net.roamvpn1.Tunnel\">\n"
	"    <property name=\"Name\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"State\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Backend\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Interface\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Addresses\" type=\"as\" access=\"read\"/>\n"
	"    <property name=\"DNS\" type=\"as\" access=\"read\"/>\n"
	"    <property name=\"Domains\" type=\"as\" access=\"read\"/>\n"
	"    <property name=\"Since\" type=\"t\" access=\"read\"/>\n"
	"    <property name=\"LastError\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"TriggeredBy\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"RxBytes\" type=\"t\" access=\"read\"/>\n"
	"    <property name=\"TxBytes\" type=\"t\" access=\"read\"/>\n"
	"    <property name=\"LastHandshake\" type=\"t\" access=\"read\"/>\n"
	"  </interface>\n";

static const char link_xml[] =
	"  <interface name=\"net.roamvpn1.Link\">\n"
	"    <property name=\"Name\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Index\" type=\"i\" access=\"read\"/>\n"
	"    <property name=\"Type\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Kind\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Carrier\" type=\"b\" access=\"read\"/>\n"
	"    <property name=\"Active\" type=\"b\" access=\"read\"/>\n"
	"    <property name=\"OperState\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Addresses\" type=\"as\" access=\"read\"/>\n"
	"    <property name=\"SSID\" type=\"ay\" access=\"read\"/>\n"
	"    <property name=\"BSSID\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"WifiState\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Gateway\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"GatewayMAC\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"MatchedRule\" type=\"s\" access=\"read\"/>\n"
	"    <property name=\"Decision\" type=\"s\" access=\"read\"/>\n"
	"  </interface>\n";

static const char standard_xml[] =
	"  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
	"    <method name=\"Introspect\">\n"
	"      <arg name=\"xml\" type=\"s\" direction=\"out\"/>\n"
	"    </method>\n"
	"  </interface>\n"
	"  <interface name=\"org.freedesktop.DBus.Properties\">\n"
	"    <method name=\"Get\">\n"
	"      <arg name=\"interface\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"name\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"value\" type=\"v\" direction=\"out\"/>\n"
	"    </method>\n"
	"    <method name=\"GetAll\">\n"
	"      <arg name=\"interface\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"properties\" type=\"a{sv}\" direction=\"out\"/>\n"
	"    </method>\n"
	"    <method name=\"Set\">\n"
	"      <arg name=\"interface\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"name\" type=\"s\" direction=\"in\"/>\n"
	"      <arg name=\"value\" type=\"v\" direction=\"in\"/>\n"
	"    </method>\n"
	"    <signal name=\"PropertiesChanged\">\n"
	"      <arg name=\"interface\" type=\"s\"/>\n"
	"      <arg name=\"changed\" type=\"a{sv}\"/>\n"
	"      <arg name=\"invalidated\" type=\"as\"/>\n"
	"    </signal>\n"
	"  </interface>\n";

static const char object_manager_xml[] =
	"  <interface name=\"org.freedesktop.DBus.ObjectManager\">\n"
	"    <method name=\"GetManagedObjects\">\n"
	"      <arg name=\"objects\" type=\"a{oa{sa{sv}}}\" direction=\"out\"/>\n"
	"    </method>\n"
	"    <signal name=\"InterfacesAdded\">\n"
	"      <arg name=\"object\" type=\"o\"/>\n"
	"      <arg name=\"interfaces\" type=\"a{sa{sv}}\"/>\n"
	"    </signal>\n"
	"    <signal name=\"InterfacesRemoved\">\n"
	"      <arg name=\"object\" type=\"o\"/>\n"
	"      <arg name=\"interfaces\" type=\"as\"/>\n"
	"    </signal>\n"
	"  </interface>\n";

const char *rv_dbus_service_interface_xml(const char *iface)
{
	if (g_str_equal(iface, RV_DBUS_MANAGER_IFACE))
		return manager_xml;
	if (g_str_equal(iface, RV_DBUS_TUNNEL_IFACE))
		return tunnel_xml;
	if (g_str_equal(iface, RV_DBUS_LINK_IFACE))
		return link_xml;
	return NULL;
}

/* --- state ------------------------------------------------------------------------ */

static struct {
	DBusConnection *conn;
	guint events_id;
	GHashTable *announced;		/* path -> GHashTable (name -> GVariant) */
	GHashTable *link_paths;		/* GINT_TO_POINTER(ifindex) -> path */
	GHashTable *tunnel_paths;	/* name -> path */
	char *admin_group;		/* NULL: RV_DBUS_GROUP */
} svc;

void rv_dbus_service_set_admin_group(const char *group)
{
	g_free(svc.admin_group);
	svc.admin_group = group && *group ? g_strdup(group) : NULL;
}

char *rv_dbus_tunnel_path(const char *name)
{
	g_autofree char *label = rv_dbus_label_escape(name);

	return g_strconcat(RV_DBUS_TUNNEL_PREFIX "/", label, NULL);
}

char *rv_dbus_link_path(const char *ifname)
{
	g_autofree char *label = rv_dbus_label_escape(ifname);

	return g_strconcat(RV_DBUS_LINK_PREFIX "/", label, NULL);
}

/* --- properties ---------------------------------------------------------------------- */

static GVariant *strv_variant(const char *const *strv)
{
	return g_variant_new_strv(strv ? strv : (const char *const[]){ NULL }, -1);
}

static GVariant *ptr_array_strv_variant(GPtrArray *array)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_STRING_ARRAY);
	for (guint i = 0; array && i < array->len; i++)
		g_variant_builder_add(&b, "s", (const char *)array->pdata[i]);
	return g_variant_builder_end(&b);
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static const char *operstate_name(uint8_t operstate)
{
	switch (operstate) {
	case IF_OPER_NOTPRESENT: return "notpresent";
	case IF_OPER_DOWN: return "down";
	case IF_OPER_LOWERLAYERDOWN: return "lowerlayerdown";
	case IF_OPER_TESTING: return "testing";
	case IF_OPER_DORMANT: return "dormant";
	case IF_OPER_UP: return "up";
	default: return "unknown";
	}
}

static GVariant *manager_properties(void)
{
	GVariantBuilder b, paths;
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	g_autoptr(GPtrArray) links = rv_links_list();

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "State", g_variant_new_string(or_empty(rv_manager_state())));
	g_variant_builder_add(&b, "{sv}", "Paused", g_variant_new_boolean(rv_manager_is_paused()));
	g_variant_builder_add(&b, "{sv}", "DNSMethod",
			      g_variant_new_string(or_empty(rv_manager_dns_method())));

	g_variant_builder_init(&paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		g_autofree char *path = rv_dbus_tunnel_path(t->name);

		g_variant_builder_add(&paths, "o", path);
	}
	g_variant_builder_add(&b, "{sv}", "Tunnels", g_variant_builder_end(&paths));

	g_variant_builder_init(&paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		g_autofree char *path = rv_dbus_link_path(l->name);

		g_variant_builder_add(&paths, "o", path);
	}
	g_variant_builder_add(&b, "{sv}", "Links", g_variant_builder_end(&paths));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GVariant *tunnel_properties(const struct rv_tunnel *t)
{
	GVariantBuilder b;
	const struct rv_tunnel_config *cfg = t->config;
	const struct rv_tunnel_net *net = t->net;
	const char *backend = t->backend ? t->backend->name : cfg ? cfg->backend : NULL;
	const char *ifname = net && net->ifname ? net->ifname : cfg ? cfg->interface : NULL;
	char **dns = net && net->dns ? net->dns : cfg ? cfg->dns : NULL;
	char **domains = net && net->domains ? net->domains : cfg ? cfg->domains : NULL;

	/* [Tunnel] DNS=/Domains= win over what the backend reports (DESIGN.md). */
	if (cfg && cfg->dns)
		dns = cfg->dns;
	if (cfg && cfg->domains)
		domains = cfg->domains;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(t->name));
	g_variant_builder_add(&b, "{sv}", "State",
			      g_variant_new_string(or_empty(rv_tunnel_state_name(t->state))));
	g_variant_builder_add(&b, "{sv}", "Backend", g_variant_new_string(or_empty(backend)));
	g_variant_builder_add(&b, "{sv}", "Interface", g_variant_new_string(or_empty(ifname)));
	g_variant_builder_add(&b, "{sv}", "Addresses",
			      ptr_array_strv_variant(net ? net->addresses : NULL));
	g_variant_builder_add(&b, "{sv}", "DNS", strv_variant((const char *const *)dns));
	g_variant_builder_add(&b, "{sv}", "Domains", strv_variant((const char *const *)domains));
	g_variant_builder_add(&b, "{sv}", "Since",
			      g_variant_new_uint64(t->since > 0 ? (guint64)t->since : 0));
	g_variant_builder_add(&b, "{sv}", "LastError", g_variant_new_string(or_empty(t->last_error)));
	g_variant_builder_add(&b, "{sv}", "TriggeredBy",
			      g_variant_new_string(or_empty(t->triggered_by)));
	g_variant_builder_add(&b, "{sv}", "RxBytes", g_variant_new_uint64(t->rx_bytes));
	g_variant_builder_add(&b, "{sv}", "TxBytes", g_variant_new_uint64(t->tx_bytes));
	g_variant_builder_add(&b, "{sv}", "LastHandshake",
			      g_variant_new_uint64(t->last_handshake > 0 ? (guint64)t->last_handshake : 0));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static GVariant *link_properties(const struct rv_link *l)
{
	const struct rv_decision *decision = rv_manager_link_decision(l->ifindex);
	GVariantBuilder b;
	g_autofree char *bssid = l->has_bssid ? rv_mac_to_string(l->bssid) : NULL;
	g_autofree char *gw_mac = l->has_gateway_mac ? rv_mac_to_string(l->gateway_mac) : NULL;
	gsize ssid_len = 0;
	const void *ssid = l->ssid ? g_bytes_get_data(l->ssid, &ssid_len) : NULL;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string(l->name));
	g_variant_builder_add(&b, "{sv}", "Index", g_variant_new_int32(l->ifindex));
	g_variant_builder_add(&b, "{sv}", "Type", g_variant_new_string(or_empty(l->type)));
	g_variant_builder_add(&b, "{sv}", "Kind", g_variant_new_string(or_empty(l->kind)));
	g_variant_builder_add(&b, "{sv}", "Carrier", g_variant_new_boolean(l->carrier));
	g_variant_builder_add(&b, "{sv}", "Active", g_variant_new_boolean(rv_link_is_active(l)));
	g_variant_builder_add(&b, "{sv}", "OperState",
			      g_variant_new_string(operstate_name(l->operstate)));
	g_variant_builder_add(&b, "{sv}", "Addresses", ptr_array_strv_variant(l->addresses));
	/* Raw bytes: an SSID is not text (ssid.h). */
	g_variant_builder_add(&b, "{sv}", "SSID",
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, ssid, ssid_len, 1));
	g_variant_builder_add(&b, "{sv}", "BSSID", g_variant_new_string(or_empty(bssid)));
	g_variant_builder_add(&b, "{sv}", "WifiState",
			      g_variant_new_string(or_empty(rv_link_wifi_state(l))));
	g_variant_builder_add(&b, "{sv}", "Gateway", g_variant_new_string(or_empty(l->gateway)));
	g_variant_builder_add(&b, "{sv}", "GatewayMAC", g_variant_new_string(or_empty(gw_mac)));
	g_variant_builder_add(&b, "{sv}", "MatchedRule",
			      g_variant_new_string(or_empty(decision ? decision->rule : NULL)));
	g_variant_builder_add(&b, "{sv}", "Decision",
			      g_variant_new_string(or_empty(decision ? decision->action : NULL)));
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

/* --- object lookup ------------------------------------------------------------------- */

enum object_kind { OBJ_NONE, OBJ_ROOT, OBJ_MANAGER, OBJ_TUNNEL_DIR, OBJ_LINK_DIR,
		   OBJ_TUNNEL, OBJ_LINK };

struct object_ref {
	enum object_kind kind;
	const struct rv_tunnel *tunnel;
	const struct rv_link *link;
};

static struct object_ref resolve_path(const char *path)
{
	struct object_ref ref = { OBJ_NONE, NULL, NULL };
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

			ref.tunnel = name ? rv_manager_lookup_tunnel(name) : NULL;
			if (ref.tunnel)
				ref.kind = OBJ_TUNNEL;
		}
	} else if (g_str_has_prefix(path, RV_DBUS_LINK_PREFIX "/")) {
		label = path + strlen(RV_DBUS_LINK_PREFIX "/");
		if (!strchr(label, '/')) {
			g_autofree char *name = rv_dbus_label_unescape(label);

			ref.link = name ? rv_links_lookup_name(name) : NULL;
			if (ref.link)
				ref.kind = OBJ_LINK;
		}
	}
	return ref;
}

static const char *object_interface(enum object_kind kind)
{
	switch (kind) {
	case OBJ_MANAGER: return RV_DBUS_MANAGER_IFACE;
	case OBJ_TUNNEL: return RV_DBUS_TUNNEL_IFACE;
	case OBJ_LINK: return RV_DBUS_LINK_IFACE;
	default: return NULL;
	}
}

static GVariant *object_properties(const struct object_ref *ref)
{
	switch (ref->kind) {
	case OBJ_MANAGER: return manager_properties();
	case OBJ_TUNNEL: return tunnel_properties(ref->tunnel);
	case OBJ_LINK: return link_properties(ref->link);
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
	DBusMessageIter iter;
	GVariantIter children;
	GVariant *child;
	bool ok = true;

	g_variant_ref_sink(tuple);
	dbus_message_iter_init_append(reply, &iter);
	g_variant_iter_init(&children, tuple);
	while ((child = g_variant_iter_next_value(&children))) {
		ok = ok && rv_dbus_append_variant(&iter, child);
		g_variant_unref(child);
	}
	g_variant_unref(tuple);
	if (!ok) {
		dbus_message_unref(reply);
		return reply_error(conn, msg, DBUS_ERROR_FAILED, "cannot marshal reply");
	}
	return send_and_unref(conn, reply);
}

static DBusHandlerResult reply_empty(DBusConnection *conn, DBusMessage *msg)
{
	return send_and_unref(conn, dbus_message_new_method_return(msg));
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

/* --- authorization ------------------------------------------------------------------- */

static bool uid_in_group(uid_t uid, const char *group_name)
{
	struct passwd *pw = getpwuid(uid);
	struct group *gr = getgrnam(group_name);
	gid_t gid, groups[256];
	int ngroups = G_N_ELEMENTS(groups);

	if (!pw || !gr)
		return false;
	gid = gr->gr_gid;
	if (pw->pw_gid == gid)
		return true;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
		ngroups = G_N_ELEMENTS(groups);	/* truncated: check what we got */
	for (int i = 0; i < ngroups; i++) {
		if (groups[i] == gid)
			return true;
	}
	return false;
}

/* Defense in depth behind the bus policy (data/net.roamvpn1.conf): root, the user
 * the daemon runs as, and members of the admin group may change things. */
static bool caller_may_mutate(DBusConnection *conn, DBusMessage *msg, GError **error)
{
	const char *sender = dbus_message_get_sender(msg);
	const char *group = svc.admin_group ? svc.admin_group : RV_DBUS_GROUP;
	DBusError err;
	unsigned long uid;

	if (!sender) {
		/* Peer-to-peer connection without a bus: only our own uid can reach us. */
		unsigned long peer_uid;

		if (dbus_connection_get_unix_user(conn, &peer_uid) &&
		    (peer_uid == 0 || peer_uid == (unsigned long)geteuid()))
			return true;
		g_set_error(error, RV_ERROR, RV_ERROR_PERMISSION, "caller's identity unknown");
		return false;
	}
	dbus_error_init(&err);
	/* A short blocking round trip to the bus; only mutating calls pay for it. */
	uid = dbus_bus_get_unix_user(conn, sender, &err);
	if (uid == (unsigned long)-1) {
		g_set_error(error, RV_ERROR, RV_ERROR_PERMISSION, "cannot identify caller: %s",
			    dbus_error_is_set(&err) ? err.message : "unknown");
		dbus_error_free(&err);
		return false;
	}
	if (uid == 0 || uid == (unsigned long)geteuid() || uid_in_group((uid_t)uid, group))
		return true;
	g_set_error(error, RV_ERROR, RV_ERROR_PERMISSION,
		    "uid %lu is not allowed to do this (needs root or group %s)", uid, group);
	return false;
}

/* --- Introspectable -------------------------------------------------------------------- */

static void append_child_nodes(GString *xml, enum object_kind kind)
{
	if (kind == OBJ_ROOT) {
		g_string_append(xml, "  <node name=\"");
		g_string_append(xml, "net");
		g_string_append(xml, "\"/>\n");
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
	DBusMessage *reply;

	g_string_append(xml, "  <interface name=\"org.freedesktop.DBus.Introspectable\">\n"
			     "    <method name=\"Introspect\">\n"
			     "      <arg name=\"xml\" type=\"s\" direction=\"out\"/>\n"
			     "    </method>\n"
			     "  </interface>\n");
	if (object_interface(ref->kind)) {
		/* standard_xml repeats Introspectable; skip its first interface. */
		const char *props = strstr(standard_xml, "  <interface name=\"org.freedesktop.DBus.Properties\"");

		g_string_append(xml, props);
		g_string_append(xml, rv_dbus_service_interface_xml(object_interface(ref->kind)));
	}
	if (ref->kind == OBJ_MANAGER)
		g_string_append(xml, object_manager_xml);
	if (g_str_equal(path, "/"))
		g_string_append(xml, "  <node name=\"net\"/>\n");
	else if (g_str_equal(path, "/net"))
		g_string_append(xml, "  <node name=\"roamvpn1\"/>\n");
	else
		append_child_nodes(xml, ref->kind);
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
	const char *iface = NULL, *name = NULL;
	const char *own = object_interface(ref->kind);
	DBusError err;
	g_autoptr(GVariant) props = NULL;
	GVariant *value;

	dbus_error_init(&err);
	if (g_str_equal(member, "GetAll")) {
		if (!dbus_message_get_args(msg, &err, DBUS_TYPE_STRING, &iface, DBUS_TYPE_INVALID))
			goto bad_args;
		if (!own || !g_str_equal(iface, own)) {
			/* Empty dict for interfaces without properties, as the spec asks. */
			if (g_str_equal(iface, PROPERTIES_IFACE) ||
			    g_str_equal(iface, INTROSPECTABLE_IFACE) ||
			    (ref->kind == OBJ_MANAGER && g_str_equal(iface, OBJECT_MANAGER_IFACE)))
				return reply_variant(conn, msg, g_variant_new_parsed("(@a{sv} {},)"));
			return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_INTERFACE, iface);
		}
		props = object_properties(ref);
		return reply_variant(conn, msg, g_variant_new_tuple(&props, 1));
	}
	if (g_str_equal(member, "Get") || g_str_equal(member, "Set")) {
		if (g_str_equal(member, "Get") &&
		    !dbus_message_get_args(msg, &err, DBUS_TYPE_STRING, &iface,
					   DBUS_TYPE_STRING, &name, DBUS_TYPE_INVALID))
			goto bad_args;
		if (g_str_equal(member, "Set")) {
			DBusMessageIter iter;

			/* (ssv): read the two strings, leave the variant. */
			if (!dbus_message_has_signature(msg, "ssv"))
				return reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS,
						   "Set takes (s interface, s name, v value)");
			dbus_message_iter_init(msg, &iter);
			dbus_message_iter_get_basic(&iter, &iface);
			dbus_message_iter_next(&iter);
			dbus_message_iter_get_basic(&iter, &name);
		}
		if (!own || !g_str_equal(iface, own))
			return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_INTERFACE, iface);
		props = object_properties(ref);
		value = g_variant_lookup_value(props, name, NULL);
		if (!value)
			return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_PROPERTY, name);
		if (g_str_equal(member, "Set")) {
			g_variant_unref(value);
			return reply_error(conn, msg, DBUS_ERROR_PROPERTY_READ_ONLY,
					   "all roamvpn properties are read-only");
		}
		{
			DBusHandlerResult r = reply_variant(conn, msg,
				g_variant_new("(@v)", g_variant_new_variant(value)));

			g_variant_unref(value);
			return r;
		}
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

bad_args:
	{
		DBusHandlerResult r = reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, err.message);

		dbus_error_free(&err);
		return r;
	}
}

/* --- ObjectManager --------------------------------------------------------------------- */

static GVariant *interfaces_dict(const char *iface, GVariant *props)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&b, "{s@a{sv}}", iface, props);
	return g_variant_builder_end(&b);
}

static GVariant *managed_objects(void)
{
	GVariantBuilder b;
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	g_autoptr(GPtrArray) links = rv_links_list();

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		g_autofree char *path = rv_dbus_tunnel_path(t->name);
		g_autoptr(GVariant) props = tunnel_properties(t);

		g_variant_builder_add(&b, "{o@a{sa{sv}}}", path,
				      interfaces_dict(RV_DBUS_TUNNEL_IFACE, props));
	}
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		g_autofree char *path = rv_dbus_link_path(l->name);
		g_autoptr(GVariant) props = link_properties(l);

		g_variant_builder_add(&b, "{o@a{sa{sv}}}", path,
				      interfaces_dict(RV_DBUS_LINK_IFACE, props));
	}
	return g_variant_builder_end(&b);
}

/* --- Manager methods ------------------------------------------------------------------- */

static DBusHandlerResult handle_explain(DBusConnection *conn, DBusMessage *msg, const char *ifname)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	GVariantBuilder verdicts;

	text = rv_manager_explain(*ifname ? ifname : NULL, &error);
	if (!text)
		return reply_gerror(conn, msg, error);

	g_variant_builder_init(&verdicts, G_VARIANT_TYPE("a(sbs)"));
	if (*ifname) {
		g_autoptr(GPtrArray) list = rv_manager_explain_link(ifname, &error);

		if (!list && error)
			return reply_gerror(conn, msg, error);
		for (guint i = 0; list && i < list->len; i++) {
			const struct rv_verdict *v = list->pdata[i];

			g_variant_builder_add(&verdicts, "(sbs)", or_empty(v->rule),
					      v->matched, or_empty(v->reason));
		}
	}
	return reply_variant(conn, msg, g_variant_new("(sa(sbs))", text, &verdicts));
}

static DBusHandlerResult handle_manager(DBusConnection *conn, DBusMessage *msg)
{
	const char *member = dbus_message_get_member(msg);
	const char *arg1 = NULL, *arg2 = NULL;
	g_autoptr(GError) error = NULL;
	DBusError err;
	int r = 0;

	dbus_error_init(&err);
	if (g_str_equal(member, "Explain")) {
		if (!dbus_message_get_args(msg, &err, DBUS_TYPE_STRING, &arg1, DBUS_TYPE_INVALID))
			goto bad_args;
		return handle_explain(conn, msg, arg1);
	}

	if (g_str_equal(member, "Connect") || g_str_equal(member, "Disconnect")) {
		if (!dbus_message_get_args(msg, &err, DBUS_TYPE_STRING, &arg1, DBUS_TYPE_INVALID))
			goto bad_args;
	} else if (g_str_equal(member, "Hook")) {
		if (!dbus_message_get_args(msg, &err, DBUS_TYPE_STRING, &arg1,
					   DBUS_TYPE_STRING, &arg2, DBUS_TYPE_INVALID))
			goto bad_args;
	} else if (g_str_equal(member, "Reload") || g_str_equal(member, "Pause") ||
		   g_str_equal(member, "Resume")) {
		if (!dbus_message_has_signature(msg, ""))
			return reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, "takes no arguments");
	} else {
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_METHOD, member);
	}

	if (!caller_may_mutate(conn, msg, &error)) {
		g_message("refused %s from %s: %s", member,
			  or_empty(dbus_message_get_sender(msg)), error->message);
		return reply_gerror(conn, msg, error);
	}

	g_debug("%s(%s%s%s) from %s", member, or_empty(arg1), arg2 ? ", " : "", or_empty(arg2),
		or_empty(dbus_message_get_sender(msg)));
	if (g_str_equal(member, "Connect"))
		r = rv_manager_connect(arg1, &error);
	else if (g_str_equal(member, "Disconnect"))
		r = rv_manager_disconnect(arg1, &error);
	else if (g_str_equal(member, "Hook"))
		r = rv_manager_hook(arg1, arg2, &error);
	else if (g_str_equal(member, "Reload"))
		r = rv_manager_reload(&error);
	else if (g_str_equal(member, "Pause"))
		rv_manager_pause();
	else if (g_str_equal(member, "Resume"))
		rv_manager_resume();

	if (r < 0) {
		if (!error)
			g_set_error(&error, RV_ERROR, RV_ERROR_FAILED, "%s failed: %s", member,
				    g_strerror(-r));
		return reply_gerror(conn, msg, error);
	}
	return reply_empty(conn, msg);

bad_args:
	{
		DBusHandlerResult res = reply_error(conn, msg, DBUS_ERROR_INVALID_ARGS, err.message);

		dbus_error_free(&err);
		return res;
	}
}

/* --- dispatch ------------------------------------------------------------------------ */

static DBusHandlerResult handle_message(DBusConnection *conn, DBusMessage *msg, void *user_data)
{
	const char *path = dbus_message_get_path(msg);
	const char *iface = dbus_message_get_interface(msg);
	const char *member = dbus_message_get_member(msg);
	struct object_ref ref;

	if (dbus_message_get_type(msg) != DBUS_MESSAGE_TYPE_METHOD_CALL || !path || !member)
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;

	ref = resolve_path(path);
	if (ref.kind == OBJ_NONE)
		return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_OBJECT, path);

	if ((!iface || g_str_equal(iface, INTROSPECTABLE_IFACE)) && g_str_equal(member, "Introspect"))
		return handle_introspect(conn, msg, &ref, path);

	if (iface && g_str_equal(iface, PROPERTIES_IFACE) && object_interface(ref.kind))
		return handle_properties(conn, msg, &ref);

	if (ref.kind == OBJ_MANAGER && (!iface || g_str_equal(iface, OBJECT_MANAGER_IFACE)) &&
	    g_str_equal(member, "GetManagedObjects")) {
		g_autoptr(GVariant) objects = g_variant_ref_sink(managed_objects());

		return reply_variant(conn, msg, g_variant_new_tuple(&objects, 1));
	}

	if (ref.kind == OBJ_MANAGER && (!iface || g_str_equal(iface, RV_DBUS_MANAGER_IFACE)))
		return handle_manager(conn, msg);

	return reply_error(conn, msg, DBUS_ERROR_UNKNOWN_METHOD, member);
}

static const DBusObjectPathVTable vtable = {
	.message_function = handle_message,
};

/* --- change tracking ----------------------------------------------------------------- */

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
	g_autoptr(GVariant) props = manager_properties();
	g_autofree char *changes = announce_changes(RV_DBUS_PATH, RV_DBUS_MANAGER_IFACE, props);

	if (changes)
		emit_event("manager-changed", RV_DBUS_PATH, changes);
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

static void link_event(enum rv_event_kind kind, const struct rv_link *link)
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
		return;
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
		return;
	}
	changes = announce_changes(path, RV_DBUS_LINK_IFACE, props);
	if (changes)
		emit_event("link-changed", path, changes);
}

static void tunnel_event(enum rv_event_kind kind, const struct rv_tunnel *tunnel)
{
	const char *old_path = g_hash_table_lookup(svc.tunnel_paths, tunnel->name);
	g_autofree char *path = rv_dbus_tunnel_path(tunnel->name);
	g_autoptr(GVariant) props = NULL;
	g_autofree char *changes = NULL;

	if (kind == RV_EVENT_TUNNEL_REMOVED) {
		if (old_path) {
			object_removed("tunnel-removed", old_path, RV_DBUS_TUNNEL_IFACE);
			g_hash_table_remove(svc.tunnel_paths, tunnel->name);
		}
		return;
	}
	props = tunnel_properties(tunnel);
	if (!old_path) {
		g_hash_table_insert(svc.tunnel_paths, g_strdup(tunnel->name), g_strdup(path));
		object_added("tunnel-added", path, RV_DBUS_TUNNEL_IFACE, props);
		return;
	}
	changes = announce_changes(path, RV_DBUS_TUNNEL_IFACE, props);
	if (changes)
		emit_event("tunnel-changed", path, changes);
}

static void on_core_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	switch (kind) {
	case RV_EVENT_LINK_ADDED:
	case RV_EVENT_LINK_CHANGED:
	case RV_EVENT_LINK_REMOVED:
		if (object)
			link_event(kind, object);
		break;
	case RV_EVENT_DECISION_CHANGED:
		if (object)
			link_event(RV_EVENT_LINK_CHANGED, object);
		break;
	case RV_EVENT_TUNNEL_ADDED:
	case RV_EVENT_TUNNEL_CHANGED:
	case RV_EVENT_TUNNEL_REMOVED:
		if (object)
			tunnel_event(kind, object);
		break;
	case RV_EVENT_MANAGER_CHANGED:
		break;
	}
	/* Tunnels, Links, State and Paused live on the manager: check it every time. */
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

/* --- init / exit --------------------------------------------------------------------- */

static const char *const registered_paths[] = { "/", "/net", RV_DBUS_PATH };
static const char *const fallback_paths[] = { RV_DBUS_TUNNEL_PREFIX, RV_DBUS_LINK_PREFIX };

int rv_dbus_service_init(DBusConnection *conn, GError **error)
{
	DBusError err;
	int r;

	g_return_val_if_fail(!svc.conn, -EALREADY);
	svc.conn = dbus_connection_ref(conn);
	svc.announced = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      (GDestroyNotify)g_hash_table_unref);
	svc.link_paths = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	svc.tunnel_paths = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	snapshot_all();

	for (gsize i = 0; i < G_N_ELEMENTS(registered_paths); i++)
		dbus_connection_register_object_path(conn, registered_paths[i], &vtable, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(fallback_paths); i++)
		dbus_connection_register_fallback(conn, fallback_paths[i], &vtable, NULL);
	svc.events_id = rv_events_subscribe(on_core_event, NULL);

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
	if (svc.events_id)
		rv_events_unsubscribe(svc.events_id);
	svc.events_id = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(registered_paths); i++)
		dbus_connection_unregister_object_path(svc.conn, registered_paths[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(fallback_paths); i++)
		dbus_connection_unregister_object_path(svc.conn, fallback_paths[i]);
	if (dbus_connection_get_is_connected(svc.conn))
		dbus_bus_release_name(svc.conn, RV_DBUS_NAME, NULL);
	g_clear_pointer(&svc.announced, g_hash_table_unref);
	g_clear_pointer(&svc.link_paths, g_hash_table_unref);
	g_clear_pointer(&svc.tunnel_paths, g_hash_table_unref);
	dbus_connection_unref(svc.conn);
	svc.conn = NULL;
	g_clear_pointer(&svc.admin_group, g_free);
}

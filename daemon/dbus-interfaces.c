/* dbus-interfaces.c - net.roamvpn1.Manager, .Tunnel and .Link, each declared once.
 *
 * One table per interface (dbus-table.h): every method with its arguments, who may
 * call it and its handler; every property with its type and getter; every signal.
 * dbus-service.c serves them, dbus-xml.c writes data/net.roamvpn1.*.xml from them.
 * To add a property: a getter below and one line in its table (and a paragraph in
 * docs/<interface>-api.txt). Getters read the model and never keep pointers into it.
 */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>
#include <linux/if.h>

#include "backend.h"
#include "dbus-mainloop.h"
#include "dbus-interfaces.h"
#include "error.h"
#include "link.h"
#include "manager.h"
#include "policy.h"
#include "ssid.h"
#include "tunnel.h"

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

/* --- value helpers ------------------------------------------------------------------- */

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

/* Interface names and the like are the kernel's bytes, not always UTF-8. */
static GVariant *string(const char *s)
{
	if (s && !g_utf8_validate(s, -1, NULL)) {
		g_autofree char *text = rv_text_escape(s);

		return g_variant_new_string(text);
	}
	return g_variant_new_string(or_empty(s));
}

/* Whether string(s) would equal value, without building it: false (build and
 * compare) for the rare name that string() escapes. */
static bool same_string(const char *s, GVariant *value)
{
	if (s && !g_utf8_validate(s, -1, NULL))
		return false;
	return g_str_equal(or_empty(s), g_variant_get_string(value, NULL));
}

static GVariant *usec(gint64 t)
{
	return g_variant_new_uint64(t > 0 ? (guint64)t : 0);
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

/* --- net.roamvpn1.Manager (docs/manager-api.txt) ------------------------------------- */

static GVariant *mgr_state(const void *o) { return string(rv_manager_state()); }
static GVariant *mgr_paused(const void *o) { return g_variant_new_boolean(rv_manager_is_paused()); }
static GVariant *mgr_dns_method(const void *o) { return string(rv_manager_dns_method()); }

static GVariant *mgr_tunnels(const void *o)
{
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		g_autofree char *path = rv_dbus_tunnel_path(t->name);

		g_variant_builder_add(&b, "o", path);
	}
	return g_variant_builder_end(&b);
}

static GVariant *mgr_links(const void *o)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		g_autofree char *path = rv_dbus_link_path(l->name);

		g_variant_builder_add(&b, "o", path);
	}
	return g_variant_builder_end(&b);
}

static GVariant *done_or_error(int r, const char *what, GError **error)
{
	if (r >= 0)
		return g_variant_new("()");
	if (error && !*error)
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "%s failed: %s", what, g_strerror(-r));
	return NULL;
}

static GVariant *m_connect(const void *o, GVariant *args, GError **error)
{
	const char *tunnel;

	g_variant_get(args, "(&s)", &tunnel);
	return done_or_error(rv_manager_connect(tunnel, error), "Connect", error);
}

static GVariant *m_disconnect(const void *o, GVariant *args, GError **error)
{
	const char *tunnel;

	g_variant_get(args, "(&s)", &tunnel);
	return done_or_error(rv_manager_disconnect(tunnel, error), "Disconnect", error);
}

static GVariant *m_reload(const void *o, GVariant *args, GError **error)
{
	return done_or_error(rv_manager_reload(error), "Reload", error);
}

static GVariant *m_pause(const void *o, GVariant *args, GError **error)
{
	rv_manager_pause();
	return g_variant_new("()");
}

static GVariant *m_resume(const void *o, GVariant *args, GError **error)
{
	rv_manager_resume();
	return g_variant_new("()");
}

static GVariant *m_hook(const void *o, GVariant *args, GError **error)
{
	const char *event, *ifname;

	g_variant_get(args, "(&s&s)", &event, &ifname);
	return done_or_error(rv_manager_hook(event, ifname, error), "Hook", error);
}

static GVariant *m_explain(const void *o, GVariant *args, GError **error)
{
	g_autofree char *text = NULL;
	GVariantBuilder verdicts;
	const char *ifname;

	g_variant_get(args, "(&s)", &ifname);
	text = rv_manager_explain(*ifname ? ifname : NULL, error);
	if (!text)
		return NULL;
	g_variant_builder_init(&verdicts, G_VARIANT_TYPE("a(sbs)"));
	if (*ifname) {
		g_autoptr(GPtrArray) list = rv_manager_explain_link(ifname, error);

		if (!list && error && *error) {
			g_variant_builder_clear(&verdicts);
			return NULL;
		}
		for (guint i = 0; list && i < list->len; i++) {
			const struct rv_verdict *v = list->pdata[i];

			g_variant_builder_add(&verdicts, "(sbs)", or_empty(v->rule),
					      v->matched, or_empty(v->reason));
		}
	}
	return g_variant_new("(sa(sbs))", text, &verdicts);
}

/* The captive portal's login window (portal.h); answers its length in seconds. */
static GVariant *m_open_portal(const void *o, GVariant *args, GError **error)
{
	const char *ifname;
	int r;

	g_variant_get(args, "(&s)", &ifname);
	r = rv_manager_open_portal(ifname, error);
	if (r < 0)
		return done_or_error(r, "OpenPortal", error);
	return g_variant_new("(u)", (guint32)r);
}

/* An address other than link-local (fe80::/10, 169.254/16): the link is on a
 * network someone configured, not only up. */
static bool has_configured_address(const struct rv_link *l)
{
	for (guint i = 0; l->addresses && i < l->addresses->len; i++) {
		g_autofree char *text = g_strdup(l->addresses->pdata[i]);
		char *slash = strchr(text, '/');
		guint8 a[16];

		if (slash)
			*slash = '\0';
		if (inet_pton(AF_INET, text, a) == 1 && !(a[0] == 169 && a[1] == 254))
			return true;
		if (inet_pton(AF_INET6, text, a) == 1 && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
			return true;
	}
	return false;
}

/* The links a person's status is about: those the rules or the VPN touch (a
 * matched rule, a kill switch, a portal check, a tunnel's device), Wi-Fi, and
 * active links on a network (a default route or an address that is not
 * link-local). A container host's thousands of veths and bridge ports have none
 * of these: for a summary they are noise and their properties were most of the
 * reply; `links` lists them all. */
static bool link_in_status(const struct rv_link *l, GHashTable *tunnel_devices)
{
	const struct rv_decision *d = rv_manager_link_decision(l->ifindex);

	return (d && d->rule) || (l->type && g_str_equal(l->type, "wlan")) ||
	       (rv_link_is_active(l) && (l->gateway || has_configured_address(l))) ||
	       *rv_manager_link_kill_switch(l->name, NULL) ||
	       *rv_manager_link_portal(l->name, NULL) ||
	       g_hash_table_contains(tunnel_devices, l->name);
}

static void add_object(GVariantBuilder *b, const char *path, const struct rv_dbus_interface *iface,
		       const void *object)
{
	g_autoptr(GVariant) props = rv_dbus_properties(iface, object);	/* not floating */
	GVariantBuilder ifaces;

	g_variant_builder_init(&ifaces, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&ifaces, "{s@a{sv}}", iface->name, props);
	g_variant_builder_add(b, "{o@a{sa{sv}}}", path, g_variant_builder_end(&ifaces));
}

/* GetStatus: every tunnel and the links link_in_status() picks, shaped like
 * GetManagedObjects, and how many links there are in all. */
static GVariant *m_get_status(const void *o, GVariant *args, GError **error)
{
	g_autoptr(GPtrArray) tunnels = rv_manager_tunnels();
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GHashTable) devices = g_hash_table_new(g_str_hash, g_str_equal);
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	for (guint i = 0; tunnels && i < tunnels->len; i++) {
		const struct rv_tunnel *t = tunnels->pdata[i];
		g_autofree char *path = rv_dbus_tunnel_path(t->name);
		const char *dev = t->net && t->net->ifname ? t->net->ifname
							   : t->config ? t->config->interface : NULL;

		if (dev)
			g_hash_table_add(devices, (gpointer)dev);
		add_object(&b, path, &rv_dbus_tunnel_iface, t);
	}
	for (guint i = 0; links && i < links->len; i++) {
		const struct rv_link *l = links->pdata[i];
		g_autofree char *path = NULL;

		if (!link_in_status(l, devices))
			continue;
		path = rv_dbus_link_path(l->name);
		add_object(&b, path, &rv_dbus_link_iface, l);
	}
	return g_variant_new("(a{oa{sa{sv}}}u)", &b, links ? links->len : 0);
}

const struct rv_dbus_interface rv_dbus_manager_iface = {
	.name = RV_DBUS_MANAGER_IFACE,
	.methods = (const struct rv_dbus_method[]){
		{ "Connect", "s tunnel", "", RV_AUTH_CONTROL, m_connect },
		{ "Disconnect", "s tunnel", "", RV_AUTH_CONTROL, m_disconnect },
		{ "Reload", "", "", RV_AUTH_RELOAD, m_reload },
		{ "Explain", "s interface", "s text, a(sbs) verdicts", RV_AUTH_ANYONE, m_explain },
		{ "GetStatus", "", "a{oa{sa{sv}}} objects, u links", RV_AUTH_ANYONE, m_get_status },
		{ "Pause", "", "", RV_AUTH_CONTROL, m_pause },
		{ "Resume", "", "", RV_AUTH_CONTROL, m_resume },
		{ "OpenPortal", "s interface", "u seconds", RV_AUTH_CONTROL, m_open_portal },
		/* netifrc and dispatcher scripts, as root: no polkit action for people. */
		{ "Hook", "s event, s interface", "", RV_AUTH_ADMIN, m_hook },
		{ NULL },
	},
	.signals = (const struct rv_dbus_signal[]){
		{ "Event", "s kind, s object, s message" },
		{ NULL },
	},
	.properties = (const struct rv_dbus_property[]){
		{ "State", "s", mgr_state, NULL },
		{ "Paused", "b", mgr_paused, NULL },
		{ "DNSMethod", "s", mgr_dns_method, NULL },
		{ "Tunnels", "ao", mgr_tunnels, NULL },
		{ "Links", "ao", mgr_links, NULL },
		{ NULL },
	},
};

/* --- net.roamvpn1.Tunnel (docs/tunnel-api.txt) -------------------------------------- */

#define TUNNEL(o) ((const struct rv_tunnel *)(o))

static GVariant *t_name(const void *o) { return string(TUNNEL(o)->name); }
static GVariant *t_state(const void *o) { return string(rv_tunnel_state_name(TUNNEL(o)->state)); }
static GVariant *t_since(const void *o) { return usec(TUNNEL(o)->since); }
static GVariant *t_last_error(const void *o) { return string(TUNNEL(o)->last_error); }
static GVariant *t_triggered_by(const void *o) { return string(TUNNEL(o)->triggered_by); }
/* The backend made it valid UTF-8 (vpnc's CISCO_BANNER is untrusted bytes). */
static GVariant *t_banner(const void *o)
{
	return string(TUNNEL(o)->net ? TUNNEL(o)->net->banner : NULL);
}
static GVariant *t_rx_bytes(const void *o) { return g_variant_new_uint64(TUNNEL(o)->rx_bytes); }
static GVariant *t_tx_bytes(const void *o) { return g_variant_new_uint64(TUNNEL(o)->tx_bytes); }
static GVariant *t_last_handshake(const void *o) { return usec(TUNNEL(o)->last_handshake); }

static GVariant *t_backend(const void *o)
{
	const struct rv_tunnel *t = o;

	return string(t->backend ? t->backend->name : t->config ? t->config->backend : NULL);
}

static GVariant *t_interface(const void *o)
{
	const struct rv_tunnel *t = o;

	return string(t->net && t->net->ifname ? t->net->ifname
					       : t->config ? t->config->interface : NULL);
}

static GVariant *t_addresses(const void *o)
{
	return ptr_array_strv_variant(TUNNEL(o)->net ? TUNNEL(o)->net->addresses : NULL);
}

/* While up: what is in use (the manager settled "[Tunnel] DNS= wins" when the
 * tunnel came up). Otherwise what is configured. */
static GVariant *t_dns(const void *o)
{
	const struct rv_tunnel *t = o;

	return strv_variant((const char *const *)(t->net ? t->net->dns
						  : t->config ? t->config->dns : NULL));
}

static GVariant *t_domains(const void *o)
{
	const struct rv_tunnel *t = o;

	return strv_variant((const char *const *)(t->net ? t->net->domains
						  : t->config ? t->config->domains : NULL));
}

const struct rv_dbus_interface rv_dbus_tunnel_iface = {
	.name = RV_DBUS_TUNNEL_IFACE,
	.properties = (const struct rv_dbus_property[]){
		{ "Name", "s", t_name, NULL },
		{ "State", "s", t_state, NULL },
		{ "Backend", "s", t_backend, NULL },
		{ "Interface", "s", t_interface, NULL },
		{ "Addresses", "as", t_addresses, NULL },
		{ "DNS", "as", t_dns, NULL },
		{ "Domains", "as", t_domains, NULL },
		{ "Since", "t", t_since, NULL },
		{ "LastError", "s", t_last_error, NULL },
		{ "TriggeredBy", "s", t_triggered_by, NULL },
		{ "Banner", "s", t_banner, NULL },
		{ "RxBytes", "t", t_rx_bytes, NULL },
		{ "TxBytes", "t", t_tx_bytes, NULL },
		{ "LastHandshake", "t", t_last_handshake, NULL },
		{ NULL },
	},
};

/* --- net.roamvpn1.Link (docs/link-api.txt) ------------------------------------------ */

#define LINK(o) ((const struct rv_link *)(o))

static GVariant *l_name(const void *o) { return string(LINK(o)->name); }
static GVariant *l_index(const void *o) { return g_variant_new_int32(LINK(o)->ifindex); }
static GVariant *l_type(const void *o) { return string(LINK(o)->type); }
static GVariant *l_kind(const void *o) { return string(LINK(o)->kind); }
static GVariant *l_carrier(const void *o) { return g_variant_new_boolean(LINK(o)->carrier); }
static GVariant *l_active(const void *o) { return g_variant_new_boolean(rv_link_is_active(LINK(o))); }
static GVariant *l_operstate(const void *o) { return string(operstate_name(LINK(o)->operstate)); }
static GVariant *l_addresses(const void *o) { return ptr_array_strv_variant(LINK(o)->addresses); }
static GVariant *l_wifi_state(const void *o) { return string(rv_link_wifi_state(LINK(o))); }
static GVariant *l_gateway(const void *o) { return string(LINK(o)->gateway); }

static bool l_name_same(const void *o, GVariant *v) { return same_string(LINK(o)->name, v); }
static bool l_index_same(const void *o, GVariant *v) { return g_variant_get_int32(v) == LINK(o)->ifindex; }
static bool l_type_same(const void *o, GVariant *v) { return same_string(LINK(o)->type, v); }
static bool l_kind_same(const void *o, GVariant *v) { return same_string(LINK(o)->kind, v); }
static bool l_carrier_same(const void *o, GVariant *v) { return g_variant_get_boolean(v) == LINK(o)->carrier; }
static bool l_active_same(const void *o, GVariant *v) { return g_variant_get_boolean(v) == rv_link_is_active(LINK(o)); }
static bool l_operstate_same(const void *o, GVariant *v) { return same_string(operstate_name(LINK(o)->operstate), v); }
static bool l_wifi_state_same(const void *o, GVariant *v) { return same_string(rv_link_wifi_state(LINK(o)), v); }
static bool l_gateway_same(const void *o, GVariant *v) { return same_string(LINK(o)->gateway, v); }

static bool l_addresses_same(const void *o, GVariant *v)
{
	GPtrArray *a = LINK(o)->addresses;
	guint n = a ? a->len : 0;

	if (g_variant_n_children(v) != n)
		return false;
	for (guint i = 0; i < n; i++) {
		const char *s = NULL;

		g_variant_get_child(v, i, "&s", &s);
		if (!g_str_equal(s, a->pdata[i]))
			return false;
	}
	return true;
}

/* What the policy decided, kept by the manager (not in the link). */
static GVariant *l_matched_rule(const void *o)
{
	const struct rv_decision *d = rv_manager_link_decision(LINK(o)->ifindex);

	return string(d ? d->rule : NULL);
}

static GVariant *l_decision(const void *o)
{
	const struct rv_decision *d = rv_manager_link_decision(LINK(o)->ifindex);

	return string(d ? d->action : NULL);
}

static bool l_matched_rule_same(const void *o, GVariant *v)
{
	const struct rv_decision *d = rv_manager_link_decision(LINK(o)->ifindex);

	return same_string(d ? d->rule : NULL, v);
}

static bool l_decision_same(const void *o, GVariant *v)
{
	const struct rv_decision *d = rv_manager_link_decision(LINK(o)->ifindex);

	return same_string(d ? d->action : NULL, v);
}

static bool l_kill_switch_same(const void *o, GVariant *v)
{
	return same_string(rv_manager_link_kill_switch(LINK(o)->name, NULL), v);
}

static bool l_portal_same(const void *o, GVariant *v)
{
	return same_string(rv_manager_link_portal(LINK(o)->name, NULL), v);
}

static bool l_portal_url_same(const void *o, GVariant *v)
{
	const char *location = NULL;

	rv_manager_link_portal(LINK(o)->name, &location);
	return same_string(location, v);
}

/* The kill switch (killswitch.h) and the captive portal check (portal.h). */
static GVariant *l_kill_switch(const void *o)
{
	return string(rv_manager_link_kill_switch(LINK(o)->name, NULL));
}

static GVariant *l_kill_switch_reason(const void *o)
{
	g_autofree char *reason = NULL;

	rv_manager_link_kill_switch(LINK(o)->name, &reason);
	return string(reason);
}

static GVariant *l_portal(const void *o)
{
	return string(rv_manager_link_portal(LINK(o)->name, NULL));
}

static GVariant *l_portal_url(const void *o)
{
	const char *location = NULL;

	rv_manager_link_portal(LINK(o)->name, &location);
	return string(location);
}

/* Raw bytes: an SSID is not text (ssid.h). */
static GVariant *l_ssid(const void *o)
{
	gsize n = 0;
	const void *ssid = LINK(o)->ssid ? g_bytes_get_data(LINK(o)->ssid, &n) : NULL;

	return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, ssid, n, 1);
}

static GVariant *l_bssid(const void *o)
{
	g_autofree char *mac = LINK(o)->has_bssid ? rv_mac_to_string(LINK(o)->bssid) : NULL;

	return string(mac);
}

static GVariant *l_gateway_mac(const void *o)
{
	g_autofree char *mac = LINK(o)->has_gateway_mac ? rv_mac_to_string(LINK(o)->gateway_mac)
							: NULL;

	return string(mac);
}

const struct rv_dbus_interface rv_dbus_link_iface = {
	.name = RV_DBUS_LINK_IFACE,
	.properties = (const struct rv_dbus_property[]){
		{ "Name", "s", l_name, l_name_same },
		{ "Index", "i", l_index, l_index_same },
		{ "Type", "s", l_type, l_type_same },
		{ "Kind", "s", l_kind, l_kind_same },
		{ "Carrier", "b", l_carrier, l_carrier_same },
		{ "Active", "b", l_active, l_active_same },
		{ "OperState", "s", l_operstate, l_operstate_same },
		{ "Addresses", "as", l_addresses, l_addresses_same },
		{ "SSID", "ay", l_ssid, NULL },
		{ "BSSID", "s", l_bssid, NULL },
		{ "WifiState", "s", l_wifi_state, l_wifi_state_same },
		{ "Gateway", "s", l_gateway, l_gateway_same },
		{ "GatewayMAC", "s", l_gateway_mac, NULL },
		{ "MatchedRule", "s", l_matched_rule, l_matched_rule_same },
		{ "Decision", "s", l_decision, l_decision_same },
		{ "KillSwitch", "s", l_kill_switch, l_kill_switch_same },
		{ "KillSwitchReason", "s", l_kill_switch_reason, NULL },
		{ "Portal", "s", l_portal, l_portal_same },
		{ "PortalURL", "s", l_portal_url, l_portal_url_same },
		{ NULL },
	},
};

const struct rv_dbus_interface *const rv_dbus_interfaces[] = {
	&rv_dbus_manager_iface, &rv_dbus_tunnel_iface, &rv_dbus_link_iface, NULL,
};

/* backend-builtin-config.c - the builtin backend's parse(): wg-quick's [Interface]
 * and [Peer] sections into a struct rv_wg_config, with line-numbered errors.
 *
 * One parser for a plain wg-quick file (as VPN providers ship them) and for a
 * [Tunnel] Backend=builtin file carrying the same sections; --check and start()
 * both use it, so a value --check accepts is the value the engine gets. wg-quick's
 * DNS= is split as wg-quick does: addresses are servers, the rest search domains.
 * The keys are one table (wg_keys, applied per section by rv_ini_apply_section,
 * case-insensitive as wg-quick is); a [Peer] fills its own struct. Keys are never
 * echoed (they are secrets); other values are.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "backend-builtin.h"
#include "ini.h"
#include "str-list.h"
#include "validate.h"

#define WG_KEY_LEN 32

/* A WireGuard key: exactly the base64 of 32 bytes. g_base64_decode() skips
 * garbage, so a key is accepted only if it re-encodes to the very same text. */
static bool wg_key_valid(const char *text)
{
	g_autofree guchar *raw = NULL;
	g_autofree char *again = NULL;
	gsize len = 0;
	bool valid = false;

	if (strlen(text) != 44)
		return false;
	raw = g_base64_decode(text, &len);
	if (len == WG_KEY_LEN) {
		again = g_base64_encode(raw, len);
		valid = g_str_equal(again, text);
		explicit_bzero(again, strlen(again));
	}
	/* A decoded private key must not linger in freed heap. */
	explicit_bzero(raw, len);
	return valid;
}

static void peer_free(gpointer data)
{
	struct rv_wg_peer *p = data;

	g_free(p->public_key);
	if (p->preshared_key) {
		explicit_bzero(p->preshared_key, strlen(p->preshared_key));
		g_free(p->preshared_key);
	}
	g_free(p->endpoint_host);
	g_ptr_array_unref(p->allowed_ips);
	g_free(p);
}

void rv_wg_config_free(struct rv_wg_config *wg)
{
	if (!wg)
		return;
	g_free(wg->ifname);
	if (wg->private_key) {
		explicit_bzero(wg->private_key, strlen(wg->private_key));
		g_free(wg->private_key);
	}
	g_ptr_array_unref(wg->addresses);
	g_ptr_array_unref(wg->peers);
	g_free(wg);
}

bool rv_wg_config_equal(const struct rv_wg_config *a, const struct rv_wg_config *b)
{
	if (g_strcmp0(a->ifname, b->ifname) || g_strcmp0(a->private_key, b->private_key) ||
	    a->mtu != b->mtu || a->listen_port != b->listen_port || a->fwmark != b->fwmark ||
	    a->table_off != b->table_off || !rv_str_array_equal(a->addresses, b->addresses) ||
	    a->peers->len != b->peers->len)
		return false;
	for (guint i = 0; i < a->peers->len; i++) {
		const struct rv_wg_peer *pa = g_ptr_array_index(a->peers, i);
		const struct rv_wg_peer *pb = g_ptr_array_index(b->peers, i);

		if (g_strcmp0(pa->public_key, pb->public_key) ||
		    g_strcmp0(pa->preshared_key, pb->preshared_key) ||
		    g_strcmp0(pa->endpoint_host, pb->endpoint_host) ||
		    pa->endpoint_port != pb->endpoint_port || pa->keepalive != pb->keepalive ||
		    !rv_str_array_equal(pa->allowed_ips, pb->allowed_ips))
			return false;
	}
	return true;
}

/* --- values ------------------------------------------------------------------- */

/* [Interface] fills the config and, for DNS=, two lists merged into [Tunnel]'s. */
struct interface_parse {
	struct rv_wg_config wg;
	GStrvBuilder *dns, *domains;
};

/* An item of Address= or AllowedIPs= (field: GPtrArray * of char *). */
static bool parse_cidr(const struct rv_ini_value *v, void *field)
{
	if (!rv_cidr_valid(v->value)) {
		rv_ini_value_error(v, "%s=: '%s' is not an address or ADDRESS/PREFIX", v->entry->key, v->value);
		return false;
	}
	g_ptr_array_add(*(GPtrArray **)field, g_strdup(v->value));
	return true;
}

/* An item of DNS=, as wg-quick splits it: addresses are servers, anything else a
 * search domain. */
static bool parse_dns(const struct rv_ini_value *v, void *field)
{
	struct interface_parse *p = v->target;
	int family;

	if (rv_ip_valid(v->value, &family))
		g_strv_builder_add(p->dns, v->value);
	else if (rv_domain_valid(v->value))
		g_strv_builder_add(p->domains, v->value);
	else {
		rv_ini_value_error(v, "DNS=: '%s' is neither an address nor a domain", v->value);
		return false;
	}
	return true;
}

/* An int field within the row's rv_ini_uint_range. */
static bool parse_int(const struct rv_ini_value *v, void *field)
{
	const struct rv_ini_uint_range *r = v->key->data;
	guint64 n;

	if (!g_ascii_string_to_unsigned(v->value, 10, 0, r->max, &n, NULL) || n < r->min) {
		rv_ini_value_error(v, "%s=: '%s' is not a number from %" PRIu64 " to %" PRIu64,
				   v->entry->key, v->value, (uint64_t)r->min, (uint64_t)r->max);
		return false;
	}
	*(int *)field = (int)n;
	return true;
}

static const struct rv_ini_uint_range mtu_range = { 576, 65535, NULL };
static const struct rv_ini_uint_range port_range = { 0, 65535, NULL };

static bool parse_keepalive(const struct rv_ini_value *v, void *field)
{
	if (g_ascii_strcasecmp(v->value, "off") == 0)
		return true;
	return parse_int(v, field);
}

/* PrivateKey=, PublicKey=, PresharedKey= (field: char **). */
static bool parse_key(const struct rv_ini_value *v, void *field)
{
	if (wg_key_valid(v->value))
		return rv_ini_parse_string(v, field);
	/* Never echo the value: it may be a (mistyped) private key. */
	rv_ini_value_error(v, "%s= is not a base64-encoded 32-byte key (see wg genkey)", v->entry->key);
	return false;
}

static bool parse_fwmark(const struct rv_ini_value *v, void *field)
{
	bool hex = g_ascii_strncasecmp(v->value, "0x", 2) == 0;
	guint64 n;

	if (g_ascii_strcasecmp(v->value, "off") == 0) {
		*(guint32 *)field = 0;
	} else if (g_ascii_string_to_unsigned(v->value + (hex ? 2 : 0), hex ? 16 : 10, 0, G_MAXUINT32,
					       &n, NULL)) {
		*(guint32 *)field = (guint32)n;
	} else {
		rv_ini_value_error(v, "FwMark=: '%s' is not off or a 32-bit number", v->value);
		return false;
	}
	return true;
}

/* wg-quick: Table=off adds no routes. Other tables are the daemon's choice
 * (routes.c), so only the value's form is checked (field: bool table_off). */
static bool parse_table(const struct rv_ini_value *v, void *field)
{
	guint64 n;
	bool name = v->value[0] != '\0';

	for (const char *c = v->value; *c; c++)
		name = name && (g_ascii_isalnum(*c) || *c == '_' || *c == '-');
	if (!name && !g_ascii_string_to_unsigned(v->value, 10, 0, G_MAXUINT32, &n, NULL)) {
		rv_ini_value_error(v, "Table=: '%s' is not off, auto, a number or a table name", v->value);
		return false;
	}
	*(bool *)field = g_ascii_strcasecmp(v->value, "off") == 0;
	return true;
}

/* Keys wg-quick knows that roamvpn refuses; they set nothing. */
static bool parse_save_config(const struct rv_ini_value *v, void *field)
{
	if (g_ascii_strcasecmp(v->value, "false") == 0)
		return true;
	rv_ini_value_error(v, "SaveConfig=%s: roamvpn never writes tunnel files; remove it", v->value);
	return false;
}

static bool refuse_shell_hook(const struct rv_ini_value *v, void *field)
{
	rv_ini_value_error(v, "%s= is a shell command line and roamvpn never runs those; "
			   "remove it (DNS= and routes are applied by roamvpn, "
			   "or write an exec tunnel)", v->entry->key);
	return false;
}

/* "host:port", "[v6]:port" (field: the peer's endpoint_host; the port beside it). */
static bool parse_endpoint(const struct rv_ini_value *v, void *field)
{
	struct rv_wg_peer *peer = v->target;
	g_autofree char *why = NULL;
	const char *colon;

	if (!rv_endpoint_valid(v->value, &why)) {
		rv_ini_value_error(v, "Endpoint=: '%s' %s", v->value, why);
		return false;
	}
	colon = strrchr(v->value, ':');
	peer->endpoint_port = (guint16)g_ascii_strtoull(colon + 1, NULL, 10);
	g_free(peer->endpoint_host);
	if (v->value[0] == '[')
		peer->endpoint_host = g_strndup(v->value + 1, (gsize)(colon - v->value - 2));
	else
		peer->endpoint_host = g_strndup(v->value, (gsize)(colon - v->value));
	return true;
}

/* --- the keys ------------------------------------------------------------------ */

/* wg-quick compares names case-insensitively (RV_INI_APPLY_CASE_INSENSITIVE).
 * Address=, DNS= and AllowedIPs= are comma lists that may repeat (wg-quick adds
 * them up); every other key is set once. */
#define LIST (RV_INI_LIST | RV_INI_LIST_COMMA | RV_INI_LIST_EMPTY_OK)
#define IFACE(key, parse, field, flags, data) \
	RV_INI_KEY("Interface", key, parse, struct interface_parse, field, flags, data)
#define PEER(key, parse, field, flags, data) \
	RV_INI_KEY("Peer", key, parse, struct rv_wg_peer, field, flags, data)
static const struct rv_ini_key wg_keys[] = {
	IFACE("PrivateKey", parse_key, wg.private_key, RV_INI_ONCE | RV_INI_SECRET | RV_INI_REQUIRED, NULL),
	IFACE("Address", parse_cidr, wg.addresses, LIST, NULL),
	IFACE("DNS", parse_dns, dns, LIST, NULL),
	IFACE("MTU", parse_int, wg.mtu, RV_INI_ONCE, &mtu_range),
	IFACE("ListenPort", parse_int, wg.listen_port, RV_INI_ONCE, &port_range),
	IFACE("FwMark", parse_fwmark, wg.fwmark, RV_INI_ONCE, NULL),
	IFACE("Table", parse_table, wg.table_off, RV_INI_ONCE, NULL),
	IFACE("SaveConfig", parse_save_config, wg, RV_INI_ONCE, NULL),
	IFACE("PreUp", refuse_shell_hook, wg, RV_INI_ONCE, NULL),
	IFACE("PostUp", refuse_shell_hook, wg, RV_INI_ONCE, NULL),
	IFACE("PreDown", refuse_shell_hook, wg, RV_INI_ONCE, NULL),
	IFACE("PostDown", refuse_shell_hook, wg, RV_INI_ONCE, NULL),
	PEER("PublicKey", parse_key, public_key, RV_INI_ONCE | RV_INI_REQUIRED, NULL),
	PEER("PresharedKey", parse_key, preshared_key, RV_INI_ONCE | RV_INI_SECRET, NULL),
	PEER("Endpoint", parse_endpoint, endpoint_host, RV_INI_ONCE, NULL),
	PEER("AllowedIPs", parse_cidr, allowed_ips, LIST, NULL),
	PEER("PersistentKeepalive", parse_keepalive, keepalive, RV_INI_ONCE, &port_range),
	RV_INI_KEYS_END
};
#undef PEER
#undef IFACE
#undef LIST

/* --- sections ----------------------------------------------------------------- */

/* A [Peer]: its keys, then whether its PublicKey= names a peer already defined. */
static bool wg_peer(struct rv_tunnel_config *cfg, struct rv_wg_config *wg,
		    const struct rv_ini_section *s, GHashTable *public_keys, GPtrArray *errors)
{
	struct rv_wg_peer *peer = g_new0(struct rv_wg_peer, 1);
	bool ok;

	peer->allowed_ips = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(wg->peers, peer);
	ok = rv_ini_apply_section(cfg->path, s, wg_keys, peer, RV_INI_APPLY_CASE_INSENSITIVE, errors);
	if (!peer->public_key)
		return ok;
	for (guint i = 0; i < s->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(s->entries, i);

		if (g_ascii_strcasecmp(e->key, "PublicKey") != 0)
			continue;
		if (g_hash_table_contains(public_keys, peer->public_key)) {
			rv_ini_error(errors, cfg->path, e->line,
				     "PublicKey= repeated: this peer is already defined at line %d",
				     GPOINTER_TO_INT(g_hash_table_lookup(public_keys, peer->public_key)));
			return false;
		}
		g_hash_table_insert(public_keys, peer->public_key, GINT_TO_POINTER(e->line));
		break;
	}
	return ok;
}

static char **builder_end_or_null(GStrvBuilder *builder)
{
	char **v = g_strv_builder_end(builder);

	if (v && !v[0]) {
		g_strfreev(v);
		return NULL;
	}
	return v;
}

struct rv_wg_config *rv_wg_config_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	g_autoptr(GStrvBuilder) dns = g_strv_builder_new();
	g_autoptr(GStrvBuilder) domains = g_strv_builder_new();
	g_autoptr(GHashTable) public_keys = g_hash_table_new(g_str_hash, g_str_equal);
	const struct rv_ini_section *interface = NULL;
	struct interface_parse p = { .dns = dns, .domains = domains };
	struct rv_wg_config *wg = &p.wg;
	bool ok = true;

	wg->ifname = g_strdup(cfg->interface ? cfg->interface : cfg->name);
	wg->addresses = g_ptr_array_new_with_free_func(g_free);
	wg->peers = g_ptr_array_new_with_free_func(peer_free);
	wg->mtu = RV_WG_DEFAULT_MTU;
	wg->fwmark = RV_ENGINE_FWMARK;

	for (guint i = 0; i < cfg->ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(cfg->ini->sections, i);

		if (!cfg->wg_quick && g_str_equal(s->name, "Tunnel"))
			continue;
		if (g_ascii_strcasecmp(s->name, "Interface") == 0) {
			if (interface) {
				rv_ini_error(errors, cfg->path, s->line,
					     "[Interface] repeated (first at line %d)", interface->line);
				ok = false;
				continue;
			}
			interface = s;
			ok = rv_ini_apply_section(cfg->path, s, wg_keys, &p, RV_INI_APPLY_CASE_INSENSITIVE,
						  errors) && ok;
		} else if (g_ascii_strcasecmp(s->name, "Peer") == 0) {
			ok = wg_peer(cfg, wg, s, public_keys, errors) && ok;
		} else if (cfg->wg_quick) {
			rv_ini_error(errors, cfg->path, s->line,
				     "unknown section [%s] (a wg-quick file has [Interface] and [Peer]; "
				     "other backends need [Tunnel])", s->name);
			ok = false;
		} else {
			rv_ini_error(errors, cfg->path, s->line,
				     "unknown section [%s] for Backend=builtin ([Interface] and [Peer])",
				     s->name);
			ok = false;
		}
	}
	if (!interface) {
		if (cfg->wg_quick)
			rv_ini_error(errors, cfg->path, 1,
				     "neither [Tunnel] nor [Interface]: not a tunnel file (see docs/tunnels.md)");
		else
			rv_ini_error(errors, cfg->path, 0,
				     "Backend=builtin needs an [Interface] section with PrivateKey= "
				     "(as in wg-quick files)");
		ok = false;
	}
	/* [Tunnel] DNS=/Domains= win over wg-quick's DNS=. */
	if (!cfg->dns)
		cfg->dns = builder_end_or_null(dns);
	if (!cfg->domains)
		cfg->domains = builder_end_or_null(domains);
	/* The parsed config outlives this frame; the builders do not. */
	wg = g_memdup2(&p.wg, sizeof(p.wg));
	if (!ok) {
		rv_wg_config_free(wg);
		return NULL;
	}
	return wg;
}

/* backend-builtin-config.c - the builtin backend's parse(): wg-quick's [Interface]
 * and [Peer] sections into a struct rv_wg_config, with line-numbered errors.
 *
 * One parser for a plain wg-quick file (as VPN providers ship them) and for a
 * [Tunnel] Backend=builtin file carrying the same sections; --check and start()
 * both use it, so a value --check accepts is the value the engine gets. wg-quick's
 * DNS= is split as wg-quick does: addresses are servers, the rest search domains.
 * Keys are never echoed (they are secrets); other values are.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "backend-builtin.h"
#include "ini.h"
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

static bool strv_array_equal(const GPtrArray *a, const GPtrArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++)
		if (!g_str_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
			return false;
	return true;
}

bool rv_wg_config_equal(const struct rv_wg_config *a, const struct rv_wg_config *b)
{
	if (g_strcmp0(a->ifname, b->ifname) || g_strcmp0(a->private_key, b->private_key) ||
	    a->mtu != b->mtu || a->listen_port != b->listen_port || a->fwmark != b->fwmark ||
	    a->table_off != b->table_off || !strv_array_equal(a->addresses, b->addresses) ||
	    a->peers->len != b->peers->len)
		return false;
	for (guint i = 0; i < a->peers->len; i++) {
		const struct rv_wg_peer *pa = g_ptr_array_index(a->peers, i);
		const struct rv_wg_peer *pb = g_ptr_array_index(b->peers, i);

		if (g_strcmp0(pa->public_key, pb->public_key) ||
		    g_strcmp0(pa->preshared_key, pb->preshared_key) ||
		    g_strcmp0(pa->endpoint_host, pb->endpoint_host) ||
		    pa->endpoint_port != pb->endpoint_port || pa->keepalive != pb->keepalive ||
		    !strv_array_equal(pa->allowed_ips, pb->allowed_ips))
			return false;
	}
	return true;
}

/* --- values ------------------------------------------------------------------- */

static bool key_is(const struct rv_ini_entry *e, const char *name)
{
	return g_ascii_strcasecmp(e->key, name) == 0;
}

static bool parse_cidr_list(const char *path, const struct rv_ini_entry *e, GPtrArray *out,
			    GPtrArray *errors)
{
	g_auto(GStrv) items = rv_split_list(e->value, ",");
	bool ok = true;

	for (int i = 0; items[i]; i++) {
		if (!rv_cidr_valid(items[i])) {
			rv_ini_error(errors, path, e->line,
				     "%s=: '%s' is not an address or ADDRESS/PREFIX", e->key, items[i]);
			ok = false;
			continue;
		}
		g_ptr_array_add(out, g_strdup(items[i]));
	}
	return ok;
}

static bool parse_int(const char *path, const struct rv_ini_entry *e, guint64 min, guint64 max,
		      int *out, GPtrArray *errors)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(e->value, 10, 0, max, &v, NULL) || v < min) {
		rv_ini_error(errors, path, e->line, "%s=: '%s' is not a number from %" PRIu64
			     " to %" PRIu64, e->key, e->value, (uint64_t)min, (uint64_t)max);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool parse_key(const char *path, const struct rv_ini_entry *e, char **out, GPtrArray *errors)
{
	if (wg_key_valid(e->value)) {
		*out = g_strdup(e->value);
		return true;
	}
	/* Never echo the value: it may be a (mistyped) private key. */
	rv_ini_error(errors, path, e->line, "%s= is not a base64-encoded 32-byte key (see wg genkey)",
		     e->key);
	return false;
}

/* "host:port", "[v6]:port", already validated by rv_endpoint_valid(). */
static void split_endpoint(const char *text, char **host, guint16 *port)
{
	const char *colon = strrchr(text, ':');

	*port = (guint16)g_ascii_strtoull(colon + 1, NULL, 10);
	if (text[0] == '[')
		*host = g_strndup(text + 1, (gsize)(colon - text - 2));
	else
		*host = g_strndup(text, (gsize)(colon - text));
}

/* --- sections ----------------------------------------------------------------- */

static bool wg_interface(struct rv_tunnel_config *cfg, struct rv_wg_config *wg,
			 const struct rv_ini_section *s, GStrvBuilder *dns, GStrvBuilder *domains,
			 GPtrArray *errors)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	const char *path = cfg->path;
	bool ok = true;

	for (guint i = 0; i < s->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(s->entries, i);

		if (key_is(e, "Address")) {
			ok = parse_cidr_list(path, e, wg->addresses, errors) && ok;
		} else if (key_is(e, "DNS")) {
			/* As wg-quick: addresses are servers, anything else a search domain. */
			g_auto(GStrv) items = rv_split_list(e->value, ",");
			int family;

			for (int j = 0; items[j]; j++) {
				if (rv_ip_valid(items[j], &family))
					g_strv_builder_add(dns, items[j]);
				else if (rv_domain_valid(items[j]))
					g_strv_builder_add(domains, items[j]);
				else {
					rv_ini_error(errors, path, e->line,
						     "DNS=: '%s' is neither an address nor a domain", items[j]);
					ok = false;
				}
			}
		} else if (!rv_key_once(seen, path, e, errors)) {
			ok = false;
		} else if (key_is(e, "PrivateKey")) {
			ok = parse_key(path, e, &wg->private_key, errors) && ok;
		} else if (key_is(e, "MTU")) {
			ok = parse_int(path, e, 576, 65535, &wg->mtu, errors) && ok;
		} else if (key_is(e, "ListenPort")) {
			ok = parse_int(path, e, 0, 65535, &wg->listen_port, errors) && ok;
		} else if (key_is(e, "FwMark")) {
			bool hex = g_ascii_strncasecmp(e->value, "0x", 2) == 0;
			guint64 v;

			if (g_ascii_strcasecmp(e->value, "off") == 0) {
				wg->fwmark = 0;
			} else if (g_ascii_string_to_unsigned(e->value + (hex ? 2 : 0), hex ? 16 : 10, 0,
							       G_MAXUINT32, &v, NULL)) {
				wg->fwmark = (guint32)v;
			} else {
				rv_ini_error(errors, path, e->line,
					     "FwMark=: '%s' is not off or a 32-bit number", e->value);
				ok = false;
			}
		} else if (key_is(e, "Table")) {
			guint64 v;
			bool name = e->value[0] != '\0';

			for (const char *c = e->value; *c; c++)
				name = name && (g_ascii_isalnum(*c) || *c == '_' || *c == '-');
			if (!name && !g_ascii_string_to_unsigned(e->value, 10, 0, G_MAXUINT32, &v, NULL)) {
				rv_ini_error(errors, path, e->line,
					     "Table=: '%s' is not off, auto, a number or a table name",
					     e->value);
				ok = false;
			}
			/* wg-quick: Table=off adds no routes. Other tables are the daemon's
			 * choice (routes.c). */
			wg->table_off = g_ascii_strcasecmp(e->value, "off") == 0;
		} else if (key_is(e, "SaveConfig")) {
			if (g_ascii_strcasecmp(e->value, "false") != 0) {
				rv_ini_error(errors, path, e->line,
					     "SaveConfig=%s: roamvpn never writes tunnel files; remove it",
					     e->value);
				ok = false;
			}
		} else if (key_is(e, "PreUp") || key_is(e, "PostUp") || key_is(e, "PreDown") ||
			   key_is(e, "PostDown")) {
			rv_ini_error(errors, path, e->line,
				     "%s= is a shell command line and roamvpn never runs those; "
				     "remove it (DNS= and routes are applied by roamvpn, "
				     "or write an exec tunnel)", e->key);
			ok = false;
		} else {
			rv_ini_unknown_key(errors, path, e, "Interface", NULL);
			ok = false;
		}
	}
	if (!wg->private_key && !g_hash_table_contains(seen, "privatekey")) {
		rv_ini_error(errors, path, s->line, "[Interface] has no PrivateKey=");
		ok = false;
	}
	return ok;
}

static bool wg_peer(struct rv_tunnel_config *cfg, struct rv_wg_config *wg,
		    const struct rv_ini_section *s, GHashTable *public_keys, GPtrArray *errors)
{
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct rv_wg_peer *peer = g_new0(struct rv_wg_peer, 1);
	const char *path = cfg->path;
	bool ok = true;

	peer->allowed_ips = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(wg->peers, peer);
	for (guint i = 0; i < s->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(s->entries, i);
		g_autofree char *why = NULL;

		if (key_is(e, "AllowedIPs")) {
			ok = parse_cidr_list(path, e, peer->allowed_ips, errors) && ok;
		} else if (!rv_key_once(seen, path, e, errors)) {
			ok = false;
		} else if (key_is(e, "PublicKey")) {
			if (!parse_key(path, e, &peer->public_key, errors)) {
				ok = false;
			} else if (g_hash_table_contains(public_keys, e->value)) {
				rv_ini_error(errors, path, e->line,
					     "PublicKey= repeated: this peer is already defined at line %d",
					     GPOINTER_TO_INT(g_hash_table_lookup(public_keys, e->value)));
				ok = false;
			} else {
				g_hash_table_insert(public_keys, e->value, GINT_TO_POINTER(e->line));
			}
		} else if (key_is(e, "PresharedKey")) {
			ok = parse_key(path, e, &peer->preshared_key, errors) && ok;
		} else if (key_is(e, "Endpoint")) {
			if (!rv_endpoint_valid(e->value, &why)) {
				rv_ini_error(errors, path, e->line, "Endpoint=: '%s' %s", e->value, why);
				ok = false;
			} else {
				split_endpoint(e->value, &peer->endpoint_host, &peer->endpoint_port);
			}
		} else if (key_is(e, "PersistentKeepalive")) {
			if (g_ascii_strcasecmp(e->value, "off") != 0)
				ok = parse_int(path, e, 0, 65535, &peer->keepalive, errors) && ok;
		} else {
			rv_ini_unknown_key(errors, path, e, "Peer", NULL);
			ok = false;
		}
	}
	if (!g_hash_table_contains(seen, "publickey")) {
		rv_ini_error(errors, path, s->line, "[Peer] has no PublicKey=");
		ok = false;
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
	struct rv_wg_config *wg = g_new0(struct rv_wg_config, 1);
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
			ok = wg_interface(cfg, wg, s, dns, domains, errors) && ok;
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
	if (!ok) {
		rv_wg_config_free(wg);
		return NULL;
	}
	return wg;
}

/* tunnel-config.c - tunnel files (tunnels/NAME.conf): a plain wg-quick file, or a
 * [Tunnel] file naming a backend whose own section that backend validates.
 *
 * Owns the file formats and their validation with line numbers, the wg-quick DNS=
 * split into servers and search domains, and the refusal of secret-holding files
 * that anyone but root could read. Secret values never appear in error messages.
 * See docs/tunnels.md.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "backend.h"
#include "ini.h"
#include "tunnel.h"
#include "validate.h"

#define WG_KEY_LEN 32

void rv_tunnel_config_free(struct rv_tunnel_config *cfg)
{
	if (!cfg)
		return;
	g_free(cfg->name);
	g_free(cfg->path);
	g_free(cfg->backend);
	g_strfreev(cfg->dns);
	g_strfreev(cfg->domains);
	g_free(cfg->interface);
	g_strfreev(cfg->routes);
	rv_ini_free(cfg->ini);
	g_free(cfg);
}

/* --- value checks ------------------------------------------------------------- */

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

static bool parse_uint(const char *text, guint64 max, guint64 *out)
{
	return g_ascii_string_to_unsigned(text, 10, 0, max, out, NULL);
}

/* Keys that name secrets, in any section of any tunnel file. */
static bool key_is_secret(const char *key)
{
	g_autofree char *lower = g_ascii_strdown(key, -1);

	return strstr(lower, "password") || strstr(lower, "secret") ||
	       g_str_equal(lower, "privatekey") || g_str_equal(lower, "presharedkey");
}

static bool ini_has_secret(const struct rv_ini *ini)
{
	for (guint i = 0; i < ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(ini->sections, i);

		for (guint j = 0; j < s->entries->len; j++)
			if (key_is_secret(((struct rv_ini_entry *)g_ptr_array_index(s->entries, j))->key))
				return true;
	}
	return false;
}

/* Split a list on commas (wg-quick) or blanks ([Tunnel]); empty items dropped. */
static char **split_list(const char *value, const char *separators)
{
	g_auto(GStrv) parts = g_strsplit_set(value, separators, -1);
	g_autoptr(GStrvBuilder) out = g_strv_builder_new();

	for (int i = 0; parts[i]; i++) {
		g_strstrip(parts[i]);
		if (parts[i][0])
			g_strv_builder_add(out, parts[i]);
	}
	return g_strv_builder_end(out);
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

/* Per-section bookkeeping of keys that may appear once. */
struct seen_keys {
	GHashTable *lines;	/* lower-case key -> first line */
};

static bool once(struct seen_keys *seen, const struct rv_tunnel_config *cfg,
		 const struct rv_ini_entry *e, GPtrArray *errors)
{
	g_autofree char *lower = g_ascii_strdown(e->key, -1);
	gpointer first = g_hash_table_lookup(seen->lines, lower);

	if (first) {
		rv_ini_error(errors, cfg->path, e->line, "%s= repeated (first at line %d)",
			     e->key, GPOINTER_TO_INT(first));
		return false;
	}
	g_hash_table_insert(seen->lines, g_steal_pointer(&lower), GINT_TO_POINTER(e->line));
	return true;
}

static void seen_init(struct seen_keys *seen)
{
	seen->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static void seen_clear(struct seen_keys *seen)
{
	g_clear_pointer(&seen->lines, g_hash_table_unref);
}

static bool key_is(const struct rv_ini_entry *e, const char *name)
{
	return g_ascii_strcasecmp(e->key, name) == 0;
}

/* --- wg-quick ----------------------------------------------------------------- */

static bool check_cidr_list(const struct rv_tunnel_config *cfg, const struct rv_ini_entry *e,
			    GPtrArray *errors)
{
	g_auto(GStrv) items = split_list(e->value, ",");
	bool ok = true;

	for (int i = 0; items[i]; i++) {
		if (!rv_cidr_valid(items[i])) {
			rv_ini_error(errors, cfg->path, e->line,
				     "%s=: '%s' is not an address or ADDRESS/PREFIX", e->key, items[i]);
			ok = false;
		}
	}
	return ok;
}

static bool check_int(const struct rv_tunnel_config *cfg, const struct rv_ini_entry *e,
		      guint64 min, guint64 max, GPtrArray *errors)
{
	guint64 v;

	if (!parse_uint(e->value, max, &v) || v < min) {
		rv_ini_error(errors, cfg->path, e->line, "%s=: '%s' is not a number from %" G_GUINT64_FORMAT
			     " to %" G_GUINT64_FORMAT, e->key, e->value, min, max);
		return false;
	}
	return true;
}

static bool check_key(const struct rv_tunnel_config *cfg, const struct rv_ini_entry *e,
		      GPtrArray *errors)
{
	if (wg_key_valid(e->value))
		return true;
	/* Never echo the value: it may be a (mistyped) private key. */
	rv_ini_error(errors, cfg->path, e->line, "%s= is not a base64-encoded 32-byte key (see wg genkey)",
		     e->key);
	return false;
}

static bool wg_interface(struct rv_tunnel_config *cfg, const struct rv_ini_section *s,
			 GStrvBuilder *dns, GStrvBuilder *domains, GPtrArray *errors)
{
	struct seen_keys seen;
	bool ok = true, have_private_key = false;

	seen_init(&seen);
	for (guint i = 0; i < s->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(s->entries, i);

		if (key_is(e, "Address")) {
			ok = check_cidr_list(cfg, e, errors) && ok;
		} else if (key_is(e, "DNS")) {
			/* As wg-quick: addresses are servers, anything else a search domain. */
			g_auto(GStrv) items = split_list(e->value, ",");
			int family;

			for (int j = 0; items[j]; j++) {
				if (rv_ip_valid(items[j], &family))
					g_strv_builder_add(dns, items[j]);
				else if (rv_domain_valid(items[j]))
					g_strv_builder_add(domains, items[j]);
				else {
					rv_ini_error(errors, cfg->path, e->line,
						     "DNS=: '%s' is neither an address nor a domain", items[j]);
					ok = false;
				}
			}
		} else if (!once(&seen, cfg, e, errors)) {
			ok = false;
		} else if (key_is(e, "PrivateKey")) {
			have_private_key = true;
			ok = check_key(cfg, e, errors) && ok;
		} else if (key_is(e, "MTU")) {
			ok = check_int(cfg, e, 576, 65535, errors) && ok;
		} else if (key_is(e, "ListenPort")) {
			ok = check_int(cfg, e, 0, 65535, errors) && ok;
		} else if (key_is(e, "FwMark")) {
			guint64 v;

			bool hex = g_ascii_strncasecmp(e->value, "0x", 2) == 0;

			if (g_ascii_strcasecmp(e->value, "off") != 0 &&
			    !g_ascii_string_to_unsigned(e->value + (hex ? 2 : 0), hex ? 16 : 10, 0,
							G_MAXUINT32, &v, NULL)) {
				rv_ini_error(errors, cfg->path, e->line,
					     "FwMark=: '%s' is not off or a 32-bit number", e->value);
				ok = false;
			}
		} else if (key_is(e, "Table")) {
			guint64 v;
			bool name = e->value[0] != '\0';

			for (const char *c = e->value; *c; c++)
				name = name && (g_ascii_isalnum(*c) || *c == '_' || *c == '-');
			if (!name && !g_ascii_string_to_unsigned(e->value, 10, 0, G_MAXUINT32, &v, NULL)) {
				rv_ini_error(errors, cfg->path, e->line,
					     "Table=: '%s' is not off, auto, a number or a table name",
					     e->value);
				ok = false;
			}
		} else if (key_is(e, "SaveConfig")) {
			if (g_ascii_strcasecmp(e->value, "false") != 0) {
				rv_ini_error(errors, cfg->path, e->line,
					     "SaveConfig=%s: roamvpn never writes tunnel files; remove it",
					     e->value);
				ok = false;
			}
		} else if (key_is(e, "PreUp") || key_is(e, "PostUp") || key_is(e, "PreDown") ||
			   key_is(e, "PostDown")) {
			rv_ini_error(errors, cfg->path, e->line,
				     "%s= is a shell command line and roamvpn never runs those; "
				     "remove it (DNS= and routes are applied by roamvpn, "
				     "or write an exec tunnel)", e->key);
			ok = false;
		} else {
			rv_ini_error(errors, cfg->path, e->line, "unknown key %s= in [Interface]", e->key);
			ok = false;
		}
	}
	if (!have_private_key) {
		rv_ini_error(errors, cfg->path, s->line, "[Interface] has no PrivateKey=");
		ok = false;
	}
	seen_clear(&seen);
	return ok;
}

static bool wg_peer(struct rv_tunnel_config *cfg, const struct rv_ini_section *s,
		    GHashTable *public_keys, GPtrArray *errors)
{
	struct seen_keys seen;
	bool ok = true, have_public_key = false;

	seen_init(&seen);
	for (guint i = 0; i < s->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(s->entries, i);
		g_autofree char *why = NULL;

		if (key_is(e, "AllowedIPs")) {
			ok = check_cidr_list(cfg, e, errors) && ok;
		} else if (!once(&seen, cfg, e, errors)) {
			ok = false;
		} else if (key_is(e, "PublicKey")) {
			have_public_key = true;
			if (!check_key(cfg, e, errors)) {
				ok = false;
			} else if (g_hash_table_contains(public_keys, e->value)) {
				rv_ini_error(errors, cfg->path, e->line,
					     "PublicKey= repeated: this peer is already defined at line %d",
					     GPOINTER_TO_INT(g_hash_table_lookup(public_keys, e->value)));
				ok = false;
			} else {
				g_hash_table_insert(public_keys, e->value, GINT_TO_POINTER(e->line));
			}
		} else if (key_is(e, "PresharedKey")) {
			ok = check_key(cfg, e, errors) && ok;
		} else if (key_is(e, "Endpoint")) {
			if (!rv_endpoint_valid(e->value, &why)) {
				rv_ini_error(errors, cfg->path, e->line, "Endpoint=: '%s' %s", e->value, why);
				ok = false;
			}
		} else if (key_is(e, "PersistentKeepalive")) {
			if (g_ascii_strcasecmp(e->value, "off") != 0)
				ok = check_int(cfg, e, 0, 65535, errors) && ok;
		} else {
			rv_ini_error(errors, cfg->path, e->line, "unknown key %s= in [Peer]", e->key);
			ok = false;
		}
	}
	if (!have_public_key) {
		rv_ini_error(errors, cfg->path, s->line, "[Peer] has no PublicKey=");
		ok = false;
	}
	seen_clear(&seen);
	return ok;
}

static bool load_wg_quick(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	g_autoptr(GStrvBuilder) dns = g_strv_builder_new();
	g_autoptr(GStrvBuilder) domains = g_strv_builder_new();
	g_autoptr(GHashTable) public_keys = g_hash_table_new(g_str_hash, g_str_equal);
	const struct rv_ini_section *interface = NULL;
	bool ok = true;

	cfg->backend = g_strdup("builtin");
	cfg->wg_quick = true;

	for (guint i = 0; i < cfg->ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(cfg->ini->sections, i);

		if (g_ascii_strcasecmp(s->name, "Interface") == 0) {
			if (interface) {
				rv_ini_error(errors, cfg->path, s->line,
					     "[Interface] repeated (first at line %d)", interface->line);
				ok = false;
				continue;
			}
			interface = s;
			ok = wg_interface(cfg, s, dns, domains, errors) && ok;
		} else if (g_ascii_strcasecmp(s->name, "Peer") == 0) {
			ok = wg_peer(cfg, s, public_keys, errors) && ok;
		} else {
			rv_ini_error(errors, cfg->path, s->line,
				     "unknown section [%s] (a wg-quick file has [Interface] and [Peer]; "
				     "other backends need [Tunnel])", s->name);
			ok = false;
		}
	}
	if (!interface) {
		rv_ini_error(errors, cfg->path, 1,
			     "neither [Tunnel] nor [Interface]: not a tunnel file (see docs/tunnels.md)");
		ok = false;
	}
	cfg->dns = builder_end_or_null(dns);
	cfg->domains = builder_end_or_null(domains);
	return ok;
}

/* --- [Tunnel] ----------------------------------------------------------------- */

static const char *const known_backends[] = { "builtin", "exec", "vpnc", "pptp" };

static bool load_tunnel_section(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	const struct rv_ini_section *tunnel = NULL;
	const struct rv_backend *backend = NULL;
	struct seen_keys seen;
	bool ok = true;
	int backend_line = 0;

	for (guint i = 0; i < cfg->ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(cfg->ini->sections, i);

		if (!g_str_equal(s->name, "Tunnel"))
			continue;	/* the backend's sections: its check() judges them */
		if (tunnel) {
			rv_ini_error(errors, cfg->path, s->line, "[Tunnel] repeated (first at line %d)",
				     tunnel->line);
			ok = false;
			continue;
		}
		tunnel = s;
	}
	g_assert(tunnel);

	seen_init(&seen);
	for (guint i = 0; i < tunnel->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(tunnel->entries, i);

		if (!g_str_equal(e->key, "Backend") && !g_str_equal(e->key, "DNS") &&
		    !g_str_equal(e->key, "Domains") && !g_str_equal(e->key, "Interface") &&
		    !g_str_equal(e->key, "Routes")) {
			rv_ini_error(errors, cfg->path, e->line,
				     "unknown key %s= in [Tunnel] (known: Backend, DNS, Domains, Interface, Routes)",
				     e->key);
			ok = false;
			continue;
		}
		if (!once(&seen, cfg, e, errors)) {
			ok = false;
			continue;
		}

		if (g_str_equal(e->key, "Backend")) {
			backend_line = e->line;
			cfg->backend = g_strdup(e->value);
		} else if (g_str_equal(e->key, "Interface")) {
			if (!rv_ifname_valid(e->value)) {
				rv_ini_error(errors, cfg->path, e->line,
					     "Interface=: '%s' is not an interface name (1 to 15 bytes, no '/', ':' or blanks)",
					     e->value);
				ok = false;
			}
			cfg->interface = g_strdup(e->value);
		} else {
			g_auto(GStrv) items = split_list(e->value, " \t");
			g_autoptr(GStrvBuilder) out = g_strv_builder_new();
			int family;

			for (int j = 0; items[j]; j++) {
				bool good;

				if (g_str_equal(e->key, "DNS"))
					good = rv_ip_valid(items[j], &family);
				else if (g_str_equal(e->key, "Domains"))
					good = rv_routing_domain_valid(items[j]);
				else
					good = rv_cidr_valid(items[j]);
				if (!good) {
					rv_ini_error(errors, cfg->path, e->line, "%s=: '%s' is not %s", e->key,
						     items[j],
						     g_str_equal(e->key, "DNS") ? "an IP address" :
						     g_str_equal(e->key, "Domains") ? "a domain name" :
						     "an address or ADDRESS/PREFIX");
					ok = false;
					continue;
				}
				g_strv_builder_add(out, items[j]);
			}
			if (!items[0]) {
				rv_ini_error(errors, cfg->path, e->line, "%s= is empty", e->key);
				ok = false;
			}
			if (g_str_equal(e->key, "DNS"))
				cfg->dns = builder_end_or_null(out);
			else if (g_str_equal(e->key, "Domains"))
				cfg->domains = builder_end_or_null(out);
			else
				cfg->routes = builder_end_or_null(out);
		}
	}
	seen_clear(&seen);

	if (!cfg->backend) {
		rv_ini_error(errors, cfg->path, tunnel->line,
			     "[Tunnel] has no Backend= (builtin, exec, vpnc or pptp)");
		return false;
	}
	backend = rv_backend_lookup(cfg->backend);
	if (!backend) {
		bool known = false;

		for (size_t i = 0; i < G_N_ELEMENTS(known_backends); i++)
			known = known || g_str_equal(cfg->backend, known_backends[i]);
		if (known)
			rv_ini_error(errors, cfg->path, backend_line,
				     "Backend=%s is not available (is its plugin installed?)", cfg->backend);
		else
			rv_ini_error(errors, cfg->path, backend_line,
				     "Backend=: unknown backend '%s' (builtin, exec, vpnc or pptp)", cfg->backend);
		return false;
	}
	if (backend->check && backend->check(cfg, errors) < 0)
		ok = false;
	return ok;
}

/* --- files -------------------------------------------------------------------- */

static bool has_tunnel_section(const char *text)
{
	return g_regex_match_simple("^[ \\t]*\\[[ \\t]*Tunnel[ \\t]*\\]", text, G_REGEX_MULTILINE, 0);
}

struct rv_tunnel_config *rv_tunnel_config_load(const char *path, GPtrArray *errors)
{
	g_autoptr(rv_tunnel_config) cfg = g_new0(struct rv_tunnel_config, 1);
	g_autofree char *text = NULL;
	g_autofree char *base = g_path_get_basename(path);
	bool tunnel_file, ok = true;
	gsize len;
	int r;

	cfg->path = g_strdup(path);
	if (g_str_has_suffix(base, ".conf"))
		base[strlen(base) - strlen(".conf")] = '\0';
	cfg->name = g_steal_pointer(&base);

	/* A regular file of at most 1 MiB without NUL bytes (a FIFO must not hang). */
	r = rv_ini_read_file(path, &text, &len, errors);
	if (r == -ENOENT)
		rv_ini_error(errors, path, 0, "%s", g_strerror(ENOENT));
	if (r < 0)
		return NULL;
	if (!rv_tunnel_name_valid(cfg->name)) {
		rv_ini_error(errors, path, 0,
			     "'%s' is not a tunnel name: the file name without .conf must be 1 to 15 of "
			     "A-Z a-z 0-9 _ . -, not start with - or . (it may become an interface name) and not 'all'",
			     cfg->name);
		ok = false;
	}

	/* wg-quick allows '#' comments after values; [Tunnel] files do not, because a
	 * command line or a password may hold a '#'. */
	tunnel_file = has_tunnel_section(text);
	cfg->ini = rv_ini_parse(path, text, tunnel_file ? 0 : RV_INI_INLINE_COMMENTS, errors);
	explicit_bzero(text, len);	/* it may hold a private key */
	if (!cfg->ini)
		return NULL;

	if (tunnel_file)
		ok = load_tunnel_section(cfg, errors) && ok;
	else
		ok = load_wg_quick(cfg, errors) && ok;

	if ((cfg->wg_quick || ini_has_secret(cfg->ini)) && rv_ini_check_secret_file(path, errors) < 0)
		ok = false;
	if (!ok)
		return NULL;
	return g_steal_pointer(&cfg);
}

static int compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.conf names in dir, sorted; NULL (with error) if dir cannot be read. */
static GPtrArray *conf_files(const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, error);
	GPtrArray *names;
	const char *name;

	if (!d)
		return NULL;
	names = g_ptr_array_new_with_free_func(g_free);
	while ((name = g_dir_read_name(d)))
		if (name[0] != '.' && g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);
	return names;
}

GHashTable *rv_tunnel_config_names(const char *dir)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autoptr(GPtrArray) names = conf_files(dir, NULL);

	for (guint i = 0; names && i < names->len; i++) {
		const char *file = g_ptr_array_index(names, i);

		g_hash_table_add(set, g_strndup(file, strlen(file) - strlen(".conf")));
	}
	return set;
}

GHashTable *rv_tunnel_configs_load_dir(const char *dir, GPtrArray *errors)
{
	g_autoptr(GHashTable) configs = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
							      (GDestroyNotify)rv_tunnel_config_free);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) names = conf_files(dir, &error);
	bool ok = true;

	if (!names) {
		/* No tunnels directory: nothing to run, which is valid. */
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&configs);
		rv_ini_error(errors, dir, 0, "%s", error->message);
		return NULL;
	}

	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		struct rv_tunnel_config *cfg = rv_tunnel_config_load(path, errors);

		if (!cfg) {
			ok = false;
			continue;
		}
		/* The key is the config's own name, freed with it. */
		g_hash_table_insert(configs, cfg->name, cfg);
	}
	if (!ok)
		return NULL;
	return g_steal_pointer(&configs);
}

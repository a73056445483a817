/* tunnel-config.c - tunnel files (tunnels/NAME.conf): a [Tunnel] file naming a
 * backend, or a plain wg-quick file (the builtin backend's).
 *
 * Owns [Tunnel] (Backend=, DNS=, Domains=, Interface=, Routes=) with line-numbered
 * errors, hands the rest of the file to the backend's parse() (backend.h), and
 * refuses secret-holding files that anyone but root could read. Also the value
 * checks the backends' parsers share. Secret values never appear in error messages.
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

void rv_tunnel_config_free(struct rv_tunnel_config *cfg)
{
	if (!cfg)
		return;
	if (cfg->extra_refs > 0) {
		cfg->extra_refs--;
		return;
	}
	if (cfg->parsed && cfg->ops && cfg->ops->free_config)
		cfg->ops->free_config(cfg->parsed);
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

struct rv_tunnel_config *rv_tunnel_config_ref(struct rv_tunnel_config *cfg)
{
	cfg->extra_refs++;
	return cfg;
}

/* --- value checks ------------------------------------------------------------- */

bool rv_key_is_secret(const char *key)
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
			if (rv_key_is_secret(((struct rv_ini_entry *)g_ptr_array_index(s->entries, j))->key))
				return true;
	}
	return false;
}

/* --- [Tunnel] ----------------------------------------------------------------- */

static int compare_names(gconstpointer a, gconstpointer b);

/* "builtin, exec, vpnc or pptp": what Backend= may name here (registered backends
 * in name order, then the plugins this build ships that are not loaded). */
static char *backend_choices(void)
{
	g_autofree const char **names = rv_backend_names();
	g_auto(GStrv) shipped = g_strsplit(SHIPPED_PLUGINS, " ", -1);
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	GString *out = g_string_new(NULL);

	for (int i = 0; names[i]; i++)
		g_ptr_array_add(all, (gpointer)names[i]);
	g_ptr_array_sort(all, compare_names);
	for (int i = 0; shipped[i]; i++)
		if (shipped[i][0] && !rv_backend_lookup(shipped[i]))
			g_ptr_array_add(all, shipped[i]);
	for (guint i = 0; i < all->len; i++) {
		if (i > 0)
			g_string_append(out, i + 1 == all->len ? " or " : ", ");
		g_string_append(out, g_ptr_array_index(all, i));
	}
	return g_string_free(out, FALSE);
}

/* --- [Tunnel] keys, declared once ------------------------------------------------ */

static bool parse_dns(const struct rv_ini_value *v, void *field)
{
	if (!rv_ip_valid(v->value, NULL)) {
		rv_ini_bad_value(v, "is not an IP address");
		return false;
	}
	return rv_ini_parse_strv(v, field);
}

static bool parse_domain(const struct rv_ini_value *v, void *field)
{
	if (!rv_routing_domain_valid(v->value)) {
		rv_ini_bad_value(v, "is not a domain name");
		return false;
	}
	return rv_ini_parse_strv(v, field);
}

static bool parse_route(const struct rv_ini_value *v, void *field)
{
	if (!rv_cidr_valid(v->value)) {
		rv_ini_bad_value(v, "is not an address or ADDRESS/PREFIX");
		return false;
	}
	return rv_ini_parse_strv(v, field);
}

static bool parse_interface(const struct rv_ini_value *v, void *field)
{
	if (!rv_ifname_valid(v->value)) {
		rv_ini_bad_value(v, "is not an interface name (1 to 15 bytes, no '/', ':' or blanks)");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

#define KEY(key, parse, field, flags) \
	RV_INI_KEY("Tunnel", key, parse, struct rv_tunnel_config, field, RV_INI_ONCE | (flags), NULL)
static const struct rv_ini_key tunnel_keys[] = {
	KEY("Backend", rv_ini_parse_string, backend, 0),
	KEY("DNS", parse_dns, dns, RV_INI_LIST),
	KEY("Domains", parse_domain, domains, RV_INI_LIST),
	KEY("Interface", parse_interface, interface, 0),
	KEY("Routes", parse_route, routes, RV_INI_LIST),
	RV_INI_KEYS_END
};
#undef KEY

static bool load_tunnel_section(struct rv_tunnel_config *cfg, int *backend_line_out,
				GPtrArray *errors)
{
	const struct rv_ini_section *tunnel = NULL;
	bool ok = true;

	for (guint i = 0; i < cfg->ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(cfg->ini->sections, i);

		if (!g_str_equal(s->name, "Tunnel"))
			continue;	/* the backend's sections: its parse() judges them */
		if (tunnel) {
			rv_ini_error(errors, cfg->path, s->line, "[Tunnel] repeated (first at line %d)",
				     tunnel->line);
			ok = false;
			continue;
		}
		tunnel = s;
	}
	if (!tunnel) {
		/* has_tunnel_section() saw one, the INI reader did not agree: say so
		 * rather than guess (a typo must never take the daemon down). */
		rv_ini_error(errors, cfg->path, 0, "no [Tunnel] section header found");
		return false;
	}
	ok = rv_ini_apply_section(cfg->path, tunnel, tunnel_keys, cfg, 0, errors) && ok;
	if (!cfg->backend) {
		g_autofree char *choices = backend_choices();

		rv_ini_error(errors, cfg->path, tunnel->line, "[Tunnel] has no Backend= (%s)", choices);
		return false;
	}
	/* The first Backend= is the one used (a repeat is an error above). */
	for (guint i = 0; i < tunnel->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(tunnel->entries, i);

		if (g_str_equal(e->key, "Backend")) {
			*backend_line_out = e->line;
			break;
		}
	}
	return ok;
}

/* The backend parses the rest of the file into its own struct. */
static bool parse_backend(struct rv_tunnel_config *cfg, int backend_line, GPtrArray *errors)
{
	const struct rv_backend *backend = rv_backend_lookup(cfg->backend);

	if (!backend) {
		g_autofree char *choices = backend_choices();

		if (rv_backend_is_shipped_plugin(cfg->backend))
			rv_ini_error(errors, cfg->path, backend_line,
				     "Backend=%s is not available (is its plugin installed?)", cfg->backend);
		else
			rv_ini_error(errors, cfg->path, backend_line,
				     "Backend=: unknown backend '%s' (%s)", cfg->backend, choices);
		return false;
	}
	cfg->ops = backend;
	if (!backend->parse)
		return true;
	cfg->parsed = backend->parse(cfg, errors);
	return cfg->parsed != NULL;
}

static bool strv_equal0(char **a, char **b)
{
	if (!a || !b)
		return a == b;
	return g_strv_equal((const char *const *)a, (const char *const *)b);
}

static bool ini_equal(const struct rv_ini *a, const struct rv_ini *b)
{
	if (!a || !b)
		return a == b;
	if (a->sections->len != b->sections->len)
		return false;
	for (guint i = 0; i < a->sections->len; i++) {
		const struct rv_ini_section *sa = g_ptr_array_index(a->sections, i);
		const struct rv_ini_section *sb = g_ptr_array_index(b->sections, i);

		if (!g_str_equal(sa->name, sb->name) || sa->entries->len != sb->entries->len)
			return false;
		for (guint j = 0; j < sa->entries->len; j++) {
			const struct rv_ini_entry *ea = g_ptr_array_index(sa->entries, j);
			const struct rv_ini_entry *eb = g_ptr_array_index(sb->entries, j);

			if (!g_str_equal(ea->key, eb->key) || !g_str_equal(ea->value, eb->value))
				return false;
		}
	}
	return true;
}

bool rv_tunnel_config_equal(const struct rv_tunnel_config *a, const struct rv_tunnel_config *b)
{
	if (g_strcmp0(a->name, b->name) || g_strcmp0(a->backend, b->backend) ||
	    a->ops != b->ops || a->wg_quick != b->wg_quick ||
	    g_strcmp0(a->interface, b->interface) || !strv_equal0(a->dns, b->dns) ||
	    !strv_equal0(a->domains, b->domains) || !strv_equal0(a->routes, b->routes))
		return false;
	if (a->ops && a->ops->parse)
		return a->parsed && b->parsed && a->ops->config_equal(a->parsed, b->parsed);
	/* A backend without a parser of its own: its sections, as written. */
	return ini_equal(a->ini, b->ini);
}

/* --- files -------------------------------------------------------------------- */

/* Decides, before parsing, whether '#' ends a value: the header must be the whole
 * line, as the INI reader reads it ("[Tunnel]]" is not one). */
static bool has_tunnel_section(const char *text)
{
	return g_regex_match_simple("^[ \\t]*\\[[ \\t]*Tunnel[ \\t]*\\][ \\t]*\\r?$", text,
				    G_REGEX_MULTILINE, 0);
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
	if (cfg->ini && !tunnel_file && rv_ini_find_section(cfg->ini, "Tunnel")) {
		/* "[Tunnel] # note": a [Tunnel] file after all, where '#' is no comment;
		 * read it as one, so that the header is reported where it is. */
		g_clear_pointer(&cfg->ini, rv_ini_free);
		cfg->ini = rv_ini_parse(path, text, 0, errors);
		tunnel_file = true;
	}
	explicit_bzero(text, len);	/* it may hold a private key */
	if (!cfg->ini)
		return NULL;

	if (tunnel_file) {
		int backend_line = 0;

		ok = load_tunnel_section(cfg, &backend_line, errors) && ok;
		/* The backend's errors too, even after [Tunnel]'s: one run shows all. */
		if (backend_line > 0)
			ok = parse_backend(cfg, backend_line, errors) && ok;
	} else {
		/* A plain wg-quick file is the builtin backend's, as it is. */
		cfg->backend = g_strdup("builtin");
		cfg->wg_quick = true;
		ok = parse_backend(cfg, 0, errors) && ok;
	}

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

/* backend.c - the backend registry and plugin loading (see backend.h). */
#include "config.h"

#include <gmodule.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"

static GHashTable *backends;	/* name -> const struct rv_backend * */
static GPtrArray *order;	/* const struct rv_backend *, in registration order */
static GHashTable *plugin_files;	/* path -> "mtime:size" of the last attempt */

void rv_backend_register(const struct rv_backend *backend)
{
	if (!backends) {
		backends = g_hash_table_new(g_str_hash, g_str_equal);
		order = g_ptr_array_new();
	}
	if (g_hash_table_contains(backends, backend->name)) {
		g_warning("backend %s registered twice; keeping the first", backend->name);
		return;
	}
	g_hash_table_insert(backends, (gpointer)backend->name, (gpointer)backend);
	g_ptr_array_add(order, (gpointer)backend);
}

const struct rv_backend *rv_backend_lookup(const char *name)
{
	return backends ? g_hash_table_lookup(backends, name) : NULL;
}

const char **rv_backend_names(void)
{
	guint n = order ? order->len : 0;
	const char **names = g_new0(const char *, n + 1);

	for (guint i = 0; i < n; i++)
		names[i] = ((const struct rv_backend *)g_ptr_array_index(order, i))->name;
	return names;
}

bool rv_backend_is_shipped_plugin(const char *name)
{
	g_auto(GStrv) shipped = g_strsplit(SHIPPED_PLUGINS, " ", -1);

	return g_strv_contains((const char *const *)shipped, name);
}

const char *rv_backend_device(const struct rv_tunnel_config *cfg)
{
	const char *device = cfg->ops && cfg->ops->device ? cfg->ops->device(cfg) : NULL;

	return device ? device : cfg->interface;
}

static void server_free(gpointer p)
{
	struct rv_server *s = p;

	g_free(s->host);
	g_free(s);
}

void rv_server_add(GPtrArray *out, const char *host, enum rv_server_proto proto, guint16 port)
{
	struct rv_server *s;

	if (!host || !*host)
		return;
	s = g_new0(struct rv_server, 1);
	s->host = g_strdup(host);
	s->proto = proto;
	s->port = port;
	g_ptr_array_add(out, s);
}

void rv_server_add_ipsec(GPtrArray *out, const char *host, bool cisco)
{
	rv_server_add(out, host, RV_SERVER_UDP, 500);
	rv_server_add(out, host, RV_SERVER_UDP, 4500);
	if (cisco)
		rv_server_add(out, host, RV_SERVER_UDP, 10000);
	rv_server_add(out, host, RV_SERVER_ESP, 0);
}

GPtrArray *rv_servers_new(void)
{
	return g_ptr_array_new_with_free_func(server_free);
}

void rv_servers_copy(GPtrArray *out, const GPtrArray *from)
{
	for (guint i = 0; from && i < from->len; i++) {
		const struct rv_server *s = g_ptr_array_index(from, i);

		rv_server_add(out, s->host, s->proto, s->port);
	}
}

bool rv_servers_equal(const GPtrArray *a, const GPtrArray *b)
{
	guint n = a ? a->len : 0;

	if (n != (b ? b->len : 0))
		return false;
	for (guint i = 0; i < n; i++) {
		const struct rv_server *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);

		if (!g_str_equal(x->host, y->host) || x->proto != y->proto || x->port != y->port)
			return false;
	}
	return true;
}

GPtrArray *rv_backend_servers(const struct rv_tunnel_config *cfg, const struct rv_tunnel_net *net)
{
	GPtrArray *out = rv_servers_new();

	if (cfg && cfg->ops && cfg->ops->servers && (cfg->parsed || !cfg->ops->parse))
		cfg->ops->servers(cfg->parsed, net, out);
	return out;
}

static void plugin_error(GPtrArray *errors, const char *path, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static void plugin_error(GPtrArray *errors, const char *path, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (errors)
		g_ptr_array_add(errors, g_strdup_printf("%s: %s", path, msg));
	else
		g_warning("plugin %s: %s", path, msg);
}

/* Registers through roamvpn_plugin_init(); checks the ABI of what it registered. */
static bool load_one(const char *path, GPtrArray *errors)
{
	void (*init)(void) = NULL;
	GModule *module = g_module_open(path, G_MODULE_BIND_LOCAL);
	guint before = order ? order->len : 0;
	guint refused = 0;

	if (!module) {
		plugin_error(errors, path, "cannot load: %s", g_module_error());
		return false;
	}
	if (!g_module_symbol(module, "roamvpn_plugin_init", (gpointer *)&init) || !init) {
		plugin_error(errors, path, "not a roamvpn plugin (no roamvpn_plugin_init)");
		g_module_close(module);
		return false;
	}
	/* Plugins stay loaded for the life of the daemon: tunnels hold their vtables. */
	g_module_make_resident(module);
	init();
	for (guint i = before; order && i < order->len; i++) {
		const struct rv_backend *b = g_ptr_array_index(order, i);

		if (b->abi != RV_BACKEND_ABI)
			plugin_error(errors, path,
				     "backend %s was built for another roamvpnd (ABI %d, this is %d); not used",
				     b->name, b->abi, RV_BACKEND_ABI);
		else if (!b->start || !b->stop || (b->parse && (!b->free_config || !b->config_equal)))
			plugin_error(errors, path,
				     "backend %s lacks start, stop, free_config or config_equal; not used",
				     b->name);
		else
			continue;
		refused++;
		g_hash_table_remove(backends, b->name);
		g_ptr_array_remove_index(order, i--);
	}
	if ((order ? order->len : 0) == before) {
		if (!refused)
			plugin_error(errors, path, "registered no backend");
		return false;
	}
	g_debug("loaded plugin %s", path);
	return true;
}

int rv_backend_load_plugins(const char *dir, GPtrArray *errors)
{
	g_autoptr(GDir) d = NULL;
	g_autoptr(GError) error = NULL;
	const char *entry;
	int failed = 0;

	if (!dir)
		dir = g_getenv("ROAMVPN_PLUGIN_DIR");
	if (!dir)
		dir = PLUGINDIR;
	if (!plugin_files)
		plugin_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	d = g_dir_open(dir, 0, &error);
	if (!d) {
		g_debug("no plugins: %s", error->message);
		return 0;
	}
	while ((entry = g_dir_read_name(d))) {
		g_autofree char *path = NULL;
		g_autofree char *stamp = NULL;
		const char *last;
		struct stat st;

		if (!g_str_has_suffix(entry, ".so"))
			continue;
		path = g_build_filename(dir, entry, NULL);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		/* A loaded plugin cannot be replaced in a running daemon; a failed one is
		 * tried again (and reported again) only once the file has changed. */
		stamp = g_strdup_printf("%lld.%09ld:%lld", (long long)st.st_mtim.tv_sec,
					st.st_mtim.tv_nsec, (long long)st.st_size);
		last = g_hash_table_lookup(plugin_files, path);
		if (last && (g_str_equal(last, "loaded") || g_str_equal(last, stamp)))
			continue;
		if (load_one(path, errors)) {
			g_hash_table_replace(plugin_files, g_strdup(path), g_strdup("loaded"));
		} else {
			g_hash_table_replace(plugin_files, g_strdup(path), g_steal_pointer(&stamp));
			failed++;
		}
	}
	return failed;
}

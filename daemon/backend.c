/* backend.c - the backend registry and plugin loading (see backend.h). */
#include "config.h"

#include <gmodule.h>

#include "backend.h"

static GHashTable *backends;	/* name -> const struct rv_backend * */

void rv_backend_register(const struct rv_backend *backend)
{
	if (!backends)
		backends = g_hash_table_new(g_str_hash, g_str_equal);
	if (g_hash_table_contains(backends, backend->name)) {
		g_warning("backend %s registered twice; keeping the first", backend->name);
		return;
	}
	g_hash_table_insert(backends, (gpointer)backend->name, (gpointer)backend);
}

const struct rv_backend *rv_backend_lookup(const char *name)
{
	return backends ? g_hash_table_lookup(backends, name) : NULL;
}

void rv_backend_load_plugins(const char *dir)
{
	g_autoptr(GDir) d = NULL;
	g_autoptr(GError) error = NULL;
	const char *entry;

	if (!dir)
		dir = g_getenv("ROAMVPN_PLUGIN_DIR");
	if (!dir)
		dir = PLUGINDIR;
	d = g_dir_open(dir, 0, &error);
	if (!d) {
		g_debug("no plugins: %s", error->message);
		return;
	}
	while ((entry = g_dir_read_name(d))) {
		g_autofree char *path = NULL;
		GModule *module;
		void (*init)(void);

		if (!g_str_has_suffix(entry, ".so"))
			continue;
		path = g_build_filename(dir, entry, NULL);
		module = g_module_open(path, G_MODULE_BIND_LOCAL);
		if (!module) {
			g_warning("plugin %s: %s", path, g_module_error());
			continue;
		}
		if (!g_module_symbol(module, "roamvpn_plugin_init", (gpointer *)&init) || !init) {
			g_warning("plugin %s: no roamvpn_plugin_init", path);
			g_module_close(module);
			continue;
		}
		/* Plugins stay loaded for the life of the daemon. */
		g_module_make_resident(module);
		init();
		g_debug("loaded plugin %s", path);
	}
}

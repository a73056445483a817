/* fuzz-tunnel.c - libFuzzer target for tunnel files (daemon/tunnel-config.c):
 * wg-quick files and [Tunnel] files with every backend's section, through the same
 * rv_tunnel_config_load() the daemon uses. Backends: builtin and exec, plus every
 * plugin in $ROAMVPN_PLUGIN_DIR (the fuzz build's plugins/ by default). */
#include "fuzz-util.h"

#include "backend.h"
#include "tunnel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = g_getenv("ROAMVPN_PLUGIN_DIR");

	fuzz_quiet_logs();
	rv_backend_register(&rv_backend_exec);
	rv_backend_register(&rv_backend_builtin);
	rv_backend_load_plugins(dir ? dir : FUZZ_PLUGIN_DIR, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_tunnel_config *cfg =
		rv_tunnel_config_load(fuzz_write_file("fuzz.conf", data, size), errors);

	if (cfg && errors->len)
		abort();	/* a config comes back only without errors */
	rv_tunnel_config_free(cfg);
	return 0;
}

/* fuzz-settings.c - libFuzzer target for roamvpn.conf (daemon/settings.c). */
#include "fuzz-util.h"

#include "settings.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_settings s = { 0 };

	rv_settings_load(&s, fuzz_write_file("roamvpn.conf", data, size), errors);
	if (!s.dns_method || !s.admin_group || s.backoff_max_ms < s.backoff_initial_ms)
		abort();	/* loaded or defaults: always whole and consistent */
	rv_settings_clear(&s);
	return 0;
}

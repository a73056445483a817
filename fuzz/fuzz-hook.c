/* fuzz-hook.c - libFuzzer target for the hook report protocol: the wire format a
 * roamvpn-hook sends (daemon/hook-report.c rv_hook_wire_parse) and what the vpnc
 * or pppd variables in it mean (rv_hook_report_parse). Inputs without the magic
 * get it prepended, so the fuzzer spends its time past the header. */
#include "fuzz-util.h"

#include <string.h>

#include "hook-report.h"
#include "hook-server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

static void one(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(rv_tunnel_net) net = NULL;
	g_autoptr(GError) error = NULL;

	if (!rv_hook_wire_parse(data, size, argv, env))
		return;
	g_ptr_array_add(argv, NULL);
	rv_hook_report_parse((char **)argv->pdata, env, &net, &error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char magic[] = RV_HOOK_MAGIC;	/* with its NUL */
	g_autofree uint8_t *framed = NULL;

	if (size > RV_HOOK_MAX_REPORT)
		return 0;
	one(data, size);
	if (size >= sizeof(magic) && memcmp(data, magic, sizeof(magic)) == 0)
		return 0;
	framed = g_malloc(sizeof(magic) + size);
	memcpy(framed, magic, sizeof(magic));
	memcpy(framed + sizeof(magic), data, size);
	one(framed, sizeof(magic) + size);
	return 0;
}

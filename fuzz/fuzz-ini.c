/* fuzz-ini.c - libFuzzer target for the INI reader (daemon/ini.c): file reading
 * (size, NUL, UTF-8 checks), line parsing, and applying a key table with every
 * flag and ready-made parser. The first byte picks reader and apply flags. */
#include "fuzz-util.h"

#include <string.h>

#include "ini.h"

struct target {
	char *name;
	guint port;
	bool on;
	char *mode;
	char **list;
	char **commas;
	char *secret;
};

static const struct rv_ini_uint_range range = { 1, 65535, NULL };
static const char *const modes[] = { "a", "b", "c", NULL };
static const struct rv_ini_key keys[] = {
	RV_INI_KEY("A", "Name", rv_ini_parse_string, struct target, name, RV_INI_ONCE | RV_INI_REQUIRED, NULL),
	RV_INI_KEY("A", "Port", rv_ini_parse_uint, struct target, port, RV_INI_ONCE, &range),
	RV_INI_KEY("A", "On", rv_ini_parse_bool, struct target, on, 0, NULL),
	RV_INI_KEY("A", "Mode", rv_ini_parse_choice, struct target, mode, 0, modes),
	RV_INI_KEY("B", "List", rv_ini_parse_strv, struct target, list, RV_INI_LIST, NULL),
	RV_INI_KEY("B", "Commas", rv_ini_parse_strv, struct target, commas,
		   RV_INI_LIST | RV_INI_LIST_COMMA | RV_INI_LIST_EMPTY_OK, NULL),
	RV_INI_KEY("B", "Secret", rv_ini_parse_string, struct target, secret, RV_INI_SECRET | RV_INI_ONCE, NULL),
	RV_INI_KEYS_END
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_ini) ini = NULL;
	struct target t = { 0 };
	unsigned mode;

	if (size < 1)
		return 0;
	mode = data[0];
	data++;
	size--;
	if (mode & 0x80) {
		/* Through a file: the reader's own checks. */
		ini = rv_ini_load(fuzz_write_file("fuzz.conf", data, size),
				  mode & 1 ? RV_INI_INLINE_COMMENTS : 0, errors);
	} else {
		g_autofree char *text = g_strndup((const char *)data, size);

		ini = rv_ini_parse("fuzz.conf", text, mode & 1 ? RV_INI_INLINE_COMMENTS : 0, errors);
	}
	if (ini) {
		unsigned flags = (mode >> 1) & 0xf;

		rv_ini_apply(ini, keys, &t, flags, mode & 0x20 ? "fuzz" : NULL, errors);
		for (guint i = 0; i < ini->sections->len; i++) {
			const struct rv_ini_section *s = g_ptr_array_index(ini->sections, i);

			rv_ini_section_has_secret(s, keys, flags);
			rv_ini_find_entry(s, "Name");
		}
		rv_ini_find_section(ini, "A");
	}
	/* No secret value in any message (when the input holds it only in that value:
	 * the same text as a key or section name may be shown). */
	if (t.secret && strlen(t.secret) > 8) {
		size_t n = 0;

		for (const uint8_t *p = data; (p = memmem(p, size - (size_t)(p - data), t.secret,
						    strlen(t.secret))); p++)
			n++;
		for (guint i = 0; n == 1 && i < errors->len; i++)
			if (strstr(g_ptr_array_index(errors, i), t.secret))
				abort();
	}
	g_free(t.name);
	g_free(t.mode);
	g_strfreev(t.list);
	g_strfreev(t.commas);
	g_free(t.secret);
	return 0;
}

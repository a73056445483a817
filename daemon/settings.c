/* settings.c - the daemon's own configuration, roamvpn.conf [General] (see settings.h).
 * Same strictness as rule and tunnel files: unknown or repeated keys and bad values
 * are "FILE:LINE: msg" errors, all of them reported.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "ini.h"
#include "settings.h"

#define DEFAULT_DNS_METHOD "auto"
#define DEFAULT_DEBOUNCE_MS 300
#define DEFAULT_BACKOFF_INITIAL_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 60000
#define DEFAULT_ADMIN_GROUP "netdev"

/* Upper bounds that catch typos (a debounce of minutes is never meant). */
#define MAX_DEBOUNCE_MS 60000
#define MAX_BACKOFF_MS (24u * 3600u * 1000u)

static const char *const dns_methods[] = { "auto", "file", "resolvconf", "resolved" };

void rv_settings_defaults(struct rv_settings *s)
{
	s->dns_method = g_strdup(DEFAULT_DNS_METHOD);
	s->debounce_ms = DEFAULT_DEBOUNCE_MS;
	s->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
	s->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	s->admin_group = g_strdup(DEFAULT_ADMIN_GROUP);
}

void rv_settings_clear(struct rv_settings *s)
{
	g_clear_pointer(&s->dns_method, g_free);
	g_clear_pointer(&s->admin_group, g_free);
}

static bool parse_ms(const char *path, const struct rv_ini_entry *e, guint min, guint max,
		     guint *out, GPtrArray *errors)
{
	guint64 v;

	if (!g_ascii_string_to_unsigned(e->value, 10, min, max, &v, NULL)) {
		rv_ini_error(errors, path, e->line, "%s=: '%s' is not a number of milliseconds from %u to %u",
			     e->key, e->value, min, max);
		return false;
	}
	*out = (guint)v;
	return true;
}

/* POSIX portable user/group names (what useradd accepts by default). */
static bool group_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 32 || name[0] == '-')
		return false;
	for (const char *c = name; *c; c++)
		if (!g_ascii_isalnum(*c) && *c != '_' && *c != '-' && *c != '.')
			return false;
	return true;
}

static bool apply_general(struct rv_settings *s, const char *path, const struct rv_ini_section *sec,
			  GPtrArray *errors)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	int backoff_max_line = 0;
	bool ok = true;

	for (guint i = 0; i < sec->entries->len; i++) {
		const struct rv_ini_entry *e = g_ptr_array_index(sec->entries, i);
		gpointer first = g_hash_table_lookup(seen, e->key);

		if (first) {
			rv_ini_error(errors, path, e->line, "%s= repeated (first at line %d)", e->key,
				     GPOINTER_TO_INT(first));
			ok = false;
			continue;
		}
		g_hash_table_insert(seen, e->key, GINT_TO_POINTER(e->line));

		if (g_str_equal(e->key, "DNS")) {
			bool known = false;

			for (size_t j = 0; j < G_N_ELEMENTS(dns_methods); j++)
				known = known || g_str_equal(e->value, dns_methods[j]);
			if (!known) {
				rv_ini_error(errors, path, e->line,
					     "DNS=: '%s' is not auto, file, resolvconf or resolved", e->value);
				ok = false;
				continue;
			}
			g_free(s->dns_method);
			s->dns_method = g_strdup(e->value);
		} else if (g_str_equal(e->key, "DebounceMs")) {
			ok = parse_ms(path, e, 0, MAX_DEBOUNCE_MS, &s->debounce_ms, errors) && ok;
		} else if (g_str_equal(e->key, "BackoffInitialMs")) {
			ok = parse_ms(path, e, 1, MAX_BACKOFF_MS, &s->backoff_initial_ms, errors) && ok;
		} else if (g_str_equal(e->key, "BackoffMaxMs")) {
			backoff_max_line = e->line;
			ok = parse_ms(path, e, 1, MAX_BACKOFF_MS, &s->backoff_max_ms, errors) && ok;
		} else if (g_str_equal(e->key, "AdminGroup")) {
			if (!group_name_valid(e->value)) {
				rv_ini_error(errors, path, e->line, "AdminGroup=: '%s' is not a group name",
					     e->value);
				ok = false;
				continue;
			}
			g_free(s->admin_group);
			s->admin_group = g_strdup(e->value);
		} else {
			rv_ini_error(errors, path, e->line,
				     "unknown key %s= in [General] (known: DNS, DebounceMs, BackoffInitialMs, "
				     "BackoffMaxMs, AdminGroup)", e->key);
			ok = false;
		}
	}
	if (ok && s->backoff_max_ms < s->backoff_initial_ms) {
		int line = backoff_max_line;

		if (!line) {
			const struct rv_ini_entry *e = rv_ini_find_entry(sec, "BackoffInitialMs");

			line = e ? e->line : sec->line;
		}
		rv_ini_error(errors, path, line, "BackoffMaxMs (%u) is less than BackoffInitialMs (%u)",
			     s->backoff_max_ms, s->backoff_initial_ms);
		ok = false;
	}
	return ok;
}

int rv_settings_load(struct rv_settings *s, const char *path, GPtrArray *errors)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *text = NULL;
	g_autoptr(rv_ini) ini = NULL;
	struct rv_settings loaded = { 0 };
	const struct rv_ini_section *general = NULL;
	bool ok = true;

	rv_settings_clear(s);
	rv_settings_defaults(s);

	if (!g_file_get_contents(path, &text, NULL, &error)) {
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return 0;	/* no file: all defaults */
		rv_ini_error(errors, path, 0, "%s", error->message);
		return -EINVAL;
	}
	ini = rv_ini_parse(path, text, 0, errors);
	if (!ini)
		return -EINVAL;

	rv_settings_defaults(&loaded);
	for (guint i = 0; i < ini->sections->len; i++) {
		const struct rv_ini_section *sec = g_ptr_array_index(ini->sections, i);

		if (!g_str_equal(sec->name, "General")) {
			rv_ini_error(errors, path, sec->line,
				     "unknown section [%s] (roamvpn.conf has only [General])", sec->name);
			ok = false;
			continue;
		}
		if (general) {
			rv_ini_error(errors, path, sec->line, "[General] repeated (first at line %d)",
				     general->line);
			ok = false;
			continue;
		}
		general = sec;
		ok = apply_general(&loaded, path, sec, errors) && ok;
	}
	if (!ok) {
		rv_settings_clear(&loaded);
		return -EINVAL;
	}
	rv_settings_clear(s);
	*s = loaded;
	return 0;
}

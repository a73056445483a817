/* settings.c - the daemon's own configuration, roamvpn.conf [General] (see settings.h).
 * Same strictness as rule and tunnel files: unknown or repeated keys and bad values
 * are "FILE:LINE: msg" errors, all of them reported. The keys are the table below;
 * rv_ini_apply() does the rest.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ini.h"
#include "settings.h"
#include "validate.h"

#define DEFAULT_DNS_METHOD "auto"
#define DEFAULT_DEBOUNCE_MS 300
#define DEFAULT_BACKOFF_INITIAL_MS 1000
#define DEFAULT_BACKOFF_MAX_MS 60000
#define DEFAULT_ADMIN_GROUP "netdev"
#define DEFAULT_PORTAL_TIMEOUT_MS 5000
#define DEFAULT_PORTAL_WINDOW_S 300

/* Upper bounds that catch typos (a debounce of minutes is never meant). */
#define MAX_DEBOUNCE_MS 60000
#define MAX_BACKOFF_MS (24u * 3600u * 1000u)

static const char *const dns_methods[] = { "auto", "file", "resolvconf", "resolved", NULL };
static const struct rv_ini_uint_range debounce_range = { 0, MAX_DEBOUNCE_MS, "a number of milliseconds" };
static const struct rv_ini_uint_range backoff_range = { 1, MAX_BACKOFF_MS, "a number of milliseconds" };
static const struct rv_ini_uint_range portal_timeout_range = { 100, 60000, "a number of milliseconds" };
static const struct rv_ini_uint_range portal_window_range = { 1, 3600, "a number of seconds" };

static bool parse_group(const struct rv_ini_value *v, void *field)
{
	if (!rv_group_name_valid(v->value)) {
		rv_ini_bad_value(v, "is not a group name");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

/* PortalProbe=no, or a plain-HTTP URL: a portal can only answer a request it can
 * read. "http://HOST[:PORT]/PATH", HOST a name, an IPv4 address or [IPv6]. */
static bool parse_portal_probe(const struct rv_ini_value *v, void *field)
{
	char **out = field;
	g_autoptr(GUri) uri = NULL;

	g_clear_pointer(out, g_free);
	if (g_ascii_strcasecmp(v->value, "no") == 0)
		return true;
	uri = g_uri_parse(v->value, G_URI_FLAGS_NONE, NULL);
	if (!uri || g_strcmp0(g_uri_get_scheme(uri), "http") != 0 || !g_uri_get_host(uri) ||
	    !*g_uri_get_host(uri) || g_uri_get_userinfo(uri) || strlen(v->value) >= 1024) {
		rv_ini_bad_value(v, "is not no or an http://HOST[:PORT]/PATH URL");
		return false;
	}
	*out = g_strdup(v->value);
	return true;
}

/* PortalExpect= with nothing after it means "expect 204 No Content". */
static bool parse_optional_string(const struct rv_ini_value *v, void *field)
{
	char **out = field;

	g_clear_pointer(out, g_free);
	if (*v->value)
		*out = g_strdup(v->value);
	return true;
}

#define GENERAL(key, parser, field, data) \
	{ "General", key, parser, offsetof(struct rv_settings, field), RV_INI_ONCE, data, NULL }

static const struct rv_ini_key settings_keys[] = {
	GENERAL("DNS", rv_ini_parse_choice, dns_method, dns_methods),
	GENERAL("DebounceMs", rv_ini_parse_uint, debounce_ms, &debounce_range),
	GENERAL("BackoffInitialMs", rv_ini_parse_uint, backoff_initial_ms, &backoff_range),
	GENERAL("BackoffMaxMs", rv_ini_parse_uint, backoff_max_ms, &backoff_range),
	GENERAL("AdminGroup", parse_group, admin_group, NULL),
	GENERAL("PortalProbe", parse_portal_probe, portal_probe, NULL),
	GENERAL("PortalExpect", parse_optional_string, portal_expect, NULL),
	GENERAL("PortalTimeoutMs", rv_ini_parse_uint, portal_timeout_ms, &portal_timeout_range),
	GENERAL("PortalWindowSec", rv_ini_parse_uint, portal_window_s, &portal_window_range),
	RV_INI_KEYS_END
};

void rv_settings_defaults(struct rv_settings *s)
{
	s->dns_method = g_strdup(DEFAULT_DNS_METHOD);
	s->debounce_ms = DEFAULT_DEBOUNCE_MS;
	s->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
	s->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
	s->admin_group = g_strdup(DEFAULT_ADMIN_GROUP);
	s->portal_probe = NULL;		/* off unless configured: it talks to a server */
	s->portal_expect = NULL;
	s->portal_timeout_ms = DEFAULT_PORTAL_TIMEOUT_MS;
	s->portal_window_s = DEFAULT_PORTAL_WINDOW_S;
}

void rv_settings_clear(struct rv_settings *s)
{
	g_clear_pointer(&s->dns_method, g_free);
	g_clear_pointer(&s->admin_group, g_free);
	g_clear_pointer(&s->portal_probe, g_free);
	g_clear_pointer(&s->portal_expect, g_free);
}

/* Cross-key check: said at BackoffMaxMs= if given, else at BackoffInitialMs=. */
static bool check_backoff(const struct rv_settings *s, const struct rv_ini *ini, GPtrArray *errors)
{
	const struct rv_ini_section *sec = rv_ini_find_section(ini, "General");
	const struct rv_ini_entry *e;

	if (s->backoff_max_ms >= s->backoff_initial_ms)
		return true;
	e = rv_ini_find_entry(sec, "BackoffMaxMs");
	if (!e)
		e = rv_ini_find_entry(sec, "BackoffInitialMs");
	rv_ini_error(errors, ini->path, e ? e->line : sec->line,
		     "BackoffMaxMs (%u) is less than BackoffInitialMs (%u)",
		     s->backoff_max_ms, s->backoff_initial_ms);
	return false;
}

int rv_settings_load(struct rv_settings *s, const char *path, GPtrArray *errors)
{
	g_autofree char *text = NULL;
	g_autoptr(rv_ini) ini = NULL;
	struct rv_settings loaded = { 0 };
	int r;

	rv_settings_clear(s);
	rv_settings_defaults(s);

	r = rv_ini_read_file(path, &text, NULL, errors);
	if (r == -ENOENT)
		return 0;	/* no file: all defaults */
	if (r < 0)
		return -EINVAL;
	ini = rv_ini_parse(path, text, 0, errors);
	if (!ini)
		return -EINVAL;

	rv_settings_defaults(&loaded);
	if (!rv_ini_apply(ini, settings_keys, &loaded, 0, "roamvpn.conf has only [General]", errors) ||
	    !check_backoff(&loaded, ini, errors)) {
		rv_settings_clear(&loaded);
		return -EINVAL;
	}
	rv_settings_clear(s);
	*s = loaded;
	return 0;
}

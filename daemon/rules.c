/* rules.c - rule files (rules/NN-name.rules): reading them ([Match] keys and their
 * limits, [Action]), which values of a link each key is matched against, and the
 * reasons a rule did not match (see rules.h and docs/rules.md). The pattern
 * language itself (byte globs, quotes, escapes, negation) is rule-pattern.c's.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "ini.h"
#include "rule-pattern.h"
#include "rules.h"
#include "ssid.h"
#include "validate.h"

enum match_key {
	KEY_NAME,
	KEY_TYPE,
	KEY_SSID,
	KEY_BSSID,
	KEY_GATEWAY,
	KEY_CARRIER,
	KEY_COUNT,
};

static const char *const match_key_names[KEY_COUNT] = {
	[KEY_NAME] = "Name",
	[KEY_TYPE] = "Type",
	[KEY_SSID] = "SSID",
	[KEY_BSSID] = "BSSID",
	[KEY_GATEWAY] = "Gateway",
	[KEY_CARRIER] = "Carrier",
};

struct match {
	enum match_key key;
	int line;
	GPtrArray *patterns;	/* struct rv_pattern * */
	bool carrier;		/* KEY_CARRIER only */
};

struct rv_rule {
	char *id;
	char *path;
	GPtrArray *matches;	/* struct match *, in file order */
	enum rv_action action;
	char *tunnel;
	bool kill_switch;	/* [Action] KillSwitch=yes (with Connect= only) */
};

static void match_free(gpointer p)
{
	struct match *m = p;

	if (m->patterns)
		g_ptr_array_unref(m->patterns);
	g_free(m);
}

void rv_rule_free(struct rv_rule *rule)
{
	if (!rule)
		return;
	g_free(rule->id);
	g_free(rule->path);
	g_ptr_array_unref(rule->matches);
	g_free(rule->tunnel);
	g_free(rule);
}

void rv_ruleset_free(struct rv_ruleset *set)
{
	if (!set)
		return;
	g_ptr_array_unref(set->rules);
	g_free(set);
}

/* Returns the parsed match or NULL with *error set. */
static struct match *parse_match(enum match_key key, const struct rv_ini_entry *e, char **error)
{
	g_autoptr(GPtrArray) patterns = NULL;
	struct match *m;

	if (key == KEY_CARRIER) {
		bool carrier;

		if (!rv_ini_bool_from_string(e->value, &carrier)) {
			*error = g_strdup_printf("'%s' is not yes or no", e->value);
			return NULL;
		}
		m = g_new0(struct match, 1);
		m->key = key;
		m->line = e->line;
		m->carrier = carrier;
		return m;
	}

	patterns = rv_patterns_parse(e->value, error);
	if (!patterns)
		return NULL;
	for (guint i = 0; i < patterns->len; i++) {
		struct rv_pattern *pat = g_ptr_array_index(patterns, i);
		size_t min_len = rv_pattern_min_len(pat);

		switch (key) {
		case KEY_SSID:
			if (min_len > RV_SSID_MAX_LEN) {
				*error = g_strdup_printf("'%s' needs %zu bytes, an SSID has at most %d",
							 pat->text, min_len, RV_SSID_MAX_LEN);
				return NULL;
			}
			break;
		case KEY_NAME:
			if (min_len > RV_IFNAME_MAX_LEN || (min_len == 0 && !rv_pattern_has_wildcard(pat))) {
				*error = g_strdup_printf("'%s' cannot be an interface name (1 to %d bytes)",
							 pat->text, RV_IFNAME_MAX_LEN);
				return NULL;
			}
			break;
		case KEY_TYPE:
			if (min_len == 0 && !rv_pattern_has_wildcard(pat)) {
				*error = g_strdup("empty type");
				return NULL;
			}
			break;
		case KEY_BSSID:
		case KEY_GATEWAY:
			if (!rv_pattern_check_mac(pat, error))
				return NULL;
			break;
		case KEY_CARRIER:
		case KEY_COUNT:
			g_assert_not_reached();
		}
	}
	m = g_new0(struct match, 1);
	m->key = key;
	m->line = e->line;
	m->patterns = g_steal_pointer(&patterns);
	return m;
}

/* While a file is parsed: the rule it fills and what the [Action] keys check against. */
struct rule_parse {
	struct rv_rule *rule;
	GHashTable *tunnels;	/* NULL: do not check that tunnels exist */
	int action_line;	/* of the first action key */
	int kill_switch_line;
};

static bool parse_match_key(const struct rv_ini_value *v, void *field)
{
	struct rv_rule *rule = *(struct rv_rule **)field;
	g_autofree char *error = NULL;
	struct match *m = parse_match((enum match_key)GPOINTER_TO_INT(v->key->data), v->entry, &error);

	if (!m) {
		rv_ini_value_error(v, "%s=: %s", v->entry->key, error);
		return false;
	}
	g_ptr_array_add(rule->matches, m);
	return true;
}

static bool parse_action_key(const struct rv_ini_value *v, void *field)
{
	struct rule_parse *ctx = field;
	struct rv_rule *rule = ctx->rule;
	enum rv_action action = (enum rv_action)GPOINTER_TO_INT(v->key->data);
	const char *value = v->value;
	bool ok = true;

	if (ctx->action_line) {
		rv_ini_value_error(v, "a second action %s= (the first is at line %d); a rule has exactly one",
				   v->entry->key, ctx->action_line);
		return false;
	}
	ctx->action_line = v->entry->line;

	if (action == RV_ACTION_IGNORE) {
		bool yes;

		if (!rv_ini_bool_from_string(value, &yes) || !yes) {
			rv_ini_value_error(v, "Ignore= only takes yes");
			ok = false;
		}
	} else if (action == RV_ACTION_DISCONNECT && g_str_equal(value, "all")) {
		/* always valid */
	} else if (g_str_equal(value, "all")) {
		rv_ini_value_error(v, "Connect=all is not possible; name one tunnel");
		ok = false;
	} else if (!rv_tunnel_name_valid(value)) {
		rv_ini_bad_value(v, "is not a tunnel name (1-15 of A-Z a-z 0-9 _ . -)");
		ok = false;
	} else if (ctx->tunnels && !g_hash_table_contains(ctx->tunnels, value)) {
		rv_ini_value_error(v, "%s=: unknown tunnel '%s' (no tunnels/%s.conf)",
				   v->entry->key, value, value);
		ok = false;
	}
	rule->action = action;
	g_free(rule->tunnel);
	rule->tunnel = action == RV_ACTION_IGNORE ? NULL : g_strdup(value);
	return ok;
}

/* KillSwitch= modifies Connect=; it is not an action of its own. */
static bool parse_kill_switch(const struct rv_ini_value *v, void *field)
{
	struct rule_parse *ctx = field;

	ctx->kill_switch_line = v->entry->line;
	return rv_ini_parse_bool(v, &ctx->rule->kill_switch);
}

#define MATCH(name, key) \
	{ "Match", name, parse_match_key, offsetof(struct rule_parse, rule), RV_INI_ONCE, \
	  GINT_TO_POINTER(key), "put all patterns on one line" }
#define ACTION(name, action) \
	{ "Action", name, parse_action_key, 0, 0, GINT_TO_POINTER(action), NULL }

/* Every key of a rule file. A rule has exactly one action; parse_action_key sees to it. */
static const struct rv_ini_key rule_keys[] = {
	MATCH("Name", KEY_NAME),
	MATCH("Type", KEY_TYPE),
	MATCH("SSID", KEY_SSID),
	MATCH("BSSID", KEY_BSSID),
	MATCH("Gateway", KEY_GATEWAY),
	MATCH("Carrier", KEY_CARRIER),
	ACTION("Connect", RV_ACTION_CONNECT),
	ACTION("Disconnect", RV_ACTION_DISCONNECT),
	ACTION("Ignore", RV_ACTION_IGNORE),
	{ "Action", "KillSwitch", parse_kill_switch, 0, RV_INI_ONCE, NULL, NULL },
	RV_INI_KEYS_END
};

static char *rule_id_from_path(const char *path)
{
	g_autofree char *base = g_path_get_basename(path);

	if (g_str_has_suffix(base, ".rules"))
		base[strlen(base) - strlen(".rules")] = '\0';
	/* The id is shown on D-Bus, in logs and JSON: text, whatever the file's bytes. */
	return rv_text_escape(base);
}

struct rv_rule *rv_rule_parse(const char *path, const char *text,
			      GHashTable *tunnels, GPtrArray *errors)
{
	g_autoptr(rv_ini) ini = rv_ini_parse(path, text, 0, errors);
	const struct rv_ini_section *action_section;
	struct rule_parse ctx = { .tunnels = tunnels };
	bool ok;

	if (!ini)
		return NULL;

	ctx.rule = g_new0(struct rv_rule, 1);
	ctx.rule->id = rule_id_from_path(path);
	ctx.rule->path = g_strdup(path);
	ctx.rule->matches = g_ptr_array_new_with_free_func(match_free);

	ok = rv_ini_apply(ini, rule_keys, &ctx, RV_INI_APPLY_SECTIONS_FIRST,
			  "a rule has [Match] and [Action]", errors);
	action_section = rv_ini_find_section(ini, "Action");
	if (!action_section) {
		rv_ini_error(errors, path, 1,
			     "no [Action] section (need Connect=TUNNEL, Disconnect=TUNNEL|all or Ignore=yes)");
		ok = false;
	} else if (!ctx.action_line) {
		rv_ini_error(errors, path, action_section->line,
			     "[Action] needs one of Connect=TUNNEL, Disconnect=TUNNEL|all, Ignore=yes");
		ok = false;
	} else if (ctx.rule->kill_switch && ctx.rule->action != RV_ACTION_CONNECT) {
		/* Without a tunnel to wait for, "nothing but the tunnel" is "nothing". */
		rv_ini_error(errors, path, ctx.kill_switch_line,
			     "KillSwitch=yes needs Connect=TUNNEL (the tunnel is what it lets through)");
		ok = false;
	}

	if (!ok) {
		rv_rule_free(ctx.rule);
		return NULL;
	}
	return ctx.rule;
}

static int compare_names(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct rv_ruleset *rv_ruleset_load_dir(const char *dir, GHashTable *tunnels,
				       GPtrArray *errors)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &error);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_ruleset) set = g_new0(struct rv_ruleset, 1);
	const char *name;
	bool ok = true;

	set->rules = g_ptr_array_new_with_free_func((GDestroyNotify)rv_rule_free);
	if (!d) {
		/* No rules directory: no automation, which is a valid setup. */
		if (g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return g_steal_pointer(&set);
		rv_ini_error(errors, dir, 0, "%s", error->message);
		return NULL;
	}
	while ((name = g_dir_read_name(d)))
		if (name[0] != '.' && g_str_has_suffix(name, ".rules"))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, compare_names);

	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(dir, g_ptr_array_index(names, i), NULL);
		g_autofree char *text = NULL;
		struct rv_rule *rule;
		int r = rv_ini_read_file(path, &text, NULL, errors);

		if (r < 0) {
			if (r == -ENOENT)	/* removed since the directory was read */
				rv_ini_error(errors, path, 0, "%s", g_strerror(-r));
			ok = false;
			continue;
		}
		rule = rv_rule_parse(path, text, tunnels, errors);
		if (!rule) {
			ok = false;
			continue;
		}
		g_ptr_array_add(set->rules, rule);
	}
	if (!ok)
		return NULL;
	return g_steal_pointer(&set);
}

const char *rv_rule_id(const struct rv_rule *rule)
{
	return rule->id;
}

const char *rv_rule_path(const struct rv_rule *rule)
{
	return rule->path;
}

enum rv_action rv_rule_action(const struct rv_rule *rule)
{
	return rule->action;
}

const char *rv_rule_tunnel(const struct rv_rule *rule)
{
	return rule->tunnel;
}

bool rv_rule_kill_switch(const struct rv_rule *rule)
{
	return rule->kill_switch;
}

const struct rv_rule *rv_ruleset_lookup(const struct rv_ruleset *set, const char *id)
{
	for (guint i = 0; set && id && i < set->rules->len; i++) {
		const struct rv_rule *rule = g_ptr_array_index(set->rules, i);

		if (g_str_equal(rule->id, id))
			return rule;
	}
	return NULL;
}

char *rv_rule_describe_action(const struct rv_rule *rule)
{
	switch (rule->action) {
	case RV_ACTION_CONNECT:
		return g_strdup_printf("connect %s%s", rule->tunnel,
				       rule->kill_switch ? " (kill switch)" : "");
	case RV_ACTION_DISCONNECT:
		return g_strdup_printf("disconnect %s", rule->tunnel);
	case RV_ACTION_IGNORE:
		break;
	}
	return g_strdup("ignore");
}

/* --- matching ------------------------------------------------------------------ */

static struct rv_pattern_value str_value(const char *s)
{
	return (struct rv_pattern_value){ (const uint8_t *)s, strlen(s) };
}
/* Does one key match? On a mismatch *why (if asked for) says why. */
static bool match_one(const struct match *m, const struct rv_link *link, char **why)
{
	struct rv_pattern_value values[2];
	size_t n_values = 0;
	g_autofree char *shown = NULL;		/* the link's value, escaped, for messages */
	char mac_text[18];
	const struct rv_pattern *excluded_by;

	switch (m->key) {
	case KEY_CARRIER:
		if (link->carrier == m->carrier)
			return true;
		if (why)
			*why = g_strdup_printf("Carrier %s does not match %s",
					       link->carrier ? "yes" : "no", m->carrier ? "yes" : "no");
		return false;
	case KEY_NAME:
		if (!link->name)
			goto unknown;
		values[n_values++] = str_value(link->name);
		shown = rv_ssid_escape(values[0].data, values[0].len);
		break;
	case KEY_TYPE:
		if (link->type)
			values[n_values++] = str_value(link->type);
		if (link->kind && (!link->type || !g_str_equal(link->kind, link->type)))
			values[n_values++] = str_value(link->kind);
		if (n_values == 0)
			goto unknown;
		{
			g_autofree char *a = rv_ssid_escape(values[0].data, values[0].len);
			g_autofree char *b = n_values > 1 ? rv_ssid_escape(values[1].data, values[1].len) : NULL;

			shown = b ? g_strdup_printf("%s (kind %s)", a, b) : g_steal_pointer(&a);
		}
		break;
	case KEY_SSID: {
		gsize len;
		const uint8_t *data;

		if (!link->ssid)
			goto unknown;
		data = g_bytes_get_data(link->ssid, &len);
		values[n_values++] = (struct rv_pattern_value){ data ? data : (const uint8_t *)"", len };
		g_autofree char *escaped = rv_ssid_escape(values[0].data, values[0].len);
		shown = g_strdup_printf("\"%s\"", escaped);
		break;
	}
	case KEY_BSSID:
	case KEY_GATEWAY: {
		const uint8_t *mac = m->key == KEY_BSSID ? link->bssid : link->gateway_mac;
		bool known = m->key == KEY_BSSID ? link->has_bssid : link->has_gateway_mac;
		g_autofree char *text = NULL;

		if (!known)
			goto unknown;
		text = rv_mac_to_string(mac);
		g_strlcpy(mac_text, text, sizeof(mac_text));
		values[n_values++] = str_value(mac_text);
		shown = g_strdup(mac_text);
		break;
	}
	case KEY_COUNT:
		g_assert_not_reached();
	}

	if (rv_patterns_match(m->patterns, values, n_values, &excluded_by))
		return true;
	if (why) {
		if (excluded_by) {
			*why = g_strdup_printf("%s %s is excluded by !%s", match_key_names[m->key],
					       shown, excluded_by->text);
		} else {
			g_autofree char *wanted = rv_patterns_positive(m->patterns);

			*why = g_strdup_printf("%s %s does not match %s", match_key_names[m->key],
					       shown, wanted);
		}
	}
	return false;

unknown:
	/* Unknown is not "not HomeNet": a rule that names a key never matches a
	 * link whose value for it is unknown, negated patterns included. */
	if (why) {
		static const char *const what[KEY_COUNT] = {
			[KEY_NAME] = "interface name", [KEY_TYPE] = "type",
			[KEY_SSID] = "SSID", [KEY_BSSID] = "BSSID",
			[KEY_GATEWAY] = "gateway MAC",
		};
		*why = g_strdup_printf("no %s known", what[m->key]);
	}
	return false;
}

bool rv_rule_matches(const struct rv_rule *rule, const struct rv_link *link, char **why)
{
	if (why)
		*why = NULL;
	for (guint i = 0; i < rule->matches->len; i++)
		if (!match_one(g_ptr_array_index(rule->matches, i), link, why))
			return false;
	return true;
}

const struct rv_rule *rv_ruleset_match(const struct rv_ruleset *set,
				       const struct rv_link *link)
{
	for (guint i = 0; i < set->rules->len; i++) {
		const struct rv_rule *rule = g_ptr_array_index(set->rules, i);

		if (rv_rule_matches(rule, link, NULL))
			return rule;
	}
	return NULL;
}

static void verdict_free(gpointer p)
{
	struct rv_rule_verdict *v = p;

	g_free(v->reason);
	g_free(v);
}

GPtrArray *rv_ruleset_explain(const struct rv_ruleset *set, const struct rv_link *link)
{
	GPtrArray *verdicts = g_ptr_array_new_with_free_func(verdict_free);

	for (guint i = 0; i < set->rules->len; i++) {
		struct rv_rule_verdict *v = g_new0(struct rv_rule_verdict, 1);

		v->rule = g_ptr_array_index(set->rules, i);
		v->matched = rv_rule_matches(v->rule, link, &v->reason);
		g_ptr_array_add(verdicts, v);
		if (v->matched)
			break;
	}
	return verdicts;
}

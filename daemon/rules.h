/* rules.h - policy rules: /etc/roamvpn/rules/NN-name.rules, first match per link.
 *
 * Rule files are read in lexical order; each holds one [Match] and one [Action].
 * Every match key is a space-separated list of patterns (globs, "quoted strings",
 * \xNN escapes, leading ! negates); a key matches when the link's value matches any
 * positive pattern (if there is one) and no negated pattern. All keys must match.
 * A link whose value for a key is unknown (no SSID, no gateway MAC yet) never matches
 * a rule naming that key, negated patterns included. See docs/rules.md.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "link.h"

enum rv_action {
	RV_ACTION_CONNECT,
	RV_ACTION_DISCONNECT,
	RV_ACTION_IGNORE,
};

struct rv_rule;			/* opaque */

struct rv_ruleset {
	GPtrArray *rules;	/* struct rv_rule *, in file order */
};

/* Load DIR/NN-name.rules files in lexical order. tunnels (name -> anything) is used to reject
 * Connect=/Disconnect= of unknown tunnels; NULL skips that check. Returns NULL when
 * any file has an error; every error is appended to errors as "FILE:LINE: msg". */
struct rv_ruleset *rv_ruleset_load_dir(const char *dir, GHashTable *tunnels,
				       GPtrArray *errors);
/* One rule from text (for tests and reload); its id is path's file name without .rules. */
struct rv_rule *rv_rule_parse(const char *path, const char *text,
			      GHashTable *tunnels, GPtrArray *errors);
void rv_rule_free(struct rv_rule *rule);
void rv_ruleset_free(struct rv_ruleset *set);
typedef struct rv_ruleset rv_ruleset;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_ruleset, rv_ruleset_free)

const char *rv_rule_id(const struct rv_rule *rule);	/* "50-untrusted-wifi" */
const char *rv_rule_path(const struct rv_rule *rule);
enum rv_action rv_rule_action(const struct rv_rule *rule);
/* Connect=/Disconnect= target; "all" for Disconnect=all; NULL for Ignore. */
const char *rv_rule_tunnel(const struct rv_rule *rule);
/* [Action] KillSwitch=yes: while this rule holds on a link, nothing but the tunnel
 * leaves it (killswitch.h). Only ever true with Connect=. */
bool rv_rule_kill_switch(const struct rv_rule *rule);
/* The rule with this id ("50-untrusted-wifi"), or NULL. */
const struct rv_rule *rv_ruleset_lookup(const struct rv_ruleset *set, const char *id);
/* "connect corp", "connect corp (kill switch)", "disconnect all", "ignore" */
char *rv_rule_describe_action(const struct rv_rule *rule);

/* Does the rule match the link? If why is non-NULL and it does not match, *why gets
 * a human reason naming the first failing key, e.g.
 * "SSID \"HomeNet\" is excluded by !HomeNet" or "Type wlan does not match ether". */
bool rv_rule_matches(const struct rv_rule *rule, const struct rv_link *link, char **why);

/* First matching rule for the link, or NULL. */
const struct rv_rule *rv_ruleset_match(const struct rv_ruleset *set,
				       const struct rv_link *link);

struct rv_rule_verdict {
	const struct rv_rule *rule;
	bool matched;
	char *reason;		/* why not (NULL when matched) */
};
/* Verdicts for every rule up to and including the first match. Free with
 * g_ptr_array_unref. */
GPtrArray *rv_ruleset_explain(const struct rv_ruleset *set, const struct rv_link *link);

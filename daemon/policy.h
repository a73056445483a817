/* policy.h - from the network view and the rules to decisions: a pure function.
 *
 * Each active link (link.h: rv_link_is_active) that is not a tunnel's own device
 * is matched against the rules, first match wins; the result is a struct
 * rv_decision (which rule, what it wants, and why every earlier rule did not
 * match). Nothing here writes into links or keeps state: the caller (manager.c)
 * keeps the decisions, and D-Bus and `explain` read them from there.
 *
 * Then the links are combined: a tunnel is wanted when at least ONE active link's
 * rule says Connect= it ("connect wins"). Disconnect= ends the evaluation for its
 * link (a trusted network) without wanting anything; Ignore=yes takes a link out
 * of policy. Why connect wins: with several links up, packets may leave through
 * any of them as route metrics change underneath us; if one is untrusted, the
 * tunnel must be up. docs/policy.md explains this with examples.
 */
#pragma once

#include <glib.h>

#include "rules.h"

/* Why a rule did or did not match one link. */
struct rv_verdict {
	char *rule;		/* rule id */
	bool matched;
	char *reason;		/* why not (NULL when matched) */
};

/* What the policy decided for one link. */
struct rv_decision {
	int ifindex;
	char *excluded;		/* why the link takes no part ("inactive (down)", ...) or NULL */
	char *rule;		/* id of the matching rule, or NULL */
	char *action;		/* "connect corp", "disconnect all", "ignore", "none" (no rule
				 * matched); NULL when excluded */
	char *connect;		/* the tunnel this link wants, or NULL */
	GPtrArray *verdicts;	/* struct rv_verdict *, every rule up to the first match */
};

/* The decision for one link. tunnel_devices: set of interface names that belong
 * to our tunnels (skipped); skip: set of link names taken out by a predown hook;
 * both may be NULL. rules may be NULL (no rules: nothing matches). */
struct rv_decision *rv_policy_decide(const struct rv_ruleset *rules, const struct rv_link *link,
				     GHashTable *tunnel_devices, GHashTable *skip);
void rv_decision_free(struct rv_decision *decision);
/* Same rule and action (what D-Bus shows of a decision). */
bool rv_decision_same(const struct rv_decision *a, const struct rv_decision *b);
typedef struct rv_decision rv_decision;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_decision, rv_decision_free)

/* Decide for every link: decisions (GINT_TO_POINTER(ifindex) -> struct rv_decision *,
 * filled; make it with rv_policy_decisions_new) and wanted (tunnel name -> name of
 * the first link in ifindex order that wants it; g_free'd keys and values). */
GHashTable *rv_policy_decisions_new(void);
void rv_policy_evaluate(const struct rv_ruleset *rules, GPtrArray *links,
			GHashTable *tunnel_devices, GHashTable *skip,
			GHashTable *decisions, GHashTable *wanted);

/* A string that changes exactly when the network facts that rules can see change
 * for this link (whether it is active, its name, type, SSID, BSSID, gateway MAC);
 * "" for a link that takes no part. */
char *rv_policy_link_fingerprint(const struct rv_link *link, GHashTable *tunnel_devices,
				 GHashTable *skip);
/* Which network this link is on: active, its type and SSID. A change here is "the
 * next network change" that ends a pause or a manual override; a gateway MAC
 * becoming known, or a roam between access points of one SSID, is not. */
char *rv_policy_link_identity(const struct rv_link *link, GHashTable *tunnel_devices,
			      GHashTable *skip);
/* The same for a whole view (links in ifindex order), concatenated. */
char *rv_policy_fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip);
char *rv_policy_network_identity(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip);
/* Why a link takes no part: "inactive (no carrier)", "tunnel device", ... or NULL. */
const char *rv_policy_link_excluded(const struct rv_link *link, GHashTable *tunnel_devices,
				    GHashTable *skip);

/* policy.h - from links and rules to the set of wanted tunnels.
 *
 * Each active link (link.h: rv_link_is_active) that is not a tunnel's own device
 * is matched against the rules, first match wins. Then the links are combined:
 * a tunnel is wanted when at least ONE active link's rule says Connect= it
 * ("connect wins"). Disconnect= ends the evaluation for its link (a trusted
 * network) without wanting anything; Ignore=yes takes a link out of policy. Why
 * connect wins: with several links up, packets may leave through any of them as
 * route metrics change underneath us; if one is untrusted, the tunnel must be up.
 * docs/policy.md explains this with examples.
 */
#pragma once

#include <glib.h>

#include "rules.h"

/* Decide for every link (recorded with rv_links_set_decision) and fill wanted:
 * tunnel name -> name of the first link (ifindex order) that wants it.
 * tunnel_devices: set of interface names that belong to our tunnels (skipped);
 * skip: set of link names taken out by a predown hook; both may be NULL. */
void rv_policy_evaluate(const struct rv_ruleset *rules, GPtrArray *links,
			GHashTable *tunnel_devices, GHashTable *skip, GHashTable *wanted);
/* A string that changes exactly when the network facts that rules can see change
 * (which links are active, their type, SSID, BSSID, gateway MAC). */
char *rv_policy_fingerprint(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip);
/* Which networks we are on: active links, their type and SSID. A change here is
 * "the next network change" that ends a pause or a manual override; a gateway
 * MAC becoming known, or a roam between access points of one SSID, is not. */
char *rv_policy_network_identity(GPtrArray *links, GHashTable *tunnel_devices, GHashTable *skip);
/* Why a link takes no part: "inactive (no carrier)", "tunnel device", ... or NULL. */
const char *rv_policy_link_excluded(const struct rv_link *link, GHashTable *tunnel_devices,
				    GHashTable *skip);

/* killswitch.h - the kill switch: an nftables table of the daemon's own, "inet roamvpn".
 *
 * While a rule with KillSwitch=yes holds on a link ("guarded" link), nothing leaves
 * that link but: the encrypted traffic of the rule's tunnel to its endpoint(s)
 * (WireGuard UDP; IKE/NAT-T/ESP for vpnc and ipsec; TCP 1723 + GRE for pptp; ...),
 * DHCPv4/v6, IPv6 neighbour discovery and router solicitation, and the daemon's own
 * marked captive-portal probe. Everything else is rejected, IPv6 included, so once
 * the tunnel is up traffic goes through the tunnel device or not at all; while a
 * kill-switched tunnel is up, DNS to any server outside the tunnel is rejected too.
 * A portal login window (rv_killswitch_set_window) also lets DNS out of the link
 * and HTTP/HTTPS, for a bounded time.
 *
 * The table is replaced as a whole in one nftables transaction; no other table is
 * touched. It is fail-closed: a crash leaves it in place, the next start replaces
 * it with what the rules say (rv_killswitch_sync), a clean stop removes it
 * (rv_killswitch_shutdown). docs/killswitch.md describes it for users.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "rules.h"
#include "tunnel.h"

#define RV_KILLSWITCH_TABLE "roamvpn"
/* SO_MARK of the portal probe's socket: the only daemon traffic the closed switch
 * lets out besides the tunnel ("RVP"). */
#define RV_PORTAL_PROBE_MARK 0x525650

/* Open libnftables; note a table left by a crashed predecessor (kept, fail closed,
 * until the first sync decides). A kernel without nfnetlink is not an error: the
 * daemon runs, and the switch says "unavailable" where a rule wants it. */
int rv_killswitch_init(GError **error);
/* After every policy evaluation: which links does a KillSwitch=yes rule hold?
 * decisions: GINT_TO_POINTER(ifindex) -> struct rv_decision * (policy.h). Links
 * that took no part (down, no carrier, predown, gone) keep their switch until a
 * decision for the link says otherwise: a network change never opens it early. */
/* changed: set of GINT_TO_POINTER(ifindex) whose decision changed since the last
 * sync (only those are looked at), or NULL to look at every decision. */
void rv_killswitch_sync(const struct rv_ruleset *rules, GHashTable *decisions, GHashTable *changed);
/* The portal's probe target on a link (allowed out of a closed switch): TCP to
 * addr:port from sockets carrying RV_PORTAL_PROBE_MARK. addr NULL clears it. */
void rv_killswitch_set_probe(const char *ifname, const char *addr, guint16 port);
/* Open (or close) the login window on a guarded link: DNS out of the link and TCP
 * 80/443 pass too, and login_port (the login page's port, 0: none) when the portal
 * serves it elsewhere. */
void rv_killswitch_set_window(const char *ifname, bool open, guint16 login_port);
/* Some part of the daemon needs DNS out of guarded links for a short, bounded time
 * (resolving endpoint or probe names before the switch closes); counted. */
void rv_killswitch_hold_dns(bool hold);
/* Clean stop: remove the table. */
void rv_killswitch_shutdown(void);
/* Free memory; the table is left as it is. */
void rv_killswitch_exit(void);

/* For D-Bus and roamvpnctl. State: "" (no kill switch on this link), "closed"
 * (tunnel not up: only the tunnel's handshake, DHCP, ND pass), "tunnel" (tunnel up:
 * everything else only through it), "login-window", "unavailable" (a rule wants it
 * but the kernel has no nftables: nothing is blocked). */
const char *rv_killswitch_state(const char *ifname);
/* "rule 50-cafe: KillSwitch=yes, Connect=corp" or "" */
char *rv_killswitch_reason(const char *ifname);
/* Lines of what the switch lets out of the link now, for explain. NULL when off. */
char *rv_killswitch_explain(const char *ifname);
/* What a tunnel lets through a closed switch (its backend's servers(), from the
 * parsed configuration), as "udp HOST PORT", "tcp HOST PORT", "esp HOST", "gre HOST"
 * (hosts as written); for tests. */
GPtrArray *rv_killswitch_endpoints(const struct rv_tunnel_config *cfg);
/* Is the table installed (by us or left by a predecessor)? */
bool rv_killswitch_installed(void);

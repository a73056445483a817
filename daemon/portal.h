/* portal.h - captive portal detection and the login window.
 *
 * With roamvpn.conf PortalProbe=URL, a link that a rule wants a tunnel for is
 * probed once it joins a network (has a default gateway), before the tunnel starts:
 * an HTTP/1.1 GET of the URL over that link only (SO_BINDTODEVICE, and the mark the
 * kill switch lets out, killswitch.h). The expected answer (PortalExpect= text at the
 * start of a 200 body, or "204 No Content") means "online"; a redirect or anything
 * else means "portal", and the tunnel waits instead of failing in a loop. No answer
 * at all is not a portal ("no-answer"): the tunnel may try.
 *
 * A login window (rv_portal_open_window, `roamvpnctl portal`) opens the kill switch
 * for DNS and HTTP/HTTPS on the link for PortalWindowSec, re-probing every few
 * seconds; when the probe passes, the window closes and the tunnel starts; when the
 * time is up, the switch closes again.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "settings.h"

/* changed: called (from the main loop) when a probe result changes what may start;
 * the caller evaluates again, which calls rv_portal_gate. */
void rv_portal_init(void (*changed)(void));
void rv_portal_exit(void);
/* New PortalProbe=/PortalExpect=/... values (a copy is kept). */
void rv_portal_configure(const struct rv_settings *settings);
/* After the policy decided (decisions: GINT_TO_POINTER(ifindex) -> struct
 * rv_decision *): wanted is tunnel name -> trigger link name. Starts
 * probes for links that need one and removes the tunnels whose trigger link is
 * being probed or sits behind a portal ("the tunnel waits"). */
void rv_portal_gate(GHashTable *decisions, GHashTable *wanted);

/* Link state for D-Bus: "" (not probed), "waiting" (no gateway yet), "probing",
 * "portal", "online", "no-answer", "login-window". */
const char *rv_portal_state(const char *ifname);
/* Where the portal redirected the probe to ("" if unknown). */
const char *rv_portal_location(const char *ifname);
/* Open the login window on ifname (NULL: the one link behind a portal). Returns the
 * window's length in seconds, or -errno with error set. */
int rv_portal_open_window(const char *ifname, GError **error);
/* Judge a complete HTTP answer to the probe (untrusted bytes, len of them): true
 * for the expected one (expect: the body's start, NULL: "204 No Content"). Either
 * way *detail says what was seen and *location is the redirect target (printable
 * ASCII, at most 1024 bytes) or NULL; both for the caller to free. */
bool rv_portal_judge(const char *answer, size_t len, const char *expect, char **location,
		     char **detail);
/* The login page a redirect names, as something to show and to hand to a browser:
 * location (untrusted, from the network) resolved against the probe's URL, kept only
 * when it is http:// or https:// with a host and no user part. NULL otherwise; for
 * the caller to free. */
char *rv_portal_login_url(const char *probe_url, const char *location);
/* Lines for explain; NULL when the link has no portal state. */
char *rv_portal_explain(const char *ifname);

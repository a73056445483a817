/* settings.h - the daemon's own configuration, /etc/roamvpn/roamvpn.conf.
 *
 * [General]
 * DNS=auto|file|resolvconf|resolved     (auto)
 * DebounceMs=300                        link changes settle this long before policy runs
 * BackoffInitialMs=1000                 first retry after a backend failure
 * BackoffMaxMs=60000                    retries double up to this
 * AdminGroup=netdev                     may call mutating D-Bus methods (besides root)
 * PortalProbe=no|http://HOST[:PORT]/PATH  captive portal check before a tunnel starts (no)
 * PortalExpect=TEXT                     the probe's answer starts with TEXT (unset: HTTP 204)
 * PortalTimeoutMs=5000                  one probe's time limit
 * PortalWindowSec=300                   how long `roamvpnctl portal` opens the kill switch
 *
 * A missing file means all defaults.
 */
#pragma once

#include <glib.h>

struct rv_settings {
	char *dns_method;
	guint debounce_ms;
	guint backoff_initial_ms;
	guint backoff_max_ms;
	char *admin_group;
	char *portal_probe;	/* NULL: no captive portal check */
	char *portal_expect;	/* NULL: expect "204 No Content" */
	guint portal_timeout_ms;
	guint portal_window_s;
};

void rv_settings_defaults(struct rv_settings *s);
/* s must be zeroed or hold settings (they are cleared first). A missing file is all
 * defaults. Returns 0, or -EINVAL with "FILE:LINE: msg" errors (s keeps defaults then). */
int rv_settings_load(struct rv_settings *s, const char *path, GPtrArray *errors);
void rv_settings_clear(struct rv_settings *s);

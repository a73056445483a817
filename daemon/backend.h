/* backend.h - the tunnel backend interface.
 *
 * A backend starts and stops one tunnel and reports what happened; the supervisor
 * decides when. Backends are found by name: "builtin" and "exec" are compiled in,
 * "vpnc" and "pptp" are GModule plugins from PLUGINDIR that call
 * rv_backend_register() from their roamvpn_plugin_init().
 *
 * Contract: start() returns 0 when it has begun (the tunnel is STARTING) and later
 * calls rv_tunnel_report_up() or rv_tunnel_report_down(); a negative errno with
 * *error set if it could not begin at all. stop() always ends with exactly one
 * rv_tunnel_report_down(), possibly before it returns. A backend never reports for
 * a tunnel it is not running.
 */
#pragma once

#include <glib.h>

#include "link.h"
#include "tunnel.h"

struct rv_backend {
	const char *name;
	/* Validate the backend's own section(s) of cfg->ini; append "FILE:LINE: msg".
	 * Return 0 or -EINVAL. May be NULL. */
	int (*check)(const struct rv_tunnel_config *cfg, GPtrArray *errors);
	int (*start)(struct rv_tunnel *tunnel, const struct rv_link *trigger,
		     GError **error);
	void (*stop)(struct rv_tunnel *tunnel);
};

/* backend.c: the registry. */
void rv_backend_register(const struct rv_backend *backend);
const struct rv_backend *rv_backend_lookup(const char *name);
/* Load every plugin in dir (NULL: $ROAMVPN_PLUGIN_DIR if set, else PLUGINDIR). */
void rv_backend_load_plugins(const char *dir);

/* The compiled-in backends (backend-exec.c, backend-builtin.c). */
extern const struct rv_backend rv_backend_exec;
extern const struct rv_backend rv_backend_builtin;

/* Reports, called by backends (implemented by the supervisor). */
void rv_tunnel_report_up(struct rv_tunnel *tunnel, struct rv_tunnel_net *net);
void rv_tunnel_report_down(struct rv_tunnel *tunnel, const char *error);
void rv_tunnel_report_stats(struct rv_tunnel *tunnel, guint64 rx_bytes,
			    guint64 tx_bytes, gint64 last_handshake);

/* Environment for a child that a backend starts for a tunnel: only what it needs,
 * plus ROAMVPN_TUNNEL, ROAMVPN_LINK, ROAMVPN_LINK_TYPE, ROAMVPN_SSID (escaped),
 * ROAMVPN_BSSID of the triggering link. */
char **rv_backend_child_env(const struct rv_tunnel *tunnel, const struct rv_link *trigger);

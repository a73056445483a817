/* supervisor.h - desired versus actual tunnels.
 *
 * The supervisor owns every struct rv_tunnel. Policy (or a manual request) sets
 * tunnel->desired; rv_supervisor_reconcile() starts and stops backends until the
 * actual state follows, never running two instances of one tunnel. Network changes
 * are debounced before policy is asked again; a backend that fails while wanted is
 * restarted with exponential backoff.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "link.h"
#include "tunnel.h"

struct rv_supervisor_params {
	guint debounce_ms;
	guint backoff_initial_ms;
	guint backoff_max_ms;
};

struct rv_supervisor_hooks {
	/* Debounce expired: set every tunnel's desired flag (rv_supervisor_set_desired). */
	void (*evaluate)(void *user_data);
	/* A backend reported up: apply addresses, routes and DNS. On failure the
	 * tunnel is stopped again: nothing stays half up. */
	int (*net_up)(struct rv_tunnel *tunnel, GError **error);
	/* Undo net_up (only called after a successful net_up). */
	void (*net_down)(struct rv_tunnel *tunnel);
	void *user_data;
};

void rv_supervisor_init(const struct rv_supervisor_params *params,
			const struct rv_supervisor_hooks *hooks);
void rv_supervisor_set_params(const struct rv_supervisor_params *params);
void rv_supervisor_exit(void);

/* Takes ownership of cfg. A tunnel with the same name is updated instead: if it
 * runs with a different configuration it is restarted. */
struct rv_tunnel *rv_supervisor_add(struct rv_tunnel_config *cfg);
/* Stop (if needed) and forget the tunnel. */
void rv_supervisor_remove(const char *name);
struct rv_tunnel *rv_supervisor_lookup(const char *name);
GPtrArray *rv_supervisor_tunnels(void);	/* name order; caller frees the array */

/* A link changed: evaluate after the debounce delay (restarting the delay). */
void rv_supervisor_network_changed(void);
/* Evaluate now (manual requests, reload). */
void rv_supervisor_evaluate_now(void);
void rv_supervisor_set_desired(struct rv_tunnel *tunnel, bool desired,
			       const char *triggered_by);
void rv_supervisor_reconcile(void);
/* Stop everything, then call done (after every backend reported down, or a
 * bounded wait). No new starts after this. */
void rv_supervisor_stop_all(void (*done)(void *), void *user_data);

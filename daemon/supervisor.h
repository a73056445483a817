/* supervisor.h - desired versus actual tunnels.
 *
 * The supervisor owns every struct rv_tunnel. The manager hands it the wanted set
 * the policy computed (rv_supervisor_want) or a manual request sets one tunnel's
 * desired flag; rv_supervisor_reconcile() starts and stops backends until the
 * actual state follows, never running two instances of one tunnel. A backend that
 * fails while wanted is restarted with exponential backoff. The supervisor never
 * asks the policy anything: debouncing and evaluation happen before it (manager.c).
 *
 * It is also the one owner of which interfaces are tunnel devices (the policy
 * leaves those out): it knows every tunnel's configured and reported device.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "link.h"
#include "tunnel.h"

struct rv_supervisor_params {
	guint backoff_initial_ms;
	guint backoff_max_ms;
};

/* The next stage down: addresses, routes and DNS of a tunnel that is up. */
struct rv_supervisor_hooks {
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

/* The policy's answer: every tunnel in wanted (name -> what triggered it: a link
 * name or "manual") is desired, every other one is not; then reconcile. Ignored
 * after rv_supervisor_stop_all. */
void rv_supervisor_want(GHashTable *wanted);
/* After an authentication failure a tunnel is held (no retry): a manual up or a
 * changed file releases it. */
void rv_supervisor_clear_hold(struct rv_tunnel *t);
void rv_supervisor_set_desired(struct rv_tunnel *tunnel, bool desired,
			       const char *triggered_by);
void rv_supervisor_reconcile(void);
/* Stop everything, then call done (after every backend reported down, or a
 * bounded wait). No new starts after this. */
void rv_supervisor_stop_all(void (*done)(void *), void *user_data);

/* Interface names our tunnels run on (configured Interface=, the builtin engine's
 * TUN named after its tunnel, the device a backend reported up): a new set of
 * const names, valid until the next change of tunnels. */
GHashTable *rv_supervisor_tunnel_devices(void);

/* routes.h - addresses and routes of a tunnel device, through libnl-route.
 *
 * A split tunnel gets one route per prefix on the device. A full tunnel
 * (0.0.0.0/0 or ::/0) is done like wg-quick: routes in a table of its own, a rule
 * "not fwmark -> that table" and "main table with suppress_prefixlength 0", so the
 * encrypted packets (marked by the engine) and the endpoint keep the old default
 * route; for backends that cannot mark packets, a host route to the endpoint via
 * the current gateway instead. Everything added is remembered per tunnel and
 * removed exactly on rv_routes_remove(). Routes and rules carry routing protocol
 * 94, so rv_routes_init() can remove what a crashed run left behind.
 */
#pragma once

#include <glib.h>

#include "tunnel.h"

int rv_routes_init(GError **error);
void rv_routes_exit(void);
/* fwmark the backend puts on its encrypted packets (0: none, use endpoint route). */
int rv_routes_apply(const char *key, const struct rv_tunnel_net *net, guint32 fwmark,
		    GError **error);
int rv_routes_remove(const char *key, GError **error);

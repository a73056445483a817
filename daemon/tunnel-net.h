/* tunnel-net.h - the last stage of the flow: a running tunnel's routes and DNS.
 *
 * When a backend reports its tunnel up, the supervisor calls the manager's net_up,
 * which lands here: the tunnel's own DNS=/Domains= are settled over what the backend
 * reported, its routes go in (routes.c) and its DNS servers go to the DNS method the
 * manager chose (dns.c). net_down undoes exactly what net_up did, in reverse.
 */
#ifndef ROAMVPN_TUNNEL_NET_H
#define ROAMVPN_TUNNEL_NET_H

#include <glib.h>

#include "dns.h"
#include "tunnel.h"

/* Applies routes and DNS for @t (t->net as the backend reported it); marks what it
 * applied in t->routes_applied and t->dns_applied. -EIO with @error set on failure;
 * what was applied before the failure stays marked, so net_down removes it. */
int rv_tunnel_net_up(struct rv_dns *dns, struct rv_tunnel *t, GError **error);

/* Reverts what rv_tunnel_net_up applied; failures are logged, not returned (the
 * tunnel is going down either way). */
void rv_tunnel_net_down(struct rv_dns *dns, struct rv_tunnel *t);

#endif

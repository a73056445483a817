/* rtnl-filter.h - which route and neighbour messages the network view keeps
 * (rtnl-filter.c): the same test as a predicate (for dumps) and as a socket
 * filter (for events).
 */
#pragma once

#include <stdbool.h>

struct rtnl_route;
struct rtnl_neigh;

/* A main-table unicast default route (no destination, or prefix length 0). */
bool rv_rtnl_is_default_route(struct rtnl_route *route);

/* A unicast IPv4 or IPv6 neighbour. */
bool rv_rtnl_is_unicast_neighbour(struct rtnl_neigh *neigh);

/* Attach to an rtnetlink event socket a classic BPF program that passes every
 * message except the route and neighbour messages the two predicates above
 * reject. 0, or -errno from setsockopt. */
int rv_rtnl_filter_events(int fd);

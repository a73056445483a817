/* link-facts.h - facts about one link read from kernel objects links.c holds
 * (link-facts.c): its type, its default gateway and the gateway's MAC.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct nl_addr;
struct nl_cache;
struct rtnl_link;

struct rv_gateway {
	char *ip;		/* text, owned: the caller frees it */
	struct nl_addr *addr;	/* borrowed from the route */
	uint32_t priority;
	int family;
};

/* "loopback", "ppp", "none", "wlan", "wwan", "ether" or "arpN"; newly allocated. */
char *rv_link_type(struct rtnl_link *nl, const char *name);

/* The best gateway through ifindex among default_routes (struct rtnl_route *):
 * IPv4 first, then the lowest metric. best starts zeroed; best->ip stays NULL
 * when there is none. */
void rv_link_find_gateway(GPtrArray *default_routes, int ifindex, struct rv_gateway *best);

/* The MAC of ip on ifindex from neigh_cache, when the entry is usable. */
bool rv_link_neighbour_mac(struct nl_cache *neigh_cache, int ifindex, struct nl_addr *ip,
			   uint8_t mac[6]);

/* One empty datagram to ip's discard port, so that the kernel resolves its MAC. */
void rv_link_poke_gateway(const char *ip, int family);

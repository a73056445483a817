/* link-facts.c - what the network view reads about one link beyond its link
 * message: the user-facing type (ARP hardware type and sysfs), the best
 * default-route gateway through it and that gateway's MAC from the neighbour
 * table, and the datagram that makes the kernel resolve a MAC not yet known.
 *
 * Stateless: links.c owns the caches and the default-route index and passes them
 * in; these functions only read them (or, for the poke, send one datagram).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "link-facts.h"

static char *read_sysfs_devtype(const char *name)
{
	g_autofree char *path = g_strdup_printf("/sys/class/net/%s/uevent", name);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		if (g_str_has_prefix(*l, "DEVTYPE="))
			return g_strdup(*l + strlen("DEVTYPE="));
	return NULL;
}

static bool sysfs_exists(const char *name, const char *what)
{
	g_autofree char *path = g_strdup_printf("/sys/class/net/%s/%s", name, what);

	return g_file_test(path, G_FILE_TEST_EXISTS);
}

/* The user-facing type, as networkctl shows it: by ARP hardware type, refined for
 * Ethernet-framed devices by the driver's DEVTYPE (wlan, wwan, ...). */
char *rv_link_type(struct rtnl_link *nl, const char *name)
{
	unsigned int arptype = rtnl_link_get_arptype(nl);
	g_autofree char *devtype = NULL;

	switch (arptype) {
	case ARPHRD_LOOPBACK: return g_strdup("loopback");
	case ARPHRD_PPP: return g_strdup("ppp");
	case ARPHRD_NONE: return g_strdup("none");
	case ARPHRD_IEEE80211:
	case ARPHRD_IEEE80211_RADIOTAP: return g_strdup("wlan");
	case ARPHRD_ETHER:
		devtype = read_sysfs_devtype(name);
		if (devtype && (g_str_equal(devtype, "wlan") || g_str_equal(devtype, "wwan")))
			return g_steal_pointer(&devtype);
		if (sysfs_exists(name, "phy80211") || sysfs_exists(name, "wireless"))
			return g_strdup("wlan");
		return g_strdup("ether");
	default:
		return g_strdup_printf("arp%u", arptype);
	}
}

/* The best default-route gateway through ifindex: IPv4 first (its gateway's MAC is
 * the usual network fingerprint), then the lowest metric. */
void rv_link_find_gateway(GPtrArray *default_routes, int ifindex, struct rv_gateway *best)
{
	for (guint i = 0; i < default_routes->len; i++) {
		struct rtnl_route *route = g_ptr_array_index(default_routes, i);
		uint32_t prio = rtnl_route_get_priority(route);
		int family = rtnl_route_get_family(route);
		int n = rtnl_route_get_nnexthops(route);

		for (int j = 0; j < n; j++) {
			struct rtnl_nexthop *nh = rtnl_route_nexthop_n(route, j);
			struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
			char buf[INET6_ADDRSTRLEN + 8];

			if (!gw || rtnl_route_nh_get_ifindex(nh) != ifindex)
				continue;
			if (best->ip) {
				if (best->family == AF_INET && family != AF_INET)
					continue;
				if (best->family == family && best->priority <= prio)
					continue;
				g_free(best->ip);
			}
			best->ip = g_strdup(nl_addr2str(gw, buf, sizeof(buf)));
			best->addr = gw;
			best->priority = prio;
			best->family = family;
		}
	}
}

bool rv_link_neighbour_mac(struct nl_cache *neigh_cache, int ifindex, struct nl_addr *ip, uint8_t mac[6])
{
	struct rtnl_neigh *needle = rtnl_neigh_alloc();
	struct rtnl_neigh *neigh;
	struct nl_addr *ll;
	bool ok = false;
	int state;

	if (!needle)
		return false;
	/* A hashed lookup (family, ifindex, destination), not a walk of the cache. */
	rtnl_neigh_set_family(needle, nl_addr_get_family(ip));
	rtnl_neigh_set_ifindex(needle, ifindex);
	rtnl_neigh_set_dst(needle, ip);
	neigh = (struct rtnl_neigh *)nl_cache_search(neigh_cache, OBJ_CAST(needle));
	rtnl_neigh_put(needle);
	if (!neigh)
		return false;
	state = rtnl_neigh_get_state(neigh);
	ll = rtnl_neigh_get_lladdr(neigh);
	if (ll && nl_addr_get_len(ll) == 6 &&
	    (state & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP))) {
		memcpy(mac, nl_addr_get_binary_addr(ll), 6);
		ok = true;
	}
	rtnl_neigh_put(neigh);
	return ok;
}

/* Make the kernel resolve the gateway's MAC: one empty datagram to the discard
 * port. The neighbour event that follows completes the link's fingerprint. */
void rv_link_poke_gateway(const char *ip, int family)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} addr = { 0 };
	socklen_t len;
	int fd;

	if (family == AF_INET) {
		addr.in.sin_family = AF_INET;
		addr.in.sin_port = htons(9);
		if (inet_pton(AF_INET, ip, &addr.in.sin_addr) != 1)
			return;
		len = sizeof(addr.in);
	} else {
		addr.in6.sin6_family = AF_INET6;
		addr.in6.sin6_port = htons(9);
		if (inet_pton(AF_INET6, ip, &addr.in6.sin6_addr) != 1)
			return;
		len = sizeof(addr.in6);
	}
	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "", 0, 0, &addr.sa, len) < 0)
		g_debug("gateway %s: %s", ip, g_strerror(errno));
	close(fd);
}

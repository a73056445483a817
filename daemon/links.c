/* links.c - the network view from rtnetlink (libnl-route cache manager).
 *
 * libnl keeps caches of links, addresses, routes and neighbours current from
 * kernel events; after each batch of events we rebuild every struct rv_link from
 * those caches and announce what changed. Nothing here polls. Wi-Fi facts
 * (wifi.c) live in the same objects and survive rebuilds.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "error.h"
#include "events.h"
#include "link.h"

static struct nl_cache_mngr *mngr;
static struct nl_cache *link_cache;
static struct nl_cache *addr_cache;
static struct nl_cache *route_cache;
static struct nl_cache *neigh_cache;
static guint mngr_watch;
static guint sync_idle;
static GHashTable *links;		/* GINT_TO_POINTER(ifindex) -> struct rv_link * */

static void link_free(gpointer p)
{
	struct rv_link *l = p;

	g_free(l->name);
	g_free(l->type);
	g_free(l->kind);
	g_ptr_array_unref(l->addresses);
	g_free(l->gateway);
	if (l->ssid)
		g_bytes_unref(l->ssid);
	g_free(l);
}

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
static char *link_type(struct rtnl_link *nl, const char *name)
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

struct gateway {
	char *ip;
	struct nl_addr *addr;
	uint32_t priority;
	int family;
};

struct gateway_search {
	int ifindex;
	struct gateway best;
};

static void consider_nexthop(struct rtnl_nexthop *nh, void *data)
{
	struct gateway_search *s = ((void **)data)[0];
	struct rtnl_route *route = ((void **)data)[1];
	struct nl_addr *gw = rtnl_route_nh_get_gateway(nh);
	uint32_t prio = rtnl_route_get_priority(route);
	int family = rtnl_route_get_family(route);
	char buf[INET6_ADDRSTRLEN + 8];

	if (!gw || rtnl_route_nh_get_ifindex(nh) != s->ifindex)
		return;
	/* IPv4 first (its gateway's MAC is the usual network fingerprint), then metric. */
	if (s->best.ip) {
		if (s->best.family == AF_INET && family != AF_INET)
			return;
		if (s->best.family == family && s->best.priority <= prio)
			return;
		g_free(s->best.ip);
	}
	s->best.ip = g_strdup(nl_addr2str(gw, buf, sizeof(buf)));
	s->best.addr = gw;
	s->best.priority = prio;
	s->best.family = family;
}

static void consider_route(struct nl_object *obj, void *data)
{
	struct rtnl_route *route = (struct rtnl_route *)obj;
	struct nl_addr *dst = rtnl_route_get_dst(route);
	void *pair[2] = { data, route };

	if (rtnl_route_get_table(route) != RT_TABLE_MAIN ||
	    rtnl_route_get_type(route) != RTN_UNICAST)
		return;
	if (dst && nl_addr_get_prefixlen(dst) != 0)
		return;
	rtnl_route_foreach_nexthop(route, consider_nexthop, pair);
}

static bool neighbour_mac(int ifindex, struct nl_addr *ip, uint8_t mac[6])
{
	struct rtnl_neigh *neigh = rtnl_neigh_get(neigh_cache, ifindex, ip);
	struct nl_addr *ll;
	bool ok = false;
	int state;

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
static void poke_gateway(const char *ip, int family)
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

static GPtrArray *link_addresses(int ifindex)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);

	for (struct nl_object *o = nl_cache_get_first(addr_cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_addr *a = (struct rtnl_addr *)o;
		char buf[INET6_ADDRSTRLEN + 8];

		if (rtnl_addr_get_ifindex(a) != ifindex || !rtnl_addr_get_local(a))
			continue;
		g_ptr_array_add(list, g_strdup(nl_addr2str(rtnl_addr_get_local(a), buf, sizeof(buf))));
	}
	return list;
}

static bool strv_equal(GPtrArray *a, GPtrArray *b)
{
	if (a->len != b->len)
		return false;
	for (guint i = 0; i < a->len; i++)
		if (!g_str_equal(g_ptr_array_index(a, i), g_ptr_array_index(b, i)))
			return false;
	return true;
}

static bool routes_stale;

/* Refresh l from the caches; true if anything changed. */
static bool link_update(struct rv_link *l, struct rtnl_link *nl, bool is_new)
{
	const char *name = rtnl_link_get_name(nl);
	const char *kind = rtnl_link_get_type(nl);
	struct nl_addr *ll = rtnl_link_get_addr(nl);
	unsigned int flags = rtnl_link_get_flags(nl);
	uint8_t operstate = rtnl_link_get_operstate(nl);
	bool carrier = rtnl_link_get_carrier(nl) != 0;	/* see below */
	g_autoptr(GPtrArray) addresses = link_addresses(l->ifindex);
	struct gateway_search gs = { .ifindex = l->ifindex };
	uint8_t gw_mac[6] = { 0 };
	bool has_gw_mac = false;
	bool changed = is_new;

	if (g_strcmp0(l->name, name) != 0) {
		g_free(l->name);
		l->name = g_strdup(name);
		g_free(l->type);
		l->type = NULL;
		changed = true;
	}
	if (!l->type)
		l->type = link_type(nl, name);
	/* Some RTM_NEWLINK messages (carrier changes) come without IFLA_LINKINFO:
	 * a missing kind is "unchanged", not "none". */
	if (kind && g_strcmp0(l->kind, kind) != 0) {
		g_free(l->kind);
		l->kind = g_strdup(kind);
		changed = true;
	}
	/* cfg80211's wireless-extension events are RTM_NEWLINK messages with only the
	 * name, the flags and IFLA_WIRELESS: no IFLA_OPERSTATE, no IFLA_CARRIER, which
	 * the libnl cache then reads as 0 (docs/wifi.md). The flags are complete in
	 * every NEWLINK: the kernel sets IFF_LOWER_UP from the carrier of a running
	 * link, IFF_DORMANT and IFF_RUNNING (operstate UP or UNKNOWN) from the
	 * operstate. */
	if (flags & IFF_UP)
		carrier = (flags & IFF_LOWER_UP) != 0;
	if (operstate == IF_OPER_UNKNOWN && l->operstate != IF_OPER_UNKNOWN && !is_new) {
		if (flags & IFF_DORMANT)
			operstate = IF_OPER_DORMANT;
		else if (flags & IFF_RUNNING)
			operstate = IF_OPER_UP;
		else if (l->operstate == IF_OPER_UP)
			operstate = IF_OPER_DOWN;
		else
			operstate = l->operstate;
	}
	/* The kernel flushes IPv4 routes of a link that goes down without sending
	 * RTM_DELROUTE for them: the route cache must be re-read. */
	if (!is_new && (l->flags & IFF_UP) && !(flags & IFF_UP))
		routes_stale = true;
	if (l->flags != flags || l->operstate != operstate || l->carrier != carrier) {
		l->flags = flags;
		l->operstate = operstate;
		l->carrier = carrier;
		changed = true;
	}
	if (ll && nl_addr_get_len(ll) == 6 &&
	    (!l->has_mac || memcmp(l->mac, nl_addr_get_binary_addr(ll), 6) != 0)) {
		memcpy(l->mac, nl_addr_get_binary_addr(ll), 6);
		l->has_mac = true;
		changed = true;
	}
	if (!strv_equal(l->addresses, addresses)) {
		g_ptr_array_unref(l->addresses);
		l->addresses = g_ptr_array_ref(addresses);
		changed = true;
	}

	if (flags & IFF_UP)
		nl_cache_foreach(route_cache, consider_route, &gs);
	if (gs.best.ip)
		has_gw_mac = neighbour_mac(l->ifindex, gs.best.addr, gw_mac);
	if (g_strcmp0(l->gateway, gs.best.ip) != 0) {
		g_free(l->gateway);
		l->gateway = g_strdup(gs.best.ip);
		changed = true;
		if (gs.best.ip && !has_gw_mac)
			poke_gateway(gs.best.ip, gs.best.family);
	}
	if (l->has_gateway_mac != has_gw_mac ||
	    (has_gw_mac && memcmp(l->gateway_mac, gw_mac, 6) != 0)) {
		memcpy(l->gateway_mac, gw_mac, 6);
		l->has_gateway_mac = has_gw_mac;
		changed = true;
	}
	g_free(gs.best.ip);

	if (l->type && !g_str_equal(l->type, "wlan") && (l->ssid || l->wifi_connected)) {
		g_clear_pointer(&l->ssid, g_bytes_unref);
		l->wifi_connected = false;
	}
	return changed;
}

static void refill_all(void);

static void sync_links(void)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
	GHashTableIter iter;
	gpointer key, value;

	for (struct nl_object *o = nl_cache_get_first(link_cache); o; o = nl_cache_get_next(o)) {
		struct rtnl_link *nl = (struct rtnl_link *)o;
		int ifindex = rtnl_link_get_ifindex(nl);
		struct rv_link *l = g_hash_table_lookup(links, GINT_TO_POINTER(ifindex));
		bool is_new = !l;

		g_hash_table_add(seen, GINT_TO_POINTER(ifindex));
		if (is_new) {
			l = g_new0(struct rv_link, 1);
			l->ifindex = ifindex;
			l->addresses = g_ptr_array_new_with_free_func(g_free);
			g_hash_table_insert(links, GINT_TO_POINTER(ifindex), l);
		}
		if (!link_update(l, nl, is_new))
			continue;
		g_debug("link %s (%d): type %s kind %s flags 0x%x oper %u carrier %d gateway %s",
			l->name, l->ifindex, l->type, l->kind ? l->kind : "-", l->flags,
			l->operstate, l->carrier, l->gateway ? l->gateway : "-");
		rv_events_emit(is_new ? RV_EVENT_LINK_ADDED : RV_EVENT_LINK_CHANGED, l);
	}

	g_hash_table_iter_init(&iter, links);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		if (g_hash_table_contains(seen, key))
			continue;
		g_debug("link %s (%d) removed", ((struct rv_link *)value)->name,
			GPOINTER_TO_INT(key));
		rv_events_emit(RV_EVENT_LINK_REMOVED, value);
		g_hash_table_iter_remove(&iter);
	}
}

static gboolean sync_idle_cb(gpointer data)
{
	sync_idle = 0;
	sync_links();
	if (routes_stale) {
		routes_stale = false;
		refill_all();	/* schedules another sync with the fresh routes */
	}
	return G_SOURCE_REMOVE;
}

static void cache_changed(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	/* Coalesce a burst of events (a link going up brings link, address, route
	 * and neighbour messages) into one rebuild after this read. */
	if (!sync_idle)
		sync_idle = g_idle_add_full(G_PRIORITY_HIGH_IDLE, sync_idle_cb, NULL, NULL);
}

static void refill_all(void)
{
	struct nl_cache *all[] = { link_cache, addr_cache, route_cache, neigh_cache };
	struct nl_sock *sock = nl_socket_alloc();

	if (!sock || nl_connect(sock, NETLINK_ROUTE) < 0) {
		g_warning("rtnetlink: cannot resynchronise");
		nl_socket_free(sock);
		return;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		nl_cache_refill(sock, all[i]);
	nl_socket_free(sock);
	cache_changed(NULL, NULL, 0, NULL);
}

static gboolean mngr_ready(gint fd, GIOCondition cond, gpointer data)
{
	int err = nl_cache_mngr_data_ready(mngr);

	if (err < 0 && err != -NLE_AGAIN) {
		/* Lost events (socket buffer overrun): resynchronise from full dumps. */
		g_warning("rtnetlink: %s; resynchronising", nl_geterror(err));
		refill_all();
	}
	return G_SOURCE_CONTINUE;
}

int rv_links_init(GError **error)
{
	static const struct {
		const char *name;
		struct nl_cache **cache;
	} caches[] = {
		{ "route/link", &link_cache },
		{ "route/addr", &addr_cache },
		{ "route/route", &route_cache },
		{ "route/neigh", &neigh_cache },
	};
	int err;

	links = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, link_free);
	err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, NL_AUTO_PROVIDE, &mngr);
	if (err < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "rtnetlink: %s", nl_geterror(err));
		return -EIO;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(caches); i++) {
		err = nl_cache_mngr_add(mngr, caches[i].name, cache_changed, NULL, caches[i].cache);
		if (err < 0) {
			g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "rtnetlink %s: %s",
				    caches[i].name, nl_geterror(err));
			rv_links_exit();
			return -EIO;
		}
	}
	mngr_watch = g_unix_fd_add(nl_cache_mngr_get_fd(mngr), G_IO_IN, mngr_ready, NULL);
	sync_links();
	return 0;
}

void rv_links_exit(void)
{
	g_clear_handle_id(&mngr_watch, g_source_remove);
	g_clear_handle_id(&sync_idle, g_source_remove);
	g_clear_pointer(&mngr, nl_cache_mngr_free);
	link_cache = addr_cache = route_cache = neigh_cache = NULL;
	g_clear_pointer(&links, g_hash_table_destroy);
}

struct rv_link *rv_links_lookup_index(int ifindex)
{
	return links ? g_hash_table_lookup(links, GINT_TO_POINTER(ifindex)) : NULL;
}

struct rv_link *rv_links_lookup_name(const char *name)
{
	GHashTableIter iter;
	gpointer value;

	if (!links || !name)
		return NULL;
	g_hash_table_iter_init(&iter, links);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		if (g_str_equal(((struct rv_link *)value)->name, name))
			return value;
	return NULL;
}

static gint compare_index(gconstpointer a, gconstpointer b)
{
	const struct rv_link *la = *(struct rv_link *const *)a;
	const struct rv_link *lb = *(struct rv_link *const *)b;

	return la->ifindex - lb->ifindex;
}

GPtrArray *rv_links_list(void)
{
	GPtrArray *list = g_ptr_array_new();
	GHashTableIter iter;
	gpointer value;

	if (!links)
		return list;
	g_hash_table_iter_init(&iter, links);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(list, value);
	g_ptr_array_sort(list, compare_index);
	return list;
}

void rv_links_set_wifi(int ifindex, bool connected, const uint8_t *ssid, size_t ssid_len,
		       const uint8_t bssid[6])
{
	struct rv_link *l = rv_links_lookup_index(ifindex);
	g_autoptr(GBytes) new_ssid = NULL;
	bool changed = false;

	if (!l)
		return;
	if (connected && ssid)
		new_ssid = g_bytes_new(ssid, MIN(ssid_len, 32));
	if (!connected)
		bssid = NULL;
	if (l->wifi_connected != connected) {
		l->wifi_connected = connected;
		changed = true;
	}
	if ((l->ssid == NULL) != (new_ssid == NULL) ||
	    (l->ssid && !g_bytes_equal(l->ssid, new_ssid))) {
		if (l->ssid)
			g_bytes_unref(l->ssid);
		l->ssid = g_steal_pointer(&new_ssid);
		changed = true;
	}
	if (l->has_bssid != (bssid != NULL) || (bssid && memcmp(l->bssid, bssid, 6) != 0)) {
		l->has_bssid = bssid != NULL;
		memset(l->bssid, 0, 6);
		if (bssid)
			memcpy(l->bssid, bssid, 6);
		changed = true;
	}
	if (changed)
		rv_events_emit(RV_EVENT_LINK_CHANGED, l);
}

/* links.c - the network view from rtnetlink (libnl-route cache manager).
 *
 * libnl keeps caches of links, addresses, routes and neighbours current from
 * kernel events. Each change callback marks the links it touches dirty (and keeps
 * two small indexes: addresses per link, and the default routes); after the batch
 * of events that one read brought, only the dirty links are refreshed and those
 * that changed are announced. So the work per event is proportional to what
 * changed, not to the number of links: a host with thousands of veths stays
 * responsive. After a socket overrun (ENOBUFS) the caches are resynchronised from
 * dumps, and libnl reports only the objects that differ, which again only mark
 * their links dirty. Nothing here polls. Wi-Fi facts (wifi.c) live in the same
 * objects and survive refreshes.
 *
 * Which route and neighbour messages are kept at all (the event socket's filter
 * and the prune after each dump) is decided in rtnl-filter.c; the stateless reads
 * of one link's type, gateway and gateway MAC from what is kept are in
 * link-facts.c.
 *
 * Why the rest is one file: the libnl callbacks, the two indexes they keep, the
 * address subscription, the overrun handling and the refresh all work on one
 * dirty set and must agree on what each message means; split apart, each change
 * to event handling would cross several files.
 */
#include "config.h"

#include <errno.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

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
#include "link-facts.h"
#include "log.h"
#include "rtnl-filter.h"
#include "sorted.h"
#include "ssid.h"
#include "str-list.h"

static struct nl_cache_mngr *mngr;
static struct nl_cache *link_cache;
static struct nl_cache *route_cache;
static struct nl_cache *neigh_cache;
static guint mngr_watch;
static guint sync_idle;
static struct nl_sock *resync_sock;	/* dumps after an overrun */
static struct nl_sock *addr_sock;	/* address events (see address_ready) */
static guint addr_watch;
static GHashTable *links;		/* GINT_TO_POINTER(ifindex) -> struct rv_link * */
static GHashTable *by_name;		/* name -> struct rv_link * (same objects) */
static GHashTable *dirty;		/* set of ifindexes to refresh */
static GHashTable *addresses;		/* ifindex -> GPtrArray of "ADDR/PREFIXLEN" */
static GPtrArray *default_routes;	/* struct rtnl_route * (our references) */
static struct rv_links_stats stats;

static void drain(int fd);
static void size_receive_buffer(int fd);
static void schedule_sync(void);
static int resync_addresses(void);

/* Enough for a burst of thousands of link, address and route messages (a
 * container runtime starting many veths at once) between two reads. */
#define RCVBUF_BYTES (8 * 1024 * 1024)

static void link_free(gpointer p)
{
	struct rv_link *l = p;

	g_free(l->name);
	g_free(l->name_text);
	g_free(l->type);
	g_free(l->kind);
	g_ptr_array_unref(l->addresses);
	g_free(l->gateway);
	if (l->ssid)
		g_bytes_unref(l->ssid);
	g_free(l);
}

static GPtrArray *link_addresses(int ifindex)
{
	GPtrArray *list = g_hash_table_lookup(addresses, GINT_TO_POINTER(ifindex));
	GPtrArray *copy = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; list && i < list->len; i++)
		g_ptr_array_add(copy, g_strdup(g_ptr_array_index(list, i)));
	return copy;
}

static void mark_dirty(int ifindex)
{
	if (ifindex > 0)
		g_hash_table_add(dirty, GINT_TO_POINTER(ifindex));
}

static void mark_route_links(struct rtnl_route *route)
{
	int n = rtnl_route_get_nnexthops(route);

	for (int i = 0; i < n; i++)
		mark_dirty(rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, i)));
}

static void forget_default_route(guint i)
{
	struct rtnl_route *route = g_ptr_array_index(default_routes, i);

	mark_route_links(route);
	g_ptr_array_remove_index(default_routes, i);
	rtnl_route_put(route);
}

/* The kernel flushes the IPv4 routes of a link that goes down without sending
 * RTM_DELROUTE for them: drop the default routes through it from our index and
 * from libnl's cache (so that the route coming back is news to both). A multipath
 * route may keep other nexthops: for those only a fresh dump tells. */
static bool routes_stale;

static void link_went_down(int ifindex)
{
	for (guint i = default_routes->len; i-- > 0;) {
		struct rtnl_route *route = g_ptr_array_index(default_routes, i);
		bool through = false;

		if (rtnl_route_get_family(route) != AF_INET)
			continue;
		for (int j = 0; j < rtnl_route_get_nnexthops(route); j++)
			through |= rtnl_route_nh_get_ifindex(rtnl_route_nexthop_n(route, j)) == ifindex;
		if (!through)
			continue;
		if (rtnl_route_get_nnexthops(route) > 1) {
			routes_stale = true;
			continue;
		}
		nl_cache_remove(OBJ_CAST(route));
		forget_default_route(i);
	}
}

static void set_name(struct rv_link *l, const char *name)
{
	if (l->name && g_hash_table_lookup(by_name, l->name) == l)
		g_hash_table_remove(by_name, l->name);
	g_free(l->name);
	g_clear_pointer(&l->name_text, g_free);
	l->name = g_strdup(name);
	if (name && !g_utf8_validate(name, -1, NULL))
		l->name_text = rv_text_escape(name);
	if (name)
		g_hash_table_insert(by_name, l->name, l);
}

/* Refresh l from the caches; true if anything changed. */
static bool link_update(struct rv_link *l, struct rtnl_link *nl, bool is_new)
{
	const char *name = rtnl_link_get_name(nl);
	const char *kind = rtnl_link_get_type(nl);
	struct nl_addr *ll = rtnl_link_get_addr(nl);
	unsigned int flags = rtnl_link_get_flags(nl);
	uint8_t operstate = rtnl_link_get_operstate(nl);
	bool carrier = rtnl_link_get_carrier(nl) != 0;	/* see below */
	g_autoptr(GPtrArray) addrs = link_addresses(l->ifindex);
	struct rv_gateway gw = { 0 };
	uint8_t gw_mac[6] = { 0 };
	bool has_gw_mac = false;
	bool changed = is_new;

	if (g_strcmp0(l->name, name) != 0) {
		set_name(l, name);
		g_free(l->type);
		l->type = NULL;
		changed = true;
	}
	if (!l->type)
		l->type = rv_link_type(nl, name);
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
	if (!is_new && (l->flags & IFF_UP) && !(flags & IFF_UP))
		link_went_down(l->ifindex);
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
	if (!rv_str_array_equal(l->addresses, addrs)) {
		g_ptr_array_unref(l->addresses);
		l->addresses = g_ptr_array_ref(addrs);
		changed = true;
	}

	if (flags & IFF_UP)
		rv_link_find_gateway(default_routes, l->ifindex, &gw);
	if (gw.ip)
		has_gw_mac = rv_link_neighbour_mac(neigh_cache, l->ifindex, gw.addr, gw_mac);
	if (g_strcmp0(l->gateway, gw.ip) != 0) {
		g_free(l->gateway);
		l->gateway = g_strdup(gw.ip);
		changed = true;
		if (gw.ip && !has_gw_mac)
			rv_link_poke_gateway(gw.ip, gw.family);
	}
	if (l->has_gateway_mac != has_gw_mac ||
	    (has_gw_mac && memcmp(l->gateway_mac, gw_mac, 6) != 0)) {
		memcpy(l->gateway_mac, gw_mac, 6);
		l->has_gateway_mac = has_gw_mac;
		changed = true;
	}
	g_free(gw.ip);

	if (l->type && !g_str_equal(l->type, "wlan") && (l->ssid || l->wifi_connected)) {
		g_clear_pointer(&l->ssid, g_bytes_unref);
		l->wifi_connected = false;
	}
	return changed;
}

static struct rtnl_link *cached_link(int ifindex)
{
	struct rtnl_link *needle = rtnl_link_alloc();
	struct nl_object *found;

	if (!needle)
		return NULL;
	/* A hashed lookup (ifindex, family); rtnl_link_get() would walk the cache. */
	rtnl_link_set_ifindex(needle, ifindex);
	rtnl_link_set_family(needle, AF_UNSPEC);
	found = nl_cache_search(link_cache, OBJ_CAST(needle));
	rtnl_link_put(needle);
	return (struct rtnl_link *)found;
}

static void remove_link(struct rv_link *l)
{
	g_debug("link %s (%d) removed", rv_link_name_text(l), l->ifindex);
	rv_events_emit(RV_EVENT_LINK_REMOVED, l);
	if (l->name && g_hash_table_lookup(by_name, l->name) == l)
		g_hash_table_remove(by_name, l->name);
	g_hash_table_remove(links, GINT_TO_POINTER(l->ifindex));
}

static gint compare_ints(gconstpointer a, gconstpointer b)
{
	return *(const int *)a - *(const int *)b;
}

static void refresh_one(int ifindex)
{
	struct rv_link *l = g_hash_table_lookup(links, GINT_TO_POINTER(ifindex));
	struct rtnl_link *nl = cached_link(ifindex);
	bool is_new = !l;

	stats.refreshed++;
	if (!nl) {
		g_hash_table_remove(addresses, GINT_TO_POINTER(ifindex));
		if (l)
			remove_link(l);
		return;
	}
	if (is_new) {
		l = g_new0(struct rv_link, 1);
		l->ifindex = ifindex;
		l->addresses = g_ptr_array_new_with_free_func(g_free);
		g_hash_table_insert(links, GINT_TO_POINTER(ifindex), l);
	}
	if (link_update(l, nl, is_new)) {
		/* GLib formats a message before the writer drops it: not per event. */
		if (rv_log_debug_enabled())
			g_debug("link %s (%d): type %s kind %s flags 0x%x oper %u carrier %d gateway %s",
				rv_link_name_text(l), l->ifindex, l->type, l->kind ? l->kind : "-",
				l->flags, l->operstate, l->carrier, l->gateway ? l->gateway : "-");
		rv_events_emit(is_new ? RV_EVENT_LINK_ADDED : RV_EVENT_LINK_CHANGED, l);
	}
	rtnl_link_put(nl);
}

/* Refresh the dirty links, in ifindex order. Refreshing can mark more (a link
 * going down drops its default routes): loop until nothing is left. */
static void sync_links(void)
{
	guint batch = 0;

	while (g_hash_table_size(dirty) > 0) {
		g_autoptr(GArray) todo = g_array_new(FALSE, FALSE, sizeof(int));
		GHashTableIter iter;
		gpointer key;

		g_hash_table_iter_init(&iter, dirty);
		while (g_hash_table_iter_next(&iter, &key, NULL)) {
			int ifindex = GPOINTER_TO_INT(key);

			g_array_append_val(todo, ifindex);
		}
		g_hash_table_remove_all(dirty);
		g_array_sort(todo, compare_ints);
		for (guint i = 0; i < todo->len; i++)
			refresh_one(g_array_index(todo, int, i));
		batch += todo->len;
	}
	stats.syncs++;
	if (rv_log_debug_enabled())
		g_debug("rtnetlink: refreshed %u of %u links", batch, g_hash_table_size(links));
}

static void resync(void);

static gboolean sync_idle_cb(gpointer data)
{
	sync_idle = 0;
	sync_links();
	if (routes_stale) {
		routes_stale = false;
		resync();	/* marks what the dump shows changed, schedules another sync */
	}
	return G_SOURCE_REMOVE;
}

static void schedule_sync(void)
{
	/* Coalesce a burst of events (a link going up brings link, address, route
	 * and neighbour messages) into one refresh after this read. */
	if (!sync_idle)
		sync_idle = g_idle_add_full(G_PRIORITY_HIGH_IDLE, sync_idle_cb, NULL, NULL);
}

static void address_changed(struct rtnl_addr *a, int action)
{
	int ifindex = rtnl_addr_get_ifindex(a);
	struct nl_addr *local = rtnl_addr_get_local(a);
	char buf[INET6_ADDRSTRLEN + 8];
	const char *text;
	GPtrArray *list;
	guint i;

	if (!local)
		return;
	text = nl_addr2str(local, buf, sizeof(buf));
	list = g_hash_table_lookup(addresses, GINT_TO_POINTER(ifindex));
	if (action == NL_ACT_DEL) {
		if (list && g_ptr_array_find_with_equal_func(list, text, g_str_equal, &i))
			g_ptr_array_remove_index(list, i);
	} else {
		if (!list) {
			list = g_ptr_array_new_with_free_func(g_free);
			g_hash_table_insert(addresses, GINT_TO_POINTER(ifindex), list);
		}
		if (!g_ptr_array_find_with_equal_func(list, text, g_str_equal, NULL))
			g_ptr_array_add(list, g_strdup(text));
	}
	mark_dirty(ifindex);
}

static void route_changed(struct rtnl_route *route, int action)
{
	if (!rv_rtnl_is_default_route(route))
		return;
	for (guint i = 0; i < default_routes->len; i++) {
		struct nl_object *known = g_ptr_array_index(default_routes, i);

		if (known == OBJ_CAST(route) || nl_object_identical(known, OBJ_CAST(route))) {
			forget_default_route(i);
			break;
		}
	}
	if (action != NL_ACT_DEL) {
		rtnl_route_get(route);
		g_ptr_array_add(default_routes, route);
	}
	mark_route_links(route);
}

static void cache_changed(struct nl_cache *cache, struct nl_object *obj, int action, void *data)
{
	if (cache == link_cache) {
		mark_dirty(rtnl_link_get_ifindex((struct rtnl_link *)obj));
	} else if (cache == route_cache) {
		/* Dumps after an overrun bring every route (prune_caches drops them). */
		if (!rv_rtnl_is_default_route((struct rtnl_route *)obj))
			return;
		route_changed((struct rtnl_route *)obj, action);
	} else if (cache == neigh_cache) {
		if (!rv_rtnl_is_unicast_neighbour((struct rtnl_neigh *)obj))
			return;
		mark_dirty(rtnl_neigh_get_ifindex((struct rtnl_neigh *)obj));
	}
	stats.events++;
	schedule_sync();
}

/* Drop from the caches what the event filter keeps out (rtnl-filter.c): objects
 * no event would ever update or remove again, so kept they would only go stale
 * and grow with every link that comes and goes. After each dump. */
static void prune_caches(void)
{
	struct nl_object *o, *next;

	for (o = nl_cache_get_first(route_cache); o; o = next) {
		next = nl_cache_get_next(o);
		if (!rv_rtnl_is_default_route((struct rtnl_route *)o))
			nl_cache_remove(o);
	}
	for (o = nl_cache_get_first(neigh_cache); o; o = next) {
		next = nl_cache_get_next(o);
		if (!rv_rtnl_is_unicast_neighbour((struct rtnl_neigh *)o))
			nl_cache_remove(o);
	}
}

/* Addresses are not kept in a libnl cache: libnl 3.7's address cache has no hash
 * key, so every address event would compare against every address on the host
 * (tens of thousands with many links). We keep only what we show, the
 * "ADDR/PREFIXLEN" strings per link, from our own subscription; libnl still parses
 * each message (nl_msg_parse). */
static void address_parsed(struct nl_object *obj, void *arg)
{
	address_changed((struct rtnl_addr *)obj, GPOINTER_TO_INT(arg));
}

static int address_message(struct nl_msg *msg, void *arg)
{
	int type = nlmsg_hdr(msg)->nlmsg_type;

	if (type != RTM_NEWADDR && type != RTM_DELADDR)
		return NL_SKIP;
	nl_msg_parse(msg, address_parsed, GINT_TO_POINTER(type == RTM_DELADDR ? NL_ACT_DEL : NL_ACT_NEW));
	stats.events++;
	schedule_sync();
	return NL_OK;
}

/* Every address from a dump; links whose list differs from what we had are marked. */
static int resync_addresses(void)
{
	g_autoptr(GHashTable) old = addresses;
	struct nl_cache *dump = NULL;
	GHashTableIter iter;
	gpointer key, value;
	int err;

	if (!resync_sock) {
		resync_sock = nl_socket_alloc();
		if (!resync_sock || nl_connect(resync_sock, NETLINK_ROUTE) < 0) {
			g_clear_pointer(&resync_sock, nl_socket_free);
			addresses = g_steal_pointer(&old);
			return -NLE_NOMEM;
		}
	}
	err = nl_cache_alloc_name("route/addr", &dump);
	if (err >= 0)
		err = nl_cache_refill(resync_sock, dump);
	if (err < 0) {
		g_warning("rtnetlink: reading addresses: %s", nl_geterror(err));
		if (dump)
			nl_cache_free(dump);
		addresses = g_steal_pointer(&old);
		return err;
	}
	addresses = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					  (GDestroyNotify)g_ptr_array_unref);
	for (struct nl_object *o = nl_cache_get_first(dump); o; o = nl_cache_get_next(o))
		address_changed((struct rtnl_addr *)o, NL_ACT_NEW);
	nl_cache_free(dump);
	/* address_changed marked every link with an address; also those that lost all. */
	g_hash_table_iter_init(&iter, old);
	while (g_hash_table_iter_next(&iter, &key, &value))
		if (((GPtrArray *)value)->len > 0)
			mark_dirty(GPOINTER_TO_INT(key));
	return 0;
}

static gboolean address_ready(gint fd, GIOCondition cond, gpointer data)
{
	for (int i = 0; i < 64; i++) {
		int err = nl_recvmsgs_default(addr_sock);

		if (err == -NLE_AGAIN || err == 0)
			break;
		if (err == -NLE_NOMEM) {
			g_warning("rtnetlink addresses: %s; resynchronising", nl_geterror(err));
			stats.overruns++;
			drain(fd);
			resync_addresses();
			schedule_sync();
			break;
		}
		if (err < 0) {
			g_warning("rtnetlink addresses: %s", nl_geterror(err));
			break;
		}
	}
	return G_SOURCE_CONTINUE;
}

static int open_address_socket(void)
{
	int err;

	addr_sock = nl_socket_alloc();
	if (!addr_sock)
		return -NLE_NOMEM;
	nl_socket_disable_seq_check(addr_sock);		/* multicast only */
	err = nl_connect(addr_sock, NETLINK_ROUTE);
	if (err >= 0)
		err = nl_socket_add_memberships(addr_sock, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, 0);
	if (err >= 0)
		err = nl_socket_set_nonblocking(addr_sock);
	if (err < 0)
		return err;
	size_receive_buffer(nl_socket_get_fd(addr_sock));
	nl_socket_modify_cb(addr_sock, NL_CB_VALID, NL_CB_CUSTOM, address_message, NULL);
	addr_watch = g_unix_fd_add(nl_socket_get_fd(addr_sock), G_IO_IN, address_ready, NULL);
	return 0;
}

/* After lost events: dump every cache and let libnl compare with what it holds;
 * it calls cache_changed only for objects that were added, changed or removed. */
static void resync(void)
{
	struct nl_cache *all[] = { link_cache, route_cache, neigh_cache };

	stats.resyncs++;
	if (!resync_sock) {
		resync_sock = nl_socket_alloc();
		if (!resync_sock || nl_connect(resync_sock, NETLINK_ROUTE) < 0) {
			g_warning("rtnetlink: cannot resynchronise");
			g_clear_pointer(&resync_sock, nl_socket_free);
			return;
		}
	}
	for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
		int err = nl_cache_resync(resync_sock, all[i], cache_changed, NULL);

		if (err < 0)
			g_warning("rtnetlink: resynchronising: %s", nl_geterror(err));
	}
	prune_caches();
	resync_addresses();
	schedule_sync();
}

/* What is still queued was sent before the overrun and is older than the dumps
 * we are about to read: applied after them it would put old state back. */
static void drain(int fd)
{
	char buf[16384];
	guint n = 0;

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC) >= 0 || errno == EINTR ||
	       errno == ENOBUFS)
		n++;
	g_debug("rtnetlink: dropped %u queued messages before resynchronising", n);
}

static gboolean mngr_ready(gint fd, GIOCondition cond, gpointer data)
{
	int err = nl_cache_mngr_data_ready(mngr);

	if (err < 0 && err != -NLE_AGAIN) {
		/* Lost events (socket buffer overrun): resynchronise from dumps. */
		g_warning("rtnetlink: %s; resynchronising", nl_geterror(err));
		stats.overruns++;
		drain(fd);
		resync();
	}
	return G_SOURCE_CONTINUE;
}

static void index_caches(void)
{
	for (struct nl_object *o = nl_cache_get_first(route_cache); o; o = nl_cache_get_next(o))
		route_changed((struct rtnl_route *)o, NL_ACT_NEW);
	for (struct nl_object *o = nl_cache_get_first(link_cache); o; o = nl_cache_get_next(o))
		mark_dirty(rtnl_link_get_ifindex((struct rtnl_link *)o));
}

static void size_receive_buffer(int fd)
{
	int size = RCVBUF_BYTES;

	/* Root may exceed net.core.rmem_max; others get what the sysctl allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		g_debug("rtnetlink: receive buffer: %s", g_strerror(errno));
}

int rv_links_init(GError **error)
{
	static const struct {
		const char *name;
		struct nl_cache **cache;
	} caches[] = {
		{ "route/link", &link_cache },
		{ "route/route", &route_cache },
		{ "route/neigh", &neigh_cache },
	};
	int err;

	links = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, link_free);
	by_name = g_hash_table_new(g_str_hash, g_str_equal);
	dirty = g_hash_table_new(g_direct_hash, g_direct_equal);
	addresses = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL,
					  (GDestroyNotify)g_ptr_array_unref);
	default_routes = g_ptr_array_new();
	memset(&stats, 0, sizeof(stats));
	/* Not NL_AUTO_PROVIDE: libnl's parsers would then look up the link of every
	 * address or route message with rtnl_link_get(), a walk of all links. */
	err = nl_cache_mngr_alloc(NULL, NETLINK_ROUTE, 0, &mngr);
	if (err < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "rtnetlink: %s", nl_geterror(err));
		rv_links_exit();
		return -EIO;
	}
	/* Before the dumps below: events that arrive meanwhile queue up here. */
	size_receive_buffer(nl_cache_mngr_get_fd(mngr));
	/* Without the filter the same objects are ignored in cache_changed, later. */
	err = rv_rtnl_filter_events(nl_cache_mngr_get_fd(mngr));
	if (err < 0)
		g_warning("rtnetlink: no event filter: %s", g_strerror(-err));
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
	/* Subscribe before the dump, so that no change falls between the two. */
	err = open_address_socket();
	if (err >= 0)
		err = resync_addresses();
	if (err < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "rtnetlink addresses: %s",
			    nl_geterror(err));
		rv_links_exit();
		return -EIO;
	}
	prune_caches();
	index_caches();
	sync_links();
	return 0;
}

void rv_links_exit(void)
{
	g_clear_handle_id(&mngr_watch, g_source_remove);
	g_clear_handle_id(&addr_watch, g_source_remove);
	g_clear_handle_id(&sync_idle, g_source_remove);
	if (default_routes) {
		for (guint i = 0; i < default_routes->len; i++)
			rtnl_route_put(g_ptr_array_index(default_routes, i));
		g_clear_pointer(&default_routes, g_ptr_array_unref);
	}
	g_clear_pointer(&mngr, nl_cache_mngr_free);
	g_clear_pointer(&resync_sock, nl_socket_free);
	g_clear_pointer(&addr_sock, nl_socket_free);
	link_cache = route_cache = neigh_cache = NULL;
	g_clear_pointer(&by_name, g_hash_table_destroy);
	g_clear_pointer(&links, g_hash_table_destroy);
	g_clear_pointer(&dirty, g_hash_table_destroy);
	g_clear_pointer(&addresses, g_hash_table_destroy);
	routes_stale = false;
}

void rv_links_get_stats(struct rv_links_stats *out)
{
	*out = stats;
}

struct rv_link *rv_links_lookup_index(int ifindex)
{
	return links ? g_hash_table_lookup(links, GINT_TO_POINTER(ifindex)) : NULL;
}

struct rv_link *rv_links_lookup_name(const char *name)
{
	return by_name && name ? g_hash_table_lookup(by_name, name) : NULL;
}

static gint compare_index(gconstpointer a, gconstpointer b)
{
	const struct rv_link *la = *(struct rv_link *const *)a;
	const struct rv_link *lb = *(struct rv_link *const *)b;

	return la->ifindex - lb->ifindex;
}

GPtrArray *rv_links_list(void)
{
	return rv_hash_values_sorted(links, compare_index);
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

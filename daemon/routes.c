/* routes.c - addresses, MTU, routes and policy rules of tunnel devices,
 * through libnl-route (see routes.h).
 *
 * Split tunnels get a device route per prefix. A full tunnel is done the way
 * wg-quick does it when the backend marks its own packets: the default route
 * in table FWMARK, "not fwmark FWMARK lookup FWMARK" and "lookup main
 * suppress_prefixlength 0" (so routes more specific than default still win).
 * Without a mark: a host route to the endpoint via the current default gateway,
 * and the two half-default routes on the device, which outrank the default
 * without replacing it. Every object added is recorded per key and exactly
 * those are removed; what was already there is left alone.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/route.h>
#include <netlink/route/rtnl.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "routes.h"

/* Rule priorities: just before the main table's 32766, as the kernel numbers
 * wg-quick's rules; suppress must come first. */
#define PRIO_SUPPRESS 32764
#define PRIO_FWMARK 32765
/* Routes and rules carry this protocol number (unassigned in iproute2's
 * rt_protos), so the next start can find what a crashed run left behind. */
#define RTPROT_ROAMVPN 94
#define FLUSH_MAX 256

enum undo_kind { UNDO_ROUTE, UNDO_ADDR, UNDO_RULE };

struct rule_spec {
	int family;
	guint32 table;
	guint32 fwmark;		/* 0: none */
	bool invert;
	int suppress_prefixlen;	/* -1: none */
	guint32 priority;
};

struct undo {
	enum undo_kind kind;
	struct nl_object *obj;	/* route or addr */
	struct rule_spec rule;
};

static struct nl_sock *rtnl;
static GHashTable *applied;	/* key -> GPtrArray of struct undo (in order added) */

static void undo_free(gpointer data)
{
	struct undo *u = data;

	if (u->obj)
		nl_object_put(u->obj);
	g_free(u);
}

static int nl_fail(GError **error, int nlerr, const char *what)
{
	g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "%s: %s", what, nl_geterror(nlerr));
	return -EIO;
}

static void flush_stale(void);

int rv_routes_init(GError **error)
{
	int err;

	if (rtnl)
		return 0;
	rtnl = nl_socket_alloc();
	if (!rtnl) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "out of memory for netlink");
		return -ENOMEM;
	}
	err = nl_connect(rtnl, NETLINK_ROUTE);
	if (err < 0) {
		nl_socket_free(rtnl);
		rtnl = NULL;
		return nl_fail(error, err, "cannot open rtnetlink");
	}
	applied = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					(GDestroyNotify)g_ptr_array_unref);
	flush_stale();
	return 0;
}

void rv_routes_exit(void)
{
	/* Leaves the kernel as it is: the supervisor removes tunnels on shutdown. */
	g_clear_pointer(&applied, g_hash_table_unref);
	if (rtnl) {
		nl_socket_free(rtnl);
		rtnl = NULL;
	}
}

/* libnl only knows "not found" in a few spellings; all mean "already gone". */
static bool gone(int nlerr)
{
	return nlerr == -NLE_OBJ_NOTFOUND || nlerr == -NLE_NODEV || nlerr == -NLE_NOADDR;
}

static int rule_send(const struct rule_spec *spec, bool add)
{
	struct fib_rule_hdr hdr = {
		.family = (guint8)spec->family,
		.action = FR_ACT_TO_TBL,
		.table = spec->table < 256 ? (guint8)spec->table : RT_TABLE_UNSPEC,
		.flags = spec->invert ? FIB_RULE_INVERT : 0,
	};
	struct nl_msg *msg;
	int err;

	msg = nlmsg_alloc_simple(add ? RTM_NEWRULE : RTM_DELRULE,
				 add ? NLM_F_CREATE | NLM_F_EXCL : 0);
	if (!msg)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u32(msg, FRA_TABLE, spec->table) < 0 ||
	    nla_put_u32(msg, FRA_PRIORITY, spec->priority) < 0 ||
	    nla_put_u8(msg, FRA_PROTOCOL, RTPROT_ROAMVPN) < 0 ||
	    (spec->fwmark && nla_put_u32(msg, FRA_FWMARK, spec->fwmark) < 0) ||
	    (spec->suppress_prefixlen >= 0 &&
	     nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, (guint32)spec->suppress_prefixlen) < 0)) {
		nlmsg_free(msg);
		return -NLE_NOMEM;
	}
	err = nl_send_auto(rtnl, msg);
	nlmsg_free(msg);
	if (err < 0)
		return err;
	return nl_wait_for_ack(rtnl);
}

/* Delete the first rule of ours in a family; the kernel matches only what the
 * request names (here the protocol). */
static int rule_delete_any(int family)
{
	struct fib_rule_hdr hdr = { .family = (guint8)family };
	struct nl_msg *msg = nlmsg_alloc_simple(RTM_DELRULE, 0);
	int err;

	if (!msg)
		return -NLE_NOMEM;
	if (nlmsg_append(msg, &hdr, sizeof(hdr), NLMSG_ALIGNTO) < 0 ||
	    nla_put_u8(msg, FRA_PROTOCOL, RTPROT_ROAMVPN) < 0) {
		nlmsg_free(msg);
		return -NLE_NOMEM;
	}
	err = nl_send_auto(rtnl, msg);
	nlmsg_free(msg);
	return err < 0 ? err : nl_wait_for_ack(rtnl);
}

/* What a previous run that died left: our rules (pointing at a table that
 * emptied with its device) and routes outside the device (the endpoint's). */
static void flush_stale(void)
{
	static const int families[] = { AF_INET, AF_INET6 };
	struct nl_cache *cache = NULL;
	guint rules = 0, routes = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(families); i++) {
		for (int n = 0; n < FLUSH_MAX && rule_delete_any(families[i]) == 0; n++)
			rules++;
	}
	if (rtnl_route_alloc_cache(rtnl, AF_UNSPEC, 0, &cache) == 0) {
		for (struct nl_object *obj = nl_cache_get_first(cache); obj;
		     obj = nl_cache_get_next(obj)) {
			struct rtnl_route *route = (struct rtnl_route *)obj;

			if (rtnl_route_get_protocol(route) == RTPROT_ROAMVPN &&
			    rtnl_route_delete(rtnl, route, 0) == 0)
				routes++;
		}
		nl_cache_free(cache);
	}
	if (rules || routes)
		g_message("routes: removed %u rules and %u routes left by a previous run", rules,
			  routes);
}

static void undo_one(struct undo *u, int *first_err, GError **error)
{
	int err = 0;
	const char *what = "";

	switch (u->kind) {
	case UNDO_ROUTE:
		err = rtnl_route_delete(rtnl, (struct rtnl_route *)u->obj, 0);
		what = "removing a route";
		break;
	case UNDO_ADDR:
		err = rtnl_addr_delete(rtnl, (struct rtnl_addr *)u->obj, 0);
		what = "removing an address";
		break;
	case UNDO_RULE:
		err = rule_send(&u->rule, false);
		what = "removing a routing rule";
		break;
	}
	if (err < 0 && !gone(err) && *first_err == 0) {
		*first_err = nl_fail(error, err, what);
	}
}

static int undo_all(GPtrArray *undos, GError **error)
{
	int first_err = 0;

	for (guint i = undos->len; i > 0; i--)
		undo_one(undos->pdata[i - 1], &first_err, error);
	return first_err;
}

/* "10.1.2.3/16" -> 10.1.0.0/16; the kernel refuses host bits in a route. */
static struct nl_addr *parse_prefix(const char *text, GError **error)
{
	struct nl_addr *addr = NULL;
	unsigned int plen;
	guint8 *bytes;
	unsigned int len;

	if (!text || !strchr(text, '/') || nl_addr_parse(text, AF_UNSPEC, &addr) < 0 ||
	    (nl_addr_get_family(addr) != AF_INET && nl_addr_get_family(addr) != AF_INET6) ||
	    nl_addr_get_prefixlen(addr) > nl_addr_get_len(addr) * 8) {
		if (addr)
			nl_addr_put(addr);
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "bad prefix \"%s\"",
			    text ? text : "");
		return NULL;
	}
	plen = nl_addr_get_prefixlen(addr);
	bytes = nl_addr_get_binary_addr(addr);
	len = nl_addr_get_len(addr);
	for (unsigned int bit = plen; bit < len * 8; bit++)
		bytes[bit / 8] &= (guint8)~(0x80u >> (bit % 8));
	return addr;
}

/* The endpoint may come as "1.2.3.4", "1.2.3.4:51820" or "[fd00::1]:51820". */
static struct nl_addr *parse_endpoint(const char *text)
{
	g_autofree char *host = NULL;
	g_autoptr(GInetAddress) inet = NULL;
	struct nl_addr *addr = NULL;
	const char *colon;

	if (!text)
		return NULL;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');

		if (!end)
			return NULL;
		host = g_strndup(text + 1, (gsize)(end - text - 1));
	} else if ((colon = strchr(text, ':')) && !strchr(colon + 1, ':')) {
		host = g_strndup(text, (gsize)(colon - text));
	} else {
		host = g_strdup(text);
	}
	inet = g_inet_address_new_from_string(host);
	if (!inet || nl_addr_parse(host, AF_UNSPEC, &addr) < 0)
		return NULL;
	nl_addr_set_prefixlen(addr, nl_addr_get_len(addr) * 8);
	return addr;
}

static int route_add(GPtrArray *undos, int family, struct nl_addr *dst, guint32 table,
		     int ifindex, struct nl_addr *gateway, GError **error)
{
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct undo *u;
	int err;

	rtnl_route_set_family(route, (guint8)family);
	rtnl_route_set_dst(route, dst);
	rtnl_route_set_table(route, table);
	rtnl_route_set_protocol(route, RTPROT_ROAMVPN);
	rtnl_route_set_scope(route, gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_nh_set_ifindex(nh, ifindex);
	if (gateway)
		rtnl_route_nh_set_gateway(nh, gateway);
	rtnl_route_add_nexthop(route, nh);
	err = rtnl_route_add(rtnl, route, NLM_F_CREATE | NLM_F_EXCL);
	if (err == -NLE_EXIST) {
		/* Someone else's: not ours to remove later. */
		char buf[INET6_ADDRSTRLEN + 8];

		g_debug("routes: %s already present, leaving it alone",
			nl_addr2str(dst, buf, sizeof(buf)));
		rtnl_route_put(route);
		return 0;
	}
	if (err < 0) {
		char buf[INET6_ADDRSTRLEN + 8];
		g_autofree char *what = g_strdup_printf("adding route %s (table %u)",
							 nl_addr2str(dst, buf, sizeof(buf)), table);

		rtnl_route_put(route);
		return nl_fail(error, err, what);
	}
	u = g_new0(struct undo, 1);
	u->kind = UNDO_ROUTE;
	u->obj = OBJ_CAST(route);
	g_ptr_array_add(undos, u);
	return 0;
}

static int route_add_text(GPtrArray *undos, const char *prefix, guint32 table, int ifindex,
			  GError **error)
{
	struct nl_addr *dst = parse_prefix(prefix, error);
	int r;

	if (!dst)
		return -EINVAL;
	r = route_add(undos, nl_addr_get_family(dst), dst, table, ifindex, NULL, error);
	nl_addr_put(dst);
	return r;
}

static int rule_add(GPtrArray *undos, const struct rule_spec *spec, GError **error)
{
	int err = rule_send(spec, true);
	struct undo *u;

	if (err == -NLE_EXIST)
		return 0;
	if (err < 0)
		return nl_fail(error, err, "adding a routing rule");
	u = g_new0(struct undo, 1);
	u->kind = UNDO_RULE;
	u->rule = *spec;
	g_ptr_array_add(undos, u);
	return 0;
}

static int addr_add(GPtrArray *undos, const char *text, int ifindex, GError **error)
{
	struct nl_addr *local = NULL;
	struct rtnl_addr *addr;
	struct undo *u;
	int err;

	if (!text || nl_addr_parse(text, AF_UNSPEC, &local) < 0 ||
	    (nl_addr_get_family(local) != AF_INET && nl_addr_get_family(local) != AF_INET6) ||
	    nl_addr_get_prefixlen(local) > nl_addr_get_len(local) * 8) {
		if (local)
			nl_addr_put(local);
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "bad address \"%s\"",
			    text ? text : "");
		return -EINVAL;
	}
	if (!strchr(text, '/'))
		nl_addr_set_prefixlen(local, nl_addr_get_len(local) * 8);
	addr = rtnl_addr_alloc();
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_family(addr, nl_addr_get_family(local));
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_prefixlen(addr, nl_addr_get_prefixlen(local));
	/* A tunnel has no neighbours to detect duplicates with. */
	if (nl_addr_get_family(local) == AF_INET6)
		rtnl_addr_set_flags(addr, IFA_F_NODAD);
	nl_addr_put(local);
	err = rtnl_addr_add(rtnl, addr, NLM_F_CREATE | NLM_F_EXCL);
	if (err == -NLE_EXIST) {
		rtnl_addr_put(addr);
		return 0;
	}
	if (err < 0) {
		g_autofree char *what = g_strdup_printf("adding address %s", text);

		rtnl_addr_put(addr);
		return nl_fail(error, err, what);
	}
	u = g_new0(struct undo, 1);
	u->kind = UNDO_ADDR;
	u->obj = OBJ_CAST(addr);
	g_ptr_array_add(undos, u);
	return 0;
}

static int link_prepare(const char *ifname, int mtu, int *ifindex, GError **error)
{
	struct rtnl_link *link = NULL;
	struct rtnl_link *change;
	int err;

	err = rtnl_link_get_kernel(rtnl, 0, ifname, &link);
	if (err < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no tunnel device %s: %s",
			    ifname, nl_geterror(err));
		return -ENODEV;
	}
	*ifindex = rtnl_link_get_ifindex(link);
	if (mtu > 0 || !(rtnl_link_get_flags(link) & IFF_UP)) {
		change = rtnl_link_alloc();
		if (mtu > 0)
			rtnl_link_set_mtu(change, (unsigned int)mtu);
		rtnl_link_set_flags(change, IFF_UP);
		err = rtnl_link_change(rtnl, link, change, 0);
		rtnl_link_put(change);
		if (err < 0) {
			rtnl_link_put(link);
			return nl_fail(error, err, "setting MTU and up");
		}
	}
	rtnl_link_put(link);
	return 0;
}

/* The main table's default route for the family, not through the tunnel. */
static struct rtnl_route *find_default_route(int family, int tunnel_ifindex)
{
	struct nl_cache *cache = NULL;
	struct rtnl_route *best = NULL;

	if (rtnl_route_alloc_cache(rtnl, family, 0, &cache) < 0)
		return NULL;
	for (struct nl_object *obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_route *route = (struct rtnl_route *)obj;
		struct nl_addr *dst = rtnl_route_get_dst(route);
		struct rtnl_nexthop *nh;

		if (rtnl_route_get_table(route) != RT_TABLE_MAIN ||
		    rtnl_route_get_type(route) != RTN_UNICAST ||
		    (dst && nl_addr_get_prefixlen(dst) != 0) ||
		    rtnl_route_get_nnexthops(route) < 1)
			continue;
		nh = rtnl_route_nexthop_n(route, 0);
		if (rtnl_route_nh_get_ifindex(nh) == tunnel_ifindex)
			continue;
		if (!best || rtnl_route_get_priority(route) < rtnl_route_get_priority(best))
			best = route;
	}
	if (best)
		nl_object_get(OBJ_CAST(best));
	nl_cache_free(cache);
	return best;
}

static int endpoint_route(GPtrArray *undos, struct nl_addr *endpoint, int tunnel_ifindex,
			  GError **error)
{
	struct rtnl_route *def = find_default_route(nl_addr_get_family(endpoint), tunnel_ifindex);
	struct rtnl_nexthop *nh;
	int r;

	if (!def) {
		/* Nothing to protect: the endpoint has no route outside the tunnel. */
		g_warning("routes: no default route to keep the VPN endpoint reachable");
		return 0;
	}
	nh = rtnl_route_nexthop_n(def, 0);
	r = route_add(undos, nl_addr_get_family(endpoint), endpoint, RT_TABLE_MAIN,
		      rtnl_route_nh_get_ifindex(nh), rtnl_route_nh_get_gateway(nh), error);
	rtnl_route_put(def);
	return r;
}

static void set_src_valid_mark(void)
{
	/* wg-quick does the same: reply packets must pass rp_filter with the mark. */
	int fd = open("/proc/sys/net/ipv4/conf/all/src_valid_mark", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1", 1) != 1)
		g_debug("routes: cannot set src_valid_mark: %s", g_strerror(errno));
	close(fd);
}

static int full_tunnel(GPtrArray *undos, int family, const struct rv_tunnel_net *net,
		       guint32 fwmark, int ifindex, GError **error)
{
	bool v4 = family == AF_INET;
	int r;

	if (fwmark) {
		struct rule_spec not_marked = {
			.family = family, .table = fwmark, .fwmark = fwmark, .invert = true,
			.suppress_prefixlen = -1, .priority = PRIO_FWMARK,
		};
		struct rule_spec suppress = {
			.family = family, .table = RT_TABLE_MAIN, .suppress_prefixlen = 0,
			.priority = PRIO_SUPPRESS,
		};

		r = route_add_text(undos, v4 ? "0.0.0.0/0" : "::/0", fwmark, ifindex, error);
		if (r == 0)
			r = rule_add(undos, &not_marked, error);
		if (r == 0)
			r = rule_add(undos, &suppress, error);
		if (r == 0 && v4)
			set_src_valid_mark();
		return r;
	}
	if (net->endpoint) {
		struct nl_addr *endpoint = parse_endpoint(net->endpoint);

		if (!endpoint) {
			g_autofree char *shown = g_strescape(net->endpoint, NULL);

			g_warning("routes: endpoint \"%s\" is not an address; no route kept for it",
				  shown);
		} else {
			r = nl_addr_get_family(endpoint) == family
				? endpoint_route(undos, endpoint, ifindex, error) : 0;
			nl_addr_put(endpoint);
			if (r < 0)
				return r;
		}
	}
	r = route_add_text(undos, v4 ? "0.0.0.0/1" : "::/1", RT_TABLE_MAIN, ifindex, error);
	if (r == 0)
		r = route_add_text(undos, v4 ? "128.0.0.0/1" : "8000::/1", RT_TABLE_MAIN, ifindex,
				   error);
	return r;
}

static int apply_all(GPtrArray *undos, const struct rv_tunnel_net *net, guint32 fwmark,
		     GError **error)
{
	bool full4 = false, full6 = false;
	int ifindex = 0;
	int r;

	r = link_prepare(net->ifname, net->mtu, &ifindex, error);
	if (r < 0)
		return r;
	for (guint i = 0; !net->addresses_assigned && net->addresses && i < net->addresses->len;
	     i++) {
		r = addr_add(undos, net->addresses->pdata[i], ifindex, error);
		if (r < 0)
			return r;
	}
	for (guint i = 0; net->routes && i < net->routes->len; i++) {
		struct nl_addr *dst = parse_prefix(net->routes->pdata[i], error);

		if (!dst)
			return -EINVAL;
		if (nl_addr_get_prefixlen(dst) == 0) {
			if (nl_addr_get_family(dst) == AF_INET)
				full4 = true;
			else
				full6 = true;
			r = 0;
		} else {
			r = route_add(undos, nl_addr_get_family(dst), dst, RT_TABLE_MAIN, ifindex,
				      NULL, error);
		}
		nl_addr_put(dst);
		if (r < 0)
			return r;
	}
	if (full4 && (r = full_tunnel(undos, AF_INET, net, fwmark, ifindex, error)) < 0)
		return r;
	if (full6 && (r = full_tunnel(undos, AF_INET6, net, fwmark, ifindex, error)) < 0)
		return r;
	return 0;
}

int rv_routes_apply(const char *key, const struct rv_tunnel_net *net, guint32 fwmark,
		    GError **error)
{
	g_autoptr(GPtrArray) undos = NULL;
	int r;

	if (!rtnl) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "routes not initialised");
		return -ENOTCONN;
	}
	if (!key || !net || !net->ifname) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no tunnel device to route to");
		return -EINVAL;
	}
	if (g_hash_table_contains(applied, key)) {
		r = rv_routes_remove(key, error);
		if (r < 0)
			return r;
	}
	undos = g_ptr_array_new_with_free_func(undo_free);
	r = apply_all(undos, net, fwmark, error);
	if (r < 0) {
		/* Leave nothing half-done behind. */
		undo_all(undos, NULL);
		return r;
	}
	g_info("routes: %s on %s: %u objects added%s", key, net->ifname, undos->len,
	       fwmark ? " (fwmark table)" : "");
	g_hash_table_insert(applied, g_strdup(key), g_steal_pointer(&undos));
	return 0;
}

int rv_routes_remove(const char *key, GError **error)
{
	GPtrArray *undos;
	int r;

	if (!applied || !key || !(undos = g_hash_table_lookup(applied, key)))
		return 0;
	r = undo_all(undos, error);
	g_hash_table_remove(applied, key);
	return r;
}

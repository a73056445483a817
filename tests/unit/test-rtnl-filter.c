/* test-rtnl-filter.c - the event socket's BPF program and the predicates the
 * cache prune uses keep exactly the same route and neighbour messages.
 *
 * Each case is one raw rtnetlink message. It goes through the kernel's classic
 * BPF interpreter (the filter attached to one end of an AF_UNIX datagram pair:
 * the kernel runs a socket's filter on every datagram it queues, so no
 * privileges and no rtnetlink socket are needed) and through libnl's parser into
 * the predicate; both must agree with the table. If they disagreed, an object
 * kept from a dump would never be updated or removed by an event.
 */
#include "config.h"

#include <errno.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <glib.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "rtnl-filter.h"

#ifndef AF_BRIDGE
#define AF_BRIDGE 7
#endif

enum kind { ROUTE, NEIGH, OTHER };

static const struct filter_case {
	const char *what;
	enum kind kind;
	uint16_t type;		/* nlmsg_type */
	uint8_t family;
	uint8_t dst_len;	/* routes */
	uint8_t table;		/* routes */
	uint8_t rtype;		/* rtm_type or ndm_type */
	bool kept;
} cases[] = {
	{ "IPv4 default route, main table", ROUTE, RTM_NEWROUTE, AF_INET, 0, RT_TABLE_MAIN, RTN_UNICAST, true },
	{ "IPv6 default route, main table", ROUTE, RTM_NEWROUTE, AF_INET6, 0, RT_TABLE_MAIN, RTN_UNICAST, true },
	{ "IPv4 default route removed", ROUTE, RTM_DELROUTE, AF_INET, 0, RT_TABLE_MAIN, RTN_UNICAST, true },
	{ "IPv4 prefix route 10.0.0.0/8", ROUTE, RTM_NEWROUTE, AF_INET, 8, RT_TABLE_MAIN, RTN_UNICAST, false },
	{ "IPv6 fe80::/64", ROUTE, RTM_NEWROUTE, AF_INET6, 64, RT_TABLE_MAIN, RTN_UNICAST, false },
	{ "IPv6 fe80::/64 removed", ROUTE, RTM_DELROUTE, AF_INET6, 64, RT_TABLE_MAIN, RTN_UNICAST, false },
	{ "default route in a policy table", ROUTE, RTM_NEWROUTE, AF_INET, 0, 100, RTN_UNICAST, false },
	{ "local route", ROUTE, RTM_NEWROUTE, AF_INET, 32, RT_TABLE_LOCAL, RTN_LOCAL, false },
	{ "local-table default of type local", ROUTE, RTM_NEWROUTE, AF_INET, 0, RT_TABLE_LOCAL, RTN_LOCAL, false },
	{ "IPv6 multicast ff00::/8", ROUTE, RTM_NEWROUTE, AF_INET6, 8, RT_TABLE_LOCAL, RTN_MULTICAST, false },
	{ "unreachable default, main table", ROUTE, RTM_NEWROUTE, AF_INET6, 0, RT_TABLE_MAIN, RTN_UNREACHABLE, false },
	{ "blackhole default, main table", ROUTE, RTM_NEWROUTE, AF_INET, 0, RT_TABLE_MAIN, RTN_BLACKHOLE, false },
	{ "IPv4 unicast neighbour", NEIGH, RTM_NEWNEIGH, AF_INET, 0, 0, RTN_UNICAST, true },
	{ "IPv6 unicast neighbour", NEIGH, RTM_NEWNEIGH, AF_INET6, 0, 0, RTN_UNICAST, true },
	{ "IPv6 unicast neighbour removed", NEIGH, RTM_DELNEIGH, AF_INET6, 0, 0, RTN_UNICAST, true },
	{ "IPv6 multicast neighbour (ff02::)", NEIGH, RTM_NEWNEIGH, AF_INET6, 0, 0, RTN_MULTICAST, false },
	{ "IPv4 broadcast neighbour", NEIGH, RTM_NEWNEIGH, AF_INET, 0, 0, RTN_BROADCAST, false },
	{ "bridge fdb entry", NEIGH, RTM_NEWNEIGH, AF_BRIDGE, 0, 0, RTN_UNICAST, false },
	{ "link message", OTHER, RTM_NEWLINK, AF_UNSPEC, 0, 0, 0, true },
	{ "link removed", OTHER, RTM_DELLINK, AF_UNSPEC, 0, 0, 0, true },
};

union message {
	struct nlmsghdr h;
	char bytes[NLMSG_SPACE(sizeof(struct rtmsg)) + NLMSG_SPACE(sizeof(struct ndmsg))];
};

/* The message as the kernel would send it, without attributes: the fixed header
 * is all either side looks at. */
static size_t build(const struct filter_case *c, union message *m)
{
	memset(m, 0, sizeof(*m));
	m->h.nlmsg_type = c->type;
	if (c->kind == ROUTE) {
		struct rtmsg *r = NLMSG_DATA(&m->h);

		m->h.nlmsg_len = NLMSG_LENGTH(sizeof(*r));
		r->rtm_family = c->family;
		r->rtm_dst_len = c->dst_len;
		r->rtm_table = c->table;
		r->rtm_type = c->rtype;
		r->rtm_protocol = RTPROT_BOOT;
		r->rtm_scope = RT_SCOPE_UNIVERSE;
	} else if (c->kind == NEIGH) {
		struct ndmsg *n = NLMSG_DATA(&m->h);

		m->h.nlmsg_len = NLMSG_LENGTH(sizeof(*n));
		n->ndm_family = c->family;
		n->ndm_ifindex = 2;
		n->ndm_state = NUD_REACHABLE;
		n->ndm_type = c->rtype;
	} else {
		m->h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));	/* room for an ifinfomsg */
	}
	return m->h.nlmsg_len;
}

/* True if the filter on rx let c's message through. A link message (always
 * passed) follows it as a marker, told apart by its sequence number: the first
 * datagram received says which. rx has a receive timeout, so a filter that
 * dropped the marker too fails the test instead of hanging it. */
#define MARKER_SEQ 0xffffffffu

static bool passes_filter(int tx, int rx, const struct filter_case *c)
{
	static const struct filter_case marker = { "marker", OTHER, RTM_NEWLINK, AF_UNSPEC, 0, 0, 0, true };
	union message m, got;
	size_t len;

	len = build(c, &m);
	g_assert_cmpint(send(tx, &m, len, 0), ==, (ssize_t)len);
	len = build(&marker, &m);
	m.h.nlmsg_seq = MARKER_SEQ;
	g_assert_cmpint(send(tx, &m, len, 0), ==, (ssize_t)len);
	g_assert_cmpint(recv(rx, &got, sizeof(got), 0), >=, (ssize_t)sizeof(struct nlmsghdr));
	if (got.h.nlmsg_seq == MARKER_SEQ)
		return false;
	g_assert_cmpint(got.h.nlmsg_type, ==, c->type);
	g_assert_cmpint(recv(rx, &got, sizeof(got), 0), >=, (ssize_t)sizeof(struct nlmsghdr));
	g_assert_cmpuint(got.h.nlmsg_seq, ==, MARKER_SEQ);
	return true;
}

/* What the prune after a dump would keep of c's message, parsed by libnl. */
static bool passes_predicate(const struct filter_case *c)
{
	union message m;
	bool kept = false;

	build(c, &m);
	if (c->kind == ROUTE) {
		struct rtnl_route *route = NULL;

		g_assert_cmpint(rtnl_route_parse(&m.h, &route), ==, 0);
		kept = rv_rtnl_is_default_route(route);
		rtnl_route_put(route);
	} else if (c->kind == NEIGH) {
		struct rtnl_neigh *neigh = NULL;

		g_assert_cmpint(rtnl_neigh_parse(&m.h, &neigh), ==, 0);
		kept = rv_rtnl_is_unicast_neighbour(neigh);
		rtnl_neigh_put(neigh);
	} else {
		kept = true;	/* links are never pruned */
	}
	return kept;
}

static void test_filter_and_predicate_agree(void)
{
	const struct timeval timeout = { .tv_sec = 5 };
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_cmpint(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), ==, 0);
	g_assert_cmpint(rv_rtnl_filter_events(sv[1]), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const struct filter_case *c = &cases[i];

		g_test_message("%s: %s", c->what, c->kept ? "kept" : "dropped");
		g_assert_cmpint(passes_filter(sv[0], sv[1], c), ==, c->kept);
		g_assert_cmpint(passes_predicate(c), ==, c->kept);
	}
	/* Nothing left queued: every case was accounted for. */
	g_assert_cmpint(recv(sv[1], &(char){ 0 }, 1, MSG_DONTWAIT), ==, -1);
	g_assert_cmpint(errno, ==, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/rtnl-filter/filter-and-predicate-agree", test_filter_and_predicate_agree);
	return g_test_run();
}

/* rtnl-filter.c - which rtnetlink route and neighbour messages the network view
 * keeps: the predicates, and the classic BPF program that applies the same test
 * in the kernel on the event socket.
 *
 * Why both in one file: links.c prunes its caches after each dump with the
 * predicates and receives events through the filter; if the two said different
 * things, an object kept from a dump would never be updated or removed by an
 * event (or the other way round). Written side by side, and checked against each
 * other by tests/unit/test-rtnl-filter.c, they cannot drift apart unseen.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#include <glib.h>
#include <netlink/netlink.h>
#include <netlink/route/neighbour.h>
#include <netlink/route/route.h>

#include "rtnl-filter.h"

bool rv_rtnl_is_default_route(struct rtnl_route *route)
{
	struct nl_addr *dst = rtnl_route_get_dst(route);

	return rtnl_route_get_table(route) == RT_TABLE_MAIN &&
	       rtnl_route_get_type(route) == RTN_UNICAST &&
	       (!dst || nl_addr_get_prefixlen(dst) == 0);
}

/* Only a unicast IPv4/IPv6 neighbour can be a gateway. The others (the multicast
 * and broadcast entries every link up brings, bridge fdb entries) say nothing
 * about any link we show. */
bool rv_rtnl_is_unicast_neighbour(struct rtnl_neigh *neigh)
{
	int family = rtnl_neigh_get_family(neigh);

	return (family == AF_INET || family == AF_INET6) && rtnl_neigh_get_type(neigh) == RTN_UNICAST;
}

/* The kernel half of rv_rtnl_is_default_route and rv_rtnl_is_unicast_neighbour, on the event
 * socket: with thousands of links a flap brings some 20 route and neighbour
 * messages (fe80::/64, local and multicast routes, ff02:: neighbours) and a
 * handful of link messages; dropped here, they are neither queued, copied,
 * parsed by libnl nor looked up in a cache. A notification is one message per
 * datagram, so fixed offsets see all of it (dumps carry many: they go through
 * other sockets and are filtered by links.c's prune_caches instead). Loads are in network
 * byte order, hence htobe16 on the message types. */
int rv_rtnl_filter_events(int fd)
{
	enum {
		TYPE = offsetof(struct nlmsghdr, nlmsg_type),
		BODY = sizeof(struct nlmsghdr),
		RT_DST_LEN = BODY + offsetof(struct rtmsg, rtm_dst_len),
		RT_TABLE = BODY + offsetof(struct rtmsg, rtm_table),
		RT_TYPE = BODY + offsetof(struct rtmsg, rtm_type),
		ND_FAMILY = BODY + offsetof(struct ndmsg, ndm_family),
		ND_TYPE = BODY + offsetof(struct ndmsg, ndm_type),
	};
	struct sock_filter code[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, TYPE),
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htobe16(RTM_NEWROUTE), 4, 0),
		/* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htobe16(RTM_DELROUTE), 3, 0),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htobe16(RTM_NEWNEIGH), 8, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htobe16(RTM_DELNEIGH), 7, 0),
		/* 5 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),		/* links and the rest */
		/* 6 routes */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, RT_DST_LEN),
		/* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 10),
		/* 8 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, RT_TABLE),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RT_TABLE_MAIN, 0, 8),
		/* 10 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, RT_TYPE),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RTN_UNICAST, 5, 6),
		/* 12 neighbours */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, ND_FAMILY),
		/* 13 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, 1, 0),
		/* 14 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, 0, 3),
		/* 15 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, ND_TYPE),
		/* 16 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RTN_UNICAST, 0, 1),
		/* 17 */ BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
		/* 18 */ BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = G_N_ELEMENTS(code), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

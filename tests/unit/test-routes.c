/* test-routes.c - tunnel addresses, routes and rules in a private network
 * namespace: split routes, the wg-quick style fwmark full tunnel, the endpoint
 * route + half-defaults full tunnel, exact removal, and errors. Needs root
 * (skips otherwise); the test unshares its own network namespace first, so
 * nothing here can reach the host's interfaces.
 */
#include "config.h"

#include <errno.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "routes.h"
#include "tunnel.h"

static bool in_private_netns;

static char *run(const char *cmdline)
{
	g_auto(GStrv) argv = NULL;
	char *out = NULL;
	int status = 0;
	GError *error = NULL;

	g_assert_true(g_shell_parse_argv(cmdline, NULL, &argv, &error));
	g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
				   NULL, NULL, &out, NULL, &status, &error));
	g_assert_no_error(error);
	g_assert_true(g_spawn_check_wait_status(status, NULL));
	return out;
}

static bool output_has(const char *cmdline, const char *needle)
{
	g_autofree char *out = run(cmdline);

	return strstr(out, needle) != NULL;
}

#define ROUTES4 "ip -4 route show table all"
#define ROUTES6 "ip -6 route show table all"

/* lo, an "uplink" veth with a default gateway, and a "tunnel" veth. */
static bool setup_netns(void)
{
	struct nl_sock *sock;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0)
		return false;
	sock = nl_socket_alloc();
	g_assert_cmpint(nl_connect(sock, NETLINK_ROUTE), ==, 0);
	g_assert_cmpint(rtnl_link_veth_add(sock, "rvup0", "rvgw0", getpid()), ==, 0);
	g_assert_cmpint(rtnl_link_veth_add(sock, "rvtun0", "rvtunp0", getpid()), ==, 0);
	nl_socket_free(sock);
	g_free(run("ip link set lo up"));
	g_free(run("ip link set rvgw0 up"));
	g_free(run("ip link set rvtunp0 up"));
	g_free(run("ip link set rvup0 up"));
	g_free(run("ip addr add 192.0.2.2/24 dev rvup0"));
	g_free(run("ip route add default via 192.0.2.1 dev rvup0"));
	g_free(run("ip addr add 2001:db8:1::2/64 dev rvup0 nodad"));
	g_free(run("ip -6 route add default via 2001:db8:1::1 dev rvup0"));
	return true;
}

static GPtrArray *strv_array(const char *const *items)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (; *items; items++)
		g_ptr_array_add(a, g_strdup(*items));
	return a;
}

static void net_init(struct rv_tunnel_net *net, const char *const *addresses,
		     const char *const *routes)
{
	memset(net, 0, sizeof(*net));
	net->ifname = g_strdup("rvtun0");
	net->addresses = strv_array(addresses);
	net->routes = strv_array(routes);
}

static void net_clear(struct rv_tunnel_net *net)
{
	g_free(net->ifname);
	g_free(net->endpoint);
	g_ptr_array_unref(net->addresses);
	g_ptr_array_unref(net->routes);
}

static bool skip_unless_netns(void)
{
	if (!in_private_netns) {
		g_test_skip("needs root for a private network namespace");
		return true;
	}
	return false;
}

static void apply_ok(const char *key, const struct rv_tunnel_net *net, guint32 fwmark)
{
	GError *error = NULL;

	g_assert_cmpint(rv_routes_apply(key, net, fwmark, &error), ==, 0);
	g_assert_no_error(error);
}

static void remove_ok(const char *key)
{
	GError *error = NULL;

	g_assert_cmpint(rv_routes_remove(key, &error), ==, 0);
	g_assert_no_error(error);
}

static void test_split(void)
{
	static const char *const addresses[] = { "10.9.0.2/32", "fd09::2/128", NULL };
	static const char *const routes[] = { "10.10.0.0/16", "10.20.1.7/24", "fd10::/64", NULL };
	struct rv_tunnel_net net;

	if (skip_unless_netns())
		return;
	/* Already there before the tunnel: must survive its removal. (The kernel
	 * flushes a device's IPv4 routes with its last IPv4 address, hence one
	 * address of its own.) */
	g_free(run("ip link set rvtun0 up"));
	g_free(run("ip addr add 10.31.0.1/32 dev rvtun0"));
	g_free(run("ip route add 10.30.0.0/16 dev rvtun0"));
	net_init(&net, addresses, (const char *const[]){ "10.30.0.0/16", NULL });
	for (const char *const *r = routes; *r; r++)
		g_ptr_array_add(net.routes, g_strdup(*r));
	net.mtu = 1380;

	apply_ok("corp", &net, 0);
	g_assert_true(output_has("ip addr show dev rvtun0", "inet 10.9.0.2/32"));
	g_assert_true(output_has("ip addr show dev rvtun0", "inet6 fd09::2/128"));
	g_assert_true(output_has("ip link show dev rvtun0", "mtu 1380"));
	g_assert_true(output_has(ROUTES4, "10.10.0.0/16 dev rvtun0"));
	g_assert_true(output_has(ROUTES4, "10.20.1.0/24 dev rvtun0"));
	g_assert_true(output_has(ROUTES6, "fd10::/64 dev rvtun0"));

	remove_ok("corp");
	g_assert_false(output_has("ip addr show dev rvtun0", "10.9.0.2"));
	g_assert_false(output_has("ip addr show dev rvtun0", "fd09::2"));
	g_assert_false(output_has(ROUTES4, "10.10.0.0/16"));
	g_assert_false(output_has(ROUTES4, "10.20.1.0/24"));
	g_assert_false(output_has(ROUTES6, "fd10::/64"));
	g_assert_true(output_has(ROUTES4, "10.30.0.0/16 dev rvtun0"));
	g_assert_true(output_has("ip addr show dev rvtun0", "inet 10.31.0.1/32"));
	g_free(run("ip route del 10.30.0.0/16 dev rvtun0"));
	g_free(run("ip addr del 10.31.0.1/32 dev rvtun0"));
	/* A second remove has nothing left to do. */
	remove_ok("corp");
	net_clear(&net);
}

static void test_full_fwmark(void)
{
	static const char *const addresses[] = { "10.9.0.2/32", NULL };
	static const char *const routes[] = { "0.0.0.0/0", "::/0", NULL };
	struct rv_tunnel_net net;

	if (skip_unless_netns())
		return;
	net_init(&net, addresses, routes);
	net.endpoint = g_strdup("192.0.2.50:51820");
	apply_ok("full", &net, 0xca6c);

	g_assert_true(output_has(ROUTES4, "default dev rvtun0 table 51820"));
	g_assert_true(output_has(ROUTES6, "default dev rvtun0 table 51820"));
	g_assert_true(output_has("ip -4 rule show", "32765:\tnot from all fwmark 0xca6c lookup 51820"));
	g_assert_true(output_has("ip -4 rule show",
				 "32764:\tfrom all lookup main suppress_prefixlength 0"));
	g_assert_true(output_has("ip -6 rule show", "not from all fwmark 0xca6c lookup 51820"));
	g_assert_true(output_has("ip -6 rule show", "suppress_prefixlength 0"));
	/* The marked packets need no endpoint route, and the main table is untouched. */
	g_assert_false(output_has(ROUTES4, "192.0.2.50"));
	g_assert_true(output_has(ROUTES4, "default via 192.0.2.1 dev rvup0"));
	/* Unmarked traffic goes into the tunnel, marked traffic keeps the uplink. */
	g_assert_true(output_has("ip -4 route get 198.51.100.1", "dev rvtun0 table 51820"));
	g_assert_true(output_has("ip -4 route get 198.51.100.1 mark 0xca6c", "via 192.0.2.1 dev rvup0"));

	remove_ok("full");
	g_assert_false(output_has(ROUTES4, "table 51820"));
	g_assert_false(output_has(ROUTES6, "table 51820"));
	g_assert_false(output_has("ip -4 rule show", "fwmark"));
	g_assert_false(output_has("ip -4 rule show", "suppress_prefixlength"));
	g_assert_false(output_has("ip -6 rule show", "fwmark"));
	g_assert_false(output_has("ip addr show dev rvtun0", "10.9.0.2"));
	net_clear(&net);
}

static void test_full_endpoint(void)
{
	static const char *const addresses[] = { "10.9.0.2/32", "fd09::2/128", NULL };
	static const char *const routes[] = { "0.0.0.0/0", "::/0", NULL };
	struct rv_tunnel_net net;

	if (skip_unless_netns())
		return;
	net_init(&net, addresses, routes);
	net.endpoint = g_strdup("192.0.2.50:51820");
	apply_ok("full", &net, 0);

	g_assert_true(output_has(ROUTES4, "192.0.2.50 via 192.0.2.1 dev rvup0"));
	g_assert_true(output_has(ROUTES4, "0.0.0.0/1 dev rvtun0"));
	g_assert_true(output_has(ROUTES4, "128.0.0.0/1 dev rvtun0"));
	g_assert_true(output_has(ROUTES6, "::/1 dev rvtun0"));
	g_assert_true(output_has(ROUTES6, "8000::/1 dev rvtun0"));
	g_assert_true(output_has("ip -4 route get 198.51.100.1", "dev rvtun0"));
	g_assert_true(output_has("ip -4 route get 192.0.2.50", "via 192.0.2.1 dev rvup0"));

	remove_ok("full");
	g_assert_false(output_has(ROUTES4, "192.0.2.50"));
	g_assert_false(output_has(ROUTES4, "0.0.0.0/1"));
	g_assert_false(output_has(ROUTES4, "128.0.0.0/1"));
	g_assert_false(output_has(ROUTES6, "::/1 dev"));
	g_assert_false(output_has(ROUTES6, "8000::/1"));
	g_assert_true(output_has(ROUTES4, "default via 192.0.2.1 dev rvup0"));
	g_assert_true(output_has(ROUTES6, "default via 2001:db8:1::1 dev rvup0"));
	net_clear(&net);
}

static void test_ipv6_endpoint(void)
{
	static const char *const addresses[] = { "fd09::2/128", NULL };
	static const char *const routes[] = { "::/0", NULL };
	struct rv_tunnel_net net;

	if (skip_unless_netns())
		return;
	net_init(&net, addresses, routes);
	net.endpoint = g_strdup("[2001:db8:1::50]:51820");
	apply_ok("v6", &net, 0);
	g_assert_true(output_has(ROUTES6, "2001:db8:1::50 via 2001:db8:1::1 dev rvup0"));
	g_assert_true(output_has(ROUTES6, "8000::/1 dev rvtun0"));
	remove_ok("v6");
	g_assert_false(output_has(ROUTES6, "2001:db8:1::50"));
	g_assert_false(output_has(ROUTES6, "8000::/1"));
	net_clear(&net);
}

/* The daemon dies with a full tunnel up; the next start removes the rules
 * and the endpoint route it left, and nothing that is not ours. */
static void test_crash_recovery(void)
{
	static const char *const addresses[] = { "10.9.0.2/32", NULL };
	static const char *const routes[] = { "0.0.0.0/0", "::/0", "10.40.0.0/16", NULL };
	struct rv_tunnel_net net;
	GError *error = NULL;

	if (skip_unless_netns())
		return;
	g_free(run("ip rule add fwmark 0x99 lookup 99 priority 1000"));
	net_init(&net, addresses, routes);
	net.endpoint = g_strdup("192.0.2.50");
	apply_ok("marked", &net, 0xca6c);
	apply_ok("plain", &net, 0);
	g_assert_true(output_has("ip -4 rule show", "fwmark 0xca6c"));
	g_assert_true(output_has(ROUTES4, "192.0.2.50 via 192.0.2.1"));

	rv_routes_exit();	/* forgets everything, removes nothing */
	g_assert_true(output_has("ip -4 rule show", "fwmark 0xca6c"));
	g_assert_cmpint(rv_routes_init(&error), ==, 0);
	g_assert_no_error(error);

	g_assert_false(output_has("ip -4 rule show", "0xca6c"));
	g_assert_false(output_has("ip -4 rule show", "suppress_prefixlength"));
	g_assert_false(output_has("ip -6 rule show", "0xca6c"));
	g_assert_false(output_has(ROUTES4, "192.0.2.50"));
	g_assert_false(output_has(ROUTES4, "table 51820"));
	g_assert_false(output_has(ROUTES4, "10.40.0.0/16"));
	g_assert_false(output_has(ROUTES4, "0.0.0.0/1"));
	/* Not ours: kept. */
	g_assert_true(output_has("ip -4 rule show", "1000:\tfrom all fwmark 0x99 lookup 99"));
	g_assert_true(output_has(ROUTES4, "default via 192.0.2.1 dev rvup0"));
	g_assert_true(output_has(ROUTES4, "192.0.2.0/24 dev rvup0"));
	g_free(run("ip rule del priority 1000"));
	/* The address is the device's business; take it off for the next test. */
	g_free(run("ip addr flush dev rvtun0"));
	net_clear(&net);
}

static void test_errors(void)
{
	static const char *const addresses[] = { "10.9.0.2/32", NULL };
	static const char *const bad_routes[] = { "10.10.0.0/16", "10.11.0.0/99", NULL };
	struct rv_tunnel_net net;
	GError *error = NULL;

	if (skip_unless_netns())
		return;
	net_init(&net, addresses, bad_routes);
	/* The first route and the address went in; the bad one rolls them back. */
	g_assert_cmpint(rv_routes_apply("bad", &net, 0, &error), ==, -EINVAL);
	g_assert_error(error, RV_ERROR, RV_ERROR_INVALID);
	g_clear_error(&error);
	g_assert_false(output_has(ROUTES4, "10.10.0.0/16"));
	g_assert_false(output_has("ip addr show dev rvtun0", "10.9.0.2"));
	net_clear(&net);

	net_init(&net, addresses, (const char *const[]){ "10.10.0.0/16", NULL });
	g_free(net.ifname);
	net.ifname = g_strdup("rvnothere0");
	g_assert_cmpint(rv_routes_apply("bad", &net, 0, &error), ==, -ENODEV);
	g_assert_error(error, RV_ERROR, RV_ERROR_NOT_FOUND);
	g_clear_error(&error);
	net_clear(&net);
}

int main(int argc, char **argv)
{
	GError *error = NULL;
	int r;

	g_test_init(&argc, &argv, NULL);
	in_private_netns = setup_netns();
	if (in_private_netns) {
		g_assert_cmpint(rv_routes_init(&error), ==, 0);
		g_assert_no_error(error);
	}
	g_test_add_func("/routes/split", test_split);
	g_test_add_func("/routes/full-fwmark", test_full_fwmark);
	g_test_add_func("/routes/full-endpoint", test_full_endpoint);
	g_test_add_func("/routes/ipv6-endpoint", test_ipv6_endpoint);
	g_test_add_func("/routes/crash-recovery", test_crash_recovery);
	g_test_add_func("/routes/errors", test_errors);
	r = g_test_run();
	/* The namespace and its devices vanish with this process. */
	rv_routes_exit();
	return r;
}

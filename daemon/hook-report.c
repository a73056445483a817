/* hook-report.c - turn vpnc/pppd/OpenVPN/strongSwan script reports into tunnel facts (hook-report.h). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hook-report.h"
#include "hook-server.h"
#include "validate.h"

bool rv_hook_wire_parse(const guint8 *data, gsize len, GPtrArray *argv, GHashTable *env)
{
	const char *p = (const char *)data;
	const char *end = p + len;

	/* NUL-terminated as a whole, so every strlen below stops inside. */
	if (len == 0 || data[len - 1] != '\0' || strcmp(p, RV_HOOK_MAGIC) != 0)
		return false;
	p += strlen(p) + 1;
	while (p < end) {
		size_t n = strlen(p);
		const char *eq;

		if (p[0] == 'A') {
			g_ptr_array_add(argv, g_strdup(p + 1));
		} else if (p[0] == 'E' && (eq = strchr(p, '='))) {
			g_hash_table_replace(env, g_strndup(p + 1, (gsize)(eq - p - 1)), g_strdup(eq + 1));
		} else {
			return false;
		}
		p += n + 1;
	}
	return true;
}

static bool parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	char *end;

	if (!text || !g_ascii_isdigit(text[0]))
		return false;
	errno = 0;
	*out = strtoul(text, &end, 10);
	return errno == 0 && *end == '\0' && *out <= max;
}

static int bad(GError **error, const char *what, const char *value)
{
	g_autofree char *shown = g_strescape(value ? value : "(missing)", NULL);

	g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "bad %s '%s'", what, shown);
	return -EINVAL;
}

/* Space-separated list of addresses; every one must be valid. */
static int ip_list(const char *text, char ***out, GError **error)
{
	g_auto(GStrv) words = g_strsplit_set(text ? text : "", " \t", -1);
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

	for (char **w = words; *w; w++) {
		if (!**w)
			continue;
		if (!rv_ip_valid(*w, NULL))
			return bad(error, "DNS server", *w);
		g_ptr_array_add(list, g_strdup(*w));
	}
	g_ptr_array_add(list, NULL);
	*out = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
	return 0;
}

static int parse_vpnc(const char *reason, GHashTable *env, struct rv_tunnel_net **out,
		      GError **error)
{
	g_autoptr(rv_tunnel_net) net = NULL;
	const char *tundev = g_hash_table_lookup(env, "TUNDEV");
	const char *addr = g_hash_table_lookup(env, "INTERNAL_IP4_ADDRESS");
	const char *masklen = g_hash_table_lookup(env, "INTERNAL_IP4_NETMASKLEN");
	const char *mtu = g_hash_table_lookup(env, "INTERNAL_IP4_MTU");
	const char *gateway = g_hash_table_lookup(env, "VPNGATEWAY");
	const char *domain = g_hash_table_lookup(env, "CISCO_DEF_DOMAIN");
	const char *split = g_hash_table_lookup(env, "CISCO_SPLIT_INC");
	unsigned long n, count = 0;

	if (g_str_equal(reason, "disconnect"))
		return RV_HOOK_DOWN;
	if (!g_str_equal(reason, "connect"))
		return RV_HOOK_IGNORE;

	net = rv_tunnel_net_new();
	if (!rv_ifname_plain(tundev))
		return bad(error, "TUNDEV", tundev);
	net->ifname = g_strdup(tundev);
	if (!rv_ipv4_valid(addr))
		return bad(error, "INTERNAL_IP4_ADDRESS", addr);
	if (masklen && !parse_uint(masklen, 32, &n))
		return bad(error, "INTERNAL_IP4_NETMASKLEN", masklen);
	/* vpnc-script puts the address on the device as a /32 peer-less address,
	 * routes do the rest; so do we. */
	g_ptr_array_add(net->addresses, g_strdup_printf("%s/32", addr));
	net->addresses_assigned = false;
	if (mtu) {
		if (!parse_uint(mtu, 65535, &n) || n < 576)
			return bad(error, "INTERNAL_IP4_MTU", mtu);
		net->mtu = (int)n;
	}
	if (gateway) {
		if (!rv_ip_valid(gateway, NULL))
			return bad(error, "VPNGATEWAY", gateway);
		net->endpoint = g_strdup(gateway);
	}
	if (ip_list(g_hash_table_lookup(env, "INTERNAL_IP4_DNS"), &net->dns, error) < 0)
		return -EINVAL;
	if (domain) {
		g_auto(GStrv) words = g_strsplit_set(domain, " \t,", -1);
		g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);

		for (char **w = words; *w; w++) {
			if (!**w)
				continue;
			if (!rv_domain_valid(*w))
				return bad(error, "CISCO_DEF_DOMAIN", *w);
			g_ptr_array_add(list, g_strdup(*w));
		}
		g_ptr_array_add(list, NULL);
		net->domains = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
	}
	if (split && !parse_uint(split, 1024, &count))
		return bad(error, "CISCO_SPLIT_INC", split);
	for (unsigned long i = 0; i < count; i++) {
		g_autofree char *ka = g_strdup_printf("CISCO_SPLIT_INC_%lu_ADDR", i);
		g_autofree char *km = g_strdup_printf("CISCO_SPLIT_INC_%lu_MASKLEN", i);
		const char *a = g_hash_table_lookup(env, ka);
		const char *m = g_hash_table_lookup(env, km);

		if (!rv_ipv4_valid(a))
			return bad(error, ka, a);
		if (!parse_uint(m, 32, &n))
			return bad(error, km, m);
		g_ptr_array_add(net->routes, g_strdup_printf("%s/%lu", a, n));
	}
	if (count == 0)
		g_ptr_array_add(net->routes, g_strdup("0.0.0.0/0"));
	*out = g_steal_pointer(&net);
	return RV_HOOK_UP;
}

static int parse_pppd(GHashTable *env, struct rv_tunnel_net **out, GError **error)
{
	g_autoptr(rv_tunnel_net) net = rv_tunnel_net_new();
	const char *ifname = g_hash_table_lookup(env, "IFNAME");
	const char *local = g_hash_table_lookup(env, "IPLOCAL");
	/* Owns its strings until handed over: a bad DNS2 after a good DNS1 leaked DNS1
	 * (found by fuzz-hook). */
	g_autoptr(GPtrArray) dns = g_ptr_array_new_with_free_func(g_free);

	if (g_hash_table_contains(env, "CONNECT_TIME"))
		return RV_HOOK_DOWN;	/* only ip-down sets it */
	if (!rv_ifname_plain(ifname))
		return bad(error, "IFNAME", ifname);
	if (!rv_ipv4_valid(local))
		return bad(error, "IPLOCAL", local);
	net->ifname = g_strdup(ifname);
	/* pppd configured the point-to-point address itself. */
	g_ptr_array_add(net->addresses, g_strdup_printf("%s/32", local));
	net->addresses_assigned = true;
	for (const char *const *k = (const char *const[]){ "DNS1", "DNS2", NULL }; *k; k++) {
		const char *v = g_hash_table_lookup(env, *k);

		if (!v)
			continue;
		if (!rv_ip_valid(v, NULL))
			return bad(error, *k, v);
		g_ptr_array_add(dns, g_strdup(v));
	}
	g_ptr_array_add(dns, NULL);
	net->dns = (char **)g_ptr_array_free(g_steal_pointer(&dns), FALSE);
	*out = g_steal_pointer(&net);
	return RV_HOOK_UP;
}

/* A dotted IPv4 netmask as a prefix length; false for a non-contiguous one. */
static bool netmask_prefix(const char *text, unsigned *prefix)
{
	struct in_addr a;
	guint32 m;

	if (!rv_ipv4_valid(text) || inet_pton(AF_INET, text, &a) != 1)
		return false;
	m = ntohl(a.s_addr);
	*prefix = 0;
	while (m & 0x80000000u) {
		(*prefix)++;
		m <<= 1;
	}
	return m == 0;
}

/* One OpenVPN pushed option ("dhcp-option DNS 10.0.0.53", "dhcp-option DOMAIN x"):
 * DNS servers and domains go to their lists, anything else is not ours. */
static int openvpn_foreign_option(const char *key, const char *text, GPtrArray *dns,
				  GPtrArray *domains, GError **error)
{
	g_auto(GStrv) w = g_strsplit_set(text, " \t", -1);
	guint n = g_strv_length(w);

	if (n != 3 || !g_str_equal(w[0], "dhcp-option"))
		return 0;
	if (g_str_equal(w[1], "DNS") || g_str_equal(w[1], "DNS6")) {
		if (!rv_ip_valid(w[2], NULL))
			return bad(error, key, text);
		g_ptr_array_add(dns, g_strdup(w[2]));
	} else if (g_str_equal(w[1], "DOMAIN") || g_str_equal(w[1], "DOMAIN-SEARCH")) {
		if (!rv_domain_valid(w[2]))
			return bad(error, key, text);
		g_ptr_array_add(domains, g_strdup(w[2]));
	}
	return 0;
}

/* OpenVPN's --route-up (up) and --down (down) scripts: dev, ifconfig_local with
 * ifconfig_netmask (topology subnet; without it a /32), route_network_N/
 * route_netmask_N (N from 1), foreign_option_N (the pushed dhcp-options),
 * trusted_ip (the server). OpenVPN configured the device; the routes are ours (the
 * plugin runs it with --route-noexec). OpenVPN 2.6 tells its scripts nothing about
 * a pushed redirect-gateway (seen against a real server: no variable at all), so as
 * with vpnc, no pushed route means everything goes through the tunnel. */
static int parse_openvpn(const char *type, GHashTable *env, struct rv_tunnel_net **out,
			 GError **error)
{
	g_autoptr(rv_tunnel_net) net = NULL;
	g_autoptr(GPtrArray) dns = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	const char *dev = g_hash_table_lookup(env, "dev");
	const char *local = g_hash_table_lookup(env, "ifconfig_local");
	const char *netmask = g_hash_table_lookup(env, "ifconfig_netmask");
	const char *server = g_hash_table_lookup(env, "trusted_ip");
	unsigned prefix = 32;

	if (g_str_equal(type, "down"))
		return RV_HOOK_DOWN;
	if (!g_str_equal(type, "route-up"))
		return RV_HOOK_IGNORE;
	net = rv_tunnel_net_new();
	if (!rv_ifname_plain(dev))
		return bad(error, "dev", dev);
	net->ifname = g_strdup(dev);
	if (local) {
		if (!rv_ipv4_valid(local))
			return bad(error, "ifconfig_local", local);
		if (netmask && !netmask_prefix(netmask, &prefix))
			return bad(error, "ifconfig_netmask", netmask);
		g_ptr_array_add(net->addresses, g_strdup_printf("%s/%u", local, prefix));
	}
	net->addresses_assigned = true;
	if (server) {
		if (!rv_ip_valid(server, NULL))
			return bad(error, "trusted_ip", server);
		net->endpoint = g_strdup(server);
	}
	/* Numbered from 1 without gaps; bounded like vpnc's split list. */
	for (unsigned i = 1; i <= 1024; i++) {
		g_autofree char *kn = g_strdup_printf("route_network_%u", i);
		g_autofree char *km = g_strdup_printf("route_netmask_%u", i);
		const char *a = g_hash_table_lookup(env, kn);
		const char *m = g_hash_table_lookup(env, km);
		unsigned len;

		if (!a)
			break;
		if (!rv_ipv4_valid(a))
			return bad(error, kn, a);
		if (!m || !netmask_prefix(m, &len))
			return bad(error, km, m);
		g_ptr_array_add(net->routes, g_strdup_printf("%s/%u", a, len));
	}
	if (net->routes->len == 0)
		g_ptr_array_add(net->routes, g_strdup("0.0.0.0/0"));
	for (unsigned i = 1; i <= 1024; i++) {
		g_autofree char *k = g_strdup_printf("foreign_option_%u", i);
		const char *v = g_hash_table_lookup(env, k);

		if (!v)
			break;
		if (openvpn_foreign_option(k, v, dns, domains, error) < 0)
			return -EINVAL;
	}
	g_ptr_array_add(dns, NULL);
	net->dns = (char **)g_ptr_array_free(g_steal_pointer(&dns), FALSE);
	if (domains->len) {
		g_ptr_array_add(domains, NULL);
		net->domains = (char **)g_ptr_array_free(g_steal_pointer(&domains), FALSE);
	}
	*out = g_steal_pointer(&net);
	return RV_HOOK_UP;
}

/* strongSwan's updown (PLUTO_VERB=up-client|down-client; others are host/policy
 * events): PLUTO_MY_SOURCEIP (the virtual IP, which charon put on the device),
 * PLUTO_PEER_CLIENT (the remote traffic selector, space-separated if several),
 * PLUTO_PEER (the server), PLUTO_DNS4_N/PLUTO_DNS6_N (updown's dns_handler).
 * PLUTO_INTERFACE is the outbound interface, not the tunnel's: the ipsec plugin
 * replaces the device with kernel-libipsec's. */
static int parse_strongswan(const char *verb, GHashTable *env, struct rv_tunnel_net **out,
			    GError **error)
{
	g_autoptr(rv_tunnel_net) net = NULL;
	g_autoptr(GPtrArray) dns = g_ptr_array_new_with_free_func(g_free);
	const char *ifname = g_hash_table_lookup(env, "PLUTO_INTERFACE");
	const char *vip = g_hash_table_lookup(env, "PLUTO_MY_SOURCEIP");
	const char *peer = g_hash_table_lookup(env, "PLUTO_PEER");
	const char *ts = g_hash_table_lookup(env, "PLUTO_PEER_CLIENT");
	g_auto(GStrv) nets = NULL;

	if (g_str_equal(verb, "down-client"))
		return RV_HOOK_DOWN;
	if (!g_str_equal(verb, "up-client"))
		return RV_HOOK_IGNORE;
	net = rv_tunnel_net_new();
	if (!rv_ifname_plain(ifname))
		return bad(error, "PLUTO_INTERFACE", ifname);
	net->ifname = g_strdup(ifname);
	if (!rv_ip_valid(vip, NULL))
		return bad(error, "PLUTO_MY_SOURCEIP", vip);
	g_ptr_array_add(net->addresses, g_strdup_printf("%s/%d", vip, strchr(vip, ':') ? 128 : 32));
	net->addresses_assigned = true;
	if (peer) {
		if (!rv_ip_valid(peer, NULL))
			return bad(error, "PLUTO_PEER", peer);
		net->endpoint = g_strdup(peer);
	}
	nets = g_strsplit_set(ts ? ts : "", " ", -1);
	for (char **n = nets; *n; n++) {
		if (!**n)
			continue;
		if (!rv_cidr_valid(*n))
			return bad(error, "PLUTO_PEER_CLIENT", *n);
		g_ptr_array_add(net->routes, g_strdup(*n));
	}
	for (const char *const *fam = (const char *const[]){ "PLUTO_DNS4_", "PLUTO_DNS6_", NULL };
	     *fam; fam++) {
		for (unsigned i = 1; i <= 16; i++) {
			g_autofree char *k = g_strdup_printf("%s%u", *fam, i);
			const char *v = g_hash_table_lookup(env, k);

			if (!v)
				break;
			if (!rv_ip_valid(v, NULL))
				return bad(error, k, v);
			g_ptr_array_add(dns, g_strdup(v));
		}
	}
	g_ptr_array_add(dns, NULL);
	net->dns = (char **)g_ptr_array_free(g_steal_pointer(&dns), FALSE);
	*out = g_steal_pointer(&net);
	return RV_HOOK_UP;
}

int rv_hook_report_parse(char **argv, GHashTable *env, struct rv_tunnel_net **net,
			 GError **error)
{
	const char *reason = g_hash_table_lookup(env, "reason");
	const char *script_type = g_hash_table_lookup(env, "script_type");
	const char *pluto_verb = g_hash_table_lookup(env, "PLUTO_VERB");

	*net = NULL;
	if (reason)
		return parse_vpnc(reason, env, net, error);
	if (script_type)
		return parse_openvpn(script_type, env, net, error);
	if (pluto_verb)
		return parse_strongswan(pluto_verb, env, net, error);
	if (g_hash_table_contains(env, "IFNAME") && g_hash_table_contains(env, "IPLOCAL"))
		return parse_pppd(env, net, error);
	g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
		    "neither a vpnc (reason=), OpenVPN (script_type=), strongSwan (PLUTO_VERB=) nor pppd (IFNAME, IPLOCAL) report");
	return -EINVAL;
}

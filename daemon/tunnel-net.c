/* tunnel-net.c - a running tunnel's routes and DNS (see tunnel-net.h).
 *
 * Owns the rule "configured DNS wins over the backend's": it is applied once, here
 * where the tunnel comes up, and everything after (the DNS method, the Tunnel's DNS
 * and Domains properties on D-Bus) reads the settled values from t->net.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>

#include "link.h"
#include "log.h"
#include "routes.h"
#include "tunnel-net.h"

/* [Tunnel] DNS= and Domains= win over what the backend reported. Settled once,
 * here where the tunnel comes up: the DNS backend below and the D-Bus DNS and
 * Domains properties both read net->dns and net->domains afterwards. */
static void settle_dns(struct rv_tunnel_net *net, const struct rv_tunnel_config *cfg)
{
	if (cfg->dns) {
		g_strfreev(net->dns);
		net->dns = g_strdupv(cfg->dns);
	}
	if (cfg->domains) {
		g_strfreev(net->domains);
		net->domains = g_strdupv(cfg->domains);
	}
}

int rv_tunnel_net_up(struct rv_dns *dns, struct rv_tunnel *t, GError **error)
{
	struct rv_tunnel_net *net = t->net;
	char **servers, **domains;
	bool full = net->routes->len == 0;

	settle_dns(net, t->config);
	servers = net->dns;
	domains = net->domains;

	for (guint i = 0; i < net->routes->len; i++) {
		const char *r = g_ptr_array_index(net->routes, i);

		if (g_str_equal(r, "0.0.0.0/0") || g_str_equal(r, "::/0"))
			full = true;
	}
	if (net->ifname && (net->routes->len > 0 ||
			    (!net->addresses_assigned && net->addresses->len > 0))) {
		if (rv_routes_apply(t->name, net, net->fwmark, error) < 0)
			return -EIO;
		t->routes_applied = true;
	}
	if (servers && servers[0]) {
		struct rv_link *dev = net->ifname ? rv_links_lookup_name(net->ifname) : NULL;
		struct rv_dns_request req = {
			.key = t->name,
			.ifname = net->ifname,
			.ifindex = dev ? dev->ifindex : 0,
			.servers = servers,
			.domains = domains,
			.default_route = full,
		};

		if (rv_dns_apply(dns, &req, error) < 0)
			return -EIO;
		t->dns_applied = true;
	}
	return 0;
}

void rv_tunnel_net_down(struct rv_dns *dns, struct rv_tunnel *t)
{
	g_autoptr(GError) error = NULL;

	if (t->dns_applied && rv_dns_revert(dns, t->name, &error) < 0) {
		rv_tunnel_warning(t->name, "restoring DNS: %s", error->message);
		g_clear_error(&error);
	}
	if (t->routes_applied && rv_routes_remove(t->name, &error) < 0)
		rv_tunnel_warning(t->name, "removing routes: %s", error->message);
}

/* killswitch.c - the kill switch's nftables table "inet roamvpn" (see killswitch.h).
 *
 * Owns: which links are guarded and why, the endpoints each guarded link lets
 * through (the tunnel's backend names them, servers() in backend.h: this file never
 * reads a tunnel's files; names are resolved here), the table text and its
 * installation through libnftables. Everything is rebuilt from that state and
 * installed as one transaction ("add; delete; define"), so the kernel never holds
 * half a switch, and only when the text changed.
 *
 * Why a rebuilt table and not incremental rule edits: the whole policy is a few
 * dozen rules, a rebuild is atomic, and a predecessor's table (after a crash) is
 * replaced the same way without having to understand what it held.
 */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <nftables/libnftables.h>

#include "error.h"
#include "backend.h"
#include "events.h"
#include "killswitch.h"
#include "policy.h"
#include "sorted.h"
#include "supervisor.h"

#define RESOLVE_TIMEOUT_S 5
#define RETRY_FAILED_S 10
#define NFT_FAMILY_TABLE "inet " RV_KILLSWITCH_TABLE

static const char *const proto_names[] = { [RV_SERVER_UDP] = "udp", [RV_SERVER_TCP] = "tcp",
					     [RV_SERVER_ESP] = "esp", [RV_SERVER_GRE] = "gre" };

struct guarded {
	char *ifname;
	int ifindex;		/* for names nft text cannot hold */
	char *rule;
	char *tunnel;
	bool window;
	guint16 window_port;	/* the login page's port, when not 80 or 443 */
	char *probe_addr;	/* the portal probe's target, allowed from marked sockets */
	guint16 probe_port;
};

struct name_cache {
	char **addresses;	/* NULL until resolved */
	GCancellable *cancel;	/* while a lookup runs */
	guint timeout;
	bool failed;
	gint64 failed_at;	/* monotonic */
	bool holds_dns;		/* this lookup opened the DNS pinhole */
};

static struct nft_ctx *nft;
static GHashTable *links;	/* ifname -> struct guarded * */
static GHashTable *names;	/* host -> struct name_cache * */
static GHashTable *up_seen;	/* tunnel name -> up_since_mono of the up we re-resolved for */
static char *applied;		/* text of the installed table; "" when none */
static bool inherited;		/* a crashed predecessor's table is still in place */
static bool installed;
static guint dns_holds;
static guint events_id;
static guint rebuild_idle;
static guint emit_idle;
static bool unavailable;	/* no nftables in this kernel: nothing can be enforced */
static bool building;		/* inside build_table(): lookups it starts count there */

static void rebuild(void);

static void guarded_free(gpointer p)
{
	struct guarded *g = p;

	g_free(g->ifname);
	g_free(g->rule);
	g_free(g->tunnel);
	g_free(g->probe_addr);
	g_free(g);
}

static void name_cache_free(gpointer p)
{
	struct name_cache *c = p;

	if (c->cancel) {
		g_cancellable_cancel(c->cancel);
		g_object_unref(c->cancel);
	}
	g_clear_handle_id(&c->timeout, g_source_remove);
	g_strfreev(c->addresses);
	g_free(c);
}

/* --- endpoints: what the tunnel's backend says it talks to (servers()) ---------- */

/* The backend's answer from its parsed configuration (never the tunnel's files:
 * this runs on the main loop); once up, with what the backend reported. */
static GPtrArray *tunnel_endpoints(const struct rv_tunnel *t)
{
	if (!t)
		return rv_servers_new();
	return rv_backend_servers(t->config, t->state == RV_TUNNEL_UP ? t->net : NULL);
}

GPtrArray *rv_killswitch_endpoints(const struct rv_tunnel_config *cfg)
{
	g_autoptr(GPtrArray) eps = rv_backend_servers(cfg, NULL);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);

	for (guint i = 0; i < eps->len; i++) {
		const struct rv_server *e = g_ptr_array_index(eps, i);

		if (e->port)
			g_ptr_array_add(out, g_strdup_printf("%s %s %u", proto_names[e->proto], e->host, e->port));
		else
			g_ptr_array_add(out, g_strdup_printf("%s %s", proto_names[e->proto], e->host));
	}
	return out;
}

/* --- names: resolved before the switch closes, again through the tunnel -------- */

static void lookup_done(struct name_cache *c)
{
	g_clear_handle_id(&c->timeout, g_source_remove);
	g_clear_object(&c->cancel);
	if (c->holds_dns) {
		c->holds_dns = false;
		rv_killswitch_hold_dns(false);
	}
}

static void resolved(GObject *source, GAsyncResult *result, gpointer data)
{
	char *host = data;
	g_autoptr(GError) error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), result, &error);
	struct name_cache *c;

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_free(host);
		return;		/* the cache entry is gone or timed out; it said so */
	}
	c = names ? g_hash_table_lookup(names, host) : NULL;
	if (c) {
		if (addrs) {
			GPtrArray *list = g_ptr_array_new_with_free_func(g_free);

			/* Keep what we had: a running tunnel still uses the old address. */
			for (int i = 0; c->addresses && c->addresses[i]; i++)
				g_ptr_array_add(list, g_strdup(c->addresses[i]));
			for (GList *l = addrs; l; l = l->next) {
				char *a = g_inet_address_to_string(l->data);

				if (g_ptr_array_find_with_equal_func(list, a, g_str_equal, NULL))
					g_free(a);
				else
					g_ptr_array_add(list, a);
			}
			g_ptr_array_set_free_func(list, NULL);
			g_ptr_array_add(list, NULL);
			g_strfreev(c->addresses);
			c->addresses = (char **)g_ptr_array_free(list, FALSE);
			c->failed = false;
			g_resolver_free_addresses(addrs);
		} else {
			g_autofree char *shown = g_strescape(host, NULL);

			g_warning("kill switch: cannot resolve endpoint %s: %s", shown, error->message);
			c->failed = true;
			c->failed_at = g_get_monotonic_time();
		}
		lookup_done(c);
		rebuild();
	}
	g_free(host);
}

static gboolean lookup_timeout(gpointer data)
{
	struct name_cache *c = data;

	c->timeout = 0;
	g_message("kill switch: an endpoint name did not resolve within %d s; it stays closed for it",
		  RESOLVE_TIMEOUT_S);
	c->failed = true;
	c->failed_at = g_get_monotonic_time();
	g_cancellable_cancel(c->cancel);
	lookup_done(c);
	rebuild();
	return G_SOURCE_REMOVE;
}

/* hold: the lookup needs DNS out of the guarded links (before the tunnel is up);
 * a lookup through the tunnel does not. */
static void resolve(const char *host, bool hold)
{
	struct name_cache *c = g_hash_table_lookup(names, host);
	g_autoptr(GResolver) resolver = NULL;

	if (!c) {
		c = g_new0(struct name_cache, 1);
		g_hash_table_insert(names, g_strdup(host), c);
	}
	if (c->cancel)
		return;		/* already asking */
	c->cancel = g_cancellable_new();
	c->timeout = g_timeout_add_seconds(RESOLVE_TIMEOUT_S, lookup_timeout, c);
	if (hold) {
		c->holds_dns = true;
		rv_killswitch_hold_dns(true);
	}
	resolver = g_resolver_get_default();
	g_resolver_lookup_by_name_async(resolver, host, c->cancel, resolved, g_strdup(host));
}

/* Addresses of host: itself when numeric, the cache otherwise (asking if unknown
 * and ask is set: only the table's builder asks, never a reader such as explain,
 * which anyone may call). */
static const char *const *host_addresses(const char *host, const char **numeric, bool ask)
{
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host);
	struct name_cache *c;

	if (addr) {
		numeric[0] = host;
		numeric[1] = NULL;
		return numeric;
	}
	c = g_hash_table_lookup(names, host);
	if (ask && (!c || (!c->addresses && !c->cancel && !c->failed)))
		resolve(host, true);
	c = g_hash_table_lookup(names, host);
	return c && c->addresses ? (const char *const *)c->addresses : NULL;
}

static bool tunnel_has_names(const struct rv_tunnel *t)
{
	g_autoptr(GPtrArray) eps = tunnel_endpoints(t);

	for (guint i = 0; i < eps->len; i++) {
		const struct rv_server *e = g_ptr_array_index(eps, i);
		g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(e->host);

		if (!addr)
			return true;
	}
	return false;
}

/* --- the table ------------------------------------------------------------------ */

/* nft strings cannot escape a '"': other names are matched by index. */
static bool nft_name_safe(const char *name)
{
	if (!name || !*name)
		return false;
	for (const char *c = name; *c; c++)
		if (!g_ascii_isalnum(*c) && !strchr("_-.@+", *c))
			return false;
	return true;
}

static void match_oif(GString *out, const struct guarded *g)
{
	if (nft_name_safe(g->ifname))
		g_string_append_printf(out, "oifname \"%s\"", g->ifname);
	else
		g_string_append_printf(out, "oif %d", g->ifindex);
}

static const struct rv_tunnel *guarded_tunnel(const struct guarded *g)
{
	return rv_supervisor_lookup(g->tunnel);
}

static bool tunnel_is_up(const struct rv_tunnel *t)
{
	return t && t->state == RV_TUNNEL_UP;
}

static void append_line_once(GString *out, GHashTable *seen, char *line)
{
	if (g_hash_table_contains(seen, line)) {
		g_free(line);
		return;
	}
	g_string_append(out, line);
	g_hash_table_add(seen, line);
}

static void append_endpoint_rules(GString *out, const struct rv_tunnel *t)
{
	g_autoptr(GPtrArray) eps = tunnel_endpoints(t);
	g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	for (guint i = 0; i < eps->len; i++) {
		const struct rv_server *e = g_ptr_array_index(eps, i);
		const char *numeric[2];
		const char *const *addrs = host_addresses(e->host, numeric, true);

		for (int a = 0; addrs && addrs[a]; a++) {
			const char *family = strchr(addrs[a], ':') ? "ip6" : "ip";

			if (e->proto == RV_SERVER_UDP || e->proto == RV_SERVER_TCP)
				append_line_once(out, seen, g_strdup_printf("\t\t%s daddr %s %s dport %u accept\n",
						 family, addrs[a], proto_names[e->proto], e->port));
			else
				append_line_once(out, seen, g_strdup_printf("\t\t%s daddr %s meta l4proto %s accept\n",
						 family, addrs[a], proto_names[e->proto]));
		}
	}
}

static gint compare_guarded(gconstpointer a, gconstpointer b)
{
	const struct guarded *ga = *(struct guarded *const *)a;
	const struct guarded *gb = *(struct guarded *const *)b;

	return strcmp(ga->ifname, gb->ifname);
}

static GPtrArray *guarded_sorted(void)
{
	return rv_hash_values_sorted(links, compare_guarded);
}

static bool need_dns_pinhole(GPtrArray *list)
{
	if (dns_holds > 0)
		return true;
	/* A backend that resolves its endpoint itself does so while it starts. */
	for (guint i = 0; i < list->len; i++) {
		const struct rv_tunnel *t = guarded_tunnel(g_ptr_array_index(list, i));

		if (t && t->state == RV_TUNNEL_STARTING && tunnel_has_names(t))
			return true;
	}
	return false;
}

/* The whole table as nft text; "" when no link is guarded. */
static char *build_table(void)
{
	g_autoptr(GPtrArray) list = guarded_sorted();
	g_autoptr(GPtrArray) tundevs = g_ptr_array_new();
	GString *out;
	bool pinhole;

	if (list->len == 0)
		return g_strdup("");
	/* Start the lookups first, so the DNS they need is in this very table. */
	building = true;
	for (guint i = 0; i < list->len; i++) {
		g_autoptr(GPtrArray) eps = tunnel_endpoints(guarded_tunnel(g_ptr_array_index(list, i)));

		for (guint j = 0; j < eps->len; j++) {
			const char *numeric[2];

			host_addresses(((struct rv_server *)g_ptr_array_index(eps, j))->host, numeric, true);
		}
	}
	building = false;
	pinhole = need_dns_pinhole(list);
	out = g_string_new("table " NFT_FAMILY_TABLE " {\n");
	for (guint i = 0; i < list->len; i++) {
		const struct guarded *g = g_ptr_array_index(list, i);
		const struct rv_tunnel *t = guarded_tunnel(g);

		if (tunnel_is_up(t) && t->net && nft_name_safe(t->net->ifname) &&
		    !g_ptr_array_find_with_equal_func(tundevs, t->net->ifname, g_str_equal, NULL))
			g_ptr_array_add(tundevs, t->net->ifname);

		g_string_append_printf(out, "\tchain guard%u {\n", i);
		g_string_append(out,
			"\t\tudp sport 68 udp dport 67 accept\n"
			"\t\tudp sport 546 udp dport 547 accept\n"
			"\t\ticmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert, "
			"mld-listener-report, mld2-listener-report } accept\n");
		append_endpoint_rules(out, t);
		if (g->probe_addr)
			g_string_append_printf(out, "\t\tmeta mark 0x%x %s daddr %s tcp dport %u accept\n",
					       RV_PORTAL_PROBE_MARK, strchr(g->probe_addr, ':') ? "ip6" : "ip",
					       g->probe_addr, g->probe_port);
		if (g->window || pinhole)
			g_string_append(out, "\t\tmeta l4proto { tcp, udp } th dport 53 accept\n");
		if (g->window && g->window_port && g->window_port != 80 && g->window_port != 443)
			g_string_append_printf(out, "\t\ttcp dport { 80, 443, %u } accept\n", g->window_port);
		else if (g->window)
			g_string_append(out, "\t\ttcp dport { 80, 443 } accept\n");
		g_string_append(out, "\t\tcounter reject with icmpx type admin-prohibited\n\t}\n");
	}
	for (int hook = 0; hook < 2; hook++) {
		g_string_append_printf(out, "\tchain %s {\n\t\ttype filter hook %s priority filter - 10; policy accept;\n",
				       hook ? "forward" : "output", hook ? "forward" : "output");
		for (guint i = 0; i < list->len; i++) {
			g_string_append(out, "\t\t");
			match_oif(out, g_ptr_array_index(list, i));
			g_string_append_printf(out, " jump guard%u\n", i);
		}
		/* No DNS leak: with a kill-switched tunnel up, DNS goes through it or nowhere. */
		if (tundevs->len > 0) {
			g_string_append(out, "\t\tmeta l4proto { tcp, udp } th dport { 53, 853 } oifname != { \"lo\"");
			for (guint i = 0; i < tundevs->len; i++)
				g_string_append_printf(out, ", \"%s\"", (char *)g_ptr_array_index(tundevs, i));
			g_string_append(out, " } counter reject with icmpx type admin-prohibited\n");
		}
		g_string_append(out, "\t}\n");
	}
	g_string_append(out, "}\n");
	return g_string_free(out, FALSE);
}

static int nft_run(const char *cmd, char **error_text)
{
	int ret = nft_run_cmd_from_buffer(nft, cmd);

	if (ret != 0 && error_text)
		*error_text = g_strdup(nft_ctx_get_error_buffer(nft));
	nft_ctx_get_output_buffer(nft);	/* discard */
	return ret;
}

static bool table_exists(void)
{
	return nft_run("list table " NFT_FAMILY_TABLE, NULL) == 0;
}

/* D-Bus shows the switch with the link's decision. From the main loop, not from
 * inside the event that made us rebuild. */
static gboolean emit_links_changed(gpointer data)
{
	g_autoptr(GPtrArray) all = rv_links_list();

	emit_idle = 0;
	for (guint i = 0; i < all->len; i++)
		rv_events_emit(RV_EVENT_DECISION_CHANGED, g_ptr_array_index(all, i));
	return G_SOURCE_REMOVE;
}

static void install(const char *text, bool force)
{
	g_autofree char *error = NULL;
	g_autofree char *cmd = NULL;
	bool want = *text != '\0';

	if (!nft || (g_strcmp0(text, applied) == 0 && !force))
		return;
	/* One transaction: create-if-missing, delete, define. */
	if (want)
		cmd = g_strdup_printf("add table " NFT_FAMILY_TABLE "\ndelete table " NFT_FAMILY_TABLE "\n%s", text);
	else
		cmd = g_strdup("add table " NFT_FAMILY_TABLE "\ndelete table " NFT_FAMILY_TABLE "\n");
	if (nft_run(cmd, &error) != 0) {
		/* Keep the old table (fail closed) and say why; the next change retries. */
		g_warning("kill switch: nftables refused the table: %s", error ? g_strstrip(error) : "?");
		g_debug("kill switch table:\n%s", text);
		return;
	}
	if (want != installed || force)
		g_message("kill switch: table " NFT_FAMILY_TABLE " %s", want ? "installed" : "removed");
	g_free(applied);
	applied = g_strdup(text);
	installed = want;
	if (!emit_idle)
		emit_idle = g_idle_add(emit_links_changed, NULL);
}

static void rebuild(void)
{
	g_autofree char *text = NULL;

	if (!links || inherited)
		return;	/* a predecessor's table stays until the first sync */
	text = build_table();
	install(text, false);
}

static gboolean rebuild_cb(gpointer data)
{
	rebuild_idle = 0;
	rebuild();
	return G_SOURCE_REMOVE;
}

static void schedule_rebuild(void)
{
	if (!rebuild_idle)
		rebuild_idle = g_idle_add(rebuild_cb, NULL);
}

static void on_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	const struct rv_tunnel *t = object;

	if (kind != RV_EVENT_TUNNEL_CHANGED || !t || g_hash_table_size(links) == 0)
		return;
	if (t->state != RV_TUNNEL_UP) {
		g_hash_table_remove(up_seen, t->name);
	} else if (GPOINTER_TO_SIZE(g_hash_table_lookup(up_seen, t->name)) != (gsize)t->up_since_mono) {
		/* Came up (not a statistics update): re-resolve endpoint names through
		 * the tunnel, its DNS is in place now. */
		g_autoptr(GPtrArray) eps = tunnel_endpoints(t);

		g_hash_table_insert(up_seen, g_strdup(t->name), GSIZE_TO_POINTER((gsize)t->up_since_mono));

		for (guint i = 0; i < eps->len; i++) {
			const struct rv_server *e = g_ptr_array_index(eps, i);
			g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(e->host);
			struct name_cache *c = g_hash_table_lookup(names, e->host);

			if (!addr && c && !c->cancel && c->addresses)
				resolve(e->host, false);
		}
	}
	/* A backend that resolves its endpoint itself does so right after this event
	 * (STARTING): the DNS pinhole must be in the table before it asks. */
	if (t->state == RV_TUNNEL_STARTING)
		rebuild();
	else
		schedule_rebuild();
}

/* --- API ------------------------------------------------------------------------ */

static bool netfilter_available(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int rv_killswitch_init(GError **error)
{
	links = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, guarded_free);
	names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, name_cache_free);
	up_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	applied = g_strdup("");
	events_id = rv_events_subscribe(on_event, NULL);
	/* libnftables exit()s when it cannot open its netlink socket (a kernel without
	 * nfnetlink): find out first, and run without a kill switch rather than not at all. */
	if (!netfilter_available()) {
		g_warning("kill switch: unavailable, this kernel has no nftables (nfnetlink: %s); "
			  "rules with KillSwitch=yes cannot be enforced", g_strerror(errno));
		unavailable = true;
		return 0;
	}
	nft = nft_ctx_new(NFT_CTX_DEFAULT);
	if (!nft) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "kill switch: cannot open libnftables");
		return -ENOMEM;
	}
	nft_ctx_buffer_output(nft);
	nft_ctx_buffer_error(nft);
	if (table_exists()) {
		inherited = true;
		installed = true;
		g_message("kill switch: table " NFT_FAMILY_TABLE " left by a previous run stays until the rules are evaluated");
	}
	return 0;
}

/* One link's decision: held by a KillSwitch=yes connect rule, or not (any more). */
static void sync_one(const struct rv_ruleset *rules, int ifindex, const struct rv_decision *d,
		     bool *newly_guarded)
{
	const struct rv_link *l = rv_links_lookup_index(ifindex);
	const struct rv_rule *rule = d->rule ? rv_ruleset_lookup(rules, d->rule) : NULL;
	struct guarded *g;

	if (!l || d->excluded)
		return;	/* took no part: keep what it had */
	g = g_hash_table_lookup(links, l->name);
	if (rule && rv_rule_kill_switch(rule) && rv_rule_action(rule) == RV_ACTION_CONNECT) {
		if (!g) {
			g = g_new0(struct guarded, 1);
			g->ifname = g_strdup(l->name);
			g_hash_table_insert(links, g->ifname, g);
			*newly_guarded = true;
			if (unavailable)
				g_warning("kill switch: rule %s wants it on %s, but this kernel has no "
					  "nftables: nothing is blocked", rv_rule_id(rule), l->name);
			else
				g_info("kill switch: closed on %s (rule %s)", l->name, rv_rule_id(rule));
		}
		g->ifindex = l->ifindex;
		g_free(g->rule);
		g->rule = g_strdup(rv_rule_id(rule));
		g_free(g->tunnel);
		g->tunnel = g_strdup(rv_rule_tunnel(rule));
	} else if (g) {
		g_info("kill switch: opened on %s (%s)", l->name,
		       rule ? "its rule has no KillSwitch=yes" : "no rule holds");
		g_hash_table_remove(links, l->name);
	}
}

void rv_killswitch_sync(const struct rv_ruleset *rules, GHashTable *decisions, GHashTable *changed)
{
	g_autofree char *text = NULL;
	bool first = inherited;
	bool newly_guarded = false;
	GHashTableIter iter;
	gpointer key, value;

	if (!links)
		return;
	/* Each link's part depends on its own decision alone: the changed ones suffice. */
	g_hash_table_iter_init(&iter, changed ? changed : decisions);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		const struct rv_decision *d = changed ? g_hash_table_lookup(decisions, key) : value;

		if (d)
			sync_one(rules, GPOINTER_TO_INT(key), d, &newly_guarded);
	}
	/* A change of the network (DHCP done, a link joined) is a new chance for names
	 * that did not resolve; at most every RETRY_FAILED_S, so that a name that never
	 * resolves does not keep the DNS pinhole opening. */
	g_hash_table_iter_init(&iter, names);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct name_cache *c = value;

		if (c->failed && (newly_guarded ||
				  g_get_monotonic_time() - c->failed_at >= RETRY_FAILED_S * G_USEC_PER_SEC))
			c->failed = false;
	}
	/* The first evaluation replaces a predecessor's table, whatever it held. */
	inherited = false;
	text = build_table();
	install(text, first);
}

void rv_killswitch_set_probe(const char *ifname, const char *addr, guint16 port)
{
	struct guarded *g = links ? g_hash_table_lookup(links, ifname) : NULL;

	if (!g)
		return;
	g_free(g->probe_addr);
	g->probe_addr = addr ? g_strdup(addr) : NULL;
	g->probe_port = port;
	rebuild();
}

void rv_killswitch_set_window(const char *ifname, bool open, guint16 login_port)
{
	struct guarded *g = links ? g_hash_table_lookup(links, ifname) : NULL;

	if (!g || (g->window == open && g->window_port == login_port))
		return;
	g->window = open;
	g->window_port = open ? login_port : 0;
	g_message("kill switch: login window on %s %s", ifname, open ? "opened" : "closed");
	rebuild();
}

void rv_killswitch_hold_dns(bool hold)
{
	if (hold)
		dns_holds++;
	else if (dns_holds > 0)
		dns_holds--;
	if (!links)
		return;
	/* Opened before the caller's lookup sends its query (unless the table being
	 * built asked, which counts it itself); closed at leisure. */
	if (hold && !building)
		rebuild();
	else
		schedule_rebuild();
}

void rv_killswitch_shutdown(void)
{
	if (!links)
		return;
	g_hash_table_remove_all(links);
	inherited = false;
	install("", true);
}

void rv_killswitch_exit(void)
{
	if (events_id)
		rv_events_unsubscribe(events_id);
	events_id = 0;
	g_clear_handle_id(&rebuild_idle, g_source_remove);
	g_clear_handle_id(&emit_idle, g_source_remove);
	g_clear_pointer(&links, g_hash_table_destroy);
	g_clear_pointer(&names, g_hash_table_destroy);
	g_clear_pointer(&up_seen, g_hash_table_destroy);
	g_clear_pointer(&applied, g_free);
	g_clear_pointer(&nft, nft_ctx_free);
	inherited = installed = unavailable = false;
	dns_holds = 0;
}

const char *rv_killswitch_state(const char *ifname)
{
	struct guarded *g = links && ifname ? g_hash_table_lookup(links, ifname) : NULL;

	if (!g)
		return "";
	if (unavailable)
		return "unavailable";
	if (g->window)
		return "login-window";
	return tunnel_is_up(guarded_tunnel(g)) ? "tunnel" : "closed";
}

char *rv_killswitch_reason(const char *ifname)
{
	struct guarded *g = links && ifname ? g_hash_table_lookup(links, ifname) : NULL;

	if (!g)
		return g_strdup("");
	return g_strdup_printf("rule %s: KillSwitch=yes, Connect=%s", g->rule, g->tunnel);
}

char *rv_killswitch_explain(const char *ifname)
{
	struct guarded *g = links && ifname ? g_hash_table_lookup(links, ifname) : NULL;
	const struct rv_tunnel *t;
	g_autoptr(GPtrArray) eps = NULL;
	GString *out;

	if (!g)
		return NULL;
	t = guarded_tunnel(g);
	eps = tunnel_endpoints(t);
	out = g_string_new(NULL);
	if (unavailable) {
		g_string_append_printf(out, "  kill switch: wanted by rule %s but UNAVAILABLE: this kernel has no "
				       "nftables, nothing is blocked\n", g->rule);
		return g_string_free(out, FALSE);
	}
	g_string_append_printf(out, "  kill switch: on (%s), table inet %s\n", rv_killswitch_state(ifname),
			       RV_KILLSWITCH_TABLE);
	g_string_append_printf(out, "    allowed out of %s: DHCP, IPv6 ND/RS", g->ifname);
	for (guint i = 0; i < eps->len; i++) {
		const struct rv_server *e = g_ptr_array_index(eps, i);
		const char *numeric[2];
		const char *const *addrs = host_addresses(e->host, numeric, false);
		g_autofree char *shown = g_strescape(e->host, NULL);
		g_autofree char *joined = addrs ? g_strjoinv(" ", (char **)addrs) : g_strdup("unresolved");

		if (e->port)
			g_string_append_printf(out, ", %s %s:%u (%s)", proto_names[e->proto], shown, e->port, joined);
		else
			g_string_append_printf(out, ", %s to %s (%s)", proto_names[e->proto], shown, joined);
	}
	if (g->probe_addr)
		g_string_append_printf(out, ", the portal probe to %s:%u", g->probe_addr, g->probe_port);
	if (g->window)
		g_string_append(out, ", DNS and HTTP/HTTPS (login window)");
	if (g->window && g->window_port && g->window_port != 80 && g->window_port != 443)
		g_string_append_printf(out, " and TCP port %u of the login page", g->window_port);
	else if (dns_holds > 0)
		g_string_append(out, ", DNS while endpoint names resolve");
	g_string_append(out, "; everything else is rejected\n");
	if (tunnel_is_up(t) && t->net && t->net->ifname)
		g_string_append_printf(out, "    tunnel %s is up: traffic goes through %s, DNS only through it\n",
				       g->tunnel, t->net->ifname);
	else
		g_string_append_printf(out, "    tunnel %s is not up: nothing else leaves until it is\n", g->tunnel);
	return g_string_free(out, FALSE);
}

bool rv_killswitch_installed(void)
{
	return installed;
}

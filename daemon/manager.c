/* manager.c - ties configuration, link view, policy, supervisor, DNS and routes
 * together, and is the one place that changes them on request (manager.h).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend.h"
#include "dns.h"
#include "error.h"
#include "hook-server.h"
#include "events.h"
#include "manager.h"
#include "policy.h"
#include "routes.h"
#include "rules.h"
#include "settings.h"
#include "ssid.h"
#include "supervisor.h"
#include "validate.h"
#include "wifi.h"

struct configuration {
	struct rv_settings settings;
	GHashTable *tunnels;		/* name -> struct rv_tunnel_config * */
	struct rv_ruleset *rules;
};

static char *config_dir;		/* for reload */
static struct rv_settings settings;
static struct rv_ruleset *rules;
static struct rv_dns *dns;
static bool paused;
static bool shutting_down;
static char *last_identity;		/* networks we were on at the last evaluation */
static char *pending_fingerprint;	/* network facts when the debounce was (re)started */
static GHashTable *manual;		/* tunnel name -> GINT_TO_POINTER(desired + 1) */
static GHashTable *hook_skip;		/* links a predown hook took out */
static guint events_id;

static void register_backends(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	rv_backend_register(&rv_backend_exec);
	rv_backend_register(&rv_backend_builtin);
	rv_backend_load_plugins(NULL);
}

static char *path_in(const char *dir, const char *name)
{
	return g_build_filename(dir, name, NULL);
}

/* Load everything; on any error return -EINVAL with all errors collected and
 * nothing changed. */
static int load_configuration(const char *dir, struct configuration *out, GPtrArray *errors)
{
	g_autofree char *conf = path_in(dir, "roamvpn.conf");
	g_autofree char *tunnels_dir = path_in(dir, "tunnels");
	g_autofree char *rules_dir = path_in(dir, "rules");
	int ret = 0;

	register_backends();
	rv_settings_defaults(&out->settings);
	if (rv_settings_load(&out->settings, conf, errors) < 0)
		ret = -EINVAL;
	out->tunnels = rv_tunnel_configs_load_dir(tunnels_dir, errors);
	if (!out->tunnels) {
		/* Still check the rules, against the tunnel names that exist, so one
		 * run reports every error. */
		g_autoptr(GHashTable) names = rv_tunnel_config_names(tunnels_dir);

		ret = -EINVAL;
		out->rules = rv_ruleset_load_dir(rules_dir, names, errors);
	} else {
		out->rules = rv_ruleset_load_dir(rules_dir, out->tunnels, errors);
	}
	if (!out->rules)
		ret = -EINVAL;
	if (ret < 0) {
		rv_settings_clear(&out->settings);
		g_clear_pointer(&out->tunnels, g_hash_table_destroy);
		g_clear_pointer(&out->rules, rv_ruleset_free);
	}
	return ret;
}

int rv_manager_check(const struct rv_daemon_options *opts, GPtrArray *errors)
{
	struct configuration c = { 0 };

	if (load_configuration(opts->config_dir, &c, errors) < 0)
		return -EINVAL;
	rv_settings_clear(&c.settings);
	g_hash_table_destroy(c.tunnels);
	rv_ruleset_free(c.rules);
	return 0;
}

static GHashTable *tunnel_device_names(void)
{
	GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GPtrArray) list = rv_supervisor_tunnels();

	for (guint i = 0; i < list->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(list, i);

		if (t->config->interface)
			g_hash_table_add(names, t->config->interface);
		if (g_str_equal(t->config->backend, "builtin"))
			g_hash_table_add(names, t->name);	/* the engine's TUN is named after it */
		if (t->net && t->net->ifname)
			g_hash_table_add(names, t->net->ifname);
	}
	return names;
}

static char *current_fingerprint(void)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GHashTable) devices = tunnel_device_names();

	return rv_policy_fingerprint(links, devices, hook_skip);
}

static char *current_identity(void)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GHashTable) devices = tunnel_device_names();

	return rv_policy_network_identity(links, devices, hook_skip);
}

static void set_paused(bool value)
{
	if (paused == value)
		return;
	paused = value;
	g_info("automation %s", paused ? "paused until the next network change" : "resumed");
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
}

static void evaluate(void *user_data)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GHashTable) devices = tunnel_device_names();
	g_autoptr(GHashTable) wanted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GPtrArray) tunnels = rv_supervisor_tunnels();
	g_autofree char *identity = rv_policy_network_identity(links, devices, hook_skip);

	if (g_strcmp0(identity, last_identity) != 0) {
		/* A network change ends a pause and every manual override. */
		g_debug("network changed: %s", identity);
		g_free(last_identity);
		last_identity = g_steal_pointer(&identity);
		g_hash_table_remove_all(manual);
		set_paused(false);
	}
	rv_policy_evaluate(rules, links, devices, hook_skip, wanted);
	if (paused)
		return;
	for (guint i = 0; i < tunnels->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(tunnels, i);
		gpointer m = g_hash_table_lookup(manual, t->name);
		const char *trigger = g_hash_table_lookup(wanted, t->name);

		if (m)
			rv_supervisor_set_desired(t, GPOINTER_TO_INT(m) - 1, "manual");
		else
			rv_supervisor_set_desired(t, trigger != NULL, trigger);
	}
}

static int net_up(struct rv_tunnel *t, GError **error)
{
	struct rv_tunnel_net *net = t->net;
	char **servers = t->config->dns ? t->config->dns : net->dns;
	char **domains = t->config->domains ? t->config->domains : net->domains;
	bool full = net->routes->len == 0;

	if (net->ifname)
		rv_links_set_tunnel_device(net->ifname, true);
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

static void net_down(struct rv_tunnel *t)
{
	g_autoptr(GError) error = NULL;

	if (t->dns_applied && rv_dns_revert(dns, t->name, &error) < 0) {
		g_warning("tunnel %s: restoring DNS: %s", t->name, error->message);
		g_clear_error(&error);
	}
	if (t->routes_applied && rv_routes_remove(t->name, &error) < 0)
		g_warning("tunnel %s: removing routes: %s", t->name, error->message);
	if (t->net && t->net->ifname)
		rv_links_set_tunnel_device(t->net->ifname, false);
}

static void on_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	const struct rv_link *l = object;
	g_autofree char *fp = NULL;

	switch (kind) {
	case RV_EVENT_LINK_ADDED:
		if (l->type && g_str_equal(l->type, "wlan"))
			rv_wifi_refresh(l->ifindex);
		/* fall through */
	case RV_EVENT_LINK_CHANGED:
	case RV_EVENT_LINK_REMOVED:
		if (shutting_down)
			return;
		/* Only facts that rules can see restart the debounce; an address or
		 * neighbour update does not delay a pending decision. */
		fp = current_fingerprint();
		if (g_strcmp0(fp, pending_fingerprint) != 0) {
			g_free(pending_fingerprint);
			pending_fingerprint = g_steal_pointer(&fp);
			rv_supervisor_network_changed();
		}
		break;
	default:
		break;
	}
}

static int apply_configuration(struct configuration *c)
{
	struct rv_supervisor_params p = {
		.debounce_ms = c->settings.debounce_ms,
		.backoff_initial_ms = c->settings.backoff_initial_ms,
		.backoff_max_ms = c->settings.backoff_max_ms,
	};
	g_autoptr(GPtrArray) existing = rv_supervisor_tunnels();
	GHashTableIter iter;
	gpointer value;

	rv_supervisor_set_params(&p);
	for (guint i = 0; i < existing->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(existing, i);

		if (!g_hash_table_contains(c->tunnels, t->name))
			rv_supervisor_remove(t->name);
	}
	g_hash_table_iter_init(&iter, c->tunnels);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		g_hash_table_iter_steal(&iter);
		rv_supervisor_add(value);
	}
	g_hash_table_destroy(c->tunnels);
	rv_ruleset_free(rules);
	rules = c->rules;
	rv_settings_clear(&settings);
	settings = c->settings;
	return 0;
}

static char *join_errors(GPtrArray *errors)
{
	g_ptr_array_add(errors, NULL);
	return g_strjoinv("\n", (char **)errors->pdata);
}

int rv_manager_init(const struct rv_daemon_options *opts, DBusConnection *bus, GError **error)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct configuration c = { 0 };
	struct rv_supervisor_hooks hooks = {
		.evaluate = evaluate,
		.net_up = net_up,
		.net_down = net_down,
	};
	struct rv_supervisor_params p = { 0 };
	struct rv_dns_paths paths = {
		.resolv_conf = opts->resolv_conf,
		.state_dir = opts->state_dir,
	};
	g_autoptr(GError) wifi_error = NULL;

	config_dir = g_strdup(opts->config_dir);
	manual = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	hook_skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (load_configuration(opts->config_dir, &c, errors) < 0) {
		g_autofree char *all = join_errors(errors);

		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "%s", all);
		return -EINVAL;
	}
	/* DNS first: it undoes what a crashed predecessor left in resolv.conf. */
	dns = rv_dns_new(c.settings.dns_method, &paths, bus, error);
	if (!dns) {
		rv_settings_clear(&c.settings);
		g_hash_table_destroy(c.tunnels);
		rv_ruleset_free(c.rules);
		return -EIO;
	}
	g_info("DNS method: %s", rv_dns_method(dns));
	if (rv_routes_init(error) < 0)
		return -EIO;
	if (rv_hook_server_init(opts->state_dir, error) < 0)
		return -EIO;

	rv_supervisor_init(&p, &hooks);
	apply_configuration(&c);
	events_id = rv_events_subscribe(on_event, NULL);
	if (rv_links_init(error) < 0)
		return -EIO;
	if (rv_wifi_init(&wifi_error) < 0)
		g_message("Wi-Fi: %s; running without Wi-Fi facts", wifi_error->message);
	{
		g_autoptr(GPtrArray) links = rv_links_list();

		for (guint i = 0; i < links->len; i++) {
			struct rv_link *l = g_ptr_array_index(links, i);

			if (l->type && g_str_equal(l->type, "wlan"))
				rv_wifi_refresh(l->ifindex);
		}
	}
	/* The network as it is at start-up counts as a change: decide now. */
	rv_supervisor_evaluate_now();
	return 0;
}

struct shutdown_ctx {
	void (*done)(void *);
	void *user_data;
};

static void all_stopped(void *data)
{
	struct shutdown_ctx *ctx = data;

	/* Backends reverted their own DNS/routes via net_down; this catches anything
	 * a backend that did not stop in time left behind. */
	if (dns)
		rv_dns_revert_all(dns);
	ctx->done(ctx->user_data);
	g_free(ctx);
}

void rv_manager_shutdown(void (*done)(void *), void *user_data)
{
	struct shutdown_ctx *ctx = g_new0(struct shutdown_ctx, 1);

	ctx->done = done;
	ctx->user_data = user_data;
	shutting_down = true;
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
	rv_supervisor_stop_all(all_stopped, ctx);
}

void rv_manager_exit(void)
{
	if (events_id)
		rv_events_unsubscribe(events_id);
	rv_wifi_exit();
	rv_links_exit();
	rv_supervisor_exit();
	rv_routes_exit();
	rv_hook_server_exit();
	g_clear_pointer(&dns, rv_dns_free);
	g_clear_pointer(&rules, rv_ruleset_free);
	rv_settings_clear(&settings);
	g_clear_pointer(&manual, g_hash_table_destroy);
	g_clear_pointer(&hook_skip, g_hash_table_destroy);
	g_clear_pointer(&last_identity, g_free);
	g_clear_pointer(&config_dir, g_free);
	g_clear_pointer(&pending_fingerprint, g_free);
}

static struct rv_tunnel *find_tunnel(const char *name, GError **error)
{
	struct rv_tunnel *t = rv_supervisor_lookup(name);

	if (!t)
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no tunnel named '%s'", name);
	return t;
}

static int manual_request(const char *name, bool desired, GError **error)
{
	struct rv_tunnel *t = find_tunnel(name, error);

	if (!t)
		return -ENOENT;
	if (shutting_down) {
		g_set_error(error, RV_ERROR, RV_ERROR_BUSY, "the daemon is shutting down");
		return -EBUSY;
	}
	g_info("manual %s of tunnel %s (holds until the next network change)",
	       desired ? "connect" : "disconnect", name);
	g_hash_table_insert(manual, g_strdup(name), GINT_TO_POINTER(desired + 1));
	rv_supervisor_set_desired(t, desired, "manual");
	rv_supervisor_reconcile();
	return 0;
}

int rv_manager_connect(const char *tunnel, GError **error)
{
	return manual_request(tunnel, true, error);
}

int rv_manager_disconnect(const char *tunnel, GError **error)
{
	g_autoptr(GPtrArray) all = NULL;

	if (!g_str_equal(tunnel, "all"))
		return manual_request(tunnel, false, error);
	all = rv_supervisor_tunnels();
	for (guint i = 0; i < all->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(all, i);

		if (manual_request(t->name, false, error) < 0)
			return -EBUSY;
	}
	return 0;
}

int rv_manager_reload(GError **error)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct configuration c = { 0 };

	if (load_configuration(config_dir, &c, errors) < 0) {
		g_autofree char *all = join_errors(errors);

		g_warning("reload failed, keeping the running configuration:\n%s", all);
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "%s", all);
		return -EINVAL;
	}
	apply_configuration(&c);
	g_info("configuration reloaded");
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
	rv_supervisor_evaluate_now();
	return 0;
}

void rv_manager_pause(void)
{
	/* The current network is the reference: the next change ends the pause. */
	g_free(last_identity);
	last_identity = current_identity();
	set_paused(true);
}

void rv_manager_resume(void)
{
	set_paused(false);
	rv_supervisor_evaluate_now();
}

bool rv_manager_is_paused(void)
{
	return paused;
}

int rv_manager_hook(const char *event, const char *ifname, GError **error)
{
	if (!rv_ifname_valid(ifname)) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "bad interface name");
		return -EINVAL;
	}
	if (g_str_equal(event, "postup")) {
		g_hash_table_remove(hook_skip, ifname);
	} else if (g_str_equal(event, "predown")) {
		/* Stop what this link wanted now, while it can still carry the goodbye. */
		g_hash_table_add(hook_skip, g_strdup(ifname));
	} else {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
			    "unknown hook event '%s' (postup or predown)", event);
		return -EINVAL;
	}
	g_info("hook %s %s", event, ifname);
	rv_supervisor_evaluate_now();
	return 0;
}

static void describe_link(GString *out, const struct rv_link *l)
{
	g_string_append_printf(out, "%s (%s", l->name, l->type ? l->type : "?");
	if (l->kind)
		g_string_append_printf(out, "/%s", l->kind);
	if (l->ssid) {
		gsize len;
		const uint8_t *b = g_bytes_get_data(l->ssid, &len);
		g_autofree char *s = rv_ssid_escape(b, len);

		g_string_append_printf(out, ", SSID \"%s\"", s);
	}
	if (l->has_bssid) {
		g_autofree char *m = rv_mac_to_string(l->bssid);

		g_string_append_printf(out, ", BSSID %s", m);
	}
	if (l->has_gateway_mac) {
		g_autofree char *m = rv_mac_to_string(l->gateway_mac);

		g_string_append_printf(out, ", gateway %s", m);
	}
	g_string_append(out, ")");
}

GPtrArray *rv_manager_explain_link(const char *ifname, GError **error)
{
	struct rv_link *l = rv_links_lookup_name(ifname);

	if (!l) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no link named '%s'", ifname);
		return NULL;
	}
	return rv_ruleset_explain(rules, l);
}

char *rv_manager_explain(const char *ifname, GError **error)
{
	g_autoptr(GPtrArray) links = rv_links_list();
	g_autoptr(GHashTable) devices = tunnel_device_names();
	GString *out = g_string_new(NULL);
	bool found = false;

	for (guint i = 0; i < links->len; i++) {
		struct rv_link *l = g_ptr_array_index(links, i);
		const char *excluded = rv_policy_link_excluded(l, devices, hook_skip);
		g_autoptr(GPtrArray) verdicts = NULL;

		if (ifname && !g_str_equal(l->name, ifname))
			continue;
		found = true;
		describe_link(out, l);
		if (excluded) {
			g_string_append_printf(out, ": not evaluated: %s\n", excluded);
			continue;
		}
		g_string_append(out, ":\n");
		verdicts = rv_ruleset_explain(rules, l);
		for (guint j = 0; j < verdicts->len; j++) {
			struct rv_rule_verdict *v = g_ptr_array_index(verdicts, j);

			if (v->matched) {
				g_autofree char *action = rv_rule_describe_action(v->rule);

				g_string_append_printf(out, "  %s: matched -> %s\n",
						       rv_rule_id(v->rule), action);
			} else {
				g_string_append_printf(out, "  %s: no match: %s\n",
						       rv_rule_id(v->rule), v->reason);
			}
		}
		if (verdicts->len == 0 ||
		    !((struct rv_rule_verdict *)g_ptr_array_index(verdicts, verdicts->len - 1))->matched)
			g_string_append(out, "  no rule matched: no tunnel wanted for this link\n");
	}
	if (paused)
		g_string_append(out, "automation is paused until the next network change\n");
	if (ifname && !found) {
		g_string_free(out, TRUE);
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no link named '%s'", ifname);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

const char *rv_manager_state(void)
{
	if (shutting_down)
		return "stopping";
	return paused ? "paused" : "running";
}

const char *rv_manager_admin_group(void)
{
	return settings.admin_group;
}

const char *rv_manager_dns_method(void)
{
	return dns ? rv_dns_method(dns) : "none";
}

GPtrArray *rv_manager_tunnels(void)
{
	return rv_supervisor_tunnels();
}

struct rv_tunnel *rv_manager_lookup_tunnel(const char *name)
{
	return rv_supervisor_lookup(name);
}

/* manager.c - ties configuration, link view, policy, supervisor, DNS and routes
 * together, and is the one place that changes them on request (manager.h).
 *
 * Data flows one way (docs/architecture.md): link events only mark a link dirty
 * and, when a fact the rules can see changed, restart the one debounce; when it
 * expires the policy decides for the dirty links (a pure function), the manager
 * keeps those decisions (D-Bus and explain read them here) and hands the wanted
 * set to the supervisor, which starts and stops backends.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "backend.h"
#include "backend-program.h"
#include "debounce.h"
#include "dns.h"
#include "error.h"
#include "hook-server.h"
#include "killswitch.h"
#include "portal.h"
#include "events.h"
#include "manager.h"
#include "policy.h"
#include "routes.h"
#include "rules.h"
#include "settings.h"
#include "ssid.h"
#include "supervisor.h"
#include "tunnel-net.h"
#include "validate.h"
#include "wifi.h"
#include "log.h"

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
static GHashTable *manual;		/* tunnel name -> GINT_TO_POINTER(desired + 1) */
static GHashTable *hook_skip;		/* links a predown hook took out */
static guint events_id;

/* The evaluation pipeline's state, all keyed by GINT_TO_POINTER(ifindex) so that
 * the work per link event is proportional to what changed, not to the number of
 * links. */
static struct rv_debounce *debounce;	/* the one delay before the policy runs */
static guint refresh_idle;		/* re-decide dirty links whose facts did not change */
static GHashTable *dirty;		/* set: links changed since their last decision */
static GHashTable *decisions;		/* -> struct rv_decision *, the policy's last word */
static GHashTable *fingerprints;	/* -> char *, rule-visible facts when last seen */
static GHashTable *identities;		/* -> char *, networks at the last evaluation */
static bool identity_lost;		/* a link with a network went away since then */
static bool force_decisions_changed;	/* evaluate everything as changed (start, reload) */
static GHashTable *connects;		/* tunnel name -> set of ifindexes whose rule connects it */
static GHashTable *devices;		/* the supervisor's tunnel devices (owned names) */

/* Compiled-in backends once; plugins at every load (new or changed files only).
 * Plugin failures go to errors (--check) or the log; the rest keeps working. */
static int register_backends(GPtrArray *errors)
{
	static bool done;

	if (!done) {
		rv_backend_register(&rv_backend_exec);
		rv_backend_register(&rv_backend_builtin);
		done = true;
	}
	return rv_backend_load_plugins(NULL, errors);
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

	register_backends(NULL);
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
	/* A plugin that does not load is an error here, so that it gets fixed. */
	int plugin_failures = register_backends(errors);

	if (load_configuration(opts->config_dir, &c, errors) < 0)
		return -EINVAL;
	if (rv_backend_check_programs(c.tunnels, errors) < 0)
		plugin_failures++;
	rv_settings_clear(&c.settings);
	g_hash_table_destroy(c.tunnels);
	rv_ruleset_free(c.rules);
	return plugin_failures > 0 ? -EINVAL : 0;
}

static void set_paused(bool value)
{
	if (paused == value)
		return;
	paused = value;
	g_info("automation %s", paused ? "paused until the next network change" : "resumed");
	rv_events_emit(RV_EVENT_MANAGER_CHANGED, NULL);
}

static void connects_remove(const struct rv_decision *d)
{
	GHashTable *set;

	if (!d || !d->connect || !(set = g_hash_table_lookup(connects, d->connect)))
		return;
	g_hash_table_remove(set, GINT_TO_POINTER(d->ifindex));
	if (g_hash_table_size(set) == 0)
		g_hash_table_remove(connects, d->connect);
}

static void connects_add(const struct rv_decision *d)
{
	GHashTable *set;

	if (!d->connect)
		return;
	set = g_hash_table_lookup(connects, d->connect);
	if (!set) {
		set = g_hash_table_new(g_direct_hash, g_direct_equal);
		g_hash_table_insert(connects, g_strdup(d->connect), set);
	}
	g_hash_table_add(set, GINT_TO_POINTER(d->ifindex));
}

/* tunnel name -> the link that wants it (lowest ifindex, "connect wins"), with the
 * manual overrides on top. */
static GHashTable *wanted_tunnels(void)
{
	GHashTable *wanted = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GHashTableIter iter, inner;
	gpointer key, value;

	g_hash_table_iter_init(&iter, connects);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		int first = G_MAXINT;
		struct rv_link *l;

		g_hash_table_iter_init(&inner, value);
		while (g_hash_table_iter_next(&inner, &value, NULL))
			first = MIN(first, GPOINTER_TO_INT(value));
		if ((l = rv_links_lookup_index(first)))
			g_hash_table_insert(wanted, g_strdup(key), g_strdup(l->name));
	}
	g_hash_table_iter_init(&iter, manual);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		if (GPOINTER_TO_INT(value) - 1)
			g_hash_table_insert(wanted, g_strdup(key), g_strdup("manual"));
		else
			g_hash_table_remove(wanted, key);
	}
	return wanted;
}

/* Ask the policy about every dirty link and keep its decisions. With apply, also a
 * network change ends a pause and the manual overrides, and the wanted set goes to
 * the supervisor. */
static void evaluate(bool apply)
{
	g_autoptr(GHashTable) wanted = NULL;
	/* The links whose decision or identity changed, for the kill switch; NULL:
	 * all of them (start, reload). */
	g_autoptr(GHashTable) changed = force_decisions_changed ? NULL
					: g_hash_table_new(g_direct_hash, g_direct_equal);
	bool network_changed = identity_lost;
	bool decided = force_decisions_changed;
	GHashTableIter iter;
	gpointer key;

	g_clear_handle_id(&refresh_idle, g_source_remove);
	g_hash_table_iter_init(&iter, dirty);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		struct rv_link *l = rv_links_lookup_index(GPOINTER_TO_INT(key));
		struct rv_decision *d, *old;
		char *identity;

		if (!l)
			continue;
		identity = rv_policy_link_identity(l, devices, hook_skip);
		if (g_strcmp0(identity, g_hash_table_lookup(identities, key)) != 0) {
			network_changed = decided = true;
			if (changed)
				g_hash_table_add(changed, key);
		}
		g_hash_table_replace(identities, key, identity);

		d = rv_policy_decide(rules, l, devices, hook_skip);
		old = g_hash_table_lookup(decisions, key);
		connects_remove(old);
		connects_add(d);
		if (!rv_decision_same(old, d)) {
			decided = true;
			if (changed)
				g_hash_table_add(changed, key);
			g_hash_table_replace(decisions, key, d);
			rv_events_emit(RV_EVENT_DECISION_CHANGED, l);
		} else {
			g_hash_table_replace(decisions, key, d);
		}
	}
	g_hash_table_remove_all(dirty);
	identity_lost = false;
	force_decisions_changed = false;
	/* The kill switch follows the decisions at once, not only when tunnels change;
	 * only when one changed (or the rules did), and then at the changed ones alone:
	 * with thousands of links a walk over all decisions per flap was not cheap. */
	if (decided)
		rv_killswitch_sync(rules, decisions, changed);

	if (!apply)
		return;
	if (network_changed) {
		/* A network change ends a pause and every manual override. */
		g_debug("network changed");
		g_hash_table_remove_all(manual);
		set_paused(false);
	}
	if (paused)
		return;
	wanted = wanted_tunnels();
	/* A tunnel whose link sits behind a captive portal (or is being probed) waits. */
	rv_portal_gate(decisions, wanted);
	rv_supervisor_want(wanted);
}

/* A portal probe result changed what may start: hand the supervisor the new set. */
static void portal_changed(void)
{
	if (!shutting_down)
		evaluate(true);
}

static void debounce_expired(void *data)
{
	if (!shutting_down)
		evaluate(true);
}

static gboolean refresh_cb(gpointer data)
{
	refresh_idle = 0;
	evaluate(false);
	return G_SOURCE_REMOVE;
}

static void remember_fingerprint(const struct rv_link *l)
{
	g_hash_table_replace(fingerprints, GINT_TO_POINTER(l->ifindex),
			     rv_policy_link_fingerprint(l, devices, hook_skip));
}

/* Everything anew now (start, reload, hooks, resume): every link is dirty. */
static void evaluate_now(void)
{
	g_autoptr(GPtrArray) links = rv_links_list();

	if (shutting_down)
		return;
	rv_debounce_cancel(debounce);
	force_decisions_changed = true;	/* a reload may change what a rule id means */
	for (guint i = 0; i < links->len; i++) {
		struct rv_link *l = g_ptr_array_index(links, i);

		g_hash_table_add(dirty, GINT_TO_POINTER(l->ifindex));
		remember_fingerprint(l);
	}
	evaluate(true);
}

/* One link's facts changed: only what rules can see restarts the debounce; an
 * address or neighbour update re-decides that link without delaying a pending
 * decision and without touching tunnels. */
static void link_changed(const struct rv_link *l)
{
	gpointer key = GINT_TO_POINTER(l->ifindex);
	char *fp = rv_policy_link_fingerprint(l, devices, hook_skip);

	g_hash_table_add(dirty, key);
	if (g_strcmp0(fp, g_hash_table_lookup(fingerprints, key)) != 0) {
		g_hash_table_replace(fingerprints, key, fp);
		g_clear_handle_id(&refresh_idle, g_source_remove);
		rv_debounce_kick(debounce);
		return;
	}
	g_free(fp);
	if (!rv_debounce_pending(debounce) && !refresh_idle)
		refresh_idle = g_idle_add(refresh_cb, NULL);
}

static void link_removed(const struct rv_link *l)
{
	gpointer key = GINT_TO_POINTER(l->ifindex);
	const char *fp = g_hash_table_lookup(fingerprints, key);
	const char *identity = g_hash_table_lookup(identities, key);

	if (fp && *fp)
		rv_debounce_kick(debounce);
	if (identity && *identity)
		identity_lost = true;
	connects_remove(g_hash_table_lookup(decisions, key));
	g_hash_table_remove(decisions, key);
	g_hash_table_remove(fingerprints, key);
	g_hash_table_remove(identities, key);
	g_hash_table_remove(dirty, key);
}

/* A tunnel came up or went down: the devices it names join or leave the set the
 * policy leaves out; only those links are looked at again. */
static void tunnels_changed(void)
{
	GHashTable *now = rv_supervisor_tunnel_devices();
	GHashTable *old = devices;
	GHashTableIter iter;
	gpointer name;

	devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_hash_table_iter_init(&iter, now);
	while (g_hash_table_iter_next(&iter, &name, NULL))
		g_hash_table_add(devices, g_strdup(name));
	g_hash_table_unref(now);
	for (int pass = 0; pass < 2; pass++) {
		GHashTable *a = pass ? old : devices, *b = pass ? devices : old;

		if (!a)
			continue;	/* the first call: nothing was known before */
		g_hash_table_iter_init(&iter, a);
		while (g_hash_table_iter_next(&iter, &name, NULL)) {
			struct rv_link *l;

			if (b && g_hash_table_contains(b, name))
				continue;
			if ((l = rv_links_lookup_name(name)))
				link_changed(l);
		}
	}
	if (old)
		g_hash_table_unref(old);
}

/* The supervisor's net_up/net_down: the tunnel's routes and DNS (tunnel-net.c),
 * with the DNS method this manager chose. */
static int net_up(struct rv_tunnel *t, GError **error)
{
	return rv_tunnel_net_up(dns, t, error);
}

static void net_down(struct rv_tunnel *t)
{
	rv_tunnel_net_down(dns, t);
}

static void on_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	if (shutting_down)
		return;
	switch (kind) {
	case RV_EVENT_LINK_ADDED:
	case RV_EVENT_LINK_CHANGED:
		link_changed(object);
		break;
	case RV_EVENT_LINK_REMOVED:
		link_removed(object);
		break;
	case RV_EVENT_TUNNEL_ADDED:
	case RV_EVENT_TUNNEL_CHANGED:
	case RV_EVENT_TUNNEL_REMOVED:
		tunnels_changed();
		break;
	default:
		break;
	}
}

static int apply_configuration(struct configuration *c)
{
	struct rv_supervisor_params p = {
		.backoff_initial_ms = c->settings.backoff_initial_ms,
		.backoff_max_ms = c->settings.backoff_max_ms,
	};
	g_autoptr(GPtrArray) existing = rv_supervisor_tunnels();
	GHashTableIter iter;
	gpointer value;

	rv_supervisor_set_params(&p);
	rv_debounce_set_delay(debounce, c->settings.debounce_ms);
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
	rv_portal_configure(&settings);
	return 0;
}

/* The messages name files, whose names are bytes: the result is text (it goes to
 * the log and into D-Bus error replies). */
static char *join_errors(GPtrArray *errors)
{
	g_autofree char *all = NULL;

	g_ptr_array_add(errors, NULL);
	all = g_strjoinv("\n", (char **)errors->pdata);
	return rv_text_escape(all);
}

void rv_manager_set_bus(DBusConnection *bus)
{
	rv_dns_set_bus(dns, bus);
}

int rv_manager_init(const struct rv_daemon_options *opts, DBusConnection *bus, GError **error)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct configuration c = { 0 };
	struct rv_supervisor_hooks hooks = {
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
	debounce = rv_debounce_new(0, debounce_expired, NULL);
	dirty = g_hash_table_new(g_direct_hash, g_direct_equal);
	decisions = rv_policy_decisions_new();
	fingerprints = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	identities = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	connects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					 (GDestroyNotify)g_hash_table_unref);

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
	/* Before links: a table a crashed predecessor left stays closed meanwhile. */
	if (rv_killswitch_init(error) < 0)
		return -EIO;
	rv_portal_init(portal_changed);

	rv_supervisor_init(&p, &hooks);
	apply_configuration(&c);
	tunnels_changed();
	events_id = rv_events_subscribe(on_event, NULL);
	if (rv_links_init(error) < 0)
		return -EIO;
	/* Reads the association of every station now, before the first decision;
	 * later links it learns about from the link events itself. */
	if (rv_wifi_init(&wifi_error) < 0)
		g_message("Wi-Fi: %s; running without Wi-Fi facts", wifi_error->message);
	/* The network as it is at start-up counts as a change: decide now. */
	evaluate_now();
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
	/* A clean stop opens the kill switch (a crash leaves it closed). */
	rv_killswitch_shutdown();
	ctx->done(ctx->user_data);
	g_free(ctx);
}

void rv_manager_shutdown(void (*done)(void *), void *user_data)
{
	struct shutdown_ctx *ctx = g_new0(struct shutdown_ctx, 1);

	ctx->done = done;
	ctx->user_data = user_data;
	shutting_down = true;
	rv_debounce_cancel(debounce);
	g_clear_handle_id(&refresh_idle, g_source_remove);
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
	rv_portal_exit();
	rv_killswitch_exit();
	g_clear_pointer(&dns, rv_dns_free);
	g_clear_pointer(&rules, rv_ruleset_free);
	rv_settings_clear(&settings);
	g_clear_pointer(&manual, g_hash_table_destroy);
	g_clear_pointer(&hook_skip, g_hash_table_destroy);
	g_clear_pointer(&config_dir, g_free);
	g_clear_pointer(&debounce, rv_debounce_free);
	g_clear_handle_id(&refresh_idle, g_source_remove);
	g_clear_pointer(&dirty, g_hash_table_destroy);
	g_clear_pointer(&decisions, g_hash_table_destroy);
	g_clear_pointer(&fingerprints, g_hash_table_destroy);
	g_clear_pointer(&identities, g_hash_table_destroy);
	g_clear_pointer(&connects, g_hash_table_destroy);
	g_clear_pointer(&devices, g_hash_table_unref);
	identity_lost = false;
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
	if (desired)
		rv_supervisor_clear_hold(t);	/* the user asks for another attempt */
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
	evaluate_now();
	return 0;
}

void rv_manager_pause(void)
{
	GHashTableIter iter;
	gpointer key;

	/* The current network is the reference: the next change ends the pause. Links
	 * that did not change since the last evaluation already hold theirs. */
	g_hash_table_iter_init(&iter, dirty);
	while (g_hash_table_iter_next(&iter, &key, NULL)) {
		struct rv_link *l = rv_links_lookup_index(GPOINTER_TO_INT(key));

		if (l)
			g_hash_table_replace(identities, key,
					     rv_policy_link_identity(l, devices, hook_skip));
	}
	identity_lost = false;
	set_paused(true);
}

void rv_manager_resume(void)
{
	set_paused(false);
	evaluate_now();
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
	evaluate_now();
	return 0;
}

const struct rv_decision *rv_manager_link_decision(int ifindex)
{
	return decisions ? g_hash_table_lookup(decisions, GINT_TO_POINTER(ifindex)) : NULL;
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

const char *rv_manager_link_kill_switch(const char *ifname, char **reason)
{
	if (reason)
		*reason = rv_killswitch_reason(ifname);
	return rv_killswitch_state(ifname);
}

const char *rv_manager_link_portal(const char *ifname, const char **location)
{
	if (location)
		*location = rv_portal_location(ifname);
	return rv_portal_state(ifname);
}

int rv_manager_open_portal(const char *ifname, GError **error)
{
	if (shutting_down) {
		g_set_error(error, RV_ERROR, RV_ERROR_BUSY, "the daemon is shutting down");
		return -EBUSY;
	}
	return rv_portal_open_window(ifname, error);
}

/* supervisor.c - desired versus actual tunnels: start, stop, backoff; tunnel devices.
 *
 * State per tunnel (tunnel.h):
 *   DOWN --start--> STARTING --report_up--> UP
 *   STARTING/UP --stop--> STOPPING --report_down--> DOWN
 *   STARTING/UP --report_down (not asked)--> FAILED --backoff timer--> DOWN (+start)
 * A tunnel is only ever started from DOWN, so one tunnel never runs twice: a start
 * wanted while it is STOPPING waits for the report_down.
 */
#include "config.h"

#include <errno.h>

#include "backend.h"
#include "error.h"
#include "events.h"
#include "sorted.h"
#include "ssid.h"
#include "supervisor.h"
#include "log.h"

/* An up period shorter than this counts as a failure for the backoff. */
#define STABLE_UP_USEC (10 * G_USEC_PER_SEC)
#define STOP_ALL_TIMEOUT_MS 10000

static struct rv_supervisor_params params;
static struct rv_supervisor_hooks hooks;
static GHashTable *tunnels;	/* name -> struct rv_tunnel * */
static bool stopping_all;
static void (*stop_all_done)(void *);
static void *stop_all_data;
static guint stop_all_timeout;

const char *rv_tunnel_state_name(enum rv_tunnel_state state)
{
	switch (state) {
	case RV_TUNNEL_DOWN: return "down";
	case RV_TUNNEL_STARTING: return "starting";
	case RV_TUNNEL_UP: return "up";
	case RV_TUNNEL_STOPPING: return "stopping";
	case RV_TUNNEL_FAILED: return "failed";
	}
	return "unknown";
}

struct rv_tunnel_net *rv_tunnel_net_new(void)
{
	struct rv_tunnel_net *net = g_new0(struct rv_tunnel_net, 1);

	net->addresses = g_ptr_array_new_with_free_func(g_free);
	net->routes = g_ptr_array_new_with_free_func(g_free);
	return net;
}

void rv_tunnel_net_free(struct rv_tunnel_net *net)
{
	if (!net)
		return;
	g_free(net->ifname);
	g_ptr_array_unref(net->addresses);
	g_ptr_array_unref(net->routes);
	g_strfreev(net->dns);
	g_strfreev(net->domains);
	g_free(net->endpoint);
	g_free(net->banner);
	g_free(net);
}

static void tunnel_free(gpointer p)
{
	struct rv_tunnel *t = p;

	g_clear_handle_id(&t->retry_source, g_source_remove);
	rv_tunnel_config_free(t->config);
	rv_tunnel_net_free(t->net);
	g_free(t->name);
	g_free(t->last_error);
	g_free(t->triggered_by);
	g_free(t);
}

static void set_state(struct rv_tunnel *t, enum rv_tunnel_state state)
{
	if (t->state == state)
		return;
	rv_tunnel_info(t->name, "%s -> %s", rv_tunnel_state_name(t->state),
	       rv_tunnel_state_name(state));
	t->state = state;
	t->since = g_get_real_time();
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
}

static void set_error(struct rv_tunnel *t, const char *error)
{
	g_free(t->last_error);
	t->last_error = g_strdup(error);
}

void rv_supervisor_init(const struct rv_supervisor_params *p,
			const struct rv_supervisor_hooks *h)
{
	params = *p;
	hooks = *h;
	tunnels = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, tunnel_free);
	stopping_all = false;
}

void rv_supervisor_set_params(const struct rv_supervisor_params *p)
{
	params = *p;
}

void rv_supervisor_exit(void)
{
	g_clear_handle_id(&stop_all_timeout, g_source_remove);
	g_clear_pointer(&tunnels, g_hash_table_destroy);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
	const struct rv_tunnel *ta = *(struct rv_tunnel *const *)a;
	const struct rv_tunnel *tb = *(struct rv_tunnel *const *)b;

	return strcmp(ta->name, tb->name);
}

GPtrArray *rv_supervisor_tunnels(void)
{
	return rv_hash_values_sorted(tunnels, compare_names);
}

struct rv_tunnel *rv_supervisor_lookup(const char *name)
{
	return tunnels ? g_hash_table_lookup(tunnels, name) : NULL;
}

/* Same configuration as what runs? Compare what was parsed (the file on disk is
 * already the new one): [Tunnel] and the backend's own config_equal(). */
static bool config_equal(const struct rv_tunnel_config *a, const struct rv_tunnel_config *b)
{
	return g_str_equal(a->path, b->path) && rv_tunnel_config_equal(a, b);
}

static void start_tunnel(struct rv_tunnel *t);
static void stop_tunnel(struct rv_tunnel *t);

struct rv_tunnel *rv_supervisor_add(struct rv_tunnel_config *cfg)
{
	struct rv_tunnel *t = g_hash_table_lookup(tunnels, cfg->name);
	const struct rv_backend *backend = rv_backend_lookup(cfg->backend);

	if (t) {
		/* Reload: the old configuration stays with a running backend until it
		 * is down, then the new one is used for the next start. */
		bool changed = !t->config || !config_equal(t->config, cfg);

		if (changed && t->auth_hold)
			rv_supervisor_clear_hold(t);	/* new credentials may work */

		if (t->state == RV_TUNNEL_DOWN || t->state == RV_TUNNEL_FAILED) {
			rv_tunnel_config_free(t->config);
			t->config = cfg;
			t->backend = backend;
		} else if (changed) {
			rv_tunnel_info(t->name, "configuration changed, restarting");
			rv_tunnel_config_free(t->config);
			t->config = cfg;
			stop_tunnel(t);
		} else {
			rv_tunnel_config_free(cfg);
		}
		return t;
	}

	t = g_new0(struct rv_tunnel, 1);
	t->name = g_strdup(cfg->name);
	t->config = cfg;
	t->backend = backend;
	t->state = RV_TUNNEL_DOWN;
	t->since = g_get_real_time();
	g_hash_table_insert(tunnels, t->name, t);
	rv_events_emit(RV_EVENT_TUNNEL_ADDED, t);
	return t;
}

static void finish_remove(struct rv_tunnel *t)
{
	rv_events_emit(RV_EVENT_TUNNEL_REMOVED, t);
	g_hash_table_remove(tunnels, t->name);
}

/* Tunnels removed from the configuration while running: gone once down. */
static GHashTable *removing;

void rv_supervisor_remove(const char *name)
{
	struct rv_tunnel *t = rv_supervisor_lookup(name);

	if (!t)
		return;
	t->desired = false;
	g_clear_handle_id(&t->retry_source, g_source_remove);
	if (t->state == RV_TUNNEL_DOWN || t->state == RV_TUNNEL_FAILED) {
		finish_remove(t);
		return;
	}
	if (!removing)
		removing = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_hash_table_add(removing, t);
	stop_tunnel(t);
}

static guint backoff_delay_ms(guint failures)
{
	guint64 delay = params.backoff_initial_ms;

	for (guint i = 1; i < failures && delay < params.backoff_max_ms; i++)
		delay *= 2;
	return (guint)MIN(delay, (guint64)params.backoff_max_ms);
}

static gboolean retry_cb(gpointer data)
{
	struct rv_tunnel *t = data;

	t->retry_source = 0;
	if (t->state == RV_TUNNEL_FAILED) {
		set_state(t, RV_TUNNEL_DOWN);
		if (t->desired && !stopping_all)
			start_tunnel(t);
	}
	return G_SOURCE_REMOVE;
}

static void fail_tunnel(struct rv_tunnel *t, const char *error)
{
	guint delay;

	set_error(t, error);
	if (!t->desired || stopping_all) {
		set_state(t, RV_TUNNEL_DOWN);
		return;
	}
	if (t->auth_hold) {
		/* Retrying a wrong password only locks the account (as NetworkManager,
		 * wait for new credentials or an explicit request). */
		g_warning("tunnel %s failed (%s); not retrying until its file changes or "
			  "roamvpnctl up", t->name, error);
		set_state(t, RV_TUNNEL_FAILED);
		g_clear_handle_id(&t->retry_source, g_source_remove);
		return;
	}
	t->failures++;
	delay = backoff_delay_ms(t->failures);
	g_warning("tunnel %s failed (%s); retry %u in %u ms", t->name, error,
		  t->failures, delay);
	set_state(t, RV_TUNNEL_FAILED);
	g_clear_handle_id(&t->retry_source, g_source_remove);
	t->retry_source = g_timeout_add(delay, retry_cb, t);
}

static void start_tunnel(struct rv_tunnel *t)
{
	g_autoptr(GError) error = NULL;
	struct rv_link *trigger = NULL;

	g_return_if_fail(t->state == RV_TUNNEL_DOWN);
	if (!t->backend)
		t->backend = rv_backend_lookup(t->config->backend);
	if (!t->backend) {
		fail_tunnel(t, "backend not available");
		return;
	}
	if (t->triggered_by)
		trigger = rv_links_lookup_name(t->triggered_by);
	{
		g_autofree char *by = rv_text_escape(t->triggered_by ? t->triggered_by : "nothing");

		rv_tunnel_info(t->name, "starting (%s backend, triggered by %s)",
		       t->backend->name, by);
	}
	set_state(t, RV_TUNNEL_STARTING);
	if (t->backend->start(t, t->config->parsed, trigger, &error) < 0) {
		/* The backend never began: nothing to stop. */
		fail_tunnel(t, error ? error->message : "backend failed to start");
	}
}

static void stop_tunnel(struct rv_tunnel *t)
{
	if (t->state != RV_TUNNEL_STARTING && t->state != RV_TUNNEL_UP)
		return;
	rv_tunnel_info(t->name, "stopping");
	set_state(t, RV_TUNNEL_STOPPING);
	/* May report down before it returns. */
	t->backend->stop(t);
}

void rv_supervisor_set_desired(struct rv_tunnel *t, bool desired, const char *triggered_by)
{
	if (desired && triggered_by && g_strcmp0(triggered_by, t->triggered_by) != 0 &&
	    (!t->desired || t->state == RV_TUNNEL_DOWN)) {
		g_free(t->triggered_by);
		t->triggered_by = g_strdup(triggered_by);
		rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
	}
	if (t->desired == desired)
		return;
	t->desired = desired;
	if (desired)
		t->failures = 0;
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
}

void rv_supervisor_reconcile(void)
{
	g_autoptr(GPtrArray) list = rv_supervisor_tunnels();

	for (guint i = 0; i < list->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(list, i);

		if (stopping_all)
			t->desired = false;
		switch (t->state) {
		case RV_TUNNEL_DOWN:
			if (t->desired)
				start_tunnel(t);
			break;
		case RV_TUNNEL_FAILED:
			if (!t->desired) {
				g_clear_handle_id(&t->retry_source, g_source_remove);
				set_state(t, RV_TUNNEL_DOWN);
			}
			break;
		case RV_TUNNEL_STARTING:
		case RV_TUNNEL_UP:
			if (!t->desired)
				stop_tunnel(t);
			break;
		case RV_TUNNEL_STOPPING:
			break;	/* report_down will reconcile again */
		}
	}
}

void rv_supervisor_want(GHashTable *wanted)
{
	g_autoptr(GPtrArray) list = rv_supervisor_tunnels();

	if (stopping_all)
		return;
	for (guint i = 0; i < list->len; i++) {
		struct rv_tunnel *t = g_ptr_array_index(list, i);
		const char *trigger = wanted ? g_hash_table_lookup(wanted, t->name) : NULL;

		rv_supervisor_set_desired(t, trigger != NULL, trigger);
	}
	rv_supervisor_reconcile();
}

GHashTable *rv_supervisor_tunnel_devices(void)
{
	GHashTable *names = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter iter;
	gpointer value;

	if (!tunnels)
		return names;
	g_hash_table_iter_init(&iter, tunnels);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct rv_tunnel *t = value;

		const char *device = t->config ? rv_backend_device(t->config) : NULL;

		if (device)
			g_hash_table_add(names, (gpointer)device);
		if (t->net && t->net->ifname)
			g_hash_table_add(names, t->net->ifname);
	}
	return names;
}

static bool all_down(void)
{
	GHashTableIter iter;
	gpointer value;

	g_hash_table_iter_init(&iter, tunnels);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct rv_tunnel *t = value;

		if (t->state != RV_TUNNEL_DOWN && t->state != RV_TUNNEL_FAILED)
			return false;
	}
	return true;
}

static void check_stop_all_done(void)
{
	void (*done)(void *) = stop_all_done;

	if (!stopping_all || !done || !all_down())
		return;
	stop_all_done = NULL;
	g_clear_handle_id(&stop_all_timeout, g_source_remove);
	done(stop_all_data);
}

static void after_down(struct rv_tunnel *t)
{
	if (removing && g_hash_table_remove(removing, t)) {
		finish_remove(t);
		return;
	}
	check_stop_all_done();
	if (!stopping_all)
		rv_supervisor_reconcile();
}

static void net_down(struct rv_tunnel *t)
{
	if ((t->dns_applied || t->routes_applied) && hooks.net_down)
		hooks.net_down(t);
	t->dns_applied = false;
	t->routes_applied = false;
	g_clear_pointer(&t->net, rv_tunnel_net_free);
}

void rv_tunnel_report_up(struct rv_tunnel *t, struct rv_tunnel_net *net)
{
	g_autoptr(GError) error = NULL;

	if (t->state != RV_TUNNEL_STARTING) {
		rv_tunnel_warning(t->name, "backend reported up in state %s; ignored",
				  rv_tunnel_state_name(t->state));
		rv_tunnel_net_free(net);
		return;
	}
	rv_tunnel_net_free(t->net);
	t->net = net;
	if (hooks.net_up && hooks.net_up(t, &error) < 0) {
		g_autofree char *msg = g_strdup_printf("network configuration failed: %s",
						       error ? error->message : "unknown error");

		/* Never leave it half up: undo what was applied and stop the backend;
		 * the report_down that follows turns this into a failure with backoff. */
		net_down(t);
		set_error(t, msg);
		rv_tunnel_warning(t->name, "%s", msg);
		set_state(t, RV_TUNNEL_STOPPING);
		t->backend->stop(t);
		return;
	}
	g_clear_pointer(&t->last_error, g_free);
	t->up_since_mono = g_get_monotonic_time();
	set_state(t, RV_TUNNEL_UP);
}

void rv_tunnel_report_auth_failed(struct rv_tunnel *t, const char *error)
{
	t->auth_hold = true;
	rv_tunnel_report_down(t, error);
}

void rv_supervisor_clear_hold(struct rv_tunnel *t)
{
	if (!t->auth_hold)
		return;
	t->auth_hold = false;
	t->failures = 0;
	if (t->state == RV_TUNNEL_FAILED) {
		g_clear_handle_id(&t->retry_source, g_source_remove);
		set_state(t, RV_TUNNEL_DOWN);	/* the next reconcile starts it */
	}
}

void rv_tunnel_report_down(struct rv_tunnel *t, const char *error)
{
	enum rv_tunnel_state was = t->state;
	bool asked = was == RV_TUNNEL_STOPPING;

	if (was == RV_TUNNEL_DOWN || was == RV_TUNNEL_FAILED) {
		rv_tunnel_warning(t->name, "backend reported down in state %s; ignored",
				  rv_tunnel_state_name(was));
		return;
	}
	net_down(t);
	t->backend_data = NULL;
	if (was == RV_TUNNEL_UP &&
	    g_get_monotonic_time() - t->up_since_mono >= STABLE_UP_USEC)
		t->failures = 0;

	if (asked && !t->last_error) {
		if (error)
			set_error(t, error);
		set_state(t, RV_TUNNEL_DOWN);
	} else if (asked) {
		/* Stopped because net_up failed (last_error set there). */
		g_autofree char *why = g_strdup(t->last_error);

		fail_tunnel(t, why);
	} else {
		fail_tunnel(t, error ? error : "backend stopped unexpectedly");
	}
	after_down(t);
}

void rv_tunnel_report_stats(struct rv_tunnel *t, guint64 rx_bytes, guint64 tx_bytes,
			    gint64 last_handshake)
{
	if (t->rx_bytes == rx_bytes && t->tx_bytes == tx_bytes &&
	    t->last_handshake == last_handshake)
		return;
	t->rx_bytes = rx_bytes;
	t->tx_bytes = tx_bytes;
	t->last_handshake = last_handshake;
	rv_events_emit(RV_EVENT_TUNNEL_CHANGED, t);
}

static gboolean stop_all_timeout_cb(gpointer data)
{
	void (*done)(void *) = stop_all_done;

	stop_all_timeout = 0;
	stop_all_done = NULL;
	g_warning("some backends did not stop within %d ms", STOP_ALL_TIMEOUT_MS);
	if (done)
		done(stop_all_data);
	return G_SOURCE_REMOVE;
}

void rv_supervisor_stop_all(void (*done)(void *), void *user_data)
{
	stopping_all = true;
	stop_all_done = done;
	stop_all_data = user_data;
	stop_all_timeout = g_timeout_add(STOP_ALL_TIMEOUT_MS, stop_all_timeout_cb, NULL);
	rv_supervisor_reconcile();
	check_stop_all_done();
}

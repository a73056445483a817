/* test-supervisor.c - the supervisor state machine against a scripted backend:
 * debounce of flaps (the manager's debounce in front of a fake policy), exponential
 * backoff, one instance per tunnel, nothing half up. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "debounce.h"
#include "error.h"
#include "supervisor.h"

struct fake {
	guint starts;
	guint stops;
	guint evaluations;
	guint net_ups;
	guint net_downs;
	bool fail_start;		/* start() returns an error */
	bool die_after_start;		/* report_down(error) right after start */
	bool report_down_on_stop;	/* stop() reports down at once */
	bool fail_net_up;
	bool want;			/* what evaluate() sets */
	gint64 start_times[16];
	gint64 evaluated_at;		/* monotonic time of the last evaluate() */
	guint retry_delays[16];		/* "retry N in M ms" as the supervisor announced */
	guint n_retry_delays;
	struct rv_tunnel *tunnel;
};

static struct fake fake;
static struct rv_debounce *debounce;

static gboolean die_idle(gpointer data)
{
	rv_tunnel_report_down(data, "fake backend died");
	return G_SOURCE_REMOVE;
}

static int fake_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		      GError **error)
{
	if (fake.starts < G_N_ELEMENTS(fake.start_times))
		fake.start_times[fake.starts] = g_get_monotonic_time();
	fake.starts++;
	if (fake.fail_start) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "no");
		return -1;
	}
	if (fake.die_after_start)
		g_idle_add(die_idle, t);
	return 0;
}

static void fake_stop(struct rv_tunnel *t)
{
	fake.stops++;
	if (fake.report_down_on_stop)
		rv_tunnel_report_down(t, NULL);
}

static const struct rv_backend fake_backend = {
	.name = "fake",
	.abi = RV_BACKEND_ABI,
	.start = fake_start,
	.stop = fake_stop,
};

/* The policy's part, as the manager plays it: the wanted set to the supervisor. */
static void evaluate(void *data)
{
	g_autoptr(GHashTable) wanted = g_hash_table_new(g_str_hash, g_str_equal);

	fake.evaluations++;
	fake.evaluated_at = g_get_monotonic_time();
	if (fake.want)
		g_hash_table_insert(wanted, (gpointer) "corp", (gpointer) "eth0");
	rv_supervisor_want(wanted);
}

/* A link changed: evaluate after the debounce delay (restarting the delay). */
static void network_changed(void)
{
	rv_debounce_kick(debounce);
}

/* Evaluate now (manual requests, reload). */
static void evaluate_now(void)
{
	rv_debounce_cancel(debounce);
	evaluate(NULL);
}

static int net_up(struct rv_tunnel *t, GError **error)
{
	fake.net_ups++;
	if (fake.fail_net_up) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "no route");
		return -1;
	}
	t->dns_applied = true;
	return 0;
}

static void net_down(struct rv_tunnel *t)
{
	fake.net_downs++;
}

static void setup(guint debounce_ms)
{
	struct rv_supervisor_params p = { 20, 160 };
	struct rv_supervisor_hooks h = { net_up, net_down, NULL };
	struct rv_tunnel_config *cfg = g_new0(struct rv_tunnel_config, 1);
	static bool registered;

	if (!registered)
		rv_backend_register(&fake_backend);
	registered = true;
	memset(&fake, 0, sizeof(fake));
	fake.report_down_on_stop = true;
	cfg->name = g_strdup("corp");
	cfg->path = g_strdup("/nonexistent/corp.conf");
	cfg->backend = g_strdup("fake");
	rv_supervisor_init(&p, &h);
	debounce = rv_debounce_new(debounce_ms, evaluate, NULL);
	fake.tunnel = rv_supervisor_add(cfg);
}

static void teardown(void)
{
	g_clear_pointer(&debounce, rv_debounce_free);
	rv_supervisor_exit();
}

/* Run the main loop until cond() or the deadline; returns cond(). */
static bool spin_until(bool (*cond)(void), guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + timeout_ms * 1000;

	while (!cond() && g_get_monotonic_time() < deadline)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
	return cond();
}

static void spin_for(guint ms)
{
	gint64 end = g_get_monotonic_time() + ms * 1000;

	while (g_get_monotonic_time() < end)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(1000);
}

static bool is_up(void) { return fake.tunnel->state == RV_TUNNEL_UP; }
static bool is_down(void) { return fake.tunnel->state == RV_TUNNEL_DOWN; }
static bool is_failed(void) { return fake.tunnel->state == RV_TUNNEL_FAILED; }
static bool two_starts(void) { return fake.starts >= 2; }
static bool five_starts(void) { return fake.starts >= 5; }

static void report_up(void)
{
	rv_tunnel_report_up(fake.tunnel, rv_tunnel_net_new());
}

static bool evaluated_once(void) { return fake.evaluations >= 1; }

static void test_debounce_flaps(void)
{
	gint64 last_change;

	setup(100);
	fake.want = true;
	/* Ten flaps 20 ms apart, 180 ms from the first to the last: longer than the
	 * delay, so a delay that did not restart on every change would fire 100 ms
	 * after the first. The main context is not run in between, so how the machine
	 * schedules this process cannot let a timer fire in the middle. */
	for (int i = 0; i < 10; i++) {
		if (i)
			g_usleep(20 * 1000);
		network_changed();
	}
	last_change = g_get_monotonic_time();
	g_assert_cmpuint(fake.evaluations, ==, 0);
	g_assert_cmpuint(fake.starts, ==, 0);
	g_assert_true(rv_debounce_pending(debounce));
	/* Bounded wait (generous): then one evaluation, never before the network
	 * has been quiet for the whole delay after the last change. */
	g_assert_true(spin_until(evaluated_once, 10000));
	g_assert_cmpint(fake.evaluated_at - last_change, >=, 100 * 1000);
	g_assert_false(rv_debounce_pending(debounce));
	spin_for(150);
	g_assert_cmpuint(fake.evaluations, ==, 1);
	g_assert_cmpuint(fake.starts, ==, 1);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_STARTING);
	g_assert_cmpstr(fake.tunnel->triggered_by, ==, "eth0");
	report_up();
	g_assert_true(is_up());
	g_assert_cmpuint(fake.net_ups, ==, 1);

	fake.want = false;
	network_changed();
	g_assert_true(spin_until(is_down, 10000));
	g_assert_cmpuint(fake.stops, ==, 1);
	g_assert_cmpuint(fake.net_downs, ==, 1);
	teardown();
}

static void test_backoff(void)
{
	setup(0);
	fake.want = true;
	fake.die_after_start = true;
	evaluate_now();
	/* Bounded wait (generous): the sum of the delays is 300 ms. */
	g_assert_true(spin_until(five_starts, 20000));
	/* The delays double from 20 ms and stop at the 160 ms cap (as announced in
	 * the log), and no attempt comes before its delay has passed. A gap may be
	 * longer on a loaded machine: how much longer is speed, not behaviour. */
	g_assert_cmpuint(fake.n_retry_delays, >=, 4);
	for (int i = 1; i < 5; i++) {
		gint64 gap_ms = (fake.start_times[i] - fake.start_times[i - 1]) / 1000;
		gint64 expect = MIN(20 << (i - 1), 160);

		g_test_message("attempt %d after %" G_GINT64_FORMAT " ms (expect >= %" G_GINT64_FORMAT ")",
			       i + 1, gap_ms, expect);
		g_assert_cmpuint(fake.retry_delays[i - 1], ==, expect);
		g_assert_cmpint(gap_ms, >=, expect);
	}
	g_assert_true(spin_until(is_failed, 10000));
	g_assert_cmpstr(fake.tunnel->last_error, ==, "fake backend died");
	/* The fifth failure: 320 ms doubled, capped at 160. */
	g_assert_cmpuint(fake.n_retry_delays, >=, 5);
	g_assert_cmpuint(fake.retry_delays[4], ==, 160);

	/* Not wanted any more: the pending retry is cancelled. */
	fake.want = false;
	evaluate_now();
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_DOWN);
	g_assert_cmpuint(fake.tunnel->retry_source, ==, 0);
	{
		guint starts = fake.starts;

		spin_for(400);
		g_assert_cmpuint(fake.starts, ==, starts);
	}
	teardown();
}

static void test_start_error_backs_off(void)
{
	setup(0);
	fake.want = true;
	fake.fail_start = true;
	evaluate_now();
	g_assert_cmpuint(fake.starts, ==, 1);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_FAILED);
	g_assert_cmpstr(fake.tunnel->last_error, ==, "no");
	fake.fail_start = false;
	/* The retry comes after the 20 ms delay (bounded wait, generous). */
	g_assert_true(spin_until(two_starts, 10000));
	g_assert_cmpuint(fake.starts, ==, 2);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_STARTING);
	teardown();
}

static void test_single_instance(void)
{
	setup(0);
	fake.report_down_on_stop = false;	/* a slow backend */
	fake.want = true;
	evaluate_now();
	report_up();
	g_assert_cmpuint(fake.starts, ==, 1);

	fake.want = false;
	evaluate_now();
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_STOPPING);
	/* Wanted again while it is still stopping: no second instance. */
	fake.want = true;
	evaluate_now();
	evaluate_now();
	g_assert_cmpuint(fake.starts, ==, 1);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_STOPPING);
	/* Once down it starts again, exactly once. */
	rv_tunnel_report_down(fake.tunnel, NULL);
	g_assert_cmpuint(fake.starts, ==, 2);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_STARTING);
	teardown();
}

static void test_net_up_failure_is_not_half_up(void)
{
	setup(0);
	fake.want = true;
	fake.fail_net_up = true;
	evaluate_now();
	report_up();
	/* The backend was stopped again and the tunnel waits for a retry. */
	g_assert_cmpuint(fake.stops, ==, 1);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_FAILED);
	g_assert_nonnull(g_strstr_len(fake.tunnel->last_error, -1, "no route"));
	g_assert_null(fake.tunnel->net);
	teardown();
}

static void test_unexpected_down_while_up(void)
{
	setup(0);
	fake.want = true;
	evaluate_now();
	report_up();
	rv_tunnel_report_down(fake.tunnel, "peer went away");
	g_assert_cmpuint(fake.net_downs, ==, 1);
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_FAILED);
	g_assert_true(spin_until(two_starts, 10000));
	g_assert_cmpuint(fake.starts, ==, 2);
	teardown();
}

static bool stopped_all;
static void stop_all_done(void *data) { stopped_all = true; }
static bool all_stopped(void) { return stopped_all; }

static void test_stop_all(void)
{
	setup(0);
	fake.want = true;
	evaluate_now();
	report_up();
	stopped_all = false;
	rv_supervisor_stop_all(stop_all_done, NULL);
	g_assert_true(spin_until(all_stopped, 10000));
	g_assert_cmpint(fake.tunnel->state, ==, RV_TUNNEL_DOWN);
	g_assert_cmpuint(fake.net_downs, ==, 1);
	/* No restarts after a stop-all, whatever policy says. */
	network_changed();
	evaluate_now();
	spin_for(50);
	g_assert_cmpuint(fake.starts, ==, 1);
	teardown();
}

static struct rv_tunnel_config *config_from(const char *text)
{
	struct rv_tunnel_config *cfg = g_new0(struct rv_tunnel_config, 1);

	cfg->name = g_strdup("corp");
	cfg->path = g_strdup("/nonexistent/corp.conf");
	cfg->backend = g_strdup("fake");
	cfg->ini = rv_ini_parse(cfg->path, text, 0, NULL);
	g_assert_nonnull(cfg->ini);
	return cfg;
}

static void test_reload_restarts_only_changed(void)
{
	setup(0);
	rv_supervisor_add(config_from("[Tunnel]\nBackend=fake\n# comment\n"));
	fake.want = true;
	evaluate_now();
	report_up();
	g_assert_cmpuint(fake.starts, ==, 1);

	/* The same settings (comments and blank lines aside): keeps running. */
	rv_supervisor_add(config_from("[Tunnel]\n\nBackend=fake\n"));
	g_assert_cmpuint(fake.stops, ==, 0);
	g_assert_true(is_up());

	/* Changed: stopped and started again with the new configuration. */
	rv_supervisor_add(config_from("[Tunnel]\nBackend=fake\nDNS=10.0.0.53\n"));
	g_assert_cmpuint(fake.stops, ==, 1);
	g_assert_cmpuint(fake.starts, ==, 2);
	g_assert_nonnull(rv_ini_find_entry(rv_ini_find_section(fake.tunnel->config->ini, "Tunnel"), "DNS"));
	teardown();
}

/* Keeps the delays the supervisor announces ("tunnel X failed (...); retry N in
 * M ms"), then logs as usual. */
static GLogWriterOutput log_writer(GLogLevelFlags level, const GLogField *fields, gsize n,
				   gpointer data)
{
	for (gsize i = 0; i < n; i++) {
		const char *msg, *retry;
		guint nth, ms;

		if (!g_str_equal(fields[i].key, "MESSAGE"))
			continue;
		msg = fields[i].value;
		retry = fields[i].length < 0 ? strstr(msg, "; retry ") : NULL;
		if (retry && sscanf(retry, "; retry %u in %u ms", &nth, &ms) == 2 &&
		    fake.n_retry_delays < G_N_ELEMENTS(fake.retry_delays))
			fake.retry_delays[fake.n_retry_delays++] = ms;
	}
	return g_log_writer_default(level, fields, n, data);
}

int main(int argc, char **argv)
{
	g_log_set_writer_func(log_writer, NULL, NULL);
	g_test_init(&argc, &argv, NULL);
	/* Backend failures are logged as warnings on purpose; they are not test errors. */
	g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
	g_test_add_func("/supervisor/debounce-flaps", test_debounce_flaps);
	g_test_add_func("/supervisor/backoff", test_backoff);
	g_test_add_func("/supervisor/start-error-backs-off", test_start_error_backs_off);
	g_test_add_func("/supervisor/single-instance", test_single_instance);
	g_test_add_func("/supervisor/net-up-failure", test_net_up_failure_is_not_half_up);
	g_test_add_func("/supervisor/unexpected-down", test_unexpected_down_while_up);
	g_test_add_func("/supervisor/stop-all", test_stop_all);
	g_test_add_func("/supervisor/reload-restarts-only-changed", test_reload_restarts_only_changed);
	return g_test_run();
}

/* backend-exec.c - the "exec" backend: a tunnel is whatever a command runs.
 *
 *   [exec]
 *   Start=/usr/sbin/vpnc --no-detach /etc/vpnc/corp.conf
 *   Stop=/usr/local/bin/corp-down        (optional)
 *   Type=simple|oneshot                  (simple)
 *   Report=hook                          (optional, see below)
 *
 * simple: the tunnel is up while Start's process runs; stopping runs Stop= (if
 * any), then ends Start's process group.
 * oneshot: Start= sets the tunnel up and exits; the tunnel is up once it exits 0.
 * What it leaves running in its process group (a daemon it started in the
 * background) belongs to the tunnel and is left alone while the tunnel is up;
 * stopping runs Stop=, then ends what is left of that group. A program that leaves
 * the group (setsid(), daemon()) cannot be followed: Stop= must end it.
 * Ending a group: SIGTERM, SIGKILL after 5 s (a grandchild that ignores SIGTERM
 * dies too). Stop= itself gets 5 s; then it and Start's group are ended the same
 * way, so a hanging Stop= cannot hold the tunnel in "stopping".
 * Command lines are split like a shell would (g_shell_parse_argv) and executed
 * directly, never through a shell. DNS comes from [Tunnel] DNS=/Domains=.
 *
 * Report=hook: the tunnel is up when the program reports it through roamvpn-hook
 * (vpnc's Script=, pppd's ip-up-script), and the report's device, address,
 * routes and DNS are applied; [Tunnel] DNS=/Domains=/Routes= still win. The
 * child finds the hook in $ROAMVPN_HOOK and the socket in $ROAMVPN_HOOK_SOCKET:
 *   Start=/usr/sbin/vpnc --no-detach --non-inter --script /usr/libexec/roamvpn/roamvpn-hook corp.conf
 */
#include "config.h"

#include <errno.h>
#include <sys/wait.h>

#include "backend.h"
#include "backend-program.h"
#include "hook-report.h"
#include "ini.h"
#include "error.h"
#include "spawn.h"
#include "log.h"

#define STOP_GRACE_MS RV_CHILD_GRACE_MS	/* Stop='s time, and SIGTERM to SIGKILL */
#define KILL_GRACE_MS 2000		/* after a Stop= that overran */

enum exec_type { EXEC_SIMPLE, EXEC_ONESHOT };

/* [exec], parsed. */
struct exec_config {
	char **start;			/* argv */
	char **stop;			/* argv, or NULL */
	enum exec_type type;
	bool report_hook;		/* Report=hook: up when the hook says so */
};

struct exec_run {
	struct rv_tunnel *tunnel;
	struct rv_tunnel_config *config;	/* a reference: Stop= of what was started */
	const struct exec_config *exec;
	struct rv_child *start;		/* Start= while it runs */
	struct rv_child *stop;		/* Stop= while it runs */
	pid_t start_group;		/* oneshot: Start's process group, kept after it exits */
	guint stop_timer;		/* bounds Stop= */
	bool stopping;
	guint up_idle;
};

static void exec_free_config(void *data)
{
	struct exec_config *c = data;

	if (!c)
		return;
	g_strfreev(c->start);
	g_strfreev(c->stop);
	g_free(c);
}

static bool exec_config_equal(const void *a, const void *b)
{
	const struct exec_config *x = a, *y = b;

	return g_strv_equal((const char *const *)x->start, (const char *const *)y->start) &&
	       (x->stop && y->stop ? g_strv_equal((const char *const *)x->stop,
						  (const char *const *)y->stop) : x->stop == y->stop) &&
	       x->type == y->type && x->report_hook == y->report_hook;
}

/* Start=/Stop=: a command line split like a shell would (never run by one). GLib's
 * message quotes the whole line, which may carry a password: say what is wrong
 * in our words instead. */
static bool parse_command(const struct rv_ini_value *v, void *field)
{
	char ***argv = field;
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) parsed = NULL;

	if (!g_shell_parse_argv(v->value, NULL, &parsed, &error)) {
		rv_ini_value_error(v, "%s=: %s (not shown, it may hold a secret)", v->entry->key,
				   g_error_matches(error, G_SHELL_ERROR, G_SHELL_ERROR_EMPTY_STRING)
					   ? "no command"
					   : "a quote is not closed or a line ends in '\\'");
		return false;
	}
	g_strfreev(*argv);
	*argv = g_steal_pointer(&parsed);
	return true;
}

static bool parse_type(const struct rv_ini_value *v, void *field)
{
	enum exec_type *type = field;

	if (g_str_equal(v->value, "simple"))
		*type = EXEC_SIMPLE;
	else if (g_str_equal(v->value, "oneshot"))
		*type = EXEC_ONESHOT;
	else {
		rv_ini_bad_value(v, "is not simple or oneshot");
		return false;
	}
	return true;
}

static bool parse_report(const struct rv_ini_value *v, void *field)
{
	if (!g_str_equal(v->value, "hook")) {
		rv_ini_bad_value(v, "is not hook");
		return false;
	}
	*(bool *)field = true;
	return true;
}

#define KEY(key, parse, field) \
	RV_INI_KEY("exec", key, parse, struct exec_config, field, RV_INI_ONCE, NULL)
static const struct rv_ini_key exec_keys[] = {
	KEY("Start", parse_command, start),
	KEY("Stop", parse_command, stop),
	KEY("Type", parse_type, type),
	KEY("Report", parse_report, report_hook),
	RV_INI_KEYS_END
};
#undef KEY

static void *exec_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	bool ok = true;
	const struct rv_ini_section *s = rv_program_section(cfg, "exec", "with Start=", &ok, errors);
	struct exec_config *c;

	if (!s)
		return NULL;
	c = g_new0(struct exec_config, 1);
	ok = rv_ini_apply_section(cfg->path, s, exec_keys, c, 0, errors) && ok;
	if (!rv_ini_find_entry(s, "Start")) {
		rv_ini_error(errors, cfg->path, s->line, "[exec] needs Start=");
		ok = false;
	}
	if (!ok) {
		exec_free_config(c);
		return NULL;
	}
	return c;
}

static struct rv_tunnel_net *exec_net(const struct exec_run *run)
{
	struct rv_tunnel_net *net = rv_tunnel_net_new();
	const struct rv_tunnel_config *cfg = run->config;

	net->ifname = g_strdup(cfg->interface);
	/* The command configures its own device; routes only if the file asks. */
	net->addresses_assigned = true;
	for (char **r = cfg->interface ? cfg->routes : NULL; r && *r; r++)
		g_ptr_array_add(net->routes, g_strdup(*r));
	net->dns = g_strdupv(cfg->dns);
	net->domains = g_strdupv(cfg->domains);
	return net;
}

/* A report from the program (via roamvpn-hook): the configuration's own DNS,
 * domains and routes take precedence over what the server pushed. */
static int on_report(struct rv_child *child, char **argv, GHashTable *env, void *data,
		     GError **error)
{
	struct exec_run *run = data;
	struct rv_tunnel_net *net = NULL;
	int r = rv_program_take_report(run->tunnel, run->config, "the program", !run->stopping,
				       argv, env, &net, error);

	if (r > 0)
		rv_tunnel_report_up(run->tunnel, net);
	return MIN(r, 0);
}

static void run_free(struct exec_run *run)
{
	g_clear_handle_id(&run->up_idle, g_source_remove);
	g_clear_handle_id(&run->stop_timer, g_source_remove);
	rv_tunnel_config_free(run->config);
	g_free(run);
}

static void finish(struct exec_run *run, const char *error)
{
	struct rv_tunnel *t = run->tunnel;

	if (run->start || run->stop)
		return;		/* wait for every child we started */
	/* oneshot: what Start= left behind goes with the tunnel. */
	if (run->start_group)
		rv_process_group_terminate(run->start_group, STOP_GRACE_MS);
	t->backend_data = NULL;
	run_free(run);
	rv_tunnel_report_down(t, error);
}

static gboolean report_up_idle(gpointer data)
{
	struct exec_run *run = data;

	run->up_idle = 0;
	/* report_up may stop us again (network setup failed): nothing after it. */
	rv_tunnel_report_up(run->tunnel, exec_net(run));
	return G_SOURCE_REMOVE;
}

static void stop_exited(struct rv_child *child, int status, void *data)
{
	struct exec_run *run = data;
	g_autofree char *how = rv_wait_status_describe(status);

	run->stop = NULL;
	g_clear_handle_id(&run->stop_timer, g_source_remove);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rv_tunnel_warning(run->tunnel->name, "Stop= command %s", how);
	if (run->start)
		rv_child_terminate(run->start, STOP_GRACE_MS);
	finish(run, NULL);
}

static gboolean stop_timeout(gpointer data)
{
	struct exec_run *run = data;

	run->stop_timer = 0;
	rv_tunnel_warning(run->tunnel->name, "Stop= did not finish within %d ms; ending it and the tunnel's processes",
			  STOP_GRACE_MS);
	if (run->stop)
		rv_child_terminate(run->stop, KILL_GRACE_MS);
	if (run->start)
		rv_child_terminate(run->start, KILL_GRACE_MS);
	return G_SOURCE_REMOVE;
}

static void run_stop_command(struct exec_run *run)
{
	struct rv_tunnel *t = run->tunnel;
	g_auto(GStrv) env = NULL;
	g_autoptr(GError) error = NULL;
	g_autofree char *name = NULL;

	if (!run->exec->stop) {
		if (run->start)
			rv_child_terminate(run->start, STOP_GRACE_MS);
		else
			finish(run, NULL);
		return;
	}
	env = rv_backend_child_env(t, t->triggered_by ? rv_links_lookup_name(t->triggered_by) : NULL);
	name = g_strdup_printf("%s[stop]", t->name);
	run->stop = rv_child_spawn(name, run->exec->stop, env, stop_exited, run, &error);
	if (run->stop)
		run->stop_timer = g_timeout_add(STOP_GRACE_MS, stop_timeout, run);
	if (!run->stop) {
		rv_tunnel_warning(t->name, "cannot run Stop=: %s", error->message);
		if (run->start)
			rv_child_terminate(run->start, STOP_GRACE_MS);
		else
			finish(run, NULL);
	}
}

static void start_exited(struct rv_child *child, int status, void *data)
{
	struct exec_run *run = data;
	struct rv_tunnel *t = run->tunnel;
	g_autofree char *how = rv_wait_status_describe(status);
	bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	run->start = NULL;
	if (run->stopping) {
		finish(run, NULL);
		return;
	}
	if (run->exec->type == EXEC_ONESHOT && ok && !run->exec->report_hook) {
		rv_tunnel_info(t->name, "Start= finished");
		/* run->start_group stays: it is the tunnel now. */
		run->up_idle = g_idle_add(report_up_idle, run);
		return;
	}
	g_clear_handle_id(&run->up_idle, g_source_remove);
	if (run->start_group) {
		rv_process_group_terminate(run->start_group, STOP_GRACE_MS);
		run->start_group = 0;
	}
	{
		g_autofree char *msg = g_strdup_printf("Start= command %s", how);

		finish(run, msg);
	}
}

static int exec_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
		      GError **error)
{
	const struct exec_config *c = config;
	g_auto(GStrv) env = NULL;
	struct exec_run *run;

	if (!c) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "no [exec] configuration");
		return -EINVAL;
	}
	env = rv_backend_child_env(t, trigger);

	run = g_new0(struct exec_run, 1);
	run->tunnel = t;
	run->config = rv_tunnel_config_ref(t->config);
	run->exec = c;
	run->start = rv_child_spawn(t->name, c->start, env, start_exited, run, error);
	if (!run->start) {
		run_free(run);
		return -ENOEXEC;
	}
	if (c->type == EXEC_ONESHOT) {
		rv_child_keep_group(run->start);
		run->start_group = rv_child_pid(run->start);
	}
	t->backend_data = run;
	if (c->report_hook)
		rv_child_set_report_handler(run->start, on_report, run);
	/* simple: running is up. Reported from idle so that start() returns first. */
	else if (c->type == EXEC_SIMPLE)
		run->up_idle = g_idle_add(report_up_idle, run);
	return 0;
}

static void exec_stop(struct rv_tunnel *t)
{
	struct exec_run *run = t->backend_data;

	if (!run || run->stopping)
		return;
	run->stopping = true;
	g_clear_handle_id(&run->up_idle, g_source_remove);
	if (run->stop)
		return;
	run_stop_command(run);
}

const struct rv_backend rv_backend_exec = {
	.name = "exec",
	.abi = RV_BACKEND_ABI,
	.parse = exec_parse,
	.free_config = exec_free_config,
	.config_equal = exec_config_equal,
	.start = exec_start,
	.stop = exec_stop,
};

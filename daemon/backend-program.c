/* backend-program.c - a VPN program run for a tunnel (see backend-program.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "backend-program.h"
#include "validate.h"
#include "error.h"
#include "hook-report.h"
#include "ini.h"
#include "spawn.h"
#include "ssid.h"
#include "log.h"

#define DEFAULT_GRACE_MS 5000
#define OUTPUT_LINES_KEPT 32	/* for naming a failure; the log has them all */
#define OUTPUT_LINE_MAX 512

struct rv_program {
	struct rv_tunnel *tunnel;
	struct rv_tunnel_config *config;	/* a reference: what was started */
	char *name;
	const struct rv_failure_rule *rules;
	gsize n_rules;
	const struct rv_failure_rule *fatal_lines;
	gsize n_fatal_lines;
	guint grace_ms;
	rv_program_up_fn on_up;
	rv_program_end_fn on_end;
	void *user_data;

	struct rv_child *child;
	GQueue output;			/* char *, the last lines, raw */
	guint up_timer;
	guint up_timeout_s;
	bool stopping;
	bool reported_up;
	char *failure;			/* why we stopped it ourselves */
	const struct rv_failure_rule *fatal;	/* the fatal line that stopped it */
};

const char *rv_program_hook_path(void)
{
	const char *hook = g_getenv("ROAMVPN_HOOK_PATH");

	return hook && *hook ? hook : HOOK_PATH;
}

char *rv_program_find(const char *program)
{
	g_auto(GStrv) env = rv_child_base_env(NULL);
	const char *path = g_environ_getenv(env, "PATH");

	g_auto(GStrv) dirs = g_strsplit(path ? path : "", ":", -1);

	if (strchr(program, '/'))
		return g_file_test(program, G_FILE_TEST_IS_EXECUTABLE) ? g_strdup(program) : NULL;
	for (char **d = dirs; *d; d++) {
		g_autofree char *full = g_build_filename(*d, program, NULL);

		if (**d && g_file_test(full, G_FILE_TEST_IS_EXECUTABLE) &&
		    !g_file_test(full, G_FILE_TEST_IS_DIR))
			return g_steal_pointer(&full);
	}
	return NULL;
}

int rv_backend_check_programs(GHashTable *configs, GPtrArray *errors)
{
	g_autoptr(GList) list = g_hash_table_get_values(configs);
	int ret = 0;

	for (GList *l = list; l; l = l->next) {
		const struct rv_tunnel_config *cfg = l->data;

		for (const char *const *prog = cfg->ops ? cfg->ops->programs : NULL; prog && *prog; prog++) {
			g_autofree char *found = rv_program_find(*prog);

			if (!found) {
				g_ptr_array_add(errors, g_strdup_printf(
					"%s: Backend=%s runs %s, which is not installed (not found in PATH)",
					cfg->path, cfg->backend, *prog));
				ret = -ENOENT;
			}
		}
	}
	return ret;
}

const struct rv_ini_section *rv_program_section(const struct rv_tunnel_config *cfg,
						const char *name, const char *what, bool *ok,
						GPtrArray *errors)
{
	const struct rv_ini_section *found = NULL;

	for (guint i = 0; i < cfg->ini->sections->len; i++) {
		const struct rv_ini_section *s = g_ptr_array_index(cfg->ini->sections, i);

		if (g_str_equal(s->name, "Tunnel"))
			continue;
		if (!g_str_equal(s->name, name)) {
			rv_ini_error(errors, cfg->path, s->line, "unknown section [%s] for Backend=%s ([%s])",
				     s->name, cfg->backend, name);
			*ok = false;
		} else if (found) {
			rv_ini_error(errors, cfg->path, s->line, "[%s] repeated (first at line %d)", name,
				     found->line);
			*ok = false;
		} else {
			found = s;
		}
	}
	if (!found) {
		rv_ini_error(errors, cfg->path, 0, "Backend=%s needs a [%s] section %s", cfg->backend,
			     name, what);
		*ok = false;
	}
	return found;
}

const struct rv_ini_section *rv_program_parse_section(const struct rv_tunnel_config *cfg,
						      const char *name, const char *what,
						      const struct rv_ini_key *keys, void *config,
						      bool *ok, GPtrArray *errors)
{
	const struct rv_ini_section *s = rv_program_section(cfg, name, what, ok, errors);

	if (s && !rv_ini_apply_section(cfg->path, s, keys, config, 0, errors))
		*ok = false;
	return s;
}

bool rv_program_both_or_neither(const struct rv_tunnel_config *cfg,
				const struct rv_ini_section *s, const char *a, const char *b,
				GPtrArray *errors)
{
	if (!rv_ini_find_entry(s, a) == !rv_ini_find_entry(s, b))
		return true;
	rv_ini_error(errors, cfg->path, s->line, "[%s] needs both %s= and %s=, or neither", s->name,
		     a, b);
	return false;
}

bool rv_program_parse_host(const struct rv_ini_value *v, void *field)
{
	if (!rv_host_valid(v->value)) {
		rv_ini_bad_value(v, "is not a host name or address");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

bool rv_program_stat_file(const struct rv_ini_value *v, struct stat *st)
{
	if (!g_path_is_absolute(v->value)) {
		rv_ini_bad_value(v, "is not an absolute path");
		return false;
	}
	/* Named with the tunnel file's line: "/etc/vpnc/x.conf: No such file" alone
	 * does not say which tunnel wants it. */
	if (stat(v->value, st) < 0) {
		rv_ini_bad_value(v, "cannot be read: %s", g_strerror(errno));
		return false;
	}
	if (!S_ISREG(st->st_mode)) {
		rv_ini_bad_value(v, "is not a regular file");
		return false;
	}
	return true;
}

bool rv_program_parse_line(const struct rv_ini_value *v, void *field)
{
	if (!v->value[0]) {
		rv_ini_bad_value(v, "is empty");
		return false;
	}
	for (const char *c = v->value; *c; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			rv_ini_bad_value(v, "holds a control character");
			return false;
		}
	}
	return rv_ini_parse_string(v, field);
}

void rv_secret_free(char *secret)
{
	if (!secret)
		return;
	explicit_bzero(secret, strlen(secret));
	g_free(secret);
}

static void program_free(struct rv_program *p)
{
	if (p->on_end)
		p->on_end(p->user_data);
	g_clear_handle_id(&p->up_timer, g_source_remove);
	g_queue_clear_full(&p->output, g_free);
	rv_tunnel_config_free(p->config);
	g_free(p->name);
	g_free(p->failure);
	g_free(p);
}

/* --- naming a failure -------------------------------------------------------- */

static bool output_contains(const struct rv_program *p, const char *needle)
{
	for (GList *l = p->output.head; l; l = l->next)
		if (strstr(l->data, needle))
			return true;
	return false;
}

static const struct rv_failure_rule *match_rule(const struct rv_program *p, int status)
{
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -2;

	for (gsize i = 0; i < p->n_rules; i++) {
		const struct rv_failure_rule *r = &p->rules[i];

		if (r->exit_status >= 0 && r->exit_status != code)
			continue;
		if (r->output && !output_contains(p, r->output))
			continue;
		return r;
	}
	return NULL;
}

/* The last line the program wrote, escaped, for a message without a rule. */
static char *last_line(const struct rv_program *p)
{
	const char *line = g_queue_peek_tail((GQueue *)&p->output);

	return line ? rv_ssid_escape((const uint8_t *)line, strlen(line)) : NULL;
}

static void terminate(struct rv_program *p, const char *failure);

static void program_output(struct rv_child *child, const char *line, gsize len, void *data)
{
	struct rv_program *p = data;

	if (len == 0)
		return;
	g_queue_push_tail(&p->output, g_strndup(line, MIN(len, OUTPUT_LINE_MAX)));
	while (p->output.length > OUTPUT_LINES_KEPT)
		g_free(g_queue_pop_head(&p->output));
	if (p->reported_up || p->stopping)
		return;
	for (gsize i = 0; i < p->n_fatal_lines; i++) {
		const struct rv_failure_rule *r = &p->fatal_lines[i];

		if (r->output && g_strstr_len(line, (gssize)len, r->output)) {
			p->fatal = r;
			terminate(p, NULL);
			return;
		}
	}
}

static void program_exited(struct rv_child *child, int status, void *data)
{
	struct rv_program *p = data;
	struct rv_tunnel *t = p->tunnel;
	g_autofree char *how = rv_wait_status_describe(status);
	g_autofree char *msg = NULL;
	const struct rv_failure_rule *rule;
	bool auth = false;

	p->child = NULL;
	g_clear_handle_id(&p->up_timer, g_source_remove);
	if (p->fatal) {
		msg = g_strdup_printf("%s (%s said so, stopped)", p->fatal->message, p->name);
		auth = p->fatal->failure == RV_FAILURE_AUTH;
	} else if (p->failure) {
		msg = g_strdup(p->failure);
	} else if (!p->stopping) {
		rule = match_rule(p, status);
		if (rule) {
			msg = g_strdup_printf("%s (%s %s)", rule->message, p->name, how);
			auth = rule->failure == RV_FAILURE_AUTH;
		} else {
			g_autofree char *line = last_line(p);

			msg = line ? g_strdup_printf("%s %s: %s", p->name, how, line)
				   : g_strdup_printf("%s %s", p->name, how);
		}
	}
	if (msg)
		rv_tunnel_warning(t->name, "%s", msg);
	else
		rv_tunnel_info(t->name, "%s stopped (%s)", p->name, how);
	t->backend_data = NULL;
	program_free(p);
	if (auth)
		rv_tunnel_report_auth_failed(t, msg);
	else
		rv_tunnel_report_down(t, msg);
}

static void terminate(struct rv_program *p, const char *failure)
{
	if (failure && !p->failure)
		p->failure = g_strdup(failure);
	p->stopping = true;
	g_clear_handle_id(&p->up_timer, g_source_remove);
	if (p->child)
		rv_child_terminate(p->child, p->grace_ms);
}

static gboolean up_timeout(gpointer data)
{
	struct rv_program *p = data;
	g_autofree char *msg = g_strdup_printf("no connection within %u s (is the server reachable?)",
					       p->up_timeout_s);

	p->up_timer = 0;
	terminate(p, msg);
	return G_SOURCE_REMOVE;
}

/* --- the hook's report ------------------------------------------------------- */

int rv_program_take_report(struct rv_tunnel *t, const struct rv_tunnel_config *cfg,
			   const char *who, bool waiting, char **argv, GHashTable *env,
			   struct rv_tunnel_net **out, GError **error)
{
	struct rv_tunnel_net *net = NULL;
	int event = rv_hook_report_parse(argv, env, &net, error);

	*out = NULL;
	if (event < 0)
		return event;
	if (event == RV_HOOK_DOWN) {
		rv_tunnel_info(t->name, "%s reports disconnect", who);
		return 0;
	}
	if (event != RV_HOOK_UP)
		return 0;
	if (!waiting || t->state != RV_TUNNEL_STARTING) {
		rv_tunnel_info(t->name, "report while %s; ignored", rv_tunnel_state_name(t->state));
		rv_tunnel_net_free(net);
		return 0;
	}
	/* [Tunnel] Routes= over what was pushed; DNS=/Domains= the manager settles. */
	if (cfg->routes) {
		g_ptr_array_set_size(net->routes, 0);
		for (char **r = cfg->routes; *r; r++)
			g_ptr_array_add(net->routes, g_strdup(*r));
	}
	rv_tunnel_info(t->name, "%s reports %s up", who, net->ifname);
	*out = net;
	return 1;
}

static int on_report(struct rv_child *child, char **argv, GHashTable *env, void *data,
		     GError **error)
{
	struct rv_program *p = data;
	struct rv_tunnel_net *net = NULL;
	int r = rv_program_take_report(p->tunnel, p->config, p->name,
				       !p->stopping && !p->reported_up, argv, env, &net, error);

	if (r <= 0)
		return r;
	if (p->on_up)
		p->on_up(p, net, env, p->user_data);
	g_clear_handle_id(&p->up_timer, g_source_remove);
	p->reported_up = true;
	rv_tunnel_report_up(p->tunnel, net);
	return 0;
}

/* --- start and stop ---------------------------------------------------------- */

int rv_program_start(struct rv_tunnel *t, const struct rv_link *trigger,
		     const struct rv_program_spec *spec, GError **error)
{
	g_auto(GStrv) env = rv_backend_child_env(t, trigger);
	g_autofree char *found = rv_program_find(spec->argv[0]);
	g_autoptr(GError) spawn_error = NULL;
	struct rv_program *p;

	if (!found) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "%s is not installed (%s not found)",
			    spec->name, spec->argv[0]);
		if (spec->on_end)
			spec->on_end(spec->user_data);
		return -ENOENT;
	}
	p = g_new0(struct rv_program, 1);
	p->tunnel = t;
	p->config = rv_tunnel_config_ref(t->config);
	p->name = g_strdup(spec->name);
	p->rules = spec->rules;
	p->n_rules = spec->n_rules;
	p->fatal_lines = spec->fatal_lines;
	p->n_fatal_lines = spec->n_fatal_lines;
	p->grace_ms = spec->stop_grace_ms ? spec->stop_grace_ms : DEFAULT_GRACE_MS;
	p->on_up = spec->on_up;
	p->on_end = spec->on_end;
	p->user_data = spec->user_data;
	p->up_timeout_s = spec->up_timeout_s;
	g_queue_init(&p->output);
	p->child = rv_child_spawn_with_stdin(t->name, spec->argv, env, spec->secret,
					     spec->secret ? spec->secret_len : 0, program_exited, p,
					     &spawn_error);
	if (!p->child) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot run %s: %s", spec->name,
			    spawn_error->message);
		program_free(p);
		return -ENOEXEC;
	}
	rv_child_set_output_handler(p->child, program_output, p);
	rv_child_set_report_handler(p->child, on_report, p);
	if (p->up_timeout_s)
		p->up_timer = g_timeout_add_seconds(p->up_timeout_s, up_timeout, p);
	t->backend_data = p;
	return 0;
}

void rv_program_stop(struct rv_tunnel *t)
{
	struct rv_program *p = t->backend_data;

	if (!p || p->stopping)
		return;
	terminate(p, NULL);
}

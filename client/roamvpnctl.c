/* roamvpnctl.c - command-line client for roamvpnd over D-Bus (net.roamvpn1).
 *
 * Owns: main, the client state, the command table (one entry per command: name,
 * arguments, help, handler; it drives parsing, usage and shell completion), the
 * dispatch to the handlers (ctl-commands.c, ctl-wait.c, ctl-monitor.c), usage
 * and usage errors, and shell completion. Talking to the daemon is in ctl-bus.c,
 * printing (tables, colour, JSON) in ctl-output.c.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 the bus is there but roamvpnd is not
 * (not running, or it went away), 4 no bus at all (dbus-daemon not running or the
 * address is wrong). Everything the daemon says is untrusted text: SSIDs are
 * printed escaped, JSON strings are escaped (json.c), control characters never
 * reach the terminal.
 */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "ctl.h"

struct ctl_state ctl = { "system", false, false, NULL, NULL };

/* --- the command table ---------------------------------------------------------------- */

/* What a positional argument is: for checking and for shell completion. */
enum arg_kind {
	ARG_TUNNEL,		/* a tunnel name (completion asks the daemon) */
	ARG_LINK,		/* an interface name (likewise) */
	ARG_HOOK_EVENT,		/* one of hook_events */
};

/* Options a command accepts after its name (global ones go anywhere). */
enum {
	OPT_WAIT = 1 << 0,	/* --wait */
	OPT_TIMEOUT = 1 << 1,	/* --timeout SECONDS */
};

struct command {
	const char *name;
	const char *synopsis;		/* arguments as shown in usage */
	const char *help;		/* N_(): one line */
	const char *denied;		/* N_(): "only root ... may <this>"; NULL: read-only */
	int min_args, max_args;
	enum arg_kind arg_kinds[2];
	unsigned options;
	double default_timeout_s;
	bool needs_bus;
	int (*run)(const struct cmd_line *line);
};

static const char *const hook_events[] = { "postup", "predown", NULL };

/* Adding a command is adding a line here (and its handler above): usage, argument
 * checks and completion all come from this table. */
static const struct command commands[] = {
	{ "status", "", N_("daemon state, tunnels and links"), NULL,
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_status },
	{ "tunnels", "", N_("configured tunnels in detail"), NULL,
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_tunnels },
	{ "links", "", N_("network interfaces as the daemon sees them"), NULL,
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_links },
	{ "up", N_("NAME [--wait] [--timeout S]"),
	  N_("start a tunnel (until the next network change)"), N_("start tunnels"),
	  1, 1, { ARG_TUNNEL }, OPT_WAIT | OPT_TIMEOUT, 30, true, ctl_cmd_up },
	{ "down", N_("NAME [--wait] [--timeout S]"),
	  N_("stop a tunnel (until the next network change)"), N_("stop tunnels"),
	  1, 1, { ARG_TUNNEL }, OPT_WAIT | OPT_TIMEOUT, 30, true, ctl_cmd_down },
	{ "explain", N_("[IFACE]"), N_("which rule decided, and why earlier ones did not"), NULL,
	  0, 1, { ARG_LINK }, 0, 0, true, ctl_cmd_explain },
	{ "killswitch", N_("[IFACE]"), N_("is the kill switch on, and why"), NULL,
	  0, 1, { ARG_LINK }, 0, 0, true, ctl_cmd_killswitch },
	{ "portal", N_("[IFACE]"), N_("open a captive portal's login window (the kill switch lets a browser through)"),
	  N_("open a portal login window"), 0, 1, { ARG_LINK }, 0, 0, true, ctl_cmd_portal },
	{ "pause", "", N_("suspend automation until the next network change"),
	  N_("pause the automation"), 0, 0, { 0 }, 0, 0, true, ctl_cmd_pause },
	{ "resume", "", N_("end a pause"), N_("resume the automation"),
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_resume },
	{ "reload", "", N_("re-read the configuration"), N_("reload the configuration"),
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_reload },
	{ "monitor", "", N_("print events as they happen (Ctrl-C ends)"), NULL,
	  0, 0, { 0 }, 0, 0, true, ctl_cmd_monitor },
	{ "hook", N_("postup|predown IFACE [--timeout S]"),
	  N_("for netifrc and other network managers (predown waits)"),
	  N_("send network hooks"),
	  2, 2, { ARG_HOOK_EVENT, ARG_LINK }, OPT_TIMEOUT, 10, true, ctl_cmd_hook },
};

static const struct command *command_lookup(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		if (g_str_equal(commands[i].name, name))
			return &commands[i];
	}
	return NULL;
}

const char *ctl_command_denied_action(const struct command *cmd)
{
	return cmd && cmd->denied ? _(cmd->denied) : _("do this");
}

/* Global options, valid before or after the command. */
static const struct {
	const char *name;
	const char *short_name;
	const char *value;	/* NULL: a flag */
	const char *help;
} global_options[] = {
	{ "--bus", NULL, N_("system|session|unix:ADDRESS"), N_("the bus roamvpnd is on (default system)") },
	{ "--json", NULL, NULL, N_("machine-readable output, one JSON document per line") },
	{ "--help", "-h", NULL, N_("show this help") },
	{ "--version", "-V", NULL, N_("show the version") },
};

static void usage(FILE *to)
{
	fprintf(to, "%s\n\n", _("Usage: roamvpnctl [OPTIONS] COMMAND [ARGUMENTS]"));
	fprintf(to, "%s\n", _("Commands:"));
	for (gsize i = 0; i < G_N_ELEMENTS(commands); i++) {
		const struct command *c = &commands[i];
		g_autofree char *left = g_strdup_printf("%s %s", c->name,
							*c->synopsis ? _(c->synopsis) : "");
		glong w = g_utf8_strlen(left, -1);

		fprintf(to, "  %s%*s  %s\n", left, (int)MAX(0, 40 - w), "", _(c->help));
	}
	fprintf(to, "\n%s\n", _("Options:"));
	for (gsize i = 0; i < G_N_ELEMENTS(global_options); i++) {
		g_autofree char *left = g_strdup_printf("%s%s%s%s%s",
			global_options[i].short_name ? global_options[i].short_name : "",
			global_options[i].short_name ? ", " : "", global_options[i].name,
			global_options[i].value ? " " : "",
			global_options[i].value ? _(global_options[i].value) : "");
		glong w = g_utf8_strlen(left, -1);

		fprintf(to, "  %s%*s  %s\n", left, (int)MAX(0, 40 - w), "",
			_(global_options[i].help));
	}
	fprintf(to, "\n%s\n", _("Exit status: 0 ok, 1 failure, 2 usage error, "
				"3 roamvpnd not running, 4 no D-Bus bus."));
}

/* A usage error: the message, then one usage: the command's if known, else all. */
static int usage_error(const struct command *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	g_autofree char *message = NULL;

	va_start(ap, fmt);
	message = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_printerr("roamvpnctl: %s\n", message);
	if (cmd) {
		g_printerr(_("Usage: roamvpnctl %s %s\n"), cmd->name,
			   *cmd->synopsis ? _(cmd->synopsis) : "");
		g_printerr("%s\n", _("Try 'roamvpnctl --help' for more information."));
	} else {
		usage(stderr);
	}
	return EXIT_USAGE;
}

/* --- parsing ---------------------------------------------------------------------------- */

/* A global option at argv[*i]: 1 if consumed (value included), 0 if not one,
 * negative an exit code. */
static int parse_global_option(int argc, char **argv, int *i, const struct command *cmd)
{
	const char *a = argv[*i];

	if (g_str_equal(a, "--json")) {
		ctl.json = true;
	} else if (g_str_equal(a, "--bus")) {
		if (*i + 1 >= argc)
			return -usage_error(cmd, _("--bus needs a value"));
		ctl.bus = argv[++*i];
	} else if (g_str_has_prefix(a, "--bus=")) {
		ctl.bus = a + strlen("--bus=");
	} else if (g_str_equal(a, "--help") || g_str_equal(a, "-h")) {
		usage(stdout);
		return -1000;	/* done, exit 0 */
	} else if (g_str_equal(a, "--version") || g_str_equal(a, "-V")) {
		printf("roamvpnctl %s\n", VERSION);
		return -1000;
	} else {
		return 0;
	}
	return 1;
}

static bool parse_timeout(const char *text, double *out)
{
	char *end = NULL;
	double v = g_ascii_strtod(text, &end);

	if (!end || end == text || *end || !(v >= 0) || v > 86400)
		return false;
	*out = v;
	return true;
}

static int check_argument(const struct command *cmd, int index, const char *arg)
{
	if (cmd->arg_kinds[index] == ARG_HOOK_EVENT &&
	    !g_strv_contains((const char *const *)hook_events, arg))
		return usage_error(cmd, _("Unknown hook event %s (postup or predown)"), arg);
	if (!*arg)
		return usage_error(cmd, _("Empty argument"));
	return EXIT_OK;
}

/* Parse the whole command line against the table before touching the bus.
 * Returns EXIT_OK with *line filled, or an exit code (-1 for "done, exit 0"). */
static int parse_command_line(int argc, char **argv, struct cmd_line *line)
{
	const struct command *cmd = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		r = parse_global_option(argc, argv, &i, cmd);
		if (r == -1000)
			return -1;
		if (r < 0)
			return -r;
		if (r > 0)
			continue;
		if (!cmd) {
			if (a[0] == '-')
				return usage_error(NULL, _("Unknown option %s"), a);
			cmd = command_lookup(a);
			if (!cmd)
				return usage_error(NULL, _("Unknown command %s"), a);
			line->cmd = cmd;
			line->timeout_s = cmd->default_timeout_s;
			continue;
		}
		if ((cmd->options & OPT_WAIT) && g_str_equal(a, "--wait")) {
			line->wait = true;
		} else if ((cmd->options & OPT_TIMEOUT) &&
			   (g_str_equal(a, "--timeout") || g_str_has_prefix(a, "--timeout="))) {
			const char *v = strchr(a, '=') ? strchr(a, '=') + 1
				      : i + 1 < argc ? argv[++i] : NULL;

			if (!v || !parse_timeout(v, &line->timeout_s))
				return usage_error(cmd, _("Bad timeout %s (seconds, 0 to 86400)"),
						   v ? v : "");
		} else if (a[0] == '-' && a[1]) {
			return usage_error(cmd, _("Unknown option %s for %s"), a, cmd->name);
		} else if (line->n_args >= cmd->max_args) {
			return usage_error(cmd, _("Too many arguments for %s"), cmd->name);
		} else {
			if ((r = check_argument(cmd, line->n_args, a)))
				return r;
			line->args[line->n_args++] = a;
		}
	}
	if (!cmd)
		return usage_error(NULL, _("No command given"));
	if (line->n_args < cmd->min_args)
		return usage_error(cmd, _("Missing arguments for %s"), cmd->name);
	if ((cmd->options & OPT_WAIT) && line->wait && !(line->timeout_s > 0))
		return usage_error(cmd, _("--wait needs a timeout above 0"));
	return EXIT_OK;
}

/* --- shell completion --------------------------------------------------------------------
 *
 * `roamvpnctl __complete bash|zsh WORD...`: WORD... are the words after
 * "roamvpnctl" up to and including the one being completed (possibly empty).
 * Prints one candidate per line that starts with that word; for zsh commands and
 * options come as "word:description". Tunnel and interface names come from the
 * running daemon (on the --bus given on the line); when it cannot be reached
 * there are simply none. The shell scripts stay thin: this table decides. */

static void complete_print(bool zsh, const char *prefix, const char *word, const char *help)
{
	if (!g_str_has_prefix(word, prefix))
		return;
	if (zsh && help) {
		g_autofree char *escaped = NULL;
		GString *w = g_string_new(NULL);

		/* _describe splits at the first unescaped colon. */
		for (const char *p = word; *p; p++) {
			if (*p == ':' || *p == '\\')
				g_string_append_c(w, '\\');
			g_string_append_c(w, *p);
		}
		escaped = g_string_free(w, FALSE);
		printf("%s:%s\n", escaped, _(help));
	} else {
		printf("%s\n", word);
	}
}

static void complete_objects(const char *iface, const char *prefix)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) objects = NULL;

	ctl.conn = rv_dbus_open(ctl.bus, &error);
	if (!ctl.conn)
		return;
	/* Quietly: completion never prints errors into the user's command line. */
	if (dup2(open("/dev/null", O_WRONLY | O_CLOEXEC), STDERR_FILENO) < 0)
		return;
	if (ctl_managed_objects(iface, &objects) != EXIT_OK)
		return;
	for (guint i = 0; i < objects->len; i++) {
		g_autofree char *name = ctl_cell_text(ctl_prop_str(objects->pdata[i], "Name"));

		if (!strpbrk(name, " \t\n"))
			complete_print(false, prefix, name, NULL);
	}
}

static int complete(int argc, char **argv)
{
	bool zsh;
	const struct command *cmd = NULL;
	const char *cur, *prev = NULL;
	int n_args = 0;

	if (argc < 2)
		return EXIT_USAGE;
	zsh = g_str_equal(argv[0], "zsh");
	cur = argv[argc - 1];
	/* Walk the finished words: the command, its arguments, option values. */
	for (int i = 1; i < argc - 1; i++) {
		const char *a = argv[i];

		if (g_str_equal(a, "--bus") && i + 1 < argc - 1) {
			ctl.bus = argv[++i];
		} else if (g_str_has_prefix(a, "--bus=")) {
			ctl.bus = a + strlen("--bus=");
		} else if (g_str_equal(a, "--timeout") && i + 1 < argc - 1) {
			i++;
		} else if (a[0] == '-') {
			continue;
		} else if (!cmd) {
			cmd = command_lookup(a);
		} else {
			n_args++;
		}
	}
	if (argc >= 3)
		prev = argv[argc - 2];
	if (prev && g_str_equal(prev, "--bus")) {
		complete_print(zsh, cur, "system", NULL);
		complete_print(zsh, cur, "session", NULL);
		complete_print(zsh, cur, "unix:path=", NULL);
		return EXIT_OK;
	}
	if (prev && g_str_equal(prev, "--timeout") && cmd && (cmd->options & OPT_TIMEOUT))
		return EXIT_OK;		/* a number: nothing to offer */
	if (cur[0] == '-') {
		for (gsize i = 0; i < G_N_ELEMENTS(global_options); i++)
			complete_print(zsh, cur, global_options[i].name, global_options[i].help);
		if (cmd && (cmd->options & OPT_WAIT))
			complete_print(zsh, cur, "--wait", N_("wait until the tunnel is there"));
		if (cmd && (cmd->options & OPT_TIMEOUT))
			complete_print(zsh, cur, "--timeout", N_("how long to wait, in seconds"));
		return EXIT_OK;
	}
	if (!cmd) {
		for (gsize i = 0; i < G_N_ELEMENTS(commands); i++)
			complete_print(zsh, cur, commands[i].name, commands[i].help);
		return EXIT_OK;
	}
	if (n_args >= cmd->max_args)
		return EXIT_OK;
	switch (cmd->arg_kinds[n_args]) {
	case ARG_HOOK_EVENT:
		for (gsize i = 0; hook_events[i]; i++)
			complete_print(zsh, cur, hook_events[i], NULL);
		break;
	case ARG_TUNNEL:
		complete_objects(RV_DBUS_TUNNEL_IFACE, cur);
		break;
	case ARG_LINK:
		complete_objects(RV_DBUS_LINK_IFACE, cur);
		break;
	}
	return EXIT_OK;
}

/* --- main ------------------------------------------------------------------------------ */

static int run(int argc, char **argv)
{
	struct cmd_line line = { 0 };
	int r;

	if (argc >= 2 && g_str_equal(argv[1], "__complete"))
		return complete(argc - 2, argv + 2);
	r = parse_command_line(argc, argv, &line);
	if (r < 0)
		return EXIT_OK;		/* --help, --version */
	if (r)
		return r;
	ctl.cmd = line.cmd;
	if (line.cmd->needs_bus && (r = ctl_connect_bus()))
		return r;
	return line.cmd->run(&line);
}

/* Colour for people at a terminal only; NO_COLOR (https://no-color.org) wins. */
static bool want_color(void)
{
	const char *no_color = g_getenv("NO_COLOR");
	const char *term = g_getenv("TERM");

	if (no_color && *no_color)
		return false;
	if (!term || g_str_equal(term, "dumb"))
		return false;
	return isatty(STDOUT_FILENO);
}

int main(int argc, char **argv)
{
	int r;

	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	ctl.color = want_color();

	r = run(argc, argv);
	if (ctl.conn)
		rv_dbus_close(ctl.conn);
	return r;
}

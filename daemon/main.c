/* main.c - roamvpnd: options, the main loop, signals, start-up and shutdown order. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbus-mainloop.h"
#include "dbus-service.h"
#include "events.h"
#include "log.h"
#include "manager.h"

static GMainLoop *loop;
static int ready_fd = -1;	/* write end to the waiting parent when daemonized */
static bool stopping;

static void shutdown_done(void *data)
{
	g_main_loop_quit(loop);
}

static gboolean on_terminate(gpointer data)
{
	if (stopping)
		return G_SOURCE_CONTINUE;
	stopping = true;
	g_message("stopping: taking every tunnel down and restoring DNS");
	rv_manager_shutdown(shutdown_done, NULL);
	return G_SOURCE_CONTINUE;
}

static gboolean on_hangup(gpointer data)
{
	g_autoptr(GError) error = NULL;

	g_message("SIGHUP: reloading configuration");
	if (rv_manager_reload(&error) < 0)
		g_warning("reload: %s", error->message);
	return G_SOURCE_CONTINUE;
}

/* One daemon per state directory: two would fight over resolv.conf. */
static int take_lock(const char *state_dir, GError **error)
{
	g_autofree char *path = g_build_filename(state_dir, "roamvpnd.lock", NULL);
	g_autofree char *pid = g_strdup_printf("%d\n", (int)getpid());
	int fd;

	/* 0700/0600 as the systemd unit makes them (RuntimeDirectoryMode, UMask):
	 * the saved resolv.conf and the hook socket live here. */
	if (g_mkdir_with_parents(state_dir, 0700) < 0) {
		int err = errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    _("cannot create state directory %s: %s"), state_dir, g_strerror(err));
		return -err;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err),
			    _("%s: %s (is another roamvpnd running?)"), path, g_strerror(err));
		if (fd >= 0)
			close(fd);
		return -err;
	}
	if (ftruncate(fd, 0) == 0 && write(fd, pid, strlen(pid)) < 0)
		g_debug("writing %s: %s", path, g_strerror(errno));
	return fd;	/* held until exit */
}

/* Fork before anything starts threads or sockets; the parent waits until the child
 * reports that it runs (exit 0) or why it could not (the message, exit 1). */
static void daemonize(void)
{
	int fds[2];
	pid_t pid;
	char buf[4096];
	ssize_t n, total = 0;

	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		fprintf(stderr, "roamvpnd: cannot daemonize: %s\n", g_strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(fds[1]);
		while ((n = read(fds[0], buf + total, sizeof(buf) - 1 - total)) > 0)
			total += n;
		buf[total] = '\0';
		if (total == 1 && buf[0] == '\n')
			exit(0);
		fprintf(stderr, "%s", total ? buf : "roamvpnd: exited during start-up\n");
		exit(1);
	}
	close(fds[0]);
	ready_fd = fds[1];
	setsid();
}

static void startup_failed(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static void startup_failed(const char *fmt, ...)
{
	va_list ap;
	g_autofree char *msg = NULL;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "roamvpnd: %s\n", msg);
	if (ready_fd >= 0) {
		g_autofree char *line = g_strdup_printf("roamvpnd: %s\n", msg);

		if (write(ready_fd, line, strlen(line)) < 0)
			_exit(1);
	}
}

static void startup_done(void)
{
	int devnull;

	if (ready_fd < 0)
		return;
	rv_log_use_syslog();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		close(devnull);
	}
	if (write(ready_fd, "\n", 1) < 0)
		g_debug("parent gone");
	close(ready_fd);
	ready_fd = -1;
}

static void apply_admin_group(void)
{
	const char *group = rv_manager_admin_group();

	rv_dbus_service_set_admin_group(group && *group ? group : NULL);
}

static void on_manager_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	if (kind == RV_EVENT_MANAGER_CHANGED)
		apply_admin_group();
}

/* The bus went away (dbus-daemon restarted): forget the dead connection. */
static void on_bus_lost(DBusConnection *conn, void *user_data)
{
	rv_dbus_service_exit();
	rv_manager_set_bus(NULL);
}

/* The bus is back: the same objects again, and the name. */
static void on_bus_connected(DBusConnection *conn, void *user_data)
{
	g_autoptr(GError) error = NULL;

	rv_manager_set_bus(conn);
	if (rv_dbus_service_init(conn, &error) < 0)
		g_warning("D-Bus service after reconnecting: %s", error->message);
	else
		g_message("D-Bus: %s owned and objects exported again", RV_DBUS_NAME);
}

/* Messages in the user's language (po/): --help, --check, start-up errors. */
static bool i18n_init(void)
{
	setlocale(LC_ALL, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	textdomain(GETTEXT_PACKAGE);
	return true;
}

int main(int argc, char **argv)
{
	struct rv_daemon_options opts = { 0 };
	g_autofree char *config_dir = NULL;
	g_autofree char *state_dir = NULL;
	g_autofree char *resolv_conf = NULL;
	g_autofree char *bus = NULL;
	gboolean foreground = FALSE, debug = FALSE, check = FALSE, version = FALSE;
	/* First, so that the option descriptions below come out translated. */
	G_GNUC_UNUSED bool i18n_ready = i18n_init();
	g_autofree char *config_help = g_strdup_printf(_("Configuration directory (default %s)"),
						       CONFIGDIR);
	g_autofree char *state_help = g_strdup_printf(_("Runtime state directory (default %s)"),
						      STATEDIR);
	g_autofree char *resolv_help = g_strdup_printf(_("resolv.conf to manage (default %s)"),
						       RESOLV_CONF);
	GOptionEntry entries[] = {
		{ "config-dir", 'c', 0, G_OPTION_ARG_FILENAME, &config_dir, config_help, N_("DIR") },
		{ "state-dir", 's', 0, G_OPTION_ARG_FILENAME, &state_dir, state_help, N_("DIR") },
		{ "resolv-conf", 'r', 0, G_OPTION_ARG_FILENAME, &resolv_conf, resolv_help, N_("PATH") },
		{ "bus", 'b', 0, G_OPTION_ARG_STRING, &bus,
		  N_("D-Bus to serve on: system, session or unix:ADDRESS (default system)"), N_("BUS") },
		{ "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, N_("Do not daemonize"), NULL },
		{ "debug", 'd', 0, G_OPTION_ARG_NONE, &debug, N_("Log debug messages"), NULL },
		{ "check", 0, 0, G_OPTION_ARG_NONE, &check,
		  N_("Validate all configuration, print every error as FILE:LINE: message"), NULL },
		{ "version", 'V', 0, G_OPTION_ARG_NONE, &version, N_("Print the version"), NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new(_("- roaming VPN policy daemon"));
	g_autoptr(GError) error = NULL;
	struct rv_dbus_keeper *keeper = NULL;
	DBusConnection *conn = NULL;
	int lock_fd;

	g_option_context_set_translation_domain(context, GETTEXT_PACKAGE);
	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		fprintf(stderr, "roamvpnd: %s\n", error->message);
		return 2;
	}
	if (version) {
		printf("roamvpnd %s\n", VERSION);
		return 0;
	}
	opts.config_dir = config_dir ? config_dir : (char *)CONFIGDIR;
	opts.state_dir = state_dir ? state_dir : (char *)STATEDIR;
	opts.resolv_conf = resolv_conf ? resolv_conf : (char *)RESOLV_CONF;
	opts.bus = bus ? bus : (char *)"system";
	opts.foreground = foreground;
	opts.debug = debug;
	opts.check = check;
	rv_log_init(debug);

	if (check) {
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		int ret;

		/* A mistyped --config-dir must not pass as "valid": nothing was read. */
		if (!g_file_test(opts.config_dir, G_FILE_TEST_IS_DIR)) {
			fprintf(stderr, _("%s: no such configuration directory\n"), opts.config_dir);
			return 1;
		}
		ret = rv_manager_check(&opts, errors);

		for (guint i = 0; i < errors->len; i++)
			fprintf(stderr, "%s\n", (char *)g_ptr_array_index(errors, i));
		if (ret < 0 && errors->len == 0)
			fprintf(stderr, _("%s: configuration is not valid\n"), opts.config_dir);
		if (ret == 0)
			printf(_("%s: configuration is valid\n"), opts.config_dir);
		return ret < 0 ? 1 : 0;
	}

	if (!foreground)
		daemonize();
	lock_fd = take_lock(opts.state_dir, &error);
	if (lock_fd < 0) {
		startup_failed("%s", error->message);
		return 1;
	}
	loop = g_main_loop_new(NULL, FALSE);
	/* The keeper reconnects when the bus restarts: objects and name come back. */
	keeper = rv_dbus_keeper_new(opts.bus, on_bus_connected, on_bus_lost, NULL, &error);
	conn = rv_dbus_keeper_conn(keeper);
	if (!conn) {
		startup_failed("D-Bus (%s): %s", opts.bus, error->message);
		return 1;
	}
	if (rv_manager_init(&opts, conn, &error) < 0) {
		startup_failed("%s", error->message);
		/* Whatever did start (DNS recovery, links) is undone on the way out. */
		rv_manager_exit();
		return 1;
	}
	apply_admin_group();
	/* A reload may change AdminGroup=: the D-Bus check follows at once. */
	rv_events_subscribe(on_manager_event, NULL);
	if (rv_dbus_service_init(conn, &error) < 0) {
		startup_failed("D-Bus service: %s", error->message);
		rv_manager_shutdown(shutdown_done, NULL);
		g_main_loop_run(loop);
		rv_manager_exit();
		return 1;
	}
	startup_done();
	g_unix_signal_add(SIGTERM, on_terminate, NULL);
	g_unix_signal_add(SIGINT, on_terminate, NULL);
	g_unix_signal_add(SIGHUP, on_hangup, NULL);
	g_message("roamvpnd %s running (config %s, state %s, bus %s)", VERSION,
		  opts.config_dir, opts.state_dir, opts.bus);

	g_main_loop_run(loop);

	rv_dbus_service_exit();
	rv_manager_exit();
	rv_dbus_keeper_free(keeper);	/* a private connection: ours to close */
	g_main_loop_unref(loop);
	close(lock_fd);
	g_message("stopped");
	return 0;
}

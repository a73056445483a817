/* test-hook-server.c - the hook socket accepts a report only from a child the daemon
 * started (or its descendants), judged at accept time through a pidfd of the
 * process that connected: a reporter that exited before accept is refused even
 * when its pid now belongs to a descendant of one of our children (issue 8 §10).
 * Runs tests/hook-peer; the pid-reuse case needs root (clone3 set_tid). */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hook-server.h"
#include "spawn.h"
#include "tmpdir.h"

#define WAIT_MS 10000

static char *state_dir;
static char *peer_path;
static GPtrArray *warnings;	/* char *, warnings logged by the code under test */
static int reports;

static GLogWriterOutput capture(GLogLevelFlags level, const GLogField *fields, gsize n_fields,
				gpointer data)
{
	if (level & G_LOG_LEVEL_WARNING) {
		for (gsize i = 0; i < n_fields; i++)
			if (g_str_equal(fields[i].key, "MESSAGE"))
				g_ptr_array_add(warnings, g_strdup(fields[i].value));
	}
	return g_log_writer_default(level, fields, n_fields, data);
}

static const char *find_warning(const char *needle)
{
	for (guint i = 0; i < warnings->len; i++)
		if (strstr(g_ptr_array_index(warnings, i), needle))
			return g_ptr_array_index(warnings, i);
	return NULL;
}

static int on_report(struct rv_child *child, char **argv, GHashTable *env, void *data,
		     GError **error)
{
	reports++;
	return 0;
}

struct exit_state {
	bool exited;
	int status;
};

static void on_exit_cb(struct rv_child *child, int status, void *data)
{
	struct exit_state *st = data;

	st->exited = true;
	st->status = status;
}

static gboolean on_deadline(gpointer data)
{
	*(bool *)data = true;
	return G_SOURCE_REMOVE;
}

/* Run the loop until *flag or a deadline; false on the deadline. */
static bool iterate_until(const bool *flag)
{
	bool late = false;
	guint id = g_timeout_add(WAIT_MS, on_deadline, &late);

	while (!*flag && !late)
		g_main_context_iteration(NULL, TRUE);
	if (!late)
		g_source_remove(id);
	return *flag;
}

static struct rv_child *spawn_peer(const char *const *args, struct exit_state *st)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	g_auto(GStrv) env = rv_child_base_env(NULL);
	g_autoptr(GError) error = NULL;
	struct rv_child *child;

	g_ptr_array_add(argv, peer_path);
	for (int i = 0; args[i]; i++)
		g_ptr_array_add(argv, (char *)args[i]);
	g_ptr_array_add(argv, NULL);
	child = rv_child_spawn("hook-peer", (char **)argv->pdata, env, on_exit_cb, st, &error);
	g_assert_no_error(error);
	rv_child_set_report_handler(child, on_report, NULL);
	return child;
}

static void test_child_report_accepted(void)
{
	struct exit_state st = { 0 };
	const char *args[] = { "report", rv_hook_server_path(), NULL };

	reports = 0;
	spawn_peer(args, &st);
	g_assert_true(iterate_until(&st.exited));
	g_assert_true(WIFEXITED(st.status));
	g_assert_cmpint(WEXITSTATUS(st.status), ==, 0);	/* it read "OK" */
	g_assert_cmpint(reports, ==, 1);
}

static void test_stranger_refused(void)
{
	pid_t pid;
	int status;
	bool refused = false;

	reports = 0;
	g_ptr_array_set_size(warnings, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		execl(peer_path, peer_path, "report", rv_hook_server_path(), (char *)NULL);
		_exit(127);
	}
	/* Not our child: refused, and it hears why. Drive the loop until it is done. */
	while (!refused) {
		g_main_context_iteration(NULL, FALSE);
		if (waitpid(pid, &status, WNOHANG) == pid)
			refused = true;
		else
			g_usleep(1000);
	}
	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 1);
	g_assert_cmpint(reports, ==, 0);
	g_assert_nonnull(find_warning("refused"));
}

static void test_exited_reporter_pid_reused(void)
{
	static const char report[] = "ROAMVPN-HOOK 1\0Aconnect\0";
	g_autofree char *ready = g_build_filename(state_dir, "ready", NULL);
	g_autofree char *pid_text = NULL;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct exit_state st = { 0 };
	struct rv_child *holder;
	const char *refusal;
	bool have_ready = false;
	pid_t attacker;
	int status;

	if (geteuid() != 0) {
		g_test_skip("needs root (clone3 with set_tid)");
		return;
	}
	reports = 0;
	g_ptr_array_set_size(warnings, 0);
	g_strlcpy(addr.sun_path, rv_hook_server_path(), sizeof(addr.sun_path));

	/* An unrelated process connects, sends a report and exits. The daemon has not
	 * accepted yet (the main loop does not run): the connection waits in the backlog. */
	attacker = fork();
	g_assert_cmpint(attacker, >=, 0);
	if (attacker == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
		    write(fd, report, sizeof(report) - 1) != (ssize_t)sizeof(report) - 1)
			_exit(2);
		shutdown(fd, SHUT_WR);
		_exit(0);
	}
	g_assert_cmpint(waitpid(attacker, &status, 0), ==, attacker);
	g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Its pid now goes to a process under a child we started. */
	pid_text = g_strdup_printf("%d", (int)attacker);
	holder = spawn_peer((const char *[]){ "hold", pid_text, ready, NULL }, &st);
	for (int i = 0; i < WAIT_MS && !have_ready; i++) {
		have_ready = g_file_test(ready, G_FILE_TEST_EXISTS);
		if (!have_ready)
			g_usleep(1000);
	}
	if (!have_ready) {
		rv_child_terminate(holder, 0);
		g_assert_true(iterate_until(&st.exited));
		g_test_skip("could not give the attacker's pid to a new process (taken, or no clone3 set_tid)");
		return;
	}

	/* Now the daemon accepts: by pid alone the report would pass the ancestry walk. */
	{
		bool late = false;
		guint id = g_timeout_add(WAIT_MS, on_deadline, &late);

		while (!late && !find_warning("refused") && reports == 0)
			g_main_context_iteration(NULL, TRUE);
		if (!late)
			g_source_remove(id);
	}
	refusal = find_warning("refused");
	g_assert_nonnull(refusal);
	g_assert_nonnull(strstr(refusal, "the reporter exited before its report was checked"));
	g_assert_cmpint(reports, ==, 0);

	rv_child_terminate(holder, 0);
	g_assert_true(iterate_until(&st.exited));
	g_assert_cmpint(g_unlink(ready), ==, 0);
}

int main(int argc, char **argv)
{
	const char *build = g_getenv("ROAMVPN_BUILD_ROOT");
	g_autoptr(GError) error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	/* The server warns about refused reports on purpose; criticals stay fatal. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
	warnings = g_ptr_array_new_with_free_func(g_free);
	g_log_set_writer_func(capture, NULL, NULL);
	peer_path = g_build_filename(build ? build : ".", "tests", "hook-peer", NULL);
	state_dir = g_dir_make_tmp("roamvpn-hook-XXXXXX", &error);
	g_assert_no_error(error);
	g_assert_cmpint(rv_hook_server_init(state_dir, &error), ==, 0);
	g_assert_no_error(error);

	g_test_add_func("/hook-server/child-report-accepted", test_child_report_accepted);
	g_test_add_func("/hook-server/stranger-refused", test_stranger_refused);
	g_test_add_func("/hook-server/exited-reporter-pid-reused", test_exited_reporter_pid_reused);
	ret = g_test_run();

	rv_hook_server_exit();
	ret = rv_test_remove_tmpdir(state_dir, ret);
	g_free(state_dir);
	g_free(peer_path);
	g_ptr_array_unref(warnings);
	return ret;
}

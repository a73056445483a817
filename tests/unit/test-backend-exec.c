/* test-backend-exec.c - the exec backend's processes, run for real under the real
 * supervisor (issue 8 §4, §7): a hanging Stop= is bounded and the tunnel gets down;
 * a grandchild that ignores SIGTERM dies with its tunnel; a Type=oneshot Start=
 * may leave a process behind, which lives while the tunnel is up and is ended when
 * it stops. No privileges needed: the commands are shell scripts in a temp dir. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "backend.h"
#include "error.h"
#include "supervisor.h"
#include "tmpdir.h"

/* Grace periods of the exec backend and spawn.c (5 s each, 2 s after an overrun
 * Stop=), with room for a loaded machine: the bounds the tests wait for. */
#define BOUND_MS 20000

static char *tmpdir;

static int net_up(struct rv_tunnel *t, GError **error)
{
	return 0;
}

static void net_down(struct rv_tunnel *t)
{
}

static char *path_of(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

static void write_script(const char *name, const char *body)
{
	g_autofree char *path = path_of(name);
	g_autofree char *text = g_strdup_printf("#!/bin/sh\n%s\n", body);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
	g_assert_cmpint(chmod(path, 0755), ==, 0);
}

/* The pid a script wrote to NAME, once it is there. */
static pid_t read_pid(const char *name)
{
	g_autofree char *path = path_of(name);
	g_autofree char *text = NULL;
	gint64 deadline = g_get_monotonic_time() + BOUND_MS * 1000;

	while (g_get_monotonic_time() < deadline) {
		if (g_file_get_contents(path, &text, NULL, NULL) && strchr(text, '\n'))
			return (pid_t)g_ascii_strtoll(text, NULL, 10);
		g_clear_pointer(&text, g_free);
		g_main_context_iteration(NULL, FALSE);
		g_usleep(10000);
	}
	g_error("%s never appeared", name);
}

/* Alive and not a zombie waiting for init. */
static bool alive(pid_t pid)
{
	g_autofree char *stat = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *text = NULL;
	const char *paren;

	if (kill(pid, 0) < 0 || !g_file_get_contents(stat, &text, NULL, NULL))
		return false;
	paren = strrchr(text, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static struct rv_tunnel *tunnel;
static pid_t watched;

static bool tunnel_up(void) { return tunnel->state == RV_TUNNEL_UP; }
static bool tunnel_down(void) { return tunnel->state == RV_TUNNEL_DOWN; }
static bool watched_gone(void) { return !alive(watched); }

static bool spin_until(bool (*cond)(void), guint timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;

	while (!cond() && g_get_monotonic_time() < deadline)
		if (!g_main_context_iteration(NULL, FALSE))
			g_usleep(5000);
	return cond();
}

/* A tunnel "t" from the [exec] lines given, wanted up. */
static void start_tunnel(const char *exec_lines)
{
	struct rv_supervisor_params p = { 500, 1000 };
	struct rv_supervisor_hooks h = { net_up, net_down, NULL };
	g_autofree char *conf = path_of("t.conf");
	g_autofree char *text = g_strdup_printf("[Tunnel]\nBackend=exec\n[exec]\n%s\n", exec_lines);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) wanted = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GError) error = NULL;
	struct rv_tunnel_config *cfg;

	g_file_set_contents(conf, text, -1, &error);
	g_assert_no_error(error);
	cfg = rv_tunnel_config_load(conf, errors);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("%s", (char *)g_ptr_array_index(errors, i));
	g_assert_nonnull(cfg);
	g_assert_cmpint(g_remove(conf), ==, 0);
	rv_supervisor_init(&p, &h);
	tunnel = rv_supervisor_add(cfg);
	g_hash_table_insert(wanted, (gpointer) "t", (gpointer) "test");
	rv_supervisor_want(wanted);
	g_assert_true(spin_until(tunnel_up, BOUND_MS));
}

static void stop_tunnel(void)
{
	g_autoptr(GHashTable) none = g_hash_table_new(g_str_hash, g_str_equal);

	rv_supervisor_want(none);
}

static void clean(const char *const *names)
{
	for (; *names; names++) {
		g_autofree char *path = path_of(*names);

		g_remove(path);
	}
	rv_supervisor_exit();
}

/* §4: Stop=/bin/sleep 1000 left the tunnel "stopping" for good. */
static void test_hanging_stop(void)
{
	g_autofree char *start = path_of("start.sh");
	g_autofree char *stop = path_of("stop.sh");
	g_autofree char *lines = NULL;
	pid_t stopper;

	write_script("start.sh", "exec sleep 1000");
	write_script("stop.sh", "echo $$ >\"$(dirname \"$0\")/stop.pid\"; exec sleep 1000");
	lines = g_strdup_printf("Start=%s\nStop=%s", start, stop);
	start_tunnel(lines);
	stop_tunnel();
	stopper = read_pid("stop.pid");
	g_assert_cmpint(tunnel->state, ==, RV_TUNNEL_STOPPING);
	g_assert_true(spin_until(tunnel_down, BOUND_MS));
	watched = stopper;
	g_assert_true(spin_until(watched_gone, BOUND_MS));
	clean((const char *const[]){ "start.sh", "stop.sh", "stop.pid", NULL });
}

/* §7: a grandchild of Start= that ignores SIGTERM outlived the tunnel. */
static void test_grandchild_ignoring_sigterm(void)
{
	g_autofree char *start = path_of("start.sh");
	g_autofree char *lines = NULL;
	pid_t grandchild;

	write_script("start.sh",
		     "d=$(dirname \"$0\")\n"
		     "sh -c 'trap \"\" TERM; echo $$ >\"$1\"; exec sleep 1000' sh \"$d/gc.pid\" &\n"
		     "wait");
	lines = g_strdup_printf("Start=%s", start);
	start_tunnel(lines);
	grandchild = read_pid("gc.pid");
	g_assert_true(alive(grandchild));
	stop_tunnel();
	g_assert_true(spin_until(tunnel_down, BOUND_MS));
	watched = grandchild;
	g_assert_true(spin_until(watched_gone, BOUND_MS));
	clean((const char *const[]){ "start.sh", "gc.pid", NULL });
}

/* §7: a Type=oneshot Start= that backgrounds the tunnel's process saw it SIGTERMed. */
static void test_oneshot_background(void)
{
	g_autofree char *start = path_of("start.sh");
	g_autofree char *lines = NULL;
	pid_t daemon_pid;

	write_script("start.sh",
		     "sleep 1000 </dev/null >/dev/null 2>&1 &\n"
		     "echo $! >\"$(dirname \"$0\")/bg.pid\"");
	lines = g_strdup_printf("Type=oneshot\nStart=%s", start);
	start_tunnel(lines);
	daemon_pid = read_pid("bg.pid");
	/* Up, and the process Start= left is the tunnel: still running a while later. */
	{
		gint64 until = g_get_monotonic_time() + 300 * 1000;

		while (g_get_monotonic_time() < until)
			if (!g_main_context_iteration(NULL, FALSE))
				g_usleep(5000);
	}
	g_assert_true(tunnel_up());
	g_assert_true(alive(daemon_pid));
	stop_tunnel();
	g_assert_true(spin_until(tunnel_down, BOUND_MS));
	watched = daemon_pid;
	g_assert_true(spin_until(watched_gone, BOUND_MS));
	clean((const char *const[]){ "start.sh", "bg.pid", NULL });
}

static struct rv_tunnel_config *load(const char *text)
{
	g_autofree char *conf = path_of("t.conf");
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GError) error = NULL;
	struct rv_tunnel_config *cfg;

	g_file_set_contents(conf, text, -1, &error);
	g_assert_no_error(error);
	cfg = rv_tunnel_config_load(conf, errors);
	g_assert_nonnull(cfg);
	g_assert_cmpint(g_remove(conf), ==, 0);
	return cfg;
}

/* A reload restarts an exec tunnel only when its parsed [exec] changed: the same
 * argv written with other quotes is the same command. */
static void test_config_equal(void)
{
	g_autoptr(rv_tunnel_config) a = load("[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/vpn 'a b' c\n");
	g_autoptr(rv_tunnel_config) b = load("[Tunnel]\nBackend=exec\n\n[exec]\nType=simple\n"
					     "Start=/bin/vpn \"a b\"   c\n");
	g_autoptr(rv_tunnel_config) c = load("[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/vpn a b c\n");
	g_autoptr(rv_tunnel_config) d = load("[Tunnel]\nBackend=exec\n[exec]\nStart=/bin/vpn 'a b' c\n"
					     "Type=oneshot\n");

	g_assert_true(rv_tunnel_config_equal(a, b));
	g_assert_false(rv_tunnel_config_equal(a, c));
	g_assert_false(rv_tunnel_config_equal(a, d));
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	/* Stop= overruns and killed groups are logged as warnings on purpose. */
	g_log_set_always_fatal(G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL);
	rv_backend_register(&rv_backend_exec);
	tmpdir = g_dir_make_tmp("roamvpn-exec-XXXXXX", &error);
	g_assert_no_error(error);
	g_assert_cmpint(chmod(tmpdir, 0755), ==, 0);

	g_test_add_func("/backend-exec/config-equal", test_config_equal);
	g_test_add_func("/backend-exec/hanging-stop", test_hanging_stop);
	g_test_add_func("/backend-exec/grandchild-ignoring-sigterm", test_grandchild_ignoring_sigterm);
	g_test_add_func("/backend-exec/oneshot-background", test_oneshot_background);
	ret = g_test_run();

	ret = rv_test_remove_tmpdir(tmpdir, ret);
	g_free(tmpdir);
	return ret;
}

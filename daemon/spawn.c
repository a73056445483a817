/* spawn.c - the daemon's child processes (see spawn.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "ssid.h"

struct rv_child {
	char *name;
	GPid pid;
	guint watch;
	guint kill_timer;
	GIOChannel *out;
	GIOChannel *err;
	guint out_watch;
	guint err_watch;
	rv_child_exit_fn on_exit;
	void *user_data;
	rv_child_report_fn on_report;
	void *report_data;
	rv_child_output_fn on_output;
	void *output_data;
	guint grace_ms;			/* of rv_child_terminate(), for what the leader leaves */
	bool keep_group;		/* rv_child_keep_group() */
};

/* Process groups whose leader is gone but which may still hold processes (a
 * grandchild that ignores SIGTERM): pgid -> their SIGKILL timer. */
static GHashTable *doomed_groups;

static GHashTable *children;	/* GINT_TO_POINTER(pid) -> struct rv_child * */

char *rv_wait_status_describe(int status)
{
	if (WIFEXITED(status))
		return g_strdup_printf("exited with status %d", WEXITSTATUS(status));
	if (WIFSIGNALED(status))
		return g_strdup_printf("killed by signal %d (%s)", WTERMSIG(status),
				       g_strsignal(WTERMSIG(status)));
	return g_strdup_printf("ended with wait status 0x%x", status);
}

char **rv_child_base_env(char **extra)
{
	GPtrArray *env = g_ptr_array_new();

	g_ptr_array_add(env, g_strdup("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	g_ptr_array_add(env, g_strdup("LANG=C.UTF-8"));
	for (char **e = extra; e && *e; e++)
		g_ptr_array_add(env, g_strdup(*e));
	g_ptr_array_add(env, NULL);
	return (char **)g_ptr_array_free(env, FALSE);
}

static void child_setup(gpointer data)
{
	/* Runs between fork and exec: async-signal-safe calls only. */
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean on_output(GIOChannel *channel, GIOCondition cond, gpointer data)
{
	struct rv_child *child = data;
	g_autofree char *line = NULL;
	gsize len = 0;
	GIOStatus status;

	status = g_io_channel_read_line(channel, &line, &len, NULL, NULL);
	if (status == G_IO_STATUS_NORMAL && line) {
		g_autofree char *text = NULL;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		if (child->on_output)
			child->on_output(child, line, len, child->output_data);
		/* Same escaping as SSIDs: no terminal escapes or NULs into our log. */
		text = rv_ssid_escape((const uint8_t *)line, len);
		g_message("%s: %s", child->name, text);
		return G_SOURCE_CONTINUE;
	}
	if (status == G_IO_STATUS_AGAIN)
		return G_SOURCE_CONTINUE;
	/* Remove the source here, not only by returning REMOVE: drain() calls us
	 * outside the source's dispatch, and a source left behind with its id
	 * forgotten would fire on the freed child after child_free(). */
	if (channel == child->out)
		g_clear_handle_id(&child->out_watch, g_source_remove);
	else
		g_clear_handle_id(&child->err_watch, g_source_remove);
	return G_SOURCE_REMOVE;
}

static void drain(GIOChannel *channel, struct rv_child *child)
{
	/* Log what is left before the exit is reported, in order. */
	while (on_output(channel, G_IO_IN, child) == G_SOURCE_CONTINUE) {
		GIOCondition c = g_io_channel_get_buffer_condition(channel);

		if (!(c & G_IO_IN)) {
			/* Nothing buffered; a read would block only if the writer lives. */
			break;
		}
	}
}

static void child_free(struct rv_child *child)
{
	g_hash_table_remove(children, GINT_TO_POINTER(child->pid));
	g_clear_handle_id(&child->kill_timer, g_source_remove);
	g_clear_handle_id(&child->out_watch, g_source_remove);
	g_clear_handle_id(&child->err_watch, g_source_remove);
	g_clear_pointer(&child->out, g_io_channel_unref);
	g_clear_pointer(&child->err, g_io_channel_unref);
	g_spawn_close_pid(child->pid);
	g_free(child->name);
	g_free(child);
}

static void child_exited(GPid pid, gint status, gpointer data)
{
	struct rv_child *child = data;

	child->watch = 0;
	/* drain() calls on_output() directly: its G_SOURCE_REMOVE on EOF would not
	 * remove the watches, which then fired after child_free (use after free,
	 * seen under ASan). Remove them first. */
	g_clear_handle_id(&child->out_watch, g_source_remove);
	g_clear_handle_id(&child->err_watch, g_source_remove);
	if (child->out)
		drain(child->out, child);
	if (child->err)
		drain(child->err, child);
	/* The group may still hold grandchildren: SIGTERM, then SIGKILL for any left. */
	if (!child->keep_group)
		rv_process_group_terminate(child->pid, child->grace_ms ? child->grace_ms
									: RV_CHILD_GRACE_MS);
	if (child->on_exit)
		child->on_exit(child, status, child->user_data);
	child_free(child);
}

static GIOChannel *watch_fd(int fd, struct rv_child *child, guint *watch)
{
	GIOChannel *ch = g_io_channel_unix_new(fd);

	g_io_channel_set_close_on_unref(ch, TRUE);
	g_io_channel_set_encoding(ch, NULL, NULL);
	g_io_channel_set_flags(ch, G_IO_FLAG_NONBLOCK, NULL);
	*watch = g_io_add_watch(ch, G_IO_IN | G_IO_HUP | G_IO_ERR, on_output, child);
	return ch;
}

static struct rv_child *spawn(const char *name, char **argv, char **envp, int stdin_fd,
			      rv_child_exit_fn on_exit_fn, void *user_data, GError **error)
{
	struct rv_child *child = g_new0(struct rv_child, 1);
	int out_fd = -1, err_fd = -1;
	GSpawnFlags flags = G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_SEARCH_PATH_FROM_ENVP;

	if (stdin_fd < 0)
		flags |= G_SPAWN_STDIN_FROM_DEV_NULL;
	if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv,
					      (const char *const *)envp, flags, child_setup, NULL,
					      stdin_fd, -1, -1, NULL, NULL, 0, &child->pid, NULL,
					      &out_fd, &err_fd, error)) {
		g_free(child);
		return NULL;
	}
	child->name = g_strdup(name);
	child->on_exit = on_exit_fn;
	child->user_data = user_data;
	child->out = watch_fd(out_fd, child, &child->out_watch);
	child->err = watch_fd(err_fd, child, &child->err_watch);
	child->watch = g_child_watch_add(child->pid, child_exited, child);
	if (!children)
		children = g_hash_table_new(g_direct_hash, g_direct_equal);
	g_hash_table_insert(children, GINT_TO_POINTER(child->pid), child);
	g_debug("%s: started pid %d", name, (int)child->pid);
	return child;
}

struct rv_child *rv_child_spawn(const char *name, char **argv, char **envp,
				rv_child_exit_fn on_exit_fn, void *user_data, GError **error)
{
	return spawn(name, argv, envp, -1, on_exit_fn, user_data, error);
}

struct rv_child *rv_child_spawn_with_stdin(const char *name, char **argv, char **envp,
					   const void *secret, gsize len,
					   rv_child_exit_fn on_exit_fn, void *user_data, GError **error)
{
	struct rv_child *child;
	int pipefd[2];
	gsize done = 0;

	/* Written in full before the child exists, so a pipe buffer (64 KiB) bounds it
	 * and we never block on a child that does not read. */
	if (len > 65536) {
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "%s: secret input too long", name);
		return NULL;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		int err = errno;

		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "pipe: %s", g_strerror(err));
		return NULL;
	}
	while (done < len) {
		ssize_t n = write(pipefd[1], (const char *)secret + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = errno;

			close(pipefd[0]);
			close(pipefd[1]);
			g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "pipe: %s", g_strerror(err));
			return NULL;
		}
		done += (gsize)n;
	}
	close(pipefd[1]);
	child = spawn(name, argv, envp, pipefd[0], on_exit_fn, user_data, error);
	close(pipefd[0]);
	return child;
}

void rv_child_set_output_handler(struct rv_child *child, rv_child_output_fn fn, void *user_data)
{
	child->on_output = fn;
	child->output_data = user_data;
}

static gboolean kill_cb(gpointer data)
{
	struct rv_child *child = data;

	child->kill_timer = 0;
	g_warning("%s: did not exit after SIGTERM, sending SIGKILL", child->name);
	kill(-child->pid, SIGKILL);
	kill(child->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

static gboolean group_kill_cb(gpointer key)
{
	pid_t pgid = GPOINTER_TO_INT(key);

	g_hash_table_remove(doomed_groups, key);
	if (kill(-pgid, SIGKILL) == 0)
		g_warning("process group %d: still there after SIGTERM, killed", (int)pgid);
	return G_SOURCE_REMOVE;
}

/* On the way out of the daemon, nothing it started may stay behind. */
static void kill_doomed_groups(void)
{
	GHashTableIter iter;
	gpointer key;

	if (!doomed_groups)
		return;
	g_hash_table_iter_init(&iter, doomed_groups);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		kill(-GPOINTER_TO_INT(key), SIGKILL);
}

void rv_process_group_terminate(pid_t pgid, guint grace_ms)
{
	gpointer key = GINT_TO_POINTER(pgid);

	if (pgid <= 1 || kill(-pgid, SIGTERM) < 0)
		return;		/* ESRCH: nobody left */
	if (!doomed_groups) {
		doomed_groups = g_hash_table_new(g_direct_hash, g_direct_equal);
		atexit(kill_doomed_groups);
	}
	if (g_hash_table_contains(doomed_groups, key))
		return;
	g_hash_table_insert(doomed_groups, key,
			    GUINT_TO_POINTER(g_timeout_add(grace_ms, group_kill_cb, key)));
}

void rv_child_keep_group(struct rv_child *child)
{
	child->keep_group = true;
}

void rv_child_terminate(struct rv_child *child, guint grace_ms)
{
	child->grace_ms = grace_ms;
	if (kill(-child->pid, SIGTERM) < 0)
		kill(child->pid, SIGTERM);
	if (!child->kill_timer)
		child->kill_timer = g_timeout_add(grace_ms, kill_cb, child);
}

pid_t rv_child_pid(const struct rv_child *child)
{
	return child->pid;
}

void rv_child_set_report_handler(struct rv_child *child, rv_child_report_fn fn, void *user_data)
{
	child->on_report = fn;
	child->report_data = user_data;
}

static pid_t parent_of(pid_t pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	g_autofree char *text = NULL;
	const char *close_paren;
	int ppid;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	/* "pid (comm) state ppid ...": comm may hold spaces and parentheses. */
	close_paren = strrchr(text, ')');
	if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1)
		return 0;
	return ppid;
}

struct rv_child *rv_child_find_ancestor(pid_t pid)
{
	/* Bounded: process trees of vpnc/pppd scripts are a few levels deep. */
	for (int depth = 0; pid > 1 && depth < 16; depth++) {
		struct rv_child *c = children ? g_hash_table_lookup(children, GINT_TO_POINTER(pid)) : NULL;

		if (c)
			return c;
		pid = parent_of(pid);
	}
	return NULL;
}

int rv_child_report(struct rv_child *child, char **argv, GHashTable *env, GError **error)
{
	if (!child->on_report) {
		g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED,
			    "%s does not take reports", child->name);
		return -ENOTSUP;
	}
	return child->on_report(child, argv, env, child->report_data, error);
}

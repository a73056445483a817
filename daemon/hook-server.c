/* hook-server.c - the socket roamvpn-hook reports to (see hook-server.h). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "error.h"
#include "hook-report.h"
#include "hook-server.h"
#include "spawn.h"

#define REPORT_TIMEOUT_MS 5000

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77		/* Linux 6.5; older libc headers lack it */
#endif

struct connection {
	int fd;
	pid_t peer;
	pid_t child_pid;	/* the child it descends from, 0: none */
	const char *refusal;	/* why not, when child_pid is 0 */
	GByteArray *data;
	guint watch;
	guint timeout;
};

static int listen_fd = -1;
static guint listen_watch;
static char *socket_path;

static void connection_free(struct connection *c)
{
	g_clear_handle_id(&c->watch, g_source_remove);
	g_clear_handle_id(&c->timeout, g_source_remove);
	g_byte_array_unref(c->data);
	close(c->fd);
	g_free(c);
}

static void reply(struct connection *c, const char *text)
{
	size_t len = strlen(text);

	/* Best effort: the reporter may already be gone. */
	if (send(c->fd, text, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		g_debug("hook: reply to pid %d lost", (int)c->peer);
}

static void handle_report(struct connection *c)
{
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) env = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autoptr(GError) error = NULL;
	struct rv_child *child = c->child_pid ? rv_child_find_ancestor(c->child_pid) : NULL;

	if (!child) {
		g_autofree char *msg = g_strdup_printf("ERROR %s\n",
						       c->refusal ? c->refusal : "its child has exited");

		g_warning("hook: report from pid %d refused: %s", (int)c->peer,
			  c->refusal ? c->refusal : "its child has exited");
		reply(c, msg);
		return;
	}
	if (!rv_hook_wire_parse(c->data->data, c->data->len, argv, env)) {
		g_warning("hook: malformed report from pid %d", (int)c->peer);
		reply(c, "ERROR malformed report\n");
		return;
	}
	g_ptr_array_add(argv, NULL);
	if (rv_child_report(child, (char **)argv->pdata, env, &error) < 0) {
		g_autofree char *msg = g_strdup_printf("ERROR %s\n", error->message);

		g_warning("hook: report from pid %d: %s", (int)c->peer, error->message);
		reply(c, msg);
		return;
	}
	reply(c, "OK\n");
}

static gboolean on_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct connection *c = data;
	guint8 buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n > 0) {
		if (c->data->len + n > RV_HOOK_MAX_REPORT) {
			g_warning("hook: report from pid %d too large", (int)c->peer);
			reply(c, "ERROR report too large\n");
			c->watch = 0;
			connection_free(c);
			return G_SOURCE_REMOVE;
		}
		g_byte_array_append(c->data, buf, n);
		return G_SOURCE_CONTINUE;
	}
	/* EOF (or an error): the whole report is here. */
	c->watch = 0;
	if (n == 0)
		handle_report(c);
	connection_free(c);
	return G_SOURCE_REMOVE;
}

static gboolean on_timeout(gpointer data)
{
	struct connection *c = data;

	c->timeout = 0;
	g_warning("hook: report from pid %d not finished in time", (int)c->peer);
	connection_free(c);
	return G_SOURCE_REMOVE;
}

/* A pidfd for the process that connected. SO_PEERPIDFD (Linux 6.5) names the very
 * process that called connect(), even if the accept came seconds later; fails with
 * ESRCH when it is gone. Older kernels: pin whatever holds the pid now; the caller
 * then checks it is still alive after looking at it. */
static int peer_pidfd(int cfd, pid_t pid, bool *exact)
{
	int pidfd = -1;
	socklen_t len = sizeof(pidfd);

	*exact = true;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	if (errno != ENOPROTOOPT && errno != EINVAL)
		return -errno;
	*exact = false;
	pidfd = pidfd_open(pid, 0);
	return pidfd < 0 ? -errno : pidfd;
}

static bool pidfd_alive(int pidfd)
{
	return pidfd_send_signal(pidfd, 0, NULL, 0) == 0;
}

/* The child the connecting process descends from, or NULL (with *why). */
static struct rv_child *peer_child(int cfd, pid_t pid, const char **why)
{
	struct rv_child *child;
	bool exact;
	int pidfd = peer_pidfd(cfd, pid, &exact);

	if (pidfd < 0 || !pidfd_alive(pidfd)) {
		/* Its pid may already belong to someone else: never walk it. */
		*why = "the reporter exited before its report was checked";
		if (pidfd >= 0)
			close(pidfd);
		return NULL;
	}
	child = rv_child_find_ancestor(pid);
	/* Alive after the walk means alive during it: the /proc entries read were its
	 * own and its pid was not reused in between. */
	if (child && !pidfd_alive(pidfd)) {
		*why = "the reporter exited while its report was checked";
		child = NULL;
	} else if (!child) {
		*why = "not a process started by roamvpnd";
	}
	if (!exact)
		g_debug("hook: no SO_PEERPIDFD; pid %d checked through pidfd_open", (int)pid);
	close(pidfd);
	return child;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct connection *c;
	struct rv_child *child;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (cfd < 0)
		return G_SOURCE_CONTINUE;
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		close(cfd);
		return G_SOURCE_CONTINUE;
	}
	c = g_new0(struct connection, 1);
	c->fd = cfd;
	c->peer = cred.pid;
	/* Decide who it is now, through a pidfd of the process that connected, not by
	 * a pid that may have been reused since connect() (accept can come late). */
	child = peer_child(cfd, cred.pid, &c->refusal);
	c->child_pid = child ? rv_child_pid(child) : 0;
	c->data = g_byte_array_new();
	c->watch = g_unix_fd_add(cfd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_readable, c);
	c->timeout = g_timeout_add(REPORT_TIMEOUT_MS, on_timeout, c);
	return G_SOURCE_CONTINUE;
}

int rv_hook_server_init(const char *state_dir, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	g_autofree char *path = g_build_filename(state_dir, RV_HOOK_SOCKET_NAME, NULL);
	mode_t old_umask;
	int err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (listen_fd < 0)
		goto fail;
	unlink(path);	/* a stale socket of a crashed predecessor; we hold the lock */
	old_umask = umask(0077);
	err = bind(listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (err < 0 || listen(listen_fd, 16) < 0)
		goto fail;
	socket_path = g_steal_pointer(&path);
	listen_watch = g_unix_fd_add(listen_fd, G_IO_IN, on_accept, NULL);
	return 0;
fail:
	err = errno;
	g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "hook socket %s: %s", path, g_strerror(err));
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	return -err;
}

void rv_hook_server_exit(void)
{
	g_clear_handle_id(&listen_watch, g_source_remove);
	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	if (socket_path)
		unlink(socket_path);
	g_clear_pointer(&socket_path, g_free);
}

const char *rv_hook_server_path(void)
{
	return socket_path;
}

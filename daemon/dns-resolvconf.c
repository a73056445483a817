/* dns-resolvconf.c - the "resolvconf" DNS method: hand the tunnel's
 * resolv.conf fragment to openresolv or Debian's resolvconf.
 *
 * `resolvconf -a IFNAME.roamvpn` with the fragment on stdin, `-d` to remove it
 * (the key naming of openresolv's interface.protocol convention, as dhcpcd and
 * wg-quick use). openresolv (it answers --version) also gets `-m 0`, and `-x`
 * (exclusive) for a full tunnel so the uplink's servers cannot leak queries;
 * Debian's resolvconf knows neither and orders tun* first by its own rules.
 * The program runs from an argv, never a shell, with a clean environment and a
 * bounded wait. Keys handed over are listed in STATE_DIR/dns-resolvconf so a
 * crashed run's entries are deleted at the next start.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dns-private.h"
#include "error.h"

#define RUN_TIMEOUT_MS 5000
#define OUTPUT_MAX 4096
#define STATE_GROUP "resolvconf"

struct dns_resolvconf {
	char *program;
	bool openresolv;
	char *state_path;
	GHashTable *names;	/* key -> resolvconf entry name ("tun0.roamvpn") */
};

static void append_capped(GString *buf, const char *data, gssize n)
{
	if (buf->len < OUTPUT_MAX)
		g_string_append_len(buf, data, MIN(n, (gssize)(OUTPUT_MAX - buf->len)));
}

/* Run argv with input on stdin; wait at most RUN_TIMEOUT_MS. Output is for
 * error messages only. */
static int run_program(char **argv, const char *input, char **output, GError **error)
{
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	gint64 deadline = g_get_monotonic_time() + RUN_TIMEOUT_MS * G_TIME_SPAN_MILLISECOND;
	g_autoptr(GString) out = g_string_new(NULL);
	g_autoptr(GError) local = NULL;
	int in_fd = -1, out_fd = -1, err_fd = -1;
	int status = 0;
	bool timed_out = false;
	GPid pid;

	if (!g_spawn_async_with_pipes(NULL, argv, envp, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
				      &pid, &in_fd, &out_fd, &err_fd, &local)) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot run %s: %s", argv[0],
			    local->message);
		return -ENOEXEC;
	}
	/* The fragment is far below a pipe's capacity: this write cannot block. */
	if (input) {
		gsize left = strlen(input);

		while (left > 0) {
			ssize_t n = write(in_fd, input, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			input += n;
			left -= (gsize)n;
		}
	}
	close(in_fd);
	while (out_fd >= 0 || err_fd >= 0) {
		struct pollfd fds[2] = { { .fd = out_fd, .events = POLLIN },
					 { .fd = err_fd, .events = POLLIN } };
		gint64 left_ms = (deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND;
		int n;

		if (left_ms <= 0) {
			timed_out = true;
			break;
		}
		n = poll(fds, 2, (int)left_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < 2; i++) {
			int *fd = i == 0 ? &out_fd : &err_fd;
			char buf[512];
			ssize_t got;

			if (*fd < 0 || !fds[i].revents)
				continue;
			got = read(*fd, buf, sizeof(buf));
			if (got > 0) {
				append_capped(out, buf, got);
			} else if (got == 0 || errno != EINTR) {
				close(*fd);
				*fd = -1;
			}
		}
	}
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	while (!timed_out) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			timed_out = true;
			break;
		}
		if (g_get_monotonic_time() >= deadline)
			timed_out = true;
		else
			g_usleep(5000);
	}
	if (timed_out) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		g_spawn_close_pid(pid);
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "%s %s did not finish within %d ms",
			    argv[0], argv[1] ? argv[1] : "", RUN_TIMEOUT_MS);
		return -ETIMEDOUT;
	}
	g_spawn_close_pid(pid);
	if (output)
		*output = g_strdup(out->str);
	if (!g_spawn_check_wait_status(status, &local)) {
		g_autofree char *shown = g_strescape(g_strstrip(out->str), NULL);

		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "%s %s failed (%s): %s", argv[0],
			    argv[1] ? argv[1] : "", local->message, shown);
		return -EIO;
	}
	return 0;
}

static int save_state(struct dns_resolvconf *self, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autofree char *data = NULL;
	GHashTableIter iter;
	gpointer value;
	gsize len = 0;

	if (g_hash_table_size(self->names) == 0) {
		if (unlink(self->state_path) < 0 && errno != ENOENT)
			g_warning("dns: cannot remove %s: %s", self->state_path, g_strerror(errno));
		return 0;
	}
	g_hash_table_iter_init(&iter, self->names);
	while (g_hash_table_iter_next(&iter, NULL, &value))
		g_ptr_array_add(names, value);
	g_key_file_set_string_list(kf, STATE_GROUP, "entries",
				   (const char *const *)names->pdata, names->len);
	data = g_key_file_to_data(kf, &len, NULL);
	return rv_dns_write_atomic(self->state_path, data, len, 0600, (uid_t)-1, (gid_t)-1,
				   error);
}

static int delete_entry(struct dns_resolvconf *self, const char *name, GError **error)
{
	char *argv[] = { self->program, "-d", (char *)name, self->openresolv ? "-f" : NULL,
			 NULL };

	return run_program(argv, NULL, NULL, error);
}

static void recover(struct dns_resolvconf *self)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) names = NULL;

	if (!g_key_file_load_from_file(kf, self->state_path, G_KEY_FILE_NONE, NULL))
		return;
	names = g_key_file_get_string_list(kf, STATE_GROUP, "entries", NULL, NULL);
	for (char **p = names; p && *p; p++) {
		g_autoptr(GError) error = NULL;

		/* Never pass something that would read as an option. */
		if (**p == '-')
			continue;
		if (delete_entry(self, *p, &error) < 0)
			g_warning("dns: removing %s left by a previous run: %s", *p,
				  error->message);
		else
			g_message("dns: removed resolvconf entry %s left by a previous run", *p);
	}
	unlink(self->state_path);
}

static char *find_program(const struct rv_dns_paths *paths)
{
	static const char *const fallbacks[] = { "/usr/sbin/resolvconf", "/sbin/resolvconf" };
	char *found;

	if (paths->resolvconf_program)
		return g_strdup(paths->resolvconf_program);
	found = g_find_program_in_path("resolvconf");
	for (gsize i = 0; !found && i < G_N_ELEMENTS(fallbacks); i++) {
		if (g_file_test(fallbacks[i], G_FILE_TEST_IS_EXECUTABLE))
			found = g_strdup(fallbacks[i]);
	}
	return found;
}

static void *resolvconf_create(const struct rv_dns_paths *paths, DBusConnection *bus,
			       GError **error)
{
	struct dns_resolvconf *self;
	g_autofree char *program = find_program(paths);
	g_autofree char *version = NULL;
	char *argv[] = { NULL, "--version", NULL };

	if (!program || !g_file_test(program, G_FILE_TEST_IS_EXECUTABLE)) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no usable resolvconf program%s%s",
			    program ? " at " : "", program ? program : "");
		return NULL;
	}
	if (g_mkdir_with_parents(paths->state_dir, 0700) < 0) {
		int r = errno;

		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot create %s: %s",
			    paths->state_dir, g_strerror(r));
		return NULL;
	}
	self = g_new0(struct dns_resolvconf, 1);
	self->program = g_steal_pointer(&program);
	argv[0] = self->program;
	/* Debian's resolvconf rejects --version; openresolv names itself. */
	self->openresolv = run_program(argv, NULL, &version, NULL) == 0 && version &&
			   strstr(version, "openresolv") != NULL;
	self->state_path = g_build_filename(paths->state_dir, "dns-resolvconf", NULL);
	self->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_info("dns: using %s (%s)", self->program,
	       self->openresolv ? "openresolv" : "Debian resolvconf");
	recover(self);
	return self;
}

static void resolvconf_destroy(void *priv)
{
	struct dns_resolvconf *self = priv;

	g_hash_table_unref(self->names);
	g_free(self->program);
	g_free(self->state_path);
	g_free(self);
}

static int resolvconf_apply(void *priv, const struct rv_dns_request *req, GError **error)
{
	struct dns_resolvconf *self = priv;
	g_autofree char *name = g_strconcat(req->ifname ? req->ifname : req->key, ".roamvpn",
					    NULL);
	g_autofree char *content = rv_dns_format_resolv_conf("", req->servers, req->domains,
							      NULL);
	g_autoptr(GPtrArray) argv = g_ptr_array_new();
	const char *old = g_hash_table_lookup(self->names, req->key);
	int r;

	if (old && !g_str_equal(old, name)) {
		r = delete_entry(self, old, error);
		if (r < 0)
			return r;
		g_hash_table_remove(self->names, req->key);
	}
	g_ptr_array_add(argv, self->program);
	g_ptr_array_add(argv, "-a");
	g_ptr_array_add(argv, name);
	if (self->openresolv) {
		g_ptr_array_add(argv, "-m");
		g_ptr_array_add(argv, "0");
		if (req->default_route)
			g_ptr_array_add(argv, "-x");
	}
	g_ptr_array_add(argv, NULL);
	/* Listed before it is handed over: a crash in between still gets cleaned. */
	g_hash_table_replace(self->names, g_strdup(req->key), g_strdup(name));
	r = save_state(self, error);
	if (r == 0)
		r = run_program((char **)argv->pdata, content, NULL, error);
	if (r < 0) {
		g_hash_table_remove(self->names, req->key);
		save_state(self, NULL);
	}
	return r;
}

static int resolvconf_revert(void *priv, const char *key, GError **error)
{
	struct dns_resolvconf *self = priv;
	const char *name = g_hash_table_lookup(self->names, key);
	int r;

	if (!name)
		return 0;
	r = delete_entry(self, name, error);
	if (r < 0)
		return r;
	g_hash_table_remove(self->names, key);
	return save_state(self, error);
}

const struct rv_dns_ops rv_dns_resolvconf_ops = {
	.name = "resolvconf",
	.create = resolvconf_create,
	.destroy = resolvconf_destroy,
	.apply = resolvconf_apply,
	.revert = resolvconf_revert,
};

/* dns-file.c - the "file" DNS method: roamvpn swaps resolv.conf itself.
 *
 * The original (a file, kept byte for byte with mode and owner; or a symlink,
 * kept as the link; or nothing) is saved in STATE_DIR/dns-file/ and the state
 * file there says that a swap is in place before resolv.conf is touched, so a
 * crash at any point leaves enough to undo it at the next start. Ours is written
 * with temp file + fsync + rename, which replaces a symlink rather than writing
 * through it. While swapped, the directory is watched: a rewrite by someone else
 * (DHCP client, NetworkManager) becomes the new original and ours goes back on
 * top; our own writes are recognised by content hash, so they never loop.
 * All active keys are merged into one file; the last revert restores.
 */
#include "config.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dns-private.h"
#include "error.h"
#include "sorted.h"

#define STATE_GROUP "swap"
#define KEY_GROUP_PREFIX "key "
#define DEBOUNCE_MS 150
/* Someone fighting over the file (another manager): stop after this many
 * re-applies within the window and leave theirs. */
#define REAPPLY_MAX 5
#define REAPPLY_WINDOW_US (30 * G_USEC_PER_SEC)

enum original_kind { ORIGINAL_ABSENT, ORIGINAL_FILE, ORIGINAL_SYMLINK };

struct file_key {
	char *key;
	GStrv servers;
	GStrv domains;
	bool default_route;
	guint64 seq;
};

struct dns_file {
	char *resolv_conf;
	char *resolv_base;
	char *dir;		/* STATE_DIR/dns-file */
	char *state_path;
	char *saved_path;
	GHashTable *keys;	/* key -> struct file_key */
	guint64 next_seq;

	bool swapped;
	enum original_kind kind;
	GBytes *original;	/* ORIGINAL_FILE: the bytes */
	char *link_target;	/* ORIGINAL_SYMLINK */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	char *ours_hash;	/* what we wrote last */
	char *prev_hash;	/* what we wrote before (a crash may leave it) */

	GFileMonitor *monitor;
	guint debounce_source;
	guint reapply_count;
	gint64 reapply_window_start;
};

static void file_key_free(gpointer data)
{
	struct file_key *k = data;

	g_free(k->key);
	g_strfreev(k->servers);
	g_strfreev(k->domains);
	g_free(k);
}

static char *hash_bytes(const void *data, gsize len)
{
	return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

/* What is at resolv_conf now. hash is set only for a regular file. */
static int read_current(struct dns_file *self, enum original_kind *kind, GBytes **content,
			char **target, struct stat *st, GError **error)
{
	g_autoptr(GError) local = NULL;
	char *data = NULL;
	gsize len = 0;

	*content = NULL;
	*target = NULL;
	if (lstat(self->resolv_conf, st) < 0) {
		int r = -errno;

		if (r == -ENOENT) {
			*kind = ORIGINAL_ABSENT;
			return 0;
		}
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot stat %s: %s",
			    self->resolv_conf, g_strerror(-r));
		return r;
	}
	if (S_ISLNK(st->st_mode)) {
		*target = g_file_read_link(self->resolv_conf, error);
		if (!*target)
			return -EIO;
		*kind = ORIGINAL_SYMLINK;
		return 0;
	}
	if (!S_ISREG(st->st_mode)) {
		g_set_error(error, RV_ERROR, RV_ERROR_UNSUPPORTED,
			    "%s is neither a file nor a symlink", self->resolv_conf);
		return -EINVAL;
	}
	if (!g_file_get_contents(self->resolv_conf, &data, &len, &local)) {
		g_propagate_error(error, g_steal_pointer(&local));
		return -EIO;
	}
	*content = g_bytes_new_take(data, len);
	*kind = ORIGINAL_FILE;
	return 0;
}

static bool current_is_ours(struct dns_file *self, const char *ours, const char *prev)
{
	enum original_kind kind;
	g_autoptr(GBytes) content = NULL;
	g_autofree char *target = NULL;
	g_autofree char *hash = NULL;
	struct stat st;

	if (read_current(self, &kind, &content, &target, &st, NULL) < 0 ||
	    kind != ORIGINAL_FILE)
		return false;
	hash = hash_bytes(g_bytes_get_data(content, NULL), g_bytes_get_size(content));
	return g_strcmp0(hash, ours) == 0 || g_strcmp0(hash, prev) == 0;
}

static int put_symlink(const char *path, const char *target, GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *base = g_path_get_basename(path);
	g_autofree char *tmp = g_strdup_printf("%s/.%s.roamvpn-link-%d-%08x", dir, base,
					       (int)getpid(), g_random_int());
	int r;

	if (symlink(target, tmp) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot restore symlink %s: %s",
			    path, g_strerror(-r));
		return r;
	}
	return 0;
}

/* Put back what the state describes (kind/content/target/mode/owner). */
static int restore_original(struct dns_file *self, enum original_kind kind, GBytes *content,
			    const char *target, mode_t mode, uid_t uid, gid_t gid,
			    GError **error)
{
	switch (kind) {
	case ORIGINAL_FILE:
		return rv_dns_write_atomic(self->resolv_conf, g_bytes_get_data(content, NULL),
					   g_bytes_get_size(content), mode, uid, gid, error);
	case ORIGINAL_SYMLINK:
		return put_symlink(self->resolv_conf, target, error);
	case ORIGINAL_ABSENT:
		if (unlink(self->resolv_conf) < 0 && errno != ENOENT) {
			int r = -errno;

			g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot remove %s: %s",
				    self->resolv_conf, g_strerror(-r));
			return r;
		}
		return 0;
	}
	return -EINVAL;
}

static const char *kind_name(enum original_kind kind)
{
	switch (kind) {
	case ORIGINAL_FILE: return "file";
	case ORIGINAL_SYMLINK: return "symlink";
	default: return "absent";
	}
}

static int write_state(struct dns_file *self, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *data = NULL;
	GHashTableIter iter;
	gpointer value;
	gsize len = 0;

	g_key_file_set_integer(kf, STATE_GROUP, "version", 1);
	g_key_file_set_string(kf, STATE_GROUP, "resolv-conf", self->resolv_conf);
	g_key_file_set_string(kf, STATE_GROUP, "kind", kind_name(self->kind));
	if (self->kind == ORIGINAL_SYMLINK)
		g_key_file_set_string(kf, STATE_GROUP, "target", self->link_target);
	if (self->kind == ORIGINAL_FILE) {
		g_key_file_set_uint64(kf, STATE_GROUP, "mode", self->mode & 07777);
		g_key_file_set_uint64(kf, STATE_GROUP, "uid", self->uid);
		g_key_file_set_uint64(kf, STATE_GROUP, "gid", self->gid);
	}
	g_key_file_set_string(kf, STATE_GROUP, "ours", self->ours_hash ? self->ours_hash : "");
	g_key_file_set_string(kf, STATE_GROUP, "previous",
			      self->prev_hash ? self->prev_hash : "");
	/* For people reading the state dir; recovery does not need the keys. */
	g_hash_table_iter_init(&iter, self->keys);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		struct file_key *k = value;
		g_autofree char *group = g_strconcat(KEY_GROUP_PREFIX, k->key, NULL);

		g_key_file_set_string_list(kf, group, "servers",
					   (const char *const *)k->servers,
					   g_strv_length(k->servers));
		g_key_file_set_string_list(kf, group, "domains",
					   (const char *const *)k->domains,
					   g_strv_length(k->domains));
		g_key_file_set_boolean(kf, group, "default-route", k->default_route);
	}
	data = g_key_file_to_data(kf, &len, NULL);
	return rv_dns_write_atomic(self->state_path, data, len, 0600, (uid_t)-1, (gid_t)-1,
				   error);
}

static void remove_state(struct dns_file *self)
{
	if (unlink(self->state_path) < 0 && errno != ENOENT)
		g_warning("dns: cannot remove %s: %s", self->state_path, g_strerror(errno));
	if (unlink(self->saved_path) < 0 && errno != ENOENT)
		g_warning("dns: cannot remove %s: %s", self->saved_path, g_strerror(errno));
}

/* Take what is at resolv_conf now as the original and save it in the state
 * dir (the bytes first; the state file that points at them comes after). */
static int capture_original(struct dns_file *self, GError **error)
{
	enum original_kind kind;
	g_autoptr(GBytes) content = NULL;
	g_autofree char *target = NULL;
	struct stat st;
	int r;

	r = read_current(self, &kind, &content, &target, &st, error);
	if (r < 0)
		return r;
	if (kind == ORIGINAL_FILE) {
		r = rv_dns_write_atomic(self->saved_path, g_bytes_get_data(content, NULL),
					g_bytes_get_size(content), 0600, (uid_t)-1, (gid_t)-1,
					error);
		if (r < 0)
			return r;
	} else if (unlink(self->saved_path) < 0 && errno != ENOENT) {
		r = -errno;
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot remove %s: %s",
			    self->saved_path, g_strerror(-r));
		return r;
	}
	self->kind = kind;
	g_clear_pointer(&self->original, g_bytes_unref);
	self->original = g_steal_pointer(&content);
	g_free(self->link_target);
	self->link_target = g_steal_pointer(&target);
	self->mode = kind == ORIGINAL_FILE ? (st.st_mode & 07777) : 0644;
	self->uid = kind == ORIGINAL_FILE ? st.st_uid : (uid_t)-1;
	self->gid = kind == ORIGINAL_FILE ? st.st_gid : (gid_t)-1;
	return 0;
}

static gint by_seq_desc(gconstpointer a, gconstpointer b)
{
	const struct file_key *ka = *(struct file_key *const *)a;
	const struct file_key *kb = *(struct file_key *const *)b;

	return ka->seq < kb->seq ? 1 : (ka->seq > kb->seq ? -1 : 0);
}

static void add_unique(GPtrArray *list, const char *item)
{
	for (guint i = 0; i < list->len; i++) {
		if (g_str_equal(list->pdata[i], item))
			return;
	}
	g_ptr_array_add(list, g_strdup(item));
}

/* The text of the original, also when it is a symlink (only read through it). */
static GStrv original_lines(struct dns_file *self)
{
	g_autofree char *text = NULL;

	if (self->kind == ORIGINAL_FILE) {
		gsize len = 0;
		const char *data = g_bytes_get_data(self->original, &len);

		text = g_strndup(data, len);
	} else if (self->kind == ORIGINAL_SYMLINK) {
		g_autofree char *dir = g_path_get_dirname(self->resolv_conf);
		g_autofree char *path = g_path_is_absolute(self->link_target)
			? g_strdup(self->link_target)
			: g_build_filename(dir, self->link_target, NULL);

		if (!g_file_get_contents(path, &text, NULL, NULL))
			text = NULL;
	}
	return g_strsplit(text ? text : "", "\n", -1);
}

/* Our resolv.conf: servers of all keys, most recent first, at most MAXNS;
 * for split tunnels only, the original's servers fill up the rest, as a
 * fallback for names outside the tunnel. Options of the original stay. */
static char *build_content(struct dns_file *self)
{
	g_autoptr(GPtrArray) keys = rv_hash_values_sorted(self->keys, by_seq_desc);
	g_autoptr(GPtrArray) servers = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) extra = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GString) header = g_string_new("# Generated by roamvpn for tunnel");
	g_auto(GStrv) lines = original_lines(self);
	bool full = false;

	g_string_append(header, keys->len > 1 ? "s" : "");
	for (guint i = 0; i < keys->len; i++) {
		struct file_key *k = keys->pdata[i];

		g_string_append_printf(header, " %s", k->key);
		full |= k->default_route;
		for (char **p = k->servers; *p; p++)
			add_unique(servers, *p);
		for (char **p = k->domains; *p; p++)
			add_unique(domains, *p);
	}
	g_string_append_printf(header,
			       ". The previous %s is kept in %s and is put back when the tunnels go down.\n"
			       "# To undo by hand: stop roamvpnd, or copy that file here and delete %s.\n",
			       self->kind == ORIGINAL_SYMLINK ? "symlink" : "file",
			       self->kind == ORIGINAL_SYMLINK ? self->state_path : self->saved_path,
			       self->state_path);
	for (char **p = lines; *p; p++) {
		g_auto(GStrv) words = g_strsplit_set(g_strstrip(*p), " \t", -1);

		if (!words[0] || !words[1])
			continue;
		if (g_str_equal(words[0], "options"))
			g_ptr_array_add(extra, g_strdup(*p));
		else if (g_str_equal(words[0], "nameserver") && !full)
			add_unique(servers, words[1]);
	}
	if (servers->len > RV_DNS_MAX_SERVERS)
		g_ptr_array_set_size(servers, RV_DNS_MAX_SERVERS);
	g_ptr_array_add(servers, NULL);
	g_ptr_array_add(domains, NULL);
	g_ptr_array_add(extra, NULL);
	return rv_dns_format_resolv_conf(header->str, (char **)servers->pdata,
					 (char **)domains->pdata, (char **)extra->pdata);
}

static void stop_watch(struct dns_file *self)
{
	g_clear_handle_id(&self->debounce_source, g_source_remove);
	if (self->monitor) {
		g_file_monitor_cancel(self->monitor);
		g_clear_object(&self->monitor);
	}
}

static void start_watch(struct dns_file *self);

/* Write the state (with the hash of what comes), then our file. */
static int write_ours(struct dns_file *self, GError **error)
{
	g_autofree char *content = build_content(self);
	g_autofree char *hash = hash_bytes(content, strlen(content));
	int r;

	if (g_strcmp0(hash, self->ours_hash) != 0) {
		g_free(self->prev_hash);
		self->prev_hash = g_steal_pointer(&self->ours_hash);
		self->ours_hash = g_steal_pointer(&hash);
	}
	r = write_state(self, error);
	if (r < 0)
		return r;
	self->swapped = true;
	r = rv_dns_write_atomic(self->resolv_conf, content, strlen(content), self->mode,
				self->uid, self->gid, error);
	if (r < 0)
		return r;
	start_watch(self);
	return 0;
}

static gboolean check_foreign(gpointer data)
{
	struct dns_file *self = data;
	g_autoptr(GError) error = NULL;
	gint64 now = g_get_monotonic_time();

	self->debounce_source = 0;
	if (!self->swapped || current_is_ours(self, self->ours_hash, NULL))
		return G_SOURCE_REMOVE;
	if (now - self->reapply_window_start > REAPPLY_WINDOW_US) {
		self->reapply_window_start = now;
		self->reapply_count = 0;
	}
	if (++self->reapply_count > REAPPLY_MAX) {
		/* Revert keeps theirs, since the file is no longer ours. */
		g_warning("dns: %s keeps being rewritten by another program; leaving it to them",
			  self->resolv_conf);
		stop_watch(self);
		return G_SOURCE_REMOVE;
	}
	g_message("dns: %s was rewritten by another program; keeping that as the original "
		  "and putting the tunnel's servers back", self->resolv_conf);
	if (capture_original(self, &error) < 0 || write_ours(self, &error) < 0)
		g_warning("dns: re-applying %s: %s", self->resolv_conf, error->message);
	return G_SOURCE_REMOVE;
}

static void on_dir_changed(GFileMonitor *monitor, GFile *file, GFile *other,
			   GFileMonitorEvent event, gpointer data)
{
	struct dns_file *self = data;
	g_autofree char *name = file ? g_file_get_basename(file) : NULL;
	g_autofree char *other_name = other ? g_file_get_basename(other) : NULL;

	if (g_strcmp0(name, self->resolv_base) != 0 &&
	    g_strcmp0(other_name, self->resolv_base) != 0)
		return;
	if (event == G_FILE_MONITOR_EVENT_CHANGED)
		return;		/* CHANGES_DONE_HINT follows */
	g_clear_handle_id(&self->debounce_source, g_source_remove);
	self->debounce_source = g_timeout_add(DEBOUNCE_MS, check_foreign, self);
}

static void start_watch(struct dns_file *self)
{
	g_autofree char *dirname = NULL;
	g_autoptr(GFile) dir = NULL;
	g_autoptr(GError) error = NULL;

	if (self->monitor)
		return;
	dirname = g_path_get_dirname(self->resolv_conf);
	dir = g_file_new_for_path(dirname);
	self->monitor = g_file_monitor_directory(dir, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);
	if (!self->monitor) {
		g_warning("dns: cannot watch %s for rewrites: %s", dirname, error->message);
		return;
	}
	g_signal_connect(self->monitor, "changed", G_CALLBACK(on_dir_changed), self);
}

/* A swap from a previous run that did not end cleanly. */
static void recover(struct dns_file *self)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autoptr(GError) error = NULL;
	g_autofree char *kind = NULL;
	g_autofree char *target = NULL;
	g_autofree char *ours = NULL;
	g_autofree char *prev = NULL;
	g_autoptr(GBytes) content = NULL;
	enum original_kind k;

	if (!g_key_file_load_from_file(kf, self->state_path, G_KEY_FILE_NONE, &error)) {
		if (!g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			g_warning("dns: unreadable state %s: %s", self->state_path,
				  error->message);
		/* A saved copy without state: the crash came before the swap. */
		remove_state(self);
		return;
	}
	kind = g_key_file_get_string(kf, STATE_GROUP, "kind", NULL);
	target = g_key_file_get_string(kf, STATE_GROUP, "target", NULL);
	ours = g_key_file_get_string(kf, STATE_GROUP, "ours", NULL);
	prev = g_key_file_get_string(kf, STATE_GROUP, "previous", NULL);
	if (!current_is_ours(self, ours, prev)) {
		g_message("dns: %s was changed since roamvpn last wrote it; keeping it",
			  self->resolv_conf);
		remove_state(self);
		return;
	}
	if (g_strcmp0(kind, "file") == 0) {
		char *data = NULL;
		gsize len = 0;

		if (!g_file_get_contents(self->saved_path, &data, &len, &error)) {
			g_warning("dns: cannot restore %s, saved copy lost: %s",
				  self->resolv_conf, error->message);
			return;
		}
		content = g_bytes_new_take(data, len);
		k = ORIGINAL_FILE;
	} else if (g_strcmp0(kind, "symlink") == 0 && target) {
		k = ORIGINAL_SYMLINK;
	} else {
		k = ORIGINAL_ABSENT;
	}
	if (restore_original(self, k, content, target,
			     (mode_t)g_key_file_get_uint64(kf, STATE_GROUP, "mode", NULL),
			     (uid_t)g_key_file_get_uint64(kf, STATE_GROUP, "uid", NULL),
			     (gid_t)g_key_file_get_uint64(kf, STATE_GROUP, "gid", NULL),
			     &error) < 0) {
		g_warning("dns: restoring %s after a crash: %s", self->resolv_conf,
			  error->message);
		return;
	}
	g_message("dns: restored %s left by a previous run", self->resolv_conf);
	remove_state(self);
}

/* Temp files of ours that a crash left next to resolv.conf. */
static void remove_stray_temp_files(struct dns_file *self)
{
	g_autofree char *dirname = g_path_get_dirname(self->resolv_conf);
	g_autofree char *prefix = g_strdup_printf(".%s.roamvpn-", self->resolv_base);
	g_autoptr(GDir) dir = g_dir_open(dirname, 0, NULL);
	const char *name;

	while (dir && (name = g_dir_read_name(dir))) {
		g_autofree char *path = NULL;

		if (!g_str_has_prefix(name, prefix))
			continue;
		path = g_build_filename(dirname, name, NULL);
		if (unlink(path) == 0)
			g_debug("dns: removed stray %s", path);
	}
}

static void file_destroy(void *priv);

static void *file_create(const struct rv_dns_paths *paths, DBusConnection *bus,
			 GError **error)
{
	struct dns_file *self = g_new0(struct dns_file, 1);

	self->resolv_conf = g_strdup(paths->resolv_conf);
	self->resolv_base = g_path_get_basename(paths->resolv_conf);
	self->dir = g_build_filename(paths->state_dir, "dns-file", NULL);
	self->state_path = g_build_filename(self->dir, "state", NULL);
	self->saved_path = g_build_filename(self->dir, "original", NULL);
	self->keys = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, file_key_free);
	if (g_mkdir_with_parents(self->dir, 0700) < 0) {
		int r = errno;

		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot create %s: %s",
			    self->dir, g_strerror(r));
		file_destroy(self);
		return NULL;
	}
	recover(self);
	remove_stray_temp_files(self);
	return self;
}

static void file_destroy(void *priv)
{
	struct dns_file *self = priv;

	/* No restore here: after a crash recover() would, and the daemon calls
	 * rv_dns_revert_all() on a clean shutdown. */
	stop_watch(self);
	g_hash_table_unref(self->keys);
	g_clear_pointer(&self->original, g_bytes_unref);
	g_free(self->link_target);
	g_free(self->ours_hash);
	g_free(self->prev_hash);
	g_free(self->resolv_conf);
	g_free(self->resolv_base);
	g_free(self->dir);
	g_free(self->state_path);
	g_free(self->saved_path);
	g_free(self);
}

static int file_apply(void *priv, const struct rv_dns_request *req, GError **error)
{
	struct dns_file *self = priv;
	struct file_key *k = g_new0(struct file_key, 1);
	int r;

	/* Not swapped yet, or someone else's file is in place (we gave up a
	 * fight, or a rewrite is still being debounced): that is the original. */
	if (!self->swapped || !current_is_ours(self, self->ours_hash, NULL)) {
		r = capture_original(self, error);
		if (r < 0) {
			file_key_free(k);
			return r;
		}
		self->reapply_count = 0;
	}
	k->key = g_strdup(req->key);
	k->servers = g_strdupv(req->servers);
	k->domains = g_strdupv(req->domains);
	k->default_route = req->default_route;
	k->seq = ++self->next_seq;
	g_hash_table_replace(self->keys, k->key, k);
	r = write_ours(self, error);
	if (r < 0 && g_hash_table_size(self->keys) == 1) {
		/* Nothing else is up: undo the half-done swap. */
		g_autoptr(GError) ignored = NULL;

		g_hash_table_remove(self->keys, req->key);
		if (current_is_ours(self, self->ours_hash, self->prev_hash))
			restore_original(self, self->kind, self->original, self->link_target,
					 self->mode, self->uid, self->gid, &ignored);
		stop_watch(self);
		remove_state(self);
		self->swapped = false;
	}
	return r;
}

static int file_revert(void *priv, const char *key, GError **error)
{
	struct dns_file *self = priv;
	int r;

	if (!g_hash_table_remove(self->keys, key))
		return 0;
	if (g_hash_table_size(self->keys) > 0) {
		if (!current_is_ours(self, self->ours_hash, NULL)) {
			r = capture_original(self, error);
			if (r < 0)
				return r;
		}
		return write_ours(self, error);
	}
	stop_watch(self);
	if (current_is_ours(self, self->ours_hash, self->prev_hash)) {
		r = restore_original(self, self->kind, self->original, self->link_target,
				     self->mode, self->uid, self->gid, error);
		if (r < 0)
			return r;
	} else {
		g_message("dns: %s was replaced by another program; keeping theirs",
			  self->resolv_conf);
	}
	remove_state(self);
	self->swapped = false;
	g_clear_pointer(&self->ours_hash, g_free);
	g_clear_pointer(&self->prev_hash, g_free);
	return 0;
}

const struct rv_dns_ops rv_dns_file_ops = {
	.name = "file",
	.create = file_create,
	.destroy = file_destroy,
	.apply = file_apply,
	.revert = file_revert,
};

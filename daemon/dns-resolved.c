/* dns-resolved.c - the "resolved" DNS method: per-link DNS in
 * systemd-resolved over D-Bus (org.freedesktop.resolve1.Manager).
 *
 * Following systemd's RESOLVED-VPNS.md: domains first, then the default-route
 * flag, then the servers. A full tunnel adds the routing-only domain "~." and
 * default-route=true so every query goes to the tunnel; a split tunnel gets
 * default-route=false so only its own domains do. SetLinkDefaultRoute is newer
 * than the rest: UnknownMethod means an older resolved and is not an error
 * (NetworkManager probes it the same way). RevertLink on revert.
 * Calls are asynchronous on the daemon's system bus connection, so a slow
 * resolved never stalls the main loop: they are queued in order (resolved
 * handles them in order), flushed, and their replies checked later. A refusal
 * reverts the link ("half a configuration is worse than none") and is logged;
 * apply() itself fails only for what it can tell at once (no device, no bus).
 * The ifindexes handed over are listed in STATE_DIR/dns-resolved so a crashed
 * run's links are reverted.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>

#include "dns-private.h"
#include "error.h"

#define RESOLVE1_NAME "org.freedesktop.resolve1"
#define RESOLVE1_PATH "/org/freedesktop/resolve1"
#define RESOLVE1_MANAGER "org.freedesktop.resolve1.Manager"
#define CALL_TIMEOUT_MS 3000
#define STATE_GROUP "resolved"

struct dns_resolved {
	DBusConnection *bus;	/* NULL while the bus is away */
	char *state_path;
	GHashTable *links;	/* key -> struct link * */
	GHashTable *pending;	/* DBusPendingCall * in flight (owned refs) */
	guint generation;	/* of the last apply, so late replies hit only their own */
	bool no_default_route;	/* resolved too old for SetLinkDefaultRoute */
};

struct link {
	int ifindex;
	guint generation;
};

enum call_kind {
	CALL_STEP,		/* SetLinkDomains, SetLinkDNS: a refusal undoes the link */
	CALL_DEFAULT_ROUTE,	/* UnknownMethod: an older resolved, not an error */
	CALL_REVERT,		/* best effort */
};

struct call_ctx {
	struct dns_resolved *self;
	enum call_kind kind;
	char *what;
	char *key;
	int ifindex;
	guint generation;
};

static void call_ctx_free(void *data)
{
	struct call_ctx *ctx = data;

	g_free(ctx->what);
	g_free(ctx->key);
	g_free(ctx);
}

static void send_call(struct dns_resolved *self, DBusMessage *msg, enum call_kind kind,
		      const char *what, const char *key, int ifindex, guint generation);

static DBusMessage *new_call(const char *method, int ifindex, DBusMessageIter *iter);

static int save_state(struct dns_resolved *self, GError **error);

static void revert_link(struct dns_resolved *self, int ifindex)
{
	DBusMessageIter iter;

	send_call(self, new_call("RevertLink", ifindex, &iter), CALL_REVERT, "RevertLink", NULL,
		  ifindex, 0);
}

/* A step of an apply was refused: undo that apply, unless a newer one replaced it. */
static void step_failed(struct call_ctx *ctx, const char *message)
{
	struct dns_resolved *self = ctx->self;
	struct link *l = g_hash_table_lookup(self->links, ctx->key);

	if (!l || l->generation != ctx->generation) {
		g_debug("dns: late reply for %s: %s", ctx->key, message);
		return;
	}
	g_warning("dns: systemd-resolved %s for %s: %s; reverting its DNS", ctx->what, ctx->key,
		  message);
	revert_link(self, ctx->ifindex);
	g_hash_table_remove(self->links, ctx->key);
	save_state(self, NULL);
}

static void on_reply(DBusPendingCall *pending, void *data)
{
	struct call_ctx *ctx = data;
	struct dns_resolved *self = ctx->self;
	DBusMessage *reply = dbus_pending_call_steal_reply(pending);
	const char *name = reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_ERROR
				   ? dbus_message_get_error_name(reply) : NULL;
	DBusError derr = DBUS_ERROR_INIT;

	if (name) {
		dbus_set_error_from_message(&derr, reply);
		if (ctx->kind == CALL_DEFAULT_ROUTE && g_str_equal(name, DBUS_ERROR_UNKNOWN_METHOD)) {
			if (!self->no_default_route)
				g_info("dns: systemd-resolved has no SetLinkDefaultRoute; relying on \"~.\"");
			self->no_default_route = true;
		} else if (ctx->kind == CALL_REVERT) {
			/* A link that is already gone has nothing left to revert. */
			g_debug("dns: RevertLink %d: %s", ctx->ifindex, derr.message ? derr.message : name);
		} else {
			step_failed(ctx, derr.message ? derr.message : name);
		}
		dbus_error_free(&derr);
	}
	if (reply)
		dbus_message_unref(reply);
	/* Drops our reference; call_ctx_free runs with the call's. */
	g_hash_table_remove(self->pending, pending);
}

/* Queue msg (consumed) in order and flush it out; the reply is judged by on_reply. */
static void send_call(struct dns_resolved *self, DBusMessage *msg, enum call_kind kind,
		      const char *what, const char *key, int ifindex, guint generation)
{
	DBusPendingCall *pending = NULL;
	struct call_ctx *ctx;

	if (!self->bus || !dbus_connection_send_with_reply(self->bus, msg, &pending, CALL_TIMEOUT_MS) ||
	    !pending) {
		g_message("dns: systemd-resolved %s: not connected to the system bus", what);
		dbus_message_unref(msg);
		return;
	}
	dbus_message_unref(msg);
	ctx = g_new0(struct call_ctx, 1);
	ctx->self = self;
	ctx->kind = kind;
	ctx->what = g_strdup(what);
	ctx->key = g_strdup(key ? key : "");
	ctx->ifindex = ifindex;
	ctx->generation = generation;
	g_hash_table_add(self->pending, pending);
	if (!dbus_pending_call_set_notify(pending, on_reply, ctx, call_ctx_free))
		g_error("out of memory");
	/* Out on the socket now, not when the main loop next polls it. */
	dbus_connection_flush(self->bus);
}

static void pending_drop(gpointer data)
{
	DBusPendingCall *pending = data;

	dbus_pending_call_cancel(pending);
	dbus_pending_call_unref(pending);
}

static DBusMessage *new_call(const char *method, int ifindex, DBusMessageIter *iter)
{
	DBusMessage *msg = dbus_message_new_method_call(RESOLVE1_NAME, RESOLVE1_PATH,
							RESOLVE1_MANAGER, method);
	dbus_int32_t index = ifindex;

	if (!msg)
		g_error("out of memory");
	dbus_message_iter_init_append(msg, iter);
	dbus_message_iter_append_basic(iter, DBUS_TYPE_INT32, &index);
	return msg;
}

static DBusMessage *domains_call(const struct rv_dns_request *req)
{
	DBusMessageIter iter, array, entry;
	DBusMessage *msg = new_call("SetLinkDomains", req->ifindex, &iter);

	dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "(sb)", &array);
	for (char **p = req->domains; p && *p; p++) {
		dbus_bool_t routing_only = FALSE;

		dbus_message_iter_open_container(&array, DBUS_TYPE_STRUCT, NULL, &entry);
		dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, p);
		dbus_message_iter_append_basic(&entry, DBUS_TYPE_BOOLEAN, &routing_only);
		dbus_message_iter_close_container(&array, &entry);
	}
	if (req->default_route) {
		const char *all = "~.";
		dbus_bool_t routing_only = TRUE;

		dbus_message_iter_open_container(&array, DBUS_TYPE_STRUCT, NULL, &entry);
		dbus_message_iter_append_basic(&entry, DBUS_TYPE_STRING, &all);
		dbus_message_iter_append_basic(&entry, DBUS_TYPE_BOOLEAN, &routing_only);
		dbus_message_iter_close_container(&array, &entry);
	}
	dbus_message_iter_close_container(&iter, &array);
	return msg;
}

static DBusMessage *default_route_call(const struct rv_dns_request *req)
{
	DBusMessageIter iter;
	DBusMessage *msg = new_call("SetLinkDefaultRoute", req->ifindex, &iter);
	dbus_bool_t value = req->default_route;

	dbus_message_iter_append_basic(&iter, DBUS_TYPE_BOOLEAN, &value);
	return msg;
}

static DBusMessage *dns_call(const struct rv_dns_request *req)
{
	DBusMessageIter iter, array, entry, bytes;
	DBusMessage *msg = new_call("SetLinkDNS", req->ifindex, &iter);

	dbus_message_iter_open_container(&iter, DBUS_TYPE_ARRAY, "(iay)", &array);
	for (char **p = req->servers; p && *p; p++) {
		g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(*p);
		const guint8 *raw;
		dbus_int32_t family;
		int len;

		if (!addr)
			continue;	/* dns.c let only literals through */
		family = g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6 ? AF_INET6 : AF_INET;
		raw = g_inet_address_to_bytes(addr);
		len = (int)g_inet_address_get_native_size(addr);
		dbus_message_iter_open_container(&array, DBUS_TYPE_STRUCT, NULL, &entry);
		dbus_message_iter_append_basic(&entry, DBUS_TYPE_INT32, &family);
		dbus_message_iter_open_container(&entry, DBUS_TYPE_ARRAY, "y", &bytes);
		dbus_message_iter_append_fixed_array(&bytes, DBUS_TYPE_BYTE, &raw, len);
		dbus_message_iter_close_container(&entry, &bytes);
		dbus_message_iter_close_container(&array, &entry);
	}
	dbus_message_iter_close_container(&iter, &array);
	return msg;
}

static int save_state(struct dns_resolved *self, GError **error)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_autofree char *data = NULL;
	GHashTableIter it;
	gpointer key, value;
	gsize len = 0;

	if (g_hash_table_size(self->links) == 0) {
		if (unlink(self->state_path) < 0 && errno != ENOENT)
			g_warning("dns: cannot remove %s: %s", self->state_path, g_strerror(errno));
		return 0;
	}
	g_hash_table_iter_init(&it, self->links);
	while (g_hash_table_iter_next(&it, &key, &value))
		g_key_file_set_integer(kf, STATE_GROUP, key, ((struct link *)value)->ifindex);
	data = g_key_file_to_data(kf, &len, NULL);
	return rv_dns_write_atomic(self->state_path, data, len, 0600, (uid_t)-1, (gid_t)-1,
				   error);
}

static void recover(struct dns_resolved *self)
{
	g_autoptr(GKeyFile) kf = g_key_file_new();
	g_auto(GStrv) keys = NULL;

	if (!g_key_file_load_from_file(kf, self->state_path, G_KEY_FILE_NONE, NULL))
		return;
	keys = g_key_file_get_keys(kf, STATE_GROUP, NULL, NULL);
	for (char **p = keys; p && *p; p++) {
		int ifindex = g_key_file_get_integer(kf, STATE_GROUP, *p, NULL);

		if (ifindex <= 0)
			continue;
		/* Usually the device is gone and resolved forgot it already. */
		g_message("dns: reverting resolved link %d (%s) left by a previous run", ifindex, *p);
		revert_link(self, ifindex);
	}
	unlink(self->state_path);
}

static void *resolved_create(const struct rv_dns_paths *paths, DBusConnection *bus,
			     GError **error)
{
	struct dns_resolved *self;

	if (g_mkdir_with_parents(paths->state_dir, 0700) < 0) {
		int r = errno;

		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot create %s: %s",
			    paths->state_dir, g_strerror(r));
		return NULL;
	}
	self = g_new0(struct dns_resolved, 1);
	self->bus = dbus_connection_ref(bus);
	self->state_path = g_build_filename(paths->state_dir, "dns-resolved", NULL);
	self->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	self->pending = g_hash_table_new_full(NULL, NULL, pending_drop, NULL);
	recover(self);
	return self;
}

static void resolved_destroy(void *priv)
{
	struct dns_resolved *self = priv;

	/* What was sent stays sent; only the waiting for replies ends. */
	g_hash_table_unref(self->pending);
	if (self->bus)
		dbus_connection_unref(self->bus);
	g_hash_table_unref(self->links);
	g_free(self->state_path);
	g_free(self);
}

static int resolved_apply(void *priv, const struct rv_dns_request *req, GError **error)
{
	struct dns_resolved *self = priv;
	struct link *l;
	guint gen;
	int r;

	if (req->ifindex <= 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_UNSUPPORTED,
			    "DNS through systemd-resolved needs a tunnel device (%s has none)",
			    req->key);
		return -EOPNOTSUPP;
	}
	if (!self->bus) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED,
			    "systemd-resolved: not connected to the system bus");
		return -ENOTCONN;
	}
	gen = ++self->generation;
	l = g_new0(struct link, 1);
	l->ifindex = req->ifindex;
	l->generation = gen;
	g_hash_table_replace(self->links, g_strdup(req->key), l);
	r = save_state(self, error);
	if (r < 0) {
		g_hash_table_remove(self->links, req->key);
		return r;
	}
	/* In this order (systemd's RESOLVED-VPNS.md); resolved handles them in order. */
	send_call(self, domains_call(req), CALL_STEP, "SetLinkDomains", req->key, req->ifindex, gen);
	if (!self->no_default_route)
		send_call(self, default_route_call(req), CALL_DEFAULT_ROUTE, "SetLinkDefaultRoute",
			  req->key, req->ifindex, gen);
	send_call(self, dns_call(req), CALL_STEP, "SetLinkDNS", req->key, req->ifindex, gen);
	return 0;
}

static int resolved_revert(void *priv, const char *key, GError **error)
{
	struct dns_resolved *self = priv;
	struct link *l = g_hash_table_lookup(self->links, key);

	if (!l)
		return 0;
	revert_link(self, l->ifindex);
	g_hash_table_remove(self->links, key);
	return save_state(self, error);
}

static bool resolved_busy(void *priv)
{
	struct dns_resolved *self = priv;

	return g_hash_table_size(self->pending) > 0;
}

static void resolved_set_bus(void *priv, DBusConnection *bus)
{
	struct dns_resolved *self = priv;

	/* Calls on the old connection will never be answered. */
	g_hash_table_remove_all(self->pending);
	if (self->bus)
		dbus_connection_unref(self->bus);
	self->bus = bus ? dbus_connection_ref(bus) : NULL;
}

const struct rv_dns_ops rv_dns_resolved_ops = {
	.name = "resolved",
	.create = resolved_create,
	.destroy = resolved_destroy,
	.apply = resolved_apply,
	.revert = resolved_revert,
	.set_bus = resolved_set_bus,
	.busy = resolved_busy,
};

/* dns-resolved.c - the "resolved" DNS method: per-link DNS in
 * systemd-resolved over D-Bus (org.freedesktop.resolve1.Manager).
 *
 * Following systemd's RESOLVED-VPNS.md: domains first, then the default-route
 * flag, then the servers. A full tunnel adds the routing-only domain "~." and
 * default-route=true so every query goes to the tunnel; a split tunnel gets
 * default-route=false so only its own domains do. SetLinkDefaultRoute is newer
 * than the rest: UnknownMethod means an older resolved and is not an error
 * (NetworkManager probes it the same way). RevertLink on revert.
 * Calls block for at most CALL_TIMEOUT_MS on the daemon's system bus
 * connection: simple, ordered, and bounded. The ifindexes handed over are
 * listed in STATE_DIR/dns-resolved so a crashed run's links are reverted.
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
	GHashTable *links;	/* key -> GINT_TO_POINTER(ifindex) */
	bool no_default_route;	/* resolved too old for SetLinkDefaultRoute */
};

/* Send and wait; on an error reply, *error_name says which (may be NULL). */
static int call(struct dns_resolved *self, DBusMessage *msg, const char *what,
		char **error_name, GError **error)
{
	DBusError derr = DBUS_ERROR_INIT;
	DBusMessage *reply;

	if (!self->bus) {
		dbus_message_unref(msg);
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED,
			    "systemd-resolved %s: not connected to the system bus", what);
		return -ENOTCONN;
	}
	reply = dbus_connection_send_with_reply_and_block(self->bus, msg, CALL_TIMEOUT_MS, &derr);
	dbus_message_unref(msg);
	if (reply) {
		dbus_message_unref(reply);
		return 0;
	}
	if (error_name)
		*error_name = g_strdup(derr.name);
	g_set_error(error, RV_ERROR,
		    g_strcmp0(derr.name, DBUS_ERROR_ACCESS_DENIED) == 0 ? RV_ERROR_PERMISSION
									  : RV_ERROR_FAILED,
		    "systemd-resolved %s: %s", what, derr.message ? derr.message : derr.name);
	dbus_error_free(&derr);
	return -EIO;
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

static int set_domains(struct dns_resolved *self, const struct rv_dns_request *req,
		       GError **error)
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
	return call(self, msg, "SetLinkDomains", NULL, error);
}

static int set_default_route(struct dns_resolved *self, const struct rv_dns_request *req,
			     GError **error)
{
	DBusMessageIter iter;
	DBusMessage *msg;
	dbus_bool_t value = req->default_route;
	g_autofree char *error_name = NULL;
	g_autoptr(GError) local = NULL;

	if (self->no_default_route)
		return 0;
	msg = new_call("SetLinkDefaultRoute", req->ifindex, &iter);
	dbus_message_iter_append_basic(&iter, DBUS_TYPE_BOOLEAN, &value);
	if (call(self, msg, "SetLinkDefaultRoute", &error_name, &local) == 0)
		return 0;
	if (g_strcmp0(error_name, DBUS_ERROR_UNKNOWN_METHOD) == 0) {
		g_info("dns: systemd-resolved has no SetLinkDefaultRoute; relying on \"~.\"");
		self->no_default_route = true;
		return 0;
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return -EIO;
}

static int set_dns(struct dns_resolved *self, const struct rv_dns_request *req, GError **error)
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
	return call(self, msg, "SetLinkDNS", NULL, error);
}

static int revert_link(struct dns_resolved *self, int ifindex, GError **error)
{
	DBusMessageIter iter;

	return call(self, new_call("RevertLink", ifindex, &iter), "RevertLink", NULL, error);
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
		g_key_file_set_integer(kf, STATE_GROUP, key, GPOINTER_TO_INT(value));
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
		g_autoptr(GError) error = NULL;

		if (ifindex <= 0)
			continue;
		/* Usually the device is gone and resolved forgot it already. */
		if (revert_link(self, ifindex, &error) < 0)
			g_debug("dns: reverting link %d of %s: %s", ifindex, *p, error->message);
		else
			g_message("dns: reverted resolved link %d (%s) left by a previous run",
				  ifindex, *p);
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
	self->links = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	recover(self);
	return self;
}

static void resolved_destroy(void *priv)
{
	struct dns_resolved *self = priv;

	if (self->bus)
		dbus_connection_unref(self->bus);
	g_hash_table_unref(self->links);
	g_free(self->state_path);
	g_free(self);
}

static int resolved_apply(void *priv, const struct rv_dns_request *req, GError **error)
{
	struct dns_resolved *self = priv;
	int r;

	if (req->ifindex <= 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_UNSUPPORTED,
			    "DNS through systemd-resolved needs a tunnel device (%s has none)",
			    req->key);
		return -EOPNOTSUPP;
	}
	g_hash_table_replace(self->links, g_strdup(req->key), GINT_TO_POINTER(req->ifindex));
	r = save_state(self, error);
	if (r == 0)
		r = set_domains(self, req, error);
	if (r == 0)
		r = set_default_route(self, req, error);
	if (r == 0)
		r = set_dns(self, req, error);
	if (r < 0) {
		/* Half a configuration is worse than none. */
		revert_link(self, req->ifindex, NULL);
		g_hash_table_remove(self->links, req->key);
		save_state(self, NULL);
	}
	return r;
}

static int resolved_revert(void *priv, const char *key, GError **error)
{
	struct dns_resolved *self = priv;
	gpointer value;
	g_autoptr(GError) local = NULL;

	if (!g_hash_table_lookup_extended(self->links, key, NULL, &value))
		return 0;
	/* A link that is already gone has nothing left to revert. */
	if (revert_link(self, GPOINTER_TO_INT(value), &local) < 0)
		g_message("dns: RevertLink for %s: %s", key, local->message);
	g_hash_table_remove(self->links, key);
	return save_state(self, error);
}

static void resolved_set_bus(void *priv, DBusConnection *bus)
{
	struct dns_resolved *self = priv;

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
};

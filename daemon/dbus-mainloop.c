/* dbus-mainloop.c - libdbus driven by the GLib main loop (see dbus-mainloop.h).
 *
 * Owns: the glue between a DBusConnection and the default GMainContext, and the
 * GVariant conversion and path-label helpers used by dbus-service.c and roamvpnctl.
 *
 * The pattern is the one ConnMan and BlueZ use in gdbus/mainloop.c, written here
 * from its description: every
 * enabled DBusWatch is a GIOChannel watch, every enabled DBusTimeout a GLib timeout,
 * and when libdbus says messages are queued we dispatch from an idle source. Nothing
 * wakes up unless the socket or a libdbus timer asks for it.
 *
 * Also owns the keeper, which notices a lost bus (libdbus's Local.Disconnected) and
 * reconnects, so a restarted dbus-daemon does not leave the daemon deaf.
 */
#include "config.h"

#include <string.h>

#include "dbus-mainloop.h"
#include "error.h"

struct conn_data {
	DBusConnection *conn;	/* not a reference: lives as long as the connection's slot */
	guint dispatch_source;
};

/* What a DBusWatch or DBusTimeout carries: its GSource (and the watch's connection). */
struct source_data {
	DBusConnection *conn;	/* watches only */
	guint source;
};

static dbus_int32_t conn_slot = -1;

static gboolean dispatch_idle(gpointer user_data)
{
	struct conn_data *cd = user_data;
	DBusConnection *conn = dbus_connection_ref(cd->conn);
	DBusDispatchStatus status;

	/* One message per iteration so a chatty peer cannot starve other sources. */
	status = dbus_connection_dispatch(conn);
	if (status == DBUS_DISPATCH_DATA_REMAINS) {
		dbus_connection_unref(conn);
		return G_SOURCE_CONTINUE;
	}
	cd->dispatch_source = 0;
	dbus_connection_unref(conn);
	return G_SOURCE_REMOVE;
}

static void queue_dispatch(struct conn_data *cd)
{
	if (cd->dispatch_source)
		return;
	if (dbus_connection_get_dispatch_status(cd->conn) != DBUS_DISPATCH_DATA_REMAINS)
		return;
	cd->dispatch_source = g_idle_add(dispatch_idle, cd);
}

static void dispatch_status_changed(DBusConnection *conn, DBusDispatchStatus status,
				    void *user_data)
{
	struct conn_data *cd = user_data;

	/* libdbus may hold its lock here: only schedule, never dispatch. */
	if (status == DBUS_DISPATCH_DATA_REMAINS && !cd->dispatch_source)
		cd->dispatch_source = g_idle_add(dispatch_idle, cd);
}

static gboolean watch_ready(GIOChannel *channel, GIOCondition cond, gpointer user_data)
{
	DBusWatch *watch = user_data;
	struct source_data *wd = dbus_watch_get_data(watch);
	DBusConnection *conn = dbus_connection_ref(wd->conn);
	struct conn_data *cd = dbus_connection_get_data(conn, conn_slot);
	unsigned int flags = 0;

	if (cond & G_IO_IN)
		flags |= DBUS_WATCH_READABLE;
	if (cond & G_IO_OUT)
		flags |= DBUS_WATCH_WRITABLE;
	if (cond & G_IO_HUP)
		flags |= DBUS_WATCH_HANGUP;
	if (cond & G_IO_ERR)
		flags |= DBUS_WATCH_ERROR;

	/* May remove this very watch (and free wd): touch neither afterwards. */
	dbus_watch_handle(watch, flags);
	if (cd)
		queue_dispatch(cd);
	dbus_connection_unref(conn);
	return G_SOURCE_CONTINUE;
}

static void source_data_free(void *data)
{
	struct source_data *sd = data;

	if (sd->source)
		g_source_remove(sd->source);
	g_free(sd);
}

static dbus_bool_t watch_add(DBusWatch *watch, void *user_data)
{
	struct conn_data *cd = user_data;
	unsigned int flags;
	GIOCondition cond = G_IO_HUP | G_IO_ERR;
	GIOChannel *channel;
	struct source_data *wd;

	dbus_watch_set_data(watch, NULL, NULL);
	if (!dbus_watch_get_enabled(watch))
		return TRUE;

	flags = dbus_watch_get_flags(watch);
	if (flags & DBUS_WATCH_READABLE)
		cond |= G_IO_IN;
	if (flags & DBUS_WATCH_WRITABLE)
		cond |= G_IO_OUT;

	wd = g_new0(struct source_data, 1);
	wd->conn = cd->conn;
	channel = g_io_channel_unix_new(dbus_watch_get_unix_fd(watch));
	wd->source = g_io_add_watch(channel, cond, watch_ready, watch);
	g_io_channel_unref(channel);
	dbus_watch_set_data(watch, wd, source_data_free);
	return TRUE;
}

static void watch_remove(DBusWatch *watch, void *user_data)
{
	dbus_watch_set_data(watch, NULL, NULL);
}

static void watch_toggled(DBusWatch *watch, void *user_data)
{
	/* Enabling and disabling are just add and remove; watch_add handles both. */
	watch_add(watch, user_data);
}

static gboolean timeout_expired(gpointer user_data)
{
	DBusTimeout *timeout = user_data;

	/* libdbus may remove the timeout from inside; GLib then ignores our return. */
	dbus_timeout_handle(timeout);
	return G_SOURCE_CONTINUE;
}

static dbus_bool_t timeout_add(DBusTimeout *timeout, void *user_data)
{
	struct source_data *td;

	dbus_timeout_set_data(timeout, NULL, NULL);
	if (!dbus_timeout_get_enabled(timeout))
		return TRUE;
	td = g_new0(struct source_data, 1);
	td->source = g_timeout_add((guint)dbus_timeout_get_interval(timeout),
				   timeout_expired, timeout);
	dbus_timeout_set_data(timeout, td, source_data_free);
	return TRUE;
}

static void timeout_remove(DBusTimeout *timeout, void *user_data)
{
	dbus_timeout_set_data(timeout, NULL, NULL);
}

static void timeout_toggled(DBusTimeout *timeout, void *user_data)
{
	timeout_add(timeout, user_data);
}

static void conn_data_free(void *data)
{
	struct conn_data *cd = data;

	if (cd->dispatch_source)
		g_source_remove(cd->dispatch_source);
	g_free(cd);
}

void rv_dbus_attach(DBusConnection *conn)
{
	struct conn_data *cd;

	if (conn_slot < 0 && !dbus_connection_allocate_data_slot(&conn_slot))
		g_error("out of memory");
	if (dbus_connection_get_data(conn, conn_slot))
		return;

	cd = g_new0(struct conn_data, 1);
	cd->conn = conn;
	dbus_connection_set_data(conn, conn_slot, cd, conn_data_free);
	dbus_connection_set_watch_functions(conn, watch_add, watch_remove,
					    watch_toggled, cd, NULL);
	dbus_connection_set_timeout_functions(conn, timeout_add, timeout_remove,
					      timeout_toggled, cd, NULL);
	dbus_connection_set_dispatch_status_function(conn, dispatch_status_changed,
						     cd, NULL);
	/* Messages may have arrived before we were attached (e.g. NameAcquired). */
	queue_dispatch(cd);
}

void rv_dbus_detach(DBusConnection *conn)
{
	if (conn_slot < 0 || !dbus_connection_get_data(conn, conn_slot))
		return;
	/* Replacing the functions removes every current watch and timeout. */
	dbus_connection_set_watch_functions(conn, NULL, NULL, NULL, NULL, NULL);
	dbus_connection_set_timeout_functions(conn, NULL, NULL, NULL, NULL, NULL);
	dbus_connection_set_dispatch_status_function(conn, NULL, NULL, NULL);
	dbus_connection_set_data(conn, conn_slot, NULL, NULL);
}

DBusConnection *rv_dbus_open(const char *bus, GError **error)
{
	DBusConnection *conn;
	DBusError err;

	dbus_error_init(&err);
	if (!bus || g_str_equal(bus, "system")) {
		conn = dbus_bus_get_private(DBUS_BUS_SYSTEM, &err);
	} else if (g_str_equal(bus, "session")) {
		conn = dbus_bus_get_private(DBUS_BUS_SESSION, &err);
	} else if (strchr(bus, ':')) {
		conn = dbus_connection_open_private(bus, &err);
		if (conn && !dbus_bus_register(conn, &err)) {
			dbus_connection_close(conn);
			dbus_connection_unref(conn);
			conn = NULL;
		}
	} else {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
			    "bus must be system, session or an address like unix:path=..., not '%s'",
			    bus);
		return NULL;
	}
	if (!conn) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot connect to the %s bus: %s",
			    bus ? bus : "system",
			    dbus_error_is_set(&err) ? err.message : "unknown error");
		dbus_error_free(&err);
		return NULL;
	}
	dbus_connection_set_exit_on_disconnect(conn, FALSE);
	rv_dbus_attach(conn);
	return conn;
}

void rv_dbus_close(DBusConnection *conn)
{
	if (!conn)
		return;
	rv_dbus_detach(conn);
	dbus_connection_close(conn);
	dbus_connection_unref(conn);
}

/* --- the keeper: reconnect after the bus went away ------------------------------- */

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000

struct rv_dbus_keeper {
	char *bus;
	DBusConnection *conn;
	rv_dbus_conn_fn on_connected;
	rv_dbus_conn_fn on_lost;
	void *user_data;
	guint lost_source;
	guint retry_source;
	guint retry_ms;
};

static DBusHandlerResult keeper_filter(DBusConnection *conn, DBusMessage *msg, void *data);

static void keeper_adopt(struct rv_dbus_keeper *k, DBusConnection *conn)
{
	k->conn = conn;
	if (!dbus_connection_add_filter(conn, keeper_filter, k, NULL))
		g_error("out of memory");
}

static gboolean keeper_retry(gpointer data)
{
	struct rv_dbus_keeper *k = data;
	g_autoptr(GError) error = NULL;
	DBusConnection *conn;

	k->retry_source = 0;
	conn = rv_dbus_open(k->bus, &error);
	if (!conn) {
		g_debug("D-Bus: %s; again in %u ms", error->message, k->retry_ms);
		k->retry_source = g_timeout_add(k->retry_ms, keeper_retry, k);
		k->retry_ms = MIN(k->retry_ms * 2, RECONNECT_MAX_MS);
		return G_SOURCE_REMOVE;
	}
	keeper_adopt(k, conn);
	g_message("D-Bus: connected to the %s bus again", k->bus);
	if (k->on_connected)
		k->on_connected(conn, k->user_data);
	return G_SOURCE_REMOVE;
}

/* From an idle source, not from inside the connection's own dispatch. */
static gboolean keeper_lost(gpointer data)
{
	struct rv_dbus_keeper *k = data;
	DBusConnection *conn = k->conn;

	k->lost_source = 0;
	if (!conn)
		return G_SOURCE_REMOVE;
	k->conn = NULL;
	g_warning("D-Bus: lost the %s bus; reconnecting", k->bus);
	if (k->on_lost)
		k->on_lost(conn, k->user_data);
	dbus_connection_remove_filter(conn, keeper_filter, k);
	rv_dbus_close(conn);
	k->retry_ms = RECONNECT_MIN_MS;
	k->retry_source = g_timeout_add(k->retry_ms, keeper_retry, k);
	return G_SOURCE_REMOVE;
}

static DBusHandlerResult keeper_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	struct rv_dbus_keeper *k = data;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected") &&
	    conn == k->conn && !k->lost_source)
		k->lost_source = g_idle_add(keeper_lost, k);
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

struct rv_dbus_keeper *rv_dbus_keeper_new(const char *bus, rv_dbus_conn_fn on_connected,
					  rv_dbus_conn_fn on_lost, void *user_data,
					  GError **error)
{
	DBusConnection *conn = rv_dbus_open(bus, error);
	struct rv_dbus_keeper *k;

	if (!conn)
		return NULL;
	k = g_new0(struct rv_dbus_keeper, 1);
	k->bus = g_strdup(bus ? bus : "system");
	k->on_connected = on_connected;
	k->on_lost = on_lost;
	k->user_data = user_data;
	keeper_adopt(k, conn);
	return k;
}

DBusConnection *rv_dbus_keeper_conn(const struct rv_dbus_keeper *keeper)
{
	return keeper ? keeper->conn : NULL;
}

void rv_dbus_keeper_free(struct rv_dbus_keeper *k)
{
	if (!k)
		return;
	g_clear_handle_id(&k->lost_source, g_source_remove);
	g_clear_handle_id(&k->retry_source, g_source_remove);
	if (k->conn) {
		dbus_connection_remove_filter(k->conn, keeper_filter, k);
		rv_dbus_close(k->conn);
	}
	g_free(k->bus);
	g_free(k);
}

/* --- GVariant <-> DBusMessageIter ---------------------------------------------- */

bool rv_dbus_append_variant(DBusMessageIter *iter, GVariant *value)
{
	const GVariantType *type = g_variant_get_type(value);
	DBusMessageIter sub;
	GVariantIter child_iter;
	GVariant *child;
	bool ok = true;

	if (g_variant_type_is_basic(type)) {
		int dbus_type = (int)*g_variant_get_type_string(value);
		union { dbus_bool_t b; guint8 y; gint16 n; guint16 q; gint32 i; guint32 u;
			gint64 x; guint64 t; double d; const char *s; } v;

		switch (dbus_type) {
		case 'b': v.b = g_variant_get_boolean(value); break;
		case 'y': v.y = g_variant_get_byte(value); break;
		case 'n': v.n = g_variant_get_int16(value); break;
		case 'q': v.q = g_variant_get_uint16(value); break;
		case 'i': v.i = g_variant_get_int32(value); break;
		case 'u': v.u = g_variant_get_uint32(value); break;
		case 'x': v.x = g_variant_get_int64(value); break;
		case 't': v.t = g_variant_get_uint64(value); break;
		case 'd': v.d = g_variant_get_double(value); break;
		case 'h': v.i = g_variant_get_handle(value); break;
		case 's': case 'o': case 'g': v.s = g_variant_get_string(value, NULL); break;
		default: return false;
		}
		return dbus_message_iter_append_basic(iter, dbus_type, &v);
	}

	if (g_variant_type_is_variant(type)) {
		GVariant *inner = g_variant_get_variant(value);

		if (!dbus_message_iter_open_container(iter, DBUS_TYPE_VARIANT,
						      g_variant_get_type_string(inner), &sub)) {
			g_variant_unref(inner);
			return false;
		}
		ok = rv_dbus_append_variant(&sub, inner);
		g_variant_unref(inner);
		return dbus_message_iter_close_container(iter, &sub) && ok;
	}

	if (g_variant_type_is_array(type)) {
		const char *elem = g_variant_get_type_string(value) + 1;
		g_autofree char *elem_sig = g_strdup(elem);

		/* Byte arrays in one go: SSIDs are the common case. */
		if (g_str_equal(elem_sig, "y")) {
			gsize n = 0;
			const guint8 *bytes = g_variant_get_fixed_array(value, &n, 1);

			if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, "y", &sub))
				return false;
			if (n)
				ok = dbus_message_iter_append_fixed_array(&sub, DBUS_TYPE_BYTE,
									  &bytes, (int)n);
			return dbus_message_iter_close_container(iter, &sub) && ok;
		}
		if (!dbus_message_iter_open_container(iter, DBUS_TYPE_ARRAY, elem_sig, &sub))
			return false;
		g_variant_iter_init(&child_iter, value);
		while (ok && (child = g_variant_iter_next_value(&child_iter))) {
			ok = rv_dbus_append_variant(&sub, child);
			g_variant_unref(child);
		}
		return dbus_message_iter_close_container(iter, &sub) && ok;
	}

	if (g_variant_type_is_dict_entry(type) || g_variant_type_is_tuple(type)) {
		int container = g_variant_type_is_dict_entry(type) ? DBUS_TYPE_DICT_ENTRY
								  : DBUS_TYPE_STRUCT;

		if (!dbus_message_iter_open_container(iter, container, NULL, &sub))
			return false;
		g_variant_iter_init(&child_iter, value);
		while (ok && (child = g_variant_iter_next_value(&child_iter))) {
			ok = rv_dbus_append_variant(&sub, child);
			g_variant_unref(child);
		}
		return dbus_message_iter_close_container(iter, &sub) && ok;
	}
	return false;
}

static GVariant *iter_to_variant_floating(DBusMessageIter *iter)
{
	int type = dbus_message_iter_get_arg_type(iter);
	DBusMessageIter sub;

	switch (type) {
	case DBUS_TYPE_BOOLEAN: {
		dbus_bool_t b;

		dbus_message_iter_get_basic(iter, &b);
		return g_variant_new_boolean(b);
	}
	case DBUS_TYPE_BYTE: {
		guint8 y;

		dbus_message_iter_get_basic(iter, &y);
		return g_variant_new_byte(y);
	}
	case DBUS_TYPE_INT16: { gint16 n; dbus_message_iter_get_basic(iter, &n); return g_variant_new_int16(n); }
	case DBUS_TYPE_UINT16: { guint16 q; dbus_message_iter_get_basic(iter, &q); return g_variant_new_uint16(q); }
	case DBUS_TYPE_INT32: { gint32 i; dbus_message_iter_get_basic(iter, &i); return g_variant_new_int32(i); }
	case DBUS_TYPE_UINT32: { guint32 u; dbus_message_iter_get_basic(iter, &u); return g_variant_new_uint32(u); }
	case DBUS_TYPE_INT64: { gint64 x; dbus_message_iter_get_basic(iter, &x); return g_variant_new_int64(x); }
	case DBUS_TYPE_UINT64: { guint64 t; dbus_message_iter_get_basic(iter, &t); return g_variant_new_uint64(t); }
	case DBUS_TYPE_DOUBLE: { double d; dbus_message_iter_get_basic(iter, &d); return g_variant_new_double(d); }
	case DBUS_TYPE_UNIX_FD: { gint32 h; dbus_message_iter_get_basic(iter, &h); return g_variant_new_handle(h); }
	case DBUS_TYPE_STRING: case DBUS_TYPE_OBJECT_PATH: case DBUS_TYPE_SIGNATURE: {
		const char *s;

		dbus_message_iter_get_basic(iter, &s);
		/* libdbus validated these already; GVariant checks again for o and g. */
		if (type == DBUS_TYPE_OBJECT_PATH)
			return g_variant_new_object_path(s);
		if (type == DBUS_TYPE_SIGNATURE)
			return g_variant_new_signature(s);
		return g_variant_new_string(s);
	}
	case DBUS_TYPE_VARIANT: {
		GVariant *inner;

		dbus_message_iter_recurse(iter, &sub);
		inner = iter_to_variant_floating(&sub);
		return inner ? g_variant_new_variant(inner) : NULL;
	}
	case DBUS_TYPE_ARRAY: {
		g_autofree char *sig = dbus_message_iter_get_signature(iter);
		GVariantBuilder builder;

		if (!g_variant_type_string_is_valid(sig))
			return NULL;
		if (dbus_message_iter_get_element_type(iter) == DBUS_TYPE_BYTE) {
			const guint8 *bytes = NULL;
			int n = 0;

			dbus_message_iter_recurse(iter, &sub);
			dbus_message_iter_get_fixed_array(&sub, &bytes, &n);
			return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, bytes, (gsize)n, 1);
		}
		g_variant_builder_init(&builder, G_VARIANT_TYPE(sig));
		dbus_message_iter_recurse(iter, &sub);
		while (dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID) {
			GVariant *child = iter_to_variant_floating(&sub);

			if (!child) {
				g_variant_builder_clear(&builder);
				return NULL;
			}
			g_variant_builder_add_value(&builder, child);
			dbus_message_iter_next(&sub);
		}
		return g_variant_builder_end(&builder);
	}
	case DBUS_TYPE_STRUCT: case DBUS_TYPE_DICT_ENTRY: {
		GPtrArray *children = g_ptr_array_new();
		GVariant *result;

		dbus_message_iter_recurse(iter, &sub);
		while (dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID) {
			GVariant *child = iter_to_variant_floating(&sub);

			if (!child) {
				for (guint i = 0; i < children->len; i++)
					g_variant_unref(g_variant_ref_sink(children->pdata[i]));
				g_ptr_array_unref(children);
				return NULL;
			}
			g_ptr_array_add(children, child);
			dbus_message_iter_next(&sub);
		}
		if (type == DBUS_TYPE_DICT_ENTRY && children->len == 2)
			result = g_variant_new_dict_entry(children->pdata[0], children->pdata[1]);
		else
			result = g_variant_new_tuple((GVariant **)children->pdata, children->len);
		g_ptr_array_unref(children);
		return result;
	}
	default:
		return NULL;
	}
}

GVariant *rv_dbus_iter_to_variant(DBusMessageIter *iter)
{
	GVariant *v = iter_to_variant_floating(iter);

	return v ? g_variant_ref_sink(v) : NULL;
}

GVariant *rv_dbus_message_to_variant(DBusMessage *message)
{
	DBusMessageIter iter;
	GVariantBuilder builder;

	g_variant_builder_init(&builder, G_VARIANT_TYPE_TUPLE);
	if (dbus_message_iter_init(message, &iter)) {
		do {
			GVariant *child = iter_to_variant_floating(&iter);

			if (!child) {
				g_variant_builder_clear(&builder);
				return NULL;
			}
			g_variant_builder_add_value(&builder, child);
		} while (dbus_message_iter_next(&iter));
	}
	return g_variant_ref_sink(g_variant_builder_end(&builder));
}

bool rv_dbus_append_tuple(DBusMessage *message, GVariant *tuple)
{
	DBusMessageIter iter;
	GVariantIter children;
	GVariant *child;
	bool ok = true;

	dbus_message_iter_init_append(message, &iter);
	g_variant_iter_init(&children, tuple);
	while ((child = g_variant_iter_next_value(&children))) {
		ok = ok && rv_dbus_append_variant(&iter, child);
		g_variant_unref(child);
	}
	return ok;
}

/* --- object path labels ---------------------------------------------------------- */

char *rv_dbus_label_escape(const char *name)
{
	GString *out;

	if (!*name)
		return g_strdup("_");
	out = g_string_sized_new(strlen(name) * 3);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (g_ascii_isalnum(*p))
			g_string_append_c(out, (char)*p);
		else
			g_string_append_printf(out, "_%02x", *p);
	}
	return g_string_free(out, FALSE);
}

char *rv_dbus_label_unescape(const char *label)
{
	GString *out;

	if (g_str_equal(label, "_"))
		return g_strdup("");
	out = g_string_new(NULL);
	for (const char *p = label; *p; p++) {
		if (g_ascii_isalnum(*p)) {
			g_string_append_c(out, *p);
		} else if (*p == '_' && g_ascii_isxdigit(p[1]) && g_ascii_isxdigit(p[2])) {
			char c = (char)(g_ascii_xdigit_value(p[1]) << 4 | g_ascii_xdigit_value(p[2]));

			if (c == '\0')
				goto bad;
			g_string_append_c(out, c);
			p += 2;
		} else {
			goto bad;
		}
	}
	if (out->len == 0)
		goto bad;
	return g_string_free(out, FALSE);
bad:
	g_string_free(out, TRUE);
	return NULL;
}

/* --- errors ------------------------------------------------------------------------ */

void rv_dbus_error_to_gerror(const DBusError *dbus_error, GError **error)
{
	static const int codes[] = { RV_ERROR_INVALID, RV_ERROR_NOT_FOUND, RV_ERROR_BUSY,
				     RV_ERROR_PERMISSION, RV_ERROR_UNSUPPORTED };
	int code = RV_ERROR_FAILED;

	for (gsize i = 0; i < G_N_ELEMENTS(codes); i++) {
		if (dbus_error_has_name(dbus_error, rv_error_dbus_name(codes[i])))
			code = codes[i];
	}
	/* The bus refuses by policy with AccessDenied: that is our PermissionDenied. */
	if (dbus_error_has_name(dbus_error, DBUS_ERROR_ACCESS_DENIED))
		code = RV_ERROR_PERMISSION;
	g_set_error_literal(error, RV_ERROR, code,
			    dbus_error->message ? dbus_error->message : dbus_error->name);
}

/* dbus-mainloop.h - libdbus on the GLib main loop, plus the small bus helpers that
 * both the daemon and roamvpnctl need (GVariant <-> message conversion, object
 * path labels).
 *
 * DBusWatch and DBusTimeout become GSources on the default main context, and
 * dispatching runs from an idle source while data remains: no threads, no polling.
 */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>
#include <stdbool.h>

/* "system", "session" or a "unix:..." address. The connection is attached to the
 * main loop, registered with the bus, and does not exit the process on disconnect.
 * It is a private connection: release it with rv_dbus_close(). */
DBusConnection *rv_dbus_open(const char *bus, GError **error);
void rv_dbus_attach(DBusConnection *conn);
void rv_dbus_detach(DBusConnection *conn);
/* Detach, close and unref a connection from rv_dbus_open(). */
void rv_dbus_close(DBusConnection *conn);

/* A bus connection that comes back. When the bus goes away (dbus-daemon restarted),
 * on_lost runs with the dying connection (unregister objects, forget it), the
 * connection is closed, and rv_dbus_open() is retried with backoff (100 ms doubling
 * to 5 s) until the bus is back; then on_connected runs with the new connection
 * (export objects, request the name again). The first connection is made by
 * rv_dbus_keeper_new() itself (an error then is the caller's), without on_connected. */
typedef void (*rv_dbus_conn_fn)(DBusConnection *conn, void *user_data);
struct rv_dbus_keeper;
struct rv_dbus_keeper *rv_dbus_keeper_new(const char *bus, rv_dbus_conn_fn on_connected,
					  rv_dbus_conn_fn on_lost, void *user_data,
					  GError **error);
/* The current connection, NULL while the bus is away. */
DBusConnection *rv_dbus_keeper_conn(const struct rv_dbus_keeper *keeper);
/* Closes the connection (without on_lost) and stops retrying. */
void rv_dbus_keeper_free(struct rv_dbus_keeper *keeper);

/* Append value (of any D-Bus-compatible GVariant type) at iter. A GVariant of
 * type "v" becomes a D-Bus variant. Returns false on out-of-memory or a type
 * D-Bus cannot carry (maybe types). */
bool rv_dbus_append_variant(DBusMessageIter *iter, GVariant *value);
/* The value at iter as a GVariant (floating reference sunk: caller owns it). */
GVariant *rv_dbus_iter_to_variant(DBusMessageIter *iter);
/* All arguments of a message as one tuple. */
GVariant *rv_dbus_message_to_variant(DBusMessage *message);
/* The other way: each element of tuple (not consumed) appended as one argument of
 * message. false as rv_dbus_append_variant(); the message is then incomplete. */
bool rv_dbus_append_tuple(DBusMessage *message, GVariant *tuple);

/* Object path label for an arbitrary name, as systemd does it: [A-Za-z0-9] stay,
 * every other byte becomes _XX (lower-case hex); "" becomes "_". Reversible. */
char *rv_dbus_label_escape(const char *name);
/* Inverse; NULL if label is not a valid escape. */
char *rv_dbus_label_unescape(const char *label);

/* Copy a D-Bus error into a GError (RV_ERROR domain; the code is recovered from
 * net.roamvpn1.Error.* names, everything else is RV_ERROR_FAILED). */
void rv_dbus_error_to_gerror(const DBusError *dbus_error, GError **error);

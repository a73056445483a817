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

/* Append value (of any D-Bus-compatible GVariant type) at iter. A GVariant of
 * type "v" becomes a D-Bus variant. Returns false on out-of-memory or a type
 * D-Bus cannot carry (maybe types). */
bool rv_dbus_append_variant(DBusMessageIter *iter, GVariant *value);
/* The value at iter as a GVariant (floating reference sunk: caller owns it). */
GVariant *rv_dbus_iter_to_variant(DBusMessageIter *iter);
/* All arguments of a message as one tuple. */
GVariant *rv_dbus_message_to_variant(DBusMessage *message);

/* Object path label for an arbitrary name, as systemd does it: [A-Za-z0-9] stay,
 * every other byte becomes _XX (lower-case hex); "" becomes "_". Reversible. */
char *rv_dbus_label_escape(const char *name);
/* Inverse; NULL if label is not a valid escape. */
char *rv_dbus_label_unescape(const char *label);

/* Copy a D-Bus error into a GError (RV_ERROR domain; the code is recovered from
 * net.roamvpn1.Error.* names, everything else is RV_ERROR_FAILED). */
void rv_dbus_error_to_gerror(const DBusError *dbus_error, GError **error);

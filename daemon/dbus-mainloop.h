/* dbus-mainloop.h - libdbus on the GLib main loop.
 *
 * DBusWatch and DBusTimeout become GSources on the default main context, and
 * dispatching runs from an idle source while data remains: no threads, no polling.
 */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>

/* "system", "session" or a "unix:..." address. The connection is attached to the
 * main loop, registered with the bus, and does not exit the process on disconnect. */
DBusConnection *rv_dbus_open(const char *bus, GError **error);
void rv_dbus_attach(DBusConnection *conn);
void rv_dbus_detach(DBusConnection *conn);

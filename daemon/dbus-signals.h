/* dbus-signals.h - the change signals of net.roamvpn1 (dbus-signals.c): after a
 * core event, PropertiesChanged with what differs from what was last announced,
 * InterfacesAdded/Removed, and the manager's Event. Used by dbus-service.c only. */
#pragma once

#include <dbus/dbus.h>

/* Snapshots every object as announced and subscribes to core events. */
void rv_dbus_signals_start(DBusConnection *conn);
/* Sends a pending (idle-batched) change of the manager now: a caller sees it
 * before any reply. */
void rv_dbus_signals_flush(void);
void rv_dbus_signals_stop(void);

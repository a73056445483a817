/* dbus-service.h - net.roamvpn1 on the bus: Manager, Tunnel and Link objects,
 * ObjectManager, Properties with PropertiesChanged. The interfaces themselves are
 * declared in dbus-interfaces.c; the names in protocol.h. */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>

#include "dbus-interfaces.h"
#include "protocol.h"

/* Export every object, subscribe to core events, then request the name
 * (fails if it is taken). */
int rv_dbus_service_init(DBusConnection *conn, GError **error);
void rv_dbus_service_exit(void);
/* The group whose members may call mutating methods besides root when polkit is
 * not running (roamvpn.conf AdminGroup=; dbus-auth.h); the default is the build's
 * dbus_group. NULL restores the default. */
void rv_dbus_service_set_admin_group(const char *group);

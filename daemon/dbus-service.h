/* dbus-service.h - net.roamvpn1 on the bus: Manager, Tunnel and Link objects,
 * ObjectManager, Properties with PropertiesChanged. */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>

#define RV_DBUS_NAME "net.roamvpn1"
#define RV_DBUS_PATH "/net/roamvpn1"
#define RV_DBUS_MANAGER_IFACE "net.roamvpn1.Manager"
#define RV_DBUS_TUNNEL_IFACE "net.roamvpn1.Tunnel"
#define RV_DBUS_LINK_IFACE "net.roamvpn1.Link"

/* Export every object, subscribe to core events, then request the name
 * (fails if it is taken). */
int rv_dbus_service_init(DBusConnection *conn, GError **error);
void rv_dbus_service_exit(void);

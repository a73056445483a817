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
#define RV_DBUS_TUNNEL_PREFIX RV_DBUS_PATH "/tunnel"
#define RV_DBUS_LINK_PREFIX RV_DBUS_PATH "/link"

/* Export every object, subscribe to core events, then request the name
 * (fails if it is taken). */
int rv_dbus_service_init(DBusConnection *conn, GError **error);
void rv_dbus_service_exit(void);
/* The group whose members may call mutating methods besides root (roamvpn.conf
 * AdminGroup=); the default is the build's dbus_group. The bus policy is checked
 * first, so a caller needs both. NULL restores the default. */
void rv_dbus_service_set_admin_group(const char *group);

/* Object paths for a tunnel or link name (escaped with rv_dbus_label_escape). */
char *rv_dbus_tunnel_path(const char *name);
char *rv_dbus_link_path(const char *ifname);

/* The <interface> element the service returns in Introspect for iface (one of the
 * three RV_DBUS_*_IFACE names), NULL for others. Tests compare it with data/. */
const char *rv_dbus_service_interface_xml(const char *iface);

/* dbus-interfaces.h - the tables of net.roamvpn1's own interfaces (dbus-interfaces.c). */
#pragma once

#include "dbus-table.h"
#include "protocol.h"

extern const struct rv_dbus_interface rv_dbus_manager_iface;
extern const struct rv_dbus_interface rv_dbus_tunnel_iface;
extern const struct rv_dbus_interface rv_dbus_link_iface;
/* All three, NULL-terminated. */
extern const struct rv_dbus_interface *const rv_dbus_interfaces[];

/* Object paths for a tunnel or link name (escaped with rv_dbus_label_escape). */
char *rv_dbus_tunnel_path(const char *name);
char *rv_dbus_link_path(const char *ifname);

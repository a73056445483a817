/* protocol.h - the names other programs depend on, in one place.
 *
 * Shared by roamvpnd, roamvpnctl, roamvpn-hook and roamvpn-applet so that a name
 * is typed once: the D-Bus bus name, object paths and interface names, the polkit
 * action ids that guard mutating calls, and the wire format of a hook report.
 * Plain macros only: roamvpn-hook includes this without GLib.
 */
#pragma once

/* --- D-Bus (docs/manager-api.txt, docs/tunnel-api.txt, docs/link-api.txt) --- */
#define RV_DBUS_NAME "net.roamvpn1"
#define RV_DBUS_PATH "/net/roamvpn1"
#define RV_DBUS_MANAGER_IFACE "net.roamvpn1.Manager"
#define RV_DBUS_TUNNEL_IFACE "net.roamvpn1.Tunnel"
#define RV_DBUS_LINK_IFACE "net.roamvpn1.Link"
#define RV_DBUS_TUNNEL_PREFIX RV_DBUS_PATH "/tunnel"
#define RV_DBUS_LINK_PREFIX RV_DBUS_PATH "/link"
#define RV_DBUS_PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define RV_DBUS_INTROSPECTABLE_IFACE "org.freedesktop.DBus.Introspectable"
#define RV_DBUS_OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

/* --- polkit actions (data/net.roamvpn1.policy) --- */
/* Connect, Disconnect, Pause, Resume, Portal: for the person at the keyboard. */
#define RV_POLKIT_ACTION_CONTROL "net.roamvpn1.control"
/* Reload: re-reads every configuration file, so an administrator's. */
#define RV_POLKIT_ACTION_RELOAD "net.roamvpn1.reload"

/* --- hook reports (roamvpn-hook -> roamvpnd, see daemon/hook-server.h) --- */
/* Client to daemon, then the client shuts down its write side:
 *   RV_HOOK_MAGIC NUL, per argument "A" ARG NUL, per variable "E" NAME=VALUE NUL.
 * Reply: "OK\n" or "ERROR message\n". */
#define RV_HOOK_MAGIC "ROAMVPN-HOOK 1"
#define RV_HOOK_MAX_REPORT (64 * 1024)
/* The socket, in the child's environment (pppd clears it: --socket=PATH then). */
#define RV_HOOK_SOCKET_ENV "ROAMVPN_HOOK_SOCKET"
#define RV_HOOK_SOCKET_NAME "hook.sock"

/* hook-report.h - what a vpnc, OpenVPN or pppd report (via roamvpn-hook) means.
 *
 * vpnc runs its script with reason=pre-init|connect|disconnect|reconnect and the
 * vpnc-script variables (TUNDEV, INTERNAL_IP4_ADDRESS, INTERNAL_IP4_NETMASKLEN,
 * INTERNAL_IP4_DNS, CISCO_DEF_DOMAIN, CISCO_SPLIT_INC_n_ADDR/_MASKLEN,
 * VPNGATEWAY, INTERNAL_IP4_MTU). pppd runs ip-up/ip-down with argv
 * "ifname tty speed local remote [ipparam]" and IFNAME, IPLOCAL, IPREMOTE, DNS1,
 * DNS2; ip-down adds CONNECT_TIME. OpenVPN runs --route-up/--down with
 * script_type=route-up|down, dev, ifconfig_local, ifconfig_netmask,
 * route_network_N/route_netmask_N, foreign_option_N ("dhcp-option DNS ..."),
 * trusted_ip. strongSwan's updown: PLUTO_VERB=up-client|down-client,
 * PLUTO_MY_SOURCEIP, PLUTO_PEER_CLIENT, PLUTO_PEER, PLUTO_DNS4_N. openconnect's script
 * gets vpnc's variables. Every value is untrusted and validated.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "tunnel.h"

enum rv_hook_event {
	RV_HOOK_IGNORE,		/* pre-init, reconnect, ...: nothing to do */
	RV_HOOK_UP,		/* *net filled */
	RV_HOOK_DOWN,
};

/* The wire format of a report (see hook-server.h): "ROAMVPN-HOOK 1" NUL, then per
 * argument "A" ARG NUL and per variable "E" NAME=VALUE NUL. Appends the arguments
 * (char *, owned) to argv and the variables to env (char * -> char *, owned; a
 * repeated name keeps the last). False if data is not such a report. */
bool rv_hook_wire_parse(const guint8 *data, gsize len, GPtrArray *argv, GHashTable *env);

/* Returns the event, or -EINVAL with error set for a report that makes no sense. */
int rv_hook_report_parse(char **argv, GHashTable *env, struct rv_tunnel_net **net,
			 GError **error);

/* wifi.h - Wi-Fi association from nl80211 (libnl-genl, "mlme" multicast group).
 *
 * Feeds rv_links_set_wifi() on CONNECT, ROAM and DISCONNECT; finds the SSID from
 * the CONNECT request IEs, a GET_SCAN dump (associated BSS), GET_INTERFACE, or wext
 * SIOCGIWESSID, in that order. Without nl80211 the daemon runs on without Wi-Fi
 * facts and says so once.
 */
#pragma once

#include <glib.h>

int rv_wifi_init(GError **error);
void rv_wifi_exit(void);
/* Query the current association of a wlan link (on link appearance, at start). */
void rv_wifi_refresh(int ifindex);

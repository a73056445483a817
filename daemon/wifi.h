/* wifi.h - Wi-Fi association from nl80211 (libnl-genl, "mlme" multicast group).
 *
 * Feeds rv_links_set_wifi() on CONNECT, ROAM and DISCONNECT; finds the SSID from
 * the CONNECT request IEs, a GET_SCAN dump (associated BSS), GET_INTERFACE, or wext
 * SIOCGIWESSID, in that order. Without nl80211 the daemon runs on without Wi-Fi
 * facts and says so once.
 *
 * Whether a link is joined is not decided here: CONNECT also fires for a WPA2
 * network whose 4-way handshake will fail. links.c keeps RUNNING/operstate from
 * rtnetlink, and rv_link_is_active() combines both.
 */
#pragma once

#include <glib.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <stdint.h>

/* Opens the nl80211 event socket and hooks it into the default GLib main context,
 * then reads the current association of every station interface. From then on it
 * follows RV_EVENT_LINK_ADDED itself: a new wlan link is queried from an idle
 * callback (never inside the event).
 * Returns 0 also when nl80211 is absent (no cfg80211 in the kernel): it then logs
 * "nl80211 not available: running without Wi-Fi facts" once, and a later
 * rv_wifi_refresh() tries again quietly (the module may be loaded after us).
 * A negative errno with *error set only for real failures (out of memory, socket
 * errors other than a missing family). */
int rv_wifi_init(GError **error);
void rv_wifi_exit(void);
/* True when the nl80211 monitor is running. */
gboolean rv_wifi_available(void);
/* Query the current association of a wlan link (on link appearance, at start) and
 * report it through rv_links_set_wifi(). Quietly does nothing for links that are
 * not nl80211 stations, or when nl80211 is absent. Synchronous (bounded by a 200 ms
 * socket timeout): the kernel answers from memory. */
void rv_wifi_refresh(int ifindex);

/* One SSID source on its own, for the VM test: "scan" (GET_SCAN, associated BSS),
 * "interface" (GET_INTERFACE NL80211_ATTR_SSID) or "wext" (SIOCGIWESSID). Returns 0 and
 * fills ssid[0..*ssid_len), -ENOENT when that source has no SSID, -EINVAL for an unknown
 * source name. The daemon itself uses them in that order (see docs/wifi.md). */
int rv_wifi_read_ssid(int ifindex, const char *source, uint8_t ssid[32], size_t *ssid_len);

/* What the event socket does with one received message: parse it and, for CONNECT,
 * ROAM and DISCONNECT, call rv_links_set_wifi(). For unit tests (without a socket the
 * SSID fallbacks find nothing but wext). Returns 0 when acted on, -ENOENT for other
 * commands, -EINVAL for a malformed message (ignored). */
int rv_wifi_handle_message(const struct nlmsghdr *hdr);

/* For the recorder in tests/vm: called with every nl80211 message wifi.c parses
 * ("event", "scan", "interface"), before parsing. NULL turns it off. */
typedef void (*rv_wifi_tap_fn)(const char *kind, const struct nlmsghdr *hdr);
void rv_wifi_set_tap(rv_wifi_tap_fn tap);

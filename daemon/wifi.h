/* wifi.h - Wi-Fi association from nl80211 (libnl-genl, "mlme" multicast group).
 *
 * Feeds rv_links_set_wifi() on CONNECT, ROAM and DISCONNECT; finds the SSID from
 * the CONNECT request IEs, a GET_SCAN dump (associated BSS), GET_INTERFACE, or wext
 * SIOCGIWESSID, in that order. The nl80211 queries are asynchronous (nl-queue.h):
 * nothing here blocks the main loop. Without nl80211 the daemon runs on without Wi-Fi
 * facts and says so once.
 *
 * Implemented by wifi.c (sockets, events) and wifi-report.c (per-link reports and
 * their lookups); wifi-report.h is what the two share.
 *
 * Whether a link is joined is not decided here: CONNECT also fires for a WPA2
 * network whose 4-way handshake will fail. links.c keeps RUNNING/operstate from
 * rtnetlink, and rv_link_is_active() combines both.
 */
#pragma once

#include <glib.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opens the nl80211 sockets and hooks them into the default GLib main context, then
 * asks for the current association of every station interface (answered later, from
 * the loop). From then on it follows the link events itself: a new wlan link is
 * refreshed from an idle callback (never inside the event), and a removed link's
 * pending reports and queries are dropped.
 * Returns 0 also when nl80211 is absent (no cfg80211 in the kernel): it then logs
 * "nl80211 not available: running without Wi-Fi facts" once, and a later
 * rv_wifi_refresh() tries again quietly (the module may be loaded after us).
 * A negative errno with *error set only for real failures (out of memory, socket
 * errors other than a missing family). */
int rv_wifi_init(GError **error);
/* Closes the sockets; queries in flight are dropped and no callback of this file runs
 * after it. */
void rv_wifi_exit(void);
/* True when the nl80211 monitor is running. */
gboolean rv_wifi_available(void);
/* Starts reading the current association of a wlan link (on link appearance, at start):
 * GET_INTERFACE (a station?) then a GET_SCAN dump (the associated BSS), both
 * asynchronous; the outcome reaches rv_links_set_wifi() from the main loop, after any
 * earlier event of that link. Quietly does nothing for links that are not nl80211
 * stations, or when nl80211 is absent. */
void rv_wifi_refresh(int ifindex);

/* What a refresh found, for rv_wifi_refresh_to(). */
struct rv_wifi_state {
	int ifindex;
	bool station;		/* false: not an nl80211 station (or no nl80211); nothing more */
	bool connected;
	const uint8_t *ssid;	/* NULL: unknown */
	size_t ssid_len;
	const uint8_t *bssid;	/* NULL: unknown */
};
typedef void (*rv_wifi_state_fn)(const struct rv_wifi_state *state, void *user_data);
/* rv_wifi_refresh() with the outcome going to fn instead of rv_links_set_wifi() (the VM
 * test labels it so). fn runs once: from the main loop, or before this returns when
 * nl80211 is absent; never when the link is removed or rv_wifi_exit() runs first. */
void rv_wifi_refresh_to(int ifindex, rv_wifi_state_fn fn, void *user_data);

/* One SSID source on its own, for the VM test: "scan" (GET_SCAN, associated BSS),
 * "interface" (GET_INTERFACE NL80211_ATTR_SSID) or "wext" (SIOCGIWESSID). fn gets 0 and
 * ssid[0..ssid_len), -ENOENT when that source has no SSID, -EINVAL for an unknown source
 * name; source is the name asked for ("unknown" for a name not in the list). The
 * nl80211 sources answer from the main loop; "wext" and unknown names may call fn
 * before this returns. Same lifetime rule as rv_wifi_refresh_to(). The daemon itself
 * uses the sources in that order (see docs/wifi.md). */
typedef void (*rv_wifi_ssid_fn)(int ifindex, const char *source, int result,
				const uint8_t *ssid, size_t ssid_len, void *user_data);
void rv_wifi_read_ssid(int ifindex, const char *source, rv_wifi_ssid_fn fn, void *user_data);

/* What the event socket does with one received message: parse it and, for CONNECT,
 * ROAM and DISCONNECT, report to rv_links_set_wifi(). Returns 0 when acted on, -ENOENT
 * for other commands, -EINVAL for a malformed message (ignored). A CONNECT or ROAM
 * without an SSID in its request IEs is reported once the SSID lookup ends; without a
 * query socket (unit tests, no rv_wifi_init()) the nl80211 fallbacks fail at once, so
 * rv_links_set_wifi() runs before this returns. */
int rv_wifi_handle_message(const struct nlmsghdr *hdr);

/* For unit tests: the queries go to sock (connected, e.g. to a fake peer standing in
 * for nl80211) with family as nl80211's id and timeout_ms as the bound of each query;
 * the socket is the query queue's from now on. Replaces the query socket of an earlier
 * rv_wifi_init(); rv_wifi_exit() closes it. */
struct nl_sock;
void rv_wifi_use_query_socket(struct nl_sock *sock, int family, guint timeout_ms);

/* For the recorder in tests/vm: called with every nl80211 message wifi.c and
 * wifi-report.c parse ("event", "scan", "interface"), before parsing. NULL turns it off. */
typedef void (*rv_wifi_tap_fn)(const char *kind, const struct nlmsghdr *hdr);
void rv_wifi_set_tap(rv_wifi_tap_fn tap);

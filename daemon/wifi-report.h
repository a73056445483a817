/* wifi-report.h - what wifi.c hands to wifi-report.c: per-link reports and the
 * nl80211 lookups behind them. Not for use outside the wifi subsystem (wifi.h is
 * its public face; rv_wifi_read_ssid() and rv_wifi_set_tap() are implemented in
 * wifi-report.c).
 *
 * Data flows one way: wifi.c decodes events and owns the sockets, this side turns
 * them into calls of rv_links_set_wifi() (or a caller's function), in event order
 * per link. Nothing here calls back into wifi.c.
 */
#pragma once

#include <glib.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "nl80211-parse.h"
#include "wifi.h"

struct rv_nl_queue;

/* The query queue wifi.c opened and nl80211's family id, borrowed until the next
 * call. NULL (no nl80211, unit tests without a fake peer, after close): every query
 * fails at once and the lookups fall through to wext, so a report is still made. */
void rv_wifi_report_use_queries(struct rv_nl_queue *queue, int family);

/* A CONNECT or ROAM (what: "connected", "roamed"): reported as connected with the
 * event's BSSID, and the SSID from its request IEs or else looked up (GET_SCAN,
 * GET_INTERFACE, wext). */
void rv_wifi_report_connected(const struct rv_wifi_event *event, const char *what);
/* A DISCONNECT or a failed CONNECT: message (taken) is logged and the link reported
 * not connected, after the link's earlier reports. */
void rv_wifi_report_not_connected(int ifindex, char *message);
/* The current association of a link: GET_INTERFACE (a station?) then GET_SCAN, to fn
 * or, with fn NULL, to the view. */
void rv_wifi_report_refresh(int ifindex, rv_wifi_state_fn fn, void *user_data);
/* The link went away: its reports are dropped unsaid and their queries cancelled. */
void rv_wifi_report_drop(int ifindex);
/* Frees every report without saying anything; only after the queue is gone, since a
 * query in flight points at its report. */
void rv_wifi_report_clear(void);

/* Shared with wifi.c's event side. */
/* The interface's name for logs, "#IFINDEX" when it has none (any more). */
const char *rv_wifi_ifname(int ifindex, char buf[IF_NAMESIZE]);
/* A station or P2P client: an interface that associates with an AP. */
gboolean rv_wifi_is_station(const struct rv_wifi_iface *iface);
/* Hands a message about to be parsed to the rv_wifi_set_tap() recorder, if any. */
void rv_wifi_tap_message(const char *kind, const struct nlmsghdr *hdr);

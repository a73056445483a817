/* link.h - the network view: one struct rv_link per kernel interface.
 *
 * links.c owns these objects and keeps them current from rtnetlink events
 * (RTM_NEWLINK/DELLINK, addresses, routes, neighbours); wifi.c adds what nl80211
 * says about association. Everyone else reads them and never frees them. They hold
 * facts only: what the policy decided is kept by the manager (manager.h), and which
 * devices are tunnels by the supervisor (supervisor.h).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct rv_link {
	int ifindex;
	char *name;		/* the kernel's bytes: not always UTF-8 */
	char *name_text;	/* name escaped (ssid.h rv_text_escape), or NULL when it is text */
	char *type;		/* "ether", "wlan", "wwan", "loopback", "ppp", "none", ... */
	char *kind;		/* rtnl link kind ("veth", "tun", "bridge", ...) or NULL */
	unsigned int flags;	/* IFF_* */
	uint8_t operstate;	/* IF_OPER_* */
	bool carrier;
	uint8_t mac[6];
	bool has_mac;
	GPtrArray *addresses;	/* char *, "ADDR/PREFIXLEN" */

	char *gateway;		/* IP of the default route's gateway through this link */
	uint8_t gateway_mac[6];	/* from the neighbour table */
	bool has_gateway_mac;

	/* Wi-Fi facts from nl80211 (wifi.c); all unset on other links. */
	bool wifi_connected;	/* CONNECT/ROAM seen, no DISCONNECT since */
	GBytes *ssid;		/* NULL when unknown */
	uint8_t bssid[6];
	bool has_bssid;
};

/* Up, carrier, and for Wi-Fi really joined (RUNNING with operstate UP, which WPA
 * reaches only after the 4-way handshake). Only active links take part in policy. */
bool rv_link_is_active(const struct rv_link *link);
/* The name for D-Bus, logs and JSON: valid UTF-8 always. */
const char *rv_link_name_text(const struct rv_link *link);
/* "associated", "connecting", "disconnected" or NULL for links that are not wlan. */
const char *rv_link_wifi_state(const struct rv_link *link);
char *rv_mac_to_string(const uint8_t mac[6]);
bool rv_mac_parse(const char *text, uint8_t mac[6]);

/* links.c */
int rv_links_init(GError **error);
void rv_links_exit(void);
struct rv_link *rv_links_lookup_index(int ifindex);
struct rv_link *rv_links_lookup_name(const char *name);
/* Links in ifindex order; the array is owned by the caller, the links are not. */
GPtrArray *rv_links_list(void);
/* Counters, for tests and benchmarks: how much work the events caused. */
struct rv_links_stats {
	guint64 events;		/* cache change callbacks (one per object that changed) */
	guint64 syncs;		/* refresh passes (one per batch of events) */
	guint64 refreshed;	/* links looked at by those passes */
	guint64 overruns;	/* receive buffer overruns (ENOBUFS) */
	guint64 resyncs;	/* dumps compared against the caches */
};
void rv_links_get_stats(struct rv_links_stats *stats);
/* Called by wifi-report.c. ssid may be NULL (unknown). connected=false clears SSID/BSSID. */
void rv_links_set_wifi(int ifindex, bool connected, const uint8_t *ssid,
		       size_t ssid_len, const uint8_t bssid[6]);

/* nl80211-parse.h - nl80211 messages to plain structs, without a socket.
 *
 * wifi.c receives messages and calls these; the unit tests feed them recorded
 * message bytes. Attributes are parsed with libnl (genlmsg_parse/nla_parse_nested)
 * against policies that pin the lengths of what is read (MAC = 6, SSID <= 32,
 * u16/u32 sizes), so a malformed message is rejected rather than half-read.
 */
#pragma once

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ssid.h"

enum rv_wifi_event_type {
	RV_WIFI_EVENT_CONNECT,
	RV_WIFI_EVENT_ROAM,
	RV_WIFI_EVENT_DISCONNECT,
};

/* One mlme multicast event we act on. */
struct rv_wifi_event {
	enum rv_wifi_event_type type;
	int ifindex;
	bool has_bssid;
	uint8_t bssid[6];
	bool has_status;	/* CONNECT: 802.11 status code, 0 = success */
	uint16_t status;
	bool timed_out;		/* CONNECT without a response at all */
	bool has_reason;	/* DISCONNECT: 802.11 reason code */
	uint16_t reason;
	bool by_ap;		/* DISCONNECT initiated by the AP */
	bool has_ssid;		/* SSID element of the request IEs */
	uint8_t ssid[RV_SSID_MAX_LEN];
	size_t ssid_len;
};

/* One entry of a GET_SCAN dump. */
struct rv_wifi_bss {
	int ifindex;
	bool has_bssid;
	uint8_t bssid[6];
	bool has_status;	/* NL80211_BSS_STATUS_* */
	uint32_t status;
	bool has_ssid;		/* from the BSS's IEs (probe response, else beacon) */
	uint8_t ssid[RV_SSID_MAX_LEN];
	size_t ssid_len;
};

/* A GET_INTERFACE reply (or dump entry). */
struct rv_wifi_iface {
	int ifindex;
	bool has_iftype;
	uint32_t iftype;	/* NL80211_IFTYPE_* */
	bool has_ssid;		/* NL80211_ATTR_SSID: APs, and stations on newer kernels */
	uint8_t ssid[RV_SSID_MAX_LEN];
	size_t ssid_len;
};

/* Returns 0 and fills *event for CONNECT, ROAM and DISCONNECT; -ENOENT for any other
 * nl80211 command (not an error: the mlme group carries many); -EINVAL when the
 * message is malformed or lacks the interface index. hdr->nlmsg_len must already be
 * known to lie within the received buffer (libnl checks that on receive). */
int rv_nl80211_parse_event(const struct nlmsghdr *hdr, struct rv_wifi_event *event);
int rv_nl80211_parse_bss(const struct nlmsghdr *hdr, struct rv_wifi_bss *bss);
int rv_nl80211_parse_iface(const struct nlmsghdr *hdr, struct rv_wifi_iface *iface);

/* The same for a raw buffer (recorded bytes): first checks that buf holds one whole
 * netlink message whose nlmsg_len fits in len. */
int rv_nl80211_parse_event_bytes(const void *buf, size_t len, struct rv_wifi_event *event);
int rv_nl80211_parse_bss_bytes(const void *buf, size_t len, struct rv_wifi_bss *bss);
int rv_nl80211_parse_iface_bytes(const void *buf, size_t len, struct rv_wifi_iface *iface);

const char *rv_wifi_event_type_name(enum rv_wifi_event_type type);

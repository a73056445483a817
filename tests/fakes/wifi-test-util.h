/* wifi-test-util.h - what the unit tests of daemon/wifi.c share: links.c's
 * rv_links_set_wifi() replaced by a recorder (each call wifi.c makes becomes one struct
 * set_wifi_call in set_wifi_calls, in order), and the nl80211 messages recorded in the VM.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

struct set_wifi_call {
	int ifindex;
	bool connected;
	GBytes *ssid;	/* NULL: none given */
	bool has_bssid;
	uint8_t bssid[6];
};

extern GArray *set_wifi_calls;	/* struct set_wifi_call */

/* Empties the record (made on first use). */
void set_wifi_calls_reset(void);
void set_wifi_calls_free(void);

/* tests/unit/data/NAME (an nl80211 message recorded in the VM), checked to hold at
 * least one whole netlink header. */
GBytes *wifi_test_fixture(const char *name);

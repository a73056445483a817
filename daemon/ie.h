/* ie.h - 802.11 information elements: bounds-checked walking of untrusted bytes.
 *
 * IEs come from the air (association request/response, beacons, probe responses)
 * through the kernel; every length in them is attacker-chosen. Nothing here reads
 * outside ies[0..len).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV_IE_SSID 0		/* WLAN_EID_SSID */

/* Find element id in ies[0..len). On success *data and *data_len point into ies.
 * Returns false if absent or if the IEs are malformed before it is found. */
bool rv_ie_find(const uint8_t *ies, size_t len, uint8_t id,
		const uint8_t **data, size_t *data_len);
/* SSID element (id 0), at most 32 bytes; a longer element is rejected (false).
 * A zero-length SSID (hidden network, wildcard) is found with *ssid_len == 0. */
bool rv_ie_find_ssid(const uint8_t *ies, size_t len, const uint8_t **ssid, size_t *ssid_len);
/* True when ies[0..len) is a whole number of well-formed elements. */
bool rv_ie_well_formed(const uint8_t *ies, size_t len);

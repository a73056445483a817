/* ie.h - 802.11 information elements: bounds-checked walking of untrusted bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Find element id in ies[0..len). On success *data/*data_len point into ies.
 * Returns false if absent or if the IEs are malformed before it is found. */
bool rv_ie_find(const uint8_t *ies, size_t len, uint8_t id,
		const uint8_t **data, size_t *data_len);
/* SSID element (id 0), at most 32 bytes. */
bool rv_ie_find_ssid(const uint8_t *ies, size_t len, const uint8_t **ssid, size_t *ssid_len);

/* ie.c - 802.11 information element walking (see ie.h).
 *
 * An element is id (1 byte), length (1 byte), then length bytes. The walk stops at
 * the first element whose header or body would cross the end: the rest of the
 * buffer is untrusted garbage and must not be interpreted.
 */
#include "config.h"

#include "ie.h"
#include "ssid.h"

bool rv_ie_find(const uint8_t *ies, size_t len, uint8_t id,
		const uint8_t **data, size_t *data_len)
{
	size_t pos = 0;

	if (!ies)
		return false;
	/* Compare remaining lengths, never pos + n against len: no overflow. */
	while (len - pos >= 2) {
		uint8_t element_id = ies[pos];
		size_t element_len = ies[pos + 1];

		if (element_len > len - pos - 2)
			return false;
		if (element_id == id) {
			*data = ies + pos + 2;
			*data_len = element_len;
			return true;
		}
		pos += 2 + element_len;
	}
	return false;
}

bool rv_ie_find_ssid(const uint8_t *ies, size_t len, const uint8_t **ssid, size_t *ssid_len)
{
	const uint8_t *data;
	size_t data_len;

	if (!rv_ie_find(ies, len, RV_IE_SSID, &data, &data_len))
		return false;
	/* 802.11 caps the SSID at 32 octets; anything longer is forged or corrupt. */
	if (data_len > RV_SSID_MAX_LEN)
		return false;
	*ssid = data;
	*ssid_len = data_len;
	return true;
}

bool rv_ie_well_formed(const uint8_t *ies, size_t len)
{
	size_t pos = 0;

	if (!ies)
		return len == 0;
	while (len - pos >= 2) {
		size_t element_len = ies[pos + 1];

		if (element_len > len - pos - 2)
			return false;
		pos += 2 + element_len;
	}
	return pos == len;
}

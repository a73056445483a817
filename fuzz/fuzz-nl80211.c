/* fuzz-nl80211.c - libFuzzer target for the nl80211 message parsers
 * (daemon/nl80211-parse.c): mlme events, scan dump entries, interface replies, as
 * raw netlink messages the kernel (or anything that can send to our socket) gives. */
#include "fuzz-util.h"

#include "nl80211-parse.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet_logs();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink messages are 4-byte aligned in a receive buffer; keep that. */
	g_autofree void *buf = g_memdup2(data, size);
	struct rv_wifi_event event;
	struct rv_wifi_bss bss;
	struct rv_wifi_iface iface;

	if (rv_nl80211_parse_event_bytes(buf, size, &event) == 0 &&
	    (event.ssid_len > RV_SSID_MAX_LEN || !rv_wifi_event_type_name(event.type)))
		abort();
	if (rv_nl80211_parse_bss_bytes(buf, size, &bss) == 0 && bss.ssid_len > RV_SSID_MAX_LEN)
		abort();
	if (rv_nl80211_parse_iface_bytes(buf, size, &iface) == 0 && iface.ssid_len > RV_SSID_MAX_LEN)
		abort();
	return 0;
}

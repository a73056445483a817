/* wifi-test-util.c - the recording rv_links_set_wifi() and the recorded messages (see
 * wifi-test-util.h). */
#include "config.h"

#include <linux/netlink.h>
#include <string.h>

#include "link.h"
#include "wifi-test-util.h"

GArray *set_wifi_calls;

void rv_links_set_wifi(int ifindex, bool connected, const uint8_t *ssid, size_t ssid_len,
		       const uint8_t bssid[6])
{
	struct set_wifi_call call = { .ifindex = ifindex, .connected = connected };

	if (ssid)
		call.ssid = g_bytes_new(ssid, ssid_len);
	if (bssid) {
		call.has_bssid = true;
		memcpy(call.bssid, bssid, 6);
	}
	g_array_append_val(set_wifi_calls, call);
}

static void clear_call(gpointer data)
{
	g_clear_pointer(&((struct set_wifi_call *)data)->ssid, g_bytes_unref);
}

void set_wifi_calls_reset(void)
{
	set_wifi_calls_free();
	set_wifi_calls = g_array_new(FALSE, TRUE, sizeof(struct set_wifi_call));
	g_array_set_clear_func(set_wifi_calls, clear_call);
}

void set_wifi_calls_free(void)
{
	g_clear_pointer(&set_wifi_calls, g_array_unref);
}

GBytes *wifi_test_fixture(const char *name)
{
	g_autofree char *path = g_build_filename(g_getenv("ROAMVPN_SOURCE_ROOT"), "tests",
						 "unit", "data", name, NULL);
	g_autofree char *contents = NULL;
	gsize len = 0;

	g_assert_true(g_file_get_contents(path, &contents, &len, NULL));
	g_assert_cmpuint(len, >=, sizeof(struct nlmsghdr));
	g_assert_cmpuint(((struct nlmsghdr *)contents)->nlmsg_len, <=, len);
	return g_bytes_new(contents, len);
}

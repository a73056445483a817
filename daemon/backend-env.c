/* backend-env.c - the environment a backend's child gets: the trigger, nothing else. */
#include "config.h"

#include "backend.h"
#include "hook-server.h"
#include "spawn.h"
#include "ssid.h"

char **rv_backend_child_env(const struct rv_tunnel *tunnel, const struct rv_link *trigger)
{
	g_autoptr(GPtrArray) extra = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_TUNNEL=%s", tunnel->name));
	if (rv_hook_server_path()) {
		/* For vpnc's Script= and other reporters: where roamvpn-hook is and
		 * where it reports to. The report is tied to this child by its pid. */
		const char *hook = g_getenv("ROAMVPN_HOOK_PATH");

		g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_HOOK=%s", hook ? hook : HOOK_PATH));
		g_ptr_array_add(extra, g_strdup_printf(RV_HOOK_SOCKET_ENV "=%s", rv_hook_server_path()));
	}
	if (tunnel->config && tunnel->config->interface)
		g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_INTERFACE=%s",
						       tunnel->config->interface));
	if (trigger) {
		g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_LINK=%s", trigger->name));
		g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_LINK_TYPE=%s",
						       trigger->type ? trigger->type : ""));
		if (trigger->ssid) {
			gsize len;
			const uint8_t *bytes = g_bytes_get_data(trigger->ssid, &len);
			/* Escaped: an SSID may hold NUL, newlines or anything else. */
			g_autofree char *text = rv_ssid_escape(bytes, len);

			g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_SSID=%s", text));
		}
		if (trigger->has_bssid) {
			g_autofree char *mac = rv_mac_to_string(trigger->bssid);

			g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_BSSID=%s", mac));
		}
		if (trigger->has_gateway_mac) {
			g_autofree char *mac = rv_mac_to_string(trigger->gateway_mac);

			g_ptr_array_add(extra, g_strdup_printf("ROAMVPN_GATEWAY_MAC=%s", mac));
		}
	} else {
		g_ptr_array_add(extra, g_strdup("ROAMVPN_LINK="));
	}
	g_ptr_array_add(extra, NULL);
	return rv_child_base_env((char **)extra->pdata);
}

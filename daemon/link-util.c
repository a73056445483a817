/* link-util.c - facts derived from a struct rv_link, shared by policy, D-Bus and tests. */
#include "config.h"

#include <linux/if.h>
#include <stdio.h>

#include "link.h"

bool rv_link_is_active(const struct rv_link *link)
{
	if (!(link->flags & IFF_UP) || !link->carrier)
		return false;
	if (link->type && g_str_equal(link->type, "wlan")) {
		/* WPA passes CONNECT and carrier while still DORMANT; a wrong key never
		 * gets to UP. Only RUNNING + operstate UP means joined. */
		return (link->flags & IFF_RUNNING) && link->operstate == IF_OPER_UP;
	}
	return true;
}

const char *rv_link_name_text(const struct rv_link *link)
{
	return link->name_text ? link->name_text : link->name;
}

const char *rv_link_wifi_state(const struct rv_link *link)
{
	if (!link->type || !g_str_equal(link->type, "wlan"))
		return NULL;
	if (rv_link_is_active(link) && link->wifi_connected)
		return "associated";
	if (link->wifi_connected)
		return "connecting";
	return "disconnected";
}

char *rv_mac_to_string(const uint8_t mac[6])
{
	return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x",
			       mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}

bool rv_mac_parse(const char *text, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &tail) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return true;
}

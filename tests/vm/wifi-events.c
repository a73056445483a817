/* wifi-events.c - the nl80211 layer of roamvpnd (daemon/wifi.c) on its own, for the VM test.
 *
 * Links the rv-wifi library with a stand-in rv_links_set_wifi() that prints every call
 * as one line, so the VM test can check what wifi.c reports without the rest of the
 * daemon. With -r it also prints every nl80211 message wifi.c parses as hex
 * ("@@NLMSG KIND HEX"): tests/vm/extract-fixtures.sh turns those into the unit test
 * fixtures under tests/unit/data/.
 *
 * With -s, every CONNECT is followed by rv_wifi_refresh_to() for that link, which must find
 * the same SSID through the GET_SCAN dump (its outcome is printed as a line ending in
 * "via=refresh"), and then each SSID source is asked on its own ("SOURCE wlan3 wext
 * ssid=... len=N"). All of them answer from the main loop, as in the daemon.
 *
 *   wifi-events [-t SECONDS] [-r] [-s]
 * Exits by itself after SECONDS (default 120); every wait in the VM is bounded.
 */
#include "config.h"

#include <glib-unix.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "link.h"
#include "log.h"
#include "ssid.h"
#include "wifi.h"

static void print_message(const char *kind, const struct nlmsghdr *hdr)
{
	const uint8_t *bytes = (const uint8_t *)hdr;
	GString *line = g_string_sized_new(hdr->nlmsg_len * 2 + 32);

	g_string_append_printf(line, "@@NLMSG %s ", kind);
	for (uint32_t i = 0; i < hdr->nlmsg_len; i++)
		g_string_append_printf(line, "%02x", bytes[i]);
	printf("%s\n", line->str);
	fflush(stdout);
	g_string_free(line, TRUE);
}

static gboolean refresh_after_connect;
static GHashTable *pending_refresh;	/* ifindex set */

static void print_set_wifi(int ifindex, bool connected, const uint8_t *ssid, size_t ssid_len,
			   const uint8_t *bssid, const char *via)
{
	char ifname[IF_NAMESIZE] = "?";
	g_autofree char *ssid_text = ssid ? rv_ssid_escape(ssid, ssid_len) : NULL;
	g_autofree char *bssid_text = bssid ? rv_mac_to_string(bssid) : NULL;

	if_indextoname((unsigned int)ifindex, ifname);
	printf("SET_WIFI %s connected=%d ssid=%s%s%s bssid=%s mono=%.6f via=%s\n", ifname,
	       connected, ssid ? "\"" : "", ssid ? ssid_text : "<none>", ssid ? "\"" : "",
	       bssid ? bssid_text : "<none>", g_get_monotonic_time() / 1e6, via);
	fflush(stdout);
}

/* What rv_wifi_refresh_to() found: the same line as the view's, labelled. */
static void print_refresh(const struct rv_wifi_state *state, void *unused)
{
	if (state->station)
		print_set_wifi(state->ifindex, state->connected, state->ssid, state->ssid_len,
			       state->bssid, "refresh");
}

static void print_source(int ifindex, const char *source, int r, const uint8_t *ssid,
			 size_t len, void *unused)
{
	char ifname[IF_NAMESIZE] = "?";
	g_autofree char *text = r == 0 ? rv_ssid_escape(ssid, len) : NULL;

	if_indextoname((unsigned int)ifindex, ifname);
	printf("SOURCE %s %s %s%s%s len=%zu\n", ifname, source, r == 0 ? "ssid=\"" : "<none>",
	       r == 0 ? text : "", r == 0 ? "\"" : "", r == 0 ? len : 0);
	fflush(stdout);
}

static gboolean run_pending_refresh(gpointer unused)
{
	g_autoptr(GList) ifindexes = g_hash_table_get_keys(pending_refresh);

	g_hash_table_steal_all(pending_refresh);
	for (GList *l = ifindexes; l; l = l->next) {
		int ifindex = GPOINTER_TO_INT(l->data);
		static const char *const sources[] = { "scan", "interface", "wext" };

		/* Both answer later, from the loop, in this order. */
		rv_wifi_refresh_to(ifindex, print_refresh, NULL);
		/* Each fallback source on its own, so the VM test sees what each one
		 * gives on this kernel (the daemon stops at the first that answers). */
		for (size_t i = 0; i < G_N_ELEMENTS(sources); i++)
			rv_wifi_read_ssid(ifindex, sources[i], print_source, NULL);
	}
	return G_SOURCE_REMOVE;
}

/* The stand-in for links.c: what wifi.c tells the network view. */
void rv_links_set_wifi(int ifindex, bool connected, const uint8_t *ssid, size_t ssid_len,
		       const uint8_t bssid[6])
{
	print_set_wifi(ifindex, connected, ssid, ssid_len, bssid, "event");
	/* Not from inside wifi.c's own call: queue it for the main loop. */
	if (refresh_after_connect && connected) {
		if (g_hash_table_size(pending_refresh) == 0)
			g_idle_add(run_pending_refresh, NULL);
		g_hash_table_add(pending_refresh, GINT_TO_POINTER(ifindex));
	}
}

static gboolean quit_loop(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	gint seconds = 120;
	gboolean record = FALSE;
	GOptionEntry entries[] = {
		{ "time", 't', 0, G_OPTION_ARG_INT, &seconds, "exit after SECONDS", "SECONDS" },
		{ "record", 'r', 0, G_OPTION_ARG_NONE, &record, "print parsed messages as hex", NULL },
		{ "refresh", 's', 0, G_OPTION_ARG_NONE, &refresh_after_connect,
		  "re-read the state after every CONNECT", NULL },
		{ NULL },
	};
	g_autoptr(GOptionContext) context = g_option_context_new("- print nl80211 Wi-Fi facts");
	g_autoptr(GError) error = NULL;
	g_autoptr(GMainLoop) loop = g_main_loop_new(NULL, FALSE);

	g_option_context_add_main_entries(context, entries, NULL);
	if (!g_option_context_parse(context, &argc, &argv, &error)) {
		fprintf(stderr, "wifi-events: %s\n", error->message);
		return 2;
	}
	rv_log_init(TRUE);
	pending_refresh = g_hash_table_new(NULL, NULL);
	if (record)
		rv_wifi_set_tap(print_message);
	if (rv_wifi_init(&error) < 0) {
		fprintf(stderr, "wifi-events: %s\n", error->message);
		return 1;
	}
	printf("READY nl80211=%s mono=%.6f\n", rv_wifi_available() ? "yes" : "no",
	       g_get_monotonic_time() / 1e6);
	fflush(stdout);
	g_timeout_add_seconds((guint)MAX(seconds, 1), quit_loop, loop);
	/* A clean exit on SIGTERM, so LeakSanitizer gets to check wifi.c in ASan builds. */
	g_unix_signal_add(SIGTERM, quit_loop, loop);
	g_main_loop_run(loop);
	rv_wifi_exit();
	g_hash_table_unref(pending_refresh);
	printf("EXIT\n");
	return 0;
}

/* wifi.c - the nl80211 monitor: association facts for wlan links (see wifi.h).
 *
 * Two non-blocking netlink sockets, both watched from the GLib main loop: one joined
 * to nl80211's "mlme" multicast group for the events, one for queries (GET_INTERFACE,
 * the GET_SCAN dump), sent and answered through nl-queue.c, so the loop never waits on
 * the kernel. This file owns both sockets and their lifetime, decodes the events
 * (nl80211-parse.c turns messages into structs) and decides what each means for a
 * link: connected, roamed, disconnected or failed, or, when the socket overflowed,
 * that every station's state must be read again. The approach follows ConnMan's and
 * NetworkManager's use of the CONNECT/ROAM/DISCONNECT events (see docs/wifi.md).
 *
 * What is then said about the link, and the lookups that must come first (the SSID
 * of a CONNECT without one, the association found by a refresh), belong to
 * wifi-report.c: this file hands it each event's meaning and lends it the query
 * queue; rv_links_set_wifi() is called from there, in event order per link.
 *
 * A wlan link that appears later (a USB dongle, a driver reload) is learned from
 * the link events (events.h): the event only notes the link, and the refresh starts
 * from an idle callback, so nothing re-enters the event emitter.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>

#include <glib-unix.h>
#include <linux/nl80211.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "error.h"
#include "events.h"
#include "link.h"
#include "nl-queue.h"
#include "nl80211-parse.h"
#include "wifi-report.h"
#include "wifi.h"

/* Generic netlink runs a request's handler in the sender's context: the answer (and
 * the first part of a dump, the rest as we read) is queued before send returns. The
 * timeout only bounds a kernel that never answers; nl-queue.c reads what is there
 * before it gives up, so a busy loop does not abandon an answered query. */
#define QUERY_TIMEOUT_MS 1000
/* Per-dispatch cap so a flood of events cannot starve the rest of the main loop. */
#define EVENTS_PER_DISPATCH 64

static struct nl_sock *event_sock;
static struct rv_nl_queue *queries;
static int nl80211_family = -1;
static struct nl_cb *event_cb;	/* the event socket's own callbacks (a reference) */
static guint event_source;
static gboolean absence_logged;
static guint events_id;
static GHashTable *pending_refresh;	/* set of ifindexes to query from the idle callback */
static guint refresh_idle;
static GArray *station_dump;	/* ifindexes of the interface dump in progress */
static gboolean station_dump_again;	/* another overflow came during that dump */

gboolean rv_wifi_available(void)
{
	return event_sock != NULL;
}

/* ---- events ---------------------------------------------------------------- */

static void handle_event(const struct rv_wifi_event *event)
{
	char ifname[IF_NAMESIZE];

	rv_wifi_ifname(event->ifindex, ifname);
	/* The monotonic stamp lets bench/wifi-connect-latency.sh compare against the
	 * tunnel child's /proc/uptime. */
	g_debug("nl80211 %s on %s at monotonic %.6f", rv_wifi_event_type_name(event->type),
		ifname, g_get_monotonic_time() / 1e6);
	switch (event->type) {
	case RV_WIFI_EVENT_CONNECT:
		if (event->timed_out || (event->has_status && event->status != 0)) {
			rv_wifi_report_not_connected(event->ifindex,
					    g_strdup_printf("%s: Wi-Fi association failed (%s %u)",
							    ifname,
							    event->timed_out ? "timed out, status" : "status",
							    (unsigned int)event->status));
			return;
		}
		rv_wifi_report_connected(event, "connected");
		return;
	case RV_WIFI_EVENT_ROAM:
		rv_wifi_report_connected(event, "roamed");
		return;
	case RV_WIFI_EVENT_DISCONNECT:
		rv_wifi_report_not_connected(event->ifindex,
				    g_strdup_printf("%s: Wi-Fi disconnected (reason %u%s)", ifname,
						    (unsigned int)event->reason,
						    event->by_ap ? ", by the AP" : ""));
		return;
	}
}

int rv_wifi_handle_message(const struct nlmsghdr *hdr)
{
	struct rv_wifi_event event;
	int r;

	r = rv_nl80211_parse_event(hdr, &event);
	if (r == -ENOENT)
		return r;
	rv_wifi_tap_message("event", hdr);
	if (r < 0) {
		g_warning("ignoring a malformed nl80211 event");
		return r;
	}
	handle_event(&event);
	return 0;
}

static int on_event_message(struct nl_msg *msg, void *arg)
{
	return rv_wifi_handle_message(nlmsg_hdr(msg)) == -EINVAL ? NL_SKIP : NL_OK;
}

static void collect_station(const struct nlmsghdr *hdr, void *user_data)
{
	struct rv_wifi_iface iface;

	rv_wifi_tap_message("interface", hdr);
	if (rv_nl80211_parse_iface(hdr, &iface) == 0 && rv_wifi_is_station(&iface))
		g_array_append_val(station_dump, iface.ifindex);
}

static void refresh_all(void);

static void stations_done(int result, void *user_data)
{
	g_autoptr(GArray) list = g_steal_pointer(&station_dump);

	if (result < 0)
		g_warning("nl80211 interface dump failed: %s", g_strerror(-result));
	for (guint i = 0; i < list->len; i++)
		rv_wifi_refresh(g_array_index(list, int, i));
	if (station_dump_again) {
		station_dump_again = FALSE;
		refresh_all();
	}
}

/* Every station's state from scratch: at start, and after the kernel dropped
 * events because our socket buffer overflowed. One dump at a time: an overflow
 * during the dump asks for one more after it. */
static void refresh_all(void)
{
	struct nl_msg *msg;
	int r;

	if (station_dump) {
		station_dump_again = TRUE;
		return;
	}
	if (!queries)
		return;
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl80211_family, 0, NLM_F_DUMP,
				 NL80211_CMD_GET_INTERFACE, 0)) {
		nlmsg_free(msg);
		g_warning("nl80211 interface dump failed: %s", g_strerror(ENOMEM));
		return;
	}
	station_dump = g_array_new(FALSE, FALSE, sizeof(int));
	r = rv_nl_queue_submit(queries, msg, collect_station, stations_done, &station_dump);
	if (r < 0) {
		g_warning("nl80211 interface dump failed: %s", g_strerror(-r));
		g_clear_pointer(&station_dump, g_array_unref);
	}
}

static gboolean on_event_readable(int fd, GIOCondition condition, gpointer user_data)
{
	for (int i = 0; i < EVENTS_PER_DISPATCH; i++) {
		int r = nl_recvmsgs_report(event_sock, event_cb);

		if (r == -NLE_NOMEM) {
			/* ENOBUFS: the kernel dropped events; what we know may be stale. */
			g_warning("nl80211 event socket overflowed: re-reading Wi-Fi state");
			refresh_all();
			continue;
		}
		if (r == -NLE_AGAIN || r == 0)
			break;
		if (r < 0) {
			g_warning("nl80211 event socket: %s", nl_geterror(r));
			break;
		}
	}
	return G_SOURCE_CONTINUE;
}

/* ---- setup ----------------------------------------------------------------- */

/* Also drops every query in flight: their callbacks never run (rv_wifi_exit then
 * frees the reports and the dump they were for). */
static void close_sockets(void)
{
	if (event_source)
		g_source_remove(event_source);
	event_source = 0;
	if (event_cb)
		nl_cb_put(event_cb);
	event_cb = NULL;
	if (event_sock)
		nl_socket_free(event_sock);
	event_sock = NULL;
	g_clear_pointer(&queries, rv_nl_queue_free);
	nl80211_family = -1;
	rv_wifi_report_use_queries(NULL, -1);
}

/* -ENOENT when the kernel has no nl80211 (no cfg80211); other negative errno on
 * socket failures, with *error set. The family and group lookup is the one
 * synchronous exchange left: with the generic netlink controller, once per open,
 * answered in our own send call. */
static int open_sockets(GError **error)
{
	struct nl_sock *query_sock;
	int group, r;

	event_sock = nl_socket_alloc();
	query_sock = nl_socket_alloc();
	if (!event_sock || !query_sock) {
		r = -ENOMEM;
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "out of memory for netlink sockets");
		goto fail;
	}
	r = genl_connect(query_sock);
	if (r < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "generic netlink: %s", nl_geterror(r));
		r = -EIO;
		goto fail;
	}
	nl80211_family = genl_ctrl_resolve(query_sock, "nl80211");
	group = nl80211_family < 0 ? -1 : genl_ctrl_resolve_grp(query_sock, "nl80211", "mlme");
	if (nl80211_family < 0 || group < 0) {
		r = -ENOENT;
		goto fail;
	}

	r = genl_connect(event_sock);
	if (r >= 0)
		r = nl_socket_add_membership(event_sock, group);
	if (r >= 0)
		r = nl_socket_set_nonblocking(event_sock);
	if (r < 0) {
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "nl80211 event socket: %s",
			    nl_geterror(r));
		r = -EIO;
		goto fail;
	}
	/* A burst of roaming events must not overflow the default 32 KiB. */
	nl_socket_set_buffer_size(event_sock, 256 * 1024, 0);
	nl_socket_enable_msg_peek(event_sock);
	nl_socket_disable_seq_check(event_sock);	/* multicast: no sequence numbers */
	event_cb = nl_socket_get_cb(event_sock);
	nl_cb_set(event_cb, NL_CB_VALID, NL_CB_CUSTOM, on_event_message, NULL);
	event_source = g_unix_fd_add(nl_socket_get_fd(event_sock), G_IO_IN | G_IO_ERR | G_IO_HUP,
				     on_event_readable, NULL);
	queries = rv_nl_queue_new(g_steal_pointer(&query_sock), "nl80211", QUERY_TIMEOUT_MS);
	rv_wifi_report_use_queries(queries, nl80211_family);
	g_debug("nl80211: family %d, joined multicast group mlme (%d)", nl80211_family, group);
	return 0;

fail:
	if (query_sock)
		nl_socket_free(query_sock);
	close_sockets();
	return r;
}

/* One link per dispatch: netlink and D-Bus get their turn between two links. */
static gboolean refresh_pending_cb(gpointer data)
{
	GHashTableIter iter;
	gpointer key;
	int ifindex;

	if (!pending_refresh || g_hash_table_size(pending_refresh) == 0) {
		refresh_idle = 0;
		return G_SOURCE_REMOVE;
	}
	g_hash_table_iter_init(&iter, pending_refresh);
	g_hash_table_iter_next(&iter, &key, NULL);
	ifindex = GPOINTER_TO_INT(key);
	g_hash_table_iter_remove(&iter);
	rv_wifi_refresh(ifindex);
	return G_SOURCE_CONTINUE;
}

static void on_link_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	const struct rv_link *l = object;

	switch (kind) {
	case RV_EVENT_LINK_ADDED:
		if (!l->type || !g_str_equal(l->type, "wlan"))
			return;
		if (!pending_refresh)
			pending_refresh = g_hash_table_new(g_direct_hash, g_direct_equal);
		g_hash_table_add(pending_refresh, GINT_TO_POINTER(l->ifindex));
		if (!refresh_idle)
			refresh_idle = g_idle_add(refresh_pending_cb, NULL);
		return;
	case RV_EVENT_LINK_REMOVED:
		if (pending_refresh)
			g_hash_table_remove(pending_refresh, GINT_TO_POINTER(l->ifindex));
		/* Its queries may be in flight: their answers are skipped, and nothing is
		 * said about a link the view no longer has. */
		rv_wifi_report_drop(l->ifindex);
		return;
	default:
		return;
	}
}

int rv_wifi_init(GError **error)
{
	int r;

	if (!events_id)
		events_id = rv_events_subscribe(on_link_event, NULL);
	if (event_sock)
		return 0;
	r = open_sockets(error);
	if (r == -ENOENT) {
		if (!absence_logged)
			g_message("nl80211 not available: running without Wi-Fi facts");
		absence_logged = TRUE;
		return 0;
	}
	if (r < 0)
		return r;
	refresh_all();
	return 0;
}

void rv_wifi_exit(void)
{
	if (events_id)
		rv_events_unsubscribe(events_id);
	events_id = 0;
	g_clear_handle_id(&refresh_idle, g_source_remove);
	g_clear_pointer(&pending_refresh, g_hash_table_destroy);
	close_sockets();
	/* Only now: a query in flight pointed at them until close_sockets(). */
	rv_wifi_report_clear();
	g_clear_pointer(&station_dump, g_array_unref);
	station_dump_again = FALSE;
}

void rv_wifi_refresh_to(int ifindex, rv_wifi_state_fn fn, void *user_data)
{
	if (!queries) {
		/* Before rv_wifi_init (links come first at start), or cfg80211 was loaded
		 * after we said it was missing: try again, quietly. */
		if (open_sockets(NULL) < 0) {
			struct rv_wifi_state none = { .ifindex = ifindex };

			if (fn)
				fn(&none, user_data);
			return;
		}
		if (absence_logged)
			g_message("nl80211 available now: watching Wi-Fi associations");
	}
	rv_wifi_report_refresh(ifindex, fn, user_data);
}

void rv_wifi_refresh(int ifindex)
{
	rv_wifi_refresh_to(ifindex, NULL, NULL);
}

void rv_wifi_use_query_socket(struct nl_sock *sock, int family, guint timeout_ms)
{
	g_clear_pointer(&queries, rv_nl_queue_free);
	nl80211_family = family;
	queries = rv_nl_queue_new(sock, "nl80211", timeout_ms);
	rv_wifi_report_use_queries(queries, nl80211_family);
}
/* wifi.c - the nl80211 monitor: association facts for wlan links (see wifi.h).
 *
 * Two non-blocking netlink sockets, both watched from the GLib main loop: one joined
 * to nl80211's "mlme" multicast group for the events, one for queries (GET_INTERFACE,
 * the GET_SCAN dump), sent and answered through nl-queue.c, so the loop never waits on
 * the kernel. Messages are turned into structs by nl80211-parse.c; this file decides
 * what they mean for a link and calls rv_links_set_wifi(). The approach follows
 * ConnMan's and NetworkManager's use of the CONNECT/ROAM/DISCONNECT events (see
 * docs/wifi.md).
 *
 * Each event and each refresh becomes a report: what is to be said about one link.
 * A report that needs nothing more (DISCONNECT, a CONNECT whose request IEs hold the
 * SSID) is ready at once; one that must ask nl80211 (the SSID of a CONNECT without
 * one, the current association of a link) runs its queries one step at a time from
 * their completion callbacks. Ready reports reach the view in the order of their
 * events, per link: a DISCONNECT never overtakes the CONNECT before it whose SSID is
 * still being looked up. A link that goes away takes its reports and their queries
 * with it.
 *
 * A wlan link that appears later (a USB dongle, a driver reload) is learned from
 * the link events (events.h): the event only notes the link, and the refresh starts
 * from an idle callback, so nothing re-enters the event emitter.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>
#include <linux/nl80211.h>
#include <linux/wireless.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "error.h"
#include "events.h"
#include "link.h"
#include "nl-queue.h"
#include "nl80211-parse.h"
#include "ssid.h"
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
static rv_wifi_tap_fn message_tap;
static guint events_id;
static GHashTable *pending_refresh;	/* set of ifindexes to query from the idle callback */
static guint refresh_idle;
static GQueue reports = G_QUEUE_INIT;	/* struct report *, in event order */
static gboolean flushing;
static GArray *station_dump;	/* ifindexes of the interface dump in progress */
static gboolean station_dump_again;	/* another overflow came during that dump */

void rv_wifi_set_tap(rv_wifi_tap_fn tap)
{
	message_tap = tap;
}

gboolean rv_wifi_available(void)
{
	return event_sock != NULL;
}

static const char *ifname_of(int ifindex, char buf[IF_NAMESIZE])
{
	if (!if_indextoname((unsigned int)ifindex, buf))
		g_snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

static gboolean is_station(const struct rv_wifi_iface *iface)
{
	return iface->has_iftype && (iface->iftype == NL80211_IFTYPE_STATION ||
				     iface->iftype == NL80211_IFTYPE_P2P_CLIENT);
}

/* Legacy wireless extensions, still answered by cfg80211's wext compatibility. An
 * ioctl cfg80211 answers from its own state at once; it is the last fallback. */
static gboolean wext_ssid(int ifindex, uint8_t ssid[RV_SSID_MAX_LEN], size_t *ssid_len)
{
	uint8_t buf[IW_ESSID_MAX_SIZE] = { 0 };
	struct iwreq wrq;
	char ifname[IF_NAMESIZE];
	int fd, r;

	if (!if_indextoname((unsigned int)ifindex, ifname))
		return FALSE;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return FALSE;
	memset(&wrq, 0, sizeof(wrq));
	g_strlcpy(wrq.ifr_name, ifname, sizeof(wrq.ifr_name));
	wrq.u.essid.pointer = buf;
	/* Exactly IW_ESSID_MAX_SIZE: one more makes wext's WE<21 compatibility code
	 * report length + 1 with a NUL appended (found in the hwsim lab). */
	wrq.u.essid.length = IW_ESSID_MAX_SIZE;
	r = ioctl(fd, SIOCGIWESSID, &wrq);
	close(fd);
	if (r < 0 || !wrq.u.essid.flags || wrq.u.essid.length == 0)
		return FALSE;
	*ssid_len = MIN((size_t)wrq.u.essid.length, (size_t)RV_SSID_MAX_LEN);
	memcpy(ssid, buf, *ssid_len);
	return TRUE;
}

/* ---- reports ----------------------------------------------------------------- */

enum report_kind {
	REPORT_EVENT,		/* CONNECT, ROAM, DISCONNECT: for the view */
	REPORT_REFRESH,		/* current association: for the view or a caller's fn */
	REPORT_READ_SSID,	/* one SSID source on its own: for a caller's fn */
};

/* The query a report waits for; STEP_READY when it waits for nothing. */
enum step {
	STEP_READY,
	STEP_STATE_IFACE,	/* refresh: GET_INTERFACE, is it a station? */
	STEP_STATE_SCAN,	/* refresh: GET_SCAN dump, the associated BSS */
	STEP_SSID_SCAN,		/* SSID lookup: GET_SCAN dump */
	STEP_SSID_IFACE,	/* SSID lookup: GET_INTERFACE */
};

struct report {
	enum report_kind kind;
	int ifindex;
	enum step step;

	/* The outcome. */
	gboolean station;	/* FALSE: a refresh found no nl80211 station; nothing to say */
	gboolean connected;
	const char *what;	/* "connected", "roamed", "associated" */
	char *message;		/* logged on delivery when not connected */
	const char *source;	/* where the SSID came from; NULL = unknown */
	uint8_t ssid[RV_SSID_MAX_LEN];
	size_t ssid_len;
	gboolean has_bssid;	/* the event's, else the associated BSS's */
	uint8_t bssid[6];

	/* The answers of the query in flight. */
	gboolean bss_found;
	struct rv_wifi_bss bss;
	gboolean iface_found;
	struct rv_wifi_iface iface;

	/* REPORT_READ_SSID */
	const char *read_source;
	int read_result;
	rv_wifi_ssid_fn ssid_fn;
	/* REPORT_REFRESH to a caller instead of the view */
	rv_wifi_state_fn state_fn;
	void *user_data;
};

static struct report *report_new(enum report_kind kind, int ifindex)
{
	struct report *r = g_new0(struct report, 1);

	r->kind = kind;
	r->ifindex = ifindex;
	r->station = TRUE;
	g_queue_push_tail(&reports, r);
	return r;
}

static void report_free(struct report *r)
{
	g_free(r->message);
	g_free(r);
}

static void log_connected(struct report *r)
{
	char ifname[IF_NAMESIZE];
	g_autofree char *bssid_text = NULL;
	g_autofree char *ssid_text = NULL;

	bssid_text = r->has_bssid ? rv_mac_to_string(r->bssid) : g_strdup("unknown");
	ssid_text = r->source ? rv_ssid_escape(r->ssid, r->ssid_len) : NULL;
	if (r->source)
		g_message("%s: Wi-Fi %s to %s, SSID \"%s\" (from %s)", ifname_of(r->ifindex, ifname),
			  r->what, bssid_text, ssid_text, r->source);
	else
		g_message("%s: Wi-Fi %s to %s, SSID unknown", ifname_of(r->ifindex, ifname),
			  r->what, bssid_text);
}

static void deliver(struct report *r)
{
	struct rv_wifi_state state = { .ifindex = r->ifindex, .station = r->station };

	if (r->kind == REPORT_READ_SSID) {
		r->ssid_fn(r->ifindex, r->read_source, r->read_result, r->ssid, r->ssid_len,
			   r->user_data);
		return;
	}
	if (r->station) {
		if (r->connected)
			log_connected(r);
		else if (r->message)
			g_message("%s", r->message);
		state.connected = r->connected;
		state.ssid = r->connected && r->source ? r->ssid : NULL;
		state.ssid_len = state.ssid ? r->ssid_len : 0;
		state.bssid = r->connected && r->has_bssid ? r->bssid : NULL;
	}
	if (r->state_fn)
		r->state_fn(&state, r->user_data);
	else if (r->station)
		rv_links_set_wifi(r->ifindex, state.connected, state.ssid, state.ssid_len,
				  state.bssid);
}

static gboolean earlier_pending(GList *upto, int ifindex)
{
	for (GList *l = reports.head; l != upto; l = l->next) {
		const struct report *r = l->data;

		if (r->ifindex == ifindex && r->step != STEP_READY)
			return TRUE;
	}
	return FALSE;
}

/* Delivers every ready report that no unfinished earlier one of its link holds back.
 * A report leaves the list before it is delivered, and the list is searched again
 * after each delivery: what the view does in return may add or drop reports. */
static void flush(void)
{
	if (flushing)
		return;
	flushing = TRUE;
	for (;;) {
		struct report *r;
		GList *l;

		for (l = reports.head; l; l = l->next) {
			const struct report *c = l->data;

			if (c->step == STEP_READY && !earlier_pending(l, c->ifindex))
				break;
		}
		if (!l)
			break;
		r = l->data;
		g_queue_delete_link(&reports, l);
		deliver(r);
		report_free(r);
	}
	flushing = FALSE;
}

/* Each path through a report ends here or in query(): the report may be delivered
 * and freed inside, so nobody touches it afterwards. */
static void ready(struct report *r)
{
	r->step = STEP_READY;
	flush();
}

static void drop_reports(int ifindex)
{
	GList *l = reports.head;

	while (l) {
		GList *next = l->next;
		struct report *r = l->data;

		if (r->ifindex == ifindex) {
			if (queries)
				rv_nl_queue_cancel(queries, r);
			g_queue_delete_link(&reports, l);
			report_free(r);
		}
		l = next;
	}
}

/* ---- queries ----------------------------------------------------------------- */

static void on_query_done(int result, void *user_data);

static void on_query_reply(const struct nlmsghdr *hdr, void *user_data)
{
	struct report *r = user_data;
	struct rv_wifi_bss bss;
	const uint8_t *want_bssid;

	switch (r->step) {
	case STEP_STATE_IFACE:
	case STEP_SSID_IFACE:
		if (message_tap)
			message_tap("interface", hdr);
		if (rv_nl80211_parse_iface(hdr, &r->iface) == 0)
			r->iface_found = TRUE;
		return;
	case STEP_STATE_SCAN:
	case STEP_SSID_SCAN:
		if (message_tap)
			message_tap("scan", hdr);
		if (rv_nl80211_parse_bss(hdr, &bss) < 0)
			return;
		if (bss.ifindex && bss.ifindex != r->ifindex)
			return;
		if (!bss.has_status || bss.status != NL80211_BSS_STATUS_ASSOCIATED)
			return;
		/* When several claim association, prefer the one the event named. */
		want_bssid = r->step == STEP_SSID_SCAN && r->has_bssid ? r->bssid : NULL;
		if (r->bss_found && want_bssid &&
		    !(bss.has_bssid && memcmp(bss.bssid, want_bssid, 6) == 0))
			return;
		r->bss = bss;
		r->bss_found = TRUE;
		return;
	case STEP_READY:
		return;
	}
}

/* GET_INTERFACE or a GET_SCAN dump (the step says which) for the report's link. */
static void query(struct report *r, enum step step)
{
	gboolean scan = step == STEP_STATE_SCAN || step == STEP_SSID_SCAN;
	struct nl_msg *msg;
	int err;

	r->step = step;
	r->bss_found = FALSE;
	r->iface_found = FALSE;
	if (!queries) {
		on_query_done(-ENOENT, r);
		return;
	}
	msg = nlmsg_alloc();
	if (!msg || !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl80211_family, 0,
				 scan ? NLM_F_DUMP : 0,
				 scan ? NL80211_CMD_GET_SCAN : NL80211_CMD_GET_INTERFACE, 0) ||
	    nla_put_u32(msg, NL80211_ATTR_IFINDEX, (uint32_t)r->ifindex) < 0) {
		nlmsg_free(msg);
		on_query_done(-ENOMEM, r);
		return;
	}
	err = rv_nl_queue_submit(queries, msg, on_query_reply, on_query_done, r);
	if (err < 0)
		on_query_done(err, r);
}

/* The SSID of a connected report: given (request IEs, a refresh's BSS), else looked up
 * in GET_SCAN, GET_INTERFACE and wext, in that order. */
static void find_ssid(struct report *r, const uint8_t *ssid, size_t ssid_len, const char *source)
{
	if (ssid && ssid_len > 0) {
		memcpy(r->ssid, ssid, ssid_len);
		r->ssid_len = ssid_len;
		r->source = source;
		ready(r);
		return;
	}
	query(r, STEP_SSID_SCAN);
}

static void state_done(struct report *r, int result)
{
	char ifname[IF_NAMESIZE];

	if (r->step == STEP_STATE_IFACE) {
		if (result < 0 || !r->iface_found || !is_station(&r->iface)) {
			r->station = FALSE;
			ready(r);
			return;
		}
		query(r, STEP_STATE_SCAN);
		return;
	}
	if (result < 0)
		g_debug("nl80211 GET_SCAN for ifindex %d failed: %s", r->ifindex,
			g_strerror(-result));
	if (r->bss_found) {
		r->connected = TRUE;
		r->what = "associated";
		if (r->bss.has_bssid) {
			r->has_bssid = TRUE;
			memcpy(r->bssid, r->bss.bssid, 6);
		}
		find_ssid(r, r->bss.has_ssid ? r->bss.ssid : NULL, r->bss.ssid_len, "scan");
		return;
	}
	if (r->iface.has_ssid && r->iface.ssid_len > 0) {
		r->connected = TRUE;
		r->what = "associated";
		find_ssid(r, r->iface.ssid, r->iface.ssid_len, "interface");
		return;
	}
	g_debug("%s: Wi-Fi not associated", ifname_of(r->ifindex, ifname));
	ready(r);
}

static void ssid_done(struct report *r, int result)
{
	if (r->step == STEP_SSID_SCAN) {
		if (result < 0)
			g_debug("nl80211 GET_SCAN for ifindex %d failed: %s", r->ifindex,
				g_strerror(-result));
		if (r->bss_found) {
			if (!r->has_bssid && r->bss.has_bssid) {
				r->has_bssid = TRUE;
				memcpy(r->bssid, r->bss.bssid, 6);
			}
			if (r->bss.has_ssid && r->bss.ssid_len > 0) {
				find_ssid(r, r->bss.ssid, r->bss.ssid_len, "scan");
				return;
			}
		}
		/* Debian 12's 6.1 kernel gives no NL80211_ATTR_SSID for stations; newer do. */
		query(r, STEP_SSID_IFACE);
		return;
	}
	if (result == 0 && r->iface_found && r->iface.has_ssid && r->iface.ssid_len > 0) {
		find_ssid(r, r->iface.ssid, r->iface.ssid_len, "interface");
		return;
	}
	if (wext_ssid(r->ifindex, r->ssid, &r->ssid_len))
		r->source = "wext";
	ready(r);
}

static void read_done(struct report *r, int result)
{
	gboolean found = FALSE;

	if (r->step == STEP_SSID_SCAN && r->bss_found && r->bss.has_ssid) {
		memcpy(r->ssid, r->bss.ssid, r->bss.ssid_len);
		r->ssid_len = r->bss.ssid_len;
		found = TRUE;
	} else if (r->step == STEP_SSID_IFACE && result == 0 && r->iface_found &&
		   r->iface.has_ssid) {
		memcpy(r->ssid, r->iface.ssid, r->iface.ssid_len);
		r->ssid_len = r->iface.ssid_len;
		found = TRUE;
	}
	r->read_result = found ? 0 : -ENOENT;
	ready(r);
}

static void on_query_done(int result, void *user_data)
{
	struct report *r = user_data;

	if (r->kind == REPORT_READ_SSID)
		read_done(r, result);
	else if (r->step == STEP_STATE_IFACE || r->step == STEP_STATE_SCAN)
		state_done(r, result);
	else
		ssid_done(r, result);
}

/* ---- public queries ---------------------------------------------------------- */

void rv_wifi_read_ssid(int ifindex, const char *source, rv_wifi_ssid_fn fn, void *user_data)
{
	static const char *const names[] = { "scan", "interface", "wext" };
	struct report *r = report_new(REPORT_READ_SSID, ifindex);

	r->ssid_fn = fn;
	r->user_data = user_data;
	r->read_source = NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (g_str_equal(source, names[i]))
			r->read_source = names[i];
	if (!r->read_source) {
		r->read_source = "unknown";
		r->read_result = -EINVAL;
		ready(r);
		return;
	}
	if (g_str_equal(r->read_source, "scan")) {
		query(r, STEP_SSID_SCAN);
		return;
	}
	if (g_str_equal(r->read_source, "interface")) {
		query(r, STEP_SSID_IFACE);
		return;
	}
	r->read_result = wext_ssid(ifindex, r->ssid, &r->ssid_len) ? 0 : -ENOENT;
	ready(r);
}

/* ---- events ---------------------------------------------------------------- */

static void event_connected(const struct rv_wifi_event *event, const char *what)
{
	struct report *r = report_new(REPORT_EVENT, event->ifindex);

	r->connected = TRUE;
	r->what = what;
	if (event->has_bssid) {
		r->has_bssid = TRUE;
		memcpy(r->bssid, event->bssid, 6);
	}
	find_ssid(r, event->has_ssid ? event->ssid : NULL, event->ssid_len, "request IEs");
}

static void event_not_connected(int ifindex, char *message)
{
	struct report *r = report_new(REPORT_EVENT, ifindex);

	r->message = message;
	ready(r);
}

static void handle_event(const struct rv_wifi_event *event)
{
	char ifname[IF_NAMESIZE];

	ifname_of(event->ifindex, ifname);
	/* The monotonic stamp lets bench/wifi-connect-latency.sh compare against the
	 * tunnel child's /proc/uptime. */
	g_debug("nl80211 %s on %s at monotonic %.6f", rv_wifi_event_type_name(event->type),
		ifname, g_get_monotonic_time() / 1e6);
	switch (event->type) {
	case RV_WIFI_EVENT_CONNECT:
		if (event->timed_out || (event->has_status && event->status != 0)) {
			event_not_connected(event->ifindex,
					    g_strdup_printf("%s: Wi-Fi association failed (%s %u)",
							    ifname,
							    event->timed_out ? "timed out, status" : "status",
							    (unsigned int)event->status));
			return;
		}
		event_connected(event, "connected");
		return;
	case RV_WIFI_EVENT_ROAM:
		event_connected(event, "roamed");
		return;
	case RV_WIFI_EVENT_DISCONNECT:
		event_not_connected(event->ifindex,
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
	if (message_tap)
		message_tap("event", hdr);
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

	if (message_tap)
		message_tap("interface", hdr);
	if (rv_nl80211_parse_iface(hdr, &iface) == 0 && is_station(&iface))
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
		drop_reports(l->ifindex);
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
	g_queue_clear_full(&reports, (GDestroyNotify)report_free);
	g_clear_pointer(&station_dump, g_array_unref);
	station_dump_again = FALSE;
}

void rv_wifi_refresh_to(int ifindex, rv_wifi_state_fn fn, void *user_data)
{
	struct report *r;

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
	r = report_new(REPORT_REFRESH, ifindex);
	r->state_fn = fn;
	r->user_data = user_data;
	query(r, STEP_STATE_IFACE);
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
}

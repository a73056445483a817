/* wifi.c - the nl80211 monitor: association facts for wlan links (see wifi.h).
 *
 * Two netlink sockets: one joined to nl80211's "mlme" multicast group and watched
 * from the GLib main loop, one for synchronous queries (GET_SCAN, GET_INTERFACE).
 * Messages are turned into structs by nl80211-parse.c; this file decides what they
 * mean for a link and calls rv_links_set_wifi(). The approach follows ConnMan's and
 * NetworkManager's use of the CONNECT/ROAM/DISCONNECT events (see docs/wifi.md).
 *
 * A wlan link that appears later (a USB dongle, a driver reload) is learned from
 * the link events (events.h): the event only notes the link, and the query runs
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
#include "nl80211-parse.h"
#include "ssid.h"
#include "wifi.h"

/* generic netlink runs a request's handler in the sender's context: the answer (and
 * the first part of a dump, the rest as we read) is queued before send returns, so
 * a read never actually waits. The timeout only bounds a kernel that never answers. */
#define QUERY_TIMEOUT_MS 200
/* Per-dispatch cap so a flood of events cannot starve the rest of the main loop. */
#define EVENTS_PER_DISPATCH 64

static struct nl_sock *event_sock;
static struct nl_sock *query_sock;
static int nl80211_family = -1;
static struct nl_cb *event_cb;	/* the event socket's own callbacks (a reference) */
static guint event_source;
static gboolean absence_logged;
static rv_wifi_tap_fn message_tap;
static guint events_id;
static GHashTable *pending_refresh;	/* set of ifindexes to query from the idle callback */
static guint refresh_idle;

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

/* ---- synchronous queries --------------------------------------------------- */

struct query {
	const char *tap_kind;
	void (*each)(const struct nlmsghdr *hdr, void *ctx);
	void *ctx;
	gboolean done;
	int kernel_error;
};

static int query_valid(struct nl_msg *msg, void *arg)
{
	struct query *q = arg;

	if (message_tap)
		message_tap(q->tap_kind, nlmsg_hdr(msg));
	q->each(nlmsg_hdr(msg), q->ctx);
	return NL_OK;
}

static int query_done(struct nl_msg *msg, void *arg)
{
	((struct query *)arg)->done = TRUE;
	return NL_STOP;
}

static int query_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct query *q = arg;

	q->kernel_error = err->error;
	q->done = TRUE;
	return NL_STOP;
}

/* ifindex 0 = all interfaces (dump). Returns 0, the kernel's negative errno, or
 * -ETIMEDOUT / -EIO. */
static int nl80211_query(uint8_t cmd, int ifindex, gboolean dump, const char *tap_kind,
			 void (*each)(const struct nlmsghdr *, void *), void *ctx)
{
	struct query q = { .tap_kind = tap_kind, .each = each, .ctx = ctx };
	struct nl_msg *msg;
	struct nl_cb *cb;
	int r;

	if (!query_sock)
		return -ENOENT;
	msg = nlmsg_alloc();
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!msg || !cb) {
		nlmsg_free(msg);
		if (cb)
			nl_cb_put(cb);
		return -ENOMEM;
	}
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl80211_family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, 0) ||
	    (ifindex > 0 && nla_put_u32(msg, NL80211_ATTR_IFINDEX, (uint32_t)ifindex) < 0)) {
		nlmsg_free(msg);
		nl_cb_put(cb);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, query_valid, &q);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, query_done, &q);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, query_done, &q);
	nl_cb_err(cb, NL_CB_CUSTOM, query_error, &q);

	r = nl_send_auto(query_sock, msg);
	nlmsg_free(msg);
	/* Each nl_recvmsgs() blocks at most QUERY_TIMEOUT_MS (SO_RCVTIMEO), and a dump
	 * of thousands of BSSes still ends well within the iteration cap. */
	for (int i = 0; r >= 0 && !q.done && i < 4096; i++)
		r = nl_recvmsgs(query_sock, cb);
	nl_cb_put(cb);
	if (q.kernel_error)
		return q.kernel_error;
	if (r == -NLE_AGAIN)
		return -ETIMEDOUT;
	if (r < 0 || !q.done)
		return -EIO;
	return 0;
}

struct associated_bss {
	int ifindex;
	const uint8_t *want_bssid;	/* prefer this BSS when several claim association */
	gboolean found;
	struct rv_wifi_bss bss;
};

static void scan_entry(const struct nlmsghdr *hdr, void *ctx)
{
	struct associated_bss *a = ctx;
	struct rv_wifi_bss bss;

	if (rv_nl80211_parse_bss(hdr, &bss) < 0)
		return;
	if (bss.ifindex && bss.ifindex != a->ifindex)
		return;
	if (!bss.has_status || bss.status != NL80211_BSS_STATUS_ASSOCIATED)
		return;
	if (a->found && a->want_bssid &&
	    !(bss.has_bssid && memcmp(bss.bssid, a->want_bssid, 6) == 0))
		return;
	a->bss = bss;
	a->found = TRUE;
}

static gboolean scan_associated(int ifindex, const uint8_t *want_bssid, struct rv_wifi_bss *out)
{
	struct associated_bss a = { .ifindex = ifindex, .want_bssid = want_bssid };
	int r = nl80211_query(NL80211_CMD_GET_SCAN, ifindex, TRUE, "scan", scan_entry, &a);

	if (r < 0)
		g_debug("nl80211 GET_SCAN for ifindex %d failed: %s", ifindex, g_strerror(-r));
	if (!a.found)
		return FALSE;
	*out = a.bss;
	return TRUE;
}

struct iface_reply {
	gboolean found;
	struct rv_wifi_iface iface;
};

static void iface_entry(const struct nlmsghdr *hdr, void *ctx)
{
	struct iface_reply *reply = ctx;

	if (rv_nl80211_parse_iface(hdr, &reply->iface) == 0)
		reply->found = TRUE;
}

static int get_interface(int ifindex, struct rv_wifi_iface *out)
{
	struct iface_reply reply = { 0 };
	int r = nl80211_query(NL80211_CMD_GET_INTERFACE, ifindex, FALSE, "interface",
			      iface_entry, &reply);

	if (r < 0)
		return r;
	if (!reply.found)
		return -ENODEV;
	*out = reply.iface;
	return 0;
}

static gboolean is_station(const struct rv_wifi_iface *iface)
{
	return iface->has_iftype && (iface->iftype == NL80211_IFTYPE_STATION ||
				     iface->iftype == NL80211_IFTYPE_P2P_CLIENT);
}

/* Legacy wireless extensions, still answered by cfg80211's wext compatibility. */
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

/* SSID (and BSSID if the event had none) when the event's own IEs lacked it. */
static const char *find_ssid(int ifindex, const uint8_t *bssid, uint8_t ssid[RV_SSID_MAX_LEN],
			     size_t *ssid_len, uint8_t found_bssid[6], gboolean *has_found_bssid)
{
	struct rv_wifi_bss bss;
	struct rv_wifi_iface iface;

	*has_found_bssid = FALSE;
	if (scan_associated(ifindex, bssid, &bss)) {
		if (bss.has_bssid) {
			memcpy(found_bssid, bss.bssid, 6);
			*has_found_bssid = TRUE;
		}
		if (bss.has_ssid && bss.ssid_len > 0) {
			memcpy(ssid, bss.ssid, bss.ssid_len);
			*ssid_len = bss.ssid_len;
			return "scan";
		}
	}
	/* Debian 12's 6.1 kernel gives no NL80211_ATTR_SSID for stations; newer do. */
	if (get_interface(ifindex, &iface) == 0 && iface.has_ssid && iface.ssid_len > 0) {
		memcpy(ssid, iface.ssid, iface.ssid_len);
		*ssid_len = iface.ssid_len;
		return "interface";
	}
	if (wext_ssid(ifindex, ssid, ssid_len))
		return "wext";
	return NULL;
}

int rv_wifi_read_ssid(int ifindex, const char *source, uint8_t ssid[32], size_t *ssid_len)
{
	struct rv_wifi_bss bss;
	struct rv_wifi_iface iface;

	if (g_str_equal(source, "scan")) {
		if (!scan_associated(ifindex, NULL, &bss) || !bss.has_ssid)
			return -ENOENT;
		memcpy(ssid, bss.ssid, bss.ssid_len);
		*ssid_len = bss.ssid_len;
		return 0;
	}
	if (g_str_equal(source, "interface")) {
		if (get_interface(ifindex, &iface) < 0 || !iface.has_ssid)
			return -ENOENT;
		memcpy(ssid, iface.ssid, iface.ssid_len);
		*ssid_len = iface.ssid_len;
		return 0;
	}
	if (g_str_equal(source, "wext"))
		return wext_ssid(ifindex, ssid, ssid_len) ? 0 : -ENOENT;
	return -EINVAL;
}

/* ---- events ---------------------------------------------------------------- */

static void report_connected(int ifindex, const char *what, const uint8_t *event_ssid,
			     size_t event_ssid_len, const uint8_t *event_bssid)
{
	uint8_t ssid[RV_SSID_MAX_LEN];
	size_t ssid_len = 0;
	uint8_t scan_bssid[6];
	gboolean has_scan_bssid = FALSE;
	const uint8_t *bssid = event_bssid;
	const char *source = NULL;
	char ifname[IF_NAMESIZE];
	g_autofree char *bssid_text = NULL;
	g_autofree char *ssid_text = NULL;

	if (event_ssid && event_ssid_len > 0) {
		memcpy(ssid, event_ssid, event_ssid_len);
		ssid_len = event_ssid_len;
		source = "request IEs";
	} else {
		source = find_ssid(ifindex, event_bssid, ssid, &ssid_len, scan_bssid,
				   &has_scan_bssid);
	}
	if (!bssid && has_scan_bssid)
		bssid = scan_bssid;

	bssid_text = bssid ? rv_mac_to_string(bssid) : g_strdup("unknown");
	ssid_text = source ? rv_ssid_escape(ssid, ssid_len) : NULL;
	if (source)
		g_message("%s: Wi-Fi %s to %s, SSID \"%s\" (from %s)", ifname_of(ifindex, ifname),
			  what, bssid_text, ssid_text, source);
	else
		g_message("%s: Wi-Fi %s to %s, SSID unknown", ifname_of(ifindex, ifname), what,
			  bssid_text);
	rv_links_set_wifi(ifindex, true, source ? ssid : NULL, ssid_len, bssid);
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
			g_message("%s: Wi-Fi association failed (%s %u)", ifname,
				  event->timed_out ? "timed out, status" : "status",
				  (unsigned int)event->status);
			rv_links_set_wifi(event->ifindex, false, NULL, 0, NULL);
			return;
		}
		report_connected(event->ifindex, "connected",
				 event->has_ssid ? event->ssid : NULL, event->ssid_len,
				 event->has_bssid ? event->bssid : NULL);
		return;
	case RV_WIFI_EVENT_ROAM:
		report_connected(event->ifindex, "roamed",
				 event->has_ssid ? event->ssid : NULL, event->ssid_len,
				 event->has_bssid ? event->bssid : NULL);
		return;
	case RV_WIFI_EVENT_DISCONNECT:
		g_message("%s: Wi-Fi disconnected (reason %u%s)", ifname,
			  (unsigned int)event->reason, event->by_ap ? ", by the AP" : "");
		rv_links_set_wifi(event->ifindex, false, NULL, 0, NULL);
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

struct station_list {
	GArray *ifindexes;
};

static void collect_station(const struct nlmsghdr *hdr, void *ctx)
{
	struct station_list *list = ctx;
	struct rv_wifi_iface iface;

	if (rv_nl80211_parse_iface(hdr, &iface) == 0 && is_station(&iface))
		g_array_append_val(list->ifindexes, iface.ifindex);
}

/* Every station's state from scratch: at start, and after the kernel dropped
 * events because our socket buffer overflowed. */
static void refresh_all(void)
{
	struct station_list list = { g_array_new(FALSE, FALSE, sizeof(int)) };
	int r = nl80211_query(NL80211_CMD_GET_INTERFACE, 0, TRUE, "interface",
			      collect_station, &list);

	if (r < 0)
		g_warning("nl80211 interface dump failed: %s", g_strerror(-r));
	for (guint i = 0; i < list.ifindexes->len; i++)
		rv_wifi_refresh(g_array_index(list.ifindexes, int, i));
	g_array_unref(list.ifindexes);
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
	if (query_sock)
		nl_socket_free(query_sock);
	query_sock = NULL;
	nl80211_family = -1;
}

/* -ENOENT when the kernel has no nl80211 (no cfg80211); other negative errno on
 * socket failures, with *error set. */
static int open_sockets(GError **error)
{
	struct timeval timeout = { .tv_usec = QUERY_TIMEOUT_MS * 1000 };
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
	nl_socket_enable_msg_peek(query_sock);	/* scan dumps can exceed a page */
	if (setsockopt(nl_socket_get_fd(query_sock), SOL_SOCKET, SO_RCVTIMEO, &timeout,
		       sizeof(timeout)) < 0) {
		r = -errno;
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "SO_RCVTIMEO: %s", g_strerror(-r));
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
	g_debug("nl80211: family %d, joined multicast group mlme (%d)", nl80211_family, group);
	return 0;

fail:
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
}

void rv_wifi_refresh(int ifindex)
{
	struct rv_wifi_iface iface;
	struct rv_wifi_bss bss;
	char ifname[IF_NAMESIZE];

	if (!event_sock) {
		/* Before rv_wifi_init (links come first at start), or cfg80211 was loaded
		 * after we said it was missing: try again, quietly. */
		if (open_sockets(NULL) < 0)
			return;
		if (absence_logged)
			g_message("nl80211 available now: watching Wi-Fi associations");
	}
	if (get_interface(ifindex, &iface) < 0 || !is_station(&iface))
		return;
	if (scan_associated(ifindex, NULL, &bss)) {
		report_connected(ifindex, "associated", bss.has_ssid ? bss.ssid : NULL,
				 bss.ssid_len, bss.has_bssid ? bss.bssid : NULL);
		return;
	}
	if (iface.has_ssid && iface.ssid_len > 0) {
		report_connected(ifindex, "associated", iface.ssid, iface.ssid_len, NULL);
		return;
	}
	g_debug("%s: Wi-Fi not associated", ifname_of(ifindex, ifname));
	rv_links_set_wifi(ifindex, false, NULL, 0, NULL);
}

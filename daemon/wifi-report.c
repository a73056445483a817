/* wifi-report.c - what is said about a wlan link, and the nl80211 lookups it needs
 * (see wifi-report.h; wifi.c feeds it).
 *
 * Each event and each refresh becomes a report: what is to be said about one link.
 * A report that needs nothing more (DISCONNECT, a CONNECT whose request IEs hold the
 * SSID) is ready at once; one that must ask nl80211 (the SSID of a CONNECT without
 * one, the current association of a link) runs its queries one step at a time from
 * their completion callbacks: GET_SCAN (the associated BSS), GET_INTERFACE, then the
 * wext ioctl, sent through the query queue wifi.c opened (nl-queue.c). Ready reports
 * reach the view (rv_links_set_wifi()) in the order of their events, per link: a
 * DISCONNECT never overtakes the CONNECT before it whose SSID is still being looked
 * up. A link that goes away takes its reports and their queries with it.
 *
 * This file owns the ordered list of reports and the steps of their lookups; it
 * borrows the query queue and never opens or closes a socket. The recorder tap lives
 * here because both this file and wifi.c's event decoding feed it.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/nl80211.h>
#include <linux/wireless.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>

#include "link.h"
#include "nl-queue.h"
#include "nl80211-parse.h"
#include "ssid.h"
#include "wifi-report.h"

static struct rv_nl_queue *queries;	/* wifi.c's, borrowed; NULL: every query fails */
static int nl80211_family = -1;
static rv_wifi_tap_fn message_tap;
static GQueue reports = G_QUEUE_INIT;	/* struct report *, in event order */
static gboolean flushing;

void rv_wifi_report_use_queries(struct rv_nl_queue *queue, int family)
{
	queries = queue;
	nl80211_family = family;
}

void rv_wifi_set_tap(rv_wifi_tap_fn tap)
{
	message_tap = tap;
}

void rv_wifi_tap_message(const char *kind, const struct nlmsghdr *hdr)
{
	if (message_tap)
		message_tap(kind, hdr);
}

const char *rv_wifi_ifname(int ifindex, char buf[IF_NAMESIZE])
{
	if (!if_indextoname((unsigned int)ifindex, buf))
		g_snprintf(buf, IF_NAMESIZE, "#%d", ifindex);
	return buf;
}

gboolean rv_wifi_is_station(const struct rv_wifi_iface *iface)
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
		g_message("%s: Wi-Fi %s to %s, SSID \"%s\" (from %s)", rv_wifi_ifname(r->ifindex, ifname),
			  r->what, bssid_text, ssid_text, r->source);
	else
		g_message("%s: Wi-Fi %s to %s, SSID unknown", rv_wifi_ifname(r->ifindex, ifname),
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

void rv_wifi_report_drop(int ifindex)
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
		rv_wifi_tap_message("interface", hdr);
		if (rv_nl80211_parse_iface(hdr, &r->iface) == 0)
			r->iface_found = TRUE;
		return;
	case STEP_STATE_SCAN:
	case STEP_SSID_SCAN:
		rv_wifi_tap_message("scan", hdr);
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
		if (result < 0 || !r->iface_found || !rv_wifi_is_station(&r->iface)) {
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
	g_debug("%s: Wi-Fi not associated", rv_wifi_ifname(r->ifindex, ifname));
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

/* ---- the reports wifi.c asks for -------------------------------------------- */

void rv_wifi_report_connected(const struct rv_wifi_event *event, const char *what)
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

void rv_wifi_report_not_connected(int ifindex, char *message)
{
	struct report *r = report_new(REPORT_EVENT, ifindex);

	r->message = message;
	ready(r);
}

void rv_wifi_report_refresh(int ifindex, rv_wifi_state_fn fn, void *user_data)
{
	struct report *r = report_new(REPORT_REFRESH, ifindex);

	r->state_fn = fn;
	r->user_data = user_data;
	query(r, STEP_STATE_IFACE);
}

void rv_wifi_report_clear(void)
{
	g_queue_clear_full(&reports, (GDestroyNotify)report_free);
}

/* test-wifi-async.c - the wifi subsystem's asynchronous queries (daemon/wifi.c and
 * the per-link reports of daemon/wifi-report.c), with a fake nl80211.
 *
 * wifi.c's query socket is aimed at a fake peer on NETLINK_USERSOCK
 * (rv_wifi_use_query_socket) that answers GET_SCAN and GET_INTERFACE with the message
 * bytes recorded in the VM (tests/unit/data/), answers with an error, or never. A
 * stand-in rv_links_set_wifi() records what reaches the view. Checked: nothing is
 * reported before the lookup it waits for is answered, a DISCONNECT does not overtake
 * the CONNECT whose SSID is being looked up, a refresh runs GET_INTERFACE then GET_SCAN,
 * a link removed with a query in flight is never reported and the next query still
 * goes out, a query that is never answered is abandoned and the lookup goes on, and
 * rv_wifi_exit() with a query in flight calls nothing afterwards (ASan builds check
 * that nothing freed is touched). Every wait runs the GLib loop under a 10 s guard.
 */
#include "config.h"

#include <errno.h>
#include <linux/nl80211.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <string.h>

#include <glib-unix.h>

#include "events.h"
#include "link.h"
#include "wifi-test-util.h"
#include "nl80211-parse.h"
#include "wifi.h"

#define FAMILY 0x20	/* what the recorded messages carry as nlmsg_type */
#define NO_SUCH_IFINDEX 999999	/* no wext either: the SSID stays unknown */

struct request {
	uint32_t seq;
	uint8_t cmd;
	bool dump;
};

static guint warnings;
static struct nl_sock *peer;	/* the fake nl80211 */
static guint peer_watch;
static GArray *requests;	/* struct request, as received by the peer */
static GBytes *scan_fixture, *iface_fixture;
static struct rv_wifi_bss fixture_bss;	/* what scan_fixture says */

static struct set_wifi_call *call_at(guint i)
{
	return &g_array_index(set_wifi_calls, struct set_wifi_call, i);
}

static GLogWriterOutput count_warnings(GLogLevelFlags level, const GLogField *fields,
				       gsize n_fields, gpointer user_data)
{
	if (level & G_LOG_LEVEL_WARNING)
		warnings++;
	return G_LOG_WRITER_HANDLED;
}

/* ---- the fake nl80211 ---------------------------------------------------------- */

static gboolean peer_readable(int fd, GIOCondition condition, gpointer unused)
{
	struct sockaddr_nl from;
	unsigned char *buf = NULL;
	int n = nl_recv(peer, &from, &buf, NULL);
	struct nlmsghdr *hdr = (struct nlmsghdr *)buf;

	for (; n > 0 && nlmsg_ok(hdr, n); hdr = nlmsg_next(hdr, &n)) {
		struct request req = {
			.seq = hdr->nlmsg_seq,
			.cmd = genlmsg_hdr(hdr)->cmd,
			.dump = (hdr->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP,
		};

		g_assert_cmpuint(hdr->nlmsg_type, ==, FAMILY);
		g_array_append_val(requests, req);
	}
	free(buf);
	return G_SOURCE_CONTINUE;
}

/* A fresh peer and query socket for each test: no answer of one test reaches the next. */
static void setup(guint timeout_ms)
{
	struct nl_sock *sock = nl_socket_alloc();

	set_wifi_calls_reset();
	warnings = 0;
	if (peer) {
		g_source_remove(peer_watch);
		nl_socket_free(peer);
		g_array_unref(requests);
	}
	peer = nl_socket_alloc();
	g_assert_cmpint(nl_connect(peer, NETLINK_USERSOCK), ==, 0);
	g_assert_cmpint(nl_socket_set_nonblocking(peer), ==, 0);
	requests = g_array_new(FALSE, FALSE, sizeof(struct request));
	peer_watch = g_unix_fd_add(nl_socket_get_fd(peer), G_IO_IN, peer_readable, NULL);

	g_assert_cmpint(nl_connect(sock, NETLINK_USERSOCK), ==, 0);
	nl_socket_set_peer_port(sock, nl_socket_get_local_port(peer));
	nl_socket_set_peer_port(peer, nl_socket_get_local_port(sock));
	rv_wifi_use_query_socket(sock, FAMILY, timeout_ms);
}

static struct request *request_at(guint i)
{
	return &g_array_index(requests, struct request, i);
}

/* Sends a copy of a recorded message as the answer to seq. */
static void answer_with(GBytes *fixture, uint32_t seq, uint16_t flags)
{
	gsize len = g_bytes_get_size(fixture);
	g_autofree struct nlmsghdr *hdr = g_memdup2(g_bytes_get_data(fixture, NULL), len);

	hdr->nlmsg_seq = seq;
	hdr->nlmsg_pid = nl_socket_get_local_port(peer);
	hdr->nlmsg_flags = flags;
	g_assert_cmpint(nl_sendto(peer, hdr, hdr->nlmsg_len), >=, 0);
}

static void answer_end(uint32_t seq, int type, int error)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, type == NLMSG_DONE ? NLM_F_MULTI : 0);
	struct nlmsgerr err = { .error = error };
	int32_t done = 0;

	nlmsg_hdr(msg)->nlmsg_seq = seq;
	nlmsg_hdr(msg)->nlmsg_pid = nl_socket_get_local_port(peer);
	if (type == NLMSG_ERROR)
		g_assert_cmpint(nlmsg_append(msg, &err, sizeof(err), NLMSG_ALIGNTO), ==, 0);
	else
		g_assert_cmpint(nlmsg_append(msg, &done, sizeof(done), NLMSG_ALIGNTO), ==, 0);
	g_assert_cmpint(nl_send(peer, msg), >=, 0);
	nlmsg_free(msg);
}

/* The associated BSS of the recorded dump, then NLMSG_DONE. */
static void answer_scan(uint32_t seq)
{
	answer_with(scan_fixture, seq, NLM_F_MULTI);
	answer_end(seq, NLMSG_DONE, 0);
}

/* ---- events and waits ------------------------------------------------------------ */

static int handle_built(struct nl_msg *msg)
{
	int r = rv_wifi_handle_message(nlmsg_hdr(msg));

	nlmsg_free(msg);
	return r;
}

/* CONNECT to the recorded BSS's address without request IEs: the SSID must be looked up. */
static int connect_without_ssid(int ifindex)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 1, 1, FAMILY, 0, 0, NL80211_CMD_CONNECT, 0);
	nla_put_u32(msg, NL80211_ATTR_IFINDEX, (uint32_t)ifindex);
	nla_put(msg, NL80211_ATTR_MAC, 6, fixture_bss.bssid);
	return handle_built(msg);
}

static int disconnect(int ifindex)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, 1, 1, FAMILY, 0, 0, NL80211_CMD_DISCONNECT, 0);
	nla_put_u32(msg, NL80211_ATTR_IFINDEX, (uint32_t)ifindex);
	nla_put_u16(msg, NL80211_ATTR_REASON_CODE, 3);
	return handle_built(msg);
}

static gboolean gave_up;

static gboolean give_up(gpointer unused)
{
	gave_up = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the loop until *count >= n; at most 10 s (a bound: the test fails then). */
static void run_until(const guint *count, guint n)
{
	guint guard = g_timeout_add_seconds(10, give_up, NULL);

	gave_up = FALSE;
	while (*count < n && !gave_up)
		g_main_context_iteration(NULL, TRUE);
	if (!gave_up)
		g_source_remove(guard);
	g_assert_cmpuint(*count, >=, n);
}

static void run_pending(void)
{
	while (g_main_context_iteration(NULL, FALSE))
		;
}

static void assert_home_connected(const struct set_wifi_call *call)
{
	g_assert_true(call->connected);
	g_assert_cmpint(call->ifindex, ==, fixture_bss.ifindex);
	g_assert_nonnull(call->ssid);
	g_assert_cmpmem(g_bytes_get_data(call->ssid, NULL), g_bytes_get_size(call->ssid),
			fixture_bss.ssid, fixture_bss.ssid_len);
	g_assert_true(call->has_bssid);
	g_assert_cmpmem(call->bssid, 6, fixture_bss.bssid, 6);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_disconnect_waits_for_connect_lookup(void)
{
	setup(5000);
	g_assert_cmpint(connect_without_ssid(fixture_bss.ifindex), ==, 0);
	g_assert_cmpuint(set_wifi_calls->len, ==, 0);	/* the SSID is being looked up */
	run_until(&requests->len, 1);
	g_assert_cmpuint(request_at(0)->cmd, ==, NL80211_CMD_GET_SCAN);
	g_assert_true(request_at(0)->dump);

	g_assert_cmpint(disconnect(fixture_bss.ifindex), ==, 0);
	run_pending();
	g_assert_cmpuint(set_wifi_calls->len, ==, 0);	/* held behind the CONNECT */

	answer_scan(request_at(0)->seq);
	run_until(&set_wifi_calls->len, 2);
	assert_home_connected(call_at(0));
	g_assert_false(call_at(1)->connected);
	g_assert_null(call_at(1)->ssid);
	g_assert_cmpuint(requests->len, ==, 1);
	g_assert_cmpuint(warnings, ==, 0);
}

static void test_refresh_interface_then_scan(void)
{
	setup(5000);
	rv_wifi_refresh(fixture_bss.ifindex);
	run_until(&requests->len, 1);
	g_assert_cmpuint(request_at(0)->cmd, ==, NL80211_CMD_GET_INTERFACE);
	g_assert_false(request_at(0)->dump);
	answer_with(iface_fixture, request_at(0)->seq, 0);
	answer_end(request_at(0)->seq, NLMSG_ERROR, 0);	/* the ACK */
	run_until(&requests->len, 2);
	g_assert_cmpuint(request_at(1)->cmd, ==, NL80211_CMD_GET_SCAN);
	g_assert_true(request_at(1)->dump);
	g_assert_cmpuint(set_wifi_calls->len, ==, 0);
	answer_scan(request_at(1)->seq);
	run_until(&set_wifi_calls->len, 1);
	g_assert_cmpuint(set_wifi_calls->len, ==, 1);
	assert_home_connected(call_at(0));
	g_assert_cmpuint(warnings, ==, 0);
}

static void test_link_removed_with_query_in_flight(void)
{
	struct rv_link gone = { .ifindex = fixture_bss.ifindex, .type = (char *)"wlan" };

	setup(5000);
	g_assert_cmpint(connect_without_ssid(fixture_bss.ifindex), ==, 0);
	g_assert_cmpint(connect_without_ssid(NO_SUCH_IFINDEX), ==, 0);
	run_until(&requests->len, 1);
	rv_events_emit(RV_EVENT_LINK_REMOVED, &gone);

	/* The removed link's query keeps its place until answered, and says nothing. */
	answer_scan(request_at(0)->seq);
	run_until(&requests->len, 2);
	g_assert_cmpuint(set_wifi_calls->len, ==, 0);
	/* The other link's lookup goes on: no associated BSS, GET_INTERFACE fails. */
	g_assert_cmpuint(request_at(1)->cmd, ==, NL80211_CMD_GET_SCAN);
	answer_end(request_at(1)->seq, NLMSG_DONE, 0);
	run_until(&requests->len, 3);
	g_assert_cmpuint(request_at(2)->cmd, ==, NL80211_CMD_GET_INTERFACE);
	answer_end(request_at(2)->seq, NLMSG_ERROR, -ENODEV);
	run_until(&set_wifi_calls->len, 1);
	g_assert_cmpuint(set_wifi_calls->len, ==, 1);
	g_assert_cmpint(call_at(0)->ifindex, ==, NO_SUCH_IFINDEX);
	g_assert_true(call_at(0)->connected);
	g_assert_null(call_at(0)->ssid);
	g_assert_true(call_at(0)->has_bssid);
}

static void test_unanswered_queries_abandoned(void)
{
	/* Short: the peer never answers; only that the lookup goes on is checked. */
	setup(50);
	g_assert_cmpint(connect_without_ssid(NO_SUCH_IFINDEX), ==, 0);
	run_until(&requests->len, 2);	/* GET_SCAN abandoned, then GET_INTERFACE */
	g_assert_cmpuint(request_at(0)->cmd, ==, NL80211_CMD_GET_SCAN);
	g_assert_cmpuint(request_at(1)->cmd, ==, NL80211_CMD_GET_INTERFACE);
	run_until(&set_wifi_calls->len, 1);
	g_assert_true(call_at(0)->connected);
	g_assert_null(call_at(0)->ssid);
	g_assert_cmpuint(warnings, ==, 2);
	g_assert_cmpuint(requests->len, ==, 2);
}

static void test_exit_with_query_in_flight(void)
{
	GError *error = NULL;

	setup(5000);
	g_assert_cmpint(connect_without_ssid(fixture_bss.ifindex), ==, 0);
	g_assert_cmpint(disconnect(fixture_bss.ifindex), ==, 0);
	run_until(&requests->len, 1);
	rv_wifi_exit();
	run_pending();
	g_assert_cmpuint(set_wifi_calls->len, ==, 0);
	/* And it starts again cleanly. */
	g_assert_cmpint(rv_wifi_init(&error), ==, 0);
	g_assert_no_error(error);
}

int main(int argc, char **argv)
{
	struct rv_wifi_iface fixture_iface;
	GError *error = NULL;
	int r;

	g_test_init(&argc, &argv, NULL);
	/* wifi.c warns about abandoned queries; count them instead of aborting. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(count_warnings, NULL, NULL);
	scan_fixture = wifi_test_fixture("nl80211-scan-associated.bin");
	iface_fixture = wifi_test_fixture("nl80211-interface-station.bin");
	g_assert_cmpint(rv_nl80211_parse_bss(g_bytes_get_data(scan_fixture, NULL), &fixture_bss),
			==, 0);
	g_assert_true(fixture_bss.has_bssid && fixture_bss.has_ssid && fixture_bss.ifindex > 0);
	/* Both recorded on the same station. */
	g_assert_cmpint(rv_nl80211_parse_iface(g_bytes_get_data(iface_fixture, NULL), &fixture_iface),
			==, 0);
	g_assert_cmpint(fixture_iface.ifindex, ==, fixture_bss.ifindex);
	/* Subscribes to the link events; on a host without nl80211 it opens nothing. */
	g_assert_cmpint(rv_wifi_init(&error), ==, 0);
	g_assert_no_error(error);

	g_test_add_func("/wifi-async/disconnect-waits-for-connect-lookup",
			test_disconnect_waits_for_connect_lookup);
	g_test_add_func("/wifi-async/refresh-interface-then-scan", test_refresh_interface_then_scan);
	g_test_add_func("/wifi-async/link-removed-with-query-in-flight",
			test_link_removed_with_query_in_flight);
	g_test_add_func("/wifi-async/unanswered-queries-abandoned",
			test_unanswered_queries_abandoned);
	g_test_add_func("/wifi-async/exit-with-query-in-flight", test_exit_with_query_in_flight);
	r = g_test_run();

	rv_wifi_exit();
	if (peer) {
		g_source_remove(peer_watch);
		nl_socket_free(peer);
		g_array_unref(requests);
	}
	set_wifi_calls_free();
	g_bytes_unref(scan_fixture);
	g_bytes_unref(iface_fixture);
	return r;
}

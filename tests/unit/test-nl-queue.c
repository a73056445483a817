/* test-nl-queue.c - daemon/nl-queue.c against a fake peer, without nl80211.
 *
 * Two NETLINK_USERSOCK sockets stand in for the daemon's query socket and the kernel:
 * the queue sends its requests to the fake's port, and the fake answers (parts of a
 * dump and NLMSG_DONE, one reply and an ACK, an NLMSG_ERROR), answers late, or never.
 * Userspace netlink unicast needs no privileges for NETLINK_USERSOCK. Every wait runs
 * the GLib loop under a 10 s guard: a bound that fails the test, not a speed check.
 */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <glib-unix.h>

#include "nl-queue.h"

#define REQUEST_TYPE 0x20	/* any type >= NLMSG_MIN_TYPE */

struct fake_peer {
	struct nl_sock *sock;
	guint watch;
	GArray *seqs;	/* uint32_t: sequence numbers of the requests received */
	GArray *tags;	/* uint32_t: the payload of each request, in arrival order */
};

struct call {
	guint replies;
	GArray *reply_tags;	/* uint32_t payload of each reply */
	gboolean done;
	int result;
};

static guint warnings;

static GLogWriterOutput count_warnings(GLogLevelFlags level, const GLogField *fields,
				       gsize n_fields, gpointer user_data)
{
	if (level & G_LOG_LEVEL_WARNING)
		warnings++;
	return G_LOG_WRITER_HANDLED;
}

static gboolean peer_readable(int fd, GIOCondition condition, gpointer data)
{
	struct fake_peer *peer = data;
	struct sockaddr_nl from;
	unsigned char *buf = NULL;
	int n = nl_recv(peer->sock, &from, &buf, NULL);
	struct nlmsghdr *hdr = (struct nlmsghdr *)buf;

	for (; n > 0 && nlmsg_ok(hdr, n); hdr = nlmsg_next(hdr, &n)) {
		uint32_t tag = *(uint32_t *)nlmsg_data(hdr);

		g_array_append_val(peer->seqs, hdr->nlmsg_seq);
		g_array_append_val(peer->tags, tag);
	}
	free(buf);
	return G_SOURCE_CONTINUE;
}

static void peer_start(struct fake_peer *peer)
{
	peer->sock = nl_socket_alloc();
	g_assert_nonnull(peer->sock);
	nl_socket_disable_auto_ack(peer->sock);
	g_assert_cmpint(nl_connect(peer->sock, NETLINK_USERSOCK), ==, 0);
	g_assert_cmpint(nl_socket_set_nonblocking(peer->sock), ==, 0);
	peer->seqs = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	peer->tags = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	peer->watch = g_unix_fd_add(nl_socket_get_fd(peer->sock), G_IO_IN, peer_readable, peer);
}

static void peer_stop(struct fake_peer *peer)
{
	g_source_remove(peer->watch);
	nl_socket_free(peer->sock);
	g_array_unref(peer->seqs);
	g_array_unref(peer->tags);
}

/* The queue's socket, aimed at the fake peer. */
static struct rv_nl_queue *queue_for(struct fake_peer *peer, guint timeout_ms)
{
	struct nl_sock *sock = nl_socket_alloc();

	g_assert_cmpint(nl_connect(sock, NETLINK_USERSOCK), ==, 0);
	nl_socket_set_peer_port(sock, nl_socket_get_local_port(peer->sock));
	nl_socket_set_peer_port(peer->sock, nl_socket_get_local_port(sock));
	return rv_nl_queue_new(sock, "test", timeout_ms);
}

static void peer_send(struct fake_peer *peer, uint32_t seq, int type, int flags, int32_t value)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, flags);
	struct nlmsghdr *hdr = nlmsg_hdr(msg);

	hdr->nlmsg_seq = seq;
	hdr->nlmsg_pid = nl_socket_get_local_port(peer->sock);
	if (type == NLMSG_ERROR) {
		struct nlmsgerr err = { .error = value };

		g_assert_cmpint(nlmsg_append(msg, &err, sizeof(err), NLMSG_ALIGNTO), ==, 0);
	} else {
		g_assert_cmpint(nlmsg_append(msg, &value, sizeof(value), NLMSG_ALIGNTO), ==, 0);
	}
	g_assert_cmpint(nl_send(peer->sock, msg), >=, 0);
	nlmsg_free(msg);
}

/* A dump's answer: one part per tag, then NLMSG_DONE. */
static void peer_answer_dump(struct fake_peer *peer, uint32_t seq, const int32_t *tags, guint n)
{
	for (guint i = 0; i < n; i++)
		peer_send(peer, seq, REQUEST_TYPE, NLM_F_MULTI, tags[i]);
	peer_send(peer, seq, NLMSG_DONE, NLM_F_MULTI, 0);
}

/* A plain request's answer: one reply, then the ACK. */
static void peer_answer_one(struct fake_peer *peer, uint32_t seq, int32_t tag)
{
	peer_send(peer, seq, REQUEST_TYPE, 0, tag);
	peer_send(peer, seq, NLMSG_ERROR, 0, 0);
}

static void on_reply(const struct nlmsghdr *hdr, void *user_data)
{
	struct call *call = user_data;
	uint32_t tag = *(const uint32_t *)nlmsg_data(hdr);

	g_assert_false(call->done);
	call->replies++;
	g_array_append_val(call->reply_tags, tag);
}

static void on_done(int result, void *user_data)
{
	struct call *call = user_data;

	g_assert_false(call->done);
	call->done = TRUE;
	call->result = result;
}

static void call_init(struct call *call)
{
	*call = (struct call){ .reply_tags = g_array_new(FALSE, FALSE, sizeof(uint32_t)) };
}

static void call_clear(struct call *call)
{
	g_array_unref(call->reply_tags);
}

static int submit(struct rv_nl_queue *q, uint32_t tag, struct call *call)
{
	struct nl_msg *msg = nlmsg_alloc_simple(REQUEST_TYPE, NLM_F_REQUEST);

	g_assert_cmpint(nlmsg_append(msg, &tag, sizeof(tag), NLMSG_ALIGNTO), ==, 0);
	return rv_nl_queue_submit(q, msg, on_reply, on_done, call);
}

static gboolean gave_up;

static gboolean give_up(gpointer unused)
{
	gave_up = TRUE;
	return G_SOURCE_REMOVE;
}

/* Runs the loop until *flag is set; at most 10 s (then the test fails). */
static void run_until_set(const gboolean *flag)
{
	guint guard = g_timeout_add_seconds(10, give_up, NULL);

	gave_up = FALSE;
	while (!*flag && !gave_up)
		g_main_context_iteration(NULL, TRUE);
	if (!gave_up)
		g_source_remove(guard);
	g_assert_true(*flag);
}

/* Runs the loop until the peer has received n requests; at most 10 s. */
static void run_until_requests(struct fake_peer *peer, guint n)
{
	guint guard = g_timeout_add_seconds(10, give_up, NULL);

	gave_up = FALSE;
	while (peer->seqs->len < n && !gave_up)
		g_main_context_iteration(NULL, TRUE);
	if (!gave_up)
		g_source_remove(guard);
	g_assert_cmpuint(peer->seqs->len, ==, n);
}

static uint32_t seq_of(struct fake_peer *peer, guint i)
{
	return g_array_index(peer->seqs, uint32_t, i);
}

static uint32_t tag_of(struct fake_peer *peer, guint i)
{
	return g_array_index(peer->tags, uint32_t, i);
}

static void test_one_in_flight_fifo(void)
{
	static const int32_t parts[] = { 11, 12 };
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a, b;

	peer_start(&peer);
	q = queue_for(&peer, 5000);
	call_init(&a);
	call_init(&b);
	g_assert_cmpint(submit(q, 1, &a), ==, 0);
	g_assert_cmpint(submit(q, 2, &b), ==, 0);
	g_assert_cmpuint(rv_nl_queue_length(q), ==, 2);
	/* Only the first is sent until it is answered. */
	run_until_requests(&peer, 1);
	g_assert_cmpuint(tag_of(&peer, 0), ==, 1);
	g_assert_false(a.done);

	peer_answer_dump(&peer, seq_of(&peer, 0), parts, G_N_ELEMENTS(parts));
	run_until_set(&a.done);
	g_assert_cmpint(a.result, ==, 0);
	g_assert_cmpuint(a.replies, ==, 2);
	g_assert_cmpuint(g_array_index(a.reply_tags, uint32_t, 0), ==, 11);
	g_assert_cmpuint(g_array_index(a.reply_tags, uint32_t, 1), ==, 12);
	g_assert_false(b.done);

	/* Now the second goes out; a single reply ended by the ACK. */
	run_until_requests(&peer, 2);
	g_assert_cmpuint(tag_of(&peer, 1), ==, 2);
	peer_answer_one(&peer, seq_of(&peer, 1), 21);
	run_until_set(&b.done);
	g_assert_cmpint(b.result, ==, 0);
	g_assert_cmpuint(b.replies, ==, 1);
	g_assert_cmpuint(rv_nl_queue_length(q), ==, 0);
	g_assert_cmpuint(warnings, ==, 0);

	rv_nl_queue_free(q);
	call_clear(&a);
	call_clear(&b);
	peer_stop(&peer);
}

static void test_error_reply(void)
{
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a;

	peer_start(&peer);
	q = queue_for(&peer, 5000);
	call_init(&a);
	g_assert_cmpint(submit(q, 1, &a), ==, 0);
	run_until_requests(&peer, 1);
	peer_send(&peer, seq_of(&peer, 0), NLMSG_ERROR, 0, -ENODEV);
	run_until_set(&a.done);
	g_assert_cmpint(a.result, ==, -ENODEV);
	g_assert_cmpuint(a.replies, ==, 0);
	rv_nl_queue_free(q);
	call_clear(&a);
	peer_stop(&peer);
}

static void test_timeout_abandons_and_continues(void)
{
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a, b;
	guint warnings_before = warnings;

	peer_start(&peer);
	/* Short: the peer never answers the first request; the length is not checked. */
	q = queue_for(&peer, 50);
	call_init(&a);
	call_init(&b);
	g_assert_cmpint(submit(q, 1, &a), ==, 0);
	g_assert_cmpint(submit(q, 2, &b), ==, 0);
	run_until_set(&a.done);
	g_assert_cmpint(a.result, ==, -ETIMEDOUT);
	g_assert_cmpuint(a.replies, ==, 0);
	g_assert_cmpuint(warnings, ==, warnings_before + 1);

	/* The next request went out; the abandoned one's late answer, arriving first,
	 * is not taken for the new one's. */
	run_until_requests(&peer, 2);
	g_assert_cmpuint(tag_of(&peer, 1), ==, 2);
	g_assert_cmpuint(seq_of(&peer, 0), !=, seq_of(&peer, 1));
	peer_answer_one(&peer, seq_of(&peer, 0), 99);
	peer_answer_one(&peer, seq_of(&peer, 1), 22);
	run_until_set(&b.done);
	g_assert_cmpint(b.result, ==, 0);
	g_assert_cmpuint(b.replies, ==, 1);
	g_assert_cmpuint(g_array_index(b.reply_tags, uint32_t, 0), ==, 22);
	g_assert_cmpuint(a.replies, ==, 0);

	rv_nl_queue_free(q);
	call_clear(&a);
	call_clear(&b);
	peer_stop(&peer);
}

static void test_cancel(void)
{
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a, b;

	peer_start(&peer);
	q = queue_for(&peer, 5000);
	call_init(&a);
	call_init(&b);
	g_assert_cmpint(submit(q, 1, &a), ==, 0);
	g_assert_cmpint(submit(q, 2, &b), ==, 0);
	g_assert_cmpint(submit(q, 3, &a), ==, 0);	/* a's second request, queued */
	run_until_requests(&peer, 1);
	/* a's request in flight keeps its place but says nothing; the queued one is gone. */
	rv_nl_queue_cancel(q, &a);
	g_assert_cmpuint(rv_nl_queue_length(q), ==, 2);
	peer_answer_one(&peer, seq_of(&peer, 0), 11);
	run_until_requests(&peer, 2);
	g_assert_cmpuint(tag_of(&peer, 1), ==, 2);
	peer_answer_one(&peer, seq_of(&peer, 1), 21);
	run_until_set(&b.done);
	g_assert_cmpuint(b.replies, ==, 1);
	g_assert_false(a.done);
	g_assert_cmpuint(a.replies, ==, 0);
	g_assert_cmpuint(rv_nl_queue_length(q), ==, 0);
	g_assert_cmpuint(peer.seqs->len, ==, 2);	/* tag 3 was never sent */

	rv_nl_queue_free(q);
	call_clear(&a);
	call_clear(&b);
	peer_stop(&peer);
}

/* done may queue more: it goes behind what was already waiting. */
static struct rv_nl_queue *chain_queue;
static struct call chain_call;

static void on_done_submit_more(int result, void *user_data)
{
	on_done(result, user_data);
	g_assert_cmpint(submit(chain_queue, 3, &chain_call), ==, 0);
}

static void test_submit_from_done_keeps_order(void)
{
	struct fake_peer peer;
	struct call a, b;
	struct nl_msg *msg;
	uint32_t tag = 1;

	peer_start(&peer);
	chain_queue = queue_for(&peer, 5000);
	call_init(&a);
	call_init(&b);
	call_init(&chain_call);
	msg = nlmsg_alloc_simple(REQUEST_TYPE, NLM_F_REQUEST);
	g_assert_cmpint(nlmsg_append(msg, &tag, sizeof(tag), NLMSG_ALIGNTO), ==, 0);
	g_assert_cmpint(rv_nl_queue_submit(chain_queue, msg, on_reply, on_done_submit_more, &a),
			==, 0);
	g_assert_cmpint(submit(chain_queue, 2, &b), ==, 0);
	run_until_requests(&peer, 1);
	peer_answer_one(&peer, seq_of(&peer, 0), 11);
	run_until_set(&a.done);
	run_until_requests(&peer, 2);
	g_assert_cmpuint(tag_of(&peer, 1), ==, 2);
	peer_answer_one(&peer, seq_of(&peer, 1), 21);
	run_until_requests(&peer, 3);
	g_assert_cmpuint(tag_of(&peer, 2), ==, 3);
	peer_answer_one(&peer, seq_of(&peer, 2), 31);
	run_until_set(&chain_call.done);
	g_assert_true(b.done);

	rv_nl_queue_free(chain_queue);
	call_clear(&a);
	call_clear(&b);
	call_clear(&chain_call);
	peer_stop(&peer);
}

/* Freed with a request in flight and one waiting: no callback runs, and the answer
 * that comes after is nobody's (ASan builds check nothing is touched). */
static void test_free_in_flight(void)
{
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a, b;

	peer_start(&peer);
	q = queue_for(&peer, 5000);
	call_init(&a);
	call_init(&b);
	g_assert_cmpint(submit(q, 1, &a), ==, 0);
	g_assert_cmpint(submit(q, 2, &b), ==, 0);
	run_until_requests(&peer, 1);
	rv_nl_queue_free(q);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(a.done);
	g_assert_false(b.done);
	g_assert_cmpuint(a.replies, ==, 0);
	call_clear(&a);
	call_clear(&b);
	peer_stop(&peer);
}

/* A request that cannot be sent is refused by submit; done never runs. */
static void test_send_failure(void)
{
	struct fake_peer peer;
	struct rv_nl_queue *q;
	struct call a;

	peer_start(&peer);
	q = queue_for(&peer, 5000);
	peer_stop(&peer);	/* nobody at that port any more */
	call_init(&a);
	g_assert_cmpint(submit(q, 1, &a), <, 0);
	g_assert_cmpuint(rv_nl_queue_length(q), ==, 0);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(a.done);
	rv_nl_queue_free(q);
	call_clear(&a);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* The queue warns about abandoned requests; count them instead of aborting. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(count_warnings, NULL, NULL);
	g_test_add_func("/nl-queue/one-in-flight-fifo", test_one_in_flight_fifo);
	g_test_add_func("/nl-queue/error-reply", test_error_reply);
	g_test_add_func("/nl-queue/timeout-abandons-and-continues",
			test_timeout_abandons_and_continues);
	g_test_add_func("/nl-queue/cancel", test_cancel);
	g_test_add_func("/nl-queue/submit-from-done-keeps-order", test_submit_from_done_keeps_order);
	g_test_add_func("/nl-queue/free-in-flight", test_free_in_flight);
	g_test_add_func("/nl-queue/send-failure", test_send_failure);
	return g_test_run();
}

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

/* Each test: a fresh peer, a queue aimed at it and three calls to record into. */
struct fixture {
	struct fake_peer peer;
	gboolean peer_gone;
	struct rv_nl_queue *q;	/* NULL once a test freed it */
	struct call a, b, c;
};

static void fixture_setup(struct fixture *f, gconstpointer timeout_ms)
{
	peer_start(&f->peer);
	f->peer_gone = FALSE;
	f->q = queue_for(&f->peer, GPOINTER_TO_UINT(timeout_ms));
	call_init(&f->a);
	call_init(&f->b);
	call_init(&f->c);
}

static void fixture_teardown(struct fixture *f, gconstpointer unused)
{
	g_clear_pointer(&f->q, rv_nl_queue_free);
	call_clear(&f->a);
	call_clear(&f->b);
	call_clear(&f->c);
	if (!f->peer_gone)
		peer_stop(&f->peer);
}

static void test_one_in_flight_fifo(struct fixture *f, gconstpointer unused)
{
	static const int32_t parts[] = { 11, 12 };

	g_assert_cmpint(submit(f->q, 1, &f->a), ==, 0);
	g_assert_cmpint(submit(f->q, 2, &f->b), ==, 0);
	g_assert_cmpuint(rv_nl_queue_length(f->q), ==, 2);
	/* Only the first is sent until it is answered. */
	run_until_requests(&f->peer, 1);
	g_assert_cmpuint(tag_of(&f->peer, 0), ==, 1);
	g_assert_false(f->a.done);

	peer_answer_dump(&f->peer, seq_of(&f->peer, 0), parts, G_N_ELEMENTS(parts));
	run_until_set(&f->a.done);
	g_assert_cmpint(f->a.result, ==, 0);
	g_assert_cmpuint(f->a.replies, ==, 2);
	g_assert_cmpuint(g_array_index(f->a.reply_tags, uint32_t, 0), ==, 11);
	g_assert_cmpuint(g_array_index(f->a.reply_tags, uint32_t, 1), ==, 12);
	g_assert_false(f->b.done);

	/* Now the second goes out; a single reply ended by the ACK. */
	run_until_requests(&f->peer, 2);
	g_assert_cmpuint(tag_of(&f->peer, 1), ==, 2);
	peer_answer_one(&f->peer, seq_of(&f->peer, 1), 21);
	run_until_set(&f->b.done);
	g_assert_cmpint(f->b.result, ==, 0);
	g_assert_cmpuint(f->b.replies, ==, 1);
	g_assert_cmpuint(rv_nl_queue_length(f->q), ==, 0);
	g_assert_cmpuint(warnings, ==, 0);
}

static void test_error_reply(struct fixture *f, gconstpointer unused)
{
	g_assert_cmpint(submit(f->q, 1, &f->a), ==, 0);
	run_until_requests(&f->peer, 1);
	peer_send(&f->peer, seq_of(&f->peer, 0), NLMSG_ERROR, 0, -ENODEV);
	run_until_set(&f->a.done);
	g_assert_cmpint(f->a.result, ==, -ENODEV);
	g_assert_cmpuint(f->a.replies, ==, 0);
}

/* Set up with a short timeout: the peer never answers the first request; how long it
 * took is not checked. */
static void test_timeout_abandons_and_continues(struct fixture *f, gconstpointer unused)
{
	guint warnings_before = warnings;

	g_assert_cmpint(submit(f->q, 1, &f->a), ==, 0);
	g_assert_cmpint(submit(f->q, 2, &f->b), ==, 0);
	run_until_set(&f->a.done);
	g_assert_cmpint(f->a.result, ==, -ETIMEDOUT);
	g_assert_cmpuint(f->a.replies, ==, 0);
	g_assert_cmpuint(warnings, ==, warnings_before + 1);

	/* The next request went out; the abandoned one's late answer, arriving first,
	 * is not taken for the new one's. */
	run_until_requests(&f->peer, 2);
	g_assert_cmpuint(tag_of(&f->peer, 1), ==, 2);
	g_assert_cmpuint(seq_of(&f->peer, 0), !=, seq_of(&f->peer, 1));
	peer_answer_one(&f->peer, seq_of(&f->peer, 0), 99);
	peer_answer_one(&f->peer, seq_of(&f->peer, 1), 22);
	run_until_set(&f->b.done);
	g_assert_cmpint(f->b.result, ==, 0);
	g_assert_cmpuint(f->b.replies, ==, 1);
	g_assert_cmpuint(g_array_index(f->b.reply_tags, uint32_t, 0), ==, 22);
	g_assert_cmpuint(f->a.replies, ==, 0);
}

static void test_cancel(struct fixture *f, gconstpointer unused)
{
	g_assert_cmpint(submit(f->q, 1, &f->a), ==, 0);
	g_assert_cmpint(submit(f->q, 2, &f->b), ==, 0);
	g_assert_cmpint(submit(f->q, 3, &f->a), ==, 0);	/* a's second request, queued */
	run_until_requests(&f->peer, 1);
	/* a's request in flight keeps its place but says nothing; the queued one is gone. */
	rv_nl_queue_cancel(f->q, &f->a);
	g_assert_cmpuint(rv_nl_queue_length(f->q), ==, 2);
	peer_answer_one(&f->peer, seq_of(&f->peer, 0), 11);
	run_until_requests(&f->peer, 2);
	g_assert_cmpuint(tag_of(&f->peer, 1), ==, 2);
	peer_answer_one(&f->peer, seq_of(&f->peer, 1), 21);
	run_until_set(&f->b.done);
	g_assert_cmpuint(f->b.replies, ==, 1);
	g_assert_false(f->a.done);
	g_assert_cmpuint(f->a.replies, ==, 0);
	g_assert_cmpuint(rv_nl_queue_length(f->q), ==, 0);
	g_assert_cmpuint(f->peer.seqs->len, ==, 2);	/* tag 3 was never sent */
}

/* done may queue more: it goes behind what was already waiting. */
static struct fixture *chain;

static void on_done_submit_more(int result, void *user_data)
{
	on_done(result, user_data);
	g_assert_cmpint(submit(chain->q, 3, &chain->c), ==, 0);
}

static void test_submit_from_done_keeps_order(struct fixture *f, gconstpointer unused)
{
	struct nl_msg *msg = nlmsg_alloc_simple(REQUEST_TYPE, NLM_F_REQUEST);
	uint32_t tag = 1;

	chain = f;
	g_assert_cmpint(nlmsg_append(msg, &tag, sizeof(tag), NLMSG_ALIGNTO), ==, 0);
	g_assert_cmpint(rv_nl_queue_submit(f->q, msg, on_reply, on_done_submit_more, &f->a), ==, 0);
	g_assert_cmpint(submit(f->q, 2, &f->b), ==, 0);
	run_until_requests(&f->peer, 1);
	peer_answer_one(&f->peer, seq_of(&f->peer, 0), 11);
	run_until_set(&f->a.done);
	run_until_requests(&f->peer, 2);
	g_assert_cmpuint(tag_of(&f->peer, 1), ==, 2);
	peer_answer_one(&f->peer, seq_of(&f->peer, 1), 21);
	run_until_requests(&f->peer, 3);
	g_assert_cmpuint(tag_of(&f->peer, 2), ==, 3);
	peer_answer_one(&f->peer, seq_of(&f->peer, 2), 31);
	run_until_set(&f->c.done);
	g_assert_true(f->b.done);
}

/* Freed with a request in flight and one waiting: no callback runs, and the answer
 * that comes after is nobody's (ASan builds check nothing is touched). */
static void test_free_in_flight(struct fixture *f, gconstpointer unused)
{
	g_assert_cmpint(submit(f->q, 1, &f->a), ==, 0);
	g_assert_cmpint(submit(f->q, 2, &f->b), ==, 0);
	run_until_requests(&f->peer, 1);
	g_clear_pointer(&f->q, rv_nl_queue_free);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(f->a.done);
	g_assert_false(f->b.done);
	g_assert_cmpuint(f->a.replies, ==, 0);
}

/* A request that cannot be sent is refused by submit; done never runs. */
static void test_send_failure(struct fixture *f, gconstpointer unused)
{
	peer_stop(&f->peer);	/* nobody at that port any more */
	f->peer_gone = TRUE;
	g_assert_cmpint(submit(f->q, 1, &f->a), <, 0);
	g_assert_cmpuint(rv_nl_queue_length(f->q), ==, 0);
	while (g_main_context_iteration(NULL, FALSE))
		;
	g_assert_false(f->a.done);
}

#define ADD(path, timeout_ms, fn) \
	g_test_add(path, struct fixture, GUINT_TO_POINTER(timeout_ms), fixture_setup, fn, \
		   fixture_teardown)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	/* The queue warns about abandoned requests; count them instead of aborting. */
	g_log_set_always_fatal(G_LOG_FATAL_MASK);
	g_log_set_writer_func(count_warnings, NULL, NULL);
	ADD("/nl-queue/one-in-flight-fifo", 5000, test_one_in_flight_fifo);
	ADD("/nl-queue/error-reply", 5000, test_error_reply);
	ADD("/nl-queue/timeout-abandons-and-continues", 50, test_timeout_abandons_and_continues);
	ADD("/nl-queue/cancel", 5000, test_cancel);
	ADD("/nl-queue/submit-from-done-keeps-order", 5000, test_submit_from_done_keeps_order);
	ADD("/nl-queue/free-in-flight", 5000, test_free_in_flight);
	ADD("/nl-queue/send-failure", 5000, test_send_failure);
	return g_test_run();
}

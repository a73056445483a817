/* nl-queue.c - asynchronous request/response on one netlink socket (see nl-queue.h).
 *
 * Owns the socket, its GLib fd source, the one request in flight with its timer, and
 * the FIFO of requests waiting behind it. libnl sends and parses: nl_recvmsgs_report()
 * on the non-blocking socket hands every message of a datagram to the callbacks below
 * and returns when the socket is drained.
 */
#include "config.h"

#include <errno.h>

#include <glib-unix.h>
#include <netlink/netlink.h>

#include "nl-queue.h"

/* Datagrams read per dispatch: a huge dump yields to the rest of the loop between
 * batches (the fd stays readable, so the source fires again). */
#define READS_PER_DISPATCH 64

struct request {
	struct nl_msg *msg;	/* until sent */
	uint32_t seq;
	rv_nl_reply_fn reply;
	rv_nl_done_fn done;
	void *user_data;
	gboolean cancelled;	/* callbacks off; still waits for its answer to end */
	gboolean progressed;	/* a reply came since the timer was armed */
	gboolean ended;
	int result;
};

struct rv_nl_queue {
	struct nl_sock *sock;
	struct nl_cb *cb;
	char *name;
	guint timeout_ms;
	guint fd_source;
	guint timer;
	struct request *in_flight;
	GQueue waiting;		/* struct request *, oldest first */
};

static void request_free(struct request *req)
{
	if (req->msg)
		nlmsg_free(req->msg);
	g_free(req);
}

/* ---- libnl callbacks: they only note what arrived ---------------------------- */

/* Our own check instead of libnl's strict ordering: replies to an abandoned
 * request may still come, and must not be taken for the current one's. */
static int on_seq_check(struct nl_msg *msg, void *arg)
{
	struct rv_nl_queue *q = arg;
	const struct nlmsghdr *hdr = nlmsg_hdr(msg);

	if (q->in_flight && !q->in_flight->ended && hdr->nlmsg_seq == q->in_flight->seq)
		return NL_OK;
	g_debug("%s: skipping a reply to no request in flight (seq %u)", q->name, hdr->nlmsg_seq);
	return NL_SKIP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct rv_nl_queue *q = arg;
	struct request *req = q->in_flight;

	req->progressed = TRUE;
	if (!req->cancelled && req->reply)
		req->reply(nlmsg_hdr(msg), req->user_data);
	return NL_OK;
}

static int on_end(struct nl_msg *msg, void *arg)
{
	struct rv_nl_queue *q = arg;

	q->in_flight->ended = TRUE;
	q->in_flight->result = 0;
	return NL_STOP;
}

static int on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *arg)
{
	struct rv_nl_queue *q = arg;

	q->in_flight->ended = TRUE;
	q->in_flight->result = err->error < 0 ? err->error : -EIO;
	return NL_STOP;
}

/* The kernel marks dump parts when the table changed under the dump. The entries are
 * still what it had; the next event corrects anything stale, so take them. */
static int on_dump_intr(struct nl_msg *msg, void *arg)
{
	g_debug("%s: dump interrupted by a change, keeping what it gave",
		((struct rv_nl_queue *)arg)->name);
	return NL_OK;
}

/* ---- the queue ------------------------------------------------------------------ */

static gboolean on_timeout(gpointer data);
static void drain(struct rv_nl_queue *q);

static int send_request(struct rv_nl_queue *q, struct request *req)
{
	int r = nl_send_auto(q->sock, req->msg);

	if (r < 0)
		return r == -NLE_NOMEM ? -ENOMEM : -EIO;
	req->seq = nlmsg_hdr(req->msg)->nlmsg_seq;
	nlmsg_free(req->msg);
	req->msg = NULL;
	q->in_flight = req;
	q->timer = g_timeout_add(q->timeout_ms, on_timeout, q);
	return 0;
}

/* Sends waiting requests until one is in flight. A request that cannot be sent ends
 * here with the error (its done runs: callers only ever see a result through done). */
static void send_next(struct rv_nl_queue *q)
{
	while (!q->in_flight && !g_queue_is_empty(&q->waiting)) {
		struct request *req = g_queue_pop_head(&q->waiting);
		int r = send_request(q, req);

		if (r < 0) {
			g_warning("%s: sending a request failed: %s", q->name, g_strerror(-r));
			if (!req->cancelled && req->done)
				req->done(r, req->user_data);
			request_free(req);
		}
	}
}

/* The request in flight ended (answer, error, timeout): out of the way first, so done
 * may submit (it queues behind the others) or cancel, then the next goes out. */
static void finish(struct rv_nl_queue *q, int result)
{
	struct request *req = q->in_flight;

	q->in_flight = NULL;
	g_clear_handle_id(&q->timer, g_source_remove);
	if (!req->cancelled && req->done)
		req->done(result, req->user_data);
	request_free(req);
	send_next(q);
}

static void drain(struct rv_nl_queue *q)
{
	for (int i = 0; i < READS_PER_DISPATCH; i++) {
		int r = nl_recvmsgs_report(q->sock, q->cb);

		if (q->in_flight && q->in_flight->ended) {
			finish(q, q->in_flight->result);
			continue;
		}
		if (r == 0 || r == -NLE_AGAIN)
			return;
		if (r < 0) {
			/* The answer may be lost with whatever failed: end the request
			 * rather than wait for its timer. */
			g_warning("%s: receiving: %s", q->name, nl_geterror(r));
			if (q->in_flight)
				finish(q, -EIO);
			return;
		}
	}
}

static gboolean on_readable(int fd, GIOCondition condition, gpointer data)
{
	drain(data);
	return G_SOURCE_CONTINUE;
}

static gboolean on_timeout(gpointer data)
{
	struct rv_nl_queue *q = data;

	q->timer = 0;
	/* A busy loop may run this before the fd source although the answer is
	 * there: read first, abandon only what really got no answer. */
	drain(q);
	if (!q->in_flight || q->timer != 0)
		return G_SOURCE_REMOVE;		/* ended; the next one has its own timer */
	if (q->in_flight->progressed) {
		/* A long dump still coming in: each period must bring a part. */
		q->in_flight->progressed = FALSE;
		q->timer = g_timeout_add(q->timeout_ms, on_timeout, q);
		return G_SOURCE_REMOVE;
	}
	g_warning("%s: no complete answer to a request within %u ms: abandoned", q->name,
		  q->timeout_ms);
	finish(q, -ETIMEDOUT);
	return G_SOURCE_REMOVE;
}

struct rv_nl_queue *rv_nl_queue_new(struct nl_sock *sock, const char *name, guint timeout_ms)
{
	struct rv_nl_queue *q = g_new0(struct rv_nl_queue, 1);

	q->sock = sock;
	q->name = g_strdup(name);
	q->timeout_ms = timeout_ms;
	g_queue_init(&q->waiting);
	nl_socket_set_nonblocking(sock);
	nl_socket_enable_msg_peek(sock);	/* dump parts can exceed a page */
	q->cb = nl_cb_alloc(NL_CB_DEFAULT);
	nl_cb_set(q->cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, on_seq_check, q);
	nl_cb_set(q->cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, q);
	nl_cb_set(q->cb, NL_CB_FINISH, NL_CB_CUSTOM, on_end, q);
	nl_cb_set(q->cb, NL_CB_ACK, NL_CB_CUSTOM, on_end, q);
	nl_cb_set(q->cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, on_dump_intr, q);
	nl_cb_err(q->cb, NL_CB_CUSTOM, on_error, q);
	q->fd_source = g_unix_fd_add(nl_socket_get_fd(sock), G_IO_IN | G_IO_ERR | G_IO_HUP,
				     on_readable, q);
	return q;
}

void rv_nl_queue_free(struct rv_nl_queue *q)
{
	if (!q)
		return;
	g_clear_handle_id(&q->fd_source, g_source_remove);
	g_clear_handle_id(&q->timer, g_source_remove);
	if (q->in_flight)
		request_free(q->in_flight);
	g_queue_clear_full(&q->waiting, (GDestroyNotify)request_free);
	nl_cb_put(q->cb);
	nl_socket_free(q->sock);
	g_free(q->name);
	g_free(q);
}

int rv_nl_queue_submit(struct rv_nl_queue *q, struct nl_msg *msg, rv_nl_reply_fn reply,
		       rv_nl_done_fn done, void *user_data)
{
	struct request *req = g_new0(struct request, 1);
	int r;

	req->msg = msg;
	req->reply = reply;
	req->done = done;
	req->user_data = user_data;
	if (q->in_flight || !g_queue_is_empty(&q->waiting)) {
		g_queue_push_tail(&q->waiting, req);
		return 0;
	}
	r = send_request(q, req);
	if (r < 0)
		request_free(req);
	return r;
}

void rv_nl_queue_cancel(struct rv_nl_queue *q, void *user_data)
{
	GList *l = q->waiting.head;

	if (q->in_flight && q->in_flight->user_data == user_data)
		q->in_flight->cancelled = TRUE;
	while (l) {
		GList *next = l->next;
		struct request *req = l->data;

		if (req->user_data == user_data) {
			g_queue_delete_link(&q->waiting, l);
			request_free(req);
		}
		l = next;
	}
}

guint rv_nl_queue_length(const struct rv_nl_queue *q)
{
	return q->waiting.length + (q->in_flight ? 1 : 0);
}

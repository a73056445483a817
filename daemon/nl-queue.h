/* nl-queue.h - asynchronous request/response on one netlink socket, on the GLib loop.
 *
 * wifi.c and wifi-report.c ask nl80211 questions (GET_INTERFACE, a GET_SCAN dump) while
 * the daemon keeps serving D-Bus and rtnetlink: nothing here ever waits on the socket.
 * A request is sent on a non-blocking libnl socket, its answer (one reply and an ACK,
 * or the parts of a dump and NLMSG_DONE, or an NLMSG_ERROR) is read from a GLib fd
 * source, and the caller continues in a completion callback.
 *
 * One request is in flight at a time; the others wait in FIFO order. Replies are
 * matched to the request by sequence number, so a late answer to an abandoned request
 * is skipped instead of being taken for the next one's. A request that gets no reply
 * message within the queue's timeout (counted from its send, then from each period in
 * which parts of a long dump kept coming) is abandoned with a logged warning (done gets
 * -ETIMEDOUT) and the next one is sent.
 *
 * Callbacks run from the default GLib main context, never from inside
 * rv_nl_queue_submit(). They may submit and cancel requests, but must not free the
 * queue.
 */
#pragma once

#include <glib.h>
#include <linux/netlink.h>
#include <netlink/msg.h>
#include <netlink/socket.h>

struct rv_nl_queue;

/* Every reply message of the request: the one answer, or each entry of a dump. */
typedef void (*rv_nl_reply_fn)(const struct nlmsghdr *hdr, void *user_data);
/* Once, when the request ends: 0 (ACK or NLMSG_DONE), the peer's negative errno
 * (NLMSG_ERROR), -ETIMEDOUT (no complete answer in time) or another negative errno
 * (the request could not be sent, or the socket failed while it was in flight). */
typedef void (*rv_nl_done_fn)(int result, void *user_data);

/* Takes sock (connected; the queue makes it non-blocking and owns it from now on).
 * name is for log messages ("nl80211"). timeout_ms bounds each request from its send. */
struct rv_nl_queue *rv_nl_queue_new(struct nl_sock *sock, const char *name, guint timeout_ms);
/* Drops every request without calling its callbacks (also the one in flight: its late
 * answer goes with the socket), closes the socket. */
void rv_nl_queue_free(struct rv_nl_queue *q);

/* Queues msg (taken: always freed) with NL_AUTO_PORT/NL_AUTO_SEQ filled in at send.
 * user_data is borrowed: keep it alive until done runs or rv_nl_queue_cancel(). Returns
 * 0, or a negative errno when the request was not taken (sending it at once failed);
 * done is then never called. */
int rv_nl_queue_submit(struct rv_nl_queue *q, struct nl_msg *msg, rv_nl_reply_fn reply,
		       rv_nl_done_fn done, void *user_data);
/* Forgets every request made with user_data: their callbacks are not called. A
 * cancelled request already in flight keeps its place until its answer ends (or times
 * out), so that a dump is read to its end and the next request does not meet EBUSY. */
void rv_nl_queue_cancel(struct rv_nl_queue *q, void *user_data);
/* Requests queued or in flight (for tests). */
guint rv_nl_queue_length(const struct rv_nl_queue *q);

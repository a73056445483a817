/* receive.c - everything that arrives on the UDP sockets: the RX thread
 * (recvmmsg -> UDP_GRO split -> index lookup -> opening (parallel,
 * queueing.c) -> replay window, session promotion, roaming, cryptokey
 * routing (serial, in arrival order) -> TUN, GSO-coalesced) and the
 * handshake messages it queues for the control thread (cookies under load,
 * initiation, response). The kernel's receive.c. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "tun.h"
#include "device-internal.h"

/* Address bytes the cookie is bound to (cookie.h): address then port. */
static size_t endpoint_source_bytes(const union rv_endpoint *ep, uint8_t out[18])
{
	if (ep->sa.sa_family == AF_INET) {
		memcpy(out, &ep->in4.sin_addr, 4);
		memcpy(out + 4, &ep->in4.sin_port, 2);
		return 6;
	}
	memcpy(out, &ep->in6.sin6_addr, 16);
	memcpy(out + 16, &ep->in6.sin6_port, 2);
	return 18;
}

/* ------------------------------------------------------ handshake receiving */

static bool under_load(struct rv_device *dev, uint64_t now)
{
	static uint64_t load_until;
	unsigned count;

	pthread_mutex_lock(&dev->hsq_lock);
	count = dev->hsq_count;
	pthread_mutex_unlock(&dev->hsq_lock);
	/* wireguard-go's rule: an eighth of the queue, and stay "under load"
	 * for a second after it drains so an attacker cannot oscillate it */
	if (count >= RV_HANDSHAKE_QUEUE / 8) {
		load_until = now + RV_NSEC_PER_SEC;
		return true;
	}
	return now < load_until;
}

/* The handshake handlers run on the control thread WITHOUT the device lock
 * for the expensive parts (X25519, AEAD, KDF): the handshake state, the
 * identity, the cookie makers and the peer list are only ever touched by this
 * thread. The lock (write) is taken only around what the data threads read:
 * the index table and the session slots. So a flood of handshake messages
 * costs CPU, but does not stall the data path behind the lock. */
/* The second half of an initiation, once its sender is known: only this
 * peer's handshake state is written (the index table and session slots
 * under the lock), so initiations of different peers may run in parallel
 * (rv_process_handshake_queue). */
static void respond_to_initiation(struct rv_device *dev, const struct rv_handshake_msg *m,
				  struct wg_initiation_parsed *parsed, struct rv_peer *peer, uint64_t now)
{
	const struct wg_msg_initiation *msg = (const void *)m->data;
	struct wg_msg_response resp;
	struct wg_keypair *kp;
	struct rv_index_entry *e;
	uint32_t idx;
	int ret;

	ret = wg_noise_consume_initiation_finish(&peer->hs, &dev->identity, msg, parsed, now);
	if (ret < 0) {
		PEER_LOG(peer, "Rejected handshake initiation: %s", strerror(-ret));
		return;
	}
	PEER_LOG(peer, "Received handshake initiation");
	rv_peer_set_endpoint(peer, &m->from);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_received(peer);

	pthread_rwlock_wrlock(&dev->lock);
	rv_drop_handshake_index(dev, peer);
	idx = rv_index_add(dev, peer);
	pthread_rwlock_unlock(&dev->lock);
	ret = wg_noise_create_response(&peer->hs, &dev->identity, &resp, idx);
	kp = ret < 0 ? NULL : calloc(1, sizeof(*kp));
	if (ret < 0 || !kp || wg_noise_begin_session(&peer->hs, kp, now) < 0) {
		free(kp);
		pthread_rwlock_wrlock(&dev->lock);
		rv_index_remove(dev, idx);
		pthread_rwlock_unlock(&dev->lock);
		PEER_LOG(peer, "Failed to create response message");
		return;
	}
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now);
	pthread_rwlock_wrlock(&dev->lock);
	/* the data threads never remove a handshake entry, so it is still ours */
	e = rv_index_find(dev, idx);
	if (!e) {
		pthread_rwlock_unlock(&dev->lock);
		wg_keypair_clear(kp);
		free(kp);
		return;
	}
	e->keypair = kp;
	kp->local_index = idx;
	rv_install_keypair(dev, peer, kp);
	peer->zero_keys_deadline_ns = now + 3 * dev->timers.reject_after_time_ns;
	pthread_rwlock_unlock(&dev->lock);
	PEER_LOG(peer, "Sending handshake response");
	if (rv_send_to_peer(dev, peer, &resp, sizeof(resp)) == 0) {
		rv_peer_event_traversal(peer, now);
		rv_peer_event_auth_sent(peer);
	}
}

static void handle_response(struct rv_device *dev, struct rv_handshake_msg *m, uint64_t now)
{
	const struct wg_msg_response *msg = (const void *)m->data;
	uint32_t idx = wg_le32(msg->receiver_index);
	struct rv_index_entry *e;
	struct wg_keypair *kp;
	struct rv_peer *peer = NULL;
	int ret;

	pthread_rwlock_rdlock(&dev->lock);
	e = rv_index_find(dev, idx);
	if (e && !e->keypair)
		peer = e->peer;
	pthread_rwlock_unlock(&dev->lock);
	if (!peer)
		return;
	ret = wg_noise_consume_response(&peer->hs, &dev->identity, msg);
	if (ret < 0) {
		PEER_LOG(peer, "Rejected handshake response: %s", strerror(-ret));
		return;
	}
	PEER_LOG(peer, "Received handshake response");
	kp = calloc(1, sizeof(*kp));
	if (!kp || wg_noise_begin_session(&peer->hs, kp, now) < 0) {
		free(kp);
		return;
	}
	rv_peer_set_endpoint(peer, &m->from);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_received(peer);
	pthread_rwlock_wrlock(&dev->lock);
	e = rv_index_find(dev, idx);
	if (!e || e->keypair || e->peer != peer) {
		pthread_rwlock_unlock(&dev->lock);
		wg_keypair_clear(kp);
		free(kp);
		return;
	}
	e->keypair = kp;
	kp->local_index = idx;
	peer->handshake_index = 0;	/* the entry now names the session */
	rv_install_keypair(dev, peer, kp);
	peer->zero_keys_deadline_ns = now + 3 * dev->timers.reject_after_time_ns;
	rv_handshake_complete(peer);
	/* confirms the session to the responder (or carries staged data) */
	rv_send_keepalive(dev, peer, now);
	pthread_rwlock_unlock(&dev->lock);
}

/* The serial checks of a handshake message: cookie replies, MACs, the
 * cookie answer under load, the per-source limit; responses are handled
 * here. True: an initiation the caller should process. */
static bool admit_handshake_msg(struct rv_device *dev, struct rv_handshake_msg *m, bool loaded, uint64_t now)
{
	uint8_t src[18];
	size_t src_len;
	enum wg_mac_state st;

	if (m->data[0] == WG_MSG_COOKIE_REPLY) {
		const struct wg_msg_cookie_reply *r = (const void *)m->data;
		struct rv_index_entry *e;
		struct rv_peer *peer = NULL;

		pthread_rwlock_rdlock(&dev->lock);
		e = rv_index_find(dev, wg_le32(r->receiver_index));
		if (e)
			peer = e->peer;	/* only this thread frees peers */
		pthread_rwlock_unlock(&dev->lock);
		if (peer && wg_cookie_consume_reply(&peer->cookie, r, now) == 0)
			PEER_LOG(peer, "Received cookie reply");
		return false;
	}
	src_len = endpoint_source_bytes(&m->from, src);
	st = wg_cookie_check(&dev->cookie_checker, m->data, m->len, src, src_len, loaded, now);
	if (st == WG_MAC_INVALID)
		return false;
	if (loaded && st != WG_MAC1_VALID_COOKIE_VALID) {
		struct wg_msg_cookie_reply reply;

		if (wg_cookie_create_reply(&dev->cookie_checker, &reply, m->data, m->len, src, src_len, now) == 0)
			rv_udp_send(&dev->udp, &m->from, &reply, sizeof(reply));
		return false;
	}
	/* a valid cookie proves the address, not good intent: still at most
	 * 20 expensive handshakes per second per address while under load */
	if (loaded && !rv_ratelimiter_allow(dev->ratelimiter, src, src_len - 2, now))
		return false;
	if (m->data[0] == WG_MSG_INITIATION)
		return true;
	handle_response(dev, m, now);
	return false;
}

/* Initiations are the expensive messages (about four X25519 each). A batch
 * of them is spread over the handshake workers: first the part that needs
 * only our identity (who sent it: one X25519 and an AEAD), then, one job per
 * peer, the rest (timestamp, response, session). A second initiation of a
 * peer already in the batch waits for the serial pass after it. */
struct hs_job {
	struct rv_handshake_msg m;
	struct wg_initiation_parsed parsed;
	struct rv_peer *peer;
	bool begun, parallel;
};

struct rv_hs_batch {
	struct rv_device *dev;
	uint64_t now;
	unsigned n;
	struct hs_job job[RV_HS_BATCH];
};

static void hs_begin_jobs(void *ctx, unsigned first, unsigned count)
{
	struct rv_hs_batch *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		struct hs_job *j = &b->job[i];

		j->begun = wg_noise_consume_initiation_begin(&b->dev->identity, (const void *)j->m.data,
							     &j->parsed) == 0;
	}
}

static void hs_respond_jobs(void *ctx, unsigned first, unsigned count)
{
	struct rv_hs_batch *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		struct hs_job *j = &b->job[i];

		if (j->parallel)
			respond_to_initiation(b->dev, &j->m, &j->parsed, j->peer, b->now);
	}
}

struct rv_hs_batch *rv_hs_batch_new(void)
{
	return calloc(1, sizeof(struct rv_hs_batch));
}

static void process_initiations(struct rv_device *dev, struct rv_hs_batch *b)
{
	unsigned i, k;

	rv_workers_run(&dev->hs_workers, hs_begin_jobs, b, b->n, 1);
	for (i = 0; i < b->n; i++) {
		struct hs_job *j = &b->job[i];

		j->peer = j->begun ? rv_find_peer(dev, j->parsed.remote_static) : NULL;
		j->parallel = j->peer != NULL;
		for (k = 0; k < i && j->parallel; k++)
			if (b->job[k].parallel && b->job[k].peer == j->peer)
				j->parallel = false;	/* same peer twice: after, in order */
	}
	rv_workers_run(&dev->hs_workers, hs_respond_jobs, b, b->n, 1);
	for (i = 0; i < b->n; i++) {
		struct hs_job *j = &b->job[i];

		if (j->peer && !j->parallel)
			respond_to_initiation(dev, &j->m, &j->parsed, j->peer, b->now);
	}
	wg_crypto_wipe(b->job, b->n * sizeof(b->job[0]));
	b->n = 0;
}

/* now, but never before `floor` (a caller's time stays the earliest) */
static uint64_t fresh_now(uint64_t floor)
{
	uint64_t t = rv_now_ns();

	return t > floor ? t : floor;
}

void rv_process_handshake_queue(struct rv_device *dev, uint64_t now)
{
	struct rv_hs_batch *b = dev->hs_batch;
	unsigned budget = RV_HANDSHAKE_QUEUE;

	b->dev = dev;
	b->now = now;
	b->n = 0;
	while (budget--) {
		bool loaded;
		struct hs_job *j = &b->job[b->n];

		/* A call may run for a long time under load (up to a whole
		 * queue of initiations, 1024 x ~130 us of X25519 work), and new
		 * messages keep arriving meanwhile: with the time of the call's
		 * start, one peer's next initiation 200 ms later was refused by
		 * the 1/50 s flood rule as if it came at once, and the rate
		 * limiter and cookie secret saw no time pass. So the time is
		 * read per message and per batch. */
		now = fresh_now(now);
		loaded = under_load(dev, now);

		pthread_mutex_lock(&dev->hsq_lock);
		if (!dev->hsq_count) {
			pthread_mutex_unlock(&dev->hsq_lock);
			break;
		}
		j->m = dev->hsq[dev->hsq_head];
		dev->hsq_head = (dev->hsq_head + 1) % RV_HANDSHAKE_QUEUE;
		dev->hsq_count--;
		pthread_mutex_unlock(&dev->hsq_lock);
		if (admit_handshake_msg(dev, &j->m, loaded, now))
			b->n++;
		else
			wg_crypto_wipe(&j->m, sizeof(j->m));
		if (b->n == RV_HS_BATCH) {
			b->now = now = fresh_now(now);
			process_initiations(dev, b);
		}
	}
	if (b->n) {
		b->now = fresh_now(now);
		process_initiations(dev, b);
	}
	/* stopped by the budget with messages left: enqueue_handshake() will
	 * not wake us for them (the queue is not empty), so come back at once */
	pthread_mutex_lock(&dev->hsq_lock);
	if (dev->hsq_count)
		rv_wake(dev->wake_fd);
	pthread_mutex_unlock(&dev->hsq_lock);
}

/* ------------------------------------------------------------ the RX thread */

static void enqueue_handshake(struct rv_device *dev, const uint8_t *buf, size_t len,
			      const union rv_endpoint *from)
{
	bool first = false;

	pthread_mutex_lock(&dev->hsq_lock);
	if (dev->hsq_count < RV_HANDSHAKE_QUEUE) {
		struct rv_handshake_msg *m = &dev->hsq[(dev->hsq_head + dev->hsq_count) % RV_HANDSHAKE_QUEUE];

		m->len = (uint16_t)len;
		m->from = *from;
		memcpy(m->data, buf, len);
		first = dev->hsq_count++ == 0;
	}
	pthread_mutex_unlock(&dev->hsq_lock);
	/* only the first of a run wakes the control thread: it drains the
	 * queue until it is empty (and wakes itself if it stops earlier), so
	 * a flood costs one eventfd write per run, not one per message */
	if (first)
		rv_wake(dev->wake_fd);
}

static size_t ip_packet_len(const uint8_t *pkt, size_t n)
{
	size_t tot;

	if (n < 1)
		return 0;
	if ((pkt[0] >> 4) == 4) {
		if (n < 20)
			return 0;
		tot = ((size_t)pkt[2] << 8) | pkt[3];
		return tot >= 20 && tot <= n ? tot : 0;
	}
	if ((pkt[0] >> 4) == 6) {
		if (n < 40)
			return 0;
		tot = 40 + (((size_t)pkt[4] << 8) | pkt[5]);
		return tot <= n ? tot : 0;
	}
	return 0;
}

/* Called with the read lock held; may swap it for the write lock and back. */
static void promote_next(struct rv_device *dev, uint32_t idx, struct wg_keypair *kp, uint64_t now)
{
	struct rv_index_entry *e;

	pthread_rwlock_unlock(&dev->lock);
	pthread_rwlock_wrlock(&dev->lock);
	e = rv_index_find(dev, idx);
	if (e && e->keypair == kp && e->peer->kp_next == kp) {
		struct rv_peer *peer = e->peer;
		struct wg_keypair *old_prev = peer->kp_previous;

		peer->kp_previous = peer->kp_current;
		peer->kp_current = kp;
		peer->kp_next = NULL;
		rv_keypair_delete(dev, &old_prev);
		rv_handshake_complete(peer);
		if (atomic_load(&peer->staged_count))
			rv_request(dev, &peer->want_flush_staged);
	}
	(void)now;
	pthread_rwlock_unlock(&dev->lock);
	pthread_rwlock_rdlock(&dev->lock);
}

/* One UDP datagram (or GRO segment) of a batch, through the three stages. */
struct rx_job {
	uint8_t *buf;
	size_t len;
	const union rv_endpoint *from;
	uint32_t idx;
	struct wg_keypair *kp;
	struct rv_peer *peer;
	uint64_t counter;
	ssize_t n;		/* opened length, or -errno */
};

#define RX_MAX_JOBS (RV_UDP_BATCH * RV_UDP_MAX_SEGMENTS)

struct rx_state {
	unsigned n;
	size_t bytes;
	/* the peer whose endpoint was last set to / found equal to ep_from in
	 * this batch (NULL after a lock switch: the peer may be gone) */
	const struct rv_peer *ep_peer;
	union rv_endpoint ep_from;
	struct rx_job job[RX_MAX_JOBS];
};

/* Stage 1 (serial): handshakes to the control thread; transport messages
 * matched to their session and queued for opening. */
static void rx_classify(struct rv_device *dev, struct rx_state *rx, uint8_t *buf, size_t len,
			const union rv_endpoint *from, uint64_t now)
{
	enum wg_message_type type = wg_msg_classify(buf, len);
	struct rv_index_entry *e;
	struct rx_job *j;
	uint32_t idx;

	if (type == WG_MSG_INITIATION || type == WG_MSG_RESPONSE || type == WG_MSG_COOKIE_REPLY) {
		enqueue_handshake(dev, buf, len, from);
		return;
	}
	if (type != WG_MSG_TRANSPORT || rx->n == RX_MAX_JOBS)
		return;
	idx = wg_msg_receiver_index(buf);
	e = rv_index_find(dev, idx);
	if (!e || !e->keypair)
		return;
	if (!rv_keypair_usable_for_receive(&dev->timers, e->keypair, now))
		return;
	j = &rx->job[rx->n++];
	j->buf = buf;
	j->len = len;
	j->from = from;
	j->idx = idx;
	j->kp = e->keypair;
	j->peer = e->peer;
	rx->bytes += len;
}

/* Stage 2 (parallel, any order): authenticate and decrypt in place. The
 * replay window is only looked at here, not moved. */
static void rx_open_jobs(void *ctx, unsigned first, unsigned count)
{
	struct rx_state *rx = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		struct rx_job *j = &rx->job[i];

		j->n = wg_transport_decrypt(j->kp, j->buf, j->len, &j->counter);
	}
}

/* Stage 3 (serial, arrival order): replay window, session promotion,
 * roaming, timers, cryptokey routing, TUN. *relookup: the lock was dropped
 * for a promotion, so sessions named by later jobs may be gone. */
static void rx_deliver(struct rv_device *dev, struct rv_tun_writer *tw, struct rx_state *rx, struct rx_job *j,
		       uint64_t now, bool *relookup)
{
	struct wg_keypair *kp = j->kp;
	struct rv_peer *peer = j->peer;
	size_t plen;
	uint8_t *pkt;

	if (j->n < 0)
		return;
	if (*relookup) {
		struct rv_index_entry *e = rv_index_find(dev, j->idx);

		if (!e || e->keypair != kp)
			return;
		peer = e->peer;
	}
	if (wg_transport_accept_counter(kp, j->counter) < 0)
		return;	/* a replay, or too old for the window */
	if (peer->kp_next == kp) {
		struct rv_index_entry *e;

		promote_next(dev, j->idx, kp, now);
		*relookup = true;
		rx->ep_peer = NULL;
		e = rv_index_find(dev, j->idx);
		if (!e || e->keypair != kp)
			return;	/* removed while we switched locks */
		peer = e->peer;
	}
	/* roaming; a run of packets of one peer from one address (a GRO run,
	 * a batch) takes the endpoint lock once, not per packet */
	if (j->from->sa.sa_family && (peer != rx->ep_peer || !rv_endpoint_equal(j->from, &rx->ep_from))) {
		union rv_endpoint cur;

		rv_peer_get_endpoint(peer, &cur);
		if (!rv_endpoint_equal(&cur, j->from))
			rv_peer_set_endpoint(peer, j->from);
		rx->ep_peer = peer;
		rx->ep_from = *j->from;
	}
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_received(peer);
	atomic_fetch_add_explicit(&peer->rx_bytes, j->len, memory_order_relaxed);
	if (rv_keypair_wants_rekey_on_receive(&dev->timers, kp, now))
		rv_request(dev, &peer->want_last_minute_handshake);
	if (j->n == 0)
		return;	/* keepalive */
	rv_peer_event_data_received(peer, now);
	pkt = j->buf + WG_MSG_TRANSPORT_HEADER_LEN;
	plen = ip_packet_len(pkt, (size_t)j->n);
	if (!plen)
		return;
	if (wg_allowedips_lookup_src(&dev->allowedips, pkt, plen) != peer)
		return;	/* cryptokey routing: this peer may not use that source */
	rv_tun_writer_add(tw, pkt, plen);
}

/* One recvmmsg batch through the stages; read lock held. */
static void rx_batch(struct rv_device *dev, struct rx_state *rx, struct rv_tun_writer *tw,
		     struct rv_udp_batch *batch, int got, uint64_t now)
{
	bool relookup = false;
	unsigned i;
	int j;

	rx->n = 0;
	rx->bytes = 0;
	for (j = 0; j < got; j++) {
		size_t total = batch->msgs[j].msg_len, seg = batch->gso_size[j], off;

		if (!seg)
			seg = total;
		for (off = 0; off < total; off += seg)
			rx_classify(dev, rx, batch->buf[j] + off, total - off < seg ? total - off : seg,
				    &batch->from[j], now);
	}
	rv_workers_run(&dev->rx_workers, rx_open_jobs, rx, rx->n, rv_crypt_chunk(rx->n, rx->bytes));
	rx->ep_peer = NULL;
	for (i = 0; i < rx->n; i++)
		rx_deliver(dev, tw, rx, &rx->job[i], now, &relookup);
}

void *rv_rx_thread(void *arg)
{
	struct rv_device *dev = arg;
	struct rv_udp_batch *batch = malloc(sizeof(*batch));
	struct rv_tun_writer *tw = malloc(sizeof(*tw));
	struct rx_state *rx = malloc(sizeof(*rx));

	if (!batch || !tw || !rx || rv_udp_batch_init(batch) < 0)
		abort();
	rv_tun_writer_init(tw, dev->tun_fd, dev->tun_vnet);
	/* only this thread runs batches on them */
	rv_workers_set_adaptive(&dev->rx_workers, true);
	while (!atomic_load(&dev->stopping)) {
		struct pollfd pfd[4];
		int k;

		pthread_rwlock_rdlock(&dev->lock);
		pfd[0].fd = dev->udp.fd4;
		pfd[1].fd = dev->udp.fd6;
		pthread_rwlock_unlock(&dev->lock);
		pfd[0].events = pfd[1].events = POLLIN;
		pfd[2].fd = dev->stop_fd;
		pfd[2].events = POLLIN;
		pfd[3].fd = dev->rx_wake_fd;
		pfd[3].events = POLLIN;
		if (poll(pfd, 4, -1) < 0 && errno != EINTR)
			break;
		if (pfd[2].revents)
			break;
		if (pfd[3].revents) {
			rv_drain(dev->rx_wake_fd);
			continue;
		}
		for (k = 0; k < 2; k++) {
			int rounds = 4;	/* then let the other family have a turn */

			if (pfd[k].fd < 0 || !(pfd[k].revents & POLLIN))
				continue;
			while (rounds--) {
				uint64_t now;
				int got = rv_udp_recv_batch(pfd[k].fd, batch);

				if (got <= 0)
					break;
				now = rv_now_ns();
				pthread_rwlock_rdlock(&dev->lock);
				rx_batch(dev, rx, tw, batch, got, now);
				/* the batch buffers are reused by the next recvmmsg */
				rv_tun_writer_flush(tw);
				pthread_rwlock_unlock(&dev->lock);
				if (got < RV_UDP_BATCH)
					break;
			}
		}
	}
	rv_udp_batch_free(batch);
	free(batch);
	free(tw);
	free(rx);
	return NULL;
}


/* send.c - everything that leaves through the UDP sockets: handshake
 * initiations, keepalives and staged packets (control thread), and the TX
 * thread: TUN -> TSO split -> allowed-IPs lookup -> counters (serial) ->
 * sealing (parallel, queueing.c) -> UDP_SEGMENT sendmmsg in arrival order.
 * The kernel's send.c. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "crypto.h"
#include "tun.h"
#include "device-internal.h"

/* ---------------------------------------------------------- control sending */

int rv_send_to_peer(struct rv_device *dev, struct rv_peer *peer, const void *buf, size_t len)
{
	union rv_endpoint ep;

	rv_peer_get_endpoint(peer, &ep);
	if (!ep.sa.sa_family)
		return -EDESTADDRREQ;
	return rv_udp_send(&dev->udp, &ep, buf, len);
}

void rv_send_initiation(struct rv_device *dev, struct rv_peer *peer, bool is_retry, uint64_t now)
{
	struct wg_msg_initiation msg;
	uint32_t idx;
	int ret;

	if (!is_retry)
		peer->handshake_attempts = 0;
	if (peer->last_initiation_sent_ns && now - peer->last_initiation_sent_ns < dev->timers.rekey_timeout_ns)
		return;
	if (!dev->identity.has_private_key || !peer->hs.precomputed_valid)
		return;
	{
		union rv_endpoint ep;

		rv_peer_get_endpoint(peer, &ep);
		if (!ep.sa.sa_family)
			return;
	}
	peer->last_initiation_sent_ns = now;
	rv_drop_handshake_index(dev, peer);
	idx = rv_index_add(dev, peer);
	ret = wg_noise_create_initiation(&peer->hs, &dev->identity, &msg, idx);
	if (ret < 0) {
		rv_index_remove(dev, idx);
		PEER_LOG(peer, "Failed to create initiation message: %s", strerror(-ret));
		return;
	}
	peer->handshake_index = idx;
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
	PEER_LOG(peer, "Sending handshake initiation");
	ret = rv_send_to_peer(dev, peer, &msg, sizeof(msg));
	if (ret < 0) {
		PEER_LOG(peer, "Failed to send handshake initiation: %s", strerror(-ret));
		return;
	}
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	peer->retransmit_jitter_ns = rv_jitter_ns();
	peer->retransmit_deadline_ns = now + dev->timers.rekey_timeout_ns + peer->retransmit_jitter_ns;
}

/* Seals and sends one packet (len 0: keepalive) with kp; control thread. */
static int seal_and_send(struct rv_device *dev, struct rv_peer *peer, struct wg_keypair *kp,
			 const uint8_t *pkt, size_t len, uint64_t now)
{
	static uint8_t buf[WG_MSG_TRANSPORT_HEADER_LEN + 65536 + 2 * WG_MSG_PADDING + WG_AEAD_TAG_LEN];
	uint64_t counter;
	size_t padded;
	ssize_t n;
	int ret;

	if (len > 65535)
		return -EMSGSIZE;
	if (wg_keypair_take_counter(kp, &counter) < 0)
		return -EKEYEXPIRED;
	memcpy(buf + WG_MSG_TRANSPORT_HEADER_LEN, pkt, len);
	padded = wg_transport_padded_len(len, (size_t)atomic_load(&dev->mtu));
	n = wg_transport_seal(kp, counter, buf, len, padded, sizeof(buf));
	if (n < 0)
		return (int)n;
	ret = rv_send_to_peer(dev, peer, buf, (size_t)n);
	if (ret < 0)
		return ret;
	atomic_fetch_add_explicit(&peer->tx_bytes, (uint64_t)n, memory_order_relaxed);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	if (len)
		rv_peer_event_data_sent(peer, now);
	return 0;
}

void rv_send_staged(struct rv_device *dev, struct rv_peer *peer, uint64_t now)
{
	struct rv_staged_packet pkts[RV_MAX_STAGED];
	struct wg_keypair *kp = peer->kp_current;
	unsigned i, n;

	if (!atomic_load(&peer->staged_count))
		return;
	if (!rv_keypair_usable(&dev->timers, kp, now)) {
		rv_send_initiation(dev, peer, false, now);
		return;
	}
	n = rv_peer_take_staged(peer, pkts);
	for (i = 0; i < n; i++) {
		seal_and_send(dev, peer, kp, pkts[i].data, pkts[i].len, now);
		free(pkts[i].data);
	}
	if (rv_keypair_wants_rekey_on_send(&dev->timers, kp, now))
		rv_send_initiation(dev, peer, false, now);
}

void rv_send_keepalive(struct rv_device *dev, struct rv_peer *peer, uint64_t now)
{
	if (!atomic_load(&peer->staged_count))
		rv_peer_stage(peer, (const uint8_t *)"", 0);
	rv_send_staged(dev, peer, now);
}

/* ------------------------------------------------------------ the TX thread */

#define TX_SLOTS 128	/* a 64 KiB TSO frame at the smallest MSS fits */
#define TX_BUF_SIZE (WG_MSG_TRANSPORT_HEADER_LEN + 65536 + 2 * WG_MSG_PADDING + WG_AEAD_TAG_LEN)

struct tx_family {
	unsigned n;			/* ready messages */
	unsigned slot[TX_SLOTS];	/* in send order */
	struct iovec iov[TX_SLOTS];
	struct mmsghdr m[TX_SLOTS];
	uint8_t ctrl[TX_SLOTS][CMSG_SPACE(sizeof(uint16_t))];
};

struct tx_state {
	uint8_t *frame;			/* one read from a vnet TUN */
	uint8_t *buf[TX_SLOTS];		/* header room + packet + padding + tag */
	size_t len[TX_SLOTS];
	union rv_endpoint dst[TX_SLOTS];
	struct iovec iov[TX_SLOTS];
	struct tx_family fam[2];	/* 0: IPv4, 1: IPv6 */
	bool no_gso;			/* UDP_SEGMENT refused once: plain sends */
	/* sealing jobs, in arrival order; run by the workers in tx_send() */
	unsigned n_seal;
	size_t seal_bytes;
	unsigned seal_slot[TX_SLOTS];
	struct wg_keypair *kp[TX_SLOTS];
	uint64_t counter[TX_SLOTS];
	size_t padded[TX_SLOTS];
	struct rv_workers *workers;
	/* the endpoint of the last peer looked up in this batch (read lock held) */
	struct rv_peer *ep_peer;
	union rv_endpoint ep;
};

void rv_request(struct rv_device *dev, _Atomic bool *flag)
{
	if (!atomic_load_explicit(flag, memory_order_relaxed) && !atomic_exchange(flag, true))
		rv_wake(dev->wake_fd);
}

/* The serial part for the packet in slot i: peer, session, endpoint and its
 * send counter (taken here, in arrival order); the sealing itself is queued
 * for the workers. True if it is queued for sending. */
static bool tx_one(struct rv_device *dev, struct tx_state *tx, unsigned i, size_t len, uint64_t now)
{
	uint8_t *pkt = tx->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN;
	struct rv_peer *peer = wg_allowedips_lookup_dst(&dev->allowedips, pkt, len);
	struct wg_keypair *kp;
	uint64_t counter;
	size_t padded, n;

	if (!peer)
		return false;	/* no route: wireguard-go drops silently too */
	kp = peer->kp_current;
	if (atomic_load_explicit(&peer->staged_count, memory_order_relaxed) ||
	    !rv_keypair_usable(&dev->timers, kp, now)) {
		rv_peer_stage(peer, pkt, len);
		rv_request(dev, rv_keypair_usable(&dev->timers, kp, now) ? &peer->want_flush_staged
								       : &peer->want_handshake);
		return false;
	}
	/* one locked read of the endpoint per peer and batch, not per packet
	 * (the RX thread takes the same lock for every packet it receives) */
	if (peer != tx->ep_peer) {
		rv_peer_get_endpoint(peer, &tx->ep);
		tx->ep_peer = peer;
	}
	tx->dst[i] = tx->ep;
	if (!tx->dst[i].sa.sa_family)
		return false;
	if (wg_keypair_take_counter(kp, &counter) < 0) {
		rv_peer_stage(peer, pkt, len);
		rv_request(dev, &peer->want_handshake);
		return false;
	}
	padded = wg_transport_padded_len(len, (size_t)atomic_load_explicit(&dev->mtu, memory_order_relaxed));
	n = padded + WG_MSG_TRANSPORT_OVERHEAD;	/* TX_BUF_SIZE always has room */
	tx->kp[i] = kp;
	tx->counter[i] = counter;
	tx->padded[i] = padded;
	tx->seal_slot[tx->n_seal++] = i;
	tx->seal_bytes += n;
	tx->iov[i].iov_base = tx->buf[i];
	tx->iov[i].iov_len = n;
	atomic_fetch_add_explicit(&peer->tx_bytes, (uint64_t)n, memory_order_relaxed);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	rv_peer_event_data_sent(peer, now);
	if (rv_keypair_wants_rekey_on_send(&dev->timers, kp, now))
		rv_request(dev, &peer->want_handshake);
	return true;
}

static int tx_flush(int fd, struct mmsghdr *m, unsigned n)
{
	unsigned done = 0;

	while (done < n && fd >= 0) {
		int r = sendmmsg(fd, m + done, n - done, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				poll(&pfd, 1, 10);
				continue;
			}
			if ((errno == EIO || errno == EINVAL || errno == EOPNOTSUPP) && done == 0 &&
			    m[0].msg_hdr.msg_controllen)
				return -errno;	/* no UDP GSO here */
			done++;	/* skip the failing datagram (e.g. no route) */
			continue;
		}
		done += (unsigned)r;
	}
	return 0;
}

/* Prepares slots [first, first+count) and queues them per family. */
static void tx_prepare(struct rv_device *dev, struct tx_state *tx, unsigned first, unsigned count, uint64_t now)
{
	unsigned i;

	for (i = first; i < first + count; i++) {
		struct tx_family *f;

		if (!tx_one(dev, tx, i, tx->len[i], now))
			continue;
		f = &tx->fam[tx->dst[i].sa.sa_family == AF_INET ? 0 : 1];
		f->iov[f->n] = tx->iov[i];
		f->slot[f->n++] = i;
	}
}

/* Consecutive messages to one endpoint, all of one size but the last, go
 * out as one UDP_SEGMENT (GSO) send: one trip through the stack for up to
 * 64 datagrams. */
static void tx_send_family(struct tx_state *tx, struct tx_family *f, int fd)
{
	unsigned i = 0, nm = 0;

	while (i < f->n) {
		struct mmsghdr *m = &f->m[nm];
		const union rv_endpoint *to = &tx->dst[f->slot[i]];
		size_t seg = f->iov[i].iov_len, total = seg;
		unsigned j = i + 1;

		if (!tx->no_gso) {
			while (j < f->n && j - i < RV_UDP_MAX_SEGMENTS && f->iov[j].iov_len <= seg &&
			       total + f->iov[j].iov_len <= 65000 &&
			       rv_endpoint_equal(&tx->dst[f->slot[j]], to)) {
				total += f->iov[j].iov_len;
				if (f->iov[j++].iov_len < seg)
					break;	/* a short one ends the run */
			}
		}
		memset(m, 0, sizeof(*m));
		m->msg_hdr.msg_name = (void *)to;
		m->msg_hdr.msg_namelen = rv_endpoint_len(to);
		m->msg_hdr.msg_iov = &f->iov[i];
		m->msg_hdr.msg_iovlen = j - i;
		if (j - i > 1) {
			struct cmsghdr *c;
			uint16_t gso = (uint16_t)seg;

			m->msg_hdr.msg_control = f->ctrl[nm];
			m->msg_hdr.msg_controllen = sizeof(f->ctrl[nm]);
			c = CMSG_FIRSTHDR(&m->msg_hdr);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(gso));
			memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		}
		nm++;
		i = j;
	}
	if (tx_flush(fd, f->m, nm) < 0) {
		unsigned k;

		tx->no_gso = true;
		rv_log_verbose("UDP GSO refused by the kernel; sending datagrams one by one");
		for (k = 0; k < f->n; k++) {
			memset(&f->m[k], 0, sizeof(f->m[k]));
			f->m[k].msg_hdr.msg_name = &tx->dst[f->slot[k]];
			f->m[k].msg_hdr.msg_namelen = rv_endpoint_len(&tx->dst[f->slot[k]]);
			f->m[k].msg_hdr.msg_iov = &f->iov[k];
			f->m[k].msg_hdr.msg_iovlen = 1;
		}
		tx_flush(fd, f->m, f->n);
	}
	f->n = 0;
}

/* One worker's share of the batch's sealing jobs. */
static void tx_seal_jobs(void *ctx, unsigned first, unsigned count)
{
	struct tx_state *tx = ctx;
	unsigned j;

	for (j = first; j < first + count; j++) {
		unsigned i = tx->seal_slot[j];

		wg_transport_seal(tx->kp[i], tx->counter[i], tx->buf[i], tx->len[i], tx->padded[i], TX_BUF_SIZE);
	}
}

/* Below this much per batch, waking helpers costs more than it saves. */
#define PARALLEL_MIN_BYTES (24 * 1024)
#define PARALLEL_CHUNK_BYTES (8 * 1024)

unsigned rv_crypt_chunk(unsigned n, size_t bytes)
{
	size_t avg;

	if (!n || bytes < PARALLEL_MIN_BYTES)
		return n ? n : 1;	/* one chunk: the caller alone */
	avg = bytes / n;
	return avg >= PARALLEL_CHUNK_BYTES ? 1 : (unsigned)(PARALLEL_CHUNK_BYTES / (avg ? avg : 1));
}

static void tx_send(struct rv_device *dev, struct tx_state *tx)
{
	if (tx->n_seal)
		rv_workers_run(tx->workers, tx_seal_jobs, tx, tx->n_seal, rv_crypt_chunk(tx->n_seal, tx->seal_bytes));
	tx->n_seal = 0;
	tx->seal_bytes = 0;
	if (tx->fam[0].n)
		tx_send_family(tx, &tx->fam[0], dev->udp.fd4);
	if (tx->fam[1].n)
		tx_send_family(tx, &tx->fam[1], dev->udp.fd6);
}

/* Reads up to a batch from the TUN; false when the TUN is gone. */
static bool tx_batch(struct rv_device *dev, struct tx_state *tx, uint64_t now)
{
	unsigned used = 0, reads;

	tx->ep_peer = NULL;	/* a roam since the last batch is seen now */
	for (reads = 0; reads < 64; reads++) {
		ssize_t n;
		int k;

		if (!dev->tun_vnet) {
			if (used == TX_SLOTS)
				break;
			n = rv_tun_read(dev->tun_fd, tx->buf[used] + WG_MSG_TRANSPORT_HEADER_LEN, 65536);
		} else {
			n = rv_tun_read(dev->tun_fd, tx->frame, RV_TUN_MAX_FRAME);
		}
		if (n == -EAGAIN || n == -EINTR)
			break;
		if (n == -EBADFD || n == -EIO || n == -ENXIO)
			return false;
		if (n <= 0)
			break;
		if (!dev->tun_vnet) {
			tx->len[used] = (size_t)n;
			tx_prepare(dev, tx, used, 1, now);
			used++;
			continue;
		}
		k = rv_tun_split(tx->frame, (size_t)n, tx->buf + used, WG_MSG_TRANSPORT_HEADER_LEN,
				 65536, TX_SLOTS - used, tx->len + used);
		if (k == -ENOBUFS) {
			/* the frame does not fit behind what we have: send, retry */
			tx_send(dev, tx);
			used = 0;
			k = rv_tun_split(tx->frame, (size_t)n, tx->buf, WG_MSG_TRANSPORT_HEADER_LEN,
					 65536, TX_SLOTS, tx->len);
		}
		if (k <= 0)
			continue;	/* malformed frame from the kernel: drop */
		tx_prepare(dev, tx, used, (unsigned)k, now);
		used += (unsigned)k;
		if (used + 48 > TX_SLOTS) {
			tx_send(dev, tx);
			used = 0;
		}
	}
	tx_send(dev, tx);
	return true;
}

void *rv_tx_thread(void *arg)
{
	struct rv_device *dev = arg;
	struct tx_state *tx = calloc(1, sizeof(*tx));
	unsigned i;

	if (!tx)
		abort();
	tx->workers = &dev->tx_workers;
	/* only this thread runs batches on them */
	rv_workers_set_adaptive(tx->workers, true);
	tx->frame = malloc(RV_TUN_MAX_FRAME);
	if (!tx->frame)
		abort();
	for (i = 0; i < TX_SLOTS; i++) {
		tx->buf[i] = malloc(TX_BUF_SIZE);
		if (!tx->buf[i])
			abort();
	}
	while (!atomic_load(&dev->stopping)) {
		struct pollfd pfd[2] = {
			{ .fd = dev->tun_fd, .events = POLLIN },
			{ .fd = dev->stop_fd, .events = POLLIN },
		};
		bool alive;

		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		pthread_rwlock_rdlock(&dev->lock);
		alive = tx_batch(dev, tx, rv_now_ns());
		pthread_rwlock_unlock(&dev->lock);
		if (!alive || (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			rv_log_verbose("TUN device %s is gone, stopping", dev->ifname);
			atomic_store(&dev->stopping, true);
			rv_wake(dev->wake_fd);
			break;
		}
	}
	for (i = 0; i < TX_SLOTS; i++)
		free(tx->buf[i]);
	free(tx->frame);
	free(tx);
	return NULL;
}


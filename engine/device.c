/* device.c - roamvpn-engine's interface: control loop, handshakes, timers,
 * UAPI server, and the TX/RX data threads (see device.h for the threading
 * and locking rules). The protocol itself (Noise, MACs, replay, allowed IPs)
 * is engine-protocol's code in noise.c, cookie.c, replay.c, allowedips.c. */
#include "device.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "tun.h"

/* ------------------------------------------------------------------ logging */

int rv_log_level = RV_LOG_ERROR;
static char log_ifname[IFNAMSIZ] = "?";

void rv_log(int level, const char *fmt, ...)
{
	char msg[1024], stamp[32];
	struct tm tm;
	time_t t = time(NULL);
	va_list ap;

	if (level > rv_log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	localtime_r(&t, &tm);
	strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
	fprintf(stderr, "%s: (%s) %s %s\n", level <= RV_LOG_ERROR ? "ERROR" : "DEBUG",
		log_ifname, stamp, msg);
}

#define PEER_LOG(peer, ...) do { \
	if (rv_log_level >= RV_LOG_VERBOSE) { \
		char pn_[32], m_[512]; \
		rv_peer_name(peer, pn_); \
		snprintf(m_, sizeof(m_), __VA_ARGS__); \
		rv_log(RV_LOG_VERBOSE, "%s - %s", pn_, m_); \
	} \
} while (0)

/* -------------------------------------------------------------- small tools */

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t jitter_ns(void)
{
	return (uint64_t)(wg_crypto_random_u32() % RV_REKEY_JITTER_MAX_MS) * RV_NSEC_PER_MSEC;
}

static void wake(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;	/* EAGAIN: already pending, which is all we want */
}

static void drain(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)n;
}

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

static bool key_is_zero(const uint8_t k[32])
{
	return sodium_is_zero(k, 32);
}

/* -------------------------------------------------------------- index table */

static struct rv_index_entry *index_find(struct rv_device *dev, uint32_t idx)
{
	struct rv_index_entry *e;

	for (e = dev->index[idx & (RV_INDEX_BUCKETS - 1)]; e; e = e->next)
		if (e->index == idx)
			return e;
	return NULL;
}

static uint32_t index_add(struct rv_device *dev, struct rv_peer *peer)
{
	struct rv_index_entry *e;
	uint32_t idx;

	do
		idx = wg_crypto_random_u32();
	while (idx == 0 || index_find(dev, idx));
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->index = idx;
	e->peer = peer;
	e->next = dev->index[idx & (RV_INDEX_BUCKETS - 1)];
	dev->index[idx & (RV_INDEX_BUCKETS - 1)] = e;
	return idx;
}

static void index_remove(struct rv_device *dev, uint32_t idx)
{
	struct rv_index_entry **pp = &dev->index[idx & (RV_INDEX_BUCKETS - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->index == idx) {
			struct rv_index_entry *e = *pp;

			*pp = e->next;
			free(e);
			return;
		}
	}
}

/* ------------------------------------------------------------ keypair slots */

static void delete_keypair(struct rv_device *dev, struct wg_keypair **slot)
{
	if (!*slot)
		return;
	index_remove(dev, (*slot)->local_index);
	wg_keypair_clear(*slot);
	free(*slot);
	*slot = NULL;
}

static void drop_handshake_index(struct rv_device *dev, struct rv_peer *peer)
{
	if (peer->handshake_index) {
		index_remove(dev, peer->handshake_index);
		peer->handshake_index = 0;
	}
}

static void install_keypair(struct rv_device *dev, struct rv_peer *peer, struct wg_keypair *kp)
{
	if (kp->is_initiator) {
		struct wg_keypair *old_prev = peer->kp_previous;

		if (peer->kp_next) {
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			delete_keypair(dev, &peer->kp_current);
		} else {
			peer->kp_previous = peer->kp_current;
		}
		delete_keypair(dev, &old_prev);
		peer->kp_current = kp;
	} else {
		/* the responder may not send until the initiator used it */
		delete_keypair(dev, &peer->kp_next);
		peer->kp_next = kp;
		delete_keypair(dev, &peer->kp_previous);
	}
}

static void expire_sessions(struct rv_device *dev, struct rv_peer *peer)
{
	delete_keypair(dev, &peer->kp_current);
	delete_keypair(dev, &peer->kp_previous);
	delete_keypair(dev, &peer->kp_next);
	drop_handshake_index(dev, peer);
	wg_handshake_zero(&peer->hs);
}

static void handshake_complete(struct rv_peer *peer)
{
	peer->retransmit_deadline_ns = 0;
	peer->handshake_attempts = 0;
	peer->sent_last_minute_handshake = false;
	atomic_store(&peer->last_handshake_realtime_ns, (int64_t)realtime_ns());
}

/* ---------------------------------------------------------- control sending */

static int send_to_peer(struct rv_device *dev, struct rv_peer *peer, const void *buf, size_t len)
{
	union rv_endpoint ep;

	rv_peer_get_endpoint(peer, &ep);
	if (!ep.sa.sa_family)
		return -EDESTADDRREQ;
	return rv_udp_send(&dev->udp, &ep, buf, len);
}

static void send_initiation(struct rv_device *dev, struct rv_peer *peer, bool is_retry, uint64_t now)
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
	drop_handshake_index(dev, peer);
	idx = index_add(dev, peer);
	ret = wg_noise_create_initiation(&peer->hs, &dev->identity, &msg, idx);
	if (ret < 0) {
		index_remove(dev, idx);
		PEER_LOG(peer, "Failed to create initiation message: %s", strerror(-ret));
		return;
	}
	peer->handshake_index = idx;
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&msg, sizeof(msg), now);
	PEER_LOG(peer, "Sending handshake initiation");
	ret = send_to_peer(dev, peer, &msg, sizeof(msg));
	if (ret < 0) {
		PEER_LOG(peer, "Failed to send handshake initiation: %s", strerror(-ret));
		return;
	}
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	peer->retransmit_jitter_ns = jitter_ns();
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
	ret = send_to_peer(dev, peer, buf, (size_t)n);
	if (ret < 0)
		return ret;
	atomic_fetch_add_explicit(&peer->tx_bytes, (uint64_t)n, memory_order_relaxed);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	if (len)
		rv_peer_event_data_sent(peer, now);
	return 0;
}

static void send_staged(struct rv_device *dev, struct rv_peer *peer, uint64_t now)
{
	struct rv_staged_packet pkts[RV_MAX_STAGED];
	struct wg_keypair *kp = peer->kp_current;
	unsigned i, n;

	if (!atomic_load(&peer->staged_count))
		return;
	if (!rv_keypair_usable(&dev->timers, kp, now)) {
		send_initiation(dev, peer, false, now);
		return;
	}
	n = rv_peer_take_staged(peer, pkts);
	for (i = 0; i < n; i++) {
		seal_and_send(dev, peer, kp, pkts[i].data, pkts[i].len, now);
		free(pkts[i].data);
	}
	if (rv_keypair_wants_rekey_on_send(&dev->timers, kp, now))
		send_initiation(dev, peer, false, now);
}

static void send_keepalive(struct rv_device *dev, struct rv_peer *peer, uint64_t now)
{
	if (!atomic_load(&peer->staged_count))
		rv_peer_stage(peer, (const uint8_t *)"", 0);
	send_staged(dev, peer, now);
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

static struct rv_peer *find_peer(struct rv_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct rv_peer *p;

	for (p = dev->peers; p; p = p->next_in_list)
		if (!memcmp(p->public_key, key, WG_KEY_LEN))
			return p;
	return NULL;
}

/* The handshake handlers run on the control thread WITHOUT the device lock
 * for the expensive parts (X25519, AEAD, KDF): the handshake state, the
 * identity, the cookie makers and the peer list are only ever touched by this
 * thread. The lock (write) is taken only around what the data threads read:
 * the index table and the session slots. So a flood of handshake messages
 * costs CPU, but does not stall the data path behind the lock. */
static void handle_initiation(struct rv_device *dev, struct rv_handshake_msg *m, uint64_t now)
{
	const struct wg_msg_initiation *msg = (const void *)m->data;
	struct wg_initiation_parsed parsed;
	struct wg_msg_response resp;
	struct wg_keypair *kp;
	struct rv_index_entry *e;
	struct rv_peer *peer;
	uint32_t idx;
	int ret;

	if (wg_noise_consume_initiation_begin(&dev->identity, msg, &parsed) < 0)
		return;
	peer = find_peer(dev, parsed.remote_static);
	if (!peer) {
		wg_crypto_wipe(&parsed, sizeof(parsed));
		return;
	}
	ret = wg_noise_consume_initiation_finish(&peer->hs, &dev->identity, msg, &parsed, now);
	if (ret < 0) {
		PEER_LOG(peer, "Rejected handshake initiation: %s", strerror(-ret));
		return;
	}
	PEER_LOG(peer, "Received handshake initiation");
	rv_peer_set_endpoint(peer, &m->from);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_received(peer);

	pthread_rwlock_wrlock(&dev->lock);
	drop_handshake_index(dev, peer);
	idx = index_add(dev, peer);
	pthread_rwlock_unlock(&dev->lock);
	ret = wg_noise_create_response(&peer->hs, &dev->identity, &resp, idx);
	kp = ret < 0 ? NULL : calloc(1, sizeof(*kp));
	if (ret < 0 || !kp || wg_noise_begin_session(&peer->hs, kp, now) < 0) {
		free(kp);
		pthread_rwlock_wrlock(&dev->lock);
		index_remove(dev, idx);
		pthread_rwlock_unlock(&dev->lock);
		PEER_LOG(peer, "Failed to create response message");
		return;
	}
	wg_cookie_add_macs(&peer->cookie, (uint8_t *)&resp, sizeof(resp), now);
	pthread_rwlock_wrlock(&dev->lock);
	/* the data threads never remove a handshake entry, so it is still ours */
	e = index_find(dev, idx);
	if (!e) {
		pthread_rwlock_unlock(&dev->lock);
		wg_keypair_clear(kp);
		free(kp);
		return;
	}
	e->keypair = kp;
	kp->local_index = idx;
	install_keypair(dev, peer, kp);
	peer->zero_keys_deadline_ns = now + 3 * dev->timers.reject_after_time_ns;
	pthread_rwlock_unlock(&dev->lock);
	PEER_LOG(peer, "Sending handshake response");
	if (send_to_peer(dev, peer, &resp, sizeof(resp)) == 0) {
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
	e = index_find(dev, idx);
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
	e = index_find(dev, idx);
	if (!e || e->keypair || e->peer != peer) {
		pthread_rwlock_unlock(&dev->lock);
		wg_keypair_clear(kp);
		free(kp);
		return;
	}
	e->keypair = kp;
	kp->local_index = idx;
	peer->handshake_index = 0;	/* the entry now names the session */
	install_keypair(dev, peer, kp);
	peer->zero_keys_deadline_ns = now + 3 * dev->timers.reject_after_time_ns;
	handshake_complete(peer);
	/* confirms the session to the responder (or carries staged data) */
	send_keepalive(dev, peer, now);
	pthread_rwlock_unlock(&dev->lock);
}

static void handle_handshake_msg(struct rv_device *dev, struct rv_handshake_msg *m, bool loaded, uint64_t now)
{
	uint8_t src[18];
	size_t src_len;
	enum wg_mac_state st;

	if (m->data[0] == WG_MSG_COOKIE_REPLY) {
		const struct wg_msg_cookie_reply *r = (const void *)m->data;
		struct rv_index_entry *e;
		struct rv_peer *peer = NULL;

		pthread_rwlock_rdlock(&dev->lock);
		e = index_find(dev, wg_le32(r->receiver_index));
		if (e)
			peer = e->peer;	/* only this thread frees peers */
		pthread_rwlock_unlock(&dev->lock);
		if (peer && wg_cookie_consume_reply(&peer->cookie, r, now) == 0)
			PEER_LOG(peer, "Received cookie reply");
		return;
	}
	src_len = endpoint_source_bytes(&m->from, src);
	st = wg_cookie_check(&dev->cookie_checker, m->data, m->len, src, src_len, loaded, now);
	if (st == WG_MAC_INVALID)
		return;
	if (loaded && st != WG_MAC1_VALID_COOKIE_VALID) {
		struct wg_msg_cookie_reply reply;

		if (wg_cookie_create_reply(&dev->cookie_checker, &reply, m->data, m->len, src, src_len, now) == 0)
			rv_udp_send(&dev->udp, &m->from, &reply, sizeof(reply));
		return;
	}
	/* a valid cookie proves the address, not good intent: still at most
	 * 20 expensive handshakes per second per address while under load */
	if (loaded && !rv_ratelimiter_allow(dev->ratelimiter, src, src_len - 2, now))
		return;
	if (m->data[0] == WG_MSG_INITIATION)
		handle_initiation(dev, m, now);
	else
		handle_response(dev, m, now);
}

static void process_handshake_queue(struct rv_device *dev, uint64_t now)
{
	struct rv_handshake_msg m;
	unsigned budget = RV_HANDSHAKE_QUEUE;

	while (budget--) {
		bool loaded = under_load(dev, now);

		pthread_mutex_lock(&dev->hsq_lock);
		if (!dev->hsq_count) {
			pthread_mutex_unlock(&dev->hsq_lock);
			break;
		}
		m = dev->hsq[dev->hsq_head];
		dev->hsq_head = (dev->hsq_head + 1) % RV_HANDSHAKE_QUEUE;
		dev->hsq_count--;
		pthread_mutex_unlock(&dev->hsq_lock);
		handle_handshake_msg(dev, &m, loaded, now);
	}
	wg_crypto_wipe(&m, sizeof(m));
}

/* ------------------------------------------------------------------- timers */

static void peer_timers(struct rv_device *dev, struct rv_peer *peer, uint64_t now)
{
	struct rv_timer_snapshot s = {
		.retransmit_deadline_ns = peer->retransmit_deadline_ns,
		.handshake_attempts = peer->handshake_attempts,
		.new_handshake_armed_ns = atomic_load(&peer->new_handshake_armed_ns),
		.keepalive_armed_ns = atomic_load(&peer->keepalive_armed_ns),
		.last_traversal_ns = atomic_load(&peer->last_traversal_ns),
		.persistent_keepalive = atomic_load(&peer->persistent_keepalive),
		.zero_keys_deadline_ns = peer->zero_keys_deadline_ns,
		.jitter_ns = peer->new_handshake_jitter_ns,
	};
	unsigned due = rv_timers_due(&dev->timers, &s, now);

	if (due & RV_TIMER_RETRANSMIT_HANDSHAKE) {
		peer->handshake_attempts++;
		peer->retransmit_deadline_ns = 0;
		PEER_LOG(peer, "Handshake did not complete after %llu seconds, retrying (try %u)",
			 (unsigned long long)(dev->timers.rekey_timeout_ns / RV_NSEC_PER_SEC),
			 peer->handshake_attempts + 1);
		send_initiation(dev, peer, true, now);
	}
	if (due & RV_TIMER_GIVE_UP_HANDSHAKE) {
		PEER_LOG(peer, "Handshake did not complete after %u attempts, giving up",
			 dev->timers.max_handshake_attempts + 2);
		peer->retransmit_deadline_ns = 0;
		rv_peer_clear_staged(peer);
		if (!peer->zero_keys_deadline_ns)
			peer->zero_keys_deadline_ns = now + 3 * dev->timers.reject_after_time_ns;
	}
	if (due & RV_TIMER_NEW_HANDSHAKE) {
		atomic_store(&peer->new_handshake_armed_ns, 0);
		peer->new_handshake_jitter_ns = jitter_ns();
		PEER_LOG(peer, "Retrying handshake because we stopped hearing back after %llu seconds",
			 (unsigned long long)((dev->timers.keepalive_timeout_ns + dev->timers.rekey_timeout_ns) /
					      RV_NSEC_PER_SEC));
		send_initiation(dev, peer, false, now);
	}
	if (due & RV_TIMER_SEND_KEEPALIVE) {
		atomic_store(&peer->keepalive_armed_ns, 0);
		send_keepalive(dev, peer, now);
	}
	if (due & RV_TIMER_PERSISTENT_KEEPALIVE)
		send_keepalive(dev, peer, now);
	if (due & RV_TIMER_ZERO_KEYS) {
		PEER_LOG(peer, "Removing all keys, since we haven't received a new one in %llu seconds",
			 (unsigned long long)(3 * dev->timers.reject_after_time_ns / RV_NSEC_PER_SEC));
		peer->zero_keys_deadline_ns = 0;
		expire_sessions(dev, peer);
		rv_peer_clear_staged(peer);
	}
	if (atomic_exchange(&peer->want_last_minute_handshake, false) && !peer->sent_last_minute_handshake) {
		peer->sent_last_minute_handshake = true;
		send_initiation(dev, peer, false, now);
	}
	if (atomic_exchange(&peer->want_handshake, false))
		send_initiation(dev, peer, false, now);
	if (atomic_exchange(&peer->want_flush_staged, false))
		send_staged(dev, peer, now);
}

/* How long the control loop may sleep: until the next timer, at most 1 s
 * (the data path arms its timers in atomics without waking us, so those
 * fire up to a second late, which the protocol tolerates). */
static int control_timeout_ms(struct rv_device *dev)
{
	uint64_t now = rv_now_ns(), next = now + RV_NSEC_PER_SEC;
	struct rv_peer *p;

	pthread_rwlock_rdlock(&dev->lock);
	for (p = dev->peers; p; p = p->next_in_list) {
		uint64_t d[5] = {
			p->retransmit_deadline_ns,
			p->zero_keys_deadline_ns,
			atomic_load(&p->new_handshake_armed_ns),
			atomic_load(&p->keepalive_armed_ns),
			atomic_load(&p->persistent_keepalive) ? atomic_load(&p->last_traversal_ns) : 0,
		};
		unsigned i;

		if (d[2])
			d[2] += dev->timers.keepalive_timeout_ns + dev->timers.rekey_timeout_ns +
				p->new_handshake_jitter_ns;
		if (d[3])
			d[3] += dev->timers.keepalive_timeout_ns;
		if (d[4])
			d[4] += (uint64_t)atomic_load(&p->persistent_keepalive) * RV_NSEC_PER_SEC;
		for (i = 0; i < 5; i++)
			if (d[i] && d[i] < next)
				next = d[i];
	}
	pthread_rwlock_unlock(&dev->lock);
	if (next <= now)
		return 0;
	return (int)((next - now + RV_NSEC_PER_MSEC - 1) / RV_NSEC_PER_MSEC);
}

static void control_tick(struct rv_device *dev)
{
	uint64_t now = rv_now_ns();
	struct rv_peer *p;

	process_handshake_queue(dev, now);	/* takes the lock itself, briefly */
	pthread_rwlock_wrlock(&dev->lock);
	for (p = dev->peers; p; p = p->next_in_list)
		peer_timers(dev, p, now);
	pthread_rwlock_unlock(&dev->lock);
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
};

static void request(struct rv_device *dev, _Atomic bool *flag)
{
	if (!atomic_load_explicit(flag, memory_order_relaxed) && !atomic_exchange(flag, true))
		wake(dev->wake_fd);
}

/* Encrypts the packet in slot i; true if it is queued for sending. */
static bool tx_one(struct rv_device *dev, struct tx_state *tx, unsigned i, size_t len, uint64_t now)
{
	uint8_t *pkt = tx->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN;
	struct rv_peer *peer = wg_allowedips_lookup_dst(&dev->allowedips, pkt, len);
	struct wg_keypair *kp;
	uint64_t counter;
	ssize_t n;

	if (!peer)
		return false;	/* no route: wireguard-go drops silently too */
	kp = peer->kp_current;
	if (atomic_load_explicit(&peer->staged_count, memory_order_relaxed) ||
	    !rv_keypair_usable(&dev->timers, kp, now)) {
		rv_peer_stage(peer, pkt, len);
		request(dev, rv_keypair_usable(&dev->timers, kp, now) ? &peer->want_flush_staged
								       : &peer->want_handshake);
		return false;
	}
	rv_peer_get_endpoint(peer, &tx->dst[i]);
	if (!tx->dst[i].sa.sa_family)
		return false;
	if (wg_keypair_take_counter(kp, &counter) < 0) {
		rv_peer_stage(peer, pkt, len);
		request(dev, &peer->want_handshake);
		return false;
	}
	n = wg_transport_seal(kp, counter, tx->buf[i], len,
			      wg_transport_padded_len(len, (size_t)atomic_load_explicit(&dev->mtu, memory_order_relaxed)),
			      TX_BUF_SIZE);
	if (n < 0)
		return false;
	tx->iov[i].iov_base = tx->buf[i];
	tx->iov[i].iov_len = (size_t)n;
	atomic_fetch_add_explicit(&peer->tx_bytes, (uint64_t)n, memory_order_relaxed);
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_sent(peer);
	rv_peer_event_data_sent(peer, now);
	if (rv_keypair_wants_rekey_on_send(&dev->timers, kp, now))
		request(dev, &peer->want_handshake);
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

/* Seals slots [first, first+count) and queues them per family. */
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

static void tx_send(struct rv_device *dev, struct tx_state *tx)
{
	if (tx->fam[0].n)
		tx_send_family(tx, &tx->fam[0], dev->udp.fd4);
	if (tx->fam[1].n)
		tx_send_family(tx, &tx->fam[1], dev->udp.fd6);
}

/* Reads up to a batch from the TUN; false when the TUN is gone. */
static bool tx_batch(struct rv_device *dev, struct tx_state *tx, uint64_t now)
{
	unsigned used = 0, reads;

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

static void *tx_thread(void *arg)
{
	struct rv_device *dev = arg;
	struct tx_state *tx = calloc(1, sizeof(*tx));
	unsigned i;

	if (!tx)
		abort();
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
			wake(dev->wake_fd);
			break;
		}
	}
	for (i = 0; i < TX_SLOTS; i++)
		free(tx->buf[i]);
	free(tx->frame);
	free(tx);
	return NULL;
}

/* ------------------------------------------------------------ the RX thread */

static void enqueue_handshake(struct rv_device *dev, const uint8_t *buf, size_t len,
			      const union rv_endpoint *from)
{
	bool queued = false;

	pthread_mutex_lock(&dev->hsq_lock);
	if (dev->hsq_count < RV_HANDSHAKE_QUEUE) {
		struct rv_handshake_msg *m = &dev->hsq[(dev->hsq_head + dev->hsq_count) % RV_HANDSHAKE_QUEUE];

		m->len = (uint16_t)len;
		m->from = *from;
		memcpy(m->data, buf, len);
		dev->hsq_count++;
		queued = true;
	}
	pthread_mutex_unlock(&dev->hsq_lock);
	if (queued)
		wake(dev->wake_fd);
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
	e = index_find(dev, idx);
	if (e && e->keypair == kp && e->peer->kp_next == kp) {
		struct rv_peer *peer = e->peer;
		struct wg_keypair *old_prev = peer->kp_previous;

		peer->kp_previous = peer->kp_current;
		peer->kp_current = kp;
		peer->kp_next = NULL;
		delete_keypair(dev, &old_prev);
		handshake_complete(peer);
		if (atomic_load(&peer->staged_count))
			request(dev, &peer->want_flush_staged);
	}
	(void)now;
	pthread_rwlock_unlock(&dev->lock);
	pthread_rwlock_rdlock(&dev->lock);
}

static void rx_one(struct rv_device *dev, struct rv_tun_writer *tw, uint8_t *buf, size_t len,
		   const union rv_endpoint *from, uint64_t now)
{
	enum wg_message_type type = wg_msg_classify(buf, len);
	struct rv_index_entry *e;
	struct wg_keypair *kp;
	struct rv_peer *peer;
	uint64_t counter;
	uint32_t idx;
	ssize_t n;
	size_t plen;
	uint8_t *pkt;

	if (type == WG_MSG_INITIATION || type == WG_MSG_RESPONSE || type == WG_MSG_COOKIE_REPLY) {
		enqueue_handshake(dev, buf, len, from);
		return;
	}
	if (type != WG_MSG_TRANSPORT)
		return;
	idx = wg_msg_receiver_index(buf);
	e = index_find(dev, idx);
	if (!e || !e->keypair)
		return;
	kp = e->keypair;
	if (!rv_keypair_usable_for_receive(&dev->timers, kp, now))
		return;
	n = wg_transport_open(kp, buf, len, &counter);
	if (n < 0)
		return;
	if (e->peer->kp_next == kp) {
		promote_next(dev, idx, kp, now);
		e = index_find(dev, idx);
		if (!e || e->keypair != kp)
			return;	/* removed while we switched locks */
	}
	peer = e->peer;
	if (from->sa.sa_family) {
		union rv_endpoint cur;

		rv_peer_get_endpoint(peer, &cur);
		if (!rv_endpoint_equal(&cur, from))
			rv_peer_set_endpoint(peer, from);	/* roaming */
	}
	rv_peer_event_traversal(peer, now);
	rv_peer_event_auth_received(peer);
	atomic_fetch_add_explicit(&peer->rx_bytes, len, memory_order_relaxed);
	if (rv_keypair_wants_rekey_on_receive(&dev->timers, kp, now))
		request(dev, &peer->want_last_minute_handshake);
	if (n == 0)
		return;	/* keepalive */
	rv_peer_event_data_received(peer, now);
	pkt = buf + WG_MSG_TRANSPORT_HEADER_LEN;
	plen = ip_packet_len(pkt, (size_t)n);
	if (!plen)
		return;
	if (wg_allowedips_lookup_src(&dev->allowedips, pkt, plen) != peer)
		return;	/* cryptokey routing: this peer may not use that source */
	rv_tun_writer_add(tw, pkt, plen);
}

static void *rx_thread(void *arg)
{
	struct rv_device *dev = arg;
	struct rv_udp_batch *batch = malloc(sizeof(*batch));
	struct rv_tun_writer *tw = malloc(sizeof(*tw));

	if (!batch || !tw || rv_udp_batch_init(batch) < 0)
		abort();
	rv_tun_writer_init(tw, dev->tun_fd, dev->tun_vnet);
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
			drain(dev->rx_wake_fd);
			continue;
		}
		for (k = 0; k < 2; k++) {
			int rounds = 4;	/* then let the other family have a turn */

			if (pfd[k].fd < 0 || !(pfd[k].revents & POLLIN))
				continue;
			while (rounds--) {
				uint64_t now;
				int got = rv_udp_recv_batch(pfd[k].fd, batch), j;

				if (got <= 0)
					break;
				now = rv_now_ns();
				pthread_rwlock_rdlock(&dev->lock);
				for (j = 0; j < got; j++) {
					size_t total = batch->msgs[j].msg_len, seg = batch->gso_size[j], off;

					if (!seg)
						seg = total;
					for (off = 0; off < total; off += seg)
						rx_one(dev, tw, batch->buf[j] + off,
						       total - off < seg ? total - off : seg, &batch->from[j], now);
				}
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
	return NULL;
}

/* -------------------------------------------------------------- peers, UAPI */

static void remove_peer(struct rv_device *dev, struct rv_peer *peer)
{
	struct rv_peer **pp;

	wg_allowedips_remove_peer(&dev->allowedips, peer);
	expire_sessions(dev, peer);
	for (pp = &dev->peers; *pp; pp = &(*pp)->next_in_list) {
		if (*pp == peer) {
			*pp = peer->next_in_list;
			break;
		}
	}
	dev->n_peers--;
	PEER_LOG(peer, "Removed");
	rv_peer_free(peer);
}

struct get_ctx {
	struct rv_buf *out;
};

static void get_allowed_ip(void *user, int family, const uint8_t *addr, uint8_t cidr)
{
	struct get_ctx *g = user;
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, ip, sizeof(ip));
	rv_buf_printf(g->out, "allowed_ip=%s/%u\n", ip, cidr);
}

void rv_device_uapi_get(void *data, struct rv_buf *out)
{
	struct rv_device *dev = data;
	struct get_ctx g = { .out = out };
	struct rv_peer *p;
	char hex[65];

	if (dev->identity.has_private_key) {
		rv_key_to_hex(dev->identity.private_key, hex);
		rv_buf_printf(out, "private_key=%s\n", hex);
	}
	if (dev->udp.fd4 >= 0 || dev->udp.fd6 >= 0)
		rv_buf_printf(out, "listen_port=%u\n", dev->udp.port);
	if (dev->udp.fwmark)
		rv_buf_printf(out, "fwmark=%u\n", dev->udp.fwmark);
	for (p = dev->peers; p; p = p->next_in_list) {
		union rv_endpoint ep;
		int64_t hs = atomic_load(&p->last_handshake_realtime_ns);

		rv_key_to_hex(p->public_key, hex);
		rv_buf_printf(out, "public_key=%s\n", hex);
		rv_key_to_hex(p->hs.preshared_key, hex);
		rv_buf_printf(out, "preshared_key=%s\n", hex);
		rv_buf_printf(out, "protocol_version=1\n");
		rv_peer_get_endpoint(p, &ep);
		if (ep.sa.sa_family) {
			char s[80];

			rv_endpoint_format(&ep, s, sizeof(s));
			rv_buf_printf(out, "endpoint=%s\n", s);
		}
		rv_buf_printf(out, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%lld\n",
			      (long long)(hs / (int64_t)RV_NSEC_PER_SEC), (long long)(hs % (int64_t)RV_NSEC_PER_SEC));
		rv_buf_printf(out, "tx_bytes=%llu\nrx_bytes=%llu\n",
			      (unsigned long long)atomic_load(&p->tx_bytes),
			      (unsigned long long)atomic_load(&p->rx_bytes));
		rv_buf_printf(out, "persistent_keepalive_interval=%u\n", atomic_load(&p->persistent_keepalive));
		wg_allowedips_walk_peer(&dev->allowedips, p, get_allowed_ip, &g);
	}
	wg_crypto_wipe(hex, sizeof(hex));
}

/* Rebinds both sockets to port; the RX thread polls the same fd numbers, so
 * the new sockets are dup3()ed over the old ones and the thread woken. */
static int rebind(struct rv_device *dev, uint16_t port)
{
	struct rv_udp nu;
	int ret;

	rv_udp_init(&nu);
	ret = rv_udp_open(&nu, port, dev->udp.fwmark);
	if (ret < 0)
		return ret;
	if (dev->udp.fd4 >= 0 && nu.fd4 >= 0) {
		dup3(nu.fd4, dev->udp.fd4, O_CLOEXEC);
		close(nu.fd4);
	} else if (dev->udp.fd4 >= 0 || dev->udp.fd6 < 0) {
		if (dev->udp.fd4 >= 0)
			close(dev->udp.fd4);
		dev->udp.fd4 = nu.fd4;
	} else if (nu.fd4 >= 0) {
		close(nu.fd4);	/* the sandbox only knows the fd numbers we started with */
	}
	if (dev->udp.fd6 >= 0 && nu.fd6 >= 0) {
		dup3(nu.fd6, dev->udp.fd6, O_CLOEXEC);
		close(nu.fd6);
	} else if (dev->udp.fd6 >= 0 || dev->udp.fd4 < 0) {
		if (dev->udp.fd6 >= 0)
			close(dev->udp.fd6);
		dev->udp.fd6 = nu.fd6;
	} else if (nu.fd6 >= 0) {
		close(nu.fd6);
	}
	dev->udp.port = nu.port;
	/* the RX thread polls the old files until it re-reads the fds */
	wake(dev->rx_wake_fd);
	return 0;
}

static int set_private_key(struct rv_device *dev, const uint8_t key[32])
{
	struct rv_peer *p, *next;
	int ret;

	if (key_is_zero(key)) {
		if (!dev->identity.has_private_key)
			return 0;
		wg_static_identity_clear(&dev->identity);
		wg_cookie_checker_set_identity(&dev->cookie_checker, NULL);
	} else {
		uint8_t clamped[32];

		memcpy(clamped, key, 32);
		wg_x25519_clamp(clamped);
		if (dev->identity.has_private_key && !memcmp(clamped, dev->identity.private_key, 32)) {
			wg_crypto_wipe(clamped, sizeof(clamped));
			return 0;
		}
		wg_crypto_wipe(clamped, sizeof(clamped));
		ret = wg_static_identity_set(&dev->identity, key);
		if (ret < 0)
			return ret;
		wg_cookie_checker_set_identity(&dev->cookie_checker, dev->identity.public_key);
	}
	for (p = dev->peers; p; p = next) {
		next = p->next_in_list;
		if (dev->identity.has_private_key && !memcmp(p->public_key, dev->identity.public_key, 32)) {
			remove_peer(dev, p);	/* a peer cannot be ourselves */
			continue;
		}
		expire_sessions(dev, p);
		wg_handshake_precompute(&p->hs, &dev->identity);
	}
	return 0;
}

static int apply_peer(struct rv_device *dev, const struct rv_uapi_peer *c, uint64_t now)
{
	struct rv_peer *peer = find_peer(dev, c->public_key);
	bool created = false;
	size_t i;
	int ret;

	if (dev->identity.has_private_key && !memcmp(c->public_key, dev->identity.public_key, 32))
		return 0;	/* ourselves: ignored, as wireguard-go does */
	if (c->remove) {
		if (peer)
			remove_peer(dev, peer);
		return 0;
	}
	if (!peer) {
		if (c->update_only)
			return 0;
		peer = rv_peer_new(dev, c->public_key);
		if (!peer)
			return -ENOMEM;
		wg_handshake_init(&peer->hs, &dev->identity, c->public_key, NULL);
		peer->new_handshake_jitter_ns = jitter_ns();
		peer->next_in_list = NULL;
		/* append: `wg show` lists peers in configuration order */
		{
			struct rv_peer **pp = &dev->peers;

			while (*pp)
				pp = &(*pp)->next_in_list;
			*pp = peer;
		}
		dev->n_peers++;
		created = true;
		PEER_LOG(peer, "Created");
	}
	if (c->has_preshared_key)
		wg_handshake_set_preshared_key(&peer->hs, key_is_zero(c->preshared_key) ? NULL : c->preshared_key);
	if (c->has_endpoint)
		rv_peer_set_endpoint(peer, &c->endpoint);
	if (c->replace_allowed_ips)
		wg_allowedips_remove_peer(&dev->allowedips, peer);
	for (i = 0; i < c->n_allowed_ips; i++) {
		const struct rv_uapi_allowed_ip *a = &c->allowed_ips[i];

		if (a->remove)
			wg_allowedips_remove(&dev->allowedips, a->family, a->addr, a->cidr, peer);
		else if ((ret = wg_allowedips_insert(&dev->allowedips, a->family, a->addr, a->cidr, peer)) < 0)
			return ret;
	}
	if (c->has_keepalive) {
		uint16_t old = atomic_exchange(&peer->persistent_keepalive, c->persistent_keepalive);

		/* as wireguard-go: switching it on sends one right away */
		if (c->persistent_keepalive && (created || !old) && dev->identity.has_private_key)
			send_keepalive(dev, peer, now);
	}
	return 0;
}

int rv_device_uapi_set(void *data, const struct rv_uapi_set *set)
{
	struct rv_device *dev = data;
	uint64_t now = rv_now_ns();
	size_t i;
	int ret;

	if (set->has_private_key && (ret = set_private_key(dev, set->private_key)) < 0)
		return ret;
	if (set->has_fwmark && set->fwmark != dev->udp.fwmark) {
		ret = rv_udp_set_fwmark(&dev->udp, set->fwmark);
		if (ret < 0)
			return ret;
	}
	if (set->has_listen_port &&
	    (set->listen_port != dev->udp.port || set->listen_port == 0 ||
	     (dev->udp.fd4 < 0 && dev->udp.fd6 < 0))) {
		if (set->listen_port == 0 && (dev->udp.fd4 >= 0 || dev->udp.fd6 >= 0)) {
			/* "any port" and we have one */
		} else if ((ret = rebind(dev, set->listen_port)) < 0) {
			return ret;
		}
	}
	if (set->replace_peers) {
		while (dev->peers)
			remove_peer(dev, dev->peers);
	}
	for (i = 0; i < set->n_peers; i++) {
		ret = apply_peer(dev, &set->peers[i], now);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---------------------------------------------------------- UAPI connections */

static int epoll_add(struct rv_device *dev, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void client_close(struct rv_device *dev, struct rv_uapi_client *c)
{
	int i;

	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++)
		if (dev->clients[i] == c)
			dev->clients[i] = NULL;
	if (c->is_daemon) {
		rv_log_verbose("UAPI connection of the daemon closed, stopping");
		atomic_store(&dev->stopping, true);
	}
	epoll_ctl(dev->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	rv_buf_free(&c->in);
	rv_buf_free(&c->out);
	free(c);
}

static int client_add(struct rv_device *dev, int fd, bool is_daemon)
{
	struct rv_uapi_client *c;
	int i;

	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++)
		if (!dev->clients[i])
			break;
	if (i == RV_MAX_UAPI_CLIENTS)
		return -EMFILE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->is_daemon = is_daemon;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (epoll_add(dev, fd, EPOLLIN, c) < 0) {
		free(c);
		return -errno;
	}
	dev->clients[i] = c;
	return 0;
}

/* false: the client was closed */
static bool client_flush(struct rv_device *dev, struct rv_uapi_client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

				epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
				return true;
			}
			client_close(dev, c);
			return false;
		}
		rv_buf_consume(&c->out, (size_t)n);
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	if (c->close_after_write) {
		client_close(dev, c);
		return false;
	}
	return true;
}

static void client_readable(struct rv_device *dev, struct rv_uapi_client *c)
{
	const struct rv_uapi_handler h = {
		.data = dev, .get = rv_device_uapi_get, .set = rv_device_uapi_set,
	};
	char buf[16384];
	bool eof = false;

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				eof = true;
			break;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (c->in.len + (size_t)n > RV_UAPI_MAX_REQUEST) {
			rv_buf_printf(&c->out, "errno=%d\n\n", EMSGSIZE);
			c->close_after_write = true;
			client_flush(dev, c);
			return;
		}
		rv_buf_append(&c->in, buf, (size_t)n);
	}
	wg_crypto_wipe(buf, sizeof(buf));
	while (!c->close_after_write) {
		size_t len = rv_uapi_request_length(c->in.data, c->in.len);

		if (!len)
			break;
		pthread_rwlock_wrlock(&dev->lock);
		if (!rv_uapi_handle_request(&h, c->in.data, len, &c->out))
			c->close_after_write = true;
		pthread_rwlock_unlock(&dev->lock);
		/* the request may hold keys: wipe before shifting */
		sodium_memzero(c->in.data, len);
		rv_buf_consume(&c->in, len);
	}
	if (eof && !c->out.len) {
		client_close(dev, c);
		return;
	}
	if (eof)
		c->close_after_write = true;
	client_flush(dev, c);
}

static void accept_clients(struct rv_device *dev)
{
	for (;;) {
		int fd = accept4(dev->uapi_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (client_add(dev, fd, false) < 0)
			close(fd);
	}
}

/* ------------------------------------------------------------ device set-up */

int rv_device_init(struct rv_device *dev, const char *ifname, int tun_fd, bool tun_vnet,
		   const struct rv_udp *udp, const struct rv_device_options *opts)
{
	pthread_rwlockattr_t attr;
	int mtu;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifname);
	snprintf(log_ifname, sizeof(log_ifname), "%s", ifname);
	dev->tun_fd = tun_fd;
	dev->tun_vnet = tun_vnet;
	dev->udp = *udp;
	dev->uapi_listen_fd = -1;
	dev->signal_fd = -1;
	mtu = rv_tun_get_mtu(ifname);
	atomic_store(&dev->mtu, mtu > 0 ? mtu : RV_TUN_DEFAULT_MTU);
	if (opts)
		dev->timers = opts->timers;
	else
		rv_timer_config_default(&dev->timers);

	/* writers (handshakes, config) are rare and must not starve behind
	 * two data threads that take the read lock back to back */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&dev->hsq_lock, NULL);
	dev->hsq = calloc(RV_HANDSHAKE_QUEUE, sizeof(*dev->hsq));
	dev->ratelimiter = malloc(sizeof(*dev->ratelimiter));
	if (!dev->hsq || !dev->ratelimiter)
		return -ENOMEM;
	rv_ratelimiter_init(dev->ratelimiter);
	wg_cookie_checker_init(&dev->cookie_checker);
	wg_allowedips_init(&dev->allowedips, NULL);

	dev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	dev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->rx_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->epoll_fd < 0 || dev->wake_fd < 0 || dev->stop_fd < 0 || dev->rx_wake_fd < 0)
		return -errno;
	return epoll_add(dev, dev->wake_fd, EPOLLIN, &dev->wake_fd);
}

int rv_device_listen_uapi(struct rv_device *dev, const char *dir)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old_umask;
	int fd, ret;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.sock", dir, dev->ifname) >=
	    sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* a live socket means another instance owns the name */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	old_umask = umask(0077);
	ret = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old_umask);
	if (ret < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	dev->uapi_listen_fd = fd;
	dev->uapi_path = strdup(sun.sun_path);
	return epoll_add(dev, fd, EPOLLIN, &dev->uapi_listen_fd);
}

int rv_device_add_uapi_fd(struct rv_device *dev, int fd)
{
	return client_add(dev, fd, true);
}

int rv_device_run(struct rv_device *dev)
{
	sigset_t mask;
	uint64_t last_mtu_check = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);	/* inherited by the data threads */
	signal(SIGPIPE, SIG_IGN);
	dev->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (dev->signal_fd >= 0)
		epoll_add(dev, dev->signal_fd, EPOLLIN, &dev->signal_fd);

	if (pthread_create(&dev->tx_thread, NULL, tx_thread, dev) ||
	    pthread_create(&dev->rx_thread, NULL, rx_thread, dev)) {
		rv_log_error("cannot start threads");
		return 1;
	}
	dev->threads_started = true;
	rv_log_verbose("Device started");

	while (!atomic_load(&dev->stopping)) {
		struct epoll_event evs[16];
		int n, i;
		uint64_t now;

		n = epoll_wait(dev->epoll_fd, evs, 16, control_timeout_ms(dev));
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &dev->wake_fd) {
				drain(dev->wake_fd);
			} else if (p == &dev->signal_fd) {
				struct signalfd_siginfo si;

				if (read(dev->signal_fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
					rv_log_verbose("Received signal %u, shutting down", si.ssi_signo);
					atomic_store(&dev->stopping, true);
				}
			} else if (p == &dev->uapi_listen_fd) {
				accept_clients(dev);
			} else {
				struct rv_uapi_client *c = p;

				if (evs[i].events & EPOLLOUT) {
					if (!client_flush(dev, c))
						continue;
				}
				if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
					client_readable(dev, c);
			}
		}
		control_tick(dev);
		now = rv_now_ns();
		if (now - last_mtu_check > RV_NSEC_PER_SEC) {
			int mtu = rv_tun_get_mtu_on(dev->udp.fd4 >= 0 ? dev->udp.fd4 : dev->udp.fd6, dev->ifname);

			if (mtu > 0)
				atomic_store(&dev->mtu, mtu);
			last_mtu_check = now;
		}
	}
	wake(dev->stop_fd);
	pthread_join(dev->tx_thread, NULL);
	pthread_join(dev->rx_thread, NULL);
	dev->threads_started = false;
	if (dev->uapi_path)
		unlink(dev->uapi_path);
	rv_log_verbose("Device closed");
	return dev->exit_status;
}

void rv_device_destroy(struct rv_device *dev)
{
	unsigned i;

	while (dev->peers)
		remove_peer(dev, dev->peers);
	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++) {
		if (dev->clients[i]) {
			dev->clients[i]->is_daemon = false;
			client_close(dev, dev->clients[i]);
		}
	}
	for (i = 0; i < RV_INDEX_BUCKETS; i++) {
		while (dev->index[i]) {
			struct rv_index_entry *e = dev->index[i];

			dev->index[i] = e->next;
			free(e);
		}
	}
	wg_allowedips_free(&dev->allowedips);
	wg_cookie_checker_destroy(&dev->cookie_checker);
	wg_static_identity_clear(&dev->identity);
	if (dev->hsq) {
		wg_crypto_wipe(dev->hsq, RV_HANDSHAKE_QUEUE * sizeof(*dev->hsq));
		free(dev->hsq);
	}
	free(dev->ratelimiter);
	rv_udp_close(&dev->udp);
	if (dev->tun_fd >= 0)
		close(dev->tun_fd);
	if (dev->uapi_listen_fd >= 0)
		close(dev->uapi_listen_fd);
	if (dev->signal_fd >= 0)
		close(dev->signal_fd);
	close(dev->epoll_fd);
	close(dev->wake_fd);
	close(dev->stop_fd);
	close(dev->rx_wake_fd);
	free(dev->uapi_path);
	pthread_rwlock_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->hsq_lock);
}

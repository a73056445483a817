/* timers.c - the control thread's timer actions: turns each peer's timer
 * state (rv_timers_due() in peer.c, a pure function) into handshakes,
 * keepalives, give-ups and key wipes, and computes how long the control
 * loop may sleep. The kernel's timers.c. */
#include <string.h>

#include "device-internal.h"

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
		rv_send_initiation(dev, peer, true, now);
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
		peer->new_handshake_jitter_ns = rv_jitter_ns();
		PEER_LOG(peer, "Retrying handshake because we stopped hearing back after %llu seconds",
			 (unsigned long long)((dev->timers.keepalive_timeout_ns + dev->timers.rekey_timeout_ns) /
					      RV_NSEC_PER_SEC));
		rv_send_initiation(dev, peer, false, now);
	}
	if (due & RV_TIMER_SEND_KEEPALIVE) {
		atomic_store(&peer->keepalive_armed_ns, 0);
		rv_send_keepalive(dev, peer, now);
	}
	if (due & RV_TIMER_PERSISTENT_KEEPALIVE)
		rv_send_keepalive(dev, peer, now);
	if (due & RV_TIMER_ZERO_KEYS) {
		PEER_LOG(peer, "Removing all keys, since we haven't received a new one in %llu seconds",
			 (unsigned long long)(3 * dev->timers.reject_after_time_ns / RV_NSEC_PER_SEC));
		peer->zero_keys_deadline_ns = 0;
		rv_expire_sessions(dev, peer);
		rv_peer_clear_staged(peer);
	}
	if (atomic_exchange(&peer->want_last_minute_handshake, false) && !peer->sent_last_minute_handshake) {
		peer->sent_last_minute_handshake = true;
		rv_send_initiation(dev, peer, false, now);
	}
	if (atomic_exchange(&peer->want_handshake, false))
		rv_send_initiation(dev, peer, false, now);
	if (atomic_exchange(&peer->want_flush_staged, false))
		rv_send_staged(dev, peer, now);
}

/* How long the control loop may sleep: until the next timer, at most 1 s
 * (the data path arms its timers in atomics without waking us, so those
 * fire up to a second late, which the protocol tolerates). */
int rv_control_timeout_ms(struct rv_device *dev)
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

void rv_control_tick(struct rv_device *dev)
{
	uint64_t now = rv_now_ns();
	struct rv_peer *p;

	rv_process_handshake_queue(dev, now);	/* takes the lock itself, briefly */
	pthread_rwlock_wrlock(&dev->lock);
	for (p = dev->peers; p; p = p->next_in_list)
		peer_timers(dev, p, now);
	pthread_rwlock_unlock(&dev->lock);
}


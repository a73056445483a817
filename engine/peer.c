/* peer.c - peer state, staged packets and the timer state machine (see peer.h).
 * Timer semantics follow the whitepaper section 6 and wireguard-go's timers. */
#include "peer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"

uint64_t rv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

void rv_timer_config_default(struct rv_timer_config *c)
{
	c->rekey_after_time_ns = WG_REKEY_AFTER_TIME * RV_NSEC_PER_SEC;
	c->reject_after_time_ns = WG_REJECT_AFTER_TIME * RV_NSEC_PER_SEC;
	c->rekey_attempt_time_ns = WG_REKEY_ATTEMPT_TIME * RV_NSEC_PER_SEC;
	c->rekey_timeout_ns = WG_REKEY_TIMEOUT * RV_NSEC_PER_SEC;
	c->keepalive_timeout_ns = WG_KEEPALIVE_TIMEOUT * RV_NSEC_PER_SEC;
	c->rekey_after_messages = WG_REKEY_AFTER_MESSAGES;
	c->max_handshake_attempts = WG_MAX_TIMER_HANDSHAKES;
}

void rv_timer_config_set_rekey_after_time(struct rv_timer_config *c, uint64_t seconds)
{
	c->rekey_after_time_ns = seconds * RV_NSEC_PER_SEC;
	c->reject_after_time_ns = (seconds + (WG_REJECT_AFTER_TIME - WG_REKEY_AFTER_TIME)) * RV_NSEC_PER_SEC;
}

static bool reached(uint64_t armed, uint64_t delay, uint64_t now)
{
	return armed != 0 && now >= armed + delay;
}

unsigned rv_timers_due(const struct rv_timer_config *c, const struct rv_timer_snapshot *s, uint64_t now)
{
	unsigned due = 0;

	if (s->retransmit_deadline_ns && now >= s->retransmit_deadline_ns) {
		/* as wireguard-go: retries are counted before each resend and it
		 * gives up once the count passed REKEY_ATTEMPT_TIME / REKEY_TIMEOUT */
		if (s->handshake_attempts > c->max_handshake_attempts)
			due |= RV_TIMER_GIVE_UP_HANDSHAKE;
		else
			due |= RV_TIMER_RETRANSMIT_HANDSHAKE;
	}
	if (reached(s->new_handshake_armed_ns, c->keepalive_timeout_ns + c->rekey_timeout_ns + s->jitter_ns, now))
		due |= RV_TIMER_NEW_HANDSHAKE;
	if (reached(s->keepalive_armed_ns, c->keepalive_timeout_ns, now))
		due |= RV_TIMER_SEND_KEEPALIVE;
	if (s->persistent_keepalive &&
	    reached(s->last_traversal_ns, (uint64_t)s->persistent_keepalive * RV_NSEC_PER_SEC, now))
		due |= RV_TIMER_PERSISTENT_KEEPALIVE;
	if (s->zero_keys_deadline_ns && now >= s->zero_keys_deadline_ns)
		due |= RV_TIMER_ZERO_KEYS;
	return due;
}

/* A session made by another thread after the caller read its clock is age 0,
 * not 2^64 ns old. */
static uint64_t age(const struct wg_keypair *kp, uint64_t now)
{
	return now > kp->created_ns ? now - kp->created_ns : 0;
}

bool rv_keypair_usable(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now)
{
	if (!kp)
		return false;
	if (age(kp, now) >= c->reject_after_time_ns)
		return false;
	return atomic_load_explicit(&((struct wg_keypair *)kp)->send_counter, memory_order_relaxed) <
	       WG_REJECT_AFTER_MESSAGES;
}

bool rv_keypair_usable_for_receive(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now)
{
	return kp && age(kp, now) < c->reject_after_time_ns;
}

bool rv_keypair_wants_rekey_on_send(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now)
{
	uint64_t counter;

	if (!kp)
		return true;
	counter = atomic_load_explicit(&((struct wg_keypair *)kp)->send_counter, memory_order_relaxed);
	if (counter > c->rekey_after_messages)
		return true;
	return kp->is_initiator && age(kp, now) > c->rekey_after_time_ns;
}

bool rv_keypair_wants_rekey_on_receive(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now)
{
	return kp && kp->is_initiator &&
	       age(kp, now) > c->reject_after_time_ns - c->keepalive_timeout_ns - c->rekey_timeout_ns;
}

struct rv_peer *rv_peer_new(struct rv_device *dev, const uint8_t public_key[WG_KEY_LEN])
{
	struct rv_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->dev = dev;
	memcpy(p->public_key, public_key, WG_KEY_LEN);
	pthread_spin_init(&p->endpoint_lock, PTHREAD_PROCESS_PRIVATE);
	pthread_mutex_init(&p->staged_lock, NULL);
	wg_cookie_maker_init(&p->cookie, public_key);
	return p;
}

static void free_keypair(struct wg_keypair **kp)
{
	if (*kp) {
		wg_keypair_clear(*kp);
		free(*kp);
		*kp = NULL;
	}
}

void rv_peer_free(struct rv_peer *p)
{
	if (!p)
		return;
	rv_peer_clear_staged(p);
	free_keypair(&p->kp_current);
	free_keypair(&p->kp_previous);
	free_keypair(&p->kp_next);
	wg_handshake_wipe(&p->hs);
	wg_cookie_maker_wipe(&p->cookie);
	pthread_spin_destroy(&p->endpoint_lock);
	pthread_mutex_destroy(&p->staged_lock);
	sodium_memzero(p, sizeof(*p));
	free(p);
}

void rv_peer_get_endpoint(struct rv_peer *p, union rv_endpoint *out)
{
	pthread_spin_lock(&p->endpoint_lock);
	*out = p->endpoint;
	pthread_spin_unlock(&p->endpoint_lock);
}

void rv_peer_set_endpoint(struct rv_peer *p, const union rv_endpoint *ep)
{
	pthread_spin_lock(&p->endpoint_lock);
	p->endpoint = *ep;
	pthread_spin_unlock(&p->endpoint_lock);
}

void rv_peer_event_traversal(struct rv_peer *p, uint64_t now)
{
	atomic_store_explicit(&p->last_traversal_ns, now, memory_order_relaxed);
}

void rv_peer_event_auth_sent(struct rv_peer *p)
{
	/* anything we send tells the peer we are alive: no keepalive owed */
	if (atomic_load_explicit(&p->keepalive_armed_ns, memory_order_relaxed))
		atomic_store_explicit(&p->keepalive_armed_ns, 0, memory_order_relaxed);
}

void rv_peer_event_auth_received(struct rv_peer *p)
{
	if (atomic_load_explicit(&p->new_handshake_armed_ns, memory_order_relaxed))
		atomic_store_explicit(&p->new_handshake_armed_ns, 0, memory_order_relaxed);
}

void rv_peer_event_data_sent(struct rv_peer *p, uint64_t now)
{
	uint64_t zero = 0;

	if (!atomic_load_explicit(&p->new_handshake_armed_ns, memory_order_relaxed))
		atomic_compare_exchange_strong(&p->new_handshake_armed_ns, &zero, now);
}

void rv_peer_event_data_received(struct rv_peer *p, uint64_t now)
{
	uint64_t zero = 0;

	if (!atomic_load_explicit(&p->keepalive_armed_ns, memory_order_relaxed))
		atomic_compare_exchange_strong(&p->keepalive_armed_ns, &zero, now);
}

void rv_peer_stage(struct rv_peer *p, const uint8_t *pkt, size_t len)
{
	struct rv_staged_packet *slot;
	unsigned count;

	pthread_mutex_lock(&p->staged_lock);
	count = atomic_load(&p->staged_count);
	if (count == RV_MAX_STAGED) {
		/* full: the oldest goes, as in wireguard-go */
		free(p->staged[p->staged_head].data);
		p->staged_head = (p->staged_head + 1) % RV_MAX_STAGED;
		count--;
	}
	slot = &p->staged[(p->staged_head + count) % RV_MAX_STAGED];
	slot->data = malloc(len ? len : 1);
	if (slot->data) {
		memcpy(slot->data, pkt, len);
		slot->len = (uint16_t)len;
		count++;
	}
	atomic_store(&p->staged_count, count);
	pthread_mutex_unlock(&p->staged_lock);
}

unsigned rv_peer_take_staged(struct rv_peer *p, struct rv_staged_packet *out)
{
	unsigned i, count;

	pthread_mutex_lock(&p->staged_lock);
	count = atomic_load(&p->staged_count);
	for (i = 0; i < count; i++)
		out[i] = p->staged[(p->staged_head + i) % RV_MAX_STAGED];
	p->staged_head = 0;
	atomic_store(&p->staged_count, 0);
	pthread_mutex_unlock(&p->staged_lock);
	return count;
}

void rv_peer_clear_staged(struct rv_peer *p)
{
	struct rv_staged_packet pkts[RV_MAX_STAGED];
	unsigned i, n = rv_peer_take_staged(p, pkts);

	for (i = 0; i < n; i++)
		free(pkts[i].data);
}

void rv_peer_name(const struct rv_peer *p, char out[32])
{
	char b64[sodium_base64_ENCODED_LEN(WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), p->public_key, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
	/* 44 chars; wireguard-go shows the first and last four */
	memcpy(out, "peer(", 5);
	memcpy(out + 5, b64, 4);
	memcpy(out + 9, "\xe2\x80\xa6", 3);
	memcpy(out + 12, b64 + 39, 4);
	out[16] = ')';
	out[17] = '\0';
}

void rv_ratelimiter_init(struct rv_ratelimiter *r)
{
	memset(r, 0, sizeof(*r));
	wg_crypto_random(&r->key, sizeof(r->key));
}

bool rv_ratelimiter_allow(struct rv_ratelimiter *r, const uint8_t *addr, size_t len, uint64_t now)
{
	const uint64_t cost = RV_NSEC_PER_SEC / RV_RATELIMIT_PER_SEC;
	const uint64_t max = cost * RV_RATELIMIT_BURST;
	uint64_t h = r->key;
	size_t i;
	unsigned idx;

	/* FNV-1a over the address, seeded: cheap, and the seed keeps an
	 * attacker from aiming many sources at one victim's slot */
	for (i = 0; i < len; i++) {
		h ^= addr[i];
		h *= UINT64_C(0x100000001b3);
	}
	idx = (unsigned)(h ^ (h >> 29)) % RV_RATELIMIT_SLOTS;
	if (!r->slot[idx].last_ns) {
		r->slot[idx].tokens_ns = max;
	} else if (now > r->slot[idx].last_ns) {
		r->slot[idx].tokens_ns += now - r->slot[idx].last_ns;
		if (r->slot[idx].tokens_ns > max)
			r->slot[idx].tokens_ns = max;
	}
	r->slot[idx].last_ns = now ? now : 1;
	if (r->slot[idx].tokens_ns < cost)
		return false;
	r->slot[idx].tokens_ns -= cost;
	return true;
}

/* peer.h - one WireGuard peer inside roamvpn-engine: keys, handshake state,
 * the three session slots (current/previous/next), endpoint, counters, staged
 * packets, and the timer state machine of whitepaper section 6.
 *
 * Locking (see device.h): the session slots, the handshake and the control
 * timer fields change only under the device write lock; the data threads read
 * them under the read lock. The data path records its events in atomics
 * (peer_timers.*_armed, last_traversal) so it never blocks on timers; the
 * control thread turns them into actions with rv_timers_due(), a pure
 * function of a snapshot and a clock, unit-tested in tests/unit/test-engine-timers.c. */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "udp.h"

#define RV_NSEC_PER_SEC UINT64_C(1000000000)
#define RV_NSEC_PER_MSEC UINT64_C(1000000)
#define RV_REKEY_JITTER_MAX_MS 334	/* whitepaper 6.1: up to 333 ms */
#define RV_MAX_STAGED 128

/* The protocol's times, adjustable only by the --test-* options (docs/engine.md). */
struct rv_timer_config {
	uint64_t rekey_after_time_ns;		/* 120 s */
	uint64_t reject_after_time_ns;		/* 180 s = rekey + 60 s */
	uint64_t rekey_attempt_time_ns;		/* 90 s */
	uint64_t rekey_timeout_ns;		/* 5 s */
	uint64_t keepalive_timeout_ns;		/* 10 s */
	uint64_t rekey_after_messages;		/* 2^60 */
	unsigned max_handshake_attempts;	/* rekey_attempt_time / rekey_timeout */
};
void rv_timer_config_default(struct rv_timer_config *c);
/* --test-rekey-after-time=S: reject = S + 60 s, the rest unchanged. */
void rv_timer_config_set_rekey_after_time(struct rv_timer_config *c, uint64_t seconds);

/* What rv_timers_due() looks at; 0 means "not armed". */
struct rv_timer_snapshot {
	uint64_t retransmit_deadline_ns;	/* initiation sent, no response yet */
	unsigned handshake_attempts;
	uint64_t new_handshake_armed_ns;	/* first data sent since last authenticated rx */
	uint64_t keepalive_armed_ns;		/* first data received since last authenticated tx */
	uint64_t last_traversal_ns;		/* last authenticated packet either way */
	uint16_t persistent_keepalive;		/* seconds, 0 = off */
	uint64_t zero_keys_deadline_ns;
	uint64_t jitter_ns;
};

enum rv_timer_action {
	RV_TIMER_RETRANSMIT_HANDSHAKE = 1 << 0,	/* resend the initiation */
	RV_TIMER_GIVE_UP_HANDSHAKE = 1 << 1,	/* REKEY_ATTEMPT_TIME over: drop staged packets */
	RV_TIMER_NEW_HANDSHAKE = 1 << 2,	/* sent data, heard nothing for keepalive+rekey timeout */
	RV_TIMER_SEND_KEEPALIVE = 1 << 3,	/* received data, sent nothing for keepalive timeout */
	RV_TIMER_PERSISTENT_KEEPALIVE = 1 << 4,
	RV_TIMER_ZERO_KEYS = 1 << 5,		/* 3 * REJECT_AFTER_TIME without a new session */
};
unsigned rv_timers_due(const struct rv_timer_config *c, const struct rv_timer_snapshot *s, uint64_t now_ns);

/* Session-key freshness rules (whitepaper 6.2, as wireguard-go applies them). */
bool rv_keypair_usable(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now_ns);
/* Receiving only checks the age (the counter limit is the replay window's). */
bool rv_keypair_usable_for_receive(const struct rv_timer_config *c, const struct wg_keypair *kp, uint64_t now_ns);
bool rv_keypair_wants_rekey_on_send(const struct rv_timer_config *c, const struct wg_keypair *kp,
				    uint64_t now_ns);
bool rv_keypair_wants_rekey_on_receive(const struct rv_timer_config *c, const struct wg_keypair *kp,
				       uint64_t now_ns);

/* Per-source limit on handshake messages processed while under load (as
 * wireguard-go's ratelimiter: 20 per second, burst of 5, per source address;
 * sources sharing a hash slot share a bucket, which only errs on the strict
 * side). Control thread only. */
#define RV_RATELIMIT_SLOTS 4096
#define RV_RATELIMIT_PER_SEC 20
#define RV_RATELIMIT_BURST 5
struct rv_ratelimiter {
	uint64_t key;		/* random per process: slots are not predictable */
	struct {
		uint64_t last_ns;
		uint64_t tokens_ns;	/* credit in ns of packet cost */
	} slot[RV_RATELIMIT_SLOTS];
};
void rv_ratelimiter_init(struct rv_ratelimiter *r);
bool rv_ratelimiter_allow(struct rv_ratelimiter *r, const uint8_t *addr, size_t len, uint64_t now_ns);

struct rv_staged_packet {
	uint16_t len;
	uint8_t *data;
};

struct rv_device;

struct rv_peer {
	struct rv_device *dev;
	struct rv_peer *next_in_list;
	struct rv_peer **pprev_in_list;		/* index.c: what points at this peer */
	struct rv_peer *next_in_hash;		/* index.c: chain of its bucket */
	uint64_t key_hash;			/* index.c: keyed hash of public_key */
	uint8_t public_key[WG_KEY_LEN];
	bool has_preshared_key;

	struct wg_handshake hs;
	struct wg_cookie_maker cookie;
	uint32_t handshake_index;		/* registered index of hs, 0 = none */

	struct wg_keypair *kp_current, *kp_previous, *kp_next;

	pthread_spinlock_t endpoint_lock;
	union rv_endpoint endpoint;		/* sa_family 0: unknown */

	_Atomic uint16_t persistent_keepalive;
	_Atomic uint64_t rx_bytes, tx_bytes;
	_Atomic int64_t last_handshake_realtime_ns;

	/* control timers (control thread, write lock) */
	uint64_t last_initiation_sent_ns;
	unsigned handshake_attempts;
	uint64_t retransmit_deadline_ns;
	uint64_t retransmit_jitter_ns;
	uint64_t new_handshake_jitter_ns;
	bool sent_last_minute_handshake;
	uint64_t zero_keys_deadline_ns;

	/* data-path events (atomics) */
	_Atomic uint64_t new_handshake_armed_ns;
	_Atomic uint64_t keepalive_armed_ns;
	_Atomic uint64_t last_traversal_ns;
	_Atomic bool want_handshake;		/* data path asks the control thread */
	_Atomic bool want_last_minute_handshake;
	_Atomic bool want_flush_staged;

	pthread_mutex_t staged_lock;
	_Atomic unsigned staged_count;
	unsigned staged_head;
	struct rv_staged_packet staged[RV_MAX_STAGED];
};

struct rv_peer *rv_peer_new(struct rv_device *dev, const uint8_t public_key[WG_KEY_LEN]);
/* Wipes keys, frees staged packets. Caller removed it from every table. */
void rv_peer_free(struct rv_peer *peer);

void rv_peer_get_endpoint(struct rv_peer *peer, union rv_endpoint *out);
void rv_peer_set_endpoint(struct rv_peer *peer, const union rv_endpoint *ep);

/* Data-path timer events. */
void rv_peer_event_traversal(struct rv_peer *peer, uint64_t now_ns);
void rv_peer_event_auth_sent(struct rv_peer *peer);
void rv_peer_event_auth_received(struct rv_peer *peer);
void rv_peer_event_data_sent(struct rv_peer *peer, uint64_t now_ns);
void rv_peer_event_data_received(struct rv_peer *peer, uint64_t now_ns);

/* Staged packets: copies len bytes; the oldest is dropped when full. */
void rv_peer_stage(struct rv_peer *peer, const uint8_t *pkt, size_t len);
/* Removes all staged packets into out[] (RV_MAX_STAGED); returns how many. The
 * caller frees each .data. */
unsigned rv_peer_take_staged(struct rv_peer *peer, struct rv_staged_packet *out);
void rv_peer_clear_staged(struct rv_peer *peer);

/* "peer(AbCd…wXyZ)" for logs: base64 of the key, shortened like wireguard-go. */
void rv_peer_name(const struct rv_peer *peer, char out[32]);

uint64_t rv_now_ns(void);	/* CLOCK_MONOTONIC */

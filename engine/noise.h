/* engine/noise.h - Noise_IKpsk2 handshake and transport keypairs (whitepaper 5.4).
 *
 * Owned by engine-protocol. Plain structs, no globals, no allocation.
 *
 * Locking (the caller's duty; nothing here takes a lock except the keypair's
 * receive-window lock):
 *  - struct wg_static_identity is read-mostly: readers (all handshake calls)
 *    under the device's identity read lock, wg_static_identity_set() under its
 *    write lock, followed by wg_handshake_precompute() for every peer.
 *  - struct wg_handshake is per peer: every wg_noise_* call on it is made with
 *    that peer's handshake lock held.
 *  - struct wg_keypair: once wg_noise_begin_session() returned, the keys and
 *    indices are immutable; wg_keypair_take_counter() is atomic;
 *    wg_transport_open() serialises its replay-window update on an internal
 *    spinlock, so any number of threads may seal/open on one keypair.
 *
 * Times are CLOCK_MONOTONIC (or BOOTTIME) nanoseconds passed in by the caller,
 * so tests can drive them; only TAI64N timestamps read the wall clock.
 *
 * Receiving an initiation is two steps because the sender is unknown until its
 * static key is decrypted: wg_noise_consume_initiation_begin() needs only the
 * identity; the caller then finds the peer by wg_initiation_parsed.remote_static,
 * locks its handshake and calls wg_noise_consume_initiation_finish().
 * Check MACs (cookie.h) before any of these: they are the cheap DoS gate.
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "messages.h"
#include "replay.h"

struct wg_static_identity {
	bool has_private_key;
	uint8_t private_key[WG_KEY_LEN];
	uint8_t public_key[WG_KEY_LEN];
	/* HASH(HASH(HASH(CONSTRUCTION) || IDENTIFIER) || our public key): the
	 * responder's initial handshake hash, precomputed. */
	uint8_t initial_hash_as_responder[WG_HASH_LEN];
};

/* Set (private_key non-NULL) or clear (NULL) the interface key. The key is
 * clamped. Returns 0 or -EINVAL. */
int wg_static_identity_set(struct wg_static_identity *id, const uint8_t *private_key);
void wg_static_identity_clear(struct wg_static_identity *id);

enum wg_handshake_state {
	WG_HANDSHAKE_ZEROED = 0,
	WG_HANDSHAKE_CREATED_INITIATION,
	WG_HANDSHAKE_CONSUMED_INITIATION,
	WG_HANDSHAKE_CREATED_RESPONSE,
	WG_HANDSHAKE_CONSUMED_RESPONSE,
};

struct wg_handshake {
	enum wg_handshake_state state;
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t preshared_key[WG_KEY_LEN];           /* all zero when none */
	/* DH(our static private, remote static); valid == false when either key is
	 * missing or the result is a low-order point: handshakes then fail. */
	uint8_t precomputed_static_static[WG_KEY_LEN];
	bool precomputed_valid;
	uint8_t ephemeral_private[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint32_t local_index;                        /* host order */
	uint32_t remote_index;                       /* host order */
	/* Replay and flood protection for received initiations; survive zeroing. */
	uint8_t latest_timestamp[WG_TAI64N_LEN];
	uint64_t last_initiation_consumed_ns;
};

/* Initialise for a peer (remote_static required, psk may be NULL) and precompute. */
void wg_handshake_init(struct wg_handshake *hs, const struct wg_static_identity *id,
                       const uint8_t remote_static[WG_KEY_LEN], const uint8_t *preshared_key);
/* Recompute the static-static DH after the identity changed; drops a handshake in progress. */
void wg_handshake_precompute(struct wg_handshake *hs, const struct wg_static_identity *id);
void wg_handshake_set_preshared_key(struct wg_handshake *hs, const uint8_t *preshared_key);
/* Forget the ephemeral state (not the peer's keys or the timestamp guard). */
void wg_handshake_zero(struct wg_handshake *hs);
/* Wipe everything (peer removal). */
void wg_handshake_wipe(struct wg_handshake *hs);

/* Initiator, step 1: fill msg except mac1/mac2 (cookie.h adds those). local_index
 * is a fresh index the caller has reserved for this handshake. Returns 0,
 * -ENOKEY (no identity / no valid precomputation). */
int wg_noise_create_initiation(struct wg_handshake *hs, const struct wg_static_identity *id,
                               struct wg_msg_initiation *msg, uint32_t local_index);

/* The same with a given TAI64N timestamp instead of the wall clock: a load
 * generator (bench/engine-handshake-load) builds initiations ahead of time
 * with timestamps that grow per peer. */
int wg_noise_create_initiation_at(struct wg_handshake *hs, const struct wg_static_identity *id,
                                  struct wg_msg_initiation *msg, uint32_t local_index,
                                  const uint8_t timestamp[WG_TAI64N_LEN]);

struct wg_initiation_parsed {
	uint8_t remote_static[WG_KEY_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	uint8_t hash[WG_HASH_LEN];
	uint8_t chaining_key[WG_HASH_LEN];
	uint32_t sender_index;                       /* host order */
};

/* Responder, step 1: decrypt the initiator's static key. Returns 0, -ENOKEY (no
 * identity), -EBADMSG (not for us / corrupt). Wipe `out` if not finishing. */
int wg_noise_consume_initiation_begin(const struct wg_static_identity *id,
                                      const struct wg_msg_initiation *msg,
                                      struct wg_initiation_parsed *out);
/* Responder, step 2, under the peer's handshake lock: verify the timestamp and
 * take over the state (state becomes CONSUMED_INITIATION). Returns 0, -ENOKEY,
 * -EBADMSG (wrong peer or authentication), -EALREADY (timestamp not newer:
 * replay), -EBUSY (initiation flood: < 1/50 s since the last one consumed).
 * `parsed` is wiped in all cases. */
int wg_noise_consume_initiation_finish(struct wg_handshake *hs, const struct wg_static_identity *id,
                                       const struct wg_msg_initiation *msg,
                                       struct wg_initiation_parsed *parsed, uint64_t now_ns);

/* Responder, step 3: after CONSUMED_INITIATION. Fills msg except mac1/mac2;
 * state becomes CREATED_RESPONSE. Returns 0, -EINVAL (wrong state), -ENOKEY. */
int wg_noise_create_response(struct wg_handshake *hs, const struct wg_static_identity *id,
                             struct wg_msg_response *msg, uint32_t local_index);

/* Initiator, step 2: the caller found hs by msg->receiver_index. State becomes
 * CONSUMED_RESPONSE. Returns 0, -EINVAL (wrong state or index), -EBADMSG, -ENOKEY. */
int wg_noise_consume_response(struct wg_handshake *hs, const struct wg_static_identity *id,
                              const struct wg_msg_response *msg);

struct wg_keypair {
	uint8_t send_key[WG_KEY_LEN];
	uint8_t receive_key[WG_KEY_LEN];
	uint32_t local_index;                        /* host order: the index peers send to us */
	uint32_t remote_index;                       /* host order: goes into our messages */
	uint64_t created_ns;
	bool is_initiator;
	_Atomic uint64_t send_counter;               /* next counter to use */
	pthread_spinlock_t replay_lock;
	struct wg_replay_window replay;
};

/* Derive transport keys from a finished handshake (CONSUMED_RESPONSE for the
 * initiator, CREATED_RESPONSE for the responder), then zero the handshake.
 * Initialises kp (including its lock). Returns 0 or -EINVAL (wrong state). */
int wg_noise_begin_session(struct wg_handshake *hs, struct wg_keypair *kp, uint64_t now_ns);
/* Wipe keys and destroy the lock. */
void wg_keypair_clear(struct wg_keypair *kp);

/* Reserve the next send counter. Returns 0, or -EKEYEXPIRED once
 * WG_REJECT_AFTER_MESSAGES counters are used. Callers that need per-peer
 * ordering reserve counters in queue order, then seal in parallel. */
int wg_keypair_take_counter(struct wg_keypair *kp, uint64_t *counter);

/* Bytes the plaintext is padded to: plain_len rounded up to WG_MSG_PADDING, but
 * not past mtu (when mtu > 0 and plain_len <= mtu). */
size_t wg_transport_padded_len(size_t plain_len, size_t mtu);

/* Seal in place: buf holds WG_MSG_TRANSPORT_HEADER_LEN bytes of room, then the
 * plaintext (plain_len bytes), then room for padding and the 16-byte tag:
 * capacity >= 16 + padded_len + 16. Writes the header, zero padding, ciphertext
 * and tag. Returns the message length, or -EINVAL (padded_len < plain_len or
 * capacity too small). */
ssize_t wg_transport_seal(const struct wg_keypair *kp, uint64_t counter, uint8_t *buf,
                          size_t plain_len, size_t padded_len, size_t capacity);

/* Open in place a transport message (already classified, receiver index
 * matched to kp). On success the (still padded) plaintext is at
 * buf + WG_MSG_TRANSPORT_HEADER_LEN, its length is returned, *counter_out holds
 * the counter, and the replay window has been updated. Returns -EBADMSG
 * (authentication), -EALREADY (replayed or too old counter: checked before
 * decrypting too, so replays cost no cipher work), -EKEYEXPIRED
 * (counter >= WG_REJECT_AFTER_MESSAGES), -EINVAL (too short). A zero-length
 * result is a keepalive. */
ssize_t wg_transport_open(struct wg_keypair *kp, uint8_t *buf, size_t len, uint64_t *counter_out);

/* wg_transport_open() in two steps, for opening in parallel workers while
 * the window moves in arrival order: decrypt checks the counter against the
 * window without moving it and authenticates/decrypts (same results as
 * open; *counter_out set on success); accept_counter then moves the window,
 * 0 or -EALREADY. Several decrypts may run concurrently for one keypair,
 * but not concurrently with accept_counter (or open) on it: decrypt reads
 * the window without the lock. */
ssize_t wg_transport_decrypt(struct wg_keypair *kp, uint8_t *buf, size_t len, uint64_t *counter_out);
int wg_transport_accept_counter(struct wg_keypair *kp, uint64_t counter);

/* engine/cookie.h - mac1/mac2 and cookie replies (whitepaper 5.3, 5.4.4, 5.4.7).
 *
 * Owned by engine-protocol. Two sides:
 *  - struct wg_cookie_checker (one per device) verifies the macs of handshake
 *    messages sent to us and makes cookie replies when under load. Its
 *    rotating secret is protected by an internal lock; everything else in it
 *    changes only in wg_cookie_checker_set_identity(), which the caller runs
 *    under the device's identity write lock. Any thread may call check/reply.
 *  - struct wg_cookie_maker (one per peer) adds the macs to handshake messages
 *    we send to that peer and keeps the cookie it sent us. Calls are made under
 *    the peer's handshake lock (the same lock as noise.h).
 * Handshake messages are struct wg_msg_initiation or wg_msg_response given as
 * bytes + length (148 or 92); mac1 covers the bytes before mac1, mac2 those
 * before mac2. `source` is the sender's address as bytes (IPv4: 4 address
 * bytes + 2 port bytes; IPv6: 16 + 2; any stable encoding works, the cookie is
 * only checked by its maker).
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

struct wg_cookie_checker {
	uint8_t mac1_key[WG_HASH_LEN];               /* HASH("mac1----" || our public key) */
	uint8_t cookie_encryption_key[WG_HASH_LEN];  /* HASH("cookie--" || our public key) */
	bool has_identity;
	pthread_rwlock_t secret_lock;
	uint8_t secret[WG_HASH_LEN];
	uint64_t secret_birth_ns;
	bool secret_valid;
};

void wg_cookie_checker_init(struct wg_cookie_checker *c);
void wg_cookie_checker_destroy(struct wg_cookie_checker *c);
/* public_key NULL: no identity, every message fails mac1. */
void wg_cookie_checker_set_identity(struct wg_cookie_checker *c, const uint8_t *public_key);

enum wg_mac_state {
	WG_MAC_INVALID = 0,          /* drop silently */
	WG_MAC1_VALID_NO_COOKIE,     /* fine when not under load; else send a cookie reply */
	WG_MAC1_VALID_COOKIE_VALID,  /* mac2 matched our current cookie for source */
};

/* check_mac2: false when not under load (mac2 is then not computed). */
enum wg_mac_state wg_cookie_check(struct wg_cookie_checker *c, const uint8_t *msg, size_t len,
                                  const uint8_t *source, size_t source_len,
                                  bool check_mac2, uint64_t now_ns);

/* Build a cookie reply to a handshake message that passed mac1 (`msg`, `len`).
 * Returns 0, -EINVAL (not a handshake message), -ENOKEY (no identity). */
int wg_cookie_create_reply(struct wg_cookie_checker *c, struct wg_msg_cookie_reply *reply,
                           const uint8_t *msg, size_t len,
                           const uint8_t *source, size_t source_len, uint64_t now_ns);

struct wg_cookie_maker {
	uint8_t mac1_key[WG_HASH_LEN];               /* HASH("mac1----" || peer public key) */
	uint8_t cookie_decryption_key[WG_HASH_LEN];  /* HASH("cookie--" || peer public key) */
	uint8_t cookie[WG_COOKIE_LEN];
	uint64_t cookie_birth_ns;
	bool have_cookie;
	uint8_t last_mac1_sent[WG_MAC_LEN];
	bool have_sent_mac1;
};

void wg_cookie_maker_init(struct wg_cookie_maker *m, const uint8_t peer_public_key[WG_KEY_LEN]);
void wg_cookie_maker_wipe(struct wg_cookie_maker *m);

/* Fill mac1 and mac2 (zero unless a cookie younger than WG_COOKIE_MAX_AGE is
 * held) of an outgoing handshake message and remember mac1 for the reply. */
void wg_cookie_add_macs(struct wg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns);

/* Take a cookie reply whose receiver index named this peer's handshake.
 * Returns 0, -EINVAL (we sent no mac1 to answer), -EBADMSG (authentication). */
int wg_cookie_consume_reply(struct wg_cookie_maker *m, const struct wg_msg_cookie_reply *reply,
                            uint64_t now_ns);

/* engine/cookie.c - mac1/mac2 on handshake messages and cookie replies.
 *
 * Owned by engine-protocol. mac1 proves the sender knows our public key and is
 * checked before any public-key operation; mac2 is only demanded under load
 * and proves the sender can receive at its source address (whitepaper 5.3).
 */
#include "cookie.h"

#include <errno.h>
#include <string.h>

#include "crypto.h"

static const char label_mac1[] = "mac1----";
static const char label_cookie[] = "cookie--";

static void derive_keys(uint8_t mac1_key[WG_HASH_LEN], uint8_t cookie_key[WG_HASH_LEN],
                        const uint8_t public_key[WG_KEY_LEN])
{
	wg_blake2s256(mac1_key, label_mac1, strlen(label_mac1), public_key, WG_KEY_LEN);
	wg_blake2s256(cookie_key, label_cookie, strlen(label_cookie), public_key, WG_KEY_LEN);
}

static bool is_handshake_length(const uint8_t *msg, size_t len)
{
	if (!msg || len < sizeof(struct wg_msg_header))
		return false;
	return (msg[0] == WG_MSG_INITIATION && len == WG_MSG_INITIATION_LEN) ||
	       (msg[0] == WG_MSG_RESPONSE && len == WG_MSG_RESPONSE_LEN);
}

/* Offsets of mac1/mac2: the macs are the last 32 bytes of both handshake messages. */
#define MAC1_OFFSET(len) ((len) - sizeof(struct wg_msg_macs))
#define MAC2_OFFSET(len) ((len) - WG_MAC_LEN)

void wg_cookie_checker_init(struct wg_cookie_checker *c)
{
	memset(c, 0, sizeof(*c));
	pthread_rwlock_init(&c->secret_lock, NULL);
}

void wg_cookie_checker_destroy(struct wg_cookie_checker *c)
{
	pthread_rwlock_destroy(&c->secret_lock);
	wg_crypto_wipe(c, sizeof(*c));
}

void wg_cookie_checker_set_identity(struct wg_cookie_checker *c, const uint8_t *public_key)
{
	if (public_key) {
		derive_keys(c->mac1_key, c->cookie_encryption_key, public_key);
		c->has_identity = true;
	} else {
		wg_crypto_wipe(c->mac1_key, sizeof(c->mac1_key));
		wg_crypto_wipe(c->cookie_encryption_key, sizeof(c->cookie_encryption_key));
		c->has_identity = false;
	}
}

static bool secret_fresh(const struct wg_cookie_checker *c, uint64_t now_ns)
{
	return c->secret_valid &&
	       now_ns - c->secret_birth_ns < (uint64_t)WG_COOKIE_SECRET_MAX_AGE * WG_NSEC_PER_SEC;
}

/* cookie := MAC(secret, source); false if the secret expired (and !rotate). */
static bool compute_cookie(struct wg_cookie_checker *c, uint8_t cookie[WG_COOKIE_LEN],
                           const uint8_t *source, size_t source_len, uint64_t now_ns, bool rotate)
{
	bool ok;

	pthread_rwlock_rdlock(&c->secret_lock);
	ok = secret_fresh(c, now_ns);
	if (ok)
		wg_blake2s_mac16(cookie, c->secret, WG_HASH_LEN, source, source_len);
	pthread_rwlock_unlock(&c->secret_lock);
	if (ok || !rotate)
		return ok;

	pthread_rwlock_wrlock(&c->secret_lock);
	if (!secret_fresh(c, now_ns)) {
		wg_crypto_random(c->secret, WG_HASH_LEN);
		c->secret_birth_ns = now_ns;
		c->secret_valid = true;
	}
	wg_blake2s_mac16(cookie, c->secret, WG_HASH_LEN, source, source_len);
	pthread_rwlock_unlock(&c->secret_lock);
	return true;
}

enum wg_mac_state wg_cookie_check(struct wg_cookie_checker *c, const uint8_t *msg, size_t len,
                                  const uint8_t *source, size_t source_len,
                                  bool check_mac2, uint64_t now_ns)
{
	uint8_t expected[WG_MAC_LEN], cookie[WG_COOKIE_LEN];
	enum wg_mac_state state = WG_MAC_INVALID;

	if (!c->has_identity || !is_handshake_length(msg, len))
		return WG_MAC_INVALID;
	wg_blake2s_mac16(expected, c->mac1_key, WG_HASH_LEN, msg, MAC1_OFFSET(len));
	if (!wg_crypto_equal(expected, msg + MAC1_OFFSET(len), WG_MAC_LEN))
		return WG_MAC_INVALID;
	state = WG_MAC1_VALID_NO_COOKIE;
	if (!check_mac2 || !compute_cookie(c, cookie, source, source_len, now_ns, false))
		return state;
	wg_blake2s_mac16(expected, cookie, WG_COOKIE_LEN, msg, MAC2_OFFSET(len));
	if (wg_crypto_equal(expected, msg + MAC2_OFFSET(len), WG_MAC_LEN))
		state = WG_MAC1_VALID_COOKIE_VALID;
	wg_crypto_wipe(cookie, sizeof(cookie));
	return state;
}

int wg_cookie_create_reply(struct wg_cookie_checker *c, struct wg_msg_cookie_reply *reply,
                           const uint8_t *msg, size_t len,
                           const uint8_t *source, size_t source_len, uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];

	if (!is_handshake_length(msg, len))
		return -EINVAL;
	if (!c->has_identity)
		return -ENOKEY;
	memset(reply, 0, sizeof(*reply));
	reply->header.type = WG_MSG_COOKIE_REPLY;
	/* Both handshake messages carry their sender index right after the header. */
	memcpy(&reply->receiver_index, msg + offsetof(struct wg_msg_initiation, sender_index),
	       sizeof(reply->receiver_index));
	compute_cookie(c, cookie, source, source_len, now_ns, true);
	wg_crypto_random(reply->nonce, sizeof(reply->nonce));
	wg_xaead_seal(reply->encrypted_cookie, cookie, WG_COOKIE_LEN,
	              msg + MAC1_OFFSET(len), WG_MAC_LEN, reply->nonce, c->cookie_encryption_key);
	wg_crypto_wipe(cookie, sizeof(cookie));
	return 0;
}

void wg_cookie_maker_init(struct wg_cookie_maker *m, const uint8_t peer_public_key[WG_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	derive_keys(m->mac1_key, m->cookie_decryption_key, peer_public_key);
}

void wg_cookie_maker_wipe(struct wg_cookie_maker *m)
{
	wg_crypto_wipe(m, sizeof(*m));
}

void wg_cookie_add_macs(struct wg_cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ns)
{
	if (!is_handshake_length(msg, len))
		return;
	wg_blake2s_mac16(msg + MAC1_OFFSET(len), m->mac1_key, WG_HASH_LEN, msg, MAC1_OFFSET(len));
	memcpy(m->last_mac1_sent, msg + MAC1_OFFSET(len), WG_MAC_LEN);
	m->have_sent_mac1 = true;
	if (m->have_cookie &&
	    now_ns - m->cookie_birth_ns < (uint64_t)WG_COOKIE_MAX_AGE * WG_NSEC_PER_SEC)
		wg_blake2s_mac16(msg + MAC2_OFFSET(len), m->cookie, WG_COOKIE_LEN, msg, MAC2_OFFSET(len));
	else
		memset(msg + MAC2_OFFSET(len), 0, WG_MAC_LEN);
}

int wg_cookie_consume_reply(struct wg_cookie_maker *m, const struct wg_msg_cookie_reply *reply,
                            uint64_t now_ns)
{
	uint8_t cookie[WG_COOKIE_LEN];

	if (!m->have_sent_mac1)
		return -EINVAL;
	if (wg_xaead_open(cookie, reply->encrypted_cookie, sizeof(reply->encrypted_cookie),
	                  m->last_mac1_sent, WG_MAC_LEN, reply->nonce, m->cookie_decryption_key) != 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, WG_COOKIE_LEN);
	m->cookie_birth_ns = now_ns;
	m->have_cookie = true;
	/* One reply per message sent: a second copy cannot refresh the cookie. */
	m->have_sent_mac1 = false;
	wg_crypto_wipe(cookie, sizeof(cookie));
	return 0;
}

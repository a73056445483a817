/* engine/noise.c - Noise_IKpsk2 handshake messages, session keys and transport AEAD.
 *
 * Owned by engine-protocol. Follows the message construction of the WireGuard
 * whitepaper section 5.4 step by step; each handshake step works on local
 * copies of the hash and chaining key and commits them to the handshake only
 * when the whole message authenticated, so a bad packet never disturbs a
 * handshake in progress.
 */
#include "noise.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "crypto.h"

static const char noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char wg_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/* Chaining key and hash before the responder's static key is mixed in. */
static void initial_chaining_key_and_hash(uint8_t ck[WG_HASH_LEN], uint8_t h[WG_HASH_LEN])
{
	wg_blake2s256(ck, noise_construction, strlen(noise_construction), NULL, 0);
	wg_blake2s256(h, ck, WG_HASH_LEN, wg_identifier, strlen(wg_identifier));
}

static void mix_hash(uint8_t h[WG_HASH_LEN], const void *data, size_t len)
{
	wg_blake2s256(h, h, WG_HASH_LEN, data, len);
}

/* (ck, key) := KDF2(ck, DH(private, public)); fails on a low-order point. */
static int mix_dh(uint8_t ck[WG_HASH_LEN], uint8_t *key,
                  const uint8_t private_key[WG_KEY_LEN], const uint8_t public_key[WG_KEY_LEN])
{
	uint8_t shared[WG_KEY_LEN];
	int r = wg_x25519(shared, private_key, public_key);

	if (r == 0)
		wg_kdf(ck, key, NULL, ck, shared, sizeof(shared));
	wg_crypto_wipe(shared, sizeof(shared));
	return r;
}

int wg_static_identity_set(struct wg_static_identity *id, const uint8_t *private_key)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN];

	wg_static_identity_clear(id);
	if (!private_key)
		return 0;
	memcpy(id->private_key, private_key, WG_KEY_LEN);
	wg_x25519_clamp(id->private_key);
	if (wg_x25519_public(id->public_key, id->private_key) != 0) {
		wg_static_identity_clear(id);
		return -EINVAL;
	}
	initial_chaining_key_and_hash(ck, h);
	wg_blake2s256(id->initial_hash_as_responder, h, WG_HASH_LEN, id->public_key, WG_KEY_LEN);
	id->has_private_key = true;
	return 0;
}

void wg_static_identity_clear(struct wg_static_identity *id)
{
	wg_crypto_wipe(id, sizeof(*id));
}

void wg_handshake_zero(struct wg_handshake *hs)
{
	wg_crypto_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	wg_crypto_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	wg_crypto_wipe(hs->hash, sizeof(hs->hash));
	wg_crypto_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->local_index = 0;
	hs->remote_index = 0;
	hs->state = WG_HANDSHAKE_ZEROED;
}

void wg_handshake_wipe(struct wg_handshake *hs)
{
	wg_crypto_wipe(hs, sizeof(*hs));
}

void wg_handshake_precompute(struct wg_handshake *hs, const struct wg_static_identity *id)
{
	wg_handshake_zero(hs);
	hs->precomputed_valid = id->has_private_key &&
		wg_x25519(hs->precomputed_static_static, id->private_key, hs->remote_static) == 0;
	if (!hs->precomputed_valid)
		wg_crypto_wipe(hs->precomputed_static_static, WG_KEY_LEN);
}

void wg_handshake_set_preshared_key(struct wg_handshake *hs, const uint8_t *preshared_key)
{
	if (preshared_key)
		memcpy(hs->preshared_key, preshared_key, WG_KEY_LEN);
	else
		wg_crypto_wipe(hs->preshared_key, WG_KEY_LEN);
}

void wg_handshake_init(struct wg_handshake *hs, const struct wg_static_identity *id,
                       const uint8_t remote_static[WG_KEY_LEN], const uint8_t *preshared_key)
{
	wg_handshake_wipe(hs);
	memcpy(hs->remote_static, remote_static, WG_KEY_LEN);
	wg_handshake_set_preshared_key(hs, preshared_key);
	wg_handshake_precompute(hs, id);
}

int wg_noise_create_initiation(struct wg_handshake *hs, const struct wg_static_identity *id,
                               struct wg_msg_initiation *msg, uint32_t local_index)
{
	uint8_t timestamp[WG_TAI64N_LEN];

	wg_tai64n_now(timestamp);
	return wg_noise_create_initiation_at(hs, id, msg, local_index, timestamp);
}

int wg_noise_create_initiation_at(struct wg_handshake *hs, const struct wg_static_identity *id,
                                  struct wg_msg_initiation *msg, uint32_t local_index,
                                  const uint8_t timestamp[WG_TAI64N_LEN])
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[WG_KEY_LEN];
	uint8_t ephemeral_private[WG_KEY_LEN];
	int r = -ENOKEY;

	if (!id->has_private_key || !hs->precomputed_valid)
		return -ENOKEY;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = WG_MSG_INITIATION;
	msg->sender_index = htole32(local_index);

	initial_chaining_key_and_hash(ck, h);
	mix_hash(h, hs->remote_static, WG_KEY_LEN);
	wg_x25519_generate(ephemeral_private, msg->unencrypted_ephemeral);
	wg_kdf(ck, NULL, NULL, ck, msg->unencrypted_ephemeral, WG_KEY_LEN);
	mix_hash(h, msg->unencrypted_ephemeral, WG_KEY_LEN);
	if (mix_dh(ck, key, ephemeral_private, hs->remote_static) != 0)
		goto out;
	wg_aead_seal(msg->encrypted_static, id->public_key, WG_KEY_LEN, h, WG_HASH_LEN, 0, key);
	mix_hash(h, msg->encrypted_static, sizeof(msg->encrypted_static));
	wg_kdf(ck, key, NULL, ck, hs->precomputed_static_static, WG_KEY_LEN);
	wg_aead_seal(msg->encrypted_timestamp, timestamp, WG_TAI64N_LEN, h, WG_HASH_LEN, 0, key);
	mix_hash(h, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp));

	memcpy(hs->ephemeral_private, ephemeral_private, WG_KEY_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->local_index = local_index;
	hs->remote_index = 0;
	hs->state = WG_HANDSHAKE_CREATED_INITIATION;
	r = 0;
out:
	wg_crypto_wipe(ck, sizeof(ck));
	wg_crypto_wipe(h, sizeof(h));
	wg_crypto_wipe(key, sizeof(key));
	wg_crypto_wipe(ephemeral_private, sizeof(ephemeral_private));
	return r;
}

int wg_noise_consume_initiation_begin(const struct wg_static_identity *id,
                                      const struct wg_msg_initiation *msg,
                                      struct wg_initiation_parsed *out)
{
	uint8_t key[WG_KEY_LEN];
	int r = -EBADMSG;

	memset(out, 0, sizeof(*out));
	if (!id->has_private_key)
		return -ENOKEY;
	if (msg->header.type != WG_MSG_INITIATION)
		return -EBADMSG;
	initial_chaining_key_and_hash(out->chaining_key, out->hash);
	memcpy(out->hash, id->initial_hash_as_responder, WG_HASH_LEN);
	memcpy(out->remote_ephemeral, msg->unencrypted_ephemeral, WG_KEY_LEN);
	wg_kdf(out->chaining_key, NULL, NULL, out->chaining_key, out->remote_ephemeral, WG_KEY_LEN);
	mix_hash(out->hash, out->remote_ephemeral, WG_KEY_LEN);
	if (mix_dh(out->chaining_key, key, id->private_key, out->remote_ephemeral) != 0)
		goto out;
	if (wg_aead_open(out->remote_static, msg->encrypted_static, sizeof(msg->encrypted_static),
	                 out->hash, WG_HASH_LEN, 0, key) != 0)
		goto out;
	mix_hash(out->hash, msg->encrypted_static, sizeof(msg->encrypted_static));
	out->sender_index = le32toh(msg->sender_index);
	r = 0;
out:
	wg_crypto_wipe(key, sizeof(key));
	if (r != 0)
		wg_crypto_wipe(out, sizeof(*out));
	return r;
}

int wg_noise_consume_initiation_finish(struct wg_handshake *hs, const struct wg_static_identity *id,
                                       const struct wg_msg_initiation *msg,
                                       struct wg_initiation_parsed *parsed, uint64_t now_ns)
{
	uint8_t key[WG_KEY_LEN], timestamp[WG_TAI64N_LEN];
	bool flood;
	int r = -EBADMSG;

	if (!id->has_private_key || !hs->precomputed_valid) {
		r = -ENOKEY;
		goto out;
	}
	if (!wg_crypto_equal(parsed->remote_static, hs->remote_static, WG_KEY_LEN))
		goto out;
	wg_kdf(parsed->chaining_key, key, NULL, parsed->chaining_key,
	       hs->precomputed_static_static, WG_KEY_LEN);
	if (wg_aead_open(timestamp, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp),
	                 parsed->hash, WG_HASH_LEN, 0, key) != 0)
		goto out;
	mix_hash(parsed->hash, msg->encrypted_timestamp, sizeof(msg->encrypted_timestamp));

	/* TAI64N is big-endian, so byte order is time order. */
	if (memcmp(timestamp, hs->latest_timestamp, WG_TAI64N_LEN) <= 0) {
		r = -EALREADY;
		goto out;
	}
	flood = hs->last_initiation_consumed_ns != 0 &&
		now_ns - hs->last_initiation_consumed_ns < WG_NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND;
	if (flood) {
		r = -EBUSY;
		goto out;
	}

	memcpy(hs->latest_timestamp, timestamp, WG_TAI64N_LEN);
	hs->last_initiation_consumed_ns = now_ns ? now_ns : 1;
	wg_crypto_wipe(hs->ephemeral_private, WG_KEY_LEN);
	memcpy(hs->remote_ephemeral, parsed->remote_ephemeral, WG_KEY_LEN);
	memcpy(hs->hash, parsed->hash, WG_HASH_LEN);
	memcpy(hs->chaining_key, parsed->chaining_key, WG_HASH_LEN);
	hs->remote_index = parsed->sender_index;
	hs->local_index = 0;
	hs->state = WG_HANDSHAKE_CONSUMED_INITIATION;
	r = 0;
out:
	wg_crypto_wipe(key, sizeof(key));
	wg_crypto_wipe(parsed, sizeof(*parsed));
	return r;
}

int wg_noise_create_response(struct wg_handshake *hs, const struct wg_static_identity *id,
                             struct wg_msg_response *msg, uint32_t local_index)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[WG_KEY_LEN], tau[WG_HASH_LEN];
	uint8_t ephemeral_private[WG_KEY_LEN];
	int r = -ENOKEY;

	if (hs->state != WG_HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;
	if (!id->has_private_key || !hs->precomputed_valid)
		return -ENOKEY;
	memset(msg, 0, sizeof(*msg));
	msg->header.type = WG_MSG_RESPONSE;
	msg->sender_index = htole32(local_index);
	msg->receiver_index = htole32(hs->remote_index);
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(h, hs->hash, WG_HASH_LEN);

	wg_x25519_generate(ephemeral_private, msg->unencrypted_ephemeral);
	wg_kdf(ck, NULL, NULL, ck, msg->unencrypted_ephemeral, WG_KEY_LEN);
	mix_hash(h, msg->unencrypted_ephemeral, WG_KEY_LEN);
	if (mix_dh(ck, NULL, ephemeral_private, hs->remote_ephemeral) != 0 ||
	    mix_dh(ck, NULL, ephemeral_private, hs->remote_static) != 0)
		goto out;
	wg_kdf(ck, tau, key, ck, hs->preshared_key, WG_KEY_LEN);
	mix_hash(h, tau, WG_HASH_LEN);
	wg_aead_seal(msg->encrypted_nothing, NULL, 0, h, WG_HASH_LEN, 0, key);
	mix_hash(h, msg->encrypted_nothing, sizeof(msg->encrypted_nothing));

	memcpy(hs->ephemeral_private, ephemeral_private, WG_KEY_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->local_index = local_index;
	hs->state = WG_HANDSHAKE_CREATED_RESPONSE;
	r = 0;
out:
	if (r != 0)
		wg_handshake_zero(hs);
	wg_crypto_wipe(ck, sizeof(ck));
	wg_crypto_wipe(h, sizeof(h));
	wg_crypto_wipe(key, sizeof(key));
	wg_crypto_wipe(tau, sizeof(tau));
	wg_crypto_wipe(ephemeral_private, sizeof(ephemeral_private));
	return r;
}

int wg_noise_consume_response(struct wg_handshake *hs, const struct wg_static_identity *id,
                              const struct wg_msg_response *msg)
{
	uint8_t ck[WG_HASH_LEN], h[WG_HASH_LEN], key[WG_KEY_LEN], tau[WG_HASH_LEN];
	uint8_t remote_ephemeral[WG_KEY_LEN];
	int r = -EBADMSG;

	if (hs->state != WG_HANDSHAKE_CREATED_INITIATION || msg->header.type != WG_MSG_RESPONSE ||
	    le32toh(msg->receiver_index) != hs->local_index)
		return -EINVAL;
	if (!id->has_private_key || !hs->precomputed_valid)
		return -ENOKEY;
	memcpy(ck, hs->chaining_key, WG_HASH_LEN);
	memcpy(h, hs->hash, WG_HASH_LEN);
	memcpy(remote_ephemeral, msg->unencrypted_ephemeral, WG_KEY_LEN);

	wg_kdf(ck, NULL, NULL, ck, remote_ephemeral, WG_KEY_LEN);
	mix_hash(h, remote_ephemeral, WG_KEY_LEN);
	if (mix_dh(ck, NULL, hs->ephemeral_private, remote_ephemeral) != 0 ||
	    mix_dh(ck, NULL, id->private_key, remote_ephemeral) != 0)
		goto out;
	wg_kdf(ck, tau, key, ck, hs->preshared_key, WG_KEY_LEN);
	mix_hash(h, tau, WG_HASH_LEN);
	if (wg_aead_open(NULL, msg->encrypted_nothing, sizeof(msg->encrypted_nothing),
	                 h, WG_HASH_LEN, 0, key) != 0)
		goto out;
	mix_hash(h, msg->encrypted_nothing, sizeof(msg->encrypted_nothing));

	memcpy(hs->remote_ephemeral, remote_ephemeral, WG_KEY_LEN);
	memcpy(hs->hash, h, WG_HASH_LEN);
	memcpy(hs->chaining_key, ck, WG_HASH_LEN);
	hs->remote_index = le32toh(msg->sender_index);
	hs->state = WG_HANDSHAKE_CONSUMED_RESPONSE;
	r = 0;
out:
	wg_crypto_wipe(ck, sizeof(ck));
	wg_crypto_wipe(h, sizeof(h));
	wg_crypto_wipe(key, sizeof(key));
	wg_crypto_wipe(tau, sizeof(tau));
	return r;
}

int wg_noise_begin_session(struct wg_handshake *hs, struct wg_keypair *kp, uint64_t now_ns)
{
	bool initiator;

	if (hs->state == WG_HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == WG_HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return -EINVAL;
	memset(kp, 0, sizeof(*kp));
	/* The initiator sends with the first key, the responder receives with it. */
	if (initiator)
		wg_kdf(kp->send_key, kp->receive_key, NULL, hs->chaining_key, NULL, 0);
	else
		wg_kdf(kp->receive_key, kp->send_key, NULL, hs->chaining_key, NULL, 0);
	kp->local_index = hs->local_index;
	kp->remote_index = hs->remote_index;
	kp->created_ns = now_ns;
	kp->is_initiator = initiator;
	atomic_init(&kp->send_counter, 0);
	pthread_spin_init(&kp->replay_lock, PTHREAD_PROCESS_PRIVATE);
	wg_replay_init(&kp->replay);
	wg_handshake_zero(hs);
	return 0;
}

void wg_keypair_clear(struct wg_keypair *kp)
{
	pthread_spin_destroy(&kp->replay_lock);
	wg_crypto_wipe(kp, sizeof(*kp));
}

int wg_keypair_take_counter(struct wg_keypair *kp, uint64_t *counter)
{
	uint64_t c = atomic_fetch_add_explicit(&kp->send_counter, 1, memory_order_relaxed);

	if (c >= WG_REJECT_AFTER_MESSAGES) {
		/* Keep the counter pinned so it can never wrap back to reuse a nonce. */
		atomic_store_explicit(&kp->send_counter, WG_REJECT_AFTER_MESSAGES, memory_order_relaxed);
		return -EKEYEXPIRED;
	}
	*counter = c;
	return 0;
}

size_t wg_transport_padded_len(size_t plain_len, size_t mtu)
{
	size_t padded = (plain_len + WG_MSG_PADDING - 1) & ~(size_t)(WG_MSG_PADDING - 1);

	if (mtu > 0 && plain_len <= mtu && padded > mtu)
		padded = mtu;
	return padded;
}

ssize_t wg_transport_seal(const struct wg_keypair *kp, uint64_t counter, uint8_t *buf,
                          size_t plain_len, size_t padded_len, size_t capacity)
{
	struct wg_msg_transport header = {
		.header = { .type = WG_MSG_TRANSPORT },
		.receiver_index = htole32(kp->remote_index),
		.counter = htole64(counter),
	};
	uint8_t *payload = buf + WG_MSG_TRANSPORT_HEADER_LEN;

	if (padded_len < plain_len || padded_len > SSIZE_MAX - WG_MSG_TRANSPORT_OVERHEAD ||
	    capacity < padded_len + WG_MSG_TRANSPORT_OVERHEAD)
		return -EINVAL;
	memcpy(buf, &header, sizeof(header));
	memset(payload + plain_len, 0, padded_len - plain_len);
	wg_aead_seal(payload, payload, padded_len, NULL, 0, counter, kp->send_key);
	return (ssize_t)(padded_len + WG_MSG_TRANSPORT_OVERHEAD);
}

static ssize_t transport_decrypt(struct wg_keypair *kp, uint8_t *buf, size_t len, uint64_t *counter_out,
				 bool lock)
{
	uint64_t counter_le, counter;
	uint8_t *payload = buf + WG_MSG_TRANSPORT_HEADER_LEN;
	bool fresh;

	if (len < WG_MSG_TRANSPORT_MIN_LEN || buf[0] != WG_MSG_TRANSPORT)
		return -EINVAL;
	memcpy(&counter_le, buf + offsetof(struct wg_msg_transport, counter), sizeof(counter_le));
	counter = le64toh(counter_le);
	if (counter >= WG_REJECT_AFTER_MESSAGES)
		return -EKEYEXPIRED;
	/* A replayed packet (or a flood of copies) costs a lookup, not a decryption.
	 * wg_transport_decrypt() takes no lock: the window only moves in
	 * wg_transport_accept_counter(), which its callers never run at the same
	 * time (receive.c: after the workers are done). */
	if (lock)
		pthread_spin_lock(&kp->replay_lock);
	fresh = wg_replay_would_accept(&kp->replay, counter, WG_REJECT_AFTER_MESSAGES);
	if (lock)
		pthread_spin_unlock(&kp->replay_lock);
	if (!fresh)
		return -EALREADY;
	if (wg_aead_open(payload, payload, len - WG_MSG_TRANSPORT_HEADER_LEN, NULL, 0,
	                 counter, kp->receive_key) != 0)
		return -EBADMSG;
	*counter_out = counter;
	return (ssize_t)(len - WG_MSG_TRANSPORT_OVERHEAD);
}

ssize_t wg_transport_decrypt(struct wg_keypair *kp, uint8_t *buf, size_t len, uint64_t *counter_out)
{
	return transport_decrypt(kp, buf, len, counter_out, false);
}

int wg_transport_accept_counter(struct wg_keypair *kp, uint64_t counter)
{
	bool fresh;

	/* Only an authenticated counter may move the window. */
	pthread_spin_lock(&kp->replay_lock);
	fresh = wg_replay_check_and_update(&kp->replay, counter, WG_REJECT_AFTER_MESSAGES);
	pthread_spin_unlock(&kp->replay_lock);
	return fresh ? 0 : -EALREADY;
}

ssize_t wg_transport_open(struct wg_keypair *kp, uint8_t *buf, size_t len, uint64_t *counter_out)
{
	uint64_t counter;
	ssize_t n = transport_decrypt(kp, buf, len, &counter, true);

	if (n < 0)
		return n;
	if (wg_transport_accept_counter(kp, counter) < 0)
		return -EALREADY;
	if (counter_out)
		*counter_out = counter;
	return n;
}

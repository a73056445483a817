/* tests/unit/test-wg-noise.c - Noise_IKpsk2 handshake, session keys and transport.
 *
 * Two wg_handshake instances talk to each other through the wire structs:
 * a full handshake in both roles, transport both ways, and every way a
 * message can be wrong (other peer, replay, flood, tampering, truncation).
 * The check against wireguard-go itself is test-wg-interop.c.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

#define SEC WG_NSEC_PER_SEC

struct side {
	struct wg_static_identity id;
	struct wg_handshake hs;          /* this side's view of the other */
	struct wg_keypair kp;
};

static void make_pair(struct side *a, struct side *b, bool with_psk)
{
	uint8_t priv_a[32], priv_b[32], pub[32], psk[32];

	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	wg_x25519_generate(priv_a, pub);
	wg_x25519_generate(priv_b, pub);
	wg_crypto_random(psk, sizeof(psk));
	g_assert_cmpint(wg_static_identity_set(&a->id, priv_a), ==, 0);
	g_assert_cmpint(wg_static_identity_set(&b->id, priv_b), ==, 0);
	wg_handshake_init(&a->hs, &a->id, b->id.public_key, with_psk ? psk : NULL);
	wg_handshake_init(&b->hs, &b->id, a->id.public_key, with_psk ? psk : NULL);
	g_assert_true(a->hs.precomputed_valid);
	g_assert_true(b->hs.precomputed_valid);
}

/* Full handshake, a initiates. */
static void handshake(struct side *a, struct side *b, uint64_t now)
{
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;

	g_assert_cmpint(wg_noise_create_initiation(&a->hs, &a->id, &init, 0x11111111), ==, 0);
	g_assert_cmpint(a->hs.state, ==, WG_HANDSHAKE_CREATED_INITIATION);
	g_assert_cmpint(wg_msg_classify((uint8_t *)&init, sizeof(init)), ==, WG_MSG_INITIATION);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b->id, &init, &parsed), ==, 0);
	g_assert_cmpmem(parsed.remote_static, 32, a->id.public_key, 32);
	g_assert_cmpuint(parsed.sender_index, ==, 0x11111111);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b->hs, &b->id, &init, &parsed, now), ==, 0);
	g_assert_cmpint(b->hs.state, ==, WG_HANDSHAKE_CONSUMED_INITIATION);
	g_assert_cmpint(wg_noise_create_response(&b->hs, &b->id, &resp, 0x22222222), ==, 0);
	g_assert_cmpuint(wg_msg_receiver_index((uint8_t *)&resp), ==, 0x11111111);
	g_assert_cmpint(wg_noise_consume_response(&a->hs, &a->id, &resp), ==, 0);
	g_assert_cmpint(wg_noise_begin_session(&a->hs, &a->kp, now), ==, 0);
	g_assert_cmpint(wg_noise_begin_session(&b->hs, &b->kp, now), ==, 0);
	g_assert_cmpint(a->hs.state, ==, WG_HANDSHAKE_ZEROED);
	g_assert_cmpint(b->hs.state, ==, WG_HANDSHAKE_ZEROED);
}

static void assert_transport(struct wg_keypair *from, struct wg_keypair *to, const char *text)
{
	uint8_t buf[256];
	size_t len = strlen(text), padded = wg_transport_padded_len(len, 1420);
	uint64_t counter, got_counter = 0;
	ssize_t n;

	memcpy(buf + WG_MSG_TRANSPORT_HEADER_LEN, text, len);
	g_assert_cmpint(wg_keypair_take_counter(from, &counter), ==, 0);
	n = wg_transport_seal(from, counter, buf, len, padded, sizeof(buf));
	g_assert_cmpint(n, ==, (ssize_t)(padded + 32));
	g_assert_cmpint(wg_msg_classify(buf, (size_t)n), ==, WG_MSG_TRANSPORT);
	g_assert_cmpuint(wg_msg_receiver_index(buf), ==, to->local_index);
	g_assert_cmpint(wg_transport_open(to, buf, (size_t)n, &got_counter), ==, (ssize_t)padded);
	g_assert_cmpuint(got_counter, ==, counter);
	g_assert_cmpmem(buf + WG_MSG_TRANSPORT_HEADER_LEN, len, text, len);
}

static void test_handshake_roundtrip(void)
{
	struct side a, b;

	for (int psk = 0; psk < 2; psk++) {
		make_pair(&a, &b, psk);
		handshake(&a, &b, 1 * SEC);
		g_assert_true(a.kp.is_initiator);
		g_assert_false(b.kp.is_initiator);
		g_assert_cmpmem(a.kp.send_key, 32, b.kp.receive_key, 32);
		g_assert_cmpmem(a.kp.receive_key, 32, b.kp.send_key, 32);
		g_assert_cmpuint(a.kp.local_index, ==, 0x11111111);
		g_assert_cmpuint(a.kp.remote_index, ==, 0x22222222);
		g_assert_cmpuint(b.kp.local_index, ==, 0x22222222);
		g_assert_cmpuint(b.kp.remote_index, ==, 0x11111111);
		assert_transport(&a.kp, &b.kp, "ping from the initiator");
		assert_transport(&b.kp, &a.kp, "pong from the responder, a bit longer");
		assert_transport(&a.kp, &b.kp, "");
		wg_keypair_clear(&a.kp);
		wg_keypair_clear(&b.kp);
		/* Roles reversed, on the same handshake structs. */
		handshake(&b, &a, 2 * SEC);
		assert_transport(&b.kp, &a.kp, "other way round");
		assert_transport(&a.kp, &b.kp, "and back");
		wg_keypair_clear(&a.kp);
		wg_keypair_clear(&b.kp);
	}
}

static void test_psk_mismatch(void)
{
	struct side a, b;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;
	uint8_t other_psk[32] = { 1 };

	make_pair(&a, &b, true);
	wg_handshake_set_preshared_key(&b.hs, other_psk);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, 0);
	/* The PSK is only mixed in the response: the initiation still passes. */
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init, &parsed, SEC), ==, 0);
	g_assert_cmpint(wg_noise_create_response(&b.hs, &b.id, &resp, 2), ==, 0);
	g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &resp), ==, -EBADMSG);
	g_assert_cmpint(a.hs.state, ==, WG_HANDSHAKE_CREATED_INITIATION);
}

static void test_wrong_responder(void)
{
	struct side a, b, c, d;
	struct wg_msg_initiation init;
	struct wg_initiation_parsed parsed;

	make_pair(&a, &b, false);
	make_pair(&c, &d, false);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, 0);
	/* Sent to the wrong interface key: the static key does not decrypt. */
	g_assert_cmpint(wg_noise_consume_initiation_begin(&d.id, &init, &parsed), ==, -EBADMSG);
	/* Right interface, but finished against the handshake of another peer. */
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&d.hs, &b.id, &init, &parsed, SEC), ==, -EBADMSG);
	g_assert_cmpint(d.hs.state, ==, WG_HANDSHAKE_ZEROED);
}

static void test_initiation_replay_and_flood(void)
{
	struct side a, b;
	struct wg_msg_initiation init, init2;
	struct wg_initiation_parsed parsed;

	make_pair(&a, &b, false);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init, &parsed, 10 * SEC), ==, 0);
	/* The same message again, much later: its timestamp is not newer. */
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init, &parsed, 20 * SEC), ==, -EALREADY);

	/* A genuinely newer initiation right after the last one: flood guard. */
	memset(b.hs.latest_timestamp, 0, sizeof(b.hs.latest_timestamp));
	b.hs.last_initiation_consumed_ns = 30 * SEC;
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init2, 2), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init2, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init2, &parsed,
	                                                   30 * SEC + SEC / 100), ==, -EBUSY);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init2, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init2, &parsed,
	                                                   30 * SEC + SEC / 40), ==, 0);
	g_assert_cmpuint(b.hs.remote_index, ==, 2);
}

static void test_response_state_checks(void)
{
	struct side a, b;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;
	struct wg_keypair kp;

	make_pair(&a, &b, false);
	/* No initiation consumed: nothing to respond to, no session to begin. */
	g_assert_cmpint(wg_noise_create_response(&b.hs, &b.id, &resp, 2), ==, -EINVAL);
	g_assert_cmpint(wg_noise_begin_session(&b.hs, &kp, 0), ==, -EINVAL);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 7), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init, &parsed, SEC), ==, 0);
	g_assert_cmpint(wg_noise_create_response(&b.hs, &b.id, &resp, 9), ==, 0);
	/* Receiver index that is not our pending initiation. */
	resp.receiver_index = htole32(8);
	g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &resp), ==, -EINVAL);
	resp.receiver_index = htole32(7);
	/* The initiator cannot begin a session before the response. */
	g_assert_cmpint(wg_noise_begin_session(&a.hs, &kp, 0), ==, -EINVAL);
	g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &resp), ==, 0);
	/* A second copy of the response finds no pending initiation. */
	g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &resp), ==, -EINVAL);
}

static void test_no_identity(void)
{
	struct side a, b;
	struct wg_msg_initiation init;
	struct wg_initiation_parsed parsed;
	struct wg_static_identity none;

	make_pair(&a, &b, false);
	wg_static_identity_set(&none, NULL);
	g_assert_false(none.has_private_key);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &none, &init, 1), ==, -ENOKEY);
	wg_handshake_precompute(&a.hs, &none);
	g_assert_false(a.hs.precomputed_valid);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, -ENOKEY);
	wg_handshake_precompute(&a.hs, &a.id);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&none, &init, &parsed), ==, -ENOKEY);
	/* A peer whose public key is a low-order point can never handshake. */
	uint8_t zero[32] = { 0 };
	wg_handshake_init(&a.hs, &a.id, zero, NULL);
	g_assert_false(a.hs.precomputed_valid);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, -ENOKEY);
}

/* Flip each bit of each handshake message: every flip must be refused. */
static void test_tampering(void)
{
	struct side a, b;
	struct wg_msg_initiation init, bad;
	struct wg_msg_response resp, badr;
	struct wg_initiation_parsed parsed;
	struct wg_handshake saved;
	/* The macs are checked by cookie.c, not here; the header byte by classify. */
	const size_t init_covered = offsetof(struct wg_msg_initiation, macs);
	const size_t resp_covered = offsetof(struct wg_msg_response, macs);

	make_pair(&a, &b, true);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id, &init, 1), ==, 0);
	for (size_t byte = 0; byte < init_covered; byte++) {
		if (byte >= 1 && byte < 8)
			continue; /* reserved bytes and the sender index are not authenticated */
		for (int bit = 0; bit < 8; bit += 3) {
			int r;
			bad = init;
			((uint8_t *)&bad)[byte] ^= (uint8_t)(1 << bit);
			r = wg_noise_consume_initiation_begin(&b.id, &bad, &parsed);
			if (r == 0)
				r = wg_noise_consume_initiation_finish(&b.hs, &b.id, &bad, &parsed, SEC);
			g_assert_cmpint(r, !=, 0);
		}
	}
	g_assert_cmpint(b.hs.state, ==, WG_HANDSHAKE_ZEROED);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&b.hs, &b.id, &init, &parsed, SEC), ==, 0);
	g_assert_cmpint(wg_noise_create_response(&b.hs, &b.id, &resp, 2), ==, 0);
	saved = a.hs;
	for (size_t byte = 0; byte < resp_covered; byte++) {
		if (byte >= 1 && byte < 8)
			continue; /* reserved, sender index */
		for (int bit = 0; bit < 8; bit += 3) {
			badr = resp;
			((uint8_t *)&badr)[byte] ^= (uint8_t)(1 << bit);
			g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &badr), !=, 0);
			/* A refused response leaves the pending initiation intact. */
			g_assert_cmpmem(&a.hs, sizeof(a.hs), &saved, sizeof(saved));
		}
	}
	g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, &resp), ==, 0);
}

static void test_transport_replay_and_tamper(void)
{
	struct side a, b;
	uint8_t buf[128], copy[128];
	uint64_t counter;
	ssize_t n;

	make_pair(&a, &b, false);
	handshake(&a, &b, SEC);
	memcpy(buf + 16, "hello", 5);
	g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, 0);
	g_assert_cmpuint(counter, ==, 0);
	n = wg_transport_seal(&a.kp, counter, buf, 5, 16, sizeof(buf));
	g_assert_cmpint(n, ==, 48);
	memcpy(copy, buf, (size_t)n);
	g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, NULL), ==, 16);
	/* Replay of the same message. */
	memcpy(buf, copy, (size_t)n);
	g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, NULL), ==, -EALREADY);
	/* A replayed copy with its ciphertext altered is dropped before decryption. */
	memcpy(buf, copy, (size_t)n);
	buf[20] ^= 0x40;
	g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, NULL), ==, -EALREADY);
	/* Truncated and oversized counters. */
	g_assert_cmpint(wg_transport_open(&b.kp, copy, 31, NULL), ==, -EINVAL);
	memcpy(buf, copy, (size_t)n);
	memset(buf + 8, 0xff, 8);
	g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, NULL), ==, -EKEYEXPIRED);

	/* A fresh message tampered anywhere in counter, ciphertext or tag fails
	 * authentication and leaves the window untouched: the original still opens. */
	memcpy(buf + 16, "again", 5);
	g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, 0);
	n = wg_transport_seal(&a.kp, counter, buf, 5, 5, sizeof(buf));
	memcpy(copy, buf, (size_t)n);
	for (size_t byte = 8; byte < (size_t)n; byte++) {
		memcpy(buf, copy, (size_t)n);
		buf[byte] ^= 0x40;
		g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, NULL), ==, -EBADMSG);
	}
	memcpy(buf, copy, (size_t)n);
	g_assert_cmpint(wg_transport_open(&b.kp, buf, (size_t)n, &counter), ==, 5);
	g_assert_cmpuint(counter, ==, 1);
	g_assert_cmpmem(buf + 16, 5, "again", 5);
	/* Sealing refuses to overrun the buffer. */
	g_assert_cmpint(wg_transport_seal(&a.kp, 2, buf, 100, 112, sizeof(buf)), ==, -EINVAL);
	g_assert_cmpint(wg_transport_seal(&a.kp, 2, buf, 10, 5, sizeof(buf)), ==, -EINVAL);
}

static void test_counter_exhaustion(void)
{
	struct side a, b;
	uint64_t counter;

	make_pair(&a, &b, false);
	handshake(&a, &b, SEC);
	atomic_store(&a.kp.send_counter, WG_REJECT_AFTER_MESSAGES - 1);
	g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, 0);
	g_assert_cmpuint(counter, ==, WG_REJECT_AFTER_MESSAGES - 1);
	g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, -EKEYEXPIRED);
	g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, -EKEYEXPIRED);
	g_assert_cmpuint(atomic_load(&a.kp.send_counter), ==, WG_REJECT_AFTER_MESSAGES);
}

static void test_classify(void)
{
	uint8_t buf[200] = { 0 };

	buf[0] = 1;
	g_assert_cmpint(wg_msg_classify(buf, 148), ==, WG_MSG_INITIATION);
	g_assert_cmpint(wg_msg_classify(buf, 147), ==, 0);
	g_assert_cmpint(wg_msg_classify(buf, 149), ==, 0);
	buf[2] = 1;   /* reserved must be zero: type is a LE32 word on the wire */
	g_assert_cmpint(wg_msg_classify(buf, 148), ==, 0);
	buf[2] = 0;
	buf[0] = 2;
	g_assert_cmpint(wg_msg_classify(buf, 92), ==, WG_MSG_RESPONSE);
	g_assert_cmpint(wg_msg_classify(buf, 148), ==, 0);
	buf[0] = 3;
	g_assert_cmpint(wg_msg_classify(buf, 64), ==, WG_MSG_COOKIE_REPLY);
	g_assert_cmpint(wg_msg_classify(buf, 65), ==, 0);
	buf[0] = 4;
	g_assert_cmpint(wg_msg_classify(buf, 31), ==, 0);
	g_assert_cmpint(wg_msg_classify(buf, 32), ==, WG_MSG_TRANSPORT);
	g_assert_cmpint(wg_msg_classify(buf, 200), ==, WG_MSG_TRANSPORT);
	buf[0] = 5;
	g_assert_cmpint(wg_msg_classify(buf, 148), ==, 0);
	g_assert_cmpint(wg_msg_classify(buf, 0), ==, 0);
	buf[0] = 2;
	buf[8] = 0x78;
	buf[9] = 0x56;
	buf[10] = 0x34;
	buf[11] = 0x12;
	g_assert_cmpuint(wg_msg_receiver_index(buf), ==, 0x12345678);
	buf[0] = 4;
	buf[4] = 0x01;
	g_assert_cmpuint(wg_msg_receiver_index(buf), ==, 0x00000001);
}

static void test_padding(void)
{
	g_assert_cmpuint(wg_transport_padded_len(0, 1420), ==, 0);
	g_assert_cmpuint(wg_transport_padded_len(1, 1420), ==, 16);
	g_assert_cmpuint(wg_transport_padded_len(16, 1420), ==, 16);
	g_assert_cmpuint(wg_transport_padded_len(1419, 1420), ==, 1420);
	g_assert_cmpuint(wg_transport_padded_len(1420, 1420), ==, 1420);
	g_assert_cmpuint(wg_transport_padded_len(1413, 1420), ==, 1420);
	g_assert_cmpuint(wg_transport_padded_len(1400, 1420), ==, 1408);
	g_assert_cmpuint(wg_transport_padded_len(1500, 1420), ==, 1504);
	g_assert_cmpuint(wg_transport_padded_len(17, 0), ==, 32);
}

/* Garbage of every length into every consume function: no crash, an error. */
static void test_garbage(void)
{
	struct side a, b;
	GRand *rand = g_rand_new_with_seed(148);
	uint8_t buf[256];
	struct wg_initiation_parsed parsed;

	make_pair(&a, &b, false);
	g_assert_cmpint(wg_noise_create_initiation(&a.hs, &a.id,
	                                           &(struct wg_msg_initiation){ 0 }, 5), ==, 0);
	handshake(&a, &b, SEC);
	for (int round = 0; round < 2000; round++) {
		size_t len = (size_t)g_rand_int_range(rand, 0, sizeof(buf) + 1);
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)g_rand_int(rand);
		buf[0] = (uint8_t)g_rand_int_range(rand, 0, 6);
		if (g_rand_int_range(rand, 0, 8))
			buf[1] = buf[2] = buf[3] = 0;
		switch (wg_msg_classify(buf, len)) {
		case WG_MSG_INITIATION:
			g_assert_cmpint(wg_noise_consume_initiation_begin(&b.id, (void *)buf, &parsed), !=, 0);
			break;
		case WG_MSG_RESPONSE:
			g_assert_cmpint(wg_noise_consume_response(&a.hs, &a.id, (void *)buf), !=, 0);
			break;
		case WG_MSG_TRANSPORT:
			g_assert_cmpint(wg_transport_open(&b.kp, buf, len, NULL), <, 0);
			break;
		case WG_MSG_COOKIE_REPLY:
			g_assert_cmpuint(len, ==, 64);
			break;
		default:
			g_assert_true(len < 4 || buf[0] == 0 || buf[0] > 4 || buf[1] || buf[2] || buf[3] ||
			              (buf[0] == 1 && len != 148) || (buf[0] == 2 && len != 92) ||
			              (buf[0] == 3 && len != 64) || (buf[0] == 4 && len < 32));
		}
	}
	/* The session survived all of that. */
	assert_transport(&a.kp, &b.kp, "still alive");
	g_rand_free(rand);
}

/* Several threads open copies of the same messages on one keypair: the
 * replay window must let each counter through exactly once. */
#define RACE_MESSAGES 3000
#define RACE_THREADS 4
struct race {
	struct wg_keypair *kp;
	uint8_t (*msgs)[64];
	size_t len;
	gint accepted;
};

static gpointer race_thread(gpointer data)
{
	struct race *r = data;
	uint8_t buf[64];

	for (int i = 0; i < RACE_MESSAGES; i++) {
		memcpy(buf, r->msgs[i], r->len);
		if (wg_transport_open(r->kp, buf, r->len, NULL) >= 0)
			g_atomic_int_inc(&r->accepted);
	}
	return NULL;
}

static void test_concurrent_open(void)
{
	struct side a, b;
	struct race r;
	GThread *threads[RACE_THREADS];
	uint64_t counter;

	make_pair(&a, &b, false);
	handshake(&a, &b, SEC);
	r.kp = &b.kp;
	r.msgs = g_malloc(sizeof(*r.msgs) * RACE_MESSAGES);
	r.accepted = 0;
	for (int i = 0; i < RACE_MESSAGES; i++) {
		memcpy(r.msgs[i] + 16, "0123456789abcdef", 16);
		g_assert_cmpint(wg_keypair_take_counter(&a.kp, &counter), ==, 0);
		r.len = (size_t)wg_transport_seal(&a.kp, counter, r.msgs[i], 16, 16, sizeof(r.msgs[i]));
	}
	for (int t = 0; t < RACE_THREADS; t++)
		threads[t] = g_thread_new("open", race_thread, &r);
	for (int t = 0; t < RACE_THREADS; t++)
		g_thread_join(threads[t]);
	g_assert_cmpint(r.accepted, ==, RACE_MESSAGES);
	g_free(r.msgs);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(wg_crypto_init(), ==, 0);
	g_test_add_func("/wg/noise/handshake-roundtrip", test_handshake_roundtrip);
	g_test_add_func("/wg/noise/psk-mismatch", test_psk_mismatch);
	g_test_add_func("/wg/noise/wrong-responder", test_wrong_responder);
	g_test_add_func("/wg/noise/initiation-replay-flood", test_initiation_replay_and_flood);
	g_test_add_func("/wg/noise/response-state", test_response_state_checks);
	g_test_add_func("/wg/noise/no-identity", test_no_identity);
	g_test_add_func("/wg/noise/tampering", test_tampering);
	g_test_add_func("/wg/noise/transport-replay-tamper", test_transport_replay_and_tamper);
	g_test_add_func("/wg/noise/counter-exhaustion", test_counter_exhaustion);
	g_test_add_func("/wg/noise/classify", test_classify);
	g_test_add_func("/wg/noise/padding", test_padding);
	g_test_add_func("/wg/noise/garbage", test_garbage);
	g_test_add_func("/wg/noise/concurrent-open", test_concurrent_open);
	return g_test_run();
}

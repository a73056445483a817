/* tests/unit/test-wg-cookie.c - mac1/mac2 checks and cookie replies (engine/cookie.c). */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

#define SEC WG_NSEC_PER_SEC

struct fixture {
	struct wg_static_identity initiator, responder;
	struct wg_handshake hs;
	struct wg_cookie_maker maker;      /* initiator's, for the responder */
	struct wg_cookie_checker checker;  /* responder's */
	struct wg_msg_initiation init;
};

static const uint8_t source[6] = { 192, 0, 2, 1, 0xca, 0x6c };
static const uint8_t other_source[6] = { 192, 0, 2, 2, 0xca, 0x6c };

static void fixture_set_up(struct fixture *f, gconstpointer data)
{
	uint8_t priv[32], pub[32];

	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&f->initiator, priv);
	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&f->responder, priv);
	wg_handshake_init(&f->hs, &f->initiator, f->responder.public_key, NULL);
	wg_cookie_maker_init(&f->maker, f->responder.public_key);
	wg_cookie_checker_init(&f->checker);
	wg_cookie_checker_set_identity(&f->checker, f->responder.public_key);
	g_assert_cmpint(wg_noise_create_initiation(&f->hs, &f->initiator, &f->init, 42), ==, 0);
}

static void fixture_tear_down(struct fixture *f, gconstpointer data)
{
	wg_cookie_checker_destroy(&f->checker);
	wg_cookie_maker_wipe(&f->maker);
}

static enum wg_mac_state check(struct fixture *f, const uint8_t *src, bool under_load, uint64_t now)
{
	return wg_cookie_check(&f->checker, (uint8_t *)&f->init, sizeof(f->init), src, 6, under_load, now);
}

static void test_mac1(struct fixture *f, gconstpointer data)
{
	uint8_t zero[16] = { 0 };

	/* Without macs the message is dropped. */
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC_INVALID);
	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), SEC);
	g_assert_cmpmem(f->init.macs.mac2, 16, zero, 16);
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC1_VALID_NO_COOKIE);
	/* Under load, mac1 alone is not enough. */
	g_assert_cmpint(check(f, source, true, SEC), ==, WG_MAC1_VALID_NO_COOKIE);
	/* Any change to the covered bytes or mac1 breaks it. */
	f->init.sender_index ^= 1;
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC_INVALID);
	f->init.sender_index ^= 1;
	f->init.macs.mac1[15] ^= 1;
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC_INVALID);
	f->init.macs.mac1[15] ^= 1;
	/* mac1 for another interface's key is invalid here. */
	struct wg_cookie_maker wrong;
	wg_cookie_maker_init(&wrong, f->initiator.public_key);
	wg_cookie_add_macs(&wrong, (uint8_t *)&f->init, sizeof(f->init), SEC);
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC_INVALID);
	/* Wrong lengths and no identity. */
	g_assert_cmpint(wg_cookie_check(&f->checker, (uint8_t *)&f->init, 147, source, 6, false, SEC), ==, WG_MAC_INVALID);
	g_assert_cmpint(wg_cookie_check(&f->checker, NULL, 0, source, 6, false, SEC), ==, WG_MAC_INVALID);
	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), SEC);
	wg_cookie_checker_set_identity(&f->checker, NULL);
	g_assert_cmpint(check(f, source, false, SEC), ==, WG_MAC_INVALID);
}

static void test_cookie_round_trip(struct fixture *f, gconstpointer data)
{
	struct wg_msg_cookie_reply reply;
	uint64_t now = 1000 * SEC;

	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), now);
	g_assert_cmpint(check(f, source, true, now), ==, WG_MAC1_VALID_NO_COOKIE);
	/* Under load: answer with a cookie reply addressed to the sender index. */
	g_assert_cmpint(wg_cookie_create_reply(&f->checker, &reply, (uint8_t *)&f->init, sizeof(f->init),
	                                       source, 6, now), ==, 0);
	g_assert_cmpint(wg_msg_classify((uint8_t *)&reply, sizeof(reply)), ==, WG_MSG_COOKIE_REPLY);
	g_assert_cmpuint(wg_msg_receiver_index((uint8_t *)&reply), ==, 42);
	g_assert_cmpint(wg_cookie_consume_reply(&f->maker, &reply, now), ==, 0);
	g_assert_true(f->maker.have_cookie);
	/* The same reply twice: nothing outstanding to answer. */
	g_assert_cmpint(wg_cookie_consume_reply(&f->maker, &reply, now), ==, -EINVAL);

	/* The retried initiation carries mac2 and passes under load... */
	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), now + SEC);
	g_assert_cmpint(check(f, source, true, now + SEC), ==, WG_MAC1_VALID_COOKIE_VALID);
	/* ...but not from another address, */
	g_assert_cmpint(check(f, other_source, true, now + SEC), ==, WG_MAC1_VALID_NO_COOKIE);
	/* nor after the secret rotated (2 minutes). */
	g_assert_cmpint(check(f, source, true, now + 121 * SEC), ==, WG_MAC1_VALID_NO_COOKIE);
	/* The maker stops using a cookie older than 2 minutes minus latency. */
	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), now + 116 * SEC);
	uint8_t zero[16] = { 0 };
	g_assert_cmpmem(f->init.macs.mac2, 16, zero, 16);
}

static void test_cookie_reply_forgery(struct fixture *f, gconstpointer data)
{
	struct wg_msg_cookie_reply reply;
	uint64_t now = 5 * SEC;

	/* A reply before we sent anything is refused. */
	memset(&reply, 0, sizeof(reply));
	reply.header.type = WG_MSG_COOKIE_REPLY;
	g_assert_cmpint(wg_cookie_consume_reply(&f->maker, &reply, now), ==, -EINVAL);

	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), now);
	g_assert_cmpint(wg_cookie_create_reply(&f->checker, &reply, (uint8_t *)&f->init, sizeof(f->init),
	                                       source, 6, now), ==, 0);
	/* Any bit flipped in nonce or ciphertext fails authentication. */
	for (size_t byte = offsetof(struct wg_msg_cookie_reply, nonce); byte < sizeof(reply); byte++) {
		struct wg_msg_cookie_reply bad = reply;
		((uint8_t *)&bad)[byte] ^= 0x10;
		g_assert_cmpint(wg_cookie_consume_reply(&f->maker, &bad, now), ==, -EBADMSG);
	}
	/* A reply bound to an older mac1 is refused once a new message went out. */
	f->init.sender_index = htole32(43);
	wg_cookie_add_macs(&f->maker, (uint8_t *)&f->init, sizeof(f->init), now);
	g_assert_cmpint(wg_cookie_consume_reply(&f->maker, &reply, now), ==, -EBADMSG);
	g_assert_false(f->maker.have_cookie);
	/* Replies only answer handshake messages. */
	g_assert_cmpint(wg_cookie_create_reply(&f->checker, &reply, (uint8_t *)&reply, sizeof(reply),
	                                       source, 6, now), ==, -EINVAL);
}

static void test_response_macs(struct fixture *f, gconstpointer data)
{
	struct wg_msg_response resp;
	struct wg_cookie_maker maker;
	struct wg_cookie_checker checker;

	/* A response carries macs for the initiator's key. */
	memset(&resp, 0, sizeof(resp));
	resp.header.type = WG_MSG_RESPONSE;
	resp.sender_index = htole32(77);
	wg_cookie_maker_init(&maker, f->initiator.public_key);
	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, f->initiator.public_key);
	wg_cookie_add_macs(&maker, (uint8_t *)&resp, sizeof(resp), SEC);
	g_assert_cmpint(wg_cookie_check(&checker, (uint8_t *)&resp, sizeof(resp), source, 6, false, SEC),
	                ==, WG_MAC1_VALID_NO_COOKIE);
	g_assert_cmpint(wg_cookie_check(&f->checker, (uint8_t *)&resp, sizeof(resp), source, 6, false, SEC),
	                ==, WG_MAC_INVALID);
	wg_cookie_checker_destroy(&checker);
}

#define ADD(path, fn) \
	g_test_add(path, struct fixture, NULL, fixture_set_up, fn, fixture_tear_down)

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(wg_crypto_init(), ==, 0);
	ADD("/wg/cookie/mac1", test_mac1);
	ADD("/wg/cookie/round-trip", test_cookie_round_trip);
	ADD("/wg/cookie/reply-forgery", test_cookie_reply_forgery);
	ADD("/wg/cookie/response-macs", test_response_macs);
	return g_test_run();
}

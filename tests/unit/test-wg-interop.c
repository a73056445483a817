/* tests/unit/test-wg-interop.c - replay handshakes recorded from wireguard-go.
 *
 * The fixtures (tests/unit/fixtures/wg-go-*.ini, made by capture-wg-go.sh with
 * Debian's wireguard-go) hold messages wireguard-go built, so accepting them
 * checks our Noise_IKpsk2 implementation against an independent one:
 *  - responder: wireguard-go's initiation must pass mac1, decrypt to its
 *    static key, sender index and a TAI64N stamp of the capture time; with our
 *    state at the time we answered, the transport packet wireguard-go sent next
 *    (an ICMP echo request) must decrypt with our derived receive key.
 *  - initiator: with our state when we initiated, wireguard-go's response must
 *    pass mac1 and authenticate, and its transport packet (the ICMP echo reply
 *    to our ping) must decrypt.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

struct fixture {
	GKeyFile *kf;
	uint8_t private_key[32], peer_public[32], psk[32];
	uint8_t *initiation, *response, *transport;
	gsize initiation_len, response_len, transport_len;
	struct wg_static_identity id;
	struct wg_handshake hs;
};

static uint8_t *get_bytes(GKeyFile *kf, const char *key, gsize *len)
{
	g_autofree char *hex = g_key_file_get_string(kf, "fixture", key, NULL);
	uint8_t *out;

	g_assert_nonnull(hex);
	g_assert_cmpuint(strlen(hex) % 2, ==, 0);
	*len = strlen(hex) / 2;
	out = g_malloc(*len + 64);
	for (gsize i = 0; i < *len; i++)
		out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) << 4 | g_ascii_xdigit_value(hex[2 * i + 1]));
	return out;
}

static void get_key(GKeyFile *kf, const char *key, uint8_t out[32])
{
	gsize len;
	g_autofree uint8_t *b = get_bytes(kf, key, &len);

	g_assert_cmpuint(len, ==, 32);
	memcpy(out, b, 32);
}

static void load(struct fixture *f, const char *name)
{
	g_autofree char *path = NULL;
	g_autoptr(GError) error = NULL;
	const char *root = g_getenv("ROAMVPN_SOURCE_ROOT");

	path = g_build_filename(root ? root : ".", "tests", "unit", "fixtures", name, NULL);
	f->kf = g_key_file_new();
	g_assert_true(g_key_file_load_from_file(f->kf, path, G_KEY_FILE_NONE, &error));
	get_key(f->kf, "private", f->private_key);
	get_key(f->kf, "peer_public", f->peer_public);
	get_key(f->kf, "psk", f->psk);
	f->initiation = get_bytes(f->kf, "initiation", &f->initiation_len);
	f->response = get_bytes(f->kf, "response", &f->response_len);
	f->transport = get_bytes(f->kf, "transport", &f->transport_len);
	g_assert_cmpint(wg_static_identity_set(&f->id, f->private_key), ==, 0);
	wg_handshake_init(&f->hs, &f->id, f->peer_public, f->psk);
}

static void unload(struct fixture *f)
{
	g_key_file_unref(f->kf);
	g_free(f->initiation);
	g_free(f->response);
	g_free(f->transport);
}

/* Put back our own handshake state as it was when our message left. */
static void restore_state(struct fixture *f, enum wg_handshake_state state)
{
	gsize len;
	g_autofree uint8_t *eph = get_bytes(f->kf, "state_ephemeral_private", &len);
	g_autofree uint8_t *hash = get_bytes(f->kf, "state_hash", &len);
	g_autofree uint8_t *ck = get_bytes(f->kf, "state_chaining_key", &len);

	memcpy(f->hs.ephemeral_private, eph, 32);
	memcpy(f->hs.hash, hash, 32);
	memcpy(f->hs.chaining_key, ck, 32);
	f->hs.local_index = (uint32_t)g_key_file_get_uint64(f->kf, "fixture", "state_local_index", NULL);
	f->hs.remote_index = (uint32_t)g_key_file_get_uint64(f->kf, "fixture", "state_remote_index", NULL);
	f->hs.state = state;
}

static void assert_icmp(const uint8_t *ip, ssize_t len, const char *src, const char *dst, uint8_t type)
{
	uint8_t a[4], b[4];

	g_assert_cmpint(len, >=, 28);
	g_assert_cmpuint(ip[0] >> 4, ==, 4);
	g_assert_cmpuint(ip[9], ==, 1);             /* ICMP */
	inet_pton(AF_INET, src, a);
	inet_pton(AF_INET, dst, b);
	g_assert_cmpmem(ip + 12, 4, a, 4);
	g_assert_cmpmem(ip + 16, 4, b, 4);
	g_assert_cmpuint(ip[20], ==, type);
}

static void test_wireguard_go_initiates(void)
{
	struct fixture f = { 0 };
	struct wg_cookie_checker checker;
	struct wg_initiation_parsed parsed;
	struct wg_msg_initiation *init;
	struct wg_keypair kp;
	uint64_t stamp_secs, capture;
	uint32_t sender;
	ssize_t n;

	load(&f, "wg-go-responder.ini");
	g_assert_cmpuint(f.initiation_len, ==, 148);
	g_assert_cmpint(wg_msg_classify(f.initiation, f.initiation_len), ==, WG_MSG_INITIATION);
	init = (struct wg_msg_initiation *)f.initiation;

	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, f.id.public_key);
	g_assert_cmpint(wg_cookie_check(&checker, f.initiation, 148, NULL, 0, false, 1), ==,
	                WG_MAC1_VALID_NO_COOKIE);
	wg_cookie_checker_destroy(&checker);

	g_assert_cmpint(wg_noise_consume_initiation_begin(&f.id, init, &parsed), ==, 0);
	g_assert_cmpmem(parsed.remote_static, 32, f.peer_public, 32);
	memcpy(&sender, f.initiation + 4, 4);
	g_assert_cmpuint(parsed.sender_index, ==, le32toh(sender));
	g_assert_cmpint(wg_noise_consume_initiation_finish(&f.hs, &f.id, init, &parsed, 1), ==, 0);
	g_assert_cmpint(f.hs.state, ==, WG_HANDSHAKE_CONSUMED_INITIATION);
	g_assert_cmpuint(f.hs.remote_index, ==, le32toh(sender));
	/* TAI64N: 2^62 + 10 + Unix seconds, big-endian; within a minute of the capture. */
	stamp_secs = 0;
	for (int i = 0; i < 8; i++)
		stamp_secs = stamp_secs << 8 | f.hs.latest_timestamp[i];
	capture = g_key_file_get_uint64(f.kf, "fixture", "capture_unix_time", NULL);
	g_assert_cmpuint(stamp_secs - UINT64_C(0x400000000000000a), <=, capture + 60);
	g_assert_cmpuint(stamp_secs - UINT64_C(0x400000000000000a), >=, capture - 60);
	/* Replaying it is refused. */
	g_assert_cmpint(wg_noise_consume_initiation_begin(&f.id, init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&f.hs, &f.id, init, &parsed, WG_NSEC_PER_SEC), ==, -EALREADY);

	/* Our response was accepted by wireguard-go: its next packet opens with our keys. */
	restore_state(&f, WG_HANDSHAKE_CREATED_RESPONSE);
	g_assert_cmpuint(f.hs.remote_index, ==, le32toh(sender));
	g_assert_cmpint(wg_noise_begin_session(&f.hs, &kp, 1), ==, 0);
	g_assert_cmpint(wg_msg_classify(f.transport, f.transport_len), ==, WG_MSG_TRANSPORT);
	g_assert_cmpuint(wg_msg_receiver_index(f.transport), ==, kp.local_index);
	n = wg_transport_open(&kp, f.transport, f.transport_len, NULL);
	assert_icmp(f.transport + 16, n, "10.77.0.1", "10.77.0.2", 8);
	wg_keypair_clear(&kp);
	unload(&f);
}

static void test_wireguard_go_responds(void)
{
	struct fixture f = { 0 };
	struct wg_cookie_checker checker;
	struct wg_keypair kp;
	uint32_t sender;
	ssize_t n;

	load(&f, "wg-go-initiator.ini");
	g_assert_cmpuint(f.response_len, ==, 92);
	g_assert_cmpint(wg_msg_classify(f.response, f.response_len), ==, WG_MSG_RESPONSE);

	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, f.id.public_key);
	g_assert_cmpint(wg_cookie_check(&checker, f.response, 92, NULL, 0, false, 1), ==,
	                WG_MAC1_VALID_NO_COOKIE);
	wg_cookie_checker_destroy(&checker);

	restore_state(&f, WG_HANDSHAKE_CREATED_INITIATION);
	g_assert_cmpuint(wg_msg_receiver_index(f.response), ==, f.hs.local_index);
	/* A corrupted copy is refused and leaves the pending state usable. */
	f.response[20] ^= 1;
	g_assert_cmpint(wg_noise_consume_response(&f.hs, &f.id, (struct wg_msg_response *)f.response), ==, -EBADMSG);
	f.response[20] ^= 1;
	g_assert_cmpint(wg_noise_consume_response(&f.hs, &f.id, (struct wg_msg_response *)f.response), ==, 0);
	memcpy(&sender, f.response + 4, 4);
	g_assert_cmpuint(f.hs.remote_index, ==, le32toh(sender));
	g_assert_cmpint(wg_noise_begin_session(&f.hs, &kp, 1), ==, 0);
	g_assert_true(kp.is_initiator);
	n = wg_transport_open(&kp, f.transport, f.transport_len, NULL);
	assert_icmp(f.transport + 16, n, "10.77.0.1", "10.77.0.2", 0);
	wg_keypair_clear(&kp);
	unload(&f);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(wg_crypto_init(), ==, 0);
	g_test_add_func("/wg/interop/wireguard-go-initiates", test_wireguard_go_initiates);
	g_test_add_func("/wg/interop/wireguard-go-responds", test_wireguard_go_responds);
	return g_test_run();
}

/* engine-handshake-responder.c - what one handshake costs the responder, on one
 * core, in process (issue 10 §4): consume an initiation (mac1/mac2 check, the
 * two Noise steps), create the response (with its macs) and derive the
 * session, then each step and each primitive alone, so the floor (the X25519
 * operations, through OpenSSL and libsodium) and what sits above it can be
 * read off.
 *
 *   engine-handshake-responder [SECONDS]    (default 2 s per figure)
 *
 * Initiations from 64 peers are built before the timed loops (the
 * initiator's work is not the responder's cost); the responder's clock is
 * advanced by 1 s per initiation so the flood rule never applies. Times are
 * the thread's CPU time, so a loaded machine slows the wall clock, not the
 * figures (caches and frequency still suffer). Not a test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

#define PEERS 64
#define POOL 4096

static double cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct wg_static_identity server, client[PEERS];
static struct wg_handshake server_hs[PEERS], client_hs[PEERS];
static struct wg_msg_initiation pool[POOL];
static struct wg_cookie_checker checker;
static struct wg_cookie_maker maker[PEERS];
static uint64_t fake_now = 1000000000ULL;
static const uint8_t source[6] = { 10, 241, 0, 1, 0x12, 0x34 };
static double seconds = 2;

/* the peer's server-side state by its static key: a linear search over 64
 * keys (well under a microsecond; the engine uses a hash table) */
static int find_peer(const uint8_t key[WG_KEY_LEN])
{
	for (int i = 0; i < PEERS; i++)
		if (!memcmp(client[i].public_key, key, WG_KEY_LEN))
			return i;
	return -1;
}

/* one full responder handshake of pool entry k; 0 on success */
static int respond(unsigned k, bool with_macs)
{
	struct wg_msg_initiation *msg = &pool[k % POOL];
	struct wg_initiation_parsed parsed;
	struct wg_msg_response resp;
	struct wg_keypair kp;
	int i, r;

	if (with_macs && wg_cookie_check(&checker, (const uint8_t *)msg, sizeof(*msg), source, sizeof(source),
					 false, fake_now) == WG_MAC_INVALID)
		return -EBADMSG;
	if ((r = wg_noise_consume_initiation_begin(&server, msg, &parsed)) < 0)
		return r;
	i = find_peer(parsed.remote_static);
	if (i < 0)
		return -ENOENT;
	fake_now += 1000000000ULL;
	if ((r = wg_noise_consume_initiation_finish(&server_hs[i], &server, msg, &parsed, fake_now)) < 0 ||
	    (r = wg_noise_create_response(&server_hs[i], &server, &resp, k + 1)) < 0)
		return r;
	if (with_macs)
		wg_cookie_add_macs(&maker[i], (uint8_t *)&resp, sizeof(resp), fake_now);
	r = wg_noise_begin_session(&server_hs[i], &kp, fake_now);
	wg_keypair_clear(&kp);
	return r;
}

/* the server forgets the peers' timestamps so the pool can be replayed */
static void reset_server(void)
{
	for (int i = 0; i < PEERS; i++) {
		memset(server_hs[i].latest_timestamp, 0, WG_TAI64N_LEN);
		server_hs[i].last_initiation_consumed_ns = 0;
	}
}

static void build_pool(void)
{
	uint64_t base = (uint64_t)time(NULL);

	for (unsigned k = 0; k < POOL; k++) {
		uint8_t ts[WG_TAI64N_LEN];
		unsigned p = k % PEERS;

		wg_tai64n_from(ts, base + k / PEERS, 0);
		if (wg_noise_create_initiation_at(&client_hs[p], &client[p], &pool[k], k + 1, ts) < 0)
			abort();
		wg_cookie_add_macs(&maker[p], (uint8_t *)&pool[k], sizeof(pool[k]), 0);
	}
}

static double per_op_us(const char *what, double *out_rate, void (*fn)(unsigned))
{
	double t0 = cpu_s(), t;
	unsigned n = 0;

	do {
		for (unsigned j = 0; j < 64; j++)
			fn(n++);
		t = cpu_s() - t0;
	} while (t < seconds);
	if (out_rate)
		*out_rate = n / t;
	printf("%-52s %8.2f us\n", what, t / n * 1e6);
	return t / n * 1e6;
}

static void op_full(unsigned k)
{
	if (k % POOL == 0)
		reset_server();
	if (respond(k, true) != 0)
		abort();
}

static void op_full_nomacs(unsigned k)
{
	if (k % POOL == 0)
		reset_server();
	if (respond(k, false) != 0)
		abort();
}

static uint8_t sink[64];
static uint8_t a_scalar[WG_KEY_LEN], a_point[WG_KEY_LEN];

static void op_x25519(unsigned k)
{
	(void)k;
	if (wg_x25519(sink, server.private_key, a_point) != 0)
		abort();
	a_point[0] ^= sink[0] & 0x10;	/* a new point each time, no branch on secrets */
}

/* The same operations through OpenSSL 3's EVP interface, the other library
 * the engine may use: the private key imported once (importing computes
 * the public key), a derive context reused, and the peer's public key made
 * into an EVP_PKEY per call (OpenSSL takes it in no other form). */
static EVP_PKEY *ossl_static_key;
static EVP_PKEY_CTX *ossl_static_ctx;

static void ossl_derive(EVP_PKEY_CTX *ctx, uint8_t out[WG_KEY_LEN], const uint8_t point[WG_KEY_LEN])
{
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, point, WG_KEY_LEN);
	size_t len = WG_KEY_LEN;

	if (!peer || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 || EVP_PKEY_derive(ctx, out, &len) <= 0)
		abort();
	EVP_PKEY_free(peer);
}

static void op_x25519_openssl(unsigned k)
{
	(void)k;
	ossl_derive(ossl_static_ctx, sink, a_point);
	a_point[0] ^= sink[0] & 0x10;
}

static void op_x25519_openssl_raw(unsigned k)
{
	size_t len = WG_KEY_LEN;

	(void)k;
	if (EVP_PKEY_derive(ossl_static_ctx, sink, &len) <= 0)	/* the peer set by the last call */
		abort();
}

/* the responder's ephemeral: generation and its two DHs, OpenSSL ... */
static void op_generate_dh2_openssl(unsigned k)
{
	uint8_t shared[2][WG_KEY_LEN];
	EVP_PKEY *key;
	EVP_PKEY_CTX *ctx;
	size_t len = WG_KEY_LEN;

	(void)k;
	wg_crypto_random(a_scalar, WG_KEY_LEN);
	wg_x25519_clamp(a_scalar);
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, a_scalar, WG_KEY_LEN);
	ctx = key ? EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL) : NULL;
	if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_get_raw_public_key(key, sink, &len) <= 0)
		abort();
	ossl_derive(ctx, shared[0], a_point);
	ossl_derive(ctx, shared[1], client[0].public_key);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
}

/* ... and libsodium, as the engine does it */
static void op_generate_dh2_sodium(unsigned k)
{
	uint8_t shared[2][WG_KEY_LEN];

	(void)k;
	wg_x25519_generate(a_scalar, sink);
	if (wg_x25519(shared[0], a_scalar, a_point) != 0 || wg_x25519(shared[1], a_scalar, client[0].public_key) != 0)
		abort();
}

static void op_x25519_generate(unsigned k)
{
	(void)k;
	wg_x25519_generate(a_scalar, sink);
}

static void op_blake2s(unsigned k)
{
	(void)k;
	wg_blake2s256(sink, sink, 32, pool, 32);
}

static void op_hmac(unsigned k)
{
	(void)k;
	wg_hmac_blake2s(sink, sink, pool, 33);
}

static void op_kdf2(unsigned k)
{
	(void)k;
	wg_kdf(sink, sink + 32, NULL, sink, pool, 32);
}

static void op_mac16(unsigned k)
{
	(void)k;
	wg_blake2s_mac16(sink, sink + 16, 32, pool, 116);
}

static void op_aead(unsigned k)
{
	wg_aead_seal(sink, a_scalar, 12, sink + 32, 32, k, a_point);
}

/* the steps alone: the state they need is rebuilt outside the timing by
 * running the steps before them (measured as differences of full runs) */
static void op_begin(unsigned k)
{
	struct wg_initiation_parsed parsed;

	if (wg_noise_consume_initiation_begin(&server, &pool[k % POOL], &parsed) != 0)
		abort();
	wg_crypto_wipe(&parsed, sizeof(parsed));
}

int main(int argc, char **argv)
{
	double rate, full, begin, x, xo, xr, g, g2, g2o;

	if (argc > 1)
		seconds = atof(argv[1]);
	if (wg_crypto_init() < 0)
		return 1;
	{
		uint8_t priv[WG_KEY_LEN], pub[WG_KEY_LEN];

		wg_x25519_generate(priv, pub);
		wg_static_identity_set(&server, priv);
		for (int i = 0; i < PEERS; i++) {
			wg_x25519_generate(priv, pub);
			wg_static_identity_set(&client[i], priv);
			wg_handshake_init(&client_hs[i], &client[i], server.public_key, NULL);
			wg_handshake_init(&server_hs[i], &server, client[i].public_key, NULL);
			wg_cookie_maker_init(&maker[i], server.public_key);
		}
		wg_x25519_generate(a_scalar, a_point);
	}
	ossl_static_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, server.private_key, WG_KEY_LEN);
	ossl_static_ctx = ossl_static_key ? EVP_PKEY_CTX_new_from_pkey(NULL, ossl_static_key, NULL) : NULL;
	if (!ossl_static_ctx || EVP_PKEY_derive_init(ossl_static_ctx) <= 0)
		return 1;
	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, server.public_key);
	build_pool();

	printf("engine-handshake-responder: one thread, CPU time, %.0f s per figure\n", seconds);
	full = per_op_us("responder handshake (macs, consume, respond, session)", &rate, op_full);
	per_op_us("  the same without mac1 check / response macs", NULL, op_full_nomacs);
	begin = per_op_us("  consume_initiation_begin (1 X25519)", NULL, op_begin);
	x = per_op_us("X25519, libsodium (wg_x25519)", NULL, op_x25519);
	xo = per_op_us("X25519, OpenSSL EVP (peer key object per call)", NULL, op_x25519_openssl);
	xr = per_op_us("X25519, OpenSSL EVP, derive alone (same peer)", NULL, op_x25519_openssl_raw);
	g = per_op_us("key generation, libsodium (wg_x25519_generate)", NULL, op_x25519_generate);
	g2 = per_op_us("key generation + 2 X25519, libsodium", NULL, op_generate_dh2_sodium);
	g2o = per_op_us("key generation + 2 X25519, OpenSSL EVP", NULL, op_generate_dh2_openssl);
	per_op_us("BLAKE2s-256 of 64 bytes", NULL, op_blake2s);
	per_op_us("HMAC-BLAKE2s of 33 bytes", NULL, op_hmac);
	per_op_us("KDF2 (3 HMACs)", NULL, op_kdf2);
	per_op_us("MAC (keyed BLAKE2s-128) of 116 bytes", NULL, op_mac16);
	per_op_us("ChaCha20-Poly1305 of 12 bytes", NULL, op_aead);
	printf("RESULT responder %.0f handshakes/s per core (%.1f us); X25519 floor %.1f us (3 x %.1f + "
	       "key generation %.1f) = %.0f%% of it; above the floor %.1f us; begin %.1f us\n",
	       rate, full, 3 * x + g, x, g, (3 * x + g) / full * 100, full - (3 * x + g), begin);
	printf("RESULT X25519 per responder handshake: libsodium %.1f us, OpenSSL EVP %.1f us (%.1f of it "
	       "the ladder alone): OpenSSL/libsodium %.3f\n",
	       x + g2, xo + g2o, 3 * xr, (xo + g2o) / (x + g2));
	wg_cookie_checker_destroy(&checker);
	EVP_PKEY_CTX_free(ossl_static_ctx);
	EVP_PKEY_free(ossl_static_key);
	return 0;
}

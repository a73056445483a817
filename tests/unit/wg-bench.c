/* tests/unit/wg-bench.c - micro-benchmark of the engine's protocol layer (not a test).
 *
 * Prints per-operation costs on this machine: transport seal/open at several
 * packet sizes (and the raw libsodium/OpenSSL AEADs they choose between),
 * handshake steps, mac1 checks and allowed-IPs lookups. The figures in
 * docs/engine-protocol.md come from it: build-dir/tests/wg-bench
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "allowedips.h"
#include "cookie.h"
#include "crypto.h"
#include "noise.h"

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void bench_transport(void)
{
	static const size_t sizes[] = { 64, 512, 1420, 8192, 65536 };
	static uint8_t buf[65536 + 64];
	struct wg_static_identity a, b;
	struct wg_handshake ha, hb;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;
	struct wg_keypair ka, kb;
	uint8_t priv[32], pub[32], key[32] = { 1 }, nonce[12] = { 0 };
	EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&a, priv);
	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&b, priv);
	wg_handshake_init(&ha, &a, b.public_key, NULL);
	wg_handshake_init(&hb, &b, a.public_key, NULL);
	wg_noise_create_initiation(&ha, &a, &init, 1);
	wg_noise_consume_initiation_begin(&b, &init, &parsed);
	wg_noise_consume_initiation_finish(&hb, &b, &init, &parsed, 1);
	wg_noise_create_response(&hb, &b, &resp, 2);
	wg_noise_consume_response(&ha, &a, &resp);
	wg_noise_begin_session(&ha, &ka, 1);
	wg_noise_begin_session(&hb, &kb, 1);

	printf("%-8s %14s %14s %14s %14s\n", "bytes", "seal Gbit/s", "open Gbit/s", "sodium Gbit/s", "openssl Gbit/s");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		int n = (int)(2e9 / 8 / (double)len);
		double t, seal, open, sodium, openssl;
		uint64_t counter;
		int out;

		if (n > 300000)
			n = 300000;
		t = seconds();
		for (int k = 0; k < n; k++) {
			wg_keypair_take_counter(&ka, &counter);
			wg_transport_seal(&ka, counter, buf, len, len, sizeof(buf));
		}
		seal = seconds() - t;
		/* Open the same message repeatedly: the window is reset so it is fresh
		 * each time, and the plaintext re-sealed (one seal's cost, subtracted). */
		wg_transport_seal(&ka, 0, buf, len, len, sizeof(buf));
		t = seconds();
		for (int k = 0; k < n; k++) {
			wg_replay_init(&kb.replay);
			if (wg_transport_open(&kb, buf, len + 32, NULL) != (ssize_t)len)
				return;
			wg_transport_seal(&ka, 0, buf, len, len, sizeof(buf));
		}
		open = seconds() - t - seal;
		t = seconds();
		for (int k = 0; k < n; k++)
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, buf + len, NULL, buf, len, NULL, 0, NULL, nonce, key);
		sodium = seconds() - t;
		t = seconds();
		for (int k = 0; k < n; k++) {
			EVP_EncryptInit_ex2(ctx, cipher, key, nonce, NULL);
			EVP_EncryptUpdate(ctx, buf, &out, buf, (int)len);
			EVP_EncryptFinal_ex(ctx, buf + len, &out);
			EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, buf + len);
		}
		openssl = seconds() - t;
		printf("%-8zu %14.2f %14.2f %14.2f %14.2f\n", len, (double)n * (double)len * 8 / seal / 1e9,
		       (double)n * (double)len * 8 / open / 1e9, (double)n * (double)len * 8 / sodium / 1e9,
		       (double)n * (double)len * 8 / openssl / 1e9);
	}
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);

	/* handshake steps */
	const int m = 2000;
	double t = seconds();
	for (int k = 0; k < m; k++)
		wg_noise_create_initiation(&ha, &a, &init, 1);
	printf("create_initiation          %8.1f us\n", (seconds() - t) / m * 1e6);
	t = seconds();
	for (int k = 0; k < m; k++) {
		wg_noise_consume_initiation_begin(&b, &init, &parsed);
		hb.latest_timestamp[0] = 0;
		hb.last_initiation_consumed_ns = 0;
		wg_noise_consume_initiation_finish(&hb, &b, &init, &parsed, 1);
	}
	printf("consume_initiation         %8.1f us\n", (seconds() - t) / m * 1e6);
	t = seconds();
	for (int k = 0; k < m; k++) {
		hb.state = WG_HANDSHAKE_CONSUMED_INITIATION;
		wg_noise_create_response(&hb, &b, &resp, 2);
	}
	printf("create_response            %8.1f us\n", (seconds() - t) / m * 1e6);

	struct wg_cookie_checker checker;
	struct wg_cookie_maker maker;
	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, b.public_key);
	wg_cookie_maker_init(&maker, b.public_key);
	wg_cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), 1);
	t = seconds();
	for (int k = 0; k < 100000; k++)
		wg_cookie_check(&checker, (uint8_t *)&init, sizeof(init), (const uint8_t *)"abcdef", 6, false, 1);
	printf("mac1 check                 %8.2f us\n", (seconds() - t) / 100000 * 1e6);
	wg_cookie_checker_destroy(&checker);
}

static void bench_allowedips(void)
{
	struct wg_allowedips table;
	static int peers[256];
	uint8_t addr[4];
	const int n = 2000000;
	volatile void *sink = NULL;

	wg_allowedips_init(&table, NULL);
	for (int i = 0; i < 1000; i++) {
		addr[0] = 10;
		addr[1] = (uint8_t)(i >> 8);
		addr[2] = (uint8_t)i;
		addr[3] = 0;
		wg_allowedips_insert(&table, AF_INET, addr, 24, &peers[i % 256]);
	}
	double t = seconds();
	for (int i = 0; i < n; i++) {
		addr[0] = 10;
		addr[1] = (uint8_t)((i >> 8) & 3);
		addr[2] = (uint8_t)i;
		addr[3] = 7;
		sink = wg_allowedips_lookup(&table, AF_INET, addr);
	}
	(void)sink;
	printf("allowedips lookup (1000 /24) %6.1f ns\n", (seconds() - t) / n * 1e9);
	wg_allowedips_free(&table);
}

int main(void)
{
	if (wg_crypto_init() != 0)
		return 1;
	bench_transport();
	bench_allowedips();
	return 0;
}

/* tests/unit/test-wg-crypto.c - known-answer tests for engine/crypto.c.
 *
 * Vectors: BLAKE2s-256("abc") from RFC 7693 appendix B; X25519 from RFC 7748
 * section 6.1; a `wg genkey`/`wg pubkey` pair from Debian's wireguard-tools;
 * keyed BLAKE2s-128, HMAC-BLAKE2s, HKDF and ChaCha20-Poly1305 computed with
 * Python's hashlib/hmac and the `cryptography` package (independent
 * implementations), see docs/engine-protocol.md.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <sodium.h>

#include "crypto.h"

static void hex_to_bytes(const char *hex, uint8_t *out, size_t len)
{
	g_assert_cmpuint(strlen(hex), ==, len * 2);
	for (size_t i = 0; i < len; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
		g_assert_true(hi >= 0 && lo >= 0);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
}

static void assert_hex(const uint8_t *got, size_t len, const char *expected_hex)
{
	g_autofree uint8_t *expected = g_malloc(len);

	hex_to_bytes(expected_hex, expected, len);
	g_assert_cmpmem(got, len, expected, len);
}

static void test_blake2s(void)
{
	uint8_t out[32];

	wg_blake2s256(out, "abc", 3, NULL, 0);
	assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	wg_blake2s256(out, "", 0, NULL, 0);
	assert_hex(out, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
	/* HASH(a || b) is the hash of the concatenation. */
	wg_blake2s256(out, "a", 1, "bc", 2);
	assert_hex(out, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
}

static void test_blake2s_mac16(void)
{
	uint8_t key[32], msg[64], out[16];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	wg_blake2s_mac16(out, key, 32, msg, 64);
	assert_hex(out, 16, "f1efa90d2547036841ecd3627fafbc36");
	/* 16-byte key, as used for mac2 (the cookie is the key). */
	wg_blake2s_mac16(out, key, 16, "roamvpn cookie", 14);
	assert_hex(out, 16, "8a8082cba50610a6d70581afabde014b");
}

static void test_hmac_and_kdf(void)
{
	uint8_t key[32], msg[64], out[32], t1[32], t2[32], t3[32];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	wg_hmac_blake2s(out, key, msg, 64);
	assert_hex(out, 32, "3b35e945d05ac982850451ac8b6cdfffb98e56f50b95272fab665de081691056");

	wg_kdf(t1, t2, t3, key, msg, 64);
	assert_hex(t1, 32, "bc05131190475a0e03911461f35ce59c5288e95ff348e0e8fec25766c1c07304");
	assert_hex(t2, 32, "ebd19f930b7ef19fe71c5bacf8947298e29879f72e43c15a0ec6367d86a82e3d");
	assert_hex(t3, 32, "21a851fc413db878d18ff521583c179168ac375270126e641017a926ca8b4d13");
	/* KDF1 and KDF2 are prefixes of KDF3. */
	memset(t2, 0, sizeof(t2));
	wg_kdf(t1, t2, NULL, key, msg, 64);
	assert_hex(t2, 32, "ebd19f930b7ef19fe71c5bacf8947298e29879f72e43c15a0ec6367d86a82e3d");
	/* Empty input (session key derivation), and output aliasing the chaining key. */
	memcpy(t1, key, 32);
	wg_kdf(t1, NULL, NULL, t1, NULL, 0);
	assert_hex(t1, 32, "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624");
}

static void test_x25519(void)
{
	uint8_t priv[32], pub[32], peer[32], shared[32], zero[32] = { 0 };

	hex_to_bytes("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv, 32);
	g_assert_cmpint(wg_x25519_public(pub, priv), ==, 0);
	assert_hex(pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	hex_to_bytes("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", peer, 32);
	g_assert_cmpint(wg_x25519(shared, priv, peer), ==, 0);
	assert_hex(shared, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	/* A low-order point gives an all-zero secret: refused. */
	g_assert_cmpint(wg_x25519(shared, priv, zero), ==, -EINVAL);
	g_assert_cmpmem(shared, 32, zero, 32);
}

/* wg genkey | wg pubkey (wireguard-tools 1.0.20210914). */
static void test_wg_pubkey(void)
{
	uint8_t priv[32], pub[32];

	hex_to_bytes("f07c9d57c816cd3bd1597d653278271b517d85e4bfb5470e65326cb6f7d85c4c", priv, 32);
	g_assert_cmpint(wg_x25519_public(pub, priv), ==, 0);
	assert_hex(pub, 32, "3304792a7cececb6b582a70c44399be430a5998b350d7729b336324032dddb11");

	uint8_t unclamped[32];
	memcpy(unclamped, priv, 32);
	unclamped[0] |= 7;
	unclamped[31] |= 128;
	wg_x25519_clamp(unclamped);
	g_assert_cmpmem(unclamped, 32, priv, 32);
}

static void test_aead(void)
{
	static const char plain[] = "WireGuard transport payload 0123456789abcdef";
	const size_t len = sizeof(plain) - 1;
	uint8_t key[32], buf[128], out[128];

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	wg_aead_seal(buf, (const uint8_t *)plain, len, (const uint8_t *)"additional", 10,
	             0x0102030405060708, key);
	assert_hex(buf, len + 16,
	           "a3d89cde17af3aaf479105f96f1916af9c0120cb424beac264511cbe557abb51b053028285c7150e"
	           "1ffb64acd2cb907dc8a1d03007ab554b5c4987f5");
	g_assert_cmpint(wg_aead_open(out, buf, len + 16, (const uint8_t *)"additional", 10,
	                             0x0102030405060708, key), ==, 0);
	g_assert_cmpmem(out, len, plain, len);
	/* Wrong counter, wrong AD, flipped bit, short input: all refused. */
	g_assert_cmpint(wg_aead_open(out, buf, len + 16, (const uint8_t *)"additional", 10, 1, key), ==, -EBADMSG);
	g_assert_cmpint(wg_aead_open(out, buf, len + 16, (const uint8_t *)"additionaL", 10,
	                             0x0102030405060708, key), ==, -EBADMSG);
	buf[3] ^= 1;
	g_assert_cmpint(wg_aead_open(out, buf, len + 16, (const uint8_t *)"additional", 10,
	                             0x0102030405060708, key), ==, -EBADMSG);
	g_assert_cmpint(wg_aead_open(out, buf, 15, NULL, 0, 0, key), ==, -EBADMSG);

	/* In place, as the transport path uses it. */
	memcpy(buf, plain, len);
	wg_aead_seal(buf, buf, len, NULL, 0, 7, key);
	g_assert_cmpint(wg_aead_open(buf, buf, len + 16, NULL, 0, 7, key), ==, 0);
	g_assert_cmpmem(buf, len, plain, len);
}

/* The transport AEAD is composed from OpenSSL's ChaCha20 and Poly1305 with
 * the keystream made in whole 64-byte blocks, 4 KiB per call: it must give
 * the RFC 8439 answer (hashes of Python `cryptography` outputs) and agree with
 * libsodium's AEAD at every length around a block and a chunk. */
static void test_aead_large(void)
{
	static const struct { size_t len; const char *hash; } known[] = {
		{ 1420, "1659fee5861ee17a9798b962f70144608bdbb417bd4cdb8ae3b6e8442cbe8d16" },
		{ 1024, "c5a748442569f03c022e47e1291746d9e2eeb0a98fd34018e47dbf0376d13825" },
		{ 1023, "894667bfe7cd974fab84ffe386ca6d0c6c88195a031bccc86684d26e66e8d38d" },
	};
	static const size_t lengths[] = { 0, 1, 15, 16, 17, 31, 32, 63, 64, 65, 127, 128, 129, 1000,
					  1022, 1023, 1024, 1025, 1419, 1420, 1421, 1424, 1500, 4031,
					  4032, 4033, 4095, 4096, 4097, 8191, 8192, 8193, 9000, 65535 };
	uint8_t key[32], nonce[12] = { 0 }, hash[32];
	g_autofree uint8_t *plain = g_malloc(65536 + 16), *ours = g_malloc(65536 + 16),
		*theirs = g_malloc(65536 + 16), *back = g_malloc(65536 + 16);

	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	for (size_t i = 0; i < 65536; i++)
		plain[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
		wg_aead_seal(ours, plain, known[i].len, NULL, 0, 5, key);
		wg_blake2s256(hash, ours, known[i].len + 16, NULL, 0);
		assert_hex(hash, 32, known[i].hash);
	}
	nonce[4] = 9;
	for (size_t i = 0; i < G_N_ELEMENTS(lengths); i++) {
		size_t len = lengths[i];
		wg_aead_seal(ours, plain, len, (const uint8_t *)"ad", 2, 9, key);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(theirs, theirs + len, NULL, plain, len,
		                                                   (const uint8_t *)"ad", 2, NULL, nonce, key);
		g_assert_cmpmem(ours, len + 16, theirs, len + 16);
		g_assert_cmpint(wg_aead_open(back, ours, len + 16, (const uint8_t *)"ad", 2, 9, key), ==, 0);
		g_assert_cmpmem(back, len, plain, len);
		/* In place, then a forged tag: refused before anything is decrypted. */
		g_assert_cmpint(wg_aead_open(ours, ours, len + 16, (const uint8_t *)"ad", 2, 9, key), ==, 0);
		g_assert_cmpmem(ours, len, plain, len);
		theirs[len] ^= 1;
		memcpy(back, theirs, len + 16);
		g_assert_cmpint(wg_aead_open(back, back, len + 16, (const uint8_t *)"ad", 2, 9, key), ==, -EBADMSG);
		g_assert_cmpmem(back, len + 16, theirs, len + 16);
		/* a changed byte of ciphertext or of the additional data is refused too */
		theirs[len] ^= 1;
		if (len) {
			theirs[len / 2] ^= 0x80;
			g_assert_cmpint(wg_aead_open(back, theirs, len + 16, (const uint8_t *)"ad", 2, 9, key), ==, -EBADMSG);
			theirs[len / 2] ^= 0x80;
		}
		g_assert_cmpint(wg_aead_open(NULL, theirs, len + 16, (const uint8_t *)"ad", 2, 9, key), ==, 0);
		g_assert_cmpint(wg_aead_open(NULL, theirs, len + 16, (const uint8_t *)"aD", 2, 9, key), ==, -EBADMSG);
	}
}

static void test_xaead(void)
{
	uint8_t key[32], nonce[24], buf[64], out[32], ad[16] = { 1, 2, 3 };

	wg_crypto_random(key, sizeof(key));
	wg_crypto_random(nonce, sizeof(nonce));
	wg_xaead_seal(buf, (const uint8_t *)"0123456789abcdef", 16, ad, 16, nonce, key);
	g_assert_cmpint(wg_xaead_open(out, buf, 32, ad, 16, nonce, key), ==, 0);
	g_assert_cmpmem(out, 16, "0123456789abcdef", 16);
	nonce[23] ^= 0x80;
	g_assert_cmpint(wg_xaead_open(out, buf, 32, ad, 16, nonce, key), ==, -EBADMSG);
}

static void test_tai64n(void)
{
	uint8_t a[12], b[12];

	/* 2^62 + 10 + seconds, big-endian; nanoseconds whitened to 2^24 steps. */
	wg_tai64n_from(a, 1700000000, 123456789);
	assert_hex(a, 12, "400000006553f10a" "07000000");
	wg_tai64n_from(b, 1700000000, 123456789 + (1u << 24));
	g_assert_cmpint(memcmp(a, b, 12), <, 0);
	wg_tai64n_from(b, 1700000001, 0);
	g_assert_cmpint(memcmp(a, b, 12), <, 0);
	wg_tai64n_now(b);
	g_assert_cmpint(memcmp(a, b, 12), <, 0);
}

static void test_equal_and_wipe(void)
{
	uint8_t a[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, z[8] = { 0 };

	g_assert_true(wg_crypto_equal(a, b, 8));
	b[7] = 9;
	g_assert_false(wg_crypto_equal(a, b, 8));
	wg_crypto_wipe(a, 8);
	g_assert_cmpmem(a, 8, z, 8);
}

/* The per-thread OpenSSL contexts must give the same answers on other threads. */
static gpointer hash_in_thread(gpointer data)
{
	uint8_t *out = data;

	for (int i = 0; i < 100; i++)
		wg_blake2s256(out, "abc", 3, NULL, 0);
	return NULL;
}

static void test_threads(void)
{
	uint8_t outs[4][32];
	GThread *threads[4];

	for (int i = 0; i < 4; i++)
		threads[i] = g_thread_new("hash", hash_in_thread, outs[i]);
	for (int i = 0; i < 4; i++) {
		g_thread_join(threads[i]);
		assert_hex(outs[i], 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_assert_cmpint(wg_crypto_init(), ==, 0);
	g_test_add_func("/wg/crypto/blake2s", test_blake2s);
	g_test_add_func("/wg/crypto/blake2s-mac16", test_blake2s_mac16);
	g_test_add_func("/wg/crypto/hmac-kdf", test_hmac_and_kdf);
	g_test_add_func("/wg/crypto/x25519", test_x25519);
	g_test_add_func("/wg/crypto/wg-pubkey", test_wg_pubkey);
	g_test_add_func("/wg/crypto/aead", test_aead);
	g_test_add_func("/wg/crypto/aead-large", test_aead_large);
	g_test_add_func("/wg/crypto/xaead", test_xaead);
	g_test_add_func("/wg/crypto/tai64n", test_tai64n);
	g_test_add_func("/wg/crypto/equal-wipe", test_equal_and_wipe);
	g_test_add_func("/wg/crypto/threads", test_threads);
	return g_test_run();
}

/* engine/crypto.c - WireGuard primitives over libsodium and OpenSSL 3 libcrypto.
 *
 * Owned by engine-protocol. BLAKE2s is only in OpenSSL (libsodium has BLAKE2b);
 * its algorithm objects are fetched once and its contexts are kept per thread,
 * because fetching and allocating per call costs more than the hash itself on
 * handshake-sized inputs. The transport AEAD is RFC 8439's construction over
 * OpenSSL's ChaCha20 and Poly1305 (see "Transport AEAD" below for why);
 * XChaCha20-Poly1305 (cookies) and X25519 are libsodium's.
 */
#include "crypto.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_init_result = -ENOSYS;
/* Immutable after crypto_once: safe to share between threads. */
static EVP_MD *blake2s_md;
static EVP_MAC *blake2s_mac;
static EVP_MAC *hmac_mac;
static EVP_CIPHER *chacha20;
static EVP_MAC *poly1305_mac;
static pthread_key_t thread_ctx_key;

/* Keystream made per ChaCha20 call: a multiple of its 64-byte block, and more
 * than any MTU-sized packet needs, so a data packet takes one call. */
#define AEAD_KS_CHUNK 4096
#define CHACHA_BLOCK 64

struct thread_ctx {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac16;
	EVP_MAC_CTX *hmac;
	EVP_CIPHER_CTX *stream;		/* ChaCha20, keyed per message */
	EVP_MAC_CTX *poly;		/* Poly1305, keyed per message */
	/* block 0 (the one-time Poly1305 key), then the message's keystream */
	uint8_t keystream[CHACHA_BLOCK + AEAD_KS_CHUNK] __attribute__((aligned(64)));
};

static void thread_ctx_free(void *p)
{
	struct thread_ctx *t = p;

	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac16);
	EVP_MAC_CTX_free(t->hmac);
	EVP_CIPHER_CTX_free(t->stream);
	EVP_MAC_CTX_free(t->poly);
	wg_crypto_wipe(t, sizeof(*t));
	free(t);
}

static void crypto_init_once(void)
{
	if (sodium_init() < 0)
		return;
	blake2s_md = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
	blake2s_mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	hmac_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	poly1305_mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	if (!blake2s_md || !blake2s_mac || !hmac_mac || !chacha20 || !poly1305_mac)
		return;
	if (pthread_key_create(&thread_ctx_key, thread_ctx_free) != 0)
		return;
	crypto_init_result = 0;
}

int wg_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_init_once);
	return crypto_init_result;
}

/* Allocation failure here leaves no safe way to continue a handshake without
 * silently producing wrong keys, so it aborts like g_malloc does. */
static struct thread_ctx *thread_ctx(void)
{
	static __thread struct thread_ctx *cached;
	struct thread_ctx *t = cached;

	if (t)
		return t;
	if (wg_crypto_init() != 0)
		abort();
	if (posix_memalign((void **)&t, 64, sizeof(*t)) != 0)
		abort();
	memset(t, 0, sizeof(*t));
	t->md = EVP_MD_CTX_new();
	t->mac16 = EVP_MAC_CTX_new(blake2s_mac);
	t->hmac = EVP_MAC_CTX_new(hmac_mac);
	t->stream = EVP_CIPHER_CTX_new();
	t->poly = EVP_MAC_CTX_new(poly1305_mac);
	if (!t->md || !t->mac16 || !t->hmac || !t->stream || !t->poly)
		abort();
	if (!EVP_EncryptInit_ex2(t->stream, chacha20, NULL, NULL, NULL))
		abort();
	{
		size_t size = WG_MAC_LEN;
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size),
			OSSL_PARAM_construct_end(),
		};
		if (!EVP_MAC_CTX_set_params(t->mac16, params))
			abort();
	}
	{
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"BLAKE2S-256", 0),
			OSSL_PARAM_construct_end(),
		};
		if (!EVP_MAC_CTX_set_params(t->hmac, params))
			abort();
	}
	pthread_setspecific(thread_ctx_key, t);
	cached = t;
	return t;
}

void wg_crypto_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool wg_crypto_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void wg_crypto_random(void *out, size_t len)
{
	randombytes_buf(out, len);
}

uint32_t wg_crypto_random_u32(void)
{
	return randombytes_random();
}

void wg_blake2s256(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len,
                   const void *b, size_t b_len)
{
	struct thread_ctx *t = thread_ctx();
	unsigned int out_len = 0;

	if (!EVP_DigestInit_ex2(t->md, blake2s_md, NULL) ||
	    !EVP_DigestUpdate(t->md, a, a_len) ||
	    (b_len && !EVP_DigestUpdate(t->md, b, b_len)) ||
	    !EVP_DigestFinal_ex(t->md, out, &out_len) || out_len != WG_HASH_LEN)
		abort();
}

static void mac_oneshot(EVP_MAC_CTX *ctx, uint8_t *out, size_t out_len,
                        const uint8_t *key, size_t key_len,
                        const void *in1, size_t in1_len, const void *in2, size_t in2_len)
{
	size_t written = 0;

	if (!EVP_MAC_init(ctx, key, key_len, NULL) ||
	    !EVP_MAC_update(ctx, in1, in1_len) ||
	    (in2_len && !EVP_MAC_update(ctx, in2, in2_len)) ||
	    !EVP_MAC_final(ctx, out, &written, out_len) || written != out_len)
		abort();
}

void wg_blake2s_mac16(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len,
                      const void *in, size_t in_len)
{
	mac_oneshot(thread_ctx()->mac16, out, WG_MAC_LEN, key, key_len, in, in_len, NULL, 0);
}

void wg_hmac_blake2s(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN],
                     const void *in, size_t in_len)
{
	mac_oneshot(thread_ctx()->hmac, out, WG_HASH_LEN, key, WG_HASH_LEN, in, in_len, NULL, 0);
}

/* HKDF-Extract with the chaining key as salt, then HKDF-Expand with an empty
 * info string, one 32-byte block per requested output (RFC 5869 2.2, 2.3). */
void wg_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3,
            const uint8_t chaining_key[WG_HASH_LEN], const void *input, size_t input_len)
{
	EVP_MAC_CTX *ctx = thread_ctx()->hmac;
	uint8_t prk[WG_HASH_LEN], block[WG_HASH_LEN];
	uint8_t *outs[3] = { out1, out2, out3 };

	mac_oneshot(ctx, prk, WG_HASH_LEN, chaining_key, WG_HASH_LEN, input, input_len, NULL, 0);
	for (uint8_t i = 0; i < 3 && outs[i]; i++) {
		uint8_t counter = i + 1;
		/* every expand block is keyed with prk: set it once, then re-init
		 * with a NULL key, which keeps it (OpenSSL re-uses its ipad/opad
		 * states instead of deriving and allocating them again) */
		if (i == 0)
			mac_oneshot(ctx, block, WG_HASH_LEN, prk, WG_HASH_LEN, &counter, 1, NULL, 0);
		else
			mac_oneshot(ctx, block, WG_HASH_LEN, NULL, 0,
			            block, WG_HASH_LEN, &counter, 1);
		memcpy(outs[i], block, WG_HASH_LEN);
	}
	wg_crypto_wipe(prk, sizeof(prk));
	wg_crypto_wipe(block, sizeof(block));
}

int wg_x25519(uint8_t out[WG_KEY_LEN], const uint8_t scalar[WG_KEY_LEN],
              const uint8_t point[WG_KEY_LEN])
{
	/* libsodium refuses an all-zero result (low-order point) with -1. */
	if (crypto_scalarmult(out, scalar, point) != 0) {
		wg_crypto_wipe(out, WG_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void wg_x25519_clamp(uint8_t private_key[WG_KEY_LEN])
{
	private_key[0] &= 248;
	private_key[31] = (private_key[31] & 127) | 64;
}

void wg_x25519_generate(uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN])
{
	randombytes_buf(private_key, WG_KEY_LEN);
	wg_x25519_clamp(private_key);
	crypto_scalarmult_base(public_key, private_key);
}

int wg_x25519_public(uint8_t public_key[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN])
{
	return crypto_scalarmult_base(public_key, private_key) == 0 ? 0 : -EINVAL;
}

/*
 * Transport AEAD: ChaCha20-Poly1305 as RFC 8439 2.8 builds it, from OpenSSL's
 * ChaCha20 and Poly1305; no cipher or MAC code of ours. OpenSSL 3.0's own
 * AEAD makes three ChaCha20 calls per message: one block for the Poly1305
 * key, the whole blocks, and one more block for a tail that is not a multiple
 * of 64 bytes (a 1420-byte packet has one). Calls of a block or two take the
 * assembly's latency-bound short path, about 130 ns each on this project's
 * AVX-512 test machine: 768 ns per 1424-byte seal, where one call that makes
 * block 0 and the message's keystream together, rounded up to whole blocks,
 * and an XOR take 535 ns (docs/engine.md, "Where the time goes"). libsodium
 * 1.0.18 is slower still (1,560 ns). The kernel's WireGuard composes the same
 * two primitives the same way (lib/crypto/chacha20poly1305.c).
 * test-wg-crypto holds it to libsodium's AEAD at every length around a block
 * and a chunk, and to outputs of Python's `cryptography`.
 */
static const uint8_t zero_blocks[CHACHA_BLOCK + AEAD_KS_CHUNK];

/* 64 bytes per step; GCC builds it for AVX-512, AVX2 and plain x86-64 and
 * picks one at load time (an ifunc), the lanes being as wide as the CPU has:
 * every byte of the tunnel passes here twice. */
typedef uint8_t xor_lanes __attribute__((vector_size(64), aligned(1)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void xor_keystream(uint8_t *dst, const uint8_t *src, const uint8_t *ks, size_t len)
{
	size_t i = 0;

	for (; i + sizeof(xor_lanes) <= len; i += sizeof(xor_lanes)) {
		xor_lanes a, k;

		memcpy(&a, src + i, sizeof(a));
		memcpy(&k, ks + i, sizeof(k));
		a ^= k;
		memcpy(dst + i, &a, sizeof(a));
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ ks[i];
}

/* The next len (<= AEAD_KS_CHUNK) bytes of keystream at ks, made in whole
 * blocks so the library never computes a partial one apart. */
static void keystream(EVP_CIPHER_CTX *stream, uint8_t *ks, size_t len)
{
	size_t whole = (len + CHACHA_BLOCK - 1) & ~(size_t)(CHACHA_BLOCK - 1);
	int out_len;

	if (!EVP_EncryptUpdate(stream, ks, &out_len, zero_blocks, (int)whole))
		abort();
}

/* dst = src XOR the message's keystream: the first chunk is already in
 * t->keystream behind block 0; later chunks continue the ChaCha20 stream. */
static void apply_keystream(struct thread_ctx *t, uint8_t *dst, const uint8_t *src, size_t len)
{
	for (size_t done = 0; done < len; done += AEAD_KS_CHUNK) {
		size_t n = len - done < AEAD_KS_CHUNK ? len - done : AEAD_KS_CHUNK;
		const uint8_t *ks = t->keystream + CHACHA_BLOCK;

		if (done) {
			keystream(t->stream, t->keystream, n);
			ks = t->keystream;
		}
		xor_keystream(dst + done, src + done, ks, n);
	}
}

static void poly_padded(EVP_MAC_CTX *poly, const uint8_t *p, size_t len)
{
	static const uint8_t pad[16];

	if ((len && !EVP_MAC_update(poly, p, len)) ||
	    (len % 16 && !EVP_MAC_update(poly, pad, 16 - len % 16)))
		abort();
}

/*
 * One message: keys ChaCha20 with the nonce at block counter 0 and Poly1305
 * with block 0's first 32 bytes; authenticates ad and the ciphertext. Sealing
 * encrypts src into dst first and writes the tag at tag; opening compares the
 * tag first and decrypts only an authentic message (dst may be NULL to only
 * verify). Returns 0 or -EBADMSG.
 */
static int aead(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t *ad, size_t ad_len,
                const uint8_t nonce[12], const uint8_t key[WG_KEY_LEN], bool seal, uint8_t tag[WG_AEAD_TAG_LEN])
{
	struct thread_ctx *t = thread_ctx();
	uint8_t iv[16] = { 0 }, lengths[16], computed[WG_AEAD_TAG_LEN];
	size_t first = len < AEAD_KS_CHUNK ? len : AEAD_KS_CHUNK, tag_len = 0;
	uint64_t ad_le = htole64(ad_len), len_le = htole64(len);
	int ret = 0;

	memcpy(iv + 4, nonce, 12);	/* OpenSSL's IV: 32-bit block counter || nonce */
	if (!EVP_EncryptInit_ex2(t->stream, NULL, key, iv, NULL))
		abort();
	keystream(t->stream, t->keystream, CHACHA_BLOCK + first);
	if (!EVP_MAC_init(t->poly, t->keystream, 32, NULL))
		abort();
	poly_padded(t->poly, ad, ad_len);
	if (seal) {
		apply_keystream(t, dst, src, len);
		poly_padded(t->poly, dst, len);
	} else {
		poly_padded(t->poly, src, len);
	}
	memcpy(lengths, &ad_le, 8);
	memcpy(lengths + 8, &len_le, 8);
	if (!EVP_MAC_update(t->poly, lengths, sizeof(lengths)) ||
	    !EVP_MAC_final(t->poly, seal ? tag : computed, &tag_len, WG_AEAD_TAG_LEN) ||
	    tag_len != WG_AEAD_TAG_LEN)
		abort();
	if (!seal) {
		if (CRYPTO_memcmp(computed, tag, WG_AEAD_TAG_LEN) != 0)
			ret = -EBADMSG;
		else if (dst)
			apply_keystream(t, dst, src, len);
	}
	/* the one-time Poly1305 key; the rest is keystream of a used nonce */
	wg_crypto_wipe(t->keystream, CHACHA_BLOCK);
	return ret;
}

static void counter_nonce(uint8_t nonce[12], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

void wg_aead_seal(uint8_t *dst, const uint8_t *src, size_t src_len,
                  const uint8_t *ad, size_t ad_len, uint64_t counter,
                  const uint8_t key[WG_KEY_LEN])
{
	uint8_t nonce[12];

	counter_nonce(nonce, counter);
	aead(dst, src, src_len, ad, ad_len, nonce, key, true, dst + src_len);
}

int wg_aead_open(uint8_t *dst, const uint8_t *src, size_t src_len,
                 const uint8_t *ad, size_t ad_len, uint64_t counter,
                 const uint8_t key[WG_KEY_LEN])
{
	uint8_t nonce[12], tag[WG_AEAD_TAG_LEN];

	if (src_len < WG_AEAD_TAG_LEN)
		return -EBADMSG;
	counter_nonce(nonce, counter);
	/* in place, the plaintext ends where the tag starts: read it first */
	memcpy(tag, src + src_len - WG_AEAD_TAG_LEN, WG_AEAD_TAG_LEN);
	return aead(dst, src, src_len - WG_AEAD_TAG_LEN, ad, ad_len, nonce, key, false, tag);
}

void wg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t src_len,
                   const uint8_t *ad, size_t ad_len,
                   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt_detached(dst, dst + src_len, NULL, src, src_len,
	                                                    ad, ad_len, NULL, nonce, key);
}

int wg_xaead_open(uint8_t *dst, const uint8_t *src, size_t src_len,
                  const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	if (src_len < WG_AEAD_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(dst, NULL, src, src_len - WG_AEAD_TAG_LEN,
	                                                        src + src_len - WG_AEAD_TAG_LEN,
	                                                        ad, ad_len, nonce, key) != 0)
		return -EBADMSG;
	return 0;
}

/* TAI64 labels count from 2^62; +10 is the TAI-UTC offset of 1970 that
 * wireguard-go and the kernel both add. */
#define TAI64_BASE UINT64_C(0x400000000000000a)
/* Largest power of two not above 1e9 / WG_INITIATIONS_PER_SECOND (2^24 ns). */
#define TAI64N_WHITENING_MASK (UINT32_C(0x1000000) - 1)

void wg_tai64n_from(uint8_t out[WG_TAI64N_LEN], uint64_t unix_seconds, uint32_t nanoseconds)
{
	uint64_t secs = htobe64(TAI64_BASE + unix_seconds);
	uint32_t nsec = htobe32(nanoseconds & ~TAI64N_WHITENING_MASK);

	memcpy(out, &secs, sizeof(secs));
	memcpy(out + 8, &nsec, sizeof(nsec));
}

void wg_tai64n_now(uint8_t out[WG_TAI64N_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	wg_tai64n_from(out, (uint64_t)ts.tv_sec, (uint32_t)ts.tv_nsec);
}

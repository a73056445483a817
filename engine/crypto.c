/* engine/crypto.c - WireGuard primitives over libsodium and OpenSSL 3 libcrypto.
 *
 * Owned by engine-protocol. BLAKE2s is only in OpenSSL (libsodium has BLAKE2b);
 * its algorithm objects are fetched once and its contexts are kept per thread,
 * because fetching and allocating per call costs more than the hash itself on
 * handshake-sized inputs. The hot path (transport AEAD) is libsodium only.
 */
#include "crypto.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_init_result = -ENOSYS;
/* Immutable after crypto_once: safe to share between threads. */
static EVP_MD *blake2s_md;
static EVP_MAC *blake2s_mac;
static EVP_MAC *hmac_mac;
static EVP_CIPHER *chacha_poly;
static pthread_key_t thread_ctx_key;

struct thread_ctx {
	EVP_MD_CTX *md;
	EVP_MAC_CTX *mac16;
	EVP_MAC_CTX *hmac;
	EVP_CIPHER_CTX *aead_seal;
	EVP_CIPHER_CTX *aead_open;
	/* the key each AEAD context holds: a packet under the same session key
	 * (all of a batch, usually) only sets the nonce */
	uint8_t seal_key[WG_KEY_LEN], open_key[WG_KEY_LEN];
	bool seal_keyed, open_keyed;
};

static void thread_ctx_free(void *p)
{
	struct thread_ctx *t = p;

	EVP_MD_CTX_free(t->md);
	EVP_MAC_CTX_free(t->mac16);
	EVP_MAC_CTX_free(t->hmac);
	EVP_CIPHER_CTX_free(t->aead_seal);
	EVP_CIPHER_CTX_free(t->aead_open);
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
	chacha_poly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!blake2s_md || !blake2s_mac || !hmac_mac || !chacha_poly)
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
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->md = EVP_MD_CTX_new();
	t->mac16 = EVP_MAC_CTX_new(blake2s_mac);
	t->hmac = EVP_MAC_CTX_new(hmac_mac);
	t->aead_seal = EVP_CIPHER_CTX_new();
	t->aead_open = EVP_CIPHER_CTX_new();
	if (!t->md || !t->mac16 || !t->hmac || !t->aead_seal || !t->aead_open)
		abort();
	if (!EVP_EncryptInit_ex2(t->aead_seal, chacha_poly, NULL, NULL, NULL) ||
	    !EVP_DecryptInit_ex2(t->aead_open, chacha_poly, NULL, NULL, NULL))
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

static void counter_nonce(uint8_t nonce[12], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

/*
 * Both libraries implement the same RFC 8439 AEAD; which one runs is a speed
 * choice. Measured on this project's 2-core AVX-512 test machine (see
 * docs/engine-protocol.md): OpenSSL's assembly is ~1.5x faster at MTU-sized
 * packets and ~3x at 64 KiB, libsodium wins below ~1 KiB where OpenSSL's
 * per-call EVP overhead dominates. test-wg-crypto checks they agree.
 */
#define AEAD_OPENSSL_MIN_LEN 1024

/* Whether a context already holds this key: four word XORs, no early exit
 * (as sodium_memcmp, which goes byte by byte through volatile pointers and
 * showed up at 2.6 % of the engine's CPU in a profile: once per packet). */
static bool same_key(const uint8_t a[WG_KEY_LEN], const uint8_t b[WG_KEY_LEN])
{
	uint64_t x[WG_KEY_LEN / 8], y[WG_KEY_LEN / 8], d = 0;
	unsigned i;

	memcpy(x, a, WG_KEY_LEN);
	memcpy(y, b, WG_KEY_LEN);
	for (i = 0; i < WG_KEY_LEN / 8; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/* The tag as a provider parameter, straight: EVP_CIPHER_CTX_ctrl() would
 * translate the request into the same parameter first, once per packet. */
static bool aead_tag_param(EVP_CIPHER_CTX *ctx, uint8_t tag[WG_AEAD_TAG_LEN], bool set)
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, WG_AEAD_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	return set ? EVP_CIPHER_CTX_set_params(ctx, params) == 1 : EVP_CIPHER_CTX_get_params(ctx, params) == 1;
}

static void aead_seal_openssl(uint8_t *dst, const uint8_t *src, size_t src_len,
                              const uint8_t *ad, size_t ad_len, const uint8_t nonce[12],
                              const uint8_t key[WG_KEY_LEN])
{
	struct thread_ctx *t = thread_ctx();
	EVP_CIPHER_CTX *ctx = t->aead_seal;
	const uint8_t *new_key = key;
	int out_len;

	if (t->seal_keyed && same_key(t->seal_key, key))
		new_key = NULL;	/* same key: OpenSSL keeps it, only the nonce changes */
	if (src_len > INT_MAX || ad_len > INT_MAX ||
	    !EVP_EncryptInit_ex2(ctx, NULL, new_key, nonce, NULL) ||
	    (ad_len && !EVP_EncryptUpdate(ctx, NULL, &out_len, ad, (int)ad_len)) ||
	    !EVP_EncryptUpdate(ctx, dst, &out_len, src, (int)src_len) ||
	    !EVP_EncryptFinal_ex(ctx, dst + src_len, &out_len) ||
	    !aead_tag_param(ctx, dst + src_len, false))
		abort();
	if (new_key) {
		memcpy(t->seal_key, key, WG_KEY_LEN);
		t->seal_keyed = true;
	}
}

static int aead_open_openssl(uint8_t *dst, const uint8_t *src, size_t src_len,
                             const uint8_t *ad, size_t ad_len, const uint8_t nonce[12],
                             const uint8_t key[WG_KEY_LEN])
{
	struct thread_ctx *t = thread_ctx();
	EVP_CIPHER_CTX *ctx = t->aead_open;
	size_t text_len = src_len - WG_AEAD_TAG_LEN;
	const uint8_t *new_key = key;
	uint8_t tag[WG_AEAD_TAG_LEN];
	int out_len;

	if (t->open_keyed && same_key(t->open_key, key))
		new_key = NULL;

	/* Copy the tag first: in place, dst overwrites nothing past text_len, but
	 * OpenSSL wants a writable tag buffer. */
	memcpy(tag, src + text_len, WG_AEAD_TAG_LEN);
	if (src_len > INT_MAX || ad_len > INT_MAX ||
	    !EVP_DecryptInit_ex2(ctx, NULL, new_key, nonce, NULL) ||
	    (ad_len && !EVP_DecryptUpdate(ctx, NULL, &out_len, ad, (int)ad_len)) ||
	    !EVP_DecryptUpdate(ctx, dst, &out_len, src, (int)text_len) ||
	    !aead_tag_param(ctx, tag, true))
		abort();
	if (new_key) {
		memcpy(t->open_key, key, WG_KEY_LEN);
		t->open_keyed = true;
	}
	if (EVP_DecryptFinal_ex(ctx, dst + text_len, &out_len) <= 0) {
		/* OpenSSL decrypts before it verifies: do not leave unauthenticated plaintext. */
		wg_crypto_wipe(dst, text_len);
		return -EBADMSG;
	}
	return 0;
}

void wg_aead_seal(uint8_t *dst, const uint8_t *src, size_t src_len,
                  const uint8_t *ad, size_t ad_len, uint64_t counter,
                  const uint8_t key[WG_KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	counter_nonce(nonce, counter);
	if (src_len >= AEAD_OPENSSL_MIN_LEN) {
		aead_seal_openssl(dst, src, src_len, ad, ad_len, nonce, key);
		return;
	}
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(dst, dst + src_len, NULL, src, src_len,
	                                                   ad, ad_len, NULL, nonce, key);
}

int wg_aead_open(uint8_t *dst, const uint8_t *src, size_t src_len,
                 const uint8_t *ad, size_t ad_len, uint64_t counter,
                 const uint8_t key[WG_KEY_LEN])
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];

	if (src_len < WG_AEAD_TAG_LEN)
		return -EBADMSG;
	counter_nonce(nonce, counter);
	if (dst && src_len - WG_AEAD_TAG_LEN >= AEAD_OPENSSL_MIN_LEN)
		return aead_open_openssl(dst, src, src_len, ad, ad_len, nonce, key);
	if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(dst, NULL, src, src_len - WG_AEAD_TAG_LEN,
	                                                       src + src_len - WG_AEAD_TAG_LEN,
	                                                       ad, ad_len, nonce, key) != 0)
		return -EBADMSG;
	return 0;
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

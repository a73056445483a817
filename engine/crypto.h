/* engine/crypto.h - the WireGuard primitives, mapped onto libsodium and OpenSSL.
 *
 * Owned by engine-protocol. No cipher or hash is written here: X25519 and
 * XChaCha20-Poly1305 come from libsodium; BLAKE2s (plain, keyed, HMAC), HKDF,
 * ChaCha20 and Poly1305 from OpenSSL 3 libcrypto, the transport AEAD being
 * RFC 8439's composition of the last two (crypto.c says why). Every function
 * is thread-safe once wg_crypto_init() has returned 0; OpenSSL contexts are
 * cached per thread, so no call allocates after a thread's first use.
 * Failures return negative errno.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* Call once per process before anything else here (idempotent, thread-safe).
 * Returns 0, or -ENOSYS if libsodium or an OpenSSL algorithm is unavailable. */
int wg_crypto_init(void);

/* Zero memory in a way the compiler cannot drop. */
void wg_crypto_wipe(void *p, size_t len);
/* Constant-time equality. */
bool wg_crypto_equal(const void *a, const void *b, size_t len);
/* Fill with random bytes from the kernel CSPRNG. */
void wg_crypto_random(void *out, size_t len);
uint32_t wg_crypto_random_u32(void);

/* HASH(a || b): BLAKE2s-256. b may be NULL when b_len is 0. */
void wg_blake2s256(uint8_t out[WG_HASH_LEN], const void *a, size_t a_len,
                   const void *b, size_t b_len);
/* MAC(key, in): keyed BLAKE2s with a 16-byte output (mac1, mac2, cookies). */
void wg_blake2s_mac16(uint8_t out[WG_MAC_LEN], const uint8_t *key, size_t key_len,
                      const void *in, size_t in_len);
/* HMAC(key, in) with BLAKE2s-256 (RFC 2104). */
void wg_hmac_blake2s(uint8_t out[WG_HASH_LEN], const uint8_t key[WG_HASH_LEN],
                     const void *in, size_t in_len);
/* KDFn(chaining_key, input): HKDF (RFC 5869) over HMAC-BLAKE2s, n = number of
 * non-NULL outputs (1..3, filled in order out1, out2, out3). */
void wg_kdf(uint8_t *out1, uint8_t *out2, uint8_t *out3,
            const uint8_t chaining_key[WG_HASH_LEN], const void *input, size_t input_len);

/* X25519. wg_x25519() returns -EINVAL when the result is all zero (low-order point). */
int wg_x25519(uint8_t out[WG_KEY_LEN], const uint8_t scalar[WG_KEY_LEN],
              const uint8_t point[WG_KEY_LEN]);
/* Clamp a private key in place (as `wg genkey` does). */
void wg_x25519_clamp(uint8_t private_key[WG_KEY_LEN]);
void wg_x25519_generate(uint8_t private_key[WG_KEY_LEN], uint8_t public_key[WG_KEY_LEN]);
int wg_x25519_public(uint8_t public_key[WG_KEY_LEN], const uint8_t private_key[WG_KEY_LEN]);

/* AEAD(key, counter, plain, ad): ChaCha20-Poly1305 IETF with the 96-bit nonce
 * 32 zero bits || little-endian 64-bit counter. dst may equal src (in place).
 * seal writes src_len + 16 bytes; open reads src_len >= 16 bytes and writes
 * src_len - 16, returning -EBADMSG when authentication fails, in which case
 * it has written nothing (it checks the tag first); open's dst may be NULL to
 * only check. */
void wg_aead_seal(uint8_t *dst, const uint8_t *src, size_t src_len,
                  const uint8_t *ad, size_t ad_len, uint64_t counter,
                  const uint8_t key[WG_KEY_LEN]);
int wg_aead_open(uint8_t *dst, const uint8_t *src, size_t src_len,
                 const uint8_t *ad, size_t ad_len, uint64_t counter,
                 const uint8_t key[WG_KEY_LEN]);

/* XAEAD: XChaCha20-Poly1305 with a 24-byte random nonce (cookie replies). */
void wg_xaead_seal(uint8_t *dst, const uint8_t *src, size_t src_len,
                   const uint8_t *ad, size_t ad_len,
                   const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN]);
int wg_xaead_open(uint8_t *dst, const uint8_t *src, size_t src_len,
                  const uint8_t *ad, size_t ad_len,
                  const uint8_t nonce[WG_COOKIE_NONCE_LEN], const uint8_t key[WG_KEY_LEN]);

/* TAI64N label of the current wall-clock time (whitepaper 5.4.2): 8 bytes
 * big-endian 2^62 + 10 + seconds, 4 bytes big-endian nanoseconds, rounded down
 * to 1/WG_INITIATIONS_PER_SECOND granularity so the value leaks no fine timing. */
void wg_tai64n_now(uint8_t out[WG_TAI64N_LEN]);
/* Same for a given CLOCK_REALTIME value (tests). */
void wg_tai64n_from(uint8_t out[WG_TAI64N_LEN], uint64_t unix_seconds, uint32_t nanoseconds);

/* engine/messages.h - WireGuard wire formats and protocol constants.
 *
 * Owned by engine-protocol. The four message types of the WireGuard protocol
 * (whitepaper section 5.4) as packed structs with their exact sizes, plus the
 * timer and counter constants of section 6. All multi-byte integers on the
 * wire are little-endian; use the wg_le32/wg_le64 helpers.
 */
#pragma once

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WG_KEY_LEN 32
#define WG_HASH_LEN 32
#define WG_AEAD_TAG_LEN 16
#define WG_TAI64N_LEN 12
#define WG_COOKIE_LEN 16
#define WG_COOKIE_NONCE_LEN 24
#define WG_MAC_LEN 16

enum wg_message_type {
	WG_MSG_INITIATION = 1,
	WG_MSG_RESPONSE = 2,
	WG_MSG_COOKIE_REPLY = 3,
	WG_MSG_TRANSPORT = 4,
};

struct wg_msg_header {
	uint8_t type;
	uint8_t reserved[3];          /* zero; wireguard-go and Linux read type as a LE32 */
} __attribute__((packed));

/* Fields covered by mac1 end at mac1; mac2 covers everything before mac2. */
struct wg_msg_macs {
	uint8_t mac1[WG_MAC_LEN];
	uint8_t mac2[WG_MAC_LEN];
} __attribute__((packed));

struct wg_msg_initiation {
	struct wg_msg_header header;
	uint32_t sender_index;        /* little-endian */
	uint8_t unencrypted_ephemeral[WG_KEY_LEN];
	uint8_t encrypted_static[WG_KEY_LEN + WG_AEAD_TAG_LEN];
	uint8_t encrypted_timestamp[WG_TAI64N_LEN + WG_AEAD_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_response {
	struct wg_msg_header header;
	uint32_t sender_index;        /* little-endian */
	uint32_t receiver_index;      /* little-endian */
	uint8_t unencrypted_ephemeral[WG_KEY_LEN];
	uint8_t encrypted_nothing[WG_AEAD_TAG_LEN];
	struct wg_msg_macs macs;
} __attribute__((packed));

struct wg_msg_cookie_reply {
	struct wg_msg_header header;
	uint32_t receiver_index;      /* little-endian */
	uint8_t nonce[WG_COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[WG_COOKIE_LEN + WG_AEAD_TAG_LEN];
} __attribute__((packed));

/* Followed by the encrypted, zero-padded (to 16) packet and a 16-byte tag. */
struct wg_msg_transport {
	struct wg_msg_header header;
	uint32_t receiver_index;      /* little-endian */
	uint64_t counter;             /* little-endian; also the AEAD nonce */
	uint8_t encrypted_packet[];
} __attribute__((packed));

_Static_assert(sizeof(struct wg_msg_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct wg_msg_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct wg_msg_cookie_reply) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct wg_msg_transport) == 16, "transport header is 16 bytes");

#define WG_MSG_INITIATION_LEN  sizeof(struct wg_msg_initiation)
#define WG_MSG_RESPONSE_LEN    sizeof(struct wg_msg_response)
#define WG_MSG_COOKIE_REPLY_LEN sizeof(struct wg_msg_cookie_reply)
#define WG_MSG_TRANSPORT_HEADER_LEN sizeof(struct wg_msg_transport)
/* Smallest transport message: header + tag (a keepalive, zero-length payload). */
#define WG_MSG_TRANSPORT_MIN_LEN (WG_MSG_TRANSPORT_HEADER_LEN + WG_AEAD_TAG_LEN)
/* Transport payloads are padded to a multiple of this (whitepaper 5.4.6). */
#define WG_MSG_PADDING 16
/* Bytes a transport message adds around an IP packet (before padding). */
#define WG_MSG_TRANSPORT_OVERHEAD (WG_MSG_TRANSPORT_HEADER_LEN + WG_AEAD_TAG_LEN)

/* Protocol constants (whitepaper 6.1), times in seconds. */
#define WG_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))
#define WG_REKEY_AFTER_TIME 120
#define WG_REJECT_AFTER_TIME 180
#define WG_REKEY_ATTEMPT_TIME 90
#define WG_REKEY_TIMEOUT 5
#define WG_KEEPALIVE_TIMEOUT 10
#define WG_COOKIE_SECRET_MAX_AGE 120
/* A cookie received is usable for this long (secret age minus a latency margin). */
#define WG_COOKIE_MAX_AGE (WG_COOKIE_SECRET_MAX_AGE - 5)
/* At most this many initiations per second are consumed per peer (flood guard). */
#define WG_INITIATIONS_PER_SECOND 50
#define WG_MAX_TIMER_HANDSHAKES (90 / 5)

#define WG_NSEC_PER_SEC UINT64_C(1000000000)

static inline uint32_t wg_le32(uint32_t v) { return le32toh(v); }
static inline uint64_t wg_le64(uint64_t v) { return le64toh(v); }

/*
 * Classify a received UDP payload by type and exact length, before any crypto.
 * Returns the message type, or 0 if the bytes cannot be a WireGuard message
 * (unknown type, nonzero reserved bytes, wrong length). Like wireguard-go and
 * the Linux module, the type is the whole first little-endian 32-bit word.
 */
static inline enum wg_message_type wg_msg_classify(const uint8_t *buf, size_t len)
{
	if (len < sizeof(struct wg_msg_header) || buf[1] || buf[2] || buf[3])
		return 0;
	switch (buf[0]) {
	case WG_MSG_INITIATION:
		return len == WG_MSG_INITIATION_LEN ? WG_MSG_INITIATION : 0;
	case WG_MSG_RESPONSE:
		return len == WG_MSG_RESPONSE_LEN ? WG_MSG_RESPONSE : 0;
	case WG_MSG_COOKIE_REPLY:
		return len == WG_MSG_COOKIE_REPLY_LEN ? WG_MSG_COOKIE_REPLY : 0;
	case WG_MSG_TRANSPORT:
		return len >= WG_MSG_TRANSPORT_MIN_LEN ? WG_MSG_TRANSPORT : 0;
	default:
		return 0;
	}
}

/* The receiver index of a response, cookie reply or transport message (host order). */
static inline uint32_t wg_msg_receiver_index(const uint8_t *buf)
{
	uint32_t v;
	memcpy(&v, buf + (buf[0] == WG_MSG_RESPONSE ? 8 : 4), sizeof(v));
	return le32toh(v);
}

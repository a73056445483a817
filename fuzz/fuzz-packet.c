/* fuzz/fuzz-packet.c - libFuzzer target for the engine's receive-side packet handling.
 *
 * Owned by engine-protocol. Every UDP payload the engine can receive goes
 * through the same steps as in the device: classify by type and length, mac1
 * (and mac2 under load) for handshake messages, then the consume function for
 * the type against live state: a responder identity, a peer handshake with an
 * initiation pending under the message's receiver index, a cookie maker that
 * has sent a mac1, and an established keypair. Anything decrypted is looked up
 * in an allowed-IPs table as the device would. State is reset per input so a
 * crash reproduces from one file.
 *
 * Inputs are read two ways:
 *  - raw: the bytes are the UDP payload (reaches parsing, mac and
 *    authentication failures);
 *  - mask: first byte 0xf0..0xf3 picks a valid message built at start-up
 *    (initiation, response, cookie reply, transport), the second byte holds
 *    flags, the rest is XORed onto the message. Zero mask bytes keep fields
 *    valid, so the fuzzer reaches the success paths and their edges (timestamp
 *    and flood checks, session start, replay window, decrypted payloads).
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzzing=true && ninja -C build-fuzz fuzz/fuzz-packet
 * Run:   build-fuzz/fuzz/fuzz-packet -max_total_time=60 [corpus-dir]
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "allowedips.h"
#include "cookie.h"
#include "crypto.h"
#include "messages.h"
#include "noise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FLAG_UNDER_LOAD 1
#define FLAG_SKIP_MAC1 2
#define FLAG_SEAL_MODE 4
#define FLAG_FIX_MACS 8

struct fuzz_state {
	struct wg_static_identity us, them;
	struct wg_handshake our_view;      /* our handshake with "them" */
	struct wg_handshake pending;       /* a copy with our initiation outstanding */
	struct wg_cookie_checker checker;
	struct wg_cookie_maker maker;      /* has sent mac1 of our initiation */
	struct wg_cookie_maker their_maker;/* "them" adding macs for us */
	struct wg_keypair receiving;       /* ours, from a finished handshake */
	struct wg_allowedips allowed;
	uint8_t valid[4][256];
	size_t valid_len[4];
};

static struct fuzz_state *state;
static int peer_token;

static void keypair_copy(struct wg_keypair *dst, const struct wg_keypair *src)
{
	memcpy(dst->send_key, src->send_key, WG_KEY_LEN);
	memcpy(dst->receive_key, src->receive_key, WG_KEY_LEN);
	dst->local_index = src->local_index;
	dst->remote_index = src->remote_index;
	dst->created_ns = src->created_ns;
	dst->is_initiator = src->is_initiator;
	atomic_init(&dst->send_counter, 0);
	pthread_spin_init(&dst->replay_lock, PTHREAD_PROCESS_PRIVATE);
	wg_replay_init(&dst->replay);
}

static void setup(void)
{
	static const uint8_t inner[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0,
		10, 0, 0, 5, 10, 0, 0, 1, 0x12, 0x34, 0x56, 0x78, 0, 8, 0, 0 };
	uint8_t priv[32];
	struct wg_handshake theirs, theirs2, ours2;
	struct wg_initiation_parsed parsed;
	struct wg_msg_initiation our_init;
	struct wg_cookie_checker their_checker;
	struct wg_keypair their_kp;
	uint64_t counter;

	if (wg_crypto_init() != 0)
		__builtin_trap();
	state = calloc(1, sizeof(*state));
	memset(priv, 0x11, sizeof(priv));
	wg_static_identity_set(&state->us, priv);
	memset(priv, 0x22, sizeof(priv));
	wg_static_identity_set(&state->them, priv);
	wg_handshake_init(&state->our_view, &state->us, state->them.public_key, NULL);
	wg_cookie_checker_init(&state->checker);
	wg_cookie_checker_set_identity(&state->checker, state->us.public_key);
	wg_cookie_maker_init(&state->maker, state->them.public_key);
	wg_cookie_maker_init(&state->their_maker, state->us.public_key);
	wg_allowedips_init(&state->allowed, NULL);
	wg_allowedips_insert(&state->allowed, AF_INET, "\x0a\x00\x00\x00", 8, &peer_token);
	wg_allowedips_insert(&state->allowed, AF_INET6, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 8, &peer_token);

	/* 0: an initiation from them to us. */
	wg_handshake_init(&theirs, &state->them, state->us.public_key, NULL);
	wg_noise_create_initiation(&theirs, &state->them, (struct wg_msg_initiation *)state->valid[0], 0x1000);
	wg_cookie_add_macs(&state->their_maker, state->valid[0], WG_MSG_INITIATION_LEN, 1);
	state->valid_len[0] = WG_MSG_INITIATION_LEN;

	/* 1: their response to our pending initiation (index 1). */
	state->pending = state->our_view;
	wg_noise_create_initiation(&state->pending, &state->us, &our_init, 1);
	wg_cookie_add_macs(&state->maker, (uint8_t *)&our_init, sizeof(our_init), 1);
	theirs2 = theirs;
	wg_handshake_init(&theirs2, &state->them, state->us.public_key, NULL);
	if (wg_noise_consume_initiation_begin(&state->them, &our_init, &parsed) != 0 ||
	    wg_noise_consume_initiation_finish(&theirs2, &state->them, &our_init, &parsed, 1) != 0 ||
	    wg_noise_create_response(&theirs2, &state->them, (struct wg_msg_response *)state->valid[1], 0x2000) != 0)
		__builtin_trap();
	wg_cookie_add_macs(&state->their_maker, state->valid[1], WG_MSG_RESPONSE_LEN, 1);
	state->valid_len[1] = WG_MSG_RESPONSE_LEN;

	/* 2: their cookie reply to our initiation. */
	wg_cookie_checker_init(&their_checker);
	wg_cookie_checker_set_identity(&their_checker, state->them.public_key);
	wg_cookie_create_reply(&their_checker, (struct wg_msg_cookie_reply *)state->valid[2],
	                       (uint8_t *)&our_init, sizeof(our_init), (const uint8_t *)"src", 3, 1);
	wg_cookie_checker_destroy(&their_checker);
	state->valid_len[2] = WG_MSG_COOKIE_REPLY_LEN;

	/* 3: a transport packet (UDP from 10.0.0.5) on a finished session. */
	ours2 = state->pending;
	if (wg_noise_consume_response(&ours2, &state->us, (struct wg_msg_response *)state->valid[1]) != 0 ||
	    wg_noise_begin_session(&ours2, &state->receiving, 1) != 0 ||
	    wg_noise_begin_session(&theirs2, &their_kp, 1) != 0)
		__builtin_trap();
	for (int i = 0; i < 3; i++)
		wg_keypair_take_counter(&their_kp, &counter);
	memcpy(state->valid[3] + WG_MSG_TRANSPORT_HEADER_LEN, inner, sizeof(inner));
	state->valid_len[3] = (size_t)wg_transport_seal(&their_kp, counter, state->valid[3], sizeof(inner),
	                                                 32, sizeof(state->valid[3]));
	wg_keypair_clear(&their_kp);
}

static void process(uint8_t *buf, size_t size, unsigned flags, const struct wg_keypair *kp_template)
{
	static const uint8_t source[6] = { 127, 0, 0, 1, 0xca, 0x6c };
	bool under_load = flags & FLAG_UNDER_LOAD;
	struct wg_handshake hs;
	struct wg_cookie_maker maker;
	struct wg_initiation_parsed parsed;
	struct wg_msg_cookie_reply reply;

	switch (wg_msg_classify(buf, size)) {
	case WG_MSG_INITIATION:
		if (wg_cookie_check(&state->checker, buf, size, source, sizeof(source), under_load, 1) ==
		    WG_MAC_INVALID && !(flags & FLAG_SKIP_MAC1))
			return;
		if (under_load)
			wg_cookie_create_reply(&state->checker, &reply, buf, size, source, sizeof(source), 1);
		if (wg_noise_consume_initiation_begin(&state->us, (struct wg_msg_initiation *)buf, &parsed) == 0) {
			hs = state->our_view;
			if (wg_noise_consume_initiation_finish(&hs, &state->us, (struct wg_msg_initiation *)buf,
			                                       &parsed, 1) == 0) {
				struct wg_msg_response resp;
				struct wg_keypair kp;
				if (wg_noise_create_response(&hs, &state->us, &resp, 2) == 0 &&
				    wg_noise_begin_session(&hs, &kp, 1) == 0)
					wg_keypair_clear(&kp);
			}
		}
		break;
	case WG_MSG_RESPONSE:
		if (wg_cookie_check(&state->checker, buf, size, source, sizeof(source), under_load, 1) ==
		    WG_MAC_INVALID && !(flags & FLAG_SKIP_MAC1))
			return;
		hs = state->pending;
		/* Reach the cryptographic checks whatever index the input carries. */
		hs.local_index = wg_msg_receiver_index(buf);
		if (wg_noise_consume_response(&hs, &state->us, (struct wg_msg_response *)buf) == 0) {
			struct wg_keypair kp;
			if (wg_noise_begin_session(&hs, &kp, 1) == 0)
				wg_keypair_clear(&kp);
		}
		break;
	case WG_MSG_COOKIE_REPLY:
		maker = state->maker;
		wg_cookie_consume_reply(&maker, (struct wg_msg_cookie_reply *)buf, 1);
		break;
	case WG_MSG_TRANSPORT: {
		struct wg_keypair kp;
		ssize_t n;
		memset(&kp, 0, sizeof(kp));
		keypair_copy(&kp, kp_template);
		if (flags & FLAG_SEAL_MODE) {
			/* The input is a plaintext and counter: the round trip must
			 * succeed once and then be refused as a replay. */
			uint64_t counter;
			size_t plain = size - WG_MSG_TRANSPORT_OVERHEAD;
			memcpy(&counter, buf + 8, sizeof(counter));
			counter = le64toh(counter);
			if (wg_transport_seal(&kp, counter, buf, plain, plain, 2048) != (ssize_t)size)
				__builtin_trap();
			n = wg_transport_open(&kp, buf, size, NULL);
			if (counter < WG_REJECT_AFTER_MESSAGES) {
				uint8_t again[64];
				if (n != (ssize_t)plain)
					__builtin_trap();
				wg_transport_seal(&kp, counter, again, 0, 0, sizeof(again));
				if (wg_transport_open(&kp, again, WG_MSG_TRANSPORT_MIN_LEN, NULL) != -EALREADY)
					__builtin_trap();
			} else if (n != -EKEYEXPIRED) {
				__builtin_trap();
			}
		} else {
			n = wg_transport_open(&kp, buf, size, NULL);
			/* Once accepted, the same message must never be accepted again. */
			if (n >= 0 && wg_transport_open(&kp, buf, size, NULL) != -EALREADY)
				__builtin_trap();
		}
		if (n > 0)
			wg_allowedips_lookup_src(&state->allowed, buf + WG_MSG_TRANSPORT_HEADER_LEN, (size_t)n);
		pthread_spin_destroy(&kp.replay_lock);
		break;
	}
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct wg_keypair zero_keys;
	uint8_t buf[2048];

	if (!state)
		setup();
	if (size > sizeof(buf) - 64)
		return 0;
	if (size >= 2 && data[0] >= 0xf0 && data[0] <= 0xf3) {
		unsigned which = data[0] - 0xf0, flags = data[1];
		size_t len = state->valid_len[which];
		memcpy(buf, state->valid[which], len);
		for (size_t i = 2; i < size && i - 2 < len; i++)
			buf[i - 2] ^= data[i];
		if ((flags & FLAG_FIX_MACS) && which < 2) {
			struct wg_cookie_maker m = state->their_maker;
			wg_cookie_add_macs(&m, buf, len, 1);
		}
		process(buf, len, flags & ~FLAG_SEAL_MODE, &state->receiving);
		return 0;
	}
	memcpy(buf, data, size);
	/* The last byte of a raw input picks the flags, so every path is reached. */
	process(buf, size, size ? data[size - 1] : 0, &zero_keys);
	/* Whatever the bytes, packet-header lookups must be safe on them. */
	wg_allowedips_lookup_dst(&state->allowed, data, size);
	wg_allowedips_lookup_src(&state->allowed, data, size);
	return 0;
}

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

struct fuzz_state {
	struct wg_static_identity us, them;
	struct wg_handshake our_view;      /* our handshake with "them" */
	struct wg_handshake pending;       /* a copy with an initiation outstanding */
	struct wg_cookie_checker checker;
	struct wg_cookie_maker maker;
	struct wg_keypair keypair;
	struct wg_allowedips allowed;
};

static struct fuzz_state *state;
static int peer_token;

static void setup(void)
{
	uint8_t priv[32];
	struct wg_msg_initiation init;

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
	state->pending = state->our_view;
	wg_noise_create_initiation(&state->pending, &state->us, &init, 1);
	wg_cookie_add_macs(&state->maker, (uint8_t *)&init, sizeof(init), 1);
	wg_allowedips_init(&state->allowed, NULL);
	wg_allowedips_insert(&state->allowed, AF_INET, "\x0a\x00\x00\x00", 8, &peer_token);
	wg_allowedips_insert(&state->allowed, AF_INET6, "\xfd\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 8, &peer_token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t source[6] = { 127, 0, 0, 1, 0xca, 0x6c };
	uint8_t buf[2048];
	struct wg_handshake hs;
	struct wg_cookie_maker maker;
	struct wg_initiation_parsed parsed;
	struct wg_msg_cookie_reply reply;
	bool under_load;

	if (!state)
		setup();
	if (size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	/* The last byte of the input decides the load state, so both paths are reached. */
	under_load = size > 0 && (data[size - 1] & 1);

	switch (wg_msg_classify(buf, size)) {
	case WG_MSG_INITIATION:
		if (wg_cookie_check(&state->checker, buf, size, source, sizeof(source), under_load, 1) ==
		    WG_MAC_INVALID && !(data[size - 1] & 2))
			return 0; /* half the time, skip mac1 to reach the handshake code */
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
		wg_cookie_check(&state->checker, buf, size, source, sizeof(source), under_load, 1);
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
		pthread_spin_init(&kp.replay_lock, PTHREAD_PROCESS_PRIVATE);
		wg_replay_init(&kp.replay);
		if (data[size - 1] & 4) {
			/* Seal mode: the input is a plaintext and counter; the round trip
			 * must succeed once and then be refused as a replay. */
			uint64_t counter;
			size_t plain = size - WG_MSG_TRANSPORT_OVERHEAD;
			memcpy(&counter, buf + 8, sizeof(counter));
			counter = le64toh(counter);
			if (wg_transport_seal(&kp, counter, buf, plain, plain, sizeof(buf)) != (ssize_t)size)
				__builtin_trap();
			n = wg_transport_open(&kp, buf, size, NULL);
			if (counter < WG_REJECT_AFTER_MESSAGES) {
				uint8_t again[2048];
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
		}
		if (n > 0)
			wg_allowedips_lookup_src(&state->allowed, buf + WG_MSG_TRANSPORT_HEADER_LEN, (size_t)n);
		pthread_spin_destroy(&kp.replay_lock);
		break;
	}
	default:
		break;
	}
	/* Whatever the bytes, packet-header lookups must be safe on them. */
	wg_allowedips_lookup_dst(&state->allowed, data, size);
	wg_allowedips_lookup_src(&state->allowed, data, size);
	return 0;
}

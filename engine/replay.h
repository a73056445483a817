/* engine/replay.h - sliding replay window for transport counters (RFC 6479 style).
 *
 * Owned by engine-protocol. A bitmap of WG_REPLAY_WINDOW_BITS bits in 64-bit
 * blocks used as a ring; the window accepts counters up to
 * WG_REPLAY_WINDOW_SIZE behind the greatest seen. Not locked: the caller
 * serialises (wg_transport_open() does, with the keypair's spinlock). Only call
 * wg_replay_check_and_update() after the packet authenticated.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define WG_REPLAY_WINDOW_BITS 8192
#define WG_REPLAY_BLOCK_BITS 64
#define WG_REPLAY_BLOCKS (WG_REPLAY_WINDOW_BITS / WG_REPLAY_BLOCK_BITS)
/* One block is always being recycled, so this many counters back are accepted. */
#define WG_REPLAY_WINDOW_SIZE (WG_REPLAY_WINDOW_BITS - WG_REPLAY_BLOCK_BITS)

struct wg_replay_window {
	uint64_t greatest;           /* highest counter accepted + 1 (0: none yet) */
	uint64_t blocks[WG_REPLAY_BLOCKS];
};

void wg_replay_init(struct wg_replay_window *w);
/* Returns true and records counter if it is new and inside the window (and
 * below `limit`, normally WG_REJECT_AFTER_MESSAGES); false for duplicates,
 * counters too far behind, or >= limit. */
bool wg_replay_check_and_update(struct wg_replay_window *w, uint64_t counter, uint64_t limit);
/* The same verdict without recording: lets a receiver drop an obvious replay
 * before paying for decryption. Only check_and_update() after authentication
 * may change the window. */
bool wg_replay_would_accept(const struct wg_replay_window *w, uint64_t counter, uint64_t limit);

/* engine/replay.c - sliding replay window for transport counters.
 *
 * Owned by engine-protocol. The window is a ring of 64-bit blocks (RFC 6479,
 * section 2): moving forward clears only the blocks skipped over, so the cost
 * of a jump is bounded by the ring size and an in-order packet touches one
 * word. Counters are stored shifted by one so that 0 means "nothing seen".
 */
#include "replay.h"

#include <string.h>

void wg_replay_init(struct wg_replay_window *w)
{
	memset(w, 0, sizeof(*w));
}

bool wg_replay_would_accept(const struct wg_replay_window *w, uint64_t counter, uint64_t limit)
{
	uint64_t shifted;

	if (counter >= limit || counter == UINT64_MAX)
		return false;
	shifted = counter + 1;
	if (shifted > w->greatest)
		return true;
	if (w->greatest - shifted > WG_REPLAY_WINDOW_SIZE)
		return false;
	return !(w->blocks[(shifted / WG_REPLAY_BLOCK_BITS) % WG_REPLAY_BLOCKS] &
	         (UINT64_C(1) << (shifted % WG_REPLAY_BLOCK_BITS)));
}

bool wg_replay_check_and_update(struct wg_replay_window *w, uint64_t counter, uint64_t limit)
{
	uint64_t shifted, block, current_block, skipped, bit;

	if (counter >= limit || counter == UINT64_MAX)
		return false;
	shifted = counter + 1;
	/* Too far behind: its block may already be recycled for newer counters. */
	if (shifted < w->greatest && w->greatest - shifted > WG_REPLAY_WINDOW_SIZE)
		return false;
	block = shifted / WG_REPLAY_BLOCK_BITS;
	if (shifted > w->greatest) {
		current_block = w->greatest / WG_REPLAY_BLOCK_BITS;
		skipped = block - current_block;
		if (skipped > WG_REPLAY_BLOCKS)
			skipped = WG_REPLAY_BLOCKS;
		for (uint64_t i = 1; i <= skipped; i++)
			w->blocks[(current_block + i) % WG_REPLAY_BLOCKS] = 0;
		w->greatest = shifted;
	}
	bit = UINT64_C(1) << (shifted % WG_REPLAY_BLOCK_BITS);
	if (w->blocks[block % WG_REPLAY_BLOCKS] & bit)
		return false;
	w->blocks[block % WG_REPLAY_BLOCKS] |= bit;
	return true;
}

/* tests/unit/test-wg-replay.c - the transport replay window (engine/replay.c). */
#include <glib.h>

#include "messages.h"
#include "replay.h"

#define LIMIT WG_REJECT_AFTER_MESSAGES

static void test_in_order(void)
{
	struct wg_replay_window w;

	wg_replay_init(&w);
	for (uint64_t i = 0; i < 20000; i++)
		g_assert_true(wg_replay_check_and_update(&w, i, LIMIT));
	for (uint64_t i = 20000 - WG_REPLAY_WINDOW_SIZE; i < 20000; i++)
		g_assert_false(wg_replay_check_and_update(&w, i, LIMIT));
}

static void test_duplicate(void)
{
	struct wg_replay_window w;

	wg_replay_init(&w);
	g_assert_true(wg_replay_check_and_update(&w, 0, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 0, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 5, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 5, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 3, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 3, LIMIT));
}

static void test_reordered(void)
{
	struct wg_replay_window w;
	uint64_t order[] = { 2, 0, 1, 7, 3, 6, 4, 5, 64, 63, 65, 128, 100, 127 };

	wg_replay_init(&w);
	for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
		g_assert_true(wg_replay_check_and_update(&w, order[i], LIMIT));
	for (size_t i = 0; i < G_N_ELEMENTS(order); i++)
		g_assert_false(wg_replay_check_and_update(&w, order[i], LIMIT));
	/* Gaps left behind are still acceptable once. */
	g_assert_true(wg_replay_check_and_update(&w, 8, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 99, LIMIT));
}

static void test_too_old(void)
{
	struct wg_replay_window w;
	uint64_t top = 100000;

	wg_replay_init(&w);
	g_assert_true(wg_replay_check_and_update(&w, top, LIMIT));
	/* Exactly the window size behind is the oldest acceptable counter. */
	g_assert_true(wg_replay_check_and_update(&w, top - WG_REPLAY_WINDOW_SIZE, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, top - WG_REPLAY_WINDOW_SIZE - 1, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 0, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, top - 1, LIMIT));
}

static void test_jump_ahead(void)
{
	struct wg_replay_window w;

	wg_replay_init(&w);
	for (uint64_t i = 0; i < 100; i++)
		g_assert_true(wg_replay_check_and_update(&w, i, LIMIT));
	/* Jump further than the whole ring: every old bit must be forgotten... */
	g_assert_true(wg_replay_check_and_update(&w, 1000000, LIMIT));
	/* ...and counters in recycled blocks that are inside the new window are fresh. */
	g_assert_true(wg_replay_check_and_update(&w, 1000000 - 100, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 1000000 - 64, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 1000000, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 50, LIMIT));
	/* Jump by less than the ring: bits of the skipped blocks are cleared. */
	g_assert_true(wg_replay_check_and_update(&w, 1000000 + 3 * 64 + 5, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 1000000 + 64, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, 1000000 + 1, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 1000000 - 64, LIMIT));
}

static void test_limit(void)
{
	struct wg_replay_window w;

	wg_replay_init(&w);
	g_assert_false(wg_replay_check_and_update(&w, LIMIT, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, UINT64_MAX, UINT64_MAX));
	g_assert_true(wg_replay_check_and_update(&w, LIMIT - 1, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, LIMIT - 1, LIMIT));
	g_assert_true(wg_replay_check_and_update(&w, LIMIT - 2, LIMIT));
	g_assert_false(wg_replay_check_and_update(&w, 0, LIMIT));
}

/* Compare with a plain set-based model over a random walk. */
static void test_against_model(void)
{
	struct wg_replay_window w;
	GHashTable *seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	GRand *rand = g_rand_new_with_seed(6479);
	uint64_t greatest = 0;
	bool any = false;

	wg_replay_init(&w);
	for (int i = 0; i < 200000; i++) {
		int64_t delta = g_rand_int_range(rand, -9000, 200);
		int64_t c64 = (int64_t)greatest + delta;
		uint64_t c = c64 < 0 ? 0 : (uint64_t)c64;
		bool expected = !g_hash_table_contains(seen, &(gint64){ (gint64)c }) &&
			(!any || c > greatest || greatest - c <= WG_REPLAY_WINDOW_SIZE - 1 ||
			 (greatest - c == WG_REPLAY_WINDOW_SIZE));
		/* The window guarantees WINDOW_SIZE; older counters must be refused. */
		if (any && c < greatest && greatest - c > WG_REPLAY_WINDOW_SIZE)
			expected = false;
		g_assert_cmpint(wg_replay_would_accept(&w, c, LIMIT), ==, expected);
		bool got = wg_replay_check_and_update(&w, c, LIMIT);
		g_assert_cmpint(got, ==, expected);
		if (got) {
			gint64 *k = g_new(gint64, 1);
			*k = (gint64)c;
			g_hash_table_add(seen, k);
			if (!any || c > greatest)
				greatest = c;
			any = true;
		}
	}
	g_rand_free(rand);
	g_hash_table_destroy(seen);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/wg/replay/in-order", test_in_order);
	g_test_add_func("/wg/replay/duplicate", test_duplicate);
	g_test_add_func("/wg/replay/reordered", test_reordered);
	g_test_add_func("/wg/replay/too-old", test_too_old);
	g_test_add_func("/wg/replay/jump-ahead", test_jump_ahead);
	g_test_add_func("/wg/replay/limit", test_limit);
	g_test_add_func("/wg/replay/model", test_against_model);
	return g_test_run();
}

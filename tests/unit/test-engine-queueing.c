/* test-engine-queueing.c - the crypto workers (engine/queueing.c) keep
 * per-peer order: packets sealed by several workers that finish in random
 * order (random delays inside the jobs) come out in input order, none lost
 * or duplicated, and a receiver opening them with parallel workers and
 * moving its replay window in arrival order accepts every one; a replayed
 * batch is refused whole. Also: every job runs exactly once for odd batch
 * sizes, chunk sizes and worker counts, and back-to-back batches do not mix,
 * also in the data threads' adaptive mode. */
#include <glib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "noise.h"
#include "queueing.h"

#define N_PKTS 1000
#define PKT_MAX 1500
#define BUF_SIZE (WG_MSG_TRANSPORT_HEADER_LEN + PKT_MAX + WG_MSG_PADDING + WG_AEAD_TAG_LEN)

static void make_session(struct wg_keypair *ka, struct wg_keypair *kb)
{
	struct wg_static_identity a, b;
	struct wg_handshake ha, hb;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;
	uint8_t priv[32], pub[32];

	g_assert_cmpint(wg_crypto_init(), ==, 0);
	wg_x25519_generate(priv, pub);
	g_assert_cmpint(wg_static_identity_set(&a, priv), ==, 0);
	wg_x25519_generate(priv, pub);
	g_assert_cmpint(wg_static_identity_set(&b, priv), ==, 0);
	wg_handshake_init(&ha, &a, b.public_key, NULL);
	wg_handshake_init(&hb, &b, a.public_key, NULL);
	g_assert_cmpint(wg_noise_create_initiation(&ha, &a, &init, 1), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_begin(&b, &init, &parsed), ==, 0);
	g_assert_cmpint(wg_noise_consume_initiation_finish(&hb, &b, &init, &parsed, 1), ==, 0);
	g_assert_cmpint(wg_noise_create_response(&hb, &b, &resp, 2), ==, 0);
	g_assert_cmpint(wg_noise_consume_response(&ha, &a, &resp), ==, 0);
	g_assert_cmpint(wg_noise_begin_session(&ha, ka, 1), ==, 0);
	g_assert_cmpint(wg_noise_begin_session(&hb, kb, 1), ==, 0);
}

struct batch {
	struct wg_keypair *kp;
	uint8_t *buf[N_PKTS];
	size_t plain_len[N_PKTS];
	uint64_t counter[N_PKTS];
	ssize_t result[N_PKTS];
	uint64_t opened_counter[N_PKTS];
	unsigned n;
	gint calls[N_PKTS];		/* how often a job ran */
	gint order_seen;		/* completion order differed from input order */
	gint last_finished;
	unsigned max_delay_us;
};

/* a delay of 0..max_delay_us, different per job and per run */
static void random_delay(struct batch *b)
{
	unsigned us = b->max_delay_us ? (unsigned)g_random_int_range(0, (gint32)b->max_delay_us + 1) : 0;

	if (us) {
		struct timespec ts = { 0, (long)us * 1000 };

		nanosleep(&ts, NULL);
	}
}

static void note_finished(struct batch *b, unsigned i)
{
	gint prev = g_atomic_int_get(&b->last_finished);

	if ((gint)i < prev)
		g_atomic_int_set(&b->order_seen, 1);
	g_atomic_int_set(&b->last_finished, (gint)i);
	g_atomic_int_inc(&b->calls[i]);
}

static void seal_jobs(void *ctx, unsigned first, unsigned count)
{
	struct batch *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		random_delay(b);
		b->result[i] = wg_transport_seal(b->kp, b->counter[i], b->buf[i], b->plain_len[i],
						 wg_transport_padded_len(b->plain_len[i], 1420), BUF_SIZE);
		note_finished(b, i);
	}
}

static void open_jobs(void *ctx, unsigned first, unsigned count)
{
	struct batch *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		random_delay(b);
		b->result[i] = wg_transport_decrypt(b->kp, b->buf[i], (size_t)b->result[i], &b->opened_counter[i]);
		note_finished(b, i);
	}
}

static void run_order(unsigned workers, unsigned chunk, unsigned max_delay_us)
{
	struct wg_keypair ka, kb;
	struct rv_workers w;
	struct batch *b = g_new0(struct batch, 1);
	uint8_t **copy = g_new0(uint8_t *, N_PKTS);
	bool any_out_of_order = false;
	unsigned i;

	make_session(&ka, &kb);
	g_assert_cmpint(rv_workers_init(&w, workers), ==, 0);
	g_assert_cmpuint(w.n_helpers, ==, workers - 1);
	b->n = N_PKTS;
	b->max_delay_us = max_delay_us;
	/* serial stage: plaintexts numbered in arrival order, counters taken in that order */
	for (i = 0; i < b->n; i++) {
		b->buf[i] = g_malloc0(BUF_SIZE);
		b->plain_len[i] = 40 + (size_t)g_random_int_range(0, PKT_MAX - 40);
		memset(b->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN, (int)(i & 0xff), b->plain_len[i]);
		memcpy(b->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN, &i, sizeof(i));
		copy[i] = g_memdup2(b->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN, b->plain_len[i]);
		g_assert_cmpint(wg_keypair_take_counter(&ka, &b->counter[i]), ==, 0);
	}
	/* parallel: seal */
	b->kp = &ka;
	b->last_finished = -1;
	rv_workers_run(&w, seal_jobs, b, b->n, chunk);
	any_out_of_order |= b->order_seen;
	for (i = 0; i < b->n; i++) {
		uint64_t c;

		g_assert_cmpint(b->calls[i], ==, 1);	/* no job lost or run twice */
		g_assert_cmpint(b->result[i], >, 0);
		/* output slot i holds packet i with counter i: the order packets
		 * leave in is the order they came in */
		memcpy(&c, b->buf[i] + 8, sizeof(c));
		g_assert_cmpuint(GUINT64_FROM_LE(c), ==, i);
		b->calls[i] = 0;
	}
	/* parallel: open (window not moved) ... */
	b->kp = &kb;
	b->order_seen = 0;
	b->last_finished = -1;
	rv_workers_run(&w, open_jobs, b, b->n, chunk);
	any_out_of_order |= b->order_seen;
	/* ... serial: the window moves in arrival order and accepts them all */
	for (i = 0; i < b->n; i++) {
		unsigned tag;

		g_assert_cmpint(b->calls[i], ==, 1);
		g_assert_cmpint(b->result[i], >=, (ssize_t)b->plain_len[i]);
		g_assert_cmpuint(b->opened_counter[i], ==, i);
		g_assert_cmpint(wg_transport_accept_counter(&kb, b->opened_counter[i]), ==, 0);
		memcpy(&tag, b->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN, sizeof(tag));
		g_assert_cmpuint(tag, ==, i);
		g_assert_true(memcmp(b->buf[i] + WG_MSG_TRANSPORT_HEADER_LEN, copy[i], b->plain_len[i]) == 0);
	}
	/* the same counters again are replays, whatever worker sees them */
	for (i = 0; i < b->n; i++)
		g_assert_cmpint(wg_transport_accept_counter(&kb, b->opened_counter[i]), ==, -EALREADY);
	/* with delays and more than one worker, completion order really was
	 * shuffled at least once: the test exercised reordering */
	if (workers > 1 && max_delay_us)
		g_assert_true(any_out_of_order);
	rv_workers_destroy(&w);
	for (i = 0; i < b->n; i++) {
		g_free(b->buf[i]);
		g_free(copy[i]);
	}
	g_free(copy);
	g_free(b);
	wg_keypair_clear(&ka);
	wg_keypair_clear(&kb);
}

static void test_order_one_worker(void) { run_order(1, 8, 0); }
static void test_order_two_workers_delays(void) { run_order(2, 1, 200); }
static void test_order_four_workers_delays(void) { run_order(4, 3, 200); }
static void test_order_eight_workers_chunks(void) { run_order(8, 16, 50); }

struct count_ctx {
	gint *hits;
	unsigned round;
	gint *round_seen;
};

static void count_jobs(void *ctx, unsigned first, unsigned count)
{
	struct count_ctx *c = ctx;
	unsigned i;

	for (i = first; i < first + count; i++) {
		g_atomic_int_inc(&c->hits[i]);
		g_atomic_int_set(&c->round_seen[i], (gint)c->round);
	}
}

/* Many back-to-back batches of odd sizes: each job of each batch exactly
 * once, and no job of one batch runs under the next batch's context. */
static void run_exactly_once(bool adaptive)
{
	static const unsigned workers[] = { 1, 2, 3, 5 };
	unsigned wi;

	for (wi = 0; wi < G_N_ELEMENTS(workers); wi++) {
		struct rv_workers w;
		unsigned round;

		g_assert_cmpint(rv_workers_init(&w, workers[wi]), ==, 0);
		rv_workers_set_adaptive(&w, adaptive);
		for (round = 1; round <= 500; round++) {
			unsigned n = (unsigned)g_random_int_range(0, 300), chunk = (unsigned)g_random_int_range(1, 20), i;
			gint *hits = g_new0(gint, n + 1), *seen = g_new0(gint, n + 1);
			struct count_ctx c = { .hits = hits, .round = round, .round_seen = seen };

			rv_workers_run(&w, count_jobs, &c, n, chunk);
			for (i = 0; i < n; i++) {
				g_assert_cmpint(hits[i], ==, 1);
				g_assert_cmpint(seen[i], ==, (gint)round);
			}
			g_free(hits);
			g_free(seen);
		}
		rv_workers_destroy(&w);
	}
}

static void test_exactly_once(void) { run_exactly_once(false); }
/* The data threads' adaptive mode (runs alone for a while when helpers came
 * too late) changes who runs a batch, never what runs: the same checks,
 * with solo and shared batches interleaved as the helpers keep up or not. */
static void test_exactly_once_adaptive(void) { run_exactly_once(true); }

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/queueing/order-one-worker", test_order_one_worker);
	g_test_add_func("/engine/queueing/order-two-workers-random-delays", test_order_two_workers_delays);
	g_test_add_func("/engine/queueing/order-four-workers-random-delays", test_order_four_workers_delays);
	g_test_add_func("/engine/queueing/order-eight-workers-chunks", test_order_eight_workers_chunks);
	g_test_add_func("/engine/queueing/exactly-once", test_exactly_once);
	g_test_add_func("/engine/queueing/exactly-once-adaptive", test_exactly_once_adaptive);
	return g_test_run();
}

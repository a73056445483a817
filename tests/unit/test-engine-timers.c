/* test-engine-timers.c - the engine's timer state machine and session-key
 * freshness rules (engine/peer.c) with an injected clock, and the staged
 * packet queue. */
#include <glib.h>
#include <string.h>

#include "peer.h"

#define S(x) ((uint64_t)(x) * RV_NSEC_PER_SEC)
#define MS(x) ((uint64_t)(x) * RV_NSEC_PER_MSEC)
#define T0 S(1000)	/* a clock that is not zero ("not armed") */

static struct rv_timer_config cfg(void)
{
	struct rv_timer_config c;

	rv_timer_config_default(&c);
	return c;
}

static void test_defaults(void)
{
	struct rv_timer_config c = cfg();

	g_assert_cmpuint(c.rekey_after_time_ns, ==, S(120));
	g_assert_cmpuint(c.reject_after_time_ns, ==, S(180));
	g_assert_cmpuint(c.rekey_timeout_ns, ==, S(5));
	g_assert_cmpuint(c.keepalive_timeout_ns, ==, S(10));
	g_assert_cmpuint(c.max_handshake_attempts, ==, 18);
	rv_timer_config_set_rekey_after_time(&c, 10);
	g_assert_cmpuint(c.rekey_after_time_ns, ==, S(10));
	g_assert_cmpuint(c.reject_after_time_ns, ==, S(70));
}

static void test_nothing_armed(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { 0 };

	g_assert_cmpuint(rv_timers_due(&c, &s, T0), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, UINT64_MAX / 2), ==, 0);
}

static void test_retransmit(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { .retransmit_deadline_ns = T0 + S(5) + MS(100) };

	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(5)), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(5) + MS(100)), ==, RV_TIMER_RETRANSMIT_HANDSHAKE);
	s.handshake_attempts = 18;
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(6)), ==, RV_TIMER_RETRANSMIT_HANDSHAKE);
	/* wireguard-go's count: 1 initiation + 19 retries, then it gives up */
	s.handshake_attempts = 19;
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(6)), ==, RV_TIMER_GIVE_UP_HANDSHAKE);
}

static void test_new_handshake(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { .new_handshake_armed_ns = T0, .jitter_ns = MS(200) };

	/* KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter after the first unanswered data */
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(15)), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(15) + MS(199)), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(15) + MS(200)), ==, RV_TIMER_NEW_HANDSHAKE);
}

static void test_keepalive(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { .keepalive_armed_ns = T0 };

	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(10) - 1), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(10)), ==, RV_TIMER_SEND_KEEPALIVE);
}

static void test_persistent_keepalive(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { .last_traversal_ns = T0, .persistent_keepalive = 25 };

	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(24)), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(25)), ==, RV_TIMER_PERSISTENT_KEEPALIVE);
	s.persistent_keepalive = 0;
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(1000)), ==, 0);
	/* never armed before any authenticated packet */
	s.persistent_keepalive = 25;
	s.last_traversal_ns = 0;
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(1000)), ==, 0);
}

static void test_zero_keys(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = { .zero_keys_deadline_ns = T0 + S(540) };

	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(539)), ==, 0);
	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(540)), ==, RV_TIMER_ZERO_KEYS);
}

static void test_several_due(void)
{
	struct rv_timer_config c = cfg();
	struct rv_timer_snapshot s = {
		.keepalive_armed_ns = T0, .last_traversal_ns = T0, .persistent_keepalive = 1,
	};

	g_assert_cmpuint(rv_timers_due(&c, &s, T0 + S(11)), ==,
			 RV_TIMER_SEND_KEEPALIVE | RV_TIMER_PERSISTENT_KEEPALIVE);
}

static void test_keypair_rules(void)
{
	struct rv_timer_config c = cfg();
	struct wg_keypair kp;

	memset(&kp, 0, sizeof(kp));
	kp.created_ns = T0;
	kp.is_initiator = true;
	atomic_store(&kp.send_counter, 0);

	g_assert_false(rv_keypair_usable(&c, NULL, T0));
	g_assert_true(rv_keypair_usable(&c, &kp, T0 + S(179)));
	g_assert_false(rv_keypair_usable(&c, &kp, T0 + S(180)));

	/* initiator rekeys after REKEY_AFTER_TIME; the responder does not (by time) */
	g_assert_false(rv_keypair_wants_rekey_on_send(&c, &kp, T0 + S(120)));
	g_assert_true(rv_keypair_wants_rekey_on_send(&c, &kp, T0 + S(120) + 1));
	kp.is_initiator = false;
	g_assert_false(rv_keypair_wants_rekey_on_send(&c, &kp, T0 + S(170)));
	/* ... but both by message count */
	atomic_store(&kp.send_counter, c.rekey_after_messages + 1);
	g_assert_true(rv_keypair_wants_rekey_on_send(&c, &kp, T0));
	atomic_store(&kp.send_counter, WG_REJECT_AFTER_MESSAGES);
	g_assert_false(rv_keypair_usable(&c, &kp, T0));

	/* receiving: the initiator tries once more at REJECT - KEEPALIVE - REKEY_TIMEOUT */
	kp.is_initiator = true;
	g_assert_false(rv_keypair_wants_rekey_on_receive(&c, &kp, T0 + S(165)));
	g_assert_true(rv_keypair_wants_rekey_on_receive(&c, &kp, T0 + S(165) + 1));
	kp.is_initiator = false;
	g_assert_false(rv_keypair_wants_rekey_on_receive(&c, &kp, T0 + S(170)));

	/* a session younger than the caller's clock reading is fresh, not ancient */
	kp.is_initiator = true;
	atomic_store(&kp.send_counter, 0);
	g_assert_true(rv_keypair_usable(&c, &kp, T0 - 1));
	g_assert_true(rv_keypair_usable_for_receive(&c, &kp, T0 - 1));
	g_assert_false(rv_keypair_wants_rekey_on_send(&c, &kp, T0 - 1));
	g_assert_false(rv_keypair_wants_rekey_on_receive(&c, &kp, T0 - 1));
	g_assert_false(rv_keypair_usable_for_receive(&c, &kp, T0 + S(180)));

	/* the test-only knob moves every threshold together */
	rv_timer_config_set_rekey_after_time(&c, 10);
	kp.is_initiator = true;
	atomic_store(&kp.send_counter, 0);
	g_assert_true(rv_keypair_wants_rekey_on_send(&c, &kp, T0 + S(11)));
	g_assert_true(rv_keypair_usable(&c, &kp, T0 + S(69)));
	g_assert_false(rv_keypair_usable(&c, &kp, T0 + S(70)));
}

static void test_data_events(void)
{
	static const uint8_t key[32] = { 1 };
	struct rv_peer *p = rv_peer_new(NULL, key);

	/* the first unanswered data packet arms "new handshake"; later ones do not move it */
	rv_peer_event_data_sent(p, T0);
	rv_peer_event_data_sent(p, T0 + S(3));
	g_assert_cmpuint(atomic_load(&p->new_handshake_armed_ns), ==, T0);
	rv_peer_event_auth_received(p);
	g_assert_cmpuint(atomic_load(&p->new_handshake_armed_ns), ==, 0);

	rv_peer_event_data_received(p, T0 + S(1));
	rv_peer_event_data_received(p, T0 + S(2));
	g_assert_cmpuint(atomic_load(&p->keepalive_armed_ns), ==, T0 + S(1));
	rv_peer_event_auth_sent(p);
	g_assert_cmpuint(atomic_load(&p->keepalive_armed_ns), ==, 0);
	rv_peer_free(p);
}

static void test_staged(void)
{
	static const uint8_t key[32] = { 2 };
	struct rv_peer *p = rv_peer_new(NULL, key);
	struct rv_staged_packet out[RV_MAX_STAGED];
	uint8_t pkt[4];
	unsigned i, n;

	for (i = 0; i < RV_MAX_STAGED + 5; i++) {
		memcpy(pkt, &i, sizeof(pkt));
		rv_peer_stage(p, pkt, sizeof(pkt));
	}
	g_assert_cmpuint(atomic_load(&p->staged_count), ==, RV_MAX_STAGED);
	n = rv_peer_take_staged(p, out);
	g_assert_cmpuint(n, ==, RV_MAX_STAGED);
	/* the oldest five went; order kept */
	for (i = 0; i < n; i++) {
		unsigned v;

		memcpy(&v, out[i].data, sizeof(v));
		g_assert_cmpuint(v, ==, i + 5);
		g_assert_cmpuint(out[i].len, ==, 4);
		free(out[i].data);
	}
	g_assert_cmpuint(atomic_load(&p->staged_count), ==, 0);
	rv_peer_stage(p, (const uint8_t *)"", 0);
	g_assert_cmpuint(atomic_load(&p->staged_count), ==, 1);
	rv_peer_free(p);	/* frees what is still staged (checked by ASan builds) */
}

static void test_ratelimiter(void)
{
	struct rv_ratelimiter *r = g_new0(struct rv_ratelimiter, 1);
	const uint8_t a[4] = { 192, 0, 2, 1 }, b[4] = { 192, 0, 2, 2 };
	unsigned i, allowed = 0;

	rv_ratelimiter_init(r);
	/* a burst of 5, then nothing at the same instant */
	for (i = 0; i < 10; i++)
		allowed += rv_ratelimiter_allow(r, a, sizeof(a), T0);
	g_assert_cmpuint(allowed, ==, RV_RATELIMIT_BURST);
	/* another source is not affected (unless it shares the slot: 1/4096) */
	if (!rv_ratelimiter_allow(r, b, sizeof(b), T0))
		g_test_message("b shares a's slot with this seed");
	/* 20 per second after that */
	allowed = 0;
	for (i = 1; i <= 1000; i++)
		allowed += rv_ratelimiter_allow(r, a, sizeof(a), T0 + i * MS(1));
	g_assert_cmpuint(allowed, >=, 19);
	g_assert_cmpuint(allowed, <=, 21);
	/* a quiet source gets its burst back, no more */
	allowed = 0;
	for (i = 0; i < 10; i++)
		allowed += rv_ratelimiter_allow(r, a, sizeof(a), T0 + S(100));
	g_assert_cmpuint(allowed, ==, RV_RATELIMIT_BURST);
	g_free(r);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/timers/defaults", test_defaults);
	g_test_add_func("/engine/timers/nothing-armed", test_nothing_armed);
	g_test_add_func("/engine/timers/retransmit", test_retransmit);
	g_test_add_func("/engine/timers/new-handshake", test_new_handshake);
	g_test_add_func("/engine/timers/keepalive", test_keepalive);
	g_test_add_func("/engine/timers/persistent-keepalive", test_persistent_keepalive);
	g_test_add_func("/engine/timers/zero-keys", test_zero_keys);
	g_test_add_func("/engine/timers/several-due", test_several_due);
	g_test_add_func("/engine/timers/keypair-rules", test_keypair_rules);
	g_test_add_func("/engine/timers/data-events", test_data_events);
	g_test_add_func("/engine/timers/staged", test_staged);
	g_test_add_func("/engine/timers/ratelimiter", test_ratelimiter);
	return g_test_run();
}

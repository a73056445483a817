/* tests/unit/test-wg-allowedips.c - the allowed-IPs longest-prefix trie. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>

#include "allowedips.h"

static int peer_a, peer_b, peer_c;
#define A ((void *)&peer_a)
#define B ((void *)&peer_b)
#define C ((void *)&peer_c)

static void insert(struct wg_allowedips *t, const char *text, void *peer)
{
	g_auto(GStrv) parts = g_strsplit(text, "/", 2);
	uint8_t addr[16];
	int family = strchr(parts[0], ':') ? AF_INET6 : AF_INET;

	g_assert_cmpint(inet_pton(family, parts[0], addr), ==, 1);
	g_assert_cmpint(wg_allowedips_insert(t, family, addr, (uint8_t)atoi(parts[1]), peer), ==, 0);
}

static int remove_prefix(struct wg_allowedips *t, const char *text, void *peer)
{
	g_auto(GStrv) parts = g_strsplit(text, "/", 2);
	uint8_t addr[16];
	int family = strchr(parts[0], ':') ? AF_INET6 : AF_INET;

	g_assert_cmpint(inet_pton(family, parts[0], addr), ==, 1);
	return wg_allowedips_remove(t, family, addr, (uint8_t)atoi(parts[1]), peer);
}

static void *lookup(struct wg_allowedips *t, const char *ip)
{
	uint8_t addr[16];
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	g_assert_cmpint(inet_pton(family, ip, addr), ==, 1);
	return wg_allowedips_lookup(t, family, addr);
}

static void test_v4_lpm(void)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t, NULL);
	g_assert_null(lookup(&t, "10.0.0.1"));
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.1.0.0/16", B);
	insert(&t, "10.1.2.3/32", C);
	insert(&t, "192.168.1.0/24", B);
	g_assert_true(lookup(&t, "10.0.0.1") == A);
	g_assert_true(lookup(&t, "10.1.0.1") == B);
	g_assert_true(lookup(&t, "10.1.2.3") == C);
	g_assert_true(lookup(&t, "10.1.2.4") == B);
	g_assert_true(lookup(&t, "10.255.255.255") == A);
	g_assert_true(lookup(&t, "192.168.1.77") == B);
	g_assert_null(lookup(&t, "192.168.2.1"));
	g_assert_null(lookup(&t, "11.0.0.0"));
	/* Host bits beyond the prefix are ignored on insert. */
	insert(&t, "172.16.99.99/12", C);
	g_assert_true(lookup(&t, "172.31.0.1") == C);
	g_assert_null(lookup(&t, "172.32.0.1"));
	/* The default route catches the rest, without hiding longer prefixes. */
	insert(&t, "0.0.0.0/0", A);
	g_assert_true(lookup(&t, "8.8.8.8") == A);
	g_assert_true(lookup(&t, "10.1.2.3") == C);
	/* The IPv6 table is separate. */
	g_assert_null(lookup(&t, "::1"));
	wg_allowedips_free(&t);
}

static void test_v6_lpm(void)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t, NULL);
	insert(&t, "2001:db8::/32", A);
	insert(&t, "2001:db8:1::/48", B);
	insert(&t, "2001:db8:1:2:3:4:5:6/128", C);
	insert(&t, "2001:db8:1:2:8000::/65", C);
	g_assert_true(lookup(&t, "2001:db8::1") == A);
	g_assert_true(lookup(&t, "2001:db8:1::1") == B);
	g_assert_true(lookup(&t, "2001:db8:1:2:3:4:5:6") == C);
	g_assert_true(lookup(&t, "2001:db8:1:2:3:4:5:7") == B);
	g_assert_true(lookup(&t, "2001:db8:1:2:8000::1") == C);
	g_assert_true(lookup(&t, "2001:db8:1:2:7fff::1") == B);
	g_assert_null(lookup(&t, "2001:db9::1"));
	g_assert_null(lookup(&t, "10.0.0.1"));
	insert(&t, "::/0", B);
	g_assert_true(lookup(&t, "fe80::1") == B);
	wg_allowedips_free(&t);
}

static void test_overlap_and_move(void)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t, NULL);
	insert(&t, "10.0.0.0/24", A);
	insert(&t, "10.0.0.0/25", B);
	insert(&t, "10.0.0.128/25", C);
	insert(&t, "10.0.0.0/23", A);
	g_assert_true(lookup(&t, "10.0.0.1") == B);
	g_assert_true(lookup(&t, "10.0.0.200") == C);
	g_assert_true(lookup(&t, "10.0.1.1") == A);
	/* Same prefix for another peer moves it, as `wg set ... allowed-ips` does. */
	insert(&t, "10.0.0.0/25", C);
	g_assert_true(lookup(&t, "10.0.0.1") == C);
	/* The old owner can no longer remove it. */
	g_assert_cmpint(remove_prefix(&t, "10.0.0.0/25", B), ==, -ENOENT);
	wg_allowedips_free(&t);
}

static void test_remove(void)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t, NULL);
	insert(&t, "10.0.0.0/8", A);
	insert(&t, "10.1.0.0/16", B);
	insert(&t, "10.1.128.0/17", C);
	insert(&t, "10.1.0.0/17", C);
	g_assert_cmpint(remove_prefix(&t, "10.1.0.0/16", B), ==, 0);
	g_assert_true(lookup(&t, "10.1.200.1") == C);
	g_assert_true(lookup(&t, "10.1.1.1") == C);
	g_assert_true(lookup(&t, "10.2.0.1") == A);
	g_assert_cmpint(remove_prefix(&t, "10.1.0.0/16", B), ==, -ENOENT);
	g_assert_cmpint(remove_prefix(&t, "10.1.0.0/18", C), ==, -ENOENT);
	g_assert_cmpint(remove_prefix(&t, "10.1.0.0/17", C), ==, 0);
	g_assert_true(lookup(&t, "10.1.1.1") == A);
	g_assert_cmpint(remove_prefix(&t, "10.0.0.0/8", A), ==, 0);
	g_assert_null(lookup(&t, "10.1.1.1"));
	g_assert_true(lookup(&t, "10.1.200.1") == C);
	g_assert_cmpint(remove_prefix(&t, "10.1.128.0/17", C), ==, 0);
	g_assert_null(t.root4);
	g_assert_cmpint(wg_allowedips_insert(&t, AF_INET, "\0\0\0\0", 33, A), ==, -EINVAL);
	g_assert_cmpint(wg_allowedips_insert(&t, AF_UNIX, "\0\0\0\0", 1, A), ==, -EINVAL);
	wg_allowedips_free(&t);
}

struct walk_result {
	GString *text;
};

static void walk_collect(void *user, int family, const uint8_t *addr, uint8_t cidr)
{
	struct walk_result *r = user;
	char buf[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, buf, sizeof(buf));
	g_string_append_printf(r->text, "%s/%u ", buf, cidr);
}

static void test_walk_and_remove_peer(void)
{
	struct wg_allowedips t;
	struct walk_result r = { g_string_new(NULL) };

	wg_allowedips_init(&t, NULL);
	insert(&t, "fd00::/64", A);
	insert(&t, "10.9.0.0/16", A);
	insert(&t, "10.0.0.0/8", B);
	insert(&t, "10.1.0.0/16", A);
	insert(&t, "10.1.2.3/32", B);
	insert(&t, "0.0.0.0/0", A);
	insert(&t, "fd00::1/128", C);
	wg_allowedips_walk_peer(&t, A, walk_collect, &r);
	g_assert_cmpstr(r.text->str, ==, "0.0.0.0/0 10.1.0.0/16 10.9.0.0/16 fd00::/64 ");
	g_string_truncate(r.text, 0);
	wg_allowedips_walk_peer(&t, B, walk_collect, &r);
	g_assert_cmpstr(r.text->str, ==, "10.0.0.0/8 10.1.2.3/32 ");

	wg_allowedips_remove_peer(&t, A);
	g_string_truncate(r.text, 0);
	wg_allowedips_walk_peer(&t, A, walk_collect, &r);
	g_assert_cmpstr(r.text->str, ==, "");
	g_assert_true(lookup(&t, "10.1.0.1") == B);
	g_assert_true(lookup(&t, "10.1.2.3") == B);
	g_assert_null(lookup(&t, "8.8.8.8"));
	g_assert_null(lookup(&t, "fd00::2"));
	g_assert_true(lookup(&t, "fd00::1") == C);
	wg_allowedips_remove_peer(&t, B);
	wg_allowedips_remove_peer(&t, C);
	g_assert_null(t.root4);
	g_assert_null(t.root6);
	wg_allowedips_free(&t);
	g_string_free(r.text, TRUE);
}

static void test_packets(void)
{
	struct wg_allowedips t;
	uint8_t v4[20] = { 0x45 }, v6[40] = { 0x60 };

	wg_allowedips_init(&t, NULL);
	insert(&t, "10.0.0.2/32", A);
	insert(&t, "10.0.0.1/32", B);
	insert(&t, "fd00::2/128", A);
	inet_pton(AF_INET, "10.0.0.1", v4 + 12);
	inet_pton(AF_INET, "10.0.0.2", v4 + 16);
	g_assert_true(wg_allowedips_lookup_dst(&t, v4, sizeof(v4)) == A);
	g_assert_true(wg_allowedips_lookup_src(&t, v4, sizeof(v4)) == B);
	g_assert_null(wg_allowedips_lookup_dst(&t, v4, 19));
	inet_pton(AF_INET6, "fd00::1", v6 + 8);
	inet_pton(AF_INET6, "fd00::2", v6 + 24);
	g_assert_true(wg_allowedips_lookup_dst(&t, v6, sizeof(v6)) == A);
	g_assert_null(wg_allowedips_lookup_src(&t, v6, sizeof(v6)));
	g_assert_null(wg_allowedips_lookup_dst(&t, v6, 39));
	v6[0] = 0x50;
	g_assert_null(wg_allowedips_lookup_dst(&t, v6, sizeof(v6)));
	g_assert_null(wg_allowedips_lookup_dst(&t, NULL, 0));
	wg_allowedips_free(&t);
}

static int refs;
static void count_ref(void *peer)
{
	(void)peer;
	refs++;
}

static void test_ref_hook(void)
{
	struct wg_allowedips t;

	wg_allowedips_init(&t, count_ref);
	insert(&t, "10.0.0.0/8", A);
	refs = 0;
	g_assert_true(lookup(&t, "10.0.0.1") == A);
	g_assert_null(lookup(&t, "11.0.0.1"));
	g_assert_cmpint(refs, ==, 1);
	wg_allowedips_free(&t);
}

/* Random prefixes against a linear longest-match scan, for both families,
 * with removals interleaved. */
struct model_entry {
	uint8_t addr[16];
	uint8_t cidr;
	void *peer;
};

static bool prefix_covers(const uint8_t *prefix, uint8_t cidr, const uint8_t *addr)
{
	for (unsigned i = 0; i < cidr; i++) {
		unsigned byte = i / 8, bit = 7 - i % 8;
		if (((prefix[byte] >> bit) & 1) != ((addr[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static void run_model(int family, unsigned bits)
{
	struct wg_allowedips t;
	GArray *model = g_array_new(FALSE, TRUE, sizeof(struct model_entry));
	GRand *rand = g_rand_new_with_seed(family);
	void *peers[3] = { A, B, C };
	unsigned bytes = bits / 8;

	wg_allowedips_init(&t, NULL);
	for (int round = 0; round < 3000; round++) {
		struct model_entry e = { .cidr = (uint8_t)g_rand_int_range(rand, 0, (gint32)bits + 1) };
		/* Small address space so prefixes overlap often. */
		for (unsigned i = 0; i < bytes; i++)
			e.addr[i] = (uint8_t)(g_rand_int(rand) & (i < 2 ? 0x0f : 0xff));
		for (unsigned i = e.cidr; i < bits; i++)
			e.addr[i / 8] &= (uint8_t)~(1u << (7 - i % 8));
		e.peer = peers[g_rand_int_range(rand, 0, 3)];
		guint found = model->len;
		for (guint i = 0; i < model->len; i++) {
			struct model_entry *m = &g_array_index(model, struct model_entry, i);
			if (m->cidr == e.cidr && memcmp(m->addr, e.addr, bytes) == 0)
				found = i;
		}
		if (found < model->len && g_rand_boolean(rand)) {
			struct model_entry *m = &g_array_index(model, struct model_entry, found);
			g_assert_cmpint(wg_allowedips_remove(&t, family, m->addr, m->cidr, m->peer), ==, 0);
			g_array_remove_index_fast(model, found);
		} else {
			g_assert_cmpint(wg_allowedips_insert(&t, family, e.addr, e.cidr, e.peer), ==, 0);
			if (found < model->len)
				g_array_index(model, struct model_entry, found).peer = e.peer;
			else
				g_array_append_val(model, e);
		}
		for (int probe = 0; probe < 20; probe++) {
			uint8_t addr[16] = { 0 };
			void *expected = NULL;
			int best = -1;
			for (unsigned i = 0; i < bytes; i++)
				addr[i] = (uint8_t)(g_rand_int(rand) & (i < 2 ? 0x0f : 0xff));
			for (guint i = 0; i < model->len; i++) {
				struct model_entry *m = &g_array_index(model, struct model_entry, i);
				if (m->cidr > best && prefix_covers(m->addr, m->cidr, addr)) {
					best = m->cidr;
					expected = m->peer;
				}
			}
			g_assert_true(wg_allowedips_lookup(&t, family, addr) == expected);
		}
	}
	wg_allowedips_free(&t);
	g_array_free(model, TRUE);
	g_rand_free(rand);
}

static void test_model_v4(void) { run_model(AF_INET, 32); }
static void test_model_v6(void) { run_model(AF_INET6, 128); }

/* Lookups racing with changes see either the old or the new owner, never garbage. */
struct race {
	struct wg_allowedips *t;
	gint stop;
	gint bad;
};

static gpointer race_reader(gpointer data)
{
	struct race *r = data;
	uint8_t addr[4] = { 10, 1, 2, 3 };

	while (!g_atomic_int_get(&r->stop)) {
		void *p = wg_allowedips_lookup(r->t, AF_INET, addr);
		if (p != A && p != B)
			g_atomic_int_inc(&r->bad);
	}
	return NULL;
}

static void test_concurrent(void)
{
	struct wg_allowedips t;
	struct race r = { &t, 0, 0 };
	GThread *readers[2];

	wg_allowedips_init(&t, NULL);
	insert(&t, "10.0.0.0/8", A);
	for (int i = 0; i < 2; i++)
		readers[i] = g_thread_new("lookup", race_reader, &r);
	for (int i = 0; i < 20000; i++) {
		insert(&t, "10.1.0.0/16", B);
		insert(&t, "10.1.2.0/24", B);
		g_assert_cmpint(remove_prefix(&t, "10.1.0.0/16", B), ==, 0);
		wg_allowedips_remove_peer(&t, B);
	}
	g_atomic_int_set(&r.stop, 1);
	for (int i = 0; i < 2; i++)
		g_thread_join(readers[i]);
	g_assert_cmpint(r.bad, ==, 0);
	wg_allowedips_free(&t);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/wg/allowedips/v4-lpm", test_v4_lpm);
	g_test_add_func("/wg/allowedips/v6-lpm", test_v6_lpm);
	g_test_add_func("/wg/allowedips/overlap-move", test_overlap_and_move);
	g_test_add_func("/wg/allowedips/remove", test_remove);
	g_test_add_func("/wg/allowedips/walk-remove-peer", test_walk_and_remove_peer);
	g_test_add_func("/wg/allowedips/packets", test_packets);
	g_test_add_func("/wg/allowedips/ref-hook", test_ref_hook);
	g_test_add_func("/wg/allowedips/model-v4", test_model_v4);
	g_test_add_func("/wg/allowedips/model-v6", test_model_v6);
	g_test_add_func("/wg/allowedips/concurrent", test_concurrent);
	return g_test_run();
}

/* test-engine-peers.c - the peers by public key (engine/index.c): thousands
 * of peers added through UAPI set in two requests (the bucket array grows
 * and rehashes on the way), each found by its key and none that was not
 * added; every other one removed, the rest still found and the removed ones
 * not; the list beside the table keeps configuration order and the same
 * count, and mends when its first, a middle or its last peer goes;
 * replace_peers empties both; each device draws its own hash key. A
 * real device with loopback sockets, no TUN, no threads, no private key (so
 * adding a peer does no X25519). */
#include <glib.h>
#include <string.h>

#include <sodium.h>

#include "crypto.h"
#include "device-internal.h"

#define N_PEERS 3000

static struct rv_device *dev_new(const char *name)
{
	struct rv_device *dev = g_new0(struct rv_device, 1);
	struct rv_udp udp;

	g_assert_cmpint(wg_crypto_init(), ==, 0);
	rv_udp_init(&udp);
	g_assert_cmpint(rv_udp_open(&udp, 0, 0), ==, 0);
	g_assert_cmpint(rv_device_init(dev, name, -1, false, &udp, NULL), ==, 0);
	return dev;
}

static void dev_free(struct rv_device *dev)
{
	rv_device_destroy(dev);
	g_free(dev);
}

/* Adds (or with remove, removes) keys[first .. first+n-1] in one request,
 * every `step`-th one, through the control thread's entry point. */
static void set_peers(struct rv_device *dev, uint8_t (*keys)[32], unsigned first, unsigned n,
		      unsigned step, bool remove)
{
	struct rv_uapi_set set = { 0 };
	unsigned i;

	set.peers = g_new0(struct rv_uapi_peer, n);
	for (i = first; i < first + n; i += step) {
		struct rv_uapi_peer *p = &set.peers[set.n_peers++];

		memcpy(p->public_key, keys[i], 32);
		p->remove = remove;
	}
	g_assert_cmpint(rv_device_uapi_set(dev, &set), ==, 0);
	g_free(set.peers);
}

static bool removed(unsigned i, bool odd_removed)
{
	return odd_removed && (i & 1);
}

/* Every key is found (and names the peer with that key) unless it was
 * removed; the list holds the rest in configuration order. */
static void check_peers(struct rv_device *dev, uint8_t (*keys)[32], unsigned n, bool odd_removed)
{
	struct rv_peer *p;
	unsigned i, listed = 0, max_chain = 0;

	for (i = 0; i < n; i++) {
		p = rv_find_peer(dev, keys[i]);
		if (removed(i, odd_removed)) {
			g_assert_null(p);
		} else {
			g_assert_nonnull(p);
			g_assert_cmpmem(p->public_key, 32, keys[i], 32);
		}
	}
	i = 0;
	for (p = dev->peers; p; p = p->next_in_list) {
		while (removed(i, odd_removed))
			i++;
		g_assert_cmpuint(i, <, n);
		g_assert_cmpmem(p->public_key, 32, keys[i], 32);
		i++;
		listed++;
	}
	g_assert_cmpuint(listed, ==, dev->n_peers);
	/* load factor <= 1 ... */
	g_assert_cmpuint(dev->peer_bucket_mask + 1, >=, dev->n_peers);
	/* ... and the keyed hash spreads them: with at most one peer per bucket
	 * on average, a chain of 16 has a probability around 1e-14 per bucket;
	 * one bucket for all (a hash ignoring its input) fails here */
	for (i = 0; i <= dev->peer_bucket_mask; i++) {
		unsigned len = 0;

		for (p = dev->peer_buckets[i]; p; p = p->next_in_hash)
			len++;
		max_chain = len > max_chain ? len : max_chain;
	}
	if (dev->n_peers > 16)
		g_assert_cmpuint(max_chain, <, 16);
}

static void test_many_peers(void)
{
	struct rv_device *dev = dev_new("rvpeers0");
	uint8_t (*keys)[32] = g_malloc(N_PEERS * 32);
	uint8_t absent[32];
	unsigned buckets_before;

	randombytes_buf(keys, N_PEERS * 32);
	randombytes_buf(absent, sizeof(absent));
	g_assert_null(rv_find_peer(dev, absent));	/* empty device */

	/* first half, then the second: the array grows in both requests, so
	 * peers of the first are found after being moved by later rehashes */
	set_peers(dev, keys, 0, N_PEERS / 2, 1, false);
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS / 2);
	check_peers(dev, keys, N_PEERS / 2, false);
	buckets_before = dev->peer_bucket_mask + 1;
	set_peers(dev, keys, N_PEERS / 2, N_PEERS - N_PEERS / 2, 1, false);
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS);
	g_assert_cmpuint(dev->peer_bucket_mask + 1, >, buckets_before);
	check_peers(dev, keys, N_PEERS, false);
	g_assert_null(rv_find_peer(dev, absent));

	/* adding a key again updates that peer: no second entry */
	set_peers(dev, keys, 7, 1, 1, false);
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS);

	/* remove every other one (the odd indexes) */
	set_peers(dev, keys, 1, N_PEERS - 1, 2, true);
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS / 2);
	check_peers(dev, keys, N_PEERS, true);
	/* removing a peer that is not there changes nothing */
	set_peers(dev, keys, 1, 1, 1, true);
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS / 2);

	/* a removed one comes back, appended after the others (the last peer,
	 * keys[N_PEERS - 1], was removed: the tail moved back to the one before) */
	set_peers(dev, keys, 1, 1, 1, false);
	g_assert_nonnull(rv_find_peer(dev, keys[1]));
	g_assert_cmpuint(dev->n_peers, ==, N_PEERS / 2 + 1);
	{
		struct rv_peer *p, *last = NULL;
		unsigned listed = 0;

		for (p = dev->peers; p; p = p->next_in_list) {
			last = p;
			listed++;
		}
		g_assert_cmpuint(listed, ==, N_PEERS / 2 + 1);
		g_assert_true(last == rv_find_peer(dev, keys[1]));
	}
	/* the first and a middle one removed: the list mends around them */
	set_peers(dev, keys, 0, 1, 1, true);
	set_peers(dev, keys, 1000, 1, 1, true);
	g_assert_cmpmem(dev->peers->public_key, 32, keys[2], 32);
	{
		struct rv_peer *p;
		unsigned listed = 0;

		for (p = dev->peers; p; p = p->next_in_list) {
			g_assert_true(rv_find_peer(dev, p->public_key) == p);
			listed++;
		}
		g_assert_cmpuint(listed, ==, N_PEERS / 2 - 1);
		g_assert_cmpuint(dev->n_peers, ==, N_PEERS / 2 - 1);
	}

	/* replace_peers with none: table and list empty */
	{
		struct rv_uapi_set set = { .replace_peers = true };

		g_assert_cmpint(rv_device_uapi_set(dev, &set), ==, 0);
	}
	g_assert_cmpuint(dev->n_peers, ==, 0);
	g_assert_null(dev->peers);
	g_assert_null(rv_find_peer(dev, keys[0]));
	g_assert_null(rv_find_peer(dev, keys[1]));

	dev_free(dev);
	g_free(keys);
}

static void test_hash_key_per_device(void)
{
	struct rv_device *a = dev_new("rvpeers1"), *b = dev_new("rvpeers2");

	g_assert_false(sodium_is_zero(a->peer_hash_key, sizeof(a->peer_hash_key)));
	g_assert_true(memcmp(a->peer_hash_key, b->peer_hash_key, sizeof(a->peer_hash_key)) != 0);
	dev_free(a);
	dev_free(b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/peers/many", test_many_peers);
	g_test_add_func("/engine/peers/hash-key-per-device", test_hash_key_per_device);
	return g_test_run();
}

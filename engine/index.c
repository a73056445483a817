/* index.c - finding things: the receiver-index table (index -> handshake or
 * session), the peers by public key, and the three session slots of a
 * peer (current/previous/next: installing, promoting, expiring keypairs).
 * The kernel's peerlookup.c and the slot half of noise.c. Control thread,
 * under the device write lock; the data threads read the index table under
 * the read lock.
 *
 * Peers by public key: every handshake initiation and every UAPI peer
 * operation looks a peer up by the key it names, so with a server's
 * thousands of peers a list walk grows with each peer added. The peers are
 * in a hash table beside the list (the list keeps configuration order for
 * `wg show` and is what the timers iterate), as the kernel's pubkey
 * hashtable: the public key is chosen by whoever sends the initiation, so
 * the hash is SipHash-2-4 (libsodium's crypto_shorthash) under a random key
 * drawn per device; an unkeyed hash would let an attacker pick keys that all
 * land in one bucket. The peers are linked and unlinked only here
 * (rv_peers_link/rv_peers_unlink), list and table together, so they cannot
 * disagree; the list has a tail pointer and back links, so adding or
 * removing one of 10,000 peers does not walk it either. Only the control
 * thread reads or writes either; it changes them under the write lock, as the
 * rest of the device's shared state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "device-internal.h"

struct rv_index_entry *rv_index_find(struct rv_device *dev, uint32_t idx)
{
	struct rv_index_entry *e;

	for (e = dev->index[idx & (RV_INDEX_BUCKETS - 1)]; e; e = e->next)
		if (e->index == idx)
			return e;
	return NULL;
}

uint32_t rv_index_add(struct rv_device *dev, struct rv_peer *peer)
{
	struct rv_index_entry *e;
	uint32_t idx;

	do
		idx = wg_crypto_random_u32();
	while (idx == 0 || rv_index_find(dev, idx));
	e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->index = idx;
	e->peer = peer;
	e->next = dev->index[idx & (RV_INDEX_BUCKETS - 1)];
	dev->index[idx & (RV_INDEX_BUCKETS - 1)] = e;
	return idx;
}

void rv_index_remove(struct rv_device *dev, uint32_t idx)
{
	struct rv_index_entry **pp = &dev->index[idx & (RV_INDEX_BUCKETS - 1)];

	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->index == idx) {
			struct rv_index_entry *e = *pp;

			*pp = e->next;
			free(e);
			return;
		}
	}
}

/* ------------------------------------------------------------ keypair slots */

void rv_keypair_delete(struct rv_device *dev, struct wg_keypair **slot)
{
	if (!*slot)
		return;
	rv_index_remove(dev, (*slot)->local_index);
	wg_keypair_clear(*slot);
	free(*slot);
	*slot = NULL;
}

void rv_drop_handshake_index(struct rv_device *dev, struct rv_peer *peer)
{
	if (peer->handshake_index) {
		rv_index_remove(dev, peer->handshake_index);
		peer->handshake_index = 0;
	}
}

void rv_install_keypair(struct rv_device *dev, struct rv_peer *peer, struct wg_keypair *kp)
{
	if (kp->is_initiator) {
		struct wg_keypair *old_prev = peer->kp_previous;

		if (peer->kp_next) {
			peer->kp_previous = peer->kp_next;
			peer->kp_next = NULL;
			rv_keypair_delete(dev, &peer->kp_current);
		} else {
			peer->kp_previous = peer->kp_current;
		}
		rv_keypair_delete(dev, &old_prev);
		peer->kp_current = kp;
	} else {
		/* the responder may not send until the initiator used it */
		rv_keypair_delete(dev, &peer->kp_next);
		peer->kp_next = kp;
		rv_keypair_delete(dev, &peer->kp_previous);
	}
}

void rv_expire_sessions(struct rv_device *dev, struct rv_peer *peer)
{
	rv_keypair_delete(dev, &peer->kp_current);
	rv_keypair_delete(dev, &peer->kp_previous);
	rv_keypair_delete(dev, &peer->kp_next);
	rv_drop_handshake_index(dev, peer);
	wg_handshake_zero(&peer->hs);
}

void rv_handshake_complete(struct rv_peer *peer)
{
	peer->retransmit_deadline_ns = 0;
	peer->handshake_attempts = 0;
	peer->sent_last_minute_handshake = false;
	atomic_store(&peer->last_handshake_realtime_ns, (int64_t)rv_realtime_ns());
}

/* ------------------------------------------------------------ peers by key */

/* Sizing: a power-of-two bucket array that doubles when the peers outnumber
 * the buckets (load factor > 1), so chains stay ~1 long whether a device has
 * one peer or 100,000 and a laptop's device pays 16 pointers, not a server's
 * table. It never shrinks: after removals it is at most twice the largest
 * number of peers the device had, 8 bytes per bucket beside the kilobytes of
 * each rv_peer. A failed grow keeps the old array: chains get longer, lookups
 * stay correct. */
#define RV_PEER_BUCKETS_MIN 16

_Static_assert(sizeof(((struct rv_device *)0)->peer_hash_key) == crypto_shorthash_KEYBYTES,
	       "peer_hash_key is a SipHash-2-4 key");

static uint64_t peer_key_hash(const struct rv_device *dev, const uint8_t key[WG_KEY_LEN])
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, key, WG_KEY_LEN, dev->peer_hash_key);
	memcpy(&h, out, sizeof(h));
	return h;
}

int rv_peer_table_init(struct rv_device *dev)
{
	dev->peers = NULL;
	dev->peers_tail = &dev->peers;
	wg_crypto_random(dev->peer_hash_key, sizeof(dev->peer_hash_key));
	dev->peer_buckets = calloc(RV_PEER_BUCKETS_MIN, sizeof(*dev->peer_buckets));
	if (!dev->peer_buckets)
		return -ENOMEM;
	dev->peer_bucket_mask = RV_PEER_BUCKETS_MIN - 1;
	return 0;
}

void rv_peer_table_free(struct rv_device *dev)
{
	free(dev->peer_buckets);
	dev->peer_buckets = NULL;
	dev->peer_bucket_mask = 0;
	sodium_memzero(dev->peer_hash_key, sizeof(dev->peer_hash_key));
}

static void peer_table_grow(struct rv_device *dev)
{
	unsigned n = (dev->peer_bucket_mask + 1) * 2, i;
	struct rv_peer **b;

	if (n == 0 || !(b = calloc(n, sizeof(*b))))
		return;	/* overflow or no memory: keep the old array */
	for (i = 0; i <= dev->peer_bucket_mask; i++) {
		struct rv_peer *p = dev->peer_buckets[i], *next;

		for (; p; p = next) {
			next = p->next_in_hash;
			p->next_in_hash = b[p->key_hash & (n - 1)];
			b[p->key_hash & (n - 1)] = p;
		}
	}
	free(dev->peer_buckets);
	dev->peer_buckets = b;
	dev->peer_bucket_mask = n - 1;
}

void rv_peers_link(struct rv_device *dev, struct rv_peer *peer)
{
	struct rv_peer **b;

	/* append: `wg show` lists peers in configuration order */
	peer->next_in_list = NULL;
	peer->pprev_in_list = dev->peers_tail;
	*dev->peers_tail = peer;
	dev->peers_tail = &peer->next_in_list;
	dev->n_peers++;

	if (dev->n_peers > dev->peer_bucket_mask + 1)
		peer_table_grow(dev);
	peer->key_hash = peer_key_hash(dev, peer->public_key);
	b = &dev->peer_buckets[peer->key_hash & dev->peer_bucket_mask];
	peer->next_in_hash = *b;
	*b = peer;
}

void rv_peers_unlink(struct rv_device *dev, struct rv_peer *peer)
{
	struct rv_peer **pp;

	*peer->pprev_in_list = peer->next_in_list;
	if (peer->next_in_list)
		peer->next_in_list->pprev_in_list = peer->pprev_in_list;
	else
		dev->peers_tail = peer->pprev_in_list;
	dev->n_peers--;
	for (pp = &dev->peer_buckets[peer->key_hash & dev->peer_bucket_mask]; *pp; pp = &(*pp)->next_in_hash) {
		if (*pp == peer) {
			*pp = peer->next_in_hash;
			break;
		}
	}
	peer->next_in_list = peer->next_in_hash = NULL;
	peer->pprev_in_list = NULL;
}

struct rv_peer *rv_find_peer(struct rv_device *dev, const uint8_t key[WG_KEY_LEN])
{
	uint64_t h = peer_key_hash(dev, key);
	struct rv_peer *p;

	for (p = dev->peer_buckets[h & dev->peer_bucket_mask]; p; p = p->next_in_hash)
		if (p->key_hash == h && !memcmp(p->public_key, key, WG_KEY_LEN))
			return p;
	return NULL;
}

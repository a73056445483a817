/* index.c - finding things: the receiver-index table (index -> handshake or
 * session), the peer list by public key, and the three session slots of a
 * peer (current/previous/next: installing, promoting, expiring keypairs).
 * The kernel's peerlookup.c and the slot half of noise.c. Control thread,
 * under the device write lock; the data threads read the table under the
 * read lock. */
#include <stdlib.h>
#include <string.h>

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

struct rv_peer *rv_find_peer(struct rv_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct rv_peer *p;

	for (p = dev->peers; p; p = p->next_in_list)
		if (!memcmp(p->public_key, key, WG_KEY_LEN))
			return p;
	return NULL;
}


/* engine/allowedips.c - allowed-IPs longest-prefix table (path-compressed binary trie).
 *
 * Owned by engine-protocol. Addresses of both families are held as 128-bit
 * keys in two host-order 64-bit words (IPv4 in the top 32 bits), so a prefix
 * test is two masked compares instead of a loop over bytes. A node is either a
 * prefix someone owns (peer != NULL) or a branching point kept only while it
 * has two children; every child extends its parent's prefix and hangs under
 * the bit that follows it.
 */
#include "allowedips.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct key128 {
	uint64_t hi, lo;
};

struct wg_allowedips_node {
	struct key128 key;                 /* masked to cidr */
	struct wg_allowedips_node *child[2];
	void *peer;
	uint8_t cidr;
};

static unsigned family_bits(int family)
{
	return family == AF_INET ? 32 : family == AF_INET6 ? 128 : 0;
}

static struct key128 key_from_addr(int family, const void *addr)
{
	struct key128 k = { 0, 0 };

	if (family == AF_INET) {
		uint32_t v;
		memcpy(&v, addr, 4);
		k.hi = (uint64_t)be32toh(v) << 32;
	} else {
		uint64_t v[2];
		memcpy(v, addr, 16);
		k.hi = be64toh(v[0]);
		k.lo = be64toh(v[1]);
	}
	return k;
}

static void addr_from_key(int family, struct key128 k, uint8_t out[16])
{
	if (family == AF_INET) {
		uint32_t v = htobe32((uint32_t)(k.hi >> 32));
		memcpy(out, &v, 4);
	} else {
		uint64_t v[2] = { htobe64(k.hi), htobe64(k.lo) };
		memcpy(out, v, 16);
	}
}

static struct key128 mask_of(unsigned cidr)
{
	struct key128 m;

	m.hi = cidr == 0 ? 0 : cidr >= 64 ? UINT64_MAX : UINT64_MAX << (64 - cidr);
	m.lo = cidr <= 64 ? 0 : cidr >= 128 ? UINT64_MAX : UINT64_MAX << (128 - cidr);
	return m;
}

static struct key128 key_masked(struct key128 k, unsigned cidr)
{
	struct key128 m = mask_of(cidr);

	return (struct key128){ k.hi & m.hi, k.lo & m.lo };
}

static bool key_has_prefix(struct key128 k, const struct wg_allowedips_node *n)
{
	struct key128 m = mask_of(n->cidr);

	return ((k.hi & m.hi) == n->key.hi) && ((k.lo & m.lo) == n->key.lo);
}

/* Bit `index` (0 = most significant) of the key. */
static unsigned key_bit(struct key128 k, unsigned index)
{
	if (index < 64)
		return (unsigned)(k.hi >> (63 - index)) & 1;
	return (unsigned)(k.lo >> (127 - index)) & 1;
}

/* Length of the common leading bits of a and b, capped at limit. */
static unsigned common_bits(struct key128 a, struct key128 b, unsigned limit)
{
	uint64_t x = a.hi ^ b.hi;
	unsigned n;

	if (x)
		n = (unsigned)__builtin_clzll(x);
	else if ((x = a.lo ^ b.lo))
		n = 64 + (unsigned)__builtin_clzll(x);
	else
		n = 128;
	return n < limit ? n : limit;
}

static struct wg_allowedips_node **root_of(struct wg_allowedips *t, int family)
{
	return family == AF_INET ? &t->root4 : &t->root6;
}

void wg_allowedips_init(struct wg_allowedips *t, void (*peer_ref)(void *peer))
{
	memset(t, 0, sizeof(*t));
	pthread_rwlock_init(&t->lock, NULL);
	t->peer_ref = peer_ref;
}

static void free_subtree(struct wg_allowedips_node *n)
{
	if (!n)
		return;
	free_subtree(n->child[0]);
	free_subtree(n->child[1]);
	free(n);
}

void wg_allowedips_free(struct wg_allowedips *t)
{
	free_subtree(t->root4);
	free_subtree(t->root6);
	t->root4 = t->root6 = NULL;
	pthread_rwlock_destroy(&t->lock);
}

static struct wg_allowedips_node *node_new(struct key128 key, unsigned cidr, void *peer)
{
	struct wg_allowedips_node *n = calloc(1, sizeof(*n));

	if (n) {
		n->key = key_masked(key, cidr);
		n->cidr = (uint8_t)cidr;
		n->peer = peer;
	}
	return n;
}

static int insert_locked(struct wg_allowedips_node **slot, struct key128 key, unsigned cidr,
                         void *peer)
{
	struct wg_allowedips_node *n, *fresh, *branch;
	unsigned common;

	key = key_masked(key, cidr);
	while ((n = *slot)) {
		common = common_bits(n->key, key, n->cidr < cidr ? n->cidr : cidr);
		if (common == n->cidr) {
			if (n->cidr == cidr) {
				n->peer = peer;
				return 0;
			}
			slot = &n->child[key_bit(key, n->cidr)];
			continue;
		}
		/* key leaves n's prefix at bit `common`: n moves below a new node. */
		fresh = node_new(key, cidr, peer);
		if (!fresh)
			return -ENOMEM;
		if (common == cidr) {
			fresh->child[key_bit(n->key, cidr)] = n;
			*slot = fresh;
			return 0;
		}
		branch = node_new(key, common, NULL);
		if (!branch) {
			free(fresh);
			return -ENOMEM;
		}
		branch->child[key_bit(key, common)] = fresh;
		branch->child[key_bit(n->key, common)] = n;
		*slot = branch;
		return 0;
	}
	*slot = node_new(key, cidr, peer);
	return *slot ? 0 : -ENOMEM;
}

int wg_allowedips_insert(struct wg_allowedips *t, int family, const void *addr,
                         uint8_t cidr, void *peer)
{
	unsigned bits = family_bits(family);
	int r;

	if (!bits || !addr || !peer || cidr > bits)
		return -EINVAL;
	pthread_rwlock_wrlock(&t->lock);
	r = insert_locked(root_of(t, family), key_from_addr(family, addr), cidr, peer);
	pthread_rwlock_unlock(&t->lock);
	return r;
}

/* Drop a node that no longer carries a prefix and branches less than twice. */
static void compact(struct wg_allowedips_node **slot)
{
	struct wg_allowedips_node *n = *slot;

	if (!n || n->peer || (n->child[0] && n->child[1]))
		return;
	*slot = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

int wg_allowedips_remove(struct wg_allowedips *t, int family, const void *addr,
                         uint8_t cidr, void *peer)
{
	unsigned bits = family_bits(family);
	struct wg_allowedips_node **path[130];
	struct wg_allowedips_node **slot, *n;
	struct key128 key;
	size_t depth = 0;
	int r = -ENOENT;

	if (!bits || !addr || cidr > bits)
		return -EINVAL;
	key = key_masked(key_from_addr(family, addr), cidr);
	pthread_rwlock_wrlock(&t->lock);
	slot = root_of(t, family);
	while ((n = *slot) && n->cidr <= cidr && key_has_prefix(key, n)) {
		path[depth++] = slot;
		if (n->cidr == cidr) {
			if (n->peer && n->peer == peer) {
				n->peer = NULL;
				/* Children first: compacting a parent frees the node holding the child's slot. */
				while (depth > 0)
					compact(path[--depth]);
				r = 0;
			}
			break;
		}
		slot = &n->child[key_bit(key, n->cidr)];
	}
	pthread_rwlock_unlock(&t->lock);
	return r;
}

static void remove_peer_subtree(struct wg_allowedips_node **slot, void *peer)
{
	struct wg_allowedips_node *n = *slot;

	if (!n)
		return;
	remove_peer_subtree(&n->child[0], peer);
	remove_peer_subtree(&n->child[1], peer);
	if (n->peer == peer)
		n->peer = NULL;
	compact(slot);
}

void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer)
{
	if (!peer)
		return;
	pthread_rwlock_wrlock(&t->lock);
	remove_peer_subtree(&t->root4, peer);
	remove_peer_subtree(&t->root6, peer);
	pthread_rwlock_unlock(&t->lock);
}

static void *lookup_key(struct wg_allowedips *t, int family, struct key128 key)
{
	const struct wg_allowedips_node *n;
	unsigned bits = family_bits(family);
	void *best = NULL;

	pthread_rwlock_rdlock(&t->lock);
	n = *root_of(t, family);
	while (n && key_has_prefix(key, n)) {
		if (n->peer)
			best = n->peer;
		if (n->cidr >= bits)
			break;
		n = n->child[key_bit(key, n->cidr)];
	}
	if (best && t->peer_ref)
		t->peer_ref(best);
	pthread_rwlock_unlock(&t->lock);
	return best;
}

void *wg_allowedips_lookup(struct wg_allowedips *t, int family, const void *addr)
{
	if (!family_bits(family) || !addr)
		return NULL;
	return lookup_key(t, family, key_from_addr(family, addr));
}

static void *lookup_packet(struct wg_allowedips *t, const uint8_t *packet, size_t len, bool dst)
{
	if (!packet || len < 1)
		return NULL;
	switch (packet[0] >> 4) {
	case 4:
		if (len < 20)
			return NULL;
		return lookup_key(t, AF_INET, key_from_addr(AF_INET, packet + (dst ? 16 : 12)));
	case 6:
		if (len < 40)
			return NULL;
		return lookup_key(t, AF_INET6, key_from_addr(AF_INET6, packet + (dst ? 24 : 8)));
	default:
		return NULL;
	}
}

void *wg_allowedips_lookup_dst(struct wg_allowedips *t, const uint8_t *packet, size_t len)
{
	return lookup_packet(t, packet, len, true);
}

void *wg_allowedips_lookup_src(struct wg_allowedips *t, const uint8_t *packet, size_t len)
{
	return lookup_packet(t, packet, len, false);
}

static void walk_subtree(const struct wg_allowedips_node *n, int family, void *peer,
                         wg_allowedips_walk_fn fn, void *user)
{
	uint8_t addr[16];

	if (!n)
		return;
	if (n->peer == peer) {
		addr_from_key(family, n->key, addr);
		fn(user, family, addr, n->cidr);
	}
	walk_subtree(n->child[0], family, peer, fn, user);
	walk_subtree(n->child[1], family, peer, fn, user);
}

void wg_allowedips_walk_peer(struct wg_allowedips *t, void *peer,
                             wg_allowedips_walk_fn fn, void *user)
{
	if (!peer || !fn)
		return;
	pthread_rwlock_rdlock(&t->lock);
	walk_subtree(t->root4, AF_INET, peer, fn, user);
	walk_subtree(t->root6, AF_INET6, peer, fn, user);
	pthread_rwlock_unlock(&t->lock);
}

/* engine/allowedips.h - the allowed-IPs table: longest-prefix match, IPv4 and IPv6.
 *
 * Owned by engine-protocol. A path-compressed binary trie per family; values
 * are opaque peer pointers. Sending looks up the destination of a packet read
 * from the TUN; receiving checks that the source of a decrypted packet maps
 * back to the peer it came from (cryptokey routing, whitepaper 2).
 * Thread-safe: lookups take an internal read lock and never allocate; changes
 * take the write lock and may allocate (configuration path only). Once
 * wg_allowedips_remove_peer() returns, no lookup returns that peer; a pointer
 * obtained before stays the caller's business (use the ref hook to take a
 * reference under the read lock).
 */
#pragma once

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct wg_allowedips_node;

struct wg_allowedips {
	pthread_rwlock_t lock;
	struct wg_allowedips_node *root4;
	struct wg_allowedips_node *root6;
	/* Called on a lookup's result under the read lock (may be NULL). */
	void (*peer_ref)(void *peer);
};

void wg_allowedips_init(struct wg_allowedips *t, void (*peer_ref)(void *peer));
void wg_allowedips_free(struct wg_allowedips *t);

/* family: AF_INET (addr: 4 bytes) or AF_INET6 (16 bytes), network byte order.
 * Bits beyond cidr are ignored (masked). Inserting a prefix another peer owns
 * moves it to `peer`, as wg set does. Returns 0, -EINVAL, -ENOMEM. */
int wg_allowedips_insert(struct wg_allowedips *t, int family, const void *addr,
                         uint8_t cidr, void *peer);
/* Remove the exact prefix if `peer` owns it. Returns 0, -ENOENT, -EINVAL. */
int wg_allowedips_remove(struct wg_allowedips *t, int family, const void *addr,
                         uint8_t cidr, void *peer);
/* Remove every prefix of `peer`. */
void wg_allowedips_remove_peer(struct wg_allowedips *t, void *peer);

/* Longest-prefix match; NULL when no prefix covers addr. */
void *wg_allowedips_lookup(struct wg_allowedips *t, int family, const void *addr);
/* From an IP packet's header (version nibble picks the family): the peer for
 * its destination (sending) or its source (receive check). NULL on a packet too
 * short for its header or with an unknown version. */
void *wg_allowedips_lookup_dst(struct wg_allowedips *t, const uint8_t *packet, size_t len);
void *wg_allowedips_lookup_src(struct wg_allowedips *t, const uint8_t *packet, size_t len);

/* Call fn for each prefix of `peer` (IPv4 first, each family in address
 * order), under the read lock: fn must not modify the table. */
typedef void (*wg_allowedips_walk_fn)(void *user, int family, const uint8_t *addr, uint8_t cidr);
void wg_allowedips_walk_peer(struct wg_allowedips *t, void *peer,
                             wg_allowedips_walk_fn fn, void *user);

/* device-internal.h - what the files of one engine interface share
 * (device.c, index.c, send.c, receive.c, timers.c, control.c,
 * uapi-server.c); not for use outside engine/. */
#pragma once

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "device.h"


#define PEER_LOG(peer, ...) do { \
	if (rv_log_level >= RV_LOG_VERBOSE) { \
		char pn_[32], m_[512]; \
		rv_peer_name(peer, pn_); \
		snprintf(m_, sizeof(m_), __VA_ARGS__); \
		rv_log(RV_LOG_VERBOSE, "%s - %s", pn_, m_); \
	} \
} while (0)

static inline uint64_t rv_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * RV_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rv_jitter_ns(void)
{
	return (uint64_t)(wg_crypto_random_u32() % RV_REKEY_JITTER_MAX_MS) * RV_NSEC_PER_MSEC;
}

static inline void rv_wake(int fd)
{
	uint64_t one = 1;
	ssize_t n = write(fd, &one, sizeof(one));

	(void)n;	/* EAGAIN: already pending, which is all we want */
}

static inline void rv_drain(int fd)
{
	uint64_t v;
	ssize_t n = read(fd, &v, sizeof(v));

	(void)n;
}

/* index.c: receiver indexes, peers by key, session slots (write lock) */
struct rv_index_entry *rv_index_find(struct rv_device *dev, uint32_t idx);
uint32_t rv_index_add(struct rv_device *dev, struct rv_peer *peer);
void rv_index_remove(struct rv_device *dev, uint32_t idx);
void rv_keypair_delete(struct rv_device *dev, struct wg_keypair **slot);
void rv_drop_handshake_index(struct rv_device *dev, struct rv_peer *peer);
void rv_install_keypair(struct rv_device *dev, struct rv_peer *peer, struct wg_keypair *kp);
void rv_expire_sessions(struct rv_device *dev, struct rv_peer *peer);
void rv_handshake_complete(struct rv_peer *peer);
/* the peers by public key: the list and the hash table together */
int rv_peer_table_init(struct rv_device *dev);	/* empty list, random hash key, first buckets */
void rv_peer_table_free(struct rv_device *dev);
void rv_peers_link(struct rv_device *dev, struct rv_peer *peer);	/* appended to the list */
void rv_peers_unlink(struct rv_device *dev, struct rv_peer *peer);
struct rv_peer *rv_find_peer(struct rv_device *dev, const uint8_t key[WG_KEY_LEN]);

/* send.c */
int rv_send_to_peer(struct rv_device *dev, struct rv_peer *peer, const void *buf, size_t len);
void rv_send_initiation(struct rv_device *dev, struct rv_peer *peer, bool is_retry, uint64_t now);
void rv_send_staged(struct rv_device *dev, struct rv_peer *peer, uint64_t now);
void rv_send_keepalive(struct rv_device *dev, struct rv_peer *peer, uint64_t now);
/* a data thread asks the control thread for something (flag + wake-up) */
void rv_request(struct rv_device *dev, _Atomic bool *flag);
void *rv_tx_thread(void *dev);
/* Jobs per worker chunk for n packets of `bytes` in all (n: one chunk,
 * i.e. no helpers, when the batch is too small to be worth sharing). */
unsigned rv_crypt_chunk(unsigned n, size_t bytes);

/* receive.c */
void rv_process_handshake_queue(struct rv_device *dev, uint64_t now);
struct rv_hs_batch *rv_hs_batch_new(void);
void *rv_rx_thread(void *dev);

/* timers.c */
int rv_control_timeout_ms(struct rv_device *dev);
void rv_control_tick(struct rv_device *dev);

/* control.c */
void rv_remove_peer(struct rv_device *dev, struct rv_peer *peer);

/* uapi-server.c */
int rv_epoll_add(struct rv_device *dev, int fd, uint32_t events, void *ptr);
int rv_client_add(struct rv_device *dev, int fd, bool is_daemon);
void rv_client_close(struct rv_device *dev, struct rv_uapi_client *c);
void rv_client_event(struct rv_device *dev, struct rv_uapi_client *c, uint32_t events);
void rv_accept_clients(struct rv_device *dev);

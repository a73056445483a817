/* device.h - one roamvpn-engine interface: identity, peers, index table, the
 * three threads (control, TX, RX), their crypto workers and their shared state.
 *
 * Threads and locking:
 *  - control thread (rv_device_run): UAPI connections, timers, handshake
 *    messages (queued by RX), signals. It is the only thread that adds or
 *    removes peers, keypairs and index entries, always under `lock` (write).
 *  - TX thread: TUN -> allowed-IPs lookup -> seal -> sendmmsg.
 *  - RX thread: recvmmsg -> open -> allowed-IPs source check -> TUN; handshake
 *    and cookie messages go to the control thread's queue. When the first data
 *    packet arrives on a peer's `next` session it takes the write lock itself
 *    to promote it (that needs no allocation).
 *  The data threads hold `lock` for reading around each batch, so nothing they
 *  point at is freed under them. Each direction has one thread for its serial
 *  stages (counters and sendmmsg; replay window, roaming and TUN write), so
 *  packets of a peer stay in order; only the sealing/opening in between is
 *  shared with the crypto workers (queueing.h). */
#pragma once

#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "allowedips.h"
#include "cookie.h"
#include "noise.h"
#include "peer.h"
#include "queueing.h"
#include "udp.h"
#include "uapi.h"

enum rv_log_level { RV_LOG_SILENT = 0, RV_LOG_ERROR = 1, RV_LOG_VERBOSE = 2 };
extern int rv_log_level;
void rv_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rv_log_set_ifname(const char *ifname);	/* the "(wg0)" of each line */
#define rv_log_error(...) rv_log(RV_LOG_ERROR, __VA_ARGS__)
#define rv_log_verbose(...) do { if (rv_log_level >= RV_LOG_VERBOSE) rv_log(RV_LOG_VERBOSE, __VA_ARGS__); } while (0)

#define RV_INDEX_BUCKETS 4096
#define RV_HANDSHAKE_QUEUE 1024
#define RV_MAX_UAPI_CLIENTS 16
#define RV_HS_BATCH 64		/* initiations spread over the handshake workers at once */

struct rv_index_entry {
	struct rv_index_entry *next;
	uint32_t index;
	struct rv_peer *peer;
	struct wg_keypair *keypair;	/* NULL while it names a handshake */
};

struct rv_handshake_msg {
	uint16_t len;
	union rv_endpoint from;
	uint8_t data[WG_MSG_INITIATION_LEN];
};

struct rv_uapi_client {
	int fd;
	bool is_daemon;		/* --uapi-fd: its end of file stops the engine */
	struct rv_buf in, out;
	bool close_after_write;
};

struct rv_hs_batch;

struct rv_device_options {
	struct rv_timer_config timers;
	unsigned crypto_workers;	/* threads sealing/opening per direction; 0 = one per CPU */
};

struct rv_device {
	char ifname[IFNAMSIZ];
	int tun_fd;
	bool tun_vnet;		/* IFF_VNET_HDR: TSO split on TX, GSO coalescing on RX */
	struct rv_udp udp;
	_Atomic int mtu;

	pthread_rwlock_t lock;
	struct wg_static_identity identity;
	struct wg_cookie_checker cookie_checker;
	struct wg_allowedips allowedips;
	struct rv_peer *peers;		/* configuration order (`wg show`) */
	struct rv_peer **peers_tail;	/* the last next_in_list (or &peers): appends */
	unsigned n_peers;
	/* the same peers by public key (index.c): buckets chained through
	 * next_in_hash, SipHash-2-4 under a random per-device key */
	struct rv_peer **peer_buckets;
	unsigned peer_bucket_mask;	/* number of buckets - 1 (a power of two) */
	uint8_t peer_hash_key[16];
	struct rv_index_entry *index[RV_INDEX_BUCKETS];
	struct rv_timer_config timers;

	struct rv_ratelimiter *ratelimiter;	/* handshakes under load, per source */

	/* handshake queue: RX -> control */
	pthread_mutex_t hsq_lock;
	unsigned hsq_head, hsq_count;
	struct rv_handshake_msg *hsq;

	/* control loop */
	int epoll_fd;
	int wake_fd;		/* eventfd: data threads -> control */
	int stop_fd;		/* eventfd: control -> data threads */
	int rx_wake_fd;		/* eventfd: control -> RX thread (sockets replaced) */
	int signal_fd;
	int uapi_listen_fd;	/* -1: none (daemon mode without --uapi-listen-fd) */
	char *uapi_path;	/* unlinked at exit */
	struct rv_uapi_client *clients[RV_MAX_UAPI_CLIENTS];
	_Atomic bool stopping;
	int exit_status;

	pthread_t tx_thread, rx_thread;
	bool threads_started;
	unsigned crypto_workers;	/* per direction, the TX/RX thread included */
	struct rv_workers tx_workers, rx_workers;	/* helpers of the TX / RX thread */
	struct rv_workers hs_workers;	/* helpers of the control thread for initiations */
	struct rv_hs_batch *hs_batch;	/* receive.c: initiations being processed */
};

/* Takes ownership of tun_fd and the udp sockets (may be -1: opened on
 * demand when listen_port is set or a peer is added). */
int rv_device_init(struct rv_device *dev, const char *ifname, int tun_fd, bool tun_vnet,
		   const struct rv_udp *udp, const struct rv_device_options *opts);
/* Stand-alone: listen on /var/run/wireguard/IFNAME.sock (or dir from
 * $RV_ENGINE_SOCKET_DIR, for unprivileged tests). */
int rv_device_listen_uapi(struct rv_device *dev, const char *dir);
/* Daemon mode: the listening socket roamvpnd made for wg(8) (--uapi-listen-fd);
 * accepted like the stand-alone one, never unlinked by the engine. */
int rv_device_adopt_uapi_listener(struct rv_device *dev, int fd);
/* Daemon mode: a connected stream socket speaking UAPI. */
int rv_device_add_uapi_fd(struct rv_device *dev, int fd);
/* Blocks: runs the data threads and the control loop until a signal, the TUN
 * disappearing, or the daemon's UAPI socket closing. Returns the exit status. */
int rv_device_run(struct rv_device *dev);
void rv_device_destroy(struct rv_device *dev);

/* UAPI (control thread). Exposed for tests. */
void rv_device_uapi_get(void *dev, struct rv_buf *out);
int rv_device_uapi_set(void *dev, const struct rv_uapi_set *set);

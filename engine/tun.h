/* tun.h - the engine's TUN device: creation by name (stand-alone mode) or
 * adoption of an fd the daemon prepared, MTU, liveness, and the virtio-net
 * offloads: TSO super-packets from the kernel are split into MTU-sized
 * packets before encryption, and decrypted TCP segments of one flow are
 * coalesced into one GSO write (as wireguard-go does since 0.0.2023). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define RV_TUN_DEFAULT_MTU 1420
#define RV_VNET_HDR_LEN 10	/* struct virtio_net_hdr */
#define RV_TUN_MAX_FRAME (RV_VNET_HDR_LEN + 65536)

/* Opens /dev/net/tun and attaches IFNAME (IFF_TUN|IFF_NO_PI, non-persistent,
 * plus IFF_VNET_HDR with checksum/TSO offloads when vnet is true). Writes the
 * kernel's final name into name_out (IFNAMSIZ bytes). Returns the fd or a
 * negative errno. */
int rv_tun_create(const char *ifname, bool vnet, char *name_out);

/* Reads the interface name behind an inherited TUN fd (TUNGETIFF); *vnet
 * tells whether it was opened with IFF_VNET_HDR (offloads are then enabled). */
int rv_tun_adopt(int fd, char *name_out, bool *vnet);

/* Sets / reads the MTU of IFNAME; set needs CAP_NET_ADMIN. */
int rv_tun_set_mtu(const char *ifname, int mtu);
int rv_tun_get_mtu(const char *ifname);
/* The same on an existing IPv4/IPv6 socket (the sandbox allows no new one). */
int rv_tun_get_mtu_on(int sock, const char *ifname);

/* One frame; -EAGAIN when none, -EBADFD/-EIO when the interface is gone. */
ssize_t rv_tun_read(int fd, void *buf, size_t len);
ssize_t rv_tun_write(int fd, const void *buf, size_t len);

/* Turns one frame read from a vnet TUN (virtio header + packet) into plain IP
 * packets: a GSO super-packet is split into segments (headers rewritten,
 * checksums computed), a packet with a partial checksum gets it completed.
 * Packet i goes to out[i] + offset (room: cap bytes). Returns the count,
 * or -EINVAL (malformed, unsupported GSO type) / -ENOBUFS (more than max). */
int rv_tun_split(uint8_t *frame, size_t len, uint8_t *const *out, size_t offset, size_t cap,
		 unsigned max, size_t *out_len);

/* Writes decrypted packets to the TUN; with vnet, consecutive in-order TCP
 * segments of one flow become one GSO write. Packets passed to add() must
 * stay untouched until flush(). */
#define RV_COALESCE_MAX 64
struct rv_tun_writer {
	int fd;
	bool vnet;
	/* the pending super-packet */
	unsigned count;
	size_t total;		/* bytes of payload so far */
	size_t hdr_len, ip_len, mss;
	bool v6, closed;	/* closed: last segment short or PSH/FIN */
	uint32_t next_seq;
	uint8_t hdr[RV_VNET_HDR_LEN + 60 + 60];	/* vnet + IP + TCP of the first segment */
	const uint8_t *first;	/* the first segment as received */
	struct iovec iov[RV_COALESCE_MAX + 2];
};
void rv_tun_writer_init(struct rv_tun_writer *w, int fd, bool vnet);
void rv_tun_writer_add(struct rv_tun_writer *w, const uint8_t *pkt, size_t len);
void rv_tun_writer_flush(struct rv_tun_writer *w);

/* Internet checksum helpers (RFC 1071), exposed for the unit tests. */
uint32_t rv_csum_partial(const void *data, size_t len, uint32_t sum);
/* The same sum, taken while copying len bytes from src to dst. */
uint32_t rv_csum_copy(void *dst, const void *src, size_t len, uint32_t sum);
uint16_t rv_csum_fold(uint32_t sum);

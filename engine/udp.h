/* udp.h - the engine's UDP sockets (one IPv4, one IPv6 on the same port):
 * binding, fwmark, socket buffers, batched receive and send. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

union rv_endpoint {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

struct rv_udp {
	int fd4, fd6;		/* -1 when absent */
	uint16_t port;
	uint32_t fwmark;
};

#define RV_UDP_BATCH 32
#define RV_UDP_BUF_SIZE 65536	/* largest datagram the engine accepts */
#define RV_UDP_SOCKBUF (8 * 1024 * 1024)

struct rv_udp_batch {
	unsigned count;		/* filled entries after rv_udp_recv_batch */
	struct mmsghdr msgs[RV_UDP_BATCH];
	struct iovec iov[RV_UDP_BATCH];
	union rv_endpoint from[RV_UDP_BATCH];
	uint8_t *buf[RV_UDP_BATCH];	/* RV_UDP_BUF_SIZE each */
	/* UDP_GRO: the kernel may glue datagrams of one flow together; each is
	 * then gso_size bytes (the last may be shorter). 0: one datagram. */
	uint16_t gso_size[RV_UDP_BATCH];
	uint8_t ctrl[RV_UDP_BATCH][64];
};

/* Most datagrams one UDP_SEGMENT send may carry (kernel UDP_MAX_SEGMENTS). */
#define RV_UDP_MAX_SEGMENTS 64

void rv_udp_init(struct rv_udp *u);
/* Binds both families to PORT (0: a random port, the same for both). Either
 * family may be missing (no IPv6 in the namespace); both missing is an error. */
int rv_udp_open(struct rv_udp *u, uint16_t port, uint32_t fwmark);
/* Takes sockets the daemon prepared; reads their port. */
int rv_udp_adopt(struct rv_udp *u, int fd4, int fd6);
void rv_udp_close(struct rv_udp *u);
int rv_udp_set_fwmark(struct rv_udp *u, uint32_t mark);
/* Large buffers (SO_*BUFFORCE when privileged, plain otherwise) and UDP_GRO. */
void rv_udp_tune(int fd);

int rv_udp_send(const struct rv_udp *u, const union rv_endpoint *to, const void *buf, size_t len);

int rv_udp_batch_init(struct rv_udp_batch *b);
void rv_udp_batch_free(struct rv_udp_batch *b);
/* recvmmsg into the batch; returns the count, 0 when nothing, or -errno. */
int rv_udp_recv_batch(int fd, struct rv_udp_batch *b);

bool rv_endpoint_equal(const union rv_endpoint *a, const union rv_endpoint *b);
socklen_t rv_endpoint_len(const union rv_endpoint *e);
/* "1.2.3.4:5" or "[::1]:5" */
void rv_endpoint_format(const union rv_endpoint *e, char *out, size_t outlen);
/* Numeric only; returns 0 or -EINVAL. */
int rv_endpoint_parse(const char *s, union rv_endpoint *out);

/* udp.c - UDP transport for roamvpn-engine (see udp.h). */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rv_udp_init(struct rv_udp *u)
{
	u->fd4 = u->fd6 = -1;
	u->port = 0;
	u->fwmark = 0;
}

void rv_udp_tune(int fd)
{
	int size = RV_UDP_SOCKBUF;

	/* FORCE lifts net.core.[rw]mem_max, but only with CAP_NET_ADMIN; the
	 * plain option is the unprivileged fall-back (clamped by the sysctl). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* receive runs of datagrams as one buffer (rv_udp_recv_batch splits) */
	{
		int one = 1;

		setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	}
}

static int open_one(int family, uint16_t port, uint32_t fwmark, uint16_t *bound_port)
{
	union rv_endpoint ep;
	socklen_t len;
	int fd, one = 1, err;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	memset(&ep, 0, sizeof(ep));
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			goto fail;
		ep.in6.sin6_family = AF_INET6;
		ep.in6.sin6_port = htons(port);
		ep.in6.sin6_addr = in6addr_any;
		len = sizeof(ep.in6);
	} else {
		ep.in4.sin_family = AF_INET;
		ep.in4.sin_port = htons(port);
		ep.in4.sin_addr.s_addr = htonl(INADDR_ANY);
		len = sizeof(ep.in4);
	}
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto fail;
	rv_udp_tune(fd);
	if (bind(fd, &ep.sa, len) < 0)
		goto fail;
	len = sizeof(ep);
	if (getsockname(fd, &ep.sa, &len) < 0)
		goto fail;
	*bound_port = ntohs(family == AF_INET6 ? ep.in6.sin6_port : ep.in4.sin_port);
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int rv_udp_open(struct rv_udp *u, uint16_t port, uint32_t fwmark)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		uint16_t p4 = 0, p6 = 0;
		int fd4, fd6;

		fd4 = open_one(AF_INET, port, fwmark, &p4);
		if (fd4 < 0 && fd4 != -EAFNOSUPPORT)
			return fd4;
		fd6 = open_one(AF_INET6, fd4 >= 0 ? p4 : port, fwmark, &p6);
		if (fd6 == -EADDRINUSE && port == 0 && fd4 >= 0) {
			/* the random v4 port is taken on v6: pick another */
			close(fd4);
			continue;
		}
		if (fd6 < 0 && fd6 != -EAFNOSUPPORT && fd6 != -EADDRNOTAVAIL) {
			if (fd4 >= 0)
				close(fd4);
			return fd6;
		}
		if (fd4 < 0 && fd6 < 0)
			return -EAFNOSUPPORT;
		rv_udp_close(u);
		u->fd4 = fd4 >= 0 ? fd4 : -1;
		u->fd6 = fd6 >= 0 ? fd6 : -1;
		u->port = fd4 >= 0 ? p4 : p6;
		u->fwmark = fwmark;
		return 0;
	}
	return -EADDRINUSE;
}

static int port_of(int fd, int *family)
{
	union rv_endpoint ep;
	socklen_t len = sizeof(ep);

	if (getsockname(fd, &ep.sa, &len) < 0)
		return -errno;
	*family = ep.sa.sa_family;
	if (ep.sa.sa_family == AF_INET)
		return ntohs(ep.in4.sin_port);
	if (ep.sa.sa_family == AF_INET6)
		return ntohs(ep.in6.sin6_port);
	return -EINVAL;
}

int rv_udp_adopt(struct rv_udp *u, int fd4, int fd6)
{
	int family, port = 0;

	if (fd4 >= 0) {
		port = port_of(fd4, &family);
		if (port < 0 || family != AF_INET)
			return port < 0 ? port : -EINVAL;
	}
	if (fd6 >= 0) {
		int p6 = port_of(fd6, &family);

		if (p6 < 0 || family != AF_INET6)
			return p6 < 0 ? p6 : -EINVAL;
		if (fd4 < 0)
			port = p6;
	}
	if (fd4 < 0 && fd6 < 0)
		return -EINVAL;
	u->fd4 = fd4;
	u->fd6 = fd6;
	u->port = (uint16_t)port;
	if (fd4 >= 0)
		rv_udp_tune(fd4);
	if (fd6 >= 0)
		rv_udp_tune(fd6);
	return 0;
}

void rv_udp_close(struct rv_udp *u)
{
	if (u->fd4 >= 0)
		close(u->fd4);
	if (u->fd6 >= 0)
		close(u->fd6);
	u->fd4 = u->fd6 = -1;
}

int rv_udp_set_fwmark(struct rv_udp *u, uint32_t mark)
{
	if (u->fd4 >= 0 && setsockopt(u->fd4, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	if (u->fd6 >= 0 && setsockopt(u->fd6, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	u->fwmark = mark;
	return 0;
}

socklen_t rv_endpoint_len(const union rv_endpoint *e)
{
	if (e->sa.sa_family == AF_INET)
		return sizeof(e->in4);
	if (e->sa.sa_family == AF_INET6)
		return sizeof(e->in6);
	return 0;
}

int rv_udp_send(const struct rv_udp *u, const union rv_endpoint *to, const void *buf, size_t len)
{
	int fd = to->sa.sa_family == AF_INET ? u->fd4 : to->sa.sa_family == AF_INET6 ? u->fd6 : -1;
	ssize_t n;

	if (fd < 0)
		return -EAFNOSUPPORT;
	n = sendto(fd, buf, len, 0, &to->sa, rv_endpoint_len(to));
	return n < 0 ? -errno : 0;
}

int rv_udp_batch_init(struct rv_udp_batch *b)
{
	unsigned i;

	memset(b, 0, sizeof(*b));
	for (i = 0; i < RV_UDP_BATCH; i++) {
		b->buf[i] = malloc(RV_UDP_BUF_SIZE);
		if (!b->buf[i]) {
			rv_udp_batch_free(b);
			return -ENOMEM;
		}
	}
	return 0;
}

void rv_udp_batch_free(struct rv_udp_batch *b)
{
	unsigned i;

	for (i = 0; i < RV_UDP_BATCH; i++) {
		free(b->buf[i]);
		b->buf[i] = NULL;
	}
}

int rv_udp_recv_batch(int fd, struct rv_udp_batch *b)
{
	unsigned i;
	int n;

	for (i = 0; i < RV_UDP_BATCH; i++) {
		b->iov[i].iov_base = b->buf[i];
		b->iov[i].iov_len = RV_UDP_BUF_SIZE;
		memset(&b->msgs[i].msg_hdr, 0, sizeof(b->msgs[i].msg_hdr));
		b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
		b->msgs[i].msg_hdr.msg_iovlen = 1;
		b->msgs[i].msg_hdr.msg_name = &b->from[i];
		b->msgs[i].msg_hdr.msg_namelen = sizeof(b->from[i]);
		b->msgs[i].msg_hdr.msg_control = b->ctrl[i];
		b->msgs[i].msg_hdr.msg_controllen = sizeof(b->ctrl[i]);
	}
	n = recvmmsg(fd, b->msgs, RV_UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0) {
		b->count = 0;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	}
	for (i = 0; i < (unsigned)n; i++) {
		struct cmsghdr *c;

		b->gso_size[i] = 0;
		for (c = CMSG_FIRSTHDR(&b->msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&b->msgs[i].msg_hdr, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
			    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
				int gso;

				memcpy(&gso, CMSG_DATA(c), sizeof(gso));
				if (gso > 0 && gso < 65536 && (unsigned)gso < b->msgs[i].msg_len)
					b->gso_size[i] = (uint16_t)gso;
			}
		}
	}
	b->count = (unsigned)n;
	return n;
}

bool rv_endpoint_equal(const union rv_endpoint *a, const union rv_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	return true;
}

void rv_endpoint_format(const union rv_endpoint *e, char *out, size_t outlen)
{
	char ip[INET6_ADDRSTRLEN];

	if (e->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &e->in4.sin_addr, ip, sizeof(ip));
		snprintf(out, outlen, "%s:%u", ip, ntohs(e->in4.sin_port));
	} else if (e->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &e->in6.sin6_addr, ip, sizeof(ip));
		if (e->in6.sin6_scope_id)
			snprintf(out, outlen, "[%s%%%u]:%u", ip, e->in6.sin6_scope_id,
				 ntohs(e->in6.sin6_port));
		else
			snprintf(out, outlen, "[%s]:%u", ip, ntohs(e->in6.sin6_port));
	} else if (outlen) {
		out[0] = '\0';
	}
}

static int parse_port(const char *s, uint16_t *port)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int rv_endpoint_parse(const char *s, union rv_endpoint *out)
{
	char host[INET6_ADDRSTRLEN + 16];
	const char *colon;
	uint16_t port;
	size_t hlen;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		char *pct;

		if (!close || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (parse_port(close + 2, &port) < 0)
			return -EINVAL;
		pct = strchr(host, '%');
		if (pct) {
			unsigned long scope;
			char *end;

			*pct++ = '\0';
			if (*pct < '0' || *pct > '9')
				return -EINVAL;
			scope = strtoul(pct, &end, 10);
			if (*end || scope > UINT32_MAX)
				return -EINVAL;
			out->in6.sin6_scope_id = (uint32_t)scope;
		}
		if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) != 1)
			return -EINVAL;
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	hlen = (size_t)(colon - s);
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, &out->in4.sin_addr) != 1)
		return -EINVAL;
	out->in4.sin_family = AF_INET;
	out->in4.sin_port = htons(port);
	return 0;
}

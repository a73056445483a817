/* tun.c - TUN device handling for roamvpn-engine (see tun.h). With
 * IFF_VNET_HDR every frame starts with a struct virtio_net_hdr; the kernel
 * then hands us TCP super-packets up to 64 KiB (TUN_F_TSO4/6) and accepts
 * the same from us, which saves a syscall and a trip through the stack per
 * 1.4 KB segment. Writes of packets we did not coalesce carry a zero header. */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static void enable_offloads(int fd)
{
	/* best effort: without them we just get plain packets */
	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0)
		ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
}

int rv_tun_create(const char *ifname, bool vnet, char *name_out)
{
	struct ifreq ifr;
	int fd;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (vnet) {
		int sz = RV_VNET_HDR_LEN;

		ioctl(fd, TUNSETVNETHDRSZ, &sz);
		enable_offloads(fd);
	}
	if (name_out) {
		memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
		name_out[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

int rv_tun_adopt(int fd, char *name_out, bool *vnet)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TUN) || !(ifr.ifr_flags & IFF_NO_PI))
		return -EINVAL;
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	*vnet = ifr.ifr_flags & IFF_VNET_HDR;
	if (*vnet) {
		int sz = 0;

		if (ioctl(fd, TUNGETVNETHDRSZ, &sz) < 0 || sz != RV_VNET_HDR_LEN)
			return -EINVAL;
		enable_offloads(fd);
	}
	return 0;
}

static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s, ret = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memcpy(ifr->ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int rv_tun_set_mtu(const char *ifname, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return ifreq_ioctl(ifname, SIOCSIFMTU, &ifr);
}

int rv_tun_get_mtu_on(int sock, const char *ifname)
{
	struct ifreq ifr;

	if (sock < 0 || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(sock, SIOCGIFMTU, &ifr) < 0)
		return -errno;
	return ifr.ifr_mtu;
}

int rv_tun_get_mtu(const char *ifname)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(ifname, SIOCGIFMTU, &ifr);
	return ret < 0 ? ret : ifr.ifr_mtu;
}

ssize_t rv_tun_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

ssize_t rv_tun_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* ------------------------------------------------------------- checksums */

/* The checksum loops work on 64 bytes per step in sixteen 32-bit lanes
 * (GCC/clang vector extensions), summing the two 16-bit halves of each lane
 * separately so that nothing carries out of a lane: a step adds at most
 * 2 * 0xffff to a lane, so CSUM_MAX_STEPS steps fit in 32 bits before we fold
 * into the 64-bit total. Native-order 16-bit one's complement sum (RFC 1071
 * §2: byte order independent as long as the result is stored the same way).
 * Every byte of a TSO superpacket passes through here once: with GCC on
 * x86-64 the loop is built for AVX-512, AVX2 and plain SSE2 and the widest
 * the CPU has is picked at load time (an ifunc). In 16-byte lanes it was
 * 2.5x the scalar loop at -O2; in 64-byte ones it went from 4.4 % to 0.8 % of
 * the engines' CPU in the 2-core bench (docs/engine.md). */
typedef uint32_t csum_lanes __attribute__((vector_size(64), aligned(1)));
#define CSUM_MAX_STEPS 8192

static uint64_t csum_tail(const uint8_t *p, size_t len, uint64_t acc)
{
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, 2);
		acc += w;
	}
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return acc;
}

/* Two partial sums added with the end-around carry (RFC 1071 §1): the sum of
 * two 32-bit values carries at most once. */
static uint32_t csum_add(uint32_t a, uint32_t b)
{
	uint64_t s = (uint64_t)a + b;

	return (uint32_t)((s & 0xffffffffu) + (s >> 32));
}

/* dst may be NULL (sum only). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static uint32_t csum_blocks(uint8_t *dst, const uint8_t *p, size_t len, uint32_t sum)
{
	uint64_t acc = sum;

	while (len >= 64) {
		csum_lanes a = { 0 };
		size_t steps = len / 64 > CSUM_MAX_STEPS ? CSUM_MAX_STEPS : len / 64, i;

		for (i = 0; i < steps; i++) {
			csum_lanes w;

			memcpy(&w, p, 64);
			if (dst) {
				memcpy(dst, &w, 64);
				dst += 64;
			}
			a += (w & 0xffff) + (w >> 16);
			p += 64;
		}
		len -= steps * 64;
		for (i = 0; i < 16; i++)
			acc += a[i];
	}
	if (dst)
		memcpy(dst, p, len);
	return (uint32_t)csum_tail(p, len, acc);
}

uint32_t rv_csum_partial(const void *data, size_t len, uint32_t sum)
{
	return csum_blocks(NULL, data, len, sum);
}

uint32_t rv_csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
	return csum_blocks(dst, src, len, sum);
}

uint16_t rv_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Sum of the TCP/UDP pseudo-header, not folded. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	uint8_t tail[4] = { 0, proto, (uint8_t)(l4_len >> 8), (uint8_t)l4_len };
	uint32_t sum;

	if (v6) {
		uint8_t tail6[8] = { (uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16), (uint8_t)(l4_len >> 8),
				     (uint8_t)l4_len, 0, 0, 0, proto };

		sum = rv_csum_partial(ip + 8, 32, 0);
		return rv_csum_partial(tail6, 8, sum);
	}
	sum = rv_csum_partial(ip + 12, 8, 0);
	return rv_csum_partial(tail, 4, sum);
}

static void ipv4_fix_header_csum(uint8_t *ip, size_t ihl)
{
	uint16_t c;

	ip[10] = ip[11] = 0;
	c = (uint16_t)~rv_csum_fold(rv_csum_partial(ip, ihl, 0));
	memcpy(ip + 10, &c, 2);
}

/* ------------------------------------------------------------ TX: split */

int rv_tun_split(uint8_t *frame, size_t len, uint8_t *const *out, size_t offset, size_t cap,
		 unsigned max, size_t *out_len)
{
	struct virtio_net_hdr h;
	uint8_t *pkt = frame + RV_VNET_HDR_LEN;
	size_t plen, l4, thl, hdr_len, payload, mss, off;
	uint8_t gso;
	bool v6;
	unsigned n = 0;

	if (len < RV_VNET_HDR_LEN + 1 || max == 0)
		return -EINVAL;
	memcpy(&h, frame, sizeof(h));
	plen = len - RV_VNET_HDR_LEN;
	gso = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		if (plen > cap)
			return -EINVAL;
		if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			/* the field holds the pseudo-header sum: sum it all and invert */
			size_t start = h.csum_start, field = (size_t)h.csum_start + h.csum_offset;
			uint16_t c;

			if (start >= plen || field + 2 > plen)
				return -EINVAL;
			c = (uint16_t)~rv_csum_fold(rv_csum_partial(pkt + start, plen - start, 0));
			memcpy(pkt + field, &c, 2);
		}
		memcpy(out[0] + offset, pkt, plen);
		out_len[0] = plen;
		return 1;
	}
	if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
		return -EINVAL;
	v6 = gso == VIRTIO_NET_HDR_GSO_TCPV6;
	l4 = h.csum_start;
	if ((v6 && (pkt[0] >> 4) != 6) || (!v6 && (pkt[0] >> 4) != 4))
		return -EINVAL;
	if (l4 < (v6 ? 40u : 20u) || l4 + 20 > plen)
		return -EINVAL;
	thl = (size_t)(pkt[l4 + 12] >> 4) * 4;
	hdr_len = l4 + thl;
	mss = h.gso_size;
	if (thl < 20 || hdr_len > plen || mss == 0)
		return -EINVAL;
	payload = plen - hdr_len;
	{
		uint32_t seq = get32(pkt + l4 + 4);
		uint16_t id = v6 ? 0 : get16(pkt + 4);
		uint8_t flags = pkt[l4 + 13];

		for (off = 0; off < payload || (payload == 0 && n == 0); off += mss) {
			size_t seg = payload - off < mss ? payload - off : mss;
			uint8_t *o;
			uint32_t sum, psum;
			uint16_t c;
			bool last = off + seg >= payload;

			if (n == max)
				return -ENOBUFS;
			if (hdr_len + seg > cap)
				return -EINVAL;
			o = out[n] + offset;
			memcpy(o, pkt, hdr_len);
			/* the payload's sum is taken while it is copied (one pass
			 * over the bytes); it starts at an even offset from the
			 * TCP header (thl is a multiple of 4), so sums add up */
			psum = rv_csum_copy(o + hdr_len, pkt + hdr_len + off, seg, 0);
			if (v6) {
				put16(o + 4, (uint16_t)(hdr_len - 40 + seg));
			} else {
				put16(o + 2, (uint16_t)(hdr_len + seg));
				put16(o + 4, (uint16_t)(id + n));
				ipv4_fix_header_csum(o, l4);
			}
			put32(o + l4 + 4, seq + (uint32_t)off);
			/* FIN/PSH only on the last segment, CWR only on the first */
			o[l4 + 13] = (uint8_t)(flags & (last ? 0xff : ~0x09));
			if (n)
				o[l4 + 13] &= (uint8_t)~0x80;
			o[l4 + 16] = o[l4 + 17] = 0;
			sum = pseudo_sum(o, v6, IPPROTO_TCP, thl + seg);
			sum = rv_csum_partial(o + l4, thl, sum);
			sum = csum_add(sum, psum);
			c = (uint16_t)~rv_csum_fold(sum);
			memcpy(o + l4 + 16, &c, 2);
			out_len[n++] = hdr_len + seg;
			if (payload == 0)
				break;
		}
	}
	return (int)n;
}

/* ---------------------------------------------------------- RX: coalesce */

void rv_tun_writer_init(struct rv_tun_writer *w, int fd, bool vnet)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->vnet = vnet;
}

static void write_plain(struct rv_tun_writer *w, const uint8_t *pkt, size_t len)
{
	if (w->vnet) {
		static const uint8_t zero[RV_VNET_HDR_LEN];
		struct iovec iov[2] = {
			{ .iov_base = (void *)zero, .iov_len = RV_VNET_HDR_LEN },
			{ .iov_base = (void *)pkt, .iov_len = len },
		};
		ssize_t r = writev(w->fd, iov, 2);

		(void)r;
	} else {
		ssize_t r = write(w->fd, pkt, len);

		(void)r;
	}
}

void rv_tun_writer_flush(struct rv_tun_writer *w)
{
	struct virtio_net_hdr h;
	uint8_t *ip = w->hdr + RV_VNET_HDR_LEN;
	size_t tcp_len;
	uint32_t sum;
	uint16_t c;
	ssize_t r;

	if (!w->count)
		return;
	if (w->count == 1) {
		write_plain(w, w->first, w->hdr_len + w->total);
		w->count = 0;
		return;
	}
	if (w->v6) {
		put16(ip + 4, (uint16_t)(w->hdr_len - 40 + w->total));
	} else {
		put16(ip + 2, (uint16_t)(w->hdr_len + w->total));
		ipv4_fix_header_csum(ip, w->ip_len);
	}
	/* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel
	 * (or its segmentation) finishes it */
	tcp_len = w->hdr_len - w->ip_len + w->total;
	sum = pseudo_sum(ip, w->v6, IPPROTO_TCP, tcp_len);
	c = rv_csum_fold(sum);
	memcpy(ip + w->ip_len + 16, &c, 2);
	memset(&h, 0, sizeof(h));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = w->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)w->hdr_len;
	h.gso_size = (uint16_t)w->mss;
	h.csum_start = (uint16_t)w->ip_len;
	h.csum_offset = 16;
	memcpy(w->hdr, &h, sizeof(h));
	w->iov[0].iov_base = w->hdr;
	w->iov[0].iov_len = RV_VNET_HDR_LEN + w->hdr_len;
	r = writev(w->fd, w->iov, (int)w->count + 1);
	(void)r;
	w->count = 0;
}

/* The TCP segment's header length if pkt is a plain TCP segment we may merge. */
static bool tcp_candidate(const uint8_t *pkt, size_t len, bool *v6, size_t *ip_len, size_t *hdr_len)
{
	size_t thl;
	uint8_t flags;

	if (len < 40)
		return false;
	if ((pkt[0] >> 4) == 4) {
		if ((pkt[0] & 0xf) != 5 || pkt[9] != IPPROTO_TCP)
			return false;
		if (get16(pkt + 6) & 0x3fff)	/* fragment */
			return false;
		*v6 = false;
		*ip_len = 20;
	} else if ((pkt[0] >> 4) == 6) {
		if (len < 60 || pkt[6] != IPPROTO_TCP)
			return false;
		*v6 = true;
		*ip_len = 40;
	} else {
		return false;
	}
	thl = (size_t)(pkt[*ip_len + 12] >> 4) * 4;
	if (thl < 20 || *ip_len + thl >= len)	/* no payload: nothing to gain */
		return false;
	flags = pkt[*ip_len + 13];
	/* only ACK (+PSH); SYN/FIN/RST/URG/ECE/CWR go through untouched */
	if ((flags & ~0x08) != 0x10)
		return false;
	*hdr_len = *ip_len + thl;
	return true;
}

static bool same_flow(const struct rv_tun_writer *w, const uint8_t *pkt, size_t hdr_len)
{
	const uint8_t *a = w->first;

	if (hdr_len != w->hdr_len)
		return false;
	if (w->v6) {
		/* version/class/flow label, next header, hop limit, addresses */
		if (memcmp(a, pkt, 4) || memcmp(a + 6, pkt + 6, 34))
			return false;
	} else {
		/* TOS, DF, TTL, protocol, addresses */
		if (a[1] != pkt[1] || a[8] != pkt[8] || memcmp(a + 12, pkt + 12, 8) ||
		    (a[6] & 0x40) != (pkt[6] & 0x40))
			return false;
	}
	/* ports, ack, flags (PSH aside), window; options byte for byte */
	if (memcmp(a + w->ip_len, pkt + w->ip_len, 4) || memcmp(a + w->ip_len + 8, pkt + w->ip_len + 8, 5) ||
	    memcmp(a + w->ip_len + 14, pkt + w->ip_len + 14, 2) ||
	    memcmp(a + w->ip_len + 20, pkt + w->ip_len + 20, hdr_len - w->ip_len - 20))
		return false;
	return true;
}

void rv_tun_writer_add(struct rv_tun_writer *w, const uint8_t *pkt, size_t len)
{
	size_t ip_len = 0, hdr_len = 0, payload;
	bool v6 = false;

	if (!w->vnet || !tcp_candidate(pkt, len, &v6, &ip_len, &hdr_len)) {
		rv_tun_writer_flush(w);
		write_plain(w, pkt, len);
		return;
	}
	payload = len - hdr_len;
	if (w->count && !w->closed && w->v6 == v6 && w->count < RV_COALESCE_MAX &&
	    payload <= w->mss && w->hdr_len + w->total + payload <= 65535 - 64 &&
	    get32(pkt + ip_len + 4) == w->next_seq && same_flow(w, pkt, hdr_len)) {
		w->iov[w->count + 1].iov_base = (void *)(pkt + hdr_len);
		w->iov[w->count + 1].iov_len = payload;
		w->count++;
		w->total += payload;
		w->next_seq += (uint32_t)payload;
		if (payload < w->mss || (pkt[ip_len + 13] & 0x08)) {
			w->closed = true;
			w->hdr[RV_VNET_HDR_LEN + ip_len + 13] |= pkt[ip_len + 13] & 0x08;
		}
		return;
	}
	rv_tun_writer_flush(w);
	w->count = 1;
	w->first = pkt;
	w->v6 = v6;
	w->ip_len = ip_len;
	w->hdr_len = hdr_len;
	w->mss = payload;
	w->total = payload;
	w->next_seq = get32(pkt + ip_len + 4) + (uint32_t)payload;
	w->closed = (pkt[ip_len + 13] & 0x08) != 0;
	memcpy(w->hdr + RV_VNET_HDR_LEN, pkt, hdr_len);
	w->iov[1].iov_base = (void *)(pkt + hdr_len);
	w->iov[1].iov_len = payload;
}

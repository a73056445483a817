/* test-engine-offload.c - the engine's TUN offloads (engine/tun.c): splitting
 * TSO super-packets into valid segments, completing partial checksums, and
 * coalescing TCP segments into one GSO write (captured on a socketpair). */
#include <errno.h>
#include <glib.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tun.h"

#define OFF 16	/* header room the engine keeps in front of each packet */
#define CAP 4096

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t get32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

/* Sum over pseudo-header + L4 must fold to 0xffff for a valid checksum. */
static bool l4_csum_ok(const uint8_t *pkt, size_t len, bool v6, size_t l4, uint8_t proto)
{
	uint8_t ph[40];
	size_t phl, l4len = len - l4;
	uint32_t sum;

	memset(ph, 0, sizeof(ph));
	if (v6) {
		memcpy(ph, pkt + 8, 32);
		put32(ph + 32, (uint32_t)l4len);
		ph[39] = proto;
		phl = 40;
	} else {
		memcpy(ph, pkt + 12, 8);
		ph[9] = proto;
		put16(ph + 10, (uint16_t)l4len);
		phl = 12;
	}
	sum = rv_csum_partial(ph, phl, 0);
	sum = rv_csum_partial(pkt + l4, l4len, sum);
	return rv_csum_fold(sum) == 0xffff;
}

static bool ip4_csum_ok(const uint8_t *pkt)
{
	return rv_csum_fold(rv_csum_partial(pkt, 20, 0)) == 0xffff;
}

/* RFC 1071 the slow, obvious way: big-endian 16-bit words, odd byte padded
 * with zero, carries folded at the end. */
static uint16_t ref_csum(const uint8_t *p, size_t len, uint32_t start_be)
{
	uint64_t acc = start_be;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		acc += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		acc += (uint32_t)p[len - 1] << 8;
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* The vectorised sum (and the copy taking it on the way) equal the reference
 * for every length around the 64-byte step and the lane-overflow bound, at
 * unaligned addresses, with all-ones data (the carries' worst case). */
static void test_csum_reference(void)
{
	static uint8_t src[70000], dst[70000 + 8];
	size_t lens[] = { 0, 1, 2, 3, 63, 64, 65, 127, 128, 129, 1367, 1368, 1400, 1420, 65535, 65536, 69999 };
	unsigned fill, off, k;

	for (fill = 0; fill < 2; fill++) {
		for (k = 0; k < sizeof(src); k++)
			src[k] = fill ? 0xff : (uint8_t)(k * 131 + (k >> 7));
		for (off = 0; off < 3; off++) {
			for (k = 0; k < G_N_ELEMENTS(lens); k++) {
				size_t len = lens[k] + off <= sizeof(src) ? lens[k] : sizeof(src) - off;
				uint16_t want = ref_csum(src + off, len, 0);
				uint16_t got = rv_csum_fold(rv_csum_partial(src + off, len, 0));
				uint16_t copied;

				/* native-order sum: on a little-endian CPU it is the
				 * byte-swapped big-endian one */
				got = (uint16_t)(G_BYTE_ORDER == G_LITTLE_ENDIAN ? GUINT16_SWAP_LE_BE(got) : got);
				/* one's complement: 0 and 0xffff are the same number */
				g_assert_cmpuint(want % 0xffff, ==, got % 0xffff);
				memset(dst, 0xa5, sizeof(dst));
				copied = rv_csum_fold(rv_csum_copy(dst + 1, src + off, len, 0));
				copied = (uint16_t)(G_BYTE_ORDER == G_LITTLE_ENDIAN ? GUINT16_SWAP_LE_BE(copied) : copied);
				g_assert_cmpuint(want % 0xffff, ==, copied % 0xffff);
				g_assert_cmpmem(dst + 1, len, src + off, len);
				g_assert_cmpuint(dst[0], ==, 0xa5);
				g_assert_cmpuint(dst[len + 1], ==, 0xa5);
			}
		}
	}
}

/* A TSO frame as the kernel hands it: virtio header + one big TCP packet. */
static size_t make_tso_frame(uint8_t *f, bool v6, size_t payload, uint16_t mss, uint8_t flags)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *ip = f + RV_VNET_HDR_LEN;
	size_t iph = v6 ? 40 : 20, thl = 32, i;
	uint8_t *tcp = ip + iph;

	memset(ip, 0, iph + thl);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(thl + payload));
		ip[6] = IPPROTO_TCP;
		ip[7] = 64;
		ip[8] = 0xfd; ip[23] = 1;	/* fd00::1 -> fd00::2 */
		ip[24] = 0xfd; ip[39] = 2;
	} else {
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(iph + thl + payload));
		put16(ip + 4, 0x1234);
		ip[6] = 0x40;	/* DF */
		ip[8] = 64;
		ip[9] = IPPROTO_TCP;
		ip[12] = 10; ip[15] = 1;
		ip[16] = 10; ip[19] = 2;
	}
	put16(tcp, 40000);
	put16(tcp + 2, 5201);
	put32(tcp + 4, 0xfffff000u);	/* wraps during the split */
	put32(tcp + 8, 777);
	tcp[12] = (uint8_t)((thl / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 512);
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;	/* NOP NOP TS */
	put32(tcp + 24, 1111);
	put32(tcp + 28, 2222);
	for (i = 0; i < payload; i++)
		tcp[thl + i] = (uint8_t)(i * 7 + 3);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)(iph + thl);
	h.gso_size = mss;
	h.csum_start = (uint16_t)iph;
	h.csum_offset = 16;
	memcpy(f, &h, sizeof(h));
	return RV_VNET_HDR_LEN + iph + thl + payload;
}

struct slots {
	uint8_t *buf[128];
	size_t len[128];
};

static void slots_init(struct slots *s)
{
	for (unsigned i = 0; i < 128; i++)
		s->buf[i] = g_malloc0(OFF + CAP);
}

static void slots_free(struct slots *s)
{
	for (unsigned i = 0; i < 128; i++)
		g_free(s->buf[i]);
}

static void check_split(bool v6)
{
	uint8_t *frame = g_malloc0(RV_TUN_MAX_FRAME);
	size_t iph = v6 ? 40 : 20, hdr = iph + 32, payload = 2500;
	size_t flen = make_tso_frame(frame, v6, payload, 1000, 0x18 /* ACK|PSH */);
	struct slots s;
	int n, i;

	slots_init(&s);
	n = rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len);
	g_assert_cmpint(n, ==, 3);
	for (i = 0; i < n; i++) {
		const uint8_t *p = s.buf[i] + OFF, *tcp = p + iph;
		size_t seg = i < 2 ? 1000 : 500;

		g_assert_cmpuint(s.len[i], ==, hdr + seg);
		if (v6) {
			g_assert_cmpuint(get16(p + 4), ==, 32 + seg);
		} else {
			g_assert_cmpuint(get16(p + 2), ==, hdr + seg);
			g_assert_cmpuint(get16(p + 4), ==, 0x1234 + i);
			g_assert_true(ip4_csum_ok(p));
		}
		g_assert_cmpuint(get32(tcp + 4), ==, (uint32_t)(0xfffff000u + (uint32_t)i * 1000));
		g_assert_cmpuint(tcp[13], ==, i == 2 ? 0x18 : 0x10);	/* PSH on the last only */
		g_assert_true(l4_csum_ok(p, s.len[i], v6, iph, IPPROTO_TCP));
		g_assert_cmpmem(tcp + 32, seg, frame + RV_VNET_HDR_LEN + hdr + (size_t)i * 1000, seg);
	}
	slots_free(&s);
	g_free(frame);
}

static void test_split_v4(void) { check_split(false); }
static void test_split_v6(void) { check_split(true); }

static void test_split_partial_csum(void)
{
	uint8_t frame[RV_VNET_HDR_LEN + 40];
	struct virtio_net_hdr h = { 0 };
	uint8_t *ip = frame + RV_VNET_HDR_LEN;
	struct slots s;
	uint32_t ps;
	uint16_t c;
	uint8_t ph[12] = { 0 };

	memset(frame, 0, sizeof(frame));
	ip[0] = 0x45;
	put16(ip + 2, 40);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	ip[12] = 10; ip[15] = 1; ip[16] = 10; ip[19] = 2;
	put16(ip + 20, 1000);
	put16(ip + 22, 2000);
	put16(ip + 24, 20);
	memcpy(ip + 28, "twelve bytes", 12);
	/* the kernel leaves the pseudo-header sum in the field */
	memcpy(ph, ip + 12, 8);
	ph[9] = IPPROTO_UDP;
	put16(ph + 10, 20);
	ps = rv_csum_partial(ph, 12, 0);
	c = rv_csum_fold(ps);
	memcpy(ip + 26, &c, 2);
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.csum_start = 20;
	h.csum_offset = 6;
	memcpy(frame, &h, sizeof(h));

	slots_init(&s);
	g_assert_cmpint(rv_tun_split(frame, sizeof(frame), s.buf, OFF, CAP, 128, s.len), ==, 1);
	g_assert_cmpuint(s.len[0], ==, 40);
	g_assert_true(l4_csum_ok(s.buf[0] + OFF, 40, false, 20, IPPROTO_UDP));
	slots_free(&s);
}

static void test_split_malformed(void)
{
	uint8_t *frame = g_malloc0(RV_TUN_MAX_FRAME);
	struct virtio_net_hdr h;
	struct slots s;
	size_t flen;

	slots_init(&s);
	g_assert_cmpint(rv_tun_split(frame, 5, s.buf, OFF, CAP, 128, s.len), ==, -EINVAL);
	flen = make_tso_frame(frame, false, 2500, 1000, 0x10);
	/* not enough slots */
	g_assert_cmpint(rv_tun_split(frame, flen, s.buf, OFF, CAP, 2, s.len), ==, -ENOBUFS);
	/* checksum start past the packet */
	memcpy(&h, frame, sizeof(h));
	h.csum_start = 60000;
	memcpy(frame, &h, sizeof(h));
	g_assert_cmpint(rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len), ==, -EINVAL);
	/* UDP GSO is never enabled, so never accepted */
	flen = make_tso_frame(frame, false, 2500, 1000, 0x10);
	memcpy(&h, frame, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	memcpy(frame, &h, sizeof(h));
	g_assert_cmpint(rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len), ==, -EINVAL);
	/* IPv6 header under a TCPV4 label */
	flen = make_tso_frame(frame, true, 2500, 1000, 0x10);
	memcpy(&h, frame, sizeof(h));
	h.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	memcpy(frame, &h, sizeof(h));
	g_assert_cmpint(rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len), ==, -EINVAL);
	/* zero MSS */
	flen = make_tso_frame(frame, false, 2500, 0, 0x10);
	g_assert_cmpint(rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len), ==, -EINVAL);
	slots_free(&s);
	g_free(frame);
}

/* Split, then feed the segments to the writer: one GSO write comes out. */
static void check_coalesce(bool v6)
{
	uint8_t *frame = g_malloc0(RV_TUN_MAX_FRAME), *got = g_malloc0(RV_TUN_MAX_FRAME);
	size_t iph = v6 ? 40 : 20, hdr = iph + 32, payload = 2500;
	size_t flen = make_tso_frame(frame, v6, payload, 1000, 0x18);
	struct rv_tun_writer w;
	struct virtio_net_hdr h;
	struct slots s;
	int sp[2], n, i;
	ssize_t r;
	uint8_t ph[40] = { 0 };
	uint16_t c;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), ==, 0);
	slots_init(&s);
	n = rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len);
	g_assert_cmpint(n, ==, 3);
	rv_tun_writer_init(&w, sp[0], true);
	for (i = 0; i < n; i++)
		rv_tun_writer_add(&w, s.buf[i] + OFF, s.len[i]);
	rv_tun_writer_flush(&w);
	r = recv(sp[1], got, RV_TUN_MAX_FRAME, MSG_DONTWAIT);
	g_assert_cmpint(r, ==, (ssize_t)(RV_VNET_HDR_LEN + hdr + payload));
	g_assert_cmpint(recv(sp[1], got + r, 10, MSG_DONTWAIT), ==, -1);	/* exactly one write */
	memcpy(&h, got, sizeof(h));
	g_assert_cmpuint(h.gso_type, ==, v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
	g_assert_cmpuint(h.flags, ==, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	g_assert_cmpuint(h.gso_size, ==, 1000);
	g_assert_cmpuint(h.hdr_len, ==, hdr);
	g_assert_cmpuint(h.csum_start, ==, iph);
	g_assert_cmpuint(h.csum_offset, ==, 16);
	if (v6) {
		g_assert_cmpuint(get16(got + RV_VNET_HDR_LEN + 4), ==, 32 + payload);
		memcpy(ph, got + RV_VNET_HDR_LEN + 8, 32);
		put32(ph + 32, (uint32_t)(32 + payload));
		ph[39] = IPPROTO_TCP;
		c = rv_csum_fold(rv_csum_partial(ph, 40, 0));
	} else {
		g_assert_cmpuint(get16(got + RV_VNET_HDR_LEN + 2), ==, hdr + payload);
		g_assert_true(ip4_csum_ok(got + RV_VNET_HDR_LEN));
		memcpy(ph, got + RV_VNET_HDR_LEN + 12, 8);
		ph[9] = IPPROTO_TCP;
		put16(ph + 10, (uint16_t)(32 + payload));
		c = rv_csum_fold(rv_csum_partial(ph, 12, 0));
	}
	/* CHECKSUM_PARTIAL: the field carries the pseudo-header sum */
	g_assert_cmpmem(got + RV_VNET_HDR_LEN + iph + 16, 2, &c, 2);
	g_assert_cmpuint(get32(got + RV_VNET_HDR_LEN + iph + 4), ==, 0xfffff000u);
	g_assert_cmpuint(got[RV_VNET_HDR_LEN + iph + 13], ==, 0x18);
	/* the payload is the original byte stream */
	g_assert_cmpmem(got + RV_VNET_HDR_LEN + hdr, payload, frame + RV_VNET_HDR_LEN + hdr, payload);
	close(sp[0]);
	close(sp[1]);
	slots_free(&s);
	g_free(frame);
	g_free(got);
}

static void test_coalesce_v4(void) { check_coalesce(false); }
static void test_coalesce_v6(void) { check_coalesce(true); }

static int count_writes(int fd, size_t *lens, int max)
{
	uint8_t buf[RV_TUN_MAX_FRAME];
	int n = 0;

	for (;;) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r < 0)
			return n;
		if (n < max)
			lens[n] = (size_t)r;
		n++;
	}
}

static void test_coalesce_rules(void)
{
	uint8_t *frame = g_malloc0(RV_TUN_MAX_FRAME);
	size_t flen, lens[8];
	struct rv_tun_writer w;
	struct slots s;
	int sp[2], n;
	uint8_t udp[28] = { 0x45, 0, 0, 28, 0, 0, 0, 0, 64, IPPROTO_UDP };

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), ==, 0);
	slots_init(&s);
	flen = make_tso_frame(frame, false, 3000, 1000, 0x10);
	n = rv_tun_split(frame, flen, s.buf, OFF, CAP, 128, s.len);
	g_assert_cmpint(n, ==, 3);

	/* out of order: 0, 2, 1 -> nothing merges across the gap */
	rv_tun_writer_init(&w, sp[0], true);
	rv_tun_writer_add(&w, s.buf[0] + OFF, s.len[0]);
	rv_tun_writer_add(&w, s.buf[2] + OFF, s.len[2]);
	rv_tun_writer_add(&w, s.buf[1] + OFF, s.len[1]);
	rv_tun_writer_flush(&w);
	g_assert_cmpint(count_writes(sp[1], lens, 8), ==, 3);
	/* single segments go out plain, behind a zero virtio header */
	g_assert_cmpuint(lens[0], ==, RV_VNET_HDR_LEN + s.len[0]);

	/* a UDP packet in between splits the run, and order is kept */
	rv_tun_writer_add(&w, s.buf[0] + OFF, s.len[0]);
	rv_tun_writer_add(&w, udp, sizeof(udp));
	rv_tun_writer_add(&w, s.buf[1] + OFF, s.len[1]);
	rv_tun_writer_add(&w, s.buf[2] + OFF, s.len[2]);
	rv_tun_writer_flush(&w);
	g_assert_cmpint(count_writes(sp[1], lens, 8), ==, 3);
	g_assert_cmpuint(lens[1], ==, RV_VNET_HDR_LEN + sizeof(udp));
	g_assert_cmpuint(lens[2], ==, RV_VNET_HDR_LEN + 52 + 2000);

	/* another flow (port) does not merge */
	s.buf[1][OFF + 20 + 1] ^= 1;
	rv_tun_writer_add(&w, s.buf[0] + OFF, s.len[0]);
	rv_tun_writer_add(&w, s.buf[1] + OFF, s.len[1]);
	rv_tun_writer_flush(&w);
	g_assert_cmpint(count_writes(sp[1], lens, 8), ==, 2);
	s.buf[1][OFF + 20 + 1] ^= 1;

	/* without IFF_VNET_HDR: plain writes, no header */
	rv_tun_writer_init(&w, sp[0], false);
	rv_tun_writer_add(&w, s.buf[0] + OFF, s.len[0]);
	rv_tun_writer_add(&w, s.buf[1] + OFF, s.len[1]);
	rv_tun_writer_flush(&w);
	g_assert_cmpint(count_writes(sp[1], lens, 8), ==, 2);
	g_assert_cmpuint(lens[0], ==, s.len[0]);
	close(sp[0]);
	close(sp[1]);
	slots_free(&s);
	g_free(frame);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/offload/csum-reference", test_csum_reference);
	g_test_add_func("/engine/offload/split-v4", test_split_v4);
	g_test_add_func("/engine/offload/split-v6", test_split_v6);
	g_test_add_func("/engine/offload/split-partial-csum", test_split_partial_csum);
	g_test_add_func("/engine/offload/split-malformed", test_split_malformed);
	g_test_add_func("/engine/offload/coalesce-v4", test_coalesce_v4);
	g_test_add_func("/engine/offload/coalesce-v6", test_coalesce_v6);
	g_test_add_func("/engine/offload/coalesce-rules", test_coalesce_rules);
	return g_test_run();
}

/* engine-handshake-load.c - the handshake generator of bench/engine-server-load.sh:
 * many distinct WireGuard peers (keys derived from a seed) sending valid
 * initiations (MAC1, and MAC2 once the server answered with a cookie) to one
 * server from many source addresses, counting the responses (completed
 * handshakes on the server's side) and cookie replies. Built on the engine's
 * own Noise and cookie code; works against any WireGuard server.
 *
 * The generator shares the machine with the server it measures, so it must
 * cost the server little CPU: the expensive part of an initiation (two
 * X25519: the ephemeral key and DH(ephemeral, server static); the
 * static-static DH is per peer) is done ahead of time by `pool`, into a file
 * every timed run reads. Each run starts a fresh server, so every initiation
 * is still seen once by each server. Timestamps grow per peer (round r of
 * the pool carries second base + r; servers only require a timestamp newer
 * than the peer's last one). At send time only mac1 and mac2 are computed
 * (two keyed BLAKE2s), mac2 with the cookie that source currently holds.
 *
 *   engine-handshake-load peers N SEED
 *       prints N "[Peer]" sections (PublicKey, AllowedIPs 10.100.x.y/32) for wg setconf
 *   engine-handshake-load pool SERVER_PUBKEY N SEED COUNT FILE
 *       writes COUNT initiations to FILE: entry k is from peer k % N, round k / N,
 *       sender index k + 1, macs zero
 *   engine-handshake-load flood SERVER_PUBKEY HOST PORT FILE N NSRC SRC_BASE SECS [SERVER_PID]
 *       sends the pool's initiations in order from NSRC source addresses
 *       (SRC_BASE, SRC_BASE + 1, ...: addresses the caller configured; entry k
 *       from source k % NSRC) with at most WINDOW unanswered at a time (a
 *       closed loop: the offered rate follows the server's capacity and its
 *       queue stays above the "under load" mark), for 2 s of warm-up (every
 *       source gets its first cookie) and then SECS timed seconds; prints one
 *       RESULT line with what came back during the timed window, the server's
 *       CPU over it (from /proc/SERVER_PID/stat) and the generator's own.
 *
 * Not a test: rates depend on the machine (the generator shares it with the server). */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

/* Servers refuse a second initiation of one peer within 1/50 s (-EBUSY) of
 * the last one they consumed, by their clock: keep clear of it even when
 * the two waited differently long in the server's queue. With 1,000 peers
 * this caps the offered rate at 25,000/s. */
#define PEER_INTERVAL_NS 40000000ULL
/* Unanswered initiations in flight: well above both servers' "under load"
 * mark (an eighth of a 1024-message queue) and below the queue's size,
 * so the server is always busy and nothing is dropped for lack of room. */
#define WINDOW 512
/* An initiation unanswered for this long was dropped (socket buffer, rate
 * limit, flood rule): it leaves the window. Longer than the server's queue
 * takes to drain (WINDOW / rate: 0.26 s at 2,000 handshakes/s). */
#define ANSWER_TIMEOUT_NS 500000000ULL
/* Untimed: every source gets its cookie, and the switch from cheap cookie
 * replies to full handshakes (a burst in the queue) settles. */
#define WARMUP_NS 2000000000ULL
#define BATCH 64

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t self_cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* utime + stime of a process in ns (clock ticks: 10 ms resolution, so the
 * timed window must be seconds long); 0 when unknown */
static uint64_t proc_cpu_ns(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* the command name may hold spaces: fields count from after its ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (uint64_t)(ut + st) * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* private key of peer i: BLAKE2s(seed || i), clamped */
static void peer_key(const char *seed, unsigned i, uint8_t priv[32])
{
	char label[64];

	snprintf(label, sizeof(label), "%u", i);
	wg_blake2s256(priv, seed, strlen(seed), label, strlen(label));
	wg_x25519_clamp(priv);
}

static int parse_key(const char *b64, uint8_t key[32])
{
	size_t bin_len;

	if (sodium_base642bin(key, 32, b64, strlen(b64), NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 || bin_len != 32) {
		fprintf(stderr, "bad key\n");
		return -1;
	}
	return 0;
}

static int cmd_peers(unsigned n, const char *seed)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint8_t priv[32], pub[32];
		char b64[64];

		peer_key(seed, i, priv);
		wg_x25519_public(pub, priv);
		sodium_bin2base64(b64, sizeof(b64), pub, 32, sodium_base64_VARIANT_ORIGINAL);
		printf("[Peer]\nPublicKey = %s\nAllowedIPs = 10.100.%u.%u/32\n\n", b64, i / 250, i % 250 + 1);
	}
	return 0;
}

static int cmd_pool(const char *server_b64, unsigned n, const char *seed, unsigned long count, const char *file)
{
	uint8_t server_pub[32];
	struct wg_static_identity *ids = calloc(n, sizeof(*ids));
	struct wg_handshake *hs = calloc(n, sizeof(*hs));
	uint64_t base = (uint64_t)time(NULL), t0 = now_ns();
	unsigned long k;
	unsigned i;
	FILE *f;

	if (!ids || !hs || !n || parse_key(server_b64, server_pub) < 0)
		return 2;
	for (i = 0; i < n; i++) {
		uint8_t priv[32];

		peer_key(seed, i, priv);
		if (wg_static_identity_set(&ids[i], priv) < 0)
			return 1;
		wg_handshake_init(&hs[i], &ids[i], server_pub, NULL);
		wg_crypto_wipe(priv, sizeof(priv));
	}
	f = fopen(file, "wbx");
	if (!f) {
		fprintf(stderr, "%s: %s\n", file, strerror(errno));
		return 1;
	}
	for (k = 0; k < count; k++) {
		struct wg_msg_initiation msg;
		uint8_t ts[WG_TAI64N_LEN];

		i = (unsigned)(k % n);
		wg_tai64n_from(ts, base + k / n, 0);
		if (wg_noise_create_initiation_at(&hs[i], &ids[i], &msg, (uint32_t)(k + 1), ts) < 0 ||
		    fwrite(&msg, sizeof(msg), 1, f) != 1) {
			fprintf(stderr, "pool entry %lu failed\n", k);
			fclose(f);
			return 1;
		}
	}
	if (fclose(f) != 0)
		return 1;
	fprintf(stderr, "pool: %lu initiations from %u peers in %.1f s (%.1f us each)\n", count, n,
		(double)(now_ns() - t0) / 1e9, (double)(now_ns() - t0) / 1e3 / (double)count);
	for (i = 0; i < n; i++) {
		wg_handshake_wipe(&hs[i]);
		wg_static_identity_clear(&ids[i]);
	}
	free(hs);
	free(ids);
	return 0;
}

enum { UNSENT = 0, PENDING, ANSWERED, EXPIRED };

struct flood {
	const struct wg_msg_initiation *pool;
	unsigned long count;
	unsigned n, nsrc;
	uint32_t src_base;	/* host order */
	struct sockaddr_in dst;
	int fd;
	struct wg_cookie_maker *makers;
	uint64_t *peer_last_sent;
	uint64_t *sent_at;
	uint8_t *state;
	unsigned long head, next, outstanding;
	bool timed;
	uint64_t t0;	/* start of the timed window */
	/* counters of the timed window */
	unsigned long sent, with_mac2, responses, cookies, cookies_used, expired, late, other, send_err;
	/* whole run */
	unsigned long all_cookies, all_responses;
};

static void expire(struct flood *f, uint64_t now)
{
	while (f->head < f->next &&
	       (f->state[f->head] != PENDING || now - f->sent_at[f->head] > ANSWER_TIMEOUT_NS)) {
		if (f->state[f->head] == PENDING) {
			f->state[f->head] = EXPIRED;
			f->outstanding--;
			if (f->timed && f->sent_at[f->head] >= f->t0)
				f->expired++;
		}
		f->head++;
	}
}

/* true when it stopped only because its batch was full (more may go at once) */
static bool send_some(struct flood *f, uint64_t now)
{
	static struct wg_msg_initiation msgs[BATCH];
	static struct mmsghdr mh[BATCH];
	static struct iovec iov[BATCH];
	static union {
		char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl[BATCH];
	unsigned long first[BATCH];
	unsigned b = 0, i;
	int r;

	while (b < BATCH && f->outstanding < WINDOW && f->next < f->count) {
		unsigned long k = f->next;
		unsigned peer = (unsigned)(k % f->n), s = (unsigned)(k % f->nsrc);
		struct in_pktinfo pi = { 0 };
		struct cmsghdr *c;

		if (f->peer_last_sent[peer] && now - f->peer_last_sent[peer] < PEER_INTERVAL_NS)
			break;	/* in order: the pool's rounds keep each peer's timestamps growing */
		msgs[b] = f->pool[k];
		wg_cookie_add_macs(&f->makers[s], (uint8_t *)&msgs[b], sizeof(msgs[b]), now);
		if (f->timed && !sodium_is_zero(msgs[b].macs.mac2, WG_MAC_LEN))
			f->with_mac2++;
		iov[b] = (struct iovec){ &msgs[b], sizeof(msgs[b]) };
		mh[b].msg_hdr = (struct msghdr){
			.msg_name = &f->dst, .msg_namelen = sizeof(f->dst), .msg_iov = &iov[b], .msg_iovlen = 1,
			.msg_control = ctl[b].buf, .msg_controllen = sizeof(ctl[b].buf),
		};
		/* one socket for every source: the kernel sends from the address named here */
		pi.ipi_spec_dst.s_addr = htonl(f->src_base + s);
		c = CMSG_FIRSTHDR(&mh[b].msg_hdr);
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		first[b] = k;
		f->peer_last_sent[peer] = now;
		f->sent_at[k] = now;
		f->state[k] = PENDING;
		f->outstanding++;
		f->next++;
		b++;
	}
	if (!b)
		return false;
	r = sendmmsg(f->fd, mh, b, 0);
	if (r < 0)
		r = 0;
	if (f->timed)
		f->sent += (unsigned)r;
	/* not sent (socket buffer full): out of the window at once */
	for (i = (unsigned)r; i < b; i++) {
		f->state[first[i]] = EXPIRED;
		f->outstanding--;
		if (f->timed)
			f->send_err++;
	}
	return b == BATCH;
}

static void receive_some(struct flood *f, uint64_t now)
{
	static uint8_t bufs[BATCH][256];
	struct mmsghdr mh[BATCH];
	struct iovec iov[BATCH];
	unsigned i;
	int r;

	for (i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		mh[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	while ((r = recvmmsg(f->fd, mh, BATCH, MSG_DONTWAIT, NULL)) > 0) {
		for (i = 0; i < (unsigned)r; i++) {
			const uint8_t *m = bufs[i];
			size_t len = mh[i].msg_len;
			uint32_t idx_le;
			unsigned long k;

			if (len == sizeof(struct wg_msg_response) && m[0] == WG_MSG_RESPONSE)
				memcpy(&idx_le, m + offsetof(struct wg_msg_response, receiver_index), 4);
			else if (len == sizeof(struct wg_msg_cookie_reply) && m[0] == WG_MSG_COOKIE_REPLY)
				memcpy(&idx_le, m + offsetof(struct wg_msg_cookie_reply, receiver_index), 4);
			else {
				f->other += f->timed;
				continue;
			}
			k = (unsigned long)le32toh(idx_le) - 1;
			if (k >= f->next || (f->state[k] != PENDING && f->state[k] != EXPIRED)) {
				f->other += f->timed;	/* not ours, or a second answer */
				continue;
			}
			/* an answer after the time-out still counts (a handshake the
			 * server completed in the window); its slot already left it */
			if (f->state[k] == PENDING)
				f->outstanding--;
			else
				f->late += f->timed;
			f->state[k] = ANSWERED;
			if (m[0] == WG_MSG_RESPONSE) {
				f->all_responses++;
				f->responses += f->timed;
				continue;
			}
			f->all_cookies++;
			f->cookies += f->timed;
			/* decrypts when it answers the last message this source sent */
			if (wg_cookie_consume_reply(&f->makers[k % f->nsrc], (const void *)m, now) == 0)
				f->cookies_used += f->timed;
		}
	}
}

static int cmd_flood(const char *server_b64, const char *host, unsigned port, const char *file, unsigned n,
		     unsigned nsrc, const char *src_base, double seconds, long server_pid)
{
	struct flood f = { .n = n, .nsrc = nsrc };
	struct sockaddr_in any = { .sin_family = AF_INET };
	struct in_addr base;
	uint8_t server_pub[32];
	struct stat st;
	uint64_t t_start, t0 = 0, t1, end, s0 = 0, g0 = 0, s1, g1;
	int fd, size = 8 << 20;
	unsigned i;

	if (!n || !nsrc || parse_key(server_b64, server_pub) < 0)
		return 2;
	f.dst = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, host, &f.dst.sin_addr) != 1 || inet_pton(AF_INET, src_base, &base) != 1) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	f.src_base = ntohl(base.s_addr);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct wg_msg_initiation)) {
		fprintf(stderr, "%s: no pool\n", file);
		return 1;
	}
	f.count = (unsigned long)st.st_size / sizeof(struct wg_msg_initiation);
	f.pool = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	f.makers = calloc(nsrc, sizeof(*f.makers));
	f.peer_last_sent = calloc(n, sizeof(*f.peer_last_sent));
	f.sent_at = calloc(f.count, sizeof(*f.sent_at));
	f.state = calloc(f.count, 1);
	if (f.pool == MAP_FAILED || !f.makers || !f.peer_last_sent || !f.sent_at || !f.state)
		return 1;
	for (i = 0; i < nsrc; i++)
		wg_cookie_maker_init(&f.makers[i], server_pub);
	f.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f.fd < 0 || bind(f.fd, (struct sockaddr *)&any, sizeof(any)) < 0) {
		fprintf(stderr, "socket: %s\n", strerror(errno));
		return 1;
	}
	/* a whole window of answers must fit while the generator waits for a
	 * CPU (net.core.rmem_max would cap SO_RCVBUF; root may force it) */
	if (setsockopt(f.fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(f.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));

	t_start = now_ns();
	end = t_start + WARMUP_NS + (uint64_t)(seconds * 1e9);
	for (;;) {
		uint64_t now = now_ns();
		struct pollfd p = { .fd = f.fd, .events = POLLIN };

		if (!f.timed && now - t_start >= WARMUP_NS) {
			f.timed = true;
			t0 = f.t0 = now;
			s0 = proc_cpu_ns(server_pid);
			g0 = self_cpu_ns();
		}
		if (now >= end || f.next == f.count)
			break;
		expire(&f, now);
		/* wait only when the window is full (or the next peer must wait) */
		poll(&p, 1, send_some(&f, now) ? 0 : 1);
		receive_some(&f, now_ns());
	}
	t1 = now_ns();
	s1 = proc_cpu_ns(server_pid);
	g1 = self_cpu_ns();
	if (f.next == f.count)
		fprintf(stderr, "WARNING: the pool (%lu initiations) ran out after %.1f s: make it larger\n",
			f.count, (double)(t1 - t_start) / 1e9);
	{
		double secs = f.timed ? (double)(t1 - t0) / 1e9 : 0;
		double scpu = secs > 0 && s0 && s1 ? (double)(s1 - s0) / 1e9 / secs * 100 : 0;
		double gcpu = secs > 0 ? (double)(g1 - g0) / 1e9 / secs * 100 : 0;

		printf("RESULT sent=%lu with_mac2=%lu responses=%lu cookie_replies=%lu cookies_used=%lu expired=%lu "
		       "late=%lu other=%lu send_errors=%lu warmup_cookie_replies=%lu pool_left=%lu seconds=%.2f "
		       "sent_per_s=%.0f handshakes_per_s=%.0f cookie_replies_per_s=%.0f server_cpu_pct=%.0f "
		       "gen_cpu_pct=%.1f\n",
		       f.sent, f.with_mac2, f.responses, f.cookies, f.cookies_used, f.expired, f.late, f.other, f.send_err,
		       f.all_cookies - f.cookies, f.count - f.next, secs,
		       secs > 0 ? (double)f.sent / secs : 0, secs > 0 ? (double)f.responses / secs : 0,
		       secs > 0 ? (double)f.cookies / secs : 0, scpu, gcpu);
	}
	return f.timed ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (wg_crypto_init() < 0)
		return 1;
	if (argc == 4 && !strcmp(argv[1], "peers"))
		return cmd_peers((unsigned)atoi(argv[2]), argv[3]);
	if (argc == 7 && !strcmp(argv[1], "pool"))
		return cmd_pool(argv[2], (unsigned)atoi(argv[3]), argv[4], strtoul(argv[5], NULL, 10), argv[6]);
	if ((argc == 10 || argc == 11) && !strcmp(argv[1], "flood"))
		return cmd_flood(argv[2], argv[3], (unsigned)atoi(argv[4]), argv[5], (unsigned)atoi(argv[6]),
				 (unsigned)atoi(argv[7]), argv[8], atof(argv[9]), argc == 11 ? atol(argv[10]) : 0);
	fprintf(stderr, "usage: %s peers N SEED\n"
		"       %s pool SERVER_PUBKEY N SEED COUNT FILE\n"
		"       %s flood SERVER_PUBKEY HOST PORT FILE N NSRC SRC_BASE SECS [SERVER_PID]\n",
		argv[0], argv[0], argv[0]);
	return 2;
}

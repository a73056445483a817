/* engine-handshake-load.c - a handshake generator for bench/engine-server-load.sh:
 * many distinct WireGuard peers (keys derived from a seed) sending valid
 * initiations (MAC1, and MAC2 once the server answered with a cookie) to one
 * server from many source addresses, counting the responses (completed
 * handshakes on the server's side) and cookie replies. Built on the engine's
 * own Noise and cookie code; works against any WireGuard server.
 *
 *   engine-handshake-load peers N SEED
 *       prints N "[Peer]" sections (PublicKey, AllowedIPs 10.100.x.y/32) for wg setconf
 *   engine-handshake-load flood SERVER_PUBKEY HOST PORT N SEED SECONDS SRC_PREFIX NSRC
 *       peers 0..N-1 send initiations round robin for SECONDS, from NSRC sockets bound to
 *       SRC_PREFIX.1 ... SRC_PREFIX.NSRC (addresses the caller configured), each peer at
 *       most once per 20 ms (its TAI64N timestamp must grow); prints one RESULT line.
 *
 * Not a test: rates depend on the machine (the generator shares it with the server). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

#define PEER_INTERVAL_NS 20000000ULL	/* > the 2^24 ns TAI64N whitening step */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

/* private key of peer i: BLAKE2s(seed || i), clamped */
static void peer_key(const char *seed, unsigned i, uint8_t priv[32])
{
	char label[64];

	snprintf(label, sizeof(label), "%u", i);
	wg_blake2s256(priv, seed, strlen(seed), label, strlen(label));
	wg_x25519_clamp(priv);
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

struct gen_peer {
	struct wg_static_identity id;
	struct wg_handshake hs;
	uint64_t last_sent;
};

static int cmd_flood(const char *server_b64, const char *host, unsigned port, unsigned n, const char *seed,
		     double seconds, const char *src_prefix, unsigned nsrc)
{
	uint8_t server_pub[32];
	size_t bin_len;
	struct gen_peer *peers = calloc(n, sizeof(*peers));
	struct wg_cookie_maker *makers = calloc(nsrc, sizeof(*makers));
	struct pollfd *pfd = calloc(nsrc, sizeof(*pfd));
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned long sent = 0, responses = 0, cookies = 0, cookie_ok = 0, other = 0, send_err = 0;
	uint64_t t0, t1, end;
	unsigned i, next = 0;

	if (!peers || !makers || !pfd || !nsrc || !n)
		return 2;
	if (sodium_base642bin(server_pub, 32, server_b64, strlen(server_b64), NULL, &bin_len, NULL,
			      sodium_base64_VARIANT_ORIGINAL) < 0 || bin_len != 32 ||
	    inet_pton(AF_INET, host, &dst.sin_addr) != 1) {
		fprintf(stderr, "bad server key or address\n");
		return 2;
	}
	for (i = 0; i < n; i++) {
		uint8_t priv[32];

		peer_key(seed, i, priv);
		if (wg_static_identity_set(&peers[i].id, priv) < 0)
			return 1;
		wg_handshake_init(&peers[i].hs, &peers[i].id, server_pub, NULL);
		wg_crypto_wipe(priv, sizeof(priv));
	}
	for (i = 0; i < nsrc; i++) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		char a[64];
		int size = 4 << 20;

		snprintf(a, sizeof(a), "%s.%u", src_prefix, i + 1);
		pfd[i].fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0 || inet_pton(AF_INET, a, &src.sin_addr) != 1 ||
		    bind(pfd[i].fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			fprintf(stderr, "cannot bind %s: %s\n", a, strerror(errno));
			return 1;
		}
		setsockopt(pfd[i].fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		wg_cookie_maker_init(&makers[i], server_pub);
	}
	t0 = now_ns();
	end = t0 + (uint64_t)(seconds * 1e9);
	for (;;) {
		uint64_t now = now_ns();
		unsigned k, tries;

		if (now >= end)
			break;
		/* one initiation from the next peer that may send */
		for (tries = 0; tries < n; tries++) {
			struct gen_peer *p = &peers[next];
			unsigned s = next % nsrc;

			next = (next + 1) % n;
			if (p->last_sent && now - p->last_sent < PEER_INTERVAL_NS)
				continue;
			{
				struct wg_msg_initiation msg;

				if (wg_noise_create_initiation(&p->hs, &p->id, &msg, (next + n - 1) % n + 1) < 0)
					break;
				wg_cookie_add_macs(&makers[s], (uint8_t *)&msg, sizeof(msg), now);
				if (sendto(pfd[s].fd, &msg, sizeof(msg), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0)
					send_err++;
				else
					sent++;
				p->last_sent = now;
			}
			break;
		}
		/* drain answers */
		if (poll(pfd, nsrc, tries == n ? 1 : 0) <= 0)
			continue;
		for (k = 0; k < nsrc; k++) {
			uint8_t buf[256];
			ssize_t r;

			if (!(pfd[k].revents & POLLIN))
				continue;
			while ((r = recv(pfd[k].fd, buf, sizeof(buf), 0)) > 0) {
				if (buf[0] == WG_MSG_RESPONSE && r == sizeof(struct wg_msg_response)) {
					responses++;
				} else if (buf[0] == WG_MSG_COOKIE_REPLY && r == sizeof(struct wg_msg_cookie_reply)) {
					cookies++;
					/* decrypts only if it answers the last message from this source */
					if (wg_cookie_consume_reply(&makers[k], (const void *)buf, now_ns()) == 0)
						cookie_ok++;
				} else {
					other++;
				}
			}
		}
	}
	/* late answers */
	t1 = now_ns();
	while (now_ns() - t1 < 300000000ULL) {
		if (poll(pfd, nsrc, 50) <= 0)
			continue;
		for (i = 0; i < nsrc; i++) {
			uint8_t buf[256];
			ssize_t r;

			while ((r = recv(pfd[i].fd, buf, sizeof(buf), 0)) > 0) {
				if (buf[0] == WG_MSG_RESPONSE)
					responses++;
				else if (buf[0] == WG_MSG_COOKIE_REPLY)
					cookies++;
			}
		}
	}
	printf("RESULT sent=%lu responses=%lu cookie_replies=%lu cookies_used=%lu other=%lu send_errors=%lu "
	       "seconds=%.2f sent_per_s=%.0f handshakes_per_s=%.0f cookie_replies_per_s=%.0f\n",
	       sent, responses, cookies, cookie_ok, other, send_err, (double)(t1 - t0) / 1e9,
	       (double)sent * 1e9 / (double)(t1 - t0), (double)responses * 1e9 / (double)(t1 - t0),
	       (double)cookies * 1e9 / (double)(t1 - t0));
	return 0;
}

int main(int argc, char **argv)
{
	if (wg_crypto_init() < 0)
		return 1;
	if (argc == 4 && !strcmp(argv[1], "peers"))
		return cmd_peers((unsigned)atoi(argv[2]), argv[3]);
	if (argc == 10 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv[2], argv[3], (unsigned)atoi(argv[4]), (unsigned)atoi(argv[5]), argv[6],
				 atof(argv[7]), argv[8], (unsigned)atoi(argv[9]));
	fprintf(stderr, "usage: %s peers N SEED | flood SERVER_PUBKEY HOST PORT N SEED SECONDS SRC_PREFIX NSRC\n",
		argv[0]);
	return 2;
}

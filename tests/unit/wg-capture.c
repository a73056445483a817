/* tests/unit/wg-capture.c - record a handshake with a live wireguard-go as test fixtures.
 *
 * Test tool, not installed, run by tests/unit/fixtures/capture-wg-go.sh inside a
 * network namespace. It speaks the protocol with engine/noise.c and
 * engine/cookie.c against wireguard-go over loopback and writes every message
 * it received, plus its own handshake state at the moment it sent, to a key
 * file. test-wg-interop.c replays those messages offline: wireguard-go, an
 * independent implementation, produced them, so accepting them (and
 * decrypting the transport packet that followed) checks our key schedule.
 *
 *   wg-capture responder KEYFILE PORT OUT      wait for wireguard-go's initiation
 *   wg-capture initiator KEYFILE PORT PEERPORT OUT   initiate to 127.0.0.1:PEERPORT
 * KEYFILE: [keys] private=HEX peer_public=HEX psk=HEX (throwaway test keys).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

#include "cookie.h"
#include "crypto.h"
#include "noise.h"

#define TUN_OURS "10.77.0.2"
#define TUN_THEIRS "10.77.0.1"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * WG_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void load_hex(GKeyFile *kf, const char *key, uint8_t *out, size_t len)
{
	g_autofree char *hex = g_key_file_get_string(kf, "keys", key, NULL);
	if (!hex || strlen(hex) != len * 2)
		g_error("key %s missing or wrong length", key);
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(g_ascii_xdigit_value(hex[2 * i]) << 4 | g_ascii_xdigit_value(hex[2 * i + 1]));
}

static void put_hex(GKeyFile *kf, const char *key, const void *data, size_t len)
{
	GString *s = g_string_new(NULL);
	for (size_t i = 0; i < len; i++)
		g_string_append_printf(s, "%02x", ((const uint8_t *)data)[i]);
	g_key_file_set_string(kf, "fixture", key, s->str);
	g_string_free(s, TRUE);
}

static ssize_t receive(int fd, uint8_t *buf, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	socklen_t fl = sizeof(*from);

	if (poll(&p, 1, timeout_ms) != 1)
		g_error("timed out waiting for wireguard-go");
	return recvfrom(fd, buf, cap, 0, (struct sockaddr *)from, &fl);
}

static uint16_t ip_checksum(const uint8_t *data, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(data[i] << 8 | data[i + 1]);
	if (len & 1)
		sum += (uint32_t)(data[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* IPv4 ICMP echo request from our tunnel address to wireguard-go's. */
static size_t build_ping(uint8_t *p)
{
	uint16_t csum;
	memset(p, 0, 28);
	p[0] = 0x45;
	p[3] = 28;
	p[8] = 64;
	p[9] = 1;
	inet_pton(AF_INET, TUN_OURS, p + 12);
	inet_pton(AF_INET, TUN_THEIRS, p + 16);
	csum = ip_checksum(p, 20);
	p[10] = (uint8_t)(csum >> 8);
	p[11] = (uint8_t)csum;
	p[20] = 8;             /* echo request */
	p[24] = 0x12;          /* id 0x1234, seq 1 */
	p[25] = 0x34;
	p[27] = 1;
	csum = ip_checksum(p + 20, 8);
	p[22] = (uint8_t)(csum >> 8);
	p[23] = (uint8_t)csum;
	return 28;
}

static void save_state(GKeyFile *out, const struct wg_handshake *hs)
{
	put_hex(out, "state_ephemeral_private", hs->ephemeral_private, 32);
	put_hex(out, "state_hash", hs->hash, 32);
	put_hex(out, "state_chaining_key", hs->chaining_key, 32);
	g_key_file_set_uint64(out, "fixture", "state_local_index", hs->local_index);
	g_key_file_set_uint64(out, "fixture", "state_remote_index", hs->remote_index);
}

int main(int argc, char **argv)
{
	g_autoptr(GKeyFile) keys = g_key_file_new();
	g_autoptr(GKeyFile) out = g_key_file_new();
	g_autoptr(GError) error = NULL;
	struct wg_static_identity id;
	struct wg_handshake hs;
	struct wg_cookie_maker maker;
	struct wg_cookie_checker checker;
	struct wg_keypair kp;
	uint8_t priv[32], peer_pub[32], psk[32], buf[2048];
	struct sockaddr_in local = { .sin_family = AF_INET }, peer = { .sin_family = AF_INET };
	bool initiator;
	const char *out_path;
	ssize_t n;
	int fd;

	if (argc < 5 || (strcmp(argv[1], "responder") && strcmp(argv[1], "initiator")))
		g_error("usage: wg-capture responder KEYFILE PORT OUT | initiator KEYFILE PORT PEERPORT OUT");
	initiator = strcmp(argv[1], "initiator") == 0;
	if (initiator && argc < 6)
		g_error("initiator needs PEERPORT OUT");
	out_path = argv[initiator ? 5 : 4];
	if (wg_crypto_init() != 0)
		g_error("crypto init");
	if (!g_key_file_load_from_file(keys, argv[2], G_KEY_FILE_NONE, &error))
		g_error("%s", error->message);
	load_hex(keys, "private", priv, 32);
	load_hex(keys, "peer_public", peer_pub, 32);
	load_hex(keys, "psk", psk, 32);
	wg_static_identity_set(&id, priv);
	wg_handshake_init(&hs, &id, peer_pub, psk);
	wg_cookie_maker_init(&maker, peer_pub);
	wg_cookie_checker_init(&checker);
	wg_cookie_checker_set_identity(&checker, id.public_key);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	local.sin_port = htons((uint16_t)atoi(argv[3]));
	local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) != 0)
		g_error("bind: %s", g_strerror(errno));

	g_key_file_set_string(out, "fixture", "role", initiator ? "initiator" : "responder");
	put_hex(out, "private", priv, 32);
	put_hex(out, "peer_public", peer_pub, 32);
	put_hex(out, "psk", psk, 32);
	g_key_file_set_uint64(out, "fixture", "capture_unix_time", (guint64)time(NULL));
	g_key_file_set_string(out, "fixture", "tunnel_ours", TUN_OURS);
	g_key_file_set_string(out, "fixture", "tunnel_theirs", TUN_THEIRS);

	if (initiator) {
		struct wg_msg_initiation init;
		peer.sin_port = htons((uint16_t)atoi(argv[4]));
		peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (wg_noise_create_initiation(&hs, &id, &init, 0x0badcafe) != 0)
			g_error("create initiation");
		wg_cookie_add_macs(&maker, (uint8_t *)&init, sizeof(init), now_ns());
		save_state(out, &hs);
		put_hex(out, "initiation", &init, sizeof(init));
		sendto(fd, &init, sizeof(init), 0, (struct sockaddr *)&peer, sizeof(peer));
		n = receive(fd, buf, sizeof(buf), &peer, 5000);
		if (wg_msg_classify(buf, (size_t)n) != WG_MSG_RESPONSE)
			g_error("expected a response, got %zd bytes type %u", n, buf[0]);
		put_hex(out, "response", buf, (size_t)n);
		if (wg_cookie_check(&checker, buf, (size_t)n, NULL, 0, false, now_ns()) == WG_MAC_INVALID)
			g_error("response mac1 invalid");
		if (wg_noise_consume_response(&hs, &id, (struct wg_msg_response *)buf) != 0)
			g_error("response refused");
		wg_noise_begin_session(&hs, &kp, now_ns());
		/* Confirm the session with a ping; wireguard-go's kernel answers it. */
		size_t len = build_ping(buf + WG_MSG_TRANSPORT_HEADER_LEN);
		uint64_t counter;
		wg_keypair_take_counter(&kp, &counter);
		n = wg_transport_seal(&kp, counter, buf, len, wg_transport_padded_len(len, 1420), sizeof(buf));
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, sizeof(peer));
	} else {
		struct wg_msg_response resp;
		struct wg_initiation_parsed parsed;
		n = receive(fd, buf, sizeof(buf), &peer, 10000);
		if (wg_msg_classify(buf, (size_t)n) != WG_MSG_INITIATION)
			g_error("expected an initiation, got %zd bytes type %u", n, buf[0]);
		put_hex(out, "initiation", buf, (size_t)n);
		if (wg_cookie_check(&checker, buf, (size_t)n, NULL, 0, false, now_ns()) == WG_MAC_INVALID)
			g_error("initiation mac1 invalid");
		if (wg_noise_consume_initiation_begin(&id, (struct wg_msg_initiation *)buf, &parsed) != 0 ||
		    wg_noise_consume_initiation_finish(&hs, &id, (struct wg_msg_initiation *)buf, &parsed, now_ns()) != 0)
			g_error("initiation refused");
		if (wg_noise_create_response(&hs, &id, &resp, 0x0badf00d) != 0)
			g_error("create response");
		wg_cookie_add_macs(&maker, (uint8_t *)&resp, sizeof(resp), now_ns());
		save_state(out, &hs);
		put_hex(out, "response", &resp, sizeof(resp));
		wg_noise_begin_session(&hs, &kp, now_ns());
		sendto(fd, &resp, sizeof(resp), 0, (struct sockaddr *)&peer, sizeof(peer));
	}

	/* The first transport message from wireguard-go under the new session. */
	for (;;) {
		n = receive(fd, buf, sizeof(buf), &peer, 5000);
		if (wg_msg_classify(buf, (size_t)n) == WG_MSG_TRANSPORT)
			break;
	}
	put_hex(out, "transport", buf, (size_t)n);
	n = wg_transport_open(&kp, buf, (size_t)n, NULL);
	if (n < 20)
		g_error("transport from wireguard-go did not open (%zd)", n);
	printf("wg-capture %s: handshake done, %zd-byte packet from wireguard-go decrypted, ICMP type %u\n",
	       argv[1], n, buf[WG_MSG_TRANSPORT_HEADER_LEN + 20]);
	if (!g_key_file_save_to_file(out, out_path, &error))
		g_error("%s", error->message);
	close(fd);
	return 0;
}

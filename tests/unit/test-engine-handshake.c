/* test-engine-handshake.c - the control thread's handshake queue
 * (rv_process_handshake_queue, engine/receive.c) with its handshake workers:
 * initiations of several peers queued together are answered in parallel,
 * each response is valid for the initiation it answers (the peer can
 * consume it and derive the session), every peer gets exactly one, a
 * second initiation of a peer in the same batch goes through the serial
 * pass after and is refused as a replay (same timestamp), and the device
 * holds a session for each peer afterwards. A real device on loopback, no
 * TUN and no data threads. */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cookie.h"
#include "crypto.h"
#include "device-internal.h"

#define N_PEERS 6

struct test_peer {
	struct wg_static_identity id;
	struct wg_handshake hs;
	struct wg_cookie_maker maker;
	char pub_hex[65];
};

static void enqueue(struct rv_device *dev, const void *msg, size_t len, const struct sockaddr_in *from)
{
	struct rv_handshake_msg *m;

	pthread_mutex_lock(&dev->hsq_lock);
	g_assert_cmpuint(dev->hsq_count, <, RV_HANDSHAKE_QUEUE);
	m = &dev->hsq[(dev->hsq_head + dev->hsq_count) % RV_HANDSHAKE_QUEUE];
	m->len = (uint16_t)len;
	memset(&m->from, 0, sizeof(m->from));
	memcpy(&m->from.in4, from, sizeof(*from));
	memcpy(m->data, msg, len);
	dev->hsq_count++;
	pthread_mutex_unlock(&dev->hsq_lock);
}

static void test_parallel_initiations(void)
{
	struct rv_device *dev = g_new0(struct rv_device, 1);
	struct test_peer *peers = g_new0(struct test_peer, N_PEERS);
	struct wg_msg_initiation again;
	struct sockaddr_in me = { .sin_family = AF_INET };
	socklen_t me_len = sizeof(me);
	uint8_t dev_priv[32], dev_pub[32];
	char dev_priv_hex[65];
	GString *req = g_string_new("set=1\n");
	const struct rv_uapi_handler h = { .data = dev, .get = rv_device_uapi_get, .set = rv_device_uapi_set };
	struct rv_buf out = { 0 };
	struct rv_udp udp;
	unsigned got[N_PEERS + 1] = { 0 }, i, n_resp = 0;
	int sock;

	g_assert_cmpint(wg_crypto_init(), ==, 0);
	rv_udp_init(&udp);
	g_assert_cmpint(rv_udp_open(&udp, 0, 0), ==, 0);
	g_assert_cmpint(rv_device_init(dev, "rvhs0", -1, false, &udp, NULL), ==, 0);
	g_assert_cmpint(rv_workers_init(&dev->hs_workers, 3), ==, 0);

	/* the peers' side: one socket they all "send" from (responses come back here) */
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g_assert_cmpint(bind(sock, (struct sockaddr *)&me, sizeof(me)), ==, 0);
	g_assert_cmpint(getsockname(sock, (struct sockaddr *)&me, &me_len), ==, 0);

	wg_x25519_generate(dev_priv, dev_pub);
	rv_key_to_hex(dev_priv, dev_priv_hex);
	g_string_append_printf(req, "private_key=%s\n", dev_priv_hex);
	for (i = 0; i < N_PEERS; i++) {
		uint8_t priv[32], pub[32];

		wg_x25519_generate(priv, pub);
		g_assert_cmpint(wg_static_identity_set(&peers[i].id, priv), ==, 0);
		wg_handshake_init(&peers[i].hs, &peers[i].id, dev_pub, NULL);
		wg_cookie_maker_init(&peers[i].maker, dev_pub);
		rv_key_to_hex(pub, peers[i].pub_hex);
		g_string_append_printf(req, "public_key=%s\nallowed_ip=10.9.%u.0/24\n", peers[i].pub_hex, i);
	}
	g_string_append(req, "\n");
	g_assert_true(rv_uapi_handle_request(&h, req->str, req->len, &out));
	g_assert_cmpstr(out.data, ==, "errno=0\n\n");
	rv_buf_free(&out);

	/* one initiation per peer (sender index 100 + i), and peer 0 once more
	 * right after (index 200): same TAI64N slot, so a replay */
	for (i = 0; i < N_PEERS; i++) {
		struct wg_msg_initiation msg;

		g_assert_cmpint(wg_noise_create_initiation(&peers[i].hs, &peers[i].id, &msg, 100 + i), ==, 0);
		wg_cookie_add_macs(&peers[i].maker, (uint8_t *)&msg, sizeof(msg), rv_now_ns());
		enqueue(dev, &msg, sizeof(msg), &me);
		if (i == 0) {
			struct wg_handshake copy = peers[0].hs;	/* keep the state the first one needs */

			g_assert_cmpint(wg_noise_create_initiation(&peers[0].hs, &peers[0].id, &again, 200), ==, 0);
			wg_cookie_add_macs(&peers[0].maker, (uint8_t *)&again, sizeof(again), rv_now_ns());
			enqueue(dev, &again, sizeof(again), &me);
			peers[0].hs = copy;
		}
	}
	rv_process_handshake_queue(dev, rv_now_ns());
	g_assert_cmpuint(dev->hsq_count, ==, 0);

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		struct wg_msg_response resp;
		uint32_t idx;

		if (poll(&pfd, 1, 500) <= 0)
			break;
		g_assert_cmpint(recv(sock, &resp, sizeof(resp), 0), ==, sizeof(resp));
		g_assert_cmpuint(resp.header.type, ==, WG_MSG_RESPONSE);
		idx = wg_le32(resp.receiver_index);
		g_assert_cmpuint(idx, >=, 100);
		g_assert_cmpuint(idx, <, 100 + N_PEERS);	/* never the replayed 200 */
		i = idx - 100;
		got[i]++;
		n_resp++;
		/* the response fits the initiation it answers: the peer derives the session */
		g_assert_cmpint(wg_noise_consume_response(&peers[i].hs, &peers[i].id, &resp), ==, 0);
		{
			struct wg_keypair kp;

			g_assert_cmpint(wg_noise_begin_session(&peers[i].hs, &kp, 1), ==, 0);
			wg_keypair_clear(&kp);
		}
	}
	g_assert_cmpuint(n_resp, ==, N_PEERS);
	for (i = 0; i < N_PEERS; i++)
		g_assert_cmpuint(got[i], ==, 1);
	/* and the device waits on each peer's next session (responder) */
	{
		struct rv_peer *p;
		unsigned n = 0;

		for (p = dev->peers; p; p = p->next_in_list) {
			g_assert_nonnull(p->kp_next);
			n++;
		}
		g_assert_cmpuint(n, ==, N_PEERS);
	}

	close(sock);
	rv_workers_destroy(&dev->hs_workers);
	rv_device_destroy(dev);
	g_free(dev);
	g_free(peers);
	g_string_free(req, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/handshake/parallel-initiations", test_parallel_initiations);
	return g_test_run();
}

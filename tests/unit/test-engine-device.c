/* test-engine-device.c - UAPI set/get semantics against a real engine
 * device (engine/device.c, control.c) with loopback UDP sockets and no TUN or threads:
 * peers created, updated, removed, update_only, replace_peers,
 * replace_allowed_ips, listen_port rebinding, own key ignored as a peer. */
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "device.h"

static struct rv_device *dev_new(void)
{
	struct rv_device *dev = g_new0(struct rv_device, 1);
	struct rv_udp udp;

	g_assert_cmpint(wg_crypto_init(), ==, 0);
	rv_udp_init(&udp);
	g_assert_cmpint(rv_udp_open(&udp, 0, 0), ==, 0);
	g_assert_cmpint(rv_device_init(dev, "rvtest0", -1, false, &udp, NULL), ==, 0);
	return dev;
}

static void dev_free(struct rv_device *dev)
{
	rv_device_destroy(dev);
	g_free(dev);
}

/* Runs one request through the same path the socket server uses. */
static char *request(struct rv_device *dev, const char *req)
{
	const struct rv_uapi_handler h = { .data = dev, .get = rv_device_uapi_get, .set = rv_device_uapi_set };
	struct rv_buf out = { 0 };
	char *s;

	rv_uapi_handle_request(&h, req, strlen(req), &out);
	s = g_strdup(out.data ? out.data : "");
	rv_buf_free(&out);
	return s;
}

static char *hexkey(const uint8_t k[32])
{
	char hex[65];

	rv_key_to_hex(k, hex);
	return g_strdup(hex);
}

static void keypair(char **priv_hex, char **pub_hex)
{
	uint8_t priv[32], pub[32];

	wg_x25519_generate(priv, pub);
	*priv_hex = hexkey(priv);
	*pub_hex = hexkey(pub);
}

static guint count(const char *hay, const char *needle)
{
	guint n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_peers(void)
{
	struct rv_device *dev = dev_new();
	char *priv, *pub, *p1priv, *p1, *p2priv, *p2, *req, *out;

	keypair(&priv, &pub);
	keypair(&p1priv, &p1);
	keypair(&p2priv, &p2);

	req = g_strdup_printf("set=1\nprivate_key=%s\npublic_key=%s\nendpoint=127.0.0.1:1\n"
			      "allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\npersistent_keepalive_interval=0\n"
			      "public_key=%s\nallowed_ip=10.0.1.0/24\n\n", priv, p1, p2);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);

	out = request(dev, "get=1\n\n");
	g_assert_nonnull(strstr(out, priv));
	g_assert_cmpuint(count(out, "public_key="), ==, 2);
	g_assert_nonnull(strstr(out, "endpoint=127.0.0.1:1\n"));
	g_assert_nonnull(strstr(out, "allowed_ip=10.0.0.0/24\nallowed_ip=fd00::/64\n"));
	g_assert_nonnull(strstr(out, "protocol_version=1\n"));
	g_assert_nonnull(strstr(out, "last_handshake_time_sec=0\n"));
	g_assert_true(g_str_has_suffix(out, "errno=0\n\n"));
	g_free(out);

	/* update_only on an unknown peer creates nothing */
	req = g_strdup_printf("set=1\npublic_key=%s\nupdate_only=true\nallowed_ip=10.9.0.0/16\n\n", priv);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "public_key="), ==, 2);
	g_assert_null(strstr(out, "10.9.0.0"));
	g_free(out);

	/* replace_allowed_ips, and a prefix moving to another peer */
	req = g_strdup_printf("set=1\npublic_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.0.1.0/24\n\n", p1);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "allowed_ip=10.0.1.0/24"), ==, 1);
	g_assert_null(strstr(out, "fd00::/64"));
	g_assert_null(strstr(out, "10.0.0.0/24"));
	g_free(out);

	/* remove */
	req = g_strdup_printf("set=1\npublic_key=%s\nremove=true\n\n", p2);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "public_key="), ==, 1);
	g_assert_null(strstr(out, p2));
	g_free(out);

	/* our own key as a peer is ignored */
	req = g_strdup_printf("set=1\npublic_key=%s\nallowed_ip=10.5.0.0/16\n\n", pub);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);
	out = request(dev, "get=1\n\n");
	g_assert_null(strstr(out, pub));
	g_free(out);

	/* taking a peer's private key drops that peer */
	req = g_strdup_printf("set=1\nprivate_key=%s\n\n", p1priv);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	g_free(req);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "public_key="), ==, 0);
	g_free(out);

	/* replace_peers */
	req = g_strdup_printf("set=1\npublic_key=%s\n\n", p2);
	g_free(request(dev, req));
	g_free(req);
	req = g_strdup_printf("set=1\nreplace_peers=true\npublic_key=%s\n\n", pub);
	out = request(dev, req);
	g_free(req);
	g_free(out);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "public_key="), ==, 1);
	g_assert_nonnull(strstr(out, pub));
	g_assert_null(strstr(out, p2));
	g_free(out);

	/* a malformed request changes nothing */
	out = request(dev, "set=1\nreplace_peers=true\nlisten_port=banana\n\n");
	g_assert_cmpstr(out, ==, "errno=22\n\n");
	g_free(out);
	out = request(dev, "get=1\n\n");
	g_assert_cmpuint(count(out, "public_key="), ==, 1);
	g_free(out);

	/* zero private key = none */
	out = request(dev, "set=1\nprivate_key=0000000000000000000000000000000000000000000000000000000000000000\n\n");
	g_assert_cmpstr(out, ==, "errno=0\n\n");
	g_free(out);
	out = request(dev, "get=1\n\n");
	g_assert_null(strstr(out, "private_key="));
	g_free(out);

	g_free(priv); g_free(pub); g_free(p1priv); g_free(p1); g_free(p2priv); g_free(p2);
	dev_free(dev);
}

static void test_listen_port(void)
{
	struct rv_device *dev = dev_new();
	struct rv_device *other = dev_new();
	char *req, *out, *want;
	uint16_t port = other->udp.port;

	/* taken by the other device: EADDRINUSE, the old port stays */
	req = g_strdup_printf("set=1\nlisten_port=%u\n\n", port);
	out = request(dev, req);
	g_assert_cmpstr(out, ==, "errno=98\n\n");
	g_free(out);
	g_free(req);
	g_assert_cmpuint(dev->udp.port, !=, port);

	/* a free one: rebound, same fd numbers (the RX thread polls them) */
	{
		int fd4 = dev->udp.fd4;
		uint16_t free_port;

		rv_device_destroy(other);
		g_free(other);
		free_port = port;
		req = g_strdup_printf("set=1\nlisten_port=%u\n\n", free_port);
		out = request(dev, req);
		g_assert_cmpstr(out, ==, "errno=0\n\n");
		g_free(out);
		g_free(req);
		g_assert_cmpuint(dev->udp.port, ==, free_port);
		g_assert_cmpint(dev->udp.fd4, ==, fd4);
		want = g_strdup_printf("listen_port=%u\n", free_port);
		out = request(dev, "get=1\n\n");
		g_assert_nonnull(strstr(out, want));
		g_free(out);
		g_free(want);
	}
	dev_free(dev);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/device/peers", test_peers);
	g_test_add_func("/engine/device/listen-port", test_listen_port);
	return g_test_run();
}

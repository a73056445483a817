/* test-engine-uapi.c - the engine's UAPI framing and "set" parser on valid
 * and hostile input (engine/uapi.c), endpoint parsing (engine/udp.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <string.h>

#include "uapi.h"
#include "udp.h"

#define KEY_A "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define KEY_B "c3c10f3d4e8ca0b2d6e6c6b8e7b4e3a1f0d2c4b6a8e0f2d4c6b8a0e2f4d6c8b1"

static int parse(const char *body, struct rv_uapi_set *out)
{
	return rv_uapi_parse_set(body, strlen(body), out);
}

static void test_framing(void)
{
	g_assert_cmpuint(rv_uapi_request_length("", 0), ==, 0);
	g_assert_cmpuint(rv_uapi_request_length("get=1\n", 6), ==, 0);
	g_assert_cmpuint(rv_uapi_request_length("get=1\n\n", 7), ==, 7);
	g_assert_cmpuint(rv_uapi_request_length("get=1\n\nset=1\n", 13), ==, 7);
	g_assert_cmpuint(rv_uapi_request_length("set=1\nlisten_port=1\n\n", 21), ==, 21);
	g_assert_cmpuint(rv_uapi_request_length("set=1\nlisten_port=1", 19), ==, 0);
	g_assert_cmpuint(rv_uapi_request_length("\n", 1), ==, 1);
}

static void test_full_set(void)
{
	struct rv_uapi_set s;
	const char *body =
		"private_key=" KEY_A "\n"
		"listen_port=51820\n"
		"fwmark=4294967295\n"
		"replace_peers=true\n"
		"public_key=" KEY_B "\n"
		"preshared_key=" KEY_A "\n"
		"endpoint=[fe80::1%3]:1\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=10.1.2.3/8\n"
		"allowed_ip=::/0\n"
		"allowed_ip=-192.168.0.0/16\n"
		"protocol_version=1\n"
		"public_key=" KEY_A "\n"
		"update_only=true\n"
		"endpoint=192.0.2.1:65535\n"
		"public_key=" KEY_A "\n"
		"remove=true\n";

	g_assert_cmpint(parse(body, &s), ==, 0);
	g_assert_true(s.has_private_key);
	g_assert_cmpuint(s.private_key[0], ==, 0xe8);
	g_assert_cmpuint(s.private_key[31], ==, 0x7a);
	g_assert_true(s.has_listen_port);
	g_assert_cmpuint(s.listen_port, ==, 51820);
	g_assert_true(s.has_fwmark);
	g_assert_cmpuint(s.fwmark, ==, 4294967295u);
	g_assert_true(s.replace_peers);
	g_assert_cmpuint(s.n_peers, ==, 3);

	g_assert_cmpuint(s.peers[0].public_key[0], ==, 0xc3);
	g_assert_true(s.peers[0].has_preshared_key);
	g_assert_true(s.peers[0].has_endpoint);
	g_assert_cmpint(s.peers[0].endpoint.sa.sa_family, ==, AF_INET6);
	g_assert_cmpuint(s.peers[0].endpoint.in6.sin6_scope_id, ==, 3);
	g_assert_cmpuint(ntohs(s.peers[0].endpoint.in6.sin6_port), ==, 1);
	g_assert_true(s.peers[0].has_keepalive);
	g_assert_cmpuint(s.peers[0].persistent_keepalive, ==, 25);
	g_assert_true(s.peers[0].replace_allowed_ips);
	g_assert_cmpuint(s.peers[0].n_allowed_ips, ==, 3);
	/* host bits dropped */
	g_assert_cmpint(s.peers[0].allowed_ips[0].family, ==, AF_INET);
	g_assert_cmpuint(s.peers[0].allowed_ips[0].cidr, ==, 8);
	g_assert_cmpmem(s.peers[0].allowed_ips[0].addr, 4, "\x0a\x00\x00\x00", 4);
	g_assert_cmpint(s.peers[0].allowed_ips[1].family, ==, AF_INET6);
	g_assert_cmpuint(s.peers[0].allowed_ips[1].cidr, ==, 0);
	g_assert_true(s.peers[0].allowed_ips[2].remove);
	g_assert_false(s.peers[0].remove);

	g_assert_true(s.peers[1].update_only);
	g_assert_cmpint(s.peers[1].endpoint.sa.sa_family, ==, AF_INET);
	g_assert_cmpuint(ntohs(s.peers[1].endpoint.in4.sin_port), ==, 65535);
	g_assert_true(s.peers[2].remove);
	rv_uapi_set_clear(&s);
	g_assert_cmpuint(s.n_peers, ==, 0);
}

static void test_empty_set(void)
{
	struct rv_uapi_set s;

	g_assert_cmpint(parse("", &s), ==, 0);
	g_assert_false(s.has_private_key);
	g_assert_cmpuint(s.n_peers, ==, 0);
	rv_uapi_set_clear(&s);
}

static void test_hostile(void)
{
	static const char *const bad[] = {
		"private_key=" KEY_A "0\n",			/* 65 digits */
		"private_key=" "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027\n",
		"private_key=zz4b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n",
		"private_key=\n",
		"listen_port=65536\n",
		"listen_port=-1\n",
		"listen_port= 1\n",
		"listen_port=1x\n",
		"listen_port=99999999999999999999999999\n",
		"listen_port=\n",
		"fwmark=4294967296\n",
		"replace_peers=false\n",
		"replace_peers=TRUE\n",
		"unknown_key=1\n",
		"listen_port\n",
		"=\n",
		"public_key=" KEY_B "\nlisten_port=1\n",		/* device key inside a peer */
		"public_key=" KEY_B "\nprivate_key=" KEY_A "\n",
		"preshared_key=" KEY_A "\n",				/* peer key before any peer */
		"public_key=" KEY_B "\nremove=yes\n",
		"public_key=" KEY_B "\nupdate_only=1\n",
		"public_key=" KEY_B "\nendpoint=192.0.2.1\n",
		"public_key=" KEY_B "\nendpoint=example.com:51820\n",
		"public_key=" KEY_B "\nendpoint=[::1:51820\n",
		"public_key=" KEY_B "\nendpoint=[::1]51820\n",
		"public_key=" KEY_B "\nendpoint=192.0.2.1:65536\n",
		"public_key=" KEY_B "\nendpoint=:1\n",
		"public_key=" KEY_B "\nendpoint=\n",
		"public_key=" KEY_B "\npersistent_keepalive_interval=65536\n",
		"public_key=" KEY_B "\nallowed_ip=10.0.0.0/33\n",
		"public_key=" KEY_B "\nallowed_ip=::/129\n",
		"public_key=" KEY_B "\nallowed_ip=10.0.0.0\n",
		"public_key=" KEY_B "\nallowed_ip=10.0.0.0/\n",
		"public_key=" KEY_B "\nallowed_ip=10.0.0.256/32\n",
		"public_key=" KEY_B "\nallowed_ip=/32\n",
		"public_key=" KEY_B "\nallowed_ip=10.0.0.0/8/8\n",
		"public_key=" KEY_B "\nreplace_allowed_ips=false\n",
		"public_key=" KEY_B "\nprotocol_version=x\n",
		"public_key=\n",
	};
	struct rv_uapi_set s;
	gsize i;

	for (i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_test_message("bad input %" G_GSIZE_FORMAT ": %s", i, bad[i]);
		g_assert_cmpint(parse(bad[i], &s), ==, -EINVAL);
		/* nothing half-parsed survives an error */
		g_assert_null(s.peers);
		g_assert_false(s.has_private_key);
	}
	g_assert_cmpint(parse("public_key=" KEY_B "\nprotocol_version=2\n", &s), ==, -EPROTO);
	/* an embedded NUL is not a terminator */
	g_assert_cmpint(rv_uapi_parse_set("listen_port=1\0\n", 15, &s), ==, -EINVAL);
}

static void test_random_garbage(void)
{
	GRand *r = g_rand_new_with_seed(12345);
	static const char alphabet[] = "=\n0123456789abcdef:/[]-.%_ trueprivate_keypublic_keyallowed_ip";
	char buf[512];
	int round;

	for (round = 0; round < 20000; round++) {
		struct rv_uapi_set s;
		gsize len = (gsize)g_rand_int_range(r, 0, sizeof(buf)), i;

		for (i = 0; i < len; i++)
			buf[i] = g_rand_boolean(r) ? alphabet[g_rand_int_range(r, 0, sizeof(alphabet) - 1)]
						   : (char)g_rand_int_range(r, 0, 256);
		if (rv_uapi_parse_set(buf, len, &s) == 0)
			rv_uapi_set_clear(&s);
		(void)rv_uapi_request_length(buf, len);
	}
	g_rand_free(r);
}

struct fake_dev {
	int gets, sets;
	int set_result;
	uint16_t last_port;
};

static void fake_get(void *data, struct rv_buf *out)
{
	struct fake_dev *d = data;

	d->gets++;
	rv_buf_printf(out, "listen_port=%u\n", d->last_port);
}

static int fake_set(void *data, const struct rv_uapi_set *set)
{
	struct fake_dev *d = data;

	d->sets++;
	if (set->has_listen_port)
		d->last_port = set->listen_port;
	return d->set_result;
}

static void test_requests(void)
{
	struct fake_dev d = { 0 };
	struct rv_uapi_handler h = { .data = &d, .get = fake_get, .set = fake_set };
	struct rv_buf out = { 0 };

	g_assert_true(rv_uapi_handle_request(&h, "set=1\nlisten_port=1234\n\n", 24, &out));
	g_assert_cmpstr(out.data, ==, "errno=0\n\n");
	g_assert_cmpint(d.sets, ==, 1);
	rv_buf_consume(&out, out.len);

	g_assert_true(rv_uapi_handle_request(&h, "get=1\n\n", 7, &out));
	g_assert_cmpstr(out.data, ==, "listen_port=1234\nerrno=0\n\n");
	rv_buf_consume(&out, out.len);

	/* the device's error comes back as a positive errno */
	d.set_result = -EADDRINUSE;
	g_assert_true(rv_uapi_handle_request(&h, "set=1\nlisten_port=1\n\n", 21, &out));
	g_assert_cmpstr(out.data, ==, "errno=98\n\n");
	rv_buf_consume(&out, out.len);

	/* a parse error never reaches the device */
	d.sets = 0;
	g_assert_true(rv_uapi_handle_request(&h, "set=1\nlisten_port=x\n\n", 21, &out));
	g_assert_cmpstr(out.data, ==, "errno=22\n\n");
	g_assert_cmpint(d.sets, ==, 0);
	rv_buf_consume(&out, out.len);

	g_assert_true(rv_uapi_handle_request(&h, "get=1\nx=y\n\n", 11, &out));
	g_assert_cmpstr(out.data, ==, "errno=22\n\n");
	rv_buf_consume(&out, out.len);

	/* unknown operation: error, then the server hangs up */
	g_assert_false(rv_uapi_handle_request(&h, "put=1\n\n", 7, &out));
	g_assert_cmpstr(out.data, ==, "errno=22\n\n");
	rv_buf_consume(&out, out.len);
	g_assert_false(rv_uapi_handle_request(&h, "\n", 1, &out));
	rv_buf_free(&out);
}

static void test_endpoints(void)
{
	static const char *const good[] = {
		"192.0.2.1:51820", "[2001:db8::1]:1", "[fe80::1%2]:51820", "0.0.0.0:0",
	};
	static const char *const bad[] = {
		"192.0.2.1", "2001:db8::1:51820x", "[2001:db8::1]", "host:1", "1.2.3.4:-1", "[::1]:",
		"[::1%x]:1", "1.2.3.4:1 ",
	};
	union rv_endpoint ep, ep2;
	char s[80];
	gsize i;

	for (i = 0; i < G_N_ELEMENTS(good); i++) {
		g_assert_cmpint(rv_endpoint_parse(good[i], &ep), ==, 0);
		rv_endpoint_format(&ep, s, sizeof(s));
		g_assert_cmpstr(s, ==, good[i]);
		g_assert_cmpint(rv_endpoint_parse(s, &ep2), ==, 0);
		g_assert_true(rv_endpoint_equal(&ep, &ep2));
	}
	for (i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(rv_endpoint_parse(bad[i], &ep), ==, -EINVAL);
	rv_endpoint_parse("192.0.2.1:1", &ep);
	rv_endpoint_parse("192.0.2.1:2", &ep2);
	g_assert_false(rv_endpoint_equal(&ep, &ep2));
}

static void test_hex_keys(void)
{
	uint8_t k[32];
	char hex[65];

	g_assert_cmpint(rv_hex_to_key(KEY_A, 64, k), ==, 0);
	rv_key_to_hex(k, hex);
	g_assert_cmpstr(hex, ==, KEY_A);
	/* upper case is hex too (wg writes lower case, wireguard-go accepts both) */
	g_assert_cmpint(rv_hex_to_key("E84B5A6D2717C1003A13B431570353DBACA9146CF150C5F8575680FEBA52027A", 64, k), ==, 0);
	g_assert_cmpint(rv_hex_to_key(KEY_A, 63, k), ==, -EINVAL);
	g_assert_cmpint(rv_hex_to_key("e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba5202 a", 64, k), ==, -EINVAL);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/uapi/framing", test_framing);
	g_test_add_func("/engine/uapi/full-set", test_full_set);
	g_test_add_func("/engine/uapi/empty-set", test_empty_set);
	g_test_add_func("/engine/uapi/hostile", test_hostile);
	g_test_add_func("/engine/uapi/random-garbage", test_random_garbage);
	g_test_add_func("/engine/uapi/requests", test_requests);
	g_test_add_func("/engine/uapi/endpoints", test_endpoints);
	g_test_add_func("/engine/uapi/hex-keys", test_hex_keys);
	return g_test_run();
}

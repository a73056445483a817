/* test-uapi-client.c - the daemon's UAPI client to roamvpn-engine: the set request
 * made from a parsed wg-quick configuration, answers parsed into counters, and the
 * client on a socketpair (answers in order, one get at a time, protocol errors). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend-builtin.h"
#include "ini.h"
#include "tunnel.h"
#include "uapi-client.h"

#define PRIV "uECAujy2OnmNsIekac+YA+4fhUErtwPdqZzdLbwCjlg="
#define PUB "/OQnPMonP2LiOu0xkVgbWkKPHIDVr1VKS38u5w7ab2A="
#define PSK "DGFgiHEao2exUS5SLW5DP5EAykp4hD4nXFZaM5uz4Fc="

/* base64 -> hex, independently of the code under test. */
static char *hex_of(const char *base64)
{
	gsize len;
	g_autofree guchar *raw = g_base64_decode(base64, &len);
	GString *out = g_string_new(NULL);

	for (gsize i = 0; i < len; i++)
		g_string_append_printf(out, "%02x", raw[i]);
	return g_string_free(out, FALSE);
}

static struct rv_tunnel_config *config(const char *text)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_tunnel_config *cfg = g_new0(struct rv_tunnel_config, 1);

	cfg->name = g_strdup("wg0");
	cfg->path = g_strdup("wg0.conf");
	cfg->wg_quick = true;
	cfg->ini = rv_ini_parse(cfg->path, text, RV_INI_INLINE_COMMENTS, errors);
	g_assert_nonnull(cfg->ini);
	cfg->parsed = rv_wg_config_parse(cfg, errors);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("%s", (char *)g_ptr_array_index(errors, i));
	g_assert_nonnull(cfg->parsed);
	return cfg;
}

static void free_config(struct rv_tunnel_config *cfg)
{
	rv_wg_config_free(cfg->parsed);
	cfg->parsed = NULL;
	rv_tunnel_config_free(cfg);
}

static void test_set_request(void)
{
	struct rv_tunnel_config *cfg = config("[Interface]\nPrivateKey = " PRIV "\nListenPort = 51820\n"
					      "[Peer]\nPublicKey = " PUB "\nPresharedKey = " PSK "\n"
					      "Endpoint = vpn.example.com:51820\nPersistentKeepalive = 25\n"
					      "AllowedIPs = 10.0.0.0/8, fd00::/8\n"
					      "[Peer]\nPublicKey = " PSK "\n");
	char *endpoints[] = { (char *)"192.0.2.1:51820", NULL, NULL };
	g_autofree char *priv = hex_of(PRIV), *pub = hex_of(PUB), *psk = hex_of(PSK);
	g_autofree char *expect = g_strdup_printf(
		"set=1\nprivate_key=%s\nreplace_peers=true\n"
		"public_key=%s\npreshared_key=%s\nendpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
		"allowed_ip=10.0.0.0/8\nallowed_ip=fd00::/8\n"
		"public_key=%s\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\n\n",
		priv, pub, psk, psk);
	g_autoptr(GError) error = NULL;
	GString *req = rv_uapi_set_request(cfg->parsed, endpoints, &error);

	g_assert_no_error(error);
	g_assert_cmpstr(req->str, ==, expect);
	/* Listen port and fwmark are the daemon's (it bound the sockets): not sent. */
	g_assert_null(strstr(req->str, "listen_port"));
	g_assert_null(strstr(req->str, "fwmark"));
	explicit_bzero(req->str, req->len);
	g_string_free(req, TRUE);
	free_config(cfg);
}

static void test_parse_answer(void)
{
	struct rv_uapi_stats st;

	g_assert_cmpint(rv_uapi_parse_answer("errno=0\n", NULL), ==, 0);
	g_assert_cmpint(rv_uapi_parse_answer("errno=22\n", NULL), ==, 22);
	g_assert_cmpint(rv_uapi_parse_answer("nothing=here\n", NULL), ==, EPROTO);
	g_assert_cmpint(rv_uapi_parse_answer("errno=99999\n", NULL), ==, EPROTO);
	g_assert_cmpint(rv_uapi_parse_answer(
		"private_key=00\nlisten_port=51820\n"
		"public_key=11\nrx_bytes=100\ntx_bytes=200\n"
		"last_handshake_time_sec=1700000000\nlast_handshake_time_nsec=500000000\n"
		"public_key=22\nrx_bytes=1\ntx_bytes=2\n"
		"last_handshake_time_sec=0\nlast_handshake_time_nsec=0\n"
		"errno=0\n", &st), ==, 0);
	g_assert_cmpuint(st.rx_bytes, ==, 101);
	g_assert_cmpuint(st.tx_bytes, ==, 202);
	g_assert_cmpint(st.last_handshake, ==, G_GINT64_CONSTANT(1700000000500000));
	/* Garbage numbers are skipped, not trusted. */
	g_assert_cmpint(rv_uapi_parse_answer("rx_bytes=-5\ntx_bytes=x\nerrno=0\n", &st), ==, 0);
	g_assert_cmpuint(st.rx_bytes, ==, 0);
	g_assert_cmpuint(st.tx_bytes, ==, 0);
}

/* --- the client on a socketpair, the test playing the engine ---------------------- */

struct result {
	int set_err;
	int sets;
	int stats_calls;
	struct rv_uapi_stats stats;
	char *failed;
	int fails;
};

static void on_set(struct rv_uapi_client *c, int err, void *data)
{
	struct result *r = data;

	r->sets++;
	r->set_err = err;
}

static void on_stats(struct rv_uapi_client *c, int err, const struct rv_uapi_stats *st, void *data)
{
	struct result *r = data;

	r->stats_calls++;
	if (st)
		r->stats = *st;
}

static void on_failed(struct rv_uapi_client *c, const char *why, void *data)
{
	struct result *r = data;

	r->fails++;
	g_free(r->failed);
	r->failed = g_strdup(why ? why : "(closed)");
}

static const struct rv_uapi_callbacks callbacks = { on_set, on_stats, on_failed };

static void spin(void)
{
	for (int i = 0; i < 50; i++)
		while (g_main_context_iteration(NULL, FALSE))
			;
}

static char *read_request(int fd)
{
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	g_assert_cmpint(n, >, 0);
	buf[n] = '\0';
	return g_strdup(buf);
}

static void test_client(void)
{
	struct rv_tunnel_config *cfg = config("[Interface]\nPrivateKey = " PRIV "\n[Peer]\nPublicKey = " PUB "\n");
	char *endpoints[] = { NULL, NULL };
	struct result r = { 0 };
	g_autoptr(GError) error = NULL;
	g_autofree char *req = NULL, *get = NULL;
	struct rv_uapi_client *c;
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	c = rv_uapi_client_new(sv[0], &callbacks, &r);
	g_assert_cmpint(rv_uapi_set_device(c, cfg->parsed, endpoints, &error), ==, 0);
	g_assert_no_error(error);
	req = read_request(sv[1]);
	g_assert_true(g_str_has_prefix(req, "set=1\nprivate_key="));
	g_assert_true(g_str_has_suffix(req, "\n\n"));
	/* While the set is unanswered, no get goes out. */
	g_assert_cmpint(rv_uapi_get_stats(c), ==, -EBUSY);
	g_assert_cmpint(write(sv[1], "errno=0\n\n", 9), ==, 9);
	spin();
	g_assert_cmpint(r.sets, ==, 1);
	g_assert_cmpint(r.set_err, ==, 0);

	g_assert_cmpint(rv_uapi_get_stats(c), ==, 0);
	get = read_request(sv[1]);
	g_assert_cmpstr(get, ==, "get=1\n\n");
	/* An answer may arrive in pieces. */
	g_assert_cmpint(write(sv[1], "rx_bytes=7\ntx_", 14), ==, 14);
	spin();
	g_assert_cmpint(r.stats_calls, ==, 0);
	g_assert_cmpint(write(sv[1], "bytes=9\nerrno=0\n\n", 17), ==, 17);
	spin();
	g_assert_cmpint(r.stats_calls, ==, 1);
	g_assert_cmpuint(r.stats.rx_bytes, ==, 7);
	g_assert_cmpuint(r.stats.tx_bytes, ==, 9);

	/* An answer nobody asked for is a protocol error: reported once, then silence. */
	g_assert_cmpint(write(sv[1], "errno=0\n\nerrno=0\n\n", 18), ==, 18);
	spin();
	g_assert_cmpint(r.fails, ==, 1);
	g_assert_cmpstr(r.failed, ==, "roamvpn-engine sent an unrequested UAPI response");
	g_assert_cmpint(rv_uapi_get_stats(c), <, 0);

	rv_uapi_client_free(c);
	close(sv[1]);
	g_free(r.failed);
	free_config(cfg);
}

static void test_client_closed(void)
{
	struct result r = { 0 };
	struct rv_uapi_client *c;
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	c = rv_uapi_client_new(sv[0], &callbacks, &r);
	close(sv[1]);
	spin();
	g_assert_cmpint(r.fails, ==, 1);
	g_assert_cmpstr(r.failed, ==, "(closed)");
	rv_uapi_client_free(c);
	g_free(r.failed);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/uapi-client/set-request", test_set_request);
	g_test_add_func("/uapi-client/parse-answer", test_parse_answer);
	g_test_add_func("/uapi-client/client", test_client);
	g_test_add_func("/uapi-client/client-closed", test_client_closed);
	return g_test_run();
}

/* uapi-client.c - UAPI requests to roamvpn-engine and their answers (uapi-client.h). */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib-unix.h>

#include "error.h"
#include "uapi-client.h"

#define MAX_ANSWER (1024 * 1024)

enum request { REQ_SET, REQ_GET };

struct rv_uapi_client {
	int fd;
	guint watch;
	GString *input;
	GQueue pending;			/* GINT_TO_POINTER(enum request) */
	struct rv_uapi_callbacks cb;
	void *user_data;
	bool failed;
};

/* --- the text ------------------------------------------------------------------ */

/* base64 key (wg format) to the UAPI's 64 hex digits; false if it is not 32 bytes. */
static bool append_hex_key(GString *out, const char *name, const char *base64)
{
	static const char digits[] = "0123456789abcdef";
	gsize len = 0;
	guchar *raw;
	bool ok;

	/* g_base64_decode does not validate: check the alphabet and length first. */
	if (strlen(base64) != 44 || base64[43] != '=' ||
	    strspn(base64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") != 43)
		return false;
	raw = g_base64_decode(base64, &len);
	ok = len == 32;
	if (ok) {
		g_string_append_printf(out, "%s=", name);
		for (gsize i = 0; i < len; i++) {
			g_string_append_c(out, digits[raw[i] >> 4]);
			g_string_append_c(out, digits[raw[i] & 15]);
		}
		g_string_append_c(out, '\n');
	}
	explicit_bzero(raw, len);
	g_free(raw);
	return ok;
}

GString *rv_uapi_set_request(const struct rv_wg_config *wg, char *const *endpoints,
			     GError **error)
{
	GString *req = g_string_sized_new(512);

	g_string_append(req, "set=1\n");
	if (!append_hex_key(req, "private_key", wg->private_key))
		goto bad_key;
	g_string_append(req, "replace_peers=true\n");
	for (guint i = 0; i < wg->peers->len; i++) {
		const struct rv_wg_peer *p = g_ptr_array_index(wg->peers, i);

		if (!append_hex_key(req, "public_key", p->public_key))
			goto bad_key;
		if (p->preshared_key && !append_hex_key(req, "preshared_key", p->preshared_key))
			goto bad_key;
		if (endpoints && endpoints[i])
			g_string_append_printf(req, "endpoint=%s\n", endpoints[i]);
		g_string_append_printf(req, "persistent_keepalive_interval=%d\n", p->keepalive);
		g_string_append(req, "replace_allowed_ips=true\n");
		for (guint j = 0; j < p->allowed_ips->len; j++)
			g_string_append_printf(req, "allowed_ip=%s\n",
					       (const char *)g_ptr_array_index(p->allowed_ips, j));
	}
	g_string_append_c(req, '\n');
	return req;

bad_key:
	explicit_bzero(req->str, req->len);
	g_string_free(req, TRUE);
	g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "a key is not a base64-encoded 32-byte key");
	return NULL;
}

int rv_uapi_parse_answer(const char *text, struct rv_uapi_stats *stats)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	const char *errno_value = NULL;
	guint64 err = EPROTO;
	gint64 sec = 0;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	for (char **l = lines; *l; l++) {
		const char *eq = strchr(*l, '=');
		guint64 v;

		if (g_str_has_prefix(*l, "errno="))
			errno_value = eq + 1;
		if (!stats || !eq || !g_ascii_string_to_unsigned(eq + 1, 10, 0, G_MAXUINT64, &v, NULL))
			continue;
		if (g_str_has_prefix(*l, "rx_bytes=")) {
			stats->rx_bytes += v;
		} else if (g_str_has_prefix(*l, "tx_bytes=")) {
			stats->tx_bytes += v;
		} else if (g_str_has_prefix(*l, "last_handshake_time_sec=")) {
			sec = (gint64)MIN(v, (guint64)G_MAXINT32 * 4);
		} else if (g_str_has_prefix(*l, "last_handshake_time_nsec=")) {
			gint64 usec = sec * G_USEC_PER_SEC + (gint64)(v / 1000);

			if (sec > 0 && usec > stats->last_handshake)
				stats->last_handshake = usec;
			sec = 0;
		}
	}
	if (!errno_value || !g_ascii_string_to_unsigned(errno_value, 10, 0, 4095, &err, NULL))
		err = EPROTO;
	return (int)err;
}

/* --- the socket ---------------------------------------------------------------- */

static void fail(struct rv_uapi_client *c, const char *why)
{
	c->failed = true;
	c->watch = 0;
	if (c->cb.failed)
		c->cb.failed(c, why, c->user_data);
}

static int send_all(struct rv_uapi_client *c, const char *text, gsize len, enum request kind)
{
	gsize done = 0;

	if (c->failed)
		return -EPIPE;
	/* Requests are small next to the socket buffer: a partial write means the
	 * engine stopped reading, which we treat as a failure rather than queue. */
	while (done < len) {
		ssize_t n = send(c->fd, text + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (gsize)n;
	}
	g_queue_push_tail(&c->pending, GINT_TO_POINTER(kind));
	return 0;
}

static void answer(struct rv_uapi_client *c, const char *text)
{
	enum request kind = GPOINTER_TO_INT(g_queue_pop_head(&c->pending));
	struct rv_uapi_stats stats;
	int err = rv_uapi_parse_answer(text, kind == REQ_GET ? &stats : NULL);

	if (kind == REQ_SET)
		c->cb.set_done(c, err, c->user_data);
	else
		c->cb.stats(c, err, err == 0 ? &stats : NULL, c->user_data);
}

static gboolean on_input(int fd, GIOCondition cond, gpointer data)
{
	struct rv_uapi_client *c = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	char *end;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		fail(c, NULL);	/* the engine closed its end: it is exiting */
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(c->input, buf, n);
	if (c->input->len > MAX_ANSWER) {
		fail(c, "roamvpn-engine sent an oversized UAPI response");
		return G_SOURCE_REMOVE;
	}
	/* Each answer ends with an empty line. */
	while (!c->failed && (end = strstr(c->input->str, "\n\n"))) {
		g_autofree char *one = g_strndup(c->input->str, (gsize)(end - c->input->str + 1));

		g_string_erase(c->input, 0, end - c->input->str + 2);
		if (g_queue_is_empty(&c->pending)) {
			fail(c, "roamvpn-engine sent an unrequested UAPI response");
			return G_SOURCE_REMOVE;
		}
		answer(c, one);
	}
	return G_SOURCE_CONTINUE;
}

struct rv_uapi_client *rv_uapi_client_new(int fd, const struct rv_uapi_callbacks *callbacks,
					  void *user_data)
{
	struct rv_uapi_client *c = g_new0(struct rv_uapi_client, 1);

	c->fd = fd;
	c->cb = *callbacks;
	c->user_data = user_data;
	c->input = g_string_new(NULL);
	g_queue_init(&c->pending);
	c->watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_input, c);
	return c;
}

void rv_uapi_client_free(struct rv_uapi_client *c)
{
	if (!c)
		return;
	g_clear_handle_id(&c->watch, g_source_remove);
	close(c->fd);
	g_string_free(c->input, TRUE);
	g_queue_clear(&c->pending);
	g_free(c);
}

int rv_uapi_set_device(struct rv_uapi_client *c, const struct rv_wg_config *wg,
		       char *const *endpoints, GError **error)
{
	g_autoptr(GString) req = rv_uapi_set_request(wg, endpoints, error);
	int r;

	if (!req)
		return -EINVAL;
	r = send_all(c, req->str, req->len, REQ_SET);
	explicit_bzero(req->str, req->len);
	if (r < 0)
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot configure roamvpn-engine: %s",
			    g_strerror(-r));
	return r;
}

int rv_uapi_get_stats(struct rv_uapi_client *c)
{
	static const char get[] = "get=1\n\n";

	if (!g_queue_is_empty(&c->pending))
		return -EBUSY;
	return send_all(c, get, sizeof(get) - 1, REQ_GET);
}

/* portal.c - captive portal probe and login window (see portal.h).
 *
 * Owns the per-link probe state, a small non-blocking HTTP/1.1 client on the main
 * loop (GIO streams over a socket bound to the link: one GET, "Connection: close",
 * the answer read to its end or 64 KiB), and the login window's timers. It tells
 * the kill switch what to let through (the probe's target, the window) and asks the
 * supervisor to evaluate again when a result changes what may start.
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>

#include <gio/gio.h>

#include "error.h"
#include "events.h"
#include "killswitch.h"
#include "link.h"
#include "policy.h"
#include "portal.h"

#define MAX_RESPONSE (64 * 1024)
#define REPROBE_PORTAL_S 15	/* behind a portal, without a window */
#define REPROBE_WINDOW_S 2	/* while the user logs in */

enum pstate { P_NONE, P_WAITING, P_PROBING, P_PORTAL, P_ONLINE, P_NO_ANSWER };
static const char *const pstate_names[] = {
	[P_NONE] = "", [P_WAITING] = "waiting", [P_PROBING] = "probing",
	[P_PORTAL] = "portal", [P_ONLINE] = "online", [P_NO_ANSWER] = "no-answer",
};

struct probe_link {
	char *ifname;
	char *network;		/* what was probed: SSID and gateway; a change is a new network */
	enum pstate state;
	char *location;		/* the portal's redirect target */
	char *detail;		/* what the last probe saw, for explain */
	bool window;
	gint64 window_until;	/* monotonic usec */
	guint window_timer;
	guint reprobe_timer;

	/* one probe at a time */
	GCancellable *cancel;
	guint probe_timer;
	GSocketConnection *conn;
	GString *response;
	char buf[4096];
	bool holds_dns;
};

static struct {
	char *url;
	char *expect;
	guint timeout_ms;
	guint window_s;
} cfg;
static GHashTable *probes;	/* ifname -> struct probe_link * */
static guint events_id;
static guint evaluate_idle;
static void (*results_changed)(void);

static void start_probe(struct probe_link *p);

static void probe_cleanup(struct probe_link *p)
{
	if (p->cancel) {
		g_cancellable_cancel(p->cancel);
		g_clear_object(&p->cancel);
	}
	g_clear_handle_id(&p->probe_timer, g_source_remove);
	if (p->conn) {
		g_io_stream_close(G_IO_STREAM(p->conn), NULL, NULL);
		g_clear_object(&p->conn);
	}
	if (p->response) {
		g_string_free(p->response, TRUE);
		p->response = NULL;
	}
	if (p->holds_dns) {
		p->holds_dns = false;
		rv_killswitch_hold_dns(false);
	}
}

static void probe_link_free(gpointer data)
{
	struct probe_link *p = data;

	probe_cleanup(p);
	g_clear_handle_id(&p->window_timer, g_source_remove);
	g_clear_handle_id(&p->reprobe_timer, g_source_remove);
	if (p->window)
		rv_killswitch_set_window(p->ifname, false, 0);
	rv_killswitch_set_probe(p->ifname, NULL, 0);
	g_free(p->ifname);
	g_free(p->network);
	g_free(p->location);
	g_free(p->detail);
	g_free(p);
}

static gboolean evaluate_cb(gpointer data)
{
	evaluate_idle = 0;
	if (results_changed)
		results_changed();
	return G_SOURCE_REMOVE;
}

/* Not from inside an event or an evaluation: from the main loop. */
static void evaluate_soon(void)
{
	if (!evaluate_idle)
		evaluate_idle = g_idle_add(evaluate_cb, NULL);
}

static void emit_link(const char *ifname)
{
	struct rv_link *l = rv_links_lookup_name(ifname);

	if (l)
		rv_events_emit(RV_EVENT_DECISION_CHANGED, l);
}

static gboolean reprobe_cb(gpointer data)
{
	struct probe_link *p = data;

	p->reprobe_timer = 0;
	if (!p->cancel)
		start_probe(p);
	return G_SOURCE_REMOVE;
}

static void schedule_reprobe(struct probe_link *p)
{
	g_clear_handle_id(&p->reprobe_timer, g_source_remove);
	p->reprobe_timer = g_timeout_add_seconds(p->window ? REPROBE_WINDOW_S : REPROBE_PORTAL_S,
						 reprobe_cb, p);
}

static void close_window(struct probe_link *p)
{
	if (!p->window)
		return;
	p->window = false;
	g_clear_handle_id(&p->window_timer, g_source_remove);
	rv_killswitch_set_window(p->ifname, false, 0);
}

/* Portals often serve their login page on a port of its own (8080, 8443, ...). */
static guint16 login_port(const struct probe_link *p)
{
	g_autoptr(GUri) uri = p->location && *p->location ?
		g_uri_parse(p->location, G_URI_FLAGS_NONE, NULL) : NULL;

	if (!uri || g_uri_get_port(uri) <= 0)
		return 0;
	return (guint16)g_uri_get_port(uri);
}

static void set_result(struct probe_link *p, enum pstate state, const char *location,
		       const char *detail)
{
	enum pstate was = p->state;

	probe_cleanup(p);
	p->state = state;
	g_free(p->location);
	p->location = g_strdup(location ? location : "");
	g_free(p->detail);
	p->detail = g_strdup(detail);
	if (was != state)
		g_message("portal check on %s: %s (%s)", p->ifname, pstate_names[state], detail);
	switch (state) {
	case P_ONLINE:
		close_window(p);
		g_clear_handle_id(&p->reprobe_timer, g_source_remove);
		rv_killswitch_set_probe(p->ifname, NULL, 0);
		break;
	case P_PORTAL:
		schedule_reprobe(p);
		break;
	case P_NO_ANSWER:
		if (p->window)
			schedule_reprobe(p);
		else
			rv_killswitch_set_probe(p->ifname, NULL, 0);
		break;
	default:
		break;
	}
	emit_link(p->ifname);
	if (was != state)
		evaluate_soon();
}

/* --- the HTTP exchange -------------------------------------------------------------- */

/* Status, Location and body of a complete answer. Returns false if it is not HTTP. */
static bool parse_response(const char *r, size_t len, guint *status, char **location,
			   const char **body, bool *chunked)
{
	const char *end = g_strstr_len(r, (gssize)len, "\r\n\r\n");
	g_autofree char *head = NULL;
	g_auto(GStrv) lines = NULL;
	const char *sp;
	guint64 code;

	*location = NULL;
	*chunked = false;
	if (!end || len < 12 || strncmp(r, "HTTP/1.", 7) != 0)
		return false;
	head = g_strndup(r, (gsize)(end - r));
	lines = g_strsplit(head, "\r\n", -1);
	sp = strchr(lines[0], ' ');
	if (!sp || !g_ascii_isdigit(sp[1]) || !g_ascii_isdigit(sp[2]) || !g_ascii_isdigit(sp[3]) ||
	    (sp[4] != ' ' && sp[4] != '\0'))
		return false;
	code = g_ascii_strtoull(sp + 1, NULL, 10);
	if (code < 100 || code > 599)
		return false;
	for (int i = 1; lines[i]; i++) {
		if (g_ascii_strncasecmp(lines[i], "Location:", 9) == 0) {
			g_free(*location);
			*location = g_strstrip(g_strdup(lines[i] + 9));
		} else if (g_ascii_strncasecmp(lines[i], "Transfer-Encoding:", 18) == 0) {
			*chunked = strstr(lines[i] + 18, "chunked") != NULL;
		}
	}
	*status = (guint)code;
	*body = end + 4;
	return true;
}

bool rv_portal_judge(const char *answer, size_t len, const char *expect, char **location,
		     char **detail)
{
	g_autofree char *text = g_strndup(answer, len);	/* NUL-terminated: a body with a NUL ends there */
	const char *body = NULL;
	guint status = 0;
	bool chunked;

	*location = NULL;
	if (!parse_response(text, len, &status, location, &body, &chunked)) {
		*detail = g_strdup("the answer is not HTTP");
		return false;
	}
	if (*location) {
		/* Text from the network: printable and bounded, for D-Bus and logs. */
		if (strlen(*location) > 1024)
			(*location)[1024] = '\0';
		for (char *c = *location; *c; c++)
			if ((guchar)*c < 0x20 || (guchar)*c >= 0x7f)
				*c = '?';
	}
	if (chunked) {
		/* The expected text is in the first chunk: skip its size line. */
		const char *eol = strstr(body, "\r\n");

		body = eol ? eol + 2 : "";
	}
	if (status >= 300 && status < 400) {
		*detail = g_strdup_printf("redirected (HTTP %u)", status);
		return false;
	}
	if (expect ? (status == 200 && g_str_has_prefix(body, expect)) : status == 204) {
		*detail = g_strdup_printf("expected answer (HTTP %u)", status);
		g_clear_pointer(location, g_free);
		return true;
	}
	*detail = g_strdup_printf("unexpected answer (HTTP %u%s)", status,
				  status == 200 ? ", other content" : "");
	return false;
}

char *rv_portal_login_url(const char *probe_url, const char *location)
{
	g_autofree char *absolute = NULL;
	g_autoptr(GUri) uri = NULL;
	const char *scheme;

	if (!location || !*location || !probe_url)
		return NULL;
	/* A relative Location ("/login") is allowed by HTTP: it is relative to the probe. */
	absolute = g_uri_resolve_relative(probe_url, location, G_URI_FLAGS_NONE, NULL);
	uri = absolute ? g_uri_parse(absolute, G_URI_FLAGS_NONE, NULL) : NULL;
	if (!uri)
		return NULL;
	scheme = g_uri_get_scheme(uri);
	/* Only a web page: never file:, smb: or another scheme's handler, and no
	 * "http://bank.example@portal/" disguise. */
	if ((g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
	    !g_uri_get_host(uri) || !*g_uri_get_host(uri) || g_uri_get_userinfo(uri))
		return NULL;
	return g_uri_to_string(uri);
}

static void finish_response(struct probe_link *p)
{
	g_autofree char *location = NULL;
	g_autofree char *login = NULL;
	g_autofree char *detail = NULL;
	bool online = rv_portal_judge(p->response->str, p->response->len, cfg.expect, &location,
				      &detail);

	login = rv_portal_login_url(cfg.url, location);
	if (location && !login)
		g_debug("portal check on %s: redirect to %s is not a web page; not shown", p->ifname,
			location);
	set_result(p, online ? P_ONLINE : P_PORTAL, login, detail);
}

static void read_done(GObject *source, GAsyncResult *result, gpointer data)
{
	struct probe_link *p = data;
	g_autoptr(GError) error = NULL;
	gssize n = g_input_stream_read_finish(G_INPUT_STREAM(source), result, &error);

	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;		/* p may be gone */
	if (n < 0) {
		set_result(p, P_NO_ANSWER, NULL, error->message);
		return;
	}
	if (n == 0 || p->response->len + (gsize)n >= MAX_RESPONSE) {
		g_string_append_len(p->response, p->buf, n);
		finish_response(p);
		return;
	}
	g_string_append_len(p->response, p->buf, n);
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(p->conn)), p->buf,
				  sizeof(p->buf), G_PRIORITY_DEFAULT, p->cancel, read_done, p);
}

static void write_done(GObject *source, GAsyncResult *result, gpointer data)
{
	struct probe_link *p = data;
	g_autoptr(GError) error = NULL;

	if (!g_output_stream_write_all_finish(G_OUTPUT_STREAM(source), result, NULL, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			set_result(p, P_NO_ANSWER, NULL, error->message);
		return;
	}
	p->response = g_string_new(NULL);
	g_input_stream_read_async(g_io_stream_get_input_stream(G_IO_STREAM(p->conn)), p->buf,
				  sizeof(p->buf), G_PRIORITY_DEFAULT, p->cancel, read_done, p);
}

static void connected(GObject *source, GAsyncResult *result, gpointer data)
{
	struct probe_link *p = data;
	g_autoptr(GError) error = NULL;
	g_autoptr(GUri) uri = NULL;
	g_autofree char *request = NULL;
	const char *path;

	if (!g_socket_connection_connect_finish(G_SOCKET_CONNECTION(source), result, &error)) {
		if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
			set_result(p, P_NO_ANSWER, NULL, error->message);
		return;
	}
	uri = g_uri_parse(cfg.url, G_URI_FLAGS_NONE, NULL);
	path = g_uri_get_path(uri);
	request = g_strdup_printf("GET %s%s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: roamvpn/" VERSION
				  "\r\nAccept: */*\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
				  *path ? path : "/", g_uri_get_query(uri) ? "?" : "",
				  g_uri_get_query(uri) ? g_uri_get_query(uri) : "", g_uri_get_host(uri));
	g_output_stream_write_all_async(g_io_stream_get_output_stream(G_IO_STREAM(p->conn)), request,
					strlen(request), G_PRIORITY_DEFAULT, p->cancel, write_done, p);
	/* write_all_async copies nothing: keep the request alive with the probe. */
	g_object_set_data_full(G_OBJECT(p->conn), "request", g_steal_pointer(&request), g_free);
}

static void connect_to(struct probe_link *p, GInetAddress *addr, guint16 port)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GSocket) sock = NULL;
	g_autoptr(GSocketAddress) sa = g_inet_socket_address_new(addr, port);
	g_autofree char *text = g_inet_address_to_string(addr);
	int mark = RV_PORTAL_PROBE_MARK;
	int fd;

	sock = g_socket_new(g_inet_address_get_family(addr), G_SOCKET_TYPE_STREAM,
			    G_SOCKET_PROTOCOL_TCP, &error);
	if (!sock) {
		set_result(p, P_NO_ANSWER, NULL, error->message);
		return;
	}
	fd = g_socket_get_fd(sock);
	/* Over this link only, whatever the routes say, and marked so that a closed
	 * kill switch lets exactly this out. */
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, p->ifname, (socklen_t)strlen(p->ifname)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		g_autofree char *msg = g_strdup_printf("cannot bind the probe to %s: %s", p->ifname,
						       g_strerror(errno));

		set_result(p, P_NO_ANSWER, NULL, msg);
		return;
	}
	rv_killswitch_set_probe(p->ifname, text, port);
	p->conn = g_socket_connection_factory_create_connection(sock);
	g_socket_connection_connect_async(p->conn, sa, p->cancel, connected, p);
}

struct lookup {
	struct probe_link *p;
	guint16 port;
};

static void looked_up(GObject *source, GAsyncResult *result, gpointer data)
{
	struct lookup *l = data;
	struct probe_link *p = l->p;
	guint16 port = l->port;
	g_autoptr(GError) error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), result, &error);

	g_free(l);
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return;
	if (p->holds_dns) {
		p->holds_dns = false;
		rv_killswitch_hold_dns(false);
	}
	if (!addrs) {
		set_result(p, P_NO_ANSWER, NULL, error->message);
		return;
	}
	connect_to(p, addrs->data, port);
	g_resolver_free_addresses(addrs);
}

static gboolean probe_timeout(gpointer data)
{
	struct probe_link *p = data;

	p->probe_timer = 0;
	set_result(p, P_NO_ANSWER, NULL, "no answer in time");
	return G_SOURCE_REMOVE;
}

static void start_probe(struct probe_link *p)
{
	g_autoptr(GUri) uri = g_uri_parse(cfg.url, G_URI_FLAGS_NONE, NULL);
	g_autoptr(GInetAddress) addr = NULL;
	guint16 port;

	probe_cleanup(p);
	if (!uri) {
		set_result(p, P_NO_ANSWER, NULL, "bad PortalProbe URL");
		return;
	}
	port = g_uri_get_port(uri) > 0 ? (guint16)g_uri_get_port(uri) : 80;
	p->cancel = g_cancellable_new();
	p->probe_timer = g_timeout_add(cfg.timeout_ms, probe_timeout, p);
	if (p->state != P_PORTAL && p->state != P_NO_ANSWER) {
		p->state = P_PROBING;
		emit_link(p->ifname);
	}
	g_debug("portal check on %s: GET %s", p->ifname, cfg.url);
	addr = g_inet_address_new_from_string(g_uri_get_host(uri));
	if (addr) {
		connect_to(p, addr, port);
	} else {
		g_autoptr(GResolver) resolver = g_resolver_get_default();
		struct lookup *l = g_new0(struct lookup, 1);

		l->p = p;
		l->port = port;
		/* The name is resolved before the switch closes for it. */
		p->holds_dns = true;
		rv_killswitch_hold_dns(true);
		g_resolver_lookup_by_name_async(resolver, g_uri_get_host(uri), p->cancel, looked_up, l);
	}
}

/* --- the gate -------------------------------------------------------------------------- */

static char *network_key(const struct rv_link *l)
{
	g_autofree char *ssid = NULL;

	if (l->ssid) {
		gsize len;
		const guint8 *b = g_bytes_get_data(l->ssid, &len);

		ssid = g_base64_encode(b, len);
	}
	return g_strdup_printf("%s|%s", ssid ? ssid : "", l->gateway ? l->gateway : "");
}

void rv_portal_gate(GHashTable *decisions, GHashTable *wanted)
{
	GHashTableIter iter;
	gpointer key, value;

	if (!probes)
		return;
	/* Links that took no part (down, gone) start afresh when they are back. */
	g_hash_table_iter_init(&iter, probes);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		struct rv_link *l = rv_links_lookup_name(key);
		const struct rv_decision *d = l ? g_hash_table_lookup(decisions, GINT_TO_POINTER(l->ifindex)) : NULL;

		if (!d || d->excluded)
			g_hash_table_iter_remove(&iter);
	}
	if (!cfg.url) {
		g_hash_table_remove_all(probes);
		return;
	}
	g_hash_table_iter_init(&iter, wanted);
	while (g_hash_table_iter_next(&iter, &key, &value)) {
		struct rv_link *l = rv_links_lookup_name(value);
		struct probe_link *p;
		g_autofree char *network = NULL;

		if (!l)
			continue;
		p = g_hash_table_lookup(probes, l->name);
		if (!p) {
			p = g_new0(struct probe_link, 1);
			p->ifname = g_strdup(l->name);
			g_hash_table_insert(probes, p->ifname, p);
		}
		network = network_key(l);
		if (!l->gateway) {
			if (p->state != P_WAITING) {
				probe_cleanup(p);
				p->state = P_WAITING;
				g_info("portal check on %s: waiting for a default gateway", l->name);
				emit_link(l->name);
			}
		} else if (g_strcmp0(network, p->network) != 0 || p->state == P_WAITING ||
			   p->state == P_NONE) {
			g_free(p->network);
			p->network = g_steal_pointer(&network);
			close_window(p);
			p->state = P_PROBING;
			start_probe(p);
		}
		if (p->state == P_WAITING || p->state == P_PROBING || p->state == P_PORTAL) {
			g_debug("tunnel %s waits for the portal check on %s (%s)", (char *)key, l->name,
				pstate_names[p->state]);
			g_hash_table_iter_remove(&iter);
		}
	}
}

/* A gateway appearing (DHCP done) is what a waiting probe needs. */
static void on_event(enum rv_event_kind kind, const void *object, void *user_data)
{
	const struct rv_link *l = object;
	struct probe_link *p;

	if (kind != RV_EVENT_LINK_CHANGED || !l || !probes)
		return;
	p = g_hash_table_lookup(probes, l->name);
	if (p && p->state == P_WAITING && l->gateway)
		evaluate_soon();
}

/* --- API ------------------------------------------------------------------------------- */

void rv_portal_init(void (*changed)(void))
{
	results_changed = changed;
	probes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, probe_link_free);
	events_id = rv_events_subscribe(on_event, NULL);
}

void rv_portal_exit(void)
{
	if (events_id)
		rv_events_unsubscribe(events_id);
	events_id = 0;
	g_clear_handle_id(&evaluate_idle, g_source_remove);
	g_clear_pointer(&probes, g_hash_table_destroy);
	g_clear_pointer(&cfg.url, g_free);
	g_clear_pointer(&cfg.expect, g_free);
}

void rv_portal_configure(const struct rv_settings *s)
{
	bool changed = g_strcmp0(cfg.url, s->portal_probe) != 0 ||
		       g_strcmp0(cfg.expect, s->portal_expect) != 0;

	g_free(cfg.url);
	cfg.url = g_strdup(s->portal_probe);
	g_free(cfg.expect);
	cfg.expect = g_strdup(s->portal_expect);
	cfg.timeout_ms = s->portal_timeout_ms;
	cfg.window_s = s->portal_window_s;
	if (changed && probes)
		g_hash_table_remove_all(probes);	/* probe again with the new settings */
}

const char *rv_portal_state(const char *ifname)
{
	struct probe_link *p = probes && ifname ? g_hash_table_lookup(probes, ifname) : NULL;

	if (!p)
		return "";
	if (p->window)
		return "login-window";
	return pstate_names[p->state];
}

const char *rv_portal_location(const char *ifname)
{
	struct probe_link *p = probes && ifname ? g_hash_table_lookup(probes, ifname) : NULL;

	return p && p->location ? p->location : "";
}

static gboolean window_end(gpointer data)
{
	struct probe_link *p = data;

	p->window_timer = 0;
	g_message("portal login window on %s timed out; the kill switch closes again", p->ifname);
	close_window(p);
	if (p->state == P_PORTAL || p->state == P_NO_ANSWER)
		schedule_reprobe(p);
	emit_link(p->ifname);
	return G_SOURCE_REMOVE;
}

int rv_portal_open_window(const char *ifname, GError **error)
{
	struct probe_link *p = NULL;

	if (!probes || !cfg.url) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
			    "no captive portal check configured (roamvpn.conf PortalProbe=)");
		return -EINVAL;
	}
	if (ifname && *ifname) {
		p = g_hash_table_lookup(probes, ifname);
	} else {
		GHashTableIter iter;
		gpointer value;

		g_hash_table_iter_init(&iter, probes);
		while (g_hash_table_iter_next(&iter, NULL, &value)) {
			struct probe_link *q = value;

			if (q->state != P_PORTAL)
				continue;
			if (p) {
				g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
					    "several links are behind a portal; name one");
				return -EINVAL;
			}
			p = q;
		}
	}
	if (!p || p->state == P_ONLINE || p->state == P_NONE || p->state == P_WAITING) {
		g_set_error(error, RV_ERROR, RV_ERROR_NOT_FOUND, "no captive portal found on %s",
			    ifname && *ifname ? ifname : "any link");
		return -ENOENT;
	}
	p->window = true;
	p->window_until = g_get_monotonic_time() + (gint64)cfg.window_s * G_USEC_PER_SEC;
	g_clear_handle_id(&p->window_timer, g_source_remove);
	p->window_timer = g_timeout_add_seconds(cfg.window_s, window_end, p);
	g_message("portal login window on %s for %u s", p->ifname, cfg.window_s);
	rv_killswitch_set_window(p->ifname, true, login_port(p));
	schedule_reprobe(p);
	emit_link(p->ifname);
	return (int)cfg.window_s;
}

char *rv_portal_explain(const char *ifname)
{
	struct probe_link *p = probes && ifname ? g_hash_table_lookup(probes, ifname) : NULL;
	GString *out;

	if (!cfg.url)
		return g_strdup("  portal check: off (PortalProbe=no)\n");
	if (!p)
		return g_strdup("  portal check: not needed (no tunnel wanted here yet)\n");
	out = g_string_new(NULL);
	g_string_append_printf(out, "  portal check: %s", pstate_names[p->state]);
	if (p->detail)
		g_string_append_printf(out, ", %s", p->detail);
	if (p->location && *p->location)
		g_string_append_printf(out, ", login page %s", p->location);
	g_string_append_c(out, '\n');
	if (p->window) {
		gint64 left = (p->window_until - g_get_monotonic_time()) / G_USEC_PER_SEC;

		g_string_append_printf(out, "    login window open for %" G_GINT64_FORMAT
				       " s more: DNS and HTTP/HTTPS pass the kill switch\n", MAX(left, 0));
	} else if (p->state == P_PORTAL) {
		g_string_append(out, "    the tunnel waits; `roamvpnctl portal` opens a login window\n");
	}
	return g_string_free(out, FALSE);
}

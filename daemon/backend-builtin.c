/* backend-builtin.c - the "builtin" backend: a wg-quick tunnel file run by roamvpn-engine.
 *
 * The daemon does the privileged part and the engine the rest (docs/engine.md, daemon
 * mode): we create the TUN (IFF_VNET_HDR, so the engine can use the kernel's
 * offloads), the UDP sockets (ListenPort=, SO_MARK = FwMark= or RV_ENGINE_FWMARK, big
 * buffers with SO_*BUFFORCE, which the unprivileged engine could not set) and a
 * socketpair, then exec ENGINE_PATH (or $ROAMVPN_ENGINE) with exactly those fds. The
 * keys go over the socketpair as a UAPI "set=1" request, never argv, environment or
 * logs. The engine drops to an unprivileged user with a seccomp filter.
 *
 * The tunnel is up once the engine has accepted the configuration (like wg-quick:
 * WireGuard has no "connected" state); the daemon then assigns Address=, MTU, routes
 * (AllowedIPs, full tunnel with the fwmark rule as wg-quick does) and DNS. Every few
 * seconds "get=1" feeds rx/tx bytes and the latest handshake to the Tunnel object.
 * Stop: SIGTERM, SIGKILL after a grace period; the engine exiting by itself is a
 * failure (the supervisor retries with backoff). Hostnames in Endpoint= are resolved
 * asynchronously (GResolver) before the engine starts.
 *
 * Environment of the daemon (tests, debugging): ROAMVPN_ENGINE (the program),
 * ROAMVPN_ENGINE_USER (default nobody), ROAMVPN_ENGINE_LOG_LEVEL (default verbose; the
 * engine's lines go to our debug log, its errors to the log and to LastError).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "backend.h"
#include "backend-builtin.h"
#include "error.h"
#include "spawn.h"

#define STOP_GRACE_MS 5000
#define STATS_INTERVAL_S 5
#define CONFIGURE_TIMEOUT_S 10	/* engine start + "set" answered */
#define SOCKET_BUFFER (8 * 1024 * 1024)
#define VNET_HDR_LEN 10		/* struct virtio_net_hdr, what the engine expects */
#define MAX_LOG_LINE 1024
#define MAX_RESPONSE (1024 * 1024)

enum uapi_request { REQ_SET, REQ_GET };

struct builtin_run {
	struct rv_tunnel *tunnel;	/* NULL once reported down while resolving */
	struct rv_tunnel_config *config;	/* a reference, for the whole run */
	const struct rv_wg_config *wg;	/* config's parsed [Interface]/[Peer] */
	char *ifname;
	char **endpoints;		/* per peer: resolved "1.2.3.4:51820", or NULL */

	GCancellable *cancel;
	guint resolving;		/* lookups outstanding */
	char *resolve_error;

	GPid pid;
	guint child_watch;
	int uapi_fd;
	guint uapi_watch;
	GString *response;
	GQueue requests;		/* GINT_TO_POINTER(enum uapi_request) */
	int log_fd[2];
	guint log_watch[2];
	GString *log_line[2];
	guint stats_timer;
	guint kill_timer;
	guint configure_timer;
	bool stopping;
	bool reported_up;
	bool draining;			/* reading what is left after the engine exited */
	char *failure;			/* why the engine is being stopped, for report_down */
	char *last_error_line;		/* the engine's last error message (escaped) */
};

static void run_free(struct builtin_run *run)
{
	g_clear_handle_id(&run->child_watch, g_source_remove);
	g_clear_handle_id(&run->uapi_watch, g_source_remove);
	g_clear_handle_id(&run->stats_timer, g_source_remove);
	g_clear_handle_id(&run->kill_timer, g_source_remove);
	g_clear_handle_id(&run->configure_timer, g_source_remove);
	for (int i = 0; i < 2; i++) {
		g_clear_handle_id(&run->log_watch[i], g_source_remove);
		if (run->log_fd[i] >= 0)
			close(run->log_fd[i]);
		if (run->log_line[i])
			g_string_free(run->log_line[i], TRUE);
	}
	if (run->uapi_fd >= 0)
		close(run->uapi_fd);
	if (run->response)
		g_string_free(run->response, TRUE);
	g_queue_clear(&run->requests);
	if (run->pid > 0)
		g_spawn_close_pid(run->pid);
	g_clear_object(&run->cancel);
	g_free(run->ifname);
	for (guint i = 0; run->endpoints && run->wg && i < run->wg->peers->len; i++)
		g_free(run->endpoints[i]);
	g_free(run->endpoints);
	rv_tunnel_config_free(run->config);
	g_free(run->resolve_error);
	g_free(run->failure);
	g_free(run->last_error_line);
	g_free(run);
}

/* ------------------------------------------------------------------ configuration */

static char *format_endpoint(GInetAddress *addr, guint16 port)
{
	g_autofree char *text = g_inet_address_to_string(addr);

	if (g_inet_address_get_family(addr) == G_SOCKET_FAMILY_IPV6)
		return g_strdup_printf("[%s]:%u", text, port);
	return g_strdup_printf("%s:%u", text, port);
}

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

/* The whole configuration as one UAPI set request. Holds secrets: the caller wipes it. */
static GString *build_set_request(const struct builtin_run *run, GError **error)
{
	GString *req = g_string_sized_new(512);

	g_string_append(req, "set=1\n");
	if (!append_hex_key(req, "private_key", run->wg->private_key))
		goto bad_key;
	g_string_append(req, "replace_peers=true\n");
	for (guint i = 0; i < run->wg->peers->len; i++) {
		const struct rv_wg_peer *p = g_ptr_array_index(run->wg->peers, i);

		if (!append_hex_key(req, "public_key", p->public_key))
			goto bad_key;
		if (p->preshared_key && !append_hex_key(req, "preshared_key", p->preshared_key))
			goto bad_key;
		if (run->endpoints[i])
			g_string_append_printf(req, "endpoint=%s\n", run->endpoints[i]);
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

static struct rv_tunnel_net *build_net(const struct builtin_run *run)
{
	struct rv_tunnel_net *net = rv_tunnel_net_new();
	const struct rv_tunnel_config *cfg = run->config;
	const struct rv_wg_config *wg = run->wg;

	net->ifname = g_strdup(run->ifname);
	for (guint i = 0; i < wg->addresses->len; i++)
		g_ptr_array_add(net->addresses, g_strdup(g_ptr_array_index(wg->addresses, i)));
	net->addresses_assigned = false;
	if (cfg->routes) {
		for (char **r = cfg->routes; *r; r++)
			g_ptr_array_add(net->routes, g_strdup(*r));
	} else if (!wg->table_off) {
		for (guint i = 0; i < wg->peers->len; i++) {
			const struct rv_wg_peer *p = g_ptr_array_index(wg->peers, i);

			for (guint j = 0; j < p->allowed_ips->len; j++)
				g_ptr_array_add(net->routes, g_strdup(g_ptr_array_index(p->allowed_ips, j)));
		}
	}
	net->dns = g_strdupv(cfg->dns);
	net->domains = g_strdupv(cfg->domains);
	net->mtu = wg->mtu;
	net->fwmark = wg->fwmark;
	for (guint i = 0; i < wg->peers->len && !net->endpoint; i++)
		net->endpoint = g_strdup(run->endpoints[i]);
	return net;
}

/* ------------------------------------------------------------------ ending */

static gboolean on_engine_output(int fd, GIOCondition cond, gpointer data);

/* Everything ends here, once: the engine has exited (or never started). */
static void finish(struct builtin_run *run, const char *error)
{
	struct rv_tunnel *t = run->tunnel;

	run->tunnel = NULL;
	if (t) {
		t->backend_data = NULL;
		rv_tunnel_report_down(t, error);
	}
	if (run->resolving == 0)
		run_free(run);
}

static gboolean kill_timeout(gpointer data)
{
	struct builtin_run *run = data;

	run->kill_timer = 0;
	g_warning("tunnel %s: engine did not stop within %d ms; killing it", run->ifname, STOP_GRACE_MS);
	if (run->pid > 0)
		kill(run->pid, SIGKILL);
	return G_SOURCE_REMOVE;
}

/* Ask the engine to stop; finish() follows from the child watch. */
static void terminate(struct builtin_run *run, const char *failure)
{
	if (failure && !run->failure)
		run->failure = g_strdup(failure);
	if (run->stopping)
		return;
	run->stopping = true;
	g_clear_handle_id(&run->stats_timer, g_source_remove);
	g_clear_handle_id(&run->configure_timer, g_source_remove);
	if (run->pid > 0) {
		kill(run->pid, SIGTERM);
		run->kill_timer = g_timeout_add(STOP_GRACE_MS, kill_timeout, run);
	}
}

static void child_exited(GPid pid, int status, gpointer data)
{
	struct builtin_run *run = data;
	g_autofree char *how = rv_wait_status_describe(status);
	g_autofree char *msg = NULL;

	run->child_watch = 0;
	g_clear_handle_id(&run->kill_timer, g_source_remove);
	/* What it wrote before dying is in the pipes: log it before the message. */
	run->draining = true;
	for (int i = 0; i < 2; i++)
		while (run->log_watch[i] &&
		       on_engine_output(run->log_fd[i], G_IO_IN, run) == G_SOURCE_CONTINUE)
			;
	if (run->failure)
		msg = g_strdup(run->failure);
	else if (!run->stopping && run->last_error_line)
		msg = g_strdup_printf("roamvpn-engine %s: %s", how, run->last_error_line);
	else if (!run->stopping)
		msg = g_strdup_printf("roamvpn-engine %s", how);
	if (msg)
		g_warning("tunnel %s: %s", run->ifname, msg);
	else
		g_info("tunnel %s: engine stopped (%s)", run->ifname, how);
	finish(run, msg);
}

/* ------------------------------------------------------------------ engine output */

static void log_engine_line(struct builtin_run *run, const char *line)
{
	/* Untrusted bytes from a child: shown escaped. */
	g_autofree char *shown = g_strescape(line, NULL);

	if (g_str_has_prefix(line, "ERROR") || g_str_has_prefix(line, "roamvpn-engine:")) {
		g_message("tunnel %s: engine: %s", run->ifname, shown);
		g_free(run->last_error_line);
		run->last_error_line = g_strdup(shown);
	} else
		g_debug("tunnel %s: engine: %s", run->ifname, shown);
}

static gboolean on_engine_output(int fd, GIOCondition cond, gpointer data)
{
	struct builtin_run *run = data;
	int i = fd == run->log_fd[0] ? 0 : 1;
	char buf[4096];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && errno == EINTR)
		return G_SOURCE_CONTINUE;
	if (n < 0 && errno == EAGAIN)
		return run->draining ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
	if (n <= 0) {
		if (run->log_line[i]->len)
			log_engine_line(run, run->log_line[i]->str);
		g_string_truncate(run->log_line[i], 0);
		if (run->draining)	/* called by hand: the source is still attached */
			g_clear_handle_id(&run->log_watch[i], g_source_remove);
		else
			run->log_watch[i] = 0;
		close(fd);
		run->log_fd[i] = -1;
		return G_SOURCE_REMOVE;
	}
	for (ssize_t j = 0; j < n; j++) {
		if (buf[j] == '\n' || run->log_line[i]->len >= MAX_LOG_LINE) {
			log_engine_line(run, run->log_line[i]->str);
			g_string_truncate(run->log_line[i], 0);
			if (buf[j] == '\n')
				continue;
		}
		g_string_append_c(run->log_line[i], buf[j]);
	}
	return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ UAPI client */

static int send_request(struct builtin_run *run, const char *text, gsize len, enum uapi_request kind)
{
	gsize done = 0;

	/* Requests are small next to the socket buffer: a partial write means the
	 * engine stopped reading, which we treat as a failure rather than queue. */
	while (done < len) {
		ssize_t n = send(run->uapi_fd, text + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (gsize)n;
	}
	g_queue_push_tail(&run->requests, GINT_TO_POINTER(kind));
	return 0;
}

static void handle_get(struct builtin_run *run, char **lines)
{
	guint64 rx = 0, tx = 0;
	gint64 latest = 0, sec = 0;

	for (char **l = lines; *l; l++) {
		const char *eq = strchr(*l, '=');
		guint64 v;

		if (!eq || !g_ascii_string_to_unsigned(eq + 1, 10, 0, G_MAXUINT64, &v, NULL))
			continue;
		if (g_str_has_prefix(*l, "rx_bytes="))
			rx += v;
		else if (g_str_has_prefix(*l, "tx_bytes="))
			tx += v;
		else if (g_str_has_prefix(*l, "last_handshake_time_sec="))
			sec = (gint64)MIN(v, (guint64)G_MAXINT32 * 4);
		else if (g_str_has_prefix(*l, "last_handshake_time_nsec=")) {
			gint64 usec = sec * G_USEC_PER_SEC + (gint64)(v / 1000);

			if (sec > 0 && usec > latest)
				latest = usec;
			sec = 0;
		}
	}
	if (run->tunnel)
		rv_tunnel_report_stats(run->tunnel, rx, tx, latest);
}

static void handle_response(struct builtin_run *run, const char *text)
{
	enum uapi_request kind = GPOINTER_TO_INT(g_queue_pop_head(&run->requests));
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	const char *errno_line = NULL;
	guint64 err = 1;

	for (char **l = lines; *l; l++)
		if (g_str_has_prefix(*l, "errno="))
			errno_line = *l + 6;
	if (!errno_line || !g_ascii_string_to_unsigned(errno_line, 10, 0, 4095, &err, NULL))
		err = EPROTO;
	if (kind == REQ_GET) {
		if (err == 0)
			handle_get(run, lines);
		else
			g_warning("tunnel %s: engine answered get with errno=%" G_GUINT64_FORMAT,
				  run->ifname, err);
		return;
	}
	g_clear_handle_id(&run->configure_timer, g_source_remove);
	if (err != 0) {
		g_autofree char *msg = g_strdup_printf("roamvpn-engine refused the configuration: %s",
						       g_strerror((int)err));

		terminate(run, msg);
		return;
	}
	if (run->reported_up || run->stopping || !run->tunnel)
		return;
	run->reported_up = true;
	g_info("tunnel %s: engine configured (%u peer%s)", run->ifname, run->wg->peers->len,
	       run->wg->peers->len == 1 ? "" : "s");
	/* report_up may stop us at once (network setup failed): nothing after it. */
	rv_tunnel_report_up(run->tunnel, build_net(run));
}

static gboolean on_uapi(int fd, GIOCondition cond, gpointer data)
{
	struct builtin_run *run = data;
	char buf[4096];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	char *end;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return G_SOURCE_CONTINUE;
	if (n <= 0) {
		/* The engine closed its end: it is exiting; the child watch reports. */
		run->uapi_watch = 0;
		return G_SOURCE_REMOVE;
	}
	g_string_append_len(run->response, buf, n);
	if (run->response->len > MAX_RESPONSE) {
		run->uapi_watch = 0;
		terminate(run, "roamvpn-engine sent an oversized UAPI response");
		return G_SOURCE_REMOVE;
	}
	/* Each response ends with an empty line. */
	while (!run->stopping && (end = strstr(run->response->str, "\n\n"))) {
		g_autofree char *one = g_strndup(run->response->str, (gsize)(end - run->response->str + 1));

		g_string_erase(run->response, 0, end - run->response->str + 2);
		if (g_queue_is_empty(&run->requests)) {
			run->uapi_watch = 0;
			terminate(run, "roamvpn-engine sent an unrequested UAPI response");
			return G_SOURCE_REMOVE;
		}
		handle_response(run, one);
		if (run->stopping)
			break;
	}
	return G_SOURCE_CONTINUE;
}

static gboolean configure_timeout(gpointer data)
{
	struct builtin_run *run = data;

	run->configure_timer = 0;
	terminate(run, "roamvpn-engine did not accept its configuration in time");
	return G_SOURCE_REMOVE;
}

static gboolean poll_stats(gpointer data)
{
	struct builtin_run *run = data;
	static const char get[] = "get=1\n\n";

	/* One get at a time: a slow engine must not pile requests up. */
	if (!g_queue_is_empty(&run->requests))
		return G_SOURCE_CONTINUE;
	if (send_request(run, get, sizeof(get) - 1, REQ_GET) < 0) {
		run->stats_timer = 0;
		terminate(run, "roamvpn-engine stopped answering on its control socket");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ fds for the engine */

static int create_tun(const char *ifname, GError **error)
{
	struct ifreq ifr = { 0 };
	int sz = VNET_HDR_LEN;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot open /dev/net/tun: %s", g_strerror(err));
		return -err;
	}
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
	g_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		int err = errno;

		close(fd);
		g_set_error(error, RV_ERROR, err == EBUSY ? RV_ERROR_BUSY : RV_ERROR_FAILED,
			    "cannot create TUN device %s: %s", ifname, g_strerror(err));
		return -err;
	}
	return fd;
}

static int create_udp(int family, int port, guint32 fwmark, GError **error)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int one = 1, size = SOCKET_BUFFER;
	struct sockaddr_storage ss = { 0 };
	socklen_t len;

	if (fd < 0) {
		int err = errno;

		if (family == AF_INET6 && err == EAFNOSUPPORT)
			return -err;	/* no IPv6 here: v4 only */
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot create UDP socket: %s", g_strerror(err));
		return -err;
	}
	/* The engine, unprivileged, cannot raise these past rmem_max itself. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0) {
		int err = errno;

		close(fd);
		g_set_error(error, RV_ERROR, RV_ERROR_PERMISSION, "cannot set fwmark 0x%x: %s", fwmark,
			    g_strerror(err));
		return -err;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((guint16)port);
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((guint16)port);
		len = sizeof(*sin);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		int err = errno;

		close(fd);
		if (family == AF_INET6 && err == EADDRNOTAVAIL)
			return -EAFNOSUPPORT;	/* IPv6 disabled */
		g_set_error(error, RV_ERROR, err == EADDRINUSE ? RV_ERROR_BUSY : RV_ERROR_FAILED,
			    "cannot bind UDP port %d: %s", port, g_strerror(err));
		return -err;
	}
	return fd;
}

static int bound_port(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	if (getsockname(fd, (struct sockaddr *)&sin, &len) < 0)
		return -errno;
	return ntohs(sin.sin_port);
}

/* v4 and v6 on the same port (as wireguard-go); with a random port, retry if the
 * v6 half of the first choice is taken. */
static int create_udp_pair(struct builtin_run *run, int *fd4, int *fd6, GError **error)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		int port;

		*fd4 = create_udp(AF_INET, run->wg->listen_port, run->wg->fwmark, error);
		if (*fd4 < 0)
			return *fd4;
		port = bound_port(*fd4);
		*fd6 = create_udp(AF_INET6, port, run->wg->fwmark, NULL);
		if (*fd6 >= 0 || *fd6 == -EAFNOSUPPORT) {
			*fd6 = MAX(*fd6, -1);
			return 0;
		}
		close(*fd4);
		*fd4 = -1;
		if (*fd6 != -EADDRINUSE || run->wg->listen_port) {
			g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "cannot bind UDP port %d for IPv6: %s",
				    port, g_strerror(-*fd6));
			return *fd6;
		}
	}
	g_set_error(error, RV_ERROR, RV_ERROR_BUSY, "no UDP port free for both IPv4 and IPv6");
	return -EADDRINUSE;
}

static const char *engine_path(void)
{
	const char *env = g_getenv("ROAMVPN_ENGINE");

	return env && *env ? env : ENGINE_PATH;
}

static void engine_child_setup(gpointer data)
{
	/* The engine must not outlive the daemon that owns its routes. The kernel clears
	 * this when the engine switches user; from then on end of file on the UAPI socket
	 * (our end closes with us) stops it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
}

static int launch(struct builtin_run *run, GError **error)
{
	int tun = -1, fd4 = -1, fd6 = -1, pair[2] = { -1, -1 };
	int source_fds[4], target_fds[4] = { 3, 4, 5, 6 };
	gsize n_fds = 0;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) env = NULL;
	g_autoptr(GString) req = NULL;
	char *log_level = NULL;
	int r;

	req = build_set_request(run, error);
	if (!req)
		return -EINVAL;
	tun = create_tun(run->ifname, error);
	if (tun < 0) {
		r = tun;
		goto out;
	}
	r = create_udp_pair(run, &fd4, &fd6, error);
	if (r < 0)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
		r = -errno;
		g_set_error(error, RV_ERROR, RV_ERROR_FAILED, "socketpair: %s", g_strerror(-r));
		goto out;
	}

	g_ptr_array_add(argv, g_strdup(engine_path()));
	g_ptr_array_add(argv, g_strdup("--foreground"));
	source_fds[n_fds] = tun;
	g_ptr_array_add(argv, g_strdup_printf("--tun-fd=%d", target_fds[n_fds++]));
	source_fds[n_fds] = pair[1];
	g_ptr_array_add(argv, g_strdup_printf("--uapi-fd=%d", target_fds[n_fds++]));
	source_fds[n_fds] = fd4;
	g_ptr_array_add(argv, g_strdup_printf("--udp4-fd=%d", target_fds[n_fds++]));
	if (fd6 >= 0) {
		source_fds[n_fds] = fd6;
		g_ptr_array_add(argv, g_strdup_printf("--udp6-fd=%d", target_fds[n_fds++]));
	}
	g_ptr_array_add(argv, g_strdup_printf("--user=%s",
					      g_getenv("ROAMVPN_ENGINE_USER") ? g_getenv("ROAMVPN_ENGINE_USER") : "nobody"));
	g_ptr_array_add(argv, g_strdup(run->ifname));
	g_ptr_array_add(argv, NULL);
	/* Only PATH/LANG and the log level: nothing about the network or the user. */
	if (g_getenv("ROAMVPN_ENGINE_LOG_LEVEL"))
		log_level = g_strdup_printf("LOG_LEVEL=%s", g_getenv("ROAMVPN_ENGINE_LOG_LEVEL"));
	else
		log_level = g_strdup("LOG_LEVEL=verbose");
	{
		char *extra[] = { log_level, NULL };

		env = rv_child_base_env(extra);
	}
	g_free(log_level);

	if (!g_spawn_async_with_pipes_and_fds(NULL, (const char *const *)argv->pdata,
					      (const char *const *)env, G_SPAWN_DO_NOT_REAP_CHILD,
					      engine_child_setup, NULL, -1, -1, -1,
					      source_fds, target_fds, n_fds, &run->pid, NULL,
					      &run->log_fd[0], &run->log_fd[1], error)) {
		run->pid = 0;
		r = -ENOEXEC;
		goto out;
	}
	g_info("tunnel %s: started %s (pid %d) for %s", run->tunnel->name, engine_path(), run->pid,
	       run->ifname);
	run->child_watch = g_child_watch_add(run->pid, child_exited, run);
	for (int i = 0; i < 2; i++) {
		g_unix_set_fd_nonblocking(run->log_fd[i], TRUE, NULL);
		run->log_line[i] = g_string_new(NULL);
		run->log_watch[i] = g_unix_fd_add(run->log_fd[i], G_IO_IN | G_IO_HUP | G_IO_ERR,
						  on_engine_output, run);
	}
	run->uapi_fd = pair[0];
	pair[0] = -1;
	run->response = g_string_new(NULL);
	run->uapi_watch = g_unix_fd_add(run->uapi_fd, G_IO_IN | G_IO_HUP | G_IO_ERR, on_uapi, run);
	r = send_request(run, req->str, req->len, REQ_SET);
	if (r < 0) {
		/* The child is running: stop it; child_exited reports. */
		g_autofree char *msg = g_strdup_printf("cannot configure roamvpn-engine: %s", g_strerror(-r));

		terminate(run, msg);
		r = 0;
	} else {
		run->stats_timer = g_timeout_add_seconds(STATS_INTERVAL_S, poll_stats, run);
		run->configure_timer = g_timeout_add_seconds(CONFIGURE_TIMEOUT_S, configure_timeout, run);
	}
out:
	if (req)
		explicit_bzero(req->str, req->len);
	/* The engine has its copies; ours would keep the device alive after it exits. */
	for (int *fd = (int[]){ tun, fd4, fd6, pair[0], pair[1] }, i = 0; i < 5; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	return r;
}

/* ------------------------------------------------------------------ endpoints */

struct lookup {
	struct builtin_run *run;
	guint peer;		/* index in wg->peers and endpoints */
};

static void resolved(GObject *source, GAsyncResult *result, gpointer data)
{
	struct lookup *lookup = data;
	struct builtin_run *run = lookup->run;
	const struct rv_wg_peer *peer = g_ptr_array_index(run->wg->peers, lookup->peer);
	guint index = lookup->peer;
	g_autoptr(GError) error = NULL;
	GList *addrs = g_resolver_lookup_by_name_finish(G_RESOLVER(source), result, &error);

	g_free(lookup);

	if (addrs) {
		run->endpoints[index] = format_endpoint(addrs->data, peer->endpoint_port);
		g_resolver_free_addresses(addrs);
	} else if (!run->resolve_error && !g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
		g_autofree char *host = g_strescape(peer->endpoint_host, NULL);

		run->resolve_error = g_strdup_printf("cannot resolve endpoint %s: %s", host, error->message);
	}
	if (--run->resolving > 0)
		return;
	if (!run->tunnel) {	/* stopped meanwhile, already reported down */
		run_free(run);
		return;
	}
	if (run->resolve_error) {
		g_autofree char *msg = g_strdup(run->resolve_error);

		finish(run, msg);
		return;
	}
	{
		g_autoptr(GError) launch_error = NULL;

		if (launch(run, &launch_error) < 0)
			finish(run, launch_error->message);
	}
}

/* Numeric endpoints are used as they are; names are looked up. Returns how many
 * lookups were started. */
static guint resolve_endpoints(struct builtin_run *run)
{
	guint started = 0;

	for (guint i = 0; i < run->wg->peers->len; i++) {
		const struct rv_wg_peer *p = g_ptr_array_index(run->wg->peers, i);
		g_autoptr(GInetAddress) addr = NULL;
		g_autoptr(GResolver) resolver = NULL;
		struct lookup *lookup;

		if (!p->endpoint_host)
			continue;
		addr = g_inet_address_new_from_string(p->endpoint_host);
		if (addr) {
			run->endpoints[i] = format_endpoint(addr, p->endpoint_port);
			continue;
		}
		resolver = g_resolver_get_default();
		lookup = g_new(struct lookup, 1);
		lookup->run = run;
		lookup->peer = i;
		run->resolving++;
		started++;
		g_resolver_lookup_by_name_async(resolver, p->endpoint_host, run->cancel, resolved, lookup);
	}
	return started;
}

/* ------------------------------------------------------------------ the vtable */

static void *builtin_parse(struct rv_tunnel_config *cfg, GPtrArray *errors)
{
	return rv_wg_config_parse(cfg, errors);
}

static void builtin_free_config(void *config)
{
	rv_wg_config_free(config);
}

static bool builtin_config_equal(const void *a, const void *b)
{
	return rv_wg_config_equal(a, b);
}

/* The engine's TUN: [Tunnel] Interface=, else named after the tunnel. */
static const char *builtin_device(const struct rv_tunnel_config *cfg)
{
	const struct rv_wg_config *wg = cfg->parsed;

	return wg ? wg->ifname : cfg->interface ? cfg->interface : cfg->name;
}

static int builtin_start(struct rv_tunnel *t, const void *config, const struct rv_link *trigger,
			 GError **error)
{
	const struct rv_wg_config *wg = config;
	struct builtin_run *run;
	int r;

	if (!wg) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID, "tunnel %s has no configuration", t->name);
		return -EINVAL;
	}
	run = g_new0(struct builtin_run, 1);
	run->tunnel = t;
	run->config = rv_tunnel_config_ref(t->config);
	run->wg = wg;
	run->uapi_fd = -1;
	run->log_fd[0] = run->log_fd[1] = -1;
	run->ifname = g_strdup(wg->ifname);
	run->endpoints = g_new0(char *, wg->peers->len + 1);
	run->cancel = g_cancellable_new();
	g_queue_init(&run->requests);
	t->backend_data = run;
	if (resolve_endpoints(run) > 0)
		return 0;	/* launch() when the names are resolved */
	r = launch(run, error);
	if (r < 0) {
		t->backend_data = NULL;
		run->tunnel = NULL;
		run_free(run);
		return r;
	}
	return 0;
}

static void builtin_stop(struct rv_tunnel *t)
{
	struct builtin_run *run = t->backend_data;

	if (!run)
		return;
	if (run->resolving > 0 && run->pid == 0) {
		/* Not started yet: report now, free when the lookups return. */
		g_cancellable_cancel(run->cancel);
		finish(run, NULL);
		return;
	}
	terminate(run, NULL);
}

const struct rv_backend rv_backend_builtin = {
	.name = "builtin",
	.abi = RV_BACKEND_ABI,
	.parse = builtin_parse,
	.free_config = builtin_free_config,
	.config_equal = builtin_config_equal,
	.device = builtin_device,
	.start = builtin_start,
	.stop = builtin_stop,
};

/* backend-builtin.c - the "builtin" backend: a wg-quick tunnel file run by roamvpn-engine.
 *
 * The daemon does the privileged part and the engine the rest (docs/engine.md, daemon
 * mode): we create the TUN (IFF_VNET_HDR, so the engine can use the kernel's
 * offloads), the UDP sockets (ListenPort=, SO_MARK = FwMark= or RV_ENGINE_FWMARK, big
 * buffers with SO_*BUFFORCE, which the unprivileged engine could not set) with the
 * engine's own code (engine/tun.c, udp.c), and a socketpair, then exec ENGINE_PATH
 * (or $ROAMVPN_ENGINE) with exactly those fds. The configuration, parsed once by
 * backend-builtin-config.c, goes over the socketpair through the UAPI client
 * (uapi-client.c), never argv, environment or logs. The engine drops to an
 * unprivileged user with a seccomp filter.
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
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>

#include "backend.h"
#include "backend-builtin.h"
#include "error.h"
#include "spawn.h"
#include "tun.h"
#include "uapi-client.h"
#include "uapi-socket.h"
#include "udp.h"
#include "log.h"

#define STOP_GRACE_MS 5000
#define STATS_INTERVAL_S 5
#define CONFIGURE_TIMEOUT_S 10	/* engine start + "set" answered */
#define MAX_LOG_LINE 1024

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
	struct rv_uapi_client *uapi;	/* the engine's control socket */
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
	char *wg_socket;		/* /var/run/wireguard/IFNAME.sock for wg(8), ours to remove */
	ino_t wg_socket_ino;		/* ... unless a later run replaced it */
};

static void remove_wg_socket(struct builtin_run *run)
{
	struct stat st;

	if (run->wg_socket && stat(run->wg_socket, &st) == 0 && st.st_ino == run->wg_socket_ino)
		unlink(run->wg_socket);
	g_clear_pointer(&run->wg_socket, g_free);
}

static void run_free(struct builtin_run *run)
{
	remove_wg_socket(run);
	g_clear_handle_id(&run->child_watch, g_source_remove);
	g_clear_pointer(&run->uapi, rv_uapi_client_free);
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
	rv_tunnel_warning(run->ifname, "engine did not stop within %d ms; killing it",
			  STOP_GRACE_MS);
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
		rv_tunnel_warning(run->ifname, "%s", msg);
	else
		rv_tunnel_info(run->ifname, "engine stopped (%s)", how);
	finish(run, msg);
}

/* ------------------------------------------------------------------ engine output */

static void log_engine_line(struct builtin_run *run, const char *line)
{
	/* Untrusted bytes from a child: shown escaped. */
	g_autofree char *shown = g_strescape(line, NULL);

	if (g_str_has_prefix(line, "ERROR") || g_str_has_prefix(line, "roamvpn-engine:")) {
		rv_tunnel_message(run->ifname, "engine: %s", shown);
		g_free(run->last_error_line);
		run->last_error_line = g_strdup(shown);
	} else
		rv_tunnel_debug(run->ifname, "engine: %s", shown);
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

/* ------------------------------------------------------------------ the engine's answers */

static void on_set_done(struct rv_uapi_client *client, int err, void *data)
{
	struct builtin_run *run = data;

	g_clear_handle_id(&run->configure_timer, g_source_remove);
	if (err != 0) {
		g_autofree char *msg = g_strdup_printf("roamvpn-engine refused the configuration: %s",
						       g_strerror(err));

		terminate(run, msg);
		return;
	}
	if (run->reported_up || run->stopping || !run->tunnel)
		return;
	run->reported_up = true;
	rv_tunnel_info(run->ifname, "engine configured (%u peer%s)", run->wg->peers->len,
	       run->wg->peers->len == 1 ? "" : "s");
	/* report_up may stop us at once (network setup failed): nothing after it. */
	rv_tunnel_report_up(run->tunnel, build_net(run));
}

static void on_stats(struct rv_uapi_client *client, int err, const struct rv_uapi_stats *stats,
		     void *data)
{
	struct builtin_run *run = data;

	if (err != 0)
		rv_tunnel_warning(run->ifname, "engine answered get with errno=%d", err);
	else if (run->tunnel && !run->stopping)
		rv_tunnel_report_stats(run->tunnel, stats->rx_bytes, stats->tx_bytes,
				       stats->last_handshake);
}

static void on_uapi_failed(struct rv_uapi_client *client, const char *why, void *data)
{
	/* NULL: the engine closed its end, it is exiting; the child watch reports. */
	if (why)
		terminate(data, why);
}

static const struct rv_uapi_callbacks uapi_callbacks = {
	.set_done = on_set_done,
	.stats = on_stats,
	.failed = on_uapi_failed,
};

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
	int r = rv_uapi_get_stats(run->uapi);

	/* -EBUSY: the last answer is outstanding; a slow engine gets no pile-up. */
	if (r < 0 && r != -EBUSY) {
		run->stats_timer = 0;
		terminate(run, "roamvpn-engine stopped answering on its control socket");
		return G_SOURCE_REMOVE;
	}
	return G_SOURCE_CONTINUE;
}

/* ------------------------------------------------------------------ fds for the engine */

/* The TUN (with the virtio-net header the engine's offloads need) and the UDP
 * sockets (ListenPort=, FwMark=, buffers past rmem_max, which the unprivileged
 * engine could not set), made by the engine's own code (engine/tun.c, udp.c). */
static int create_fds(struct builtin_run *run, int *tun, struct rv_udp *udp, GError **error)
{
	int r;

	*tun = rv_tun_create(run->ifname, true, NULL);
	if (*tun < 0) {
		g_set_error(error, RV_ERROR, *tun == -EBUSY ? RV_ERROR_BUSY : RV_ERROR_FAILED,
			    "cannot create TUN device %s: %s", run->ifname, g_strerror(-*tun));
		return *tun;
	}
	rv_udp_init(udp);
	r = rv_udp_open(udp, (uint16_t)run->wg->listen_port, run->wg->fwmark);
	if (r == 0 && udp->fd4 < 0)
		r = -EAFNOSUPPORT;	/* the engine needs IPv4; IPv6 is optional */
	if (r < 0) {
		g_set_error(error, RV_ERROR, r == -EADDRINUSE ? RV_ERROR_BUSY :
			    r == -EPERM ? RV_ERROR_PERMISSION : RV_ERROR_FAILED,
			    "cannot open the UDP sockets (port %d, fwmark 0x%x): %s",
			    run->wg->listen_port, run->wg->fwmark, g_strerror(-r));
		rv_udp_close(udp);
		return r;
	}
	return 0;
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

/* The socket wg(8) looks for, so `wg show`/`wg set` work on our tunnels too
 * (root-only: 0600 in a 0700 directory); the engine only accepts on it. Not
 * fatal when it cannot be made: the tunnel works without. */
static int create_wg_socket(struct builtin_run *run)
{
	const char *dir = g_getenv("RV_ENGINE_SOCKET_DIR");
	char path[108];
	struct stat st;
	int fd = rv_uapi_socket_listen(dir && *dir ? dir : "/var/run/wireguard", run->ifname, path,
				       sizeof(path));

	if (fd < 0) {
		rv_tunnel_warning(run->tunnel->name, "no wg(8) control socket for %s: %s",
				  run->ifname,
			  g_strerror(-fd));
		return -1;
	}
	if (stat(path, &st) == 0)
		run->wg_socket_ino = st.st_ino;
	run->wg_socket = g_strdup(path);
	return fd;
}

static int launch(struct builtin_run *run, GError **error)
{
	int tun = -1, fd4 = -1, fd6 = -1, pair[2] = { -1, -1 }, wg_fd = -1;
	int source_fds[5], target_fds[5] = { 3, 4, 5, 6, 7 };
	gsize n_fds = 0;
	g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func(g_free);
	g_auto(GStrv) env = NULL;
	g_autoptr(GError) set_error = NULL;
	struct rv_udp udp;
	char *log_level = NULL;
	int r;

	r = create_fds(run, &tun, &udp, error);
	if (r < 0)
		goto out;
	fd4 = udp.fd4;
	fd6 = udp.fd6;
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
	wg_fd = create_wg_socket(run);
	if (wg_fd >= 0) {
		source_fds[n_fds] = wg_fd;
		g_ptr_array_add(argv, g_strdup_printf("--uapi-listen-fd=%d", target_fds[n_fds++]));
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
	rv_tunnel_info(run->tunnel->name, "started %s (pid %d) for %s", engine_path(), run->pid,
	       run->ifname);
	run->child_watch = g_child_watch_add(run->pid, child_exited, run);
	for (int i = 0; i < 2; i++) {
		g_unix_set_fd_nonblocking(run->log_fd[i], TRUE, NULL);
		run->log_line[i] = g_string_new(NULL);
		run->log_watch[i] = g_unix_fd_add(run->log_fd[i], G_IO_IN | G_IO_HUP | G_IO_ERR,
						  on_engine_output, run);
	}
	run->uapi = rv_uapi_client_new(pair[0], &uapi_callbacks, run);
	pair[0] = -1;
	if (rv_uapi_set_device(run->uapi, run->wg, run->endpoints, &set_error) < 0) {
		/* The child is running: stop it; child_exited reports. */
		terminate(run, set_error->message);
		r = 0;
	} else {
		run->stats_timer = g_timeout_add_seconds(STATS_INTERVAL_S, poll_stats, run);
		run->configure_timer = g_timeout_add_seconds(CONFIGURE_TIMEOUT_S, configure_timeout, run);
	}
out:
	/* The engine has its copies; ours would keep the device alive after it exits. */
	for (int *fd = (int[]){ tun, fd4, fd6, pair[0], pair[1], wg_fd }, i = 0; i < 6; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (r < 0)
		remove_wg_socket(run);
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
/* Each peer's Endpoint= (UDP); once up, also the address the engine reports it
 * talks to ("host:port", "[v6]:port": a name it resolved itself). */
static void builtin_servers(const void *config, const struct rv_tunnel_net *net, GPtrArray *out)
{
	const struct rv_wg_config *wg = config;
	const char *colon = net && net->endpoint ? strrchr(net->endpoint, ':') : NULL;
	guint64 port;

	for (guint i = 0; wg && wg->peers && i < wg->peers->len; i++) {
		const struct rv_wg_peer *p = g_ptr_array_index(wg->peers, i);

		if (p->endpoint_host)
			rv_server_add(out, p->endpoint_host, RV_SERVER_UDP, p->endpoint_port);
	}
	if (colon && g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL)) {
		const char *text = net->endpoint;
		g_autofree char *host = text[0] == '[' && colon > text + 1 && colon[-1] == ']'
			? g_strndup(text + 1, (gsize)(colon - text - 2))
			: g_strndup(text, (gsize)(colon - text));
		g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(host);

		if (addr)
			rv_server_add(out, host, RV_SERVER_UDP, (guint16)port);
	}
}

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
	run->log_fd[0] = run->log_fd[1] = -1;
	run->ifname = g_strdup(wg->ifname);
	run->endpoints = g_new0(char *, wg->peers->len + 1);
	run->cancel = g_cancellable_new();
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
	.servers = builtin_servers,
};

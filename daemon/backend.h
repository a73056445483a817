/* backend.h - the tunnel backend interface, and the contract for plugins.
 *
 * A backend parses its own section(s) of a tunnel file, starts and stops one tunnel
 * and reports what happened; the supervisor decides when. Backends are found by
 * name: "builtin" and "exec" are compiled in, the others are GModule plugins.
 *
 * Life of a tunnel file (tunnel-config.c reads [Tunnel], then hands over):
 *   parse()        once per load (start-up, reload, --check): the backend's own
 *                  section(s) of cfg->ini into a struct of its own, or NULL with
 *                  every problem appended to errors as "FILE:LINE: message"
 *                  (rv_ini_error). Never echo a value that may be a secret: name
 *                  the key. --check and the running daemon use the same parse(),
 *                  so what --check accepts is exactly what start() gets.
 *   config_equal() on reload: same parsed configuration? Only a changed tunnel is
 *                  restarted. (The [Tunnel] keys are compared by the caller.)
 *   device()       the interface the backend will bring up, if it knows it before
 *                  start (the manager keeps tunnel devices out of the network view).
 *   servers()      the servers the tunnel talks to (host, protocol, port), from the
 *                  parsed struct alone: the kill switch lets exactly these out of a
 *                  closed link. parse() gathers what it needs (a file the section
 *                  names is read there, with rv_ini_read_file(), never later); a
 *                  backend without servers() declares none (exec) and its tunnel
 *                  cannot pass a closed kill switch.
 *   start()        with that parsed struct. Returns 0 when it has begun (the tunnel
 *                  is STARTING) and later calls rv_tunnel_report_up() or
 *                  rv_tunnel_report_down(); a negative errno with *error set if it
 *                  could not begin at all.
 *   stop()         always ends with exactly one rv_tunnel_report_down(), possibly
 *                  before it returns. A backend never reports for a tunnel it is not
 *                  running.
 *   free_config()  when the configuration is dropped.
 *
 * The parsed struct belongs to t->config, which a reload may replace while the
 * tunnel runs: a backend that reads it after start() returned keeps the whole
 * configuration alive with rv_tunnel_config_ref(t->config) until it reports down.
 *
 * Plugins. A plugin is a shared object NAME.so in PLUGINDIR ($libdir/roamvpn/plugins;
 * $ROAMVPN_PLUGIN_DIR overrides it), loaded at start and on reload (a new or changed
 * file only; a loaded plugin stays resident). It exports
 *
 *     G_MODULE_EXPORT void roamvpn_plugin_init(void);
 *
 * which calls rv_backend_register() with a static struct rv_backend. It links
 * nothing of the daemon: rv_* symbols resolve from roamvpnd (exported dynamic). A
 * plugin that fails to load (missing symbol, no init, wrong ABI) is logged and
 * listed by --check; the other backends keep working. ABI: RV_BACKEND_ABI must
 * match, so a plugin built against another daemon is refused rather than crashing.
 * daemon/backend-program.h has what plugins share (running the program with its
 * secrets on stdin, named failures, the roamvpn-hook report, the auth-failure
 * hold, key-table parsers); plugins/vpnc.c is the model.
 */
#pragma once

#include <glib.h>

#include "link.h"
#include "tunnel.h"

/* Bump when struct rv_backend or a function plugins call changes. */
#define RV_BACKEND_ABI 2

/* A server a tunnel talks to (servers()). */
enum rv_server_proto { RV_SERVER_UDP, RV_SERVER_TCP, RV_SERVER_ESP, RV_SERVER_GRE };
struct rv_server {
	char *host;		/* a name or an address, as configured */
	enum rv_server_proto proto;
	guint16 port;		/* 0 for ESP and GRE */
};

struct rv_backend {
	const char *name;
	int abi;		/* RV_BACKEND_ABI */
	/* Required for a backend with sections of its own; NULL means the backend has no
	 * configuration beyond [Tunnel] (start() then gets NULL). cfg's [Tunnel] fields
	 * (dns, domains, interface, routes) are filled; parse() may fill dns/domains when
	 * its own format carries them and [Tunnel] did not (wg-quick DNS=). */
	void *(*parse)(struct rv_tunnel_config *cfg, GPtrArray *errors);
	void (*free_config)(void *config);
	/* Required with parse(). Without parse(), the raw sections are compared. */
	bool (*config_equal)(const void *a, const void *b);
	/* The device name, or NULL if not known before start (then [Tunnel] Interface=,
	 * if set, is used). May be NULL. */
	const char *(*device)(const struct rv_tunnel_config *cfg);
	int (*start)(struct rv_tunnel *tunnel, const void *config,
		     const struct rv_link *trigger, GError **error);
	void (*stop)(struct rv_tunnel *tunnel);
	/* Programs start() runs (NULL-terminated, may be NULL): --check says which one
	 * is not installed. */
	const char *const *programs;
	/* Appends the servers the tunnel talks to (rv_server_add) from config, parse()'s
	 * result. net is what the backend reported when the tunnel came up (a name it
	 * resolved itself), or NULL. Called on the main loop, often: no I/O. May be NULL. */
	void (*servers)(const void *config, const struct rv_tunnel_net *net, GPtrArray *out);
};

/* backend.c: the registry. */
void rv_backend_register(const struct rv_backend *backend);
const struct rv_backend *rv_backend_lookup(const char *name);
/* Registered names, compiled-in first then plugins in load order (a NULL-terminated
 * array the caller frees with g_free, the strings are the registry's). */
const char **rv_backend_names(void);
/* Whether NAME is a plugin this build ships (plugins/meson.build), loaded or not:
 * "is its plugin installed?" rather than "unknown backend". */
bool rv_backend_is_shipped_plugin(const char *name);
/* Load every new or changed plugin in dir (NULL: $ROAMVPN_PLUGIN_DIR if set, else
 * PLUGINDIR). Failures are appended to errors as "PATH: message" if errors is
 * non-NULL, else logged; returns how many failed. */
int rv_backend_load_plugins(const char *dir, GPtrArray *errors);
/* The device a tunnel brings up, if known before start: the backend's device(),
 * else [Tunnel] Interface=, else NULL. */
const char *rv_backend_device(const struct rv_tunnel_config *cfg);
/* The servers a tunnel talks to (struct rv_server *, freed with the array): its
 * backend's servers(), or none. net: the tunnel's reported net while up, or NULL. */
GPtrArray *rv_backend_servers(const struct rv_tunnel_config *cfg, const struct rv_tunnel_net *net);
/* For servers(): append one server (nothing for an empty host); and IKE (UDP 500),
 * NAT-T (UDP 4500), with cisco Cisco's UDP 10000, and ESP to host. */
void rv_server_add(GPtrArray *out, const char *host, enum rv_server_proto proto, guint16 port);
void rv_server_add_ipsec(GPtrArray *out, const char *host, bool cisco);
/* For a backend that keeps servers it gathered at parse: an empty list, a copy of
 * each of from's appended to out, and whether two lists (either may be NULL) hold
 * the same servers in the same order. */
GPtrArray *rv_servers_new(void);
void rv_servers_copy(GPtrArray *out, const GPtrArray *from);
bool rv_servers_equal(const GPtrArray *a, const GPtrArray *b);

/* The compiled-in backends (backend-exec.c, backend-builtin.c). */
extern const struct rv_backend rv_backend_exec;
extern const struct rv_backend rv_backend_builtin;

/* Reports, called by backends (implemented by the supervisor). */
void rv_tunnel_report_up(struct rv_tunnel *tunnel, struct rv_tunnel_net *net);
void rv_tunnel_report_down(struct rv_tunnel *tunnel, const char *error);
/* Down because the credentials were refused: no retry until the tunnel's file
 * changes or `roamvpnctl up` (a wrong password retried locks accounts). */
void rv_tunnel_report_auth_failed(struct rv_tunnel *tunnel, const char *error);
void rv_tunnel_report_stats(struct rv_tunnel *tunnel, guint64 rx_bytes,
			    guint64 tx_bytes, gint64 last_handshake);

/* Environment for a child that a backend starts for a tunnel: only what it needs,
 * plus ROAMVPN_TUNNEL, ROAMVPN_LINK, ROAMVPN_LINK_TYPE, ROAMVPN_SSID (escaped),
 * ROAMVPN_BSSID of the triggering link. */
char **rv_backend_child_env(const struct rv_tunnel *tunnel, const struct rv_link *trigger);

/* tunnel.h - tunnel configuration (from /etc/roamvpn/tunnels/NAME.conf) and the
 * runtime object the supervisor keeps for each configured tunnel.
 *
 * tunnel-config.c parses files; supervisor.c owns struct rv_tunnel.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "ini.h"

struct rv_backend;

/* A loaded tunnel file: [Tunnel] (tunnel-config.c) plus what its backend parsed. */
struct rv_tunnel_config {
	char *name;		/* file name without .conf */
	char *path;
	char *backend;		/* the backend's name: "builtin", "exec", a plugin's */
	bool wg_quick;		/* a plain wg-quick file (builtin backend) */
	char **dns;		/* [Tunnel] DNS= or wg-quick DNS= addresses; may be NULL */
	char **domains;		/* [Tunnel] Domains= or wg-quick DNS= names; may be NULL */
	char *interface;	/* [Tunnel] Interface=, the device the backend brings up; may be NULL */
	char **routes;		/* [Tunnel] Routes= prefixes routed into the tunnel; may be NULL */
	struct rv_ini *ini;	/* the whole file, as read */
	const struct rv_backend *ops;	/* the backend that parsed it (NULL: not parsed) */
	void *parsed;		/* ops->parse()'s result, freed with ops->free_config */
	int extra_refs;		/* rv_tunnel_config_ref() */
};

/* Load one tunnel file (name from the file name); errors get "FILE:LINE: msg".
 * Reads [Tunnel] (or recognises a plain wg-quick file) and hands the file to the
 * backend's parse() (rv_backend_lookup). */
struct rv_tunnel_config *rv_tunnel_config_load(const char *path, GPtrArray *errors);
/* Drops a reference: the last one frees. */
void rv_tunnel_config_free(struct rv_tunnel_config *cfg);
struct rv_tunnel_config *rv_tunnel_config_ref(struct rv_tunnel_config *cfg);
/* Same settings ([Tunnel] keys and the backend's parsed configuration; comments, blank
 * lines and line numbers aside)? */
bool rv_tunnel_config_equal(const struct rv_tunnel_config *a, const struct rv_tunnel_config *b);
typedef struct rv_tunnel_config rv_tunnel_config;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_tunnel_config, rv_tunnel_config_free)
/* All DIR/NAME.conf files in lexical order: name -> struct rv_tunnel_config *. Returns NULL
 * if any file had an error (all errors are collected). */
GHashTable *rv_tunnel_configs_load_dir(const char *dir, GPtrArray *errors);
/* Names of all DIR/NAME.conf files, valid or not (a set: name -> name), so that rules
 * can still be checked for unknown tunnels when a tunnel file has errors. */
GHashTable *rv_tunnel_config_names(const char *dir);

/* Does a key name a secret ("*password*", "*secret*", PrivateKey, PresharedKey)? */
bool rv_key_is_secret(const char *key);

enum rv_tunnel_state {
	RV_TUNNEL_DOWN,		/* not running, not wanted or paused */
	RV_TUNNEL_STARTING,	/* backend started, not up yet */
	RV_TUNNEL_UP,
	RV_TUNNEL_STOPPING,
	RV_TUNNEL_FAILED,	/* wanted but failed; retry after backoff */
};
const char *rv_tunnel_state_name(enum rv_tunnel_state state);

/* What a backend reports when its tunnel is up: the daemon applies addresses (if
 * the backend did not), routes and DNS from this. */
struct rv_tunnel_net {
	char *ifname;
	GPtrArray *addresses;	/* char *, "10.0.0.2/32"; already on the device if assigned_by_backend */
	bool addresses_assigned;	/* backend (vpnc-script, pppd) already configured the device */
	GPtrArray *routes;	/* char *, "0.0.0.0/0" means full tunnel */
	char **dns;
	char **domains;
	int mtu;		/* 0: leave */
	char *endpoint;		/* peer's outer address, kept off the tunnel for a full tunnel */
	guint32 fwmark;		/* mark on the backend's own encrypted packets (0: none) */
	char *banner;		/* the server's login banner (vpnc's CISCO_BANNER), escaped; may be NULL */
};
struct rv_tunnel_net *rv_tunnel_net_new(void);
void rv_tunnel_net_free(struct rv_tunnel_net *net);
typedef struct rv_tunnel_net rv_tunnel_net;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(rv_tunnel_net, rv_tunnel_net_free)

struct rv_tunnel {
	char *name;
	struct rv_tunnel_config *config;	/* owned; replaced on reload */
	const struct rv_backend *backend;
	void *backend_data;		/* the backend's, between start and report_down */

	enum rv_tunnel_state state;
	bool desired;			/* what policy (or a manual up/down) wants */
	gint64 since;			/* g_get_real_time() of the last state change */
	char *last_error;
	char *triggered_by;		/* link name, "manual", or NULL */
	struct rv_tunnel_net *net;	/* while up */

	/* Statistics a backend may fill (builtin engine). */
	guint64 rx_bytes;
	guint64 tx_bytes;
	gint64 last_handshake;		/* realtime usec, 0: never */

	/* Supervisor bookkeeping. */
	guint failures;
	bool auth_hold;			/* authentication failed: no retry until the file
					 * changes or a manual up (rv_tunnel_report_auth_failed) */
	guint retry_source;
	gint64 up_since_mono;
	bool dns_applied;
	bool routes_applied;
};

/* manager.h - what the outside world (D-Bus, signals, hooks) can ask of the daemon.
 *
 * manager.c ties configuration, policy and supervisor together and is the only
 * place that mutates them on request.
 */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>
#include <stdbool.h>

#include "tunnel.h"

struct rv_decision;

struct rv_daemon_options {
	char *config_dir;
	char *state_dir;
	char *resolv_conf;
	char *bus;		/* "system", "session" or "unix:..." */
	bool foreground;
	bool debug;
	bool check;
};

/* bus: the connection the daemon serves on (systemd-resolved is reached there too);
 * may be NULL in tests. */
int rv_manager_init(const struct rv_daemon_options *opts, DBusConnection *bus,
		    GError **error);
/* --check: load and validate every configuration file; errors get "FILE:LINE: msg".
 * Returns 0 when all is well. */
int rv_manager_check(const struct rv_daemon_options *opts, GPtrArray *errors);
/* Stop every tunnel, restore DNS, remove routes. Calls done() when all backends
 * reported down (or after a bounded wait). */
void rv_manager_shutdown(void (*done)(void *), void *user_data);
void rv_manager_exit(void);
/* The system bus connection changed (the bus restarted); NULL while it is away. */
void rv_manager_set_bus(DBusConnection *bus);

/* Manual control. Connect/Disconnect hold until the next network change.
 * Disconnect("all") disconnects every tunnel. */
int rv_manager_connect(const char *tunnel, GError **error);
int rv_manager_disconnect(const char *tunnel, GError **error);
/* Re-read configuration; on any error keep the running policy and return -EINVAL
 * with every "FILE:LINE: msg" in the error message. */
int rv_manager_reload(GError **error);
void rv_manager_pause(void);
void rv_manager_resume(void);
bool rv_manager_is_paused(void);
/* "postup"/"predown" from netifrc or other network managers. */
int rv_manager_hook(const char *event, const char *ifname, GError **error);

/* What the policy last decided for a link (policy.h), or NULL before its first
 * decision (a new link while the network settles). Kept here, not in the link:
 * D-Bus and explain read it from this one place. */
const struct rv_decision *rv_manager_link_decision(int ifindex);
/* Human-readable explanation for one link (NULL: all links), one line per rule,
 * from the kept decisions. */
char *rv_manager_explain(const char *ifname, GError **error);
/* Structured: for ifname, GPtrArray of struct rv_verdict (see policy.h); unref it. */
GPtrArray *rv_manager_explain_link(const char *ifname, GError **error);

const char *rv_manager_state(void);	/* "running", "paused", "stopping" */
const char *rv_manager_dns_method(void);
/* roamvpn.conf AdminGroup= (may call mutating methods besides root). */
const char *rv_manager_admin_group(void);

/* Kill switch of a link (killswitch.h): state "", "closed", "tunnel", "login-window";
 * *reason (if asked, caller frees) says which rule. */
const char *rv_manager_link_kill_switch(const char *ifname, char **reason);
/* Captive portal check of a link (portal.h): "", "waiting", "probing", "portal",
 * "online", "no-answer", "login-window"; *location is the login page ("" unknown). */
const char *rv_manager_link_portal(const char *ifname, const char **location);
/* Open the portal login window on ifname ("" or NULL: the one link behind a portal);
 * returns its length in seconds or -errno. */
int rv_manager_open_portal(const char *ifname, GError **error);

/* Tunnels in name order (array owned by caller, tunnels not). */
GPtrArray *rv_manager_tunnels(void);
struct rv_tunnel *rv_manager_lookup_tunnel(const char *name);

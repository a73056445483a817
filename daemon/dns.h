/* dns.h - name resolution for tunnels: one interface, three implementations.
 *
 *   resolved    systemd-resolved over D-Bus: SetLinkDNS/SetLinkDomains on the tunnel
 *               device, "~." routing domain for a full tunnel; RevertLink on stop.
 *   resolvconf  openresolv / Debian resolvconf: -a IFACE.roamvpn on stdin, -d to remove,
 *               exclusive (-x) where supported.
 *   file        swap resolv.conf ourselves: keep the original in the state dir, write
 *               ours atomically, restore it byte for byte; recover after a crash; if
 *               someone else rewrites the file while a tunnel is up, keep theirs as the
 *               new original and put ours back.
 *
 * "auto" picks resolved if org.freedesktop.resolve1 is on the system bus, resolvconf
 * if a resolvconf program is installed and resolv.conf is its product, else file.
 * Several tunnels may be up at once: each is a separate "key" (the tunnel name).
 */
#pragma once

#include <dbus/dbus.h>
#include <glib.h>
#include <stdbool.h>

struct rv_dns;

struct rv_dns_paths {
	const char *resolv_conf;	/* --resolv-conf, default /etc/resolv.conf */
	const char *state_dir;		/* --state-dir, default /run/roamvpn */
	const char *resolvconf_program;	/* NULL: search PATH for "resolvconf" */
};

struct rv_dns_request {
	const char *key;		/* tunnel name */
	const char *ifname;		/* tunnel device, may be NULL for exec tunnels */
	int ifindex;			/* 0 if none */
	char **servers;			/* IPv4/IPv6 literals */
	char **domains;			/* search domains */
	bool default_route;		/* full tunnel: all queries go to these servers */
};

/* method: "auto", "file", "resolvconf", "resolved". system_bus may be NULL (then
 * resolved is never chosen). Runs crash recovery for the chosen method. */
struct rv_dns *rv_dns_new(const char *method, const struct rv_dns_paths *paths,
			  DBusConnection *system_bus, GError **error);
void rv_dns_free(struct rv_dns *dns);
/* The system bus connection changed (the bus restarted: the old one is dead; NULL
 * while there is none). Only the resolved method uses it. */
void rv_dns_set_bus(struct rv_dns *dns, DBusConnection *system_bus);
/* Whether calls are still waiting for their answer (resolved's are asynchronous:
 * rv_dns_apply returns once they are sent). For tests and orderly shutdowns. */
bool rv_dns_busy(const struct rv_dns *dns);
const char *rv_dns_method(const struct rv_dns *dns);
int rv_dns_apply(struct rv_dns *dns, const struct rv_dns_request *req, GError **error);
int rv_dns_revert(struct rv_dns *dns, const char *key, GError **error);
/* Revert everything (shutdown). */
void rv_dns_revert_all(struct rv_dns *dns);

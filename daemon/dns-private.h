/* dns-private.h - what dns.c shares with its three methods (dns-file.c,
 * dns-resolvconf.c, dns-resolved.c): the ops vtable in the manner of iwd's
 * resolve_ops, and the resolv.conf text both file and resolvconf produce.
 * Not for use outside the DNS subsystem.
 */
#pragma once

#include "dns.h"

struct rv_dns_ops {
	const char *name;
	/* Allocate the method's state and undo what a previous run left behind. */
	void *(*create)(const struct rv_dns_paths *paths, DBusConnection *system_bus,
			GError **error);
	void (*destroy)(void *priv);
	/* req has been validated: servers are IP literals, domains plain names. */
	int (*apply)(void *priv, const struct rv_dns_request *req, GError **error);
	int (*revert)(void *priv, const char *key, GError **error);
	/* A new system bus connection (or NULL); may be NULL for methods without one. */
	void (*set_bus)(void *priv, DBusConnection *system_bus);
	/* Calls still waiting for their answer (asynchronous methods); may be NULL. */
	bool (*busy)(void *priv);
};

extern const struct rv_dns_ops rv_dns_file_ops;
extern const struct rv_dns_ops rv_dns_resolvconf_ops;
extern const struct rv_dns_ops rv_dns_resolved_ops;

/* libc reads at most this many nameserver lines (MAXNS). */
#define RV_DNS_MAX_SERVERS 3

/* resolv.conf lines for servers and search domains, after an optional comment
 * header (which must end in a newline). */
char *rv_dns_format_resolv_conf(const char *header, char *const *servers,
				char *const *domains, char *const *extra_lines);

/* True if resolv_conf looks written by resolvconf (openresolv or Debian's):
 * a symlink into its run directory or its signature in the first lines. */
bool rv_dns_resolv_conf_from_resolvconf(const char *resolv_conf);

/* Write data to path atomically: temp file in the same directory, fchmod/fchown,
 * fsync, rename, fsync of the directory. Never follows a symlink at path: the
 * link itself is replaced. uid/gid -1: leave as created. */
int rv_dns_write_atomic(const char *path, const void *data, gsize len, mode_t mode,
			uid_t uid, gid_t gid, GError **error);

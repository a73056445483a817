/* backend-builtin.h - the builtin backend's configuration: a wg-quick file's
 * [Interface] and [Peer] sections, parsed once (backend-builtin-config.c) into the
 * struct that start() runs the engine with (backend-builtin.c).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "tunnel.h"

#define RV_WG_DEFAULT_MTU 1420
/* Marks the engine's own encrypted packets so that a full tunnel's routing rule
 * ("not fwmark -> tunnel table", as wg-quick) lets them out. "RVN". */
#define RV_ENGINE_FWMARK 0x52564e

struct rv_wg_peer {
	char *public_key;	/* canonical base64 */
	char *preshared_key;	/* canonical base64, or NULL */
	char *endpoint_host;	/* NULL: no Endpoint= */
	guint16 endpoint_port;
	int keepalive;		/* seconds, 0: off */
	GPtrArray *allowed_ips;	/* char *, "ADDRESS[/PREFIX]" */
};

struct rv_wg_config {
	char *ifname;		/* [Tunnel] Interface=, else the tunnel's name */
	char *private_key;	/* canonical base64 */
	GPtrArray *addresses;	/* char * */
	int mtu;
	int listen_port;	/* 0: random */
	guint32 fwmark;		/* FwMark=, RV_ENGINE_FWMARK by default, 0 for off */
	bool table_off;		/* Table=off: no routes */
	GPtrArray *peers;	/* struct rv_wg_peer * */
};

/* The builtin backend's parse(): for a plain wg-quick file (cfg->wg_quick) and for a
 * [Tunnel] Backend=builtin file. Fills cfg->dns/domains from wg-quick DNS= unless
 * [Tunnel] set them. NULL on any error, each appended as "FILE:LINE: message". */
struct rv_wg_config *rv_wg_config_parse(struct rv_tunnel_config *cfg, GPtrArray *errors);
void rv_wg_config_free(struct rv_wg_config *wg);
bool rv_wg_config_equal(const struct rv_wg_config *a, const struct rv_wg_config *b);

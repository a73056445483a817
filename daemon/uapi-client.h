/* uapi-client.h - the daemon's side of the WireGuard cross-platform userspace API
 * ("set=1" / "get=1" over a stream socket) to the roamvpn-engine it started.
 *
 * Typed, as wireguard-tools' ipc_set_device(struct wgdevice *): the builtin backend
 * hands over its parsed configuration and gets back counters, never UAPI text.
 * Requests are answered in order; one client per engine, on the main loop. Keys
 * cross the socket as the UAPI's hex and are wiped from our memory once sent.
 */
#pragma once

#include <glib.h>

#include "backend-builtin.h"

/* What "get=1" reports, summed over the peers. */
struct rv_uapi_stats {
	guint64 rx_bytes;
	guint64 tx_bytes;
	gint64 last_handshake;	/* realtime usec of the latest handshake of any peer, 0: none */
};

struct rv_uapi_client;

/* Callbacks must not free the client (free it from another source, e.g. the
 * engine's child watch). */
struct rv_uapi_callbacks {
	/* The answer to rv_uapi_set_device(): 0 or the errno the engine gave. */
	void (*set_done)(struct rv_uapi_client *client, int err, void *user_data);
	/* The answer to rv_uapi_get_stats() (stats NULL when err != 0). */
	void (*stats)(struct rv_uapi_client *client, int err, const struct rv_uapi_stats *stats,
		      void *user_data);
	/* The engine broke the protocol (oversized or unrequested answer) or closed the
	 * socket (why NULL: it is exiting). No callback follows. */
	void (*failed)(struct rv_uapi_client *client, const char *why, void *user_data);
};

/* Takes fd (a connected stream socket). */
struct rv_uapi_client *rv_uapi_client_new(int fd, const struct rv_uapi_callbacks *callbacks,
					  void *user_data);
void rv_uapi_client_free(struct rv_uapi_client *client);

/* Replace the device's configuration: private key, listen port and fwmark are the
 * daemon's (it bound the sockets), so only keys and peers: public and preshared
 * key, endpoint (endpoints[i], resolved, or NULL), keepalive, allowed IPs.
 * Returns 0, or a negative errno with error set if it could not be sent. */
int rv_uapi_set_device(struct rv_uapi_client *client, const struct rv_wg_config *wg,
		       char *const *endpoints, GError **error);
/* Ask for the counters; -EBUSY while an answer is outstanding (a slow engine must
 * not pile requests up). */
int rv_uapi_get_stats(struct rv_uapi_client *client);

/* The pieces, for tests and fuzzing. The request holds secrets: wipe it. */
GString *rv_uapi_set_request(const struct rv_wg_config *wg, char *const *endpoints,
			     GError **error);
/* Parses one answer (without its final empty line): returns its errno= value (0:
 * success; EPROTO without one) and fills stats from a get answer if non-NULL. */
int rv_uapi_parse_answer(const char *text, struct rv_uapi_stats *stats);

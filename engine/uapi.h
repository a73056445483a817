/* uapi.h - the WireGuard cross-platform userspace API (wireguard.com/xplatform):
 * request framing, the "set=1" parser (pure: text in, struct out, so it can be
 * unit-tested and fuzzed without a device), and the per-connection server. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udp.h"

/* Largest request accepted; a `wg setconf` with thousands of peers fits. */
#define RV_UAPI_MAX_REQUEST (8u * 1024 * 1024)

struct rv_buf {
	char *data;
	size_t len, cap;
};
void rv_buf_append(struct rv_buf *b, const void *data, size_t len);
void rv_buf_printf(struct rv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rv_buf_consume(struct rv_buf *b, size_t n);
void rv_buf_free(struct rv_buf *b);

struct rv_uapi_allowed_ip {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];	/* masked to cidr */
	uint8_t cidr;
	bool remove;		/* "allowed_ip=-PREFIX" (newer wg tools) */
};

struct rv_uapi_peer {
	uint8_t public_key[32];
	bool remove, update_only, replace_allowed_ips;
	bool has_preshared_key, has_endpoint, has_keepalive;
	uint8_t preshared_key[32];
	union rv_endpoint endpoint;
	uint16_t persistent_keepalive;
	struct rv_uapi_allowed_ip *allowed_ips;
	size_t n_allowed_ips, cap_allowed_ips;
};

struct rv_uapi_set {
	bool has_private_key, has_listen_port, has_fwmark, replace_peers;
	uint8_t private_key[32];
	uint16_t listen_port;
	uint32_t fwmark;
	struct rv_uapi_peer *peers;
	size_t n_peers, cap_peers;
};

/* Length of the first complete request in buf (through its empty line), or 0
 * while incomplete. */
size_t rv_uapi_request_length(const char *buf, size_t len);

/* Parses the body of a set request (the lines after "set=1", up to but not
 * including the empty line). 0 or a negative errno (-EINVAL, -EPROTO, -ENOMEM);
 * on error *out is cleared. */
int rv_uapi_parse_set(const char *body, size_t len, struct rv_uapi_set *out);
void rv_uapi_set_clear(struct rv_uapi_set *s);

/* What the server calls; the device implements them. */
struct rv_uapi_handler {
	void *data;
	void (*get)(void *data, struct rv_buf *out);	/* key=value lines */
	int (*set)(void *data, const struct rv_uapi_set *set);	/* 0 or -errno */
};

/* Handles one complete request (as framed by rv_uapi_request_length) and
 * appends the reply, always ending "errno=N\n\n". Returns false when the
 * connection should be closed after the reply (unknown operation). */
bool rv_uapi_handle_request(const struct rv_uapi_handler *h, const char *req, size_t len,
			    struct rv_buf *reply);

int rv_hex_to_key(const char *hex, size_t len, uint8_t key[32]);
void rv_key_to_hex(const uint8_t key[32], char hex[65]);

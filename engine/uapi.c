/* uapi.c - cross-platform UAPI framing and "set" parser (see uapi.h).
 * Every value is untrusted: numbers are range-checked, keys must be exactly
 * 64 hex digits, endpoints numeric; any error gives errno=EINVAL and nothing
 * of the request is applied (the parser runs to the end before the device
 * sees anything). */
#include "uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

void rv_buf_append(struct rv_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *n;

		while (cap < b->len + len + 1)
			cap *= 2;
		n = realloc(b->data, cap);
		if (!n)
			abort();
		b->data = n;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void rv_buf_printf(struct rv_buf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		rv_buf_append(b, small, (size_t)n);
		return;
	}
	{
		char *big = malloc((size_t)n + 1);

		if (!big)
			abort();
		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		rv_buf_append(b, big, (size_t)n);
		free(big);
	}
}

void rv_buf_consume(struct rv_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

void rv_buf_free(struct rv_buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->cap);
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int rv_hex_to_key(const char *hex, size_t len, uint8_t key[32])
{
	size_t bin_len = 0;
	const char *end = NULL;

	if (len != 64)
		return -EINVAL;
	if (sodium_hex2bin(key, 32, hex, len, NULL, &bin_len, &end) != 0 || bin_len != 32 ||
	    end != hex + len)
		return -EINVAL;
	return 0;
}

void rv_key_to_hex(const uint8_t key[32], char hex[65])
{
	sodium_bin2hex(hex, 65, key, 32);
}

size_t rv_uapi_request_length(const char *buf, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(buf + pos, '\n', len - pos);

		if (!nl)
			return 0;
		if ((size_t)(nl - buf) == pos)
			return pos + 1;
		pos = (size_t)(nl - buf) + 1;
	}
	return 0;
}

static int parse_uint(const char *v, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -EINVAL;
		if (n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if (n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

static bool is_true(const char *v, size_t len)
{
	return len == 4 && !memcmp(v, "true", 4);
}

static int parse_allowed_ip(const char *v, size_t len, struct rv_uapi_allowed_ip *out)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash;
	uint64_t cidr;
	size_t iplen, i;
	int max;

	memset(out, 0, sizeof(*out));
	if (len > 0 && v[0] == '-') {
		out->remove = true;
		v++;
		len--;
	}
	slash = memchr(v, '/', len);
	if (!slash)
		return -EINVAL;
	iplen = (size_t)(slash - v);
	if (iplen == 0 || iplen >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, v, iplen);
	ip[iplen] = '\0';
	if (memchr(ip, ':', iplen)) {
		if (inet_pton(AF_INET6, ip, out->addr) != 1)
			return -EINVAL;
		out->family = AF_INET6;
		max = 128;
	} else {
		if (inet_pton(AF_INET, ip, out->addr) != 1)
			return -EINVAL;
		out->family = AF_INET;
		max = 32;
	}
	if (parse_uint(slash + 1, len - iplen - 1, (uint64_t)max, &cidr) < 0)
		return -EINVAL;
	out->cidr = (uint8_t)cidr;
	/* host bits are dropped, as wg and the kernel do */
	for (i = 0; i < 16; i++) {
		int bits = (int)cidr - (int)i * 8;

		if (bits <= 0)
			out->addr[i] = 0;
		else if (bits < 8)
			out->addr[i] &= (uint8_t)(0xff00u >> bits);
	}
	return 0;
}

static void *grow(void *arr, size_t *cap, size_t n, size_t elem)
{
	void *p;

	if (n < *cap)
		return arr;
	*cap = *cap ? *cap * 2 : 4;
	p = realloc(arr, *cap * elem);
	if (!p)
		abort();
	return p;
}

void rv_uapi_set_clear(struct rv_uapi_set *s)
{
	size_t i;

	for (i = 0; i < s->n_peers; i++)
		free(s->peers[i].allowed_ips);
	if (s->peers)
		sodium_memzero(s->peers, s->cap_peers * sizeof(*s->peers));
	free(s->peers);
	sodium_memzero(s, sizeof(*s));
}

#define KEYIS(lit) (klen == sizeof(lit) - 1 && !memcmp(key, lit, klen))

int rv_uapi_parse_set(const char *body, size_t len, struct rv_uapi_set *out)
{
	struct rv_uapi_peer *peer = NULL;
	size_t pos = 0;
	int err = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len && !err) {
		const char *line = body + pos, *nl, *eq, *key, *val;
		size_t llen, klen, vlen;
		uint64_t n = 0;

		nl = memchr(line, '\n', len - pos);
		llen = nl ? (size_t)(nl - line) : len - pos;
		pos += llen + (nl ? 1 : 0);
		if (llen == 0)
			break;	/* end of request */
		eq = memchr(line, '=', llen);
		if (!eq || memchr(line, '\0', llen)) {
			err = -EINVAL;
			break;
		}
		key = line;
		klen = (size_t)(eq - line);
		val = eq + 1;
		vlen = llen - klen - 1;

		if (!peer) {
			if (KEYIS("private_key")) {
				err = rv_hex_to_key(val, vlen, out->private_key);
				out->has_private_key = !err;
				continue;
			} else if (KEYIS("listen_port")) {
				err = parse_uint(val, vlen, 65535, &n);
				out->listen_port = (uint16_t)n;
				out->has_listen_port = !err;
				continue;
			} else if (KEYIS("fwmark")) {
				/* wg sends an empty value? no: "fwmark=0" removes it */
				err = parse_uint(val, vlen, UINT32_MAX, &n);
				out->fwmark = (uint32_t)n;
				out->has_fwmark = !err;
				continue;
			} else if (KEYIS("replace_peers")) {
				if (!is_true(val, vlen))
					err = -EINVAL;
				out->replace_peers = true;
				continue;
			}
		}
		if (KEYIS("public_key")) {
			out->peers = grow(out->peers, &out->cap_peers, out->n_peers, sizeof(*out->peers));
			peer = &out->peers[out->n_peers++];
			memset(peer, 0, sizeof(*peer));
			err = rv_hex_to_key(val, vlen, peer->public_key);
		} else if (!peer) {
			err = -EINVAL;
		} else if (KEYIS("remove")) {
			if (!is_true(val, vlen))
				err = -EINVAL;
			peer->remove = true;
		} else if (KEYIS("update_only")) {
			if (!is_true(val, vlen))
				err = -EINVAL;
			peer->update_only = true;
		} else if (KEYIS("preshared_key")) {
			err = rv_hex_to_key(val, vlen, peer->preshared_key);
			peer->has_preshared_key = true;
		} else if (KEYIS("endpoint")) {
			char ep[128];

			if (vlen == 0 || vlen >= sizeof(ep)) {
				err = -EINVAL;
				continue;
			}
			memcpy(ep, val, vlen);
			ep[vlen] = '\0';
			err = rv_endpoint_parse(ep, &peer->endpoint);
			peer->has_endpoint = true;
		} else if (KEYIS("persistent_keepalive_interval")) {
			err = parse_uint(val, vlen, 65535, &n);
			peer->persistent_keepalive = (uint16_t)n;
			peer->has_keepalive = true;
		} else if (KEYIS("replace_allowed_ips")) {
			if (!is_true(val, vlen))
				err = -EINVAL;
			peer->replace_allowed_ips = true;
		} else if (KEYIS("allowed_ip")) {
			peer->allowed_ips = grow(peer->allowed_ips, &peer->cap_allowed_ips,
						 peer->n_allowed_ips, sizeof(*peer->allowed_ips));
			err = parse_allowed_ip(val, vlen, &peer->allowed_ips[peer->n_allowed_ips]);
			if (!err)
				peer->n_allowed_ips++;
		} else if (KEYIS("protocol_version")) {
			if (parse_uint(val, vlen, UINT32_MAX, &n) < 0)
				err = -EINVAL;
			else if (n != 1)
				err = -EPROTO;
		} else {
			err = -EINVAL;
		}
	}
	if (err)
		rv_uapi_set_clear(out);
	return err;
}

bool rv_uapi_handle_request(const struct rv_uapi_handler *h, const char *req, size_t len,
			    struct rv_buf *reply)
{
	const char *nl = memchr(req, '\n', len);
	size_t first = nl ? (size_t)(nl - req) : len;
	int err;

	if (first == 5 && !memcmp(req, "get=1", 5)) {
		/* "get=1\n\n": nothing may follow the operation line */
		if (len != 7) {
			rv_buf_printf(reply, "errno=%d\n\n", EINVAL);
			return true;
		}
		if (h && h->get)
			h->get(h->data, reply);
		rv_buf_printf(reply, "errno=0\n\n");
		return true;
	}
	if (first == 5 && !memcmp(req, "set=1", 5)) {
		struct rv_uapi_set set;

		err = rv_uapi_parse_set(req + 6, len > 6 ? len - 6 : 0, &set);
		if (!err) {
			err = h && h->set ? h->set(h->data, &set) : 0;
			rv_uapi_set_clear(&set);
		}
		rv_buf_printf(reply, "errno=%d\n\n", -err);
		return true;
	}
	rv_buf_printf(reply, "errno=%d\n\n", EINVAL);
	return false;
}

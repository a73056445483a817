/* control.c - UAPI get/set applied to the device: the device keys, port,
 * fwmark and the peers (create, update, remove, allowed IPs, keepalive),
 * and the `get` dump. Runs on the control thread under the write lock;
 * the request parser is uapi.c. The kernel's netlink.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "device-internal.h"

static bool key_is_zero(const uint8_t k[32])
{
	return sodium_is_zero(k, 32);
}

void rv_remove_peer(struct rv_device *dev, struct rv_peer *peer)
{
	wg_allowedips_remove_peer(&dev->allowedips, peer);
	rv_expire_sessions(dev, peer);
	rv_peers_unlink(dev, peer);
	PEER_LOG(peer, "Removed");
	rv_peer_free(peer);
}

struct get_ctx {
	struct rv_buf *out;
};

static void get_allowed_ip(void *user, int family, const uint8_t *addr, uint8_t cidr)
{
	struct get_ctx *g = user;
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(family, addr, ip, sizeof(ip));
	rv_buf_printf(g->out, "allowed_ip=%s/%u\n", ip, cidr);
}

void rv_device_uapi_get(void *data, struct rv_buf *out)
{
	struct rv_device *dev = data;
	struct get_ctx g = { .out = out };
	struct rv_peer *p;
	char hex[65];

	if (dev->identity.has_private_key) {
		rv_key_to_hex(dev->identity.private_key, hex);
		rv_buf_printf(out, "private_key=%s\n", hex);
	}
	if (dev->udp.fd4 >= 0 || dev->udp.fd6 >= 0)
		rv_buf_printf(out, "listen_port=%u\n", dev->udp.port);
	if (dev->udp.fwmark)
		rv_buf_printf(out, "fwmark=%u\n", dev->udp.fwmark);
	for (p = dev->peers; p; p = p->next_in_list) {
		union rv_endpoint ep;
		int64_t hs = atomic_load(&p->last_handshake_realtime_ns);

		rv_key_to_hex(p->public_key, hex);
		rv_buf_printf(out, "public_key=%s\n", hex);
		rv_key_to_hex(p->hs.preshared_key, hex);
		rv_buf_printf(out, "preshared_key=%s\n", hex);
		rv_buf_printf(out, "protocol_version=1\n");
		rv_peer_get_endpoint(p, &ep);
		if (ep.sa.sa_family) {
			char s[80];

			rv_endpoint_format(&ep, s, sizeof(s));
			rv_buf_printf(out, "endpoint=%s\n", s);
		}
		rv_buf_printf(out, "last_handshake_time_sec=%lld\nlast_handshake_time_nsec=%lld\n",
			      (long long)(hs / (int64_t)RV_NSEC_PER_SEC), (long long)(hs % (int64_t)RV_NSEC_PER_SEC));
		rv_buf_printf(out, "tx_bytes=%llu\nrx_bytes=%llu\n",
			      (unsigned long long)atomic_load(&p->tx_bytes),
			      (unsigned long long)atomic_load(&p->rx_bytes));
		rv_buf_printf(out, "persistent_keepalive_interval=%u\n", atomic_load(&p->persistent_keepalive));
		wg_allowedips_walk_peer(&dev->allowedips, p, get_allowed_ip, &g);
	}
	wg_crypto_wipe(hex, sizeof(hex));
}

/* Rebinds both sockets to port; the RX thread polls the same fd numbers, so
 * the new sockets are dup3()ed over the old ones and the thread woken. */
static int rebind(struct rv_device *dev, uint16_t port)
{
	struct rv_udp nu;
	int ret;

	rv_udp_init(&nu);
	ret = rv_udp_open(&nu, port, dev->udp.fwmark);
	if (ret < 0)
		return ret;
	if (dev->udp.fd4 >= 0 && nu.fd4 >= 0) {
		dup3(nu.fd4, dev->udp.fd4, O_CLOEXEC);
		close(nu.fd4);
	} else if (dev->udp.fd4 >= 0 || dev->udp.fd6 < 0) {
		if (dev->udp.fd4 >= 0)
			close(dev->udp.fd4);
		dev->udp.fd4 = nu.fd4;
	} else if (nu.fd4 >= 0) {
		close(nu.fd4);	/* the sandbox only knows the fd numbers we started with */
	}
	if (dev->udp.fd6 >= 0 && nu.fd6 >= 0) {
		dup3(nu.fd6, dev->udp.fd6, O_CLOEXEC);
		close(nu.fd6);
	} else if (dev->udp.fd6 >= 0 || dev->udp.fd4 < 0) {
		if (dev->udp.fd6 >= 0)
			close(dev->udp.fd6);
		dev->udp.fd6 = nu.fd6;
	} else if (nu.fd6 >= 0) {
		close(nu.fd6);
	}
	dev->udp.port = nu.port;
	/* the RX thread polls the old files until it re-reads the fds */
	rv_wake(dev->rx_wake_fd);
	return 0;
}

static int set_private_key(struct rv_device *dev, const uint8_t key[32])
{
	struct rv_peer *p, *next;
	int ret;

	if (key_is_zero(key)) {
		if (!dev->identity.has_private_key)
			return 0;
		wg_static_identity_clear(&dev->identity);
		wg_cookie_checker_set_identity(&dev->cookie_checker, NULL);
	} else {
		uint8_t clamped[32];

		memcpy(clamped, key, 32);
		wg_x25519_clamp(clamped);
		if (dev->identity.has_private_key && !memcmp(clamped, dev->identity.private_key, 32)) {
			wg_crypto_wipe(clamped, sizeof(clamped));
			return 0;
		}
		wg_crypto_wipe(clamped, sizeof(clamped));
		ret = wg_static_identity_set(&dev->identity, key);
		if (ret < 0)
			return ret;
		wg_cookie_checker_set_identity(&dev->cookie_checker, dev->identity.public_key);
	}
	for (p = dev->peers; p; p = next) {
		next = p->next_in_list;
		if (dev->identity.has_private_key && !memcmp(p->public_key, dev->identity.public_key, 32)) {
			rv_remove_peer(dev, p);	/* a peer cannot be ourselves */
			continue;
		}
		rv_expire_sessions(dev, p);
		wg_handshake_precompute(&p->hs, &dev->identity);
	}
	return 0;
}

static int apply_peer(struct rv_device *dev, const struct rv_uapi_peer *c, uint64_t now)
{
	struct rv_peer *peer = rv_find_peer(dev, c->public_key);
	bool created = false;
	size_t i;
	int ret;

	if (dev->identity.has_private_key && !memcmp(c->public_key, dev->identity.public_key, 32))
		return 0;	/* ourselves: ignored, as wireguard-go does */
	if (c->remove) {
		if (peer)
			rv_remove_peer(dev, peer);
		return 0;
	}
	if (!peer) {
		if (c->update_only)
			return 0;
		peer = rv_peer_new(dev, c->public_key);
		if (!peer)
			return -ENOMEM;
		wg_handshake_init(&peer->hs, &dev->identity, c->public_key, NULL);
		peer->new_handshake_jitter_ns = rv_jitter_ns();
		rv_peers_link(dev, peer);
		created = true;
		PEER_LOG(peer, "Created");
	}
	if (c->has_preshared_key)
		wg_handshake_set_preshared_key(&peer->hs, key_is_zero(c->preshared_key) ? NULL : c->preshared_key);
	if (c->has_endpoint)
		rv_peer_set_endpoint(peer, &c->endpoint);
	if (c->replace_allowed_ips)
		wg_allowedips_remove_peer(&dev->allowedips, peer);
	for (i = 0; i < c->n_allowed_ips; i++) {
		const struct rv_uapi_allowed_ip *a = &c->allowed_ips[i];

		if (a->remove)
			wg_allowedips_remove(&dev->allowedips, a->family, a->addr, a->cidr, peer);
		else if ((ret = wg_allowedips_insert(&dev->allowedips, a->family, a->addr, a->cidr, peer)) < 0)
			return ret;
	}
	if (c->has_keepalive) {
		uint16_t old = atomic_exchange(&peer->persistent_keepalive, c->persistent_keepalive);

		/* as wireguard-go: switching it on sends one right away */
		if (c->persistent_keepalive && (created || !old) && dev->identity.has_private_key)
			rv_send_keepalive(dev, peer, now);
	}
	return 0;
}

int rv_device_uapi_set(void *data, const struct rv_uapi_set *set)
{
	struct rv_device *dev = data;
	uint64_t now = rv_now_ns();
	size_t i;
	int ret;

	if (set->has_private_key && (ret = set_private_key(dev, set->private_key)) < 0)
		return ret;
	if (set->has_fwmark && set->fwmark != dev->udp.fwmark) {
		ret = rv_udp_set_fwmark(&dev->udp, set->fwmark);
		if (ret < 0)
			return ret;
	}
	if (set->has_listen_port &&
	    (set->listen_port != dev->udp.port || set->listen_port == 0 ||
	     (dev->udp.fd4 < 0 && dev->udp.fd6 < 0))) {
		if (set->listen_port == 0 && (dev->udp.fd4 >= 0 || dev->udp.fd6 >= 0)) {
			/* "any port" and we have one */
		} else if ((ret = rebind(dev, set->listen_port)) < 0) {
			return ret;
		}
	}
	if (set->replace_peers) {
		while (dev->peers)
			rv_remove_peer(dev, dev->peers);
	}
	for (i = 0; i < set->n_peers; i++) {
		ret = apply_peer(dev, &set->peers[i], now);
		if (ret < 0)
			return ret;
	}
	return 0;
}


/* tun.h - the engine's TUN device: creation by name (stand-alone mode) or
 * adoption of an fd the daemon prepared, MTU, and liveness. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define RV_TUN_DEFAULT_MTU 1420

/* Opens /dev/net/tun and attaches IFNAME (IFF_TUN|IFF_NO_PI, non-persistent).
 * Writes the kernel's final name into name_out (IFNAMSIZ bytes). Returns the
 * fd or a negative errno. */
int rv_tun_create(const char *ifname, char *name_out);

/* Reads the interface name behind an inherited TUN fd (TUNGETIFF). */
int rv_tun_name_from_fd(int fd, char *name_out);

/* Sets / reads the MTU of IFNAME; set needs CAP_NET_ADMIN. */
int rv_tun_set_mtu(const char *ifname, int mtu);
int rv_tun_get_mtu(const char *ifname);

/* One packet; -EAGAIN when none, -EBADFD/-EIO when the interface is gone. */
ssize_t rv_tun_read(int fd, void *buf, size_t len);
ssize_t rv_tun_write(int fd, const void *buf, size_t len);

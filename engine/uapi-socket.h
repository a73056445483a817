/* uapi-socket.h - the listening UAPI socket DIR/IFNAME.sock that wg(8) finds
 * (DIR is /var/run/wireguard): created by the stand-alone engine for itself,
 * and by roamvpnd for the engines it runs (passed with --uapi-listen-fd, so
 * `wg show` sees daemon-run tunnels too). One implementation for both. */
#pragma once

#include <stddef.h>

/* Creates DIR (0700) if missing and listens on DIR/IFNAME.sock, mode 0600
 * (umask 0177 around bind). A live socket of that name (another process
 * answers) is -EADDRINUSE; a stale one is replaced. Writes the path to
 * path (path_size bytes). Returns the non-blocking, close-on-exec listening
 * fd or -errno. */
int rv_uapi_socket_listen(const char *dir, const char *ifname, char *path, size_t path_size);

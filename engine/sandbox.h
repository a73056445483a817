/* sandbox.h - roamvpn-engine's privilege drop and seccomp filter.
 * Called once every fd the engine needs exists (TUN, UDP, UAPI). */
#pragma once

#include <stdbool.h>

enum rv_sandbox_mode {
	/* Daemon mode or --user: switch to the user, keep no capability. */
	RV_SANDBOX_USER,
	/* Stand-alone as root: stay uid 0 (so the socket in the root-owned
	 * /var/run/wireguard can be removed at exit) but keep only
	 * CAP_NET_ADMIN (fwmark) and CAP_NET_BIND_SERVICE (listen_port < 1024). */
	RV_SANDBOX_KEEP_NET_ADMIN,
};

/* What the filter lets through beyond the fixed allow-list. */
struct rv_sandbox_policy {
	/* The engine's UDP sockets (-1: absent): the only fds that may send
	 * datagrams to an address, and the only targets of a rebind's dup3(). */
	int udp_fd4, udp_fd6;
	/* `set listen_port` may open and bind a new UDP socket (stand-alone).
	 * false (daemon mode): no socket() and no bind() at all. */
	bool allow_rebind;
};

/* user: NULL means "nobody". Sets no_new_privs and installs the seccomp
 * filters unless policy is NULL (--test-no-seccomp, debugging only).
 * 0 or -errno. */
int rv_sandbox_enter(enum rv_sandbox_mode mode, const char *user, const struct rv_sandbox_policy *policy);
/* Only the seccomp filters (a never-root engine; tests). Applies to the
 * calling thread and the threads it creates afterwards. */
int rv_sandbox_install_seccomp(const struct rv_sandbox_policy *policy);

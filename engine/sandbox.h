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

/* user: NULL means "nobody". Sets no_new_privs and installs the seccomp
 * allow-list unless seccomp is false (debugging only). 0 or -errno. */
int rv_sandbox_enter(enum rv_sandbox_mode mode, const char *user, bool seccomp);
/* Only the seccomp filter (tests). */
int rv_sandbox_install_seccomp(void);

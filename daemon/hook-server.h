/* hook-server.h - where roamvpn-hook reports arrive.
 *
 * A unix socket in the state directory (mode 0600). A report is accepted only
 * when the connecting process (SO_PEERCRED, from the kernel) is a child the
 * daemon started or one of its descendants: vpnc runs its script, pppd its
 * ip-up, and those run roamvpn-hook. The report goes to that child's handler
 * (spawn.h). ConnMan's task.c never checked the sender (anchors.md §1.4); we do.
 *
 * Wire format, client to daemon, then the client shuts down its write side:
 *   "ROAMVPN-HOOK 1" NUL, then per argument "A" ARG NUL, per variable "E" NAME=VALUE NUL
 * Reply: "OK\n" or "ERROR message\n".
 */
#pragma once

#include <glib.h>

#define RV_HOOK_MAGIC "ROAMVPN-HOOK 1"
#define RV_HOOK_MAX_REPORT (64 * 1024)

int rv_hook_server_init(const char *state_dir, GError **error);
void rv_hook_server_exit(void);
/* The socket path (NULL before init), for children's environment. */
const char *rv_hook_server_path(void);

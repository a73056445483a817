/* hook-server.h - where roamvpn-hook reports arrive.
 *
 * A unix socket in the state directory (mode 0600). A report is accepted only
 * when the connecting process (SO_PEERCRED, from the kernel) is a child the
 * daemon started or one of its descendants: vpnc runs its script, pppd its
 * ip-up, and those run roamvpn-hook. The report goes to that child's handler
 * (spawn.h). (ConnMan's vpn task helper never checks the sender; we do.)
 *
 * The check is made at accept time through a pidfd of the connecting process
 * (SO_PEERPIDFD; before Linux 6.5, pidfd_open at accept): a reporter that has
 * exited is refused, so its pid, reused by a process under one of our children
 * between connect() and accept(), cannot pass the ancestry walk.
 *
 * The wire format is in protocol.h, shared with roamvpn-hook.
 */
#pragma once

#include <glib.h>

#include "protocol.h"

int rv_hook_server_init(const char *state_dir, GError **error);
void rv_hook_server_exit(void);
/* The socket path (NULL before init), for children's environment. */
const char *rv_hook_server_path(void);

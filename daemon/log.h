/* log.h - logging for roamvpnd: GLib structured logging to one of three places.
 *
 *   the journal  when stderr is connected to it (run by systemd): structured fields,
 *                priority and the "roamvpn" domain, no timestamp of our own
 *   syslog       after daemonizing (stderr is gone): facility daemon, ident roamvpnd
 *   stderr       otherwise (--foreground, tests): "HH:MM:SS.mmm roamvpnd[PID]: level: text"
 *
 * Everything logs through g_debug/g_info/g_message/g_warning with the "roamvpn"
 * domain; this file only decides where it goes and whether debug is shown.
 * Never log a secret: log "<hidden>" instead.
 */
#pragma once

#include <glib.h>

void rv_log_init(gboolean debug);
gboolean rv_log_debug_enabled(void);
/* After daemonizing: stderr is gone, use syslog. */
void rv_log_use_syslog(void);

/* "tunnel NAME: ..." - every message about one tunnel starts the same way, so that
 * `grep 'tunnel corp:'` finds all of them. */
#define rv_tunnel_debug(name, fmt, ...) g_debug("tunnel %s: " fmt, (name), ##__VA_ARGS__)
#define rv_tunnel_info(name, fmt, ...) g_info("tunnel %s: " fmt, (name), ##__VA_ARGS__)
#define rv_tunnel_message(name, fmt, ...) g_message("tunnel %s: " fmt, (name), ##__VA_ARGS__)
#define rv_tunnel_warning(name, fmt, ...) g_warning("tunnel %s: " fmt, (name), ##__VA_ARGS__)

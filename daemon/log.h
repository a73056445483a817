/* log.h - logging for roamvpnd: GLib structured logging to stderr or the journal.
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

/* log.c - where roamvpnd's log goes (the journal, syslog or stderr; see log.h), and
 * whether debug messages are shown. */
#include "config.h"

#include <stdio.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static gboolean debug_enabled;
static gboolean to_syslog;
static gboolean to_journal;	/* stderr is the journal's stream: talk to it directly */

static const char *level_name(GLogLevelFlags level)
{
	switch (level & G_LOG_LEVEL_MASK) {
	case G_LOG_LEVEL_ERROR: return "error";
	case G_LOG_LEVEL_CRITICAL: return "critical";
	case G_LOG_LEVEL_WARNING: return "warning";
	case G_LOG_LEVEL_MESSAGE: return "notice";
	case G_LOG_LEVEL_INFO: return "info";
	default: return "debug";
	}
}

static GLogWriterOutput write_line(GLogLevelFlags level, const GLogField *fields,
				   gsize n_fields, gpointer user_data)
{
	const char *message = NULL;
	g_autoptr(GDateTime) now = NULL;
	g_autofree char *stamp = NULL;

	if ((level & G_LOG_LEVEL_DEBUG) && !debug_enabled)
		return G_LOG_WRITER_HANDLED;
	for (gsize i = 0; i < n_fields; i++)
		if (g_str_equal(fields[i].key, "MESSAGE"))
			message = fields[i].value;
	if (!message)
		return G_LOG_WRITER_UNHANDLED;

	if (to_journal && g_log_writer_journald(level, fields, n_fields, user_data) ==
			  G_LOG_WRITER_HANDLED)
		return G_LOG_WRITER_HANDLED;
	if (to_syslog) {
		int prio = LOG_DEBUG;

		switch (level & G_LOG_LEVEL_MASK) {
		case G_LOG_LEVEL_ERROR: prio = LOG_ERR; break;
		case G_LOG_LEVEL_CRITICAL: prio = LOG_CRIT; break;
		case G_LOG_LEVEL_WARNING: prio = LOG_WARNING; break;
		case G_LOG_LEVEL_MESSAGE: prio = LOG_NOTICE; break;
		case G_LOG_LEVEL_INFO: prio = LOG_INFO; break;
		default: break;
		}
		syslog(prio, "%s", message);
		return G_LOG_WRITER_HANDLED;
	}
	now = g_date_time_new_now_local();
	stamp = g_date_time_format(now, "%H:%M:%S.%f");
	stamp[12] = '\0';	/* milliseconds are enough */
	fprintf(stderr, "%s roamvpnd[%d]: %s: %s\n", stamp, (int)getpid(),
		level_name(level), message);
	fflush(stderr);
	return G_LOG_WRITER_HANDLED;
}

void rv_log_init(gboolean debug)
{
	debug_enabled = debug;
	/* systemd connects stderr to the journal (JOURNAL_STREAM); the journal then
	 * gets our fields and priorities instead of one text line. */
	to_journal = g_log_writer_is_journald(fileno(stderr));
	g_log_set_writer_func(write_line, NULL, NULL);
}

gboolean rv_log_debug_enabled(void)
{
	return debug_enabled;
}

void rv_log_use_syslog(void)
{
	openlog("roamvpnd", LOG_PID, LOG_DAEMON);
	to_syslog = TRUE;
}

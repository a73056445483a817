/* ctl-monitor.c - roamvpnctl monitor: the live event stream.
 *
 * Owns: the monitor command's signal loop (roamvpnd's Event signals and its name
 * appearing or going away, printed as they come, human or JSON, until Ctrl-C,
 * SIGTERM or the bus goes away).
 */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "ctl.h"
#include "json.h"

/* --- monitor ---------------------------------------------------------------------------- */

static GMainLoop *monitor_loop;

static void monitor_print(const char *kind, const char *object, const char *message)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	if (ctl.json) {
		GString *out = g_string_new("{\"Time\":");
		g_autofree char *iso = g_date_time_format_iso8601(now);

		rv_json_append_string(out, iso, -1);
		g_string_append(out, ",\"Kind\":");
		rv_json_append_string(out, kind, -1);
		g_string_append(out, ",\"Object\":");
		rv_json_append_string(out, object, -1);
		g_string_append(out, ",\"Message\":");
		rv_json_append_string(out, message, -1);
		g_string_append_c(out, '}');
		ctl_print_json(out);
		g_string_free(out, TRUE);
		return;
	}
	{
		g_autofree char *stamp = g_date_time_format(now, "%H:%M:%S");
		/* Strip control characters: a terminal must not be steered by the daemon's text. */
		g_autofree char *safe = g_strdup(message);

		for (char *p = safe; *p; p++) {
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
		}
		printf("%s %-15s %s %s\n", stamp, kind, object, safe);
		fflush(stdout);
	}
}

static DBusHandlerResult monitor_filter(DBusConnection *conn, DBusMessage *msg, void *data)
{
	const char *kind, *object, *message, *name, *old_owner, *new_owner;

	if (dbus_message_is_signal(msg, DBUS_INTERFACE_LOCAL, "Disconnected")) {
		monitor_print("bus-disconnected", "", "");
		g_main_loop_quit(monitor_loop);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(msg, RV_DBUS_MANAGER_IFACE, "Event") &&
	    dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &kind, DBUS_TYPE_STRING, &object,
				  DBUS_TYPE_STRING, &message, DBUS_TYPE_INVALID)) {
		monitor_print(kind, object, message);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	if (dbus_message_is_signal(msg, DBUS_INTERFACE_DBUS, "NameOwnerChanged") &&
	    dbus_message_get_args(msg, NULL, DBUS_TYPE_STRING, &name, DBUS_TYPE_STRING, &old_owner,
				  DBUS_TYPE_STRING, &new_owner, DBUS_TYPE_INVALID) &&
	    g_str_equal(name, RV_DBUS_NAME)) {
		monitor_print(*new_owner ? "daemon-started" : "daemon-stopped", RV_DBUS_PATH,
			      *new_owner ? new_owner : old_owner);
		return DBUS_HANDLER_RESULT_HANDLED;
	}
	return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
}

static gboolean monitor_quit(gpointer data)
{
	g_main_loop_quit(monitor_loop);
	return G_SOURCE_REMOVE;
}

int ctl_cmd_monitor(const struct cmd_line *line)
{
	DBusError err;

	dbus_error_init(&err);
	dbus_connection_add_filter(ctl.conn, monitor_filter, NULL, NULL);
	dbus_bus_add_match(ctl.conn, "type='signal',sender='" RV_DBUS_NAME "',interface='"
			   RV_DBUS_MANAGER_IFACE "',member='Event'", &err);
	if (!dbus_error_is_set(&err))
		dbus_bus_add_match(ctl.conn, "type='signal',sender='" DBUS_SERVICE_DBUS "',"
				   "member='NameOwnerChanged',arg0='" RV_DBUS_NAME "'", &err);
	if (dbus_error_is_set(&err)) {
		int r = ctl_report_dbus_error(&err);

		dbus_error_free(&err);
		return r;
	}
	/* Not running is not an error for a monitor: it reports when it starts. */
	if (!dbus_bus_name_has_owner(ctl.conn, RV_DBUS_NAME, NULL))
		monitor_print("daemon-stopped", RV_DBUS_PATH, _("roamvpnd is not running"));

	monitor_loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, monitor_quit, NULL);
	g_unix_signal_add(SIGTERM, monitor_quit, NULL);
	g_main_loop_run(monitor_loop);
	g_main_loop_unref(monitor_loop);
	return EXIT_OK;
}

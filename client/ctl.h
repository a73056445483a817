/* ctl.h - private to roamvpnctl: what its files share.
 *
 * Owns nothing itself: the exit codes, the one client state (bus, output mode,
 * the connection), the parsed command line, and the functions each of the
 * client's files offers the others (ctl-bus.c: calls to roamvpnd; ctl-output.c:
 * properties, tables, colour and JSON; ctl-commands.c, ctl-wait.c and
 * ctl-monitor.c: the command handlers the table in roamvpnctl.c points to).
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "dbus-mainloop.h"
#include "dbus-service.h"

enum exit_code {
	EXIT_OK = 0,
	EXIT_FAILURE_ = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,	/* bus, but no roamvpnd on it */
	EXIT_NO_BUS = 4,	/* no bus to ask */
};

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"
#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"
#define DEFAULT_CALL_TIMEOUT_MS 30000

struct command;

struct ctl_state {
	const char *bus;
	bool json;
	bool color;			/* stdout is a terminal and NO_COLOR is unset */
	const struct command *cmd;	/* the command running, for error sentences */
	DBusConnection *conn;
};

extern struct ctl_state ctl;	/* defined in roamvpnctl.c */

/* A command line after parsing against the command table. */
struct cmd_line {
	const struct command *cmd;
	const char *args[2];
	int n_args;
	bool wait;
	double timeout_s;
};

/* roamvpnctl.c: the command table */
const char *ctl_command_denied_action(const struct command *cmd);

/* ctl-bus.c: talking to the daemon; each returns an exit code */
int ctl_report_dbus_error(const DBusError *err);
int ctl_connect_bus(void);
int ctl_call(const char *path, const char *iface, const char *method, GVariant *args,
	     GVariant **result);
int ctl_get_all(const char *path, const char *iface, GVariant **props);
int ctl_get_some(const char *path, const char *iface, const char *const *names,
		 GVariant **props);
int ctl_managed_objects(const char *iface, GPtrArray **objects);
int ctl_status_objects(GPtrArray **tunnels, GPtrArray **links, guint32 *n_links);

/* ctl-output.c: properties for printing, human and JSON output */
const char *ctl_prop_str(GVariant *props, const char *name);
bool ctl_prop_bool(GVariant *props, const char *name);
guint64 ctl_prop_u64(GVariant *props, const char *name);
char *ctl_prop_strv_joined(GVariant *props, const char *name);
char *ctl_prop_ssid(GVariant *props);
void ctl_json_objects(GString *out, GPtrArray *objects);
void ctl_print_json(GString *out);
void ctl_print_tunnel(GVariant *t);
void ctl_print_link(GVariant *l);
char *ctl_cell_text(const char *s);
char *ctl_block_text(const char *s);
void ctl_print_tunnel_table(GPtrArray *tunnels);
void ctl_print_link_table(GPtrArray *links);

/* ctl-commands.c: the commands that ask once and print */
int ctl_cmd_status(const struct cmd_line *line);
int ctl_cmd_tunnels(const struct cmd_line *line);
int ctl_cmd_links(const struct cmd_line *line);
int ctl_cmd_explain(const struct cmd_line *line);
int ctl_cmd_killswitch(const struct cmd_line *line);
int ctl_cmd_portal(const struct cmd_line *line);
int ctl_cmd_pause(const struct cmd_line *line);
int ctl_cmd_resume(const struct cmd_line *line);
int ctl_cmd_reload(const struct cmd_line *line);

/* ctl-wait.c: the commands that wait for tunnel states */
int ctl_cmd_up(const struct cmd_line *line);
int ctl_cmd_down(const struct cmd_line *line);
int ctl_cmd_hook(const struct cmd_line *line);

/* ctl-monitor.c */
int ctl_cmd_monitor(const struct cmd_line *line);

/* fake-resolve1.c - a stand-in for systemd-resolved's
 * org.freedesktop.resolve1.Manager on a private bus, for the DNS tests.
 *
 * Usage: fake-resolve1 BUS_ADDRESS LOG_FILE [--no-default-route] [--stall-until=FILE]
 *                      [--refuse=METHOD]
 * Owns org.freedesktop.resolve1 and appends one line per call to LOG_FILE:
 *   SetLinkDomains IFINDEX NAME:ROUTING ...
 *   SetLinkDefaultRoute IFINDEX 0|1
 *   SetLinkDNS IFINDEX FAMILY:ADDRESS ...
 *   RevertLink IFINDEX
 * --no-default-route answers SetLinkDefaultRoute with UnknownMethod, as an
 * older resolved does. --stall-until=FILE answers nothing until FILE exists (a
 * resolved that hangs; bounded at 60 s). --refuse=METHOD answers METHOD with
 * AccessDenied (logged as "REFUSED METHOD IFINDEX"). Exits when the bus goes away.
 */
#include <arpa/inet.h>
#include <dbus/dbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *log_path;
static int no_default_route;
static const char *stall_until;
static const char *refuse;

static void wait_for_release(void)
{
	for (int i = 0; stall_until && i < 6000 && access(stall_until, F_OK) != 0; i++)
		usleep(10 * 1000);
}

static void log_line(const char *line)
{
	FILE *f = fopen(log_path, "a");

	if (!f) {
		perror(log_path);
		exit(1);
	}
	fprintf(f, "%s\n", line);
	fclose(f);
}

static void append(char *buf, size_t size, const char *text)
{
	size_t used = strlen(buf);

	snprintf(buf + used, size - used, "%s", text);
}

/* Reads "i" then the method's argument; returns 0 if well-formed. */
static int describe(DBusMessage *msg, const char *member, char *buf, size_t size)
{
	DBusMessageIter iter, array, entry, bytes;
	dbus_int32_t ifindex;
	char tmp[128];

	if (!dbus_message_iter_init(msg, &iter) ||
	    dbus_message_iter_get_arg_type(&iter) != DBUS_TYPE_INT32)
		return -1;
	dbus_message_iter_get_basic(&iter, &ifindex);
	snprintf(buf, size, "%s %d", member, ifindex);
	if (strcmp(member, "RevertLink") == 0)
		return dbus_message_iter_next(&iter) ? -1 : 0;
	if (!dbus_message_iter_next(&iter))
		return -1;
	if (strcmp(member, "SetLinkDefaultRoute") == 0) {
		dbus_bool_t value;

		if (dbus_message_iter_get_arg_type(&iter) != DBUS_TYPE_BOOLEAN)
			return -1;
		dbus_message_iter_get_basic(&iter, &value);
		append(buf, size, value ? " 1" : " 0");
		return 0;
	}
	if (dbus_message_iter_get_arg_type(&iter) != DBUS_TYPE_ARRAY)
		return -1;
	dbus_message_iter_recurse(&iter, &array);
	while (dbus_message_iter_get_arg_type(&array) == DBUS_TYPE_STRUCT) {
		dbus_message_iter_recurse(&array, &entry);
		if (strcmp(member, "SetLinkDomains") == 0) {
			const char *name;
			dbus_bool_t routing;

			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_STRING)
				return -1;
			dbus_message_iter_get_basic(&entry, &name);
			dbus_message_iter_next(&entry);
			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_BOOLEAN)
				return -1;
			dbus_message_iter_get_basic(&entry, &routing);
			snprintf(tmp, sizeof(tmp), " %s:%d", name, routing ? 1 : 0);
		} else {
			dbus_int32_t family;
			const unsigned char *raw;
			int len;
			char text[INET6_ADDRSTRLEN];

			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_INT32)
				return -1;
			dbus_message_iter_get_basic(&entry, &family);
			dbus_message_iter_next(&entry);
			if (dbus_message_iter_get_arg_type(&entry) != DBUS_TYPE_ARRAY)
				return -1;
			dbus_message_iter_recurse(&entry, &bytes);
			dbus_message_iter_get_fixed_array(&bytes, &raw, &len);
			if ((family == AF_INET && len != 4) || (family == AF_INET6 && len != 16) ||
			    !inet_ntop(family, raw, text, sizeof(text)))
				return -1;
			snprintf(tmp, sizeof(tmp), " %d:%s", family, text);
		}
		append(buf, size, tmp);
		dbus_message_iter_next(&array);
	}
	return 0;
}

static DBusHandlerResult handle(DBusConnection *conn, DBusMessage *msg, void *data)
{
	static const char *const known[] = { "SetLinkDomains", "SetLinkDefaultRoute", "SetLinkDNS",
					     "RevertLink", NULL };
	const char *member = dbus_message_get_member(msg);
	DBusMessage *reply = NULL;
	char line[1024];
	int found = 0;

	if (dbus_message_get_type(msg) != DBUS_MESSAGE_TYPE_METHOD_CALL ||
	    !dbus_message_has_interface(msg, "org.freedesktop.resolve1.Manager"))
		return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
	for (int i = 0; known[i]; i++)
		found |= strcmp(member, known[i]) == 0;
	wait_for_release();
	if (refuse && strcmp(member, refuse) == 0) {
		dbus_int32_t index = 0;

		dbus_message_get_args(msg, NULL, DBUS_TYPE_INT32, &index, DBUS_TYPE_INVALID);
		snprintf(line, sizeof(line), "REFUSED %s %d", member, (int)index);
		log_line(line);
		reply = dbus_message_new_error(msg, DBUS_ERROR_ACCESS_DENIED, member);
	} else if (!found || (no_default_route && strcmp(member, "SetLinkDefaultRoute") == 0)) {
		reply = dbus_message_new_error(msg, DBUS_ERROR_UNKNOWN_METHOD, member);
	} else if (describe(msg, member, line, sizeof(line)) < 0) {
		reply = dbus_message_new_error(msg, DBUS_ERROR_INVALID_ARGS, member);
		log_line("INVALID");
	} else {
		log_line(line);
		reply = dbus_message_new_method_return(msg);
	}
	dbus_connection_send(conn, reply, NULL);
	dbus_message_unref(reply);
	return DBUS_HANDLER_RESULT_HANDLED;
}

int main(int argc, char **argv)
{
	static const DBusObjectPathVTable vtable = { .message_function = handle };
	DBusError err = DBUS_ERROR_INIT;
	DBusConnection *conn;

	if (argc < 3) {
		fprintf(stderr, "usage: %s BUS_ADDRESS LOG_FILE [--no-default-route]\n", argv[0]);
		return 2;
	}
	log_path = argv[2];
	for (int i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--no-default-route") == 0)
			no_default_route = 1;
		else if (strncmp(argv[i], "--stall-until=", 14) == 0)
			stall_until = argv[i] + 14;
		else if (strncmp(argv[i], "--refuse=", 9) == 0)
			refuse = argv[i] + 9;
	}
	conn = dbus_connection_open_private(argv[1], &err);
	if (!conn || !dbus_bus_register(conn, &err) ||
	    dbus_bus_request_name(conn, "org.freedesktop.resolve1", DBUS_NAME_FLAG_DO_NOT_QUEUE,
				  &err) != DBUS_REQUEST_NAME_REPLY_PRIMARY_OWNER) {
		fprintf(stderr, "fake-resolve1: %s\n", err.message ? err.message : "no name");
		return 1;
	}
	dbus_connection_register_object_path(conn, "/org/freedesktop/resolve1", &vtable, NULL);
	while (dbus_connection_read_write_dispatch(conn, -1))
		;
	return 0;
}

/* dbus-xml.c - writes data/net.roamvpn1.<Interface>.xml from the interface tables
 * at build time (not installed), so the installed XML is what the daemon serves.
 * Usage: dbus-xml INTERFACE OUTPUT */
#include "config.h"

#include <stdio.h>

#include "dbus-interfaces.h"

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	GString *xml;

	if (argc != 3) {
		fprintf(stderr, "usage: %s INTERFACE OUTPUT\n", argv[0]);
		return 2;
	}
	for (const struct rv_dbus_interface *const *i = rv_dbus_interfaces; *i; i++) {
		const char *short_name = strrchr((*i)->name, '.') + 1;

		if (!g_str_equal((*i)->name, argv[1]))
			continue;
		xml = g_string_new("<!DOCTYPE node PUBLIC \"-//freedesktop//DTD D-BUS Object Introspection 1.0//EN\"\n"
				   " \"http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd\">\n");
		g_string_append_printf(xml, "<!-- %s: see docs/%c%s-api.txt. Generated from the table in\n"
					    "     daemon/dbus-interfaces.c at build time: edit that, not this. -->\n"
					    "<node>\n", (*i)->name, g_ascii_tolower(*short_name), short_name + 1);
		rv_dbus_append_interface_xml(xml, *i);
		g_string_append(xml, "</node>\n");
		if (!g_file_set_contents(argv[2], xml->str, (gssize)xml->len, &error)) {
			fprintf(stderr, "%s: %s\n", argv[0], error->message);
			g_string_free(xml, TRUE);
			return 1;
		}
		g_string_free(xml, TRUE);
		return 0;
	}
	fprintf(stderr, "%s: no interface %s\n", argv[0], argv[1]);
	return 1;
}

/* dbus-table.h - a D-Bus interface declared once, as a table.
 *
 * Every member of an interface is one table entry: a method with its argument
 * names and types, the authorization it needs and its handler; a property with
 * its type and getter; a signal with its arguments. The dispatcher checks the
 * signature, the caller's authorization and runs the handler from the entry;
 * Introspect and the installed data/net.roamvpn1.*.xml are both generated from
 * the same entry (dbus-xml.c), so they cannot differ. Adding a property is one
 * line: { "Name", "s", getter }.
 *
 * Arguments are written "TYPE NAME, TYPE NAME", e.g. "s interface, a(sbs) verdicts".
 */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "dbus-auth.h"

struct rv_dbus_method {
	const char *name;
	const char *in;		/* "s tunnel" or "" */
	const char *out;	/* "s text, a(sbs) verdicts" or "" */
	/* Who may call it (dbus-auth.h). The zero value is RV_AUTH_ADMIN, so a new
	 * method that forgets to say is root/AdminGroup only, never open to all. */
	enum rv_dbus_auth auth;
	/* object: what the path names (NULL for the manager). args: the in tuple.
	 * Returns the out tuple (floating is fine), or NULL with error set. */
	GVariant *(*call)(const void *object, GVariant *args, GError **error);
};

struct rv_dbus_property {
	const char *name;
	const char *type;
	/* The value for object (floating is fine); never NULL. */
	GVariant *(*get)(const void *object);
	/* Optional: true when value (what was announced last) is certainly still
	 * get(object), answered without building it; false means "build and
	 * compare". For the properties looked at after every link change. */
	bool (*same)(const void *object, GVariant *value);
};

struct rv_dbus_signal {
	const char *name;
	const char *args;	/* "s kind, s object" */
};

/* Each array ends with an entry whose name is NULL; any of them may be NULL. */
struct rv_dbus_interface {
	const char *name;
	const struct rv_dbus_method *methods;
	const struct rv_dbus_property *properties;
	const struct rv_dbus_signal *signals;
};

/* The D-Bus signature of an argument list ("s tunnel, s interface" -> "ss"). */
char *rv_dbus_args_signature(const char *args);
/* Each argument's name whose type is "s", paired with the value in args (a tuple
 * of signature rv_dbus_args_signature(decl)): polkit details. */
GVariant *rv_dbus_string_args(const char *decl, GVariant *args);

const struct rv_dbus_method *rv_dbus_find_method(const struct rv_dbus_interface *iface,
						 const char *name);
const struct rv_dbus_property *rv_dbus_find_property(const struct rv_dbus_interface *iface,
						     const char *name);
/* a{sv} of every property of iface for object (a new, non-floating reference). */
GVariant *rv_dbus_properties(const struct rv_dbus_interface *iface, const void *object);

/* Append the <interface> element for iface to xml, indented by two spaces. */
void rv_dbus_append_interface_xml(GString *xml, const struct rv_dbus_interface *iface);

/* The standard interfaces, declared the same way (their calls are answered by
 * the service itself, so they have no handlers). */
extern const struct rv_dbus_interface rv_dbus_introspectable_iface;
extern const struct rv_dbus_interface rv_dbus_properties_iface;
extern const struct rv_dbus_interface rv_dbus_object_manager_iface;

/* dbus-table.c - argument lists, lookups, property dicts and introspection XML
 * from the interface tables (see dbus-table.h). */
#include "config.h"

#include <string.h>

#include "dbus-table.h"
#include "protocol.h"

/* "s tunnel, a(sbs) verdicts" -> { "s", "tunnel" }, { "a(sbs)", "verdicts" } */
static char **split_args(const char *args)
{
	if (!args || !*args)
		return g_new0(char *, 1);
	return g_strsplit(args, ", ", -1);
}

static void split_arg(const char *arg, const char **type_end, const char **name)
{
	const char *space = strchr(arg, ' ');

	/* The tables are ours: a missing name is a programming error. */
	g_assert(space);
	*type_end = space;
	*name = space + 1;
}

char *rv_dbus_args_signature(const char *args)
{
	g_auto(GStrv) list = split_args(args);
	GString *sig = g_string_new(NULL);

	for (char **a = list; *a; a++) {
		const char *end, *name;

		split_arg(*a, &end, &name);
		g_string_append_len(sig, *a, end - *a);
	}
	return g_string_free(sig, FALSE);
}

GVariant *rv_dbus_string_args(const char *decl, GVariant *args)
{
	g_auto(GStrv) list = split_args(decl);
	GVariantBuilder b;
	gsize i = 0;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{ss}"));
	for (char **a = list; *a; a++, i++) {
		const char *end, *name;
		g_autoptr(GVariant) value = NULL;

		split_arg(*a, &end, &name);
		if (end - *a != 1 || **a != 's' || i >= g_variant_n_children(args))
			continue;
		value = g_variant_get_child_value(args, i);
		g_variant_builder_add(&b, "{ss}", name, g_variant_get_string(value, NULL));
	}
	return g_variant_builder_end(&b);
}

const struct rv_dbus_method *rv_dbus_find_method(const struct rv_dbus_interface *iface,
						 const char *name)
{
	for (const struct rv_dbus_method *m = iface->methods; m && m->name; m++) {
		if (g_str_equal(m->name, name))
			return m;
	}
	return NULL;
}

const struct rv_dbus_property *rv_dbus_find_property(const struct rv_dbus_interface *iface,
						     const char *name)
{
	for (const struct rv_dbus_property *p = iface->properties; p && p->name; p++) {
		if (g_str_equal(p->name, name))
			return p;
	}
	return NULL;
}

GVariant *rv_dbus_properties(const struct rv_dbus_interface *iface, const void *object)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	for (const struct rv_dbus_property *p = iface->properties; p && p->name; p++) {
		GVariant *value = g_variant_ref_sink(p->get(object));

		/* A getter returning another type than declared would lie in Introspect. */
		g_warn_if_fail(g_variant_is_of_type(value, G_VARIANT_TYPE(p->type)));
		g_variant_builder_add(&b, "{sv}", p->name, value);
		g_variant_unref(value);
	}
	return g_variant_ref_sink(g_variant_builder_end(&b));
}

static void append_args_xml(GString *xml, const char *args, const char *direction)
{
	g_auto(GStrv) list = split_args(args);

	for (char **a = list; *a; a++) {
		const char *end, *name;

		split_arg(*a, &end, &name);
		g_string_append_printf(xml, "      <arg name=\"%s\" type=\"%.*s\"", name,
				       (int)(end - *a), *a);
		if (direction)
			g_string_append_printf(xml, " direction=\"%s\"", direction);
		g_string_append(xml, "/>\n");
	}
}

void rv_dbus_append_interface_xml(GString *xml, const struct rv_dbus_interface *iface)
{
	g_string_append_printf(xml, "  <interface name=\"%s\">\n", iface->name);
	for (const struct rv_dbus_method *m = iface->methods; m && m->name; m++) {
		if (!*m->in && !*m->out) {
			g_string_append_printf(xml, "    <method name=\"%s\"/>\n", m->name);
			continue;
		}
		g_string_append_printf(xml, "    <method name=\"%s\">\n", m->name);
		append_args_xml(xml, m->in, "in");
		append_args_xml(xml, m->out, "out");
		g_string_append(xml, "    </method>\n");
	}
	for (const struct rv_dbus_signal *s = iface->signals; s && s->name; s++) {
		g_string_append_printf(xml, "    <signal name=\"%s\">\n", s->name);
		append_args_xml(xml, s->args, NULL);
		g_string_append(xml, "    </signal>\n");
	}
	for (const struct rv_dbus_property *p = iface->properties; p && p->name; p++)
		g_string_append_printf(xml, "    <property name=\"%s\" type=\"%s\" access=\"read\"/>\n",
				       p->name, p->type);
	g_string_append(xml, "  </interface>\n");
}

/* --- the standard interfaces -------------------------------------------------------- */

const struct rv_dbus_interface rv_dbus_introspectable_iface = {
	.name = RV_DBUS_INTROSPECTABLE_IFACE,
	.methods = (const struct rv_dbus_method[]){
		{ "Introspect", "", "s xml", RV_AUTH_ANYONE, NULL },
		{ NULL },
	},
};

const struct rv_dbus_interface rv_dbus_properties_iface = {
	.name = RV_DBUS_PROPERTIES_IFACE,
	.methods = (const struct rv_dbus_method[]){
		{ "Get", "s interface, s name", "v value", RV_AUTH_ANYONE, NULL },
		{ "GetAll", "s interface", "a{sv} properties", RV_AUTH_ANYONE, NULL },
		{ "Set", "s interface, s name, v value", "", RV_AUTH_ANYONE, NULL },
		{ NULL },
	},
	.signals = (const struct rv_dbus_signal[]){
		{ "PropertiesChanged", "s interface, a{sv} changed, as invalidated" },
		{ NULL },
	},
};

const struct rv_dbus_interface rv_dbus_object_manager_iface = {
	.name = RV_DBUS_OBJECT_MANAGER_IFACE,
	.methods = (const struct rv_dbus_method[]){
		{ "GetManagedObjects", "", "a{oa{sa{sv}}} objects", RV_AUTH_ANYONE, NULL },
		{ NULL },
	},
	.signals = (const struct rv_dbus_signal[]){
		{ "InterfacesAdded", "o object, a{sa{sv}} interfaces" },
		{ "InterfacesRemoved", "o object, as interfaces" },
		{ NULL },
	},
};

/* ctl-output.c - roamvpnctl's output: what it prints, for people and for programs.
 *
 * Owns: reading properties for printing, JSON of object lists (json.c escapes),
 * the human detail views and the aligned tables with colour on a terminal only.
 * Everything the daemon says is untrusted text: SSIDs are printed escaped and
 * control characters never reach the terminal (ctl_cell_text, ctl_block_text).
 */
#include "config.h"

#include <glib/gi18n.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "json.h"
#include "ssid.h"

/* --- property access for printing -------------------------------------------------------- */

/* Each object's properties by name. A table of thousands of links reads a dozen
 * properties of each, and g_variant_lookup() walks the dictionary every time. */
static GHashTable *prop_index;	/* GVariant *props -> GHashTable (name -> GVariant *) */

static GVariant *prop_value(GVariant *props, const char *name, const GVariantType *type)
{
	GHashTable *byname;
	GVariant *v;

	if (!prop_index)
		prop_index = g_hash_table_new_full(NULL, NULL, (GDestroyNotify)g_variant_unref,
						   (GDestroyNotify)g_hash_table_unref);
	byname = g_hash_table_lookup(prop_index, props);
	if (!byname) {
		GVariantIter iter;
		const char *key;
		GVariant *value;

		byname = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					       (GDestroyNotify)g_variant_unref);
		g_variant_iter_init(&iter, props);
		while (g_variant_iter_next(&iter, "{&sv}", &key, &value))
			g_hash_table_insert(byname, (gpointer)key, value);
		g_hash_table_insert(prop_index, g_variant_ref(props), byname);
	}
	v = g_hash_table_lookup(byname, name);
	return v && g_variant_is_of_type(v, type) ? v : NULL;
}

const char *ctl_prop_str(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_STRING);

	return v ? g_variant_get_string(v, NULL) : "";
}

bool ctl_prop_bool(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_BOOLEAN);

	return v && g_variant_get_boolean(v);
}

guint64 ctl_prop_u64(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_UINT64);

	return v ? g_variant_get_uint64(v) : 0;
}

char *ctl_prop_strv_joined(GVariant *props, const char *name)
{
	GVariant *v = prop_value(props, name, G_VARIANT_TYPE_STRING_ARRAY);
	g_autofree const char **strv = v ? g_variant_get_strv(v, NULL) : NULL;

	return strv ? g_strjoinv(" ", (char **)strv) : g_strdup("");
}

char *ctl_prop_ssid(GVariant *props)
{
	GVariant *v = prop_value(props, "SSID", G_VARIANT_TYPE_BYTESTRING);
	gsize n = 0;
	const guint8 *bytes;

	if (!v)
		return NULL;
	bytes = g_variant_get_fixed_array(v, &n, 1);
	return n ? rv_ssid_escape(bytes, n) : NULL;
}

/* JSON for a list of objects; "_path" becomes "Path". */
void ctl_json_objects(GString *out, GPtrArray *objects)
{
	g_string_append_c(out, '[');
	for (guint i = 0; i < objects->len; i++) {
		GVariant *obj = objects->pdata[i];
		GVariantBuilder b;
		GVariantIter it;
		const char *name;
		GVariant *value;
		g_autoptr(GVariant) props = NULL;
		GString *extra = g_string_new("\"Path\":");

		rv_json_append_string(extra, ctl_prop_str(obj, "_path"), -1);
		/* prop_str reads "s"; _path is "o": fetch it explicitly. */
		{
			const char *path = NULL;

			g_string_truncate(extra, strlen("\"Path\":"));
			g_variant_lookup(obj, "_path", "&o", &path);
			rv_json_append_string(extra, path ? path : "", -1);
		}
		g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
		g_variant_iter_init(&it, obj);
		while (g_variant_iter_next(&it, "{&sv}", &name, &value)) {
			if (!g_str_equal(name, "_path"))
				g_variant_builder_add(&b, "{sv}", name, value);
			g_variant_unref(value);
		}
		props = g_variant_ref_sink(g_variant_builder_end(&b));
		if (i)
			g_string_append_c(out, ',');
		rv_json_append_properties(out, props, extra->str);
		g_string_free(extra, TRUE);
	}
	g_string_append_c(out, ']');
}

void ctl_print_json(GString *out)
{
	g_string_append_c(out, '\n');
	fputs(out->str, stdout);
	fflush(stdout);
}

/* --- human output ------------------------------------------------------------------- */

static char *format_time(guint64 usec)
{
	g_autoptr(GDateTime) t = NULL;

	if (!usec)
		return g_strdup("-");
	t = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
	return t ? g_date_time_format(t, "%Y-%m-%d %H:%M:%S") : g_strdup("-");
}

void ctl_print_tunnel(GVariant *t)
{
	g_autofree char *since = format_time(ctl_prop_u64(t, "Since"));
	g_autofree char *addresses = ctl_prop_strv_joined(t, "Addresses");
	g_autofree char *dns = ctl_prop_strv_joined(t, "DNS");
	const char *iface = ctl_prop_str(t, "Interface");
	const char *trigger = ctl_prop_str(t, "TriggeredBy");
	const char *last_error = ctl_prop_str(t, "LastError");

	printf("  %-16s %-9s %-8s %s\n", ctl_prop_str(t, "Name"), ctl_prop_str(t, "State"),
	       ctl_prop_str(t, "Backend"), *iface ? iface : "-");
	printf("    %s %s", _("since"), since);
	if (*trigger)
		printf(", %s %s", _("triggered by"), trigger);
	printf("\n");
	if (*addresses)
		printf("    %s %s\n", _("addresses"), addresses);
	if (*dns)
		printf("    %s %s\n", _("DNS"), dns);
	if (*last_error)
		printf("    %s %s\n", _("last error:"), last_error);
}

void ctl_print_link(GVariant *l)
{
	g_autofree char *ssid = ctl_prop_ssid(l);
	g_autofree char *addresses = ctl_prop_strv_joined(l, "Addresses");
	const char *wifi = ctl_prop_str(l, "WifiState");
	const char *rule = ctl_prop_str(l, "MatchedRule");
	const char *decision = ctl_prop_str(l, "Decision");
	const char *gateway = ctl_prop_str(l, "Gateway");

	printf("  %-16s %-8s %-8s %s\n", ctl_prop_str(l, "Name"), ctl_prop_str(l, "Type"),
	       ctl_prop_bool(l, "Active") ? _("active") : _("inactive"), ctl_prop_str(l, "OperState"));
	if (*wifi) {
		/* ssid is escaped (printable ASCII only, quotes as \x22): safe to quote. */
		printf("    %s %s", _("wifi"), wifi);
		if (ssid)
			printf(" SSID \"%s\"", ssid);
		if (*ctl_prop_str(l, "BSSID"))
			printf(" BSSID %s", ctl_prop_str(l, "BSSID"));
		printf("\n");
	}
	if (*addresses)
		printf("    %s %s\n", _("addresses"), addresses);
	if (*gateway)
		printf("    %s %s %s\n", _("gateway"), gateway, ctl_prop_str(l, "GatewayMAC"));
	if (*rule || *decision)
		printf("    %s %s (%s)\n", _("decision"), *decision ? decision : "-",
		       *rule ? rule : _("no rule"));
}

/* --- tables for people: aligned columns, colour only on a terminal ---------------------- */

/* Daemon text in a table cell: control characters would steer the terminal. */
char *ctl_cell_text(const char *s)
{
	char *safe = g_strdup(s && *s ? s : "-");

	for (char *p = safe; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return safe;
}

/* Daemon text of several lines (explain): the same, but line breaks stay. */
char *ctl_block_text(const char *s)
{
	char *safe = g_strdup(s);

	for (char *p = safe; *p; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\n') || *p == 0x7f)
			*p = '?';
	}
	return safe;
}

static const char *state_color(const char *state)
{
	static const struct { const char *state; const char *sgr; } colors[] = {
		{ "up", "32" }, { "active", "32" }, { "running", "32" },
		{ "starting", "33" }, { "stopping", "33" }, { "portal", "33" },
		{ "failed", "31" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(colors); i++) {
		if (g_str_equal(state, colors[i].state))
			return colors[i].sgr;
	}
	return NULL;
}

/* Rows of cells (GPtrArray of char*), the first row the header; color_col is the
 * column coloured by state_color (-1 for none). The last column is not padded. */
static void print_table(GPtrArray *rows, guint n_cols, int color_col)
{
	g_autofree gsize *width = g_new0(gsize, n_cols);

	for (guint r = 0; r < rows->len; r++) {
		GPtrArray *row = rows->pdata[r];

		for (guint c = 0; c < n_cols; c++)
			width[c] = MAX(width[c], (gsize)g_utf8_strlen(row->pdata[c], -1));
	}
	for (guint r = 0; r < rows->len; r++) {
		GPtrArray *row = rows->pdata[r];

		for (guint c = 0; c < n_cols; c++) {
			const char *text = row->pdata[c];
			const char *sgr = NULL;
			gsize pad = width[c] - g_utf8_strlen(text, -1);

			if (ctl.color && r == 0)
				sgr = "1";
			else if (ctl.color && (int)c == color_col)
				sgr = state_color(text);
			if (sgr)
				printf("\033[%sm%s\033[0m", sgr, text);
			else
				fputs(text, stdout);
			if (c + 1 < n_cols)
				printf("%*s", (int)(pad + 2), "");
		}
		putchar('\n');
	}
}

/* A row of n cells; a NULL or empty cell shows as "-". */
static GPtrArray *table_row(guint n, ...)
{
	GPtrArray *row = g_ptr_array_new_with_free_func(g_free);
	va_list ap;

	va_start(ap, n);
	for (guint i = 0; i < n; i++)
		g_ptr_array_add(row, ctl_cell_text(va_arg(ap, const char *)));
	va_end(ap);
	return row;
}

static char *format_since(guint64 usec)
{
	g_autoptr(GDateTime) t = NULL;
	g_autoptr(GDateTime) now = g_date_time_new_now_local();

	if (!usec)
		return g_strdup("-");
	t = g_date_time_new_from_unix_local((gint64)(usec / G_USEC_PER_SEC));
	if (!t)
		return g_strdup("-");
	/* Today's changes need no date, like ls -l's recent files. */
	if (g_date_time_get_year(t) == g_date_time_get_year(now) &&
	    g_date_time_get_day_of_year(t) == g_date_time_get_day_of_year(now))
		return g_date_time_format(t, "%H:%M:%S");
	return g_date_time_format(t, "%Y-%m-%d %H:%M");
}

void ctl_print_tunnel_table(GPtrArray *tunnels)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);

	g_ptr_array_add(rows, table_row(7, _("TUNNEL"), _("STATE"), _("BACKEND"), _("DEVICE"),
					_("TRIGGERED BY"), _("SINCE"), _("DNS")));
	for (guint i = 0; i < tunnels->len; i++) {
		GVariant *t = tunnels->pdata[i];
		g_autofree char *since = format_since(ctl_prop_u64(t, "Since"));
		g_autofree char *dns = ctl_prop_strv_joined(t, "DNS");

		g_ptr_array_add(rows, table_row(7, ctl_prop_str(t, "Name"), ctl_prop_str(t, "State"),
						ctl_prop_str(t, "Backend"), ctl_prop_str(t, "Interface"),
						ctl_prop_str(t, "TriggeredBy"), since, dns));
	}
	print_table(rows, 7, 1);
}

void ctl_print_link_table(GPtrArray *links)
{
	g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_ptr_array_unref);

	g_ptr_array_add(rows, table_row(7, _("LINK"), _("TYPE"), _("STATE"), _("NETWORK"),
					_("RULE"), _("DECISION"), _("KILL SWITCH")));
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		g_autofree char *ssid = ctl_prop_ssid(l);
		g_autofree char *network = NULL;
		const char *state = ctl_prop_bool(l, "Active") ? "active" : ctl_prop_str(l, "OperState");
		const char *portal = ctl_prop_str(l, "Portal");

		/* Behind a captive portal the link is up but useless: say so. */
		if (g_str_equal(portal, "portal") || g_str_equal(portal, "login-window") ||
		    g_str_equal(portal, "probing"))
			state = portal;

		/* What the rules can tell networks by: the SSID (escaped), else the
		 * gateway's MAC. */
		if (ssid)
			network = g_strdup_printf("\"%s\"", ssid);
		else if (*ctl_prop_str(l, "GatewayMAC"))
			network = g_strdup_printf("%s %s", _("gateway"), ctl_prop_str(l, "GatewayMAC"));
		g_ptr_array_add(rows, table_row(7, ctl_prop_str(l, "Name"), ctl_prop_str(l, "Type"), state,
						network, ctl_prop_str(l, "MatchedRule"),
						ctl_prop_str(l, "Decision"), ctl_prop_str(l, "KillSwitch")));
	}
	print_table(rows, 7, 2);
	for (guint i = 0; i < links->len; i++) {
		GVariant *l = links->pdata[i];
		g_autofree char *name = ctl_cell_text(ctl_prop_str(l, "Name"));
		g_autofree char *url = ctl_cell_text(ctl_prop_str(l, "PortalURL"));

		if (g_str_equal(ctl_prop_str(l, "Portal"), "portal"))
			printf(_("\n%s is behind a captive portal (login page %s); the tunnel waits.\n"
				 "`roamvpnctl portal %s` opens a login window.\n"), name, url, name);
	}
}

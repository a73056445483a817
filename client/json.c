/* json.c - JSON writing for roamvpnctl (see json.h). */
#include "config.h"

#include <math.h>
#include <string.h>

#include "json.h"
#include "ssid.h"

void rv_json_append_string(GString *out, const char *s, gssize len)
{
	const char *p = s, *end;

	if (len < 0)
		len = (gssize)strlen(s);
	end = s + len;
	g_string_append_c(out, '"');
	while (p < end) {
		/* GLib treats NUL as invalid; in a length-delimited string it is just U+0000. */
		gunichar c = *p ? g_utf8_get_char_validated(p, end - p) : 0;

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			/* Not UTF-8: JSON text must be, so say so visibly. */
			g_string_append(out, "\\ufffd");
			p++;
			continue;
		}
		switch (c) {
		case '"': g_string_append(out, "\\\""); break;
		case '\\': g_string_append(out, "\\\\"); break;
		case '\b': g_string_append(out, "\\b"); break;
		case '\f': g_string_append(out, "\\f"); break;
		case '\n': g_string_append(out, "\\n"); break;
		case '\r': g_string_append(out, "\\r"); break;
		case '\t': g_string_append(out, "\\t"); break;
		default:
			/* U+2028/2029 are valid JSON but break JavaScript embedding. */
			if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029)
				g_string_append_printf(out, "\\u%04x", c);
			else
				g_string_append_len(out, p, g_utf8_next_char(p) - p);
		}
		p = g_utf8_next_char(p);
	}
	g_string_append_c(out, '"');
}

static void append_double(GString *out, double d)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (!isfinite(d)) {
		g_string_append(out, "null");
		return;
	}
	g_string_append(out, g_ascii_dtostr(buf, sizeof(buf), d));
}

void rv_json_append_value(GString *out, GVariant *value)
{
	const GVariantType *type = g_variant_get_type(value);
	GVariantIter iter;
	GVariant *child;
	bool first = true;

	switch (g_variant_classify(value)) {
	case G_VARIANT_CLASS_BOOLEAN:
		g_string_append(out, g_variant_get_boolean(value) ? "true" : "false");
		return;
	case G_VARIANT_CLASS_BYTE:
		g_string_append_printf(out, "%u", g_variant_get_byte(value));
		return;
	case G_VARIANT_CLASS_INT16:
		g_string_append_printf(out, "%d", g_variant_get_int16(value));
		return;
	case G_VARIANT_CLASS_UINT16:
		g_string_append_printf(out, "%u", g_variant_get_uint16(value));
		return;
	case G_VARIANT_CLASS_INT32:
		g_string_append_printf(out, "%d", g_variant_get_int32(value));
		return;
	case G_VARIANT_CLASS_UINT32:
		g_string_append_printf(out, "%u", g_variant_get_uint32(value));
		return;
	case G_VARIANT_CLASS_INT64:
		g_string_append_printf(out, "%" G_GINT64_FORMAT, g_variant_get_int64(value));
		return;
	case G_VARIANT_CLASS_UINT64:
		g_string_append_printf(out, "%" G_GUINT64_FORMAT, g_variant_get_uint64(value));
		return;
	case G_VARIANT_CLASS_HANDLE:
		g_string_append_printf(out, "%d", g_variant_get_handle(value));
		return;
	case G_VARIANT_CLASS_DOUBLE:
		append_double(out, g_variant_get_double(value));
		return;
	case G_VARIANT_CLASS_STRING:
	case G_VARIANT_CLASS_OBJECT_PATH:
	case G_VARIANT_CLASS_SIGNATURE: {
		gsize len = 0;
		const char *s = g_variant_get_string(value, &len);

		rv_json_append_string(out, s, (gssize)len);
		return;
	}
	case G_VARIANT_CLASS_VARIANT: {
		GVariant *inner = g_variant_get_variant(value);

		rv_json_append_value(out, inner);
		g_variant_unref(inner);
		return;
	}
	case G_VARIANT_CLASS_MAYBE: {
		GVariant *inner = g_variant_get_maybe(value);

		if (inner) {
			rv_json_append_value(out, inner);
			g_variant_unref(inner);
		} else {
			g_string_append(out, "null");
		}
		return;
	}
	case G_VARIANT_CLASS_ARRAY:
		if (g_variant_type_is_dict_entry(g_variant_type_element(type))) {
			g_string_append_c(out, '{');
			g_variant_iter_init(&iter, value);
			while ((child = g_variant_iter_next_value(&iter))) {
				GVariant *key = g_variant_get_child_value(child, 0);
				GVariant *val = g_variant_get_child_value(child, 1);

				if (!first)
					g_string_append_c(out, ',');
				first = false;
				if (g_variant_is_of_type(key, G_VARIANT_TYPE_STRING) ||
				    g_variant_is_of_type(key, G_VARIANT_TYPE_OBJECT_PATH)) {
					rv_json_append_value(out, key);
				} else {
					/* JSON keys are strings: print other keys as JSON, quoted. */
					GString *k = g_string_new(NULL);

					rv_json_append_value(k, key);
					rv_json_append_string(out, k->str, (gssize)k->len);
					g_string_free(k, TRUE);
				}
				g_string_append_c(out, ':');
				rv_json_append_value(out, val);
				g_variant_unref(key);
				g_variant_unref(val);
				g_variant_unref(child);
			}
			g_string_append_c(out, '}');
			return;
		}
		G_GNUC_FALLTHROUGH;
	case G_VARIANT_CLASS_TUPLE:
	case G_VARIANT_CLASS_DICT_ENTRY:
		g_string_append_c(out, '[');
		g_variant_iter_init(&iter, value);
		while ((child = g_variant_iter_next_value(&iter))) {
			if (!first)
				g_string_append_c(out, ',');
			first = false;
			rv_json_append_value(out, child);
			g_variant_unref(child);
		}
		g_string_append_c(out, ']');
		return;
	}
	g_string_append(out, "null");
}

void rv_json_append_properties(GString *out, GVariant *props, const char *extra)
{
	GVariantIter iter;
	const char *name;
	GVariant *value;
	bool first = true;

	g_string_append_c(out, '{');
	g_variant_iter_init(&iter, props);
	while (g_variant_iter_next(&iter, "{&sv}", &name, &value)) {
		if (!first)
			g_string_append_c(out, ',');
		first = false;
		rv_json_append_string(out, name, -1);
		g_string_append_c(out, ':');
		if (g_str_equal(name, "SSID") && g_variant_is_of_type(value, G_VARIANT_TYPE_BYTESTRING)) {
			gsize n = 0;
			const guint8 *bytes = g_variant_get_fixed_array(value, &n, 1);
			g_autofree char *text = rv_ssid_escape(bytes, n);

			rv_json_append_string(out, text, -1);
			g_string_append(out, ",\"SSIDBytes\":");
		}
		rv_json_append_value(out, value);
		g_variant_unref(value);
	}
	if (extra && *extra) {
		if (!first)
			g_string_append_c(out, ',');
		g_string_append(out, extra);
	}
	g_string_append_c(out, '}');
}

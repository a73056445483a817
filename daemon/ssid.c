/* ssid.c - escaping and unescaping of SSID bytes (see ssid.h). */
#include "config.h"

#include <string.h>

#include "error.h"
#include "ssid.h"

char *rv_ssid_escape(const uint8_t *ssid, size_t len)
{
	GString *out = g_string_sized_new(len * 4 + 1);

	for (size_t i = 0; i < len; i++) {
		uint8_t c = ssid[i];
		/* A space at either end would vanish in most displays and configs. */
		bool edge_space = c == ' ' && (i == 0 || i == len - 1);

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"' && !edge_space)
			g_string_append_c(out, (char)c);
		else
			g_string_append_printf(out, "\\x%02x", c);
	}
	return g_string_free(out, FALSE);
}

char *rv_text_escape(const char *bytes)
{
	const char *p = bytes ? bytes : "";
	GString *out;

	if (g_utf8_validate(p, -1, NULL))
		return g_strdup(p);
	out = g_string_sized_new(strlen(p) * 4 + 1);
	while (*p) {
		gunichar c = g_utf8_get_char_validated(p, -1);

		if (c == (gunichar)-1 || c == (gunichar)-2 || *p == '\\') {
			g_string_append_printf(out, "\\x%02x", (uint8_t)*p);
			p++;
		} else {
			const char *next = g_utf8_next_char(p);

			g_string_append_len(out, p, next - p);
			p = next;
		}
	}
	return g_string_free(out, FALSE);
}

GBytes *rv_ssid_unescape(const char *text, GError **error)
{
	GByteArray *out = g_byte_array_new();

	for (const char *p = text; *p; p++) {
		uint8_t c = (uint8_t)*p;

		if (c == '\\') {
			if (p[1] == '\\' || p[1] == '"') {
				c = (uint8_t)p[1];
				p++;
			} else if (p[1] == 'x' && g_ascii_isxdigit(p[2]) && g_ascii_isxdigit(p[3])) {
				c = (uint8_t)(g_ascii_xdigit_value(p[2]) << 4 | g_ascii_xdigit_value(p[3]));
				p += 3;
			} else {
				g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
					    "bad escape in SSID (use \\xNN, \\\\ or \\\")");
				g_byte_array_unref(out);
				return NULL;
			}
		}
		g_byte_array_append(out, &c, 1);
	}
	if (out->len > RV_SSID_MAX_LEN) {
		g_set_error(error, RV_ERROR, RV_ERROR_INVALID,
			    "SSID is %u bytes, at most %d are possible", out->len, RV_SSID_MAX_LEN);
		g_byte_array_unref(out);
		return NULL;
	}
	return g_byte_array_free_to_bytes(out);
}

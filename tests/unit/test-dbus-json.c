/* test-dbus-json.c - roamvpnctl's JSON writer (client/json.c): hostile strings and
 * SSIDs must come out as valid, exactly escaped JSON. */
#include "config.h"

#include <string.h>

#include "json.h"

static char *json_string(const char *s, gssize len)
{
	GString *out = g_string_new(NULL);

	rv_json_append_string(out, s, len);
	return g_string_free(out, FALSE);
}

static void test_string_escaping(void)
{
	static const struct { const char *in; gssize len; const char *out; } cases[] = {
		{ "plain", -1, "\"plain\"" },
		{ "quote\" back\\slash", -1, "\"quote\\\" back\\\\slash\"" },
		{ "nl\n tab\t cr\r", -1, "\"nl\\n tab\\t cr\\r\"" },
		{ "\x01\x1f\x7f", -1, "\"\\u0001\\u001f\\u007f\"" },
		{ "nul\0inside", 10, "\"nul\\u0000inside\"" },
		{ "caf\xc3\xa9", -1, "\"caf\xc3\xa9\"" },
		{ "bad\xff\xfe utf8", -1, "\"bad\\ufffd\\ufffd utf8\"" },
		{ "truncated \xe2\x82", -1, "\"truncated \\ufffd\\ufffd\"" },
		{ "line\xe2\x80\xa8sep", -1, "\"line\\u2028sep\"" },
		{ "$(rm -rf /); `x`", -1, "\"$(rm -rf /); `x`\"" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = json_string(cases[i].in, cases[i].len);

		g_assert_cmpstr(got, ==, cases[i].out);
		g_assert_true(g_utf8_validate(got, -1, NULL));
	}
}

static void test_hostile_ssid_properties(void)
{
	static const guint8 ssid[] = { '"', ';', ' ', '$', '(', 0x00, 0xff, '\\', 'x', '\n' };
	GVariantBuilder b;
	g_autoptr(GVariant) props = NULL;
	GString *out = g_string_new(NULL);
	g_autofree char *json = NULL;

	g_variant_builder_init(&b, G_VARIANT_TYPE_VARDICT);
	g_variant_builder_add(&b, "{sv}", "Name", g_variant_new_string("wl\"an0"));
	g_variant_builder_add(&b, "{sv}", "SSID",
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, ssid, sizeof(ssid), 1));
	g_variant_builder_add(&b, "{sv}", "Active", g_variant_new_boolean(TRUE));
	g_variant_builder_add(&b, "{sv}", "Since", g_variant_new_uint64(G_MAXUINT64));
	g_variant_builder_add(&b, "{sv}", "Index", g_variant_new_int32(-1));
	g_variant_builder_add(&b, "{sv}", "Addresses", g_variant_new_strv(NULL, 0));
	props = g_variant_ref_sink(g_variant_builder_end(&b));

	rv_json_append_properties(out, props, "\"Path\":\"/x\"");
	json = g_string_free(out, FALSE);
	/* The SSID as rv_ssid_escape shows it (\x22 for the quote, \x00, \xff, \x5c for
	 * the backslash, \x0a), then JSON-escaped; plus the raw bytes. */
	g_assert_cmpstr(json, ==,
		"{\"Name\":\"wl\\\"an0\","
		"\"SSID\":\"\\\\x22; $(\\\\x00\\\\xff\\\\x5cx\\\\x0a\","
		"\"SSIDBytes\":[34,59,32,36,40,0,255,92,120,10],"
		"\"Active\":true,\"Since\":18446744073709551615,\"Index\":-1,"
		"\"Addresses\":[],\"Path\":\"/x\"}");
}

static void test_values(void)
{
	g_autoptr(GVariant) v = g_variant_ref_sink(g_variant_new_parsed(
		"({'a': <1.5>, 'b': <[objectpath '/o']>}, [('r', false, 'why')], @mi nothing, @a{ia{ss}} {})"));
	GString *out = g_string_new(NULL);
	g_autofree char *json = NULL;

	rv_json_append_value(out, v);
	json = g_string_free(out, FALSE);
	g_assert_cmpstr(json, ==,
		"[{\"a\":1.5,\"b\":[\"/o\"]},[[\"r\",false,\"why\"]],null,{}]");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/json/string-escaping", test_string_escaping);
	g_test_add_func("/json/hostile-ssid-properties", test_hostile_ssid_properties);
	g_test_add_func("/json/values", test_values);
	return g_test_run();
}

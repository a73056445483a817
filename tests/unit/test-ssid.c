/* test-ssid.c - SSID escaping round trips on hostile bytes. */
#include "config.h"

#include <string.h>

#include "ssid.h"

static void roundtrip(const uint8_t *ssid, size_t len, const char *expect)
{
	g_autofree char *text = rv_ssid_escape(ssid, len);
	g_autoptr(GBytes) back = NULL;
	g_autoptr(GError) error = NULL;

	g_assert_cmpstr(text, ==, expect);
	back = rv_ssid_unescape(text, &error);
	g_assert_no_error(error);
	g_assert_cmpmem(g_bytes_get_data(back, NULL), g_bytes_get_size(back), ssid, len);
}

static void test_escape(void)
{
	roundtrip((const uint8_t *)"HomeNet", 7, "HomeNet");
	roundtrip((const uint8_t *)"Office 5G", 9, "Office 5G");
	roundtrip((const uint8_t *)" edge ", 6, "\\x20edge\\x20");
	roundtrip((const uint8_t *)"a\0b", 3, "a\\x00b");
	roundtrip((const uint8_t *)"$(rm -rf /);`x`|&", 17, "$(rm -rf /);`x`|&");
	roundtrip((const uint8_t *)"q\"uo\\te", 7, "q\\x22uo\\x5cte");
	roundtrip((const uint8_t *)"\xff\xfe\n\t", 4, "\\xff\\xfe\\x0a\\x09");
	roundtrip((const uint8_t *)"", 0, "");
}

static void test_unescape_errors(void)
{
	g_autoptr(GError) error = NULL;

	g_assert_null(rv_ssid_unescape("bad\\q", &error));
	g_assert_nonnull(error);
	g_clear_error(&error);
	g_assert_null(rv_ssid_unescape("123456789012345678901234567890123", &error));
	g_assert_nonnull(strstr(error->message, "33 bytes"));
}

/* Names that should be text (interfaces, rule files) but are bytes. */
static void test_text_escape(void)
{
	g_autofree char *plain = rv_text_escape("wlan0");
	g_autofree char *utf8 = rv_text_escape("caf\xc3\xa9\\x");	/* valid: left alone */
	g_autofree char *odd = rv_text_escape("\xff\xfe");
	g_autofree char *mixed = rv_text_escape("a\\\xc3\xa9\xc3");
	g_autofree char *none = rv_text_escape(NULL);

	g_assert_cmpstr(plain, ==, "wlan0");
	g_assert_cmpstr(utf8, ==, "caf\xc3\xa9\\x");
	g_assert_cmpstr(odd, ==, "\\xff\\xfe");
	/* Valid sequences stay, the lone byte and the backslash are escaped. */
	g_assert_cmpstr(mixed, ==, "a\\x5c\xc3\xa9\\xc3");
	g_assert_true(g_utf8_validate(mixed, -1, NULL));
	g_assert_cmpstr(none, ==, "");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ssid/escape", test_escape);
	g_test_add_func("/ssid/unescape-errors", test_unescape_errors);
	g_test_add_func("/ssid/text-escape", test_text_escape);
	return g_test_run();
}

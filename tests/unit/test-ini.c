/* test-ini.c - the line-numbered INI reader. */
#include "config.h"

#include "ini.h"

static void test_sections_and_lines(void)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_ini) ini = rv_ini_parse("t.conf",
		"# comment\n[Interface]\nPrivateKey = abc=\n\n[Peer]\nPublicKey=x\n[Peer]\nPublicKey=y\nAllowedIPs=\n",
		0, errors);
	struct rv_ini_section *s;
	struct rv_ini_entry *e;

	g_assert_nonnull(ini);
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_cmpuint(ini->sections->len, ==, 3);	/* repeated [Peer] kept apart */
	s = rv_ini_find_section(ini, "Interface");
	g_assert_cmpint(s->line, ==, 2);
	e = rv_ini_find_entry(s, "PrivateKey");
	g_assert_cmpstr(e->value, ==, "abc=");	/* '=' inside a value stays */
	g_assert_cmpint(e->line, ==, 3);
	s = g_ptr_array_index(ini->sections, 2);
	g_assert_cmpstr(rv_ini_find_entry(s, "PublicKey")->value, ==, "y");
	g_assert_cmpstr(rv_ini_find_entry(s, "AllowedIPs")->value, ==, "");
	g_assert_cmpint(rv_ini_find_entry(s, "AllowedIPs")->line, ==, 9);
}

static void test_errors_have_lines(void)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_ini *ini = rv_ini_parse("r.rules", "Key=1\n[Match\n[Action]\njunk\n=v\n", 0, errors);

	g_assert_null(ini);
	g_assert_cmpuint(errors->len, ==, 4);
	g_assert_cmpstr(g_ptr_array_index(errors, 0), ==, "r.rules:1: assignment outside of any [Section]");
	g_assert_true(g_str_has_prefix(g_ptr_array_index(errors, 1), "r.rules:2: malformed section header"));
	g_assert_true(g_str_has_prefix(g_ptr_array_index(errors, 2), "r.rules:4: expected 'Key=Value'"));
	g_assert_cmpstr(g_ptr_array_index(errors, 3), ==, "r.rules:5: empty key");
}

static void test_inline_comments(void)
{
	g_autoptr(rv_ini) ini = rv_ini_parse("wg.conf", "[Peer] # the server\nEndpoint = 1.2.3.4:51820 # port\n",
					     RV_INI_INLINE_COMMENTS, NULL);
	struct rv_ini_section *s;

	g_assert_nonnull(ini);
	s = rv_ini_find_section(ini, "Peer");
	g_assert_cmpstr(rv_ini_find_entry(s, "Endpoint")->value, ==, "1.2.3.4:51820");
}

static void test_not_utf8(void)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);

	g_assert_null(rv_ini_parse("x.rules", "[Match]\nSSID=\xff\xfe\n", 0, errors));
	g_assert_cmpuint(errors->len, ==, 1);
	g_assert_true(g_str_has_prefix(g_ptr_array_index(errors, 0), "x.rules:2: not valid UTF-8"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ini/sections-and-lines", test_sections_and_lines);
	g_test_add_func("/ini/errors-have-lines", test_errors_have_lines);
	g_test_add_func("/ini/inline-comments", test_inline_comments);
	g_test_add_func("/ini/not-utf8", test_not_utf8);
	return g_test_run();
}

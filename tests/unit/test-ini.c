/* test-ini.c - the line-numbered INI reader. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Issue 8 §1: "[Tunnel]]" must not become a section "Tunnel]". */
static void test_malformed_section_headers(void)
{
	const char *bad[] = { "[Tunnel]]\n", "[Tunnel] x]\n", "[Tu[nnel]\n", "[[Tunnel]\n", "[]\n",
			      "[Tunnel\n", NULL };

	for (int i = 0; bad[i]; i++) {
		g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
		g_autofree char *text = g_strconcat("# header\n", bad[i], "Backend=exec\n", NULL);

		g_assert_null(rv_ini_parse("t.conf", text, 0, errors));
		g_assert_cmpuint(errors->len, ==, 1);
		g_assert_cmpstr(g_ptr_array_index(errors, 0), ==,
				"t.conf:2: malformed section header (a line starting with '[' must be [Name])");
	}
}

/* Issue 8 §2: a line without '=' is never echoed; it may be a key with the '=' missing. */
static void test_line_not_echoed(void)
{
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);

	g_assert_null(rv_ini_parse("wg.conf", "[Interface]\nPrivateKey yAnzsecretsecret\n[exec]\nPassword hunter2\n",
				   RV_INI_INLINE_COMMENTS, errors));
	g_assert_cmpuint(errors->len, ==, 2);
	g_assert_cmpstr(g_ptr_array_index(errors, 0), ==,
			"wg.conf:2: expected 'Key=Value' or '[Section]': line 2 is not KEY=VALUE "
			"(not shown, it may hold a secret)");
	for (guint i = 0; i < errors->len; i++) {
		g_assert_null(strstr(g_ptr_array_index(errors, i), "yAnz"));
		g_assert_null(strstr(g_ptr_array_index(errors, i), "hunter2"));
	}
}

/* Issue 8 §9: only regular files, at most 1 MiB, no NUL; nothing blocks. */
static void test_hostile_files(void)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *dir = g_dir_make_tmp("roamvpn-ini-XXXXXX", &error);
	g_autofree char *fifo = g_build_filename(dir, "fifo.rules", NULL);
	g_autofree char *zero = g_build_filename(dir, "zero.rules", NULL);
	g_autofree char *big = g_build_filename(dir, "big.rules", NULL);
	g_autofree char *nul = g_build_filename(dir, "nul.rules", NULL);
	g_autofree char *ok = g_build_filename(dir, "ok.rules", NULL);
	g_autofree char *absent = g_build_filename(dir, "absent.rules", NULL);
	g_autofree char *big_text = g_strnfill(RV_INI_MAX_FILE_SIZE + 1, 'x');
	static const char nul_text[] = "[Match]\nType=wlan\nSSID=a\0[Action]\nIgnore=yes\n";
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	g_autofree char *text = NULL;
	gsize len = 0;

	g_assert_no_error(error);
	g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
	g_assert_cmpint(symlink("/dev/zero", zero), ==, 0);
	g_file_set_contents(big, big_text, -1, &error);
	g_assert_no_error(error);
	g_file_set_contents(nul, nul_text, sizeof(nul_text) - 1, &error);
	g_assert_no_error(error);
	g_file_set_contents(ok, "[Action]\nIgnore=yes\n", -1, &error);
	g_assert_no_error(error);

	/* A FIFO without a writer would block a plain read forever. */
	g_assert_null(rv_ini_load(fifo, 0, errors));
	g_assert_null(rv_ini_load(zero, 0, errors));
	g_assert_null(rv_ini_load(big, 0, errors));
	g_assert_null(rv_ini_load(nul, 0, errors));
	g_assert_null(rv_ini_load(absent, 0, errors));
	g_assert_cmpuint(errors->len, ==, 5);
	{
		g_autofree char *e0 = g_strdup_printf("%s: not a regular file", fifo);
		g_autofree char *e1 = g_strdup_printf("%s: not a regular file", zero);
		g_autofree char *e2 = g_strdup_printf("%s: too large (%d bytes; the limit is %d)", big,
						      RV_INI_MAX_FILE_SIZE + 1, RV_INI_MAX_FILE_SIZE);
		g_autofree char *e3 = g_strdup_printf("%s:3: NUL byte in a text file", nul);
		g_autofree char *e4 = g_strdup_printf("%s: %s", absent, g_strerror(ENOENT));

		g_assert_cmpstr(g_ptr_array_index(errors, 0), ==, e0);
		g_assert_cmpstr(g_ptr_array_index(errors, 1), ==, e1);
		g_assert_cmpstr(g_ptr_array_index(errors, 2), ==, e2);
		g_assert_cmpstr(g_ptr_array_index(errors, 3), ==, e3);
		g_assert_cmpstr(g_ptr_array_index(errors, 4), ==, e4);
	}
	/* A missing file is -ENOENT without a message: the caller decides. */
	g_ptr_array_set_size(errors, 0);
	g_assert_cmpint(rv_ini_read_file(absent, &text, &len, errors), ==, -ENOENT);
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_cmpint(rv_ini_read_file(ok, &text, &len, errors), ==, 0);
	g_assert_cmpstr(text, ==, "[Action]\nIgnore=yes\n");
	g_assert_cmpuint(len, ==, strlen(text));

	g_assert_cmpint(g_remove(fifo), ==, 0);
	g_assert_cmpint(g_remove(zero), ==, 0);
	g_assert_cmpint(g_remove(big), ==, 0);
	g_assert_cmpint(g_remove(nul), ==, 0);
	g_assert_cmpint(g_remove(ok), ==, 0);
	g_assert_cmpint(g_rmdir(dir), ==, 0);
}

/* --- key tables --- */

struct demo {
	char *name;
	guint port;
	bool fast;
	char *mode;
	char **servers;
	char *password;
};

static void demo_clear(struct demo *d)
{
	g_free(d->name);
	g_free(d->mode);
	g_strfreev(d->servers);
	g_free(d->password);
}

static bool parse_short(const struct rv_ini_value *v, void *field)
{
	if (strlen(v->value) > 3) {
		rv_ini_bad_value(v, "is longer than 3");
		return false;
	}
	return rv_ini_parse_string(v, field);
}

static const struct rv_ini_uint_range port_range = { 1, 65535, NULL };
static const char *const modes[] = { "a", "b", "c", NULL };
static const struct rv_ini_key demo_keys[] = {
	RV_INI_KEY("Demo", "Name", rv_ini_parse_string, struct demo, name, RV_INI_ONCE | RV_INI_REQUIRED, NULL),
	RV_INI_KEY("Demo", "Port", rv_ini_parse_uint, struct demo, port, RV_INI_ONCE, &port_range),
	RV_INI_KEY("Demo", "Fast", rv_ini_parse_bool, struct demo, fast, 0, NULL),
	RV_INI_KEY("Demo", "Mode", rv_ini_parse_choice, struct demo, mode, RV_INI_ONCE, modes),
	RV_INI_KEY("Demo", "Servers", rv_ini_parse_strv, struct demo, servers, RV_INI_LIST, NULL),
	RV_INI_KEY("Secret", "Password", parse_short, struct demo, password, RV_INI_ONCE | RV_INI_SECRET, NULL),
	RV_INI_KEYS_END
};

static GPtrArray *apply_demo(const char *text, struct demo *d, unsigned flags, bool expect_ok)
{
	GPtrArray *errors = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(rv_ini) ini = rv_ini_parse("d.conf", text, 0, errors);

	g_assert_nonnull(ini);
	g_assert_cmpint(rv_ini_apply(ini, demo_keys, d, flags, "demo files have [Demo] and [Secret]",
				     errors), ==, expect_ok);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("error: %s", (char *)g_ptr_array_index(errors, i));
	return errors;
}

static void test_table_values(void)
{
	struct demo d = { 0 };
	g_autoptr(GPtrArray) errors = apply_demo(
		"[Demo]\nName=x\nPort=51820\nFast=yes\nFast=no\nMode=b\nServers=a b\nServers=c\n"
		"[Secret]\nPassword=abc\n", &d, 0, true);

	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_cmpstr(d.name, ==, "x");
	g_assert_cmpuint(d.port, ==, 51820);
	g_assert_false(d.fast);		/* without RV_INI_ONCE the last assignment wins */
	g_assert_cmpstr(d.mode, ==, "b");
	g_assert_cmpuint(g_strv_length(d.servers), ==, 3);	/* a list item by item, appended */
	g_assert_cmpstr(d.servers[2], ==, "c");
	g_assert_cmpstr(d.password, ==, "abc");
	demo_clear(&d);
}

static void assert_error_list(GPtrArray *errors, const char *const *expect)
{
	guint n = g_strv_length((char **)expect);

	g_assert_cmpuint(errors->len, ==, n);
	for (guint i = 0; i < n; i++)
		g_assert_cmpstr(g_ptr_array_index(errors, i), ==, expect[i]);
}

static void test_table_errors(void)
{
	struct demo d = { 0 };
	g_autoptr(GPtrArray) errors = apply_demo(
		"[Demo]\nName=x\nName=y\nPort=0\nMode=d\nColour=red\nServers=\n[Other]\n[Secret]\n"
		"Password=hunter2\n[Demo]\n", &d, 0, false);

	assert_error_list(errors, (const char *[]){
		"d.conf:3: Name= repeated (first at line 2)",
		"d.conf:4: Port=: '0' is not a number from 1 to 65535",
		"d.conf:5: Mode=: 'd' is not a, b or c",
		"d.conf:6: unknown key Colour= in [Demo] (known: Name, Port, Fast, Mode, Servers)",
		"d.conf:7: Servers= is empty",
		"d.conf:8: unknown section [Other] (demo files have [Demo] and [Secret])",
		/* a secret key's value is never shown */
		"d.conf:10: Password= is longer than 3",
		"d.conf:11: [Demo] repeated (first at line 1)", NULL });
	demo_clear(&d);
}

static void test_table_required_and_flags(void)
{
	struct demo d = { 0 };
	g_autoptr(GPtrArray) e1 = apply_demo("[Demo]\nPort=1\n[Other]\n[Demo]\nName=n\n", &d,
					     RV_INI_APPLY_OTHER_SECTIONS | RV_INI_APPLY_REPEATED_SECTIONS, false);
	g_autoptr(GPtrArray) e2 = NULL;
	g_autoptr(GPtrArray) e3 = NULL;

	/* [Other] is someone else's; the second [Demo] is applied again. */
	assert_error_list(e1, (const char *[]){ "d.conf:1: [Demo] has no Name=", NULL });
	g_assert_cmpstr(d.name, ==, "n");
	demo_clear(&d);
	memset(&d, 0, sizeof(d));

	e2 = apply_demo("[demo]\nname=x\nPORT=2\n", &d, RV_INI_APPLY_CASE_INSENSITIVE, true);
	g_assert_cmpuint(e2->len, ==, 0);
	g_assert_cmpuint(d.port, ==, 2);
	demo_clear(&d);
	memset(&d, 0, sizeof(d));

	/* Sections first: the unknown section is reported before the keys. */
	e3 = apply_demo("[Demo]\nName=x\nPort=x\n[Nope]\n", &d, RV_INI_APPLY_SECTIONS_FIRST, false);
	assert_error_list(e3, (const char *[]){
		"d.conf:4: unknown section [Nope] (demo files have [Demo] and [Secret])",
		"d.conf:3: Port=: 'x' is not a number from 1 to 65535", NULL });
	demo_clear(&d);
}

static void test_section_has_secret(void)
{
	g_autoptr(rv_ini) ini = rv_ini_parse("d.conf", "[Demo]\nName=x\n[Secret]\nPassword=x\n", 0, NULL);

	g_assert_false(rv_ini_section_has_secret(g_ptr_array_index(ini->sections, 0), demo_keys, 0));
	g_assert_true(rv_ini_section_has_secret(g_ptr_array_index(ini->sections, 1), demo_keys, 0));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/ini/sections-and-lines", test_sections_and_lines);
	g_test_add_func("/ini/errors-have-lines", test_errors_have_lines);
	g_test_add_func("/ini/inline-comments", test_inline_comments);
	g_test_add_func("/ini/not-utf8", test_not_utf8);
	g_test_add_func("/ini/malformed-section-headers", test_malformed_section_headers);
	g_test_add_func("/ini/line-not-echoed", test_line_not_echoed);
	g_test_add_func("/ini/hostile-files", test_hostile_files);
	g_test_add_func("/ini/table-values", test_table_values);
	g_test_add_func("/ini/table-errors", test_table_errors);
	g_test_add_func("/ini/table-required-and-flags", test_table_required_and_flags);
	g_test_add_func("/ini/section-has-secret", test_section_has_secret);
	return g_test_run();
}

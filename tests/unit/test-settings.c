/* test-settings.c - roamvpn.conf: defaults, every key, every error with its line. */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "settings.h"
#include "tmpdir.h"

static char *tmpdir;

static char *write_conf(const char *text)
{
	char *path = g_build_filename(tmpdir, "roamvpn.conf", NULL);
	g_autoptr(GError) error = NULL;

	g_file_set_contents(path, text, -1, &error);
	g_assert_no_error(error);
	return path;
}

static void assert_defaults(const struct rv_settings *s)
{
	g_assert_cmpstr(s->dns_method, ==, "auto");
	g_assert_cmpuint(s->debounce_ms, ==, 300);
	g_assert_cmpuint(s->backoff_initial_ms, ==, 1000);
	g_assert_cmpuint(s->backoff_max_ms, ==, 60000);
	g_assert_cmpstr(s->admin_group, ==, "netdev");
	g_assert_null(s->portal_probe);
	g_assert_null(s->portal_expect);
	g_assert_cmpuint(s->portal_timeout_ms, ==, 5000);
	g_assert_cmpuint(s->portal_window_s, ==, 300);
}

static void test_missing_file(void)
{
	g_autofree char *path = g_build_filename(tmpdir, "absent.conf", NULL);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_settings s = { 0 };

	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, 0);
	g_assert_cmpuint(errors->len, ==, 0);
	assert_defaults(&s);
	rv_settings_clear(&s);
	g_assert_null(s.dns_method);
}

static void test_all_keys(void)
{
	g_autofree char *path = write_conf("# roamvpn.conf\n[General]\nDNS=resolvconf\nDebounceMs=0\n"
					   "BackoffInitialMs=250\nBackoffMaxMs=30000\nAdminGroup=vpn-admins\n");
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_settings s = { 0 };

	rv_settings_defaults(&s);
	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, 0);
	g_assert_cmpuint(errors->len, ==, 0);
	g_assert_cmpstr(s.dns_method, ==, "resolvconf");
	g_assert_cmpuint(s.debounce_ms, ==, 0);
	g_assert_cmpuint(s.backoff_initial_ms, ==, 250);
	g_assert_cmpuint(s.backoff_max_ms, ==, 30000);
	g_assert_cmpstr(s.admin_group, ==, "vpn-admins");
	g_assert_null(s.portal_probe);

	g_assert_cmpint(g_remove(path), ==, 0);
	g_free(path);
	path = write_conf("[General]\nPortalProbe=http://192.0.2.1:8080/check\nPortalExpect=online\n"
			  "PortalTimeoutMs=2000\nPortalWindowSec=60\n");
	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, 0);
	g_assert_cmpstr(s.portal_probe, ==, "http://192.0.2.1:8080/check");
	g_assert_cmpstr(s.portal_expect, ==, "online");
	g_assert_cmpuint(s.portal_timeout_ms, ==, 2000);
	g_assert_cmpuint(s.portal_window_s, ==, 60);
	g_assert_cmpint(g_remove(path), ==, 0);
	g_free(path);
	path = write_conf("[General]\nPortalProbe=no\n");
	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, 0);
	g_assert_null(s.portal_probe);

	/* Loading again over loaded settings starts from the defaults. */
	g_assert_cmpint(g_remove(path), ==, 0);
	g_free(path);
	path = write_conf("[General]\nDNS=resolved\n");
	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, 0);
	g_assert_cmpstr(s.dns_method, ==, "resolved");
	g_assert_cmpuint(s.backoff_initial_ms, ==, 1000);
	g_assert_cmpstr(s.admin_group, ==, "netdev");
	rv_settings_clear(&s);
	g_assert_cmpint(g_remove(path), ==, 0);
}

static void assert_errors(const char *text, const char *const *expect)
{
	g_autofree char *path = write_conf(text);
	g_autoptr(GPtrArray) errors = g_ptr_array_new_with_free_func(g_free);
	struct rv_settings s = { 0 };
	guint n = g_strv_length((char **)expect);

	rv_settings_defaults(&s);
	g_assert_cmpint(rv_settings_load(&s, path, errors), ==, -EINVAL);
	/* A bad file changes nothing: all defaults. */
	assert_defaults(&s);
	for (guint i = 0; i < errors->len; i++)
		g_test_message("got: %s", (char *)g_ptr_array_index(errors, i));
	g_assert_cmpuint(errors->len, ==, n);
	for (guint i = 0; i < n; i++) {
		g_autofree char *want = g_strdup_printf("%s:%s", path, expect[i]);

		g_assert_cmpstr(g_ptr_array_index(errors, i), ==, want);
	}
	rv_settings_clear(&s);
	g_assert_cmpint(g_remove(path), ==, 0);
}

static void test_errors(void)
{
	assert_errors("[General]\nDNS=dnsmasq\nDebounceMs=fast\nBackoffInitialMs=0\nBackoffMaxMs=-5\n"
		      "AdminGroup=wheel group\nColour=blue\n", (const char *[]){
		"2: DNS=: 'dnsmasq' is not auto, file, resolvconf or resolved",
		"3: DebounceMs=: 'fast' is not a number of milliseconds from 0 to 60000",
		"4: BackoffInitialMs=: '0' is not a number of milliseconds from 1 to 86400000",
		"5: BackoffMaxMs=: '-5' is not a number of milliseconds from 1 to 86400000",
		"6: AdminGroup=: 'wheel group' is not a group name",
		"7: unknown key Colour= in [General] (known: DNS, DebounceMs, BackoffInitialMs, "
		"BackoffMaxMs, AdminGroup, PortalProbe, PortalExpect, PortalTimeoutMs, PortalWindowSec)", NULL });
	assert_errors("[General]\nPortalProbe=https://example.org/\nPortalTimeoutMs=5\nPortalWindowSec=0\n",
		      (const char *[]){
		"2: PortalProbe=: 'https://example.org/' is not no or an http://HOST[:PORT]/PATH URL",
		"3: PortalTimeoutMs=: '5' is not a number of milliseconds from 100 to 60000",
		"4: PortalWindowSec=: '0' is not a number of seconds from 1 to 3600", NULL });
	assert_errors("[General]\nDebounceMs=100\nDebounceMs=200\n[Rules]\n[General]\n", (const char *[]){
		"3: DebounceMs= repeated (first at line 2)",
		"4: unknown section [Rules] (roamvpn.conf has only [General])",
		"5: [General] repeated (first at line 1)", NULL });
	assert_errors("[General]\nBackoffMaxMs=500\nBackoffInitialMs=1000\n", (const char *[]){
		"2: BackoffMaxMs (500) is less than BackoffInitialMs (1000)", NULL });
	assert_errors("[General]\nBackoffInitialMs=90000\n", (const char *[]){
		"2: BackoffMaxMs (60000) is less than BackoffInitialMs (90000)", NULL });
	assert_errors("DNS=file\n", (const char *[]){
		"1: assignment outside of any [Section]", NULL });
}

int main(int argc, char **argv)
{
	g_autoptr(GError) error = NULL;
	int ret;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("roamvpn-settings-XXXXXX", &error);
	g_assert_no_error(error);
	g_test_add_func("/settings/missing-file", test_missing_file);
	g_test_add_func("/settings/all-keys", test_all_keys);
	g_test_add_func("/settings/errors", test_errors);
	ret = g_test_run();
	ret = rv_test_remove_tmpdir(tmpdir, ret);
	g_free(tmpdir);
	return ret;
}

/* dns-test-util.h - small helpers shared by the netcfg unit tests (temp files,
 * recursive cleanup, log level). Header-only so each test stays one program. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>

static inline void rv_test_rm_rf(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);

	if (dir) {
		const char *name;

		while ((name = g_dir_read_name(dir))) {
			g_autofree char *child = g_build_filename(path, name, NULL);

			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				rv_test_rm_rf(child);
			else
				g_unlink(child);
		}
		g_dir_close(dir);
		g_rmdir(path);
	} else {
		g_unlink(path);
	}
}

static inline void rv_test_write_file(const char *path, const void *data, gsize len, int mode)
{
	GError *error = NULL;

	g_file_set_contents_full(path, data, (gssize)len, G_FILE_SET_CONTENTS_CONSISTENT, mode, &error);
	g_assert_no_error(error);
}

static inline bool rv_test_file_equals(const char *path, const void *data, gsize len)
{
	g_autofree char *text = NULL;
	gsize got = 0;

	if (!g_file_get_contents(path, &text, &got, NULL))
		return false;
	return got == len && memcmp(text, data, len) == 0;
}

/* What a fake has logged so far (never NULL); the log is then emptied. */
static inline char *rv_test_take_log(const char *path)
{
	char *text = NULL;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	g_unlink(path);
	return text;
}

/* The code under test warns about malformed input on purpose; GTest would
 * abort on any warning. Criticals stay fatal. */
static inline void rv_test_quiet_expected_warnings(void)
{
	g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

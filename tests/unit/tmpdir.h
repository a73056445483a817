/* tmpdir.h - the end of a unit test that works in a temporary directory.
 *
 * Every case removes what it made, so the directory must be empty when the cases
 * have run: removing it is the check, and a leftover fails the whole run (the
 * cases themselves passed, but one of them leaks files).
 */
#ifndef RV_TEST_TMPDIR_H
#define RV_TEST_TMPDIR_H

#include <glib.h>
#include <glib/gstdio.h>

/* ret (g_test_run()'s result), or 1 when dir is not empty or cannot be removed. */
static inline int rv_test_remove_tmpdir(const char *dir, int ret)
{
	if (g_rmdir(dir) < 0) {
		g_printerr("leftover files in %s\n", dir);
		return 1;
	}
	return ret;
}

#endif

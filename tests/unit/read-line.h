/* read-line.h - one line of what a child prints, with a deadline.
 *
 * The tests that start their own dbus-daemon learn its address from the line it
 * prints (--print-address). A daemon that hangs must not hang the test: the read
 * gives up at the deadline.
 */
#ifndef RV_TEST_READ_LINE_H
#define RV_TEST_READ_LINE_H

#include <poll.h>
#include <unistd.h>

#include <glib.h>

/* The next line on fd without its '\n' (g_free it), or NULL at end of file or
 * when timeout_ms pass first. */
static inline char *rv_test_read_line(int fd, int timeout_ms)
{
	GString *line = g_string_new(NULL);
	gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int left = (int)((deadline - g_get_monotonic_time()) / G_TIME_SPAN_MILLISECOND);
		char c;

		if (left <= 0 || poll(&pfd, 1, left) <= 0 || read(fd, &c, 1) != 1)
			break;
		if (c == '\n')
			return g_string_free(line, FALSE);
		g_string_append_c(line, c);
	}
	g_string_free(line, TRUE);
	return NULL;
}

#endif

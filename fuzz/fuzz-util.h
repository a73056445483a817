/* fuzz-util.h - shared bits of the configuration fuzz targets: quiet logging (the
 * code under test warns on bad input, by design) and a scratch file to load from. */
#pragma once

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static GLogWriterOutput fuzz_quiet_writer(GLogLevelFlags level, const GLogField *fields,
					  gsize n_fields, gpointer data)
{
	/* A critical or an error is a bug the fuzzer must see. */
	if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
		abort();
	return G_LOG_WRITER_HANDLED;
}

static inline void fuzz_quiet_logs(void)
{
	g_log_set_writer_func(fuzz_quiet_writer, NULL, NULL);
}

/* Write data to DIR/NAME (mode 0600, so secret-holding files pass) and return the path,
 * DIR made once per process. */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	static char *dir;
	static char *path;
	int fd;

	if (!dir) {
		dir = g_dir_make_tmp("roamvpn-fuzz-XXXXXX", NULL);
		if (!dir)
			abort();
	}
	g_free(path);
	path = g_build_filename(dir, name, NULL);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	return path;
}

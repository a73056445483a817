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

static char *fuzz_dir;
static char *fuzz_path;

static void fuzz_remove_files(void)
{
	if (fuzz_path)
		g_unlink(fuzz_path);
	if (fuzz_dir)
		g_rmdir(fuzz_dir);
}

/* Write data to DIR/NAME (mode 0600, so secret-holding files pass) and return the path,
 * DIR made once per process. */
static inline const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	int fd;

	if (!fuzz_dir) {
		/* tmpfs when there is one: a write per input on a disk file system is
		 * what would bound the execution rate. */
		fuzz_dir = g_strdup("/dev/shm/roamvpn-fuzz-XXXXXX");
		if (!g_mkdtemp(fuzz_dir)) {
			g_free(fuzz_dir);
			fuzz_dir = g_dir_make_tmp("roamvpn-fuzz-XXXXXX", NULL);
		}
		if (!fuzz_dir)
			abort();
		atexit(fuzz_remove_files);
	}
	if (fuzz_path)
		g_unlink(fuzz_path);
	g_free(fuzz_path);
	fuzz_path = g_build_filename(fuzz_dir, name, NULL);
	fd = open(fuzz_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size))
		abort();
	close(fd);
	return fuzz_path;
}

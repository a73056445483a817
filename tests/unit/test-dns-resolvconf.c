/* test-dns-resolvconf.c - the "resolvconf" DNS method against a fake
 * resolvconf (tests/fakes/fake-resolvconf, copied into a temp dir) that logs
 * its argv and stdin: exact arguments for openresolv and Debian's resolvconf,
 * failures, crash recovery, and "auto" picking resolvconf or file.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "dns-test-util.h"
#include "dns.h"
#include "error.h"

struct fixture {
	char *tmp;
	char *program;
	char *log;
	char *resolv_conf;
	char *state_dir;
	struct rv_dns_paths paths;
};

static void fixture_setup(struct fixture *f, gconstpointer data)
{
	/* meson test sets the source root; a build dir inside the source tree is
	 * the fallback for running the binary by hand. */
	const char *root = g_getenv("ROAMVPN_SOURCE_ROOT");
	g_autofree char *src = g_build_filename(root ? root : BUILD_ROOT "/..", "tests", "fakes",
						"fake-resolvconf", NULL);
	g_autofree char *script = NULL;
	GError *error = NULL;
	gsize len = 0;

	f->tmp = g_dir_make_tmp("roamvpn-dns-resolvconf-XXXXXX", &error);
	g_assert_no_error(error);
	f->program = g_build_filename(f->tmp, "resolvconf", NULL);
	f->log = g_build_filename(f->tmp, "log", NULL);
	f->resolv_conf = g_build_filename(f->tmp, "resolv.conf", NULL);
	f->state_dir = g_build_filename(f->tmp, "state", NULL);
	g_assert_true(g_file_get_contents(src, &script, &len, &error));
	rv_test_write_file(f->program, script, len, 0755);
	f->paths.resolv_conf = f->resolv_conf;
	f->paths.state_dir = f->state_dir;
	f->paths.resolvconf_program = f->program;
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
	rv_test_rm_rf(f->tmp);
	g_free(f->tmp);
	g_free(f->program);
	g_free(f->log);
	g_free(f->resolv_conf);
	g_free(f->state_dir);
}

static void flag(struct fixture *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->tmp, name, NULL);

	rv_test_write_file(path, "", 0, 0644);
}

static struct rv_dns *new_dns(struct fixture *f, const char *method)
{
	GError *error = NULL;
	struct rv_dns *dns = rv_dns_new(method, &f->paths, NULL, &error);

	g_assert_no_error(error);
	g_assert_nonnull(dns);
	return dns;
}

static char *servers[] = { "10.0.0.1", "fd00::1", NULL };
static char *domains[] = { "corp.example", "eng.corp.example", NULL };

static void test_openresolv(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 5,
		.servers = servers, .domains = domains, .default_route = true,
	};
	g_autofree char *log1 = NULL;
	g_autofree char *log2 = NULL;
	GError *error = NULL;
	struct rv_dns *dns;

	flag(f, "openresolv");
	dns = new_dns(f, "resolvconf");
	g_assert_cmpstr(rv_dns_method(dns), ==, "resolvconf");
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	log1 = rv_test_take_log(f->log);
	g_assert_cmpstr(log1, ==, "argv: [-a] [tun0.roamvpn] [-m] [0] [-x]\n"
				  "stdin:\n"
				  "nameserver 10.0.0.1\n"
				  "nameserver fd00::1\n"
				  "search corp.example eng.corp.example\n"
				  "end\n");
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	g_assert_no_error(error);
	log2 = rv_test_take_log(f->log);
	g_assert_cmpstr(log2, ==, "argv: [-d] [tun0.roamvpn] [-f]\n");
	rv_dns_free(dns);
}

static void test_openresolv_split(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .servers = servers,
	};
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns;

	flag(f, "openresolv");
	dns = new_dns(f, "resolvconf");
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	log = rv_test_take_log(f->log);
	/* Not exclusive: the uplink keeps its servers for other names. */
	g_assert_cmpstr(log, ==, "argv: [-a] [tun0.roamvpn] [-m] [0]\n"
				 "stdin:\nnameserver 10.0.0.1\nnameserver fd00::1\nend\n");
	rv_dns_revert_all(dns);
	rv_dns_free(dns);
}

static void test_debian(struct fixture *f, gconstpointer data)
{
	/* An exec tunnel: no device, the key names the entry. */
	struct rv_dns_request req = {
		.key = "work", .servers = servers, .domains = domains, .default_route = true,
	};
	g_autofree char *log1 = NULL;
	g_autofree char *log2 = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolvconf");

	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	log1 = rv_test_take_log(f->log);
	g_assert_cmpstr(log1, ==, "argv: [-a] [work.roamvpn]\n"
				  "stdin:\n"
				  "nameserver 10.0.0.1\n"
				  "nameserver fd00::1\n"
				  "search corp.example eng.corp.example\n"
				  "end\n");
	g_assert_cmpint(rv_dns_revert(dns, "work", &error), ==, 0);
	log2 = rv_test_take_log(f->log);
	g_assert_cmpstr(log2, ==, "argv: [-d] [work.roamvpn]\n");
	rv_dns_free(dns);
}

static void test_failure(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = { .key = "corp", .ifname = "tun0", .servers = servers };
	g_autofree char *state = g_build_filename(f->state_dir, "dns-resolvconf", NULL);
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolvconf");

	flag(f, "fail");
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), <, 0);
	g_assert_error(error, RV_ERROR, RV_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "exit"));
	g_assert_nonnull(strstr(error->message, "fake failure on purpose"));
	g_clear_error(&error);
	/* Not applied: nothing to revert and nothing left for recovery. */
	g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	rv_dns_free(dns);
}

static void test_hang(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = { .key = "corp", .ifname = "tun0", .servers = servers };
	g_autofree char *pid_file = g_build_filename(f->tmp, "hang.pid", NULL);
	g_autofree char *pid_text = NULL;
	gint64 start;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolvconf");
	pid_t pid;

	flag(f, "hang");
	start = g_get_monotonic_time();
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, -ETIMEDOUT);
	g_assert_error(error, RV_ERROR, RV_ERROR_FAILED);
	g_assert_nonnull(strstr(error->message, "did not finish"));
	g_clear_error(&error);
	/* Not given up on before its 5 s limit (a slow resolvconf still works)... */
	g_assert_cmpint(g_get_monotonic_time() - start, >=, 5 * G_USEC_PER_SEC);
	/* ...and at the limit the hung program was killed and reaped, not waited
	 * for: the fake would run for 60 s, and its pid is gone on return. (How
	 * soon after the limit the call returns is speed, not asserted.) */
	g_assert_true(g_file_get_contents(pid_file, &pid_text, NULL, NULL));
	pid = (pid_t)g_ascii_strtoll(pid_text, NULL, 10);
	g_assert_cmpint(pid, >, 1);
	g_assert_cmpint(kill(pid, 0), ==, -1);
	g_assert_cmpint(errno, ==, ESRCH);
	rv_dns_free(dns);
}

static void test_crash_recovery(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = { .key = "corp", .ifname = "tun0", .servers = servers };
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns;

	flag(f, "openresolv");
	dns = new_dns(f, "resolvconf");
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	rv_dns_free(dns);	/* dies without revert */
	g_free(rv_test_take_log(f->log));

	dns = new_dns(f, "resolvconf");
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "argv: [-d] [tun0.roamvpn] [-f]\n");
	rv_dns_free(dns);
	/* Done once: a further start has nothing to clean. */
	dns = new_dns(f, "resolvconf");
	g_free(log);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "");
	rv_dns_free(dns);
}

static void test_auto(struct fixture *f, gconstpointer data)
{
	static const char theirs[] = "# Generated by resolvconf\nnameserver 192.0.2.53\n";
	static const char plain[] = "nameserver 192.0.2.53\n";
	struct rv_dns *dns;

	rv_test_write_file(f->resolv_conf, theirs, sizeof(theirs) - 1, 0644);
	dns = new_dns(f, "auto");
	g_assert_cmpstr(rv_dns_method(dns), ==, "resolvconf");
	rv_dns_free(dns);

	rv_test_write_file(f->resolv_conf, plain, sizeof(plain) - 1, 0644);
	dns = new_dns(f, "auto");
	g_assert_cmpstr(rv_dns_method(dns), ==, "file");
	rv_dns_free(dns);

	/* Debian's way: a symlink into resolvconf's run directory. */
	g_unlink(f->resolv_conf);
	g_assert_cmpint(symlink("run/resolvconf/resolv.conf", f->resolv_conf), ==, 0);
	dns = new_dns(f, "auto");
	g_assert_cmpstr(rv_dns_method(dns), ==, "resolvconf");
	rv_dns_free(dns);
	g_unlink(f->resolv_conf);

	/* resolvconf's product, but no program: file. */
	rv_test_write_file(f->resolv_conf, theirs, sizeof(theirs) - 1, 0644);
	g_unlink(f->program);
	dns = new_dns(f, "auto");
	g_assert_cmpstr(rv_dns_method(dns), ==, "file");
	rv_dns_free(dns);
}

static void test_missing_program(struct fixture *f, gconstpointer data)
{
	GError *error = NULL;

	g_unlink(f->program);
	g_assert_null(rv_dns_new("resolvconf", &f->paths, NULL, &error));
	g_assert_error(error, RV_ERROR, RV_ERROR_NOT_FOUND);
	g_clear_error(&error);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, struct fixture, NULL, fixture_setup, fn, fixture_teardown)
	ADD("/dns/resolvconf/openresolv", test_openresolv);
	ADD("/dns/resolvconf/openresolv-split", test_openresolv_split);
	ADD("/dns/resolvconf/debian", test_debian);
	ADD("/dns/resolvconf/failure", test_failure);
	ADD("/dns/resolvconf/hang", test_hang);
	ADD("/dns/resolvconf/crash-recovery", test_crash_recovery);
	ADD("/dns/resolvconf/auto", test_auto);
	ADD("/dns/resolvconf/missing-program", test_missing_program);
#undef ADD
	return g_test_run();
}

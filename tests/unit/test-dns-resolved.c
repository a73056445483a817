/* test-dns-resolved.c - the "resolved" DNS method against a fake
 * org.freedesktop.resolve1 (tests/fakes/fake-resolve1.c) on a private
 * dbus-daemon started in a temp dir: call order and arguments for full and
 * split tunnels, an old resolved without SetLinkDefaultRoute, RevertLink,
 * crash recovery, and "auto" choosing resolved only when the name is owned.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "dns-test-util.h"
#include "dns.h"
#include "error.h"
#include "read-line.h"

#define FAKE_RESOLVE1 BUILD_ROOT "/tests/fake-resolve1"

enum fake_mode { FAKE_NONE, FAKE_MODERN, FAKE_OLD, FAKE_STALLED, FAKE_REFUSING };

struct fixture {
	char *tmp;
	char *log;
	char *state_dir;
	char *resolv_conf;
	GPid bus_pid;
	GPid fake_pid;
	char *address;
	DBusConnection *conn;
	struct rv_dns_paths paths;
};

/* Children die with the test, also when an assertion aborts it. */
static void die_with_parent(gpointer data)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

static void start_bus(struct fixture *f)
{
	g_autofree char *config = g_build_filename(f->tmp, "bus.conf", NULL);
	g_autofree char *text = g_strdup_printf(
		"<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		" \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		"<busconfig>\n"
		"  <type>session</type>\n"
		"  <listen>unix:dir=%s</listen>\n"
		"  <auth>EXTERNAL</auth>\n"
		"  <policy context=\"default\">\n"
		"    <allow user=\"*\"/>\n"
		"    <allow own=\"*\"/>\n"
		"    <allow send_destination=\"*\"/>\n"
		"    <allow receive_sender=\"*\"/>\n"
		"  </policy>\n"
		"</busconfig>\n", f->tmp);
	g_autofree char *config_arg = g_strconcat("--config-file=", config, NULL);
	char *argv[] = { "dbus-daemon", config_arg, "--nofork", "--print-address", NULL };
	GError *error = NULL;
	int out_fd = -1;

	rv_test_write_file(config, text, strlen(text), 0644);
	g_assert_true(g_spawn_async_with_pipes(NULL, argv, NULL,
					       G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
					       die_with_parent, NULL, &f->bus_pid, NULL, &out_fd, NULL,
					       &error));
	g_assert_no_error(error);
	f->address = rv_test_read_line(out_fd, 5000);
	close(out_fd);
	g_assert_nonnull(f->address);
}

static bool wait_for_name(struct fixture *f, int timeout_ms)
{
	gint64 deadline = g_get_monotonic_time() + timeout_ms * G_TIME_SPAN_MILLISECOND;

	while (g_get_monotonic_time() < deadline) {
		if (dbus_bus_name_has_owner(f->conn, "org.freedesktop.resolve1", NULL))
			return true;
		g_usleep(20 * 1000);
	}
	return false;
}

static void start_fake(struct fixture *f, enum fake_mode mode)
{
	g_autofree char *stall = g_strdup_printf("--stall-until=%s/release", f->tmp);
	char *argv[] = { FAKE_RESOLVE1, f->address, f->log,
			 mode == FAKE_OLD ? "--no-default-route" :
			 mode == FAKE_STALLED ? stall :
			 mode == FAKE_REFUSING ? "--refuse=SetLinkDNS" : NULL, NULL };
	GError *error = NULL;

	g_assert_true(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, die_with_parent,
				    NULL, &f->fake_pid, &error));
	g_assert_no_error(error);
	g_assert_true(wait_for_name(f, 5000));
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
	enum fake_mode mode = GPOINTER_TO_INT(data);
	DBusError derr = DBUS_ERROR_INIT;
	GError *error = NULL;

	f->tmp = g_dir_make_tmp("roamvpn-dns-resolved-XXXXXX", &error);
	g_assert_no_error(error);
	f->log = g_build_filename(f->tmp, "calls.log", NULL);
	f->state_dir = g_build_filename(f->tmp, "state", NULL);
	f->resolv_conf = g_build_filename(f->tmp, "resolv.conf", NULL);
	f->paths.resolv_conf = f->resolv_conf;
	f->paths.state_dir = f->state_dir;
	/* Never the host's resolvconf, even in "auto". */
	f->paths.resolvconf_program = "/nonexistent/resolvconf";
	start_bus(f);
	f->conn = dbus_connection_open_private(f->address, &derr);
	g_assert_nonnull(f->conn);
	g_assert_true(dbus_bus_register(f->conn, &derr));
	if (mode != FAKE_NONE)
		start_fake(f, mode);
}

static void stop(GPid *pid)
{
	int status;

	if (!*pid)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, &status, 0);
	g_spawn_close_pid(*pid);
	*pid = 0;
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
	stop(&f->fake_pid);
	dbus_connection_close(f->conn);
	dbus_connection_unref(f->conn);
	stop(&f->bus_pid);
	rv_test_rm_rf(f->tmp);
	g_free(f->tmp);
	g_free(f->log);
	g_free(f->state_dir);
	g_free(f->resolv_conf);
	g_free(f->address);
}

static struct rv_dns *new_dns(struct fixture *f, const char *method)
{
	GError *error = NULL;
	struct rv_dns *dns = rv_dns_new(method, &f->paths, f->conn, &error);

	g_assert_no_error(error);
	g_assert_nonnull(dns);
	return dns;
}

/* resolved's calls are asynchronous: let the fake answer all of them (it logs a call
 * before it answers), bounded. */
static void settle(struct fixture *f, struct rv_dns *dns)
{
	gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;

	while (rv_dns_busy(dns) && g_get_monotonic_time() < deadline)
		dbus_connection_read_write_dispatch(f->conn, 50);
	g_assert_false(rv_dns_busy(dns));
}

static char *servers[] = { "10.0.0.1", "fd00::1", NULL };
static char *domains[] = { "corp.example", NULL };

static void test_full(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 7,
		.servers = servers, .domains = domains, .default_route = true,
	};
	g_autofree char *log1 = NULL;
	g_autofree char *log2 = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "auto");

	g_assert_cmpstr(rv_dns_method(dns), ==, "resolved");
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	settle(f, dns);
	log1 = rv_test_take_log(f->log);
	g_assert_cmpstr(log1, ==, "SetLinkDomains 7 corp.example:0 ~.:1\n"
				  "SetLinkDefaultRoute 7 1\n"
				  "SetLinkDNS 7 2:10.0.0.1 10:fd00::1\n");
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	g_assert_no_error(error);
	settle(f, dns);
	log2 = rv_test_take_log(f->log);
	g_assert_cmpstr(log2, ==, "RevertLink 7\n");
	rv_dns_free(dns);
}

static void test_split(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 9,
		.servers = servers, .domains = domains,
	};
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	settle(f, dns);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "SetLinkDomains 9 corp.example:0\n"
				 "SetLinkDefaultRoute 9 0\n"
				 "SetLinkDNS 9 2:10.0.0.1 10:fd00::1\n");
	rv_dns_revert_all(dns);
	settle(f, dns);
	g_free(log);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "RevertLink 9\n");
	rv_dns_free(dns);
}

static void test_old_resolved(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 7,
		.servers = servers, .default_route = true,
	};
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	/* UnknownMethod for SetLinkDefaultRoute is no failure; "~." still routes. */
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	settle(f, dns);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "SetLinkDomains 7 ~.:1\nSetLinkDNS 7 2:10.0.0.1 10:fd00::1\n");
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	rv_dns_free(dns);
}

static void test_no_device(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = { .key = "exec1", .servers = servers };
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, -EOPNOTSUPP);
	g_assert_error(error, RV_ERROR, RV_ERROR_UNSUPPORTED);
	g_clear_error(&error);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "");
	rv_dns_free(dns);
}

static void test_crash_recovery(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 11, .servers = servers,
	};
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	settle(f, dns);
	rv_dns_free(dns);	/* dies without revert */
	g_free(rv_test_take_log(f->log));
	dns = new_dns(f, "resolved");
	settle(f, dns);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "RevertLink 11\n");
	rv_dns_free(dns);
}

/* A resolved that does not answer must not hold up the daemon: apply and revert return
 * at once (the blocking calls of before waited 3 s each and then failed), and the
 * calls go out in order once resolved gets to them. */
static void test_stalled_resolved(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 7,
		.servers = servers, .domains = domains, .default_route = true,
	};
	g_autofree char *release = g_build_filename(f->tmp, "release", NULL);
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	g_assert_true(rv_dns_busy(dns));	/* sent, not answered: we did not wait */
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	g_assert_no_error(error);
	g_assert_true(rv_dns_busy(dns));
	g_assert_true(g_file_set_contents(release, "", 0, NULL));
	settle(f, dns);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "SetLinkDomains 7 corp.example:0 ~.:1\n"
				 "SetLinkDefaultRoute 7 1\n"
				 "SetLinkDNS 7 2:10.0.0.1 10:fd00::1\n"
				 "RevertLink 7\n");
	rv_dns_free(dns);
	g_unlink(release);
}

/* A refused step (here SetLinkDNS) undoes the whole link: half a configuration is
 * worse than none. The refusal arrives after apply returned. */
static void test_refused_step_reverts(struct fixture *f, gconstpointer data)
{
	struct rv_dns_request req = {
		.key = "corp", .ifname = "tun0", .ifindex = 8,
		.servers = servers, .domains = domains,
	};
	g_autofree char *log = NULL;
	GError *error = NULL;
	struct rv_dns *dns = new_dns(f, "resolved");

	rv_test_quiet_expected_warnings();	/* the refusal is logged as a warning */
	g_assert_cmpint(rv_dns_apply(dns, &req, &error), ==, 0);
	g_assert_no_error(error);
	settle(f, dns);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "SetLinkDomains 8 corp.example:0\n"
				 "SetLinkDefaultRoute 8 0\n"
				 "REFUSED SetLinkDNS 8\n"
				 "RevertLink 8\n");
	/* Nothing left to revert; nothing left for crash recovery either. */
	g_assert_cmpint(rv_dns_revert(dns, "corp", &error), ==, 0);
	settle(f, dns);
	g_free(log);
	log = rv_test_take_log(f->log);
	g_assert_cmpstr(log, ==, "");
	{
		g_autofree char *state = g_build_filename(f->state_dir, "dns-resolved", NULL);

		g_assert_false(g_file_test(state, G_FILE_TEST_EXISTS));
	}
	rv_dns_free(dns);
}

static void test_auto_without_resolved(struct fixture *f, gconstpointer data)
{
	struct rv_dns *dns = new_dns(f, "auto");

	/* A bus, but nobody owns org.freedesktop.resolve1. */
	g_assert_cmpstr(rv_dns_method(dns), ==, "file");
	rv_dns_free(dns);
}

int main(int argc, char **argv)
{
	g_autofree char *bus_daemon = g_find_program_in_path("dbus-daemon");

	g_test_init(&argc, &argv, NULL);
	if (!g_file_test(FAKE_RESOLVE1, G_FILE_TEST_IS_EXECUTABLE) || !bus_daemon) {
		g_test_skip("needs dbus-daemon and " FAKE_RESOLVE1);
		return g_test_run();
	}
#define ADD(path, mode, fn) g_test_add(path, struct fixture, GINT_TO_POINTER(mode), \
				       fixture_setup, fn, fixture_teardown)
	ADD("/dns/resolved/full", FAKE_MODERN, test_full);
	ADD("/dns/resolved/split", FAKE_MODERN, test_split);
	ADD("/dns/resolved/old-resolved", FAKE_OLD, test_old_resolved);
	ADD("/dns/resolved/no-device", FAKE_MODERN, test_no_device);
	ADD("/dns/resolved/crash-recovery", FAKE_MODERN, test_crash_recovery);
	ADD("/dns/resolved/auto-without-resolved", FAKE_NONE, test_auto_without_resolved);
	ADD("/dns/resolved/stalled-resolved", FAKE_STALLED, test_stalled_resolved);
	ADD("/dns/resolved/refused-step-reverts", FAKE_REFUSING, test_refused_step_reverts);
#undef ADD
	return g_test_run();
}

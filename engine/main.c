/* main.c - roamvpn-engine's command line, daemonizing and start-up order:
 * open or adopt the TUN, UDP and UAPI fds, then drop privileges, then run.
 * The contract (options, fds, privilege model) is docs/engine.md. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libintl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "device.h"
#include "sandbox.h"
#include "tun.h"
#include "udp.h"

#define SOCKET_DIR "/var/run/wireguard"

/* The help is translated (po/); the engine's other messages are for logs. */
#define T_(s) dgettext(GETTEXT_PACKAGE, s)

static void usage(FILE *f)
{
	const char *u = T_("Usage:");
	int pad = 0;

	for (const char *p = u; *p; p++)	/* characters, not bytes, for the indent */
		pad += ((unsigned char)*p & 0xc0) != 0x80;
	fprintf(f, "%s roamvpn-engine [-f/--foreground] INTERFACE-NAME\n", u);
	fprintf(f, "%*s roamvpn-engine --foreground --tun-fd=N --uapi-fd=M [--udp4-fd=A] [--udp6-fd=B]\n"
		"%*s                [--uapi-listen-fd=L] [--user=USER] INTERFACE-NAME\n", pad, "", pad, "");
	fprintf(f, "%s\n", T_("A WireGuard-compatible userspace tunnel; configure it with wg(8)."));
	fprintf(f, "       --no-offload: %s\n", T_("stand-alone TUN without IFF_VNET_HDR (no TSO/GSO)"));
	fprintf(f, "       --workers=N: %s\n",
		T_("threads sealing/opening per direction (default: one per CPU)"));
	fprintf(f, "%s LOG_LEVEL=error|verbose|debug|silent, WG_PROCESS_FOREGROUND=1.\n",
		T_("Environment:"));
	fprintf(f, "%s --test-rekey-after-time=SECONDS --test-rekey-after-messages=N --test-no-seccomp\n",
		T_("Test-only:"));
	fprintf(f, "%s\n", T_("See docs/engine.md."));
}

static int parse_fd(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > INT_MAX || fcntl((int)v, F_GETFD) < 0) {
		fprintf(stderr, "roamvpn-engine: %s: '%s' is not an open file descriptor\n", what, s);
		exit(2);
	}
	fcntl((int)v, F_SETFD, FD_CLOEXEC);
	return (int)v;
}

static uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || !*s || s[0] == '-' || v == 0) {
		fprintf(stderr, "roamvpn-engine: %s: '%s' is not a positive number\n", what, s);
		exit(2);
	}
	return v;
}

static void set_log_level(void)
{
	const char *l = getenv("LOG_LEVEL");

	if (!l)
		return;
	if (!strcmp(l, "debug") || !strcmp(l, "verbose"))
		rv_log_level = RV_LOG_VERBOSE;
	else if (!strcmp(l, "error"))
		rv_log_level = RV_LOG_ERROR;
	else if (!strcmp(l, "silent"))
		rv_log_level = RV_LOG_SILENT;
}

/* Fork; the parent exits 0 once the child reports readiness on the pipe,
 * or 1 if the child dies first, so `roamvpn-engine wg0 && wg set ...` works
 * like with wireguard-go. Returns the write end in the child. */
static int daemonize(void)
{
	int pfd[2], devnull;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		char c;
		ssize_t n;

		close(pfd[1]);
		do
			n = read(pfd[0], &c, 1);
		while (n < 0 && errno == EINTR);
		_exit(n == 1 ? 0 : 1);
	}
	close(pfd[0]);
	setsid();
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	if (chdir("/") < 0)
		return -errno;
	return pfd[1];
}

int main(int argc, char **argv)
{
	enum {
		OPT_TUN_FD = 256, OPT_UAPI_FD, OPT_UAPI_LISTEN_FD, OPT_UDP4_FD, OPT_UDP6_FD, OPT_USER,
		OPT_TEST_REKEY_TIME, OPT_TEST_REKEY_MSGS, OPT_TEST_NO_SECCOMP, OPT_NO_OFFLOAD, OPT_VERSION, OPT_WORKERS,
	};
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "tun-fd", required_argument, NULL, OPT_TUN_FD },
		{ "uapi-fd", required_argument, NULL, OPT_UAPI_FD },
		{ "uapi-listen-fd", required_argument, NULL, OPT_UAPI_LISTEN_FD },
		{ "udp4-fd", required_argument, NULL, OPT_UDP4_FD },
		{ "udp6-fd", required_argument, NULL, OPT_UDP6_FD },
		{ "user", required_argument, NULL, OPT_USER },
		{ "test-rekey-after-time", required_argument, NULL, OPT_TEST_REKEY_TIME },
		{ "test-rekey-after-messages", required_argument, NULL, OPT_TEST_REKEY_MSGS },
		{ "test-no-seccomp", no_argument, NULL, OPT_TEST_NO_SECCOMP },
		{ "no-offload", no_argument, NULL, OPT_NO_OFFLOAD },
		{ "workers", required_argument, NULL, OPT_WORKERS },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_device_options opts;
	struct rv_device *dev;
	struct rv_udp udp;
	const char *user = NULL, *ifname, *fg_env = getenv("WG_PROCESS_FOREGROUND");
	char name[IFNAMSIZ];
	bool foreground = fg_env && !strcmp(fg_env, "1"), seccomp = true, vnet = true;
	int tun_fd = -1, uapi_fd = -1, uapi_listen_fd = -1, udp4_fd = -1, udp6_fd = -1, ready_fd = -1, opt, ret, status;

	/* Messages only (numbers and the rest stay C): for --help. */
	setlocale(LC_MESSAGES, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	rv_timer_config_default(&opts.timers);
	opts.crypto_workers = 0;
	while ((opt = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': foreground = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_VERSION: printf("roamvpn-engine %s\n", VERSION); return 0;
		case OPT_TUN_FD: tun_fd = parse_fd(optarg, "--tun-fd"); break;
		case OPT_UAPI_FD: uapi_fd = parse_fd(optarg, "--uapi-fd"); break;
		case OPT_UAPI_LISTEN_FD: uapi_listen_fd = parse_fd(optarg, "--uapi-listen-fd"); break;
		case OPT_UDP4_FD: udp4_fd = parse_fd(optarg, "--udp4-fd"); break;
		case OPT_UDP6_FD: udp6_fd = parse_fd(optarg, "--udp6-fd"); break;
		case OPT_USER: user = optarg; break;
		case OPT_TEST_REKEY_TIME:
			rv_timer_config_set_rekey_after_time(&opts.timers,
							     parse_u64(optarg, "--test-rekey-after-time"));
			break;
		case OPT_TEST_REKEY_MSGS:
			opts.timers.rekey_after_messages = parse_u64(optarg, "--test-rekey-after-messages");
			break;
		case OPT_TEST_NO_SECCOMP: seccomp = false; break;
		case OPT_NO_OFFLOAD: vnet = false; break;
		case OPT_WORKERS: opts.crypto_workers = (unsigned)parse_u64(optarg, "--workers"); break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	ifname = argv[optind];
	if (!*ifname || strlen(ifname) >= IFNAMSIZ || strchr(ifname, '/')) {
		fprintf(stderr, "roamvpn-engine: invalid interface name '%s'\n", ifname);
		return 2;
	}
	if (uapi_fd >= 0 && tun_fd < 0) {
		fprintf(stderr, "roamvpn-engine: --uapi-fd needs --tun-fd\n");
		return 2;
	}
	if (uapi_listen_fd >= 0 && uapi_fd < 0) {
		fprintf(stderr, "roamvpn-engine: --uapi-listen-fd needs --uapi-fd\n");
		return 2;
	}
	set_log_level();
	if (wg_crypto_init() < 0) {
		fprintf(stderr, "roamvpn-engine: crypto libraries unusable\n");
		return 1;
	}

	if (tun_fd >= 0) {
		ret = rv_tun_adopt(tun_fd, name, &vnet);
		if (ret < 0) {
			fprintf(stderr, "roamvpn-engine: --tun-fd is not a TUN device (%s)\n", strerror(-ret));
			return 1;
		}
		fcntl(tun_fd, F_SETFL, fcntl(tun_fd, F_GETFL) | O_NONBLOCK);
	} else {
		tun_fd = rv_tun_create(ifname, vnet, name);
		if (tun_fd < 0) {
			fprintf(stderr, "roamvpn-engine: failed to create TUN device %s: %s\n", ifname,
				strerror(-tun_fd));
			return 1;
		}
		/* what wireguard-go does: room for the 80-byte worst-case overhead */
		rv_tun_set_mtu(name, RV_TUN_DEFAULT_MTU);
	}

	rv_udp_init(&udp);
	if (udp4_fd >= 0 || udp6_fd >= 0) {
		ret = rv_udp_adopt(&udp, udp4_fd, udp6_fd);
		if (ret < 0) {
			fprintf(stderr, "roamvpn-engine: --udp4-fd/--udp6-fd: not UDP sockets (%s)\n",
				strerror(-ret));
			return 1;
		}
		{
			uint32_t mark = 0;
			socklen_t ml = sizeof(mark);

			if (getsockopt(udp.fd4 >= 0 ? udp.fd4 : udp.fd6, SOL_SOCKET, SO_MARK, &mark, &ml) == 0)
				udp.fwmark = mark;
		}
	} else {
		ret = rv_udp_open(&udp, 0, 0);
		if (ret < 0) {
			fprintf(stderr, "roamvpn-engine: cannot open UDP sockets: %s\n", strerror(-ret));
			return 1;
		}
	}

	dev = calloc(1, sizeof(*dev));
	if (!dev || rv_device_init(dev, name, tun_fd, vnet, &udp, &opts) < 0) {
		fprintf(stderr, "roamvpn-engine: cannot set up the device\n");
		return 1;
	}
	if (uapi_fd >= 0) {
		ret = rv_device_add_uapi_fd(dev, uapi_fd);
		if (ret >= 0 && uapi_listen_fd >= 0)
			ret = rv_device_adopt_uapi_listener(dev, uapi_listen_fd);
	} else {
		const char *dir = getenv("RV_ENGINE_SOCKET_DIR");	/* tests only */

		ret = rv_device_listen_uapi(dev, dir && *dir ? dir : SOCKET_DIR);
		if (ret == -EADDRINUSE) {
			fprintf(stderr, "roamvpn-engine: %s is already served by another process\n", name);
			return 1;
		}
	}
	if (ret < 0) {
		fprintf(stderr, "roamvpn-engine: UAPI socket: %s\n", strerror(-ret));
		return 1;
	}

	if (!foreground) {
		ready_fd = daemonize();
		if (ready_fd < 0) {
			fprintf(stderr, "roamvpn-engine: cannot daemonize: %s\n", strerror(-ready_fd));
			return 1;
		}
	}

	/* localtime_r() in the log lines reads /etc/localtime once: before seccomp */
	tzset();
	{
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
	}
	{
		/* after this the engine opens no socket but, stand-alone, a UDP
		 * one for `set listen_port`; the daemon owns the port in daemon mode */
		const struct rv_sandbox_policy policy = {
			.udp_fd4 = dev->udp.fd4, .udp_fd6 = dev->udp.fd6, .allow_rebind = uapi_fd < 0,
		};
		const struct rv_sandbox_policy *pol = seccomp ? &policy : NULL;

		if (uapi_fd >= 0 || user)
			ret = rv_sandbox_enter(RV_SANDBOX_USER, user, pol);
		else if (geteuid() == 0)
			ret = rv_sandbox_enter(RV_SANDBOX_KEEP_NET_ADMIN, NULL, pol);
		else	/* not root (pre-made TUN): nothing to drop, still filter */
			ret = pol ? rv_sandbox_install_seccomp(pol) : 0;
	}
	if (ret < 0) {
		fprintf(stderr, "roamvpn-engine: cannot drop privileges: %s\n", strerror(-ret));
		if (dev->uapi_path)
			unlink(dev->uapi_path);
		return 1;
	}
	rv_log_verbose("UAPI listener started; privileges dropped");
	if (ready_fd >= 0) {
		ssize_t n = write(ready_fd, "1", 1);

		(void)n;
		close(ready_fd);
	}
	status = rv_device_run(dev);
	rv_device_destroy(dev);
	free(dev);
	/* Under the filter, skip the atexit handlers: a sanitizer build's
	 * LeakSanitizer would stop the world with prctl/ptrace/clone there and
	 * be killed for it (SIGSYS instead of our status). Leak checks of the
	 * engine: run it with --test-no-seccomp. */
	if (seccomp) {
		fflush(NULL);
		_exit(status);
	}
	return status;
}

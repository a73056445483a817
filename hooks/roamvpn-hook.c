/* roamvpn-hook - the script vpnc and pppd run: hands their report to roamvpnd.
 *
 * vpnc:  Script=/usr/libexec/roamvpn/roamvpn-hook   (reason=connect|disconnect|... in env)
 * pppd:  ip-up-script / ip-down-script /usr/libexec/roamvpn/roamvpn-hook  (argv + env)
 *
 * It configures nothing itself: it sends its argv and environment to the daemon,
 * which checks (SO_PEERCRED) that the sender descends from a child it started,
 * and applies addresses, routes and DNS. The socket is $ROAMVPN_HOOK_SOCKET, or
 * --socket=PATH as the first argument (pppd clears the environment), or the
 * default in the state directory. Exit 0 when the daemon accepted the report.
 */
#include "config.h"

#include <errno.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "protocol.h"


extern char **environ;

#define T_(s) dgettext(GETTEXT_PACKAGE, s)

static int append(char *buf, size_t *len, char tag, const char *text)
{
	size_t n = strlen(text) + 1;

	if (*len + n + (tag ? 1 : 0) > RV_HOOK_MAX_REPORT)
		return -E2BIG;
	if (tag)
		buf[(*len)++] = tag;
	memcpy(buf + *len, text, n);
	*len += n;
	return 0;
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = getenv(RV_HOOK_SOCKET_ENV);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 10 };
	static char report[RV_HOOK_MAX_REPORT];
	char answer[512];
	size_t len = 0;
	ssize_t n;
	int first = 1, fd, err = 0;

	/* For people only: vpnc, pppd and openvpn never pass these as the first
	 * argument (pppd's is the interface, openvpn's the device). */
	/* Messages in the user's language (po/); only LC_MESSAGES: the report
	 * itself is bytes and is not touched. */
	setlocale(LC_MESSAGES, "");
	bindtextdomain(GETTEXT_PACKAGE, LOCALEDIR);
	bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf(T_("Usage: roamvpn-hook [--socket=PATH] [ARGUMENTS...]\n"
			  "The script that vpnc, pppd and openvpn run for roamvpnd: it sends\n"
			  "its arguments and environment to roamvpnd (the socket in $%s,\n"
			  "else %s) and exits 0 when roamvpnd accepted them.\n"
			  "See roamvpn-hook(8).\n"),
		       RV_HOOK_SOCKET_ENV, STATEDIR "/" RV_HOOK_SOCKET_NAME);
		return 0;
	}
	if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("roamvpn-hook %s\n", VERSION);
		return 0;
	}
	if (argc > 1 && strncmp(argv[1], "--socket=", 9) == 0) {
		path = argv[1] + 9;
		first = 2;
	}
	if (!path || !*path)
		path = STATEDIR "/" RV_HOOK_SOCKET_NAME;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fputs(T_("roamvpn-hook: socket path too long\n"), stderr);
		return 1;
	}
	strcpy(addr.sun_path, path);

	err = append(report, &len, 0, RV_HOOK_MAGIC);
	/* argv[0] too: pppd's scripts are told apart by the name they run under. */
	for (int i = 0; i < argc && !err; i++)
		if (i == 0 || i >= first)
			err = append(report, &len, 'A', argv[i]);
	for (char **e = environ; *e && !err; e++)
		err = append(report, &len, 'E', *e);
	if (err) {
		fprintf(stderr, T_("roamvpn-hook: report larger than %d bytes\n"), RV_HOOK_MAX_REPORT);
		return 1;
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, T_("roamvpn-hook: cannot reach roamvpnd at %s: %s\n"), path,
			strerror(errno));
		return 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((err = send_all(fd, report, len)) < 0 || shutdown(fd, SHUT_WR) < 0) {
		fprintf(stderr, T_("roamvpn-hook: sending the report: %s\n"),
			strerror(err ? -err : errno));
		return 1;
	}
	n = recv(fd, answer, sizeof(answer) - 1, 0);
	close(fd);
	if (n <= 0) {
		fputs(T_("roamvpn-hook: no answer from roamvpnd\n"), stderr);
		return 1;
	}
	answer[n] = '\0';
	if (strcmp(answer, "OK\n") == 0)
		return 0;
	fprintf(stderr, "roamvpn-hook: roamvpnd: %s", answer);
	return 1;
}

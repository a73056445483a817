/* hook-peer.c - test helper for test-hook-server: a process that reports to the
 * hook socket, or that takes over a given pid under its parent.
 *
 *   hook-peer report SOCKET        send one report, print the reply, exit 0 on "OK"
 *   hook-peer hold PID READYFILE   make a child with exactly PID (clone3 set_tid,
 *                                  needs CAP_SYS_ADMIN), create READYFILE, wait
 *                                  until killed; exit 77 if PID cannot be had
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char report[] = "ROAMVPN-HOOK 1\0Aconnect\0ETUNDEV=tun9\0";

static int do_report(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char reply[256];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path))
		return 2;
	strcpy(addr.sun_path, path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    write(fd, report, sizeof(report) - 1) != (ssize_t)sizeof(report) - 1 ||
	    shutdown(fd, SHUT_WR) < 0)
		return 2;
	n = read(fd, reply, sizeof(reply) - 1);
	if (n < 0)
		return 2;
	reply[n] = '\0';
	fprintf(stderr, "%s", reply);
	return strncmp(reply, "OK", 2) == 0 ? 0 : 1;
}

static int do_hold(pid_t want, const char *ready)
{
	pid_t tid[1] = { want };
	struct clone_args args = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)tid,
		.set_tid_size = 1,
	};
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	int fd;

	if (pid < 0)
		return errno == EEXIST || errno == EPERM || errno == ENOSYS ? 77 : 2;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 2;
	close(fd);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "report") == 0)
		return do_report(argv[2]);
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return do_hold((pid_t)atoi(argv[2]), argv[3]);
	fprintf(stderr, "usage: hook-peer report SOCKET | hold PID READYFILE\n");
	return 2;
}

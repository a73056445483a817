/* test-engine-sandbox.c - the engine's real seccomp filters
 * (rv_sandbox_install_seccomp, engine/sandbox.c) installed in a forked child:
 * what a compromised engine would try is refused (a new UDP socket sending
 * to an address, connect, clone with new user/net namespaces, fork, clone3,
 * netlink/packet/unix sockets, dup3 onto a foreign number, exec), while what
 * the engine does in its steady state still works (threads, datagrams from
 * its own socket, receiving, the MTU ioctl, a stand-alone rebind).
 *
 * Each case runs in its own child so a kill (SIGSYS) or a wrong answer is
 * reported by the parent; the child writes "step: errno" lines to a pipe. */
#include <fcntl.h>
#include <errno.h>
#include <glib.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <net/if.h>
#include <unistd.h>

#include "sandbox.h"

static int report_fd = -1;

/* one line per step: "name errno" (0 = the call succeeded) */
static void report(const char *step, int err)
{
	char line[128];
	int n = snprintf(line, sizeof(line), "%s %d\n", step, err);
	ssize_t w = write(report_fd, line, (size_t)n);

	(void)w;
}

static int udp_loopback(struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0)
		return -1;
	return fd;
}

static void *thread_fn(void *arg)
{
	return arg;
}

struct setup {
	int engine_fd;			/* the engine's own UDP socket */
	int receiver_fd;		/* a peer on loopback */
	struct sockaddr_in receiver;
};

static void child_setup(struct setup *s, bool allow_rebind)
{
	struct sockaddr_in me;
	struct rv_sandbox_policy pol;

	s->engine_fd = udp_loopback(&me);
	s->receiver_fd = udp_loopback(&s->receiver);
	if (s->engine_fd < 0 || s->receiver_fd < 0)
		_exit(90);
	pol.udp_fd4 = s->engine_fd;
	pol.udp_fd6 = -1;
	pol.allow_rebind = allow_rebind;
	if (rv_sandbox_install_seccomp(&pol) < 0)
		_exit(91);
}

static int err_of(long ret)
{
	return ret < 0 ? errno : 0;
}

/* The engine's steady state under the filters. */
static void child_works(bool allow_rebind)
{
	struct setup s;
	pthread_t t;
	void *res = NULL;
	char buf[16];
	struct ifreq ifr;
	struct mmsghdr mm;
	struct iovec iov = { .iov_base = (void *)"mm", .iov_len = 2 };

	child_setup(&s, allow_rebind);
	report("pthread_create", pthread_create(&t, NULL, thread_fn, (void *)1));
	pthread_join(t, &res);
	report("thread_ran", res == (void *)1 ? 0 : 1);
	report("sendto_own", err_of(sendto(s.engine_fd, "x", 1, 0, (struct sockaddr *)&s.receiver,
					   sizeof(s.receiver))));
	memset(&mm, 0, sizeof(mm));
	mm.msg_hdr.msg_name = &s.receiver;
	mm.msg_hdr.msg_namelen = sizeof(s.receiver);
	mm.msg_hdr.msg_iov = &iov;
	mm.msg_hdr.msg_iovlen = 1;
	report("sendmmsg_own", sendmmsg(s.engine_fd, &mm, 1, 0) == 1 ? 0 : errno);
	report("recv", recv(s.receiver_fd, buf, sizeof(buf), 0) == 1 ? 0 : errno);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	report("mtu_ioctl", err_of(ioctl(s.engine_fd, SIOCGIFMTU, &ifr)));
	if (allow_rebind) {
		/* what `set listen_port` does: new socket, bind, dup3 over ours */
		struct sockaddr_in any = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP);

		report("rebind_socket", fd < 0 ? errno : 0);
		report("rebind_bind", err_of(bind(fd, (struct sockaddr *)&any, sizeof(any))));
		report("rebind_dup3", err_of(dup3(fd, s.engine_fd, O_CLOEXEC)));
		report("sendto_rebound", err_of(sendto(s.engine_fd, "y", 1, 0, (struct sockaddr *)&s.receiver,
						       sizeof(s.receiver))));
	}
	_exit(0);
}

/* What a compromised engine tried (issue: new UDP socket + sendto, clone
 * into new namespaces, netlink), and relatives. */
static void child_escapes(bool allow_rebind)
{
	struct setup s;
	int fd;
	long r;
	struct msghdr mh;
	struct iovec iov = { .iov_base = (void *)"z", .iov_len = 1 };

	child_setup(&s, allow_rebind);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	report("new_udp_socket", fd < 0 ? errno : 0);
	if (fd >= 0) {
		report("new_sendto", err_of(sendto(fd, "z", 1, 0, (struct sockaddr *)&s.receiver,
						   sizeof(s.receiver))));
		memset(&mh, 0, sizeof(mh));
		mh.msg_name = &s.receiver;
		mh.msg_namelen = sizeof(s.receiver);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		report("new_sendmsg", err_of(sendmsg(fd, &mh, 0)));
		report("new_connect", err_of(connect(fd, (struct sockaddr *)&s.receiver, sizeof(s.receiver))));
		report("dup3_foreign", err_of(dup3(fd, 100, 0)));
	} else {
		/* no socket: try the others on the engine's own one */
		report("new_sendto", EPERM);
		report("new_sendmsg", EPERM);
		report("new_connect", err_of(connect(s.engine_fd, (struct sockaddr *)&s.receiver,
						     sizeof(s.receiver))));
		report("dup3_foreign", err_of(dup3(s.engine_fd, 100, 0)));
	}
	report("tcp_socket", err_of(socket(AF_INET, SOCK_STREAM, 0)));
	report("raw_socket", err_of(socket(AF_INET, SOCK_RAW, IPPROTO_UDP)));
	report("netlink_socket", err_of(socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER)));
	report("netlink_route", err_of(socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)));
	report("packet_socket", err_of(socket(AF_PACKET, SOCK_DGRAM, 0)));
	report("unix_socket", err_of(socket(AF_UNIX, SOCK_STREAM, 0)));
	r = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | CLONE_NEWNET | SIGCHLD), 0, 0, 0, 0);
	if (r == 0)
		_exit(0);	/* the namespace child: must never exist */
	report("clone_newuser_newnet", err_of(r));
	r = fork();
	if (r == 0)
		_exit(0);
	report("fork", err_of(r));
	{
		struct clone_args ca;

		memset(&ca, 0, sizeof(ca));
		ca.flags = CLONE_NEWNET;
		ca.exit_signal = SIGCHLD;
		r = syscall(SYS_clone3, &ca, sizeof(ca));
		if (r == 0)
			_exit(0);
		report("clone3", err_of(r));
	}
	/* the receiver must have got nothing from all this */
	{
		char b[4];

		report("nothing_received", recv(s.receiver_fd, b, sizeof(b), MSG_DONTWAIT) < 0 ? 0 : 1);
	}
	_exit(0);
}

static void child_exec(void)
{
	struct setup s;
	char *const argv[] = { (char *)"/bin/true", NULL };

	child_setup(&s, true);
	execv("/bin/true", argv);
	_exit(1);	/* not reached: the first filter kills */
}

/* Runs fn in a child; returns its report and wait status. */
static GHashTable *run_child(void (*fn)(bool), bool arg, int *status)
{
	GHashTable *h = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	GString *out = g_string_new(NULL);
	char buf[512];
	char **lines;
	int p[2];
	pid_t pid;
	ssize_t n;
	unsigned i;

	g_assert_cmpint(pipe(p), ==, 0);
	pid = fork();
	g_assert_cmpint(pid, >=, 0);
	if (pid == 0) {
		close(p[0]);
		report_fd = p[1];
		fn(arg);
		_exit(0);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof(buf))) > 0)
		g_string_append_len(out, buf, n);
	close(p[0]);
	g_assert_cmpint(waitpid(pid, status, 0), ==, pid);
	lines = g_strsplit(out->str, "\n", -1);
	for (i = 0; lines[i]; i++) {
		char *sp = strchr(lines[i], ' ');

		if (!sp)
			continue;
		*sp = 0;
		g_test_message("%s: %s", lines[i], sp + 1);
		g_hash_table_insert(h, g_strdup(lines[i]), GINT_TO_POINTER(atoi(sp + 1) + 1));
	}
	g_strfreev(lines);
	g_string_free(out, TRUE);
	return h;
}

/* errno of a step, or -1 if the child never reported it */
static int step(GHashTable *h, const char *name)
{
	gpointer v = g_hash_table_lookup(h, name);

	return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static void check_works(bool allow_rebind)
{
	int status;
	GHashTable *h = run_child(child_works, allow_rebind, &status);

	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	g_assert_cmpint(step(h, "pthread_create"), ==, 0);
	g_assert_cmpint(step(h, "thread_ran"), ==, 0);
	g_assert_cmpint(step(h, "sendto_own"), ==, 0);
	g_assert_cmpint(step(h, "sendmmsg_own"), ==, 0);
	g_assert_cmpint(step(h, "recv"), ==, 0);
	g_assert_cmpint(step(h, "mtu_ioctl"), ==, 0);
	if (allow_rebind) {
		g_assert_cmpint(step(h, "rebind_socket"), ==, 0);
		g_assert_cmpint(step(h, "rebind_bind"), ==, 0);
		g_assert_cmpint(step(h, "rebind_dup3"), ==, 0);
		g_assert_cmpint(step(h, "sendto_rebound"), ==, 0);
	}
	g_hash_table_destroy(h);
}

static void check_escapes(bool allow_rebind)
{
	static const char *const refused[] = {
		"new_sendto", "new_sendmsg", "new_connect", "dup3_foreign", "tcp_socket", "raw_socket",
		"netlink_socket", "netlink_route", "packet_socket", "unix_socket",
		"clone_newuser_newnet", "fork",
	};
	int status;
	GHashTable *h = run_child(child_escapes, allow_rebind, &status);
	unsigned i;

	g_assert_true(WIFEXITED(status));
	g_assert_cmpint(WEXITSTATUS(status), ==, 0);
	/* stand-alone may open a UDP socket (for rebinding) but not use it */
	g_assert_cmpint(step(h, "new_udp_socket"), ==, allow_rebind ? 0 : EPERM);
	for (i = 0; i < G_N_ELEMENTS(refused); i++) {
		g_test_message("checking %s", refused[i]);
		g_assert_cmpint(step(h, refused[i]), ==, EPERM);
	}
	g_assert_cmpint(step(h, "clone3"), ==, ENOSYS);
	g_assert_cmpint(step(h, "nothing_received"), ==, 0);
	g_hash_table_destroy(h);
}

static void test_standalone_works(void) { check_works(true); }
static void test_daemon_works(void) { check_works(false); }
static void test_standalone_escapes(void) { check_escapes(true); }
static void test_daemon_escapes(void) { check_escapes(false); }

static void run_exec(bool unused)
{
	(void)unused;
	child_exec();
}

static void test_exec_kills(void)
{
	int status;
	GHashTable *h = run_child(run_exec, false, &status);

	g_assert_true(WIFSIGNALED(status));
	g_assert_cmpint(WTERMSIG(status), ==, SIGSYS);
	g_hash_table_destroy(h);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/engine/sandbox/standalone-steady-state", test_standalone_works);
	g_test_add_func("/engine/sandbox/daemon-steady-state", test_daemon_works);
	g_test_add_func("/engine/sandbox/standalone-escapes-refused", test_standalone_escapes);
	g_test_add_func("/engine/sandbox/daemon-escapes-refused", test_daemon_escapes);
	g_test_add_func("/engine/sandbox/exec-kills", test_exec_kills);
	return g_test_run();
}

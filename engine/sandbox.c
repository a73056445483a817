/* sandbox.c - privilege drop + seccomp for roamvpn-engine (see sandbox.h and
 * docs/engine.md "Privilege model"). The allow-list covers what the event
 * loop, the worker threads, glibc malloc and libsodium/OpenSSL need after
 * initialisation; anything else kills the process, so a compromised data path
 * cannot open files or exec. A second filter checks arguments: no new
 * process or namespace (clone only with the thread flags, clone3 ENOSYS), no
 * new socket but a UDP one for a stand-alone rebind, no connect, datagrams to
 * an address only from the engine's own UDP fds; those calls fail with EPERM. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static int drop_bounding_set(const uint64_t keep)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (keep & (UINT64_C(1) << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;	/* past CAP_LAST_CAP */
			return -errno;
		}
	}
	return 0;
}

static int set_caps(uint64_t keep)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -errno;
	return 0;
}

/* Syscalls the steady state makes with any arguments. */
static const int allowed_any[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
	SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(close), SCMP_SYS(accept4), SCMP_SYS(shutdown),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockopt), SCMP_SYS(getsockname),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
	SCMP_SYS(unlink),	/* the UAPI socket at exit (stand-alone) */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getrandom),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(eventfd2), SCMP_SYS(signalfd4),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
	SCMP_SYS(sigaltstack),	/* AddressSanitizer gives each new thread one */
	SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* Syscalls allowed only with the arguments the second filter checks. */
static const int allowed_filtered[] = {
	SCMP_SYS(socket), SCMP_SYS(bind), SCMP_SYS(connect), SCMP_SYS(dup3),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ioctl),
};

/* What glibc's pthread_create passes (CLONE_VM|FS|FILES|SYSVSEM|SIGHAND|
 * THREAD|SETTLS|PARENT_SETTID|CHILD_CLEARTID): these bits must be exactly
 * VM|SIGHAND|THREAD, so no fork, no vfork and no namespace. */
#define CLONE_CHECKED_BITS (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD | CLONE_VFORK | CLONE_PARENT | \
			    CLONE_PTRACE | CLONE_UNTRACED | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
			    CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_PIDFD)
#define CLONE_THREAD_BITS (CLONE_VM | CLONE_SIGHAND | CLONE_THREAD)

static int add_allow_all(scmp_filter_ctx ctx, const int *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, list[i], 0);

		if (ret < 0 && ret != -EDOM)	/* syscall absent on this arch */
			return ret;
	}
	return 0;
}

/* libseccomp's SCMP_A*_ comparison macros leave datum_b to default
 * initialisation, which clang's -Wmissing-field-initializers rejects. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#define RULE(ctx, action, sys, ...) do { \
	int r_ = seccomp_rule_add(ctx, action, SCMP_SYS(sys), __VA_ARGS__); \
	if (r_ < 0) \
		return r_; \
} while (0)

/* The argument checks. libseccomp lets an unconditional rule override the
 * conditional ones of the same syscall and cannot express "not in {a, b}",
 * so these live in a second filter whose default is EPERM: a call outside
 * them fails with EPERM (the engine keeps running), while the first filter
 * still kills for any syscall off the list. The kernel applies both and the
 * stricter answer wins. */
static int add_argument_rules(scmp_filter_ctx ctx, const struct rv_sandbox_policy *p)
{
	const int fds[2] = { p->udp_fd4, p->udp_fd6 };
	int i, ret;

	ret = add_allow_all(ctx, allowed_any, sizeof(allowed_any) / sizeof(allowed_any[0]));
	if (ret < 0)
		return ret;
	/* no connect(): the engine never connects; no new process */
	RULE(ctx, SCMP_ACT_ERRNO(ENOSYS), clone3, 0);	/* glibc falls back to clone */
	RULE(ctx, SCMP_ACT_ALLOW, clone, 1,
	     SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_CHECKED_BITS, CLONE_THREAD_BITS));
	/* a reply on a UAPI stream socket: no address */
	RULE(ctx, SCMP_ACT_ALLOW, sendto, 1, SCMP_A4_64(SCMP_CMP_EQ, 0));
	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		/* datagrams to addresses: only from the engine's own sockets */
		RULE(ctx, SCMP_ACT_ALLOW, sendto, 1, SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)fds[i]));
		RULE(ctx, SCMP_ACT_ALLOW, sendmsg, 1, SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)fds[i]));
		RULE(ctx, SCMP_ACT_ALLOW, sendmmsg, 1, SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)fds[i]));
		/* SIOCGIFMTU once a second, on the UDP socket */
		RULE(ctx, SCMP_ACT_ALLOW, ioctl, 2, SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)fds[i]),
		     SCMP_A1_64(SCMP_CMP_EQ, SIOCGIFMTU));
		if (p->allow_rebind)	/* `set listen_port`: new socket over the old number */
			RULE(ctx, SCMP_ACT_ALLOW, dup3, 1, SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)fds[i]));
	}
	if (p->allow_rebind) {
		static const int families[] = { AF_INET, AF_INET6 };
		static const int protocols[] = { 0, IPPROTO_UDP };
		unsigned f, pr;

		for (f = 0; f < 2; f++)
			for (pr = 0; pr < 2; pr++)
				RULE(ctx, SCMP_ACT_ALLOW, socket, 3,
				     SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)families[f]),
				     SCMP_A1_32(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM),
				     SCMP_A2_32(SCMP_CMP_EQ, (uint32_t)protocols[pr]));
		RULE(ctx, SCMP_ACT_ALLOW, bind, 0);
	}
	return 0;
}

#pragma GCC diagnostic pop

int rv_sandbox_install_seccomp(const struct rv_sandbox_policy *policy)
{
	scmp_filter_ctx ctx;
	int ret;

	/* 1: the allow-list; anything else kills the process */
	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	ret = add_allow_all(ctx, allowed_any, sizeof(allowed_any) / sizeof(allowed_any[0]));
	if (ret == 0)
		ret = add_allow_all(ctx, allowed_filtered, sizeof(allowed_filtered) / sizeof(allowed_filtered[0]));
	/* glibc's malloc peeks at /proc/sys/vm/overcommit_memory when a thread
	 * arena shrinks: refuse opening files instead of killing for it */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (ret == 0) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
		if (ret == -EDOM)
			ret = 0;
	}
	/* the second filter is loaded through this one; stacking a filter can
	 * only take rights away, and the second one refuses it again */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 0);
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret < 0)
		return ret;

	/* 2: the arguments; outside them EPERM */
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	/* no_new_privs is set already, and prctl() is no longer allowed */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (ret == 0)
		ret = add_argument_rules(ctx, policy);
	/* keep the first filter's answers for these two */
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (ret == 0) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
		if (ret == -EDOM)
			ret = 0;
	}
	if (ret == 0)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int rv_sandbox_enter(enum rv_sandbox_mode mode, const char *user, const struct rv_sandbox_policy *policy)
{
	int ret;

	if (mode == RV_SANDBOX_USER) {
		const char *name = user ? user : "nobody";
		struct passwd *pw = getpwnam(name);

		if (!pw) {
			fprintf(stderr, "roamvpn-engine: unknown user '%s'\n", name);
			return -ESRCH;
		}
		if (geteuid() == 0) {
			ret = drop_bounding_set(0);
			if (ret < 0)
				return ret;
			if (setgroups(0, NULL) < 0)
				return -errno;
			if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
				return -errno;
			/* uid 0 -> non-zero clears every capability set */
			if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
				return -errno;
		} else if (geteuid() != pw->pw_uid) {
			return -EPERM;
		}
		if (set_caps(0) < 0 && geteuid() == 0)
			return -EPERM;
	} else {
		const uint64_t keep = (UINT64_C(1) << CAP_NET_ADMIN) |
				      (UINT64_C(1) << CAP_NET_BIND_SERVICE);

		ret = drop_bounding_set(keep);
		if (ret < 0)
			return ret;
		ret = set_caps(keep);
		if (ret < 0)
			return ret;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (policy)
		return rv_sandbox_install_seccomp(policy);
	return 0;
}

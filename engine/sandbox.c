/* sandbox.c - privilege drop + seccomp for roamvpn-engine (see sandbox.h and
 * docs/engine.md "Privilege model"). The allow-list covers what the event
 * loop, the worker threads, glibc malloc and libsodium/OpenSSL need after
 * initialisation; anything else kills the process, so a compromised data path
 * cannot open files, exec, or reach other sockets than its own. */
#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
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

int rv_sandbox_install_seccomp(void)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
		SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
		SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
		SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_ctl),
		SCMP_SYS(poll), SCMP_SYS(ppoll),
		SCMP_SYS(close), SCMP_SYS(accept4), SCMP_SYS(shutdown), SCMP_SYS(dup3),
		/* rebinding for `set listen_port`, SO_MARK for fwmark */
		SCMP_SYS(socket), SCMP_SYS(bind), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
		SCMP_SYS(getsockname),
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
		SCMP_SYS(clone), SCMP_SYS(clone3),
		SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(tgkill),
		SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction),
		SCMP_SYS(restart_syscall),
		SCMP_SYS(exit), SCMP_SYS(exit_group),
	};
	scmp_filter_ctx ctx;
	size_t i;
	int ret;

	ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
		if (ret < 0 && ret != -EDOM)	/* syscall absent on this arch */
			goto out;
	}
	/* glibc's malloc peeks at /proc/sys/vm/overcommit_memory when a thread
	 * arena shrinks: refuse opening files instead of killing for it */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
	if (ret < 0)
		goto out;
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (ret < 0 && ret != -EDOM)
		goto out;
	/* ioctl only for reading the MTU (SIOCGIFMTU), never TUNSETIFF & co. */
	{
		const struct scmp_arg_cmp only_mtu = {
			.arg = 1, .op = SCMP_CMP_EQ, .datum_a = 0x8921 /* SIOCGIFMTU */, .datum_b = 0,
		};

		ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, &only_mtu);
	}
	if (ret < 0)
		goto out;
	ret = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return ret;
}

int rv_sandbox_enter(enum rv_sandbox_mode mode, const char *user, bool seccomp)
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
	if (seccomp)
		return rv_sandbox_install_seccomp();
	return 0;
}

/* no-nfnetlink.c - LD_PRELOAD shim for daemon-killswitch: socket(AF_NETLINK, ...,
 * NETLINK_NETFILTER) fails as on a kernel without nfnetlink (the VM guests), every
 * other socket is created as usual. */
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <stddef.h>
#include <sys/socket.h>

int socket(int domain, int type, int protocol)
{
	static int (*real)(int, int, int);

	if (domain == AF_NETLINK && protocol == NETLINK_NETFILTER) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "socket");
	return real ? real(domain, type, protocol) : -1;
}

/* tun.c - TUN device handling for roamvpn-engine (see tun.h).
 * Plain IFF_TUN|IFF_NO_PI: one IP packet per read/write, as wireguard-go
 * uses it on kernels without virtio offloads. */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int rv_tun_create(const char *ifname, char *name_out)
{
	struct ifreq ifr;
	int fd;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, ifname, strlen(ifname));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (name_out) {
		memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
		name_out[IFNAMSIZ - 1] = '\0';
	}
	return fd;
}

int rv_tun_name_from_fd(int fd, char *name_out)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_TUN) || !(ifr.ifr_flags & IFF_NO_PI))
		return -EINVAL;
	memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
	name_out[IFNAMSIZ - 1] = '\0';
	return 0;
}

static int ifreq_ioctl(const char *ifname, unsigned long req, struct ifreq *ifr)
{
	int s, ret = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	memcpy(ifr->ifr_name, ifname, strlen(ifname) + 1);
	if (ioctl(s, req, ifr) < 0)
		ret = -errno;
	close(s);
	return ret;
}

int rv_tun_set_mtu(const char *ifname, int mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = mtu;
	return ifreq_ioctl(ifname, SIOCSIFMTU, &ifr);
}

int rv_tun_get_mtu(const char *ifname)
{
	struct ifreq ifr;
	int ret;

	memset(&ifr, 0, sizeof(ifr));
	ret = ifreq_ioctl(ifname, SIOCGIFMTU, &ifr);
	return ret < 0 ? ret : ifr.ifr_mtu;
}

ssize_t rv_tun_read(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	return n < 0 ? -errno : n;
}

ssize_t rv_tun_write(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	return n < 0 ? -errno : n;
}

/* uapi-server.c - the UAPI connections: the listening socket
 * (/var/run/wireguard/IFNAME.sock, made by the stand-alone engine or passed
 * by roamvpnd), the daemon's socketpair, reading
 * requests, answering in order, closing. Control thread only. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "device-internal.h"
#include "uapi-socket.h"

int rv_epoll_add(struct rv_device *dev, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(dev->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void rv_client_close(struct rv_device *dev, struct rv_uapi_client *c)
{
	int i;

	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++)
		if (dev->clients[i] == c)
			dev->clients[i] = NULL;
	if (c->is_daemon) {
		rv_log_verbose("UAPI connection of the daemon closed, stopping");
		atomic_store(&dev->stopping, true);
	}
	epoll_ctl(dev->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	rv_buf_free(&c->in);
	rv_buf_free(&c->out);
	free(c);
}

int rv_client_add(struct rv_device *dev, int fd, bool is_daemon)
{
	struct rv_uapi_client *c;
	int i;

	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++)
		if (!dev->clients[i])
			break;
	if (i == RV_MAX_UAPI_CLIENTS)
		return -EMFILE;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->is_daemon = is_daemon;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (rv_epoll_add(dev, fd, EPOLLIN, c) < 0) {
		free(c);
		return -errno;
	}
	dev->clients[i] = c;
	return 0;
}

/* false: the client was closed */
static bool client_flush(struct rv_device *dev, struct rv_uapi_client *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };

				epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
				return true;
			}
			rv_client_close(dev, c);
			return false;
		}
		rv_buf_consume(&c->out, (size_t)n);
	}
	{
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

		epoll_ctl(dev->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
	}
	if (c->close_after_write) {
		rv_client_close(dev, c);
		return false;
	}
	return true;
}

static void client_readable(struct rv_device *dev, struct rv_uapi_client *c)
{
	const struct rv_uapi_handler h = {
		.data = dev, .get = rv_device_uapi_get, .set = rv_device_uapi_set,
	};
	char buf[16384];
	bool eof = false;

	for (;;) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				eof = true;
			break;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (c->in.len + (size_t)n > RV_UAPI_MAX_REQUEST) {
			rv_buf_printf(&c->out, "errno=%d\n\n", EMSGSIZE);
			c->close_after_write = true;
			client_flush(dev, c);
			return;
		}
		rv_buf_append(&c->in, buf, (size_t)n);
	}
	wg_crypto_wipe(buf, sizeof(buf));
	while (!c->close_after_write) {
		size_t len = rv_uapi_request_length(c->in.data, c->in.len);

		if (!len)
			break;
		pthread_rwlock_wrlock(&dev->lock);
		if (!rv_uapi_handle_request(&h, c->in.data, len, &c->out))
			c->close_after_write = true;
		pthread_rwlock_unlock(&dev->lock);
		/* the request may hold keys: wipe before shifting */
		sodium_memzero(c->in.data, len);
		rv_buf_consume(&c->in, len);
	}
	if (eof && !c->out.len) {
		rv_client_close(dev, c);
		return;
	}
	if (eof)
		c->close_after_write = true;
	client_flush(dev, c);
}

void rv_accept_clients(struct rv_device *dev)
{
	for (;;) {
		int fd = accept4(dev->uapi_listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0)
			return;
		if (rv_client_add(dev, fd, false) < 0)
			close(fd);
	}
}

void rv_client_event(struct rv_device *dev, struct rv_uapi_client *c, uint32_t events)
{
	if ((events & EPOLLOUT) && !client_flush(dev, c))
		return;
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		client_readable(dev, c);
}

int rv_device_listen_uapi(struct rv_device *dev, const char *dir)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd = rv_uapi_socket_listen(dir, dev->ifname, path, sizeof(path));

	if (fd < 0)
		return fd;
	dev->uapi_listen_fd = fd;
	dev->uapi_path = strdup(path);
	return rv_epoll_add(dev, fd, EPOLLIN, &dev->uapi_listen_fd);
}

int rv_device_adopt_uapi_listener(struct rv_device *dev, int fd)
{
	/* roamvpnd made it and removes it: the engine, as nobody, could not */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	dev->uapi_listen_fd = fd;
	return rv_epoll_add(dev, fd, EPOLLIN, &dev->uapi_listen_fd);
}

int rv_device_add_uapi_fd(struct rv_device *dev, int fd)
{
	return rv_client_add(dev, fd, true);
}


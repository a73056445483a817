/* device.c - one engine interface: set-up, the control loop (epoll over
 * the UAPI connections, signals and the data threads' wake-ups; timers and
 * queued handshakes after each round), start and stop of the TX/RX threads
 * and their crypto workers, tear-down. The kernel's device.c. See device.h
 * for the threads and the locking; the work itself is in send.c,
 * receive.c, timers.c, control.c, uapi-server.c, index.c. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "crypto.h"
#include "tun.h"
#include "device-internal.h"

/* ------------------------------------------------------------ device set-up */

int rv_device_init(struct rv_device *dev, const char *ifname, int tun_fd, bool tun_vnet,
		   const struct rv_udp *udp, const struct rv_device_options *opts)
{
	pthread_rwlockattr_t attr;
	int mtu;

	memset(dev, 0, sizeof(*dev));
	snprintf(dev->ifname, sizeof(dev->ifname), "%s", ifname);
	rv_log_set_ifname(ifname);
	dev->tun_fd = tun_fd;
	dev->tun_vnet = tun_vnet;
	dev->udp = *udp;
	dev->uapi_listen_fd = -1;
	dev->signal_fd = -1;
	mtu = rv_tun_get_mtu(ifname);
	atomic_store(&dev->mtu, mtu > 0 ? mtu : RV_TUN_DEFAULT_MTU);
	if (opts)
		dev->timers = opts->timers;
	else
		rv_timer_config_default(&dev->timers);
	dev->crypto_workers = opts && opts->crypto_workers ? opts->crypto_workers : rv_workers_default_count();

	/* writers (handshakes, config) are rare and must not starve behind
	 * two data threads that take the read lock back to back */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&dev->hsq_lock, NULL);
	dev->hsq = calloc(RV_HANDSHAKE_QUEUE, sizeof(*dev->hsq));
	dev->hs_batch = rv_hs_batch_new();
	dev->ratelimiter = malloc(sizeof(*dev->ratelimiter));
	if (!dev->hsq || !dev->ratelimiter || !dev->hs_batch || rv_peer_table_init(dev) < 0)
		return -ENOMEM;
	rv_ratelimiter_init(dev->ratelimiter);
	wg_cookie_checker_init(&dev->cookie_checker);
	wg_allowedips_init(&dev->allowedips, NULL);

	dev->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	dev->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	dev->rx_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (dev->epoll_fd < 0 || dev->wake_fd < 0 || dev->stop_fd < 0 || dev->rx_wake_fd < 0)
		return -errno;
	return rv_epoll_add(dev, dev->wake_fd, EPOLLIN, &dev->wake_fd);
}

int rv_device_run(struct rv_device *dev)
{
	sigset_t mask;
	uint64_t last_mtu_check = 0;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);	/* inherited by the data threads */
	signal(SIGPIPE, SIG_IGN);
	dev->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (dev->signal_fd >= 0)
		rv_epoll_add(dev, dev->signal_fd, EPOLLIN, &dev->signal_fd);

	if (rv_workers_init(&dev->tx_workers, dev->crypto_workers) < 0 ||
	    rv_workers_init(&dev->rx_workers, dev->crypto_workers) < 0 ||
	    rv_workers_init(&dev->hs_workers, dev->crypto_workers) < 0 ||
	    pthread_create(&dev->tx_thread, NULL, rv_tx_thread, dev) ||
	    pthread_create(&dev->rx_thread, NULL, rv_rx_thread, dev)) {
		rv_log_error("cannot start threads");
		return 1;
	}
	dev->threads_started = true;
	rv_log_verbose("Device started (%u crypto workers per direction)", dev->crypto_workers);

	while (!atomic_load(&dev->stopping)) {
		struct epoll_event evs[16];
		int n, i;
		uint64_t now;

		n = epoll_wait(dev->epoll_fd, evs, 16, rv_control_timeout_ms(dev));
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &dev->wake_fd) {
				rv_drain(dev->wake_fd);
			} else if (p == &dev->signal_fd) {
				struct signalfd_siginfo si;

				if (read(dev->signal_fd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGHUP) {
					rv_log_verbose("Received signal %u, shutting down", si.ssi_signo);
					atomic_store(&dev->stopping, true);
				}
			} else if (p == &dev->uapi_listen_fd) {
				rv_accept_clients(dev);
			} else {
				rv_client_event(dev, p, evs[i].events);
			}
		}
		rv_control_tick(dev);
		now = rv_now_ns();
		if (now - last_mtu_check > RV_NSEC_PER_SEC) {
			int mtu = rv_tun_get_mtu_on(dev->udp.fd4 >= 0 ? dev->udp.fd4 : dev->udp.fd6, dev->ifname);

			if (mtu > 0)
				atomic_store(&dev->mtu, mtu);
			last_mtu_check = now;
		}
	}
	rv_wake(dev->stop_fd);
	pthread_join(dev->tx_thread, NULL);
	pthread_join(dev->rx_thread, NULL);
	rv_workers_destroy(&dev->tx_workers);
	rv_workers_destroy(&dev->rx_workers);
	rv_workers_destroy(&dev->hs_workers);
	dev->threads_started = false;
	if (dev->uapi_path)
		unlink(dev->uapi_path);
	rv_log_verbose("Device closed");
	return dev->exit_status;
}

void rv_device_destroy(struct rv_device *dev)
{
	unsigned i;

	while (dev->peers)
		rv_remove_peer(dev, dev->peers);
	rv_peer_table_free(dev);
	for (i = 0; i < RV_MAX_UAPI_CLIENTS; i++) {
		if (dev->clients[i]) {
			dev->clients[i]->is_daemon = false;
			rv_client_close(dev, dev->clients[i]);
		}
	}
	for (i = 0; i < RV_INDEX_BUCKETS; i++) {
		while (dev->index[i]) {
			struct rv_index_entry *e = dev->index[i];

			dev->index[i] = e->next;
			free(e);
		}
	}
	wg_allowedips_free(&dev->allowedips);
	wg_cookie_checker_destroy(&dev->cookie_checker);
	wg_static_identity_clear(&dev->identity);
	if (dev->hsq) {
		wg_crypto_wipe(dev->hsq, RV_HANDSHAKE_QUEUE * sizeof(*dev->hsq));
		free(dev->hsq);
	}
	free(dev->ratelimiter);
	free(dev->hs_batch);
	rv_udp_close(&dev->udp);
	if (dev->tun_fd >= 0)
		close(dev->tun_fd);
	if (dev->uapi_listen_fd >= 0)
		close(dev->uapi_listen_fd);
	if (dev->signal_fd >= 0)
		close(dev->signal_fd);
	close(dev->epoll_fd);
	close(dev->wake_fd);
	close(dev->stop_fd);
	close(dev->rx_wake_fd);
	free(dev->uapi_path);
	pthread_rwlock_destroy(&dev->lock);
	pthread_mutex_destroy(&dev->hsq_lock);
}


/* engine-crypto-scaling.c - the engine's data-path crypto in one process,
 * no network: batches of packets go through the serial stage (send
 * counters in order), sealing by the crypto workers (engine/queueing.c),
 * opening by the workers, and the serial replay-window stage, exactly as
 * send.c and receive.c do it, with 1, 2, ... N workers. Prints Gbit/s of
 * plaintext per worker count and the scaling against one worker (median of
 * several alternating runs), with the load average, since the machine may
 * be shared.
 *
 *   engine-crypto-scaling [MAX_WORKERS [SECONDS_PER_RUN [RUNS [PACKET_BYTES [BATCH]]]]]
 *
 * Defaults: MAX_WORKERS = online CPUs, 1.0 s, 3 runs, 1420 bytes, 64 per batch
 * (a 64 KiB TSO superpacket is ~45 MTU-sized packets; a recvmmsg batch up to 32
 * GRO runs). Not a test: speed depends on the machine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "crypto.h"
#include "noise.h"
#include "queueing.h"

#define MAX_BATCH 1024

struct bench {
	struct wg_keypair send, recv;
	unsigned batch;
	size_t len;
	uint8_t *buf[MAX_BATCH];
	uint64_t counter[MAX_BATCH];
	ssize_t sealed[MAX_BATCH], opened[MAX_BATCH];
	uint64_t opened_counter[MAX_BATCH];
	unsigned errors;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void make_session(struct bench *b)
{
	struct wg_static_identity a, c;
	struct wg_handshake ha, hc;
	struct wg_msg_initiation init;
	struct wg_msg_response resp;
	struct wg_initiation_parsed parsed;
	uint8_t priv[32], pub[32];

	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&a, priv);
	wg_x25519_generate(priv, pub);
	wg_static_identity_set(&c, priv);
	wg_handshake_init(&ha, &a, c.public_key, NULL);
	wg_handshake_init(&hc, &c, a.public_key, NULL);
	if (wg_noise_create_initiation(&ha, &a, &init, 1) < 0 ||
	    wg_noise_consume_initiation_begin(&c, &init, &parsed) < 0 ||
	    wg_noise_consume_initiation_finish(&hc, &c, &init, &parsed, 1) < 0 ||
	    wg_noise_create_response(&hc, &c, &resp, 2) < 0 ||
	    wg_noise_consume_response(&ha, &a, &resp) < 0 ||
	    wg_noise_begin_session(&ha, &b->send, 1) < 0 ||
	    wg_noise_begin_session(&hc, &b->recv, 1) < 0) {
		fprintf(stderr, "handshake failed\n");
		exit(1);
	}
}

static void seal_jobs(void *ctx, unsigned first, unsigned count)
{
	struct bench *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++)
		b->sealed[i] = wg_transport_seal(&b->send, b->counter[i], b->buf[i], b->len,
						 wg_transport_padded_len(b->len, 1420),
						 b->len + 64 + WG_MSG_TRANSPORT_OVERHEAD);
}

static void open_jobs(void *ctx, unsigned first, unsigned count)
{
	struct bench *b = ctx;
	unsigned i;

	for (i = first; i < first + count; i++)
		b->opened[i] = wg_transport_decrypt(&b->recv, b->buf[i], (size_t)b->sealed[i], &b->opened_counter[i]);
}

/* Gbit/s of plaintext through seal + open with `workers` threads. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* Gbit/s of plaintext through seal + open with `workers` threads; *cores:
 * CPU time used / wall time (how many cores it actually got). */
static double run(struct bench *b, unsigned workers, double seconds, double *cores)
{
	struct rv_workers w;
	unsigned chunk = b->batch / workers / 2 ? b->batch / workers / 2 : 1;
	double t0, t, c0;
	uint64_t packets = 0;

	if (rv_workers_init(&w, workers) < 0) {
		fprintf(stderr, "cannot start %u workers\n", workers);
		exit(1);
	}
	c0 = cpu_s();
	t0 = now_s();
	do {
		unsigned i;

		for (i = 0; i < b->batch; i++)		/* serial: counters in order */
			if (wg_keypair_take_counter(&b->send, &b->counter[i]) < 0)
				exit(1);
		rv_workers_run(&w, seal_jobs, b, b->batch, chunk);
		rv_workers_run(&w, open_jobs, b, b->batch, chunk);
		for (i = 0; i < b->batch; i++)		/* serial: window in order */
			if (b->opened[i] < 0 || wg_transport_accept_counter(&b->recv, b->opened_counter[i]) < 0)
				b->errors++;
		packets += b->batch;
		t = now_s();
	} while (t - t0 < seconds);
	*cores = (cpu_s() - c0) / (t - t0);
	rv_workers_destroy(&w);
	return (double)packets * (double)b->len * 8 / (t - t0) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned max_workers = argc > 1 ? (unsigned)atoi(argv[1]) : rv_workers_default_count();
	double seconds = argc > 2 ? atof(argv[2]) : 1.0;
	unsigned runs = argc > 3 ? (unsigned)atoi(argv[3]) : 3;
	struct bench *b = calloc(1, sizeof(*b));
	double *res, *cores, loads[3];
	unsigned i, k;

	if (!b || wg_crypto_init() < 0)
		return 1;
	b->len = argc > 4 ? (size_t)atoi(argv[4]) : 1420;
	b->batch = argc > 5 ? (unsigned)atoi(argv[5]) : 64;
	if (!max_workers || !runs || b->len < 1 || b->len > 65000 || !b->batch || b->batch > MAX_BATCH) {
		fprintf(stderr, "usage: %s [MAX_WORKERS [SECONDS [RUNS [PACKET_BYTES [BATCH]]]]]\n", argv[0]);
		return 2;
	}
	for (i = 0; i < b->batch; i++) {
		b->buf[i] = calloc(1, b->len + 64 + WG_MSG_TRANSPORT_OVERHEAD);
		if (!b->buf[i])
			return 1;
	}
	make_session(b);
	res = calloc((size_t)max_workers * runs, sizeof(*res));
	cores = calloc((size_t)max_workers * runs, sizeof(*cores));
	if (!res || !cores)
		return 1;
	if (getloadavg(loads, 3) == 3)
		printf("load average before: %.2f %.2f %.2f, CPUs usable: %u\n", loads[0], loads[1], loads[2],
		       rv_workers_default_count());
	printf("%zu-byte packets, %u per batch, %u runs of %.1f s per worker count, alternating\n",
	       b->len, b->batch, runs, seconds);
	/* alternate: 1, 2, ..., N, 1, 2, ..., N, ... so load changes hit all alike */
	for (k = 0; k < runs; k++)
		for (i = 0; i < max_workers; i++)
			res[i * runs + k] = run(b, i + 1, seconds, &cores[i * runs + k]);
	for (i = 0; i < max_workers; i++) {
		qsort(res + i * runs, runs, sizeof(*res), cmp_double);
		qsort(cores + i * runs, runs, sizeof(*cores), cmp_double);
	}
	/* cores: CPU time / wall time. On a loaded machine two workers may not
	 * get two cores; Gbit/s per core shows what the code costs regardless. */
	printf("%-8s %14s %10s %8s %14s   %s\n", "workers", "Gbit/s median", "scaling", "cores", "Gbit/s/core", "runs");
	for (i = 0; i < max_workers; i++) {
		double g = res[i * runs + runs / 2], c = cores[i * runs + runs / 2];

		printf("%-8u %14.2f %9.2fx %8.2f %14.2f  ", i + 1, g, g / res[runs / 2], c, c > 0 ? g / c : 0);
		for (k = 0; k < runs; k++)
			printf(" %.2f", res[i * runs + k]);
		printf("\n");
	}
	if (getloadavg(loads, 3) == 3)
		printf("load average after: %.2f %.2f %.2f\n", loads[0], loads[1], loads[2]);
	if (b->errors) {
		printf("ERRORS: %u packets failed to open or were refused by the window\n", b->errors);
		return 1;
	}
	return 0;
}

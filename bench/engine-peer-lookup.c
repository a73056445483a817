/* engine-peer-lookup.c - what finding a peer by its public key costs (issue
 * 10 §4: every handshake initiation and every UAPI peer operation does it),
 * with 1 to 10,000 peers configured: the engine's hash table (rv_find_peer,
 * engine/index.c) side by side with a walk of the peer list comparing keys,
 * which is how the engine looked peers up before, in the same run.
 *
 *   engine-peer-lookup [ROUNDS]    (default 3; the median is printed)
 *
 * A real device (loopback sockets, no TUN, no threads, no private key), the
 * peers added through one UAPI set with random keys ("set": its CPU time
 * per peer, once, the control thread holding the write lock); lookups of configured keys
 * in random order ("hit") and of keys that are not configured ("miss": an
 * initiation from a stranger, the list's worst case). Times are the
 * thread's CPU time per lookup, so a loaded machine slows the wall clock
 * more than the figures. Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto.h"
#include "device-internal.h"

#define LOOKUPS 4096
#define MAX_ROUNDS 15

static double cpu_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* the lookup as it was: the list, key by key */
static struct rv_peer *list_find(struct rv_device *dev, const uint8_t key[WG_KEY_LEN])
{
	struct rv_peer *p;

	for (p = dev->peers; p; p = p->next_in_list)
		if (!memcmp(p->public_key, key, WG_KEY_LEN))
			return p;
	return NULL;
}

static volatile uintptr_t sink;

/* ns per lookup of the LOOKUPS keys, repeated until ~20 ms have passed */
static double time_lookups(struct rv_device *dev, uint8_t (*keys)[32], bool table)
{
	double t0 = cpu_ns(), t;
	unsigned reps = 0, i;

	do {
		for (i = 0; i < LOOKUPS; i++)
			sink += (uintptr_t)(table ? rv_find_peer(dev, keys[i]) : list_find(dev, keys[i]));
		reps++;
		t = cpu_ns();
	} while (t - t0 < 20e6);
	return (t - t0) / ((double)reps * LOOKUPS);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static int run(unsigned n_peers, unsigned rounds)
{
	struct rv_device *dev = calloc(1, sizeof(*dev));
	uint8_t (*keys)[32] = malloc((size_t)n_peers * 32);
	uint8_t (*hit)[32] = malloc(LOOKUPS * 32), (*miss)[32] = malloc(LOOKUPS * 32);
	struct rv_uapi_set set = { 0 };
	double lh[MAX_ROUNDS], th[MAX_ROUNDS], lm[MAX_ROUNDS], tm[MAX_ROUNDS];
	struct rv_udp udp;
	double add_ns;
	unsigned i, r;
	int ret;

	rv_udp_init(&udp);
	set.peers = calloc(n_peers, sizeof(*set.peers));
	if (!dev || !keys || !hit || !miss || !set.peers || rv_udp_open(&udp, 0, 0) < 0 ||
	    rv_device_init(dev, "rvbench0", -1, false, &udp, NULL) < 0) {
		fprintf(stderr, "engine-peer-lookup: cannot set up a device\n");
		return 1;
	}
	randombytes_buf(keys, (size_t)n_peers * 32);
	for (i = 0; i < n_peers; i++)
		memcpy(set.peers[i].public_key, keys[i], 32);
	set.n_peers = n_peers;
	add_ns = cpu_ns();
	ret = rv_device_uapi_set(dev, &set);
	add_ns = cpu_ns() - add_ns;
	if (ret < 0 || dev->n_peers != n_peers) {
		fprintf(stderr, "engine-peer-lookup: cannot add %u peers\n", n_peers);
		return 1;
	}
	for (i = 0; i < LOOKUPS; i++)
		memcpy(hit[i], keys[randombytes_uniform(n_peers)], 32);
	randombytes_buf(miss, LOOKUPS * 32);

	for (r = 0; r < rounds; r++) {	/* alternating, so load hits both alike */
		lh[r] = time_lookups(dev, hit, false);
		th[r] = time_lookups(dev, hit, true);
		lm[r] = time_lookups(dev, miss, false);
		tm[r] = time_lookups(dev, miss, true);
	}
	{
		double a = median(lh, rounds), b = median(th, rounds), c = median(lm, rounds), d = median(tm, rounds);

		printf("%6u peers  set: %6.0f ns/peer  hit: list %9.1f ns  table %6.1f ns  (%6.1fx)   miss: list %9.1f ns  table %6.1f ns  (%6.1fx)\n",
		       n_peers, add_ns / n_peers, a, b, a / b, c, d, c / d);
	}
	rv_device_destroy(dev);
	free(dev);
	free(keys);
	free(hit);
	free(miss);
	free(set.peers);
	return 0;
}

int main(int argc, char **argv)
{
	static const unsigned sizes[] = { 1, 10, 100, 1000, 10000 };
	unsigned rounds = argc > 1 ? (unsigned)atoi(argv[1]) : 3, i;

	if (rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: engine-peer-lookup [ROUNDS 1..%d]\n", MAX_ROUNDS);
		return 2;
	}
	if (wg_crypto_init() < 0)
		return 1;
	printf("peer lookup by public key, CPU ns per lookup, median of %u rounds\n", rounds);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(sizes[i], rounds))
			return 1;
	return 0;
}

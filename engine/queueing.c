/* queueing.c - the crypto workers (see queueing.h for how packet order is
 * kept). Helpers wait on a futex word bumped per batch, after a short spin
 * (a batch often follows the last one within microseconds); jobs are taken
 * in chunks from an atomic counter; the caller takes chunks too and then
 * waits for the stragglers. No lock, no allocation per batch. An adaptive
 * set (the data threads') stops waking helpers that arrive too late to help
 * and tries them again after a back-off. */
#include "queueing.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN_ROUNDS 256	/* ~ 10 microseconds of pause before sleeping */
#define MAX_WORKERS 64
#define MAX_BACKOFF 128	/* batches run alone at most before trying the helpers again */

struct rv_work_round {
	rv_work_fn fn;
	void *ctx;
	unsigned n, chunk;
	_Atomic unsigned next;		/* first job not yet taken */
	_Atomic unsigned done;		/* jobs finished */
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void futex_wait(_Atomic uint32_t *addr, uint32_t val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Takes chunks until none is left; returns how many jobs this thread did. */
static unsigned work(struct rv_work_round *r)
{
	unsigned did = 0;

	for (;;) {
		unsigned first = atomic_fetch_add(&r->next, r->chunk), count;

		if (first >= r->n)
			return did;
		count = r->n - first < r->chunk ? r->n - first : r->chunk;
		r->fn(r->ctx, first, count);
		atomic_fetch_add_explicit(&r->done, count, memory_order_release);
		did += count;
	}
}

static void *helper(void *arg)
{
	struct rv_workers *w = arg;
	uint32_t seen = 0;	/* gen's value at init, not when this thread first runs */

	for (;;) {
		unsigned spin = 0;
		struct rv_work_round *r;

		while (atomic_load_explicit(&w->gen, memory_order_acquire) == seen) {
			if (++spin < SPIN_ROUNDS) {
				cpu_relax();
				continue;
			}
			atomic_fetch_add(&w->sleepers, 1);
			futex_wait(&w->gen, seen);	/* returns at once if gen moved */
			atomic_fetch_sub(&w->sleepers, 1);
		}
		seen = atomic_load(&w->gen);
		if (atomic_load(&w->stop))
			return NULL;
		/* announce ourselves before looking: the caller waits for
		 * `active` to drop before its round (on its stack) goes away */
		atomic_fetch_add(&w->active, 1);
		r = atomic_load(&w->round);
		if (r)
			work(r);
		atomic_fetch_sub(&w->active, 1);
	}
}

unsigned rv_workers_default_count(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

int rv_workers_init(struct rv_workers *w, unsigned total)
{
	unsigned i;

	atomic_init(&w->gen, 0);
	atomic_init(&w->sleepers, 0);
	atomic_init(&w->active, 0);
	atomic_init(&w->round, NULL);
	atomic_init(&w->stop, false);
	w->adaptive = false;
	w->solo_left = w->backoff = 0;
	w->n_helpers = 0;
	w->threads = NULL;
	if (total <= 1)
		return 0;
	if (total > MAX_WORKERS)
		total = MAX_WORKERS;
	w->threads = calloc(total - 1, sizeof(*w->threads));
	if (!w->threads)
		return -ENOMEM;
	for (i = 0; i < total - 1; i++) {
		int ret = pthread_create(&w->threads[i], NULL, helper, w);

		if (ret) {
			rv_workers_destroy(w);
			return -ret;
		}
		w->n_helpers++;
	}
	return 0;
}

void rv_workers_destroy(struct rv_workers *w)
{
	unsigned i;

	atomic_store(&w->stop, true);
	atomic_fetch_add(&w->gen, 1);
	futex_wake_all(&w->gen);
	for (i = 0; i < w->n_helpers; i++)
		pthread_join(w->threads[i], NULL);
	free(w->threads);
	w->threads = NULL;
	w->n_helpers = 0;
}

void rv_workers_run(struct rv_workers *w, rv_work_fn fn, void *ctx, unsigned n, unsigned chunk)
{
	struct rv_work_round r = { .fn = fn, .ctx = ctx, .n = n, .chunk = chunk ? chunk : 1 };
	unsigned spin = 0, mine;
	bool waited;

	if (!n)
		return;
	if (!w->n_helpers || n <= r.chunk) {
		fn(ctx, 0, n);
		return;
	}
	if (w->solo_left) {
		w->solo_left--;
		fn(ctx, 0, n);
		return;
	}
	atomic_init(&r.next, 0);
	atomic_init(&r.done, 0);
	atomic_store(&w->round, &r);
	atomic_fetch_add(&w->gen, 1);
	if (atomic_load(&w->sleepers))
		futex_wake_all(&w->gen);
	mine = work(&r);
	/* stragglers: a helper may have been preempted inside a chunk */
	while (atomic_load_explicit(&r.done, memory_order_acquire) != n)
		if (++spin % 256 == 0)
			sched_yield();
		else
			cpu_relax();
	waited = spin >= 256;
	atomic_store(&w->round, NULL);
	while (atomic_load(&w->active))
		if (++spin % 256 == 0)
			sched_yield();
		else
			cpu_relax();
	if (w->adaptive) {
		/* The helpers did less than 40 % of the jobs, or we had to wait
		 * (and yield) for one that was preempted inside its chunk: they
		 * were not on a CPU in time (every core busy, e.g. both tunnel
		 * ends and iperf3 on two cores), so the wake-up, their spinning
		 * and the wait bought nothing. Run alone for a while, twice as
		 * long after each such batch, then try them again. (With the
		 * quarter rule alone, helpers that came in time often enough kept
		 * the pair of ends at 6.17 Gbit/s in the 2-core bench against
		 * 7.14 with --workers=1; with this rule 6.73, medians of 3.) */
		if ((uint64_t)mine * 5 > (uint64_t)n * 3 || waited) {
			w->backoff = w->backoff ? (w->backoff * 2 > MAX_BACKOFF ? MAX_BACKOFF : w->backoff * 2) : 1;
			w->solo_left = w->backoff;
		} else {
			w->backoff = 0;
		}
	}
}

void rv_workers_set_adaptive(struct rv_workers *w, bool adaptive)
{
	w->adaptive = adaptive;
	w->solo_left = w->backoff = 0;
}

/* queueing.h - crypto workers: a batch of independent jobs (sealing or
 * opening one packet each) spread over a worker per core, the calling data
 * thread working along, returning when all are done.
 *
 * How order is kept (the kernel's queueing.c idea, per batch): the data
 * thread does the serial part before (allowed-IPs lookup, send counters in
 * arrival order; index lookup on receive) and after (sendmmsg in arrival
 * order; replay window, roaming and TUN write in arrival order), and only the
 * cipher work in between runs in parallel. Jobs are numbered; results are
 * read back by number, so the order packets leave in is the order they came
 * in, whatever order the workers finish in, and the receive window sees
 * counters in the sender's order. Unlike the kernel the next batch is not
 * read while this one is sealed (fork-join, no pipeline): simpler, and a
 * batch (up to 128 packets) is long enough to share. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <pthread.h>

/* Does jobs [first, first + count) of the batch. */
typedef void (*rv_work_fn)(void *ctx, unsigned first, unsigned count);

struct rv_work_round;

struct rv_workers {
	unsigned n_helpers;		/* threads besides the caller */
	pthread_t *threads;
	_Atomic uint32_t gen;		/* futex word: bumped for each batch */
	_Atomic unsigned sleepers;	/* helpers in futex_wait */
	_Atomic unsigned active;	/* helpers that may be looking at `round` */
	_Atomic(struct rv_work_round *) round;
	_Atomic bool stop;
	/* only the calling thread touches these */
	bool adaptive;
	unsigned solo_left;		/* batches to run alone before trying the helpers */
	unsigned backoff;		/* length of the last solo run (doubles) */
};

/* total: how many threads share the work, the caller included (>= 1;
 * 1 = everything runs in the caller). Starts total - 1 helper threads.
 * 0 or -errno. */
int rv_workers_init(struct rv_workers *w, unsigned total);
void rv_workers_destroy(struct rv_workers *w);
/* Runs fn over jobs [0, n) in chunks of `chunk`, in parallel when there are
 * helpers and at least two chunks; returns when every job is done. One
 * caller at a time per rv_workers. */
void rv_workers_run(struct rv_workers *w, rv_work_fn fn, void *ctx, unsigned n, unsigned chunk);
/* Adaptive (off by default): after a batch where the helpers did less than
 * 40 % of the jobs or the caller had to wait for a preempted one (they were
 * not on a CPU in time: every core busy), the caller runs 1, 2, 4, ... up to
 * 128 batches alone before waking them again;
 * a batch they help with resets that. Where cores are idle nothing changes;
 * where they are not, no wake-ups, spinning or waiting that buy nothing. */
void rv_workers_set_adaptive(struct rv_workers *w, bool adaptive);
/* Online CPUs this process may run on (sched_getaffinity), at least 1. */
unsigned rv_workers_default_count(void);

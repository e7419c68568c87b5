/*
 * The completion queue (doneq.c): items pushed on other threads come
 * out in the loop, all of them, once each, in the order each thread
 * pushed them; a wake with nothing queued runs the drain too.
 */
#include <pthread.h>
#include <stdlib.h>

#include "doneq.h"
#include "tap.h"

#define THREADS	4
#define EACH	2000

struct item {
	int	 thread, seq;
	struct item *next;
};

static struct doneq q;
static int taken, drains, in_order = 1, last[THREADS];

static void
drain(struct ev_loop *loop, ev_async *w, int revents)
{
	struct item *it, *next;

	(void)w;
	(void)revents;
	drains++;
	for (it = doneq_take(&q); it != NULL; it = next) {
		next = it->next;
		if (it->seq != last[it->thread] + 1)
			in_order = 0;
		last[it->thread] = it->seq;
		taken++;
		free(it);
	}
	if (taken == THREADS * EACH)
		ev_break(loop, EVBREAK_ALL);
}

static void *
pusher(void *arg)
{
	int t = (int)(long)arg;

	for (int i = 1; i <= EACH; i++) {
		struct item *it = calloc(1, sizeof(*it));

		it->thread = t;
		it->seq = i;
		it->next = (struct item *)1;	/* push must clear it */
		doneq_push(&q, it);
	}
	return NULL;
}

static void
timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int
main(void)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	pthread_t th[THREADS];
	ev_timer t;

	doneq_init(&q, loop, offsetof(struct item, next), drain);
	ok(doneq_take(&q) == NULL, "a new queue is empty");
	ev_timer_init(&t, timeout, 30.0, 0.0);
	ev_timer_start(loop, &t);
	for (long i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, pusher, (void *)i);
	ev_run(loop, 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	is_int(taken, THREADS * EACH, "every item pushed is taken, once");
	ok(in_order, "each thread's items in the order it pushed them");
	ok(drains >= 1, "the loop was woken (%d drains)", drains);
	ok(doneq_take(&q) == NULL, "and the queue is empty after");
	drains = 0;
	doneq_wake(&q);
	ev_run(loop, EVRUN_ONCE);
	is_int(drains, 1, "a wake with nothing queued runs the drain");
	ev_loop_destroy(loop);
	return done_testing();
}

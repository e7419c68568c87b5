/*
 * From the log's thread to the loop: completions are pushed on any
 * thread, the loop takes them all at once.  The node, the proxy and the
 * authority each have one, for their own kind of job.
 */
#include "doneq.h"

#define NEXT(q, item)	(*(void **)((char *)(item) + (q)->link))

/*
 * An empty queue whose items link through the pointer at offset link,
 * and its ev_async, started on loop: drain runs in the loop when woken.
 */
void
doneq_init(struct doneq *q, struct ev_loop *loop, size_t link,
    void (*drain)(struct ev_loop *, ev_async *, int))
{
	pthread_mutex_init(&q->mu, NULL);
	q->head = q->tail = NULL;
	q->link = link;
	q->loop = loop;
	ev_async_init(&q->async, drain);
	ev_async_start(loop, &q->async);
}

/* On any thread: item, at the end of the queue, and the loop woken. */
void
doneq_push(struct doneq *q, void *item)
{
	NEXT(q, item) = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		NEXT(q, q->tail) = item;
	else
		q->head = item;
	q->tail = item;
	pthread_mutex_unlock(&q->mu);
	ev_async_send(q->loop, &q->async);
}

/* On any thread: the loop woken with nothing queued (more to send). */
void
doneq_wake(struct doneq *q)
{
	ev_async_send(q->loop, &q->async);
}

/* In the loop: every item queued so far, first first; NULL if none. */
void *
doneq_take(struct doneq *q)
{
	void *list;

	pthread_mutex_lock(&q->mu);
	list = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return list;
}

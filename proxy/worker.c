/*
 * Searches off the event loop.  A glob or a grep walks a tree and may
 * take up to its time limit; done in the loop it would hold up every
 * other request.  WORKERS threads take them from a queue, run fs_do,
 * and hand the request back through the completion queue of record.c,
 * where the loop finishes it as any other read.
 *
 * A worker touches only its request, the configuration and the root's
 * directory fd, none of which the loop changes while the request is out.
 */
#define _GNU_SOURCE
#include <string.h>

#include "proxy.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct req *head, *tail;

static void *
worker(void *arg)
{
	struct req *r;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&mu);
		while (head == NULL)
			pthread_cond_wait(&cv, &mu);
		r = head;
		if ((head = r->next) == NULL)
			tail = NULL;
		pthread_mutex_unlock(&mu);
		r->next = NULL;
		r->found = fs_do(r, &r->found_kind, r->found_why,
		    sizeof(r->found_why));
		record_done(r, 0, 0, NULL);
	}
	return NULL;
}

int
worker_start(struct audit_err *err)
{
	for (int i = 0; i < WORKERS; i++) {
		pthread_t t;
		int rc;

		if ((rc = pthread_create(&t, NULL, worker, NULL)) != 0)
			return audit_errf(err, "cannot start a search worker: "
			    "%s", strerror(rc));
		pthread_detach(t);
	}
	return 0;
}

/* Queue r; it comes back to request_advance in STAGE_SEARCH. */
void
worker_submit(struct req *r)
{
	r->stage = STAGE_SEARCH;
	r->next = NULL;
	pthread_mutex_lock(&mu);
	if (tail != NULL)
		tail->next = r;
	else
		head = r;
	tail = r;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

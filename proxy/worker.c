/*
 * Searches off the event loop.  A glob or a grep walks a tree and may
 * take up to its time limit; done in the loop it would hold up every
 * other request.  WORKERS threads take them from a queue, run fs_do,
 * and hand the request back through the completion queue of record.c,
 * where the loop finishes it as any other read.  A worker takes the
 * oldest search whose agent has fewer than AGENT_WORKERS_MAX running, so
 * one agent never holds every worker while another's search waits.
 *
 * A worker touches only its request, the configuration and the root's
 * directory fd, none of which the loop changes while the request is out.
 *
 * Searches waiting are bounded: SEARCHES_MAX in the pod (well under the
 * REQS_MAX requests a connection may have in flight, so that searches
 * waiting never stop the node's one channel from being read) and
 * AGENT_SEARCHES_MAX of one agent (so that one agent's searches never
 * take every place).  The count is kept on the loop only: a search is
 * taken in decide() and given back when its worker hands it back.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>

#include "proxy.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct req *head, *tail;

/* Searches taken and not given back, in all and per agent (loop only). */
static struct {
	char	 kid[AUDIT_KID_MAX + 1];
	int	 n;
} agents[SEARCHES_MAX];
static int searches;

static int
agent_slot(const char *kid)
{
	for (int i = 0; i < SEARCHES_MAX; i++)
		if (agents[i].n > 0 && strcmp(agents[i].kid, kid) == 0)
			return i;
	return -1;
}

/*
 * May the agent kid start one more search?  0, and the search is
 * counted; -1 with why, when the pod or the agent has all it may have.
 */
int
worker_take(const char *kid, char *why, size_t len)
{
	int i = agent_slot(kid);

	if (searches >= SEARCHES_MAX) {
		audit_fmt(why, len, "%d searches are running or waiting; the "
		    "limit is %d", searches, SEARCHES_MAX);
		return -1;
	}
	if (i >= 0 && agents[i].n >= AGENT_SEARCHES_MAX) {
		audit_fmt(why, len, "%d searches of %s are running or "
		    "waiting; the limit is %d per agent", agents[i].n, kid,
		    AGENT_SEARCHES_MAX);
		return -1;
	}
	/* Fewer agents than searches, so one place is free. */
	for (int j = 0; i < 0 && j < SEARCHES_MAX; j++)
		if (agents[j].n == 0)
			i = j;
	if (i < 0 || audit_fit(agents[i].kid, sizeof(agents[i].kid), NULL,
	    "%s", kid) != 0) {
		audit_fmt(why, len, "no place for this agent's search");
		return -1;
	}
	agents[i].n++;
	searches++;
	return 0;
}

/* A search of kid is done. */
void
worker_give(const char *kid)
{
	int i = agent_slot(kid);

	if (i >= 0) {
		agents[i].n--;
		searches--;
	}
}

/* The agent each worker searches for, or NULL (under mu). */
static const char *busy[WORKERS];

static int
running(const char *kid)
{
	int n = 0;

	for (int i = 0; i < WORKERS; i++)
		n += busy[i] != NULL && strcmp(busy[i], kid) == 0;
	return n;
}

/*
 * The oldest search whose agent has fewer than AGENT_WORKERS_MAX
 * running, off the queue; NULL when none may start (under mu).
 */
static struct req *
next_search(void)
{
	struct req *r, *prev = NULL;

	for (r = head; r != NULL; prev = r, r = r->next)
		if (running(r->kid) < AGENT_WORKERS_MAX)
			break;
	if (r == NULL)
		return NULL;
	if (prev != NULL)
		prev->next = r->next;
	else
		head = r->next;
	if (tail == r)
		tail = prev;
	r->next = NULL;
	return r;
}

static void *
worker(void *arg)
{
	int self = (int)(intptr_t)arg;
	struct req *r;

	for (;;) {
		pthread_mutex_lock(&mu);
		while ((r = next_search()) == NULL)
			pthread_cond_wait(&cv, &mu);
		busy[self] = r->kid;
		pthread_mutex_unlock(&mu);
		r->found = fs_do(r, &r->found_kind, r->found_why,
		    sizeof(r->found_why));
		/* Another agent's search may start now. */
		pthread_mutex_lock(&mu);
		busy[self] = NULL;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
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

		if ((rc = pthread_create(&t, NULL, worker,
		    (void *)(intptr_t)i)) != 0)
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

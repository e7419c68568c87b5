/*
 * The gate's checks that need no state (gate_verify: the JSON, the
 * envelope, the signature) are made off the loop's turn where they
 * would hold it: each request line is queued as it is read; a thread of
 * its own, the verifier, and the loop itself before it waits take the
 * lines from the queue and check them, two at once; the loop then
 * finishes them in the order they came (gate_finish: the nonce, the
 * role, the pod, the token) and acts (request.c), so that a client's
 * pipelined requests are acted on in its order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

struct vjob {
	struct vjob *next;
	struct lines_conn *conn;	/* held */
	int64_t	 now;		/* when it was read */
	int	 rc;		/* gate_verify's */
	int	 done;		/* checked, under V.mu */
	struct gate_req q;
	size_t	 len;
	char	 line[];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the verifier: a line is queued */
	pthread_t th;
	int	 started, stopping;
	struct vjob *head, *tail;	/* in the order read */
	struct vjob *todo;	/* the first not yet taken */
	ev_async *async;
} V = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER };

/* The next line to check, taken; NULL if none.  With V.mu held. */
static struct vjob *
take(void)
{
	struct vjob *j = V.todo;

	if (j != NULL)
		V.todo = j->next;
	return j;
}

static void
check(struct vjob *j)
{
	j->rc = gate_verify(&N->gate, j->line, j->len, j->now, &j->q);
}

static void *
verifier(void *arg)
{
	struct vjob *j;

	(void)arg;
	pthread_mutex_lock(&V.mu);
	for (;;) {
		while (V.todo == NULL && !V.stopping)
			pthread_cond_wait(&V.work, &V.mu);
		if (V.stopping)
			break;
		j = take();
		pthread_mutex_unlock(&V.mu);
		check(j);
		pthread_mutex_lock(&V.mu);
		j->done = 1;
		ev_async_send(N->loop, V.async);
	}
	pthread_mutex_unlock(&V.mu);
	return NULL;
}

int
gateq_start(ev_async *async, struct audit_err *err)
{
	int rc;

	V.async = async;
	if ((rc = audit_thread_start(&V.th, NULL, verifier, NULL)) != 0)
		return audit_errf(err, "the gate's verifier: %s",
		    strerror(rc));
	V.started = 1;
	return 0;
}

/* The verifier ends; lines not acted on are dropped, unanswered. */
void
gateq_stop(void)
{
	struct vjob *j, *next;

	if (V.started) {
		pthread_mutex_lock(&V.mu);
		V.stopping = 1;
		pthread_cond_signal(&V.work);
		pthread_mutex_unlock(&V.mu);
		pthread_join(V.th, NULL);
		V.started = 0;
	}
	for (j = V.head; j != NULL; j = next) {
		next = j->next;
		gate_req_free(&j->q);
		lines_release(j->conn);
		free(j);
	}
	V.head = V.tail = V.todo = NULL;
}

/* A request line read from c: queued, to be checked. */
void
node_line(struct lines_conn *c, const char *line, size_t len)
{
	struct vjob *j;

	if ((j = malloc(sizeof(*j) + len + 1)) == NULL) {
		json_t *r = node_error(NULL, "internal", "out of memory");

		lines_send(c, r);
		json_decref(r);
		return;
	}
	memset(j, 0, sizeof(*j));
	j->conn = c;
	lines_hold(c);
	j->now = (int64_t)time(NULL);
	j->len = len;
	memcpy(j->line, line, len);
	j->line[len] = '\0';
	pthread_mutex_lock(&V.mu);
	if (V.tail != NULL)
		V.tail->next = j;
	else
		V.head = j;
	V.tail = j;
	/* One line alone is the loop's, which checks it before it waits:
	   the verifier is woken for the second, to check two at once. */
	if (V.todo == NULL)
		V.todo = j;
	else
		pthread_cond_signal(&V.work);
	pthread_mutex_unlock(&V.mu);
}

/*
 * The loop's part, before it waits and when the verifier says it checked
 * one: it checks what is left to check itself, then acts on the lines
 * checked, in the order they came, up to the first not yet checked.
 * How many it acted on.
 */
int
gateq_run(void)
{
	struct vjob *j;
	int n = 0;

	pthread_mutex_lock(&V.mu);
	while ((j = take()) != NULL) {
		pthread_mutex_unlock(&V.mu);
		check(j);
		pthread_mutex_lock(&V.mu);
		j->done = 1;
	}
	while ((j = V.head) != NULL && j->done) {
		if ((V.head = j->next) == NULL)
			V.tail = NULL;
		pthread_mutex_unlock(&V.mu);
		node_line_checked(j->conn, &j->q, j->rc, j->now, j->line,
		    j->len);
		gate_req_free(&j->q);
		lines_release(j->conn);
		free(j);
		n++;
		pthread_mutex_lock(&V.mu);
	}
	pthread_mutex_unlock(&V.mu);
	return n;
}

void
gateq_checked(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	(void)gateq_run();
}

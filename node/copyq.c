/*
 * The pods' host copies are kept by a thread of their own, the copier,
 * so that the loop never waits for a disk nor spends its time verifying
 * the pods' signatures: the loop hands each audit line over as it reads
 * it (copyw_line), the copier verifies it against the chain, appends it,
 * and after each batch makes every copy it touched durable with one
 * fdatasync and says how far each is durable; an ev_async wakes the loop,
 * which relays the answers whose lines are now durable (pods.c).
 *
 * A copy (struct copyw) is shared: the pod holds a reference, and so
 * does each line queued for it; the last one closes it.  Its chain and
 * file are the copier's alone; what the loop reads (how far it is
 * durable, whether it failed and why) is under the queue's mutex.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

struct citem {
	struct citem *next;
	struct copyw *w;
	size_t	 len;
	char	 line[];
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the copier: lines are queued */
	pthread_cond_t done;	/* copyw_wait: a batch is durable */
	pthread_t th;
	int	 started, stopping;
	struct citem *head, *tail;
	struct ev_loop *loop;
	ev_async *async;
} Q;

/* With Q.mu held. */
static void
unref(struct copyw *w)
{
	if (--w->refs > 0)
		return;
	copy_close(&w->c);
	free(w);
}

static void *
copier(void *arg)
{
	struct citem *list, *it, *next;
	struct copyw *touched = NULL, *w;
	struct audit_err e;

	(void)arg;
	/* Named, for a test that holds it (thread-stop). */
	(void)pthread_setname_np(pthread_self(), "copier");
	pthread_mutex_lock(&Q.mu);
	for (;;) {
		while (Q.head == NULL && !Q.stopping)
			pthread_cond_wait(&Q.work, &Q.mu);
		if (Q.head == NULL)
			break;
		list = Q.head;
		Q.head = Q.tail = NULL;
		pthread_mutex_unlock(&Q.mu);

		for (it = list; it != NULL; it = it->next) {
			w = it->w;
			if (!w->touched) {
				w->touched = 1;
				w->next_touched = touched;
				touched = w;
			}
			if (w->c.failed)
				continue;
			if (copy_line(&w->c, it->line, it->len, w->log, w->pk,
			    &e) != 0)
				audit_fmt(w->cwhy, sizeof(w->cwhy), "%s",
				    e.msg);
		}
		/* One fdatasync per copy for the whole batch. */
		for (w = touched; w != NULL; w = w->next_touched)
			if (!w->c.failed && copy_sync(&w->c, &e) != 0)
				audit_fmt(w->cwhy, sizeof(w->cwhy), "%s",
				    e.msg);

		pthread_mutex_lock(&Q.mu);
		for (w = touched; w != NULL; w = w->next_touched) {
			w->touched = 0;
			w->durable = w->c.synced;
			w->durable_seq = w->c.synced_seq;
			if (w->c.failed && !w->failed) {
				w->failed = 1;
				audit_fmt(w->why, sizeof(w->why), "%s",
				    w->cwhy);
			}
		}
		touched = NULL;
		for (it = list; it != NULL; it = next) {
			next = it->next;
			unref(it->w);
			free(it);
		}
		pthread_cond_broadcast(&Q.done);
		ev_async_send(Q.loop, Q.async);
	}
	pthread_mutex_unlock(&Q.mu);
	return NULL;
}

int
copyq_start(struct ev_loop *loop, ev_async *async, struct audit_err *err)
{
	Q.loop = loop;
	Q.async = async;
	pthread_mutex_init(&Q.mu, NULL);
	pthread_cond_init(&Q.work, NULL);
	pthread_cond_init(&Q.done, NULL);
	if (audit_thread_start(&Q.th, NULL, copier, NULL) != 0)
		return audit_errf(err, "cannot start the copier thread");
	Q.started = 1;
	return 0;
}

/* Every line queued is copied, then the copier ends. */
void
copyq_stop(void)
{
	if (!Q.started)
		return;
	pthread_mutex_lock(&Q.mu);
	Q.stopping = 1;
	pthread_cond_signal(&Q.work);
	pthread_mutex_unlock(&Q.mu);
	pthread_join(Q.th, NULL);
	Q.started = 0;
}

struct copyw *
copyw_open(const char *dir, const char *log, const uint8_t pk[AUDIT_PK_LEN],
    const struct audit_keyring *trust, struct audit_err *err)
{
	struct copyw *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (copy_open(&w->c, dir, log, trust, err) != 0) {
		copy_close(&w->c);
		free(w);
		return NULL;
	}
	if (audit_fit(w->log, sizeof(w->log), err, "%s", log) != 0) {
		copy_close(&w->c);
		free(w);
		return NULL;
	}
	memcpy(w->pk, pk, AUDIT_PK_LEN);
	w->durable_seq = -1;
	w->refs = 1;
	return w;
}

/*
 * A copy a node kept before it restarted (copy_reopen), for the pod it
 * takes back: durable as far as it verifies.
 */
struct copyw *
copyw_reopen(const char *dir, const char *log, const uint8_t pk[AUDIT_PK_LEN],
    const struct audit_keyring *trust, struct audit_err *err)
{
	struct copyw *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (copy_reopen(&w->c, dir, log, trust, err) != 0 ||
	    (memcmp(w->c.chain.pk, pk, AUDIT_PK_LEN) != 0 &&
	    audit_errf(err, "%s: not the key the pod said hello with",
	    w->c.path) != 0) ||
	    audit_fit(w->log, sizeof(w->log), err, "%s", log) != 0) {
		copy_close(&w->c);
		free(w);
		return NULL;
	}
	memcpy(w->pk, pk, AUDIT_PK_LEN);
	w->queued = w->durable = w->c.synced;
	w->durable_seq = w->c.synced_seq;
	w->refs = 1;
	return w;
}

/* Hand one line over; -1 when it cannot be (the copy then fails). */
int
copyw_line(struct copyw *w, const char *line, size_t len)
{
	struct citem *it = malloc(sizeof(*it) + len);

	pthread_mutex_lock(&Q.mu);
	if (it == NULL) {
		w->failed = 1;
		audit_fmt(w->why, sizeof(w->why), "out of memory");
		pthread_mutex_unlock(&Q.mu);
		return -1;
	}
	memcpy(it->line, line, len);
	it->len = len;
	it->w = w;
	it->next = NULL;
	w->refs++;
	w->queued++;
	if (Q.tail != NULL)
		Q.tail->next = it;
	else
		Q.head = it;
	Q.tail = it;
	pthread_cond_signal(&Q.work);
	pthread_mutex_unlock(&Q.mu);
	return 0;
}

/* How far the copy is durable: lines, the last record's seq, or why not. */
void
copyw_state(struct copyw *w, struct copyw_state *s)
{
	pthread_mutex_lock(&Q.mu);
	s->queued = w->queued;
	s->durable = w->durable;
	s->durable_seq = w->durable_seq;
	s->failed = w->failed;
	if (w->failed)
		audit_fmt(s->why, sizeof(s->why), "%s", w->why);
	else
		s->why[0] = '\0';
	pthread_mutex_unlock(&Q.mu);
}

/* Until every line handed over is durable, or the copy has failed. */
void
copyw_wait(struct copyw *w)
{
	pthread_mutex_lock(&Q.mu);
	while (Q.started && !w->failed && w->durable < w->queued)
		pthread_cond_wait(&Q.done, &Q.mu);
	pthread_mutex_unlock(&Q.mu);
}

void
copyw_release(struct copyw *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&Q.mu);
	unref(w);
	pthread_mutex_unlock(&Q.mu);
}

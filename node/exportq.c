/*
 * pod.export and pod.diff off the loop: the archive (up to
 * EXPORT_BYTES_MAX read from the pod's /work, or read back from what a
 * VM's proxy sent) and the diff are made on one worker thread, in the
 * order asked, and the loop records and answers once each is made
 * (exportq_done), so other clients and pods are served meanwhile.  One
 * at a time: the memory it holds is one export's.
 *
 * A job holds its own copies of what it reads (a descriptor of the
 * pod's /work, the pod's policy, the snapshot's path): the pod may end
 * meanwhile, its answer still goes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"
#include "doneq.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct exportq_job *head, *tail;
	int	 started;
	struct doneq done;
} Q = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void
run(struct exportq_job *j)
{
	struct audit_buf orig = { 0 };

	j->req.path = j->path;
	j->req.policy = j->policy;
	j->rc = j->fd >= 0 ? export_tar(j->fd, &j->req, &j->out, &j->e) :
	    export_repack(&j->cpio, &j->req, &j->out, &j->e);
	if (j->rc == 0) {
		j->out.left_out += j->left_out;
		j->out.skipped += j->skipped;
	} else
		j->kind = j->out.kind;
	audit_buf_free(&j->cpio);
	if (j->rc != 0 || j->snap[0] == '\0')
		return;
	j->kind = "unavailable";
	if ((j->rc = export_snapshot(j->snap, &orig, &j->e)) == 0)
		j->rc = export_diff(&orig, &j->out.tar, &j->diff, &j->kind,
		    &j->e);
	audit_buf_free(&orig);
	audit_buf_free(&j->out.tar);
}

static void *
worker(void *arg)
{
	struct exportq_job *j;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&Q.mu);
		while (Q.head == NULL)
			pthread_cond_wait(&Q.cv, &Q.mu);
		j = Q.head;
		if ((Q.head = j->next) == NULL)
			Q.tail = NULL;
		pthread_mutex_unlock(&Q.mu);
		run(j);
		doneq_push(&Q.done, j);
	}
	return NULL;
}

/* On the loop: each job made, to its done. */
static void
made(struct ev_loop *loop, ev_async *w, int revents)
{
	struct exportq_job *j, *next;

	(void)loop;
	(void)w;
	(void)revents;
	for (j = doneq_take(&Q.done); j != NULL; j = next) {
		next = j->next;
		j->done(j);
		exportq_free(j);
	}
}

struct exportq_job *
exportq_new(const json_t *policy, const char *path)
{
	struct exportq_job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->fd = -1;
	if ((j->policy = json_deep_copy(policy)) == NULL ||
	    (j->path = strdup(path)) == NULL) {
		exportq_free(j);
		return NULL;
	}
	return j;
}

void
exportq_free(struct exportq_job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	json_decref(j->policy);
	free(j->path);
	json_decref(j->diff);
	json_decref(j->id);
	if (j->c != NULL)
		lines_release(j->c);
	audit_buf_free(&j->cpio);
	audit_buf_free(&j->out.tar);
	free(j);
}

/* j made on the worker, then done(j) on the loop; -1: not queued. */
int
exportq_submit(struct exportq_job *j)
{
	pthread_t th;
	pthread_attr_t at;
	int rc = 0;

	pthread_mutex_lock(&Q.mu);
	if (!Q.started) {
		doneq_init(&Q.done, N->loop, offsetof(struct exportq_job,
		    next), made);
		if (pthread_attr_init(&at) != 0 ||
		    pthread_attr_setdetachstate(&at,
		    PTHREAD_CREATE_DETACHED) != 0 ||
		    audit_thread_start(&th, &at, worker, NULL) != 0)
			rc = -1;
		else
			Q.started = 1;
		(void)pthread_attr_destroy(&at);
	}
	if (rc == 0) {
		j->next = NULL;
		if (Q.tail != NULL)
			Q.tail->next = j;
		else
			Q.head = j;
		Q.tail = j;
		pthread_cond_signal(&Q.cv);
	}
	pthread_mutex_unlock(&Q.mu);
	return rc;
}

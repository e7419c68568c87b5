/*
 * The node's state (LMDB: the seen nonces, the tokens forwarded, the
 * pods) made durable by a thread of its own, so that the loop never
 * waits for the disk: a group commit.  The loop commits each write as it
 * comes (MDB_NOSYNC) and, before it waits, asks for a sync of all it
 * committed so far (nsync_ask: a generation); the syncer makes every
 * generation asked while its last fdatasync ran durable with one more,
 * and an ev_async wakes the loop, which then lets go what waited for
 * them: the requests forwarded to pods (channel.c holds their bytes),
 * the records and answers of node operations (record.c).
 *
 * The syncer syncs its own descriptor of the state's file (a dup of
 * LMDB's, which is what mdb_env_sync syncs), so that the loop may close
 * and open LMDB again (node_state_retry) while a sync runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "serve.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t work;	/* the syncer: a generation is asked */
	pthread_cond_t idle;	/* nsync_wait: all asked is durable */
	pthread_t th;
	int	 started, stopping, busy;
	int	 fd;		/* the state's file, or -1 */
	uint64_t asked;		/* the last generation asked */
	uint64_t durable;	/* the last one durable */
	int	 failed;	/* an fdatasync failed: errno */
	ev_async *async;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER,
    .idle = PTHREAD_COND_INITIALIZER, .fd = -1 };

static void *
syncer(void *arg)
{
	uint64_t target;
	int fd, rc;

	(void)arg;
	pthread_mutex_lock(&S.mu);
	for (;;) {
		while ((S.asked == S.durable || S.failed || S.fd < 0) &&
		    !S.stopping)
			pthread_cond_wait(&S.work, &S.mu);
		if (S.stopping && (S.asked == S.durable || S.failed ||
		    S.fd < 0))
			break;
		target = S.asked;
		fd = S.fd;
		S.busy = 1;
		pthread_mutex_unlock(&S.mu);
		/* What was written before the call is durable after it. */
		rc = fdatasync(fd) == 0 ? 0 : errno != 0 ? errno : EIO;
		pthread_mutex_lock(&S.mu);
		S.busy = 0;
		if (rc == 0 && target > S.durable)
			S.durable = target;
		else if (rc != 0)
			S.failed = rc;
		pthread_cond_broadcast(&S.idle);
		ev_async_send(N->loop, S.async);
	}
	S.busy = 0;
	pthread_cond_broadcast(&S.idle);
	pthread_mutex_unlock(&S.mu);
	return NULL;
}

int
nsync_start(ev_async *async, struct audit_err *err)
{
	int rc;

	S.async = async;
	if ((rc = audit_thread_start(&S.th, NULL, syncer, NULL)) != 0)
		return audit_errf(err, "the state's syncer: %s", strerror(rc));
	S.started = 1;
	return 0;
}

/* The syncer ends once what was asked is durable (or failed). */
void
nsync_stop(void)
{
	if (!S.started)
		return;
	pthread_mutex_lock(&S.mu);
	S.stopping = 1;
	pthread_cond_signal(&S.work);
	pthread_mutex_unlock(&S.mu);
	pthread_join(S.th, NULL);
	S.started = 0;
}

/*
 * LMDB opened (again): its file is what the syncer syncs from now on.
 * The loop has waited for the last one's syncs (nsync_wait) and dropped
 * what waited for one that failed: nothing asked before is pending.
 */
int
nsync_env(MDB_env *env, struct audit_err *err)
{
	int fd = -1, lfd;

	if (env != NULL && (mdb_env_get_fd(env, &lfd) != 0 ||
	    (fd = fcntl(lfd, F_DUPFD_CLOEXEC, 0)) < 0))
		return audit_errf(err, "the state's file: %s", strerror(errno));
	pthread_mutex_lock(&S.mu);
	while (S.busy)
		pthread_cond_wait(&S.idle, &S.mu);
	if (S.fd >= 0)
		close(S.fd);
	S.fd = fd;
	S.failed = 0;
	S.durable = S.asked;
	pthread_mutex_unlock(&S.mu);
	return 0;
}

/* A sync of all committed so far: its generation. */
uint64_t
nsync_ask(void)
{
	uint64_t gen;

	pthread_mutex_lock(&S.mu);
	gen = ++S.asked;
	pthread_cond_signal(&S.work);
	pthread_mutex_unlock(&S.mu);
	return gen;
}

/*
 * A sync of all committed so far made by the caller itself, when the
 * syncer has nothing in hand: the loop's, when one request alone waits
 * for it and there is nothing else to do meanwhile.  Its generation, or
 * 0 when the syncer is busy (then nsync_ask).
 */
uint64_t
nsync_now(void)
{
	uint64_t target;
	int fd, rc;

	pthread_mutex_lock(&S.mu);
	if (S.busy || S.asked != S.durable || S.failed || S.fd < 0) {
		pthread_mutex_unlock(&S.mu);
		return 0;
	}
	target = ++S.asked;
	fd = S.fd;
	S.busy = 1;
	pthread_mutex_unlock(&S.mu);
	rc = fdatasync(fd) == 0 ? 0 : errno != 0 ? errno : EIO;
	pthread_mutex_lock(&S.mu);
	S.busy = 0;
	if (rc == 0 && target > S.durable)
		S.durable = target;
	else if (rc != 0)
		S.failed = rc;
	pthread_cond_broadcast(&S.idle);
	pthread_mutex_unlock(&S.mu);
	return target;
}

/* The last generation durable; *failed: an errno once a sync failed. */
uint64_t
nsync_durable(int *failed)
{
	uint64_t gen;

	pthread_mutex_lock(&S.mu);
	gen = S.durable;
	*failed = S.failed;
	pthread_mutex_unlock(&S.mu);
	return gen;
}

/* Wait until all asked is durable or failed (the node stops). */
void
nsync_wait(void)
{
	pthread_mutex_lock(&S.mu);
	while (S.started && S.fd >= 0 && !S.failed && (S.busy ||
	    S.asked != S.durable))
		pthread_cond_wait(&S.idle, &S.mu);
	pthread_mutex_unlock(&S.mu);
}

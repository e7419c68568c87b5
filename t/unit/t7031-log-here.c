/*
 * audit_log_submit_here (log.c): an idle log signs, writes and syncs a
 * record on the caller's thread and completes it before returning; a
 * busy one queues it as audit_log_submit does.  Either way the chain is
 * one sequence: submissions made here while other threads append get
 * distinct seqs, each completed once, and the log verifies.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

#define THREADS		4
#define PER_THREAD	200
#define HERE		400

static char dir[] = "/tmp/nucleus-t7031-XXXXXX";
static struct audit_seckey *key;
static struct audit_keyring kr;
static struct audit_log *shared;
static pthread_t main_th;

static const char *
path(const char *name)
{
	static char buf[512];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static long
verify(const char *file)
{
	struct audit_fault_info fi;
	struct audit_chain c;
	struct audit_err e;
	int fd = open(file, O_RDONLY), rc;
	long n;

	audit_chain_init(&c, &kr);
	rc = audit_chain_stream(&c, fd, &fi, &e);
	close(fd);
	n = rc == 0 ? (long)c.lines : -1;
	audit_chain_free(&c);
	return n;
}

static json_t *
ev(long i)
{
	return json_pack("{s:s, s:I}", "event", "test", "i", (json_int_t)i);
}

struct done {
	atomic_int called;
	int	 error, on_main;
	uint64_t seq;
};

static void
done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct done *d = arg;

	d->error = error != 0 ? error : hash == NULL;
	d->seq = seq;
	d->on_main = pthread_equal(pthread_self(), main_th);
	atomic_fetch_add(&d->called, 1);
}

static void
idle(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d[3];
	json_t *j;
	int good = 1;

	memset(d, 0, sizeof(d));
	ok(audit_log_open(&l, path("idle.log"), "pod-i", key, NULL, &e) == 0,
	    "a log opens");
	for (int i = 0; i < 3; i++) {
		/* Idle: the last completion's thread has let go of it too
		 * (it completes, then counts; a bounded wait). */
		for (long k = 0; k < 10000000 && audit_log_inflight(l) != 0;
		    k++)
			sched_yield();
		j = ev(i);
		good &= audit_log_submit_here(l, j, done, &d[i], &e) == 0;
		json_decref(j);
		/* Completed before it returned, on this thread. */
		good &= atomic_load(&d[i].called) == 1 && d[i].on_main &&
		    d[i].error == 0 && d[i].seq == (uint64_t)i + 1;
	}
	ok(good, "an idle log: each record durable and completed on the "
	    "caller's thread before submit_here returns, seq 1 to 3");
	ok(audit_log_durable(l) == 4 && audit_log_inflight(l) == 0,
	    "all four records (log.open too) are durable, none in flight");
	j = json_pack("{s:s}", "not", "an event");
	ok(audit_log_submit_here(l, j, done, &d[0], &e) == -1,
	    "what is not an event is refused at once");
	json_decref(j);
	audit_log_close(l, &e);
	ok(verify(path("idle.log")) == 4, "the log verifies");
}

static void *
writer(void *arg)
{
	struct audit_err e;
	uint64_t *seqs = arg;

	for (long i = 0; i < PER_THREAD; i++) {
		json_t *j = ev(i);

		if (audit_log_append_wait(shared, j, &seqs[i], NULL, &e) != 0)
			seqs[i] = 0;
		json_decref(j);
	}
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
busy(void)
{
	static struct done d[HERE];
	static uint64_t seqs[THREADS * PER_THREAD + HERE];
	struct audit_err e;
	pthread_t th[THREADS];
	long total = THREADS * PER_THREAD + HERE, here = 0;
	int good = 1, distinct = 1;

	audit_log_open(&shared, path("busy.log"), "pod-b", key, NULL, &e);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, writer, seqs + i * PER_THREAD);
	for (long i = 0; i < HERE; i++) {
		json_t *j = ev(i);

		good &= audit_log_submit_here(shared, j, done, &d[i], &e) == 0;
		json_decref(j);
		if (i % 8 == 0)
			sched_yield();
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	audit_log_close(shared, &e);	/* every record completes first */
	for (long i = 0; i < HERE; i++) {
		good &= atomic_load(&d[i].called) == 1 && d[i].error == 0;
		here += d[i].on_main;
		seqs[THREADS * PER_THREAD + i] = d[i].seq;
	}
	diag("%ld of %d completed on the submitting thread", here, HERE);
	ok(good, "%d submissions here among %d threads' appends: each "
	    "completed once, durable", HERE, THREADS);
	qsort(seqs, (size_t)total, sizeof(*seqs), cmp_u64);
	for (long i = 0; i < total; i++)
		distinct &= seqs[i] == (uint64_t)i + 1;
	ok(distinct, "seq 1 to %ld, each once", total);
	ok(verify(path("busy.log")) == total + 1, "the log verifies: one "
	    "chain");
}

int
main(void)
{
	struct audit_err e;
	char ring[256], cmd[600];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	main_th = pthread_self();
	audit_seckey_generate(&key, "w1", &e);
	audit_keyring_line(key, NULL, ring, sizeof(ring));
	audit_keyring_parse(&kr, ring, strlen(ring), 0, &e);
	idle();
	busy();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	audit_keyring_free(&kr);
	audit_seckey_free(key);
	return done_testing();
}

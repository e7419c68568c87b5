/*
 * audit_log_submit_deferred (log.c): a record nobody waits on is written
 * at once (a crash of the program keeps it) and its sync deferred: folded
 * into the next sync of a record someone waits on, or made by the
 * flusher once the log has been idle AUDIT_DEFER_IDLE_MS, at most
 * AUDIT_DEFER_MAX_MS after it was written, and always before a close or
 * a rotation.  A record someone waits on never waits for the flusher's
 * sync.  The chain is the one it always was.
 *
 * fdatasync is this program's own (below): the log's calls come here, so
 * that a sync can be held at a gate while the test looks on.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "tap.h"

#define WAIT_MS	10000	/* bound on every wait for what must happen */

static char dir[] = "/tmp/nucleus-t1014-XXXXXX";
static struct audit_seckey *key;
static struct audit_keyring kr;

/* The gate: armed, the next fdatasync waits there until opened. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_armed, gate_held, gate_open;
static atomic_int syncs_made;

int
fdatasync(int fd)
{
	pthread_mutex_lock(&gate_mu);
	if (gate_armed) {
		gate_armed = 0;
		gate_held = 1;
		pthread_cond_broadcast(&gate_cv);
		while (!gate_open)
			pthread_cond_wait(&gate_cv, &gate_mu);
		gate_held = 0;
	}
	pthread_mutex_unlock(&gate_mu);
	atomic_fetch_add(&syncs_made, 1);
	return (int)syscall(SYS_fdatasync, fd);
}

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

static int64_t
now_ms(void)
{
	return audit_now_ms(CLOCK_MONOTONIC);
}

static json_t *
ev(long i)
{
	return json_pack("{s:s, s:I}", "event", "test", "i", (json_int_t)i);
}

struct done {
	atomic_int called;
	int	 error;
	uint64_t seq;
	int64_t	 at;	/* monotonic ms */
};

static void
done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct done *d = arg;

	d->error = error != 0 ? error : hash == NULL;
	d->seq = seq;
	d->at = now_ms();
	atomic_fetch_add(&d->called, 1);
}

/* Until d is completed (1), or WAIT_MS passed (0). */
static int
wait_done(struct done *d)
{
	int64_t until = now_ms() + WAIT_MS;

	while (atomic_load(&d->called) == 0 && now_ms() < until)
		usleep(200);
	return atomic_load(&d->called) == 1;
}

/* Whether the file holds a test record with "i":i (written, synced or
 * not). */
static int
file_has(const char *file, long i)
{
	char buf[65536], want[32];
	int fd = open(file, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	snprintf(want, sizeof(want), "\"i\":%ld,", i);
	return strstr(buf, want) != NULL;
}

static int
submit_deferred(struct audit_log *l, long i, struct done *d)
{
	struct audit_err e;
	json_t *j = ev(i);
	int rc = audit_log_submit_deferred(l, j, done, d, &e);

	json_decref(j);
	return rc;
}

static int
append(struct audit_log *l, long i, uint64_t *seq)
{
	struct audit_err e;
	json_t *j = ev(i);
	int rc = audit_log_append_wait(l, j, seq, NULL, &e);

	json_decref(j);
	return rc;
}

/* Folded into the next awaited record's sync; written before either. */
static void
folded(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d;
	uint64_t seq, syncs, flushes;
	int64_t until;

	memset(&d, 0, sizeof(d));
	ok(audit_log_open(&l, path("fold.log"), "pod-f", key, NULL, &e) == 0,
	    "a log opens");
	audit_log_defer(l, 600000, 600000);	/* no flusher: never due */
	syncs = audit_log_syncs(l);
	ok(submit_deferred(l, 1, &d) == 0, "a deferred record is taken");
	until = now_ms() + WAIT_MS;
	while (!file_has(path("fold.log"), 1) && now_ms() < until)
		usleep(200);
	ok(file_has(path("fold.log"), 1) && atomic_load(&d.called) == 0 &&
	    audit_log_syncs(l) == syncs && audit_log_durable(l) == 1,
	    "it is written at once (a crash of the program keeps it), not "
	    "synced, not completed");
	ok(append(l, 2, &seq) == 0 && seq == 2, "an awaited record after it "
	    "is durable");
	ok(atomic_load(&d.called) == 1 && d.error == 0 && d.seq == 1 &&
	    audit_log_syncs(l) == syncs + 1 && audit_log_durable(l) == 3,
	    "one sync made both durable, the deferred one completed by then");
	flushes = audit_log_flushes(l);
	ok(flushes == 0, "the flusher made no sync");
	audit_log_close(l, &e);
	ok(verify(path("fold.log")) == 3, "the log verifies: one chain");
}

/* The flusher syncs one once the log is idle AUDIT_DEFER_IDLE_MS. */
static void
idle(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d;
	int64_t t0;

	memset(&d, 0, sizeof(d));
	audit_log_open(&l, path("idle.log"), "pod-i", key, NULL, &e);
	t0 = now_ms();
	ok(submit_deferred(l, 1, &d) == 0 && wait_done(&d) && d.error == 0 &&
	    audit_log_flushes(l) == 1 && audit_log_durable(l) == 2,
	    "alone, a deferred record is synced by the flusher");
	ok(d.at - t0 >= AUDIT_DEFER_IDLE_MS, "not before the log was idle "
	    "AUDIT_DEFER_IDLE_MS (%d ms): after %lld ms", AUDIT_DEFER_IDLE_MS,
	    (long long)(d.at - t0));
	audit_log_close(l, &e);
}

/* Never idle: synced AUDIT_DEFER_MAX_MS after it was written. */
static void
max_delay(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d;
	int64_t t0;

	memset(&d, 0, sizeof(d));
	audit_log_open(&l, path("max.log"), "pod-m", key, NULL, &e);
	audit_log_defer(l, 600000, AUDIT_DEFER_MAX_MS);	/* never idle */
	t0 = now_ms();
	ok(submit_deferred(l, 1, &d) == 0 && wait_done(&d) && d.error == 0 &&
	    audit_log_flushes(l) == 1, "a log never idle syncs a deferred "
	    "record all the same");
	ok(d.at - t0 >= AUDIT_DEFER_MAX_MS, "at AUDIT_DEFER_MAX_MS (%d ms) "
	    "after it was written: after %lld ms", AUDIT_DEFER_MAX_MS,
	    (long long)(d.at - t0));
	audit_log_close(l, &e);
}

/* The flusher's sync held at the gate: an awaited record goes on. */
static void
not_behind(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d;
	uint64_t seq;
	int64_t until;
	int held;

	memset(&d, 0, sizeof(d));
	audit_log_open(&l, path("gate.log"), "pod-g", key, NULL, &e);
	pthread_mutex_lock(&gate_mu);
	gate_armed = 1;
	gate_open = 0;
	pthread_mutex_unlock(&gate_mu);
	submit_deferred(l, 1, &d);
	/* The flusher's sync reaches the gate (idle: the next sync). */
	until = now_ms() + WAIT_MS;
	pthread_mutex_lock(&gate_mu);
	while (!gate_held && now_ms() < until) {
		pthread_mutex_unlock(&gate_mu);
		usleep(200);
		pthread_mutex_lock(&gate_mu);
	}
	held = gate_held;
	pthread_mutex_unlock(&gate_mu);
	ok(held && audit_log_flushes(l) == 0, "the flusher's sync of a "
	    "deferred record is held");
	ok(append(l, 2, &seq) == 0 && seq == 2, "meanwhile an awaited record "
	    "is written, synced and completed");
	pthread_mutex_lock(&gate_mu);
	held = gate_held;
	pthread_mutex_unlock(&gate_mu);
	ok(held && atomic_load(&d.called) == 0, "while that sync is still "
	    "held: it never waited behind it");
	pthread_mutex_lock(&gate_mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
	ok(wait_done(&d) && d.error == 0 && d.seq == 1, "let go, the deferred "
	    "record completes");
	audit_log_close(l, &e);
	ok(verify(path("gate.log")) == 3, "the log verifies");
}

/* A close and a rotation sync what is deferred first; nothing is lost. */
static void
at_close(void)
{
	struct audit_log *l;
	struct audit_err e;
	struct done d[8], r;
	int64_t until;
	int good = 1, before;

	memset(d, 0, sizeof(d));
	memset(&r, 0, sizeof(r));
	audit_log_open(&l, path("close.log"), "pod-c", key, NULL, &e);
	audit_log_defer(l, 600000, 600000);
	for (long i = 0; i < 8; i++)
		good &= submit_deferred(l, i, &d[i]) == 0;
	before = atomic_load(&syncs_made);
	ok(audit_log_close(l, &e) == 0 && good, "a log with 8 deferred "
	    "records closes");
	for (int i = 0; i < 8; i++)
		good &= atomic_load(&d[i].called) == 1 && d[i].error == 0 &&
		    d[i].seq == (uint64_t)i + 1;
	ok(good && atomic_load(&syncs_made) > before, "each was synced and "
	    "completed by then");
	ok(verify(path("close.log")) == 9, "nothing lost: the log verifies "
	    "with all of them");

	audit_log_open(&l, path("rot.log"), "pod-r", key, NULL, &e);
	audit_log_rotation(l, 0, &e);
	audit_log_defer(l, 600000, 600000);
	submit_deferred(l, 1, &r);
	until = now_ms() + WAIT_MS;
	while (!file_has(path("rot.log"), 1) && now_ms() < until)
		usleep(200);
	if (audit_log_rotate(l, &e) != 0)
		diag("%s", e.msg);
	ok(atomic_load(&r.called) == 1 && r.error == 0 && r.seq == 1,
	    "a rotation syncs a deferred record written before it first");
	audit_log_close(l, &e);
	ok(file_has(path("rot.log.0"), 1) && verify(path("rot.log.0")) == 3,
	    "in the file it was written to, which verifies");
}

int
main(void)
{
	struct audit_err e;
	char ring[256], cmd[600];

	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	audit_seckey_generate(&key, "w1", &e);
	audit_keyring_line(key, NULL, ring, sizeof(ring));
	audit_keyring_parse(&kr, ring, strlen(ring), 0, &e);
	folded();
	idle();
	max_delay();
	not_behind();
	at_close();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		diag("could not remove %s", dir);
	audit_keyring_free(&kr);
	audit_seckey_free(key);
	return done_testing();
}

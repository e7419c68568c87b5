/*
 * The audit log, writer side: a pipeline of two threads behind a queue.
 *
 *	submit	   the caller's thread checks the event and queues it
 *	signer	   a thread signs and chains queued events in order (each
 *		   record's prev is the hash of the line before, signature
 *		   included, so this is one sequence) and hands the lines on
 *	syncer	   a thread writes every line handed on with one write(2)
 *		   and one fdatasync(2) (group commit), and only then calls
 *		   each record's completion with its seq and hash
 *
 * While the syncer waits for the disk the signer signs the next records,
 * and everything signed meanwhile goes into the next sync.  At a light
 * load (the last sync held one record, none is under way and nothing
 * more waits to be signed) the signer writes and syncs what it signed
 * itself: a record then costs one thread wakeup less, and on a virtual
 * machine a wakeup is dear.  Under load it never does, so that signing
 * goes on while the disk syncs.  A program may
 * answer the request a record belongs to only once its completion said
 * it is durable.  When a write or a sync fails the log stops: every
 * record not yet durable, and every later submission, fails; nothing is
 * reported durable that was not synced.
 *
 * A record nobody waits on (audit_log_submit_deferred: the node's
 * egress.close, say) is written at once, so that a crash of the program
 * keeps it, but its sync is deferred: the next sync of a record someone
 * waits on covers it, or a thread of its own, the flusher, syncs it once
 * no line has been written for AUDIT_DEFER_IDLE_MS, and at most
 * AUDIT_DEFER_MAX_MS after it was written; a close, a rotation or a tee
 * syncs it first.  A record someone waits on never waits for the
 * flusher's sync: its own write and sync go on meanwhile.
 *
 * Reopening a log cuts off a torn last line (bytes after the last newline:
 * a write that never became durable, so was never acknowledged), and
 * appends a log.resume record saying how many bytes were dropped.
 * Nothing else is ever rewritten.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"

struct entry {
	struct entry *next;
	json_t	*event;
	audit_done_fn fn;
	void	*arg;
	int	 error;		/* errno-style; 0 once signed */
	int	 deferred;	/* nobody waits on it: its sync may wait */
	uint64_t seq;
	char	 hash[AUDIT_HEX_LEN + 1];
};

struct list {
	struct entry *head, *tail;
	size_t	 n;
};

/*
 * Rotation: the log closes itself with a log.close naming its successor,
 * is kept as PATH.GEN, and a new file at PATH opens with a log.open
 * naming the predecessor's id, last seq and hash (nucleus-audit(5)).
 */
struct rotation {
	int	 on;			/* the log may rotate */
	int	 dirfd;			/* the log's directory; -1 until used */
	const struct audit_log_files *files;	/* or the program's own */
	off_t	 size;			/* bytes in the file */
	off_t	 max;			/* rotate once past; 0 only asked */
	int	 due;			/* past max: the next submission
					   rotates first */
	int	 hold;			/* a rotation asks the signer to stop */
	int	 parked;		/* the signer has stopped for it */
	int	 busy;			/* a thread is rotating */
	int	 has_cert;		/* a key-cert names one log id */
	int	 adopting;		/* reading the first line at open */
	uint64_t gen;			/* this file's generation */
	char	 base[AUDIT_LOGID_MAX + 1];	/* generation 0's log id */
};

static int	rotate_adopt(struct audit_log *, const char *, size_t);
static int	rotate_here(struct audit_log *, const char *,
		    struct audit_err *);
static void	rotate_grown(struct audit_log *, size_t);
static int	rotate_recovered(struct audit_log *, const json_t *,
		    struct audit_err *);

struct audit_log {
	pthread_mutex_t mu;
	pthread_cond_t sign_cv;		/* the signer: events are queued */
	pthread_cond_t sync_cv;		/* the syncer: lines are ready */
	pthread_cond_t space_cv;	/* submitters: the queue has room */
	pthread_cond_t run_cv;		/* the opener: a thread runs */
	pthread_cond_t flush_cv;	/* the flusher: deferred records */
	int	 running;		/* threads past their start */
	pthread_t signer_th, syncer_th, flusher_th;
	int	 threads;		/* how many started */
	int	 fd;
	const struct audit_seckey *key;
	struct audit_tail tail;		/* the signer's own: the chain */
	struct list submitted;		/* events to sign */
	struct list ready;		/* signed, their lines in wbuf */
	struct audit_buf wbuf;		/* lines to write */
	size_t	 inflight;		/* entries submitted, not completed */
	uint64_t durable;		/* records durable: seq < durable */
	uint64_t syncs;			/* fdatasync calls made */
	uint64_t dropped;		/* bytes of a torn line cut at open */
	int	 failed;		/* errno of a failed write or sync */
	int	 closing;
	int	 signer_done;
	int	 syncing;		/* a thread is writing and syncing */
	int	 here;			/* a submitter signs (submit_here):
					   the signer waits */
	size_t	 last_batch;		/* records in the last sync */
	struct list unsynced;		/* deferred: written, not yet synced */
	size_t	 deferred;		/* deferred records written, not yet
					   completed (unsynced or flushing) */
	int	 flushing;		/* the flusher syncs */
	int	 syncer_done;
	int64_t	 written_ms;		/* monotonic: a line was last written */
	int64_t	 unsynced_ms;		/* the oldest unsynced one was */
	int	 idle_ms, max_ms;	/* AUDIT_DEFER_IDLE_MS, _MAX_MS */
	uint64_t flushes;		/* the flusher's syncs */
	audit_tee_fn tee;		/* told each durable batch's lines */
	void	*tee_arg;
	char	 path[4096];
	struct rotation rot;		/* rotation, at the end of this file */
};

static void
list_add(struct list *l, struct entry *e)
{
	e->next = NULL;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	l->n++;
}

static struct list
list_take(struct list *l)
{
	struct list taken = *l;

	memset(l, 0, sizeof(*l));
	return taken;
}

/*
 * Sign one record, outside the lock: the chain state is the signer's own.
 * An event that cannot be encoded fails alone, taking no seq.
 */
static void
sign_one(struct audit_log *l, struct entry *en, struct audit_buf *line)
{
	struct audit_err e;

	line->len = 0;
	if (audit_record(&l->tail, l->key, en->event,
	    audit_now_ms(CLOCK_REALTIME), line, &e) != 0) {
		en->error = EINVAL;
		return;
	}
	en->seq = l->tail.next_seq - 1;
	audit_hex(en->hash, l->tail.hash, AUDIT_HASH_LEN);
}

static void sync_batch(struct audit_log *, struct audit_buf *);

/*
 * A thread of the log says, under l->mu, that it runs.  By then the
 * thread's start (where the C library registers it with the kernel:
 * rseq, the robust futex list) is behind it, so a seccomp filter the
 * program installs once the log is open never meets a thread starting.
 */
static void
log_running(struct audit_log *l)
{
	l->running++;
	pthread_cond_broadcast(&l->run_cv);
}

/*
 * The signer hands each record to the syncer as soon as it is signed, so
 * that a sync starting now takes everything signed so far.
 */
static void *
signer(void *arg)
{
	struct audit_log *l = arg;
	struct audit_buf line = { 0 }, own = { 0 };
	struct entry *en;

	pthread_mutex_lock(&l->mu);
	log_running(l);
	for (;;) {
		while ((l->submitted.head == NULL || l->here) &&
		    !l->closing && !l->rot.hold)
			pthread_cond_wait(&l->sign_cv, &l->mu);
		if (l->rot.hold) {
			/* A rotation runs on the thread that asked for it. */
			l->rot.parked = 1;
			pthread_cond_broadcast(&l->space_cv);
			while (l->rot.hold)
				pthread_cond_wait(&l->sign_cv, &l->mu);
			l->rot.parked = 0;
			continue;
		}
		if ((en = l->submitted.head) == NULL)
			break;
		if ((l->submitted.head = en->next) == NULL)
			l->submitted.tail = NULL;
		l->submitted.n--;
		if (l->failed != 0)
			en->error = l->failed;
		else {
			pthread_mutex_unlock(&l->mu);
			sign_one(l, en, &line);
			pthread_mutex_lock(&l->mu);
			/*
			 * A line signed but not kept would leave the chain
			 * pointing at nothing: the log stops.
			 */
			if (en->error == 0 && audit_buf_add(&l->wbuf, line.p,
			    line.len) != 0)
				en->error = l->failed = ENOMEM;
		}
		list_add(&l->ready, en);
		if (l->submitted.head == NULL && !l->syncing &&
		    l->last_batch <= 1)
			sync_batch(l, &own);
		else
			pthread_cond_signal(&l->sync_cv);
	}
	l->signer_done = 1;
	pthread_cond_signal(&l->sync_cv);
	pthread_mutex_unlock(&l->mu);
	audit_buf_free(&line);
	audit_buf_free(&own);
	return NULL;
}

/* Call each completion of a batch, in order, and free the entries. */
static void
complete(struct list *batch, int failed)
{
	struct entry *en, *next;

	for (en = batch->head; en != NULL; en = next) {
		int error = en->error != 0 ? en->error : failed;

		next = en->next;
		en->fn(en->arg, error, error != 0 ? 0 : en->seq,
		    error != 0 ? NULL : en->hash);
		json_decref(en->event);
		free(en);
	}
}

/* Whether a batch must be synced now: someone waits on one of its
 * records, or its lines go to a tee, or the log closes. */
static int
batch_awaited(const struct audit_log *l, const struct list *batch)
{
	if (l->tee != NULL || l->closing)
		return 1;
	for (const struct entry *en = batch->head; en != NULL; en = en->next)
		if (!en->deferred)
			return 1;
	return 0;
}

/* The highest seq of a list's signed records, plus one; 0 when none. */
static uint64_t
list_upto(const struct list *list)
{
	uint64_t upto = 0;

	for (const struct entry *en = list->head; en != NULL; en = en->next)
		if (en->error == 0 && en->seq + 1 > upto)
			upto = en->seq + 1;
	return upto;
}

/*
 * With l->mu held: a deferred batch was written.  Its records wait in
 * l->unsynced for a sync; those that failed alone (not signed) go to
 * *now, to be completed at once.
 */
static void
defer_batch(struct audit_log *l, struct list *batch, struct list *now)
{
	struct entry *en, *next;

	for (en = batch->head; en != NULL; en = next) {
		next = en->next;
		if (en->error != 0) {
			list_add(now, en);
			continue;
		}
		if (l->unsynced.head == NULL)
			l->unsynced_ms = l->written_ms;
		list_add(&l->unsynced, en);
		l->deferred++;
	}
	memset(batch, 0, sizeof(*batch));
	pthread_cond_signal(&l->flush_cv);
}

/*
 * With l->mu held and l->syncing clear: write every signed line with one
 * write, and, when anyone waits on one of them, one fdatasync, which
 * also covers the deferred records written before (l->unsynced); then
 * complete their records.  A batch of deferred records alone is written
 * and left to the flusher (or the next sync).  out is the caller's spare
 * buffer, swapped with the log's.  Returns with l->mu held.
 */
static void
sync_batch(struct audit_log *l, struct audit_buf *out)
{
	struct audit_buf tmp;
	struct list batch, folded = { 0 }, now = { 0 };
	uint64_t upto, fupto;
	size_t nbatch;
	int rc = 0, failed, awaited, synced = 0;

	l->syncing = 1;
	/* Take every signed line; the signer refills the other buffer. */
	tmp = l->wbuf;
	l->wbuf = *out;
	l->wbuf.len = 0;
	*out = tmp;
	batch = list_take(&l->ready);
	nbatch = batch.n;
	failed = l->failed;
	if ((awaited = batch_awaited(l, &batch)) != 0)
		folded = list_take(&l->unsynced);
	pthread_mutex_unlock(&l->mu);

	upto = list_upto(&batch);
	fupto = list_upto(&folded);
	if (failed == 0 && out->len > 0)
		rc = audit_writeall(l->fd, out->p, out->len);
	if (failed == 0 && rc == 0 && awaited && (out->len > 0 ||
	    folded.head != NULL)) {
		rc = fdatasync(l->fd);
		synced = 1;
	}
	if (rc != 0)
		failed = errno != 0 ? errno : EIO;

	pthread_mutex_lock(&l->mu);
	if (failed != 0 && l->failed == 0) {
		l->failed = failed;
		pthread_cond_signal(&l->flush_cv);	/* its records fail */
	}
	if (failed == 0 && out->len > 0) {
		l->written_ms = audit_now_ms(CLOCK_MONOTONIC);
		rotate_grown(l, out->len);
	}
	if (failed == 0 && synced) {
		if (upto < fupto)
			upto = fupto;
		if (upto > l->durable)
			l->durable = upto;
		l->syncs++;
	}
	l->deferred -= folded.n;
	if (failed == 0 && !awaited)
		defer_batch(l, &batch, &now);
	else
		now = batch;
	pthread_mutex_unlock(&l->mu);
	/* The lines go to the tee before any of their records completes. */
	if (synced && out->len > 0 && l->tee != NULL)
		l->tee(l->tee_arg, out->p, out->len);
	complete(&folded, failed);
	complete(&now, failed);
	pthread_mutex_lock(&l->mu);
	l->inflight -= folded.n + now.n;
	l->last_batch = nbatch;
	l->syncing = 0;
	pthread_cond_broadcast(&l->space_cv);
	/* Lines signed meanwhile are the syncer's. */
	if (l->ready.head != NULL)
		pthread_cond_signal(&l->sync_cv);
}

static void *
syncer(void *arg)
{
	struct audit_log *l = arg;
	struct audit_buf out = { 0 };

	pthread_mutex_lock(&l->mu);
	log_running(l);
	for (;;) {
		while ((l->ready.head == NULL || l->syncing) &&
		    !(l->signer_done && l->ready.head == NULL && !l->syncing))
			pthread_cond_wait(&l->sync_cv, &l->mu);
		if (l->ready.head == NULL)
			break;
		sync_batch(l, &out);
	}
	/* The flusher syncs what is left, and ends. */
	l->syncer_done = 1;
	pthread_cond_signal(&l->flush_cv);
	pthread_mutex_unlock(&l->mu);
	audit_buf_free(&out);
	return NULL;
}

/*
 * With l->mu held and l->unsynced not empty: when its records are due
 * (monotonic ms): once no line has been written for idle_ms, and at most
 * max_ms after the oldest was.
 */
static int64_t
flush_due(const struct audit_log *l)
{
	int64_t idle = l->written_ms + l->idle_ms;
	int64_t max = l->unsynced_ms + l->max_ms;

	return idle < max ? idle : max;
}

/* With l->mu held: sync the deferred records written so far, and
 * complete them.  Returns with l->mu held. */
static void
flush_now(struct audit_log *l)
{
	struct list list = list_take(&l->unsynced);
	uint64_t upto = list_upto(&list);
	int failed = l->failed;

	l->flushing = 1;
	pthread_mutex_unlock(&l->mu);
	if (failed == 0 && fdatasync(l->fd) != 0)
		failed = errno != 0 ? errno : EIO;
	pthread_mutex_lock(&l->mu);
	if (failed != 0 && l->failed == 0)
		l->failed = failed;
	if (failed == 0) {
		if (upto > l->durable)
			l->durable = upto;
		l->syncs++;
		l->flushes++;
	}
	pthread_mutex_unlock(&l->mu);
	complete(&list, failed);
	pthread_mutex_lock(&l->mu);
	l->inflight -= list.n;
	l->deferred -= list.n;
	l->flushing = 0;
	pthread_cond_broadcast(&l->space_cv);
}

/*
 * The flusher: the deferred records nobody's sync covered, synced when
 * due; at once when the log has stopped (they fail) or the syncer has
 * ended (the log closes).  Never while a rotation runs: it syncs them.
 */
static void *
flusher(void *arg)
{
	struct audit_log *l = arg;
	struct timespec ts;
	int64_t due;

	pthread_mutex_lock(&l->mu);
	log_running(l);
	for (;;) {
		if (l->unsynced.head == NULL || l->rot.busy) {
			if (l->syncer_done && l->unsynced.head == NULL)
				break;
			pthread_cond_wait(&l->flush_cv, &l->mu);
			continue;
		}
		if (l->failed == 0 && !l->syncer_done &&
		    (due = flush_due(l)) > audit_now_ms(CLOCK_MONOTONIC)) {
			ts.tv_sec = (time_t)(due / 1000);
			ts.tv_nsec = (long)(due % 1000) * 1000000;
			(void)pthread_cond_timedwait(&l->flush_cv, &l->mu, &ts);
			continue;
		}
		flush_now(l);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

static int
enqueue(struct audit_log *l, json_t *event, audit_done_fn fn, void *arg,
    int deferred, struct audit_err *err)
{
	struct entry *en;
	int rc = -1;

	if (audit_event_check(event, err) != 0)
		return -1;
	(void)rotate_here(l, NULL, err);	/* past max: first the rotation */
	if ((en = calloc(1, sizeof(*en))) == NULL)
		return audit_errf(err, "out of memory");
	en->event = json_incref(event);
	en->fn = fn;
	en->arg = arg;
	en->deferred = deferred;
	pthread_mutex_lock(&l->mu);
	while (l->inflight >= AUDIT_QUEUE_MAX && l->failed == 0)
		pthread_cond_wait(&l->space_cv, &l->mu);
	if (l->failed != 0)
		audit_errf(err, "%s: the log has stopped: %s", l->path,
		    strerror(l->failed));
	else if (l->closing)
		audit_errf(err, "%s: the log is closing", l->path);
	else {
		list_add(&l->submitted, en);
		l->inflight++;
		pthread_cond_signal(&l->sign_cv);
		en = NULL;	/* transferred */
		rc = 0;
	}
	pthread_mutex_unlock(&l->mu);
	if (en != NULL) {
		json_decref(en->event);
		free(en);
	}
	return rc;
}

/*
 * Queue an event to be signed, chained and made durable; fn(arg, error,
 * seq, hash) is called from the log's own thread once it is (error 0), or
 * once it cannot be (an errno value, seq 0 and hash NULL).  The log keeps
 * a reference to event until then: do not change it.  Blocks while
 * AUDIT_QUEUE_MAX records are in flight.  Returns -1 at once when the
 * event is not one, or the log has stopped.
 */
int
audit_log_submit(struct audit_log *l, json_t *event, audit_done_fn fn,
    void *arg, struct audit_err *err)
{
	return enqueue(l, event, fn, arg, 0, err);
}

/*
 * As audit_log_submit, for a record nobody waits on: it is signed and
 * written as soon as any other, in the chain's order, but its sync is
 * deferred (the log's header says until when), and so is fn.  A record
 * someone waits on never waits for its sync.
 */
int
audit_log_submit_deferred(struct audit_log *l, json_t *event,
    audit_done_fn fn, void *arg, struct audit_err *err)
{
	return enqueue(l, event, fn, arg, 1, err);
}

/*
 * How long deferred records may wait for their sync: idle_ms after the
 * last line written, max_ms after their own; AUDIT_DEFER_IDLE_MS and
 * AUDIT_DEFER_MAX_MS unless a program (a test) says otherwise.
 */
void
audit_log_defer(struct audit_log *l, int idle_ms, int max_ms)
{
	pthread_mutex_lock(&l->mu);
	l->idle_ms = idle_ms;
	l->max_ms = max_ms;
	pthread_cond_signal(&l->flush_cv);
	pthread_mutex_unlock(&l->mu);
}

/* How many syncs the flusher made (deferred records no one else's sync
 * covered). */
uint64_t
audit_log_flushes(struct audit_log *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->flushes;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/*
 * As audit_log_submit, except that when the log is idle (nothing queued,
 * signed, syncing or in flight but deferred records, no rotation due) the record is signed,
 * written and synced on the caller's thread, and fn called there before
 * this returns: a lone record then costs no thread wakeup at all (two:
 * the signer's, and the caller's again on completion).  The caller waits
 * for one fdatasync; a program whose thread must not wait for the disk
 * uses audit_log_submit.  Its sync covers the deferred records written
 * before it.  Busy, it is audit_log_submit.
 */
int
audit_log_submit_here(struct audit_log *l, json_t *event, audit_done_fn fn,
    void *arg, struct audit_err *err)
{
	struct audit_buf line = { 0 }, own = { 0 };
	struct entry *en;

	if (audit_event_check(event, err) != 0)
		return -1;
	pthread_mutex_lock(&l->mu);
	if (l->submitted.head != NULL || l->ready.head != NULL ||
	    l->syncing || l->here || l->inflight != l->deferred ||
	    l->failed != 0 ||
	    l->closing || l->rot.due || l->rot.busy || l->rot.hold) {
		pthread_mutex_unlock(&l->mu);
		return audit_log_submit(l, event, fn, arg, err);
	}
	if ((en = calloc(1, sizeof(*en))) == NULL) {
		pthread_mutex_unlock(&l->mu);
		return audit_errf(err, "out of memory");
	}
	en->event = json_incref(event);
	en->fn = fn;
	en->arg = arg;
	/* The chain is this thread's until here is clear: the signer
	 * waits, and syncing holds off the syncer and a rotation. */
	l->here = l->syncing = 1;
	l->inflight++;
	pthread_mutex_unlock(&l->mu);
	sign_one(l, en, &line);
	pthread_mutex_lock(&l->mu);
	if (en->error == 0 && audit_buf_add(&l->wbuf, line.p, line.len) != 0)
		en->error = l->failed = ENOMEM;
	list_add(&l->ready, en);
	l->syncing = 0;
	sync_batch(l, &own);	/* completes en, on this thread */
	l->here = 0;
	if (l->submitted.head != NULL)
		pthread_cond_signal(&l->sign_cv);
	pthread_mutex_unlock(&l->mu);
	audit_buf_free(&line);
	audit_buf_free(&own);
	return 0;
}

struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	 done, error;
	uint64_t seq;
	char	 hash[AUDIT_HEX_LEN + 1];
};

static void
wake(void *arg, int error, uint64_t seq, const char *hash)
{
	struct waiter *w = arg;

	pthread_mutex_lock(&w->mu);
	w->error = error;
	w->seq = seq;
	if (hash != NULL)
		memcpy(w->hash, hash, sizeof(w->hash));
	w->done = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Append one record and wait until it is durable; *seq and hash (65
 * bytes, when not NULL) name it.
 */
int
audit_log_append_wait(struct audit_log *l, json_t *event, uint64_t *seq,
    char *hash, struct audit_err *err)
{
	struct waiter w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	if (audit_log_submit(l, event, wake, &w, err) != 0)
		rc = -1;
	else {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		if (w.error != 0)
			rc = audit_errf(err, "%s: the record was not written: "
			    "%s", l->path, w.error == EINVAL ? "the event "
			    "cannot be encoded as CJSON" : strerror(w.error));
		*seq = w.seq;
		if (hash != NULL && rc == 0)
			memcpy(hash, w.hash, sizeof(w.hash));
	}
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

/* Every seq below the answer is durable. */
uint64_t
audit_log_durable(struct audit_log *l)
{
	uint64_t d;

	pthread_mutex_lock(&l->mu);
	d = l->durable;
	pthread_mutex_unlock(&l->mu);
	return d;
}

/* How many records are submitted and not yet completed. */
size_t
audit_log_inflight(struct audit_log *l)
{
	size_t n;

	pthread_mutex_lock(&l->mu);
	n = l->inflight;
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* How many group commits (one write, one fdatasync) the log has made. */
uint64_t
audit_log_syncs(struct audit_log *l)
{
	uint64_t n;

	pthread_mutex_lock(&l->mu);
	n = l->syncs;
	pthread_mutex_unlock(&l->mu);
	return n;
}

uint64_t
audit_log_dropped(struct audit_log *l)
{
	return l->dropped;
}

/* The errno of the write or sync that stopped the log, or 0. */
int
audit_log_failed(struct audit_log *l)
{
	int failed;

	pthread_mutex_lock(&l->mu);
	failed = l->failed;
	pthread_mutex_unlock(&l->mu);
	return failed;
}

const char *
audit_log_id(struct audit_log *l)
{
	return l->tail.log;
}

/*
 * From now on, fn(arg, lines, len) is called from the log's own thread
 * with the lines of each durable batch, before any record of the batch
 * completes: what a record's completion answers has already been teed.
 * *before is set to the bytes the file held when the tee was set (the
 * caller reads those from the file itself); no line is in neither part.
 */
int
audit_log_tee(struct audit_log *l, audit_tee_fn fn, void *arg, off_t *before,
    struct audit_err *err)
{
	struct stat st;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	/* A batch being written is in the file once syncing clears. */
	while (l->syncing)
		pthread_cond_wait(&l->space_cv, &l->mu);
	if (fstat(l->fd, &st) != 0)
		rc = audit_errf(err, "%s: %s", l->path, strerror(errno));
	else {
		*before = st.st_size;
		l->tee = fn;
		l->tee_arg = arg;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* Make everything queued durable, stop the threads, close the log. */
int
audit_log_close(struct audit_log *l, struct audit_err *err)
{
	int rc = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	l->closing = 1;
	pthread_cond_broadcast(&l->sign_cv);
	pthread_mutex_unlock(&l->mu);
	if (l->threads > 0)
		pthread_join(l->signer_th, NULL);
	if (l->threads > 1)
		pthread_join(l->syncer_th, NULL);
	if (l->threads > 2)
		pthread_join(l->flusher_th, NULL);
	if (l->failed != 0)
		rc = audit_errf(err, "%s: %s", l->path, strerror(l->failed));
	if (l->fd >= 0)
		close(l->fd);
	if (l->rot.dirfd >= 0)
		close(l->rot.dirfd);
	audit_buf_free(&l->wbuf);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->sign_cv);
	pthread_cond_destroy(&l->sync_cv);
	pthread_cond_destroy(&l->space_cv);
	pthread_cond_destroy(&l->run_cv);
	pthread_cond_destroy(&l->flush_cv);
	free(l);
	return rc;
}

/* Read the bytes [off, off+len) of fd; buf holds len + 1. */
static int
read_at(int fd, char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, off + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	buf[len] = '\0';
	return 0;
}

/* The offset just past the last newline before end; 0 when none. */
static off_t
last_newline(int fd, off_t end)
{
	char buf[4096];

	while (end > 0) {
		size_t n = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;

		if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (buf[i - 1] == '\n')
				return end - (off_t)n + (off_t)i;
		end -= (off_t)n;
	}
	return 0;
}

/* The offset of the first newline before end; end when none. */
static off_t
first_newline(int fd, off_t end)
{
	char buf[4096];
	off_t off = 0;

	while (off < end) {
		size_t n = end - off > (off_t)sizeof(buf) ? sizeof(buf) :
		    (size_t)(end - off);
		const char *nl;

		if (pread(fd, buf, n, off) != (ssize_t)n)
			return -1;
		if ((nl = memchr(buf, '\n', n)) != NULL)
			return off + (nl - buf);
		off += (off_t)n;
	}
	return end;
}

/*
 * A line of this log, written by this key: parse it, check it is
 * canonical and signed by key, and return its record.
 */
static json_t *
own_line(struct audit_log *l, const char *line, size_t len,
    struct audit_err *err)
{
	json_t *rec;
	const json_t *log;
	struct audit_err e;

	if (cjson_is_canonical(line, len, &rec, &e) != 0) {
		audit_errf(err, "%s: a record is damaged (%s): check it with "
		    "nucleus-audit-verify", l->path, e.msg);
		return NULL;
	}
	log = json_object_get(rec, "log");
	if (!json_is_string(log) || (strcmp(json_string_value(log),
	    l->tail.log) != 0 && !rotate_adopt(l, json_string_value(log),
	    json_string_length(log)))) {
		audit_errf(err, "%s: this file is another log than %s", l->path,
		    l->tail.log);
		goto fail;
	}
	if (audit_verify_ed25519(rec, "audit", l->key->pk, &e) != 0) {
		audit_errf(err, "%s: a record does not verify under this "
		    "writer's "
		    "key %s (%s): a new key writes a new log", l->path,
		    l->key->kid, e.msg);
		goto fail;
	}
	return rec;
fail:
	json_decref(rec);
	return NULL;
}

/* Read the line [start, end) (end excludes the newline). */
static json_t *
load_line(struct audit_log *l, off_t start, off_t end, struct audit_err *err)
{
	size_t len = (size_t)(end - start);
	json_t *rec;
	char *buf;

	if (len > AUDIT_LINE_MAX || (buf = malloc(len + 1)) == NULL) {
		audit_errf(err, "%s: a record is longer than %d bytes", l->path,
		    AUDIT_LINE_MAX);
		return NULL;
	}
	if (read_at(l->fd, buf, len, start) != 0) {
		audit_errf(err, "%s: %s", l->path, strerror(errno));
		free(buf);
		return NULL;
	}
	if ((rec = own_line(l, buf, len, err)) != NULL)
		audit_hash(l->tail.hash, buf, len);
	free(buf);
	return rec;
}

/*
 * Pick up an existing log: its first record must be this log's log.open by
 * this key; its last complete record gives the chain's state.  A torn
 * tail is cut off.
 */
static int
recover(struct audit_log *l, off_t size, struct audit_err *err)
{
	off_t end = last_newline(l->fd, size), first_end, prev_start;
	json_t *rec, *seq, *ts;

	if (end < 0)
		return audit_errf(err, "%s: %s", l->path, strerror(errno));
	l->dropped = (uint64_t)(size - end);
	if (end == 0)
		return 0;	/* only a torn first line: start again */
	/* The first line. */
	if ((first_end = first_newline(l->fd, end)) < 0)
		return audit_errf(err, "%s: %s", l->path, strerror(errno));
	l->rot.adopting = 1;
	rec = load_line(l, 0, first_end, err);
	l->rot.adopting = 0;
	if (rec == NULL)
		return -1;
	if (json_integer_value(json_object_get(rec, "seq")) != 0) {
		json_decref(rec);
		return audit_errf(err, "%s: the first record is not seq "
		    "0", l->path);
	}
	json_decref(rec);
	/* The last complete line. */
	prev_start = last_newline(l->fd, end - 1);
	if (prev_start < 0)
		return audit_errf(err, "%s: %s", l->path, strerror(errno));
	if ((rec = load_line(l, prev_start, end - 1, err)) == NULL)
		return -1;
	seq = json_object_get(rec, "seq");
	ts = json_object_get(rec, "ts");
	if (!json_is_integer(seq) || !json_is_integer(ts)) {
		json_decref(rec);
		return audit_errf(err, "%s: the last record has no seq or ts",
		    l->path);
	}
	l->tail.next_seq = (uint64_t)json_integer_value(seq) + 1;
	l->tail.ts = json_integer_value(ts);
	l->durable = l->tail.next_seq;
	if (l->dropped > 0 && (ftruncate(l->fd, end) != 0 ||
	    fsync(l->fd) != 0)) {
		json_decref(rec);
		return audit_errf(err, "%s: cannot cut the torn line: "
		    "%s", l->path,
		    strerror(errno));
	}
	/* A rotation cut short after its log.close: finish it. */
	if (rotate_recovered(l, rec, err) != 0) {
		json_decref(rec);
		return -1;
	}
	json_decref(rec);
	return 1;
}

static int
start_log(struct audit_log *l, int resumed, const json_t *cert,
    struct audit_err *err)
{
	char b64[64];
	json_t *ev;
	uint64_t seq;
	int rc;

	if (audit_thread_start(&l->signer_th, NULL, signer, l) != 0)
		return audit_errf(err, "cannot start the log's signer thread");
	l->threads = 1;
	if (audit_thread_start(&l->syncer_th, NULL, syncer, l) != 0)
		return audit_errf(err, "cannot start the log's syncer thread");
	l->threads = 2;
	if (audit_thread_start(&l->flusher_th, NULL, flusher, l) != 0)
		return audit_errf(err, "cannot start the log's flusher thread");
	l->threads = 3;
	/* All started, before the log is handed over (log_running). */
	pthread_mutex_lock(&l->mu);
	while (l->running < 3)
		pthread_cond_wait(&l->run_cv, &l->mu);
	pthread_mutex_unlock(&l->mu);
	if (resumed)
		ev = json_pack("{s:s, s:I}", "event", "log.resume",
		    "dropped_bytes", (json_int_t)l->dropped);
	else {
		audit_b64(b64, sizeof(b64), l->key->pk, AUDIT_PK_LEN);
		ev = json_pack("{s:s, s:s}", "event", "log.open", "pubkey",
		    b64);
		if (ev != NULL && cert != NULL && json_object_set_new(ev,
		    "cert", json_deep_copy(cert)) != 0) {
			json_decref(ev);
			ev = NULL;
		}
	}
	if (ev == NULL)
		return audit_errf(err, "out of memory");
	rc = audit_log_append_wait(l, ev, &seq, NULL, err);
	json_decref(ev);
	if (rc != 0 || resumed || l->dropped == 0)
		return rc;
	/* A torn first line was dropped: say so after the new log.open. */
	if ((ev = json_pack("{s:s, s:I}", "event", "log.resume",
	    "dropped_bytes", (json_int_t)l->dropped)) == NULL)
		return audit_errf(err, "out of memory");
	rc = audit_log_append_wait(l, ev, &seq, NULL, err);
	json_decref(ev);
	return rc;
}

/*
 * Open the log at path, creating it (mode 0640) when it does not exist or
 * is empty.  A new log starts with log.open carrying key's public key and,
 * when given, the key-cert that vouches for it; a log that exists must
 * have been opened by this key, and gets a log.resume.  The file is locked
 * against a second writer.
 */
int
audit_log_open(struct audit_log **out, const char *path, const char *log_id,
    const struct audit_seckey *key, const json_t *cert,
    struct audit_err *err)
{
	struct audit_log *l;
	struct stat st;
	pthread_condattr_t ca;
	int resumed = 0;

	*out = NULL;
	if (!audit_logid_valid(log_id, strlen(log_id)))
		return audit_errf(err, "a log id is 1 to 128 characters of "
		    "A-Z a-z 0-9 . _ -");
	if (key->type != AUDIT_KEY_ED25519)
		return audit_errf(err, "an audit log is signed with an "
		    "Ed25519 key");
	if (strlen(path) >= sizeof(l->path))
		return audit_errf(err, "path too long");
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return audit_errf(err, "out of memory");
	l->fd = -1;
	l->rot.dirfd = -1;
	l->rot.has_cert = cert != NULL;
	snprintf(l->rot.base, sizeof(l->rot.base), "%s", log_id);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->sign_cv, NULL);
	pthread_cond_init(&l->run_cv, NULL);
	pthread_cond_init(&l->sync_cv, NULL);
	pthread_cond_init(&l->space_cv, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->flush_cv, &ca);
	pthread_condattr_destroy(&ca);
	l->idle_ms = AUDIT_DEFER_IDLE_MS;
	l->max_ms = AUDIT_DEFER_MAX_MS;
	snprintf(l->path, sizeof(l->path), "%s", path);
	snprintf(l->tail.log, sizeof(l->tail.log), "%s", log_id);
	l->key = key;
	l->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC |
	    O_NOFOLLOW, 0640);
	if (l->fd < 0 || fstat(l->fd, &st) != 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		audit_errf(err, "%s: not a regular file", path);
		goto fail;
	}
	if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
		audit_errf(err, "%s: %s", path, errno == EWOULDBLOCK ?
		    "another process is writing this log" : strerror(errno));
		goto fail;
	}
	if (st.st_size > 0 && (resumed = recover(l, st.st_size, err)) < 0)
		goto fail;
	if (!resumed && l->dropped > 0 && (ftruncate(l->fd, 0) != 0 ||
	    fsync(l->fd) != 0)) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if ((l->rot.size = lseek(l->fd, 0, SEEK_END)) < 0) {
		audit_errf(err, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (start_log(l, resumed, cert, err) != 0)
		goto fail;
	*out = l;
	return 0;
fail:
	audit_log_close(l, NULL);
	return -1;
}

/*
 * Rotation.  The log's file keeps its path; each rotation closes it with
 *
 *	{"event":"log.close","next":NEXT,"reason":"size"|"asked"}
 *
 * links it to PATH.GEN (GEN its generation: 0 for the log whose id the
 * program gave, N for ID.N), and puts at PATH, by an atomic rename of a
 * file written and synced beside it (.NAME.next), a new log ID.(GEN+1)
 * whose log.open carries
 *
 *	"predecessor":{"log":ID,"seq":N,"hash":HEX,"file":"NAME.GEN"}
 *
 * the log.close's own seq and line hash.  A stop anywhere in between
 * leaves PATH ending in its log.close, and the next open finishes the
 * rotation: the same names, the same successor id.
 */

/* "BASE" is generation 0, "BASE.N" generation N (N from 1, no zeros). */
static int
generation_of(const char *base, const char *id, size_t len, uint64_t *gen)
{
	size_t blen = strlen(base);
	unsigned long long v;

	if (len == blen && memcmp(id, base, blen) == 0) {
		*gen = 0;
		return 1;
	}
	if (len < blen + 2 || memcmp(id, base, blen) != 0 || id[blen] != '.' ||
	    id[blen + 1] == '0' || len - blen - 1 > 15)
		return 0;
	for (size_t i = blen + 1; i < len; i++)
		if (id[i] < '0' || id[i] > '9')
			return 0;
	v = strtoull(id + blen + 1, NULL, 10);
	*gen = v;
	return 1;
}

/* At open, the first line may name a later generation of this log. */
static int
rotate_adopt(struct audit_log *l, const char *id, size_t len)
{
	uint64_t gen;

	if (!l->rot.adopting || !generation_of(l->rot.base, id, len, &gen))
		return 0;
	memcpy(l->tail.log, id, len);
	l->tail.log[len] = '\0';
	l->rot.gen = gen;
	return 1;
}

/* The file's name within its directory. */
static const char *
file_name(const struct audit_log *l)
{
	const char *slash = strrchr(l->path, '/');

	return slash != NULL ? slash + 1 : l->path;
}

static int
open_dir(struct audit_log *l, struct audit_err *err)
{
	char dir[sizeof(l->path)];
	const char *name = file_name(l);

	if (l->rot.dirfd >= 0)
		return 0;
	if (name == l->path)
		snprintf(dir, sizeof(dir), ".");
	else if (name - 1 == l->path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(name - 1 - l->path),
		    l->path);
	if ((l->rot.dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return audit_errf(err, "%s: %s", dir, strerror(errno));
	return 0;
}

/* Write one signed line to fd and make it durable. */
static int
write_durable(int fd, const struct audit_buf *line)
{
	if (audit_writeall(fd, line->p, line->len) != 0 || fdatasync(fd) != 0)
		return errno != 0 ? errno : EIO;
	return 0;
}

/* The closed file, kept as NAME.GEN (already there after a stop). */
static int
keep_closed(struct audit_log *l, const char *kept, struct audit_err *err)
{
	struct stat a, b;

	if (linkat(l->rot.dirfd, file_name(l), l->rot.dirfd, kept, 0) != 0) {
		if (errno != EEXIST || fstat(l->fd, &a) != 0 ||
		    fstatat(l->rot.dirfd, kept, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return audit_errf(err, "%s: cannot keep the closed log "
			    "as %s: %s", l->path, kept, errno == EEXIST ?
			    "another file has that name" : strerror(errno));
	}
	if (fsync(l->rot.dirfd) != 0)
		return audit_errf(err, "%s: %s", l->path, strerror(errno));
	return 0;
}

/* The written successor put at the log's path, by its own directory. */
static int
replace_here(struct audit_log *l, const char *tmp, struct audit_err *err)
{
	if (renameat(l->rot.dirfd, tmp, l->rot.dirfd, file_name(l)) != 0 ||
	    fsync(l->rot.dirfd) != 0)
		return audit_errf(err, "%s: cannot put the new log in place: "
		    "%s", l->path, strerror(errno));
	return 0;
}

/* The successor's log.open, naming the closed log's last record. */
static json_t *
successor_open(const struct audit_log *l, const char *kept)
{
	char b64[64], hash[AUDIT_HEX_LEN + 1];

	audit_b64(b64, sizeof(b64), l->key->pk, AUDIT_PK_LEN);
	audit_hex(hash, l->tail.hash, AUDIT_HASH_LEN);
	return json_pack("{s:s, s:s, s:{s:s, s:I, s:s, s:s}}", "event",
	    "log.open", "pubkey", b64, "predecessor", "log", l->tail.log,
	    "seq", (json_int_t)(l->tail.next_seq - 1), "hash", hash, "file",
	    kept);
}

/*
 * The log at l->fd ends in its log.close naming next: keep it, and put
 * the successor in its place.  Returns with l->fd and l->tail the
 * successor's.
 */
static int
rotate_finish(struct audit_log *l, const char *next, struct audit_err *err)
{
	char kept[512], tmp[512];
	struct audit_buf line = { 0 };
	struct audit_tail t;
	json_t *ev = NULL;
	int fd = -1, rc = -1, e;

	if ((l->rot.files == NULL && open_dir(l, err) != 0) ||
	    audit_fit(kept, sizeof(kept), err, "%s.%llu", file_name(l),
	    (unsigned long long)l->rot.gen) != 0 || audit_fit(tmp,
	    sizeof(tmp), err, ".%s.next", file_name(l)) != 0)
		return -1;
	if (l->rot.files != NULL ? l->rot.files->keep(l->rot.files->arg,
	    l->rot.gen, err) != 0 : keep_closed(l, kept, err) != 0)
		return -1;
	memset(&t, 0, sizeof(t));
	snprintf(t.log, sizeof(t.log), "%s", next);
	t.ts = l->tail.ts;
	if (l->rot.files != NULL) {
		if ((fd = l->rot.files->create(l->rot.files->arg, err)) < 0)
			goto out;
	} else if ((fd = openat(l->rot.dirfd, tmp, O_RDWR | O_CREAT |
	    O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
		audit_errf(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		audit_errf(err, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if ((ev = successor_open(l, kept)) == NULL) {
		audit_errf(err, "out of memory");
		goto out;
	}
	if (audit_record(&t, l->key, ev, audit_now_ms(CLOCK_REALTIME), &line,
	    err) != 0)
		goto out;
	if ((e = write_durable(fd, &line)) != 0) {
		audit_errf(err, "%s: cannot put the new log in place: %s",
		    l->path, strerror(e));
		goto out;
	}
	if (l->rot.files != NULL ? l->rot.files->replace(l->rot.files->arg,
	    err) != 0 : replace_here(l, tmp, err) != 0)
		goto out;
	pthread_mutex_lock(&l->mu);
	close(l->fd);
	l->fd = fd;
	fd = -1;
	l->tail = t;
	l->rot.gen++;
	l->rot.size = (off_t)line.len;
	pthread_mutex_unlock(&l->mu);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	json_decref(ev);
	audit_buf_free(&line);
	return rc;
}

/* At open: a last record that is a log.close means a rotation cut short. */
static int
rotate_recovered(struct audit_log *l, const json_t *last,
    struct audit_err *err)
{
	const char *ev = json_string_value(json_object_get(last, "event"));
	const json_t *next = json_object_get(last, "next");
	uint64_t gen;

	if (ev == NULL || strcmp(ev, "log.close") != 0)
		return 0;
	if (!json_is_string(next) || !generation_of(l->rot.base,
	    json_string_value(next), json_string_length(next), &gen) ||
	    gen != l->rot.gen + 1)
		return audit_errf(err, "%s: the log is closed, and its "
		    "log.close names no successor this writer can open",
		    l->path);
	if (rotate_finish(l, json_string_value(next), err) != 0)
		return -1;
	l->durable = l->tail.next_seq;
	return 0;
}

/*
 * The log.close, then the successor; outside the lock, the signer
 * parked.  Returns 0, or an errno when the log must stop (e filled).
 */
static int
rotate_io(struct audit_log *l, const char *reason, uint64_t gen,
    struct audit_err *e)
{
	char next[AUDIT_LOGID_MAX + 1];
	struct audit_buf line = { 0 };
	json_t *ev = NULL;
	int failed = 0;

	if (audit_fit(next, sizeof(next), e, "%s.%llu", l->rot.base,
	    (unsigned long long)gen + 1) != 0 ||
	    !audit_logid_valid(next, strlen(next)))
		audit_errf(e, "%s: the log id %s is too long to rotate",
		    l->path, l->rot.base);
	else if ((ev = json_pack("{s:s, s:s, s:s}", "event", "log.close",
	    "next", next, "reason", reason)) == NULL ||
	    audit_record(&l->tail, l->key, ev, audit_now_ms(CLOCK_REALTIME),
	    &line, e) != 0)
		audit_errf(e, "%s: cannot sign the log.close", l->path);
	else if ((failed = write_durable(l->fd, &line)) != 0)
		audit_errf(e, "%s: %s", l->path, strerror(failed));
	else if (rotate_finish(l, next, e) != 0)
		failed = EIO;
	json_decref(ev);
	audit_buf_free(&line);
	return failed;
}

/*
 * Rotate on this thread, once every record submitted so far is durable
 * and the signer has stopped: so a program confining its own thread
 * (Landlock) confines the files the rotation opens.  reason NULL: only
 * when the size says so.  A failure of the log.close's write stops the
 * log, as any failed write does; one after it leaves the old file
 * closed, so the log stops too, and its next open finishes the rotation.
 */
static int
rotate_here(struct audit_log *l, const char *reason, struct audit_err *err)
{
	struct audit_err e = { .msg = "" };
	struct list pending;
	int failed = 0, rc = 0;
	uint64_t gen;

	pthread_mutex_lock(&l->mu);
	if (reason == NULL && (!l->rot.due || l->rot.busy)) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	while (l->rot.busy)
		pthread_cond_wait(&l->space_cv, &l->mu);
	if (!l->rot.on || l->failed != 0 || l->closing ||
	    (reason == NULL && !l->rot.due)) {
		rc = !l->rot.on ? audit_errf(err, "%s: this log does "
		    "not rotate", l->path) : l->failed != 0 || l->closing ?
		    audit_errf(err, "%s: the log has stopped", l->path) : 0;
		pthread_mutex_unlock(&l->mu);
		return rc;
	}
	l->rot.busy = l->rot.hold = 1;
	pthread_cond_signal(&l->sign_cv);
	while ((!l->rot.parked && !l->signer_done) || l->ready.head != NULL ||
	    l->syncing || l->flushing)
		pthread_cond_wait(&l->space_cv, &l->mu);
	l->syncing = 1;
	gen = l->rot.gen;
	/* Deferred records are made durable in the file they are in. */
	pending = list_take(&l->unsynced);
	pthread_mutex_unlock(&l->mu);
	if (pending.head != NULL && fdatasync(l->fd) != 0) {
		failed = errno != 0 ? errno : EIO;
		audit_errf(&e, "%s: %s", l->path, strerror(failed));
	}
	complete(&pending, failed);
	if (failed == 0)
		failed = rotate_io(l, reason != NULL ? reason : "size", gen,
		    &e);
	pthread_mutex_lock(&l->mu);
	l->inflight -= pending.n;
	l->deferred -= pending.n;
	if (failed != 0 && l->failed == 0)
		l->failed = failed;
	else if (e.msg[0] == '\0') {
		l->durable = l->tail.next_seq;
		l->syncs += 2;
		l->last_batch = 1;
	}
	l->rot.due = 0;
	l->rot.busy = l->rot.hold = 0;
	l->syncing = 0;
	pthread_cond_broadcast(&l->sign_cv);
	pthread_cond_broadcast(&l->space_cv);
	pthread_cond_signal(&l->flush_cv);
	pthread_mutex_unlock(&l->mu);
	if (e.msg[0] != '\0')
		return audit_errf(err, "%s", e.msg);
	return 0;
}

/* With l->mu held, after a batch of len bytes went to the file. */
static void
rotate_grown(struct audit_log *l, size_t len)
{
	l->rot.size += (off_t)len;
	if (l->rot.on && l->rot.max > 0 && l->rot.size >= l->rot.max)
		l->rot.due = 1;
}

/*
 * Let the log rotate: once it holds max_bytes or more (never when 0),
 * at the next submission, on the submitting thread; and whenever
 * audit_log_rotate() asks.  Opens the log's directory, so call it before
 * a program confines itself.  A log opened with a key-cert cannot
 * rotate: the cert names one log id.
 */
int
audit_log_rotation(struct audit_log *l, off_t max_bytes,
    struct audit_err *err)
{
	return audit_log_rotation_files(l, max_bytes, NULL, err);
}

/*
 * The same, the files made by files (kept by the caller while the log
 * is open) rather than by the log through its directory: for a program
 * that can no longer open a file itself (nucleus-authority's reader).
 */
int
audit_log_rotation_files(struct audit_log *l, off_t max_bytes,
    const struct audit_log_files *files, struct audit_err *err)
{
	if (l->rot.has_cert)
		return audit_errf(err, "%s: a log opened with a key-cert "
		    "cannot rotate", l->path);
	if (l->tee != NULL)
		return audit_errf(err, "%s: a teed log cannot rotate", l->path);
	if (files == NULL && open_dir(l, err) != 0)
		return -1;
	pthread_mutex_lock(&l->mu);
	l->rot.files = files;
	l->rot.on = 1;
	l->rot.max = max_bytes;
	l->rot.due = max_bytes > 0 && l->rot.size >= max_bytes;
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/*
 * Rotate now, on this thread, after every record submitted before the
 * call; records submitted meanwhile wait, then go to the successor.
 */
int
audit_log_rotate(struct audit_log *l, struct audit_err *err)
{
	return rotate_here(l, "asked", err);
}

/* The current file's generation: 0 until the first rotation. */
uint64_t
audit_log_generation(struct audit_log *l)
{
	uint64_t g;

	pthread_mutex_lock(&l->mu);
	g = l->rot.gen;
	pthread_mutex_unlock(&l->mu);
	return g;
}

/*
 * Take a stopped log (a write or a sync failed: a full disk) up again on
 * the file it has open, as an open would and without opening anything:
 * once every record in flight has completed (failed), the bytes after the
 * last complete line are cut (a write that never became durable), the
 * chain goes on from that line, and a log.resume says how many bytes were
 * dropped.  0 once that record is durable (or the log never stopped); -1
 * while the file still cannot be written, and the log stays stopped.
 */
int
audit_log_resume(struct audit_log *l, struct audit_err *err)
{
	off_t size;
	json_t *ev;
	uint64_t seq;
	int rc;

	pthread_mutex_lock(&l->mu);
	if (l->failed == 0) {
		pthread_mutex_unlock(&l->mu);
		return 0;
	}
	while (l->inflight > 0 || l->syncing || l->rot.busy)
		pthread_cond_wait(&l->space_cv, &l->mu);
	l->syncing = 1;		/* the threads keep off the file meanwhile */
	l->wbuf.len = 0;
	pthread_mutex_unlock(&l->mu);
	/* (Its size by lseek: a confined program may have no fstat.) */
	if ((size = lseek(l->fd, 0, SEEK_END)) < 0)
		rc = audit_errf(err, "%s: %s", l->path, strerror(errno));
	else if ((rc = recover(l, size, err)) == 0)
		rc = audit_errf(err, "%s: no complete record to go on from",
		    l->path);
	else if (rc > 0 && (l->rot.size = lseek(l->fd, 0, SEEK_END)) < 0)
		rc = audit_errf(err, "%s: %s", l->path, strerror(errno));
	pthread_mutex_lock(&l->mu);
	l->syncing = 0;
	if (rc > 0) {
		l->failed = 0;
		l->last_batch = 0;
		l->rot.due = l->rot.on && l->rot.max > 0 &&
		    l->rot.size >= l->rot.max;
	}
	pthread_cond_broadcast(&l->space_cv);
	pthread_mutex_unlock(&l->mu);
	if (rc < 0)
		return -1;
	if ((ev = json_pack("{s:s, s:I}", "event", "log.resume",
	    "dropped_bytes", (json_int_t)l->dropped)) == NULL)
		return audit_errf(err, "out of memory");
	rc = audit_log_append_wait(l, ev, &seq, NULL, err);
	json_decref(ev);
	return rc;
}

/*
 * The node's records: each answer waits for its record.  A record is
 * queued by node_record, submitted to the log's group commit once the
 * state before it is durable (node_flush, node_synced), and its answer
 * sent from the loop once the log says it is durable (node_drain); the
 * loop never waits for the disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

struct node *N;

json_t *
node_error(const json_t *id, const char *kind, const char *msg)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:{s:s, s:s}}", "type",
	    "response", "v", 1, "id", id != NULL ? id : json_null(), "ok", 0,
	    "error", "kind", kind, "message", msg);
}

json_t *
node_ok(const json_t *id, json_t *result)
{
	return json_pack("{s:s, s:i, s:O, s:b, s:o}", "type", "response", "v",
	    1, "id", id != NULL ? id : json_null(), "ok", 1, "result",
	    result != NULL ? result : json_object());
}

/*
 * The job that makes event durable, then sends *answer; both consumed.
 * Fails closed: when the record cannot be made (no event, one that is
 * not an event, no memory), NULL, why in err, and *answer, if there is
 * one, is replaced by an internal error for the same request, so that
 * what it said never goes without its record.
 */
struct njob *
node_record_job(json_t *event, json_t **answer, struct audit_err *err)
{
	struct njob *j = NULL;
	json_t *a = *answer;

	if (event == NULL)
		(void)audit_errf(err, "the event could not be made");
	else if (audit_event_check(event, err) == 0 &&
	    (j = calloc(1, sizeof(*j))) == NULL)
		(void)audit_errf(err, "out of memory");
	if (j == NULL) {
		json_decref(event);
		if (a != NULL) {
			*answer = node_error(json_object_get(a, "id"),
			    "internal", "the node could not record the "
			    "request");
			json_decref(a);
		}
		return NULL;
	}
	j->event = event;
	j->answer = a;
	*answer = NULL;	/* transferred */
	return j;
}

/*
 * Make event durable, then send answer to c; both consumed.  A record
 * that cannot be made is said on stderr, and the request answered
 * internal, that answer recorded in its place (node.internal) where
 * even that can be.
 */
void
node_record(struct lines_conn *c, json_t *event, json_t *answer)
{
	struct audit_err e;
	struct njob *j;

	if ((j = node_record_job(event, &answer, &e)) == NULL) {
		fprintf(stderr, "nucleus-node: a record cannot be made: %s; "
		    "the request is answered internal\n", e.msg);
		j = node_record_job(json_pack("{s:s, s:s}", "event",
		    "node.internal", "message", e.msg), &answer, &e);
	}
	if (j == NULL) {
		if (c != NULL && answer != NULL)
			lines_send(c, answer);	/* an internal error */
		json_decref(answer);
		return;
	}
	events_record(&N->events, j->event);
	j->state_gen = node_state_gen();
	j->conn = c;
	if (c != NULL)
		lines_hold(c);
	if (N->batch_tail != NULL)
		N->batch_tail->next = j;
	else
		N->batch_head = j;
	N->batch_tail = j;
}

/*
 * Make event durable, then call then(arg, 0); then(arg, errno) instead
 * when it cannot be made (and it is not kept to be made later: what
 * waits on it goes without).
 */
void
node_record_then(json_t *event, void (*then)(void *, int), void *arg)
{
	struct audit_err e;
	json_t *none = NULL;
	struct njob *j;

	if ((j = node_record_job(event, &none, &e)) == NULL) {
		fprintf(stderr, "nucleus-node: a record cannot be made: %s\n",
		    e.msg);
		then(arg, EINVAL);
		return;
	}
	events_record(&N->events, j->event);
	j->state_gen = node_state_gen();
	j->then = then;
	j->then_arg = arg;
	if (N->batch_tail != NULL)
		N->batch_tail->next = j;
	else
		N->batch_head = j;
	N->batch_tail = j;
}

static void
job_free(struct njob *j)
{
	json_decref(j->event);
	json_decref(j->answer);
	if (j->conn != NULL)
		lines_release(j->conn);
	free(j);
}

static void
job_done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct njob *j = arg;

	(void)seq;
	(void)hash;
	j->audit_error = error;
	doneq_push(&N->done, j);
}

/*
 * A record the log could not make.  The first says on stderr that the log
 * has stopped.  A request's answer becomes unavailable (what it said never
 * goes without its record); an event of the node's own, with no answer
 * waiting (a pod's end), is kept to be made once the log is back.
 */
static void
record_failed(struct njob *j, const char *why)
{
	/* One the log failed before it was opened again is not news. */
	if (!N->stopped && j->log_gen == N->log_gen) {
		N->stopped = 1;
		N->stopped_at = (int64_t)time(NULL);
		audit_fmt(N->stopped_why, sizeof(N->stopped_why), "%s", why);
		fprintf(stderr, "nucleus-node: the audit log has stopped: %s; "
		    "requests are answered unavailable until it can be "
		    "written again (tried each second)\n", why);
	}
	N->unrecorded++;
	if (j->then != NULL) {
		j->then(j->then_arg, EIO);
		j->then = NULL;
	} else if (j->conn != NULL && j->answer != NULL) {
		json_t *r = node_error(json_object_get(j->answer, "id"),
		    "unavailable", "the node cannot record the request: its "
		    "audit log has stopped");

		lines_send(j->conn, r);
		json_decref(r);
	} else if (j->conn == NULL && j->answer == NULL &&
	    N->nheld < NODE_HELD_MAX)
		N->held[N->nheld++] = json_incref(j->event);
	job_free(j);
}

/*
 * Each second while the log has stopped: closed and opened again, which
 * cuts a torn last line and says so (log.resume).  Once it opens, the
 * fault is recorded (node.log_fault: why, since when, how many records
 * were not made), then the node's own events kept meanwhile, and requests
 * are served again.
 */
void
node_log_retry(void)
{
	struct audit_err e;

	if (!N->stopped)
		return;
	if (N->log != NULL) {
		(void)audit_log_close(N->log, &e);
		N->log = NULL;
	}
	if (audit_log_open(&N->log, N->log_path, N->log_id, N->key, NULL,
	    &e) != 0) {
		N->log = NULL;
		return;
	}
	/* It rotates as before (a directory it cannot open: not now). */
	if (audit_log_rotation(N->log, (off_t)N->log_rotate_kb * 1024,
	    &e) != 0)
		fprintf(stderr, "nucleus-node: %s\n", e.msg);
	N->stopped = 0;
	N->log_gen++;
	fprintf(stderr, "nucleus-node: the audit log is written again, after "
	    "%lld s (%llu records not made)\n", (long long)((int64_t)time(
	    NULL) - N->stopped_at), (unsigned long long)N->unrecorded);
	node_record(NULL, json_pack("{s:s, s:s, s:I, s:I}", "event",
	    "node.log_fault", "error", N->stopped_why, "since",
	    (json_int_t)N->stopped_at, "unrecorded",
	    (json_int_t)N->unrecorded), NULL);
	for (int i = 0; i < N->nheld; i++)
		node_record(NULL, N->held[i], NULL);
	N->nheld = 0;
	N->unrecorded = 0;
}

/*
 * The sync that covers what the state holds now: the one asked last, or
 * the next one when a change was committed since.
 */
uint64_t
node_state_gen(void)
{
	return N->gate.dirty || N->state_dirty ? N->state_asked + 1 :
	    N->state_asked;
}

/*
 * A record another process waits on before it acts (the gateway's
 * egress.open: then, with no answer of the node's), with nothing behind
 * it in this turn that anyone waits on (a gateway's egress.close of the
 * connection before often comes in the same turn): an idle log signs and
 * syncs it on the loop's thread, which has nothing else to do meanwhile
 * (as node_flush's own state sync), and the wait is two thread wakeups
 * shorter.  What is behind it follows in the next sync.
 */
static int
alone(const struct njob *j)
{
	if (j->then == NULL || j->conn != NULL)
		return 0;
	for (const struct njob *k = N->batch_head; k != NULL; k = k->next)
		if (k->then != NULL || k->conn != NULL)
			return 0;
	return 1;
}

/*
 * A record nobody waits on: no answer, no connection, nothing to call
 * (a gateway's egress.close and egress.refused, a pod's end).  It is
 * written at once and synced with the next record someone waits on, or
 * within AUDIT_DEFER_MAX_MS (audit_log_submit_deferred), so that it
 * never holds up one that is waited on.
 */
static int
unawaited(const struct njob *j)
{
	return j->then == NULL && j->conn == NULL && j->answer == NULL;
}

/* The records whose state is durable go to the log, in order. */
static void
records_submit(void)
{
	struct njob *j;
	struct audit_err e;

	while ((j = N->batch_head) != NULL && j->state_gen <=
	    N->state_durable) {
		if ((N->batch_head = j->next) == NULL)
			N->batch_tail = NULL;
		j->next = NULL;
		j->log_gen = N->log_gen;
		if (N->log == NULL)
			record_failed(j, N->stopped_why);
		else if (alone(j) ? audit_log_submit_here(N->log, j->event,
		    job_done, j, &e) != 0 : unawaited(j) ?
		    audit_log_submit_deferred(N->log, j->event, job_done, j,
		    &e) != 0 : audit_log_submit(N->log, j->event, job_done, j,
		    &e) != 0)
			record_failed(j, e.msg);
	}
}

/*
 * Before the loop waits: a sync asked of the syncer for the state
 * committed since the last (nsync.c), which the requests forwarded and
 * the records made meanwhile wait for; the records already covered go.
 * When one request alone came in this turn and the syncer is idle, the
 * loop makes the sync itself: it has nothing else to do meanwhile, and
 * the request goes without waiting for two threads to wake.
 */
void
node_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	uint64_t gen;
	int n;

	pods_flush();
	n = gateq_run();
	if (N->gate.dirty || N->state_dirty) {
		N->gate.dirty = N->state_dirty = 0;
		/* One request alone: nothing to do while it syncs. */
		if (n <= 1 && (gen = nsync_now()) != 0) {
			N->state_asked = gen;
			node_synced_run();
			return;
		}
		N->state_asked = nsync_ask();
	}
	records_submit();
}

/*
 * What the syncer made durable: the pods' requests held for it go, and
 * the records.  A sync that failed leaves LMDB untrusted (the gate
 * refuses until it is opened again) and the requests held for it are
 * answered unavailable, never sent; the records go, as they would have.
 */
void
node_synced_run(void)
{
	int failed;
	uint64_t d = nsync_durable(&failed);

	if (failed) {
		if (!N->gate.fault_said)
			fprintf(stderr, "nucleus-node: the nonce store cannot "
			    "be synced (%s); requests are answered "
			    "unavailable until it can be (tried each "
			    "second)\n", strerror(failed));
		N->gate.broken = N->gate.fault_said = 1;
		for (struct pod *p = N->pods; p != NULL; p = p->next)
			chan_drop_held(p, "the node's state cannot be written "
			    "now; it is tried again each second");
		d = N->state_asked;
	}
	if (d > N->state_durable)
		N->state_durable = d;
	for (struct pod *p = N->pods; p != NULL; p = p->next)
		chan_release(p, N->state_durable);
	records_submit();
}

void
node_synced(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	node_synced_run();
}

void
node_drain(struct ev_loop *loop, ev_async *w, int revents)
{
	struct njob *list, *j, *next;

	(void)loop;
	(void)w;
	(void)revents;
	list = doneq_take(&N->done);
	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (j->audit_error != 0) {
			record_failed(j, strerror(j->audit_error));
			continue;
		}
		if (j->conn != NULL && j->answer != NULL)
			lines_send(j->conn, j->answer);
		if (j->then != NULL)
			j->then(j->then_arg, 0);
		job_free(j);
	}
}

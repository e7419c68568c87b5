/*
 * The jobs: how a change becomes an answer.  Every state change is an LMDB
 * transaction, committed at once (so the next line sees it) and queued as
 * a job.  Before the loop next waits, one sync makes every change of that
 * turn durable; then each job's audit records are submitted, and once
 * they are durable its answers go out: to who asked, to the connections
 * waiting for that request's decision, to admins watching.
 *
 * So a token is never sent before both its request's state (granted, in
 * LMDB) and its grant record (in the log) are durable.  A crash between
 * the two leaves a state whose record may be missing; recover.c finds
 * and writes it at the next start.  The log loses no event.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authority.h"

struct waiter {
	struct waiter *next;
	uint64_t id;
	struct lines_conn *conn;
	json_t	*echo;
};

static struct waiter *waiters;

struct job *
job_new(struct lines_conn *c, uint64_t id)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->id = id;
	j->conn = c;
	if (c != NULL)
		lines_hold(c);
	return j;
}

/* Add ev (consumed) as the job's next record. */
int
job_event(struct job *j, json_t *ev)
{
	struct audit_err e;

	if (ev == NULL || j->nev >= 2 || audit_event_check(ev, &e) != 0) {
		json_decref(ev);
		return -1;
	}
	j->events[j->nev++] = ev;
	events_record(&A->events, ev);
	return 0;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	for (int i = 0; i < j->nev; i++)
		json_decref(j->events[i]);
	json_decref(j->answer);
	audit_buf_free(&j->answer_text);
	json_decref(j->notify);
	json_decref(j->watch);
	json_decref(j->wait_echo);
	if (j->conn != NULL) {
		if (j->wait_echo != NULL)
			j->conn->holds--;	/* it never came to wait */
		lines_release(j->conn);
	}
	free(j);
}

void
job_queue(struct job *j)
{
	j->next = NULL;
	if (A->batch_tail != NULL)
		A->batch_tail->next = j;
	else
		A->batch_head = j;
	A->batch_tail = j;
}

static void
noop(void *arg, int error, uint64_t seq, const char *hash)
{
	(void)arg;
	(void)error;
	(void)seq;
	(void)hash;
}

/* From the log's thread: the job's last record is durable, or failed. */
static void
job_done(void *arg, int error, uint64_t seq, const char *hash)
{
	struct job *j = arg;

	(void)seq;
	(void)hash;
	j->audit_error = error;
	doneq_push(&A->done, j);
}

static void
job_fail(struct job *j, const char *why)
{
	json_t *r;

	if (j->conn != NULL) {
		r = authority_error(NULL, "unavailable", why);
		lines_send(j->conn, r);
		json_decref(r);
	}
	job_free(j);
}

/*
 * A change of state whose records the log could not make (it is in
 * LMDB): its asker is answered unavailable now, and the job is kept, its
 * records to be made (marked recovered) once the log is back; then the
 * connections waiting for its decision hear it.
 */
static int
hold(struct job *j)
{
	json_t *copy[2] = { NULL, NULL }, *r;

	/* Copies: the log may still hold the events it was given. */
	for (int i = 0; i < j->nev; i++)
		if ((copy[i] = json_deep_copy(j->events[i])) == NULL ||
		    json_object_set_new(copy[i], "recovered",
		    json_true()) != 0) {
			json_decref(copy[0]);
			json_decref(copy[1]);
			return -1;	/* left to the next start */
		}
	for (int i = 0; i < j->nev; i++) {
		json_decref(j->events[i]);
		j->events[i] = copy[i];
	}
	if (j->conn != NULL) {
		r = authority_error(NULL, "unavailable", LOG_STOPPED);
		lines_send(j->conn, r);
		json_decref(r);
		if (j->wait_echo != NULL)
			j->conn->holds--;	/* it never came to wait */
		lines_release(j->conn);
		j->conn = NULL;
	}
	json_decref(j->answer);
	audit_buf_free(&j->answer_text);
	json_decref(j->wait_echo);
	j->answer = j->wait_echo = NULL;
	A->held[A->nheld++] = j;
	return 0;
}

/*
 * A job whose records the log could not make.  The first failure says on
 * stderr that the log has stopped (one of a log since taken up again is
 * not news); requests are answered unavailable until job_log_retry takes
 * it up.  A job that changed the state is kept (hold); past HELD_MAX its
 * records are written at the next start (recover.c).
 */
static void
log_failed(struct job *j, const char *why)
{
	if (!A->stopped && j->log_gen == A->log_gen) {
		A->stopped = 1;
		A->stopped_at = audit_now_s();
		audit_fmt(A->stopped_why, sizeof(A->stopped_why), "%s", why);
		events_say(&A->events, "log.fault", "the audit log has "
		    "stopped: %s; requests are answered unavailable until it "
		    "can be written again (tried each second)", why);
	}
	A->unrecorded += (uint64_t)j->nev;
	if (j->logged == 0 || A->nheld >= HELD_MAX || hold(j) != 0)
		job_fail(j, LOG_STOPPED);
}

/*
 * Each second while the log has stopped: taken up again on its own file
 * (audit_log_resume: a torn tail cut, log.resume); then the fault is
 * recorded (authority.log_fault: why, since when, how many records were
 * not made) and requests are served again.
 */
void
job_log_retry(void)
{
	char hash[AUDIT_HEX_LEN + 1];
	struct audit_err e;
	uint64_t seq;
	json_t *ev;

	if (!A->stopped || audit_log_resume(A->log, &e) != 0)
		return;
	A->stopped = 0;
	A->log_gen++;
	events_say(&A->events, "log.fault", "the audit log is written again, "
	    "after %lld s (%llu records not made)", (long long)(audit_now_s() -
	    A->stopped_at), (unsigned long long)A->unrecorded);
	ev = json_pack("{s:s, s:s, s:I, s:I}", "event", "authority.log_fault",
	    "error", A->stopped_why, "since", (json_int_t)A->stopped_at,
	    "unrecorded", (json_int_t)A->unrecorded);
	A->unrecorded = 0;
	if (ev == NULL || audit_log_append_wait(A->log, ev, &seq, hash,
	    &e) != 0) {
		/* Stopped again at once: its record is the next one's. */
		A->stopped = 1;
		A->unrecorded++;
	}
	json_decref(ev);
	/* The changes kept meanwhile: recorded, in order, as any job. */
	for (int i = 0; i < A->nheld; i++)
		job_queue(A->held[i]);
	A->nheld = 0;
}

/* Before the loop waits: one sync, then every job's records. */
void
job_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct job *j, *next;
	struct audit_err e;
	int synced;

	(void)loop;
	(void)w;
	(void)revents;
	if ((j = A->batch_head) == NULL)
		return;
	A->batch_head = A->batch_tail = NULL;
	synced = store_sync(A->store, &e) == 0;
	for (; j != NULL; j = next) {
		next = j->next;
		j->log_gen = A->log_gen;
		if (!synced) {
			job_fail(j, STATE_STOPPED);
			continue;
		}
		if (A->stopped) {
			log_failed(j, A->stopped_why);
			continue;
		}
		for (int i = 0; i < j->nev; i++)
			if (audit_log_submit(A->log, j->events[i], i ==
			    j->nev - 1 ? job_done : noop, j, &e) != 0) {
				/* (a first record submitted fails too) */
				log_failed(j, e.msg);
				break;
			}
	}
}

/* Set the logged count of the requests these jobs recorded. */
static void
mark_logged(struct job *list)
{
	struct audit_err e;
	MDB_txn *txn;
	int any = 0;

	for (struct job *j = list; j != NULL; j = j->next)
		any |= j->logged > 0 && j->audit_error == 0;
	if (!any || store_begin(A->store, &txn, 0, &e) != 0)
		return;
	for (struct job *j = list; j != NULL; j = j->next) {
		json_t *rec;

		if (j->logged == 0 || j->audit_error != 0 ||
		    store_get(A->store, txn, j->id, &rec) != 0)
			continue;
		if (json_integer_value(json_object_get(rec, "logged")) <
		    j->logged) {
			json_object_set_new(rec, "logged",
			    json_integer(j->logged));
			(void)store_put(A->store, txn, j->id, rec, &e);
		}
		json_decref(rec);
	}
	(void)store_commit(A->store, txn, &e);
}

static void
notify(uint64_t id, const json_t *rec)
{
	struct waiter **pp = &waiters, *w;

	while ((w = *pp) != NULL) {
		json_t *r;

		if (w->id != id) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		w->conn->holds--;
		r = agent_answer(w->echo, id, rec);
		lines_send(w->conn, r);
		json_decref(r);
		json_decref(w->echo);
		free(w);
	}
}

/* In the loop: jobs whose records are durable answer. */
void
job_drain(struct ev_loop *loop, ev_async *w, int revents)
{
	struct job *list, *j, *next;

	(void)loop;
	(void)w;
	(void)revents;
	list = doneq_take(&A->done);
	mark_logged(list);
	for (j = list; j != NULL; j = next) {
		next = j->next;
		if (j->audit_error != 0) {
			log_failed(j, strerror(j->audit_error));
			continue;
		}
		if (j->conn != NULL && j->answer != NULL)
			lines_send(j->conn, j->answer);
		else if (j->conn != NULL && j->answer_text.len > 0)
			lines_send_raw(j->conn, j->answer_text.p,
			    j->answer_text.len);
		if (j->wait_echo != NULL && j->conn != NULL &&
		    !j->conn->closed && !j->conn->eof) {
			waiter_add(j->id, j->conn, j->wait_echo);
			json_decref(j->wait_echo);
			j->wait_echo = NULL;	/* counted in waiting since */
		}
		if (j->notify != NULL)
			notify(j->id, j->notify);
		if (j->watch != NULL)
			admin_broadcast(j->watch);
		job_free(j);
	}
}

/*
 * c waits for request id's decision.  Its waiting count was raised when
 * the job that led here was queued (so that CONN_WAIT_MAX holds).
 */
void
waiter_add(uint64_t id, struct lines_conn *c, const json_t *echo)
{
	struct waiter *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		c->holds--;
		return;
	}
	w->id = id;
	w->conn = c;
	w->echo = json_incref((json_t *)echo);
	w->next = waiters;
	waiters = w;
}

void
waiters_drop(struct lines_conn *c)
{
	struct waiter **pp = &waiters, *w;

	while ((w = *pp) != NULL) {
		if (w->conn != c) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		c->holds--;
		json_decref(w->echo);
		free(w);
	}
}

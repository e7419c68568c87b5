/*
 * How a change becomes an answer.  Every state change is an LMDB
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
#include <time.h>

#include "authority.h"

struct waiter {
	struct waiter *next;
	uint64_t id;
	struct lines_conn *conn;
	json_t	*echo;
};

static struct waiter *waiters;

int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

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

	A->stopped = 1;
	if (j->conn != NULL) {
		r = response_error(NULL, "unavailable", why);
		lines_send(j->conn, r);
		json_decref(r);
	}
	job_free(j);
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
	if (!synced)
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
	for (; j != NULL; j = next) {
		next = j->next;
		if (!synced) {
			job_fail(j, "the authority's state cannot be synced");
			continue;
		}
		for (int i = 0; i < j->nev; i++)
			if (audit_log_submit(A->log, j->events[i], i ==
			    j->nev - 1 ? job_done : noop, j, &e) != 0) {
				fprintf(stderr, "nucleus-authority: %s\n",
				    e.msg);
				job_fail(j, "the authority's audit log has "
				    "stopped");
				j = NULL;
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
			fprintf(stderr, "nucleus-authority: the audit log "
			    "failed: %s\n", strerror(j->audit_error));
			job_fail(j, "the authority's audit log has stopped");
			continue;
		}
		if (j->conn != NULL && j->answer != NULL)
			lines_send(j->conn, j->answer);
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

/*
 * A token for the request rec (id): a fresh random nonce, iat now, exp
 * ttl later, bound to pod, op, the args' digest and the agent, signed.
 */
json_t *
mint_token(const json_t *rec, uint64_t id, int64_t now, int ttl,
    struct audit_err *err)
{
	uint8_t nonce[AUDIT_NONCE_LEN];
	char hex[2 * AUDIT_NONCE_LEN + 1], ids[24];
	json_t *t;

	if (ttl < 1 || ttl > TTL_MAX) {
		audit_errf(err, "a token lives 1 to %d seconds", TTL_MAX);
		return NULL;
	}
	randombytes_buf(nonce, sizeof(nonce));
	audit_hex(hex, nonce, sizeof(nonce));
	audit_fmt(ids, sizeof(ids), "%llu", (unsigned long long)id);
	t = json_pack("{s:s, s:i, s:s, s:O, s:O, s:O, s:O, s:I, s:I, s:s}",
	    "type", "approval", "v", 1, "id", ids, "pod",
	    json_object_get(rec, "pod"), "op", json_object_get(rec, "op"),
	    "args_digest", json_object_get(rec, "args_digest"), "sub",
	    json_object_get(rec, "agent"), "iat", (json_int_t)now, "exp",
	    (json_int_t)(now + ttl), "nonce", hex);
	if (t == NULL) {
		audit_errf(err, "out of memory");
		return NULL;
	}
	if (audit_sign(t, "approval", A->key, err) != 0) {
		json_decref(t);
		return NULL;
	}
	return t;
}

/* The subject of a request's args: its argv or its path, or NULL. */
const char *
subject_of(const json_t *args, json_t **subject)
{
	*subject = json_object_get(args, "argv");
	if (*subject != NULL)
		return "argv";
	*subject = json_object_get(args, "path");
	return *subject != NULL ? "path" : NULL;
}

static void
add_subject(json_t *ev, const json_t *args)
{
	struct audit_buf b = { 0 };
	struct audit_err e;
	json_t *subject;

	if (subject_of(args, &subject) == NULL)
		return;
	if (cjson_encode(subject, &b, &e) == 0 && b.len <= SUBJECT_MAX)
		json_object_set(ev, "subject", subject);
	else
		json_object_set_new(ev, "subject_bytes", json_integer(
		    (json_int_t)b.len));
	audit_buf_free(&b);
}

/* The record of an event about request rec (id), from what it holds. */
json_t *
decision_event(const char *event, const json_t *rec, uint64_t id)
{
	json_t *ev;

	(void)id;
	ev = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O}", "event", event, "id",
	    json_object_get(rec, "id"), "agent", json_object_get(rec,
	    "agent"), "pod", json_object_get(rec, "pod"), "op",
	    json_object_get(rec, "op"), "args_digest", json_object_get(rec,
	    "args_digest"));
	if (ev == NULL)
		return NULL;
	if (strcmp(event, "approval.request") == 0) {
		add_subject(ev, json_object_get(rec, "args"));
		json_object_set(ev, "reason", json_object_get(rec, "reason"));
		json_object_set(ev, "request_nonce", json_object_get(rec,
		    "nonce"));
		json_object_set(ev, "expires", json_object_get(rec,
		    "expires"));
	} else if (strcmp(event, "approval.grant") == 0) {
		const json_t *t = json_object_get(rec, "token");

		json_object_set(ev, "by", json_object_get(rec, "by"));
		if (json_object_get(rec, "rule") != NULL)
			json_object_set(ev, "rule", json_object_get(rec,
			    "rule"));
		if (json_object_get(rec, "uid") != NULL)
			json_object_set(ev, "uid", json_object_get(rec,
			    "uid"));
		json_object_set_new(ev, "token", json_pack("{s:O, s:O, s:O, "
		    "s:O}", "id", json_object_get(t, "id"), "nonce",
		    json_object_get(t, "nonce"), "iat", json_object_get(t,
		    "iat"), "exp", json_object_get(t, "exp")));
	} else if (strcmp(event, "approval.deny") == 0) {
		json_object_set(ev, "by", json_object_get(rec, "by"));
		json_object_set(ev, "uid", json_object_get(rec, "uid"));
		json_object_set(ev, "reason", json_object_get(rec,
		    "deny_reason"));
	}
	return ev;
}

/* One line per request for list and watch: what a person decides on. */
json_t *
request_summary(uint64_t id, const json_t *rec)
{
	json_t *s, *subject;

	(void)id;
	s = json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O}", "id",
	    json_object_get(rec, "id"), "state", json_object_get(rec, "state"),
	    "agent", json_object_get(rec, "agent"), "pod",
	    json_object_get(rec, "pod"), "op", json_object_get(rec, "op"),
	    "reason", json_object_get(rec, "reason"), "received",
	    json_object_get(rec, "received"), "expires", json_object_get(rec,
	    "expires"));
	if (s != NULL && subject_of(json_object_get(rec, "args"),
	    &subject) != NULL)
		json_object_set(s, "subject", subject);
	return s;
}

void
pend_add(uint64_t id, int64_t expires)
{
	if (A->npend < PENDING_MAX) {
		A->pend[A->npend].id = id;
		A->pend[A->npend].expires = expires;
		A->npend++;
	}
}

void
pend_del(uint64_t id)
{
	for (int i = 0; i < A->npend; i++)
		if (A->pend[i].id == id) {
			A->pend[i] = A->pend[--A->npend];
			return;
		}
}

/* Expire request id, when it is still pending; queue the record. */
static void
expire_one(uint64_t id, int64_t now)
{
	struct audit_err e;
	json_t *rec = NULL;
	struct job *j;
	MDB_txn *txn;

	if (store_begin(A->store, &txn, 0, &e) != 0)
		return;
	if (store_get(A->store, txn, id, &rec) != 0 || strcmp(
	    json_string_value(json_object_get(rec, "state")), "pending") != 0) {
		mdb_txn_abort(txn);
		json_decref(rec);
		pend_del(id);
		return;
	}
	json_object_set_new(rec, "state", json_string("expired"));
	json_object_set_new(rec, "decided", json_integer(now));
	if (store_put(A->store, txn, id, rec, &e) != 0 ||
	    store_commit(A->store, txn, &e) != 0) {
		fprintf(stderr, "nucleus-authority: %s\n", e.msg);
		json_decref(rec);
		return;
	}
	pend_del(id);
	if ((j = job_new(NULL, id)) != NULL && job_event(j,
	    decision_event("approval.expire", rec, id)) == 0) {
		j->logged = 2;
		j->notify = json_incref(rec);
		j->watch = json_incref(rec);
		job_queue(j);
	} else
		job_free(j);
	json_decref(rec);
}

struct prune {
	int64_t	 before;
	uint64_t ids[1024];
	int	 n;
};

static int
prune_each(void *arg, uint64_t id, json_t *rec)
{
	struct prune *p = arg;
	const json_t *d = json_object_get(rec, "decided");

	if (json_is_integer(d) && json_integer_value(d) < p->before &&
	    json_integer_value(json_object_get(rec, "logged")) >= 2)
		p->ids[p->n++] = id;
	return p->n == (int)(sizeof(p->ids) / sizeof(p->ids[0]));
}

/* Forget decided requests past RETAIN_S, at most 1024 per minute. */
static void
prune(int64_t now)
{
	static struct prune p;
	struct audit_err e;
	MDB_txn *txn;

	p.before = now - RETAIN_S;
	p.n = 0;
	if (store_begin(A->store, &txn, 0, &e) != 0)
		return;
	(void)store_each(A->store, txn, prune_each, &p);
	for (int i = 0; i < p.n; i++)
		(void)store_del(A->store, txn, p.ids[i]);
	(void)store_commit(A->store, txn, &e);
	(void)store_nonce_prune(A->store, now - 2 * A->skew);
}

/* Each second: expire what waited too long; each minute: prune. */
void
expire_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	int64_t now = now_s();

	(void)loop;
	(void)w;
	(void)revents;
	if (A->stopped)
		return;
	for (int i = 0; i < A->npend; ) {
		uint64_t id = A->pend[i].id;

		if (A->pend[i].expires <= now) {
			expire_one(id, now);
			if (i < A->npend && A->pend[i].id == id)
				i++;	/* could not: try again next tick */
		} else
			i++;
	}
	if (now - A->last_prune >= 60) {
		A->last_prune = now;
		prune(now);
	}
}
